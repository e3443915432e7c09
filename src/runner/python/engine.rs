//! Running one file: import it, collect its suites and tests, run them in declaration order
//! with their hooks, and emit one event per result.
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::Context;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyModule, PyString, PyType};

use super::bridge::{BRIDGE, Bridge};
use super::capture::{self, Router};
use super::failure::{Described, describe};
use crate::runner::event::{ErrorKind, Event, Status, TestResult, TestStart};
use crate::runner::filter::Filter;
use crate::runner::limits;
use crate::runner::plan::{FileTask, LoopHint};
use crate::runner::venv::Venv;

/// Set by `start_in_process`: tests run in dbtest's own process (-n 0).
pub(super) static IN_PROCESS: AtomicBool = AtomicBool::new(false);

/// In-process mode: `os._exit` in this process raises `OsExitInProcess` (a BaseException, so
/// `except Exception` does not swallow it) instead of ending dbtest without a report; forked
/// children (multiprocessing's among them) still exit for real.
const INTERCEPT_OS_EXIT: &std::ffi::CStr = cr#"
import os as _os

class OsExitInProcess(BaseException):
    """os._exit was called in dbtest's own process (-n 0)."""

_real_exit = _os._exit
_runner_pid = _os.getpid()

def _exit(status):
    if _os.getpid() != _runner_pid:
        _real_exit(status)
    raise OsExitInProcess(
        f"os._exit({status!r}) called: in-process mode (-n 0) cannot let a test end dbtest's "
        "process, so it raised this instead (without -n 0 the test's worker process ends and "
        "the test is reported as a crash)"
    )

_exit.__wrapped__ = _real_exit
_os._exit = _exit
"#;

/// The interpreter whose path the embedded Python computes its prefix (standard library,
/// site-packages) from, as that interpreter itself would: the project's, named by the release
/// launcher, else the build interpreter if it is still there (`cargo install`). Without one,
/// Python searches `python3` on PATH, which may be another install of the same minor version
/// whose standard library does not match this libpython (Debian's 3.11 stdlib on pyenv's
/// 3.11 libpython: no `_socket`).
fn prefix_python() -> Option<std::ffi::OsString> {
    if let Some(p) = crate::launched::python() {
        return Some(p.clone());
    }
    let built = Path::new(env!("DBTEST_BUILD_PYTHON"));
    (!built.as_os_str().is_empty() && built.exists()).then(|| built.as_os_str().to_os_string())
}

fn set_program_name(python: &std::ffi::OsStr) {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(python.as_bytes()) else {
        return;
    };
    // SAFETY: Py_DecodeLocale and Py_SetProgramName may be called before the interpreter
    // starts, which it has not (this runs before `Python::initialize`, once per process);
    // the decoded string is never freed, as Python keeps the pointer.
    unsafe {
        let wide = pyo3::ffi::Py_DecodeLocale(path.as_ptr(), std::ptr::null_mut());
        if !wide.is_null() {
            // Deprecated since 3.11 in favour of PyConfig, but kept through 3.14 and the one
            // call that leaves PyO3's own initialisation as it is.
            #[allow(deprecated)]
            pyo3::ffi::Py_SetProgramName(wide);
        }
    }
}

/// Set up `sys` for running user code. Called once, before any file runs.
pub(super) fn initialize(root: &Path, shim: &Path, venv: Option<&Venv>) -> anyhow::Result<String> {
    if let Some(python) = prefix_python() {
        set_program_name(&python);
    }
    Python::initialize();
    Python::attach(|py| -> anyhow::Result<String> {
        let sys = py.import("sys")?;
        let path = sys
            .getattr("path")?
            .cast_into::<PyList>()
            .map_err(|e| anyhow::anyhow!("sys.path is not a list: {e}"))?;
        // The project root first, so tests import the user's code; then the shim.
        path.insert(0, shim.to_string_lossy())?;
        path.insert(0, root.to_string_lossy())?;
        if IN_PROCESS.load(Ordering::SeqCst) {
            PyModule::from_code(
                py,
                INTERCEPT_OS_EXIT,
                c"<dbtest in-process>",
                c"_dbtest_in_process",
            )?;
        }
        if let Some(v) = venv {
            // addsitedir also runs .pth files (editable installs); the venv's packages then
            // move ahead of the base interpreter's.
            let before = path.len();
            let added = py
                .import("site")?
                .call_method1("addsitedir", (v.site_packages.to_string_lossy(),));
            if let Err(e) = added {
                return Err(crate::error::UserError::PythonCannotStart(format!(
                    "adding the virtualenv's packages ({}) failed: {}",
                    v.site_packages.display(),
                    e.value(py)
                ))
                .into());
            }
            let added: Vec<Bound<'_, PyAny>> = (before..path.len())
                .filter_map(|i| path.get_item(i).ok())
                .collect();
            for (offset, item) in added.iter().enumerate() {
                path.call_method1("remove", (item,))?;
                path.insert(2 + offset, item)?;
            }
            if let Some(python) = &v.python {
                sys.setattr("executable", python.to_string_lossy())?;
            }
            sys.setattr("prefix", v.dir.to_string_lossy())?;
            sys.setattr("exec_prefix", v.dir.to_string_lossy())?;
        } else {
            // Embedded, sys.executable would be dbtest itself: subprocesses need a Python.
            let base: String = sys.getattr("base_prefix")?.extract()?;
            let minor = super::env::EMBEDDED_MINOR;
            if let Some(p) = [format!("python{minor}"), "python3".into()]
                .iter()
                .map(|n| PathBuf::from(&base).join("bin").join(n))
                .find(|p| p.exists())
            {
                sys.setattr("executable", p.to_string_lossy())?;
            }
        }
        sys.setattr("argv", vec!["dbtest"])?;
        // Tests read an empty stdin, never the terminal.
        sys.setattr("stdin", py.import("io")?.getattr("StringIO")?.call1(("",))?)?;
        sys.setattr("stdout", Bound::new(py, Router::new(0))?)?;
        sys.setattr("stderr", Bound::new(py, Router::new(1))?)?;
        capture::register(py)?;

        let os_file: String = py.import("os")?.getattr("__file__")?.extract()?;
        let stdlib = Path::new(&os_file)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let machinery = vec![
            stdlib.join("asyncio").to_string_lossy().into_owned() + "/",
            stdlib.join("importlib").to_string_lossy().into_owned() + "/",
            "<frozen importlib".to_string(),
        ];
        let shim_dir = shim.to_string_lossy().into_owned() + "/";
        let _ = BRIDGE.set(Bridge {
            cwd: std::env::current_dir().ok(),
            root: root.to_path_buf(),
            shim_dir,
            machinery,
        });
        let version: String = sys.getattr("version")?.extract()?;
        Ok(version
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string())
    })
    .context("starting the embedded Python interpreter")
}

