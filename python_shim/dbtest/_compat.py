"""Running unittest and pytest-style tests the way their own runners do (fixtures: ``_fixtures``).

The dbtest binary imports a test file, then asks ``collect(module, rel, ...)`` for the file's
unittest and pytest-style tests, in the order ``python -m unittest``/pytest run them, and a
``Session`` runs them one by one: ``Session.run(item)`` drives the class and module set-up
that unittest's ``TestSuite`` and pytest's xunit fixtures would, then the test itself, and
returns an outcome tuple the binary turns into a report entry:

    (status, kind, message, exception, note)

``status`` is one of passed/failed/error/skipped/xfailed/xpassed; ``kind`` an error kind or
None; ``message`` a one-line text (None: the binary describes ``exception``); ``exception``
the exception to describe (its traceback already trimmed of unittest's/pytest's frames);
``note`` extra text appended to the traceback (other failures: further subtests, teardown).

pytest is never imported here unless the test file imported it: marks are read only when
``pytest`` is in ``sys.modules``.
"""

from __future__ import annotations

import inspect
import os
import sys
import warnings


# pytest's python_classes / python_functions / asyncio_mode (see ``configure``).
_CLASS_PATTERNS = ("Test",)
_FUNC_PATTERNS = ("test",)


def configure(python_classes, python_functions, asyncio_mode):
    """pytest's ini values, once per interpreter: name patterns (a prefix, or a glob when it
    has ``*?[``) and asyncio_mode ("strict" or "auto")."""
    global _CLASS_PATTERNS, _FUNC_PATTERNS
    _CLASS_PATTERNS = tuple(python_classes) or ("Test",)
    _FUNC_PATTERNS = tuple(python_functions) or ("test",)
    _ASYNCIO_MODE[0] = "auto" if asyncio_mode == "auto" else "strict"
    fixtures = sys.modules.get("dbtest._fixtures")
    if fixtures is not None:
        fixtures.ASYNCIO_MODE[0] = _ASYNCIO_MODE[0]


# What `_fixtures` is told when it is first needed: asyncio_mode (`configure`), and the
# project's root (from the first `load_conftests`).
_ASYNCIO_MODE = ["strict"]
_ROOT = [None]
_FIXTURES = []


def _fx():
    """The `_fixtures` module, imported when a test first needs it: a plain unittest suite
    never does (its import is about a millisecond of each worker's start)."""
    if not _FIXTURES:
        from . import _fixtures

        _fixtures.ASYNCIO_MODE[0] = _ASYNCIO_MODE[0]
        if _fixtures._ROOT[0] is None:
            _fixtures._ROOT[0] = _ROOT[0]
        _FIXTURES.append(_fixtures)
    return _FIXTURES[0]


# A file's folder (as given) -> whether no folder from the root down to it has a conftest.py.
_NO_CONFTEST = {}


def load_conftests(path, root):
    """`_fixtures.load_conftests`, but for a file with no conftest.py from the root down to
    its folder (each folder looked at once), nothing to do and `_fixtures` not imported."""
    if _ROOT[0] is None:
        _ROOT[0] = os.path.abspath(root)
    folder = os.path.dirname(path)
    none = _NO_CONFTEST.get(folder)
    if none is None:
        none = _NO_CONFTEST[folder] = not any(
            os.path.isfile(os.path.join(d, "conftest.py")) for d in _folders(path, _ROOT[0])
        )
    if none:
        return ()
    return _fx().load_conftests(path, root)


def _folders(path, root):
    """Folders from ``root`` down to ``path``'s own, or just its own if it is outside root."""
    d = os.path.dirname(os.path.abspath(path))
    out = []
    while True:
        out.append(d)
        if d == root or os.path.dirname(d) == d:
            break
        d = os.path.dirname(d)
    if out[-1] != root:
        return [out[0]]
    return out[::-1]


def _matches(name, patterns):
    for p in patterns:
        if "*" in p or "?" in p or "[" in p:
            import fnmatch

            if fnmatch.fnmatch(name, p):
                return True
        elif name.startswith(p):
            return True
    return False


def _is_test_class(name):
    if _CLASS_PATTERNS == ("Test",):
        return name.startswith("Test")
    return _matches(name, _CLASS_PATTERNS)


def _is_test_function(name):
    if _FUNC_PATTERNS == ("test",):
        return name.startswith("test")
    return _matches(name, _FUNC_PATTERNS)


# Test files (and their conftests) are imported one at a time per process: two threads
# importing the same package at once can each see it half-initialized (CPython breaks the
# lock cycle by handing one of them the partial module: "cannot import name X from partially
# initialized module"), which pytest, importing serially, never shows. Tests still run at once.
IMPORT_LOCK = __import__("threading").RLock()

_FUNCTION = type(configure)

# Mark names that mean something to the runner; any other mark is a tag.
_RUNNER_MARKS = frozenset({"skip", "skipif", "xfail", "parametrize", "usefixtures", "filterwarnings"})


# The parameters of an unparametrized test, shared (read only: tests get a copy as kwargs).
_NO_PARAMS = {}


class Item:
    """One test: a unittest method, or a pytest-style function/method (one parametrized case)."""

    __slots__ = (
        "style",  # "unittest" | "pytest"
        "cls",  # the class (None for module-level functions)
        "suite",  # the class's name in the module, or None
        "name",  # method/function name with the param id: test_f[1-a]
        "func",  # the function to call (pytest style) or the method name (unittest)
        "params",  # dict of parametrized arguments
        "marks",  # list of Mark objects (pytest style)
        "tags",  # other mark names
        "line",
        "missing",  # arguments nothing provides: an error of kind fixture
        "collect_error",  # an exception raised while making this item (bad parametrize...)
        "instance",  # a test made by the module's load_tests (a doctest...), run as it is
        "fx",  # the resolved fixtures (_fixtures.Plan), or None: the test uses none
        "fparams",  # parametrized fixtures: name -> (param, index)
        "argkeys",  # [(scope rank, key)] of higher-scoped params: pytest's reorder_items
    )

    def __init__(self, style, cls, suite, name, func, line, params=None, marks=(), tags=(), missing=(), collect_error=None):
        self.style = style
        self.cls = cls
        self.suite = suite
        self.name = name
        self.func = func
        # Stored as given (callers pass fresh lists or empty tuples; nothing mutates them):
        # copying them cost every one of thousands of items.
        self.params = params if params is not None else _NO_PARAMS
        self.marks = marks
        self.tags = tags
        self.line = line
        self.missing = missing
        self.collect_error = collect_error
        self.instance = None
        self.fx = None
        self.fparams = None
        self.argkeys = None

    def descriptor(self):
        return (self.suite, self.name, self.tags, self.line)


def _line_of(func):
    if type(func) is _FUNCTION and getattr(func, "__wrapped__", _MISSING) is _MISSING:
        return func.__code__.co_firstlineno
    code = getattr(func, "__code__", None)
    if code is None or hasattr(func, "__wrapped__"):
        try:
            func = inspect.unwrap(func)
        except Exception:  # noqa: BLE001
            pass
        code = getattr(func, "__code__", None)
    if code is None:
        return None
    return code.co_firstlineno


def _marks_of(obj):
    """pytest's ``get_unpacked_marks``: Mark objects stored on a function, class or module."""
    if isinstance(obj, type):
        lists = [k.__dict__.get("pytestmark", []) for k in reversed(obj.__mro__)]
    else:
        lists = [getattr(obj, "pytestmark", [])]
    out = []
    for item in lists:
        if item is None:
            continue
        if isinstance(item, (list, tuple)):
            out.extend(item)
        else:
            out.append(item)
    marks = []
    for m in out:
        m = getattr(m, "mark", m)  # a MarkDecorator holds its Mark
        if hasattr(m, "name") and hasattr(m, "args") and hasattr(m, "kwargs"):
            marks.append(m)
    return marks


