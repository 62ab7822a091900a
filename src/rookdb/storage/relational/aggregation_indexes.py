"""Group-by queries on every SQL dialect: the automatic map-reduce index each one reads.

``AggregationIndexes._aggregated(query)`` makes of a ``Query`` with ``group_by`` the query of
an automatic map-reduce index (``rookdb.aggregation.plan_among``: one there that holds what
it asks for, else a new one holding that and what those on the same group-by fields hold),
after putting that index if this database has not got it yet: put as a user-defined index is
(built from the documents already there, then kept in every write's transaction), so the
first group-by query pays for the build, and every later one, and any query right after a
write, reads exact groups.

Never stale holds for the first queries too: a query that finds the index still being built
(by a session that put it a moment before, here or in another process) builds it too, which
is harmless (mapping a document again is idempotent) and returns once every document that
was there is mapped. Sessions that put the same index at once (PostgreSQL: both insert it)
lose nothing: the one that fails finds the other's index and goes on with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import orjson

from rookdb.aggregation import plan_among
from rookdb.errors import StorageError
from rookdb.indexes.definitions import IndexDefinition
from rookdb.query import Query
from rookdb.storage.relational.index_maintenance import IndexMaintenance
from rookdb.storage.relational.index_registry import BUILDING

__all__ = ["AggregationIndexes"]

# How many times a group-by query tries to put its index when others put it at once.
_PUT_TRIES = 3


class AggregationIndexes:
    """The automatic map-reduce indexes of group-by queries, for ``RelationalStorage``."""

    _user_indexes: IndexMaintenance

    def _put_indexes(self, definitions: Sequence[IndexDefinition], auto: bool) -> list[str]:
        raise NotImplementedError

    def _connection(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _find(self, conn: Any, name: object) -> tuple[Any, ...] | None:
        raise NotImplementedError

    def _aggregated(self, query: Query) -> Query:
        """The index query that answers the group-by ``query``, its index put (or its build
        finished) if need be; ``QueryError`` for a group-by query rookdb cannot answer."""
        with self._connection() as conn:  # the registry as of now (another process's puts)
            automatic = {
                i.name: i.compiled.definition
                for i in self._user_indexes.registry(conn)
                if i.name.startswith("Auto/")
            }
        found = plan_among(query, automatic)
        wanted = orjson.dumps(found.definition.to_json())
        for attempt in range(_PUT_TRIES):
            with self._connection() as conn:
                row = self._find(conn, found.index_name)
            if row is not None and str(row[3]) != BUILDING and _same(row[2], wanted):
                return found.query
            try:
                # Puts it, replaces another definition of that name (an older rookdb's),
                # or finishes its build.
                self._put_indexes([found.definition], auto=True)
                return found.query
            except StorageError:
                if attempt == _PUT_TRIES - 1:
                    raise
        raise AssertionError("unreachable")


def _same(stored: Any, wanted: bytes) -> bool:
    text = stored if isinstance(stored, (bytes, str)) else bytes(stored)
    return orjson.dumps(orjson.loads(text)) == wanted
