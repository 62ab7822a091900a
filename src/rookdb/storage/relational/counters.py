"""Counters, as RavenDB keeps them: the rules, once, for every SQL backend.

A counter is a row of the ``counters`` table (format 4): the document's key, the counter's name
lower-cased (names compare case-insensitively), the name as first written, and a 64-bit value.
An increment is one ``INSERT ... ON CONFLICT DO UPDATE SET value = value + delta`` in the
batch's transaction: the database adds, so concurrent increments never lose one, on any
backend. An increment past 64 bits changes nothing and fails the batch.

A document's ``@counters`` (its counters' names, sorted) and ``HasCounters`` are storage's
(``storage.owned_metadata``): a ``CountersCommand`` that adds a name or removes one writes them
into the document, which gets a new version (etag, change vector) as in RavenDB; one that only
changes values leaves the document as it is. Every put of a document that has counters keeps
them (``relational.owned``); deleting a document deletes its counters.

The backend supplies the SQL (``CounterStatements``) and calls these from its write path. A
batch in a database without counters or attachments pays one ``EXISTS`` read, made with the
batch's other state (``relational.owned``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, NamedTuple

from rookdb.errors import DocumentNotFoundError, InvalidOperationError, shown
from rookdb.ids import shown_id, validate_id
from rookdb.storage.base import Storage
from rookdb.storage.commands import MAX_COUNTER_NAME, CountersCommand, validate_counter_name
from rookdb.storage.owned_metadata import COUNTERS, counters_value, with_owned
from rookdb.storage.records import ALL_COUNTERS, CountersReply
from rookdb.storage.relational.errors import DriverErrors
from rookdb.storage.relational.revisions import RevisionStatements

__all__ = ["CounterStatements", "CountersStorage", "apply_counters"]

_MAX = "9223372036854775807"
_MIN = "(-9223372036854775807 - 1)"


class CounterStatements(NamedTuple):
    """A dialect's SQL for counters (parameters in the order each names)."""

    #: Add a delta: key, name key, name, delta; RETURNING the name and the new value, no row
    #: when the sum would not fit 64 bits.
    increment: str
    #: Drop one counter: key, name key.
    delete: str
    #: Name and value of one counter: key, name key.
    get: str
    #: Name and value of a document's counters, in name order: key.
    every: str
    #: Drop every counter of a key.
    purge: str
    #: Drop every counter of several keys (the dialect's key list).
    purge_keys: str
    #: Key, name and value of the counters of several keys (the dialect's key list), in
    #: key and name order.
    of_keys: str
    #: One row, one column: whether the table has any counter.
    any: str

    @classmethod
    def of(cls, schema: str, mark: str, keys: str) -> CounterStatements:
        """The statements of the ``counters`` table in ``schema``, with parameter ``mark``
        and ``keys``, the dialect's condition ``key IN`` its key list."""
        t = f"{schema}counters"
        m = mark
        return cls(
            increment=(
                f"INSERT INTO {t} AS c (key, name_key, name, value) VALUES ({m}, {m}, {m}, {m}) "
                "ON CONFLICT (key, name_key) DO UPDATE SET value = c.value + excluded.value "
                # CASE: only the branch taken is computed (the other would overflow).
                f"WHERE CASE WHEN excluded.value >= 0 "
                f"THEN c.value <= {_MAX} - excluded.value "
                f"ELSE c.value >= {_MIN} - excluded.value END "
                "RETURNING name, value"
            ),
            delete=f"DELETE FROM {t} WHERE key = {m} AND name_key = {m}",
            get=f"SELECT name, value FROM {t} WHERE key = {m} AND name_key = {m}",
            every=f"SELECT name, value FROM {t} WHERE key = {m} ORDER BY name_key",
            purge=f"DELETE FROM {t} WHERE key = {m}",
            purge_keys=f"DELETE FROM {t} WHERE {keys}",
            of_keys=f"SELECT key, name, value FROM {t} WHERE {keys} ORDER BY key, name_key",
            any=f"SELECT EXISTS (SELECT 1 FROM {t})",
        )


