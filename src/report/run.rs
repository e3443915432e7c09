//! A finished run as the reports see it, and the one trait every report format implements.
use serde::Serialize;

use crate::bench::BenchRun;
use crate::runner::event::{Status, TestResult};
use crate::runner::run::StopReason;

#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Summary {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    pub skipped: usize,
    /// Expected failures that failed.
    pub xfailed: usize,
    /// Expected failures that passed (strict ones also fail the run).
    pub xpassed: usize,
    pub duration_ms: f64,
}

/// A finished (or interrupted) run, in report order.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub dbtest_version: String,
    pub python_version: String,
    results: Vec<TestResult>,
    /// The results counted once, when first asked (every report, the exit code and the
    /// summary line ask, and each pass over 10,000 results reads them all from memory).
    tally: std::sync::OnceLock<Tally>,
    pub duration_ms: f64,
    pub interrupted: bool,
    /// `-x` stopped the run early, or (in-process) a test that overran its timeout did.
    pub stopped_early: bool,
    /// Why, when `stopped_early`.
    pub stop_reason: StopReason,
    pub benchmarks: Option<BenchRun>,
}

impl RunReport {
    pub fn new(python_version: String, mut results: Vec<TestResult>, duration_ms: f64) -> Self {
        // Usually sorted already (the run sorts them once): then this only checks.
        crate::runner::event::sort_by_order(&mut results);
        RunReport {
            dbtest_version: env!("CARGO_PKG_VERSION").to_string(),
            python_version,
            results,
            tally: std::sync::OnceLock::new(),
            duration_ms,
            interrupted: false,
            stopped_early: false,
            stop_reason: StopReason::FailFast,
            benchmarks: None,
        }
    }

    /// The results, in report order.
    pub fn results(&self) -> &[TestResult] {
        &self.results
    }

    /// The results to change (tests of the reports): what was counted is counted again.
    #[cfg(test)]
    pub fn results_mut(&mut self) -> &mut Vec<TestResult> {
        self.tally = std::sync::OnceLock::new();
        &mut self.results
    }

    fn tally(&self) -> &Tally {
        self.tally.get_or_init(|| Tally::of(&self.results))
    }

    pub fn summary(&self) -> Summary {
        Summary {
            duration_ms: self.duration_ms,
            ..self.tally().summary
        }
    }

    /// Whether the run failed: a test failed or errored (or passed against a strict expected
    /// failure), a benchmark entry failed, or the regression gate fired.
    pub fn failed(&self) -> bool {
        // (a failed or errored test fails the run)
        self.tally().fails > 0
            || self
                .benchmarks
                .as_ref()
                .is_some_and(|b| b.failed_entries() > 0 || !b.regressions.is_empty())
    }

    /// `12 tests`-style counts line, or for a benchmarks-only run what ran of those.
    pub fn counts_line(&self) -> String {
        let s = self.summary();
        match &self.benchmarks {
            Some(b) if s.total == 0 => {
                let entries: usize = b.groups.iter().map(|g| g.entries.len()).sum();
                let failed = b.failed_entries();
                let mut line = format!("{entries} benchmark entries in {} groups", b.groups.len());
                if failed > 0 {
                    line.push_str(&format!(", {failed} failed"));
                }
                if !b.regressions.is_empty() {
                    line.push_str(&format!(", {} regressions", b.regressions.len()));
                }
                line
            }
            _ => counts(&s),
        }
    }

    pub fn problems(&self) -> impl Iterator<Item = &TestResult> {
        let any = if self.tally().fails > 0 {
            self.results.len()
        } else {
            0
        };
        self.results[..any].iter().filter(|r| r.fails_run())
    }

    /// Tests that passed on a retry.
    pub fn flaky(&self) -> impl Iterator<Item = &TestResult> {
        let any = if self.tally().flaky > 0 {
            self.results.len()
        } else {
            0
        };
        self.results[..any]
            .iter()
            .filter(|r| crate::runner::retry::is_flaky(r))
    }
}

/// What the reports count, in one pass over the results.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    summary: Summary,
    /// Results that fail the run.
    fails: usize,
    flaky: usize,
}

impl Tally {
    fn of(results: &[TestResult]) -> Tally {
        let mut t = Tally::default();
        let s = &mut t.summary;
        s.total = results.len();
        for r in results {
            *match r.status {
                Status::Passed => &mut s.passed,
                Status::Failed => &mut s.failed,
                Status::Error => &mut s.errors,
                Status::Skipped => &mut s.skipped,
                Status::Xfailed => &mut s.xfailed,
                Status::Xpassed => &mut s.xpassed,
            } += 1;
            t.fails += usize::from(r.fails_run());
            t.flaky += usize::from(crate::runner::retry::is_flaky(r));
        }
        t
    }
}

/// One report format.
pub trait Exporter {
    fn render(&self, report: &RunReport) -> String;
}

