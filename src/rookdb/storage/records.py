"""The values that cross the storage interface: documents, and what storage answers.

Every backend (memory, SQLite, PostgreSQL, HTTP) speaks in these and nothing else. A document's
``data`` is its canonical JSON body (SPEC D5) including ``@metadata`` with ``@collection``,
``Raven-Python-Type`` and user keys; ``@id``, ``@change-vector`` and ``@last-modified`` are
properties of the record, assigned by storage.

Here: the stored document (``DocumentRecord``, ``ProjectionRow``), what a batch answers
(``WriteResult``, the replies, ``BatchResult``), the reads and their results (``GetResult``,
``QueryResult``, ``IdsRead``... for ``read_many``, ``RevisionsPage``). The write commands are in
``rookdb.storage.commands``; what a backend can do and what it counts, in
``rookdb.storage.statistics``.

This module re-exports those other names too: it held them all before they moved, and backends
written outside rookdb (``docs/extend.md``) may import them from here. rookdb's own code
imports each from its module.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from rookdb.query import Query, QueryStatistics
from rookdb.serialization.exact_numbers import Notes
from rookdb.serialization.scalars import encode_datetime

# Re-exported: this module held them, and backends written outside rookdb import them from it.
from rookdb.storage.commands import (
    ATTACHMENT_COMMANDS,
    COUNTER_OPERATION_TYPES,
    MAX_ATTACHMENT_NAME,
    MAX_COUNTER_NAME,
    AttachmentCommand,
    AttachmentCopyCommand,
    AttachmentDeleteCommand,
    AttachmentMoveCommand,
    AttachmentPutCommand,
    Command,
    CounterOperation,
    CountersCommand,
    DeleteCommand,
    ForceRevisionCommand,
    PatchCommand,
    PatchRequest,
    PutCommand,
    ReadCheck,
    check_expected,
    validate_attachment_name,
    validate_counter_name,
)
from rookdb.storage.statistics import (
    Capabilities,
    DatabaseStatistics,
    IndexErrors,
    IndexStatistics,
)

__all__ = [
    "ALL_COUNTERS",
    "MAX_ATTACHMENT_NAME",
    "MAX_COUNTER_NAME",
    "AttachmentDetails",
    "AttachmentReply",
    "BatchResult",
    "ConditionalGetResult",
    "CountersReply",
    "DocumentRecord",
    "GetResult",
    "IdsRead",
    "PatchReply",
    "PrefixRead",
    "ProjectionRow",
    "QueryRead",
    "QueryResult",
    "QueryStatistics",
    "Read",
    "ReadResult",
    "RecentRead",
    "RevisionReply",
    "RevisionsPage",
    "WriteResult",
    "document_key",
    "last_modified_now",
]
# Re-exported from rookdb.storage.commands and rookdb.storage.statistics (see the imports).
__all__ += [
    "ATTACHMENT_COMMANDS",
    "COUNTER_OPERATION_TYPES",
    "AttachmentCommand",
    "AttachmentCopyCommand",
    "AttachmentDeleteCommand",
    "AttachmentMoveCommand",
    "AttachmentPutCommand",
    "Capabilities",
    "Command",
    "CounterOperation",
    "CountersCommand",
    "DatabaseStatistics",
    "DeleteCommand",
    "ForceRevisionCommand",
    "IndexErrors",
    "IndexStatistics",
    "PatchCommand",
    "PatchRequest",
    "PutCommand",
    "ReadCheck",
    "check_expected",
    "validate_attachment_name",
    "validate_counter_name",
]


#: The case-insensitive key of a document id (SPEC S2): ids compare by this everywhere.
#: ``str.lower`` itself, not a function around it: hot paths (a save's puts, a query's rows)
#: call it once per document with no Python frame, so none needs to inline the rule.
document_key: Callable[[str], str] = str.lower


def last_modified_now() -> str:
    """``@last-modified`` for a write now: ISO 8601 UTC with 7 fractional digits, as RavenDB
    writes it, and as an aware datetime field is written (``scalars.encode_datetime``)."""
    return encode_datetime(dt.datetime.now(dt.timezone.utc))


# Records made once per document (DocumentRecord, WriteResult) are NamedTuples, not frozen
# dataclasses: a frozen dataclass's __init__ goes through object.__setattr__ and costs several
# times as much, on the hot path of every load and save.


class DocumentRecord(NamedTuple):
    """One stored document."""

    id: str
    data: bytes
    change_vector: str
    last_modified: str
    collection: str


class ProjectionRow(NamedTuple):
    """One result of a streamed projection (a query with ``select``): the ``projection``
    (the fields the query selects, as ``rookdb.evaluate.project`` makes them) and the id,
    change vector, last-modified and collection of the document it came from; ``notes``, as
    ``QueryResult.notes``."""

    projection: dict[str, Any]
    id: str
    change_vector: str
    last_modified: str
    collection: str
    notes: Notes | None = None

    @classmethod
    def of(
        cls, projection: dict[str, Any], record: DocumentRecord, notes: Notes | None = None
    ) -> ProjectionRow:
        """``projection``, made of ``record``."""
        return cls(
            projection,
            record.id,
            record.change_vector,
            record.last_modified,
            record.collection,
            notes or None,
        )


class WriteResult(NamedTuple):
    """What storage assigned to one put: the final id, change vector and modification time."""

    id: str
    change_vector: str
    last_modified: str

    @classmethod
    def many(
        cls, ids: Iterable[str], change_vectors: Iterable[str], last_modified: str
    ) -> list[WriteResult]:
        """The results of a batch's puts, one per (id, change vector), all written at
        ``last_modified`` (a transaction has one time): made in C, not by a Python
        ``__new__`` per put."""
        rows = zip(ids, change_vectors, itertools.repeat(last_modified))
        return list(map(tuple.__new__, itertools.repeat(cls), rows))


class RevisionReply(NamedTuple):
    """What a ``ForceRevisionCommand`` did: ``created`` False when a revision of the
    document's version existed; else the document's id, change vector and time (a document
    without ``HasRevisions`` gets it, and with it a new change vector)."""

    id: str
    created: bool
    change_vector: str | None = None
    last_modified: str | None = None


class PatchReply(NamedTuple):
    """What a ``PatchCommand`` did: RavenDB's ``PatchStatus`` (``Patched``, ``NotModified``,
    ``Created``, ``DocumentDoesNotExist``, ``Skipped``) and the document as stored after it
    (None when it does not exist)."""

    id: str
    status: str
    document: DocumentRecord | None


class CountersReply(NamedTuple):
    """What a ``CountersCommand`` did: the document's id, each ``Increment`` and ``Get``
    operation's counter as it was after it (name as stored, value; a ``Get`` of a counter
    that does not exist: the name asked and None), in order; and the document's change
    vector after the command (a new one when its ``@counters`` changed)."""

    id: str
    counters: list[tuple[str, int | None]]
    change_vector: str


class AttachmentDetails(NamedTuple):
    """An attachment as storage keeps it (RavenDB's ``AttachmentDetails``): its name as
    written, ``hash`` (base64 of its content's 32-byte BLAKE2b, as RavenDB's), content type,
    size in bytes, change vector, and the id of its document."""

    name: str
    hash: str
    content_type: str
    size: int
    change_vector: str
    document_id: str


class AttachmentReply(NamedTuple):
    """What an attachment command did (``type``: ``AttachmentPUT``, ``AttachmentDELETE``,
    ``AttachmentCOPY``, ``AttachmentMOVE``): the document's id and new change vector (None
    when nothing was written), and the attachment's details for a put, copy or move."""

    type: str
    id: str
    name: str
    document_change_vector: str | None
    details: AttachmentDetails | None = None
    #: A move's source attachment, and its document's new change vector when it is another
    #: document than the destination (None otherwise).
    source_id: str | None = None
    source_name: str | None = None
    source_change_vector: str | None = None


