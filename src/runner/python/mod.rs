//! The bridge: the only module that touches the GIL. It starts the embedded interpreter and
//! runs one file's tests; everything else in dbtest is plain Rust.
mod bench;
mod bridge;
mod capture;
mod engine;
/// The embedded Python's version, readable before it starts (venv discovery needs it).
pub(in crate::runner) mod env;
mod failure;

use std::path::Path;

use crate::runner::venv::Venv;

pub use bench::{measure_harness, run_bench_file};
pub use engine::{RunContext, run_file};
pub use env::embedded_version;

/// In a worker: write this thread's captured output through to files as well.
pub fn spool_output(files: [&Path; 2]) -> std::io::Result<()> {
    capture::spool_to(files)
}

/// In a worker: dump every thread's Python traceback to `path` on a fatal signal.
pub fn enable_faulthandler(path: &Path) {
    engine::enable_faulthandler(path);
}

/// Start the interpreter for running user code from `root`, with `venv`'s packages.
/// Returns the embedded Python's version.
pub fn start(root: &Path, venv: Option<&Venv>) -> anyhow::Result<String> {
    let shim = env::install_shim()?;
    let version = engine::initialize(root, &shim, venv)?;
    Ok(version)
}
