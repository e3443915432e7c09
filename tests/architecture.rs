//! The shape of `src/`, checked on every test run: no import cycles between files, the Python
//! bridge (`runner::python`) named only by the runner's own modules, no function over 100
//! lines, and `app.rs` a thin file. Test code (`#[cfg(test)]` items and files) is left out.
//!
//! A small lexer is enough for code that `cargo fmt` formats: comments and literals are
//! blanked, `use` trees and inline `crate::`/`super::`/`self::` paths are read, and each path
//! is resolved to the file that defines its item, following `use` re-exports (a `mod.rs`
//! that re-exports `engine::run_file` is not where `run_file` lives).
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const MAX_FN_LINES: usize = 100;
const MAX_APP_LINES: usize = 250;

/// One `.rs` file of the crate.
struct File {
    /// Relative to `src/`, e.g. `runner/python/engine.rs`.
    rel: String,
    /// Its module path from the crate root (`[]` for `main.rs`).
    module: Vec<String>,
    /// The source with comments and literals blanked and test items dropped.
    code: String,
    uses: Vec<Use>,
    /// Every `a::b::c` path outside `use` items: (path, line).
    paths: Vec<(Vec<String>, usize)>,
}

/// One leaf of a `use` tree: the path and the name it binds (None for a glob).
#[derive(Debug, PartialEq)]
struct Use {
    path: Vec<String>,
    name: Option<String>,
    line: usize,
}

struct Crate {
    files: Vec<File>,
    modules: BTreeMap<Vec<String>, usize>,
}

