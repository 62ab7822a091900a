"""``@attachments`` and ``HasAttachments``: the metadata storage owns for a document's attachments.

RavenDB writes a document's attachments into its ``@metadata`` as ``@attachments``, a list of
``{"Name", "Hash", "ContentType", "Size"}`` in name order, and ``HasAttachments`` into its
``@flags``. Storage owns both: whatever a put sends for them is replaced by what storage keeps
(a session's copy may be stale), and they go with the last attachment. Storage (the relational
write path, ``relational.attachments``) and the session (after a save) write them with
``with_attachments``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rookdb.serialization.encoding import dumps, loads

__all__ = ["ATTACHMENTS", "HAS_ATTACHMENTS", "entry", "marked", "with_attachments"]

ATTACHMENTS = "@attachments"
HAS_ATTACHMENTS = "HasAttachments"


def entry(name: str, hash_: str, content_type: str, size: int) -> dict[str, Any]:
    """One item of ``@attachments``, as RavenDB writes it."""
    return {"Name": name, "Hash": hash_, "ContentType": content_type, "Size": size}


def marked(data: bytes) -> bool:
    """Whether ``data`` may hold ``@attachments`` or the flag (a cheap test of the bytes)."""
    return b'"@attachments"' in data or HAS_ATTACHMENTS.encode() in data


def with_metadata(metadata: dict[str, Any], entries: Sequence[dict[str, Any]]) -> None:
    """Set ``metadata``'s ``@attachments`` and ``@flags`` to say ``entries``, in place."""
    text = metadata.get("@flags")
    flags = [f.strip() for f in text.split(",")] if type(text) is str else []
    flags = [f for f in flags if f and f != HAS_ATTACHMENTS]
    if entries:
        metadata[ATTACHMENTS] = sorted(entries, key=lambda e: str(e["Name"]).lower())
        flags.append(HAS_ATTACHMENTS)
    else:
        metadata.pop(ATTACHMENTS, None)
    if flags:
        metadata["@flags"] = ", ".join(flags)
    else:
        metadata.pop("@flags", None)


def with_attachments(data: bytes, entries: Sequence[dict[str, Any]]) -> bytes:
    """``data`` whose metadata says ``entries`` (none: neither ``@attachments`` nor the flag);
    ``data`` itself when it says so already."""
    if not entries and not marked(data):
        return data
    document = loads(data)
    metadata = document.get("@metadata")
    if type(metadata) is not dict:
        metadata = document["@metadata"] = {}
    before = dict(metadata)
    with_metadata(metadata, entries)
    if metadata == before:
        return data
    return dumps(document)
