#!/usr/bin/env python3
"""Checks of `dbtest bench` itself: is it accurate, does it resolve a 2x difference, does it
stay quiet on identical entries, does its regression gate fire. Measurements, not timed tests.

    python3 tests/bench/bench_mode.py [--runs 20] [--gate-trials 10] [--no-build] [--out bench-out]

Prints a markdown section (also written to OUT/bench_mode.md) with each figure, the command
that produced it, and PASS/FAIL against the targets of the benchmark-mode issue.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DBTEST = REPO / "target" / "release" / "dbtest"
PYTHON = os.path.realpath(sys.executable)


def env():
    e = dict(os.environ)
    e.pop("VIRTUAL_ENV", None)
    e.pop("PYTHONDONTWRITEBYTECODE", None)
    e["NO_COLOR"] = "1"
    return e


def run(cmd, cwd, check=True):
    p = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, text=True)
    if check and p.returncode not in (0, 1):
        sys.exit(f"{' '.join(map(str, cmd))} exited {p.returncode}:\n{p.stderr}")
    return p


def bench_json(project, *extra):
    p = run([DBTEST, "bench", "--format", "json", *extra], cwd=project)
    return json.loads(p.stdout), p


def write(project, name, source):
    path = Path(project) / name
    path.write_text(textwrap.dedent(source))
    return path


def entries(doc):
    return {e["name"]: e for g in doc["benchmarks"] for e in g["entries"]}


def accuracy(project, lines, rounds=9):
    write(project, "bench_nothing.py", """
        from dbtest import BenchmarkGroup
        g = BenchmarkGroup("nothing")

        @g.add("nothing")
        def nothing():
            pass
        """)
    # This machine's speed drifts over seconds: alternate the two tools and compare the
    # medians of their figures, so neither gets only the fast (or slow) moments.
    ours, theirs = [], []
    for _ in range(rounds):
        doc, _ = bench_json(project, "-k", "nothing")
        ours.append(entries(doc)["nothing"]["stats"]["median_ns"])
        t = run([PYTHON, "-m", "timeit", "-s", "def f(): pass", "f()"], cwd=project)
        m = re.search(r"best of \d+: ([\d.]+) (nsec|usec|msec) per loop", t.stdout)
        theirs.append(float(m.group(1)) * {"nsec": 1, "usec": 1e3, "msec": 1e6}[m.group(2)])
    a, b = statistics.median(ours), statistics.median(theirs)
    diff = abs(a - b) / b
    lines.append(f"- Accuracy: empty function, {rounds} alternating rounds: dbtest's median per call "
                 f"{a:.1f} ns (rounds: {', '.join(f'{x:.1f}' for x in ours)}), `python -m timeit` best of 5 "
                 f"{b:.1f} ns (rounds: {', '.join(f'{x:.1f}' for x in theirs)}): {diff:.0%} apart. "
                 f"{'PASS' if diff <= 0.25 else 'FAIL'} (target: within 25%)")


def resolution(project, lines):
    # Iterating a prebuilt list is exactly twice the work; a range is not (it makes 2.35x as
    # many int objects, small ints being cached).
    write(project, "bench_resolution.py", """
        from dbtest import BenchmarkGroup
        g = BenchmarkGroup("resolution", baseline="n")
        N = [None] * 1000
        TWO_N = [None] * 2000

        @g.add("n")
        def n():
            for _ in N:
                pass

        @g.add("2n")
        def two_n():
            for _ in TWO_N:
                pass
        """)
    doc, _ = bench_json(project, "-k", "resolution")
    e = entries(doc)["2n"]
    ok = 1.9 <= e["ratio"] <= 2.1 and e["verdict"] == "slower"
    lines.append(f"- Resolution: loops of N and 2N: ratio {e['ratio']:.3f} (95% CI {e['ratio_ci'][0]:.3f}-{e['ratio_ci'][1]:.3f}), "
                 f"verdict `{e['verdict']}`. {'PASS' if ok else 'FAIL'} (target: ratio 1.9-2.1, verdict slower)")


def false_alarms(project, lines, runs):
    write(project, "bench_identical.py", """
        from dbtest import BenchmarkGroup
        g = BenchmarkGroup("identical", baseline="a")
        DATA = list(range(200, 0, -1))

        @g.add("a")
        def a():
            sorted(DATA)

        @g.add("b")
        def b():
            sorted(DATA)
        """)
    verdicts = []
    for _ in range(runs):
        doc, _ = bench_json(project, "-k", "identical")
        verdicts.append(entries(doc)["b"]["verdict"])
    same = verdicts.count("same")
    need = runs - max(1, runs // 20)
    lines.append(f"- No false alarms: two identical entries, {runs} runs: `same` {same} times "
                 f"({', '.join(v for v in verdicts if v != 'same') or 'no other verdict'}). "
                 f"{'PASS' if same >= need else 'FAIL'} (target: at least {need} of {runs})")


def git(project, *args):
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", *args],
                   cwd=project, check=True, capture_output=True)


def gate(project, lines, trials):
    src = """
        from dbtest import BenchmarkGroup
        g = BenchmarkGroup("gate")
        DATA = list(range(300, 0, -1))

        @g.add("steady")
        def steady():
            sorted(DATA)

        @g.add("changed")
        def changed():
            for _ in range(LOOPS):
                pass
        """
    # The baseline is saved from a commit, as in CI: `--baseline` then times that commit's
    # code again beside the working tree's. `--saved-samples` shows the other way, against
    # the numbers saved in an earlier process.
    write(project, "bench_gate.py", "LOOPS = 1000\n" + textwrap.dedent(src))
    git(project, "init", "-q")
    git(project, "add", "bench_gate.py", "pyproject.toml")
    git(project, "commit", "-q", "-m", "baseline")
    results = {"rerun": [], "saved": []}
    for _ in range(trials):
        git(project, "checkout", "-q", "--", "bench_gate.py")
        run([DBTEST, "bench", "-k", "gate", "--save-baseline", "before"], cwd=project)
        write(project, "bench_gate.py", "LOOPS = 1200\n" + textwrap.dedent(src))
        for how, extra in (("rerun", []), ("saved", ["--saved-samples"])):
            doc, p = bench_json(project, "-k", "gate", "--baseline", "before", "--fail-on", "median:5%", *extra)
            e = entries(doc)
            results[how].append({
                "ok": p.returncode == 1 and "gate::changed" in p.stderr and "gate::steady" not in p.stderr,
                "caught": "gate::changed" in p.stderr,
                "false": "gate::steady" in p.stderr,
                "changed": e["changed"]["vs_saved"]["ratio"],
                "steady": e["steady"]["vs_saved"]["ratio"],
            })
    git(project, "checkout", "-q", "--", "bench_gate.py")

    def tally(rs):
        return (f"{sum(r['ok'] for r in rs)}/{len(rs)} trials exit 1 naming only `changed` "
                f"(`changed` flagged {sum(r['caught'] for r in rs)}/{len(rs)}, `steady` flagged "
                f"{sum(r['false'] for r in rs)}/{len(rs)}; ratios `changed` "
                f"{', '.join('%.3f' % r['changed'] for r in rs)}; `steady` "
                f"{', '.join('%.3f' % r['steady'] for r in rs)})")
    rerun, saved = results["rerun"], results["saved"]
    need = trials - max(0, trials // 20)
    ok = sum(r["ok"] for r in rerun) >= need
    lines.append(f"- Regression gate: baseline saved from a commit, `changed` made 20% slower in the working tree, "
                 f"`--baseline before --fail-on median:5%` (the commit's code timed again in the same run): "
                 f"{tally(rerun)}. {'PASS' if ok else 'FAIL'} (target: every trial, at most one miss in 20)")
    lines.append(f"  - For contrast, the same runs against the saved samples (`--saved-samples`): {tally(saved)}.")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=20, help="runs for the false-alarm check")
    ap.add_argument("--gate-trials", type=int, default=10, help="save/compare trials for the gate check")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--out", default="bench-out")
    args = ap.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
    lines = ["### Benchmark mode", "", f"`python3 tests/bench/bench_mode.py --runs {args.runs} --gate-trials {args.gate_trials}`, "
             f"{subprocess.run([DBTEST, '--version'], capture_output=True, text=True).stdout.strip()}", ""]
    with tempfile.TemporaryDirectory() as project:
        Path(project, "pyproject.toml").write_text("")
        accuracy(project, lines)
        resolution(project, lines)
        gate(project, lines, args.gate_trials)
        false_alarms(project, lines, args.runs)
    text = "\n".join(lines) + "\n"
    print(text)
    out = REPO / args.out
    out.mkdir(exist_ok=True)
    (out / "bench_mode.md").write_text(text)


if __name__ == "__main__":
    main()
