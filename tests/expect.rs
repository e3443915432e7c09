//! End-to-end tests of the `expect` API as the real binary runs it, on a project shaped like
//! the original framework's (`tests/fixtures/expect`): a shared base suite with async hooks,
//! `expect(user.id).not_.to_be_none()`, truthiness, every matcher plain and negated.
mod common;

use std::path::Path;
use std::sync::OnceLock;

use common::*;
use serde_json::Value;

const PASSING: &str = "tests/test_users.py::";
const FAILING: &str = "tests/test_failures.py::TestFailures::";

/// One run of the fixture (a copy, so no `__pycache__` lands in the source tree), shared by
/// the tests below: the report, the exit code and stderr.
fn run() -> &'static (Value, Option<i32>, String) {
    static RUN: OnceLock<(Value, Option<i32>, String)> = OnceLock::new();
    RUN.get_or_init(|| {
        let p = Project::bare();
        copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/expect"),
            p.root(),
        );
        let (report, out) = p.run_json(&[]);
        (report, out.status.code(), stderr(&out))
    })
}

fn report() -> &'static Value {
    &run().0
}

fn message(id: &str) -> String {
    let t = entry(report(), id);
    assert_eq!(t["status"], "failed", "{id}: {t:#}");
    assert!(
        t["kind"].is_null(),
        "{id}: a failed assertion has no kind: {t:#}"
    );
    t["message"].as_str().unwrap_or_default().to_string()
}

#[test]
fn every_matcher_passes_where_it_holds_plain_and_negated() {
    let (report, code, stderr) = run();
    let passing: Vec<(String, String)> = statuses(report)
        .into_iter()
        .filter(|(id, _)| id.starts_with("tests/test_users.py"))
        .collect();
    let want: Vec<(String, String)> = [
        "TestUsers::created_user_has_an_id",
        "TestUsers::emails",
        "TestUsers::dict_view",
        "TestUsers::lookups",
        "TestUsers::errors",
        "module_level_truthiness",
    ]
    .iter()
    .map(|n| (format!("{PASSING}{n}"), "passed".to_string()))
    .collect();
    let problems: Vec<String> = tests_of(report)
        .iter()
        .filter(|t| t["file"] == "tests/test_users.py" && t["status"] != "passed")
        .map(|t| format!("{}: {} {}", t["id"], t["message"], t["traceback"]))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(passing, want);
    assert_eq!(report["summary"]["passed"], 6, "{}", report["summary"]);
    assert_eq!(report["summary"]["failed"], 13, "{}", report["summary"]);
    assert_eq!(report["summary"]["errors"], 0, "{stderr}");
    assert_eq!(*code, Some(1), "{stderr}");
}

#[test]
fn failures_show_the_values_and_say_not_when_negated() {
    for (name, want) in [
        ("id_is_none", "expected None not to be None"),
        ("empty_name_is_not_true", "expected '' to be truthy"),
        ("active_is_not_false", "expected True to be falsy"),
        (
            "email_starts_with",
            "expected 'ada@example.com' not to start with 'ada'",
        ),
        (
            "email_ends_with",
            "expected 'ada@example.com' to end with '.org'",
        ),
        (
            "email_matches",
            r"expected 'ada@example.com' not to match '@\\w+', found '@example' at 3",
        ),
        ("name_not_equal", "expected 'ada' not to equal 'ada'"),
        // The first (negated) check passes; the plain one after it fails.
        (
            "roles_are_empty",
            "expected ['admin'] to be empty, it has length 1",
        ),
        (
            "none_cannot_start_with",
            "expected None not to start with 'x', but it is a NoneType, not a string",
        ),
        (
            "duplicate_is_not_raised",
            "expected ValueError not to be raised, got DuplicateUser: user 'ada' exists",
        ),
    ] {
        assert_eq!(message(&format!("{FAILING}{name}")), want, "{name}");
    }
    // Values that change per run (a generated id): their shape.
    let m = message(&format!("{FAILING}has_no_password"));
    assert!(
        m.starts_with("expected {'id': '")
            && m.ends_with("', 'name': 'ada', 'email': 'ada@example.com'} to have key 'password'"),
        "{m}"
    );
    let m = message(&format!("{FAILING}nothing_raised"));
    assert!(
        m.starts_with(
            "expected ValueError to be raised, nothing was raised (it returned User(name='bob'"
        ),
        "{m}"
    );
}

#[test]
fn failures_point_at_the_users_line_not_the_shim() {
    for t in tests_of(report())
        .iter()
        .filter(|t| t["file"] == "tests/test_failures.py")
    {
        let name = t["name"].as_str().unwrap();
        let tb = t["traceback"].as_str().unwrap_or_default();
        assert!(tb.contains(&format!("in {name}")), "{name}: {tb}");
        assert!(
            !tb.contains("dbtest/__init__.py"),
            "{name}: shim frames: {tb}"
        );
        let source = t["source"].as_str().unwrap_or_default();
        assert!(source.starts_with("expect("), "{name}: source {source:?}");
    }
    // The values on the failing line are shown beside the message.
    let t = entry(report(), &format!("{FAILING}id_is_none"));
    assert_eq!(t["source"], "expect(user.id).not_.to_be_none()");
    let values = t["values"].as_array().unwrap();
    assert!(
        values
            .iter()
            .any(|v| v["name"] == "user.id" && v["repr"] == "None"),
        "{values:?}"
    );
}

#[test]
fn negated_to_raise_shows_where_the_exception_came_from() {
    let t = entry(report(), &format!("{FAILING}duplicate_is_not_raised"));
    let tb = t["traceback"].as_str().unwrap();
    // Chained to the exception: its own traceback, in the project's code, comes first.
    let cause = tb
        .find("raise DuplicateUser")
        .unwrap_or_else(|| panic!("{tb}"));
    let link = tb
        .find("The above exception was the direct cause of the following exception")
        .unwrap_or_else(|| panic!("{tb}"));
    assert!(cause < link, "{tb}");
    assert!(tb.contains("File \"app/users.py\""), "{tb}");
    assert!(
        tb.ends_with(
            "AssertionError: expected ValueError not to be raised, got DuplicateUser: user 'ada' exists"
        ),
        "{tb}"
    );
}

#[test]
fn huge_values_are_cut_in_the_message() {
    let m = message(&format!("{FAILING}huge_value"));
    assert!(m.starts_with("expected ['user0', 'user1', "), "{m}");
    assert!(
        m.ends_with("'user1998', 'user1999'] to contain 'user2000'"),
        "{m}"
    );
    assert!(m.contains(" more chars...>"), "{m}");
    assert!(m.len() < 400, "{} chars: {m}", m.len());
}
