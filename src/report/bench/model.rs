//! Benchmark results as every report shows them, in no format: the text of each table cell
//! with how it should stand out, failures, warnings and the notes under the tables. Console,
//! markdown and HTML each render this their own way (escaping, colour, markup), so their
//! tables always say the same thing.
use super::units::{fmt_ns, fmt_ns_ci, fmt_ops, fmt_ratio, fmt_resolution};
use crate::bench::BenchRun;
use crate::bench::analyze::{EntryReport, GroupReport};
use crate::bench::stats::Verdict;

/// Columns holding numbers, for right alignment.
pub const NUMERIC_COLUMNS: [usize; 5] = [1, 2, 3, 4, 5];

/// Shown for a group's baseline when none of its entries succeeded.
pub const NO_BASELINE: &str = "none (no entry succeeded)";

/// How a cell should stand out; each format maps this to its own styling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Plain,
    Baseline,
    Good,
    Bad,
    Failed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub text: String,
    pub tone: Tone,
}

impl Cell {
    fn plain(text: String) -> Cell {
        Cell {
            text,
            tone: Tone::Plain,
        }
    }
}

/// One entry's table row. A failed entry has its error in the median column and `failed` as
/// its verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub cells: Vec<Cell>,
    pub failed: bool,
}

/// A failed entry, for the details under its group's table.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub entry: String,
    pub error: String,
    /// None when the worker sent none (or a blank one).
    pub traceback: Option<String>,
}

/// A warning under a group's table, about one entry or (None) the group.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub entry: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    pub file: String,
    /// The entry the others are compared with; None when no entry succeeded.
    pub baseline: Option<String>,
    pub rows: Vec<Row>,
    pub failures: Vec<Failure>,
    /// The group's own first, then each entry's.
    pub warnings: Vec<Warning>,
}

/// The saved baseline the run was compared with (`--baseline`).
#[derive(Debug, Clone, PartialEq)]
pub struct Compared {
    pub baseline: String,
    /// How, in words.
    pub how: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// Column titles, the same for every group.
    pub headers: Vec<String>,
    pub groups: Vec<Group>,
    /// `43.1 ns per call (an empty entry); timer resolution 1 ns`
    pub harness: Option<String>,
    pub compared: Option<Compared>,
    pub warnings: Vec<String>,
    pub saved_to: Option<String>,
    /// The `--fail-on` gate's, as `group::entry (+N%)`.
    pub regressions: Vec<String>,
}

impl Run {
    pub fn of(run: &BenchRun) -> Run {
        Run {
            headers: headers(run),
            groups: run.groups.iter().map(|g| group(run, g)).collect(),
            harness: run.harness.as_ref().map(|h| {
                format!(
                    "{} per call (an empty entry); timer resolution {}",
                    fmt_ns(h.overhead_ns),
                    fmt_resolution(h.timer_resolution_ns)
                )
            }),
            compared: run.compared_to.as_ref().map(|name| Compared {
                baseline: name.clone(),
                how: run.comparison.clone(),
            }),
            warnings: run.warnings.clone(),
            saved_to: run.saved_to.as_ref().map(|p| p.display().to_string()),
            regressions: run.regressions.iter().map(|r| r.to_string()).collect(),
        }
    }
}

