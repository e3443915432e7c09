//! pytest's own project configuration, read so that dbtest collects the files and names pytest
//! would: `pytest.ini` (`[pytest]`, read even without it, as pytest does), `.pytest.ini`,
//! `pyproject.toml` (`[tool.pytest.ini_options]`, or pytest 9's `[tool.pytest]`), `tox.ini`
//! (`[pytest]`), `setup.cfg` (`[tool:pytest]`): the first of those in the project root, in
//! pytest's order. Only the keys below are read; pytest's others are its business and ignored.
//! A key read with a value of the wrong type is an error naming the file and line.
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::config::{ConfigError, line_of};
use crate::runner::collect::Collection;

/// The keys read, with what they take (for messages and the docs).
pub const KEYS: &[&str] = &[
    "testpaths",
    "python_files",
    "python_classes",
    "python_functions",
    "norecursedirs",
    "markers",
    "asyncio_mode",
    "addopts",
];

/// What pytest's configuration says; `None` where it says nothing.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PytestConfig {
    pub file: PathBuf,
    pub testpaths: Option<Vec<String>>,
    pub python_files: Option<Vec<String>>,
    pub python_classes: Option<Vec<String>>,
    pub python_functions: Option<Vec<String>>,
    pub norecursedirs: Option<Vec<String>>,
    /// Registered mark names (the part of each line before `:` or `(`).
    pub markers: Option<Vec<String>>,
    pub asyncio_mode: Option<String>,
    /// `addopts`, split as pytest splits it, and its line in the file.
    pub addopts: Option<(Vec<String>, usize)>,
}

/// What pytest's `addopts` selects, as pytest reads it before the command line: the last
/// `-m EXPR` and the last `-k EXPR` (its other options are pytest's business).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct AddoptsSelection {
    pub markers: Option<String>,
    pub keyword: Option<String>,
    /// Where they were read: the file and the line of `addopts`.
    pub file: PathBuf,
    pub line: usize,
}

impl PytestConfig {
    /// The selection `addopts` makes, if it makes one.
    pub fn addopts_selection(&self) -> Option<AddoptsSelection> {
        let (items, line) = self.addopts.as_ref()?;
        let mut s = AddoptsSelection {
            file: self.file.clone(),
            line: *line,
            ..AddoptsSelection::default()
        };
        let mut rest = items.iter();
        while let Some(item) = rest.next() {
            // `-m EXPR` or `-mEXPR` (argparse's forms of a short option with a value).
            let slot = match item.get(..2) {
                Some("-m") => &mut s.markers,
                Some("-k") => &mut s.keyword,
                _ => continue,
            };
            let value = match &item[2..] {
                "" => rest.next().cloned(),
                attached => Some(attached.to_string()),
            };
            if value.is_some() {
                *slot = value;
            }
        }
        (s.markers.is_some() || s.keyword.is_some()).then_some(s)
    }

    /// The naming rules for discovery, the scan and the workers (pytest's defaults elsewhere).
    pub fn collection(&self) -> Collection {
        let d = Collection::default();
        Collection {
            python_files: self.python_files.clone().unwrap_or(d.python_files),
            python_classes: self.python_classes.clone().unwrap_or(d.python_classes),
            python_functions: self.python_functions.clone().unwrap_or(d.python_functions),
            asyncio_mode: self.asyncio_mode.clone().unwrap_or(d.asyncio_mode),
            norecursedirs: self.norecursedirs.clone().unwrap_or(d.norecursedirs),
            markers: self.markers.clone().unwrap_or(d.markers),
        }
    }
}

/// The project's pytest configuration under `root`, if any.
pub fn load(root: &Path) -> Result<Option<PytestConfig>, ConfigError> {
    for (name, section) in [
        ("pytest.ini", None),
        (".pytest.ini", None),
        ("pyproject.toml", Some("")),
        ("tox.ini", Some("pytest")),
        ("setup.cfg", Some("tool:pytest")),
    ] {
        let file = root.join(name);
        if !file.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&file).map_err(|e| ConfigError {
            file: file.clone(),
            line: 1,
            message: format!("cannot read it: {e}"),
            hint: "check the file's permissions and that it is UTF-8".into(),
        })?;
        let found = match section {
            Some("") => parse_toml(&file, &text)?,
            Some(s) => parse_ini(&file, &text, s, false)?,
            None => parse_ini(&file, &text, "pytest", true)?,
        };
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// What a key holds, from one `key = value` of an ini file or one TOML string.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Whitespace-separated, quotes allowed (pytest's `args`).
    Args,
    /// One item a line (pytest's `linelist`).
    Lines,
    Text,
}

