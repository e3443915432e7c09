"""The shim's own tests, run by dbtest itself (see tests/shim.rs)."""
import asyncio
import re

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
    assert test(retries=2)(lambda: None).__dbtest__.retries == 2
    assert test(lambda: None).__dbtest__.retries is None


@test
def bad_options_say_what_is_wrong():
    assert "positive number" in str(raises(TypeError, lambda: test(timeout=-1)))
    assert "strings" in str(raises(TypeError, lambda: test(tags=[1])))
    assert "reason string" in str(raises(TypeError, lambda: test(skip=3)))
    assert "whole number" in str(raises(TypeError, lambda: test(retries=-1)))
    assert "whole number" in str(raises(TypeError, lambda: test(retries=True)))


# Every matcher, on a value where it holds and one where it does not. Each row is run plain
# and negated: exactly one of the two passes, and the other fails with exactly this message.
# (value, matcher, args, holds, message of the failing form)
MATCHER_CASES = [
    (1 + 1, "to_equal", (2,), True, "expected 2 not to equal 2"),
    (1, "to_equal", (2,), False, "expected 1 to equal 2"),
    (1, "not_to_equal", (2,), True, "expected 1 to equal 2"),
    (1, "not_to_equal", (1,), False, "expected 1 not to equal 1"),
    (None, "to_be", (None,), True, "expected None not to be None"),
    (1000, "to_be", (1000.0,), False, "expected 1000 to be 1000.0, they are equal but not the same object"),
    ([1], "to_be", ([2],), False, "expected [1] to be [2]"),
    (True, "to_be_true", (), True, "expected True not to be truthy"),
    ("abc", "to_be_true", (), True, "expected 'abc' not to be truthy"),
    ([0], "to_be_true", (), True, "expected [0] not to be truthy"),
    (0, "to_be_true", (), False, "expected 0 to be truthy"),
    ("", "to_be_true", (), False, "expected '' to be truthy"),
    (None, "to_be_true", (), False, "expected None to be truthy"),
    (False, "to_be_false", (), True, "expected False not to be falsy"),
    (0, "to_be_false", (), True, "expected 0 not to be falsy"),
    ([], "to_be_false", (), True, "expected [] not to be falsy"),
    ("abc", "to_be_false", (), False, "expected 'abc' to be falsy"),
    (None, "to_be_none", (), True, "expected None not to be None"),
    (0, "to_be_none", (), False, "expected 0 to be None"),
    ([1, 2], "to_contain", (2,), True, "expected [1, 2] not to contain 2"),
    ("abc", "to_contain", ("bc",), True, "expected 'abc' not to contain 'bc'"),
    ([1], "to_contain", (5,), False, "expected [1] to contain 5"),
    ({"a": 1}, "to_have_key", ("a",), True, "expected {'a': 1} not to have key 'a'"),
    ({"a": 1}, "to_have_key", ("b",), False, "expected {'a': 1} to have key 'b'"),
    ({"a": 1}, "to_have_key", (1,), False, "expected {'a': 1} to have key 1"),
    ("abc", "to_have_length", (3,), True, "expected 'abc' not to have length 3"),
    ("ab", "to_have_length", (3,), False, "expected 'ab' to have length 3, it has length 2"),
    ([], "to_be_empty", (), True, "expected [] not to be empty"),
    ("", "to_be_empty", (), True, "expected '' not to be empty"),
    ({}, "to_be_empty", (), True, "expected {} not to be empty"),
    ([1, 2], "to_be_empty", (), False, "expected [1, 2] to be empty, it has length 2"),
    (3, "to_be_greater_than", (2,), True, "expected 3 not to be greater than 2"),
    (2, "to_be_greater_than", (2,), False, "expected 2 to be greater than 2"),
    (2, "to_be_less_than", (3,), True, "expected 2 not to be less than 3"),
    (3, "to_be_less_than", (3,), False, "expected 3 to be less than 3"),
    ("abc", "to_start_with", ("a",), True, "expected 'abc' not to start with 'a'"),
    (b"abc", "to_start_with", (b"ab",), True, "expected b'abc' not to start with b'ab'"),
    ("abc", "to_start_with", ("b",), False, "expected 'abc' to start with 'b'"),
    ("abc", "to_end_with", ("bc",), True, "expected 'abc' not to end with 'bc'"),
    ("abc", "to_end_with", ("a",), False, "expected 'abc' to end with 'a'"),
    # A search, not a full match: anywhere in the string, anchors when the pattern has them.
    ("user-42", "to_match", (r"\d+",), True, "expected 'user-42' not to match '\\\\d+', found '42' at 5"),
    ("abc", "to_match", (re.compile("B", re.I),), True, "expected 'abc' not to match 'B', found 'b' at 1"),
    ("abc", "to_match", ("^b",), False, "expected 'abc' to match '^b'"),
    ("abc", "to_match", ("x",), False, "expected 'abc' to match 'x'"),
]


