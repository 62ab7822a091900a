"""Connections to one SQLite database, and its transactions.

A file has one connection per thread and process: a new connection after ``fork`` (a SQLite
connection must never cross a fork), WAL journal, ``synchronous=FULL`` and a busy timeout.
Memory is one in-memory database on a single connection guarded by a lock, shared by the
store's sessions and threads. Every connection has rookdb's SQL functions (``sql_functions``).

Closing (a database deleted, a store closed) never closes a connection under a thread using it
(which crashed the process inside SQLite): a file's connections in use are closed by their
threads as they finish, memory's waits for its user; nothing new starts once closed.

Transactions are explicit (connections are in autocommit mode) and rolled back on any error:
SQLite commits what was done so far if a transaction is simply abandoned in some error paths,
and a batch must be all or nothing.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator

from rookdb.alphanumeric import alphanumeric_key
from rookdb.errors import StorageError
from rookdb.storage.sqlite import sql_functions

__all__ = ["BUSY_TIMEOUT_MS", "Connections", "transaction"]

BUSY_TIMEOUT_MS = 30_000


# How many times this process is a fork's child (counted by an at-fork hook): a connection
# made in an earlier generation belongs to the parent. Compared on each use of a connection
# instead of calling os.getpid(), a system call per storage call.
_forks = 0


def _forked() -> None:
    global _forks
    _forks += 1


if hasattr(os, "register_at_fork"):  # POSIX: where there is no fork, there is nothing to count
    os.register_at_fork(after_in_child=_forked)


def use_wal(conn: sqlite3.Connection) -> None:
    """Switch a file to WAL. SQLite answers "database is locked" at once, without its busy
    handler, while another process holds the lock this needs (as processes opening a new
    database together do): wait for it as a busy timeout would."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


class _Use:
    """A thread's connection to a file, the fork generation it was made in, and how many
    uses of it this thread is inside (``Connections.__enter__``)."""

    __slots__ = ("conn", "depth", "forks")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.forks = _forks
        self.depth = 0