/// Python's faulthandler writes the tracebacks of a crash to `path` (the supervisor reads it).
/// The file `faulthandler` writes a crash's tracebacks to (each worker process its own).
static FAULT_FILE: std::sync::Mutex<Option<Py<PyAny>>> = std::sync::Mutex::new(None);

pub(super) fn enable_faulthandler(path: &Path) {
    Python::attach(|py| {
        let enabled = (|| -> PyResult<()> {
            let file = py
                .import("builtins")?
                .getattr("open")?
                .call1((path.to_string_lossy(), "w"))?;
            let kwargs = pyo3::types::PyDict::new(py);
            kwargs.set_item("file", &file)?;
            kwargs.set_item("all_threads", true)?;
            py.import("faulthandler")?
                .getattr("enable")?
                .call((), Some(&kwargs))?;
            // Keep the file open for the life of the process (here, not on a module: importing
            // dbtest's would hold up the worker's handshake).
            *FAULT_FILE
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(file.unbind());
            Ok(())
        })();
        if let Err(e) = enabled {
            eprintln!("dbtest worker: faulthandler unavailable: {e}");
        }
    });
}

/// What a running file shares with the rest of the run.
pub struct RunContext<'a> {
    pub filter: &'a Filter,
    /// Set on `-x` after a failure, or on interrupt: start no new test.
    pub stop: &'a AtomicBool,
    pub fail_fast: bool,
    pub emit: &'a dyn Fn(Event),
    /// Tests already reported by an earlier (crashed or stopped) worker, by their place in
    /// the file (`order.1`): not run again.
    pub skip: &'a std::collections::HashSet<usize>,
}

struct Test<'py> {
    /// Position among the file's tests (filtered or not): its place in the report, the same
    /// in whichever worker runs it.
    decl: usize,
    name: String,
    /// The name as a Python string, made once: looked up on the suite for every run.
    py_name: Bound<'py, PyString>,
    func: Bound<'py, PyAny>,
    tags: Vec<String>,
    timeout: Option<f64>,
    /// Why its options are invalid (a timeout out of range): it is reported as an error.
    invalid: Option<String>,
    skip: Option<String>,
    /// `@test(retries=N)`.
    retries: Option<u32>,
    line: Option<u32>,
    id: String,
    /// An `async def`: it needs the file's event loop.
    is_async: bool,
}

impl Test<'_> {
    /// An async test that will run (a skipped one is never called).
    fn needs_loop(&self) -> bool {
        self.is_async && self.skip.is_none()
    }
}

struct Suite<'py> {
    /// None for module-level tests.
    class: Option<Bound<'py, PyType>>,
    name: Option<String>,
    tests: Vec<Test<'py>>,
    /// An async test or hook: the file's event loop is made before the suite's clocks start.
    needs_loop: bool,
}

/// Outcome of calling user code.
struct Problem {
    status: Status,
    kind: Option<ErrorKind>,
    described: Described,
    message: String,
}

pub fn run_file(task: &FileTask, cx: &RunContext<'_>) {
    with_file(task, cx, |run| run.run());
}

/// Run `f` (a worker thread's loop over its files) with a Python thread state kept for the
/// thread, as any long-lived thread of a Python program has: without it, every file's
/// `Python::attach` made and destroyed one (tens of microseconds a file, with a mapping of
/// its frame stack), and the thread's `threading.local` values lasted one file.
pub fn with_thread_state<R>(f: impl FnOnce() -> R) -> R {
    struct Held(*mut ffi::PyThreadState, ffi::PyGILState_STATE);
    impl Drop for Held {
        fn drop(&mut self) {
            // SAFETY: takes back, on the thread that saved it, the state saved below, then
            // gives it up as `PyGILState_Ensure` asks.
            unsafe {
                ffi::PyEval_RestoreThread(self.0);
                ffi::PyGILState_Release(self.1);
            }
        }
    }
    // SAFETY: a worker starts its interpreter before its threads; the GIL is released at
    // once, so `Python::attach` inside `f` finds this thread's state and only takes the GIL.
    let _held = unsafe {
        let gil = ffi::PyGILState_Ensure();
        Held(ffi::PyEval_SaveThread(), gil)
    };
    f()
}

/// Run `f` on a file with the GIL held, then close the file's event loop if it made one.
/// What every file's import looks up, found once per process (each `import` of a module
/// by name costs microseconds, several times a file).
struct Lookups {
    sys: Py<PyModule>,
    import_module: Py<PyAny>,
    spec_from_file_location: Py<PyAny>,
    module_from_spec: Py<PyAny>,
    /// `importlib._bootstrap._load`: loads under the module's import lock.
    load: Option<Py<PyAny>>,
    /// `dbtest._loop.arm`.
    arm: Option<Py<PyAny>>,
}

static LOOKUPS: PyOnceLock<Lookups> = PyOnceLock::new();

