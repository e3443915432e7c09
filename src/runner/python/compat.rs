//! unittest and pytest-style tests: the bridge to the shim's `_compat` module, which collects a
//! file's `TestCase` methods and pytest-style functions and runs them with unittest's and
//! pytest's semantics (class and module set-up, skips, expected failures, marks, parametrize).
//! Rust keeps what it does for every test: filters, events, captured output, descriptions.
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyModule;

use super::bridge::Bridge;
use super::failure::describe;
use crate::runner::event::{ErrorKind, Status, TestResult};

static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// The shim's `_compat` module (written beside `dbtest/__init__.py`, so its frames never show
/// in tracebacks), imported once per interpreter.
pub(super) fn module<'py>(py: Python<'py>, _bridge: &Bridge) -> PyResult<Bound<'py, PyModule>> {
    let m = MODULE.get_or_try_init(py, || -> PyResult<Py<PyModule>> {
        let m = py.import("dbtest._compat")?;
        configure(&m)?;
        Ok(m.unbind())
    })?;
    Ok(m.bind(py).clone())
}

/// Tell `_compat` the project's `python_classes`, `python_functions` and `asyncio_mode`
/// (pytest's configuration), once per interpreter; a shim without `configure` keeps its own.
fn configure(m: &Bound<'_, PyModule>) -> PyResult<()> {
    if m.hasattr("configure")? {
        let c = super::bridge::collection();
        m.call_method1(
            "configure",
            (c.python_classes, c.python_functions, c.asyncio_mode),
        )?;
    }
    Ok(())
}

/// Import `_compat` now (`_fixtures` waits for a test that needs it); a failure shows again,
/// where it matters, when a file needs the module.
pub(super) fn warm_up() {
    Python::attach(|py| {
        let _ = module(py, super::bridge::Bridge::get());
    });
}

/// The lock test files are imported under, one at a time per process (see `_compat`).
pub(super) fn import_lock<'py>(py: Python<'py>, bridge: &Bridge) -> PyResult<Bound<'py, PyAny>> {
    module(py, bridge)?.getattr(pyo3::intern!(py, "IMPORT_LOCK"))
}

static LOAD_CONFTESTS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Import the `conftest.py` files from `root` down to `path`'s folder (once per process, under
/// the shim's lock), before the test file: pytest's order. An error names the conftest.
/// (`_compat`'s, which imports the fixture machinery only for a file with a conftest.py.)
pub(super) fn load_conftests(
    py: Python<'_>,
    path: &std::path::Path,
    root: &std::path::Path,
) -> PyResult<()> {
    let load = LOAD_CONFTESTS.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(module(py, super::bridge::Bridge::get())?
            .getattr("load_conftests")?
            .unbind())
    })?;
    // As str, not pathlib.Path (which is what a Path converts to, at ~20 us each).
    load.bind(py).call1((path.as_os_str(), root.as_os_str()))?;
    Ok(())
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

/// A session's `step`, looked up once for all its tests.
pub(super) fn stepper<'py>(session: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    session.getattr(pyo3::intern!(session.py(), "step"))
}

/// Set up what the test needs (its class, its module) and run it, in one call (`stepper`'s):
/// the previous class's tear-down problems, and the outcome (see `apply`; a failed set-up's
/// when its class or module could not be set up).
pub(super) fn step<'py>(
    stepper: &Bound<'py, PyAny>,
    item: &Bound<'py, PyAny>,
) -> PyResult<(Vec<HookProblem>, Bound<'py, PyAny>)> {
    let got = stepper.call1((item,))?;
    let (problems, outcome): (Bound<'py, PyAny>, Bound<'py, PyAny>) = got.extract()?;
    let problems = if problems.is_truthy()? {
        hook_problems(&problems)?
    } else {
        Vec::new()
    };
    Ok((problems, outcome))
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
pub(super) fn one_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_string()
}

static PASSED: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Fill `r` from an outcome tuple `(status, kind, message, exception, note)`. Returns whether
/// the test produced a problem whose output is worth keeping.
pub(super) fn apply(
    py: Python<'_>,
    bridge: &Bridge,
    outcome: &Bound<'_, PyAny>,
    r: &mut TestResult,
) -> PyResult<()> {
    // Most tests pass, and the shim returns its one `_PASSED` tuple for them: nothing to read.
    let passed = PASSED.get_or_try_init(py, || {
        module(py, bridge)?.getattr("_PASSED").map(Bound::unbind)
    });
    if passed.is_ok_and(|p| outcome.is(p.bind(py))) {
        r.status = Status::Passed;
        return Ok(());
    }
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
