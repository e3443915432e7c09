//! dbtest: parse the command line, run, map the outcome to an exit code.
mod app;
mod bench;
mod cli;
mod config;
mod error;
mod launched;
mod report;
mod runner;
mod settings;

use clap::Parser;
use clap::error::ErrorKind;

use crate::error::{ExitCode, UserError};

fn main() -> std::process::ExitCode {
    // Before anything else (and while this is the only thread): what the release launcher
    // set for this process alone goes back out of the environment tests will see.
    launched::take_from_environment();
    // Test code runs with its assert statements on, as pytest keeps them: PYTHONOPTIMIZE
    // would turn every failing `assert` into a pass. Removed before any thread or
    // interpreter starts, so workers (and tests' subprocesses) never see it either.
    let optimize = std::env::var_os("PYTHONOPTIMIZE").filter(|v| !v.is_empty());
    if optimize.is_some() {
        // SAFETY: the first thing main does, while the process has a single thread.
        unsafe { std::env::remove_var("PYTHONOPTIMIZE") };
    }
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == runner::worker::WORKER_ARG)
    {
        runner::worker::main();
    }
    if let Some(v) = optimize {
        eprintln!(
            "dbtest: note: PYTHONOPTIMIZE={} is ignored: tests run with assert statements on",
            v.to_string_lossy()
        );
    }
    let code = match cli::Cli::try_parse() {
        Err(e) => {
            let _ = e.print();
            match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::Ok,
                _ => ExitCode::Usage,
            }
        }
        Ok(cli) => match app::run(cli) {
            Ok(code) => code,
            Err(e) => match e.downcast_ref::<UserError>() {
                Some(user) => {
                    eprintln!("dbtest: error: {user}");
                    user.exit_code()
                }
                None => {
                    eprintln!(
                        "dbtest: internal error: {e:#}\n  this is a bug in dbtest; please report it with the command you ran"
                    );
                    ExitCode::Internal
                }
            },
        },
    };
    code.into()
}
