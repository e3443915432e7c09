//! The fault corpus (`tests/fixtures/faults`, or `$DBTEST_FAULTS_DIR`), run end to end: every expectation written in
//! the comments of its `tests/*.py` files, in every report format.
mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::time::Duration;

use common::*;
use serde_json::Value;

/// The project's own fault corpus, or the one `DBTEST_FAULTS_DIR` names (CI points it at
/// `../shared/faults` as an extra step).
fn corpus() -> PathBuf {
    match std::env::var_os("DBTEST_FAULTS_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/faults"),
    }
}

/// A writable copy of the corpus, with a `pyproject.toml` at its top so the project root is
/// the copy (and `from tests.helpers import ...` resolves).
fn fault_project() -> Project {
    let src = corpus();
    if !src.join("tests").is_dir() {
        panic!(
            "the fault corpus is missing: expected it at {} (tests/fixtures/faults, or the \
             folder DBTEST_FAULTS_DIR names)",
            src.display()
        );
    }
    let p = Project::new();
    copy_tree(&src, p.root());
    std::fs::write(p.path("pyproject.toml"), "[project]\nname = \"faults\"\n").unwrap();
    p
}

/// `dbtest ARGS tests` in a fresh copy of the corpus; the copy is returned so files the run
/// wrote can be read.
fn run_faults(args: &[&str]) -> (Project, Output, Duration) {
    let p = fault_project();
    // Data on dbtest's own stdin must never reach a test (`reads_stdin` expects "").
    let (out, elapsed) = time(|| {
        p.cmd()
            .args(args)
            .arg("tests")
            .write_stdin("typed at the terminal\n")
            .output()
            .unwrap()
    });
    (p, out, elapsed)
}

struct JsonRun {
    report: Value,
    raw_len: usize,
    code: Option<i32>,
    elapsed: Duration,
    stderr: String,
}

/// One JSON run of the corpus, shared by the tests that only read its report.
fn json_run() -> &'static JsonRun {
    static RUN: OnceLock<JsonRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let (_p, out, elapsed) = run_faults(&["--format", "json"]);
        JsonRun {
            report: parse_json(&out),
            raw_len: out.stdout.len(),
            code: out.status.code(),
            elapsed,
            stderr: stderr(&out),
        }
    })
}

fn report() -> &'static Value {
    &json_run().report
}

fn field<'a>(id: &str, key: &str) -> &'a Value {
    &entry(report(), id)[key]
}

fn text(id: &str, key: &str) -> String {
    field(id, key)
        .as_str()
        .unwrap_or_else(|| panic!("{id}: {key} is not a string: {}", field(id, key)))
        .to_string()
}

const UNICODE_ID: &str = "tests/test_ünïcode_名前.py::naïve_café";
const UNICODE_MESSAGE: &str = "ü <&> \"quoted\" | pipe \u{7} bell 🎉";

/// Every entry the corpus must produce, in report order: `(id, status, kind)`.
const EXPECTED: &[(&str, &str, Option<&str>)] = &[
    (
        "tests/nested/a/test_same_name.py::knows_its_folder",
        "passed",
        None,
    ),
    (
        "tests/nested/b/test_same_name.py::knows_its_folder",
        "passed",
        None,
    ),
    (
        "tests/test_failures.py::Failures::assert_with_values",
        "failed",
        None,
    ),
    (
        "tests/test_failures.py::Failures::assert_with_message",
        "failed",
        None,
    ),
    (
        "tests/test_failures.py::Failures::raises_error",
        "error",
        Some("exception"),
    ),
    (
        "tests/test_failures.py::Failures::calls_sys_exit",
        "error",
        Some("exception"),
    ),
    (
        "tests/test_failures.py::Failures::deep_recursion",
        "error",
        Some("exception"),
    ),
    (
        "tests/test_hooks.py::SetupSuiteFails::first",
        "error",
        Some("setup"),
    ),
    (
        "tests/test_hooks.py::SetupSuiteFails::second",
        "error",
        Some("setup"),
    ),
    (
        "tests/test_hooks.py::TeardownFails::body_passes",
        "error",
        Some("teardown"),
    ),
    (
        "tests/test_hooks.py::SetupFailsOnce::a_first",
        "error",
        Some("setup"),
    ),
    (
        "tests/test_hooks.py::SetupFailsOnce::b_second",
        "passed",
        None,
    ),
    ("tests/test_import_error.py", "error", Some("import")),
    ("tests/test_ok.py::Healthy::sums", "passed", None),
    ("tests/test_ok.py::Healthy::awaits", "passed", None),
    ("tests/test_ok.py::Healthy::skipped", "skipped", None),
    ("tests/test_ok.py::module_level_function", "passed", None),
    ("tests/test_output.py::Output::prints_a", "failed", None),
    (
        "tests/test_output.py::Output::prints_to_stderr",
        "passed",
        None,
    ),
    ("tests/test_output.py::Output::floods", "passed", None),
    ("tests/test_output.py::Output::reads_stdin", "passed", None),
    (
        "tests/test_output.py::OtherOutput::prints_b",
        "failed",
        None,
    ),
    ("tests/test_raises_at_import.py", "error", Some("import")),
    ("tests/test_syntax_error.py", "error", Some("import")),
    (
        "tests/test_timeouts.py::Timeouts::async_hang",
        "error",
        Some("timeout"),
    ),
    (
        "tests/test_timeouts.py::Timeouts::within_budget",
        "passed",
        None,
    ),
    (
        "tests/test_uses_helper.py::helper_import_works",
        "passed",
        None,
    ),
    (UNICODE_ID, "failed", None),
];

