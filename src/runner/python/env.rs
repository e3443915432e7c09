//! The embedded Python's version and where the embedded shim is written (the virtualenv to
//! use is found in `runner::venv`, before the interpreter starts).
use std::ffi::CStr;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// `3.11`: the Python this binary was built for (and links).
pub const EMBEDDED_MINOR: &str = env!("DBTEST_PYTHON_MINOR");

/// The shim's modules, compiled into the binary so `import dbtest` needs nothing installed:
/// (file name in the `dbtest` package, source).
const SHIM_FILES: &[(&str, &str)] = &[
    (
        "__init__.py",
        include_str!("../../../python_shim/dbtest/__init__.py"),
    ),
    (
        "_compat.py",
        include_str!("../../../python_shim/dbtest/_compat.py"),
    ),
    (
        "_builtin_fixtures.py",
        include_str!("../../../python_shim/dbtest/_builtin_fixtures.py"),
    ),
    (
        "_fixtures.py",
        include_str!("../../../python_shim/dbtest/_fixtures.py"),
    ),
    (
        "_loop.py",
        include_str!("../../../python_shim/dbtest/_loop.py"),
    ),
    ("py.typed", ""),
];

/// The embedded Python's full version, read without starting the interpreter (cheap enough
/// for `--version`).
pub fn embedded_version() -> String {
    // SAFETY: Py_GetVersion is documented as safe to call before Python is initialized and
    // returns a pointer to a static NUL-terminated string.
    let raw = unsafe { CStr::from_ptr(pyo3::ffi::Py_GetVersion()) };
    raw.to_string_lossy()
        .split_whitespace()
        .next()
        .unwrap_or(EMBEDDED_MINOR)
        .to_string()
}

fn fnv1a(data: &str) -> u64 {
    data.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// Write the shim where Python can import it from a real file (so tracebacks and
/// `inspect.getsource` work and its bytecode is cached), once per shim version.
pub fn install_shim() -> anyhow::Result<PathBuf> {
    // The XDG spec: a relative XDG_CACHE_HOME is invalid and ignored (it would put a cache
    // folder inside whatever folder dbtest runs in).
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    let all: String = SHIM_FILES
        .iter()
        .flat_map(|(name, src)| [*name, "\0", *src, "\0"])
        .collect();
    let tag = format!("shim-{}-{:016x}", env!("CARGO_PKG_VERSION"), fnv1a(&all));
    let mut last_err = None;
    for dir in [
        base.join("dbtest").join(&tag),
        std::env::temp_dir().join("dbtest").join(tag),
    ] {
        match write_shim(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) => last_err = Some(e),
        }
    }
    Err(last_err.unwrap_or_else(|| anyhow::anyhow!("no folder to write the shim to")))
}

fn write_shim(dir: &Path) -> anyhow::Result<()> {
    let pkg = dir.join("dbtest");
    let unchanged =
        |name: &str, src: &str| std::fs::read_to_string(pkg.join(name)).is_ok_and(|s| s == src);
    if SHIM_FILES.iter().all(|(name, src)| unchanged(name, src)) {
        return Ok(());
    }
    std::fs::create_dir_all(&pkg).with_context(|| format!("creating {}", pkg.display()))?;
    // `__init__.py` last: a folder whose `__init__.py` is complete has all its modules.
    for (name, src) in SHIM_FILES.iter().rev() {
        if unchanged(name, src) {
            continue;
        }
        // Write then rename, so concurrent dbtest runs never import a half-written file.
        let tmp = pkg.join(format!("{name}.{}", std::process::id()));
        std::fs::write(&tmp, src).with_context(|| format!("writing {}", tmp.display()))?;
        let dest = pkg.join(name);
        std::fs::rename(&tmp, &dest).with_context(|| format!("writing {}", dest.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shim_is_written_once() {
        let d = tempfile::tempdir().unwrap();
        write_shim(d.path()).unwrap();
        for (name, src) in SHIM_FILES {
            let file = d.path().join("dbtest").join(name);
            assert_eq!(std::fs::read_to_string(&file).unwrap(), *src);
        }
        write_shim(d.path()).unwrap();
    }
}
