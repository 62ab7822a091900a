"""What a put keeps, for every SQL backend: its document's counters and attachments, read once.

A put's body never decides a document's ``@counters``/``HasCounters`` or
``@attachments``/``HasAttachments``: storage does (``storage.owned_metadata``). A write path
makes each put's data say what the ``counters`` and ``attachments`` tables hold for its
document, with one read of both tables for all the puts it writes at once (``owned_of``:
``OwnedLookup.statement``), in the batch's transaction after the documents are locked, so
that no counters or attachment command changes them in between.

Where the database holds no counter and no attachment at all (the write path knows from the
read it makes first), a put needs no read: its data only loses what its body claimed
(``stripped``, free when the bytes do not mention them). How a write path knows that no other
writer adds the first one meanwhile is its own: SQLite's batch holds the write lock;
PostgreSQL's is in ``postgres.writes`` (the ``owned`` meta flag and its advisory lock).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from rookdb.storage.owned_metadata import (
    ATTACHMENTS,
    COUNTERS,
    attachment_entry,
    kept,
    mark,
)

__all__ = ["KnownOwned", "OwnedLookup", "owned_of", "stripped"]

_MARKS = (mark(COUNTERS), mark(ATTACHMENTS))
_NONE = {COUNTERS: None, ATTACHMENTS: None}


class OwnedLookup(NamedTuple):
    """A dialect's read of the counters and attachments of several keys: key, kind (0 a
    counter, 1 an attachment), name, hash, content type, size, in key, kind and name order.
    Its parameters: the dialect's key list, twice."""

    statement: str

    @classmethod
    def of(cls, schema: str, keys: str) -> OwnedLookup:
        """The read of the tables in ``schema``; ``keys`` is the dialect's condition ``key IN``
        its key list."""
        return cls(
            f"SELECT key, 0, name, CAST(NULL AS text), CAST(NULL AS text), "
            f"CAST(NULL AS bigint), name_key FROM {schema}counters WHERE {keys} "
            f"UNION ALL SELECT key, 1, name, hash, content_type, size, name_key "
            f"FROM {schema}attachments WHERE {keys} ORDER BY 1, 2, 7"
        )


_Found = tuple[dict[str, list[str]], dict[str, list[dict[str, Any]]]]


def _read(conn: Any, lookup: OwnedLookup, key_list: Any) -> _Found:
    """The counters' names and the attachments' entries of the keys of ``key_list``, by key,
    in name order (name_key: as ``owned_metadata`` orders them)."""
    counters: dict[str, list[str]] = {}
    attachments: dict[str, list[dict[str, Any]]] = {}
    for key, kind, name, hash_, content_type, size, _ in conn.execute(
        lookup.statement, (key_list, key_list)
    ).fetchall():
        if kind == 0:
            counters.setdefault(key, []).append(name)
        else:
            attachments.setdefault(key, []).append(
                attachment_entry(name, hash_, content_type, int(size))
            )
    return counters, attachments


def _kept(found: _Found, key: str, data: bytes) -> bytes:
    counters, attachments = found
    return kept(data, {COUNTERS: counters.get(key), ATTACHMENTS: attachments.get(key)})


def owned_of(
    conn: Any, lookup: OwnedLookup, key_list: Any, datas: Sequence[tuple[str, bytes]]
) -> list[bytes]:
    """The data of each put (key, data) saying its document's counters and attachments as
    the tables hold them (``owned_metadata.kept``): one read for them all (``key_list``:
    their keys as the dialect's key list)."""
    found = _read(conn, lookup, key_list)
    return [_kept(found, key, data) for key, data in datas]


class KnownOwned:
    """For a write path that writes its batch's commands one by one (SQLite's): the
    counters and attachments of the documents the batch's puts name, read once, when the
    first put needs them; again, one key at a time, for a key the batch changed since
    (``changed``: a counters or attachment command, a delete) or did not name (a patch's
    put)."""

    def __init__(
        self, conn: Any, lookup: OwnedLookup, key_list: Callable[[list[str]], Any], keys: list[str]
    ) -> None:
        self._lookup, self._key_list = lookup, key_list
        self._known = set(keys)
        self._found = _read(conn, lookup, key_list(keys))

    def changed(self, key: str) -> None:
        """The batch changed the counters or attachments of ``key`` (or deleted it)."""
        self._known.discard(key)

    def kept(self, conn: Any, key: str, data: bytes) -> bytes:
        """``data``, a put's of ``key``, saying its document's counters and attachments."""
        if key in self._known:
            return _kept(self._found, key, data)
        return _kept(_read(conn, self._lookup, self._key_list([key])), key, data)


def stripped_all(datas: list[bytes]) -> list[bytes]:
    """``stripped`` of each of a batch's puts: ``datas`` itself when none mentions counters or
    attachments (the common batch: no call per document)."""
    # Two searches of the batch's bytes joined, not two per document: half the CPU time for
    # 10,000 bench documents (one copy costs less than 20,000 searches' setup). A mark in a
    # document is in the join; a match across two documents would only cost the pass below.
    joined = b"".join(datas)
    if _MARKS[0] in joined or _MARKS[1] in joined:
        return [stripped(data) for data in datas]
    return datas


def stripped(data: bytes) -> bytes:
    """``data`` without counters or attachments in its metadata (storage has none for it);
    ``data`` itself when its bytes do not mention them (two bytes searches)."""
    if data.find(_MARKS[0]) >= 0 or data.find(_MARKS[1]) >= 0:  # ``encoding``: bytes searches
        return kept(data, _NONE)
    return data
