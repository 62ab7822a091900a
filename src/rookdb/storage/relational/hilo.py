"""HiLo ranges kept as RavenDB keeps them: one document per tag, ``Raven/Hilo/<tag>``.

The document is ``{"Max": <the highest number reserved>, "@metadata": {"@collection":
"@hilo"}}``, an ordinary document (loadable, exported, counted in the statistics, in its own
``@hilo`` collection, as in RavenDB), so RavenDB's clients and tools read it and a user can
raise ``Max`` by storing the document. Reserving a range raises ``Max`` by the range's size;
returning the unused end of a range lowers it back, if no one reserved past it since.

Both go through the storage's own reads and batches: read the document, write it back under
the change vector it was read with, again if another client got there first. So a range is
never handed out twice, on any backend whose ``apply`` keeps the change-vector rule, and
every write path (etags, change vectors, automatic indexes) stays the one of documents.
``last_max``, the top of the caller's previous range, keeps a ``Max`` that was set back (by
a user storing the document) from handing out that range again, as RavenDB's ``lastMax``.

``raised`` is the rule of the format step that moves the ranges of a database written before
(a ``hilo`` table) into the documents.
"""

from __future__ import annotations

import random
import time
from typing import Any

import orjson

from rookdb.errors import ConcurrencyError, StorageError, shown
from rookdb.ids import HILO_COLLECTION, MAX_HILO_TAG_BYTES, hilo_document_id, shown_id
from rookdb.serialization.encoding import dumps
from rookdb.storage.base import Storage
from rookdb.storage.commands import PutCommand
from rookdb.storage.records import DocumentRecord, document_key

__all__ = ["give_back", "raised", "reserve"]

#: Reads and writes back before a reservation gives up (clients racing for the same tag).
_ATTEMPTS = 64


def _maximum(document: Any) -> int:
    """The ``Max`` of a HiLo document; 0 when a user stored one without a number there."""
    value = document.get("Max") if type(document) is dict else None
    return value if type(value) is int and value > 0 else 0


def _new_document(maximum: int) -> dict[str, Any]:
    return {"Max": maximum, "@metadata": {"@collection": HILO_COLLECTION}}


def _read(storage: Storage, document_id: str) -> DocumentRecord | None:
    return storage.get([document_id]).documents.get(document_key(document_id))


def _pause(attempt: int) -> None:
    # Racing clients step apart; a few milliseconds at most.
    time.sleep(random.uniform(0, 0.0005 * min(attempt, 10)))


def reserve(storage: Storage, tag: str, capacity: int, last_max: int = 0) -> tuple[int, int]:
    """Reserve ``capacity`` numbers for ``tag`` (lower-cased, checked): ``(low, high)``."""
    document_id = hilo_document_id(tag)
    for attempt in range(_ATTEMPTS):
        record = _read(storage, document_id)
        if record is None:
            low = last_max + 1
            document = _new_document(low + capacity - 1)
            command = PutCommand(document_id, HILO_COLLECTION, dumps(document), "")
        else:
            document = orjson.loads(record.data)
            if type(document) is not dict:
                document = _new_document(0)
            low = max(_maximum(document), last_max) + 1
            document["Max"] = low + capacity - 1
            command = PutCommand(
                record.id, record.collection, dumps(document), record.change_vector
            )
        try:
            storage.apply([command])
        except ConcurrencyError:
            _pause(attempt)
            continue
        return low, low + capacity - 1
    raise StorageError(
        f"could not reserve ids for {shown(tag, limit=MAX_HILO_TAG_BYTES)}: "
        f"{shown_id(document_id)} kept changing under {_ATTEMPTS} attempts"
    )


def give_back(storage: Storage, tag: str, last_used: int, high: int) -> None:
    """Lower ``Max`` from ``high`` to ``last_used`` if it is still ``high``."""
    document_id = hilo_document_id(tag)
    for attempt in range(_ATTEMPTS):
        record = _read(storage, document_id)
        if record is None:
            return
        document = orjson.loads(record.data)
        if type(document) is not dict or document.get("Max") != high or last_used >= high:
            return  # someone reserved past it (or it is not ours to lower)
        document["Max"] = last_used
        command = PutCommand(record.id, record.collection, dumps(document), record.change_vector)
        try:
            storage.apply([command])
        except ConcurrencyError:
            _pause(attempt)
            continue
        return


def raised(existing: tuple[str, str, bytes] | None, tag: str, high: int) -> tuple[str, str, bytes]:
    """The HiLo document of ``tag`` with ``Max`` at least ``high``: ``(id, collection,
    data)``, from the stored ``(id, collection, data)`` if there is one (the format step)."""
    if existing is None:
        return hilo_document_id(tag), HILO_COLLECTION, dumps(_new_document(high))
    document_id, collection, data = existing
    document = orjson.loads(data)
    if type(document) is not dict:
        document = _new_document(0)
    document["Max"] = max(_maximum(document), high)
    return document_id, collection, dumps(document)
