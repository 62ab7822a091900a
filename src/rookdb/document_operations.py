"""Operations on the documents of a database, sent with ``store.operations.send(operation)``,
with RavenDB's names, on every backend::

    from rookdb import PatchRequest
    from rookdb.document_operations import (
        DeleteByQueryOperation, PatchByQueryOperation, PatchOperation)

    store.operations.send(PatchOperation("users/1", None, PatchRequest("this.age++;")))
    done = store.operations.send(PatchByQueryOperation("from Users update { this.age++; }"))
    done.wait_for_completion().total                      # documents patched

``PatchOperation`` answers a ``PatchOperationResult`` (RavenDB's ``PatchStatus`` and the
document after the patch). The by-query operations run to their end before ``send`` returns
(``rookdb.by_query``); their ``Operation`` answers ``wait_for_completion()`` at once, for code
written for RavenDB, where they run in the background.
"""

from __future__ import annotations

import abc
import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

import orjson

from rookdb.by_query import ByQueryResult, delete_by_query, patch_by_query
from rookdb.deferred import written_patch
from rookdb.errors import ConfigurationError, InvalidArgumentError, shown
from rookdb.ids import validate_database_name
from rookdb.storage.base import Storage
from rookdb.storage.commands import PatchCommand, PatchRequest
from rookdb.storage.records import PatchReply

if TYPE_CHECKING:
    from rookdb.serialization.entities import EntityCodec
    from rookdb.store import DocumentStore

__all__ = [
    "DeleteByQueryOperation",
    "DocumentOperation",
    "Operation",
    "Operations",
    "PatchByQueryOperation",
    "PatchOperation",
    "PatchOperationResult",
]

R = TypeVar("R")


class DocumentOperation(abc.ABC, Generic[R]):
    """An operation ``store.operations.send`` runs on one database."""

    @abc.abstractmethod
    def execute(self, storage: Storage) -> R:
        """Run on ``storage``, the database's; the operation's result."""

    def written(self, codec: EntityCodec) -> DocumentOperation[R]:
        """This operation with the values it carries written as a document holding them is,
        by the store's ``codec`` (its conventions); ``store.operations.send`` asks it before
        ``execute``. Most carry none: the operation itself."""
        return self


class PatchOperationResult(NamedTuple):
    """``status``: RavenDB's ``PatchStatus`` (``Patched``, ``NotModified``, ``Created``,
    ``DocumentDoesNotExist``, ``Skipped``); ``document``: the document after the patch (its
    JSON with ``@metadata``), None when there is none; its ``change_vector``."""

    status: str
    document: dict[str, Any] | None
    change_vector: str | None


class PatchOperation(DocumentOperation[PatchOperationResult]):
    """Patch one document in a transaction of its own (RavenDB's ``PatchOperation``)."""

    def __init__(
        self,
        document_id: str,
        change_vector: str | None,
        patch: PatchRequest,
        patch_if_missing: PatchRequest | None = None,
        skip_patch_if_change_vector_mismatch: bool = False,
    ) -> None:
        self.command = PatchCommand(
            document_id,
            patch,
            patch_if_missing,
            expected_change_vector=change_vector,
            skip_patch_if_change_vector_mismatch=skip_patch_if_change_vector_mismatch,
            return_document=True,
        )

    def written(self, codec: EntityCodec) -> PatchOperation:
        operation = copy.copy(self)
        operation.command = written_patch(self.command, codec.written_value)
        return operation

    def execute(self, storage: Storage) -> PatchOperationResult:
        reply = storage.apply([self.command]).replies[0]
        assert isinstance(reply, PatchReply)  # the one command's
        record = reply.document
        if record is None:
            return PatchOperationResult(reply.status, None, None)
        document = orjson.loads(record.data)
        metadata = document.setdefault("@metadata", {})
        metadata.update({"@id": record.id, "@change-vector": record.change_vector})
        return PatchOperationResult(reply.status, document, record.change_vector or None)


class Operation:
    """A finished by-query operation: ``wait_for_completion()`` answers its result."""

    def __init__(self, result: ByQueryResult) -> None:
        self._result = result

    def wait_for_completion(self) -> ByQueryResult:
        return self._result


def _parameters(parameters: Any) -> dict[str, Any]:
    """A by-query operation's parameters: a mapping of names to values, or None."""
    if parameters is None:
        return {}
    if not isinstance(parameters, Mapping):
        raise InvalidArgumentError(
            f"the parameters are a dict of names to values, not {shown(parameters)}"
        )
    return dict(parameters)


class PatchByQueryOperation(DocumentOperation[Operation]):
    """Run the ``update { ... }`` script of an RQL query on each document it matches."""

    def __init__(self, query: str, parameters: Mapping[str, Any] | None = None) -> None:
        if type(query) is not str:
            raise ConfigurationError("a patch by query is RQL text ending in update { ... }")
        self.query, self.parameters = query, _parameters(parameters)

    def written(self, codec: EntityCodec) -> PatchByQueryOperation:
        return PatchByQueryOperation(self.query, codec.json_value(self.parameters))

    def execute(self, storage: Storage) -> Operation:
        return Operation(patch_by_query(storage, self.query, self.parameters))


class DeleteByQueryOperation(DocumentOperation[Operation]):
    """Delete every document an RQL query matches."""

    def __init__(self, query: str, parameters: Mapping[str, Any] | None = None) -> None:
        if type(query) is not str:
            raise ConfigurationError("a delete by query is RQL text")
        self.query, self.parameters = query, _parameters(parameters)

    def written(self, codec: EntityCodec) -> DeleteByQueryOperation:
        return DeleteByQueryOperation(self.query, codec.json_value(self.parameters))

    def execute(self, storage: Storage) -> Operation:
        return Operation(delete_by_query(storage, self.query, self.parameters))


class Operations:
    """``store.operations``: ``send`` a ``DocumentOperation`` to a database."""

    def __init__(self, store: DocumentStore, database: str | None = None) -> None:
        self._store = store
        self._database = database

    def send(self, operation: DocumentOperation[R]) -> R:
        """Run ``operation`` on the store's database (or ``for_database``'s); its result."""
        if not isinstance(operation, DocumentOperation):
            raise ConfigurationError(
                "operations.send() takes an operation of rookdb.document_operations, not "
                f"{type(operation).__name__}"
            )
        store = self._store
        storage = store._storage(self._database or store.database)  # initializes the store
        assert store._codec is not None
        return operation.written(store._codec).execute(storage)

    def for_database(self, database: str) -> Operations:
        """These operations, sent to ``database`` instead of the store's."""
        return Operations(self._store, validate_database_name(database))