fn lookups(py: Python<'_>) -> PyResult<&Lookups> {
    LOOKUPS.get_or_try_init(py, || {
        let util = py.import("importlib.util")?;
        let get = |m: &Bound<'_, PyModule>, name: &str| m.getattr(name).map(Bound::unbind);
        Ok(Lookups {
            sys: py.import("sys")?.unbind(),
            import_module: get(&py.import("importlib")?, "import_module")?,
            spec_from_file_location: get(&util, "spec_from_file_location")?,
            module_from_spec: get(&util, "module_from_spec")?,
            load: get(&py.import("importlib._bootstrap")?, "_load").ok(),
            arm: py.import("dbtest._loop").and_then(|m| get(&m, "arm")).ok(),
        })
    })
}

pub(super) fn with_file<R>(
    task: &FileTask,
    cx: &RunContext<'_>,
    f: impl FnOnce(&mut FileRun<'_, '_>) -> R,
) -> Option<R> {
    Python::attach(|py| {
        // Cannot fail in a started interpreter; without sys nothing could run anyway.
        let lookups = lookups(py).ok()?;
        let sys = lookups.sys.bind(py).clone();
        let mut run = FileRun {
            py,
            task,
            cx,
            seq: 0,
            event_loop: None,
            bridge: Bridge::get(),
            decl: Default::default(),
            sys,
        };
        // On this thread, the first `get_event_loop()` with no loop set makes the file's
        // loop (dbtest._loop), as plain python does on its main thread.
        if let Some(arm) = &lookups.arm {
            let _ = arm.bind(py).call0();
        }
        let out = f(&mut run);
        run.close_loop();
        Some(out)
    })
}

pub(super) struct FileRun<'a, 'py> {
    pub(super) py: Python<'py>,
    pub(super) task: &'a FileTask,
    pub(super) cx: &'a RunContext<'a>,
    seq: usize,
    event_loop: Option<Bound<'py, PyAny>>,
    pub(super) bridge: &'static Bridge,
    /// Tests seen so far in the file, counted before filtering.
    decl: std::cell::Cell<usize>,
    sys: Bound<'py, PyModule>,
}

