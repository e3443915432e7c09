//! Benchmark results for people: tables per group for the console and markdown.
//!
//! The cells are built once here (plain text plus a tone) and each format escapes and colours
//! them its own way, so the console, markdown and HTML tables always say the same thing.
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, CellAlignment, Color, Table};

use super::markdown::{fenced, inline};
use super::text::printable;
use crate::bench::BenchRun;
use crate::bench::analyze::{EntryReport, GroupReport};
use crate::bench::stats::Verdict;

const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

/// Time units from the smallest up: the divisor from nanoseconds and the symbol.
const TIME_UNITS: [(f64, &str); 4] = [(1.0, "ns"), (1e3, "µs"), (1e6, "ms"), (1e9, "s")];

/// How a cell should stand out; each format maps this to its own styling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tone {
    Plain,
    Baseline,
    Good,
    Bad,
    Failed,
}

#[derive(Debug, Clone)]
pub(super) struct Field {
    pub text: String,
    pub tone: Tone,
}

fn plain(text: String) -> Field {
    Field {
        text,
        tone: Tone::Plain,
    }
}

/// `x` rounded to three significant digits, so the unit is picked after rounding
/// (999.7 ns is `1.00 µs`, not `1000 ns`).
fn round_sig3(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let factor = 10f64.powi(2 - x.abs().log10().floor() as i32);
    (x * factor).round() / factor
}

/// Decimals that give three significant digits for a value already in its unit.
fn decimals_for(v: f64) -> usize {
    let a = v.abs();
    if a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        3
    }
}

/// The unit a time is best read in: the largest one it is at least 1 of.
pub(super) fn time_unit(ns: f64) -> (f64, &'static str) {
    let r = round_sig3(ns).abs();
    TIME_UNITS
        .iter()
        .rev()
        .find(|(scale, _)| r >= *scale)
        .copied()
        .unwrap_or(TIME_UNITS[0])
}

/// Nanoseconds for people, three significant digits in the unit that fits:
/// `43.1 ns`, `6.36 µs`, `1.25 ms`.
pub(super) fn fmt_ns(ns: f64) -> String {
    if !ns.is_finite() {
        return "n/a".into();
    }
    if ns == 0.0 {
        return "0 ns".into();
    }
    let (scale, unit) = time_unit(ns);
    let v = round_sig3(ns) / scale;
    format!("{v:.*} {unit}", decimals_for(v))
}

/// The timer's resolution: usually a whole number of nanoseconds, which reads best bare (`1 ns`).
fn fmt_resolution(ns: f64) -> String {
    if ns.is_finite() && ns.fract() == 0.0 && ns < 1000.0 {
        format!("{ns:.0} ns")
    } else {
        fmt_ns(ns)
    }
}

/// A median and its interval, the bounds in the median's unit and precision so they compare
/// at a glance: `6.36 µs [6.30, 6.41]`.
fn fmt_ns_ci(ns: f64, ci: [f64; 2]) -> String {
    if !ns.is_finite() || ns == 0.0 {
        return fmt_ns(ns);
    }
    let (scale, _) = time_unit(ns);
    let d = decimals_for(round_sig3(ns) / scale);
    format!(
        "{} [{:.*}, {:.*}]",
        fmt_ns(ns),
        d,
        ci[0] / scale,
        d,
        ci[1] / scale
    )
}

/// Operations per second for people: `157k`, `1.2M`, `523`.
pub(super) fn fmt_ops(ops: f64) -> String {
    if !ops.is_finite() || ops <= 0.0 {
        return "n/a".into();
    }
    const UNITS: [(f64, &str); 5] = [(1.0, ""), (1e3, "k"), (1e6, "M"), (1e9, "G"), (1e12, "T")];
    let mut i = UNITS
        .iter()
        .rposition(|(scale, _)| ops >= *scale)
        .unwrap_or(0);
    loop {
        let (scale, unit) = UNITS[i];
        let s = ops / scale;
        // Two digits are plenty for a rate; more would only repeat the median's noise.
        let text = if s >= 9.95 {
            format!("{s:.0}")
        } else if s >= 1.0 || i > 0 {
            format!("{s:.1}")
        } else {
            format!("{s:.2}")
        };
        // 999.7k rounds to 1000k: read it as 1.0M instead.
        if text.parse::<f64>().unwrap_or(0.0) >= 1000.0 && i + 1 < UNITS.len() {
            i += 1;
            continue;
        }
        return format!("{text}{unit}");
    }
}

