"""The SQL functions rookdb adds to every SQLite connection (``connections`` registers them):
their names, as the compiled queries call them, and their implementations in Python.

- ``rook_regexp(pattern, value)``: ``re.search`` of a ``where_regex`` (``regexp``), true for
  string values only;
- ``rook_search(data, field, operator, terms)``: a ``search`` that no full-text index answers,
  tested row by row by the reference definition (``search_row``);
- ``rook_alphanumeric(value)``: the sort key of the ``alphanumeric`` ordering
  (``rookdb.alphanumeric.alphanumeric_key``).

All three are registered as deterministic: the same arguments always give the same answer.
"""

from __future__ import annotations

import re
from functools import lru_cache

import orjson

from rookdb.evaluate import matches
from rookdb.query import Search, SearchOperator

__all__ = ["ALPHANUMERIC_FUNCTION", "REGEXP_FUNCTION", "SEARCH_FUNCTION", "regexp", "search_row"]

#: The SQL function ``regexp(pattern, value)`` that connections register (``re.search``).
REGEXP_FUNCTION = "rook_regexp"
#: The SQL function ``alphanumeric(value)``: ``rookdb.alphanumeric.alphanumeric_key``.
ALPHANUMERIC_FUNCTION = "rook_alphanumeric"
#: The SQL function ``search(data, field, operator, terms)`` for search without an index.
SEARCH_FUNCTION = "rook_search"


def search_row(data: str, field: str, operator: str, terms: str) -> bool:
    """The implementation of ``rook_search``: the reference definition, row by row."""
    predicate = Search(field, tuple(terms.split(" ")), SearchOperator(operator))
    return matches(orjson.loads(data), predicate)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def regexp(pattern: str, value: object) -> bool:
    """The implementation of ``rook_regexp`` (deterministic, so SQLite may cache it)."""
    return type(value) is str and _compiled(pattern).search(value) is not None
