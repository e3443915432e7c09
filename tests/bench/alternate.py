#!/usr/bin/env python3
"""Time a few commands in alternating rounds and compare their medians to a baseline.

    alternate.py --rounds 5 --base unittest \\
        -c unittest 'python3.11 -m unittest -q test.test_bisect' \\
        -c dbtest 'dbtest test/test_bisect.py' -p dbtest 'rm -rf .dbtest'

Each round runs every command once, in the listed order on even rounds and reversed on odd
ones (this machine changes speed between runs: only same-round neighbours compare well);
`-p NAME SHELL` runs before each timed run of NAME, untimed. One untimed warm-up run each
first (bytecode caches). Prints each command's median, min and max, and its median over the
baseline's. Exit status and output of the commands are ignored (a suite may have failures);
run each once by hand to check it does what you want.
"""
import argparse
import shlex
import statistics
import subprocess
import sys
import time


def time_rounds(cmds, rounds, env=None, prep=None, check=False):
    """Wall times of each command (name -> argv) over `rounds` alternating rounds, after one
    untimed warm-up run each. `prep` (name -> shell) runs untimed before each run of its
    command; with `check`, a command that fails ends the script with its stderr."""
    prep = prep or {}
    times = {name: [] for name in cmds}

    def run(name):
        if name in prep:
            subprocess.run(prep[name], shell=True, check=False)
        start = time.perf_counter()
        p = subprocess.run(cmds[name], env=env, capture_output=True)
        elapsed = time.perf_counter() - start
        if check and p.returncode != 0:
            sys.exit(f"{name} exited {p.returncode}: {p.stderr.decode(errors='replace')[-500:]}")
        return elapsed

    for name in cmds:
        run(name)
    for r in range(rounds):
        for name in (list(cmds) if r % 2 == 0 else list(reversed(cmds))):
            times[name].append(run(name))
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--base", required=True)
    ap.add_argument("-c", nargs=2, action="append", metavar=("NAME", "COMMAND"), required=True)
    ap.add_argument("-p", nargs=2, action="append", metavar=("NAME", "SHELL"), default=[])
    args = ap.parse_args()
    cmds = {name: shlex.split(cmd) for name, cmd in args.c}
    times = time_rounds(cmds, args.rounds, prep=dict(args.p))
    base = statistics.median(times[args.base])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:32} median {med * 1000:8.1f} ms  min {min(ts) * 1000:8.1f}  "
              f"max {max(ts) * 1000:8.1f}  {med / base:.3f}x {args.base}")


if __name__ == "__main__":
    main()
