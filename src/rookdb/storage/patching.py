"""``PatchCommand`` in a batch: run inside the batch's transaction, written as puts and deletes.

Every local backend applies a batch through ``Patching``, with the one thing only it can give,
``read(keys)``: documents as its transaction sees them (PostgreSQL locks them ``FOR UPDATE``;
SQLite's transaction holds the write lock). ``Patching`` yields the batch's commands with each
patch replaced by the puts and deletes it makes, so a backend's write loop sees only the
commands it already knows, and builds the ``BatchResult`` from the results of those puts. A
patch that fails raises inside the backend's transaction: nothing of the batch is written.

RavenDB's rules (its ``PatchDocumentCommand``): a missing document is created from
``create_if_missing`` as it is, or by ``patch_if_missing`` run on an empty document, or is
``DocumentDoesNotExist``; a patch leaving the document as it was writes nothing
(``NotModified``); ``expected_change_vector`` must match (``ConcurrencyError``) unless the
command says to skip (``Skipped``). A patch sees what the commands before it in the batch
wrote (their change vectors are not known yet: one expected by a patch then fails).

A script's ``put('users/', doc)`` (or ``'users|'``) answers the id storage completes, as
RavenDB's does, when the backend gives ``complete(id)``: the id made in its transaction, as
a put of that id would get it. Without it (a dry run), the id as given.

A script's ``incrementCounter`` and ``deleteCounter`` become ``CountersCommand``s (not
``answered``: the patch's reply is theirs): those of its own document before its put (then
written even if the script changed nothing else: ``Patched``), others after its writes;
``counter()`` reads with ``read_counters(keys)``, in the transaction, what the batch left:
a backend applies the commands it is given in chunks of ``chunk`` (1: each as it is given;
PostgreSQL's are bigger), so the counter commands this yielded that the backend has not
applied yet are added to what it reads, and those after a read to the values read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import orjson

from rookdb.errors import (
    ConcurrencyError,
    PatchError,
    PatchScriptError,
    RookError,
    SerializationError,
    shown,
)
from rookdb.ids import shown_id
from rookdb.patches import apply_operations
from rookdb.serialization import exact_numbers
from rookdb.serialization.encoding import dumps, json_equal
from rookdb.serialization.exact_numbers import (
    loads_keeping_digits,
    loads_noting,
    written_alike,
    written_back,
)
from rookdb.storage.commands import (
    Command,
    CounterOperation,
    CountersCommand,
    DeleteCommand,
    PatchCommand,
    PatchRequest,
    PutCommand,
    check_expected,
)
from rookdb.storage.records import (
    BatchResult,
    DocumentRecord,
    PatchReply,
    WriteResult,
    document_key,
)

__all__ = ["CounterReader", "Patching", "Reader"]

#: ``read(keys)``: the stored records of these keys, in the batch's transaction (absent: none).
Reader = Callable[[Sequence[str]], dict[str, DocumentRecord]]

#: ``read_counters(keys)``: every counter of each of these documents (by stored name), in the
#: batch's transaction (absent or empty: none).
CounterReader = Callable[[Sequence[str]], dict[str, dict[str, int]]]

#: Metadata storage assigns: a script's copy is dropped before its document is written.
_ASSIGNED = ("@id", "@change-vector", "@last-modified")


class Patching:
    """The commands of ``batch`` with each ``PatchCommand`` replaced by its writes."""

    def __init__(
        self,
        batch: Iterable[Command],
        read: Reader,
        complete: Callable[[str], str] | None = None,
        read_counters: CounterReader | None = None,
        chunk: int = 1,
    ) -> None:
        self._batch = batch
        self._read = read
        self._complete = complete
        self._read_counters = read_counters
        self._chunk = chunk
        self._yielded = 0  # commands yielded so far
        # Counters the scripts read, by key, values by lower-cased name (kept as the batch's
        # later counter commands change them); and each counters command or delete this
        # yielded, by key, with its position (a delete: None, it drops every counter).
        self._counters: dict[str, dict[str, int]] = {}
        self._counter_log: dict[str, list[tuple[int, CountersCommand | None]]] = {}
        self._counter_writes: list[CountersCommand] = []  # the running patch's
        # What the batch wrote so far, by key: the put, or None for a delete.
        self._written: dict[str, PutCommand | None] = {}
        self._puts = 0  # PutCommands yielded so far
        self._generated: set[int] = set()  # positions (among puts) of the patches' own puts
        # Per patch, in batch order: id, status, the position of the put of its document.
        self._replies: list[tuple[str, str, int | None, DocumentRecord | None]] = []
        self._documents: dict[int, PutCommand] = {}  # the patched documents' puts, by position

    def __iter__(self) -> Iterator[Command]:
        # One generator for every command (a put of a session's save is the hot path: one
        # step of this loop each); a patch's writes pass through ``_noted`` one by one.
        written = self._written
        for command in self._batch:
            if type(command) is PutCommand:  # (narrows for mypy without an isinstance call)
                document_id = command.id
                if document_id and document_id[-1] not in "/|":
                    written[document_key(document_id)] = command
                self._puts += 1
                self._yielded += 1
                yield command
            elif type(command) is PatchCommand:
                for made in self._patch(command):
                    self._noted(made)
                    yield made
            else:
                if type(command) is DeleteCommand:
                    written[document_key(command.id)] = None
                self._noted(command)
                yield command

    def _noted(self, command: Command) -> None:
        """Count ``command`` as yielded, noting the counters it changes (a counters command,
        a delete)."""
        kind = type(command)
        if kind is CountersCommand or kind is DeleteCommand:
            assert isinstance(command, (CountersCommand, DeleteCommand))
            self._note_counters(command)
        self._yielded += 1

    @property
    def replies_so_far(self) -> int:
        """How many patches this has yielded the writes of: where a reply of another command
        goes among theirs (``relational.revisions.with_revision_replies``)."""
        return len(self._replies)

    def result(self, puts: Sequence[WriteResult]) -> BatchResult:
        """The batch's result from the results of every put this yielded, in order."""
        if not self._replies:
            return BatchResult(list(puts))
        replies = []
        for document_id, status, position, record in self._replies:
            if position is not None:
                put = self._documents[position]
                written = puts[position]
                record = DocumentRecord(
                    written.id,
                    put.data,
                    written.change_vector,
                    written.last_modified,
                    put.collection,
                )
            replies.append(PatchReply(document_id, status, record))
        own = [r for i, r in enumerate(puts) if i not in self._generated]
        return BatchResult(own, replies)

    # -- counters -----------------------------------------------------------------------------

    def _note_counters(self, command: CountersCommand | DeleteCommand) -> None:
        key = document_key(command.id)
        counters = command if type(command) is CountersCommand else None
        self._counter_log.setdefault(key, []).append((self._yielded, counters))
        values = self._counters.get(key)
        if values is not None:
            _count(values, counters)

    def _counter_values(self, ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """Every counter of the documents of ``ids``, as the batch left them so far."""
        keys = {document_key(i): i for i in ids}
        unread = [key for key in keys if key not in self._counters]
        if unread and self._read_counters is not None:
            found = self._read_counters(unread)
            applied = self._yielded // self._chunk * self._chunk
            for key in unread:
                values = {n.lower(): v for n, v in (found.get(key) or {}).items()}
                for position, command in self._counter_log.get(key, ()):
                    if position >= applied:  # yielded, not applied by the backend yet
                        _count(values, command)
                self._counters[key] = values
        return {i: self._counters.get(key, {}) for key, i in keys.items()}

    # -- one patch ----------------------------------------------------------------------------

    def _current(self, keys: Sequence[str]) -> dict[str, DocumentRecord | None]:
        """The documents of ``keys`` as the batch left them so far, then as stored."""
        out: dict[str, DocumentRecord | None] = {}
        unread = []
        for key in keys:
            if key in self._written:
                put = self._written[key]
                out[key] = (
                    None
                    if put is None
                    else DocumentRecord(put.id, put.data, "", "", put.collection)
                )
            else:
                unread.append(key)
        if unread:
            found = self._read(unread)
            for key in unread:
                out[key] = found.get(key)
        return out

    def _patch(self, command: PatchCommand) -> Iterator[Command]:
        key = document_key(command.id)
        record = self._current([key])[key]
        actual = record.change_vector if record is not None else None
        expected = command.expected_change_vector
        if not (
            expected is None
            or (expected == "" and record is None)
            or (expected != "" and expected == actual)
        ):
            if command.skip_patch_if_change_vector_mismatch:
                self._replies.append((command.id, "Skipped", None, record))
                return
            raise ConcurrencyError(
                f"optimistic concurrency violation on {shown_id(command.id)}: "
                "expected change vector "
                f"{shown(expected) if expected else '(none: must not exist)'}, "
                f"storage has {shown(actual) if actual else '(none)'}",
                document_id=command.id,
                expected=expected,
                actual=actual or None,
            )
        writes: list[tuple[str, dict[str, Any] | None, str | None]] = []
        self._counter_writes = []
        # A typed patch writes back what it does not touch as it was (``9.50``, not ``9.5``):
        # the numbers a float changes are noted as read and written back last, with those
        # it sets (a Decimal's digits). (A script's document goes through JavaScript's
        # numbers, which keep no digits.)
        notes: exact_numbers.Notes = {}
        if record is None:
            if command.create_if_missing is not None:
                # Stored as it is: its numbers as written (``Decimal("9.50")`` as ``9.50``).
                document = loads_keeping_digits(command.create_if_missing)
            elif command.patch_if_missing is not None:
                document, writes = self._run(
                    command.patch_if_missing, {"@metadata": {"@id": command.id}}, command.id, notes
                )
            else:
                self._replies.append((command.id, "DocumentDoesNotExist", None, None))
                return
            status = "Created"
            metadata = document.get("@metadata")
            collection = metadata.get("@collection") if type(metadata) is dict else None
            collection = collection or "@empty"
        else:
            original = _as_document(record, notes if command.patch.operations else None)
            document, writes = self._run(command.patch, original, command.id, notes)
            status = "Patched"
            collection = record.collection
            _keep_collection(document, record, command.id)
            stripped, was = _stripped(document), _stripped(original)
            if command.patch.operations:
                # What is written, not Python's ``==``: 1 to true, 1 to 1.0, 9.5 to 9.50 are
                # changes (Patched), as JSON tells them apart (``==``: a quick no first).
                unchanged = stripped == was and written_alike(stripped, was, notes)
            else:
                # The script's document went through JavaScript's numbers, where 1 and 1.0
                # are one; true is no number there either (``==``: a quick no first).
                unchanged = stripped == was and json_equal(stripped, was)
            if unchanged:
                status = "NotModified"
        position = None
        if record is not None and self._counter_writes:
            # The script's counters of its own document go before the document's put: the
            # put then writes the @counters they leave, and the reply has the document's
            # last change vector (a session that holds it saves it again without conflict).
            own = [c for c in self._counter_writes if document_key(c.id) == key]
            if own:
                self._counter_writes = [c for c in self._counter_writes if c not in own]
                status = "Patched"
                yield from own
        if status != "NotModified":
            data = _encode(written_back(_stripped(document), notes), command.id)
            put = PutCommand(record.id if record else command.id, collection, data)
            position = self._emit(put)
            yield put
        # NotModified: the document as it is (its change vector "" if this batch wrote it).
        self._replies.append((command.id, status, position, record))
        for write_id, write_document, expected in writes:
            write_key = document_key(write_id)
            if expected is not None:
                current = self._current([write_key])[write_key]
                check_expected(write_id, expected, current.change_vector if current else None)
            if write_document is None:
                self._written[write_key] = None
                yield DeleteCommand(write_id)
                continue
            metadata = write_document.get("@metadata")
            write_collection = metadata.get("@collection") if type(metadata) is dict else None
            put = PutCommand(
                write_id, write_collection or "@empty", _encode(write_document, write_id)
            )
            self._emit(put)
            yield put
        yield from self._counter_writes

    def _emit(self, put: PutCommand) -> int:
        position = self._puts
        self._puts += 1
        self._generated.add(position)
        self._documents[position] = put
        if put.id and put.id[-1] not in "/|":
            self._written[document_key(put.id)] = put
        return position

    def _run(
        self,
        request: PatchRequest,
        document: dict[str, Any],
        document_id: str,
        notes: exact_numbers.Notes,
    ) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any] | None, str | None]]]:
        """``request`` applied to ``document``: the document after it, and the script's
        writes (id, document or None for a delete, the change vector it expects). Typed
        operations note the numbers they set with their digits in ``notes``."""
        if request.operations:
            return apply_operations(document, request.operations, notes), []
        from rookdb.scripting.engine import run_patch_script  # the engine: scripts only

        def read(ids: Sequence[str]) -> dict[str, dict[str, Any] | None]:
            found = self._current([document_key(i) for i in ids])
            return {
                i: None if (r := found[document_key(i)]) is None else _as_document(r) for i in ids
            }

        outcome = run_patch_script(
            request.script,
            request.values,
            document,
            read,
            document_id,
            None,
            self._complete,
            self._counter_values,
        )
        commands = self._counter_writes
        for counter in outcome.counters:
            try:
                operation = CounterOperation(counter.type, counter.name, counter.delta)
                if commands and commands[-1].id == counter.id:
                    last = commands[-1]
                    commands[-1] = CountersCommand(last.id, (*last.operations, operation), False)
                else:
                    commands.append(CountersCommand(counter.id, (operation,), False))
            except RookError as exc:  # a bad name or id: the script's error
                raise PatchScriptError(
                    f"the patch script failed patching {shown_id(document_id)}: {exc}",
                    document_id=document_id,
                ) from None
        return outcome.document, [(w.id, w.document, w.change_vector) for w in outcome.writes]