def apply_counters(
    conn: Any,
    sql: CounterStatements,
    documents: RevisionStatements,
    command: CountersCommand,
    new_etag: Callable[[], int],
    suffix: str,
    now: str,
    body: Callable[[bytes], str | None] = lambda data: None,
) -> tuple[CountersReply, bytes | None]:
    """Apply ``command`` in the batch's transaction (the document read, and locked where the
    dialect locks rows, with ``documents.document``): its reply, and the document's new data
    when its ``@counters`` changed (written with ``documents.flag_document``, a new etag from
    ``new_etag``, ``suffix`` after it in the change vector, ``now``; ``body`` gives the
    dialect's jsonb text), else None."""
    key = command.id.lower()
    row = conn.execute(documents.document, (key,)).fetchone()
    if row is None:
        raise DocumentNotFoundError(
            f"document {shown_id(command.id)} does not exist: counters belong to a stored document"
        )
    document_id, _, _, change_vector, _, data = row
    data = bytes(data)
    replies: list[tuple[str, int | None]] = []
    names_changed = False
    for operation in command.operations:
        name_key = operation.name.lower()
        if operation.type == "Increment":
            found = conn.execute(
                sql.increment, (key, name_key, operation.name, operation.delta)
            ).fetchone()
            if found is None:
                raise InvalidOperationError(
                    f"incrementing counter {shown(operation.name, limit=MAX_COUNTER_NAME)} of "
                    f"{shown_id(document_id)} by "
                    f"{operation.delta} overflows 64 bits; nothing of the batch was written"
                )
            replies.append((found[0], found[1]))
            names_changed = True  # a new counter, perhaps: the names are read again below
        elif operation.type == "Delete":
            names_changed = conn.execute(sql.delete, (key, name_key)).rowcount > 0 or names_changed
        else:
            found = conn.execute(sql.get, (key, name_key)).fetchone()
            replies.append((found[0], found[1]) if found is not None else (operation.name, None))
    written = None
    if names_changed:
        names = [name for name, _ in conn.execute(sql.every, (key,)).fetchall()]
        flagged = with_owned(data, COUNTERS, counters_value(names))
        if flagged is not data:
            etag = new_etag()
            change_vector = f"A:{etag}{suffix}"
            stored = flagged.decode() if documents.text else flagged
            conn.execute(
                documents.flag_document, (stored, body(flagged), etag, change_vector, now, key)
            )
            written = flagged
    return CountersReply(document_id, replies, change_vector), written


class CountersStorage(Storage):
    """The counter reads of ``Storage`` on the relational core, through the dialect's
    connections and ``_counter_sql``."""

    _counter_sql: CounterStatements

    # The relational core's, declared for the type checker.
    _errors: ClassVar[type[DriverErrors]]

    def _connection(self) -> Any:
        raise NotImplementedError

    def _key_list(self, keys: list[str]) -> Any:
        raise NotImplementedError

    def get_counters(self, document_id: str, names: Sequence[str] | None = None) -> dict[str, int]:
        validate_id(document_id)
        asked = None if names is None else [validate_counter_name(n) for n in names]
        with self._errors("read counters"), self._connection() as conn:
            rows = conn.execute(self._counter_sql.every, (document_id.lower(),)).fetchall()
        if asked is None:
            return dict(rows)
        # By the names asked, as RavenDB answers them (its RavenDB-15402).
        values = {name.lower(): value for name, value in rows}
        return {name: values[name.lower()] for name in asked if name.lower() in values}

    def _counters_asked(
        self, conn: Any, keys: list[str], names: Sequence[str]
    ) -> dict[str, dict[str, int]]:
        """The counters of ``names`` (``ALL_COUNTERS`` among them: every one) of the
        documents of ``keys``, in the caller's snapshot: by key, each a dict by stored name
        (empty for none)."""
        out: dict[str, dict[str, int]] = {key: {} for key in keys}
        if not keys:
            return out
        wanted = None if ALL_COUNTERS in names else {n.lower() for n in names}
        rows = conn.execute(self._counter_sql.of_keys, (self._key_list(keys),)).fetchall()
        for key, name, value in rows:
            if wanted is None or name.lower() in wanted:
                out[key][name] = value
        return out
