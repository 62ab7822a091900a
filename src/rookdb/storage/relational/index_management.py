"""The user-defined indexes changed: put (checked, then built in pages), options, running
state, delete and reset.

``IndexesStorage`` adds the ``Storage`` calls that change indexes to ``RelationalStorage``
(on ``relational.index_catalog``'s reading calls): put (the definitions checked by
``compile_index`` first; then the documents already there mapped in transactions of
``BUILD_BATCH`` documents, by the caller, while writes maintain the entries of the documents
they touch), lock mode and priority, enabled or disabled, stopped or running, delete and
reset. Each change of what the indexes are bumps ``INDEX_VERSION``, which every write reads.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import orjson

from rookdb.errors import IndexCompilationError, IndexLockedError
from rookdb.indexes.compiled import compile_index
from rookdb.indexes.definitions import IndexDefinition, IndexLockMode, IndexPriority, IndexState
from rookdb.storage.relational.index_catalog import (
    PAUSED,
    PAUSED_ALL,
    IndexCatalog,
    definition_of,
    running_status,
    text_of,
)
from rookdb.storage.relational.index_maintenance import BUILD_BATCH, IndexMaintenance
from rookdb.storage.relational.index_registry import BUILDING, INDEX_VERSION, NORMAL, UserIndex

__all__ = ["IndexesStorage"]

log = logging.getLogger("rookdb.storage.indexes")


class IndexesStorage(IndexCatalog):
    """The ``Storage`` calls that change user-defined indexes, for ``RelationalStorage``."""

    name: str

    def _revision_transaction(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _last_etag(self, conn: Any) -> int:
        raise NotImplementedError

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
            # First (``_drop``): later, after this put inserted a new index, it would wait
            # for another put holding the lock that waits for that row; and puts take ids
            # (``next_id``) one at a time.
            self._lock_entry_indexes(conn)
            etag = self._last_etag(conn)
            changed = False
            for index in compiled:
                text = orjson.dumps(index.definition.to_json()).decode()
                row = conn.execute(sql.by_name, (index.name.lower(),)).fetchone()
                if row is not None:
                    old = orjson.loads(text_of(row[2]))
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
                definition = orjson.loads(text_of(row[2]))
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
        stored = definition_of(row[2]).to_json()
        return _essence(stored) != _essence(definition.with_server_defaults().to_json())

    def set_indexing_running(self, running: bool, name: str | None = None) -> None:
        with self._errors("stop or start indexing"), self._revision_transaction() as conn:
            paused = set(self._paused(conn))
            key = PAUSED_ALL if name is None else str(self._index_row(conn, name)[1]).lower()
            if name is None and running:
                paused.clear()  # RavenDB's StartIndexingOperation starts every index
            elif running:
                paused.discard(key)
            else:
                paused.add(key)
            conn.execute(self._sql.put_meta, (PAUSED, orjson.dumps(sorted(paused)).decode()))

    def set_index_enabled(self, name: str, enabled: bool) -> None:
        with self._errors("disable or enable an index"), self._revision_transaction() as conn:
            row = self._index_row(conn, name)
            definition = orjson.loads(text_of(row[2]))
            state = IndexState.NORMAL if enabled else IndexState.DISABLED
            definition["State"] = state.value
            self._set_definition(conn, int(row[0]), definition)
            conn.execute(self._sql.put_meta, (INDEX_VERSION, IndexMaintenance.new_version()))

    def indexing_status(self) -> dict[str, Any]:
        with self._errors("read the indexing status"), self._connection() as conn:
            paused = set(self._paused(conn))
            rows = conn.execute(self._index_sql.rows).fetchall()
        return {
            "Status": "Paused" if PAUSED_ALL in paused else "Running",
            "Indexes": [
                {
                    "Name": str(r[1]),
                    "Status": running_status(
                        orjson.loads(text_of(r[2])).get("State") == IndexState.DISABLED.value,
                        str(r[1]),
                        paused,
                    ),
                }
                for r in rows
            ],
        }

    def _unpause(self, conn: Any, name: str) -> None:
        """Forget that index ``name`` was stopped: RavenDB's stop lives with the index, so a
        new one of that name (after a delete, a changed put or a reset) runs."""
        paused = self._paused(conn)
        if name.lower() in paused:
            paused.remove(name.lower())
            conn.execute(self._sql.put_meta, (PAUSED, orjson.dumps(paused).decode()))

    def _set_definition(self, conn: Any, index_id: int, definition: dict[str, Any]) -> None:
        conn.execute(self._index_sql.set_definition, (orjson.dumps(definition).decode(), index_id))

    def _clear(self, conn: Any, index_id: int) -> None:
        """Throw away what an index holds: its entries, references, results and pages."""
        sql = self._index_sql
        for statement in (
            sql.clear_entries,
            sql.clear_references,
            sql.clear_results,
            sql.clear_pages,
        ):
            conn.execute(statement, (index_id,))

    def _drop(self, conn: Any, index_id: int, name: str) -> None:
        """Inside the caller's transaction, which took ``_lock_entry_indexes`` first."""
        self._unpause(conn, name)
        self._clear(conn, index_id)
        # Ids are reused (``next_id``): the next index with this one starts without them.
        self._drop_entry_indexes(conn, index_id)
        conn.execute(self._index_sql.delete_index, (index_id,))

    def _drop_entry_indexes(self, conn: Any, index_id: int) -> None:
        """Inside the caller's transaction: drop the expression indexes over index
        ``index_id``'s entries (``relational.entry_indexes``)."""
        for name in sorted(self._entry_index_names(conn, index_id)):
            conn.execute(self._drop_index_sql(name))

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

    def delete_index(self, name: str) -> None:
        """Remove index ``name`` and everything it holds (RavenDB answers a missing one with
        success too)."""
        with self._errors("delete an index"), self._revision_transaction() as conn:
            self._lock_entry_indexes(conn)  # first (``_drop``)
            row = self._find(conn, name)
            if row is None:
                return
            self._drop(conn, int(row[0]), str(row[1]))
            conn.execute(self._sql.put_meta, (INDEX_VERSION, IndexMaintenance.new_version()))

    def delete_index_errors(self, names: Sequence[str] | None = None) -> None:
        with self._errors("delete index errors"), self._revision_transaction() as conn:
            if names is None:
                names = [str(r[1]) for r in conn.execute(self._index_sql.rows).fetchall()]
            rows = [self._index_row(conn, name) for name in names]  # every name, then writes
            for row in rows:
                conn.execute(self._index_sql.set_errors, (0, "[]", int(row[0])))

    def reset_index(self, name: str) -> None:
        """Throw away what index ``name`` holds (and its errors) and build it again."""
        with self._errors("reset an index"), self._revision_transaction() as conn:
            row = self._index_row(conn, name)
            index_id = int(row[0])
            self._clear(conn, index_id)
            conn.execute(self._index_sql.set_errors, (0, "[]", index_id))
            conn.execute(self._index_sql.set_state, (BUILDING, index_id))
            self._unpause(conn, str(row[1]))  # RavenDB's reset starts the index built anew
            conn.execute(self._sql.put_meta, (INDEX_VERSION, IndexMaintenance.new_version()))
        self._build(index_id)


#: What a put may change of an index without building it again.
_OPTIONS = ("LockMode", "Priority", "State")


def _essence(definition: dict[str, Any]) -> dict[str, Any]:
    """A definition's JSON but its lock mode, priority and state: what decides a rebuild."""
    return {k: v for k, v in definition.items() if k not in _OPTIONS}


def _now() -> str:
    return str(dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z"))
