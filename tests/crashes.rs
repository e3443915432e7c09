//! Faults that take a worker process down or never return, run end to end: the crash corpus
//! (`tests/fixtures/faults/crashes` or `$DBTEST_FAULTS_DIR/crashes`, every expectation written
//! in its comments), a default timeout, SIGKILL, an import-time crash, in-process mode, SIGINT and fail-fast with several workers.
//! Every run has a wall-clock guard: a run that hangs is killed and fails its test.
mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;
use tempfile::TempDir;

/// Past this a run is taken for hung: it is killed and its test fails.
const GUARD: Duration = Duration::from_secs(60);
/// A run of the crash corpus takes about 3 s; anything near its 3600 s sleeps is a hang.
const PROMPT: Duration = Duration::from_secs(30);
/// Set on every run, to the project root: a process that inherited it was started by that run.
const RUN_MARK: &str = "DBTEST_E2E_CRASH_RUN";

/// The project's own fault corpus, or the one `DBTEST_FAULTS_DIR` names (CI points it at
/// `../shared/faults` as an extra step).
fn corpus() -> PathBuf {
    match std::env::var_os("DBTEST_FAULTS_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/faults"),
    }
}

/// A writable copy of the whole fault corpus (`crashes/` and `tests/`), with a
/// `pyproject.toml` at its top so the project root is the copy.
fn crash_project() -> Project {
    let src = corpus();
    if !src.join("crashes").is_dir() || !src.join("tests").is_dir() {
        panic!(
            "the fault corpus is missing: expected it at {} (tests/fixtures/faults, or the \
             folder DBTEST_FAULTS_DIR names)",
            src.display()
        );
    }
    let p = Project::new();
    copy_tree(&src, p.root());
    std::fs::write(p.path("pyproject.toml"), "[project]\nname = \"faults\"\n").unwrap();
    p
}

// ---------------------------------------------------------------------------------------------
// Guarded runs

/// A `dbtest` process started in a project, its output going to files (a pipe could be held
/// open by a leftover grandchild and hang the reader).
struct Started {
    child: Child,
    args: Vec<String>,
    since: Instant,
    out: PathBuf,
    err: PathBuf,
    _dir: TempDir,
}

struct Finished {
    out: Output,
    elapsed: Duration,
}

fn start(p: &Project, args: &[&str]) -> Started {
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("dbtest"));
    for var in ["VIRTUAL_ENV", "NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE"] {
        c.env_remove(var);
    }
    c.current_dir(p.root())
        .args(args)
        .env(RUN_MARK, p.root())
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap());
    Started {
        child: c.spawn().expect("starting dbtest"),
        args: args.iter().map(|s| s.to_string()).collect(),
        since: Instant::now(),
        out,
        err,
        _dir: dir,
    }
}

