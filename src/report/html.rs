//! `--html FILE`: a self-contained page with, per benchmark group, a chart of each entry's
//! sample distribution beside its table.
//!
//! Self-contained means no scripts, fonts, stylesheets or images from anywhere: the page is
//! often opened from a CI artifact or an air-gapped machine, so everything is inline.
use std::fmt::Write as _;

use super::bench_view::{
    NUMERIC_COLUMNS, Tone, failure_text, fmt_ns, group_warnings, harness_text, headers, row,
    time_unit,
};
use super::{Exporter, RunReport};
use crate::bench::BenchRun;
use crate::bench::analyze::{EntryReport, GroupReport};
use crate::bench::stats::Verdict;

pub struct Html;

/// Chart geometry, in SVG user units (pixels at 100%).
const WIDTH: f64 = 640.0;
/// Right edge of the entry names; the plot starts a little after it.
const LABEL_RIGHT: f64 = 162.0;
const PLOT_LEFT: f64 = 172.0;
const PLOT_RIGHT: f64 = 624.0;
const TOP: f64 = 10.0;
const ROW_HEIGHT: f64 = 30.0;
/// Room under the rows for tick labels and the axis title.
const AXIS_HEIGHT: f64 = 42.0;
/// Names longer than this are cut in the chart (the table and the tooltip have them whole).
const LABEL_CHARS: usize = 22;
/// More dots than this per entry only make a smear and a big file; the box shows the rest.
const MAX_DOTS: usize = 400;

const CSS: &str = r#"
:root{--fg:#1f2328;--muted:#59636e;--bg:#fff;--panel:#f6f8fa;--line:#d1d9e0;--dot:#0969da;
--base:#0969da;--good:#1a7f37;--bad:#cf222e;--warn:#9a6700;--band:#ddf4ff}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;
--panel:#151b23;--line:#3d444d;--dot:#4493f8;--base:#4493f8;--good:#3fb950;--bad:#f85149;
--warn:#d29922;--band:#12263f}}
*{box-sizing:border-box}
body{margin:0;padding:1.5rem;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--fg);background:var(--bg)}
h1{font-size:1.5rem;margin:0 0 .25rem}
h2{font-size:1.15rem;margin:0 0 .25rem}
header,section,footer{max-width:1400px;margin:0 auto 1.5rem}
.muted{color:var(--muted)}
dl.env{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.75rem 0 0}
dl.env dt{color:var(--muted)}dl.env dd{margin:0}
section{border:1px solid var(--line);border-radius:8px;padding:1rem;background:var(--panel)}
.side{display:flex;flex-wrap:wrap;gap:1.25rem;align-items:flex-start;margin-top:.75rem}
.chart{flex:1 1 480px;max-width:640px;min-width:0}
.chart svg{width:100%;height:auto;display:block}
.tablebox{flex:1 1 520px;min-width:0;overflow-x:auto}
table{border-collapse:collapse;width:100%;background:var(--bg)}
th,td{border:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:var(--panel);white-space:nowrap}
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.error{color:var(--bad);white-space:pre-wrap;word-break:break-word}
.baseline{color:var(--base);font-weight:600}.good{color:var(--good);font-weight:600}
.bad,.failed{color:var(--bad);font-weight:600}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.92em}
pre{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:.6rem;overflow-x:auto}
ul.warnings{margin:.75rem 0 0;padding-left:1.25rem;color:var(--warn)}
details{margin-top:.75rem}summary{cursor:pointer}
.regressions{color:var(--bad);font-weight:600}
svg text{fill:var(--fg);font-size:12px}
svg .tick{fill:var(--muted);font-size:11px}
svg .grid{stroke:var(--line);stroke-width:1}
svg .axis{stroke:var(--muted);stroke-width:1}
svg .band{fill:var(--band)}
svg .dot{fill:var(--dot);fill-opacity:.35}
svg .box{fill:var(--bg);fill-opacity:.6;stroke:var(--muted);stroke-width:1.2}
svg .box.base{stroke:var(--base);stroke-width:2}svg .box.good{stroke:var(--good)}svg .box.bad{stroke:var(--bad)}
svg .med{stroke:var(--fg);stroke-width:2}
svg .whisker{stroke:var(--muted);stroke-width:1}
svg text.base{font-weight:700;fill:var(--base)}
svg text.failed{fill:var(--bad);font-weight:600}
"#;

/// HTML-escapes text for element content and attribute values alike; control characters
/// (not allowed in HTML) are shown as `\u{..}` like the console does.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// `n` in user units, short enough to keep the SVG small.
fn px(n: f64) -> String {
    format!("{n:.1}")
}

