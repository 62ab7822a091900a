"""Every error rookdb raises on purpose.

One root, so ``except rookdb.RookError`` catches them all. Misuse of the API and bad input are
separate from failures of storage; builtin bases are mixed in where callers already expect them
(``KeyError`` for a missing document, ``ValueError`` for bad configuration or ids, ``TypeError``
for values that cannot be serialized)::

    RookError
    ├── ConfigurationError (ValueError)   bad URL, database name, convention change after init
    │   └── InvalidArgumentError (TypeError)  a public call's argument of a type it does not
    │                                     take: a list where a class goes, a callback that
    │                                     cannot be called, a str where a flag goes
    ├── InvalidOperationError             misuse: store in a no-tracking session, closed session
    ├── NonUniqueObjectError              another object already holds that id in the session
    ├── TooManyRequestsError              the session's request budget is spent
    ├── ConcurrencyError                  optimistic concurrency: a change vector did not match
    ├── DocumentNotFoundError (KeyError)  refresh of a document deleted in storage
    ├── SerializationError (TypeError)    NaN, circular reference, unsupported type, 65-bit int,
    │   │                                 nesting deeper than 128 levels, ...
    │   └── DocumentValidationError       a stored document does not validate as its pydantic model
    ├── InvalidIdError (ValueError)       not a str, too long, control characters, lone surrogates,
    │   │                                 leading "/"; also HiLo tags (and empty ones)
    │   └── InvalidCollectionNameError    the same rule for collection names, and not empty
    ├── QueryError                        malformed query or field name; carries the position
    ├── IndexCompilationError             an index definition rookdb cannot run: its position
    ├── IndexEvaluationError              an index's map or reduce failed on one document
    ├── IndexLockedError                  a put would change an index locked LockedError
    ├── PatchError (ValueError)           a patch does not apply: a JSON Patch (RFC 6902) with a
    │   │                                 failed ``test``, a path that is not there, a bad operation
    │   └── PatchScriptError              a JavaScript patch failed: its line and column
    │       └── PatchScriptLimitError     ... ran past its time or memory limit
    ├── ScriptingUnavailableError         a JavaScript patch, and no engine: rookdb[scripting]
    └── StorageError                      the backend failed; ``.original`` is the driver's error
        ├── StorageUnavailableError       cannot reach or open the storage
        ├── OutcomeUnknownError           the write may or may not have committed
        ├── ProtocolError                 the server answered something rookdb cannot read
        ├── DatabaseDoesNotExistError
        ├── DatabaseAlreadyExistsError    create_database of a database that exists
        ├── AuthenticationError
        ├── AuthorizationError
        └── BulkInsertAbortedError        a chunk of a bulk insert failed (chunks before it stay)

RavenDB's names (``ConcurrencyException``, ``NonUniqueObjectException``,
``InvalidOperationException``) are aliases of the matching classes.

Any value not made by rookdb is shown in a message with ``shown`` (never ``repr``, ``!r`` or
``%r``): cut short, so that a value nested 5,000 levels deep cannot make the message a
``RecursionError`` nor 10 MB of a string a 10 MB message. A value checked against a bound
first is shown whole with ``shown(value, limit=bound)`` (a document id: ``ids.shown_id``);
one interpolated plain (``{name}``, as in RavenDB's own wording) must be checked first, as it
is not cut.
``quoted`` is an older name of ``shown``.
"""

from __future__ import annotations

import functools
import reprlib

__all__ = [
    "AuthenticationError",
    "AuthorizationError",
    "BulkInsertAbortedError",
    "BulkInsertAbortedException",
    "ConcurrencyError",
    "ConcurrencyException",
    "ConfigurationError",
    "DatabaseAlreadyExistsError",
    "DatabaseDoesNotExistError",
    "DocumentNotFoundError",
    "DocumentValidationError",
    "IndexCompilationError",
    "IndexEvaluationError",
    "IndexLockedError",
    "InvalidArgumentError",
    "InvalidCollectionNameError",
    "InvalidIdError",
    "InvalidOperationError",
    "InvalidOperationException",
    "NonUniqueObjectError",
    "NonUniqueObjectException",
    "OutcomeUnknownError",
    "PatchError",
    "PatchScriptError",
    "PatchScriptLimitError",
    "ProtocolError",
    "QueryError",
    "RookError",
    "ScriptingUnavailableError",
    "SerializationError",
    "StorageError",
    "StorageUnavailableError",
    "TooManyRequestsError",
    "quoted",
    "shown",
]


class RookError(Exception):
    """Root of every error rookdb raises on purpose."""


class ConfigurationError(RookError, ValueError):
    """The store was configured wrongly (unknown URL scheme, bad database name, late convention),
    or an argument is wrong: ``InvalidArgumentError``, its subclass, where no error of the
    call's own domain (``QueryError``, ...) applies."""