def _funcargnames(func, cls=None, name="", static=None):
    """pytest's ``getfuncargnames``: mandatory arguments not bound to an instance. ``static``:
    whether ``cls``'s attribute ``name`` is a staticmethod, when the caller knows (None:
    looked up here)."""
    if type(func) is _FUNCTION:
        # The common case, without inspect.signature's cost.
        code = func.__code__
        if (
            not code.co_posonlyargcount
            and getattr(func, "__wrapped__", _MISSING) is _MISSING
            and getattr(func, "__signature__", _MISSING) is _MISSING
        ):
            npos = code.co_argcount
            if cls is None and not npos and not code.co_kwonlyargcount:
                return ()
            names = code.co_varnames[:npos]
            defaults = func.__defaults__
            if defaults:
                names = names[: npos - len(defaults)]
            if code.co_kwonlyargcount:
                kwonly = code.co_varnames[npos : npos + code.co_kwonlyargcount]
                kwdefaults = func.__kwdefaults__ or {}
                names = names + tuple(k for k in kwonly if k not in kwdefaults)
            if cls is not None:
                if static is None:
                    static = isinstance(inspect.getattr_static(cls, name or func.__name__, None), staticmethod)
                if not static:
                    names = names[1:]
            return names
    try:
        params = inspect.signature(func).parameters.values()
    except (ValueError, TypeError):
        return ()
    names = tuple(
        p.name
        for p in params
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        and p.default is inspect.Parameter.empty
    )
    if not name:
        name = getattr(func, "__name__", "")
    if (
        cls is not None
        and not any(p.kind is inspect.Parameter.POSITIONAL_ONLY for p in params)
        and not isinstance(inspect.getattr_static(cls, name, None), staticmethod)
    ):
        names = names[1:]
    if hasattr(func, "__wrapped__"):
        # mock.patch decorators supply their own arguments.
        patchings = getattr(func, "patchings", None)
        if patchings:
            names = names[len([p for p in patchings if not getattr(p, "attribute_name", None) and p.new is _mock_default()]):]
    return names


def _mock_default():
    m = sys.modules.get("unittest.mock")
    return getattr(m, "DEFAULT", object()) if m else object()


# ---------------------------------------------------------------- parametrize

def _idval_from_value(val):
    import enum
    import re

    if isinstance(val, str):
        return _ascii_escaped(val)
    if isinstance(val, bytes):
        return _ascii_escaped(val)
    if val is None or isinstance(val, (float, int, bool, complex)):
        return str(val)
    if isinstance(val, re.Pattern):
        return _ascii_escaped(val.pattern)
    if isinstance(val, enum.Enum):
        return str(val)
    if isinstance(getattr(val, "__name__", None), str):
        return val.__name__
    return None


def _ascii_escaped(val):
    if isinstance(val, bytes):
        return val.decode("ascii", "backslashreplace")
    return val.encode("unicode_escape").decode("ascii")


def _make_ids(argnames, paramsets, ids, idfn, nodeid):
    """Ids of one parametrize call's cases, as pytest's IdMaker makes them."""
    try:
        from _pytest.python import IdMaker

        return [str(i) for i in IdMaker(argnames, paramsets, idfn, ids, None, nodeid).make_unique_parameterset_ids()]
    except ImportError:
        pass
    resolved = []
    for idx, ps in enumerate(paramsets):
        if ps.id is not None:
            resolved.append(_ascii_escaped(ps.id))
        elif ids and idx < len(ids) and ids[idx] is not None:
            resolved.append(_idval_from_value(ids[idx]) or str(ids[idx]))
        else:
            parts = []
            for val, argname in zip(ps.values, argnames):
                v = None
                if idfn is not None:
                    got = idfn(val)
                    v = None if got is None else _idval_from_value(got)
                if v is None and not (isinstance(val, (str, bytes)) and len(val) > 100):
                    v = _idval_from_value(val)
                parts.append(v if v is not None else f"{argname}{idx}")
            resolved.append("-".join(parts))
    if len(set(resolved)) != len(resolved):
        from collections import Counter, defaultdict

        counts = Counter(resolved)
        suffixes = defaultdict(int)
        for index, id_ in enumerate(resolved):
            if counts[id_] > 1:
                suffix = "_" if id_ and id_[-1].isdigit() else ""
                new = f"{id_}{suffix}{suffixes[id_]}"
                while new in set(resolved):
                    suffixes[id_] += 1
                    new = f"{id_}{suffix}{suffixes[id_]}"
                resolved[index] = new
                suffixes[id_] += 1
    return resolved


def _parametrize_args(m):
    """(argnames, argvalues, kwargs, force_tuple) of a parametrize mark."""
    args = list(m.args)
    kwargs = dict(m.kwargs)
    argnames = args.pop(0) if args else kwargs.pop("argnames")
    argvalues = args.pop(0) if args else kwargs.pop("argvalues")
    if isinstance(argnames, str):
        trailing = argnames.rstrip().endswith(",")
        argnames = [x.strip() for x in argnames.split(",") if x.strip()]
        force_tuple = len(argnames) == 1 and not trailing
    else:
        argnames = list(argnames)
        force_tuple = False
    return argnames, argvalues, kwargs, force_tuple


def _parametrized_names(marks):
    """Names the parametrize marks give: {name: (indirect, scope or None)}."""
    out = {}
    for m in marks:
        if m.name != "parametrize":
            continue
        argnames, _, kwargs, _ = _parametrize_args(m)
        indirect = kwargs.get("indirect", False)
        for a in argnames:
            ind = indirect is True or (isinstance(indirect, (list, tuple)) and a in indirect)
            out.setdefault(a, (ind, kwargs.get("scope")))
    return out


def _expand(func, marks, nodeid, cases=None):
    """The parametrized cases of a test: [(id or None, params dict, extra marks, fixture
    params {name: (param, index)})]."""
    if cases is None:
        cases = [(None, {}, [], {})]
    pmarks = [m for m in marks if m.name == "parametrize"]
    if not pmarks:
        return cases
    from _pytest.mark.structures import ParameterSet

    for m in pmarks:
        argnames, argvalues, kwargs, force_tuple = _parametrize_args(m)
        ids = kwargs.get("ids")
        indirect = kwargs.get("indirect", False)
        indirect = set(argnames) if indirect is True else set(indirect or ())
        paramsets = [ParameterSet.extract_from(x, force_tuple=force_tuple) for x in argvalues]
        idfn = ids if callable(ids) else None
        ids = None if callable(ids) or ids is None else list(ids)
        if not paramsets:
            # pytest skips a test whose parameter set is empty.
            new = []
            for cid, params, extra, fparams in cases:
                p = dict(params)
                for a in argnames:
                    p[a] = None
                skip = _SyntheticMark("skip", (), {"reason": f"got empty parameter set for ({', '.join(argnames)})"})
                new.append((_join(cid, "NOTSET"), p, extra + [skip], fparams))
            cases = new
            continue
        made = _make_ids(argnames, paramsets, ids, idfn, nodeid)
        new = []
        for cid, params, extra, fparams in cases:
            for index, (ps, pid) in enumerate(zip(paramsets, made)):
                p = dict(params)
                fp = dict(fparams) if indirect else fparams
                for a, v in zip(argnames, ps.values):
                    if a in indirect:
                        fp[a] = (v, index)
                    else:
                        p[a] = v
                new.append((_join(cid, pid), p, extra + [getattr(x, "mark", x) for x in ps.marks], fp))
        cases = new
    return cases


def _join(a, b):
    return b if a is None else f"{a}-{b}"


class _SyntheticMark:
    __slots__ = ("name", "args", "kwargs")

    def __init__(self, name, args, kwargs):
        self.name, self.args, self.kwargs = name, args, kwargs


# ---------------------------------------------------------------- collection

def _is_dbtest(obj):
    if type(obj) is _FUNCTION:
        return "__dbtest__" in obj.__dict__
    if hasattr(obj, "__dbtest__"):
        return True
    dbtest = sys.modules.get("dbtest")
    base = getattr(dbtest, "TestSuite", None)
    return isinstance(obj, type) and base is not None and issubclass(obj, base)


def _pytest_items(
    cls, suite, name, func, module_marks, rel, has_pytest, module=None, class_marks=None, argnames=None, visible=None
):
    """The items for one pytest-style function (one per parametrized case). ``class_marks``,
    ``argnames`` and ``visible``: what the caller already computed (None: computed here)."""
    if has_pytest:
        if class_marks is None:
            class_marks = _marks_of(cls) if cls is not None else []
        marks = _marks_of(func) + class_marks + module_marks
    else:
        marks = list(module_marks)
    line = _line_of(func)
    if argnames is None:
        argnames = _funcargnames(func, cls=cls, name=name)
    if not marks and module is not None:
        # The common case, no marks: tests with the same arguments share one resolution,
        # and there is nothing to expand.
        try:
            if not visible:
                visible = _fx().visible_for(module, cls, _fx()._ROOT[0] or "")
            got = visible.memo.get(argnames)
            if got is None:
                nodeid = f"{rel}::{suite}::{name}" if suite else f"{rel}::{name}"
                got = visible.memo[argnames] = _fixture_cases_uncached(visible, marks, argnames, nodeid)
        except BaseException as e:  # noqa: BLE001 - a bad fixture set-up is this test's error
            if isinstance(e, KeyboardInterrupt):
                raise
            return [Item("pytest", cls, suite, name, func, line, marks=marks, collect_error=e)]
        fx, cases, pscopes = got
        if cases is None:
            missing = () if fx is not None or not argnames else list(argnames)
            item = Item("pytest", cls, suite, name, func, line, None, (), (), missing)
            item.fx = fx
            if pscopes:
                item.argkeys = _argkeys(item, _NO_PARAMS, None, pscopes, rel)
            return (item,)
    else:
        nodeid = f"{rel}::{suite}::{name}" if suite else f"{rel}::{name}"
        try:
            fx, cases, pscopes = _fixture_cases(module, cls, marks, argnames, nodeid)
            cases = _expand(func, marks, nodeid, cases)
        except BaseException as e:  # noqa: BLE001 - a bad parametrize is this test's error
            if isinstance(e, KeyboardInterrupt):
                raise
            return [Item("pytest", cls, suite, name, func, line, marks=marks, collect_error=e)]
    items = []
    for cid, params, extra, fparams in cases:
        all_marks = extra + marks
        tags = []
        for m in all_marks:
            if m.name not in _RUNNER_MARKS and m.name not in tags:
                tags.append(m.name)
        missing = [] if fx is not None else [a for a in argnames if a not in params]
        full = name if cid is None else f"{name}[{cid}]"
        item = Item("pytest", cls, suite, full, func, line, params, all_marks, tags, missing)
        item.fx = fx
        if fparams:
            item.fparams = fparams
        if pscopes:
            item.argkeys = _argkeys(item, params, fparams, pscopes, rel)
        items.append(item)
    return items


