"""pytest's fixture system, run by dbtest itself (``_compat`` asks it for each pytest-style test).

Where fixtures come from, outermost first: dbtest's built-ins (``dbtest._builtin_fixtures``,
``request``, ``pytestconfig``), modules named by a conftest's ``pytest_plugins``, the
``conftest.py`` files from the run's root down to the test's folder, the test module, the test
class. A name defined closer to the test overrides the outer one (and may request it by its
own name).

Each test's fixture closure is resolved once, at collection (``plan``): a tuple of steps in
set-up order, so running a test is a loop of plain calls. Higher-scoped values are cached:
class and module ones per file session (``Scopes``), package and session ones once per worker
process (files run on several threads of one worker: creation is under a lock), torn down by
``finish_process`` when the worker ends.

pytest is never imported here: fixture definitions are recognized by their attributes.
"""

from __future__ import annotations

import inspect
import os
import sys
import threading

from ._compat import _folders

SCOPES = ("function", "class", "module", "package", "session")
_RANK = {s: i for i, s in enumerate(SCOPES)}
_GEN = inspect.CO_GENERATOR
_CORO = inspect.CO_COROUTINE
_AGEN = inspect.CO_ASYNC_GENERATOR

# Set by _compat.configure: "strict" or "auto".
ASYNCIO_MODE = ["strict"]


class FixtureError(Exception):
    """A fixture problem found while resolving a test's fixtures (kind ``fixture``)."""


class FixtureDef:
    """One fixture definition."""

    __slots__ = (
        "name", "func", "scope", "rank", "params", "ids", "autouse", "argnames", "kind",
        "bound", "where", "asyncio", "wants_request", "line",
    )

    def __init__(self, name, func, scope="function", params=None, ids=None, autouse=False, bound=False, where="", asyncio=False):
        self.name = name
        self.func = func
        if callable(scope):
            scope = scope(fixture_name=name, config=config())
        self.scope = scope or "function"
        if self.scope not in _RANK:
            raise FixtureError(f"fixture '{name}' has an unknown scope {scope!r} (one of {', '.join(SCOPES)})")
        self.rank = _RANK[self.scope]
        self.params = list(params) if params is not None else None
        self.ids = ids
        self.autouse = bool(autouse)
        self.bound = bound
        self.where = where
        from ._compat import _funcargnames

        names = _funcargnames(func)
        self.argnames = tuple(names[1:] if bound and names else names)
        code = getattr(inspect.unwrap(func), "__code__", None)
        flags = code.co_flags if code is not None else 0
        self.kind = "agen" if flags & _AGEN else "coro" if flags & _CORO else "gen" if flags & _GEN else "plain"
        self.asyncio = asyncio
        self.wants_request = "request" in self.argnames
        self.line = code.co_firstlineno if code is not None else None

    def __repr__(self):
        return f"<fixture {self.name} ({self.scope}) from {self.where}>"


_FUNCTION = type(lambda: None)
_MODULE = type(sys)
# Builtin types whose values have no attributes of their own (no __dict__).
_NO_ATTRIBUTES = frozenset({str, bytes, int, float, bool, type(None), dict, list, tuple, set, frozenset})


def _marker_of(obj):
    """(marker, function) if ``obj`` is a pytest fixture definition (any pytest version)."""
    marker = getattr(obj, "_fixture_function_marker", None) if hasattr(type(obj), "_get_wrapped_function") else None
    if marker is not None:
        return marker, obj._get_wrapped_function()
    marker = getattr(obj, "_pytestfixturefunction", None)  # pytest < 8.4
    if marker is not None and hasattr(marker, "scope"):
        wrapped = getattr(obj, "__pytest_wrapped__", None)
        return marker, getattr(wrapped, "obj", obj)
    return None


