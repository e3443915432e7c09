//! `--format json`: one JSON document, schema in docs/json.md (schema_version 2: the statuses
//! `xfailed` and `xpassed`, `strict`, and the error kind `fixture`).
use serde::Serialize;

use super::run::{Exporter, RunReport, Summary};
use crate::bench::BenchRun;
use crate::bench::analyze::GroupReport;
use crate::bench::baseline::Regression;
use crate::runner::event::TestResult;
use crate::runner::retry::{attempts, is_flaky};
use crate::runner::run::StopReason;

pub struct Json;

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    dbtest_version: &'a str,
    python_version: &'a str,
    interrupted: bool,
    stopped_early: bool,
    /// Why the run stopped early (absent when it did not).
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_reason: Option<StopReason>,
    summary: Summary,
    tests: Vec<JsonTest<'a>>,
    /// Benchmark groups (absent when no benchmark ran).
    #[serde(skip_serializing_if = "Option::is_none")]
    benchmarks: Option<&'a [GroupReport]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    benchmark_run: Option<BenchMeta<'a>>,
}

/// One test: its result, plus `attempts` and `flaky` when it was retried.
#[derive(Serialize)]
struct JsonTest<'a> {
    #[serde(flatten)]
    result: &'a TestResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempts: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flaky: Option<bool>,
}

impl<'a> JsonTest<'a> {
    fn of(result: &'a TestResult) -> Self {
        let retried = !result.earlier.is_empty();
        JsonTest {
            result,
            attempts: retried.then(|| attempts(result)),
            flaky: retried.then(|| is_flaky(result)),
        }
    }
}

/// How the benchmarks were measured and compared.
#[derive(Serialize)]
struct BenchMeta<'a> {
    harness_overhead_ns: Option<f64>,
    timer_resolution_ns: Option<f64>,
    noise: f64,
    environment: &'a crate::bench::baseline::Environment,
    compared_to: Option<&'a str>,
    comparison: Option<&'a str>,
    saved_to: Option<String>,
    warnings: &'a [String],
    /// The gate's regressions as `group::entry (+N%)`, kept for readers of schema 1.
    regressions: Vec<String>,
    /// The same regressions as fields.
    regression_details: &'a [Regression],
}

impl<'a> BenchMeta<'a> {
    fn of(b: &'a BenchRun) -> Self {
        BenchMeta {
            harness_overhead_ns: b.harness.map(|h| h.overhead_ns),
            timer_resolution_ns: b.harness.map(|h| h.timer_resolution_ns),
            noise: b.noise,
            environment: &b.environment,
            compared_to: b.compared_to.as_deref(),
            comparison: b.comparison.as_deref(),
            saved_to: b.saved_to.as_ref().map(|p| p.display().to_string()),
            warnings: &b.warnings,
            regressions: b.regressions.iter().map(|r| r.to_string()).collect(),
            regression_details: &b.regressions,
        }
    }
}

impl Exporter for Json {
    fn render(&self, report: &RunReport) -> String {
        let doc = Document {
            schema_version: 2,
            dbtest_version: &report.dbtest_version,
            python_version: &report.python_version,
            interrupted: report.interrupted,
            stopped_early: report.stopped_early,
            stop_reason: report.stopped_early.then_some(report.stop_reason),
            summary: report.summary(),
            tests: report.results().iter().map(JsonTest::of).collect(),
            benchmarks: report.benchmarks.as_ref().map(|b| b.groups.as_slice()),
            benchmark_run: report.benchmarks.as_ref().map(BenchMeta::of),
        };
        // Serialising plain data with string keys cannot fail.
        let mut s = serde_json::to_string_pretty(&doc)
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::run::fixtures;

    #[test]
    fn document_has_the_documented_shape_and_order() {
        let out = Json.render(&fixtures::report());
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["schema_version"], 2);
        assert_eq!(v["python_version"], "3.11.7");
        assert_eq!(v["summary"]["total"], 4);
        assert_eq!(v["summary"]["failed"], 1);
        assert_eq!(v["summary"]["errors"], 1);
        let ids: Vec<&str> = v["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            vec![
                "tests/test_a.py::ok",
                "tests/test_ünï.py::Suite::naïve_café",
                "tests/test_a.py::later",
                "tests/test_broken.py"
            ]
        );
        let t = &v["tests"][1];
        for key in [
            "id",
            "file",
            "suite",
            "name",
            "status",
            "kind",
            "duration_ms",
            "tags",
            "line",
            "message",
            "traceback",
            "stdout",
            "stderr",
        ] {
            assert!(t.get(key).is_some(), "missing {key}");
        }
        assert_eq!(t["message"], "ü <&> \"quoted\" | pipe \u{7} bell 🎉 ```");
        assert_eq!(v["tests"][3]["kind"], "import");
        assert!(v.get("benchmark_run").is_none());
    }

    #[test]
    fn regressions_come_as_text_and_as_fields() {
        use crate::report::bench::fixtures::{compared, run, sorting};
        let mut report = fixtures::report();
        report.benchmarks = Some(compared(run(vec![sorting()])));
        let v: serde_json::Value = serde_json::from_str(&Json.render(&report)).unwrap();
        let b = &v["benchmark_run"];
        assert_eq!(b["regressions"][0], "sort 1000 ints::list.sort (+20.3%)");
        let r = &b["regression_details"][0];
        assert_eq!(r["group"], "sort 1000 ints");
        assert_eq!(r["entry"], "list.sort");
        assert_eq!(r["metric"], "median");
        assert_eq!(r["ratio"], 1.203);
        assert_eq!(r["threshold"], 0.05);
        assert_eq!(r["p_value"], 0.001);
        assert_eq!(r["source"], "rerun");
        assert_eq!(r.as_object().unwrap().len(), 7, "{r}");
    }
}
