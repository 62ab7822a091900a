"""The routes of RavenDB's counters, as its client calls them.

- ``GET /databases/{db}/counters?docId=..[&counter=..]...`` (``GetCountersOperation``): the
  counters asked for, a detail or null each, in order (null for an empty name, which the
  client sends for a null one); without ``counter``, every counter of the document.
  ``{"Counters": [...]}`` (``rookdb.counters_protocol``); a document without counters, or
  none at all, has none.
- ``POST /databases/{db}/counters`` (``CounterBatchOperation``, and ``GetCountersOperation``
  when its names are too long for a URL): a ``CounterBatch``, applied as one storage batch of
  ``CountersCommand``; the details of each ``Increment`` and ``Get``, in order.

A ``GET /counters`` item of a multi_get is answered by the same ``answer``. Counters included
with documents (``GET /docs?id=..&counter=..``, ``include counters(...)`` in a query) are
answered as ``CounterIncludes`` (``included``) and, for queries, ``IncludedCounterNames``
(``names_included``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from rookdb.counters_protocol import counters_detail, decode_counter_batch
from rookdb.errors import ConfigurationError
from rookdb.ids import validate_id
from rookdb.server.answers import json_response
from rookdb.storage.base import Storage
from rookdb.storage.commands import validate_counter_name
from rookdb.storage.records import ALL_COUNTERS, CountersReply, DocumentRecord

if TYPE_CHECKING:
    from rookdb.server.app import _Server

__all__ = ["answer", "counter_batch", "counters", "included", "names_included"]


def included(
    records: Mapping[str, DocumentRecord],
    found: Mapping[str, Mapping[str, int]],
    names: Sequence[str],
) -> dict[str, list[dict[str, Any] | None]]:
    """``CounterIncludes``: for each document found (``records`` and ``found`` by key), its
    counters' details: every one (``ALL_COUNTERS`` asked), or a detail or null per name
    asked, in order."""
    every = ALL_COUNTERS in names
    asked = list(dict.fromkeys(names))
    out: dict[str, list[dict[str, Any] | None]] = {}
    for key, counters in found.items():
        record = records.get(key)
        if record is None:
            continue
        if every:
            out[record.id] = counters_detail(record.id, list(counters.items()))
            continue
        by_key = {name.lower(): (name, value) for name, value in counters.items()}
        pairs = [by_key.get(name.lower(), (name, None)) for name in asked]
        out[record.id] = counters_detail(record.id, pairs)
    return out


def names_included(
    records: Mapping[str, DocumentRecord],
    found: Mapping[str, Mapping[str, int]],
    names: Sequence[str],
) -> dict[str, list[str]]:
    """``IncludedCounterNames``: the names asked for each document found (none: every one)."""
    asked = [] if ALL_COUNTERS in names else list(dict.fromkeys(names))
    return {records[key].id: list(asked) for key in found if key in records}


def answer(storage: Storage, params: QueryParams) -> Any:
    """The answer of ``GET /counters`` with ``params`` (the route's, or a multi_get item's);
    blocking: run it in a worker thread."""
    document_id = params.get("docId")
    if document_id is None:
        raise ConfigurationError("counters are read by docId")
    validate_id(document_id)
    # An empty name is the client's null name: a counter that cannot be there (null).
    names = [n and validate_counter_name(n) for n in params.getlist("counter")]
    full = params.get("full", "").lower() == "true"  # per node: one node here
    if not names:
        found = storage.get_counters(document_id)
        return {"Counters": counters_detail(document_id, list(found.items()), full)}
    named = [n for n in names if n]
    found = storage.get_counters(document_id, named) if named else {}  # by the names asked
    asked = [(name, found.get(name)) for name in names]
    return {"Counters": counters_detail(document_id, asked, full)}


async def counters(server: _Server, request: Request) -> Response:
    storage = server.storage(request, write=False)
    return json_response(await run_in_threadpool(answer, storage, request.query_params))


async def counter_batch(server: _Server, request: Request) -> Response:
    storage = server.storage(request, write=True)
    body = await server.body(request)
    commands = decode_counter_batch(body)
    full = body.get("ReplyWithAllNodesValues") is True
    if not commands:
        return json_response({"Counters": []})
    result = await run_in_threadpool(storage.apply, commands)
    details: list[dict[str, Any] | None] = []
    for reply in result.replies:
        assert isinstance(reply, CountersReply)
        details.extend(counters_detail(reply.id, reply.counters, full))
    return json_response({"Counters": details})
