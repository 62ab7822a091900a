"""The PostgreSQL backend's async driver (``rookdb.storage.bridge``): psycopg's
``AsyncConnection``s of one event loop, lent to the storage's own (sync) code as
``GreenConnection``s, whose statements are awaited on the loop.

``AsyncConnections`` is the event loop's counterpart of ``pool.ConnectionPool``, with the same
failure rules (``pool.lost`` for a connection found broken; a connection back with its
transaction open is rolled back) and the same bounds (``MAX_CONNECTIONS`` per loop, waiting at
most ``BUSY_WAIT_S`` for one). Not ``psycopg_pool.AsyncConnectionPool``, for the reasons
``pool`` gives: it connects and retries in the background, logging warnings, and a caller
gets a pool timeout instead of libpq's reason.

``GreenConnection`` offers what the storage's code uses of a ``psycopg.Connection``:
``execute`` (a cursor whose rows are fetched), ``cursor()`` (``execute``, ``executemany``),
``pipeline()``, ``info`` and ``broken``. ``COMMIT`` is awaited to its answer through a cancel
(``bridge.to_the_end``): cancelled before it, the transaction is rolled back; once it is sent,
the outcome is learned, from the server's ``txid_status`` if the COMMIT itself was cancelled
(a transaction that may write reads its id with its BEGIN, in the same round trip).
Server-side cursors (streams) and ``COPY`` (bulk insert) stay with the sync connections: those
calls run in threads (``AsyncStorage``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg import pq

from rookdb.errors import OutcomeUnknownError, StorageError, StorageUnavailableError
from rookdb.storage.bridge import await_, to_the_end
from rookdb.storage.postgres import arrays
from rookdb.storage.postgres.pool import (
    BUSY_WAIT_S,
    CHECK_AFTER_IDLE_S,
    MAX_CONNECTIONS,
    connect_failed,
    lost,
    returned,
)

__all__ = ["AsyncConnections", "GreenConnection"]


class GreenCursor:
    """A cursor of a ``GreenConnection``."""

    def __init__(self, cursor: psycopg.AsyncCursor[Any]) -> None:
        self._cursor = cursor

    def execute(self, query: Any, params: Any = None) -> GreenCursor:
        await_(self._cursor.execute(query, params))
        return self

    def executemany(self, query: Any, params_seq: Any) -> None:
        await_(self._cursor.executemany(query, params_seq))

    def fetchone(self) -> Any:
        return await_(self._cursor.fetchone())

    def fetchall(self) -> list[Any]:
        return await_(self._cursor.fetchall())

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def close(self) -> None:
        await_(self._cursor.close())

    def __enter__(self) -> GreenCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class GreenConnection:
    """A pooled ``AsyncConnection`` used as a ``psycopg.Connection`` by code under
    ``bridge.run``."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn
        # The open transaction's: read-only (``transactions.SNAPSHOT``), its id (read with
        # its BEGIN, for a cancelled COMMIT).
        self._read_only = False
        self._xid: int | None = None

    def execute(
        self, query: Any, params: Sequence[Any] | None = None, binary: bool = False
    ) -> GreenCursor:
        if query == "COMMIT":  # sent by ``transactions``: its outcome is learned, cancel or not
            return self._commit()
        if isinstance(query, str) and query.startswith("BEGIN") and params is None:
            return self._begin(query)
        return GreenCursor(await_(self._conn.execute(query, params, binary=binary)))

    def _begin(self, begin: str) -> GreenCursor:
        """``begin`` (``transactions.transaction``'s, results unread); a transaction that may
        write learns its id in the same round trip (its statements are sent as one)."""
        self._read_only, self._xid = "READ ONLY" in begin, None
        if self._read_only:
            return GreenCursor(await_(self._conn.execute(begin)))
        cursor = await_(self._conn.execute(f"{begin}; SELECT txid_current()"))
        while cursor.nextset():
            pass  # to the last statement's result
        self._xid = (await_(cursor.fetchone()) or (None,))[0]
        return GreenCursor(cursor)

    def _commit(self) -> GreenCursor:
        """COMMIT, awaited to its answer through a cancel of the caller. If the COMMIT itself
        is cancelled (every task of the loop cancelled, as at ``asyncio.run``'s end: psycopg
        then cancels the statement on the server, and the answer is lost), the server is
        asked what became of the transaction (``txid_status``): committed, the commit
        returns; rolled back, ``CancelledError``; else ``OutcomeUnknownError``."""
        read_only, xid, self._xid = self._read_only, self._xid, None
        try:
            return GreenCursor(await_(to_the_end(self._conn.execute("COMMIT"))))
        except asyncio.CancelledError:
            if read_only:
                raise  # nothing written either way
            if self._conn.info.transaction_status != pq.TransactionStatus.IDLE:
                raise  # cancelled before it was sent: the transaction is rolled back
            status = None
            if xid is not None and not self._conn.broken:
                with contextlib.suppress(psycopg.Error, asyncio.CancelledError):
                    asked = to_the_end(self._conn.execute("SELECT txid_status(%s)", (xid,)))
                    status = (await_(await_(asked).fetchone()) or (None,))[0]
            if status == "committed":
                return GreenCursor(self._conn.cursor())
            if status == "aborted":
                raise
            raise OutcomeUnknownError(
                "the COMMIT was cancelled before its answer came; the batch may or may not "
                "be written"
            ) from None

    def cursor(self) -> GreenCursor:
        return GreenCursor(self._conn.cursor())

    @contextlib.contextmanager
    def pipeline(self) -> Iterator[None]:
        manager = self._conn.pipeline()
        await_(manager.__aenter__())
        try:
            yield
        except BaseException as exc:
            if not await_(manager.__aexit__(type(exc), exc, exc.__traceback__)):
                raise
        else:
            await_(manager.__aexit__(None, None, None))

    @property
    def info(self) -> Any:
        return self._conn.info

    @property
    def broken(self) -> bool:
        return self._conn.broken


