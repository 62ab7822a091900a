"""``AsyncDocumentSession.advanced``: the sync session's ``advanced`` with its reads awaited
(issue 17), RavenDB .NET's ``IAsyncAdvancedSessionOperations``.

Everything that does no I/O (``what_changed``, ``evict``, ``clear``, metadata, ``lazily``,
``defer``, patches...) is the sync ``Advanced``'s own attribute, reached through
``__getattr__``. Awaited here: ``refresh``, ``exists``, ``conditional_load``,
``load_starting_with``, ``eagerly.execute_all_pending_lazy_operations``, the reads of
``attachments`` (``get``, ``exists``), and ``stream``/``stream_starting_with`` (async
iterators). Each calls the sync code's own steps around its one
storage call, as ``rookdb.async_session`` does.
"""

from __future__ import annotations

import collections
import functools
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from rookdb.advanced import ConditionalLoadResult
from rookdb.async_attachments import AsyncAttachments
from rookdb.counters import SessionDocumentCounters
from rookdb.lazy import finish_pending, plan_pending
from rookdb.storage.async_storage import OwnThread
from rookdb.streaming import StreamIterator, StreamResult

if TYPE_CHECKING:
    from rookdb.async_session import AsyncDocumentSession

__all__ = [
    "AsyncAdvanced",
    "AsyncAttachments",
    "AsyncDocumentCounters",
    "AsyncEagerOperations",
    "AsyncStream",
]

T = TypeVar("T")
R = TypeVar("R")


class AsyncAdvanced:
    """``session.advanced`` of an ``AsyncDocumentSession``."""

    def __init__(self, session: AsyncDocumentSession) -> None:
        self._async = session
        self._sync = session.session.advanced

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sync, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:  # a setting (max_number_of_requests_per_session...) of the sync advanced
            setattr(self._sync, name, value)

    async def refresh(self, entity: T) -> T:
        """Reload ``entity`` in place from storage (one request), dropping local edits."""
        state = self._sync._refreshing(entity)
        session = self._async.session
        session._request()
        result = await self._async._storage.call(session._storage.get, [state.id])
        self._sync._refreshed(state, session._reloaded(state, result))
        return entity

    async def exists(self, document_id: str) -> bool:
        """Whether the document exists; a request unless the session already knows."""
        known = self._sync._known_exists(document_id)
        if known is not None:
            return known
        session = self._async.session
        session._request()
        result = await self._async._storage.call(session._storage.get, [document_id])
        return document_id.lower() in result.documents

    async def conditional_load(
        self, document_id: str, change_vector: str | None, object_type: type[T] | None = None
    ) -> ConditionalLoadResult[T]:
        """``Advanced.conditional_load``, awaited."""
        known = self._sync._conditional_known(document_id, change_vector, object_type)
        if known is not None:
            return known
        assert change_vector is not None
        session = self._async.session
        session._request()
        storage = session._storage
        got = await self._async._storage.call(storage.conditional_get, document_id, change_vector)
        found, vector = session._conditional_loaded(document_id, change_vector, object_type, got)
        return ConditionalLoadResult(found, vector)

    async def load_starting_with(self, *args: Any, **kwargs: Any) -> list[Any]:
        """``session.load_starting_with``, awaited."""
        return await self._async.load_starting_with(*args, **kwargs)

    def stream(self, query: Any) -> AsyncStream[Any]:
        """``Advanced.stream`` as an async iterator, opened at its first read:
        ``async with session.advanced.stream(query) as results: async for r in results``."""
        return self.stream_with_statistics(query, None)

    def stream_with_statistics(
        self, query: Any, stats_callback: Callable[[Any], None] | None
    ) -> AsyncStream[Any]:
        """``Advanced.stream_with_statistics`` as an async iterator; ``stats_callback`` is
        called in the stream's thread, when it opens."""
        from rookdb.async_session import AsyncDocumentQuery  # it imports this module

        if isinstance(query, AsyncDocumentQuery):
            query = query._query
        self._sync._streamable(query, stats_callback)  # what cannot stream is refused now
        opening = functools.partial(self._sync.stream_with_statistics, query, stats_callback)
        return AsyncStream(opening)

    def stream_starting_with(self, *args: Any, **kwargs: Any) -> AsyncStream[Any]:
        """``Advanced.stream_starting_with`` as an async iterator, opened at its first read."""
        self._sync._check_stream_prefix(*args, **kwargs)  # bad arguments are refused now
        return AsyncStream(functools.partial(self._sync.stream_starting_with, *args, **kwargs))

    @property
    def eagerly(self) -> AsyncEagerOperations:
        return AsyncEagerOperations(self._async)

    @property
    def attachments(self) -> AsyncAttachments:
        return AsyncAttachments(self._async)


