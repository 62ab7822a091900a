"""Attachments, as RavenDB keeps them: the rules, once, for every SQL backend.

Three tables (format 4). ``attachments``: one row per attachment of a document (the document's
key, the name's key, the name as written, hash, content type, size, change vector).
``attachment_contents``: one row per distinct content (its hash, its size), and
``attachment_chunks``: the content in rows of ``CHUNK_SIZE`` bytes. A content is kept once
however many attachments have it (RavenDB's deduplication by hash), and goes with the last
attachment that has it.

A put streams its content in: chunks are read from the command's stream one at a time, each
inserted under a new content row and hashed as it passes (BLAKE2b of 32 bytes, base64, as
RavenDB's ``Hash``); at the end, a content of the same hash already kept wins and the new rows
go. Memory stays at a chunk or two whatever the size. Everything is written in the batch's
transaction: a failure anywhere in the batch leaves none of it.

Each attachment command gives its document a new version (etag, change vector, time) whose
``@attachments`` and ``@flags`` say its attachments (``owned_metadata``); a put of a
document keeps them (``relational.owned``: the write path reads them with the counters, before
it writes the put), a delete of a document deletes them.
Reading a content (``AttachmentsStorage.read_attachment``) reads one chunk row at a time, each
in a short read of its own: the iterator stays valid for as long as some attachment has that
content (a content is immutable), and raises ``StorageError`` if it went meanwhile.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any, ClassVar, NamedTuple

from rookdb.errors import (
    ConcurrencyError,
    ConfigurationError,
    DocumentNotFoundError,
    StorageError,
    shown,
)
from rookdb.ids import shown_id, validate_id
from rookdb.storage.commands import (
    MAX_ATTACHMENT_NAME,
    AttachmentCommand,
    AttachmentCopyCommand,
    AttachmentDeleteCommand,
    AttachmentMoveCommand,
    AttachmentPutCommand,
    check_expected,
)
from rookdb.storage.owned_metadata import (
    ATTACHMENTS,
    attachment_entry,
    attachments_value,
    with_owned,
)
from rookdb.storage.records import AttachmentDetails, AttachmentReply
from rookdb.storage.relational.errors import DriverErrors
from rookdb.storage.relational.revisions import BatchRevisions

__all__ = [
    "CHUNK_SIZE",
    "MAX_SIZE",
    "AttachmentStatements",
    "AttachmentsStorage",
    "BatchAttachments",
    "content_hash",
]

#: Bytes per chunk row: what a put or a read holds in memory at a time (about twice this).
CHUNK_SIZE = 1 << 20
#: The largest attachment storage accepts (``ConfigurationError`` past it; nothing written).
MAX_SIZE = 1 << 36  # 64 GiB


def content_hash() -> Any:
    """A new hash of a content, as RavenDB computes ``Hash``: BLAKE2b, 32 bytes (base64 of
    its digest)."""
    return hashlib.blake2b(digest_size=32)


class AttachmentStatements(NamedTuple):
    """A dialect's SQL for attachments (parameters in the order each names)."""

    #: A new content row, its id returned: no parameters.
    new_content: str
    #: One chunk: content id, sequence number, bytes.
    insert_chunk: str
    #: Serialize the writers of one hash until the transaction ends (a no-op where the
    #: transaction holds the write lock): hash.
    lock_hash: str
    #: The id of the content of a hash: hash.
    content_by_hash: str
    #: Name a content: hash, size, content id.
    name_content: str
    #: Drop a content and its chunks when no attachment has its hash (two statements): hash.
    drop_chunks: str
    drop_content: str
    #: Drop a content row and its chunks by id (a duplicate just written): id (twice).
    drop_new_chunks: str
    drop_new_content: str
    #: One attachment's columns (name, hash, content type, size, change vector) by key, name key.
    get: str
    #: Every attachment of a key in name order: name, hash, content type, size, change vector.
    of_document: str
    #: Upsert: key, name key, name, hash, content type, size, change vector.
    upsert: str
    #: Delete one, returning its hash: key, name key.
    delete: str
    #: Delete every attachment of keys, returning their hashes: the keys (``key_list``).
    delete_documents: str
    #: One chunk's bytes: hash, sequence number.
    chunk: str
    #: The document row, locked for the batch where the dialect locks rows: id, etag, change
    #: vector, data, collection (by key).
    document: str
    #: A document's new version: data, jsonb text (the dialect's; may be unused), etag, change
    #: vector, last modified, key.
    new_version: str
    #: How many attachments, and distinct contents, there are.
    count_all: str
    count_unique: str
    #: The dialect stores documents' data as text (SQLite's TEXT).
    text: bool

    @classmethod
    def of(
        cls,
        schema: str,
        mark: str,
        blob: str,
        keys: str,
        new_content: str,
        lock_hash: str,
        document: str,
        new_version: str,
        text: bool = False,
    ) -> AttachmentStatements:
        """The statements of the tables in ``schema`` with parameter ``mark`` (``blob``: the
        one for bytes), ``keys`` the condition on a key list; the dialect's own others."""
        a, c, k, m = f"{schema}attachments", f"{schema}attachment_contents", schema, mark
        chunks = f"{k}attachment_chunks"
        return cls(
            new_content=new_content,
            insert_chunk=f"INSERT INTO {chunks} (content, seq, data) VALUES ({m}, {m}, {blob})",
            lock_hash=lock_hash,
            content_by_hash=f"SELECT id FROM {c} WHERE hash = {m}",
            name_content=f"UPDATE {c} SET hash = {m}, size = {m} WHERE id = {m}",
            drop_chunks=(
                f"DELETE FROM {chunks} WHERE content = (SELECT id FROM {c} WHERE hash = {m}) "
                f"AND NOT EXISTS (SELECT 1 FROM {a} WHERE hash = {m})"
            ),
            drop_content=(
                f"DELETE FROM {c} WHERE hash = {m} AND NOT EXISTS "
                f"(SELECT 1 FROM {a} WHERE hash = {m})"
            ),
            drop_new_chunks=f"DELETE FROM {chunks} WHERE content = {m}",
            drop_new_content=f"DELETE FROM {c} WHERE id = {m}",
            get=(
                f"SELECT name, hash, content_type, size, change_vector FROM {a} "
                f"WHERE key = {m} AND name_key = {m}"
            ),
            of_document=(
                f"SELECT name, hash, content_type, size, change_vector FROM {a} "
                f"WHERE key = {m} ORDER BY name_key"
            ),
            upsert=(
                f"INSERT INTO {a} (key, name_key, name, hash, content_type, size, change_vector) "
                f"VALUES ({', '.join([m] * 7)}) ON CONFLICT (key, name_key) DO UPDATE SET "
                "name = excluded.name, hash = excluded.hash, "
                "content_type = excluded.content_type, size = excluded.size, "
                "change_vector = excluded.change_vector"
            ),
            delete=f"DELETE FROM {a} WHERE key = {m} AND name_key = {m} RETURNING hash",
            delete_documents=f"DELETE FROM {a} WHERE {keys} RETURNING hash",
            chunk=(
                f"SELECT data FROM {chunks} WHERE content = "
                f"(SELECT id FROM {c} WHERE hash = {m}) AND seq = {m}"
            ),
            count_all=f"SELECT count(*) FROM {a}",
            count_unique=f"SELECT count(*) FROM {c} WHERE hash IS NOT NULL",
            document=document,
            new_version=new_version,
            text=text,
        )


