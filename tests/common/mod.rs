//! Helpers shared by the end-to-end tests: throwaway Python projects and runs of the real
//! `dbtest` binary in them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// A throwaway project: a temporary folder with a `pyproject.toml` at its top, so the
/// project root (and so every id) is deterministic whatever lies above it.
pub struct Project {
    dir: TempDir,
    root: PathBuf,
}

impl Project {
    pub fn new() -> Project {
        let dir = tempfile::Builder::new()
            .prefix("dbtest-e2e-")
            .tempdir()
            .expect("creating a temporary folder");
        // The canonical path: ids and paths the binary reports are compared against it.
        let root = dir.path().canonicalize().expect("canonical temp path");
        std::fs::write(root.join("pyproject.toml"), "[project]\nname = \"e2e\"\n").unwrap();
        Project { dir, root }
    }

    /// A project without any root marker file (pyproject.toml, setup.py, .git).
    pub fn bare() -> Project {
        let p = Project::new();
        std::fs::remove_file(p.root.join("pyproject.toml")).unwrap();
        p
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Write `content` (dedented, leading newline dropped) to `rel`, creating folders.
    pub fn write(&self, rel: &str, content: &str) -> &Project {
        let p = self.root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, dedent(content)).unwrap();
        self
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.root.join(rel).exists()
    }

    /// `dbtest` started in the project root, with an environment that does not depend on
    /// the caller's (no active virtualenv, no colour variables).
    pub fn cmd(&self) -> Command {
        self.cmd_in(".")
    }

    /// `dbtest` started in the folder `rel` of the project.
    pub fn cmd_in(&self, rel: &str) -> Command {
        let mut c = dbtest();
        c.current_dir(self.root.join(rel));
        c
    }

    /// Run `dbtest ARGS --format json` from the root; the parsed report and the process output.
    pub fn run_json(&self, args: &[&str]) -> (Value, Output) {
        let out = self
            .cmd()
            .args(args)
            .args(["--format", "json"])
            .output()
            .unwrap();
        (parse_json(&out), out)
    }
}

/// The binary under test with a clean environment.
pub fn dbtest() -> Command {
    let mut c = Command::cargo_bin("dbtest").expect("the dbtest binary is built");
    for var in [
        "VIRTUAL_ENV",
        "NO_COLOR",
        "FORCE_COLOR",
        "CLICOLOR_FORCE",
        // Under GitHub Actions dbtest adds annotations and a step summary.
        "GITHUB_ACTIONS",
        "GITHUB_STEP_SUMMARY",
    ] {
        c.env_remove(var);
    }
    c.timeout(Duration::from_secs(60));
    c
}

/// Remove the common leading indentation of `s` (ignoring blank lines) and a leading newline,
/// so fixtures can be written as indented raw strings.
pub fn dedent(s: &str) -> String {
    let s = s.strip_prefix('\n').unwrap_or(s);
    let indent = s
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out: String = s
        .lines()
        .map(|l| {
            if l.len() >= indent {
                &l[indent..]
            } else {
                l.trim_start()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    out.push('\n');
    out
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The whole of stdout as one JSON document (nothing else may be printed there).
pub fn parse_json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}); exit {:?}\n--- stdout (first 4000 bytes)\n{}\n--- stderr\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout[..out.stdout.len().min(4000)]),
            stderr(out)
        )
    })
}

pub fn tests_of(report: &Value) -> &Vec<Value> {
    report["tests"].as_array().expect("tests is an array")
}

/// Ids in report order.
pub fn ids(report: &Value) -> Vec<String> {
    tests_of(report)
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

/// The entry with this id, or a panic listing the ids there are.
pub fn entry<'a>(report: &'a Value, id: &str) -> &'a Value {
    tests_of(report)
        .iter()
        .find(|t| t["id"] == id)
        .unwrap_or_else(|| panic!("no test {id:?} in the report; ids: {:#?}", ids(report)))
}

/// `(id, status)` pairs in report order.
pub fn statuses(report: &Value) -> Vec<(String, String)> {
    tests_of(report)
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

pub fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let r = f();
    (r, start.elapsed())
}

