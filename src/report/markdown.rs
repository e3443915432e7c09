//! `--format markdown`: a GitHub-flavoured report that renders the same whatever characters
//! names and messages hold.
use super::text::duration;
use super::{Exporter, RunReport};
use crate::runner::event::{Status, TestResult};

pub struct Markdown;

/// Inline text: HTML-escaped (so `<`, `&`, `|`, backticks and emphasis characters are literal)
/// and control characters made visible.
pub fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("&#124;"),
            '`' => out.push_str("&#96;"),
            '*' => out.push_str("&#42;"),
            '_' => out.push_str("&#95;"),
            '[' => out.push_str("&#91;"),
            ']' => out.push_str("&#93;"),
            '\\' => out.push_str("&#92;"),
            '#' => out.push_str("&#35;"),
            '~' => out.push_str("&#126;"),
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// A fenced block that no content can close early: the fence is longer than any backtick run.
pub fn fenced(s: &str) -> String {
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let body: String = s
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect();
    format!("{fence}text\n{}\n{fence}\n", body.trim_end_matches('\n'))
}

fn status_word(r: &TestResult) -> String {
    match (r.status, r.kind) {
        (Status::Error, Some(k)) => format!(
            "error ({})",
            serde_json::to_value(k)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        ),
        (Status::Xpassed, _) if r.strict => "xpassed (strict)".to_string(),
        (s, _) => format!("{s:?}").to_lowercase(),
    }
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
            out.push_str("| Status | Tests |\n| --- | ---: |\n");
            for (label, n) in [
                ("passed", s.passed),
                ("failed", s.failed),
                ("errors", s.errors),
                ("skipped", s.skipped),
                ("xfailed", s.xfailed),
                ("xpassed", s.xpassed),
                ("total", s.total),
            ] {
                if n == 0 && matches!(label, "xfailed" | "xpassed") {
                    continue;
                }
                out.push_str(&format!("| {label} | {n} |\n"));
            }
        }
        let problems: Vec<&TestResult> = report.problems().collect();
        if !problems.is_empty() {
            out.push_str(
                "\n### Failures and errors\n\n| Test | Status | Message |\n| --- | --- | --- |\n",
            );
            for r in &problems {
                out.push_str(&format!(
                    "| <code>{}</code> | {} | {} |\n",
                    inline(&r.id),
                    status_word(r),
                    inline(r.message.as_deref().unwrap_or(""))
                ));
            }
            for r in problems {
                out.push_str(&format!(
                    "\n<details><summary><code>{}</code>: {}</summary>\n\n",
                    inline(&r.id),
                    status_word(r)
                ));
                if let Some(m) = &r.message {
                    out.push_str(&format!("**Message:** {}\n\n", inline(m)));
                }
                if !r.values.is_empty() {
                    let vals: String = r
                        .values
                        .iter()
                        .map(|v| format!("{} = {}\n", v.name, v.repr))
                        .collect();
                    out.push_str(&format!("**Values:**\n\n{}\n", fenced(&vals)));
                }
                if let Some(tb) = &r.traceback {
                    out.push_str(&format!("**Traceback:**\n\n{}\n", fenced(tb)));
                }
                for (label, text) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
                    if let Some(t) = text.as_deref().filter(|t| !t.is_empty()) {
                        out.push_str(&format!("**{label}:**\n\n{}\n", fenced(t)));
                    }
                }
                out.push_str("</details>\n");
            }
        }
        if let Some(b) = &report.benchmarks {
            out.push_str(&super::bench_view::markdown(b));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures;

    #[test]
    fn hostile_characters_stay_literal() {
        assert_eq!(
            inline("a|b <c> & `d` *e* _f_ \u{7}"),
            "a&#124;b &lt;c&gt; &amp; &#96;d&#96; &#42;e&#42; &#95;f&#95; \\u{0007}"
        );
        let f = fenced("x ``` y");
        assert!(f.starts_with("````text\n"));
        assert!(f.ends_with("\n````\n"));
    }

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