/// A "nice" tick step (1, 2 or 5 times a power of ten) giving about `target` intervals.
fn nice_step(span: f64, target: f64) -> f64 {
    let raw = span / target;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// The horizontal axis of one group: a linear scale over every sample of its entries.
struct Axis {
    lo: f64,
    hi: f64,
    step: f64,
}

impl Axis {
    /// From 0 when the entries differ a lot (so lengths compare honestly), else from near
    /// the fastest sample (so close entries' distributions stay readable).
    fn new(min: f64, max: f64) -> Axis {
        let (min, max) = if min.is_finite() && max.is_finite() && max > 0.0 {
            (min.max(0.0), max)
        } else {
            (0.0, 1.0)
        };
        let start = if min < max * 0.5 { 0.0 } else { min };
        let span = if max > start { max - start } else { max * 0.1 };
        let step = nice_step(span, 5.0);
        let lo = ((start / step).floor() * step).max(0.0);
        let mut hi = (max / step).ceil() * step;
        if hi <= lo {
            hi = lo + step;
        }
        Axis { lo, hi, step }
    }

    fn x(&self, v: f64) -> f64 {
        let t = ((v - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0);
        PLOT_LEFT + t * (PLOT_RIGHT - PLOT_LEFT)
    }

    fn ticks(&self) -> Vec<f64> {
        let n = ((self.hi - self.lo) / self.step).round() as usize;
        (0..=n).map(|i| self.lo + i as f64 * self.step).collect()
    }
}

/// A tick label in `unit`, with just the decimals the step needs.
fn tick_label(v: f64, step: f64, scale: f64) -> String {
    let decimals = (-(step / scale).log10()).ceil().clamp(0.0, 3.0) as usize;
    format!("{:.*}", decimals, v / scale)
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let head: String = s.chars().take(max - 1).collect();
        format!("{head}…")
    }
}

/// Vertical offset for sample `i`, spread over ±`half`: deterministic, so the same run always
/// draws the same picture, and scattered so neighbours in time do not stack.
fn jitter(i: usize, half: f64) -> f64 {
    let k = (i * 7919) % 23;
    (k as f64 / 22.0 - 0.5) * 2.0 * half
}

fn verdict_class(v: Option<Verdict>) -> &'static str {
    match v {
        Some(Verdict::Baseline) => " base",
        Some(Verdict::Faster) => " good",
        Some(Verdict::Slower) => " bad",
        _ => "",
    }
}

