"""Native async I/O for the storages' own code: one implementation, two drivers (issue 17).

The design. A storage's rules (what to read, how to write a batch in one transaction, retries,
failover, what an answer means) are written once, as sync code, and reach the network at a few
I/O points only: the http backend's ``Client`` sends each request through one method, the
PostgreSQL backend reaches its database through the connection ``_connection()`` lends. Under
an event loop, ``run(method, *args)`` runs that same sync code in a greenlet on the loop's own
thread; at an I/O point the code asks ``in_bridge()`` and, there, hands the async driver's
awaitable to ``await_``, which switches to the task that called ``run``: the task awaits it
(httpx's ``AsyncClient``, psycopg's ``AsyncConnection``) while the loop runs other tasks, and
switches back with its result or its exception. This is how SQLAlchemy's asyncio extension runs
its ORM over asyncpg.

Why not sans-IO programs (statements yielded to a sync and an async runner): the PostgreSQL
storage shares its relational core with SQLite, and a batch reaches the database from some
forty functions (revisions, attachments, counters, indexes, owned metadata); each would become
a generator, ``yield from`` all the way down, for both backends. The greenlet keeps every line
of that code as it is and puts the difference in two small drivers (``postgres.green`` and the
``Client``'s send).

What the bridge asks of the code it runs: no ``threading`` lock held across an I/O point (two
greenlets on one thread would deadlock the loop on it: the registries read their rows before
taking their lock), and no sleeping but ``sleep`` here.

Cancellation. A cancel of the task lands at the I/O point it waits on, as a ``CancelledError``
raised in the storage's code, which unwinds as for any error: an open PostgreSQL transaction is
rolled back (psycopg first cancels the statement on the server). The last step of a write is
not cancelled: PostgreSQL's ``COMMIT`` and the http backend's write requests are awaited to
their answer through ``to_the_end``, and the call then returns (or raises) as it would have, so
that a cancelled write has either written nothing (``CancelledError``) or returned its result.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

try:
    import greenlet  # type: ignore[import-untyped]  # it ships no types
except ImportError:  # pragma: no cover - greenlet comes with the postgres and http extras
    greenlet = None

__all__ = [
    "PerLoop",
    "available",
    "await_",
    "close_on",
    "in_bridge",
    "run",
    "sleep",
    "to_the_end",
]

R = TypeVar("R")
T = TypeVar("T")

#: Whether storages can run natively under an event loop (greenlet is installed).
available = greenlet is not None

if greenlet is not None:

    class _Bridged(greenlet.greenlet):  # type: ignore[misc]
        """A greenlet running a storage call for ``run``."""


def in_bridge() -> bool:
    """Whether the code runs under ``run``: its I/O points must go through ``await_``."""
    return greenlet is not None and isinstance(greenlet.getcurrent(), _Bridged)


def await_(awaitable: Awaitable[R]) -> R:
    """The result of ``awaitable``, awaited by the task that called ``run``."""
    current = greenlet.getcurrent() if greenlet is not None else None
    if current is None or not isinstance(current, _Bridged):
        raise RuntimeError("bridge.await_ called outside bridge.run")
    return current.parent.switch(awaitable)  # type: ignore[no-any-return]


async def run(method: Callable[..., R], *args: Any) -> R:
    """``method(*args)``, sync storage code, on this loop: each ``await_`` it makes is awaited
    here."""
    child = _Bridged(method, greenlet.getcurrent())
    asked = child.switch(*args)
    while not child.dead:
        try:
            result = await asked
        except BaseException as exc:  # CancelledError too: raised at the I/O point
            asked = child.throw(exc)
        else:
            asked = child.switch(result)
    return asked  # type: ignore[no-any-return]


async def to_the_end(awaitable: Awaitable[R]) -> R:
    """``awaitable``'s outcome, awaited through cancellation: a cancel that comes meanwhile
    is not delivered (the caller learns what happened instead). Only if ``awaitable`` itself
    is cancelled is ``CancelledError`` raised."""
    future = asyncio.ensure_future(awaitable)
    while True:
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            if future.cancelled():
                raise


def sleep(seconds: float) -> None:
    """``time.sleep``, or under ``run`` an ``asyncio.sleep`` that lets the loop go on."""
    if in_bridge():
        await_(asyncio.sleep(seconds))
    else:
        time.sleep(seconds)


class PerLoop(Generic[T]):
    """One ``T`` per event loop (an async driver's client or connections belong to the loop
    that made them), made at first use on the loop. ``close`` (the store's) closes them all:
    ``close(item, loop)`` must work from any thread, with the loop running, stopped or closed."""

    def __init__(
        self,
        make: Callable[[], T],
        close: Callable[[T, asyncio.AbstractEventLoop], None],
    ) -> None:
        self._make = make
        self._close = close
        self._lock = threading.Lock()
        self._items: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, T] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> T:
        """The running loop's ``T``; those of loops closed since are closed now (each
        ``asyncio.run`` is a loop of its own: their connections must not pile up)."""
        loop = asyncio.get_running_loop()
        with self._lock:
            item = self._items.get(loop)
            if item is None:
                item = self._items[loop] = self._make()
            ended = [(old, self._items.pop(old)) for old in list(self._items) if old.is_closed()]
        for old, stale in ended:
            self._close(stale, old)
        return item

    def close(self) -> None:
        with self._lock:
            items = list(self._items.items())
            self._items.clear()
        for loop, item in items:
            self._close(item, loop)


def close_on(loop: asyncio.AbstractEventLoop, closing: Callable[[], Awaitable[Any]]) -> None:
    """Await ``closing()`` on ``loop`` from any thread, where that can be done: a loop that
    is closed can no longer close anything (its sockets go with the garbage)."""
    if loop.is_closed():
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    try:
        if running is loop:  # called by sync code on the loop itself: close soon after
            _closing.add(task := loop.create_task(_awaited(closing)))
            task.add_done_callback(_closing.discard)
        elif loop.is_running():
            asyncio.run_coroutine_threadsafe(_awaited(closing), loop).result(CLOSE_WAIT_S)
        elif running is None:
            loop.run_until_complete(_awaited(closing))
    except (concurrent.futures.TimeoutError, RuntimeError):
        pass  # best effort: a loop busy, stopping, or waiting on this thread


#: The longest ``close_on`` waits for another thread's loop.
CLOSE_WAIT_S = 5.0
_closing: set[asyncio.Task[Any]] = set()


async def _awaited(closing: Callable[[], Awaitable[Any]]) -> None:
    await closing()
