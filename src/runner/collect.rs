//! What counts as a test file, a test class and a test function, as pytest's configuration
//! (`python_files`, `python_classes`, `python_functions`) says; the asyncio mode; folders not
//! to enter. Plain data resolved from the project's files, shared by discovery, the static
//! scan and (through the worker configuration) the Python side.
use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Serialize};

/// pytest's naming options as the project gives them (defaults: pytest's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collection {
    /// `python_files`: glob patterns for test file names; empty for dbtest's own
    /// (`test_*.py`, `*_test.py`), which are pytest's defaults too.
    pub python_files: Vec<String>,
    /// `python_classes`: name prefixes or globs of pytest-style test classes.
    pub python_classes: Vec<String>,
    /// `python_functions`: name prefixes or globs of pytest-style test functions and methods.
    pub python_functions: Vec<String>,
    /// pytest-asyncio's `asyncio_mode`: `strict` or `auto`.
    pub asyncio_mode: String,
    /// `norecursedirs`: folder-name globs not entered, besides dbtest's own.
    pub norecursedirs: Vec<String>,
    /// `markers`: the registered mark names.
    pub markers: Vec<String>,
}

impl Default for Collection {
    fn default() -> Self {
        Collection {
            python_files: Vec::new(),
            python_classes: vec!["Test".into()],
            python_functions: vec!["test".into()],
            asyncio_mode: "strict".into(),
            norecursedirs: Vec::new(),
            markers: Vec::new(),
        }
    }
}

fn has_glob(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

/// fnmatch-style: `*` matches any text, `/` included, as Python's `fnmatch` does.
fn glob(p: &str) -> Option<GlobMatcher> {
    Glob::new(p).ok().map(|g| g.compile_matcher())
}

/// A name matched as pytest's `python_classes`/`python_functions` match (`startswith` for a
/// plain prefix, `fnmatch` for a pattern with glob characters).
#[derive(Debug, Clone)]
pub struct NameRule {
    prefixes: Vec<String>,
    globs: Vec<GlobMatcher>,
}

impl NameRule {
    pub fn new(patterns: &[String]) -> NameRule {
        let mut rule = NameRule {
            prefixes: Vec::new(),
            globs: Vec::new(),
        };
        for p in patterns {
            if has_glob(p) {
                rule.globs.extend(glob(p));
            }
            // pytest tries the prefix too, whatever the pattern holds.
            rule.prefixes.push(p.clone());
        }
        rule
    }

    pub fn matches(&self, name: &str) -> bool {
        self.prefixes.iter().any(|p| name.starts_with(p.as_str()))
            || self.globs.iter().any(|g| g.is_match(name))
    }
}

/// The file and folder rules of a run, compiled once.
#[derive(Debug, Clone)]
pub struct FileRule {
    files: Vec<(bool, GlobMatcher)>,
    skip_dirs: Vec<(bool, GlobMatcher)>,
}

/// pytest's `fnmatch_ex`: a pattern with a separator matches the whole path (anywhere below
/// the root: `*/` is put before a relative one), any other the file or folder name.
fn path_globs(patterns: &[String]) -> Vec<(bool, GlobMatcher)> {
    patterns
        .iter()
        .filter_map(|p| {
            let whole = p.contains('/');
            let p = if whole && !p.starts_with('/') {
                format!("*/{p}")
            } else {
                p.clone()
            };
            glob(&p).map(|g| (whole, g))
        })
        .collect()
}

fn any_match(globs: &[(bool, GlobMatcher)], name: &str, path: &std::path::Path) -> bool {
    let full = path.to_string_lossy();
    globs.iter().any(|(whole, g)| {
        if *whole {
            g.is_match(full.as_ref())
        } else {
            g.is_match(name)
        }
    })
}

impl FileRule {
    pub fn new(c: &Collection) -> FileRule {
        FileRule {
            files: path_globs(&c.python_files),
            skip_dirs: path_globs(&c.norecursedirs),
        }
    }

    /// Whether the configuration names test files (else dbtest's own names apply).
    pub fn configured(&self) -> bool {
        !self.files.is_empty()
    }

    /// Whether `path` (its name `name`) is a test file by `python_files`.
    pub fn is_test_file(&self, name: &str, path: &std::path::Path) -> bool {
        any_match(&self.files, name, path)
    }

    /// Whether the folder `path` (its name `name`) is left out by `norecursedirs`
    /// (`tests/mypy_test_cases` matches that folder only; `build*` any folder so named).
    pub fn skips_dir(&self, name: &str, path: &std::path::Path) -> bool {
        any_match(&self.skip_dirs, name, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn names_match_as_prefixes_or_globs() {
        let r = NameRule::new(&["Test".into(), "*Suite".into()]);
        assert!(r.matches("TestA") && r.matches("UserSuite") && !r.matches("Helper"));
        let r = NameRule::new(&["check".into()]);
        assert!(r.matches("check_x") && !r.matches("test_x"));
        let r = NameRule::new(&["*_spec".into()]);
        assert!(r.matches("login_spec") && !r.matches("spec_login"));
    }

    #[test]
    fn files_match_by_name_or_by_path() {
        let c = Collection {
            python_files: vec!["check_*.py".into(), "unit/*_t.py".into()],
            norecursedirs: vec!["fixtures*".into(), "tests/mypy_cases".into()],
            ..Collection::default()
        };
        let r = FileRule::new(&c);
        assert!(r.configured());
        assert!(r.is_test_file("check_a.py", Path::new("/p/t/check_a.py")));
        assert!(!r.is_test_file("test_a.py", Path::new("/p/t/test_a.py")));
        assert!(r.is_test_file("x_t.py", Path::new("/p/unit/x_t.py")));
        assert!(!r.is_test_file("x_t.py", Path::new("/p/other/x_t.py")));
        assert!(r.skips_dir("fixtures_data", Path::new("/p/fixtures_data")));
        assert!(!r.skips_dir("data", Path::new("/p/data")));
        assert!(r.skips_dir("mypy_cases", Path::new("/p/tests/mypy_cases")));
        assert!(!r.skips_dir("mypy_cases", Path::new("/p/src/mypy_cases")));
        assert!(!FileRule::new(&Collection::default()).configured());
    }
}
