"""Commands a session sends with its next ``save_changes``, after its own puts and deletes:
``session.advanced.defer(...)``, and the typed patches (``patch``, ``increment``,
``add_or_patch``, ``patch_array``, ...) that queue ``PatchCommand``s, as RavenDB's client does.

RavenDB's rules: the typed patches of one document merge into one command (one script); a
document with a deferred command cannot also be stored, modified or deleted by the session (the
batch would write it twice: ``InvalidOperationError``); a save sends the deferred commands even
when no entity changed; after a failed save they are all still queued, after a successful one
none is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from rookdb.errors import (
    ConfigurationError,
    InvalidArgumentError,
    InvalidOperationError,
    SerializationError,
    shown,
)
from rookdb.ids import shown_id
from rookdb.patches import ArrayAdd, ArrayRemoveAt, PatchOperation, check_path, render_script
from rookdb.serialization.encoding import INT64_MAX, INT64_MIN
from rookdb.storage.commands import (
    ATTACHMENT_COMMANDS,
    AttachmentCommand,
    AttachmentDeleteCommand,
    AttachmentPutCommand,
    Command,
    DeleteCommand,
    PatchCommand,
    PatchRequest,
    PutCommand,
)
from rookdb.storage.records import document_key
from rookdb.tracking.unit_of_work import Change, ChangeKind

__all__ = ["Deferred", "JavaScriptArray", "typed_request", "written_patch"]


def _check_document(command: PutCommand) -> None:
    """A put made by hand (``defer``) writes the JSON text of an object: anything else is
    refused here, as a session's own encoding never makes it, rather than stored for every
    later read of the document to fail on."""
    try:
        document = orjson.loads(command.data)
    except orjson.JSONDecodeError:
        document = None
    if type(document) is not dict:
        raise SerializationError(
            f"the put of {shown_id(command.id)} writes the JSON text of an "
            f"object, not {shown(command.data)}"
        )


class JavaScriptArray:
    """What ``patch_array``'s callback receives (RavenDB's ``JavaScriptArray``): each call
    adds an operation on the array at the path; calls chain."""

    def __init__(self, path: str, encode: Any) -> None:
        self._path = path
        self._encode = encode
        self.operations: list[PatchOperation] = []

    def add(self, *items: Any) -> JavaScriptArray:
        """Append ``items`` (``push``)."""
        self.operations.append(ArrayAdd(self._path, tuple(self._encode(i) for i in items)))
        return self

    def remove_at(self, index: int) -> JavaScriptArray:
        """Remove the item at ``index`` (``splice(index, 1)``; negative counts from the end)."""
        if type(index) is not int or not INT64_MIN <= index <= INT64_MAX:
            raise InvalidArgumentError(f"remove_at takes a 64-bit int index, not {shown(index)}")
        self.operations.append(ArrayRemoveAt(self._path, index))
        return self


def typed_request(operations: Iterable[PatchOperation]) -> PatchRequest:
    """A request of typed operations, with the script RavenDB's client would send for them."""
    ops = tuple(operations)
    for op in ops:
        check_path(op.path)
    script, values = render_script(ops)
    return PatchRequest(script, values, ops)


def written_patch(command: PatchCommand, write: Callable[[Any], Any]) -> PatchCommand:
    """``command`` with the values of its requests written by ``write`` (a store's
    ``EntityCodec.written_value``: a datetime as rookdb's text, a ``Decimal`` with its
    digits, a type the conventions register as they encode it); what no document may hold
    is a ``SerializationError`` here, before anything is sent."""
    patch, if_missing = command.patch, command.patch_if_missing
    return dataclasses.replace(
        command,
        patch=_written_request(patch, write),
        patch_if_missing=None if if_missing is None else _written_request(if_missing, write),
    )


def _written_request(request: PatchRequest, write: Callable[[Any], Any]) -> PatchRequest:
    if not request.values:
        return request
    if type(request.values) is not dict:  # set after the request was made
        raise ConfigurationError("a patch request's values are a dict")
    return dataclasses.replace(request, values=write(request.values))


