//! `--html FILE`: a self-contained page with, per benchmark group, a chart of each entry's
//! sample distribution beside its table.
//!
//! Self-contained means no scripts, fonts, stylesheets or images from anywhere: the page is
//! often opened from a CI artifact or an air-gapped machine, so everything is inline.
use std::fmt::Write as _;

use super::bench::html::section;
use super::bench::model;
use super::run::{Exporter, RunReport};
use super::text::html_escape;
use crate::bench::BenchRun;

pub struct Html;

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

/// The title, versions, and for a benchmark run where and how it was measured.
fn header(report: &RunReport, bench: Option<(&BenchRun, &model::Run)>) -> String {
    let mut h = String::from("<header><h1>dbtest benchmarks</h1>");
    let _ = write!(
        h,
        r#"<div class="muted">dbtest {} · Python {}</div>"#,
        html_escape(&report.dbtest_version),
        html_escape(&report.python_version)
    );
    if let Some((run, view)) = bench {
        let env = &run.environment;
        let entries: usize = run.groups.iter().map(|g| g.entries.len()).sum();
        h.push_str(r#"<dl class="env">"#);
        let mut item = |k: &str, v: String| {
            let _ = write!(h, "<dt>{k}</dt><dd>{v}</dd>");
        };
        item("CPU", html_escape(&env.cpu));
        item(
            "OS",
            format!("{} ({})", html_escape(&env.os), html_escape(&env.arch)),
        );
        item("Host", html_escape(&env.hostname));
        if let Some(t) = &view.harness {
            item("Harness overhead", html_escape(t));
        }
        item(
            "Benchmarks",
            format!(
                "{} group{}, {entries} entr{}; differences under {}% count as the same",
                run.groups.len(),
                if run.groups.len() == 1 { "" } else { "s" },
                if entries == 1 { "y" } else { "ies" },
                html_escape(&format!("{}", (run.noise * 1000.0).round() / 10.0))
            ),
        );
        if let Some(c) = &view.compared {
            item(
                "Compared with",
                format!(
                    "baseline <code>{}</code>{}",
                    html_escape(&c.baseline),
                    c.how
                        .as_deref()
                        .map(|c| format!(": {}", html_escape(c)))
                        .unwrap_or_default()
                ),
            );
        }
        h.push_str("</dl>");
    }
    h.push_str("</header>");
    h
}

/// The gate's verdict, the run's warnings and the save; empty when there are none.
fn footer(run: &model::Run) -> String {
    let mut f = String::new();
    if !run.regressions.is_empty() {
        let list: Vec<String> = run
            .regressions
            .iter()
            .map(|r| format!("<code>{}</code>", html_escape(r)))
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
            let _ = write!(f, "<li>warning: {}</li>", html_escape(w));
        }
        f.push_str("</ul>");
    }
    if let Some(p) = &run.saved_to {
        let _ = write!(
            f,
            "<p>Saved baseline to <code>{}</code>.</p>",
            html_escape(p)
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
        let view = report.benchmarks.as_ref().map(|b| (b, model::Run::of(b)));
        page.push_str(&header(report, view.as_ref().map(|(b, v)| (*b, v))));
        page.push('\n');
        match view.as_ref().filter(|(b, _)| !b.groups.is_empty()) {
            Some((run, v)) => {
                page.push_str("<main>\n");
                for (g, raw) in v.groups.iter().zip(&run.groups) {
                    page.push_str(&section(v, g, raw));
                    page.push('\n');
                }
                page.push_str("</main>\n");
                page.push_str(&footer(v));
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
    use crate::bench::stats::Verdict;
    use crate::report::bench::fixtures::{compared, entry, failed, group, run, sorting};
    use crate::report::run::fixtures;

    fn page(run: Option<BenchRun>) -> String {
        let mut report = fixtures::report();
        report.benchmarks = run;
        Html.render(&report)
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
}