def _fixture_cases(module, cls, marks, argnames, nodeid):
    """A test's fixtures resolved once (None if it uses none), its cases from parametrized
    fixtures (before its parametrize marks, as pytest forms ids) and the scope rank of each
    parametrized name wider than a function."""
    if module is None:
        return None, None, None
    visible = _fx().visible_for(module, cls, _fx()._ROOT[0] or "")
    if not marks:
        # The common case (no marks): tests with the same arguments share one resolution.
        got = visible.memo.get(argnames)
        if got is None:
            got = visible.memo[argnames] = _fixture_cases_uncached(visible, marks, argnames, nodeid)
        return got
    return _fixture_cases_uncached(visible, marks, argnames, nodeid)


def _fixture_cases_uncached(visible, marks, argnames, nodeid):
    usefix = [a for m in marks if m.name == "usefixtures" for a in m.args]
    if not argnames and not usefix and not visible.autouse:
        return None, None, None
    direct = _parametrized_names(marks) if any(m.name == "parametrize" for m in marks) else {}
    ignore = {a for a, (ind, _) in direct.items() if not ind}
    initial = list(dict.fromkeys(visible.autouse + usefix + list(argnames)))
    fx = _fx().plan(visible, initial, argnames, ignore)
    cases = [(None, {}, [], {})]
    pscopes = {}
    for a, (ind, scope) in direct.items():
        defs = visible.defs.get(a)
        rank = _fx()._RANK.get(scope) if scope else (defs[-1].rank if ind and defs else 0)
        if rank:
            pscopes[a] = rank
    for n in fx.closure:
        if n in direct:
            continue
        for fdef in reversed(visible.defs.get(n, ())):
            if fdef.params is not None:
                if fdef.rank:
                    pscopes[n] = fdef.rank
                cases = _fixture_param_cases(cases, n, fdef, nodeid)
                break
            if n not in fdef.argnames:
                break
    return fx, cases, pscopes


def _unittest_fixtures(module, cls, marks):
    """The fixtures pytest gives a TestCase's test: autouse ones and `usefixtures`."""
    visible = _fx().visible_for(module, cls, _fx()._ROOT[0] or "")
    usefix = [a for m in marks if m.name == "usefixtures" for a in m.args]
    if not usefix and not visible.autouse:
        return None
    return _fx().plan(visible, list(dict.fromkeys(visible.autouse + usefix)), (), set())


def _fixture_param_cases(cases, name, fdef, nodeid):
    from _pytest.mark.structures import ParameterSet

    paramsets = [ParameterSet.extract_from(x, force_tuple=True) for x in fdef.params]
    ids = fdef.ids
    idfn = ids if callable(ids) else None
    ids = None if callable(ids) or ids is None else list(ids)
    if not paramsets:
        skip = _SyntheticMark("skip", (), {"reason": f"got empty parameter set for ({name})"})
        return [(_join(cid, "NOTSET"), p, extra + [skip], fp) for cid, p, extra, fp in cases]
    made = _make_ids([name], paramsets, ids, idfn, nodeid)
    new = []
    for cid, params, extra, fparams in cases:
        for index, (ps, pid) in enumerate(zip(paramsets, made)):
            fp = dict(fparams)
            fp[name] = (ps.values[0], index)
            new.append((_join(cid, pid), params, extra + [getattr(x, "mark", x) for x in ps.marks], fp))
    return new


def _argkeys(item, params, fparams, pscopes, rel):
    """pytest's ParamArgKeys of an item's higher-scoped params: [(rank, key)]."""
    out = []
    for name, rank in pscopes.items():
        if fparams and name in fparams:
            value, index = fparams[name]
        elif name in params:
            value, index = params[name], None
        else:
            continue
        try:
            hash(value)
            pkey = ("v", type(value), value)
        except TypeError:
            pkey = ("i", index)
        where = None if rank == 4 else rel.rsplit("/", 1)[0] if rank == 3 else rel
        out.append((rank, (name, pkey, where, item.cls if rank == 1 else None)))
    return out


def _reorder(items):
    """pytest's reorder_items: group tests sharing a higher-scoped param, widest scope first."""
    if not any(it.argkeys for it in items):
        return items
    from collections import OrderedDict, defaultdict, deque

    ranks = (4, 3, 2, 1)
    by_item = {r: {} for r in ranks}
    by_key = {r: defaultdict(OrderedDict) for r in ranks}
    for it in items:
        for r in ranks:
            keys = dict.fromkeys(k for rk, k in (it.argkeys or ()) if rk == r)
            if keys:
                by_item[r][it] = keys
                for k in keys:
                    by_key[r][k][it] = None

    def at(its, r):
        if r == 0 or len(its) < 3:
            return its
        ignore = set()
        dq = deque(its)
        done = {}
        while dq:
            no_key = {}
            slicing = None
            while dq:
                it = dq.popleft()
                if it in done or it in no_key:
                    continue
                keys = dict.fromkeys(k for k in by_item[r].get(it, ()) if k not in ignore)
                if not keys:
                    no_key[it] = None
                else:
                    slicing, _ = keys.popitem()
                    matching = [i for i in by_key[r][slicing] if i in its]
                    for i in reversed(matching):
                        dq.appendleft(i)
                        for other in ranks:
                            for k in by_item[other].get(i, ()):
                                d = by_key[other][k]
                                d[i] = None
                                d.move_to_end(i, last=False)
                    break
            if no_key:
                done.update(at(no_key, r - 1))
            if slicing is not None:
                ignore.add(slicing)
        return done

    return list(at(dict.fromkeys(items), 4))


def _unittest_names(cls):
    """[(name, method)] of a TestCase class's tests, as ``getTestCaseNames`` lists them."""
    import unittest

    loader = unittest.defaultTestLoader
    if (
        _DEFAULT_LOADER_NAMES
        and type(loader) is unittest.TestLoader
        and type(loader).getTestCaseNames.__module__ == "unittest.loader"
        and loader.testNamePatterns is None
        and loader.sortTestMethodsUsing is unittest.util.three_way_cmp
        and type(loader.testMethodPrefix) is str
    ):
        # The default loader's own steps without their per-name cost (a full name formatted
        # for no pattern, a sort by a Python comparison of what ``dir`` already sorted).
        prefix = loader.testMethodPrefix
        out = []
        if type(cls) is not type:
            for attr in dir(cls):
                if attr.startswith(prefix):
                    obj = getattr(cls, attr)
                    if callable(obj):
                        out.append((attr, obj))
            return out
        # Without a metaclass, `dir` lists the names of the classes of the MRO, and getattr
        # finds a name's first definition there (a function: itself).
        found = {}
        for k in cls.__mro__:
            for attr, obj in k.__dict__.items():
                if attr.startswith(prefix) and attr not in found:
                    found[attr] = obj
        for attr in sorted(found):
            obj = found[attr]
            if type(obj) is not _FUNCTION:
                obj = getattr(cls, attr)
                if not callable(obj):
                    continue
            out.append((attr, obj))
        return out
    return [(n, getattr(cls, n, None)) for n in loader.getTestCaseNames(cls)]


# 3.11's TestLoader.getTestCaseNames, which `_unittest_names` mirrors.
_DEFAULT_LOADER_NAMES = sys.version_info[:2] == (3, 11)


def _uses_unittest_asserts(cls):
    """Whether a plain class's test methods call ``self.assert*``: a unittest mixin."""
    for k in cls.__mro__[:-1]:
        for name, obj in vars(k).items():
            code = getattr(obj, "__code__", None)
            if name.startswith("test") and code is not None:
                if any(n.startswith("assert") for n in code.co_names):
                    return True
    return False


