"""A storage middleware that records every call: tests assert the exact work a session does.

``RecordingBackend`` wraps any backend (``rookdb.storage.middleware``) and is handed to a store
with ``backend=``; it records nothing until asked::

    store = DocumentStore(backend=RecordingBackend(open_backend(url)))
    ...
    calls = record_requests(store)
    with store.open_session() as session:
        ...
        session.save_changes()
    assert [c.method for c in calls] == ["apply"]

The stores of the shipped suite's fixtures are made this way (``rookdb.testing.suite``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from rookdb.errors import ConfigurationError
from rookdb.query import Query
from rookdb.storage.base import Storage
from rookdb.storage.commands import Command, PutCommand
from rookdb.storage.middleware import MiddlewareBackend, MiddlewareStorage
from rookdb.storage.records import (
    BatchResult,
    ConditionalGetResult,
    DocumentRecord,
    GetResult,
    QueryResult,
    Read,
    ReadResult,
)
from rookdb.storage.streams import QueryStream
from rookdb.store import DocumentStore

__all__ = ["Call", "RecordingBackend", "RecordingStorage", "record_requests"]


@dataclasses.dataclass(frozen=True)
class Call:
    method: str
    args: tuple[Any, ...]


class RecordingStorage(MiddlewareStorage):
    """Hands every call to ``inner`` and, while ``calls`` is a list, appends a ``Call`` to it."""

    bridged = True  # it only appends to a list

    def __init__(self, inner: Storage) -> None:
        super().__init__(inner)
        self.calls: list[Call] | None = None

    def _record(self, method: str, *args: Any) -> None:
        if self.calls is not None:
            self.calls.append(Call(method, args))

    def get(self, ids: Sequence[str], includes: Sequence[str] = ()) -> GetResult:
        self._record("get", list(ids), list(includes))
        return self.inner.get(ids, includes)

    def get_prefix(
        self,
        prefix: str,
        start: int = 0,
        page_size: int = 25,
        matches: str = "",
        exclude: str = "",
        start_after: str = "",
    ) -> list[DocumentRecord]:
        self._record("get_prefix", prefix, start, page_size, matches, exclude, start_after)
        return self.inner.get_prefix(prefix, start, page_size, matches, exclude, start_after)

    def read_many(self, reads: Sequence[Read]) -> list[ReadResult]:
        self._record("read_many", list(reads))
        return self.inner.read_many(reads)

    def apply(self, batch: Iterable[Command]) -> BatchResult:
        if self.calls is None:  # not recording: the batch goes on as the session made it
            return self.inner.apply(batch)
        commands = list(batch)
        self._record("apply", commands)
        return self.inner.apply(commands)

    def query(self, query: Query) -> QueryResult:
        self._record("query", query)
        return self.inner.query(query)

    def reserve_ids(self, prefix: str, capacity: int, last_max: int = 0) -> tuple[int, int]:
        self._record("reserve_ids", prefix, capacity)
        return self.inner.reserve_ids(prefix, capacity, last_max)

    def return_ids(self, prefix: str, last_used: int, high: int) -> None:
        self._record("return_ids", prefix, last_used, high)
        self.inner.return_ids(prefix, last_used, high)

    def next_identity(self, name: str) -> int:
        self._record("next_identity", name)
        return self.inner.next_identity(name)

    def seed_identity(self, name: str, value: int, force_update: bool = False) -> int:
        self._record("seed_identity", name, value, force_update)
        return self.inner.seed_identity(name, value, force_update)

    def get_identities(self) -> dict[str, int]:
        self._record("get_identities")
        return self.inner.get_identities()

    def get_client_configuration(self) -> tuple[int, dict[str, Any] | None]:
        self._record("get_client_configuration")
        return self.inner.get_client_configuration()

    def put_client_configuration(self, configuration: dict[str, Any]) -> int:
        self._record("put_client_configuration", configuration)
        return self.inner.put_client_configuration(configuration)

    def bulk_write(self, puts: Sequence[PutCommand]) -> None:
        self._record("bulk_write", puts)
        self.inner.bulk_write(puts)

    def stream(self, collection: str | None = None) -> Iterator[DocumentRecord]:
        self._record("stream", collection)
        return self.inner.stream(collection)

    # -- streaming (session.advanced.stream, stream_starting_with) ---------------------------

    def stream_query(self, query: Query) -> QueryStream:
        self._record("stream_query", query)
        return self.inner.stream_query(query)

    def stream_prefix(
        self, prefix: str, start_after: str | None = None
    ) -> Iterator[DocumentRecord]:
        self._record("stream_prefix", prefix, start_after)
        return self.inner.stream_prefix(prefix, start_after)

    def conditional_get(self, document_id: str, change_vector: str) -> ConditionalGetResult:
        self._record("conditional_get", document_id, change_vector)
        return self.inner.conditional_get(document_id, change_vector)

    def get_counters(self, document_id: str, names: Sequence[str] | None = None) -> dict[str, int]:
        self._record("get_counters", document_id, None if names is None else list(names))
        return self.inner.get_counters(document_id, names)


class RecordingBackend(MiddlewareBackend):
    """Wraps ``inner``; ``record(database)`` starts recording the calls made on a database."""

    def wrap_storage(self, storage: Storage) -> RecordingStorage:
        return RecordingStorage(storage)

    def record(self, database: str) -> list[Call]:
        """A new list that every later call on ``database`` is appended to."""
        storage = self.database(database)
        assert isinstance(storage, RecordingStorage)
        calls: list[Call] = []
        storage.calls = calls
        return calls


def record_requests(store: DocumentStore, database: str | None = None) -> list[Call]:
    """Record every storage call made from now on on ``database`` (the store's default) of
    ``store``, which was made with ``backend=RecordingBackend(...)``, as the suite's fixtures
    make theirs."""
    backend = store.backend
    if not isinstance(backend, RecordingBackend):
        raise ConfigurationError(
            "record_requests needs a store made with backend=RecordingBackend(...), "
            f"not one on {type(backend).__name__}"
        )
    name = database or store.database
    # What the store reads when it first opens a database (its client configuration) is
    # not the work of the session under test.
    store._client_settings(name)
    return backend.record(name)
