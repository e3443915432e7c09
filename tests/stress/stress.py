#!/usr/bin/env python3
"""Repeated-runs stress test for dbtest (issue 14): run the fault and crash corpora many times
with random -n/-j and check every run's JSON report.

    python3 tests/stress/stress.py [--runs 100] [--seed N] [--dbtest target/debug/dbtest]

Each run uses a fresh copy of:
  - ../shared/faults/tests and ../shared/faults/crashes (when present),
  - tests/fixtures/reliability/any and .../workers (copied to rel/ at the project root).
`-n 0` runs leave out what takes the process down (crashes/, rel/workers/).

Checks per run: it ends (a hang past --hang seconds is a failure), the exit code is 1 (the
corpora hold failures), stdout is one JSON document that is not `interrupted`, every test id
appears exactly once, every id `--list` shows is there, the set of ids is the same in every
run of the same shape, and afterwards no process of that run is left (found by an environment
marker: workers, their children, the tests' `sleep 3600`). Exit 0 when every run passed.
"""
import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "faults"
MARK = "DBTEST_STRESS_MARK"


def make_project(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "pyproject.toml").write_text('[project]\nname = "stress"\n')
    for name in ("tests", "crashes"):
        if (SHARED / name).is_dir():
            shutil.copytree(SHARED / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        REPO / "tests" / "fixtures" / "reliability",
        dest / "rel",
        ignore=shutil.ignore_patterns("__pycache__", "*.md"),
    )


def marked(mark: str) -> list:
    """Live (non-zombie) processes whose environment carries `mark`."""
    needle = f"{MARK}={mark}".encode()
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in env.split(b"\0"):
            found.append(f"{pid}: {cmd.strip()}")
    return found


def kill_marked(mark: str) -> None:
    for line in marked(mark):
        try:
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
        except OSError:
            pass


def run_once(dbtest: str, project: Path, args: list, mark: str, hang: float):
    env = dict(os.environ)
    env[MARK] = mark
    for var in ("VIRTUAL_ENV", "NO_COLOR", "FORCE_COLOR"):
        env.pop(var, None)
    started = time.monotonic()
    proc = subprocess.Popen(
        [dbtest, *args, "--format", "json"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=hang)
        hung = False
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        hung = True
    return proc.returncode, out, err, time.monotonic() - started, hung


def listed(dbtest: str, project: Path, paths: list) -> set:
    out = subprocess.run([dbtest, *paths, "--list"], cwd=project, capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if "::" in line}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--dbtest", default=str(REPO / "target" / "debug" / "dbtest"))
    ap.add_argument("--hang", type=float, default=120.0, help="seconds after which a run counts as hung")
    ap.add_argument("--keep", action="store_true", help="keep the projects of failed runs")
    opts = ap.parse_args()
    seed = opts.seed if opts.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"stress: {opts.runs} runs, seed {seed}, dbtest {opts.dbtest}", flush=True)

    failures = []
    shapes_ids = {}
    durations = []
    root = Path(tempfile.mkdtemp(prefix="dbtest-stress-"))
    try:
        for i in range(opts.runs):
            workers = rng.choice(["0", "1", "2", "3", "auto"])
            jobs = rng.choice(["1", "2", "4", "8"])
            in_process = workers == "0"
            paths = ["tests", "rel/any"] if in_process else ["tests", "crashes", "rel"]
            paths = [p for p in paths if not p.startswith(("tests", "crashes")) or (SHARED / p).is_dir()]
            project = root / f"run{i}"
            make_project(project)
            mark = f"{root.name}-{i}"
            args = [*paths, "-n", workers, "-j", jobs]
            code, out, err, took, hung = run_once(opts.dbtest, project, args, mark, opts.hang)
            durations.append(took)
            problems = []
            if hung:
                problems.append(f"hung (killed after {opts.hang:.0f} s)")
            if code != 1 and not hung:
                problems.append(f"exit {code}, expected 1")
            if b"panicked" in err:
                problems.append("a panic on stderr")
            report = None
            try:
                report = json.loads(out)
            except ValueError as e:
                problems.append(f"stdout is not one JSON document: {e}")
            if report is not None:
                ids = [t["id"] for t in report["tests"]]
                twice = sorted(k for k, n in Counter(ids).items() if n > 1)
                if twice:
                    problems.append(f"reported more than once: {twice}")
                if report.get("interrupted"):
                    problems.append("the report says interrupted")
                if report["summary"]["total"] != len(ids):
                    problems.append(f"summary total {report['summary']['total']} != {len(ids)} entries")
                # A file that cannot be imported is one entry (its path) in place of its tests.
                missing = sorted(
                    i for i in listed(opts.dbtest, project, paths) - set(ids) if i.split("::")[0] not in ids
                )
                if missing:
                    problems.append(f"listed but not reported: {missing}")
                shape = tuple(paths)
                if shape in shapes_ids and shapes_ids[shape] != set(ids):
                    before = shapes_ids[shape]
                    problems.append(
                        f"ids differ from an earlier run of {shape}: lost {sorted(before - set(ids))}, "
                        f"new {sorted(set(ids) - before)}"
                    )
                shapes_ids.setdefault(shape, set(ids))
            time.sleep(0.3)
            left = marked(mark)
            if left:
                problems.append(f"left behind: {left}")
                kill_marked(mark)
            status = "ok" if not problems else "FAIL"
            print(f"run {i:3d}: -n {workers:>4} -j {jobs}: {status} ({took:.1f} s)", flush=True)
            if problems:
                failures.append((i, args, problems, err.decode(errors="replace")[-3000:]))
                for p in problems:
                    print(f"    {p}", flush=True)
                if not opts.keep:
                    shutil.rmtree(project, ignore_errors=True)
            else:
                shutil.rmtree(project, ignore_errors=True)
    finally:
        if not opts.keep or not failures:
            shutil.rmtree(root, ignore_errors=True)
    durations.sort()
    print(
        f"\nstress: {opts.runs - len(failures)}/{opts.runs} runs passed (seed {seed}); "
        f"run time median {durations[len(durations) // 2]:.1f} s, max {durations[-1]:.1f} s"
    )
    for i, args, problems, err in failures:
        print(f"\nrun {i}: dbtest {' '.join(args)}")
        for p in problems:
            print(f"  - {p}")
        print("  stderr (end):\n    " + err.replace("\n", "\n    "))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