fn problem_ids() -> Vec<&'static str> {
    EXPECTED
        .iter()
        .filter(|(_, s, _)| *s == "failed" || *s == "error")
        .map(|(id, _, _)| *id)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// JSON

#[test]
fn every_test_is_reported_once_in_order_with_its_status_and_kind() {
    let run = json_run();
    let got: Vec<(String, String, Option<String>)> = tests_of(report())
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["status"].as_str().unwrap().to_string(),
                t["kind"].as_str().map(str::to_string),
            )
        })
        .collect();
    let want: Vec<(String, String, Option<String>)> = EXPECTED
        .iter()
        .map(|(i, s, k)| (i.to_string(), s.to_string(), k.map(str::to_string)))
        .collect();
    assert_eq!(got, want, "stderr:\n{}", run.stderr);
    assert_eq!(run.code, Some(1), "some tests failed: exit 1");
}

#[test]
fn summary_and_header_fields() {
    let r = report();
    assert_eq!(r["schema_version"], 1);
    assert_eq!(r["dbtest_version"], env!("CARGO_PKG_VERSION"));
    assert!(
        r["python_version"].as_str().unwrap().starts_with("3.11."),
        "{}",
        r["python_version"]
    );
    assert_eq!(r["interrupted"], false);
    assert_eq!(r["stopped_early"], false);
    let s = &r["summary"];
    assert_eq!(
        (
            &s["total"],
            &s["passed"],
            &s["failed"],
            &s["errors"],
            &s["skipped"]
        ),
        (
            &Value::from(28),
            &Value::from(11),
            &Value::from(5),
            &Value::from(11),
            &Value::from(1)
        )
    );
    let duration = s["duration_ms"].as_f64().expect("duration_ms is a number");
    // The timeout test alone takes 0.5 s.
    assert!(duration >= 450.0, "summary.duration_ms = {duration}");
    assert!(
        json_run().elapsed < Duration::from_secs(30),
        "the corpus run took {:?}",
        json_run().elapsed
    );
}

#[test]
fn every_entry_has_the_documented_shape() {
    for t in tests_of(report()) {
        let id = t["id"].as_str().unwrap();
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
            "source",
            "values",
            "stdout",
            "stderr",
        ] {
            assert!(t.get(key).is_some(), "{id}: no {key:?} field");
        }
        let parts: Vec<&str> = id.split("::").collect();
        assert_eq!(t["file"], parts[0], "{id}: file is the id's path");
        assert!(t["duration_ms"].as_f64().unwrap() >= 0.0, "{id}");
        assert!(t["tags"].is_array() && t["values"].is_array(), "{id}");
        match parts.len() {
            1 => {
                assert!(t["suite"].is_null() && t["name"].is_null(), "{id}: {t}");
                assert_eq!(t["kind"], "import", "{id}");
            }
            2 => {
                assert!(t["suite"].is_null(), "{id}: module-level test has no suite");
                assert_eq!(t["name"], parts[1], "{id}");
            }
            3 => {
                assert_eq!(t["suite"], parts[1], "{id}");
                assert_eq!(t["name"], parts[2], "{id}");
            }
            _ => panic!("malformed id {id}"),
        }
        if parts.len() > 1 {
            assert!(t["line"].as_u64().is_some(), "{id}: a test has its line");
        }
        let status = t["status"].as_str().unwrap();
        if status == "error" {
            assert!(t["kind"].is_string(), "{id}: an error has a kind");
        } else {
            assert!(t["kind"].is_null(), "{id}: only errors have a kind");
        }
        if status == "failed" || status == "error" {
            assert!(
                !t["message"].as_str().unwrap_or("").is_empty(),
                "{id}: a problem says why"
            );
            assert!(
                !t["traceback"].as_str().unwrap_or("").is_empty(),
                "{id}: a problem has a traceback"
            );
        }
        if status == "passed" {
            // Output is kept only for failed and errored tests.
            assert!(t["stdout"].is_null(), "{id}: stdout of a passed test");
            assert!(t["stderr"].is_null(), "{id}: stderr of a passed test");
            assert!(t["message"].is_null() && t["traceback"].is_null(), "{id}");
        }
    }
}

