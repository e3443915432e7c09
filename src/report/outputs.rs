//! Which reports a run writes, and where: decided once, from the settings, here.
use std::io::Write;
use std::path::{Path, PathBuf};

use super::console::Console;
use super::github::GithubActions;
use super::html::Html;
use super::json::Json;
use super::junit::Junit;
use super::markdown::Markdown;
use super::progress::Progress;
use super::run::{Exporter, RunReport};
use super::text::{duration, printable};
use crate::cli::Format;
use crate::error::{UserError, write_stdout};
use crate::runner::event::TestResult;
use crate::settings::{ReportFiles, Settings};

/// One report, rendered the same wherever it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Console { color: bool },
    Json,
    Markdown,
    Html,
    Junit,
}

impl ReportFormat {
    pub fn render(self, report: &RunReport) -> String {
        match self {
            ReportFormat::Console { color } => Console { color }.render(report),
            ReportFormat::Json => Json.render(report),
            ReportFormat::Markdown => Markdown.render(report),
            ReportFormat::Html => Html.render(report),
            ReportFormat::Junit => Junit.render(report),
        }
    }
}

/// A run's outputs: written in this order, `file`, the report `files`, `stdout` (then the
/// slowest tests, then GitHub annotations), `html`, then the GitHub step summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Outputs {
    /// `-o FILE`: the `--format` report goes there (and stdout gets the console one).
    pub file: Option<(PathBuf, ReportFormat)>,
    /// `--junitxml`, `--json`, `--markdown` files.
    pub files: Vec<(PathBuf, ReportFormat)>,
    pub stdout: ReportFormat,
    /// `--html FILE`.
    pub html: Option<PathBuf>,
    /// `--durations N`: the N slowest tests after the console summary (0: none).
    pub durations: usize,
    /// Annotations and the step summary under GitHub Actions.
    pub github: GithubActions,
    /// The live progress bar on stderr, only when a person watches the console (the report
    /// on stdout is for people) and stderr is a terminal.
    pub progress: bool,
}

impl From<&Settings> for Outputs {
    fn from(settings: &Settings) -> Self {
        // A dumb terminal gets no progress bar (it redraws with `\r`).
        let stderr_is_terminal = std::io::IsTerminal::is_terminal(&std::io::stderr())
            && !crate::settings::dumb_terminal();
        let mut outputs = Outputs::choose(
            settings.format,
            settings.output.clone(),
            settings.bench.html.clone(),
            settings.color,
            stderr_is_terminal,
        );
        outputs.files = formats(&settings.reports);
        outputs.durations = settings.durations;
        outputs.github = GithubActions::from_env(&settings.root);
        outputs
    }
}

/// Each report file with its format, in a fixed order.
fn formats(files: &ReportFiles) -> Vec<(PathBuf, ReportFormat)> {
    [
        (&files.junitxml, ReportFormat::Junit),
        (&files.json, ReportFormat::Json),
        (&files.markdown, ReportFormat::Markdown),
    ]
    .into_iter()
    .filter_map(|(path, format)| path.clone().map(|p| (p, format)))
    .collect()
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
                files: Vec::new(),
                stdout: ReportFormat::Console { color },
                html,
                durations: 0,
                github: GithubActions::default(),
                progress: console_on_stdout && stderr_is_terminal,
            },
            None => Outputs {
                file: None,
                files: Vec::new(),
                stdout: chosen,
                html,
                durations: 0,
                github: GithubActions::default(),
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
    ///
    /// Every file is attempted even when one fails (a CI job that loses its JSON report still
    /// gets its JUnit one); the first failure is returned after the rest are written.
    pub fn write(&self, report: &RunReport, stdout: &mut impl Write) -> anyhow::Result<()> {
        let mut first_error: Option<UserError> = None;
        let mut file = |path: &Path, text: &str| {
            if let Err(e) = write_file(path, text) {
                first_error.get_or_insert(e);
            }
        };
        if let Some((path, format)) = &self.file {
            file(path, &format.render(report));
        }
        for (path, format) in &self.files {
            // As pytest's --junitxml: CI scripts name a reports folder that may not exist yet.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                let _ = std::fs::create_dir_all(dir);
            }
            file(path, &format.render(report));
        }
        let mut text = self.stdout.render(report);
        let console = matches!(self.stdout, ReportFormat::Console { .. });
        if console && self.durations > 0 {
            text.push_str(&slowest(report, self.durations));
        }
        // Workflow commands go to stdout, unless stdout carries a machine-read report they
        // would corrupt; then to stderr.
        let annotations = self.github.annotations(report);
        if console {
            text.push_str(&annotations);
        }
        write_stdout(stdout, &text)?;
        if !console && !annotations.is_empty() {
            eprint!("{annotations}");
        }
        if let Some(path) = &self.html {
            file(path, &ReportFormat::Html.render(report));
        }
        if self.github.step_summary.is_some() {
            if let Err(e) = self
                .github
                .append_summary(&ReportFormat::Markdown.render(report))
            {
                eprintln!("dbtest: warning: cannot append to $GITHUB_STEP_SUMMARY: {e}");
            }
        }
        match first_error {
            Some(e) => Err(e.into()),
            None => Ok(()),
        }
    }
}

