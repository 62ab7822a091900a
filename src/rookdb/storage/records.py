"""The values that cross the storage interface: documents, write commands and results.

Every backend (memory, SQLite, PostgreSQL, HTTP) speaks in these and nothing else. A document's
``data`` is its canonical JSON body (SPEC D5) including ``@metadata`` with ``@collection``,
``Raven-Python-Type`` and user keys; ``@id``, ``@change-vector`` and ``@last-modified`` are
properties of the record, assigned by storage.

Every write passes through a ``PutCommand`` or a ``DeleteCommand``, whoever makes it (a session,
the server, an import): their constructors check the id, the collection name and the document's
depth (``rookdb.ids``, ``encoding.check_depth``), so no backend ever receives what another
would refuse.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import IO, Any, NamedTuple

from rookdb.errors import ConcurrencyError, ConfigurationError, InvalidIdError
from rookdb.ids import validate_collection_name, validate_id
from rookdb.patches import PatchOperation
from rookdb.query import Query, QueryStatistics
from rookdb.serialization.encoding import check_depth
from rookdb.serialization.scalars import encode_datetime

__all__ = [
    "ALL_COUNTERS",
    "ATTACHMENT_COMMANDS",
    "COUNTER_OPERATION_TYPES",
    "AttachmentCommand",
    "AttachmentCopyCommand",
    "AttachmentDeleteCommand",
    "AttachmentDetails",
    "AttachmentMoveCommand",
    "AttachmentPutCommand",
    "AttachmentReply",
    "BatchResult",
    "Capabilities",
    "Command",
    "ConditionalGetResult",
    "CounterOperation",
    "CountersCommand",
    "CountersReply",
    "DatabaseStatistics",
    "DeleteCommand",
    "DocumentRecord",
    "ForceRevisionCommand",
    "GetResult",
    "IdsRead",
    "IndexErrors",
    "IndexStatistics",
    "PatchCommand",
    "PatchReply",
    "PatchRequest",
    "PrefixRead",
    "ProjectionRow",
    "PutCommand",
    "QueryRead",
    "QueryResult",
    "QueryStatistics",
    "Read",
    "ReadCheck",
    "ReadResult",
    "RecentRead",
    "RevisionReply",
    "RevisionsPage",
    "WriteResult",
    "check_expected",
    "document_key",
    "last_modified_now",
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


# Records made once per document (DocumentRecord, WriteResult) are NamedTuples and commands
# are slotted dataclasses, not frozen dataclasses: a frozen dataclass's __init__ goes through
# object.__setattr__ and costs several times as much, on the hot path of every load and save.


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
    change vector, last-modified and collection of the document it came from."""

    projection: dict[str, Any]
    id: str
    change_vector: str
    last_modified: str
    collection: str

    @classmethod
    def of(cls, projection: dict[str, Any], record: DocumentRecord) -> ProjectionRow:
        """``projection``, made of ``record``."""
        return cls(
            projection, record.id, record.change_vector, record.last_modified, record.collection
        )


@dataclasses.dataclass(slots=True)
class PutCommand:
    """Write ``data`` under ``id``.

    ``expected_change_vector``: None writes unconditionally, ``""`` requires that the document
    does not exist, anything else requires that it is the stored change vector. Ids ending in
    ``/`` or ``|``, and the empty id, are completed by storage (SPEC S14).
    """

    id: str
    collection: str
    data: bytes
    expected_change_vector: str | None = None

    def __post_init__(self) -> None:
        validate_id(self.id)
        validate_collection_name(self.collection)
        check_depth(self.data, self.id)

    @classmethod
    def prechecked(
        cls, id: str, collection: str, data: bytes, expected_change_vector: str | None
    ) -> PutCommand:
        """A put whose id, collection name and depth the caller has already checked: the
        session's save, which checked the id at ``store()``, the collection once per class and
        the depth when it encoded the entity. Checking them again was about a sixth of the
        save's Python calls (issue 18). Every other caller (users, bulk insert, the protocol)
        uses the constructor, which checks."""
        command = object.__new__(cls)
        command.id = id
        command.collection = collection
        command.data = data
        command.expected_change_vector = expected_change_vector
        return command


@dataclasses.dataclass(slots=True)
class DeleteCommand:
    """Delete ``id`` (a no-op if absent), under the same change-vector rule as ``PutCommand``."""

    id: str
    expected_change_vector: str | None = None

    def __post_init__(self) -> None:
        validate_id(self.id)