impl Started {
    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Wait for the exit at most `limit` from now; past it dbtest is killed and the test fails.
    fn finish(mut self, limit: Duration) -> Finished {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() >= deadline {
                unsafe { libc::kill(self.pid(), libc::SIGKILL) };
                let _ = self.child.wait();
                panic!(
                    "dbtest {:?} still running {limit:?} later ({:?} in all): killed\n--- stderr\n{}",
                    self.args,
                    self.since.elapsed(),
                    String::from_utf8_lossy(&std::fs::read(&self.err).unwrap_or_default())
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let elapsed = self.since.elapsed();
        Finished {
            out: Output {
                status,
                stdout: std::fs::read(&self.out).unwrap(),
                stderr: std::fs::read(&self.err).unwrap(),
            },
            elapsed,
        }
    }
}

fn run(p: &Project, args: &[&str]) -> Finished {
    start(p, args).finish(GUARD)
}

/// `dbtest ARGS --format json`: the parsed report and the run.
fn run_json(p: &Project, args: &[&str]) -> (Value, Finished) {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let f = run(p, &all);
    (parse_json(&f.out), f)
}

fn code(f: &Finished) -> Option<i32> {
    f.out.status.code()
}

fn wait_for(p: &Project, marker: &str, what: &str) {
    let since = Instant::now();
    while !p.exists(marker) {
        assert!(
            since.elapsed() < Duration::from_secs(20),
            "{what} never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------------
// Leftover `sleep 3600` processes

/// Running `sleep 3600` processes started by a run in the project at `root`: the environment
/// mark of the run (or, failing that, the working directory) ties them to it.
fn sleeps_of(root: &Path) -> Vec<i32> {
    let mark = format!("{RUN_MARK}={}\0", root.display()).into_bytes();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        if std::fs::read(dir.join("cmdline")).unwrap_or_default() != b"sleep\x003600\x00" {
            continue;
        }
        let env = std::fs::read(dir.join("environ")).unwrap_or_default();
        let ours = env.windows(mark.len()).any(|w| w == mark.as_slice())
            || std::fs::read_link(dir.join("cwd")).is_ok_and(|cwd| cwd == root);
        if ours {
            found.push(pid);
        }
    }
    found
}

/// The `sleep 3600` processes of this project still running a while after its run ended.
/// They are killed (by pid) before returning, so a failing test leaves nothing behind.
fn surviving_sleeps(p: &Project) -> Vec<i32> {
    let since = Instant::now();
    let mut left = sleeps_of(p.root());
    while !left.is_empty() && since.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(50));
        left = sleeps_of(p.root());
    }
    for &pid in &left {
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    left
}

/// The leftover check can fail: a `sleep 3600` started in the project is found, and is gone
/// once killed.
#[test]
fn the_leftover_check_finds_a_sleep_started_in_the_project() {
    let p = Project::new();
    let mut child = std::process::Command::new("sleep")
        .arg("3600")
        .current_dir(p.root())
        .env(RUN_MARK, p.root())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let since = Instant::now();
    let mut seen = sleeps_of(p.root());
    while seen.is_empty() && since.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(20));
        seen = sleeps_of(p.root());
    }
    unsafe { libc::kill(pid, libc::SIGKILL) };
    child.wait().unwrap();
    assert_eq!(seen, vec![pid]);
    assert!(sleeps_of(p.root()).is_empty());
    assert!(sleeps_of(Project::new().root()).is_empty(), "another root");
}

// ---------------------------------------------------------------------------------------------
// The crash corpus, JSON

/// Every entry the crash corpus must produce, in report order: `(id, status, kind)`.
const CRASH_EXPECTED: &[(&str, &str, Option<&str>)] = &[
    ("crashes/test_crashes.py::Crashes::before", "passed", None),
    (
        "crashes/test_crashes.py::Crashes::hard_exit",
        "error",
        Some("crash"),
    ),
    (
        "crashes/test_crashes.py::Crashes::segfault",
        "error",
        Some("crash"),
    ),
    ("crashes/test_crashes.py::Crashes::after", "passed", None),
    (
        "crashes/test_hangs.py::Hangs::busy_loop",
        "error",
        Some("timeout"),
    ),
    (
        "crashes/test_hangs.py::Hangs::blocked_in_c",
        "error",
        Some("timeout"),
    ),
    ("crashes/test_hangs.py::Hangs::still_runs", "passed", None),
    ("crashes/test_leftovers.py::leaves_a_thread", "passed", None),
    ("crashes/test_leftovers.py::leaves_a_child", "passed", None),
];

fn crash_ids() -> Vec<String> {
    CRASH_EXPECTED
        .iter()
        .map(|(i, _, _)| i.to_string())
        .collect()
}

type Triple = (String, String, Option<String>);

/// `(id, status, kind)` of every entry, in report order.
fn triples(report: &Value) -> Vec<Triple> {
    tests_of(report)
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_string(),
                t["status"].as_str().unwrap().to_string(),
                t["kind"].as_str().map(str::to_string),
            )
        })
        .collect()
}

struct CrashRun {
    report: Value,
    code: Option<i32>,
    elapsed: Duration,
    stderr: String,
    surviving_sleeps: Vec<i32>,
}

/// One JSON run of the crash corpus (default workers), shared by the tests that read it.
fn crash_run() -> &'static CrashRun {
    static RUN: OnceLock<CrashRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let p = crash_project();
        let f = run(&p, &["crashes", "--format", "json"]);
        CrashRun {
            report: parse_json(&f.out),
            code: code(&f),
            elapsed: f.elapsed,
            stderr: stderr(&f.out),
            surviving_sleeps: surviving_sleeps(&p),
        }
    })
}

