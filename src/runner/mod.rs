//! The executing side: discovery, selection, scheduling and the Python bridge. It reports
//! only through `event::Event`s.
pub mod collect;
pub mod discover;
pub mod durations;
pub mod event;
pub mod filter;
pub mod inbox;
pub mod last_failed;
pub mod limits;
pub mod options;
pub mod outbox;
pub mod partition;
pub mod plan;
pub mod python;
pub mod retry;
pub mod run;
pub mod scan;
pub mod scan_fixtures;
#[cfg(test)]
mod scan_props;
pub mod schedule;
pub mod siblings;
pub mod split;
pub mod state;
pub mod stdio;
pub mod supervise;
pub mod timeout;
pub mod venv;
pub mod worker;

/// The embedded Python's version, without starting it (for `--version` and empty reports).
pub use python::embedded_version;
