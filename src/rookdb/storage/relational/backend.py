"""What the relational backends share: their databases opened once each, by lower-cased name
(database names are case-insensitive, as in RavenDB), under one lock, and closed together."""

from __future__ import annotations

import abc
import threading
from typing import Generic, TypeVar

from rookdb.errors import DatabaseAlreadyExistsError
from rookdb.ids import validate_database_name
from rookdb.storage.base import Backend
from rookdb.storage.relational.storage import RelationalStorage
from rookdb.storage.statistics import DatabaseStatistics

__all__ = ["RelationalBackend"]

S = TypeVar("S", bound=RelationalStorage)


class RelationalBackend(Backend, Generic[S]):
    """The databases behind one URL; a dialect says how one is opened (``_open_storage``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, S] = {}

    @abc.abstractmethod
    def _open_storage(self, name: str) -> S:
        """Open (creating it if need be) database ``name``, under the backend's lock."""

    def database(self, name: str) -> S:
        validate_database_name(name)
        with self._lock:
            storage = self._open.get(name.lower())
            if storage is None:
                storage = self._open[name.lower()] = self._open_storage(name)
            return storage

    @abc.abstractmethod
    def _stored(self, name: str) -> bool:
        """Whether storage holds database ``name`` (any case), opened here or not; the caller
        holds the backend's lock."""

    def create_database(self, name: str) -> None:
        """Create ``name``; ``DatabaseAlreadyExistsError`` if it exists (in any case), as
        RavenDB answers ``CreateDatabaseOperation``. (Two processes creating the same name at
        the same moment may both succeed: the database is then simply there.)"""
        validate_database_name(name)
        with self._lock:
            if name.lower() in self._open or self._stored(name):
                raise DatabaseAlreadyExistsError(f"Database '{name}' already exists")
            self._open[name.lower()] = self._open_storage(name)

    def _forget(self, name: str) -> S | None:
        """Close and forget the open storage of ``name``, if any; the caller holds the lock."""
        storage = self._open.pop(name.lower(), None)
        if storage is not None:
            storage.close()
        return storage

    def statistics(self, name: str) -> DatabaseStatistics:
        return self.database(name).statistics()

    def close(self) -> None:
        with self._lock:
            storages, self._open = list(self._open.values()), {}
        for storage in storages:
            storage.close()
