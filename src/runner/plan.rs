//! Deciding, before any import, which files to import and which tests a run expects.
use std::path::PathBuf;

use crate::runner::discover::{Discovered, FileKind};
use crate::runner::filter::{Decision, Filter, Mode};
use crate::runner::scan::{FileScan, Resolver, StaticTest, Tags, read_source};

#[derive(Debug)]
pub struct PlannedFile {
    pub file: Discovered,
    /// Tests the static scan found that the filters keep (or cannot rule out).
    pub tests: Vec<StaticTest>,
    /// Why only importing the file can tell its tests (a base from an installed package, a
    /// suite built at run time...): it is imported whatever the filters, which the workers
    /// then apply to each test.
    pub undecidable: Option<String>,
    /// Runs alone in its process (`FileTask::exclusive`).
    pub exclusive: bool,
    /// What its source says about asking for an event loop (`FileTask::loop_hint`).
    pub loop_hint: LoopHint,
}

/// What a test file's source says about the current event loop, read once by the plan: a
/// file that may ask for it while it is imported gets its loop first (see `FileRun::import`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LoopHint {
    /// It asks (`get_event_loop`, a `Future(`, `ensure_future`).
    pub asks: bool,
    /// It names asyncio at all: before Python 3.10, its locks, events and queues took the
    /// current loop when made.
    pub asyncio: bool,
}

impl LoopHint {
    /// A vectorised search: a byte-window scan cost tens of microseconds per file.
    pub fn of(src: &[u8]) -> LoopHint {
        let has = |needle: &[u8]| memchr::memmem::find(src, needle).is_some();
        LoopHint {
            asks: has(b"get_event_loop") || has(b"Future(") || has(b"ensure_future"),
            asyncio: has(b"asyncio"),
        }
    }

    /// Whether the file may need a current event loop while imported, on a Python before
    /// 3.10 or not.
    pub fn may_need_loop(self, before_310: bool) -> bool {
        if before_310 { self.asyncio } else { self.asks }
    }
}

#[derive(Debug, Default)]
pub struct Plan {
    pub test_files: Vec<PlannedFile>,
    pub bench_files: Vec<Discovered>,
}

/// One file to run, as the executing side (and a worker) knows it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FileTask {
    /// The file's place in the run: test files first, then benchmark files.
    pub index: usize,
    /// As bytes on the wire to a worker: a file name need not be UTF-8 (`test_\xff.py`).
    #[serde(with = "path_bytes")]
    pub path: PathBuf,
    pub rel: String,
    /// Runs alone in its process: a file of unittest or pytest-style tests (one that does not
    /// import dbtest). Such suites were written for a runner that runs one test at a time in
    /// its process: they swap process-wide state (`sys.stdout` in click's `CliRunner`,
    /// `os.environ` and attributes through `monkeypatch`, the working folder) that a file on
    /// another thread of the same process would see. Their parallelism is processes.
    #[serde(default)]
    pub exclusive: bool,
    /// Its source's `LoopHint`, or None when the plan did not read it (the worker reads it).
    #[serde(default)]
    pub loop_hint: Option<LoopHint>,
}

/// Whether a test file's source imports the `dbtest` module (`import dbtest`, `from dbtest
/// import ...`): then it is written for dbtest, whose files share their worker's threads. An
/// unreadable file (empty source) shares: its import reports what is wrong.
fn imports_dbtest(src: &[u8]) -> bool {
    // A vectorised search: a byte-window scan cost tens of microseconds per file.
    src.is_empty()
        || memchr::memmem::find_iter(src, b"dbtest")
            .any(|i| src[..i].ends_with(b"import ") || src[..i].ends_with(b"from "))
}

/// A path as its raw bytes (Unix), so that any file name reaches a worker intact.
mod path_bytes {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    use std::path::{Path, PathBuf};

    pub fn serialize<S: serde::Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(path.as_os_str().as_bytes())
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
        let bytes: Vec<u8> = serde::Deserialize::deserialize(d)?;
        Ok(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
    }
}

impl Plan {
    pub fn expected_tests(&self) -> usize {
        self.test_files.iter().map(|f| f.tests.len().max(1)).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.test_files.is_empty() && self.bench_files.is_empty()
    }

