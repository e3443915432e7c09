"""dbtest: the Python side of the dbtest test runner.

Only what user code imports lives here: ``TestSuite``, ``test``, ``expect`` and
``BenchmarkGroup``. Discovery, running and reporting are done by the ``dbtest``
binary, which embeds this file, so ``import dbtest`` works with nothing installed.
"""

from __future__ import annotations

__all__ = [
    "TestSuite",
    "test",
    "expect",
    "BenchmarkGroup",
    "register_group",
    "groups",
]

__version__ = "0.1.0"


class TestMeta:
    """What ``@test(...)`` recorded about a test; the runner reads these attributes.

    Instances are shared between tests declared with the same options, so they are
    read-only by convention (``tags`` is a tuple).
    """

    __slots__ = ("tags", "timeout", "skip", "retries")

    def __init__(self, tags=(), timeout=None, skip=None, retries=None):
        if isinstance(tags, str):
            tags = (tags,)
        tags = tuple(tags)
        for tag in tags:
            if not isinstance(tag, str):
                raise TypeError(f"@test(tags=...) takes strings, got {tag!r}")
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
                raise TypeError(f"@test(timeout=...) takes a positive number of seconds, got {timeout!r}")
            timeout = float(timeout)
        if skip is True:
            skip = "skipped"
        elif skip is False:
            skip = None
        elif skip is not None and not isinstance(skip, str):
            raise TypeError(f"@test(skip=...) takes a reason string or a bool, got {skip!r}")
        if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int) or retries < 0):
            raise TypeError(f"@test(retries=...) takes a whole number of at least 0, got {retries!r}")
        self.tags = tags
        self.timeout = timeout
        self.skip = skip
        self.retries = retries

    def __repr__(self):
        return (
            f"TestMeta(tags={self.tags!r}, timeout={self.timeout!r}, skip={self.skip!r}, "
            f"retries={self.retries!r})"
        )


# Suites declare thousands of tests with a handful of distinct option sets: build each
# TestMeta (and its marker) once. Keys hold only hashable, already-seen option values.
_MARKERS = {}

# The modules (by ``__name__``) that define a ``@test`` function or a ``TestSuite`` subclass:
# the runner looks for dbtest tests only in these, not in every unittest or pytest file.
_DEFINING = set()


def _marker(meta):
    def mark(f):
        if not callable(f):
            raise TypeError(f"@test decorates functions, got {f!r}")
        f.__dbtest__ = meta
        _DEFINING.add(getattr(f, "__module__", None))
        return f

    return mark


_BARE = _marker(TestMeta())


def test(func=None, *, tags=(), timeout=None, skip=None, retries=None):
    """Mark a function or a ``TestSuite`` method as a test.

    Works bare (``@test``) or with options (``@test(tags=["db"], timeout=5, skip="why")``).
    ``retries=N`` reruns the test up to N times when it fails or errors (``--retries`` for one
    test); a pass on a retry counts as a pass, reported as flaky.
    The function is returned unchanged, so it stays callable and introspectable.
    """
    if func is not None:
        if not (tags or timeout is not None or skip is not None or retries is not None):
            return _BARE(func)
        return _marker(TestMeta(tags, timeout, skip, retries))(func)
    try:
        key = (tuple(tags) if isinstance(tags, (list, tuple)) else tags, timeout, skip, retries)
        return _MARKERS[key]
    except (KeyError, TypeError):
        pass
    mark = _marker(TestMeta(tags=tags, timeout=timeout, skip=skip, retries=retries))
    try:
        _MARKERS[key] = mark
    except TypeError:  # unhashable options: fine, just not cached
        pass
    return mark


test.__test__ = False  # keep pytest from collecting the decorator itself


class TestSuite:
    """Base class for a suite: one instance runs its tests in declaration order.

    Override any hook; each may be sync or async.
    ``setup_suite``/``teardown_suite`` run once around the suite's tests,
    ``setup``/``teardown`` around each test (teardown also when the test failed).
    """

    __test__ = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _DEFINING.add(cls.__module__)

    def setup_suite(self):
        pass

    def teardown_suite(self):
        pass

    def setup(self):
        pass

    def teardown(self):
        pass


