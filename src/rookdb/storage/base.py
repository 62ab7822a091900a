"""The one narrow storage interface the session depends on (SPEC B1).

A ``Storage`` is one database of one backend. The session calls nothing else: ``get`` (one read
snapshot, also answering "exists" and includes), ``get_prefix``, ``read_many`` (several of those
reads in one snapshot), ``apply`` (one atomic batch), ``query``, the HiLo calls, ``stream`` and
``close``; ``stream_query`` and ``stream_prefix`` serve ``session.advanced.stream``,
``conditional_get`` ``session.advanced.conditional_load`` (defaults here; a backend overrides
them to do better); the identity and client-configuration calls serve ``store.maintenance``.
Database administration, and the server-wide client configuration, live on the small
``Backend`` interface beside it. A backend author
implements both and runs ``rookdb.testing``.
"""

from __future__ import annotations

import abc
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from rookdb.errors import InvalidOperationError
from rookdb.indexes.definitions import IndexDefinition, IndexLockMode, IndexPriority
from rookdb.query import Query
from rookdb.storage.commands import Command, PutCommand
from rookdb.storage.identities import check_client_configuration, new_configuration_etag
from rookdb.storage.records import (
    AttachmentDetails,
    BatchResult,
    ConditionalGetResult,
    DocumentRecord,
    GetResult,
    ProjectionRow,
    QueryResult,
    Read,
    ReadResult,
    RevisionsPage,
    document_key,
)
from rookdb.storage.statistics import Capabilities, DatabaseStatistics, IndexErrors, IndexStatistics
from rookdb.storage.streams import QueryStream, check_streamable

if TYPE_CHECKING:
    from rookdb.facet_compute import FacetAnswer
    from rookdb.facet_rql import FacetSpec

__all__ = ["STREAM_PAGE", "Backend", "Storage"]

#: Documents a backend reads at a time when streaming: memory stays flat, pages stay cheap.
STREAM_PAGE = 1000


