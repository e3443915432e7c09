//! One run, start to finish: resolve settings, discover, plan, run, report. The runner and
//! the reporters meet only here, through events and the finished report.
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::bench::BenchRun;
use crate::bench::analyze::analyze;
use crate::bench::baseline::{self, Environment};
use crate::cli::Cli;
use crate::error::ExitCode;
use crate::report::{Outputs, RunReport};
use crate::runner::discover::{FileKind, discover};
use crate::runner::durations::Durations;
use crate::runner::event::{BenchGroup, BenchHarness, ErrorKind, Event, TestResult, TestStart};
use crate::runner::plan::{Plan, plan};
use crate::runner::python::{self, FileTask};
use crate::runner::schedule::{EventQueue, Shared, run_benchmarks, run_files};
use crate::runner::stdio;
use crate::runner::supervise::{self, Pool};
use crate::runner::worker::WorkerConfig;
use crate::settings::Settings;

/// How often the collector drains events (progress refresh rate).
const DRAIN_EVERY: Duration = Duration::from_millis(50);

/// After the first Ctrl-C, how long running tests get to finish before the report is written.
const INTERRUPT_GRACE: Duration = Duration::from_secs(2);

pub fn version_text() -> String {
    format!(
        "dbtest {} (Python {})",
        env!("CARGO_PKG_VERSION"),
        python::embedded_version()
    )
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if cli.options.version {
        println!("{}", version_text());
        return Ok(ExitCode::Ok);
    }
    let settings = Settings::resolve(cli)?;
    if settings.list {
        let files = discover(&settings.paths, &settings.cwd, &settings.root)?;
        return Ok(crate::report::list::list(
            &plan(files, &settings.filter),
            &settings.filter,
        ));
    }
    let mut report_out = stdio::isolate().context("redirecting standard streams")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(settings.jobs.max(1))
        // Deep recursion in a test must hit Python's RecursionError, not a thread's stack end.
        .thread_stack_size(16 * 1024 * 1024)
        .enable_all()
        .build()
        .context("starting the scheduler")?;
    let interrupts = Interrupts::install(&runtime)?;
    let spool = SpoolDir::new()?;
    let pool = pool(&settings, &spool);
    // Start the first interpreter (tens of ms, mostly `site`) while discovery reads the files:
    // the first worker, or with -n 0 this process's own.
    let (root, venv) = (settings.root.clone(), settings.venv.clone());
    let interpreter = pool
        .is_none()
        .then(|| std::thread::spawn(move || python::start(&root, venv.as_ref())));
    let mut workers = Vec::new();
    if let Some(pool) = &pool {
        let _in_runtime = runtime.enter();
        workers.push(supervise::spawn_worker(&pool.config)?);
    }
    let files = discover(&settings.paths, &settings.cwd, &settings.root)?;
    if let Some(pool) = &pool {
        // Without filters every test file found will run: start the other workers now,
        // while the files are scanned, never more than there are files.
        let test_files = files.iter().filter(|f| f.kind == FileKind::Test).count();
        let wanted = if settings.filter_active() {
            1
        } else {
            pool.workers.min(test_files)
        };
        let _in_runtime = runtime.enter();
        while workers.len() < wanted {
            workers.push(supervise::spawn_worker(&pool.config)?);
        }
    }
    let plan = plan(files, &settings.filter);
    if plan.test_files.is_empty() && plan.bench_files.is_empty() {
        let searched: Vec<String> = settings
            .paths
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        eprintln!(
            "dbtest: no tests collected in {} (test files are test_*.py and *_test.py, benchmarks bench_*.py{})",
            searched.join(", "),
            if settings.filter_active() {
                ", after filters"
            } else {
                ""
            }
        );
        // Machines still get a valid (empty) report.
        let report = RunReport::new(python::embedded_version(), Vec::new(), 0.0);
        Outputs::from(&settings).write(&report, &mut report_out)?;
        return Ok(ExitCode::NoTests);
    }
    if !plan.bench_files.is_empty() && settings.jobs_given && settings.jobs > 1 {
        eprintln!(
            "dbtest: note: benchmarks run one at a time whatever --jobs says; run side by side they would share \
             cores, caches and the GIL and distort each other's timings (--jobs applies to tests)"
        );
    }
    // Fail on a missing baseline before spending minutes on benchmarks.
    let saved = match (&settings.bench.baseline, plan.bench_files.is_empty()) {
        (Some(name), false) => {
            let saved = baseline::load(&settings.root, name)?;
            let code = if settings.bench.saved_samples {
                Err(baseline::CodeTreeError::SavedSamplesAsked)
            } else {
                saved.code_tree(&settings.root)
            };
            Some(Compared { saved, code })
        }
        _ => None,
    };
    let python_version = match interpreter {
        Some(started) => started
            .join()
            .map_err(|_| anyhow::anyhow!("the interpreter start-up thread panicked"))??,
        None => python::embedded_version(),
    };
    let run = Run {
        settings: &settings,
        plan,
        python_version,
        saved,
        runtime,
        interrupts,
        pool,
        workers,
        _spool: spool,
    };
    execute(run, report_out)
}

