"""RavenDB's wire shapes of counters: the ``Counters`` batch command and its reply, the body of
``POST /counters`` (``CounterBatchOperation``) and the ``CountersDetail`` answers.

A batch command is ``{"Type": "Counters", "Id": ..., "Counters": {"DocumentId": ...,
"Operations": [{"Type": "Increment", "CounterName": ..., "Delta": n}, ...]}}``; its reply
``{"Type": "Counters", "Id": ..., "CountersDetail": {"Counters": [...]},
"DocumentChangeVector": ...}``. A counter's detail is ``{"DocumentId", "CounterName",
"TotalValue", "CounterValues"}`` (one node: no per-node values, ``CounterValues`` null); a
counter asked for that does not exist is ``null`` in its place.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rookdb.errors import ConfigurationError, ProtocolError, shown
from rookdb.ids import shown_id, validate_id
from rookdb.storage.commands import (
    COUNTER_OPERATION_TYPES,
    CounterOperation,
    CountersCommand,
    validate_counter_name,
)
from rookdb.storage.records import CountersReply

__all__ = [
    "counter_detail",
    "counters_detail",
    "decode_counter_batch",
    "decode_counters_command",
    "decode_counters_detail",
    "decode_counters_reply",
    "encode_counter_batch",
    "encode_counters_command",
    "encode_counters_reply",
]


def counter_detail(document_id: str, name: str, value: int, full: bool = False) -> dict[str, Any]:
    """RavenDB's ``CounterDetail`` of one counter; ``full``: its value per node too (one
    node, ``A``: RavenDB's ``ReplyWithAllNodesValues``)."""
    return {
        "DocumentId": document_id,
        "CounterName": name,
        "TotalValue": value,
        "CounterValues": {"A": value} if full else None,
    }


def counters_detail(
    document_id: str, counters: Sequence[tuple[str, int | None]], full: bool = False
) -> list[dict[str, Any] | None]:
    """The details of ``counters`` (name, value; None: it does not exist) of one document."""
    return [
        None if value is None else counter_detail(document_id, name, value, full)
        for name, value in counters
    ]


def _operations(raw: Any, what: str) -> tuple[CounterOperation, ...]:
    operations = raw.get("Operations") if type(raw) is dict else None
    if type(operations) is not list or not operations:
        raise ConfigurationError(f'{what} is {{"DocumentId": ..., "Operations": [...]}}')
    out = []
    for j, operation in enumerate(operations):
        where = f"{what}, operation {j}"
        if type(operation) is not dict:
            raise ConfigurationError(f"{where} is not an object")
        kind = operation.get("Type")
        if kind not in COUNTER_OPERATION_TYPES:
            raise ConfigurationError(
                f"{where}: Type is one of {', '.join(COUNTER_OPERATION_TYPES)}, not {shown(kind)}"
            )
        delta = operation.get("Delta")
        if kind == "Increment":
            if type(delta) is not int:
                raise ConfigurationError(f"{where}: an Increment's Delta is an integer")
        else:
            delta = 0
        try:
            name = validate_counter_name(operation.get("CounterName"))
            out.append(CounterOperation(kind, name, delta))
        except ConfigurationError as exc:
            raise ConfigurationError(f"{where}: {exc}") from None
    return tuple(out)


def encode_counters_command(command: CountersCommand) -> dict[str, Any]:
    """The ``Counters`` batch command of ``command``."""
    return {
        "Type": "Counters",
        "Id": command.id,
        "Counters": {
            "DocumentId": command.id,
            "Operations": [
                {"Type": o.type, "CounterName": o.name, "Delta": o.delta}
                for o in command.operations
            ],
        },
    }


def decode_counters_command(raw: dict[str, Any], document_id: str, i: int) -> CountersCommand:
    """A ``Counters`` batch command (its ``Id`` checked by the caller)."""
    if not document_id or document_id[-1] in "/|":
        raise ConfigurationError(
            f"command {i}: counters belong to a document, not {shown_id(document_id)}"
        )
    return CountersCommand(document_id, _operations(raw.get("Counters"), f"command {i}: Counters"))


def encode_counters_reply(reply: CountersReply) -> dict[str, Any]:
    return {
        "Type": "Counters",
        "Id": reply.id,
        "CountersDetail": {"Counters": counters_detail(reply.id, reply.counters)},
        "DocumentChangeVector": reply.change_vector,
    }


def decode_counters_reply(raw: dict[str, Any]) -> CountersReply:
    counters = decode_counters_detail(raw["CountersDetail"])
    return CountersReply(raw["Id"], counters, raw["DocumentChangeVector"])


def decode_counters_detail(raw: Any) -> list[tuple[str, int | None]]:
    """The (name, value) of each detail of a ``CountersDetail`` answer (a null detail: no
    name, None)."""
    try:
        return [
            ("", None) if detail is None else (detail["CounterName"], detail["TotalValue"])
            for detail in raw["Counters"]
        ]
    except (KeyError, TypeError) as exc:
        raise ProtocolError(f"the server's counters answer is malformed: {exc}") from exc


def encode_counter_batch(commands: Sequence[CountersCommand]) -> dict[str, Any]:
    """The body of ``POST /counters`` (RavenDB's ``CounterBatch``)."""
    return {
        "ReplyWithAllNodesValues": False,
        "Documents": [
            {"DocumentId": c.id, "Operations": encode_counters_command(c)["Counters"]["Operations"]}
            for c in commands
        ],
        "FromEtl": False,
    }


def decode_counter_batch(body: Any) -> list[CountersCommand]:
    """The commands of a ``CounterBatch`` body, one per document entry, in order;
    ``ConfigurationError`` (a 400) when malformed, before anything is written."""
    documents = body.get("Documents") if type(body) is dict else None
    if type(documents) is not list:
        raise ConfigurationError('a counter batch is {"Documents": [...]}')
    out = []
    for i, raw in enumerate(documents):
        what = f"document {i}"
        document_id = raw.get("DocumentId") if type(raw) is dict else None
        if type(document_id) is not str:
            raise ConfigurationError(f"{what}: DocumentId is a string")
        validate_id(document_id)
        if not document_id or document_id[-1] in "/|":
            raise ConfigurationError(
                f"{what}: counters belong to a document, not {shown_id(document_id)}"
            )
        out.append(CountersCommand(document_id, _operations(raw, what)))
    return out