fn kind(key: &str) -> Option<Kind> {
    match key {
        "markers" => Some(Kind::Lines),
        "asyncio_mode" => Some(Kind::Text),
        k if KEYS.contains(&k) => Some(Kind::Args),
        _ => None,
    }
}

/// `shlex.split`: whitespace separates, quotes group, a backslash escapes outside `'...'`.
fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quote, mut any) = (None::<char>, false);
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('"') | None, '\\') => cur.extend(chars.next()),
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// A mark's name from its registration line (`slow: marks tests as slow`, `db(name)`).
fn mark_name(line: &str) -> String {
    line.split([':', '('])
        .next()
        .unwrap_or(line)
        .trim()
        .to_string()
}

/// Store one key's items (or text), found at `line`, in `c`; `Err(why)` for a value the key
/// cannot take.
fn store(c: &mut PytestConfig, key: &str, items: Vec<String>, line: usize) -> Result<(), String> {
    match key {
        "addopts" => c.addopts = Some((items, line)),
        "testpaths" => c.testpaths = Some(items),
        "python_files" => c.python_files = Some(items),
        "python_classes" => c.python_classes = Some(items),
        "python_functions" => c.python_functions = Some(items),
        "norecursedirs" => c.norecursedirs = Some(items),
        "markers" => c.markers = Some(items.iter().map(|l| mark_name(l)).collect()),
        "asyncio_mode" => {
            let mode = items.concat();
            if mode != "strict" && mode != "auto" {
                return Err(format!(
                    "`asyncio_mode` is `strict` or `auto`, not `{mode}`"
                ));
            }
            c.asyncio_mode = Some(mode);
        }
        _ => {}
    }
    Ok(())
}

fn items_of(k: Kind, text: &str) -> Vec<String> {
    match k {
        Kind::Args => split_args(text),
        Kind::Lines => lines(text),
        Kind::Text => vec![text.trim().to_string()],
    }
}

/// One section of an ini file as iniconfig reads it: `key = value` or `key: value`, indented
/// lines continuing the value, `#`/`;` lines comments. `whole_file`: the file counts even
/// without the section (pytest.ini).
fn parse_ini(
    file: &Path,
    text: &str,
    section: &str,
    whole_file: bool,
) -> Result<Option<PytestConfig>, ConfigError> {
    let mut c = PytestConfig {
        file: file.to_path_buf(),
        ..PytestConfig::default()
    };
    let (mut inside, mut seen) = (false, false);
    // (key, first line, value lines)
    let mut entries: Vec<(String, usize, Vec<String>)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let t = raw.trim();
        if t.is_empty() || t.starts_with(['#', ';']) {
            continue;
        }
        if raw.starts_with('[') {
            let name = t.trim_start_matches('[').split(']').next().unwrap_or("");
            inside = name.trim() == section;
            seen |= inside;
            continue;
        }
        if !inside {
            continue;
        }
        if raw.starts_with(char::is_whitespace) {
            if let Some(e) = entries.last_mut() {
                e.2.push(t.to_string());
            }
            continue;
        }
        let split = match (t.find('='), t.find(':')) {
            (Some(e), Some(c)) => e.min(c),
            (Some(at), None) | (None, Some(at)) => at,
            (None, None) => continue,
        };
        let (key, value) = (t[..split].trim(), t[split + 1..].trim());
        entries.push((key.to_string(), i + 1, vec![value.to_string()]));
    }
    if !seen && !whole_file {
        return Ok(None);
    }
    for (key, line, value) in entries {
        let Some(k) = kind(&key) else { continue };
        let text = value.join("\n");
        store(&mut c, &key, items_of(k, &text), line).map_err(|message| ConfigError {
            file: file.to_path_buf(),
            line,
            message,
            hint: example(&key)
                .replace(" = [", " = ")
                .replace(['[', ']', '"'], ""),
        })?;
    }
    Ok(Some(c))
}

fn table<'t, 'i>(t: &'t DeTable<'i>, key: &str) -> Option<&'t Spanned<DeValue<'i>>> {
    t.iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v)
}