class _PerThreadList:
    """unittest's module cleanups, one list per thread: files run concurrently on threads,
    and each file's ``doModuleCleanups()`` must run its own cleanups only."""

    def __init__(self, initial):
        import threading

        self._local = threading.local()
        self._list().extend(initial)

    def _list(self):
        try:
            return self._local.items
        except AttributeError:
            items = self._local.items = []
            return items

    def append(self, item):
        self._list().append(item)

    def pop(self, *index):
        return self._list().pop(*index)

    def clear(self):
        self._list().clear()

    def __bool__(self):
        return bool(self._list())

    def __len__(self):
        return len(self._list())

    def __iter__(self):
        return iter(self._list())


def _isolate_module_cleanups():
    case = sys.modules.get("unittest.case")
    current = getattr(case, "_module_cleanups", None)
    if isinstance(current, list):
        case._module_cleanups = _PerThreadList(current)


def _do_module_cleanups():
    """unittest's module cleanups of this thread's file, if unittest is (fully) imported: it
    may be half-imported by another thread right now."""
    do = getattr(sys.modules.get("unittest.case"), "doModuleCleanups", None)
    if do is not None:
        _isolate_module_cleanups()
        do()


# unittest's own modules: their TestCase classes are bases, not tests.
_UNITTEST_OWN = frozenset({"unittest.case", "unittest.async_case", "unittest.suite", "unittest.loader"})


def collect(module, rel):
    """The unittest and pytest-style tests of an imported module, in run order."""
    items = []
    unittest = sys.modules.get("unittest")
    if unittest is not None:
        _isolate_module_cleanups()
    testcase = getattr(unittest, "TestCase", None) if unittest else None
    has_pytest = "pytest" in sys.modules and "_pytest.mark.structures" in sys.modules
    module_marks = _marks_of(module) if has_pytest else []
    seen = set()
    namespace = list(vars(module).items())
    # A unittest module that does not import pytest is run as `python -m unittest` runs it:
    # its mixins (plain `Test*` bases of its test cases) and its helper functions named
    # `test*` that take arguments are not pytest-style tests.
    mixins = set()
    unittest_module = False
    if testcase is not None and "pytest" not in vars(module):
        for _, value in namespace:
            if isinstance(value, type) and issubclass(value, testcase) and value is not testcase:
                unittest_module = True
                mixins.update(k for k in value.__mro__ if not issubclass(k, testcase))
    if not unittest_module and "pytest" not in vars(module) and "dbtest" in sys.modules:
        # A dbtest module's helpers named `test*` that take arguments are not tests either
        # (None: not looked at until a test function or class needs it).
        unittest_module = None
    default_names = _FUNC_PATTERNS == ("test",)
    visible = None  # the module's fixtures, once a test function needs them
    # Without marks, what `_pytest_items` makes of a function whose argument names resolved
    # (for an earlier test) to one case without params is one Item: argument names -> its
    # fixtures.
    lanes = {} if not module_marks else None
    reorder = False  # whether an item may have argkeys (`_reorder`)
    for key, value in namespace:
        if type(value) is _FUNCTION:
            if not (key.startswith("test") if default_names else _is_test_function(key)) or id(value) in seen:
                continue
            # (A function's own attributes, looked up without reading its __dict__, which
            # would make every function one.)
            if not getattr(value, "__test__", True) or getattr(value, "__dbtest__", _MISSING) is not _MISSING:
                continue
            seen.add(id(value))
            code = value.__code__
            plain = getattr(value, "__wrapped__", _MISSING) is _MISSING
            if not (code.co_argcount or code.co_kwonlyargcount) and plain and getattr(value, "__signature__", _MISSING) is _MISSING:
                argnames = ()  # what `_funcargnames` finds, without the call
            else:
                argnames = _funcargnames(value, name=key)
            if argnames:
                if unittest_module is None:
                    unittest_module = any(_is_dbtest(v) for _, v in namespace)
                if unittest_module:
                    continue  # a helper of a unittest module, not a test asking for fixtures
            if lanes is not None and plain and getattr(value, "pytestmark", _MISSING) is _MISSING:
                fx = lanes.get(argnames, _MISSING)
                if fx is not _MISSING:
                    item = Item("pytest", None, None, key, value, code.co_firstlineno, None, (), (), ())
                    item.fx = fx
                    items.append(item)
                    continue
            if visible is None:
                visible = _visible(module, None)
            items.extend(
                _pytest_items(None, None, key, value, module_marks, rel, has_pytest, module, argnames=argnames, visible=visible)
            )
            reorder = True
            if lanes is not None and visible:
                got = visible.memo.get(argnames)
                if got is not None and got[1] is None and not got[2] and (got[0] is not None or not argnames):
                    lanes[argnames] = got[0]
            continue
        if not isinstance(value, type):
            continue
        if testcase is not None and issubclass(value, testcase):
            if getattr(value, "__module__", "") in _UNITTEST_OWN:
                continue  # TestCase, IsolatedAsyncioTestCase, FunctionTestCase themselves
            items.extend(_unittest_items(module, key, value, has_pytest, module_marks))
            continue
        if unittest_module is None and _is_test_class(key):
            unittest_module = any(_is_dbtest(v) for _, v in namespace)
        if (
            not _is_test_class(key)
            or value in mixins
            or (unittest_module and _uses_unittest_asserts(value))
            or _is_dbtest(value)
            or not getattr(value, "__test__", True)
            or value.__init__ is not object.__init__
            or value.__new__ is not object.__new__
        ):
            continue
        # pytest's order: base classes' tests first, each name once.
        per_class = []
        names_seen = set()
        for k in (value,) + value.__mro__:
            found = []
            for n, obj in list(vars(k).items()):
                if n in names_seen:
                    continue
                names_seen.add(n)
                if not _is_test_function(n):
                    continue
                static = isinstance(obj, staticmethod)
                if static:
                    obj = obj.__func__
                if not inspect.isfunction(obj) or not getattr(obj, "__test__", True) or _is_dbtest(obj):
                    continue
                found.append((n, obj, static))
            per_class.append(found)
        class_marks = _marks_of(value) if has_pytest else []
        # Without a metaclass, what getattr_static finds for a name is its first definition
        # in the MRO: the one found above.
        plain_class = type(value) is type
        class_visible = None
        for found in reversed(per_class):
            for n, obj, static in found:
                if class_visible is None:
                    class_visible = _visible(module, value)
                argnames = _funcargnames(obj, cls=value, name=n, static=static) if plain_class else None
                items.extend(
                    _pytest_items(
                        value, key, n, obj, module_marks, rel, has_pytest, module, class_marks, argnames, class_visible
                    )
                )
                reorder = True
    if testcase is not None and callable(vars(module).get("load_tests")):
        items.extend(_load_tests_extras(module, items))
    return _reorder(items) if reorder else items


def _visible(module, cls):
    """The fixtures visible in the module (in class ``cls``), or False when finding them
    raises: each test then reports the error (`_pytest_items`)."""
    try:
        return _fx().visible_for(module, cls, _fx()._ROOT[0] or "")
    except BaseException as e:  # noqa: BLE001
        if isinstance(e, KeyboardInterrupt):
            raise
        return False


def _unittest_items(module, key, cls, has_pytest, module_marks):
    """The items of a TestCase class, in ``python -m unittest``'s order."""
    try:
        names = _unittest_names(cls)
    except Exception:  # noqa: BLE001
        return []
    items = []
    if not has_pytest:
        for n, method in names:
            if type(method) is _FUNCTION and getattr(method, "__wrapped__", _MISSING) is _MISSING:
                line = method.__code__.co_firstlineno  # what `_line_of` finds
            else:
                line = _line_of(method)
            items.append(Item("unittest", cls, key, n, n, line))
        return items
    class_marks = _marks_of(cls)
    plain_fx = _MISSING  # the fixtures of a test without marks (the same for each)
    for n, method in names:
        item = Item("unittest", cls, key, n, n, _line_of(method))
        if not class_marks and not module_marks and type(method) is _FUNCTION and "pytestmark" not in method.__dict__:
            # No marks (`_marks_of` finds none): no tags, and the class's autouse fixtures.
            if plain_fx is _MISSING:
                plain_fx = _unittest_fixtures(module, cls, ())
            item.fx = plain_fx
            items.append(item)
            continue
        # pytest applies marks to unittest tests too (skipif, xfail, tags), and its autouse
        # and `usefixtures` fixtures.
        item.marks = _marks_of(method) + class_marks + module_marks
        item.tags = list(dict.fromkeys(m.name for m in item.marks if m.name not in _RUNNER_MARKS))
        item.fx = _unittest_fixtures(module, cls, item.marks)
        items.append(item)
    return items


def _flatten(suite):
    import unittest

    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from _flatten(t)
        else:
            yield t


