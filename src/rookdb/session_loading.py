"""The session's reads by id: ``load`` (with includes), ``load_starting_with``, conditional
loads, reloads (``refresh``), and building the session's entities from stored documents.

``SessionLoading`` is a part of ``DocumentSession`` (it inherits it), kept in a module of its
own as ``SessionQueries`` is: a mixin's method costs ``load(id)`` (issue 18's hot path) no
Python call more than the session's own would. Each read is split around its one storage call
(``_plan_one`` / ``_finish_one``, ``_plan_load`` / ``_load_read`` / ``_finish_load``,
``_prefix_read`` / ``_prefix_entities``, ``_conditional_loaded``, ``_reloaded``) so that the
async session (``rookdb.async_session``) and the lazy operations (``rookdb.lazy``) run the same
steps around their own call. What the session already knows (tracked, deleted, known missing,
or delivered by an include) costs no request.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

from rookdb.arguments import check_class
from rookdb.ids import validate_id, validate_ids
from rookdb.includes import LoaderWithInclude, check_include_path, include_spec
from rookdb.storage.records import (
    ConditionalGetResult,
    DocumentRecord,
    GetResult,
    IdsRead,
    PrefixRead,
)
from rookdb.storage.starting_with import check_prefix_read

if TYPE_CHECKING:
    from rookdb.counters import SessionCounters
    from rookdb.materializer import Materializer
    from rookdb.serialization.entities import EntityCodec
    from rookdb.serialization.layouts import Extras
    from rookdb.session import DocumentSession
    from rookdb.storage.base import Storage
    from rookdb.tracking.identity_map import IdentityMap
    from rookdb.tracking.state import DocumentState

__all__ = ["SessionLoading"]

T = TypeVar("T")


class SessionLoading:
    """``DocumentSession``'s loading methods (see the module's docstring)."""

    if TYPE_CHECKING:  # what they use of the session, which defines it all
        _storage: Storage
        _codec: EntityCodec
        _map: IdentityMap
        _materializer: Materializer
        _included: dict[str, DocumentRecord]
        _counters: SessionCounters
        _no_tracking: bool
        _closed: bool

        def _check_open(self) -> None: ...
        def _check_tracking(self, what: str) -> None: ...
        def _request(self) -> None: ...

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
        # ``_plan_one`` called, not inlined: the sync and async sessions share its rule (what
        # the session answers itself, the request counted); inline it saved ~1% of a load.
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
        if object_type is not None and not isinstance(object_type, type):
            check_class(object_type)  # (inline first: the hot path of load(id, Class))
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
        plan = self._plan_load(ids, object_type)
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

    def _plan_load(
        self, ids: list[str], object_type: type[Any] | None = None
    ) -> tuple[dict[str, str], dict[str, Any], list[str]]:
        """What a load of ``ids`` (as ``object_type``) needs: the caller's first spelling of
        each key, what the session answers itself (tracked, deleted, known missing), and the
        keys to read."""
        validate_ids(ids)
        check_class(object_type)
        keys = list(map(str.lower, ids))  # (``map``: no Python frame per id)
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
            if all(map(documents.__contains__, wanted)):  # every key found: the common case
                keys = wanted
            else:
                keys = [key for key in wanted if key in documents]
                if track:
                    for key in wanted:
                        if key not in documents:
                            self._map.mark_missing(key)
            records = list(map(documents.__getitem__, keys))
            found.update(
                zip(keys, self._materialize_many(records, object_type, track), strict=True)
            )
            if paths:
                self._remember_includes(result.includes)
        # {caller's spelling: entity or None}, built in C (``spelling`` is in the ids' order).
        return dict(zip(spelling.values(), map(found.get, spelling), strict=True))

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
        read = self._prefix_read(
            id_prefix, matches, start, page_size, exclude, start_after, object_type
        )
        return self._load_prefix(read, object_type)

    def include(self, path: str) -> LoaderWithInclude:
        """Load documents together with those ``path`` references, in one request."""
        self._check_open()
        self._check_tracking("include")
        return LoaderWithInclude(cast("DocumentSession", self), check_include_path(path))

    # -- load_starting_with and streams ------------------------------------------------------

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
        object_type: type[Any] | None,
    ) -> PrefixRead:
        """``load_starting_with``'s arguments, checked (``rookdb.storage.starting_with``)."""
        if not isinstance(id_prefix, str):
            validate_id(id_prefix)  # not a str: an InvalidIdError
        check_class(object_type)
        read = PrefixRead(
            id_prefix, start, page_size, matches or "", exclude or "", start_after or ""
        )
        return check_prefix_read(read)

    # -- conditional loads -------------------------------------------------------------------

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

    # -- reads of session.advanced: exists, refresh ------------------------------------------

    def _fetch(self, ids: Sequence[str]) -> GetResult:
        """Read ``ids`` from storage: one request of the budget."""
        self._request()
        return self._storage.get(ids)

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
