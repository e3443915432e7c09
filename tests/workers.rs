//! How worker processes start: the first one forks its siblings once its interpreter is up
//! (`src/runner/siblings.rs`), and each sibling is then a worker of its own: its own process
//! group, adopted by dbtest (so its crash is reported with its signal), with its own random
//! state and crash traceback. Where forking is unsafe (a thread already runs) or switched off
//! (`DBTEST_NO_FORK=1`), every worker starts on its own.
mod common;

use std::process::Stdio;

use common::*;
use serde_json::Value;

/// Switches forking off.
const NO_FORK: &str = "DBTEST_NO_FORK";

/// A `sitecustomize` (on PYTHONPATH) that records, in every interpreter, whether it is a
/// forked copy: Python runs `os.register_at_fork` callbacks in a child, as dbtest's forking
/// must (coverage.py and others rely on them).
const SITE: &str = r#"
import builtins, os
builtins._forked = False
def _mark():
    builtins._forked = True
os.register_at_fork(after_in_child=_mark)
"#;

/// Two pytest-style files (each runs alone in its worker process, so with two workers they
/// run in both), each writing what its process is beside itself.
fn project(site: &str) -> Project {
    let p = Project::new();
    p.write("site/sitecustomize.py", site);
    for name in ["a", "b"] {
        p.write(
            &format!("test_{name}.py"),
            r#"
            import builtins, json, os, random, threading, time

            def test_who():
                time.sleep(0.5)
                with open(__file__ + ".json", "w") as f:
                    json.dump({
                    "pid": os.getpid(), "ppid": os.getppid(), "pgid": os.getpgid(0),
                    "random": random.random(), "forked": builtins._forked,
                    "threads": [t.name for t in threading.enumerate()],
                }, f)
            "#,
        );
    }
    p
}

/// Run `dbtest -n 2 --format json` in `p` with `env`; the supervisor's pid and what each
/// test wrote.
fn run(p: &Project, env: &[(&str, &str)]) -> (u32, Vec<Value>) {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("dbtest"));
    c.current_dir(p.root())
        .args(["-n", "2", "--format", "json"])
        .env_remove("VIRTUAL_ENV")
        .env_remove(NO_FORK)
        .env("PYTHONPATH", p.path("site"))
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    let supervisor = child.id();
    let out = child.wait_with_output().unwrap();
    let report = parse_json(&out);
    assert_eq!(report["summary"]["passed"], 2, "{}", stderr(&out));
    let wrote = ["a", "b"]
        .iter()
        .map(|n| {
            let text = std::fs::read_to_string(p.path(&format!("test_{n}.py.json"))).unwrap();
            serde_json::from_str(&text).unwrap()
        })
        .collect();
    (supervisor, wrote)
}

#[test]
fn the_first_worker_forks_its_sibling_which_dbtest_adopts_as_a_worker_of_its_own() {
    let p = project(SITE);
    let (supervisor, who) = run(&p, &[]);
    assert_eq!(who.len(), 2);
    let pids: Vec<&Value> = who.iter().map(|w| &w["pid"]).collect();
    assert_ne!(pids[0], pids[1], "both files ran in one process: {who:?}");
    // One started on its own, the other is its forked copy (after-fork callbacks ran there).
    let mut forked: Vec<bool> = who.iter().map(|w| w["forked"] == true).collect();
    forked.sort_unstable();
    assert_eq!(forked, [false, true], "{who:?}");
    for w in &who {
        assert_eq!(w["ppid"], supervisor, "not a child of dbtest: {w}");
        assert_eq!(w["pgid"], w["pid"], "not its own process group: {w}");
    }
    assert_ne!(
        who[0]["random"], who[1]["random"],
        "one random state: {who:?}"
    );
}

#[test]
fn with_dbtest_no_fork_every_worker_starts_on_its_own() {
    let p = project(SITE);
    let (supervisor, who) = run(&p, &[(NO_FORK, "1")]);
    assert_ne!(who[0]["pid"], who[1]["pid"]);
    for w in &who {
        assert_eq!(w["forked"], false, "{w}");
        assert_eq!(w["ppid"], supervisor, "{w}");
    }
}

#[test]
fn a_thread_started_with_the_interpreter_runs_in_every_worker() {
    // A fork would copy no thread: the first worker must not fork while one runs.
    let site = format!(
        "{SITE}\nimport threading, time\nthreading.Thread(target=time.sleep, args=(3600,), \
         name='agent', daemon=True).start()\n"
    );
    let p = project(&site);
    let (_, who) = run(&p, &[]);
    assert_ne!(who[0]["pid"], who[1]["pid"]);
    for w in &who {
        assert_eq!(w["forked"], false, "{w}");
        let threads = w["threads"].as_array().unwrap();
        assert!(threads.iter().any(|t| t == "agent"), "{w}");
    }
}

#[test]
fn a_crash_in_either_worker_names_its_signal_and_its_traceback() {
    let p = Project::new();
    for name in ["a", "b"] {
        p.write(
            &format!("test_{name}.py"),
            &format!(
                r#"
                import ctypes, time

                def test_crash_{name}():
                    time.sleep(0.5)
                    ctypes.string_at(0)
                "#
            ),
        );
    }
    let (report, out) = p.run_json(&["-n", "2"]);
    for name in ["a", "b"] {
        let t = entry(&report, &format!("test_{name}.py::test_crash_{name}"));
        assert_eq!(t["kind"], "crash", "{t}\n{}", stderr(&out));
        let m = t["message"].as_str().unwrap_or_default();
        assert!(m.contains("SIGSEGV"), "{m}");
        let tb = t["traceback"].as_str().unwrap_or_default();
        assert!(tb.contains(&format!("test_crash_{name}")), "{tb}");
    }
}
