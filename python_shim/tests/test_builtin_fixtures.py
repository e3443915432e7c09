"""Unit tests of dbtest's built-in fixtures (dbtest/_builtin_fixtures.py), through a small
harness standing in for the fixture engine. Runs under dbtest (tests/shim.rs, where capsys
uses dbtest's own capture) and under plain pytest (`python3 -m pytest python_shim/tests`).
The tests take no arguments: they must not depend on the fixture engine they test."""
import importlib.util
import inspect
import io
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import warnings
from pathlib import Path

if importlib.util.find_spec("dbtest") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dbtest import _builtin_fixtures as bf  # noqa: E402

FIXTURES = bf.FIXTURES


class _Node:
    def __init__(self, name):
        self.name = name
        self.nodeid = f"tests/test_x.py::{name}"


class _Request:
    def __init__(self, name):
        self.node = _Node(name)
        self.config = None
        self.finalizers = []

    def addfinalizer(self, f):
        self.finalizers.append(f)


_SESSION = {}


class Harness:
    """Sets up fixtures by name as an engine would: parameters are fixtures, generators are
    torn down in reverse order, session-scoped values are made once."""

    def __init__(self, name="test_f"):
        self.request = _Request(name)
        self.values = {"request": self.request}
        self.gens = []

    def get(self, name):
        if name in self.values:
            return self.values[name]
        f = FIXTURES[name]
        if f._dbtest_scope == "session" and name in _SESSION:
            return _SESSION[name]
        kwargs = {p: self.get(p) for p in inspect.signature(f).parameters}
        if inspect.isgeneratorfunction(f):
            gen = f(**kwargs)
            value = next(gen)
            self.gens.append(gen)
        else:
            value = f(**kwargs)
        (_SESSION if f._dbtest_scope == "session" else self.values)[name] = value
        return value

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for gen in reversed(self.gens):
            try:
                next(gen)
            except StopIteration:
                pass
            else:
                raise AssertionError("a fixture yielded twice")
        return False


def raises(exc_type, fn):
    try:
        fn()
    except exc_type as e:
        return e
    raise AssertionError(f"{exc_type.__name__} not raised")


# ----------------------------------------------------------------------------- the interface


def test_every_builtin_is_declared_with_its_scope_and_known_parameters():
    expected = {
        "tmp_path", "tmp_path_factory", "tmpdir", "tmpdir_factory", "monkeypatch", "capsys",
        "capsysbinary", "capfd", "capfdbinary", "caplog", "recwarn", "doctest_namespace",
    }
    assert set(FIXTURES) == expected
    for name, f in FIXTURES.items():
        assert callable(f)
        for p in inspect.signature(f).parameters:
            assert p == "request" or p in FIXTURES, (name, p)
    session = {n for n, f in FIXTURES.items() if f._dbtest_scope == "session"}
    assert session == {"tmp_path_factory", "tmpdir_factory", "doctest_namespace"}
    assert all(f._dbtest_scope == "function" for n, f in FIXTURES.items() if n not in session)


def test_the_module_imports_neither_pytest_nor_logging_up_front():
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import dbtest._builtin_fixtures; "
        "print(sorted(m for m in ('pytest', '_pytest', 'logging', 'warnings', 'tempfile') "
        "if m in sys.modules))"
    )
    shim = str(Path(bf.__file__).resolve().parent.parent)
    out = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code, shim], capture_output=True, text=True, check=True
    ).stdout
    # `warnings` is loaded by Python itself; the others only when a fixture needs them.
    assert "pytest" not in out and "logging" not in out and "tempfile" not in out, out


# ------------------------------------------------------------------------------ temporary dirs


def test_tmp_path_is_a_fresh_numbered_folder_named_after_the_test():
    with Harness("test_f[1-a]") as h:
        first = h.get("tmp_path")
    with Harness("test_f[1-a]") as h:
        second = h.get("tmp_path")
        factory = h.get("tmp_path_factory")
    assert isinstance(first, Path) and first.is_dir() and not any(first.iterdir())
    assert re.fullmatch(r"test_f_1_a_\d+", first.name), first.name
    n = int(first.name[len("test_f_1_a_"):])
    assert second.name == f"test_f_1_a_{n + 1}"
    base = factory.getbasetemp()
    assert first.parent == base and second.parent == base
    assert re.fullmatch(r"dbtest-\d+", base.name) and base.parent.name.startswith("dbtest-of-")
    assert (base / "test_f_1_a_current").resolve() == second
    assert (base.parent / "dbtest-current").exists()


