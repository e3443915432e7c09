//! The environment user code runs in: the virtualenv to use (checked against the embedded
//! Python before the interpreter starts) and where the embedded shim is written.
use std::ffi::CStr;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::error::UserError;

/// The shim's source, compiled into the binary so `import dbtest` needs nothing installed.
const SHIM_SOURCE: &str = include_str!("../../../python_shim/dbtest/__init__.py");

/// `3.11`: the Python this binary was built for (and links).
pub const EMBEDDED_MINOR: &str = env!("DBTEST_PYTHON_MINOR");

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

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Venv {
    pub dir: PathBuf,
    pub site_packages: PathBuf,
    /// The venv's interpreter, for `sys.executable` (subprocesses of tests).
    pub python: Option<PathBuf>,
}

fn cfg_version(cfg: &str) -> Option<String> {
    let mut version = None;
    for line in cfg.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        match k.trim() {
            // uv writes version_info, venv writes version; either gives major.minor.
            "version_info" | "version" => version = Some(v.trim().to_string()),
            _ => {}
        }
    }
    version
}

fn minor_of(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// The virtualenv to use: `VIRTUAL_ENV` if set, else `.venv` in the current folder or the
/// project root. A venv of another Python version is an error naming both versions.
pub fn find_venv(
    virtual_env: Option<PathBuf>,
    cwd: &Path,
    root: &Path,
) -> Result<Option<Venv>, UserError> {
    let explicit = virtual_env.is_some();
    let candidates: Vec<PathBuf> = match virtual_env {
        Some(v) => vec![if v.is_absolute() { v } else { cwd.join(v) }],
        None => vec![cwd.join(".venv"), root.join(".venv")],
    };
    for dir in candidates {
        let cfg = match std::fs::read_to_string(dir.join("pyvenv.cfg")) {
            Ok(c) => c,
            Err(_) if explicit => return Err(UserError::NotAVenv(dir)),
            Err(_) => continue,
        };
        let version = cfg_version(&cfg).unwrap_or_default();
        let minor = minor_of(&version);
        if !minor.is_empty() && minor != EMBEDDED_MINOR {
            return Err(UserError::VenvMismatch {
                venv: dir,
                venv_version: version,
                embedded: embedded_version(),
            });
        }
        let site_packages = dir
            .join("lib")
            .join(format!("python{EMBEDDED_MINOR}"))
            .join("site-packages");
        let python = ["python", "python3"]
            .iter()
            .map(|n| dir.join("bin").join(n))
            .find(|p| p.exists());
        return Ok(Some(Venv {
            dir,
            site_packages,
            python,
        }));
    }
    Ok(None)
}

fn fnv1a(data: &str) -> u64 {
    data.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// Write the shim where Python can import it from a real file (so tracebacks and
/// `inspect.getsource` work and its bytecode is cached), once per shim version.
pub fn install_shim() -> anyhow::Result<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    let tag = format!(
        "shim-{}-{:016x}",
        env!("CARGO_PKG_VERSION"),
        fnv1a(SHIM_SOURCE)
    );
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
    let init = pkg.join("__init__.py");
    if std::fs::read_to_string(&init).is_ok_and(|s| s == SHIM_SOURCE) {
        return Ok(());
    }
    std::fs::create_dir_all(&pkg).with_context(|| format!("creating {}", pkg.display()))?;
    // Write then rename, so concurrent dbtest runs never import a half-written file.
    let tmp = pkg.join(format!("__init__.py.{}", std::process::id()));
    std::fs::write(&tmp, SHIM_SOURCE).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::write(pkg.join("py.typed"), "")
        .with_context(|| format!("writing into {}", pkg.display()))?;
    std::fs::rename(&tmp, &init).with_context(|| format!("writing {}", init.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn venv(dir: &Path, version_line: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("pyvenv.cfg"),
            format!("home = /usr/bin\n{version_line}\n"),
        )
        .unwrap();
    }

    #[test]
    fn reads_venv_and_uv_versions() {
        assert_eq!(
            cfg_version("home = x\nversion = 3.11.7\n").as_deref(),
            Some("3.11.7")
        );
        assert_eq!(
            cfg_version("version_info = 3.12.1.final.0\n").as_deref(),
            Some("3.12.1.final.0")
        );
        assert_eq!(minor_of("3.12.1.final.0"), "3.12");
    }

    #[test]
    fn finds_matching_venv_and_rejects_other_versions() {
        let d = tempfile::tempdir().unwrap();
        venv(
            &d.path().join(".venv"),
            &format!("version = {EMBEDDED_MINOR}.0"),
        );
        let found = find_venv(None, d.path(), d.path()).unwrap().unwrap();
        assert!(
            found
                .site_packages
                .ends_with(format!("lib/python{EMBEDDED_MINOR}/site-packages"))
        );

        let other = d.path().join("old");
        venv(&other, "version = 2.7.18");
        let err = find_venv(Some(other.clone()), d.path(), d.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Python 2.7.18") && err.contains(EMBEDDED_MINOR),
            "{err}"
        );
        assert!(err.contains("PYO3_PYTHON="), "{err}");
    }

    #[test]
    fn explicit_venv_must_exist() {
        let d = tempfile::tempdir().unwrap();
        let err = find_venv(Some(d.path().join("nope")), d.path(), d.path()).unwrap_err();
        assert!(matches!(err, UserError::NotAVenv(_)));
        assert!(find_venv(None, d.path(), d.path()).unwrap().is_none());
    }

    #[test]
    fn shim_is_written_once() {
        let d = tempfile::tempdir().unwrap();
        write_shim(d.path()).unwrap();
        let init = d.path().join("dbtest/__init__.py");
        assert_eq!(std::fs::read_to_string(&init).unwrap(), SHIM_SOURCE);
        write_shim(d.path()).unwrap();
    }
}
