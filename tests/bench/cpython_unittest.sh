#!/usr/bin/env bash
# A real unittest suite: 17 CPU-light modules of CPython's own test package, run by
# `python -m unittest` and by dbtest on the same copied files, timed in alternating rounds
# (tests/bench/alternate.py; medians). dbtest is timed twice: without `.dbtest/durations.json`
# (removed before each run: no history, so only test counts guide the split of big files)
# and with the history the run before it left.
#
#   tests/bench/cpython_unittest.sh [DBTEST] [PYTHON] [RUNS]
#
# DBTEST defaults to target/release/dbtest, PYTHON to the interpreter of the minor version
# dbtest embeds (python3.11), RUNS to 5. Target: dbtest at most 0.6x unittest's wall time.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
dbtest=$(realpath "${1:-$here/target/release/dbtest}")
python=$(command -v "${2:-python3.11}")
# pyenv's shims add about 100 ms per start: time the real interpreter.
python=$("$python" -c 'import os, sys; print(os.path.realpath(sys.executable))')
runs=${3:-5}
modules=(test_bisect test_heapq test_textwrap test_difflib test_enum test_typing
         test_collections test_functools test_itertools test_statistics test_fractions
         test_re test_operator test_copy test_contextlib test_abc test_string)
src=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')/test
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The whole package: the modules read data files and helper packages beside them.
cp -r "$src" "$work/test"
find "$work/test" -name __pycache__ -prune -exec rm -rf {} +
touch "$work/pyproject.toml"
cd "$work"
mods=(); files=()
for m in "${modules[@]}"; do mods+=("test.$m"); files+=("test/$m.py"); done
unset PYTHONDONTWRITEBYTECODE PYTHONUNBUFFERED VIRTUAL_ENV
echo "$("$dbtest" --version); $("$python" --version); $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$dbtest" --format json -o "$work/report.json" "${files[@]}" >/dev/null 2>&1 || true
"$python" - "$work/report.json" <<'PY'
import json, sys, collections
r = json.load(open(sys.argv[1]))
print("dbtest:", len(r["tests"]), "entries,", dict(collections.Counter(t["status"] for t in r["tests"])))
for t in r["tests"]:
    if t["status"] not in ("passed", "skipped"):
        print("  ", t["status"], t["id"], (t.get("message") or "").splitlines()[:1])
PY
python3 "$here/tests/bench/alternate.py" --rounds "$runs" --base unittest \
    -c unittest "$python -m unittest -q ${mods[*]}" \
    -c "dbtest (no history)" "$dbtest ${files[*]}" -p "dbtest (no history)" "rm -rf .dbtest" \
    -c "dbtest (with history)" "$dbtest ${files[*]}"