/// One group's sample distributions: a row per entry with its dots, a P25–P75 box with the
/// median, and whiskers to the extremes.
fn chart(g: &GroupReport) -> String {
    let finite = |e: &EntryReport| -> Vec<f64> {
        e.raw
            .samples_ns
            .iter()
            .copied()
            .filter(|x| x.is_finite())
            .collect()
    };
    let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
    for e in g.entries.iter().filter(|e| e.stats.is_some()) {
        for v in finite(e) {
            min = min.min(v);
            max = max.max(v);
        }
        if let Some(s) = &e.stats {
            min = min.min(s.min_ns);
            max = max.max(s.max_ns);
        }
    }
    let axis = Axis::new(min, max);
    let rows = g.entries.len().max(1) as f64;
    let plot_bottom = TOP + rows * ROW_HEIGHT;
    let height = plot_bottom + AXIS_HEIGHT;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="Sample distribution per entry of {name}"><title>Time per call of each sample, {name}</title>"#,
        w = WIDTH,
        h = px(height),
        name = escape(&g.name)
    );
    let (scale, unit) = time_unit(axis.hi);
    // Grid and tick labels first, so the data is drawn over them.
    for t in axis.ticks() {
        let x = px(axis.x(t));
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{x}" x2="{x}" y1="{}" y2="{}"/><text class="tick" x="{x}" y="{}" text-anchor="middle">{}</text>"#,
            px(TOP),
            px(plot_bottom),
            px(plot_bottom + 15.0),
            tick_label(t, axis.step, scale)
        );
    }
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{l}" x2="{r}" y1="{y}" y2="{y}"/><text class="tick" x="{mid}" y="{ty}" text-anchor="middle">time per call ({unit})</text>"#,
        l = px(PLOT_LEFT),
        r = px(PLOT_RIGHT),
        y = px(plot_bottom),
        mid = px((PLOT_LEFT + PLOT_RIGHT) / 2.0),
        ty = px(plot_bottom + 34.0),
    );
    for (i, e) in g.entries.iter().enumerate() {
        let cy = TOP + (i as f64 + 0.5) * ROW_HEIGHT;
        let is_base = g.baseline.as_deref() == Some(e.raw.name.as_str()) && e.stats.is_some();
        let tip = match &e.stats {
            Some(s) => format!(
                "{}: median {}, P25–P75 {} – {}, min {}, max {}, {} samples",
                e.raw.name,
                fmt_ns(s.median_ns),
                fmt_ns(s.p25_ns),
                fmt_ns(s.p75_ns),
                fmt_ns(s.min_ns),
                fmt_ns(s.max_ns),
                e.raw.samples_ns.len()
            ),
            None => format!("{}: failed", e.raw.name),
        };
        let _ = write!(svg, "<g><title>{}</title>", escape(&tip));
        if is_base {
            let _ = write!(
                svg,
                r#"<rect class="band" x="0" y="{}" width="{WIDTH}" height="{ROW_HEIGHT}" rx="3"/>"#,
                px(cy - ROW_HEIGHT / 2.0)
            );
        }
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end"{}>{}</text>"#,
            px(LABEL_RIGHT),
            px(cy + 4.0),
            if is_base { r#" class="base""# } else { "" },
            escape(&truncate(&e.raw.name, LABEL_CHARS))
        );
        match &e.stats {
            Some(s) => {
                let (x_min, x25, x50, x75, x_max) = (
                    axis.x(s.min_ns),
                    axis.x(s.p25_ns),
                    axis.x(s.median_ns),
                    axis.x(s.p75_ns),
                    axis.x(s.max_ns),
                );
                let y = px(cy);
                let (cap_lo, cap_hi) = (px(cy - 5.0), px(cy + 5.0));
                let _ = write!(
                    svg,
                    r#"<path class="whisker" d="M{a} {y}H{b}M{c} {y}H{d}M{a} {cap_lo}V{cap_hi}M{d} {cap_lo}V{cap_hi}"/>"#,
                    a = px(x_min),
                    b = px(x25),
                    c = px(x75),
                    d = px(x_max),
                );
                let _ = write!(
                    svg,
                    r#"<rect class="box{}" x="{}" y="{}" width="{}" height="16" rx="2"/>"#,
                    verdict_class(e.verdict),
                    px(x25),
                    px(cy - 8.0),
                    px((x75 - x25).max(1.0))
                );
                let samples = finite(e);
                let stride = samples.len().div_ceil(MAX_DOTS).max(1);
                for (j, v) in samples.iter().enumerate().step_by(stride) {
                    let _ = write!(
                        svg,
                        r#"<circle class="dot" cx="{}" cy="{}" r="2.2"/>"#,
                        px(axis.x(*v)),
                        px(cy + jitter(j, ROW_HEIGHT * 0.3))
                    );
                }
                let _ = write!(
                    svg,
                    r#"<path class="med" d="M{x} {}V{}"/>"#,
                    px(cy - 10.0),
                    px(cy + 10.0),
                    x = px(x50)
                );
            }
            None => {
                let _ = write!(
                    svg,
                    r#"<text class="failed" x="{}" y="{}">failed</text>"#,
                    px(PLOT_LEFT),
                    px(cy + 4.0)
                );
            }
        }
        svg.push_str("</g>");
    }
    svg.push_str("</svg>");
    svg
}

fn tone_class(t: Tone) -> &'static str {
    match t {
        Tone::Plain => "",
        Tone::Baseline => "baseline",
        Tone::Good => "good",
        Tone::Bad => "bad",
        Tone::Failed => "failed",
    }
}

