"""Identities and the client configuration in a relational database, with the other ids storage
hands out: the ids it completes and HiLo ranges.

- Ids storage completes (SPEC S14): one ending in ``/`` takes an etag (the batch's), one ending
  in ``|`` the next value of its prefix's identity, and ``""`` a new GUID (``_completed_id``,
  in the batch's transaction).
- HiLo ranges are reserved and returned in ``Raven/Hilo/<tag>`` documents
  (``relational.hilo``).
- Identities are rows of the ``identities`` table, advanced and seeded by one statement each
  (``Statements.identity``, ``seed_identity``); the client configuration is a ``meta`` row
  holding it with its etag. Names and values are checked by ``storage.identities``' rules.

``IdentitiesStorage`` adds them to ``RelationalStorage``.
"""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, ClassVar

import orjson

from rookdb.ids import validate_hilo_tag
from rookdb.storage.base import Storage
from rookdb.storage.identities import (
    check_client_configuration,
    check_seed,
    identity_key,
    identity_name,
    new_configuration_etag,
)
from rookdb.storage.relational import hilo
from rookdb.storage.relational.errors import DriverErrors
from rookdb.storage.relational.statements import Statements

__all__ = ["IdentitiesStorage"]

#: The ``meta`` row holding the client configuration and its etag.
_CLIENT_CONFIGURATION = "client_configuration"


class IdentitiesStorage(Storage):
    """Identities, the ids storage completes or reserves, and the client configuration, for
    ``RelationalStorage``."""

    if TYPE_CHECKING:  # what they use of RelationalStorage and its dialect, which define it
        _errors: ClassVar[type[DriverErrors]]
        _sql: Statements

        def _connection(self) -> AbstractContextManager[Any]: ...
        def _next_etag(self, conn: Any) -> int: ...

    # -- ids ---------------------------------------------------------------------------------

    def _completed_id(self, conn: Any, document_id: str, etag: int | None = None) -> str:
        """Ids storage completes (SPEC S14): ``x/`` by etag (the batch's, or a new one where
        ``etag`` is None), ``x|`` by identity, ``""`` a GUID; other ids as given."""
        if document_id == "":
            return str(uuid.uuid4())
        last = document_id[-1]
        if last == "/":
            if etag is None:
                etag = self._next_etag(conn)
            return f"{document_id}{etag:019d}-A"
        if last == "|":
            prefix = document_id[:-1]
            value = conn.execute(self._sql.identity, (prefix.lower(),)).fetchone()[0]
            return f"{prefix}/{value}"
        return document_id

    def reserve_ids(self, prefix: str, capacity: int, last_max: int = 0) -> tuple[int, int]:
        return hilo.reserve(self, validate_hilo_tag(prefix).lower(), capacity, last_max)

    def return_ids(self, prefix: str, last_used: int, high: int) -> None:
        hilo.give_back(self, validate_hilo_tag(prefix).lower(), last_used, high)

    # -- identities and the client configuration ----------------------------------------------

    def next_identity(self, name: str) -> int:
        key = identity_key(name)
        with self._errors("advance an identity"), self._connection() as conn:
            value: int = conn.execute(self._sql.identity, (key,)).fetchall()[0][0]
        return value

    def seed_identity(self, name: str, value: int, force_update: bool = False) -> int:
        key, value = identity_key(name), check_seed(value)
        with self._errors("seed an identity"), self._connection() as conn:
            rows = conn.execute(self._sql.seed_identity, (key, value, bool(force_update)))
            seeded: int = rows.fetchall()[0][0]
        return seeded

    def get_identities(self) -> dict[str, int]:
        with self._errors("read identities"), self._connection() as conn:
            rows = conn.execute(self._sql.identities).fetchall()
        return {identity_name(key): value for key, value in rows}

    def get_client_configuration(self) -> tuple[int, dict[str, Any] | None]:
        with self._errors("read the client configuration"), self._connection() as conn:
            row = conn.execute(self._sql.get_meta, (_CLIENT_CONFIGURATION,)).fetchone()
        if row is None:
            return 0, None
        kept = orjson.loads(row[0])
        return kept["Etag"], kept["Configuration"]

    def put_client_configuration(self, configuration: dict[str, Any]) -> int:
        check_client_configuration(configuration)
        etag = new_configuration_etag()
        kept = orjson.dumps({"Etag": etag, "Configuration": configuration}).decode()
        with self._errors("write the client configuration"), self._connection() as conn:
            conn.execute(self._sql.put_meta, (_CLIENT_CONFIGURATION, kept))
        return etag
