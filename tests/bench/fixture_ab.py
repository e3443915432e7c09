#!/usr/bin/env python3
"""Time dbtest on the fixture corpus (10,000 tests, each using one function-scoped fixture
from conftest.py) against the no-framework floor, alternating the contenders each round.

    python3 tests/bench/fixture_ab.py DBTEST_BINARY [ROUNDS] [--corpus DIR]

Contenders: `dbtest -C corpus/pytest` (fixtures), `dbtest -C corpus/plain` (the same tests
without a fixture), the floor script (`corpus/floor/run_floor.py`), and the floor importing
pytest as the corpus's conftest does (`run_floor_pytest.py`). Prints medians and ratios.
The corpus is made with tests/bench/make_fixture_corpus.py when DIR does not hold one yet.
"""
import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from alternate import time_rounds  # beside this script

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
UNSET_ENV = ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "VIRTUAL_ENV")


def make(corpus):
    gen = [sys.executable, str(HERE / "make_fixture_corpus.py")]
    subprocess.run(gen + ["--out", str(corpus)], check=True, capture_output=True)
    tmp = corpus / "floor-pytest-tmp"
    subprocess.run(gen + ["--out", str(tmp), "--files", "1", "--tests", "1", "--floor-imports-pytest"],
                   check=True, capture_output=True)
    (corpus / "floor" / "run_floor_pytest.py").write_text((tmp / "floor" / "run_floor.py").read_text())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dbtest")
    ap.add_argument("rounds", type=int, nargs="?", default=20)
    ap.add_argument("--corpus", default=str(REPO / "bench-out" / "fixture-corpus"))
    args = ap.parse_args()
    corpus = Path(args.corpus)
    if not (corpus / "floor" / "run_floor_pytest.py").exists():
        make(corpus)
    python = os.path.realpath(sys.executable)
    cmds = {
        "dbtest fixtures": [args.dbtest, "-C", str(corpus / "pytest")],
        "dbtest plain": [args.dbtest, "-C", str(corpus / "plain")],
        "floor": [python, str(corpus / "floor" / "run_floor.py")],
        "floor + import pytest": [python, str(corpus / "floor" / "run_floor_pytest.py")],
    }
    env = {k: v for k, v in os.environ.items() if k not in UNSET_ENV}
    times = time_rounds(cmds, args.rounds, env=env, check=True)
    floor = statistics.median(times["floor"])
    floor_pytest = statistics.median(times["floor + import pytest"])
    for k, v in times.items():
        m = statistics.median(v)
        print(f"{k:24} median {m * 1000:6.0f} ms  min {min(v) * 1000:6.0f} ms  "
              f"/floor {m / floor:4.2f}  /floor+pytest {m / floor_pytest:4.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