def _count(values: dict[str, int], command: CountersCommand | None) -> None:
    """``values`` (by lower-cased name) after ``command`` (None: the document's delete)."""
    if command is None:
        values.clear()
        return
    for operation in command.operations:
        name = operation.name.lower()
        if operation.type == "Increment":
            values[name] = values.get(name, 0) + operation.delta
        elif operation.type == "Delete":
            values.pop(name, None)


def _as_document(
    record: DocumentRecord, notes: exact_numbers.Notes | None = None
) -> dict[str, Any]:
    """A record as a script sees it: its JSON with ``@id``, ``@change-vector`` and
    ``@last-modified`` in ``@metadata``. With ``notes``: the floats that do not give back the
    text they were read from are noted there (``exact_numbers.loads_noting``)."""
    data = record.data
    document: dict[str, Any] = orjson.loads(data) if notes is None else loads_noting(data, notes)
    metadata = document.setdefault("@metadata", {})
    if type(metadata) is dict:
        metadata["@id"] = record.id
        if record.change_vector:
            metadata["@change-vector"] = record.change_vector
        if record.last_modified:
            metadata["@last-modified"] = record.last_modified
    return document


def _stripped(document: dict[str, Any]) -> dict[str, Any]:
    metadata = document.get("@metadata")
    if type(metadata) is not dict or not any(k in metadata for k in _ASSIGNED):
        return document
    out = dict(document)
    out["@metadata"] = {k: v for k, v in metadata.items() if k not in _ASSIGNED}
    return out


def _keep_collection(document: dict[str, Any], record: DocumentRecord, document_id: str) -> None:
    metadata = document.get("@metadata")
    if type(metadata) is not dict:
        raise PatchError(f"the patch of {shown_id(document_id)} left @metadata not an object")
    collection = metadata.get("@collection", record.collection)
    if collection != record.collection and not (
        record.collection == "@empty" and collection is None
    ):
        raise PatchError(
            f"the patch of {shown_id(document_id)} changes its collection from "
            f"{shown(record.collection)} to {shown(collection)}: a patch cannot"
        )


def _encode(document: dict[str, Any], document_id: str) -> bytes:
    try:
        return dumps(document)
    except SerializationError as exc:
        raise PatchError(f"the patched document {shown_id(document_id)}: {exc}") from None
