//! One run on the executing side: start the interpreter or the workers (while discovery
//! reads the files), then run a plan in the chosen mode, in-process (`-n 0`) or on workers,
//! collecting its events, watching its timeouts and its interrupts, and keeping the
//! durations history. The caller sees events as they come and the finished `Outcome`.
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

use crate::error::ExitCode;
use crate::runner::discover::{Discovered, FileKind};
use crate::runner::durations::Durations;
use crate::runner::event::{Arrived, BenchGroup, BenchHarness, Event, TestResult};
use crate::runner::filter::{Part, class_of};
use crate::runner::options::{BenchOptions, RunOptions};
use crate::runner::plan::{FileTask, Plan};
use crate::runner::python;
use crate::runner::schedule::{self, EventQueue, Shared};
use crate::runner::split;
use crate::runner::supervise::{self, FileHints, Pool, Worker};
use crate::runner::timeout::{self, Overrun, Running};
use crate::runner::worker::WorkerConfig;

/// How often the collector drains events (progress refresh rate). What is left when the run
/// ends is handled after the last test, before the report: at 50 ms that was up to half of
/// a short run's results (2-3 ms of a 10,000-test run's end).
const DRAIN_EVERY: Duration = Duration::from_millis(10);

/// After the first Ctrl-C, how long running tests get to finish before the report is written.
const INTERRUPT_GRACE: Duration = Duration::from_secs(2);

/// Why a run stopped before running every selected test (an interrupt aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// `-x`: a test failed or errored.
    FailFast,
    /// `-n 0`: a test ran past its timeout, and nothing can stop a sync test in-process.
    InProcessTimeout,
}

impl std::fmt::Display for StopReason {
    /// The words reports put after "stopped".
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StopReason::FailFast => "after the first failure (-x)",
            StopReason::InProcessTimeout => {
                "at a test that ran past its timeout, which in-process mode (-n 0) cannot stop"
            }
        })
    }
}

/// What a run produced, for the reports.
#[derive(Debug)]
pub struct Outcome {
    pub python_version: String,
    /// In the order they finished.
    pub results: Vec<TestResult>,
    pub groups: Vec<BenchGroup>,
    pub harness: Option<BenchHarness>,
    pub interrupted: bool,
    /// Why the run stopped early, if it did (never set with `interrupted`).
    pub stopped: Option<StopReason>,
    pub duration_ms: f64,
    /// `@test(retries=N)` of the tests that set it, by id.
    pub own_retries: HashMap<String, u32>,
    /// Last run's history being updated (`.dbtest/durations.json`) and the workers' spool
    /// folder being removed, off the report's path.
    pub background: Background,
}

/// Sees the events of a run as the collector drains them (a few times a second).
pub trait Observer {
    fn on_event(&mut self, event: &Event);
    /// The last event has been seen; messages about the end of the run follow.
    fn on_end(&mut self);
}

/// The executing side, started before discovery so that its start-up overlaps it.
pub struct Session {
    options: RunOptions,
    runtime: tokio::runtime::Runtime,
    interrupts: Interrupts,
    /// None for -n 0.
    pool: Option<Arc<Pool>>,
    /// Workers started early, while discovery ran.
    workers: Vec<Worker>,
    /// -n 0: this process's interpreter, starting (tens of ms, mostly `site`).
    interpreter: Option<JoinHandle<anyhow::Result<String>>>,
    /// Removed when the run ends.
    _spool: SpoolDir,
}

