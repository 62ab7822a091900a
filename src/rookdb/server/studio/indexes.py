"""The Studio's indexes: a database's list of indexes and one index's page (issue 19).

Read through the same ``Storage`` calls the protocol's ``/indexes`` routes use:
``get_indexes`` (a page of user-defined definitions), ``index_statistics`` (kind, state,
entries, errors count), ``index_errors`` and ``get_index``. Automatic indexes are what
``statistics().indexes`` lists of them: a name (``auto/Users/name``); storage writes them with
the documents, so they are as current as the database's last etag and have no definition or
errors to show. A user-defined index is likewise kept in step with every write in its
transaction once built, so "last indexed" is the database's last etag unless it is building.

Lists are pages of ``PAGE``; every name, map and reduce is shown as text (autoescaped).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from rookdb.errors import ConfigurationError, IndexDoesNotExistError, shown
from rookdb.indexes.creation_tasks import MAX_NAME_LENGTH
from rookdb.indexes.definitions import IndexDefinition, IndexType
from rookdb.server.studio.guard import Session
from rookdb.server.studio.pages import PAGE, Studio, _count, _rql_collection
from rookdb.storage.base import Storage
from rookdb.storage.statistics import IndexStatistics

__all__ = ["index_list", "index_page"]

#: The kind shown for each RavenDB index type (JavaScript ones say so).
_KINDS = {
    IndexType.MAP: "map",
    IndexType.MAP_REDUCE: "map-reduce",
    IndexType.JAVA_SCRIPT_MAP: "map (JavaScript)",
    IndexType.JAVA_SCRIPT_MAP_REDUCE: "map-reduce (JavaScript)",
}


def _kind(definition: IndexDefinition) -> str:
    return _KINDS.get(definition.type, str(definition.type.value))


def _start(request: Request) -> int:
    return _count(request.query_params.get("start", "0"), "start")


def _user_page(storage: Storage, start: int, size: int) -> list[tuple[IndexDefinition, Any]]:
    """A page of definitions with each one's statistics (None if it went meanwhile)."""
    page: list[tuple[IndexDefinition, Any]] = []
    for definition in storage.get_indexes(start, size):
        try:
            found = storage.index_statistics(definition.name)
        except IndexDoesNotExistError:  # deleted between the two reads
            found = []
        page.append((definition, found[0] if found else None))
    return page


def _last_indexed(stats: IndexStatistics | None, last_etag: int) -> str:
    if stats is None:
        return "—"
    if stats.state != "Normal" or stats.is_stale:
        return f"building (since {stats.created})"
    return f"etag {last_etag} (with every write)"


async def index_list(studio: Studio, request: Request, session: Session) -> Response:
    """``GET /studio/db/{database}/indexes``: a page of user-defined indexes and a page of
    automatic ones (``?start=`` and ``?auto=``)."""
    name = studio.database_name(request, session)
    start = _start(request)
    auto_start = _count(request.query_params.get("auto", "0"), "auto")
    storage = studio.backend.database(name)
    stats = await run_in_threadpool(studio.backend.statistics, name)
    user: list[tuple[IndexDefinition, Any]] = []
    keeps = storage.capabilities.indexes
    if keeps:
        user = await run_in_threadpool(_user_page, storage, start, PAGE + 1)
    more = len(user) > PAGE
    rows = [
        {
            "name": d.name or "",
            "kind": _kind(d),
            "state": s.state if s is not None else "—",
            "entries": s.entries_count if s is not None else "—",
            "results": s.reduce_results_count if s is not None else None,
            "errors": s.errors_count if s is not None else 0,
            "last": _last_indexed(s, stats.last_doc_etag),
        }
        for d, s in user[:PAGE]
    ]
    autos = stats.indexes[auto_start : auto_start + PAGE]
    return studio.render(
        request,
        session,
        "indexes.html",
        database=name,
        keeps=keeps,
        rows=rows,
        autos=autos,
        auto_total=len(stats.indexes),
        last_etag=stats.last_doc_etag,
        start=start,
        previous=urlencode({"start": max(0, start - PAGE)}) if start else None,
        next=urlencode({"start": start + PAGE}) if more else None,
        auto_previous=(urlencode({"auto": max(0, auto_start - PAGE)}) if auto_start else None),
        auto_next=(
            urlencode({"auto": auto_start + PAGE})
            if auto_start + PAGE < len(stats.indexes)
            else None
        ),
    )


def _index_name(request: Request) -> str:
    found = request.query_params.get("name", "")
    if not found:
        raise ConfigurationError("this page takes the index's name (?name=)")
    # Longer than any index may be named, or with control characters: there is none such.
    if len(found) > MAX_NAME_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in found):
        raise IndexDoesNotExistError(f"there is no index {shown(found)}")
    return found


async def index_page(studio: Studio, request: Request, session: Session) -> Response:
    """``GET /studio/db/{database}/index?name=``: a definition (maps and reduce as text, the
    fields' options), its statistics and a page of its errors; an automatic index: what
    storage knows of it."""
    name = studio.database_name(request, session)
    index = _index_name(request)
    start = _start(request)
    storage = studio.backend.database(name)
    stats = await run_in_threadpool(studio.backend.statistics, name)
    definition = None
    if storage.capabilities.indexes:
        definition = await run_in_threadpool(storage.get_index, index)
    values: dict[str, Any] = {"database": name, "index": index, "last_etag": stats.last_doc_etag}
    if definition is None:
        if index not in stats.indexes:
            raise IndexDoesNotExistError(f"there is no index {shown(index)}")
        return studio.render(request, session, "index.html", auto=True, **values)
    index = definition.name or index
    found = await run_in_threadpool(storage.index_statistics, index)
    errors = await run_in_threadpool(storage.index_errors, [index])
    recorded = [e for found_errors in errors for e in found_errors.errors]
    count = sum(e.count for e in errors)
    index_stats = found[0] if found else None
    link = {"name": index}
    values.update(
        index=index,
        auto=False,
        kind=_kind(definition),
        stats=index_stats,
        last=_last_indexed(index_stats, stats.last_doc_etag),
        maps=sorted(definition.maps),
        reduce=definition.reduce,
        fields=sorted(
            (field, {k: v for k, v in options.to_json().items() if v is not None})
            for field, options in definition.fields.items()
        ),
        sources=sorted((definition.additional_sources or {}).items()),
        errors=recorded[start : start + PAGE],
        errors_count=max(count, len(recorded)),
        errors_shown=len(recorded),
        start=start,
        previous=urlencode({**link, "start": max(0, start - PAGE)}) if start else None,
        next=(urlencode({**link, "start": start + PAGE}) if start + PAGE < len(recorded) else None),
        query=urlencode({"q": "from index " + _rql_collection(index)}),  # same quoting
    )
    return studio.render(request, session, "index.html", **values)
