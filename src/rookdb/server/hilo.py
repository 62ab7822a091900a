"""The HiLo routes: ``GET /databases/{db}/hilo/next`` reserves a range of ids for a client
(``Raven/Hilo/<tag>``'s ``Max`` raised, as RavenDB keeps it) and ``PUT .../hilo/return``
gives back the unused end of one (``storage.relational.hilo``)."""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from rookdb import protocol
from rookdb.ids import HILO_MAX_CAPACITY, hilo_capacity, validate_hilo_tag
from rookdb.server.answers import json_response
from rookdb.server.limits import parse_count
from rookdb.storage.records import last_modified_now

if TYPE_CHECKING:
    from rookdb.server.app import _Server

__all__ = ["next_range", "return_range"]


async def next_range(server: _Server, request: Request) -> Response:
    """A HiLo range: ``Raven/Hilo/<tag>``'s ``Max`` raised (``storage.relational.hilo``).
    RavenDB's clients send the size and time of their last range and let the server size
    the next one by RavenDB's rule (``ids.hilo_capacity``); rookdb's client, which keeps
    the same rule, sends ``capacity``. ``lastMax``: the top of the client's last range."""
    storage = server.storage(request, write=True)
    params = request.query_params
    tag = validate_hilo_tag(params.get("tag"))
    if "capacity" in params:  # rookdb's client chooses its range size
        capacity = parse_count(params["capacity"], "capacity")
    else:
        last = parse_count(params.get("lastBatchSize", "0"), "lastBatchSize")
        capacity = hilo_capacity(last, _parse_time(params.get("lastRangeAt") or ""))
    capacity = min(max(capacity, 1), HILO_MAX_CAPACITY)
    last_max = parse_count(params.get("lastMax", "0"), "lastMax")
    low, high = await run_in_threadpool(storage.reserve_ids, tag, capacity, last_max)
    separator = params.get("identityPartsSeparator") or "/"
    return json_response(
        {
            "Prefix": tag + separator,
            "Low": low,
            "High": high,
            "LastSize": high - low + 1,
            "ServerTag": protocol.SERVER_TAG,
            "LastRangeAt": last_modified_now(),
        }
    )


async def return_range(server: _Server, request: Request) -> Response:
    storage = server.storage(request, write=True)
    params = request.query_params
    tag = validate_hilo_tag(params.get("tag"))
    last = parse_count(params.get("last", ""), "last")
    end = parse_count(params.get("end", ""), "end")
    await run_in_threadpool(storage.return_ids, tag, last, end)
    return Response(status_code=204)


def _parse_time(text: str) -> dt.datetime | None:
    """A client's ``lastRangeAt`` (ISO 8601, up to 7 fractional digits, maybe ``Z``), or None
    when there is none or it does not parse: the first range's size then."""
    match = re.fullmatch(
        r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,7}))?(Z|[+-]\d\d:\d\d)?", text
    )
    if match is None:
        return None
    whole, fraction, zone = match.groups()
    try:
        moment = dt.datetime.fromisoformat(whole + "." + (fraction or "0")[:6].ljust(6, "0"))
    except ValueError:
        return None
    if zone and zone != "Z":
        return moment.replace(tzinfo=dt.datetime.fromisoformat(whole + zone).tzinfo)
    return moment.replace(tzinfo=dt.timezone.utc)