@dataclasses.dataclass(slots=True)
class ReadCheck:
    """Fail the batch unless ``id`` still has ``change_vector`` (None: is still missing).

    Sent for documents a ``WRITES_AND_READS`` session read but does not write (SPEC S19).
    """

    id: str
    change_vector: str | None


@dataclasses.dataclass(slots=True)
class ForceRevisionCommand:
    """Keep a revision of document ``id`` as it is now, whatever the revisions configuration
    (RavenDB's ``ForceRevisionCreation``); none when a revision of this version exists.
    ``before_put``: sent right before a put of the same document (RavenDB's PUT with
    ``ForceRevisionCreationStrategy`` ``Before``): the put writes ``HasRevisions``, so the
    document is not written twice. A missing document fails the batch."""

    id: str
    before_put: bool = False

    def __post_init__(self) -> None:
        validate_id(self.id)


@dataclasses.dataclass(slots=True)
class PatchRequest:
    """RavenDB's ``PatchRequest``: a JavaScript ``script`` run with ``args`` = ``values``
    (``rookdb.scripting``, needs the engine), or the session's typed ``operations``
    (``rookdb.patches``), applied in Python; a request with operations carries their script
    too, for a RavenDB server."""

    script: str = ""
    values: dict[str, Any] = dataclasses.field(default_factory=dict)
    operations: tuple[PatchOperation, ...] = ()

    def __post_init__(self) -> None:
        if type(self.script) is not str or type(self.values) is not dict:
            raise ConfigurationError("a patch request is a script (str) and values (a dict)")
        if not self.operations and not self.script.strip():
            raise ConfigurationError("a patch request needs a script (or typed operations)")


@dataclasses.dataclass(slots=True)
class PatchCommand:
    """Patch document ``id`` in the batch's transaction (``rookdb.storage.patching``), as
    RavenDB's ``PATCH`` batch command.

    Missing document: ``create_if_missing`` (a document's JSON) is stored as it is, else
    ``patch_if_missing`` runs on an empty document; without either, nothing is written.
    ``expected_change_vector``: the document must have it (``ConcurrencyError``), or with
    ``skip_patch_if_change_vector_mismatch`` the patch is skipped. ``return_document``: the
    wire asks for the patched document (local backends always give it)."""

    id: str
    patch: PatchRequest
    patch_if_missing: PatchRequest | None = None
    create_if_missing: bytes | None = None
    expected_change_vector: str | None = None
    skip_patch_if_change_vector_mismatch: bool = False
    return_document: bool = False

    def __post_init__(self) -> None:
        validate_id(self.id)
        if not self.id or self.id[-1] in "/|":
            raise InvalidIdError(f"a patch names the document it patches, not {self.id!r}")
        if self.create_if_missing is not None:
            check_depth(self.create_if_missing, self.id)


#: The counter name that asks for every counter of a document where names are asked for
#: (RavenDB's ``Constants.Counters.ALL``: ``counter=@all_counters`` in ``GET /docs``).
ALL_COUNTERS = "@all_counters"

#: RavenDB's counter operation types (``CounterOperationType``) a ``CountersCommand`` carries.
COUNTER_OPERATION_TYPES = ("Increment", "Delete", "Get")


@dataclasses.dataclass(slots=True)
class CounterOperation:
    """One operation of a ``CountersCommand``: ``Increment`` counter ``name`` by ``delta``
    (a counter that does not exist starts at 0), ``Delete`` it (none: nothing happens), or
    ``Get`` its value. Names compare case-insensitively; a counter keeps the name it was
    first written with."""

    type: str
    name: str
    delta: int = 0

    def __post_init__(self) -> None:
        if self.type not in COUNTER_OPERATION_TYPES:
            raise ConfigurationError(
                f"a counter operation is one of {', '.join(COUNTER_OPERATION_TYPES)}, "
                f"not {self.type!r}"
            )
        validate_counter_name(self.name)
        if type(self.delta) is not int or not -(2**63) <= self.delta < 2**63:
            raise ConfigurationError(
                f"the delta of counter {self.name!r} is a 64-bit integer, not {self.delta!r}"
            )


