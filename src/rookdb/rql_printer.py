"""RQL text from a ``Query`` (the inverse of ``rookdb.rql.parse``): what the http backend sends
a server, every value bound as a parameter. Field and collection names are quoted wherever the
lexer (``rookdb.rql_lexer``) would read them as something else, so that ``parse(print_query(q))``
gives ``q`` back.
"""

from __future__ import annotations

import re

from rookdb._types import assert_never
from rookdb.aggregation import COUNT, KEY, key_path, summed
from rookdb.query import (
    ID_FIELD,
    And,
    Between,
    Compare,
    ContainsAll,
    EndsWith,
    Equals,
    Exists,
    In,
    Not,
    Or,
    Predicate,
    Query,
    Regex,
    Scalar,
    Search,
    StartsWith,
)
from rookdb.query_ast import counter_of
from rookdb.rql_lexer import ALL_DOCS, FUNCTIONS, KEYWORDS, PLAIN_FIELD

__all__ = ["print_query"]


class _Printer:
    def __init__(self) -> None:
        self.parameters: dict[str, Scalar] = {}

    def bind(self, value: Scalar) -> str:
        name = f"p{len(self.parameters)}"
        self.parameters[name] = value
        return f"${name}"

    def field(self, name: str) -> str:
        if name in (ID_FIELD, COUNT, KEY):
            return name
        if (path := summed(name)) is not None:  # group by's sum(path)
            return f"sum({self.field(path)})"
        counter = counter_of(name)
        if counter is not None:  # select counter('name')
            return f"counter({_quote(counter)})"
        word = name.split(".", 1)[0].removesuffix("[]").lower()
        # Keywords and names the lexer would read otherwise are quoted.
        if (
            word in KEYWORDS
            or word in FUNCTIONS
            or re.match(r"-?\d", name)
            or not PLAIN_FIELD.fullmatch(name)
        ):
            return _quote(name)
        return name

    def predicate(self, predicate: Predicate, nested: bool = False) -> str:
        match predicate:
            case And(items=items) | Or(items=items):
                joiner = " and " if isinstance(predicate, And) else " or "
                text = joiner.join(self.predicate(p, nested=True) for p in items)
                return f"({text})" if nested else text
            case Not(item=And() | Or() as item):
                # Parenthesised only when it must be, so the text nests no deeper than the tree.
                return f"not ({self.predicate(item)})"
            case Not(item=item):
                return f"not {self.predicate(item)}"
            case Equals(field=field, value=value):
                return f"{self.field(field)} = {self.bind(value)}"
            case Compare(field=field, op=op, value=value):
                return f"{self.field(field)} {op} {self.bind(value)}"
            case Between(field=field, low=low, high=high):
                return f"{self.field(field)} between {self.bind(low)} and {self.bind(high)}"
            case In(field=field, values=values) | ContainsAll(field=field, values=values):
                keyword = "in" if isinstance(predicate, In) else "all in"
                listed = ", ".join(self.bind(v) for v in values)
                return f"{self.field(field)} {keyword} ({listed})"
            case StartsWith(field=field, prefix=prefix):
                return f"startsWith({self.field(field)}, {self.bind(prefix)})"
            case EndsWith(field=field, suffix=suffix):
                return f"endsWith({self.field(field)}, {self.bind(suffix)})"
            case Exists(field=field):
                return f"exists({self.field(field)})"
            case Regex(field=field, pattern=pattern):
                return f"regex({self.field(field)}, {self.bind(pattern)})"
            case Search(field=field, terms=terms, operator=search_operator):
                text_terms = self.bind(" ".join(terms))
                return f"search({self.field(field)}, {text_terms}, {search_operator.value})"
            case _:
                assert_never(predicate, "predicate")


def print_query(query: Query) -> tuple[str, dict[str, Scalar]]:
    """RQL text for ``query`` and the parameters it names: every value is a parameter."""
    printer = _Printer()
    collection = query.collection
    if query.index_name is not None:
        parts = [f"from index {_quote(query.index_name)}"]
    elif collection is None:
        parts = [f"from {ALL_DOCS}"]
    elif _PLAIN_NAME.fullmatch(collection) and collection.lower() not in KEYWORDS:
        parts = [f"from {collection}"]
    else:
        parts = [f"from {_quote(collection)}"]
    if query.group_by:
        grouped = [
            f"array({printer.field(key_path(k))})" if k != key_path(k) else printer.field(k)
            for k in query.group_by
        ]
        parts.append("group by " + ", ".join(grouped))
    if query.where is not None:
        parts.append(f"where {printer.predicate(query.where)}")
    if query.order_by:
        items = []
        for order in query.order_by:
            item = printer.field(order.field)
            if order.ordering:
                item += f" as {_ORDERING_NAMES.get(order.ordering, order.ordering)}"
            item += " desc" if order.descending else ""
            items.append(item + (f" nulls {order.nulls}" if order.nulls else ""))
        parts.append("order by " + ", ".join(items))
    if query.select:
        keys = query.select_as or query.select
        fields = ", ".join(
            printer.field(field) + ("" if key == field else f" as {_quote(key)}")
            for field, key in zip(query.select, keys, strict=True)
        )
        parts.append(f"select {'distinct ' if query.distinct else ''}{fields}")
    included = [printer.field(f) for f in query.includes]
    included += [
        "counters()" if name == "@all_counters" else f"counters({printer.bind(name)})"
        for name in query.counters
    ]
    if included:
        parts.append("include " + ", ".join(included))
    if query.take is not None:
        parts.append(f"limit {query.take}")
        if query.skip:
            parts.append(f"offset {query.skip}")
    elif query.skip:
        parts.append(f"offset {query.skip}")
    return " ".join(parts), printer.parameters


# RavenDB's spelling of an ordering rookdb names in lower case.
_ORDERING_NAMES = {"alphanumeric": "alphaNumeric"}
_PLAIN_NAME = re.compile(r"[A-Za-z_][\w-]*")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
