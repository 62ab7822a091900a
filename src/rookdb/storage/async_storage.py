"""``AsyncStorage``: a ``Storage`` for an event loop (issue 17).

The async session (``rookdb.async_session``) reaches storage only through this adapter. This
first version runs the storage's own (sync) methods in worker threads with
``anyio.to_thread.run_sync``, so a call never blocks the event loop, and the backends keep one
implementation of every read and write. Each storage has its own ``CapacityLimiter``, sized by
``Storage.async_threads``: a few threads for SQLite and memory (SQLite writes one transaction
at a time; more threads only wait on its lock), ``MAX_CONNECTIONS`` (the pool's size) for
PostgreSQL, where each thread holds one pooled connection. The http backend uses the same
adapter over its httpx ``Client`` (a thread per request in flight); native async I/O (httpx's
``AsyncClient``, psycopg's async connections) is not in this round.

A call, once started, runs to its end even if the awaiting task is cancelled: a thread cannot
be stopped in the middle of a transaction (``AsyncDocumentSession.save_changes`` waits for it
through the cancellation, so that the session learns the outcome). asyncio only, this round.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from rookdb.storage.base import Storage

__all__ = ["AsyncStorage"]

R = TypeVar("R")


class AsyncStorage:
    """One ``Storage``, awaited. Shared by the async sessions of a store, like the storage."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        # A limiter belongs to one event loop: one per loop, each of the storage's size.
        self._limiters: weakref.WeakKeyDictionary[object, anyio.CapacityLimiter] = (
            weakref.WeakKeyDictionary()
        )

    def limiter(self) -> anyio.CapacityLimiter:
        loop = asyncio.get_running_loop()
        limiter = self._limiters.get(loop)
        if limiter is None:
            limiter = self._limiters[loop] = anyio.CapacityLimiter(
                max(1, self.storage.async_threads)
            )
        return limiter

    async def call(self, method: Callable[..., R], *args: Any) -> R:
        """``method(*args)`` (a method of the storage) in a worker thread. Cancelling the
        awaiting task abandons the wait, not the call (anyio's ``abandon_on_cancel`` is off:
        the task waits for the thread, then is cancelled)."""
        return await anyio.to_thread.run_sync(
            functools.partial(method, *args), limiter=self.limiter()
        )
