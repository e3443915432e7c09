//! Turning a Python exception into what a user needs to see: the exception, a traceback
//! without dbtest's own frames, and for failed assertions the failing line and its values.
use pyo3::prelude::*;
use pyo3::types::{PyModule, PyType};

use super::bridge::Bridge;
use crate::runner::event::Value;

/// The longest repr shown for one value.
const MAX_REPR: usize = 2000;

#[derive(Debug, Default)]
pub struct Described {
    /// `KeyError`, `mypkg.errors.Boom`.
    pub exc_type: String,
    /// `str(exc)`.
    pub text: String,
    pub traceback: String,
    pub is_assertion: bool,
    pub is_system_exit: bool,
    /// The innermost user frame's source line (for assertions: the failing line).
    pub source: Option<String>,
    pub values: Vec<Value>,
    /// For a syntax error: the line that does not parse.
    pub syntax_line: Option<u32>,
}

impl Described {
    /// One line saying what happened: the assertion's message or line, or `Type: text`.
    pub fn message(&self) -> String {
        if self.is_assertion {
            if !self.text.is_empty() {
                return self.text.clone();
            }
            if let Some(src) = &self.source {
                return strip_comment(src).to_string();
            }
        }
        if self.text.is_empty() {
            self.exc_type.clone()
        } else {
            format!("{}: {}", self.exc_type, self.text)
        }
    }
}

/// A source line without its trailing comment (a `#` outside string literals).
pub fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' => return line[..i].trim_end(),
            None => {}
        }
    }
    line.trim_end()
}

struct Frame<'py> {
    file: String,
    line: u32,
    func: String,
    frame: Bound<'py, PyAny>,
}

fn frames<'py>(tb: Option<Bound<'py, PyAny>>) -> Vec<Frame<'py>> {
    let mut out = Vec::new();
    let mut cur = tb;
    while let Some(tb) = cur.filter(|t| !t.is_none()) {
        let entry = (|| -> PyResult<Frame<'py>> {
            let frame = tb.getattr("tb_frame")?;
            let code = frame.getattr("f_code")?;
            Ok(Frame {
                file: code.getattr("co_filename")?.extract()?,
                line: tb.getattr("tb_lineno")?.extract().unwrap_or(0),
                func: code.getattr("co_name")?.extract()?,
                frame,
            })
        })();
        if let Ok(f) = entry {
            out.push(f);
        }
        cur = tb.getattr("tb_next").ok();
    }
    out
}

/// Frames of the machinery (asyncio, importlib) and of the shim are not the user's: they go.
fn user_frames<'py>(all: Vec<Frame<'py>>, bridge: &Bridge) -> Vec<Frame<'py>> {
    all.into_iter()
        .filter(|f| !bridge.is_machinery(&f.file))
        .collect()
}

fn source_line(py: Python<'_>, file: &str, line: u32) -> Option<String> {
    let linecache = py.import("linecache").ok()?;
    let text: String = linecache
        .call_method1("getline", (file, line))
        .ok()?
        .extract()
        .ok()?;
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn type_name(ty: &Bound<'_, PyType>) -> String {
    let name = ty
        .qualname()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    match ty.module().map(|m| m.to_string()) {
        Ok(m) if m != "builtins" && m != "__main__" => format!("{m}.{name}"),
        _ => name,
    }
}

fn safe_str(obj: &Bound<'_, PyAny>) -> String {
    match obj.str() {
        Ok(s) => s.to_string_lossy().into_owned(),
        Err(_) => "<str() failed>".into(),
    }
}

pub fn safe_repr(obj: &Bound<'_, PyAny>) -> String {
    let mut r = match obj.repr() {
        Ok(s) => s.to_string_lossy().into_owned(),
        Err(e) => format!("<repr() failed: {e}>"),
    };
    if r.len() > MAX_REPR {
        let mut cut = MAX_REPR;
        while !r.is_char_boundary(cut) {
            cut -= 1;
        }
        r.truncate(cut);
        r.push_str("...");
    }
    r
}

const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Names (and `name.attr` chains) a line of source uses, in order, outside string literals.
pub fn names_in(line: &str) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut out: Vec<String> = Vec::new();
    // The name or chain just read, while a `.attr` may still extend it.
    let mut chain: Option<String> = None;
    let mut after_dot = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '#' {
            break;
        }
        if c == '"' || c == '\'' {
            let q = c;
            i += 1;
            while i < chars.len() && chars[i] != q {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            chain = None;
            after_dot = false;
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let string_prefix =
                i < chars.len() && (chars[i] == '"' || chars[i] == '\'') && word.len() <= 2;
            let next = match (&chain, after_dot) {
                (Some(prev), true) => Some(format!("{prev}.{word}")),
                (_, true) => None, // attribute of a call or literal: not a plain value
                _ if string_prefix || KEYWORDS.contains(&word.as_str()) => None,
                _ => Some(word),
            };
            if let Some(n) = &next {
                if !out.contains(n) {
                    out.push(n.clone());
                }
            }
            chain = next;
            after_dot = false;
            continue;
        }
        if c == '.' {
            after_dot = true;
        } else if !c.is_whitespace() {
            chain = None;
            after_dot = false;
        }
        i += 1;
    }
    out
}

