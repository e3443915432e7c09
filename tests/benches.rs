//! Benchmark mode end to end: the fault corpus's benchmark file, the report formats, baselines
//! and the regression gate. Short budgets keep it quick; no assertion here depends on speed.
mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

/// Fast settings: a few short samples per entry.
const QUICK: &[&str] = &["--bench-time", "0.05", "--samples", "5", "--warmup", "0"];

/// The project's own fault corpus, or the one `DBTEST_FAULTS_DIR` names (CI points it at
/// `../shared/faults` as an extra step).
fn corpus() -> PathBuf {
    match std::env::var_os("DBTEST_FAULTS_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/faults"),
    }
}

fn bench_project() -> Project {
    let src = corpus().join("benches");
    assert!(
        src.is_dir(),
        "the fault corpus is missing: expected {} (tests/fixtures/faults/benches, or under DBTEST_FAULTS_DIR)",
        src.display()
    );
    let p = Project::new();
    std::fs::create_dir_all(p.path("benches")).unwrap();
    copy_tree(&src, &p.path("benches"));
    p
}

fn entries(report: &Value) -> Vec<&Value> {
    report["benchmarks"]
        .as_array()
        .expect("a benchmarks list")
        .iter()
        .flat_map(|g| g["entries"].as_array().unwrap())
        .collect()
}

fn entry<'a>(report: &'a Value, name: &str) -> &'a Value {
    entries(report)
        .into_iter()
        .find(|e| e["name"] == name)
        .unwrap_or_else(|| panic!("no entry {name:?}"))
}

#[test]
fn the_shared_benchmark_group_reports_every_entry_and_the_failure() {
    let p = bench_project();
    let mut args = vec!["bench", "benches"];
    args.extend_from_slice(QUICK);
    let (report, out) = p.run_json(&args);
    // The failing entry makes the run fail, the others still report.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let group = &report["benchmarks"][0];
    assert_eq!(group["name"], "sort 1000 ints");
    assert_eq!(group["baseline"], "sorted");
    for name in ["sorted", "list.sort", "async sorted"] {
        let e = entry(&report, name);
        assert_eq!(e["status"], "ok", "{e}");
        let s = &e["stats"];
        assert!(s["median_ns"].as_f64().unwrap() > 0.0);
        assert!(s["min_ns"].as_f64() <= s["median_ns"].as_f64());
        assert!(s["median_ns"].as_f64() <= s["max_ns"].as_f64());
        assert!(e["samples_ns"].as_array().unwrap().len() >= 5);
        assert!(e["iterations"].as_u64().unwrap() >= 1);
        for key in [
            "p25_ns",
            "p75_ns",
            "p95_ns",
            "p99_ns",
            "iqr_ns",
            "stddev_ns",
            "mean_ns",
            "ops_per_sec",
        ] {
            assert!(s[key].is_number(), "{key} in {s}");
        }
        assert_eq!(s["median_ci_ns"].as_array().unwrap().len(), 2);
    }
    assert_eq!(entry(&report, "sorted")["verdict"], "baseline");
    assert_eq!(entry(&report, "async sorted")["is_async"], true);
    let broken = entry(&report, "broken");
    assert_eq!(broken["status"], "failed");
    assert!(
        broken["error"]
            .as_str()
            .unwrap()
            .contains("this entry fails; the others still report")
    );
    assert!(broken["stats"].is_null());
    let run = &report["benchmark_run"];
    assert!(run["harness_overhead_ns"].as_f64().unwrap() > 0.0);
    assert_eq!(
        run["environment"]["python_version"],
        report["python_version"]
    );
}

