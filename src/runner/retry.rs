//! Retries: `--retries N` and `@test(retries=N)` rerun a failed or errored test up to N more
//! times. A retry pass runs after the main run, in a fresh session (fresh worker processes),
//! with only the tests still failing selected: a timeout or a crash is retried like any other
//! failure, and nothing of this touches the main run's hot path.
//!
//! A test that passes on a retry is `passed` and counts as passed (cargo-nextest's rule); its
//! earlier, failed attempts are kept on the result (`TestResult::earlier`) for the reports:
//! `attempts` and `flaky` in JSON, `<flakyFailure>` in JUnit, "flaky" in the console and
//! markdown. A file that could not be imported is not retried (its tests never ran), nor is a
//! test interrupted by Ctrl-C.
use std::collections::HashMap;

use crate::runner::event::{ErrorKind, Status, TestResult};

/// How many retries each test gets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Retries {
    /// `--retries`, for tests that set none.
    pub default: u32,
    /// `@test(retries=N)`, by id (only tests that set it).
    pub own: HashMap<String, u32>,
}

impl Retries {
    pub fn allowed(&self, id: &str) -> u32 {
        self.own.get(id).copied().unwrap_or(self.default)
    }

    /// Whether any test may be retried at all (else no pass is ever started).
    pub fn any(&self) -> bool {
        self.default > 0 || self.own.values().any(|n| *n > 0)
    }

    /// The most retries any test has: the most retry passes a run needs.
    pub fn most(&self) -> u32 {
        self.own.values().copied().fold(self.default, u32::max)
    }

    /// The ids to run again: failed or errored, retriable, with retries left.
    pub fn candidates(&self, results: &[TestResult]) -> Vec<String> {
        results
            .iter()
            .filter(|r| retriable(r) && (r.earlier.len() as u32) < self.allowed(&r.id))
            .map(|r| r.id.clone())
            .collect()
    }
}

fn retriable(r: &TestResult) -> bool {
    r.is_problem()
        && r.name.is_some()
        && !matches!(r.kind, Some(ErrorKind::Import | ErrorKind::Interrupted))
}

/// Fold a retry pass's results into the run's: each retried test's new result replaces the
/// old one, which joins its earlier attempts; it keeps its place in the report. Results of
/// the pass for tests the run did not have (and interrupted ones) are dropped.
pub fn merge(results: &mut [TestResult], rerun: Vec<TestResult>) {
    let mut by_id: HashMap<String, usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| retriable(r))
        .map(|(i, r)| (r.id.clone(), i))
        .collect();
    for mut new in rerun {
        if new.kind == Some(ErrorKind::Interrupted) {
            continue;
        }
        let Some(i) = by_id.remove(&new.id) else {
            continue;
        };
        let slot = &mut results[i];
        new.order = slot.order;
        let mut earlier = std::mem::take(&mut slot.earlier);
        earlier.push(std::mem::replace(slot, new));
        slot.earlier = earlier;
    }
}

/// How many times a test ran.
pub fn attempts(r: &TestResult) -> usize {
    r.earlier.len() + 1
}

/// Passed, after failing at least once.
pub fn is_flaky(r: &TestResult) -> bool {
    r.status == Status::Passed && !r.earlier.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::result;

    #[test]
    fn candidates_are_problems_with_retries_left() {
        let mut import = result("t/b.py", Status::Error);
        import.kind = Some(ErrorKind::Import);
        import.name = None;
        let mut interrupted = result("t/a.py::i", Status::Error);
        interrupted.kind = Some(ErrorKind::Interrupted);
        let results = vec![
            result("t/a.py::ok", Status::Passed),
            result("t/a.py::bad", Status::Failed),
            result("t/a.py::err", Status::Error),
            result("t/a.py::own", Status::Failed),
            import,
            interrupted,
        ];
        let none = Retries::default();
        assert!(!none.any());
        assert!(none.candidates(&results).is_empty());
        let own_only = Retries {
            default: 0,
            own: HashMap::from([("t/a.py::own".to_string(), 1)]),
        };
        assert!(own_only.any());
        assert_eq!(own_only.most(), 1);
        assert_eq!(own_only.candidates(&results), vec!["t/a.py::own"]);
        let all = Retries {
            default: 2,
            own: HashMap::from([("t/a.py::own".to_string(), 0)]),
        };
        assert_eq!(all.candidates(&results), vec!["t/a.py::bad", "t/a.py::err"]);
    }

    #[test]
    fn a_pass_on_retry_is_a_flaky_pass_keeping_its_place_and_earlier_attempts() {
        let retries = Retries {
            default: 2,
            own: HashMap::new(),
        };
        let mut first = result("t/a.py::x", Status::Failed);
        first.order = (3, 4);
        first.message = Some("first".into());
        let mut results = vec![first, result("t/a.py::always", Status::Failed)];
        // Pass 1: x errors this time, always fails again.
        let mut second = result("t/a.py::x", Status::Error);
        second.order = (0, 1);
        merge(
            &mut results,
            vec![second, result("t/a.py::always", Status::Failed)],
        );
        assert_eq!(retries.candidates(&results).len(), 2);
        // Pass 2: x passes; always fails a third time; a stray result is ignored.
        merge(
            &mut results,
            vec![
                result("t/a.py::x", Status::Passed),
                result("t/a.py::always", Status::Failed),
                result("t/a.py::stray", Status::Passed),
            ],
        );
        let x = &results[0];
        assert_eq!(
            (x.status, x.order, attempts(x)),
            (Status::Passed, (3, 4), 3)
        );
        assert!(is_flaky(x));
        assert_eq!(x.earlier[0].message.as_deref(), Some("first"));
        assert_eq!(x.earlier[1].status, Status::Error);
        assert!(x.earlier.iter().all(|e| e.earlier.is_empty()));
        let always = &results[1];
        assert_eq!((always.status, attempts(always)), (Status::Failed, 3));
        assert!(!is_flaky(always));
        assert!(retries.candidates(&results).is_empty(), "out of retries");
        assert_eq!(results.len(), 2);
    }

    #[test]
    fn interrupted_retries_change_nothing() {
        let mut results = vec![result("t/a.py::x", Status::Failed)];
        let mut cut = result("t/a.py::x", Status::Error);
        cut.kind = Some(ErrorKind::Interrupted);
        merge(&mut results, vec![cut]);
        assert_eq!(
            (results[0].status, attempts(&results[0])),
            (Status::Failed, 1)
        );
    }
}