class BatchResult(NamedTuple):
    """Results of ``apply``: one ``WriteResult`` per ``PutCommand``, in batch order; and the
    replies of the other commands (``PatchCommand``: a ``PatchReply``; ``ForceRevisionCommand``:
    a ``RevisionReply``, none for one ``before_put``: its put answers; an attachment command:
    an ``AttachmentReply``; ``CountersCommand``: a ``CountersReply``), in batch order."""

    puts: list[WriteResult]
    replies: Sequence[PatchReply | RevisionReply | AttachmentReply | CountersReply] = ()


class ConditionalGetResult(NamedTuple):
    """``Storage.conditional_get``: ``modified`` is False when the document still has the
    change vector given (``record`` is then None); otherwise ``record`` is the document, or
    None when there is no such document."""

    modified: bool
    record: DocumentRecord | None


class GetResult(NamedTuple):
    """Documents found by ``get``, by key; ids not found are absent.

    ``includes`` maps the key of every id referenced by an include path to its record, or to
    None when that document does not exist. ``counters``: where counters were asked for
    (``IdsRead.counters``), the key of each document found to its counters asked for that
    exist, by name (read in the same snapshot).
    """

    documents: dict[str, DocumentRecord]
    includes: dict[str, DocumentRecord | None]
    counters: dict[str, dict[str, int]] | None = None


