//! A static, import-free reading of a test file: which suites and tests it declares, with their
//! tags. It lets `--list` and the filters work without importing (and so without running)
//! user code. It is deliberately lenient: the import at run time is the authority, this only
//! decides which files are worth importing.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::runner::collect::{Collection, NameRule};
use crate::runner::discover::relative;
use crate::runner::scan_fixtures::{self, Fixture, Level};

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
    // Python ends a line at CRLF, LF or a lone CR: one newline each.
    let normalized;
    let src = if src.contains('\r') {
        normalized = src.replace("\r\n", "\n").replace('\r', "\n");
        normalized.as_str()
    } else {
        src
    };
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
                i = string_literal(b, i, &mut cur, &mut line_no);
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

/// Copy the string literal opening at `b[i]` into `cur` (its newlines left out, escapes
/// kept), counting the lines it spans; the index just past it.
fn string_literal(b: &[u8], mut i: usize, cur: &mut Vec<u8>, line_no: &mut u32) -> usize {
    let c = b[i];
    let triple = i + 2 < b.len() && b[i + 1] == c && b[i + 2] == c;
    let q = if triple { 3 } else { 1 };
    cur.push(c);
    i += q;
    while i < b.len() {
        let d = b[i];
        if d == b'\\' && i + 1 < b.len() {
            if b[i + 1] == b'\n' {
                *line_no += 1;
            }
            cur.extend_from_slice(&b[i..i + 2]);
            i += 2;
            continue;
        }
        if d == b'\n' {
            *line_no += 1;
            if !triple {
                break;
            }
        } else if d == c && (!triple || (i + 2 < b.len() && b[i + 1] == c && b[i + 2] == c)) {
            i += q;
            break;
        } else {
            cur.push(d);
        }
        i += 1;
    }
    cur.push(c);
    i
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
    top_level_split(args).into_iter().find_map(|p| {
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

/// A `@test` found in a class body or at module level.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TestDef {
    line: u32,
    tags: Tags,
    skip: bool,
}

/// What a module-level name is bound to, as far as the source shows.
#[derive(Debug, Clone)]
enum Bound {
    /// A class statement of this module (index into `ModuleInfo::classes`).
    Class(usize),
    /// A module-level `def`, and its `@test` if it has one.
    Func(Option<TestDef>),
    /// `from MODULE import NAME` (`level` leading dots).
    From {
        module: String,
        level: usize,
        name: String,
    },
    /// `import a.b as x` (the module a.b) or `import a.b` (binds a: the module a).
    Module { module: String },
    /// A module-level constant of string literals (`UNIT = ["unit"]`), usable as tags.
    Strings(Vec<String>),
    /// Anything else (an assignment...).
    Other,
}

/// A class's base as written, with the binding its first name had where the class was made.
#[derive(Debug, Clone)]
enum BaseRef {
    /// `Name` or `a.b.Name`: the head's binding (None if unbound: a builtin or star import).
    Path {
        head: String,
        bound: Option<Bound>,
        rest: Vec<String>,
    },
    /// A call, a subscript...: only running it tells.
    Opaque(String),
}

/// A `def` as unittest and pytest-style collection see it: where, and its decorators.
#[derive(Debug, Clone, Default)]
struct DefInfo {
    line: u32,
    decorators: Vec<String>,
    /// It has a parameter without a default (besides `*args`, `**kwargs`).
    takes_args: bool,
    /// Its parameters without defaults (`self` included): the fixtures pytest gives it.
    args: Vec<String>,
}

/// The names of a `def` line's parameters without defaults (keyword-only ones included), as
/// pytest's `getfuncargnames` reads them.
fn arg_names(def_text: &str) -> Vec<String> {
    let Some(open) = def_text.find('(') else {
        return Vec::new();
    };
    top_level_split(class_bases(&def_text[open..]))
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.contains('=') && !p.starts_with('*') && *p != "/")
        .map(|p| p.split(':').next().unwrap_or(p).trim().to_string())
        .filter(|p| is_ident(p))
        .collect()
}

/// A function's fixture definition, if a `@pytest.fixture` decorates it. `method`: defined in
/// a class, its first parameter is `self`.
fn fixture_of(func: &str, info: &DefInfo, method: bool) -> Option<Fixture> {
    let args = info.decorators.iter().find_map(|d| {
        let d = d.trim();
        let d = ["pytest.", "pytest_asyncio."]
            .iter()
            .find_map(|p| d.strip_prefix(p))
            .unwrap_or(d);
        let rest = d
            .strip_prefix("fixture")
            .or_else(|| d.strip_prefix("yield_fixture"))?
            .trim_start();
        if rest.is_empty() {
            return Some("");
        }
        rest.strip_prefix('(')
            .map(|r| r.strip_suffix(')').unwrap_or(r))
    })?;
    let name = keyword(args, "name")
        .and_then(string_literals)
        .and_then(|v| v.into_iter().next())
        .unwrap_or_else(|| func.to_string());
    let static_method = info.decorators.iter().any(|d| d.trim() == "staticmethod");
    let skip = usize::from(method && !static_method);
    Some(Fixture {
        name,
        line: info.line,
        params: keyword(args, "params").is_some_and(|v| v != "None"),
        args: info.args.iter().skip(skip).cloned().collect(),
        autouse: keyword(args, "autouse").is_some_and(|v| v != "False"),
    })
}

/// The fixtures a module defines at its top level, and the names it imports.
fn level_of(info: &ModuleInfo, file: String) -> Level {
    let mut level = Level {
        file,
        ..Level::default()
    };
    let mut defs: Vec<(&String, &DefInfo)> = info.defs.iter().collect();
    defs.sort_by_key(|(_, d)| d.line);
    for (name, def) in defs {
        if let Some(f) = fixture_of(name, def, false) {
            level.add(f);
        }
    }
    for (name, b) in &info.names {
        if matches!(b, Bound::From { .. } | Bound::Module { .. }) {
            level.imported.insert(name.clone());
        }
    }
    level.opaque = if let Some((module, _)) = info.stars.first() {
        Some(format!("`from {module} import *`"))
    } else if info.names.contains_key("pytest_plugins") {
        Some("pytest_plugins".into())
    } else {
        None
    };
    level
}

/// The fixtures a test class (and its bases) defines: the nearest definition wins.
fn class_level(classes: &[&ClassDef], file: &str) -> Level {
    let mut level = Level {
        file: file.to_string(),
        ..Level::default()
    };
    for c in classes {
        for (n, info) in &c.methods {
            if let Some(f) = fixture_of(n, info, true) {
                level.fixtures.entry(f.name.clone()).or_insert(f);
            }
        }
    }
    level
}

/// The argument names a test's literal `parametrize` marks provide, and the fixtures its
/// `usefixtures` marks request.
fn marked_names<'a>(marks: impl Iterator<Item = &'a str>) -> (Vec<String>, Vec<String>) {
    let (mut covered, mut used) = (Vec::new(), Vec::new());
    for d in marks {
        let names = mark_names(d);
        if names.iter().any(|m| m == "parametrize") {
            if let Some(args) = parametrize_args(d) {
                let first = top_level_split(args).into_iter().next().unwrap_or("");
                let text = keyword(args, "argnames").unwrap_or(first);
                if let Some((n, _)) = parametrize_names(text.trim()) {
                    covered.extend(n);
                }
            }
        }
        let mut rest = d;
        while let Some(at) = rest.find("usefixtures(") {
            rest = &rest[at..];
            used.extend(string_literals(class_bases(rest)).unwrap_or_default());
            rest = &rest[1..];
        }
    }
    (covered, used)
}

/// Whether a `def` line's parameters include one without a default value.
fn takes_args(def_text: &str) -> bool {
    let Some(open) = def_text.find('(') else {
        return false;
    };
    let params = class_bases(&def_text[open..]);
    top_level_split(params)
        .into_iter()
        .map(str::trim)
        .any(|p| !p.is_empty() && !p.contains('=') && !p.starts_with('*') && p != "/")
}

#[derive(Debug, Clone)]
struct ClassDef {
    name: String,
    /// Every method (and `__init__`), in `__dict__` order: unittest and pytest-style tests.
    methods: Vec<(String, DefInfo)>,
    /// The class statement's decorators (`@unittest.skip(...)`, `@pytest.mark.slow`).
    decorators: Vec<String>,
    /// The value of a `pytestmark = ...` in the class body.
    pytestmark: Option<String>,
    /// `__test__ = False` in the class body: pytest does not collect it.
    not_a_test: bool,
    bases: Vec<BaseRef>,
    /// Class decorators may replace the class or add tests.
    decorated: bool,
    /// The class `__dict__`'s entries that matter, in insertion order: a name redefined keeps
    /// its first place and takes its last value (None: not a test).
    tests: Vec<(String, Option<TestDef>)>,
}

/// One file read statically: its module-level names (in `__dict__` order) and classes.
#[derive(Debug, Clone, Default)]
struct ModuleInfo {
    order: Vec<String>,
    names: HashMap<String, Bound>,
    classes: Vec<ClassDef>,
    /// `from M import *`, in order: (module, level).
    stars: Vec<(String, usize)>,
    /// Why the file's suites or tests cannot be known without running it.
    dynamic: Option<String>,
    /// Module-level statements (line) that use a class of the file (index) after its
    /// definition: `Alias = Suite`, `Suite.extra = ...`.
    class_uses: Vec<(u32, usize)>,
    /// Module-level functions: pytest-style tests when named `test*`.
    defs: HashMap<String, DefInfo>,
    /// The value of a module-level `pytestmark = ...`.
    pytestmark: Option<String>,
}

impl ModuleInfo {
    fn bind(&mut self, name: &str, b: Bound) {
        if !self.names.contains_key(name) {
            self.order.push(name.to_string());
        }
        self.names.insert(name.to_string(), b);
    }
}

fn upsert(v: &mut Vec<(String, Option<TestDef>)>, name: &str, t: Option<TestDef>) {
    match v.iter_mut().find(|(n, _)| n == name) {
        Some(e) => e.1 = t,
        None => v.push((name.to_string(), t)),
    }
}

/// The identifiers of `text` outside string literals.
fn idents(text: &str) -> impl Iterator<Item = &str> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    std::iter::from_fn(move || {
        while i < b.len() {
            let c = b[i];
            if let Some(q) = quote {
                if c == b'\\' {
                    i += 2;
                    continue;
                }
                if c == q {
                    quote = None;
                }
                i += 1;
                continue;
            }
            if c == b'"' || c == b'\'' {
                quote = Some(c);
                i += 1;
                continue;
            }
            if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] >= 0x80)
                {
                    i += 1;
                }
                // Attribute names (`x.type`) are not names of this module.
                if start > 0 && b[start - 1] == b'.' {
                    continue;
                }
                return Some(&text[start..i]);
            }
            i += 1;
        }
        None
    })
}

fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// Split at top-level commas.
fn top_level_split(args: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start, mut quote) = (0i32, 0usize, None::<u8>);
    let b = args.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == b'\\' {
                i += 2;
                continue;
            }
            if c == q {
                quote = None;
            }
        } else {
            match c {
                b'"' | b'\'' => quote = Some(c),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                b',' if depth == 0 => {
                    out.push(&args[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        i += 1;
    }
    out.push(&args[start..]);
    out.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// The base list of a class header: the text between the parentheses after the name.
fn class_bases(text: &str) -> &str {
    let Some(open) = text.find('(') else {
        return "";
    };
    let b = text.as_bytes();
    let (mut depth, mut quote) = (0i32, None::<u8>);
    for (i, &c) in b.iter().enumerate().skip(open) {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            b'"' | b'\'' => quote = Some(c),
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => {
                depth -= 1;
                if depth == 0 {
                    return &text[open + 1..i];
                }
            }
            _ => {}
        }
    }
    &text[open + 1..]
}

/// Parse `import ...` / `from ... import ...`, binding names in `m`.
fn parse_import(text: &str, m: &mut ModuleInfo) -> bool {
    if let Some(rest) = text.strip_prefix("import ") {
        for part in top_level_split(rest) {
            let part = part.trim();
            let (module, alias) = match part.split_once(" as ") {
                Some((a, b)) => (a.trim(), Some(b.trim())),
                None => (part, None),
            };
            match alias {
                Some(a) => m.bind(
                    a,
                    Bound::Module {
                        module: module.to_string(),
                    },
                ),
                None => {
                    let head = module.split('.').next().unwrap_or(module).trim();
                    m.bind(
                        head,
                        Bound::Module {
                            module: head.to_string(),
                        },
                    );
                }
            }
        }
        return true;
    }
    let Some(rest) = text.strip_prefix("from ") else {
        return false;
    };
    let Some((module, names)) = rest.split_once(" import") else {
        return true;
    };
    let module = module.trim();
    let level = module.len() - module.trim_start_matches('.').len();
    let module = module.trim_start_matches('.').trim().to_string();
    let names = names.trim().trim_start_matches('(').trim_end_matches(')');
    for part in top_level_split(names) {
        let part = part.trim();
        if part == "*" {
            m.stars.push((module.clone(), level));
            continue;
        }
        let (name, alias) = match part.split_once(" as ") {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        m.bind(
            alias,
            Bound::From {
                module: module.clone(),
                level,
                name: name.to_string(),
            },
        );
    }
    true
}

/// Names a module-level statement cannot mention without possibly making suites or tests
/// that only running the module shows.
const DYNAMIC_NAMES: &[&str] = &[
    "TestSuite",
    "test",
    "type",
    "globals",
    "locals",
    "vars",
    "setattr",
    "exec",
    "__dbtest__",
    "__dict__",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    Class(usize),
    /// A module-level function (index in `factories` tracking) or any other function.
    Def {
        module_level: bool,
    },
    Other,
}

/// Read one file's module-level structure.
fn parse(src: &str) -> ModuleInfo {
    let mut p = Parser::default();
    for l in logical_lines(src) {
        p.line(&l);
    }
    p.finish()
}

/// The state of reading one file, logical line by logical line.
#[derive(Default)]
struct Parser {
    m: ModuleInfo,
    /// The blocks open at the current line: (indent, kind).
    stack: Vec<(usize, Block)>,
    /// Decorators waiting for their `class` or `def`: (line, text after `@`).
    decorators: Vec<(u32, String)>,
    /// Module-level functions that define a class: called at module level, they may make suites.
    factories: Vec<String>,
    /// The last module-level `def`.
    current_def: Option<String>,
}

impl Parser {
    fn line(&mut self, l: &Logical) {
        while self.stack.last().is_some_and(|(i, _)| *i >= l.indent) {
            self.stack.pop();
        }
        let text = l.text.trim();
        if let Some(d) = text.strip_prefix('@') {
            self.decorators.push((l.line, d.to_string()));
            return;
        }
        let in_code = self
            .stack
            .iter()
            .any(|(_, b)| matches!(b, Block::Class(_) | Block::Def { .. }));
        if let Some((name, _)) = class_header(text) {
            self.class(l, text, name, in_code);
        } else if let Some(name) = def_name(text) {
            self.def(l, name);
        } else if in_code {
            self.code_line(l, text);
        } else {
            self.module_statement(l, text);
        }
        self.decorators.clear();
    }

    /// `class Name(...):`: a suite candidate at module level; inside a block, a class only
    /// running the code can tell about.
    fn class(&mut self, l: &Logical, text: &str, name: &str, in_code: bool) {
        if self.stack.is_empty() {
            self.m.classes.push(ClassDef {
                name: name.to_string(),
                bases: base_refs(class_bases(text), &self.m.names),
                decorated: !self.decorators.is_empty(),
                tests: Vec::new(),
                methods: Vec::new(),
                decorators: self.decorators.iter().map(|(_, d)| d.clone()).collect(),
                pytestmark: None,
                not_a_test: false,
            });
            let idx = self.m.classes.len() - 1;
            self.m.bind(name, Bound::Class(idx));
            self.stack.push((l.indent, Block::Class(idx)));
            return;
        }
        if !in_code && self.m.dynamic.is_none() {
            self.m.dynamic = Some(format!(
                "class {name} is defined inside a block (line {})",
                l.line
            ));
        }
        if let Some(f) = &self.current_def {
            if self
                .stack
                .iter()
                .any(|(_, b)| *b == Block::Def { module_level: true })
                && !self.factories.contains(f)
            {
                self.factories.push(f.clone());
            }
        }
        // A nested class's methods are not the suite's (nor module-level) tests.
        self.stack.push((
            l.indent,
            Block::Def {
                module_level: false,
            },
        ));
    }

    /// `def name(...):`: a test if decorated with `@test`, in a suite or at module level.
    fn def(&mut self, l: &Logical, name: &str) {
        let t = test_of(&self.decorators, &self.m.names);
        let top = self.stack.last().map(|(_, b)| *b);
        let info = DefInfo {
            line: self.decorators.first().map_or(l.line, |(line, _)| *line),
            decorators: self.decorators.iter().map(|(_, d)| d.clone()).collect(),
            takes_args: takes_args(l.text.trim()),
            args: arg_names(l.text.trim()),
        };
        match top {
            Some(Block::Class(idx)) => {
                upsert(&mut self.m.classes[idx].tests, name, t);
                let methods = &mut self.m.classes[idx].methods;
                match methods.iter_mut().find(|(n, _)| n == name) {
                    Some(e) => e.1 = info,
                    None => methods.push((name.to_string(), info)),
                }
            }
            None => {
                if name == "load_tests" && self.m.dynamic.is_none() {
                    self.m.dynamic = Some(format!(
                        "load_tests (line {}) adds tests when the module runs",
                        l.line
                    ));
                }
                self.m.defs.insert(name.to_string(), info);
                self.m.bind(name, Bound::Func(t));
                self.current_def = Some(name.to_string());
            }
            // At module level or in a class body, but under an if/for/try.
            _ if t.is_some()
                && self.m.dynamic.is_none()
                && !self
                    .stack
                    .iter()
                    .any(|(_, b)| matches!(b, Block::Def { .. })) =>
            {
                self.m.dynamic = Some(format!(
                    "test {name} is defined inside a block (line {})",
                    l.line
                ));
            }
            _ => {}
        }
        self.stack.push((
            l.indent,
            Block::Def {
                module_level: top.is_none(),
            },
        ));
    }

    /// Any other line of a class or function body.
    fn code_line(&mut self, l: &Logical, text: &str) {
        let top = self.stack.last().map(|(_, b)| *b);
        if text.ends_with(':') {
            self.stack.push((l.indent, Block::Other));
        }
        // A class-body assignment replaces a test of that name.
        if let Some(Block::Class(idx)) = top {
            if let Some((target, value)) = text.split_once('=') {
                let target = target.trim();
                if target == "pytestmark" {
                    self.m.classes[idx].pytestmark = Some(value.into());
                }
                if target == "__test__" {
                    self.m.classes[idx].not_a_test = value.trim() == "False";
                }
                if is_ident(target) && !text.contains("==") {
                    let tests = &mut self.m.classes[idx].tests;
                    if tests.iter().any(|(n, _)| n == target) {
                        upsert(tests, target, None);
                    }
                }
            }
        }
    }

    /// Any other statement at module level (possibly inside if/try/for blocks).
    fn module_statement(&mut self, l: &Logical, text: &str) {
        if parse_import(text, &mut self.m) {
            return;
        }
        if text.ends_with(':') {
            self.stack.push((l.indent, Block::Other));
        }
        if self.m.dynamic.is_none() {
            for id in idents(text) {
                if let Some(Bound::Class(i)) = self.m.names.get(id) {
                    // Aliasing or changing a class matters only if it is a suite.
                    self.m.class_uses.push((l.line, *i));
                }
            }
            let suspicious = idents(text)
                .find(|id| DYNAMIC_NAMES.contains(id) || self.factories.iter().any(|f| f == id));
            if let Some(id) = suspicious {
                self.m.dynamic = Some(format!(
                    "line {} uses {id} at module level, which may make suites or tests",
                    l.line
                ));
            }
        }
        if let Some((target, value)) = text.split_once('=') {
            let target = target.split(':').next().unwrap_or(target).trim();
            if target == "pytestmark" {
                self.m.pytestmark = Some(value.to_string());
            }
            if is_ident(target) && !text.contains("==") {
                let b = match string_literals(value) {
                    Some(v) if !value.trim().is_empty() => Bound::Strings(v),
                    _ => Bound::Other,
                };
                self.m.bind(target, b);
            }
        }
    }

    fn finish(mut self) -> ModuleInfo {
        // The `test` decorator or the module under another name: the scan would not see tests.
        if self.m.dynamic.is_none() {
            self.m.dynamic = self.m.names.iter().find_map(|(alias, b)| match b {
                Bound::From {
                    module,
                    level: 0,
                    name,
                } if module == "dbtest" && name == "test" && alias != "test" => {
                    Some(format!("dbtest's test is imported as {alias}"))
                }
                Bound::Module { module } if module == "dbtest" && alias != "dbtest" => {
                    Some(format!("dbtest is imported as {alias}"))
                }
                _ => None,
            });
        }
        self.m
    }
}

/// The `@test` among a `def`'s decorators, with its tags as far as the source shows them.
fn test_of(decorators: &[(u32, String)], names: &HashMap<String, Bound>) -> Option<TestDef> {
    decorators.iter().find_map(|(line, d)| {
        let args = test_decorator(d)?;
        let tags = match keyword(args, "tags") {
            None => Tags::Known(Vec::new()),
            Some(v) => match (string_literals(v), names.get(v)) {
                (Some(t), _) => Tags::Known(t),
                (None, Some(Bound::Strings(t))) => Tags::Known(t.clone()),
                _ => Tags::Unknown,
            },
        };
        let skip = keyword(args, "skip").is_some_and(|v| v != "None" && v != "False");
        Some(TestDef {
            line: *line,
            tags,
            skip,
        })
    })
}

/// A class statement's bases as written (`A, mod.B, make()`), each with the binding its
/// first name has at that point.
fn base_refs(bases: &str, names: &HashMap<String, Bound>) -> Vec<BaseRef> {
    top_level_split(bases)
        .into_iter()
        .map(str::trim)
        .filter(|b| {
            // Keywords (metaclass=...) are not bases.
            !b.split_once('=').is_some_and(|(k, _)| is_ident(k.trim()))
        })
        .map(|b| {
            let parts: Vec<&str> = b.split('.').map(str::trim).collect();
            if parts.iter().all(|p| is_ident(p)) {
                BaseRef::Path {
                    head: parts[0].to_string(),
                    bound: names.get(parts[0]).cloned(),
                    rest: parts[1..].iter().map(|s| s.to_string()).collect(),
                }
            } else {
                BaseRef::Opaque(b.to_string())
            }
        })
        .collect()
}

/// Marks pytest acts on; any other mark is a tag.
const RUNNER_MARKS: &[&str] = &[
    "skip",
    "skipif",
    "xfail",
    "parametrize",
    "usefixtures",
    "filterwarnings",
];

/// The names of the pytest marks an expression applies (`pytest.mark.slow`,
/// `[mark.a, pytest.mark.b(...)]`).
fn mark_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("mark.") {
        let before = &rest[..at];
        let after = &rest[at + 5..];
        rest = after;
        // `pytest.mark.x` or a bare `mark.x`, not `landmark.x`.
        let prev = before.chars().next_back();
        if prev.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if prev == Some('.') && !before.ends_with("pytest.") {
            continue;
        }
        let end = after
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if end > 0 {
            out.push(after[..end].to_string());
        }
    }
    out
}

fn is_unittest_skip(deco: &str) -> bool {
    let d = deco.trim();
    let d = d.strip_prefix("unittest.").unwrap_or(d);
    d.starts_with("skip(") || d == "skip"
}

/// A pytest-style test function or method read statically, with the marks of its class
/// (decorators and `pytestmark` texts) and module. Parametrized tests' ids need their values:
/// Err (only importing tells).
fn pytest_test(
    name: &str,
    info: &DefInfo,
    class_marks: &[String],
    module_marks: Option<&str>,
) -> Result<Vec<StaticTest>, String> {
    let mut marks: Vec<String> = Vec::new();
    for d in info
        .decorators
        .iter()
        .chain(class_marks)
        .map(String::as_str)
        .chain(module_marks)
    {
        marks.extend(mark_names(d));
    }
    let tags_of = |marks: &[String]| {
        let mut tags: Vec<String> = Vec::new();
        for m in marks {
            if !RUNNER_MARKS.contains(&m.as_str()) && !tags.contains(m) {
                tags.push(m.clone());
            }
        }
        tags
    };
    if !marks.iter().any(|m| m == "parametrize") {
        return Ok(vec![StaticTest {
            suite: None,
            name: name.to_string(),
            line: info.line,
            skip: marks.iter().any(|m| m == "skip"),
            tags: Tags::Known(tags_of(&marks)),
        }]);
    }
    // Parametrize calls in the order pytest applies them: the decorator nearest the
    // function first, then the class's marks, then the module's.
    let undecidable = || {
        format!(
            "test {name} is parametrized (line {}) with values only its import tells",
            info.line
        )
    };
    let mut calls: Vec<&str> = Vec::new();
    for d in info.decorators.iter().rev().chain(class_marks.iter()) {
        if mark_names(d).iter().any(|m| m == "parametrize") {
            let one = parametrize_args(d).ok_or_else(undecidable)?;
            calls.push(one);
        }
    }
    if module_marks.is_some_and(|m| mark_names(m).iter().any(|n| n == "parametrize")) {
        return Err(undecidable());
    }
    let mut cases: Vec<(Option<String>, Vec<String>)> = vec![(None, Vec::new())];
    for args in calls {
        let params = parametrize_cases(args).ok_or_else(undecidable)?;
        let mut next = Vec::new();
        for (id, extra) in &cases {
            for (pid, pmarks) in &params {
                let joined = match id {
                    Some(i) => format!("{i}-{pid}"),
                    None => pid.clone(),
                };
                let mut m = extra.clone();
                m.extend(pmarks.iter().cloned());
                next.push((Some(joined), m));
            }
        }
        cases = next;
    }
    Ok(cases
        .into_iter()
        .map(|(id, extra)| {
            let mut all = extra;
            all.extend(marks.iter().cloned());
            StaticTest {
                suite: None,
                name: format!("{name}[{}]", id.unwrap_or_default()),
                line: info.line,
                skip: all.iter().any(|m| m == "skip"),
                tags: Tags::Known(tags_of(&all)),
            }
        })
        .collect())
}

/// The argument text of a `parametrize(...)` mark, if the text is one.
fn parametrize_args(deco: &str) -> Option<&str> {
    let at = deco.find("parametrize")?;
    let rest = deco[at + "parametrize".len()..].trim_start();
    let inner = rest.strip_prefix('(')?;
    inner.trim_end().strip_suffix(')')
}

/// pytest's id of a literal value (`_idval_from_value`), when the text is one whose id the
/// source alone tells: numbers, plain ASCII strings, True, False, None.
fn literal_id(v: &str) -> Option<String> {
    let v = v.trim();
    if matches!(v, "True" | "False" | "None") {
        return Some(v.to_string());
    }
    if let Some(lits) = string_literals(v) {
        let quoted = v.starts_with(['"', '\'']);
        if quoted && lits.len() == 1 && !v.contains('\\') {
            let s = &lits[0];
            if s.chars().all(|c| c.is_ascii() && !c.is_ascii_control()) {
                return Some(s.clone());
            }
        }
        return None;
    }
    let digits = v.strip_prefix('-').unwrap_or(v);
    let int = !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if int {
        return Some(v.to_string());
    }
    // A float whose str() is its own text: 1.5, -0.25, 2.0.
    let (whole, frac) = digits.split_once('.')?;
    let simple = !whole.is_empty()
        && whole.chars().all(|c| c.is_ascii_digit())
        && (whole == "0" || !whole.starts_with('0'))
        && !frac.is_empty()
        && frac.chars().all(|c| c.is_ascii_digit())
        && (frac == "0" || !frac.ends_with('0'))
        && whole.len() + frac.len() <= 15;
    simple.then(|| v.to_string())
}

/// The cases of one `parametrize(argnames, argvalues, ids=...)` call read from its text:
/// (id, marks of its `pytest.param`), ids made unique as pytest makes them. None when a value
/// or id is not a literal.
fn parametrize_cases(args: &str) -> Option<Vec<(String, Vec<String>)>> {
    let positional: Vec<&str> = top_level_split(args)
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .filter(|p| !p.split_once('=').is_some_and(|(k, _)| is_ident(k.trim())))
        .collect();
    let names_text = keyword(args, "argnames").or_else(|| positional.first().copied())?;
    let values_text = keyword(args, "argvalues").or_else(|| positional.get(1).copied())?;
    let (argnames, force_tuple) = parametrize_names(names_text.trim())?;
    let ids = match keyword(args, "ids") {
        None => None,
        Some(t) => Some(parametrize_ids(t.trim())?),
    };
    let values = values_text.trim();
    let inner = values.strip_prefix(['[', '('])?.strip_suffix([']', ')'])?;
    let elements: Vec<&str> = top_level_split(inner)
        .into_iter()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    if elements.is_empty() {
        return Some(vec![("NOTSET".to_string(), vec!["skip".to_string()])]);
    }
    let mut resolved: Vec<(String, Vec<String>)> = Vec::new();
    for (idx, e) in elements.iter().enumerate() {
        let (vals, explicit, marks) = parametrize_element(e, force_tuple)?;
        if vals.len() != argnames.len() {
            return None;
        }
        let listed = ids.as_ref().and_then(|i| i.get(idx).cloned().flatten());
        let id = match explicit.or(listed) {
            Some(i) => i,
            None => value_ids(&vals, &argnames, idx)?,
        };
        resolved.push((id, marks));
    }
    let ids: Vec<String> = resolved.iter().map(|(i, _)| i.clone()).collect();
    Some(
        unique_ids(ids)
            .into_iter()
            .zip(resolved)
            .map(|(i, (_, m))| (i, m))
            .collect(),
    )
}

/// `"a,b"` (a single name without a trailing comma takes whole values) or `["a", "b"]`:
/// the names and whether each value is one argument's (pytest's `force_tuple`).
fn parametrize_names(text: &str) -> Option<(Vec<String>, bool)> {
    if !text.starts_with(['"', '\'']) {
        return Some((string_literals(text)?, false));
    }
    let s = string_literals(text)?.into_iter().next()?;
    let trailing = s.trim_end().ends_with(',');
    let names: Vec<String> = s
        .split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect();
    let force = names.len() == 1 && !trailing;
    Some((names, force))
}

/// `ids=[...]` of literals and `None`s; None when an id is computed.
fn parametrize_ids(text: &str) -> Option<Vec<Option<String>>> {
    let inner = text.strip_prefix(['[', '('])?.strip_suffix([']', ')'])?;
    let mut out = Vec::new();
    for e in top_level_split(inner).into_iter().map(str::trim) {
        if e.is_empty() {
            continue;
        }
        out.push(if e == "None" {
            None
        } else {
            Some(literal_id(e)?)
        });
    }
    Some(out)
}

/// One element of a parametrize list: its values' texts, a `pytest.param(id=)`, its marks.
type Element<'a> = (Vec<&'a str>, Option<String>, Vec<String>);

fn parametrize_element(e: &str, force_tuple: bool) -> Option<Element<'_>> {
    if let Some(p) = e
        .strip_prefix("pytest.param(")
        .or_else(|| e.strip_prefix("param("))
    {
        let p = p.strip_suffix(')')?;
        let vals: Vec<&str> = top_level_split(p)
            .into_iter()
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .filter(|x| !x.split_once('=').is_some_and(|(k, _)| is_ident(k.trim())))
            .collect();
        let id = match keyword(p, "id") {
            None | Some("None") => None,
            Some(t) => Some(literal_id(t)?),
        };
        let marks = keyword(p, "marks").map(mark_names).unwrap_or_default();
        return Some((vals, id, marks));
    }
    if force_tuple {
        return Some((vec![e], None, Vec::new()));
    }
    let t = e.strip_prefix(['(', '['])?.strip_suffix([')', ']'])?;
    let vals: Vec<&str> = top_level_split(t)
        .into_iter()
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .collect();
    Some((vals, None, Vec::new()))
}

/// The id pytest makes from a case's values: each literal's text, a container's
/// `argname` + index, joined with `-`. None when a value is a name or a call (anything).
fn value_ids(vals: &[&str], argnames: &[String], idx: usize) -> Option<String> {
    let mut pieces = Vec::new();
    for (v, a) in vals.iter().zip(argnames) {
        let v = v.trim();
        let looks_literal = v.starts_with(['"', '\'', '-'])
            || v.starts_with(|c: char| c.is_ascii_digit())
            || matches!(v, "True" | "False" | "None");
        if looks_literal {
            pieces.push(literal_id(v)?);
        } else if v.starts_with(['(', '[', '{']) {
            pieces.push(format!("{a}{idx}"));
        } else {
            return None;
        }
    }
    Some(pieces.join("-"))
}

/// Ids made unique as pytest's IdMaker makes them: a repeated id gets its occurrence number
/// (after `_` when it ends in a digit).
fn unique_ids(ids: Vec<String>) -> Vec<String> {
    let count = |x: &String| ids.iter().filter(|y| *y == x).count();
    let mut suffixes: HashMap<String, usize> = HashMap::new();
    let mut out = ids.clone();
    for (index, id) in ids.iter().enumerate() {
        if count(id) > 1 {
            let sep = if id.ends_with(|c: char| c.is_ascii_digit()) {
                "_"
            } else {
                ""
            };
            let n = suffixes.entry(id.clone()).or_insert(0);
            let mut new = format!("{id}{sep}{n}");
            while ids.contains(&new) {
                *n += 1;
                new = format!("{id}{sep}{n}");
            }
            *n += 1;
            out[index] = new;
        }
    }
    out
}

/// What a static reading of one test file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileScan {
    /// Its tests, in the order a run reports them (inherited ones included, once per suite).
    Known(Vec<StaticTest>),
    /// Only importing it can tell which tests it has (why, for `--list`).
    Undecidable(String),
}

