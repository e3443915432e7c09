//! Test timeouts, in both modes. A test's limit is its own `timeout`, else `--timeout`.
//! Async tests are cancelled in place by the engine at their limit. Past it, a worker's test
//! has its worker stopped (see `supervise`); an in-process sync test cannot be stopped at
//! all, so the run ends there instead of hanging.
use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::runner::event::{ErrorKind, TestResult, TestStart};

/// Past its timeout, how long a worker's test gets to be cancelled in place (async tests)
/// before its worker is stopped.
const DEADLINE_SLACK: Duration = Duration::from_millis(250);

/// How long past its timeout an in-process test may run before the run gives up on it: async
/// tests are cancelled by the engine itself at the timeout, and report it, well within this.
const OVERRUN_GRACE: f64 = 1.0;

/// A test's limit in seconds: its own, else the run's default.
pub fn limit(start: &TestStart, default_timeout: Option<f64>) -> Option<f64> {
    start.timeout.or(default_timeout)
}

/// Workers: when a test started at `since` is stopped with its worker.
pub fn deadline(
    start: &TestStart,
    default_timeout: Option<f64>,
    since: Instant,
) -> Option<Instant> {
    limit(start, default_timeout)
        .map(|s| since + Duration::from_secs_f64(s.max(0.0)) + DEADLINE_SLACK)
}

/// Workers: the message for a test whose worker was stopped at its deadline.
pub fn worker_stopped(limit: f64) -> String {
    format!("timed out after {limit} s; its worker process was stopped")
}

/// In-process tests that started and have not finished, by their place in the report.
pub type Running = HashMap<(usize, usize), (TestStart, Instant)>;

/// In-process mode: the test that stops the run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Overrun {
    pub key: (usize, usize),
    /// Its limit, in seconds.
    pub limit: f64,
}

/// In-process mode: a running test past its limit plus the grace.
pub fn overran(running: &Running, default_timeout: Option<f64>) -> Option<Overrun> {
    running.iter().find_map(|(key, (t, since))| {
        let limit = limit(t, default_timeout)?;
        (since.elapsed().as_secs_f64() > limit + OVERRUN_GRACE)
            .then_some(Overrun { key: *key, limit })
    })
}

/// In-process mode: the entries of the tests still running when `overrun` stopped the run:
/// a timeout for the one that overran, `interrupted` for the others.
pub fn overrun_results(overrun: Overrun, running: Running) -> Vec<TestResult> {
    let Overrun { key, limit } = overrun;
    running
        .into_iter()
        .map(|(order, (t, since))| {
            let mut r = if order == key {
                eprintln!(
                    "dbtest: {} ran past its {limit} s timeout; in-process mode (-n 0) cannot stop a running \
                     sync test, so the run stops here (without -n 0 its worker process is stopped and the run goes on)",
                    t.id
                );
                t.unfinished(
                    ErrorKind::Timeout,
                    format!(
                        "timed out after {limit} s; in-process mode (-n 0) cannot stop it, so the run stopped"
                    ),
                )
            } else {
                t.unfinished(
                    ErrorKind::Interrupted,
                    "not finished: the run stopped at a test that ran past its timeout (-n 0)"
                        .into(),
                )
            };
            r.duration_ms = since.elapsed().as_secs_f64() * 1000.0;
            r
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(timeout: Option<f64>, ago: Duration) -> (TestStart, Instant) {
        let mut t = TestStart::file("test_x.py", 0);
        t.timeout = timeout;
        let since = Instant::now().checked_sub(ago).unwrap();
        (t, since)
    }

    fn at(key: (usize, usize), limit: f64) -> Option<Overrun> {
        Some(Overrun { key, limit })
    }

    #[test]
    fn a_test_overruns_its_own_timeout_else_the_default_plus_the_grace() {
        let two_s = Duration::from_secs(2);
        let mut running = Running::new();
        running.insert((0, 1), started(Some(0.5), two_s));
        assert_eq!(overran(&running, None), at((0, 1), 0.5));
        // Still within the grace after its timeout: the engine may yet cancel an async one.
        running.insert((0, 1), started(Some(1.5), two_s));
        assert_eq!(overran(&running, None), None);
        // No timeout of its own: --timeout applies; none at all, it may run forever.
        running.insert((0, 1), started(None, two_s));
        assert_eq!(overran(&running, None), None);
        assert_eq!(overran(&running, Some(0.5)), at((0, 1), 0.5));
        assert_eq!(overran(&running, Some(5.0)), None);
    }

    #[test]
    fn the_overrun_test_times_out_the_others_are_interrupted() {
        let mut running = Running::new();
        for (key, timeout, ago) in [((0, 1), Some(0.5), 2), ((0, 2), None, 1)] {
            let (mut t, since) = started(timeout, Duration::from_secs(ago));
            t.order = key;
            running.insert(key, (t, since));
        }
        let mut out = overrun_results(
            Overrun {
                key: (0, 1),
                limit: 0.5,
            },
            running,
        );
        out.sort_by_key(|r| r.order);
        let kinds: Vec<_> = out.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [Some(ErrorKind::Timeout), Some(ErrorKind::Interrupted)]
        );
        assert!(out[0].duration_ms >= 2000.0);
    }

    #[test]
    fn a_workers_deadline_is_its_limit_plus_the_slack() {
        let (t, since) = started(None, Duration::ZERO);
        assert_eq!(deadline(&t, None, since), None);
        assert_eq!(
            deadline(&t, Some(1.0), since),
            Some(since + Duration::from_secs(1) + DEADLINE_SLACK)
        );
    }
}