class Connections:
    """One connection per thread and process (files), or one shared connection (memory)."""

    def __init__(self, path: str | None) -> None:
        self._path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._registry_lock = threading.Lock()
        self._closed = False
        # Connections a thread is inside (files), which close() leaves to their threads: the
        # set is changed without the lock by the connection's own thread only.
        self._inside: set[sqlite3.Connection] = set()
        self._left_to_close: set[sqlite3.Connection] = set()
        if path is None:
            self._shared: sqlite3.Connection | None = self._open()
            self._shared_lock: threading.RLock | None = threading.RLock()
        else:
            self._shared = None
            self._shared_lock = None

    def _open(self, *, own: bool = False) -> sqlite3.Connection:
        """A new connection; ``own``: for one stream, neither registered nor switched to WAL
        (the file is in WAL already), closed by its user."""
        target = self._path if self._path is not None else ":memory:"
        conn = sqlite3.connect(
            target,
            timeout=BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,  # autocommit; transactions are explicit
            check_same_thread=False,
        )
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.create_function(
            sql_functions.REGEXP_FUNCTION, 2, sql_functions.regexp, deterministic=True
        )
        conn.create_function(
            sql_functions.SEARCH_FUNCTION, 4, sql_functions.search_row, deterministic=True
        )
        conn.create_function(
            sql_functions.ALPHANUMERIC_FUNCTION, 1, alphanumeric_key, deterministic=True
        )
        if own:
            return conn
        if self._path is not None:
            use_wal(conn)
            conn.execute("PRAGMA synchronous = FULL")
        with self._registry_lock:
            self._all.append(conn)
        return conn

    # A class-based context manager: a generator-based one costs about a microsecond per use,
    # and every storage call takes one.
    def __enter__(self) -> sqlite3.Connection:
        if self._closed:
            raise StorageError("the storage is closed")
        shared = self._shared
        if shared is not None:
            assert self._shared_lock is not None
            self._shared_lock.acquire()
            if self._closed:  # closed while this thread waited
                self._shared_lock.release()
                raise StorageError("the storage is closed")
            return shared
        # This thread's use: one attribute of the thread-local, the rest slots (each
        # attribute of a ``threading.local`` costs a lookup of the thread's dict).
        use: _Use | None = getattr(self._local, "use", None)
        if use is None or use.forks != _forks:
            # After fork the parent's connection is abandoned, never used nor closed here.
            use = self._local.use = _Use(self._open())
        conn = use.conn
        depth = use.depth = use.depth + 1
        if depth == 1:
            # Marked inside before looking at _closed, which close() sets before it looks
            # at _inside: either this thread sees it closed, or close() sees it inside.
            self._inside.add(conn)
            if self._closed:
                self._leave(use)
                raise StorageError("the storage is closed")
        return conn

    def __exit__(self, *exc: object) -> None:
        if self._shared_lock is not None:
            self._shared_lock.release()
            return
        use: _Use = self._local.use
        if use.depth != 1:
            use.depth -= 1
            return
        # ``_leave``, inline: every storage call ends here (issue 18, W2).
        use.depth = 0
        conn = use.conn
        self._inside.discard(conn)
        if self._closed:
            self._close_left(conn)

    def _leave(self, use: _Use) -> None:
        """This thread's last use of its connection ends; it closes the connection if
        ``close()`` left that to it."""
        use.depth = 0
        self._inside.discard(use.conn)
        if self._closed:
            self._close_left(use.conn)

    def _close_left(self, conn: sqlite3.Connection) -> None:
        """Close ``conn``, this thread's, if ``close()`` left that to this thread."""
        with self._registry_lock:
            if conn not in self._left_to_close:
                return
            self._left_to_close.discard(conn)
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    @contextlib.contextmanager
    def streaming(
        self,
    ) -> Iterator[tuple[sqlite3.Connection, contextlib.AbstractContextManager[object]]]:
        """A connection for one query stream, and the lock to hold around each use of it.

        A file: a connection of the stream's own, in one read transaction (a WAL snapshot)
        until the stream ends. Not the thread's connection: code that writes while it reads a
        stream (in the same thread) would find that one inside the stream's transaction. A
        writer never waits for a stream; a long stream keeps the WAL from being checkpointed
        past its snapshot until it ends.

        Memory: the one shared connection, its lock held only while a page is read, so other
        sessions go on meanwhile; no snapshot (memory has one connection, and a snapshot on
        it would refuse every write until the stream ends): the stream's statement sees some
        of the writes committed while it runs."""
        if self._closed:
            raise StorageError("the storage is closed")
        if self._shared is not None:
            assert self._shared_lock is not None
            yield self._shared, self._shared_lock
            return
        conn = self._open(own=True)
        try:
            conn.execute("BEGIN DEFERRED")
            yield conn, contextlib.nullcontext()
        finally:
            with contextlib.suppress(sqlite3.Error):
                conn.close()  # ends the read transaction

    def close(self) -> None:
        """Close every connection no thread is using; one in use is closed by its thread
        when it is done, and memory's one connection once its user is done."""
        self._closed = True
        if self._shared is not None:
            assert self._shared_lock is not None
            with self._shared_lock, contextlib.suppress(sqlite3.Error):
                self._shared.close()
            return
        with self._registry_lock:
            conns, self._all = self._all, []
            for conn in conns:
                if conn in self._inside:
                    self._left_to_close.add(conn)
                    continue
                with contextlib.suppress(sqlite3.Error):
                    conn.close()


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection, mode: str = "IMMEDIATE") -> Iterator[None]:
    """``BEGIN IMMEDIATE`` (a write: the write lock first) or ``DEFERRED`` (a snapshot)."""
    conn.execute(f"BEGIN {mode}")
    try:
        yield
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
