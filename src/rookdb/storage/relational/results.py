"""Query results shaped in Python, the same way by every backend: rows as records, distinct
projections, the ids that include paths reference (both read document bodies, which SQL cannot
do exactly as ``rookdb.evaluate`` defines them), page totals, and the ``QueryResult`` itself."""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from rookdb.evaluate import project
from rookdb.ids import is_valid_id
from rookdb.paths import parse_field_path, referenced_values
from rookdb.query import Query, QueryStatistics
from rookdb.serialization.exact_numbers import Notes, loads_noting, may_lose_digits
from rookdb.storage.records import DocumentRecord, QueryResult, document_key
from rookdb.storage.relational.auto_indexes import index_name, index_timestamp

__all__ = [
    "as_record",
    "distinct_page",
    "distinct_projections",
    "included_keys",
    "projection",
    "query_result",
    "total_from_page",
]


#: A row of the record columns (``Statements``' reads) as a DocumentRecord: ``tuple.__new__``
#: is what the NamedTuple's ``_make`` calls, without its Python frame (one per document read).
as_record: Callable[[Any], DocumentRecord] = functools.partial(tuple.__new__, DocumentRecord)

#: Counters by document key (each by stored name), read for a ``select`` of ``counter()``.
Counted = dict[str, dict[str, int]]


def projection(
    record: DocumentRecord,
    query: Query,
    counters: Counted | None = None,
    notes: Notes | None = None,
) -> dict[str, Any]:
    """The projection of ``record`` that ``query`` selects (``rookdb.evaluate.project``), its
    counters from ``counters``; the floats of ``record`` that do not give back the number's
    text noted in ``notes`` (``QueryResult.notes``)."""
    found = None if counters is None else counters.get(record.id.lower())
    data = record.data
    projected = project(orjson.loads(data), query.select, query.select_as, record.id, found)
    # Read again with the floats noted only where what is projected holds a float and the
    # text may hold one a float does not give back as written: most projections do not.
    if notes is None or not _holds_float(projected) or not may_lose_digits(data):
        return projected
    return project(loads_noting(data, notes), query.select, query.select_as, record.id, found)


def _holds_float(value: Any) -> bool:
    kind = type(value)
    if kind is float:
        return True
    if kind is dict:
        return any(_holds_float(item) for item in value.values())
    if kind is list:
        return any(_holds_float(item) for item in value)
    return False


def distinct_projections(
    records: list[DocumentRecord],
    query: Query,
    counters: Counted | None = None,
    notes: Notes | None = None,
) -> tuple[list[dict[str, Any]], list[DocumentRecord]]:
    """Each distinct projection once (by its canonical JSON), with the first record giving it."""
    seen: set[bytes] = set()
    projections, kept = [], []
    for record in records:
        projection_ = projection(record, query, counters, notes)
        key = orjson.dumps(projection_)
        if key not in seen:
            seen.add(key)
            projections.append(projection_)
            kept.append(record)
    return projections, kept


def included_keys(records: Iterable[DocumentRecord], paths: Iterable[str]) -> list[str]:
    """The keys of the ids that ``paths`` reach in ``records``, once each: the one include
    rule of every backend (``rookdb.paths.referenced_values``: arrays on the way and at the
    end are walked, marked with ``[]`` or not, as RavenDB's includes walk them), keeping
    non-empty strings that are valid ids (anything else cannot name a document)."""
    segments = [parse_field_path(path) for path in paths]
    wanted: dict[str, None] = {}
    for record in records:
        body = orjson.loads(record.data)
        for path in segments:
            for value in referenced_values(body, path):
                if value and is_valid_id(value):
                    wanted[document_key(value)] = None
    return list(wanted)


def total_from_page(query: Query, found: int) -> int | None:
    """How many documents match in all, when one page of ``found`` results tells: the page is
    the last one and did not skip past the end. None means count them."""
    if (query.take is None or found < query.take) and (found or query.skip == 0):
        return query.skip + found
    return None


def distinct_page(
    records: list[DocumentRecord],
    query: Query,
    counters: Counted | None = None,
    notes: Notes | None = None,
) -> tuple[list[DocumentRecord], list[dict[str, Any]], int]:
    """A page of distinct projections of ``records`` (every match, in order), with the record
    giving each, and how many there are in all: counted and paged after projecting."""
    projections, kept = distinct_projections(records, query, counters, notes)
    end = None if query.take is None else query.skip + query.take
    return kept[query.skip : end], projections[query.skip : end], len(projections)


def query_result(
    query: Query,
    started: float,
    indexes: dict[tuple[str, str], int],
    records: list[DocumentRecord],
    projections: list[dict[str, Any]] | None,
    included: dict[str, DocumentRecord | None],
    total: int,
    as_of: dt.datetime,
    notes: Notes | None = None,
) -> QueryResult:
    """The result of ``query``, begun at ``perf_counter()`` ``started`` in a snapshot read at
    ``as_of`` or later (``index_timestamp``), with its statistics; ``notes``: its
    projections' (``QueryResult.notes``)."""
    name = index_name(query, indexes)
    stats = QueryStatistics(
        total_results=total,
        skipped_results=query.skip,
        duration_in_ms=(time.perf_counter() - started) * 1000,
        index_name=name,
        index_timestamp=index_timestamp(name, as_of),
    )
    return QueryResult(records, included, stats, projections, notes=notes or None)
