//! What the release launcher (`launcher/`, see dist/README.md) hands the engine is for the
//! engine alone: tests, in worker processes and in process, see the user's own
//! `LD_LIBRARY_PATH` (or none) and none of the launcher's variables, and workers still start.
//! The archive itself is checked end to end by dist/check.sh.
mod common;

use common::*;

const TEST: &str = r#"
    import os
    from dbtest import test

    @test
    def sees_the_users_environment():
        assert os.environ.get("LD_LIBRARY_PATH") == os.environ.get("EXPECT_LD"), os.environ.get("LD_LIBRARY_PATH")
        launcher = sorted(k for k in os.environ if k.startswith(("DBTEST_ENGINE_", "DBTEST_ORIG_")))
        assert not launcher, launcher
"#;

fn run(workers: &str, user_ld: Option<&str>) {
    let p = Project::new();
    p.write("tests/test_env.py", TEST);
    let mut cmd = p.cmd();
    cmd.args(["-n", workers])
        .env("DBTEST_ENGINE_LIBDIR", "/launcher/lib")
        .env("DBTEST_ENGINE_PYTHON", "/nonexistent/python3");
    match user_ld {
        Some(ld) => cmd
            .env("LD_LIBRARY_PATH", format!("/launcher/lib:{ld}"))
            .env("DBTEST_ORIG_LD_LIBRARY_PATH", ld)
            .env("EXPECT_LD", ld),
        None => cmd
            .env("LD_LIBRARY_PATH", "/launcher/lib")
            .env_remove("DBTEST_ORIG_LD_LIBRARY_PATH")
            .env_remove("EXPECT_LD"),
    };
    let out = cmd.output().unwrap();
    assert_eq!(
        code(&out),
        Some(0),
        "-n {workers}, user LD_LIBRARY_PATH {user_ld:?}\n{}{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn tests_see_the_users_library_path_not_the_launchers() {
    for workers in ["0", "1"] {
        run(workers, Some("/user/lib"));
        run(workers, None);
    }
}