/// Where a path leads: the module it names or walks to (before following re-exports) and the
/// file that defines its item.
struct Target {
    walked: Vec<String>,
    file: usize,
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Replace comments, string and char literals by spaces, keeping line breaks.
fn blank_literals(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < c.len() {
        let start = i;
        let next = |k: usize| c.get(i + k).copied();
        let prev_ident = i > 0 && is_ident(c[i - 1]);
        if c[i] == '/' && next(1) == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && next(1) == Some('*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c[i] == 'r'
            && (!prev_ident || (c[i - 1] == 'b' && (i == 1 || !is_ident(c[i - 2]))))
            && matches!(next(1), Some('"' | '#'))
        {
            // A raw string r"..." or r#"..."#, or an identifier starting with r.
            let hashes = c[i + 1..].iter().take_while(|&&ch| ch == '#').count();
            if c.get(i + 1 + hashes) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            i += 2 + hashes;
            while i < c.len() {
                if c[i] == '"'
                    && c[i + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|&&h| h == '#')
                        .count()
                        == hashes
                {
                    i += 1 + hashes;
                    break;
                }
                i += 1;
            }
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c[i] == '\'' && next(1) == Some('\\') {
            // An escaped char: '\n', '\'', '\u{..}'.
            i += 3;
            while i < c.len() && c[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else if c[i] == '\'' && next(2) == Some('\'') {
            i += 3;
        } else {
            // Code, or a lifetime's quote.
            out.push(c[i]);
            i += 1;
            continue;
        }
        let end = i.min(c.len());
        out.extend(
            c[start..end]
                .iter()
                .map(|&ch| if ch == '\n' { '\n' } else { ' ' }),
        );
    }
    out
}

/// The index just past the bracket that closes the one at `open`.
fn matching(code: &[char], open: usize) -> usize {
    let (o, cl) = (code[open], closing(code[open]));
    let mut depth = 0;
    for (i, &ch) in code.iter().enumerate().skip(open) {
        if ch == o {
            depth += 1;
        } else if ch == cl {
            depth -= 1;
            if depth == 0 {
                return i + 1;
            }
        }
    }
    code.len()
}

fn closing(open: char) -> char {
    match open {
        '{' => '}',
        '(' => ')',
        '[' => ']',
        _ => unreachable!("not an opening bracket: {open}"),
    }
}

/// From `from`, the first `{` or `;` outside parentheses and brackets: where an item's body
/// starts, or where an item without one ends.
fn body_or_end(code: &[char], from: usize) -> Option<usize> {
    let mut i = from;
    while i < code.len() {
        match code[i] {
            '{' | ';' => return Some(i),
            '(' | '[' => i = matching(code, i),
            _ => i += 1,
        }
    }
    None
}

fn blank_range(code: &mut [char], range: std::ops::Range<usize>) {
    for ch in &mut code[range] {
        if *ch != '\n' {
            *ch = ' ';
        }
    }
}

fn find_all(code: &[char], needle: &str) -> Vec<usize> {
    let n: Vec<char> = needle.chars().collect();
    (0..code.len().saturating_sub(n.len() - 1))
        .filter(|&i| code[i..i + n.len()] == n[..])
        .collect()
}

/// Blank every `#[cfg(test)]` item; returns the names of test-only `mod name;` files.
fn drop_test_items(code: &mut [char]) -> Vec<String> {
    let mut test_mods = Vec::new();
    for at in find_all(code, "#[cfg(test)]") {
        if code[at] != '#' {
            continue; // already blanked, inside an earlier test item
        }
        let mut i = at;
        // This attribute and any after it.
        while i + 1 < code.len() && code[i] == '#' && code[i + 1] == '[' {
            i = matching(code, i + 1);
            while i < code.len() && code[i].is_whitespace() {
                i += 1;
            }
        }
        let Some(stop) = body_or_end(code, i) else {
            continue;
        };
        let end = if code[stop] == '{' {
            matching(code, stop)
        } else {
            let words: String = code[i..stop].iter().collect();
            let words: Vec<&str> = words.split_whitespace().collect();
            if let [.., "mod", name] = words[..] {
                test_mods.push(name.to_string());
            }
            stop + 1
        };
        blank_range(code, at..end);
    }
    test_mods
}

/// The line (from 1) of each char index, by the indices where lines start.
struct Lines(Vec<usize>);

impl Lines {
    fn new(code: &[char]) -> Lines {
        let starts = code.iter().enumerate().filter(|(_, c)| **c == '\n');
        Lines(
            std::iter::once(0)
                .chain(starts.map(|(i, _)| i + 1))
                .collect(),
        )
    }

    fn of(&self, i: usize) -> usize {
        self.0.partition_point(|&start| start <= i)
    }
}

fn word_at(code: &[char], i: usize, word: &str) -> bool {
    let w: Vec<char> = word.chars().collect();
    code.get(i..i + w.len()) == Some(&w[..])
        && (i == 0 || !is_ident(code[i - 1]))
        && code.get(i + w.len()).is_none_or(|&c| !is_ident(c))
}

/// Parse one `use` tree (the text between `use` and `;`) into its leaves.
fn parse_use_tree(tree: &str, line: usize) -> Vec<Use> {
    // Tokens: identifiers, `::` and single punctuation.
    let chars: Vec<char> = tree.chars().collect();
    let mut tokens: Vec<String> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        if is_ident(chars[i]) {
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
        } else if chars[i..].starts_with(&[':', ':']) {
            i += 2;
        } else {
            i += 1;
            if chars[start].is_whitespace() {
                continue;
            }
        }
        tokens.push(chars[start..i].iter().collect());
    }
    let mut out = Vec::new();
    use_tree(&tokens, &mut 0, Vec::new(), line, &mut out);
    out
}

fn use_tree(t: &[String], i: &mut usize, mut path: Vec<String>, line: usize, out: &mut Vec<Use>) {
    let tok = |i: usize| t.get(i).map(String::as_str);
    if tok(*i) == Some("::") {
        *i += 1; // a leading `::`
    }
    loop {
        match tok(*i) {
            Some("{") => {
                *i += 1;
                while !matches!(tok(*i), Some("}") | None) {
                    use_tree(t, i, path.clone(), line, out);
                    if tok(*i) == Some(",") {
                        *i += 1;
                    }
                }
                *i += 1;
                return;
            }
            Some("*") => {
                *i += 1;
                let name = None;
                out.push(Use { path, name, line });
                return;
            }
            Some(ident) if tok(*i + 1) == Some("::") => {
                path.push(ident.to_string());
                *i += 2;
            }
            Some(ident) => {
                if ident != "self" {
                    path.push(ident.to_string());
                }
                *i += 1;
                let mut name = path.last().cloned();
                if tok(*i) == Some("as") {
                    name = tok(*i + 1).map(str::to_string);
                    *i += 2;
                }
                out.push(Use { path, name, line });
                return;
            }
            None => return,
        }
    }
}

/// Read (and blank) the `use` items of `code`.
fn take_uses(code: &mut [char]) -> Vec<Use> {
    let lines = Lines::new(code);
    let mut uses = Vec::new();
    for at in find_all(code, "use") {
        if !word_at(code, at, "use") || code.get(at + 3).is_some_and(|c| !c.is_whitespace()) {
            continue; // `use<'a>` bounds, or part of a word
        }
        let Some(end) = (at..code.len()).find(|&i| code[i] == ';') else {
            continue;
        };
        let tree: String = code[at + 3..end].iter().collect();
        uses.extend(parse_use_tree(&tree, lines.of(at)));
        blank_range(code, at..end + 1);
    }
    uses
}

/// Every maximal `a::b::c` path (two segments or more) with its line.
fn inline_paths(code: &[char]) -> Vec<(Vec<String>, usize)> {
    let lines = Lines::new(code);
    let mut out = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let after_colons = i >= 2 && code[i - 1] == ':' && code[i - 2] == ':';
        if !is_ident(code[i]) || (i > 0 && is_ident(code[i - 1])) || after_colons {
            i += 1;
            continue;
        }
        let start = i;
        let mut path = Vec::new();
        loop {
            let s = i;
            while i < code.len() && is_ident(code[i]) {
                i += 1;
            }
            path.push(code[s..i].iter().collect::<String>());
            let colons = code.get(i..i + 2) == Some(&[':', ':']);
            if colons && code.get(i + 2).is_some_and(|&c| is_ident(c)) {
                i += 2;
            } else {
                break;
            }
        }
        if path.len() >= 2 {
            out.push((path, lines.of(start)));
        }
    }
    out
}

fn module_of(rel: &str) -> Vec<String> {
    let stem = rel.strip_suffix(".rs").expect("a .rs file");
    let mut parts: Vec<String> = stem.split('/').map(str::to_string).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "main" | "lib")
    ) {
        parts.pop();
    }
    parts
}

fn read_tree(dir: &Path, src: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("reading src/")
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            read_tree(&path, src, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let rel = path
                .strip_prefix(src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, std::fs::read_to_string(&path).unwrap()));
        }
    }
}