def run_matcher(expectation, matcher, args):
    """The AssertionError's message, or None if the matcher passed."""
    try:
        getattr(expectation, matcher)(*args)
    except AssertionError as e:
        return str(e)
    return None


@test
def every_matcher_passes_and_fails_plain_and_negated():
    seen = set()
    for value, matcher, args, holds, message in MATCHER_CASES:
        seen.add((matcher, holds))
        plain = run_matcher(expect(value), matcher, args)
        negated = run_matcher(expect(value).not_, matcher, args)
        case = (value, matcher, args)
        if holds:
            assert plain is None, (case, plain)
            assert negated == message, (case, negated)
        else:
            assert negated is None, (case, negated)
            assert plain == message, (case, plain)
        # Negated twice is plain again.
        assert run_matcher(expect(value).not_.not_, matcher, args) == plain, case
    matchers = {m for m in dir(expect(0)) if m.startswith(("to_", "not_to_")) and m != "to_raise"}
    assert {m for m, _ in seen} == matchers, matchers - {m for m, _ in seen}
    assert all((m, h) in seen for m in matchers for h in (True, False)), "a matcher lacks a holds/fails case"


@test
def negated_failures_say_not():
    for value, matcher, args, holds, message in MATCHER_CASES:
        if holds and matcher != "not_to_equal":  # negated, not_to_equal is to_equal
            assert message.startswith(f"expected {value!r} not to"), message


@test
def a_check_that_does_not_apply_fails_plain_and_negated():
    # .not_ must never turn "cannot be checked" into a pass.
    cases = [
        (5, "to_contain", (1,), "expected 5 {}to contain 1, but `in` does not apply to it"),
        ([1], "to_have_key", (1,), "expected [1] {}to have key 1, but it is a list, not a mapping"),
        ({"a": 1}, "to_have_key", ([],), "expected {{'a': 1}} {}to have key [], but its keys cannot be searched"),
        (5, "to_have_length", (1,), "expected 5 {}to have length 1, but it has no length (int)"),
        (iter([]), "to_be_empty", (), "{}to be empty, but it has no length (list_iterator)"),
        (None, "to_be_greater_than", (1,), "expected None {}to be greater than 1, but they cannot be compared"),
        ("a", "to_be_less_than", (1,), "expected 'a' {}to be less than 1, but they cannot be compared"),
        (None, "to_start_with", ("a",), "expected None {}to start with 'a', but it is a NoneType, not a string"),
        (42, "to_end_with", ("2",), "expected 42 {}to end with '2', but it is a int, not a string"),
        (b"abc", "to_start_with", ("a",), "expected b'abc' {}to start with 'a', but the types do not fit"),
        (None, "to_match", ("x",), "expected None {}to match 'x', but it is a NoneType, not a string"),
        (b"abc", "to_match", ("a",), "expected b'abc' {}to match 'a', but the types do not fit"),
    ]
    for value, matcher, args, text in cases:
        for negated, word in ((False, ""), (True, "not ")):
            e = expect(value).not_ if negated else expect(value)
            err = raises(AssertionError, lambda: getattr(e, matcher)(*args))
            assert text.format(word) in str(err), (text.format(word), str(err))
            # The message says it all: no "During handling of TypeError" chain.
            assert err.__cause__ is None and err.__suppress_context__, str(err)


@test
def not_returns_a_new_expectation():
    e = expect("abc")
    n = e.not_
    assert n is not e and not e.negated and n.negated
    assert n.not_ is not n and not n.not_.negated and n.not_.actual == "abc"
    e.to_start_with("a")  # e itself was not negated by asking for n
    assert raises(AssertionError, lambda: n.to_start_with("a"))
    assert repr(n) == "expect('abc').not_" and repr(e) == "expect('abc')"


