//! Benchmark tables for the terminal (comfy-table), coloured when asked.
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Color, Table};

use super::model::{self, Group, NO_BASELINE, NUMERIC_COLUMNS, Run, Tone};
use crate::report::text::printable;

const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// Longest error shown in a console table cell.
const ERROR_CELL_CHARS: usize = 60;

/// The first line of `s`, cut to `max` characters with an ellipsis.
fn shorten(s: &str, max: usize) -> String {
    let first = s.lines().next().unwrap_or("");
    let cut = if first.chars().count() > max {
        let head: String = first.chars().take(max.saturating_sub(1)).collect();
        format!("{head}…")
    } else {
        first.to_string()
    };
    if cut.len() < s.trim_end().len() && !cut.ends_with('…') {
        format!("{cut} …")
    } else {
        cut
    }
}

/// Console cells: control characters visible, tabs as spaces (they would skew the widths).
fn cell_text(s: &str) -> String {
    printable(s).replace('\t', "    ")
}

struct Painter {
    color: bool,
}

impl Painter {
    fn paint(&self, style: &str, s: &str) -> String {
        if self.color {
            format!("{style}{s}{RESET}")
        } else {
            s.to_string()
        }
    }
}

/// Every group's table with its failures and warnings, then the run's notes; empty when no
/// benchmark ran.
pub fn render(run: &Run, color: bool) -> String {
    if run.groups.is_empty() {
        return String::new();
    }
    let p = Painter { color };
    let mut out = String::new();
    for g in &run.groups {
        group(&mut out, run, g, &p);
    }
    out.push('\n');
    notes(&mut out, run, &p);
    out
}

fn group(out: &mut String, run: &Run, g: &Group, p: &Painter) {
    let baseline = g
        .baseline
        .as_deref()
        .map(cell_text)
        .unwrap_or_else(|| NO_BASELINE.into());
    out.push_str(&format!(
        "\n{}\n",
        p.paint(
            BOLD,
            &format!(
                "Benchmark group \"{}\" ({}), baseline: {baseline}",
                cell_text(&g.name),
                cell_text(&g.file)
            )
        )
    ));
    out.push_str(&format!("{}\n", table(run, g, p.color)));
    for f in &g.failures {
        let detail = match f.traceback.as_deref() {
            Some(tb) => Some(tb),
            None if shorten(&f.error, ERROR_CELL_CHARS) != f.error => Some(f.error.as_str()),
            None => None,
        };
        if let Some(text) = detail {
            out.push_str(&format!(
                "{}\n{}\n",
                p.paint(RED, &format!("── failed: {}", cell_text(&f.entry))),
                printable(text.trim_end())
            ));
        }
    }
    for w in &g.warnings {
        let line = match &w.entry {
            Some(name) => format!("warning: {}: {}", printable(name), printable(&w.text)),
            None => format!("warning: {}", printable(&w.text)),
        };
        out.push_str(&format!("{}\n", p.paint(YELLOW, &line)));
    }
}

