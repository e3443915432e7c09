//! Each entry against its saved baseline (`--baseline`), and the regression gate
//! (`--fail-on`) that fails the run when an entry got slower.
use std::fmt;

use serde::Serialize;

use super::store::{Baseline, SavedEntry, SavedGroup, relative};
use crate::bench::analyze::{BaselineDelta, DeltaSource, EntryReport, GroupReport};
use crate::bench::stats::{Comparison, compare, compare_paired, mean, median};
use crate::runner::event::{BenchEntry, BenchStatus};

/// Which statistic the gate compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    Median,
    Mean,
}

/// `--fail-on METRIC:PCT`: which statistic the gate compares, and by how much it may grow.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FailOn {
    pub metric: Metric,
    /// 0.05 for `5%`.
    pub threshold: f64,
}

impl std::str::FromStr for FailOn {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("expected median:PCT% or mean:PCT% (e.g. median:5%), got {s:?}");
        let (metric, pct) = s.split_once(':').ok_or_else(bad)?;
        let metric = match metric.trim() {
            "median" => Metric::Median,
            "mean" => Metric::Mean,
            _ => return Err(bad()),
        };
        let pct: f64 = pct
            .trim()
            .trim_end_matches('%')
            .parse()
            .map_err(|_| bad())?;
        if !(0.0..1000.0).contains(&pct) {
            return Err(bad());
        }
        Ok(FailOn {
            metric,
            threshold: pct / 100.0,
        })
    }
}

/// An entry the gate fails: significantly slower than the baseline, by more than the threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Regression {
    pub group: String,
    pub entry: String,
    /// The statistic compared (`--fail-on`'s METRIC).
    pub metric: Metric,
    /// This run's metric over the baseline's: 1.2 is 20% slower.
    pub ratio: f64,
    /// The growth `--fail-on` allows, as a fraction: 0.05 for `5%`.
    pub threshold: f64,
    /// The significance test's p-value (below 0.05 to count).
    pub p_value: f64,
    /// What the entry was compared with: the baseline's code timed again, or its saved samples.
    pub source: DeltaSource,
}

impl Regression {
    /// The slowdown in percent: 20.3 for a ratio of 1.203.
    pub fn percent(&self) -> f64 {
        (self.ratio - 1.0) * 100.0
    }
}

/// `group::entry (+20.3%)`, as the reports list it.
impl fmt::Display for Regression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}::{} ({:+.1}%)",
            self.group,
            self.entry,
            self.percent()
        )
    }
}

/// Compare every entry with its baseline counterpart (same group and entry name), filling
/// `vs_saved`; returns the entries the gate fails.
///
/// When the baseline's code was timed in this run (`GroupReport::rerun`), the comparison is
/// with those samples, taken in the same rounds as the current ones. Otherwise it is with the
/// saved samples, each relative to its round's empty entry when both runs have one, so that
/// a machine running everything slower leaves the comparison alone (as far as it can).
pub fn compare_with(
    groups: &mut [GroupReport],
    saved: &Baseline,
    noise: f64,
    fail_on: Option<FailOn>,
) -> Vec<Regression> {
    groups
        .iter_mut()
        .flat_map(|g| compare_group(g, saved, noise, fail_on))
        .collect()
}

