//! `--junitxml FILE`: JUnit XML for CI systems (GitLab, Jenkins, GitHub annotation actions),
//! written with `quick-junit`, the crate cargo-nextest uses.
//!
//! One `<testsuite>` per test file, in report order; one `<testcase>` per test with
//! `classname` (the file's dotted module path, plus the suite), `name`, `time`, and the `file`
//! and `line` attributes annotation actions read (pytest's xunit2 drops them). A file that could
//! not be imported is one `<testcase name="<module>">` with an `<error>`. Failures carry the
//! message and the traceback (or the failing line and its values); skips their reason; failed
//! and errored tests their captured output. Earlier attempts of a retried test are
//! `<flakyFailure>`/`<flakyError>` when it passed in the end, `<rerunFailure>`/`<rerunError>`
//! when it did not (Surefire's convention).
//!
//! Any character a name or message holds gives valid XML: the five markup characters are
//! escaped by the writer, and characters XML 1.0 cannot hold at all (C0 controls other than
//! tab, newline and carriage return; U+FFFE, U+FFFF) are shown as `\u{0007}`-style text.
use std::collections::HashMap;
use std::time::Duration;

use quick_junit::{
    FlakyOrRerun, NonSuccessKind, Report, TestCase, TestCaseStatus, TestRerun, TestSuite,
};

use super::run::{Exporter, RunReport};
use crate::runner::event::{ErrorKind, Status, TestResult};

pub struct Junit;

/// The name of the testcase standing for a file that could not be imported (Python's own
/// name for module-level code in tracebacks).
pub const MODULE_CASE: &str = "<module>";

