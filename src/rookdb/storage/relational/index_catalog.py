"""The user-defined indexes as stored, read: their rows, definitions, names and statistics.

``IndexCatalog`` is the base of the ``Storage`` calls of indexes in ``RelationalStorage``: it
finds an index's row by name (any case) or id (``relational.index_registry``),
compiles its definition (``compile_index``) and answers the reading calls: ``get_index``,
``get_indexes``, ``get_index_names`` (with the automatic indexes' ``Auto/...`` names),
``index_statistics``, ``index_errors`` and ``index_terms`` (terms as RavenDB's default
analyzer keeps them). What changes the indexes is ``relational.index_management``'s; what
queries them ``relational.index_query``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar

import orjson

from rookdb.errors import IndexDoesNotExistError, shown
from rookdb.indexes.compiled import compile_index
from rookdb.indexes.creation_tasks import MAX_NAME_LENGTH
from rookdb.indexes.definitions import (
    IndexDefinition,
    IndexLockMode,
    IndexPriority,
    IndexState,
    IndexType,
)
from rookdb.query import Query
from rookdb.storage.records import QueryResult
from rookdb.storage.relational.errors import DriverErrors
from rookdb.storage.relational.index_maintenance import IndexMaintenance, IndexStatements
from rookdb.storage.relational.index_registry import BUILDING, UserIndex
from rookdb.storage.relational.statements import Statements
from rookdb.storage.statistics import IndexErrors, IndexStatistics

__all__ = ["IndexCatalog", "definition_of", "text_of"]


def text_of(value: Any) -> str:
    """A text column as ``str`` (a driver may answer it as bytes)."""
    return value if isinstance(value, str) else bytes(value).decode()


#: The ``meta`` row of the indexes stopped (lower-cased names; ``PAUSED_ALL``: indexing as a
#: whole).
PAUSED, PAUSED_ALL = "indexes_paused", "*"


def running_status(disabled: bool, name: str, paused: set[str]) -> str:
    """RavenDB's ``IndexRunningStatus`` of index ``name``: ``Disabled`` (which outranks a
    stop), ``Paused`` (the index or indexing as a whole stopped: ``paused``) or ``Running``."""
    if disabled:
        return "Disabled"
    return "Paused" if PAUSED_ALL in paused or name.lower() in paused else "Running"


class IndexCatalog:
    """The reading calls of user-defined indexes, and the rows and definitions every index
    call reads, for ``RelationalStorage``."""

    _index_sql: IndexStatements
    _user_indexes: IndexMaintenance
    # Provided by ``RelationalStorage`` and its dialect.
    _errors: ClassVar[type[DriverErrors]]
    _sql: Statements

    def _connection(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _snapshot(self, conn: Any) -> AbstractContextManager[None]:
        raise NotImplementedError

    def query(self, query: Query) -> QueryResult:
        raise NotImplementedError

    def _entry_index_names(self, conn: Any, index_id: int) -> set[str]:
        """The names of the expression indexes over index ``index_id``'s entries, as the
        database's catalog lists them (``relational.entry_indexes``)."""
        raise NotImplementedError

    def _drop_index_sql(self, name: str) -> str:
        """The dialect's statement that drops the index ``name`` of the database's tables."""
        raise NotImplementedError

    def _lock_entry_indexes(self, conn: Any) -> None:
        """Inside the caller's write transaction, as its first statement, where it may drop
        an index (and so the expression indexes over its entries): wait for a transaction
        that makes some (``IndexQueries._make_entry_indexes``) to end, and keep the next from
        starting until this one does; else it could make one the drop does not see. Taken
        later, it could wait for a transaction waiting for a row this one wrote. SQLite: the
        write lock does already."""

    def index_terms(
        self, name: str, field: str, from_value: str | None = None, page_size: int = 1024
    ) -> list[str]:
        sql = self._index_sql
        with self._errors("read an index's terms"), self._connection() as conn:
            row = self._find(conn, name)
            if row is None:
                collection = self._auto_collection(conn, name)
            else:
                index_id = int(row[0])
                index = self._compiled(conn, index_id, definition_of(row[2]))
                source = sql.result_source if index.is_map_reduce else sql.entry_source
                rows = conn.execute(f"SELECT raw FROM {source}", (index_id,)).fetchall()
        if row is None:
            # An automatic index has an entry per document of its collection.
            entries = self.query(Query(collection=collection, select=(field,))).projections
        else:
            entries = [orjson.loads(text_of(raw)) for (raw,) in rows]
        return _terms(entries or [], field, from_value, page_size)

    def _auto_collection(self, conn: Any, name: str) -> str:
        """The collection of the automatic index ``name`` as ``get_index_names`` lists it;
        ``IndexDoesNotExistError`` when there is none."""
        for collection, path, _ in conn.execute(self._sql.indexes).fetchall():
            if f"auto/{collection}/by{path}".lower() == name.lower():
                return str(collection)
        raise IndexDoesNotExistError(f"Index {shown(name)} does not exist")

    def _index_types(self, conn: Any) -> dict[str, str]:
        """The user-defined indexes' names and types, as the database statistics list them."""
        rows = conn.execute(self._index_sql.rows).fetchall()
        return {str(r[1]): definition_of(r[2]).type.value for r in rows}

    def _index_by_id(self, conn: Any, index_id: int) -> UserIndex | None:
        return next((i for i in self._user_indexes.registry(conn) if i.id == index_id), None)

    def _find(self, conn: Any, name: object) -> tuple[Any, ...] | None:
        """The row of index ``name`` (any case), None when there is none; a name no index
        can have (not a str, too long, control characters) is none, whatever storage would
        say (the length first: a name of megabytes is not read a character at a time)."""
        if (
            not isinstance(name, str)
            or len(name) > MAX_NAME_LENGTH
            or any(ord(c) < 32 for c in name)
        ):
            return None
        row = conn.execute(self._index_sql.by_name, (name.lower(),)).fetchone()
        return None if row is None else tuple(row)

    def _index_row(self, conn: Any, name: str) -> tuple[Any, ...]:
        row = self._find(conn, name)
        if row is None:
            raise IndexDoesNotExistError(f"Index {shown(name)} does not exist")
        return row

    def get_index(self, name: str) -> IndexDefinition | None:
        """The definition of index ``name`` (any case) as RavenDB's server answers it, None
        when there is none."""
        with self._errors("read an index"), self._connection() as conn:
            row = self._find(conn, name)
        if row is None:
            return None
        return definition_of(row[2])

    def get_indexes(self, start: int = 0, page_size: int = 25) -> list[IndexDefinition]:
        """The definitions of the indexes, in name order: ``start`` skipped, at most
        ``page_size``."""
        with self._errors("read indexes"), self._connection() as conn:
            rows = conn.execute(self._index_sql.rows).fetchall()
        return [definition_of(row[2]) for row in rows[start : start + page_size]]

    def get_index_names(self, start: int = 0, page_size: int = 25) -> list[str]:
        """The user-defined indexes' names and, as RavenDB lists the automatic indexes its
        queries made, ``Auto/{collection}/By{path}`` for each automatic index, by name."""
        with self._errors("read indexes"), self._connection() as conn:
            rows = conn.execute(self._index_sql.rows).fetchall()
            autos = conn.execute(self._sql.indexes).fetchall()
        names = {str(row[1]) for row in rows}
        names |= {f"Auto/{collection}/By{path}" for collection, path, _ in autos}
        return sorted(names, key=str.lower)[start : start + page_size]

    def index_statistics(self, name: str | None = None) -> list[IndexStatistics]:
        """The statistics of index ``name``, or of every index."""
        sql = self._index_sql
        out: list[IndexStatistics] = []
        with (
            self._errors("read index statistics"),
            self._connection() as conn,
            self._snapshot(conn),
        ):
            if True:  # one snapshot for every count
                paused = set(self._paused(conn))
                names = (
                    [str(r[1]) for r in conn.execute(sql.rows).fetchall()]
                    if name is None
                    else [name]
                )
                for each in names:
                    row = self._index_row(conn, each)
                    definition = definition_of(row[2])
                    index_id = int(row[0])
                    entries = conn.execute(sql.count_entries, (index_id,)).fetchone()[0]
                    results = conn.execute(sql.count_results, (index_id,)).fetchone()[0]
                    compiled = self._compiled(conn, index_id, definition)
                    collections = compiled.collections
                    out.append(
                        IndexStatistics(
                            name=str(row[1]),
                            type=_type(definition),
                            state=str(row[3]),
                            collections=None if collections is None else tuple(sorted(collections)),
                            entries_count=int(entries),
                            reduce_results_count=int(results),
                            errors_count=int(row[6]),
                            created=str(row[5]),
                            is_stale=str(row[3]) == BUILDING,
                            lock_mode=(definition.lock_mode or IndexLockMode.UNLOCK).value,
                            priority=(definition.priority or IndexPriority.NORMAL).value,
                            status=running_status(
                                definition.state is IndexState.DISABLED, str(row[1]), paused
                            ),
                        )
                    )
        return out

    def _paused(self, conn: Any) -> list[str]:
        """The stopped indexes (``PAUSED``)."""
        row = conn.execute(self._sql.get_meta, (PAUSED,)).fetchone()
        return [] if row is None else [str(n) for n in orjson.loads(text_of(row[0]))]

    def index_errors(self, names: Sequence[str] | None = None) -> list[IndexErrors]:
        """The errors recorded against the indexes ``names`` (every index when None)."""
        with self._errors("read index errors"), self._connection() as conn:
            if names is None:
                names = [str(r[1]) for r in conn.execute(self._index_sql.rows).fetchall()]
            out = []
            for name in names:
                row = self._index_row(conn, name)
                errors = tuple(orjson.loads(row[7]))
                out.append(IndexErrors(str(row[1]), errors, int(row[6])))
        return out

    def _compiled(
        self,
        conn: Any,
        index_id: int,
        definition: IndexDefinition,
        registry: Sequence[UserIndex] | None = None,
    ) -> Any:
        """Index ``index_id``'s compiled form, from the registry of indexes (``registry``
        when the caller read it on ``conn`` already)."""
        if registry is None:
            registry = self._user_indexes.registry(conn)
        found = next((i for i in registry if i.id == index_id), None)
        if found is not None:
            return found.compiled
        return compile_index(definition, auto=str(definition.name).lower().startswith("auto/"))


