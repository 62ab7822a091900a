"""The routes of RavenDB's user-defined indexes, as its client 7.2 calls them.

- ``PUT /databases/{db}/admin/indexes`` (``PutIndexesOperation``): ``{"Indexes": [...]}``,
  each RavenDB's ``IndexDefinition`` JSON; ``{"Results": [{"Index": name,
  "RaftCommandIndex": n}]}``. A definition rookdb cannot run is a 400
  (``IndexCompilationException``) and none is stored. The answer comes once the definitions
  are stored, as RavenDB's does: the documents already there are indexed after it, in the
  background (``IndexBuilds``), a transaction of ``BUILD_BATCH`` documents at a time, while
  writes maintain the entries of the documents they touch. Until then the index's statistics
  say ``Building`` and ``IsStale``, and a query on it answers what is there with
  ``IsStale: true`` (``wait_for_non_stale_results`` waits for the build). A server stopped
  mid-build leaves the index ``Building``; the next start builds it on.
- ``GET /databases/{db}/indexes?name=..`` (``GetIndexOperation``): ``{"Results": [def]}``,
  a 404 when there is none (RavenDB's); ``?start=&pageSize=`` (``GetIndexesOperation``;
  its client sends ``pageSize<n> `` without ``=``, read as the same): the definitions in
  name order; ``&namesOnly=true`` (``GetIndexNamesOperation``): the names.
- ``DELETE /databases/{db}/indexes?name=..`` (``DeleteIndexOperation``): 204.
- ``RESET /databases/{db}/indexes?name=..`` (``ResetIndexOperation``, RavenDB's own method,
  which reaches the application as ``PURGE``: ``rookdb.server.connection``): 204, after the
  index is built again.
- ``GET /databases/{db}/indexes/stats[?name=..]`` (``GetIndexStatisticsOperation``,
  ``GetIndexesStatisticsOperation``): ``{"Results": [IndexStats]}``.
- ``GET /databases/{db}/indexes/errors[?name=..&name=..]`` (``GetIndexErrorsOperation``):
  ``{"Results": [{"Name", "Errors"}]}``; ``DELETE`` (``DeleteIndexErrorsOperation``) forgets
  them: 204.
- ``POST /databases/{db}/indexes/set-lock`` (``SetIndexesLockOperation``): ``{"IndexNames":
  [..], "Mode": ..}``, and ``/indexes/set-priority`` (``SetIndexesPriorityOperation``):
  ``{"IndexNames": [..], "Priority": ..}``; 204. A put that changes a ``LockedError`` index
  is a 400 (``IndexAlreadyExistException``).
- ``POST /databases/{db}/indexes/has-changed`` (``IndexHasChangedOperation``): a definition;
  ``{"Changed": bool}``. ``GET /indexes/status`` (``GetIndexingStatusOperation``):
  ``{"Status", "Indexes": [{"Name", "Status"}]}``. ``POST /admin/indexes/stop`` and
  ``/start`` (``?name=``: one index, ``StopIndexOperation``; without: indexing,
  ``StopIndexingOperation``): 204; a stopped index is still maintained (never stale) and
  only reported ``Paused``. ``POST /admin/indexes/disable?name=`` and ``/enable?name=``
  (``DisableIndexOperation``, ``EnableIndexOperation``; ``clusterWide`` is ignored: one
  node): 204; a disabled index is still maintained too, its state ``Disabled``.
  ``GET /indexes/terms?name=&field=&fromValue=&pageSize=``
  (``GetTermsOperation``): ``{"Terms": [...]}``.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from rookdb.errors import ConfigurationError, IndexCompilationError, IndexDoesNotExistError, shown
from rookdb.indexes.definitions import IndexDefinition, IndexLockMode, IndexPriority
from rookdb.server.answers import json_response
from rookdb.server.background import Background
from rookdb.server.limits import parse_count
from rookdb.storage.base import Backend

if TYPE_CHECKING:
    from rookdb.server.app import _Server

__all__ = [
    "IndexBuilds",
    "disable_index",
    "enable_index",
    "index_errors",
    "index_has_changed",
    "index_statistics",
    "index_terms",
    "indexes",
    "indexing_status",
    "put_indexes",
    "set_index_lock",
    "set_index_priority",
    "start_indexing",
    "stop_indexing",
    "time_span",
]

#: How long a query waits for non-stale results when it does not say (RavenDB's 15 s).
STALE_WAIT = 15.0
_TIME_SPAN = re.compile(r"^(?:(\d+)\.)?(\d+):(\d+):(\d+(?:\.\d+)?)$")


def time_span(value: Any) -> float:
    """Seconds of a .NET ``TimeSpan`` as RavenDB's client writes one (``[d.]hh:mm:ss[.f]``);
    ``STALE_WAIT`` when absent or not one."""
    found = _TIME_SPAN.match(value) if isinstance(value, str) else None
    if found is None:
        return STALE_WAIT
    days, hours, minutes, seconds = found.groups()
    return ((int(days or 0) * 24 + int(hours)) * 60 + int(minutes)) * 60 + float(seconds)


log = logging.getLogger("rookdb.server")

#: What ``GET /indexes`` pages by when the request names no page size (RavenDB's default).
_PAGE = 1024
# The client's GetIndexesOperation sends ``&pageSize25 `` (no ``=``).
_GLUED_PAGE = re.compile(r"(?:^|&)pageSize(\d+)\s*(?:&|$)")


def _administered(server: _Server, request: Request) -> str:
    """The database of an index-administration request, once its caller may change indexes
    there (write and admin rights)."""
    name = server.database(request, write=True)
    server.allow(request, name, write=True, admin=True)
    return name


async def put_indexes(server: _Server, request: Request) -> Response:
    name = _administered(server, request)
    body = await server.body(request)
    given = body.get("Indexes") if type(body) is dict else None
    if type(given) is not list or not given:
        raise IndexCompilationError('a put of indexes takes {"Indexes": [definitions]}')
    definitions = [IndexDefinition.from_json(item) for item in given]
    storage = server.backend.database(name)
    names = await run_in_threadpool(storage.store_indexes, definitions)
    server.index_builds.start(server.backend, name)
    return json_response({"Results": [{"Index": n, "RaftCommandIndex": 0} for n in names]})


def _page(request: Request) -> tuple[int, int]:
    params = request.query_params
    start = parse_count(params.get("start") or "0", "start")
    size = params.get("pageSize")
    if size is None:
        glued = _GLUED_PAGE.search(request.url.query)
        size = glued.group(1) if glued else str(_PAGE)
    return start, parse_count(size.strip(), "pageSize")


def _name(request: Request) -> str:
    name = request.query_params.get("name")
    if not name:
        raise ConfigurationError("this route takes the index's name (?name=)")
    return name


async def indexes(server: _Server, request: Request) -> Response:
    """``GET``, ``DELETE`` and ``RESET`` of ``/indexes``."""
    method = request.method
    if method == "GET":
        storage = server.storage(request, write=False)
        params = request.query_params
        if "name" in params:
            definition = await run_in_threadpool(storage.get_index, _name(request))
            if definition is None:
                raise IndexDoesNotExistError(f"Index '{params['name']}' does not exist")
            return json_response({"Results": [_definition_json(definition)]})
        start, size = _page(request)
        if (params.get("namesOnly") or "").lower() == "true":
            names = await run_in_threadpool(storage.get_index_names, start, size)
            return json_response({"Results": names})
        found = await run_in_threadpool(storage.get_indexes, start, size)
        return json_response({"Results": [_definition_json(d) for d in found]})
    name = _administered(server, request)
    storage = server.backend.database(name)
    if method == "DELETE":
        await run_in_threadpool(storage.delete_index, _name(request))
    else:  # RESET, which httptools' parser hands on as PURGE (``server.connection``)
        await run_in_threadpool(storage.reset_index, _name(request))
    return Response(status_code=204)


def _definition_json(definition: IndexDefinition) -> dict[str, Any]:
    return definition.with_server_defaults().to_json()


async def set_index_lock(server: _Server, request: Request) -> Response:
    return await _set_options(server, request, "Mode")


async def set_index_priority(server: _Server, request: Request) -> Response:
    return await _set_options(server, request, "Priority")


async def _set_options(server: _Server, request: Request, field: str) -> Response:
    name = _administered(server, request)
    body = await server.body(request)
    names = body.get("IndexNames") if type(body) is dict else None
    value = body.get(field) if type(body) is dict else None
    if type(names) is not list or not all(type(n) is str for n in names) or not names:
        raise ConfigurationError(f'this route takes {{"IndexNames": [names], "{field}": ...}}')
    try:
        mode = IndexLockMode(value) if field == "Mode" else None
        priority = IndexPriority(value) if field == "Priority" else None
    except ValueError:
        raise ConfigurationError(f"{field} {shown(value)} is none of RavenDB's") from None
    storage = server.backend.database(name)
    await run_in_threadpool(storage.set_index_options, names, mode, priority)
    return Response(status_code=204)


async def index_has_changed(server: _Server, request: Request) -> Response:
    storage = server.storage(request, write=False)
    definition = IndexDefinition.from_json(await server.body(request))
    changed = await run_in_threadpool(storage.index_has_changed, definition)
    return json_response({"Changed": changed})


async def index_terms(server: _Server, request: Request) -> Response:
    storage = server.storage(request, write=False)
    params = request.query_params
    field = params.get("field")
    if not field:
        raise ConfigurationError("this route takes the field (?field=)")
    size = params.get("pageSize") or "1024"
    page_size = parse_count(size, "pageSize")
    terms = await run_in_threadpool(
        storage.index_terms, _name(request), field, params.get("fromValue") or None, page_size
    )
    return json_response({"Terms": terms})


async def indexing_status(server: _Server, request: Request) -> Response:
    storage = server.storage(request, write=False)
    return json_response(await run_in_threadpool(storage.indexing_status))


async def stop_indexing(server: _Server, request: Request) -> Response:
    return await _running(server, request, False)


async def start_indexing(server: _Server, request: Request) -> Response:
    return await _running(server, request, True)


async def _running(server: _Server, request: Request, running: bool) -> Response:
    name = _administered(server, request)
    index = request.query_params.get("name") or None
    storage = server.backend.database(name)
    await run_in_threadpool(storage.set_indexing_running, running, index)
    return Response(status_code=204)


async def disable_index(server: _Server, request: Request) -> Response:
    return await _enabled(server, request, False)


async def enable_index(server: _Server, request: Request) -> Response:
    return await _enabled(server, request, True)


async def _enabled(server: _Server, request: Request, enabled: bool) -> Response:
    name = _administered(server, request)
    storage = server.backend.database(name)
    await run_in_threadpool(storage.set_index_enabled, _name(request), enabled)
    return Response(status_code=204)


async def index_statistics(server: _Server, request: Request) -> Response:
    storage = server.storage(request, write=False)
    name = request.query_params.get("name")
    found = await run_in_threadpool(storage.index_statistics, name)
    return json_response({"Results": [s.to_json() for s in found]})


async def index_errors(server: _Server, request: Request) -> Response:
    """``GET`` and ``DELETE`` of ``/indexes/errors``."""
    names = [n for n in request.query_params.getlist("name") if n] or None
    if request.method == "DELETE":
        storage = server.backend.database(_administered(server, request))
        await run_in_threadpool(storage.delete_index_errors, names)
        return Response(status_code=204)
    storage = server.storage(request, write=False)
    found = await run_in_threadpool(storage.index_errors, names)
    return json_response({"Results": [e.to_json() for e in found]})


def _listed(backend: Backend, database: str) -> bool:
    """Whether ``database`` still exists (asked after its build failed; True if unknown)."""
    try:
        return database.lower() in {name.lower() for name in backend.list_databases()}
    except Exception:
        return True


@dataclasses.dataclass(eq=False)  # (hashed by identity: Background keeps a set)
class _Build:
    """A database's index builds as ``Background`` runs them (its ``State``)."""

    status: str = "InProgress"
    error: dict[str, Any] | None = None
    killed: bool = False
    written: int = 0


