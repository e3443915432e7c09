#!/usr/bin/env python3
"""Before/after check of two dbtest binaries on the 10,000-trivial-test corpus.

Each round runs the two binaries and the no-framework floor script, in alternating order
(this machine changes speed between runs, so only same-round comparisons mean much), and
the medians and their ratios are printed.

    python3 tests/bench/ab.py BEFORE_BINARY AFTER_BINARY [ROUNDS] [--corpus DIR]

The corpus is made with ../shared/bench/make_corpus.py (or $DBTEST_SHARED/bench/...) when
DIR does not hold one yet.
"""
import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from alternate import time_rounds  # beside this script

REPO = Path(__file__).resolve().parents[2]
UNSET_ENV = ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "VIRTUAL_ENV")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before")
    ap.add_argument("after")
    ap.add_argument("rounds", type=int, nargs="?", default=20)
    ap.add_argument("--corpus", default=str(REPO / "bench-out" / "ab-corpus"))
    args = ap.parse_args()
    corpus = Path(args.corpus)
    if not (corpus / "floor" / "run_floor.py").exists():
        shared = Path(os.environ.get("DBTEST_SHARED", REPO.parent / "shared"))
        subprocess.run([sys.executable, str(shared / "bench" / "make_corpus.py"), "--out", str(corpus),
                        "--dialect", "all", "--files", "100", "--tests", "100", "--kind", "trivial"],
                       check=True, capture_output=True)
    cmds = {
        "before": [args.before, "-C", str(corpus / "dbtest")],
        "after": [args.after, "-C", str(corpus / "dbtest")],
        "floor": [os.path.realpath(sys.executable), str(corpus / "floor" / "run_floor.py")],
    }
    env = {k: v for k, v in os.environ.items() if k not in UNSET_ENV}
    times = time_rounds(cmds, args.rounds, env=env, check=True)
    floor = statistics.median(times["floor"])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name}: median {med * 1000:.0f} ms, min {min(ts) * 1000:.0f} ms, {med / floor:.2f}x floor")
    ratio = statistics.median(times["after"]) / statistics.median(times["before"])
    print(f"after/before (medians): {ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