def _load_tests_extras(module, items):
    """Tests the module's ``load_tests`` adds (doctests, other modules' tests), run after the
    module's own, as ``path::load_tests::<test id>``."""
    import unittest

    ours = {(it.cls, it.func) for it in items if it.style == "unittest"}
    extras = []
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    for t in _flatten(suite):
        if (type(t), getattr(t, "_testMethodName", None)) in ours:
            continue
        name = t.id() if hasattr(t, "id") else repr(t)
        item = Item("unittest", type(t), "load_tests", name.replace("::", ":"), None, None)
        item.instance = t
        extras.append(item)
    return extras


# ---------------------------------------------------------------- outcomes

# dbtest's own modules: their frames are machinery, not the user's code.
_SHIM_MODULES = frozenset({"dbtest._compat", "dbtest._fixtures"})


def _trim(exc):
    """Drop unittest's and pytest's own frames (``__unittest`` globals, ``__tracebackhide__``)."""
    tb = exc.__traceback__
    frames = []
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    keep = [
        t
        for t in frames
        if "__unittest" not in t.tb_frame.f_globals
        and not t.tb_frame.f_locals.get("__tracebackhide__")
        and t.tb_frame.f_globals.get("__name__") not in _SHIM_MODULES
    ]
    if len(keep) == len(frames) or not keep:
        return exc
    # Rebuild the chain from the kept entries.
    import types

    new = None
    for t in reversed(keep):
        new = types.TracebackType(new, t.tb_frame, t.tb_lasti, t.tb_lineno)
    try:
        return exc.with_traceback(new)
    except Exception:  # noqa: BLE001
        return exc


def _outcome_classes():
    """pytest's outcome exceptions (Skipped, Failed, XFailed), if pytest was imported."""
    out = sys.modules.get("_pytest.outcomes")
    if out is None:
        return None, None, None
    # (getattr: another thread may be importing it right now.)
    return getattr(out, "Skipped", None), getattr(out, "Failed", None), getattr(out, "XFailed", None)


def module_skip_reason(exc):
    """The reason, if ``exc`` (raised while importing a file) skips the whole file."""
    skipped, _, _ = _outcome_classes()
    if skipped is not None and isinstance(exc, skipped):
        return str(getattr(exc, "msg", None) or exc) or "skipped"
    # unittest may be half-imported by another thread: no SkipTest yet.
    skip_test = getattr(sys.modules.get("unittest"), "SkipTest", None)
    if skip_test is not None and isinstance(exc, skip_test):
        return str(exc) or "skipped"
    return None


def _is_failure(exc, failure_exception=AssertionError):
    return isinstance(exc, failure_exception)


def _classify(exc):
    """Outcome of an exception raised by a pytest-style test or hook: (status, message)."""
    skipped, failed, xfailed = _outcome_classes()
    if skipped is not None and isinstance(exc, skipped):
        return "skipped", str(getattr(exc, "msg", None) or "skipped")
    # unittest may be half-imported by another thread: no SkipTest yet.
    skip_test = getattr(sys.modules.get("unittest"), "SkipTest", None)
    if skip_test is not None and isinstance(exc, skip_test):
        return "skipped", str(exc) or "skipped"
    if xfailed is not None and isinstance(exc, xfailed):
        return "xfailed", str(getattr(exc, "msg", None) or exc)
    if failed is not None and isinstance(exc, failed):
        return "failed", str(getattr(exc, "msg", None) or exc)
    if isinstance(exc, AssertionError):
        return "failed", None
    return "error", None


class _Result:
    """The unittest result object TestCase.run reports to, for one test at a time."""

    _class = None  # made once: unittest is imported by then

    def __init__(self):
        cls = _Result._class
        if cls is None:
            cls = _Result._class = _result_class()
        self.result = cls()


def _result_class():
    import unittest

    class Result(unittest.TestResult):
        def __init__(self):
            super().__init__()
            self.reset()

        def reset(self):
            self.problems = []  # (status, exc) of the test itself
            self.subtests = []  # (label, exc)
            self.skip = None
            self.xfail = None
            self.xpass = False
            # Whether anything above changed since: a test that passed leaves it
            # False, and the next test needs no reset.
            self.dirty = False

        def startTest(self, test):
            pass

        def stopTest(self, test):
            pass

        def addSuccess(self, test):
            pass

        def addError(self, test, err):
            self.dirty = True
            skipped, _, _ = _outcome_classes()
            if skipped is not None and isinstance(err[1], skipped):
                self.skip = str(getattr(err[1], "msg", None) or "skipped")  # pytest.skip()
                return
            self.problems.append(("error", err[1]))

        def addFailure(self, test, err):
            self.dirty = True
            self.problems.append(("failed", err[1]))

        def addSkip(self, test, reason):
            if getattr(test, "_subDescription", None) is not None and test is not getattr(self, "current", None):
                return  # a skipped subtest does not skip its test
            self.dirty = True
            self.skip = reason

        def addExpectedFailure(self, test, err):
            self.dirty = True
            self.xfail = err[1]

        def addUnexpectedSuccess(self, test):
            self.dirty = True
            self.xpass = True

        def addSubTest(self, test, subtest, err):
            if err is not None:
                self.dirty = True
                label = subtest._subDescription()
                self.subtests.append((label, err[1], issubclass(err[0], test.failureException)))

        def addDuration(self, test, elapsed):
            pass

    return Result


