//! Hand-built benchmark runs for the reports' tests.
use crate::bench::BenchRun;
use crate::bench::analyze::{BaselineDelta, DeltaSource, EntryReport, GroupReport};
use crate::bench::baseline::gate::Metric;
use crate::bench::baseline::{Environment, Regression};
use crate::bench::stats::{Verdict, summarize};
use crate::runner::event::{BenchEntry, BenchHarness, BenchStatus};

/// An entry with `n` samples spread up to 2% around `center` (the median when `n` is a
/// multiple of 11), compared as `verdict`.
pub fn entry(name: &str, center: f64, n: usize, verdict: Verdict, ratio: f64) -> EntryReport {
    let samples_ns: Vec<f64> = (0..n)
        .map(|i| center * (1.0 + 0.02 * (((i * 7) % 11) as f64 - 5.0) / 5.0))
        .collect();
    let baseline = verdict == Verdict::Baseline;
    EntryReport {
        stats: summarize(&samples_ns, 7),
        raw: BenchEntry {
            name: name.into(),
            status: BenchStatus::Ok,
            error: None,
            traceback: None,
            is_async: false,
            iterations: 100,
            samples_ns,
        },
        ratio: Some(ratio),
        ratio_ci: Some(if baseline {
            [1.0, 1.0]
        } else {
            [ratio * 0.98, ratio * 1.02]
        }),
        p_value: (!baseline).then_some(0.001),
        verdict: Some(verdict),
        warnings: Vec::new(),
        vs_saved: None,
    }
}

pub fn failed(name: &str, error: &str) -> EntryReport {
    EntryReport {
        raw: BenchEntry {
            name: name.into(),
            status: BenchStatus::Failed,
            error: Some(error.into()),
            traceback: Some(format!(
                "Traceback (most recent call last):\n  File \"bench_x.py\", line 3, in f\n{error}"
            )),
            is_async: false,
            iterations: 0,
            samples_ns: Vec::new(),
        },
        stats: None,
        ratio: None,
        ratio_ci: None,
        p_value: None,
        verdict: None,
        warnings: Vec::new(),
        vs_saved: None,
    }
}

pub fn group(name: &str, baseline: &str, entries: Vec<EntryReport>) -> GroupReport {
    GroupReport {
        name: name.into(),
        file: "benches/bench_x.py".into(),
        baseline: Some(baseline.into()),
        entries,
        warnings: Vec::new(),
        reference_ns: Vec::new(),
        rerun: Vec::new(),
        rerun_error: None,
    }
}

/// Three timed entries (baseline, slower, faster) and a failed one.
pub fn sorting() -> GroupReport {
    let mut slow = entry("list.sort", 10_500.0, 11, Verdict::Slower, 1.65);
    slow.warnings
        .push("unstable: standard deviation is 12% of the mean".into());
    group(
        "sort 1000 ints",
        "sorted",
        vec![
            entry("sorted", 6360.1, 11, Verdict::Baseline, 1.0),
            slow,
            entry("cached", 43.06, 11, Verdict::Faster, 0.0068),
            failed("broken", "ValueError: this entry fails"),
        ],
    )
}

pub fn run(groups: Vec<GroupReport>) -> BenchRun {
    BenchRun {
        groups,
        harness: Some(BenchHarness {
            overhead_ns: 43.06,
            timer_resolution_ns: 1.0,
        }),
        environment: Environment::current("3.11.7"),
        noise: 0.02,
        compared_to: None,
        comparison: None,
        saved_to: None,
        warnings: Vec::new(),
        regressions: Vec::new(),
    }
}

/// `run` compared with a saved baseline `main`, one entry regressed.
pub fn compared(mut run: BenchRun) -> BenchRun {
    run.compared_to = Some("main".into());
    run.comparison = Some(
        "\"main\"'s code (commit 0123456789) timed again in this run, each sample beside the current code's"
            .into(),
    );
    if let Some(e) = run.groups.first_mut().and_then(|g| g.entries.get_mut(1)) {
        e.vs_saved = Some(BaselineDelta {
            source: DeltaSource::Rerun,
            baseline_median_ns: 8_700.0,
            baseline_samples_ns: vec![8_650.0, 8_700.0, 8_760.0],
            ratio: 1.203,
            ratio_ci: [1.18, 1.22],
            p_value: 0.001,
            verdict: Verdict::Slower,
        });
    }
    run.regressions = vec![Regression {
        group: "sort 1000 ints".into(),
        entry: "list.sort".into(),
        metric: Metric::Median,
        ratio: 1.203,
        threshold: 0.05,
        p_value: 0.001,
        source: DeltaSource::Rerun,
    }];
    run
}