/// Values worth showing: data, not modules, classes or functions.
fn is_data(v: &Bound<'_, PyAny>) -> bool {
    if v.is_instance_of::<PyType>() || v.is_instance_of::<PyModule>() {
        return false;
    }
    let tn = v
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_default();
    !matches!(
        tn.as_str(),
        "function"
            | "builtin_function_or_method"
            | "method"
            | "method-wrapper"
            | "cython_function_or_method"
    )
}

fn lookup<'py>(frame: &Bound<'py, PyAny>, name: &str) -> Option<Bound<'py, PyAny>> {
    let mut parts = name.split('.');
    let root = parts.next()?;
    let mut value = frame
        .getattr("f_locals")
        .ok()
        .and_then(|l| l.get_item(root).ok())
        .or_else(|| {
            frame
                .getattr("f_globals")
                .ok()
                .and_then(|g| g.get_item(root).ok())
        })?;
    for attr in parts {
        // Only instance attributes, read from __dict__: never run a property to show a value.
        let d = value.getattr("__dict__").ok()?;
        value = d.get_item(attr).ok()?;
    }
    Some(value)
}

fn values_on_line(frame: &Bound<'_, PyAny>, line: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for name in names_in(line) {
        if let Some(v) = lookup(frame, &name).filter(is_data) {
            out.push(Value {
                name,
                repr: safe_repr(&v),
            });
        }
    }
    // `self` alone says little when `self.x` is shown.
    if out.iter().any(|v| v.name.starts_with("self.")) {
        out.retain(|v| v.name != "self");
    }
    out
}

/// One exception as Python prints it (its user frames, then `Type: message`). For the
/// outermost one, `d` also gets what reports show beside the traceback.
fn format_one(
    py: Python<'_>,
    exc: &Bound<'_, PyAny>,
    bridge: &Bridge,
    d: &mut Described,
    outer: bool,
) -> String {
    let ty = exc.get_type();
    let exc_type = type_name(&ty);
    let text = safe_str(exc);
    let tb = exc.getattr("__traceback__").ok();
    let kept = user_frames(frames(tb), bridge);
    let mut s = format_frames(py, &kept, bridge);
    let is_syntax = exc.is_instance_of::<pyo3::exceptions::PySyntaxError>();
    if is_syntax {
        let line = format_syntax_location(exc, bridge, &mut s);
        if outer {
            d.syntax_line = line;
        }
    }
    // A syntax error's str() repeats the file and line, already shown above.
    let text = if is_syntax {
        exc.getattr("msg")
            .ok()
            .map(|m| safe_str(&m))
            .unwrap_or(text)
    } else {
        text
    };
    if text.is_empty() {
        s.push_str(&exc_type);
    } else {
        s.push_str(&format!("{exc_type}: {text}"));
    }
    if outer {
        d.is_assertion = exc.is_instance_of::<pyo3::exceptions::PyAssertionError>();
        d.is_system_exit = exc.is_instance_of::<pyo3::exceptions::PySystemExit>();
        d.exc_type = exc_type;
        d.text = text;
        if let Some(last) = kept.last() {
            d.source = source_line(py, &last.file, last.line);
            if d.is_assertion {
                if let Some(src) = &d.source {
                    d.values = values_on_line(&last.frame, src);
                }
            }
        }
    }
    s
}

