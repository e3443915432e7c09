//! Errors a user can cause, each with what happened and what to do, and the exit codes.
use std::path::PathBuf;

/// pytest's exit codes, which CI scripts already expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    Ok = 0,
    TestsFailed = 1,
    Interrupted = 2,
    Internal = 3,
    Usage = 4,
    NoTests = 5,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
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

    /// Standard output refused the report or the version (a full disk, `> /dev/full`). A reader that went
    /// away (`| head`) is not this: that run ends quietly.
    #[error(
        "cannot write to standard output: {0}\n  hint: check where standard output goes (a full disk, a closed file); -o FILE writes the report to a file instead"
    )]
    Stdout(std::io::Error),

    #[error("--jobs must be at least 1")]
    ZeroJobs,

    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),

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
    /// Every user error is a usage error (4) in the README's table; listed one by one so
    /// that a new variant has to choose its code.
    pub fn exit_code(&self) -> ExitCode {
        use UserError::*;
        match self {
            PathNotFound { .. } | BadPattern { .. } | ZeroJobs | BadNumber(_) => ExitCode::Usage,
            Config(_) => ExitCode::Usage,
            VenvMismatch { .. } | NotAVenv(_) => ExitCode::Usage,
            Output { .. } | Stdout(_) => ExitCode::Usage,
            BadBaselineName(_) | NoBaseline { .. } | BadBaseline { .. } => ExitCode::Usage,
            FailOnWithoutBaseline => ExitCode::Usage,
        }
    }
}

/// Write `text` to standard output (or the descriptor reports go to). A reader that closed
/// its end early (`dbtest | head`) is no error: SIGPIPE is ignored in Rust programs, so that
/// shows up as EPIPE, and the run keeps its own exit code. Any other failure is the user's
/// to fix (`> /dev/full`).
pub fn write_stdout(out: &mut impl std::io::Write, text: &str) -> Result<(), UserError> {
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(UserError::Stdout(e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails every write with `kind`.
    struct Refuses(std::io::ErrorKind);

    impl std::io::Write for Refuses {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(self.0.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_closed_reader_is_quiet_a_failing_stdout_is_a_usage_error() {
        use std::io::ErrorKind;
        assert!(write_stdout(&mut Refuses(ErrorKind::BrokenPipe), "x").is_ok());
        let err = write_stdout(&mut Refuses(ErrorKind::StorageFull), "x").unwrap_err();
        assert!(matches!(err, UserError::Stdout(_)));
        assert_eq!(err.exit_code(), ExitCode::Usage);
        assert!(err.to_string().contains("standard output"), "{err}");
        let mut fine = Vec::new();
        write_stdout(&mut fine, "report").unwrap();
        assert_eq!(fine, b"report");
    }

    #[test]
    fn exit_codes_are_pytests() {
        let codes: Vec<u8> = [
            ExitCode::Ok,
            ExitCode::TestsFailed,
            ExitCode::Interrupted,
            ExitCode::Internal,
            ExitCode::Usage,
            ExitCode::NoTests,
        ]
        .map(|c| c as u8)
        .to_vec();
        assert_eq!(codes, [0, 1, 2, 3, 4, 5]);
        assert_eq!(UserError::ZeroJobs.exit_code(), ExitCode::Usage);
    }
}
