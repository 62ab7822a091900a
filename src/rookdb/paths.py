"""Field paths into JSON documents (SPEC Q2): ``name``, ``address.city``, ``lines[].product``.

A path is a dot-separated list of field names; a name followed by ``[]`` is an array whose
elements the rest of the path applies to. Names hold letters, digits, ``_``, ``-`` and ``@``, so
a validated path is safe to embed in a JSON path expression. Used by queries (filters, ordering,
projections) and by includes, in every backend and in the pure-Python reference evaluator.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

from rookdb.errors import QueryError, shown
from rookdb.serialization.encoding import MAX_DEPTH

__all__ = ["MAX_PATH_BYTES", "Segment", "parse_field_path", "referenced_values", "values_at"]

#: The longest field path, in bytes of UTF-8: as long as an id. Backends keep paths in their
#: index definitions (PostgreSQL's rows of those have a few KB). A path also reaches at most
#: ``MAX_DEPTH`` levels (a name is one, ``[]`` another), as deep as a document may nest.
MAX_PATH_BYTES = 512
_SEGMENT = re.compile(r"([\w@-]+)(\[\])?")


class Segment(NamedTuple):
    """One step of a path: a field name, and whether its value is an array to iterate."""

    name: str
    is_array: bool


def parse_field_path(path: str) -> tuple[Segment, ...]:
    """Validate and split a field path; anything else raises ``QueryError``."""
    if type(path) is str:  # (a subclass of str may hash and compare its own way)
        return _parsed(path)
    return _parse_field_path(path)


# Paths already parsed, for the queries of a shape seen before: a query parses its fields
# where it is built and again where its indexes are chosen (issue 18, W5). Bounded, so hostile
# input cannot grow it; an invalid path raises each time (``lru_cache`` keeps no exception).
@functools.lru_cache(maxsize=4096)
def _parsed(path: str) -> tuple[Segment, ...]:
    return _parse_field_path(path)


def _parse_field_path(path: str) -> tuple[Segment, ...]:
    if not isinstance(path, str) or not path:
        raise QueryError(f"invalid field name {shown(path)}")
    if len(path) > MAX_PATH_BYTES // 4 and len(path.encode(errors="replace")) > MAX_PATH_BYTES:
        raise QueryError(f"field path {shown(path)} is over {MAX_PATH_BYTES} bytes")
    segments: list[Segment] = []
    for part in path.split("."):
        match = _SEGMENT.fullmatch(part)
        if match is None:
            raise QueryError(
                f"invalid field name {shown(path)}: use letters, digits, _ - @ . and []"
            )
        segments.append(Segment(match.group(1), match.group(2) is not None))
    levels = len(segments) + sum(segment.is_array for segment in segments)
    if levels > MAX_DEPTH:  # (it could reach nothing; and backends build JSON that deep from it)
        raise QueryError(
            f"field path {shown(path)} goes {levels} levels deep; documents nest {MAX_DEPTH}"
        )
    return tuple(segments)


def values_at(document: Any, path: str | tuple[Segment, ...]) -> list[Any]:
    """Every value ``path`` reaches in ``document``; missing fields reach nothing."""
    segments = parse_field_path(path) if isinstance(path, str) else path
    current: list[Any] = [document]
    for segment in segments:
        reached: list[Any] = []
        for value in current:
            if type(value) is dict and segment.name in value:
                child = value[segment.name]
                if segment.is_array:
                    if type(child) is list:
                        reached.extend(child)
                else:
                    reached.append(child)
        current = reached
    return current


def referenced_values(document: Any, path: tuple[Segment, ...]) -> list[Any]:
    """The values an include ``path`` references in ``document``, as RavenDB's includes find
    them: an array met on the way is walked whether or not the path marks it with ``[]``
    (``lines.product`` and ``lines[].product`` both reach every line's product), and an array
    reached at the end stands for its elements (an include of ``supplier_ids`` includes each
    id), at any depth of nesting."""
    current: list[Any] = [document]
    for segment in path:
        reached: list[Any] = []
        for value in _flattened(current):
            if type(value) is dict and segment.name in value:
                reached.append(value[segment.name])
        current = reached
    return list(_flattened(current))


def _flattened(values: list[Any]) -> Iterator[Any]:
    stack = list(reversed(values))
    while stack:
        value = stack.pop()
        if type(value) is list:
            stack.extend(reversed(value))
        else:
            yield value
