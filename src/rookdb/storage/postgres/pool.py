"""The connections of the PostgreSQL backend: a small pool with rookdb's failure rules.

A connection is made in the thread that needs one, within the URL's ``connect_timeout``
(libpq's parameter; ``DEFAULT_CONNECT_TIMEOUT_S`` when the URL has none), and a failure is
raised there and then: ``StorageUnavailableError`` naming the server's host and port, with
libpq's own reason ("Connection refused", "timeout expired", "password authentication
failed"...). A connection found broken (the server went away) is ``StorageUnavailableError``
too, and takes the idle connections with it: they were most likely cut by the same event, and
the next caller should meet the server's present state, not the next stale connection.

Why not ``psycopg_pool``: it connects in background threads, retries a failed connection for
minutes with a WARNING logged each time (which Python prints on the stderr of any program that
configured no logging), and the caller gets a pool timeout after its wait instead of the
reason. Nothing here logs above DEBUG and nothing runs in the background.

The async session's native calls use connections of their event loop instead
(``green.AsyncConnections``, lent by ``green_connection``), under the same rules.

After ``fork`` the child never touches the parent's connections (closing one would end the
parent's session on the server): it keeps them referenced, unused, and makes its own. The
reset runs in the child at the fork itself (``os.register_at_fork``), while it has one thread:
a lock another of the parent's threads held at that moment would stay held forever.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import pq
from psycopg.conninfo import conninfo_to_dict

from rookdb.errors import ConfigurationError, StorageError, StorageUnavailableError, shown
from rookdb.storage.bridge import PerLoop
from rookdb.storage.postgres import arrays

if TYPE_CHECKING:
    from rookdb.storage.postgres.green import AsyncConnections

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT_S",
    "ConnectionPool",
    "connect_failed",
    "connect_timeout",
    "lost",
    "returned",
]

log = logging.getLogger(__name__)

#: Seconds to wait for a connection to PostgreSQL when the URL has no ``connect_timeout``.
DEFAULT_CONNECT_TIMEOUT_S = 5
#: Connections kept open at most (each one a PostgreSQL backend process).
MAX_CONNECTIONS = 16
#: Seconds to wait for a connection when all ``MAX_CONNECTIONS`` are in use.
BUSY_WAIT_S = 30.0
#: An idle connection older than this is checked (one round trip) before it is lent: a
#: firewall or the server may have closed it meanwhile.
CHECK_AFTER_IDLE_S = 30.0

_IDLE, _INTRANS, _INERROR = (
    pq.TransactionStatus.IDLE,
    pq.TransactionStatus.INTRANS,
    pq.TransactionStatus.INERROR,
)

# Connections of a parent process, kept alive (never closed) in its forked children.
_ABANDONED: list[psycopg.Connection[Any]] = []
_POOLS: weakref.WeakSet[ConnectionPool] = weakref.WeakSet()


def connect_timeout(value: str | None) -> int:
    """The ``connect_timeout`` URL parameter: whole seconds, at least 1 (libpq waits at
    least 2). None means the default."""
    if value is None:
        return DEFAULT_CONNECT_TIMEOUT_S
    if not (value.isascii() and value.isdigit()) or len(value) > 9 or int(value) < 1:
        raise ConfigurationError(
            f"connect_timeout must be a whole number of seconds, at least 1, not {shown(value)}"
        )
    return int(value)


def _address(conninfo: str) -> str:
    """``host:port`` of a connection string, for messages (libpq's defaults where absent);
    libpq's lists of several hosts (and ports) as ``host:port, host:port``."""
    params = conninfo_to_dict(conninfo)
    hosts = str(params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST") or "")
    ports = str(params.get("port") or os.environ.get("PGPORT") or "5432").split(",")
    names = hosts.split(",")
    if len(ports) == 1:
        ports *= len(names)
    return ", ".join(
        f"{host or 'localhost (Unix socket)'}:{port or '5432'}"
        for host, port in zip(names, ports, strict=False)  # libpq refuses a mismatch
    )


def _reason(exc: BaseException) -> str:
    """libpq's message on one line."""
    return " ".join(str(exc).split())


def lost(address: str, exc: psycopg.Error) -> StorageUnavailableError:
    """The error for a connection found broken (the server went away) while in use."""
    return StorageUnavailableError(
        f"lost the connection to PostgreSQL at {address}: {_reason(exc)}", original=exc
    )


def returned(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> bool | None:
    """Whether a connection back from a caller can be kept idle; None: after a ROLLBACK (its
    caller left a transaction open)."""
    if conn.broken:
        return False
    # libpq's status as its int (``conn.info.transaction_status`` makes a ConnectionInfo and
    # an enum of it: three Python calls per pooled use, one per load).
    status = conn.pgconn.transaction_status
    if status in (_INTRANS, _INERROR):
        return None
    return status == _IDLE


def connect_failed(address: str, exc: psycopg.Error) -> StorageUnavailableError:
    """The error for a connection that could not be made, with libpq's reason."""
    return StorageUnavailableError(
        f"cannot connect to PostgreSQL at {address}: {_reason(exc)}", original=exc
    )


class ConnectionPool:
    """Up to ``MAX_CONNECTIONS`` autocommit connections to one server, shared by threads."""

    def __init__(self, conninfo: str, timeout_s: int) -> None:
        self.address = _address(conninfo)
        self._conninfo = conninfo
        self._timeout_s = timeout_s
        # Taken as ``_mutex`` (a C-level ``with``), waited on and notified as ``_lock``: a
        # ``with`` on the Condition itself is two Python calls, four per pooled use.
        self._mutex = threading.RLock()
        self._lock = threading.Condition(self._mutex)
        self._idle: list[tuple[psycopg.Connection[Any], float]] = []  # (connection, since)
        self._lent: set[int] = set()  # id() of the connections out of the pool
        self._count = 0  # connections open: idle or lent
        self._closed = False
        # The event loops' connections (``green``), for the async session's native calls.
        self._green = self._loops()
        _POOLS.add(self)
        # The first connection now: a wrong URL, password or address fails at open.
        self._put(self._take())

    def connection(self) -> _Lent:
        """A connection for the ``with`` block; back to the pool afterwards, rolled back if
        its transaction is still open. A connection lost meanwhile is
        ``StorageUnavailableError`` (errors that leave the connection usable pass as they are)."""
        return _Lent(self)

    def green_connection(self) -> contextlib.AbstractContextManager[Any]:
        """A connection of the running event loop (``green.AsyncConnections``), for code
        under ``bridge.run``; used as ``connection``'s."""
        connections: AsyncConnections = self._green.get()
        return connections.connection()

    def _loops(self) -> PerLoop[AsyncConnections]:
        from rookdb.storage.postgres.green import AsyncConnections  # it imports this module

        return PerLoop(
            lambda: AsyncConnections(self._conninfo, self._timeout_s, self.address),
            lambda connections, _: connections.close(),
        )

    def close(self) -> None:
        """Close the idle connections now and the lent ones when they come back."""
        self._green.close()
        with self._mutex:
            self._closed = True
            idle, self._idle = self._idle, []
            self._lock.notify_all()
        for conn, _ in idle:
            conn.close()

    def _forked(self) -> None:
        """In a child, at the fork: every connection is the parent's."""
        self._mutex = threading.RLock()
        self._lock = threading.Condition(self._mutex)
        self._green = self._loops()  # the parent's loops are not this process's
        _ABANDONED.extend(conn for conn, _ in self._idle)
        self._idle, self._lent, self._count = [], set(), 0

    # -- lending -----------------------------------------------------------------------------

    def _take(self) -> psycopg.Connection[Any]:
        deadline = time.monotonic() + BUSY_WAIT_S
        conn: psycopg.Connection[Any] | None
        since = 0.0
        while True:
            with self._mutex:
                while True:
                    if self._closed:
                        raise StorageError("the PostgreSQL connections of this store are closed")
                    if self._idle:
                        conn, since = self._idle.pop()  # the most recently used
                        break
                    if self._count < MAX_CONNECTIONS:
                        self._count += 1
                        conn = None
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise StorageUnavailableError(
                            f"all {MAX_CONNECTIONS} connections to PostgreSQL at {self.address} "
                            f"stayed in use for {BUSY_WAIT_S:g} s"
                        )
                    self._lock.wait(remaining)
            if conn is None:
                conn = self._connect()
            elif time.monotonic() - since >= CHECK_AFTER_IDLE_S and not self._usable(conn):
                self._discard(conn)
                continue
            with self._mutex:
                self._lent.add(id(conn))
            return conn

    def _connect(self) -> psycopg.Connection[Any]:
        """A new connection, counted already; uncounted again if it fails."""
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=self._timeout_s)
        except BaseException as exc:
            with self._mutex:
                self._count -= 1
                self._lock.notify()
            if isinstance(exc, psycopg.Error):
                raise connect_failed(self.address, exc) from exc
            raise
        arrays.register(conn)
        log.debug("connected to PostgreSQL at %s", self.address)
        return conn

    @staticmethod
    def _usable(conn: psycopg.Connection[Any]) -> bool:
        try:
            conn.execute("")
        except psycopg.Error:
            return False
        return True

    def _put(self, conn: psycopg.Connection[Any]) -> None:
        with self._mutex:
            if id(conn) not in self._lent:  # lent before a fork, back in the child
                _ABANDONED.append(conn)
                return
            self._lent.discard(id(conn))
        keep = returned(conn)
        if keep is None:
            try:
                conn.execute("ROLLBACK")
                keep = True
            except psycopg.Error:
                keep = False
        with self._mutex:
            if keep and not self._closed:
                self._idle.append((conn, time.monotonic()))
                self._lock.notify()
                return
            stale = self._idle if conn.broken else []
            if conn.broken:
                # Cut by the same event, most likely: let the next caller connect afresh.
                self._idle = []
                self._count -= len(stale)
            self._count -= 1
            self._lock.notify_all()
        for other, _ in stale:
            other.close()
        conn.close()

    def _discard(self, conn: psycopg.Connection[Any]) -> None:
        with self._mutex:
            self._count -= 1
            self._lock.notify()
        conn.close()


class _Lent:
    """``ConnectionPool.connection``'s context manager. A class: a generator-based one costs
    about a microsecond more per use, and every storage call takes one (one per load)."""

    __slots__ = ("_conn", "_pool")

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool

    def __enter__(self) -> psycopg.Connection[Any]:
        conn = self._conn = self._pool._take()
        return conn

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        conn = self._conn
        try:
            if isinstance(exc, psycopg.Error) and conn.broken:
                raise lost(self._pool.address, exc) from exc
        finally:
            self._pool._put(conn)


def _forked() -> None:
    for pool in list(_POOLS):
        pool._forked()


os.register_at_fork(after_in_child=_forked)
