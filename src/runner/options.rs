//! How a run executes, resolved from the settings: plain data the runner and its workers
//! share, kept outside the Python bridge.
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::runner::filter::Filter;
use crate::runner::venv::Venv;

/// How benchmarks are timed; per-group options override these.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct BenchOptions {
    /// Samples taken (and warm-up samples discarded) per entry.
    pub samples: u32,
    pub warmup: u32,
    /// Calibration grows the inner loop until one sample takes at least this long.
    pub target_time: Duration,
    /// Time budget per entry for sampling; fewer samples are taken past it (at least MIN_SAMPLES).
    pub max_time: Duration,
    /// A fixed inner-loop count, skipping calibration.
    pub iterations: Option<u64>,
}

/// What the runner needs of the settings to run a plan.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The project root: where imports start and `.dbtest/` lives.
    pub root: PathBuf,
    pub venv: Option<Venv>,
    pub filter: Filter,
    /// Files running at once, over all workers.
    pub jobs: usize,
    /// Worker processes; 0 runs tests in this process.
    pub workers: usize,
    /// `--timeout`, for tests that set none.
    pub timeout: Option<f64>,
    pub fail_fast: bool,
    pub bench: BenchOptions,
    /// `--ff`: files (paths relative to the root) to start before the others.
    pub first: HashSet<String>,
    /// Save the files' durations for the next run's scheduling (not for a retry pass).
    pub record_history: bool,
}
