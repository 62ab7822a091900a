"""The conformance suite's async mode (issue 17): the same tests, through the async session.

``async_mode(store, loop)`` makes ``store.open_session()`` return a ``BlockingSession``: a thin
facade that runs each awaited call of an ``AsyncDocumentSession`` on an event loop in another
thread and waits for it. A test written against the sync session then exercises the async
code paths (``load``, ``load_starting_with``, ``save_changes``, queries, ``exists``,
``refresh``, ``include(...).load``); what the async session does not await is the sync
session's own method, reached through the facade unchanged.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from rookdb.async_advanced import AsyncAdvanced, AsyncStream
from rookdb.async_attachments import AsyncAttachmentResult, AsyncAttachmentStream
from rookdb.async_session import AsyncDocumentQuery, AsyncDocumentSession
from rookdb.attachments import AttachmentResult, AttachmentStream
from rookdb.facet_query import AsyncAggregationDocumentQuery
from rookdb.includes import LoaderWithInclude
from rookdb.query_group_by import GroupByDocumentQuery
from rookdb.store import DocumentStore

__all__ = ["BlockingSession", "EventLoopThread", "async_mode"]

R = TypeVar("R")


class EventLoopThread:
    """An asyncio event loop running in a daemon thread; ``run`` waits for a coroutine."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, R]) -> R:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


def async_mode(store: DocumentStore, loop: EventLoopThread) -> DocumentStore:
    """Make ``store.open_session`` open async sessions behind a ``BlockingSession``, on the
    backend's native async I/O where it has one (the default, threads today, is what the
    sync mode's storage calls already exercise)."""
    if not store.conventions._frozen:
        store.conventions.async_native_io = True

    def open_session(*args: Any, **kwargs: Any) -> Any:
        return BlockingSession(store.open_async_session(*args, **kwargs), loop)

    store.open_session = open_session  # type: ignore[method-assign]
    return store


class BlockingSession:
    """An ``AsyncDocumentSession`` used as a ``DocumentSession``, each awaited call waited for."""

    def __init__(self, session: AsyncDocumentSession, loop: EventLoopThread) -> None:
        self.async_session = session
        self._loop = loop
        self._advanced = _BlockingAdvanced(self)
        # A ``Lazy``'s ``value`` runs the pending operations through the async session's
        # ``eagerly`` here, so lazy tests exercise its code path (the session's own reads
        # them through the sync one).
        eagerly = session.advanced.eagerly
        session.session._execute_lazy = (  # type: ignore[method-assign]
            lambda: loop.run(eagerly.execute_all_pending_lazy_operations())
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.async_session.session, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("async_session", "_loop", "_advanced"):
            object.__setattr__(self, name, value)
        else:  # a setting of the session it stands for
            setattr(self.async_session.session, name, value)

    def __eq__(self, other: object) -> bool:
        # Conventions and event handlers are given the sync session the async one owns (as
        # .NET's handlers get the operations both share): for the tests it is this session.
        return other is self or other is self.async_session.session

    def __hash__(self) -> int:
        return id(self)

    def __enter__(self) -> BlockingSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.run(self.async_session.__aexit__(*exc))

    @property
    def advanced(self) -> Any:
        return self._advanced

    def load(self, id_or_ids: Any, object_type: Any = None, includes: Any = None) -> Any:
        return self._loop.run(self.async_session.load(id_or_ids, object_type, includes))

    def load_starting_with(self, *args: Any, **kwargs: Any) -> Any:
        return self._loop.run(self.async_session.load_starting_with(*args, **kwargs))

    def save_changes(self) -> None:
        self._loop.run(self.async_session.save_changes())

    def include(self, path: str) -> LoaderWithInclude:
        self.async_session.session._check_open()
        self.async_session.session._check_tracking("include")
        return LoaderWithInclude(self, path)  # type: ignore[arg-type]

    def query(self, *args: Any, **kwargs: Any) -> BlockingQuery:
        return BlockingQuery(self.async_session.query(*args, **kwargs), self._loop)

    def counters_for(self, entity_or_id: Any) -> Any:
        return _Blocking(self.async_session.counters_for(entity_or_id), self._loop)

    def counters_for_entity(self, entity: object) -> Any:
        return _Blocking(self.async_session.counters_for_entity(entity), self._loop)


class _BlockingAdvanced:
    """``session.advanced`` of a ``BlockingSession``: the sync one but for what is awaited."""

    def __init__(self, session: BlockingSession) -> None:
        self._session = session

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._session.async_session.advanced, name)
        return _blocking(attribute, self._session._loop)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:  # a setting (max_number_of_requests_per_session...) of the session's advanced
            setattr(self._session.async_session.advanced, name, value)

    def document_query(self, *args: Any, **kwargs: Any) -> BlockingQuery:
        return self._session.query(*args, **kwargs)


