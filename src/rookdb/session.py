"""``DocumentSession``: a unit of work with an identity map and change tracking (SPEC §3).

The session orchestrates; the parts do the work. ``tracking`` (pure) knows what is tracked and
what changed, ``serialization`` turns entities into canonical JSON and back, and the one
``Storage`` it was given (SPEC B1) is the only way it reaches data. Every storage round trip
goes through ``_request`` (the request budget of S18).

``DocumentSession`` is split by concern into mixins it inherits, each a module of its own:
``SessionLoading`` (``rookdb.session_loading``: ``load``, includes, ``load_starting_with``,
conditional loads, reloads, building entities), ``SessionQueries`` (``rookdb.session_queries``),
``SessionLazy`` (``rookdb.lazy``: the pending lazy operations) and ``EventRegistration``
(``rookdb.events``). This module keeps the session itself: its state and lifecycle, the request
budget, ``store``/``delete``, and the change and save path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from rookdb import saving
from rookdb.advanced import Advanced
from rookdb.arguments import check_change_vector, check_choice
from rookdb.conventions import DocumentConventions, dict_collection_name
from rookdb.counters import SessionCounters, SessionDocumentCounters
from rookdb.deferred import Deferred
from rookdb.errors import (
    InvalidOperationError,
    SerializationError,
    TooManyRequestsError,
)
from rookdb.events import (
    EventRegistration,
    SessionEvents,
)
from rookdb.ids import shown_id, validate_collection_name, validate_id
from rookdb.lazy import LazyOperation, SessionLazy
from rookdb.materializer import Materializer
from rookdb.options import OptimisticConcurrencyMode, SessionOptions
from rookdb.revisions import ForcedRevisions
from rookdb.serialization.encoding import check_depth, written_as_is
from rookdb.serialization.entities import EntityCodec
from rookdb.session_loading import SessionLoading
from rookdb.session_queries import SessionQueries
from rookdb.storage.records import DocumentRecord
from rookdb.tracking.identity_map import IdentityMap, PendingDelete
from rookdb.tracking.state import READ_ONLY_METADATA, DocumentState
from rookdb.tracking.unit_of_work import Change, Encoding, iter_changes

if TYPE_CHECKING:
    from rookdb.serialization.type_registry import TypeRegistry
    from rookdb.storage.base import Storage
    from rookdb.store import DocumentStore

__all__ = ["DocumentSession"]

_SCALARS = (str, bytes, bytearray, int, float, bool, list, tuple, set, frozenset)

#: What ``store()`` keeps of a class: its collection, its new documents' metadata (the
#: store's, shared) and the setter of its identity property (None: nowhere to write).
_StoredClass = tuple[str, dict[str, Any], Callable[[Any, str], None] | None]


class DocumentSession(SessionLoading, SessionQueries, SessionLazy, EventRegistration):
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
        # The classes this session stored entities of: (collection, metadata) from the store,
        # and the setter of the identity property (``EntityCodec.assigner``).
        self._stored_classes: dict[type, _StoredClass] = {}
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

    def counters_for(self, entity_or_id: Any) -> SessionDocumentCounters:
        """The counters of a document (an entity the session tracks, or an id): RavenDB's
        ``SessionDocumentCounters`` (``rookdb.counters``)."""
        return SessionDocumentCounters(self, entity_or_id)

    def counters_for_entity(self, entity: object) -> SessionDocumentCounters:
        """``counters_for`` of a tracked entity (RavenDB's name)."""
        return SessionDocumentCounters(self, entity)

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
        if change_vector is not None:
            check_change_vector(change_vector)
        state = self._map.by_entity(entity)
        if state is not None:
            if state.deleted:
                raise InvalidOperationError(
                    f"cannot store {shown_id(state.id)}: it was deleted in this session"
                )
            if key is not None and key.lower() != state.key:
                raise InvalidOperationError(
                    f"this entity is already stored as {shown_id(state.id)}; "
                    f"it cannot also be {shown_id(key)}"
                )
            if change_vector is not None:
                state.expect_change_vector(change_vector)
            return
        document_id: str | None = key
        # A class this session stored before: its collection, metadata and identity setter,
        # one lookup.
        info = self._stored_classes.get(type(entity))
        assign: Callable[[Any, str], None] | None = None
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
            collection, metadata, assign = info
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
                f"cannot store {shown_id(document_id)}: a deferred command (a "
                "patch, defer()) writes it in this session's next save"
            )
        state = DocumentState(entity, document_id, collection, metadata, metadata_shared=shared)
        # Refuses an id another object holds (NonUniqueObjectError) before changing anything.
        self._map.track_new(state, change_vector)
        if document_id and document_id[-1] not in "/|":  # not ``state.completed_by_storage``
            if info is None:
                self._codec.set_identity(entity, document_id)
            elif assign is not None:
                # ``set_identity`` with the class's setter found once: an object that refuses
                # the write keeps its id in the session only. (Not ``contextlib.suppress``:
                # two Python calls more per store.)
                try:  # noqa: SIM105
                    assign(entity, document_id)
                except (AttributeError, TypeError):
                    pass

    def _stored_class(self, entity: object) -> _StoredClass:
        """The collection, metadata and identity setter of ``entity``'s class (not a dict),
        remembered for the session's next ``store()`` of one; what cannot be an entity is
        refused (whether it can is a matter of its class: ``callable`` and ``isinstance`` ask
        the class)."""
        if entity is None or isinstance(entity, _SCALARS) or callable(entity):
            raise SerializationError(
                f"cannot store a {type(entity).__qualname__}: an entity is an object or a dict"
            )
        cls = type(entity)
        collection, metadata = self._store.type_info(cls)
        info = self._stored_classes[cls] = (collection, metadata, self._codec.assigner(cls))
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
        if expected_change_vector is not None:
            check_change_vector(expected_change_vector, "expected_change_vector")
        if entity_or_id is None or isinstance(entity_or_id, _SCALARS):  # nothing an entity can be
            document_id = validate_id(entity_or_id)
            state = self._map.by_id(document_id)
            if state is None:
                key = self._map.delete_by_id(document_id, expected_change_vector)
                self._included.pop(key, None)
                return
            if not state.deleted and self._compute([state], ()):
                raise InvalidOperationError(
                    f"cannot delete {shown_id(document_id)} by id: its entity has "
                    "unsaved changes in this session; delete the entity, or evict it first"
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
        # Most documents' bytes hide no invalid value and nest shallowly: one call says so,
        # and they are written as encoded (once per document a save writes).
        if written_as_is(data):
            return data
        # The values (``encode_checked`` looks again only at bytes that could hide an invalid
        # one), then the depth.
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
            Encoding(self._codec.encode, self._codec.in_order),
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
    # ``_check_open``, ``_compute``, and the reads of ``rookdb.session_loading``: ``_fetch``,
    # ``_reload``, ``_conditional_load``); each keeps the session's rules (the request budget,
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
            _, metadata, _ = self._stored_class(entity)  # what cannot be an entity: refused
        state = DocumentState(entity, document_id, "", dict(metadata))
        return self._encode_checked(state)

    def _forget_all(self) -> None:
        """Forget every entity, pending delete, known-missing id, included document and
        pending lazy operation."""
        self._map.clear()
        self._included.clear()
        self._pending_lazy.clear()
        self._deferred.clear()
        self._counters.clear()

    def _set_concurrency_mode(self, mode: OptimisticConcurrencyMode) -> None:
        mode = check_choice(OptimisticConcurrencyMode, mode, "optimistic_concurrency_mode")
        if mode is not OptimisticConcurrencyMode.NONE and self._no_tracking:
            raise InvalidOperationError("a no-tracking session cannot use optimistic concurrency")
        self._concurrency_mode = mode