class Deferred:
    """A session's queue of deferred commands."""

    def __init__(self) -> None:
        self._commands: list[Command] = []
        self._keys: set[str] = set()
        # Attachment commands (``rookdb.attachments``) queue here too, in call order with the
        # patches, as RavenDB's client defers them; they do not stop a save of their document
        # (storing a document and its attachment in one save is the common case), but a
        # delete of a document that one of them writes to is refused.
        self._attachments: dict[tuple[str, str], str] = {}
        self._attached: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self._commands)

    def __len__(self) -> int:
        return len(self._commands)

    def has(self, key: str) -> bool:
        """Whether a deferred command writes the document of ``key``."""
        return key in self._keys

    def add(self, *commands: Command) -> None:
        """``defer``: storage commands (``PatchCommand``, ``PutCommand``, ``DeleteCommand``, the
        attachment commands)."""
        for command in commands:
            if not isinstance(
                command, (PatchCommand, PutCommand, DeleteCommand, *ATTACHMENT_COMMANDS)
            ):
                raise ConfigurationError(
                    "defer() takes PatchCommand, PutCommand, DeleteCommand or an attachment "
                    f"command, not {type(command).__name__}"
                )
            if type(command) is PutCommand:
                _check_document(command)
        for command in commands:
            if isinstance(command, ATTACHMENT_COMMANDS):
                writes = getattr(command, "destination_id", command.id)
                adds = not isinstance(command, AttachmentDeleteCommand)
                self.attachment(command, [], writes if adds else None)
                continue
            self._commands.append(command)
            self._keys.add(document_key(command.id))

    def attachment(
        self, command: AttachmentCommand, names: list[tuple[str, str, str]], writes: str | None
    ) -> None:
        """Queue an attachment command: ``names`` are the (document id, name, what) it
        concerns (``attachment_kind`` answers them), ``writes`` the id of the document it
        adds an attachment to."""
        self._commands.append(command)
        for document_id, name, what in names:
            self._attachments[(document_key(document_id), name.lower())] = what
        if writes is not None:
            self._attached.add(document_key(writes))

    def streams(self) -> list[Any]:
        """The data of the queued attachment puts (to refuse one stream used twice)."""
        return [c.data for c in self._commands if type(c) is AttachmentPutCommand]

    def attachment_kind(self, document_id: str, name: str) -> str | None:
        """What a queued attachment command does to attachment ``name`` of ``document_id``
        (``"create"``, ``"delete"``, ``"rename"``), None when none concerns it."""
        return self._attachments.get((document_key(document_id), name.lower()))

    def typed(
        self,
        document_id: str,
        operations: list[PatchOperation],
        create_if_missing: bytes | None = None,
    ) -> None:
        """Queue typed ``operations`` on ``document_id``: merged into the document's earlier
        typed patch when it has one (and neither creates the document), as RavenDB's client
        merges ``patch`` calls into one script."""
        key = document_key(document_id)
        if create_if_missing is None:
            for command in reversed(self._commands):
                if (
                    type(command) is PatchCommand
                    and document_key(command.id) == key
                    and command.patch.operations
                    and command.create_if_missing is None
                    and command.patch_if_missing is None
                    and command.expected_change_vector is None
                ):
                    command.patch = typed_request((*command.patch.operations, *operations))
                    return
        self.add(PatchCommand(document_id, typed_request(operations), None, create_if_missing))

    def check(self, changes: Iterable[Change]) -> Iterator[Change]:
        """``changes``, refusing one of a document a deferred command writes too. With nothing
        deferred (the common save) ``changes`` themselves: no step per change."""
        if not self._keys and not self._attached:
            return iter(changes)
        return self._checked(changes)

    def _checked(self, changes: Iterable[Change]) -> Iterator[Change]:
        keys = self._keys
        attached = self._attached
        for change in changes:
            if (
                attached
                and change.kind is ChangeKind.DELETED
                and document_key(change.document_id) in attached
            ):
                raise InvalidOperationError(
                    f"cannot save: document {shown_id(change.document_id)} was "
                    "deleted in the session and an attachment is stored to it in the same save"
                )
            if keys and document_key(change.document_id) in keys:
                what = "deleted" if change.kind is ChangeKind.DELETED else "modified"
                raise InvalidOperationError(
                    f"cannot save: document {shown_id(change.document_id)} was "
                    f"{what} in the session "
                    "and a deferred command (a patch, defer()) writes it too; save one, then "
                    "the other"
                )
            yield change

    def commands(self, loaded: Any) -> list[Command]:
        """The commands to send; a patch of a document the session tracks (``loaded(key)``)
        asks for the patched document back, to update the entity."""
        for command in self._commands:
            if type(command) is PatchCommand and loaded(document_key(command.id)):
                command.return_document = True
        return list(self._commands)

    def clear(self) -> None:
        self._commands.clear()
        self._keys.clear()
        self._attachments.clear()
        self._attached.clear()