/// The traceback's frames with their source lines. Like Python, identical consecutive
/// frames (recursion) show three times, then a count.
fn format_frames(py: Python<'_>, kept: &[Frame<'_>], bridge: &Bridge) -> String {
    let mut s = String::new();
    if !kept.is_empty() {
        s.push_str("Traceback (most recent call last):\n");
    }
    let mut repeats = 0usize;
    for (i, f) in kept.iter().enumerate() {
        let same = i > 0
            && kept[i - 1].file == f.file
            && kept[i - 1].line == f.line
            && kept[i - 1].func == f.func;
        repeats = if same { repeats + 1 } else { 0 };
        if repeats >= 3 {
            let next_same = kept
                .get(i + 1)
                .is_some_and(|n| n.file == f.file && n.line == f.line && n.func == f.func);
            if !next_same {
                s.push_str(&format!(
                    "  [Previous line repeated {} more times]\n",
                    repeats - 2
                ));
            }
            continue;
        }
        s.push_str(&format!(
            "  File \"{}\", line {}, in {}\n",
            bridge.display_path(&f.file),
            f.line,
            f.func
        ));
        if let Some(src) = source_line(py, &f.file, f.line) {
            s.push_str(&format!("    {src}\n"));
        }
    }
    s
}

/// A syntax error's own location (file, line, the code and a caret), as Python shows it;
/// returns its line.
fn format_syntax_location(exc: &Bound<'_, PyAny>, bridge: &Bridge, s: &mut String) -> Option<u32> {
    let file: Option<String> = exc.getattr("filename").ok().and_then(|v| v.extract().ok());
    let line: Option<u32> = exc.getattr("lineno").ok().and_then(|v| v.extract().ok());
    let code: Option<String> = exc.getattr("text").ok().and_then(|v| v.extract().ok());
    let offset: Option<usize> = exc.getattr("offset").ok().and_then(|v| v.extract().ok());
    if let (Some(file), Some(line)) = (&file, line) {
        s.push_str(&format!(
            "  File \"{}\", line {line}\n",
            bridge.display_path(file)
        ));
        if let Some(code) = &code {
            let trimmed = code.trim_end();
            let indent = trimmed.len() - trimmed.trim_start().len();
            s.push_str(&format!("    {}\n", trimmed.trim_start()));
            if let Some(off) = offset.filter(|o| *o > indent) {
                s.push_str(&format!("    {}^\n", " ".repeat(off - 1 - indent)));
            }
        }
    }
    line
}

/// Describe an exception raised by user code.
pub fn describe(py: Python<'_>, err: &PyErr, bridge: &Bridge) -> Described {
    let mut d = Described::default();
    let exc = err.value(py).clone().into_any();
    // Before 3.12 a fetched exception's traceback travels beside it, not on it.
    if let Some(tb) = err.traceback(py) {
        let _ = exc.setattr("__traceback__", tb);
    }
    let mut text = format_one(py, &exc, bridge, &mut d, true);
    // Chained exceptions, innermost cause first, as Python prints them (a few levels).
    let mut cur = exc;
    for _ in 0..3 {
        let cause = cur.getattr("__cause__").ok().filter(|c| !c.is_none());
        let (next, link) = match cause {
            Some(c) => (
                c,
                "The above exception was the direct cause of the following exception:",
            ),
            None => {
                let suppressed = cur
                    .getattr("__suppress_context__")
                    .ok()
                    .and_then(|v| v.extract::<bool>().ok())
                    .unwrap_or(false);
                match cur
                    .getattr("__context__")
                    .ok()
                    .filter(|c| !c.is_none() && !suppressed)
                {
                    Some(c) => (
                        c,
                        "During handling of the above exception, another exception occurred:",
                    ),
                    None => break,
                }
            }
        };
        let mut ignored = Described::default();
        let inner = format_one(py, &next, bridge, &mut ignored, false);
        text = format!("{inner}\n\n{link}\n\n{text}");
        cur = next;
    }
    d.traceback = text;
    d
}

#[cfg(test)]
mod tests {
    use super::names_in;

    #[test]
    fn comments_are_stripped_outside_strings() {
        assert_eq!(
            super::strip_comment("assert a == b  # why"),
            "assert a == b"
        );
        assert_eq!(
            super::strip_comment("assert s == '#not' # c"),
            "assert s == '#not'"
        );
    }

    #[test]
    fn names_skip_strings_keywords_and_attributes() {
        assert_eq!(
            names_in("assert actual == expected  # compare"),
            vec!["actual", "expected"]
        );
        assert_eq!(
            names_in("assert 1 + 1 == 3, \"arithmetic is broken\""),
            Vec::<String>::new()
        );
        assert_eq!(
            names_in("assert len(self.items) == n"),
            vec!["len", "self", "self.items", "n"]
        );
        assert_eq!(names_in("assert x in f'{y}' and not z"), vec!["x", "z"]);
        assert_eq!(
            names_in("expect(user.name).to_equal(\"bob\")"),
            vec!["expect", "user", "user.name"]
        );
    }
}