fn crash_report() -> &'static Value {
    &crash_run().report
}

fn text(id: &str, key: &str) -> String {
    let t = entry(crash_report(), id);
    t[key]
        .as_str()
        .unwrap_or_else(|| panic!("{id}: {key} is not a string: {t:#}"))
        .to_string()
}

#[test]
fn crash_corpus_reports_every_test_once_in_declaration_order() {
    let run = crash_run();
    let want: Vec<Triple> = CRASH_EXPECTED
        .iter()
        .map(|(i, s, k)| (i.to_string(), s.to_string(), k.map(str::to_string)))
        .collect();
    assert_eq!(triples(&run.report), want, "stderr:\n{}", run.stderr);
    assert_eq!(run.code, Some(1), "some tests errored: exit 1");
    let r = &run.report;
    assert_eq!(r["interrupted"], false);
    assert_eq!(r["stopped_early"], false);
    let s = &r["summary"];
    assert_eq!(
        [
            &s["total"],
            &s["passed"],
            &s["failed"],
            &s["errors"],
            &s["skipped"]
        ],
        [9, 5, 0, 4, 0].map(Value::from).each_ref(),
        "{s}"
    );
}

#[test]
fn a_hard_exit_is_a_crash_with_its_exit_code_and_its_output() {
    let id = "crashes/test_crashes.py::Crashes::hard_exit";
    let t = entry(crash_report(), id);
    assert_eq!(
        (&t["status"], &t["kind"]),
        (&"error".into(), &"crash".into())
    );
    let m = text(id, "message");
    assert!(m.contains("exit code 7"), "{m}");
    let out = text(id, "stdout");
    assert!(out.contains("about to exit"), "stdout: {out:?}");
}

#[test]
fn a_segfault_is_a_crash_naming_sigsegv_with_the_faulthandler_traceback() {
    let id = "crashes/test_crashes.py::Crashes::segfault";
    let t = entry(crash_report(), id);
    assert_eq!(
        (&t["status"], &t["kind"]),
        (&"error".into(), &"crash".into())
    );
    let m = text(id, "message");
    assert!(m.contains("SIGSEGV"), "{m}");
    let tb = text(id, "traceback");
    assert!(!tb.trim().is_empty(), "an empty traceback");
    // faulthandler names the frame that crashed.
    assert!(tb.contains("in segfault"), "{tb}");
}

#[test]
fn tests_after_two_crashes_in_the_same_file_still_run() {
    for id in [
        "crashes/test_crashes.py::Crashes::before",
        "crashes/test_crashes.py::Crashes::after",
    ] {
        let t = entry(crash_report(), id);
        assert_eq!(t["status"], "passed", "{t:#}");
    }
}

#[test]
fn hanging_tests_are_stopped_at_their_timeout_and_the_run_ends() {
    for id in [
        "crashes/test_hangs.py::Hangs::busy_loop",
        "crashes/test_hangs.py::Hangs::blocked_in_c",
    ] {
        let t = entry(crash_report(), id);
        assert_eq!(
            (&t["status"], &t["kind"]),
            (&"error".into(), &"timeout".into()),
            "{t:#}"
        );
        let m = text(id, "message");
        assert!(
            (m.contains("timed out") || m.contains("timeout")) && m.contains('1'),
            "{id}: the message names the 1 s timeout: {m}"
        );
        let ms = t["duration_ms"].as_f64().unwrap();
        assert!(
            (900.0..15_000.0).contains(&ms),
            "{id}: stopped after {ms} ms, expected about 1000"
        );
    }
    assert_eq!(
        entry(crash_report(), "crashes/test_hangs.py::Hangs::still_runs")["status"],
        "passed"
    );
    let elapsed = crash_run().elapsed;
    assert!(elapsed < PROMPT, "the crash corpus took {elapsed:?}");
}

