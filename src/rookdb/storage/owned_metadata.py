"""Metadata storage owns: written by storage, kept when anyone puts the document again.

RavenDB keeps some of a document's metadata itself: the names of its counters (``@counters``,
sorted, with ``HasCounters`` in ``@flags``) and of its attachments (``@attachments`` with
``HasAttachments``). A client never writes them: the session sends back the metadata it loaded,
which may be out of date by then, and a document put afresh has none. So every write path runs
a put's data through ``kept`` with what storage has for that document, and the put's body never
adds, drops or changes them; commands that change counters or attachments write them with
``with_owned``.

Each piece is an ``Owned`` (the metadata key and its flag). ``kept`` touches only the pieces
its caller passes, so a backend that knows its counters but not (yet) its attachments leaves
``@attachments`` alone. ``Owned.mentioned`` is the fast test that lets a document without a
piece skip the JSON work.

The values, as RavenDB writes them: ``@counters`` is the list of the counters' names in name order
(``counters_value``); ``@attachments`` a list of ``{"Name", "Hash", "ContentType", "Size"}``
(``attachment_entry``) in name order, case-insensitively (``attachments_value``). Either is
None where the document has none: then neither the key nor the flag is written.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from rookdb.serialization.encoding import dumps
from rookdb.serialization.exact_numbers import loads_keeping_digits

__all__ = [
    "ATTACHMENTS",
    "COUNTERS",
    "OWNED",
    "Owned",
    "attachment_entry",
    "attachments_value",
    "counters_value",
    "flags_of",
    "kept",
    "mark",
    "marks",
    "set_owned",
    "with_owned",
]


class Owned(NamedTuple):
    """A piece of metadata storage owns: its ``@metadata`` key and its flag in ``@flags``."""

    key: str
    flag: str

    def mentioned(self, data: bytes) -> bool:
        """Whether ``data`` could hold this piece (a bytes search, no parse)."""
        return data.find(mark(self)) >= 0  # not ``in``: ``encoding``'s bytes searches


@functools.cache
def marks(owned: Owned) -> tuple[bytes, bytes]:
    """The bytes whose absence from a document proves it holds no ``owned`` (its key,
    quoted, and its flag)."""
    return f'"{owned.key}"'.encode(), owned.flag.encode()


@functools.cache
def mark(owned: Owned) -> bytes:
    """One substring of both ``marks``: its absence proves the same in one search, which a
    write path's hot loop makes itself (``"ounters"`` for ``@counters`` and
    ``HasCounters``: a 280-byte document costs about 0.25 µs)."""
    key, flag = (m.decode() for m in marks(owned))
    best = ""
    for i in range(len(key)):
        for j in range(i + len(best) + 1, len(key) + 1):
            if key[i:j] in flag:
                best = key[i:j]
    return (best or key).encode()


COUNTERS = Owned("@counters", "HasCounters")
ATTACHMENTS = Owned("@attachments", "HasAttachments")
#: Every piece.
OWNED = (COUNTERS, ATTACHMENTS)


def counters_value(names: Iterable[str]) -> list[str] | None:
    """``@counters`` for a document with counters of ``names``, in the order given (storage
    reads them in name order, case-insensitively); None: none."""
    return list(names) or None


def attachment_entry(name: str, hash_: str, content_type: str, size: int) -> dict[str, Any]:
    """One item of ``@attachments``, as RavenDB writes it."""
    return {"Name": name, "Hash": hash_, "ContentType": content_type, "Size": size}


def attachments_value(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """``@attachments`` for a document with attachments ``entries`` (None: none)."""
    return sorted(entries, key=lambda e: str(e["Name"]).lower()) or None


def flags_of(metadata: Mapping[str, Any]) -> list[str]:
    """The flags of ``@flags`` (RavenDB's comma-separated text), in order."""
    text = metadata.get("@flags")
    if type(text) is not str:
        return []
    return [f for f in (part.strip() for part in text.split(",")) if f]


def _set(document: dict[str, Any], owned: Owned, value: Any | None) -> bool:
    """Set ``owned`` in ``document``'s metadata to ``value`` (None: remove it and its flag);
    whether anything changed."""
    metadata = document.get("@metadata")
    if type(metadata) is not dict:
        if value is None:
            return False
        metadata = document["@metadata"] = {}
    return set_owned(metadata, owned, value)


def set_owned(metadata: dict[str, Any], owned: Owned, value: Any | None) -> bool:
    """Set ``owned`` in ``metadata`` (a document's ``@metadata``, in place) to ``value``
    (None: remove it and its flag); whether anything changed."""
    flags = flags_of(metadata)
    changed = False
    if value is None:
        if owned.key in metadata:
            del metadata[owned.key]
            changed = True
        if owned.flag in flags:
            flags.remove(owned.flag)
            changed = True
    else:
        if metadata.get(owned.key) != value:
            metadata[owned.key] = value
            changed = True
        if owned.flag not in flags:
            flags.append(owned.flag)
            changed = True
    if changed:
        if flags:
            metadata["@flags"] = ", ".join(flags)
        else:
            metadata.pop("@flags", None)
    return changed


def with_owned(data: bytes, owned: Owned, value: Any | None) -> bytes:
    """``data`` with ``owned`` set to ``value`` and its flag added, or both removed where
    ``value`` is None; ``data`` itself (the same object) when nothing changes."""
    document = loads_keeping_digits(data)  # its numbers written back as they are
    if not _set(document, owned, value):
        return data
    return dumps(document)


def kept(data: bytes, stored: Mapping[Owned, Any | None]) -> bytes:
    """The data a put writes: ``data`` with each piece of ``stored`` as storage has it for
    the document (None: it has none), whatever the put's body said; pieces not in ``stored``
    are left as they are. ``data`` itself when nothing changes (the common case, and free
    when ``data`` mentions no piece and storage has none)."""
    if all(v is None and not o.mentioned(data) for o, v in stored.items()):
        return data
    document = loads_keeping_digits(data)
    changed = False
    for owned, value in stored.items():
        changed = _set(document, owned, value) or changed
    return dumps(document) if changed else data