    /// The files as tasks, numbered in report order: test files, then benchmark files.
    pub fn into_tasks(self) -> (Vec<FileTask>, Vec<FileTask>) {
        let n_tests = self.test_files.len();
        let mut tests: Vec<FileTask> = self
            .test_files
            .into_iter()
            .map(|f| (f.file, f.exclusive, Some(f.loop_hint)))
            .chain(self.bench_files.into_iter().map(|f| (f, false, None)))
            .enumerate()
            .map(|(index, (f, exclusive, loop_hint))| FileTask {
                index,
                exclusive,
                path: f.path,
                rel: f.rel,
                loop_hint,
            })
            .collect();
        let benches = tests.split_off(n_tests);
        (tests, benches)
    }
}

pub fn test_id(rel: &str, t: &StaticTest) -> String {
    match &t.suite {
        Some(s) => format!("{rel}::{s}::{}", t.name),
        None => format!("{rel}::{}", t.name),
    }
}

pub fn plan(files: Vec<Discovered>, filter: &Filter) -> Plan {
    let mut out = Plan::default();
    // One per project root (files outside the root have none): each module read once.
    let mut resolvers: std::collections::HashMap<Option<std::path::PathBuf>, Resolver> =
        Default::default();
    for file in files {
        match file.kind {
            FileKind::Bench => {
                if matches!(filter.mode, Mode::All | Mode::Bench) {
                    out.bench_files.push(file);
                }
            }
            FileKind::Test if filter.mode == Mode::Bench => {}
            FileKind::Test => {
                // Unreadable or non-UTF-8 files still get imported: Python reports what is wrong.
                let root = Resolver::root_of(&file.path, &file.rel);
                let resolver = resolvers
                    .entry(root.clone())
                    .or_insert_with(|| Resolver::new(root).naming(&filter.spec.collection));
                let src = read_source(&file.path);
                let exclusive = !imports_dbtest(src.as_bytes());
                let loop_hint = LoopHint::of(src.as_bytes());
                let found = match resolver.scan_read(&file.path, &src, &file.rel) {
                    FileScan::Known(tests) => tests,
                    FileScan::Undecidable(why) => {
                        if filter.may_select_undecidable_file(&file.rel) {
                            out.test_files.push(PlannedFile {
                                file,
                                tests: Vec::new(),
                                undecidable: Some(why),
                                exclusive,
                                loop_hint,
                            });
                        }
                        continue;
                    }
                };
                let opaque = found.is_empty();
                let tests: Vec<StaticTest> = found
                    .into_iter()
                    .filter(|t| {
                        let tags = match &t.tags {
                            Tags::Known(v) => Some(v.as_slice()),
                            Tags::Unknown => None,
                        };
                        filter.decide(&file.rel, &test_id(&file.rel, t), tags) != Decision::No
                    })
                    .collect();
                if !tests.is_empty() || (opaque && filter.selects_opaque_file(&file.rel)) {
                    out.test_files.push(PlannedFile {
                        file,
                        tests,
                        undecidable: None,
                        exclusive,
                        loop_hint,
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{LoopHint, imports_dbtest};

    #[test]
    fn files_written_for_dbtest_are_told_by_their_imports() {
        assert!(imports_dbtest(b"from dbtest import test\n"));
        assert!(imports_dbtest(b"import os\nimport dbtest\n"));
        assert!(!imports_dbtest(b"import unittest\n"));
        assert!(!imports_dbtest(b"import pytest\n# dbtest runs this too\n"));
        assert!(imports_dbtest(b""));
        // Every mention is looked at, not only the first.
        assert!(imports_dbtest(
            b"# dbtest\nx = 'dbtest'\nfrom dbtest import test\n"
        ));
    }

    #[test]
    fn files_that_may_ask_for_a_loop_at_import_are_told_by_their_source() {
        let need = |src: &[u8], before_310| LoopHint::of(src).may_need_loop(before_310);
        let plain = b"import unittest\n\nclass T(unittest.TestCase):\n    pass\n";
        assert!(!need(plain, false));
        assert!(need(b"loop = asyncio.get_event_loop()\n", false));
        assert!(need(b"f = asyncio.Future()\n", false));
        assert!(need(b"x\nasyncio.ensure_future(c())", false));
        assert!(!need(b"import asyncio\nlock = asyncio.Lock()\n", false));
        // Before 3.10, any use of asyncio may take the current loop.
        assert!(need(b"import asyncio\nlock = asyncio.Lock()\n", true));
        assert!(!need(plain, true));
        assert!(!need(b"", false));
    }
}
