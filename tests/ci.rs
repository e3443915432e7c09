//! dbtest in CI, end to end: JUnit XML (read back and compared with the JSON report), several
//! reports in one run, `[tool.dbtest]` configuration, sharding, `--lf`/`--ff`, `--durations`,
//! retries and the GitHub Actions integration.
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use quick_junit::{FlakyOrRerun, NonSuccessKind, Report, TestCaseStatus};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A writable copy of `tests/fixtures/NAME` (with a pyproject.toml at its top).
fn copy_of(name: &str) -> Project {
    let p = Project::new();
    copy_tree(&fixture(name), p.root());
    p
}

/// The fault corpus's `tests/` (the project's own copy), as a project.
fn faults() -> Project {
    let p = Project::new();
    std::fs::create_dir_all(p.path("tests")).unwrap();
    copy_tree(&fixture("faults/tests"), &p.path("tests"));
    p
}

fn run(p: &Project, args: &[&str]) -> Output {
    p.cmd().args(args).output().unwrap()
}

fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn read_junit(path: &Path) -> Report {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    Report::deserialize_from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid JUnit XML: {e}\n{text}", path.display()))
}

/// `tests/db/test_x.py` -> `tests.db.test_x`.
fn module(file: &str) -> String {
    file.trim_end_matches(".py").replace('/', ".")
}

/// Each testcase as (classname, name) -> (status word, file, line).
fn junit_cases(r: &Report) -> BTreeMap<(String, String), (String, String, Option<u32>)> {
    let mut out = BTreeMap::new();
    for suite in &r.test_suites {
        for case in &suite.test_cases {
            let status = match &case.status {
                TestCaseStatus::Success { .. } => "passed",
                TestCaseStatus::Skipped { .. } => "skipped",
                TestCaseStatus::NonSuccess {
                    kind: NonSuccessKind::Failure,
                    ..
                } => "failed",
                TestCaseStatus::NonSuccess {
                    kind: NonSuccessKind::Error,
                    ..
                } => "error",
            };
            let key = (
                case.classname.as_ref().unwrap().as_str().to_string(),
                case.name.as_str().to_string(),
            );
            let file = case.extra.get("file").map(|f| f.as_str().to_string());
            let line = case.extra.get("line").map(|l| l.as_str().parse().unwrap());
            assert_eq!(
                file.as_deref(),
                Some(suite.name.as_str()),
                "{key:?}: the file attribute names its suite's file"
            );
            let old = out.insert(key.clone(), (status.to_string(), file.unwrap(), line));
            assert!(old.is_none(), "{key:?} twice");
        }
    }
    out
}