/// Insta settings that blank out what changes from run to run: durations, the Python patch
/// version and temporary paths.
pub fn snapshot_settings(root: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(false);
    s.add_filter(&regex_escape(&root.display().to_string()), "[ROOT]");
    s.add_filter(
        r#""duration_ms": [0-9.eE+-]+"#,
        r#""duration_ms": "[DURATION]""#,
    );
    s.add_filter(r"\d+(\.\d+)? (ms|s)\b", "[DURATION]");
    // The console table's Time column is as wide as its widest duration.
    s.add_filter(r"┆ +\[DURATION\] │", "┆ [DURATION] │");
    s.add_filter(r"┆ +Time │", "┆ Time │");
    s.add_filter(r"─+┐", "─┐");
    s.add_filter(r"═+╡", "═╡");
    s.add_filter(r"─+┘", "─┘");
    s.add_filter(r"Python 3\.11\.\d+", "Python 3.11.[PATCH]");
    s.add_filter(
        r#""python_version": "3\.11\.\d+""#,
        r#""python_version": "3.11.[PATCH]""#,
    );
    s
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Copy a folder tree (files and folders only; `__pycache__` left out). The copies are made
/// writable so the temporary folder can be removed.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "__pycache__" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if src.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::write(&dst, std::fs::read(&src).unwrap()).unwrap();
        }
    }
}

/// Decode the HTML character references the markdown report uses.
pub fn html_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest.find(';').filter(|&j| j <= 10).and_then(|j| {
            let entity = &rest[1..j];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    if let Some(hex) = entity
                        .strip_prefix("#x")
                        .or_else(|| entity.strip_prefix("#X"))
                    {
                        u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
                    } else if let Some(dec) = entity.strip_prefix('#') {
                        dec.parse().ok().and_then(char::from_u32)
                    } else {
                        None
                    }
                }
            };
            c.map(|c| (c, j))
        });
        match decoded {
            Some((c, j)) => {
                out.push(c);
                rest = &rest[j + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Structural validity: no raw control characters, tables with a constant cell count, fences
/// and `<details>` blocks closed.
pub fn check_markdown(md: &str) {
    if let Some(c) = md.chars().find(|&c| c.is_control() && c != '\n') {
        panic!("raw control character {c:?} in the markdown report");
    }
    // Tables: consecutive lines starting with `|` (outside fences) have the same cell count.
    let mut fence: Option<usize> = None;
    let mut table_cells: Option<usize> = None;
    let mut tables = 0;
    for (n, line) in md.lines().enumerate() {
        let ticks = line.chars().take_while(|&c| c == '`').count();
        match fence {
            Some(open) => {
                if ticks >= open && line.trim_end().chars().all(|c| c == '`') {
                    fence = None;
                }
                continue;
            }
            None if ticks >= 3 => {
                fence = Some(ticks);
                table_cells = None;
                continue;
            }
            None => {}
        }
        if line.starts_with('|') {
            let cells = line.matches('|').count() - line.matches("\\|").count();
            match table_cells {
                None => {
                    tables += 1;
                    table_cells = Some(cells);
                }
                Some(want) => assert_eq!(
                    cells,
                    want,
                    "line {}: a table row with another cell count:\n{line}",
                    n + 1
                ),
            }
        } else {
            table_cells = None;
        }
    }
    assert!(fence.is_none(), "a code fence is never closed");
    assert!(tables >= 1, "no table in the markdown report:\n{md}");
    assert_eq!(
        md.matches("<details>").count(),
        md.matches("</details>").count(),
        "unbalanced <details>"
    );
}

// ---------------------------------------------------------------------------------------------
// Small helpers of the end-to-end test files (moved from tests/cli.rs when it was split by topic)

pub fn code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

/// A fixture copied from `tests/fixtures/NAME` into a temporary folder.
pub fn fixture(name: &str) -> Project {
    let p = Project::bare();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
        p.root(),
    );
    p
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

pub fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}