class Session:
    """Runs one file's items, doing class and module set-up once each, in order."""

    def __init__(self, module, rel):
        self.module = module
        self.rel = rel
        self.module_state = None  # None: not set up; "ok"; or a problem tuple
        self.cls = None  # the class currently set up
        self.cls_state = None
        self._cls_style = None
        self._cls_suite = None
        self._result = None
        self._loop = None
        # Class and module fixtures' cached values; problems of tearing one down early (a
        # param switch), reported with the next step.
        self._scope_map = None  # `_scopes`, made when a fixture first needs it
        self._pending = []
        # id(TestCase class) -> its `_class_kind`, asked once per class of the file
        self._kinds = {}

    # -------------------------------------------------------------- fixtures

    def _call_optional(self, func, arg):
        """pytest's _call_with_optional_argument."""
        code = getattr(func, "__code__", None)
        count = code.co_argcount if code is not None else 0
        if inspect.ismethod(func):
            count -= 1
        result = func(arg) if count else func()
        self._await(result)

    def _await(self, result):
        if result is not None and inspect.isawaitable(result):
            return self._event_loop().run_until_complete(result)
        return result

    def _event_loop(self):
        if self._loop is None:
            import asyncio

            self._loop = asyncio.new_event_loop()
        return self._loop

    def _setup_module(self):
        for name in ("setUpModule", "setup_module"):
            f = getattr(self.module, name, None)
            if f is not None and callable(f):
                try:
                    self._call_optional(f, self.module)
                except BaseException as e:  # noqa: BLE001
                    if isinstance(e, KeyboardInterrupt):
                        raise
                    try:
                        _do_module_cleanups()
                    except Exception:  # noqa: BLE001
                        pass  # the set-up's own error is the one reported
                    return self._setup_problem(e, name)
                break
        return "ok"

    def _setup_problem(self, e, name):
        status, message = _classify(e)
        if status in ("skipped", "xfailed"):
            return ("skipped", None, message, None, None)
        return ("error", "setup", f"{name} failed: {_one_line(e)}", _trim(e), None)

    def _teardown_module(self):
        """Problems of tearing down the module: [(entry name, exception)]."""
        problems = [(None, f.name, _trim(e)) for f, e in self._finish_scope(2)]
        if self.module_state != "ok":
            return problems
        for name in ("tearDownModule", "teardown_module"):
            f = getattr(self.module, name, None)
            if f is not None and callable(f):
                try:
                    self._call_optional(f, self.module)
                except BaseException as e:  # noqa: BLE001
                    if isinstance(e, KeyboardInterrupt):
                        raise
                    problems.append((None, name, _trim(e)))
                break
        try:
            _do_module_cleanups()
        except Exception as e:  # noqa: BLE001
            problems.append((None, "tearDownModule", _trim(e)))
        return problems

    def _setup_class(self, item):
        cls = item.cls
        if item.style == "unittest":
            if getattr(cls, "__unittest_skip__", False):
                return "ok"
            try:
                cls._classSetupFailed = False
            except TypeError:
                pass
            try:
                cls.setUpClass()
            except BaseException as e:  # noqa: BLE001
                if isinstance(e, KeyboardInterrupt):
                    raise
                try:
                    cls._classSetupFailed = True
                except TypeError:
                    pass
                try:
                    cls.doClassCleanups()
                except Exception:  # noqa: BLE001
                    pass
                return self._setup_problem(e, "setUpClass")
            return "ok"
        f = getattr(cls, "setup_class", None)
        if f is not None and callable(f):
            try:
                self._call_optional(f, cls)
            except BaseException as e:  # noqa: BLE001
                if isinstance(e, KeyboardInterrupt):
                    raise
                return self._setup_problem(e, "setup_class")
        return "ok"

    def _teardown_class(self):
        cls, style, state = self.cls, self._cls_style, self.cls_state
        self.cls = None
        suite = self._cls_suite
        problems = [(suite, f.name, _trim(e)) for f, e in self._finish_scope(1)]
        if cls is None or state != "ok":
            return problems
        if style == "unittest":
            if getattr(cls, "__unittest_skip__", False):
                return problems
            try:
                cls.tearDownClass()
            except BaseException as e:  # noqa: BLE001
                if isinstance(e, KeyboardInterrupt):
                    raise
                problems.append((suite, "tearDownClass", _trim(e)))
            try:
                cls.doClassCleanups()
                for info in getattr(cls, "tearDown_exceptions", []):
                    problems.append((suite, "tearDownClass", _trim(info[1])))
            except Exception as e:  # noqa: BLE001
                problems.append((suite, "tearDownClass", _trim(e)))
            return problems
        f = getattr(cls, "teardown_class", None)
        if f is not None and callable(f):
            try:
                self._call_optional(f, cls)
            except BaseException as e:  # noqa: BLE001
                if isinstance(e, KeyboardInterrupt):
                    raise
                problems.append((suite, "teardown_class", _trim(e)))
        return problems

    def enter(self, item):
        """Set up what ``item`` needs (tearing down the previous class if it changes).

        Returns (teardown problems of the previous class, set-up problem for this item or None);
        a problem list entry is (suite or None, hook name, exception)."""
        problems = []
        if self.cls is not None and (item.cls is not self.cls or item.suite != self._cls_suite):
            problems = self._teardown_class()
        if self.module_state is None:
            self.module_state = self._setup_module()
        if self.module_state != "ok":
            return problems, self.module_state
        if item.cls is not None and self.cls is None:
            self.cls = item.cls
            self._cls_style = item.style
            self._cls_suite = item.suite
            self.cls_state = self._setup_class(item)
        if item.cls is not None and self.cls_state != "ok":
            return problems, self.cls_state
        return problems, None

    def step(self, item):
        """``enter`` then ``run``: (the previous class's tear-down problems, the outcome)."""
        cls = item.cls
        if (
            cls is self.cls
            and self.module_state == "ok"
            and (cls is None or (self.cls_state == "ok" and item.suite == self._cls_suite))
        ):
            # Nothing to set up or tear down (the next test of the same class or of the
            # module's functions): what `enter` would find.
            if item.collect_error is not None:
                outcome = self.run(item)
            elif item.style == "unittest":
                # what `run` would call
                outcome = self._run_unittest(item) if item.marks else self._run_unittest_case(item)
            else:
                outcome = self._run_pytest(item)
            if self._pending:
                problems, self._pending = self._pending, []
                return problems, outcome
            return _STEPPED if outcome is _PASSED else ((), outcome)
        problems, setup = self.enter(item)
        outcome = setup if setup is not None else self.run(item)
        if self._pending:
            problems = problems + self._pending
            self._pending = []
        return problems, outcome

    @property
    def _scopes(self):
        """The file's class and module fixture scopes (by rank), made when first needed."""
        if self._scope_map is None:
            fixtures = _fx()
            self._scope_map = {1: fixtures.Scope("class"), 2: fixtures.Scope("module")}
        return self._scope_map

    def _finish_scope(self, rank):
        """Tear down scope ``rank``'s fixtures: [(fixture def, exception)]."""
        if self._scope_map is None:
            return []
        return self._scope_map[rank].finish(self._fins)

    def _fins(self, fins):
        return _fx()._run_fins(fins, self._await)

    def finish(self):
        """Tear down the last class and the module: [(suite or None, hook name, exception)]."""
        problems = self._teardown_class()
        problems.extend(self._teardown_module())
        if self._loop is not None:
            try:
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            except Exception:  # noqa: BLE001
                pass
            self._loop.close()
            self._loop = None
        return problems

    # -------------------------------------------------------------- tests

    def run(self, item):
        """Run one test (after ``enter``): its outcome tuple."""
        if item.collect_error is not None:
            return ("error", "exception", None, _trim(item.collect_error), None)
        if item.style == "unittest":
            if not item.marks:
                return self._run_unittest_case(item)
            return self._run_unittest(item)
        return self._run_pytest(item)

    def _run_unittest(self, item):
        xfail = None
        if item.marks:
            globs = vars(self.module)
            skip = _skip_reason(item.marks, globs)
            if skip is not None:
                return ("skipped", None, skip, None, None)
            xfail = _xfail_of(item.marks, globs)
            if xfail is not None and not xfail["run"]:
                return ("xfailed", None, "[NOTRUN] " + xfail["reason"] if xfail["reason"] else "[NOTRUN]", None, None)
        outcome = self._run_unittest_case(item)
        if xfail is None or outcome[0] in ("skipped", "xfailed", "xpassed"):
            return outcome
        if outcome[0] in ("failed", "error"):
            raises = xfail["raises"]
            exc = outcome[3]
            if raises is None or exc is None or isinstance(exc, raises):
                return ("xfailed", None, xfail["reason"] or outcome[2], None, None)
            return outcome
        if xfail["strict"]:
            return ("failed", None, "[XPASS(strict)] " + xfail["reason"] if xfail["reason"] else "[XPASS(strict)]", None, None)
        return ("xpassed", None, xfail["reason"] or None, None, None)

    def _run_unittest_case(self, item):
        if self._result is None:
            self._result = _Result().result
            if _FAST_RUN is None:
                _init_fast_run()
        result = self._result
        if result.dirty:
            result.reset()
        kind = None
        try:
            if item.instance is not None:
                test = item.instance
            else:
                # (by id: a metaclass may make its classes unhashable; the file's items keep
                # them alive, so no id is reused)
                kind = self._kinds.get(id(item.cls))
                if kind is None:
                    kind = self._kinds[id(item.cls)] = _class_kind(item.cls)
                test = _make_test_case(item.cls, item.func) if kind[0] else item.cls(item.func)
        except BaseException as e:  # noqa: BLE001
            if isinstance(e, KeyboardInterrupt):
                raise
            return ("error", "exception", None, _trim(e), None)
        if item.fx is None:
            # `_unittest_outcome`, inline: most tests
            result.current = test
            if kind is not None and kind[1]:
                _fast_run(test, result, kind)
            elif _FAST_RUN and type(test).run is _FAST_RUN[0]:
                _fast_run(test, result)
            else:
                test.run(result)
            result.current = None
            return self._unittest_verdict(result) if result.dirty else _PASSED
        # pytest's autouse and `usefixtures` fixtures around a TestCase's test (bound to it).
        if item.fx.error is not None:
            return ("error", "fixture", item.fx.error, None, None)
        run = _fx().Run(self, item, test)
        try:
            run.setup()
        except BaseException as e:  # noqa: BLE001
            if isinstance(e, KeyboardInterrupt):
                raise
            return self._setup_failed(e, run)
        outcome = self._unittest_outcome(test, result)
        return self._with_teardown(outcome, run)

    def _unittest_outcome(self, test, result):
        result.current = test
        if _FAST_RUN is None:
            _init_fast_run()
        if _FAST_RUN and type(test).run is _FAST_RUN[0]:
            _fast_run(test, result)
        else:
            test.run(result)
        result.current = None
        return self._unittest_verdict(result) if result.dirty else _PASSED

    def _unittest_verdict(self, result):
        """The outcome of a unittest test that reported something to ``result``."""
        if result.skip is not None:
            return ("skipped", None, result.skip, None, None)
        if result.xfail is not None:
            return ("xfailed", None, _one_line(result.xfail), None, None)
        if result.xpass:
            # "strict": unittest counts an unexpected success against the run.
            return ("xpassed", "strict", "unexpected success (the test is marked expectedFailure)", None, None)
        notes = []
        first = None
        status = None
        for st, exc in result.problems:
            if first is None:
                first, status = exc, st
            else:
                notes.append(("also", exc))
        if result.subtests:
            if first is None:
                label, exc, is_failure = result.subtests[0]
                first = exc
                status = "failed" if any(f for _, _, f in result.subtests) else "error"
                rest = result.subtests[1:]
            else:
                rest = result.subtests
            message = _subtest_message(result.subtests)
            for label, exc, _ in rest:
                notes.append((label, exc))
            return (status, "exception" if status == "error" else None, message, _trim(first), _notes(notes))
        if first is not None:
            if status == "failed" and not isinstance(first, AssertionError):
                # a custom failureException: still a failure
                pass
            return (status, "exception" if status == "error" else None, None, _trim(first), _notes(notes))
        return ("passed", None, None, None, None)

    def _run_pytest(self, item):
        xfail = None
        if item.marks:
            globs = getattr(item.func, "__globals__", None) or vars(self.module)
            skip = _skip_reason(item.marks, globs)
            if skip is not None:
                return ("skipped", None, skip, None, None)
            xfail = _xfail_of(item.marks, globs)
            if xfail is not None and not xfail["run"]:
                return ("xfailed", None, "[NOTRUN] " + xfail["reason"] if xfail["reason"] else "[NOTRUN]", None, None)
        if item.func.__code__.co_flags & _GENERATOR:
            return ("error", "exception", "yield tests are not supported (pytest fails them too; use parametrize)", None, None)
        if item.missing:
            names = ", ".join(repr(m) for m in item.missing)
            word = "fixture" if len(item.missing) == 1 else "fixtures"
            return ("error", "fixture", f"{word} {names} not found", None, None)
        fx = item.fx
        if fx is None and item.cls is None:
            return self._call_test(item.func, item, xfail, item.params)  # nothing to set up
        if fx is not None and fx.error is not None:
            return ("error", "fixture", fx.error, None, None)
        instance = None
        func = item.func
        run = None
        kwargs = item.params
        # setup_method/setup_function (and their teardowns) are autouse fixtures, as in
        # pytest: `_fixtures._with_xunit`.
        try:
            if item.cls is not None:
                instance = item.cls()
                func = getattr(instance, item.name.split("[", 1)[0])
            if fx is not None:
                if fx.simple is not None:
                    kwargs = _fx().simple_setup(item)
                else:
                    run = _fx().Run(self, item, instance)
                    kwargs = run.setup()
        except BaseException as e:  # noqa: BLE001
            if isinstance(e, KeyboardInterrupt):
                raise
            return self._setup_failed(e, run)
        outcome = self._call_test(func, item, xfail, kwargs)
        return self._with_teardown(outcome, run)

    def _with_teardown(self, outcome, run):
        """Tear down the test's fixtures: the outcome with their errors."""
        if run is None or not run.fins:
            return outcome
        errors = run.teardown()
        if not errors:
            return outcome
        if outcome[0] in ("passed", "skipped", "xpassed", "xfailed"):
            rest = _notes([("teardown also failed", e) for e in errors[1:]])
            return ("error", "teardown", _teardown_message(errors[0]), _trim(errors[0]), rest)
        return outcome[:4] + (_notes([("teardown also failed", e) for e in errors]),)

    def _setup_failed(self, e, run):
        """The outcome of a set-up (a fixture, setup_method) that raised; what was set up is
        torn down."""
        if run is not None and run.fins:
            try:
                run.teardown()
            except BaseException as t:  # noqa: BLE001
                if isinstance(t, KeyboardInterrupt):
                    raise
        if isinstance(e, _fx().FixtureError):
            return ("error", "fixture", str(e), None, None)
        status, message = _classify(e)
        if status in ("skipped", "xfailed"):
            return (status, None, message, None, None)
        name = _fixture_blamed(e)
        if name is not None:
            message = f"fixture '{name}' failed: {message or _one_line(e)}"
        return ("error", "setup", message, _trim(e), None)

    def _call_test(self, func, item, xfail, kwargs):
        try:
            result = func(**kwargs) if kwargs else func()
            if result is not None:
                self._await(result)
        except BaseException as e:  # noqa: BLE001
            if isinstance(e, KeyboardInterrupt):
                raise
            status, message = _classify(e)
            if status == "skipped":
                return ("skipped", None, message, None, None)
            if status == "xfailed":
                return ("xfailed", None, message, None, None)
            if xfail is not None:
                raises = xfail["raises"]
                if raises is None or isinstance(e, raises):
                    return ("xfailed", None, xfail["reason"] or _one_line(e), None, None)
            if message is not None:
                return (status, None if status == "failed" else "exception", message, _trim(e), None)
            return (status, None if status == "failed" else "exception", None, _trim(e), None)
        if xfail is not None:
            if xfail["strict"]:
                return ("failed", None, "[XPASS(strict)] " + xfail["reason"] if xfail["reason"] else "[XPASS(strict)]", None, None)
            return ("xpassed", None, xfail["reason"] or None, None, None)
        return _PASSED


