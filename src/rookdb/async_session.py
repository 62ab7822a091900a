"""``AsyncDocumentSession``: the session for an event loop (issue 17), RavenDB's
``OpenAsyncSession``.

It owns a ``DocumentSession`` and is a thin layer over it: one tracking engine, so
``has_changes``, ``what_changed`` and ``save_changes`` agree in both (S4). Each awaited method
calls the sync session's own steps around its one storage call (``_plan_one`` / ``_finish_one``,
``_load_read`` / ``_finish_load``, ``saving._plan`` / ``saving._saved``...), and awaits only that
call, which ``AsyncStorage`` runs on the loop over the driver's async I/O (PostgreSQL, http) or
in a worker thread (SQLite, memory). What does no I/O (``store``, ``delete``,
``has_changes``, ``evict``...) is the sync session's method, not awaited, as in RavenDB's .NET
async session; ``advanced`` (``rookdb.async_advanced``) is the sync session's with its reads
awaited.

Cancellation of ``save_changes``: a cancelled save waits for the write (the wait is shielded),
the session learns what was committed, and then ``CancelledError`` propagates: after a
cancelled save the session agrees with the database (``has_changes()`` is False when it
committed). If the write itself is cancelled (every task cancelled, as ``asyncio.run`` does at
its end), storage stops it where it waits but never in its commit (``AsyncStorage``), so the
write either wrote nothing or returned its result, and the session knows which. Where the
backend itself cannot know (the http backend losing the connection mid-request) the error is
``OutcomeUnknownError``, as for the sync session.

A ``Lazy``'s ``value`` read on the loop before ``await
advanced.eagerly.execute_all_pending_lazy_operations()`` is ``InvalidOperationError`` (it would
block the loop). ``store`` of an entity without an id never waits for a new HiLo range on the
loop: the entity is then tracked under the provisional id ``employees/`` (its HiLo prefix and
"/", an id storage would complete, so several can wait at once) and gets its HiLo id at the next
``save_changes``, which reserves the range in a worker thread (``store``'s docstring). The
tracking engine sees it as any new entity: ``what_changed`` lists it (under ``employees/``),
``has_changed`` and ``has_changes`` count it, ``delete``/``evict``/``clear`` forget it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from rookdb import saving
from rookdb.async_advanced import AsyncAdvanced, AsyncDocumentCounters
from rookdb.errors import InvalidOperationError, OutcomeUnknownError
from rookdb.facet_query import AggregationDocumentQuery, AsyncAggregationDocumentQuery
from rookdb.includes import LoaderWithInclude, check_include_path
from rookdb.query import count_of, first_of, single_of
from rookdb.query_group_by import GroupByDocumentQuery
from rookdb.session import DocumentSession
from rookdb.storage.async_storage import AsyncStorage

if TYPE_CHECKING:
    from rookdb.events import SessionEvents
    from rookdb.options import SessionOptions
    from rookdb.query import DocumentQuery, Query, QueryStatistics
    from rookdb.serialization.entities import EntityCodec
    from rookdb.serialization.type_registry import TypeRegistry
    from rookdb.storage.base import Storage
    from rookdb.store import DocumentStore
    from rookdb.tracking.state import DocumentState

__all__ = ["AsyncDocumentQuery", "AsyncDocumentSession", "LoopSession"]

T = TypeVar("T")


class _IdOnTheLoop:
    """The ``id_for`` of a ``LoopSession``: the store's HiLo id where that takes no request; on
    the event loop, when the generator needs a new range, the provisional id ``<prefix>/``
    instead, and ``provisional`` says it gave one (``LoopSession.store`` reads it). It holds the
    store's generator, never the session: no reference cycle."""

    __slots__ = ("_make", "provisional")

    def __init__(self, make: Callable[..., str | None]) -> None:
        self._make = make
        self.provisional = False

    def __call__(self, database: str, entity: Any, collection: str) -> str:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a thread (save_changes's, the suite's facade): it may wait
            found = self._make(database, entity, collection)
            assert found is not None  # allowed to wait, the generator always gives one
            return found
        found = self._make(database, entity, collection, False)
        if found is None:
            # The prefix HiLoIdGenerator.next_id gives the id, and always "/": an id storage
            # would complete (``DocumentState.completed_by_storage``), never keyed in the
            # identity map, so several entities can wait at once.
            found = f"{collection.lower()}/"
            self.provisional = True
        return found


