//! `--format markdown`: a GitHub-flavoured report that renders the same whatever characters
//! names and messages hold.
use super::bench;
use super::run::{Exporter, RunReport, Summary};
use super::text::{duration, md_fenced, md_inline};
use crate::runner::event::{Status, TestResult};
use crate::runner::retry::attempts;

pub struct Markdown;

fn status_word(r: &TestResult) -> String {
    let word = match (r.status, r.kind) {
        (Status::Error, Some(k)) => format!(
            "error ({})",
            serde_json::to_value(k)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        ),
        (Status::Xpassed, _) if r.strict => "xpassed (strict)".to_string(),
        (s, _) => format!("{s:?}").to_lowercase(),
    };
    if r.earlier.is_empty() {
        word
    } else {
        format!("{word} after {} attempts", attempts(r))
    }
}

/// The counts per status; expected-failure rows only for runs that have them.
fn status_table(s: &Summary) -> String {
    let mut out = String::from("| Status | Tests |\n| --- | ---: |\n");
    for (label, n) in [
        ("passed", s.passed),
        ("failed", s.failed),
        ("errors", s.errors),
        ("skipped", s.skipped),
        ("xfailed", s.xfailed),
        ("xpassed", s.xpassed),
        ("total", s.total),
    ] {
        if n > 0 || !matches!(label, "xfailed" | "xpassed") {
            out.push_str(&format!("| {label} | {n} |\n"));
        }
    }
    out
}

impl Exporter for Markdown {
    fn render(&self, report: &RunReport) -> String {
        let s = report.summary();
        let mut out = String::new();
        let verdict = if report.failed() {
            "❌ failed"
        } else if report.interrupted {
            "⚠️ interrupted"
        } else {
            "✅ passed"
        };
        out.push_str(&format!("## dbtest: {verdict}\n\n"));
        out.push_str(&format!(
            "**{}** in {} (dbtest {}, Python {})",
            report.counts_line(),
            duration(s.duration_ms),
            report.dbtest_version,
            report.python_version
        ));
        if report.interrupted {
            out.push_str(" — interrupted: tests that had not finished are missing");
        }
        if report.stopped_early {
            out.push_str(&format!(" — stopped {}", report.stop_reason));
        }
        out.push_str("\n\n");
        // A benchmarks-only run has no test table to show.
        if s.total > 0 || report.benchmarks.is_none() {
            out.push_str(&status_table(&s));
        }
        let problems: Vec<&TestResult> = report.problems().collect();
        if !problems.is_empty() {
            out.push_str(
                "\n### Failures and errors\n\n| Test | Status | Message |\n| --- | --- | --- |\n",
            );
            for r in &problems {
                out.push_str(&format!(
                    "| <code>{}</code> | {} | {} |\n",
                    md_inline(&r.id),
                    status_word(r),
                    md_inline(r.message.as_deref().unwrap_or(""))
                ));
            }
            for r in problems {
                out.push_str(&format!(
                    "\n<details><summary><code>{}</code>: {}</summary>\n\n",
                    md_inline(&r.id),
                    status_word(r)
                ));
                if let Some(m) = &r.message {
                    out.push_str(&format!("**Message:** {}\n\n", md_inline(m)));
                }
                if !r.values.is_empty() {
                    let vals: String = r
                        .values
                        .iter()
                        .map(|v| format!("{} = {}\n", v.name, v.repr))
                        .collect();
                    out.push_str(&format!("**Values:**\n\n{}\n", md_fenced(&vals)));
                }
                if let Some(tb) = &r.traceback {
                    out.push_str(&format!("**Traceback:**\n\n{}\n", md_fenced(tb)));
                }
                for (label, text) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
                    if let Some(t) = text.as_deref().filter(|t| !t.is_empty()) {
                        out.push_str(&format!("**{label}:**\n\n{}\n", md_fenced(t)));
                    }
                }
                out.push_str("</details>\n");
            }
        }
        let flaky: Vec<&TestResult> = report.flaky().collect();
        if !flaky.is_empty() {
            out.push_str(
                "\n### Flaky tests\n\nPassed on a retry, after failing.\n\n| Test | Attempts | First failure |\n| --- | ---: | --- |\n",
            );
            for r in flaky {
                let first = r.earlier.first().and_then(|e| e.message.as_deref());
                out.push_str(&format!(
                    "| <code>{}</code> | {} | {} |\n",
                    md_inline(&r.id),
                    attempts(r),
                    md_inline(first.unwrap_or(""))
                ));
            }
        }
        if let Some(b) = &report.benchmarks {
            out.push_str(&bench::markdown::render(&bench::model::Run::of(b)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::run::fixtures;

    #[test]
    fn report_shows_summary_and_every_problem() {
        let out = Markdown.render(&fixtures::report());
        assert!(out.contains("**1 failed, 1 error, 1 passed, 1 skipped**"));
        assert!(out.contains("<code>tests/test&#95;ünï.py::Suite::naïve&#95;café</code>"));
        assert!(out.contains("error (import)"));
        // Every table row has the same number of cells: no stray pipe broke one.
        for line in out.lines().filter(|l| l.starts_with("| <code>")) {
            assert_eq!(line.matches(" | ").count(), 2, "{line}");
        }
        assert!(!out.contains('\u{7}'));
    }
}
