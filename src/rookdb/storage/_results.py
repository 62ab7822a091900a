"""Query results shaped in Python, the same way by every backend: distinct projections and the
ids that include paths reference. (Both read document bodies, which SQL cannot do exactly as
``rookdb.evaluate`` defines them.)"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from rookdb.evaluate import project
from rookdb.paths import values_at
from rookdb.query import Query
from rookdb.storage.records import DocumentRecord, document_key

__all__ = ["distinct_projections", "included_keys", "total_from_page"]


def distinct_projections(
    records: list[DocumentRecord], fields: tuple[str, ...]
) -> tuple[list[dict[str, Any]], list[DocumentRecord]]:
    """Each distinct projection once (by its canonical JSON), with the first record giving it."""
    seen: set[bytes] = set()
    projections, kept = [], []
    for record in records:
        projection = project(orjson.loads(record.data), fields)
        key = orjson.dumps(projection)
        if key not in seen:
            seen.add(key)
            projections.append(projection)
            kept.append(record)
    return projections, kept


def included_keys(records: Iterable[DocumentRecord], paths: Iterable[str]) -> list[str]:
    """The keys of the ids that ``paths`` reach in ``records`` (non-empty strings), once each."""
    paths = list(paths)
    wanted: dict[str, None] = {}
    for record in records:
        body = orjson.loads(record.data)
        for path in paths:
            for value in values_at(body, path):
                if isinstance(value, str) and value:
                    wanted[document_key(value)] = None
    return list(wanted)


def total_from_page(query: Query, found: int) -> int | None:
    """How many documents match in all, when one page of ``found`` results tells: the page is
    the last one and did not skip past the end. None means count them."""
    if (query.take is None or found < query.take) and (found or query.skip == 0):
        return query.skip + found
    return None