fn verdict_word(v: Verdict) -> &'static str {
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
fn headers(run: &BenchRun) -> Vec<String> {
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

fn group(run: &BenchRun, g: &GroupReport) -> Group {
    Group {
        name: g.name.clone(),
        file: g.file.clone(),
        baseline: g.baseline.clone(),
        rows: g.entries.iter().map(|e| row(run, e)).collect(),
        failures: g
            .entries
            .iter()
            .filter(|e| e.stats.is_none())
            .map(|e| Failure {
                entry: e.raw.name.clone(),
                error: failure_text(e),
                traceback: e.raw.traceback.clone().filter(|t| !t.trim().is_empty()),
            })
            .collect(),
        warnings: g
            .warnings
            .iter()
            .map(|w| Warning {
                entry: None,
                text: w.clone(),
            })
            .chain(g.entries.iter().flat_map(|e| {
                e.warnings.iter().map(|w| Warning {
                    entry: Some(e.raw.name.clone()),
                    text: w.clone(),
                })
            }))
            .collect(),
    }
}

/// An entry without statistics: its error, or why there is nothing to show.
fn failure_text(e: &EntryReport) -> String {
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

fn row(run: &BenchRun, e: &EntryReport) -> Row {
    let compared = run.compared_to.is_some();
    let mut cells = vec![Cell::plain(e.raw.name.clone())];
    let Some(s) = &e.stats else {
        cells.push(Cell::plain(failure_text(e)));
        cells.extend((0..4).map(|_| Cell::plain(String::new())));
        cells.push(Cell {
            text: "failed".into(),
            tone: Tone::Failed,
        });
        if compared {
            cells.push(Cell::plain(String::new()));
        }
        return Row {
            cells,
            failed: true,
        };
    };
    cells.push(Cell::plain(fmt_ns_ci(s.median_ns, s.median_ci_ns)));
    cells.push(Cell::plain(format!(
        "{} ± {}",
        fmt_ns(s.mean_ns),
        fmt_ns(s.stddev_ns)
    )));
    cells.push(Cell::plain(fmt_ns(s.p95_ns)));
    cells.push(Cell::plain(fmt_ops(s.ops_per_sec)));
    cells.push(Cell::plain(
        e.ratio
            .map(|r| fmt_ratio(r, e.ratio_ci))
            .unwrap_or_default(),
    ));
    cells.push(match e.verdict {
        Some(v) => Cell {
            text: verdict_word(v).into(),
            tone: verdict_tone(v),
        },
        None => Cell::plain(String::new()),
    });
    if compared {
        cells.push(match &e.vs_saved {
            Some(d) => Cell {
                text: format!(
                    "{} {}",
                    fmt_ratio(d.ratio, Some(d.ratio_ci)),
                    verdict_word(d.verdict)
                ),
                tone: verdict_tone(d.verdict),
            },
            None => Cell::plain("not in baseline".into()),
        });
    }
    Row {
        cells,
        failed: false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{compared, failed, group, run, sorting};
    use super::*;

    #[test]
    fn every_row_has_every_column_and_failures_say_why() {
        let r = Run::of(&compared(run(vec![sorting()])));
        assert_eq!(r.headers.len(), 8);
        assert_eq!(r.headers[7], "vs main");
        let g = &r.groups[0];
        assert!(g.rows.iter().all(|row| row.cells.len() == 8));
        let tones: Vec<Tone> = g.rows.iter().map(|row| row.cells[6].tone).collect();
        assert_eq!(tones, [Tone::Baseline, Tone::Bad, Tone::Good, Tone::Failed]);
        assert_eq!(g.rows[1].cells[7].text, "1.20x [1.18, 1.22] slower");
        assert_eq!(g.rows[0].cells[7].text, "not in baseline");
        assert!(g.rows[3].failed);
        assert_eq!(g.failures.len(), 1);
        assert_eq!(g.failures[0].error, "ValueError: this entry fails");
        assert_eq!(g.warnings[0].entry.as_deref(), Some("list.sort"));
        assert_eq!(r.regressions, ["sort 1000 ints::list.sort (+20.3%)"]);
    }

    #[test]
    fn a_failure_without_a_message_says_what_is_missing() {
        let mut f = failed("f", "");
        f.raw.traceback = Some("  \n".into());
        let r = Run::of(&run(vec![group("g", "a", vec![f])]));
        let failure = &r.groups[0].failures[0];
        assert_eq!(failure.error, "no samples");
        assert_eq!(failure.traceback, None);
        assert_eq!(r.groups[0].rows[0].cells.len(), 7);
    }
}