impl Session {
    /// Start the scheduler, listen for interrupts, and start the first interpreter: the
    /// first worker, or with -n 0 this process's own.
    pub fn start(options: RunOptions) -> anyhow::Result<Session> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .max_blocking_threads(options.jobs.max(1))
            // Deep recursion in a test must hit Python's RecursionError, not a thread's stack end.
            .thread_stack_size(16 * 1024 * 1024)
            .enable_all()
            .build()
            .context("starting the scheduler")?;
        let interrupts = Interrupts::install(&runtime)?;
        let spool = SpoolDir::new()?;
        let pool = pool(&options, &spool);
        let (root, venv) = (options.root.clone(), options.venv.clone());
        if pool.is_none() {
            crate::runner::worker::claim_process();
            python::set_collection(&options.filter.spec.collection);
        }
        let interpreter = pool
            .is_none()
            .then(|| std::thread::spawn(move || python::start_in_process(&root, venv.as_ref())));
        let workers = match &pool {
            Some(pool) => {
                let _in_runtime = runtime.enter();
                // All of them now: the first forks the others once its interpreter is up.
                supervise::spawn_workers(&pool.config, pool.workers)?
            }
            None => Vec::new(),
        };
        Ok(Session {
            options,
            runtime,
            interrupts,
            pool,
            workers,
            interpreter,
            _spool: spool,
        })
    }

    /// Workers (or -n 0's interpreter) start while the files are scanned, unless (`early`
    /// false) the plan can still change what they are told: `--lf` may fall back to every
    /// test, `--ff` orders by it. Then `discovered_if` and `or_start`.
    pub fn start_if(early: bool, options: &RunOptions) -> anyhow::Result<Option<Session>> {
        early.then(|| Session::start(options.clone())).transpose()
    }

    pub fn discovered_if(
        session: &mut Option<Session>,
        files: &[Discovered],
    ) -> anyhow::Result<()> {
        session.as_mut().map_or(Ok(()), |s| s.discovered(files))
    }

    /// The session started early, or one started now with the final `options`.
    pub fn or_start(
        early: Option<Session>,
        options: RunOptions,
        files: &[Discovered],
    ) -> anyhow::Result<Session> {
        if let Some(session) = early {
            return Ok(session);
        }
        let mut session = Session::start(options)?;
        session.discovered(files)?;
        Ok(session)
    }

    /// Without filters every test file found will run: start the other workers now, while
    /// the files are scanned, never more than there are files.
    pub fn discovered(&mut self, files: &[Discovered]) -> anyhow::Result<()> {
        let Some(pool) = &self.pool else {
            return Ok(());
        };
        let test_files = files.iter().filter(|f| f.kind == FileKind::Test).count();
        let wanted = if self.options.filter.is_active() {
            1
        } else {
            pool.workers.min(test_files)
        };
        let _in_runtime = self.runtime.enter();
        while self.workers.len() < wanted {
            self.workers.push(supervise::spawn_worker(&pool.config)?);
        }
        Ok(())
    }

    /// Run `plan`: tests, then benchmarks (with `baseline_tree`, each benchmark file's
    /// version there is timed beside it).
    pub fn run(
        self,
        plan: Plan,
        baseline_tree: Option<PathBuf>,
        observer: &mut dyn Observer,
    ) -> anyhow::Result<Outcome> {
        let python_version = match self.interpreter {
            Some(started) => started
                .join()
                .map_err(|_| anyhow::anyhow!("the interpreter start-up thread panicked"))??,
            None => python::embedded_version(),
        };
        let started = Instant::now();
        let history = Durations::load(&self.options.root);
        let parts = match &self.pool {
            Some(pool) => split::parts(&plan.test_files, pool.workers, &history),
            None => HashMap::new(),
        };
        let expected: usize = plan.test_files.iter().map(|f| f.tests.len()).sum();
        let (mut tests, benches) = plan.into_tasks();
        history.order(&mut tests);
        if !self.options.first.is_empty() {
            // --ff: the files of last run's failures first, each group still longest first.
            tests.sort_by_key(|t| !self.options.first.contains(&t.rel));
        }
        let mut hints = Hints::from_history(&history, &tests);
        hints.parts = parts;
        let shared = Arc::new(Shared {
            filter: self.options.filter.clone(),
            stop: Default::default(),
            fail_fast: self.options.fail_fast,
            events: EventQueue::default(),
            fatal: Default::default(),
        });
        let work = Work {
            tests,
            benches,
            baseline_tree,
            hints: hints.clone(),
            workers: self.workers,
        };
        let mode = match self.pool {
            Some(pool) => Mode::Workers(pool),
            None => Mode::InProcess {
                jobs: self.options.jobs,
                bench: self.options.bench,
            },
        };
        let c = self.runtime.block_on(collect(
            mode,
            work,
            shared.clone(),
            expected,
            self.interrupts,
            self.options.timeout,
            observer,
        ));
        // No worker outlives the run, whichever way it ended.
        supervise::kill_all();
        // In report order, while the workers that finished exit.
        let results = c.results.into_sorted();
        self.runtime.block_on(supervise::exited());
        // Tests still blocked after an interrupt, or threads they left, must not hold up the exit.
        self.runtime.shutdown_background();
        let fatal = shared
            .fatal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(message) = fatal {
            return Err(crate::error::UserError::PythonCannotStart(message).into());
        }
        let stopped = stop_reason(c.interrupted, c.overrun.is_some(), &shared);
        // A retry pass runs a few tests of some files: its figures are not the files'.
        let record = !c.interrupted && self.options.record_history;
        let sums = record.then(|| c.sums.finish());
        let history = sums.and_then(|sums| hints.record(history, &self.options.root, sums, c.cpu));
        Ok(Outcome {
            python_version,
            results,
            groups: c.groups,
            harness: c.harness,
            interrupted: c.interrupted,
            stopped,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            own_retries: c.own_retries,
            background: Background(
                history
                    .into_iter()
                    .chain(remove_in_background(self._spool))
                    .collect(),
            ),
        })
    }
}

