//! Finding test and benchmark files on disk, before any Python starts.
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::error::UserError;
use crate::runner::collect::FileRule;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Test,
    Bench,
}

#[derive(Debug, Clone)]
pub struct Discovered {
    pub path: PathBuf,
    /// Relative to the project root, `/`-separated; the path as given if outside the root.
    pub rel: String,
    pub kind: FileKind,
}

const SKIPPED_DIRS: &[&str] = &[
    "__pycache__",
    "node_modules",
    "build",
    "dist",
    "target",
    "site-packages",
];

pub fn classify(name: &str) -> Option<FileKind> {
    let stem = name.strip_suffix(".py")?;
    if stem.starts_with("test_") || stem.ends_with("_test") {
        Some(FileKind::Test)
    } else if stem.starts_with("bench_") {
        Some(FileKind::Bench)
    } else {
        None
    }
}

/// A file's kind under the project's `python_files` (when set, they name the test files
/// instead of `test_*.py`/`*_test.py`); `conftest.py` is never a test file.
pub fn kind_of(name: &str, path: &Path, rule: &FileRule) -> Option<FileKind> {
    if name == "conftest.py" || !name.ends_with(".py") {
        return None;
    }
    match classify(name) {
        Some(FileKind::Bench) => Some(FileKind::Bench),
        _ if rule.configured() => rule.is_test_file(name, path).then_some(FileKind::Test),
        found => found,
    }
}

fn skipped_dir(path: &Path, rule: &FileRule) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    (name.starts_with('.') && name != "." && name != "..")
        || SKIPPED_DIRS.contains(&name)
        || rule.skips_dir(name, path)
        // A virtualenv, whatever its name.
        || path.join("pyvenv.cfg").is_file()
}

pub fn relative(path: &Path, root: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Walk `paths` (files or folders; relative ones are taken from `cwd`) and return the test and
/// benchmark files, sorted by path within each given path, each file once.
pub fn discover(
    paths: &[PathBuf],
    cwd: &Path,
    root: &Path,
    rule: &FileRule,
) -> Result<Vec<Discovered>, UserError> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for given in paths {
        let abs = if given.is_absolute() {
            given.clone()
        } else {
            cwd.join(given)
        };
        if !abs.exists() {
            return Err(UserError::PathNotFound {
                path: given.clone(),
                cwd: cwd.to_path_buf(),
            });
        }
        if abs.is_file() {
            // An explicitly named file runs even if its name does not follow the conventions.
            let name = abs
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            let kind = classify(&name).unwrap_or(FileKind::Test);
            push(&mut out, &mut seen, abs, root, kind);
            continue;
        }
        // Symlinks are followed, and walkdir reports (rather than enters) loops.
        let walker = WalkDir::new(&abs)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                e.depth() == 0 || !e.file_type().is_dir() || !skipped_dir(e.path(), rule)
            });
        for entry in walker {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    warn_unreadable(&e, rule);
                    continue;
                }
            };
            if !entry.file_type().is_file() {
                continue;
            }
            // Names need not be UTF-8: such a file runs too, under its name as shown.
            let name = entry.file_name().to_string_lossy();
            let Some(kind) = kind_of(&name, entry.path(), rule) else {
                continue;
            };
            push(&mut out, &mut seen, entry.into_path(), root, kind);
        }
    }
    Ok(out)
}

/// A folder that cannot be read, or a test file that cannot be (a dangling link): said on
/// stderr rather than skipped without a word. Link loops are skipped quietly, as before.
fn warn_unreadable(e: &walkdir::Error, rule: &FileRule) {
    if e.loop_ancestor().is_some() {
        return;
    }
    let Some(path) = e.path() else { return };
    let denied = e
        .io_error()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::PermissionDenied);
    let test_like = path
        .file_name()
        .is_some_and(|n| kind_of(&n.to_string_lossy(), path, rule).is_some());
    if denied || test_like {
        let why = e
            .io_error()
            .map_or_else(|| e.to_string(), ToString::to_string);
        eprintln!(
            "dbtest: warning: cannot read {} ({why}); tests in it are not run",
            path.display()
        );
    }
}

fn push(
    out: &mut Vec<Discovered>,
    seen: &mut HashSet<PathBuf>,
    path: PathBuf,
    root: &Path,
    kind: FileKind,
) {
    // Lexical, not canonical: resolving every file's links costs a syscall per component.
    let key: PathBuf = path
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect();
    if seen.insert(key) {
        let rel = relative(&path, root);
        out.push(Discovered { path, rel, kind });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::collect::Collection;
    use std::fs;

    fn rule() -> FileRule {
        FileRule::new(&Collection::default())
    }

    #[test]
    fn classifies_names() {
        assert_eq!(classify("test_x.py"), Some(FileKind::Test));
        assert_eq!(classify("x_test.py"), Some(FileKind::Test));
        assert_eq!(classify("bench_x.py"), Some(FileKind::Bench));
        assert_eq!(classify("helpers.py"), None);
        assert_eq!(classify("test_x.pyc"), None);
    }

    #[test]
    fn walks_skips_and_survives_loops() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "tests/test_a.py",
            "tests/sub/b_test.py",
            "tests/bench_c.py",
            "tests/helpers.py",
            "tests/.hidden/test_h.py",
            "tests/__pycache__/test_p.py",
            "tests/node_modules/test_n.py",
            "tests/venv/test_v.py",
        ] {
            let p = root.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, "").unwrap();
        }
        fs::write(root.join("tests/venv/pyvenv.cfg"), "version = 3.11.7\n").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("tests"), root.join("tests/sub/loop")).unwrap();
        let found = discover(&[PathBuf::from("tests")], root, root, &rule()).unwrap();
        let rels: Vec<_> = found.iter().map(|d| d.rel.as_str()).collect();
        assert_eq!(
            rels,
            vec!["tests/bench_c.py", "tests/sub/b_test.py", "tests/test_a.py"]
        );
        assert_eq!(found[0].kind, FileKind::Bench);
    }

    #[test]
    fn python_files_replace_the_test_names_and_norecursedirs_add_folders() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for f in [
            "t/check_a.py",
            "t/test_b.py",
            "t/bench_c.py",
            "t/conftest.py",
            "t/data/check_d.py",
        ] {
            let p = root.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(&p, "").unwrap();
        }
        let c = Collection {
            python_files: vec!["check_*.py".into(), "*.py".into()],
            norecursedirs: vec!["da*".into()],
            ..Collection::default()
        };
        let found = discover(&[PathBuf::from("t")], root, root, &FileRule::new(&c)).unwrap();
        let rels: Vec<_> = found.iter().map(|d| (d.rel.as_str(), d.kind)).collect();
        assert_eq!(
            rels,
            vec![
                ("t/bench_c.py", FileKind::Bench),
                ("t/check_a.py", FileKind::Test),
                ("t/test_b.py", FileKind::Test),
            ],
            "conftest.py never, bench_*.py stays a benchmark, data/ is not entered"
        );
        let c = Collection {
            python_files: vec!["check_*.py".into()],
            ..Collection::default()
        };
        let found = discover(&[PathBuf::from("t")], root, root, &FileRule::new(&c)).unwrap();
        let rels: Vec<_> = found.iter().map(|d| d.rel.as_str()).collect();
        assert_eq!(
            rels,
            vec!["t/bench_c.py", "t/check_a.py", "t/data/check_d.py"]
        );
    }

    #[test]
    fn missing_path_is_a_user_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = discover(&[PathBuf::from("nope")], dir.path(), dir.path(), &rule()).unwrap_err();
        assert!(err.to_string().contains("path not found: nope"));
    }
}
