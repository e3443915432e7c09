//! Project defaults from `[tool.dbtest]` in `pyproject.toml`, or from a `dbtest.toml` (keys at
//! its top level) for projects without one. `dbtest.toml` wins when both exist, as the more
//! specific file. Keys are named like the long options (`exclude-tags`, `bench-time`); the
//! command line overrides every one of them. Paths in the file (test paths, report files) are
//! relative to the file's folder, wherever dbtest is started.
//!
//! An unknown key or a value of the wrong type is a usage error naming the key, the file and
//! the line, never silently ignored: a typo in CI configuration would otherwise go unnoticed.
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

pub const PYPROJECT: &str = "pyproject.toml";
pub const DBTEST_TOML: &str = "dbtest.toml";

/// Every key the file may hold, with the type it takes (for error messages and the docs).
pub const KEYS: &[(&str, &str)] = &[
    ("paths", "an array of paths"),
    ("timeout", "a number of seconds above 0"),
    ("workers", "a number, or \"auto\""),
    ("jobs", "a whole number of at least 1"),
    ("tags", "an array of tag names"),
    ("exclude-tags", "an array of tag names"),
    ("fail-fast", "true or false"),
    ("retries", "a whole number"),
    ("durations", "a whole number"),
    ("junitxml", "a file path"),
    ("json", "a file path"),
    ("markdown", "a file path"),
    ("html", "a file path"),
    ("bench-time", "a number of seconds"),
    ("samples", "a whole number"),
    ("warmup", "a whole number"),
    ("noise", "a percentage"),
];

/// `workers = N` or `workers = "auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workers {
    Auto,
    Count(usize),
}

/// The settings a project file gave; `None` where it said nothing.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Config {
    /// Where the values came from (for messages).
    pub file: PathBuf,
    pub paths: Option<Vec<PathBuf>>,
    pub timeout: Option<f64>,
    pub workers: Option<Workers>,
    pub jobs: Option<usize>,
    pub tags: Option<Vec<String>>,
    pub exclude_tags: Option<Vec<String>>,
    pub fail_fast: Option<bool>,
    pub retries: Option<u32>,
    pub durations: Option<usize>,
    pub junitxml: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub markdown: Option<PathBuf>,
    pub html: Option<PathBuf>,
    pub bench_time: Option<f64>,
    pub samples: Option<u32>,
    pub warmup: Option<u32>,
    pub noise: Option<f64>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{}:{line}: {message}\n  hint: {hint}", .file.display())]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
    pub hint: String,
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

struct Reader<'a> {
    file: &'a Path,
    text: &'a str,
    /// `[tool.dbtest]` or `dbtest.toml`, as users name the table.
    table: &'a str,
}

impl Reader<'_> {
    fn error(&self, span: Range<usize>, message: String, hint: String) -> ConfigError {
        ConfigError {
            file: self.file.to_path_buf(),
            line: line_of(self.text, span.start),
            message,
            hint,
        }
    }

    fn wrong_type(&self, key: &str, value: &Spanned<DeValue<'_>>) -> ConfigError {
        let want = KEYS
            .iter()
            .find(|(k, _)| *k == key)
            .map_or("another type", |(_, t)| t);
        self.error(
            value.span(),
            format!(
                "`{key}` in {} takes {want}, not {} {}",
                self.table,
                article(value.get_ref().type_str()),
                value.get_ref().type_str()
            ),
            format!("e.g. {}", example(key)),
        )
    }

    fn bad_value(&self, key: &str, value: &Spanned<DeValue<'_>>, why: &str) -> ConfigError {
        self.error(
            value.span(),
            format!("`{key}` in {}: {why}", self.table),
            format!("e.g. {}", example(key)),
        )
    }

    fn string(&self, key: &str, v: &Spanned<DeValue<'_>>) -> Result<String, ConfigError> {
        match v.get_ref() {
            DeValue::String(s) => Ok(s.to_string()),
            _ => Err(self.wrong_type(key, v)),
        }
    }

    fn strings(&self, key: &str, v: &Spanned<DeValue<'_>>) -> Result<Vec<String>, ConfigError> {
        match v.get_ref() {
            DeValue::Array(items) => items.iter().map(|i| self.string(key, i)).collect(),
            _ => Err(self.wrong_type(key, v)),
        }
    }

    fn integer(&self, key: &str, v: &Spanned<DeValue<'_>>, min: u64) -> Result<u64, ConfigError> {
        match v.get_ref() {
            DeValue::Integer(i) => match u64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) if n >= min => Ok(n),
                _ => Err(self.bad_value(
                    key,
                    v,
                    &format!("expected a whole number of at least {min}"),
                )),
            },
            _ => Err(self.wrong_type(key, v)),
        }
    }

    fn number(&self, key: &str, v: &Spanned<DeValue<'_>>) -> Result<f64, ConfigError> {
        let n = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(|n| n as f64),
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            _ => return Err(self.wrong_type(key, v)),
        };
        match n {
            Some(n) if n.is_finite() && n >= 0.0 => Ok(n),
            _ => Err(self.bad_value(key, v, "expected a finite number of at least 0")),
        }
    }
}

