#!/usr/bin/env bash
# dist/check.sh [PYTHON...]: build the release archive and wheel with dist/build.sh, then use
# them as a user would, with nothing from this machine's environment but PATH=/usr/bin:/bin:
# - from the unpacked archive, the demo (examples/demo) passes under a virtualenv of each
#   built Python, and `dbtest --version` names that virtualenv's exact Python version;
# - tests run on the virtualenv's own Python (its sys.base_prefix and standard library) and
#   see the user's environment (no LD_LIBRARY_PATH, none of the launcher's variables);
# - a virtualenv of the system's python3.X (Debian's 3.11.2) runs on an engine built against
#   another 3.X, even with that other one first on PATH;
# - a virtualenv of a Python with no engine (if one is found) gets exit 4 naming its version;
# - no binary has an absolute RPATH/RUNPATH;
# - the wheel, pip-installed into a fresh virtualenv, runs the demo from that venv's bin/.
# By default: the oldest and the newest CPython >= 3.10 with a shared libpython under
# $(pyenv root)/versions/ (CI's machines have pyenv's), and pyenv's of the system python3's
# minor version if it has one; skipped, saying why, with fewer than two.
# DBTEST_CHECK_PREBUILT=1: check what is in dist/out (or DBTEST_DIST_OUT) without building.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
log() { printf 'dist/check.sh: %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

minor_of() { "$1" -I -S -c 'import sys, sysconfig; print("%d.%d" % sys.version_info[:2] if sysconfig.get_config_var("Py_ENABLE_SHARED") else "")' 2>/dev/null || true; }

# pyenv's Pythons with a shared libpython, one per minor version: "minor path", in version order.
pyenv_root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
declare -A seen=()
found=()
for p in "$pyenv_root"/versions/*/bin/python3; do
  [[ -x $p ]] || continue
  m=$(minor_of "$p")
  [[ $m =~ ^3\.[0-9]+$ && -z ${seen[$m]:-} ]] || continue
  seen[$m]=1
  found+=("$m $p")
done
mapfile -t found < <(printf '%s\n' "${found[@]}" | sed '/^$/d' | sort -t. -k2,2n)

pythons=("$@")
if ((${#pythons[@]} == 0)); then
  usable=()
  for f in "${found[@]}"; do
    m=${f%% *}
    if ((${m#3.} >= 10)); then usable+=("$f"); fi
  done
  if ((${#usable[@]} < 2)); then
    log "SKIPPED: fewer than two CPython >= 3.10 with a shared libpython under $pyenv_root/versions/ (found: ${usable[*]:-none})"
    exit 0
  fi
  pythons=("${usable[0]#* }" "${usable[-1]#* }")
  # Also the minor version of the system's python3 (Debian's 3.11, say), when pyenv has it:
  # then a venv of the system's Python runs on an engine built against pyenv's (see below).
  sys_minor=$(minor_of /usr/bin/python3)
  for f in "${usable[@]:1:${#usable[@]}-2}"; do
    if [[ ${f%% *} == "$sys_minor" ]]; then pythons=("${pythons[0]}" "${f#* }" "${pythons[1]}"); fi
  done
fi
declare -A built=()
for p in "${pythons[@]}"; do built[$(minor_of "$p")]=1; done
# A Python with no engine, for the exit-4 check: the newest pyenv one of another minor version.
other=""
for f in "${found[@]}"; do
  [[ -n ${built[${f%% *}]:-} ]] || other=${f#* }
done

export DBTEST_DIST_OUT=${DBTEST_DIST_OUT:-$root/dist/out}
if [[ ${DBTEST_CHECK_PREBUILT:-} == 1 ]]; then
  log "using what is already in $DBTEST_DIST_OUT (DBTEST_CHECK_PREBUILT=1)"
else
  log "building for: ${pythons[*]}"
  dist/build.sh "${pythons[@]}" >/dev/null
fi
version=$(sed -n '/^\[package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -1)
triple=$(rustc -vV | sed -n 's/^host: //p')
tarball=$DBTEST_DIST_OUT/dbtest-$version-$triple.tar.gz
wheel=$(ls "$DBTEST_DIST_OUT"/dbtest-"$version"-py3-none-*.whl)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$DBTEST_DIST_OUT" && sha256sum -c --quiet "$(basename "$tarball").sha256") || fail "checksum"
tar -C "$tmp" -xzf "$tarball"
install=$tmp/dbtest-$version-$triple
for f in "$install/bin/dbtest" "$install"/lib/dbtest/engines/*/dbtest; do
  if readelf -d "$f" | grep -E 'R(UN)?PATH' | grep -v '\$ORIGIN' | grep -q .; then
    fail "$f has an absolute RPATH/RUNPATH"
  fi
done

# Run as a user would: nothing set but PATH (and a HOME of our own for dbtest's cache).
user_path=/usr/bin:/bin
user_run() { # user_run DIR ARGS...
  local dir=$1
  shift
  (cd "$dir" && env -i PATH="$user_path" HOME="$tmp/home" "$@")
}

demo_in_venv() { # demo_in_venv NAME PYTHON DBTEST
  local name=$1 py=$2 dbtest=$3 proj=$tmp/$1 want got rc base
  cp -r examples/demo "$proj"
  "$py" -m venv "$proj/.venv"
  want=$("$proj/.venv/bin/python" -c 'import sys; print(sys.version.split()[0])')
  base=$("$proj/.venv/bin/python" -c 'import sys; print(sys.base_prefix)')
  # The engine runs the venv's own Python (its standard library, not another install's of
  # the same minor version) and hands tests the user's environment, not the launcher's.
  cat >"$proj/tests/test_dist_env.py" <<EOF
import os, sys
from dbtest import test

@test
def runs_on_the_venvs_python_with_the_users_environment():
    assert sys.base_prefix == "$base", (sys.base_prefix, os.__file__)
    assert os.__file__.startswith(sys.base_prefix + "/"), os.__file__
    assert "LD_LIBRARY_PATH" not in os.environ, os.environ["LD_LIBRARY_PATH"]
    launcher = [k for k in os.environ if k.startswith(("DBTEST_ENGINE_", "DBTEST_ORIG_"))]
    assert not launcher, launcher
EOF
  got=$(user_run "$proj" "$dbtest" --version) || fail "$name: --version exited $?"
  [[ $got == "dbtest $version (Python $want)" ]] || fail "$name: --version said '$got', want Python $want"
  rc=0
  user_run "$proj" "$dbtest" --color never >"$tmp/$name.out" 2>&1 || rc=$?
  ((rc == 0)) || { cat "$tmp/$name.out" >&2; fail "$name: the demo exited $rc"; }
  log "ok: $name (Python $want, PATH=$user_path): '$got', demo: $(grep -E '^(PASSED|FAILED)' "$tmp/$name.out")"
}

for py in "${pythons[@]}"; do
  demo_in_venv "archive-py$(minor_of "$py")" "$py" "$install/bin/dbtest"
done
# The system's python3.X of a built minor version (Debian's 3.11.2, say), when the engine was
# built against another 3.X: with that other interpreter first on PATH, to show the engine
# takes the venv's standard library, not the one an embedded Python would find from PATH.
for py in "${pythons[@]}"; do
  m=$(minor_of "$py")
  sys_py=/usr/bin/python$m
  [[ -x $sys_py && $(readlink -f "$sys_py") != $(readlink -f "$py") && -n $(minor_of "$sys_py") ]] || continue
  user_path=$(dirname "$(readlink -f "$py")"):/usr/bin:/bin
  demo_in_venv "system-py$m" "$sys_py" "$install/bin/dbtest"
  user_path=/usr/bin:/bin
done

if [[ -n $other ]]; then
  m=$(minor_of "$other")
  mkdir -p "$tmp/old"
  "$other" -m venv "$tmp/old/.venv"
  rc=0
  user_run "$tmp/old" "$install/bin/dbtest" --version >"$tmp/old.out" 2>&1 || rc=$?
  ((rc == 4)) || { cat "$tmp/old.out" >&2; fail "a Python $m virtualenv: exit $rc, want 4"; }
  grep -q "Python $m" "$tmp/old.out" || fail "the exit-4 message does not name Python $m: $(cat "$tmp/old.out")"
  log "ok: a Python $m virtualenv gets exit 4: $(head -1 "$tmp/old.out")"
fi

# The wheel, into a fresh virtualenv of the newest built Python, run from that venv's bin/
# (not activated, the project has no .venv of its own).
py=${pythons[-1]}
"$py" -m venv "$tmp/wheel-venv"
"$tmp/wheel-venv/bin/python" -m pip install --quiet --no-index --disable-pip-version-check "$wheel" ||
  fail "pip install $(basename "$wheel")"
cp -r examples/demo "$tmp/wheel-demo"
rc=0
user_run "$tmp/wheel-demo" "$tmp/wheel-venv/bin/dbtest" --color never >"$tmp/wheel.out" 2>&1 || rc=$?
((rc == 0)) || { cat "$tmp/wheel.out" >&2; fail "the wheel's dbtest: the demo exited $rc"; }
log "ok: wheel $(basename "$wheel") in a fresh venv: $(user_run "$tmp/wheel-demo" "$tmp/wheel-venv/bin/dbtest" --version), demo: $(grep -E '^(PASSED|FAILED)' "$tmp/wheel.out")"
log "all checks passed"
