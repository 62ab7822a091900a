"""``session.advanced.attachments`` of an async session (issue 17): writes queue as in the
sync session; reads are awaited, and an attachment's content is an async iterator of its
chunks.

The sync ``attachments.get`` hands out a file whose reads take storage's chunks (1 MiB) one at
a time; here each chunk is awaited, read in a thread of the result's own (``OwnThread``: the
http backend's response belongs to one thread), so a 64 MiB attachment is read with one chunk
in memory at a time and the event loop never waits for the disk or the network::

    async with await session.advanced.attachments.get("files/1", "big.bin") as result:
        async for chunk in result.stream:
            destination.write(chunk)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rookdb.storage.async_storage import OwnThread
from rookdb.storage.records import AttachmentDetails

if TYPE_CHECKING:
    from rookdb.async_session import AsyncDocumentSession

__all__ = ["AsyncAttachmentResult", "AsyncAttachmentStream", "AsyncAttachments"]


class AsyncAttachmentStream:
    """An attachment's content as an async iterator of its chunks (``bytes``), read from
    storage one at a time as they are asked for. Valid while some attachment has this content
    (``StorageError`` if it went meanwhile); ``aclose`` (or the end of the content, or of
    ``async with`` on the result) stops the reading and ends its thread."""

    def __init__(self, thread: OwnThread, chunks: Iterator[bytes]) -> None:
        self._thread = thread
        self._chunks: Iterator[bytes] | None = chunks

    def __aiter__(self) -> AsyncAttachmentStream:
        return self

    async def __anext__(self) -> bytes:
        chunks = self._chunks
        if chunks is None:
            raise StopAsyncIteration
        try:
            chunk = await self._thread.run(lambda: next(chunks, None))
        except BaseException:
            await self.aclose()
            raise
        if chunk is None:
            await self.aclose()
            raise StopAsyncIteration
        return chunk

    async def read(self) -> bytes:
        """The rest of the content, whole (for small attachments)."""
        return b"".join([chunk async for chunk in self])

    async def aclose(self) -> None:
        chunks, self._chunks = self._chunks, None
        close = getattr(chunks, "close", None)
        await self._thread.close(close)


class AsyncAttachmentResult:
    """What ``await attachments.get(...)`` returns: ``details``, and the content as
    ``stream`` (an async iterator of chunks) or ``await data()`` (all of it). An async
    context manager: leaving it closes the stream."""

    def __init__(self, details: AttachmentDetails, stream: AsyncAttachmentStream) -> None:
        self.details = details
        self.stream = stream

    async def data(self) -> bytes:
        """The whole content (what is left of it), read now."""
        return await self.stream.read()

    async def aclose(self) -> None:
        await self.stream.aclose()

    async def __aenter__(self) -> AsyncAttachmentResult:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncAttachments:
    """``advanced.attachments`` of an async session: writes queue as in the sync session
    (``store``, ``delete``, ``copy``...: not awaited); reads are awaited."""

    def __init__(self, session: AsyncDocumentSession) -> None:
        self._async = session
        self._sync = session.session.advanced.attachments

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sync, name)

    async def get(self, entity_or_id: Any, name: str) -> AsyncAttachmentResult | None:
        """Attachment ``name`` of the document: its details and content (an async iterator of
        chunks, read as it is iterated), or None when there is none. One request."""
        document_id = self._sync._reading(entity_or_id, name)
        storage = self._async.session._storage
        thread = OwnThread("rookdb-async-attachment")
        try:
            found = await thread.run(lambda: storage.read_attachment(document_id, name))
        except BaseException:
            await thread.close()
            raise
        if found is None:
            await thread.close()
            return None
        details, chunks = found
        return AsyncAttachmentResult(details, AsyncAttachmentStream(thread, chunks))

    async def exists(self, document_id: str, name: str) -> bool:
        """Whether the document has attachment ``name``. One request."""
        document_id = self._sync._reading(document_id, name)
        storage = self._async.session._storage
        return (
            await self._async._storage.call(storage.get_attachment, document_id, name) is not None
        )