# How much of one value's repr a failure message shows: the start and the end of a huge
# value, with how much was left out between them.
_SHOWN_HEAD = 160
_SHOWN_TAIL = 60


def _cut(text):
    """``text`` as is, or its start and end with the length left out between them."""
    if len(text) > _SHOWN_HEAD + _SHOWN_TAIL + 20:
        left_out = len(text) - _SHOWN_HEAD - _SHOWN_TAIL
        return f"{text[:_SHOWN_HEAD]}<...{left_out} more chars...>{text[-_SHOWN_TAIL:]}"
    return text


def _show(value):
    """``repr(value)`` for a failure message: never raises, huge values cut in the middle."""
    try:
        return _cut(repr(value))
    except Exception as exc:  # a broken __repr__ must not hide the failure itself
        return f"<{type(value).__name__} object, repr() failed: {type(exc).__name__}: {_cut(str(exc))}>"


def _exc_names(exception):
    if isinstance(exception, tuple):
        return " or ".join(e.__name__ for e in exception)
    return exception.__name__


def _is_exception_type(e):
    return isinstance(e, type) and issubclass(e, BaseException)


class _Expectation:
    """What ``expect(actual)`` returns. Every matcher raises ``AssertionError`` when it fails.

    ``.not_`` returns a negated copy: the matcher after it must fail for the check to pass.
    A matcher returns a plain (not negated) expectation of the same value, so in
    ``expect(x).not_.to_be_none().to_equal(3)`` the ``not_`` applies to ``to_be_none`` only.
    """

    __slots__ = ("actual", "negated")

    def __init__(self, actual, negated=False):
        self.actual = actual
        self.negated = negated

    @property
    def not_(self):
        """The same expectation, negated (``.not_.not_`` is the plain one again)."""
        return _Expectation(self.actual, not self.negated)

    def __repr__(self):
        return f"expect({_show(self.actual)}){'.not_' if self.negated else ''}"

    # The message of every failure: "expected <actual> [not ]<phrase>[, <detail>]".
    def _message(self, phrase, detail=None):
        text = f"expected {_show(self.actual)} {'not ' if self.negated else ''}{phrase}"
        return f"{text}, {detail}" if detail else text

    def _check(self, ok, phrase, detail=None):
        """Pass if ``ok`` (or, negated, if not ``ok``); ``detail`` explains a plain failure."""
        if bool(ok) == self.negated:
            raise AssertionError(self._message(phrase, None if self.negated else detail))
        return _Expectation(self.actual) if self.negated else self

    def _unfit(self, phrase, reason):
        """The check does not apply to this value (no length, not a string...): a failure
        whether negated or not, so ``.not_`` never turns a type error into a pass."""
        raise AssertionError(self._message(phrase, f"but {reason}")) from None

    def to_equal(self, expected):
        return self._check(self.actual == expected, f"to equal {_show(expected)}")

    def not_to_equal(self, other):
        return self.not_.to_equal(other)

    def to_be(self, expected):
        ok = self.actual is expected
        detail = None
        if not ok:
            try:
                if self.actual == expected:
                    detail = "they are equal but not the same object"
            except Exception:
                pass
        return self._check(ok, f"to be {_show(expected)}", detail)

    def to_be_true(self):
        """Truthiness, as ``if x:`` sees it (``expect("abc").to_be_true()`` passes)."""
        return self._check(self.actual, "to be truthy")

    def to_be_false(self):
        """Falsiness, as ``if not x:`` sees it (``expect(0).to_be_false()`` passes)."""
        return self._check(not self.actual, "to be falsy")

    def to_be_none(self):
        return self._check(self.actual is None, "to be None")

    def to_contain(self, item):
        phrase = f"to contain {_show(item)}"
        try:
            ok = item in self.actual
        except TypeError as exc:
            self._unfit(phrase, f"`in` does not apply to it (TypeError: {exc})")
        return self._check(ok, phrase)

    def to_have_key(self, key):
        """A mapping (anything with ``keys()``) has ``key`` among its keys."""
        phrase = f"to have key {_show(key)}"
        keys = getattr(self.actual, "keys", None)
        if not callable(keys):
            self._unfit(phrase, f"it is a {type(self.actual).__name__}, not a mapping")
        try:
            ok = key in keys()
        except TypeError as exc:  # e.g. an unhashable key
            self._unfit(phrase, f"its keys cannot be searched for it (TypeError: {exc})")
        return self._check(ok, phrase)

    def _length(self, phrase):
        try:
            return len(self.actual)
        except TypeError:
            self._unfit(phrase, f"it has no length ({type(self.actual).__name__})")

    def to_have_length(self, length):
        phrase = f"to have length {length}"
        actual_length = self._length(phrase)
        return self._check(actual_length == length, phrase, f"it has length {actual_length}")

    def to_be_empty(self):
        phrase = "to be empty"
        actual_length = self._length(phrase)
        return self._check(actual_length == 0, phrase, f"it has length {actual_length}")

    def _compare(self, op, other, phrase):
        try:
            return op(self.actual, other)
        except TypeError as exc:
            self._unfit(phrase, f"they cannot be compared (TypeError: {exc})")

    def to_be_greater_than(self, other):
        phrase = f"to be greater than {_show(other)}"
        return self._check(self._compare(lambda a, b: a > b, other, phrase), phrase)

    def to_be_less_than(self, other):
        phrase = f"to be less than {_show(other)}"
        return self._check(self._compare(lambda a, b: a < b, other, phrase), phrase)

    def _affix(self, method, affix, phrase):
        if not isinstance(self.actual, (str, bytes, bytearray)):
            self._unfit(phrase, f"it is a {type(self.actual).__name__}, not a string")
        try:
            return getattr(self.actual, method)(affix)
        except TypeError as exc:  # str value, bytes prefix or the reverse
            self._unfit(phrase, f"the types do not fit (TypeError: {exc})")

    def to_start_with(self, prefix):
        phrase = f"to start with {_show(prefix)}"
        return self._check(self._affix("startswith", prefix, phrase), phrase)

    def to_end_with(self, suffix):
        phrase = f"to end with {_show(suffix)}"
        return self._check(self._affix("endswith", suffix, phrase), phrase)

    def to_match(self, pattern):
        """``re.search(pattern, actual)`` finds a match (anywhere: anchor with ^ and $)."""
        import re

        shown = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
        phrase = f"to match {_show(shown)}"
        if not isinstance(self.actual, (str, bytes, bytearray)):
            self._unfit(phrase, f"it is a {type(self.actual).__name__}, not a string")
        try:
            found = re.search(pattern, self.actual)
        except TypeError as exc:  # str pattern, bytes value or the reverse
            self._unfit(phrase, f"the types do not fit (TypeError: {exc})")
        if found is not None and self.negated:
            raise AssertionError(self._message(phrase, f"found {_show(found.group(0))} at {found.start()}"))
        return self._check(found is not None, phrase)

    def to_raise(self, exception=Exception, match=None):
        """``expect(callable).to_raise(ValueError, match="substring")``: calling it raises.

        Negated (``expect(f).not_.to_raise(ValueError)``), calling it must not raise that
        exception (with ``match``: that exception with that text); it failing that way is an
        ``AssertionError`` chained to the exception. Other exceptions propagate unchanged in
        both forms, as from any code under test.
        """
        if not callable(self.actual):
            raise TypeError(f"expect(...).to_raise() needs a callable, got {_show(self.actual)}")
        if not (_is_exception_type(exception) or (
            isinstance(exception, tuple) and exception and all(_is_exception_type(e) for e in exception)
        )):
            raise TypeError(f"expect(...).to_raise() takes an exception class, got {_show(exception)}")
        what = _exc_names(exception) + (f" matching {match!r}" if match is not None else "")
        try:
            result = self.actual()
        except exception as exc:
            got = f"got {type(exc).__name__}: {_cut(str(exc))}" if str(exc) else f"got {type(exc).__name__}"
            if match is not None and match not in str(exc):
                if self.negated:
                    raise
                raise AssertionError(f"expected {what}, {got}") from exc
            if self.negated:
                raise AssertionError(f"expected {what} not to be raised, {got}") from exc
            return self
        if _is_awaitable(result):
            _close(result)
            raise TypeError(
                "expect(...).to_raise() calls its argument synchronously and got an awaitable: "
                "await the call in an async test and check the exception there"
            )
        if self.negated:
            return _Expectation(self.actual)
        raise AssertionError(f"expected {what} to be raised, nothing was raised (it returned {_show(result)})")


