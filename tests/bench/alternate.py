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
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--base", required=True)
    ap.add_argument("-c", nargs=2, action="append", metavar=("NAME", "COMMAND"), required=True)
    ap.add_argument("-p", nargs=2, action="append", metavar=("NAME", "SHELL"), default=[])
    args = ap.parse_args()
    cmds = {name: shlex.split(cmd) for name, cmd in args.c}
    prep = dict(args.p)
    times: dict[str, list[float]] = {name: [] for name in cmds}

    def run(name: str) -> float:
        if name in prep:
            subprocess.run(prep[name], shell=True, check=False)
        start = time.perf_counter()
        subprocess.run(cmds[name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start

    for name in cmds:
        run(name)
    for r in range(args.rounds):
        for name in (list(cmds) if r % 2 == 0 else list(reversed(cmds))):
            times[name].append(run(name))
    base = statistics.median(times[args.base])
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:32} median {med * 1000:8.1f} ms  min {min(ts) * 1000:8.1f}  "
              f"max {max(ts) * 1000:8.1f}  {med / base:.3f}x {args.base}")


if __name__ == "__main__":
    main()
