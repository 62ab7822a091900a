"""Queries: the fluent, lazy ``DocumentQuery`` that builds the query AST (SPEC Q1).

The AST (``rookdb.query_ast``, re-exported here) is what every backend executes, what the RQL
parser produces and what the server receives as RQL text; it is plain frozen data.
``DocumentQuery`` follows the RavenDB client's fluent API: each call records one step and
returns the query itself, and nothing runs until it is iterated or an executor (``first()``,
``count()``, ...) is called.

Clauses are joined with AND unless ``or_else()`` comes between them; AND binds tighter than OR,
as in RQL. ``not_()`` negates the next clause or subclause.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from rookdb.arguments import check_callback, check_class, check_wait
from rookdb.errors import (
    InvalidOperationError,
    NonStaleResultsTimeoutError,
    QueryError,
    SerializationError,
    shown,
)

if TYPE_CHECKING:
    from rookdb.facet_query import AggregationDocumentQuery, FacetArgument
    from rookdb.facets import FacetBase
    from rookdb.includes import IncludeBuilder
    from rookdb.lazy import Lazy
    from rookdb.query_group_by import GroupBy, GroupByDocumentQuery
from rookdb.paths import parse_field_path
from rookdb.query_ast import (
    COMPARISONS,
    ID_FIELD,
    MAX_QUERY_DEPTH,
    ORDERINGS,
    And,
    Between,
    Compare,
    ContainsAll,
    EndsWith,
    Equals,
    Exists,
    FieldPredicate,
    In,
    Not,
    Or,
    OrderBy,
    Predicate,
    Query,
    QueryStatistics,
    Regex,
    Scalar,
    Search,
    SearchOperator,
    StartsWith,
    check_count,
    check_orderable,
    check_regex,
    check_scalar,
    parse_search_terms,
    predicate_depth,
)
from rookdb.serialization.layouts import projection_fields

__all__ = [
    "COMPARISONS",
    "ID_FIELD",
    "MAX_QUERY_DEPTH",
    "ORDERINGS",
    "And",
    "Between",
    "Compare",
    "ContainsAll",
    "DocumentQuery",
    "EndsWith",
    "Equals",
    "Exists",
    "FieldPredicate",
    "In",
    "Not",
    "Or",
    "OrderBy",
    "Predicate",
    "Query",
    "QueryExecution",
    "QueryExecutor",
    "QueryStatistics",
    "Regex",
    "Scalar",
    "Search",
    "SearchOperator",
    "StartsWith",
    "check_count",
    "check_orderable",
    "check_regex",
    "check_scalar",
    "parse_search_terms",
    "predicate_depth",
    "query_value",
]

T = TypeVar("T")
P = TypeVar("P")


def _check_order(field: str) -> None:
    if any(segment.is_array for segment in parse_field_path(field)):
        raise QueryError(f"{shown(field)} holds many values per document: it cannot be sorted on")


def _check_values(values: object, convert: Callable[[object], Scalar]) -> tuple[Scalar, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise QueryError("expected a list of values")
    return tuple(convert(v) for v in values)


def query_value(executor: QueryExecutor, value: object) -> Scalar:
    """A parameter as a query compares it: a JSON scalar as it is, any other value as the
    session writes it into a document (SPEC D2): a ``Decimal`` as a number, a datetime as
    fixed-width ISO 8601 text, an enum as its value, a ``UUID`` as text, a value of a
    registered encoder as the encoder gives it."""
    if value is None or type(value) in (str, int, float, bool):
        return check_scalar(value)
    if isinstance(value, (list, tuple, dict, set, frozenset)):  # never a scalar: do not walk it
        raise QueryError(f"cannot compare with a {type(value).__qualname__}: use a JSON scalar")
    try:
        encoded = executor._query_value(value)
    except SerializationError as exc:
        raise QueryError(f"cannot compare with a {type(value).__qualname__}: {exc}") from None
    if encoded is not None and type(encoded) not in (str, int, float, bool):
        raise QueryError(
            f"cannot compare with a {type(value).__qualname__}: it is stored as a JSON "
            f"{'array' if type(encoded) is list else 'object'}, not a scalar"
        )
    return check_scalar(encoded)


# --------------------------------------------------------------------------- the builder


class QueryExecutor(Protocol):
    """What ``DocumentQuery`` needs from a session: run a query, build its results."""

    def _execute_query(
        self, query: Query, object_type: type[Any] | None, tracking: bool
    ) -> tuple[list[Any], QueryStatistics]: ...

    def _query_value(self, value: Any) -> Any:
        """``value`` as a document holding it stores it, decoded (``EntityCodec.json_value``)."""
        ...

    def _lazy_query(
        self,
        query: Query,
        object_type: type[Any] | None,
        tracking: bool,
        on_result: Callable[[list[Any], QueryStatistics], Any],
        on_eval: Callable[[Any], None] | None = None,
    ) -> Any:
        """A ``rookdb.lazy.Lazy`` of ``on_result(results, statistics)``, run with the
        session's other lazy operations."""
        ...