class InvalidArgumentError(ConfigurationError, TypeError):
    """A public call got an argument it does not take: of another type (a list where a class
    goes, a callback that cannot be called, a str where a flag goes), or a value outside what
    the argument allows (a negative timeout). Nothing was written. A ``TypeError`` and a
    ``ValueError`` both, as Python's own calls raise one or the other for such arguments
    (``rookdb.arguments`` holds the shared rules)."""


class InvalidOperationError(RookError):
    """The API was used in a way the session does not allow."""


class NonUniqueObjectError(RookError):
    """A different object is already tracked under this id in the session."""


class TooManyRequestsError(RookError):
    """The session would exceed ``max_number_of_requests_per_session``; nothing was sent."""


class ConcurrencyError(RookError):
    """A write or read check found a different change vector than the session expected.

    ``expected`` is what the session sent (``""`` means "must not exist"); ``actual`` is what
    storage holds (``None`` when the document does not exist). The whole batch was rejected.
    """

    def __init__(
        self, message: str, *, document_id: str, expected: str | None, actual: str | None
    ) -> None:
        super().__init__(message)
        self.document_id = document_id
        self.expected = expected
        self.actual = actual


class DocumentNotFoundError(RookError, KeyError):
    """The document is not in storage (for example ``refresh`` after another session deleted it)."""

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0]) if self.args else ""


class SerializationError(RookError, TypeError):
    """A value cannot become canonical JSON; nothing of the batch was written."""


class DocumentValidationError(SerializationError):
    """A stored document does not validate as the pydantic model it is loaded into (on ``load``,
    query results, ``refresh``); the session tracks nothing of it and goes on working.

    ``errors`` lists ``(field path, message)``, the path dotted from the document's root as
    pydantic writes it (``lines.1.quantity``; ``""`` for the object as a whole); the model's own
    ``ValidationError`` is ``__cause__``. ``conventions.validate_on_load = False`` turns
    validation off.
    """

    def __init__(
        self,
        message: str,
        *,
        document_id: str | None,
        model: type,
        errors: list[tuple[str, str]],
    ) -> None:
        super().__init__(message)
        self.document_id = document_id
        self.model = model
        self.errors = errors


class InvalidIdError(RookError, ValueError):
    """A document id (or a HiLo tag) is not acceptable; nothing was stored."""


class InvalidCollectionNameError(InvalidIdError):
    """A collection name is not acceptable (``rookdb.ids``); nothing was stored."""


