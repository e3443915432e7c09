"""A file's event loop, made when something first asks for one.

Files run on threads other than the main one, where asyncio's default policy raises
``There is no current event loop in thread`` from ``get_event_loop()``, though under
plain python the main thread gets a loop made. The runner makes a file's loop before
the import when the file's own source asks for one; this covers the rest (a conftest
or helper module asking while it is imported, a library asking from a sync test): on
a file's thread, the first ``get_event_loop()`` with no loop set makes one, which the
runner then adopts as the file's loop (its async tests run on it; it is closed when
the file ends). Once anything sets a loop on the thread, asyncio's own rules apply.

Importing this module imports nothing else: asyncio's policy is patched when a file imports
asyncio (or at once, if something already has).
"""

from __future__ import annotations

import sys
import threading


class _State(threading.local):
    armed = False
    made = None


_state = _State()


def arm():
    """A file starts on this thread: a loop may be made for it."""
    _state.armed = True


def take_made():
    """The loop made on demand for the file that ran on this thread, if any; disarms."""
    made = _state.made
    _state.made = None
    _state.armed = False
    return made


def _patch(events):
    base = events.BaseDefaultEventLoopPolicy
    if getattr(base, "_dbtest_on_demand", False):
        return
    get, set_ = base.get_event_loop, base.set_event_loop

    # Only the policy in use (a test's own policy object keeps asyncio's rules).
    def get_event_loop(self):
        if (
            _state.armed
            and getattr(events, "_event_loop_policy", self) is self
            and getattr(getattr(self, "_local", None), "_loop", 0) is None
        ):
            _state.armed = False
            loop = self.new_event_loop()
            self.set_event_loop(loop)
            _state.made = loop
        return get(self)

    def set_event_loop(self, loop):
        if getattr(events, "_event_loop_policy", self) is self:
            _state.armed = False
        set_(self, loop)

    get_event_loop.__doc__ = get.__doc__
    set_event_loop.__doc__ = set_.__doc__
    base.get_event_loop = get_event_loop
    base.set_event_loop = set_event_loop
    base._dbtest_on_demand = True


class _Loader:
    """asyncio.events' own loader, patching the module once it has run."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def create_module(self, spec):
        return self._inner.create_module(spec)

    def exec_module(self, module):
        self._inner.exec_module(module)
        _patch(module)


class _Watcher:
    """Finds asyncio.events as the path finder does, with a patching loader."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name != "asyncio.events":
            return None
        try:
            sys.meta_path.remove(_Watcher)
        except ValueError:
            pass
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _Loader(spec.loader)
        return spec


def install():
    """Patch asyncio now if it is imported, else when it is."""
    events = sys.modules.get("asyncio.events")
    if events is not None:
        _patch(events)
    elif _Watcher not in sys.meta_path:
        sys.meta_path.insert(0, _Watcher)


install()
