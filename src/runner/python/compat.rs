//! unittest and pytest-style tests: the bridge to the shim's `_compat` module, which collects a
//! file's `TestCase` methods and pytest-style functions and runs them with unittest's and
//! pytest's semantics (class and module set-up, skips, expected failures, marks, parametrize).
//! Rust keeps what it does for every test: filters, events, captured output, descriptions.
use std::ffi::CString;
use std::sync::atomic::Ordering;
use std::time::Instant;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;

use super::bridge::Bridge;
use super::capture;
use super::engine::FileRun;
use super::failure::describe;
use crate::runner::event::{ErrorKind, Event, Status, TestResult, TestStart};

const SOURCE: &str = include_str!("../../../python_shim/dbtest/_compat.py");

static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The `_compat` module, loaded once per interpreter from the source compiled into dbtest.
/// Its file name lies in the shim's folder, so its frames never show in tracebacks.
pub(super) fn module<'py>(py: Python<'py>, bridge: &Bridge) -> PyResult<Bound<'py, PyModule>> {
    let m = MODULE.get_or_try_init(py, || -> PyResult<Py<PyModule>> {
        let code = CString::new(SOURCE).expect("the shim has no NUL bytes");
        let file = CString::new(format!("{}dbtest/_compat.py", bridge.shim_dir))
            .unwrap_or_else(|_| c"dbtest/_compat.py".to_owned());
        Ok(PyModule::from_code(py, &code, &file, c"dbtest._compat")?.unbind())
    })?;
    Ok(m.bind(py).clone())
}

/// One unittest or pytest-style test the file defines (one parametrized case each).
pub(super) struct CompatTest<'py> {
    pub item: Bound<'py, PyAny>,
    pub suite: Option<String>,
    /// With a parametrized case's id: `test_add[1-2-3]`.
    pub name: String,
    pub tags: Vec<String>,
    pub line: Option<u32>,
}

impl CompatTest<'_> {
    pub fn id(&self, rel: &str) -> String {
        match &self.suite {
            Some(s) => format!("{rel}::{s}::{}", self.name),
            None => format!("{rel}::{}", self.name),
        }
    }
}

/// The file's unittest and pytest-style tests, in the order their own runners run them.
pub(super) fn collect<'py>(
    py: Python<'py>,
    bridge: &Bridge,
    module: &Bound<'py, PyAny>,
    rel: &str,
) -> PyResult<Vec<CompatTest<'py>>> {
    let compat = self::module(py, bridge)?;
    let items = compat.call_method1("collect", (module, rel))?;
    let mut out = Vec::new();
    for item in items.try_iter()? {
        let item = item?;
        let (suite, name, tags, line): (Option<String>, String, Vec<String>, Option<u32>) =
            item.call_method0("descriptor")?.extract()?;
        out.push(CompatTest {
            item,
            suite,
            name,
            tags,
            line,
        });
    }
    Ok(out)
}

/// A session running one file's tests: class and module set-up and tear-down in order.
pub(super) fn session<'py>(
    py: Python<'py>,
    bridge: &Bridge,
    module: &Bound<'py, PyAny>,
    rel: &str,
) -> PyResult<Bound<'py, PyAny>> {
    self::module(py, bridge)?.call_method1("Session", (module, rel))
}

/// A class or module tear-down that failed: its own report entry.
pub(super) struct HookProblem {
    pub suite: Option<String>,
    pub hook: String,
    pub error: PyErr,
}

fn hook_problems(list: &Bound<'_, PyAny>) -> PyResult<Vec<HookProblem>> {
    let mut out = Vec::new();
    for p in list.try_iter()? {
        let (suite, hook, exc): (Option<String>, String, Bound<'_, PyAny>) = p?.extract()?;
        out.push(HookProblem {
            suite,
            hook,
            error: PyErr::from_value(exc),
        });
    }
    Ok(out)
}

/// Set up what the test needs: the previous class's tear-down problems, and the set-up
/// outcome that stands for this test if its class or module could not be set up.
pub(super) fn enter<'py>(
    session: &Bound<'py, PyAny>,
    test: &CompatTest<'py>,
) -> PyResult<(Vec<HookProblem>, Option<Bound<'py, PyAny>>)> {
    let got = session.call_method1(pyo3::intern!(session.py(), "enter"), (&test.item,))?;
    let (problems, setup): (Bound<'py, PyAny>, Bound<'py, PyAny>) = got.extract()?;
    Ok((
        hook_problems(&problems)?,
        Some(setup).filter(|s| !s.is_none()),
    ))
}

/// Run the test; its outcome (see `apply`).
pub(super) fn run<'py>(
    session: &Bound<'py, PyAny>,
    test: &CompatTest<'py>,
) -> PyResult<Bound<'py, PyAny>> {
    session.call_method1(pyo3::intern!(session.py(), "run"), (&test.item,))
}

