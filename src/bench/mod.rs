//! Benchmarks: statistics over timing samples (the engine and reports build on these).
#[allow(dead_code)]
pub mod stats;
