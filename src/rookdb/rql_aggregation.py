"""RQL's ``group by``: dynamic aggregation, parsed into a ``Query`` with ``group_by``.

::

    from Orders group by company
        where count() > 1            (or the name select gives it: where n > 1)
        order by sum(freight) as double desc
        select key() as company, count() as n, sum(freight) as total

    from Orders group by lines[].product, ship_to.country
        select lines[].product as product, ship_to.country, count()

``GroupByParser`` is ``rookdb.rql``'s parser with the ``group by`` clause (after ``from``
and its alias) and the calls that stand for fields in a group-by query: ``count()``,
``key()`` (in select) and ``sum(path)``. ``rookdb.aggregation.resolve`` then checks the
query (a selected field neither grouped by nor an aggregation is a ``QueryError``) and reads
the names select gives as what they stand for; ``group by array(path)`` groups by the whole
array of values. Not supported, refused by name: any other aggregation (``avg``, ``min``,
``max``), any other call in group by.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from rookdb.aggregation import COUNT, KEY, array_content, resolve, sum_of
from rookdb.errors import QueryError
from rookdb.query import Query
from rookdb.rql import _Parser
from rookdb.rql_lexer import error_at

__all__ = ["GroupByParser"]


class GroupByParser(_Parser):
    """``rookdb.rql``'s parser, reading ``group by`` and its aggregations too."""

    def __init__(self, text: str, parameters: Mapping[str, Any]) -> None:
        super().__init__(text, parameters)
        self.group_keys: list[str] = []

    def from_alias(self) -> None:
        super().from_alias()
        if self.token.kind != "name" or self.token.text.lower() != "group":
            return
        if self.following.kind != "name" or self.following.text.lower() != "by":
            return
        self.index += 2
        self.group_keys.append(self.group_field())
        while self.op(","):
            self.group_keys.append(self.group_field())

    def group_field(self) -> str:
        token = self.token
        if token.kind == "name" and self.following.text == "(":
            if token.text.lower() != "array":
                raise self.error(f"group by {token.text}(...) is not supported by rookdb")
            self.index += 2
            path = self.field()
            self.expect_op(")")
            return array_content(path)
        return self.field()

    def call_field(self, clause: str) -> str:
        """``count()``, ``key()`` (in select) or ``sum(path)`` of a group-by query."""
        name = self.token.text.lower()
        if not self.group_keys or name not in ("count", "key", "sum"):
            if self.group_keys and name in ("avg", "average", "min", "max"):
                raise self.error(f"{self.token.text}() is not supported by rookdb in group by")
            return super().call_field(clause)
        token = self.token
        self.index += 2
        if name == "sum":
            field = sum_of(self.field())
        elif name == "key" and clause != "select":
            raise error_at("key() is selected, not compared", self.text, token.position)
        else:
            field = COUNT if name == "count" else KEY
        self.expect_op(")")
        return field

    def sorts_arrays(self, field: str) -> bool:
        # Results of a group by are sorted on their keys, arrays paths among them.
        return False if self.group_keys else super().sorts_arrays(field)

    def query(self) -> Query:
        query = super().query()
        if not self.group_keys:
            return query
        try:
            return resolve(dataclasses.replace(query, group_by=tuple(self.group_keys)))
        except QueryError as exc:
            if exc.position is not None:
                raise
            raise error_at(str(exc), self.text, 0) from None
