"""RavenDB's error answers as rookdb speaks them: which HTTP status and RavenDB exception type
each rookdb error is sent as (``error_status``, ``error_body``), and the rookdb error an answer
stands for (``error_from_body``). The server and the http backend share this; ``rookdb.protocol``
re-exports it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rookdb.errors import (
    AuthenticationError,
    AuthorizationError,
    ConcurrencyError,
    ConfigurationError,
    DatabaseAlreadyExistsError,
    DatabaseDoesNotExistError,
    DocumentNotFoundError,
    InvalidCollectionNameError,
    InvalidIdError,
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
)

__all__ = ["error_body", "error_from_body", "error_status", "raven_error"]

_RAVEN = "Raven.Client.Exceptions."


# rookdb error class -> (HTTP status, RavenDB exception type). Subclasses before bases.
_ERRORS: list[tuple[type[RookError], int, str]] = [
    (ConcurrencyError, 409, "ConcurrencyException"),
    (QueryError, 400, "InvalidQueryException"),
    # A script's own failure, its limits included: what the client sent does not run.
    (PatchScriptLimitError, 400, "Documents.Patching.JavaScriptException"),
    (PatchScriptError, 400, "Documents.Patching.JavaScriptException"),
    (ScriptingUnavailableError, 501, "RavenException"),
    # RavenDB's own answer is its JSON Patch library's exception, unknown to its clients (they
    # raise RavenException for it); a bad request it is, never a 5xx.
    (PatchError, 400, "BadRequestException"),
    (InvalidCollectionNameError, 400, "BadRequestException"),
    (InvalidIdError, 400, "BadRequestException"),
    (SerializationError, 400, "BadRequestException"),
    (ConfigurationError, 400, "BadRequestException"),
    (DocumentNotFoundError, 400, "Documents.DocumentDoesNotExistException"),
    (DatabaseDoesNotExistError, 503, "Database.DatabaseDoesNotExistException"),
    # As RavenDB answers CreateDatabaseOperation for a database that exists.
    (DatabaseAlreadyExistsError, 409, "ConcurrencyException"),
    (AuthenticationError, 401, "Security.AuthenticationException"),
    (AuthorizationError, 403, "Security.AuthorizationException"),
    (StorageUnavailableError, 503, "RavenException"),
    (OutcomeUnknownError, 500, "RavenException"),
    (ProtocolError, 400, "BadRequestException"),
    (StorageError, 500, "RavenException"),
]
_BY_NAME: dict[str, type[RookError]] = {cls.__name__: cls for cls, _, _ in _ERRORS}


def raven_error(type_name: str, message: str) -> dict[str, Any]:
    """An error body in RavenDB's shape; ``type_name`` under ``Raven.Client.Exceptions.``."""
    return {"Type": _RAVEN + type_name, "Message": message, "Error": message}


def error_status(error: RookError) -> int:
    for cls, status, _ in _ERRORS:
        if isinstance(error, cls):
            return status
    return 400


def error_body(error: RookError) -> dict[str, Any]:
    """A RavenDB-style error body (``Type``, ``Message``, ``Error``) for a rookdb error, with
    what rookdb's client needs to raise the same error again. Never a stack trace."""
    raven_type, rookdb_type = "RavenException", type(error).__name__
    for cls, _, name in _ERRORS:
        if isinstance(error, cls):
            raven_type, rookdb_type = name, cls.__name__
            break
    body = raven_error(raven_type, str(error))
    body["RookdbError"] = rookdb_type
    if isinstance(error, ConcurrencyError):
        body.update(
            Id=error.document_id,
            ExpectedChangeVector=error.expected,
            ActualChangeVector=error.actual,
        )
    elif isinstance(error, QueryError):
        body.update(Position=error.position, Line=error.line, Column=error.column)
    elif isinstance(error, PatchScriptError):
        body.update(Id=error.document_id, Line=error.line, Column=error.column)
        if isinstance(error, PatchScriptLimitError):
            body["Limit"] = error.limit
    return body


def error_from_body(status: int, body: Mapping[str, Any] | None) -> RookError:
    """The rookdb error a server's error answer stands for."""
    body = body or {}
    message = str(body.get("Message") or f"the server answered HTTP {status}")
    name = body.get("RookdbError")
    if name == "DatabaseAlreadyExistsError":  # a 409 that is not about a document
        return DatabaseAlreadyExistsError(message)
    if status == 409 or name == "ConcurrencyError":
        return ConcurrencyError(
            message,
            document_id=str(body.get("Id") or ""),
            expected=body.get("ExpectedChangeVector"),
            actual=body.get("ActualChangeVector"),
        )
    if name == "QueryError":
        return QueryError(
            message, position=body.get("Position"), line=body.get("Line"), column=body.get("Column")
        )
    if name == "PatchScriptLimitError":
        return PatchScriptLimitError(
            message, limit=str(body.get("Limit") or "time"), document_id=body.get("Id")
        )
    if name == "PatchScriptError":
        return PatchScriptError(
            message, line=body.get("Line"), column=body.get("Column"), document_id=body.get("Id")
        )
    cls = _BY_NAME.get(str(name))
    if cls is not None and cls not in (ConcurrencyError, QueryError):
        return cls(message)
    if status == 401:
        return AuthenticationError(message)
    if status == 403:
        return AuthorizationError(message)
    if status == 503:
        return StorageUnavailableError(message)
    return StorageError(message)