/// `[tool.pytest.ini_options]` and `[tool.pytest]` of a pyproject.toml (None without either).
fn parse_toml(file: &Path, text: &str) -> Result<Option<PytestConfig>, ConfigError> {
    let error = |span: std::ops::Range<usize>, message: String, hint: &str| ConfigError {
        file: file.to_path_buf(),
        line: line_of(text, span.start),
        message,
        hint: hint.into(),
    };
    let doc = DeTable::parse(text).map_err(|e| {
        error(
            e.span().unwrap_or(0..0),
            format!("not valid TOML: {}", e.message().trim_end()),
            "fix the file's syntax (https://toml.io)",
        )
    })?;
    let pytest = table(doc.get_ref(), "tool")
        .and_then(|t| match t.get_ref() {
            DeValue::Table(t) => table(t, "pytest"),
            _ => None,
        })
        .and_then(|t| match t.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => None,
        });
    let Some(pytest) = pytest else {
        return Ok(None);
    };
    let mut c = PytestConfig {
        file: file.to_path_buf(),
        ..PytestConfig::default()
    };
    let ini = table(pytest, "ini_options").and_then(|t| match t.get_ref() {
        DeValue::Table(t) => Some(t),
        _ => None,
    });
    // pytest 9's native table first, then the ini-style one (pytest refuses both at once).
    for (name, t) in [
        ("[tool.pytest]", Some(pytest)),
        ("[tool.pytest.ini_options]", ini),
    ] {
        let Some(t) = t else { continue };
        for (key, value) in t.iter() {
            let key: &str = key.get_ref();
            let Some(k) = kind(key) else { continue };
            let items = toml_items(k, value).ok_or_else(|| {
                let want = if k == Kind::Text {
                    "a string"
                } else {
                    "a string or an array of strings"
                };
                error(
                    value.span(),
                    format!(
                        "`{key}` in {name} takes {want}, not {}",
                        value.get_ref().type_str()
                    ),
                    example(key),
                )
            })?;
            let line = line_of(text, value.span().start);
            store(&mut c, key, items, line).map_err(|m| error(value.span(), m, example(key)))?;
        }
    }
    Ok(Some(c))
}

fn example(key: &str) -> &'static str {
    match key {
        "testpaths" => "e.g. testpaths = [\"tests\"]",
        "python_files" => "e.g. python_files = [\"test_*.py\", \"check_*.py\"]",
        "python_classes" => "e.g. python_classes = [\"Test\"]",
        "python_functions" => "e.g. python_functions = [\"test\"]",
        "norecursedirs" => "e.g. norecursedirs = [\"build\", \"*.egg\"]",
        "markers" => "e.g. markers = [\"slow: slow tests\"]",
        "addopts" => "e.g. addopts = \"-m 'not slow'\"",
        _ => "e.g. asyncio_mode = \"auto\"",
    }
}

