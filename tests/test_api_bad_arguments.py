"""Wrong-typed arguments to the public Python API get a ``RookError``, never a bare
interpreter error, and write nothing: the Python API's analog of ``test_http_fuzz``.

``ROWS`` is a table of public calls, each a small function taking a hostile value in one
argument slot, the others valid. Every row gets every value of ``HOSTILE`` (None, a list, a
dict, ``object()``, a list nested 5,000 deep, a 1 MB string, an int past 64 bits, NaN,
infinity, a bool, a negative number, bytes). A value a slot legitimately accepts is named in
the row's ``accepts`` (and ``why`` says why); the call must then succeed. Any other value must
raise a ``RookError`` subclass, and a row that can write (``writes``) must leave the database
as it was, even after the session's next ``save_changes``. A query row runs its query, a lazy
row reads its value and a write row saves: what a builder let through must not fail later.

``test_every_public_method_has_a_row`` lists the public methods of the API's classes (by
``inspect``) that have no row and are not in ``NOT_APPLICABLE`` (with the reason), so that new
API cannot be added without a bad-argument row. Deterministic: no randomness, one pass.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import enum
import inspect
import math
import time
from collections.abc import Callable, Coroutine, Iterator
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any

import pytest

from rookdb import (
    DeleteCommand,
    DocumentQuery,
    DocumentSession,
    DocumentStore,
    PatchCommand,
    PatchRequest,
    PutCommand,
    RawDocumentQuery,
    RookError,
    SessionOptions,
    document_operations,
    index_operations,
    operations,
)
from rookdb import attachments as attachments_module
from rookdb.advanced import Advanced
from rookdb.async_advanced import (
    AsyncAdvanced,
    AsyncAttachments,
    AsyncDocumentCounters,
    AsyncEagerOperations,
)
from rookdb.async_session import AsyncDocumentQuery, AsyncDocumentSession
from rookdb.attachments import SessionAttachments
from rookdb.bulk_insert import AttachmentsBulkInsert, BulkInsertOperation
from rookdb.conventions import DocumentConventions
from rookdb.counters import SessionDocumentCounters
from rookdb.document_operations import Operations
from rookdb.facet_query import AggregationDocumentQuery
from rookdb.facets import Facet, FacetBuilder, RangeBuilder
from rookdb.ids import HILO_PREFIX
from rookdb.includes import IncludeBuilder, LoaderWithInclude
from rookdb.indexes.creation_tasks import AbstractIndexCreationTask
from rookdb.indexes.definitions import IndexLockMode, IndexPriority
from rookdb.lazy import EagerSessionOperations, LazyLoaderWithInclude, LazySessionOperations
from rookdb.operations import (
    ClientConfiguration,
    ConfigureRevisionsOperation,
    GetIdentitiesOperation,
    GetIndexNamesOperation,
    NextIdentityForOperation,
    PutClientConfigurationOperation,
    PutServerWideClientConfigurationOperation,
    SeedIdentityForOperation,
)
from rookdb.query_group_by import GroupBy, GroupByDocumentQuery, GroupByField
from rookdb.revisions import (
    RevisionsCollectionConfiguration,
    RevisionsConfiguration,
    SessionRevisions,
)
from rookdb.store import MaintenanceOperations, ServerOperations

pytestmark = pytest.mark.rookdb_backends("sqlite")

# -- hostile values ----------------------------------------------------------------------------


def _deep(levels: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


HUGE = "a" * 1_000_000  # (past every limit of a name, an id, a path, a pattern)
DEEP = _deep(5000)

#: Each kind of hostile value, by the name rows use in ``accepts``.
HOSTILE: dict[str, Any] = {
    "none": None,
    "list": [1, "users/1"],
    "dict": {"a": 1},
    "object": object(),
    "deep": DEEP,
    "huge": HUGE,
    "bigint": 2**64,
    "nan": math.nan,
    "inf": math.inf,
    "bool": True,
    "negative": -1,
    "bytes": b"users/1",
}

# -- the world every call runs in --------------------------------------------------------------


class User:
    def __init__(
        self, name: str = "", age: int = 0, friend: str | None = None, Id: str | None = None
    ) -> None:
        self.name, self.age, self.friend, self.Id = name, age, friend, Id
        self.tags: list[str] = ["a"]


class Users_ByName(AbstractIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.map = "from u in docs.Users select new { u.name }"


def seed(store: DocumentStore) -> None:
    """users/1 (a counter, an attachment) and users/2, as every case expects them, and no
    other document: what an accepted write left (a document holding 1 MB, an attachment
    whose content type is) is deleted, so that the next cases do not carry it."""
    storage = store._storage(store.database)
    with store.open_session() as session:
        for record in storage.stream():
            if not record.id.startswith(HILO_PREFIX):
                session.delete(record.id)
        session.save_changes()
    with store.open_session() as session:
        session.store(User("Ann", 30, "users/2"), "users/1")
        session.store(User("Bob", 40), "users/2")
        session.counters_for("users/1").increment("likes")
        session.advanced.attachments.store("users/1", "a.txt", b"hello")
        session.save_changes()


def fingerprint(store: DocumentStore) -> Any:
    """What a refused call must leave as it was: documents (and so their attachments and
    counters' names, in their change vectors), counter values, identities, databases,
    indexes, the client and revisions configurations."""
    storage = store._storage(store.database)
    return (
        sorted((r.id, r.change_vector) for r in storage.stream()),
        storage.get_counters("users/1"),
        storage.get_identities(),
        sorted(store.maintenance.list_databases()),
        store.maintenance.send(GetIndexNamesOperation(0, 100)),
        storage.get_client_configuration(),
        store.backend.get_server_client_configuration(),
    )


class Ctx:
    """One case: a fresh session (sync or async) opened on first use, on the seeded store."""

    def __init__(self, store: DocumentStore, loop: asyncio.AbstractEventLoop) -> None:
        self.store = store
        self.loop = loop
        self._s: DocumentSession | None = None
        self._a: AsyncDocumentSession | None = None
        self._user: Any = None

    @property
    def s(self) -> DocumentSession:
        if self._s is None:
            self._s = self.store.open_session()
        return self._s

    @property
    def adv(self) -> Advanced:
        return self.s.advanced

    @property
    def user(self) -> User:
        """users/1, tracked by ``s``."""
        if self._user is None:
            self._user = self.s.load("users/1", User)
        return self._user  # type: ignore[no-any-return]

    def q(self) -> DocumentQuery[User]:
        return self.s.query(User)

    @property
    def a(self) -> AsyncDocumentSession:
        if self._a is None:
            self._a = self.store.open_async_session()
        return self._a

    def run(self, awaitable: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.run_until_complete(awaitable)

    def aq(self) -> AsyncDocumentQuery[User]:
        return self.a.query(User)

    def save(self) -> None:
        """Save what the case's sessions hold (after a refused call: nothing must be)."""
        if self._s is not None:
            self._s.save_changes()
        if self._a is not None:
            self.run(self._a.save_changes())

    def close(self) -> None:
        if self._s is not None:
            self._s.close()
        if self._a is not None:
            self._a.close()


@dataclasses.dataclass(frozen=True)
class Row:
    """A public call (``method``: ``Class.name``, what the coverage test checks) with the
    hostile value in argument ``slot``. ``accepts``: the kinds of ``HOSTILE`` the slot takes
    (space-separated), ``why`` says why; ``writes``: the call can change the database."""

    method: str
    slot: str
    call: Callable[[Ctx, Any], Any]
    accepts: str = ""
    why: str = ""
    writes: bool = False
    #: Kinds refused by the save that ends the call, not by the call itself (a script that
    #: fails when it runs, a change vector the document does not have): the session still
    #: holds what the save refused.
    at_save: str = ""


def _drain(results: Any) -> list[Any]:
    with results:
        return list(results)


async def _adrain(results: Any) -> list[Any]:
    async with results:
        return [r async for r in results]


async def _aread(found: Any) -> Any:
    if found is not None:
        async with found:
            await found.data()
    return found


def _read(found: Any) -> Any:
    if found is not None:
        with found:
            _ = found.data
    return found


def _store_with(c: Ctx, **conventions: Any) -> None:
    """A store of its own with ``conventions`` set, used once (store and save, query)."""
    with DocumentStore(urls=c.store.urls or None, database=c.store.database) as other:
        for name, value in conventions.items():
            setattr(other.conventions, name, value)
        with other.open_session() as session:
            session.store(User("Cy", 50))
            session.store({"x": 1}, "things/")
            session.query(User).to_list()
            session.save_changes()


ANY = "none list dict object deep huge bigint nan inf bool negative bytes"
OBJECT_WHY = (
    "an entity: a dict is a document, an instance of a class (object() too: an empty one) "
    "is one of the class's collection"
)
FLAG_WHY = ""
#: A flag mirroring RavenDB's client, which takes any truthy value: a bool or an int.
TRUTHY = "bool negative bigint"
TRUTHY_WHY = "a flag: a bool or an int (RavenDB's client takes any truthy value)"
CV_WHY = "None: no check; a str that is not the document's: the save's check refuses it"
WAIT_WHY = "None: 15 seconds; seconds, as many as that (infinity: no limit)"
SCALARS_WHY = "a JSON scalar compares as itself: null, true, -1 and a 1 MB string are values"

# -- the table ---------------------------------------------------------------------------------

ROWS: list[Row] = [
    # DocumentStore ------------------------------------------------------------------------
    Row("DocumentStore.__init__", "urls", lambda c, v: DocumentStore(urls=v).initialize().close(),
        "none", "None means $ROOKDB_URL (memory:// here)"),
    Row("DocumentStore.__init__", "database",
        lambda c, v: DocumentStore(urls="memory://", database=v).initialize().close(), "none",
        "None means the default database"),
    Row("DocumentStore.__init__", "backend",
        lambda c, v: DocumentStore(backend=v).initialize().close(), "none",
        "None opens urls ($ROOKDB_URL)"),
    Row("DocumentStore.open_session", "database",
        lambda c, v: c.store.open_session(v).load("users/1"), "none",
        "None means the store's database"),
    Row("DocumentStore.open_session", "session_options",
        lambda c, v: c.store.open_session(None, v).load("users/1"), "none",
        "None means the default options"),
    Row("DocumentStore.open_async_session", "database",
        lambda c, v: c.run(c.store.open_async_session(v).load("users/1")), "none",
        "None means the store's database"),
    Row("DocumentStore.open_async_session", "session_options",
        lambda c, v: c.run(c.store.open_async_session(None, v).load("users/1")), "none",
        "None means the default options"),
    Row("DocumentStore.bulk_insert", "database", lambda c, v: c.store.bulk_insert(v).close(),
        "none", "None means the store's database"),
    Row("DocumentStore.bulk_insert", "chunk_size",
        lambda c, v: c.store.bulk_insert(None, v).close(), "bigint",
        "a chunk is also cut at 8 MB: past 64 bits is no limit"),
    Row("DocumentStore.execute_index", "task", lambda c, v: c.store.execute_index(v), writes=True),
    Row("DocumentStore.execute_index", "database",
        lambda c, v: c.store.execute_index(Users_ByName(), v), "none",
        "None means the store's database (the index exists: a put of no change)", writes=True),
    Row("DocumentStore.execute_indexes", "tasks", lambda c, v: c.store.execute_indexes(v),
        writes=True),
    Row("DocumentStore.execute_indexes", "database",
        lambda c, v: c.store.execute_indexes([Users_ByName()], v), "none",
        "None means the store's database", writes=True),
    Row("DocumentStore.type_info", "cls", lambda c, v: c.store.type_info(v)),
    # Events, on the store (and the same methods on sessions: EventRegistration).
    *(
        Row(
            f"DocumentStore.{event}",
            "handler",
            lambda c, v, event=event: _event(c, event, v),
            writes=True,
        )
        for event in (
            "add_before_store",
            "add_after_save_changes",
            "add_before_delete",
            "add_before_query",
            "remove_before_store",
            "remove_after_save_changes",
            "remove_before_delete",
            "remove_before_query",
        )
    ),
    # store.conventions (checked when the store initializes: they are set as attributes).
    *(
        Row(
            "DocumentConventions.__setattr__",
            name,
            lambda c, v, name=name: _store_with(c, **{name: v}),
            accepts,
            why,
            writes=True,
        )
        for name, accepts, why in (
            ("should_ignore_entity_changes", "none", "None: no rule"),
            ("find_collection_name", "", ""),
            ("find_identity_property_name", "", ""),
            ("validate_on_load", TRUTHY, TRUTHY_WHY),
            ("identity_parts_separator", "", ""),
            ("document_id_generator", "none", "None: HiLo ids"),
            ("max_number_of_requests_per_session", "", ""),
            ("async_native_io", "none bool", "a flag, None: the measured default"),
            ("use_optimistic_concurrency", TRUTHY, TRUTHY_WHY),
            ("optimistic_concurrency_mode", "none", "None: from use_optimistic_concurrency"),
        )
    ),
    Row("DocumentConventions.register_type", "cls",
        lambda c, v: DocumentStore(urls="memory://").conventions.register_type(v)),
    Row("DocumentConventions.register_encoder", "cls",
        lambda c, v: DocumentStore(urls="memory://").conventions.register_encoder(v, str)),
    Row("DocumentConventions.register_encoder", "encoder",
        lambda c, v: DocumentStore(urls="memory://").conventions.register_encoder(dt.date, v)),
    # store.maintenance, store.operations ---------------------------------------------------
    Row("MaintenanceOperations.send", "operation", lambda c, v: c.store.maintenance.send(v)),
    Row("MaintenanceOperations.for_database", "database",
        lambda c, v: c.store.maintenance.for_database(v).send(GetIdentitiesOperation())),
    Row("MaintenanceOperations.create_database", "name",
        lambda c, v: c.store.maintenance.create_database(v), writes=True),
    Row("MaintenanceOperations.delete_database", "name",
        lambda c, v: c.store.maintenance.delete_database(v), writes=True),
    Row("MaintenanceOperations.get_statistics", "database",
        lambda c, v: c.store.maintenance.get_statistics(v), "none",
        "None means the store's database"),
    Row("ServerOperations.send", "operation", lambda c, v: c.store.maintenance.server.send(v)),
    Row("Operations.send", "operation", lambda c, v: c.store.operations.send(v)),
    Row(
        "Operations.for_database",
        "database",
        lambda c, v: c.store.operations.for_database(v).send(
            document_operations.PatchByQueryOperation("from Nothing update { this.x = 1; }")
        ),
    ),
    # DocumentSession -----------------------------------------------------------------------
    Row("DocumentSession.load", "id_or_ids", lambda c, v: c.s.load(v), "dict",
        "an iterable of ids (a dict's keys)"),
    Row("DocumentSession.load", "object_type", lambda c, v: c.s.load("users/1", v), "none",
        "None builds the stored type"),
    Row("DocumentSession.load", "includes", lambda c, v: c.s.load("users/1", User, v), "none dict",
        "None includes nothing; an iterable of paths (a dict's keys)"),
    Row("DocumentSession.load_starting_with", "id_prefix", lambda c, v: c.s.load_starting_with(v)),
    Row("DocumentSession.load_starting_with", "object_type",
        lambda c, v: c.s.load_starting_with("users/", v), "none", "None builds the stored type"),
    Row("DocumentSession.load_starting_with", "matches",
        lambda c, v: c.s.load_starting_with("users/", User, v), "none", "None matches all"),
    Row("DocumentSession.load_starting_with", "start",
        lambda c, v: c.s.load_starting_with("users/", User, None, v)),
    Row("DocumentSession.load_starting_with", "page_size",
        lambda c, v: c.s.load_starting_with("users/", User, None, 0, v)),
    Row("DocumentSession.load_starting_with", "exclude",
        lambda c, v: c.s.load_starting_with("users/", User, None, 0, 25, v), "none",
        "None excludes nothing"),
    Row("DocumentSession.load_starting_with", "start_after",
        lambda c, v: c.s.load_starting_with("users/", User, None, 0, 25, None, v), "none",
        "None starts at the first"),
    Row("DocumentSession.include", "path", lambda c, v: c.s.include(v).load("users/1")),
    Row("DocumentSession.store", "entity", lambda c, v: (c.s.store(v), c.s.save_changes()),
        "dict object", OBJECT_WHY, writes=True),
    Row("DocumentSession.store", "key",
        lambda c, v: (c.s.store(User("Eve"), v), c.s.save_changes()), "none",
        "None: the entity's Id, else a HiLo id", writes=True),
    Row("DocumentSession.store", "change_vector",
        lambda c, v: (c.s.store(User("Eve"), "users/7", v), c.s.save_changes()), "none", CV_WHY,
        writes=True, at_save="huge"),
    Row("DocumentSession.delete", "entity_or_id", lambda c, v: (c.s.delete(v), c.s.save_changes()),
        writes=True),
    Row("DocumentSession.delete", "expected_change_vector",
        lambda c, v: (c.s.delete("users/5", v), c.s.save_changes()), "none",
        "None: no check (users/5 does not exist: nothing to delete)", writes=True, at_save="huge"),
    Row("DocumentSession.counters_for", "entity_or_id", lambda c, v: c.s.counters_for(v).get_all()),
    Row("DocumentSession.counters_for_entity", "entity",
        lambda c, v: c.s.counters_for_entity(v).get_all()),
    Row("DocumentSession.query", "object_type", lambda c, v: c.s.query(v).to_list(), "none",
        "None: every collection (@all_docs)"),
    Row("DocumentSession.query", "collection_name", lambda c, v: c.s.query(None, v).to_list(),
        "none", "None: every collection"),
    Row("DocumentSession.query", "index_name", lambda c, v: c.s.query(User, None, v).to_list(),
        "none", "None: the collection"),
    Row("DocumentSession.query_index", "index_name", lambda c, v: c.s.query_index(v).to_list()),
    Row("DocumentSession.query_index", "object_type",
        lambda c, v: c.s.query_index("Users/ByName", v).to_list(), "none",
        "None builds the stored type"),
    Row("DocumentSession.query_index_type", "index_type",
        lambda c, v: c.s.query_index_type(v).to_list()),
    Row("DocumentSession.query_index_type", "object_type",
        lambda c, v: c.s.query_index_type(Users_ByName, v).to_list(), "none",
        "None builds the stored type"),
    Row("DocumentSession.ignore_changes_for", "entity", lambda c, v: c.s.ignore_changes_for(v)),
    # session.advanced -----------------------------------------------------------------------
    Row("Advanced.has_changed", "entity", lambda c, v: c.adv.has_changed(v), ANY,
        "any object: one the session does not track has no changes"),
    Row("Advanced.what_changed", "as_patch", lambda c, v: c.adv.what_changed(v), "bool", "a flag"),
    Row("Advanced.what_changed_for", "entity", lambda c, v: c.adv.what_changed_for(v), ANY,
        "any object: one the session does not track has no changes"),
    Row("Advanced.ignore_changes_for", "entity", lambda c, v: c.adv.ignore_changes_for(v)),
    Row("Advanced.evict", "entity", lambda c, v: c.adv.evict(v), ANY,
        "any object: one the session does not track is not there to forget"),
    Row("Advanced.refresh", "entity", lambda c, v: c.adv.refresh(v)),
    Row("Advanced.get_metadata_for", "entity", lambda c, v: c.adv.get_metadata_for(v)),
    Row("Advanced.get_change_vector_for", "entity", lambda c, v: c.adv.get_change_vector_for(v)),
    Row("Advanced.get_last_modified_for", "entity", lambda c, v: c.adv.get_last_modified_for(v)),
    Row("Advanced.get_document_id", "entity", lambda c, v: c.adv.get_document_id(v), ANY,
        "any object: None for one the session does not track"),
    Row("Advanced.is_loaded", "document_id", lambda c, v: c.adv.is_loaded(v)),
    Row("Advanced.exists", "document_id", lambda c, v: c.adv.exists(v)),
    Row("Advanced.max_number_of_requests_per_session", "value",
        lambda c, v: (setattr(c.adv, "max_number_of_requests_per_session", v), c.user)),
    Row("Advanced.use_optimistic_concurrency", "value",
        lambda c, v: (setattr(c.adv, "use_optimistic_concurrency", v), c.user), TRUTHY,
        TRUTHY_WHY),
    Row("Advanced.optimistic_concurrency_mode", "mode",
        lambda c, v: (setattr(c.adv, "optimistic_concurrency_mode", v), c.user)),
    Row("Advanced.raw_query", "query", lambda c, v: c.adv.raw_query(v).to_list()),
    Row("Advanced.raw_query", "object_type",
        lambda c, v: c.adv.raw_query("from Users", v).to_list(), "none",
        "None builds the stored type"),
    Row("Advanced.document_query", "object_type", lambda c, v: c.adv.document_query(v).to_list(),
        "none", "None: every collection"),
    Row("Advanced.document_query", "collection_name",
        lambda c, v: c.adv.document_query(None, v).to_list(), "none", "None: every collection"),
    Row("Advanced.document_query", "index_name",
        lambda c, v: c.adv.document_query(User, None, v).to_list(), "none", "None: the collection"),
    Row(
        "Advanced.conditional_load",
        "document_id",
        lambda c, v: c.adv.conditional_load(v, "A:1-x"),
    ),
    Row("Advanced.conditional_load", "change_vector",
        lambda c, v: c.adv.conditional_load("users/1", v), "huge",
        "a str: the document does not have it"),
    Row("Advanced.conditional_load", "object_type",
        lambda c, v: c.adv.conditional_load("users/1", "A:1-x", v), "none",
        "None builds the stored type"),
    Row("Advanced.load_starting_with", "id_prefix", lambda c, v: c.adv.load_starting_with(v)),
    Row("Advanced.load_starting_with", "page_size",
        lambda c, v: c.adv.load_starting_with("users/", User, None, 0, v)),
    Row("Advanced.stream", "query", lambda c, v: _drain(c.adv.stream(v))),
    Row("Advanced.stream_with_statistics", "query",
        lambda c, v: _drain(c.adv.stream_with_statistics(v, None))),
    Row("Advanced.stream_with_statistics", "stats_callback",
        lambda c, v: _drain(c.adv.stream_with_statistics(c.q(), v)), "none", "None: no callback"),
    Row("Advanced.stream_starting_with", "starts_with",
        lambda c, v: _drain(c.adv.stream_starting_with(v))),
    Row("Advanced.stream_starting_with", "matches",
        lambda c, v: _drain(c.adv.stream_starting_with("users/", v)), "none", "None matches all"),
    Row("Advanced.stream_starting_with", "start",
        lambda c, v: _drain(c.adv.stream_starting_with("users/", None, v))),
    Row("Advanced.stream_starting_with", "page_size",
        lambda c, v: _drain(c.adv.stream_starting_with("users/", None, 0, v))),
    Row("Advanced.stream_starting_with", "start_after",
        lambda c, v: _drain(c.adv.stream_starting_with("users/", None, 0, 10, v)), "none",
        "None starts at the first"),
    Row("Advanced.stream_starting_with", "object_type",
        lambda c, v: _drain(c.adv.stream_starting_with("users/", None, 0, 10, None, v)), "none",
        "None builds the stored type"),
    Row("Advanced.stream_starting_with", "exclude",
        lambda c, v: _drain(c.adv.stream_starting_with("users/", None, 0, 10, None, User, v)),
        "none", "None excludes nothing"),
    # session.advanced's patches
    Row("Advanced.patch", "entity_or_id",
        lambda c, v: (c.adv.patch(v, "age", 1), c.s.save_changes()), writes=True),
    Row("Advanced.patch", "path", lambda c, v: (c.adv.patch("users/1", v, 1), c.s.save_changes()),
        writes=True),
    Row("Advanced.patch", "value",
        lambda c, v: (c.adv.patch("users/1", "age", v), c.s.save_changes()),
        "none list dict bool negative huge",
        "any value a document can hold (a list, a dict, null; a 1 MB string)", writes=True),
    Row("Advanced.increment", "entity_or_id",
        lambda c, v: (c.adv.increment(v, "age", 1), c.s.save_changes()), writes=True),
    Row("Advanced.increment", "path",
        lambda c, v: (c.adv.increment("users/1", v, 1), c.s.save_changes()), writes=True),
    Row("Advanced.increment", "value_to_add",
        lambda c, v: (c.adv.increment("users/1", "age", v), c.s.save_changes()), "negative",
        "a number", writes=True),
    Row("Advanced.patch_array", "entity_or_id",
        lambda c, v: (c.adv.patch_array(v, "tags", lambda a: a.add(1)), c.s.save_changes()),
        writes=True),
    Row("Advanced.patch_array", "path_to_array",
        lambda c, v: (c.adv.patch_array("users/1", v, lambda a: a.add(1)), c.s.save_changes()),
        writes=True),
    Row("Advanced.patch_array", "array_adder",
        lambda c, v: (c.adv.patch_array("users/1", "tags", v), c.s.save_changes()), writes=True),
    Row("Advanced.patch_array", "JavaScriptArray.add",
        lambda c, v: (c.adv.patch_array("users/1", "tags", lambda a: a.add(v)), c.s.save_changes()),
        "none list dict bool negative huge", "any value a document can hold", writes=True),
    Row(
        "Advanced.patch_array",
        "JavaScriptArray.remove_at",
        lambda c, v: (
            c.adv.patch_array("users/1", "tags", lambda a: a.remove_at(v)),
            c.s.save_changes(),
        ),
        "negative",
        "-1 is the last item, as in JavaScript's splice",
        writes=True,
    ),
    Row(
        "Advanced.add_or_patch",
        "document_id",
        lambda c, v: (c.adv.add_or_patch(v, User("Fay"), "age", 1), c.s.save_changes()),
        writes=True,
    ),
    Row("Advanced.add_or_patch", "entity",
        lambda c, v: (c.adv.add_or_patch("users/1", v, "age", 1), c.s.save_changes()),
        "dict object", OBJECT_WHY, writes=True),
    Row("Advanced.add_or_patch", "path_to_object",
        lambda c, v: (c.adv.add_or_patch("users/1", User("Fay"), v, 1), c.s.save_changes()),
        writes=True),
    Row("Advanced.add_or_patch", "value",
        lambda c, v: (c.adv.add_or_patch("users/1", User("Fay"), "age", v), c.s.save_changes()),
        "none list dict bool negative huge", "any value a document can hold", writes=True),
    Row("Advanced.add_or_increment", "document_id",
        lambda c, v: (c.adv.add_or_increment(v, User("Fay"), "age", 1), c.s.save_changes()),
        writes=True),
    Row("Advanced.add_or_increment", "entity",
        lambda c, v: (c.adv.add_or_increment("users/1", v, "age", 1), c.s.save_changes()),
        "dict object", OBJECT_WHY, writes=True),
    Row("Advanced.add_or_increment", "path_to_object",
        lambda c, v: (c.adv.add_or_increment("users/1", User("Fay"), v, 1), c.s.save_changes()),
        writes=True),
    Row("Advanced.add_or_increment", "val_to_add",
        lambda c, v: (c.adv.add_or_increment("users/1", User("Fay"), "age", v), c.s.save_changes()),
        "negative", "a number", writes=True),
    Row(
        "Advanced.add_or_patch_array",
        "document_id",
        lambda c, v: (
            c.adv.add_or_patch_array(v, User("Fay"), "tags", lambda a: a.add(1)),
            c.s.save_changes(),
        ),
        writes=True,
    ),
    Row(
        "Advanced.add_or_patch_array",
        "entity",
        lambda c, v: (
            c.adv.add_or_patch_array("users/1", v, "tags", lambda a: a.add(1)),
            c.s.save_changes(),
        ),
        "dict object",
        OBJECT_WHY,
        writes=True,
    ),
    Row(
        "Advanced.add_or_patch_array",
        "path_to_array",
        lambda c, v: (
            c.adv.add_or_patch_array("users/1", User("Fay"), v, lambda a: a.add(1)),
            c.s.save_changes(),
        ),
        writes=True,
    ),
    Row(
        "Advanced.add_or_patch_array",
        "list_adder",
        lambda c, v: (
            c.adv.add_or_patch_array("users/1", User("Fay"), "tags", v),
            c.s.save_changes(),
        ),
        writes=True,
    ),
    Row(
        "Advanced.defer", "commands", lambda c, v: (c.adv.defer(v), c.s.save_changes()), writes=True
    ),
    Row("PutCommand.__init__", "id",
        lambda c, v: (c.adv.defer(PutCommand(v, "Users", b"{}")), c.s.save_changes()), writes=True),
    Row(
        "PutCommand.__init__",
        "collection",
        lambda c, v: (c.adv.defer(PutCommand("users/7", v, b"{}")), c.s.save_changes()),
        writes=True,
    ),
    Row("PutCommand.__init__", "data",
        lambda c, v: (c.adv.defer(PutCommand("users/7", "Users", v)), c.s.save_changes()),
        writes=True),
    Row("PutCommand.__init__", "expected_change_vector",
        lambda c, v: (c.adv.defer(PutCommand("users/7", "Users", b"{}", v)), c.s.save_changes()),
        "none", CV_WHY, writes=True, at_save="huge"),
    Row("DeleteCommand.__init__", "id",
        lambda c, v: (c.adv.defer(DeleteCommand(v)), c.s.save_changes()), writes=True),
    Row("DeleteCommand.__init__", "expected_change_vector",
        lambda c, v: (c.adv.defer(DeleteCommand("users/5", v)), c.s.save_changes()), "none", CV_WHY,
        writes=True, at_save="huge"),
    Row("PatchRequest.__init__", "script",
        lambda c, v: (c.adv.defer(PatchCommand("users/1", PatchRequest(v))), c.s.save_changes()),
        writes=True, at_save="huge", why="a 1 MB script is JavaScript; it fails when it runs"),
    Row(
        "PatchRequest.__init__",
        "values",
        lambda c, v: (
            c.adv.defer(PatchCommand("users/1", PatchRequest("this.a = 1;", v))),
            c.s.save_changes(),
        ),
        "dict",
        "the script's args",
        writes=True,
    ),
    Row(
        "PatchCommand.__init__",
        "id",
        lambda c, v: (
            c.adv.defer(PatchCommand(v, PatchRequest("this.a = 1;"))),
            c.s.save_changes(),
        ),
        writes=True,
    ),
    Row("PatchCommand.__init__", "patch",
        lambda c, v: (c.adv.defer(PatchCommand("users/1", v)), c.s.save_changes()), writes=True),
    Row(
        "PatchCommand.__init__",
        "patch_if_missing",
        lambda c, v: (
            c.adv.defer(PatchCommand("users/5", PatchRequest("this.a = 1;"), v)),
            c.s.save_changes(),
        ),
        "none",
        "None: a missing document stays missing",
        writes=True,
    ),
    Row(
        "PatchCommand.__init__",
        "expected_change_vector",
        lambda c, v: (
            c.adv.defer(
                PatchCommand("users/5", PatchRequest("this.a = 1;"), expected_change_vector=v)
            ),
            c.s.save_changes(),
        ),
        "none",
        CV_WHY,
        writes=True,
        at_save="huge",
    ),
    Row("SessionOptions.__init__", "database",
        lambda c, v: c.store.open_session(SessionOptions(database=v)).load("users/1"), "none",
        "None means the store's database"),
    Row("SessionOptions.__init__", "no_tracking",
        lambda c, v: c.store.open_session(SessionOptions(no_tracking=v)).load("users/1"),
        f"none {TRUTHY}", f"{TRUTHY_WHY}; None: False (RavenDB's client's default)"),
    Row(
        "SessionOptions.__init__",
        "optimistic_concurrency_mode",
        lambda c, v: c.store.open_session(SessionOptions(optimistic_concurrency_mode=v)).load(
            "users/1"
        ),
        "none",
        "None: the conventions' mode",
    ),
    # counters, attachments, revisions -----------------------------------------------------
    Row("SessionDocumentCounters.increment", "name",
        lambda c, v: (c.s.counters_for("users/1").increment(v), c.s.save_changes()), writes=True),
    Row("SessionDocumentCounters.increment", "delta",
        lambda c, v: (c.s.counters_for("users/1").increment("likes", v), c.s.save_changes()),
        "negative", "a 64-bit integer", writes=True),
    Row("SessionDocumentCounters.delete", "name",
        lambda c, v: (c.s.counters_for("users/1").delete(v), c.s.save_changes()), writes=True),
    Row("SessionDocumentCounters.get", "name", lambda c, v: c.s.counters_for("users/1").get(v)),
    Row("SessionDocumentCounters.get_many", "names",
        lambda c, v: c.s.counters_for("users/1").get_many(v), "dict",
        "an iterable of names (a dict's keys)"),
    Row("SessionAttachments.store", "entity_or_id",
        lambda c, v: (c.adv.attachments.store(v, "b.txt", b"x"), c.s.save_changes()), writes=True),
    Row(
        "SessionAttachments.store",
        "name",
        lambda c, v: (c.adv.attachments.store("users/1", v, b"x"), c.s.save_changes()),
        writes=True,
    ),
    Row("SessionAttachments.store", "data_or_stream",
        lambda c, v: (c.adv.attachments.store("users/1", "b.txt", v), c.s.save_changes()), "bytes",
        "the content", writes=True),
    Row("SessionAttachments.store", "content_type",
        lambda c, v: (c.adv.attachments.store("users/1", "b.txt", b"x", v), c.s.save_changes()),
        "none huge", "None: no content type; a str", writes=True),
    Row(
        "SessionAttachments.store",
        "change_vector",
        lambda c, v: (
            c.adv.attachments.store("users/1", "b.txt", b"x", None, v),
            c.s.save_changes(),
        ),
        "none",
        "None: no check",
        writes=True,
        at_save="huge",
    ),
    Row("SessionAttachments.delete", "entity_or_id",
        lambda c, v: (c.adv.attachments.delete(v, "a.txt"), c.s.save_changes()), writes=True),
    Row("SessionAttachments.delete", "name",
        lambda c, v: (c.adv.attachments.delete("users/1", v), c.s.save_changes()), writes=True),
    *(
        Row(
            f"SessionAttachments.{verb}",
            slot,
            lambda c, v, verb=verb, at=at: (
                getattr(c.adv.attachments, verb)(
                    *[
                        v if i == at else a
                        for i, a in enumerate(("users/1", "a.txt", "users/2", "c.txt"))
                    ]
                ),
                c.s.save_changes(),
            ),
            writes=True,
        )
        for verb in ("copy", "move")
        for at, slot in enumerate(
            ("entity_or_id", "source_name", "destination_entity_or_id", "destination_name")
        )
    ),
    *(
        Row(
            "SessionAttachments.rename",
            slot,
            lambda c, v, at=at: (
                c.adv.attachments.rename(
                    *[v if i == at else a for i, a in enumerate(("users/1", "a.txt", "c.txt"))]
                ),
                c.s.save_changes(),
            ),
            writes=True,
        )
        for at, slot in enumerate(("entity_or_id", "name", "new_name"))
    ),
    Row("SessionAttachments.get", "entity_or_id",
        lambda c, v: _read(c.adv.attachments.get(v, "a.txt"))),
    Row("SessionAttachments.get", "name", lambda c, v: _read(c.adv.attachments.get("users/1", v))),
    Row("SessionAttachments.exists", "document_id",
        lambda c, v: c.adv.attachments.exists(v, "a.txt")),
    Row("SessionAttachments.exists", "name", lambda c, v: c.adv.attachments.exists("users/1", v)),
    Row("SessionAttachments.get_names", "entity", lambda c, v: c.adv.attachments.get_names(v),
        "none", "RavenDB's: no entity, no names"),
    Row("SessionRevisions.force_revision_creation_for", "entity_or_id",
        lambda c, v: (c.adv.revisions.force_revision_creation_for(v), c.s.save_changes()),
        writes=True),
    Row(
        "SessionRevisions.force_revision_creation_for",
        "strategy",
        lambda c, v: (
            c.adv.revisions.force_revision_creation_for("users/1", v),
            c.s.save_changes(),
        ),
        writes=True,
    ),
    Row("SessionRevisions.force_revision_creation_for_id", "document_id",
        lambda c, v: (c.adv.revisions.force_revision_creation_for_id(v), c.s.save_changes()),
        writes=True),
    Row(
        "SessionRevisions.force_revision_creation_for_id",
        "strategy",
        lambda c, v: (
            c.adv.revisions.force_revision_creation_for_id("users/1", v),
            c.s.save_changes(),
        ),
        writes=True,
    ),
    Row("SessionRevisions.get_for", "document_id", lambda c, v: c.adv.revisions.get_for(v)),
    Row("SessionRevisions.get_for", "object_type",
        lambda c, v: c.adv.revisions.get_for("users/1", v), "none", "None: the stored type"),
    Row("SessionRevisions.get_for", "start",
        lambda c, v: c.adv.revisions.get_for("users/1", None, v)),
    Row("SessionRevisions.get_for", "page_size",
        lambda c, v: c.adv.revisions.get_for("users/1", None, 0, v)),
    Row("SessionRevisions.get_metadata_for", "document_id",
        lambda c, v: c.adv.revisions.get_metadata_for(v)),
    Row("SessionRevisions.get_metadata_for", "start",
        lambda c, v: c.adv.revisions.get_metadata_for("users/1", v)),
    Row("SessionRevisions.get_metadata_for", "page_size",
        lambda c, v: c.adv.revisions.get_metadata_for("users/1", 0, v)),
    Row("SessionRevisions.get_count_for", "document_id",
        lambda c, v: c.adv.revisions.get_count_for(v)),
    Row("SessionRevisions.get", "change_vector", lambda c, v: c.adv.revisions.get(v), "dict huge",
        "a str: no revision has it; an iterable of them (a dict's keys)"),
    Row("SessionRevisions.get", "object_type", lambda c, v: c.adv.revisions.get("A:1-x", v), "none",
        "None: the stored type"),
    Row("SessionRevisions.get_by_change_vector", "change_vector",
        lambda c, v: c.adv.revisions.get_by_change_vector(v), "huge", "a str: no revision has it"),
    Row("SessionRevisions.get_by_change_vector", "object_type",
        lambda c, v: c.adv.revisions.get_by_change_vector("A:1-x", v), "none",
        "None: the stored type"),
    Row("SessionRevisions.get_by_change_vectors", "change_vectors",
        lambda c, v: c.adv.revisions.get_by_change_vectors(v), "dict",
        "an iterable of change vectors (a dict's keys)"),
    Row("SessionRevisions.get_by_change_vectors", "object_type",
        lambda c, v: c.adv.revisions.get_by_change_vectors(["A:1-x"], v), "none",
        "None: the stored type"),
    Row("SessionRevisions.get_by_before_date", "document_id",
        lambda c, v: c.adv.revisions.get_by_before_date(v, dt.datetime(2030, 1, 1))),
    Row("SessionRevisions.get_by_before_date", "before_date",
        lambda c, v: c.adv.revisions.get_by_before_date("users/1", v)),
    Row("SessionRevisions.get_by_before_date", "object_type",
        lambda c, v: c.adv.revisions.get_by_before_date("users/1", dt.datetime(2030, 1, 1), v),
        "none", "None: the stored type"),
    Row(
        "SessionRevisions.get_bin_entries", "start", lambda c, v: c.adv.revisions.get_bin_entries(v)
    ),
    Row("SessionRevisions.get_bin_entries", "page_size",
        lambda c, v: c.adv.revisions.get_bin_entries(0, v)),
    # includes and lazy operations ----------------------------------------------------------
    Row("LoaderWithInclude.include", "path",
        lambda c, v: c.s.include("friend").include(v).load("users/1")),
    Row("LoaderWithInclude.include_counter", "name",
        lambda c, v: c.s.include("friend").include_counter(v).load("users/1")),
    Row("LoaderWithInclude.include_counters", "names",
        lambda c, v: c.s.include("friend").include_counters(v).load("users/1"), "dict",
        "an iterable of names (a dict's keys)"),
    Row("LoaderWithInclude.load", "id_or_ids", lambda c, v: c.s.include("friend").load(v), "dict",
        "an iterable of ids (a dict's keys)"),
    Row("LoaderWithInclude.load", "object_type",
        lambda c, v: c.s.include("friend").load("users/1", v), "none", "None: the stored type"),
    Row("IncludeBuilder.include_documents", "path",
        lambda c, v: c.s.load("users/1", includes=lambda b: b.include_documents(v))),
    Row("IncludeBuilder.include_counter", "name",
        lambda c, v: c.s.load("users/1", includes=lambda b: b.include_counter(v))),
    Row("IncludeBuilder.include_counters", "names",
        lambda c, v: c.s.load("users/1", includes=lambda b: b.include_counters(v)), "dict",
        "an iterable of names (a dict's keys)"),
    Row("LazySessionOperations.load", "ids", lambda c, v: c.adv.lazily.load(v).value, "dict",
        "an iterable of ids (a dict's keys)"),
    Row("LazySessionOperations.load", "object_type",
        lambda c, v: c.adv.lazily.load("users/1", v).value, "none", "None: the stored type"),
    Row("LazySessionOperations.load", "on_eval",
        lambda c, v: c.adv.lazily.load("users/1", None, v).value, "none", "None: no callback"),
    Row("LazySessionOperations.load", "includes",
        lambda c, v: c.adv.lazily.load("users/1", None, None, v).value, "none dict",
        "None includes nothing; an iterable of paths (a dict's keys)"),
    Row("LazySessionOperations.include", "path",
        lambda c, v: c.adv.lazily.include(v).load("users/1").value),
    Row("LazySessionOperations.include_counter", "name",
        lambda c, v: c.adv.lazily.include_counter(v).load("users/1").value),
    Row("LazySessionOperations.include_counters", "names",
        lambda c, v: c.adv.lazily.include_counters(v).load("users/1").value, "dict",
        "an iterable of names (a dict's keys)"),
    Row("LazySessionOperations.load_starting_with", "id_prefix",
        lambda c, v: c.adv.lazily.load_starting_with(v).value),
    Row("LazySessionOperations.load_starting_with", "object_type",
        lambda c, v: c.adv.lazily.load_starting_with("users/", v).value, "none",
        "None: the stored type"),
    Row("LazySessionOperations.load_starting_with", "start",
        lambda c, v: c.adv.lazily.load_starting_with("users/", None, None, v).value),
    Row("LazySessionOperations.conditional_load", "document_id",
        lambda c, v: c.adv.lazily.conditional_load(v, "A:1-x").value),
    Row("LazySessionOperations.conditional_load", "change_vector",
        lambda c, v: c.adv.lazily.conditional_load("users/1", v).value, "huge",
        "a str: the document does not have it"),
    Row("LazySessionOperations.conditional_load", "object_type",
        lambda c, v: c.adv.lazily.conditional_load("users/1", "A:1-x", v).value, "none",
        "None: the stored type"),
    Row("LazyLoaderWithInclude.include", "path",
        lambda c, v: c.adv.lazily.include("friend").include(v).load("users/1").value),
    Row("LazyLoaderWithInclude.include_counter", "name",
        lambda c, v: c.adv.lazily.include("friend").include_counter(v).load("users/1").value),
    Row("LazyLoaderWithInclude.include_counters", "names",
        lambda c, v: c.adv.lazily.include("friend").include_counters(v).load("users/1").value,
        "dict", "an iterable of names (a dict's keys)"),
    Row("LazyLoaderWithInclude.load", "ids",
        lambda c, v: c.adv.lazily.include("friend").load(v).value, "dict",
        "an iterable of ids (a dict's keys)"),
    Row("LazyLoaderWithInclude.load", "object_type",
        lambda c, v: c.adv.lazily.include("friend").load("users/1", v).value, "none",
        "None: the stored type"),
    Row("LazyLoaderWithInclude.load", "on_eval",
        lambda c, v: c.adv.lazily.include("friend").load("users/1", None, v).value, "none",
        "None: no callback"),
    # DocumentQuery --------------------------------------------------------------------------
    *(
        Row(
            f"DocumentQuery.{method}",
            "field_name",
            lambda c, v, method=method, args=args: getattr(c.q(), method)(v, *args).to_list(),
        )
        for method, args in (
            ("where_equals", ("Ann",)),
            ("where_not_equals", ("Ann",)),
            ("where_in", (["Ann"],)),
            ("contains_any", (["a"],)),
            ("contains_all", (["a"],)),
            ("where_starts_with", ("A",)),
            ("where_ends_with", ("n",)),
            ("where_between", ("A", "B")),
            ("where_greater_than", ("A",)),
            ("where_greater_than_or_equal", ("A",)),
            ("where_less_than", ("A",)),
            ("where_less_than_or_equal", ("A",)),
            ("where_exists", ()),
            ("where_regex", ("^A",)),
            ("search", ("ann",)),
        )
    ),
    Row("DocumentQuery.where_equals", "value", lambda c, v: c.q().where_equals("name", v).to_list(),
        "none bool negative huge", SCALARS_WHY),
    Row("DocumentQuery.where_not_equals", "value",
        lambda c, v: c.q().where_not_equals("name", v).to_list(), "none bool negative huge",
        SCALARS_WHY),
    Row("DocumentQuery.where_in", "values", lambda c, v: c.q().where_in("name", v).to_list(),
        "list dict", "an iterable of values (a dict's keys)"),
    Row("DocumentQuery.where_in", "values[0]", lambda c, v: c.q().where_in("name", [v]).to_list(),
        "none bool negative huge", SCALARS_WHY),
    Row("DocumentQuery.contains_any", "values",
        lambda c, v: c.q().contains_any("tags", v).to_list(), "list dict",
        "an iterable of values (a dict's keys)"),
    Row("DocumentQuery.contains_all", "values",
        lambda c, v: c.q().contains_all("tags", v).to_list(), "list dict",
        "an iterable of values (a dict's keys)"),
    Row("DocumentQuery.contains_all", "values[0]",
        lambda c, v: c.q().contains_all("tags", [v]).to_list(), "none bool negative huge",
        SCALARS_WHY),
    Row("DocumentQuery.where_starts_with", "prefix",
        lambda c, v: c.q().where_starts_with("name", v).to_list(), "huge", "a str"),
    Row("DocumentQuery.where_ends_with", "suffix",
        lambda c, v: c.q().where_ends_with("name", v).to_list(), "huge", "a str"),
    Row("DocumentQuery.where_between", "start",
        lambda c, v: c.q().where_between("age", v, 100).to_list(), "negative",
        "a number (a str goes with a str)"),
    Row("DocumentQuery.where_between", "end",
        lambda c, v: c.q().where_between("name", "A", v).to_list(), "huge",
        "a str (a number goes with a number)"),
    *(
        Row(
            f"DocumentQuery.{method}",
            "value",
            lambda c, v, method=method: getattr(c.q(), method)("age", v).to_list(),
            "negative huge",
            "a number or a str",
        )
        for method in (
            "where_greater_than",
            "where_greater_than_or_equal",
            "where_less_than",
            "where_less_than_or_equal",
        )
    ),
    Row(
        "DocumentQuery.where_regex", "pattern", lambda c, v: c.q().where_regex("name", v).to_list()
    ),
    Row("DocumentQuery.search", "search_terms", lambda c, v: c.q().search("name", v).to_list(),
        "huge", "a str: one long word"),
    Row("DocumentQuery.search", "operator", lambda c, v: c.q().search("name", "ann", v).to_list()),
    Row("DocumentQuery.order_by", "field", lambda c, v: c.q().order_by(v).to_list()),
    Row("DocumentQuery.order_by", "ordering", lambda c, v: c.q().order_by("name", v).to_list(),
        "none", "None: by JSON type"),
    Row("DocumentQuery.order_by", "nulls", lambda c, v: c.q().order_by("name", None, v).to_list(),
        "none", "None: the default"),
    Row("DocumentQuery.order_by_descending", "field",
        lambda c, v: c.q().order_by_descending(v).to_list()),
    Row("DocumentQuery.order_by_descending", "ordering",
        lambda c, v: c.q().order_by_descending("name", v).to_list(), "none", "None: by JSON type"),
    Row("DocumentQuery.order_by_descending", "nulls",
        lambda c, v: c.q().order_by_descending("name", None, v).to_list(), "none",
        "None: the default"),
    Row("DocumentQuery.skip", "count", lambda c, v: c.q().skip(v).to_list()),
    Row("DocumentQuery.take", "count", lambda c, v: c.q().take(v).to_list()),
    Row("DocumentQuery.select_fields", "projection_class",
        lambda c, v: c.q().select_fields(v, "name").to_list()),
    Row(
        "DocumentQuery.select_fields", "fields", lambda c, v: c.q().select_fields(dict, v).to_list()
    ),
    Row("DocumentQuery.of_type", "object_type", lambda c, v: c.q().of_type(v).to_list()),
    Row("DocumentQuery.group_by", "field", lambda c, v: c.q().group_by(v).select_count().to_list()),
    Row("DocumentQuery.group_by", "fields",
        lambda c, v: c.q().group_by("name", v).select_count().to_list()),
    Row("GroupBy.field", "field_name",
        lambda c, v: c.q().group_by(GroupBy.field(v)).select_count().to_list()),
    Row("GroupBy.array", "field_name",
        lambda c, v: c.q().group_by(GroupBy.array(v)).select_count().to_list()),
    Row("GroupByDocumentQuery.select_key", "field_name",
        lambda c, v: c.q().group_by("name").select_key(v).select_count().to_list(), "none",
        "None: the one group-by field"),
    Row("GroupByDocumentQuery.select_key", "projected_name",
        lambda c, v: c.q().group_by("name").select_key("name", v).select_count().to_list(),
        "none huge", "None: the field's own name; a str"),
    Row("GroupByDocumentQuery.select_count", "projected_name",
        lambda c, v: c.q().group_by("name").select_count(v).to_list(), "huge", "a str"),
    Row("GroupByDocumentQuery.select_sum", "field",
        lambda c, v: c.q().group_by("name").select_sum(v).to_list()),
    Row("GroupByField.__init__", "field_name",
        lambda c, v: c.q().group_by("name").select_sum(GroupByField(v)).to_list()),
    Row("GroupByField.__init__", "projected_name",
        lambda c, v: c.q().group_by("name").select_sum(GroupByField("age", v)).to_list(),
        "none huge", "None: the field's own name; a str"),
    Row("DocumentQuery.include", "path_or_builder", lambda c, v: c.q().include(v).to_list(), "dict",
        "an iterable of paths (a dict's keys)"),
    Row("DocumentQuery.statistics", "callback", lambda c, v: c.q().statistics(v).to_list()),
    Row("DocumentQuery.wait_for_non_stale_results", "timeout",
        lambda c, v: c.q().wait_for_non_stale_results(v).to_list(), "none bigint inf", WAIT_WHY),
    Row("DocumentQuery.lazily", "on_eval", lambda c, v: c.q().lazily(v).value, "none",
        "None: no callback"),
    Row("DocumentQuery.first_or_default", "default",
        lambda c, v: c.q().where_equals("name", "nobody").first_or_default(v), ANY,
        "what to return when there is no result: any value"),
    Row("DocumentQuery.single_or_default", "default",
        lambda c, v: c.q().where_equals("name", "nobody").single_or_default(v), ANY,
        "what to return when there is no result: any value"),
    Row("DocumentQuery.aggregate_by", "builder_or_facet",
        lambda c, v: c.q().aggregate_by(v).execute()),
    Row("DocumentQuery.aggregate_by_facets", "facets",
        lambda c, v: c.q().aggregate_by_facets(v).execute()),
    Row("DocumentQuery.aggregate_using", "facet_setup_document_id",
        lambda c, v: c.q().aggregate_using(v).execute()),
    Row("AggregationDocumentQuery.and_aggregate_by", "builder_or_facet",
        lambda c, v: c.q().aggregate_by(Facet("name")).and_aggregate_by(v).execute()),
    Row("AggregationDocumentQuery.and_aggregate_by_facets", "facets",
        lambda c, v: c.q().aggregate_by(Facet("name")).and_aggregate_by_facets(v).execute()),
    Row("AggregationDocumentQuery.and_aggregate_using", "facet_setup_document_id",
        lambda c, v: c.q().aggregate_by(Facet("name")).and_aggregate_using(v).execute()),
    Row("AggregationDocumentQuery.execute_lazy", "on_eval",
        lambda c, v: c.q().aggregate_by(Facet("name")).execute_lazy(v).value, "none",
        "None: no callback"),
    Row("Facet.__init__", "field_name", lambda c, v: c.q().aggregate_by(Facet(v)).execute()),
    Row("FacetBuilder.by_field", "field_name",
        lambda c, v: c.q().aggregate_by(lambda f: f.by_field(v)).execute()),
    Row("FacetBuilder.by_ranges", "range_",
        lambda c, v: c.q().aggregate_by(lambda f: f.by_ranges(v)).execute()),
    Row(
        "FacetBuilder.with_display_name",
        "display_name",
        lambda c, v: (
            c.q().aggregate_by(lambda f: f.by_field("name").with_display_name(v)).execute()
        ),
        "none huge",
        "None: the field's name; a str",
    ),
    Row("FacetBuilder.with_options", "options",
        lambda c, v: c.q().aggregate_by(lambda f: f.by_field("name").with_options(v)).execute()),
    *(
        Row(
            f"FacetBuilder.{method}",
            "path",
            lambda c, v, method=method: (
                c.q().aggregate_by(lambda f: getattr(f.by_field("name"), method)(v)).execute()
            ),
        )
        for method in ("sum_on", "min_on", "max_on", "average_on")
    ),
    Row(
        "RangeBuilder.is_less_than",
        "value",
        lambda c, v: (
            c.q().aggregate_by(lambda f: f.by_ranges(RangeBuilder("age").is_less_than(v))).execute()
        ),
        "negative huge",
        "a number or a str",
    ),
    # the raw query ----------------------------------------------------------------------------
    Row("RawDocumentQuery.add_parameter", "name",
        lambda c, v: c.adv.raw_query("from Users where name = $p").add_parameter(v, 1).to_list()),
    Row("RawDocumentQuery.add_parameter", "value",
        lambda c, v: c.adv.raw_query("from Users where name = $p").add_parameter("p", v).to_list(),
        "none bool negative huge", "a JSON scalar (a list is for in ($p), not for =)"),
    Row("RawDocumentQuery.statistics", "callback",
        lambda c, v: c.adv.raw_query("from Users").statistics(v).to_list()),
    Row("RawDocumentQuery.wait_for_non_stale_results", "timeout",
        lambda c, v: c.adv.raw_query("from Users").wait_for_non_stale_results(v).to_list(),
        "none bigint inf", WAIT_WHY),
    Row("RawDocumentQuery.lazily", "on_eval",
        lambda c, v: c.adv.raw_query("from Users").lazily(v).value, "none", "None: no callback"),
    # bulk insert --------------------------------------------------------------------------------
    Row("BulkInsertOperation.store", "entity", lambda c, v: _bulk(c, lambda b: b.store(v)),
        "dict object", OBJECT_WHY, writes=True),
    Row("BulkInsertOperation.store", "metadata",
        lambda c, v: _bulk(c, lambda b: b.store(User("Gus"), v)), "none dict",
        "None: the class's metadata; a dict of more", writes=True),
    Row("BulkInsertOperation.store", "id",
        lambda c, v: _bulk(c, lambda b: b.store(User("Gus"), None, v)), "none", "None: a HiLo id",
        writes=True),
    Row("BulkInsertOperation.store", "metadata['@collection']",
        lambda c, v: _bulk(c, lambda b: b.store(User("Gus"), {"@collection": v})), writes=True),
    Row("BulkInsertOperation.store_as", "entity",
        lambda c, v: _bulk(c, lambda b: b.store_as(v, "users/7")), "dict object", OBJECT_WHY,
        writes=True),
    Row("BulkInsertOperation.store_as", "key",
        lambda c, v: _bulk(c, lambda b: b.store_as(User("Gus"), v)), writes=True),
    Row("BulkInsertOperation.store_as", "metadata",
        lambda c, v: _bulk(c, lambda b: b.store_as(User("Gus"), "users/7", v)), "none dict",
        "None: the class's metadata; a dict of more", writes=True),
    Row("BulkInsertOperation.attachments_for", "document_id",
        lambda c, v: _bulk(c, lambda b: b.attachments_for(v).store("b.txt", b"x")), writes=True),
    Row("AttachmentsBulkInsert.store", "name",
        lambda c, v: _bulk(c, lambda b: b.attachments_for("users/1").store(v, b"x")), writes=True),
    Row("AttachmentsBulkInsert.store", "data_or_stream",
        lambda c, v: _bulk(c, lambda b: b.attachments_for("users/1").store("b.txt", v)), "bytes",
        "the content", writes=True),
    Row("AttachmentsBulkInsert.store", "content_type",
        lambda c, v: _bulk(c, lambda b: b.attachments_for("users/1").store("b.txt", b"x", v)),
        "none huge", "None: no content type; a str", writes=True),
    # the async session --------------------------------------------------------------------------
    Row("AsyncDocumentSession.load", "id_or_ids", lambda c, v: c.run(c.a.load(v)), "dict",
        "an iterable of ids (a dict's keys)"),
    Row("AsyncDocumentSession.load", "object_type", lambda c, v: c.run(c.a.load("users/1", v)),
        "none", "None: the stored type"),
    Row("AsyncDocumentSession.load", "includes", lambda c, v: c.run(c.a.load("users/1", None, v)),
        "none dict", "None includes nothing; an iterable of paths (a dict's keys)"),
    Row("AsyncDocumentSession.load_starting_with", "id_prefix",
        lambda c, v: c.run(c.a.load_starting_with(v))),
    Row("AsyncDocumentSession.load_starting_with", "object_type",
        lambda c, v: c.run(c.a.load_starting_with("users/", v)), "none", "None: the stored type"),
    Row("AsyncDocumentSession.load_starting_with", "page_size",
        lambda c, v: c.run(c.a.load_starting_with("users/", None, None, 0, v))),
    Row("AsyncDocumentSession.include", "path", lambda c, v: c.run(c.a.include(v).load("users/1"))),
    Row("AsyncDocumentSession.query", "object_type", lambda c, v: c.run(c.a.query(v).to_list()),
        "none", "None: every collection"),
    Row("AsyncDocumentSession.query", "collection_name",
        lambda c, v: c.run(c.a.query(None, v).to_list()), "none", "None: every collection"),
    Row("AsyncDocumentSession.query", "index_name",
        lambda c, v: c.run(c.a.query(User, None, v).to_list()), "none", "None: the collection"),
    Row("AsyncDocumentSession.store", "entity",
        lambda c, v: (c.a.store(v), c.run(c.a.save_changes())), "dict object", OBJECT_WHY,
        writes=True),
    Row("AsyncDocumentSession.store", "key",
        lambda c, v: (c.a.store(User("Hal"), v), c.run(c.a.save_changes())), "none",
        "None: a HiLo id", writes=True),
    Row("AsyncDocumentSession.store", "change_vector",
        lambda c, v: (c.a.store(User("Hal"), "users/7", v), c.run(c.a.save_changes())), "none",
        CV_WHY, writes=True, at_save="huge"),
    Row("AsyncDocumentSession.delete", "entity_or_id",
        lambda c, v: (c.a.delete(v), c.run(c.a.save_changes())), writes=True),
    Row("AsyncDocumentSession.counters_for", "entity_or_id",
        lambda c, v: c.run(c.a.counters_for(v).get_all())),
    Row("AsyncDocumentSession.counters_for_entity", "entity",
        lambda c, v: c.run(c.a.counters_for_entity(v).get_all())),
    Row(
        "AsyncDocumentCounters.get", "name", lambda c, v: c.run(c.a.counters_for("users/1").get(v))
    ),
    Row("AsyncDocumentCounters.get_many", "names",
        lambda c, v: c.run(c.a.counters_for("users/1").get_many(v)), "dict",
        "an iterable of names (a dict's keys)"),
    Row("AsyncDocumentCounters.increment", "delta",
        lambda c, v: (c.a.counters_for("users/1").increment("likes", v), c.run(c.a.save_changes())),
        "negative", "a 64-bit integer", writes=True),
    Row("AsyncAdvanced.refresh", "entity", lambda c, v: c.run(c.a.advanced.refresh(v))),
    Row("AsyncAdvanced.exists", "document_id", lambda c, v: c.run(c.a.advanced.exists(v))),
    Row("AsyncAdvanced.conditional_load", "document_id",
        lambda c, v: c.run(c.a.advanced.conditional_load(v, "A:1-x"))),
    Row("AsyncAdvanced.conditional_load", "change_vector",
        lambda c, v: c.run(c.a.advanced.conditional_load("users/1", v)), "huge",
        "a str: the document does not have it"),
    Row("AsyncAdvanced.conditional_load", "object_type",
        lambda c, v: c.run(c.a.advanced.conditional_load("users/1", "A:1-x", v)), "none",
        "None: the stored type"),
    Row("AsyncAdvanced.load_starting_with", "id_prefix",
        lambda c, v: c.run(c.a.advanced.load_starting_with(v))),
    Row("AsyncAdvanced.stream", "query", lambda c, v: c.run(_adrain(c.a.advanced.stream(v)))),
    Row("AsyncAdvanced.stream_with_statistics", "stats_callback",
        lambda c, v: c.run(_adrain(c.a.advanced.stream_with_statistics(c.aq(), v))), "none",
        "None: no callback"),
    Row("AsyncAdvanced.stream_starting_with", "starts_with",
        lambda c, v: c.run(_adrain(c.a.advanced.stream_starting_with(v)))),
    Row("AsyncAdvanced.stream_starting_with", "page_size",
        lambda c, v: c.run(_adrain(c.a.advanced.stream_starting_with("users/", None, 0, v)))),
    Row(
        "AsyncAdvanced.stream_starting_with",
        "object_type",
        lambda c, v: c.run(
            _adrain(c.a.advanced.stream_starting_with("users/", None, 0, 10, None, v))
        ),
        "none",
        "None: the stored type",
    ),
    Row("AsyncAdvanced.patch", "value",
        lambda c, v: (c.a.advanced.patch("users/1", "age", v), c.run(c.a.save_changes())),
        "none list dict bool negative huge", "any value a document can hold", writes=True),
    Row("AsyncAttachments.get", "entity_or_id",
        lambda c, v: c.run(_aread(c.run(c.a.advanced.attachments.get(v, "a.txt"))))),
    Row("AsyncAttachments.get", "name",
        lambda c, v: c.run(_aread(c.run(c.a.advanced.attachments.get("users/1", v))))),
    Row("AsyncAttachments.exists", "document_id",
        lambda c, v: c.run(c.a.advanced.attachments.exists(v, "a.txt"))),
    Row("AsyncAttachments.exists", "name",
        lambda c, v: c.run(c.a.advanced.attachments.exists("users/1", v))),
    Row(
        "AsyncAttachments.store",
        "name",
        lambda c, v: (
            c.a.advanced.attachments.store("users/1", v, b"x"),
            c.run(c.a.save_changes()),
        ),
        writes=True,
    ),
    Row("AsyncDocumentQuery.to_list", "where_equals value",
        lambda c, v: c.run(c.aq().where_equals("name", v).to_list()), "none bool negative huge",
        SCALARS_WHY),
    Row("AsyncDocumentQuery.first", "take", lambda c, v: c.run(c.aq().take(v).first())),
    Row("AsyncDocumentQuery.single", "skip", lambda c, v: c.run(c.aq().skip(v).single())),
    Row("AsyncDocumentQuery.count", "wait_for_non_stale_results",
        lambda c, v: c.run(c.aq().wait_for_non_stale_results(v).count()), "none bigint inf",
        WAIT_WHY),
    Row("AsyncDocumentQuery.any", "statistics", lambda c, v: c.run(c.aq().statistics(v).any())),
    Row("AsyncDocumentQuery.first_or_default", "default",
        lambda c, v: c.run(c.aq().where_equals("name", "nobody").first_or_default(v)), ANY,
        "what to return when there is no result: any value"),
    # operations, constructed with the hostile value and sent ------------------------------
    *(
        Row(
            f"{cls.__name__}.__init__",
            slot,
            lambda c, v, cls=cls, make=make: c.store.maintenance.send(make(v)),
            accepts,
            why,
            writes=True,
        )
        for cls, slot, make, accepts, why in (
            (NextIdentityForOperation, "name", NextIdentityForOperation, "", ""),
            (SeedIdentityForOperation, "name", lambda v: SeedIdentityForOperation(v, 5), "", ""),
            (
                SeedIdentityForOperation,
                "value",
                lambda v: SeedIdentityForOperation("things", v, True),
                "",
                "",
            ),
            (
                SeedIdentityForOperation,
                "force_update",
                lambda v: SeedIdentityForOperation("things", 5, v),
                TRUTHY,
                TRUTHY_WHY,
            ),
            (
                PutClientConfigurationOperation,
                "configuration",
                PutClientConfigurationOperation,
                "",
                "",
            ),
            (
                ClientConfiguration,
                "identity_parts_separator",
                lambda v: PutClientConfigurationOperation(ClientConfiguration(v, disabled=True)),
                "none",
                "None: the conventions' separator",
            ),
            (
                ClientConfiguration,
                "max_number_of_requests_per_session",
                lambda v: PutClientConfigurationOperation(
                    ClientConfiguration(max_number_of_requests_per_session=v, disabled=True)
                ),
                "none",
                "None: the conventions' budget",
            ),
            (ConfigureRevisionsOperation, "configuration", ConfigureRevisionsOperation, "", ""),
            (
                RevisionsConfiguration,
                "default_config",
                lambda v: ConfigureRevisionsOperation(RevisionsConfiguration(v)),
                "none",
                "None: no default",
            ),
            (
                RevisionsConfiguration,
                "collections",
                lambda v: ConfigureRevisionsOperation(RevisionsConfiguration(None, v)),
                "",
                "",
            ),
            (
                RevisionsCollectionConfiguration,
                "minimum_revisions_to_keep",
                lambda v: ConfigureRevisionsOperation(
                    RevisionsConfiguration(RevisionsCollectionConfiguration(v, disabled=True))
                ),
                "none",
                "None: no limit",
            ),
            (
                RevisionsCollectionConfiguration,
                "minimum_revision_age_to_keep",
                lambda v: ConfigureRevisionsOperation(
                    RevisionsConfiguration(RevisionsCollectionConfiguration(None, v, disabled=True))
                ),
                "none",
                "None: no age",
            ),
            (
                RevisionsCollectionConfiguration,
                "disabled",
                lambda v: ConfigureRevisionsOperation(
                    RevisionsConfiguration(RevisionsCollectionConfiguration(disabled=v))
                ),
                TRUTHY,
                TRUTHY_WHY,
            ),
            (
                index_operations.PutIndexesOperation,
                "definitions",
                index_operations.PutIndexesOperation,
                "",
                "",
            ),
            (
                index_operations.GetIndexOperation,
                "name",
                index_operations.GetIndexOperation,
                "huge",
                "a str: no index has that name (None answered)",
            ),
            (
                index_operations.GetIndexesOperation,
                "start",
                index_operations.GetIndexesOperation,
                "",
                "",
            ),
            (
                index_operations.GetIndexesOperation,
                "page_size",
                lambda v: index_operations.GetIndexesOperation(0, v),
                "",
                "",
            ),
            (
                index_operations.GetIndexNamesOperation,
                "page_size",
                lambda v: index_operations.GetIndexNamesOperation(0, v),
                "",
                "",
            ),
            (
                index_operations.DeleteIndexOperation,
                "name",
                index_operations.DeleteIndexOperation,
                "huge",
                "a str: no index has that name, nothing is deleted (RavenDB's)",
            ),
            (
                index_operations.ResetIndexOperation,
                "name",
                index_operations.ResetIndexOperation,
                "",
                "",
            ),
            (
                index_operations.SetIndexesLockOperation,
                "mode",
                lambda v: index_operations.SetIndexesLockOperation(v, "Users/ByName"),
                "",
                "",
            ),
            (
                index_operations.SetIndexesLockOperation,
                "names",
                lambda v: index_operations.SetIndexesLockOperation(IndexLockMode.UNLOCK, v),
                "",
                "",
            ),
            (
                index_operations.SetIndexesPriorityOperation,
                "priority",
                lambda v: index_operations.SetIndexesPriorityOperation(v, "Users/ByName"),
                "",
                "",
            ),
            (
                index_operations.SetIndexesPriorityOperation,
                "names",
                lambda v: index_operations.SetIndexesPriorityOperation(IndexPriority.NORMAL, v),
                "",
                "",
            ),
            (
                index_operations.IndexHasChangedOperation,
                "definition",
                index_operations.IndexHasChangedOperation,
                "",
                "",
            ),
            (
                index_operations.GetTermsOperation,
                "name",
                lambda v: index_operations.GetTermsOperation(v, "name"),
                "",
                "",
            ),
            (
                index_operations.GetTermsOperation,
                "field",
                lambda v: index_operations.GetTermsOperation("Users/ByName", v),
                "huge",
                "a str: no entry has that field, no terms",
            ),
            (
                index_operations.GetTermsOperation,
                "from_value",
                lambda v: index_operations.GetTermsOperation("Users/ByName", "name", v),
                "none huge",
                "None: from the first; a str: the terms after it",
            ),
            (
                index_operations.GetTermsOperation,
                "page_size",
                lambda v: index_operations.GetTermsOperation("Users/ByName", "name", None, v),
                "none",
                "None: 1024",
            ),
            (
                index_operations.StopIndexOperation,
                "name",
                index_operations.StopIndexOperation,
                "",
                "",
            ),
            (
                index_operations.StartIndexOperation,
                "name",
                index_operations.StartIndexOperation,
                "",
                "",
            ),
            (
                index_operations.DisableIndexOperation,
                "name",
                index_operations.DisableIndexOperation,
                "",
                "",
            ),
            (
                index_operations.DisableIndexOperation,
                "cluster_wide",
                lambda v: index_operations.DisableIndexOperation("Users/ByName", v),
                TRUTHY,
                f"{TRUTHY_WHY} (the index is enabled again after)",
            ),
            (
                index_operations.EnableIndexOperation,
                "name",
                index_operations.EnableIndexOperation,
                "",
                "",
            ),
            (
                index_operations.GetIndexStatisticsOperation,
                "name",
                index_operations.GetIndexStatisticsOperation,
                "",
                "",
            ),
            (
                index_operations.DeleteIndexErrorsOperation,
                "index_names",
                index_operations.DeleteIndexErrorsOperation,
                "none",
                "None: every index's",
            ),
            (
                index_operations.GetIndexErrorsOperation,
                "names",
                index_operations.GetIndexErrorsOperation,
                "none",
                "None: every index's",
            ),
        )
    ),
    Row("PutServerWideClientConfigurationOperation.__init__", "configuration",
        lambda c, v: c.store.maintenance.server.send(PutServerWideClientConfigurationOperation(v)),
        writes=True),
    *(
        Row(
            f"{cls.__name__}.__init__",
            slot,
            lambda c, v, make=make: c.store.operations.send(make(v)),
            accepts,
            why,
            writes=True,
        )
        for cls, slot, make, accepts, why in (
            (
                document_operations.PatchOperation,
                "document_id",
                lambda v: document_operations.PatchOperation(v, None, PatchRequest("this.a = 1;")),
                "",
                "",
            ),
            (
                document_operations.PatchOperation,
                "change_vector",
                lambda v: document_operations.PatchOperation(
                    "users/5", v, PatchRequest("this.a = 1;")
                ),
                "none",
                "None: no check (users/5 does not exist: nothing patched)",
            ),
            (
                document_operations.PatchOperation,
                "patch",
                lambda v: document_operations.PatchOperation("users/1", None, v),
                "",
                "",
            ),
            (
                document_operations.PatchOperation,
                "patch_if_missing",
                lambda v: document_operations.PatchOperation(
                    "users/5", None, PatchRequest("this.a = 1;"), v
                ),
                "none",
                "None: a missing document stays missing",
            ),
            (
                document_operations.PatchOperation,
                "skip_patch_if_change_vector_mismatch",
                lambda v: document_operations.PatchOperation(
                    "users/5", None, PatchRequest("this.a = 1;"), None, v
                ),
                "bool",
                "a flag (users/5 does not exist: nothing patched)",
            ),
            (
                document_operations.PatchByQueryOperation,
                "query",
                document_operations.PatchByQueryOperation,
                "",
                "",
            ),
            (
                document_operations.PatchByQueryOperation,
                "parameters",
                lambda v: document_operations.PatchByQueryOperation(
                    "from Nothing update { this.x = 1; }", v
                ),
                "none dict",
                "None: no parameters; a dict of them",
            ),
            (
                document_operations.DeleteByQueryOperation,
                "query",
                document_operations.DeleteByQueryOperation,
                "",
                "",
            ),
            (
                document_operations.DeleteByQueryOperation,
                "parameters",
                lambda v: document_operations.DeleteByQueryOperation("from Nothing", v),
                "none dict",
                "None: no parameters; a dict of them",
            ),
            (
                attachments_module.PutAttachmentOperation,
                "document_id",
                lambda v: attachments_module.PutAttachmentOperation(v, "b.txt", b"x"),
                "",
                "",
            ),
            (
                attachments_module.PutAttachmentOperation,
                "name",
                lambda v: attachments_module.PutAttachmentOperation("users/1", v, b"x"),
                "",
                "",
            ),
            (
                attachments_module.PutAttachmentOperation,
                "data_or_stream",
                lambda v: attachments_module.PutAttachmentOperation("users/1", "b.txt", v),
                "bytes",
                "the content",
            ),
            (
                attachments_module.PutAttachmentOperation,
                "content_type",
                lambda v: attachments_module.PutAttachmentOperation("users/1", "b.txt", b"x", v),
                "none huge",
                "None: no content type; a str",
            ),
            (
                attachments_module.PutAttachmentOperation,
                "change_vector",
                lambda v: attachments_module.PutAttachmentOperation(
                    "users/1", "b.txt", b"x", None, v
                ),
                "none",
                "None: no check",
            ),
            (
                attachments_module.GetAttachmentOperation,
                "document_id",
                lambda v: attachments_module.GetAttachmentOperation(v, "a.txt"),
                "",
                "",
            ),
            (
                attachments_module.GetAttachmentOperation,
                "name",
                lambda v: attachments_module.GetAttachmentOperation("users/1", v),
                "",
                "",
            ),
            (
                attachments_module.DeleteAttachmentOperation,
                "document_id",
                lambda v: attachments_module.DeleteAttachmentOperation(v, "b.txt"),
                "",
                "",
            ),
            (
                attachments_module.DeleteAttachmentOperation,
                "name",
                lambda v: attachments_module.DeleteAttachmentOperation("users/1", v),
                "",
                "",
            ),
            (
                attachments_module.DeleteAttachmentOperation,
                "change_vector",
                lambda v: attachments_module.DeleteAttachmentOperation("users/1", "b.txt", v),
                "none",
                "None: no check (no b.txt: nothing deleted)",
            ),
        )
    ),
]  # fmt: skip


def _bulk(c: Ctx, use: Callable[[BulkInsertOperation], Any]) -> None:
    with c.store.bulk_insert() as bulk:
        use(bulk)


def _event(c: Ctx, event: str, handler: Any) -> None:
    """Register (or remove) ``handler`` on a store of its own, then use a session of it."""
    with DocumentStore(urls=c.store.urls or None, database=c.store.database) as other:
        getattr(other, event)(handler)
        with other.open_session() as session:
            session.store(User("Di"), "users/9")
            session.save_changes()
            session.delete("users/9")
            session.query(User).to_list()
            session.save_changes()


#: CPU seconds a case may take (a 1 MB string is legitimately written in a fraction of one):
#: process time, which a loaded machine does not stretch as it does wall time.
SLOW = 10.0

ROWS += [
    *(
        Row(f"{owner}.{event}", "handler", lambda c, v, event=event, of=of: _session_event(
            c, of, event, v), writes=True)
        for owner, of in (("DocumentSession", False), ("Advanced", True))
        for event in (
            "add_before_store", "add_after_save_changes", "add_before_delete", "add_before_query",
            *(() if of else (
                "remove_before_store", "remove_after_save_changes", "remove_before_delete",
                "remove_before_query",
            )),
        )
    ),
    Row("RawDocumentQuery.first_or_default", "default",
        lambda c, v: c.adv.raw_query("from Users where name = 'nobody'").first_or_default(v), ANY,
        "what to return when there is no result: any value"),
    Row("RawDocumentQuery.single_or_default", "default",
        lambda c, v: c.adv.raw_query("from Users where name = 'nobody'").single_or_default(v), ANY,
        "what to return when there is no result: any value"),
    Row("RangeBuilder.for_path", "path", lambda c, v: c.q().aggregate_by(
    lambda f: f.by_ranges(RangeBuilder.for_path(v).is_less_than(5))).execute()),
    *(
        Row(f"RangeBuilder.{method}", "value", lambda c, v, method=method: c.q().aggregate_by(
            lambda f: f.by_ranges(getattr(RangeBuilder("age"), method)(v))).execute(),
            "negative huge", "a number or a str")
        for method in ("is_greater_than", "is_greater_than_or_equal_to",
                       "is_less_than_or_equal_to")
    ),
]  # fmt: skip


def _session_event(c: Ctx, advanced: bool, event: str, handler: Any) -> None:
    """Register (or remove) ``handler`` on a session (or its ``advanced``), then use it."""
    getattr(c.adv if advanced else c.s, event)(handler)
    c.s.store(User("Di"), "users/9")
    c.s.save_changes()
    c.s.delete("users/9")
    c.q().to_list()
    c.s.save_changes()


# -- the run -----------------------------------------------------------------------------------


@dataclasses.dataclass
class Tally:
    cases: int = 0
    problems: list[str] = dataclasses.field(default_factory=list)
    slow: list[str] = dataclasses.field(default_factory=list)


def run_row(row: Row, store: DocumentStore, loop: asyncio.AbstractEventLoop, tally: Tally) -> None:
    accepted = set(row.accepts.split())
    for kind, value in HOSTILE.items():
        tally.cases += 1
        where = f"{row.method}({row.slot}={kind})"
        before = fingerprint(store) if row.writes else None
        c = Ctx(store, loop)
        started = time.process_time()
        try:
            try:
                row.call(c, value)
            except RookError as exc:
                if kind in accepted:
                    tally.problems.append(f"{where}: accepted, yet {type(exc).__name__}: {exc}")
                    continue
                try:
                    if kind not in row.at_save.split():
                        c.save()
                except Exception as exc:
                    tally.problems.append(
                        f"{where}: refused, but left something queued: the next save raised "
                        f"{type(exc).__name__}: {str(exc)[:200]}"
                    )
                if before is not None and fingerprint(store) != before:
                    tally.problems.append(f"{where}: refused, but the database changed")
            except BaseException as exc:  # (a RecursionError, say)
                if isinstance(exc, KeyboardInterrupt):
                    raise
                tally.problems.append(f"{where}: bare {type(exc).__name__}: {str(exc)[:200]}")
            else:
                if kind not in accepted:
                    tally.problems.append(f"{where}: accepted, and the table does not say so")
                if row.writes:
                    seed(store)
                    store.maintenance.send(index_operations.EnableIndexOperation("Users/ByName"))
        finally:
            took = time.process_time() - started
            if took > SLOW:
                tally.slow.append(f"{where}: {took:.1f} s of CPU")
            try:
                c.close()
            except Exception as exc:
                tally.problems.append(f"{where}: close raised {type(exc).__name__}: {exc}")


@pytest.fixture
def world(store: DocumentStore, monkeypatch: pytest.MonkeyPatch) -> Iterator[DocumentStore]:
    monkeypatch.setenv("ROOKDB_URL", "memory://")
    store.execute_index(Users_ByName())
    seed(store)
    yield store


def test_hostile_arguments_get_a_rook_error(world: DocumentStore) -> None:
    loop = asyncio.new_event_loop()
    tally = Tally()
    try:
        for row in ROWS:
            run_row(row, world, loop, tally)
    finally:
        loop.close()
    problems = tally.problems + [f"slow: {s}" for s in tally.slow]
    assert not problems, f"{len(problems)} problems in {tally.cases} cases:\n" + "\n".join(problems)


# -- valid but unusual values ------------------------------------------------------------------


def _bulk_with_tracked_metadata(c: Ctx) -> None:
    metadata = c.adv.get_metadata_for(c.user)  # (a MetadataDictionary, not a dict)
    _bulk(c, lambda bulk: bulk.store_as(User("Ed"), "users/8", metadata))


def _flip_index(c: Ctx, cluster_wide: Any) -> None:
    c.store.maintenance.send(index_operations.DisableIndexOperation("Users/ByName", cluster_wide))
    c.store.maintenance.send(index_operations.EnableIndexOperation("Users/ByName"))


def named(value: str) -> str:
    """``value`` as a member of a str enum (a caller's names kept as one)."""
    return enum.Enum("Names", {"MEMBER": value}, type=str).MEMBER  # type: ignore[no-any-return]


class Seconds(float):
    """A float subclass (a unit type of a caller's)."""


#: Values a call must take though they are not the plainest of their kind: a tuple or a
#: generator where a list goes, a mapping where a dict goes, 0 and 1 for a flag of RavenDB's
#: client (any truthy value), None for what RavenDB's client has as Optional. A check stricter
#: than the API fails here.
MUST_ACCEPT: list[tuple[str, Callable[[Ctx], Any]]] = [
    ("execute_indexes(a generator)",
     lambda c: c.store.execute_indexes(t() for t in (Users_ByName,))),
    ("execute_indexes(a tuple)", lambda c: c.store.execute_indexes((Users_ByName(),))),
    ("SessionOptions(no_tracking=None)",
     lambda c: c.store.open_session(SessionOptions(no_tracking=None)).load("users/1")),
    ("SessionOptions(no_tracking=1)",
     lambda c: c.store.open_session(SessionOptions(no_tracking=1)).load("users/1")),
    ("bulk.store(metadata=MappingProxyType)",
     lambda c: _bulk(c, lambda bulk: bulk.store(User("Ed"), MappingProxyType({"a": 1})))),
    ("bulk.store_as(metadata=MetadataDictionary)", _bulk_with_tracked_metadata),
    ("advanced.use_optimistic_concurrency = 1",
     lambda c: (setattr(c.adv, "use_optimistic_concurrency", 1), c.user, c.save())),
    ("advanced.use_optimistic_concurrency = 0",
     lambda c: setattr(c.adv, "use_optimistic_concurrency", 0)),
    ("conventions.use_optimistic_concurrency = 1",
     lambda c: _store_with(c, use_optimistic_concurrency=1)),
    ("conventions.validate_on_load = 0", lambda c: _store_with(c, validate_on_load=0)),
    ("SeedIdentityForOperation(force_update=1)",
     lambda c: c.store.maintenance.send(SeedIdentityForOperation("things", 5, 1))),
    ("DisableIndexOperation(cluster_wide=0)", lambda c: _flip_index(c, 0)),
    ("RevisionsCollectionConfiguration(disabled=1, purge_on_delete=0)",
     lambda c: c.store.maintenance.send(ConfigureRevisionsOperation(RevisionsConfiguration(
         RevisionsCollectionConfiguration(disabled=1, purge_on_delete=0))))),  # type: ignore[arg-type]
    *(
        (f"wait_for_non_stale_results({type(wait).__name__})",
         lambda c, wait=wait: c.q().wait_for_non_stale_results(wait).to_list())
        for wait in (Seconds(2.5), dt.timedelta(seconds=2), Decimal("2.5"), Fraction(5, 2), 2**2000)
    ),
    # A str enum's member where a str goes (a caller's names kept as an enum).
    ("SessionOptions(database=a str enum's member)",
     lambda c: c.store.open_session(SessionOptions(database=named(c.store.database))).load(
         "users/1")),
    ("GetIndexOperation(a str enum's member)",
     lambda c: c.store.maintenance.send(index_operations.GetIndexOperation(named("Users/ByName")))),
    ("GetIndexStatisticsOperation(a str enum's member)",
     lambda c: c.store.maintenance.send(
         index_operations.GetIndexStatisticsOperation(named("Users/ByName")))),
    ("SeedIdentityForOperation(a str enum's member)",
     lambda c: c.store.maintenance.send(SeedIdentityForOperation(named("things"), 5))),
    ("raw_query.add_parameter(a str enum's member)",
     lambda c: c.adv.raw_query("from Users where name = $n", User).add_parameter(
         named("n"), "Ann").to_list()),
    ("store(change_vector=a str enum's member)",
     lambda c: c.s.store(User("Ed"), "users/7", named(""))),
    ("PutCommand(expected_change_vector=a str enum's member)",
     lambda c: c.adv.defer(PutCommand("users/7", "Users", b"{}", named("")))),
    ("DeleteCommand(expected_change_vector=a str enum's member)",
     lambda c: c.adv.defer(DeleteCommand("users/5", named("")))),
    ("query(collection_name=a str enum's member)",
     lambda c: c.s.query(collection_name=named("Users")).to_list()),
    ("load(a str enum's member)", lambda c: c.s.load(named("users/1"), User)),
    # A tuple or a generator where a list goes.
    ("load(a tuple)", lambda c: c.s.load(("users/1", "users/2"), User)),
    ("load(a generator)", lambda c: c.s.load((f"users/{n}" for n in (1, 2)), User)),
    ("include(a tuple)", lambda c: c.s.include("friend").load(("users/1",), User)),
    ("counters.get_many(a tuple)", lambda c: c.s.counters_for("users/1").get_many(("likes",))),
    ("counters.get_many(a generator)",
     lambda c: c.s.counters_for("users/1").get_many(n for n in ("likes",))),
    ("where_in(a tuple)", lambda c: c.q().where_in("name", ("Ann", "Bob")).to_list()),
    ("where_in(a generator)", lambda c: c.q().where_in("name", (n for n in ("Ann",))).to_list()),
    ("async load(a tuple)", lambda c: c.run(c.a.load(("users/1", "users/2"), User))),
    ("async wait_for_non_stale_results(timedelta)",
     lambda c: c.run(c.aq().wait_for_non_stale_results(dt.timedelta(seconds=2)).to_list())),
]  # fmt: skip


def test_valid_unusual_values_are_accepted(world: DocumentStore) -> None:
    loop = asyncio.new_event_loop()
    problems = []
    try:
        for where, call in MUST_ACCEPT:
            c = Ctx(world, loop)
            try:
                call(c)
                c.save()
            except Exception as exc:
                problems.append(f"{where}: {type(exc).__name__}: {str(exc)[:200]}")
            finally:
                c.close()
                seed(world)
    finally:
        loop.close()
    assert not problems, "valid values refused:\n" + "\n".join(problems)


# -- every public method has a row -----------------------------------------------------------

#: The classes whose public methods take arguments from callers: each method needs a row.
CLASSES: list[type] = [
    DocumentStore, MaintenanceOperations, ServerOperations, Operations, DocumentConventions,
    DocumentSession, Advanced, SessionAttachments, SessionDocumentCounters, SessionRevisions,
    LoaderWithInclude, IncludeBuilder, LazySessionOperations, LazyLoaderWithInclude,
    EagerSessionOperations, DocumentQuery, RawDocumentQuery, GroupByDocumentQuery,
    AggregationDocumentQuery, FacetBuilder, RangeBuilder, BulkInsertOperation,
    AttachmentsBulkInsert, AsyncDocumentSession, AsyncAdvanced, AsyncDocumentQuery,
    AsyncAttachments, AsyncDocumentCounters, AsyncEagerOperations,
]  # fmt: skip

#: Classes whose constructor is public API: its arguments need rows (``Class.__init__``).
CONSTRUCTED: list[type] = [
    *(
        cls
        for module in (operations, index_operations, document_operations, attachments_module)
        for cls in (getattr(module, name) for name in module.__all__)
        if isinstance(cls, type)
        and issubclass(
            cls,
            (
                operations.MaintenanceOperation,
                operations.ServerOperation,
                document_operations.DocumentOperation,
            ),
        )
        and not inspect.isabstract(cls)
    ),
    PutCommand, DeleteCommand, PatchCommand, PatchRequest, SessionOptions, ClientConfiguration,
    RevisionsConfiguration, RevisionsCollectionConfiguration, GroupByField, Facet,
]  # fmt: skip

#: Public methods with no row, and why none applies.
NOT_APPLICABLE: dict[str, str] = {
    "GroupByDocumentQuery.handing_back": "internal: the async query hands itself back through it",
    "RangeBuilder.get_string_representation": (
        "RavenDB's, called by the facet printer with its own add_parameter, never by callers"
    ),
}

#: Public methods that take no argument: no slot to put a hostile value in.
NO_ARGUMENTS: set[str] = {
    "Advanced.clear", "Advanced.get_tracked_entities", "AggregationDocumentQuery.execute",
    "AggregationDocumentQuery.to_facet_query", "AsyncDocumentCounters.get_all",
    "AsyncDocumentSession.save_changes", "AsyncEagerOperations.execute_all_pending_lazy_operations",
    "BulkInsertOperation.abort", "BulkInsertOperation.close", "DocumentConventions.freeze",
    "DocumentQuery.and_also", "DocumentQuery.any", "DocumentQuery.close_subclause",
    "DocumentQuery.count", "DocumentQuery.count_lazily", "DocumentQuery.distinct",
    "DocumentQuery.first", "DocumentQuery.no_tracking", "DocumentQuery.not_",
    "DocumentQuery.open_subclause", "DocumentQuery.or_else", "DocumentQuery.single",
    "DocumentQuery.to_list", "DocumentQuery.to_query", "DocumentSession.close",
    "DocumentSession.has_changes", "DocumentSession.save_changes", "DocumentStore.close",
    "DocumentStore.initialize", "EagerSessionOperations.execute_all_pending_lazy_operations",
    "IncludeBuilder.include_all_counters", "LazyLoaderWithInclude.include_all_counters",
    "LazySessionOperations.include_all_counters", "LoaderWithInclude.include_all_counters",
    "MaintenanceOperations.list_databases", "RawDocumentQuery.any", "RawDocumentQuery.count",
    "RawDocumentQuery.count_lazily", "RawDocumentQuery.execute_aggregation",
    "RawDocumentQuery.first", "RawDocumentQuery.no_tracking", "RawDocumentQuery.single",
    "RawDocumentQuery.to_list", "RawDocumentQuery.to_query", "SessionDocumentCounters.get_all",
}  # fmt: skip


def public_methods() -> set[str]:
    """``Class.name`` of each public method of ``CLASSES`` (property setters too: they take
    a value) and ``Class.__init__`` of each of ``CONSTRUCTED`` that takes arguments."""
    found = set()
    for cls in CLASSES:
        for name in dir(cls):
            if name.startswith("_"):
                continue
            attribute = inspect.getattr_static(cls, name)
            if isinstance(attribute, property):
                if attribute.fset is not None:
                    found.add(f"{cls.__name__}.{name}")
            elif callable(attribute) or isinstance(attribute, (staticmethod, classmethod)):
                found.add(f"{cls.__name__}.{name}")
    for cls in CONSTRUCTED:
        if len(inspect.signature(cls).parameters) > 0:
            found.add(f"{cls.__name__}.__init__")
    return found


def _takes_no_argument(method: str) -> bool:
    cls_name, name = method.split(".")
    cls = next(c for c in CLASSES if c.__name__ == cls_name)
    parameters = list(inspect.signature(getattr(cls, name)).parameters.values())
    return all(p.name == "self" for p in parameters)


def test_every_public_method_has_a_row() -> None:
    rows = {row.method for row in ROWS}
    rows.add("DocumentConventions.__setattr__")  # (the conventions' rows: one per attribute)
    methods = public_methods()
    missing = sorted(methods - rows - set(NOT_APPLICABLE) - NO_ARGUMENTS)
    assert not missing, "public methods without a bad-argument row (add one, or say why not):\n" + (
        "\n".join(missing)
    )
    stale = sorted((set(NOT_APPLICABLE) | NO_ARGUMENTS) - methods)
    assert not stale, f"allowlist entries of no public method: {stale}"
    wrong = sorted(m for m in NO_ARGUMENTS if not _takes_no_argument(m))
    assert not wrong, f"NO_ARGUMENTS methods that take arguments: {wrong}"