class Storage(abc.ABC):
    """One database. Thread-safe: a store shares it between its sessions and threads."""

    capabilities: Capabilities
    #: Worker threads the async session may use on it at once (``AsyncStorage``): a few for
    #: an embedded backend; a pooled backend sets its pool size.
    async_threads: int = 4
    #: Whether the async session's hot calls (``AsyncStorage.NATIVE``) run this storage's
    #: code on the event loop over an async driver (``rookdb.storage.bridge``), not in threads.
    async_native: bool = False
    #: Whether that is also the faster way here, measured (bench/README.md, "Async sessions"):
    #: the async session's hot calls use it when ``conventions.async_native_io`` is None.
    async_native_faster: bool = False

    @abc.abstractmethod
    def get(self, ids: Sequence[str], includes: Sequence[str] = ()) -> GetResult:
        """Documents by id (case-insensitive), read in one snapshot together with the documents
        their ``includes`` paths reference."""

    @abc.abstractmethod
    def get_prefix(
        self,
        prefix: str,
        start: int = 0,
        page_size: int = 25,
        matches: str = "",
        exclude: str = "",
        start_after: str = "",
    ) -> list[DocumentRecord]:
        """Documents whose id starts with ``prefix`` (case-insensitive), in id order; of
        those, the ones whose rest of the id ``matches`` and not ``exclude`` (RavenDB's
        patterns), after the id ``start_after``; ``start`` of them skipped, at most
        ``page_size`` (``rookdb.storage.starting_with`` holds the rules and helpers)."""

    @abc.abstractmethod
    def read_many(self, reads: Sequence[Read]) -> list[ReadResult]:
        """Run several reads (``IdsRead``, ``PrefixRead``, ``QueryRead``) in one snapshot and
        one round trip: a ``GetResult``, a list of records or a ``QueryResult`` for each, in
        order. Lazy operations (``session.advanced.eagerly``) send theirs this way. Each read
        gives what its own method would; an error in any read raises it for the whole call."""

    @abc.abstractmethod
    def apply(self, batch: Iterable[Command]) -> BatchResult:
        """Apply every command atomically or none: raises ``ConcurrencyError`` on a change
        vector mismatch, ``StorageError`` on failure, and then nothing was written.

        ``batch`` may be a generator (the session's ``save_changes`` passes one): a backend may
        start writing before it has the last command, and must read the batch to its end
        before it commits. An error the generator raises leaves nothing written and goes to
        the caller as it is."""

    def bulk_write(self, puts: Sequence[PutCommand]) -> None:
        """One chunk of a bulk insert (``store.bulk_insert()``, the server's ``/bulk_insert``),
        written in one transaction, all or nothing: puts of complete ids (none that storage
        completes), each key once, none with an expected change vector; a document that
        exists is overwritten, as RavenDB's bulk insert does. Everything a write keeps
        (etags, change vectors, automatic indexes) is kept as ``apply`` keeps it.

        This default is ``apply(puts)``. A backend overrides it with its fastest load
        (PostgreSQL: ``COPY``); it may fall back to ``apply`` for puts outside those rules."""
        self.apply(puts)

    @abc.abstractmethod
    def query(self, query: Query) -> QueryResult:
        """Run a query; always consistent with the last committed write."""

    @abc.abstractmethod
    def reserve_ids(self, prefix: str, capacity: int, last_max: int = 0) -> tuple[int, int]:
        """Reserve a HiLo range of ``capacity`` numbers for ``prefix`` (case-insensitive):
        ``(low, high)`` inclusive, never handed out again to any client of this database, and
        above ``last_max`` (the top of the caller's previous range). Ranges are kept as
        RavenDB keeps them, in ``Raven/Hilo/<prefix>`` documents (``storage.relational.hilo``)."""

    @abc.abstractmethod
    def return_ids(self, prefix: str, last_used: int, high: int) -> None:
        """Give back the unused end of a range, if no one reserved past it since."""

    # -- identities and the client configuration (``rookdb.storage.identities``) --------------

    @abc.abstractmethod
    def next_identity(self, name: str) -> int:
        """Advance the identity ``name`` (``"users|"`` or ``"users"``; a new one starts at 0)
        and return its new value: the one the next ``users|`` id would have taken."""

    @abc.abstractmethod
    def seed_identity(self, name: str, value: int, force_update: bool = False) -> int:
        """Raise the identity ``name`` to ``value`` (set it, even lower, with
        ``force_update``); its value afterwards."""

    @abc.abstractmethod
    def get_identities(self) -> dict[str, int]:
        """Every identity by RavenDB's name (``"users|"``) and its last value."""

    @abc.abstractmethod
    def get_client_configuration(self) -> tuple[int, dict[str, Any] | None]:
        """The database's client configuration (RavenDB's JSON object, None when it has
        none) and its etag (0 before any)."""

    @abc.abstractmethod
    def put_client_configuration(self, configuration: dict[str, Any]) -> int:
        """Keep ``configuration`` (checked with ``check_client_configuration``) as the
        database's client configuration, in place of any before it; the new etag. (RavenDB
        has no way to remove one: a configuration with ``Disabled`` true stops its use.)"""

    # -- revisions (``rookdb.storage.relational.revisions`` holds RavenDB's rules) -------------

    def configure_revisions(self, configuration: dict[str, Any]) -> int:
        """Keep RavenDB's ``RevisionsConfiguration`` JSON (checked with
        ``revisions.check_configuration``) in place of any before it; from the next batch on,
        puts and deletes in the collections it configures keep revisions. A number that
        grows with each change (RavenDB's raft index).

        This default: the backend keeps no revisions (``InvalidOperationError``)."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no revisions")

    def get_revisions(self, document_id: str, start: int = 0, page_size: int = 25) -> RevisionsPage:
        """The revisions of ``document_id`` (case-insensitive), the newest first: ``start``
        of them skipped, at most ``page_size``, and their total."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no revisions")

    def get_revisions_by_change_vector(
        self, change_vectors: Sequence[str]
    ) -> dict[str, DocumentRecord]:
        """The revisions that have these change vectors, by change vector; absent ones are
        left out."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no revisions")

    # -- counters (``rookdb.storage.relational.counters`` holds RavenDB's rules) ---------------

    def get_counters(self, document_id: str, names: Sequence[str] | None = None) -> dict[str, int]:
        """The counters of ``document_id`` (case-insensitive), in one snapshot: those of
        ``names`` (case-insensitive) that exist, by the name asked (as RavenDB answers), or
        all (``None``), by the name each was first written with. Empty for a document
        without counters, or none at all. Counters are written by ``CountersCommand`` in
        ``apply``.

        This default: the backend keeps no counters (``InvalidOperationError``)."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no counters")

    # -- attachments (``rookdb.storage.relational.attachments`` holds RavenDB's rules) ---------
    # Written by the attachment commands of ``apply``; these read them.

    def get_attachment(self, document_id: str, name: str) -> AttachmentDetails | None:
        """The details of attachment ``name`` (case-insensitive) of ``document_id``, None when
        there is none. This default: the backend keeps no attachments."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no attachments")

    def get_attachments(self, document_id: str) -> list[AttachmentDetails]:
        """The details of every attachment of ``document_id``, in name order."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no attachments")

    def read_attachment(
        self, document_id: str, name: str
    ) -> tuple[AttachmentDetails, Iterator[bytes]] | None:
        """Attachment ``name`` of ``document_id``: its details and its content, an iterator of
        byte chunks read lazily (flat memory). The iterator stays valid while some attachment
        has that content; it raises ``StorageError`` if the content went meanwhile. None when
        there is no such attachment."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no attachments")

    # -- user-defined indexes (``rookdb.storage.relational.index_maintenance``) ---------------
    # Kept in step with the documents in each batch's transaction; queries name one with
    # ``Query.index_name``. These defaults: the backend keeps no indexes.

    def put_indexes(self, definitions: Sequence[IndexDefinition]) -> list[str]:
        """Store ``definitions`` (each checked by ``compile_index`` first: one refused
        refuses them all with ``IndexCompilationError``, nothing stored) and index the
        documents already there; an index put again unchanged is left as it is. The names."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no indexes")

    def store_indexes(self, definitions: Sequence[IndexDefinition]) -> list[str]:
        """``put_indexes`` without the build: the definitions stored (new or changed ones
        ``Building``, stale), for ``build_indexes`` to build later (``rookdb serve``
        answers a put at once and builds in the background, as RavenDB does). The names."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no indexes")

    def build_indexes(self, stopped: Callable[[], bool] | None = None) -> int:
        """Build every index left ``Building`` (stored, or stopped half-way by a process
        that ended), a transaction of ``BUILD_BATCH`` documents at a time, until done or
        ``stopped()`` says so before a transaction; the documents mapped. Resumable: what
        is committed stays, and mapping a document again is harmless."""
        return 0

    def set_index_options(
        self,
        names: Sequence[str],
        lock_mode: IndexLockMode | None = None,
        priority: IndexPriority | None = None,
    ) -> None:
        """Set the lock mode and/or priority of the indexes ``names`` (RavenDB's
        ``SetIndexesLockOperation``, ``SetIndexesPriorityOperation``), without building them
        again; ``IndexDoesNotExistError`` for a name no index has (none is changed)."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no indexes")

    def index_has_changed(self, definition: IndexDefinition) -> bool:
        """Whether putting ``definition`` would build its index anew (RavenDB's
        ``IndexHasChangedOperation``): true when no index has its name, or its maps, reduce or
        options differ (not its lock mode or priority)."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no indexes")

    def set_indexing_running(self, running: bool, name: str | None = None) -> None:
        """Start (``running``) or stop index ``name``, or indexing as a whole when None
        (RavenDB's ``Start``/``StopIndexOperation``, ``Start``/``StopIndexingOperation``).
        rookdb's indexes are written in each write's transaction, so a stopped one is still
        maintained (never stale): what stops is only what ``indexing_status`` reports
        (``Paused``). ``IndexDoesNotExistError`` for a name no index has."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no indexes")

    def set_index_enabled(self, name: str, enabled: bool) -> None:
        """Enable or disable index ``name`` (RavenDB's ``Enable``/``DisableIndexOperation``):
        its definition's ``State`` becomes ``Normal`` or ``Disabled``, kept by a put of the
        same definition. rookdb's indexes are never stale, so a disabled one is still
        maintained and answers queries: ``indexing_status`` reports it ``Disabled``.
        ``IndexDoesNotExistError`` for a name no index has."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no indexes")

    def index_terms(
        self, name: str, field: str, from_value: str | None = None, page_size: int = 1024
    ) -> list[str]:
        """The terms of ``field`` in index ``name`` (RavenDB's ``GetTermsOperation``): its
        distinct values in the entries (a map-reduce index's: in its results) as RavenDB's
        default analyzer keeps them (text lower-cased, numbers and booleans as text, each
        item of a list; nulls none), sorted, those after ``from_value``, ``page_size`` of
        them."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no indexes")

    def indexing_status(self) -> dict[str, Any]:
        """RavenDB's ``IndexingStatus``: ``{"Status": "Running"|"Paused", "Indexes":
        [{"Name", "Status"}]}``, an index's ``Running``, ``Paused`` (``set_indexing_running``)
        or ``Disabled`` (``set_index_enabled``)."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no indexes")

    def get_index(self, name: str) -> IndexDefinition | None:
        """The definition of index ``name`` (any case), None when there is none."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no indexes")

    def get_indexes(self, start: int = 0, page_size: int = 25) -> list[IndexDefinition]:
        """The definitions of the indexes in name order: ``start`` skipped, ``page_size``."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no indexes")

    def get_index_names(self, start: int = 0, page_size: int = 25) -> list[str]:
        """The names of the indexes in name order: ``start`` skipped, ``page_size``."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no indexes")

    def delete_index(self, name: str) -> None:
        """Remove index ``name`` and what it holds (none of that name: nothing happens)."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no indexes")

    def reset_index(self, name: str) -> None:
        """Throw away what index ``name`` holds and index every document again;
        ``IndexDoesNotExistError`` when there is none."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no indexes")

    def index_statistics(self, name: str | None = None) -> list[IndexStatistics]:
        """The statistics of index ``name`` (``IndexDoesNotExistError`` when there is none),
        or of every index."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no indexes")

    def index_errors(self, names: Sequence[str] | None = None) -> list[IndexErrors]:
        """The errors recorded against the indexes ``names`` (every index when None)."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no indexes")

    def delete_index_errors(self, names: Sequence[str] | None = None) -> None:
        """Forget the errors recorded against the indexes ``names`` (every index's when None),
        all or none: ``IndexDoesNotExistError`` for a name no index has."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no indexes")

    def get_revision_before(self, document_id: str, before: dt.datetime) -> DocumentRecord | None:
        """The newest revision of ``document_id`` kept at or before ``before`` (a naive
        datetime is UTC), a delete revision too; None when it has none that old."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no revisions")

    def get_revisions_configuration(self) -> dict[str, Any] | None:
        """The revisions configuration ``configure_revisions`` kept, None before any."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no revisions")

    def import_revisions(self, revisions: Sequence[DocumentRecord]) -> int:
        """Keep ``revisions`` (checked with ``revisions_config.check_revision``) as they are,
        change vectors and times too, in one transaction, each after the revisions its
        document has; one whose change vector is kept already is skipped (importing a file
        twice keeps each once). Nothing is trimmed. How many were kept."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no revisions")

    def get_revisions_bin(self, start: int = 0, page_size: int = 25) -> list[DocumentRecord]:
        """RavenDB's revisions bin: the delete revision of each deleted document that has one
        as its newest revision and does not exist again, the newest delete first; ``start``
        of them skipped, at most ``page_size``."""
        raise InvalidOperationError(f"the {self.capabilities.name} backend keeps no revisions")

    @abc.abstractmethod
    def stream(self, collection: str | None = None) -> Iterator[DocumentRecord]:
        """Every document (of one collection), for export; constant memory."""

    # -- streaming (session.advanced.stream, the server's /streams routes) ---------------------

    def stream_query(self, query: Query) -> QueryStream:
        """The documents of ``query`` (``check_streamable``) as storage produces them, with
        its statistics first; with ``select``, a ``ProjectionRow`` of each; flat memory in
        the number of results.

        This default runs ``query`` whole and hands its results out: correct, but not flat
        in memory. Every shipped backend overrides it (``rookdb.storage.streams``)."""
        result = self.query(check_streamable(query))
        if result.projections is None:
            return QueryStream.of(result.statistics, iter(result.records))
        # A backend that answers with projections only overrides this: each needs its record.
        pairs = zip(result.projections, result.records, strict=True)
        rows = [ProjectionRow.of(p, r, result.notes) for p, r in pairs]
        return QueryStream.of(result.statistics, iter(rows))

    def facets(self, query: Query, facets: Sequence[FacetSpec]) -> FacetAnswer:
        """The ``facets`` of ``query``'s results (``rookdb.facet_compute``). This default
        counts the documents ``stream_query`` hands out, in one pass; a backend whose index
        queries answer documents overrides it to count the index's entries."""
        from rookdb.facet_compute import run

        return run(self, query, facets)

    def stream_prefix(
        self, prefix: str, start_after: str | None = None
    ) -> Iterator[DocumentRecord]:
        """Documents whose id starts with ``prefix`` (case-insensitive), in id order, after
        ``start_after`` if given (its key, excluded); flat memory.

        This default pages through ``get_prefix``: correct while no one writes the prefix
        meanwhile. Every shipped backend overrides it with pages after the last key."""
        after = None if start_after is None else start_after.lower()
        start = 0
        while True:
            page = self.get_prefix(prefix, start, STREAM_PAGE)
            for record in page:
                if after is None or record.id.lower() > after:
                    yield record
            if len(page) < STREAM_PAGE:
                return
            start += len(page)

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections. The storage is unusable afterwards."""

    def conditional_get(self, document_id: str, change_vector: str) -> ConditionalGetResult:
        """Document ``document_id`` unless it still has ``change_vector`` (the session's
        ``conditional_load``, RavenDB's). This default reads it with ``get`` and compares; a
        remote backend overrides it so that an unchanged document does not travel (the http
        backend asks with ``If-None-Match``)."""
        record = self.get((document_id,)).documents.get(document_key(document_id))
        if record is not None and record.change_vector == change_vector:
            return ConditionalGetResult(False, None)
        return ConditionalGetResult(True, record)


class Backend(abc.ABC):
    """The databases behind one URL, and their administration."""

    capabilities: Capabilities
    #: True when other stores use this backend too (``memory://NAME``): stores don't close it.
    shared: bool = False

    @abc.abstractmethod
    def database(self, name: str) -> Storage:
        """The storage of database ``name``, created on first use where the backend does so."""

    @abc.abstractmethod
    def create_database(self, name: str) -> None:
        """Create database ``name``; ``DatabaseAlreadyExistsError`` when one of that name
        (in any case) exists. (``database(name)`` creates on first use without asking.)"""

    @abc.abstractmethod
    def delete_database(self, name: str) -> None: ...

    @abc.abstractmethod
    def list_databases(self) -> list[str]: ...

    @abc.abstractmethod
    def statistics(self, name: str) -> DatabaseStatistics: ...

    #: Where the default methods below keep the server-wide client configuration.
    _server_client_configuration: tuple[int, dict[str, Any] | None] = (0, None)

    def get_server_client_configuration(self) -> tuple[int, dict[str, Any] | None]:
        """The server-wide client configuration (RavenDB's ``GetServerWideClientConfiguration``)
        and its etag; ``(0, None)`` when there is none. This default keeps it in this object
        for as long as it lives; a persistent backend keeps it with its databases (every
        process sharing them sees it) by overriding both methods."""
        return self._server_client_configuration

    def put_server_client_configuration(self, configuration: dict[str, Any]) -> int:
        """Keep ``configuration`` (checked by ``check_client_configuration``) as the
        server-wide client configuration, its ``Etag`` field set to its new etag (as RavenDB
        gives it back); that etag."""
        etag = new_configuration_etag()
        check_client_configuration(configuration)
        self._server_client_configuration = (etag, {**configuration, "Etag": etag})
        return etag

    @abc.abstractmethod
    def close(self) -> None: ...
