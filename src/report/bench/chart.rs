//! The HTML page's chart of one benchmark group: each entry's sample distribution as dots,
//! a P25–P75 box with the median, and whiskers to the extremes, as inline SVG.
use std::fmt::Write as _;

use super::units::{fmt_ns, time_unit};
use crate::bench::analyze::{EntryReport, GroupReport};
use crate::bench::stats::{Summary, Verdict};
use crate::report::text::html_escape;

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

/// The entries' samples that can be drawn.
fn finite(e: &EntryReport) -> Vec<f64> {
    e.raw
        .samples_ns
        .iter()
        .copied()
        .filter(|x| x.is_finite())
        .collect()
}

/// The scale over every sample and extreme of the entries that succeeded.
fn axis_of(g: &GroupReport) -> Axis {
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
    Axis::new(min, max)
}

/// One group's sample distributions: a row per entry.
pub fn chart(g: &GroupReport) -> String {
    let axis = axis_of(g);
    let rows = g.entries.len().max(1) as f64;
    let plot_bottom = TOP + rows * ROW_HEIGHT;
    let height = plot_bottom + AXIS_HEIGHT;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="Sample distribution per entry of {name}"><title>Time per call of each sample, {name}</title>"#,
        w = WIDTH,
        h = px(height),
        name = html_escape(&g.name)
    );
    grid(&mut svg, &axis, plot_bottom);
    for (i, e) in g.entries.iter().enumerate() {
        let cy = TOP + (i as f64 + 0.5) * ROW_HEIGHT;
        let is_base = g.baseline.as_deref() == Some(e.raw.name.as_str()) && e.stats.is_some();
        entry_row(&mut svg, &axis, e, cy, is_base);
    }
    svg.push_str("</svg>");
    svg
}

/// Grid lines, tick labels and the axis title, drawn first so the data goes over them.
fn grid(svg: &mut String, axis: &Axis, plot_bottom: f64) {
    let (scale, unit) = time_unit(axis.hi);
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
}

/// One entry's row, centred on `cy`: a tooltip, its name, and its distribution (or `failed`).
fn entry_row(svg: &mut String, axis: &Axis, e: &EntryReport, cy: f64, is_base: bool) {
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
    let _ = write!(svg, "<g><title>{}</title>", html_escape(&tip));
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
        html_escape(&truncate(&e.raw.name, LABEL_CHARS))
    );
    match &e.stats {
        Some(s) => distribution(svg, axis, e, s, cy),
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

/// Whiskers, the P25–P75 box, a dot per sample (thinned past `MAX_DOTS`) and the median.
fn distribution(svg: &mut String, axis: &Axis, e: &EntryReport, s: &Summary, cy: f64) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
