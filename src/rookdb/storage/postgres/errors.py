"""psycopg's errors as rookdb's: the PostgreSQL dialect's one boundary (``relational.errors``).

A connection that cannot be made or was lost is ``StorageUnavailableError`` already in the pool
(``pool``), naming the server; COMMIT's lost connection is ``OutcomeUnknownError``
(``transactions``). Here: the rest, by what was being done.
"""

from __future__ import annotations

import psycopg

from rookdb.errors import (
    QueryError,
    RookError,
    SerializationError,
    StorageError,
    StorageUnavailableError,
)
from rookdb.storage.relational.errors import DriverErrors

__all__ = ["PostgresBatchErrors", "PostgresErrors", "PostgresQueryErrors"]


def _past_a_limit(exc: psycopg.Error) -> bool:
    """Past one of PostgreSQL's limits (SQLSTATE class 54: a statement too complex, too many
    arguments, an index entry or a jsonb too big)."""
    return (exc.sqlstate or "").startswith("54")


class PostgresErrors(DriverErrors):
    """A failure of PostgreSQL; an operational one (the server, the connection) means
    unavailable."""

    __slots__ = ()
    driver = psycopg.Error

    def translate(self, exc: Exception) -> RookError:
        message = f"PostgreSQL failed to {self.action}: {exc}"
        if isinstance(exc, psycopg.OperationalError):
            return StorageUnavailableError(message, original=exc)
        return StorageError(message, original=exc)


class PostgresQueryErrors(PostgresErrors):
    """As ``PostgresErrors``; a statement past PostgreSQL's limits, or libpq's 65,535
    parameters, is the query's fault."""

    __slots__ = ()

    def translate(self, exc: Exception) -> RookError:
        assert isinstance(exc, psycopg.Error)
        if _past_a_limit(exc) or "number of parameters" in str(exc):
            return QueryError(f"the query is too large for PostgreSQL ({exc})")
        return super().translate(exc)


class PostgresBatchErrors(PostgresErrors):
    """As ``PostgresErrors``; a document past a limit of PostgreSQL is bad input: retrying
    cannot help, and nothing of the batch was written."""

    __slots__ = ()

    def translate(self, exc: Exception) -> RookError:
        assert isinstance(exc, psycopg.Error)
        if _past_a_limit(exc):
            return SerializationError(
                f"a document of the batch is past a limit of PostgreSQL ({exc}); "
                "nothing was written",
            )
        return super().translate(exc)
