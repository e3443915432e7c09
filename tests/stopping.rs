//! Stopping a run early: `-x` after the first failure, and Ctrl-C/SIGTERM (exit 2 with the
//! report of the finished tests).
mod common;

use std::time::Duration;

use common::*;

#[test]
fn fail_fast_stops_after_the_first_failure() {
    let p = Project::new();
    p.write(
        "tests/test_1_first.py",
        r#"
        from dbtest import test

        @test
        def a_passes():
            pass

        @test
        def b_fails():
            assert 1 == 2, "first failure"

        @test
        def c_after():
            open("c_after.marker", "w").write("ran")
        "#,
    );
    p.write(
        "tests/test_2_second.py",
        r#"
        from dbtest import test

        @test
        def d_later_file():
            open("d_later.marker", "w").write("ran")
        "#,
    );
    let (report, out) = p.run_json(&["-x", "-j", "1"]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    assert_eq!(
        statuses(&report),
        vec![
            ("tests/test_1_first.py::a_passes".into(), "passed".into()),
            ("tests/test_1_first.py::b_fails".into(), "failed".into()),
        ]
    );
    assert_eq!(report["stopped_early"], true);
    assert!(!p.exists("c_after.marker"), "a test ran after the failure");
    assert!(
        !p.exists("d_later.marker"),
        "a later file ran after the failure"
    );

    // Without -x every test runs.
    let (report, out) = p.run_json(&["-j", "1"]);
    assert_eq!(code(&out), Some(1));
    assert_eq!(report["stopped_early"], false);
    assert_eq!(report["summary"]["total"], 4);
    assert!(p.exists("c_after.marker") && p.exists("d_later.marker"));
}

#[test]
fn interrupt_writes_the_report_of_finished_tests_and_exits_2() {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        "from dbtest import test\n\n@test\ndef quick():\n    pass\n",
    );
    p.write(
        "tests/test_b.py",
        r#"
        import time
        from dbtest import test

        @test
        def hangs():
            open("started.marker", "w").close()
            time.sleep(60)
        "#,
    );
    let started = std::time::Instant::now();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dbtest"))
        .current_dir(p.root())
        .env_remove("VIRTUAL_ENV")
        // One file at a time: `quick` has surely finished when `hangs` starts.
        .args(["--format", "json", "-j", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while !p.exists("started.marker") {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the hanging test never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "an interrupted run must not wait for a 60 s test"
    );
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    let report = parse_json(&out);
    assert_eq!(report["interrupted"], true);
    assert_eq!(entry(&report, "tests/test_a.py::quick")["status"], "passed");
    if let Some(t) = tests_of(&report)
        .iter()
        .find(|t| t["id"] == "tests/test_b.py::hangs")
    {
        assert_ne!(t["status"], "passed", "{t}");
    }
}