class QueryResult(NamedTuple):
    """Documents a query returned, the documents its includes reference, and statistics."""

    #: The documents found; with ``projections``, the document each projection came from (the
    #: first of its kind for ``distinct``), or none where the storage does not have them (a
    #: server answers with projections only).
    records: list[DocumentRecord]
    includes: dict[str, DocumentRecord | None]
    statistics: QueryStatistics
    #: For queries with ``select``: the projected JSON objects.
    projections: list[dict[str, Any]] | None = None
    #: For queries with ``Query.counters``: the counters of each document found, by key, as
    #: ``GetResult.counters``.
    counters: dict[str, dict[str, int]] | None = None
    #: With ``projections``: the floats in them that do not give back the number's text as
    #: written (``9.50``), noted with its decimal (``exact_numbers.loads_noting``), so that a
    #: projection into a class reads a ``Decimal`` field with its digits, as a load does.
    notes: Notes | None = None


#: The counter name that asks for every counter of a document where names are asked for
#: (RavenDB's ``Constants.Counters.ALL``: ``counter=@all_counters`` in ``GET /docs``).
ALL_COUNTERS = "@all_counters"


# The reads ``Storage.read_many`` runs together, in one snapshot (lazy operations): one of the
# three reads a session makes, with the arguments of its method, or ``RecentRead``.


class IdsRead(NamedTuple):
    """``Storage.get(ids, includes)``; its result is a ``GetResult``. ``counters``: names of
    the documents' counters read with them (``ALL_COUNTERS``: every one), RavenDB's
    ``include_counters``; a backend without counters ignores them."""

    ids: tuple[str, ...]
    includes: tuple[str, ...] = ()
    counters: tuple[str, ...] = ()


class PrefixRead(NamedTuple):
    """``Storage.get_prefix(...)`` with these arguments; its result is a list of records."""

    prefix: str
    start: int = 0
    page_size: int = 25
    matches: str = ""
    exclude: str = ""
    start_after: str = ""


class QueryRead(NamedTuple):
    """``Storage.query(query)``; its result is a ``QueryResult``."""

    query: Query


class RecentRead(NamedTuple):
    """Every document, the most recently written first (RavenDB's ``GET /docs`` with neither
    ids nor ``startsWith``, its ``GetDocumentsCommand.from_paging``); the result is a list
    of records."""

    start: int = 0
    page_size: int = 25


class RevisionsPage(NamedTuple):
    """``Storage.get_revisions``: a page of a document's revisions, the newest first, and
    how many it has in all. A revision is a record: the version's id, data (its
    ``@metadata`` with ``@flags`` ``HasRevisions, Revision``, or ``DeleteRevision`` for a
    delete), change vector, time and collection."""

    records: list[DocumentRecord]
    total: int


Read = IdsRead | PrefixRead | QueryRead | RecentRead
ReadResult = GetResult | list[DocumentRecord] | QueryResult