fn article(type_str: &str) -> &'static str {
    if type_str.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn example(key: &str) -> &'static str {
    match key {
        "paths" => "paths = [\"tests\"]",
        "timeout" => "timeout = 30",
        "workers" => "workers = 4  (or \"auto\")",
        "jobs" => "jobs = 8",
        "tags" => "tags = [\"unit\"]",
        "exclude-tags" => "exclude-tags = [\"slow\"]",
        "fail-fast" => "fail-fast = true",
        "retries" => "retries = 2",
        "durations" => "durations = 10",
        "junitxml" => "junitxml = \"reports/junit.xml\"",
        "json" => "json = \"reports/dbtest.json\"",
        "markdown" => "markdown = \"reports/dbtest.md\"",
        "html" => "html = \"reports/bench.html\"",
        "bench-time" => "bench-time = 0.5",
        "samples" => "samples = 30",
        "warmup" => "warmup = 2",
        "noise" => "noise = 2.0",
        _ => "",
    }
}

/// The project's configuration file under `root`: `dbtest.toml`, else `pyproject.toml` (only
/// if it has a `[tool.dbtest]` table). `Ok(None)` when neither says anything.
pub fn load(root: &Path) -> Result<Option<Config>, ConfigError> {
    let own = root.join(DBTEST_TOML);
    if own.is_file() {
        return read(&own, false);
    }
    let pyproject = root.join(PYPROJECT);
    if pyproject.is_file() {
        return read(&pyproject, true);
    }
    Ok(None)
}

/// Read one file; `pyproject` says the settings are its `[tool.dbtest]` table.
fn read(file: &Path, pyproject: bool) -> Result<Option<Config>, ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|e| ConfigError {
        file: file.to_path_buf(),
        line: 1,
        message: format!("cannot read it: {e}"),
        hint: "check the file's permissions and that it is UTF-8".into(),
    })?;
    parse(file, &text, pyproject)
}

/// Parse `text` (the contents of `file`). `None` for a pyproject without `[tool.dbtest]`.
pub fn parse(file: &Path, text: &str, pyproject: bool) -> Result<Option<Config>, ConfigError> {
    let doc = DeTable::parse(text).map_err(|e| ConfigError {
        file: file.to_path_buf(),
        line: e.span().map_or(1, |s| line_of(text, s.start)),
        message: format!("not valid TOML: {}", e.message().trim_end()),
        hint: "fix the file's syntax (https://toml.io)".into(),
    })?;
    let reader = Reader {
        file,
        text,
        table: if pyproject {
            "[tool.dbtest]"
        } else {
            DBTEST_TOML
        },
    };
    let table = if pyproject {
        let Some(tool) = get(doc.get_ref(), "tool") else {
            return Ok(None);
        };
        let DeValue::Table(tool) = tool.get_ref() else {
            return Ok(None);
        };
        let Some(section) = get(tool, "dbtest") else {
            return Ok(None);
        };
        match section.get_ref() {
            DeValue::Table(t) => t,
            _ => {
                return Err(reader.error(
                    section.span(),
                    "`tool.dbtest` must be a table".into(),
                    "write the settings under a `[tool.dbtest]` header".into(),
                ));
            }
        }
    } else {
        doc.get_ref()
    };
    let mut c = Config {
        file: file.to_path_buf(),
        ..Config::default()
    };
    for (key, value) in table.iter() {
        reader.read_key(&mut c, key, value)?;
    }
    Ok(Some(c))
}

