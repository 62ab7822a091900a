"""``DocumentSession``: a unit of work with an identity map and change tracking (SPEC §3).

The session orchestrates; the parts do the work. ``tracking`` (pure) knows what is tracked and
what changed, ``serialization`` turns entities into canonical JSON and back, and the one
``Storage`` it was given (SPEC B1) is the only way it reaches data. Every storage round trip
goes through ``_request`` (the request budget of S18).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from rookdb import saving
from rookdb.advanced import Advanced
from rookdb.conventions import DocumentConventions, dict_collection_name
from rookdb.counters import SessionCounters, SessionDocumentCounters
from rookdb.deferred import Deferred
from rookdb.errors import InvalidOperationError, SerializationError, TooManyRequestsError
from rookdb.events import (
    EventRegistration,
    SessionEvents,
)
from rookdb.ids import validate_collection_name, validate_id, validate_ids
from rookdb.includes import LoaderWithInclude, include_spec
from rookdb.lazy import Lazy, LazyOperation, QueryOperation, run_pending
from rookdb.materializer import Materializer
from rookdb.options import OptimisticConcurrencyMode, SessionOptions
from rookdb.query import Query, QueryStatistics
from rookdb.revisions import ForcedRevisions
from rookdb.serialization.encoding import check_depth, may_hide_invalid_values
from rookdb.serialization.entities import EntityCodec
from rookdb.serialization.layouts import Extras
from rookdb.session_queries import SessionQueries
from rookdb.storage.records import (
    ConditionalGetResult,
    DocumentRecord,
    GetResult,
    IdsRead,
    PrefixRead,
)
from rookdb.storage.starting_with import check_prefix_read
from rookdb.tracking.identity_map import IdentityMap, PendingDelete
from rookdb.tracking.state import READ_ONLY_METADATA, DocumentState
from rookdb.tracking.unit_of_work import Change, iter_changes

if TYPE_CHECKING:
    from rookdb.serialization.type_registry import TypeRegistry
    from rookdb.storage.base import Storage
    from rookdb.store import DocumentStore

__all__ = ["DocumentSession"]

T = TypeVar("T")
_SCALARS = (str, bytes, bytearray, int, float, bool, list, tuple, set, frozenset)


class DocumentSession(SessionQueries, EventRegistration):
    """A unit of work over one database. Not thread-safe: one session per thread (S20).

    >>> with store.open_session() as session:                       # doctest: +SKIP
    ...     employee = session.load("employees/1-A", Employee)
    ...     employee.last_name = "Kingsley"
    ...     session.save_changes()                                   # writes that one change
    """

    def __init__(
        self,
        store: DocumentStore,
        database: str,
        storage: Storage,
        options: SessionOptions,
        codec: EntityCodec,
        types: TypeRegistry,
        events: SessionEvents,
        id_for: Callable[[str, Any, str], str],
    ) -> None:
        conventions = store.conventions
        self._store = store
        self._database = database
        self._storage = storage
        self._conventions: DocumentConventions = conventions
        self._codec = codec
        self._types = types
        self._events = events
        self._id_for = id_for
        self._no_tracking = options.no_tracking
        self._ignore_rule = conventions.ignore_rule
        self._map = IdentityMap()
        # The classes this session stored entities of: (collection, metadata), from the store.
        self._stored_classes: dict[type, tuple[str, dict[str, Any]]] = {}
        # Documents delivered by includes, built into entities only when loaded.
        self._included: dict[str, DocumentRecord] = {}
        self._materializer = Materializer(store, codec, types, self._map)
        self._pending_lazy: list[LazyOperation] = []
        self._forced_revisions = ForcedRevisions()
        # Counter operations the next save sends, and the values the session knows.
        self._counters = SessionCounters()
        # Commands the next save sends after the entities' own (defer, typed patches).
        self._deferred = Deferred()
        self._requests = 0
        self._closed = False
        self.max_number_of_requests_per_session: int = (
            conventions.max_number_of_requests_per_session
        )
        mode = options.optimistic_concurrency_mode or conventions.optimistic_concurrency_mode
        if mode is None:
            mode = (
                OptimisticConcurrencyMode.WRITES
                if conventions.use_optimistic_concurrency
                else OptimisticConcurrencyMode.NONE
            )
        self._concurrency_mode: OptimisticConcurrencyMode = mode

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> DocumentSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Forget everything; the session cannot be used afterwards."""
        self._closed = True
        self._forget_all()

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidOperationError("the session is closed")

    def _check_tracking(self, what: str) -> None:
        if self._no_tracking:
            raise InvalidOperationError(f"{what} is not available in a no-tracking session")

    def _request(self) -> None:
        """Count one storage round trip, refusing it before it is sent if over budget (S18)."""
        if self._requests >= self.max_number_of_requests_per_session:
            raise TooManyRequestsError(
                f"this session reached its budget of {self.max_number_of_requests_per_session} "
                "requests; raise session.advanced.max_number_of_requests_per_session or use "
                "fewer, larger requests (load a list of ids, query)"
            )
        self._requests += 1

    @property
    def number_of_requests(self) -> int:
        """Storage round trips this session made."""
        return self._requests

    @property
    def advanced(self) -> Advanced:
        """The session's ``advanced`` operations. A new view each time: it keeps no state of
        its own (its settings are the session's), and the session holding none means no
        reference cycle, so a session dropped without ``close()`` is freed at once with its
        identity map rather than at the garbage collector's next full collection."""
        return Advanced(self, self._map)

    @property
    def database(self) -> str:
        return self._database

    # -- building entities -------------------------------------------------------------------

    def _decode(
        self, record: DocumentRecord, object_type: type[Any] | None
    ) -> tuple[Any, dict[str, Any], Extras]:
        """A stored document as (entity, metadata, extras), not tracked (``Materializer``)."""
        (entity,), (metadata,), extras = self._materializer.decode((record,), object_type)
        return entity, metadata, extras.get(0) or {}

    def _materialize(
        self, record: DocumentRecord, object_type: type[Any] | None, track: bool
    ) -> Any:
        return self._materializer.materialize_one(record, object_type, track)

    def _materialize_many(
        self, records: Sequence[DocumentRecord], object_type: type[Any] | None, track: bool
    ) -> list[Any]:
        """The entities of ``records``, in order, built (and tracked) as one batch."""
        return self._materializer.materialize(records, object_type, track)

    def _remember_includes(self, included: dict[str, DocumentRecord | None]) -> None:
        for key, record in included.items():
            if self._map.by_id(key) is not None:
                continue  # tracked already: the session's version wins
            if record is None:
                self._map.mark_missing(key)
            else:
                self._included[key] = record

    # -- load --------------------------------------------------------------------------------

    # A str is also an Iterable[str]: the first overload wins, as intended.
    @overload
    def load(  # type: ignore[overload-overlap]
        self, id_or_ids: str, object_type: type[T], includes: Any = None
    ) -> T | None: ...

    @overload
    def load(self, id_or_ids: str, object_type: None = None, includes: Any = None) -> Any: ...

    @overload
    def load(
        self, id_or_ids: Iterable[str], object_type: type[T], includes: Any = None
    ) -> dict[str, T | None]: ...

    @overload
    def load(
        self, id_or_ids: Iterable[str], object_type: None = None, includes: Any = None
    ) -> dict[str, Any]: ...

    def load(self, id_or_ids: Any, object_type: Any = None, includes: Any = None) -> Any:
        """Load one document (entity or None) or several (always a dict id → entity or None,
        in the caller's order, keyed by the caller's first spelling: S15).

        Ids the session already knows (tracked, deleted, known missing, or delivered by an
        include) cost no request; the rest are read in one request, in one snapshot.
        """
        if includes is None and type(id_or_ids) is str:  # load(id): no argument to check
            if self._closed:
                self._check_open()
            return self._load_one(id_or_ids, object_type)
        ids, paths, counters = self._load_args(id_or_ids, includes)
        if ids is None:
            return self._load_one(id_or_ids, object_type)
        found = self._load_many(ids, object_type, paths, counters)
        return found[id_or_ids] if isinstance(id_or_ids, str) else found

    def _load_args(
        self, id_or_ids: Any, includes: Any
    ) -> tuple[list[str] | None, tuple[str, ...], tuple[str, ...]]:
        """``load``'s arguments, checked: the ids to load (None: the one id, with no
        includes, ``_load_one``'s case), the include paths and the counters' names."""
        self._check_open()
        paths, counters = include_spec(includes)
        if paths or counters:
            self._check_tracking("includes")
        if isinstance(id_or_ids, str):
            return (None if not (paths or counters) else [id_or_ids]), paths, counters
        if isinstance(id_or_ids, (bytes, bytearray)) or not isinstance(id_or_ids, Iterable):
            validate_id(id_or_ids)  # not a str: an InvalidIdError
        return list(id_or_ids), paths, counters

    def _load_one(self, document_id: str, object_type: type[Any] | None) -> Any:
        """``load(id)``: the most common call, kept short (issue 18: each Python call is
        about a twentieth of the floor's whole load). ``_plan_one``, then storage's read and
        ``_finish_one``'s work for a document found, without its layers."""
        key, done, entity = self._plan_one(document_id, object_type)
        if done:
            return entity
        result = self._storage.get((document_id,))
        record = result.documents.get(key)
        if record is None:
            return self._finish_one(key, result, object_type)
        return self._materializer.materialize_one(record, object_type, not self._no_tracking)

    def _plan_one(self, document_id: str, object_type: type[Any] | None) -> tuple[str, bool, Any]:
        """``load(id)`` before its request: (key, True, the entity) when the session knows
        the id, else (key, False, None) with the request counted (``_finish_one`` reads it)."""
        key = validate_id(document_id).lower()
        if not self._no_tracking:
            known, entity = self._map.known(key)
            if known:
                return key, True, entity
            record = self._included.pop(key, None) if self._included else None
            if record is not None:
                return key, True, self._materialize(record, object_type, True)
        self._request()
        return key, False, None

    def _finish_one(self, key: str, result: GetResult, object_type: type[Any] | None) -> Any:
        """``load(id)`` after its request: the entity of what storage read, or None."""
        record = result.documents.get(key)
        track = not self._no_tracking
        if record is None:
            if track:
                self._map.mark_missing(key)
            return None
        return self._materialize(record, object_type, track)

    def _load_many(
        self,
        ids: list[str],
        object_type: type[Any] | None,
        paths: tuple[str, ...],
        counters: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        plan = self._plan_load(ids)
        read = self._load_read(plan, paths, counters)
        return self._finish_load(
            plan, None if read is None else read(), object_type, paths, counters
        )

    def _load_read(
        self,
        plan: tuple[dict[str, str], dict[str, Any], list[str]],
        paths: tuple[str, ...],
        counters: tuple[str, ...],
    ) -> Callable[[], GetResult] | None:
        """The one storage read a load of ``plan`` needs (its request counted), to be called
        (in a worker thread by the async session), or None.

        Includes of documents the session already holds are not fetched again: only a
        request for unknown ids carries them. Counters are read for every id asked."""
        storage = self._storage
        if counters:
            self._request()
            read = IdsRead(tuple(plan[0].values()), paths, counters)

            def with_counters() -> GetResult:
                (got,) = storage.read_many([read])
                assert isinstance(got, GetResult)
                return got

            return with_counters
        if plan[2]:
            self._request()
            return functools.partial(storage.get, [plan[0][key] for key in plan[2]], paths)
        return None

    def _plan_load(self, ids: list[str]) -> tuple[dict[str, str], dict[str, Any], list[str]]:
        """What a load of ``ids`` needs: the caller's first spelling of each key, what the
        session answers itself (tracked, deleted, known missing), and the keys to read."""
        validate_ids(ids)
        keys = [document_id.lower() for document_id in ids]
        spelling: dict[str, str]  # key -> the caller's first spelling
        if len(set(keys)) == len(keys):  # each id once: the common case
            spelling = dict(zip(keys, ids, strict=True))
        else:
            spelling = {}
            for key, document_id in zip(keys, ids, strict=True):
                spelling.setdefault(key, document_id)
        found: dict[str, Any] = {}
        if self._no_tracking or (not self._included and self._map.knows_none(spelling)):
            return spelling, found, list(spelling)  # a batch of ids new to the session
        wanted: list[str] = []
        for key in spelling:
            if self._no_tracking:
                wanted.append(key)
                continue
            known, entity = self._map.known(key)
            if known:
                found[key] = entity
            elif key in self._included:
                found[key] = True  # built from the included record by _finish_load
            else:
                wanted.append(key)
        return spelling, found, wanted

    def _finish_load(
        self,
        plan: tuple[dict[str, str], dict[str, Any], list[str]],
        result: GetResult | None,
        object_type: type[Any] | None,
        paths: tuple[str, ...],
        counters: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """The dict ``load`` returns for ``plan``, given what storage read of its keys (what
        ``_load_read``'s call returned, or None)."""
        if result is not None and counters:
            self._counters.included(result.counters, counters)
        spelling, found, wanted = plan
        for key, entity in found.items():
            if entity is True and key in self._included:
                found[key] = self._materialize(self._included.pop(key), object_type, True)
        if result is not None:
            track = not self._no_tracking
            documents = result.documents
            keys = [key for key in wanted if key in documents]
            if len(keys) < len(wanted) and track:
                for key in wanted:
                    if key not in documents:
                        self._map.mark_missing(key)
            records = [documents[key] for key in keys]
            found.update(
                zip(keys, self._materialize_many(records, object_type, track), strict=True)
            )
            if paths:
                self._remember_includes(result.includes)
        return {spelling[key]: found.get(key) for key in spelling}

    def load_starting_with(
        self,
        id_prefix: str,
        object_type: type[T] | None = None,
        matches: str | None = None,
        start: int = 0,
        page_size: int = 25,
        exclude: str | None = None,
        start_after: str | None = None,
    ) -> list[T]:
        """Documents whose id starts with ``id_prefix`` (case-insensitive), in id order, in
        one request: of those, the ones whose rest of the id ``matches`` and does not match
        ``exclude`` (RavenDB's patterns: ``*``, ``?``, alternatives separated by ``|``),
        after the id ``start_after``; ``start`` of them skipped, at most ``page_size``."""
        self._check_open()
        read = self._prefix_read(id_prefix, matches, start, page_size, exclude, start_after)
        return self._load_prefix(read, object_type)

    def counters_for(self, entity_or_id: Any) -> SessionDocumentCounters:
        """The counters of a document (an entity the session tracks, or an id): RavenDB's
        ``SessionDocumentCounters`` (``rookdb.counters``)."""
        return SessionDocumentCounters(self, entity_or_id)

    def counters_for_entity(self, entity: object) -> SessionDocumentCounters:
        """``counters_for`` of a tracked entity (RavenDB's name)."""
        return SessionDocumentCounters(self, entity)

    def include(self, path: str) -> LoaderWithInclude:
        """Load documents together with those ``path`` references, in one request."""
        self._check_open()
        self._check_tracking("include")
        return LoaderWithInclude(self, path)

    # -- store / delete ----------------------------------------------------------------------

    def store(
        self, entity: object, key: str | None = None, change_vector: str | None = None
    ) -> None:
        """Track ``entity``; it is written by the next ``save_changes()`` (S14).

        The id is ``key``, else the entity's identity property (``Id``) if it is a non-empty
        str, else generated (HiLo: ``employees/1-A``). Ids ending in ``/`` or ``|`` and ``""``
        are completed by storage at save. ``change_vector`` makes the save check it.
        """
        if self._closed or self._no_tracking:
            self._check_open()
            self._check_tracking("store()")
        if key is not None:
            validate_id(key)
        state = self._map.by_entity(entity)
        if state is not None:
            if state.deleted:
                raise InvalidOperationError(
                    f"cannot store {state.id!r}: it was deleted in this session"
                )
            if key is not None and key.lower() != state.key:
                raise InvalidOperationError(
                    f"this entity is already stored as {state.id!r}; it cannot also be {key!r}"
                )
            if change_vector is not None:
                state.expect_change_vector(change_vector)
            return
        document_id: str | None = key
        # A class this session stored before: its collection and metadata, one lookup.
        info = self._stored_classes.get(type(entity))
        if info is None and not isinstance(entity, dict):
            info = self._stored_class(entity)
        if info is None:  # a dict
            assert isinstance(entity, dict)
            metadata = self._dict_metadata(entity)
            collection = metadata.get("@collection")
            if collection is None or collection == "":
                collection = dict_collection_name(
                    document_id, self._conventions.identity_parts_separator
                )
            validate_collection_name(collection)
            metadata["@collection"] = collection
            shared = False
            if document_id is None:
                # A dict with no id and no collection gets a GUID from storage, as in RavenDB.
                document_id = (
                    ""
                    if collection == "@empty"
                    else self._id_for(self._database, entity, collection)
                )
        else:
            collection, metadata = info
            shared = True  # the store's dict for this class: copied before any write to it
            if document_id is None:
                identity = self._codec.identity_of(entity)
                if isinstance(identity, str) and identity:
                    document_id = identity
                else:
                    document_id = self._id_for(self._database, entity, collection)
        if document_id is not key:  # a given key was checked on the way in
            validate_id(document_id)
        if self._deferred.has(document_id.lower()):
            raise InvalidOperationError(
                f"cannot store {document_id!r}: a deferred command (a patch, defer()) writes "
                "it in this session's next save"
            )
        state = DocumentState(entity, document_id, collection, metadata, metadata_shared=shared)
        # Refuses an id another object holds (NonUniqueObjectError) before changing anything.
        self._map.track_new(state, change_vector)
        if not state.completed_by_storage:
            self._codec.set_identity(entity, document_id)

    def _stored_class(self, entity: object) -> tuple[str, dict[str, Any]]:
        """The collection and metadata of ``entity``'s class (not a dict), remembered for the
        session's next ``store()`` of one; what cannot be an entity is refused (whether it
        can is a matter of its class: ``callable`` and ``isinstance`` ask the class)."""
        if entity is None or isinstance(entity, _SCALARS) or callable(entity):
            raise SerializationError(
                f"cannot store a {type(entity).__qualname__}: an entity is an object or a dict"
            )
        info = self._stored_classes[type(entity)] = self._store.type_info(type(entity))
        return info

    @staticmethod
    def _dict_metadata(entity: dict[str, Any]) -> dict[str, Any]:
        """A dict may carry its own ``@metadata``; what storage assigns is not taken from it."""
        own = entity.get("@metadata")
        if not isinstance(own, dict):
            return {}
        return {k: v for k, v in own.items() if k not in READ_ONLY_METADATA}

    def delete(self, entity_or_id: Any, expected_change_vector: str | None = None) -> None:
        """Delete an entity or an id at the next save; the id reads as missing at once (S16)."""
        self._check_open()
        self._check_tracking("delete()")
        if entity_or_id is None or isinstance(entity_or_id, _SCALARS):  # nothing an entity can be
            document_id = validate_id(entity_or_id)
            state = self._map.by_id(document_id)
            if state is None:
                key = self._map.delete_by_id(document_id, expected_change_vector)
                self._included.pop(key, None)
                return
            if not state.deleted and self._compute([state], ()):
                raise InvalidOperationError(
                    f"cannot delete {document_id!r} by id: its entity has unsaved changes in this "
                    "session; delete the entity, or evict it first"
                )
        else:
            state = self._map.by_entity(entity_or_id)
            if state is None:
                raise InvalidOperationError(
                    f"cannot delete this {type(entity_or_id).__qualname__}: the session does not "
                    "track it (load it, or delete it by id)"
                )
        if state.completed_by_storage:
            # users/, users| and "" name no document yet: there is nothing to delete.
            self._map.forget(state)
            return
        # Even an entity never saved: another session may have written its id since, and the
        # delete is written by save_changes (S16), like every delete (S4).
        state.mark_deleted(expected_change_vector)

    # -- changes -----------------------------------------------------------------------------

    def _encode(self, state: DocumentState) -> bytes:
        return self._codec.encode(state.entity, state.metadata, state.extras)

    def _validate(self, state: DocumentState, data: bytes) -> bytes:
        # ``encode_checked``'s own test first: most documents' bytes hide no invalid value,
        # and then are written as encoded (once per document a save writes).
        if may_hide_invalid_values(data):
            data = self._codec.encode_checked(state.entity, state.metadata, state.extras, data)
        check_depth(data, state.id)
        return data

    def _encode_checked(self, state: DocumentState) -> bytes:
        """The bytes a save writes of ``state``, encoded and validated."""
        return self._validate(state, self._encode(state))

    def _should_ignore(self, state: DocumentState) -> bool:
        rule = self._ignore_rule
        return rule is not None and bool(rule.check(self, state.entity, state.id))

    def _compute(
        self,
        states: Iterable[DocumentState] | None = None,
        deletes_by_id: Iterable[PendingDelete] | None = None,
    ) -> list[Change]:
        """The one code path behind every change question and ``save_changes`` (S4)."""
        return list(self._changes(states, deletes_by_id))

    def _changes(
        self,
        states: Iterable[DocumentState] | None = None,
        deletes_by_id: Iterable[PendingDelete] | None = None,
    ) -> Iterator[Change]:
        """``_compute``, one change at a time."""
        return iter_changes(
            self._map if states is None else states,
            self._map.pending_deletes() if deletes_by_id is None else deletes_by_id,
            self._codec.encode,
            self._validate,
            None if self._ignore_rule is None else self._should_ignore,
        )

    def has_changes(self) -> bool:
        """True when ``save_changes()`` would write anything (the RavenDB client's method):
        changed entities, deletes, or deferred commands."""
        self._check_open()
        return bool(self._deferred) or bool(self._compute())

    def ignore_changes_for(self, entity: object) -> None:
        """Never save changes to ``entity``; it stays in the identity map (S6)."""
        self._check_open()
        state = self._map.by_entity(entity)
        if state is None:
            raise InvalidOperationError(
                f"cannot ignore changes for this {type(entity).__qualname__}: the session does "
                "not track it"
            )
        state.ignore()

    def save_changes(self) -> None:
        """Write every change in one atomic batch, or nothing (S3): the entities' puts and
        deletes, then the deferred commands (patches) and forced revisions. No changes: no
        request (``rookdb.saving``)."""
        self._check_open()
        saving.save(self)

    def _is_tracked(self, key: str) -> bool:
        state = self._map.by_key(key)
        return state is not None and not state.deleted

    # -- the interface of session.advanced ---------------------------------------------------
    # ``rookdb.advanced.Advanced`` holds the identity map and calls only these (and
    # ``_check_open``, ``_compute``); each keeps the session's rules (the request budget,
    # no-tracking) in the session.

    def _deferred_queue(self) -> Deferred:
        """The commands the next save sends after the entities' own."""
        self._check_open()
        return self._deferred

    def _encode_new(self, entity: object, document_id: str) -> bytes:
        """``entity`` as the document a save of it under ``document_id`` would write (for
        ``add_or_patch``'s document to create), without tracking it."""
        if isinstance(entity, dict):
            metadata = self._dict_metadata(entity)
            metadata.setdefault(
                "@collection",
                dict_collection_name(document_id, self._conventions.identity_parts_separator),
            )
        else:
            _, metadata = self._store.type_info(type(entity))
        state = DocumentState(entity, document_id, "", dict(metadata))
        return self._encode_checked(state)

    def _fetch(self, ids: Sequence[str]) -> GetResult:
        """Read ``ids`` from storage: one request of the budget."""
        self._request()
        return self._storage.get(ids)

    def _forget_all(self) -> None:
        """Forget every entity, pending delete, known-missing id, included document and
        pending lazy operation."""
        self._map.clear()
        self._included.clear()
        self._pending_lazy.clear()
        self._deferred.clear()
        self._counters.clear()

    def _reload(self, state: DocumentState) -> bool:
        """Read ``state``'s document again and make its entity hold it, dropping local edits
        (``refresh``); False when storage no longer has it."""
        return self._reloaded(state, self._fetch([state.id]))

    def _reloaded(self, state: DocumentState, result: GetResult) -> bool:
        """``_reload`` after its request."""
        record = result.documents.get(state.key)
        if record is None:
            return False
        self._refresh(state, record)
        return True

    def _refresh(self, state: DocumentState, record: DocumentRecord) -> None:
        """Make ``state``'s entity hold ``record``, in place."""
        entity = state.entity
        fresh, metadata, extras = self._decode(record, type(entity))
        self._codec.refresh_in_place(entity, fresh)
        held = extras.pop(id(fresh), None)
        if held is not None:
            extras[id(entity)] = (entity, held[1])
        last_modified = record.last_modified
        state.reloaded(record.data, record.change_vector, last_modified, metadata, extras or None)

    def _conditional_load(
        self, document_id: str, change_vector: str, object_type: type[Any] | None
    ) -> tuple[Any, str | None]:
        """``conditional_load`` of an id the session does not know: one request, (None, the
        change vector) when unchanged, (None, None) when missing (remembered), else the
        entity, tracked, and its change vector."""
        self._request()
        got = self._storage.conditional_get(document_id, change_vector)
        return self._conditional_loaded(document_id, change_vector, object_type, got)

    def _conditional_loaded(
        self,
        document_id: str,
        change_vector: str,
        object_type: type[Any] | None,
        got: ConditionalGetResult,
    ) -> tuple[Any, str | None]:
        """``_conditional_load`` after its request."""
        track = not self._no_tracking
        modified, record = got
        if not modified:
            return None, change_vector
        if record is None:
            if track:
                self._map.mark_missing(document_id.lower())
            return None, None
        return self._materialize(record, object_type, track), record.change_vector

    def _load_prefix(self, read: PrefixRead, object_type: type[Any] | None) -> list[Any]:
        """``load_starting_with``: one request; tracked entities are the session's."""
        self._request()
        records = self._storage.get_prefix(*read)
        return self._prefix_entities(records, object_type)

    def _prefix_entities(
        self, records: list[DocumentRecord], object_type: type[Any] | None
    ) -> list[Any]:
        track = not self._no_tracking
        entities: list[Any] = []
        fresh: list[DocumentRecord] = []  # not tracked yet: built as one batch
        at: list[int] = []
        for record in records:
            state = self._map.by_id(record.id) if track else None
            if state is not None:
                if not state.deleted:
                    entities.append(state.entity)
                continue
            at.append(len(entities))
            entities.append(None)
            fresh.append(record)
        for i, entity in zip(at, self._materialize_many(fresh, object_type, track), strict=True):
            entities[i] = entity
        return entities

    def _streaming(self) -> Storage:
        """The storage, for one stream (``session.advanced.stream``): one request of the
        budget. What a stream yields is never tracked."""
        self._check_open()
        self._request()
        return self._storage

    @staticmethod
    def _prefix_read(
        id_prefix: str,
        matches: str | None,
        start: int,
        page_size: int,
        exclude: str | None,
        start_after: str | None,
    ) -> PrefixRead:
        """``load_starting_with``'s arguments, checked (``rookdb.storage.starting_with``)."""
        if not isinstance(id_prefix, str):
            validate_id(id_prefix)  # not a str: an InvalidIdError
        read = PrefixRead(
            id_prefix, start, page_size, matches or "", exclude or "", start_after or ""
        )
        return check_prefix_read(read)

    # -- lazy operations (``rookdb.lazy``) ----------------------------------------------------

    def _add_lazy(self, operation: LazyOperation) -> Lazy[Any]:
        """Keep ``operation`` until the pending operations run; its ``Lazy``."""
        self._pending_lazy.append(operation)

        def value() -> Any:
            if not operation.done:
                self._execute_lazy()
            return operation.result

        return Lazy(value)

    def _execute_lazy(self) -> None:
        """Run every pending lazy operation: one ``read_many``, one request of the budget."""
        pending = self._take_lazy()
        try:
            run_pending(self, pending)
        except BaseException:
            self._requeue_lazy(pending)
            raise

    def _take_lazy(self) -> list[LazyOperation]:
        """The pending lazy operations, to run now (none pending any more)."""
        self._check_open()
        pending, self._pending_lazy = self._pending_lazy, []
        return pending

    def _requeue_lazy(self, pending: list[LazyOperation]) -> None:
        """After a failed run of ``pending``: those not done may run again."""
        self._pending_lazy[:0] = [op for op in pending if not op.done]

    def _lazy_query(
        self,
        query: Query,
        object_type: type[Any] | None,
        tracking: bool,
        on_result: Callable[[list[Any], QueryStatistics], Any],
        on_eval: Callable[[Any], None] | None = None,
    ) -> Lazy[Any]:
        """``query.lazily()`` and ``count_lazily()``: the query waits with the others."""
        self._before_query(query)
        return self._add_lazy(
            QueryOperation(self, query, object_type, tracking, on_result, on_eval)
        )

    def _set_concurrency_mode(self, mode: OptimisticConcurrencyMode) -> None:
        if mode is not OptimisticConcurrencyMode.NONE and self._no_tracking:
            raise InvalidOperationError("a no-tracking session cannot use optimistic concurrency")
        self._concurrency_mode = OptimisticConcurrencyMode(mode)
