#!/usr/bin/env bash
# A real pytest-style suite that needs no fixtures, from a package's sdist: pytest against
# dbtest on the same files, timed in alternating rounds (tests/bench/alternate.py; medians).
#
#   tests/bench/pytest_suite.sh [PACKAGE] [DBTEST] [PYTHON] [RUNS]
#
# PACKAGE defaults to idna (about 6,400 tests), DBTEST to target/release/dbtest, PYTHON to
# python3.11 (the minor version dbtest embeds; it needs pytest installed), RUNS to 5.
# Target: dbtest at most 0.3x pytest's wall time. pytest runs with `-p no:cacheprovider`.
# Needs network access to PyPI (`pip download --no-binary :all: --no-deps PACKAGE`).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
package=${1:-idna}
dbtest=$(realpath "${2:-$here/target/release/dbtest}")
python=$(command -v "${3:-python3.11}")
# pyenv's shims add about 100 ms per start: time the real interpreter.
python=$("$python" -c 'import os, sys; print(os.path.realpath(sys.executable))')
runs=${4:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m pip download -q --no-binary :all: --no-deps -d "$work/sdist" "$package"
mkdir "$work/src"
tar xzf "$work"/sdist/*.tar.gz -C "$work/src"
cd "$work"/src/*/
files=()
for f in tests/test_*.py; do
    # A file whose imports are missing here (idna's property tests need hypothesis) stops
    # pytest's whole run at collection: leave it out for both.
    if "$python" -c "import sys, ast; sys.exit(any(isinstance(n, (ast.Import, ast.ImportFrom)) and any((a.name if isinstance(n, ast.Import) else (n.module or '')).split('.')[0] == 'hypothesis' for a in n.names) for n in ast.walk(ast.parse(open('$f').read()))))" \
        || "$python" -c 'import hypothesis' 2>/dev/null; then
        files+=("$f")
    else
        echo "left out (needs hypothesis): $f"
    fi
done
unset PYTHONDONTWRITEBYTECODE PYTHONUNBUFFERED VIRTUAL_ENV
echo "$package: $(pwd | xargs basename); $("$dbtest" --version); $("$python" -m pytest --version 2>&1); $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "pytest: $("$python" -m pytest -q -p no:cacheprovider "${files[@]}" 2>&1 | tail -1)"
echo "dbtest: $("$dbtest" "${files[@]}" 2>&1 | tail -1)"
python3 "$here/tests/bench/alternate.py" --rounds "$runs" --base pytest \
    -c pytest "$python -m pytest -q -p no:cacheprovider ${files[*]}" \
    -c dbtest "$dbtest ${files[*]}"
