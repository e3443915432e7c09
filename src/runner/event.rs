//! What the executing side tells the reporting side. Every type here is serialisable so the
//! executing side can move into worker processes without the reporters noticing.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
    Error,
    Skipped,
    /// An expected failure that failed (pytest's `xfail`, unittest's `expectedFailure`).
    Xfailed,
    /// An expected failure that passed: it fails the run when `strict`.
    Xpassed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    Exception,
    Import,
    Setup,
    Teardown,
    Timeout,
    Interrupted,
    /// The worker process running the test died (exit, signal).
    Crash,
    /// The test asks for an argument nothing provides (pytest fixtures are not supported yet).
    Fixture,
}

/// The repr of one name used on a failing line, so a failure shows the values involved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Value {
    pub name: String,
    pub repr: String,
}

/// The outcome of one test, or of a file that could not be imported.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestResult {
    pub id: String,
    /// Relative to the project root, `/`-separated.
    pub file: String,
    pub suite: Option<String>,
    pub name: Option<String>,
    pub status: Status,
    pub kind: Option<ErrorKind>,
    /// For `xpassed`: whether it fails the run (unittest's unexpected successes do; pytest's
    /// non-strict xpasses do not).
    #[serde(default)]
    pub strict: bool,
    pub duration_ms: f64,
    pub tags: Vec<String>,
    pub line: Option<u32>,
    pub message: Option<String>,
    pub traceback: Option<String>,
    /// The failing line's source, for failed assertions.
    pub source: Option<String>,
    pub values: Vec<Value>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    /// Position of the file in discovery order, then of the test in its file: report order
    /// is by file, then declaration, whatever order tests finished in.
    #[serde(skip)]
    pub order: (usize, usize),
    /// A retried test's earlier, failed attempts, oldest first (see `runner::retry`). Set by
    /// the run, never on the wire; the reports derive `attempts` and `flaky` from it.
    #[serde(skip)]
    pub earlier: Vec<TestResult>,
}

impl TestResult {
    pub fn is_problem(&self) -> bool {
        matches!(self.status, Status::Failed | Status::Error)
    }

    /// Whether this result makes the run fail: a problem, or a strict `xpassed`.
    pub fn fails_run(&self) -> bool {
        self.is_problem() || (self.status == Status::Xpassed && self.strict)
    }
}

/// Put results in report order (by `order`, ties in the order they came), in place.
pub fn sort_by_order(results: &mut [TestResult]) {
    if results.is_sorted_by_key(|r| r.order) {
        return;
    }
    let keys = results
        .iter()
        .enumerate()
        .map(|(i, r)| (r.order.0, r.order.1, i))
        .collect();
    if let Some(to) = report_order(keys) {
        apply_order(results, to);
    }
}

/// Results as they arrive, with their report-order keys copied out while each is fresh in
/// the cache: putting 10,000 in order at the end sorts the small keys, then moves each
/// result once (reading a key from each of 10,000 results of a few hundred bytes, after the
/// run, costs more than the sort).
#[derive(Debug, Default)]
pub struct Arrived {
    results: Vec<TestResult>,
    /// (file, place, index in `results`)
    keys: Vec<(usize, usize, usize)>,
}

impl Arrived {
    pub fn reserve(&mut self, n: usize) {
        self.results.reserve(n);
        self.keys.reserve(n);
    }

    pub fn push(&mut self, r: TestResult) {
        self.keys.push((r.order.0, r.order.1, self.results.len()));
        self.results.push(r);
    }

    /// In report order.
    pub fn into_sorted(self) -> Vec<TestResult> {
        let Arrived { mut results, keys } = self;
        if let Some(to) = report_order(keys) {
            apply_order(&mut results, to);
        }
        results
    }
}

/// Where each result goes in report order (position k takes the result at `to[k]`; ties in
/// the order they came) from their keys (file, place, index), or None when they are in it
/// already.
fn report_order(mut keys: Vec<(usize, usize, usize)>) -> Option<Vec<usize>> {
    if keys.is_sorted() {
        return None;
    }
    keys.sort_unstable();
    Some(keys.into_iter().map(|(_, _, i)| i).collect())
}

/// Move each result once to its place (`report_order`'s answer): a merge sort would copy
/// 10,000 results several times over.
fn apply_order(results: &mut [TestResult], mut to: Vec<usize>) {
    // Follow each cycle of the permutation.
    const DONE: usize = usize::MAX;
    for start in 0..to.len() {
        let mut k = start;
        while to[k] != DONE {
            let from = to[k];
            to[k] = DONE;
            if from == start {
                break;
            }
            results.swap(k, from);
            k = from;
        }
    }
}

/// A test that has started: enough to report it if it never finishes. Kept small: there is
/// one per test on the wire from a worker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TestStart {
    /// `path::Suite::name` or `path::name`.
    pub id: String,
    pub tags: Vec<String>,
    pub line: Option<u32>,
    pub timeout: Option<f64>,
    pub order: (usize, usize),
    /// `@test(retries=N)`, when the test sets it.
    pub retries: Option<u32>,
}

impl TestStart {
    /// For a file that died before any test started: its id is its path.
    pub fn file(rel: &str, index: usize) -> Self {
        TestStart {
            id: rel.to_string(),
            tags: Vec::new(),
            line: None,
            timeout: None,
            order: (index, 0),
            retries: None,
        }
    }

    /// The entry for a test interrupted while running (Ctrl-C or SIGTERM).
    pub fn interrupted(self) -> TestResult {
        self.unfinished(
            ErrorKind::Interrupted,
            "interrupted while running (Ctrl-C or SIGTERM)".into(),
        )
    }