impl File {
    fn parse(rel: &str, text: &str) -> (File, Vec<String>) {
        let mut code: Vec<char> = blank_literals(text).chars().collect();
        let test_mods = drop_test_items(&mut code);
        // `pub(in crate::runner)` is a visibility, not a use of `runner`.
        for at in find_all(&code, "pub(in ") {
            let end = matching(&code, at + 3);
            blank_range(&mut code, at + 3..end);
        }
        let uses = take_uses(&mut code);
        let paths = inline_paths(&code);
        let file = File {
            rel: rel.to_string(),
            module: module_of(rel),
            code: code.into_iter().collect(),
            uses,
            paths,
        };
        (file, test_mods)
    }
}

impl Crate {
    fn load() -> Crate {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut texts = Vec::new();
        read_tree(&src, &src, &mut texts);
        Crate::from_sources(&texts)
    }

    fn from_sources(texts: &[(String, String)]) -> Crate {
        let mut files = Vec::new();
        let mut test_only = BTreeSet::new();
        for (rel, text) in texts {
            let (file, test_mods) = File::parse(rel, text);
            for name in test_mods {
                let mut m = file.module.clone();
                m.push(name);
                test_only.insert(m);
            }
            files.push(file);
        }
        files.retain(|f| !test_only.iter().any(|t| f.module.starts_with(t)));
        let modules = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.module.clone(), i))
            .collect();
        Crate { files, modules }
    }

    fn file(&self, module: &[String]) -> usize {
        self.modules[module]
    }

    fn is_module(&self, module: &[String], child: &str) -> bool {
        let mut m = module.to_vec();
        m.push(child.to_string());
        self.modules.contains_key(&m)
    }

    /// Resolve `path` as written in `from`; None for paths outside the crate.
    fn resolve(&self, from: &[String], path: &[String], depth: usize) -> Option<Target> {
        if depth > 8 || path.is_empty() {
            return None;
        }
        let (mut cur, rest): (Vec<String>, &[String]) = match path[0].as_str() {
            "crate" => (Vec::new(), &path[1..]),
            "self" => (from.to_vec(), &path[1..]),
            "super" => {
                let ups = path.iter().take_while(|s| *s == "super").count();
                (from[..from.len().checked_sub(ups)?].to_vec(), &path[ups..])
            }
            first if self.is_module(from, first) => (from.to_vec(), path),
            first => {
                // A name a `use` in this file binds: substitute what it stands for.
                let u = self.files[self.file(from)]
                    .uses
                    .iter()
                    .find(|u| u.name.as_deref() == Some(first))?;
                let full: Vec<String> = u.path.iter().chain(&path[1..]).cloned().collect();
                return self.resolve(from, &full, depth + 1);
            }
        };
        for seg in rest {
            if self.is_module(&cur, seg) {
                cur.push(seg.clone());
                continue;
            }
            // An item of `cur`: defined there, or brought in by a `use` (a re-export).
            let here = self.file(&cur);
            let file = self.files[here]
                .uses
                .iter()
                .find(|u| u.name.as_deref() == Some(seg.as_str()))
                .and_then(|u| self.resolve(&cur, &u.path, depth + 1))
                .map_or(here, |t| t.file);
            return Some(Target { walked: cur, file });
        }
        let file = self.file(&cur);
        Some(Target { walked: cur, file })
    }

    /// Every reference from one file to another: (from, to) -> (line, path as written).
    fn edges(&self) -> BTreeMap<(usize, usize), (usize, String)> {
        let mut edges = BTreeMap::new();
        for (i, f) in self.files.iter().enumerate() {
            for (path, line) in self.references(f) {
                if let Some(t) = self.resolve(&f.module, &path, 0) {
                    if t.file != i {
                        edges
                            .entry((i, t.file))
                            .or_insert_with(|| (line, path.join("::")));
                    }
                }
            }
        }
        edges
    }

    fn references(&self, f: &File) -> Vec<(Vec<String>, usize)> {
        let uses = f.uses.iter().map(|u| (u.path.clone(), u.line));
        uses.chain(f.paths.iter().cloned()).collect()
    }
}

