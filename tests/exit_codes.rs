//! Exit codes end to end: pytest's table (README), user errors each with theirs, and standard
//! output that goes away early (`| head`: quiet, the run's own code) or cannot be written
//! (`> /dev/full`: a usage error with a message, like an unwritable `-o` file).
mod common;

use std::process::{Command, Output, Stdio};

use common::*;

/// A project with one passing test file, big enough that its JSON report fills more than one
/// small read.
fn passing() -> Project {
    let p = Project::new();
    let mut src = String::from("from dbtest import test\n");
    for i in 0..50 {
        src.push_str(&format!("\n@test\ndef passes_{i}():\n    assert True\n"));
    }
    p.write("tests/test_ok.py", &src);
    p
}

/// `dbtest ARGS` in `p` with standard output going to `stdout` (assert_cmd's `Command`
/// always captures it, which these tests must not).
fn run_to(p: &Project, args: &[&str], stdout: Stdio) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dbtest"));
    for var in ["VIRTUAL_ENV", "NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE"] {
        c.env_remove(var);
    }
    c.current_dir(p.root())
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("running dbtest")
}

fn err_text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_reader_that_closed_early_ends_the_run_quietly_with_its_own_code() {
    let p = passing();
    // The reading end is closed before dbtest writes anything: every write gets EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = run_to(&p, &["--format", "json"], writer.into());
    let stderr = err_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("internal error"), "{stderr}");
    assert!(!stderr.contains("cannot write"), "{stderr}");

    // Still the run's code, not 0, when a test failed.
    p.write(
        "tests/test_bad.py",
        "from dbtest import test\n\n@test\ndef fails():\n    assert 1 == 2\n",
    );
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = run_to(&p, &["--format", "json"], writer.into());
    assert_eq!(out.status.code(), Some(1), "{}", err_text(&out));
    assert!(!err_text(&out).contains("internal error"));
}

#[test]
fn piped_into_head_exits_zero_without_an_internal_error() {
    let p = passing();
    let out = Command::new("bash")
        .arg("-c")
        .arg(r#"set -o pipefail; "$0" --format json | head -c 10"#)
        .arg(env!("CARGO_BIN_EXE_dbtest"))
        .current_dir(p.root())
        .env_remove("VIRTUAL_ENV")
        .output()
        .unwrap();
    let stderr = err_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(out.stdout.len(), 10);
    assert!(!stderr.contains("internal error"), "{stderr}");
}

#[test]
fn a_full_stdout_is_a_usage_error_with_a_message() {
    let p = passing();
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full")
    };
    let out = run_to(&p, &[], full().into());
    let stderr = err_text(&out);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("cannot write to standard output")
            && stderr.contains("No space left on device"),
        "{stderr}"
    );
    assert!(!stderr.contains("internal error"), "{stderr}");

    // With -o the report file is written first; the console summary then fails alike.
    let out = run_to(
        &p,
        &["--format", "json", "-o", "report.json"],
        full().into(),
    );
    assert_eq!(out.status.code(), Some(4), "{}", err_text(&out));
    assert!(p.exists("report.json"));
}

#[test]
fn an_unwritable_output_file_is_a_usage_error() {
    let p = passing();
    let out = run_to(&p, &["-o", "missing/dir/report.json"], Stdio::null());
    let stderr = err_text(&out);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("cannot write the report to"), "{stderr}");
}

#[test]
fn user_errors_exit_4_naming_the_problem() {
    let p = passing();
    for (args, says) in [
        (&["no/such/path"][..], "path not found: no/such/path"),
        (&["-k", "tests/[oops"][..], "invalid --pattern"),
        (&["--jobs", "0"][..], "--jobs must be at least 1"),
        (&["--timeout", "0"][..], "--timeout takes a number"),
        (
            &["--fail-on", "median:5%"][..],
            "--fail-on needs --baseline",
        ),
        (&["--no-such-option"][..], "unexpected argument"),
    ] {
        let out = run_to(&p, args, Stdio::null());
        let stderr = err_text(&out);
        assert_eq!(out.status.code(), Some(4), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!stderr.contains("internal error"), "{args:?}: {stderr}");
    }
}

#[test]
fn runs_exit_with_pytests_codes() {
    let p = passing();
    assert_eq!(run_to(&p, &[], Stdio::null()).status.code(), Some(0));
    let out = run_to(&p, &["-k", "nothing_matches_this"], Stdio::null());
    assert_eq!(out.status.code(), Some(5), "{}", err_text(&out));
    p.write(
        "tests/test_bad.py",
        "from dbtest import test\n\n@test\ndef fails():\n    assert 1 == 2\n",
    );
    assert_eq!(run_to(&p, &[], Stdio::null()).status.code(), Some(1));
    let version = run_to(&p, &["--version"], Stdio::piped());
    assert_eq!(version.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("dbtest "));
}

#[test]
fn version_into_a_closed_pipe_is_quiet_into_a_full_one_an_error() {
    let p = Project::new();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = run_to(&p, &["--version"], writer.into());
    let stderr = err_text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    // Into a full device it is the same usage error as a report's.
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = run_to(&p, &["--version"], full.into());
    assert_eq!(out.status.code(), Some(4));
    assert!(err_text(&out).contains("cannot write to standard output"));
}

#[test]
fn a_run_that_stops_early_exits_1_and_says_why_in_json() {
    let p = Project::new();
    p.write(
        "tests/test_stop.py",
        r#"
        import time
        from dbtest import test

        @test
        def a_fails():
            assert 1 == 2

        @test(timeout=0.2)
        def b_hangs():
            time.sleep(30)

        @test
        def c_passes():
            pass
        "#,
    );
    let (report, out) = p.run_json(&["-x", "-j", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(report["stopped_early"], true);
    assert_eq!(report["stop_reason"], "fail_fast");

    // In-process, nothing can stop the sync test past its timeout: the run stops there.
    let (report, out) = p.run_json(&["-n", "0", "-j", "1", "-k", "b_hangs"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(report["stopped_early"], true);
    assert_eq!(report["stop_reason"], "in_process_timeout");

    // A run that did not stop early has no reason.
    let (report, out) = p.run_json(&["-k", "c_passes"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(report["stopped_early"], false);
    assert!(report.get("stop_reason").is_none(), "{report}");
}

#[test]
fn a_worker_whose_supervisor_is_gone_starts_no_more_tests() {
    let p = Project::new();
    let marks = p.path("marks");
    std::fs::create_dir_all(&marks).unwrap();
    let mut src = String::from("import time\nfrom dbtest import test\n");
    for i in 0..12 {
        src.push_str(&format!(
            "\n@test\ndef t{i:02}():\n    time.sleep(0.3)\n    open({:?}, 'w').close()\n",
            marks.join(format!("{i:02}")).display().to_string()
        ));
    }
    p.write("tests/test_slow.py", &src);
    let mut supervisor = Command::new(env!("CARGO_BIN_EXE_dbtest"))
        .current_dir(p.root())
        .args(["-n", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let count = || std::fs::read_dir(&marks).unwrap().count();
    let started = std::time::Instant::now();
    while count() == 0 && started.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // SIGKILL: the supervisor cannot stop its worker, whose event pipe now has no reader.
    supervisor.kill().unwrap();
    supervisor.wait().unwrap();
    let at_kill = count();
    // Long enough for every remaining test had the worker gone on.
    std::thread::sleep(std::time::Duration::from_millis(12 * 300 + 1000));
    let after = count();
    assert!(
        after <= at_kill + 2 && after < 12,
        "{at_kill} tests had run at the kill, {after} after"
    );
}
