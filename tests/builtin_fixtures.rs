//! End-to-end tests of pytest's built-in fixtures (`tmp_path`, `monkeypatch`, `capsys`,
//! `caplog`, `recwarn`, ...): the fixture project `tests/fixtures/builtin_fixtures` gives
//! pytest's own outcomes in both modes, output a test did not read stays in its report, and
//! temporary folders live under `{TMPDIR}/dbtest-of-{user}/dbtest-{N}`, last 3 runs kept.
//! The checks that need the fixture engine say so and stop when a run shows it is absent.
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::*;
use serde_json::Value;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/builtin_fixtures")
}

/// Whether the Python dbtest embeds can import pytest (two files of the project need it).
fn pytest_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let p = Project::new();
        p.write(
            "tests/test_probe.py",
            "import pytest\n\ndef test_probe():\n    pass\n",
        );
        let (report, _) = p.run_json(&[]);
        let ok = statuses(&report) == [("tests/test_probe.py::test_probe".into(), "passed".into())];
        if !ok {
            eprintln!("note: pytest is not importable by the embedded Python; skipping");
        }
        ok
    })
}

/// Run `p` with `TMPDIR` pointing at `tmp`: the built-ins' base folder goes there.
fn run_in(p: &Project, tmp: &Path, args: &[&str]) -> (Value, std::process::Output) {
    let out = p
        .cmd()
        .env("TMPDIR", tmp)
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    (parse_json(&out), out)
}

/// `{tmp}/dbtest-of-{user}`: there is exactly one user here.
fn user_root(tmp: &Path) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("dbtest-of-"))
        })
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].clone()
}

fn check_project(args: &[&str]) {
    if !pytest_available() {
        return;
    }
    let p = fixture("builtin_fixtures");
    let tmp = tempfile::tempdir().unwrap();
    let (report, out) = run_in(&p, tmp.path(), args);
    let text = std::fs::read_to_string(fixture_dir().join("EXPECTED.json")).unwrap();
    let want: BTreeMap<String, String> = serde_json::from_str(&text).unwrap();
    let got: BTreeMap<String, String> = statuses(&report).into_iter().collect();
    let diffs: Vec<String> = want
        .keys()
        .chain(got.keys())
        .filter(|id| want.get(*id) != got.get(*id))
        .map(|id| {
            let detail = tests_of(&report)
                .iter()
                .find(|t| t["id"] == id.as_str())
                .map(|t| format!("{} {}", t["message"], t["traceback"]))
                .unwrap_or_default();
            format!(
                "{id}: pytest {:?}, dbtest {:?} {detail}",
                want.get(id),
                got.get(id)
            )
        })
        .collect();
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));

    // What the failing test printed after its last readouterr() is in its report; what it
    // read is not (pytest's "Captured stdout call").
    let failed = entry(
        &report,
        "tests/test_capture.py::test_fails_with_unread_output",
    );
    let shown = failed["stdout"].as_str().unwrap_or_default();
    assert!(shown.contains("UNREAD OUTPUT SHOWN IN REPORT"), "{failed}");
    assert!(!shown.contains("read part"), "{failed}");
    // capsys.disabled() writes past capture, to dbtest's stderr (never the report on stdout).
    assert!(
        stderr(&out).contains("straight to the terminal"),
        "{}",
        stderr(&out)
    );
    assert!(!stdout(&out).contains("straight to the terminal"));

    // Folders stay after the run, as pytest's do, under the TMPDIR the run was given.
    let kept = std::fs::read_dir(user_root(tmp.path()))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|d| d.join(".dbtest-run").is_file())
        .flat_map(|d| std::fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
        .find(|f| {
            f.file_name()
                .is_some_and(|n| n.to_string_lossy() == "test_tmp_path_is_fresh_and_emp0")
        })
        .expect("test_tmp_path_is_fresh_and_emp0 in a base folder");
    assert_eq!(
        std::fs::read_to_string(kept.join("file.txt")).unwrap(),
        "data"
    );
}

#[test]
fn builtin_fixtures_give_pytests_outcomes_in_workers() {
    check_project(&[]);
}

#[test]
fn builtin_fixtures_give_pytests_outcomes_in_process() {
    check_project(&["-n", "0"]);
}

/// The run key of each base folder (`{pid} {run}` in `.dbtest-run`).
fn runs_kept(root: &Path) -> BTreeMap<String, Vec<String>> {
    let mut runs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in std::fs::read_dir(root).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // `garbage-*`: renamed for deletion, which a worker's exit may have cut short.
        if name == "dbtest-current" || !name.starts_with("dbtest-") {
            continue;
        }
        let text = std::fs::read_to_string(path.join(".dbtest-run")).unwrap_or_default();
        let key = text.split_whitespace().nth(1).unwrap_or("?").to_string();
        runs.entry(key).or_default().push(name);
    }
    runs
}

