//! Which tests a run selects: `--pattern`, `--tags`, `--exclude-tags` and the mode. The same
//! rules apply before import (to the static scan, deciding which files to import at all) and
//! after it (to the tests the import really defined).
use std::collections::HashSet;
use std::sync::Arc;

use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Serialize};

use crate::error::UserError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// Tests, then benchmarks.
    All,
    /// Tests not tagged `integration` and not under a folder named `integration`.
    Unit,
    Integration,
    Bench,
}

#[derive(Debug, Clone)]
enum Pattern {
    /// A pattern without glob characters matches as a substring, as `pytest -k word` users expect.
    Substring(String),
    Glob(GlobMatcher),
}

/// A filter as given on the command line: what worker processes are told.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FilterSpec {
    pub pattern: Option<String>,
    pub tags: Vec<String>,
    pub exclude_tags: Vec<String>,
    pub mode: Mode,
    /// `--lf` and retry passes: only these ids (a file's path selects all of its tests).
    #[serde(default)]
    pub ids: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct Filter {
    pub spec: FilterSpec,
    pattern: Option<Pattern>,
    tags: Vec<String>,
    exclude_tags: Vec<String>,
    pub mode: Mode,
    /// `spec.ids` as a set, and the files they name.
    ids: Option<Arc<Ids>>,
}

#[derive(Debug, Default)]
struct Ids {
    ids: HashSet<String>,
    files: HashSet<String>,
}

impl Ids {
    fn new(ids: &[String]) -> Ids {
        Ids {
            ids: ids.iter().cloned().collect(),
            files: ids
                .iter()
                .map(|id| id.split("::").next().unwrap_or(id).to_string())
                .collect(),
        }
    }
}

/// What the filter says of a test whose tags the static scan could not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Yes,
    No,
    /// Depends on tags known only after import.
    Maybe,
}

const INTEGRATION: &str = "integration";

impl Filter {
    pub fn new(
        pattern: Option<&str>,
        tags: Vec<String>,
        exclude_tags: Vec<String>,
        mode: Mode,
    ) -> Result<Self, UserError> {
        let clean = |v: Vec<String>| {
            v.into_iter()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect()
        };
        Self::from_spec(FilterSpec {
            pattern: pattern.map(str::to_string),
            tags: clean(tags),
            exclude_tags: clean(exclude_tags),
            mode,
            ids: None,
        })
    }

    /// The same filter, further narrowed to `ids` (test ids, or file paths for whole files).
    pub fn only(mut self, ids: Vec<String>) -> Filter {
        self.ids = Some(Arc::new(Ids::new(&ids)));
        self.spec.ids = Some(ids);
        self
    }

    pub fn from_spec(spec: FilterSpec) -> Result<Self, UserError> {
        let pattern = match spec.pattern.as_deref() {
            None => None,
            Some(p) if !p.contains(['*', '?', '[', '{']) => Some(Pattern::Substring(p.to_string())),
            Some(p) => {
                let glob = Glob::new(p).map_err(|e| UserError::BadPattern {
                    pattern: p.to_string(),
                    reason: e.kind().to_string(),
                })?;
                Some(Pattern::Glob(glob.compile_matcher()))
            }
        };
        Ok(Filter {
            pattern,
            tags: spec.tags.clone(),
            exclude_tags: spec.exclude_tags.clone(),
            mode: spec.mode,
            ids: spec.ids.as_deref().map(|ids| Arc::new(Ids::new(ids))),
            spec,
        })
    }

    /// Whether anything narrows the run beyond the mode.
    pub fn is_active(&self) -> bool {
        self.pattern.is_some()
            || !self.tags.is_empty()
            || !self.exclude_tags.is_empty()
            || self.ids.is_some()
    }

    /// Whether an `--lf` or retry restriction rules out the file `rel_path` as a whole.
    fn ids_rule_out_file(&self, rel_path: &str) -> bool {
        self.ids
            .as_ref()
            .is_some_and(|i| !i.files.contains(rel_path))
    }

    fn matches(&self, text: &str) -> bool {
        match &self.pattern {
            None => true,
            Some(Pattern::Substring(s)) => text.contains(s.as_str()),
            Some(Pattern::Glob(g)) => g.is_match(text),
        }
    }

    fn in_integration_folder(rel_path: &str) -> bool {
        let mut parts: Vec<&str> = rel_path.split('/').collect();
        parts.pop();
        parts.contains(&INTEGRATION)
    }

    /// Whether a test runs; `tags` is None when not known yet.
    pub fn decide(&self, rel_path: &str, id: &str, tags: Option<&[String]>) -> Decision {
        if let Some(i) = &self.ids {
            if !i.ids.contains(id) && !i.ids.contains(rel_path) {
                return Decision::No;
            }
        }
        if self.pattern.is_some() && !self.matches(rel_path) && !self.matches(id) {
            return Decision::No;
        }
        let Some(tags) = tags else {
            let needs_tags = !self.tags.is_empty()
                || !self.exclude_tags.is_empty()
                || matches!(self.mode, Mode::Unit | Mode::Integration);
            return if needs_tags {
                Decision::Maybe
            } else {
                Decision::Yes
            };
        };
        let has = |t: &str| tags.iter().any(|x| x == t);
        if !self.tags.is_empty() && !self.tags.iter().any(|t| has(t)) {
            return Decision::No;
        }
        if self.exclude_tags.iter().any(|t| has(t)) {
            return Decision::No;
        }
        let integration = has(INTEGRATION) || Self::in_integration_folder(rel_path);
        match self.mode {
            Mode::Unit if integration => Decision::No,
            Mode::Integration if !integration => Decision::No,
            _ => Decision::Yes,
        }
    }

