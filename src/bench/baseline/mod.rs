//! Saved benchmark runs: storing and loading them (`--save-baseline`, `--baseline`), getting a
//! saved run's code back out of git to time it again, and the regression gate (`--fail-on`).
pub mod gate;
pub mod git;
pub mod store;

pub use gate::{FailOn, Regression, compare_with};
pub use git::{CodeTree, CodeTreeError};
pub use store::{Baseline, Environment, environment_warnings, load, save};
