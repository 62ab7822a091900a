"""A storage middleware that records every call: tests assert the exact work a session does.

It wraps any ``Storage`` with the same interface (TinyDB's middleware habit)::

    calls = record_requests(store)
    with store.open_session() as session:
        ...
        session.save_changes()
    assert [c.method for c in calls] == ["apply"]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from rookdb.query import Query
from rookdb.storage.base import Storage
from rookdb.storage.records import BatchResult, Command, DocumentRecord, GetResult, QueryResult
from rookdb.store import DocumentStore

__all__ = ["Call", "RecordingStorage", "record_requests"]


@dataclasses.dataclass(frozen=True)
class Call:
    method: str
    args: tuple[Any, ...]


class RecordingStorage(Storage):
    """Delegates to ``inner`` and appends a ``Call`` to ``calls`` for each method called."""

    def __init__(self, inner: Storage, calls: list[Call]) -> None:
        self.inner = inner
        self.calls = calls
        self.capabilities = inner.capabilities

    def get(self, ids: Sequence[str], includes: Sequence[str] = ()) -> GetResult:
        self.calls.append(Call("get", (list(ids), list(includes))))
        return self.inner.get(ids, includes)

    def get_prefix(self, prefix: str, start: int = 0, page_size: int = 25) -> list[DocumentRecord]:
        self.calls.append(Call("get_prefix", (prefix, start, page_size)))
        return self.inner.get_prefix(prefix, start, page_size)

    def apply(self, batch: Iterable[Command]) -> BatchResult:
        commands = list(batch)
        self.calls.append(Call("apply", (commands,)))
        return self.inner.apply(commands)

    def query(self, query: Query) -> QueryResult:
        self.calls.append(Call("query", (query,)))
        return self.inner.query(query)

    def reserve_ids(self, prefix: str, capacity: int) -> tuple[int, int]:
        self.calls.append(Call("reserve_ids", (prefix, capacity)))
        return self.inner.reserve_ids(prefix, capacity)

    def return_ids(self, prefix: str, last_used: int, high: int) -> None:
        self.calls.append(Call("return_ids", (prefix, last_used, high)))
        self.inner.return_ids(prefix, last_used, high)

    def stream(self, collection: str | None = None) -> Iterator[DocumentRecord]:
        self.calls.append(Call("stream", (collection,)))
        return self.inner.stream(collection)

    def close(self) -> None:
        self.inner.close()


def record_requests(store: DocumentStore, database: str | None = None) -> list[Call]:
    """Record every storage call of sessions opened on ``store`` from now on."""
    name = database or store.database
    calls: list[Call] = []
    inner = store._storage(name)
    with store._lock:
        store._storages[name.lower()] = RecordingStorage(inner, calls)
        store._generators.pop(name.lower(), None)
    return calls
