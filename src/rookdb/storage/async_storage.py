"""``AsyncStorage``: a ``Storage`` for an asyncio event loop (issue 17).

The async session (``rookdb.async_session``) reaches storage only through this adapter, which
runs each call one of two ways, with the storage's one implementation either way:

- **Natively**, on the loop, for a storage whose driver has async I/O (``async_native``: the
  http backend over httpx's ``AsyncClient``, PostgreSQL over psycopg's ``AsyncConnection``):
  the storage's own code runs under ``rookdb.storage.bridge``, which awaits its I/O. This is
  for the session's hot calls, ``NATIVE``: ``get`` (load, refresh, exists), ``get_prefix``,
  ``conditional_get``, ``query``, ``read_many`` (lazy operations, includes), ``apply``
  (``save_changes``; a batch holding attachment contents goes to a thread: their bodies are
  sync iterators) and ``get_counters``.
- **In worker threads** for the rest, for SQLite and memory, and for every backend where the
  store's ``conventions.async_native_io`` is False, or None (the default) and the threads were
  measured faster (``Storage.async_native_faster``: today on both): attachments, revisions,
  index management, streams, identities. Each storage has its own pool of
  ``Storage.async_threads`` threads: a few (4) for SQLite and memory (SQLite writes one
  transaction at a time; more threads would only wait on its lock), the connection pool's size
  (16) for PostgreSQL, 8 for the http backend. (No async SQLite driver: aiosqlite is itself a
  thread per connection, and the memory backend does no I/O.)

The pools are ``concurrent.futures`` executors used through ``loop.run_in_executor``: asyncio's
own. The bridge needs greenlet (the postgres and http extras bring it); without it every call
runs in threads.

Cancellation. A read is abandoned at once (in a thread, it ends there unread). A write
(``apply``) in a thread runs to its end even if the awaiting task is cancelled (a thread cannot
be stopped in the middle of a transaction), and its outcome is returned: the cancel is not
delivered. A native call is interrupted where it waits,
except at a write's last step (``bridge``): a cancelled ``apply`` has either written nothing
(``CancelledError``) or returned its result. ``AsyncDocumentSession.save_changes`` relies on
this to know what a cancelled save did.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from rookdb.storage import bridge
from rookdb.storage.base import Storage
from rookdb.storage.commands import AttachmentPutCommand

__all__ = ["NATIVE", "AsyncStorage", "OwnThread"]

R = TypeVar("R")

#: The ``Storage`` methods run natively on an ``async_native`` storage.
NATIVE = frozenset(
    {"get", "get_prefix", "conditional_get", "query", "read_many", "apply", "get_counters"}
)


class AsyncStorage:
    """One ``Storage``, awaited. Shared by the async sessions of a store, like the storage;
    its threads are started when first needed and stopped by ``close`` (the store's)."""

    def __init__(self, storage: Storage, native: bool | None = None) -> None:
        """``native``: the store's ``conventions.async_native_io`` (None: the backend's
        faster way, ``Storage.async_native_faster``)."""
        self.storage = storage
        self.threads = max(1, storage.async_threads)
        wanted = storage.async_native_faster if native is None else native
        self.native = wanted and bridge.available and storage.async_native
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.threads, thread_name_prefix="rookdb-async"
                )
            return self._executor

    def is_native(self, method: Callable[..., Any], *args: Any) -> bool:
        """Whether ``method(*args)`` runs on the loop rather than in a thread."""
        if isinstance(method, functools.partial):  # a read the session prepared
            partial: functools.partial[Any] = method
            method, args = partial.func, (*partial.args, *args)
        if not self.native or getattr(method, "__self__", None) is not self.storage:
            return False
        name = getattr(method, "__name__", "")
        if name == "apply":
            batch = args[0]
            return isinstance(batch, list) and not any(
                type(c) is AttachmentPutCommand for c in batch
            )
        return name in NATIVE

    async def call(self, method: Callable[..., R], *args: Any) -> R:
        """``method(*args)`` (a storage call): on the loop where the storage has async I/O
        for it, else in one of this storage's worker threads."""
        if self.is_native(method, *args):
            return await bridge.run(method, *args)
        loop = asyncio.get_running_loop()
        running = loop.run_in_executor(self._pool(), functools.partial(method, *args))
        if getattr(method, "__name__", "") == "apply":  # a write: its outcome is learned
            return await bridge.to_the_end(running)
        return await running  # a read: abandoned to its thread

    def close(self) -> None:
        """Stop the threads once the calls under way end (the storage is closed after)."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)


class OwnThread:
    """A thread of its own for reads that hold one connection from their opening to their
    close (a stream's results, an attachment's content): each of their steps runs there, in
    order, so a driver whose connection or response belongs to one thread is used from that
    thread only. Started at the first step, ended by ``close``."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._executor: ThreadPoolExecutor | None = None
        self.closed = False

    async def run(self, step: Callable[[], R]) -> R:
        """``step()`` in the thread (not to be called once closed)."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix=self._name)
        return await asyncio.get_running_loop().run_in_executor(self._executor, step)

    async def close(self, last: Callable[[], object] | None = None) -> None:
        """Run ``last`` (releasing what the reads hold) in the thread if it was started, then
        end the thread."""
        self.closed = True
        executor, self._executor = self._executor, None
        if executor is None:
            return
        try:
            if last is not None:
                await asyncio.get_running_loop().run_in_executor(executor, last)
        finally:
            executor.shutdown(wait=False)
