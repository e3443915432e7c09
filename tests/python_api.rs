//! The Python API as the binary runs it: suite and test hooks (sync and async), module-level
//! and async tests, tags, and the `expect` matchers.
mod common;

use common::*;
use serde_json::json;

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