class _Group:
    """Clauses of one (sub)clause level, in OR-of-ANDs form as they are added."""

    __slots__ = ("disjuncts", "negate_next", "next_is_or")

    def __init__(self) -> None:
        self.disjuncts: list[list[Predicate]] = [[]]
        self.next_is_or = False
        self.negate_next = False

    def add(self, predicate: Predicate) -> None:
        if self.negate_next:
            predicate = Not(predicate)
            self.negate_next = False
        if self.next_is_or and self.disjuncts[-1]:
            self.disjuncts.append([])
        self.next_is_or = False
        self.disjuncts[-1].append(predicate)

    def build(self) -> Predicate | None:
        terms: list[Predicate] = []
        for conjunction in self.disjuncts:
            if len(conjunction) == 1:
                terms.append(conjunction[0])
            elif conjunction:
                terms.append(And(tuple(conjunction)))
        if not terms:
            return None
        return terms[0] if len(terms) == 1 else Or(tuple(terms))


class QueryExecution(Generic[T]):
    """Running a query: the executors shared by ``DocumentQuery`` and ``RawDocumentQuery``.

    Nothing runs until the query is iterated or an executor is called; each run is one request.
    """

    def __init__(self, executor: QueryExecutor, object_type: type[T] | None) -> None:
        self._executor = executor
        self._object_type = check_class(object_type)
        self._tracking = True
        self._statistics_callbacks: list[Callable[[QueryStatistics], None]] = []
        self._wait_for_non_stale: float | None = None

    def to_query(self) -> Query:
        """The immutable AST of this query."""
        raise NotImplementedError

    def no_tracking(self: Q) -> Q:
        """Do not track the results: later edits to them are not saved (SPEC S8)."""
        self._tracking = False
        return self

    def statistics(self: Q, callback: Callable[[QueryStatistics], None]) -> Q:
        """Call ``callback`` with the ``QueryStatistics`` of each execution."""
        self._statistics_callbacks.append(check_callback(callback, "callback", optional=False))
        return self

    def wait_for_non_stale_results(self: Q, timeout: float | dt.timedelta | None = None) -> Q:
        """Answer only from an index that is up to date (RavenDB's): rookdb's indexes are
        written with the documents, so only an index still being built after a put (by
        another process) is stale; the query is run again until it is not, for at most
        ``timeout`` (a ``timedelta``, as RavenDB's client takes it, or seconds; 15 seconds
        unless given), then ``NonStaleResultsTimeoutError``."""
        self._wait_for_non_stale = 15.0 if timeout is None else check_wait(timeout)
        return self

    def _run(self, query: Query) -> list[T]:
        results, stats = self._executor._execute_query(query, self._object_type, self._tracking)
        wait = self._stale_wait()
        while wait is not None and (pause := wait.next_pause(stats)) is not None:
            time.sleep(pause)
            results, stats = self._executor._execute_query(query, self._object_type, self._tracking)
        return self._report(results, stats)

    def _stale_wait(self) -> StaleWait | None:
        """The wait of ``wait_for_non_stale_results``, if asked, started now."""
        if self._wait_for_non_stale is None:
            return None
        return StaleWait(self._wait_for_non_stale)

    def _report(self, results: list[Any], stats: QueryStatistics) -> list[T]:
        """``results``, after the ``statistics`` callbacks saw ``stats``."""
        for callback in self._statistics_callbacks:
            callback(stats)
        return results

    def __iter__(self) -> Iterator[T]:
        return iter(self._run(self.to_query()))

    def to_list(self) -> list[T]:
        return self._run(self.to_query())

    def first(self) -> T:
        """The first result; ``InvalidOperationError`` when there is none."""
        return first_of(self._run(dataclasses.replace(self.to_query(), take=1)))

    def first_or_default(self, default: T | None = None) -> T | None:
        results = self._run(dataclasses.replace(self.to_query(), take=1))
        return results[0] if results else default

    def single(self) -> T:
        """The only result; ``InvalidOperationError`` unless there is exactly one."""
        return single_of(self._run(dataclasses.replace(self.to_query(), take=2)))

    def single_or_default(self, default: T | None = None) -> T | None:
        results = self._run(dataclasses.replace(self.to_query(), take=2))
        if len(results) > 1:
            raise InvalidOperationError("single_or_default(): the query returned more than one")
        return results[0] if results else default

    def count(self) -> int:
        """How many documents match (one request; no documents are transferred)."""
        query = self.to_query()
        _, stats = self._executor._execute_query(
            dataclasses.replace(query, take=0), self._object_type, False
        )
        return count_of(query)([], stats)

    def any(self) -> bool:
        return self.count() > 0

    def lazily(self, on_eval: Callable[[list[T]], None] | None = None) -> Lazy[list[T]]:
        """The results, later: a ``Lazy`` run with the session's other lazy operations in
        one request (``rookdb.lazy``); ``on_eval`` is called with them when they arrive."""

        def results(found: list[Any], stats: QueryStatistics) -> list[T]:
            for callback in self._statistics_callbacks:
                callback(stats)
            return found

        lazy: Lazy[list[T]] = self._executor._lazy_query(
            self.to_query(), self._object_type, self._tracking, results, on_eval
        )
        return lazy

    def count_lazily(self) -> Lazy[int]:
        """``count()``, later: run with the session's other lazy operations."""
        query = self.to_query()
        total = count_of(query)
        lazy: Lazy[int] = self._executor._lazy_query(
            dataclasses.replace(query, take=0), self._object_type, False, total
        )
        return lazy


