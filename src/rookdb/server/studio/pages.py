"""The Studio's pages: databases, a database's collections and statistics, a collection's
documents (paged), a document (read, edit, create, delete) and RQL queries.

Every page reads and writes through the server's own ``Backend``/``Storage`` objects with the
same checks as the JSON routes: database names by ``validate_database_name``, writes decoded
by ``protocol_batches`` as ``PUT /docs`` decodes them (so the same errors), queries parsed by
``rql.parse`` and paged as ``/queries`` pages them. Nothing reads a whole collection: lists are
pages of ``PAGE`` items, counts come from the database's statistics.

Templates are Jinja2 with autoescape on: ids, collection names and document content are
always text, never markup.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from rookdb import protocol, protocol_batches, rql
from rookdb.errors import (
    AuthenticationError,
    ConcurrencyError,
    ConfigurationError,
    DatabaseDoesNotExistError,
    RookError,
    shown,
)
from rookdb.ids import shown_id, validate_database_name, validate_id
from rookdb.serialization.exact_numbers import keep_digits, loads_keeping_digits, written_back
from rookdb.server.limits import BodyTimeout, BodyTooLarge, read_body
from rookdb.server.multi_get import apply_body_paging
from rookdb.server.studio.guard import SECURITY_HEADERS, Guard, Session
from rookdb.storage.base import Backend
from rookdb.storage.records import DocumentRecord, document_key

__all__ = ["PAGE", "Studio"]

log = logging.getLogger("rookdb.server.studio")

#: Items per page of a list.
PAGE = 50
#: Fields shown as columns of a collection's page, besides the id and last modified.
FIELDS = 3

_HERE = Path(__file__).parent
_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(_HERE / "templates"),
    autoescape=True,  # every value is text; nothing a document holds becomes markup
    undefined=jinja2.StrictUndefined,
)


def _pretty(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def _cell(value: Any) -> str:
    """A value as a table cell's text: strings as they are, anything else as JSON, cut short."""
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return text if len(text) <= 80 else text[:79] + "…"


_TEMPLATES.filters["pretty"] = _pretty
_TEMPLATES.filters["cell"] = _cell


