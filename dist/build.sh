#!/usr/bin/env bash
# dist/build.sh [PYTHON...]: dbtest's release archive and wheel, in dist/out/.
#
# dbtest embeds CPython, so it is built once per Python minor version (an "engine"), each
# against one interpreter given here by path or name. By default: every CPython >= 3.10 with
# a shared libpython found on PATH (python3, python3.1X) and under $(pyenv root)/versions/,
# one per minor version (the first found). A small launcher, bin/dbtest, picks the engine of
# the project's Python at run time (see dist/README.md).
#
# Environment:
#   DBTEST_DIST_OUT       output folder (default: dist/out)
#   DBTEST_DIST_PARALLEL  engines built at once (default 1: one after another in one target
#                         folder, where only pyo3 and dbtest are rebuilt per version; N > 1
#                         gives each version its own target folder, every crate built N times)
#   CARGO_TARGET_DIR      engines build under $CARGO_TARGET_DIR/dist (default: target/dist)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${DBTEST_DIST_OUT:-$root/dist/out}
target_base=${CARGO_TARGET_DIR:-$root/target}/dist
parallel=${DBTEST_DIST_PARALLEL:-1}
triple=$(rustc -vV | sed -n 's/^host: //p')
pyenv_root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
log() { printf 'dist/build.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- One version, from Cargo.toml, checked against the other places that spell it.
version=$(sed -n '/^\[package\]/,/^\[/s/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -1)
[[ -n $version ]] || die "no version in Cargo.toml"
for f in launcher/Cargo.toml python_shim/pyproject.toml; do
  v=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$f" | head -1)
  [[ $v == "$version" ]] || die "$f says version $v, Cargo.toml $version"
done
v=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' python_shim/dbtest/__init__.py)
[[ $v == "$version" ]] || die "python_shim/dbtest/__init__.py says version $v, Cargo.toml $version"

# --- The interpreters: "minor version<TAB>full version<TAB>real path", or why not usable.
probe() {
  "$1" -I -S -c '
import os, sys, sysconfig
v = sysconfig.get_config_var
if sys.implementation.name != "cpython" or v("Py_GIL_DISABLED"):
    sys.exit("not a regular CPython build")
if sys.version_info < (3, 10):
    sys.exit("Python %d.%d is older than 3.10" % sys.version_info[:2])
if not v("Py_ENABLE_SHARED"):
    sys.exit("built without a shared libpython (--enable-shared)")
print("%d.%d\t%s\t%s" % (sys.version_info[0], sys.version_info[1], sys.version.split()[0],
                         os.path.realpath(sys.executable)))
' 2>&1
}

declare -A by_minor=() full=()
minors=()
add() { # add PYTHON EXPLICIT
  local line minor
  if ! line=$(probe "$1") || [[ $line != *$'\t'* ]]; then
    [[ $2 == 1 ]] && die "$1: ${line:-cannot run it}"
    return 0
  fi
  IFS=$'\t' read -r minor ver real <<<"$line"
  if [[ -n ${by_minor[$minor]:-} ]]; then
    [[ $2 == 1 && ${by_minor[$minor]} != "$real" ]] &&
      die "two interpreters of Python $minor given: ${by_minor[$minor]} and $real"
    return 0
  fi
  by_minor[$minor]=$real
  full[$minor]=$ver
  minors+=("$minor")
}

if (($# > 0)); then
  for p in "$@"; do
    if [[ $p != */* ]]; then
      p=$(command -v "$p") || die "no $p on PATH"
    fi
    add "$p" 1
  done
else
  for n in python3 python3.1{0..9}; do
    if p=$(command -v "$n"); then add "$p" 0; fi
  done
  for p in "$pyenv_root"/versions/*/bin/python3; do
    if [[ -x $p ]]; then add "$p" 0; fi
  done
fi
((${#minors[@]} > 0)) || die "no CPython >= 3.10 with a shared libpython found; pass interpreters: dist/build.sh /path/to/python3.12 ..."
mapfile -t minors < <(printf '%s\n' "${minors[@]}" | sort -t. -k1,1n -k2,2n)
for m in "${minors[@]}"; do log "Python $m: ${by_minor[$m]} (${full[$m]})"; done

# --- Engines (no rpath: the launcher points the loader at the project Python's libpython).
build_engine() { # build_engine MINOR TARGET_DIR
  local m=$1 dir=$2 logf="$out/logs/engine-py$1.log"
  log "building the engine for Python $m (log: $logf)"
  if ! DBTEST_NO_RPATH=1 PYO3_PYTHON=${by_minor[$m]} CARGO_TARGET_DIR=$dir \
    cargo build --release --locked -p dbtest >"$logf" 2>&1; then
    tail -30 "$logf" >&2
    die "the engine for Python $m failed to build (log: $logf)"
  fi
  mkdir -p "$out/engines/py$m"
  cp "$dir/release/dbtest" "$out/engines/py$m/dbtest"
}

rm -rf "$out/engines" "$out/logs"
mkdir -p "$out/logs"
start=$SECONDS
if ((parallel <= 1)); then
  for m in "${minors[@]}"; do build_engine "$m" "$target_base/engine"; done
else
  pids=()
  for m in "${minors[@]}"; do
    while (($(jobs -rp | wc -l) >= parallel)); do wait -n || die "an engine build failed"; done
    build_engine "$m" "$target_base/py$m" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || die "an engine build failed"; done
fi
log "launcher"
cargo build --release --locked -p dbtest-launcher --target-dir "$target_base/engine" \
  >"$out/logs/launcher.log" 2>&1 || { tail -30 "$out/logs/launcher.log" >&2; die "the launcher failed to build"; }
log "built in $((SECONDS - start)) s"

# --- The archive's tree.
name=dbtest-$version-$triple
stage=$out/$name
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/lib/dbtest/engines" "$stage/lib/dbtest/python_shim/dbtest"
install -m 755 "$target_base/engine/release/dbtest-launcher" "$stage/bin/dbtest"
for m in "${minors[@]}"; do
  install -D -m 755 "$out/engines/py$m/dbtest" "$stage/lib/dbtest/engines/py$m/dbtest"
done
install -m 644 python_shim/dbtest/__init__.py python_shim/dbtest/py.typed \
  "$stage/lib/dbtest/python_shim/dbtest/"
install -m 644 LICENSE "$stage/LICENSE"
install -m 644 dist/README.md "$stage/README.md"

# No build-machine path may reach a user's machine.
for f in "$stage/bin/dbtest" "$stage"/lib/dbtest/engines/*/dbtest; do
  if readelf -d "$f" | grep -E 'R(UN)?PATH' | grep -v '\$ORIGIN' | grep -q .; then
    die "$f has an absolute RPATH/RUNPATH: $(readelf -d "$f" | grep -E 'R(UN)?PATH')"
  fi
done
# The newest glibc symbol version any binary needs: the wheel's manylinux tag, and what
# dist/README.md tells users.
glibc=$(for f in "$stage/bin/dbtest" "$stage"/lib/dbtest/engines/*/dbtest; do
  objdump -T "$f" | grep -o 'GLIBC_[0-9][0-9.]*'
done | sed 's/GLIBC_//' | sort -V | tail -1)
log "binaries need glibc >= $glibc"

tarball=$out/$name.tar.gz
tar -C "$out" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -czf "$tarball" "$name"
(cd "$out" && sha256sum "$name.tar.gz" >"$name.tar.gz.sha256")

# --- The wheel: the same tree, bin/dbtest as a script on the virtualenv's PATH.
py=${by_minor[${minors[0]}]}
wheel=$("$py" dist/wheel.py --stage "$stage" --out "$out" --version "$version" \
  --glibc "$glibc" --minors "${minors[*]}")
rm -rf "$out/engines"
log "done:"
printf '%s\n' "$tarball" "$tarball.sha256" "$wheel"
