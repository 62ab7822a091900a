"""``DocumentStore``: the URL picks the backend; conventions; sessions (SPEC §2.1).

A store is thread-safe and meant to live as long as the application: it holds the backend's
connections, one HiLo generator per database and the frozen conventions. Sessions are cheap.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable
from typing import Any, TypeVar, overload

from rookdb.arguments import check_class, check_instance
from rookdb.async_session import AsyncDocumentSession, LoopSession
from rookdb.bulk_insert import CHUNK_SIZE, BulkInsertOperation
from rookdb.conventions import DocumentConventions
from rookdb.document_operations import Operations
from rookdb.errors import (
    ConfigurationError,
    InvalidOperationError,
    StorageError,
)
from rookdb.events import EventRegistration, SessionEvents
from rookdb.ids import HiLoIdGenerator, validate_collection_name, validate_database_name
from rookdb.operations import ClientSettings, MaintenanceOperation, ServerOperation, client_settings
from rookdb.options import SessionOptions
from rookdb.serialization.entities import EntityCodec
from rookdb.serialization.type_registry import TypeRegistry, python_type_name
from rookdb.session import DocumentSession
from rookdb.storage.async_storage import AsyncStorage
from rookdb.storage.base import Backend, Storage
from rookdb.storage.registry import open_backend
from rookdb.storage.statistics import DatabaseStatistics

__all__ = ["DEFAULT_URL", "DocumentStore", "MaintenanceOperations"]

#: Where ``DocumentStore()`` keeps data when neither ``urls`` nor ``$ROOKDB_URL`` say.
DEFAULT_URL = "sqlite:///./rookdb-data"
DEFAULT_DATABASE = "default"

R = TypeVar("R")
S = TypeVar("S", bound=DocumentSession)


class MaintenanceOperations:
    """``store.maintenance``: databases, their statistics, and operations on one database
    (``send``; ``rookdb.operations``)."""

    def __init__(self, store: DocumentStore, database: str | None = None) -> None:
        self._store = store
        self._database = database

    def send(self, operation: MaintenanceOperation[R]) -> R:
        """Run ``operation`` (``rookdb.operations``: identities, client configuration) on the
        store's database, or the one ``for_database`` named; its result."""
        if not isinstance(operation, MaintenanceOperation):
            raise ConfigurationError(
                f"send() takes an operation of rookdb.operations, not {type(operation).__name__}"
            )
        store = self._store
        storage = store._storage(self._database or store.database)
        try:
            return operation.run(store._backend_ready(), storage)
        finally:
            if operation.changes_client_configuration:
                store._forget_client_settings()

    @property
    def server(self) -> ServerOperations:
        """Operations on the backend as a whole (``rookdb.operations.ServerOperation``)."""
        return ServerOperations(self._store)

    def for_database(self, database: str) -> MaintenanceOperations:
        """These operations, sent to ``database`` instead of the store's."""
        return MaintenanceOperations(self._store, validate_database_name(database))

    def create_database(self, name: str) -> None:
        self._store._backend_ready().create_database(validate_database_name(name))

    def delete_database(self, name: str) -> None:
        validate_database_name(name)
        store = self._store
        backend = store._backend_ready()
        with store._lock:
            store._storages.pop(name.lower(), None)
            store._generators.pop(name.lower(), None)
        backend.delete_database(validate_database_name(name))

    def list_databases(self) -> list[str]:
        return self._store._backend_ready().list_databases()

    def get_statistics(self, database: str | None = None) -> DatabaseStatistics:
        """Documents per collection and the indexes of ``database`` (the store's default)."""
        name = validate_database_name(database or self._database or self._store.database)
        return self._store._backend_ready().statistics(name)


class ServerOperations:
    """``store.maintenance.server``: operations on the backend as a whole, as RavenDB's
    server-wide client configuration."""

    def __init__(self, store: DocumentStore) -> None:
        self._store = store

    def send(self, operation: ServerOperation[R]) -> R:
        """Run ``operation`` (``rookdb.operations``) on the store's backend; its result."""
        if not isinstance(operation, ServerOperation):
            raise ConfigurationError(
                "server.send() takes a server operation of rookdb.operations, not "
                f"{type(operation).__name__}"
            )
        store = self._store
        try:
            return operation.execute(store._backend_ready())
        finally:
            if operation.changes_client_configuration:
                store._forget_client_settings()


