//! `--format console`: failures with their details, a summary table and the totals.
use std::collections::BTreeMap;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{CellAlignment, Table};

use super::bench;
use super::run::{Exporter, RunReport};
use super::text::{duration, printable};
use crate::runner::event::{Status, TestResult};
use crate::runner::retry::attempts;

pub struct Console {
    pub color: bool,
}

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

impl Console {
    fn paint(&self, style: &str, s: &str) -> String {
        if self.color {
            format!("{style}{s}{RESET}")
        } else {
            s.to_string()
        }
    }

    fn failure(&self, r: &TestResult, out: &mut String) {
        let label = match (r.status, r.kind) {
            (Status::Failed, _) => "FAILED".to_string(),
            (Status::Xpassed, _) => "XPASSED (strict: unexpected success)".to_string(),
            (_, Some(k)) => format!(
                "ERROR ({})",
                serde_json::to_value(k)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            ),
            _ => "ERROR".to_string(),
        };
        let label = if r.earlier.is_empty() {
            label
        } else {
            format!("{label} after {} attempts", attempts(r))
        };
        out.push_str(&format!(
            "\n{} {} {}\n",
            self.paint(&format!("{BOLD}{RED}"), &format!("── {label}")),
            self.paint(BOLD, &printable(&r.id)),
            self.paint(DIM, &format!("({})", duration(r.duration_ms)))
        ));
        if let Some(m) = &r.message {
            out.push_str(&format!("{}\n", self.paint(RED, &printable(m))));
        }
        for v in &r.values {
            out.push_str(&format!(
                "  {} = {}\n",
                self.paint(BOLD, &v.name),
                printable(&v.repr)
            ));
        }
        if let Some(tb) = &r.traceback {
            out.push('\n');
            out.push_str(&printable(tb.trim_end()));
            out.push('\n');
        }
        for (label, text) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
            if let Some(t) = text.as_deref().filter(|t| !t.is_empty()) {
                out.push_str(&format!(
                    "{}\n{}\n",
                    self.paint(DIM, &format!("── captured {label}")),
                    t.trim_end()
                ));
            }
        }
    }
}

impl Exporter for Console {
    fn render(&self, report: &RunReport) -> String {
        let mut out = String::new();
        for r in report.problems() {
            self.failure(r, &mut out);
        }
        for r in report.flaky() {
            let first = r.earlier.first().and_then(|e| e.message.as_deref());
            out.push_str(&format!(
                "\n{} {} {}\n",
                self.paint(&format!("{BOLD}{YELLOW}"), "── FLAKY"),
                self.paint(BOLD, &printable(&r.id)),
                self.paint(
                    DIM,
                    &format!(
                        "(passed on attempt {}; first failure: {})",
                        attempts(r),
                        printable(first.unwrap_or("?"))
                    )
                )
            ));
        }
        if let Some(table) = file_table(report) {
            out.push_str(&format!("\n{table}\n"));
        }
        if let Some(b) = &report.benchmarks {
            out.push_str(&bench::console::render(
                &bench::model::Run::of(b),
                self.color,
            ));
        }
        let s = report.summary();
        let (word, style) = if report.interrupted {
            ("INTERRUPTED", YELLOW)
        } else if report.failed() {
            ("FAILED", RED)
        } else if s.total == 0 && report.benchmarks.is_none() {
            ("NO TESTS", YELLOW)
        } else {
            ("PASSED", GREEN)
        };
        out.push_str(&format!(
            "{} {} in {}\n",
            self.paint(&format!("{BOLD}{style}"), word),
            report.counts_line(),
            duration(s.duration_ms)
        ));
        if report.stopped_early {
            out.push_str(&format!(
                "stopped {}; the remaining tests did not run\n",
                report.stop_reason
            ));
        }
        if report.interrupted {
            out.push_str("interrupted: tests that had not finished are not in this report\n");
        }
        out
    }
}

/// One row per file: where the problems are, at a glance (None for a run without results).
fn file_table(report: &RunReport) -> Option<String> {
    let mut per_file: BTreeMap<(usize, &str), [usize; 6]> = BTreeMap::new();
    let mut time: BTreeMap<&str, f64> = BTreeMap::new();
    // In report order, a file's results come together: one look-up per file, not per test.
    for same in report
        .results()
        .chunk_by(|a, b| a.order.0 == b.order.0 && a.file == b.file)
    {
        let file = same[0].file.as_str();
        let row = per_file.entry((same[0].order.0, file)).or_default();
        for r in same {
            row[match r.status {
                Status::Passed => 0,
                Status::Failed => 1,
                Status::Error => 2,
                Status::Skipped => 3,
                Status::Xfailed => 4,
                Status::Xpassed => 5,
            }] += 1;
        }
        *time.entry(file).or_default() += same.iter().map(|r| r.duration_ms).sum::<f64>();
    }
    if per_file.is_empty() {
        return None;
    }
    // Expected-failure columns only for runs that have them (unittest, pytest).
    let columns = if per_file.values().any(|c| c[4] + c[5] > 0) {
        6
    } else {
        4
    };
    let mut header = vec!["File", "Passed", "Failed", "Errors", "Skipped"];
    header.extend(["Xfailed", "Xpassed"].iter().take(columns - 4));
    header.push("Time");
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(header);
    for ((_, file), c) in &per_file {
        let mut row = vec![file.to_string()];
        row.extend(c[..columns].iter().map(usize::to_string));
        row.push(duration(time[file]));
        table.add_row(row);
    }
    for col in 1..columns + 2 {
        if let Some(c) = table.column_mut(col) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    Some(table.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::run::fixtures;

    #[test]
    fn shows_failures_values_table_and_totals() {
        let out = Console { color: false }.render(&fixtures::report());
        assert!(out.contains("── FAILED tests/test_ünï.py::Suite::naïve_café"));
        assert!(out.contains("  a = '<b>|x'"));
        assert!(out.contains("── captured stdout\nprinted | <out>"));
        assert!(out.contains("── ERROR (import) tests/test_broken.py"));
        assert!(
            out.contains("FAILED 1 failed, 1 error, 1 passed, 1 skipped in 12 ms"),
            "{out}"
        );
        assert!(!out.contains('\x1b'));
    }

    #[test]
    fn colour_only_when_asked() {
        let out = Console { color: true }.render(&fixtures::report());
        assert!(out.contains(RED));
    }
}
