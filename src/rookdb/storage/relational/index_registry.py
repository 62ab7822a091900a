"""The registry of user-defined indexes, and what their upkeep writes to an index's own row.

Every index is a row of the ``indexes`` table (``relational.index_maintenance`` lists the five
tables): its name, definition, state (``BUILDING`` while the documents that were there when it
was put are mapped, then ``NORMAL``) and errors. ``IndexRegistry``, a base of
``IndexMaintenance``, reads the rows and compiles them into ``UserIndex`` values, cached per
process as of ``INDEX_VERSION``, a ``meta`` row that every put, delete and reset changes
(``new_version``): a batch that finds the version unchanged reads no row. A map or reduce that
fails is recorded against its index (``indexing_error``, RavenDB's ``IndexingError``): the
count grows, the last ``MAX_ERRORS`` are kept, and a warning is logged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
import uuid
from typing import TYPE_CHECKING, Any

import orjson

from rookdb.indexes.compiled import CompiledIndex, compile_index
from rookdb.indexes.definitions import IndexDefinition

if TYPE_CHECKING:
    from rookdb.storage.relational.index_statements import IndexStatements

__all__ = [
    "BUILDING",
    "INDEX_VERSION",
    "NORMAL",
    "IndexRegistry",
    "UserIndex",
    "indexing_error",
]

log = logging.getLogger("rookdb.storage.indexes")

#: The ``meta`` row whose value changes with every put, delete and reset of an index.
INDEX_VERSION = "user_index_version"
#: Errors kept per index (RavenDB keeps the last ones too).
MAX_ERRORS = 20

#: The states an index row has: being built over existing documents, or up to date.
BUILDING, NORMAL = "Building", "Normal"


def _utc_now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


@dataclasses.dataclass(frozen=True)
class UserIndex:
    """An index of the registry: its row id, its compiled form and its state."""

    id: int
    compiled: CompiledIndex
    state: str

    @property
    def name(self) -> str:
        return self.compiled.name


class IndexRegistry:
    """The registry of an ``IndexMaintenance``: every index, cached as of ``INDEX_VERSION``,
    and the errors recorded against one."""

    def __init__(self, sql: IndexStatements, get_meta: str) -> None:
        """``get_meta``: the dialect's statement reading one ``meta`` row by name."""
        self._sql = sql
        self._get_meta = get_meta
        self._lock = threading.Lock()
        self._version: str | None = None
        self._indexes: tuple[UserIndex, ...] = ()

    # -- the registry ------------------------------------------------------------------------

    def registry(self, conn: Any, version: str | None = None) -> tuple[UserIndex, ...]:
        """Every index, re-read on ``conn`` if any index was put, deleted or reset since;
        ``version`` is ``INDEX_VERSION``'s value when the caller read it already ("" when
        there is no such row)."""
        if version is None:
            version = self._read_version(conn)
        if version == self._version:
            return self._indexes
        # Read before the lock: no lock is held across I/O (``rookdb.storage.bridge``).
        indexes = []
        for index_id, name, definition, state in conn.execute(self._sql.rows).fetchall():
            compiled = compile_index(
                IndexDefinition.from_json(orjson.loads(definition)),
                auto=str(name).lower().startswith("auto/"),
            )
            indexes.append(UserIndex(int(index_id), compiled, str(state)))
        found = tuple(indexes)
        if self._read_version(conn) != version:
            # Outside a transaction, an index was put, deleted or reset between the two reads:
            # the rows may be of a later version than ``version``, and a query whose snapshot
            # is at ``version`` would take them for its own (a replaced index's new
            # definition for its old entries). Answered, not kept.
            return found
        with self._lock:
            # The same tuple ``cached`` gives until the next change: callers may tell one
            # registry from another by identity (``relational.entry_indexes``).
            self._indexes, self._version = found, version
        return found

    def _read_version(self, conn: Any) -> str:
        """``INDEX_VERSION``'s value on ``conn`` ("" when there is no such row)."""
        row = conn.execute(self._get_meta, (INDEX_VERSION,)).fetchone()
        return "" if row is None else str(row[0])

    def cached(self) -> tuple[UserIndex, ...]:
        return self._indexes

    @staticmethod
    def new_version() -> str:
        """A fresh value of ``INDEX_VERSION``, for a change of the registry."""
        return uuid.uuid4().hex

    # -- errors ------------------------------------------------------------------------------

    def _record_errors(self, conn: Any, index: UserIndex, errors: list[dict[str, Any]]) -> None:
        count, kept = conn.execute(self._sql.get_errors, (index.id,)).fetchone()
        last = [*orjson.loads(kept), *errors][-MAX_ERRORS:]
        conn.execute(
            self._sql.set_errors, (int(count) + len(errors), orjson.dumps(last).decode(), index.id)
        )
        for error in errors:
            log.warning(
                "index %r failed on %s: %s",
                index.name,
                error["Document"] or "a group",
                error["Error"],
            )


def indexing_error(document_id: str | None, action: str, exc: Exception) -> dict[str, Any]:
    """One of RavenDB's ``IndexingError``s."""
    return {"Document": document_id, "Action": action, "Error": str(exc), "Timestamp": _utc_now()}
