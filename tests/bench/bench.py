#!/usr/bin/env python3
"""Benchmark dbtest beside pytest, `python -m unittest` and a no-framework floor.

Every contender of a scenario runs the same generated test bodies (see
<repo>/../shared/bench/make_corpus.py, or $DBTEST_SHARED/bench/make_corpus.py),
and all contenders of a scenario are timed in ONE hyperfine invocation so they
share the machine's conditions. The figure reported is the median of the runs;
ratios of medians are what the targets compare.

Run from anywhere (stdlib only; needs cargo, hyperfine and network access to
PyPI for the pytest virtualenv):

    python3 tests/bench/bench.py                    # all scenarios but cpu
    python3 tests/bench/bench.py --quick            # fewer runs (same corpora)
    python3 tests/bench/bench.py --only trivial,one # some scenarios
    python3 tests/bench/bench.py --all              # cpu too
    python3 tests/bench/bench.py --no-build --out /tmp/bench-out

Results: a markdown table per scenario and a PASS/FAIL line per target, on
stdout and in <out>/results.md; hyperfine's JSON in <out>/<scenario>.json.
The exit status is 0 even when targets fail (this measures, it does not gate);
it is 1 only when the benchmark itself cannot run.

Fairness rules:
- Python runs from its real path (os.path.realpath(sys.executable)), never a
  pyenv shim, and must be the minor version dbtest embeds (`dbtest --version`).
- pytest and its plugins (pytest-asyncio, pytest-xdist) live in a virtualenv
  <out>/venv made from that same interpreter; dbtest runs with VIRTUAL_ENV unset.
- PYTHONDONTWRITEBYTECODE and PYTHONUNBUFFERED are removed from every timed
  command's environment (users normally have bytecode caching and buffered
  pipes); the rest of the environment is the same for every contender.
- Each command first runs once untimed as a correctness check (exit status 0
  and the expected test count in its output); a contender that fails it is
  reported and left out of the timing. hyperfine then warms up once (so .pyc
  files exist for everyone; with --quick the check run is the only warm-up)
  and times with -N (no shell).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]
PYTEST_PACKAGES = ("pytest", "pytest-asyncio", "pytest-xdist")
# Environment variables removed from every timed command (see the docstring).
UNSET_ENV = ("PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED", "VIRTUAL_ENV")
CHECK_TIMEOUT_S = 900


class BenchError(Exception):
    """The benchmark cannot run (missing tool, failed build, wrong interpreter)."""


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Contender:
    key: str  # what targets refer to: "dbtest", "floor", "pytest", ...
    argv: list[str]
    expect: str | None  # regex that the check run's output must contain


@dataclass(frozen=True)
class Target:
    """`subject`'s median < `seconds`, or <= `factor` x the median of `other`."""

    subject: str
    seconds: float | None = None
    factor: float | None = None
    other: str | None = None
    recorded_only: bool = False  # measured for a later issue, not judged yet

    @property
    def text(self) -> str:
        if self.seconds is not None:
            return f"{self.subject} < {fmt_time(self.seconds)}"
        other = "" if self.factor == 1 else f"{self.factor:g}x "
        return f"{self.subject} <= {other}{self.other}"

    def evaluate(self, medians: dict[str, float]) -> tuple[str, str]:
        """Return (status, what was measured or why nothing was)."""
        needed = [self.subject] + ([self.other] if self.other else [])
        missing = [k for k in needed if k not in medians]
        if missing:
            return "FAIL", f"not measured: {', '.join(missing)}"
        value = medians[self.subject]
        if self.seconds is not None:
            ok, detail = value < self.seconds, fmt_time(value)
        else:
            ratio = value / medians[self.other]
            ok = ratio <= self.factor
            detail = f"{fmt_ratio(ratio)}: {fmt_time(value)} vs {fmt_time(medians[self.other])}"
        if self.recorded_only:
            return "INFO", f"measured {detail}"
        return ("PASS" if ok else "FAIL"), f"measured {detail}"


@dataclass
class ScenarioResult:
    name: str
    markdown: str
    target_lines: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- formatting


def fmt_time(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.3f} s"


