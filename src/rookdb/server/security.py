"""Who may use the server (SPEC H3): open (loopback, or TLS with client certificates) or API keys.

Client certificates are checked by TLS itself, before any request is read (``--client-ca``),
which is how RavenDB's own clients authenticate. API keys are for rookdb's client and tools:
``Authorization: Bearer <key>``, each key granting ``read``, ``write`` or ``admin`` per database
(``"*"`` for every database; ``admin`` also allows creating and deleting databases). Listing
databases shows a key those it may read, as RavenDB shows a certificate its own.
Keys are compared in constant time, against every configured key, so neither a key's bytes nor
which key matched can be learned from timing.

The keys file (``rookdb serve --api-keys FILE``) is JSON::

    {"keys": [{"key": "a-long-random-secret", "databases": {"*": "admin"}},
              {"key": "another-secret", "databases": {"Northwind": "read"}}]}
"""

from __future__ import annotations

import dataclasses
import hmac
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol

import orjson

from rookdb.errors import AuthenticationError, AuthorizationError, ConfigurationError, shown

__all__ = ["Access", "ApiKey", "ApiKeys", "OpenAccess"]

_LEVELS = {"read": 1, "write": 2, "admin": 3}


class Access(Protocol):
    def check(
        self, authorization: str | None, database: str | None, *, write: bool, admin: bool = False
    ) -> None:
        """Raise ``AuthenticationError`` (401) or ``AuthorizationError`` (403) unless the
        request may read (or ``write``) ``database``, or do server administration (``admin``)."""


class OpenAccess:
    """No API keys: every request that reached the application may do everything."""

    def check(
        self, authorization: str | None, database: str | None, *, write: bool, admin: bool = False
    ) -> None:
        return None


@dataclasses.dataclass(frozen=True)
class ApiKey:
    key: str
    #: Database name (case-insensitive) or ``"*"`` -> ``"read"``, ``"write"`` or ``"admin"``.
    databases: Mapping[str, str]

    def __post_init__(self) -> None:
        if len(self.key) < 16:
            raise ConfigurationError("an API key must be at least 16 characters")
        for name, level in self.databases.items():
            if level not in _LEVELS:
                raise ConfigurationError(
                    f"API key access for {shown(name)} must be read, write or admin, "
                    f"not {shown(level)}"
                )

    def level(self, database: str | None) -> int:
        by_name = {name.lower(): _LEVELS[level] for name, level in self.databases.items()}
        everywhere = by_name.get("*", 0)
        if database is None:
            return everywhere
        return max(everywhere, by_name.get(database.lower(), 0))


class ApiKeys:
    """API keys with per-database access."""

    def __init__(self, keys: Iterable[ApiKey]) -> None:
        self._keys = [(key.key.encode(), key) for key in keys]
        if not self._keys:
            raise ConfigurationError("an API keys file must hold at least one key")

    @classmethod
    def from_file(cls, path: str | Path) -> ApiKeys:
        try:
            raw = orjson.loads(Path(path).read_bytes())
            return cls(ApiKey(k["key"], dict(k["databases"])) for k in raw["keys"])
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigurationError(f"cannot read the API keys file {path}: {exc}") from exc

    def _find(self, authorization: str | None) -> ApiKey:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationError("this server needs an API key: Authorization: Bearer <key>")
        offered = token.strip().encode()
        found = None
        for secret, key in self._keys:  # every key, every time: constant time over the set
            if hmac.compare_digest(secret, offered):
                found = key
        if found is None:
            raise AuthenticationError("unknown API key")
        return found

    def check(
        self, authorization: str | None, database: str | None, *, write: bool, admin: bool = False
    ) -> None:
        key = self._find(authorization)
        needed = _LEVELS["admin" if admin else "write" if write else "read"]
        if key.level(None if admin else database) < needed:
            what = (
                "administer the server" if admin else f"{'write' if write else 'read'} {database}"
            )
            raise AuthorizationError(f"this API key may not {what}")
