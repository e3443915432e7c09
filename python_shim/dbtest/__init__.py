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

    __slots__ = ("tags", "timeout", "skip")

    def __init__(self, tags=(), timeout=None, skip=None):
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
        self.tags = tags
        self.timeout = timeout
        self.skip = skip

    def __repr__(self):
        return f"TestMeta(tags={self.tags!r}, timeout={self.timeout!r}, skip={self.skip!r})"


# Suites declare thousands of tests with a handful of distinct option sets: build each
# TestMeta (and its marker) once. Keys hold only hashable, already-seen option values.
_MARKERS = {}


def _marker(meta):
    def mark(f):
        if not callable(f):
            raise TypeError(f"@test decorates functions, got {f!r}")
        f.__dbtest__ = meta
        return f

    return mark


_BARE = _marker(TestMeta())


def test(func=None, *, tags=(), timeout=None, skip=None):
    """Mark a function or a ``TestSuite`` method as a test.

    Works bare (``@test``) or with options (``@test(tags=["db"], timeout=5, skip="why")``).
    The function is returned unchanged, so it stays callable and introspectable.
    """
    if func is not None:
        return _BARE(func) if not (tags or timeout is not None or skip is not None) else _marker(TestMeta(tags, timeout, skip))(func)
    try:
        key = (tuple(tags) if isinstance(tags, (list, tuple)) else tags, timeout, skip)
        return _MARKERS[key]
    except (KeyError, TypeError):
        pass
    mark = _marker(TestMeta(tags=tags, timeout=timeout, skip=skip))
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

    def setup_suite(self):
        pass

    def teardown_suite(self):
        pass

    def setup(self):
        pass

    def teardown(self):
        pass


_MISSING = object()


class _Expectation:
    __slots__ = ("actual",)

    def __init__(self, actual):
        self.actual = actual

    def _check(self, ok, message):
        if not ok:
            raise AssertionError(message)
        return self

    def to_equal(self, expected):
        return self._check(self.actual == expected, f"expected {self.actual!r} to equal {expected!r}")

    def not_to_equal(self, other):
        return self._check(self.actual != other, f"expected {self.actual!r} not to equal {other!r}")

    def to_be(self, expected):
        return self._check(self.actual is expected, f"expected {self.actual!r} to be {expected!r}")

    def to_be_true(self):
        return self._check(self.actual is True, f"expected {self.actual!r} to be True")

    def to_be_false(self):
        return self._check(self.actual is False, f"expected {self.actual!r} to be False")

    def to_be_none(self):
        return self._check(self.actual is None, f"expected {self.actual!r} to be None")

    def to_contain(self, item):
        try:
            ok = item in self.actual
        except TypeError:
            ok = False
        return self._check(ok, f"expected {self.actual!r} to contain {item!r}")

    def to_have_length(self, length):
        try:
            actual_length = len(self.actual)
        except TypeError:
            raise AssertionError(f"expected {self.actual!r} to have a length, it has none") from None
        return self._check(
            actual_length == length,
            f"expected {self.actual!r} to have length {length}, it has length {actual_length}",
        )

    def to_be_greater_than(self, other):
        return self._check(self.actual > other, f"expected {self.actual!r} to be greater than {other!r}")

    def to_be_less_than(self, other):
        return self._check(self.actual < other, f"expected {self.actual!r} to be less than {other!r}")

    def to_raise(self, exception=Exception, match=None):
        """``expect(callable).to_raise(ValueError, match="substring")``."""
        if not callable(self.actual):
            raise TypeError(f"expect(...).to_raise() needs a callable, got {self.actual!r}")
        try:
            self.actual()
        except exception as exc:
            if match is not None and match not in str(exc):
                raise AssertionError(
                    f"expected {exception.__name__} matching {match!r}, got {type(exc).__name__}: {exc}"
                ) from exc
            return self
        raise AssertionError(f"expected {exception.__name__} to be raised, nothing was raised")


def expect(actual):
    """Fluent assertions: ``expect(x).to_equal(y)``. Plain ``assert`` works just as well."""
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
