//! Suites built on shared bases in other files (`tests/base.py`), as real projects write them:
//! `--list` and every filter must agree with what a plain run reports.
mod common;

use std::collections::HashSet;
use std::path::Path;

use common::*;
use globset::Glob;
use serde_json::Value;

/// The one file of the fixture whose suite is built at run time.
const DYNAMIC: &str = "tests/unit/test_dynamic.py";

fn fixture() -> Project {
    let p = Project::bare();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/inherit_project"),
        p.root(),
    );
    p
}

fn code(out: &std::process::Output) -> Option<i32> {
    out.status.code()
}

/// A plain run's tests: (file, id, tags), in report order.
fn plain_run(p: &Project) -> Vec<(String, String, Vec<String>)> {
    let (report, out) = p.run_json(&[]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    tests_of(&report)
        .iter()
        .map(|t| {
            let tags = t["tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
                .collect();
            (
                t["file"].as_str().unwrap().to_string(),
                t["id"].as_str().unwrap().to_string(),
                tags,
            )
        })
        .collect()
}

/// `--list`'s ids, and the files it could only name (with a note).
fn listed(p: &Project, args: &[&str]) -> (Vec<String>, Vec<String>) {
    let out = p.cmd().arg("--list").args(args).output().unwrap();
    assert_eq!(code(&out), Some(0), "{args:?}: {}", stderr(&out));
    let (mut ids, mut noted) = (Vec::new(), Vec::new());
    for line in stdout(&out).lines() {
        match line.split_once(" (tests known only on import: ") {
            Some((path, _)) => noted.push(path.to_string()),
            None => ids.push(line.to_string()),
        }
    }
    (ids, noted)
}

/// What a filter selects from a plain run's results, by the documented rules: `-k` matches
/// the path or the id (a substring, or a glob if it has glob characters), `--tags` any of,
/// `--exclude-tags` none of, `unit` neither tagged `integration` nor under a folder named so,
/// `integration` the opposite.
fn expected(
    run: &[(String, String, Vec<String>)],
    k: Option<&str>,
    tags: &[&str],
    exclude: &[&str],
    mode: Option<&str>,
) -> Vec<String> {
    let matches = |text: &str| match k {
        None => true,
        Some(p) if p.contains(['*', '?', '[']) => {
            Glob::new(p).unwrap().compile_matcher().is_match(text)
        }
        Some(p) => text.contains(p),
    };
    run.iter()
        .filter(|(file, id, t)| {
            let has = |x: &&str| t.iter().any(|y| y == x);
            let folders: Vec<&str> = file.split('/').collect();
            let integration =
                has(&"integration") || folders[..folders.len() - 1].contains(&"integration");
            (matches(file) || matches(id))
                && (tags.is_empty() || tags.iter().any(has))
                && !exclude.iter().any(has)
                && match mode {
                    Some("unit") => !integration,
                    Some("integration") => integration,
                    _ => true,
                }
        })
        .map(|(_, id, _)| id.clone())
        .collect()
}

fn ids_of(report: &Value) -> Vec<String> {
    ids(report)
}

#[test]
fn list_equals_a_plain_runs_ids_inherited_tests_once_per_suite() {
    let p = fixture();
    let run = plain_run(&p);
    let run_ids: Vec<String> = run.iter().map(|(_, id, _)| id.clone()).collect();
    // The fixture is what it claims to be: inherited and contract tests run in each suite.
    for id in [
        "tests/unit/test_users.py::TestUsers::test_init",
        "tests/unit/test_users.py::TestAdmins::test_create_user",
        "tests/unit/test_repos.py::TestMemoryRepo::test_put_then_get",
        "tests/unit/test_repos.py::TestOrderedRepo::test_put_then_get",
        "tests/integration/test_db.py::TestSqlRepo::test_empty_at_start",
        "tests/integration/test_db.py::TestDb::test_init",
        "tests/unit/test_local_chain.py::Child::test_one",
        "tests/unit/test_dynamic.py::TestDynamic::test_generated",
    ] {
        assert!(
            run_ids.contains(&id.to_string()),
            "{id} not run: {run_ids:#?}"
        );
    }

    let (ids, noted) = listed(&p, &[]);
    assert_eq!(noted, vec![DYNAMIC.to_string()]);
    // Exactly the run's ids outside the undecidable file, in the run's order, each once.
    let decidable: Vec<String> = run
        .iter()
        .filter(|(file, _, _)| file != DYNAMIC)
        .map(|(_, id, _)| id.clone())
        .collect();
    assert_eq!(ids, decidable);
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an id listed twice: {ids:#?}");
    // Overridden and twice-defined methods are one test.
    let edge: Vec<&String> = ids.iter().filter(|i| i.contains("TestEdgeCases")).collect();
    assert_eq!(edge.len(), 2, "{edge:?}");
}

#[test]
fn every_filter_selects_what_it_would_select_from_a_plain_run() {
    let p = fixture();
    let run = plain_run(&p);
    type Case<'a> = (
        Option<&'a str>,
        &'a [&'a str],
        &'a [&'a str],
        Option<&'a str>,
    );
    let cases: &[Case] = &[
        (None, &["unit"], &[], None),
        (None, &["smoke"], &[], None),
        (None, &["contract"], &["slow"], None),
        (None, &[], &["slow", "smoke"], None),
        (None, &["generated"], &[], None),
        (Some("test_init"), &[], &[], None),
        (Some("*TestEdgeCases*"), &[], &[], None),
        (Some("TestSqlRepo"), &[], &[], None),
        (Some("tests/unit/*"), &[], &[], None),
        (Some("test_repos"), &["contract"], &[], None),
        (Some("*::test_generated"), &[], &[], None),
        (None, &[], &[], Some("unit")),
        (None, &[], &[], Some("integration")),
        (None, &["slow"], &[], Some("unit")),
        (None, &["db"], &[], Some("integration")),
    ];
    for (k, tags, exclude, mode) in cases {
        let want = expected(&run, *k, tags, exclude, *mode);
        assert!(
            !want.is_empty(),
            "case {k:?} {tags:?} {exclude:?} {mode:?} selects nothing"
        );
        assert!(
            want.len() < run.len(),
            "case {k:?} {tags:?} {exclude:?} {mode:?} selects everything"
        );
        let mut args: Vec<String> = Vec::new();
        if let Some(m) = mode {
            args.push(m.to_string());
        }
        if let Some(k) = k {
            args.extend(["-k".into(), k.to_string()]);
        }
        if !tags.is_empty() {
            args.extend(["--tags".into(), tags.join(",")]);
        }
        if !exclude.is_empty() {
            args.extend(["--exclude-tags".into(), exclude.join(",")]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (report, out) = p.run_json(&args);
        assert_eq!(code(&out), Some(0), "{args:?}: {}", stderr(&out));
        assert_eq!(ids_of(&report), want, "a run with {args:?}");

        // --list: the same ids, except the undecidable file's, which it names instead.
        let (ids, noted) = listed(&p, &args);
        let want_listed: Vec<String> = want
            .iter()
            .filter(|id| !id.starts_with(DYNAMIC))
            .cloned()
            .collect();
        assert_eq!(ids, want_listed, "--list with {args:?}");
        assert_eq!(noted, vec![DYNAMIC.to_string()], "--list with {args:?}");
    }
}

#[test]
fn list_imports_nothing_and_a_base_from_an_installed_package_is_undecidable() {
    let p = fixture();
    // A base the project does not define (from site-packages, say) and a marker that
    // importing any file would leave.
    p.write(
        "tests/unit/test_external.py",
        r#"
        open("imported.marker", "w").close()
        from some_installed_package import SharedSuite

        class TestExternal(SharedSuite):
            pass
        "#,
    );
    let out = p.cmd().arg("--list").output().unwrap();
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(
            "tests/unit/test_external.py (tests known only on import: class TestExternal: \
             SharedSuite comes from some_installed_package, which is not part of the project)"
        ),
        "{text}"
    );
    assert!(!p.exists("imported.marker"), "--list imported a file");
    // With a filter, the undecidable file is still imported (and filtered per test there).
    let (_, out) = p.run_json(&["--tags", "nothing-has-this"]);
    assert!(p.exists("imported.marker"), "{}", stderr(&out));
}

#[test]
fn bench_list_names_groups_and_entries_without_running_them() {
    let p = Project::new();
    p.write(
        "benches/bench_sorting.py",
        r#"
        import asyncio
        from dbtest import BenchmarkGroup

        open("ran.marker", "w").close()
        sorting = BenchmarkGroup("sort 1000 ints", baseline="sorted")
        other = BenchmarkGroup(name="lookups")

        @sorting.add("sorted")
        def with_sorted():
            sorted(range(1000))

        @sorting.add(name="list.sort")
        def with_list_sort():
            list(range(1000)).sort()

        @other.add
        async def dict_get():
            await asyncio.sleep(0)

        @other.add()
        def set_in():
            pass
        "#,
    );
    let out = p
        .cmd()
        .args(["bench", "--list", "benches"])
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "benches/bench_sorting.py::sort 1000 ints::sorted\n\
         benches/bench_sorting.py::sort 1000 ints::list.sort\n\
         benches/bench_sorting.py::lookups::dict_get\n\
         benches/bench_sorting.py::lookups::set_in\n"
    );
    assert!(!p.exists("ran.marker"), "bench --list imported the file");

    // The same entries a (short) run of them reports, and -k selects as the run does.
    for k in [None, Some("list.sort"), Some("lookups"), Some("*::set_in")] {
        let mut args = vec!["bench", "benches", "--bench-time", "0.05", "--samples", "5"];
        args.extend(["--warmup", "0"]);
        if let Some(k) = k {
            args.extend(["-k", k]);
        }
        let (report, out) = p.run_json(&args);
        assert_eq!(code(&out), Some(0), "{args:?}: {}", stderr(&out));
        let ran: Vec<String> = report["benchmarks"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| {
                g["entries"].as_array().unwrap().iter().map(move |e| {
                    format!(
                        "benches/bench_sorting.py::{}::{}",
                        g["name"].as_str().unwrap(),
                        e["name"].as_str().unwrap()
                    )
                })
            })
            .collect();
        args.push("--list");
        let out = p.cmd().args(&args).output().unwrap();
        assert_eq!(code(&out), Some(0), "{}", stderr(&out));
        let listed: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
        assert_eq!(listed, ran, "{args:?}");
    }
    std::fs::remove_file(p.path("ran.marker")).unwrap();

    // Groups made at run time are named as such, not guessed.
    p.write(
        "benches/bench_made.py",
        r#"
        from dbtest import BenchmarkGroup
        groups = [BenchmarkGroup(f"size {n}") for n in (10, 100)]
        "#,
    );
    let out = p
        .cmd()
        .args(["bench", "--list", "benches"])
        .output()
        .unwrap();
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).starts_with("benches/bench_made.py (benchmarks known only on import: "),
        "{}",
        stdout(&out)
    );
}
