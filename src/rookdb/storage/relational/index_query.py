"""Queries of user-defined indexes, and the indexes' management, on every SQL dialect.

The one path from a ``Query`` with ``index_name`` to the index tables
(``relational.index_maintenance``): the dialect's query compiler compiles the predicate and
the order against a derived table that presents the index's rows as its document column
(``IndexStatements.entry_source``, ``result_source``), so everything a collection query can
say works on index fields.

- A map index answers the documents its entries come from, each once, in the order of its
  first matching entry; with ``select``, stored fields are projected from that entry, others
  from the document.
- A map-reduce index answers its reduce results as documents without ids (projections,
  never tracked), as RavenDB does.

``IndexesStorage`` adds the ``Storage`` calls of indexes to ``RelationalStorage``: put (the
definitions checked by ``compile_index`` first; then the documents already there mapped in
transactions of ``BUILD_BATCH`` documents, by the caller, while writes maintain the entries of
the documents they touch), get, names, delete, reset, statistics and errors.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar

import orjson

from rookdb import facet_compute
from rookdb.errors import (
    IndexCompilationError,
    IndexDoesNotExistError,
    IndexLockedError,
    QueryError,
)
from rookdb.evaluate import project
from rookdb.indexes.compiled import compile_index
from rookdb.indexes.definitions import (
    IndexDefinition,
    IndexLockMode,
    IndexPriority,
    IndexState,
    IndexType,
)
from rookdb.query import Query, QueryStatistics
from rookdb.storage.records import (
    DocumentRecord,
    IndexErrors,
    IndexStatistics,
    ProjectionRow,
    QueryResult,
)
from rookdb.storage.relational.errors import DriverErrors
from rookdb.storage.relational.index_maintenance import (
    BUILD_BATCH,
    BUILDING,
    INDEX_VERSION,
    NORMAL,
    IndexMaintenance,
    IndexStatements,
    UserIndex,
)
from rookdb.storage.relational.results import projection, total_from_page
from rookdb.storage.relational.statements import Statements
from rookdb.storage.streams import QueryStream

__all__ = ["IndexesStorage", "python_rows"]

log = logging.getLogger("rookdb.storage.indexes")


# The index query this thread is compiling: its rows' query and parameters (``python_rows``).
_compiling = threading.local()


def python_rows() -> tuple[str, tuple[Any, ...]] | None:
    """While this thread compiles an index query: the query (and its parameters) of the
    index's rows as (key, JSON text), which a dialect's predicates evaluated in Python read
    in place of the documents. None otherwise."""
    rows: tuple[str, tuple[Any, ...]] | None = getattr(_compiling, "rows", None)
    return rows


def _text(value: Any) -> str:
    return value if isinstance(value, str) else bytes(value).decode()


class IndexesStorage:
    """The ``Storage`` calls of user-defined indexes, for ``RelationalStorage``."""

    _index_sql: IndexStatements
    #: The LIMIT parameter that means none (``RelationalStorage``).
    _no_limit: ClassVar[int | None]
    _user_indexes: IndexMaintenance
    # Provided by ``RelationalStorage`` and its dialect.
    _errors: ClassVar[type[DriverErrors]]
    _query_errors: ClassVar[type[DriverErrors]]
    _sql: Statements
    name: str

    def _connection(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _snapshot(self, conn: Any) -> AbstractContextManager[None]:
        raise NotImplementedError

    def _revision_transaction(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _where(self, conn: Any, query: Query, indexes: Any, params: list[Any]) -> str:
        raise NotImplementedError

    def query(self, query: Query) -> QueryResult:
        raise NotImplementedError

    def _order_clause(self, order_by: Any) -> str:
        raise NotImplementedError

    def _last_etag(self, conn: Any) -> int:
        raise NotImplementedError

    def _fetch(self, conn: Any, keys: list[str]) -> dict[str, DocumentRecord]:
        raise NotImplementedError

    def _includes(self, conn: Any, records: Any, paths: Sequence[str]) -> Any:
        raise NotImplementedError

    # -- management --------------------------------------------------------------------------

    def put_indexes(self, definitions: Sequence[IndexDefinition]) -> list[str]:
        """Store ``definitions`` (``store_indexes``), then map the documents already there,
        in transactions of ``BUILD_BATCH`` documents, before answering. The names."""
        return self._put_indexes(definitions, auto=False)

    def _put_indexes(self, definitions: Sequence[IndexDefinition], auto: bool) -> list[str]:
        """``put_indexes``; ``auto``: of automatic indexes (``Auto/...``, which users may
        not put), as a group-by query puts them (``relational.aggregation_indexes``)."""
        names, build = self._store_indexes(definitions, auto)
        for index_id in build:
            self._build(index_id)
        return names

    def store_indexes(self, definitions: Sequence[IndexDefinition]) -> list[str]:
        """Store ``definitions`` (each checked by ``compile_index`` first: one refused refuses
        them all, and nothing is stored); a new or changed one is ``Building`` until
        ``build_indexes`` maps the documents already there. An index put again with the same
        definition is left as it is. The names, as stored."""
        return self._store_indexes(definitions, auto=False)[0]

    def build_indexes(self, stopped: Callable[[], bool] | None = None) -> int:
        with self._errors("read indexes"), self._connection() as conn:
            rows = conn.execute(self._index_sql.rows).fetchall()
        mapped = 0
        for index_id, _, _, state in rows:
            if str(state) == BUILDING:
                mapped += self._build(int(index_id), stopped)
        return mapped

    def _store_indexes(
        self, definitions: Sequence[IndexDefinition], auto: bool
    ) -> tuple[list[str], list[int]]:
        """The names stored, and the ids of the indexes to build."""
        compiled = [compile_index(definition, auto=auto) for definition in definitions]
        names = [c.name for c in compiled]
        if len({n.lower() for n in names}) != len(names):
            raise IndexCompilationError("the indexes put together have distinct names")
        sql = self._index_sql
        build: list[int] = []
        with self._errors("put indexes"), self._revision_transaction() as conn:
            etag = self._last_etag(conn)
            changed = False
            for index in compiled:
                text = orjson.dumps(index.definition.to_json()).decode()
                row = conn.execute(sql.by_name, (index.name.lower(),)).fetchone()
                if row is not None:
                    old = orjson.loads(_text(row[2]))
                    new = index.definition.to_json()
                    if _essence(old) == _essence(new):
                        if str(row[3]) == BUILDING:  # a build that stopped half-way goes on
                            build.append(int(row[0]))
                        # RavenDB leaves an unchanged index as it is; a lock mode or a
                        # priority the put names is taken, without building again.
                        kept = {k: new[k] or old.get(k) for k in _OPTIONS if k in new}
                        if any(old.get(k) != v for k, v in kept.items()):
                            changed = True
                            self._set_definition(conn, int(row[0]), {**old, **kept})
                        continue
                    mode = old.get("LockMode")
                    if mode == IndexLockMode.LOCKED_IGNORE.value:
                        continue  # RavenDB keeps the locked definition, silently
                    if mode == IndexLockMode.LOCKED_ERROR.value:
                        raise IndexLockedError(
                            f"Cannot edit existing index {row[1]} with lock mode {mode}"
                        )
                    self._drop(conn, int(row[0]), str(row[1]))
                index_id = int(conn.execute(sql.next_id).fetchone()[0])
                created = _now()
                conn.execute(
                    sql.insert,
                    (index_id, index.name.lower(), index.name, text, BUILDING, etag, created),
                )
                build.append(index_id)
                changed = True
            if changed:
                conn.execute(self._sql.put_meta, (INDEX_VERSION, IndexMaintenance.new_version()))
        return names, build

    def set_index_options(
        self,
        names: Sequence[str],
        lock_mode: IndexLockMode | None = None,
        priority: IndexPriority | None = None,
    ) -> None:
        options = {"LockMode": lock_mode, "Priority": priority}
        with self._errors("set index options"), self._revision_transaction() as conn:
            rows = [self._index_row(conn, name) for name in names]
            for row in rows:
                definition = orjson.loads(_text(row[2]))
                for key, value in options.items():
                    if value is not None:
                        definition[key] = (
                            IndexLockMode(value).value
                            if key == "LockMode"
                            else (IndexPriority(value).value)
                        )
                self._set_definition(conn, int(row[0]), definition)
            conn.execute(self._sql.put_meta, (INDEX_VERSION, IndexMaintenance.new_version()))

    def index_has_changed(self, definition: IndexDefinition) -> bool:
        with self._errors("read an index"), self._connection() as conn:
            row = self._find(conn, definition.name)
        if row is None:
            return True
        stored = _definition(row[2]).to_json()
        return _essence(stored) != _essence(definition.with_server_defaults().to_json())

    def set_indexing_running(self, running: bool, name: str | None = None) -> None:
        with self._errors("stop or start indexing"), self._revision_transaction() as conn:
            paused = set(self._paused(conn))
            key = _ALL if name is None else str(self._index_row(conn, name)[1]).lower()
            if name is None and running:
                paused.clear()  # RavenDB's StartIndexingOperation starts every index
            elif running:
                paused.discard(key)
            else:
                paused.add(key)
            conn.execute(self._sql.put_meta, (_PAUSED, orjson.dumps(sorted(paused)).decode()))

    def set_index_enabled(self, name: str, enabled: bool) -> None:
        with self._errors("disable or enable an index"), self._revision_transaction() as conn:
            row = self._index_row(conn, name)
            definition = orjson.loads(_text(row[2]))
            state = IndexState.NORMAL if enabled else IndexState.DISABLED
            definition["State"] = state.value
            self._set_definition(conn, int(row[0]), definition)
            conn.execute(self._sql.put_meta, (INDEX_VERSION, IndexMaintenance.new_version()))

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
                index = self._compiled(conn, index_id, _definition(row[2]))
                source = sql.result_source if index.is_map_reduce else sql.entry_source
                rows = conn.execute(f"SELECT raw FROM {source}", (index_id,)).fetchall()
        if row is None:
            # An automatic index has an entry per document of its collection.
            entries = self.query(Query(collection=collection, select=(field,))).projections
        else:
            entries = [orjson.loads(_text(raw)) for (raw,) in rows]
        return _terms(entries or [], field, from_value, page_size)

    def _auto_collection(self, conn: Any, name: str) -> str:
        """The collection of the automatic index ``name`` as ``get_index_names`` lists it;
        ``IndexDoesNotExistError`` when there is none."""
        for collection, path, _ in conn.execute(self._sql.indexes).fetchall():
            if f"auto/{collection}/by{path}".lower() == name.lower():
                return str(collection)
        raise IndexDoesNotExistError(f"Index {name!r} does not exist")

    def indexing_status(self) -> dict[str, Any]:
        with self._errors("read the indexing status"), self._connection() as conn:
            paused = set(self._paused(conn))
            rows = conn.execute(self._index_sql.rows).fetchall()
        every = _ALL in paused

        def status(row: Any) -> str:
            if orjson.loads(_text(row[2])).get("State") == IndexState.DISABLED.value:
                return "Disabled"  # RavenDB's IndexRunningStatus: disabled outranks paused
            return "Paused" if every or str(row[1]).lower() in paused else "Running"

        return {
            "Status": "Paused" if every else "Running",
            "Indexes": [{"Name": str(r[1]), "Status": status(r)} for r in rows],
        }

    def _index_types(self, conn: Any) -> dict[str, str]:
        """The user-defined indexes' names and types, as the database statistics list them."""
        rows = conn.execute(self._index_sql.rows).fetchall()
        return {str(r[1]): _definition(r[2]).type.value for r in rows}

    def _unpause(self, conn: Any, name: str) -> None:
        """Forget that index ``name`` was stopped: RavenDB's stop lives with the index, so a
        new one of that name (after a delete, a changed put or a reset) runs."""
        paused = self._paused(conn)
        if name.lower() in paused:
            paused.remove(name.lower())
            conn.execute(self._sql.put_meta, (_PAUSED, orjson.dumps(paused).decode()))

    def _paused(self, conn: Any) -> list[str]:
        row = conn.execute(self._sql.get_meta, (_PAUSED,)).fetchone()
        return [] if row is None else [str(n) for n in orjson.loads(_text(row[0]))]

    def _set_definition(self, conn: Any, index_id: int, definition: dict[str, Any]) -> None:
        conn.execute(self._index_sql.set_definition, (orjson.dumps(definition).decode(), index_id))

    def _drop(self, conn: Any, index_id: int, name: str) -> None:
        sql = self._index_sql
        self._unpause(conn, name)
        for statement in (
            sql.clear_entries,
            sql.clear_references,
            sql.clear_results,
            sql.clear_pages,
        ):
            conn.execute(statement, (index_id,))
        conn.execute(sql.delete_index, (index_id,))

    def _build(self, index_id: int, stopped: Callable[[], bool] | None = None) -> int:
        """Map every document the index reads that was there when it was put, a page of
        ``BUILD_BATCH`` keys per write transaction (writers wait one page at most); writes
        meanwhile index what they touch, and mapping a key again is harmless. Until done, or
        ``stopped()`` before a page (the index stays ``Building``: a later build starts over,
        keeping what is there). The documents mapped."""
        started = time.perf_counter()
        after, mapped = "", 0
        while True:
            if stopped is not None and stopped():
                return mapped
            with self._errors("build an index"), self._revision_transaction() as conn:
                index = self._index_by_id(conn, index_id)
                if index is None or index.state != BUILDING:
                    return mapped  # deleted, replaced or built by another meanwhile
                keys = self._build_page(conn, index, after)
                if not keys:
                    conn.execute(self._index_sql.set_state, (NORMAL, index_id))
                    conn.execute(
                        self._sql.put_meta, (INDEX_VERSION, IndexMaintenance.new_version())
                    )
                    break
                self._user_indexes.map_documents(conn, index, keys)
            mapped += len(keys)
            after = keys[-1]
            if mapped % (BUILD_BATCH * 10) == 0:
                log.info("index %r of %r: %d documents mapped", index.name, self.name, mapped)
        log.info(
            "index %r of %r built: %d documents in %.1f s",
            index.name,
            self.name,
            mapped,
            time.perf_counter() - started,
        )
        return mapped

    def _build_page(self, conn: Any, index: UserIndex, after: str) -> list[str]:
        collections = index.compiled.collections
        sql = self._index_sql
        if collections is None:
            rows = conn.execute(sql.build_page_all, (after, BUILD_BATCH)).fetchall()
            return [str(k) for (k,) in rows]
        keys: list[str] = []
        for collection in sorted(collections):
            rows = conn.execute(sql.build_page, (after, collection, BUILD_BATCH)).fetchall()
            keys.extend(str(k) for (k,) in rows)
        return sorted(keys)[:BUILD_BATCH]

    def _index_by_id(self, conn: Any, index_id: int) -> UserIndex | None:
        return next((i for i in self._user_indexes.registry(conn) if i.id == index_id), None)

    def _find(self, conn: Any, name: object) -> tuple[Any, ...] | None:
        """The row of index ``name`` (any case), None when there is none; a name no index
        can have (not a str, control characters) is none, whatever storage would say."""
        if not isinstance(name, str) or any(ord(c) < 32 for c in name):
            return None
        row = conn.execute(self._index_sql.by_name, (name.lower(),)).fetchone()
        return None if row is None else tuple(row)

    def _index_row(self, conn: Any, name: str) -> tuple[Any, ...]:
        row = self._find(conn, name)
        if row is None:
            raise IndexDoesNotExistError(f"Index {name!r} does not exist")
        return row

    def get_index(self, name: str) -> IndexDefinition | None:
        """The definition of index ``name`` (any case) as RavenDB's server answers it, None
        when there is none."""
        with self._errors("read an index"), self._connection() as conn:
            row = self._find(conn, name)
        if row is None:
            return None
        return _definition(row[2])

    def get_indexes(self, start: int = 0, page_size: int = 25) -> list[IndexDefinition]:
        """The definitions of the indexes, in name order: ``start`` skipped, at most
        ``page_size``."""
        with self._errors("read indexes"), self._connection() as conn:
            rows = conn.execute(self._index_sql.rows).fetchall()
        return [_definition(row[2]) for row in rows[start : start + page_size]]

    def get_index_names(self, start: int = 0, page_size: int = 25) -> list[str]:
        """The user-defined indexes' names and, as RavenDB lists the automatic indexes its
        queries made, ``Auto/{collection}/By{path}`` for each automatic index, by name."""
        with self._errors("read indexes"), self._connection() as conn:
            rows = conn.execute(self._index_sql.rows).fetchall()
            autos = conn.execute(self._sql.indexes).fetchall()
        names = {str(row[1]) for row in rows}
        names |= {f"Auto/{collection}/By{path}" for collection, path, _ in autos}
        return sorted(names, key=str.lower)[start : start + page_size]

    def delete_index(self, name: str) -> None:
        """Remove index ``name`` and everything it holds (RavenDB answers a missing one with
        success too)."""
        with self._errors("delete an index"), self._revision_transaction() as conn:
            row = self._find(conn, name)
            if row is None:
                return
            self._drop(conn, int(row[0]), str(row[1]))
            conn.execute(self._sql.put_meta, (INDEX_VERSION, IndexMaintenance.new_version()))

    def reset_index(self, name: str) -> None:
        """Throw away what index ``name`` holds (and its errors) and build it again."""
        with self._errors("reset an index"), self._revision_transaction() as conn:
            row = self._index_row(conn, name)
            index_id = int(row[0])
            sql = self._index_sql
            for statement in (
                sql.clear_entries,
                sql.clear_references,
                sql.clear_results,
                sql.clear_pages,
            ):
                conn.execute(statement, (index_id,))
            conn.execute(sql.set_errors, (0, "[]", index_id))
            conn.execute(sql.set_state, (BUILDING, index_id))
            self._unpause(conn, str(row[1]))  # RavenDB's reset starts the index built anew
            conn.execute(self._sql.put_meta, (INDEX_VERSION, IndexMaintenance.new_version()))
        self._build(index_id)

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
                names = (
                    [str(r[1]) for r in conn.execute(sql.rows).fetchall()]
                    if name is None
                    else [name]
                )
                for each in names:
                    row = self._index_row(conn, each)
                    definition = _definition(row[2])
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
                        )
                    )
        return out

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

    def _compiled(self, conn: Any, index_id: int, definition: IndexDefinition) -> Any:
        found = self._index_by_id(conn, index_id)
        if found is not None:
            return found.compiled
        return compile_index(definition, auto=str(definition.name).lower().startswith("auto/"))

    # -- queries -----------------------------------------------------------------------------

    def _index_stream(self, query: Query) -> QueryStream:
        """``stream_query`` of an index query: its results read whole, then handed out (not
        flat in memory). A map-reduce index's results are no documents: refused."""
        result = self._index_query(query)
        if result.projections is None:
            return QueryStream.of(result.statistics, iter(result.records))
        if len(result.records) != len(result.projections):
            raise QueryError("streaming a map-reduce index's results is not supported: query it")
        rows = zip(result.projections, result.records, strict=True)
        return QueryStream.of(result.statistics, iter(ProjectionRow.of(p, r) for p, r in rows))

    def _index_query(self, query: Query) -> QueryResult:
        """Run ``query`` on the index it names, in one snapshot."""
        with (
            self._query_errors("query an index"),
            self._connection() as conn,
            self._snapshot(conn),
        ):
            return self._index_query_in(conn, query)

    def _index_where(
        self, conn: Any, map_reduce: bool, index_id: int, query: Query
    ) -> tuple[str, str, list[Any]]:
        """The rows an index query reads (a map index's entries, a map-reduce index's
        results: ``FROM`` what), its ``WHERE`` and the parameters after the index's id."""
        plain = dataclasses.replace(query, index_name=None, collection=None)
        params: list[Any] = []
        sql = self._index_sql
        source = sql.result_source if map_reduce else sql.entry_source
        # What the compiler leaves to Python (PostgreSQL: search, regex) reads the
        # index's rows too, not the documents.
        _compiling.rows = (f"SELECT key, raw FROM {source}", (index_id,))
        try:
            where = self._where(conn, plain, {}, params) if query.where is not None else "1=1"
        finally:
            _compiling.rows = None
        return source, where, params

    def _index_rows(self, query: Query) -> tuple[QueryStatistics, list[Any]]:
        """The rows facets of an index query count (``rookdb.facet_compute``), those its
        where clause matches: a map index's entries (RavenDB counts index entries, and makes
        none of a map output whose fields are all null), a map-reduce index's results; read
        in one snapshot."""
        with (
            self._query_errors("query an index"),
            self._connection() as conn,
            self._snapshot(conn),
        ):
            assert query.index_name is not None
            row = self._index_row(conn, query.index_name)
            index_id, state = int(row[0]), str(row[3])
            index = self._compiled(conn, index_id, _definition(row[2]))
            source, where, params = self._index_where(conn, index.is_map_reduce, index_id, query)
            found = conn.execute(f"SELECT raw FROM {source} WHERE {where}", (index_id, *params))
            decoded = (orjson.loads(_text(raw)) for (raw,) in found.fetchall())
            rows = [row for row in decoded if not facet_compute.all_null(row)]
        stats = QueryStatistics(
            index_name=index.name, is_stale=state == BUILDING, index_timestamp=_utc_now()
        )
        return stats, rows

    def _index_query_in(self, conn: Any, query: Query) -> QueryResult:
        """``query`` on the index it names, in ``conn``'s snapshot: the index's row, its rows
        and the documents read together."""
        started = time.perf_counter()
        assert query.index_name is not None
        row = self._index_row(conn, query.index_name)
        index_id, state = int(row[0]), str(row[3])
        index = self._compiled(conn, index_id, _definition(row[2]))
        source, where, params = self._index_where(conn, index.is_map_reduce, index_id, query)
        order = self._order_clause(query.order_by)
        select = f"SELECT key, raw FROM {source} WHERE {where} ORDER BY {order}"
        end = None if query.take is None else query.skip + query.take
        projections: list[dict[str, Any]] | None
        if index.is_map_reduce:
            # Results are no documents: projections without records, paged by SQL (one
            # result per row) unless distinct ones are asked for.
            records: list[DocumentRecord] = []
            included: Any = {}
            if query.distinct and query.select:
                every = [
                    orjson.loads(_text(d)) for _, d in conn.execute(select, (index_id, *params))
                ]
                seen: dict[bytes, dict[str, Any]] = {}
                for result in every:
                    projected = project(result, query.select, query.select_as)
                    seen.setdefault(orjson.dumps(projected), projected)
                distinct = list(seen.values())
                total, projections = len(distinct), distinct[query.skip : end]
            else:
                limit = self._no_limit if query.take is None else query.take
                rows = conn.execute(
                    select + self._sql.page, (index_id, *params, limit, query.skip)
                ).fetchall()
                results = [orjson.loads(_text(data)) for _, data in rows]
                if query.select:
                    results = [project(r, query.select, query.select_as) for r in results]
                projections = results
                counted = total_from_page(query, len(rows))
                if counted is None:
                    counted = conn.execute(
                        f"SELECT count(*) FROM {source} WHERE {where}", (index_id, *params)
                    ).fetchone()[0]
                total = int(counted)
        else:
            rows = conn.execute(select, (index_id, *params)).fetchall()
            first: dict[str, Any] = {}
            for key, data in rows:
                if key not in first:
                    first[key] = data
            keys = list(first)
            total = len(keys)
            page = keys[query.skip : end]
            found = self._fetch(conn, page)
            page = [k for k in page if k in found]
            records = [found[k] for k in page]
            projections = None
            if query.select:
                stored = index.stored_fields
                projections = [
                    project(
                        orjson.loads(_text(first[k])),
                        query.select,
                        query.select_as,
                        found[k].id,
                    )
                    if all(f in stored for f in query.select)
                    else projection(found[k], query)
                    for k in page
                ]
            included = self._includes(conn, records, query.includes) if query.includes else {}
        stats = QueryStatistics(
            total_results=total,
            skipped_results=query.skip,
            duration_in_ms=(time.perf_counter() - started) * 1000,
            index_name=index.name,
            is_stale=state == BUILDING,
            index_timestamp=_utc_now(),
        )
        return QueryResult(records, included, stats, projections)


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


#: The ``meta`` row of the indexes stopped (lower-cased names; ``_ALL``: indexing as a whole).
_PAUSED, _ALL = "indexes_paused", "*"

#: What a put may change of an index without building it again.
_OPTIONS = ("LockMode", "Priority", "State")


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


def _essence(definition: dict[str, Any]) -> dict[str, Any]:
    """A definition's JSON but its lock mode, priority and state: what decides a rebuild."""
    return {k: v for k, v in definition.items() if k not in _OPTIONS}


def _definition(text: Any) -> IndexDefinition:
    return IndexDefinition.from_json(orjson.loads(_text(text))).with_server_defaults()


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _now() -> str:
    return str(_utc_now().strftime("%Y-%m-%dT%H:%M:%S.%f0Z"))
