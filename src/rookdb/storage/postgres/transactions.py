"""PostgreSQL transactions as the backend runs them: explicit (connections are in autocommit
mode), rolled back on any error, a connection lost during COMMIT being ``OutcomeUnknownError``
(the server may have committed); read snapshots (``SNAPSHOT``), the errors a retried batch
begins again after (``RETRYABLE``), and advisory-lock keys.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from rookdb.errors import OutcomeUnknownError

__all__ = ["RETRYABLE", "SNAPSHOT", "lock_key", "transaction"]

#: Reads of several statements (includes, a query's page and count): one snapshot.
SNAPSHOT = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY"
#: Serialization failures and deadlocks (SQLSTATE 40001, 40P01): the batch may be retried.
RETRYABLE = (pg_errors.SerializationFailure, pg_errors.DeadlockDetected)


def lock_key(text: str) -> int:
    """A signed 64-bit advisory-lock key for ``text``."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def transaction(conn: psycopg.Connection[Any], begin: str) -> Iterator[None]:
    """An explicit transaction: rolled back on any error; a connection lost during COMMIT is
    ``OutcomeUnknownError`` (the server may have committed)."""
    conn.execute(begin)
    try:
        yield
    except BaseException:
        with contextlib.suppress(psycopg.Error):
            conn.execute("ROLLBACK")
        raise
    _commit(conn)


def _commit(conn: psycopg.Connection[Any]) -> None:
    try:
        conn.execute("COMMIT")
    except RETRYABLE:
        raise  # the transaction did not commit: the caller may retry it
    except psycopg.OperationalError as exc:
        raise OutcomeUnknownError(
            f"the connection failed during COMMIT; the batch may or may not be written: {exc}",
            original=exc,
        ) from exc