impl Reader<'_> {
    /// One `key = value` of the table into `c`.
    fn read_key(
        &self,
        c: &mut Config,
        key: &Spanned<DeString<'_>>,
        value: &Spanned<DeValue<'_>>,
    ) -> Result<(), ConfigError> {
        let base = self.file.parent().unwrap_or_else(|| Path::new("."));
        let path = |s: String| base.join(s);
        let k: &str = key.get_ref();
        let r = self;
        match k {
            "paths" => c.paths = Some(r.strings(k, value)?.into_iter().map(path).collect()),
            "timeout" => {
                let t = r.number(k, value)?;
                if t == 0.0 {
                    return Err(r.bad_value(k, value, "a timeout must be above 0 seconds"));
                }
                c.timeout = Some(t);
            }
            "workers" => {
                c.workers = Some(match value.get_ref() {
                    DeValue::String(s) if s == "auto" => Workers::Auto,
                    DeValue::Integer(_) => Workers::Count(r.integer(k, value, 0)? as usize),
                    _ => return Err(r.wrong_type(k, value)),
                })
            }
            "jobs" => c.jobs = Some(r.integer(k, value, 1)? as usize),
            "tags" => c.tags = Some(r.strings(k, value)?),
            "exclude-tags" => c.exclude_tags = Some(r.strings(k, value)?),
            "fail-fast" => match value.get_ref() {
                DeValue::Boolean(b) => c.fail_fast = Some(*b),
                _ => return Err(r.wrong_type(k, value)),
            },
            "retries" => c.retries = Some(small(r, k, value)?),
            "durations" => c.durations = Some(r.integer(k, value, 0)? as usize),
            "junitxml" => c.junitxml = Some(path(r.string(k, value)?)),
            "json" => c.json = Some(path(r.string(k, value)?)),
            "markdown" => c.markdown = Some(path(r.string(k, value)?)),
            "html" => c.html = Some(path(r.string(k, value)?)),
            "bench-time" => c.bench_time = Some(r.number(k, value)?),
            "samples" => c.samples = Some(small(r, k, value)?),
            "warmup" => c.warmup = Some(small(r, k, value)?),
            "noise" => c.noise = Some(r.number(k, value)?),
            _ => return Err(self.unknown(key)),
        }
        Ok(())
    }

    fn unknown(&self, key: &Spanned<DeString<'_>>) -> ConfigError {
        let k: &str = key.get_ref();
        let kebab = k.replace('_', "-");
        let hint = if kebab != k && KEYS.iter().any(|(known, _)| *known == kebab) {
            format!("keys are named like the long options: `{kebab}`")
        } else {
            format!(
                "known keys: {}",
                KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
            )
        };
        self.error(
            key.span(),
            format!("unknown key `{k}` in {}", self.table),
            hint,
        )
    }
}

fn get<'t, 'i>(table: &'t DeTable<'i>, key: &str) -> Option<&'t Spanned<DeValue<'i>>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v)
}