fn module_name(rel: &str, path: &Path, root: &Path) -> (String, bool) {
    // Inside a package chain that starts at the root, the dotted name lets the file's own
    // relative imports work. Anywhere else, pytest's "prepend" mode: the name is the dotted
    // path from the first folder upwards that is not a package (which goes on sys.path), so
    // `__name__`, class reprs, logger names and `mock.patch("test_mod.x")` targets are the
    // ones pytest gives (another file by that name already imported gets a unique name).
    let stem = rel.strip_suffix(".py").unwrap_or(rel);
    let mut dir = path.parent();
    let mut package = true;
    let mut inside = 0;
    while let Some(d) = dir {
        if d == root {
            break;
        }
        if !d.join("__init__.py").is_file() {
            package = false;
            break;
        }
        inside += 1;
        dir = d.parent();
    }
    let package = package && dir.is_some() && stem.contains('/');
    let parts: Vec<&str> = stem.split('/').collect();
    let keep = if package { parts.len() } else { inside + 1 };
    let dotted: String = parts[parts.len().saturating_sub(keep)..]
        .join("/")
        .chars()
        .map(|c| {
            if c == '/' {
                '.'
            } else if c.is_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    (dotted, package)
}

/// pytest's default import mode: the file's first folder upwards that is not a package goes
/// first on sys.path, so tests import the helpers beside them (`from common import ...` in a
/// tests folder without `__init__.py`). Returns that folder.
fn prepend_base(py: Python<'_>, path: &Path) -> PyResult<Option<PathBuf>> {
    let mut base = path.parent();
    while let Some(d) = base.filter(|d| d.join("__init__.py").is_file()) {
        base = d.parent();
    }
    if let Some(b) = base {
        let dir = b.to_string_lossy();
        let sys_path = py.import("sys")?.getattr("path")?;
        if !sys_path.contains(dir.as_ref())? {
            sys_path.call_method1("insert", (0, dir.as_ref()))?;
        }
    }
    Ok(base.map(Path::to_path_buf))
}

/// Whether the top package of `name` is (or will be, when imported) the one in `base`: not
/// another project folder's package of the same name imported before.
fn package_is_ours(py: Python<'_>, name: &str, base: Option<&Path>) -> PyResult<bool> {
    let (Some(top), Some(base)) = (name.split('.').next(), base) else {
        return Ok(false);
    };
    let modules = py.import("sys")?.getattr("modules")?;
    let Ok(module) = modules.get_item(top) else {
        return Ok(true);
    };
    let ours = base.join(top);
    let paths: Vec<String> = module
        .getattr("__path__")
        .and_then(|p| p.try_iter()?.map(|x| x?.extract()).collect())
        .unwrap_or_default();
    Ok(paths.iter().any(|p| Path::new(p) == ours))
}

impl<'a, 'py> FileRun<'a, 'py> {
    pub(super) fn next_seq(&mut self) -> usize {
        self.seq += 1;
        self.seq
    }

    /// Give `r` its place in the report and announce it.
    fn emit_started(&mut self, r: &mut TestResult, t: &Test<'py>) {
        r.order = (self.task.index, 2 * t.decl);
        let timeout = t.timeout;
        (self.cx.emit)(Event::TestStarted(TestStart {
            id: r.id.clone(),
            tags: r.tags.clone(),
            line: r.line,
            timeout,
            order: r.order,
            retries: t.retries,
        }));
    }

    fn test_start(&self, t: &Test<'py>) -> TestStart {
        TestStart {
            id: t.id.clone(),
            tags: t.tags.clone(),
            line: t.line,
            timeout: t.timeout,
            order: (self.task.index, 2 * t.decl),
            retries: t.retries,
        }
    }

    fn hook_started(&mut self, hook: &str, suite: &Suite<'py>, blamed: Vec<TestStart>) {
        (self.cx.emit)(Event::HookStarted {
            index: self.task.index,
            hook: hook.into(),
            suite: suite.name.clone().unwrap_or_default(),
            blamed,
        });
    }

    fn emit_result(&mut self, r: TestResult) {
        if r.fails_run() && self.cx.fail_fast {
            self.cx.stop.store(true, Ordering::SeqCst);
        }
        (self.cx.emit)(Event::TestFinished(r));
    }

    pub(super) fn base_result(
        &self,
        id: String,
        suite: Option<&str>,
        name: Option<&str>,
        status: Status,
    ) -> TestResult {
        TestResult {
            id,
            file: self.task.rel.clone(),
            suite: suite.map(str::to_string),
            name: name.map(str::to_string),
            status,
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
            order: (0, 0),
            earlier: Vec::new(),
        }
    }

    fn import(&mut self) -> Result<Bound<'py, PyAny>, (PyErr, String, String)> {
        let (path, root) = (self.task.path.clone(), self.bridge.root.clone());
        // Files run on threads that have no event loop, where `asyncio.get_event_loop()` at
        // import time raises ("no current event loop in thread 'Dummy-1'"), though it works
        // under plain python: a file that may ask for the loop at import gets its loop before
        // it is imported (the same loop its async tests then run on). Others get theirs when
        // a test first needs it: making and closing one per file is a tenth of a millisecond.
        // The plan read the source already; a task made without it reads it here.
        let hint = self
            .task
            .loop_hint
            .or_else(|| std::fs::read(&path).ok().map(|src| LoopHint::of(&src)));
        if hint.is_some_and(|h| h.may_need_loop(self.py.version_info() < (3, 10))) {
            let _ = self.event_loop();
        }
        self.import_from(&path, &root)
    }

    /// Import this file's copy at `path` in a project rooted at `root`, capturing its output.
    pub(super) fn import_from(
        &mut self,
        path: &Path,
        root: &Path,
    ) -> Result<Bound<'py, PyAny>, (PyErr, String, String)> {
        let py = self.py;
        let (name, package) = module_name(&self.task.rel, path, root);
        capture::begin();
        // Released on every way out of the import (it is reentrant: a test file importing
        // another one takes it again on the same thread).
        // Waiting releases the GIL, so the file holding it can finish importing.
        let lock = super::compat::import_lock(py, self.bridge)
            .ok()
            .filter(|l| l.call_method0("acquire").is_ok());
        let result = (|| -> PyResult<Bound<'py, PyAny>> {
            if root == self.bridge.root.as_path() {
                // pytest imports a file's conftest.py files (root first) before the file.
                super::compat::load_conftests(py, path, root)?;
            }
            let lookups = lookups(py)?;
            let import_module = lookups.import_module.bind(py);
            if package {
                return import_module.call1((&name,));
            }
            if root == self.bridge.root.as_path() {
                let base = prepend_base(py, path)?;
                if name.contains('.') && package_is_ours(py, &name, base.as_deref())? {
                    // A package below a folder that is not one: imported by its dotted name,
                    // as pytest does, so its relative imports work.
                    return import_module.call1((&name,));
                }
            }
            let sys_modules = self.sys.getattr(pyo3::intern!(py, "modules"))?;
            // Another test file imported this one already (or is importing it): the same
            // module, not a second copy of it (waiting for it if it is still being imported).
            let same_file = sys_modules
                .get_item(&name)
                .and_then(|m| m.getattr("__file__"))
                .and_then(|f| f.extract::<String>())
                .is_ok_and(|f| Path::new(&f) == path);
            if same_file {
                return import_module.call1((&name,));
            }
            let unique = if sys_modules.contains(&name)? {
                format!("{name}__dbtest{}", self.task.index)
            } else {
                name.clone()
            };
            // The path as str: a pathlib.Path would cost more to make than the rest.
            let spec = lookups
                .spec_from_file_location
                .bind(py)
                .call1((&unique, path.as_os_str()))?;
            // Through the import system's own loading, under the module's import lock: another
            // file importing this one at the same time (`from tests.test_base import Base`)
            // waits for it to finish rather than getting it half-initialized.
            if let Some(load) = &lookups.load {
                return load.bind(py).call1((&spec,));
            }
            let module = lookups.module_from_spec.bind(py).call1((&spec,))?;
            sys_modules.set_item(&unique, &module)?;
            let loaded = spec
                .getattr("loader")?
                .call_method1("exec_module", (&module,));
            if let Err(e) = loaded {
                let _ = sys_modules.del_item(&unique);
                return Err(e);
            }
            Ok(module)
        })();
        if let Some(l) = lock {
            let _ = l.call_method0("release");
        }
        let (out, err) = capture::end();
        result.map_err(|e| (e, out, err))
    }

    /// Import the file; if that fails, report it (one `import` error entry) and return None.
    pub(super) fn import_or_report(&mut self) -> Option<Bound<'py, PyAny>> {
        let started = Instant::now();
        let (err, out, errout) = match self.import() {
            Ok(m) => return Some(m),
            Err(e) => e,
        };
        if self.cx.skip.contains(&0) {
            // A rerun (after another file crashed its worker) of a file whose import error
            // was already reported: once is enough.
            return None;
        }
        if let Some(reason) = super::compat::module_skip_reason(self.py, self.bridge, &err) {
            // `pytest.importorskip`, `pytest.skip(allow_module_level=True)`, `SkipTest`.
            let mut r = self.base_result(self.task.rel.clone(), None, None, Status::Skipped);
            r.message = Some(reason);
            r.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
            r.order = (self.task.index, 0);
            (self.cx.emit)(Event::FileError(r));
            return None;
        }
        let d = describe(self.py, &err, self.bridge);
        let mut r = self.base_result(self.task.rel.clone(), None, None, Status::Error);
        r.kind = Some(ErrorKind::Import);
        r.message = Some(match d.syntax_line {
            Some(line) => format!("{} ({}, line {line})", d.message(), self.task.rel),
            None => d.message(),
        });
        r.line = d.syntax_line;
        r.traceback = Some(d.traceback);
        r.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        r.stdout = Some(out).filter(|s| !s.is_empty());
        r.stderr = Some(errout).filter(|s| !s.is_empty());
        r.order = (self.task.index, 0);
        (self.cx.emit)(Event::FileError(r));
        if self.cx.fail_fast {
            self.cx.stop.store(true, Ordering::SeqCst);
        }
        None
    }

    fn run(&mut self) {
        let Some(module) = self.import_or_report() else {
            return;
        };
        let suites = match self.collect(&module) {
            Ok(s) => s,
            Err(err) => {
                let d = describe(self.py, &err, self.bridge);
                let mut r = self.base_result(self.task.rel.clone(), None, None, Status::Error);
                r.kind = Some(ErrorKind::Import);
                r.message = Some(format!("collecting tests failed: {}", d.message()));
                r.traceback = Some(d.traceback);
                r.order = (self.task.index, 0);
                (self.cx.emit)(Event::FileError(r));
                return;
            }
        };
        for suite in suites {
            if self.cx.stop.load(Ordering::SeqCst) {
                break;
            }
            self.run_suite(suite);
        }
        if !self.cx.stop.load(Ordering::SeqCst) {
            self.run_compat(&module);
        }
    }

    fn collect(&self, module: &Bound<'py, PyAny>) -> PyResult<Vec<Suite<'py>>> {
        let py = self.py;
        let dbtest = py.import(pyo3::intern!(py, "dbtest"))?;
        let name = module.getattr(pyo3::intern!(py, "__name__"))?;
        // Only a module that made a `@test` function or a `TestSuite` subclass defines any
        // (a unittest or pytest file does not): its other globals need no look.
        if let Ok(defining) = dbtest.getattr(pyo3::intern!(py, "_DEFINING")) {
            if !defining.contains(&name)? {
                return Ok(Vec::new());
            }
        }
        let base = dbtest
            .getattr(pyo3::intern!(py, "TestSuite"))?
            .cast_into::<PyType>()?;
        let module_name: String = name.extract()?;
        let dict = module.getattr("__dict__")?.cast_into::<PyDict>()?;
        let mut suites: Vec<Suite<'py>> = Vec::new();
        let items: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)> = dict.iter().collect();
        for (key, value) in items {
            let defined_here = || -> bool {
                value
                    .getattr(pyo3::intern!(value.py(), "__module__"))
                    .ok()
                    .and_then(|m| m.extract::<String>().ok())
                    .is_some_and(|m| m == module_name)
            };
            if let Ok(cls) = value.cast::<PyType>() {
                if cls.is(&base) || !cls.is_subclass(&base)? || !defined_here() {
                    continue;
                }
                let name: String = cls.getattr("__name__")?.extract()?;
                let tests = self.collect_class(cls, &base, &name)?;
                if !tests.is_empty() {
                    let needs_loop = tests.iter().any(Test::needs_loop)
                        || ["setup_suite", "teardown_suite", "setup", "teardown"]
                            .iter()
                            .any(|h| cls.getattr(*h).is_ok_and(|f| is_coroutine_function(&f)));
                    suites.push(Suite {
                        class: Some(cls.clone()),
                        name: Some(name),
                        tests,
                        needs_loop,
                    });
                }
            } else if value.hasattr(pyo3::intern!(py, "__dbtest__"))? && defined_here() {
                let name: String = key.extract()?;
                if let Some(t) = self.make_test(None, name, value.clone())? {
                    suites.push(Suite {
                        class: None,
                        name: None,
                        needs_loop: t.needs_loop(),
                        tests: vec![t],
                    });
                }
            }
        }
        Ok(suites)
    }

    fn collect_class(
        &self,
        cls: &Bound<'py, PyType>,
        base: &Bound<'py, PyType>,
        suite: &str,
    ) -> PyResult<Vec<Test<'py>>> {
        // Tests inherited from base suites come first, overridden ones keep their place.
        let mut found: Vec<(String, Bound<'py, PyAny>)> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let mro: Vec<Bound<'py, PyAny>> = cls
            .getattr("__mro__")?
            .try_iter()?
            .collect::<PyResult<_>>()?;
        for klass in mro.iter().rev() {
            let Ok(k) = klass.cast::<PyType>() else {
                continue;
            };
            if k.is(base) || !k.is_subclass(base)? {
                continue;
            }
            let items = k.getattr("__dict__")?.call_method0("items")?;
            for item in items.try_iter()? {
                let (name, func): (String, Bound<'py, PyAny>) = item?.extract()?;
                if !func.hasattr(pyo3::intern!(func.py(), "__dbtest__"))? {
                    continue;
                }
                match index.get(&name) {
                    Some(&i) => found[i].1 = func,
                    None => {
                        index.insert(name.clone(), found.len());
                        found.push((name, func));
                    }
                }
            }
        }
        let mut tests = Vec::new();
        for (name, func) in found {
            if let Some(t) = self.make_test(Some(suite), name, func)? {
                tests.push(t);
            }
        }
        Ok(tests)
    }

    /// A test, if the filters select it.
    fn make_test(
        &self,
        suite: Option<&str>,
        name: String,
        func: Bound<'py, PyAny>,
    ) -> PyResult<Option<Test<'py>>> {
        let py = self.py;
        let decl = self.decl.get() + 1;
        self.decl.set(decl);
        let meta = func.getattr(pyo3::intern!(py, "__dbtest__"))?;
        let tags: Vec<String> = meta.getattr(pyo3::intern!(py, "tags"))?.extract()?;
        let id = match suite {
            Some(s) => format!("{}::{s}::{name}", self.task.rel),
            None => format!("{}::{name}", self.task.rel),
        };
        if !self.cx.filter.selects(&self.task.rel, &id, &tags) || self.cx.skip.contains(&(2 * decl))
        {
            return Ok(None);
        }
        // The shim checks types; the rule for numbers (finite, positive, bounded) is
        // `limits`'s, applied here where the value is read: a test with a bad one is an error.
        let raw: Option<f64> = meta.getattr(pyo3::intern!(py, "timeout"))?.extract()?;
        let (timeout, invalid) = match raw.map(|t| limits::seconds("@test(timeout=...)", t)) {
            None => (None, None),
            Some(Ok(t)) => (Some(t), None),
            Some(Err(e)) => (None, Some(e)),
        };
        let skip: Option<String> = meta.getattr(pyo3::intern!(py, "skip"))?.extract()?;
        // Lenient: a marker object made by something other than the shim may not have it.
        let retries: Option<u32> = meta
            .getattr(pyo3::intern!(py, "retries"))
            .ok()
            .and_then(|v| v.extract().ok())
            .flatten();
        let code = func.getattr(pyo3::intern!(py, "__code__")).ok();
        let line = code
            .as_ref()
            .and_then(|c| c.getattr(pyo3::intern!(py, "co_firstlineno")).ok())
            .and_then(|l| l.extract().ok());
        let is_async = code.as_ref().is_some_and(is_coroutine_code);
        Ok(Some(Test {
            decl,
            py_name: PyString::new(py, &name),
            name,
            func,
            tags,
            timeout,
            invalid,
            skip,
            retries,
            line,
            id,
            is_async,
        }))
    }

    pub(super) fn event_loop(&mut self) -> PyResult<Bound<'py, PyAny>> {
        if let Some(l) = &self.event_loop {
            return Ok(l.clone());
        }
        if let Some(l) = self.loop_made_on_demand() {
            self.event_loop = Some(l.clone());
            return Ok(l);
        }
        let asyncio = self.py.import("asyncio")?;
        let l = asyncio.call_method0("new_event_loop")?;
        asyncio.call_method1("set_event_loop", (&l,))?;
        self.event_loop = Some(l.clone());
        Ok(l)
    }

    /// The loop a `get_event_loop()` made for this file (dbtest._loop), if one did; only
    /// asked once asyncio is imported, as nothing could have made one before.
    fn loop_made_on_demand(&self) -> Option<Bound<'py, PyAny>> {
        let modules = self.sys.getattr(pyo3::intern!(self.py, "modules")).ok()?;
        if !modules.contains("asyncio.events").unwrap_or(false) {
            return None;
        }
        let made = self
            .py
            .import(pyo3::intern!(self.py, "dbtest._loop"))
            .and_then(|m| m.call_method0(pyo3::intern!(self.py, "take_made")))
            .ok()?;
        (!made.is_none()).then_some(made)
    }

    fn close_loop(&mut self) {
        let own = self.event_loop.take();
        if let Some(l) = own.or_else(|| self.loop_made_on_demand()) {
            // Only a loop that ran an async generator has any to finalize (asyncio's own
            // record of them; without it, always ask).
            let gens = l
                .getattr(pyo3::intern!(self.py, "_asyncgens"))
                .and_then(|g| g.len())
                .map_or(true, |n| n > 0);
            if gens {
                if let Ok(gens) = l.call_method0("shutdown_asyncgens") {
                    let _ = l.call_method1("run_until_complete", (gens,));
                }
            }
            let _ = l.call_method0("close");
            if let Ok(asyncio) = self.py.import("asyncio") {
                let _ = asyncio.call_method1("set_event_loop", (self.py.None(),));
            }
        }
    }

    /// Call user code; if it returns an awaitable, run it on this file's event loop.
    fn call(&mut self, f: &Bound<'py, PyAny>, timeout: Option<f64>) -> PyResult<()> {
        let result = f.call0()?;
        if result.is_none() || !result.hasattr(pyo3::intern!(self.py, "__await__"))? {
            return Ok(());
        }
        let event_loop = self.event_loop()?;
        let awaitable = match timeout {
            Some(t) => self
                .py
                .import("asyncio")?
                .call_method1("wait_for", (result, t))?,
            None => result,
        };
        event_loop.call_method1("run_until_complete", (awaitable,))?;
        Ok(())
    }

    fn problem(&self, err: &PyErr, kind: ErrorKind) -> Problem {
        let described = describe(self.py, err, self.bridge);
        let status = if described.is_assertion && kind == ErrorKind::Exception {
            Status::Failed
        } else {
            Status::Error
        };
        let mut message = described.message();
        match kind {
            ErrorKind::Setup => message = format!("setup failed: {message}"),
            ErrorKind::Teardown => message = format!("teardown failed: {message}"),
            _ => {}
        }
        if described.is_system_exit {
            message.push_str(" (the test called sys.exit; dbtest kept running)");
        }
        Problem {
            status,
            kind: (status == Status::Error).then_some(kind),
            described,
            message,
        }
    }

    fn overrides(&self, class: &Bound<'py, PyType>, hook: &str) -> bool {
        // Hooks the suite does not override are TestSuite's no-ops: skip the calls.
        let base = self
            .py
            .import("dbtest")
            .and_then(|m| m.getattr("TestSuite"));
        match (class.getattr(hook), base.and_then(|b| b.getattr(hook))) {
            (Ok(mine), Ok(theirs)) => !mine.is(&theirs),
            _ => true,
        }
    }

    fn run_suite(&mut self, suite: Suite<'py>) {
        if suite.needs_loop {
            // Framework work, not the test's: importing asyncio and making the loop cost up
            // to hundreds of milliseconds, charged to no test. A failure here shows again,
            // as the test's own error, when `call` needs the loop.
            let _ = self.event_loop();
        }
        let Some(class) = suite.class.clone() else {
            for t in &suite.tests {
                if self.cx.stop.load(Ordering::SeqCst) {
                    return;
                }
                self.run_test(&suite, t, None, false, false);
            }
            return;
        };
        let hooks = ["setup_suite", "teardown_suite", "setup", "teardown"]
            .map(|h| self.overrides(&class, h));
        let Some(instance) = self.set_up_suite(&suite, &class, hooks[0]) else {
            return;
        };
        for t in &suite.tests {
            if self.cx.stop.load(Ordering::SeqCst) {
                break;
            }
            self.run_test(&suite, t, Some(&instance), hooks[2], hooks[3]);
        }
        if hooks[1] {
            self.tear_down_suite(&suite, &instance);
        }
    }

    /// Instantiate the suite and run its `setup_suite`; a failure marks every test `error`
    /// (kind setup) and gives None. Should the process die in `setup_suite`, its tests are the
    /// ones to report.
    fn set_up_suite(
        &mut self,
        suite: &Suite<'py>,
        class: &Bound<'py, PyType>,
        has_setup: bool,
    ) -> Option<Bound<'py, PyAny>> {
        if has_setup {
            let blamed = suite.tests.iter().map(|t| self.test_start(t)).collect();
            self.hook_started("setup_suite", suite, blamed);
        }
        capture::begin();
        let instance = class.call0();
        let setup = match &instance {
            Ok(inst) if has_setup => inst
                .getattr("setup_suite")
                .and_then(|f| self.call(&f, None)),
            Ok(_) => Ok(()),
            Err(e) => Err(e.clone_ref(self.py)),
        };
        let (out, errout) = capture::end();
        let err = match (instance, setup) {
            (Ok(inst), Ok(())) => return Some(inst),
            (_, Err(err)) | (Err(err), _) => err,
        };
        let p = self.problem(&err, ErrorKind::Setup);
        for t in &suite.tests {
            let mut r = self.base_result(
                t.id.clone(),
                suite.name.as_deref(),
                Some(&t.name),
                Status::Error,
            );
            r.kind = Some(ErrorKind::Setup);
            r.tags = t.tags.clone();
            r.line = t.line;
            r.message = Some(format!("setup_suite failed: {}", p.described.message()));
            r.traceback = Some(p.described.traceback.clone());
            r.stdout = Some(out.clone()).filter(|s| !s.is_empty());
            r.stderr = Some(errout.clone()).filter(|s| !s.is_empty());
            self.emit_started(&mut r, t);
            self.emit_result(r);
        }
        None
    }

    /// `teardown_suite`, reported as an entry of its own when it fails (as pytest reports an
    /// error at teardown), placed right after the suite's last test.
    fn tear_down_suite(&mut self, suite: &Suite<'py>, instance: &Bound<'py, PyAny>) {
        let name = suite.name.clone().unwrap_or_default();
        let id = format!("{}::{name}::teardown_suite", self.task.rel);
        let order = (
            self.task.index,
            2 * suite.tests.last().map_or(0, |t| t.decl) + 1,
        );
        let blamed = TestStart {
            id: id.clone(),
            tags: Vec::new(),
            line: None,
            timeout: None,
            retries: None,
            order,
        };
        self.hook_started("teardown_suite", suite, vec![blamed]);
        capture::begin();
        let started = Instant::now();
        let res = instance
            .getattr("teardown_suite")
            .and_then(|f| self.call(&f, None));
        let (out, errout) = capture::end();
        if let Err(err) = res {
            let p = self.problem(&err, ErrorKind::Teardown);
            let mut r = self.base_result(id, Some(&name), Some("teardown_suite"), Status::Error);
            r.kind = Some(ErrorKind::Teardown);
            r.order = order;
            r.message = Some(format!("teardown_suite failed: {}", p.described.message()));
            r.traceback = Some(p.described.traceback);
            r.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
            r.stdout = Some(out).filter(|s| !s.is_empty());
            r.stderr = Some(errout).filter(|s| !s.is_empty());
            self.emit_result(r);
        }
    }

    fn run_test(
        &mut self,
        suite: &Suite<'py>,
        t: &Test<'py>,
        instance: Option<&Bound<'py, PyAny>>,
        setup: bool,
        teardown: bool,
    ) {
        let mut r = self.base_result(
            t.id.clone(),
            suite.name.as_deref(),
            Some(&t.name),
            Status::Passed,
        );
        r.tags = t.tags.clone();
        r.line = t.line;
        self.emit_started(&mut r, t);
        if let Some(why) = &t.invalid {
            r.status = Status::Error;
            r.kind = Some(ErrorKind::Exception);
            r.message = Some(why.clone());
            self.emit_result(r);
            return;
        }
        if let Some(reason) = &t.skip {
            r.status = Status::Skipped;
            r.message = Some(reason.clone());
            self.emit_result(r);
            return;
        }
        capture::begin();
        let started = Instant::now();
        let problem = self.call_test(t, instance, setup, teardown);
        r.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
        let (out, errout) = capture::end();
        self.restore();
        if let Some(p) = problem {
            r.status = p.status;
            r.kind = p.kind;
            r.message = Some(p.message);
            r.traceback = Some(p.described.traceback);
            r.source = p.described.source.filter(|_| p.described.is_assertion);
            r.values = p.described.values;
            // Output is kept for failures only: passing tests' output is not worth the memory.
            r.stdout = Some(out);
            r.stderr = Some(errout);
        }
        self.emit_result(r);
    }

    /// Set up, run and tear down one test (output already captured): what went wrong, if
    /// anything. A teardown error never hides behind the test's own failure.
    fn call_test(
        &mut self,
        t: &Test<'py>,
        instance: Option<&Bound<'py, PyAny>>,
        setup: bool,
        teardown: bool,
    ) -> Option<Problem> {
        if let (true, Some(inst)) = (setup, instance) {
            if let Err(e) = inst
                .getattr(pyo3::intern!(self.py, "setup"))
                .and_then(|f| self.call(&f, None))
            {
                return Some(self.problem(&e, ErrorKind::Setup));
            }
        }
        let body = match instance {
            Some(inst) => inst.getattr(&t.py_name),
            None => Ok(t.func.clone()),
        };
        let body_started = Instant::now();
        let mut problem = match body.and_then(|f| self.call(&f, t.timeout)) {
            Ok(()) => None,
            Err(e) => Some(self.body_problem(&e, t, body_started)),
        };
        if let (true, Some(inst)) = (teardown, instance) {
            if let Err(e) = inst
                .getattr(pyo3::intern!(self.py, "teardown"))
                .and_then(|f| self.call(&f, None))
            {
                let td = self.problem(&e, ErrorKind::Teardown);
                match &mut problem {
                    None => problem = Some(td),
                    Some(p) => {
                        p.described.traceback.push_str(&format!(
                            "\n\nteardown also failed: {}\n{}",
                            td.described.message(),
                            td.described.traceback
                        ));
                    }
                }
            }
        }
        problem
    }

    /// The test's body raised: a failure or an error, or a timeout when an async test was
    /// cancelled at its limit.
    fn body_problem(&self, e: &PyErr, t: &Test<'py>, body_started: Instant) -> Problem {
        let timed_out = t.timeout.is_some_and(|limit| {
            body_started.elapsed().as_secs_f64() >= limit * 0.99 && self.is_timeout_error(e)
        });
        if !timed_out {
            return self.problem(e, ErrorKind::Exception);
        }
        // Where the test was when it was cancelled says more than wait_for's frames.
        let cause = e
            .value(self.py)
            .getattr("__cause__")
            .ok()
            .filter(|c| !c.is_none())
            .map(PyErr::from_value);
        let mut p = self.problem(cause.as_ref().unwrap_or(e), ErrorKind::Timeout);
        p.status = Status::Error;
        p.kind = Some(ErrorKind::Timeout);
        p.message = format!(
            "timed out after {} s (the test was cancelled)",
            limits::show(t.timeout.unwrap_or_default())
        );
        p
    }

    fn is_timeout_error(&self, e: &PyErr) -> bool {
        let py = self.py;
        e.is_instance_of::<pyo3::exceptions::PyTimeoutError>(py)
            || py
                .import("asyncio")
                .and_then(|a| a.getattr("TimeoutError"))
                .is_ok_and(|t| e.is_instance(py, &t))
    }

    /// Undo what a test may have changed for every test after it: the working directory
    /// and the captured streams.
    pub(super) fn restore(&self) {
        self.restore_with(true);
    }

    /// `restore` but for the working directory, which costs a syscall to check: after each
    /// unittest or pytest-style test, whose runners never put it back between tests (the
    /// file's end does, with `restore`).
    pub(super) fn restore_streams(&self) {
        self.restore_with(false);
    }

    fn restore_with(&self, cwd: bool) {
        // Tests still running on other threads may have changed these themselves (a doctest
        // swaps sys.stdout, `redirect_stdout`, a `chdir`): the working directory is put back
        // only when none is, a stream when no running test still refers to its replacement.
        let others = capture::tests_running();
        if let (Some(cwd), true, false) = (&self.bridge.cwd, cwd, others) {
            if std::env::current_dir().ok().as_ref() != Some(cwd) {
                let _ = std::env::set_current_dir(cwd);
            }
        }
        let names = [
            pyo3::intern!(self.py, "stdout"),
            pyo3::intern!(self.py, "stderr"),
        ];
        for (stream, name) in names.into_iter().enumerate() {
            let Ok(current) = self.sys.getattr(name) else {
                continue;
            };
            if current.is_instance_of::<Router>()
                || (others && super::compat::in_use_elsewhere(self.py, self.bridge, &current))
            {
                continue;
            }
            {
                if let Ok(router) = Bound::new(self.py, Router::new(stream)) {
                    let _ = self.sys.setattr(name, router);
                }
            }
        }
    }
}