class AsyncConnections:
    """Up to ``MAX_CONNECTIONS`` autocommit ``AsyncConnection``s to one server, for the tasks
    of one event loop."""

    def __init__(self, conninfo: str, timeout_s: int, address: str) -> None:
        self.address = address
        self._conninfo = conninfo
        self._timeout_s = timeout_s
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)  # one a connection lent or made
        self._idle: list[tuple[psycopg.AsyncConnection[Any], float]] = []
        self._closed = False

    @contextlib.contextmanager
    def connection(self) -> Iterator[GreenConnection]:
        """``pool.ConnectionPool.connection`` for code under ``bridge.run``."""
        conn = await_(self._take())
        try:
            yield GreenConnection(conn)
        except psycopg.Error as exc:
            if conn.broken:
                raise lost(self.address, exc) from exc
            raise
        finally:
            await_(self._put(conn))

    def close(self) -> None:
        """Close the idle connections now (a sync close: the loop may be gone) and the lent
        ones when they come back."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.pgconn.finish()

    async def _take(self) -> psycopg.AsyncConnection[Any]:
        try:
            # ``wait_for`` makes a task and a timer per call: only when a slot must be waited for.
            if self._slots.locked():
                await asyncio.wait_for(self._slots.acquire(), BUSY_WAIT_S)
            else:
                await self._slots.acquire()
        except asyncio.TimeoutError:
            raise StorageUnavailableError(
                f"all {MAX_CONNECTIONS} connections to PostgreSQL at {self.address} "
                f"stayed in use for {BUSY_WAIT_S:g} s"
            ) from None
        try:
            while True:
                if self._closed:
                    raise StorageError("the PostgreSQL connections of this store are closed")
                if not self._idle:
                    return await self._connect()
                conn, since = self._idle.pop()  # the most recently used
                if time.monotonic() - since < CHECK_AFTER_IDLE_S or await self._usable(conn):
                    return conn
                await conn.close()
        except BaseException:
            self._slots.release()
            raise

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        try:
            conn = await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, connect_timeout=self._timeout_s
            )
        except psycopg.Error as exc:
            raise connect_failed(self.address, exc) from exc
        arrays.register(conn)
        return conn

    @staticmethod
    async def _usable(conn: psycopg.AsyncConnection[Any]) -> bool:
        try:
            await conn.execute("")
        except psycopg.Error:
            return False
        return True

    async def _put(self, conn: psycopg.AsyncConnection[Any]) -> None:
        keep = False
        try:
            keep = returned(conn) is not False
            if returned(conn) is None:
                try:
                    await conn.execute("ROLLBACK")
                except psycopg.Error:
                    keep = False
        except BaseException:  # cancelled again while rolling back: its state is unknown
            keep = False
            raise
        finally:
            if keep and not self._closed:
                self._idle.append((conn, time.monotonic()))
            else:
                if conn.broken:  # cut by the same event, most likely
                    stale, self._idle = self._idle, []
                    for other, _ in stale:
                        other.pgconn.finish()
                conn.pgconn.finish()
            self._slots.release()
