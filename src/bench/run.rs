//! A run's benchmarks, before and after the runner: the `--baseline` to compare with (loaded
//! before minutes are spent timing), then statistics, the comparison, the regression gate
//! and `--save-baseline` over what the runner measured.
use std::path::PathBuf;

use crate::bench::BenchRun;
use crate::bench::analyze::analyze;
use crate::bench::baseline::{self, Environment};
use crate::runner::event::{BenchGroup, BenchHarness};
use crate::settings::Settings;

/// A `--baseline` and, when its commit could be extracted, its code (else why not).
pub struct Compared {
    saved: baseline::Baseline,
    code: Result<baseline::CodeTree, baseline::CodeTreeError>,
}

impl Compared {
    /// The `--baseline` to compare with, when benchmarks will run: a missing one fails the
    /// run before any benchmark is timed.
    pub fn load(settings: &Settings, will_bench: bool) -> anyhow::Result<Option<Compared>> {
        let (Some(name), true) = (&settings.bench.baseline, will_bench) else {
            return Ok(None);
        };
        let saved = baseline::load(&settings.root, name)?;
        let code = if settings.bench.saved_samples {
            Err(baseline::CodeTreeError::SavedSamplesAsked)
        } else {
            saved.code_tree(&settings.root)
        };
        Ok(Some(Compared { saved, code }))
    }

    /// Where the baseline's code was extracted, for the runner to time it again.
    pub fn code_root(&self) -> Option<PathBuf> {
        self.code.as_ref().ok().map(|t| t.root().to_path_buf())
    }

    /// How the comparison is made, in words, and the warnings that go with it.
    fn describe(&self, environment: &Environment) -> (String, Vec<String>) {
        let name = &self.saved.name;
        match &self.code {
            Ok(tree) => (
                format!(
                    "{name:?}'s code (commit {}) timed again in this run, each sample beside the current code's",
                    tree.short_commit()
                ),
                Vec::new(),
            ),
            Err(why) => {
                let mut warnings = vec![format!(
                    "baseline {name:?}'s code was not timed again ({why}): comparing with its saved samples, \
                     which a machine whose speed changes between runs can move by more than a few percent"
                )];
                warnings.extend(baseline::environment_warnings(
                    &self.saved.environment,
                    environment,
                ));
                (
                    format!(
                        "the samples saved in {name:?}, relative to an empty call timed in the same rounds"
                    ),
                    warnings,
                )
            }
        }
    }
}

/// Statistics, comparisons, the saved-baseline comparison and the save itself.
pub fn finish(
    settings: &Settings,
    python_version: &str,
    mut groups: Vec<BenchGroup>,
    harness: Option<BenchHarness>,
    compared: Option<Compared>,
) -> anyhow::Result<BenchRun> {
    groups.sort_by_key(|g| g.order);
    let b = &settings.bench;
    let environment = Environment::current(python_version);
    let mut reports = analyze(&groups, harness.as_ref(), b.noise);
    let mut warnings: Vec<String> = Vec::new();
    let mut regressions = Vec::new();
    let mut comparison = None;
    if let Some(c) = &compared {
        let (how, more) = c.describe(&environment);
        comparison = Some(how);
        warnings.extend(more);
        regressions = baseline::compare_with(&mut reports, &c.saved, b.noise, b.fail_on);
    }
    let saved_to = match &b.save_baseline {
        Some(name) => Some(baseline::save(
            &settings.root,
            name,
            &reports,
            &environment,
        )?),
        None => None,
    };
    Ok(BenchRun {
        groups: reports,
        harness,
        environment,
        noise: b.noise,
        compared_to: compared.map(|c| c.saved.name),
        comparison,
        saved_to,
        warnings,
        regressions,
    })
}

/// After the reports: name the regressions the `--fail-on` gate found, on stderr.
pub fn warn_regressions(b: &BenchRun) {
    if !b.regressions.is_empty() {
        eprintln!(
            "dbtest: benchmark regressions against baseline {:?}: {}",
            b.compared_to.as_deref().unwrap_or_default(),
            b.regression_list()
        );
    }
}