def test_tmp_path_names_are_sanitized_and_cut_at_30_characters():
    with Harness("test_" + "x" * 40 + "[a/b]") as h:
        p = h.get("tmp_path")
    assert p.name.startswith("test_" + "x" * 25) and not p.name.startswith("test_" + "x" * 26)
    with Harness("test_g[a/b c]") as h:
        assert re.fullmatch(r"test_g_a_b_c_\d+", h.get("tmp_path").name)


def test_tmp_path_factory_is_one_per_process_and_checks_names():
    with Harness() as h:
        factory = h.get("tmp_path_factory")
    assert FIXTURES["tmp_path_factory"]() is factory
    named = factory.mktemp("plain", numbered=False)
    assert named == factory.getbasetemp() / "plain" and named.is_dir()
    raises(FileExistsError, lambda: factory.mktemp("plain", numbered=False))
    a, b = factory.mktemp("data"), factory.mktemp("data")
    assert (a.name, b.name) == ("data0", "data1")
    # Folders made by hand in the base folder are stepped over.
    (factory.getbasetemp() / "byhand0").mkdir()
    (factory.getbasetemp() / "byhand1").mkdir()
    assert factory.mktemp("byhand").name == "byhand2"
    raises(ValueError, lambda: factory.mktemp("../outside"))
    raises(ValueError, lambda: factory.mktemp("/abs"))


def test_mktemp_from_many_threads_gives_each_its_own_folder():
    factory = FIXTURES["tmp_path_factory"]()
    made = []
    lock = threading.Lock()

    def work():
        for _ in range(20):
            p = factory.mktemp("race")
            with lock:
                made.append(p)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == 160 and all(p.is_dir() for p in made)


_MAKE_BASE = (
    "import os, sys; sys.path.insert(0, sys.argv[1]); from dbtest import _builtin_fixtures as bf; "
    "base = bf.FIXTURES['tmp_path_factory']().getbasetemp(); print(base, flush=True); "
    "sys.stdin.readline(); print(base.is_dir())"
)