/// Why the run stopped before running every selected test, an interrupt aside.
fn stop_reason(interrupted: bool, overrun: bool, shared: &Shared) -> Option<StopReason> {
    match (interrupted, overrun) {
        (true, _) => None,
        (false, true) => Some(StopReason::InProcessTimeout),
        (false, false) => shared
            .stop
            .load(Ordering::SeqCst)
            .then_some(StopReason::FailFast),
    }
}

/// Work done beside the reports (the history file, the spool folder's removal); dropping
/// this waits for it, so that it is done before dbtest ends.
#[derive(Debug, Default)]
pub struct Background(Vec<std::thread::JoinHandle<()>>);

impl Drop for Background {
    fn drop(&mut self) {
        for h in self.0.drain(..) {
            let _ = h.join();
        }
    }
}

/// Remove the spool folder (a few dozen files) on a thread of its own. Without a thread to
/// spare, the folder goes with the closure, here and now.
fn remove_in_background(spool: SpoolDir) -> Option<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("dbtest-spool".into())
        .spawn(move || drop(spool))
        .ok()
}

/// The worker pool's shape, or None for -n 0.
fn pool(options: &RunOptions, spool: &SpoolDir) -> Option<Arc<Pool>> {
    (options.workers > 0).then(|| {
        // -j bounds the files running at once over all workers, so never more workers than that.
        let workers = options.workers.min(options.jobs);
        let per_worker = options.jobs.div_ceil(workers).max(1);
        Arc::new(Pool {
            workers,
            per_worker,
            default_timeout: options.timeout,
            config: WorkerConfig {
                root: options.root.clone(),
                venv: options.venv.clone(),
                filter: options.filter.spec.clone(),
                bench: options.bench,
                fail_fast: options.fail_fast,
                threads: per_worker,
                spool_dir: spool.0.clone(),
                siblings: Vec::new(),
            },
        })
    })
}

/// What last run's durations say about this run's test files, by file index.
#[derive(Debug, Clone, Default)]
struct Hints {
    /// Short last time: may wait in a busy worker.
    short: HashSet<usize>,
    /// Last time's milliseconds of each file's tests, where known.
    est: HashMap<usize, f64>,
    /// Computed for most of their time last time: one per worker.
    heavy: HashSet<usize>,
    /// Each file's path, to record this run's figures under.
    rel_of: HashMap<usize, String>,
    /// Files spread over workers by class (see `split`).
    parts: HashMap<usize, Vec<Part>>,
}

impl Hints {
    fn from_history(history: &Durations, tests: &[FileTask]) -> Hints {
        let of = |keep: &dyn Fn(&str) -> bool| {
            tests
                .iter()
                .filter(|t| keep(&t.rel))
                .map(|t| t.index)
                .collect()
        };
        Hints {
            short: of(&|rel| history.is_short(rel)),
            est: tests
                .iter()
                .filter_map(|t| history.files.get(&t.rel).map(|ms| (t.index, *ms)))
                .collect(),
            heavy: of(&|rel| history.is_heavy(rel)),
            rel_of: tests.iter().map(|t| (t.index, t.rel.clone())).collect(),
            parts: HashMap::new(),
        }
    }

    /// Save this run's wall time per file, and the CPU time workers measured, for the next,
    /// on a thread of its own (`sums` gathers the figures).
    fn record(
        self,
        history: Durations,
        root: &std::path::Path,
        sums: Sums,
        cpu: HashMap<usize, f64>,
    ) -> Option<std::thread::JoinHandle<()>> {
        let cpu: Vec<(String, f64)> = cpu
            .into_iter()
            .filter_map(|(index, ms)| self.rel_of.get(&index).map(|rel| (rel.clone(), ms)))
            .collect();
        let root = root.to_path_buf();
        // Best effort, as the file itself: without a thread to spare, the hint is lost.
        std::thread::Builder::new()
            .name("dbtest-history".into())
            .spawn(move || history.update(&root, sums.files, cpu, sums.classes))
            .ok()
    }
}

