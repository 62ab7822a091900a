"""Computing facets: one streamed pass in Python over a query's matching results.

Why one pass in Python, not one SQL ``GROUP BY`` per facet: a query asks several facets at
once (terms of a field, ranges, sums of other fields), and one pass over the matching rows
answers them all, where SQL would read the rows once per facet. The pass also keeps one
semantics on every backend (SQLite, PostgreSQL, and the server behind ``http``) with no
dialect to keep in step: RavenDB's terms (text in lower case, an array counting each of its
values once per result), the typed range comparisons of ``rookdb.evaluate.matches`` (the
reference every backend's where clause is tested against) and its numbers for sums. The
where clause still runs in the database, with its indexes: only matching rows reach Python.
A collection query's documents are streamed, so memory grows with the number of terms, not
of results; an index query's matching entries are read whole, as its results are.

The rows are the query's documents, or for ``from index`` the index's entries (a map
index's) or results (a map-reduce index's), as RavenDB counts its index entries.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

from rookdb.errors import ProtocolError
from rookdb.evaluate import between_test, compare_test
from rookdb.facet_rql import FacetSpec, facet_field
from rookdb.facet_specs import setup_specs
from rookdb.paths import Segment, parse_field_path, values_at
from rookdb.protocol_statistics import decode_statistics, encode_statistics
from rookdb.query_ast import And, Between, Compare, Predicate, Query, QueryStatistics
from rookdb.storage.records import DocumentRecord, document_key

if TYPE_CHECKING:
    from rookdb.storage.base import Storage

__all__ = [
    "FacetAnswer",
    "all_null",
    "compute",
    "counted_query",
    "decode_answer",
    "encode_answer",
    "resolve_setups",
    "run",
    "term_of",
]


class FacetAnswer(NamedTuple):
    """What a facet query returns: each facet's result in RavenDB's JSON (``Name``,
    ``Values``, ``RemainingTerms``, ``RemainingTermsCount``, ``RemainingHits``) and the
    statistics of the query counted (``total_results``: the rows it matched); ``includes``:
    the documents its ``include`` paths reference, by key (None: missing), as a query's."""

    results: list[dict[str, Any]]
    statistics: QueryStatistics
    includes: dict[str, DocumentRecord | None] = {}  # (one shared empty dict: never mutated)


def resolve_setups(
    facets: Sequence[FacetSpec], load: Callable[[str], Any]
) -> tuple[FacetSpec, ...]:
    """``facets`` with each ``facet(id('...'))`` replaced by the facets of its ``FacetSetup``
    document (``load``: the document's JSON by id, None if it does not exist)."""
    resolved: list[FacetSpec] = []
    for facet in facets:
        if facet.setup_id is None:
            resolved.append(facet)
        else:
            resolved.extend(setup_specs(load(facet.setup_id), facet.setup_id))
    return tuple(resolved)


#: RavenDB's terms of null and of the empty string (``Constants.Documents.Indexing``).
NULL_VALUE = "NULL_VALUE"
EMPTY_STRING = "EMPTY_STRING"


def all_null(entry: Any) -> bool:
    """Whether an index entry's fields are all null: RavenDB indexes no such entry (a map
    over ``docs`` gives one for every document of another shape), so facets skip it."""
    return isinstance(entry, dict) and all(
        value is None for key, value in entry.items() if not key.startswith("@")
    )


def term_of(value: Any) -> str | None:
    """A value's term, as RavenDB's index writes it: text in lower case, numbers as JSON
    writes them, ``true``/``false``, null ``NULL_VALUE``, "" ``EMPTY_STRING``; None for an
    object (no term). A missing field has no value, and so no term."""
    if value is None:
        return NULL_VALUE
    if isinstance(value, str):
        return value.lower() if value else EMPTY_STRING
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return orjson.dumps(value).decode()
    return None


class _Tally:
    """The count of one term or range, and per aggregated field the sum, minimum, maximum
    and number of its numbers (running: nothing kept per result)."""

    __slots__ = ("count", "numbers")

    def __init__(self, fields: int) -> None:
        self.count = 0
        self.numbers: list[_Figures] = [_Figures() for _ in range(fields)]


