//! A static, import-free reading of a test file: which suites and tests it declares, with their
//! tags. It lets `--list` and the filters work without importing (and so without running)
//! user code. It is deliberately lenient: the import at run time is the authority, this only
//! decides which files are worth importing.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

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

#[derive(Debug, Clone)]
struct ClassDef {
    name: String,
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
        match top {
            Some(Block::Class(idx)) => upsert(&mut self.m.classes[idx].tests, name, t),
            None => {
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
            if let Some((target, _)) = text.split_once('=') {
                let target = target.trim();
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

fn read_source(path: &Path) -> String {
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
        let mut unknown = None;
        for b in &bases {
            match self.base(m, b, depth) {
                Val::TestSuite | Val::Suite(..) => suite = true,
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
            None => Val::NotSuite,
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

    /// The suite classes of a suite's MRO (C3), most derived first.
    fn mro(&mut self, key: (usize, usize), depth: usize) -> Result<Vec<(usize, usize)>, String> {
        if depth > MAX_DEPTH {
            return Err("inheritance too deep".into());
        }
        let bases = self.suite_bases(key.0, key.1);
        let mut seqs: Vec<Vec<(usize, usize)>> = Vec::new();
        for b in &bases {
            seqs.push(self.mro(*b, depth + 1)?);
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

    /// A test file's tests, as a run of it reports them.
    pub fn scan_file(&mut self, path: &Path, rel: &str) -> FileScan {
        self.scan_source(&read_source(path), rel)
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
        for (line, i) in self.mods[m].info.class_uses.clone() {
            if !matches!(self.class(m, i, 0), Val::NotSuite) {
                let name = &self.mods[m].info.classes[i].name;
                return FileScan::Undecidable(format!(
                    "line {line} uses suite {name} at module level, which may make suites or tests"
                ));
            }
        }
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
                Bound::Class(i) => match self.class(m, i, 0) {
                    Val::Unknown(why) => return FileScan::Undecidable(why),
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