#[test]
fn leftover_threads_and_children_neither_hold_the_run_nor_outlive_it() {
    for id in [
        "crashes/test_leftovers.py::leaves_a_thread",
        "crashes/test_leftovers.py::leaves_a_child",
    ] {
        assert_eq!(entry(crash_report(), id)["status"], "passed");
    }
    let run = crash_run();
    assert!(
        run.elapsed < PROMPT,
        "the crash corpus took {:?}",
        run.elapsed
    );
    assert!(
        run.surviving_sleeps.is_empty(),
        "`sleep 3600` started by the run still running after it: pids {:?}",
        run.surviving_sleeps
    );
}

// ---------------------------------------------------------------------------------------------
// The crash corpus in the other formats, and with the fault corpus

#[test]
fn markdown_report_of_the_crash_corpus_is_valid_and_complete() {
    let p = crash_project();
    let f = run(&p, &["crashes", "--format", "markdown"]);
    assert_eq!(code(&f), Some(1), "{}", stderr(&f.out));
    assert!(f.elapsed < PROMPT, "took {:?}", f.elapsed);
    let md = stdout(&f.out);
    check_markdown(&md);
    let decoded = html_unescape(&md);
    assert!(decoded.contains("4 errors, 5 passed"), "{md}");
    let problems: Vec<&str> = CRASH_EXPECTED
        .iter()
        .filter(|(_, s, _)| *s == "error")
        .map(|(i, _, _)| *i)
        .collect();
    for id in &problems {
        assert!(
            decoded.contains(&format!("<code>{id}</code>")),
            "{id} is missing from the markdown report:\n{md}"
        );
    }
    assert_eq!(md.matches("<details>").count(), problems.len(), "{md}");
    for needle in ["exit code 7", "about to exit", "SIGSEGV"] {
        assert!(decoded.contains(needle), "{needle:?} missing:\n{md}");
    }
    assert!(surviving_sleeps(&p).is_empty(), "a `sleep 3600` survived");
}

#[test]
fn output_file_holds_the_complete_crash_report() {
    let p = crash_project();
    let f = run(
        &p,
        &[
            "crashes",
            "--format",
            "json",
            "-o",
            "report.json",
            "--color",
            "never",
        ],
    );
    assert_eq!(code(&f), Some(1), "{}", stderr(&f.out));
    let written = std::fs::read_to_string(p.path("report.json")).expect("report.json written");
    let v: Value = serde_json::from_str(&written).expect("the file holds valid JSON");
    assert_eq!(ids(&v), crash_ids());
    assert_eq!(v["summary"]["total"], 9);
    assert_eq!(v["summary"]["errors"], 4);
    let console = stdout(&f.out);
    assert!(console.contains("4 errors, 5 passed"), "{console}");
    assert!(surviving_sleeps(&p).is_empty(), "a `sleep 3600` survived");
}

#[test]
fn crash_and_fault_corpora_together_report_every_id_once() {
    let p = crash_project();
    let (report, f) = run_json(&p, &["crashes", "tests"]);
    assert_eq!(code(&f), Some(1), "{}", stderr(&f.out));
    assert!(f.elapsed < PROMPT, "took {:?}", f.elapsed);
    let all = ids(&report);
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), all.len(), "an id reported twice: {all:#?}");
    assert_eq!(all.len(), 9 + 28, "{all:#?}");
    // The crash corpus comes first, whole and in order; the fault corpus follows.
    assert_eq!(all[..9], crash_ids()[..], "{all:#?}");
    assert!(all[9..].iter().all(|i| i.starts_with("tests/")), "{all:#?}");
    let got = triples(&report);
    for (id, status, kind) in CRASH_EXPECTED {
        let (_, s, k) = got.iter().find(|(i, _, _)| i == id).unwrap();
        assert_eq!((s.as_str(), k.as_deref()), (*status, *kind), "{id}");
    }
    // The summary counts what the entries say, and both corpora's own totals.
    let count = |st: &str| got.iter().filter(|(_, s, _)| s == st).count();
    let s = &report["summary"];
    assert_eq!(s["total"], got.len());
    assert_eq!(s["passed"], count("passed"));
    assert_eq!(s["failed"], count("failed"));
    assert_eq!(s["errors"], count("error"));
    assert_eq!(s["skipped"], count("skipped"));
    assert_eq!(
        [&s["passed"], &s["failed"], &s["errors"], &s["skipped"]],
        [5 + 11, 5, 4 + 11, 1].map(Value::from).each_ref(),
        "{s}"
    );
    assert!(surviving_sleeps(&p).is_empty(), "a `sleep 3600` survived");
}