# The outcome of most tests, made once.
_PASSED = ("passed", None, None, None, None)
# `Session.step`'s answer for a test that passed with nothing to report before it.
_STEPPED = ((), _PASSED)
_GENERATOR = inspect.CO_GENERATOR


# unittest's TestCase.run, once per test, costs three context managers: on the Python it is
# written for (3.11), the same steps inline. None: not checked yet; () when not applicable.
_FAST_RUN = None


def _init_fast_run():
    global _FAST_RUN
    case = sys.modules.get("unittest.case")
    needed = ("TestCase", "_Outcome", "_addSkip", "_addError", "_ShouldStop", "SkipTest")
    if sys.version_info[:2] == (3, 11) and case is not None and all(hasattr(case, n) for n in needed):
        tc = case.TestCase
        # (_TC first: another thread may see _FAST_RUN set and use both)
        _TC[:] = (tc.__init__, tc.addTypeEqualityFunc, tc.doCleanups, tc._callSetUp, tc._callTestMethod, tc._callTearDown)
        _FAST_RUN = (tc.run, case._Outcome, case._addSkip, case._addError, case._ShouldStop, case.SkipTest)
    else:
        _FAST_RUN = ()


# 3.11's TestCase.__init__, addTypeEqualityFunc, doCleanups, _callSetUp, _callTestMethod and
# _callTearDown (set with _FAST_RUN): a class that keeps them is made, run and cleaned up by
# `_make_test_case` and `_fast_run` inline.
_TC = []
_METHOD = __import__("types").MethodType
_OBJECT_NEW = object.__new__
_OBJECT_GETATTRIBUTE = object.__getattribute__
_OBJECT_SETATTR = object.__setattr__
_MISSING = object()


def _makes_inline(cls):
    """Whether ``cls(name)`` may be `_make_test_case`: 3.11's ``TestCase.__init__`` inline
    when the class keeps it, and Python's ways of making an instance and reading and setting
    its attributes (its six ``addTypeEqualityFunc`` calls cost more than the test body)."""
    return bool(
        _TC
        and type(cls) is type
        and cls.__init__ is _TC[0]
        and cls.addTypeEqualityFunc is _TC[1]
        and cls.__new__ is _OBJECT_NEW
        and cls.__getattribute__ is _OBJECT_GETATTRIBUTE
        and cls.__setattr__ is _OBJECT_SETATTR
    )


def _class_kind(cls):
    """What making and running a test of TestCase class ``cls`` inline depends on, which no
    test of a file changes (its class's machinery): (made by `_make_test_case`, run by
    `_fast_run`, its attributes found as Python finds them, its ``_callSetUp``,
    ``_callTestMethod`` and ``_callTearDown`` TestCase's own, its ``doCleanups`` too)."""
    if _FAST_RUN is None:
        _init_fast_run()
    plain = type(cls) is type and cls.__getattribute__ is _OBJECT_GETATTRIBUTE
    own = bool(_TC) and plain
    inline = _makes_inline(cls)
    # A test made inline of a plain class has only TestCase's own attributes: what it finds
    # for the class's skip and expected-failure marks is what the class holds (set by
    # decorators when the class is made), the same for each of its tests.
    marks = (getattr(cls, "__unittest_skip__", False), getattr(cls, "__unittest_expecting_failure__", False)) if inline and plain else None
    return (
        inline,
        bool(_FAST_RUN) and cls.run is _FAST_RUN[0],
        plain,
        own and cls._callSetUp is _TC[3] and cls._callTestMethod is _TC[4] and cls._callTearDown is _TC[5],
        own and cls.doCleanups is _TC[2],
        marks,
    )


def _make_test_case(cls, name):
    """``TestCase.__init__`` (3.11) inline, for a class `_makes_inline` allows."""
    test = _OBJECT_NEW(cls)
    test._testMethodName = name
    test._outcome = None
    test._testMethodDoc = "No test"
    try:
        test_method = getattr(test, name)
    except AttributeError:
        if name != "runTest":
            raise ValueError("no such test method in %s: %s" % (test.__class__, name)) from None  # noqa: UP031
    else:
        test._testMethodDoc = test_method.__doc__
    test._cleanups = []
    test._subtest = None
    test._type_equality_funcs = _TYPE_EQUALITY_FUNCS.copy()
    return test


# What TestCase.__init__'s addTypeEqualityFunc calls register, in their order.
_TYPE_EQUALITY_FUNCS = {
    dict: "assertDictEqual",
    list: "assertListEqual",
    tuple: "assertTupleEqual",
    set: "assertSetEqual",
    frozenset: "assertSetEqual",
    str: "assertMultiLineEqual",
}


