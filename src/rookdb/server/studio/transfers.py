"""The Studio's import and export of JSON lines: the work is ``rookdb.transfer``'s, as for
``rookdb export`` and ``rookdb import``.

An export streams (``export_lines`` pages through storage: flat memory whatever the size) as a
download. An import is the file itself as the body of a ``POST`` the page's script sends, so
that the browser can show the upload's progress; the script carries the session's CSRF token
in ``X-Studio-Token``. The file is checked whole (``check_records``) before its first batch is
written, so a bad line writes nothing and is reported by its number. The body is bounded by
the server's ``--max-body-mb``, as every request's.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from rookdb import transfer
from rookdb.errors import RookError
from rookdb.server.answers import json_response
from rookdb.server.limits import read_body
from rookdb.server.studio.guard import Session

if TYPE_CHECKING:
    from rookdb.server.studio.pages import Studio

__all__ = ["export_database", "import_database", "transfer_page"]


async def transfer_page(studio: Studio, request: Request, session: Session) -> Response:
    name = studio.database_name(request, session)
    writable = studio.guard.may(session, name, write=True)
    return studio.render(request, session, "transfer.html", database=name, writable=writable)


async def export_database(studio: Studio, request: Request, session: Session) -> Response:
    name = studio.database_name(request, session)
    collection = request.query_params.get("collection") or None
    storage = studio.backend.database(name)
    filename = f"{name}.jsonl"  # a database name is letters, digits, _, - and .
    return StreamingResponse(
        transfer.export_lines(storage, collection),  # a sync iterator: run in a thread
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def import_database(studio: Studio, request: Request, session: Session) -> Response:
    """The body is the file; the answer JSON: what was stored, or ``error`` in words."""
    studio.guard.check_post(request, session, request.headers.get("x-studio-token"))
    name = studio.database_name(request, session, write=True)
    body = await read_body(request, studio.limits)
    storage = studio.backend.database(name)

    def run() -> transfer.ImportCounts:
        file = io.BytesIO(body)
        transfer.check_records(file)
        file.seek(0)
        return transfer.import_records(storage, file)

    try:
        counts = await run_in_threadpool(run)
    except RookError as exc:  # the page shows it in words
        from rookdb import protocol

        return json_response({"error": str(exc)}, protocol.error_status(exc))
    answer: dict[str, Any] = counts._asdict()
    return json_response(answer)
