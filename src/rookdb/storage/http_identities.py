"""The identity and client-configuration calls of the http backend (``HttpStorage``), on
RavenDB's routes: HiLo ranges (``GET /hilo/next``, ``PUT /hilo/return``), identities
(``POST /identity/next`` and ``/identity/seed``, ``GET /debug/identities``) and the database's
own client configuration (``GET /configuration/client?inherit=false``,
``PUT /admin/configuration/client``). Names, seeds and configurations are checked first, by the
rules every backend checks them by (``rookdb.storage.identities``, ``rookdb.ids``)."""

from __future__ import annotations

from typing import Any

import orjson

from rookdb.errors import ProtocolError
from rookdb.ids import validate_hilo_tag
from rookdb.storage.base import Storage
from rookdb.storage.http_transport import Client, int_field
from rookdb.storage.identities import check_client_configuration, check_seed, identity_key

__all__ = ["HttpIdentities"]


class HttpIdentities(Storage):
    """HiLo, identities and the client configuration of ``Storage`` over a rookdb server (or
    RavenDB)."""

    _client: Client
    _path: str

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
