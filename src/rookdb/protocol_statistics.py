"""A query's statistics on the wire, both ways: the fields RavenDB sends with a query's
results (``/queries``) and first in a streamed query (``/streams/queries``), written by the
server and read back by rookdb's http backend.

``IndexTimestamp`` is RavenDB's "last time the index indexed documents". RavenDB sends
``DateTime.MinValue`` for a collection query, which uses no index; rookdb does the same for a
scan, and for a query its automatic index answered, the moment the query's snapshot began
(``QueryStatistics.index_timestamp``): rookdb writes its indexes in the same transaction as
the documents, so the index held every write committed before it. ``ResultEtag`` is 0 (rookdb
keeps no result etags) and ``IsStale`` is false but for a user-defined index still being built
after a put (``rookdb.server.indexes``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from rookdb.errors import shown
from rookdb.query import QueryStatistics
from rookdb.serialization.scalars import decode_datetime, encode_datetime

__all__ = ["NO_INDEX_TIMESTAMP", "decode_statistics", "encode_statistics"]

#: .NET's ``DateTime.MinValue`` as RavenDB writes it: the ``IndexTimestamp`` of a scan.
NO_INDEX_TIMESTAMP = "0001-01-01T00:00:00.0000000"


def encode_statistics(stats: QueryStatistics) -> dict[str, Any]:
    """The statistics fields of a query answer, as RavenDB names them."""
    timestamp = stats.index_timestamp
    return {
        "ResultEtag": 0,
        "IsStale": stats.is_stale,
        "IndexName": stats.index_name,
        "TotalResults": stats.total_results,
        "LongTotalResults": stats.total_results,
        "SkippedResults": stats.skipped_results,
        "DurationInMs": int(stats.duration_in_ms),
        "IndexTimestamp": NO_INDEX_TIMESTAMP if timestamp is None else encode_datetime(timestamp),
    }


def decode_statistics(body: dict[str, Any]) -> QueryStatistics:
    """``encode_statistics``' fields (in ``body``) as ``QueryStatistics``; a KeyError or
    TypeError where ``body`` is not such an answer."""
    return QueryStatistics(
        total_results=body["TotalResults"],
        skipped_results=body.get("SkippedResults", 0),
        duration_in_ms=body.get("DurationInMs", 0),
        index_name=body.get("IndexName") or "",
        is_stale=bool(body.get("IsStale", False)),
        index_timestamp=_timestamp(body.get("IndexTimestamp")),
    )


def _timestamp(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or value.startswith("0001-01-01"):
        return None
    try:
        decoded = decode_datetime(value)
    except ValueError as exc:  # the callers' "malformed answer" error
        raise TypeError(f"IndexTimestamp {shown(value)} is not a time") from exc
    if not isinstance(decoded, dt.datetime):
        raise TypeError(f"IndexTimestamp {shown(value)} is not a time")
    return decoded if decoded.tzinfo is not None else decoded.replace(tzinfo=dt.timezone.utc)