def defs_of(holder, where, bound=False):
    """The fixtures an object (module or class) defines: {name: FixtureDef}, sorted by name
    as pytest reads them (``dir``)."""
    out = {}
    is_class = isinstance(holder, type)
    ns = None
    if type(holder) is _MODULE:
        # A module without __dir__/__getattr__: `dir` lists its __dict__ sorted, and getattr
        # reads it there.
        ns = vars(holder)
        if "__dir__" in ns or "__getattr__" in ns:
            ns = None
    elif type(holder) is type:
        # A class without a metaclass (nor have its bases): `dir` lists the names of the
        # classes of its MRO, and getattr_static finds a name's first definition there.
        ns = {}
        for k in holder.__mro__:
            for attr, obj in vars(k).items():
                if attr not in ns:
                    ns[attr] = obj
    for attr in sorted(ns) if ns is not None else dir(holder):
        if ns is not None:
            obj = ns.get(attr, _MODULE)  # (_MODULE: not there any more)
            if obj is _MODULE:
                continue
        else:
            try:
                obj = inspect.getattr_static(holder, attr) if is_class else getattr(holder, attr)
            except Exception:  # noqa: BLE001
                continue
        t = type(obj)
        if t is _FUNCTION and getattr(obj, "_pytestfixturefunction", None) is None:
            # A plain function (most of a module): what `_marker_of` would find on it. (Not
            # read from its __dict__: reading that makes every function one.)
            continue
        if t in _NO_ATTRIBUTES or (t is _MODULE and "_pytestfixturefunction" not in vars(obj) and "__getattr__" not in vars(obj)):
            continue  # nothing `_marker_of` looks for (its lookups would raise and be caught)
        if isinstance(obj, (staticmethod, classmethod)):
            continue
        found = _marker_of(obj)
        if found is None:
            continue
        marker, func = found
        name = getattr(marker, "name", None) or attr
        asyncio = bool(getattr(func, "_force_asyncio_fixture", False))
        params = getattr(marker, "params", None)
        out[name] = FixtureDef(
            name, func, getattr(marker, "scope", "function"), params, getattr(marker, "ids", None),
            getattr(marker, "autouse", False), bound=bound and _takes_self(func), where=where, asyncio=asyncio,
        )
    return out


def _takes_self(func):
    """A fixture defined in a class is a method: it gets the test's instance first."""
    code = getattr(inspect.unwrap(func), "__code__", None)
    return bool(code is not None and code.co_argcount)


# ---------------------------------------------------------------- configuration

class Config:
    """The part of pytest's ``Config`` tests and fixtures read."""

    def __init__(self, root):
        import pathlib

        self.rootpath = pathlib.Path(root)
        self.rootdir = self.rootpath
        self.inipath = None
        self._ini = None
        self.option = _Options()
        self.args = []
        self.invocation_params = None

    def getoption(self, name, default=None, skip=False):
        name = name.lstrip("-").replace("-", "_")
        name = _OPTION_ALIASES.get(name, name)
        if hasattr(self.option, name):
            return getattr(self.option, name)
        if default is not None:
            return default
        if skip:
            from _pytest.outcomes import skip as do_skip

            do_skip(f"no {name!r} option found")
        raise ValueError(f"no option named {name!r}")

    def getini(self, name):
        if self._ini is None:
            self._ini = _read_ini(self.rootpath)
        if name in self._ini:
            return self._ini[name]
        if name in _INI_LISTS:
            return []
        if name in _INI_KNOWN:
            return ""
        raise ValueError(f"unknown configuration value: {name!r}")

    def addinivalue_line(self, name, line):
        if self._ini is None:
            self._ini = _read_ini(self.rootpath)
        self._ini.setdefault(name, []).append(line)


_OPTION_ALIASES = {"x": "exitfirst", "v": "verbose", "k": "keyword", "m": "markexpr"}
_INI_LISTS = frozenset({"markers", "testpaths", "python_files", "python_classes", "python_functions", "filterwarnings", "norecursedirs", "addopts", "usefixtures"})
_INI_KNOWN = frozenset({"asyncio_mode", "minversion", "xfail_strict", "log_level", "cache_dir", "console_output_style", "required_plugins"})


class _Options:
    """``config.option``: dbtest's options under pytest's names (defaults unless set)."""

    def __init__(self):
        self.verbose = 0
        self.exitfirst = False
        self.maxfail = 0
        self.keyword = ""
        self.markexpr = ""
        self.capture = "fd"
        self.tbstyle = "auto"
        self.basetemp = None
        self.showlocals = False
        self.lf = False
        self.failedfirst = False
        self.rootdir = None


def _read_ini(root):
    out = {}
    try:
        import tomllib

        with open(os.path.join(root, "pyproject.toml"), "rb") as f:
            data = tomllib.load(f)
        ini = data.get("tool", {}).get("pytest", {}).get("ini_options", {})
        out.update(ini if isinstance(ini, dict) else {})
    except Exception:  # noqa: BLE001 - no pyproject: pytest.ini is the other source
        pass
    try:
        import configparser

        p = configparser.ConfigParser()
        p.read(os.path.join(root, "pytest.ini"))
        if p.has_section("pytest"):
            for k, v in p.items("pytest"):
                out[k] = [x for x in v.splitlines() if x.strip()] if k in _INI_LISTS else v
    except Exception:  # noqa: BLE001
        pass
    return out