#[test]
fn each_worker_gets_its_own_base_folder_and_only_three_runs_are_kept() {
    let p = Project::new();
    for f in ["a", "b", "c"] {
        p.write(
            &format!("tests/test_{f}.py"),
            "import os\n\ndef test_it(tmp_path):\n    (tmp_path / 'pid').write_text(str(os.getpid()))\n",
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut seen_runs = Vec::new();
    for round in 0..4 {
        let (report, out) = run_in(&p, tmp.path(), &["-n", "2"]);
        assert_eq!(code(&out), Some(0), "{}", stderr(&out));
        assert_eq!(report["summary"]["passed"], 3, "{report:#}");
        let root = user_root(tmp.path());
        let runs = runs_kept(&root);
        let new: Vec<&String> = runs.keys().filter(|k| !seen_runs.contains(*k)).collect();
        // One run key per run, shared by its workers: two worker processes, two folders.
        assert_eq!(new.len(), 1, "round {round}: {runs:?}");
        let key = new[0].clone();
        assert_eq!(runs[&key].len(), 2, "round {round}: {runs:?}");
        assert!(runs.len() <= 3, "round {round}: {runs:?}");
        let current = std::fs::read_link(root.join("dbtest-current")).unwrap();
        let current = current.file_name().unwrap().to_string_lossy().into_owned();
        assert!(runs[&key].contains(&current), "{current} {runs:?}");
        seen_runs.push(key);
    }
    // After four runs the first run's folders are gone.
    assert!(!runs_kept(&user_root(tmp.path())).contains_key(&seen_runs[0]));
}

#[test]
fn a_file_that_never_imports_pytest_gets_the_builtins_without_loading_it() {
    let p = Project::new();
    p.write(
        "tests/test_plain.py",
        "
        import logging
        import sys
        import warnings

        def test_plain(tmp_path, monkeypatch, capsys, caplog, recwarn):
            monkeypatch.setenv('PLAIN_VAR', '1')
            print('out')
            logging.getLogger('x').warning('logged')
            warnings.warn('w')
            assert capsys.readouterr().out == 'out\\n'
            assert caplog.messages == ['logged'] and len(recwarn) == 1
            assert tmp_path.is_dir()
            assert 'pytest' not in sys.modules and '_pytest' not in sys.modules
        ",
    );
    let tmp = tempfile::tempdir().unwrap();
    let (report, out) = run_in(&p, tmp.path(), &[]);
    assert_eq!(
        statuses(&report),
        [("tests/test_plain.py::test_plain".into(), "passed".into())],
        "{report:#}"
    );
    assert_eq!(code(&out), Some(0));
}

/// Two files logging and printing at the same moment on two threads of one process: each
/// test's `capsys` and `caplog` hold its own output and records only. (Files that import
/// dbtest share their worker's threads; plain pytest-style files run alone in theirs.)
fn concurrent_files_keep_their_own(args: &[&str]) {
    let p = Project::new();
    for tag in ["one", "two"] {
        let other = if tag == "one" { "two" } else { "one" };
        p.write(
            &format!("tests/test_{tag}.py"),
            &format!(
                "
                import logging
                import pathlib
                import time

                import dbtest  # written for dbtest: shares the process with other files

                def test_own(capsys, caplog):
                    # Wait until the other file runs too, so their output interleaves.
                    pathlib.Path('{tag}.ready').touch()
                    deadline = time.monotonic() + 10
                    while not pathlib.Path('{other}.ready').exists():
                        assert time.monotonic() < deadline, 'the other file never ran alongside'
                        time.sleep(0.005)
                    log = logging.getLogger('{tag}')
                    for i in range(40):
                        print('{tag}', i)
                        log.warning('{tag} %d', i)
                        time.sleep(0.002)
                    assert capsys.readouterr().out == ''.join(f'{tag} {{i}}\\n' for i in range(40))
                    assert caplog.messages == [f'{tag} {{i}}' for i in range(40)]
                "
            ),
        );
    }
    let (report, out) = p.run_json(args);
    assert_eq!(
        statuses(&report),
        [
            ("tests/test_one.py::test_own".into(), "passed".into()),
            ("tests/test_two.py::test_own".into(), "passed".into())
        ],
        "{report:#}"
    );
    assert_eq!(code(&out), Some(0));
}

#[test]
fn concurrent_files_keep_their_own_output_and_logs_in_a_worker() {
    concurrent_files_keep_their_own(&["-n", "1", "-j", "2"]);
}

#[test]
fn concurrent_files_keep_their_own_output_and_logs_in_process() {
    concurrent_files_keep_their_own(&["-n", "0", "-j", "2"]);
}

/// The unit tests of the built-ins also run under plain pytest (their stand-in for dbtest's
/// capture is only used there); tests/shim.rs runs them under dbtest.
#[test]
fn builtin_fixture_unit_tests_pass_under_plain_pytest() {
    let root = env!("CARGO_MANIFEST_DIR");
    let has_pytest = std::process::Command::new("python3")
        .args(["-c", "import pytest"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_pytest {
        eprintln!("note: python3 with pytest not found; skipping");
        return;
    }
    let out = std::process::Command::new("python3")
        .current_dir(root)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "python_shim/tests/test_builtin_fixtures.py",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