@dataclasses.dataclass(slots=True)
class CountersCommand:
    """RavenDB's ``Counters`` batch command: the ``operations`` on the counters of document
    ``id``, in order, in the batch's transaction. Increments are atomic (``value = value +
    delta`` in storage): concurrent batches never lose one. The document must exist
    (``DocumentNotFoundError``). Its ``@counters`` (the sorted names) and ``HasCounters`` in
    ``@flags`` are storage's (``rookdb.storage.owned_metadata``): a command that adds the
    first counter of a name or deletes the last gives the document a new version.
    ``answered``: False for a patch script's counter writes, which have no reply of their
    own in the batch's (the patch's answers for them)."""

    id: str
    operations: tuple[CounterOperation, ...]
    answered: bool = True

    def __post_init__(self) -> None:
        validate_id(self.id)
        if not self.id or self.id[-1] in "/|":
            raise InvalidIdError(f"counters belong to a document, not {self.id!r}")
        self.operations = tuple(self.operations)
        if not self.operations or not all(type(o) is CounterOperation for o in self.operations):
            raise ConfigurationError("a counters command needs counter operations")


def validate_counter_name(name: object) -> str:
    """``name`` if it can name a counter: a non-empty str of at most 512 characters without
    control characters or lone surrogates (``ConfigurationError``)."""
    if type(name) is not str or not name or len(name) > 512:
        raise ConfigurationError(
            f"a counter name is a non-empty string of at most 512 characters, not {name!r}"
        )
    if any(c < " " for c in name):
        raise ConfigurationError(f"a counter name has no control characters: {name!r}")
    try:
        name.encode()
    except UnicodeEncodeError:
        raise ConfigurationError(f"a counter name is valid Unicode: {name!r}") from None
    return name


def _check_name(name: Any, what: str) -> str:
    if type(name) is not str or not name.strip():
        raise ConfigurationError(f"an attachment's {what} is a non-blank str, not {name!r}")
    if "\x00" in name or len(name) > 512:
        raise ConfigurationError(f"an attachment's {what} has a NUL or is over 512 characters")
    try:
        name.encode()
    except UnicodeEncodeError:
        raise ConfigurationError(f"an attachment's {what} is not valid Unicode") from None
    return name


def _check_document(document_id: str) -> None:
    validate_id(document_id)
    if not document_id or document_id[-1] in "/|":
        raise InvalidIdError(
            f"an attachment belongs to a document with a complete id, not {document_id!r}"
        )


@dataclasses.dataclass(slots=True)
class AttachmentPutCommand:
    """Store attachment ``name`` of document ``id`` (which must exist when the command runs),
    its content read from ``data`` (bytes, or a binary stream with ``read(n)``) while the
    batch is written, in chunks (``relational.attachments``): never whole in memory.
    ``expected_change_vector``: None writes unconditionally, else the attachment's stored
    change vector must be it. RavenDB's ``AttachmentPUT`` batch command.

    A stream is read from where it is when the command is made; a backend that must write the
    batch again (PostgreSQL after a serialization failure) seeks back there, which a stream
    that cannot seek refuses (``StorageError``)."""

    id: str
    name: str
    data: bytes | IO[bytes]
    content_type: str = ""
    expected_change_vector: str | None = None
    _start: int | None = dataclasses.field(default=None, init=False, repr=False)
    _read: bool = dataclasses.field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        _check_document(self.id)
        _check_name(self.name, "name")
        if self.content_type is None:
            self.content_type = ""
        if type(self.content_type) is not str or "\x00" in self.content_type:
            raise ConfigurationError(f"a content type is a str, not {self.content_type!r}")
        if isinstance(self.data, (bytes, bytearray, memoryview)):
            self.data = io.BytesIO(bytes(self.data))
        elif not callable(getattr(self.data, "read", None)):
            raise ConfigurationError(
                f"an attachment's data is bytes or a binary stream, not {type(self.data).__name__}"
            )
        try:
            self._start = self.data.tell() if self.data.seekable() else None
        except (AttributeError, OSError, ValueError):
            self._start = None

    def stream(self) -> IO[bytes]:
        """The content, from its start: again after a first reading only where it seeks."""
        from rookdb.errors import StorageError

        stream = self.data
        assert not isinstance(stream, bytes)
        if self._read:
            if self._start is None:
                raise StorageError(
                    f"attachment {self.name!r} of {self.id!r}: its stream was read once and "
                    "cannot seek back to be written again"
                )
            stream.seek(self._start)
        self._read = True
        return stream