#[test]
fn console_markdown_and_html_show_the_tables() {
    let p = bench_project();
    let mut args = vec![
        "bench",
        "benches",
        "--color",
        "never",
        "--html",
        "chart.html",
    ];
    args.extend_from_slice(QUICK);
    let out = p.cmd().args(&args).output().unwrap();
    let console = stdout(&out);
    for text in [
        "sort 1000 ints",
        "list.sort",
        "async sorted",
        "baseline",
        "broken",
        "harness overhead",
    ] {
        assert!(console.contains(text), "{text} missing from:\n{console}");
    }
    let html = std::fs::read_to_string(p.path("chart.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("list.sort"));
    assert!(!html.contains("https://") && !html.contains("<script"));

    let mut args = vec!["bench", "benches", "--format", "markdown"];
    args.extend_from_slice(QUICK);
    let md = stdout(&p.cmd().args(&args).output().unwrap());
    assert!(md.contains("### Benchmarks"), "{md}");
    assert!(
        md.contains("## dbtest: ❌ failed"),
        "a failed entry fails the run: {md}"
    );
    let rows: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("| <code>list.sort") || l.starts_with("| <code>sorted"))
        .collect();
    assert_eq!(rows.len(), 2, "{md}");
    assert_eq!(
        rows[0].matches(" | ").count(),
        rows[1].matches(" | ").count()
    );
}

#[test]
fn pattern_selects_groups_and_entries_and_parallel_requests_are_explained() {
    let p = bench_project();
    let mut args = vec![
        "bench",
        "benches",
        "-k",
        "sort 1000 ints::list.sort",
        "-j",
        "4",
    ];
    args.extend_from_slice(QUICK);
    let (report, out) = p.run_json(&args);
    let names: Vec<&str> = entries(&report)
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["list.sort"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("benchmarks run one at a time"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_saved_baseline_gates_a_slower_entry_and_only_that_one() {
    let p = Project::new();
    let source = |loops: u32| {
        format!(
            "from dbtest import BenchmarkGroup\n\
             g = BenchmarkGroup('gate')\n\
             @g.add('steady')\n\
             def steady():\n    sum(range(300))\n\
             @g.add('changed')\n\
             def changed():\n    for _ in range({loops}):\n        pass\n"
        )
    };
    std::fs::write(p.path("bench_gate.py"), source(1000)).unwrap();
    let opts = ["--bench-time", "0.3", "--samples", "15", "--warmup", "1"];
    let mut args = vec!["bench", "bench_gate.py", "--save-baseline", "before"];
    args.extend_from_slice(&opts);
    let out = p.cmd().args(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(p.path(".dbtest/benchmarks/before.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(saved["format"], "dbtest-benchmark-baseline");
    assert_eq!(saved["groups"][0]["entries"].as_array().unwrap().len(), 2);

    // Thirty times the work: beyond any noise, even when the baseline was saved while the
    // machine was idle and this run shares it with other builds (3x was not, at load 8 on
    // 2 cores). The threshold leaves `steady` room for that load too.
    std::fs::write(p.path("bench_gate.py"), source(30000)).unwrap();
    let mut args = vec![
        "bench",
        "bench_gate.py",
        "--baseline",
        "before",
        "--fail-on",
        "median:50%",
    ];
    args.extend_from_slice(&opts);
    let (report, out) = p.run_json(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("gate::changed"), "{err}");
    assert!(!err.contains("gate::steady"), "{err}");
    assert_eq!(entry(&report, "changed")["vs_saved"]["verdict"], "slower");
    assert_eq!(report["benchmark_run"]["compared_to"], "before");
    // Not a git checkout: the saved samples, and a warning saying why.
    assert_eq!(entry(&report, "changed")["vs_saved"]["source"], "saved");
    let warnings = report["benchmark_run"]["warnings"].to_string();
    assert!(warnings.contains("no git commit"), "{warnings}");
}

fn git(p: &Project, args: &[&str]) {
    let out = std::process::Command::new("git")
        .current_dir(p.root())
        .args([
            "-c",
            "user.name=dbtest",
            "-c",
            "user.email=dbtest@example.com",
        ])
        .args(args)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

/// The project module the gate benchmark calls: `loops` iterations of nothing.
fn work_py(loops: u32) -> String {
    format!("LOOPS = {loops}\n\ndef work():\n    for _ in range(LOOPS):\n        pass\n")
}

/// A project in git whose benchmark calls into a module of its own.
fn committed_gate_project() -> Project {
    let p = Project::new();
    p.write("work.py", &work_py(1000));
    p.write(
        "bench_gate.py",
        &dedent(
            "
            from dbtest import BenchmarkGroup
            from work import work
            g = BenchmarkGroup('gate')

            @g.add('steady')
            def steady():
                sum(range(300))

            @g.add('changed')
            def changed():
                work()
            ",
        ),
    );
    git(&p, &["init", "-q"]);
    git(&p, &["add", "."]);
    git(&p, &["commit", "-q", "-m", "baseline"]);
    p
}

#[test]
fn the_baseline_commits_code_is_timed_again_beside_the_current_code() {
    let p = committed_gate_project();
    let opts = ["--bench-time", "0.3", "--samples", "15", "--warmup", "1"];
    let mut args = vec!["bench", "--save-baseline", "before"];
    args.extend_from_slice(&opts);
    let out = p.cmd().args(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Only the imported module changes, and is not committed: the baseline's version of
    // `work` must come from the commit for the change to show.
    p.write("work.py", &work_py(30000));
    let mut args = vec!["bench", "--baseline", "before", "--fail-on", "median:50%"];
    args.extend_from_slice(&opts);
    let (report, out) = p.run_json(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("gate::changed"), "{err}");
    assert!(!err.contains("gate::steady"), "{err}");
    let changed = &entry(&report, "changed")["vs_saved"];
    assert_eq!(changed["source"], "rerun", "{changed}");
    assert_eq!(changed["verdict"], "slower", "{changed}");
    assert!(changed["ratio"].as_f64().unwrap() > 2.0, "{changed}");
    // Timed in this run: as many samples as the current entry, not the saved ones.
    assert_eq!(
        changed["baseline_samples_ns"].as_array().unwrap().len(),
        entry(&report, "changed")["samples_ns"]
            .as_array()
            .unwrap()
            .len()
    );
    let steady = &entry(&report, "steady")["vs_saved"];
    assert_eq!(steady["source"], "rerun");
    assert_eq!(steady["verdict"], "same", "{steady}");
    let how = report["benchmark_run"]["comparison"].as_str().unwrap();
    assert!(how.contains("timed again in this run"), "{how}");
    // The working tree is left as it was.
    assert!(
        std::fs::read_to_string(p.path("work.py"))
            .unwrap()
            .contains("3000")
    );
}

#[test]
fn a_baseline_saved_with_uncommitted_changes_is_compared_by_its_samples() {
    let p = committed_gate_project();
    p.write("work.py", &work_py(1500));
    let mut args = vec!["bench", "--save-baseline", "edited"];
    args.extend_from_slice(QUICK);
    let out = p.cmd().args(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut args = vec!["bench", "--baseline", "edited"];
    args.extend_from_slice(QUICK);
    let (report, out) = p.run_json(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(entry(&report, "changed")["vs_saved"]["source"], "saved");
    let warnings = report["benchmark_run"]["warnings"].to_string();
    assert!(warnings.contains("uncommitted changes"), "{warnings}");
}

#[test]
fn baseline_mistakes_are_usage_errors() {
    let p = bench_project();
    let out = p
        .cmd()
        .args(["bench", "benches", "--baseline", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("no baseline named \"nope\""),
        "{}",
        stderr(&out)
    );
    let out = p
        .cmd()
        .args(["bench", "benches", "--fail-on", "median:5%"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("--fail-on needs --baseline"),
        "{}",
        stderr(&out)
    );
    let out = p
        .cmd()
        .args(["bench", "benches", "--fail-on", "p99:5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
}
