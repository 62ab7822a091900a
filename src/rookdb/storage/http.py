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
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from rookdb import protocol, protocol_batches
from rookdb.errors import (
    ConfigurationError,
    IndexDoesNotExistError,
    ProtocolError,
    SerializationError,
    StorageError,
    shown,
)
from rookdb.facet_compute import FacetAnswer, decode_answer
from rookdb.facet_rql import FacetQuery, FacetSpec, print_facet_query
from rookdb.ids import validate_database_name, validate_hilo_tag
from rookdb.protocol_statistics import decode_statistics
from rookdb.query import Query, QueryStatistics
from rookdb.rql_printer import print_query
from rookdb.serialization.exact_numbers import Notes, loads_noting
from rookdb.storage.base import Backend
from rookdb.storage.commands import AttachmentPutCommand, Command, CountersCommand
from rookdb.storage.http_attachments import HttpAttachments
from rookdb.storage.http_counters import (
    HttpCounters,
    included_counters,
    named_replies,
    noting_counters,
)
from rookdb.storage.http_indexes import HttpIndexes
from rookdb.storage.http_transport import (
    API_KEY_VARIABLE,
    MAX_BATCH_BYTES,
    NOT_MODIFIED,
    Client,
    int_field,
    results_of,
)
from rookdb.storage.identities import check_client_configuration, check_seed, identity_key
from rookdb.storage.records import (
    BatchResult,
    ConditionalGetResult,
    DocumentRecord,
    GetResult,
    IdsRead,
    PrefixRead,
    ProjectionRow,
    QueryRead,
    QueryResult,
    Read,
    ReadResult,
    RecentRead,
    document_key,
)
from rookdb.storage.statistics import Capabilities, DatabaseStatistics
from rookdb.storage.streams import QueryStream, StreamedRow, check_streamable

__all__ = ["API_KEY_VARIABLE", "HttpBackend", "HttpStorage"]


