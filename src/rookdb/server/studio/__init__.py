"""rookdb Studio: the databases seen and handled in a browser, at ``/studio`` of ``rookdb
serve`` (issue 19).

Server-rendered HTML (Jinja2, autoescaped; ``pages``) with a little vanilla JavaScript in a
static file (``static/studio.js``: JSON checked before saving, recent queries remembered in
the browser, the delete-database confirmation). Sessions, CSRF and the security headers are
in ``guard``; import and export in ``transfers``; the index list and an index's page in
``indexes``. ``routes`` gives the Starlette routes ``create_app`` adds to the server's.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from rookdb.server.studio import indexes, transfers
from rookdb.server.studio.guard import SECURITY_HEADERS, Guard
from rookdb.server.studio.pages import Studio

__all__ = ["STUDIO_ROUTES", "routes"]

#: The Studio's pages: (path, name, methods); the fuzzer makes requests for each.
STUDIO_ROUTES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("/studio", "home", ("GET",)),
    ("/studio/login", "login_page", ("GET", "POST")),
    ("/studio/logout", "logout", ("POST",)),
    ("/studio/databases", "create_database", ("POST",)),
    ("/studio/db/{database}", "database", ("GET",)),
    ("/studio/db/{database}/delete", "delete_database", ("POST",)),
    ("/studio/db/{database}/docs", "documents", ("GET",)),
    ("/studio/db/{database}/doc", "document", ("GET",)),
    ("/studio/db/{database}/doc", "save_document", ("POST",)),
    ("/studio/db/{database}/doc/delete", "delete_document", ("POST",)),
    ("/studio/db/{database}/new", "new_document", ("GET",)),
    ("/studio/db/{database}/query", "query", ("GET",)),
    ("/studio/db/{database}/indexes", "index_list", ("GET",)),
    ("/studio/db/{database}/index", "index_page", ("GET",)),
    ("/studio/db/{database}/transfer", "transfer_page", ("GET",)),
    ("/studio/db/{database}/export", "export_database", ("GET",)),
    ("/studio/db/{database}/import", "import_database", ("POST",)),
)


class _StaticFiles(StaticFiles):
    """The Studio's CSS and JavaScript, with the security headers."""

    async def get_response(self, path: str, scope: Any) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:  # no such file (404), not GET or HEAD (405)
            response = PlainTextResponse("not found", 404 if exc.status_code == 404 else 405)
        response.headers.update(SECURITY_HEADERS)
        return response


async def _root(request: Request) -> Response:
    """``GET /``: a browser is sent to the Studio; an API client gets today's 501."""
    if "text/html" in request.headers.get("accept", ""):
        return RedirectResponse("/studio", 303)
    from rookdb.server.answers import error_response

    return error_response(
        501,
        "NotSupportedException",
        "GET / is not part of the RavenDB protocol subset rookdb serves (the Studio: /studio)",
    )


def routes(backend: Any, access: Any, limits: Any, databases: Any) -> list[BaseRoute]:
    """The Studio's routes over the server's backend, access rules, limits and databases."""
    studio = Studio(backend, Guard(access), limits, databases)
    found: list[BaseRoute] = [Route("/", _root, methods=["GET"])]
    for path, name, methods in STUDIO_ROUTES:
        handler: Callable[[Request, Any], Awaitable[Response]]
        module = next((m for m in (transfers, indexes) if hasattr(m, name)), None)
        if module is not None:
            handler = functools.partial(getattr(module, name), studio)
        else:
            handler = getattr(studio, name)
        endpoint = studio.page(handler, login=name != "login_page")
        found.append(Route(path, endpoint, methods=list(methods)))
    static = _StaticFiles(directory=Path(__file__).parent / "static")
    found.append(Mount("/studio/static", app=static, name="studio-static"))
    # Anything else under /studio: a page saying so (a 404, not the protocol's 501).
    anything = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]
    found.append(
        Route("/studio/{rest:path}", studio.page(studio.not_found, login=False), methods=anything)
    )
    return found