@dataclasses.dataclass(slots=True)
class AttachmentDeleteCommand:
    """Delete attachment ``name`` of document ``id`` (a no-op when either is absent), under
    ``expected_change_vector`` (the attachment's) where given. RavenDB's ``AttachmentDELETE``."""

    id: str
    name: str
    expected_change_vector: str | None = None

    def __post_init__(self) -> None:
        _check_document(self.id)
        _check_name(self.name, "name")


@dataclasses.dataclass(slots=True)
class _AttachmentRelocation:
    """What a copy and a move name: attachment ``name`` of ``id``, and where it goes."""

    id: str
    name: str
    destination_id: str
    destination_name: str
    expected_change_vector: str | None = None

    def __post_init__(self) -> None:
        _check_document(self.id)
        _check_document(self.destination_id)
        _check_name(self.name, "name")
        _check_name(self.destination_name, "destination name")


@dataclasses.dataclass(slots=True)
class AttachmentCopyCommand(_AttachmentRelocation):
    """Copy attachment ``name`` of ``id`` to ``destination_name`` of ``destination_id`` (the
    content is shared, not duplicated); RavenDB's ``AttachmentCOPY``. A missing source is an
    error (``DocumentNotFoundError``), as RavenDB's."""


@dataclasses.dataclass(slots=True)
class AttachmentMoveCommand(_AttachmentRelocation):
    """Move attachment ``name`` of ``id`` to ``destination_name`` of ``destination_id`` (a
    rename within one document); RavenDB's ``AttachmentMOVE``."""


AttachmentCommand = (
    AttachmentPutCommand | AttachmentDeleteCommand | AttachmentCopyCommand | AttachmentMoveCommand
)
ATTACHMENT_COMMANDS = (
    AttachmentPutCommand,
    AttachmentDeleteCommand,
    AttachmentCopyCommand,
    AttachmentMoveCommand,
)

Command = (
    PutCommand
    | DeleteCommand
    | ReadCheck
    | PatchCommand
    | ForceRevisionCommand
    | AttachmentPutCommand
    | AttachmentDeleteCommand
    | AttachmentCopyCommand
    | AttachmentMoveCommand
    | CountersCommand
)


