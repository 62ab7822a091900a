"""Identifiers: document ids, collection names, HiLo tags, database names, and HiLo id
generation (SPEC S14, §2.1).

One rule for the names stored with documents, checked here and nowhere else, the same on every
backend (README, "Limits"): a document id, a collection name and a HiLo tag are ``str``, hold
no lone surrogate (UTF-8 cannot hold one) and fit a byte limit in UTF-8: ``MAX_ID_BYTES``,
512, RavenDB's limit, for ids; ``MAX_HILO_TAG_BYTES`` for tags, so that their
``Raven/Hilo/<tag>`` document's id fits too; ``MAX_COLLECTION_NAME_BYTES`` for collection
names. Each holds anything else RavenDB accepts, control characters included (RavenDB's
clients test collection names with them too), except NUL, which PostgreSQL cannot hold:
refused on every backend, so that a name that works on one works on all. An id does not
start with ``/`` (RavenDB's clients refuse it too); a collection name and a tag are not
empty. Anything else is an ``InvalidIdError`` (``InvalidCollectionNameError`` for a collection
name), never a driver's error; a huge collection name would slow every query.

HiLo: each client reserves a range of numbers per id prefix from storage (shared by every client
of the database: embedded processes and the server alike) and hands them out locally, so storing
an entity needs no round trip. Ids look like RavenDB's: ``employees/1-A``. Storage keeps the
ranges as RavenDB does, in ``Raven/Hilo/<tag>`` documents (``storage.relational.hilo``); the
size of the next range is RavenDB's rule (``hilo_capacity``), here and in ``rookdb serve``.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from typing import TYPE_CHECKING, Any, cast, overload

from rookdb.errors import (
    ConfigurationError,
    InvalidCollectionNameError,
    InvalidIdError,
    shown,
)

if TYPE_CHECKING:
    from rookdb.storage.base import Storage

__all__ = [
    "HILO_COLLECTION",
    "HILO_MAX_CAPACITY",
    "HILO_MIN_CAPACITY",
    "HILO_PREFIX",
    "MAX_COLLECTION_NAME_BYTES",
    "MAX_DATABASE_NAME_LENGTH",
    "MAX_HILO_TAG_BYTES",
    "MAX_ID_BYTES",
    "HiLoIdGenerator",
    "hilo_capacity",
    "hilo_document_id",
    "is_valid_id",
    "shown_id",
    "validate_collection_name",
    "validate_database_name",
    "validate_hilo_tag",
    "validate_id",
    "validate_ids",
]

MAX_ID_BYTES = 512
#: As for ids: a dict stored as ``things/1`` takes its id's prefix as its collection.
MAX_COLLECTION_NAME_BYTES = MAX_ID_BYTES
#: ``from @all_docs`` means every document in RQL: no collection can have that name.
_ALL_DOCS = "@all_docs"
#: RavenDB's limit on a database name's length (``MAX_DATABASE_NAME_LENGTH`` in its clients).
MAX_DATABASE_NAME_LENGTH = 128
_DATABASE_NAME = re.compile(rf"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{{0,{MAX_DATABASE_NAME_LENGTH - 1}}}")
# Control characters (C0, DEL, C1) have no place in a collection name; NUL in nothing stored.
_SERVER_TAG = "A"

#: Where RavenDB keeps a tag's HiLo range: the document ``Raven/Hilo/<tag>``, in ``@hilo``.
HILO_PREFIX = "Raven/Hilo/"
HILO_COLLECTION = "@hilo"
#: A tag's HiLo document id is an id too: the tag fits in what the prefix leaves.
MAX_HILO_TAG_BYTES = MAX_ID_BYTES - len(HILO_PREFIX)
#: RavenDB's range sizes: from 32 numbers, doubling while ranges run out within 30 seconds,
#: halving after a minute, at most 1,048,576.
HILO_MIN_CAPACITY = 32
HILO_MAX_CAPACITY = 1 << 20


def validate_database_name(name: object) -> str:
    """A database name is 1-128 (RavenDB's limit) of letters, digits, ``_ - .``, not starting
    with ``.``; it becomes a file or schema name, so anything else is a ``ConfigurationError``."""
    if not isinstance(name, str) or _DATABASE_NAME.fullmatch(name) is None:
        raise ConfigurationError(
            f"invalid database name {shown(name)}: use 1-128 letters, digits, '_', '-' or '.', "
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
    if len(text) > limit:  # too long whatever it holds: not read through
        return f"{what} is {len(text)} characters; the limit is {limit} bytes of UTF-8"
    if text.isascii() and text.isprintable():  # the common case, fast
        return None
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError:
        # Of at most ``limit`` characters: whole (its escapes show the surrogate).
        return f"{what} {shown(text, limit=limit)} holds a lone surrogate"
    if size > limit:
        return f"{what} is {size} bytes of UTF-8; the limit is {limit}"
    if "\x00" in text:
        # Of at most ``limit`` bytes: whole, the NUL shown too.
        whole = shown(text, limit=limit)
        return f"{what} {whole} holds a NUL character, which PostgreSQL cannot store"
    return None


def shown_id(document_id: object) -> str:
    """A document id as a message shows it (``errors.shown``), whole up to ``MAX_ID_BYTES``
    characters: for an id checked first, where the message is the only place it appears."""
    return shown(document_id, limit=MAX_ID_BYTES)


def validate_id(document_id: object) -> str:
    """Raise ``InvalidIdError`` unless ``document_id`` is an acceptable document id."""
    if (
        type(document_id) is str
        and 0 < len(document_id) <= MAX_ID_BYTES  # (first: a hostile id of megabytes)
        and document_id.isascii()
        and document_id.isprintable()
        and document_id[0] != "/"
    ):
        return document_id  # the common case (``_text_problem``'s first test), in one call
    problem = _text_problem(document_id, "document id", MAX_ID_BYTES)
    if problem is not None:
        raise InvalidIdError(problem)
    assert isinstance(document_id, str)
    if document_id.startswith("/"):
        raise InvalidIdError(f"document id {shown_id(document_id)} starts with '/'")
    return document_id


def validate_ids(ids: list[Any]) -> None:
    """``validate_id`` for each of ``ids`` (a load of many). Ids that are all short, printable
    ASCII, none starting with '/', are checked a few C calls for the whole list; otherwise
    one by one, which raises the error of the first bad one."""
    try:
        text = "".join(ids)
    except TypeError:  # not all str: validate_id says which
        text = "\x00"
    if (
        text.isascii()
        and text.isprintable()  # so no id holds a NUL: one marks where each id starts
        and max(map(len, ids), default=0) <= MAX_ID_BYTES
        and "\x00/" not in "\x00" + "\x00".join(ids)
    ):
        return
    for document_id in ids:
        validate_id(document_id)


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
    # (``str.__str__``: a str enum's member is its value, not ``Names.MEMBER``)
    if problem is None and str.__str__(cast(str, name)).lower() == _ALL_DOCS:
        problem = f"{shown(name)} is RQL's name for every document"
    if problem is not None:
        raise InvalidCollectionNameError(problem)
    return cast(str, name)


def validate_hilo_tag(tag: object) -> str:
    """Raise ``InvalidIdError`` unless ``tag`` can prefix HiLo ids (``employees`` of
    ``employees/1-A``): the rule of ids, not empty, and short enough that its document's id
    (``Raven/Hilo/<tag>``) is an id."""
    problem = _text_problem(tag, "HiLo tag", MAX_HILO_TAG_BYTES, empty=False)
    if problem is not None:
        raise InvalidIdError(problem)
    return cast(str, tag)


def hilo_document_id(tag: str) -> str:
    """The id of the document holding ``tag``'s HiLo range (``Raven/Hilo/employees``)."""
    return HILO_PREFIX + tag


def hilo_capacity(
    last_size: int, last_range_at: dt.datetime | None, now: dt.datetime | None = None
) -> int:
    """The size of the next HiLo range, RavenDB's rule: after a range of ``last_size`` reserved
    at ``last_range_at`` (None: the first range), twice as many if it ran out within 30
    seconds, as many within a minute, half as many after that; 32 to 1,048,576."""
    if last_size <= 0 or last_range_at is None:
        return HILO_MIN_CAPACITY
    if last_range_at.tzinfo is None:
        last_range_at = last_range_at.replace(tzinfo=dt.timezone.utc)
    elapsed = ((now or dt.datetime.now(dt.timezone.utc)) - last_range_at).total_seconds()
    if elapsed < 30:
        size = last_size * 2
    elif elapsed <= 60:
        size = last_size
    else:
        size = last_size // 2
    return min(max(size, HILO_MIN_CAPACITY), HILO_MAX_CAPACITY)


class _Range:
    __slots__ = ("at", "current", "high", "size")

    def __init__(self, low: int, high: int) -> None:
        self.current = low - 1
        self.high = high
        self.size = high - low + 1
        self.at = dt.datetime.now(dt.timezone.utc)


class HiLoIdGenerator:
    """Hands out ``prefix/N-A`` ids from ranges reserved in storage; thread-safe.

    Ranges are sized by RavenDB's rule (``hilo_capacity``): 32 numbers first, twice as many
    while they run out within 30 seconds, so a bulk store of N entities costs O(log N)
    reservations. ``return_unused`` gives back what is left when the store closes, as
    RavenDB's client does.
    """

    MIN_CAPACITY = HILO_MIN_CAPACITY
    MAX_CAPACITY = HILO_MAX_CAPACITY

    def __init__(self, storage: Storage, separator: str = "/") -> None:
        self._storage = storage
        self._separator = separator
        self._lock = threading.Lock()
        self._ranges: dict[str, _Range] = {}

    @overload
    def next_id(self, prefix: str) -> str: ...
    @overload
    def next_id(self, prefix: str, reserve: bool) -> str | None: ...
    def next_id(self, prefix: str, reserve: bool = True) -> str | None:
        """The next id for ``prefix`` (case-insensitive: ``Employees`` and ``employees`` share).
        ``reserve=False``: None rather than a request when no number of a range is left (the
        async session, on its event loop)."""
        key = validate_hilo_tag(prefix).lower()
        with self._lock:
            current = self._ranges.get(key)
            if current is None or current.current >= current.high:
                if not reserve:
                    return None
                if current is None:
                    capacity, last_max = hilo_capacity(0, None), 0
                else:
                    capacity, last_max = hilo_capacity(current.size, current.at), current.high
                low, high = self._storage.reserve_ids(key, capacity, last_max)
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