fn compare_group(
    g: &mut GroupReport,
    saved: &Baseline,
    noise: f64,
    fail_on: Option<FailOn>,
) -> Vec<Regression> {
    let sg = saved.groups.iter().find(|s| s.name == g.name);
    if let Some(why) = &g.rerun_error {
        g.warnings.push(format!(
            "compared with the samples saved in {:?}, not with its code timed again: {why}",
            saved.name
        ));
    }
    let mut regressions = Vec::new();
    for (i, e) in g.entries.iter_mut().enumerate() {
        if e.stats.is_none() {
            continue;
        }
        let rerun = g.rerun.iter().find(|r| r.name == e.raw.name);
        if let Some(error) = rerun.and_then(|r| r.error.as_ref()) {
            g.warnings.push(format!(
                "{}: the baseline's version failed ({error}); compared with the samples saved in {:?}",
                e.raw.name, saved.name
            ));
        }
        let Some(pair) = Pair::pick(e, rerun, sg, &g.reference_ns) else {
            continue;
        };
        let c = pair.compare(noise, 0x5a7e_d000 ^ i as u64);
        e.vs_saved = Some(BaselineDelta {
            source: pair.source,
            baseline_median_ns: median(&pair.base_samples),
            baseline_samples_ns: pair.base_samples.clone(),
            ratio: c.ratio,
            ratio_ci: c.ratio_ci,
            p_value: c.p_value,
            verdict: c.verdict,
        });
        let Some(f) = fail_on else { continue };
        if let Some(ratio) = pair.beyond(&c, f) {
            regressions.push(Regression {
                group: g.name.clone(),
                entry: e.raw.name.clone(),
                metric: f.metric,
                ratio,
                threshold: f.threshold,
                p_value: c.p_value,
                source: pair.source,
            });
        }
    }
    regressions
}

/// An entry's samples and its baseline's, as they are compared.
struct Pair {
    source: DeltaSource,
    cur: Vec<f64>,
    base: Vec<f64>,
    /// The baseline's samples in nanoseconds (`base` may be relative to the empty entry).
    base_samples: Vec<f64>,
}

impl Pair {
    /// The baseline's code timed in this run when it succeeded, else the saved samples; None
    /// when the baseline has neither for this entry.
    fn pick(
        e: &EntryReport,
        rerun: Option<&BenchEntry>,
        saved: Option<&SavedGroup>,
        reference_ns: &[f64],
    ) -> Option<Pair> {
        let rerun = rerun.filter(|r| r.status == BenchStatus::Ok && !r.samples_ns.is_empty());
        let saved_entry: Option<&SavedEntry> = saved
            .and_then(|sg| sg.entries.iter().find(|s| s.name == e.raw.name))
            .filter(|se| !se.samples_ns.is_empty());
        match (rerun, saved_entry) {
            (Some(r), _) => Some(Pair {
                source: DeltaSource::Rerun,
                cur: e.raw.samples_ns.clone(),
                base: r.samples_ns.clone(),
                base_samples: r.samples_ns.clone(),
            }),
            (None, Some(se)) => {
                let now_rel = relative(&e.raw.samples_ns, reference_ns);
                let (cur, base) = if !now_rel.is_empty() && !se.relative.is_empty() {
                    (now_rel, se.relative.clone())
                } else {
                    (e.raw.samples_ns.clone(), se.samples_ns.clone())
                };
                Some(Pair {
                    source: DeltaSource::Saved,
                    cur,
                    base,
                    base_samples: se.samples_ns.clone(),
                })
            }
            (None, None) => None,
        }
    }

    fn compare(&self, noise: f64, seed: u64) -> Comparison {
        // Timed in the same rounds: pairs, whose ratios the machine's speed cancels out of.
        match self.source {
            DeltaSource::Rerun => compare_paired(&self.cur, &self.base, noise, seed),
            DeltaSource::Saved => compare(&self.cur, &self.base, noise, seed),
        }
    }

    /// The metric's ratio when the gate fails the entry: significantly slower (the same test
    /// as the verdicts) by more than the threshold.
    fn beyond(&self, c: &Comparison, f: FailOn) -> Option<f64> {
        let (ratio, beyond) = match f.metric {
            Metric::Median => (c.ratio, c.ratio_ci[0] > 1.0 + f.threshold),
            Metric::Mean => {
                let r = match self.source {
                    DeltaSource::Rerun => mean(
                        &self
                            .cur
                            .iter()
                            .zip(&self.base)
                            .map(|(c, b)| c / b)
                            .collect::<Vec<_>>(),
                    ),
                    DeltaSource::Saved => mean(&self.cur) / mean(&self.base),
                };
                (r, r > 1.0 + f.threshold)
            }
        };
        (c.p_value < 0.05 && beyond).then_some(ratio)
    }
}

#[cfg(test)]
mod tests {
    use super::super::store::fixtures::run;
    use super::super::store::{Environment, load, save};
    use super::*;
    use crate::bench::stats::Verdict;

