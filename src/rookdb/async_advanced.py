"""``AsyncDocumentSession.advanced``: the sync session's ``advanced`` with its reads awaited
(issue 17), RavenDB .NET's ``IAsyncAdvancedSessionOperations``.

Everything that does no I/O (``what_changed``, ``evict``, ``clear``, metadata, ``lazily``,
``defer``, patches...) is the sync ``Advanced``'s own attribute, reached through
``__getattr__``. Awaited here: ``refresh``, ``exists``, ``conditional_load``,
``load_starting_with``, ``eagerly.execute_all_pending_lazy_operations`` and the reads of
``attachments`` (``get``, ``exists``). Each calls the sync code's own steps around its one
storage call, as ``rookdb.async_session`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from rookdb.advanced import ConditionalLoadResult
from rookdb.attachments import AttachmentResult, attachment_result
from rookdb.counters import SessionDocumentCounters
from rookdb.lazy import finish_pending, plan_pending
from rookdb.storage.records import AttachmentDetails

if TYPE_CHECKING:
    from rookdb.async_session import AsyncDocumentSession
    from rookdb.storage.base import Storage

__all__ = ["AsyncAdvanced", "AsyncAttachments", "AsyncDocumentCounters", "AsyncEagerOperations"]

T = TypeVar("T")


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
        known = self._sync._conditional_known(document_id, change_vector)
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

    @property
    def eagerly(self) -> AsyncEagerOperations:
        return AsyncEagerOperations(self._async)

    @property
    def attachments(self) -> AsyncAttachments:
        return AsyncAttachments(self._async)


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


def _read_whole(
    storage: Storage, document_id: str, name: str
) -> tuple[AttachmentDetails, Iterator[bytes]] | None:
    """``read_attachment``, its content read to its end (in the worker thread: reading the
    chunks later would do I/O on the event loop)."""
    found = storage.read_attachment(document_id, name)
    if found is None:
        return None
    details, chunks = found
    return details, iter(list(chunks))


class AsyncAttachments:
    """``advanced.attachments`` of an async session: writes queue as in the sync session
    (``store``, ``delete``, ``copy``...: not awaited); reads are awaited."""

    def __init__(self, session: AsyncDocumentSession) -> None:
        self._async = session
        self._sync = session.session.advanced.attachments

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sync, name)

    async def get(self, entity_or_id: Any, name: str) -> AttachmentResult | None:
        """Attachment ``name`` of the document (its content read whole), or None."""
        document_id = self._sync._reading(entity_or_id, name)
        storage = self._async.session._storage
        found = await self._async._storage.call(_read_whole, storage, document_id, name)
        return attachment_result(found)

    async def exists(self, document_id: str, name: str) -> bool:
        """Whether the document has attachment ``name``. One request."""
        document_id = self._sync._reading(document_id, name)
        storage = self._async.session._storage
        return (
            await self._async._storage.call(storage.get_attachment, document_id, name) is not None
        )


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
