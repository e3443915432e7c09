//! End-to-end tests of spreading one file's classes over workers (`src/runner/split.rs`): a
//! lone unittest file with several classes that computed for a while last run (here, in a
//! `-n 1` run first), run with two workers, is run in two processes, class by class, and
//! reports exactly what a one-worker run reports.
mod common;

use std::collections::{HashMap, HashSet};

use common::*;

/// Each test, class set-up and module set-up appends `WHAT PID` to `log.txt` (appends of one
/// short line are atomic, so processes do not mix their lines).
const CLASSES: &str = r#"
    import os
    import unittest

    def log(what):
        if what.startswith("test "):
            # Some computing, so that last run's times make the file worth splitting.
            sum(range(5_000_000))
        with open(os.path.join(os.path.dirname(__file__), "..", "log.txt"), "a") as f:
            f.write(f"{what} {os.getpid()}\n")

    def setUpModule():
        log("setUpModule")

    class Alpha(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            log("setUpClass Alpha")

        def test_a1(self):
            log("test Alpha.test_a1")

        def test_a2(self):
            log("test Alpha.test_a2")
            self.assertEqual(1, 2)

    class Beta(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            log("setUpClass Beta")

        def test_b1(self):
            log("test Beta.test_b1")

        @unittest.skip("not today")
        def test_b2(self):
            log("test Beta.test_b2")

        def test_b3(self):
            log("test Beta.test_b3")

    class Gamma(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            log("setUpClass Gamma")

        def test_g1(self):
            log("test Gamma.test_g1")

        def test_g2(self):
            log("test Gamma.test_g2")
            raise RuntimeError("boom")

    class Delta(unittest.TestCase):
        @classmethod
        def setUpClass(cls):
            log("setUpClass Delta")

        def test_d1(self):
            log("test Delta.test_d1")
"#;

/// The log's lines as (what, pid), in order.
fn log_of(p: &Project) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(p.path("log.txt")).unwrap_or_default();
    let lines = text
        .lines()
        .map(|l| {
            let (what, pid) = l.rsplit_once(' ').unwrap();
            (what.to_string(), pid.to_string())
        })
        .collect();
    std::fs::remove_file(p.path("log.txt")).ok();
    lines
}

fn count(log: &[(String, String)], what: &str) -> usize {
    log.iter().filter(|(w, _)| w == what).count()
}

#[test]
fn a_lone_file_s_classes_run_in_two_workers_once_each_as_one_worker_reports_them() {
    let p = Project::new();
    p.write("tests/test_classes.py", CLASSES);
    let (one, out) = p.run_json(&["-n", "1"]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let one_log = log_of(&p);
    let (two, out) = p.run_json(&["-n", "2"]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let log = log_of(&p);

    // Same ids, statuses and report order as the one-worker run (which splits nothing).
    assert_eq!(statuses(&two), statuses(&one));
    assert_eq!(ids(&two).len(), 8, "{:#?}", ids(&two));
    assert_eq!(
        entry(&two, "tests/test_classes.py::Beta::test_b2")["status"],
        "skipped"
    );
    assert_eq!(
        entry(&two, "tests/test_classes.py::Alpha::test_a2")["status"],
        "failed"
    );
    assert_eq!(
        entry(&two, "tests/test_classes.py::Gamma::test_g2")["status"],
        "error"
    );

    // Each test ran once, each class was set up once, all tests of a class in one process.
    let tests: Vec<&(String, String)> =
        log.iter().filter(|(w, _)| w.starts_with("test ")).collect();
    assert_eq!(tests.len(), 7, "{log:?}");
    let distinct: HashSet<&String> = tests.iter().map(|(w, _)| w).collect();
    assert_eq!(distinct.len(), 7, "a test ran twice: {log:?}");
    let mut class_pid: HashMap<&str, &str> = HashMap::new();
    for (what, pid) in &tests {
        let class = what["test ".len()..].split('.').next().unwrap();
        assert_eq!(
            *class_pid.entry(class).or_insert(pid),
            pid.as_str(),
            "{class} split: {log:?}"
        );
    }
    for class in ["Alpha", "Beta", "Gamma", "Delta"] {
        assert_eq!(count(&log, &format!("setUpClass {class}")), 1, "{log:?}");
    }
    // The file ran in two processes, and the module was set up once in each (as under
    // pytest-xdist), where the one-worker run set it up once.
    let pids: HashSet<&String> = tests.iter().map(|(_, pid)| pid).collect();
    assert_eq!(pids.len(), 2, "not spread over two workers: {log:?}");
    assert_eq!(count(&log, "setUpModule"), 2, "{log:?}");
    assert_eq!(count(&one_log, "setUpModule"), 1, "{one_log:?}");
    let module_pids: HashSet<&String> = log
        .iter()
        .filter(|(w, _)| w == "setUpModule")
        .map(|(_, pid)| pid)
        .collect();
    assert_eq!(module_pids, pids, "{log:?}");
}

#[test]
fn a_crash_in_one_part_reruns_only_that_part_s_unfinished_tests() {
    let p = Project::new();
    p.write(
        "tests/test_crash.py",
        &CLASSES.replace(
            "log(\"test Beta.test_b1\")",
            "log(\"test Beta.test_b1\")\n            os._exit(7)",
        ),
    );
    let (one, _) = p.run_json(&["-n", "1"]);
    log_of(&p);
    let (two, out) = p.run_json(&["-n", "2"]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let log = log_of(&p);
    assert_eq!(statuses(&two), statuses(&one));
    let crashed = entry(&two, "tests/test_crash.py::Beta::test_b1");
    assert_eq!(
        (&crashed["status"], &crashed["kind"]),
        (&"error".into(), &"crash".into()),
        "{crashed:#}"
    );
    // Every other test ran exactly once: the part that did not crash is not run again, and
    // the crashed part goes on after the crashing test in a new worker.
    for what in [
        "test Alpha.test_a1",
        "test Alpha.test_a2",
        "test Beta.test_b1",
        "test Beta.test_b3",
        "test Gamma.test_g1",
        "test Gamma.test_g2",
        "test Delta.test_d1",
    ] {
        assert_eq!(count(&log, what), 1, "{what}: {log:?}");
    }
    let pids: HashSet<&String> = log.iter().map(|(_, pid)| pid).collect();
    assert_eq!(
        pids.len(),
        3,
        "two workers and the crashed one's replacement: {log:?}"
    );
}

#[test]
fn a_split_file_s_import_error_and_module_tear_down_are_reported_once() {
    let p = Project::new();
    p.write(
        "tests/test_teardown.py",
        &format!(
            "{}\ndef tearDownModule():\n    raise RuntimeError(\"module tear-down\")\n",
            dedent(CLASSES)
        ),
    );
    let (one, _) = p.run_json(&["-n", "1"]);
    log_of(&p);
    let (two, out) = p.run_json(&["-n", "2"]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let teardowns = |r: &serde_json::Value| {
        ids(r)
            .into_iter()
            .filter(|i| i.ends_with("::tearDownModule"))
            .count()
    };
    assert_eq!(
        (teardowns(&one), teardowns(&two)),
        (1, 1),
        "{:#?}",
        ids(&two)
    );
    assert_eq!(ids(&two).len(), ids(&one).len());
    assert_eq!(count(&log_of(&p), "setUpModule"), 2);

    p.write(
        "tests/test_teardown.py",
        &format!(
            "{}\nraise ImportError(\"no such thing\")\n",
            dedent(CLASSES)
        ),
    );
    let (two, out) = p.run_json(&["-n", "2"]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    assert_eq!(ids(&two), ["tests/test_teardown.py"], "{:#}", two["tests"]);
}

/// A file whose tests only its import can tell (`load_tests`) is split from its second run
/// on, by the classes last run's results named; every test still runs once.
#[test]
fn a_file_only_its_import_can_tell_is_split_by_last_run_s_classes() {
    let p = Project::new();
    p.write(
        "tests/test_dynamic.py",
        &format!(
            "{}\ndef load_tests(loader, tests, pattern):\n    return tests\n",
            dedent(CLASSES),
        ),
    );
    p.write(
        "tests/test_small.py",
        "
        import unittest

        class Small(unittest.TestCase):
            def test_s(self):
                pass
        ",
    );
    let (first, _) = p.run_json(&["-n", "2"]);
    let first_log = log_of(&p);
    let first_pids: HashSet<&String> = first_log
        .iter()
        .filter(|(w, _)| w.starts_with("test "))
        .map(|(_, pid)| pid)
        .collect();
    assert_eq!(
        first_pids.len(),
        1,
        "no history yet, nothing to split by: {first_log:?}"
    );
    let (second, out) = p.run_json(&["-n", "2"]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let log = log_of(&p);
    assert_eq!(statuses(&second), statuses(&first));
    let tests: Vec<&(String, String)> =
        log.iter().filter(|(w, _)| w.starts_with("test ")).collect();
    let distinct: HashSet<&String> = tests.iter().map(|(w, _)| w).collect();
    assert_eq!((tests.len(), distinct.len()), (7, 7), "{log:?}");
    let pids: HashSet<&String> = tests.iter().map(|(_, pid)| pid).collect();
    assert_eq!(pids.len(), 2, "not split on the second run: {log:?}");
    for class in ["Alpha", "Beta", "Gamma", "Delta"] {
        assert_eq!(count(&log, &format!("setUpClass {class}")), 1, "{log:?}");
    }
}

/// dbtest's own suites of one file keep running one after another in one worker, whatever
/// the history says (users may share module state between them).
#[test]
fn dbtest_suites_of_one_file_are_never_split() {
    let p = Project::new();
    let suites = ["One", "Two", "Three"]
        .map(|name| {
            format!(
                "class {name}(TestSuite):\n    @test\n    def t(self):\n        sum(range(5_000_000))\n        log('{name}')\n\n"
            )
        })
        .concat();
    p.write(
        "tests/test_suites.py",
        &format!(
            "import os\nfrom dbtest import TestSuite, test\n\ndef log(what):\n    with open(os.path.join(os.path.dirname(__file__), '..', 'log.txt'), 'a') as f:\n        f.write(f'{{what}} {{os.getpid()}}\\n')\n\n{suites}"
        ),
    );
    for _ in 0..2 {
        let (report, out) = p.run_json(&["-n", "2"]);
        assert_eq!(code(&out), Some(0), "{}", stderr(&out));
        assert_eq!(ids(&report).len(), 3);
        let log = log_of(&p);
        let order: Vec<&str> = log.iter().map(|(w, _)| w.as_str()).collect();
        assert_eq!(order, ["One", "Two", "Three"], "{log:?}");
        let pids: HashSet<&String> = log.iter().map(|(_, pid)| pid).collect();
        assert_eq!(pids.len(), 1, "{log:?}");
    }
}