// ---------------------------------------------------------------------------------------------
// Timeouts, signals and import-time crashes of small fixtures

#[test]
fn the_default_timeout_stops_a_sync_test_that_sets_none() {
    let p = Project::new();
    p.write(
        "tests/test_sleepy.py",
        r#"
        import time
        from dbtest import test

        @test(tags=["slow"])
        def sleeps_past_the_default():
            time.sleep(30)

        @test
        def after_it():
            pass
        "#,
    );
    let (report, f) = run_json(&p, &["--timeout", "1"]);
    assert_eq!(code(&f), Some(1), "{}", stderr(&f.out));
    assert!(
        f.elapsed < Duration::from_secs(15),
        "--timeout 1 and the run took {:?}",
        f.elapsed
    );
    let t = entry(&report, "tests/test_sleepy.py::sleeps_past_the_default");
    assert_eq!(
        (&t["status"], &t["kind"]),
        (&"error".into(), &"timeout".into()),
        "{t:#}"
    );
    let m = t["message"].as_str().unwrap_or("");
    assert!(m.contains("timed out") || m.contains("timeout"), "{m}");
    // Reported by the supervisor, not the worker: the test's tags still come through.
    assert_eq!(t["tags"], serde_json::json!(["slow"]), "{t:#}");
    assert_eq!(
        statuses(&report),
        vec![
            (
                "tests/test_sleepy.py::sleeps_past_the_default".into(),
                "error".into()
            ),
            ("tests/test_sleepy.py::after_it".into(), "passed".into()),
        ]
    );
}

#[test]
fn in_process_mode_ends_the_run_at_a_sync_test_it_cannot_stop() {
    let p = Project::new();
    p.write(
        "tests/test_stuck.py",
        r#"
        import time
        from dbtest import test

        @test(timeout=0.5, tags=["slow"])
        def sleeps():
            time.sleep(60)
        "#,
    );
    p.write(
        "tests/test_spin.py",
        r#"
        from dbtest import test

        @test
        def spins_holding_the_gil():
            while True:
                pass
        "#,
    );
    // A test sleeping past its own timeout; one spinning (holding the GIL) past --timeout.
    for (args, id) in [
        (
            vec!["-n", "0", "tests/test_stuck.py"],
            "tests/test_stuck.py::sleeps",
        ),
        (
            vec!["-n", "0", "--timeout", "0.5", "tests/test_spin.py"],
            "tests/test_spin.py::spins_holding_the_gil",
        ),
    ] {
        let (report, f) = run_json(&p, &args);
        assert_eq!(code(&f), Some(1), "{}", stderr(&f.out));
        // Not a speed check: without the stop this run would last a minute or forever.
        assert!(
            f.elapsed < Duration::from_secs(30),
            "{args:?} took {:?}",
            f.elapsed
        );
        let t = entry(&report, id);
        assert_eq!(
            (&t["status"], &t["kind"]),
            (&"error".into(), &"timeout".into()),
            "{t:#}"
        );
        assert!(
            t["message"].as_str().unwrap_or("").contains("-n 0"),
            "{t:#}"
        );
        assert_eq!(report["stopped_early"], true);
        assert!(
            stderr(&f.out).contains("ran past its 0.5 s timeout"),
            "{}",
            stderr(&f.out)
        );
    }
}

#[test]
fn a_test_that_sigkills_its_process_is_a_crash_and_the_next_test_runs() {
    let p = Project::new();
    p.write(
        "tests/test_kill.py",
        r#"
        import os
        import signal
        from dbtest import test

        @test
        def kills_itself():
            os.kill(os.getpid(), signal.SIGKILL)

        @test
        def next_one():
            pass
        "#,
    );
    let (report, f) = run_json(&p, &[]);
    assert_eq!(code(&f), Some(1), "{}", stderr(&f.out));
    let t = entry(&report, "tests/test_kill.py::kills_itself");
    assert_eq!(
        (&t["status"], &t["kind"]),
        (&"error".into(), &"crash".into()),
        "{t:#}"
    );
    let m = t["message"].as_str().unwrap_or("");
    assert!(m.contains("SIGKILL"), "{m}");
    assert_eq!(
        statuses(&report),
        vec![
            ("tests/test_kill.py::kills_itself".into(), "error".into()),
            ("tests/test_kill.py::next_one".into(), "passed".into()),
        ]
    );
}

