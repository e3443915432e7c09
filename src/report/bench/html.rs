//! A benchmark group's section of the HTML page: its chart beside its table, then failures
//! and warnings.
use std::fmt::Write as _;

use super::chart::chart;
use super::model::{self, NO_BASELINE, NUMERIC_COLUMNS, Tone};
use crate::bench::analyze::GroupReport;
use crate::report::text::html_escape;

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
fn table(run: &model::Run, g: &model::Group) -> String {
    let mut t = String::from("<table><thead><tr>");
    for h in &run.headers {
        let _ = write!(t, "<th>{}</th>", html_escape(h));
    }
    t.push_str("</tr></thead><tbody>");
    for row in &g.rows {
        t.push_str("<tr>");
        for (i, c) in row.cells.iter().enumerate() {
            if i == 0 {
                let _ = write!(t, "<td><code>{}</code></td>", html_escape(&c.text));
            } else if row.failed && i == 1 {
                let _ = write!(
                    t,
                    r#"<td class="error" colspan="{}">{}</td>"#,
                    NUMERIC_COLUMNS.len(),
                    html_escape(&c.text)
                );
            } else if row.failed && NUMERIC_COLUMNS.contains(&i) {
                // Covered by the error's colspan.
            } else {
                let mut class = tone_class(c.tone).to_string();
                if NUMERIC_COLUMNS.contains(&i) {
                    class = format!("num {class}").trim().to_string();
                }
                if class.is_empty() {
                    let _ = write!(t, "<td>{}</td>", html_escape(&c.text));
                } else {
                    let _ = write!(t, r#"<td class="{class}">{}</td>"#, html_escape(&c.text));
                }
            }
        }
        t.push_str("</tr>");
    }
    t.push_str("</tbody></table>");
    t
}

/// One group's `<section>`; `raw` is the same group's samples, for the chart.
pub fn section(run: &model::Run, g: &model::Group, raw: &GroupReport) -> String {
    let mut s = String::from("<section>");
    let _ = write!(
        s,
        r#"<h2>{}</h2><div class="muted"><code>{}</code> · baseline: {}</div>"#,
        html_escape(&g.name),
        html_escape(&g.file),
        g.baseline
            .as_deref()
            .map(|b| format!(r#"<code class="baseline">{}</code>"#, html_escape(b)))
            .unwrap_or_else(|| NO_BASELINE.into())
    );
    let _ = write!(
        s,
        r#"<div class="side"><div class="chart">{}</div><div class="tablebox">{}</div></div>"#,
        chart(raw),
        table(run, g)
    );
    for f in &g.failures {
        let _ = write!(
            s,
            r#"<details><summary><code>{}</code> <span class="failed">failed</span>: {}</summary>"#,
            html_escape(&f.entry),
            html_escape(&f.error)
        );
        if let Some(tb) = &f.traceback {
            let _ = write!(s, "<pre>{}</pre>", html_escape(tb.trim_end()));
        }
        s.push_str("</details>");
    }
    if !g.warnings.is_empty() {
        s.push_str(r#"<ul class="warnings">"#);
        for w in &g.warnings {
            match &w.entry {
                Some(name) => {
                    let _ = write!(
                        s,
                        "<li>warning: <code>{}</code>: {}</li>",
                        html_escape(name),
                        html_escape(&w.text)
                    );
                }
                None => {
                    let _ = write!(s, "<li>warning: {}</li>", html_escape(&w.text));
                }
            }
        }
        s.push_str("</ul>");
    }
    s.push_str("</section>");
    s
}
