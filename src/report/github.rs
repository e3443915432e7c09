//! GitHub Actions: when `GITHUB_ACTIONS=true`, one `::error` workflow command per failed or
//! errored test on stdout (GitHub turns each into an annotation on the file and line), a
//! `::warning` per test that passed only on a retry, and the markdown report appended to the
//! file `$GITHUB_STEP_SUMMARY` names. Nothing of this happens elsewhere.
//!
//! Workflow commands are one line each: `%`, `\r` and `\n` are percent-encoded in the message,
//! and in property values (`file=`, `line=`, `title=`) also `:` and `,`, which would otherwise
//! end the value (the escaping GitHub's own `@actions/core` toolkit does).
use std::io::Write;
use std::path::{Path, PathBuf};

use super::RunReport;
use super::junit::failing_line;
use crate::runner::event::{Status, TestResult};
use crate::runner::retry::{attempts, is_flaky};

/// Annotations only show the start of a message; past this the rest is cut.
const MAX_MESSAGE: usize = 4000;

/// What the GitHub Actions integration needs from the environment, read once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GithubActions {
    /// `GITHUB_ACTIONS=true`.
    pub enabled: bool,
    /// `$GITHUB_STEP_SUMMARY`, when set (and enabled).
    pub step_summary: Option<PathBuf>,
    /// The project root relative to `$GITHUB_WORKSPACE` (annotation paths are relative to the
    /// repository), empty when they are the same or the workspace is unknown.
    pub prefix: String,
}

impl GithubActions {
    /// From the process environment.
    pub fn from_env(root: &Path) -> Self {
        Self::from_vars(|k| std::env::var(k).ok(), root)
    }

    pub fn from_vars(var: impl Fn(&str) -> Option<String>, root: &Path) -> Self {
        let enabled = var("GITHUB_ACTIONS").is_some_and(|v| v == "true");
        if !enabled {
            return GithubActions::default();
        }
        let step_summary = var("GITHUB_STEP_SUMMARY")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let prefix = var("GITHUB_WORKSPACE")
            .filter(|v| !v.is_empty())
            .and_then(|ws| {
                let ws = std::fs::canonicalize(&ws).unwrap_or_else(|_| PathBuf::from(ws));
                let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
                root.strip_prefix(&ws).ok().map(|rel| {
                    rel.components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/")
                })
            })
            .unwrap_or_default();
        GithubActions {
            enabled,
            step_summary,
            prefix,
        }
    }

    /// The workflow commands for a finished run (empty when disabled or nothing failed).
    pub fn annotations(&self, report: &RunReport) -> String {
        if !self.enabled {
            return String::new();
        }
        let mut out = String::new();
        for r in report.results() {
            if r.fails_run() {
                out.push_str(&self.command("error", r, &message(r)));
            } else if is_flaky(r) {
                let first = r.earlier.first().and_then(|e| e.message.as_deref());
                let text = format!(
                    "flaky: passed on attempt {} after failing ({})",
                    attempts(r),
                    first.unwrap_or("no message")
                );
                out.push_str(&self.command("warning", r, &text));
            }
        }
        out
    }

    fn command(&self, level: &str, r: &TestResult, message: &str) -> String {
        let file = if self.prefix.is_empty() {
            r.file.clone()
        } else {
            format!("{}/{}", self.prefix, r.file)
        };
        let mut props = format!("file={}", escape_property(&file));
        // Where it failed, else where the test is.
        if let Some(line) = failing_line(r).or(r.line) {
            props.push_str(&format!(",line={line}"));
        }
        props.push_str(&format!(",title={}", escape_property(&r.id)));
        format!("::{level} {props}::{}\n", escape_data(message))
    }

    /// Append the markdown report to the step summary file, when there is one.
    pub fn append_summary(&self, markdown: &str) -> std::io::Result<()> {
        let Some(path) = self.step_summary.as_ref().filter(|_| self.enabled) else {
            return Ok(());
        };
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        f.write_all(markdown.as_bytes())?;
        if !markdown.ends_with('\n') {
            f.write_all(b"\n")?;
        }
        Ok(())
    }
}

