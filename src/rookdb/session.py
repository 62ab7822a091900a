"""``DocumentSession``: a unit of work with an identity map and change tracking (SPEC §3).

The session orchestrates; the parts do the work. ``tracking`` (pure) knows what is tracked and
what changed, ``serialization`` turns entities into canonical JSON and back, and the one
``Storage`` it was given (SPEC B1) is the only way it reaches data. Every storage round trip
goes through ``_request`` (the request budget of S18).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from rookdb.errors import (
    DocumentNotFoundError,
    InvalidOperationError,
    NonUniqueObjectError,
    SerializationError,
    TooManyRequestsError,
)
from rookdb.events import (
    AfterSaveChangesEventArgs,
    BeforeDeleteEventArgs,
    BeforeQueryEventArgs,
    BeforeStoreEventArgs,
    EventRegistration,
    SessionEvents,
)
from rookdb.ids import validate_collection_name, validate_id
from rookdb.options import OptimisticConcurrencyMode, SessionOptions
from rookdb.query import DocumentQuery, Query, check_count
from rookdb.rql import RawDocumentQuery
from rookdb.serialization.encoding import check_depth, loads
from rookdb.serialization.entities import EntityCodec, Extras
from rookdb.serialization.type_registry import type_registry
from rookdb.storage.records import (
    Command,
    DeleteCommand,
    DocumentRecord,
    PutCommand,
    QueryStatistics,
    ReadCheck,
    document_key,
)
from rookdb.tracking.diff import DocumentsChanges
from rookdb.tracking.identity_map import IdentityMap, PendingDelete
from rookdb.tracking.state import READ_ONLY_METADATA, DocumentState, MetadataDictionary
from rookdb.tracking.unit_of_work import Change, ChangeKind, describe, iter_changes

if TYPE_CHECKING:
    from rookdb.conventions import DocumentConventions
    from rookdb.storage.base import Storage
    from rookdb.store import DocumentStore

__all__ = ["Advanced", "DocumentSession", "IncludeBuilder", "LoaderWithInclude"]

T = TypeVar("T")
_SCALARS = (str, bytes, bytearray, int, float, bool, list, tuple, set, frozenset)


class IncludeBuilder:
    """Collects include paths for ``load(..., includes=lambda b: b.include_documents("x"))``."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def include_documents(self, path: str) -> IncludeBuilder:
        self.paths.append(path)
        return self


def _include_paths(includes: Any) -> tuple[str, ...]:
    if includes is None:
        return ()
    if isinstance(includes, str):
        return (includes,)
    if callable(includes):
        builder = IncludeBuilder()
        includes(builder)
        return tuple(builder.paths)
    return tuple(includes)


class LoaderWithInclude:
    """``session.include("company_id").load("employees/1-A", Employee)``."""

    def __init__(self, session: DocumentSession, path: str) -> None:
        self._session = session
        self._paths = [path]

    def include(self, path: str) -> LoaderWithInclude:
        self._paths.append(path)
        return self

    def load(self, id_or_ids: Any, object_type: type[Any] | None = None) -> Any:
        return self._session.load(id_or_ids, object_type, includes=list(self._paths))


