//! Concurrency: files run at once, so waits overlap.
mod common;

use std::time::Duration;

use common::*;

fn sleepers(body: &str) -> Project {
    let p = Project::new();
    for i in 0..10 {
        p.write(&format!("tests/test_sleep_{i:02}.py"), body);
    }
    p
}

fn assert_overlaps(p: &Project, what: &str) {
    let ((report, out), elapsed) = time(|| p.run_json(&["-j", "10"]));
    assert_eq!(code(&out), Some(0), "{report:#}");
    assert_eq!(report["summary"]["passed"], 10);
    // Serially the sleeps alone take 3 s; only running them at once can stay under 1.8 s.
    assert!(
        elapsed < Duration::from_millis(1800),
        "{what}: 10 files of 0.3 s took {elapsed:?} with -j 10"
    );
}

#[test]
fn sync_tests_in_different_files_run_concurrently() {
    let p = sleepers(
        "import time\nfrom dbtest import test\n\n@test\ndef sleeps():\n    time.sleep(0.3)\n",
    );
    assert_overlaps(&p, "time.sleep");
}

#[test]
fn async_tests_in_different_files_run_concurrently() {
    let p = sleepers(
        "import asyncio\nfrom dbtest import test\n\n@test\nasync def sleeps():\n    await asyncio.sleep(0.3)\n",
    );
    assert_overlaps(&p, "asyncio.sleep");
}

/// Files importing the same package at the same moment on a worker's threads: CPython hands
/// one of two threads that import a package and its submodule at once the half-initialized
/// module ("cannot import name ... from partially initialized module", or a deadlock error);
/// dbtest imports test files one at a time per process, as pytest imports them serially.
#[test]
fn files_importing_one_package_at_once_all_see_it_whole() {
    let p = Project::new();
    p.write(
        "pkg/__init__.py",
        "import time\ntime.sleep(0.2)  # widens the window\nLATE = 1\nfrom .b import B\n",
    )
    .write("pkg/b.py", "from pkg import LATE\nB = LATE + 1\n");
    for i in 0..4 {
        p.write(
            &format!("tests/test_whole_{i}.py"),
            "import pkg\n\ndef test_whole():\n    assert pkg.B == 2\n",
        )
        .write(
            &format!("tests/test_sub_{i}.py"),
            "from pkg.b import B\n\ndef test_sub():\n    assert B == 2\n",
        );
    }
    let (report, out) = p.run_json(&["-n", "1", "-j", "8"]);
    assert_eq!(report["summary"]["passed"], 8, "{report:#}");
    assert_eq!(code(&out), Some(0), "{report:#}");
}

/// unittest and pytest-style files were written for a runner that runs one test at a time in
/// its process: they change process-wide state for the length of a test (here `os.environ`,
/// as `monkeypatch.setenv` or click's `CliRunner` swapping `sys.stdout` do). Such a file runs
/// alone in its worker (and in `-n 0`), never beside another file on the same process.
#[test]
fn unittest_and_pytest_files_never_share_their_process_with_another_file() {
    let p = Project::new();
    for i in 0..4 {
        p.write(
            &format!("tests/test_env_{i}.py"),
            &format!(
                "import os, time\n\ndef test_owns_the_environment():\n    os.environ['OWNER'] = '{i}'\n    time.sleep(0.03)\n    assert os.environ['OWNER'] == '{i}'\n"
            ),
        )
        .write(
            &format!("tests/test_case_{i}.py"),
            &format!(
                "import os, time, unittest\n\nclass T(unittest.TestCase):\n    def test_owns_it_too(self):\n        os.environ['OWNER'] = 'case{i}'\n        time.sleep(0.03)\n        self.assertEqual(os.environ['OWNER'], 'case{i}')\n"
            ),
        );
    }
    // The second run in worker mode knows from the first that the files are short, and the
    // supervisor queues them in the busy worker: the worker then runs them one at a time.
    for mode in [["-n", "1"], ["-n", "1"], ["-n", "0"]] {
        let mut args = mode.to_vec();
        args.extend(["-j", "8"]);
        let (report, out) = p.run_json(&args);
        assert_eq!(report["summary"]["passed"], 8, "{mode:?}: {report:#}");
        assert_eq!(code(&out), Some(0), "{mode:?}");
    }
}