const OTHER_FILE: &str = r#"
    import time
    from dbtest import test

    @test
    def slow():
        time.sleep(1)

    @test
    def quick():
        pass
    "#;

/// The crash entry of an import-time `os._exit(3)`, and the other file's tests passed.
fn assert_import_crash_alone_blamed(report: &Value, f: &Finished) {
    let crash = "tests/test_a_crashes_at_import.py";
    assert_eq!(
        ids(report),
        vec![
            crash.to_string(),
            "tests/test_b_other.py::slow".into(),
            "tests/test_b_other.py::quick".into(),
        ],
        "{}",
        stderr(&f.out)
    );
    let t = entry(report, crash);
    assert_eq!(
        (&t["status"], &t["kind"]),
        (&"error".into(), &"crash".into()),
        "{t:#}"
    );
    assert_eq!(t["file"], crash);
    assert!(t["suite"].is_null() && t["name"].is_null(), "{t:#}");
    let m = t["message"].as_str().unwrap_or("");
    assert!(m.contains("exit code 3"), "{m}");
    for id in [
        "tests/test_b_other.py::slow",
        "tests/test_b_other.py::quick",
    ] {
        let t = entry(report, id);
        assert_eq!(t["status"], "passed", "another file's test: {t:#}");
    }
    assert_eq!(code(f), Some(1));
}

#[test]
fn an_import_time_crash_is_one_crash_entry_and_other_files_still_run() {
    let p = Project::new();
    p.write(
        "tests/test_a_crashes_at_import.py",
        "import os\nos._exit(3)\n",
    );
    p.write("tests/test_b_other.py", OTHER_FILE);
    let (report, f) = run_json(&p, &[]);
    assert_import_crash_alone_blamed(&report, &f);
}

/// With one worker, the other file's test runs in the very process the import kills: it must
/// be rerun, not blamed for the crash.
#[test]
fn an_import_time_crash_does_not_blame_a_test_running_in_the_same_worker() {
    let p = Project::new();
    p.write(
        "tests/test_a_crashes_at_import.py",
        r#"
        import os
        import time

        time.sleep(0.5)  # long enough for the other file's slow test to be running
        os._exit(3)
        "#,
    );
    p.write("tests/test_b_other.py", OTHER_FILE);
    let (report, f) = run_json(&p, &["-n", "1"]);
    assert_import_crash_alone_blamed(&report, &f);
}

#[test]
fn in_process_mode_gives_the_fault_corpus_the_statuses_of_worker_mode() {
    let p = crash_project();
    let (workers, f) = run_json(&p, &["tests"]);
    assert_eq!(code(&f), Some(1), "{}", stderr(&f.out));
    let (in_process, f) = run_json(&p, &["-n", "0", "tests"]);
    assert_eq!(code(&f), Some(1), "{}", stderr(&f.out));
    let (w, i) = (triples(&workers), triples(&in_process));
    assert_eq!(w.len(), 28, "{w:#?}");
    assert_eq!(i, w, "-n 0 (left) and worker mode (right) differ");
}

