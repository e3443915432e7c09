//! End-to-end tests of the command line: options, modes, filters, exit codes, virtualenvs,
//! the Python API as the binary runs it, concurrency and the report formats.
mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::json;

fn code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

/// A fixture copied from `tests/fixtures/NAME` into a temporary folder.
fn fixture(name: &str) -> Project {
    let p = Project::bare();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
        p.root(),
    );
    p
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A test file whose import writes `marker` (in the working directory, the project root), then
/// runs `body`: if the file is ever imported, the marker shows it.
fn tripwire(marker: &str, body: &str) -> String {
    format!(
        "from dbtest import test\n\
         open({marker:?}, 'w').write('imported')\n\
         {body}",
        body = dedent(body)
    )
}

// ---------------------------------------------------------------------------------------------
// Version, usage errors, empty runs

#[test]
fn version_names_dbtest_and_the_embedded_python() {
    for flag in ["--version", "-V"] {
        let out = dbtest().arg(flag).output().unwrap();
        assert_eq!(code(&out), Some(0));
        let text = stdout(&out);
        let want_prefix = format!("dbtest {} (Python 3.11.", env!("CARGO_PKG_VERSION"));
        assert!(text.starts_with(&want_prefix), "{text:?}");
        let patch = text
            .strip_prefix(&want_prefix)
            .and_then(|r| r.strip_suffix(")\n"))
            .unwrap_or_else(|| panic!("{text:?}"));
        assert!(
            !patch.is_empty() && patch.chars().all(|c| c.is_ascii_digit()),
            "{text:?}"
        );
    }
}

#[test]
fn usage_errors_exit_4_and_say_what_is_wrong() {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        "from dbtest import test\n@test\ndef ok(): pass\n",
    );
    let out = p.cmd().arg("--no-such-option").output().unwrap();
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--no-such-option"),
        "{}",
        stderr(&out)
    );

    let out = p.cmd().arg("no_such_dir/deeper").output().unwrap();
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no_such_dir/deeper"),
        "{}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty(), "{}", stdout(&out));

    for args in [
        &["-k", "[unclosed"][..],
        &["-j", "0"][..],
        &["--format", "xml"][..],
        &["--color", "sometimes"][..],
    ] {
        let out = p.cmd().args(args).output().unwrap();
        assert_eq!(code(&out), Some(4), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).trim().is_empty(), "{args:?}: no message");
    }
}

#[test]
fn an_unwritable_output_file_is_a_usage_error() {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        "from dbtest import test\n@test\ndef ok(): pass\n",
    );
    let out = p
        .cmd()
        .args(["--format", "json", "-o", "missing_folder/report.json"])
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("missing_folder/report.json"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_empty_project_collects_nothing_and_exits_5() {
    let p = Project::new();
    p.write("tests/helpers.py", "X = 1\n");
    let out = p.cmd().output().unwrap();
    assert_eq!(code(&out), Some(5), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no tests collected"),
        "{}",
        stderr(&out)
    );

    let (report, out) = p.run_json(&[]);
    assert_eq!(code(&out), Some(5));
    assert_eq!(report["schema_version"], 2);
    assert_eq!(report["summary"]["total"], 0);
    assert_eq!(report["tests"], json!([]));

    let out = p.cmd().args(["--list"]).output().unwrap();
    assert_eq!(code(&out), Some(5), "--list with nothing to list");
}

#[test]
fn filters_that_select_nothing_exit_5() {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        "from dbtest import test\n@test\ndef ok(): pass\n",
    );
    let (report, out) = p.run_json(&["-k", "nothing_matches_this"]);
    assert_eq!(code(&out), Some(5), "{}", stderr(&out));
    assert_eq!(report["summary"]["total"], 0);
}

// ---------------------------------------------------------------------------------------------
// --list

#[test]
fn list_prints_ids_without_importing_anything() {
    let p = Project::new();
    p.write(
        "tests/test_side_effects.py",
        &tripwire(
            "imported.marker",
            r#"
            raise SystemExit("importing this file ends the interpreter")

            @test
            def module_level():
                pass
            "#,
        ),
    );
    p.write(
        "tests/test_suite.py",
        r#"
        from dbtest import TestSuite, test

        class Things(TestSuite):
            @test(tags=["fast"])
            def one(self):
                pass

            @test(skip="later")
            async def two(self):
                pass
        "#,
    );
    let out = p.cmd().arg("--list").output().unwrap();
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "tests/test_side_effects.py::module_level\n\
         tests/test_suite.py::Things::one\n\
         tests/test_suite.py::Things::two (skip)\n"
    );
    assert!(
        stderr(&out).contains("3 tests in 2 files"),
        "{}",
        stderr(&out)
    );
    assert!(!p.exists("imported.marker"), "--list imported a test file");

    // Filters apply to the listing too.
    let out = p.cmd().args(["--list", "--tags", "fast"]).output().unwrap();
    assert_eq!(stdout(&out), "tests/test_suite.py::Things::one\n");
    assert!(!p.exists("imported.marker"));
}

