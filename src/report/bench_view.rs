//! Benchmark results for people: tables per group for the console and markdown.
//! (Filled in by the benchmark-reporting work; see README "Benchmarks".)
use crate::bench::BenchRun;

pub fn console(_run: &BenchRun, _color: bool) -> String {
    String::new()
}

pub fn markdown(_run: &BenchRun) -> String {
    String::new()
}