#[test]
fn sigint_in_worker_mode_reports_the_running_test_as_interrupted() {
    let p = Project::new();
    p.write(
        "tests/test_interrupted.py",
        r#"
        import time
        from dbtest import test

        @test
        def quick():
            pass

        @test
        def sleeps():
            open("sleeping.marker", "w").close()
            time.sleep(30)
        "#,
    );
    let run = start(&p, &["-n", "2", "--format", "json"]);
    wait_for(&p, "sleeping.marker", "the sleeping test");
    std::thread::sleep(Duration::from_millis(500));
    // SIGINT to dbtest alone, not its process group: it has to stop its workers itself.
    assert_eq!(unsafe { libc::kill(run.pid(), libc::SIGINT) }, 0);
    let f = run.finish(Duration::from_secs(6));
    assert_eq!(code(&f), Some(2), "{}", stderr(&f.out));
    let report = parse_json(&f.out);
    assert_eq!(report["interrupted"], true);
    assert_eq!(
        triples(&report),
        vec![
            (
                "tests/test_interrupted.py::quick".into(),
                "passed".into(),
                None
            ),
            (
                "tests/test_interrupted.py::sleeps".into(),
                "error".into(),
                Some("interrupted".into())
            ),
        ]
    );
    assert_eq!(report["summary"]["total"], 2);
}

#[test]
fn fail_fast_with_two_workers_cuts_a_running_test_short() {
    let p = Project::new();
    p.write(
        "tests/test_a_fails.py",
        r#"
        import os
        import time
        from dbtest import test

        @test
        def fails_at_once():
            # Fail once the other file's long test is under way: stopping means cutting it short.
            deadline = time.monotonic() + 10
            while not os.path.exists("sleeping.marker") and time.monotonic() < deadline:
                time.sleep(0.02)
            assert False, "first failure"
        "#,
    );
    p.write(
        "tests/test_b_sleeps.py",
        r#"
        import time
        from dbtest import test

        @test
        def sleeps():
            open("sleeping.marker", "w").close()
            time.sleep(20)

        @test
        def never_starts():
            pass
        "#,
    );
    let (report, f) = run_json(&p, &["-x", "-n", "2"]);
    assert!(p.exists("sleeping.marker"), "the long test never started");
    assert!(
        f.elapsed < Duration::from_secs(10),
        "-x waited {:?} for a 20 s test",
        f.elapsed
    );
    assert_eq!(code(&f), Some(1), "{}", stderr(&f.out));
    assert_eq!(report["stopped_early"], true);
    assert_eq!(
        entry(&report, "tests/test_a_fails.py::fails_at_once")["status"],
        "failed"
    );
    for t in tests_of(&report) {
        if t["file"] == "tests/test_b_sleeps.py" {
            assert_ne!(t["status"], "passed", "{t:#}");
        }
    }
}

#[test]
fn a_crash_right_after_fast_tests_loses_none_of_their_results_nor_reruns_them() {
    // A worker sends its tests' starts and results in batches (`outbox`): those not yet
    // written when it dies must still reach the report, and the crash the right test.
    let p = Project::new();
    let runs = p.path("runs.txt");
    let mut src = format!(
        "import os\nfrom dbtest import test\n\ndef ran(name):\n    with open({:?}, 'a') as f:\n        f.write(name + '\\n')\n",
        runs.display().to_string()
    );
    for i in 0..40 {
        src.push_str(&format!("\n@test\ndef t{i:02}():\n    ran('t{i:02}')\n"));
    }
    src.push_str("\n@test\ndef t40_dies():\n    ran('t40_dies')\n    os._exit(7)\n");
    for i in 41..45 {
        src.push_str(&format!("\n@test\ndef t{i:02}():\n    ran('t{i:02}')\n"));
    }
    p.write("tests/test_burst.py", &src);
    let (report, f) = run_json(&p, &["-n", "1"]);
    assert_eq!(code(&f), Some(1), "{}", stderr(&f.out));
    let dies = entry(&report, "tests/test_burst.py::t40_dies");
    assert_eq!(
        (&dies["status"], &dies["kind"]),
        (&"error".into(), &"crash".into()),
        "{dies:#}"
    );
    let st = statuses(&report);
    assert_eq!(st.len(), 45, "{st:?}");
    assert_eq!(
        st.iter().filter(|(_, s)| s == "passed").count(),
        44,
        "{st:?}"
    );
    let ran = std::fs::read_to_string(&runs).unwrap();
    let mut lines: Vec<&str> = ran.lines().collect();
    lines.sort_unstable();
    let before = lines.len();
    lines.dedup();
    assert_eq!(before, lines.len(), "a test ran twice:\n{ran}");
    assert_eq!(lines.len(), 45, "{ran}");
}
