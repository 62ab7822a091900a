"""The revision calls of the http backend (``HttpStorage``), on RavenDB's routes:
``POST /admin/revisions/config``, ``GET /revisions`` by id (paged, with ``TotalResults``) or
by change vectors (a result or null for each, in order), by id and date (``before``: a 404
when there is none); ``GET /revisions/bin``; ``GET /revisions/config`` and rookdb's
``POST /admin/revisions/import`` (for ``rookdb export``/``import``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import orjson

from rookdb import protocol
from rookdb.errors import ProtocolError
from rookdb.ids import validate_id
from rookdb.storage.base import Storage
from rookdb.storage.http_transport import Client, int_field, results_of
from rookdb.storage.records import DocumentRecord, RevisionsPage
from rookdb.storage.revisions_config import check_configuration, revision_time

__all__ = ["HttpRevisions"]


class HttpRevisions(Storage):
    """The revision calls of ``Storage`` over a rookdb server (or RavenDB)."""

    _client: Client
    _path: str

    def configure_revisions(self, configuration: dict[str, Any]) -> int:
        body = self._client.request(
            "POST",
            f"{self._path}/admin/revisions/config",
            content=orjson.dumps(check_configuration(configuration)),
        )
        return int_field(body, "RaftCommandIndex")

    def get_revisions(self, document_id: str, start: int = 0, page_size: int = 25) -> RevisionsPage:
        validate_id(document_id)
        params = {"id": document_id, "start": start, "pageSize": page_size}
        body = self._client.request("GET", f"{self._path}/revisions", params=params)
        records = [r for r in protocol.decode_documents(results_of(body)) if r is not None]
        return RevisionsPage(records, int_field(body, "TotalResults"))

    def get_revisions_by_change_vector(
        self, change_vectors: Sequence[str]
    ) -> dict[str, DocumentRecord]:
        wanted = list(dict.fromkeys(change_vectors))
        if not wanted:
            return {}
        params = [("changeVector", cv) for cv in wanted]
        body = self._client.request("GET", f"{self._path}/revisions", params=params)
        found = list(protocol.decode_documents(results_of(body)))
        if len(found) != len(wanted):
            raise ProtocolError("the server's revisions answer has a result per change vector")
        return {cv: r for cv, r in zip(wanted, found, strict=True) if r is not None}

    def get_revision_before(self, document_id: str, before: dt.datetime) -> DocumentRecord | None:
        validate_id(document_id)
        params = {"id": document_id, "before": revision_time(before)}
        body = self._client.request(
            "GET", f"{self._path}/revisions", params=params, missing_ok=True
        )
        if body is None:
            return None
        found = [r for r in protocol.decode_documents(results_of(body)) if r is not None]
        if len(found) != 1:
            raise ProtocolError("the server's revision by date answer has one result")
        return found[0]

    def get_revisions_bin(self, start: int = 0, page_size: int = 25) -> list[DocumentRecord]:
        params = {"start": start, "pageSize": page_size}
        body = self._client.request("GET", f"{self._path}/revisions/bin", params=params)
        return [r for r in protocol.decode_documents(results_of(body)) if r is not None]

    def get_revisions_configuration(self) -> dict[str, Any] | None:
        body = self._client.request("GET", f"{self._path}/revisions/config")
        if body is None:  # 204: none
            return None
        if type(body) is not dict:
            raise ProtocolError("the server's revisions configuration is an object")
        return body

    def import_revisions(self, revisions: Sequence[DocumentRecord]) -> int:
        given = [protocol.encode_document(r) for r in revisions]
        body = self._client.request(
            "POST",
            f"{self._path}/admin/revisions/import",
            content=orjson.dumps({"Revisions": given}),
            write=True,
        )
        return int_field(body, "Imported")
