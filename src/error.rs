//! Errors a user can cause, each with what happened and what to do, and the exit codes.
use std::path::PathBuf;

/// pytest's exit codes, which CI scripts already expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Ok = 0,
    TestsFailed = 1,
    Interrupted = 2,
    Internal = 3,
    Usage = 4,
    NoTests = 5,
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("path not found: {}\n  hint: pass files or folders that exist, relative to the current folder ({})", .path.display(), .cwd.display())]
    PathNotFound { path: PathBuf, cwd: PathBuf },

    #[error(
        "invalid --pattern {pattern:?}: {reason}\n  hint: use a glob such as 'tests/db/*' or a plain substring such as 'creates_user'"
    )]
    BadPattern { pattern: String, reason: String },

    #[error(
        "the virtualenv {} is for Python {venv_version}, but this dbtest embeds Python {embedded}\n  hint: activate a Python {embedded} virtualenv, or rebuild dbtest for Python {venv_version}: PYO3_PYTHON={}/bin/python cargo install --path . --force",
        .venv.display(), .venv.display()
    )]
    VenvMismatch {
        venv: PathBuf,
        venv_version: String,
        embedded: String,
    },

    #[error("VIRTUAL_ENV points to {}, which is not a virtualenv (no pyvenv.cfg there)\n  hint: activate the virtualenv again, or unset VIRTUAL_ENV", .0.display())]
    NotAVenv(PathBuf),

    #[error("cannot write the report to {}: {source}\n  hint: check that the folder exists and is writable", .path.display())]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("--jobs must be at least 1")]
    ZeroJobs,

    #[error("{0}")]
    BadNumber(String),

    #[error(
        "invalid baseline name {0:?}\n  hint: use letters, digits, '-', '_' and '.', e.g. --save-baseline main"
    )]
    BadBaselineName(String),

    #[error("no baseline named {name:?} in {}\n  hint: save one first with --save-baseline {name} (saved baselines: {saved})", .folder.display())]
    NoBaseline {
        name: String,
        folder: PathBuf,
        saved: String,
    },

    #[error("cannot read the baseline {}: {reason}\n  hint: save it again with --save-baseline", .path.display())]
    BadBaseline { path: PathBuf, reason: String },

    #[error("--fail-on needs --baseline NAME: it gates on the difference from a saved run")]
    FailOnWithoutBaseline,
}

impl UserError {
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::Usage
    }
}