/// This run's figures for the history: each file's summed test durations, and its top-level
/// classes' (unittest and pytest-style) in report order.
#[derive(Debug, Default, PartialEq)]
struct Sums {
    files: Vec<(String, f64)>,
    classes: Vec<(String, Vec<(String, f64)>)>,
}

/// One file's figures while they are summed: its tests' milliseconds, and per class (in
/// the order met) the class's milliseconds and its first test's place.
#[derive(Debug, Default)]
struct FileSum {
    ms: f64,
    classes: Vec<(String, f64, usize)>,
}

/// `Sums` gathered one result at a time, as results arrive (each is fresh in the cache
/// then; a pass over 10,000 results after the run reads them all from memory again).
#[derive(Debug, Default)]
struct Summing {
    files: HashMap<String, FileSum>,
    /// The file of the last result, out of the map: a file's results mostly come one
    /// after another, and are summed without a look-up.
    last: Option<(String, FileSum)>,
}

impl Summing {
    fn add(&mut self, r: &TestResult) {
        let file = r.file.as_str();
        if self.last.as_ref().is_none_or(|(f, _)| f != file) {
            if let Some((f, sum)) = self.last.take() {
                self.files.insert(f, sum);
            }
            let entry = self
                .files
                .remove_entry(file)
                .unwrap_or_else(|| (file.to_string(), FileSum::default()));
            self.last = Some(entry);
        }
        let Some((_, sum)) = self.last.as_mut() else {
            return;
        };
        sum.ms += r.duration_ms;
        if !python::is_compat_place(r.order.1) {
            return;
        }
        let Some(class) = class_of(file, &r.id) else {
            return;
        };
        match sum.classes.iter_mut().rev().find(|(c, ..)| c == class) {
            Some((_, ms, first)) => {
                *ms += r.duration_ms;
                *first = (*first).min(r.order.1);
            }
            None => sum
                .classes
                .push((class.to_string(), r.duration_ms, r.order.1)),
        }
    }

    fn finish(mut self) -> Sums {
        if let Some((f, sum)) = self.last.take() {
            self.files.insert(f, sum);
        }
        let mut sums = Sums::default();
        for (file, FileSum { ms, mut classes }) in self.files {
            if !classes.is_empty() {
                classes.sort_by_key(|(.., first)| *first);
                let list = classes.into_iter().map(|(c, ms, _)| (c, ms)).collect();
                sums.classes.push((file.clone(), list));
            }
            sums.files.push((file, ms));
        }
        sums
    }
}

/// Where the files run.
enum Mode {
    InProcess { jobs: usize, bench: BenchOptions },
    Workers(Arc<Pool>),
}

/// The files to run, and what the chosen mode needs besides.
struct Work {
    tests: Vec<FileTask>,
    benches: Vec<FileTask>,
    baseline_tree: Option<PathBuf>,
    hints: Hints,
    workers: Vec<Worker>,
}

/// Run tests, then benchmarks, in `mode`; returns when all are done or the run stops.
async fn dispatch(mode: Mode, work: Work, shared: Arc<Shared>) {
    let Work {
        tests,
        benches,
        baseline_tree,
        hints,
        workers,
    } = work;
    match mode {
        Mode::InProcess { jobs, bench } => {
            let last = tests.iter().max_by_key(|t| t.index).cloned();
            schedule::run_files(tests, jobs, shared.clone()).await;
            if let Some(last) = last {
                finish_fixtures(last, shared.clone()).await;
            }
            if !shared.stop.load(Ordering::SeqCst) {
                schedule::run_benchmarks(benches, bench, baseline_tree, shared).await;
            }
        }
        Mode::Workers(pool) => {
            let hints = FileHints {
                short: hints.short,
                est: hints.est,
                heavy: hints.heavy,
                parts: hints.parts,
            };
            supervise::run_tests(tests, pool.clone(), shared.clone(), workers, hints).await;
            supervise::run_benchmarks(benches, baseline_tree, pool, shared).await;
        }
    }
}