/// `3 failed, 1 error, 10 passed, 2 skipped`, leaving out zero counts but always one part.
fn counts(s: &Summary) -> String {
    let mut parts = Vec::new();
    if s.failed > 0 {
        parts.push(format!("{} failed", s.failed));
    }
    if s.errors > 0 {
        parts.push(format!(
            "{} error{}",
            s.errors,
            if s.errors == 1 { "" } else { "s" }
        ));
    }
    if s.passed > 0 || s.total == s.failed + s.errors + s.skipped {
        parts.push(format!("{} passed", s.passed));
    }
    if s.skipped > 0 {
        parts.push(format!("{} skipped", s.skipped));
    }
    if s.xfailed > 0 {
        parts.push(format!("{} xfailed", s.xfailed));
    }
    if s.xpassed > 0 {
        parts.push(format!("{} xpassed", s.xpassed));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_leave_out_zeros_but_keep_one_part() {
        let s = Summary {
            total: 4,
            passed: 1,
            failed: 2,
            errors: 1,
            skipped: 0,
            xfailed: 0,
            xpassed: 0,
            duration_ms: 0.0,
        };
        assert_eq!(counts(&s), "2 failed, 1 error, 1 passed");
        let x = Summary {
            total: 3,
            xfailed: 2,
            xpassed: 1,
            ..Default::default()
        };
        assert_eq!(counts(&x), "2 xfailed, 1 xpassed");
        assert_eq!(counts(&Summary::default()), "0 passed");
    }

    #[test]
    fn what_is_counted_once_follows_the_results() {
        use super::fixtures::result;
        let mut flaky = result("t.py::flaky", Status::Passed);
        flaky.earlier = vec![result("t.py::flaky", Status::Failed)];
        let mut xpass = result("t.py::strict", Status::Xpassed);
        xpass.strict = true;
        let results = vec![
            result("t.py::ok", Status::Passed),
            flaky,
            xpass,
            result("t.py::loose", Status::Xpassed),
        ];
        let mut report = RunReport::new("3.11".into(), results, 5.0);
        let ids = |it: &mut dyn Iterator<Item = &TestResult>| {
            it.map(|r| r.id.clone()).collect::<Vec<_>>()
        };
        assert!(report.failed());
        assert_eq!(ids(&mut report.problems()), ["t.py::strict"]);
        assert_eq!(ids(&mut report.flaky()), ["t.py::flaky"]);
        assert_eq!((report.summary().passed, report.summary().xpassed), (2, 2));
        // Changed results are counted again.
        report.results_mut()[2].strict = false;
        report.results_mut()[1].earlier.clear();
        assert!(!report.failed());
        assert_eq!(report.problems().count(), 0);
        assert_eq!(report.flaky().count(), 0);
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use crate::runner::event::{ErrorKind, Status, TestResult, Value};

    pub fn result(id: &str, status: Status) -> TestResult {
        let (file, rest) = id.split_once("::").unwrap_or((id, ""));
        let mut parts: Vec<&str> = rest.split("::").filter(|s| !s.is_empty()).collect();
        let name = parts.pop().map(str::to_string);
        TestResult {
            id: id.to_string(),
            file: file.to_string(),
            suite: parts.first().map(|s| s.to_string()),
            name,
            status,
            kind: (status == Status::Error).then_some(ErrorKind::Exception),
            strict: false,
            duration_ms: 1.5,
            tags: vec!["unit".into()],
            line: Some(10),
            message: None,
            traceback: None,
            source: None,
            values: Vec::new(),
            stdout: None,
            stderr: None,
            order: (0, 0),
            earlier: Vec::new(),
        }
    }

    /// A report holding every status and the characters reports must survive.
    pub fn report() -> super::RunReport {
        let mut failed = result("tests/test_ünï.py::Suite::naïve_café", Status::Failed);
        failed.message = Some("ü <&> \"quoted\" | pipe \u{7} bell 🎉 ```".into());
        failed.traceback = Some("Traceback (most recent call last):\n  File \"tests/test_ünï.py\", line 10, in naïve_café\n    assert a == b\nAssertionError: ```".into());
        failed.source = Some("assert a == b".into());
        failed.values = vec![Value {
            name: "a".into(),
            repr: "'<b>|x'".into(),
        }];
        failed.stdout = Some("printed | <out>\n".into());
        failed.order = (0, 2);
        let mut passed = result("tests/test_a.py::ok", Status::Passed);
        passed.order = (0, 1);
        let mut skipped = result("tests/test_a.py::later", Status::Skipped);
        skipped.message = Some("not today".into());
        skipped.order = (1, 1);
        let mut import = result("tests/test_broken.py", Status::Error);
        import.kind = Some(ErrorKind::Import);
        import.name = None;
        import.message = Some("SyntaxError: expected ':' (tests/test_broken.py, line 7)".into());
        import.order = (2, 1);
        super::RunReport::new("3.11.7".into(), vec![import, skipped, failed, passed], 12.5)
    }
}
