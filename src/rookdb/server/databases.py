"""Which databases a ``rookdb serve`` request may use: the ones that exist, or any, by policy.

RavenDB answers a request to a database that does not exist with ``503`` and a
``Database-Missing`` header, which its clients raise as ``DatabaseDoesNotExistException``; a
database is made with ``CreateDatabaseOperation`` (``PUT /admin/databases``). rookdb's
embedded backends create a database on first use instead, and so does rookdb's own http
client, which says so on each request (``CREATE_HEADER``), so that the same code runs
embedded and served. ``rookdb serve`` answers every other client as RavenDB does, unless it
was started with ``--create-databases`` (``MissingDatabases.CREATE``): then it creates a
database on first use for every client.

Existence is asked of the backend once per name (``list_databases``) and remembered; the
server forgets a name when it deletes that database. (A database deleted behind the server's
back, by another process on the same storage, is created again on its next use.)
"""

from __future__ import annotations

import contextlib
import enum
import threading

from rookdb import protocol
from rookdb.errors import DatabaseAlreadyExistsError, DatabaseDoesNotExistError
from rookdb.storage.base import Backend

__all__ = ["CREATE_HEADER", "MISSING_HEADER", "Databases", "MissingDatabases"]

#: The request header with which rookdb's client asks for its database to be created on first
#: use (as on every embedded backend), whatever the server's policy.
CREATE_HEADER = protocol.CREATE_DATABASE_HEADER
#: RavenDB's answer header naming a database that does not exist.
MISSING_HEADER = protocol.DATABASE_MISSING_HEADER


class MissingDatabases(enum.Enum):
    """What ``rookdb serve`` does with a request to a database that does not exist."""

    #: RavenDB's behaviour (the default): ``DatabaseDoesNotExistException`` in the client.
    ERROR = "error"
    #: Create it, as the embedded backends do (``rookdb serve --create-databases``).
    CREATE = "create"


class Databases:
    """The server's view of which databases exist (``Backend.list_databases``), remembered."""

    def __init__(self, backend: Backend, missing: MissingDatabases) -> None:
        self.backend = backend
        self.missing = missing
        self._lock = threading.Lock()
        self._known: set[str] = set()  # lower-cased: names are case-insensitive

    def exists(self, name: str) -> bool:
        """Whether database ``name`` exists (any case). Asks the backend the first time only."""
        key = name.lower()
        if key in self._known:  # every request asks: no lock (a set lookup is atomic)
            return True
        found = {listed.lower() for listed in self.backend.list_databases()}
        with self._lock:
            self._known |= found
            return key in self._known

    def require(self, name: str, create: bool) -> None:
        """Raise ``DatabaseDoesNotExistError`` unless ``name`` exists or may be created on
        first use here (``create``: the client asked to, or the server's policy says so)."""
        if self.exists(name):
            return
        if create or self.missing is MissingDatabases.CREATE:
            # Created meanwhile (by another request, another process): there it is.
            with contextlib.suppress(DatabaseAlreadyExistsError):
                self.backend.create_database(name)
            self.created(name)
            return
        raise DatabaseDoesNotExistError(
            f"Database '{name}' does not exist (create it with CreateDatabaseOperation, or "
            "start rookdb serve with --create-databases)"
        )

    def created(self, name: str) -> None:
        with self._lock:
            self._known.add(name.lower())

    def deleted(self, name: str) -> None:
        with self._lock:
            self._known.discard(name.lower())
