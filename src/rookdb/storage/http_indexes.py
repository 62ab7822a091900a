"""The index calls of the http backend (``HttpStorage``), on RavenDB's routes as its client
7.2 sends them (``rookdb.server.indexes``): ``PUT /admin/indexes``, ``GET /indexes``
(``?name=``, ``?start=&pageSize=``, ``&namesOnly=true``), ``DELETE`` and ``RESET
/indexes?name=``, ``GET /indexes/stats`` and ``GET /indexes/errors``."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import orjson

from rookdb.errors import IndexCompilationError, IndexDoesNotExistError, ProtocolError
from rookdb.indexes.definitions import IndexDefinition, IndexLockMode, IndexPriority
from rookdb.storage.base import Storage
from rookdb.storage.http_transport import Client, results_of
from rookdb.storage.statistics import IndexErrors, IndexStatistics

__all__ = ["HttpIndexes"]


class HttpIndexes(Storage):
    """The index calls of ``Storage`` over a rookdb server (or RavenDB)."""

    _client: Client
    _path: str

    def put_indexes(self, definitions: Sequence[IndexDefinition]) -> list[str]:
        """The put, then waits for the server's build of the documents already there (the
        server answers a put once stored, as RavenDB's does; rookdb's own put returns once
        the index is built, on every backend)."""
        names = self.store_indexes(definitions)
        pause = 0.01
        while any(s.is_stale for n in names for s in self.index_statistics(n)):
            time.sleep(pause)  # a deleted index ends this with IndexDoesNotExistError
            pause = min(pause * 2, 0.25)
        return names

    def store_indexes(self, definitions: Sequence[IndexDefinition]) -> list[str]:
        try:
            content = orjson.dumps({"Indexes": [d.to_json() for d in definitions]})
        except orjson.JSONEncodeError as exc:
            # A field orjson cannot write (nested past 254 levels, or not a JSON type): no
            # definition holds one. The server checks the rest, as the other backends do here.
            raise IndexCompilationError(f"an index definition is not JSON: {exc}") from None
        body = self._client.request("PUT", f"{self._path}/admin/indexes", content=content)
        try:
            return [str(item["Index"]) for item in results_of(body)]
        except (KeyError, TypeError) as exc:
            raise ProtocolError(f"the server's answer to a put of indexes: {exc}") from exc

    def get_index(self, name: str) -> IndexDefinition | None:
        try:
            body = self._client.request("GET", f"{self._path}/indexes", params={"name": name})
        except IndexDoesNotExistError:
            return None
        found = results_of(body)
        return IndexDefinition.from_json(found[0]) if found else None

    def get_indexes(self, start: int = 0, page_size: int = 25) -> list[IndexDefinition]:
        params = {"start": start, "pageSize": page_size}
        body = self._client.request("GET", f"{self._path}/indexes", params=params)
        return [IndexDefinition.from_json(item) for item in results_of(body)]

    def get_index_names(self, start: int = 0, page_size: int = 25) -> list[str]:
        params = {"start": start, "pageSize": page_size, "namesOnly": "true"}
        body = self._client.request("GET", f"{self._path}/indexes", params=params)
        return [str(name) for name in results_of(body)]

    def set_index_options(
        self,
        names: Sequence[str],
        lock_mode: IndexLockMode | None = None,
        priority: IndexPriority | None = None,
    ) -> None:
        if lock_mode is not None:
            body = {"IndexNames": list(names), "Mode": IndexLockMode(lock_mode).value}
            self._client.request(
                "POST", f"{self._path}/indexes/set-lock", content=orjson.dumps(body)
            )
        if priority is not None:
            body = {"IndexNames": list(names), "Priority": IndexPriority(priority).value}
            self._client.request(
                "POST", f"{self._path}/indexes/set-priority", content=orjson.dumps(body)
            )

    def index_has_changed(self, definition: IndexDefinition) -> bool:
        body = self._client.request(
            "POST", f"{self._path}/indexes/has-changed", content=orjson.dumps(definition.to_json())
        )
        if not isinstance(body, dict) or not isinstance(body.get("Changed"), bool):
            raise ProtocolError("the server's answer to has-changed has no Changed")
        return bool(body["Changed"])

    def set_indexing_running(self, running: bool, name: str | None = None) -> None:
        verb = "start" if running else "stop"
        params = None if name is None else {"name": name}
        self._client.request("POST", f"{self._path}/admin/indexes/{verb}", params=params)

    def set_index_enabled(self, name: str, enabled: bool) -> None:
        verb = "enable" if enabled else "disable"
        self._client.request("POST", f"{self._path}/admin/indexes/{verb}", params={"name": name})

    def index_terms(
        self, name: str, field: str, from_value: str | None = None, page_size: int = 1024
    ) -> list[str]:
        params = {"name": name, "field": field, "fromValue": from_value or ""}
        params["pageSize"] = str(page_size)
        body = self._client.request("GET", f"{self._path}/indexes/terms", params=params)
        if not isinstance(body, dict) or not isinstance(body.get("Terms"), list):
            raise ProtocolError("the server's answer to terms has no Terms")
        return [str(t) for t in body["Terms"]]

    def indexing_status(self) -> dict[str, Any]:
        body = self._client.request("GET", f"{self._path}/indexes/status")
        if not isinstance(body, dict) or not isinstance(body.get("Indexes"), list):
            raise ProtocolError("the server's indexing status has no Indexes")
        return body

    def delete_index(self, name: str) -> None:
        self._client.request("DELETE", f"{self._path}/indexes", params={"name": name})

    def reset_index(self, name: str) -> None:
        self._client.request("RESET", f"{self._path}/indexes", params={"name": name})

    def index_statistics(self, name: str | None = None) -> list[IndexStatistics]:
        params = None if name is None else {"name": name}
        body = self._client.request("GET", f"{self._path}/indexes/stats", params=params)
        return [_statistics(item) for item in results_of(body)]

    def index_errors(self, names: Sequence[str] | None = None) -> list[IndexErrors]:
        params = None if names is None else [("name", n) for n in names]
        body = self._client.request("GET", f"{self._path}/indexes/errors", params=params)
        try:
            return [
                IndexErrors(str(item["Name"]), tuple(item["Errors"]), int(item.get("Count", 0)))
                for item in results_of(body)
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"the server's index errors: {exc}") from exc

    def delete_index_errors(self, names: Sequence[str] | None = None) -> None:
        params = None if names is None else [("name", n) for n in names]
        self._client.request("DELETE", f"{self._path}/indexes/errors", params=params)


def _statistics(item: Any) -> IndexStatistics:
    """``IndexStatistics`` from RavenDB's ``IndexStats`` JSON (``IndexStatistics.to_json``)."""
    try:
        collections = tuple(item["Collections"])
        return IndexStatistics(
            name=str(item["Name"]),
            type=str(item["Type"]),
            state="Building" if item["IsStale"] else str(item["State"]),
            collections=None if collections == ("@all_docs",) else collections,
            entries_count=int(item["EntriesCount"]),
            reduce_results_count=int(item.get("ReduceOutputCount") or 0),
            errors_count=int(item["ErrorsCount"]),
            created=str(item["CreatedTimestamp"]),
            is_stale=bool(item["IsStale"]),
            lock_mode=str(item.get("LockMode") or "Unlock"),
            priority=str(item.get("Priority") or "Normal"),
            status=str(item.get("Status") or "Running"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ProtocolError(f"the server's index statistics: {exc}") from exc