class _Figures:
    __slots__ = ("count", "high", "low", "total")

    def __init__(self) -> None:
        self.total = 0.0
        self.count = 0
        self.low: float | None = None
        self.high: float | None = None

    def add(self, numbers: list[float]) -> None:
        for number in numbers:
            self.total += number
            self.count += 1
            self.low = number if self.low is None else min(self.low, number)
            self.high = number if self.high is None else max(self.high, number)


def _candidates(row: Any, path: tuple[Segment, ...]) -> list[Any]:
    """The values a predicate on ``path`` looks at (``rookdb.evaluate.candidates``), of a
    path parsed once per query rather than once per row."""
    found: list[Any] = []
    for value in values_at(row, path):
        if type(value) is list:
            found.extend(value)
        else:
            found.append(value)
    return found


def _numbers(row: Any, path: tuple[Segment, ...]) -> list[float]:
    return [
        float(v) for v in _candidates(row, path) if type(v) in (int, float) and math.isfinite(v)
    ]


def range_test(predicate: Predicate) -> Callable[[list[Any]], bool]:
    """Whether a range matches a row, given the candidates of the range's field: what
    ``rookdb.evaluate.matches`` answers (numbers with numbers, strings with strings by code
    point), without walking the row again for each range."""
    if isinstance(predicate, And):
        tests = [range_test(p) for p in predicate.items]
        return lambda values: all(test(values) for test in tests)
    if isinstance(predicate, Between):
        return between_test(predicate.low, predicate.high)
    assert isinstance(predicate, Compare)
    return compare_test(predicate.op, predicate.value)


class _Plan:
    """One facet, its paths parsed and its ranges compiled once per query."""

    __slots__ = ("fields", "path", "ranges", "sums")

    def __init__(self, facet: FacetSpec) -> None:
        #: What it aggregates: a field under a name (its display name, else the field), each
        #: pair once, in the order first named; each gives a value per term, as RavenDB's.
        self.fields = list(dict.fromkeys((a.field, a.display_name) for a in facet.aggregations))
        self.sums = [parse_field_path(f) for f, _ in self.fields]
        self.path = parse_field_path(facet_field(facet))
        self.ranges = [(r.name, range_test(r.predicate)) for r in facet.ranges]