/// `1.65x [1.61, 1.70]`; the interval is left out when it is exactly the point (the baseline).
pub(super) fn fmt_ratio(ratio: f64, ci: Option<[f64; 2]>) -> String {
    if !ratio.is_finite() {
        return "n/a".into();
    }
    // Two decimals, or two significant digits for tiny ratios (0.0068x, not 0.01x).
    let d = match ratio.abs() {
        r if r >= 100.0 => 0,
        r if r >= 10.0 => 1,
        r if r >= 0.1 || r == 0.0 => 2,
        r => (-r.log10()).ceil() as usize + 1,
    };
    match ci {
        Some([lo, hi]) if !(lo == ratio && hi == ratio) => {
            format!("{ratio:.d$}x [{lo:.d$}, {hi:.d$}]")
        }
        _ => format!("{ratio:.d$}x"),
    }
}

pub(super) fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Baseline => "baseline",
        Verdict::Faster => "faster",
        Verdict::Slower => "slower",
        Verdict::Same => "same",
    }
}

fn verdict_tone(v: Verdict) -> Tone {
    match v {
        Verdict::Baseline => Tone::Baseline,
        Verdict::Faster => Tone::Good,
        Verdict::Slower => Tone::Bad,
        Verdict::Same => Tone::Plain,
    }
}

