//! Benchmarks on the reporting side: statistics over timing samples, comparisons, baselines.
pub mod analyze;
pub mod baseline;
pub mod run;
pub mod stats;

use std::path::PathBuf;

use serde::Serialize;

use crate::runner::event::BenchHarness;

/// Everything the reports show about a run's benchmarks.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRun {
    pub groups: Vec<analyze::GroupReport>,
    pub harness: Option<BenchHarness>,
    pub environment: baseline::Environment,
    /// `--noise`, as a fraction.
    pub noise: f64,
    /// The saved baseline this run was compared with (`--baseline`).
    pub compared_to: Option<String>,
    /// How the comparison with `compared_to` was made, in words.
    pub comparison: Option<String>,
    pub saved_to: Option<PathBuf>,
    pub warnings: Vec<String>,
    /// Entries the `--fail-on` gate fails.
    pub regressions: Vec<baseline::Regression>,
}

impl BenchRun {
    pub fn failed_entries(&self) -> usize {
        self.groups
            .iter()
            .flat_map(|g| &g.entries)
            .filter(|e| e.stats.is_none())
            .count()
    }

    /// The gate's regressions, as `group::entry (+N%), ...`.
    pub fn regression_list(&self) -> String {
        let list: Vec<String> = self.regressions.iter().map(|r| r.to_string()).collect();
        list.join(", ")
    }
}