class HttpStorage(HttpIndexes, HttpAttachments, HttpCounters):
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

    def reserve_ids(self, prefix: str, capacity: int, last_max: int = 0) -> tuple[int, int]:
        tag = validate_hilo_tag(prefix)
        body = self._client.request(
            "GET",
            f"{self._path}/hilo/next",
            params={"tag": tag, "capacity": capacity, "lastMax": last_max},
        )
        try:
            return int(body["Low"]), int(body["High"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"the server's HiLo answer is malformed: {exc}") from exc

    def return_ids(self, prefix: str, last_used: int, high: int) -> None:
        self._client.request(
            "PUT",
            f"{self._path}/hilo/return",
            params={"tag": validate_hilo_tag(prefix), "last": last_used, "end": high},
        )

    def next_identity(self, name: str) -> int:
        identity_key(name)  # refused here as on every backend, before a request
        body = self._client.request(
            "POST", f"{self._path}/identity/next", params={"name": name}, write=True
        )
        return int_field(body, "NewIdentityValue")

    def seed_identity(self, name: str, value: int, force_update: bool = False) -> int:
        identity_key(name)
        params = {"name": name, "value": check_seed(value)}
        if force_update:
            params["force"] = "true"
        body = self._client.request("POST", f"{self._path}/identity/seed", params=params)
        return int_field(body, "NewSeedValue")

    def get_identities(self) -> dict[str, int]:
        body = self._client.request("GET", f"{self._path}/debug/identities")
        if type(body) is not dict or not all(type(v) is int for v in body.values()):
            raise ProtocolError("the server's identities answer is not an object of ints")
        return body

    def get_client_configuration(self) -> tuple[int, dict[str, Any] | None]:
        # The database's own (RavenDB's inherit=false): the store applies the server-wide one
        # itself, as embedded (``identities.effective_client_configuration``).
        body = self._client.request(
            "GET", f"{self._path}/configuration/client", params={"inherit": "false"}
        )
        try:
            etag, configuration = body["Etag"], body["Configuration"]
        except (KeyError, TypeError) as exc:
            raise ProtocolError(f"the server's client configuration is malformed: {exc}") from exc
        if type(etag) is not int or not (configuration is None or type(configuration) is dict):
            raise ProtocolError("the server's client configuration is malformed")
        return etag, configuration

    def put_client_configuration(self, configuration: dict[str, Any]) -> int:
        self._client.request(
            "PUT",
            f"{self._path}/admin/configuration/client",
            content=orjson.dumps(check_client_configuration(configuration)),
        )
        return self.get_client_configuration()[0]

    def stream(self, collection: str | None = None) -> Iterator[DocumentRecord]:
        text, _ = print_query(Query(collection=collection))
        # The server writes one document per line between '{"Results":[' and ']}'.
        for line in self._client.stream_lines(f"{self._path}/streams/queries", {"query": text}):
            line = line.strip().rstrip(",")
            if line.startswith("{") and line != '{"Results":[':
                yield protocol.decode_document(orjson.loads(line))

    # -- streaming: /streams/queries and /streams/docs, read line by line -------------------

    def stream_query(self, query: Query) -> QueryStream:
        text, parameters = print_query(check_streamable(query))
        body: dict[str, Any] = {"Query": text, "QueryParameters": parameters}
        lines = self._client.stream_lines(
            f"{self._path}/streams/queries",
            {"format": "jsonl"},
            method="POST",
            content=orjson.dumps(body),
        )
        return QueryStream(_streamed_items(lines, with_stats=True, projected=bool(query.select)))

    def stream_prefix(
        self, prefix: str, start_after: str | None = None
    ) -> Iterator[DocumentRecord]:
        params = {"startsWith": prefix, "format": "jsonl"}
        if start_after is not None:
            params["startAfter"] = start_after
        lines = self._client.stream_lines(f"{self._path}/streams/docs", params)
        for item in _streamed_items(lines, with_stats=False, projected=False):
            assert isinstance(item, DocumentRecord)
            yield item

    def close(self) -> None:
        pass  # the connection pool belongs to the backend


def _streamed_items(
    lines: Iterator[str], with_stats: bool, projected: bool
) -> Iterator[QueryStatistics | StreamedRow]:
    """A JSON-lines stream's ``{"Stats": ...}`` (first, ``with_stats``) and its
    ``{"Item": document}`` lines (projections where ``projected``), decoded one at a time."""
    expect_stats = with_stats
    try:
        yield from _decoded_items(lines, expect_stats, projected)
    finally:  # a reader that stopped: the response is closed now, not when collected
        close = getattr(lines, "close", None)
        if close is not None:
            close()


def _decoded_items(
    lines: Iterator[str], expect_stats: bool, projected: bool
) -> Iterator[QueryStatistics | StreamedRow]:
    record: StreamedRow
    for line in lines:
        if not line.strip():
            continue
        try:
            notes: Notes = {}  # a projection's digits (9.50)
            value = loads_noting(line.encode(), notes) if projected else orjson.loads(line)
            if expect_stats:
                yield decode_statistics(value["Stats"])
                expect_stats = False
                continue
            if projected:
                record = _projection_row(value["Item"], notes)
            else:
                record = protocol.decode_document(value["Item"])
        except (
            orjson.JSONDecodeError,
            SerializationError,
            KeyError,
            TypeError,
            AttributeError,
        ) as exc:
            raise ProtocolError(f"the server's stream is malformed: {exc}") from exc
        yield record
    if expect_stats:
        raise ProtocolError("the server's stream ended before its statistics")


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


def _projection_row(item: dict[str, Any], notes: Notes) -> ProjectionRow:
    """A streamed projection as the server sends it (``protocol.encode_projection``): its
    fields, and ``@metadata`` naming the document it came from, which is not a field."""
    projection = dict(item)
    metadata = projection.pop("@metadata")
    return ProjectionRow(
        projection,
        metadata["@id"],
        metadata["@change-vector"],
        metadata["@last-modified"],
        metadata["@collection"],
        notes or None,
    )


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
