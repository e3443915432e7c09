//! Output capture: each test's stdout and stderr are its own, and direct writes to file
//! descriptor 1 cannot corrupt a JSON report.
mod common;

use common::*;

#[test]
fn output_is_captured_per_test() {
    let p = Project::new();
    p.write(
        "tests/test_out.py",
        r#"
        import sys
        from dbtest import test

        @test
        def one_fails():
            print("out from one")
            print("err from one", file=sys.stderr)
            assert False, "one"

        @test
        def two_fails():
            sys.stdout.write("out from two\n")
            raise ValueError("two")

        @test
        def three_passes():
            print("PASSING_OUTPUT_IS_NOT_SHOWN")

        @test
        def four_replaces_stdout():
            import io
            sys.stdout = io.StringIO()

        @test
        def five_prints_after_replacement():
            print("five still captured")
            assert False
        "#,
    );
    p.write(
        "tests/test_other_file.py",
        r#"
        import asyncio
        from dbtest import test

        @test
        async def concurrent_printer():
            for i in range(20):
                print(f"other {i}")
                await asyncio.sleep(0.001)
            assert False, "other"
        "#,
    );
    let (report, out) = p.run_json(&[]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let f = "tests/test_out.py::";
    let one = entry(&report, &format!("{f}one_fails"));
    assert_eq!(one["stdout"], "out from one\n");
    assert_eq!(one["stderr"], "err from one\n");
    let two = entry(&report, &format!("{f}two_fails"));
    assert_eq!(two["status"], "error");
    assert_eq!(two["stdout"], "out from two\n");
    assert_eq!(two["stderr"], "");
    let three = entry(&report, &format!("{f}three_passes"));
    assert!(three["stdout"].is_null(), "{three}");
    assert_eq!(
        entry(&report, &format!("{f}four_replaces_stdout"))["status"],
        "passed"
    );
    assert_eq!(
        entry(&report, &format!("{f}five_prints_after_replacement"))["stdout"],
        "five still captured\n"
    );
    let other = entry(&report, "tests/test_other_file.py::concurrent_printer");
    let want: String = (0..20).map(|i| format!("other {i}\n")).collect();
    assert_eq!(other["stdout"], want.as_str());

    // The console report shows failing tests' output, never passing tests'.
    let out = p.cmd().args(["--color", "never"]).output().unwrap();
    let console = stdout(&out);
    assert!(console.contains("out from one"), "{console}");
    assert!(
        !console.contains("PASSING_OUTPUT_IS_NOT_SHOWN"),
        "{console}"
    );
    assert!(!stderr(&out).contains("PASSING_OUTPUT_IS_NOT_SHOWN"));
}

#[test]
fn direct_writes_to_fd_1_do_not_corrupt_the_json_report() {
    let p = Project::new();
    p.write(
        "tests/test_fd.py",
        r#"
        import os
        from dbtest import test

        @test
        def writes_to_fd_1():
            os.write(1, b"RAW WRITE TO FD 1\n")
            os.system("echo FROM A CHILD PROCESS")
        "#,
    );
    let (report, out) = p.run_json(&[]);
    assert_eq!(code(&out), Some(0), "{report:#}");
    assert!(!stdout(&out).contains("RAW WRITE"));
    assert!(
        stderr(&out).contains("RAW WRITE TO FD 1"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("FROM A CHILD PROCESS"),
        "{}",
        stderr(&out)
    );
}