def _part_failed(outcome, test_case):
    """The ``except`` clauses of ``testPartExecutor`` (3.11), KeyboardInterrupt aside, for
    the exception being handled."""
    _, _, add_skip, add_error, should_stop, skip_test = _FAST_RUN
    exc_info = sys.exc_info()
    e = exc_info[1]
    if isinstance(e, skip_test):
        outcome.success = False
        add_skip(outcome.result, test_case, str(e))
    elif not isinstance(e, should_stop):
        if outcome.expecting_failure:
            outcome.expectedFailure = exc_info
        else:
            outcome.success = False
            add_error(outcome.result, test_case, exc_info)
    # as unittest: break the cycle exc_info -> frame -> exc_info
    exc_info = e = None


def _fast_run(test, result, kind=None):
    """``TestCase.run`` (3.11) step for step, for a result whose startTest/stopTest do nothing.

    The set-up and test parts run with ``outcome.success`` True before them (a fresh outcome;
    the test part only after a set-up that succeeded), where ``testPartExecutor``'s saving
    and restoring of it changes nothing: they are inline. ``kind``: `_class_kind` of the
    class of a test made from it here (not one a ``load_tests`` made)."""
    test_method = getattr(test, test._testMethodName)
    cls = test.__class__
    # A class whose attributes are found as Python finds them (no metaclass, no
    # __getattribute__): a miss of the instance's lookup, which raises nothing, means a miss
    # of the class's, which raises inside getattr (short of a descriptor of that name that
    # raises AttributeError for an instance only).
    if kind is None:
        kind = _class_kind(cls)
        class_marks = None  # (a test not made by `_make_test_case` may carry marks of its own)
    else:
        class_marks = kind[5]
    _, _, plain, inline, own_cleanups, _ = kind
    if class_marks is not None:
        class_skip, class_expecting = class_marks
    else:
        class_expecting = _MISSING
        if plain and getattr(test, "__unittest_skip__", _MISSING) is _MISSING:
            class_skip = False
        else:
            class_skip = getattr(cls, "__unittest_skip__", False)
    func = test_method.__func__ if type(test_method) is _METHOD else None
    if type(func) is _FUNCTION:
        # A bound method's lookup of an attribute it lacks raises inside getattr; its
        # function's does not (nor does it make the function a `__dict__`, as reading that
        # would: a dict for every test, each a little more work for the garbage collector).
        if class_skip or getattr(func, "__unittest_skip__", False):
            why = getattr(cls, "__unittest_skip_why__", "") or getattr(func, "__unittest_skip_why__", "")
            _FAST_RUN[2](result, test, why)
            return
        if class_expecting is _MISSING:
            class_expecting = getattr(test, "__unittest_expecting_failure__", False)
        expecting_failure = class_expecting or getattr(func, "__unittest_expecting_failure__", False)
    else:
        if class_skip or getattr(test_method, "__unittest_skip__", False):
            why = getattr(cls, "__unittest_skip_why__", "") or getattr(test_method, "__unittest_skip_why__", "")
            _FAST_RUN[2](result, test, why)
            return
        expecting_failure = getattr(test, "__unittest_expecting_failure__", False) or getattr(
            test_method, "__unittest_expecting_failure__", False
        )
    # _Outcome(result), its __init__ inline
    outcome = _OBJECT_NEW(_FAST_RUN[1])
    outcome.expecting_failure = False
    outcome.result = result
    outcome.result_supports_subtests = True  # (dbtest's result is a TestResult: it has addSubTest)
    outcome.success = True
    outcome.expectedFailure = None
    # TestCase's own _callSetUp/_callTestMethod/_callTearDown, inline (their frames are
    # unittest's: tracebacks lose nothing, `_trim` drops them).
    d = test.__dict__ if plain else None
    try:
        test._outcome = outcome
        try:
            if inline and "_callSetUp" not in d:
                test.setUp()
            else:
                test._callSetUp()
        except KeyboardInterrupt:
            raise
        except:  # noqa: E722 - as unittest: anything a test raises is its outcome
            _part_failed(outcome, test)
        if outcome.success:
            outcome.expecting_failure = expecting_failure
            try:
                if inline and "_callTestMethod" not in d:
                    if test_method() is not None:
                        # stacklevel: the frame _callTestMethod's 3 names
                        warnings.warn(
                            f"It is deprecated to return a value that is not None from a test case ({test_method})",
                            DeprecationWarning,
                            stacklevel=2,
                        )
                else:
                    test._callTestMethod(test_method)
            except KeyboardInterrupt:
                raise
            except:  # noqa: E722
                _part_failed(outcome, test)
            outcome.expecting_failure = False
            old_success = outcome.success
            outcome.success = True
            try:
                if inline and "_callTearDown" not in d:
                    test.tearDown()
                else:
                    test._callTearDown()
            except KeyboardInterrupt:
                raise
            except:  # noqa: E722
                _part_failed(outcome, test)
            finally:
                outcome.success = outcome.success and old_success
        if not own_cleanups or test._cleanups or "doCleanups" in d:
            test.doCleanups()  # (TestCase's own, with nothing to clean up, does nothing)
        if outcome.success:
            if expecting_failure:
                if outcome.expectedFailure:
                    test._addExpectedFailure(result, outcome.expectedFailure)
                else:
                    test._addUnexpectedSuccess(result)
            else:
                result.addSuccess(test)
    finally:
        outcome.expectedFailure = None
        outcome = None
        test._outcome = None


def _fixture_blamed(exc):
    """The user fixture that raised ``exc`` (None for an xunit hook: the traceback says it)."""
    name = getattr(exc, "_dbtest_fixture", None)
    return None if name is None or name.startswith("_xunit_") else name


def _teardown_message(exc):
    name = _fixture_blamed(exc)
    return f"teardown of fixture '{name}' failed: {_one_line(exc)}" if name else None


def _one_line(exc):
    text = str(exc)
    first = text.splitlines()[0] if text else ""
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def _subtest_message(subtests):
    parts = [f"{label}: {_one_line(exc)}" for label, exc, _ in subtests]
    n = len(subtests)
    head = f"{n} subtest{'s' if n > 1 else ''} failed"
    return f"{head}: " + "; ".join(parts)


def _notes(notes):
    if not notes:
        return None
    import traceback

    chunks = []
    for label, exc in notes:
        exc = _trim(exc)
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        chunks.append(f"{label}:\n{text}")
    return "\n".join(chunks)


def _eval_condition(cond, globs, mark_name, kwargs):
    if isinstance(cond, str):
        import os
        import platform

        ns = {"os": os, "sys": sys, "platform": platform, "config": None}
        ns.update(globs)
        result = eval(compile(cond, f"<{mark_name} condition>", "eval"), ns)  # noqa: S307
        return bool(result), kwargs.get("reason") or f"condition: {cond}"
    result = bool(cond)
    reason = kwargs.get("reason")
    if reason is None:
        raise TypeError(f"{mark_name}: you need to specify reason=STRING when using booleans as conditions")
    return result, reason


def _skip_reason(marks, globs):
    for m in marks:
        if m.name == "skipif":
            conds = m.args if m.args else ([m.kwargs["condition"]] if "condition" in m.kwargs else [])
            if not conds:
                return m.kwargs.get("reason", "")
            for c in conds:
                hit, reason = _eval_condition(c, globs, "skipif", m.kwargs)
                if hit:
                    return reason
    for m in marks:
        if m.name == "skip":
            if m.args:
                return str(m.args[0])
            return m.kwargs.get("reason", "unconditional skip")
    return None


def _xfail_of(marks, globs):
    for m in marks:
        if m.name != "xfail":
            continue
        kw = m.kwargs
        run = kw.get("run", True)
        strict = kw.get("strict", False)
        raises = kw.get("raises")
        conds = m.args if m.args else ([kw["condition"]] if "condition" in kw else [])
        if not conds:
            return {"run": run, "strict": strict, "raises": raises, "reason": kw.get("reason", "")}
        for c in conds:
            if isinstance(c, str):
                hit, reason = _eval_condition(c, globs, "xfail", kw)
            else:
                hit, reason = bool(c), kw.get("reason", "")
            if hit:
                return {"run": run, "strict": strict, "raises": raises, "reason": reason}
    return None


_MODULE = type(sys)


def in_use_elsewhere(obj):
    """Whether a frame of another thread refers to ``obj``, directly or through an attribute
    of one of its locals (a doctest runner's ``_fakeout``, a ``redirect_stdout`` target)."""
    import threading

    me = threading.get_ident()
    for tid, frame in sys._current_frames().items():
        if tid == me:
            continue
        f = frame
        while f is not None:
            try:
                values = list(f.f_locals.values())
            except Exception:  # noqa: BLE001
                values = []
            for v in values:
                if v is obj:
                    return True
                if isinstance(v, (type, _MODULE)):
                    continue  # `sys` itself refers to it, as every module-level name does
                d = getattr(v, "__dict__", None)
                if type(d) is dict and any(x is obj for x in d.values()):
                    return True
            f = f.f_back
    return False
