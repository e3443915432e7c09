//! The virtualenv user code runs with: found and checked against the embedded Python
//! before any interpreter starts (settings resolve it; workers receive it).
use std::path::{Path, PathBuf};

use crate::error::UserError;
use crate::runner::python::env::{EMBEDDED_MINOR, embedded_version};

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
}