#[test]
fn list_snapshot_of_the_report_demo() {
    let p = fixture("report_demo");
    let out = p.cmd().arg("--list").output().unwrap();
    assert_eq!(code(&out), Some(0));
    let text = format!("--- stdout\n{}--- stderr\n{}", stdout(&out), stderr(&out));
    snapshot_settings(p.root()).bind(|| insta::assert_snapshot!("list_report_demo", text));
}

// ---------------------------------------------------------------------------------------------
// Selection: -k, --tags, modes, and files left out never imported

fn selection_project() -> Project {
    let p = Project::new();
    p.write(
        "tests/test_math.py",
        r#"
        from dbtest import TestSuite, test

        TAGS = ["fast"]

        class Arithmetic(TestSuite):
            @test(tags=["fast"])
            def adds(self):
                pass

            @test(tags=["slow"])
            def multiplies(self):
                pass

            @test(tags=["fast", "db"])
            def divides(self):
                pass

            @test
            def subtracts(self):
                pass

        @test(tags=TAGS)
        def dynamic_tags():
            pass
        "#,
    );
    p.write(
        "tests/sub/test_text.py",
        r#"
        from dbtest import test

        @test
        def upper():
            pass

        @test(tags=["integration"])
        def talks_to_the_network():
            pass
        "#,
    );
    p.write(
        "tests/integration/test_db.py",
        r#"
        from dbtest import test

        @test
        def connects():
            pass
        "#,
    );
    p.write(
        "tests/test_integration_by_name_only.py",
        r#"
        from dbtest import test

        @test
        def still_a_unit_test():
            pass
        "#,
    );
    p
}

fn selected(p: &Project, args: &[&str]) -> Vec<String> {
    let (report, out) = p.run_json(args);
    assert!(
        matches!(code(&out), Some(0) | Some(5)),
        "{args:?}: exit {:?}\n{}",
        code(&out),
        stderr(&out)
    );
    for t in tests_of(&report) {
        assert_eq!(t["status"], "passed", "{args:?}: {t}");
    }
    sorted(ids(&report))
}

const M: &str = "tests/test_math.py::";

#[test]
fn pattern_as_substring_matches_ids_and_paths() {
    let p = selection_project();
    assert_eq!(
        selected(&p, &["-k", "divides"]),
        strs(&["tests/test_math.py::Arithmetic::divides"])
    );
    // A substring of the file path selects the whole file.
    assert_eq!(
        selected(&p, &["-k", "sub/test_te"]),
        strs(&[
            "tests/sub/test_text.py::talks_to_the_network",
            "tests/sub/test_text.py::upper"
        ])
    );
    assert_eq!(
        selected(&p, &["-k", "Arithmetic::"]),
        sorted(strs(&[
            &format!("{M}Arithmetic::adds"),
            &format!("{M}Arithmetic::divides"),
            &format!("{M}Arithmetic::multiplies"),
            &format!("{M}Arithmetic::subtracts"),
        ]))
    );
}

#[test]
fn pattern_as_glob_matches_ids_and_paths() {
    let p = selection_project();
    assert_eq!(
        selected(&p, &["-k", "tests/sub/*"]),
        strs(&[
            "tests/sub/test_text.py::talks_to_the_network",
            "tests/sub/test_text.py::upper"
        ])
    );
    assert_eq!(
        selected(&p, &["-k", "*::Arithmetic::*s"]),
        sorted(strs(&[
            &format!("{M}Arithmetic::adds"),
            &format!("{M}Arithmetic::divides"),
            &format!("{M}Arithmetic::multiplies"),
            &format!("{M}Arithmetic::subtracts"),
        ]))
    );
    assert_eq!(
        selected(&p, &["-k", "*::[ad]*"]),
        sorted(strs(&[
            &format!("{M}Arithmetic::adds"),
            &format!("{M}Arithmetic::divides"),
            &format!("{M}dynamic_tags"),
        ]))
    );
}

