//! Version, usage errors and empty runs: what dbtest says and which code it exits with
//! when there is nothing (right) to run.
mod common;

use common::*;
use serde_json::json;

#[test]
fn version_names_dbtest_and_the_embedded_python() {
    for flag in ["--version", "-V"] {
        let out = dbtest().arg(flag).output().unwrap();
        assert_eq!(code(&out), Some(0));
        let text = stdout(&out);
        let want_prefix = format!("dbtest {} (Python 3.11.", env!("CARGO_PKG_VERSION"));
        assert!(text.starts_with(&want_prefix), "{text:?}");
        let patch = text
            .strip_prefix(&want_prefix)
            .and_then(|r| r.strip_suffix(")\n"))
            .unwrap_or_else(|| panic!("{text:?}"));
        assert!(
            !patch.is_empty() && patch.chars().all(|c| c.is_ascii_digit()),
            "{text:?}"
        );
    }
}

#[test]
fn usage_errors_exit_4_and_say_what_is_wrong() {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        "from dbtest import test\n@test\ndef ok(): pass\n",
    );
    let out = p.cmd().arg("--no-such-option").output().unwrap();
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--no-such-option"),
        "{}",
        stderr(&out)
    );

    let out = p.cmd().arg("no_such_dir/deeper").output().unwrap();
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no_such_dir/deeper"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty(), "{}", stdout(&out));

    for args in [
        &["-k", "[unclosed"][..],
        &["-j", "0"][..],
        &["--format", "xml"][..],
        &["--color", "sometimes"][..],
    ] {
        let out = p.cmd().args(args).output().unwrap();
        assert_eq!(code(&out), Some(4), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).trim().is_empty(), "{args:?}: no message");
    }
}

#[test]
fn an_unwritable_output_file_is_a_usage_error() {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        "from dbtest import test\n@test\ndef ok(): pass\n",
    );
    let out = p
        .cmd()
        .args(["--format", "json", "-o", "missing_folder/report.json"])
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("missing_folder/report.json"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_empty_project_collects_nothing_and_exits_5() {
    let p = Project::new();
    p.write("tests/helpers.py", "X = 1\n");
    let out = p.cmd().output().unwrap();
    assert_eq!(code(&out), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no tests collected"),
        "{}",
        stderr(&out)
    );

    let (report, out) = p.run_json(&[]);
    assert_eq!(code(&out), Some(5));
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["summary"]["total"], 0);
    assert_eq!(report["tests"], json!([]));

    let out = p.cmd().args(["--list"]).output().unwrap();
    assert_eq!(code(&out), Some(5), "--list with nothing to list");
}

#[test]
fn filters_that_select_nothing_exit_5() {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        "from dbtest import test\n@test\ndef ok(): pass\n",
    );
    let (report, out) = p.run_json(&["-k", "nothing_matches_this"]);
    assert_eq!(code(&out), Some(5), "{}", stderr(&out));
    assert_eq!(report["summary"]["total"], 0);
}