def test_concurrent_processes_get_their_own_base_folders_and_keep_them_while_alive():
    shim = str(Path(bf.__file__).resolve().parent.parent)
    with tempfile.TemporaryDirectory() as root:
        env = dict(os.environ, DBTEST_DEBUG_TEMPROOT=root)
        procs = [
            subprocess.Popen([sys.executable, "-c", _MAKE_BASE, shim], env=env, text=True,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            for _ in range(6)
        ]
        # All six are alive with their folders made: more runs than the 3 kept, none deleted.
        bases = [p.stdout.readline().strip() for p in procs]
        still = [p.communicate("go\n")[0].strip() for p in procs]
        assert len(set(bases)) == 6, bases
        assert all(re.search(r"/dbtest-of-[^/]+/dbtest-\d+$", b) for b in bases), bases
        assert still == ["True"] * 6, still


def _dead_pid():
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_only_the_last_three_runs_are_kept_and_live_ones_never_go():
    with tempfile.TemporaryDirectory() as temproot:
        root = Path(temproot) / "dbtest-of-someone"
        root.mkdir(mode=0o700)
        dead = _dead_pid()
        # Runs: r0 (folders 2, 3), r1 (4), r2 (5, 6), r3 (7), r4 (8); folder 3 still in use.
        layout = {2: ("r0", dead), 3: ("r0", os.getpid()), 4: ("r1", dead), 5: ("r2", dead),
                  6: ("r2", dead), 7: ("r3", dead), 8: ("r4", dead)}
        for n, (key, pid) in layout.items():
            (root / f"dbtest-{n}").mkdir()
            (root / f"dbtest-{n}" / ".dbtest-run").write_text(f"{pid} {key}\n")
        # No run file: being made right now (young) or left by a crash (old).
        (root / "dbtest-0").mkdir()
        (root / "dbtest-1").mkdir()
        os.utime(root / "dbtest-1", (0, 0))
        (root / "garbage-old").mkdir()
        (root / "garbage-old" / "file").write_text("x")
        bf._cleanup(str(root), keep=3, background=True).join()
        left = sorted(p.name for p in root.iterdir())
        assert left == ["dbtest-0", "dbtest-3", "dbtest-5", "dbtest-6", "dbtest-7", "dbtest-8"], left
        assert bf._cleanup(str(root), keep=3, background=True) is None  # nothing to delete


def test_tmpdir_is_a_py_path_of_the_same_kind_of_folder_when_available():
    try:
        bf._local_path_class()
    except bf.FixtureUnavailable:
        return
    with Harness("test_legacy") as h:
        d = h.get("tmpdir")
        factory = h.get("tmpdir_factory")
    assert d.check(dir=1) and d.basename.startswith("test_legacy")
    assert type(d).__name__ == "LocalPath" or "local" in type(d).__name__.lower()
    assert str(factory.getbasetemp()) == str(FIXTURES["tmp_path_factory"]().getbasetemp())
    assert factory.mktemp("legacy").check(dir=1)


def test_tmpdir_without_py_path_says_what_to_do():
    saved = {m: sys.modules.get(m, "absent") for m in ("_pytest._py.path", "py")}
    sys.modules["_pytest._py.path"] = None
    sys.modules["py"] = None
    try:
        with Harness() as h:
            err = raises(bf.FixtureUnavailable, lambda: h.get("tmpdir"))
    finally:
        for m, v in saved.items():
            if v == "absent":
                del sys.modules[m]
            else:
                sys.modules[m] = v
    assert "tmp_path" in str(err) and "pytest" in str(err)


# -------------------------------------------------------------------------------- monkeypatch


class Thing:
    value = 1

    @staticmethod
    def static():
        return "static"

    @property
    def prop(self):
        return "prop"


def test_setattr_and_delattr_are_undone_in_reverse_order():
    t = Thing()
    with Harness() as h:
        mp = h.get("monkeypatch")
        mp.setattr(Thing, "value", 2)
        mp.setattr(Thing, "value", 3)
        mp.setattr(Thing, "static", lambda: "patched")
        mp.setattr(t, "value", 10)
        mp.setattr(Thing, "new", 5, raising=False)
        mp.delattr(Thing, "prop")
        assert (Thing.value, Thing.static(), t.value, Thing.new) == (3, "patched", 10, 5)
        assert not hasattr(t, "prop")
        raises(AttributeError, lambda: mp.setattr(Thing, "missing", 1))
        raises(AttributeError, lambda: mp.delattr(Thing, "missing"))
        mp.delattr(Thing, "missing", raising=False)
    assert Thing.value == 1 and Thing.static() == "static" and t.prop == "prop"
    assert "value" not in t.__dict__ and not hasattr(Thing, "new")
    assert isinstance(Thing.__dict__["static"], staticmethod)


def test_setattr_takes_a_dotted_import_path():
    import os.path as osp

    original = osp.join
    with Harness() as h:
        mp = h.get("monkeypatch")
        mp.setattr("os.path.join", lambda *a: "joined")
        assert osp.join("a", "b") == "joined"
        raises(AttributeError, lambda: mp.setattr("os.path.nope", 1))
        raises(TypeError, lambda: mp.setattr("nodots", 1))
        raises(ImportError, lambda: mp.setattr("no_such_module_xyz.attr", 1))
        mp.delattr("os.path.basename")
        assert not hasattr(osp, "basename")
    assert osp.join is original and callable(osp.basename)


def test_items_and_environment_are_restored():
    d = {"a": 1}
    os.environ["DBTEST_MP_A"] = "old"
    os.environ.pop("DBTEST_MP_B", None)
    try:
        with Harness() as h:
            mp = h.get("monkeypatch")
            mp.setitem(d, "a", 2)
            mp.setitem(d, "b", 3)
            mp.delitem(d, "a")
            raises(KeyError, lambda: mp.delitem(d, "zz"))
            mp.delitem(d, "zz", raising=False)
            mp.setenv("DBTEST_MP_A", "new", prepend=":")
            mp.setenv("DBTEST_MP_B", "b", prepend=":")
            assert (os.environ["DBTEST_MP_A"], os.environ["DBTEST_MP_B"]) == ("new:old", "b")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                mp.setenv("DBTEST_MP_B", 5)
            assert os.environ["DBTEST_MP_B"] == "5" and "converted to str" in str(caught[0].message)
            mp.delenv("DBTEST_MP_A")
            raises(KeyError, lambda: mp.delenv("DBTEST_MP_NEVER"))
            mp.delenv("DBTEST_MP_NEVER", raising=False)
            assert d == {"b": 3} and "DBTEST_MP_A" not in os.environ
        assert d == {"a": 1}
        assert os.environ["DBTEST_MP_A"] == "old" and "DBTEST_MP_B" not in os.environ
    finally:
        os.environ.pop("DBTEST_MP_A", None)


def test_syspath_prepend_finds_modules_written_after_it_and_chdir_returns():
    before_path, before_cwd = sys.path[:], os.getcwd()
    with tempfile.TemporaryDirectory() as d:
        with Harness() as h:
            mp = h.get("monkeypatch")
            mp.syspath_prepend(d)
            mp.chdir(d)
            assert sys.path[0] == d and os.getcwd() == os.path.realpath(d)
            Path(d, "dbtest_mp_fresh_mod.py").write_text("X = 42\n")
            import dbtest_mp_fresh_mod

            assert dbtest_mp_fresh_mod.X == 42
        del sys.modules["dbtest_mp_fresh_mod"]
    assert sys.path == before_path and os.getcwd() == before_cwd


def test_context_undoes_at_the_end_of_the_block():
    with bf.MonkeyPatch.context() as m:
        m.setattr(Thing, "value", 7)
        assert Thing.value == 7
    assert Thing.value == 1
    with Harness() as h:
        with h.get("monkeypatch").context() as m:
            m.setattr(Thing, "value", 8)
        assert Thing.value == 1


# ------------------------------------------------------------------------------------ capture


class _Outer:
    """The test's own captured output as the runner sees it: dbtest's per-thread buffers
    under dbtest, a swapped sys.stdout under plain pytest."""

    def __enter__(self):
        self.cap = sys.modules.get("dbtest._capture")
        if self.cap is not None:
            self.kept = self.cap.take()
        else:
            self.saved = sys.stdout, sys.stderr
            sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
        return self

    def read(self):
        if self.cap is not None:
            return self.cap.take()
        return sys.stdout.getvalue(), sys.stderr.getvalue()

    def __exit__(self, *exc):
        if self.cap is not None:
            self.cap.put(*self.kept)
        else:
            sys.stdout, sys.stderr = self.saved
        return False


def test_capsys_reads_what_was_printed_since_the_last_read():
    with _Outer():
        with Harness() as h:
            capsys = h.get("capsys")
            print("hello")
            sys.stderr.write("oops\n")
            res = capsys.readouterr()
            assert res == ("hello\n", "oops\n") and (res.out, res.err) == ("hello\n", "oops\n")
            assert type(res).__name__ == "CaptureResult"
            assert capsys.readouterr() == ("", "")
            print("again", end="")
            assert capsys.readouterr().out == "again"


def test_capsys_gives_back_output_it_did_not_read_and_what_came_before():
    with _Outer() as outer:
        print("before")
        with Harness() as h:
            capsys = h.get("capsys")
            print("read")
            capsys.readouterr()
            print("unread")
            sys.stderr.write("err unread\n")
        assert outer.read() == ("before\nunread\n", "err unread\n")


def test_binary_variants_return_bytes_and_capfd_sees_python_output():
    for name in ("capsysbinary", "capfdbinary"):
        with _Outer():
            with Harness() as h:
                cap = h.get(name)
                print("é")
                sys.stdout.buffer.write(b"raw")
                assert cap.readouterr() == ("é\n".encode() + b"raw", b"")
    with _Outer():
        with Harness() as h:
            capfd = h.get("capfd")
            print("fd")
            assert capfd.readouterr().out == "fd\n"


def test_two_capture_fixtures_in_one_test_are_an_error():
    with _Outer():
        with Harness() as h:
            h.get("capsys")
            err = raises(RuntimeError, lambda: h.get("capfd"))
    assert str(err) == "cannot use capfd and capsys at the same time"
    with _Outer():
        with Harness() as h:
            h.get("capfd")  # the first one's teardown released the thread


def test_disabled_output_is_not_captured():
    with _Outer() as outer:
        with Harness() as h:
            capsys = h.get("capsys")
            with capsys.disabled():
                if outer.cap is None:
                    sys.stdout = io.StringIO()  # keep plain pytest's terminal clean
                print("shown directly")
            print("captured")
            assert capsys.readouterr().out == "captured\n"
        assert outer.read() == ("", "")


# ------------------------------------------------------------------------------------- caplog


def test_caplog_sees_warnings_by_default_and_info_after_set_level():
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    log = logging.getLogger("dbtest.test.caplog")
    with Harness() as h:
        caplog = h.get("caplog")
        log.info("not seen: the root logger is at WARNING")
        log.warning("seen %d", 1)
        caplog.set_level(logging.INFO)
        log.info("info now")
        assert caplog.record_tuples == [
            ("dbtest.test.caplog", logging.WARNING, "seen 1"),
            ("dbtest.test.caplog", logging.INFO, "info now"),
        ]
        assert caplog.messages == ["seen 1", "info now"]
        assert caplog.get_records("call") == caplog.records and len(caplog.records) == 2
        assert re.fullmatch(
            r"WARNING  dbtest\.test\.caplog:test_builtin_fixtures\.py:\d+ seen 1\n"
            r"INFO     dbtest\.test\.caplog:test_builtin_fixtures\.py:\d+ info now\n",
            caplog.text,
        ), caplog.text
        caplog.clear()
        assert caplog.records == [] and caplog.text == ""
    assert root.level == level and root.handlers == handlers


def test_caplog_levels_on_named_loggers_and_at_level_are_restored():
    log = logging.getLogger("dbtest.test.levels")
    with Harness() as h:
        caplog = h.get("caplog")
        with caplog.at_level(logging.DEBUG, logger="dbtest.test.levels"):
            log.debug("inside")
            assert log.level == logging.DEBUG
        log.debug("outside")
        assert log.level == logging.NOTSET and caplog.messages == ["inside"]
        caplog.set_level("INFO", logger="dbtest.test.levels")
        log.info("named")
        assert caplog.messages[-1] == "named"
    assert log.level == logging.NOTSET


def test_caplog_reenables_disabled_logging_and_restores_it():
    logging.disable(logging.CRITICAL)
    try:
        with Harness() as h:
            caplog = h.get("caplog")
            caplog.set_level(logging.WARNING)
            logging.getLogger("dbtest.test.disabled").warning("through")
            assert caplog.messages == ["through"]
        assert logging.root.manager.disable == logging.CRITICAL
    finally:
        logging.disable(logging.NOTSET)


def test_caplog_takes_helper_threads_records_but_not_other_tests():
    log = logging.getLogger("dbtest.test.threads")
    with Harness() as h:
        caplog = h.get("caplog")
        t = threading.Thread(target=lambda: log.warning("from a helper thread"))
        t.start()
        t.join()
        # A thread running another test (as dbtest's capture says) is not this test's.
        caplog.handler._other_test = lambda: True
        t = threading.Thread(target=lambda: log.warning("from another test"))
        t.start()
        t.join()
        log.warning("own thread")
        assert caplog.messages == ["from a helper thread", "own thread"]


def test_caplog_filtering_and_bad_log_calls_fail():
    log = logging.getLogger("dbtest.test.filter")
    with Harness() as h:
        caplog = h.get("caplog")
        f = logging.Filter("other")
        with caplog.filtering(f):
            log.warning("filtered out")
        log.warning("kept")
        assert caplog.messages == ["kept"] and f not in caplog.handler.filters
        raises(TypeError, lambda: log.warning("%d", "not a number"))


# ------------------------------------------------------------------------------------ recwarn


def test_recwarn_records_and_pops_the_best_match():
    filters = warnings.filters[:]
    with Harness() as h:
        rec = h.get("recwarn")
        warnings.warn("user")
        warnings.warn("dep", DeprecationWarning)
        warnings.warn("pend", PendingDeprecationWarning)
        assert len(rec) == 3 and str(rec[0].message) == "user"
        assert [str(w.message) for w in rec] == ["user", "dep", "pend"]
        assert rec.pop(DeprecationWarning).category is DeprecationWarning
        assert str(rec.pop(UserWarning).message) == "user"
        raises(AssertionError, lambda: rec.pop(RuntimeWarning))
        rec.clear()
        assert len(rec) == 0 and rec.list == []
    assert warnings.filters == filters


def test_recwarn_records_each_location_once_as_pytest_does():
    with Harness() as h:
        rec = h.get("recwarn")
        for _ in range(3):
            warnings.warn("loop", UserWarning)
        assert len(rec) == 1


# ---------------------------------------------------------------------------------- doctests


def test_doctest_namespace_is_one_dict_per_session():
    with Harness() as h:
        ns = h.get("doctest_namespace")
    ns["np"] = "x"
    assert FIXTURES["doctest_namespace"]() is ns
