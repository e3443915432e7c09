"""pytest's built-in fixtures, written for dbtest (pytest is never needed, nor imported).

`FIXTURES` maps each name to a plain function or generator function (code after `yield` is
the teardown); its parameters name the fixtures it needs; `_dbtest_scope` is "function" or
"session" (one value per worker process). Behaviour follows pytest's; the differences, which
come from dbtest running files on several threads of one process, are in docs/compat.md.
"""
import os
import re
import sys
import threading

__all__ = ["FIXTURES"]

_NOTSET = object()


def _scope(scope):
    def mark(f):
        f._dbtest_scope = scope
        return f

    return mark


# --------------------------------------------------------------------------- temporary folders


def _user():
    try:
        import getpass

        return getpass.getuser()
    except (ImportError, OSError, KeyError):
        return None


def _start_time(pid):
    """The process's start time in clock ticks (Linux), so a reused pid is a different run."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return "0"


def _run_key():
    """One key per dbtest run: workers are children of the run's supervisor (same binary);
    with `-n 0` (or outside dbtest) the process itself is the run."""
    pid = os.getpid()
    ppid = os.getppid()
    try:
        if os.path.realpath(f"/proc/{ppid}/exe") == os.path.realpath("/proc/self/exe"):
            pid = ppid
    except OSError:
        pass
    return f"{pid}-{_start_time(pid)}"


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def _numbers(root, prefix):
    """The numbers of the `prefix<N>` entries of `root` (pytest compares case-insensitively)."""
    low = prefix.lower()
    found = []
    try:
        names = os.listdir(root)
    except OSError:
        return found
    for name in names:
        if name.lower().startswith(low):
            tail = name[len(prefix):]
            if tail.isdigit():
                found.append(int(tail))
    return found


def _force_symlink(root, name, target):
    """`root/name` -> `target`, best effort (as pytest's `<prefix>current` links)."""
    link = os.path.join(root, name)
    try:
        os.unlink(link)
    except OSError:
        pass
    try:
        os.symlink(target, link)
    except OSError:
        pass


class _Numbered:
    """`prefix0`, `prefix1`, ... created with `mkdir`, which is atomic: threads and processes
    racing for a number each get their own folder. The next number is remembered per prefix,
    so a folder of thousands of tests is not listed again for each test."""

    def __init__(self):
        self._next = {}
        self._lock = threading.Lock()

    def make(self, root, prefix, mode=0o700, link=True, ours=False):
        """`ours`: `root` is a folder this process made, so a prefix never seen starts at 0
        without listing it (per test, listing a folder of thousands made runs quadratic)."""
        key = (root, prefix.lower())
        with self._lock:
            n = self._next.get(key)
        if n is None:
            n = 0 if ours else max(_numbers(root, prefix), default=-1) + 1
        for _ in range(1000):
            path = os.path.join(root, f"{prefix}{n}")
            try:
                os.mkdir(path, mode)
            except FileExistsError:
                n = max(max(_numbers(root, prefix), default=-1) + 1, n + 1)
                continue
            with self._lock:
                self._next[key] = max(self._next.get(key, 0), n + 1)
            if link:
                _force_symlink(root, prefix + "current", path)
            return path
        raise OSError(f"could not create a numbered folder {prefix}<N> in {root}")


_NUMBERED = _Numbered()
_RUN_FILE = ".dbtest-run"


def _root_dir(temproot, user):
    """`{tmp}/dbtest-of-{user}`, private to this user (pytest's checks against another user
    planting the folder or a link)."""
    root = os.path.join(temproot, f"dbtest-of-{user}")
    try:
        os.mkdir(root, 0o700)
    except FileExistsError:
        pass
    except OSError:
        root = os.path.join(temproot, "dbtest-of-unknown")
        os.makedirs(root, 0o700, exist_ok=True)
    st = os.lstat(root)
    import stat

    if stat.S_ISLNK(st.st_mode):
        raise OSError(f"The temporary directory {root} is a symbolic link. Fix this and try again.")
    if hasattr(os, "getuid"):
        if st.st_uid != os.getuid():
            raise OSError(
                f"The temporary directory {root} is not owned by the current user. "
                "Fix this and try again."
            )
        if st.st_mode & 0o077:
            os.chmod(root, st.st_mode & ~0o077)
    return root


def _read_run(path):
    try:
        with open(os.path.join(path, _RUN_FILE)) as f:
            pid, key = f.read().split()
        return int(pid), key
    except (OSError, ValueError):
        return None, None


def _young(path, seconds=600):
    import time

    try:
        return time.time() - os.stat(path).st_mtime < seconds
    except OSError:
        return True


def _cleanup(root, keep, background=False):
    """Delete the folders of all but the last `keep` runs (a run's workers share its key),
    never one a live process still uses. With `background`, folders are only renamed here and
    deleted on a daemon thread (a run of a thousand tests takes seconds to delete on a busy
    disk); what an exit cuts short is `garbage-*`, deleted next time."""
    runs = {}
    garbage = []
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        path = os.path.join(root, name)
        if name.startswith("garbage-"):
            garbage.append(path)
            continue
        tail = name[len("dbtest-"):]
        if not (name.startswith("dbtest-") and tail.isdigit()):
            continue
        pid, key = _read_run(path)
        group = runs.setdefault(key or path, [-1, []])
        group[0] = max(group[0], int(tail))
        group[1].append((path, pid))
    newest_first = sorted(runs.values(), key=lambda g: g[0], reverse=True)
    import shutil
    import uuid

    for _, folders in newest_first[keep:]:
        for path, pid in folders:
            if pid is None and _young(path):
                continue  # made by a process that has not written its run file yet
            if pid is not None and _alive(pid):
                continue
            # Renamed first, so no one sees a half-deleted numbered folder (as pytest).
            dead = os.path.join(root, f"garbage-{uuid.uuid4()}")
            try:
                os.rename(path, dead)
            except OSError:
                continue
            garbage.append(dead)
    def remove():
        for path in garbage:
            shutil.rmtree(path, ignore_errors=True)

    if not background:
        return remove()
    if garbage:
        t = threading.Thread(target=remove, name="dbtest-tmp-cleanup", daemon=True)
        t.start()
        return t


def _make_basetemp(keep=3):
    import tempfile

    temproot = os.path.realpath(os.environ.get("DBTEST_DEBUG_TEMPROOT") or tempfile.gettempdir())
    root = _root_dir(temproot, _user() or "unknown")
    base = _NUMBERED.make(root, "dbtest-", link=False)
    with open(os.path.join(base, _RUN_FILE), "w") as f:
        f.write(f"{os.getpid()} {_run_key()}\n")
    _force_symlink(root, "dbtest-current", base)
    _cleanup(root, keep, background=True)
    return base


class TempPathFactory:
    """pytest's `tmp_path_factory`: numbered folders under one base folder per worker
    process, `{tmp}/dbtest-of-{user}/dbtest-{N}` (the last 3 runs are kept)."""

    def __init__(self):
        self._basetemp = None
        self._lock = threading.Lock()

    def getbasetemp(self):
        from pathlib import Path

        with self._lock:
            if self._basetemp is None:
                self._basetemp = Path(_make_basetemp())
            return self._basetemp

    def _ensure_relative_to_basetemp(self, basename):
        basename = os.path.normpath(basename)
        base = self.getbasetemp()
        if (base / basename).resolve().parent != base:
            raise ValueError(f"{basename} is not a normalized and relative path")
        return basename

    def mktemp(self, basename, numbered=True):
        """A new folder `basename<N>` (`basename` itself when not `numbered`)."""
        from pathlib import Path

        basename = self._ensure_relative_to_basetemp(basename)
        base = self.getbasetemp()
        if not numbered:
            p = base / basename
            p.mkdir(mode=0o700)
            return p
        return Path(_NUMBERED.make(str(base), basename, ours=True))


_FACTORY = TempPathFactory()


@_scope("session")
def tmp_path_factory():
    return _FACTORY


def _test_name(request):
    node = getattr(request, "node", None)
    name = getattr(node, "name", None) or "tmp"
    return re.sub(r"[\W]", "_", name)[:30]


def tmp_path(request, tmp_path_factory):
    return tmp_path_factory.mktemp(_test_name(request), numbered=True)


class FixtureUnavailable(Exception):
    """A built-in fixture that needs a package the project does not have."""


def _local_path_class():
    try:
        from _pytest._py.path import LocalPath

        return LocalPath
    except ImportError:
        pass
    try:
        import py

        return py.path.local
    except (ImportError, AttributeError):
        raise FixtureUnavailable(
            "the tmpdir and tmpdir_factory fixtures return py.path.local objects, which need "
            "pytest or the py package: install one in the project's environment, or use "
            "tmp_path / tmp_path_factory (pathlib)"
        ) from None


class TempdirFactory:
    """pytest's legacy `tmpdir_factory`: `tmp_path_factory` with `py.path.local` results."""

    def __init__(self, factory, local):
        self._tmppath_factory = factory
        self._local = local

    def mktemp(self, basename, numbered=True):
        return self._local(self._tmppath_factory.mktemp(basename, numbered).resolve())

    def getbasetemp(self):
        return self._local(self._tmppath_factory.getbasetemp().resolve())


@_scope("session")
def tmpdir_factory(tmp_path_factory):
    return TempdirFactory(tmp_path_factory, _local_path_class())


def tmpdir(tmp_path):
    return _local_path_class()(tmp_path)


# --------------------------------------------------------------------------------- monkeypatch


def _resolve(name):
    import importlib

    parts = name.split(".")
    used = parts.pop(0)
    found = importlib.import_module(used)
    for part in parts:
        used += "." + part
        try:
            found = getattr(found, part)
            continue
        except AttributeError:
            pass
        try:
            importlib.import_module(used)
        except ImportError as ex:
            if str(ex).split()[-1] == used:
                raise
            raise ImportError(f"import error in {used}: {ex}") from ex
        found = _annotated_getattr(found, part, used)
    return found


def _annotated_getattr(obj, name, ann):
    try:
        return getattr(obj, name)
    except AttributeError as e:
        raise AttributeError(f"{type(obj).__name__!r} object at {ann} has no attribute {name!r}") from e


def _derive_importpath(import_path, raising):
    if not isinstance(import_path, str) or "." not in import_path:
        raise TypeError(f"must be absolute import path string, not {import_path!r}")
    module, attr = import_path.rsplit(".", 1)
    target = _resolve(module)
    if raising:
        _annotated_getattr(target, attr, ann=module)
    return attr, target


def _is_data_descriptor(cls, name):
    for klass in cls.__mro__:
        if name in klass.__dict__:
            kind = type(klass.__dict__[name])
            return hasattr(kind, "__set__") or hasattr(kind, "__delete__")
    return False


class MonkeyPatch:
    """pytest's `MonkeyPatch`: every change is undone, in reverse order, by `undo()` (at the
    test's teardown for the fixture)."""

    def __init__(self):
        self._setattr = []
        self._setitem = []
        self._cwd = None
        self._savesyspath = None

    @classmethod
    def context(cls):
        import contextlib

        @contextlib.contextmanager
        def patching():
            m = cls()
            try:
                yield m
            finally:
                m.undo()

        return patching()

    def setattr(self, target, name, value=_NOTSET, raising=True):
        __tracebackhide__ = True
        import inspect

        if value is _NOTSET:
            if not isinstance(target, str):
                raise TypeError(
                    "use setattr(target, name, value) or setattr(target, value) with target "
                    "being a dotted import string"
                )
            value = name
            name, target = _derive_importpath(target, raising)
        elif not isinstance(name, str):
            raise TypeError(
                "use setattr(target, name, value) with name being a string or "
                "setattr(target, value) with target being a dotted import string"
            )
        oldval = getattr(target, name, _NOTSET)
        if raising and oldval is _NOTSET:
            raise AttributeError(f"{target!r} has no attribute {name!r}")
        # A class's own __dict__ entry (not a staticmethod's bound result); an instance's own
        # entry, so undo never leaves a copy shadowing the class attribute.
        if inspect.isclass(target):
            oldval = target.__dict__.get(name, _NOTSET)
        elif not _is_data_descriptor(type(target), name):
            from collections.abc import Mapping

            target_dict = getattr(target, "__dict__", None)
            if isinstance(target_dict, Mapping):
                oldval = target_dict.get(name, _NOTSET)
        setattr(target, name, value)
        self._setattr.append((target, name, oldval))

    def delattr(self, target, name=_NOTSET, raising=True):
        __tracebackhide__ = True
        import inspect

        if name is _NOTSET:
            if not isinstance(target, str):
                raise TypeError(
                    "use delattr(target, name) or delattr(target) with target being a dotted "
                    "import string"
                )
            name, target = _derive_importpath(target, raising)
        if not hasattr(target, name):
            if raising:
                raise AttributeError(name)
            return
        oldval = getattr(target, name, _NOTSET)
        if inspect.isclass(target):
            oldval = target.__dict__.get(name, _NOTSET)
        delattr(target, name)
        self._setattr.append((target, name, oldval))

    def setitem(self, dic, name, value):
        oldval = dic.get(name, _NOTSET)
        dic[name] = value
        self._setitem.append((dic, name, oldval))

    def delitem(self, dic, name, raising=True):
        if name not in dic:
            if raising:
                raise KeyError(name)
            return
        oldval = dic.get(name, _NOTSET)
        del dic[name]
        self._setitem.append((dic, name, oldval))

    def setenv(self, name, value, prepend=None):
        if not isinstance(value, str):
            import warnings

            try:
                from _pytest.warning_types import PytestWarning as category
            except ImportError:
                category = UserWarning
            warnings.warn(
                category(
                    f"Value of environment variable {name} type should be str, but got "
                    f"{value!r} (type: {type(value).__name__}); converted to str implicitly"
                ),
                stacklevel=2,
            )
            value = str(value)
        if prepend and name in os.environ:
            value = value + prepend + os.environ[name]
        self.setitem(os.environ, name, value)

    def delenv(self, name, raising=True):
        self.delitem(os.environ, name, raising=raising)

    def syspath_prepend(self, path):
        if self._savesyspath is None:
            self._savesyspath = sys.path[:]
        sys.path.insert(0, str(path))
        if "pkg_resources" in sys.modules:
            from pkg_resources import fixup_namespace_packages

            fixup_namespace_packages(str(path))
        # Files written just before would otherwise be missed by the finders' mtime caches.
        from importlib import invalidate_caches

        invalidate_caches()

    def chdir(self, path):
        if self._cwd is None:
            self._cwd = os.getcwd()
        os.chdir(path)

    def undo(self):
        for obj, name, value in reversed(self._setattr):
            if value is not _NOTSET:
                setattr(obj, name, value)
            else:
                delattr(obj, name)
        self._setattr[:] = []
        for dictionary, key, value in reversed(self._setitem):
            if value is _NOTSET:
                try:
                    del dictionary[key]
                except KeyError:
                    pass
            else:
                dictionary[key] = value
        self._setitem[:] = []
        if self._savesyspath is not None:
            sys.path[:] = self._savesyspath
            self._savesyspath = None
        if self._cwd is not None:
            os.chdir(self._cwd)
            self._cwd = None


def monkeypatch():
    mp = MonkeyPatch()
    yield mp
    mp.undo()


# ------------------------------------------------------------------------------------ capture


def _capture_module():
    """dbtest's per-thread capture (made in Rust, see capture.rs), or None outside dbtest."""
    return sys.modules.get("dbtest._capture")


class _DbtestStreams:
    """Under dbtest: each thread's test output is already captured; the fixture drains it."""

    def __init__(self, cap):
        self._cap = cap
        self._before = ("", "")

    def start(self):
        # What the test printed before (other fixtures' set-up) stays in its report.
        self._before = self._cap.take()

    def read(self):
        return self._cap.take()

    def stop(self):
        out, err = self._cap.take()
        self._cap.put(self._before[0] + out, self._before[1] + err)

    def disable(self, off):
        return self._cap.disable(off)


class _SwappedStreams:
    """Outside dbtest (the shim's own tests under plain pytest): swap sys.stdout/stderr."""

    def __init__(self):
        self._saved = None

    def start(self):
        import io

        class Bytes:
            def __init__(self, text):
                self._text = text

            def write(self, b):
                self._text.write(bytes(b).decode("utf-8", "replace"))
                return len(b)

            def flush(self):
                pass

        class Sink(io.StringIO):
            @property
            def buffer(self):
                return Bytes(self)

        self._saved = (sys.stdout, sys.stderr)
        sys.stdout, sys.stderr = Sink(), Sink()
        self._mine = (sys.stdout, sys.stderr)

    def read(self):
        out, err = self._mine
        text = (out.getvalue(), err.getvalue())
        for s in self._mine:
            s.seek(0)
            s.truncate()
        return text

    def stop(self):
        out, err = self.read()
        sys.stdout, sys.stderr = self._saved
        sys.stdout.write(out)
        sys.stderr.write(err)

    def disable(self, off):
        was = sys.stdout is self._saved[0]
        sys.stdout, sys.stderr = self._saved if off else self._mine
        return was


_CaptureResult = None


def _result_type():
    global _CaptureResult
    if _CaptureResult is None:
        import collections

        _CaptureResult = collections.namedtuple("CaptureResult", ["out", "err"])
    return _CaptureResult


_capturing = threading.local()


class CaptureFixture:
    """What `capsys`, `capsysbinary`, `capfd` and `capfdbinary` return."""

    def __init__(self, name, binary):
        self._name = name
        self._binary = binary
        cap = _capture_module()
        self._streams = _DbtestStreams(cap) if cap is not None else _SwappedStreams()
        self._started = False

    def _start(self):
        current = getattr(_capturing, "fixture", None)
        if current is not None:
            raise RuntimeError(f"cannot use {self._name} and {current._name} at the same time")
        self._streams.start()
        _capturing.fixture = self
        self._started = True

    def _close(self):
        if self._started:
            self._started = False
            _capturing.fixture = None
            self._streams.stop()

    def readouterr(self):
        """What was written since the fixture started or since the last call: (out, err)."""
        out, err = self._streams.read() if self._started else ("", "")
        if self._binary:
            out, err = out.encode(), err.encode()
        return _result_type()(out, err)

    def disabled(self):
        import contextlib

        @contextlib.contextmanager
        def uncaptured():
            was = self._streams.disable(True)
            try:
                yield
            finally:
                self._streams.disable(was)

        return uncaptured()


def _capture_fixture(name, binary):
    def fixture():
        cf = CaptureFixture(name, binary)
        cf._start()
        try:
            yield cf
        finally:
            cf._close()

    fixture.__name__ = fixture.__qualname__ = name
    return fixture


capsys = _capture_fixture("capsys", False)
capsysbinary = _capture_fixture("capsysbinary", True)
# dbtest captures Python's sys.stdout/sys.stderr, not file descriptors 1 and 2: capfd sees
# what Python code writes, not what a subprocess or C code writes to the descriptors.
capfd = _capture_fixture("capfd", False)
capfdbinary = _capture_fixture("capfdbinary", True)


# ------------------------------------------------------------------------------------- caplog

DEFAULT_LOG_FORMAT = "%(levelname)-8s %(name)s:%(filename)s:%(lineno)d %(message)s"
DEFAULT_LOG_DATE_FORMAT = "%H:%M:%S"

_LogCaptureHandler = None


def _handler_class():
    global _LogCaptureHandler
    if _LogCaptureHandler is not None:
        return _LogCaptureHandler
    import io
    import logging

    class LogCaptureHandler(logging.StreamHandler):
        """pytest's handler, which also leaves out the records of tests running on other
        threads of the process (dbtest runs several files at once)."""

        def __init__(self):
            super().__init__(io.StringIO())
            self.records = []
            self._thread = threading.get_ident()
            cap = _capture_module()
            self._other_test = cap.active if cap is not None else (lambda: False)

        def handle(self, record):
            if threading.get_ident() != self._thread and self._other_test():
                return False
            return super().handle(record)

        def emit(self, record):
            self.records.append(record)
            super().emit(record)

        def reset(self):
            self.records = []
            self.stream = io.StringIO()

        def clear(self):
            self.records.clear()
            self.stream = io.StringIO()

        def handleError(self, record):
            if logging.raiseExceptions:
                # A bad log call fails the test rather than printing "Logging error".
                raise

    _LogCaptureHandler = LogCaptureHandler
    return LogCaptureHandler


class LogCaptureFixture:
    """pytest's `caplog`: the records logged during the test (through the root logger)."""

    def __init__(self):
        import logging

        self.handler = _handler_class()()
        self.handler.setFormatter(logging.Formatter(DEFAULT_LOG_FORMAT, DEFAULT_LOG_DATE_FORMAT))
        self._initial_handler_level = None
        self._initial_logger_levels = {}
        self._initial_disabled_logging_level = None

    def _start(self):
        import logging

        logging.getLogger().addHandler(self.handler)

    def _finalize(self):
        import logging

        logging.getLogger().removeHandler(self.handler)
        if self._initial_handler_level is not None:
            self.handler.setLevel(self._initial_handler_level)
        for name, level in self._initial_logger_levels.items():
            logging.getLogger(name).setLevel(level)
        if self._initial_disabled_logging_level is not None:
            logging.disable(self._initial_disabled_logging_level)
            self._initial_disabled_logging_level = None

    def get_records(self, when):
        """The records of a phase: "call" is everything since the fixture started; dbtest
        keeps no separate "setup" and "teardown" lists (they are empty)."""
        return self.records if when == "call" else []

    @property
    def text(self):
        return self.handler.stream.getvalue()

    @property
    def records(self):
        return self.handler.records

    @property
    def record_tuples(self):
        return [(r.name, r.levelno, r.getMessage()) for r in self.records]

    @property
    def messages(self):
        return [r.getMessage() for r in self.records]

    def clear(self):
        self.handler.clear()

    def _force_enable_logging(self, level, logger_obj):
        import logging

        original = logger_obj.manager.disable
        if isinstance(level, str):
            level = logging.getLevelName(level)
        if not isinstance(level, int):
            logging.disable(logging.NOTSET)
        elif not logger_obj.isEnabledFor(level):
            logging.disable(max(level - 10, logging.NOTSET))
        return original

    def set_level(self, level, logger=None):
        """Set the level of a logger (the root logger by default) and of the handler until
        the test ends."""
        import logging

        logger_obj = logging.getLogger(logger)
        self._initial_logger_levels.setdefault(logger, logger_obj.level)
        logger_obj.setLevel(level)
        if self._initial_handler_level is None:
            self._initial_handler_level = self.handler.level
        self.handler.setLevel(level)
        disabled = self._force_enable_logging(level, logger_obj)
        if self._initial_disabled_logging_level is None:
            self._initial_disabled_logging_level = disabled

    def at_level(self, level, logger=None):
        """`set_level` for the `with` block only."""
        import contextlib
        import logging

        @contextlib.contextmanager
        def leveled():
            logger_obj = logging.getLogger(logger)
            orig_level = logger_obj.level
            logger_obj.setLevel(level)
            handler_orig_level = self.handler.level
            self.handler.setLevel(level)
            original_disable_level = self._force_enable_logging(level, logger_obj)
            try:
                yield
            finally:
                logger_obj.setLevel(orig_level)
                self.handler.setLevel(handler_orig_level)
                logging.disable(original_disable_level)

        return leveled()

    def filtering(self, filter_):
        """Add `filter_` to the handler for the `with` block."""
        import contextlib

        @contextlib.contextmanager
        def filtered():
            if filter_ in self.handler.filters:
                yield
                return
            self.handler.addFilter(filter_)
            try:
                yield
            finally:
                self.handler.removeFilter(filter_)

        return filtered()


def caplog():
    fixture = LogCaptureFixture()
    fixture._start()
    try:
        yield fixture
    finally:
        fixture._finalize()


# ------------------------------------------------------------------------------------ recwarn

_WarningsRecorder = None


def _recorder_class():
    global _WarningsRecorder
    if _WarningsRecorder is not None:
        return _WarningsRecorder
    import warnings

    class WarningsRecorder(warnings.catch_warnings):
        """pytest's `WarningsRecorder`: the warnings raised while it is entered."""

        def __init__(self):
            super().__init__(record=True)
            self._entered_once = False
            self._list = []

        @property
        def list(self):
            return self._list

        def __getitem__(self, i):
            return self._list[i]

        def __iter__(self):
            return iter(self._list)

        def __len__(self):
            return len(self._list)

        def pop(self, cls=Warning):
            """The first warning of `cls`, preferring an exact match to a subclass."""
            __tracebackhide__ = True
            best = None
            for i, w in enumerate(self._list):
                if w.category == cls:
                    return self._list.pop(i)
                if issubclass(w.category, cls) and (
                    best is None or not issubclass(w.category, self._list[best].category)
                ):
                    best = i
            if best is not None:
                return self._list.pop(best)
            raise AssertionError(f"{cls!r} not found in warning list")

        def clear(self):
            self._list[:] = []

        def __enter__(self):
            if self._entered_once:
                raise RuntimeError(f"Cannot enter {self!r} twice")
            self._entered_once = True
            self._list = super().__enter__()
            warnings.simplefilter("always")
            return self

    _WarningsRecorder = WarningsRecorder
    return WarningsRecorder


def recwarn():
    import warnings

    rec = _recorder_class()()
    with rec:
        # As pytest's fixture: "default" inside the recorder (each location's warning once).
        warnings.simplefilter("default")
        yield rec


# ---------------------------------------------------------------------------------- doctests

_DOCTEST_NAMESPACE = {}


@_scope("session")
def doctest_namespace():
    return _DOCTEST_NAMESPACE


FIXTURES = {
    "tmp_path_factory": tmp_path_factory,
    "tmp_path": tmp_path,
    "tmpdir_factory": tmpdir_factory,
    "tmpdir": tmpdir,
    "monkeypatch": monkeypatch,
    "capsys": capsys,
    "capsysbinary": capsysbinary,
    "capfd": capfd,
    "capfdbinary": capfdbinary,
    "caplog": caplog,
    "recwarn": recwarn,
    "doctest_namespace": doctest_namespace,
}
for _f in FIXTURES.values():
    if not hasattr(_f, "_dbtest_scope"):
        _f._dbtest_scope = "function"
del _f
