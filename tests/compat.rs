//! End-to-end tests of running unittest and pytest-style suites unchanged: the fixture project
//! `tests/fixtures/compat` (and `../shared/compat` when it is there) gives exactly its
//! `EXPECTED.json`, id by id; selection, listing and reports know the new statuses.
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::*;
use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compat")
}

/// Whether the Python dbtest embeds can import pytest (the pytest-style files need it).
fn pytest_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let p = Project::new();
        p.write(
            "tests/test_probe.py",
            "
            import pytest

            def test_probe():
                pass
            ",
        );
        let (report, _) = p.run_json(&[]);
        let ok = statuses(&report) == [("tests/test_probe.py::test_probe".into(), "passed".into())];
        if !ok {
            eprintln!(
                "note: pytest is not importable by the embedded Python (install it: `python3 -m pip install pytest`); skipping the pytest-style checks"
            );
        }
        ok
    })
}

/// A copy of `dir` (no `__pycache__` lands in the source tree), run with `args`.
fn run_copy(dir: &Path, args: &[&str]) -> (Value, std::process::Output, Project) {
    let p = Project::bare();
    copy_tree(dir, p.root());
    let (report, out) = p.run_json(args);
    (report, out, p)
}

fn expected(dir: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(dir.join("EXPECTED.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Compare a report with an expectation id by id; on a mismatch, say every difference.
fn assert_matches(report: &Value, want: &BTreeMap<String, String>) {
    let got: BTreeMap<String, String> = statuses(report).into_iter().collect();
    assert_eq!(
        ids(report).len(),
        got.len(),
        "an id is reported twice: {:?}",
        ids(report)
    );
    let mut diffs = Vec::new();
    for id in want.keys().chain(got.keys()) {
        let (w, g) = (want.get(id), got.get(id));
        if w != g
            && !diffs
                .iter()
                .any(|d: &String| d.starts_with(&format!("{id}:")))
        {
            let detail = tests_of(report)
                .iter()
                .find(|t| t["id"] == id.as_str())
                .map(|t| t.to_string())
                .unwrap_or_default();
            diffs.push(format!("{id}: expected {w:?}, got {g:?} {detail}"));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

fn fixture_run() -> &'static (Value, Option<i32>, String) {
    static RUN: OnceLock<(Value, Option<i32>, String)> = OnceLock::new();
    RUN.get_or_init(|| {
        let (report, out, _p) = run_copy(&fixture(), &[]);
        (report, out.status.code(), stderr(&out))
    })
}

#[test]
fn the_fixture_project_gives_exactly_its_expected_statuses() {
    if !pytest_available() {
        return;
    }
    let (report, code, err) = fixture_run();
    assert_matches(report, &expected(&fixture()));
    assert_eq!(*code, Some(1), "{err}");
    let s = &report["summary"];
    assert!(s["xfailed"].as_u64().unwrap() >= 5, "{s}");
    assert!(s["xpassed"].as_u64().unwrap() >= 2, "{s}");
}

#[test]
fn the_shared_compat_corpus_gives_exactly_its_expected_statuses() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/compat");
    if !shared.join("EXPECTED.json").is_file() {
        eprintln!(
            "note: {} is absent; the fixture tests/fixtures/compat covers the same cases",
            shared.display()
        );
        return;
    }
    if !pytest_available() {
        return;
    }
    let (report, out, _p) = run_copy(&shared, &[]);
    assert_matches(&report, &expected(&shared));
    // Basics::test_unexpected_success is xpassed and fails the run, as unittest counts it.
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn unittest_outcomes_carry_what_a_user_needs() {
    if !pytest_available() {
        return;
    }
    let report = &fixture_run().0;
    let sub = entry(
        report,
        "tests/test_class_fixtures.py::SubTests::test_two_fail",
    );
    let msg = sub["message"].as_str().unwrap();
    assert!(
        msg.contains("2 subtests failed")
            && msg.contains("(i=2, kind='even')")
            && msg.contains("(i=3, kind='odd')")
            && msg.contains("3 not less than 2"),
        "{sub:#}"
    );
    let setup = entry(
        report,
        "tests/test_unittest_cases.py::ClassSetupFails::test_a",
    );
    assert_eq!(setup["kind"], "setup");
    assert!(
        setup["message"]
            .as_str()
            .unwrap()
            .contains("setUpClass failed: ConnectionError: database unreachable"),
        "{setup:#}"
    );
    let td = entry(
        report,
        "tests/test_class_fixtures.py::TearDownFails::tearDownClass",
    );
    assert_eq!(
        (td["status"].as_str(), td["kind"].as_str()),
        (Some("error"), Some("teardown"))
    );
    let xpass = entry(
        report,
        "tests/test_unittest_cases.py::Basics::test_unexpected_success",
    );
    assert_eq!(xpass["strict"], true, "{xpass:#}");
    let fail = entry(report, "tests/test_unittest_cases.py::Basics::test_fail");
    assert!(
        fail["message"]
            .as_str()
            .unwrap()
            .starts_with("Lists differ"),
        "{fail:#}"
    );
    // unittest's own frames are not in the traceback; the test's line is.
    let tb = fail["traceback"].as_str().unwrap();
    assert!(
        !tb.contains("unittest/case.py") && tb.contains("test_unittest_cases.py"),
        "{tb}"
    );
    let skip = entry(report, "tests/test_unittest_cases.py::Basics::test_skipped");
    assert_eq!(skip["message"], "not on this platform");
}

#[test]
fn pytest_style_outcomes_carry_what_a_user_needs() {
    if !pytest_available() {
        return;
    }
    let report = &fixture_run().0;
    let values = entry(report, "tests/test_xunit.py::test_values_shown");
    assert_eq!(values["status"], "failed");
    let shown: Vec<String> = values["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            format!(
                "{}={}",
                v["name"].as_str().unwrap(),
                v["repr"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(shown, ["width=3", "height=4"], "{values:#}");
    let fixture = entry(report, "tests/test_pytest_style.py::test_needs_fixture");
    assert_eq!(fixture["kind"], "fixture");
    assert!(
        fixture["message"].as_str().unwrap().contains("'database'"),
        "{fixture:#}"
    );
    let skip = entry(report, "tests/test_module_skip.py");
    assert_eq!(skip["status"], "skipped");
    assert!(
        skip["message"]
            .as_str()
            .unwrap()
            .contains("module_that_is_not_installed_anywhere")
    );
    let strict = entry(
        report,
        "tests/test_pytest_style.py::test_xfail_strict_passes",
    );
    assert!(
        strict["message"]
            .as_str()
            .unwrap()
            .starts_with("[XPASS(strict)]"),
        "{strict:#}"
    );
    let xpass = entry(report, "tests/test_pytest_style.py::test_xfail_passes");
    assert_eq!(
        (xpass["status"].as_str(), &xpass["strict"]),
        (Some("xpassed"), &Value::Bool(false))
    );
    let tags = entry(report, "tests/test_params.py::test_two_tags");
    // In pytest's order: the decorator nearest the function first.
    assert_eq!(tags["tags"], serde_json::json!(["slow", "db"]));
}

#[test]
fn a_non_strict_xpass_alone_passes_the_run_an_unexpected_success_fails_it() {
    if !pytest_available() {
        return;
    }
    let p = Project::new();
    p.write(
        "tests/test_x.py",
        "
        import pytest

        @pytest.mark.xfail(reason='maybe fixed')
        def test_fixed():
            pass

        @pytest.mark.xfail
        def test_broken():
            assert False
        ",
    );
    let (report, out) = p.run_json(&[]);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["summary"]["xpassed"], 1);
    assert_eq!(report["summary"]["xfailed"], 1);
    p.write(
        "tests/test_y.py",
        "
        import unittest

        class C(unittest.TestCase):
            @unittest.expectedFailure
            def test_fixed(self):
                pass
        ",
    );
    let out = p.cmd().output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("xpassed") && text.contains("xfailed"),
        "{text}"
    );
}

#[test]
fn files_that_do_not_import_pytest_never_load_it() {
    let p = Project::new();
    p.write(
        "tests/test_plain.py",
        "
        import sys
        import unittest

        def test_function():
            assert 'pytest' not in sys.modules

        class TestClass:
            def test_method(self):
                assert 'pytest' not in sys.modules

        class Case(unittest.TestCase):
            def test_case(self):
                self.assertNotIn('pytest', sys.modules)
        ",
    );
    let (report, out) = p.run_json(&[]);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["summary"]["passed"], 3);
}

#[test]
fn keyword_and_marker_expressions_select_as_pytest_does() {
    if !pytest_available() {
        return;
    }
    let sel = |args: &[&str]| -> Vec<String> {
        let (report, _, _p) = run_copy(&fixture(), args);
        ids(&report)
    };
    let got = sel(&["-k", "test_add and not 2-2-5"]);
    assert_eq!(got, ["tests/test_pytest_style.py::test_add[1-2-3]"]);
    let got = sel(&["-k", "test_add[2-2-5]"]);
    assert_eq!(got, ["tests/test_pytest_style.py::test_add[2-2-5]"]);
    let got = sel(&["-k", "SubTests or (Generated and gen_0)"]);
    assert_eq!(
        got,
        [
            "tests/test_class_fixtures.py::SubTests::test_all_pass",
            "tests/test_class_fixtures.py::SubTests::test_two_fail",
            // Words match ignoring case, as pytest matches them.
            "tests/test_unittest_cases.py::Basics::test_subtests",
            "tests/test_unittest_cases.py::Generated::test_gen_0"
        ]
    );
    let got = sel(&["-m", "slow and not db"]);
    assert_eq!(got, ["tests/test_pytest_style.py::test_custom_mark"]);
    let got = sel(&["--tags", "db", "-k", "test_params.py"]);
    assert_eq!(
        got,
        [
            "tests/test_params.py::test_two_tags",
            "tests/test_params.py::TestParamClass::test_m[1]"
        ]
    );
}

#[test]
fn list_finds_unittest_and_pytest_style_tests_without_importing() {
    let p = Project::new();
    p.write(
        "tests/test_l.py",
        "
        import unittest
        raise SystemExit('never imported by --list')

        class Case(unittest.TestCase):
            def test_b(self): pass
            def test_a(self): pass

        def test_function(): pass

        class TestStyle:
            def test_m(self): pass
        ",
    );
    let out = p.cmd().arg("--list").output().unwrap();
    let text = stdout(&out);
    assert!(
        text.contains("tests/test_l.py::Case::test_a\ntests/test_l.py::Case::test_b\n")
            && text.contains("tests/test_l.py::test_function\n")
            && text.contains("tests/test_l.py::TestStyle::test_m\n"),
        "{text}"
    );
}

#[test]
fn fail_fast_stops_after_the_first_unittest_failure() {
    let p = Project::new();
    p.write(
        "tests/test_ff.py",
        "
        import unittest

        class C(unittest.TestCase):
            def test_1(self):
                self.fail('first')

            def test_2(self):
                pass
        ",
    );
    let (report, out) = p.run_json(&["-x", "-n", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(ids(&report), ["tests/test_ff.py::C::test_1"]);
}

#[test]
fn tests_import_helpers_beside_them_as_under_pytest() {
    let p = Project::new();
    p.write("test/common.py", "VALUE = 42\n");
    p.write(
        "test/test_uses_common.py",
        "
        from common import VALUE

        def test_value():
            assert VALUE == 42
        ",
    );
    let (report, out) = p.run_json(&["test"]);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(
        statuses(&report),
        [(
            "test/test_uses_common.py::test_value".into(),
            "passed".into()
        )]
    );
}

#[test]
fn test_cases_in_a_folder_named_unittest_still_run() {
    // The benchmark corpus's layout: the folder's module names start with `unittest.`.
    let p = Project::new();
    p.write(
        "unittest/test_u.py",
        "
        import unittest

        class TestSuite0(unittest.TestCase):
            def test_case_0(self):
                assert 1 + 1 == 2
        ",
    );
    let (report, out) = p.run_json(&["unittest"]);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(
        ids(&report),
        ["unittest/test_u.py::TestSuite0::test_case_0"]
    );
}