fn table(run: &Run, g: &Group, color: bool) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    // comfy-table styles only on a terminal by default; the caller has already decided.
    if color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    table.set_header(run.headers.clone());
    for row in &g.rows {
        table.add_row(row.cells.iter().enumerate().map(|(i, c)| {
            // A long error would stretch every row; the whole of it is printed below.
            let text = if row.failed && i == 1 {
                shorten(&c.text, ERROR_CELL_CHARS)
            } else {
                c.text.clone()
            };
            let cell = Cell::new(cell_text(&text));
            match (color, c.tone) {
                (true, Tone::Good) => cell.fg(Color::DarkGreen),
                (true, Tone::Bad | Tone::Failed) => cell.fg(Color::DarkRed),
                _ => cell,
            }
        }));
    }
    for col in NUMERIC_COLUMNS {
        if let Some(c) = table.column_mut(col) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

/// Under the tables: the harness, the comparison, warnings, the save and the gate's verdict.
fn notes(out: &mut String, run: &Run, p: &Painter) {
    if let Some(h) = &run.harness {
        out.push_str(&format!("harness overhead: {h}\n"));
    }
    if let Some(model::Compared {
        baseline,
        how: Some(how),
    }) = &run.compared
    {
        out.push_str(&format!(
            "compared with baseline {}: {}\n",
            printable(baseline),
            printable(how)
        ));
    }
    for w in &run.warnings {
        out.push_str(&format!(
            "{}\n",
            p.paint(YELLOW, &format!("warning: {}", printable(w)))
        ));
    }
    if let Some(path) = &run.saved_to {
        out.push_str(&format!("saved baseline to {}\n", printable(path)));
    }
    if !run.regressions.is_empty() {
        let list: Vec<String> = run.regressions.iter().map(|r| printable(r)).collect();
        out.push_str(&format!(
            "{}\n",
            p.paint(
                &format!("{BOLD}{RED}"),
                &format!("REGRESSIONS (--fail-on): {}", list.join(", "))
            )
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{self, entry, failed, group, run, sorting};
    use super::*;
    use crate::bench::BenchRun;
    use crate::bench::stats::Verdict;

    fn show(run: &BenchRun, color: bool) -> String {
        render(&Run::of(run), color)
    }

    #[test]
    fn console_shows_every_entry_and_verdict() {
        let out = show(&run(vec![sorting()]), false);
        assert!(
            out.contains(
                "Benchmark group \"sort 1000 ints\" (benches/bench_x.py), baseline: sorted"
            )
        );
        for name in ["sorted", "list.sort", "cached", "broken"] {
            assert!(out.contains(name), "{name} missing:\n{out}");
        }
        assert!(out.contains("6.36 µs"), "{out}");
        assert!(out.contains("43.1 ns"));
        assert!(out.contains("1.65x [1.62, 1.68]"), "{out}");
        assert!(out.contains("slower") && out.contains("faster") && out.contains("baseline"));
        assert!(out.contains("failed") && out.contains("ValueError: this entry fails"));
        assert!(out.contains("── failed: broken\nTraceback (most recent call last):"));
        assert!(out.contains("warning: list.sort: unstable"));
        assert!(out.contains(
            "harness overhead: 43.1 ns per call (an empty entry); timer resolution 1 ns"
        ));
        assert!(!out.contains('\x1b'), "{out}");
        assert!(!out.contains("REGRESSIONS"));
    }

    #[test]
    fn console_colours_only_when_asked() {
        let r = fixtures::compared(run(vec![sorting()]));
        let plain = show(&r, false);
        assert!(!plain.contains('\x1b'));
        let out = show(&r, true);
        assert!(out.contains('\x1b'));
        assert!(out.contains(&format!("{YELLOW}warning: list.sort")));
        assert!(out.contains("REGRESSIONS (--fail-on): sort 1000 ints::list.sort (+20.3%)"));
        assert!(plain.contains("vs main"));
        assert!(plain.contains("1.20x [1.18, 1.22] slower"));
        assert!(plain.contains("not in baseline"));
        // Colours are applied after comfy-table measured the cells: the rows keep one width.
        let widths: Vec<usize> = plain
            .lines()
            .filter(|l| l.starts_with('│'))
            .map(|l| l.chars().count())
            .collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{plain}");
    }

    #[test]
    fn console_long_errors_are_cut_in_the_table_and_shown_whole_below() {
        let long = format!("RuntimeError: {}\nsecond line", "x".repeat(100));
        let mut f = failed("long", &long);
        f.raw.traceback = None;
        let g = group(
            "g",
            "a",
            vec![entry("a", 100.0, 5, Verdict::Baseline, 1.0), f],
        );
        let out = show(&run(vec![g]), false);
        let cut = format!("RuntimeError: {}…", "x".repeat(45));
        assert!(out.contains(&cut), "{out}");
        assert!(out.contains(&format!("── failed: long\n{long}\n")), "{out}");
        assert_eq!(shorten("short", 60), "short");
        assert_eq!(shorten("one\ntwo", 60), "one …");
    }

    #[test]
    fn console_control_characters_are_visible() {
        let g = group(
            "bell\u{7}",
            "a",
            vec![
                entry("a\u{1b}[31m", 100.0, 5, Verdict::Baseline, 1.0),
                failed("b", "boom \u{7}"),
            ],
        );
        let out = show(&run(vec![g]), false);
        assert!(!out.contains('\u{7}') && !out.contains('\x1b'), "{out}");
        assert!(out.contains("\\u{001b}[31m"));
    }

    #[test]
    fn nothing_without_groups() {
        assert_eq!(show(&run(Vec::new()), true), "");
    }
}