/// Tear down the last class and the module.
pub(super) fn finish(session: &Bound<'_, PyAny>) -> PyResult<Vec<HookProblem>> {
    hook_problems(&session.call_method0("finish")?)
}

fn status_of(s: &str) -> Status {
    match s {
        "passed" => Status::Passed,
        "failed" => Status::Failed,
        "skipped" => Status::Skipped,
        "xfailed" => Status::Xfailed,
        "xpassed" => Status::Xpassed,
        _ => Status::Error,
    }
}

fn kind_of(s: &str) -> ErrorKind {
    match s {
        "setup" => ErrorKind::Setup,
        "teardown" => ErrorKind::Teardown,
        "fixture" => ErrorKind::Fixture,
        _ => ErrorKind::Exception,
    }
}

/// The first line of a message: report messages are one line.
fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

/// Fill `r` from an outcome tuple `(status, kind, message, exception, note)`. Returns whether
/// the test produced a problem whose output is worth keeping.
pub(super) fn apply(
    py: Python<'_>,
    bridge: &Bridge,
    outcome: &Bound<'_, PyAny>,
    r: &mut TestResult,
) -> PyResult<()> {
    let (status, kind, message, exc, note): (
        String,
        Option<String>,
        Option<String>,
        Bound<'_, PyAny>,
        Option<String>,
    ) = outcome.extract()?;
    r.status = status_of(&status);
    // unittest's unexpected successes fail the run; pytest's non-strict xpasses do not.
    r.strict = r.status == Status::Xpassed && kind.as_deref() == Some("strict");
    r.kind = match (r.status, kind) {
        (Status::Error, Some(k)) => Some(kind_of(&k)),
        (Status::Error, None) => Some(ErrorKind::Exception),
        _ => None,
    };
    r.message = message;
    if !exc.is_none() {
        let d = describe(py, &PyErr::from_value(exc), bridge);
        if r.message.is_none() {
            r.message = Some(one_line(&d.message()));
        }
        let mut tb = d.traceback;
        if let Some(n) = note {
            tb.push_str("\n\n");
            tb.push_str(&n);
        }
        r.traceback = Some(tb);
        if d.is_assertion && r.status == Status::Failed {
            r.source = d.source;
            r.values = d.values;
        }
    } else if let Some(n) = note {
        r.traceback = Some(n);
    }
    Ok(())
}

/// A problem describing a failed tear-down hook: message and traceback.
pub(super) fn describe_hook(py: Python<'_>, bridge: &Bridge, p: &HookProblem) -> (String, String) {
    let d = describe(py, &p.error, bridge);
    (
        format!("{} failed: {}", p.hook, one_line(&d.message())),
        d.traceback,
    )
}

/// Whether a test running on another thread still refers to `obj` (a `sys.stdout` it put in
/// place: a doctest's, a `redirect_stdout` target): then it is not a leftover to undo.
pub(super) fn in_use_elsewhere(py: Python<'_>, bridge: &Bridge, obj: &Bound<'_, PyAny>) -> bool {
    module(py, bridge)
        .and_then(|m| m.call_method1("in_use_elsewhere", (obj,)))
        .and_then(|r| r.extract::<bool>())
        .unwrap_or(false)
}

/// If importing a file raised this, the reason the whole file is skipped
/// (`pytest.skip(..., allow_module_level=True)`, `pytest.importorskip`, `unittest.SkipTest`).
pub(super) fn module_skip_reason(py: Python<'_>, bridge: &Bridge, err: &PyErr) -> Option<String> {
    // Only files that imported pytest or unittest can raise their skip exceptions.
    let sys = py.import("sys").ok()?;
    let modules = sys.getattr("modules").ok()?;
    let loaded = |name: &str| modules.contains(name).unwrap_or(false);
    if !loaded("_pytest.outcomes") && !loaded("unittest") {
        return None;
    }
    let compat = module(py, bridge).ok()?;
    let reason = compat
        .call_method1("module_skip_reason", (err.value(py),))
        .ok()?;
    reason.extract::<Option<String>>().ok().flatten()
}

/// Where a file's unittest and pytest-style tests go in its report order: after its dbtest
/// tests, two declaration slots each (the odd one for a failed class or module tear-down).
const DECL_BASE: usize = 1 << 20;