def _is_awaitable(value):
    return hasattr(value, "__await__") and not isinstance(value, type)


def _close(awaitable):
    close = getattr(awaitable, "close", None)
    if callable(close):
        try:
            close()
        except Exception:
            pass


def expect(actual):
    """Fluent assertions: ``expect(x).to_equal(y)``, negated ``expect(x).not_.to_equal(y)``.
    Plain ``assert`` works just as well. The matchers are listed in docs/expect.md."""
    return _Expectation(actual)


# Benchmark groups, registered as their modules are imported; the runner reads this list.
groups = []

_GROUP_OPTIONS = ("warmup", "rounds", "samples", "iterations", "target_time_ms", "max_time_s")


class BenchmarkGroup:
    """A set of entries timed against each other, e.g. two implementations of one job."""

    def __init__(self, name, baseline=None, **options):
        if not isinstance(name, str) or not name:
            raise TypeError(f"BenchmarkGroup needs a non-empty name, got {name!r}")
        unknown = sorted(set(options) - set(_GROUP_OPTIONS))
        if unknown:
            raise TypeError(
                f"BenchmarkGroup({name!r}): unknown option(s) {', '.join(unknown)}; "
                f"known: {', '.join(_GROUP_OPTIONS)}"
            )
        if "rounds" in options and "samples" not in options:
            options["samples"] = options.pop("rounds")
        self.name = name
        self.baseline = baseline
        self.options = options
        self.entries = []  # [(name, function)] in declaration order
        register_group(self)

    def add(self, name=None):
        """Decorator adding an entry (sync or async function taking no arguments)."""

        def register(func):
            entry_name = name if name is not None else func.__name__
            if any(existing == entry_name for existing, _ in self.entries):
                raise ValueError(f"benchmark group {self.name!r} already has an entry named {entry_name!r}")
            self.entries.append((entry_name, func))
            return func

        if callable(name):  # bare @group.add
            func, name = name, None
            return register(func)
        return register

    def __repr__(self):
        return f"BenchmarkGroup({self.name!r}, entries={[n for n, _ in self.entries]!r})"


def register_group(group):
    """Register a group explicitly; repeating it is harmless."""
    if not any(g is group for g in groups):
        groups.append(group)
    return group


# The benchmark harness's inner loops. They live in Python so that timing one sample crosses
# into the runner only at its edges: the clock is read before and after n calls, never per call.
# itertools.repeat, as timeit uses, iterates without making an int per call.
def _time_sync(fn, n, _clock=__import__("time").perf_counter_ns, _repeat=__import__("itertools").repeat):
    loops = _repeat(None, n)
    start = _clock()
    for _ in loops:
        fn()
    return _clock() - start


async def _time_async(fn, n, _clock=__import__("time").perf_counter_ns, _repeat=__import__("itertools").repeat):
    loops = _repeat(None, n)
    start = _clock()
    for _ in loops:
        await fn()
    return _clock() - start


def _noop():
    """The empty entry: its time per call is the harness's own overhead."""
