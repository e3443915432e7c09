"""Write dbtest's wheel from the archive's tree (called by dist/build.sh).

The wheel installs:
- ``bin/dbtest`` (the launcher) as a script, on the virtualenv's PATH;
- the engines as data, under ``<prefix>/lib/dbtest/engines/py3.X/dbtest``: the same place
  relative to ``bin/dbtest`` as in the archive, so the launcher finds them the same way;
- the shim, ``dbtest/__init__.py``, as a package, for editors and type checkers (the engines
  embed their own copy).

Its tag is ``py3-none-manylinux_2_X_x86_64``: any Python 3 (the launcher says which minor
versions have an engine), glibc >= 2.X (the newest symbol version the binaries use).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import stat
import sys
import zipfile

SUMMARY = (
    "A single-binary Python test runner that embeds CPython: fast discovery, concurrent "
    "suites, console/JSON/markdown reports"
)


def record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stage", required=True, help="the archive's unpacked tree")
    ap.add_argument("--out", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--glibc", required=True, help="e.g. 2.34")
    ap.add_argument("--minors", required=True, help="e.g. '3.10 3.12'")
    a = ap.parse_args()

    major, minor = a.glibc.split(".")[:2]
    plat = f"manylinux_{major}_{minor}_x86_64"
    tag = f"py3-none-{plat}"
    minors = sorted(a.minors.split(), key=lambda m: tuple(int(x) for x in m.split(".")))
    low = minors[0]
    high_major, high_minor = (int(x) for x in minors[-1].split("."))
    dist_info = f"dbtest-{a.version}.dist-info"
    data = f"dbtest-{a.version}.data"

    with open(os.path.join(a.stage, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    metadata = (
        "Metadata-Version: 2.1\n"
        "Name: dbtest\n"
        f"Version: {a.version}\n"
        f"Summary: {SUMMARY}\n"
        "License: MIT\n"
        f"Requires-Python: >={low},<{high_major}.{high_minor + 1}\n"
        "Classifier: Programming Language :: Python :: 3\n"
        "Classifier: Operating System :: POSIX :: Linux\n"
        "Classifier: Topic :: Software Development :: Testing\n"
        "Description-Content-Type: text/markdown\n"
        "\n" + readme
    )
    wheel_meta = (
        "Wheel-Version: 1.0\n"
        "Generator: dbtest dist/wheel.py\n"
        "Root-Is-Purelib: false\n"
        f"Tag: {tag}\n"
    )

    # (path in the wheel, bytes, executable)
    entries: list[tuple[str, bytes, bool]] = []

    def add_file(src: str, dest: str, executable: bool) -> None:
        with open(src, "rb") as f:
            entries.append((dest, f.read(), executable))

    add_file(os.path.join(a.stage, "bin", "dbtest"), f"{data}/scripts/dbtest", True)
    engines = os.path.join(a.stage, "lib", "dbtest", "engines")
    for m in minors:
        add_file(
            os.path.join(engines, f"py{m}", "dbtest"),
            f"{data}/data/lib/dbtest/engines/py{m}/dbtest",
            True,
        )
    shim = os.path.join(a.stage, "lib", "dbtest", "python_shim", "dbtest")
    for name in sorted(os.listdir(shim)):
        add_file(os.path.join(shim, name), f"dbtest/{name}", False)
    add_file(os.path.join(a.stage, "LICENSE"), f"{dist_info}/LICENSE", False)
    entries.append((f"{dist_info}/METADATA", metadata.encode(), False))
    entries.append((f"{dist_info}/WHEEL", wheel_meta.encode(), False))

    record = "".join(f"{p},{record_hash(b)},{len(b)}\n" for p, b, _ in entries)
    record += f"{dist_info}/RECORD,,\n"
    entries.append((f"{dist_info}/RECORD", record.encode(), False))

    path = os.path.join(a.out, f"dbtest-{a.version}-{tag}.whl")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, content, executable in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            mode = 0o755 if executable else 0o644
            # pip keeps the executable bit of files whose zip entry carries it.
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, content)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