@test
def matchers_chain_and_not_applies_to_the_next_one_only():
    expect(3).to_be_greater_than(2).to_be_less_than(4)
    # After a negated matcher the chain is plain again.
    expect(3).not_.to_be_none().to_equal(3).not_.to_equal(4).to_be_true()
    err = raises(AssertionError, lambda: expect(3).not_.to_be_none().to_equal(4))
    assert str(err) == "expected 3 to equal 4"


@test
def huge_values_are_cut_in_the_middle():
    big = "x" * 5000 + "END"
    msg = str(raises(AssertionError, lambda: expect(big).to_equal("y")))
    assert msg.startswith("expected 'xxxx") and msg.endswith("xxEND' to equal 'y'"), msg
    assert "more chars...>" in msg and len(msg) < 400, msg
    left_out = len(repr(big)) - 160 - 60
    assert f"<...{left_out} more chars...>" in msg
    # Short values are shown whole.
    assert str(raises(AssertionError, lambda: expect(list(range(20))).to_be_empty())).startswith(
        f"expected {list(range(20))!r} to be empty"
    )


@test
def a_broken_repr_does_not_hide_the_failure():
    class Broken:
        def __repr__(self):
            raise RuntimeError("no repr")

    msg = str(raises(AssertionError, lambda: expect(Broken()).to_be_none()))
    assert msg == "expected <Broken object, repr() failed: RuntimeError: no repr> to be None", msg


def boom():
    raise ValueError("bad value 42")


@test
def to_raise_plain():
    expect(boom).to_raise(ValueError)
    expect(boom).to_raise()  # Exception by default
    expect(boom).to_raise((KeyError, ValueError), match="value 42")
    expect(lambda: {}["k"]).to_raise(KeyError)
    expect(lambda: int("x")).to_raise(ValueError, match="invalid literal")
    cases = [
        (lambda: expect(lambda: None).to_raise(ValueError),
         "expected ValueError to be raised, nothing was raised (it returned None)"),
        (lambda: expect(lambda: 7).to_raise((KeyError, ValueError)),
         "expected KeyError or ValueError to be raised, nothing was raised (it returned 7)"),
        (lambda: expect(boom).to_raise(ValueError, match="nope"),
         "expected ValueError matching 'nope', got ValueError: bad value 42"),
    ]
    for fn, text in cases:
        err = raises(AssertionError, fn)
        assert str(err) == text, (text, str(err))
    # Another exception than the one expected is not swallowed: it propagates as is.
    err = raises(ValueError, lambda: expect(boom).to_raise(KeyError))
    assert str(err) == "bad value 42"


@test
def to_raise_negated_means_it_does_not_raise():
    expect(lambda: 1).not_.to_raise()
    expect(lambda: 1).not_.to_raise(ValueError).not_.to_raise(KeyError)
    err = raises(AssertionError, lambda: expect(boom).not_.to_raise(ValueError))
    assert str(err) == "expected ValueError not to be raised, got ValueError: bad value 42", str(err)
    assert isinstance(err.__cause__, ValueError)  # the traceback shows where it was raised
    err = raises(AssertionError, lambda: expect(boom).not_.to_raise())
    assert str(err) == "expected Exception not to be raised, got ValueError: bad value 42", str(err)
    err = raises(AssertionError, lambda: expect(boom).not_.to_raise(ValueError, match="42"))
    assert str(err) == "expected ValueError matching '42' not to be raised, got ValueError: bad value 42"
    # Any other exception (another type, or the text does not match) propagates unchanged:
    # "does not raise X" never passes over an exception.
    assert str(raises(ValueError, lambda: expect(boom).not_.to_raise(KeyError))) == "bad value 42"
    assert str(raises(ValueError, lambda: expect(boom).not_.to_raise(ValueError, match="nope"))) == "bad value 42"
    # Double negation is plain.
    expect(boom).not_.not_.to_raise(ValueError)


@test
def to_raise_rejects_misuse():
    assert "needs a callable" in str(raises(TypeError, lambda: expect(3).to_raise()))
    assert "needs a callable" in str(raises(TypeError, lambda: expect(3).not_.to_raise()))
    assert "exception class" in str(raises(TypeError, lambda: expect(boom).to_raise("ValueError")))
    assert "exception class" in str(raises(TypeError, lambda: expect(boom).to_raise(())))

    async def coro():
        raise ValueError("never seen")

    # An async callable would otherwise "raise nothing", and pass negated.
    for e in (expect(coro), expect(coro).not_):
        assert "awaitable" in str(raises(TypeError, lambda: e.to_raise(ValueError)))


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