/// Whether `f` is an `async def` function or method.
fn is_coroutine_function(f: &Bound<'_, PyAny>) -> bool {
    f.getattr(pyo3::intern!(f.py(), "__code__"))
        .is_ok_and(|c| is_coroutine_code(&c))
}

/// Whether a code object is a coroutine's (`inspect.CO_COROUTINE | CO_ITERABLE_COROUTINE`).
fn is_coroutine_code(code: &Bound<'_, PyAny>) -> bool {
    const COROUTINE_FLAGS: u32 = 0x80 | 0x100;
    code.getattr(pyo3::intern!(code.py(), "co_flags"))
        .and_then(|flags| flags.extract::<u32>())
        .is_ok_and(|flags| flags & COROUTINE_FLAGS != 0)
}

#[cfg(test)]
mod tests {
    use super::module_name;
    use std::path::Path;

    #[test]
    fn module_names_follow_packages() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("tests/nested/a")).unwrap();
        std::fs::write(root.join("tests/__init__.py"), "").unwrap();
        let (name, pkg) = module_name("tests/test_x.py", &root.join("tests/test_x.py"), root);
        assert_eq!((name.as_str(), pkg), ("tests.test_x", true));
        let (name, pkg) = module_name(
            "tests/nested/a/test_same.py",
            &root.join("tests/nested/a/test_same.py"),
            root,
        );
        assert_eq!((name.as_str(), pkg), ("test_same", false));
        // A package below a folder that is not one: named from that folder, as pytest does.
        std::fs::write(root.join("tests/nested/a/__init__.py"), "").unwrap();
        let (name, pkg) = module_name(
            "tests/nested/a/test_same.py",
            &root.join("tests/nested/a/test_same.py"),
            root,
        );
        assert_eq!((name.as_str(), pkg), ("a.test_same", false));
        let (name, pkg) = module_name("test_ünï-x.py", &root.join("test_ünï-x.py"), root);
        assert_eq!((name.as_str(), pkg), ("test_ünï_x", false));
        let _ = Path::new("");
    }
}
