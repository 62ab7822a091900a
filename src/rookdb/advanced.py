"""``session.advanced``: the rest of the session API, as in the RavenDB client.

``Advanced`` holds the session's identity map (which keeps its own invariants, so it may be
shared) for the questions it answers about tracked entities, and otherwise calls the session's
internal interface, a handful of documented methods (see "the interface of session.advanced"
in ``rookdb.session``, and the reads of ``rookdb.session_loading``): it never touches the
session's fields.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from rookdb.arguments import (
    check_callback,
    check_change_vector,
    check_class,
    check_flag,
    check_truthy,
)
from rookdb.attachments import SessionAttachments
from rookdb.conventions import check_request_budget
from rookdb.errors import ConfigurationError, DocumentNotFoundError, InvalidOperationError, shown
from rookdb.events import (
    AfterSaveChangesEventArgs,
    BeforeDeleteEventArgs,
    BeforeQueryEventArgs,
    BeforeStoreEventArgs,
)
from rookdb.ids import shown_id, validate_id
from rookdb.lazy import EagerSessionOperations, LazySessionOperations
from rookdb.options import OptimisticConcurrencyMode
from rookdb.query import DocumentQuery, Query, QueryExecution, check_count
from rookdb.raw_query import RawDocumentQuery
from rookdb.revisions import SessionRevisions
from rookdb.serialization.encoding import INT64_MAX
from rookdb.session_patches import SessionPatches
from rookdb.storage.starting_with import check_pattern
from rookdb.storage.streams import check_streamable
from rookdb.streaming import (
    StreamIterator,
    StreamQueryStatistics,
    starting_with,
    stream_result,
)
from rookdb.tracking.diff import DocumentsChanges
from rookdb.tracking.identity_map import IdentityMap
from rookdb.tracking.state import DocumentState, MetadataDictionary
from rookdb.tracking.unit_of_work import describe

if TYPE_CHECKING:
    from rookdb.session import DocumentSession

__all__ = ["Advanced", "ConditionalLoadResult"]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class ConditionalLoadResult(Generic[T]):
    """What ``conditional_load`` returns, as RavenDB's client does: ``entity`` is None when the
    document is unchanged (``change_vector`` is then the one given) or missing (both None).
    It unpacks too: ``entity, change_vector = session.advanced.conditional_load(...)``."""

    entity: T | None
    change_vector: str | None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.entity, self.change_vector))


class Advanced(SessionPatches):
    """``session.advanced``: the rest of the session API, as in the RavenDB client (its patch
    methods: ``rookdb.session_patches``)."""

    def __init__(self, session: DocumentSession, identity_map: IdentityMap) -> None:
        self._session = session
        self._map = identity_map

    @property
    def attachments(self) -> SessionAttachments:
        """A document's attachments (``rookdb.attachments``): writes go with the next save."""
        return SessionAttachments(self._session)

    @property
    def revisions(self) -> SessionRevisions:
        """A document's revisions (``rookdb.revisions``), read without tracking."""
        return SessionRevisions(self._session)

    @property
    def has_changes(self) -> bool:
        """True when ``save_changes()`` would write anything (a property, as RavenDB's docs
        show it; code for the RavenDB 7.2 client that calls ``has_changes()`` should call
        ``session.has_changes()``)."""
        return self._session.has_changes()

    def has_changed(self, entity: object) -> bool:
        """True when ``save_changes()`` would write or delete ``entity`` (S13)."""
        self._session._check_open()
        state = self._map.by_entity(entity)
        if state is None:
            return False
        return bool(self._session._compute([state], ()))

    def what_changed(self, as_patch: bool = False) -> dict[str, Any]:
        """What ``save_changes()`` would write, per document id: a list of
        ``DocumentsChanges`` (S11, S12), or with ``as_patch=True`` an RFC 6902 JSON Patch."""
        self._session._check_open()
        return describe(self._session._compute(), check_flag(as_patch, "as_patch"))

    def what_changed_for(self, entity: object) -> list[DocumentsChanges]:
        """The changes of one entity (empty when untracked, ignored or unchanged)."""
        self._session._check_open()
        state = self._map.by_entity(entity)
        if state is None:
            return []
        changes: list[DocumentsChanges] = []
        for entries in describe(self._session._compute([state], ())).values():
            changes.extend(entries)
        return changes

    def ignore_changes_for(self, entity: object) -> None:
        self._session.ignore_changes_for(entity)

    def evict(self, entity: object) -> None:
        """Forget ``entity``: unsaved changes and a pending delete of it are dropped (S17)."""
        self._session._check_open()
        state = self._map.by_entity(entity)
        if state is not None:
            self._map.forget(state)
            self._session._counters.forget(state.key)

    def clear(self) -> None:
        """Forget every entity, pending delete and known-missing id."""
        self._session._check_open()
        self._session._forget_all()

    def refresh(self, entity: T) -> T:
        """Reload ``entity`` in place from storage (one request), dropping local edits."""
        state = self._refreshing(entity)
        self._refreshed(state, self._session._reload(state))
        return entity

    def _refreshing(self, entity: object) -> DocumentState:
        """``refresh`` before its request: the entity's state, its cached counters dropped."""
        self._session._check_open()
        state = self._map.by_entity(entity)
        if state is None:
            raise InvalidOperationError("cannot refresh an entity the session does not track")
        self._session._counters.forget(state.key)  # read again when asked
        return state

    @staticmethod
    def _refreshed(state: DocumentState, found: bool) -> None:
        if not found:
            raise DocumentNotFoundError(
                f"document {shown_id(state.id)} no longer exists in storage"
            )

    def _state(self, entity: object) -> DocumentState:
        self._session._check_open()
        state = self._map.by_entity(entity)
        if state is None:
            raise InvalidOperationError(
                f"this {type(entity).__qualname__} is not tracked by the session"
            )
        return state

    def get_metadata_for(self, entity: object) -> MetadataDictionary:
        """The live ``@metadata`` of a tracked entity; edits to it are saved."""
        return MetadataDictionary(self._state(entity))

    def get_change_vector_for(self, entity: object) -> str | None:
        return self._state(entity).change_vector

    def get_last_modified_for(self, entity: object) -> str | None:
        return self._state(entity).last_modified

    def get_document_id(self, entity: object) -> str | None:
        state = self._map.by_entity(entity)
        return state.id if state is not None else None

    def is_loaded(self, document_id: str) -> bool:
        """True when ``load(document_id)`` would return an entity without a request."""
        state = self._map.by_id(validate_id(document_id))
        return state is not None and not state.deleted

    def exists(self, document_id: str) -> bool:
        """Whether the document exists; a request unless the session already knows."""
        known = self._known_exists(document_id)
        if known is not None:
            return known
        return document_id.lower() in self._session._fetch([document_id]).documents

    def _known_exists(self, document_id: str) -> bool | None:
        """``exists`` without a request: the answer where the session knows it, else None."""
        self._session._check_open()
        key = validate_id(document_id).lower()
        known, entity = self._map.known(key)
        return (entity is not None) if known else None

    def get_tracked_entities(self) -> dict[str, Any]:
        """Tracked entities (not deleted) by document id."""
        return {state.id: state.entity for state in self._map.states() if not state.deleted}

    @property
    def number_of_requests(self) -> int:
        return self._session.number_of_requests

    @property
    def max_number_of_requests_per_session(self) -> int:
        return self._session.max_number_of_requests_per_session

    @max_number_of_requests_per_session.setter
    def max_number_of_requests_per_session(self, value: int) -> None:
        self._session.max_number_of_requests_per_session = check_request_budget(value)

    @property
    def use_optimistic_concurrency(self) -> bool:
        return self._session._concurrency_mode is not OptimisticConcurrencyMode.NONE

    @use_optimistic_concurrency.setter
    def use_optimistic_concurrency(self, value: bool) -> None:
        session = self._session
        mode = session._concurrency_mode
        if not check_truthy(value, "use_optimistic_concurrency"):
            mode = OptimisticConcurrencyMode.NONE
        elif mode is OptimisticConcurrencyMode.NONE:
            mode = OptimisticConcurrencyMode.WRITES
        session._set_concurrency_mode(mode)  # refused for a no-tracking session

    @property
    def optimistic_concurrency_mode(self) -> OptimisticConcurrencyMode:
        return self._session._concurrency_mode

    @optimistic_concurrency_mode.setter
    def optimistic_concurrency_mode(self, mode: OptimisticConcurrencyMode) -> None:
        self._session._set_concurrency_mode(mode)

    def raw_query(self, query: str, object_type: type[T] | None = None) -> RawDocumentQuery[T]:
        """An RQL query (``from Employees where first_name = $name``); see ``rookdb.rql``."""
        self._session._check_open()
        return RawDocumentQuery(self._session, object_type, query)

    def document_query(
        self,
        object_type: type[T] | None = None,
        collection_name: str | None = None,
        index_name: str | None = None,
    ) -> DocumentQuery[T]:
        return self._session.query(object_type, collection_name, index_name)

    def conditional_load(
        self, document_id: str, change_vector: str | None, object_type: type[T] | None = None
    ) -> ConditionalLoadResult[T]:
        """The document unless it still has ``change_vector`` (RavenDB's semantics): a session
        that already holds the id answers from memory (its entity and change vector, or None
        for a deleted or missing one), without a request; otherwise one request, where an
        unchanged document does not travel (HTTP: ``If-None-Match``, a 304)."""
        known = self._conditional_known(document_id, change_vector, object_type)
        if known is not None:
            return known
        assert change_vector is not None
        found, vector = self._session._conditional_load(document_id, change_vector, object_type)
        return ConditionalLoadResult(found, vector)

    def _conditional_known(
        self, document_id: str, change_vector: str | None, object_type: type[Any] | None
    ) -> ConditionalLoadResult[Any] | None:
        """``conditional_load`` without a request: the answer of a session that holds the id,
        else None (the arguments checked)."""
        self._session._check_open()
        key = validate_id(document_id).lower()
        check_change_vector(change_vector)
        check_class(object_type)
        known, entity = self._map.known(key)
        if known:
            if entity is None:
                return ConditionalLoadResult(None, None)
            return ConditionalLoadResult(entity, self.get_change_vector_for(entity))
        if not isinstance(change_vector, str) or not change_vector.strip():
            raise ConfigurationError(
                f"conditional_load of {shown_id(document_id)}, which the session does not hold, "
                "needs the change vector of the copy to compare with, not "
                f"{shown(change_vector)}"
            )
        return None

    def load_starting_with(
        self,
        id_prefix: str,
        object_type: type[T] | None = None,
        matches: str | None = None,
        start: int = 0,
        page_size: int = 25,
        exclude: str | None = None,
        start_after: str | None = None,
    ) -> list[T]:
        """``session.load_starting_with`` (documents whose id starts with ``id_prefix``)."""
        return self._session.load_starting_with(
            id_prefix, object_type, matches, start, page_size, exclude, start_after
        )

    @property
    def lazily(self) -> LazySessionOperations:
        """Loads that wait, and run together with the other lazy operations (``rookdb.lazy``)."""
        return LazySessionOperations(self._session)

    @property
    def eagerly(self) -> EagerSessionOperations:
        """``execute_all_pending_lazy_operations()``: run the pending lazy operations now."""
        return EagerSessionOperations(self._session)

    # -- streaming (rookdb.streaming) ---------------------------------------------------------

    def stream(self, query: QueryExecution[T]) -> StreamIterator[T]:
        """The results of ``query`` (a ``session.query(...)`` or ``raw_query(...)``) as
        storage produces them: a ``StreamResult`` per document, its entity not tracked; one
        request. Read it to its end or close it (``with``): it holds a connection until then.
        A projection (``select_fields``, ``select`` in RQL) streams each result as the query
        returns it; ``distinct`` and ``include`` cannot be streamed (``QueryError``)."""
        return self.stream_with_statistics(query, None)

    def stream_with_statistics(
        self,
        query: QueryExecution[T],
        stats_callback: Callable[[StreamQueryStatistics], None] | None,
    ) -> StreamIterator[T]:
        """``stream(query)``, calling ``stats_callback`` with the query's
        ``StreamQueryStatistics`` before the first result is read."""
        ast = self._streamable(query, stats_callback)
        object_type = query._object_type  # what the query builds its results as
        session = self._session
        stream = session._streaming().stream_query(ast)
        if stats_callback is not None:
            try:
                stats_callback(StreamQueryStatistics.of(stream.statistics))
            except BaseException:
                stream.close()
                raise
        return StreamIterator(stream, lambda record: stream_result(session, record, object_type))

    @staticmethod
    def _streamable(query: object, stats_callback: object = None) -> Query:
        """``query``'s AST, checked for ``stream`` (no request), and the callback."""
        check_callback(stats_callback, "stats_callback")
        if not isinstance(query, QueryExecution):
            raise InvalidOperationError(
                f"stream() takes a query (session.query(...), raw_query(...)), "
                f"not a {type(query).__qualname__}"
            )
        return check_streamable(query.to_query())

    def stream_starting_with(
        self,
        starts_with: str,
        matches: str | None = None,
        start: int = 0,
        page_size: int = INT64_MAX,
        start_after: str | None = None,
        object_type: type[T] | None = None,
        exclude: str | None = None,
    ) -> StreamIterator[T]:
        """Documents whose id starts with ``starts_with`` (case-insensitive), in id order, as
        storage produces them; their remainder after the prefix ``matches`` (and not
        ``exclude``), RavenDB's patterns (``rookdb.streaming``); after ``start_after``;
        ``start`` skipped, at most ``page_size``. Entities not tracked; one request."""
        self._check_stream_prefix(
            starts_with, matches, start, page_size, start_after, object_type, exclude
        )
        session = self._session
        records = starting_with(
            session._streaming().stream_prefix(starts_with, start_after),
            starts_with,
            matches,
            exclude,
            start,
            page_size,
        )
        return StreamIterator(records, lambda record: stream_result(session, record, object_type))

    @staticmethod
    def _check_stream_prefix(
        starts_with: object,
        matches: object = None,
        start: int = 0,
        page_size: int = INT64_MAX,
        start_after: object = None,
        object_type: object = None,
        exclude: object = None,
    ) -> None:
        """``stream_starting_with``'s arguments, checked (no request), in its order (the
        async session passes them as it was given them)."""
        if type(starts_with) is not str:
            raise InvalidOperationError("stream_starting_with takes a prefix string")
        if starts_with:
            validate_id(starts_with)
        if start_after is not None:
            validate_id(start_after)
        for name, value in (("matches", matches), ("exclude", exclude)):
            if value is not None and type(value) is not str:
                raise InvalidOperationError(f"{name} takes a pattern string")
            check_pattern(value or "", name)
        check_count(start, "start")
        check_count(page_size, "page_size")
        check_class(object_type)

    # Session events, on the session only.
    def add_before_store(self, handler: Callable[[BeforeStoreEventArgs], None]) -> None:
        self._session.add_before_store(handler)

    def add_after_save_changes(self, handler: Callable[[AfterSaveChangesEventArgs], None]) -> None:
        self._session.add_after_save_changes(handler)

    def add_before_delete(self, handler: Callable[[BeforeDeleteEventArgs], None]) -> None:
        self._session.add_before_delete(handler)

    def add_before_query(self, handler: Callable[[BeforeQueryEventArgs], None]) -> None:
        self._session.add_before_query(handler)