fn small(r: &Reader<'_>, k: &str, v: &Spanned<DeValue<'_>>) -> Result<u32, ConfigError> {
    let n = r.integer(k, v, 0)?;
    u32::try_from(n).map_err(|_| r.bad_value(k, v, "the number is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pyproject(text: &str) -> Result<Option<Config>, ConfigError> {
        parse(Path::new("/p/pyproject.toml"), text, true)
    }

    #[test]
    fn every_key_is_read_and_paths_are_relative_to_the_file() {
        let c = pyproject(
            r#"
[project]
name = "x"

[tool.dbtest]
paths = ["tests", "more/tests"]
timeout = 30
workers = "auto"
jobs = 8
tags = ["unit"]
exclude-tags = ["slow", "net"]
fail-fast = true
retries = 2
durations = 5
junitxml = "out/junit.xml"
json = "out/r.json"
markdown = "out/r.md"
html = "out/b.html"
bench-time = 0.5
samples = 20
warmup = 0
noise = 2.5

[tool.other]
whatever = 1
"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            c.paths,
            Some(vec![
                PathBuf::from("/p/tests"),
                PathBuf::from("/p/more/tests")
            ])
        );
        assert_eq!(c.timeout, Some(30.0));
        assert_eq!(c.workers, Some(Workers::Auto));
        assert_eq!(c.jobs, Some(8));
        assert_eq!(c.exclude_tags, Some(vec!["slow".into(), "net".into()]));
        assert_eq!(
            (c.fail_fast, c.retries, c.durations),
            (Some(true), Some(2), Some(5))
        );
        assert_eq!(c.junitxml, Some(PathBuf::from("/p/out/junit.xml")));
        assert_eq!(
            (c.bench_time, c.samples, c.warmup, c.noise),
            (Some(0.5), Some(20), Some(0), Some(2.5))
        );
        let c = pyproject("[tool.dbtest]\nworkers = 3\n").unwrap().unwrap();
        assert_eq!(c.workers, Some(Workers::Count(3)));
    }

    #[test]
    fn a_pyproject_without_the_table_says_nothing() {
        assert_eq!(pyproject("[project]\nname = \"x\"\n").unwrap(), None);
        assert_eq!(pyproject("[tool.ruff]\nline-length = 3\n").unwrap(), None);
    }

    #[test]
    fn unknown_keys_name_the_key_file_and_line() {
        let e = pyproject(
            "[project]\nname = \"x\"\n\n[tool.dbtest]\ntimeout = 3\nexlude-tags = [\"slow\"]\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 6);
        assert_eq!(e.message, "unknown key `exlude-tags` in [tool.dbtest]");
        let shown = e.to_string();
        assert!(
            shown.starts_with("/p/pyproject.toml:6: unknown key `exlude-tags`"),
            "{shown}"
        );
        assert!(
            shown.contains("exclude-tags"),
            "the hint lists the known keys"
        );
        // Snake case gets pointed at the option's spelling.
        let e = pyproject("[tool.dbtest]\nexclude_tags = [\"slow\"]\n").unwrap_err();
        assert!(e.hint.contains("`exclude-tags`"), "{}", e.hint);
        // In a dotted table header too.
        let e = pyproject("[tool.dbtest.reports]\njunit = 1\n").unwrap_err();
        assert!(e.message.contains("`reports`"), "{}", e.message);
    }

    #[test]
    fn wrong_types_and_values_name_the_key_and_line() {
        let e = pyproject("[tool.dbtest]\n\ntimeout = \"30\"\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(
            e.message,
            "`timeout` in [tool.dbtest] takes a number of seconds above 0, not a string"
        );
        let e = pyproject("[tool.dbtest]\ntags = \"unit\"\n").unwrap_err();
        assert!(
            e.message
                .starts_with("`tags` in [tool.dbtest] takes an array")
        );
        let e = pyproject("[tool.dbtest]\ntags = [\n  \"a\",\n  3,\n]\n").unwrap_err();
        assert_eq!(e.line, 4, "the offending item's line");
        let e = pyproject("[tool.dbtest]\njobs = 0\n").unwrap_err();
        assert!(e.message.contains("at least 1"));
        let e = pyproject("[tool.dbtest]\ntimeout = 0\n").unwrap_err();
        assert!(e.message.contains("above 0"));
        let e = pyproject("[tool.dbtest]\nworkers = \"many\"\n").unwrap_err();
        assert!(e.message.contains("\"auto\""));
        let e = pyproject("[tool.dbtest]\nretries = -1\n").unwrap_err();
        assert!(e.message.contains("whole number"));
        let e = pyproject("tool = 3\n").unwrap();
        assert_eq!(e, None);
        let e = pyproject("[tool]\ndbtest = 3\n").unwrap_err();
        assert!(e.message.contains("must be a table"));
    }

    #[test]
    fn invalid_toml_names_the_line() {
        let e = pyproject("[project]\nname = \"x\"\nbroken = [\n").unwrap_err();
        assert!(e.message.starts_with("not valid TOML"), "{}", e.message);
        assert!(e.line >= 3, "{}", e.line);
    }

    #[test]
    fn dbtest_toml_holds_keys_at_the_top_and_wins() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(load(d.path()).unwrap(), None);
        std::fs::write(d.path().join(PYPROJECT), "[tool.dbtest]\ntimeout = 5\n").unwrap();
        assert_eq!(load(d.path()).unwrap().unwrap().timeout, Some(5.0));
        std::fs::write(d.path().join(DBTEST_TOML), "timeout = 7\n").unwrap();
        let c = load(d.path()).unwrap().unwrap();
        assert_eq!((c.timeout, c.file), (Some(7.0), d.path().join(DBTEST_TOML)));
        std::fs::write(d.path().join(DBTEST_TOML), "\nbogus = 7\n").unwrap();
        let e = load(d.path()).unwrap_err();
        assert_eq!(
            (e.line, e.message.as_str()),
            (2, "unknown key `bogus` in dbtest.toml")
        );
    }
}