class IndexBuilds:
    """The server's builds of indexes, one at a time per database, on ``Background``'s
    workers: ``start`` after a put (a put while one runs has it go round again, so the new
    index is not missed), ``resume`` at start for indexes a stopped server left
    ``Building``. Stopping the server kills them between two transactions."""

    def __init__(self, background: Background) -> None:
        self._background = background
        self._lock = threading.Lock()
        self._running: dict[str, bool] = {}  # database -> asked again while running

    def start(self, backend: Backend, database: str) -> None:
        with self._lock:
            if database in self._running:
                self._running[database] = True
                return
            self._running[database] = False
        self._background.start(_Build(), lambda killed: self._build(backend, database, killed))

    def _build(self, backend: Backend, database: str, killed: Callable[[], bool]) -> int:
        mapped = 0
        try:
            while True:
                mapped += backend.database(database).build_indexes(killed)
                with self._lock:
                    if not self._running[database] or killed():
                        return mapped
                    self._running[database] = False
        except Exception:
            if not _listed(backend, database):  # deleted under the build: it has ended
                log.info("building the indexes of %r stopped: the database was deleted", database)
                return mapped
            log.exception("building the indexes of %r stopped; they stay stale", database)
            raise
        finally:
            with self._lock:
                self._running.pop(database, None)

    def resume(self, backend: Backend) -> None:
        """Build on, in the background, what a server stopped mid-build left ``Building``."""

        def resume(killed: Callable[[], bool]) -> int:
            for database in backend.list_databases():
                if killed():
                    break
                self.start(backend, database)
            return 0

        self._background.start(_Build(), resume)