impl<'py> FileRun<'_, 'py> {
    fn compat_result(&self, id: String, suite: Option<&str>, name: &str) -> TestResult {
        TestResult {
            id,
            file: self.task.rel.clone(),
            suite: suite.map(str::to_string),
            name: Some(name.to_string()),
            status: Status::Passed,
            kind: None,
            strict: false,
            duration_ms: 0.0,
            tags: Vec::new(),
            line: None,
            message: None,
            traceback: None,
            source: None,
            values: Vec::new(),
            stdout: None,
            stderr: None,
            order: (self.task.index, 0),
        }
    }

    fn compat_emit(&mut self, r: TestResult) {
        if r.fails_run() && self.cx.fail_fast {
            self.cx.stop.store(true, Ordering::SeqCst);
        }
        (self.cx.emit)(Event::TestFinished(r));
    }

    /// Report the error of collecting the file's tests: one entry for the file.
    fn compat_collect_error(&mut self, err: &PyErr) {
        let d = describe(self.py, err, self.bridge);
        let mut r = self.compat_result(self.task.rel.clone(), None, "");
        r.name = None;
        r.status = Status::Error;
        r.kind = Some(ErrorKind::Import);
        r.message = Some(format!("collecting tests failed: {}", d.message()));
        r.traceback = Some(d.traceback);
        (self.cx.emit)(Event::FileError(r));
    }

    /// A class or module tear-down that failed: an entry `path::Class::tearDownClass` (or
    /// `path::tearDownModule`) of kind `teardown`, placed after the test before it.
    fn compat_hook_entry(&mut self, p: &HookProblem, slot: usize, out: &(String, String)) {
        let (message, traceback) = describe_hook(self.py, self.bridge, p);
        let id = match &p.suite {
            Some(s) => format!("{}::{s}::{}", self.task.rel, p.hook),
            None => format!("{}::{}", self.task.rel, p.hook),
        };
        let mut r = self.compat_result(id, p.suite.as_deref(), &p.hook);
        r.status = Status::Error;
        r.kind = Some(ErrorKind::Teardown);
        r.message = Some(message);
        r.traceback = Some(traceback);
        r.order = (self.task.index, slot);
        r.stdout = Some(out.0.clone()).filter(|s| !s.is_empty());
        r.stderr = Some(out.1.clone()).filter(|s| !s.is_empty());
        self.compat_emit(r);
    }

    /// Run the file's unittest and pytest-style tests that the filters select, in their
    /// runners' order, with class and module set-up done once each.
    pub(super) fn run_compat(&mut self, module: &Bound<'py, PyAny>) {
        let py = self.py;
        let rel = self.task.rel.clone();
        let all = match collect(py, self.bridge, module, &rel) {
            Ok(t) => t,
            Err(e) => return self.compat_collect_error(&e),
        };
        let selected: Vec<(usize, CompatTest<'py>)> = all
            .into_iter()
            .enumerate()
            .map(|(i, t)| (DECL_BASE + 2 * i, t))
            .filter(|(decl, t)| {
                self.cx.filter.selects(&rel, &t.id(&rel), &t.tags)
                    && !self.cx.skip.contains(&(2 * decl))
            })
            .collect();
        if selected.is_empty() {
            return;
        }
        let session = match session(py, self.bridge, module, &rel) {
            Ok(s) => s,
            Err(e) => return self.compat_collect_error(&e),
        };
        let mut last_decl = selected[0].0;
        for (decl, t) in &selected {
            if self.cx.stop.load(Ordering::SeqCst) {
                break;
            }
            let mut r = self.compat_result(t.id(&rel), t.suite.as_deref(), &t.name);
            r.tags = t.tags.clone();
            r.line = t.line;
            r.order = (self.task.index, 2 * decl);
            (self.cx.emit)(Event::TestStarted(TestStart {
                id: r.id.clone(),
                tags: r.tags.clone(),
                line: r.line,
                timeout: None,
                order: r.order,
            }));
            capture::begin();
            let started = Instant::now();
            let ran = (|| -> PyResult<(Vec<HookProblem>, Bound<'py, PyAny>)> {
                let (problems, setup) = enter(&session, t)?;
                let outcome = match setup {
                    Some(s) => s,
                    None => run(&session, t)?,
                };
                Ok((problems, outcome))
            })();
            r.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
            let out = capture::end();
            self.restore();
            let applied = ran.and_then(|(problems, outcome)| {
                for p in &problems {
                    self.compat_hook_entry(p, 2 * last_decl + 1, &(String::new(), String::new()));
                }
                apply(py, self.bridge, &outcome, &mut r)
            });
            if let Err(e) = applied {
                let d = describe(py, &e, self.bridge);
                r.status = Status::Error;
                r.kind = Some(ErrorKind::Exception);
                r.message = Some(one_line(&d.message()));
                r.traceback = Some(d.traceback);
            }
            if r.is_problem() || r.fails_run() {
                r.stdout = Some(out.0);
                r.stderr = Some(out.1);
            }
            self.compat_emit(r);
            last_decl = *decl;
        }
        capture::begin();
        let finished = finish(&session);
        let out = capture::end();
        self.restore();
        match finished {
            Ok(problems) => {
                for (k, p) in problems.iter().enumerate() {
                    // After the last test: its odd slot, then the unused even one after it.
                    self.compat_hook_entry(p, 2 * last_decl + 1 + k.min(1), &out);
                }
            }
            Err(e) => self.compat_collect_error(&e),
        }
    }
}
