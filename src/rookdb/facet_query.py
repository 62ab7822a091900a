"""The aggregation query: ``query.aggregate_by(...)`` (RavenDB's ``AggregationDocumentQuery``).

``DocumentQuery.aggregate_by``, ``aggregate_by_facets`` and ``aggregate_using`` start one;
``and_aggregate_by`` adds facets; ``execute()`` runs the query's where clause and counts its
results by every facet in one request, a dict of facet name to ``FacetResult``.
``execute_lazy()`` waits for the first ``.value`` (or for the session's pending lazy
operations to run) and then runs as a request of its own: it is not folded into the one
request the other lazy operations share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from rookdb.arguments import check_list
from rookdb.errors import QueryError, shown
from rookdb.facet_rql import (
    FacetQuery,
    FacetSpec,
    parse_facet_query,
    print_facet_query,
)
from rookdb.facet_specs import facet_spec
from rookdb.facets import FacetBase, FacetBuilder, FacetOptions, FacetResult
from rookdb.lazy import LazyOperation
from rookdb.query import query_value

if TYPE_CHECKING:
    from rookdb.async_session import AsyncDocumentSession
    from rookdb.facet_compute import FacetAnswer
    from rookdb.lazy import Lazy
    from rookdb.query import DocumentQuery, QueryExecution
    from rookdb.storage.records import Read, ReadResult

__all__ = ["AggregationDocumentQuery", "AsyncAggregationDocumentQuery", "FacetResults"]

T = TypeVar("T")

#: What an aggregation query's ``execute()`` gives: each facet's result by its name.
FacetResults = dict[str, FacetResult]

#: What ``aggregate_by`` takes: a facet, or a function that builds one with a ``FacetBuilder``.
FacetArgument = FacetBase | Callable[[FacetBuilder[Any]], Any]


class FacetExecutor(Protocol):
    """What an aggregation query needs of the session."""

    def _execute_facets(self, facet_query: FacetQuery) -> FacetAnswer: ...

    def _add_lazy(self, operation: LazyOperation) -> Lazy[Any]: ...


class AggregationDocumentQuery(Generic[T]):
    """Facets of a query's results (see the module's docstring)."""

    def __init__(self, source: DocumentQuery[T]) -> None:
        self._source = source
        self._facets: list[FacetSpec] = []

    def _add(self, spec: FacetSpec) -> AggregationDocumentQuery[T]:
        if spec.setup_id is None:
            taken = {f.name.lower() for f in self._facets if f.setup_id is None}
            if spec.name.lower() in taken:
                raise QueryError(
                    f"two facets are named {shown(spec.name)}: give one with_display_name()"
                )
        self._facets.append(spec)
        return self

    def and_aggregate_by(self, builder_or_facet: FacetArgument) -> AggregationDocumentQuery[T]:
        """One more facet: a ``Facet``/``RangeFacet``, or ``lambda f: f.by_field(...)...``."""
        if isinstance(builder_or_facet, FacetBase):
            facet = builder_or_facet
        elif callable(builder_or_facet):
            builder: FacetBuilder[Any] = FacetBuilder()
            builder_or_facet(builder)
            facet = builder._built()
        else:
            raise QueryError("aggregate_by() takes a facet or a function building one")
        executor = self._source._executor
        return self._add(facet_spec(facet, lambda value: query_value(executor, value)))

    def and_aggregate_by_facets(self, facets: Sequence[FacetBase]) -> AggregationDocumentQuery[T]:
        for facet in check_list(facets, "facets"):
            self.and_aggregate_by(facet)
        return self

    def and_aggregate_using(self, facet_setup_document_id: str) -> AggregationDocumentQuery[T]:
        """The facets of a stored ``FacetSetup`` document, read when the query runs."""
        if not isinstance(facet_setup_document_id, str) or not facet_setup_document_id.strip():
            raise QueryError("aggregate_using() takes the FacetSetup document's id")
        return self._add(FacetSpec(setup_id=facet_setup_document_id))

    def to_facet_query(self) -> FacetQuery:
        """The query and its facets, as data."""
        if not self._facets:
            raise QueryError("an aggregation query has at least one facet")
        return FacetQuery(self._source.to_query(), tuple(self._facets))

    def __str__(self) -> str:
        """The RQL of this query (values as parameters)."""
        return print_facet_query(self.to_facet_query())[0]

    def _executor(self) -> FacetExecutor:
        return self._source._executor  # type: ignore[return-value]

    def _results(self, answer: FacetAnswer) -> FacetResults:
        return _results(answer, self._source)

    def execute(self) -> FacetResults:
        """Run it: each facet's name to its ``FacetResult``; one request."""
        return self._results(self._executor()._execute_facets(self.to_facet_query()))

    def execute_lazy(
        self, on_eval: Callable[[FacetResults], None] | None = None
    ) -> Lazy[FacetResults]:
        """``execute()``, later (see the module's docstring)."""
        facet_query = self.to_facet_query()
        executor = self._executor()
        return executor._add_lazy(_LazyFacets(self, executor, facet_query, on_eval))


