"""The shim's own tests, run by dbtest itself (see tests/shim.rs)."""
import asyncio

import dbtest
from dbtest import BenchmarkGroup, TestSuite, expect, register_group, test


def raises(exc_type, fn):
    try:
        fn()
    except exc_type as e:
        return e
    raise AssertionError(f"{exc_type.__name__} not raised")


@test
def bare_decorator_marks_and_returns_the_function():
    def f():
        return 42

    marked = test(f)
    assert marked is f and f() == 42
    assert f.__dbtest__.tags == () and f.__dbtest__.timeout is None and f.__dbtest__.skip is None


@test
def options_are_recorded():
    @test(tags=["db", "slow"], timeout=5, skip="no license")
    def f():
        pass

    meta = f.__dbtest__
    assert (meta.tags, meta.timeout, meta.skip) == (("db", "slow"), 5.0, "no license")
    assert test(tags="one")(lambda: None).__dbtest__.tags == ("one",)
    # The same options share one record; different ones do not.
    assert test(tags=["db", "slow"], timeout=5, skip="no license")(lambda: None).__dbtest__ is meta
    assert test(tags=["db"])(lambda: None).__dbtest__ is not meta
    assert test(skip=True)(lambda: None).__dbtest__.skip == "skipped"


@test
def bad_options_say_what_is_wrong():
    assert "positive number" in str(raises(TypeError, lambda: test(timeout=-1)))
    assert "strings" in str(raises(TypeError, lambda: test(tags=[1])))
    assert "reason string" in str(raises(TypeError, lambda: test(skip=3)))


@test
def matchers_pass_silently():
    expect(1 + 1).to_equal(2)
    expect(1).not_to_equal(2)
    expect(True).to_be_true()
    expect(False).to_be_false()
    expect(None).to_be_none()
    expect([1, 2]).to_contain(2)
    expect("abc").to_have_length(3)
    expect(3).to_be_greater_than(2)
    expect(2).to_be_less_than(3)
    expect(lambda: {}["k"]).to_raise(KeyError)
    expect(lambda: int("x")).to_raise(ValueError, match="invalid literal")


@test
def failing_matchers_explain_themselves():
    cases = [
        (lambda: expect(1).to_equal(2), "expected 1 to equal 2"),
        (lambda: expect(1).to_be_true(), "expected 1 to be True"),
        (lambda: expect([1]).to_contain(5), "expected [1] to contain 5"),
        (lambda: expect("ab").to_have_length(3), "to have length 3, it has length 2"),
        (lambda: expect(1).to_be_greater_than(2), "to be greater than 2"),
        (lambda: expect(lambda: None).to_raise(ValueError), "ValueError to be raised"),
        (lambda: expect(lambda: int("x")).to_raise(ValueError, match="nope"), "matching 'nope'"),
    ]
    for fn, text in cases:
        err = raises(AssertionError, fn)
        assert text in str(err), (text, str(err))


@test
def groups_register_once_and_validate_options():
    before = len(dbtest.groups)
    g = BenchmarkGroup("shim self-test", baseline="a", warmup=1, rounds=5)
    assert g.options == {"warmup": 1, "samples": 5}
    register_group(g)
    register_group(g)
    assert len(dbtest.groups) == before + 1

    @g.add("a")
    def a():
        pass

    @g.add
    def b():
        pass

    assert [n for n, _ in g.entries] == ["a", "b"]
    assert "already has an entry" in str(raises(ValueError, lambda: g.add("a")(a)))
    assert "unknown option" in str(raises(TypeError, lambda: BenchmarkGroup("x", warmpu=1)))
    dbtest.groups.remove(g)


class HookOrder(TestSuite):
    calls = []

    async def setup_suite(self):
        self.calls.append("setup_suite")

    def setup(self):
        self.calls.append("setup")

    async def teardown(self):
        await asyncio.sleep(0)
        self.calls.append("teardown")

    @test
    def first(self):
        assert self.calls == ["setup_suite", "setup"]

    @test
    async def second(self):
        assert self.calls == ["setup_suite", "setup", "teardown", "setup"]