#[test]
fn tags_and_exclude_tags() {
    let p = selection_project();
    assert_eq!(
        selected(&p, &["--tags", "fast"]),
        sorted(strs(&[
            &format!("{M}Arithmetic::adds"),
            &format!("{M}Arithmetic::divides"),
            // Tags given by a variable are read after import.
            &format!("{M}dynamic_tags"),
        ]))
    );
    assert_eq!(
        selected(&p, &["--tags", "db,slow"]),
        sorted(strs(&[
            &format!("{M}Arithmetic::divides"),
            &format!("{M}Arithmetic::multiplies"),
        ]))
    );
    assert_eq!(
        selected(&p, &["--tags", "fast", "--exclude-tags", "db"]),
        sorted(strs(&[
            &format!("{M}Arithmetic::adds"),
            &format!("{M}dynamic_tags"),
        ]))
    );
    let rest = selected(&p, &["tests/test_math.py", "--exclude-tags", "slow,fast"]);
    assert_eq!(rest, strs(&[&format!("{M}Arithmetic::subtracts")]));
}

#[test]
fn unit_and_integration_modes() {
    let p = selection_project();
    let all = selected(&p, &[]);
    assert_eq!(all.len(), 9, "{all:#?}");
    let unit = selected(&p, &["unit"]);
    assert_eq!(
        unit,
        sorted(strs(&[
            &format!("{M}Arithmetic::adds"),
            &format!("{M}Arithmetic::divides"),
            &format!("{M}Arithmetic::multiplies"),
            &format!("{M}Arithmetic::subtracts"),
            &format!("{M}dynamic_tags"),
            "tests/sub/test_text.py::upper",
            "tests/test_integration_by_name_only.py::still_a_unit_test",
        ]))
    );
    let integration = selected(&p, &["integration"]);
    assert_eq!(
        integration,
        strs(&[
            "tests/integration/test_db.py::connects",
            "tests/sub/test_text.py::talks_to_the_network",
        ])
    );
    // A mode takes paths after it, and combines with other options.
    assert_eq!(
        selected(&p, &["integration", "tests/sub"]),
        strs(&["tests/sub/test_text.py::talks_to_the_network"])
    );
    assert_eq!(
        selected(&p, &["unit", "-k", "upper"]),
        strs(&["tests/sub/test_text.py::upper"])
    );
}

