"""rookdb: a document database for Python with the RavenDB session model.

Public API re-exports only; see ``DocumentStore`` to begin.

rookdb logs through ``logging`` on the ``rookdb`` logger and its children (``rookdb.storage.http``:
failovers, WARNING; ``rookdb.storage.sqlite`` and ``.postgres``: automatic indexes made, INFO;
``.postgres``: batches retried, INFO) and never configures logging: a program that set up none
sees nothing.
"""

import logging as _logging

from rookdb.async_session import AsyncDocumentSession
from rookdb.bulk_insert import BulkInsertOperation
from rookdb.conventions import DocumentConventions, ShouldIgnoreEntityChanges
from rookdb.errors import (
    AuthenticationError,
    AuthorizationError,
    BulkInsertAbortedError,
    BulkInsertAbortedException,
    ConcurrencyError,
    ConcurrencyException,
    ConfigurationError,
    DatabaseAlreadyExistsError,
    DatabaseDoesNotExistError,
    DocumentNotFoundError,
    DocumentValidationError,
    IndexCompilationError,
    IndexDoesNotExistError,
    IndexEvaluationError,
    IndexLockedError,
    InvalidArgumentError,
    InvalidCollectionNameError,
    InvalidIdError,
    InvalidOperationError,
    InvalidOperationException,
    NonStaleResultsTimeoutError,
    NonUniqueObjectError,
    NonUniqueObjectException,
    OutcomeUnknownError,
    PatchError,
    PatchScriptError,
    PatchScriptLimitError,
    ProtocolError,
    QueryError,
    RookError,
    ScriptingUnavailableError,
    SerializationError,
    StorageError,
    StorageUnavailableError,
    TooManyRequestsError,
)
from rookdb.events import (
    AfterSaveChangesEventArgs,
    BeforeDeleteEventArgs,
    BeforeQueryEventArgs,
    BeforeStoreEventArgs,
)
from rookdb.options import OptimisticConcurrencyMode, SessionOptions
from rookdb.query import DocumentQuery, QueryStatistics
from rookdb.raw_query import RawDocumentQuery
from rookdb.session import DocumentSession
from rookdb.storage.commands import DeleteCommand, PatchCommand, PatchRequest, PutCommand
from rookdb.storage.registry import register_backend
from rookdb.store import DocumentStore
from rookdb.streaming import StreamQueryStatistics, StreamResult
from rookdb.tracking.diff import ChangeType, DocumentsChanges
from rookdb.tracking.state import MetadataDictionary

__version__ = "0.1.0"

# The one handler a library may add (Python's logging HOWTO): without it, Python prints the
# WARNINGs of a logger that has no handler anywhere on the stderr of a program that configured
# no logging. Records still reach every handler the program sets up.
_logging.getLogger("rookdb").addHandler(_logging.NullHandler())

__all__ = [
    "AfterSaveChangesEventArgs",
    "AsyncDocumentSession",
    "AuthenticationError",
    "AuthorizationError",
    "BeforeDeleteEventArgs",
    "BeforeQueryEventArgs",
    "BeforeStoreEventArgs",
    "BulkInsertAbortedError",
    "BulkInsertAbortedException",
    "BulkInsertOperation",
    "ChangeType",
    "ConcurrencyError",
    "ConcurrencyException",
    "ConfigurationError",
    "DatabaseAlreadyExistsError",
    "DatabaseDoesNotExistError",
    "DeleteCommand",
    "DocumentConventions",
    "DocumentNotFoundError",
    "DocumentQuery",
    "DocumentSession",
    "DocumentStore",
    "DocumentValidationError",
    "DocumentsChanges",
    "IndexCompilationError",
    "IndexDoesNotExistError",
    "IndexEvaluationError",
    "IndexLockedError",
    "InvalidArgumentError",
    "InvalidCollectionNameError",
    "InvalidIdError",
    "InvalidOperationError",
    "InvalidOperationException",
    "MetadataDictionary",
    "NonStaleResultsTimeoutError",
    "NonUniqueObjectError",
    "NonUniqueObjectException",
    "OptimisticConcurrencyMode",
    "OutcomeUnknownError",
    "PatchCommand",
    "PatchError",
    "PatchRequest",
    "PatchScriptError",
    "PatchScriptLimitError",
    "ProtocolError",
    "PutCommand",
    "QueryError",
    "QueryStatistics",
    "RawDocumentQuery",
    "RookError",
    "ScriptingUnavailableError",
    "SerializationError",
    "SessionOptions",
    "ShouldIgnoreEntityChanges",
    "StorageError",
    "StorageUnavailableError",
    "StreamQueryStatistics",
    "StreamResult",
    "TooManyRequestsError",
    "register_backend",
]