def compute(
    facets: Sequence[FacetSpec], rows: Iterable[Any], total: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Every facet of ``facets`` (setups resolved) over ``rows`` (JSON objects), in one pass;
    the results in RavenDB's JSON and the number of rows."""
    plans = [_Plan(f) for f in facets]
    tallies: list[dict[str, _Tally]] = [{} for _ in facets]
    seen = 0
    for row in rows:
        seen += 1
        for plan, tally in zip(plans, tallies, strict=True):
            values = _candidates(row, plan.path)
            if plan.ranges:
                keys = [name for name, test in plan.ranges if test(values)]
            else:
                terms = (term_of(v) for v in values)
                keys = list(dict.fromkeys(t for t in terms if t is not None))
            if not keys:
                continue
            numbers = [_numbers(row, path) for path in plan.sums]
            for key in keys:
                found = tally.get(key)
                if found is None:
                    found = tally[key] = _Tally(len(plan.sums))
                found.count += 1
                for held, more in zip(found.numbers, numbers, strict=True):
                    held.add(more)
    results = [
        _result(f, plan.fields, t) for f, plan, t in zip(facets, plans, tallies, strict=True)
    ]
    return results, seen if total is None else total


def _result(
    facet: FacetSpec, fields: list[tuple[str, str | None]], tally: dict[str, _Tally]
) -> dict[str, Any]:
    if facet.ranges:  # every range, in order, counted or not
        keys = [r.name for r in facet.ranges]
        page, rest = keys, []
    else:
        keys = sorted(tally, key=_sort_key(facet.paging.sort, tally))
        start = facet.paging.start
        end = start + facet.paging.page_size
        page, rest = keys[start:end], keys[end:]
    values: list[dict[str, Any]] = []
    for key in page:
        found = tally.get(key) or _Tally(len(fields))
        values.extend(_values(facet, fields, key, found))
    return {
        "Name": facet.name,
        "Values": values,
        "RemainingTerms": rest if facet.paging.include_remaining_terms else [],
        "RemainingTermsCount": len(rest),
        "RemainingHits": sum(tally[k].count for k in rest),
    }


def _sort_key(sort: str, tally: dict[str, _Tally]) -> Callable[[str], Any]:
    """Terms in the order ``sort`` (a ``FacetTermSortMode`` value) asks; ties by term."""
    if sort == "ValueDesc":
        return _Descending
    if sort == "CountAsc":
        return lambda term: (tally[term].count, term)
    if sort == "CountDesc":
        return lambda term: (-tally[term].count, term)
    return lambda term: term


class _Descending(str):
    """A term that sorts in reverse."""

    __slots__ = ()

    def __lt__(self, other: str) -> bool:
        return str.__gt__(self, other)


def _values(
    facet: FacetSpec, fields: list[tuple[str, str | None]], key: str, found: _Tally
) -> list[dict[str, Any]]:
    """The values of one term or range: one, or one per aggregated field and name."""
    if not fields:
        return [_value(None, key, found.count)]
    out = []
    for (field, display), numbers in zip(fields, found.numbers, strict=True):
        kinds = {
            a.kind for a in facet.aggregations if (a.field, a.display_name) == (field, display)
        }
        value = _value(display or field, key, found.count)
        if "Sum" in kinds:
            value["Sum"] = numbers.total
        if "Min" in kinds:
            value["Min"] = numbers.low
        if "Max" in kinds:
            value["Max"] = numbers.high
        if "Average" in kinds:
            value["Average"] = numbers.total / numbers.count if numbers.count else None
        out.append(value)
    return out


def _value(name: str | None, key: str, count: int) -> dict[str, Any]:
    return {
        "Name": name,
        "Range": key,
        "Count": count,
        "Sum": None,
        "Max": None,
        "Min": None,
        "Average": None,
    }


def counted_query(query: Query) -> Query:
    """``query`` as facets count it: every result it matches, unordered and unprojected."""
    return dataclasses.replace(
        query,
        order_by=(),
        skip=0,
        take=None,
        includes=(),
        select=(),
        distinct=False,
        select_as=(),
        counters=(),
    )


def run(
    storage: Storage,
    query: Query,
    facets: Sequence[FacetSpec],
    rows: Callable[[Query], tuple[QueryStatistics, Iterable[Any]]] | None = None,
) -> FacetAnswer:
    """``facets`` of ``query`` on ``storage``: its setups read, then the rows ``rows`` gives
    (the query's statistics and rows; by default its documents, streamed) counted."""
    started = time.perf_counter()

    def load(document_id: str) -> Any:
        found = storage.get([document_id]).documents.get(document_key(document_id))
        return None if found is None else orjson.loads(found.data)

    resolved = resolve_setups(facets, load)
    plain = counted_query(query)
    if rows is None:
        stream = storage.stream_query(plain)
        statistics: QueryStatistics = stream.statistics
        with stream:
            results, total = compute(resolved, (orjson.loads(r.data) for r in _records(stream)))
    else:
        statistics, found = rows(plain)
        results, total = compute(resolved, found)
    included: dict[str, DocumentRecord | None] = {}
    if query.includes:  # from the documents, as a query's (read again: rarely asked)
        included = storage.query(dataclasses.replace(plain, includes=query.includes)).includes
    elapsed = (time.perf_counter() - started) * 1000
    return FacetAnswer(
        results,
        dataclasses.replace(statistics, total_results=total, duration_in_ms=elapsed),
        included,
    )


def _records(stream: Iterable[Any]) -> Iterable[Any]:
    for row in stream:
        assert isinstance(row, DocumentRecord)  # counted_query selects nothing
        yield row


def encode_answer(answer: FacetAnswer) -> dict[str, Any]:
    """A ``/queries`` answer to a facet query, as RavenDB gives it: ``Results`` the facets'
    results, and the statistics of the query counted."""
    return {"Results": answer.results, "Includes": {}, **encode_statistics(answer.statistics)}


def decode_answer(body: Any) -> FacetAnswer:
    """``encode_answer``'s body back; ``ProtocolError`` where it is not one."""
    try:
        results = body["Results"]
        if not all(isinstance(r, dict) and isinstance(r.get("Values"), list) for r in results):
            raise TypeError("a facet's result is an object with Values")
        return FacetAnswer(list(results), decode_statistics(body))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ProtocolError(f"the server's facet answer is malformed: {exc}") from exc
