"""The write commands of a storage batch (``Storage.apply``), their checks, and the
change-vector rule they are applied under (``check_expected``).

Every write passes through a ``PutCommand`` or a ``DeleteCommand``, whoever makes it (a session,
the server, an import): their constructors check the id, the collection name and the document's
depth (``rookdb.ids``, ``encoding.check_depth``), so no backend ever receives what another
would refuse. The other commands (``ReadCheck``, ``ForceRevisionCommand``, ``PatchCommand``,
``CountersCommand``, the attachment commands) check what they carry likewise. What a batch
answers is in ``rookdb.storage.records``.
"""

from __future__ import annotations

import dataclasses
import io
from typing import IO, Any

from rookdb.arguments import check_change_vector
from rookdb.errors import (
    ConcurrencyError,
    ConfigurationError,
    InvalidArgumentError,
    InvalidIdError,
    shown,
)
from rookdb.ids import shown_id, validate_collection_name, validate_id
from rookdb.patches import PatchOperation
from rookdb.serialization.encoding import check_depth

__all__ = [
    "ATTACHMENT_COMMANDS",
    "COUNTER_OPERATION_TYPES",
    "MAX_ATTACHMENT_NAME",
    "MAX_COUNTER_NAME",
    "AttachmentCommand",
    "AttachmentCopyCommand",
    "AttachmentDeleteCommand",
    "AttachmentMoveCommand",
    "AttachmentPutCommand",
    "Command",
    "CounterOperation",
    "CountersCommand",
    "DeleteCommand",
    "ForceRevisionCommand",
    "PatchCommand",
    "PatchRequest",
    "PutCommand",
    "ReadCheck",
    "check_expected",
    "validate_attachment_name",
    "validate_counter_name",
]


#: The most characters of a counter's name (RavenDB's limit) and of an attachment's.
MAX_COUNTER_NAME = 512
MAX_ATTACHMENT_NAME = 512

# Commands are slotted dataclasses, not frozen dataclasses: a frozen dataclass's __init__ goes
# through object.__setattr__ and costs several times as much, on the hot path of every save.


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
        if type(self.data) is not bytes:
            raise InvalidArgumentError(
                f"a put's data is the document's JSON (bytes), not {shown(self.data)}"
            )
        check_depth(self.data, self.id)
        change_vector = self.expected_change_vector
        if change_vector is not None and not isinstance(change_vector, str):
            _check_expected(change_vector)  # (inline: a put is built per document, issue 18)

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
        _check_expected(self.expected_change_vector)


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
    too, for a RavenDB server.

    ``values`` are JSON values: a session's ``defer`` and ``store.operations.send`` write
    them first as a document holding them is written, with the store's conventions
    (``written_patch``), so that a script reads the same on every backend.
    """

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
            raise InvalidIdError(f"a patch names the document it patches, not {shown_id(self.id)}")
        # (Inline, not a loop over a tuple of checks: a patch is built per deferred command,
        # issue 18 measures it in nanoseconds.)
        if not isinstance(self.patch, PatchRequest):
            raise InvalidArgumentError(f"patch is a PatchRequest, not {shown(self.patch)}")
        if self.patch_if_missing is not None and not isinstance(
            self.patch_if_missing, PatchRequest
        ):
            raise InvalidArgumentError(
                f"patch_if_missing is a PatchRequest or None, not {shown(self.patch_if_missing)}"
            )
        if self.create_if_missing is not None:
            check_depth(self.create_if_missing, self.id)
        change_vector = self.expected_change_vector
        if change_vector is not None and not isinstance(change_vector, str):
            _check_expected(change_vector)
        if type(self.skip_patch_if_change_vector_mismatch) is not bool:
            raise InvalidArgumentError(
                "skip_patch_if_change_vector_mismatch is True or False, not "
                f"{shown(self.skip_patch_if_change_vector_mismatch)}"
            )
        if type(self.return_document) is not bool:
            raise InvalidArgumentError(
                f"return_document is True or False, not {shown(self.return_document)}"
            )


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
                f"not {shown(self.type)}"
            )
        validate_counter_name(self.name)
        if type(self.delta) is not int or not -(2**63) <= self.delta < 2**63:
            raise ConfigurationError(
                f"the delta of counter {shown(self.name, limit=MAX_COUNTER_NAME)} is a 64-bit "
                f"integer, not {shown(self.delta)}"
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
            raise InvalidIdError(f"counters belong to a document, not {shown_id(self.id)}")
        self.operations = tuple(self.operations)
        if not self.operations or not all(type(o) is CounterOperation for o in self.operations):
            raise ConfigurationError("a counters command needs counter operations")


def validate_counter_name(name: object) -> str:
    """``name`` if it can name a counter: a non-empty str of at most ``MAX_COUNTER_NAME``
    characters without control characters or lone surrogates (``ConfigurationError``)."""
    if type(name) is not str or not name or len(name) > MAX_COUNTER_NAME:
        raise ConfigurationError(
            f"a counter name is a non-empty string of at most {MAX_COUNTER_NAME} characters, "
            f"not {shown(name)}"
        )
    if any(c < " " for c in name):
        raise ConfigurationError(f"a counter name has no control characters: {shown(name)}")
    try:
        name.encode()
    except UnicodeEncodeError:
        raise ConfigurationError(f"a counter name is valid Unicode: {shown(name)}") from None
    return name


def _check_expected(change_vector: Any) -> None:
    """An expected change vector: None (no check), ``""`` (must not exist) or a str: the
    session's rule (``arguments.check_change_vector``)."""
    check_change_vector(change_vector, "expected_change_vector")