class LoopSession(DocumentSession):
    """The ``DocumentSession`` an ``AsyncDocumentSession`` owns: the sync session's own steps,
    but nothing it does unawaited waits for I/O on the event loop. Its ``store`` (the facade's,
    or a caller's of ``.session``) leaves an entity whose HiLo range must be reserved waiting
    for its id (``_awaiting_id``: the facade's ``save_changes`` gives those, in this order);
    a ``Lazy``'s value read on the loop before its operations ran is refused."""

    def __init__(
        self,
        store: DocumentStore,
        database: str,
        storage: Storage,
        options: SessionOptions,
        codec: EntityCodec,
        types: TypeRegistry,
        events: SessionEvents,
        id_for: Callable[..., str | None],
    ) -> None:
        self._loop_ids = ids = _IdOnTheLoop(id_for)
        super().__init__(store, database, storage, options, codec, types, events, ids)
        # The states tracked under a provisional id (``employees/``) while they wait for a
        # HiLo id: the session, not storage, completes these at the next save_changes, in this
        # order. One evicted, deleted or cleared meanwhile is skipped there (the list only
        # marks; the identity map says what is tracked).
        self._awaiting_id: list[DocumentState] = []

    def store(
        self, entity: object, key: str | None = None, change_vector: str | None = None
    ) -> None:
        """``DocumentSession.store``; on the loop, an entity left waiting for its HiLo id is
        marked so (``AsyncDocumentSession.store``)."""
        ids = self._loop_ids
        ids.provisional = False
        try:
            super().store(entity, key, change_vector)
            if ids.provisional:
                state = self._map.by_entity(entity)
                assert state is not None  # store tracked it, or raised
                self._awaiting_id.append(state)
        finally:
            ids.provisional = False

    def _execute_lazy(self) -> None:
        """A ``Lazy``'s ``value`` read before its operations ran. On the event loop that would
        block the loop with a request, so it is refused; elsewhere (a worker thread) it runs
        them as the sync session does."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            super()._execute_lazy()
            return
        raise InvalidOperationError(
            "a Lazy's value was read before its operations ran: await "
            "session.advanced.eagerly.execute_all_pending_lazy_operations() first (reading it "
            "would block the event loop with a request)"
        )


class AsyncDocumentSession:
    """A unit of work over one database, for one task at a time.

    >>> async with store.open_async_session() as session:          # doctest: +SKIP
    ...     employee = await session.load("employees/1-A", Employee)
    ...     employee.last_name = "Kingsley"
    ...     await session.save_changes()
    """

    def __init__(self, session: LoopSession, storage: AsyncStorage) -> None:
        # The facade holds the session, never the other way: no reference cycle, so a session
        # dropped without close() is freed at once, with its identity map.
        self.session = session
        self._storage = storage
        self.ignore_changes_for = session.ignore_changes_for
        self.delete = session.delete
        self.has_changes = session.has_changes
        self.close = session.close

    def store(
        self, entity: object, key: str | None = None, change_vector: str | None = None
    ) -> None:
        """``DocumentSession.store``, not awaited: no I/O on the event loop. An entity given
        no id gets a HiLo id at once when the store's generator has a number left. When a new
        range must be reserved, it is tracked under the provisional id ``employees/`` and gets
        its HiLo id at the next ``save_changes``, which reserves the range off the loop. Until
        then it is a new entity like any other, as one stored under an id storage completes:
        ``what_changed()`` lists it under ``employees/``, ``has_changed(entity)`` and
        ``has_changes()`` count it, ``get_document_id`` is ``employees/``, its identity
        property (``Id``) stays unset, ``delete`` or ``advanced.evict`` just forget it."""
        self.session.store(entity, key, change_vector)

    async def __aenter__(self) -> AsyncDocumentSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.session.close()

    @property
    def advanced(self) -> AsyncAdvanced:
        """The sync session's ``advanced`` with its reads awaited (``rookdb.async_advanced``):
        ``await refresh``, ``await exists``, ``await conditional_load``, attachments' reads,
        ``eagerly``; the rest (``what_changed``, ``evict``, ``clear``...) is not awaited.
        A view made on each access (it holds nothing of its own), so the session holds no
        reference cycle."""
        return AsyncAdvanced(self)

    def counters_for(self, entity_or_id: Any) -> AsyncDocumentCounters:
        """The counters of a document: ``increment``/``delete`` queue, ``get``s are awaited."""
        return AsyncDocumentCounters(self, entity_or_id)

    def counters_for_entity(self, entity: object) -> AsyncDocumentCounters:
        return AsyncDocumentCounters(self, entity)

    def include(self, path: str) -> LoaderWithInclude:
        """``await session.include("company_id").load("employees/1-A")``."""
        self.session._check_open()
        self.session._check_tracking("include")
        path = check_include_path(path)
        return LoaderWithInclude(self, path)  # type: ignore[arg-type]  # its load: awaited

    @property
    def number_of_requests(self) -> int:
        return self.session.number_of_requests

    @property
    def database(self) -> str:
        return self.session.database

    # -- reads -------------------------------------------------------------------------------

    async def load(self, id_or_ids: Any, object_type: Any = None, includes: Any = None) -> Any:
        """``DocumentSession.load``, awaited: an entity (or None) for one id, a dict id →
        entity for several."""
        s = self.session
        ids, paths, counters = s._load_args(id_or_ids, includes)
        if ids is None:
            key, done, entity = s._plan_one(id_or_ids, object_type)
            if done:
                return entity
            result = await self._storage.call(s._storage.get, (id_or_ids,))
            return s._finish_one(key, result, object_type)
        plan = s._plan_load(ids, object_type)
        read = s._load_read(plan, paths, counters)
        got = None if read is None else await self._storage.call(read)
        found = s._finish_load(plan, got, object_type, paths, counters)
        return found[id_or_ids] if isinstance(id_or_ids, str) else found

    async def load_starting_with(
        self,
        id_prefix: str,
        object_type: type[T] | None = None,
        matches: str | None = None,
        start: int = 0,
        page_size: int = 25,
        exclude: str | None = None,
        start_after: str | None = None,
    ) -> list[T]:
        """``DocumentSession.load_starting_with``, awaited."""
        s = self.session
        s._check_open()
        read = s._prefix_read(
            id_prefix, matches, start, page_size, exclude, start_after, object_type
        )
        s._request()
        records = await self._storage.call(s._storage.get_prefix, *read)
        return s._prefix_entities(records, object_type)

    def query(
        self,
        object_type: type[T] | None = None,
        collection_name: str | None = None,
        index_name: str | None = None,
    ) -> AsyncDocumentQuery[T]:
        """``DocumentSession.query``; the query's results are awaited."""
        return AsyncDocumentQuery(
            self, self.session.query(object_type, collection_name, index_name)
        )

    async def _execute_query(
        self, built: Query, object_type: type[Any] | None, tracking: bool
    ) -> tuple[list[Any], QueryStatistics]:
        """``DocumentSession._execute_query``, awaited."""
        s = self.session
        s._before_query(built)
        s._request()
        result = await self._storage.call(s._storage.query, built)
        return s._query_results(result, object_type, tracking, built.counters)

    # -- save --------------------------------------------------------------------------------

    async def save_changes(self) -> None:
        """``DocumentSession.save_changes``, awaited: one atomic batch, or nothing.

        Cancelled while storage writes, it waits for the write to end and learns its result
        first, then raises ``CancelledError``: the session agrees with the database. Where the
        backend cannot know whether the batch was written (``OutcomeUnknownError``: a server's
        answer lost), that error is raised, cancelled or not, and the session still holds the
        changes as unsaved."""
        s = self.session
        s._check_open()
        await self._give_awaited_ids()
        planned = saving._plan(s)
        if planned is None:
            return
        sent, batch = planned
        commands = list(batch)  # encoded here, on the loop, before anything is sent
        s._request()
        write = asyncio.ensure_future(self._storage.call(s._storage.apply, commands))
        cancelled = False
        while not write.done():
            try:
                await asyncio.shield(write)
            except asyncio.CancelledError:
                cancelled = True  # the write goes on: wait for its outcome
            except BaseException:
                break  # the write's own error, raised below
        if write.cancelled():
            # The write itself was cancelled (the loop shutting down): storage stopped it
            # before its commit, which is never interrupted (``AsyncStorage``): nothing written.
            raise asyncio.CancelledError
        error = write.exception()
        if error is None:
            saving._saved(s, sent, write.result())
        elif isinstance(error, OutcomeUnknownError):
            raise error  # even if cancelled: the caller must learn the batch may be written
        if cancelled:
            raise asyncio.CancelledError  # the session knows the outcome: all or nothing
        if error is not None:
            raise error

    async def _give_awaited_ids(self) -> None:
        """Give each entity still waiting for its HiLo id (``store``) its id, in store order,
        as ``finalize_save`` gives storage-completed ones theirs: the state's id and the
        entity's identity property."""
        s = self.session
        waiting = s._awaiting_id
        while waiting:
            state = waiting[0]
            if self._still_waiting(state):
                # In a worker thread: where the generator has no number left it reserves a
                # range (one request), which must not wait on the loop.
                document_id = await self._storage.call(
                    s._store._next_id, s._database, state.entity, state.collection
                )
                # Evicted or cleared while the range was reserved: it needs the id no more.
                if self._still_waiting(state):
                    s._map.give_id(state, document_id)
                    s._codec.set_identity(state.entity, document_id)
            del waiting[0]

    def _still_waiting(self, state: DocumentState) -> bool:
        """Whether ``state`` is still tracked under its provisional id (not evicted, cleared
        or forgotten by ``delete``, which forgets an id storage would complete)."""
        return (
            self.session._map.by_entity(state.entity) is state
            and not state.deleted
            and state.completed_by_storage
        )


