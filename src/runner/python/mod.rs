//! The bridge: the only module that touches the GIL. It starts the embedded interpreter and
//! runs one file's tests; everything else in dbtest is plain Rust.
mod bench;
mod bridge;
mod capture;
mod compat;
mod compat_run;
mod engine;
/// The embedded Python's version, readable before it starts (venv discovery needs it).
pub(in crate::runner) mod env;
mod failure;
mod fork;

use std::path::Path;

use crate::runner::venv::Venv;

pub use bench::{measure_harness, run_bench_file};
pub use compat_run::finish_worker;
pub use engine::{RunContext, run_file, with_thread_state};
pub use env::embedded_version;
pub use fork::fork_interpreter;

/// pytest's naming rules and asyncio mode for the tests this process runs: call before the
/// first file runs (the first setting holds).
pub fn set_collection(c: &crate::runner::collect::Collection) {
    let _ = bridge::COLLECTION.set(c.clone());
}

/// Whether a result's place in its file (`order.1`) is that of a process-wide entry: a session
/// or package fixture's failed tear-down, which every worker that set it up reports.
pub fn is_process_place(place: usize) -> bool {
    place >= compat_run::PROCESS_PLACES
}

/// Whether a result's place in its file (`order.1`) is that of a unittest or pytest-style
/// test, which run after a file's dbtest tests: only their classes are split over workers
/// (dbtest suites of one file keep running one after another in one interpreter).
pub fn is_compat_place(place: usize) -> bool {
    place >= 2 * compat_run::DECL_BASE
}

/// In a worker: write this thread's captured output through to files as well.
pub fn spool_output(files: [&Path; 2]) -> std::io::Result<()> {
    capture::spool_to(files)
}

/// In a worker: dump every thread's Python traceback to `path` on a fatal signal.
pub fn enable_faulthandler(path: &Path) {
    engine::enable_faulthandler(path);
}

/// Start the interpreter in dbtest's own process (-n 0): as `start`, and a test (or a `.pth`
/// file) calling `os._exit` raises instead of ending the run without a report.
pub fn start_in_process(root: &Path, venv: Option<&Venv>) -> anyhow::Result<String> {
    use std::sync::atomic::Ordering;
    engine::IN_PROCESS.store(true, Ordering::SeqCst);
    // A broken PYTHONHOME (or a `sitecustomize` raising SystemExit) makes the interpreter
    // call exit(1) while it starts: that must not pass for "tests failed".
    STARTER.with(|s| s.set(true));
    STARTING.store(true, Ordering::SeqCst);
    // SAFETY: registering a plain extern "C" function with no captured state.
    unsafe {
        libc::atexit(exit_while_starting);
    }
    let started = start(root, venv);
    STARTING.store(false, Ordering::SeqCst);
    if started.is_ok() {
        // On this start-up thread, while the files are still being scanned.
        warm_up();
    }
    started
}

/// The in-process interpreter is starting (see `start_in_process`).
static STARTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
thread_local! {
    /// On the thread starting it: only an exit called from there is the interpreter's (the
    /// main thread ending a run that found no tests meanwhile is not).
    static STARTER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

extern "C" fn exit_while_starting() {
    let starter = STARTER.try_with(std::cell::Cell::get).unwrap_or(false);
    if STARTING.load(std::sync::atomic::Ordering::SeqCst) && starter {
        let msg = b"dbtest: error: the embedded Python interpreter exited while starting (see above)\n  hint: the Python environment fails before any test runs: check PYTHONHOME, PYTHONPATH, sitecustomize and the virtualenv's .pth files\n";
        // SAFETY: write(2) and _exit(2) are async-signal-safe and need no state.
        unsafe {
            libc::write(2, msg.as_ptr().cast(), msg.len());
            libc::_exit(3);
        }
    }
}

/// Import dbtest's own modules that every test file needs (the unittest and pytest-style
/// runner, the fixtures), while the process waits for its first file: a worker that shook
/// hands before the plan was ready would otherwise idle, then import them for that file.
pub fn warm_up() {
    compat::warm_up();
}

/// Start the interpreter for running user code from `root`, with `venv`'s packages.
/// Returns the embedded Python's version.
pub fn start(root: &Path, venv: Option<&Venv>) -> anyhow::Result<String> {
    let shim = env::install_shim()?;
    let version = engine::initialize(root, &shim, venv)?;
    Ok(version)
}
