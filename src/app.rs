//! One run, start to finish: resolve settings, discover, plan, run, report. The runner and
//! the reporters meet only here, through events and the finished report.
use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::bench::run::{self as bench_run, Compared};
use crate::cli::{Cli, Format};
use crate::error::{ExitCode, UserError, write_stdout};
use crate::report::{Console, Exporter, Html, Json, Markdown, Progress, RunReport};
use crate::runner::discover::discover;
use crate::runner::embedded_version;
use crate::runner::event::Event;
use crate::runner::plan::{Plan, plan, test_id};
use crate::runner::run::{Observer, Outcome, Session};
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
        return Ok(list(&plan(files, &settings.filter)));
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
    let show_progress = settings.format == Format::Console || settings.output.is_some();
    let mut progress = Progress::new(
        plan.expected_tests() as u64,
        show_progress && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    );
    let baseline_tree = compared.as_ref().and_then(Compared::code_root);
    let outcome = session.run(plan, baseline_tree, &mut progress)?;
    let report = report(&settings, outcome, compared)?;
    write_reports(&settings, &report, &mut report_out)?;
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
    write_reports(settings, &report, report_out)?;
    Ok(ExitCode::NoTests)
}

impl Observer for Progress {
    fn on_event(&mut self, event: &Event) {
        Progress::on_event(self, event);
    }

    fn on_end(&mut self) {
        self.finish();
    }
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

fn list(plan: &Plan) -> ExitCode {
    let mut out = std::io::stdout().lock();
    let mut n = 0;
    for f in &plan.test_files {
        if f.tests.is_empty() {
            let _ = writeln!(out, "{}", f.file.rel);
        }
        for t in &f.tests {
            n += 1;
            let _ = writeln!(
                out,
                "{}{}",
                test_id(&f.file.rel, t),
                if t.skip { " (skip)" } else { "" }
            );
        }
    }
    let _ = out.flush();
    eprintln!("{n} tests in {} files", plan.test_files.len());
    if plan.test_files.is_empty() {
        ExitCode::NoTests
    } else {
        ExitCode::Ok
    }
}

fn write_reports(
    settings: &Settings,
    report: &RunReport,
    stdout: &mut std::fs::File,
) -> anyhow::Result<()> {
    let exporter: Box<dyn Exporter> = match settings.format {
        Format::Console => Box::new(Console {
            color: settings.color && settings.output.is_none(),
        }),
        Format::Json => Box::new(Json),
        Format::Markdown => Box::new(Markdown),
    };
    let rendered = exporter.render(report);
    let console = || {
        Console {
            color: settings.color,
        }
        .render(report)
    };
    match &settings.output {
        Some(path) => {
            write_file(path, &rendered)?;
            write_stdout(stdout, &console())?;
        }
        None => write_stdout(stdout, &rendered)?,
    }
    if let Some(path) = &settings.bench.html {
        write_file(path, &Html.render(report))?;
    }
    Ok(())
}

fn write_file(path: &Path, text: &str) -> Result<(), UserError> {
    std::fs::write(path, text).map_err(|source| UserError::Output {
        path: path.to_path_buf(),
        source,
    })
}