/// The worker pool's shape, or None for -n 0.
fn pool(settings: &Settings, spool: &SpoolDir) -> Option<Arc<Pool>> {
    (settings.workers > 0).then(|| {
        // -j bounds the files running at once over all workers, so never more workers than that.
        let workers = settings.workers.min(settings.jobs);
        let per_worker = settings.jobs.div_ceil(workers).max(1);
        Arc::new(Pool {
            workers,
            per_worker,
            default_timeout: settings.timeout,
            config: WorkerConfig {
                root: settings.root.clone(),
                venv: settings.venv.clone(),
                filter: settings.filter.spec.clone(),
                bench: settings.bench.options,
                fail_fast: settings.fail_fast,
                threads: per_worker,
                spool_dir: spool.0.clone(),
            },
        })
    })
}

/// A `--baseline` and, when its commit could be extracted, its code (else why not).
struct Compared {
    saved: baseline::Baseline,
    code: Result<baseline::CodeTree, baseline::CodeTreeError>,
}

/// Everything resolved before the run starts.
struct Run<'a> {
    settings: &'a Settings,
    plan: Plan,
    python_version: String,
    saved: Option<Compared>,
    runtime: tokio::runtime::Runtime,
    interrupts: Interrupts,
    pool: Option<Arc<Pool>>,
    /// Started while discovery ran.
    workers: Vec<supervise::Worker>,
    /// Removed when the run ends.
    _spool: SpoolDir,
}

/// A private folder for workers' output spools, removed when the run ends.
struct SpoolDir(std::path::PathBuf);

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

/// How long past its timeout an in-process test may run before the run gives up on it: async
/// tests are cancelled by the engine itself at the timeout, and report it, well within this.
const OVERRUN_GRACE: f64 = 1.0;

/// In-process mode: a running test past its timeout (its own, else `--timeout`) plus the
/// grace, with that limit. Nothing can stop a sync test's thread, so the run ends instead of
/// hanging.
fn overran(
    running: &HashMap<(usize, usize), (TestStart, Instant)>,
    default_timeout: Option<f64>,
) -> Option<((usize, usize), f64)> {
    running.iter().find_map(|(key, (t, since))| {
        let limit = t.timeout.or(default_timeout)?;
        (since.elapsed().as_secs_f64() > limit + OVERRUN_GRACE).then_some((*key, limit))
    })
}

/// What the collector gathered from the executing side.
#[derive(Default)]
struct Collected {
    results: Vec<TestResult>,
    /// Started and not (yet) finished, by id.
    running: HashMap<(usize, usize), (TestStart, Instant)>,
    /// In-process mode: the test that ran past its timeout, which no one can stop.
    overran: Option<((usize, usize), f64)>,
    /// CPU milliseconds per file index, from workers.
    cpu: HashMap<usize, f64>,
    harness: Option<BenchHarness>,
    groups: Vec<BenchGroup>,
    interrupted: bool,
}

