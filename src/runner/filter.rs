//! Which tests a run selects: `--pattern`, `--tags`, `--exclude-tags` and the mode. The same
//! rules apply before import (to the static scan, deciding which files to import at all) and
//! after it (to the tests the import really defined).
use std::collections::HashSet;
use std::sync::Arc;

use globset::{Glob, GlobMatcher};
use serde::{Deserialize, Serialize};

use crate::error::UserError;
use crate::runner::collect::Collection;

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
    /// A pytest keyword expression (`parse and not slow`): each word matches, ignoring case, as
    /// a substring of the path's parts, the suite, the test's name or id, or one of its tags.
    Keywords(Expr),
}

/// A pytest `-k`/`-m` expression: `and`, `or`, `not`, parentheses and words.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Word(String),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Parse pytest's grammar: `expr := and ('or' and)*`, `and := not ('and' not)*`,
    /// `not := 'not' not | '(' expr ')' | word`; a word is letters, digits and `_:+-.[]\/`.
    pub fn parse(text: &str) -> Result<Expr, String> {
        let tokens = tokenize(text)?;
        if tokens.is_empty() {
            return Err("empty expression".into());
        }
        let mut p = Parser { tokens, at: 0 };
        let e = p.or()?;
        if p.at < p.tokens.len() {
            return Err(format!("unexpected {:?}", p.tokens[p.at]));
        }
        Ok(e)
    }

    /// Evaluate with `word` telling whether a word holds: None when not known yet (tags the
    /// static scan could not read), evaluated with three-valued logic.
    pub fn eval(&self, word: &dyn Fn(&str) -> Option<bool>) -> Option<bool> {
        match self {
            Expr::Word(w) => word(w),
            Expr::Not(e) => e.eval(word).map(|b| !b),
            Expr::And(a, b) => match (a.eval(word), b.eval(word)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            Expr::Or(a, b) => match (a.eval(word), b.eval(word)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Not,
    Word(String),
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let is_word = |c: char| c.is_alphanumeric() || "_:+-.[]\\/".contains(c);
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Token::Open);
            i += 1;
        } else if c == ')' {
            out.push(Token::Close);
            i += 1;
        } else if is_word(c) {
            let start = i;
            while i < chars.len() && is_word(chars[i]) {
                i += 1;
            }
            let w: String = chars[start..i].iter().collect();
            out.push(match w.as_str() {
                "and" => Token::And,
                "or" => Token::Or,
                "not" => Token::Not,
                _ => Token::Word(w),
            });
        } else {
            return Err(format!("unexpected character {c:?} at column {}", i + 1));
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut e = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut e = self.not()?;
        while self.peek() == Some(&Token::And) {
            self.at += 1;
            e = Expr::And(Box::new(e), Box::new(self.not()?));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, String> {
        match self.tokens.get(self.at).cloned() {
            Some(Token::Not) => {
                self.at += 1;
                Ok(Expr::Not(Box::new(self.not()?)))
            }
            Some(Token::Open) => {
                self.at += 1;
                let e = self.or()?;
                if self.peek() != Some(&Token::Close) {
                    return Err("expected ')'".into());
                }
                self.at += 1;
                Ok(e)
            }
            Some(Token::Word(w)) => {
                self.at += 1;
                Ok(Expr::Word(w))
            }
            Some(t) => Err(format!("unexpected {t:?}")),
            None => Err("the expression ends too early".into()),
        }
    }
}

/// Whether `-k TEXT` is a pytest keyword expression rather than a substring or a glob: it
/// has parentheses or the words `and`, `or`, `not` (`sort 1000 ints` stays a substring).
fn is_expression(p: &str) -> bool {
    p.contains(['(', ')'])
        || p.split_whitespace()
            .any(|w| matches!(w, "and" | "or" | "not"))
}

/// `word[params]`: a pytest id with its parameters, matched as a substring, not as a glob class.
fn is_param_id(p: &str) -> bool {
    match p.find('[') {
        Some(i) => i > 0 && p.ends_with(']') && !p.contains(['*', '?', '{']),
        None => false,
    }
}

/// A filter as given on the command line: what worker processes are told.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FilterSpec {
    pub pattern: Option<String>,
    pub tags: Vec<String>,
    pub exclude_tags: Vec<String>,
    pub mode: Mode,
    /// `-m`: a pytest marker expression over tags (`slow and not db`).
    #[serde(default)]
    pub markers: Option<String>,
    /// `--lf` and retry passes: only these ids (a file's path selects all of its tests).
    #[serde(default)]
    pub ids: Option<Vec<String>>,
    /// What names tests have (pytest's `python_classes`, `python_functions`...): the static
    /// scan and the workers' collection apply the same rules.
    #[serde(default)]
    pub collection: Collection,
}

#[derive(Debug, Clone)]
pub struct Filter {
    pub spec: FilterSpec,
    pattern: Option<Pattern>,
    markers: Option<Expr>,
    tags: Vec<String>,
    exclude_tags: Vec<String>,
    pub mode: Mode,
    /// `spec.ids` as a set, and the files they name.
    ids: Option<Arc<Ids>>,
    /// A worker running one part of a file split over workers by class (see `Part`).
    part: Option<Arc<Part>>,
}

/// One part of a file whose classes are spread over several workers: the tests of these
/// classes (`Only`), or every test of the file but theirs (`Except`, the part that also takes
/// module-level tests and any class the static scan did not see). A file's parts together
/// hold each of its tests exactly once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Part {
    Only(Vec<String>),
    Except(Vec<String>),
}

impl Part {
    /// Whether the test `id` of the file `rel_path` belongs to this part.
    pub fn holds(&self, rel_path: &str, id: &str) -> bool {
        let class = class_of(rel_path, id);
        let named = |classes: &[String]| class.is_some_and(|c| classes.iter().any(|x| x == c));
        match self {
            Part::Only(classes) => named(classes),
            Part::Except(classes) => !named(classes),
        }
    }
}

/// The top-level class of a test id (`path::Class::test`, `path::Outer::Inner::test[p]`), or
/// None for a module-level test or the file itself.
pub fn class_of<'a>(rel_path: &str, id: &'a str) -> Option<&'a str> {
    let rest = id.strip_prefix(rel_path)?.strip_prefix("::")?;
    let rest = rest.split('[').next().unwrap_or(rest);
    let mut names = rest.split("::");
    let class = names.next()?;
    names.next().map(|_| class)
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
            markers: None,
            ids: None,
            collection: Collection::default(),
        })
    }

    /// The same filter, narrowed to one part of a file split by class.
    pub fn in_part(mut self, part: Part) -> Filter {
        self.part = Some(Arc::new(part));
        self
    }

    /// The same filter, further narrowed to `ids` (test ids, or file paths for whole files).
    pub fn only(mut self, ids: Vec<String>) -> Filter {
        self.ids = Some(Arc::new(Ids::new(&ids)));
        self.spec.ids = Some(ids);
        self
    }

    /// The same filter, also selecting by the marker expression `-m EXPR` (None: none).
    pub fn with_markers(self, markers: Option<&str>) -> Result<Self, UserError> {
        let mut spec = self.spec;
        spec.markers = markers.map(str::to_string);
        Self::from_spec(spec)
    }

    /// The same filter, with the project's naming rules for tests.
    pub fn with_collection(mut self, collection: Collection) -> Self {
        self.spec.collection = collection;
        self
    }

    pub fn from_spec(spec: FilterSpec) -> Result<Self, UserError> {
        let pattern = match spec.pattern.as_deref() {
            None => None,
            Some(p) if is_expression(p) => {
                Some(Pattern::Keywords(Expr::parse(p).map_err(|reason| {
                    UserError::BadPattern {
                        pattern: p.to_string(),
                        reason,
                    }
                })?))
            }
            Some(p) if !p.contains(['*', '?', '[', '{']) || is_param_id(p) => {
                Some(Pattern::Substring(p.to_string()))
            }
            Some(p) => {
                let glob = Glob::new(p).map_err(|e| UserError::BadPattern {
                    pattern: p.to_string(),
                    reason: e.kind().to_string(),
                })?;
                Some(Pattern::Glob(glob.compile_matcher()))
            }
        };
        let markers = match spec.markers.as_deref() {
            None => None,
            Some(m) => Some(Expr::parse(m).map_err(|reason| UserError::BadPattern {
                pattern: m.to_string(),
                reason,
            })?),
        };
        Ok(Filter {
            pattern,
            markers,
            tags: spec.tags.clone(),
            exclude_tags: spec.exclude_tags.clone(),
            mode: spec.mode,
            ids: spec.ids.as_deref().map(|ids| Arc::new(Ids::new(ids))),
            part: None,
            spec,
        })
    }

    /// Whether anything narrows the run beyond the mode.
    pub fn is_active(&self) -> bool {
        self.pattern.is_some()
            || self.markers.is_some()
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
            // Words may name tags or parts of an id: a path alone cannot rule a file out.
            Some(Pattern::Keywords(_)) => true,
        }
    }

    /// A keyword expression's verdict on a test, as pytest's `-k` matches it: each word, in
    /// lower case, a substring of a part of the path, the suite, the name, the id or a tag.
    fn keywords_match(e: &Expr, rel_path: &str, id: &str, tags: Option<&[String]>) -> Option<bool> {
        let mut names: Vec<String> = rel_path.split('/').map(str::to_lowercase).collect();
        names.extend(id.split("::").skip(1).map(str::to_lowercase));
        names.push(id.to_lowercase());
        e.eval(&|w: &str| {
            let w = w.to_lowercase();
            if names.iter().any(|n| n.contains(&w)) {
                return Some(true);
            }
            let tags = tags?;
            Some(tags.iter().any(|t| t.to_lowercase().contains(&w)))
        })
    }

    fn in_integration_folder(rel_path: &str) -> bool {
        rel_path
            .rsplit_once('/')
            .is_some_and(|(dir, _)| dir.split('/').any(|p| p == INTEGRATION))
    }

    /// Whether a test runs; `tags` is None when not known yet.
    pub fn decide(&self, rel_path: &str, id: &str, tags: Option<&[String]>) -> Decision {
        if self.part.as_ref().is_some_and(|p| !p.holds(rel_path, id)) {
            return Decision::No;
        }
        if let Some(i) = &self.ids {
            if !i.ids.contains(id) && !i.ids.contains(rel_path) {
                return Decision::No;
            }
        }
        let mut unknown = false;
        if let Some(Pattern::Keywords(e)) = &self.pattern {
            match Self::keywords_match(e, rel_path, id, tags) {
                Some(false) => return Decision::No,
                None => unknown = true,
                Some(true) => {}
            }
        } else if self.pattern.is_some() && !self.matches(rel_path) && !self.matches(id) {
            return Decision::No;
        }
        if let Some(m) = &self.markers {
            match m.eval(&|w: &str| tags.map(|t| t.iter().any(|x| x == w))) {
                Some(false) => return Decision::No,
                None => unknown = true,
                Some(true) => {}
            }
        }
        let Some(tags) = tags else {
            let needs_tags = unknown
                || !self.tags.is_empty()
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
        // Asked per test: the folder test only when the mode needs it.
        let integration = || has(INTEGRATION) || Self::in_integration_folder(rel_path);
        match self.mode {
            Mode::Unit if integration() => Decision::No,
            Mode::Integration if !integration() => Decision::No,
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
        if self.markers.is_some() {
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
    fn pytest_keyword_expressions() {
        let t = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let k = f(Some("parse and not slow"), &[], &[], Mode::All);
        let id = "tests/test_p.py::TestParser::test_parse_int[1-a]";
        assert!(k.selects("tests/test_p.py", id, &[]));
        assert!(!k.selects("tests/test_p.py", id, &t(&["slow"])));
        assert_eq!(k.decide("tests/test_p.py", id, None), Decision::Maybe);
        // Case-insensitive, over the parts of the path and the id.
        let k = f(Some("(PARSER or config) and test_p"), &[], &[], Mode::All);
        assert!(k.selects("tests/test_p.py", id, &[]));
        assert!(!k.selects("tests/test_q.py", "tests/test_q.py::test_other", &[]));
        assert!(f(Some("not other"), &[], &[], Mode::All).selects("a.py", "a.py::x", &[]));
        // A parametrized id is a substring, not a glob class.
        let p = f(Some("test_add[1-2-3]"), &[], &[], Mode::All);
        assert!(p.selects("t.py", "t.py::test_add[1-2-3]", &[]));
        assert!(!p.selects("t.py", "t.py::test_add[2-2-5]", &[]));
        assert!(Filter::new(Some("a and (b"), vec![], vec![], Mode::All).is_err());
        assert!(Filter::new(Some("a and"), vec![], vec![], Mode::All).is_err());
        // Words without operators stay a substring (benchmark groups have spaces).
        let sub = f(Some("sort 1000 ints"), &[], &[], Mode::All);
        assert!(sub.selects("b.py", "sort 1000 ints::list.sort", &[]));
        assert!(!sub.selects("b.py", "sort 1000::x", &[]));
    }

    #[test]
    fn marker_expressions() {
        let t = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let m = Filter::new(None, vec![], vec![], Mode::All)
            .unwrap()
            .with_markers(Some("slow and not db"))
            .unwrap();
        assert!(m.selects("a.py", "a.py::x", &t(&["slow"])));
        assert!(!m.selects("a.py", "a.py::x", &t(&["slow", "db"])));
        assert!(!m.selects("a.py", "a.py::x", &t(&["slowish"])));
        assert_eq!(m.decide("a.py", "a.py::x", None), Decision::Maybe);
        assert!(m.is_active());
        assert!(!m.selects_opaque_file("a.py"));
        let bad = Filter::new(None, vec![], vec![], Mode::All).unwrap();
        assert!(bad.with_markers(Some("slow and")).is_err());
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
