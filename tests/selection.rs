//! Which tests run: discovery's naming rules, `--list`, `-k`, `--tags`/`--exclude-tags`, the
//! `unit`/`integration`/`bench` modes, and files left out never being imported.
mod common;

use common::*;

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
