"""Identifiers: document ids, collection names, HiLo tags, database names, and HiLo id
generation (SPEC S14, §2.1).

One rule for the names stored with documents, checked here and nowhere else, the same on every
backend (README, "Limits"): a document id, a collection name and a HiLo tag are ``str``, hold
no control character (C0, DEL, C1) and no lone surrogate, and fit a byte limit in UTF-8 (ids
and tags ``MAX_ID_BYTES``, collection names ``MAX_COLLECTION_NAME_BYTES``); an id does not
start with ``/``; a collection name and a tag are not empty. Anything else is an
``InvalidIdError`` (``InvalidCollectionNameError`` for a collection name), never a driver's
error: PostgreSQL cannot hold a NUL, and a huge collection name would slow every query.

HiLo: each client reserves a range of numbers per id prefix from storage (shared by every client
of the database: embedded processes and the server alike) and hands them out locally, so storing
an entity needs no round trip. Ids look like RavenDB's: ``employees/1-A``.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, cast

from rookdb.errors import (
    ConfigurationError,
    InvalidCollectionNameError,
    InvalidIdError,
    quoted,
)

if TYPE_CHECKING:
    from rookdb.storage.base import Storage

__all__ = [
    "MAX_COLLECTION_NAME_BYTES",
    "MAX_DATABASE_NAME_LENGTH",
    "MAX_ID_BYTES",
    "HiLoIdGenerator",
    "is_valid_id",
    "validate_collection_name",
    "validate_database_name",
    "validate_hilo_tag",
    "validate_id",
]

MAX_ID_BYTES = 512
#: As for ids: a dict stored as ``things/1`` takes its id's prefix as its collection.
MAX_COLLECTION_NAME_BYTES = MAX_ID_BYTES
#: ``from @all_docs`` means every document in RQL: no collection can have that name.
_ALL_DOCS = "@all_docs"
#: RavenDB's limit on a database name's length (``MAX_DATABASE_NAME_LENGTH`` in its clients).
MAX_DATABASE_NAME_LENGTH = 128
_DATABASE_NAME = re.compile(rf"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{{0,{MAX_DATABASE_NAME_LENGTH - 1}}}")
# Control characters (C0, DEL, C1) have no place in an id; neither do lone surrogates.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SERVER_TAG = "A"


def validate_database_name(name: object) -> str:
    """A database name is 1-128 (RavenDB's limit) of letters, digits, ``_ - .``, not starting
    with ``.``; it becomes a file or schema name, so anything else is a ``ConfigurationError``."""
    if not isinstance(name, str) or _DATABASE_NAME.fullmatch(name) is None:
        raise ConfigurationError(
            f"invalid database name {quoted(name)}: use 1-128 letters, digits, '_', '-' or '.', "
            "not starting with '.'"
        )
    return name


def _text_problem(text: object, what: str, limit: int, *, empty: bool = True) -> str | None:
    """What is wrong with ``text`` as a name stored with documents, or None: the one rule
    (``empty``: whether ``""`` is acceptable)."""
    if not isinstance(text, str):
        return f"a {what} is a str, not {type(text).__qualname__}"
    if not text and not empty:
        return f"a {what} is not empty"
    if text.isascii() and text.isprintable():  # the common case, fast
        if len(text) > limit:
            return f"{what} is {len(text)} bytes of UTF-8; the limit is {limit}"
        return None
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return f"{what} {text[:100]!r} holds a lone surrogate"
    if size > limit:
        return f"{what} is {size} bytes of UTF-8; the limit is {limit}"
    if _CONTROL.search(text):
        return f"{what} {text[:100]!r} holds a control character"
    return None


def validate_id(document_id: object) -> str:
    """Raise ``InvalidIdError`` unless ``document_id`` is an acceptable document id."""
    problem = _text_problem(document_id, "document id", MAX_ID_BYTES)
    if problem is not None:
        raise InvalidIdError(problem)
    assert isinstance(document_id, str)
    if document_id.startswith("/"):
        raise InvalidIdError(f"document id {document_id[:100]!r} starts with '/'")
    return document_id


def is_valid_id(value: object) -> bool:
    """Whether ``value`` could be a document id (a reference an include follows, say)."""
    return (
        isinstance(value, str)
        and not value.startswith("/")
        and _text_problem(value, "document id", MAX_ID_BYTES) is None
    )


def validate_collection_name(name: object) -> str:
    """Raise ``InvalidCollectionNameError`` unless ``name`` is an acceptable collection name."""
    problem = _text_problem(name, "collection name", MAX_COLLECTION_NAME_BYTES, empty=False)
    if problem is None and str(name).lower() == _ALL_DOCS:
        problem = f"{name!r} is RQL's name for every document"
    if problem is not None:
        raise InvalidCollectionNameError(problem)
    return cast(str, name)


def validate_hilo_tag(tag: object) -> str:
    """Raise ``InvalidIdError`` unless ``tag`` can prefix HiLo ids (``employees`` of
    ``employees/1-A``): the rule of ids, and not empty."""
    problem = _text_problem(tag, "HiLo tag", MAX_ID_BYTES, empty=False)
    if problem is not None:
        raise InvalidIdError(problem)
    return cast(str, tag)


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
        key = validate_hilo_tag(prefix).lower()
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