class QueryError(RookError):
    """A query is malformed or names an invalid field.

    ``position`` is the 0-based offset in the query text when there is one; ``line`` and
    ``column`` are 1-based.
    """

    def __init__(
        self,
        message: str,
        *,
        position: int | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.position = position
        self.line = line
        self.column = column


class IndexCompilationError(RookError):
    """An index definition rookdb cannot run (RavenDB's ``IndexCompilationException``): a
    LINQ construct outside the supported subset (``docs/indexes.md``), a syntax error, a
    JavaScript map that does not compile. ``line`` and ``column`` (1-based) are the place in
    ``source`` (the map or reduce at fault) when known; nothing was stored."""

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.source = source


class IndexEvaluationError(RookError):
    """An index's map or reduce failed on a value it met (a string divided by a number, a
    condition that is not a boolean, a JavaScript map that threw). RavenDB records such an
    error against the index and skips the document; ``document_id`` names it when known."""

    def __init__(self, message: str, *, document_id: str | None = None) -> None:
        super().__init__(message)
        self.document_id = document_id


class IndexLockedError(RookError):
    """A put would change an index whose lock mode is ``LockedError`` (RavenDB's
    ``IndexAlreadyExistException``): nothing of that put was stored."""


class IndexDoesNotExistError(RookError):
    """No index of that name (RavenDB's ``IndexDoesNotExistException``): a query of an index,
    or an index operation, named one the database does not have."""


class NonStaleResultsTimeoutError(RookError, TimeoutError):
    """``wait_for_non_stale_results()`` waited its time and the index was still stale
    (RavenDB's ``TimeoutException`` for it): an index still being built after a put."""


class PatchError(RookError, ValueError):
    """A patch does not apply to its document: a JSON Patch (RFC 6902) whose ``test``
    operation failed, a path that is not there, a malformed operation; a typed session patch
    on a value of the wrong type. The whole batch was rejected."""


class PatchScriptError(PatchError):
    """A JavaScript patch failed: a syntax error, an exception it threw, a bad call to
    ``load``/``put``/``del``. ``line`` and ``column`` (1-based) are the place in the script
    when the engine tells it; ``document_id`` the document it patched. Nothing of the batch
    was written."""

    def __init__(
        self,
        message: str,
        *,
        line: int | None = None,
        column: int | None = None,
        document_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.document_id = document_id


class PatchScriptLimitError(PatchScriptError):
    """A JavaScript patch ran past its limit: ``limit`` is ``"time"`` or ``"memory"``
    (``rookdb.scripting.ScriptLimits``). Nothing of the batch was written."""

    def __init__(self, message: str, *, limit: str, document_id: str | None = None) -> None:
        super().__init__(message, document_id=document_id)
        self.limit = limit


class ScriptingUnavailableError(RookError):
    """A JavaScript patch needs the embedded engine, which is not installed: ``pip install
    'rookdb[scripting]'`` (``rookdb[server]`` has it). The session's typed patches
    (``patch``, ``increment``, ...) do not need it."""


class StorageError(RookError):
    """The storage backend failed. ``original`` keeps the driver's exception, if any."""

    def __init__(self, message: str, *, original: BaseException | None = None) -> None:
        super().__init__(message)
        self.original = original


class StorageUnavailableError(StorageError):
    """The storage cannot be reached or opened."""


class OutcomeUnknownError(StorageError):
    """The request was sent but its outcome is unknown: the write may or may not have committed."""


class ProtocolError(StorageError):
    """The other side answered something that does not follow the protocol."""


class DatabaseDoesNotExistError(StorageError):
    """The named database does not exist and the backend does not create databases on use."""


class DatabaseAlreadyExistsError(StorageError):
    """``create_database`` named a database that exists (in any case): nothing was changed.
    RavenDB answers ``CreateDatabaseOperation`` so (a ``ConcurrencyException``); opening a
    database, which creates it on first use, never raises this."""


class AuthenticationError(StorageError):
    """The server did not accept the client's credentials."""


class AuthorizationError(StorageError):
    """The credentials are valid but do not allow this operation."""


class BulkInsertAbortedError(StorageError):
    """A chunk of a bulk insert failed (``original`` says why): nothing of that chunk was
    written, the ``written`` documents of the chunks before it were, and the bulk insert
    takes no more documents."""

    def __init__(
        self, message: str, *, written: int = 0, original: BaseException | None = None
    ) -> None:
        super().__init__(message, original=original)
        self.written = written


# RavenDB's names, so code written for the official client keeps working.
ConcurrencyException = ConcurrencyError
NonUniqueObjectException = NonUniqueObjectError
InvalidOperationException = InvalidOperationError
BulkInsertAbortedException = BulkInsertAbortedError


# How messages show a value that came from outside (the rule is in the module's docstring).
#: The characters of a str (or bytes) a message shows by default; the whole is at most
#: ``4 * limit + 2`` characters: as many as the repr of ``limit`` control characters.
_SHORT = 50


class _Shown(reprlib.Repr):
    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.maxlevel, self.maxother = 3, 80
        self.maxlist = self.maxtuple = self.maxdict = self.maxset = self.maxfrozenset = 6
        self.maxlong = len(str(-(2**256) + 1))  # 79: any int of 256 bits, with its sign

    def repr_str(self, x: str, level: int) -> str:
        # The head, then how long it was: reprlib's cut in the middle showed the head and the
        # tail of a value as if they were one (and of a slice, as if it were the value).
        if len(x) <= self.limit:
            return repr(x)
        return f"{x[: self.limit]!r}... ({len(x):,} characters)"

    def repr_bytes(self, x: bytes, level: int) -> str:
        if len(x) <= self.limit:
            return repr(x)
        return f"{x[: self.limit]!r}... ({len(x):,} bytes)"

    repr_bytearray = repr_bytes

    def repr_int(self, x: int, level: int) -> str:
        # reprlib writes every digit before it cuts, and Python refuses past 4,300 digits
        # (ValueError: Exceeds the limit ... for integer string conversion). An int is whole
        # (maxlong holds any of 256 bits and its sign) or shown by its size, never cut.
        if x.bit_length() > 256:
            return f"<{'a negative' if x < 0 else 'an'} int of {x.bit_length()} bits>"
        return super().repr_int(x, level)


@functools.lru_cache(maxsize=32)
def _shower(limit: int) -> _Shown:
    # One for each limit, shared: a reprlib.Repr keeps no state between calls.
    return _Shown(limit)


def shown(value: object, *, limit: int = _SHORT) -> str:
    """``value`` as an error message shows it: its repr, cut short (``reprlib``). A str or
    bytes of more than ``limit`` characters is its first ``limit``, ``...`` and its length; an
    int is whole up to 256 bits, else ``<an int of N bits>``; a container shows six items a
    level, three levels deep; and the whole is at most ``4 * limit + 2`` characters (202 by
    default), cut with ``...``. So it never recurses (a list nested 5,000 levels), never
    floods the message (10 MB of a string, a dict of dicts of long keys), never raises.

    ``limit``: the short default for what nothing checked first; a value checked against a
    bound first (a document id: ``rookdb.ids.MAX_ID_BYTES``, ``ids.shown_id``) is shown whole
    with that bound, where the message is the only place it appears."""
    text = _shower(limit).repr(value)
    cap = 4 * limit + 2
    return text if len(text) <= cap else text[: cap - 3] + "..."


def quoted(value: object, limit: int = _SHORT) -> str:
    """``shown(value, limit=limit)``, by its older name: an alias kept because it is public
    (in ``__all__``). Use ``shown``."""
    return shown(value, limit=limit)