/// The group's table: the console's and markdown's columns; a failed entry's error spans
/// the number columns.
fn table(run: &BenchRun, g: &GroupReport) -> String {
    let mut t = String::from("<table><thead><tr>");
    for h in headers(run) {
        let _ = write!(t, "<th>{}</th>", escape(&h));
    }
    t.push_str("</tr></thead><tbody>");
    for e in &g.entries {
        t.push_str("<tr>");
        let cells = row(run, e);
        let failed = e.stats.is_none();
        for (i, c) in cells.iter().enumerate() {
            if i == 0 {
                let _ = write!(t, "<td><code>{}</code></td>", escape(&c.text));
            } else if failed && i == 1 {
                let _ = write!(
                    t,
                    r#"<td class="error" colspan="{}">{}</td>"#,
                    NUMERIC_COLUMNS.len(),
                    escape(&c.text)
                );
            } else if failed && NUMERIC_COLUMNS.contains(&i) {
                // Covered by the error's colspan.
            } else {
                let mut class = tone_class(c.tone).to_string();
                if NUMERIC_COLUMNS.contains(&i) {
                    class = format!("num {class}").trim().to_string();
                }
                if class.is_empty() {
                    let _ = write!(t, "<td>{}</td>", escape(&c.text));
                } else {
                    let _ = write!(t, r#"<td class="{class}">{}</td>"#, escape(&c.text));
                }
            }
        }
        t.push_str("</tr>");
    }
    t.push_str("</tbody></table>");
    t
}

fn section(run: &BenchRun, g: &GroupReport) -> String {
    let mut s = String::from("<section>");
    let _ = write!(
        s,
        r#"<h2>{}</h2><div class="muted"><code>{}</code> · baseline: {}</div>"#,
        escape(&g.name),
        escape(&g.file),
        g.baseline
            .as_deref()
            .map(|b| format!(r#"<code class="baseline">{}</code>"#, escape(b)))
            .unwrap_or_else(|| "none (no entry succeeded)".into())
    );
    let _ = write!(
        s,
        r#"<div class="side"><div class="chart">{}</div><div class="tablebox">{}</div></div>"#,
        chart(g),
        table(run, g)
    );
    for e in g.entries.iter().filter(|e| e.stats.is_none()) {
        let _ = write!(
            s,
            r#"<details><summary><code>{}</code> <span class="failed">failed</span>: {}</summary>"#,
            escape(&e.raw.name),
            escape(&failure_text(e))
        );
        if let Some(tb) = e.raw.traceback.as_deref().filter(|t| !t.trim().is_empty()) {
            let _ = write!(s, "<pre>{}</pre>", escape(tb.trim_end()));
        }
        s.push_str("</details>");
    }
    let warnings = group_warnings(g);
    if !warnings.is_empty() {
        s.push_str(r#"<ul class="warnings">"#);
        for (entry, w) in warnings {
            match entry {
                Some(name) => {
                    let _ = write!(
                        s,
                        "<li>warning: <code>{}</code>: {}</li>",
                        escape(name),
                        escape(w)
                    );
                }
                None => {
                    let _ = write!(s, "<li>warning: {}</li>", escape(w));
                }
            }
        }
        s.push_str("</ul>");
    }
    s.push_str("</section>");
    s
}

fn header(report: &RunReport) -> String {
    let mut h = String::from("<header><h1>dbtest benchmarks</h1>");
    let _ = write!(
        h,
        r#"<div class="muted">dbtest {} · Python {}</div>"#,
        escape(&report.dbtest_version),
        escape(&report.python_version)
    );
    if let Some(run) = &report.benchmarks {
        let env = &run.environment;
        let entries: usize = run.groups.iter().map(|g| g.entries.len()).sum();
        h.push_str(r#"<dl class="env">"#);
        let mut item = |k: &str, v: String| {
            let _ = write!(h, "<dt>{k}</dt><dd>{v}</dd>");
        };
        item("CPU", escape(&env.cpu));
        item("OS", format!("{} ({})", escape(&env.os), escape(&env.arch)));
        item("Host", escape(&env.hostname));
        if let Some(t) = harness_text(run) {
            item("Harness overhead", escape(&t));
        }
        item(
            "Benchmarks",
            format!(
                "{} group{}, {entries} entr{}; differences under {}% count as the same",
                run.groups.len(),
                if run.groups.len() == 1 { "" } else { "s" },
                if entries == 1 { "y" } else { "ies" },
                escape(&format!("{}", (run.noise * 1000.0).round() / 10.0))
            ),
        );
        if let Some(name) = &run.compared_to {
            item(
                "Compared with",
                format!(
                    "baseline <code>{}</code>{}",
                    escape(name),
                    run.comparison
                        .as_deref()
                        .map(|c| format!(": {}", escape(c)))
                        .unwrap_or_default()
                ),
            );
        }
        h.push_str("</dl>");
    }
    h.push_str("</header>");
    h
}

fn footer(run: &BenchRun) -> String {
    let mut f = String::new();
    if !run.regressions.is_empty() {
        let list: Vec<String> = run
            .regressions
            .iter()
            .map(|r| format!("<code>{}</code>", escape(&r.to_string())))
            .collect();
        let _ = write!(
            f,
            r#"<p class="regressions">Regressions (--fail-on): {}</p>"#,
            list.join(", ")
        );
    }
    if !run.warnings.is_empty() {
        f.push_str(r#"<ul class="warnings">"#);
        for w in &run.warnings {
            let _ = write!(f, "<li>warning: {}</li>", escape(w));
        }
        f.push_str("</ul>");
    }
    if let Some(p) = &run.saved_to {
        let _ = write!(
            f,
            "<p>Saved baseline to <code>{}</code>.</p>",
            escape(&p.display().to_string())
        );
    }
    if f.is_empty() {
        f
    } else {
        format!("<footer>{f}</footer>")
    }
}

impl Exporter for Html {
    fn render(&self, report: &RunReport) -> String {
        let mut page = String::from(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>dbtest benchmarks</title>\n<style>",
        );
        page.push_str(CSS);
        page.push_str("</style>\n</head>\n<body>\n");
        page.push_str(&header(report));
        page.push('\n');
        match report.benchmarks.as_ref().filter(|b| !b.groups.is_empty()) {
            Some(run) => {
                page.push_str("<main>\n");
                for g in &run.groups {
                    page.push_str(&section(run, g));
                    page.push('\n');
                }
                page.push_str("</main>\n");
                page.push_str(&footer(run));
            }
            None => page.push_str("<main><p>No benchmarks ran in this run.</p></main>"),
        }
        page.push_str("\n</body>\n</html>\n");
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::bench_view::fixtures::{compared, entry, failed, group, run, sorting};
    use crate::report::fixtures;

    fn page(run: Option<BenchRun>) -> String {
        let mut report = fixtures::report();
        report.benchmarks = run;
        Html.render(&report)
    }

    #[test]
    fn escape_covers_the_five() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>\u{7}"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\\u{0007}"
        );
    }

    #[test]
    fn page_without_benchmarks() {
        let out = page(None);
        assert!(out.starts_with("<!doctype html>"));
        assert!(out.contains("<title>dbtest benchmarks</title>"));
        assert!(out.contains("No benchmarks ran in this run."));
        assert!(!out.contains("<svg"));
        assert!(page(Some(run(Vec::new()))).contains("No benchmarks ran in this run."));
    }

    #[test]
    fn one_chart_per_group_and_a_dot_per_sample() {
        let small = group(
            "small",
            "a",
            vec![
                entry("a", 1000.0, 5, Verdict::Baseline, 1.0),
                entry("b", 1500.0, 7, Verdict::Slower, 1.5),
                failed("c", "boom"),
            ],
        );
        let out = page(Some(run(vec![small, sorting()])));
        assert_eq!(out.matches("<svg").count(), 2);
        let first = &out[out.find("<svg").unwrap()..out.find("</svg>").unwrap()];
        assert_eq!(first.matches("<circle").count(), 12, "{first}");
        assert_eq!(first.matches(r#"class="box"#).count(), 2);
        assert!(first.contains(r#"class="failed""#));
        assert!(
            first.contains(r#"<text x="162.0" y="29.0" text-anchor="end" class="base">a</text>"#)
        );
        assert!(first.contains("time per call (µs)"));
        assert!(out.contains(r#"<td class="num good">"#) || out.contains(r#"<td class="good">"#));
        assert!(out.contains(r#"<td class="bad">slower</td>"#), "{out}");
        assert!(out.contains(r#"<td class="error" colspan="5">boom</td>"#));
        assert!(out.contains("6.36 µs"));
    }

    #[test]
    fn user_text_is_escaped_and_nothing_is_fetched() {
        let evil = "<script>alert('x')</script>";
        let mut g = group(
            evil,
            evil,
            vec![
                entry(evil, 1000.0, 5, Verdict::Baseline, 1.0),
                failed("f\"'&", "<img src=x onerror=alert(1)>"),
            ],
        );
        g.file = "<b>file</b>".into();
        g.warnings.push("<i>careful</i>".into());
        let mut r = compared(run(vec![g]));
        r.warnings.push("<script>w</script>".into());
        let out = page(Some(r));
        assert!(!out.contains("<script"), "{out}");
        assert!(!out.contains("<img"));
        assert!(!out.contains("<b>file") && !out.contains("<i>careful"));
        assert!(out.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
        let without_ns = out.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!without_ns.contains("http://") && !without_ns.contains("https://"));
        assert!(!out.contains("@import") && !out.contains("url("));
    }

    #[test]
    fn axis_ticks_are_nice() {
        let a = Axis::new(6100.0, 10_900.0);
        assert_eq!((a.lo, a.hi, a.step), (6000.0, 11_000.0, 1000.0));
        let b = Axis::new(40.0, 10_900.0);
        assert_eq!(b.lo, 0.0);
        assert_eq!(tick_label(4000.0, 1000.0, 1000.0), "4");
        assert_eq!(tick_label(4500.0, 500.0, 1000.0), "4.5");
        // One value everywhere still gives a usable scale.
        let c = Axis::new(5.0, 5.0);
        assert!(c.hi > c.lo && c.x(5.0).is_finite());
        let d = Axis::new(f64::INFINITY, f64::NEG_INFINITY);
        assert!(d.hi > d.lo);
    }
}