/// The JSON report's tests in the same shape.
fn json_cases(report: &Value) -> BTreeMap<(String, String), (String, String, Option<u32>)> {
    tests_of(report)
        .iter()
        .map(|t| {
            let file = t["file"].as_str().unwrap();
            let class = match t["suite"].as_str() {
                Some(s) => format!("{}.{s}", module(file)),
                None => module(file),
            };
            let name = t["name"].as_str().unwrap_or("<module>").to_string();
            (
                (class, name),
                (
                    t["status"].as_str().unwrap().to_string(),
                    file.to_string(),
                    t["line"].as_u64().map(|l| l as u32),
                ),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// JUnit and several reports per run

#[test]
fn junit_and_json_of_one_run_agree_on_the_fault_corpus() {
    let p = faults();
    let out = run(
        &p,
        &[
            "--junitxml",
            "out/junit.xml",
            "--json",
            "out/report.json",
            "--markdown",
            "out/report.md",
            "tests",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // The console summary still prints.
    let console = stdout(&out);
    assert!(console.contains("failed"), "console summary: {console}");
    let json = read_json(&p.path("out/report.json"));
    let xml = read_junit(&p.path("out/junit.xml"));
    let md = std::fs::read_to_string(p.path("out/report.md")).unwrap();
    check_markdown(&md);
    let from_xml = junit_cases(&xml);
    let from_json = json_cases(&json);
    assert_eq!(
        from_xml.keys().collect::<Vec<_>>(),
        from_json.keys().collect::<Vec<_>>(),
        "the same tests"
    );
    for (key, (status, file, line)) in &from_json {
        let (x_status, x_file, x_line) = &from_xml[key];
        assert_eq!((x_status, x_file), (status, file), "{key:?}");
        assert!(x_line.is_some(), "{key:?}: every testcase has a line");
        if line.is_some() {
            assert_eq!(x_line, line, "{key:?}");
        }
    }
    let s = &json["summary"];
    assert_eq!(xml.tests, s["total"].as_u64().unwrap() as usize);
    assert_eq!(xml.failures, s["failed"].as_u64().unwrap() as usize);
    assert_eq!(xml.errors, s["errors"].as_u64().unwrap() as usize);
    // One suite per file.
    let files: BTreeSet<&str> = tests_of(&json)
        .iter()
        .map(|t| t["file"].as_str().unwrap())
        .collect();
    assert_eq!(xml.test_suites.len(), files.len());
    // Messages, tracebacks and captured output of failures, the skip's reason.
    let text = std::fs::read_to_string(p.path("out/junit.xml")).unwrap();
    assert!(text.contains("arithmetic is broken"));
    assert!(
        text.contains("line 18, in raises_error"),
        "tracebacks are in"
    );
    assert!(text.contains("A49"), "a failed test's output is in");
    assert!(
        !text.contains("xxxxxxxxxxxxxxxxxxxxxxxx"),
        "a passing test's output is not"
    );
    assert!(text.contains("not on this platform"));
    // The bell in the unicode test's message, shown rather than breaking the XML.
    assert!(
        text.contains("\\u{0007} bell"),
        "control characters made visible"
    );
}

#[test]
fn format_and_output_keep_working_beside_report_files() {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        r#"
        from dbtest import test

        @test
        def ok():
            pass
        "#,
    );
    let out = run(
        &p,
        &["--format", "json", "-o", "r1.json", "--junitxml", "j.xml"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(read_json(&p.path("r1.json"))["summary"]["passed"], 1);
    assert_eq!(read_junit(&p.path("j.xml")).tests, 1);
    // JSON to stdout and JUnit to a file: stdout is still exactly one JSON document.
    let out = run(&p, &["--format", "json", "--junitxml", "j2.xml"]);
    assert_eq!(parse_json(&out)["summary"]["passed"], 1);
    assert_eq!(read_junit(&p.path("j2.xml")).tests, 1);
    // Folders are created, as pytest does; an unwritable file is a usage error naming it,
    // after the other reports are written.
    let out = run(&p, &["--junitxml", "new/dir/j.xml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(read_junit(&p.path("new/dir/j.xml")).tests, 1);
    let out = run(
        &p,
        &["--junitxml", "pyproject.toml/j.xml", "--json", "ok.json"],
    );
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("pyproject.toml/j.xml"),
        "{}",
        stderr(&out)
    );
    assert!(p.exists("ok.json"));
}

#[test]
fn junit_is_complete_after_fail_fast_and_crashes() {
    let p = Project::new();
    std::fs::create_dir_all(p.path("crashes")).unwrap();
    copy_tree(&fixture("faults/crashes"), &p.path("crashes"));
    // The crash file alone (the hangs and leftovers take longer).
    let out = run(
        &p,
        &[
            "crashes/test_crashes.py",
            "--junitxml",
            "j.xml",
            "--json",
            "r.json",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let xml = read_junit(&p.path("j.xml"));
    let cases = junit_cases(&xml);
    assert_eq!(cases.len(), 4, "{cases:?}");
    assert_eq!(
        cases[&(
            "crashes.test_crashes.Crashes".to_string(),
            "segfault".to_string()
        )]
            .0,
        "error"
    );
    assert_eq!(cases, json_cases(&read_json(&p.path("r.json"))));
    let out = run(
        &p,
        &["crashes/test_crashes.py", "-x", "--junitxml", "x.xml"],
    );
    assert_eq!(out.status.code(), Some(1));
    let xml = read_junit(&p.path("x.xml"));
    assert!(xml.errors >= 1 && xml.tests < 4, "stopped early: {xml:?}");
}

#[test]
fn junit_is_written_on_ctrl_c() {
    let p = Project::new();
    p.write(
        "tests/test_slow.py",
        r#"
        import time
        from pathlib import Path
        from dbtest import test

        @test
        def quick():
            pass

        @test
        def slow():
            Path("started").write_text("yes")
            time.sleep(30)
        "#,
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dbtest"))
        .current_dir(p.root())
        .args(["--junitxml", "j.xml", "-n", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !p.exists("started") {
        assert!(
            std::time::Instant::now() < deadline,
            "the slow test never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2));
    let xml = read_junit(&p.path("j.xml"));
    let cases = junit_cases(&xml);
    assert_eq!(cases.len(), 2, "{cases:?}");
    assert_eq!(
        cases[&("tests.test_slow".to_string(), "slow".to_string())].0,
        "error"
    );
}

// ---------------------------------------------------------------------------------------------
// Configuration

fn tagged_project(config: &str) -> Project {
    let p = Project::new();
    p.write("pyproject.toml", config);
    p.write(
        "tests/test_tags.py",
        r#"
        from dbtest import test

        @test(tags=["slow"])
        def slow_one():
            pass

        @test
        def fast_one():
            pass
        "#,
    );
    p
}

#[test]
fn tool_dbtest_settings_take_effect_and_the_command_line_overrides_them() {
    let p = tagged_project(
        r#"
        [project]
        name = "x"

        [tool.dbtest]
        exclude-tags = ["slow"]
        junitxml = "reports/junit.xml"
        "#,
    );
    std::fs::create_dir_all(p.path("reports")).unwrap();
    let (report, out) = p.run_json(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(ids(&report), vec!["tests/test_tags.py::fast_one"]);
    assert_eq!(read_junit(&p.path("reports/junit.xml")).tests, 1);
    // The command line wins.
    let (report, _) = p.run_json(&["--exclude-tags", "none"]);
    assert_eq!(ids(&report).len(), 2);
    // Started from a subfolder, the file's paths are still relative to the file.
    std::fs::remove_file(p.path("reports/junit.xml")).unwrap();
    let out = p.cmd_in("tests").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(p.exists("reports/junit.xml"));
}

#[test]
fn dbtest_toml_is_read_too() {
    let p = tagged_project("[project]\nname = \"x\"\n");
    p.write("dbtest.toml", "exclude-tags = [\"slow\"]\n");
    let (report, _) = p.run_json(&[]);
    assert_eq!(ids(&report), vec!["tests/test_tags.py::fast_one"]);
}

#[test]
fn unknown_keys_and_wrong_types_exit_4_naming_the_key_file_and_line() {
    let p = tagged_project(
        r#"
        [project]
        name = "x"

        [tool.dbtest]
        timeout = 5
        exlude-tags = ["slow"]
        "#,
    );
    let out = run(&p, &[]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("pyproject.toml:6"), "{err}");
    assert!(err.contains("exlude-tags"), "{err}");
    let p = tagged_project("[tool.dbtest]\nworkers = [1]\n");
    let out = run(&p, &["--list"]);
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("pyproject.toml:2") && stderr(&out).contains("`workers`"),
        "{}",
        stderr(&out)
    );
}

// ---------------------------------------------------------------------------------------------
// Sharding

/// 40 files of 3 tests (one file in a suite), and an undecidable-free layout.
fn corpus() -> Project {
    let p = Project::new();
    for i in 0..40 {
        let body = if i % 4 == 0 {
            "from dbtest import TestSuite, test\n\nclass S(TestSuite):\n    @test\n    def a(self):\n        pass\n\n    @test\n    def b(self):\n        pass\n\n    @test\n    def c(self):\n        pass\n".to_string()
        } else {
            "from dbtest import test\n\n@test\ndef a():\n    pass\n\n@test\ndef b():\n    pass\n\n@test\ndef c():\n    pass\n".to_string()
        };
        let path = p.path(&format!("tests/pkg{}/test_m{i}.py", i % 3));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    p
}

fn listed(p: &Project, args: &[&str]) -> Vec<String> {
    let out = run(p, &[&["--list"], args].concat());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out).lines().map(str::to_string).collect()
}

#[test]
fn shards_add_up_to_the_whole_with_no_test_twice() {
    let p = corpus();
    let whole: BTreeSet<String> = listed(&p, &[]).into_iter().collect();
    assert_eq!(whole.len(), 120);
    for kind in ["hash", "slice"] {
        let mut seen = BTreeSet::new();
        let mut count = 0;
        for k in 1..=3 {
            let shard = listed(&p, &["--partition", &format!("{kind}:{k}/3")]);
            assert!(!shard.is_empty(), "{kind}:{k}/3 is not empty");
            count += shard.len();
            seen.extend(shard);
        }
        assert_eq!(count, 120, "{kind}: no test in two shards");
        assert_eq!(seen, whole, "{kind}: the shards make the whole");
    }
    // A run runs what --list shows for the shard.
    let (report, out) = p.run_json(&["--partition", "hash:2/3"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ran: BTreeSet<String> = ids(&report).into_iter().collect();
    let shown: BTreeSet<String> = listed(&p, &["--partition", "hash:2/3"])
        .into_iter()
        .collect();
    assert_eq!(ran, shown);
    let out = run(&p, &["--partition", "hash:4/3"]);
    assert_eq!(out.status.code(), Some(4));
}

// ---------------------------------------------------------------------------------------------
// Last failed, failed first, durations

fn mixed() -> Project {
    let p = Project::new();
    p.write(
        "tests/test_mixed.py",
        r#"
        import os
        from dbtest import TestSuite, test

        @test
        def passes():
            pass

        @test
        def fails():
            assert os.environ.get("FIXED") == "1"

        class S(TestSuite):
            @test
            def errors(self):
                if os.environ.get("FIXED") != "1":
                    raise KeyError("k")

            @test
            def fine(self):
                pass
        "#,
    )
    .write(
        "tests/test_other.py",
        r#"
        from dbtest import test

        @test
        def other():
            pass
        "#,
    )
    .write("tests/test_broken.py", "import nope_not_installed\n");
    p
}

#[test]
fn last_failed_reruns_exactly_last_runs_failures_and_errors() {
    let p = mixed();
    let (first, out) = p.run_json(&[]);
    assert_eq!(out.status.code(), Some(1));
    let failed: BTreeSet<String> = tests_of(&first)
        .iter()
        .filter(|t| t["status"] == "failed" || t["status"] == "error")
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(failed.len(), 3, "{failed:?}");
    let (again, out) = p.run_json(&["--lf"]);
    assert_eq!(out.status.code(), Some(1));
    let rerun: BTreeSet<String> = ids(&again).into_iter().collect();
    assert_eq!(rerun, failed);
    // None of them selected by -k: the selected tests run, with a note.
    let (other, out) = p.run_json(&["--lf", "-k", "test_other"]);
    assert_eq!(ids(&other), vec!["tests/test_other.py::other"]);
    assert!(
        stderr(&out).contains("none of the tests"),
        "{}",
        stderr(&out)
    );
    // Fixed: the two pass; the broken file still fails; the store forgets the fixed ones.
    let fixed = |args: &[&str]| {
        let out = p
            .cmd()
            .env("FIXED", "1")
            .args(args)
            .args(["--format", "json"])
            .output()
            .unwrap();
        (parse_json(&out), out)
    };
    let (report, _) = fixed(&["--last-failed"]);
    assert_eq!(ids(&report).len(), 3);
    let (last, out) = fixed(&["--lf"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        ids(&last),
        vec!["tests/test_broken.py"],
        "only the broken file is left"
    );
    // The file is fixed: --lf runs it whole, it passes, and nothing is left.
    p.write(
        "tests/test_broken.py",
        r#"
        from dbtest import test

        @test
        def now_imports():
            pass
        "#,
    );
    let (last, out) = fixed(&["--lf"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(ids(&last), vec!["tests/test_broken.py::now_imports"]);
    // Nothing failed: everything runs, with a note.
    let (all, out) = fixed(&["--lf"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(ids(&all).len(), 6);
    assert!(stderr(&out).contains("no failed tests"), "{}", stderr(&out));
}

#[test]
fn failed_first_runs_failing_files_first_then_the_rest() {
    let p = Project::new();
    // The passing files are slower: longest-first scheduling alone would start them first.
    let body = |name: &str, fails: bool| {
        format!(
            "import time\nfrom pathlib import Path\nfrom dbtest import test\n\n@test\ndef t():\n    \
             with open(Path(__file__).parent.parent / 'order.log', 'a') as f:\n        \
             f.write('{name}\\n')\n    {}\n",
            if fails {
                "assert False"
            } else {
                "time.sleep(0.2)"
            }
        )
    };
    for (name, fails) in [("a", false), ("b", false), ("z", true)] {
        p.write(&format!("tests/test_{name}.py"), &body(name, fails));
    }
    let run_order = |args: &[&str]| {
        let _ = std::fs::remove_file(p.path("order.log"));
        let out = p
            .cmd()
            .args(["-n", "1", "-j", "1"])
            .args(args)
            .output()
            .unwrap();
        let log = std::fs::read_to_string(p.path("order.log")).unwrap();
        (log.lines().map(str::to_string).collect::<Vec<_>>(), out)
    };
    let (first, _) = run_order(&[]);
    assert_eq!(first.len(), 3);
    let (again, _) = run_order(&[]);
    assert_ne!(
        again[0], "z",
        "without --ff the longest files start first: {again:?}"
    );
    let (ff, out) = run_order(&["--ff"]);
    assert_eq!(ff.len(), 3, "everything still runs");
    assert_eq!(ff[0], "z", "the failing file first: {ff:?}");
    assert!(stderr(&out).contains("1 file"), "{}", stderr(&out));
}

#[test]
fn durations_lists_the_slowest_tests() {
    let p = Project::new();
    p.write(
        "tests/test_slow.py",
        r#"
        import time
        from dbtest import test

        @test
        def t05():
            time.sleep(0.05)

        @test
        def t30():
            time.sleep(0.3)

        @test
        def t20():
            time.sleep(0.2)

        @test
        def t10():
            time.sleep(0.1)

        @test
        def t00():
            pass
        "#,
    );
    let out = run(&p, &["--durations", "3", "--color", "never"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let at = text.find("slowest 3").unwrap_or_else(|| panic!("{text}"));
    let section: Vec<&str> = text[at..].lines().skip(1).take(3).collect();
    assert!(section[0].contains("test_slow.py::t30"), "{section:?}");
    assert!(section[1].contains("test_slow.py::t20"), "{section:?}");
    assert!(section[2].contains("test_slow.py::t10"), "{section:?}");
    // Off by default.
    let out = run(&p, &["--color", "never"]);
    assert!(!stdout(&out).contains("slowest"));
}

// ---------------------------------------------------------------------------------------------
// Retries

#[test]
fn retried_tests_that_pass_are_flaky_passes() {
    let p = copy_of("ci_flaky");
    let out = run(
        &p,
        &[
            "--retries",
            "2",
            "--json",
            "r.json",
            "--junitxml",
            "j.xml",
            "-k",
            "test_flaky.py::fails_once",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = read_json(&p.path("r.json"));
    let t = entry(&report, "tests/test_flaky.py::fails_once");
    assert_eq!(t["status"], "passed");
    assert_eq!(t["flaky"], true);
    assert_eq!(t["attempts"], 2);
    assert!(
        stdout(&out).contains("── FLAKY tests/test_flaky.py::fails_once (passed on attempt 2"),
        "the console says so: {}",
        stdout(&out)
    );
    let xml = read_junit(&p.path("j.xml"));
    match &xml.test_suites[0].test_cases[0].status {
        TestCaseStatus::Success { flaky_runs } => assert_eq!(flaky_runs.len(), 1),
        other => panic!("{other:?}"),
    }
}

#[test]
fn retries_cover_failures_crashes_and_timeouts_and_give_up_after_n() {
    let p = copy_of("ci_flaky");
    let out = run(
        &p,
        &[
            "--retries",
            "2",
            "--json",
            "r.json",
            "--junitxml",
            "j.xml",
            "--markdown",
            "r.md",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "always_fails fails: {}",
        stderr(&out)
    );
    let report = read_json(&p.path("r.json"));
    for id in [
        "tests/test_flaky.py::fails_once",
        "tests/test_flaky.py::retries_itself",
        "tests/test_flaky.py::Crashy::crashes_once",
        "tests/test_flaky.py::Crashy::hangs_once",
    ] {
        let t = entry(&report, id);
        assert_eq!(
            (t["status"].as_str(), t["flaky"].as_bool()),
            (Some("passed"), Some(true)),
            "{id}: {t}"
        );
        assert_eq!(t["attempts"], 2, "{id}");
    }
    let always = entry(&report, "tests/test_flaky.py::always_fails");
    assert_eq!(
        (always["status"].as_str(), always["attempts"].as_u64()),
        (Some("failed"), Some(3))
    );
    let passes = entry(&report, "tests/test_flaky.py::passes");
    assert!(
        passes.get("attempts").is_none() && passes.get("flaky").is_none(),
        "{passes}"
    );
    assert_eq!(
        std::fs::read_to_string(p.path("tests/.attempts/passes")).unwrap(),
        "1",
        "a passing test runs once"
    );
    let md = std::fs::read_to_string(p.path("r.md")).unwrap();
    check_markdown(&md);
    assert!(md.contains("### Flaky tests"), "{md}");
    assert!(md.contains("failed after 3 attempts"), "{md}");
    let xml = read_junit(&p.path("j.xml"));
    let case = xml.test_suites[0]
        .test_cases
        .iter()
        .find(|c| c.name.as_str() == "always_fails")
        .unwrap();
    match &case.status {
        TestCaseStatus::NonSuccess { reruns, .. } => {
            assert_eq!(reruns.runs.len(), 2);
            assert_eq!(reruns.kind, FlakyOrRerun::Rerun);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn own_retries_apply_without_the_option_and_nothing_is_retried_by_default() {
    let p = copy_of("ci_flaky");
    let (report, out) = p.run_json(&["-k", "*::[fr][ae]*"]);
    assert_eq!(ids(&report).len(), 2, "{:?}", ids(&report));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        entry(&report, "tests/test_flaky.py::fails_once")["status"],
        "failed"
    );
    assert_eq!(
        entry(&report, "tests/test_flaky.py::retries_itself")["status"],
        "passed"
    );
    assert_eq!(
        entry(&report, "tests/test_flaky.py::retries_itself")["flaky"],
        true
    );
}

// ---------------------------------------------------------------------------------------------
// GitHub Actions

#[test]
fn github_actions_gets_annotations_and_a_step_summary() {
    let p = faults();
    let summary = p.path("summary.md");
    std::fs::write(&summary, "# earlier step\n").unwrap();
    let out = p
        .cmd()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_WORKSPACE", p.root())
        .args(["tests", "--color", "never"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let errors: Vec<&str> = text.lines().filter(|l| l.starts_with("::error ")).collect();
    assert!(
        errors.iter().any(|l| l.starts_with(
            "::error file=tests/test_failures.py,line=10,title=tests/test_failures.py%3A%3AFailures%3A%3Aassert_with_values::"
        )),
        "{text}"
    );
    assert!(
        errors
            .iter()
            .any(|l| l.starts_with("::error file=tests/test_syntax_error.py,line=7,")),
        "{errors:#?}"
    );
    let (report, _) = faults().run_json(&["tests"]);
    let problems = tests_of(&report)
        .iter()
        .filter(|t| t["status"] == "failed" || t["status"] == "error")
        .count();
    assert_eq!(errors.len(), problems, "one annotation per failure");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.starts_with("# earlier step\n"), "appended, not replaced");
    assert!(
        md.contains("| ") && md.contains("assert_with_values"),
        "{md}"
    );
    // Elsewhere: nothing.
    let out = p
        .cmd()
        .env("GITHUB_STEP_SUMMARY", p.path("other.md"))
        .args(["tests"])
        .output()
        .unwrap();
    assert!(!stdout(&out).contains("::error"));
    assert!(!p.exists("other.md"));
}

#[test]
fn a_retry_pass_that_cannot_import_the_file_ends_and_keeps_the_failure() {
    let p = Project::new();
    p.write(
        "tests/test_once.py",
        r#"
        from pathlib import Path
        from dbtest import test

        MARK = Path(__file__).with_name("imported")
        if MARK.exists():
            raise RuntimeError("imports only once")
        MARK.write_text("1")

        @test
        def fails():
            assert False, "first and only attempt"
        "#,
    );
    let (report, out) = p.run_json(&["--retries", "3"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(ids(&report), vec!["tests/test_once.py::fails"]);
    let t = entry(&report, "tests/test_once.py::fails");
    assert_eq!(t["status"], "failed");
    assert!(t.get("attempts").is_none(), "no retry ran: {t}");
    assert_eq!(
        stderr(&out).matches("dbtest: retrying").count(),
        3,
        "{}",
        stderr(&out)
    );
}