def validate_attachment_name(name: object, what: str = "name") -> str:
    """``name`` if it can name an attachment (``what``: which name, for the message): a
    non-blank str of at most ``MAX_ATTACHMENT_NAME`` characters, without NUL, of valid Unicode
    (``ConfigurationError``). The one rule, for the session's calls as for storage's commands:
    RavenDB's messages show a name plain, so it is checked before any is made."""
    if type(name) is not str or not name.strip():
        raise ConfigurationError(f"an attachment's {what} is a non-blank str, not {shown(name)}")
    if "\x00" in name or len(name) > MAX_ATTACHMENT_NAME:
        raise ConfigurationError(
            f"an attachment's {what} has a NUL or is over {MAX_ATTACHMENT_NAME} characters"
        )
    try:
        name.encode()
    except UnicodeEncodeError:
        raise ConfigurationError(f"an attachment's {what} is not valid Unicode") from None
    return name


def _check_document(document_id: str) -> None:
    validate_id(document_id)
    if not document_id or document_id[-1] in "/|":
        raise InvalidIdError(
            f"an attachment belongs to a document with a complete id, not {shown_id(document_id)}"
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
        validate_attachment_name(self.name)
        _check_expected(self.expected_change_vector)
        if self.content_type is None:
            self.content_type = ""
        if type(self.content_type) is not str or "\x00" in self.content_type:
            raise ConfigurationError(
                f"a content type is a str without NUL, not {shown(self.content_type)}"
            )
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
                    f"attachment {shown(self.name, limit=MAX_ATTACHMENT_NAME)} of "
                    f"{shown_id(self.id)}: its stream was read once "
                    "and cannot seek back to be written again"
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
        validate_attachment_name(self.name)
        _check_expected(self.expected_change_vector)


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
        validate_attachment_name(self.name)
        validate_attachment_name(self.destination_name, "destination name")
        _check_expected(self.expected_change_vector)


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
        f"optimistic concurrency violation on {shown_id(document_id)}: expected "
        f"change vector {shown(expected) if expected else '(none: must not exist)'}, "
        f"storage has {shown(actual) if actual else '(none)'}",
        document_id=document_id,
        expected=expected,
        actual=actual,
    )