def _read_chunk(stream: IO[bytes]) -> bytes:
    """Up to ``CHUNK_SIZE`` bytes of ``stream`` (a read may give fewer before the end)."""
    first = stream.read(CHUNK_SIZE)
    if first is None:
        raise ConfigurationError("an attachment's stream is non-blocking and had no data")
    if not isinstance(first, (bytes, bytearray, memoryview)):
        raise ConfigurationError(f"an attachment's stream gave {type(first).__name__}, not bytes")
    if len(first) == CHUNK_SIZE or not first:
        return bytes(first)
    block = bytearray(first)
    while len(block) < CHUNK_SIZE:
        more = stream.read(CHUNK_SIZE - len(block))
        if not more:
            break
        block += more
    return bytes(block)


def _storable(text: str) -> bool:
    """Whether ``text`` could be stored (no NUL, which PostgreSQL's text cannot hold, and no
    lone surrogate): what cannot be is not found."""
    if "\x00" in text:
        return False
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _details(row: Any, document_id: str) -> AttachmentDetails:
    return AttachmentDetails(row[0], row[1], row[2], int(row[3]), row[4], document_id)


class BatchAttachments:
    """The attachment work of one batch, in its transaction: the commands, what deletes of
    documents drop, and at the end the puts' metadata and the contents no one has."""

    def __init__(
        self,
        sql: AttachmentStatements,
        key_list: Callable[[list[str]], Any],
        body: Callable[[bytes], str | None] = lambda data: None,
        revisions: BatchRevisions | None = None,
    ) -> None:
        self._sql = sql
        self._key_list = key_list
        self._body = body
        #: The batch's revisions (None: none configured): a document's new version by an
        #: attachment command keeps a revision where its collection asks, as RavenDB's.
        self.revisions = revisions
        self._orphans: set[str] = set()  # hashes that may have lost their last attachment

    # -- in the write loop -----------------------------------------------------------------------

    def documents_deleted(self, conn: Any, keys: Sequence[str]) -> None:
        """Documents of ``keys`` were deleted: their attachments go."""
        if keys:
            rows = conn.execute(self._sql.delete_documents, (self._key_list(list(keys)),))
            self._orphans.update(row[0] for row in rows.fetchall())

    def apply(
        self,
        conn: Any,
        command: AttachmentCommand,
        next_etag: Callable[[], int],
        suffix: str,
        now: str,
    ) -> tuple[AttachmentReply, dict[str, str]]:
        """Run ``command``: its reply, and the new change vectors of the documents it changed
        by key (for the write path's concurrency checks)."""
        changed: dict[str, str] = {}
        version = _Versioner(self, conn, next_etag, suffix, now, changed)
        sql = self._sql
        if type(command) is AttachmentPutCommand:
            document_id = version.require(command.id, command.name)
            current = self._get(conn, command.id, command.name)
            check_expected_attachment(command, current)
            hash_, size = self._write_content(conn, command)
            cv = version.write(
                command.id, command.name, (hash_, command.content_type, size), current
            )
            details = AttachmentDetails(
                command.name, hash_, command.content_type, size, cv, document_id
            )
            return AttachmentReply("AttachmentPUT", document_id, command.name, cv, details), changed
        if type(command) is AttachmentDeleteCommand:
            current = self._get(conn, command.id, command.name)
            check_expected_attachment(command, current)
            if current is None:
                return AttachmentReply("AttachmentDELETE", command.id, command.name, None), changed
            rows = conn.execute(sql.delete, (command.id.lower(), command.name.lower())).fetchall()
            self._orphans.update(row[0] for row in rows)
            cv = version.new(command.id)
            return AttachmentReply("AttachmentDELETE", command.id, command.name, cv), changed
        assert isinstance(command, (AttachmentCopyCommand, AttachmentMoveCommand))
        kind = "AttachmentCOPY" if type(command) is AttachmentCopyCommand else "AttachmentMOVE"
        version.require(command.id, command.name)
        source = self._get(conn, command.id, command.name)
        if source is None:
            raise DocumentNotFoundError(
                f"document {shown_id(command.id)} has no attachment "
                f"{shown(command.name, limit=MAX_ATTACHMENT_NAME)} to {kind[10:].lower()}"
            )
        check_expected_attachment(command, source)
        destination_id = version.require(command.destination_id, command.destination_name)
        same = (
            command.id.lower() == command.destination_id.lower()
            and command.name.lower() == command.destination_name.lower()
        )
        target = None if same else self._get(conn, command.destination_id, command.destination_name)
        source_cv = None
        if kind == "AttachmentMOVE" and target is not None:
            # RavenDB's rule: a move never overwrites (a copy does).
            raise ConcurrencyError(
                f"cannot move attachment {shown(command.name, limit=MAX_ATTACHMENT_NAME)} of "
                f"{shown_id(command.id)} to "
                f"{shown(command.destination_name, limit=MAX_ATTACHMENT_NAME)} of "
                f"{shown_id(command.destination_id)}: "
                "one of that name exists there",
                document_id=command.destination_id,
                expected="",
                actual=target[4],
            )
        if kind == "AttachmentMOVE" and not same:
            conn.execute(sql.delete, (command.id.lower(), command.name.lower())).fetchall()
            if command.id.lower() != command.destination_id.lower():
                source_cv = version.new(command.id)
        _, hash_, content_type, size, _ = source
        cv = version.write(
            command.destination_id,
            command.destination_name,
            (hash_, content_type, size),
            target,
        )
        details = AttachmentDetails(
            command.destination_name, hash_, content_type, size, cv, destination_id
        )
        moved = (command.id, command.name, source_cv) if kind == "AttachmentMOVE" else ()
        reply = AttachmentReply(kind, destination_id, command.destination_name, cv, details, *moved)
        return reply, changed

    def _get(self, conn: Any, document_id: str, name: str) -> Any:
        return conn.execute(self._sql.get, (document_id.lower(), name.lower())).fetchone()

    def _write_content(self, conn: Any, command: AttachmentPutCommand) -> tuple[str, int]:
        """Stream ``command``'s content into new chunk rows: its hash and size."""
        sql = self._sql
        stream = command.stream()
        content_id = conn.execute(sql.new_content).fetchone()[0]
        digest = content_hash()
        size = seq = 0
        while block := _read_chunk(stream):
            size += len(block)
            if size > MAX_SIZE:
                raise ConfigurationError(
                    f"attachment {shown(command.name, limit=MAX_ATTACHMENT_NAME)} of "
                    f"{shown_id(command.id)} is over {MAX_SIZE} bytes, "
                    "the largest rookdb keeps: nothing was written"
                )
            digest.update(block)
            conn.execute(sql.insert_chunk, (content_id, seq, block))
            seq += 1
            del block  # the next chunk is read before this name would let this one go
        hash_ = base64.b64encode(digest.digest()).decode()
        conn.execute(sql.lock_hash, (hash_,)).fetchall()
        if conn.execute(sql.content_by_hash, (hash_,)).fetchone() is not None:
            conn.execute(sql.drop_new_chunks, (content_id,))  # kept once: this one goes
            conn.execute(sql.drop_new_content, (content_id,))
        else:
            conn.execute(sql.name_content, (hash_, size, content_id))
        return hash_, size

    # -- at the end of the batch -------------------------------------------------------------

    def finish(self, conn: Any) -> None:
        """Contents no attachment has any more go."""
        sql = self._sql
        for hash_ in sorted(self._orphans):  # in order: two batches lock hashes alike
            conn.execute(sql.lock_hash, (hash_,)).fetchall()
            conn.execute(sql.drop_chunks, (hash_, hash_))
            conn.execute(sql.drop_content, (hash_, hash_))

    def rewrite(self, conn: Any, key: str, version: tuple[int, str, str]) -> bool:
        """Give document ``key`` a new version (etag, change vector, time) whose metadata
        says its attachments. False: no such document."""
        sql = self._sql
        row = conn.execute(sql.document, (key,)).fetchone()
        if row is None:
            return False
        data = bytes(row[3]) if not isinstance(row[3], str) else row[3].encode()
        rows = conn.execute(sql.of_document, (key,)).fetchall()
        new = with_owned(
            data, ATTACHMENTS, attachments_value(attachment_entry(*r[:4]) for r in rows)
        )
        rule = None
        if self.revisions is not None:
            new, rule = self.revisions.put(row[0], row[4], new)
        stored = new.decode() if sql.text else new
        etag, cv, now = version
        conn.execute(sql.new_version, (stored, self._body(new), etag, cv, now, key))
        if rule is not None:
            assert self.revisions is not None
            self.revisions.written(rule, row[0], row[4], etag, cv, now, new)
        return True


