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
