//! From raw samples to what reports show: statistics per entry, each entry against its group's
//! baseline, warnings for numbers not to trust, and (with `--baseline`) each entry against a
//! saved run.
use serde::Serialize;

use super::stats::{Summary, Verdict, compare, compare_paired, summarize};
use crate::runner::event::{BenchEntry, BenchGroup, BenchHarness, BenchStatus};

/// Seeds are fixed so the same samples always give the same intervals.
const SEED: u64 = 0xdb7e_57be_7c40_0001;
/// Relative standard deviation above which an entry is called unstable (pyperf's rule).
const UNSTABLE_RSD: f64 = 0.10;
/// Share of samples outside the Tukey fences above which an entry is called noisy.
const MANY_OUTLIERS: f64 = 0.10;
/// An entry whose median is within this factor of the harness overhead mostly measures the loop.
const OVERHEAD_FACTOR: f64 = 10.0;

/// The current run against a saved baseline, for one entry.
#[derive(Debug, Clone, Serialize)]
pub struct BaselineDelta {
    /// Where the baseline's samples come from.
    pub source: DeltaSource,
    pub baseline_median_ns: f64,
    /// The baseline's samples compared with: timed in this run (`rerun`), or as saved.
    pub baseline_samples_ns: Vec<f64>,
    pub ratio: f64,
    pub ratio_ci: [f64; 2],
    pub p_value: f64,
    pub verdict: Verdict,
}

/// How an entry was compared with a saved baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeltaSource {
    /// The baseline commit's code, timed again in this run beside the current code.
    Rerun,
    /// The samples stored in the baseline file (each relative to its round's empty entry).
    Saved,
}

