"""Middleware: a ``Backend`` that wraps another and hands every call on (TinyDB's habit).

Subclass ``MiddlewareBackend`` and ``MiddlewareStorage`` and override what the middleware is
about; everything else reaches the wrapped backend unchanged, capabilities included. Hand the
result to a store with ``DocumentStore(backend=MyBackend(open_backend(url)))``, or register a
URL scheme for it (``register_backend``). ``rookdb.testing.recording`` is one such middleware.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from rookdb.indexes.definitions import IndexDefinition, IndexLockMode, IndexPriority
from rookdb.query import Query
from rookdb.storage.base import Backend, Storage
from rookdb.storage.commands import Command, PutCommand
from rookdb.storage.records import (
    AttachmentDetails,
    BatchResult,
    ConditionalGetResult,
    DocumentRecord,
    GetResult,
    QueryResult,
    Read,
    ReadResult,
    RevisionsPage,
)
from rookdb.storage.statistics import DatabaseStatistics, IndexErrors, IndexStatistics
from rookdb.storage.streams import QueryStream

if TYPE_CHECKING:
    from rookdb.facet_compute import FacetAnswer
    from rookdb.facet_rql import FacetSpec

__all__ = ["MiddlewareBackend", "MiddlewareStorage"]


class MiddlewareStorage(Storage):
    """Hands every call to ``inner``, the wrapped database."""

    #: Set True in a middleware whose overrides do no blocking I/O of their own and hold no
    #: lock across the call to ``inner``: the async session may then run its hot calls on the
    #: event loop when ``inner`` can (``Storage.async_native``, ``rookdb.storage.bridge``).
    bridged = False

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.capabilities = inner.capabilities
        self.async_native = self.bridged and inner.async_native
        self.async_native_faster = inner.async_native_faster

    def get(self, ids: Sequence[str], includes: Sequence[str] = ()) -> GetResult:
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
        return self.inner.get_prefix(prefix, start, page_size, matches, exclude, start_after)

    def read_many(self, reads: Sequence[Read]) -> list[ReadResult]:
        return self.inner.read_many(reads)

    def apply(self, batch: Iterable[Command]) -> BatchResult:
        return self.inner.apply(batch)

    def query(self, query: Query) -> QueryResult:
        return self.inner.query(query)

    def facets(self, query: Query, facets: Sequence[FacetSpec]) -> FacetAnswer:
        return self.inner.facets(query, facets)

    def reserve_ids(self, prefix: str, capacity: int, last_max: int = 0) -> tuple[int, int]:
        return self.inner.reserve_ids(prefix, capacity, last_max)

    def return_ids(self, prefix: str, last_used: int, high: int) -> None:
        self.inner.return_ids(prefix, last_used, high)

    def next_identity(self, name: str) -> int:
        return self.inner.next_identity(name)

    def seed_identity(self, name: str, value: int, force_update: bool = False) -> int:
        return self.inner.seed_identity(name, value, force_update)

    def get_identities(self) -> dict[str, int]:
        return self.inner.get_identities()

    def get_client_configuration(self) -> tuple[int, dict[str, Any] | None]:
        return self.inner.get_client_configuration()

    def put_client_configuration(self, configuration: dict[str, Any]) -> int:
        return self.inner.put_client_configuration(configuration)

    def bulk_write(self, puts: Sequence[PutCommand]) -> None:
        self.inner.bulk_write(puts)

    def configure_revisions(self, configuration: dict[str, Any]) -> int:
        return self.inner.configure_revisions(configuration)

    def get_revisions(self, document_id: str, start: int = 0, page_size: int = 25) -> RevisionsPage:
        return self.inner.get_revisions(document_id, start, page_size)

    def get_revisions_by_change_vector(
        self, change_vectors: Sequence[str]
    ) -> dict[str, DocumentRecord]:
        return self.inner.get_revisions_by_change_vector(change_vectors)

    def get_counters(self, document_id: str, names: Sequence[str] | None = None) -> dict[str, int]:
        return self.inner.get_counters(document_id, names)

    def get_attachment(self, document_id: str, name: str) -> AttachmentDetails | None:
        return self.inner.get_attachment(document_id, name)

    def get_attachments(self, document_id: str) -> list[AttachmentDetails]:
        return self.inner.get_attachments(document_id)

    def read_attachment(
        self, document_id: str, name: str
    ) -> tuple[AttachmentDetails, Iterator[bytes]] | None:
        return self.inner.read_attachment(document_id, name)

    def put_indexes(self, definitions: Sequence[IndexDefinition]) -> list[str]:
        return self.inner.put_indexes(definitions)

    def store_indexes(self, definitions: Sequence[IndexDefinition]) -> list[str]:
        return self.inner.store_indexes(definitions)

    def index_has_changed(self, definition: IndexDefinition) -> bool:
        return self.inner.index_has_changed(definition)

    def set_indexing_running(self, running: bool, name: str | None = None) -> None:
        self.inner.set_indexing_running(running, name)

    def index_terms(
        self, name: str, field: str, from_value: str | None = None, page_size: int = 1024
    ) -> list[str]:
        return self.inner.index_terms(name, field, from_value, page_size)

    def set_index_enabled(self, name: str, enabled: bool) -> None:
        self.inner.set_index_enabled(name, enabled)

    def indexing_status(self) -> dict[str, Any]:
        return self.inner.indexing_status()

    def set_index_options(
        self,
        names: Sequence[str],
        lock_mode: IndexLockMode | None = None,
        priority: IndexPriority | None = None,
    ) -> None:
        self.inner.set_index_options(names, lock_mode, priority)

    def build_indexes(self, stopped: Callable[[], bool] | None = None) -> int:
        return self.inner.build_indexes(stopped)

    def get_index(self, name: str) -> IndexDefinition | None:
        return self.inner.get_index(name)

    def get_indexes(self, start: int = 0, page_size: int = 25) -> list[IndexDefinition]:
        return self.inner.get_indexes(start, page_size)

    def get_index_names(self, start: int = 0, page_size: int = 25) -> list[str]:
        return self.inner.get_index_names(start, page_size)

    def delete_index(self, name: str) -> None:
        self.inner.delete_index(name)

    def reset_index(self, name: str) -> None:
        self.inner.reset_index(name)

    def index_statistics(self, name: str | None = None) -> list[IndexStatistics]:
        return self.inner.index_statistics(name)

    def index_errors(self, names: Sequence[str] | None = None) -> list[IndexErrors]:
        return self.inner.index_errors(names)

    def delete_index_errors(self, names: Sequence[str] | None = None) -> None:
        self.inner.delete_index_errors(names)

    def get_revision_before(self, document_id: str, before: dt.datetime) -> DocumentRecord | None:
        return self.inner.get_revision_before(document_id, before)

    def get_revisions_configuration(self) -> dict[str, Any] | None:
        return self.inner.get_revisions_configuration()

    def import_revisions(self, revisions: Sequence[DocumentRecord]) -> int:
        return self.inner.import_revisions(revisions)

    def get_revisions_bin(self, start: int = 0, page_size: int = 25) -> list[DocumentRecord]:
        return self.inner.get_revisions_bin(start, page_size)

    def stream(self, collection: str | None = None) -> Iterator[DocumentRecord]:
        return self.inner.stream(collection)

    def stream_query(self, query: Query) -> QueryStream:
        return self.inner.stream_query(query)

    def stream_prefix(
        self, prefix: str, start_after: str | None = None
    ) -> Iterator[DocumentRecord]:
        return self.inner.stream_prefix(prefix, start_after)

    def conditional_get(self, document_id: str, change_vector: str) -> ConditionalGetResult:
        return self.inner.conditional_get(document_id, change_vector)

    def close(self) -> None:
        self.inner.close()


class MiddlewareBackend(Backend):
    """Hands every call to ``inner``, and wraps each of its databases once (by case-insensitive
    name) in ``wrap_storage``: one wrapper per database, as the store keeps one storage."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.capabilities = inner.capabilities
        # Shared stays the wrapped backend's question: a shared one is closed by its owner.
        self.shared = inner.shared
        self._lock = threading.Lock()
        self._wrapped: dict[str, MiddlewareStorage] = {}

    def wrap_storage(self, storage: Storage) -> MiddlewareStorage:
        """The wrapper of one database; override to wrap in a subclass of your own."""
        return MiddlewareStorage(storage)

    def database(self, name: str) -> MiddlewareStorage:
        key = name.lower()
        with self._lock:
            wrapped = self._wrapped.get(key)
            if wrapped is None:
                wrapped = self._wrapped[key] = self.wrap_storage(self.inner.database(name))
            return wrapped

    def create_database(self, name: str) -> None:
        self.inner.create_database(name)

    def delete_database(self, name: str) -> None:
        with self._lock:
            self._wrapped.pop(name.lower(), None)  # the next use opens the database anew
        self.inner.delete_database(name)

    def list_databases(self) -> list[str]:
        return self.inner.list_databases()

    def statistics(self, name: str) -> DatabaseStatistics:
        return self.inner.statistics(name)

    def get_server_client_configuration(self) -> tuple[int, dict[str, Any] | None]:
        return self.inner.get_server_client_configuration()

    def put_server_client_configuration(self, configuration: dict[str, Any]) -> int:
        return self.inner.put_server_client_configuration(configuration)

    def close(self) -> None:
        self.inner.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"
