"""rookdb: a document database for Python with the RavenDB session model.

Public API re-exports only; see ``DocumentStore`` to begin.
"""

from rookdb.conventions import DocumentConventions, ShouldIgnoreEntityChanges
from rookdb.errors import (
    AuthenticationError,
    AuthorizationError,
    ConcurrencyError,
    ConcurrencyException,
    ConfigurationError,
    DatabaseDoesNotExistError,
    DocumentNotFoundError,
    InvalidCollectionNameError,
    InvalidIdError,
    InvalidOperationError,
    InvalidOperationException,
    NonUniqueObjectError,
    NonUniqueObjectException,
    OutcomeUnknownError,
    ProtocolError,
    QueryError,
    RookError,
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
from rookdb.rql import RawDocumentQuery
from rookdb.session import DocumentSession
from rookdb.store import DocumentStore
from rookdb.tracking.diff import ChangeType, DocumentsChanges
from rookdb.tracking.state import MetadataDictionary

__version__ = "0.1.0"

__all__ = [
    "AfterSaveChangesEventArgs",
    "AuthenticationError",
    "AuthorizationError",
    "BeforeDeleteEventArgs",
    "BeforeQueryEventArgs",
    "BeforeStoreEventArgs",
    "ChangeType",
    "ConcurrencyError",
    "ConcurrencyException",
    "ConfigurationError",
    "DatabaseDoesNotExistError",
    "DocumentConventions",
    "DocumentNotFoundError",
    "DocumentQuery",
    "DocumentSession",
    "DocumentStore",
    "DocumentsChanges",
    "InvalidCollectionNameError",
    "InvalidIdError",
    "InvalidOperationError",
    "InvalidOperationException",
    "MetadataDictionary",
    "NonUniqueObjectError",
    "NonUniqueObjectException",
    "OptimisticConcurrencyMode",
    "OutcomeUnknownError",
    "ProtocolError",
    "QueryError",
    "QueryStatistics",
    "RawDocumentQuery",
    "RookError",
    "SerializationError",
    "SessionOptions",
    "ShouldIgnoreEntityChanges",
    "StorageError",
    "StorageUnavailableError",
    "TooManyRequestsError",
]