    #[test]
    fn fail_on_parses() {
        assert_eq!(
            "median:5%".parse::<FailOn>(),
            Ok(FailOn {
                metric: Metric::Median,
                threshold: 0.05
            })
        );
        assert_eq!("mean:12.5".parse::<FailOn>().unwrap().metric, Metric::Mean);
        assert!("p99:5%".parse::<FailOn>().is_err());
        assert!("median".parse::<FailOn>().is_err());
    }

    #[test]
    fn the_gate_fails_a_regression() {
        let dir = tempfile::tempdir().unwrap();
        let env = Environment::current("3.11.7");
        save(dir.path(), "main", &run(2000.0), &env).unwrap();
        let saved = load(dir.path(), "main").unwrap();

        // b got 20% slower, a did not move.
        let mut now = run(2400.0);
        let fail = compare_with(&mut now, &saved, 0.02, Some("median:5%".parse().unwrap()));
        assert_eq!(fail.len(), 1, "{fail:?}");
        let r = &fail[0];
        assert_eq!((r.group.as_str(), r.entry.as_str()), ("g", "b"));
        assert_eq!((r.metric, r.threshold), (Metric::Median, 0.05));
        assert_eq!(r.source, DeltaSource::Saved);
        assert!((r.ratio - 1.2).abs() < 0.01 && r.p_value < 0.05, "{r:?}");
        assert!(r.to_string().starts_with("g::b (+20"), "{r}");
        assert_eq!(
            now[0].entries[0].vs_saved.as_ref().unwrap().verdict,
            Verdict::Same
        );
        let mean = compare_with(
            &mut run(2400.0),
            &saved,
            0.02,
            Some("mean:5%".parse().unwrap()),
        );
        assert_eq!(mean.len(), 1, "{mean:?}");
        assert_eq!(mean[0].metric, Metric::Mean);

        let mut same = run(2000.0);
        assert!(
            compare_with(&mut same, &saved, 0.02, Some("median:5%".parse().unwrap())).is_empty()
        );
    }

    #[test]
    fn regressions_read_as_group_entry_and_percent() {
        let r = Regression {
            group: "sort".into(),
            entry: "list.sort".into(),
            metric: Metric::Median,
            ratio: 1.203,
            threshold: 0.05,
            p_value: 0.001,
            source: DeltaSource::Rerun,
        };
        assert_eq!(r.to_string(), "sort::list.sort (+20.3%)");
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["metric"], "median");
        assert_eq!(json["source"], "rerun");
        assert_eq!(json["group"], "sort");
    }

    #[test]
    fn code_timed_again_wins_over_saved_samples() {
        let dir = tempfile::tempdir().unwrap();
        let env = Environment::current("3.11.7");
        // Saved when the machine was fast: b at 2000.
        save(dir.path(), "main", &run(2000.0), &env).unwrap();
        let saved = load(dir.path(), "main").unwrap();
        // This run is slow for everything: against the saved samples b looks 50% slower, but
        // the baseline's own code, timed in the same rounds, is just as slow.
        let mut now = run(3000.0);
        let rerun = run(3000.0);
        now[0].rerun = rerun[0].entries.iter().map(|e| e.raw.clone()).collect();
        // a's baseline version raised: a falls back to the saved samples, with a warning.
        now[0].rerun[0].status = BenchStatus::Failed;
        now[0].rerun[0].error = Some("ValueError: old".into());
        let fail = compare_with(&mut now, &saved, 0.02, Some("median:5%".parse().unwrap()));
        assert!(fail.is_empty(), "{fail:?}");
        let b = now[0].entries[1].vs_saved.as_ref().unwrap();
        assert_eq!(b.source, DeltaSource::Rerun);
        assert_eq!(b.verdict, Verdict::Same);
        assert!((b.baseline_median_ns - 3000.0).abs() < 60.0);
        let a = now[0].entries[0].vs_saved.as_ref().unwrap();
        assert_eq!(a.source, DeltaSource::Saved);
        assert!(
            now[0]
                .warnings
                .iter()
                .any(|w| w.starts_with("a: the baseline's version failed")),
            "{:?}",
            now[0].warnings
        );
    }
}
