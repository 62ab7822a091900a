"""The counter reads of the http backend (``HttpStorage``), on RavenDB's route
``GET /counters?docId=..[&counter=..]`` (its ``GetCountersOperation``). Counter writes are
``Counters`` commands of the batch (``bulk_docs``, ``rookdb.protocol``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from rookdb.counters_protocol import decode_counters_detail
from rookdb.ids import validate_id
from rookdb.storage.base import Storage
from rookdb.storage.commands import Command, CountersCommand, validate_counter_name
from rookdb.storage.http_transport import Client
from rookdb.storage.records import (
    AttachmentReply,
    BatchResult,
    CountersReply,
    PatchReply,
    RevisionReply,
    document_key,
)

__all__ = ["HttpCounters", "included_counters", "named_replies", "noting_counters"]


def included_counters(raw: Any) -> dict[str, dict[str, int]] | None:
    """An answer's ``CounterIncludes`` (None where it has none) as ``GetResult.counters``:
    by document key, the counters that exist, by name."""
    if raw is None:
        return None
    return {
        document_key(document_id): {
            name: value
            for name, value in decode_counters_detail({"Counters": details})
            if value is not None
        }
        for document_id, details in raw.items()
    }


def noting_counters(batch: Iterable[Command], noted: list[CountersCommand]) -> Iterator[Command]:
    """``batch``, each ``CountersCommand`` appended to ``noted`` as it passes."""
    for command in batch:
        if type(command) is CountersCommand:
            noted.append(command)
        yield command


def named_replies(result: BatchResult, commands: Sequence[CountersCommand]) -> BatchResult:
    """``result`` with the name asked in place of each counter the server answered null for
    (a ``Get`` of a counter that does not exist: RavenDB's answer names none)."""
    replies: list[PatchReply | RevisionReply | AttachmentReply | CountersReply] = []
    sent = iter(commands)
    for reply in result.replies:
        if type(reply) is CountersReply:
            asked = [o.name for o in next(sent).operations if o.type != "Delete"]
            counters = [
                (name if value is None else found, value)
                for name, (found, value) in zip(asked, reply.counters, strict=False)
            ]
            reply = reply._replace(counters=counters)
        replies.append(reply)
    return result._replace(replies=replies)


class HttpCounters(Storage):
    """The counter reads of ``Storage`` over a rookdb server (or RavenDB)."""

    _client: Client
    _path: str

    def get_counters(self, document_id: str, names: Sequence[str] | None = None) -> dict[str, int]:
        validate_id(document_id)
        params = [("docId", document_id)]
        if names is not None:
            if not names:
                return {}
            wanted = list(dict.fromkeys(validate_counter_name(n) for n in names))
            params += [("counter", name) for name in wanted]
        body = self._client.request("GET", f"{self._path}/counters", params=params)
        return {name: value for name, value in decode_counters_detail(body) if value is not None}
