"""Group-by queries on every SQL dialect: the automatic map-reduce index each one reads.

``AggregationIndexes._aggregated(query)`` makes of a ``Query`` with ``group_by`` the query of
its automatic map-reduce index (``rookdb.aggregation.plan``), after putting that index if this
database has not got it yet: put as a user-defined index is (built from the documents already
there, then kept in every write's transaction), so the first group-by query pays for the
build, and every later one, and any query right after a write, reads exact groups.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from rookdb.aggregation import plan
from rookdb.indexes.definitions import IndexDefinition
from rookdb.query import Query
from rookdb.storage.relational.index_maintenance import IndexMaintenance

__all__ = ["AggregationIndexes"]


class AggregationIndexes:
    """The automatic map-reduce indexes of group-by queries, for ``RelationalStorage``."""

    _user_indexes: IndexMaintenance

    def _put_indexes(self, definitions: Sequence[IndexDefinition], auto: bool) -> list[str]:
        raise NotImplementedError

    def _connection(self) -> Any:
        raise NotImplementedError

    def _aggregated(self, query: Query) -> Query:
        """The index query that answers the group-by ``query``, its index put if need be
        (``QueryError`` for a group-by query rookdb cannot answer)."""
        found = plan(query)
        wanted = orjson.dumps(found.definition.to_json())
        with self._connection() as conn:  # the registry as of now (another process's puts)
            known = self._user_indexes.registry(conn)
        if not any(
            i.name == found.index_name and orjson.dumps(i.compiled.definition.to_json()) == wanted
            for i in known
        ):
            # An index of the same name and another definition (a rookdb of another
            # version made it) is replaced, as put_indexes replaces one.
            self._put_indexes([found.definition], auto=True)
        return found.query
