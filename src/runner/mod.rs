//! The executing side: discovery, selection, scheduling and the Python bridge. It reports
//! only through `event::Event`s.
pub mod discover;
pub mod durations;
pub mod event;
pub mod filter;
pub mod plan;
pub mod python;
pub mod scan;
pub mod schedule;
pub mod stdio;
pub mod supervise;
pub mod worker;