#[test]
fn failed_assertion_shows_the_line_and_both_values() {
    let id = "tests/test_failures.py::Failures::assert_with_values";
    let t = entry(report(), id);
    assert_eq!(t["status"], "failed");
    assert!(t["kind"].is_null());
    let source = text(id, "source");
    assert!(
        source.contains("assert actual == expected"),
        "source: {source:?}"
    );
    let values: Vec<(String, String)> = t["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_string(),
                v["repr"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        values.contains(&("actual".into(), "{'name': 'Alice', 'age': 31}".into())),
        "{values:?}"
    );
    assert!(
        values.contains(&("expected".into(), "{'name': 'Alice', 'age': 30}".into())),
        "{values:?}"
    );
    let tb = text(id, "traceback");
    assert!(
        tb.contains("tests/test_failures.py\", line 10")
            && tb.contains("assert actual == expected"),
        "{tb}"
    );
}

#[test]
fn failed_assertion_with_a_message_reports_the_message() {
    let id = "tests/test_failures.py::Failures::assert_with_message";
    assert_eq!(text(id, "message"), "arithmetic is broken");
    assert!(text(id, "source").contains("assert 1 + 1 == 3"));
}

#[test]
fn exceptions_are_errors_with_their_type_and_text() {
    let id = "tests/test_failures.py::Failures::raises_error";
    let message = text(id, "message");
    assert!(
        message.contains("KeyError") && message.contains("'missing'"),
        "{message}"
    );
    // The traceback ends at the failing line of the test.
    let tb = text(id, "traceback");
    let last_frame = tb
        .lines()
        .rfind(|l| l.trim_start().starts_with("File "))
        .unwrap_or_else(|| panic!("no frame in {tb}"));
    assert!(
        last_frame.contains("tests/test_failures.py\", line 18, in raises_error"),
        "last frame: {last_frame}\n{tb}"
    );
    assert!(field(id, "source").is_null() || !text(id, "source").is_empty());

    let exit = text(
        "tests/test_failures.py::Failures::calls_sys_exit",
        "message",
    );
    assert!(exit.contains("SystemExit"), "{exit}");
    let recursion = text(
        "tests/test_failures.py::Failures::deep_recursion",
        "message",
    );
    assert!(recursion.contains("RecursionError"), "{recursion}");
}

#[test]
fn hook_failures_are_reported_where_they_happen() {
    for id in [
        "tests/test_hooks.py::SetupSuiteFails::first",
        "tests/test_hooks.py::SetupSuiteFails::second",
    ] {
        let m = text(id, "message");
        assert!(
            m.contains("ConnectionError") && m.contains("database unreachable"),
            "{id}: {m}"
        );
    }
    let m = text("tests/test_hooks.py::TeardownFails::body_passes", "message");
    assert!(
        m.contains("ValueError") && m.contains("cleanup failed"),
        "{m}"
    );
    let m = text("tests/test_hooks.py::SetupFailsOnce::a_first", "message");
    assert!(
        m.contains("RuntimeError") && m.contains("flaky fixture"),
        "{m}"
    );
    assert_eq!(
        field("tests/test_hooks.py::SetupFailsOnce::b_second", "status"),
        "passed"
    );
}

#[test]
fn import_failures_are_one_entry_per_file_naming_the_cause() {
    let missing = text("tests/test_import_error.py", "message");
    assert!(
        missing.contains("module_that_does_not_exist_anywhere"),
        "{missing}"
    );
    let raised = text("tests/test_raises_at_import.py", "message");
    assert!(
        raised.contains("RuntimeError") && raised.contains("configuration missing: DATABASE_URL"),
        "{raised}"
    );
    let syntax = text("tests/test_syntax_error.py", "message");
    assert!(
        syntax.contains("SyntaxError")
            && syntax.contains("tests/test_syntax_error.py")
            && syntax.contains("line 7"),
        "{syntax}"
    );
    assert_eq!(field("tests/test_syntax_error.py", "line"), 7);
    // The tests of a file that did not import are not reported one by one.
    let all = ids(report());
    assert!(
        !all.iter()
            .any(|i| i.starts_with("tests/test_import_error.py::")
                || i.starts_with("tests/test_syntax_error.py::")),
        "{all:#?}"
    );
}

#[test]
fn output_is_captured_per_test_and_never_mixed() {
    for (suite, name, letter) in [
        ("Output", "prints_a", 'A'),
        ("OtherOutput", "prints_b", 'B'),
    ] {
        let id = format!("tests/test_output.py::{suite}::{name}");
        assert_eq!(text(&id, "message"), "show my output");
        let out = text(&id, "stdout");
        let lines: Vec<&str> = out.lines().collect();
        let want: Vec<String> = (0..50).map(|i| format!("{letter}{i}")).collect();
        assert_eq!(lines, want, "{id}: stdout holds exactly its own 50 lines");
    }
    assert_eq!(
        field("tests/test_output.py::Output::prints_to_stderr", "status"),
        "passed"
    );
    assert_eq!(
        field("tests/test_output.py::Output::reads_stdin", "status"),
        "passed"
    );
}

#[test]
fn a_flood_of_output_is_not_kept_in_the_report() {
    let id = "tests/test_output.py::Output::floods";
    assert_eq!(field(id, "status"), "passed");
    if let Some(s) = field(id, "stdout").as_str() {
        assert!(
            s.len() <= 1_000_000,
            "floods kept {} bytes of stdout",
            s.len()
        );
    }
    let len = json_run().raw_len;
    assert!(len < 4_000_000, "the JSON report is {len} bytes");
}

#[test]
fn an_async_test_past_its_timeout_is_cancelled() {
    let id = "tests/test_timeouts.py::Timeouts::async_hang";
    let ms = field(id, "duration_ms").as_f64().unwrap();
    assert!(
        (450.0..3000.0).contains(&ms),
        "timed out after {ms} ms, expected about 500"
    );
    assert!(!text(id, "message").is_empty());
    assert_eq!(
        field("tests/test_timeouts.py::Timeouts::within_budget", "status"),
        "passed"
    );
}

#[test]
fn same_named_files_in_different_folders_both_run() {
    for id in [
        "tests/nested/a/test_same_name.py::knows_its_folder",
        "tests/nested/b/test_same_name.py::knows_its_folder",
    ] {
        assert_eq!(field(id, "status"), "passed", "{}", entry(report(), id));
    }
}

#[test]
fn project_root_imports_module_level_tests_and_skips() {
    assert_eq!(
        field("tests/test_uses_helper.py::helper_import_works", "status"),
        "passed"
    );
    let t = entry(report(), "tests/test_uses_helper.py::helper_import_works");
    assert_eq!(t["tags"], serde_json::json!(["integration"]));
    let m = entry(report(), "tests/test_ok.py::module_level_function");
    assert_eq!(m["status"], "passed");
    assert!(m["suite"].is_null());
    // The skipped test never ran (running it raises), and says why it was skipped.
    let s = entry(report(), "tests/test_ok.py::Healthy::skipped");
    assert_eq!(s["status"], "skipped");
    assert_eq!(s["message"], "not on this platform");
    assert!(s["traceback"].is_null() && s["stdout"].is_null(), "{s}");
    assert_eq!(
        entry(report(), "tests/test_ok.py::Healthy::sums")["tags"],
        serde_json::json!(["unit"])
    );
}

#[test]
fn non_ascii_names_and_messages_survive_intact() {
    let t = entry(report(), UNICODE_ID);
    assert_eq!(t["file"], "tests/test_ünïcode_名前.py");
    assert_eq!(t["name"], "naïve_café");
    assert_eq!(t["status"], "failed");
    assert_eq!(t["message"], UNICODE_MESSAGE);
}

#[test]
fn tracebacks_hold_no_dbtest_asyncio_or_importlib_frames() {
    for t in tests_of(report()) {
        let Some(tb) = t["traceback"].as_str() else {
            continue;
        };
        for internal in [
            "dbtest/__init__.py",
            "asyncio/",
            "<frozen importlib",
            "importlib/",
        ] {
            assert!(
                !tb.contains(internal),
                "{}: traceback shows {internal:?}:\n{tb}",
                t["id"]
            );
        }
    }
}

#[test]
fn unit_and_integration_modes_split_the_corpus() {
    let helper = "tests/test_uses_helper.py::helper_import_works";
    let (_p, out, _) = run_faults(&["integration", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(ids(&parse_json(&out)), vec![helper.to_string()]);

    let (_p, out, _) = run_faults(&["unit", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let want: Vec<String> = EXPECTED
        .iter()
        .map(|(i, _, _)| i.to_string())
        .filter(|i| i != helper)
        .collect();
    assert_eq!(ids(&parse_json(&out)), want);
}

// ---------------------------------------------------------------------------------------------
// Markdown and console

#[test]
fn markdown_report_is_valid_and_lists_every_problem() {
    let (_p, out, _) = run_faults(&["--format", "markdown"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let md = stdout(&out);
    check_markdown(&md);
    assert!(!md.contains('\u{7}'), "a raw bell in the markdown report");
    let decoded = html_unescape(&md);
    assert!(
        decoded.contains("5 failed, 11 errors, 11 passed, 1 skipped"),
        "{md}"
    );
    for id in problem_ids() {
        assert!(
            decoded.contains(&format!("<code>{id}</code>")),
            "{id} is missing from the markdown report:\n{md}"
        );
    }
    assert_eq!(
        md.matches("<details>").count(),
        problem_ids().len(),
        "one <details> block per problem"
    );
    // Passing tests are not listed as problems.
    assert!(!decoded.contains("<code>tests/test_ok.py::Healthy::sums</code>"));
    for needle in [
        "arithmetic is broken",
        "configuration missing: DATABASE_URL",
        "module_that_does_not_exist_anywhere",
        "database unreachable",
        "ü <&> \"quoted\" | pipe",
        "bell 🎉",
        "actual = {'name': 'Alice', 'age': 31}",
    ] {
        assert!(decoded.contains(needle), "{needle:?} missing:\n{md}");
    }
}

#[test]
fn console_report_shows_every_problem_and_the_totals() {
    let (_p, out, _) = run_faults(&["--format", "console", "--color", "never"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let console = stdout(&out);
    assert!(
        !console.contains('\u{1b}'),
        "colour codes under --color never"
    );
    assert!(
        !console.contains('\u{7}'),
        "a raw bell in the console report"
    );
    for id in problem_ids() {
        assert!(console.contains(id), "{id} missing from:\n{console}");
    }
    for needle in [
        "arithmetic is broken",
        "configuration missing: DATABASE_URL",
        "ü <&> \"quoted\" | pipe",
        "A49",
        "B49",
    ] {
        assert!(console.contains(needle), "{needle:?} missing:\n{console}");
    }
    for file in [
        "tests/nested/a/test_same_name.py",
        "tests/test_ok.py",
        "tests/test_ünïcode_名前.py",
    ] {
        assert!(console.contains(file), "{file} not in the table");
    }
    let last = console.trim_end().lines().last().unwrap_or("");
    assert!(
        last.starts_with("FAILED 5 failed, 11 errors, 11 passed, 1 skipped in "),
        "summary line: {last:?}"
    );
}

#[test]
fn output_file_gets_the_json_report_and_stdout_the_console_summary() {
    let (p, out, _) = run_faults(&["--format", "json", "-o", "report.json", "--color", "never"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let written = std::fs::read_to_string(p.path("report.json")).expect("report.json written");
    let v: Value = serde_json::from_str(&written).expect("the file holds valid JSON");
    assert_eq!(v["summary"]["total"], 28);
    assert_eq!(v["summary"]["failed"], 5);
    assert_eq!(v["summary"]["errors"], 11);
    let got: Vec<String> = ids(&v);
    let want: Vec<String> = EXPECTED.iter().map(|(i, _, _)| i.to_string()).collect();
    assert_eq!(got, want);
    let console = stdout(&out);
    assert!(
        console.contains("FAILED 5 failed, 11 errors, 11 passed, 1 skipped in "),
        "{console}"
    );
    assert!(
        serde_json::from_str::<Value>(&console).is_err(),
        "stdout holds the console report, not JSON"
    );
}

/// The markdown checks above can fail: a row with a stray pipe, an unclosed fence or a raw
/// control character is caught.
#[test]
fn markdown_checker_rejects_broken_documents() {
    let good = "| a | b |\n| --- | --- |\n| x | y |\n\n```text\n| not | a | row |\n```\n";
    check_markdown(good);
    for bad in [
        "| a | b |\n| --- | --- |\n| x | y | z |\n",
        "| a | b |\n| --- | --- |\n```text\nnever closed\n",
        "| a | b |\n| --- | --- |\n| x \u{7} | y |\n",
        "| a | b |\n<details>\n",
    ] {
        let caught = std::panic::catch_unwind(|| check_markdown(bad)).is_err();
        assert!(caught, "accepted a broken document:\n{bad}");
    }
    assert_eq!(
        html_unescape("a&#95;b &lt;&amp;&gt; &#x7c; &unknown; &"),
        "a_b <&> | &unknown; &"
    );
}
