"""The session's queries: ``query``, ``query_index``, and building their results.

``SessionQueries`` is a part of ``DocumentSession`` (it inherits it), kept in a module of its
own: a query is built lazily by ``rookdb.query.DocumentQuery``, which calls back
``_execute_query`` (one request of the session's budget) and the result is turned into
entities here, the session's own where it tracks them (SPEC S2: local edits win, pending
deletes drop out), projections never tracked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, cast

from rookdb.errors import InvalidArgumentError, InvalidOperationError, shown
from rookdb.events import BeforeQueryEventArgs, SessionEvents
from rookdb.query import DocumentQuery, Query, QueryStatistics
from rookdb.serialization.exact_numbers import reading
from rookdb.storage.records import QueryResult, document_key

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from rookdb.counters import SessionCounters
    from rookdb.facet_compute import FacetAnswer
    from rookdb.facet_rql import FacetQuery
    from rookdb.lazy import Lazy
    from rookdb.serialization.entities import EntityCodec
    from rookdb.session import DocumentSession
    from rookdb.storage.base import Storage
    from rookdb.storage.records import DocumentRecord
    from rookdb.store import DocumentStore
    from rookdb.tracking.identity_map import IdentityMap

__all__ = ["SessionQueries"]

T = TypeVar("T")


class SessionQueries:
    """``DocumentSession``'s query methods (see the module's docstring)."""

    if TYPE_CHECKING:  # what they use of the session, which defines it all
        _store: DocumentStore
        _codec: EntityCodec
        _events: SessionEvents
        _storage: Storage
        _no_tracking: bool
        _counters: SessionCounters
        _map: IdentityMap

        def _check_open(self) -> None: ...
        def _check_tracking(self, what: str) -> None: ...
        def _request(self) -> None: ...
        def _materialize_many(
            self, records: Sequence[DocumentRecord], object_type: type[Any] | None, track: bool
        ) -> list[Any]: ...
        def _remember_includes(self, included: dict[str, DocumentRecord | None]) -> None: ...
        def _lazy_query(
            self,
            query: Query,
            object_type: type[Any] | None,
            tracking: bool,
            on_result: Callable[[list[Any], QueryStatistics], Any],
            on_eval: Callable[[Any], None] | None = None,
        ) -> Lazy[Any]: ...

    def query(
        self,
        object_type: type[T] | None = None,
        collection_name: str | None = None,
        index_name: str | None = None,
    ) -> DocumentQuery[T]:
        """A lazy query over the collection of ``object_type`` (or ``collection_name``), or
        over the user-defined index ``index_name`` (``query_index``)."""
        self._check_open()
        if index_name is not None:
            if collection_name is not None:
                raise InvalidOperationError("a query reads an index or a collection, not both")
            return self.query_index(index_name, object_type)
        if collection_name is None and object_type is not None and object_type is not dict:
            collection_name = self._store.type_info(object_type)[0]
        return DocumentQuery(self, object_type, collection_name)

    def query_index(self, index_name: str, object_type: type[T] | None = None) -> DocumentQuery[T]:
        """A lazy query of the user-defined index ``index_name`` (RavenDB's): its predicates
        and orders name the index's fields; a map index answers the documents it indexed
        (as ``object_type``), a map-reduce index its results (untracked)."""
        self._check_open()
        if not isinstance(index_name, str) or not index_name.strip():
            raise InvalidOperationError("query_index() takes the index's name")
        return DocumentQuery(self, object_type, None, index_name=index_name)

    def query_index_type(
        self, index_type: type[Any], object_type: type[T] | None = None
    ) -> DocumentQuery[T]:
        """``query_index`` of the index an index creation task class defines
        (``session.query_index_type(Orders_ByCompany, Order)``)."""
        from rookdb.indexes.creation_tasks import AbstractIndexCreationTaskBase

        if not (
            isinstance(index_type, type) and issubclass(index_type, AbstractIndexCreationTaskBase)
        ):
            raise InvalidArgumentError(
                f"index_type is an index creation task class, not {shown(index_type)}"
            )
        return self.query_index(index_type().index_name, object_type)

    def _query_value(self, value: Any) -> Any:
        # One encoder for fields and parameters, this store's hooks included (SPEC D2).
        return self._codec.json_value(value)

    def _before_query(self, query: Query) -> None:
        self._check_open()
        if query.includes:
            self._check_tracking("includes")
        handlers = self._events.before_query
        if handlers:  # (most sessions have none: no arguments made for nobody)
            SessionEvents.fire(handlers, BeforeQueryEventArgs(cast("DocumentSession", self), query))

    def _execute_query(
        self, query: Query, object_type: type[Any] | None, tracking: bool
    ) -> tuple[list[Any], QueryStatistics]:
        self._before_query(query)
        self._request()
        return self._query_results(
            self._storage.query(query), object_type, tracking, query.counters
        )

    def _execute_facets(self, facet_query: FacetQuery) -> FacetAnswer:
        """Facets of a query's results (``rookdb.facet_query``): one request."""
        self._before_query(facet_query.query)
        self._request()
        answer = self._storage.facets(facet_query.query, facet_query.facets)
        if answer.includes and not self._no_tracking:
            self._remember_includes(answer.includes)
        return answer

    def _query_results(
        self,
        result: QueryResult,
        object_type: type[Any] | None,
        tracking: bool,
        counters: tuple[str, ...] = (),
    ) -> tuple[list[Any], QueryStatistics]:
        """A query's entities (the session's own where it tracks them) and statistics; the
        counters it included (``counters``: their names) go to the session's cache."""
        if counters and not self._no_tracking:
            self._counters.included(result.counters, counters)
        if result.projections is not None:  # projections are never tracked
            cls = object_type if object_type is not dict else None
            build, projections = self._codec.build, result.projections
            # A Decimal field reads the digits storage noted (exact_numbers), as a load does.
            projected = reading(result.notes, lambda: [build(p, cls) for p in projections])
            if result.includes and not self._no_tracking:
                self._remember_includes(result.includes)
            return projected, result.statistics
        track = tracking and not self._no_tracking
        records = result.records
        tracked = self._map
        if (
            self._no_tracking
            or tracked.knows_nothing()
            or tracked.knows_none({document_key(record.id): None for record in records})
        ):  # the common case, a new session's query: one batch, no test per document
            entities = self._materialize_many(records, object_type, track)
        else:
            entities = self._merged(records, object_type, track)
        if result.includes and not self._no_tracking:
            self._remember_includes(result.includes)
        return entities, result.statistics

    def _merged(
        self, records: list[DocumentRecord], object_type: type[Any] | None, track: bool
    ) -> list[Any]:
        """The entities of a query's ``records`` in a tracking session that knows some of
        them: the session's own (local edits win), pending deletes dropped (S2), the rest
        built as one batch."""
        entities: list[Any] = []
        fresh: list[DocumentRecord] = []  # the session knows nothing of these: one batch
        at: list[int] = []
        for record in records:
            key = document_key(record.id)
            state = self._map.by_key(key)
            if state is not None:
                if not state.deleted:  # local edits win; pending deletes drop out (S2)
                    entities.append(state.entity)
                continue
            if self._map.is_deleted_by_id(key):
                continue
            at.append(len(entities))
            entities.append(None)
            fresh.append(record)
        for i, entity in zip(at, self._materialize_many(fresh, object_type, track), strict=True):
            entities[i] = entity
        return entities
