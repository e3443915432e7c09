//! A static, import-free reading of a test file: which suites and tests it declares, with their
//! tags. It lets `--list` and the filters work without importing (and so without running)
//! user code. It is deliberately lenient: the import at run time is the authority, this only
//! decides which files are worth importing.

/// Tags of a test as far as the source shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tags {
    Known(Vec<String>),
    /// `tags=` is not a list of string literals (a variable, a call...): decided at run time.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticTest {
    pub suite: Option<String>,
    pub name: String,
    pub line: u32,
    pub tags: Tags,
    pub skip: bool,
}

/// One logical line: physical lines joined while brackets are open, strings blanked out.
struct Logical {
    indent: usize,
    line: u32,
    text: String,
}

/// Split source into logical lines, dropping comments; string literals are kept (tags need
/// them) but their newlines are not, so a docstring never looks like code. Works on bytes:
/// every byte that matters is ASCII, and non-ASCII bytes are copied through unchanged.
fn logical_lines(src: &str) -> Vec<Logical> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let (mut cur_line, mut cur_indent, mut depth) = (1u32, 0usize, 0i32);
    let (mut line_no, mut at_line_start, mut indent) = (1u32, true, 0usize);
    let mut i = 0;
    let flush = |cur: &mut Vec<u8>, out: &mut Vec<Logical>, indent: usize, line: u32| {
        if cur.iter().any(|c| !c.is_ascii_whitespace()) {
            out.push(Logical {
                indent,
                line,
                text: String::from_utf8_lossy(cur).into_owned(),
            });
        }
        cur.clear();
    };
    while i < b.len() {
        let c = b[i];
        if at_line_start {
            if c == b' ' || c == b'\t' {
                indent += if c == b'\t' { 8 } else { 1 };
                i += 1;
                continue;
            }
            at_line_start = false;
            if cur.is_empty() && depth == 0 {
                cur_indent = indent;
                cur_line = line_no;
            }
        }
        match c {
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' | b'\'' => {
                let triple = i + 2 < b.len() && b[i + 1] == c && b[i + 2] == c;
                let q = if triple { 3 } else { 1 };
                cur.push(c);
                i += q;
                while i < b.len() {
                    let d = b[i];
                    if d == b'\\' && i + 1 < b.len() {
                        if b[i + 1] == b'\n' {
                            line_no += 1;
                        }
                        cur.extend_from_slice(&b[i..i + 2]);
                        i += 2;
                        continue;
                    }
                    if d == b'\n' {
                        line_no += 1;
                        if !triple {
                            break;
                        }
                    } else if d == c
                        && (!triple || (i + 2 < b.len() && b[i + 1] == c && b[i + 2] == c))
                    {
                        i += q;
                        break;
                    } else {
                        cur.push(d);
                    }
                    i += 1;
                }
                cur.push(c);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = (depth - 1).max(0),
            b'\\' if i + 1 < b.len() && b[i + 1] == b'\n' => {
                i += 2;
                line_no += 1;
                continue;
            }
            b'\n' => {
                line_no += 1;
                i += 1;
                if depth == 0 {
                    flush(&mut cur, &mut out, cur_indent, cur_line);
                    at_line_start = true;
                    indent = 0;
                } else {
                    cur.push(b' ');
                }
                continue;
            }
            _ => {}
        }
        cur.push(c);
        i += 1;
    }
    flush(&mut cur, &mut out, cur_indent, cur_line);
    out
}

/// If `deco` (without the `@`) is the dbtest `test` decorator, its argument text, if any.
fn test_decorator(deco: &str) -> Option<&str> {
    let deco = deco.trim();
    let rest = deco.strip_prefix("dbtest.").unwrap_or(deco);
    let rest = rest.strip_prefix("test")?;
    let rest = rest.trim_start();
    if rest.is_empty() {
        return Some("");
    }
    let inner = rest.strip_prefix('(')?;
    Some(inner.strip_suffix(')').unwrap_or(inner))
}

/// The value text of keyword `key=` in a call's argument text, up to the next top-level comma.
fn keyword<'a>(args: &'a str, key: &str) -> Option<&'a str> {
    let bytes = args.as_bytes();
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    let mut start = 0usize;
    let mut i = 0usize;
    let mut parts = Vec::new();
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == b'\\' {
                i += 2;
                continue;
            }
            if b == q {
                quote = None;
            }
        } else {
            match b {
                b'"' | b'\'' => quote = Some(b),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                b',' if depth == 0 => {
                    parts.push(&args[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        i += 1;
    }
    parts.push(&args[start..]);
    parts.into_iter().find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim() == key).then(|| v.trim())
    })
}

/// String literals of a list/tuple/single-string expression, or None if it holds anything else.
fn string_literals(expr: &str) -> Option<Vec<String>> {
    let e = expr.trim();
    let inner =
        if (e.starts_with('[') && e.ends_with(']')) || (e.starts_with('(') && e.ends_with(')')) {
            &e[1..e.len() - 1]
        } else {
            e
        };
    let mut out = Vec::new();
    let mut chars = inner.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(c) if c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let Some(q) = chars.next() else { break };
        if q != '"' && q != '\'' {
            return None;
        }
        let mut s = String::new();
        loop {
            match chars.next() {
                None => return None,
                Some('\\') => {
                    if let Some(n) = chars.next() {
                        s.push(n);
                    }
                }
                Some(c) if c == q => break,
                Some(c) => s.push(c),
            }
        }
        out.push(s);
    }
    Some(out)
}