class AsyncDocumentQuery(Generic[T]):
    """A ``DocumentQuery`` whose results are awaited (``to_list``, ``first``, ``single``,
    ``count``, ``any``, ``async for``). Its builder methods (``where_equals``, ``order_by``...)
    are the ``DocumentQuery``'s; each returns this query."""

    def __init__(self, session: AsyncDocumentSession, query: DocumentQuery[T]) -> None:
        self._session = session
        self._query = query

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._query, name)
        if not callable(method):
            return method

        def build(*args: Any, **kwargs: Any) -> Any:
            got = method(*args, **kwargs)
            if got is self._query or type(got) is type(self._query):
                self._query = got
                return self
            if isinstance(got, GroupByDocumentQuery):  # its selects hand back this query
                return got.handing_back(self)
            if isinstance(got, AggregationDocumentQuery):  # aggregate_by: awaited too
                return AsyncAggregationDocumentQuery(self._session, got)
            return got

        return build

    async def _run(self, built: Query) -> list[T]:
        query = self._query
        execute = self._session._execute_query
        found, stats = await execute(built, query._object_type, query._tracking)
        wait = query._stale_wait()
        while wait is not None and (pause := wait.next_pause(stats)) is not None:
            await asyncio.sleep(pause)
            found, stats = await execute(built, query._object_type, query._tracking)
        return query._report(found, stats)

    async def to_list(self) -> list[T]:
        return await self._run(self._query.to_query())

    async def __aiter__(self) -> AsyncIterator[T]:
        for item in await self.to_list():
            yield item

    async def first(self) -> T:
        return first_of(await self._run(dataclasses.replace(self._query.to_query(), take=1)))

    async def first_or_default(self, default: T | None = None) -> T | None:
        found = await self._run(dataclasses.replace(self._query.to_query(), take=1))
        return found[0] if found else default

    async def single(self) -> T:
        return single_of(await self._run(dataclasses.replace(self._query.to_query(), take=2)))

    async def count(self) -> int:
        """How many documents match (one request; no documents are transferred)."""
        built = self._query.to_query()
        _, stats = await self._session._execute_query(
            dataclasses.replace(built, take=0), self._query._object_type, False
        )
        return count_of(built)([], stats)

    async def any(self) -> bool:
        return await self.count() > 0
