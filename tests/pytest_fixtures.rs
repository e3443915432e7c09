//! End-to-end tests of pytest's fixture system run natively by dbtest: the fixture project
//! `tests/fixtures/pytest_fixtures` gives exactly its `EXPECTED.json` (pytest 9.2's own
//! statuses), in pytest's set-up/teardown order; `tests/fixtures/compat_fixtures` (a copy of
//! `../shared/compat-fixtures`) and `../shared/compat-fixtures` itself when present.
mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::*;
use serde_json::Value;

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Whether the Python dbtest embeds can import pytest (fixture definitions need it).
fn pytest_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        let ok = std::process::Command::new("python3")
            .args(["-c", "import pytest"])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("note: pytest is not importable (`python3 -m pip install pytest`); skipping");
        }
        ok
    })
}

fn expected(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Differences between a report and an expectation, id by id (ids `skip` selects are left
/// out on both sides).
fn differences(
    report: &Value,
    want: &BTreeMap<String, String>,
    skip: impl Fn(&str) -> bool,
) -> Vec<String> {
    let got: BTreeMap<String, String> = statuses(report).into_iter().collect();
    assert_eq!(ids(report).len(), got.len(), "an id is reported twice");
    let mut diffs = Vec::new();
    let all: std::collections::BTreeSet<&String> = want.keys().chain(got.keys()).collect();
    for id in all {
        if skip(id) {
            continue;
        }
        if want.get(id) != got.get(id) {
            let detail = tests_of(report)
                .iter()
                .find(|t| t["id"] == id.as_str())
                .map(|t| format!("{} {}", t["kind"], t["message"]))
                .unwrap_or_default();
            diffs.push(format!(
                "{id}: expected {:?}, got {:?} {detail}",
                want.get(id),
                got.get(id)
            ));
        }
    }
    diffs
}

/// The fixture project, run once in one worker (so session fixtures are shared by its files).
fn project_run() -> &'static (Value, Option<i32>, String, Vec<String>) {
    static RUN: OnceLock<(Value, Option<i32>, String, Vec<String>)> = OnceLock::new();
    RUN.get_or_init(|| {
        let p = fixture("pytest_fixtures");
        let (report, out) = p.run_json(&["-n", "1"]);
        let log = std::fs::read_to_string(p.path("order.log")).unwrap_or_default();
        let lines = log.lines().map(str::to_string).collect();
        (report, out.status.code(), stderr(&out), lines)
    })
}

#[test]
fn the_fixture_project_gives_pytests_own_statuses() {
    if !pytest_available() {
        return;
    }
    let (report, code, err, _) = project_run();
    let want = expected(&fixture_dir("pytest_fixtures").join("EXPECTED.json"));
    let diffs = differences(report, &want, |_| false);
    assert!(diffs.is_empty(), "{}\n{err}", diffs.join("\n"));
    assert_eq!(*code, Some(1), "{err}");
}

#[test]
fn set_up_and_teardown_follow_pytests_order_across_scopes() {
    if !pytest_available() {
        return;
    }
    // Written by pytest 9.2 running tests/test_order.py: higher scopes first, teardown in
    // reverse, a class fixture used outside a class lives for one test, a module fixture's
    // params grouped (pytest's reordering) and the old param torn down before the next.
    let want = [
        "mod setup",
        "class setup",
        "fn setup",
        "second setup",
        "test_a1",
        "second teardown",
        "fn teardown",
        "fn setup",
        "test_a2",
        "fn teardown",
        "class teardown",
        "mparam m1 setup",
        "test_p1 m1",
        "test_p2 m1",
        "mparam m1 teardown",
        "mparam m2 setup",
        "test_p1 m2",
        "test_p2 m2",
        "class setup",
        "fn setup",
        "test_failing",
        "fn teardown",
        "class teardown",
        "mparam m2 teardown",
        "mod teardown",
    ];
    assert_eq!(project_run().3, want);
    let order: Vec<String> = ids(&project_run().0)
        .into_iter()
        .filter(|i| i.contains("test_order.py::test_p"))
        .collect();
    assert_eq!(
        order,
        [
            "tests/test_order.py::test_p1[m1]",
            "tests/test_order.py::test_p2[m1]",
            "tests/test_order.py::test_p1[m2]",
            "tests/test_order.py::test_p2[m2]"
        ]
    );
}

fn problem(id: &str) -> (String, String, String) {
    let t = entry(&project_run().0, id);
    let s = |k: &str| t[k].as_str().unwrap_or_default().to_string();
    (s("kind"), s("message"), s("traceback"))
}

#[test]
fn fixture_errors_say_what_is_wrong() {
    if !pytest_available() {
        return;
    }
    let (kind, msg, _) = problem("tests/test_errors.py::test_missing");
    assert_eq!(kind, "fixture");
    assert!(
        msg.starts_with("fixture 'no_such_fixture' not found; available fixtures: "),
        "{msg}"
    );
    // The names this test can see, sorted: its module's, the conftests', the plugin's, and
    // the built-ins.
    let names: Vec<&str> = msg
        .split_once("available fixtures: ")
        .map(|(_, list)| list.split(", ").collect())
        .unwrap_or_default();
    let mut sorted_names = names.clone();
    sorted_names.sort_unstable();
    assert_eq!(names, sorted_names, "{msg}");
    for name in [
        "broken_setup",
        "cycle_a",
        "events",
        "from_plugin",
        "tmp_path",
        "request",
    ] {
        assert!(names.contains(&name), "{name} missing: {msg}");
    }
    assert!(!msg.contains("doubled"), "another module's fixture: {msg}");
    let (kind, msg, _) = problem("tests/test_errors.py::test_fixture_needs_missing");
    assert_eq!(kind, "fixture");
    assert!(
        msg.starts_with("fixture 'also_missing' not found (requested by fixture 'needs_missing')"),
        "{msg}"
    );
    let (kind, msg, tb) = problem("tests/test_errors.py::test_setup_raises");
    assert_eq!(kind, "setup");
    assert_eq!(
        msg,
        "fixture 'broken_setup' failed: ConnectionError: cannot reach service"
    );
    assert!(
        tb.contains("tests/conftest.py") && tb.contains("broken_setup"),
        "{tb}"
    );
    let (kind, msg, _) = problem("tests/test_errors.py::test_teardown_raises");
    assert_eq!(kind, "teardown");
    assert_eq!(
        msg,
        "teardown of fixture 'broken_teardown' failed: RuntimeError: teardown exploded"
    );
    let (_, _, tb) = problem("tests/test_errors.py::test_fails_and_teardown_raises");
    assert!(tb.contains("AssertionError"), "{tb}");
    assert!(tb.contains("teardown also failed:"), "{tb}");
    assert!(tb.contains("teardown exploded"), "{tb}");
    assert!(!tb.contains("_fixtures.py"), "dbtest's own frames: {tb}");
    let (kind, msg, _) = problem("tests/test_errors.py::test_scope_mismatch");
    assert_eq!(kind, "fixture");
    assert!(msg.starts_with("ScopeMismatch"), "{msg}");
    assert!(
        msg.contains("function scoped fixture 'function_scoped'")
            && msg.contains("fixture 'module_needs_function', scope module"),
        "{msg}"
    );
    let (kind, msg, _) = problem("tests/test_errors.py::test_cycle");
    assert_eq!(kind, "fixture");
    assert_eq!(
        msg,
        "recursive dependency involving fixture 'cycle_a' detected: cycle_a -> cycle_b -> cycle_a"
    );
    let (kind, msg, _) = problem("tests/test_async.py::test_plain_async_fixture_in_strict_mode");
    assert_eq!(kind, "fixture");
    assert!(msg.contains("@pytest_asyncio.fixture"), "{msg}");
}

#[test]
fn a_session_fixture_is_made_once_per_worker_in_process_mode_too() {
    if !pytest_available() {
        return;
    }
    let p = fixture("pytest_fixtures");
    let (report, _) = p.run_json(&["-n", "0", "tests/test_basics.py", "tests/pkg"]);
    for id in [
        "tests/test_basics.py::test_session_fixture_here",
        "tests/pkg/test_nested.py::test_session_fixture",
    ] {
        assert_eq!(entry(&report, id)["status"], "passed", "{id}");
    }
}

#[test]
fn a_conftest_that_fails_to_import_errors_the_files_under_it_and_names_it() {
    if !pytest_available() {
        return;
    }
    let p = Project::new();
    p.write(
        "tests/conftest.py",
        "
        import pytest

        @pytest.fixture
        def value():
            return 1
        ",
    )
    .write(
        "tests/broken/conftest.py",
        "
        raise RuntimeError('conftest exploded')
        ",
    )
    .write("tests/broken/test_a.py", "def test_a(value):\n    pass\n")
    .write("tests/broken/test_b.py", "def test_b():\n    pass\n")
    .write(
        "tests/test_ok.py",
        "def test_ok(value):\n    assert value == 1\n",
    );
    let (report, _) = p.run_json(&[]);
    assert_eq!(
        entry(&report, "tests/test_ok.py::test_ok")["status"],
        "passed"
    );
    for file in ["tests/broken/test_a.py", "tests/broken/test_b.py"] {
        let e = entry(&report, file);
        assert_eq!(e["status"], "error", "{e}");
        assert_eq!(e["kind"], "import", "{e}");
        let msg = e["message"].as_str().unwrap();
        assert!(
            msg.contains("tests/broken/conftest.py") && msg.contains("conftest exploded"),
            "{msg}"
        );
    }
}

#[test]
fn files_that_use_no_fixtures_do_not_need_pytest() {
    let p = Project::new();
    p.write(
        "tests/test_plain.py",
        "
        import sys

        def test_plain():
            assert 'pytest' not in sys.modules and '_pytest' not in sys.modules
        ",
    );
    let (report, _) = p.run_json(&[]);
    assert_eq!(
        statuses(&report),
        [("tests/test_plain.py::test_plain".into(), "passed".into())]
    );
}

#[test]
fn the_compat_fixtures_copy_gives_exactly_its_expected_statuses() {
    if !pytest_available() {
        return;
    }
    let dir = fixture_dir("compat_fixtures");
    let p = fixture("compat_fixtures");
    let (report, _) = p.run_json(&["tests"]);
    let diffs = differences(&report, &expected(&dir.join("EXPECTED.json")), |_| false);
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
    let (report, _) = p.run_json(&["builtins"]);
    let want = expected(&dir.join("EXPECTED_BUILTINS.json"));
    let diffs = differences(&report, &want, |_| false);
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn the_shared_compat_fixtures_corpus_gives_its_expected_statuses() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/compat-fixtures");
    if !shared.join("EXPECTED.json").is_file() {
        eprintln!(
            "note: {} is absent; tests/fixtures/compat_fixtures covers the same cases",
            shared.display()
        );
        return;
    }
    if !pytest_available() {
        return;
    }
    let p = Project::bare();
    copy_tree(&shared, p.root());
    let (report, _) = p.run_json(&[]);
    let diffs = differences(&report, &expected(&shared.join("EXPECTED.json")), |_| false);
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn a_session_fixture_teardown_error_is_its_own_entry_at_the_end() {
    if !pytest_available() {
        return;
    }
    let p = Project::new();
    p.write(
        "tests/conftest.py",
        "
        import pytest

        @pytest.fixture(scope='session')
        def res():
            yield 1
            raise RuntimeError('session teardown exploded')
        ",
    )
    .write("tests/test_a.py", "def test_a(res):\n    assert res == 1\n")
    .write("tests/test_b.py", "def test_b(res):\n    assert res == 1\n");
    // In-process mode, one worker, and two workers: each process that set the session
    // fixture up tears it down once its files are done (two processes: reported once).
    for mode in ["0", "1", "2"] {
        let (report, out) = p.run_json(&["-n", mode]);
        let e = entry(&report, "tests/conftest.py::res");
        assert_eq!(e["status"], "error", "-n {mode}: {e}");
        assert_eq!(e["kind"], "teardown", "-n {mode}: {e}");
        assert_eq!(
            e["message"],
            "teardown of session fixture 'res' failed: RuntimeError: session teardown exploded"
        );
        for id in ["tests/test_a.py::test_a", "tests/test_b.py::test_b"] {
            assert_eq!(entry(&report, id)["status"], "passed", "-n {mode}");
        }
        let all = ids(&report);
        let unique: std::collections::BTreeSet<&String> = all.iter().collect();
        assert_eq!(all.len(), unique.len(), "-n {mode}: {all:?}");
        assert_eq!(report["summary"]["total"], 3, "-n {mode}");
        assert_eq!(out.status.code(), Some(1), "-n {mode}");
    }
}

/// A session fixture's tear-down runs in a worker too (a server or container it started is
/// stopped), after the worker's last file.
#[test]
fn a_session_fixture_is_torn_down_by_each_worker() {
    if !pytest_available() {
        return;
    }
    let p = Project::new();
    let marks = p.path("marks");
    std::fs::create_dir_all(&marks).unwrap();
    p.write(
        "tests/conftest.py",
        "
        import os, pytest

        @pytest.fixture(scope='session')
        def server():
            yield 'up'
            open(os.path.join(os.environ['MARKS'], str(os.getpid())), 'w').close()
        ",
    )
    .write(
        "tests/test_a.py",
        "def test_a(server):\n    assert server == 'up'\n",
    )
    .write(
        "tests/test_b.py",
        "def test_b(server):\n    assert server == 'up'\n",
    );
    let out = p
        .cmd()
        .env("MARKS", &marks)
        .args(["-n", "2", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let torn_down = std::fs::read_dir(&marks).unwrap().count();
    // One per worker that ran a file (the two files may share a worker).
    assert!((1..=2).contains(&torn_down), "{torn_down} tear-downs");
}

#[test]
fn configure_sets_name_patterns_and_asyncio_mode_for_collection() {
    if !pytest_available() {
        return;
    }
    // pytest's ini values reach collection (through `_compat.configure`): name patterns, and
    // `asyncio_mode = auto` making a plain `@pytest.fixture` on `async def` awaited.
    let p = Project::new();
    p.write(
        "pytest.ini",
        "
        [pytest]
        python_classes = *Suite Check
        python_functions = check_
        asyncio_mode = auto
        ",
    )
    .write(
        "tests/conftest.py",
        "
        import pytest

        @pytest.fixture
        async def plain_async():
            return 7
        ",
    )
    .write(
        "tests/test_patterns.py",
        "
        class MySuite:
            def check_method(self):
                pass

            def test_not_a_check(self):
                pass

        class CheckThis:
            def check_too(self):
                pass

        class TestNotMatched:
            def check_never(self):
                pass

        def check_function(plain_async):
            assert plain_async == 7

        def test_not_collected():
            pass
        ",
    );
    let (report, _) = p.run_json(&["-n", "0"]);
    assert_eq!(
        sorted(ids(&report)),
        [
            "tests/test_patterns.py::CheckThis::check_too",
            "tests/test_patterns.py::MySuite::check_method",
            "tests/test_patterns.py::check_function",
        ]
    );
    assert_eq!(
        entry(&report, "tests/test_patterns.py::check_function")["status"],
        "passed"
    );
}

#[test]
fn built_in_fixtures_come_from_the_builtin_module_as_the_outermost_definitions() {
    if !pytest_available() {
        return;
    }
    // A stand-in for dbtest._builtin_fixtures (the agreed interface: FIXTURES maps names to
    // plain functions whose parameters are the fixtures they request, `_dbtest_scope` set),
    // put in place by the conftest before any test is collected.
    let p = Project::new();
    p.write(
        "tests/conftest.py",
        "
        import sys, types
        import pytest

        LOG = []

        def tmp_thing(request):
            LOG.append('set up for ' + request.node.name)
            yield 'thing'
            LOG.append('torn down')

        def once():
            LOG.append('once')
            return object()
        once._dbtest_scope = 'session'

        def overridden():
            return 'builtin'

        stub = types.ModuleType('dbtest._builtin_fixtures')
        stub.FIXTURES = {'tmp_thing': tmp_thing, 'once': once, 'overridden': overridden}
        sys.modules['dbtest._builtin_fixtures'] = stub

        @pytest.fixture
        def overridden(overridden):
            return overridden + '+user'
        ",
    )
    .write(
        "tests/test_builtins.py",
        "
        from conftest import LOG

        def test_a(tmp_thing, once, overridden):
            assert tmp_thing == 'thing' and overridden == 'builtin+user'

        def test_b(once):
            assert LOG == ['once', 'set up for test_a', 'torn down']  # widest scope first
        ",
    );
    let (report, _) = p.run_json(&["-n", "0"]);
    assert_eq!(
        statuses(&report),
        [
            ("tests/test_builtins.py::test_a".into(), "passed".into()),
            ("tests/test_builtins.py::test_b".into(), "passed".into())
        ],
        "{report}"
    );
}

#[test]
fn test_modules_get_the_names_pytest_gives_them() {
    // pytest's "prepend" import mode: a file outside a package is the module named by its
    // file name (its folder goes first on sys.path); a package below a folder that is not
    // one is named from that folder. `mock.patch("test_patch.helper")` then patches the
    // module the tests run in, and relative imports work.
    let p = Project::new();
    p.write("tests/nested/a/__init__.py", "")
        .write("tests/nested/a/helper.py", "VALUE = 3\n")
        .write(
            "tests/nested/a/test_rel.py",
            "
            from . import helper

            def test_rel():
                assert helper.VALUE == 3 and __name__ == 'a.test_rel'
            ",
        )
        .write(
            "tests/test_patch.py",
            "
            from unittest import mock

            def helper():
                return 1

            def test_name():
                assert __name__ == 'test_patch'

            def test_patch_by_module_name():
                with mock.patch('test_patch.helper', return_value=2):
                    assert helper() == 2
            ",
        )
        .write("tests/x/test_same.py", "def test_x():\n    pass\n")
        .write("tests/y/test_same.py", "def test_y():\n    pass\n");
    let (report, _) = p.run_json(&[]);
    for (id, status) in statuses(&report) {
        assert_eq!(status, "passed", "{id}: {report}");
    }
    assert_eq!(ids(&report).len(), 5);
}

#[test]
fn a_module_fixture_teardown_error_is_an_entry_after_the_files_tests() {
    if !pytest_available() {
        return;
    }
    let p = Project::new();
    p.write(
        "tests/test_mod.py",
        "
        import pytest

        @pytest.fixture(scope='module')
        def resource():
            yield 1
            raise RuntimeError('module teardown exploded')

        class TestIt:
            @pytest.fixture(scope='class')
            def per_class(self):
                yield 2
                raise ValueError('class teardown exploded')

            def test_in_class(self, per_class, resource):
                assert per_class == 2

        def test_a(resource):
            assert resource == 1
        ",
    );
    let (report, _) = p.run_json(&[]);
    assert_eq!(
        ids(&report),
        [
            "tests/test_mod.py::TestIt::test_in_class",
            "tests/test_mod.py::TestIt::per_class",
            "tests/test_mod.py::test_a",
            "tests/test_mod.py::resource",
        ]
    );
    let e = entry(&report, "tests/test_mod.py::resource");
    assert_eq!(
        (&e["status"], &e["kind"]),
        (&"error".into(), &"teardown".into())
    );
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("module teardown exploded"),
        "{e}"
    );
    let e = entry(&report, "tests/test_mod.py::TestIt::per_class");
    assert_eq!(
        (&e["status"], &e["kind"]),
        (&"error".into(), &"teardown".into())
    );
    assert_eq!(
        entry(&report, "tests/test_mod.py::test_a")["status"],
        "passed"
    );
}
