//! One run, start to finish: resolve settings, discover, plan, run, report. The runner and
//! the reporters meet only here, through events and the finished report.
use anyhow::Context;

use crate::bench::run::{self as bench_run, Compared};
use crate::cli::Cli;
use crate::error::{ExitCode, write_stdout};
use crate::report::list::list;
use crate::report::{Outputs, RunReport};
use crate::runner::discover::Discovered;
use crate::runner::embedded_version;
use crate::runner::event::Event;
use crate::runner::filter::Filter;
use crate::runner::last_failed::LastFailed;
use crate::runner::plan::{Plan, plan};
use crate::runner::retry::{Retries, merge};
use crate::runner::run::{Observer, Outcome, Session, StopReason};
use crate::runner::stdio;
use crate::settings::Settings;

pub fn version_text() -> String {
    format!(
        "dbtest {} (Python {})",
        env!("CARGO_PKG_VERSION"),
        embedded_version()
    )
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if cli.options.version {
        write_stdout(&mut std::io::stdout(), &format!("{}\n", version_text()))?;
        return Ok(ExitCode::Ok);
    }
    let mut settings = Settings::resolve(cli)?;
    let last_failed = LastFailed::load(&settings.root);
    let unfiltered = settings.filter.clone();
    if settings.last_failed {
        if last_failed.is_empty() {
            eprintln!(
                "dbtest: --lf: no failed tests recorded from the last run; running all tests"
            );
        } else {
            settings.filter = settings.filter.clone().only(last_failed.ids());
        }
    }
    if settings.list {
        let files = settings.discover()?;
        let plan = select(&mut settings, files, &unfiltered);
        return Ok(list(&plan, &settings.filter)?);
    }
    let mut report_out = stdio::isolate().context("redirecting standard streams")?;
    let mut options = settings.run_options();
    let early = settings.filter.spec.ids.is_none() && !settings.failed_first;
    let mut session = Session::start_if(early, &options)?;
    let files = settings.discover()?;
    Session::discovered_if(&mut session, &files)?;
    let plan = select(&mut settings, files.clone(), &unfiltered);
    // select() may have fallen back to every test.
    options.filter = settings.filter.clone();
    if settings.failed_first {
        options.first = plan
            .test_files
            .iter()
            .map(|f| f.file.rel.clone())
            .filter(|rel| last_failed.touches_file(rel))
            .collect();
        eprintln!(
            "dbtest: --ff: {} file{} with last run's failures first",
            options.first.len(),
            if options.first.len() == 1 { "" } else { "s" }
        );
    }
    let session = Session::or_start(session, options, &files)?;
    if plan.is_empty() {
        return no_tests(&settings, &mut report_out);
    }
    if !plan.bench_files.is_empty() && settings.jobs_given && settings.jobs > 1 {
        eprintln!(
            "dbtest: note: benchmarks run one at a time whatever --jobs says; run side by side they would share \
             cores, caches and the GIL and distort each other's timings (--jobs applies to tests)"
        );
    }
    // Fail on a missing baseline before spending minutes on benchmarks.
    let compared = Compared::load(&settings, !plan.bench_files.is_empty())?;
    let outputs = Outputs::from(&settings);
    let mut progress = outputs.progress_bar(plan.expected_tests() as u64);
    let baseline_tree = compared.as_ref().and_then(Compared::code_root);
    let mut outcome = session.run(plan, baseline_tree, &mut progress)?;
    retry(&settings, &files, &mut outcome)?;
    let mut last_failed = last_failed;
    last_failed.record(&outcome.results);
    last_failed.save(&settings.root);
    // Done while the reports are made; waited for before dbtest ends.
    let background = std::mem::take(&mut outcome.background);
    let report = report(&settings, outcome, compared)?;
    outputs.write(&report, &mut report_out)?;
    drop(background);
    if let Some(b) = &report.benchmarks {
        bench_run::warn_regressions(b);
    }
    Ok(exit_code(&report))
}