def fmt_ratio(ratio: float) -> str:
    return f"{ratio:.3f}x" if ratio < 1 else f"{ratio:.2f}x"


# --------------------------------------------------------------------------- context


class Bench:
    """Paths, environment and helpers shared by the scenarios."""

    def __init__(self, args: argparse.Namespace, python: str, dbtest: str, hyperfine: str):
        self.quick = args.quick
        self.out = args.out
        self.python = python
        self.dbtest = dbtest
        self.hyperfine = hyperfine
        self.venv_python = str(self.out / "venv" / "bin" / "python")
        self.generator = args.shared / "bench" / "make_corpus.py"
        self.env = {k: v for k, v in os.environ.items() if k not in UNSET_ENV}

    # ---- setup

    def ensure_pytest_venv(self) -> None:
        """Create <out>/venv from the benchmark interpreter and install pytest + plugins."""
        venv = self.out / "venv"
        want = self.version_of(self.python)
        if venv.exists() and self.version_of(self.venv_python, quiet=True) != want:
            shutil.rmtree(venv)
        if not venv.exists():
            run_logged([self.python, "-m", "venv", str(venv)])
        probe = [self.venv_python, "-c", "import pytest, pytest_asyncio, xdist"]
        if subprocess.run(probe, capture_output=True).returncode != 0:
            run_logged([self.venv_python, "-m", "pip", "install", "-q",
                        "--disable-pip-version-check", *PYTEST_PACKAGES])

    def pytest_versions(self) -> str:
        code = ("import importlib.metadata as m; "
                f"print(', '.join(p + ' ' + m.version(p) for p in {PYTEST_PACKAGES!r}))")
        return subprocess.run([self.venv_python, "-c", code], capture_output=True,
                              text=True, check=True).stdout.strip()

    @staticmethod
    def version_of(python: str, quiet: bool = False) -> str | None:
        try:
            out = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                                 capture_output=True, text=True, check=True)
        except (OSError, subprocess.CalledProcessError):
            if quiet:
                return None
            raise
        return out.stdout.strip()

    def corpus(self, name: str, *gen_args: str) -> tuple[Path, str]:
        """Generate a fresh corpus under <out>/corpus/<name>; return (root, command line)."""
        root = self.out / "corpus" / name
        if root.exists():
            shutil.rmtree(root)
        argv = [self.python, str(self.generator), "--out", str(root), *gen_args]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        # Pin pytest's rootdir here so no ini file above <out> is picked up; the loop
        # scope is pytest-asyncio's default, set to silence its deprecation warning.
        ini = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"
        (root / "pytest.ini").write_text(ini)
        return root, shlex.join(argv)

    def runs(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    # ---- contenders (argv relative to the corpus root, which is the cwd)

    def floor(self, n: int) -> Contender:
        return Contender("floor", [self.python, "floor/run_floor.py"], rf"\b{n} passed, 0 failed")

    def dbtest_run(self, n: int, *opts: str) -> Contender:
        return Contender("dbtest", [self.dbtest, *opts, "dbtest"], rf"\b{n} passed")

    def pytest(self, n: int, *opts: str) -> Contender:
        argv = [self.venv_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", *opts, "pytest"]
        return Contender("pytest", argv, rf"\b{n} passed")

    def unittest(self, n: int) -> Contender:
        argv = [self.python, "-m", "unittest", "discover", "-s", "unittest", "-t", "unittest", "-q"]
        return Contender("unittest", argv, rf"\bRan {n} tests?\b[\s\S]*\bOK\b")

    def display(self, argv: list[str]) -> str:
        short = {self.python: "python", self.dbtest: "dbtest", self.venv_python: "venv/bin/python"}
        return shlex.join(short.get(a, a) for a in argv)

    # ---- measuring

    def measure(self, name: str, title: str, root: Path, gen_cmd: str | None,
                contenders: list[Contender], runs: int, baseline: str | None,
                targets: list[Target]) -> ScenarioResult:
        """Check every contender, time the good ones in one hyperfine run, and report."""
        print(f"\n=== {name}: {title}", file=sys.stderr)
        failed = [self.check(c, root) for c in contenders]
        failed_checks = [f for f in failed if f]
        good = [c for c, f in zip(contenders, failed) if not f]

        # The machine's speed drifts over seconds; hyperfine times one command's runs back to
        # back, so the runs are split into rounds that alternate the contenders' order, and
        # every contender's times are pooled across rounds.
        rounds = max(1, min(runs, 5))
        per_round = -(-runs // rounds)
        warmup = 0 if self.quick else 1  # the check run has already warmed caches
        times: dict[str, list[float]] = {c.key: [] for c in good}
        cmd: list[str] = []
        for r in range(rounds if good else 0):
            order = good if r % 2 == 0 else list(reversed(good))
            json_path = self.out / f"{name}.round{r}.json"
            round_cmd = [self.hyperfine, "-N", "--warmup", str(warmup if r == 0 else 0),
                         "--runs", str(per_round), "--output", "pipe", "--export-json", str(json_path)]
            for c in order:
                round_cmd += ["--command-name", self.display(c.argv), shlex.join(c.argv)]
            cmd = cmd or round_cmd
            run_logged(round_cmd, cwd=root, env=self.env)
            for c, res in zip(order, json.loads(json_path.read_text())["results"]):
                times[c.key] += res["times"]
        stats: dict[str, tuple[float, float, float]] = {
            k: (statistics.median(v), min(v), max(v)) for k, v in times.items() if v}

        lines = [f"## {name}: {title}", ""]
        if gen_cmd:
            lines += ["Corpus:", "", f"    {gen_cmd}", ""]
        lines += ["Timed with (cwd is the corpus root):", "", f"    cd {shlex.quote(str(root))}",
                  f"    {shlex.join(cmd)}", "",
                  f"{per_round * rounds} run(s) each in {rounds} round(s) alternating the order "
                  f"(the command above is the first round), after 1 untimed check run and "
                  f"{warmup} warm-up(s).", ""]
        base = stats.get(baseline, (None,))[0] if baseline else None
        ratio_head = f"ratio to {baseline}" if baseline else "ratio"
        lines += [f"| command | median | min | max | {ratio_head} |", "|---|---:|---:|---:|---:|"]
        for c in contenders:
            if c.key not in stats:
                lines.append(f"| `{self.display(c.argv)}` | did not run | | | |")
                continue
            med, lo, hi = stats[c.key]
            ratio = fmt_ratio(med / base) if base else "-"
            lines.append(f"| `{self.display(c.argv)}` | {fmt_time(med)} | {fmt_time(lo)} "
                         f"| {fmt_time(hi)} | {ratio} |")
        lines.append("")
        lines += [f"Check failed: {f}" for f in failed_checks]
        medians = {k: v[0] for k, v in stats.items()}
        target_lines = []
        for t in targets:
            status, detail = t.evaluate(medians)
            label = "INFO (later target)" if t.recorded_only else status
            target_lines.append(f"{label}: {name}: {t.text} ({detail})")
        lines += target_lines or ["No target yet: recorded for a later issue."]
        return ScenarioResult(name, "\n".join(lines) + "\n", target_lines, failed_checks)

    def check(self, c: Contender, root: Path) -> str | None:
        """Run `c` once, untimed; return why it is unfit to time, or None."""
        try:
            p = subprocess.run(c.argv, cwd=root, env=self.env, capture_output=True, text=True,
                               timeout=CHECK_TIMEOUT_S)
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"`{self.display(c.argv)}`: {e}"
        output = p.stdout + p.stderr
        if p.returncode == 0 and (c.expect is None or re.search(c.expect, output)):
            return None
        tail = " | ".join(output.strip().splitlines()[-5:]) or "(no output)"
        return (f"`{self.display(c.argv)}` exited {p.returncode}"
                f"{'' if c.expect is None else f', expected /{c.expect}/'}: {tail}")


def run_logged(argv: list[str], **kw) -> None:
    """Run a setup or timing command, its output going to stderr; raise on failure."""
    print(f"$ {shlex.join(argv)}", file=sys.stderr, flush=True)
    subprocess.run(argv, check=True, stdout=sys.stderr, **kw)


# --------------------------------------------------------------------------- scenarios


def trivial(b: Bench) -> ScenarioResult:
    root, gen = b.corpus("trivial", "--files", "100", "--tests", "100", "--kind", "trivial")
    n = 100 * 100
    return b.measure(
        "trivial", f"{n} trivial tests in 100 files (per-test overhead)", root, gen,
        [b.floor(n), b.dbtest_run(n), b.pytest(n), b.unittest(n)],
        runs=b.runs(10, 2), baseline="floor",
        targets=[Target("dbtest", factor=1.5, other="floor"),
                 Target("dbtest", factor=0.1, other="pytest")])


def _trivial_in(b: Bench, dialect: str) -> ScenarioResult:
    """dbtest running the unittest or pytest dialect of the trivial corpus, unchanged."""
    root, gen = b.corpus(f"trivial_{dialect}", "--files", "100", "--tests", "100",
                         "--kind", "trivial")
    n = 100 * 100
    runner = b.pytest(n) if dialect == "pytest" else b.unittest(n)
    dbtest = Contender("dbtest", [b.dbtest, dialect], rf"\b{n} passed")
    return b.measure(
        f"trivial_{dialect}", f"{n} trivial tests in 100 files, {dialect} dialect", root, gen,
        [b.floor(n), dbtest, runner], runs=b.runs(10, 2), baseline="floor",
        targets=[Target("dbtest", factor=1.5, other="floor")])


def trivial_unittest(b: Bench) -> ScenarioResult:
    return _trivial_in(b, "unittest")


def trivial_pytest(b: Bench) -> ScenarioResult:
    return _trivial_in(b, "pytest")


# CPU-light unittest modules of CPython's own test suite (about 2,700 tests).
STDLIB_MODULES = ("test_bisect", "test_heapq", "test_textwrap", "test_difflib", "test_enum",
                  "test_typing", "test_collections", "test_functools", "test_itertools",
                  "test_statistics", "test_fractions", "test_re", "test_operator", "test_copy",
                  "test_contextlib", "test_abc", "test_string")


def stdlib(b: Bench) -> ScenarioResult:
    """A real unittest suite: CPython's own test modules, against `python -m unittest`."""
    import sysconfig

    src = Path(sysconfig.get_paths()["stdlib"]) / "test"
    root = b.out / "corpus" / "stdlib"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    # The whole package: the modules read data and helper packages beside them.
    shutil.copytree(src, root / "test", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "pyproject.toml").write_text("")
    gen = f"copy of {src} (timed: {', '.join(STDLIB_MODULES)})"
    mods = [f"test.{m}" for m in STDLIB_MODULES]
    unittest = Contender("unittest", [b.python, "-m", "unittest", "-q", *mods], r"\bOK\b")
    files = [f"test/{m}.py" for m in STDLIB_MODULES]
    dbtest = Contender("dbtest", [b.dbtest, *files], r"\bpassed\b")
    return b.measure(
        "stdlib", "CPython's unittest modules (CPU-light, about 2,700 tests)", root, gen,
        [unittest, dbtest], runs=b.runs(5, 1), baseline="unittest",
        targets=[Target("dbtest", factor=0.6, other="unittest")])


def _sleepers(b: Bench, kind: str) -> ScenarioResult:
    root, gen = b.corpus(kind, "--files", "20", "--tests", "10", "--kind", kind,
                         "--sleep-ms", "100")
    n = 20 * 10
    how = "time.sleep" if kind == "sleep" else "await asyncio.sleep"
    return b.measure(
        kind, f"{n} tests of `{how}(0.1)` in 20 files", root, gen,
        [b.floor(n), b.dbtest_run(n, "-j", "20"), b.pytest(n), b.unittest(n)],
        runs=b.runs(3, 1), baseline="floor", targets=[Target("dbtest", seconds=1.5)])


def sleep(b: Bench) -> ScenarioResult:
    return _sleepers(b, "sleep")


def asleep(b: Bench) -> ScenarioResult:
    return _sleepers(b, "asleep")


def list_(b: Bench) -> ScenarioResult:
    root, gen = b.corpus("list", "--files", "1000", "--tests", "10", "--kind", "trivial")
    n = 1000 * 10
    lister = Contender("dbtest", [b.dbtest, "--list", "dbtest"], rf"\b{n} tests in 1000 files")
    return b.measure(
        "list", f"listing {n} tests in 1000 files, against running them with no framework",
        root, gen, [b.floor(n), lister], runs=b.runs(10, 3), baseline="floor",
        targets=[Target("dbtest", factor=1, other="floor")])


def version(b: Bench) -> ScenarioResult:
    root = b.out / "corpus" / "version"
    root.mkdir(parents=True, exist_ok=True)
    return b.measure(
        "version", "`dbtest --version` (process start-up)", root, None,
        [Contender("dbtest", [b.dbtest, "--version"], r"^dbtest ")],
        runs=b.runs(30, 10), baseline=None, targets=[Target("dbtest", seconds=0.020)])


def cpu(b: Bench) -> ScenarioResult:
    root, gen = b.corpus("cpu", "--files", "20", "--tests", "5", "--kind", "cpu",
                         "--cpu-loops", "1500000")
    n = 20 * 5
    return b.measure(
        "cpu", f"{n} CPU-bound tests (1.5M-iteration loops) in 20 files", root, gen,
        [b.floor(n), b.dbtest_run(n), b.pytest(n, "-n", "2")],
        runs=b.runs(3, 1), baseline="floor",
        targets=[Target("dbtest", factor=0.6, other="floor"), Target("dbtest", factor=1.0, other="pytest")])


def one(b: Bench) -> ScenarioResult:
    root, gen = b.corpus("one", "--files", "1", "--tests", "1", "--kind", "trivial")
    # The generated header imports asyncio (about 65 ms here) for the async kinds; a trivial
    # test needs nothing, so the one-test run measures dbtest's own start, not asyncio's.
    (root / "dbtest" / "test_trivial_0.py").write_text(
        "from dbtest import test\n\n\n@test\ndef case_0():\n    x = 0 + 1\n    assert x - 1 == 0\n")
    gen += "  # then dbtest/test_trivial_0.py rewritten without the asyncio/time imports"
    bare = Contender("python -c pass", [b.python, "-c", "pass"], None)
    return b.measure(
        "one", "one trivial test, against a bare interpreter start", root, gen,
        [bare, b.dbtest_run(1)], runs=b.runs(20, 5), baseline="python -c pass",
        targets=[Target("dbtest", factor=1.5, other="python -c pass")])


SCENARIOS: dict[str, Callable[[Bench], ScenarioResult]] = {
    "trivial": trivial, "sleep": sleep, "asleep": asleep, "list": list_,
    "version": version, "one": one, "cpu": cpu,
    "trivial_unittest": trivial_unittest, "trivial_pytest": trivial_pytest, "stdlib": stdlib,
}
OFF_BY_DEFAULT = {"cpu"}
NEED_PYTEST = {"trivial", "sleep", "asleep", "cpu", "trivial_pytest"}


# --------------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="fewer runs and no hyperfine warm-up (same corpora and targets)")
    p.add_argument("--only", help=f"comma-separated scenarios: {', '.join(SCENARIOS)}")
    p.add_argument("--all", action="store_true", help="also the scenarios off by default (cpu)")
    p.add_argument("--out", type=Path, default=REPO / "bench-out", help="default: <repo>/bench-out")
    p.add_argument("--no-build", action="store_true", help="skip `cargo build --release`")
    p.add_argument("--python", default=sys.executable,
                   help="interpreter for the Python contenders (default: this one, resolved)")
    args = p.parse_args()
    if args.only:
        args.names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in args.names if n not in SCENARIOS]
        if unknown:
            p.error(f"unknown scenario(s): {', '.join(unknown)}")
    else:
        args.names = [n for n in SCENARIOS if args.all or n not in OFF_BY_DEFAULT]
    args.out = args.out.resolve()
    args.shared = Path(os.environ.get("DBTEST_SHARED", REPO.parent / "shared")).resolve()
    return args


def prepare(args: argparse.Namespace) -> Bench:
    """Build dbtest and check the tools and the interpreter; raise BenchError if unfit."""
    hyperfine = shutil.which("hyperfine")
    if not hyperfine:
        raise BenchError("hyperfine not found; install it with: apt-get install -y hyperfine")
    if not (args.shared / "bench" / "make_corpus.py").is_file():
        raise BenchError(f"no corpus generator at {args.shared}/bench/make_corpus.py "
                         "(set DBTEST_SHARED to the folder holding bench/make_corpus.py)")
    if not args.no_build:
        try:
            run_logged(["cargo", "build", "--release"], cwd=REPO)
        except (OSError, subprocess.CalledProcessError) as e:
            raise BenchError(f"cargo build --release failed: {e}") from e
    built = REPO / "target" / "release" / "dbtest"
    if not os.access(built, os.X_OK):
        raise BenchError(f"{built} is missing; build it (drop --no-build)")
    # Time a copy, so that a concurrent `cargo build` cannot swap the binary mid-run.
    (args.out / "bin").mkdir(parents=True, exist_ok=True)
    dbtest = str(shutil.copy2(built, args.out / "bin" / "dbtest"))
    python = os.path.realpath(shutil.which(args.python) or args.python)
    banner = subprocess.run([dbtest, "--version"], capture_output=True, text=True).stdout
    embedded = re.search(r"Python (\d+\.\d+)(\.\d+)?", banner)
    have = Bench.version_of(python)
    if not embedded or not have.startswith(embedded.group(1) + "."):
        raise BenchError(f"{python} is Python {have}, but dbtest embeds "
                         f"{embedded.group(0) if embedded else '?'} ({banner.strip()!r}); "
                         "pass --python with a matching interpreter")
    return Bench(args, python, dbtest, hyperfine)


def header(b: Bench, names: list[str]) -> str:
    def out(argv: list[str]) -> str:
        return subprocess.run(argv, capture_output=True, text=True).stdout.strip()

    commit = out(["git", "-C", str(REPO), "describe", "--always", "--dirty"])
    lines = [
        "# dbtest benchmark results", "",
        f"- dbtest: `{out([b.dbtest, '--version'])}` (repo at {commit or '?'}), "
        f"timed as the copy `{b.dbtest}`",
        f"- python: `{b.python}` ({Bench.version_of(b.python)})",
        f"- {out([b.hyperfine, '--version'])}, {os.cpu_count()} CPU(s)",
        f"- mode: {'quick' if b.quick else 'full'}; scenarios: {', '.join(names)}",
        f"- removed from the timed commands' environment: {', '.join(UNSET_ENV)}",
    ]
    if NEED_PYTEST & set(names):
        lines.append(f"- pytest virtualenv `{b.out / 'venv'}`: {b.pytest_versions()}")
    return "\n".join(lines) + "\n"


def summary(results: list[ScenarioResult]) -> str:
    lines = ["## Summary", ""]
    judged = [t for r in results for t in r.target_lines if not t.startswith("INFO")]
    passed = sum(t.startswith("PASS") for t in judged)
    lines += [t for r in results for t in r.target_lines]
    lines += [f"Did not run: {f}" for r in results for f in r.failed_checks]
    lines += ["", f"{passed} of {len(judged)} targets pass."]
    return "\n".join(lines) + "\n"


def main() -> int:
    args = parse_args()
    try:
        b = prepare(args)
        if NEED_PYTEST & set(args.names):
            b.ensure_pytest_venv()
    except (BenchError, OSError, subprocess.CalledProcessError) as e:
        print(f"bench.py: {e}", file=sys.stderr)
        return 1
    report = b.out / "results.md"
    sections = [header(b, args.names)]
    print(sections[0])
    results = []
    for name in args.names:
        result = SCENARIOS[name](b)
        results.append(result)
        sections.append(result.markdown)
        print(result.markdown, flush=True)
        report.write_text("\n".join(sections))  # rewritten after each scenario
    sections.append(summary(results))
    print(sections[-1])
    report.write_text("\n".join(sections))
    print(f"Written: {report} and {b.out}/<scenario>.json", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
