"""Patch and delete the documents of a query, as RavenDB's ``PatchByQueryOperation`` and
``DeleteByQueryOperation`` do: ``from Users where age < 18 update { this.minor = true; }``.

The query's matches are read once, then written in batches of ``CHUNK`` documents, each batch
atomic (as RavenDB: a failure stops the operation, the batches before it stay written). The
server runs them in the background (``rookdb.server.background``), and a kill stops one
before its next batch (``cancelled``). The
``update`` script is a patch script (``rookdb.scripting``): the query's parameters are its
``args``, and ``$name`` names them as in RavenDB's RQL. Parameters are JSON values
(``store.operations.send`` writes them as a document holding them is written first, so that
``$when``, a datetime, compares with the dates documents hold).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from rookdb import rql
from rookdb.errors import InvalidOperationError, QueryError, SerializationError
from rookdb.serialization import encoding
from rookdb.serialization.encoding import MAX_DEPTH, nesting_depth
from rookdb.storage.base import Storage
from rookdb.storage.commands import Command, DeleteCommand, PatchCommand, PatchRequest

__all__ = [
    "CHUNK",
    "ByQueryResult",
    "check_by_query",
    "delete_by_query",
    "patch_by_query",
    "split_update",
]

#: ``cancelled()``: whether the operation was killed (checked before each batch).
Cancelled = Callable[[], bool]

#: Documents written per batch (one transaction each).
CHUNK = 1000

_UPDATE = re.compile(r"update\s*\{", re.IGNORECASE)
_PARAMETER = re.compile(r"[A-Za-z_][\w]*\Z")


class ByQueryResult(NamedTuple):
    """RavenDB's ``BulkOperationResult``: ``total`` documents processed."""

    total: int


def split_update(text: str) -> tuple[str, str]:
    """The query of ``text`` and the script of its ``update { ... }`` clause (outside string
    literals; the clause ends the text)."""
    # No "update {" anywhere: none outside literals either, found without a Python step per
    # character (a query of megabytes without one is refused at once).
    if _UPDATE.search(text) is None:
        raise QueryError("a patch by query ends with update { script }")
    quote = None
    i = 0
    while i < len(text):
        char = text[i]
        if quote is not None:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")) and (
            match := _UPDATE.match(text, i)
        ):
            body = text[match.end() :].rstrip()
            if not body.endswith("}"):
                raise QueryError("the update clause is update { script }", position=i)
            return text[:i], body[:-1]
        i += 1
    raise QueryError("a patch by query ends with update { script }")


def _script(script: str, parameters: Mapping[str, Any]) -> str:
    # $name as in RavenDB's RQL; declared on the script's first line, to keep its line numbers.
    names = [name for name in parameters if _PARAMETER.match(name)]
    return "".join(f"var ${n} = args[{n!r}]; " for n in names) + script


def _values(parameters: Mapping[str, Any] | None) -> dict[str, Any]:
    # What no document may hold is a SerializationError now, before the operation starts,
    # as ``DocumentOperation.written`` makes it embedded (the server's come as JSON).
    values = dict(parameters or {})
    data = encoding.dumps(values)
    if data.count(b"[") + data.count(b"{") > MAX_DEPTH and nesting_depth(data) > MAX_DEPTH + 1:
        raise SerializationError(
            f"a parameter nests deeper than {MAX_DEPTH} levels of objects and arrays, the most "
            "rookdb writes"
        )
    return values


def _matches(storage: Storage, text: str, parameters: Mapping[str, Any]) -> list[str]:
    query = rql.parse(text, dict(parameters))
    return [record.id for record in storage.query(query).records]


def _write(storage: Storage, commands: list[Command], cancelled: Cancelled | None) -> None:
    for start in range(0, len(commands), CHUNK):
        if cancelled is not None and cancelled():
            raise InvalidOperationError(
                f"the operation was killed after {start:,} of {len(commands):,} documents"
            )
        storage.apply(commands[start : start + CHUNK])


def check_by_query(text: str, parameters: Mapping[str, Any] | None, *, patch: bool) -> None:
    """``QueryError`` (or ``ConfigurationError``, or ``SerializationError`` for a parameter
    no document may hold) now for a query the operation could not run, before it is started
    (the server answers it as a 400, as RavenDB does)."""
    values = _values(parameters)
    if patch:
        text = split_update(text)[0]
    rql.parse(text, values)


def patch_by_query(
    storage: Storage,
    text: str,
    parameters: Mapping[str, Any] | None = None,
    cancelled: Cancelled | None = None,
) -> ByQueryResult:
    """Run the ``update`` script of ``text`` on every document its query matches."""
    values = _values(parameters)
    query_text, script = split_update(text)
    request = PatchRequest(_script(script, values), values)
    ids = _matches(storage, query_text, values)
    _write(storage, [PatchCommand(i, request) for i in ids], cancelled)
    return ByQueryResult(len(ids))


def delete_by_query(
    storage: Storage,
    text: str,
    parameters: Mapping[str, Any] | None = None,
    cancelled: Cancelled | None = None,
) -> ByQueryResult:
    """Delete every document the query ``text`` matches."""
    ids = _matches(storage, text, _values(parameters))
    _write(storage, [DeleteCommand(i) for i in ids], cancelled)
    return ByQueryResult(len(ids))