fn execute(run: Run<'_>, mut report_out: std::fs::File) -> anyhow::Result<ExitCode> {
    let Run {
        settings,
        plan,
        python_version,
        saved,
        runtime,
        interrupts,
        pool,
        workers,
        _spool,
    } = run;
    let started = Instant::now();
    let expected = plan.expected_tests() as u64;
    let n_tests = plan.test_files.len();
    let tasks: Vec<FileTask> = plan
        .test_files
        .into_iter()
        .map(|f| f.file)
        .chain(plan.bench_files)
        .enumerate()
        .map(|(index, f)| FileTask {
            index,
            path: f.path,
            rel: f.rel,
        })
        .collect();
    let (test_tasks, bench_tasks) = {
        let mut t = tasks;
        let b = t.split_off(n_tests);
        (t, b)
    };
    let history = Durations::load(&settings.root);
    let mut test_tasks = test_tasks;
    history.order(&mut test_tasks);
    let short: HashSet<usize> = test_tasks
        .iter()
        .filter(|t| history.is_short(&t.rel))
        .map(|t| t.index)
        .collect();
    let heavy: HashSet<usize> = test_tasks
        .iter()
        .filter(|t| history.is_heavy(&t.rel))
        .map(|t| t.index)
        .collect();
    let rel_of: HashMap<usize, String> = test_tasks
        .iter()
        .map(|t| (t.index, t.rel.clone()))
        .collect();
    let shared = Arc::new(Shared {
        filter: settings.filter.clone(),
        stop: Default::default(),
        fail_fast: settings.fail_fast,
        events: EventQueue::default(),
    });
    let outputs = Outputs::from(settings);
    let bench_options = settings.bench.options;
    let baseline_tree = saved
        .as_ref()
        .and_then(|c| c.code.as_ref().ok())
        .map(|t| t.root().to_path_buf());
    let jobs = settings.jobs;
    let in_process = pool.is_none();
    let collected = runtime.block_on(async {
        let runner_shared = shared.clone();
        let pool = pool.clone();
        let mut runner = tokio::spawn(async move {
            match pool {
                None => {
                    run_files(test_tasks, jobs, runner_shared.clone()).await;
                    if !runner_shared.stop.load(Ordering::SeqCst) {
                        run_benchmarks(bench_tasks, bench_options, baseline_tree, runner_shared)
                            .await;
                    }
                }
                Some(pool) => {
                    supervise::run_tests(test_tasks, pool.clone(), runner_shared.clone(), workers, short, heavy).await;
                    supervise::run_benchmarks(bench_tasks, baseline_tree, pool, runner_shared)
                        .await;
                }
            }
        });
        let mut progress = outputs.progress_bar(expected);
        let mut c = Collected::default();
        let mut drain = |c: &mut Collected| {
            for e in shared.events.drain() {
                progress.on_event(&e);
                match e {
                    Event::TestStarted(t) => {
                        c.running.insert(t.order, (t, Instant::now()));
                    }
                    Event::TestFinished(r) | Event::FileError(r) => {
                        c.running.remove(&r.order);
                        c.results.push(r);
                    }
                    Event::BenchHarness(h) => c.harness = Some(h),
                    Event::BenchGroupFinished(g) => c.groups.push(g),
                    Event::FileDone { index, cpu_ms } => {
                        c.cpu.insert(index, cpu_ms);
                    }
                    Event::FileStarted { .. } => {}
                }
            }
        };
        let mut tick = tokio::time::interval(DRAIN_EVERY);
        let mut interrupts = interrupts;
        loop {
            tokio::select! {
                _ = &mut runner => break,
                _ = tick.tick() => {
                    drain(&mut c);
                    if in_process {
                        c.overran = overran(&c.running, settings.timeout);
                        if c.overran.is_some() {
                            shared.stop.store(true, Ordering::SeqCst);
                            break;
                        }
                    }
                }
                _ = interrupts.recv() => {
                    c.interrupted = true;
                    shared.stop.store(true, Ordering::SeqCst);
                    eprintln!("\ndbtest: interrupted; finishing running tests (up to {} s), Ctrl-C again to quit now", INTERRUPT_GRACE.as_secs());
                    break;
                }
            }
        }
        if c.interrupted {
            let deadline = tokio::time::sleep(INTERRUPT_GRACE);
            tokio::pin!(deadline);

            tokio::select! {
                _ = &mut runner => {},
                _ = &mut deadline => {},
                _ = interrupts.recv() => std::process::exit(ExitCode::Interrupted as i32),
            }
        }
        drain(&mut c);
        progress.finish();
        if c.interrupted {
            // Tests still running are reported, not silently dropped.
            let running = std::mem::take(&mut c.running);
            c.results.extend(running.into_values().map(|(t, _)| t.interrupted()));
        }
        if let Some((key, limit)) = c.overran {
            let running = std::mem::take(&mut c.running);
            for (order, (t, since)) in running {
                let id = t.id.clone();
                let mut r = if order == key {
                    eprintln!(
                        "dbtest: {id} ran past its {limit} s timeout; in-process mode (-n 0) cannot stop a running \
                         sync test, so the run stops here (without -n 0 its worker process is stopped and the run goes on)"
                    );
                    t.unfinished(
                        ErrorKind::Timeout,
                        format!("timed out after {limit} s; in-process mode (-n 0) cannot stop it, so the run stopped"),
                    )
                } else {
                    t.unfinished(
                        ErrorKind::Interrupted,
                        "not finished: the run stopped at a test that ran past its timeout (-n 0)".into(),
                    )
                };
                r.duration_ms = since.elapsed().as_secs_f64() * 1000.0;
                c.results.push(r);
            }
        }
        c
    });
    // Tests still blocked after an interrupt, or threads they left, must not hold up the exit.
    runtime.shutdown_background();
    let interrupted = collected.interrupted;
    let stopped_by_overrun = collected.overran.is_some();
    let collected_cpu = collected.cpu;
    let mut report = RunReport::new(
        python_version.clone(),
        collected.results,
        started.elapsed().as_secs_f64() * 1000.0,
    );
    report.interrupted = interrupted;
    report.stopped_early = !interrupted && shared.stop.load(Ordering::SeqCst);
    if stopped_by_overrun {
        report.stop_reason = crate::report::STOPPED_BY_OVERRUN;
    }
    if !interrupted {
        let mut per_file: HashMap<String, f64> = HashMap::new();
        for r in &report.results {
            *per_file.entry(r.file.clone()).or_default() += r.duration_ms;
        }
        let cpu = collected_cpu
            .into_iter()
            .filter_map(|(index, ms)| rel_of.get(&index).map(|rel| (rel.clone(), ms)));
        history.update(&settings.root, per_file, cpu);
    }
    if !collected.groups.is_empty() {
        report.benchmarks = Some(bench_run(
            settings,
            &python_version,
            collected.groups,
            collected.harness,
            saved,
        )?);
    }
    outputs.write(&report, &mut report_out)?;
    if let Some(b) = report
        .benchmarks
        .as_ref()
        .filter(|b| !b.regressions.is_empty())
    {
        eprintln!(
            "dbtest: benchmark regressions against baseline {:?}: {}",
            b.compared_to.as_deref().unwrap_or_default(),
            b.regression_list()
        );
    }
    let s = report.summary();
    Ok(if interrupted {
        ExitCode::Interrupted
    } else if report.failed() {
        ExitCode::TestsFailed
    } else if s.total == 0 && report.benchmarks.is_none() {
        ExitCode::NoTests
    } else {
        ExitCode::Ok
    })
}