/// A value as far as the sources show.
#[derive(Debug, Clone)]
enum Val {
    TestSuite,
    /// A suite class: (module, class index).
    Suite(usize, usize),
    /// `unittest.TestCase` (or `IsolatedAsyncioTestCase`).
    UnitCase,
    /// A project class deriving from `unittest.TestCase`: (module, class index).
    Case(usize, usize),
    /// Any other project class: (module, class index).
    Plain(usize, usize),
    NotSuite,
    /// A project module.
    Module(usize),
    /// A module outside the project: dbtest, the standard library, or an installed package.
    External(String),
    Unknown(String),
}

struct Module {
    info: ModuleInfo,
    /// Its dotted name and the package its relative imports start from.
    package: String,
    /// A package's folder, where its submodules are.
    dir: Option<PathBuf>,
}

/// Reads test files and the project modules their suites come from, each once per run.
pub struct Resolver {
    /// The project root (on `sys.path` in the workers); None for files outside it.
    root: Option<PathBuf>,
    mods: Vec<Module>,
    by_name: HashMap<String, Option<usize>>,
    classes: HashMap<(usize, usize), Val>,
    /// pytest's `python_functions` and `python_classes`.
    functions: NameRule,
    test_classes: NameRule,
    /// Each folder's conftest.py fixtures, read once (None: no conftest.py there).
    conftests: HashMap<PathBuf, Option<Arc<Level>>>,
    /// The folder of the file being scanned (conftest.py files of files outside the root).
    dir: Option<PathBuf>,
    /// The fixture levels of the module being scanned (its index), made on first need.
    levels: Option<(usize, Vec<Arc<Level>>)>,
}

