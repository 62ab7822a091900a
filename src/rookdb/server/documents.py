"""One document over RavenDB's protocol: ``PUT`` and ``DELETE /docs?id=`` (the client's
``PutDocumentCommand`` and ``DeleteDocumentCommand``), and what ``GET /docs`` adds for HTTP
caching: an ``ETag`` header, ``304 Not Modified`` for a matching ``If-None-Match`` (the
client's ``conditional_load`` and its HTTP cache), and ``metadataOnly=true``.

A write here is a batch of one command through ``Storage.apply``, decoded as ``bulk_docs``
decodes its commands (``rookdb.protocol``): the same checks, the same errors. The expected
change vector comes in ``If-Match``, as RavenDB's clients send it; a mismatch is a 409
``ConcurrencyException``, as from RavenDB.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from rookdb import protocol, protocol_batches
from rookdb.errors import ConfigurationError
from rookdb.ids import validate_id
from rookdb.storage.base import Storage
from rookdb.storage.records import DocumentRecord

__all__ = ["delete", "metadata_only", "not_modified", "put"]


def _id(request: Request) -> str:
    ids = request.query_params.getlist("id")
    if len(ids) != 1:
        raise ConfigurationError(f"{request.method} docs takes one id=...")
    return validate_id(ids[0])


async def put(storage: Storage, request: Request, body: Any) -> Response:
    """``PUT /docs?id=``: store ``body`` as the document; RavenDB's ``{"Id", "ChangeVector"}``
    with 201."""
    document_id = _id(request)
    expected = protocol.unquote_etag(request.headers.get("if-match"))
    command = {"Type": "PUT", "Id": document_id, "ChangeVector": expected, "Document": body}
    batch = protocol_batches.decode_commands({"Commands": [command]})
    result = await run_in_threadpool(storage.apply, batch)
    written = result.puts[0]
    return Response(
        orjson.dumps({"Id": written.id, "ChangeVector": written.change_vector}),
        201,
        headers={"ETag": protocol.etag_header(written.change_vector)},
        media_type="application/json; charset=utf-8",
    )


async def delete(storage: Storage, request: Request) -> Response:
    """``DELETE /docs?id=``: 204, whether or not the document existed (as RavenDB), unless an
    ``If-Match`` change vector does not match."""
    document_id = _id(request)
    expected = protocol.unquote_etag(request.headers.get("if-match"))
    command = {"Type": "DELETE", "Id": document_id, "ChangeVector": expected}
    await run_in_threadpool(
        storage.apply, protocol_batches.decode_commands({"Commands": [command]})
    )
    return Response(status_code=204)


def not_modified(request: Request, etag: str) -> Response | None:
    """A ``304`` when the client's ``If-None-Match`` names ``etag`` (its copy is current)."""
    if protocol.unquote_etag(request.headers.get("if-none-match")) == etag:
        return Response(status_code=304, headers={"ETag": protocol.etag_header(etag)})
    return None


def metadata_only(
    encode: Callable[[DocumentRecord], dict[str, Any]],
) -> Callable[[DocumentRecord], dict[str, Any]]:
    """``metadataOnly=true``: each document reduced to its ``@metadata`` (as a record: its
    ``Data`` reduced the same way)."""

    def reduced(record: DocumentRecord) -> dict[str, Any]:
        document = orjson.loads(record.data)
        kept = document.get("@metadata") if type(document) is dict else None
        data = orjson.dumps({"@metadata": kept} if type(kept) is dict else {})
        return encode(record._replace(data=data))

    return reduced
