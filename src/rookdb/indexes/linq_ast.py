"""The syntax tree of a LINQ index definition (``linq_parser`` makes it, ``linq_evaluator``
compiles it): one frozen dataclass per construct, each with the 1-based line and column it
starts at, for the errors that name a place."""

from __future__ import annotations

import dataclasses

__all__ = [
    "Anonymous",
    "Array",
    "Binary",
    "Call",
    "Cast",
    "Conditional",
    "From",
    "Group",
    "Index",
    "Lambda",
    "Let",
    "Literal",
    "Member",
    "Name",
    "Node",
    "Query",
    "Select",
    "Unary",
    "Where",
    "children",
]


@dataclasses.dataclass(frozen=True, slots=True)
class Node:
    line: int
    column: int


@dataclasses.dataclass(frozen=True, slots=True)
class Literal(Node):
    value: object


@dataclasses.dataclass(frozen=True, slots=True)
class Name(Node):
    name: str


@dataclasses.dataclass(frozen=True, slots=True)
class Member(Node):
    target: Node
    name: str


@dataclasses.dataclass(frozen=True, slots=True)
class Index(Node):
    target: Node
    index: Node


@dataclasses.dataclass(frozen=True, slots=True)
class Call(Node):
    """``target.name(args)``; ``target`` None for a free function (``Id(doc)``,
    ``LoadDocument(...)``, ``this.LoadDocument(...)``)."""

    target: Node | None
    name: str
    args: tuple[Node, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Lambda(Node):
    params: tuple[str, ...]
    body: Node


@dataclasses.dataclass(frozen=True, slots=True)
class Anonymous(Node):
    fields: tuple[tuple[str, Node], ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Array(Node):
    items: tuple[Node, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str
    operand: Node


@dataclasses.dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclasses.dataclass(frozen=True, slots=True)
class Conditional(Node):
    test: Node
    then: Node
    other: Node


@dataclasses.dataclass(frozen=True, slots=True)
class Cast(Node):
    type: str
    operand: Node


@dataclasses.dataclass(frozen=True, slots=True)
class From(Node):
    var: str
    source: Node


@dataclasses.dataclass(frozen=True, slots=True)
class Let(Node):
    var: str
    value: Node


@dataclasses.dataclass(frozen=True, slots=True)
class Where(Node):
    test: Node


@dataclasses.dataclass(frozen=True, slots=True)
class Select(Node):
    value: Node


@dataclasses.dataclass(frozen=True, slots=True)
class Group(Node):
    element: Node
    key: Node


@dataclasses.dataclass(frozen=True, slots=True)
class Query(Node):
    """A query expression: its clauses (the first a ``From``), its ``Select`` or ``Group``,
    and the ``into`` continuation (its variable and the rest of the query, whose clauses do
    not start with a ``From``) when there is one."""

    clauses: tuple[From | Let | Where, ...]
    end: Select | Group
    into: tuple[str, Query] | None


def children(node: Node) -> list[Node]:
    """The nodes directly under ``node``."""
    out: list[Node] = []
    for field in dataclasses.fields(node):
        value = getattr(node, field.name)
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, Node):
                out.append(item)
            elif isinstance(item, tuple):
                out.extend(part for part in item if isinstance(part, Node))
    return out