def check_expected(document_id: str, expected: str | None, actual: str | None) -> None:
    """The change-vector rule of ``PutCommand`` and ``DeleteCommand``: raise
    ``ConcurrencyError`` unless ``expected`` (None, ``""`` or a change vector) admits the
    stored change vector ``actual`` (None: the document does not exist)."""
    if expected is None:
        return
    if expected == "" and actual is None:
        return
    if expected != "" and expected == actual:
        return
    raise ConcurrencyError(
        f"optimistic concurrency violation on {document_id!r}: expected change vector "
        f"{expected or '(none: must not exist)'}, storage has {actual or '(none)'}",
        document_id=document_id,
        expected=expected,
        actual=actual,
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


@dataclasses.dataclass(frozen=True, slots=True)
class DatabaseStatistics:
    """``store.maintenance.get_statistics()``: documents per collection and indexes, and what
    storage knows of itself (0 and ``""`` where a backend does not say).

    ``size_on_disk``: bytes the database occupies (SQLite: its file with ``-wal`` and ``-shm``;
    in memory: the pages it holds; PostgreSQL: its schema's tables, indexes and TOAST).
    ``last_doc_etag``: the last etag storage gave out (grows with every write; on PostgreSQL a
    write that rolled back may have used one too). ``database_change_vector``: RavenDB's
    ``A:<last etag>-<database id>``, ``""`` while nothing was written."""

    database: str
    count_of_documents: int
    collections: dict[str, int]
    indexes: list[str]
    size_on_disk: int = 0
    last_doc_etag: int = 0
    database_change_vector: str = ""
    database_id: str = ""
    #: Attachments, and the distinct contents they have (RavenDB's unique attachments).
    count_of_attachments: int = 0
    count_of_unique_attachments: int = 0
    #: The type of each user-defined index in ``indexes`` (``Map``, ``MapReduce``,
    #: ``JavaScriptMap``...); the automatic ones are not in it (RavenDB's ``AutoMap``).
    index_types: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend can do; the conformance suite skips (and says why) what it cannot.

    Declared on each backend instead of checks of its type or name (peewee's habit): tests ask
    for a flag with ``@pytest.mark.rookdb_requires("multi_process")``, code reads the flag. A
    flag left out is False: a backend claims only what it does.
    """

    #: The backend's name in test ids and messages; never a reason to branch.
    name: str
    #: Its databases survive the process (and a restart of a server) that wrote them.
    persistent: bool = False
    #: Several processes (``rookdb serve``, the CLI, workers) share its databases at once.
    multi_process: bool = False
    #: Every store of this process opened on the same URL sees the same databases (false for a
    #: private ``memory://``, which is the store's own).
    shared_in_process: bool = False
    #: Served over the network: a server does the storage work, so what happens inside it
    #: (automatic indexes made, their cap, their logs) is the server's, not this process's.
    remote: bool = False
    #: Keeps revisions (``Storage.configure_revisions``, ``get_revisions``, forced ones).
    revisions: bool = False
    #: Keeps counters (``CountersCommand``, ``Storage.get_counters``).
    counters: bool = False
    #: Keeps attachments (the attachment commands, ``Storage.get_attachment``...).
    attachments: bool = False
    #: Keeps user-defined indexes (``Storage.put_indexes``, queries with ``index_name``).
    indexes: bool = False

    @classmethod
    def flags(cls) -> tuple[str, ...]:
        """The flags' names, in declaration order (what ``rookdb_requires`` may ask)."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.type in ("bool", bool))


@dataclasses.dataclass(frozen=True, slots=True)
class IndexStatistics:
    """What ``Storage.index_statistics`` tells of one user-defined index (RavenDB's
    ``IndexStats``, the part rookdb has): ``state`` is ``Normal``, or ``Building`` while the
    documents that were there when it was put are mapped (``mapped`` of ``to_map`` so far);
    ``entries_count`` counts the documents with entries, ``reduce_results_count`` a
    map-reduce index's results."""

    name: str
    type: str
    state: str
    collections: tuple[str, ...] | None
    entries_count: int
    reduce_results_count: int
    errors_count: int
    created: str
    is_stale: bool = False
    lock_mode: str = "Unlock"
    priority: str = "Normal"

    def to_json(self) -> dict[str, Any]:
        """RavenDB's ``IndexStats`` JSON: what rookdb knows, and RavenDB's neutral values for
        what it does not count (attempts, rates), which its client reads all of."""
        lag = {
            "LastProcessedDocumentEtag": 0,
            "LastProcessedTombstoneEtag": 0,
            "DocumentLag": 0,
            "TombstoneLag": 0,
        }
        return {
            "Name": self.name,
            "Type": self.type,
            "SourceType": "Documents",
            "State": "Normal",
            "Status": "Running",
            "Priority": self.priority,
            "LockMode": self.lock_mode,
            "IsStale": self.is_stale,
            "IsInvalidIndex": False,
            "Collections": {c: lag for c in self.collections or ("@all_docs",)},
            "EntriesCount": self.entries_count,
            "ReduceOutputCount": self.reduce_results_count,
            "ErrorsCount": self.errors_count,
            "CreatedTimestamp": self.created,
            "LastIndexingTime": self.created,
            "LastQueryingTime": None,
            "MapAttempts": 0,
            "MapSuccesses": 0,
            "MapErrors": self.errors_count,
            "MapReferenceAttempts": 0,
            "MapReferenceSuccesses": 0,
            "MapReferenceErrors": 0,
            "ReduceAttempts": None,
            "ReduceSuccesses": None,
            "ReduceErrors": None,
            "ReduceOutputCollection": None,
            "ReduceOutputReferencePattern": None,
            "PatternReferencesCollectionName": None,
            "MappedPerSecondRate": 0.0,
            "ReducedPerSecondRate": 0.0,
            "MaxNumberOfOutputsPerDocument": 0,
        }


@dataclasses.dataclass(frozen=True, slots=True)
class IndexErrors:
    """The errors recorded against one index (RavenDB's ``IndexErrors``): the last ones,
    each ``{"Document", "Action", "Error", "Timestamp"}``, and how many there were in all."""

    name: str
    errors: tuple[dict[str, Any], ...]
    count: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"Name": self.name, "Errors": list(self.errors), "Count": self.count}