def check_expected_attachment(
    command: AttachmentPutCommand
    | AttachmentDeleteCommand
    | AttachmentCopyCommand
    | AttachmentMoveCommand,
    current: Any,
) -> None:
    """The attachment's change vector must be the one ``command`` expects, if it expects one."""
    if command.expected_change_vector is None:
        return
    try:
        check_expected(command.id, command.expected_change_vector, current and current[4])
    except ConcurrencyError as exc:
        raise ConcurrencyError(
            f"attachment {shown(command.name, limit=MAX_ATTACHMENT_NAME)} of "
            f"{shown_id(command.id)}: {exc}",
            document_id=command.id,
            expected=command.expected_change_vector,
            actual=current and current[4],
        ) from None


class _Versioner:
    """Gives documents new versions for one attachment command."""

    def __init__(
        self,
        batch: BatchAttachments,
        conn: Any,
        next_etag: Callable[[], int],
        suffix: str,
        now: str,
        changed: dict[str, str],
    ) -> None:
        self._batch, self._conn = batch, conn
        self._next_etag, self._suffix, self._now = next_etag, suffix, now
        self.changed = changed

    def require(self, document_id: str, name: str) -> str:
        """The stored id of ``document_id`` (case as first written), which must exist."""
        row = self._conn.execute(self._batch._sql.document, (document_id.lower(),)).fetchone()
        if row is None:
            raise DocumentNotFoundError(
                f"cannot write attachment {shown(name, limit=MAX_ATTACHMENT_NAME)}: "
                f"document {shown_id(document_id)} does not exist"
            )
        return str(row[0])

    def new(self, document_id: str) -> str:
        """A new version of the document, its metadata saying its attachments now."""
        etag = self._next_etag()
        cv = f"A:{etag}{self._suffix}"
        key = document_id.lower()
        self._batch.rewrite(self._conn, key, (etag, cv, self._now))
        self.changed[key] = cv
        return cv

    def write(
        self, document_id: str, name: str, content: tuple[str, str, int], current: Any
    ) -> str:
        """Attachment ``name`` of ``document_id`` is ``content`` (hash, type, size) now."""
        hash_, content_type, size = content
        key = document_id.lower()
        etag = self._next_etag()
        cv = f"A:{etag}{self._suffix}"
        if current is not None and current[1] != hash_:
            self._batch._orphans.add(current[1])
        self._conn.execute(
            self._batch._sql.upsert, (key, name.lower(), name, hash_, content_type, size, cv)
        )
        self._batch.rewrite(self._conn, key, (etag, cv, self._now))
        self.changed[key] = cv
        return cv


