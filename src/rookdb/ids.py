"""Identifiers: document ids, database names, and HiLo id generation (SPEC S14, §2.1).

HiLo: each client reserves a range of numbers per id prefix from storage (shared by every client
of the database: embedded processes and the server alike) and hands them out locally, so storing
an entity needs no round trip. Ids look like RavenDB's: ``employees/1-A``.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING

from rookdb.errors import ConfigurationError, InvalidIdError, quoted

if TYPE_CHECKING:
    from rookdb.storage.base import Storage

__all__ = [
    "MAX_ID_BYTES",
    "HiLoIdGenerator",
    "validate_collection_name",
    "validate_database_name",
    "validate_hilo_tag",
    "validate_id",
]

MAX_ID_BYTES = 512
_DATABASE_NAME = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,63}")
# Control characters (C0, DEL, C1) have no place in an id; neither do lone surrogates.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SERVER_TAG = "A"


def validate_database_name(name: object) -> str:
    """A database name is 1-64 of letters, digits, ``_ - .``, not starting with ``.``; it becomes
    a file or schema name, so anything else is a ``ConfigurationError``."""
    if not isinstance(name, str) or _DATABASE_NAME.fullmatch(name) is None:
        raise ConfigurationError(
            f"invalid database name {quoted(name)}: use 1-64 letters, digits, '_', '-' or '.', "
            "not starting with '.'"
        )
    return name


def validate_id(document_id: object) -> str:
    """Raise ``InvalidIdError`` unless ``document_id`` is an acceptable document id."""
    if not isinstance(document_id, str):
        raise InvalidIdError(f"a document id is a str, not {type(document_id).__qualname__}")
    if document_id.isascii() and document_id.isprintable():  # the common case, fast
        if len(document_id) > MAX_ID_BYTES:
            raise InvalidIdError(
                f"document id is {len(document_id)} bytes of UTF-8; the limit is {MAX_ID_BYTES}"
            )
        if document_id.startswith("/"):
            raise InvalidIdError(f"document id {document_id!r} starts with '/'")
        return document_id
    try:
        size = len(document_id.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidIdError(f"document id {document_id!r} holds a lone surrogate") from None
    if size > MAX_ID_BYTES:
        raise InvalidIdError(f"document id is {size} bytes of UTF-8; the limit is {MAX_ID_BYTES}")
    if _CONTROL.search(document_id):
        raise InvalidIdError(f"document id {document_id!r} holds a control character")
    if document_id.startswith("/"):
        raise InvalidIdError(f"document id {document_id!r} starts with '/'")
    return document_id


def _validate_name(value: object, what: str) -> str:
    """A collection name or HiLo tag: a non-empty string of at most ``MAX_ID_BYTES`` bytes of
    UTF-8 without control characters (ids are made of them, and storage keeps them)."""
    if not isinstance(value, str):
        raise InvalidIdError(f"a {what} is a str, not {type(value).__qualname__}")
    if not value:
        raise InvalidIdError(f"a {what} cannot be empty")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise InvalidIdError(f"{what} {quoted(value)} holds a lone surrogate") from None
    if size > MAX_ID_BYTES:
        raise InvalidIdError(f"{what} is {size} bytes of UTF-8; the limit is {MAX_ID_BYTES}")
    if _CONTROL.search(value):
        raise InvalidIdError(f"{what} {quoted(value)} holds a control character")
    return value


def validate_collection_name(name: object) -> str:
    """Raise ``InvalidIdError`` unless ``name`` is an acceptable collection name."""
    return _validate_name(name, "collection name")


def validate_hilo_tag(tag: object) -> str:
    """Raise ``InvalidIdError`` unless ``tag`` (the prefix HiLo numbers ids under, such as
    ``users``) is acceptable."""
    return _validate_name(tag, "HiLo tag")


class _Range:
    __slots__ = ("current", "high")

    def __init__(self, low: int, high: int) -> None:
        self.current = low - 1
        self.high = high


class HiLoIdGenerator:
    """Hands out ``prefix/N-A`` ids from ranges reserved in storage; thread-safe.

    Ranges start at 32 numbers and double (up to 1,048,576) each time one is used up, so a
    bulk store of N entities costs O(log N) reservations. ``return_unused`` gives back what is
    left when the store closes, as RavenDB's client does.
    """

    MIN_CAPACITY = 32
    MAX_CAPACITY = 1 << 20

    def __init__(self, storage: Storage, separator: str = "/") -> None:
        self._storage = storage
        self._separator = separator
        self._lock = threading.Lock()
        self._ranges: dict[str, _Range] = {}
        self._capacity: dict[str, int] = {}

    def next_id(self, prefix: str) -> str:
        """The next id for ``prefix`` (case-insensitive: ``Employees`` and ``employees`` share)."""
        key = prefix.lower()
        with self._lock:
            current = self._ranges.get(key)
            if current is None or current.current >= current.high:
                capacity = self._capacity.get(key, self.MIN_CAPACITY // 2) * 2
                capacity = min(capacity, self.MAX_CAPACITY)
                self._capacity[key] = capacity
                low, high = self._storage.reserve_ids(key, capacity)
                current = self._ranges[key] = _Range(low, high)
            current.current += 1
            number = current.current
        return f"{prefix}{self._separator}{number}-{_SERVER_TAG}"

    def return_unused(self) -> None:
        with self._lock:
            for key, current in self._ranges.items():
                if current.current < current.high:
                    self._storage.return_ids(key, current.current, current.high)
            self._ranges.clear()
