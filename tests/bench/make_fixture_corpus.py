"""Write the fixture corpus: pytest-style tests that each use one function-scoped fixture.

    python3 tests/bench/make_fixture_corpus.py --out /tmp/fx [--files 100] [--tests 100]

Layout:
  OUT/pytest/conftest.py           the fixture (`@pytest.fixture def value(): ...`)
  OUT/pytest/test_fixture_<i>.py   `def test_case_<t>(value): assert value + <t> == ...`
  OUT/floor/run_floor.py           the same bodies with no framework: import each module, call
                                   the fixture function, then the test with its value
  OUT/floor/fixture_impl.py, OUT/floor/test_fixture_<i>.py
  OUT/plain/test_fixture_<i>.py    the same tests without the fixture (no conftest, no pytest):
                                   dbtest's pytest-style cost without fixtures, for comparison

Run `dbtest -C OUT/pytest` (dbtest resolves the fixture itself) against
`python3 OUT/floor/run_floor.py`; `--floor-imports-pytest` makes the floor import pytest too
(the corpus's conftest does, so that share of the gap is pytest's import, not dbtest's).
The target (issue 11): dbtest <= 2x the floor.
"""

import argparse
import os

CONFTEST = '''\
import pytest


@pytest.fixture
def value():
    return 41
'''

FIXTURE_IMPL = '''\
def value():
    return 41
'''

FLOOR = '''\
"""Floor: import every corpus module, call the fixture and each test body, no framework."""
import importlib.util
import pathlib
import sys

here = pathlib.Path(__file__).parent
sys.path.insert(0, str(here))
{pytest_import}from fixture_impl import value

passed = failed = 0
for path in sorted(here.glob("test_*.py")):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for name, fn in vars(mod).items():
        if not name.startswith("test_") or not callable(fn):
            continue
        try:
            fn(value())
            passed += 1
        except AssertionError:
            failed += 1
print(f"{{passed}} passed, {{failed}} failed")
'''


def test_file(f, tests, plain=False):
    out = [f'"""Generated fixture corpus file {f}."""', ""]
    for t in range(tests):
        out.append("")
        if plain:
            out.append(f"def test_case_{t}():")
            out.append("    value = 41")
        else:
            out.append(f"def test_case_{t}(value):")
        out.append(f"    assert value + {t} == {41 + t}")
        out.append("")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--files", type=int, default=100)
    p.add_argument("--tests", type=int, default=100, help="tests per file")
    p.add_argument("--floor-imports-pytest", action="store_true")
    args = p.parse_args()
    pyt = os.path.join(args.out, "pytest")
    floor = os.path.join(args.out, "floor")
    plain = os.path.join(args.out, "plain")
    for d in (pyt, floor, plain):
        os.makedirs(d, exist_ok=True)
    for d in (pyt, plain):
        with open(os.path.join(d, "pyproject.toml"), "w") as fh:
            fh.write('[project]\nname = "fixture-corpus"\nversion = "0"\n')
    with open(os.path.join(pyt, "conftest.py"), "w") as fh:
        fh.write(CONFTEST)
    with open(os.path.join(floor, "fixture_impl.py"), "w") as fh:
        fh.write(FIXTURE_IMPL)
    with open(os.path.join(floor, "run_floor.py"), "w") as fh:
        fh.write(FLOOR.format(pytest_import="import pytest  # noqa: F401\n" if args.floor_imports_pytest else ""))
    for f in range(args.files):
        text = test_file(f, args.tests)
        for d in (pyt, floor):
            with open(os.path.join(d, f"test_fixture_{f}.py"), "w") as fh:
                fh.write(text)
        with open(os.path.join(plain, f"test_fixture_{f}.py"), "w") as fh:
            fh.write(test_file(f, args.tests, plain=True))
    print(f"wrote {args.files} files x {args.tests} tests = {args.files * args.tests} tests in {args.out}")


if __name__ == "__main__":
    main()
