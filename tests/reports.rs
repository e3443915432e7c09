//! Reports: snapshots of the console, JSON and markdown formats of a small deterministic
//! project, report order, and `--color`.
mod common;

use common::*;

#[test]
fn report_demo_json_snapshot() {
    let p = fixture("report_demo");
    let out = p.cmd().args(["--format", "json"]).output().unwrap();
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    parse_json(&out);
    snapshot_settings(p.root()).bind(|| insta::assert_snapshot!("report_demo_json", stdout(&out)));
}

#[test]
fn report_demo_markdown_snapshot() {
    let p = fixture("report_demo");
    let out = p.cmd().args(["--format", "markdown"]).output().unwrap();
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    snapshot_settings(p.root())
        .bind(|| insta::assert_snapshot!("report_demo_markdown", stdout(&out)));
}

#[test]
fn report_demo_console_snapshot() {
    let p = fixture("report_demo");
    let out = p.cmd().args(["--color", "never"]).output().unwrap();
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    snapshot_settings(p.root())
        .bind(|| insta::assert_snapshot!("report_demo_console", stdout(&out)));
}

#[test]
fn report_order_is_by_file_then_declaration_whatever_finishes_first() {
    let p = Project::new();
    p.write(
        "tests/test_a_slow.py",
        r#"
        import time
        from dbtest import TestSuite, test

        @test
        def z_module_first():
            time.sleep(0.3)

        class Middle(TestSuite):
            @test
            def y_second(self):
                pass

            @test
            def a_third(self):
                pass

        @test
        def b_module_last():
            pass
        "#,
    );
    p.write(
        "tests/test_b_fast.py",
        "from dbtest import test\n\n@test\ndef instant():\n    pass\n",
    );
    let (report, out) = p.run_json(&["-j", "4"]);
    assert_eq!(code(&out), Some(0), "{report:#}");
    assert_eq!(
        ids(&report),
        strs(&[
            "tests/test_a_slow.py::z_module_first",
            "tests/test_a_slow.py::Middle::y_second",
            "tests/test_a_slow.py::Middle::a_third",
            "tests/test_a_slow.py::b_module_last",
            "tests/test_b_fast.py::instant",
        ])
    );
}

#[test]
fn color_always_colours_and_never_does_not() {
    let p = fixture("report_demo");
    let out = p.cmd().args(["--color", "always"]).output().unwrap();
    assert!(
        stdout(&out).contains("\u{1b}["),
        "no colour under --color always"
    );
    let out = p
        .cmd()
        .env("FORCE_COLOR", "1")
        .args(["--color", "never"])
        .output()
        .unwrap();
    assert!(!stdout(&out).contains('\u{1b}'));
    // auto: stdout is a pipe here, so no colour unless FORCE_COLOR says so.
    let out = p.cmd().output().unwrap();
    assert!(!stdout(&out).contains('\u{1b}'));
    let out = p.cmd().env("FORCE_COLOR", "1").output().unwrap();
    assert!(stdout(&out).contains("\u{1b}["), "FORCE_COLOR under auto");
}