class AttachmentsStorage:
    """The attachment reads of ``Storage`` on the relational core (mixed in)."""

    _attachment_sql: AttachmentStatements
    _errors: ClassVar[type[DriverErrors]]

    def _connection(self) -> Any:
        raise NotImplementedError

    def _attachment_counts(self, conn: Any) -> tuple[int, int]:
        """Attachments, and the distinct contents they have."""
        sql = self._attachment_sql
        return (
            int(conn.execute(sql.count_all).fetchone()[0]),
            int(conn.execute(sql.count_unique).fetchone()[0]),
        )

    def _document_id(self, conn: Any, key: str) -> str | None:
        row = conn.execute(self._attachment_sql.document, (key,)).fetchone()
        return None if row is None else str(row[0])

    def get_attachment(self, document_id: str, name: str) -> AttachmentDetails | None:
        validate_id(document_id)
        if type(name) is not str or not _storable(name) or not _storable(document_id):
            return None  # no attachment could have it
        with self._errors("read an attachment"), self._connection() as conn:
            row = conn.execute(
                self._attachment_sql.get, (document_id.lower(), name.lower())
            ).fetchone()
            stored_id = self._document_id(conn, document_id.lower()) if row is not None else None
        return None if row is None or stored_id is None else _details(row, stored_id)

    def get_attachments(self, document_id: str) -> list[AttachmentDetails]:
        validate_id(document_id)
        if not _storable(document_id):
            return []
        key = document_id.lower()
        with self._errors("read attachments"), self._connection() as conn:
            rows = conn.execute(self._attachment_sql.of_document, (key,)).fetchall()
            stored_id = self._document_id(conn, key) if rows else None
        return [_details(r, stored_id) for r in rows] if stored_id is not None else []

    def read_attachment(
        self, document_id: str, name: str
    ) -> tuple[AttachmentDetails, Iterator[bytes]] | None:
        details = self.get_attachment(document_id, name)
        if details is None:
            return None
        return details, self._chunks(details)

    def _chunks(self, details: AttachmentDetails) -> Iterator[bytes]:
        seq = read = 0
        while read < details.size:
            with self._errors("read an attachment"), self._connection() as conn:
                row = conn.execute(self._attachment_sql.chunk, (details.hash, seq)).fetchone()
            if row is None:
                raise StorageError(
                    f"attachment {shown(details.name, limit=MAX_ATTACHMENT_NAME)} of "
                    f"{shown_id(details.document_id)} "
                    "was deleted or replaced while it was read"
                )
            data = bytes(row[0])
            read += len(data)
            seq += 1
            yield data