const MAX_DEPTH: usize = 64;

/// Top-level names of the standard library (Python 3.11's `sys.stdlib_module_names`): no
/// class of theirs derives from `TestSuite`.
const STDLIB: &[&str] = &[
    "__future__",
    "abc",
    "aifc",
    "argparse",
    "array",
    "ast",
    "asynchat",
    "asyncio",
    "asyncore",
    "atexit",
    "audioop",
    "base64",
    "bdb",
    "binascii",
    "bisect",
    "builtins",
    "bz2",
    "cProfile",
    "calendar",
    "cgi",
    "cgitb",
    "chunk",
    "cmath",
    "cmd",
    "code",
    "codecs",
    "codeop",
    "collections",
    "colorsys",
    "compileall",
    "concurrent",
    "configparser",
    "contextlib",
    "contextvars",
    "copy",
    "copyreg",
    "crypt",
    "csv",
    "ctypes",
    "curses",
    "dataclasses",
    "datetime",
    "dbm",
    "decimal",
    "difflib",
    "dis",
    "distutils",
    "doctest",
    "email",
    "encodings",
    "ensurepip",
    "enum",
    "errno",
    "faulthandler",
    "fcntl",
    "filecmp",
    "fileinput",
    "fnmatch",
    "fractions",
    "ftplib",
    "functools",
    "gc",
    "genericpath",
    "getopt",
    "getpass",
    "gettext",
    "glob",
    "graphlib",
    "grp",
    "gzip",
    "hashlib",
    "heapq",
    "hmac",
    "html",
    "http",
    "idlelib",
    "imaplib",
    "imghdr",
    "imp",
    "importlib",
    "inspect",
    "io",
    "ipaddress",
    "itertools",
    "json",
    "keyword",
    "lib2to3",
    "linecache",
    "locale",
    "logging",
    "lzma",
    "mailbox",
    "mailcap",
    "marshal",
    "math",
    "mimetypes",
    "mmap",
    "modulefinder",
    "msilib",
    "msvcrt",
    "multiprocessing",
    "netrc",
    "nis",
    "nntplib",
    "nt",
    "ntpath",
    "nturl2path",
    "numbers",
    "opcode",
    "operator",
    "optparse",
    "os",
    "ossaudiodev",
    "pathlib",
    "pdb",
    "pickle",
    "pickletools",
    "pipes",
    "pkgutil",
    "platform",
    "plistlib",
    "poplib",
    "posix",
    "posixpath",
    "pprint",
    "profile",
    "pstats",
    "pty",
    "pwd",
    "py_compile",
    "pyclbr",
    "pydoc",
    "pydoc_data",
    "pyexpat",
    "queue",
    "quopri",
    "random",
    "re",
    "readline",
    "reprlib",
    "resource",
    "rlcompleter",
    "runpy",
    "sched",
    "secrets",
    "select",
    "selectors",
    "shelve",
    "shlex",
    "shutil",
    "signal",
    "site",
    "smtpd",
    "smtplib",
    "sndhdr",
    "socket",
    "socketserver",
    "spwd",
    "sqlite3",
    "sre_compile",
    "sre_constants",
    "sre_parse",
    "ssl",
    "stat",
    "statistics",
    "string",
    "stringprep",
    "struct",
    "subprocess",
    "sunau",
    "symtable",
    "sys",
    "sysconfig",
    "syslog",
    "tabnanny",
    "tarfile",
    "telnetlib",
    "tempfile",
    "termios",
    "textwrap",
    "this",
    "threading",
    "time",
    "timeit",
    "tkinter",
    "token",
    "tokenize",
    "tomllib",
    "trace",
    "traceback",
    "tracemalloc",
    "tty",
    "turtle",
    "turtledemo",
    "types",
    "typing",
    "unicodedata",
    "unittest",
    "urllib",
    "uu",
    "uuid",
    "venv",
    "warnings",
    "wave",
    "weakref",
    "webbrowser",
    "winreg",
    "winsound",
    "wsgiref",
    "xdrlib",
    "xml",
    "xmlrpc",
    "zipapp",
    "zipfile",
    "zipimport",
    "zlib",
    "zoneinfo",
];

/// The dotted module name the engine imports a test file under (see `engine::module_name`).
fn dotted(rel: &str) -> String {
    let stem = rel.strip_suffix(".py").unwrap_or(rel);
    stem.chars()
        .map(|c| match c {
            '/' => '.',
            c if c.is_alphanumeric() || c == '_' => c,
            _ => '_',
        })
        .collect()
}