class DocumentStore(EventRegistration):
    """The entry point of rookdb::

        with DocumentStore(urls="sqlite:///./data", database="Northwind") as store:
            with store.open_session() as session:
                session.store(Employee("Robert", "King"))
                session.save_changes()

    ``urls``: ``memory://`` (private to this store), ``memory://NAME`` (shared in the process),
    ``sqlite:///DIR`` (a directory of database files), ``postgresql://...``, ``http(s)://`` of
    a ``rookdb serve``, or a list of such servers of the same data to fail over between; None
    means ``$ROOKDB_URL`` or SQLite in ``./rookdb-data``. ``database``: None means
    ``"default"``. Entering the ``with`` block does not initialize the store, so conventions can
    still be set there; the first ``open_session()`` (or ``initialize()``) does, and freezes
    them.

    ``backend``: a ``rookdb.storage.base.Backend`` to use instead of opening ``urls`` (give
    one or the other), as httpx takes a transport: a backend of your own, or one wrapped in a
    middleware (``rookdb.testing.recording.RecordingBackend``). The store owns it as it owns
    one it opened: ``close()`` closes it, unless ``backend.shared`` says other stores use it
    too, and then whoever made it closes it.
    """

    def __init__(
        self,
        urls: str | list[str] | None = None,
        database: str | None = None,
        *,
        backend: Backend | None = None,
    ) -> None:
        if backend is not None:
            if not isinstance(backend, Backend):
                raise ConfigurationError(
                    f"backend must be a rookdb.storage.base.Backend, not {type(backend).__name__}"
                )
            if urls is not None:
                raise ConfigurationError("give urls or backend, not both")
            url_list: list[str] = []
        else:
            if urls is None:
                urls = os.environ.get("ROOKDB_URL") or DEFAULT_URL
            if isinstance(urls, str):
                url_list = [urls]
            elif isinstance(urls, Iterable) and not isinstance(urls, (bytes, bytearray)):
                url_list = list(urls)
            else:
                url_list = []  # (refused just below)
            if not url_list or not all(isinstance(u, str) and u for u in url_list):
                raise ConfigurationError("urls must be a URL or a non-empty list of URLs")
        #: The URLs the store opens; empty when it was given a ``backend``.
        self.urls: list[str] = url_list
        self.database: str = validate_database_name(database or DEFAULT_DATABASE)
        # This store's classes for Raven-Python-Type: two stores in one process never share
        # them (each store registers what its own sessions store and load).
        self._types = TypeRegistry()
        self.conventions = DocumentConventions(self._types)
        self._events = SessionEvents()
        self._lock = threading.RLock()
        self._backend: Backend | None = None
        self._given_backend = backend
        self._codec: EntityCodec | None = None
        self._storages: dict[str, Storage] = {}
        self._async_storages: dict[int, AsyncStorage] = {}
        self._generators: dict[str, HiLoIdGenerator] = {}
        self._settings: dict[str, ClientSettings] = {}
        self._type_info: dict[type, tuple[str, dict[str, Any]]] = {}
        self._closed = False
        self.maintenance = MaintenanceOperations(self)
        #: ``store.operations.send(...)``: patches and deletes (``rookdb.document_operations``).
        self.operations = Operations(self)

    def __enter__(self) -> DocumentStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f"urls={self.urls!r}" if self.urls else f"backend={self._given_backend!r}"
        return f"DocumentStore({where}, database={self.database!r})"

    def initialize(self) -> DocumentStore:
        """Open the backend and freeze the conventions; idempotent."""
        with self._lock:
            if self._closed:
                raise InvalidOperationError("the store is closed")
            if self._backend is None:
                self.conventions.freeze()
                given = self._given_backend
                self._backend = given if given is not None else open_backend(self.urls)
                self._codec = EntityCodec(
                    identity_name=self.conventions.find_identity_property_name,
                    encoders=self.conventions.encoders,
                    validate=bool(self.conventions.validate_on_load),
                )
        return self

    def _backend_ready(self) -> Backend:
        self.initialize()
        assert self._backend is not None
        return self._backend

    @property
    def backend(self) -> Backend:
        """The backend this store uses (opened from ``urls``, or the one it was given);
        initializes the store. Its ``capabilities`` say what it can do."""
        return self._backend_ready()

    def _storage(self, database: str) -> Storage:
        key = database.lower()
        with self._lock:
            storage = self._storages.get(key)
            if storage is None:
                storage = self._storages[key] = self._backend_ready().database(database)
            return storage

    def _client_settings(self, database: str) -> ClientSettings:
        """The session settings the database's client configuration gives this store (its
        conventions where it sets none), read the first time a database is used and after a
        change sent through this store (a change made elsewhere is seen by stores made after
        it, as a RavenDB client sees one when its server tells it)."""
        key = database.lower()
        settings = self._settings.get(key)
        if settings is None:
            backend, storage = self._backend_ready(), self._storage(database)
            try:
                settings = client_settings(self.conventions, backend, storage)
            except StorageError:
                # Storage is out of reach: the conventions for now, and the session's first
                # request raises what is wrong; read again on the next session.
                conventions = self.conventions
                return ClientSettings(
                    conventions.max_number_of_requests_per_session,
                    conventions.identity_parts_separator,
                )
            self._settings[key] = settings
        return settings

    def _forget_client_settings(self) -> None:
        with self._lock:
            self._settings = {}
            # HiLo generators hold the separator: later ids use the new one. Their ranges are
            # not given back (a session may still be drawing from one): skipped, never reused.
            self._generators = {}

    def type_info(self, cls: type) -> tuple[str, dict[str, Any]]:
        """The collection of a class and the metadata its new documents start with, computed
        (and the class registered) once: the conventions are frozen, so neither can change.
        The metadata dict is shared by sessions: they copy it before writing to it."""
        try:
            info = self._type_info.get(cls)
        except TypeError:  # unhashable: not a class (refused just below)
            info = None
        if info is None:
            check_class(cls, "cls", optional=False)
            collection = validate_collection_name(self.conventions.find_collection_name(cls))
            self._types.register(cls)
            metadata = {"@collection": collection, "Raven-Python-Type": python_type_name(cls)}
            info = self._type_info[cls] = (collection, metadata)
        return info

    @overload
    def _next_id(self, database: str, entity: Any, collection: str) -> str: ...
    @overload
    def _next_id(
        self, database: str, entity: Any, collection: str, reserve: bool
    ) -> str | None: ...
    def _next_id(
        self, database: str, entity: Any, collection: str, reserve: bool = True
    ) -> str | None:
        """A new entity's id; ``reserve=False``: None where it would take a request (a new
        HiLo range)."""
        generator = self.conventions.document_id_generator
        if generator is not None:
            return generator(database, entity)
        key = database.lower()
        with self._lock:
            hilo = self._generators.get(key)
            if hilo is None:
                hilo = self._generators[key] = HiLoIdGenerator(
                    self._storage(database),
                    self._client_settings(database).identity_parts_separator,
                )
        return hilo.next_id(collection.lower(), reserve)

    def execute_index(self, task: Any, database: str | None = None) -> None:
        """Put the index of creation ``task`` (RavenDB's ``execute_index``): the documents
        already there are indexed before this returns."""
        from rookdb.index_operations import put_tasks

        put_tasks(self, [task], database)

    def execute_indexes(self, tasks: list[Any], database: str | None = None) -> None:
        """Put the indexes of creation ``tasks`` together (one refused: none is put)."""
        from rookdb.index_operations import put_tasks

        put_tasks(self, tasks, database)

    def open_session(
        self,
        database: str | SessionOptions | None = None,
        session_options: SessionOptions | None = None,
    ) -> DocumentSession:
        """A new session. ``SessionOptions`` may be passed positionally, as RavenDB's docs do."""
        return self._new_session(DocumentSession, database, session_options)

    def _new_session(
        self,
        cls: type[S],
        database: str | SessionOptions | None,
        session_options: SessionOptions | None,
    ) -> S:
        """``open_session``'s session, of ``cls`` (``LoopSession`` for an async session)."""
        if isinstance(database, SessionOptions):
            if session_options is not None:
                raise ConfigurationError("session options were given twice")
            database, session_options = None, database
        check_instance(session_options, SessionOptions, "session_options", optional=True)
        options = session_options or SessionOptions()
        name = validate_database_name(database or options.database or self.database)
        self.initialize()
        assert self._codec is not None
        settings = self._client_settings(name)
        session = cls(
            self,
            name,
            self._storage(name),
            options,
            self._codec,
            self._types,
            self._events.copy(),
            self._next_id,
        )
        session.max_number_of_requests_per_session = settings.max_number_of_requests_per_session
        return session

    def open_async_session(
        self,
        database: str | SessionOptions | None = None,
        session_options: SessionOptions | None = None,
    ) -> AsyncDocumentSession:
        """A new ``AsyncDocumentSession`` (``rookdb.async_session``), RavenDB's
        ``OpenAsyncSession``: ``open_session``'s arguments; use it in ``async with``."""
        # The class's own (the suite's async mode replaces the instance's open_session).
        session = DocumentStore._new_session(self, LoopSession, database, session_options)
        storage = session._storage
        with self._lock:
            adapter = self._async_storages.get(id(storage))
            if adapter is None or adapter.storage is not storage:
                adapter = self._async_storages[id(storage)] = AsyncStorage(
                    storage, native=self.conventions.async_native_io
                )
        return AsyncDocumentSession(session, adapter)

    def bulk_insert(
        self, database: str | None = None, chunk_size: int = CHUNK_SIZE
    ) -> BulkInsertOperation:
        """A bulk insert into ``database`` (the store's default): the fastest way to load
        documents, written ``chunk_size`` at a time, each chunk one transaction
        (``rookdb.bulk_insert``). Use it in a ``with`` block."""
        name = validate_database_name(database or self.database)
        return BulkInsertOperation(self, name, chunk_size)

    def close(self) -> None:
        """Give back unused HiLo ranges and close the backend's connections."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            # A backend it was given is its own even if never used.
            backend, self._backend = self._backend or self._given_backend, None
            generators, self._generators = list(self._generators.values()), {}
            self._storages = {}
            adapters, self._async_storages = list(self._async_storages.values()), {}
        for adapter in adapters:
            adapter.close()
        for hilo in generators:
            # Best effort: ids not given back are merely skipped, never reused.
            with contextlib.suppress(StorageError):
                hilo.return_unused()
        if backend is not None and not backend.shared:
            backend.close()