fn def_name(text: &str) -> Option<&str> {
    let t = text
        .strip_prefix("async ")
        .map(str::trim_start)
        .unwrap_or(text);
    let t = t.strip_prefix("def ")?.trim_start();
    let end = t.find(|c: char| !(c.is_alphanumeric() || c == '_'))?;
    Some(&t[..end])
}

fn class_header(text: &str) -> Option<(&str, &str)> {
    let t = text.strip_prefix("class ")?.trim_start();
    let end = t
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(t.len());
    let name = &t[..end];
    let bases = t[end..].trim_start();
    let bases = bases
        .strip_prefix('(')
        .and_then(|b| b.split(')').next())
        .unwrap_or("");
    Some((name, bases))
}

/// The tests a file declares, in declaration order.
pub fn scan(src: &str) -> Vec<StaticTest> {
    let mut tests = Vec::new();
    let mut suite_names: Vec<String> = Vec::new();
    // (class name, class indent, body indent once known, is a suite)
    let mut class: Option<(String, usize, Option<usize>, bool)> = None;
    let mut decorators: Vec<(u32, String)> = Vec::new();
    for l in logical_lines(src) {
        if let Some((_, cindent, body, _)) = &class {
            if l.indent <= *cindent {
                class = None;
            } else if body.is_none() {
                if let Some(c) = class.as_mut() {
                    c.2 = Some(l.indent);
                }
            }
        }
        let text = l.text.trim();
        if let Some(d) = text.strip_prefix('@') {
            decorators.push((l.line, d.to_string()));
            continue;
        }
        if l.indent == 0 {
            if let Some((name, bases)) = class_header(text) {
                let is_suite = bases.split(',').any(|b| {
                    let b = b.trim();
                    let b = b.rsplit('.').next().unwrap_or(b);
                    b == "TestSuite" || suite_names.iter().any(|s| s == b)
                });
                if is_suite {
                    suite_names.push(name.to_string());
                }
                class = Some((name.to_string(), 0, None, is_suite));
                decorators.clear();
                continue;
            }
        }
        if let Some(name) = def_name(text) {
            let suite = match &class {
                None if l.indent == 0 => Some(None),
                Some((cname, _, Some(body), true)) if l.indent == *body => {
                    Some(Some(cname.clone()))
                }
                _ => None,
            };
            if let Some(suite) = suite {
                let found = decorators
                    .iter()
                    .find_map(|(line, d)| test_decorator(d).map(|args| (*line, args.to_string())));
                if let Some((line, args)) = found {
                    let tags = match keyword(&args, "tags") {
                        None => Tags::Known(Vec::new()),
                        Some(v) => string_literals(v).map(Tags::Known).unwrap_or(Tags::Unknown),
                    };
                    let skip = keyword(&args, "skip").is_some_and(|v| v != "None" && v != "False");
                    tests.push(StaticTest {
                        suite,
                        name: name.to_string(),
                        line,
                        tags,
                        skip,
                    });
                }
            }
        }
        decorators.clear();
    }
    tests
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_suites_module_tests_tags_and_skips() {
        let src = r#"
"""Doc with class Fake(TestSuite): and @test inside."""
from dbtest import TestSuite, test

class Users(TestSuite):
    def setup(self):
        pass

    @test(tags=["unit", 'db'], timeout=5.0)
    async def creates_user(self):
        def inner():  # nested defs are not tests
            pass
        assert True

    @test(
        skip="needs a license server",
    )
    def skipped(self): ...

class Helper:
    @test
    def not_in_a_suite(self): ...

@test
def parses_config(): ...

@test(tags=TAGS)
def dynamic(): ...

def plain(): ...
"#;
        let found = scan(src);
        let names: Vec<_> = found
            .iter()
            .map(|t| (t.suite.as_deref(), t.name.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![
                (Some("Users"), "creates_user"),
                (Some("Users"), "skipped"),
                (None, "parses_config"),
                (None, "dynamic")
            ]
        );
        assert_eq!(found[0].tags, Tags::Known(vec!["unit".into(), "db".into()]));
        assert_eq!(found[0].line, 9);
        assert!(found[1].skip);
        assert!(!found[0].skip);
        assert_eq!(found[3].tags, Tags::Unknown);
    }

    #[test]
    fn suite_subclasses_of_suites_count() {
        let src = "class Base(dbtest.TestSuite):\n    pass\n\nclass Child(Base):\n    @test\n    def t(self): pass\n";
        let found = scan(src);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].suite.as_deref(), Some("Child"));
    }

    #[test]
    fn broken_files_do_not_panic() {
        for src in [
            "class (",
            "@test(\n",
            "\"\"\"unterminated",
            "def",
            "@test\nasync def",
            "x = '\\",
        ] {
            let _ = scan(src);
        }
    }

    #[test]
    fn keyword_and_literals() {
        assert_eq!(
            keyword("tags=['a', \"b,c\"], skip='x'", "skip"),
            Some("'x'")
        );
        assert_eq!(
            string_literals("['a', \"b,c\"]"),
            Some(vec!["a".into(), "b,c".into()])
        );
        assert_eq!(string_literals("'solo'"), Some(vec!["solo".into()]));
        assert_eq!(string_literals("TAGS"), None);
    }
}