#[test]
fn files_left_out_by_filters_are_never_imported() {
    let p = Project::new();
    p.write(
        "tests/test_alpha.py",
        "from dbtest import test\n\n@test(tags=['fast'])\ndef runs():\n    pass\n",
    );
    p.write(
        "tests/test_beta.py",
        &tripwire(
            "beta.marker",
            "@test(tags=['slow'])\ndef tagged_slow():\n    pass\n",
        ),
    );
    p.write(
        "tests/integration/test_gamma.py",
        &tripwire(
            "gamma.marker",
            "@test\ndef in_integration_folder():\n    pass\n",
        ),
    );
    for args in [
        &["-k", "alpha"][..],
        &["-k", "tests/test_a*"][..],
        &["--tags", "fast"][..],
        &[
            "--exclude-tags",
            "slow",
            "tests/test_alpha.py",
            "tests/test_beta.py",
        ][..],
    ] {
        let (report, out) = p.run_json(args);
        assert_eq!(code(&out), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(
            ids(&report),
            strs(&["tests/test_alpha.py::runs"]),
            "{args:?}"
        );
        assert!(!p.exists("beta.marker"), "{args:?} imported test_beta.py");
        assert!(!p.exists("gamma.marker"), "{args:?} imported test_gamma.py");
    }
    let (_, out) = p.run_json(&["unit", "tests/test_alpha.py", "tests/integration"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert!(
        !p.exists("gamma.marker"),
        "unit mode imported an integration folder"
    );

    // The tripwires do work: a run that selects them imports them.
    let (report, _) = p.run_json(&["-k", "beta"]);
    assert!(p.exists("beta.marker"));
    assert_eq!(ids(&report), strs(&["tests/test_beta.py::tagged_slow"]));
}

/// `bench` runs benchmarks only: test files are neither imported nor run. (Benchmarks are
/// being implemented: with no benchmark group in the file, 0 or 5 are both fair exits.)
#[test]
fn bench_mode_never_imports_test_files() {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        &tripwire("test.marker", "@test\ndef t():\n    pass\n"),
    );
    p.write("tests/bench_speed.py", "def nothing():\n    pass\n");
    let out = p.cmd().arg("bench").output().unwrap();
    assert!(
        matches!(code(&out), Some(0) | Some(5)),
        "exit {:?}: {}",
        code(&out),
        stderr(&out)
    );
    assert!(!p.exists("test.marker"), "bench mode imported a test file");
    assert!(
        !stdout(&out).contains("test_a.py"),
        "bench mode reported a test: {}",
        stdout(&out)
    );
}

// ---------------------------------------------------------------------------------------------
// Running: fail-fast, working directory, hooks, async, module-level tests, expect, output

#[test]
fn fail_fast_stops_after_the_first_failure() {
    let p = Project::new();
    p.write(
        "tests/test_1_first.py",
        r#"
        from dbtest import test

        @test
        def a_passes():
            pass

        @test
        def b_fails():
            assert 1 == 2, "first failure"

        @test
        def c_after():
            open("c_after.marker", "w").write("ran")
        "#,
    );
    p.write(
        "tests/test_2_second.py",
        r#"
        from dbtest import test

        @test
        def d_later_file():
            open("d_later.marker", "w").write("ran")
        "#,
    );
    let (report, out) = p.run_json(&["-x", "-j", "1"]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    assert_eq!(
        statuses(&report),
        vec![
            ("tests/test_1_first.py::a_passes".into(), "passed".into()),
            ("tests/test_1_first.py::b_fails".into(), "failed".into()),
        ]
    );
    assert_eq!(report["stopped_early"], true);
    assert!(!p.exists("c_after.marker"), "a test ran after the failure");
    assert!(
        !p.exists("d_later.marker"),
        "a later file ran after the failure"
    );

    // Without -x every test runs.
    let (report, out) = p.run_json(&["-j", "1"]);
    assert_eq!(code(&out), Some(1));
    assert_eq!(report["stopped_early"], false);
    assert_eq!(report["summary"]["total"], 4);
    assert!(p.exists("c_after.marker") && p.exists("d_later.marker"));
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

#[test]
fn hooks_run_in_order_around_each_test_sync_and_async() {
    let p = Project::new();
    p.write(
        "tests/test_hooks.py",
        r#"
        import asyncio
        from dbtest import TestSuite, test

        def log(line):
            with open("hooks.log", "a") as f:
                f.write(line + "\n")

        class Sync(TestSuite):
            def setup_suite(self):
                log("setup_suite")
                self.shared = []

            def teardown_suite(self):
                log("teardown_suite")

            def setup(self):
                log("setup")

            def teardown(self):
                log("teardown")

            @test
            def t1(self):
                log("t1")
                self.shared.append(1)

            @test
            def t2(self):
                log("t2")
                assert False, "t2 fails"

            @test
            def t3(self):
                log("t3")
                assert self.shared == [1], "one instance runs the suite's tests"

        class Async(TestSuite):
            async def setup_suite(self):
                await asyncio.sleep(0.01)
                log("async setup_suite")
                self.value = 41

            async def teardown_suite(self):
                await asyncio.sleep(0)
                log("async teardown_suite")

            async def setup(self):
                await asyncio.sleep(0)
                log("async setup")
                self.value += 1

            async def teardown(self):
                await asyncio.sleep(0)
                log("async teardown")

            @test
            async def awaits(self):
                await asyncio.sleep(0.01)
                log("async test")
                assert self.value == 42

            @test
            def sync_in_async_suite(self):
                log("sync test")
                assert self.value == 43

        class SetupFails(TestSuite):
            def setup(self):
                raise RuntimeError("no fixture")

            def teardown(self):
                log("teardown after failed setup")

            @test
            def never_runs(self):
                log("body after failed setup")

        class TeardownSuiteFails(TestSuite):
            def teardown_suite(self):
                raise OSError("cannot disconnect")

            @test
            def passes(self):
                pass

        class BothFail(TestSuite):
            def teardown(self):
                raise KeyError("teardown broke too")

            @test
            def fails(self):
                assert 1 == 0, "the test's own failure"
        "#,
    );
    let (report, out) = p.run_json(&[]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let log = std::fs::read_to_string(p.path("hooks.log")).expect("hooks.log written");
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        vec![
            "setup_suite",
            "setup",
            "t1",
            "teardown",
            "setup",
            "t2",
            "teardown",
            "setup",
            "t3",
            "teardown",
            "teardown_suite",
            "async setup_suite",
            "async setup",
            "async test",
            "async teardown",
            "async setup",
            "sync test",
            "async teardown",
            "async teardown_suite",
        ]
    );
    let f = "tests/test_hooks.py::";
    assert_eq!(
        statuses(&report),
        vec![
            (format!("{f}Sync::t1"), "passed".into()),
            (format!("{f}Sync::t2"), "failed".into()),
            (format!("{f}Sync::t3"), "passed".into()),
            (format!("{f}Async::awaits"), "passed".into()),
            (format!("{f}Async::sync_in_async_suite"), "passed".into()),
            (format!("{f}SetupFails::never_runs"), "error".into()),
            (format!("{f}TeardownSuiteFails::passes"), "passed".into()),
            (
                format!("{f}TeardownSuiteFails::teardown_suite"),
                "error".into()
            ),
            (format!("{f}BothFail::fails"), "failed".into()),
        ]
    );
    // A teardown failing after the test failed is not lost behind the test's failure.
    let both = entry(&report, &format!("{f}BothFail::fails"));
    assert_eq!(both["message"], "the test's own failure");
    let tb = both["traceback"].as_str().unwrap();
    assert!(tb.contains("teardown broke too"), "{tb}");
    let setup = entry(&report, &format!("{f}SetupFails::never_runs"));
    assert_eq!(setup["kind"], "setup");
    assert!(setup["message"].as_str().unwrap().contains("no fixture"));
    let td = entry(&report, &format!("{f}TeardownSuiteFails::teardown_suite"));
    assert_eq!(td["kind"], "teardown");
    assert!(
        td["message"]
            .as_str()
            .unwrap()
            .contains("cannot disconnect")
    );
}

#[test]
fn module_level_and_async_tests() {
    let p = Project::new();
    p.write(
        "tests/test_module.py",
        r#"
        import asyncio
        from dbtest import test

        @test
        def bare():
            assert True

        @test(tags=["a", "b"])
        async def awaited():
            await asyncio.sleep(0.01)
            assert asyncio.get_running_loop() is not None

        @test
        async def fails_after_await():
            await asyncio.sleep(0)
            assert 2 + 2 == 5, "async failure"

        def not_a_test():
            raise RuntimeError("undecorated functions are not collected")
        "#,
    );
    let (report, out) = p.run_json(&[]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    assert_eq!(
        statuses(&report),
        vec![
            ("tests/test_module.py::bare".into(), "passed".into()),
            ("tests/test_module.py::awaited".into(), "passed".into()),
            (
                "tests/test_module.py::fails_after_await".into(),
                "failed".into()
            ),
        ]
    );
    let t = entry(&report, "tests/test_module.py::awaited");
    assert!(t["suite"].is_null());
    assert_eq!(t["name"], "awaited");
    assert_eq!(t["tags"], json!(["a", "b"]));
    assert_eq!(t["line"], 8, "the line of the test's first decorator");
    assert_eq!(
        entry(&report, "tests/test_module.py::fails_after_await")["message"],
        "async failure"
    );
}

#[test]
fn expect_matchers_fail_with_a_message() {
    let p = Project::new();
    p.write(
        "tests/test_expect.py",
        r#"
        from dbtest import expect, test

        @test
        def passing_matchers():
            expect(1).to_equal(1)
            expect([1, 2]).to_contain(2)
            expect("abc").to_have_length(3)
            expect(None).to_be_none()
            expect(3).to_be_greater_than(2)
            expect(lambda: int("x")).to_raise(ValueError, match="invalid literal")

        @test
        def to_equal_fails():
            expect(1).to_equal(2)

        @test
        def to_contain_fails():
            expect([1, 2]).to_contain(3)

        @test
        def to_raise_fails():
            expect(lambda: None).to_raise(KeyError)

        @test
        def to_have_length_fails():
            expect("abc").to_have_length(5)
        "#,
    );
    let (report, out) = p.run_json(&[]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let f = "tests/test_expect.py::";
    assert_eq!(
        entry(&report, &format!("{f}passing_matchers"))["status"],
        "passed"
    );
    for (name, message) in [
        ("to_equal_fails", "expected 1 to equal 2"),
        ("to_contain_fails", "expected [1, 2] to contain 3"),
        (
            "to_raise_fails",
            "expected KeyError to be raised, nothing was raised",
        ),
        ("to_have_length_fails", "expected 'abc' to have length 5"),
    ] {
        let t = entry(&report, &format!("{f}{name}"));
        assert_eq!(t["status"], "failed", "{t}");
        assert!(t["kind"].is_null());
        let m = t["message"].as_str().unwrap_or("");
        assert!(m.contains(message), "{name}: message {m:?}");
        let tb = t["traceback"].as_str().unwrap_or("");
        assert!(tb.contains(&format!("in {name}")), "{name}: {tb}");
        assert!(
            !tb.contains("dbtest/__init__.py"),
            "{name}: the shim's frames show: {tb}"
        );
    }
}

#[test]
fn output_is_captured_per_test() {
    let p = Project::new();
    p.write(
        "tests/test_out.py",
        r#"
        import sys
        from dbtest import test

        @test
        def one_fails():
            print("out from one")
            print("err from one", file=sys.stderr)
            assert False, "one"

        @test
        def two_fails():
            sys.stdout.write("out from two\n")
            raise ValueError("two")

        @test
        def three_passes():
            print("PASSING_OUTPUT_IS_NOT_SHOWN")

        @test
        def four_replaces_stdout():
            import io
            sys.stdout = io.StringIO()

        @test
        def five_prints_after_replacement():
            print("five still captured")
            assert False
        "#,
    );
    p.write(
        "tests/test_other_file.py",
        r#"
        import asyncio
        from dbtest import test

        @test
        async def concurrent_printer():
            for i in range(20):
                print(f"other {i}")
                await asyncio.sleep(0.001)
            assert False, "other"
        "#,
    );
    let (report, out) = p.run_json(&[]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let f = "tests/test_out.py::";
    let one = entry(&report, &format!("{f}one_fails"));
    assert_eq!(one["stdout"], "out from one\n");
    assert_eq!(one["stderr"], "err from one\n");
    let two = entry(&report, &format!("{f}two_fails"));
    assert_eq!(two["status"], "error");
    assert_eq!(two["stdout"], "out from two\n");
    assert_eq!(two["stderr"], "");
    let three = entry(&report, &format!("{f}three_passes"));
    assert!(three["stdout"].is_null(), "{three}");
    assert_eq!(
        entry(&report, &format!("{f}four_replaces_stdout"))["status"],
        "passed"
    );
    assert_eq!(
        entry(&report, &format!("{f}five_prints_after_replacement"))["stdout"],
        "five still captured\n"
    );
    let other = entry(&report, "tests/test_other_file.py::concurrent_printer");
    let want: String = (0..20).map(|i| format!("other {i}\n")).collect();
    assert_eq!(other["stdout"], want.as_str());

    // The console report shows failing tests' output, never passing tests'.
    let out = p.cmd().args(["--color", "never"]).output().unwrap();
    let console = stdout(&out);
    assert!(console.contains("out from one"), "{console}");
    assert!(
        !console.contains("PASSING_OUTPUT_IS_NOT_SHOWN"),
        "{console}"
    );
    assert!(!stderr(&out).contains("PASSING_OUTPUT_IS_NOT_SHOWN"));
}

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
fn report_order_is_by_file_then_declaration_whatever_finishes_first() {
    let p = Project::new();
    p.write(
        "tests/test_a_slow.py",
        r#"
        import time
        from dbtest import TestSuite, test

        @test
        def z_module_first():
            time.sleep(0.3)

        class Middle(TestSuite):
            @test
            def y_second(self):
                pass

            @test
            def a_third(self):
                pass

        @test
        def b_module_last():
            pass
        "#,
    );
    p.write(
        "tests/test_b_fast.py",
        "from dbtest import test\n\n@test\ndef instant():\n    pass\n",
    );
    let (report, out) = p.run_json(&["-j", "4"]);
    assert_eq!(code(&out), Some(0), "{report:#}");
    assert_eq!(
        ids(&report),
        strs(&[
            "tests/test_a_slow.py::z_module_first",
            "tests/test_a_slow.py::Middle::y_second",
            "tests/test_a_slow.py::Middle::a_third",
            "tests/test_a_slow.py::b_module_last",
            "tests/test_b_fast.py::instant",
        ])
    );
}

#[test]
fn discovery_follows_the_naming_rules_and_skips_what_it_should() {
    let p = Project::new();
    let t = "from dbtest import test\n\n@test\ndef found():\n    pass\n";
    for f in [
        "tests/test_prefix.py",
        "tests/deep/er/suffix_test.py",
        "tests/.hidden/test_hidden.py",
        "tests/__pycache__/test_cached.py",
        "tests/node_modules/test_vendored.py",
        "tests/build/test_built.py",
        "tests/some_venv/test_in_venv.py",
        "tests/helpers.py",
        "tests/named_explicitly.py",
    ] {
        p.write(f, t);
    }
    std::fs::write(p.path("tests/some_venv/pyvenv.cfg"), "version = 3.11.7\n").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(p.path("tests"), p.path("tests/deep/loop")).unwrap();
    let (report, out) = p.run_json(&[]);
    assert_eq!(code(&out), Some(0), "{report:#}");
    assert_eq!(
        ids(&report),
        strs(&[
            "tests/deep/er/suffix_test.py::found",
            "tests/test_prefix.py::found",
        ])
    );
    // A file named on the command line runs whatever its name; a file given twice runs once.
    let (report, out) = p.run_json(&["tests/named_explicitly.py", "tests/test_prefix.py", "tests"]);
    assert_eq!(code(&out), Some(0), "{report:#}");
    assert_eq!(
        sorted(ids(&report)),
        strs(&[
            "tests/deep/er/suffix_test.py::found",
            "tests/named_explicitly.py::found",
            "tests/test_prefix.py::found",
        ])
    );
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
fn direct_writes_to_fd_1_do_not_corrupt_the_json_report() {
    let p = Project::new();
    p.write(
        "tests/test_fd.py",
        r#"
        import os
        from dbtest import test

        @test
        def writes_to_fd_1():
            os.write(1, b"RAW WRITE TO FD 1\n")
            os.system("echo FROM A CHILD PROCESS")
        "#,
    );
    let (report, out) = p.run_json(&[]);
    assert_eq!(code(&out), Some(0), "{report:#}");
    assert!(!stdout(&out).contains("RAW WRITE"));
    assert!(
        stderr(&out).contains("RAW WRITE TO FD 1"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("FROM A CHILD PROCESS"),
        "{}",
        stderr(&out)
    );
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

#[test]
fn interrupt_writes_the_report_of_finished_tests_and_exits_2() {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        "from dbtest import test\n\n@test\ndef quick():\n    pass\n",
    );
    p.write(
        "tests/test_b.py",
        r#"
        import time
        from dbtest import test

        @test
        def hangs():
            open("started.marker", "w").close()
            time.sleep(60)
        "#,
    );
    let started = std::time::Instant::now();
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dbtest"))
        .current_dir(p.root())
        .env_remove("VIRTUAL_ENV")
        // One file at a time: `quick` has surely finished when `hangs` starts.
        .args(["--format", "json", "-j", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    while !p.exists("started.marker") {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the hanging test never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "an interrupted run must not wait for a 60 s test"
    );
    assert_eq!(code(&out), Some(2), "{}", stderr(&out));
    let report = parse_json(&out);
    assert_eq!(report["interrupted"], true);
    assert_eq!(entry(&report, "tests/test_a.py::quick")["status"], "passed");
    if let Some(t) = tests_of(&report)
        .iter()
        .find(|t| t["id"] == "tests/test_b.py::hangs")
    {
        assert_ne!(t["status"], "passed", "{t}");
    }
}

// ---------------------------------------------------------------------------------------------
// Virtualenvs

fn write_venv(dir: &Path, version_line: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("pyvenv.cfg"),
        format!("home = /usr/bin\ninclude-system-site-packages = false\n{version_line}\n"),
    )
    .unwrap();
}

fn simple_project() -> Project {
    let p = Project::new();
    p.write(
        "tests/test_a.py",
        "from dbtest import test\n\n@test\ndef ok():\n    pass\n",
    );
    p
}

#[test]
fn a_virtualenv_of_another_python_is_a_usage_error() {
    let p = simple_project();
    let venv = p.path("old-venv");
    write_venv(&venv, "version = 3.8.18");
    let out = p.cmd().env("VIRTUAL_ENV", &venv).output().unwrap();
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("3.8.18"), "{err}");
    assert!(err.contains("3.11"), "{err}");
    assert!(err.contains("PYO3_PYTHON="), "{err}");
    assert!(out.stdout.is_empty(), "{}", stdout(&out));

    // uv writes version_info instead of version.
    write_venv(&venv, "version_info = 3.12.1.final.0");
    let out = p.cmd().env("VIRTUAL_ENV", &venv).output().unwrap();
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("3.12.1"), "{}", stderr(&out));

    // A project's .venv is found without VIRTUAL_ENV, and checked the same way.
    write_venv(&p.path(".venv"), "version = 3.8.18");
    let out = p.cmd().output().unwrap();
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("3.8.18"), "{}", stderr(&out));

    // --list imports nothing, so it needs no virtualenv.
    let out = p.cmd().arg("--list").output().unwrap();
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "tests/test_a.py::ok\n");
}

#[test]
fn virtual_env_pointing_at_a_non_venv_is_a_usage_error() {
    let p = simple_project();
    std::fs::create_dir_all(p.path("not-a-venv")).unwrap();
    let out = p
        .cmd()
        .env("VIRTUAL_ENV", p.path("not-a-venv"))
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("not-a-venv"), "{}", stderr(&out));
    let out = p
        .cmd()
        .env("VIRTUAL_ENV", p.path("does-not-exist"))
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(4), "{}", stderr(&out));
}

#[test]
fn a_matching_virtualenv_makes_its_packages_importable() {
    let p = Project::new();
    let venv = p.path("venvs/good");
    write_venv(&venv, "version = 3.11.7");
    let site = venv.join("lib/python3.11/site-packages");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("somepkg.py"), "WHERE = 'site-packages'\n").unwrap();
    let extra = p.path("editable_src");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::write(extra.join("otherpkg.py"), "WHERE = 'pth'\n").unwrap();
    std::fs::write(site.join("_editable.pth"), format!("{}\n", extra.display())).unwrap();
    p.write(
        "tests/test_venv.py",
        r#"
        from dbtest import test

        @test
        def imports_from_site_packages():
            import somepkg
            assert somepkg.WHERE == "site-packages"

        @test
        def imports_from_a_pth_folder():
            import otherpkg
            assert otherpkg.WHERE == "pth"
        "#,
    );
    let out = p
        .cmd()
        .env("VIRTUAL_ENV", &venv)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let report = parse_json(&out);
    assert_eq!(code(&out), Some(0), "{report:#}");
    assert_eq!(report["summary"]["passed"], 2, "{report:#}");

    // A project's .venv is used without VIRTUAL_ENV, and its Python becomes sys.executable.
    let dot = p.path(".venv");
    write_venv(&dot, "version = 3.11.7");
    let dot_site = dot.join("lib/python3.11/site-packages");
    std::fs::create_dir_all(&dot_site).unwrap();
    std::fs::write(dot_site.join("somepkg.py"), "WHERE = 'site-packages'\n").unwrap();
    std::fs::write(
        dot_site.join("_editable.pth"),
        format!("{}\n", extra.display()),
    )
    .unwrap();
    std::fs::create_dir_all(dot.join("bin")).unwrap();
    std::fs::write(dot.join("bin/python"), "").unwrap();
    p.write(
        "tests/test_executable.py",
        &format!(
            "import sys\nfrom dbtest import test\n\n@test\ndef executable_is_the_venvs():\n    assert sys.executable == {:?}, sys.executable\n",
            dot.join("bin/python").display().to_string()
        ),
    );
    let (report, out) = p.run_json(&[]);
    assert_eq!(code(&out), Some(0), "{report:#}");
    assert_eq!(report["summary"]["passed"], 3, "{report:#}");
    std::fs::remove_dir_all(&dot).unwrap();
    std::fs::remove_file(p.path("tests/test_executable.py")).unwrap();

    // Without the virtualenv the same tests cannot import those packages.
    let (report, out) = p.run_json(&[]);
    assert_eq!(code(&out), Some(1), "{report:#}");
    assert_eq!(report["summary"]["errors"], 2, "{report:#}");
}

// ---------------------------------------------------------------------------------------------
// Concurrency: files run at once, so waits overlap

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

// ---------------------------------------------------------------------------------------------
// Report snapshots of a small deterministic project

#[test]
fn report_demo_json_snapshot() {
    let p = fixture("report_demo");
    let out = p.cmd().args(["--format", "json"]).output().unwrap();
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    parse_json(&out);
    snapshot_settings(p.root()).bind(|| insta::assert_snapshot!("report_demo_json", stdout(&out)));
}

#[test]
fn report_demo_markdown_snapshot() {
    let p = fixture("report_demo");
    let out = p.cmd().args(["--format", "markdown"]).output().unwrap();
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    snapshot_settings(p.root())
        .bind(|| insta::assert_snapshot!("report_demo_markdown", stdout(&out)));
}

#[test]
fn report_demo_console_snapshot() {
    let p = fixture("report_demo");
    let out = p.cmd().args(["--color", "never"]).output().unwrap();
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    snapshot_settings(p.root())
        .bind(|| insta::assert_snapshot!("report_demo_console", stdout(&out)));
}

#[test]
fn color_always_colours_and_never_does_not() {
    let p = fixture("report_demo");
    let out = p.cmd().args(["--color", "always"]).output().unwrap();
    assert!(
        stdout(&out).contains("\u{1b}["),
        "no colour under --color always"
    );
    let out = p
        .cmd()
        .env("FORCE_COLOR", "1")
        .args(["--color", "never"])
        .output()
        .unwrap();
    assert!(!stdout(&out).contains('\u{1b}'));
    // auto: stdout is a pipe here, so no colour unless FORCE_COLOR says so.
    let out = p.cmd().output().unwrap();
    assert!(!stdout(&out).contains('\u{1b}'));
    let out = p.cmd().env("FORCE_COLOR", "1").output().unwrap();
    assert!(stdout(&out).contains("\u{1b}["), "FORCE_COLOR under auto");
}
