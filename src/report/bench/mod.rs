//! Benchmark results in the reports: one format-neutral model of the tables (`model`), which
//! console, markdown and HTML each render in their own file.
pub mod chart;
pub mod console;
pub mod html;
pub mod markdown;
pub mod model;
pub mod units;

#[cfg(test)]
pub mod fixtures;