    /// The entry for a test that did not finish, saying why.
    pub fn unfinished(self, kind: ErrorKind, message: String) -> TestResult {
        let mut parts = self.id.split("::");
        let file = parts.next().unwrap_or_default().to_string();
        let rest: Vec<&str> = parts.collect();
        let (suite, name) = match rest.as_slice() {
            [] => (None, None),
            [name] => (None, Some(name.to_string())),
            [suite, name, ..] => (Some(suite.to_string()), Some(name.to_string())),
        };
        TestResult {
            id: self.id,
            file,
            suite,
            name,
            status: Status::Error,
            kind: Some(kind),
            strict: false,
            duration_ms: 0.0,
            tags: self.tags,
            line: self.line,
            message: Some(message),
            traceback: None,
            source: None,
            values: Vec::new(),
            stdout: None,
            stderr: None,
            order: self.order,
            earlier: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_sort_by_order_stably_in_place_and_as_they_arrive() {
        let r = |id: &str, order: (usize, usize)| {
            let mut r = TestStart::file(id, 0).interrupted();
            r.order = order;
            r
        };
        // Every permutation of a few results, with a tie kept in arrival order.
        let base = [(2, 1), (0, 5), (1, 1), (0, 1), (1, 1), (3, 0)];
        let mut orders: Vec<Vec<(usize, usize)>> = vec![base.to_vec()];
        for shift in 1..base.len() {
            let mut v = base.to_vec();
            v.rotate_left(shift);
            orders.push(v.iter().rev().copied().collect());
            orders.push(v);
        }
        for orders in orders {
            let mut results: Vec<TestResult> = orders
                .iter()
                .enumerate()
                .map(|(i, o)| r(&i.to_string(), *o))
                .collect();
            let mut expected = results.clone();
            expected.sort_by_key(|r| r.order);
            let mut arrived = Arrived::default();
            for r in results.clone() {
                arrived.push(r);
            }
            sort_by_order(&mut results);
            let ids = |v: &[TestResult]| v.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
            assert_eq!(ids(&results), ids(&expected), "{orders:?}");
            assert_eq!(ids(&arrived.into_sorted()), ids(&expected), "{orders:?}");
        }
    }

    #[test]
    fn unfinished_tests_get_file_suite_and_name_from_their_id() {
        let r = TestStart {
            id: "t/a.py::S::x".into(),
            tags: vec!["db".into()],
            line: Some(3),
            timeout: None,
            order: (1, 4),
            retries: None,
        }
        .interrupted();
        assert_eq!(r.tags, vec!["db".to_string()]);
        assert_eq!(
            (r.file.as_str(), r.suite.as_deref(), r.name.as_deref()),
            ("t/a.py", Some("S"), Some("x"))
        );
        let r = TestStart {
            id: "t/a.py::f".into(),
            tags: Vec::new(),
            line: None,
            timeout: None,
            order: (1, 2),
            retries: None,
        }
        .interrupted();
        assert_eq!((r.suite, r.name.as_deref()), (None, Some("f")));
        let r = TestStart::file("t/b.py", 2).interrupted();
        assert_eq!((r.file.as_str(), r.name, r.order), ("t/b.py", None, (2, 0)));
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    TestStarted(TestStart),
    TestFinished(TestResult),
    /// A file that could not be imported: one entry of kind `import`.
    FileError(TestResult),
    /// The harness's own cost, measured once before the first benchmark.
    BenchHarness(BenchHarness),
    /// One benchmark group's raw samples.
    BenchGroupFinished(BenchGroup),
    /// A worker's thread `slot` began a file it was handed (supervisor bookkeeping: the slot
    /// names the file's output spool).
    FileStarted {
        index: usize,
        slot: usize,
    },
    /// A suite hook that runs outside any test is starting (`setup_suite`, `teardown_suite`):
    /// if its worker dies in it, the supervisor reports `blamed` (the suite's tests, or the
    /// hook's own entry) as crashed in it (supervisor bookkeeping).
    HookStarted {
        index: usize,
        hook: String,
        suite: String,
        blamed: Vec<TestStart>,
    },
    /// A worker finished a file it was handed (supervisor bookkeeping).
    FileDone {
        index: usize,
        /// CPU time the file's thread used: against its wall time, whether the file computes
        /// or waits (the scheduler runs computing files one per worker).
        #[serde(default)]
        cpu_ms: f64,
    },
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct BenchHarness {
    /// Time per call of an empty entry: the loop and call overhead in every sample.
    pub overhead_ns: f64,
    /// `time.perf_counter`'s resolution.
    pub timer_resolution_ns: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BenchStatus {
    Ok,
    Failed,
}

/// One entry's raw timings: each sample is the time per call over `iterations` calls.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchEntry {
    pub name: String,
    pub status: BenchStatus,
    pub error: Option<String>,
    pub traceback: Option<String>,
    pub is_async: bool,
    pub iterations: u64,
    pub samples_ns: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchGroup {
    pub name: String,
    pub file: String,
    /// The entry named as the baseline, if the group names one.
    pub baseline: Option<String>,
    pub entries: Vec<BenchEntry>,
    /// The empty entry's time per call in each sampling round (sample i of every entry was
    /// taken in round i).
    #[serde(default)]
    pub reference_ns: Vec<f64>,
    /// With `--baseline`, the baseline commit's version of these entries, timed in the same
    /// rounds as the current ones.
    #[serde(default)]
    pub rerun: Vec<BenchEntry>,
    /// Why the baseline's version of this file could not be timed, if it could not.
    #[serde(default)]
    pub rerun_error: Option<String>,
    #[serde(skip)]
    pub order: (usize, usize),
}
