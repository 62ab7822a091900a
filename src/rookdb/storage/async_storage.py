"""``AsyncStorage``: a ``Storage`` for an asyncio event loop (issue 17).

The async session (``rookdb.async_session``) reaches storage only through this adapter. This
first version runs the storage's own (sync) methods in worker threads, so that a call never
blocks the event loop and the backends keep one implementation of every read and write. Each
storage has its own pool of ``Storage.async_threads`` threads: a few (4) for SQLite and memory
(SQLite writes one transaction at a time; more threads would only wait on its lock), the
connection pool's size (16) for PostgreSQL, where each thread holds one pooled connection, 8
for the http backend (each a request in flight on its httpx ``Client``). Native async I/O
(httpx's ``AsyncClient``, psycopg's async connections) is not in this round.

The pools are ``concurrent.futures`` executors used through ``loop.run_in_executor``: asyncio's
own, so the async session needs nothing the core does not (anyio is the server's extra).

A call, once started, runs to its end even if the awaiting task is cancelled: a thread cannot
be stopped in the middle of a transaction (``AsyncDocumentSession.save_changes`` waits for it
through the cancellation, so that the session learns the outcome).
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from rookdb.storage.base import Storage

__all__ = ["AsyncStorage"]

R = TypeVar("R")


class AsyncStorage:
    """One ``Storage``, awaited. Shared by the async sessions of a store, like the storage;
    its threads are started when first needed and stopped by ``close`` (the store's)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.threads = max(1, storage.async_threads)
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.threads, thread_name_prefix="rookdb-async"
                )
            return self._executor

    async def call(self, method: Callable[..., R], *args: Any) -> R:
        """``method(*args)`` (a storage call) in one of this storage's worker threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool(), functools.partial(method, *args))

    def close(self) -> None:
        """Stop the threads once the calls under way end (the storage is closed after)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