/// In-process mode: tear down the session fixtures (pytest's) once every file has run.
async fn finish_fixtures(last: FileTask, shared: Arc<Shared>) {
    let _ = tokio::task::spawn_blocking(move || {
        let emit = |e: Event| shared.events.push(e);
        let cx = python::RunContext {
            filter: &shared.filter,
            stop: &shared.stop,
            fail_fast: shared.fail_fast,
            emit: &emit,
            skip: &Default::default(),
        };
        python::finish_worker(&last, &cx);
    })
    .await;
}

/// What the collector gathered from the executing side.
#[derive(Default)]
struct Collected {
    results: Arrived,
    /// The history's figures, summed as results arrive.
    sums: Summing,
    /// Started and not (yet) finished, by id.
    running: Running,
    /// In-process mode: the test that ran past its timeout, which no one can stop.
    overrun: Option<Overrun>,
    /// CPU milliseconds per file index, from workers.
    cpu: HashMap<usize, f64>,
    harness: Option<BenchHarness>,
    groups: Vec<BenchGroup>,
    interrupted: bool,
    /// `@test(retries=N)`, from the tests' start events (only tests that set it).
    own_retries: HashMap<String, u32>,
    /// The buffer events are drained into (see `EventQueue::drain_into`).
    batch: Vec<Event>,
}

impl Collected {
    fn drain(&mut self, events: &EventQueue, observer: &mut dyn Observer) {
        let mut batch = std::mem::take(&mut self.batch);
        events.drain_into(&mut batch);
        for e in batch.drain(..) {
            observer.on_event(&e);
            match e {
                Event::TestStarted(t) => {
                    if let Some(n) = t.retries {
                        self.own_retries.insert(t.id.clone(), n);
                    }
                    self.running.insert(t.order, (t, Instant::now()));
                }
                Event::TestFinished(r) | Event::FileError(r) => {
                    self.running.remove(&r.order);
                    self.keep(r);
                }
                Event::BenchHarness(h) => self.harness = Some(h),
                Event::BenchGroupFinished(g) => self.groups.push(g),
                Event::FileDone { index, cpu_ms } => {
                    // A file split over workers finishes once per part.
                    *self.cpu.entry(index).or_default() += cpu_ms;
                }
                Event::FileStarted { .. } | Event::HookStarted { .. } => {}
            }
        }
        self.batch = batch;
    }

    fn keep(&mut self, r: TestResult) {
        self.sums.add(&r);
        self.results.push(r);
    }

    /// Tests still running when the run stopped are reported, not silently dropped.
    fn settle(&mut self) {
        let running = std::mem::take(&mut self.running);
        if self.interrupted {
            for (t, _) in running.into_values() {
                self.keep(t.interrupted());
            }
        } else if let Some(overrun) = self.overrun {
            for r in timeout::overrun_results(overrun, running) {
                self.keep(r);
            }
        }
    }
}

/// Run the work and collect its events until it ends, an in-process test overruns its
/// timeout, or an interrupt arrives (then running tests get a grace period).
async fn collect(
    mode: Mode,
    work: Work,
    shared: Arc<Shared>,
    expected: usize,
    mut interrupts: Interrupts,
    default_timeout: Option<f64>,
    observer: &mut dyn Observer,
) -> Collected {
    let in_process = matches!(mode, Mode::InProcess { .. });
    let mut runner = tokio::spawn(dispatch(mode, work, shared.clone()));
    let mut c = Collected::default();
    // Room for the tests the scan found: 10,000 results are not regrown (and copied) a dozen
    // times. Files known only on import may add more.
    c.results.reserve(expected);
    let mut tick = tokio::time::interval(DRAIN_EVERY);
    loop {
        tokio::select! {
            _ = &mut runner => break,
            _ = tick.tick() => {
                c.drain(&shared.events, observer);
                if in_process {
                    c.overrun = timeout::overran(&c.running, default_timeout);
                    if c.overrun.is_some() {
                        shared.stop.store(true, Ordering::SeqCst);
                        break;
                    }
                }
            }
            _ = interrupts.recv() => {
                c.interrupted = true;
                shared.stop.store(true, Ordering::SeqCst);
                eprintln!(
                    "\ndbtest: interrupted; finishing running tests (up to {} s), Ctrl-C again to quit now",
                    INTERRUPT_GRACE.as_secs()
                );
                break;
            }
        }
    }
    if c.interrupted {
        tokio::select! {
            _ = &mut runner => {},
            _ = tokio::time::sleep(INTERRUPT_GRACE) => {},
            _ = interrupts.recv() => {
                supervise::kill_all();
                std::process::exit(ExitCode::Interrupted as i32)
            }
        }
    }
    c.drain(&shared.events, observer);
    observer.on_end();
    c.settle();
    c
}

