"""sqlite3's errors as rookdb's: the SQLite dialect's one boundary (``relational.errors``)."""

from __future__ import annotations

import sqlite3

from rookdb.errors import QueryError, RookError, StorageError, StorageUnavailableError
from rookdb.storage.relational.errors import DriverErrors

__all__ = ["SqliteErrors", "SqliteOpenErrors", "SqliteQueryErrors"]

# What SQLite says of a statement past its compile-time limits: the query's fault, not storage's.
# (Queries within the limits of ``rookdb.query`` stay far from these; tens of thousands of
# clauses may not.)
_QUERY_LIMITS = (
    "parser stack overflow",
    "Expression tree is too large",
    "too many SQL variables",
    "too many terms in compound SELECT",
    "string or blob too big",
)


class SqliteErrors(DriverErrors):
    """A failure of SQLite; "database is locked" past the busy timeout means unavailable."""

    __slots__ = ()
    driver = sqlite3.Error

    def translate(self, exc: Exception) -> RookError:
        message = f"SQLite failed to {self.action}: {exc}"
        if isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc):
            return StorageUnavailableError(message, original=exc)
        return StorageError(message, original=exc)


class SqliteQueryErrors(SqliteErrors):
    """As ``SqliteErrors``; a statement past SQLite's limits is the query's fault."""

    __slots__ = ()

    def translate(self, exc: Exception) -> RookError:
        if any(limit in str(exc) for limit in _QUERY_LIMITS):
            return QueryError(f"the query is too large for SQLite ({exc})")
        return super().translate(exc)


class SqliteOpenErrors(SqliteErrors):
    """Opening a database (``action`` names its file, or memory): it is unavailable."""

    __slots__ = ()

    def translate(self, exc: Exception) -> RookError:
        return StorageUnavailableError(f"cannot open {self.action}: {exc}", original=exc)
