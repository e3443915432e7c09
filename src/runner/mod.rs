//! The executing side: discovery, selection, scheduling and the Python bridge. It reports
//! only through `event::Event`s.
pub mod discover;
pub mod durations;
pub mod event;
pub mod filter;
// Not wired into the run yet.
#[allow(dead_code)]
pub mod last_failed;
#[allow(dead_code)]
pub mod partition;
pub mod plan;
pub mod python;
pub mod scan;
pub mod schedule;
pub mod stdio;
pub mod supervise;
pub mod worker;
