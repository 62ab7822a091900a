"""A script's time limit, measured on the CPU clock of the thread that runs it.

The QuickJS binding's own limit (``Context.set_time_limit``) compares C's ``clock()``: the CPU
time of the whole process. In a server every other thread's work counts against a script, so
a short script is stopped when the server is busy (two busy threads stop a 0.2 s script at a
0.5 s limit). Here the limit is the script's own: the CPU time of its thread since it began
(on Linux, read from another thread through ``pthread_getcpuclockid``; elsewhere, wall time
since it began, which a busy machine only lengthens).

How it stops a script: one watchdog thread for the process keeps the scripts running, and
sleeps until the first of them could reach its limit (a thread's CPU time grows no faster
than the wall clock), reads that thread's clock again, and when the limit is past sets an
interrupt handler on the script's runtime (QuickJS's ``JS_SetInterruptHandler``, exported by
the binding's library) that answers "stop": QuickJS calls it within a few thousand
operations and throws its uncatchable ``InternalError: interrupted``. While no limit is
reached no handler is set, so the script pays nothing (a handler called back into Python at
every check would wait for the GIL each time: nine times slower beside one busy thread).

The binding does not expose its runtime: its ``Context`` object holds the ``JSRuntime`` and
``JSContext`` pointers right after the object header. Reading them is trusted only for the
binding's releases this layout was verified on (``VERIFIED``: the package's version, read
from its installed metadata), and checked again before use (the size of the object, and
``JS_GetRuntime`` of the context pointer must be the runtime pointer); for any other release,
or where a check fails, ``runtime_of`` is None and the engine falls back to the binding's own
limit (the process's CPU time): a newer binding costs precision, never a crash.

A watch ends (``watch`` exits) under the same lock the watchdog sets handlers under, before
the runtime can be freed: the watchdog never touches a runtime that is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
import time
from collections.abc import Iterator
from importlib import metadata
from typing import Any

__all__ = ["VERIFIED", "Watch", "runtime_of", "watch"]

log = logging.getLogger("rookdb.scripting")

#: The ``quickjs-ng`` releases (major, minor) whose ``Context`` layout was verified: 0.17.
VERIFIED = frozenset({(0, 17)})

_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
#: The interrupt handler of a script past its limit: "stop" (never freed: QuickJS may still
#: hold it when a watch ends).
_STOP = _HANDLER(lambda runtime, opaque: 1)
_NONE = _HANDLER()  # a NULL handler: none
_POINTER = ctypes.sizeof(ctypes.c_void_p)
#: The watchdog sleeps at least this long between readings of the clocks.
_GRAIN = 0.002


def _verified_release() -> bool:
    try:
        release = tuple(int(part) for part in metadata.version("quickjs-ng").split(".")[:2])
    except (metadata.PackageNotFoundError, ValueError):
        return False
    return release in VERIFIED


def _library() -> Any:
    """The binding's library, its C functions typed; None where it lacks them, or where its
    release is not one whose layout was verified."""
    if not _verified_release():
        log.debug("quickjs-ng release not verified: script time limits on the process's clock")
        return None
    try:
        import _quickjs

        library = ctypes.CDLL(_quickjs.__file__)
        library.JS_GetRuntime.restype = ctypes.c_void_p
        library.JS_GetRuntime.argtypes = [ctypes.c_void_p]
        library.JS_SetInterruptHandler.restype = None
        library.JS_SetInterruptHandler.argtypes = [ctypes.c_void_p, _HANDLER, ctypes.c_void_p]
    except (ImportError, OSError, AttributeError):
        return None
    return library


_library_once: list[Any] = []


def _quickjs_library() -> Any:
    if not _library_once:
        _library_once.append(_library())
    return _library_once[0]


def runtime_of(context: Any) -> int | None:
    """The address of the ``JSRuntime`` of a binding ``Context``, None if it cannot be found
    safely (another layout, no exported C API)."""
    library = _quickjs_library()
    if library is None or type(context).__basicsize__ < 4 * _POINTER:
        return None
    runtime, js_context = (ctypes.c_void_p * 4).from_address(id(context))[2:4]
    if not runtime or not js_context or runtime % _POINTER or js_context % _POINTER:
        return None
    if library.JS_GetRuntime(js_context) != runtime:
        return None
    return int(runtime)


def _thread_clock() -> int | None:
    """The CPU clock of the calling thread, None where threads' clocks cannot be read."""
    try:
        return time.pthread_getcpuclockid(threading.get_ident())
    except (AttributeError, OSError):
        return None


def _read(clock: int | None) -> float:
    if clock is None:
        return time.monotonic()
    try:
        return time.clock_gettime(clock)
    except OSError:  # the thread is gone (its watch ends meanwhile)
        return 0.0


class Watch:
    """One script run being watched: its runtime, clock, limit and start; ``fired`` once
    its handler was set to stop it."""

    __slots__ = ("clock", "fired", "limit", "runtime", "started")

    def __init__(self, runtime: int, limit: float) -> None:
        self.runtime = runtime
        self.clock = _thread_clock()
        self.limit = limit
        self.started = _read(self.clock)
        self.fired = False

    @property
    def measure(self) -> str:
        """What the limit counts, for messages."""
        return "wall time" if self.clock is None else "CPU time of its own"

    def left(self) -> float:
        return self.limit - (_read(self.clock) - self.started)


class _Watchdog:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._watches: set[Watch] = set()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def watch(self, runtime: int, limit: float) -> Iterator[Watch]:
        watched = Watch(runtime, limit)
        with self._lock:
            self._watches.add(watched)
            if self._thread is None or not self._thread.is_alive():  # none yet, or forked
                self._thread = threading.Thread(
                    target=self._run, name="rookdb-script-watchdog", daemon=True
                )
                self._thread.start()
            self._lock.notify()
        try:
            yield watched
        finally:
            with self._lock:
                self._watches.discard(watched)
                if watched.fired:  # whatever the runtime runs next is not the script
                    _quickjs_library().JS_SetInterruptHandler(runtime, _NONE, None)

    def _run(self) -> None:
        library = _quickjs_library()
        with self._lock:
            while True:
                wait: float | None = None
                for watched in self._watches:
                    if watched.fired:
                        continue
                    left = watched.left()
                    if left <= 0:
                        watched.fired = True
                        library.JS_SetInterruptHandler(watched.runtime, _STOP, None)
                    else:
                        wait = left if wait is None else min(wait, left)
                self._lock.wait(None if wait is None else max(wait, _GRAIN))


_watchdog = _Watchdog()


def watch(runtime: int, limit: float) -> contextlib.AbstractContextManager[Watch]:
    """Stop the script the calling thread runs in ``runtime`` (``runtime_of``) once it has
    run ``limit`` seconds of its thread's CPU time (wall time where that cannot be read)."""
    return _watchdog.watch(runtime, limit)
