//! Nothing a test does can hang, duplicate, lose or silence a run (issue 14): forks, workers
//! that cannot start, odd file names, user numbers, crashes in hooks, files importing each
//! other, `os._exit` in-process, `PYTHONOPTIMIZE`, interrupts, and the smaller cases. Every
//! run is bounded by `common::dbtest`'s wall-clock guard.
mod common;

use std::collections::HashMap;

use common::*;
use serde_json::Value;

/// Each id of the report with how many times it is there.
fn counts(report: &Value) -> HashMap<String, usize> {
    let mut c = HashMap::new();
    for id in ids(report) {
        *c.entry(id).or_default() += 1;
    }
    c
}

fn assert_each_once(report: &Value, want: &[&str]) {
    let c = counts(report);
    for id in want {
        assert_eq!(
            c.get(*id),
            Some(&1),
            "{id} not exactly once: {:#?}",
            ids(report)
        );
    }
    assert_eq!(c.len(), want.len(), "unexpected ids: {:#?}", ids(report));
}

fn status_of(report: &Value, id: &str) -> String {
    entry(report, id)["status"].as_str().unwrap().to_string()
}

// ---------------------------------------------------------------------------------------------
// 4. User numbers

#[test]
fn decorator_timeouts_out_of_range_are_errors_in_both_modes() {
    let p = Project::new();
    p.write(
        "tests/test_n.py",
        r#"
        from dbtest import test
        @test(timeout=float('inf'))
        def inf(): pass
        @test(timeout=1e300)
        def big(): pass
        @test(timeout=float('nan'))
        def nan(): pass
        @test(timeout=1e-300)
        async def tiny():
            import asyncio
            await asyncio.sleep(1)
        @test
        def ok(): pass
        "#,
    );
    for mode in ["1", "0"] {
        let (report, out) = p.run_json(&["-n", mode]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
        for id in ["inf", "big", "nan"] {
            let e = entry(&report, &format!("tests/test_n.py::{id}"));
            assert_eq!(e["status"], "error");
            assert!(
                e["message"]
                    .as_str()
                    .unwrap()
                    .contains("number of seconds: finite"),
                "{e}"
            );
        }
        let tiny = entry(&report, "tests/test_n.py::tiny");
        assert_eq!(tiny["kind"], "timeout", "{tiny}");
        assert!(
            tiny["message"].as_str().unwrap().contains("1e-300 s"),
            "{tiny}"
        );
        assert_eq!(status_of(&report, "tests/test_n.py::ok"), "passed");
    }
}

#[test]
fn cli_numbers_out_of_range_are_usage_errors_with_short_messages() {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        "from dbtest import test\n@test\ndef a(): pass\n",
    );
    for v in ["1e19", "inf", "nan", "-1", "0", "1e300", "-inf"] {
        let out = p.cmd().arg(format!("--timeout={v}")).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(4), "--timeout {v}: {err}");
        assert!(err.contains("at most 31500000"), "--timeout {v}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = p.cmd().args(["--timeout", "1e-300"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).len() < 2000);
}

// ---------------------------------------------------------------------------------------------
// 1. Forked children

#[test]
fn a_forked_child_never_carries_on_as_the_worker() {
    let p = Project::new();
    p.write(
        "tests/test_fork.py",
        r#"
        import os
        from dbtest import TestSuite, test

        @test
        def forks():
            os.fork()

        class S(TestSuite):
            def setup(self):
                os.fork()

            @test
            def a(self): pass

            @test
            def b(self): pass

        @test
        def last(): pass
        "#,
    );
    for mode in ["1", "2", "0"] {
        let (report, out) = p.run_json(&["-n", mode]);
        assert_each_once(
            &report,
            &[
                "tests/test_fork.py::forks",
                "tests/test_fork.py::S::a",
                "tests/test_fork.py::S::b",
                "tests/test_fork.py::last",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "-n {mode}: {}", stderr(&out));
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Workers that cannot start

/// `3.11` for a dbtest embedding Python 3.11.
fn embedded_minor() -> String {
    let out = dbtest().arg("--version").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let version = text
        .split("Python ")
        .nth(1)
        .unwrap()
        .trim_end_matches([')', '\n']);
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

/// A project with a `.venv` whose site-packages holds `name` with `content`.
fn project_with_site_file(name: &str, content: &str) -> Project {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        "from dbtest import test\n@test\ndef a(): pass\n",
    );
    let minor = embedded_minor();
    p.write(
        ".venv/pyvenv.cfg",
        &format!("home = /usr/bin\ninclude-system-site-packages = false\nversion = {minor}.0\n"),
    );
    p.write(
        &format!(".venv/lib/python{minor}/site-packages/{name}"),
        content,
    );
    p
}

fn assert_boot_failure(out: &std::process::Output) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("3 times in a row"), "{err}");
    assert!(
        err.lines().count() < 200,
        "{} lines of stderr",
        err.lines().count()
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_pth_file_that_exits_ends_the_run_with_exit_3_not_a_respawn_loop() {
    let p = project_with_site_file("zz_exit.pth", "import os; os._exit(0)\n");
    let out = p.cmd().args(["-n", "2"]).output().unwrap();
    assert_boot_failure(&out);
    assert!(stderr(&out).contains("exit code 0"), "{}", stderr(&out));
}

#[test]
fn a_sitecustomize_that_exits_ends_the_run_with_exit_3() {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        "from dbtest import test\n@test\ndef a(): pass\n",
    );
    p.write(
        "site/sitecustomize.py",
        "import sys, os\nprint('custom site here', file=sys.stderr)\nos._exit(7)\n",
    );
    let out = p.cmd().env("PYTHONPATH", p.path("site")).output().unwrap();
    assert_boot_failure(&out);
    assert!(
        stderr(&out).contains("custom site here"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_broken_pythonhome_ends_the_run_with_exit_3_and_a_short_message() {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        "from dbtest import test\n@test\ndef a(): pass\n",
    );
    let out = p.cmd().env("PYTHONHOME", "/junk").output().unwrap();
    assert_boot_failure(&out);
    assert!(
        stderr(&out).contains("Fatal Python error"),
        "{}",
        stderr(&out)
    );
}

// ---------------------------------------------------------------------------------------------
// 5. A crash in a suite hook

#[test]
fn a_crash_in_setup_suite_blames_its_tests_and_the_file_goes_on_in_a_new_worker() {
    let p = Project::new();
    p.write(
        "tests/test_s.py",
        r#"
        import os
        from dbtest import TestSuite, test

        @test
        def first(): pass

        class S(TestSuite):
            def setup_suite(self):
                os._exit(1)

            @test
            def a(self): pass

            @test
            def b(self): pass

        class T(TestSuite):
            @test
            def c(self): pass

            def teardown_suite(self):
                os._exit(2)

        @test
        def last(): pass
        "#,
    );
    let (report, out) = p.run_json(&["-n", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_each_once(
        &report,
        &[
            "tests/test_s.py::first",
            "tests/test_s.py::S::a",
            "tests/test_s.py::S::b",
            "tests/test_s.py::T::c",
            "tests/test_s.py::T::teardown_suite",
            "tests/test_s.py::last",
        ],
    );
    assert_eq!(status_of(&report, "tests/test_s.py::first"), "passed");
    assert_eq!(status_of(&report, "tests/test_s.py::T::c"), "passed");
    assert_eq!(status_of(&report, "tests/test_s.py::last"), "passed");
    for id in ["tests/test_s.py::S::a", "tests/test_s.py::S::b"] {
        let e = entry(&report, id);
        assert_eq!(
            (e["status"].as_str(), e["kind"].as_str()),
            (Some("error"), Some("crash"))
        );
        assert!(
            e["message"].as_str().unwrap().contains("S.setup_suite"),
            "{e}"
        );
        assert!(
            e["message"].as_str().unwrap().contains("exit code 1"),
            "{e}"
        );
    }
    let td = entry(&report, "tests/test_s.py::T::teardown_suite");
    assert_eq!(td["kind"], "crash");
    assert!(
        td["message"].as_str().unwrap().contains("T.teardown_suite"),
        "{td}"
    );
}

// ---------------------------------------------------------------------------------------------
// 8. PYTHONOPTIMIZE

#[test]
fn pythonoptimize_never_turns_a_failing_assert_into_a_pass() {
    let p = Project::new();
    p.write(
        "tests/test_o.py",
        r#"
        import sys
        from dbtest import test

        @test
        def fails():
            assert 0, "must fail"

        @test
        def flags():
            assert sys.flags.optimize == 0
        "#,
    );
    for level in ["1", "2"] {
        for mode in ["1", "0"] {
            let out = p
                .cmd()
                .env("PYTHONOPTIMIZE", level)
                .args(["-n", mode, "--format", "json"])
                .output()
                .unwrap();
            let report = parse_json(&out);
            assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
            assert_eq!(status_of(&report, "tests/test_o.py::fails"), "failed");
            assert_eq!(status_of(&report, "tests/test_o.py::flags"), "passed");
            assert!(stderr(&out).contains("PYTHONOPTIMIZE"), "{}", stderr(&out));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 7. os._exit in-process

#[test]
fn os_exit_in_process_is_reported_and_the_run_goes_on() {
    let p = Project::new();
    p.write(
        "tests/test_x.py",
        r#"
        import os
        from dbtest import test

        @test
        def fails():
            assert 1 == 2

        @test
        def exits():
            os._exit(0)

        @test
        def swallows():
            try:
                os._exit(3)
            except Exception:
                pass

        @test
        def after(): pass
        "#,
    );
    let out = p
        .cmd()
        .args(["-n", "0", "--format", "json", "-o", "r.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("r.json")).unwrap()).unwrap();
    assert_eq!(status_of(&report, "tests/test_x.py::fails"), "failed");
    for id in ["exits", "swallows"] {
        let e = entry(&report, &format!("tests/test_x.py::{id}"));
        assert_eq!(e["status"], "error", "{e}");
        assert!(e["message"].as_str().unwrap().contains("os._exit"), "{e}");
    }
    assert_eq!(status_of(&report, "tests/test_x.py::after"), "passed");
}

#[test]
fn a_pth_file_that_exits_is_an_error_in_process_too() {
    let p = project_with_site_file("zz_exit.pth", "import os; os._exit(0)\n");
    let out = p.cmd().args(["-n", "0"]).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("os._exit(0)"), "{err}");
    assert!(err.contains(".pth"), "{err}");
}

#[test]
fn multiprocessing_children_still_exit_in_process() {
    let p = Project::new();
    p.write(
        "tests/test_mp.py",
        r#"
        import multiprocessing as mp
        from dbtest import test

        def work(q):
            q.put(41 + 1)

        @test
        def forks_a_worker():
            ctx = mp.get_context("fork")
            q = ctx.Queue()
            proc = ctx.Process(target=work, args=(q,))
            proc.start()
            assert q.get(timeout=20) == 42
            proc.join(20)
            assert proc.exitcode == 0
        "#,
    );
    for mode in ["0", "1"] {
        let (report, out) = p.run_json(&["-n", mode]);
        assert_eq!(out.status.code(), Some(0), "-n {mode}: {}", stderr(&out));
        assert_each_once(&report, &["tests/test_mp.py::forks_a_worker"]);
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Test files importing each other

#[test]
fn test_files_importing_each_other_never_see_a_half_imported_module() {
    let p = Project::new();
    p.write(
        "tests/test_base.py",
        r#"
        import time
        from dbtest import TestSuite, test

        time.sleep(0.3)

        class Base(TestSuite):
            @test
            def inherited(self): pass
        "#,
    );
    p.write(
        "tests/test_user.py",
        r#"
        from dbtest import test
        from tests.test_base import Base

        class User(Base):
            @test
            def own(self): pass
        "#,
    );
    for mode in ["0", "1"] {
        for _ in 0..3 {
            let (report, out) = p.run_json(&["-n", mode, "-j", "4"]);
            assert_eq!(out.status.code(), Some(0), "-n {mode}: {}", stderr(&out));
            assert_each_once(
                &report,
                &[
                    "tests/test_base.py::Base::inherited",
                    "tests/test_user.py::User::inherited",
                    "tests/test_user.py::User::own",
                ],
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 9. No orphans after Ctrl-C

/// Processes (other than zombies) whose environment holds `mark`.
fn marked_processes(mark: &str) -> Vec<String> {
    let needle = format!("DBTEST_REL_MARK={mark}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let Ok(env) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if env.split(|&b| b == 0).any(|v| v == needle.as_bytes()) {
            let cmd = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            found.push(format!(
                "{pid}: {}",
                String::from_utf8_lossy(&cmd).replace('\0', " ")
            ));
        }
    }
    found
}

#[test]
fn no_worker_or_child_survives_an_interrupt() {
    let p = Project::new();
    p.write(
        "tests/test_sleep.py",
        r#"
        import subprocess, time
        from dbtest import test

        @test
        def sleeps():
            open("started-a", "w").close()
            time.sleep(100)
        "#,
    );
    p.write(
        "tests/test_child.py",
        r#"
        import subprocess
        from dbtest import test

        @test
        def child():
            proc = subprocess.Popen(["sleep", "100"])
            open("started-b", "w").close()
            proc.wait()
        "#,
    );
    for (round, signals) in [1, 2].into_iter().enumerate() {
        let mark = format!("{}-{round}", p.root().display());
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dbtest"))
            .current_dir(p.root())
            .args(["-n", "2"])
            .env("DBTEST_REL_MARK", &mark)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let since = std::time::Instant::now();
        while !(p.exists("started-a") && p.exists("started-b")) {
            assert!(since.elapsed().as_secs() < 30, "the tests never started");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        for _ in 0..signals {
            // SAFETY: signalling the child we started.
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(
                since.elapsed().as_secs() < 30,
                "dbtest did not end after SIGINT"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(2));
        // SIGKILL is delivered at once; give the kernel a moment to take them down.
        std::thread::sleep(std::time::Duration::from_millis(300));
        let left = marked_processes(&mark);
        assert!(
            left.is_empty(),
            "left behind after {signals} SIGINT: {left:#?}"
        );
        let _ = std::fs::remove_file(p.path("started-a"));
        let _ = std::fs::remove_file(p.path("started-b"));
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Non-UTF-8 file names

#[test]
fn a_file_name_that_is_not_utf8_runs_in_every_mode() {
    use std::os::unix::ffi::OsStrExt;
    let p = Project::new();
    p.write(
        "tests/test_ok.py",
        "from dbtest import test\n@test\ndef b(): pass\n",
    );
    let odd = p
        .path("tests")
        .join(std::ffi::OsStr::from_bytes(b"test_\xff\xfe.py"));
    std::fs::write(
        &odd,
        "from dbtest import test\n@test\ndef a(): assert __file__\n",
    )
    .unwrap();
    let shown = "tests/test_\u{fffd}\u{fffd}.py::a";
    let named = odd.as_os_str().to_owned();
    for args in [vec![], vec!["-n", "0"], vec!["-n", "2"]] {
        for explicit in [false, true] {
            let mut c = p.cmd();
            c.args(&args).args(["--format", "json"]);
            if explicit {
                c.arg(&named);
            }
            let out = c.output().unwrap();
            let report = parse_json(&out);
            assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
            if explicit {
                assert_each_once(&report, &[shown]);
            } else {
                assert_each_once(&report, &[shown, "tests/test_ok.py::b"]);
            }
        }
    }
    let out = p.cmd().arg("--list").output().unwrap();
    assert!(stdout(&out).contains(shown), "{}", stdout(&out));
}

// ---------------------------------------------------------------------------------------------
// 10. The smaller cases

#[test]
fn asyncio_get_event_loop_at_import_works_in_both_modes() {
    let p = Project::new();
    p.write(
        "tests/test_loop.py",
        r#"
        import asyncio
        from dbtest import test

        LOOP = asyncio.get_event_loop()

        @test
        async def runs_on_it():
            assert asyncio.get_running_loop() is LOOP
        "#,
    );
    for mode in ["0", "1"] {
        let (report, out) = p.run_json(&["-n", mode]);
        assert_eq!(out.status.code(), Some(0), "-n {mode}: {report}");
        assert_each_once(&report, &["tests/test_loop.py::runs_on_it"]);
    }
}

#[test]
fn a_loop_asked_for_where_the_file_does_not_say_so_is_made_as_plain_python_makes_it() {
    // Under python/pytest the main thread gets a loop made on first asking; dbtest's file
    // threads make the file's loop then, wherever the asking is: a helper module or a
    // conftest at import, a library call in a sync test. Each file gets an open loop of
    // its own (closed at its end); threads a test starts keep asyncio's rule.
    let p = Project::new();
    p.write(
        "tests/helper.py",
        r#"
        import asyncio

        def current():
            return asyncio.get_event_loop()
        "#,
    );
    p.write(
        "tests/conftest.py",
        r#"
        import asyncio

        asyncio.get_event_loop()
        "#,
    );
    for name in ["a", "b"] {
        p.write(
            &format!("tests/test_{name}.py"),
            r#"
            import asyncio
            from dbtest import test
            from helper import current

            LOOP = current()

            @test
            async def runs_on_the_loop_made_at_import():
                assert asyncio.get_running_loop() is LOOP
            "#,
        );
    }
    p.write(
        "tests/test_sync.py",
        r#"
        import asyncio
        import threading
        import unittest

        class T(unittest.TestCase):
            def test_a_library_asks_for_the_loop(self):
                self.assertTrue(asyncio.gather().done())

            def test_a_thread_of_the_test_has_none(self):
                seen = []
                def ask():
                    try:
                        asyncio.get_event_loop()
                    except RuntimeError as e:
                        seen.append(e)
                t = threading.Thread(target=ask)
                t.start()
                t.join()
                self.assertEqual(len(seen), 1)
        "#,
    );
    let expected = [
        "tests/test_a.py::runs_on_the_loop_made_at_import",
        "tests/test_b.py::runs_on_the_loop_made_at_import",
        "tests/test_sync.py::T::test_a_library_asks_for_the_loop",
        "tests/test_sync.py::T::test_a_thread_of_the_test_has_none",
    ];
    for mode in ["0", "1"] {
        let (report, out) = p.run_json(&["-n", mode, "-j", "1"]);
        assert_eq!(out.status.code(), Some(0), "-n {mode}: {report}");
        assert_each_once(&report, &expected);
    }
}

#[test]
fn an_async_generator_left_open_is_finalized_when_its_file_ends() {
    // Its `finally` runs (asyncio's shutdown_asyncgens) before the file's loop closes.
    let p = Project::new();
    let mark = p.path("closed.txt");
    p.write(
        "tests/test_gen.py",
        &format!(
            r#"
import asyncio
from dbtest import test

KEPT = []

async def numbers():
    try:
        yield 1
        yield 2
    finally:
        with open({:?}, "w") as f:
            f.write("finalized")

@test
async def leaves_it_open():
    g = numbers()
    assert await g.__anext__() == 1
    KEPT.append(g)
"#,
            mark.display().to_string()
        ),
    );
    for mode in ["0", "1"] {
        let _ = std::fs::remove_file(&mark);
        let (report, out) = p.run_json(&["-n", mode]);
        assert_eq!(out.status.code(), Some(0), "-n {mode}: {report}");
        assert_eq!(
            std::fs::read_to_string(&mark).ok().as_deref(),
            Some("finalized"),
            "-n {mode}"
        );
    }
}

#[test]
fn the_capture_streams_can_be_closed_and_handed_to_subprocesses() {
    let p = Project::new();
    p.write(
        "tests/test_streams.py",
        r#"
        import subprocess, sys
        from dbtest import test

        @test
        def closes():
            sys.stdout.close()
            sys.stderr.close()

        @test
        def still_captured():
            print("after close")
            assert 0

        @test
        def subprocess_to_stdout():
            subprocess.run([sys.executable, "-c", "print('from the child')"], stdout=sys.stdout, check=True)
            subprocess.run(["true"], stderr=sys.stderr, check=True)
            assert sys.stdout.fileno() >= 0
        "#,
    );
    for mode in ["0", "1"] {
        let (report, out) = p.run_json(&["-n", mode]);
        assert_eq!(out.status.code(), Some(1), "-n {mode}: {}", stderr(&out));
        assert_eq!(
            status_of(&report, "tests/test_streams.py::closes"),
            "passed"
        );
        assert_eq!(
            status_of(&report, "tests/test_streams.py::subprocess_to_stdout"),
            "passed"
        );
        let e = entry(&report, "tests/test_streams.py::still_captured");
        assert_eq!(e["stdout"], "after close\n", "{e}");
        // The child's output went to dbtest's stderr, never into the JSON on stdout.
        assert!(stderr(&out).contains("from the child"), "{}", stderr(&out));
    }
}

#[test]
fn a_file_with_cr_line_endings_lists_its_ids() {
    let p = Project::new();
    std::fs::create_dir_all(p.path("tests")).unwrap();
    std::fs::write(
        p.path("tests/test_cr.py"),
        "from dbtest import test, TestSuite\r@test\rdef cr(): pass\rclass S(TestSuite):\r    @test(tags=['x'])\r    def m(self): pass\r",
    )
    .unwrap();
    std::fs::write(
        p.path("tests/test_crlf.py"),
        "from dbtest import test\r\n@test\r\ndef crlf(): pass\r\n",
    )
    .unwrap();
    let out = p.cmd().arg("--list").output().unwrap();
    let listed = stdout(&out);
    for id in [
        "tests/test_cr.py::cr",
        "tests/test_cr.py::S::m",
        "tests/test_crlf.py::crlf",
    ] {
        assert!(listed.contains(id), "{id} missing:\n{listed}");
    }
    let (report, out) = p.run_json(&["--tags", "x"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_each_once(&report, &["tests/test_cr.py::S::m"]);
}

#[test]
fn term_dumb_gets_no_colour_and_no_progress_redraws() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("no `script` here to give dbtest a terminal: skipped");
        return;
    }
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        "import time\nfrom dbtest import test\n@test\ndef a():\n    time.sleep(0.3)\n",
    );
    let bin = assert_cmd::cargo::cargo_bin("dbtest");
    let run = |term: &str| {
        let out = std::process::Command::new("script")
            .current_dir(p.root())
            .env("TERM", term)
            .env_remove("NO_COLOR")
            .env_remove("FORCE_COLOR")
            .args(["-qec", &format!("{} -n 0", bin.display()), "/dev/null"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let dumb = run("dumb");
    assert!(dumb.contains("PASSED"), "{dumb}");
    assert!(
        !dumb.contains('\x1b'),
        "colour or cursor codes under TERM=dumb: {dumb:?}"
    );
    assert!(
        !dumb.replace("\r\n", "\n").contains('\r'),
        "\\r redraws under TERM=dumb: {dumb:?}"
    );
    // The same run on a capable terminal does colour its summary (the check above means something).
    assert!(run("xterm").contains('\x1b'));
}

#[test]
fn a_relative_xdg_cache_home_is_ignored() {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        "from dbtest import test\n@test\ndef a(): pass\n",
    );
    let out = p.cmd().env("XDG_CACHE_HOME", "rel-cache").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !p.exists("rel-cache"),
        "a cache folder was made inside the project"
    );
}

#[test]
fn unreadable_folders_and_dangling_test_links_are_reported_on_stderr() {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        "from dbtest import test\n@test\ndef a(): pass\n",
    );
    std::os::unix::fs::symlink("nowhere.py", p.path("tests/test_dangling.py")).unwrap();
    std::os::unix::fs::symlink("nowhere", p.path("tests/not_a_test_link")).unwrap();
    p.write(
        "tests/locked/test_l.py",
        "from dbtest import test\n@test\ndef l(): pass\n",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        p.path("tests/locked"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    // SAFETY: geteuid cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    for args in [vec!["--list"], vec![]] {
        let out = p.cmd().args(&args).output().unwrap();
        let err = stderr(&out);
        assert!(err.contains("test_dangling.py"), "{args:?}: {err}");
        assert!(!err.contains("not_a_test_link"), "{err}");
        if !root {
            // (root reads any folder.)
            assert!(err.contains("locked"), "{args:?}: {err}");
        }
    }
    std::fs::set_permissions(
        p.path("tests/locked"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
}

// ---------------------------------------------------------------------------------------------
// The scanner against the run: what `--list` says (statically) is what a run reports.

mod listed_vs_run {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    struct Def {
        name: String,
        deco: &'static str,
        is_async: bool,
        doc: bool,
    }

    #[derive(Debug, Clone)]
    enum Item {
        Func(Def),
        Suite(String, Vec<Def>),
        Comment,
        Noise,
    }

    fn def() -> impl Strategy<Value = Def> {
        (
            "[a-z][a-z0-9_]{0,8}",
            prop::sample::select(vec![
                "@test",
                "@test()",
                "@test(tags=['a'])",
                "@test(tags=[\"a\", 'b'], timeout=5)",
                "@test(skip='later')",
                "@test(\n    tags=['multi'],\n)",
                "@dbtest.test",
                "",
            ]),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(name, deco, is_async, doc)| Def {
                name: format!("t_{name}"),
                deco,
                is_async,
                doc,
            })
    }

    fn item() -> impl Strategy<Value = Item> {
        prop_oneof![
            def().prop_map(Item::Func),
            ("[A-Z][a-z]{0,6}", prop::collection::vec(def(), 0..4))
                .prop_map(|(n, d)| Item::Suite(format!("S{n}"), d)),
            Just(Item::Comment),
            Just(Item::Noise),
        ]
    }

    fn render(items: &[Item], indent: &str, newline: &str) -> String {
        let mut lines = vec![
            "import dbtest".to_string(),
            "from dbtest import test, TestSuite".to_string(),
        ];
        let def_lines = |d: &Def, pad: &str, is_method: bool| {
            let mut out = Vec::new();
            for l in d.deco.lines() {
                out.push(format!("{pad}{l}"));
            }
            let kw = if d.is_async { "async def" } else { "def" };
            let args = if is_method { "self" } else { "" };
            out.push(format!("{pad}{kw} {}({args}):", d.name));
            if d.doc {
                out.push(format!(
                    "{pad}{indent}\"\"\"A docstring.\n\n@test\ndef not_a_test(): pass\n\"\"\""
                ));
            }
            out.push(format!(
                "{pad}{indent}x = ('(', \"[\", '#')  # a comment with @test"
            ));
            out
        };
        for it in items {
            match it {
                Item::Func(d) => lines.extend(def_lines(d, "", false)),
                Item::Suite(name, defs) => {
                    lines.push(format!("class {name}(TestSuite):"));
                    lines.push(format!("{indent}value = 1"));
                    for d in defs {
                        lines.extend(def_lines(d, indent, true));
                    }
                }
                Item::Comment => lines.push("# @test\n# def commented(): pass".into()),
                Item::Noise => lines.push("NOISE = [\n    1,\n    2,\n]  # trailing".into()),
            }
            lines.push(String::new());
        }
        lines.join("\n").replace('\n', newline) + newline
    }

    fn listed(p: &Project) -> Vec<String> {
        let out = p.cmd().arg("--list").output().unwrap();
        stdout(&out)
            .lines()
            .filter(|l| l.contains("::"))
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

        #[test]
        fn every_listed_id_is_reported_by_a_run(
            items in prop::collection::vec(item(), 1..8),
            indent in prop::sample::select(vec!["    ", "  ", "\t"]),
            newline in prop::sample::select(vec!["\n", "\r\n", "\r"]),
        ) {
            let p = Project::new();
            std::fs::create_dir_all(p.path("tests")).unwrap();
            std::fs::write(p.path("tests/test_gen.py"), render(&items, indent, newline)).unwrap();
            let listed = listed(&p);
            let (report, out) = p.run_json(&["-n", "0"]);
            let code = out.status.code();
            prop_assert!(matches!(code, Some(0 | 1 | 5)), "exit {:?}: {}", code, stderr(&out));
            let reported = counts(&report);
            for id in &listed {
                prop_assert_eq!(reported.get(id), Some(&1), "{} listed, not reported once: {:#?}", id, ids(&report));
            }
            prop_assert!(reported.values().all(|&n| n == 1), "{:#?}", ids(&report));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Every option and decorator argument fed edge values: no panic, only documented exit codes.

const EDGE_VALUES: &[&str] = &[
    "0",
    "-1",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e300",
    "1e-300",
    "1e19",
    "18446744073709551616",
    "18446744073709551615",
    "",
    " ",
    "a::b",
    "[",
    "*",
];

fn huge() -> String {
    "x".repeat(100_000)
}

fn assert_sane(out: &std::process::Output, what: &str) {
    let err = stderr(out);
    assert!(
        matches!(out.status.code(), Some(0 | 1 | 4 | 5)),
        "{what}: exit {:?}\n{err}",
        out.status.code()
    );
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert!(!err.contains("internal error"), "{what}: {err}");
}

#[test]
fn every_option_takes_edge_values_without_a_panic() {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        "from dbtest import test\n@test\ndef a(): pass\n",
    );
    let options = [
        "-k",
        "--tags",
        "--exclude-tags",
        "-j",
        "-n",
        "--timeout",
        "--format",
        "-o",
        "--color",
        "--bench-time",
        "--samples",
        "--warmup",
        "--noise",
        "--save-baseline",
        "--baseline",
        "--fail-on",
        "--html",
        "-C",
    ];
    let huge = huge();
    let values: Vec<&str> = EDGE_VALUES.iter().copied().chain([huge.as_str()]).collect();
    for option in options {
        for value in &values {
            let out = p
                .cmd()
                .arg(format!("{option}={value}").replacen("-k=", "-k", 1))
                .args(["--format", "json"])
                .output()
                .unwrap();
            let shown: String = value.chars().take(20).collect();
            assert_sane(&out, &format!("{option}={shown}"));
        }
    }
    // Paths too.
    for value in &values {
        let out = p.cmd().arg(value).output().unwrap();
        assert_sane(
            &out,
            &format!("path {:?}", value.chars().take(20).collect::<String>()),
        );
    }
}

#[test]
fn every_decorator_argument_takes_edge_values_without_a_panic() {
    let p = Project::new();
    let args = [
        "timeout=0",
        "timeout=-1",
        "timeout=float('nan')",
        "timeout=float('inf')",
        "timeout=-float('inf')",
        "timeout=1e300",
        "timeout=1e-300",
        "timeout=10**400",
        "timeout=''",
        "timeout='x'*100000",
        "timeout=True",
        "timeout=None",
        "tags=[]",
        "tags=['']",
        "tags=['x'*100000]",
        "tags=[1]",
        "tags=None",
        "tags=''",
        "tags=[float('nan')]",
        "skip=''",
        "skip='x'*100000",
        "skip=0",
        "skip=float('nan')",
        "skip=None",
        "skip=True",
    ];
    for (i, a) in args.iter().enumerate() {
        p.write(
            &format!("tests/test_d{i}.py"),
            &format!(
                "import asyncio\nfrom dbtest import test\n@test({a})\nasync def edge():\n    await asyncio.sleep(0.01)\n@test\ndef plain(): pass\n"
            ),
        );
    }
    for mode in ["0", "2"] {
        let (report, out) = p.run_json(&["-n", mode]);
        assert_sane(&out, &format!("-n {mode}"));
        // Every file is there: its two tests, or its import error.
        for i in 0..args.len() {
            let file = format!("tests/test_d{i}.py");
            let n = tests_of(&report)
                .iter()
                .filter(|t| t["file"] == file)
                .count();
            assert!(n == 1 || n == 2, "{file} ({}) has {n} entries", args[i]);
        }
        let out = p.cmd().arg("--list").output().unwrap();
        assert_sane(&out, "--list");
    }
}

#[test]
fn every_benchmark_group_option_takes_edge_values_without_a_panic() {
    let p = Project::new();
    let options = [
        "warmup",
        "samples",
        "iterations",
        "target_time_ms",
        "max_time_s",
    ];
    let values = [
        "0",
        "-1",
        "float('nan')",
        "float('inf')",
        "1e300",
        "1e-300",
        "10**30",
        "''",
        "None",
    ];
    for o in options {
        for (i, v) in values.iter().enumerate() {
            let name = format!("benches/bench_{o}_{i}.py");
            p.write(
                &name,
                &format!(
                    "from dbtest import BenchmarkGroup\ng = BenchmarkGroup('g', {o}={v}, max_time_s=0.05) if '{o}' != 'max_time_s' else BenchmarkGroup('g', {o}={v})\n@g.add('e')\ndef e(): pass\n"
                ),
            );
        }
    }
    let out = p
        .cmd()
        .args([
            "bench",
            "benches",
            "--bench-time",
            "0.05",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_sane(&out, "benchmark group options");
}

#[test]
fn an_interpreter_that_cannot_start_in_process_is_exit_3_not_tests_failed() {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        "from dbtest import test\n@test\ndef a(): pass\n",
    );
    p.write("site/sitecustomize.py", "import sys\nsys.exit(0)\n");
    let broken_home = p
        .cmd()
        .args(["-n", "0"])
        .env("PYTHONHOME", "/junk")
        .output()
        .unwrap();
    let exits_in_site = p
        .cmd()
        .args(["-n", "0"])
        .env("PYTHONPATH", p.path("site"))
        .output()
        .unwrap();
    for out in [broken_home, exits_in_site] {
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{err}");
        assert!(err.contains("exited while starting"), "{err}");
        assert!(err.lines().count() < 100, "{err}");
    }
}

#[test]
fn a_crash_in_setup_suite_beside_other_files_is_still_pinned_on_its_suite() {
    let p = Project::new();
    p.write(
        "tests/test_s.py",
        r#"
        import os, time
        from dbtest import TestSuite, test

        class S(TestSuite):
            def setup_suite(self):
                time.sleep(0.2)
                os._exit(1)

            @test
            def a(self): pass

        @test
        def after(): pass
        "#,
    );
    p.write(
        "tests/test_other.py",
        r#"
        import time
        from dbtest import test

        @test
        def slow():
            time.sleep(0.5)

        @test
        def quick(): pass
        "#,
    );
    for args in [["-n", "1", "-j", "4"], ["-n", "2", "-j", "4"]] {
        let (report, out) = p.run_json(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert_each_once(
            &report,
            &[
                "tests/test_s.py::S::a",
                "tests/test_s.py::after",
                "tests/test_other.py::slow",
                "tests/test_other.py::quick",
            ],
        );
        let a = entry(&report, "tests/test_s.py::S::a");
        assert_eq!(a["kind"], "crash", "{a}");
        assert!(
            a["message"].as_str().unwrap().contains("S.setup_suite"),
            "{a}"
        );
        for id in [
            "tests/test_s.py::after",
            "tests/test_other.py::slow",
            "tests/test_other.py::quick",
        ] {
            assert_eq!(status_of(&report, id), "passed", "{args:?} {id}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The binary replaced during a run (a rebuild, an upgrade): workers still run this version.

#[test]
fn workers_started_after_the_binary_was_replaced_still_run_this_version() {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        r#"
        import os, time
        from dbtest import test

        @test
        def dies_after_the_swap():
            open("started", "w").close()
            while not os.path.exists("swapped"):
                time.sleep(0.02)
            os._exit(1)
        "#,
    );
    p.write(
        "tests/test_b.py",
        "from dbtest import test\n@test\ndef b(): pass\n",
    );
    let bin_dir = tempfile::tempdir().unwrap();
    let bin = bin_dir.path().join("dbtest");
    std::fs::copy(assert_cmd::cargo::cargo_bin("dbtest"), &bin).unwrap();
    // A copy just written may be briefly "busy" (ETXTBSY) while another test thread's fork
    // still holds its write descriptor: try again a few times.
    let spawn = || {
        std::process::Command::new(&bin)
            .current_dir(p.root())
            .args(["-n", "1", "-j", "1", "--format", "json", "-o", "r.json"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
    };
    let mut tries = 0;
    let child = loop {
        match spawn() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 50 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => break other.unwrap(),
        }
    };
    let since = std::time::Instant::now();
    while !p.exists("started") {
        assert!(since.elapsed().as_secs() < 30, "the test never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Replace the binary (as a rebuild does: a new file renamed over the path).
    let other = bin_dir.path().join("other");
    std::fs::write(&other, "#!/bin/sh\nexit 42\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::rename(&other, &bin).unwrap();
    std::fs::write(p.path("swapped"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{err}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(p.path("r.json")).unwrap()).unwrap();
    assert_each_once(
        &report,
        &["tests/test_a.py::dies_after_the_swap", "tests/test_b.py::b"],
    );
    assert_eq!(status_of(&report, "tests/test_b.py::b"), "passed", "{err}");
}

#[test]
fn a_run_in_process_that_selects_nothing_is_no_tests_not_an_interpreter_failure() {
    // The interpreter starts on its own thread while the files are scanned: the run may end
    // (no test selected) before it has started, which is exit 5, not a broken environment.
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        "from dbtest import test\n@test\ndef a(): pass\n",
    );
    for _ in 0..5 {
        let out = p
            .cmd()
            .args(["-n", "0", "-k", "nothing_matches"])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(5), "{err}");
        assert!(!err.contains("exited while starting"), "{err}");
    }
}