class Studio:
    """The Studio's routes over the server's backend (``rookdb.server.app._Server``'s)."""

    def __init__(self, backend: Backend, guard: Guard, limits: Any, databases: Any) -> None:
        self.backend = backend
        self.guard = guard
        self.limits = limits
        self.databases = databases  # the server's Databases: what exists, remembered

    # -- plumbing ----------------------------------------------------------------------------

    def render(
        self,
        request: Request,
        session: Session,
        template: str,
        status: int = 200,
        **values: Any,
    ) -> Response:
        html = _TEMPLATES.get_template(template).render(
            session=session,
            needs_key=self.guard.needs_key,
            csrf=session.csrf,
            **values,
        )
        response = Response(html, status, media_type="text/html; charset=utf-8")
        self.guard.set_cookie(request, response, session)
        return response

    def page(
        self, handler: Callable[[Request, Session], Awaitable[Response]], *, login: bool = True
    ) -> Callable[[Request], Awaitable[Response]]:
        """A route: the session found or made, login asked for, errors shown in words (a
        4xx for bad input or refused access, never a stack trace), security headers."""

        async def run(request: Request) -> Response:
            session = self.guard.session(request)
            try:
                if login and not self.guard.logged_in(session):
                    response: Response = RedirectResponse("/studio/login", 303)
                    self.guard.set_cookie(request, response, session)
                else:
                    response = await handler(request, session)
            except (BodyTooLarge, BodyTimeout):
                response = self.failure(request, session, 413, "the form is over the size limit")
            except DatabaseDoesNotExistError:
                message = "there is no such database"
                response = self.failure(request, session, 404, message)
            except RookError as exc:
                response = self.failure(request, session, protocol.error_status(exc), str(exc))
            except Exception:  # a bug: logged here, the user told no more than that
                log.exception("unexpected error on %s %s", request.method, request.url.path)
                message = "internal error (see the server's log)"
                response = self.failure(request, session, 500, message)
            response.headers.update(SECURITY_HEADERS)
            return response

        return run

    def failure(self, request: Request, session: Session, status: int, message: str) -> Response:
        return self.render(request, session, "error.html", status, message=message)

    async def not_found(self, request: Request, session: Session) -> Response:
        return self.failure(request, session, 404, "there is no such page in the Studio")

    async def form(self, request: Request, session: Session) -> dict[str, str]:
        """A POSTed form (url-encoded), its CSRF token checked."""
        from urllib.parse import parse_qsl

        body = await read_body(request, self.limits)
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except (UnicodeDecodeError, ValueError) as exc:
            raise ConfigurationError("the form is not url-encoded UTF-8") from exc
        fields = dict(pairs)
        self.guard.check_post(request, session, fields.get("csrf"))
        return fields

    def database_name(self, request: Request, session: Session, *, write: bool = False) -> str:
        name = validate_database_name(request.path_params["database"])
        self.guard.check(session, name, write=write)
        self.databases.require(name, create=False)
        return name

    # -- login -------------------------------------------------------------------------------

    async def login_page(self, request: Request, session: Session) -> Response:
        if request.method == "GET":
            return self.render(request, session, "login.html", error=None)
        fields = await self.form(request, session)
        try:
            new = self.guard.login(session, fields.get("key", ""))
        except AuthenticationError as exc:
            return self.render(request, session, "login.html", 401, error=str(exc))
        response = RedirectResponse("/studio", 303)
        self.guard.set_cookie(request, response, new)
        return response

    async def logout(self, request: Request, session: Session) -> Response:
        await self.form(request, session)
        self.guard.logout(session)
        response = RedirectResponse("/studio/login" if self.guard.needs_key else "/studio", 303)
        response.delete_cookie("rookdb_studio", path="/studio")
        return response

    # -- databases ---------------------------------------------------------------------------

    async def home(self, request: Request, session: Session) -> Response:
        names = await run_in_threadpool(self.backend.list_databases)
        readable = [n for n in names if self.guard.may(session, n, write=False)]
        return self.render(
            request,
            session,
            "databases.html",
            databases=readable,
            admin=self.guard.may(session, None, write=True, admin=True),
        )

    async def create_database(self, request: Request, session: Session) -> Response:
        fields = await self.form(request, session)
        self.guard.check(session, None, write=True, admin=True)
        name = validate_database_name(fields.get("name", ""))
        await run_in_threadpool(self.backend.create_database, name)
        self.databases.created(name)
        return RedirectResponse(f"/studio/db/{_quote(name)}", 303)

    async def delete_database(self, request: Request, session: Session) -> Response:
        fields = await self.form(request, session)
        self.guard.check(session, None, write=True, admin=True)
        name = validate_database_name(request.path_params["database"])
        if fields.get("confirm") != name:
            raise ConfigurationError(f"type the database's name, {name}, to delete it")
        try:
            await run_in_threadpool(self.backend.delete_database, name)
        finally:
            self.databases.deleted(name)
        return RedirectResponse("/studio", 303)

    async def database(self, request: Request, session: Session) -> Response:
        name = self.database_name(request, session)
        stats = await run_in_threadpool(self.backend.statistics, name)
        return self.render(
            request,
            session,
            "database.html",
            database=name,
            stats=stats,
            writable=self.guard.may(session, name, write=True),
            admin=self.guard.may(session, None, write=True, admin=True),
        )

    # -- documents ---------------------------------------------------------------------------

    async def documents(self, request: Request, session: Session) -> Response:
        name = self.database_name(request, session)
        params = request.query_params
        collection = params.get("collection", "")
        prefix = params.get("prefix", "")
        start = _count(params.get("start", "0"), "start")
        source = "@all_docs" if not collection else _rql_collection(collection)
        text = f"from {source}" + (" where startsWith(id(), $prefix)" if prefix else "")
        query = rql.parse(text, {"prefix": prefix} if prefix else {})
        query = apply_body_paging(query, start, PAGE + 1)  # one more: is there a next page?
        storage = self.backend.database(name)
        result = await run_in_threadpool(storage.query, query)
        records = list(result.records)
        more = len(records) > PAGE
        records = records[:PAGE]
        rows = [(r, _body(r)) for r in records]
        fields: list[str] = []
        for _, body in rows:
            for field in body:
                if not field.startswith("@") and field not in fields and len(fields) < FIELDS:
                    fields.append(field)
        link = {"collection": collection, "prefix": prefix}
        return self.render(
            request,
            session,
            "documents.html",
            database=name,
            collection=collection,
            prefix=prefix,
            rows=rows,
            fields=fields,
            start=start,
            previous=urlencode({**link, "start": max(0, start - PAGE)}) if start else None,
            next=urlencode({**link, "start": start + PAGE}) if more else None,
            writable=self.guard.may(session, name, write=True),
        )

    async def document(self, request: Request, session: Session) -> Response:
        name = self.database_name(request, session)
        document_id = validate_id(request.query_params.get("id", ""))
        storage = self.backend.database(name)
        result = await run_in_threadpool(storage.get, [document_id])
        record = result.documents.get(document_key(document_id))
        if record is None:
            return self.failure(
                request,
                session,
                404,
                f"there is no document {shown_id(document_id)}",
            )
        # What the backend keeps (its capabilities), each read-only here; a page of revisions.
        can = storage.capabilities
        attachments = (
            await run_in_threadpool(storage.get_attachments, record.id) if can.attachments else []
        )
        revisions = (
            await run_in_threadpool(storage.get_revisions, record.id, 0, PAGE)
            if can.revisions
            else None
        )
        counters = await run_in_threadpool(storage.get_counters, record.id) if can.counters else {}
        return self.document_page(
            request,
            session,
            name,
            record,
            attachments=attachments,
            revisions=revisions,
            counters=counters,
        )

    def document_page(
        self,
        request: Request,
        session: Session,
        database: str,
        record: DocumentRecord | None,
        status: int = 200,
        *,
        text: str | None = None,
        error: str | None = None,
        attachments: Any = (),
        revisions: Any = None,
        counters: dict[str, int] | None = None,
        document_id: str = "",
    ) -> Response:
        body = _body(record) if record is not None else {}
        metadata = protocol.encode_document(record)["@metadata"] if record is not None else {}
        content = {k: v for k, v in body.items() if k != "@metadata"}
        if record is None and text is None:
            text = _pretty({"@metadata": {"@collection": ""}})
        return self.render(
            request,
            session,
            "document.html",
            status,
            database=database,
            record=record,
            document_id=record.id if record is not None else document_id,
            content=content,
            metadata=metadata,
            text=text if text is not None else _pretty(body),
            error=error,
            attachments=attachments,
            revisions=list(revisions.records) if revisions is not None else [],
            revisions_total=revisions.total if revisions is not None else 0,
            counters=counters or {},
            writable=self.guard.may(session, database, write=True),
        )

    async def new_document(self, request: Request, session: Session) -> Response:
        name = self.database_name(request, session)
        return self.document_page(request, session, name, None)

    async def save_document(self, request: Request, session: Session) -> Response:
        fields = await self.form(request, session)
        name = self.database_name(request, session, write=True)
        document_id = validate_id(fields.get("id", "").strip())
        if not document_id:
            raise ConfigurationError("a document needs an id, such as users/1")
        text = fields.get("document", "")
        expected = fields.get("change_vector") or None
        storage = self.backend.database(name)
        try:
            body = keep_digits(text.encode(), orjson.loads(text))  # numbers as typed
        except orjson.JSONDecodeError as exc:
            return await self._again(request, session, name, document_id, text, f"not JSON: {exc}")
        if type(body) is not dict:
            return await self._again(
                request, session, name, document_id, text, "a document is a JSON object"
            )
        command = {"Type": "PUT", "Id": document_id, "ChangeVector": expected, "Document": body}
        try:
            batch = protocol_batches.decode_commands({"Commands": [command]})
            await run_in_threadpool(storage.apply, batch)
        except ConcurrencyError:
            message = (
                "Not saved: someone else changed this document since you opened it (409). "
                "Their version is shown above and your text is kept below; saving again "
                "replaces their version with your text."
            )
            return await self._again(request, session, name, document_id, text, message, 409)
        query = urlencode({"id": document_id})
        return RedirectResponse(f"/studio/db/{_quote(name)}/doc?{query}", 303)

    async def _again(
        self,
        request: Request,
        session: Session,
        database: str,
        document_id: str,
        text: str,
        error: str,
        status: int = 400,
    ) -> Response:
        """The document's page again with the user's text and what went wrong."""
        storage = self.backend.database(database)
        result = await run_in_threadpool(storage.get, [document_id])
        record = result.documents.get(document_key(document_id))
        return self.document_page(
            request,
            session,
            database,
            record,
            status,
            text=text,
            error=error,
            document_id=document_id,
        )

    async def delete_document(self, request: Request, session: Session) -> Response:
        fields = await self.form(request, session)
        name = self.database_name(request, session, write=True)
        document_id = validate_id(fields.get("id", ""))
        expected = fields.get("change_vector") or None
        command = {"Type": "DELETE", "Id": document_id, "ChangeVector": expected}
        storage = self.backend.database(name)
        await run_in_threadpool(
            storage.apply, protocol_batches.decode_commands({"Commands": [command]})
        )
        return RedirectResponse(f"/studio/db/{_quote(name)}/docs", 303)

    # -- queries -----------------------------------------------------------------------------

    async def query(self, request: Request, session: Session) -> Response:
        name = self.database_name(request, session)
        params = request.query_params
        text = params.get("q", "")
        parameters_text = params.get("params", "").strip() or "{}"
        start = _count(params.get("start", "0"), "start")
        values: dict[str, Any] = {
            "database": name,
            "text": text,
            "parameters": parameters_text,
            "error": None,
            "ran": False,
        }
        if not text.strip():
            return self.render(request, session, "query.html", **values)
        try:
            parameters = orjson.loads(parameters_text)
        except orjson.JSONDecodeError as exc:
            raise ConfigurationError(f"the parameters are not JSON: {exc}") from exc
        if type(parameters) is not dict:
            raise ConfigurationError('the parameters are a JSON object: {"name": value}')
        query = apply_body_paging(rql.parse(text, parameters), start, PAGE)
        storage = self.backend.database(name)
        began = time.perf_counter()
        result = await run_in_threadpool(storage.query, query)
        took = time.perf_counter() - began
        if result.projections is None:
            rows = [_body(r) | {"id()": r.id} for r in result.records]
        else:
            # Their numbers as stored (9.50), as a document's are shown (``_body``).
            rows = [dict(written_back(p, result.notes)) for p in result.projections]
        columns: list[str] = []
        for row in rows:
            for field in row:
                if field != "@metadata" and field not in columns:
                    columns.append(field)
        stats = result.statistics
        link = {"q": text, "params": parameters_text}
        total = stats.total_results
        values.update(
            ran=True,
            rows=rows,
            columns=columns,
            json=_pretty(rows),
            took_ms=round(took * 1000, 1),
            total=total,
            index=stats.index_name,
            start=start,
            previous=urlencode({**link, "start": max(0, start - PAGE)}) if start else None,
            next=urlencode({**link, "start": start + PAGE}) if start + PAGE < total else None,
        )
        return self.render(request, session, "query.html", **values)


def _body(record: DocumentRecord) -> dict[str, Any]:
    """A document as the Studio shows it, its numbers as stored (9.50, not 9.5: what the
    editor shows is saved back as it was; ``exact_numbers.keep_digits``)."""
    value = loads_keeping_digits(record.data)
    return value if type(value) is dict else {}


def _count(text: str, what: str) -> int:
    if not text.isdigit() or len(text) > 12:
        raise ConfigurationError(f"{what} is a whole number, not {shown(text)}")
    return int(text)


def _rql_collection(name: str) -> str:
    """A collection name as RQL's ``from`` takes it: quoted, its quotes escaped."""
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
