//! Which reports a run writes, and where: decided once, from the settings, here.
use std::io::Write;
use std::path::{Path, PathBuf};

use super::console::Console;
use super::html::Html;
use super::json::Json;
use super::markdown::Markdown;
use super::progress::Progress;
use super::run::{Exporter, RunReport};
use crate::cli::Format;
use crate::error::{UserError, write_stdout};
use crate::settings::Settings;

/// One report, rendered the same wherever it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Console { color: bool },
    Json,
    Markdown,
    Html,
}

impl ReportFormat {
    pub fn render(self, report: &RunReport) -> String {
        match self {
            ReportFormat::Console { color } => Console { color }.render(report),
            ReportFormat::Json => Json.render(report),
            ReportFormat::Markdown => Markdown.render(report),
            ReportFormat::Html => Html.render(report),
        }
    }
}

/// A run's outputs: written in this order, `file`, `stdout`, then `html`.
#[derive(Debug, Clone, PartialEq)]
pub struct Outputs {
    /// `-o FILE`: the `--format` report goes there (and stdout gets the console one).
    pub file: Option<(PathBuf, ReportFormat)>,
    pub stdout: ReportFormat,
    /// `--html FILE`.
    pub html: Option<PathBuf>,
    /// The live progress bar on stderr, only when a person watches the console (the report
    /// on stdout is for people) and stderr is a terminal.
    pub progress: bool,
}

impl From<&Settings> for Outputs {
    fn from(settings: &Settings) -> Self {
        // A dumb terminal gets no progress bar (it redraws with `\r`).
        let stderr_is_terminal = std::io::IsTerminal::is_terminal(&std::io::stderr())
            && !crate::settings::dumb_terminal();
        Outputs::choose(
            settings.format,
            settings.output.clone(),
            settings.bench.html.clone(),
            settings.color,
            stderr_is_terminal,
        )
    }
}

impl Outputs {
    fn choose(
        format: Format,
        output: Option<PathBuf>,
        html: Option<PathBuf>,
        color: bool,
        stderr_is_terminal: bool,
    ) -> Self {
        let chosen = match format {
            // A file never gets colour codes.
            Format::Console => ReportFormat::Console {
                color: color && output.is_none(),
            },
            Format::Json => ReportFormat::Json,
            Format::Markdown => ReportFormat::Markdown,
        };
        let console_on_stdout = format == Format::Console || output.is_some();
        match output {
            Some(path) => Outputs {
                file: Some((path, chosen)),
                stdout: ReportFormat::Console { color },
                html,
                progress: console_on_stdout && stderr_is_terminal,
            },
            None => Outputs {
                file: None,
                stdout: chosen,
                html,
                progress: console_on_stdout && stderr_is_terminal,
            },
        }
    }

    /// The progress bar, drawn only when `progress` says so.
    pub fn progress_bar(&self, expected_tests: u64) -> Progress {
        Progress::new(expected_tests, self.progress)
    }

    /// Render and write every report. A file that cannot be written is a user error; the
    /// stdout error keeps its `io::Error` (a reader that went away is not dbtest's fault).
    pub fn write(&self, report: &RunReport, stdout: &mut impl Write) -> anyhow::Result<()> {
        if let Some((path, format)) = &self.file {
            write_file(path, &format.render(report))?;
        }
        write_stdout(stdout, &self.stdout.render(report))?;
        if let Some(path) = &self.html {
            write_file(path, &ReportFormat::Html.render(report))?;
        }
        Ok(())
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), UserError> {
    std::fs::write(path, text).map_err(|source| UserError::Output {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::run::fixtures;

    #[test]
    fn the_format_goes_to_stdout_with_progress_only_beside_the_console() {
        let o = Outputs::choose(Format::Console, None, None, true, true);
        assert_eq!(o.stdout, ReportFormat::Console { color: true });
        assert!(o.progress && o.file.is_none() && o.html.is_none());
        let o = Outputs::choose(Format::Json, None, None, true, true);
        assert_eq!(o.stdout, ReportFormat::Json);
        assert!(!o.progress);
        let o = Outputs::choose(Format::Console, None, None, false, false);
        assert_eq!(o.stdout, ReportFormat::Console { color: false });
        assert!(!o.progress, "no bar when stderr is not a terminal");
    }

    #[test]
    fn with_o_the_file_gets_the_format_and_stdout_the_console() {
        let file = PathBuf::from("r.md");
        let o = Outputs::choose(Format::Markdown, Some(file.clone()), None, true, true);
        assert_eq!(o.file, Some((file.clone(), ReportFormat::Markdown)));
        assert_eq!(o.stdout, ReportFormat::Console { color: true });
        assert!(o.progress);
        // A console report written to a file has no colour codes.
        let o = Outputs::choose(Format::Console, Some(file.clone()), None, true, false);
        assert_eq!(o.file, Some((file, ReportFormat::Console { color: false })));
    }

    #[test]
    fn writes_files_and_stdout() {
        let dir = tempfile::tempdir().unwrap();
        let (json, html) = (dir.path().join("r.json"), dir.path().join("b.html"));
        let o = Outputs::choose(
            Format::Json,
            Some(json.clone()),
            Some(html.clone()),
            false,
            false,
        );
        let mut stdout = Vec::new();
        o.write(&fixtures::report(), &mut stdout).unwrap();
        let stdout = String::from_utf8(stdout).unwrap();
        assert!(stdout.contains("FAILED 1 failed"), "{stdout}");
        assert!(
            std::fs::read_to_string(json)
                .unwrap()
                .contains("\"schema_version\": 1")
        );
        assert!(
            std::fs::read_to_string(html)
                .unwrap()
                .starts_with("<!doctype html>")
        );
        let bad = Outputs::choose(
            Format::Json,
            Some(dir.path().join("no/r.json")),
            None,
            false,
            false,
        );
        let err = bad.write(&fixtures::report(), &mut Vec::new()).unwrap_err();
        assert!(
            matches!(err.downcast_ref(), Some(UserError::Output { .. })),
            "{err}"
        );
    }
}
