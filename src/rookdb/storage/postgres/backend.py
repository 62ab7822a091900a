"""The rookdb databases of one PostgreSQL database, one schema each (``rookdb_<name>``,
created on first use), on a pool of connections shared by the store's sessions and threads
(``pool``: a server that cannot be reached is ``StorageUnavailableError`` within
``connect_timeout``, naming it and the reason).

The server-wide client configuration is in a schema of its own, ``<prefix>.server`` (a name no
database has: theirs cannot begin with a dot), made by the first change to it.

The URL may carry ``schema_prefix=...`` (default ``rookdb_``) and ``connect_timeout=SECONDS``
(libpq's parameter; default 5); every other query parameter goes to libpq. The test suite
gives each test its own prefix and drops its schemas afterwards.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

from rookdb.errors import ConfigurationError, DatabaseDoesNotExistError, shown
from rookdb.ids import MAX_DATABASE_NAME_LENGTH, validate_database_name
from rookdb.storage.identities import check_client_configuration, new_configuration_etag
from rookdb.storage.postgres.errors import PostgresErrors
from rookdb.storage.postgres.pool import ConnectionPool, connect_timeout
from rookdb.storage.postgres.storage import PostgresStorage
from rookdb.storage.postgres.transactions import lock_key, transaction
from rookdb.storage.relational.backend import RelationalBackend
from rookdb.storage.statistics import Capabilities

__all__ = ["DEFAULT_SCHEMA_PREFIX", "PostgresBackend", "schema_name"]

DEFAULT_SCHEMA_PREFIX = "rookdb_"
_PREFIX = re.compile(r"[a-z_][a-z0-9_]{0,30}")


def schema_name(prefix: str, database: str) -> str:
    """The schema of rookdb database ``database``: the prefix and the lower-cased name, or a
    digest-shortened name where that would pass PostgreSQL's 63-byte identifier limit."""
    name = prefix + database.lower()
    if len(name) > 63:
        digest = hashlib.sha256(database.lower().encode()).hexdigest()[:12]
        name = f"{name[:50]}_{digest}"
    return name


class PostgresBackend(RelationalBackend[PostgresStorage]):
    """The rookdb databases of one PostgreSQL database: one schema each."""

    def __init__(self, url: str) -> None:
        super().__init__()
        parts = urlsplit(url)
        options = parse_qsl(parts.query, keep_blank_values=True)
        prefix = DEFAULT_SCHEMA_PREFIX
        timeout = None
        passed = []
        for name, value in options:
            if name == "schema_prefix":
                prefix = value
            elif name == "connect_timeout":
                timeout = value
            else:
                passed.append((name, value))
        if _PREFIX.fullmatch(prefix) is None:
            raise ConfigurationError(
                f"invalid schema_prefix {shown(prefix)}: "
                "use up to 31 lower-case letters, digits and _"
            )
        self.schema_prefix = prefix
        conninfo = urlunsplit(parts._replace(scheme="postgresql", query=urlencode(passed)))
        self.capabilities = Capabilities(
            name="postgres",
            persistent=True,
            multi_process=True,
            shared_in_process=True,
            revisions=True,
            counters=True,
            attachments=True,
            indexes=True,
            projection_digits=True,
        )
        self._pool = ConnectionPool(conninfo, connect_timeout(timeout))
        self._server_schema = f'"{prefix}.server"'
        self._server_table_seen = False  # made once, never dropped but by drop_all()

    def _open_storage(self, name: str) -> PostgresStorage:
        return PostgresStorage(
            name, schema_name(self.schema_prefix, name), self._pool, self.capabilities
        )

    def _stored(self, name: str) -> bool:
        schema = schema_name(self.schema_prefix, name)
        with PostgresErrors("look for a database"), self._pool.connection() as conn:
            found = conn.execute(
                "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = 'meta'", (schema,)
            ).fetchone()
        return found is not None

    def get_server_client_configuration(self) -> tuple[int, dict[str, Any] | None]:
        # Read on every call (by every process): a change through one is seen by all.
        with PostgresErrors("read the client configuration"), self._pool.connection() as conn:
            if not self._server_table_seen:
                found = conn.execute(
                    "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = 'settings'",
                    (f"{self.schema_prefix}.server",),
                ).fetchone()
                if found is None:
                    return 0, None
                self._server_table_seen = True
            row = conn.execute(
                f"SELECT value FROM {self._server_schema}.settings "
                "WHERE name = 'client_configuration'"
            ).fetchone()
        if row is None:
            return 0, None
        kept = orjson.loads(row[0])
        return kept["Etag"], kept["Configuration"]

    def put_server_client_configuration(self, configuration: dict[str, Any]) -> int:
        check_client_configuration(configuration)
        etag = new_configuration_etag()
        configuration = {**configuration, "Etag": etag}
        kept = orjson.dumps({"Etag": etag, "Configuration": configuration}).decode()
        s = self._server_schema
        with (
            PostgresErrors("write the client configuration"),
            self._pool.connection() as conn,
            transaction(conn, "BEGIN"),
        ):
            # One creator at a time: CREATE ... IF NOT EXISTS races in the catalogs.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key(f"rookdb {s}"),))
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {s}.settings "
                "(name text PRIMARY KEY, value text NOT NULL)"
            )
            conn.execute(
                f"INSERT INTO {s}.settings VALUES ('client_configuration', %s) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (kept,),
            )
        self._server_table_seen = True
        return etag

    def delete_database(self, name: str) -> None:
        validate_database_name(name)
        schema = schema_name(self.schema_prefix, name)
        with self._lock:
            self._forget(name)
        with PostgresErrors("delete a database"), self._pool.connection() as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)
            ).fetchone()
            if exists is None:
                raise DatabaseDoesNotExistError(
                    f"no database named {shown(name, limit=MAX_DATABASE_NAME_LENGTH)}"
                )
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    def list_databases(self) -> list[str]:
        with PostgresErrors("list databases"), self._pool.connection() as conn:
            schemas = [
                row[0]
                for row in conn.execute(
                    "SELECT schemaname FROM pg_tables WHERE starts_with(schemaname, %s) "
                    "AND tablename = 'meta'",
                    (self.schema_prefix,),
                )
            ]
            names = []
            for schema in schemas:
                row = conn.execute(
                    f"SELECT value FROM \"{schema}\".meta WHERE name = 'name'"
                ).fetchone()
                if row is not None:
                    names.append(row[0])
        return sorted(names, key=str.lower)  # as RavenDB lists them

    def drop_all(self) -> None:
        """Drop every schema with this backend's prefix (the test suite's clean-up)."""
        self._server_table_seen = False
        with self._pool.connection() as conn:
            for (schema,) in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)",
                (self.schema_prefix,),
            ).fetchall():
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def close(self) -> None:
        super().close()
        self._pool.close()