/// Ctrl-C and SIGTERM, listened to from before the first test can start: a signal that
/// arrived before the handlers were installed would kill dbtest without a report.
struct Interrupts {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Interrupts {
    /// Installs the handlers at once (inside the runtime).
    fn install(runtime: &tokio::runtime::Runtime) -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let _in_runtime = runtime.enter();
        Ok(Interrupts {
            int: signal(SignalKind::interrupt()).context("listening for Ctrl-C")?,
            term: signal(SignalKind::terminate()).context("listening for SIGTERM")?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {},
            _ = self.term.recv() => {},
        }
    }
}

/// A private folder for workers' output spools, removed when the run ends.
struct SpoolDir(PathBuf);

impl SpoolDir {
    fn new() -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("dbtest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(SpoolDir(dir))
    }
}

impl Drop for SpoolDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_reasons_read_as_before_and_serialise_as_tags() {
        assert_eq!(
            StopReason::FailFast.to_string(),
            "after the first failure (-x)"
        );
        assert_eq!(
            serde_json::to_value(StopReason::InProcessTimeout).unwrap(),
            "in_process_timeout"
        );
        assert_eq!(
            serde_json::to_value(StopReason::FailFast).unwrap(),
            "fail_fast"
        );
    }

    #[test]
    fn history_sums_gathered_as_results_come_do_not_depend_on_their_order() {
        // Places of unittest/pytest-style tests (after a file's dbtest tests).
        const COMPAT: usize = 1 << 22;
        assert!(python::is_compat_place(COMPAT));
        let r = |id: &str, place: usize, ms: f64| {
            let mut r = crate::runner::event::TestStart::file(id, 0).interrupted();
            r.file = id.split("::").next().unwrap().into();
            r.order = (usize::from(r.file == "b.py"), place);
            r.duration_ms = ms;
            r
        };
        let in_order = vec![
            r("a.py::test_free", 3, 1.0),
            r("a.py::Zed::test_1", COMPAT, 2.0),
            r("a.py::Alpha::test_1[x]", COMPAT + 4, 4.0),
            r("a.py::Zed::test_2", COMPAT + 8, 8.0),
            r("a.py::test_module_level", COMPAT + 12, 16.0),
            r("b.py::Only::test", COMPAT, 32.0),
        ];
        let expected = Sums {
            files: vec![("a.py".into(), 31.0), ("b.py".into(), 32.0)],
            classes: vec![
                (
                    "a.py".into(),
                    vec![("Zed".into(), 10.0), ("Alpha".into(), 4.0)],
                ),
                ("b.py".into(), vec![("Only".into(), 32.0)]),
            ],
        };
        let sorted = |mut s: Sums| {
            s.files.sort_by(|a, b| a.0.cmp(&b.0));
            s.classes.sort_by(|a, b| a.0.cmp(&b.0));
            s
        };
        let of = |results: &[TestResult]| {
            let mut s = Summing::default();
            for r in results {
                s.add(r);
            }
            sorted(s.finish())
        };
        assert_eq!(of(&in_order), expected);
        // As two workers' results interleave: each file's tests out of order, files mixed.
        let shuffled: Vec<TestResult> = [2, 5, 3, 4, 0, 1]
            .iter()
            .map(|&i| in_order[i].clone())
            .collect();
        assert_eq!(of(&shuffled), expected);
    }

    #[test]
    fn hints_come_from_last_runs_durations() {
        let history = Durations {
            version: 1,
            files: HashMap::from([("a.py".into(), 10.0), ("b.py".into(), 500.0)]),
            cpu: HashMap::from([("b.py".into(), 400.0)]),
            classes: HashMap::new(),
        };
        let task = |index, rel: &str| FileTask {
            index,
            exclusive: false,
            loop_hint: None,
            path: rel.into(),
            rel: rel.into(),
        };
        let hints = Hints::from_history(&history, &[task(0, "a.py"), task(1, "b.py")]);
        assert_eq!(hints.short, HashSet::from([0]));
        assert_eq!(hints.heavy, HashSet::from([1]));
        assert_eq!(hints.rel_of[&1], "b.py");
    }
}