def _results(answer: FacetAnswer, source: QueryExecution[Any]) -> FacetResults:
    """The results of a facet query by name, after ``source``'s statistics callbacks."""
    for callback in source._statistics_callbacks:
        callback(answer.statistics)
    results = [FacetResult.from_json(r) for r in answer.results]
    return {r.name: r for r in results}


def execute_raw(raw: QueryExecution[Any], text: str, parameters: dict[str, Any]) -> FacetResults:
    """``raw_query(text).execute_aggregation()``: the facets its ``select facet(...)`` asks
    for. Options are parameters holding ``FacetOptions`` (or their JSON); the other
    parameters are values, as ``raw_query`` reads them."""
    executor: Any = raw._executor
    values: dict[str, Any] = {}
    for name, value in parameters.items():
        try:
            if isinstance(value, FacetOptions):
                values[name] = value.to_json()
            elif isinstance(value, dict):
                values[name] = value
            elif isinstance(value, (list, tuple)):
                values[name] = [query_value(executor, v) for v in value]
            else:
                values[name] = query_value(executor, value)
        except QueryError as exc:
            raise QueryError(f"parameter ${name}: {exc}") from None
    facet_query = parse_facet_query(text, values)
    if not facet_query.facets:
        raise QueryError("execute_aggregation() runs a query that selects facets: facet(...)")
    return _results(executor._execute_facets(facet_query), raw)


class _LazyFacets(LazyOperation):
    """``execute_lazy``: no read of the shared batch; it runs when the batch is handled."""

    def __init__(
        self,
        query: AggregationDocumentQuery[Any],
        executor: FacetExecutor,
        facet_query: FacetQuery,
        on_eval: Callable[[Any], None] | None,
    ) -> None:
        super().__init__(on_eval)
        self._query, self._executor, self._facet_query = query, executor, facet_query

    def read(self) -> Read | None:
        return None

    def handle(self, result: ReadResult | None) -> None:
        self.result = self._query._results(self._executor._execute_facets(self._facet_query))


class AsyncAggregationDocumentQuery(Generic[T]):
    """``AggregationDocumentQuery`` of an async session's query: ``await execute()``.
    (``execute_lazy`` is the sync session's only.)"""

    def __init__(self, session: AsyncDocumentSession, inner: AggregationDocumentQuery[T]) -> None:
        self._session = session
        self._inner = inner

    def and_aggregate_by(self, builder_or_facet: FacetArgument) -> AsyncAggregationDocumentQuery[T]:
        self._inner.and_aggregate_by(builder_or_facet)
        return self

    def and_aggregate_by_facets(
        self, facets: Sequence[FacetBase]
    ) -> AsyncAggregationDocumentQuery[T]:
        self._inner.and_aggregate_by_facets(facets)
        return self

    def and_aggregate_using(self, facet_setup_document_id: str) -> AsyncAggregationDocumentQuery[T]:
        self._inner.and_aggregate_using(facet_setup_document_id)
        return self

    def to_facet_query(self) -> FacetQuery:
        return self._inner.to_facet_query()

    def __str__(self) -> str:
        return str(self._inner)

    async def execute(self) -> FacetResults:
        """``AggregationDocumentQuery.execute``, awaited: one request."""
        facet_query = self._inner.to_facet_query()
        session = self._session.session
        session._before_query(facet_query.query)
        session._request()
        storage = session._storage
        answer = await self._session._storage.call(storage.facets, *facet_query)
        if answer.includes and not session._no_tracking:
            session._remember_includes(answer.includes)
        return self._inner._results(answer)