/// The plan for this run: the filters' (with `--lf`'s ids, falling back to every test when
/// none of last run's failures is selected any more), then this job's `--partition`.
fn select(settings: &mut Settings, files: Vec<Discovered>, unfiltered: &Filter) -> Plan {
    let mut planned = if settings.filter.spec.ids.is_some() {
        let only_failed = plan(files.clone(), &settings.filter);
        if only_failed.test_files.is_empty() {
            eprintln!(
                "dbtest: --lf: none of the tests that failed last time is selected now; running all tests"
            );
            settings.filter = unfiltered.clone();
            plan(files, unfiltered)
        } else {
            // Only the failed tests: benchmarks never "fail" into the store.
            Plan {
                bench_files: Vec::new(),
                ..only_failed
            }
        }
    } else {
        plan(files, &settings.filter)
    };
    if let Some(p) = &settings.partition {
        p.apply(&mut planned);
    }
    planned
}

/// `--retries` and `@test(retries=N)`: run the tests still failing again, each pass in a fresh
/// session (fresh workers), until none has retries left. Each pass is a normal run of the
/// failed tests' files narrowed to their ids, without benchmarks, `-x` or durations history.
fn retry(settings: &Settings, files: &[Discovered], outcome: &mut Outcome) -> anyhow::Result<()> {
    let mut retries = Retries {
        default: settings.retries,
        own: std::mem::take(&mut outcome.own_retries),
    };
    // -n 0 stopped at a sync test it could not stop: that test still runs in this process.
    let stuck = outcome.stopped == Some(StopReason::InProcessTimeout);
    if outcome.interrupted || stuck || !retries.any() {
        return Ok(());
    }
    // Bounded: a test the pass gave no result for (its file stopped importing) keeps its
    // retries, but no test gets more passes than the most any may have.
    for _ in 0..retries.most() {
        let ids = retries.candidates(&outcome.results);
        if ids.is_empty() {
            return Ok(());
        }
        eprintln!(
            "dbtest: retrying {} failed test{}",
            ids.len(),
            if ids.len() == 1 { "" } else { "s" }
        );
        let mut options = settings.run_options();
        options.filter = options.filter.only(ids);
        options.fail_fast = false;
        options.record_history = false;
        let filter = options.filter.clone();
        let mut session = Session::start(options)?;
        session.discovered(files)?;
        let mut plan = plan(files.to_vec(), &filter);
        plan.bench_files.clear();
        let pass = session.run(plan, None, &mut Quiet)?;
        outcome.duration_ms += pass.duration_ms;
        retries.own.extend(pass.own_retries);
        merge(&mut outcome.results, pass.results);
        if pass.interrupted {
            outcome.interrupted = true;
            return Ok(());
        }
    }
    Ok(())
}

/// Retry passes show no progress bar.
struct Quiet;

impl Observer for Quiet {
    fn on_event(&mut self, _: &Event) {}
    fn on_end(&mut self) {}
}

/// Nothing to run: say where dbtest looked; machines still get a valid (empty) report.
fn no_tests(settings: &Settings, report_out: &mut std::fs::File) -> anyhow::Result<ExitCode> {
    let searched: Vec<String> = settings
        .paths
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    eprintln!(
        "dbtest: no tests collected in {} (test files are {}, benchmarks bench_*.py{})",
        searched.join(", "),
        settings.test_file_names(),
        if settings.filter_active() {
            ", after filters"
        } else {
            ""
        }
    );
    let report = RunReport::new(embedded_version(), Vec::new(), 0.0);
    Outputs::from(settings).write(&report, report_out)?;
    Ok(ExitCode::NoTests)
}

/// The finished run as the reports see it, benchmarks analysed (and saved) included.
fn report(
    settings: &Settings,
    outcome: Outcome,
    compared: Option<Compared>,
) -> anyhow::Result<RunReport> {
    let mut report = RunReport::new(
        outcome.python_version.clone(),
        outcome.results,
        outcome.duration_ms,
    );
    report.interrupted = outcome.interrupted;
    report.stopped_early = outcome.stopped.is_some();
    if let Some(reason) = outcome.stopped {
        report.stop_reason = reason;
    }
    if !outcome.groups.is_empty() {
        report.benchmarks = Some(bench_run::finish(
            settings,
            &outcome.python_version,
            outcome.groups,
            outcome.harness,
            compared,
        )?);
    }
    Ok(report)
}

/// pytest's codes: an interrupt first, then failures, then whether anything ran.
fn exit_code(report: &RunReport) -> ExitCode {
    if report.interrupted {
        ExitCode::Interrupted
    } else if report.failed() {
        ExitCode::TestsFailed
    } else if report.summary().total == 0 && report.benchmarks.is_none() {
        ExitCode::NoTests
    } else {
        ExitCode::Ok
    }
}