/// Column titles, the saved-run comparison last when there is one.
pub(super) fn headers(run: &BenchRun) -> Vec<String> {
    let mut h: Vec<String> = [
        "Entry",
        "Median (95% CI)",
        "Mean ± SD",
        "P95",
        "ops/s",
        "Ratio (95% CI)",
        "Verdict",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some(name) = &run.compared_to {
        h.push(format!("vs {name}"));
    }
    h
}

/// Columns holding numbers, for right alignment.
pub(super) const NUMERIC_COLUMNS: [usize; 5] = [1, 2, 3, 4, 5];

/// An entry without statistics: its error, or why there is nothing to show.
pub(super) fn failure_text(e: &EntryReport) -> String {
    e.raw
        .error
        .clone()
        .filter(|m| !m.trim().is_empty())
        .unwrap_or_else(|| {
            if e.raw.samples_ns.is_empty() {
                "no samples".into()
            } else {
                "no usable samples".into()
            }
        })
}

/// One table row as plain text. A failed entry has its error in the median column and
/// `failed` as its verdict.
pub(super) fn row(run: &BenchRun, e: &EntryReport) -> Vec<Field> {
    let mut cells = vec![plain(e.raw.name.clone())];
    match &e.stats {
        Some(s) => {
            cells.push(plain(fmt_ns_ci(s.median_ns, s.median_ci_ns)));
            cells.push(plain(format!(
                "{} ± {}",
                fmt_ns(s.mean_ns),
                fmt_ns(s.stddev_ns)
            )));
            cells.push(plain(fmt_ns(s.p95_ns)));
            cells.push(plain(fmt_ops(s.ops_per_sec)));
            cells.push(plain(
                e.ratio
                    .map(|r| fmt_ratio(r, e.ratio_ci))
                    .unwrap_or_default(),
            ));
            cells.push(match e.verdict {
                Some(v) => Field {
                    text: verdict_word(v).into(),
                    tone: verdict_tone(v),
                },
                None => plain(String::new()),
            });
            if run.compared_to.is_some() {
                cells.push(match &e.vs_saved {
                    Some(d) => Field {
                        text: format!(
                            "{} {}",
                            fmt_ratio(d.ratio, Some(d.ratio_ci)),
                            verdict_word(d.verdict)
                        ),
                        tone: verdict_tone(d.verdict),
                    },
                    None => plain("not in baseline".into()),
                });
            }
        }
        None => {
            cells.push(plain(failure_text(e)));
            cells.extend((0..4).map(|_| plain(String::new())));
            cells.push(Field {
                text: "failed".into(),
                tone: Tone::Failed,
            });
            if run.compared_to.is_some() {
                cells.push(plain(String::new()));
            }
        }
    }
    cells
}

/// `43.1 ns per call (an empty entry); timer resolution 1 ns`
pub(super) fn harness_text(run: &BenchRun) -> Option<String> {
    run.harness.as_ref().map(|h| {
        format!(
            "{} per call (an empty entry); timer resolution {}",
            fmt_ns(h.overhead_ns),
            fmt_resolution(h.timer_resolution_ns)
        )
    })
}

/// Every warning of a group, its own first, each entry's prefixed with the entry's name.
pub(super) fn group_warnings(g: &GroupReport) -> Vec<(Option<&str>, &str)> {
    g.warnings
        .iter()
        .map(|w| (None, w.as_str()))
        .chain(g.entries.iter().flat_map(|e| {
            e.warnings
                .iter()
                .map(move |w| (Some(e.raw.name.as_str()), w.as_str()))
        }))
        .collect()
}

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

pub fn console(run: &BenchRun, color: bool) -> String {
    if run.groups.is_empty() {
        return String::new();
    }
    let paint = |style: &str, s: &str| {
        if color {
            format!("{style}{s}{RESET}")
        } else {
            s.to_string()
        }
    };
    let mut out = String::new();
    for g in &run.groups {
        let baseline = g
            .baseline
            .as_deref()
            .map(cell_text)
            .unwrap_or_else(|| "none (no entry succeeded)".into());
        out.push_str(&format!(
            "\n{}\n",
            paint(
                BOLD,
                &format!(
                    "Benchmark group \"{}\" ({}), baseline: {baseline}",
                    cell_text(&g.name),
                    cell_text(&g.file)
                )
            )
        ));
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED);
        // comfy-table styles only on a terminal by default; the caller has already decided.
        if color {
            table.enforce_styling();
        } else {
            table.force_no_tty();
        }
        table.set_header(headers(run));
        for e in &g.entries {
            let mut cells = row(run, e);
            if e.stats.is_none() {
                // A long error would stretch every row; the whole of it is printed below.
                if let Some(c) = cells.get_mut(1) {
                    c.text = shorten(&c.text, ERROR_CELL_CHARS);
                }
            }
            table.add_row(cells.into_iter().map(|c| {
                let cell = Cell::new(cell_text(&c.text));
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
        out.push_str(&format!("{table}\n"));
        for e in g.entries.iter().filter(|e| e.stats.is_none()) {
            let error = failure_text(e);
            let detail = match e.raw.traceback.as_deref().filter(|t| !t.trim().is_empty()) {
                Some(tb) => Some(tb),
                None if shorten(&error, ERROR_CELL_CHARS) != error => Some(error.as_str()),
                None => None,
            };
            if let Some(text) = detail {
                out.push_str(&format!(
                    "{}\n{}\n",
                    paint(RED, &format!("── failed: {}", cell_text(&e.raw.name))),
                    printable(text.trim_end())
                ));
            }
        }
        for (entry, w) in group_warnings(g) {
            let line = match entry {
                Some(name) => format!("warning: {}: {}", printable(name), printable(w)),
                None => format!("warning: {}", printable(w)),
            };
            out.push_str(&format!("{}\n", paint(YELLOW, &line)));
        }
    }
    out.push('\n');
    if let Some(h) = harness_text(run) {
        out.push_str(&format!("harness overhead: {h}\n"));
    }
    if let (Some(name), Some(how)) = (&run.compared_to, &run.comparison) {
        out.push_str(&format!(
            "compared with baseline {}: {}\n",
            printable(name),
            printable(how)
        ));
    }
    for w in &run.warnings {
        out.push_str(&format!(
            "{}\n",
            paint(YELLOW, &format!("warning: {}", printable(w)))
        ));
    }
    if let Some(p) = &run.saved_to {
        out.push_str(&format!(
            "saved baseline to {}\n",
            printable(&p.display().to_string())
        ));
    }
    if !run.regressions.is_empty() {
        let list: Vec<String> = run
            .regressions
            .iter()
            .map(|r| printable(&r.to_string()))
            .collect();
        out.push_str(&format!(
            "{}\n",
            paint(
                &format!("{BOLD}{RED}"),
                &format!("REGRESSIONS (--fail-on): {}", list.join(", "))
            )
        ));
    }
    out
}

/// A GFM table row; every cell is escaped, so no content can add or remove a cell.
fn md_row<I: IntoIterator<Item = String>>(cells: I) -> String {
    let mut line = String::from("|");
    for c in cells {
        line.push(' ');
        line.push_str(&c);
        line.push_str(" |");
    }
    line.push('\n');
    line
}

pub fn markdown(run: &BenchRun) -> String {
    if run.groups.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n### Benchmarks\n");
    for g in &run.groups {
        out.push_str(&format!("\n#### {}\n\n", inline(&g.name)));
        out.push_str(&format!(
            "<code>{}</code> · baseline: {}\n\n",
            inline(&g.file),
            g.baseline
                .as_deref()
                .map(|b| format!("<code>{}</code>", inline(b)))
                .unwrap_or_else(|| "none (no entry succeeded)".into())
        ));
        let headers = headers(run);
        out.push_str(&md_row(headers.iter().map(|h| inline(h))));
        out.push_str(&md_row((0..headers.len()).map(|i| {
            if NUMERIC_COLUMNS.contains(&i) {
                "---:".to_string()
            } else {
                "---".to_string()
            }
        })));
        for e in &g.entries {
            out.push_str(&md_row(row(run, e).into_iter().enumerate().map(
                |(i, c)| {
                    let text = inline(&c.text);
                    match c.tone {
                        _ if text.is_empty() => text,
                        _ if i == 0 => format!("<code>{text}</code>"),
                        Tone::Baseline | Tone::Failed => format!("**{text}**"),
                        _ => text,
                    }
                },
            )));
        }
        for e in g.entries.iter().filter(|e| e.stats.is_none()) {
            out.push_str(&format!(
                "\n<details><summary><code>{}</code> failed: {}</summary>\n\n",
                inline(&e.raw.name),
                inline(&failure_text(e))
            ));
            if let Some(tb) = e.raw.traceback.as_deref().filter(|t| !t.trim().is_empty()) {
                out.push_str(&fenced(tb));
                out.push('\n');
            }
            out.push_str("</details>\n");
        }
        let warnings = group_warnings(g);
        if !warnings.is_empty() {
            out.push('\n');
            for (entry, w) in warnings {
                match entry {
                    Some(name) => out.push_str(&format!(
                        "- ⚠️ <code>{}</code>: {}\n",
                        inline(name),
                        inline(w)
                    )),
                    None => out.push_str(&format!("- ⚠️ {}\n", inline(w))),
                }
            }
        }
    }
    out.push('\n');
    if let Some(h) = harness_text(run) {
        out.push_str(&format!("Harness overhead: {}.", inline(&h)));
    }
    if let Some(name) = &run.compared_to {
        out.push_str(&format!(
            " Compared with baseline <code>{}</code>{}.",
            inline(name),
            run.comparison
                .as_deref()
                .map(|c| format!(": {}", inline(c)))
                .unwrap_or_default()
        ));
    }
    out.push('\n');
    if !run.warnings.is_empty() {
        out.push('\n');
        for w in &run.warnings {
            out.push_str(&format!("- ⚠️ {}\n", inline(w)));
        }
    }
    if let Some(p) = &run.saved_to {
        out.push_str(&format!(
            "\nSaved baseline to <code>{}</code>.\n",
            inline(&p.display().to_string())
        ));
    }
    if !run.regressions.is_empty() {
        let list: Vec<String> = run
            .regressions
            .iter()
            .map(|r| format!("<code>{}</code>", inline(&r.to_string())))
            .collect();
        out.push_str(&format!(
            "\n**❌ Regressions (--fail-on):** {}\n",
            list.join(", ")
        ));
    }
    out
}

/// Hand-built benchmark runs for the reports' tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::bench::BenchRun;
    use crate::bench::analyze::{BaselineDelta, DeltaSource, EntryReport, GroupReport};
    use crate::bench::baseline::gate::Metric;
    use crate::bench::baseline::{Environment, Regression};
    use crate::bench::stats::{Verdict, summarize};
    use crate::runner::event::{BenchEntry, BenchHarness, BenchStatus};

    /// An entry with `n` samples spread up to 2% around `center` (the median when `n` is a
    /// multiple of 11), compared as `verdict`.
    pub fn entry(name: &str, center: f64, n: usize, verdict: Verdict, ratio: f64) -> EntryReport {
        let samples_ns: Vec<f64> = (0..n)
            .map(|i| center * (1.0 + 0.02 * (((i * 7) % 11) as f64 - 5.0) / 5.0))
            .collect();
        let baseline = verdict == Verdict::Baseline;
        EntryReport {
            stats: summarize(&samples_ns, 7),
            raw: BenchEntry {
                name: name.into(),
                status: BenchStatus::Ok,
                error: None,
                traceback: None,
                is_async: false,
                iterations: 100,
                samples_ns,
            },
            ratio: Some(ratio),
            ratio_ci: Some(if baseline {
                [1.0, 1.0]
            } else {
                [ratio * 0.98, ratio * 1.02]
            }),
            p_value: (!baseline).then_some(0.001),
            verdict: Some(verdict),
            warnings: Vec::new(),
            vs_saved: None,
        }
    }

    pub fn failed(name: &str, error: &str) -> EntryReport {
        EntryReport {
            raw: BenchEntry {
                name: name.into(),
                status: BenchStatus::Failed,
                error: Some(error.into()),
                traceback: Some(format!(
                    "Traceback (most recent call last):\n  File \"bench_x.py\", line 3, in f\n{error}"
                )),
                is_async: false,
                iterations: 0,
                samples_ns: Vec::new(),
            },
            stats: None,
            ratio: None,
            ratio_ci: None,
            p_value: None,
            verdict: None,
            warnings: Vec::new(),
            vs_saved: None,
        }
    }

    pub fn group(name: &str, baseline: &str, entries: Vec<EntryReport>) -> GroupReport {
        GroupReport {
            name: name.into(),
            file: "benches/bench_x.py".into(),
            baseline: Some(baseline.into()),
            entries,
            warnings: Vec::new(),
            reference_ns: Vec::new(),
            rerun: Vec::new(),
            rerun_error: None,
        }
    }

    /// Three timed entries (baseline, slower, faster) and a failed one.
    pub fn sorting() -> GroupReport {
        let mut slow = entry("list.sort", 10_500.0, 11, Verdict::Slower, 1.65);
        slow.warnings
            .push("unstable: standard deviation is 12% of the mean".into());
        group(
            "sort 1000 ints",
            "sorted",
            vec![
                entry("sorted", 6360.1, 11, Verdict::Baseline, 1.0),
                slow,
                entry("cached", 43.06, 11, Verdict::Faster, 0.0068),
                failed("broken", "ValueError: this entry fails"),
            ],
        )
    }

    pub fn run(groups: Vec<GroupReport>) -> BenchRun {
        BenchRun {
            groups,
            harness: Some(BenchHarness {
                overhead_ns: 43.06,
                timer_resolution_ns: 1.0,
            }),
            environment: Environment::current("3.11.7"),
            noise: 0.02,
            compared_to: None,
            comparison: None,
            saved_to: None,
            warnings: Vec::new(),
            regressions: Vec::new(),
        }
    }

    /// `run` compared with a saved baseline `main`, one entry regressed.
    pub fn compared(mut run: BenchRun) -> BenchRun {
        run.compared_to = Some("main".into());
        run.comparison = Some(
            "\"main\"'s code (commit 0123456789) timed again in this run, each sample beside the current code's"
                .into(),
        );
        if let Some(e) = run.groups.first_mut().and_then(|g| g.entries.get_mut(1)) {
            e.vs_saved = Some(BaselineDelta {
                source: DeltaSource::Rerun,
                baseline_median_ns: 8_700.0,
                baseline_samples_ns: vec![8_650.0, 8_700.0, 8_760.0],
                ratio: 1.203,
                ratio_ci: [1.18, 1.22],
                p_value: 0.001,
                verdict: Verdict::Slower,
            });
        }
        run.regressions = vec![Regression {
            group: "sort 1000 ints".into(),
            entry: "list.sort".into(),
            metric: Metric::Median,
            ratio: 1.203,
            threshold: 0.05,
            p_value: 0.001,
            source: DeltaSource::Rerun,
        }];
        run
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fixtures::{entry, failed, group, run, sorting};

    #[test]
    fn humanised_units() {
        assert_eq!(fmt_ns(6360.1), "6.36 µs");
        assert_eq!(fmt_ns(43.06), "43.1 ns");
        assert_eq!(fmt_ns(1_250_000.0), "1.25 ms");
        assert_eq!(fmt_ns(999.7), "1.00 µs");
        assert_eq!(fmt_ns(2.5e9), "2.50 s");
        assert_eq!(fmt_ns(0.0), "0 ns");
        assert_eq!(fmt_ns(0.5), "0.500 ns");
        assert_eq!(fmt_ns(f64::NAN), "n/a");
        assert_eq!(fmt_ops(157_233.0), "157k");
        assert_eq!(fmt_ops(1_234_567.0), "1.2M");
        assert_eq!(fmt_ops(999_700.0), "1.0M");
        assert_eq!(fmt_ops(523.0), "523");
        assert_eq!(fmt_ops(0.25), "0.25");
        assert_eq!(fmt_ratio(1.6512, Some([1.61, 1.7])), "1.65x [1.61, 1.70]");
        assert_eq!(fmt_ratio(1.0, Some([1.0, 1.0])), "1.00x");
        assert_eq!(fmt_ratio(0.0068, None), "0.0068x");
        assert_eq!(fmt_ratio(12.34, None), "12.3x");
        assert_eq!(fmt_ns_ci(6360.1, [6300.0, 6410.0]), "6.36 µs [6.30, 6.41]");
        assert_eq!(fmt_resolution(1.0), "1 ns");
    }

    #[test]
    fn console_shows_every_entry_and_verdict() {
        let out = console(&run(vec![sorting()]), false);
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
        let plain = console(&r, false);
        assert!(!plain.contains('\x1b'));
        let out = console(&r, true);
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
        let out = console(&run(vec![g]), false);
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
        let out = console(&run(vec![g]), false);
        assert!(!out.contains('\u{7}') && !out.contains('\x1b'), "{out}");
        assert!(out.contains("\\u{001b}[31m"));
    }

    #[test]
    fn nothing_without_groups() {
        assert_eq!(console(&run(Vec::new()), true), "");
        assert_eq!(markdown(&run(Vec::new())), "");
    }

    /// Cells of a markdown table row: escaped content never holds a raw `|`.
    fn cells(line: &str) -> usize {
        line.matches('|').count()
    }

    #[test]
    fn markdown_tables_survive_hostile_names() {
        let nasty = "a|b <i>`c`</i> *d*";
        let g = group(
            nasty,
            nasty,
            vec![
                entry(nasty, 1000.0, 8, Verdict::Baseline, 1.0),
                entry("x|y", 2000.0, 8, Verdict::Slower, 2.0),
                failed("z|<w>`", "Error: | pipes | and `ticks` <b>"),
            ],
        );
        let out = markdown(&fixtures::compared(run(vec![g, sorting()])));
        assert!(out.starts_with("\n### Benchmarks\n"));
        assert!(out.contains("#### a&#124;b &lt;i&gt;&#96;c&#96;&lt;/i&gt; &#42;d&#42;"));
        // Raw markup only inside the fenced traceback, where it is literal.
        let outside_fences: String = out.split("```").step_by(2).collect();
        assert!(
            !outside_fences.contains("<i>") && !outside_fences.contains("<b>"),
            "{out}"
        );
        // Each table: a run of lines starting with `|`, all with the same number of cells.
        let mut tables: Vec<Vec<&str>> = Vec::new();
        let mut current: Vec<&str> = Vec::new();
        for line in out.lines() {
            if line.starts_with('|') {
                current.push(line);
            } else if !current.is_empty() {
                tables.push(std::mem::take(&mut current));
            }
        }
        assert_eq!(tables.len(), 2, "{out}");
        for t in &tables {
            assert!(t.len() >= 3, "{t:?}");
            let n = cells(t[0]);
            assert_eq!(n, 9, "{}", t[0]); // 8 columns with `vs main`
            for line in t {
                assert_eq!(cells(line), n, "{line}");
            }
        }
        assert!(out.contains("| **failed** |"));
        assert!(out.contains("<details><summary><code>z&#124;&lt;w&gt;&#96;</code> failed:"));
        assert!(out.contains("```text\nTraceback"));
        assert!(out.contains("- ⚠️ <code>list.sort</code>: unstable"));
        assert!(out.contains("Harness overhead: 43.1 ns per call"));
        assert!(out.contains("**❌ Regressions (--fail-on):**"));
    }
}
