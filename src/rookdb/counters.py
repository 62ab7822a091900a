"""``session.counters_for(entity_or_id)``: a document's counters, as RavenDB's
``SessionDocumentCounters``.

``increment(name, delta=1)`` and ``delete(name)`` are queued in the session and sent with the
next ``save_changes()``, in its one atomic batch, after everything else it writes (the
entities' commands, the deferred commands, the forced revisions): a ``CountersCommand`` per
document (``rookdb.storage.commands``), whose increments storage applies atomically (many
writers never lose one). ``get(name)``, ``get_many(names)`` and ``get_all()`` read from the
session's cache of counter values when it knows them (filled by reads, by the save's replies,
and by counters included with loads), else in one request; a document the session holds whose
``@counters`` does not name a counter answers None for it without asking storage. The cache of
a document goes with it when the session evicts or refreshes it, and all of it with ``clear``.

    >>> from rookdb import DocumentStore
    >>> with DocumentStore(urls="memory://", database="shop") as store:
    ...     with store.open_session() as session:
    ...         session.store({"title": "Dune"}, "books/1")
    ...         session.counters_for("books/1").increment("likes")
    ...         session.save_changes()
    ...     with store.open_session() as session:
    ...         session.counters_for("books/1").get("likes")
    1
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rookdb.arguments import check_list
from rookdb.errors import InvalidOperationError, shown
from rookdb.ids import shown_id, validate_id
from rookdb.storage.commands import (
    MAX_COUNTER_NAME,
    CounterOperation,
    CountersCommand,
    validate_counter_name,
)
from rookdb.storage.records import ALL_COUNTERS, CountersReply, document_key

if TYPE_CHECKING:
    from rookdb.session import DocumentSession

__all__ = ["SessionCounters", "SessionDocumentCounters"]


@dataclasses.dataclass
class _Cached:
    """What the session knows of one document's counters: values by lower-cased name (the
    name as stored, the value; None: known not to exist), and whether that is all of them."""

    values: dict[str, tuple[str, int | None]] = dataclasses.field(default_factory=dict)
    got_all: bool = False


class SessionCounters:
    """A session's counters: the operations its next save sends, and its cache of values."""

    def __init__(self) -> None:
        self._pending: dict[str, tuple[str, list[CounterOperation]]] = {}
        self._cache: dict[str, _Cached] = {}

    def __bool__(self) -> bool:
        return bool(self._pending)

    def queue(self, document_id: str, operation: CounterOperation) -> None:
        key = document_key(document_id)
        entry = self._pending.setdefault(key, (document_id, []))
        for queued in entry[1]:
            if queued.name.lower() == operation.name.lower() and queued.type != operation.type:
                what = "delete" if operation.type == "Delete" else "increment"
                raise InvalidOperationError(
                    f"cannot {what} counter {shown(operation.name, limit=MAX_COUNTER_NAME)} of "
                    f"{shown_id(document_id)}: this "
                    f"session already queued a {queued.type.lower()} of it; save first"
                )
        entry[1].append(operation)
        if operation.type == "Delete":
            cached = self._cache.get(key)
            if cached is not None:
                cached.values.pop(operation.name.lower(), None)

    def commands(self) -> list[CountersCommand]:
        """The commands of the next save, one per document, in the order first queued."""
        return [CountersCommand(i, tuple(ops)) for i, ops in self._pending.values()]

    def sent(self) -> None:
        """The save that sent the queued operations succeeded."""
        self._pending.clear()

    def learn(self, reply: CountersReply) -> None:
        """A save's reply: the values its increments left."""
        cached = self._cache.setdefault(document_key(reply.id), _Cached())
        for name, value in reply.counters:
            cached.values[name.lower()] = (name, value)

    def remember(
        self, document_id: str, found: dict[str, int], names: Iterable[str] | None
    ) -> None:
        """Values read from storage: those of ``names`` (None: every counter) are ``found``
        (by stored name); the names asked that are not there do not exist."""
        cached = self._cache.setdefault(document_key(document_id), _Cached())
        if names is None:
            cached.values.clear()
            cached.got_all = True
        else:
            for name in names:
                cached.values[name.lower()] = (name, None)
        for name, value in found.items():
            cached.values[name.lower()] = (name, value)

    def included(self, counters: dict[str, dict[str, int]] | None, names: tuple[str, ...]) -> None:
        """Counters read with documents (``include_counter(s)``, ``include_all_counters``
        of a load or a query): ``counters`` by the key of each document read (``GetResult``'s
        or ``QueryResult``'s; None: not read)."""
        if counters is None or not names:
            return
        every = ALL_COUNTERS in names
        for key, found in counters.items():
            self.remember(key, found, None if every else names)

    def cached(self, document_id: str) -> _Cached | None:
        return self._cache.get(document_key(document_id))

    def forget(self, key: str) -> None:
        """Drop the cache of one document (evicted, refreshed)."""
        self._cache.pop(key, None)

    def clear(self) -> None:
        self._pending.clear()
        self._cache.clear()


