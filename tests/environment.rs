//! Where tests run: the project root on `sys.path` and as the base of ids, `-C`, the working
//! directory restored after each test, and `sys.executable` for subprocesses.
mod common;

use common::*;

#[test]
fn tests_import_from_the_project_root_wherever_dbtest_starts() {
    let p = Project::new();
    p.write("mypkg/__init__.py", "x = 42\n");
    p.write("mypkg/util.py", "def double(n):\n    return 2 * n\n");
    p.write(
        "tests/test_imports.py",
        r#"
        from dbtest import test
        from mypkg import x
        from mypkg.util import double

        @test
        def uses_the_package():
            assert double(x) == 84
        "#,
    );
    for dir in [".", "tests", "mypkg"] {
        let out = p
            .cmd_in(dir)
            .args(["--format", "json"])
            .arg(p.path("tests"))
            .output()
            .unwrap();
        let report = parse_json(&out);
        assert_eq!(code(&out), Some(0), "from {dir}: {report:#}");
        assert_eq!(
            ids(&report),
            strs(&["tests/test_imports.py::uses_the_package"]),
            "from {dir}: ids are relative to the project root"
        );
        assert_eq!(tests_of(&report)[0]["file"], "tests/test_imports.py");
    }
    // From a subfolder with no PATH: the current folder is searched, ids stay root-relative.
    let out = p
        .cmd_in("tests")
        .args(["--format", "json"])
        .output()
        .unwrap();
    let report = parse_json(&out);
    assert_eq!(
        ids(&report),
        strs(&["tests/test_imports.py::uses_the_package"])
    );
    assert_eq!(code(&out), Some(0));
}

#[test]
fn without_a_root_marker_the_current_folder_is_the_root() {
    let p = Project::bare();
    p.write("helper_mod.py", "VALUE = 'from the current folder'\n");
    p.write(
        "test_here.py",
        "from dbtest import test\nfrom helper_mod import VALUE\n\n@test\ndef imports():\n    assert VALUE.startswith('from')\n",
    );
    let (report, out) = p.run_json(&[]);
    assert_eq!(code(&out), Some(0), "{report:#}");
    assert_eq!(ids(&report), strs(&["test_here.py::imports"]));
}

#[test]
fn directory_option_runs_as_if_started_there() {
    let p = Project::bare();
    p.write("proj/pyproject.toml", "");
    p.write("proj/app.py", "NAME = 'app'\n");
    p.write(
        "proj/tests/test_c.py",
        "import os\nfrom dbtest import test\nfrom app import NAME\n\n@test\ndef runs_in_proj():\n    assert NAME == 'app'\n    assert os.path.exists('app.py')\n",
    );
    let out = p
        .cmd()
        .args(["-C", "proj", "--format", "json"])
        .output()
        .unwrap();
    let report = parse_json(&out);
    assert_eq!(code(&out), Some(0), "{report:#}");
    assert_eq!(ids(&report), strs(&["tests/test_c.py::runs_in_proj"]));
    let out = p.cmd().args(["-C", "no_such_folder"]).output().unwrap();
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("no_such_folder"), "{}", stderr(&out));
}

#[test]
fn a_test_changing_directory_does_not_move_the_next_one() {
    let p = Project::new();
    std::fs::create_dir_all(p.path("elsewhere")).unwrap();
    p.write(
        "tests/test_cwd.py",
        &format!(
            r#"
            import asyncio, os
            from dbtest import TestSuite, test

            START = {root:?}

            @test
            def a_moves_away():
                os.chdir("elsewhere")
                assert os.path.realpath(os.getcwd()) == os.path.join(START, "elsewhere")

            @test
            def b_starts_where_the_run_started():
                assert os.path.realpath(os.getcwd()) == START, os.getcwd()
                assert os.path.exists("pyproject.toml")

            class Moves(TestSuite):
                @test
                async def c_async_moves(self):
                    os.chdir("/")
                    await asyncio.sleep(0)

                @test
                def d_is_back(self):
                    assert os.path.realpath(os.getcwd()) == START, os.getcwd()
            "#,
            root = p.root().display().to_string()
        ),
    );
    let (report, out) = p.run_json(&[]);
    assert_eq!(code(&out), Some(0), "{report:#}");
    assert_eq!(report["summary"]["passed"], 4, "{report:#}");
}

/// unittest and pytest leave a `chdir` in place for the rest of the file, but the next file
/// (in the same process: `-n 0`, or one worker) starts where the run started.
#[test]
fn a_unittest_or_pytest_file_changing_directory_does_not_move_the_next_file() {
    let p = Project::new();
    std::fs::create_dir_all(p.path("elsewhere")).unwrap();
    let start = p.root().display().to_string();
    for i in 0..3 {
        p.write(
            &format!("tests/test_unit_{i}.py"),
            &format!(
                r#"
                import os, unittest

                START = {start:?}
                AT_IMPORT = os.path.realpath(os.getcwd())

                class T(unittest.TestCase):
                    def test_a_starts_where_the_run_started(self):
                        self.assertEqual(AT_IMPORT, START)
                        self.assertEqual(os.path.realpath(os.getcwd()), START)

                    def test_b_moves_away(self):
                        os.chdir("elsewhere")
                "#
            ),
        );
    }
    p.write(
        "tests/test_pytest_style.py",
        &format!(
            r#"
            import os

            START = {start:?}

            def test_a_starts_where_the_run_started():
                assert os.path.realpath(os.getcwd()) == START, os.getcwd()

            def test_b_moves_away():
                os.chdir("/")
            "#
        ),
    );
    for args in [&["-n", "0"][..], &["-n", "1", "-j", "1"][..]] {
        let (report, out) = p.run_json(args);
        assert_eq!(code(&out), Some(0), "{args:?}: {report:#}");
        assert_eq!(report["summary"]["passed"], 8, "{args:?}: {report:#}");
    }
}

#[test]
fn subprocesses_of_tests_get_a_real_python() {
    let p = Project::new();
    p.write(
        "tests/test_sub.py",
        r#"
        import subprocess, sys
        from dbtest import test

        @test
        def runs_sys_executable():
            r = subprocess.run(
                [sys.executable, "-c", "import sys; print(sys.version_info[:2])"],
                capture_output=True, text=True, timeout=30,
            )
            assert r.stdout.strip() == "(3, 11)", (sys.executable, r)
        "#,
    );
    let (report, out) = p.run_json(&[]);
    assert_eq!(code(&out), Some(0), "{report:#}");
}

/// The worker's configuration and the launcher's variables are dbtest's business, not the tests'
/// (a test that spawns Python would hand them on).
#[test]
fn tests_never_see_dbtest_s_own_variables() {
    let p = Project::new();
    p.write(
        "tests/test_env.py",
        r#"
        import os
        from dbtest import test

        @test
        def clean_environment():
            own = ("DBTEST_WORKER_CONFIG", "DBTEST_SUPERVISOR_PID", "DBTEST_ENGINE_LIBDIR",
                   "DBTEST_ORIG_LD_LIBRARY_PATH", "DBTEST_ENGINE_PYTHON")
            leaked = sorted(k for k in own if k in os.environ)
            assert leaked == []
        "#,
    );
    for workers in ["1", "0"] {
        let out = p
            .cmd()
            .args(["-n", workers, "--format", "json"])
            .env_remove("DBTEST_PYTHON")
            .output()
            .unwrap();
        let report = parse_json(&out);
        assert_eq!(code(&out), Some(0), "-n {workers}: {report:#}");
    }
}