fn toml_items(k: Kind, value: &Spanned<DeValue<'_>>) -> Option<Vec<String>> {
    match (value.get_ref(), k) {
        (DeValue::String(s), _) => Some(items_of(k, s)),
        (DeValue::Array(a), Kind::Args | Kind::Lines) => a
            .iter()
            .map(|i| match i.get_ref() {
                DeValue::String(s) => Some(s.to_string()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toml(text: &str) -> Result<Option<PytestConfig>, ConfigError> {
        parse_toml(Path::new("/p/pyproject.toml"), text)
    }

    #[test]
    fn pyproject_strings_and_arrays_are_read_and_other_keys_ignored() {
        let c = toml(
            "[tool.pytest.ini_options]\naddopts = \"-ra\"\ntestpaths = \"tests  more\"\n\
             python_files = [\"check_*.py\"]\npython_classes = \"Check *Suite\"\n\
             markers = [\"slow: marks slow tests\", \"db(name): a database\"]\n\
             asyncio_mode = \"auto\"\nminversion = 6.0\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.testpaths, Some(vec!["tests".into(), "more".into()]));
        assert_eq!(c.python_files, Some(vec!["check_*.py".into()]));
        assert_eq!(
            c.python_classes,
            Some(vec!["Check".into(), "*Suite".into()])
        );
        assert_eq!(c.markers, Some(vec!["slow".into(), "db".into()]));
        assert_eq!(c.asyncio_mode.as_deref(), Some("auto"));
        let col = c.collection();
        assert_eq!(col.python_functions, vec!["test".to_string()]);
        // pytest 9's native table.
        let c = toml("[tool.pytest]\npython_functions = [\"check\"]\n")
            .unwrap()
            .unwrap();
        assert_eq!(c.python_functions, Some(vec!["check".into()]));
        assert_eq!(toml("[tool.ruff]\nx = 1\n").unwrap(), None);
    }

    #[test]
    fn addopts_selects_with_its_last_m_and_k() {
        let sel = |text: &str| {
            toml(&format!("[tool.pytest.ini_options]\naddopts = {text}\n"))
                .unwrap()
                .unwrap()
                .addopts_selection()
                .map(|s| (s.markers, s.keyword, s.line))
        };
        let some =
            |m: Option<&str>, k: Option<&str>| Some((m.map(String::from), k.map(String::from), 2));
        assert_eq!(sel("\"-ra -m 'not slow'\""), some(Some("not slow"), None));
        assert_eq!(sel("\"-k db -m a -mb\""), some(Some("b"), Some("db")));
        assert_eq!(sel("[\"-k\", \"x and y\"]"), some(None, Some("x and y")));
        // Neither, or a -m with nothing after it: no selection.
        assert_eq!(sel("\"-ra --strict-markers -x\""), None);
        assert_eq!(sel("\"-m\""), None);
    }

    #[test]
    fn wrong_types_name_the_file_and_line() {
        let e = toml("[tool.pytest.ini_options]\n\npython_files = 3\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert_eq!(
            e.message,
            "`python_files` in [tool.pytest.ini_options] takes a string or an array of strings, not integer"
        );
        assert!(e.to_string().starts_with("/p/pyproject.toml:3: "));
        let e = toml("[tool.pytest.ini_options]\ntestpaths = [\n \"a\",\n 1,\n]\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = toml("[tool.pytest]\nasyncio_mode = [\"auto\"]\n").unwrap_err();
        assert!(e.message.contains("takes a string"), "{}", e.message);
        let e = toml("[tool.pytest.ini_options]\nasyncio_mode = \"loose\"\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("`strict` or `auto`"));
    }

    #[test]
    fn ini_files_sections_continuations_and_comments() {
        let text = "[flake8]\npython_files = nope.py\n\n[tool:pytest]\n# a comment\n\
                    python_files = check_*.py\n    'other file.py'\nmarkers =\n    slow: slow ones\n\
                    ; another\n    net\ntestpaths: tests\nasyncio_mode = strict\n";
        let c = parse_ini(Path::new("setup.cfg"), text, "tool:pytest", false)
            .unwrap()
            .unwrap();
        assert_eq!(
            c.python_files,
            Some(vec!["check_*.py".into(), "other file.py".into()])
        );
        assert_eq!(c.markers, Some(vec!["slow".into(), "net".into()]));
        assert_eq!(c.testpaths, Some(vec!["tests".into()]));
        assert_eq!(
            parse_ini(Path::new("tox.ini"), "[tox]\nx=1\n", "pytest", false).unwrap(),
            None
        );
        // pytest.ini counts even without its section.
        assert!(
            parse_ini(Path::new("pytest.ini"), "", "pytest", true)
                .unwrap()
                .is_some()
        );
        let e = parse_ini(
            Path::new("pytest.ini"),
            "[pytest]\n\nasyncio_mode = lax\n",
            "pytest",
            true,
        )
        .unwrap_err();
        assert_eq!(e.line, 3);
    }

    #[test]
    fn files_are_taken_in_pytests_order() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(load(d.path()).unwrap(), None);
        std::fs::write(d.path().join("setup.cfg"), "[tool:pytest]\ntestpaths = a\n").unwrap();
        std::fs::write(d.path().join("pyproject.toml"), "[project]\nname = \"x\"\n").unwrap();
        let c = load(d.path()).unwrap().unwrap();
        assert_eq!(c.file, d.path().join("setup.cfg"));
        std::fs::write(d.path().join("tox.ini"), "[pytest]\ntestpaths = b\n").unwrap();
        assert_eq!(
            load(d.path()).unwrap().unwrap().testpaths,
            Some(vec!["b".into()])
        );
        std::fs::write(
            d.path().join("pyproject.toml"),
            "[tool.pytest.ini_options]\ntestpaths = [\"c\"]\n",
        )
        .unwrap();
        assert_eq!(
            load(d.path()).unwrap().unwrap().testpaths,
            Some(vec!["c".into()])
        );
        std::fs::write(d.path().join("pytest.ini"), "[pytest]\n").unwrap();
        let c = load(d.path()).unwrap().unwrap();
        assert_eq!((c.file, c.testpaths), (d.path().join("pytest.ini"), None));
    }

    #[test]
    fn args_split_as_shlex_does() {
        assert_eq!(split_args("a  b\n c"), vec!["a", "b", "c"]);
        assert_eq!(split_args("'a b' \"c d\" e\\ f"), vec!["a b", "c d", "e f"]);
        assert_eq!(split_args(""), Vec::<String>::new());
    }
}