/// Statistics, comparisons, the saved-baseline comparison and the save itself.
fn bench_run(
    settings: &Settings,
    python_version: &str,
    mut groups: Vec<BenchGroup>,
    harness: Option<BenchHarness>,
    saved: Option<Compared>,
) -> anyhow::Result<BenchRun> {
    groups.sort_by_key(|g| g.order);
    let b = &settings.bench;
    let environment = Environment::current(python_version);
    let mut reports = analyze(&groups, harness.as_ref(), b.noise);
    let mut warnings: Vec<String> = Vec::new();
    let mut regressions = Vec::new();
    let mut comparison = None;
    if let Some(Compared { saved, code }) = &saved {
        match code {
            Ok(tree) => {
                comparison = Some(format!(
                    "{:?}'s code (commit {}) timed again in this run, each sample beside the current code's",
                    saved.name,
                    tree.short_commit()
                ));
            }
            Err(why) => {
                comparison = Some(format!(
                    "the samples saved in {:?}, relative to an empty call timed in the same rounds",
                    saved.name
                ));
                warnings.push(format!(
                    "baseline {:?}'s code was not timed again ({why}): comparing with its saved samples, \
                     which a machine whose speed changes between runs can move by more than a few percent",
                    saved.name
                ));
                warnings.extend(baseline::environment_warnings(
                    &saved.environment,
                    &environment,
                ));
            }
        }
        regressions = baseline::compare_with(&mut reports, saved, b.noise, b.fail_on);
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
        compared_to: saved.map(|c| c.saved.name),
        comparison,
        saved_to,
        warnings,
        regressions,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn started(timeout: Option<f64>, ago: Duration) -> (TestStart, Instant) {
        let mut t = TestStart::file("test_x.py", 0);
        t.timeout = timeout;
        let since = Instant::now().checked_sub(ago).unwrap();
        (t, since)
    }

    #[test]
    fn a_test_overruns_its_own_timeout_else_the_default_plus_the_grace() {
        let two_s = Duration::from_secs(2);
        let mut running = HashMap::new();
        running.insert((0, 1), started(Some(0.5), two_s));
        assert_eq!(overran(&running, None), Some(((0, 1), 0.5)));
        // Still within the grace after its timeout: the engine may yet cancel an async one.
        running.insert((0, 1), started(Some(1.5), two_s));
        assert_eq!(overran(&running, None), None);
        // No timeout of its own: --timeout applies; none at all, it may run forever.
        running.insert((0, 1), started(None, two_s));
        assert_eq!(overran(&running, None), None);
        assert_eq!(overran(&running, Some(0.5)), Some(((0, 1), 0.5)));
        assert_eq!(overran(&running, Some(5.0)), None);
    }
}