class AsyncStream(Generic[T]):
    """A stream's results (``StreamResult``), read ``BATCH`` at a time in a thread of its
    own: a stream holds one connection from its opening (at the first read: errors such as
    ``QueryError`` for a query that cannot be streamed come then) to its close, so all its
    reads run on one thread, which ``aclose`` (or the end of ``async with``, or of the
    results) ends. The sync ``StreamIterator`` does the work."""

    #: Results read in one hop to the stream's thread.
    BATCH = 256

    def __init__(self, opening: Callable[[], StreamIterator[T]]) -> None:
        self._opening: Callable[[], StreamIterator[T]] | None = opening
        self._results: StreamIterator[T] | None = None
        self._thread = OwnThread("rookdb-async-stream")
        self._batch: collections.deque[StreamResult[T]] = collections.deque()
        self._ended = False

    def __aiter__(self) -> AsyncStream[T]:
        return self

    async def open(self) -> AsyncStream[T]:
        """Open the stream now (one request; a ``stream_with_statistics`` callback is called)
        rather than at its first read."""
        await self._run(lambda: None)
        return self

    async def _read(self) -> list[StreamResult[T]]:
        return await self._run(lambda: list(itertools.islice(self._results or (), self.BATCH)))

    async def _run(self, then: Callable[[], R]) -> R | list[Any]:
        """``then()`` in the stream's thread, after opening the stream if it is not open;
        [] once it is closed."""
        if self._thread.closed:
            return []
        opening, self._opening = self._opening, None

        def run() -> R:
            if opening is not None:
                self._results = opening()
            return then()

        return await self._thread.run(run)

    async def __anext__(self) -> StreamResult[T]:
        if not self._batch and not self._ended:
            try:
                batch = await self._read()
            except BaseException:
                await self.aclose()
                raise
            self._batch.extend(batch)
            self._ended = len(batch) < self.BATCH
        if not self._batch:
            await self.aclose()
            raise StopAsyncIteration
        return self._batch.popleft()

    async def aclose(self) -> None:
        """Release what storage holds for the rest, and the stream's thread."""
        self._opening = None
        results, self._results = self._results, None
        await self._thread.close(None if results is None else results.close)

    async def __aenter__(self) -> AsyncStream[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncEagerOperations:
    """``advanced.eagerly`` of an async session."""

    def __init__(self, session: AsyncDocumentSession) -> None:
        self._async = session

    async def execute_all_pending_lazy_operations(self) -> None:
        """Every pending lazy operation (``advanced.lazily``, a query's ``lazily()``) in one
        request; their ``Lazy`` values are then there without I/O. (A ``Lazy``'s ``value``
        read before this runs them through the sync session, blocking the loop.)"""
        session = self._async.session
        pending = session._take_lazy()
        try:
            reads, asking = plan_pending(session, pending)
            storage = session._storage
            results = await self._async._storage.call(storage.read_many, reads) if reads else []
            finish_pending(pending, asking, results)
        except BaseException:
            session._requeue_lazy(pending)
            raise


class AsyncDocumentCounters:
    """``counters_for`` of an async session: ``increment`` and ``delete`` queue for the next
    save (not awaited); ``get``, ``get_many`` and ``get_all`` are awaited."""

    def __init__(self, session: AsyncDocumentSession, entity_or_id: Any) -> None:
        self._async = session
        self._sync = SessionDocumentCounters(session.session, entity_or_id)
        self.increment = self._sync.increment
        self.delete = self._sync.delete

    async def get(self, name: str) -> int | None:
        """Counter ``name``'s value (None: it does not exist)."""
        return (await self.get_many([name])).get(name)

    async def get_many(self, names: Any) -> dict[str, int | None]:
        """The values of ``names`` (None where one does not exist); one request at most."""
        counters = self._sync
        asked, missing = counters._plan_many(names)
        found = None
        if missing:
            storage = self._async.session._storage
            found = await self._async._storage.call(storage.get_counters, counters._id, missing)
        return counters._finish_many(asked, missing, found)

    async def get_all(self) -> dict[str, int]:
        """Every counter of the document, by name; one request at most."""
        counters = self._sync
        known = counters._plan_all()
        if known is not None:
            return known
        storage = self._async.session._storage
        return counters._finish_all(
            await self._async._storage.call(storage.get_counters, counters._id)
        )