    pub fn selects(&self, rel_path: &str, id: &str, tags: &[String]) -> bool {
        self.decide(rel_path, id, Some(tags)) == Decision::Yes
    }

    /// Whether a file whose tests only its import can tell may have a test this filter
    /// selects: only the mode can rule out a whole file without knowing its tests' ids or tags.
    pub fn may_select_undecidable_file(&self, rel_path: &str) -> bool {
        if self.ids_rule_out_file(rel_path) {
            return false;
        }
        !(self.mode == Mode::Unit && Self::in_integration_folder(rel_path))
    }

    /// Whether a file in which the static scan found no tests (it may fail to import, or define
    /// tests dynamically) is still worth importing: only when no filter asks for something
    /// such a file cannot be shown to have.
    pub fn selects_opaque_file(&self, rel_path: &str) -> bool {
        if self.ids_rule_out_file(rel_path) {
            return false;
        }
        if self.pattern.is_some() && !self.matches(rel_path) {
            return false;
        }
        match self.mode {
            Mode::Integration => Self::in_integration_folder(rel_path) && self.tags.is_empty(),
            Mode::Unit => !Self::in_integration_folder(rel_path) && self.tags.is_empty(),
            _ => self.tags.is_empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(pattern: Option<&str>, tags: &[&str], exclude: &[&str], mode: Mode) -> Filter {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect();
        Filter::new(pattern, v(tags), v(exclude), mode).unwrap()
    }

    #[test]
    fn substring_and_glob_patterns() {
        let sub = f(Some("sums"), &[], &[], Mode::All);
        assert!(sub.selects("tests/test_ok.py", "tests/test_ok.py::Healthy::sums", &[]));
        assert!(!sub.selects("tests/test_ok.py", "tests/test_ok.py::Healthy::awaits", &[]));
        let glob = f(Some("tests/nested/*"), &[], &[], Mode::All);
        assert!(glob.selects("tests/nested/a/test_same_name.py", "x", &[]));
        assert!(!glob.selects("tests/test_ok.py", "tests/test_ok.py::t", &[]));
        assert!(Filter::new(Some("[unclosed"), vec![], vec![], Mode::All).is_err());
    }

    #[test]
    fn tags_and_modes() {
        let t = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let unit = f(None, &[], &[], Mode::Unit);
        assert!(unit.selects("tests/test_a.py", "id", &t(&["fast"])));
        assert!(!unit.selects("tests/test_a.py", "id", &t(&["integration"])));
        assert!(!unit.selects("tests/integration/test_a.py", "id", &[]));
        let integ = f(None, &[], &[], Mode::Integration);
        assert!(integ.selects("tests/integration/test_a.py", "id", &[]));
        assert!(!integ.selects("tests/test_integration.py", "id", &[]));
        let tagged = f(None, &["db", "net"], &["slow"], Mode::All);
        assert!(tagged.selects("a.py", "id", &t(&["net"])));
        assert!(!tagged.selects("a.py", "id", &t(&["net", "slow"])));
        assert!(!tagged.selects("a.py", "id", &[]));
        assert_eq!(tagged.decide("a.py", "id", None), Decision::Maybe);
        assert_eq!(
            f(None, &[], &[], Mode::All).decide("a.py", "id", None),
            Decision::Yes
        );
    }

    #[test]
    fn opaque_files() {
        assert!(f(None, &[], &[], Mode::All).selects_opaque_file("tests/test_broken.py"));
        assert!(!f(None, &["db"], &[], Mode::All).selects_opaque_file("tests/test_broken.py"));
        assert!(f(None, &[], &[], Mode::Unit).selects_opaque_file("tests/test_broken.py"));
        assert!(!f(None, &[], &[], Mode::Integration).selects_opaque_file("tests/test_broken.py"));
        assert!(!f(Some("other"), &[], &[], Mode::All).selects_opaque_file("tests/test_broken.py"));
    }

    #[test]
    fn undecidable_files() {
        let any = f(Some("nothing"), &["db"], &["slow"], Mode::All);
        assert!(any.may_select_undecidable_file("tests/integration/test_a.py"));
        let unit = f(None, &[], &[], Mode::Unit);
        assert!(unit.may_select_undecidable_file("tests/unit/test_a.py"));
        assert!(!unit.may_select_undecidable_file("tests/integration/test_a.py"));
        let integ = f(None, &[], &[], Mode::Integration);
        // Tests tagged `integration` may be anywhere.
        assert!(integ.may_select_undecidable_file("tests/unit/test_a.py"));
    }

    #[test]
    fn ids_narrow_to_those_tests_or_whole_files() {
        let only = f(None, &[], &[], Mode::All)
            .only(vec!["t/a.py::S::x".to_string(), "t/broken.py".to_string()]);
        assert!(only.is_active());
        assert!(only.selects("t/a.py", "t/a.py::S::x", &[]));
        assert!(!only.selects("t/a.py", "t/a.py::S::y", &[]));
        assert!(only.selects("t/broken.py", "t/broken.py::anything", &[]));
        assert!(only.selects_opaque_file("t/broken.py") && !only.selects_opaque_file("t/c.py"));
        assert!(only.may_select_undecidable_file("t/a.py"));
        assert!(!only.may_select_undecidable_file("t/c.py"));
        // Workers rebuild it from the spec.
        let again = Filter::from_spec(only.spec.clone()).unwrap();
        assert!(!again.selects("t/a.py", "t/a.py::S::y", &[]));
        assert!(again.selects("t/a.py", "t/a.py::S::x", &[]));
    }
}
