"""The ``http(s)://`` backend: the storage interface over RavenDB's HTTP protocol (SPEC B4).

Talks to ``rookdb serve`` (or another server speaking the same subset) with httpx: one
keep-alive connection pool per store, shared by its sessions and threads. Each storage call is
one request; the shapes are in ``rookdb.protocol``.

Failures keep their meaning across the wire: a conflict is ``ConcurrencyError`` with the
document id and both change vectors, a bad query is ``QueryError`` with its position, and so
on (the server sends the rookdb error class). A server that cannot be reached is
``StorageUnavailableError``; a batch whose answer never came (the connection broke or timed out
after it was sent) is ``OutcomeUnknownError``: it may or may not have been committed.

An API key (``rookdb serve --api-keys``) is taken from ``$ROOKDB_API_KEY``.

``HttpStorage`` is made of a base per concept, each on its routes: ``http_indexes``,
``http_attachments`` (with ``http_revisions``), ``http_counters``, ``http_identities`` (HiLo,
identities, the client configuration) and ``http_streams``; the connections and failover are
``http_transport``'s. This module keeps the reads (documents by id and by prefix, several in
one ``multi_get``, queries, facets), the batch, and ``HttpBackend``, the server's databases.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from rookdb import protocol, protocol_batches
from rookdb.errors import (
    ConfigurationError,
    IndexDoesNotExistError,
    ProtocolError,
    StorageError,
    shown,
)
from rookdb.facet_compute import FacetAnswer, decode_answer
from rookdb.facet_rql import FacetQuery, FacetSpec, print_facet_query
from rookdb.ids import validate_database_name
from rookdb.protocol_statistics import decode_statistics
from rookdb.query import Query
from rookdb.rql_printer import print_query
from rookdb.serialization.exact_numbers import Notes
from rookdb.storage.base import Backend
from rookdb.storage.commands import AttachmentPutCommand, Command, CountersCommand
from rookdb.storage.http_attachments import HttpAttachments
from rookdb.storage.http_counters import (
    HttpCounters,
    included_counters,
    named_replies,
    noting_counters,
)
from rookdb.storage.http_identities import HttpIdentities
from rookdb.storage.http_indexes import HttpIndexes
from rookdb.storage.http_streams import HttpStreams
from rookdb.storage.http_transport import (
    API_KEY_VARIABLE,
    MAX_BATCH_BYTES,
    NOT_MODIFIED,
    Client,
    results_of,
)
from rookdb.storage.identities import check_client_configuration
from rookdb.storage.records import (
    BatchResult,
    ConditionalGetResult,
    DocumentRecord,
    GetResult,
    IdsRead,
    PrefixRead,
    QueryRead,
    QueryResult,
    Read,
    ReadResult,
    RecentRead,
    document_key,
)
from rookdb.storage.statistics import Capabilities, DatabaseStatistics

__all__ = ["API_KEY_VARIABLE", "HttpBackend", "HttpStorage"]


class HttpStorage(HttpIndexes, HttpAttachments, HttpCounters, HttpIdentities, HttpStreams):
    """One database of a rookdb server."""

    #: Requests in flight at once from the async session (each a worker thread on the
    #: shared httpx ``Client``).
    async_threads = 8
    #: The async session's hot calls can run on httpx's ``AsyncClient`` (``bridge``).
    async_native = True
    #: Not by default: httpx's ``AsyncClient`` measured 1.5x to 3x slower than the ``Client``
    #: in threads per request, and slower still with 16 tasks on one client (bench/README.md).
    async_native_faster = False

    def __init__(self, client: Client, name: str, capabilities: Capabilities) -> None:
        self.capabilities = capabilities
        self.name = name
        self._client = client
        self._path = f"/databases/{quote(name, safe='')}"

    def get(self, ids: Sequence[str], includes: Sequence[str] = ()) -> GetResult:
        if not ids:
            return GetResult({}, {})
        body = self._client.request(
            "POST",
            f"{self._path}/docs",
            params=[("include", path) for path in includes],
            content=orjson.dumps({"Ids": list(ids)}),
        )
        return _get_result(body)

    def conditional_get(self, document_id: str, change_vector: str) -> ConditionalGetResult:
        """``GET /docs?id=`` with ``If-None-Match``: an unchanged document is a bodiless 304."""
        body = self._client.request(
            "GET",
            f"{self._path}/docs",
            params={"id": document_id},
            missing_ok=True,
            headers={"If-None-Match": protocol.etag_header(change_vector)},
        )
        if body is NOT_MODIFIED:
            return ConditionalGetResult(False, None)
        if body is None:
            return ConditionalGetResult(True, None)
        records = results_of(body)
        if len(records) != 1 or records[0] is None:
            raise ProtocolError("the server's answer to a conditional get is not one document")
        return ConditionalGetResult(True, protocol.decode_document(records[0]))

    def get_prefix(
        self,
        prefix: str,
        start: int = 0,
        page_size: int = 25,
        matches: str = "",
        exclude: str = "",
        start_after: str = "",
    ) -> list[DocumentRecord]:
        read = PrefixRead(prefix, start, page_size, matches, exclude, start_after)
        body = self._client.request("GET", f"{self._path}/docs", params=_prefix_params(read))
        return _prefix_result(body)

    def read_many(self, reads: Sequence[Read]) -> list[ReadResult]:
        """One ``POST /multi_get`` (RavenDB's shape): the server runs the reads in one
        snapshot and answers each as its own route would."""
        reads = list(reads)
        if not reads:
            return []
        requests = [self._multi_get_request(read) for read in reads]
        projects = any(isinstance(read, QueryRead) and read.query.select for read in reads)
        notes: Notes | None = {} if projects else None  # projections' digits (9.50)
        body = self._client.request(
            "POST",
            f"{self._path}/multi_get",
            content=orjson.dumps({"Requests": requests}),
            notes=notes,
        )
        try:
            answers = body["Results"]
            if type(answers) is not list or len(answers) != len(reads):
                raise ProtocolError("the server's multi_get answer has the wrong number of results")
            results: list[ReadResult] = []
            for read, answer in zip(reads, answers, strict=True):
                status, result = answer["StatusCode"], answer["Result"]
                if status == 404 and result is None and isinstance(read, QueryRead):
                    # RavenDB's answer to a query of an index that does not exist.
                    name = read.query.index_name
                    raise IndexDoesNotExistError(f"Index {shown(name)} does not exist")
                if status >= 400:
                    raise protocol.error_from_body(
                        status, result if isinstance(result, dict) else None
                    )
                if isinstance(read, IdsRead):
                    results.append(_get_result(result))
                elif isinstance(read, PrefixRead | RecentRead):
                    results.append(_prefix_result(result))
                else:
                    results.append(_query_result(read.query, result, notes))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ProtocolError(f"the server's multi_get answer is malformed: {exc}") from exc
        return results

    def _multi_get_request(self, read: Read) -> dict[str, Any]:
        if isinstance(read, IdsRead):
            query = urlencode(
                [("include", path) for path in read.includes]
                + [("counter", name) for name in read.counters]
            )
            return {
                "Url": f"{self._path}/docs",
                "Query": f"?{query}" if query else "",
                "Method": "POST",
                "Headers": {},
                "Content": {"Ids": list(read.ids)},
            }
        if isinstance(read, PrefixRead | RecentRead):
            params = (
                _prefix_params(read)
                if isinstance(read, PrefixRead)
                else {"start": read.start, "pageSize": read.page_size}
            )
            return {
                "Url": f"{self._path}/docs",
                "Query": "?" + urlencode(params),
                "Method": "GET",
                "Headers": {},
                "Content": None,
            }
        text, parameters = print_query(read.query)
        return {
            "Url": f"{self._path}/queries",
            "Query": "",
            "Method": "POST",
            "Headers": {},
            "Content": {"Query": text, "QueryParameters": parameters},
        }

    def apply(self, batch: Iterable[Command]) -> BatchResult:
        commands = batch if isinstance(batch, list) else list(batch)
        if any(type(c) is AttachmentPutCommand for c in commands):
            return self._apply_with_streams(commands)
        counted: list[CountersCommand] = []
        content = protocol_batches.encode_commands(noting_counters(commands, counted))
        if len(content) > MAX_BATCH_BYTES:
            raise StorageError(
                f"this batch is {len(content):,} bytes; the server accepts at most "
                f"{MAX_BATCH_BYTES:,} (SPEC H4): save in smaller batches"
            )
        body = self._client.request("POST", f"{self._path}/bulk_docs", content=content, write=True)
        result = protocol_batches.decode_batch_result(body)
        return named_replies(result, counted) if counted else result

    def query(self, query: Query) -> QueryResult:
        text, parameters = print_query(query)
        notes: Notes | None = {} if query.select else None  # a projection's digits (9.50)
        body = self._client.request(
            "POST",
            f"{self._path}/queries",
            content=orjson.dumps({"Query": text, "QueryParameters": parameters}),
            notes=notes,
        )
        return _query_result(query, body, notes)

    def facets(self, query: Query, facets: Sequence[FacetSpec]) -> FacetAnswer:
        text, parameters = print_facet_query(FacetQuery(query, tuple(facets)))
        body = self._client.request(
            "POST",
            f"{self._path}/queries",
            content=orjson.dumps({"Query": text, "QueryParameters": parameters}),
        )
        try:
            included = _included(body.get("Includes") or {})
        except (TypeError, AttributeError) as exc:
            raise ProtocolError(f"the server's facet answer is malformed: {exc}") from exc
        return decode_answer(body)._replace(includes=included)

    def close(self) -> None:
        pass  # the connection pool belongs to the backend


def _get_result(body: Any) -> GetResult:
    try:
        found = {
            document_key(r.id): r
            for r in protocol.decode_documents(body["Results"])
            if r is not None
        }
        included = _included(body["Includes"])
        counters = included_counters(body.get("CounterIncludes"))
    except (KeyError, TypeError, AttributeError) as exc:
        raise ProtocolError(f"the server's documents answer is malformed: {exc}") from exc
    return GetResult(found, included, counters)


def _prefix_params(read: PrefixRead) -> list[tuple[str, str | int]]:
    params: list[tuple[str, str | int]] = [
        ("startsWith", read.prefix),
        ("start", read.start),
        ("pageSize", read.page_size),
    ]
    for name, value in (
        ("matches", read.matches),
        ("exclude", read.exclude),
        ("startAfter", read.start_after),
    ):
        if value:
            params.append((name, value))
    return params


def _prefix_result(body: Any) -> list[DocumentRecord]:
    return [r for r in protocol.decode_documents(results_of(body)) if r is not None]


def _query_result(query: Query, body: Any, notes: Notes | None = None) -> QueryResult:
    """A query's answer; ``notes``: those of its projections' numbers (``QueryResult``)."""
    try:
        stats = decode_statistics(body)
        included = _included(body.get("Includes") or {})
        counters = included_counters(body.get("CounterIncludes"))
        results = body["Results"]
        if (
            query.select
            or query.group_by
            or (
                # A map-reduce index answers results that are no documents (no "@id").
                query.index_name is not None
                and any(type(r) is dict and "@id" not in r for r in results)
            )
        ):
            return QueryResult([], included, stats, list(results), counters, notes or None)
        records = [r for r in protocol.decode_documents(body["Results"]) if r is not None]
    except (KeyError, TypeError, AttributeError) as exc:
        raise ProtocolError(f"the server's query answer is malformed: {exc}") from exc
    return QueryResult(records, included, stats, None, counters)


def _included(includes: dict[str, Any]) -> dict[str, DocumentRecord | None]:
    """An answer's ``Includes`` by key; a missing document is None."""
    return {
        document_key(key): record
        for key, record in zip(includes, protocol.decode_documents(includes.values()), strict=True)
    }


class HttpBackend(Backend):
    """The databases of one rookdb server."""

    def __init__(self, urls: str | Sequence[str]) -> None:
        given = [urls] if isinstance(urls, str) else list(urls)
        for url in given:
            if not url.lower().startswith(("http://", "https://")):
                raise ConfigurationError(f"not an http(s) URL: {shown(url)}")
        if not given:
            raise ConfigurationError("an http backend needs at least one server URL")
        self.capabilities = Capabilities(
            name="http",
            persistent=True,
            multi_process=True,
            shared_in_process=True,
            remote=True,
            revisions=True,
            counters=True,
            attachments=True,
            indexes=True,
            projection_digits=True,
        )
        self._client = Client(list(dict.fromkeys(url.rstrip("/") for url in given)))
        self._lock = threading.Lock()
        self._open: dict[str, HttpStorage] = {}

    def database(self, name: str) -> HttpStorage:
        validate_database_name(name)
        with self._lock:
            storage = self._open.get(name.lower())
            if storage is None:
                storage = self._open[name.lower()] = HttpStorage(
                    self._client, name, self.capabilities
                )
            return storage

    def create_database(self, name: str) -> None:
        self._client.request(
            "PUT", "/admin/databases", params={"name": validate_database_name(name)}
        )

    def delete_database(self, name: str) -> None:
        validate_database_name(name)
        with self._lock:
            self._open.pop(name.lower(), None)
        self._client.request(
            "DELETE",
            "/admin/databases",
            content=orjson.dumps({"DatabaseNames": [name], "HardDelete": True}),
        )

    def list_databases(self) -> list[str]:
        body = self._client.request("GET", "/databases", params={"namesOnly": "true"})
        try:
            return [str(name) for name in body["Databases"]]
        except (KeyError, TypeError) as exc:
            raise ProtocolError(f"the server's database list is malformed: {exc}") from exc

    def statistics(self, name: str) -> DatabaseStatistics:
        path = f"/databases/{quote(validate_database_name(name), safe='')}"
        body = self._client.request("GET", f"{path}/stats")  # with rookdb's Collections
        return protocol.decode_statistics(body, name)

    def get_server_client_configuration(self) -> tuple[int, dict[str, Any] | None]:
        body = self._client.request("GET", "/configuration/client")
        if body is None:
            return 0, None
        etag = body.get("Etag") if type(body) is dict else None
        if type(etag) is not int:
            raise ProtocolError("the server's client configuration is malformed")
        return etag, body

    def put_server_client_configuration(self, configuration: dict[str, Any]) -> int:
        self._client.request(
            "PUT",
            "/admin/configuration/client",
            content=orjson.dumps(check_client_configuration(configuration)),
        )
        return self.get_server_client_configuration()[0]

    def close(self) -> None:
        self._client.close()
