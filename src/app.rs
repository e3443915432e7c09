//! One run, start to finish: resolve settings, discover, plan, run, report. The runner and
//! the reporters meet only here, through events and the finished report.
use anyhow::Context;

use crate::bench::run::{self as bench_run, Compared};
use crate::cli::Cli;
use crate::error::{ExitCode, write_stdout};
use crate::report::list::list;
use crate::report::{Outputs, RunReport};
use crate::runner::discover::discover;
use crate::runner::embedded_version;
use crate::runner::plan::plan;
use crate::runner::run::{Outcome, Session};
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
    let settings = Settings::resolve(cli)?;
    if settings.list {
        let files = discover(&settings.paths, &settings.cwd, &settings.root)?;
        return Ok(list(&plan(files, &settings.filter), &settings.filter)?);
    }
    let mut report_out = stdio::isolate().context("redirecting standard streams")?;
    // The interpreter or the first worker starts while discovery reads the files.
    let mut session = Session::start(settings.run_options())?;
    let files = discover(&settings.paths, &settings.cwd, &settings.root)?;
    session.discovered(&files)?;
    let plan = plan(files, &settings.filter);
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
    let outcome = session.run(plan, baseline_tree, &mut progress)?;
    let report = report(&settings, outcome, compared)?;
    outputs.write(&report, &mut report_out)?;
    if let Some(b) = &report.benchmarks {
        bench_run::warn_regressions(b);
    }
    Ok(exit_code(&report))
}

/// Nothing to run: say where dbtest looked; machines still get a valid (empty) report.
fn no_tests(settings: &Settings, report_out: &mut std::fs::File) -> anyhow::Result<ExitCode> {
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