/// Text XML 1.0 can hold: the characters it forbids made visible instead of dropped.
pub fn xml_text(s: &str) -> String {
    if !s.chars().any(forbidden) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if forbidden(c) {
            out.push_str(&format!("\\u{{{:04x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

fn forbidden(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
        // ESC starts the ANSI sequences quick-junit strips; keep it visible instead.
        || c == '\u{1b}'
}

/// `tests/db/test_users.py` -> `tests.db.test_users`.
pub fn module_path(file: &str) -> String {
    let stem = file.strip_suffix(".py").unwrap_or(file);
    stem.trim_start_matches("./").replace(['/', '\\'], ".")
}

/// The dotted module path, plus the suite when the test is in one.
pub fn classname(r: &TestResult) -> String {
    let module = module_path(&r.file);
    match &r.suite {
        Some(s) => format!("{module}.{s}"),
        None => module,
    }
}

/// The line the failure happened on in the test's own file: the deepest traceback frame in
/// that file (`File "tests/t.py", line 10, in ...`), if the traceback has one.
pub fn failing_line(r: &TestResult) -> Option<u32> {
    let tb = r.traceback.as_deref()?;
    let prefix = format!("File \"{}\", line ", r.file);
    tb.lines().rev().find_map(|l| {
        let rest = l.trim_start().strip_prefix(prefix.as_str())?;
        rest.split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    })
}

/// The `line` attribute: the test's own line; for a file that could not be imported, the
/// line its import failed on, else 1 (the file itself).
pub fn case_line(r: &TestResult) -> u32 {
    r.line.or_else(|| failing_line(r)).unwrap_or(1)
}

fn kind_word(kind: Option<ErrorKind>) -> Option<String> {
    kind.and_then(|k| serde_json::to_value(k).ok())
        .and_then(|v| v.as_str().map(str::to_string))
}

/// The body of a `<failure>`/`<error>`: the traceback, else the failing line and the values
/// it used, else the message.
fn description(r: &TestResult) -> Option<String> {
    if let Some(tb) = &r.traceback {
        return Some(tb.clone());
    }
    let mut out = String::new();
    if let Some(src) = &r.source {
        out.push_str(src);
        out.push('\n');
    }
    for v in &r.values {
        out.push_str(&format!("  {} = {}\n", v.name, v.repr));
    }
    if out.is_empty() {
        r.message.clone()
    } else {
        Some(out)
    }
}

fn seconds(ms: f64) -> Duration {
    Duration::from_secs_f64((ms / 1000.0).max(0.0))
}

fn non_success(r: &TestResult) -> NonSuccessKind {
    if matches!(r.status, Status::Failed | Status::Xpassed) {
        NonSuccessKind::Failure
    } else {
        NonSuccessKind::Error
    }
}

/// One earlier, failed attempt of a retried test.
fn rerun(a: &TestResult) -> TestRerun {
    let mut run = TestRerun::new(non_success(a));
    run.set_time(seconds(a.duration_ms));
    if let Some(m) = &a.message {
        run.set_message(xml_text(m));
    }
    if let Some(k) = kind_word(a.kind) {
        run.set_type(k);
    }
    if let Some(d) = description(a) {
        run.set_stack_trace(xml_text(&d));
    }
    if let Some(o) = &a.stdout {
        run.set_system_out(xml_text(o));
    }
    if let Some(e) = &a.stderr {
        run.set_system_err(xml_text(e));
    }
    run
}

fn testcase(r: &TestResult) -> TestCase {
    let status = match r.status {
        Status::Passed => TestCaseStatus::Success {
            flaky_runs: r.earlier.iter().map(rerun).collect(),
        },
        // As pytest's JUnit XML: a non-strict xpass passes, an expected failure is skipped.
        Status::Xpassed if !r.strict => TestCaseStatus::Success {
            flaky_runs: Vec::new(),
        },
        Status::Skipped | Status::Xfailed => {
            let mut s = TestCaseStatus::skipped();
            if let Some(m) = &r.message {
                s.set_message(xml_text(m));
            }
            s
        }
        Status::Failed | Status::Error | Status::Xpassed => {
            let mut s = TestCaseStatus::non_success(non_success(r));
            if let Some(m) = &r.message {
                s.set_message(xml_text(m));
            }
            if let Some(k) = kind_word(r.kind) {
                s.set_type(k);
            }
            if let Some(d) = description(r) {
                s.set_description(xml_text(&d));
            }
            s.add_reruns(r.earlier.iter().map(rerun));
            s.set_rerun_kind(FlakyOrRerun::Rerun);
            s
        }
    };
    let name = r.name.as_deref().unwrap_or(MODULE_CASE);
    let mut case = TestCase::new(xml_text(name), status);
    case.set_classname(xml_text(&classname(r)));
    case.set_time(seconds(r.duration_ms));
    case.extra.insert("file".into(), xml_text(&r.file).into());
    case.extra
        .insert("line".into(), case_line(r).to_string().into());
    if r.is_problem() {
        if let Some(o) = r.stdout.as_deref().filter(|o| !o.is_empty()) {
            case.set_system_out(xml_text(o));
        }
        if let Some(e) = r.stderr.as_deref().filter(|e| !e.is_empty()) {
            case.set_system_err(xml_text(e));
        }
    }
    case
}

/// The report as quick-junit's model (tests and the JUnit e2e checks read it back).
pub fn model(report: &RunReport) -> Report {
    let mut out = Report::new("dbtest");
    out.set_time(seconds(report.duration_ms));
    // One suite per file, in the order files first appear in the report.
    let mut suites: Vec<TestSuite> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for r in report.results() {
        let i = *index.entry(r.file.as_str()).or_insert_with(|| {
            suites.push(TestSuite::new(xml_text(&r.file)));
            suites.len() - 1
        });
        suites[i].add_test_case(testcase(r));
    }
    out.add_test_suites(suites);
    // Each suite's time: the sum of its tests' (quick-junit leaves it unset otherwise).
    for suite in &mut out.test_suites {
        let total: Duration = suite.test_cases.iter().filter_map(|c| c.time).sum();
        suite.set_time(total);
    }
    out
}

impl Exporter for Junit {
    fn render(&self, report: &RunReport) -> String {
        model(report).to_string().unwrap_or_else(|e| {
            // Only an I/O error of the in-memory writer could get here: still a valid file.
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"dbtest\" tests=\"0\" failures=\"0\" errors=\"1\"><!-- {} --></testsuites>\n",
                xml_text(&e.to_string()).replace("--", "- -")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::run::fixtures;

    fn rendered() -> String {
        Junit.render(&fixtures::report())
    }

    #[test]
    fn module_paths_and_classnames() {
        assert_eq!(module_path("tests/db/test_users.py"), "tests.db.test_users");
        assert_eq!(module_path("test_a.py"), "test_a");
        let r = fixtures::result("tests/test_a.py::Suite::x", Status::Passed);
        assert_eq!(classname(&r), "tests.test_a.Suite");
        let r = fixtures::result("tests/test_a.py::f", Status::Passed);
        assert_eq!(classname(&r), "tests.test_a");
    }

    #[test]
    fn one_suite_per_file_with_file_and_line_on_every_case() {
        let back = Report::deserialize_from_str(&rendered()).expect("valid JUnit XML");
        let names: Vec<&str> = back.test_suites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "tests/test_a.py",
                "tests/test_ünï.py",
                "tests/test_broken.py"
            ]
        );
        for suite in &back.test_suites {
            for case in &suite.test_cases {
                assert_eq!(
                    case.extra.get("file").map(|f| f.as_str()),
                    Some(suite.name.as_str())
                );
                assert!(
                    case.extra.contains_key("line"),
                    "{:?} has a line",
                    case.name
                );
            }
        }
        assert_eq!((back.tests, back.failures, back.errors), (4, 1, 1));
    }

    #[test]
    fn failures_errors_and_skips_carry_their_text() {
        let back = Report::deserialize_from_str(&rendered()).unwrap();
        let cases: Vec<&TestCase> = back
            .test_suites
            .iter()
            .flat_map(|s| &s.test_cases)
            .collect();
        let failed = cases
            .iter()
            .find(|c| c.name.as_str() == "naïve_café")
            .unwrap();
        assert_eq!(
            failed.classname.as_ref().unwrap().as_str(),
            "tests.test_ünï.Suite"
        );
        match &failed.status {
            TestCaseStatus::NonSuccess {
                kind,
                message,
                description,
                ..
            } => {
                assert_eq!(*kind, NonSuccessKind::Failure);
                // The bell is shown, not dropped; the markup characters survive the round trip.
                assert_eq!(
                    message.as_ref().unwrap().as_str(),
                    "ü <&> \"quoted\" | pipe \\u{0007} bell 🎉 ```"
                );
                assert!(description.as_ref().unwrap().as_str().contains("line 10"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            failed.system_out.as_ref().unwrap().as_str().trim_end(),
            "printed | <out>"
        );
        let skipped = cases.iter().find(|c| c.name.as_str() == "later").unwrap();
        assert!(matches!(&skipped.status,
            TestCaseStatus::Skipped { message: Some(m), .. } if m.as_str() == "not today"));
        let import = cases
            .iter()
            .find(|c| c.name.as_str() == MODULE_CASE)
            .unwrap();
        assert_eq!(
            import.classname.as_ref().unwrap().as_str(),
            "tests.test_broken"
        );
        assert!(matches!(&import.status,
            TestCaseStatus::NonSuccess { kind: NonSuccessKind::Error, ty: Some(t), .. } if t.as_str() == "import"));
        // Passing tests carry no output.
        let passed = cases.iter().find(|c| c.name.as_str() == "ok").unwrap();
        assert!(passed.system_out.is_none());
    }

    #[test]
    fn every_forbidden_character_still_gives_valid_xml() {
        let mut r = fixtures::result("tests/t.py::S::x\u{0}\u{1b}[31m\u{fffe}", Status::Error);
        r.message =
            Some((0u32..0x20).filter_map(char::from_u32).collect::<String>() + "\u{ffff}]]>");
        r.traceback = Some("<![CDATA[ ]]> & \u{8}".into());
        r.stdout = Some("\u{1b}[31mred\u{1b}[0m".into());
        let report = RunReport::new("3.11".into(), vec![r], 1.0);
        let xml = Junit.render(&report);
        let back = Report::deserialize_from_str(&xml).expect("valid XML");
        let case = &back.test_suites[0].test_cases[0];
        assert!(
            case.name
                .as_str()
                .starts_with("x\\u{0000}\\u{001b}[31m\\u{fffe}")
        );
        assert!(xml.contains("\\u{0007}") && xml.contains("]]&gt;"));
    }

    #[test]
    fn lines_come_from_the_test_else_the_traceback_else_the_file() {
        let mut r = fixtures::result("tests/t.py", Status::Error);
        r.line = None;
        assert_eq!(case_line(&r), 1);
        r.traceback = Some(
            "Traceback (most recent call last):\n  File \"/usr/lib/x.py\", line 99, in f\n  \
             File \"tests/t.py\", line 2, in <module>\n    import nope\n  File \"tests/t.py\", \
             line 5, in g\nModuleNotFoundError"
                .into(),
        );
        assert_eq!((failing_line(&r), case_line(&r)), (Some(5), 5));
        r.line = Some(3);
        assert_eq!(case_line(&r), 3);
    }

    #[test]
    fn an_empty_run_is_a_valid_empty_report() {
        let report = RunReport::new("3.11".into(), Vec::new(), 0.0);
        let back = Report::deserialize_from_str(&Junit.render(&report)).unwrap();
        assert_eq!((back.tests, back.test_suites.len()), (0, 0));
    }
}