class SessionDocumentCounters:
    """The counters of one document in a session (``session.counters_for``)."""

    def __init__(self, session: DocumentSession, entity_or_id: Any) -> None:
        session._check_open()
        if isinstance(entity_or_id, str):
            self._id = validate_id(entity_or_id)
        else:
            state = session._map.by_entity(entity_or_id)
            if state is None:
                raise InvalidOperationError(
                    f"this {type(entity_or_id).__qualname__} is not tracked by the session: "
                    "use the document's id, or store or load the entity first"
                )
            self._id = state.id
        if not self._id or self._id[-1] in "/|":
            raise InvalidOperationError(f"counters belong to a document, not {shown_id(self._id)}")
        self._session = session
        self._counters: SessionCounters = session._counters

    # -- writes, sent by save_changes --------------------------------------------------------

    def increment(self, name: str, delta: int = 1) -> None:
        """Add ``delta`` to counter ``name`` (a new counter starts at 0) at the next save."""
        self._writable(name)
        self._counters.queue(self._id, CounterOperation("Increment", name, delta))

    def delete(self, name: str) -> None:
        """Delete counter ``name`` at the next save (none of that name: nothing happens)."""
        self._writable(name)
        self._counters.queue(self._id, CounterOperation("Delete", name))

    def _writable(self, name: str) -> None:
        session = self._session
        session._check_open()
        session._check_tracking("counters_for().increment/delete")
        validate_counter_name(name)
        state = session._map.by_id(self._id)
        if state is not None and state.deleted:
            raise InvalidOperationError(
                f"cannot change counter {shown(name, limit=MAX_COUNTER_NAME)} of "
                f"{shown_id(self._id)}: the document is deleted in this session"
            )

    # -- reads -------------------------------------------------------------------------------

    def _metadata_names(self) -> list[str] | None:
        """The names in the ``@counters`` of the document as the session holds it (None: it
        does not hold it)."""
        state = self._session._map.by_id(self._id)
        if state is None or state.deleted or state.snapshot is None:
            return None
        names = state.metadata.get("@counters")
        return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []

    def get(self, name: str) -> int | None:
        """Counter ``name``'s value (None: it does not exist)."""
        return self.get_many([name]).get(name)

    def get_many(self, names: Iterable[str]) -> dict[str, int | None]:
        """The values of ``names`` (None where one does not exist), by the names asked; one
        request at most, none when the session knows them all."""
        asked, missing = self._plan_many(names)
        found = self._session._storage.get_counters(self._id, missing) if missing else None
        return self._finish_many(asked, missing, found)

    def _plan_many(self, names: Iterable[str]) -> tuple[list[str], list[str]]:
        """``get_many`` before its request: the names asked and those to read (if any, the
        request is counted)."""
        asked = [validate_counter_name(n) for n in check_list(names, "names")]
        self._session._check_open()
        cached = self._counters.cached(self._id)
        held = self._metadata_names()
        held_keys = None if held is None else {n.lower() for n in held}
        missing = [
            n
            for n in asked
            if not (cached is not None and (n.lower() in cached.values or cached.got_all))
            and not (held_keys is not None and n.lower() not in held_keys)
        ]
        if missing:
            self._session._request()
        return asked, missing

    def _finish_many(
        self, asked: list[str], missing: list[str], found: dict[str, int] | None
    ) -> dict[str, int | None]:
        """``get_many`` after its request (``found``: what it read, None if it sent none)."""
        cached = self._counters.cached(self._id)
        if found is not None:
            self._remember(found, missing)
            cached = self._counters.cached(self._id)
            if cached is None:  # a no-tracking session keeps no cache
                cached = _Cached({n.lower(): (n, v) for n, v in found.items()})
        out: dict[str, int | None] = {}
        for name in asked:
            entry = None if cached is None else cached.values.get(name.lower())
            out[name] = None if entry is None else entry[1]
        return out

    def get_all(self) -> dict[str, int]:
        """Every counter of the document, by name; one request at most."""
        known = self._plan_all()
        if known is not None:
            return known
        return self._finish_all(self._session._storage.get_counters(self._id))

    def _plan_all(self) -> dict[str, int] | None:
        """``get_all`` without a request: the answer where the session knows it, else None
        (the request counted)."""
        self._session._check_open()
        cached = self._counters.cached(self._id)
        held = self._metadata_names()
        if held == [] and (cached is None or not cached.got_all):
            return {}  # the session holds the document: it has no counters
        if cached is not None and (
            cached.got_all or (held is not None and all(n.lower() in cached.values for n in held))
        ):
            return {n: v for n, v in cached.values.values() if v is not None}
        self._session._request()
        return None

    def _finish_all(self, found: dict[str, int]) -> dict[str, int]:
        self._remember(found, None)
        return dict(found)

    def _remember(self, found: dict[str, int], names: list[str] | None) -> None:
        if not self._session._no_tracking:
            self._counters.remember(self._id, found, names)
