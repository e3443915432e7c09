//! End-to-end tests of reading pytest's project configuration (`pytest.ini`, `pyproject.toml`,
//! `tox.ini`, `setup.cfg`): the same files and names are collected as under pytest, dbtest's
//! own settings win, wrong types are errors naming the file and line; and of the static scan
//! of files whose tests use fixtures (`--list` without importing anything).
mod common;

use common::*;

/// The stdout lines of `dbtest --list ARGS` started in `rel` of `p`.
fn list_in(p: &Project, rel: &str, args: &[&str]) -> Vec<String> {
    let out = p.cmd_in(rel).arg("--list").args(args).output().unwrap();
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    stdout(&out).lines().map(String::from).collect()
}

fn list(p: &Project, args: &[&str]) -> Vec<String> {
    list_in(p, ".", args)
}

/// The stderr of `dbtest --list` in `p`, which must end as a usage error (exit 4).
fn usage_error(p: &Project) -> String {
    let out = p.cmd().arg("--list").output().unwrap();
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    stderr(&out)
}

#[test]
fn testpaths_are_searched_when_no_path_is_given_and_only_from_the_root() {
    let p = fixture("pytest_config/testpaths_files");
    let from_testpaths = strs(&[
        "checks/check_math.py::test_add",
        "checks/check_math.py::TestMath::test_mul",
    ]);
    assert_eq!(list(&p, &[]), from_testpaths, "tests/ is not searched");
    // A path on the command line replaces them.
    assert_eq!(
        list(&p, &["other"]),
        strs(&["other/check_other.py::test_other"])
    );
    // pytest uses testpaths only when started from the root folder.
    assert_eq!(
        list_in(&p, "tests", &[]),
        strs(&["tests/check_default_folder.py::test_outside_testpaths"])
    );
    // The run collects the same tests (and runs them).
    let (report, out) = p.run_json(&[]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(
        statuses(&report),
        from_testpaths
            .iter()
            .map(|id| (id.clone(), "passed".to_string()))
            .collect::<Vec<_>>()
    );
}

#[test]
fn python_files_name_the_test_files_and_conftest_is_never_one() {
    let p = fixture("pytest_config/testpaths_files");
    // checks/ also holds test_not_a_check.py and conftest.py, whose tests would fail.
    let (report, out) = p.run_json(&["checks"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(
        ids(&report),
        strs(&[
            "checks/check_math.py::test_add",
            "checks/check_math.py::TestMath::test_mul",
        ])
    );
    // Nothing named as python_files says: nothing to run, and the message says why.
    p.write("more/test_x.py", "def test_x():\n    pass\n");
    let out = p.cmd().arg("more").output().unwrap();
    assert_eq!(code(&out), Some(5));
    assert!(
        stderr(&out).contains("test files are check_*.py (pytest's python_files)"),
        "{}",
        stderr(&out)
    );
    // Named on the command line, a file runs whatever its name (as before).
    assert_eq!(
        list(&p, &["checks/test_not_a_check.py"]),
        strs(&["checks/test_not_a_check.py::test_never_collected"])
    );
}

const NAMED: &[&str] = &[
    "tests/test_names.py::check_add",
    "tests/test_names.py::adding_should_work",
    "tests/test_names.py::CheckNumbers::check_sub",
    "tests/test_names.py::NumberSpec::dividing_should_round_down",
    "tests/test_names.py::check_async_in_auto_mode",
];

#[test]
fn python_classes_and_functions_name_the_tests_listed() {
    // The same five ids as `pytest --collect-only -q` (pytest 9.2) gives for this project.
    let p = fixture("pytest_config/names");
    assert_eq!(list(&p, &[]), strs(NAMED));
}

#[test]
fn python_classes_and_functions_name_the_tests_that_run() {
    let p = fixture("pytest_config/names");
    for workers in ["0", "1"] {
        let (report, out) = p.run_json(&["-n", workers]);
        assert_eq!(code(&out), Some(0), "-n {workers}: {}", stderr(&out));
        let want: Vec<(String, String)> = NAMED
            .iter()
            .map(|id| (id.to_string(), "passed".to_string()))
            .collect();
        assert_eq!(statuses(&report), want, "-n {workers}");
    }
}

#[test]
fn dbtests_own_paths_win_over_testpaths() {
    let p = fixture("pytest_config/own_wins");
    assert_eq!(list(&p, &[]), strs(&["mine/test_mine.py::test_mine"]));
    assert_eq!(
        list(&p, &["theirs"]),
        strs(&["theirs/test_theirs.py::test_theirs"])
    );
    // Without dbtest's own `paths`, pytest's testpaths apply.
    p.write(
        "pyproject.toml",
        "
        [tool.pytest]
        testpaths = [\"theirs\"]
        ",
    );
    assert_eq!(list(&p, &[]), strs(&["theirs/test_theirs.py::test_theirs"]));
}

#[test]
fn a_wrong_type_is_a_usage_error_naming_the_file_and_line() {
    let p = Project::new();
    p.write("tests/test_a.py", "def test_a():\n    pass\n");
    p.write(
        "pyproject.toml",
        "
        [project]
        name = \"x\"

        [tool.pytest.ini_options]
        addopts = \"-ra\"
        python_files = 3
        ",
    );
    let err = usage_error(&p);
    assert!(
        err.contains("pyproject.toml:6: `python_files` in [tool.pytest.ini_options] takes a string or an array of strings, not integer"),
        "{err}"
    );
    // ini files: a value the key cannot take.
    p.write("pytest.ini", "[pytest]\n\nasyncio_mode = loose\n");
    let err = usage_error(&p);
    assert!(
        err.contains("pytest.ini:3: `asyncio_mode` is `strict` or `auto`, not `loose`"),
        "{err}"
    );
    // Keys that are pytest's business alone are never an error.
    p.write(
        "pytest.ini",
        "[pytest]\naddopts = -x\nfilterwarnings =\n    error\nmarkers =\n    slow: slow\n",
    );
    assert_eq!(list(&p, &[]), strs(&["tests/test_a.py::test_a"]));
}

#[test]
fn addopts_selection_applies_unless_the_command_line_gives_its_own() {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        "import pytest\n\ndef test_fast():\n    pass\n\n@pytest.mark.slow\ndef test_slow():\n    pass\n\ndef test_other():\n    pass\n",
    );
    p.write(
        "pyproject.toml",
        "[tool.pytest.ini_options]\naddopts = \"-ra -m 'not slow' -k 'not other'\"\nmarkers = [\"slow: slow ones\"]\n",
    );
    // pytest reads addopts as options given before the command line's: its -m and -k select.
    assert_eq!(list(&p, &[]), strs(&["tests/test_a.py::test_fast"]));
    // The command line's own -m or -k replaces addopts' (the other still applies).
    assert_eq!(
        list(&p, &["-m", "slow"]),
        strs(&["tests/test_a.py::test_slow"])
    );
    assert_eq!(
        list(&p, &["-k", "other"]),
        strs(&["tests/test_a.py::test_other"])
    );
    // The last of each in addopts counts, attached values included (`-mslow`).
    p.write("pytest.ini", "[pytest]\naddopts = -m fast -mslow\n");
    assert_eq!(list(&p, &[]), strs(&["tests/test_a.py::test_slow"]));
    // An expression dbtest cannot read is a usage error naming the file and line of addopts;
    // the command line's -m replaces it.
    p.write("pytest.ini", "[pytest]\n\naddopts = -m 'slow and'\n");
    let err = usage_error(&p);
    assert!(
        err.contains("pytest.ini:3: `slow and` in `addopts` is not an expression dbtest can read"),
        "{err}"
    );
    assert_eq!(
        list(&p, &["-m", "slow"]),
        strs(&["tests/test_a.py::test_slow"])
    );
}

#[test]
fn setup_cfg_and_tox_ini_are_read_in_pytests_order() {
    let p = Project::new();
    p.write("tests/check_a.py", "def test_a():\n    pass\n");
    p.write("tests/spec_b.py", "def test_b():\n    pass\n");
    p.write("setup.cfg", "[tool:pytest]\npython_files = check_*.py\n");
    assert_eq!(list(&p, &[]), strs(&["tests/check_a.py::test_a"]));
    // tox.ini comes before setup.cfg.
    p.write(
        "tox.ini",
        "[tox]\nenvlist = py311\n\n[pytest]\npython_files = spec_*.py\n",
    );
    assert_eq!(list(&p, &[]), strs(&["tests/spec_b.py::test_b"]));
}

#[test]
fn a_parametrized_fixture_in_a_parent_conftest_makes_a_file_known_only_on_import() {
    let p = fixture("pytest_config/fixtures");
    let listed = list(&p, &["tests/sub"]);
    assert!(
        listed.contains(&"tests/sub/test_param.py (tests known only on import: test_double uses parametrized fixture 'number' at tests/conftest.py:4)".to_string()),
        "{listed:#?}"
    );
    assert!(
        !listed.iter().any(|l| l.contains("test_param.py::")),
        "{listed:#?}"
    );
    // A fixture imported into a conftest.py: the scan cannot see whether it is parametrized.
    let listed = list(&p, &["tests/hidden"]);
    assert_eq!(
        listed,
        strs(&[
            "tests/hidden/test_builtin_only.py::test_tmp",
            "tests/hidden/test_hidden.py (tests known only on import: test_db uses fixture 'db', imported into tests/hidden/conftest.py where the scan cannot see it)",
        ])
    );
}

#[test]
fn a_file_requesting_only_plain_fixtures_is_listed_normally() {
    // The ids `pytest --collect-only` gives for this file (pytest 9.2).
    let p = fixture("pytest_config/fixtures");
    assert_eq!(
        list(&p, &["tests/sub/test_plain.py"]),
        strs(&[
            "tests/sub/test_plain.py::test_uses_plain",
            "tests/sub/test_plain.py::test_number_given_literally[10]",
            "tests/sub/test_plain.py::test_number_given_literally[20]",
            "tests/sub/test_plain.py::TestPlain::test_local",
        ])
    );
    // The same file with an autouse parametrized fixture in its conftest.py is not.
    p.write(
        "tests/sub/conftest.py",
        "
        import pytest

        @pytest.fixture(autouse=True, params=[\"sqlite\", \"postgres\"])
        def backend(request):
            return request.param
        ",
    );
    let listed = list(&p, &["tests/sub/test_plain.py"]);
    assert_eq!(
        listed,
        strs(&[
            "tests/sub/test_plain.py (tests known only on import: test_uses_plain uses parametrized fixture 'backend' at tests/sub/conftest.py:3)"
        ])
    );
}

#[test]
fn a_run_reports_the_ids_pytest_collects_for_files_with_fixtures() {
    // `pytest --collect-only -q tests/sub` (pytest 9.2) lists these eight; all pass under it.
    let p = fixture("pytest_config/fixtures");
    let want = [
        "tests/sub/test_param.py::test_plain_only",
        "tests/sub/test_param.py::test_double[1]",
        "tests/sub/test_param.py::test_double[2]",
        "tests/sub/test_param.py::test_double[3]",
        "tests/sub/test_plain.py::test_uses_plain",
        "tests/sub/test_plain.py::test_number_given_literally[10]",
        "tests/sub/test_plain.py::test_number_given_literally[20]",
        "tests/sub/test_plain.py::TestPlain::test_local",
    ];
    for workers in ["0", "2"] {
        let (report, out) = p.run_json(&["tests/sub", "-n", workers]);
        assert_eq!(code(&out), Some(0), "-n {workers}: {}", stderr(&out));
        let got = statuses(&report);
        let want: Vec<(String, String)> = want
            .iter()
            .map(|id| (id.to_string(), "passed".to_string()))
            .collect();
        assert_eq!(got, want, "-n {workers}");
    }
}