_ROOT = [None]
_CONFIG = [None]


def config():
    if _CONFIG[0] is None:
        _CONFIG[0] = Config(_ROOT[0] or os.getcwd())
    return _CONFIG[0]


def set_options(**options):
    """Options the binary knows, under pytest's names (``exitfirst``...)."""
    opts = config().option
    for k, v in options.items():
        setattr(opts, k, v)


# ---------------------------------------------------------------- conftest files

_LOCK = threading.RLock()
_CONFTESTS = {}  # path -> module, or the exception its import raised
_HAS_CONFTEST = {}  # folder -> path of its conftest.py or None
_CHAINS = {}  # folder -> tuple of (conftest path, module)
_PLUGINS = {}  # conftest path -> tuple of plugin modules it names (recursively)


class ConftestImportError(Exception):
    """A conftest.py (or a module its ``pytest_plugins`` names) failed to import."""


def load_conftests(path, root):
    """Import the conftest.py files from ``root`` down to ``path``'s folder (once per process)
    and the modules their ``pytest_plugins`` name. Raises ConftestImportError naming the file."""
    path, root = os.fspath(path), os.path.abspath(os.fspath(root))
    if _ROOT[0] is None:
        _ROOT[0] = root
    folder = os.path.dirname(os.path.abspath(path))
    chain = _CHAINS.get(folder)
    if chain is None:
        chain = _load_chain(path, root, folder)
    if chain and chain[-1][1].__name__ == "conftest":
        # pytest imports a folder's conftest.py as `conftest` just before the files beside
        # it: `from conftest import X` in a test file means the nearest one. Files import on
        # several threads at once: `conftest` is an alias to this thread's nearest one.
        _ALIAS.local.module = chain[-1][1]
        if sys.modules.get("conftest") is not _ALIAS:
            sys.modules["conftest"] = _ALIAS
    return chain


class _ConftestAlias(type(sys)):
    """``sys.modules["conftest"]``: the nearest conftest.py outside a package of the file this
    thread imports (and runs)."""

    def __init__(self):
        super().__init__("conftest")
        self.__dict__["local"] = threading.local()

    def __getattr__(self, name):
        module = getattr(self.__dict__["local"], "module", None)
        if module is None:
            raise AttributeError(f"module 'conftest' has no attribute {name!r}")
        return getattr(module, name)


_ALIAS = _ConftestAlias()


def _load_chain(path, root, folder):
    with _LOCK:
        found = []
        for d in _folders(path, root):
            c = _HAS_CONFTEST.get(d, False)
            if c is False:
                p = os.path.join(d, "conftest.py")
                c = _HAS_CONFTEST[d] = p if os.path.isfile(p) else None
            if c is not None:
                found.append((c, _import_conftest(c, root)))
        chain = _CHAINS[folder] = tuple(found)
        return chain


def _import_conftest(path, root):
    got = _CONFTESTS.get(path)
    if got is None:
        try:
            got = _do_import_conftest(path, root)
            _PLUGINS[path] = tuple(_load_plugins(getattr(got, "pytest_plugins", ()), set()))
        except BaseException as e:  # noqa: BLE001 - reported for every file under it
            if isinstance(e, KeyboardInterrupt):
                raise
            got = e
        _CONFTESTS[path] = got
    if isinstance(got, BaseException):
        rel = os.path.relpath(path, root)
        skipped = getattr(sys.modules.get("_pytest.outcomes"), "Skipped", None)
        if skipped is not None and isinstance(got, skipped):
            raise got
        raise ConftestImportError(f"importing {rel} failed: {type(got).__name__}: {got}") from got
    return got