#[derive(Debug, Clone, Serialize)]
pub struct EntryReport {
    /// What the worker measured: name, status, error, loop count, samples.
    #[serde(flatten)]
    pub raw: BenchEntry,
    pub stats: Option<Summary>,
    /// Against the group baseline: the median of the per-round ratios (entry / baseline entry),
    /// with its 95% bootstrap interval.
    pub ratio: Option<f64>,
    pub ratio_ci: Option<[f64; 2]>,
    pub p_value: Option<f64>,
    pub verdict: Option<Verdict>,
    pub warnings: Vec<String>,
    /// Set with `--baseline NAME`.
    pub vs_saved: Option<BaselineDelta>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GroupReport {
    pub name: String,
    pub file: String,
    /// The entry the others are compared with: the named one, else the fastest.
    pub baseline: Option<String>,
    pub entries: Vec<EntryReport>,
    pub warnings: Vec<String>,
    /// The reference (empty) entry's time per call in each sampling round.
    pub reference_ns: Vec<f64>,
    /// The baseline commit's version of the entries, timed in this run (`--baseline`).
    #[serde(skip)]
    pub rerun: Vec<BenchEntry>,
    #[serde(skip)]
    pub rerun_error: Option<String>,
}

fn seed_for(group: usize, entry: usize) -> u64 {
    SEED ^ ((group as u64) << 32) ^ entry as u64
}

fn entry_warnings(s: &Summary, n: usize, harness: Option<&BenchHarness>) -> Vec<String> {
    let mut w = Vec::new();
    if s.mean_ns > 0.0 && s.stddev_ns / s.mean_ns > UNSTABLE_RSD {
        w.push(format!(
            "unstable: standard deviation is {:.0}% of the mean",
            100.0 * s.stddev_ns / s.mean_ns
        ));
    }
    let outliers = s.outliers_mild + s.outliers_severe;
    if n > 0 && outliers as f64 / n as f64 > MANY_OUTLIERS {
        w.push(format!(
            "{outliers} of {n} samples are outliers ({} severe)",
            s.outliers_severe
        ));
    }
    if let Some(h) = harness {
        if s.median_ns < OVERHEAD_FACTOR * h.overhead_ns {
            w.push(format!(
                "within {OVERHEAD_FACTOR}x of the harness's own overhead ({:.1} ns per call): this mostly measures the loop",
                h.overhead_ns
            ));
        }
    }
    w
}

/// Statistics and in-group comparisons for every group.
pub fn analyze(
    groups: &[BenchGroup],
    harness: Option<&BenchHarness>,
    noise: f64,
) -> Vec<GroupReport> {
    groups
        .iter()
        .enumerate()
        .map(|(gi, g)| analyze_group(gi, g, harness, noise))
        .collect()
}

fn analyze_group(
    gi: usize,
    g: &BenchGroup,
    harness: Option<&BenchHarness>,
    noise: f64,
) -> GroupReport {
    let mut warnings = Vec::new();
    let mut entries: Vec<EntryReport> = g
        .entries
        .iter()
        .enumerate()
        .map(|(ei, e)| {
            let stats = if e.status == BenchStatus::Ok {
                summarize(&e.samples_ns, seed_for(gi, ei))
            } else {
                None
            };
            let warnings = stats
                .as_ref()
                .map(|s| entry_warnings(s, e.samples_ns.len(), harness))
                .unwrap_or_default();
            EntryReport {
                raw: e.clone(),
                stats,
                ratio: None,
                ratio_ci: None,
                p_value: None,
                verdict: None,
                warnings,
                vs_saved: None,
            }
        })
        .collect();
    let usable = |e: &EntryReport| e.stats.is_some();
    let named = g
        .baseline
        .as_ref()
        .and_then(|b| entries.iter().position(|e| &e.raw.name == b && usable(e)));
    if let (Some(b), None) = (&g.baseline, named) {
        warnings.push(format!(
            "baseline entry {b:?} is missing or failed; comparing with the fastest entry instead"
        ));
    }
    let fastest = || {
        entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.stats.as_ref().map(|s| (i, s.median_ns)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(i, _)| i)
    };
    let base = named.or_else(fastest);
    if let Some(bi) = base {
        let base_samples = g.entries[bi].samples_ns.clone();
        for (ei, e) in entries.iter_mut().enumerate() {
            if ei == bi {
                e.ratio = Some(1.0);
                e.ratio_ci = Some([1.0, 1.0]);
                e.verdict = Some(Verdict::Baseline);
            } else if e.stats.is_some() {
                // A group's entries are sampled in the same rounds: sample i of each was
                // taken moments apart, so the machine's speed cancels out of their ratio.
                let cand = &g.entries[ei].samples_ns;
                let seed = seed_for(gi, ei) ^ 0xc0ffee;
                let c = if cand.len() == base_samples.len() {
                    compare_paired(cand, &base_samples, noise, seed)
                } else {
                    compare(cand, &base_samples, noise, seed)
                };
                e.ratio = Some(c.ratio);
                e.ratio_ci = Some(c.ratio_ci);
                e.p_value = Some(c.p_value);
                e.verdict = Some(c.verdict);
            }
        }
    }
    GroupReport {
        name: g.name.clone(),
        file: g.file.clone(),
        baseline: base.map(|i| entries[i].raw.name.clone()),
        entries,
        warnings,
        reference_ns: g.reference_ns.clone(),
        rerun: g.rerun.clone(),
        rerun_error: g.rerun_error.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, center: f64) -> BenchEntry {
        // Deterministic jitter of about 1%.
        let samples = (0..30)
            .map(|i| center * (1.0 + 0.01 * (((i * 7) % 11) as f64 - 5.0) / 5.0))
            .collect();
        BenchEntry {
            name: name.into(),
            status: BenchStatus::Ok,
            error: None,
            traceback: None,
            is_async: false,
            iterations: 100,
            samples_ns: samples,
        }
    }

    fn group(baseline: Option<&str>, entries: Vec<BenchEntry>) -> BenchGroup {
        BenchGroup {
            name: "g".into(),
            file: "bench_x.py".into(),
            baseline: baseline.map(str::to_string),
            entries,
            reference_ns: Vec::new(),
            rerun: Vec::new(),
            rerun_error: None,
            order: (0, 0),
        }
    }

    #[test]
    fn named_baseline_and_verdicts() {
        let g = group(
            Some("a"),
            vec![entry("a", 1000.0), entry("b", 2000.0), entry("c", 1000.0)],
        );
        let r = &analyze(&[g], None, 0.02)[0];
        assert_eq!(r.baseline.as_deref(), Some("a"));
        assert_eq!(r.entries[0].verdict, Some(Verdict::Baseline));
        assert_eq!(r.entries[1].verdict, Some(Verdict::Slower));
        let ratio = r.entries[1].ratio.unwrap();
        assert!((1.9..2.1).contains(&ratio), "{ratio}");
        assert_eq!(r.entries[2].verdict, Some(Verdict::Same));
    }

    #[test]
    fn fastest_is_the_baseline_when_none_is_named_or_the_named_one_failed() {
        let mut broken = entry("a", 500.0);
        broken.status = BenchStatus::Failed;
        broken.samples_ns.clear();
        let g = group(
            Some("a"),
            vec![broken, entry("slow", 3000.0), entry("fast", 1000.0)],
        );
        let r = &analyze(&[g], None, 0.02)[0];
        assert_eq!(r.baseline.as_deref(), Some("fast"));
        assert!(r.warnings[0].contains("baseline entry \"a\""));
        assert!(r.entries[0].stats.is_none() && r.entries[0].verdict.is_none());
        assert_eq!(r.entries[1].verdict, Some(Verdict::Slower));
    }

    #[test]
    fn warns_near_the_harness_overhead_and_when_unstable() {
        let mut noisy = entry("noisy", 1000.0);
        for (i, s) in noisy.samples_ns.iter_mut().enumerate() {
            *s *= if i % 2 == 0 { 0.7 } else { 1.3 };
        }
        let g = group(None, vec![entry("tiny", 100.0), noisy]);
        let h = BenchHarness {
            overhead_ns: 40.0,
            timer_resolution_ns: 1.0,
        };
        let r = &analyze(&[g], Some(&h), 0.02)[0];
        assert!(
            r.entries[0]
                .warnings
                .iter()
                .any(|w| w.contains("harness's own overhead"))
        );
        assert!(
            r.entries[1]
                .warnings
                .iter()
                .any(|w| w.starts_with("unstable"))
        );
    }

    #[test]
    fn entries_are_compared_round_by_round() {
        // Every third round ran at twice the time for both entries: per round, b is always
        // exactly 2x a, while the two sets of samples overlap.
        let slow = |i: usize| if i % 3 == 0 { 2.0 } else { 1.0 };
        let mut a = entry("a", 1000.0);
        let mut b = entry("b", 2000.0);
        for (i, (x, y)) in a.samples_ns.iter_mut().zip(&mut b.samples_ns).enumerate() {
            *x = 1000.0 * slow(i) * (1.0 + (i % 5) as f64 / 1000.0);
            *y = 2.0 * *x;
        }
        let r = analyze(&[group(Some("a"), vec![a, b])], None, 0.02);
        let b = &r[0].entries[1];
        assert!((b.ratio.unwrap() - 2.0).abs() < 1e-9, "{b:?}");
        let ci = b.ratio_ci.unwrap();
        assert!(ci[0] > 1.999 && ci[1] < 2.001, "{ci:?}");
        assert_eq!(b.verdict, Some(Verdict::Slower));
    }
}