/// A file's source (lossy UTF-8); empty if it cannot be read (its import says why).
pub fn read_source(path: &Path) -> String {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

impl Resolver {
    pub fn new(root: Option<PathBuf>) -> Self {
        Resolver {
            root,
            mods: Vec::new(),
            by_name: HashMap::new(),
            classes: HashMap::new(),
            functions: NameRule::new(&Collection::default().python_functions),
            test_classes: NameRule::new(&Collection::default().python_classes),
            conftests: HashMap::new(),
            dir: None,
            levels: None,
        }
    }

    /// The same resolver, naming pytest-style tests by the project's `python_functions` and
    /// `python_classes`.
    pub fn naming(mut self, c: &Collection) -> Self {
        self.functions = NameRule::new(&c.python_functions);
        self.test_classes = NameRule::new(&c.python_classes);
        self
    }

    /// The fixtures of `dir`'s conftest.py, read once per run.
    fn conftest(&mut self, dir: &Path) -> Option<Arc<Level>> {
        if let Some(l) = self.conftests.get(dir) {
            return l.clone();
        }
        let file = dir.join("conftest.py");
        let level = file.is_file().then(|| {
            let label = match &self.root {
                Some(root) => relative(&file, root),
                None => file.display().to_string(),
            };
            Arc::new(level_of(&parse(&read_source(&file)), label))
        });
        self.conftests.insert(dir.to_path_buf(), level.clone());
        level
    }

    /// Module `m`'s fixtures, then those of the conftest.py files from its folder up to the
    /// project root (pytest's conftest.py files stop at the root too).
    fn fixture_levels(&mut self, m: usize, rel: &str) -> Vec<Arc<Level>> {
        if let Some((cached, levels)) = &self.levels {
            if *cached == m {
                return levels.clone();
            }
        }
        let mut levels = vec![Arc::new(level_of(&self.mods[m].info, rel.to_string()))];
        let dirs: Vec<PathBuf> = match &self.root {
            Some(root) => {
                let parts: Vec<&str> = rel.split('/').collect();
                let mut dir = root.clone();
                let mut out = vec![dir.clone()];
                for p in &parts[..parts.len().saturating_sub(1)] {
                    dir = dir.join(p);
                    out.push(dir.clone());
                }
                out
            }
            None => self.dir.iter().cloned().collect(),
        };
        for d in dirs.iter().rev() {
            levels.extend(self.conftest(d));
        }
        self.levels = Some((m, levels.clone()));
        levels
    }

    /// Why a pytest-style test's ids are known only on import because of its fixtures (see
    /// `scan_fixtures`). `outer`: its class's and module's marks.
    fn fixture_problem(
        &mut self,
        (m, rel): (usize, &str),
        class: Option<&Level>,
        info: &DefInfo,
        outer: &[String],
    ) -> Option<String> {
        let levels = self.fixture_levels(m, rel);
        let mut all: Vec<&Level> = class.into_iter().collect();
        all.extend(levels.iter().map(|l| l.as_ref()));
        let marks = info.decorators.iter().chain(outer).map(String::as_str);
        let (covered, mut names) = marked_names(marks);
        let bound = class.is_some() && !info.decorators.iter().any(|d| d.trim() == "staticmethod");
        names.extend(info.args.iter().skip(usize::from(bound)).cloned());
        scan_fixtures::problem(&all, &names, &covered)
    }

    /// A module-level pytest-style test function's tests.
    fn function_tests(
        &mut self,
        (m, rel): (usize, &str),
        key: &str,
        runner_module: bool,
    ) -> Result<Vec<StaticTest>, String> {
        let Some(info) = self.mods[m].info.defs.get(key).cloned() else {
            return Ok(Vec::new());
        };
        // A fixture named like a test is not one (pytest skips fixture functions).
        if (runner_module && info.takes_args) || fixture_of(key, &info, false).is_some() {
            return Ok(Vec::new());
        }
        let module_marks = self.mods[m].info.pytestmark.clone();
        let tests = pytest_test(key, &info, &[], module_marks.as_deref())?;
        let outer: Vec<String> = module_marks.into_iter().collect();
        match self.fixture_problem((m, rel), None, &info, &outer) {
            Some(why) => Err(format!("{key} uses {why}")),
            None => Ok(tests),
        }
    }

    /// The project root a discovered file's path and root-relative path imply.
    pub fn root_of(path: &Path, rel: &str) -> Option<PathBuf> {
        if Path::new(rel).is_absolute() || rel.split('/').any(|c| c == ".." || c == ".") {
            return None;
        }
        path.ancestors()
            .nth(rel.split('/').count())
            .map(Path::to_path_buf)
    }

    fn add(&mut self, info: ModuleInfo, package: String, dir: Option<PathBuf>) -> usize {
        self.mods.push(Module { info, package, dir });
        self.mods.len() - 1
    }

    /// A project module by dotted name, read once.
    fn module(&mut self, name: &str) -> Option<usize> {
        if let Some(m) = self.by_name.get(name) {
            return *m;
        }
        let root = self.root.clone()?;
        let base = root.join(name.replace('.', "/"));
        let parent = name.rsplit_once('.').map_or("", |(p, _)| p).to_string();
        let found = if base.join("__init__.py").is_file() {
            let info = parse(&read_source(&base.join("__init__.py")));
            Some(self.add(info, name.to_string(), Some(base)))
        } else if base.with_extension("py").is_file() {
            let info = parse(&read_source(&base.with_extension("py")));
            Some(self.add(info, parent, None))
        } else if base.is_dir() {
            Some(self.add(ModuleInfo::default(), name.to_string(), Some(base)))
        } else {
            None
        };
        self.by_name.insert(name.to_string(), found);
        found
    }

    /// The absolute name of `module` imported with `level` dots from module `from`.
    fn absolute(&self, from: usize, module: &str, level: usize) -> Option<String> {
        if level == 0 {
            return Some(module.to_string());
        }
        let mut pkg: Vec<&str> = self.mods[from]
            .package
            .split('.')
            .filter(|s| !s.is_empty())
            .collect();
        // Python: "attempted relative import with no known parent package" / "beyond
        // top-level package".
        if pkg.is_empty() || level > pkg.len() {
            return None;
        }
        pkg.truncate(pkg.len() - (level - 1));
        if !module.is_empty() {
            pkg.push(module);
        }
        (!pkg.is_empty()).then(|| pkg.join("."))
    }

    /// The module `name` (absolute), in or out of the project.
    fn import(&mut self, name: &str) -> Val {
        if name == "dbtest" || name.starts_with("dbtest.") {
            return Val::External("dbtest".into());
        }
        match self.module(name) {
            Some(m) => Val::Module(m),
            None => Val::External(name.to_string()),
        }
    }

    /// `value.attr`.
    fn attr(&mut self, value: Val, attr: &str, depth: usize) -> Val {
        match value {
            Val::Module(m) => self.lookup(m, attr, depth + 1),
            Val::External(name) => {
                let top = name.split('.').next().unwrap_or(&name);
                if name == "dbtest" {
                    if attr == "TestSuite" {
                        Val::TestSuite
                    } else {
                        Val::NotSuite
                    }
                } else if top == "unittest"
                    && matches!(attr, "TestCase" | "IsolatedAsyncioTestCase")
                {
                    Val::UnitCase
                } else if STDLIB.contains(&top) {
                    Val::NotSuite
                } else {
                    Val::Unknown(format!(
                        "{attr} comes from {name}, which is not part of the project"
                    ))
                }
            }
            Val::Unknown(why) => Val::Unknown(why),
            // Attributes of classes (nested classes): not module-level suites.
            _ => Val::NotSuite,
        }
    }

    /// A module-level name of module `m` once it has run.
    fn lookup(&mut self, m: usize, name: &str, depth: usize) -> Val {
        if depth > MAX_DEPTH {
            return Val::Unknown(format!("{name} is imported in a cycle"));
        }
        if let Some(b) = self.mods[m].info.names.get(name).cloned() {
            return self.eval(m, &b, depth);
        }
        // A submodule of a package.
        if self.mods[m].dir.is_some() {
            let full = format!("{}.{name}", self.mods[m].package);
            if let Some(sub) = self.module(&full) {
                return Val::Module(sub);
            }
        }
        let stars = self.mods[m].info.stars.clone();
        for (module, level) in stars.iter().rev() {
            let Some(abs) = self.absolute(m, module, *level) else {
                continue;
            };
            let v = self.import(&abs);
            let v = self.attr(v, name, depth);
            if !matches!(v, Val::NotSuite) {
                return v;
            }
        }
        if self.mods[m].info.dynamic.is_some() {
            return Val::Unknown(format!("{name} may be made when its module runs"));
        }
        Val::NotSuite
    }

    fn eval(&mut self, m: usize, b: &Bound, depth: usize) -> Val {
        match b {
            Bound::Class(i) => self.class(m, *i, depth),
            Bound::Func(_) | Bound::Strings(_) | Bound::Other => Val::NotSuite,
            Bound::Module { module } => self.import(module),
            Bound::From {
                module,
                level,
                name,
            } => {
                let Some(abs) = self.absolute(m, module, *level) else {
                    return Val::Unknown(format!("relative import of {module} leaves the project"));
                };
                let v = self.import(&abs);
                self.attr(v, name, depth)
            }
        }
    }

    fn base(&mut self, m: usize, base: &BaseRef, depth: usize) -> Val {
        match base {
            BaseRef::Opaque(text) => Val::Unknown(format!("base {text} is computed")),
            BaseRef::Path { head, bound, rest } => {
                let mut v = match bound {
                    Some(b) => self.eval(m, b, depth + 1),
                    None if head == "TestSuite" => Val::TestSuite,
                    None if head == "dbtest" => Val::External("dbtest".into()),
                    None if !self.mods[m].info.stars.is_empty() => self.lookup(m, head, depth + 1),
                    // A builtin (object, Exception...).
                    None => Val::NotSuite,
                };
                for r in rest {
                    v = self.attr(v, r, depth + 1);
                }
                v
            }
        }
    }

    /// Whether class `i` of module `m` is a suite.
    fn class(&mut self, m: usize, i: usize, depth: usize) -> Val {
        if let Some(v) = self.classes.get(&(m, i)) {
            return v.clone();
        }
        self.classes
            .insert((m, i), Val::Unknown("an inheritance cycle".into()));
        let bases = self.mods[m].info.classes[i].bases.clone();
        let mut suite = false;
        let mut case = false;
        let mut unknown = None;
        for b in &bases {
            match self.base(m, b, depth) {
                Val::TestSuite | Val::Suite(..) => suite = true,
                Val::UnitCase | Val::Case(..) => case = true,
                Val::Unknown(why) => {
                    unknown.get_or_insert(why);
                }
                _ => {}
            }
        }
        let c = &self.mods[m].info.classes[i];
        let v = match unknown {
            Some(why) => Val::Unknown(format!("class {}: {why}", c.name)),
            None if suite && c.decorated => {
                Val::Unknown(format!("suite {} has a class decorator", c.name))
            }
            None if suite => Val::Suite(m, i),
            None if case => Val::Case(m, i),
            None => Val::Plain(m, i),
        };
        self.classes.insert((m, i), v.clone());
        v
    }

    /// The suite classes among a class's bases, resolved.
    fn suite_bases(&mut self, m: usize, i: usize) -> Vec<(usize, usize)> {
        let bases = self.mods[m].info.classes[i].bases.clone();
        bases
            .iter()
            .filter_map(|b| match self.base(m, b, 0) {
                Val::Suite(bm, bi) => Some((bm, bi)),
                _ => None,
            })
            .collect()
    }

    /// The project classes among a class's bases, resolved.
    fn project_bases(&mut self, m: usize, i: usize) -> Vec<(usize, usize)> {
        let bases = self.mods[m].info.classes[i].bases.clone();
        bases
            .iter()
            .filter_map(|b| match self.base(m, b, 0) {
                Val::Suite(bm, bi) | Val::Case(bm, bi) | Val::Plain(bm, bi) => Some((bm, bi)),
                _ => None,
            })
            .collect()
    }

    /// The suite classes of a suite's MRO (C3), most derived first.
    fn mro(&mut self, key: (usize, usize), depth: usize) -> Result<Vec<(usize, usize)>, String> {
        self.mro_of(key, depth, false)
    }

    /// The MRO (C3) of a class over its suite bases, or (`all`) over all its project bases.
    fn mro_of(
        &mut self,
        key: (usize, usize),
        depth: usize,
        all: bool,
    ) -> Result<Vec<(usize, usize)>, String> {
        if depth > MAX_DEPTH {
            return Err("inheritance too deep".into());
        }
        let bases = if all {
            self.project_bases(key.0, key.1)
        } else {
            self.suite_bases(key.0, key.1)
        };
        let mut seqs: Vec<Vec<(usize, usize)>> = Vec::new();
        for b in &bases {
            seqs.push(self.mro_of(*b, depth + 1, all)?);
        }
        seqs.push(bases);
        let mut out = vec![key];
        loop {
            seqs.retain(|s| !s.is_empty());
            if seqs.is_empty() {
                return Ok(out);
            }
            let head = seqs
                .iter()
                .map(|s| s[0])
                .find(|h| !seqs.iter().any(|s| s[1..].contains(h)))
                .ok_or_else(|| {
                    format!(
                        "no consistent method order for {}",
                        self.mods[key.0].info.classes[key.1].name
                    )
                })?;
            out.push(head);
            for s in &mut seqs {
                if s[0] == head {
                    s.remove(0);
                }
            }
        }
    }

    /// A unittest test case's tests as `TestLoader` finds them: every `test*` method of the
    /// class and its bases, sorted by name.
    fn unittest_tests(
        &mut self,
        suite: &str,
        key: (usize, usize),
    ) -> Result<Vec<StaticTest>, String> {
        let mro = self.mro_of(key, 0, true)?;
        let mut found: Vec<(String, DefInfo)> = Vec::new();
        for (cm, ci) in &mro {
            for (n, info) in &self.mods[*cm].info.classes[*ci].methods {
                if n.starts_with("test") && !found.iter().any(|(f, _)| f == n) {
                    found.push((n.clone(), info.clone()));
                }
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        let class = &self.mods[key.0].info.classes[key.1];
        let class_skip = class.decorators.iter().any(|d| is_unittest_skip(d));
        // pytest's marks apply to unittest tests too: the method's, the class's, the module's.
        let mut outer: Vec<String> = class.decorators.clone();
        outer.extend(class.pytestmark.iter().cloned());
        outer.extend(self.mods[key.0].info.pytestmark.iter().cloned());
        Ok(found
            .into_iter()
            .map(|(name, info)| {
                let marks: Vec<String> = info
                    .decorators
                    .iter()
                    .chain(&outer)
                    .flat_map(|d| mark_names(d))
                    .collect();
                let mut tags: Vec<String> = Vec::new();
                for m in &marks {
                    if !RUNNER_MARKS.contains(&m.as_str()) && !tags.contains(m) {
                        tags.push(m.clone());
                    }
                }
                StaticTest {
                    suite: Some(suite.to_string()),
                    skip: class_skip
                        || info.decorators.iter().any(|d| is_unittest_skip(d))
                        || marks.iter().any(|m| m == "skip"),
                    name,
                    line: info.line,
                    tags: Tags::Known(tags),
                }
            })
            .collect())
    }

    /// A pytest-style test class's tests: base classes' first, each name once.
    fn pytest_class_tests(
        &mut self,
        (m, rel): (usize, &str),
        suite: &str,
        key: (usize, usize),
    ) -> Result<Vec<StaticTest>, String> {
        let module_marks = self.mods[m].info.pytestmark.clone();
        let module_marks = module_marks.as_deref();
        let mro = self.mro_of(key, 0, true)?;
        let mut seen: Vec<String> = Vec::new();
        let mut per_class: Vec<Vec<(String, DefInfo)>> = Vec::new();
        let mut class_marks: Vec<String> = Vec::new();
        for (cm, ci) in &mro {
            let c = &self.mods[*cm].info.classes[*ci];
            if c.methods
                .iter()
                .any(|(n, _)| n == "__init__" || n == "__new__")
                || (c.not_a_test && (*cm, *ci) == key)
            {
                return Ok(Vec::new()); // pytest does not collect classes with __init__
            }
            class_marks.extend(c.decorators.iter().cloned());
            if let Some(pm) = &c.pytestmark {
                class_marks.push(pm.clone());
            }
            let mut found = Vec::new();
            for (n, info) in &c.methods {
                if seen.contains(n) {
                    continue;
                }
                seen.push(n.clone());
                if self.functions.matches(n) && fixture_of(n, info, true).is_none() {
                    found.push((n.clone(), info.clone()));
                }
            }
            per_class.push(found);
        }
        let classes: Vec<&ClassDef> = mro
            .iter()
            .map(|(cm, ci)| &self.mods[*cm].info.classes[*ci])
            .collect();
        let class_fixtures = class_level(&classes, rel);
        let mut outer = class_marks.clone();
        outer.extend(module_marks.map(String::from));
        let mut out = Vec::new();
        for found in per_class.into_iter().rev() {
            for (n, info) in found {
                let tests = pytest_test(&n, &info, &class_marks, module_marks)?;
                if let Some(why) =
                    self.fixture_problem((m, rel), Some(&class_fixtures), &info, &outer)
                {
                    return Err(format!("{suite}::{n} uses {why}"));
                }
                for mut t in tests {
                    t.suite = Some(suite.to_string());
                    out.push(t);
                }
            }
        }
        Ok(out)
    }

    /// Why module `m` is undecidable if a module-level statement uses one of its suites or test
    /// classes after its definition (`Alias = Suite`, `setattr(Case, ...)`).
    fn class_used(&mut self, m: usize) -> Option<String> {
        for (line, i) in self.mods[m].info.class_uses.clone() {
            let name = self.mods[m].info.classes[i].name.clone();
            let what = match self.class(m, i, 0) {
                Val::NotSuite => continue,
                Val::Plain(..) if !self.test_classes.matches(&name) => continue,
                Val::Case(..) => "test case",
                Val::Plain(..) => "test class",
                _ => "suite",
            };
            return Some(format!(
                "line {line} uses {what} {name} at module level, which may make suites or tests"
            ));
        }
        None
    }

    /// Whether module `m` is a unittest or dbtest module that does not import pytest, and the
    /// classes its test cases derive from. Such a module runs as its own runner runs it: its
    /// `Test*` mixins of test cases and its `test*` helpers taking arguments are not
    /// pytest-style tests (as `_compat.collect` decides at run time).
    fn runner_module(&mut self, m: usize, order: &[String]) -> (bool, Vec<(usize, usize)>) {
        let mut mixins: Vec<(usize, usize)> = Vec::new();
        let mut runner_module = false;
        if self.mods[m].info.names.contains_key("pytest") {
            return (false, mixins);
        }
        for key in order {
            match self.mods[m].info.names.get(key).cloned() {
                Some(Bound::Func(Some(_))) => runner_module = true,
                Some(Bound::Class(i)) => match self.class(m, i, 0) {
                    Val::Suite(..) => runner_module = true,
                    Val::Case(..) => {
                        runner_module = true;
                        if let Ok(mro) = self.mro_of((m, i), 0, true) {
                            mixins.extend(mro);
                        }
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        (runner_module, mixins)
    }

    /// A test file's tests, as a run of it reports them.
    #[cfg(test)]
    pub fn scan_file(&mut self, path: &Path, rel: &str) -> FileScan {
        self.scan_read(path, &read_source(path), rel)
    }

    /// `scan_file` of a file whose source the caller has already read (`read_source`).
    pub fn scan_read(&mut self, path: &Path, src: &str, rel: &str) -> FileScan {
        self.dir = path.parent().map(Path::to_path_buf);
        self.scan_source(src, rel)
    }

    pub fn scan_source(&mut self, src: &str, rel: &str) -> FileScan {
        let info = parse(src);
        if let Some(why) = &info.dynamic {
            return FileScan::Undecidable(why.clone());
        }
        let name = dotted(rel);
        let package = name.rsplit_once('.').map_or("", |(p, _)| p).to_string();
        let order = info.order.clone();
        let m = self.add(info, package, None);
        if let Some(why) = self.class_used(m) {
            return FileScan::Undecidable(why);
        }
        let (runner_module, mixins) = self.runner_module(m, &order);
        let mut tests = Vec::new();
        for key in &order {
            let Some(b) = self.mods[m].info.names.get(key).cloned() else {
                continue;
            };
            match b {
                Bound::Func(Some(t)) => tests.push(StaticTest {
                    suite: None,
                    name: key.clone(),
                    line: t.line,
                    tags: t.tags,
                    skip: t.skip,
                }),
                Bound::Func(None) if self.functions.matches(key) => {
                    match self.function_tests((m, rel), key, runner_module) {
                        Ok(t) => tests.extend(t),
                        Err(why) => return FileScan::Undecidable(why),
                    }
                }
                Bound::From { .. } => {
                    // A test case imported into the file runs there too (as unittest does).
                    if let Val::Case(cm, ci) = self.eval(m, &b, 0) {
                        match self.unittest_tests(key, (cm, ci)) {
                            Ok(t) => tests.extend(t),
                            Err(why) => return FileScan::Undecidable(why),
                        }
                    }
                }
                Bound::Class(i) => match self.class(m, i, 0) {
                    Val::Unknown(why) => return FileScan::Undecidable(why),
                    Val::Case(cm, ci) => match self.unittest_tests(key, (cm, ci)) {
                        Ok(t) => tests.extend(t),
                        Err(why) => return FileScan::Undecidable(why),
                    },
                    Val::Plain(cm, ci)
                        if self.test_classes.matches(key) && !mixins.contains(&(cm, ci)) =>
                    {
                        match self.pytest_class_tests((m, rel), key, (cm, ci)) {
                            Ok(t) => tests.extend(t),
                            Err(why) => return FileScan::Undecidable(why),
                        }
                    }
                    Val::Suite(..) => {
                        let mro = match self.mro((m, i), 0) {
                            Ok(mro) => mro,
                            Err(why) => return FileScan::Undecidable(why),
                        };
                        let mut found: Vec<(String, TestDef)> = Vec::new();
                        for (cm, ci) in mro.iter().rev() {
                            for (n, t) in &self.mods[*cm].info.classes[*ci].tests {
                                let Some(t) = t else { continue };
                                match found.iter_mut().find(|(f, _)| f == n) {
                                    Some(e) => e.1 = t.clone(),
                                    None => found.push((n.clone(), t.clone())),
                                }
                            }
                        }
                        let suite = self.mods[m].info.classes[i].name.clone();
                        tests.extend(found.into_iter().map(|(n, t)| StaticTest {
                            suite: Some(suite.clone()),
                            name: n,
                            line: t.line,
                            tags: t.tags,
                            skip: t.skip,
                        }));
                    }
                    _ => {}
                },
                _ => {}
            }
        }
        FileScan::Known(tests)
    }
}

#[cfg(test)]
/// The tests one source declares, resolving only what the file itself defines (an imported
/// base makes it undecidable: then nothing is returned).
pub fn scan(src: &str) -> Vec<StaticTest> {
    match Resolver::new(None).scan_source(src, "test_file.py") {
        FileScan::Known(t) => t,
        FileScan::Undecidable(_) => Vec::new(),
    }
}

/// A benchmark file's groups and their entries, in registration order, read statically; Err
/// (why) when only running the file can tell.
pub fn scan_bench(src: &str) -> Result<Vec<(String, Vec<String>)>, String> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    // Variable name -> index in `groups`.
    let mut vars: HashMap<String, usize> = HashMap::new();
    let mut pending: Vec<(usize, Option<String>)> = Vec::new();
    let literal = |v: &str| {
        string_literals(v)
            .filter(|s| s.len() == 1)
            .map(|mut s| s.remove(0))
    };
    for l in logical_lines(src) {
        let text = l.text.trim();
        if let Some(d) = text.strip_prefix('@') {
            let d = d.trim();
            if let Some((var, rest)) = d.split_once('.') {
                if let Some(args) = rest.trim_start().strip_prefix("add") {
                    let Some(&g) = vars.get(var.trim()) else {
                        return Err(format!(
                            "line {}: {var} is not a group made in this file",
                            l.line
                        ));
                    };
                    let args = args.trim();
                    let args = args
                        .strip_prefix('(')
                        .map(|a| a.strip_suffix(')').unwrap_or(a).trim())
                        .unwrap_or(args);
                    let name = if args.is_empty() {
                        None
                    } else {
                        let first = top_level_split(args)[0].trim();
                        let v = keyword(args, "name").unwrap_or(first);
                        if v == "None" {
                            None
                        } else {
                            Some(literal(v).ok_or_else(|| {
                                format!("line {}: the entry's name is computed", l.line)
                            })?)
                        }
                    };
                    pending.push((g, name));
                }
            }
            continue;
        }
        if let Some(func) = def_name(text) {
            for (g, name) in pending.drain(..) {
                groups[g].1.push(name.unwrap_or_else(|| func.to_string()));
            }
            continue;
        }
        pending.clear();
        // Nested code, and docstrings that mention the API.
        if l.indent > 0 || text.starts_with(['"', '\'']) {
            continue;
        }
        if let Some(at) = text.find("BenchmarkGroup(") {
            let (target, _) = text.split_once('=').unwrap_or(("", ""));
            let target = target.trim();
            let args = class_bases(&text[at..]);
            let first = top_level_split(args)
                .first()
                .map(|a| a.trim())
                .unwrap_or("");
            let name = keyword(args, "name")
                .or_else(|| (!first.contains('=')).then_some(first))
                .and_then(literal);
            match name {
                Some(n) if is_ident(target) => {
                    vars.insert(target.to_string(), groups.len());
                    groups.push((n, Vec::new()));
                }
                _ => return Err(format!("line {}: a group made at run time", l.line)),
            }
        } else if (text.contains("register_group") || text.contains("BenchmarkGroup"))
            && !text.starts_with("from ")
            && !text.starts_with("import ")
        {
            return Err(format!("line {}: groups registered at run time", l.line));
        }
    }
    Ok(groups)
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

    /// A project in a temporary folder: (rel, source) pairs.
    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (rel, src) in files {
            let p = d.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, src).unwrap();
        }
        d
    }

    fn scan_in(d: &tempfile::TempDir, rel: &str) -> FileScan {
        Resolver::new(Some(d.path().to_path_buf())).scan_file(&d.path().join(rel), rel)
    }

    fn ids(found: FileScan) -> Vec<String> {
        match found {
            FileScan::Known(t) => t
                .iter()
                .map(|t| match &t.suite {
                    Some(s) => format!("{s}::{}", t.name),
                    None => t.name.clone(),
                })
                .collect(),
            FileScan::Undecidable(why) => panic!("undecidable: {why}"),
        }
    }

    fn undecidable(found: FileScan) -> String {
        match found {
            FileScan::Undecidable(why) => why,
            FileScan::Known(t) => panic!("decided: {t:?}"),
        }
    }

    #[test]
    fn fixture_definitions_and_test_arguments_are_read() {
        assert_eq!(
            arg_names("def test_a(self, db: Session, n=3, *args, flag, k: int = 2, **kw):"),
            vec!["self", "db", "flag"]
        );
        assert_eq!(arg_names("async def f(a, /, b):"), vec!["a", "b"]);
        let m = parse(
            "import pytest\nfrom pytest import fixture\n\n@pytest.fixture(params=[1, 2], ids=str)\ndef number(request):\n    return request.param\n\n@fixture(name=\"db\", autouse=True)\ndef _db(tmp_path, number):\n    pass\n\n@pytest.fixture(params=None)\ndef plain():\n    pass\n\n@pytest_asyncio.fixture\nasync def conn():\n    pass\n\n@pytest.fixtures_helper\ndef not_one():\n    pass\n",
        );
        let level = level_of(&m, "conftest.py".into());
        let mut names: Vec<&String> = level.fixtures.keys().collect();
        names.sort();
        assert_eq!(names, vec!["conn", "db", "number", "plain"]);
        let db = &level.fixtures["db"];
        assert!(db.autouse && !db.params);
        assert_eq!(db.args, vec!["tmp_path", "number"]);
        assert!(level.fixtures["number"].params && !level.fixtures["plain"].params);
        assert_eq!(level.fixtures["number"].line, 4);
        assert!(level.imported.contains("fixture") && level.opaque.is_none());
        let m = parse("from helpers import *\n");
        assert!(
            level_of(&m, "c.py".into())
                .opaque
                .unwrap()
                .contains("helpers")
        );
        let m = parse("pytest_plugins = [\"a.b\"]\n");
        assert_eq!(
            level_of(&m, "c.py".into()).opaque.as_deref(),
            Some("pytest_plugins")
        );
    }

    #[test]
    fn fixtures_of_conftests_classes_and_marks_decide_the_ids() {
        let conftest = "import pytest\n\n@pytest.fixture(params=['a', 'b'])\ndef letter(request):\n    return request.param\n\n@pytest.fixture\ndef plain():\n    return 1\n";
        let d = project(&[
            ("conftest.py", conftest),
            (
                "tests/deep/test_a.py",
                "def test_plain(plain, tmp_path):\n    pass\n\ndef test_letter(letter):\n    pass\n",
            ),
            (
                "tests/deep/test_b.py",
                "import pytest\n\n@pytest.mark.usefixtures('letter')\ndef test_used():\n    pass\n",
            ),
            (
                "tests/deep/test_c.py",
                "import pytest\n\nclass TestC:\n    @pytest.fixture\n    def letter(self):\n        return 'x'\n\n    def test_own(self, letter):\n        pass\n\n    @staticmethod\n    def test_static(plain):\n        pass\n",
            ),
            (
                "tests/deep/test_d.py",
                "import pytest\n\n@pytest.fixture\ndef test_data():\n    return 1\n\n@pytest.mark.parametrize('letter', ['z'])\ndef test_given(letter, test_data):\n    pass\n",
            ),
        ]);
        let why = undecidable(scan_in(&d, "tests/deep/test_a.py"));
        assert_eq!(
            why,
            "test_letter uses parametrized fixture 'letter' at conftest.py:3"
        );
        let why = undecidable(scan_in(&d, "tests/deep/test_b.py"));
        assert!(
            why.starts_with("test_used uses parametrized fixture 'letter'"),
            "{why}"
        );
        // A class's own fixture overrides the conftest's; a staticmethod has no `self`.
        assert_eq!(
            ids(scan_in(&d, "tests/deep/test_c.py")),
            vec!["TestC::test_own", "TestC::test_static"]
        );
        // A literal parametrize replaces the fixture; a fixture named test_* is no test.
        assert_eq!(
            ids(scan_in(&d, "tests/deep/test_d.py")),
            vec!["test_given[z]"]
        );
        // Each conftest.py is read once: one resolver scans many files of a folder.
        let mut r = Resolver::new(Some(d.path().to_path_buf()));
        for f in ["tests/deep/test_c.py", "tests/deep/test_d.py"] {
            assert!(matches!(
                r.scan_file(&d.path().join(f), f),
                FileScan::Known(_)
            ));
        }
        assert_eq!(r.conftests.len(), 3);
    }

    #[test]
    fn python_classes_and_functions_name_pytest_style_tests() {
        let c = Collection {
            python_classes: vec!["Check".into()],
            python_functions: vec!["check".into(), "*_should_*".into()],
            ..Collection::default()
        };
        let src = "def check_a():\n    pass\n\ndef it_should_b():\n    pass\n\ndef test_c():\n    pass\n\nclass CheckD:\n    def check_e(self):\n        pass\n\nclass TestF:\n    def check_g(self):\n        pass\n\nclass U(unittest.TestCase):\n    def test_h(self):\n        pass\n";
        let src = format!("import unittest\n{src}");
        let found = Resolver::new(None)
            .naming(&c)
            .scan_source(&src, "test_x.py");
        assert_eq!(
            ids(found),
            vec!["check_a", "it_should_b", "CheckD::check_e", "U::test_h"],
            "unittest's own names stay test*"
        );
    }

    const BASE: &str = "from dbtest import TestSuite, test\n\nclass CommonTestSuite(TestSuite):\n    async def setup(self):\n        pass\n\n    @test(tags=['smoke'])\n    async def test_init(self):\n        pass\n";

    #[test]
    fn inherited_tests_within_one_file_appear_in_each_suite() {
        let src = "from dbtest import TestSuite, test\n\nclass Direct(TestSuite):\n    @test\n    def one(self): pass\n    @test\n    def two(self): pass\n\nclass Child(Direct):\n    @test\n    def three(self): pass\n";
        assert_eq!(
            ids(Resolver::new(None).scan_source(src, "test_x.py")),
            [
                "Direct::one",
                "Direct::two",
                "Child::one",
                "Child::two",
                "Child::three"
            ]
        );
    }

    #[test]
    fn bases_imported_from_project_modules_in_every_form() {
        let test_file = |import: &str, base: &str| {
            format!(
                "{import}\nfrom dbtest import test\n\nclass TestUsers({base}):\n    @test(tags=['unit'])\n    def test_create(self): pass\n"
            )
        };
        for (import, base) in [
            ("from tests.base import CommonTestSuite", "CommonTestSuite"),
            ("from ..base import CommonTestSuite", "CommonTestSuite"),
            ("from ..base import CommonTestSuite as Common", "Common"),
            ("import tests.base as b", "b.CommonTestSuite"),
            ("import tests.base", "tests.base.CommonTestSuite"),
            ("from tests import base", "base.CommonTestSuite"),
            ("from tests import CommonTestSuite", "CommonTestSuite"),
            ("from tests.reexport import *", "CommonTestSuite"),
        ] {
            let d = project(&[
                ("tests/__init__.py", "from .base import CommonTestSuite\n"),
                ("tests/base.py", BASE),
                ("tests/reexport.py", "from tests.base import *\n"),
                ("tests/unit/test_users.py", &test_file(import, base)),
            ]);
            let found = scan_in(&d, "tests/unit/test_users.py");
            assert_eq!(
                ids(found.clone()),
                ["TestUsers::test_init", "TestUsers::test_create"],
                "{import}"
            );
            let FileScan::Known(t) = found else {
                unreachable!()
            };
            assert_eq!(t[0].tags, Tags::Known(vec!["smoke".into()]), "{import}");
        }
    }

    #[test]
    fn method_resolution_order_overrides_and_duplicates() {
        // Python: D's MRO is D, B, C, A; the engine lists A's tests first, later classes
        // replacing a test keep its place, the most derived definition gives the tags.
        let d = project(&[
            (
                "tests/a.py",
                "from dbtest import TestSuite, test\nclass A(TestSuite):\n    @test(tags=['a'])\n    def t1(self): pass\n    @test(tags=['a'])\n    def t2(self): pass\n",
            ),
            (
                "tests/test_d.py",
                "from dbtest import test\nfrom tests.a import A\nclass B(A):\n    @test(tags=['b'])\n    def t1(self): pass\nclass C(A):\n    @test(tags=['c'])\n    def t1(self): pass\n    @test\n    def t3(self): pass\nclass D(B, C):\n    @test(tags=['d1'])\n    def t4(self): pass\n    @test(tags=['d2'])\n    def t4(self): pass\n    def t2(self): pass\n",
            ),
        ]);
        let found = scan_in(&d, "tests/test_d.py");
        let FileScan::Known(t) = found.clone() else {
            panic!("{found:?}")
        };
        let d_tests: Vec<(&str, &Tags)> = t
            .iter()
            .filter(|t| t.suite.as_deref() == Some("D"))
            .map(|t| (t.name.as_str(), &t.tags))
            .collect();
        let k = |v: &[&str]| Tags::Known(v.iter().map(|s| s.to_string()).collect());
        // t2 redefined without @test in D stays A's test (the engine looks for __dbtest__).
        assert_eq!(
            d_tests,
            vec![
                ("t1", &k(&["b"])),
                ("t2", &k(&["a"])),
                ("t3", &k(&[])),
                ("t4", &k(&["d2"]))
            ]
        );
        assert_eq!(
            ids(found),
            [
                "B::t1", "B::t2", "C::t1", "C::t2", "C::t3", "D::t1", "D::t2", "D::t3", "D::t4"
            ]
        );
    }

    #[test]
    fn what_only_running_code_tells_is_undecidable() {
        let cases = [
            (
                "from installed_pkg import Shared\nclass TestX(Shared):\n    pass\n",
                "installed_pkg",
            ),
            (
                "from tests.base import CommonTestSuite\nTestX = type('TestX', (CommonTestSuite,), {})\n",
                "type",
            ),
            (
                "from tests.base import CommonTestSuite\nif True:\n    class TestX(CommonTestSuite):\n        pass\n",
                "inside a block",
            ),
            (
                "from tests.base import CommonTestSuite\ndef deco(c): return c\n@deco\nclass TestX(CommonTestSuite):\n    pass\n",
                "class decorator",
            ),
            (
                "from tests.base import make_base\nclass TestX(make_base()):\n    pass\n",
                "computed",
            ),
            (
                "from installed_pkg import *\nclass TestX(Shared):\n    pass\n",
                "installed_pkg",
            ),
            (
                "from tests.base import CommonTestSuite\nclass TestX(CommonTestSuite):\n    pass\nAlias = TestX\n",
                "uses suite TestX",
            ),
            (
                "from tests.base import CommonTestSuite\ndef make():\n    class T(CommonTestSuite):\n        pass\n    return T\nTestX = make()\n",
                "uses make",
            ),
            (
                "from dbtest import TestSuite, test as check\nclass TestX(TestSuite):\n    @check\n    def t(self): pass\n",
                "imported as check",
            ),
            (
                "import dbtest as d\n@d.test\ndef t(): pass\n",
                "imported as d",
            ),
            (
                "import sys\nfrom dbtest import TestSuite, test\nclass TestX(TestSuite):\n    if sys.platform:\n        @test\n        def t(self): pass\n",
                "inside a block",
            ),
            (
                "from tests.nowhere import Missing\nclass TestX(Missing):\n    pass\n",
                "tests.nowhere",
            ),
        ];
        for (src, why) in cases {
            let d = project(&[("tests/base.py", BASE), ("tests/test_x.py", src)]);
            let got = undecidable(scan_in(&d, "tests/test_x.py"));
            assert!(got.contains(why), "{src}: {got}");
        }
    }

    #[test]
    fn ordinary_classes_and_stdlib_bases_stay_decidable() {
        let src = "import enum\nfrom dataclasses import dataclass\nfrom collections import OrderedDict\nfrom dbtest import TestSuite, test\n\nclass Color(enum.Enum):\n    RED = 1\n\n@dataclass\nclass Point:\n    x: int\n\nclass MyError(Exception):\n    pass\n\nclass Od(OrderedDict):\n    pass\n\nORIGIN = Point(0)\nTAGS = ['unit', 'fast']\nDATA = make_data() if False else []\n\n@test(tags=TAGS)\ndef uses_a_constant(): pass\n";
        let found = Resolver::new(None).scan_source(src, "test_x.py");
        let FileScan::Known(t) = found else {
            panic!("{found:?}")
        };
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].tags, Tags::Known(vec!["unit".into(), "fast".into()]));
    }

    #[test]
    fn unittest_cases_across_project_files_and_mixins() {
        let d = project(&[
            (
                "tests/base.py",
                "import unittest\n\nclass Shared:\n    def test_shared(self): pass\n\nclass Base(unittest.TestCase):\n    def test_base(self): pass\n    def helper(self): pass\n",
            ),
            (
                "tests/test_cases.py",
                "from unittest import IsolatedAsyncioTestCase, skip\nfrom tests.base import Base, Shared\n\nclass Zed(Shared, Base):\n    def test_b(self): pass\n    def testCamel(self): pass\n\n@skip('no')\nclass Skipped(IsolatedAsyncioTestCase):\n    async def test_a(self): pass\n\nclass Mixin:\n    def test_never(self): pass\n",
            ),
        ]);
        // Sorted by name as unittest's loader does; the imported Base runs here too.
        assert_eq!(
            ids(scan_in(&d, "tests/test_cases.py")),
            [
                "Base::test_base",
                "Zed::testCamel",
                "Zed::test_b",
                "Zed::test_base",
                "Zed::test_shared",
                "Skipped::test_a"
            ]
        );
        let FileScan::Known(t) = scan_in(&d, "tests/test_cases.py") else {
            panic!()
        };
        assert!(t.iter().find(|t| t.name == "test_a").unwrap().skip);
        // A test case changed at module level (generated tests): only the import tells.
        let d = project(&[(
            "tests/test_gen.py",
            "import unittest\nclass G(unittest.TestCase):\n    pass\nfor n in range(3):\n    setattr(G, f'test_{n}', lambda self: None)\n",
        )]);
        assert!(!undecidable(scan_in(&d, "tests/test_gen.py")).is_empty());
    }

    #[test]
    fn pytest_style_functions_classes_and_marks() {
        let src = "import pytest\n\npytestmark = pytest.mark.style\n\ndef helper(): pass\n\ndef test_plain(): pass\n\n@pytest.mark.slow\n@pytest.mark.skip(reason='x')\nasync def test_marked(): pass\n\nclass TestThing:\n    pytestmark = [pytest.mark.db]\n    def setup_method(self, m): pass\n    def test_m(self): pass\n\nclass TestInit:\n    def __init__(self): pass\n    def test_no(self): pass\n\nclass NotTest:\n    def test_no(self): pass\n";
        let FileScan::Known(t) = Resolver::new(None).scan_source(src, "test_p.py") else {
            panic!()
        };
        let names: Vec<(Option<&str>, &str, bool)> = t
            .iter()
            .map(|t| (t.suite.as_deref(), t.name.as_str(), t.skip))
            .collect();
        assert_eq!(
            names,
            [
                (None, "test_plain", false),
                (None, "test_marked", true),
                (Some("TestThing"), "test_m", false)
            ]
        );
        assert_eq!(t[1].tags, Tags::Known(vec!["slow".into(), "style".into()]));
        assert_eq!(t[2].tags, Tags::Known(vec!["db".into(), "style".into()]));
        let param = "import pytest\n@pytest.mark.parametrize('x', [f(1)])\ndef test_p(x): pass\n";
        let found = Resolver::new(None).scan_source(param, "test_q.py");
        assert!(matches!(found, FileScan::Undecidable(w) if w.contains("parametrized")));
    }

    #[test]
    fn parametrize_ids_from_literals_as_pytest_makes_them() {
        let src = "import pytest\n\n@pytest.mark.parametrize('x', [1, 2])\n@pytest.mark.parametrize('y', ['a', 'b'])\ndef test_stacked(x, y): pass\n\n@pytest.mark.parametrize('a,b,total', [(1, 2, 3), (2, 2, 5)])\ndef test_add(a, b, total): pass\n\n@pytest.mark.parametrize('w', ['x', 'y'], ids=['first', 'second'])\ndef test_ids(w): pass\n\n@pytest.mark.parametrize('n', [1, pytest.param(0, marks=pytest.mark.xfail(reason='z'), id='zero'), pytest.param(2, id='two')])\ndef test_params(n): pass\n\n@pytest.mark.parametrize('s', ['x', 'x', 1.5, -3, None, (1, 2)])\ndef test_dups(s): pass\n\n@pytest.mark.parametrize('e', [])\ndef test_empty(e): pass\n\nclass TestHidden:\n    __test__ = False\n    def test_no(self): pass\n";
        let FileScan::Known(t) = Resolver::new(None).scan_source(src, "test_p.py") else {
            panic!()
        };
        let names: Vec<&str> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "test_stacked[a-1]",
                "test_stacked[a-2]",
                "test_stacked[b-1]",
                "test_stacked[b-2]",
                "test_add[1-2-3]",
                "test_add[2-2-5]",
                "test_ids[first]",
                "test_ids[second]",
                "test_params[1]",
                "test_params[zero]",
                "test_params[two]",
                "test_dups[x0]",
                "test_dups[x1]",
                "test_dups[1.5]",
                "test_dups[-3]",
                "test_dups[None]",
                "test_dups[s5]",
                "test_empty[NOTSET]"
            ]
        );
        assert!(t.last().unwrap().skip);
        let named = "import pytest\nVALUES = [1]\n@pytest.mark.parametrize('x', VALUES)\ndef test_v(x): pass\n";
        assert!(matches!(
            Resolver::new(None).scan_source(named, "test_v.py"),
            FileScan::Undecidable(_)
        ));
    }

    #[test]
    fn nested_classes_are_not_suites_of_their_own() {
        let src = "from dbtest import TestSuite, test\n\nclass S(TestSuite):\n    class Inner:\n        @test\n        def not_collected(self): pass\n\n    @test\n    def t(self): pass\n";
        assert_eq!(
            ids(Resolver::new(None).scan_source(src, "test_x.py")),
            ["S::t"]
        );
    }

    #[test]
    fn module_dict_order_and_rebinding() {
        // A name bound twice keeps its first place and its last value.
        let src = "from dbtest import TestSuite, test\n\n@test\ndef first(): pass\n\nclass S(TestSuite):\n    @test\n    def a(self): pass\n\n@test\ndef first(): pass\n\n@test\ndef last(): pass\n\ndef helper(): pass\n";
        assert_eq!(
            ids(Resolver::new(None).scan_source(src, "test_x.py")),
            ["first", "S::a", "last"]
        );
    }

    #[test]
    fn bench_groups_and_entries() {
        let src = "from dbtest import BenchmarkGroup\n\ng = BenchmarkGroup('sorting', baseline='a')\nh = BenchmarkGroup(name='other')\n\n@g.add('a')\ndef f(): pass\n\n@g.add(name='b')\nasync def f2(): pass\n\n@h.add\ndef bare(): pass\n\n@h.add()\ndef empty(): pass\n";
        assert_eq!(
            scan_bench(src).unwrap(),
            vec![
                (
                    "sorting".to_string(),
                    vec!["a".to_string(), "b".to_string()]
                ),
                (
                    "other".to_string(),
                    vec!["bare".to_string(), "empty".to_string()]
                ),
            ]
        );
        assert!(
            scan_bench("from dbtest import BenchmarkGroup\ng = BenchmarkGroup(NAME)\n").is_err()
        );
        assert!(scan_bench("from other import g\n@g.add('x')\ndef f(): pass\n").is_err());
        assert!(
            scan_bench("from dbtest import BenchmarkGroup\ng = BenchmarkGroup('x')\n@g.add(label)\ndef f(): pass\n").is_err()
        );
        assert!(scan_bench("import dbtest\ndbtest.register_group(make())\n").is_err());
    }
}