Q = TypeVar("Q", bound="QueryExecution[Any]")


class StaleWait:
    """``wait_for_non_stale_results``: how long to pause before asking a stale query again
    (10 ms, doubling up to 0.5 s), until ``timeout`` seconds have passed."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.pause = 0.01

    def next_pause(self, stats: QueryStatistics) -> float | None:
        """None when ``stats`` are not stale, else the pause before the next try;
        ``NonStaleResultsTimeoutError`` past the deadline."""
        if not stats.is_stale:
            return None
        if time.monotonic() >= self.deadline:
            raise NonStaleResultsTimeoutError(
                f"the index {shown(stats.index_name)} was still stale after "
                f"{self.timeout:g} s (wait_for_non_stale_results)"
            )
        pause, self.pause = self.pause, min(self.pause * 2, 0.5)
        return pause


def first_of(results: list[T]) -> T:
    """``first()`` of the results of its query (sent with ``take=1``)."""
    if not results:
        raise InvalidOperationError("first(): the query returned no results")
    return results[0]


def single_of(results: list[T]) -> T:
    """``single()`` of the results of its query (sent with ``take=2``)."""
    if len(results) != 1:
        raise InvalidOperationError(
            f"single(): expected exactly one result, the query returned {len(results)}"
            if len(results) < 2
            else "single(): expected exactly one result, the query returned more"
        )
    return results[0]


def count_of(query: Query) -> Callable[[list[Any], QueryStatistics], int]:
    """What ``count()`` makes of the answer to ``query`` sent with ``take=0``: the number of
    documents ``query`` (its own skip and take applied) returns."""

    def count(_: list[Any], stats: QueryStatistics) -> int:
        total = stats.total_results - query.skip
        return max(0, total if query.take is None else min(total, query.take))

    return count


def _start(collection: str | None, index_name: str | None) -> Query:
    """``Query(collection=collection, index_name=index_name)``, shared when both are text or
    None (``_shared_start``); what ``Query`` refuses is refused as it was."""
    if (collection is None or type(collection) is str) and (
        index_name is None or type(index_name) is str
    ):
        return _shared_start(collection, index_name)
    return Query(collection=collection, index_name=index_name)  # its error


# The query of a collection (or of an index) before any clause, as ``DocumentQuery`` starts
# from it: a ``Query`` is frozen, so every builder over the same collection can share one,
# built and checked once (issue 18, W5: a ``Query`` costs ~20,000 instructions to make, a
# tenth of an empty query's Python). A refused name raises each time (``lru_cache`` keeps no
# exception).
@functools.lru_cache(maxsize=256)
def _shared_start(collection: str | None, index_name: str | None) -> Query:
    return Query(collection=collection, index_name=index_name)


class DocumentQuery(QueryExecution[T]):
    """A lazy query over one collection, built fluently::

        robert = (
            session.query(object_type=Employee)
            .where_equals("first_name", "Robert")
            .first()
        )

    Results are tracked by the session and go through its identity map, unless ``no_tracking()``
    was called (SPEC S8). Iterating runs the query once per iteration.
    """

    def __init__(
        self,
        executor: QueryExecutor,
        object_type: type[T] | None,
        collection: str | None,
        index_name: str | None = None,
    ) -> None:
        super().__init__(executor, object_type)
        self._query = _start(collection, index_name)
        self._groups: list[_Group] = [_Group()]

    # -- building ----------------------------------------------------------------------------

    def _add(self, predicate: Predicate) -> DocumentQuery[T]:
        self._groups[-1].add(predicate)
        return self

    def _value(self, value: object) -> Scalar:
        return query_value(self._executor, value)

    def where_equals(self, field_name: str, value: Any) -> DocumentQuery[T]:
        """Documents whose ``field_name`` equals ``value`` (JSON equality)."""
        parse_field_path(field_name)
        return self._add(Equals(field_name, self._value(value)))

    def where_not_equals(self, field_name: str, value: Any) -> DocumentQuery[T]:
        """Documents whose ``field_name`` does not equal ``value`` (missing fields included)."""
        parse_field_path(field_name)
        return self._add(Not(Equals(field_name, self._value(value))))

    def where_in(self, field_name: str, values: Iterable[Any]) -> DocumentQuery[T]:
        """Documents whose ``field_name`` equals any of ``values``."""
        parse_field_path(field_name)
        return self._add(In(field_name, _check_values(values, self._value)))

    def contains_any(self, field_name: str, values: Iterable[Any]) -> DocumentQuery[T]:
        """Documents whose array ``field_name`` holds any of ``values`` (as ``where_in``)."""
        return self.where_in(field_name, values)

    def contains_all(self, field_name: str, values: Iterable[Any]) -> DocumentQuery[T]:
        """Documents whose array ``field_name`` holds every one of ``values``."""
        parse_field_path(field_name)
        return self._add(ContainsAll(field_name, _check_values(values, self._value)))

    def where_starts_with(self, field_name: str, prefix: str) -> DocumentQuery[T]:
        parse_field_path(field_name)
        if type(prefix) is not str:
            raise QueryError("where_starts_with takes a str prefix")
        return self._add(StartsWith(field_name, prefix))

    def where_ends_with(self, field_name: str, suffix: str) -> DocumentQuery[T]:
        parse_field_path(field_name)
        if type(suffix) is not str:
            raise QueryError("where_ends_with takes a str suffix")
        return self._add(EndsWith(field_name, suffix))

    def where_between(self, field_name: str, start: Any, end: Any) -> DocumentQuery[T]:
        """``start <= field_name <= end``, inclusive at both ends."""
        parse_field_path(field_name)
        low, high = check_orderable(self._value(start)), check_orderable(self._value(end))
        if isinstance(low, str) != isinstance(high, str):
            raise QueryError("where_between takes two numbers or two strings")
        return self._add(Between(field_name, low, high))

    def _compare(self, field_name: str, op: str, value: Any) -> DocumentQuery[T]:
        parse_field_path(field_name)
        return self._add(Compare(field_name, op, check_orderable(self._value(value))))

    def where_greater_than(self, field_name: str, value: Any) -> DocumentQuery[T]:
        return self._compare(field_name, ">", value)

    def where_greater_than_or_equal(self, field_name: str, value: Any) -> DocumentQuery[T]:
        return self._compare(field_name, ">=", value)

    def where_less_than(self, field_name: str, value: Any) -> DocumentQuery[T]:
        return self._compare(field_name, "<", value)

    def where_less_than_or_equal(self, field_name: str, value: Any) -> DocumentQuery[T]:
        return self._compare(field_name, "<=", value)

    def where_exists(self, field_name: str) -> DocumentQuery[T]:
        """Documents that have ``field_name`` (null and empty arrays count)."""
        parse_field_path(field_name)
        return self._add(Exists(field_name))

    def where_regex(self, field_name: str, pattern: str) -> DocumentQuery[T]:
        """Documents with a string value of ``field_name`` matching ``pattern`` (``re.search``)."""
        parse_field_path(field_name)
        return self._add(Regex(field_name, check_regex(pattern)))

    def search(
        self,
        field_name: str,
        search_terms: str,
        operator: SearchOperator | str = SearchOperator.OR,
    ) -> DocumentQuery[T]:
        """Full-text search: documents whose ``field_name`` holds any of the words of
        ``search_terms`` (or all of them, with ``SearchOperator.AND``), case-insensitive."""
        parse_field_path(field_name)
        if not isinstance(operator, str):  # (SearchOperator is a str too)
            raise QueryError(f"a search operator is or / and, not {shown(operator)}")
        try:
            how = SearchOperator(str(operator).lower())
        except ValueError:
            raise QueryError(f"unknown search operator {shown(operator)}: use or / and") from None
        return self._add(Search(field_name, parse_search_terms(search_terms), how))

    def and_also(self) -> DocumentQuery[T]:
        """Join the next clause with AND (the default)."""
        self._groups[-1].next_is_or = False
        return self

    def or_else(self) -> DocumentQuery[T]:
        """Join the next clause with OR."""
        self._groups[-1].next_is_or = True
        return self

    def not_(self) -> DocumentQuery[T]:
        """Negate the next clause or subclause."""
        self._groups[-1].negate_next = True
        return self

    def open_subclause(self) -> DocumentQuery[T]:
        """Start a parenthesised group of clauses."""
        self._groups.append(_Group())
        return self

    def close_subclause(self) -> DocumentQuery[T]:
        """End the group opened by ``open_subclause``."""
        if len(self._groups) == 1:
            raise QueryError("close_subclause() without open_subclause()")
        inner = self._groups.pop().build()
        if inner is not None:
            self._add(inner)
        return self

    def order_by(
        self, field: str, ordering: str | None = None, nulls: str | None = None
    ) -> DocumentQuery[T]:
        """Sort by ``field``: by JSON type, then value (numbers numerically, strings by code
        point, missing and null first); ``ordering`` "string", "long", "double" or
        "alphanumeric" (digit runs compared as numbers, RavenDB's ``AlphaNumeric``) sorts by
        that kind only; ``nulls`` "first" or "last" places the documents without such a
        value, whatever the direction."""
        return self._order(OrderBy(field, False, ordering, nulls))

    def order_by_descending(
        self, field: str, ordering: str | None = None, nulls: str | None = None
    ) -> DocumentQuery[T]:
        """``order_by``, largest first."""
        return self._order(OrderBy(field, True, ordering, nulls))

    def _order(self, order: OrderBy) -> DocumentQuery[T]:
        _check_order(order.field)
        self._query = dataclasses.replace(self._query, order_by=(*self._query.order_by, order))
        return self

    def skip(self, count: int) -> DocumentQuery[T]:
        self._query = dataclasses.replace(self._query, skip=check_count(count, "skip()"))
        return self

    def take(self, count: int) -> DocumentQuery[T]:
        self._query = dataclasses.replace(self._query, take=check_count(count, "take()"))
        return self

    def select_fields(self, projection_class: type[P], *fields: str) -> DocumentQuery[P]:
        """Return only ``fields`` of each document, as ``projection_class`` objects (or dicts);
        projections are never tracked. Without ``fields``, the fields the class declares: its
        annotations (of the class body or of ``__init__``'s parameters), dataclass, pydantic or
        attrs fields, ``__slots__``."""
        check_class(projection_class, "projection_class", optional=False)
        names = fields
        if not names and projection_class is not dict:
            names = projection_fields(projection_class)
        if not names:
            raise QueryError("select_fields() needs field names (or a class with annotations)")
        for name in names:
            parse_field_path(name)
        self._query = dataclasses.replace(self._query, select=tuple(names))
        self._object_type = projection_class
        return self  # type: ignore[return-value]

    def group_by(self, field: str | GroupBy, *fields: str | GroupBy) -> GroupByDocumentQuery[T]:
        """Group the documents by ``field`` (and ``fields``): a dynamic aggregation, answered
        by an automatic map-reduce index (``rookdb.query_group_by``)."""
        from rookdb.query_group_by import GroupByDocumentQuery, group_by_paths

        paths = group_by_paths((field, *fields))
        self._query = dataclasses.replace(self._query, group_by=paths)
        return GroupByDocumentQuery(self)

    def _select_aggregate(self, field: str, key: str) -> None:
        """Add ``field`` (a group-by field or an aggregation) to the select, as ``key``."""
        if type(key) is not str or not key:
            raise QueryError(f"a projected name is a non-empty str, not {shown(key)}")
        query = self._query
        keys = query.select_as or query.select
        self._query = dataclasses.replace(
            query, select=(*query.select, field), select_as=(*keys, key)
        )

    def of_type(self, object_type: type[P]) -> DocumentQuery[P]:
        """Build the results as ``object_type`` (a projection class, or dict)."""
        self._object_type = check_class(object_type, optional=False)
        return self  # type: ignore[return-value]

    def distinct(self) -> DocumentQuery[T]:
        """With ``select_fields``: each distinct projection once."""
        self._query = dataclasses.replace(self._query, distinct=True)
        return self

    def include(self, path_or_builder: str | Callable[[IncludeBuilder], Any]) -> DocumentQuery[T]:
        """Load the documents whose ids ``path`` holds in the same request; or, with a function
        of an ``IncludeBuilder`` (RavenDB's ``include(lambda b: b.include_counter("likes")
        .include_documents("employee"))``), those documents and the counters of the documents
        found (read in the same snapshot, kept in the session's counters cache)."""
        from rookdb.includes import ALL_COUNTERS, include_spec  # (it imports storage records)

        if path_or_builder is None:
            raise QueryError("include() takes a path, or a function of an IncludeBuilder")
        paths, counters = include_spec(path_or_builder)
        for path in paths:
            parse_field_path(path)
        names = tuple(dict.fromkeys((*self._query.counters, *counters)))
        if ALL_COUNTERS in names and len(names) > 1:
            raise InvalidOperationError(
                "a query includes all counters or some of them by name, not both"
            )
        self._query = dataclasses.replace(
            self._query, includes=(*self._query.includes, *paths), counters=names
        )
        return self

    # -- facets (rookdb.facet_query) ---------------------------------------------------------

    def aggregate_by(self, builder_or_facet: FacetArgument) -> AggregationDocumentQuery[T]:
        """Count this query's results by a facet (``lambda f: f.by_field("x")``, a ``Facet``
        or a ``RangeFacet``): an ``AggregationDocumentQuery``; ``execute()`` runs it."""
        from rookdb.facet_query import AggregationDocumentQuery

        return AggregationDocumentQuery(self).and_aggregate_by(builder_or_facet)

    def aggregate_by_facets(self, facets: list[FacetBase]) -> AggregationDocumentQuery[T]:
        """``aggregate_by`` of every facet of ``facets``."""
        from rookdb.facet_query import AggregationDocumentQuery

        return AggregationDocumentQuery(self).and_aggregate_by_facets(facets)

    def aggregate_using(self, facet_setup_document_id: str) -> AggregationDocumentQuery[T]:
        """Count this query's results by the facets of a stored ``FacetSetup`` document."""
        from rookdb.facet_query import AggregationDocumentQuery

        return AggregationDocumentQuery(self).and_aggregate_using(facet_setup_document_id)

    # -- the AST -----------------------------------------------------------------------------

    def to_query(self) -> Query:
        """The immutable AST of this query as built so far."""
        if len(self._groups) != 1:
            raise QueryError("open_subclause() without close_subclause()")
        where = self._groups[0].build()
        return self._query if where is None else self._query.with_where(where)