def _blocking(attribute: Any, loop: EventLoopThread) -> Any:
    """``attribute`` of an async object, usable as the sync one: an async method waited for,
    an object of ``rookdb.async_advanced`` (``eagerly``, ``attachments``...) wrapped."""
    if inspect.iscoroutinefunction(attribute):

        def call(*args: Any, **kwargs: Any) -> Any:
            got = loop.run(attribute(*args, **kwargs))
            if isinstance(got, AsyncAttachmentResult):
                return AttachmentResult(got.details, AttachmentStream(_chunks(got.stream, loop)))
            return got

        return call
    if isinstance(attribute, AsyncStream):
        loop.run(attribute.open())  # as the sync stream, opened (and its errors) at once
        return _BlockingStream(attribute, loop)
    if type(attribute).__module__ in ("rookdb.async_advanced", "rookdb.async_attachments"):
        return _Blocking(attribute, loop)
    if inspect.ismethod(attribute) and isinstance(attribute.__self__, AsyncAdvanced):

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            args = tuple(a._query if isinstance(a, BlockingQuery) else a for a in args)
            return _blocking(attribute(*args, **kwargs), loop)

        return wrapped
    return attribute


def _chunks(stream: AsyncAttachmentStream, loop: EventLoopThread) -> Iterator[bytes]:
    """An attachment's async chunks as the sync ``AttachmentStream`` reads them; closing the
    generator (the stream's ``close``) closes the async stream."""
    try:
        while True:
            try:
                yield loop.run(stream.__anext__())
            except StopAsyncIteration:
                return
    finally:
        loop.run(stream.aclose())


class _BlockingStream:
    """An ``AsyncStream`` used as a ``StreamIterator``."""

    def __init__(self, stream: AsyncStream[Any], loop: EventLoopThread) -> None:
        self._stream = stream
        self._loop = loop

    def __iter__(self) -> _BlockingStream:
        return self

    def __next__(self) -> Any:
        try:
            return self._loop.run(self._stream.__anext__())
        except StopAsyncIteration:
            raise StopIteration from None

    def close(self) -> None:
        self._loop.run(self._stream.aclose())

    def __enter__(self) -> _BlockingStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Blocking:
    """An object of ``rookdb.async_advanced`` used as its sync counterpart."""

    def __init__(self, target: Any, loop: EventLoopThread) -> None:
        self._target = target
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        return _blocking(getattr(self._target, name), self._loop)


class BlockingQuery:
    """An ``AsyncDocumentQuery`` used as a ``DocumentQuery``."""

    def __init__(self, query: AsyncDocumentQuery[Any], loop: EventLoopThread) -> None:
        self._query = query
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._query, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            got = attribute(*args, **kwargs)
            if isinstance(got, Coroutine):
                return self._loop.run(got)
            if isinstance(got, GroupByDocumentQuery):  # its selects hand back this facade
                return got.handing_back(self)
            if isinstance(got, AsyncAggregationDocumentQuery):  # its execute() waited for too
                return BlockingQuery(got, self._loop)  # type: ignore[arg-type]
            return self if got is self._query else got

        return call

    def __iter__(self) -> Iterator[Any]:
        return iter(self.to_list())