def _type(definition: IndexDefinition) -> str:
    """RavenDB's type of an index: an automatic map-reduce index (``Auto/...``, made by a
    group-by query) is ``AutoMapReduce``."""
    if str(definition.name).lower().startswith("auto/"):
        return IndexType.AUTO_MAP_REDUCE.value
    return definition.type.value


def _term(value: Any) -> str | None:
    """``value`` as a term of RavenDB's default analyzer (``index_terms``), None for none."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.lower() if isinstance(value, str) else str(value)


def _terms(entries: Sequence[Any], field: str, from_value: str | None, page_size: int) -> list[str]:
    """RavenDB's terms of ``field`` in ``entries``: their distinct values as its default
    analyzer keeps them (``_term``; each item of a list), sorted, those after
    ``from_value``, ``page_size`` of them."""
    terms: set[str] = set()
    for entry in entries:
        value = entry.get(field) if isinstance(entry, dict) else None
        for item in value if isinstance(value, list) else [value]:
            term = _term(item)
            if term is not None:
                terms.add(term)
    after = sorted(t for t in terms if from_value is None or t > from_value)
    return after[:page_size]


def definition_of(text: Any) -> IndexDefinition:
    """A stored definition (its JSON text) as RavenDB's server answers it."""
    return IndexDefinition.from_json(orjson.loads(text_of(text))).with_server_defaults()