/// `--durations N`: the N slowest tests, slowest first (ties in report order).
pub fn slowest(report: &RunReport, n: usize) -> String {
    let mut timed: Vec<&TestResult> = report.results().iter().collect();
    timed.sort_by(|a, b| b.duration_ms.total_cmp(&a.duration_ms));
    timed.truncate(n);
    if timed.is_empty() {
        return String::new();
    }
    let mut out = format!("\nslowest {} tests:\n", timed.len());
    for r in timed {
        out.push_str(&format!(
            "{:>10}  {}\n",
            duration(r.duration_ms),
            printable(&r.id)
        ));
    }
    out
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
                .contains("\"schema_version\": 2")
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

    #[test]
    fn report_files_each_get_their_format_and_a_bad_one_does_not_stop_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let files = ReportFiles {
            junitxml: Some(dir.path().join("no/j.xml")),
            json: Some(dir.path().join("r.json")),
            markdown: Some(dir.path().join("r.md")),
        };
        let mut o = Outputs::choose(Format::Console, None, None, false, false);
        o.files = formats(&files);
        assert_eq!(o.files.len(), 3);
        let mut stdout = Vec::new();
        // Missing folders are made.
        o.write(&fixtures::report(), &mut Vec::new()).unwrap();
        assert!(dir.path().join("no/j.xml").exists());
        std::fs::remove_file(dir.path().join("r.json")).unwrap();
        std::fs::write(dir.path().join("file"), "").unwrap();
        o.files[0].0 = dir.path().join("file/j.xml");
        let err = o.write(&fixtures::report(), &mut stdout).unwrap_err();
        assert!(err.to_string().contains("file/j.xml"), "{err}");
        assert!(
            String::from_utf8(stdout)
                .unwrap()
                .contains("FAILED 1 failed")
        );
        assert!(dir.path().join("r.json").exists() && dir.path().join("r.md").exists());
    }

    #[test]
    fn durations_and_annotations_follow_the_console_report() {
        let mut o = Outputs::choose(Format::Console, None, None, false, false);
        o.durations = 2;
        o.github.enabled = true;
        let mut report = fixtures::report();
        report.results_mut()[1].duration_ms = 300.0;
        let mut stdout = Vec::new();
        o.write(&report, &mut stdout).unwrap();
        let text = String::from_utf8(stdout).unwrap();
        let at = text.find("slowest 2 tests:").expect("the section");
        let lines: Vec<&str> = text[at..].lines().skip(1).take(2).collect();
        assert!(lines[0].contains("300 ms") && lines[0].contains(&report.results()[1].id));
        assert!(text.contains("\n::error file="), "{text}");
        // JSON on stdout stays one document: no annotations or durations in it.
        let mut o = Outputs::choose(Format::Json, None, None, false, false);
        o.durations = 2;
        o.github.enabled = true;
        let mut stdout = Vec::new();
        o.write(&report, &mut stdout).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
        assert_eq!(v["summary"]["failed"], 1);
    }
}