/// The strongly connected components of more than one file (Tarjan).
fn cycles(n: usize, edges: &BTreeSet<(usize, usize)>) -> Vec<Vec<usize>> {
    struct State<'a> {
        edges: &'a BTreeSet<(usize, usize)>,
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        stack: Vec<usize>,
        on_stack: Vec<bool>,
        next: usize,
        found: Vec<Vec<usize>>,
    }
    fn visit(s: &mut State<'_>, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        let targets: Vec<usize> = s.edges.range((v, 0)..(v + 1, 0)).map(|e| e.1).collect();
        for w in targets {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                Some(_) => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort_unstable();
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        stack: Vec::new(),
        on_stack: vec![false; n],
        next: 0,
        found: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.found
}

/// Every function with a body: (name, first line, lines from `fn` to its closing brace).
fn functions(code: &str) -> Vec<(String, usize, usize)> {
    let code: Vec<char> = code.chars().collect();
    let lines = Lines::new(&code);
    let mut out = Vec::new();
    for at in find_all(&code, "fn") {
        if !word_at(&code, at, "fn") {
            continue;
        }
        let mut i = at + 2;
        while i < code.len() && code[i].is_whitespace() {
            i += 1;
        }
        let start = i;
        while i < code.len() && is_ident(code[i]) {
            i += 1;
        }
        if i == start {
            continue; // a `fn(..)` pointer type
        }
        let name: String = code[start..i].iter().collect();
        let Some(open) = body_or_end(&code, i).filter(|&b| code[b] == '{') else {
            continue;
        };
        let end = matching(&code, open);
        let first = lines.of(at);
        out.push((name, first, lines.of(end - 1) - first + 1));
    }
    out
}

#[test]
fn no_two_files_import_each_other() {
    let krate = Crate::load();
    let edges = krate.edges();
    // A checker that reads nothing passes everything: it must see the crate's references.
    assert!(
        krate.files.len() > 10 && edges.len() > 2 * krate.files.len(),
        "the checker found {} files and {} references between them",
        krate.files.len(),
        edges.len()
    );
    let graph: BTreeSet<(usize, usize)> = edges.keys().copied().collect();
    let found = cycles(krate.files.len(), &graph);
    let mut report = String::new();
    for component in &found {
        report.push_str("\nan import circle between these files:\n");
        for &a in component {
            for &b in component {
                if let Some((line, path)) = edges.get(&(a, b)) {
                    let (fa, fb) = (&krate.files[a].rel, &krate.files[b].rel);
                    report.push_str(&format!("  {fa}:{line} -> {fb} ({path})\n"));
                }
            }
        }
    }
    assert!(found.is_empty(), "{report}");
}

#[test]
fn only_the_runner_names_the_python_bridge() {
    let offenders = bridge_users(&Crate::load());
    assert!(
        offenders.is_empty(),
        "only runner modules may use runner::python:\n{}",
        offenders.join("\n")
    );
}

/// Paths outside `runner/` that name `runner::python` (what the runner re-exports is its own).
fn bridge_users(krate: &Crate) -> Vec<String> {
    let bridge = ["runner".to_string(), "python".to_string()];
    let mut offenders = Vec::new();
    for f in &krate.files {
        if f.module.first().is_some_and(|m| m == "runner") {
            continue;
        }
        for (path, line) in krate.references(f) {
            let through = krate
                .resolve(&f.module, &path, 0)
                .is_some_and(|t| t.walked.starts_with(&bridge));
            if through {
                offenders.push(format!("src/{}:{line}: {}", f.rel, path.join("::")));
            }
        }
    }
    offenders
}

#[test]
fn no_function_is_over_100_lines() {
    let krate = Crate::load();
    let mut long = Vec::new();
    for f in &krate.files {
        for (name, line, lines) in functions(&f.code) {
            if lines > MAX_FN_LINES {
                long.push(format!("src/{}:{line}: fn {name} is {lines} lines", f.rel));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines (outside tests):\n{}",
        long.join("\n")
    );
}

#[test]
fn app_rs_stays_thin() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/app.rs");
    let lines = std::fs::read_to_string(path).unwrap().lines().count();
    assert!(
        lines <= MAX_APP_LINES,
        "src/app.rs is {lines} lines, at most {MAX_APP_LINES}: it only wires settings, runner and reports"
    );
}

// The checker's own parts, on small sources.

fn sources(files: &[(&str, &str)]) -> Crate {
    let texts: Vec<(String, String)> = files
        .iter()
        .map(|(r, t)| (r.to_string(), t.to_string()))
        .collect();
    Crate::from_sources(&texts)
}

fn edge_names(krate: &Crate) -> Vec<(String, String)> {
    krate
        .edges()
        .keys()
        .map(|&(a, b)| (krate.files[a].rel.clone(), krate.files[b].rel.clone()))
        .collect()
}

#[test]
fn literals_and_comments_are_blanked() {
    let src =
        "let a = \"crate::x {\"; // crate::y\nlet b = '{'; let c: &'a str = r#\"}\"#; /* { */";
    let out = blank_literals(src);
    assert!(
        !out.contains("crate") && !out.contains('{') && !out.contains('}'),
        "{out}"
    );
    assert!(out.contains("&'a str"), "{out}");
    assert_eq!(out.lines().count(), 2);
}

#[test]
fn use_trees_are_read_leaf_by_leaf() {
    let leaves: Vec<(String, Option<String>)> = parse_use_tree(
        "{super::capture::{self, Router}, crate::a::{b::C as D, e::*}}",
        1,
    )
    .into_iter()
    .map(|u| (u.path.join("::"), u.name))
    .collect();
    let want = [
        ("super::capture", Some("capture")),
        ("super::capture::Router", Some("Router")),
        ("crate::a::b::C", Some("D")),
        ("crate::a::e", None),
    ];
    let want: Vec<(String, Option<String>)> = want
        .iter()
        .map(|(p, n)| (p.to_string(), n.map(str::to_string)))
        .collect();
    assert_eq!(leaves, want);
}

#[test]
fn re_exports_lead_to_the_defining_file_and_test_items_are_ignored() {
    let krate = sources(&[
        ("main.rs", "mod a;\nmod b;\nfn main() { a::run(); }\n"),
        (
            "a/mod.rs",
            "mod inner;\npub use inner::run;\npub struct Shared;\n",
        ),
        (
            "a/inner.rs",
            "use crate::b::helper;\npub fn run() { helper(); }\n#[cfg(test)]\nmod tests { use super::super::Shared; }\n",
        ),
        (
            "b.rs",
            "pub fn helper() { let _ = crate::a::Shared; }\n#[cfg(test)]\nmod fixtures;\n",
        ),
        ("b/fixtures.rs", "use crate::a::inner;\n"),
    ]);
    let mut got = edge_names(&krate);
    got.sort();
    let want = [
        ("a/inner.rs", "b.rs"),
        ("a/mod.rs", "a/inner.rs"),
        ("b.rs", "a/mod.rs"),
        ("main.rs", "a/inner.rs"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(got, want);
    let graph: BTreeSet<(usize, usize)> = krate.edges().keys().copied().collect();
    let found = cycles(krate.files.len(), &graph);
    let names: Vec<Vec<&str>> = found
        .iter()
        .map(|c| {
            let mut names: Vec<&str> = c.iter().map(|&i| krate.files[i].rel.as_str()).collect();
            names.sort_unstable();
            names
        })
        .collect();
    assert_eq!(names, vec![vec!["a/inner.rs", "a/mod.rs", "b.rs"]]);
}

#[test]
fn function_lengths_run_from_fn_to_its_closing_brace() {
    let code = blank_literals(
        "fn short() {\n    let s = \"}\";\n}\ntrait T { fn decl(&self); }\nfn typed(f: fn(u8) -> u8) -> u8 {\n    f(1)\n\n}\n",
    );
    let got = functions(&code);
    let want = [("short", 1, 3), ("typed", 5, 4)];
    let want: Vec<(String, usize, usize)> = want
        .iter()
        .map(|&(n, l, c)| (n.to_string(), l, c))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn the_bridge_rule_sees_aliases_and_allows_the_runner_s_re_exports() {
    let krate = sources(&[
        ("main.rs", "mod app;\nmod runner;\n"),
        (
            "runner/mod.rs",
            "pub mod python;\npub use python::version;\n",
        ),
        (
            "runner/python/mod.rs",
            "pub fn version() {}\npub fn start() {}\n",
        ),
        (
            "app.rs",
            "use crate::runner::{self, python};\nfn run() {\n    runner::version();\n    python::start();\n}\n",
        ),
    ]);
    assert_eq!(
        bridge_users(&krate),
        [
            "src/app.rs:1: crate::runner::python",
            "src/app.rs:4: python::start"
        ]
    );
}