class DocumentSession(EventRegistration):
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
        events: SessionEvents,
        id_for: Callable[[str, Any, str], str],
    ) -> None:
        conventions = store.conventions
        self._store = store
        self._database = database
        self._storage = storage
        self._conventions: DocumentConventions = conventions
        self._codec = codec
        self._events = events
        self._id_for = id_for
        self._no_tracking = options.no_tracking
        self._ignore_rule = conventions.ignore_rule
        self._map = IdentityMap()
        # Documents delivered by includes, built into entities only when loaded.
        self._included: dict[str, DocumentRecord] = {}
        self._last_metadata: dict[str, Any] = {}
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
        self._advanced = Advanced(self)

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> DocumentSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Forget everything; the session cannot be used afterwards."""
        self._closed = True
        self._map.clear()
        self._included.clear()

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
        return self._advanced

    @property
    def database(self) -> str:
        return self._database

    # -- building entities -------------------------------------------------------------------

    def _decode(
        self, record: DocumentRecord, object_type: type[Any] | None
    ) -> tuple[Any, dict[str, Any], Extras]:
        """A stored document as (entity, metadata, extras). Without ``object_type``, the
        class ``Raven-Python-Type`` names if it is registered, else a dict (SPEC D3).

        A document deeper than rookdb writes is refused before it is decoded: the session could
        not write it back, nor walk it safely, so it is never tracked."""
        check_depth(record.data, record.id)
        body = loads(record.data)
        metadata = body.pop("@metadata", None)
        if type(metadata) is not dict:
            metadata = {}
        cls = object_type
        if cls is None:
            cls = type_registry.lookup(metadata.get("Raven-Python-Type"))
        elif cls is not dict:
            self._store.type_info(cls)  # registers it
        extras: Extras = {}
        return self._codec.decode(body, cls, record.id, extras), metadata, extras

    def _materialize(
        self, record: DocumentRecord, object_type: type[Any] | None, track: bool
    ) -> Any:
        entity, metadata, extras = self._decode(record, object_type)
        if metadata == self._last_metadata:  # usually the same for a whole collection
            metadata = self._last_metadata
        else:
            self._last_metadata = metadata
        if track:
            self._map.add_loaded(
                DocumentState(
                    entity,
                    record.id,
                    record.collection,
                    metadata,
                    snapshot=record.data,
                    change_vector=record.change_vector,
                    last_modified=record.last_modified,
                    extras=extras or None,
                    metadata_shared=True,
                )
            )
        return entity

    def _known(self, key: str) -> tuple[bool, Any]:
        """(True, entity-or-None) when the session can answer for ``key`` without a request."""
        identity_map = self._map
        state = identity_map.by_key.get(key)
        if state is not None:
            return True, None if state.deleted else state.entity
        if key in identity_map.missing or key in identity_map.deletes_by_id:
            return True, None
        return False, None

    def _remember_includes(self, included: dict[str, DocumentRecord | None]) -> None:
        for key, record in included.items():
            if self._map.by_id(key) is not None:
                continue  # tracked already: the session's version wins
            if record is None:
                self._map.missing.add(key)
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
        self._check_open()
        paths = _include_paths(includes)
        if paths:
            self._check_tracking("includes")
        if isinstance(id_or_ids, str):
            if paths:
                return self._load_many([id_or_ids], object_type, paths)[id_or_ids]
            return self._load_one(id_or_ids, object_type)
        if isinstance(id_or_ids, (bytes, bytearray)) or not isinstance(id_or_ids, Iterable):
            validate_id(id_or_ids)  # not a str: an InvalidIdError
        return self._load_many(list(id_or_ids), object_type, paths)

    def _load_one(self, document_id: str, object_type: type[Any] | None) -> Any:
        """``load(id)``: the most common call, kept short."""
        key = validate_id(document_id).lower()
        track = not self._no_tracking
        if track:
            known, entity = self._known(key)
            if known:
                return entity
            record = self._included.pop(key, None)
            if record is not None:
                return self._materialize(record, object_type, True)
        self._request()
        record = self._storage.get((document_id,)).documents.get(key)
        if record is None:
            if track:
                self._map.missing.add(key)
            return None
        return self._materialize(record, object_type, track)

    def _load_many(
        self, ids: list[str], object_type: type[Any] | None, paths: tuple[str, ...]
    ) -> dict[str, Any]:
        spelling: dict[str, str] = {}  # key -> the caller's first spelling
        for document_id in ids:
            spelling.setdefault(validate_id(document_id).lower(), document_id)
        found: dict[str, Any] = {}
        wanted: list[str] = []
        for key in spelling:
            if self._no_tracking:
                wanted.append(key)
                continue
            known, entity = self._known(key)
            if known:
                found[key] = entity
            elif key in self._included:
                found[key] = self._materialize(self._included.pop(key), object_type, True)
            else:
                wanted.append(key)
        # Includes of documents the session already holds are not fetched again: only a
        # request for unknown ids carries them.
        if wanted:
            self._request()
            result = self._storage.get([spelling[key] for key in wanted], paths)
            track = not self._no_tracking
            for key in wanted:
                record = result.documents.get(key)
                if record is not None:
                    found[key] = self._materialize(record, object_type, track)
                elif track:
                    self._map.missing.add(key)
            if paths:
                self._remember_includes(result.includes)
        return {spelling[key]: found.get(key) for key in spelling}

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
                state.expected_change_vector = change_vector
            return
        document_id: str | None = key
        if isinstance(entity, dict):
            metadata = self._dict_metadata(entity)
            collection = metadata.get("@collection")
            if collection is None or collection == "":
                collection = _prefix_collection(
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
            if entity is None or isinstance(entity, _SCALARS) or callable(entity):
                raise SerializationError(
                    f"cannot store a {type(entity).__qualname__}: an entity is an object or a dict"
                )
            collection, metadata = self._store.type_info(type(entity))
            shared = True  # the store's dict for this class: copied before any write to it
            if document_id is None:
                identity = self._codec.identity_of(entity)
                if isinstance(identity, str) and identity:
                    document_id = identity
                else:
                    document_id = self._id_for(self._database, entity, collection)
        validate_id(document_id)
        state = DocumentState(entity, document_id, collection, metadata, metadata_shared=shared)
        if document_id:
            existing = self._map.by_key.get(state.key)
            if existing is not None:
                if not existing.deleted:
                    raise NonUniqueObjectError(
                        f"another object is already tracked as {document_id!r} in this session"
                    )
                # A new object replaces one deleted in this session: it overwrites that version.
                self._map.remove(existing)
                state.change_vector = existing.change_vector
            elif self._map.deletes_by_id:
                pending = self._map.deletes_by_id.pop(state.key, None)
                if pending is not None:
                    state.expected_change_vector = pending.expected_change_vector
        if change_vector is not None:
            state.expected_change_vector = change_vector
        if not state.completed_by_storage:
            self._codec.set_identity(entity, document_id)
        self._map.add(state)

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
                key = document_key(document_id)
                self._map.deletes_by_id[key] = PendingDelete(document_id, expected_change_vector)
                self._map.missing.add(key)
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
            self._map.remove(state)
            return
        # Even an entity never saved: another session may have written its id since, and the
        # delete is written by save_changes (S16), like every delete (S4).
        state.deleted = True
        if expected_change_vector is not None:
            state.expected_change_vector = expected_change_vector

    # -- changes -----------------------------------------------------------------------------

    def _encode(self, state: DocumentState) -> bytes:
        return self._codec.encode(state.entity, state.metadata, state.extras)

    def _validate(self, state: DocumentState, data: bytes) -> bytes:
        data = self._codec.encode_checked(state.entity, state.metadata, state.extras, data)
        check_depth(data, state.id)
        return data

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
            list(self._map.deletes_by_id.values()) if deletes_by_id is None else deletes_by_id,
            self._encode,
            self._validate,
            self._should_ignore,
        )

    def has_changes(self) -> bool:
        """True when ``save_changes()`` would write anything (the RavenDB client's method)."""
        self._check_open()
        return bool(self._compute())

    def ignore_changes_for(self, entity: object) -> None:
        """Never save changes to ``entity``; it stays in the identity map (S6)."""
        self._check_open()
        state = self._map.by_entity(entity)
        if state is None:
            raise InvalidOperationError(
                f"cannot ignore changes for this {type(entity).__qualname__}: the session does "
                "not track it"
            )
        state.ignore_changes = True

    def save_changes(self) -> None:
        """Write every change in one atomic batch, or nothing (S3). No changes: no request."""
        self._check_open()
        events = self._events
        if (
            events.before_store
            or events.before_delete
            or self._concurrency_mode is OptimisticConcurrencyMode.WRITES_AND_READS
        ):
            # Handlers see every change before anything is written, and read checks need
            # every key the batch writes: the whole batch first.
            changes = self._compute()
            if not changes:
                return
            self._fire_before_events(changes)
            batch: Iterable[Command] = [self._command(change) for change in changes]
            if self._concurrency_mode is OptimisticConcurrencyMode.WRITES_AND_READS:
                batch = [*batch, *self._read_checks(changes)]
        else:
            # Commands go to storage as they are found, so a backend may write the first ones
            # while the session still encodes the rest (PostgreSQL pipelines them). A change
            # that fails to encode ends the batch, and then storage writes none of it.
            found = self._changes()
            first = next(found, None)
            if first is None:
                return
            changes = [first]

            def commands() -> Iterator[Command]:
                yield self._command(first)
                for change in found:
                    changes.append(change)
                    yield self._command(change)

            batch = commands()
        self._request()
        result = self._storage.apply(batch)
        self._after_save(changes, result.puts)

    def _command(self, change: Change) -> Command:
        """The storage command of one change, with the change vector it must find (S19)."""
        state = change.state
        checking = self._concurrency_mode is not OptimisticConcurrencyMode.NONE
        if change.kind is ChangeKind.DELETED:
            expected = change.expected_change_vector
            if state is not None:
                expected = state.expected_change_vector or (
                    state.change_vector if checking else None
                )
            return DeleteCommand(change.document_id, expected)
        assert state is not None and change.data is not None
        expected = state.expected_change_vector
        if expected is None and checking and not state.completed_by_storage:
            expected = state.change_vector or ""
        return PutCommand(state.id, state.collection, change.data, expected)

    def _fire_before_events(self, changes: list[Change]) -> None:
        events = self._events
        if events.before_store:
            for change in changes:
                state = change.state
                if change.kind is ChangeKind.DELETED or state is None:
                    continue
                args = BeforeStoreEventArgs(self, state.id, state.entity, MetadataDictionary(state))
                SessionEvents.fire(events.before_store, args)
                # A handler may have changed the entity: what it leaves is what is written.
                change.data = self._validate(state, self._encode(state))
        if events.before_delete:
            for change in changes:
                if change.kind is ChangeKind.DELETED:
                    entity = change.state.entity if change.state is not None else None
                    SessionEvents.fire(
                        events.before_delete,
                        BeforeDeleteEventArgs(self, change.document_id, entity),
                    )

    def _read_checks(self, changes: list[Change]) -> list[ReadCheck]:
        """WRITES_AND_READS: what the session read and does not write must be as it was read.
        Keys the batch writes or deletes are checked by their own commands, not here."""
        written = {document_key(c.document_id) for c in changes}
        checks = [
            ReadCheck(state.id, state.change_vector)
            for state in self._map.states()
            if state.key not in written and not state.is_new
        ]
        checks.extend(
            ReadCheck(key, None) for key in sorted(self._map.missing) if key not in written
        )
        return checks

    def _after_save(self, changes: list[Change], puts: Sequence[Any]) -> None:
        written = iter(puts)
        saved: list[DocumentState] = []
        for change in changes:
            state = change.state
            if change.kind is ChangeKind.DELETED:
                if state is not None:
                    self._map.remove(state)
                self._map.missing.add(document_key(change.document_id))
                continue
            assert state is not None
            outcome = next(written)
            if outcome.id != state.id:
                self._map.rekey(state, outcome.id)
                self._codec.set_identity(state.entity, outcome.id)
            state.snapshot = change.data
            state.change_vector = outcome.change_vector
            state.last_modified = outcome.last_modified
            state.expected_change_vector = None
            saved.append(state)
        self._map.deletes_by_id.clear()
        handlers = self._events.after_save_changes
        if handlers:
            for state in saved:
                SessionEvents.fire(
                    handlers, AfterSaveChangesEventArgs(self, state.id, state.entity)
                )

    # -- queries -----------------------------------------------------------------------------

    def query(
        self,
        object_type: type[T] | None = None,
        collection_name: str | None = None,
        index_name: str | None = None,
    ) -> DocumentQuery[T]:
        """A lazy query over the collection of ``object_type`` (or ``collection_name``)."""
        self._check_open()
        if index_name is not None:
            raise InvalidOperationError("static indexes are not supported; query a collection")
        if collection_name is None and object_type is not None and object_type is not dict:
            collection_name = self._store.type_info(object_type)[0]
        return DocumentQuery(self, object_type, collection_name)

    def _query_value(self, value: Any) -> Any:
        # One encoder for fields and parameters, this store's hooks included (SPEC D2).
        return self._codec.json_value(value)

    def _execute_query(
        self, query: Query, object_type: type[Any] | None, tracking: bool
    ) -> tuple[list[Any], QueryStatistics]:
        self._check_open()
        if query.includes:
            self._check_tracking("includes")
        SessionEvents.fire(self._events.before_query, BeforeQueryEventArgs(self, query))
        self._request()
        result = self._storage.query(query)
        if result.projections is not None:  # projections are never tracked
            cls = object_type if object_type is not dict else None
            projected = [self._codec.build(p, cls) for p in result.projections]
            if result.includes and not self._no_tracking:
                self._remember_includes(result.includes)
            return projected, result.statistics
        entities = []
        track = tracking and not self._no_tracking
        for record in result.records:
            key = document_key(record.id)
            if not self._no_tracking:
                state = self._map.by_id(key)
                if state is not None:
                    if not state.deleted:  # local edits win; pending deletes drop out (S2)
                        entities.append(state.entity)
                    continue
                if key in self._map.deletes_by_id:
                    continue
            entities.append(self._materialize(record, object_type, track))
        if result.includes and not self._no_tracking:
            self._remember_includes(result.includes)
        return entities, result.statistics


def _prefix_collection(document_id: str | None, separator: str) -> str:
    """The collection of a dict entity: its id's prefix (D4), or ``@empty``."""
    if document_id and separator in document_id:
        prefix = document_id.split(separator, 1)[0]
        if prefix:
            return prefix
    return "@empty"


class Advanced:
    """``session.advanced``: the rest of the session API, as in the RavenDB client."""

    def __init__(self, session: DocumentSession) -> None:
        self._session = session

    @property
    def has_changes(self) -> bool:
        """True when ``save_changes()`` would write anything (a property, as RavenDB's docs
        show it; code for the RavenDB 7.2 client that calls ``has_changes()`` should call
        ``session.has_changes()``)."""
        return self._session.has_changes()

    def has_changed(self, entity: object) -> bool:
        """True when ``save_changes()`` would write or delete ``entity`` (S13)."""
        s = self._session
        s._check_open()
        state = s._map.by_entity(entity)
        if state is None:
            return False
        return bool(s._compute([state], ()))

    def what_changed(self, as_patch: bool = False) -> dict[str, Any]:
        """What ``save_changes()`` would write, per document id: a list of
        ``DocumentsChanges`` (S11, S12), or with ``as_patch=True`` an RFC 6902 JSON Patch."""
        s = self._session
        s._check_open()
        return describe(s._compute(), as_patch)

    def what_changed_for(self, entity: object) -> list[DocumentsChanges]:
        """The changes of one entity (empty when untracked, ignored or unchanged)."""
        s = self._session
        s._check_open()
        state = s._map.by_entity(entity)
        if state is None:
            return []
        changes: list[DocumentsChanges] = []
        for entries in describe(s._compute([state], ())).values():
            changes.extend(entries)
        return changes

    def ignore_changes_for(self, entity: object) -> None:
        self._session.ignore_changes_for(entity)

    def evict(self, entity: object) -> None:
        """Forget ``entity``: unsaved changes and a pending delete of it are dropped (S17)."""
        s = self._session
        s._check_open()
        state = s._map.by_entity(entity)
        if state is not None:
            s._map.remove(state)
            s._map.missing.discard(state.key)

    def clear(self) -> None:
        """Forget every entity, pending delete and known-missing id."""
        s = self._session
        s._check_open()
        s._map.clear()
        s._included.clear()

    def refresh(self, entity: T) -> T:
        """Reload ``entity`` in place from storage (one request), dropping local edits."""
        s = self._session
        s._check_open()
        state = s._map.by_entity(entity)
        if state is None:
            raise InvalidOperationError("cannot refresh an entity the session does not track")
        s._request()
        record = s._storage.get([state.id]).documents.get(state.key)
        if record is None:
            raise DocumentNotFoundError(f"document {state.id!r} no longer exists in storage")
        fresh, metadata, extras = s._decode(record, type(entity))
        s._codec.refresh_in_place(entity, fresh)
        held = extras.pop(id(fresh), None)
        if held is not None:
            extras[id(entity)] = (entity, held[1])
        state.metadata = metadata
        state.metadata_shared = False  # a dict of its own, just decoded
        state.extras = extras or None
        state.snapshot = record.data
        state.change_vector = record.change_vector
        state.last_modified = record.last_modified
        state.deleted = False
        state.ignore_changes = False
        return entity

    def _state(self, entity: object) -> DocumentState:
        s = self._session
        s._check_open()
        state = s._map.by_entity(entity)
        if state is None:
            raise InvalidOperationError(
                f"this {type(entity).__qualname__} is not tracked by the session"
            )
        return state

    def get_metadata_for(self, entity: object) -> MetadataDictionary:
        """The live ``@metadata`` of a tracked entity; edits to it are saved."""
        return MetadataDictionary(self._state(entity))

    def get_change_vector_for(self, entity: object) -> str | None:
        return self._state(entity).change_vector

    def get_last_modified_for(self, entity: object) -> str | None:
        return self._state(entity).last_modified

    def get_document_id(self, entity: object) -> str | None:
        s = self._session
        state = s._map.by_entity(entity)
        return state.id if state is not None else None

    def is_loaded(self, document_id: str) -> bool:
        """True when ``load(document_id)`` would return an entity without a request."""
        state = self._session._map.by_id(validate_id(document_id))
        return state is not None and not state.deleted

    def exists(self, document_id: str) -> bool:
        """Whether the document exists; a request unless the session already knows."""
        s = self._session
        s._check_open()
        known, entity = s._known(validate_id(document_id).lower())
        if known:
            return entity is not None
        s._request()
        return document_key(document_id) in s._storage.get([document_id]).documents

    def get_tracked_entities(self) -> dict[str, Any]:
        """Tracked entities (not deleted) by document id."""
        return {
            state.id: state.entity for state in self._session._map.states() if not state.deleted
        }

    @property
    def number_of_requests(self) -> int:
        return self._session.number_of_requests

    @property
    def max_number_of_requests_per_session(self) -> int:
        return self._session.max_number_of_requests_per_session

    @max_number_of_requests_per_session.setter
    def max_number_of_requests_per_session(self, value: int) -> None:
        self._session.max_number_of_requests_per_session = value

    @property
    def use_optimistic_concurrency(self) -> bool:
        return self._session._concurrency_mode is not OptimisticConcurrencyMode.NONE

    @use_optimistic_concurrency.setter
    def use_optimistic_concurrency(self, value: bool) -> None:
        s = self._session
        if value and s._no_tracking:
            raise InvalidOperationError("a no-tracking session cannot use optimistic concurrency")
        if not value:
            s._concurrency_mode = OptimisticConcurrencyMode.NONE
        elif s._concurrency_mode is OptimisticConcurrencyMode.NONE:
            s._concurrency_mode = OptimisticConcurrencyMode.WRITES

    @property
    def optimistic_concurrency_mode(self) -> OptimisticConcurrencyMode:
        return self._session._concurrency_mode

    @optimistic_concurrency_mode.setter
    def optimistic_concurrency_mode(self, mode: OptimisticConcurrencyMode) -> None:
        s = self._session
        if mode is not OptimisticConcurrencyMode.NONE and s._no_tracking:
            raise InvalidOperationError("a no-tracking session cannot use optimistic concurrency")
        s._concurrency_mode = OptimisticConcurrencyMode(mode)

    def raw_query(self, query: str, object_type: type[T] | None = None) -> RawDocumentQuery[T]:
        """An RQL query (``from Employees where first_name = $name``); see ``rookdb.rql``."""
        self._session._check_open()
        return RawDocumentQuery(self._session, object_type, query)

    def document_query(
        self,
        object_type: type[T] | None = None,
        collection_name: str | None = None,
        index_name: str | None = None,
    ) -> DocumentQuery[T]:
        return self._session.query(object_type, collection_name, index_name)

    def load_starting_with(
        self,
        id_prefix: str,
        object_type: type[T] | None = None,
        start: int = 0,
        page_size: int = 25,
    ) -> list[T]:
        """Documents whose id starts with ``id_prefix``, in id order (one request)."""
        s = self._session
        s._check_open()
        validate_id(id_prefix)
        check_count(start, "start")
        check_count(page_size, "page_size")
        s._request()
        entities = []
        for record in s._storage.get_prefix(id_prefix, start, page_size):
            state = s._map.by_id(record.id) if not s._no_tracking else None
            if state is not None:
                if not state.deleted:
                    entities.append(state.entity)
                continue
            entities.append(s._materialize(record, object_type, not s._no_tracking))
        return entities

    # Session events, on the session only.
    def add_before_store(self, handler: Callable[[BeforeStoreEventArgs], None]) -> None:
        self._session.add_before_store(handler)

    def add_after_save_changes(self, handler: Callable[[AfterSaveChangesEventArgs], None]) -> None:
        self._session.add_after_save_changes(handler)

    def add_before_delete(self, handler: Callable[[BeforeDeleteEventArgs], None]) -> None:
        self._session.add_before_delete(handler)

    def add_before_query(self, handler: Callable[[BeforeQueryEventArgs], None]) -> None:
        self._session.add_before_query(handler)