/// What an annotation says: the kind of error, the message, then the traceback.
fn message(r: &TestResult) -> String {
    let mut text = String::new();
    if let Some(kind) = r.kind {
        if let Some(k) = serde_json::to_value(kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
        {
            text.push_str(&format!("[{k}] "));
        }
    }
    text.push_str(r.message.as_deref().unwrap_or(match r.status {
        Status::Failed => "failed",
        _ => "error",
    }));
    if let Some(tb) = &r.traceback {
        text.push_str("\n\n");
        text.push_str(tb);
    }
    if text.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
        text.push_str("\n[cut]");
    }
    text
}

/// A workflow command's message: `%`, `\r`, `\n` percent-encoded.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: as [`escape_data`], plus `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::run::fixtures;

    fn on() -> GithubActions {
        GithubActions {
            enabled: true,
            step_summary: None,
            prefix: String::new(),
        }
    }

    #[test]
    fn escaping_follows_the_actions_toolkit() {
        assert_eq!(
            escape_data("50% done\r\nnext: a, b"),
            "50%25 done%0D%0Anext: a, b"
        );
        assert_eq!(
            escape_property("t.py::S::x[a,b]%\n"),
            "t.py%3A%3AS%3A%3Ax[a%2Cb]%25%0A"
        );
    }

    #[test]
    fn one_error_line_per_failure_with_file_line_and_title() {
        let out = on().annotations(&fixtures::report());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(lines.iter().all(|l| l.starts_with("::error file=")));
        assert!(
            lines[0].starts_with(
                "::error file=tests/test_ünï.py,line=10,title=tests/test_ünï.py%3A%3ASuite%3A%3Anaïve_café::"
            ),
            "{}",
            lines[0]
        );
        // The traceback follows the message on the same (encoded) line.
        assert!(lines[0].contains("%0A%0ATraceback"));
        assert!(lines[1].contains("[import] SyntaxError"));
    }

    #[test]
    fn nothing_unless_enabled() {
        let vars = |k: &str| (k == "GITHUB_STEP_SUMMARY").then(|| "/tmp/x".to_string());
        let gh = GithubActions::from_vars(vars, Path::new("."));
        assert_eq!(gh, GithubActions::default());
        assert_eq!(gh.annotations(&fixtures::report()), "");
        gh.append_summary("# x").unwrap();
    }

    #[test]
    fn paths_are_relative_to_the_workspace_and_summaries_append() {
        let ws = tempfile::tempdir().unwrap();
        let root = ws.path().join("python/app");
        std::fs::create_dir_all(&root).unwrap();
        let summary = ws.path().join("summary.md");
        std::fs::write(&summary, "earlier step\n").unwrap();
        let ws_s = ws.path().display().to_string();
        let sum_s = summary.display().to_string();
        let gh = GithubActions::from_vars(
            |k| match k {
                "GITHUB_ACTIONS" => Some("true".into()),
                "GITHUB_WORKSPACE" => Some(ws_s.clone()),
                "GITHUB_STEP_SUMMARY" => Some(sum_s.clone()),
                _ => None,
            },
            &root,
        );
        assert_eq!(gh.prefix, "python/app");
        assert!(
            gh.annotations(&fixtures::report())
                .contains("::error file=python/app/tests/test_broken.py,")
        );
        gh.append_summary("## dbtest").unwrap();
        assert_eq!(
            std::fs::read_to_string(&summary).unwrap(),
            "earlier step\n## dbtest\n"
        );
    }

    #[test]
    fn flaky_passes_are_warnings() {
        let mut r = fixtures::result("t.py::x", Status::Passed);
        let mut first = fixtures::result("t.py::x", Status::Failed);
        first.message = Some("boom".into());
        r.earlier.push(first);
        let report = RunReport::new("3.11".into(), vec![r], 1.0);
        assert_eq!(
            on().annotations(&report),
            "::warning file=t.py,line=10,title=t.py%3A%3Ax::flaky: passed on attempt 2 after failing (boom)\n"
        );
    }

    #[test]
    fn long_messages_are_cut() {
        let mut r = fixtures::result("t.py::x", Status::Failed);
        r.message = Some("é".repeat(5000));
        assert!(message(&r).len() < MAX_MESSAGE + 10);
    }
}