def _do_import_conftest(path, root):
    import importlib
    import importlib.util

    folder = os.path.dirname(path)
    base = folder
    parts = ["conftest"]
    while os.path.isfile(os.path.join(base, "__init__.py")):
        parts.insert(0, os.path.basename(base))
        base = os.path.dirname(base)
    # pytest's "prepend" import mode: the first folder upwards that is not a package goes
    # first on sys.path.
    if base not in sys.path:
        sys.path.insert(0, base)
    if len(parts) > 1:
        return importlib.import_module(".".join(parts))
    # As pytest does: every conftest.py outside a package is the module `conftest`, the one
    # imported last in sys.modules.
    spec = importlib.util.spec_from_file_location("conftest", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["conftest"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if sys.modules.get("conftest") is module:
            del sys.modules["conftest"]
        raise
    return module


def _load_plugins(names, seen):
    import importlib

    if isinstance(names, str):
        names = [names]
    for n in names:
        if n in seen:
            continue
        seen.add(n)
        try:
            m = importlib.import_module(n)
        except BaseException as e:  # noqa: BLE001
            if isinstance(e, KeyboardInterrupt):
                raise
            raise ConftestImportError(f"pytest_plugins: importing {n!r} failed: {type(e).__name__}: {e}") from e
        yield from _load_plugins(getattr(m, "pytest_plugins", ()), seen)
        yield m


# ---------------------------------------------------------------- where names resolve

_BUILTINS = [None]
_HOLDER_DEFS = {}  # id(holder) -> (holder, defs)


def _builtin_defs():
    if _BUILTINS[0] is None:
        defs = {}
        try:
            import importlib

            _builtin_fixtures = importlib.import_module("dbtest._builtin_fixtures")
        except ModuleNotFoundError as e:
            if e.name != "dbtest._builtin_fixtures":
                raise
            _builtin_fixtures = None  # a dbtest without built-in fixtures
        for name, func in getattr(_builtin_fixtures, "FIXTURES", {}).items():
            defs[name] = FixtureDef(name, func, getattr(func, "_dbtest_scope", "function"), where="<builtin>")
        defs["pytestconfig"] = FixtureDef("pytestconfig", _pytestconfig, "session", where="<builtin>")
        _BUILTINS[0] = defs
    return _BUILTINS[0]


def _pytestconfig():
    return config()


def _defs_cached(holder, where, bound=False):
    got = _HOLDER_DEFS.get(id(holder))
    if got is None or got[0] is not holder:
        got = _HOLDER_DEFS[id(holder)] = (holder, defs_of(holder, where, bound))
    return got[1]


class Visible:
    """The fixtures a test can see: name -> definitions, outermost first; autouse names in
    pytest's order (outer levels first, each level's by name)."""

    __slots__ = ("defs", "autouse", "memo")

    def __init__(self, levels):
        # A test's argument names -> the resolution `_compat._fixture_cases` made for them.
        self.memo = {}
        self.defs = {}
        self.autouse = []
        for level in levels:
            for name, d in level.items():
                self.defs.setdefault(name, []).append(d)
                if d.autouse and name not in self.autouse:
                    self.autouse.append(name)


_VISIBLE = {}


def visible_for(module, cls, root):
    """The fixtures visible in ``module`` (in class ``cls``), cached per (module, class)."""
    key = (id(module), id(cls))
    got = _VISIBLE.get(key)
    if got is not None and got[0] is module and got[1] is cls:
        return got[2]
    path = getattr(module, "__file__", None)
    levels = [_builtin_defs()]
    chain = load_conftests(path, root) if path else ()
    plugins = []
    for cpath, _ in chain:
        for m in _PLUGINS.get(cpath, ()):
            if m not in plugins:
                plugins.append(m)
    for m in plugins:
        levels.append(_defs_cached(m, getattr(m, "__file__", m.__name__)))
    for cpath, cmod in chain:
        levels.append(_defs_cached(cmod, cpath))
    levels.append(_with_xunit(_defs_cached(module, path or module.__name__), module, False))
    if cls is not None:
        levels.append(_with_xunit(_defs_cached(cls, f"{path}::{cls.__name__}", bound=True), cls, True))
    v = Visible(levels)
    _VISIBLE[key] = (module, cls, v)
    return v


def _with_xunit(defs, holder, is_class):
    """``defs`` plus pytest's xunit function fixture for ``holder`` (setup_method/teardown_method
    of a class, setup_function/teardown_function of a module): an autouse fixture named as
    pytest names it, so it runs in pytest's place among the autouse fixtures."""
    names = ("setup_method", "teardown_method") if is_class else ("setup_function", "teardown_function")
    setup, teardown = (getattr(holder, n, None) for n in names)
    if not callable(setup) and not callable(teardown):
        return defs
    kind = "method" if is_class else "function"
    name = f"_xunit_setup_{kind}_fixture_{holder.__qualname__ if is_class else holder.__name__}"
    got = _XUNIT.get(name)
    if got is not None and got[0] is holder:
        return got[1]
    if is_class:

        def xunit(self, request):
            run = request._run
            method = getattr(self, run.item.name.split("[", 1)[0])
            hooks = [getattr(self, n, None) for n in names]
            if callable(hooks[0]):
                run.session._call_optional(hooks[0], method)
            yield
            if callable(hooks[1]):
                run.session._call_optional(hooks[1], method)

    else:

        def xunit(request):
            run = request._run
            if run.item.cls is not None:
                yield  # setup_function is for functions, not methods
                return
            if callable(setup):
                run.session._call_optional(setup, run.item.func)
            yield
            if callable(teardown):
                run.session._call_optional(teardown, run.item.func)

    out = dict(defs)
    out[name] = FixtureDef(name, xunit, autouse=True, bound=is_class, where="<xunit>")
    out = dict(sorted(out.items()))
    _XUNIT[name] = (holder, out)
    return out


_XUNIT = {}


# ---------------------------------------------------------------- a test's closure

class Step:
    """Set up one fixture: its value goes to ``slot``; its arguments come from ``args``
    (argument name, slot)."""

    __slots__ = ("slot", "fdef", "args")

    def __init__(self, slot, fdef, args):
        self.slot, self.fdef, self.args = slot, fdef, args


class Plan:
    """A test's resolved fixtures: steps in set-up order, and the test's own arguments."""

    __slots__ = ("steps", "closure", "error", "visible", "test_args", "wants_request", "simple")

    def __init__(self):
        self.steps = []
        self.closure = []
        self.error = None
        self.visible = None
        self.test_args = ()
        self.wants_request = False
        # Only plain function-scoped fixtures that need no request or instance: `simple_setup`.
        self.simple = None


def _slot(name, index):
    return name if index == -1 else f"{name}@{index}"


def closure(visible, initialnames, ignore):
    """pytest's getfixtureclosure: names in the closure (sorted by scope, widest first), and
    name -> definitions for those that have one."""
    names = []
    current = {}

    def visit(name):
        index = current.get(name)
        if index == -1:
            return
        if index is None:
            names.append(name)
            current[name] = -1
        if name in ignore:
            return
        defs = visible.defs.get(name)
        if not defs:
            return
        index = current.get(name, -1)
        if -index > len(defs):
            return
        current[name] = index - 1
        for dep in defs[index].argnames:
            visit(dep)
        current[name] = index

    for n in initialnames:
        visit(n)

    def rank(n):
        defs = None if n in ignore else visible.defs.get(n)
        return defs[-1].rank if defs else 0

    names.sort(key=rank, reverse=True)
    return names


def plan(visible, initialnames, argnames, ignore):
    """Resolve a test's fixtures once: the steps, or an error message (missing fixture,
    scope mismatch, recursive request)."""
    p = Plan()
    p.visible = visible
    p.closure = closure(visible, initialnames, ignore)
    done = set()
    try:
        for name in p.closure:
            if name in ignore or name == "request":
                continue
            _resolve(p, name, {}, [], done, None)
    except FixtureError as e:
        p.error = str(e)
    p.test_args = tuple(a for a in argnames if a not in ignore)
    p.wants_request = "request" in p.closure or any(s.fdef.wants_request for s in p.steps)
    if p.error is None and not p.wants_request and all(
        s.fdef.rank == 0 and s.fdef.kind == "plain" and not s.fdef.bound for s in p.steps
    ):
        p.simple = tuple((s.slot, s.fdef.func, s.args, s.fdef.name) for s in p.steps)
    return p


def _available(visible):
    return ", ".join(sorted(n for n in set(visible.defs) | {"request"} if not n.startswith("_xunit_")))


def _resolve(p, name, current, stack, done, requester):
    """Add the steps that set up ``name`` (as seen from ``current`` override positions)."""
    defs = p.visible.defs.get(name)
    if not defs:
        who = f" (requested by fixture '{requester.name}')" if requester is not None else ""
        raise FixtureError(f"fixture '{name}' not found{who}; available fixtures: {_available(p.visible)}")
    index = current.get(name, 0) - 1
    if -index > len(defs):
        cycle = " -> ".join([s for s in stack] + [name])
        raise FixtureError(f"recursive dependency involving fixture '{name}' detected: {cycle}")
    fdef = defs[index]
    slot = _slot(name, index)
    if fdef.kind in ("coro", "agen") and not fdef.asyncio and ASYNCIO_MODE[0] != "auto":
        raise FixtureError(
            f"fixture '{name}' is async but asyncio_mode is strict: decorate it with "
            f"@pytest_asyncio.fixture or set asyncio_mode = \"auto\""
        )
    if requester is not None and fdef.rank < requester.rank:
        raise FixtureError(
            f"ScopeMismatch: You tried to access the {fdef.scope} scoped fixture '{name}' with a "
            f"{requester.scope} scoped request object (fixture '{requester.name}', scope {requester.scope})"
        )
    if slot in done:
        return slot
    saved = current.get(name)
    current[name] = index
    stack.append(name)
    args = []
    for dep in fdef.argnames:
        if dep == "request":
            continue
        args.append((dep, _resolve(p, dep, current, stack, done, fdef)))
    stack.pop()
    if saved is None:
        current.pop(name, None)
    else:
        current[name] = saved
    if slot not in done:
        done.add(slot)
        step = Step(slot, fdef, tuple(args))
        p.steps.append(step)
    return slot


# ---------------------------------------------------------------- running

class _Entry:
    """A cached higher-scoped value: its key (which param), value or exception, finalizers."""

    __slots__ = ("key", "value", "exc", "fins", "fdef")

    def __init__(self, key, fdef):
        self.key, self.fdef = key, fdef
        self.value = self.exc = None
        self.fins = []


class Scope:
    """Cached values of one scope: fixture -> entry, in set-up order."""

    __slots__ = ("entries", "label")

    def __init__(self, label):
        self.entries = {}
        self.label = label

    def finish(self, run_fin):
        """Tear down every entry, last set up first: [(fixture name, exception)]."""
        problems = []
        for entry in reversed(list(self.entries.values())):
            for e in run_fin(entry.fins):
                problems.append((entry.fdef, e))
        self.entries.clear()
        return problems


# Package and session fixtures: once per worker process (keyed by (fixture, param key)).
_PROCESS = Scope("session")
_PROCESS_LOOP = [None]


def finish_process():
    """Tear down the worker's session and package fixtures: [(where, fixture name, exc)]."""
    with _LOCK:
        problems = _PROCESS.finish(lambda fins: _run_fins(fins, _process_await))
        if _PROCESS_LOOP[0] is not None:
            _PROCESS_LOOP[0].close()
            _PROCESS_LOOP[0] = None
    out = []
    for fdef, e in problems:
        where = fdef.where
        root = _ROOT[0]
        if root and os.path.isabs(where):
            where = os.path.relpath(where, root)
        out.append((where, fdef.name, e))
    return out


def _process_await(result):
    if result is not None and inspect.isawaitable(result):
        if _PROCESS_LOOP[0] is None:
            import asyncio

            _PROCESS_LOOP[0] = asyncio.new_event_loop()
        return _PROCESS_LOOP[0].run_until_complete(result)
    return result


def _run_fins(fins, await_):
    """Run finalizers last first; every one runs: the exceptions they raised."""
    errors = []
    while fins:
        fin = fins.pop()
        try:
            await_(fin())
        except BaseException as e:  # noqa: BLE001
            if isinstance(e, KeyboardInterrupt):
                raise
            _blame(e, getattr(fin, "_dbtest_fixture", None))
            errors.append(e)
    return errors


def _blame(exc, name):
    """Remember which fixture raised ``exc`` (for the report's message)."""
    if name is not None and getattr(exc, "_dbtest_fixture", None) is None:
        try:
            exc._dbtest_fixture = name
        except Exception:  # noqa: BLE001 - an exception type without a __dict__
            pass


class TeardownError(Exception):
    pass


def _gen_fin(it, name):
    def fin():
        try:
            next(it)
        except StopIteration:
            return None
        raise TeardownError(f"fixture function {name!r} has more than one 'yield'")

    fin._dbtest_fixture = name
    return fin


def _agen_fin(it, name):
    async def fin():
        try:
            await it.__anext__()
        except StopAsyncIteration:
            return None
        raise TeardownError(f"fixture function {name!r} has more than one 'yield'")

    fin._dbtest_fixture = name
    return fin


def simple_setup(item):
    """The test's keyword arguments when its plan is ``simple``: plain calls, nothing to tear
    down (the per-test path of most fixture users)."""
    values = {}
    for slot, func, args, name in item.fx.simple:
        try:
            values[slot] = func(**{a: values[s] for a, s in args}) if args else func()
        except BaseException as e:
            _blame(e, name)
            raise
    kwargs = dict(item.params) if item.params else {}
    for a in item.fx.test_args:
        if a not in kwargs:
            kwargs[a] = values[a]
    return kwargs


class Run:
    """One test's fixtures while it runs: values by slot, its function-scope finalizers."""

    __slots__ = ("session", "item", "values", "fins", "instance", "_node", "_request")

    def __init__(self, session, item, instance):
        self.session = session
        self.item = item
        self.values = {}
        self.fins = []
        self.instance = instance
        self._node = None
        self._request = None

    def setup(self):
        """Set up the test's fixtures: the keyword arguments of the test."""
        values = self.values
        plan = self.item.fx
        for step in plan.steps:
            if step.fdef.rank == 0 or (step.fdef.rank == 1 and self.item.cls is None):
                values[step.slot] = self._call(step, self.fins, self.session._await)
            else:
                values[step.slot] = self._cached(step)
        kwargs = dict(self.item.params) if self.item.params else {}
        for a in plan.test_args:
            if a == "request":
                kwargs[a] = self.request()
            elif a not in kwargs:
                kwargs[a] = values[a]
        return kwargs

    def teardown(self):
        return _run_fins(self.fins, self.session._await)

    # ------------------------------------------------------------------ internals

    def request(self, step=None, fins=None):
        if step is None:
            if self._request is None:
                self._request = FixtureRequest(self, None, self.fins)
            return self._request
        return FixtureRequest(self, step, fins)

    def node(self):
        if self._node is None:
            self._node = Node(self)
        return self._node

    def _call(self, step, fins, await_):
        try:
            return self._call_inner(step, fins, await_)
        except BaseException as e:
            _blame(e, step.fdef.name)
            raise

    def _call_inner(self, step, fins, await_):
        fdef = step.fdef
        values = self.values
        kwargs = {a: values[s] for a, s in step.args}
        if fdef.wants_request:
            kwargs["request"] = self.request(step, fins)
        if fdef.bound:
            result = fdef.func(self._bound_self(), **kwargs)
        else:
            result = fdef.func(**kwargs)
        kind = fdef.kind
        if kind == "plain":
            return result
        if kind == "gen":
            try:
                value = next(result)
            except StopIteration:
                raise ValueError(f"fixture function {fdef.name!r} did not yield a value") from None
            fins.append(_gen_fin(result, fdef.name))
            return value
        if kind == "coro":
            return await_(result)
        try:
            value = await_(result.__anext__())
        except StopAsyncIteration:
            raise ValueError(f"fixture function {fdef.name!r} did not yield a value") from None
        fins.append(_agen_fin(result, fdef.name))
        return value

    def _bound_self(self):
        if self.instance is None and self.item.cls is not None:
            self.instance = self.item.cls()
        return self.instance

    def _param_key(self, fdef):
        fp = self.item.fparams
        if fp and fdef.name in fp:
            return fp[fdef.name][1]
        return None

    def _cached(self, step):
        fdef = step.fdef
        key = self._param_key(fdef)
        if fdef.rank >= 3:
            with _LOCK:
                entry = _PROCESS.entries.get((fdef, key))
                if entry is None:
                    entry = _PROCESS.entries[(fdef, key)] = _Entry(key, fdef)
                    self._fill(entry, step, _process_await)
        else:
            home = self.session._scopes[fdef.rank]
            entry = home.entries.get(fdef)
            if entry is not None and entry.key != key:
                self._switch(home, fdef)
                entry = None
            if entry is None:
                entry = home.entries[fdef] = _Entry(key, fdef)
                self._fill(entry, step, self.session._await)
        if entry.exc is not None:
            raise entry.exc
        return entry.value

    def _fill(self, entry, step, await_):
        try:
            entry.value = self._call(step, entry.fins, await_)
        except BaseException as e:  # noqa: BLE001 - every test using it gets this error
            if isinstance(e, KeyboardInterrupt):
                raise
            entry.exc = e

    def _switch(self, home, fdef):
        """Another param of a class/module fixture: tear down the old one (and what was set
        up after it) first, as pytest does."""
        items = list(home.entries.items())
        at = [k for k, _ in items].index(fdef)
        for k, entry in reversed(items[at:]):
            del home.entries[k]
            for e in _run_fins(entry.fins, self.session._await):
                self.session._pending.append((self.item.suite if k.rank == 1 else None, k.name, e))

    def getfixturevalue(self, name, requester):
        if name == "request":
            return requester
        plan = self.item.fx
        if name in self.values and (requester._step is None or name != requester._step.fdef.name):
            return self.values[name]
        p = Plan()
        p.visible = plan.visible
        done = set(self.values)
        fdef = requester._step.fdef if requester._step is not None else None
        slot = _resolve(p, name, {}, [], done, fdef)
        for step in p.steps:
            if step.fdef.rank == 0 or (step.fdef.rank == 1 and self.item.cls is None):
                self.values[step.slot] = self._call(step, self.fins, self.session._await)
            else:
                self.values[step.slot] = self._cached(step)
        return self.values[slot]


class _NotSet:
    def __repr__(self):
        return "<NOTSET>"


_NOTSET = _NotSet()


class FixtureRequest:
    """pytest's ``request``: the test's (``fixturename`` None) or a fixture's."""

    def __init__(self, run, step, fins):
        self._run = run
        self._step = step
        self._fins = fins

    @property
    def fixturename(self):
        return self._step.fdef.name if self._step is not None else None

    @property
    def scope(self):
        return self._step.fdef.scope if self._step is not None else "function"

    @property
    def param(self):
        fp = self._run.item.fparams
        name = self.fixturename
        if name is not None and fp and name in fp:
            return fp[name][0]
        raise AttributeError("'SubRequest' object has no attribute 'param'")

    @property
    def param_index(self):
        fp = self._run.item.fparams
        name = self.fixturename
        if name is not None and fp and name in fp:
            return fp[name][1]
        return 0

    @property
    def node(self):
        return self._run.node()

    @property
    def function(self):
        return self.node.function

    @property
    def cls(self):
        return self._run.item.cls

    @property
    def instance(self):
        return self._run.instance

    @property
    def module(self):
        return self._run.session.module

    @property
    def path(self):
        import pathlib

        return pathlib.Path(self._run.session.module.__file__)

    @property
    def config(self):
        return config()

    @property
    def keywords(self):
        return self.node.keywords

    @property
    def fixturenames(self):
        return list(self._run.item.fx.closure)

    @property
    def session(self):
        return _SessionNode()

    def addfinalizer(self, finalizer):
        self._fins.append(finalizer)

    def getfixturevalue(self, argname):
        return self._run.getfixturevalue(argname, self)

    def applymarker(self, marker):
        self.node.add_marker(marker)

    def raiseerror(self, msg):
        raise FixtureError(msg)

    def __repr__(self):
        return f"<FixtureRequest for {self._run.item.name!r}>"


class _SessionNode:
    @property
    def config(self):
        return config()


class Node:
    """The test's node: name, nodeid, markers, keywords; attributes may be set on it."""

    def __init__(self, run):
        item = run.item
        self._run = run
        self.name = item.name
        self.originalname = item.name.split("[", 1)[0]
        rel = run.session.rel
        self.nodeid = f"{rel}::{item.suite}::{item.name}" if item.suite else f"{rel}::{item.name}"
        # (a unittest test's `func` is its method's name)
        self.function = item.func if callable(item.func) else getattr(item.cls, item.func, None)
        self.obj = self.function
        self.cls = item.cls
        self.module = run.session.module
        self.own_markers = list(item.marks)
        self.keywords = {item.name: True}
        for m in item.marks:
            self.keywords[m.name] = m
        self.fixturenames = list(item.fx.closure) if item.fx is not None else []

    @property
    def instance(self):
        return self._run.instance

    @property
    def path(self):
        import pathlib

        return pathlib.Path(self.module.__file__)

    @property
    def callspec(self):
        """A parametrized test's ``callspec``: ``params`` (argument -> value) and ``id``."""
        item = self._run.item
        if "[" not in item.name:
            raise AttributeError("'Function' object has no attribute 'callspec'")
        params = dict(item.params)
        for name, (value, _) in (item.fparams or {}).items():
            params[name] = value
        return _CallSpec(params, item.name.split("[", 1)[1][:-1])

    @property
    def config(self):
        return config()

    @property
    def session(self):
        return _SessionNode()

    def iter_markers(self, name=None):
        for m in self.own_markers:
            if name is None or m.name == name:
                yield m

    def iter_markers_with_node(self, name=None):
        for m in self.iter_markers(name):
            yield self, m

    def get_closest_marker(self, name, default=None):
        for m in self.iter_markers(name):
            return m
        return default

    def add_marker(self, marker, append=True):
        if isinstance(marker, str):
            pytest = sys.modules.get("pytest")
            marker = getattr(pytest.mark, marker) if pytest else _Mark(marker, (), {})
        marker = getattr(marker, "mark", marker)
        self.keywords[marker.name] = marker
        if append:
            self.own_markers.append(marker)
        else:
            self.own_markers.insert(0, marker)

    def listchain(self):
        return [self]

    def __repr__(self):
        return f"<Function {self.name}>"


class _CallSpec:
    __slots__ = ("params", "id")

    def __init__(self, params, id_):
        self.params, self.id = params, id_


class _Mark:
    __slots__ = ("name", "args", "kwargs")

    def __init__(self, name, args, kwargs):
        self.name, self.args, self.kwargs = name, args, kwargs
