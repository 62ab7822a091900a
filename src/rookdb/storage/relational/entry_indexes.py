"""Expression indexes over a map index's entries: the automatic indexes (SPEC Q4) of
user-defined map indexes, what every relational dialect shares.

A map index's entries live in one table, ``index_entries`` (``relational.index_maintenance``).
Compiled row by row, a query on the index's fields reads every entry of the index, so its
cost grows with the index. A query on a field the map outputs therefore makes, as a
collection query does for a document field (``relational.auto_indexes``), an expression
index for it: a partial index over that index's entries only (``WHERE idx = <id>``), on the
very expressions the dialect's compiler writes for a path of a document, over the entries'
JSON column (SQLite: ``json_type``/``json_extract`` of ``entry``; PostgreSQL: the bounded
jsonb and text of ``body``). The compiler is handed them as it is handed a collection's
(``(path, "expression") → id``), and writes the predicate on such a field as a row set of
the index's entries (``(key, seq) IN (SELECT key, seq FROM <its entries> WHERE ...)``), whose
condition is those expressions: the database seeks them, and the index id is a literal there,
which a partial index needs.

- Which paths: those a predicate wants an expression index for (``auto_indexes.wanted``: a
  path without arrays), at most ``cap`` per index; past it, queries read the index's entries
  (still correct). Map-reduce indexes' results are few: they are read as they are.
- Made by the first query that needs them, in a transaction of their own, over the entries
  already there; then the database keeps them with the entries. Dropped with their index (a
  delete, or a put that replaces it: ids are reused), every name under its ``prefix``, of
  whatever form; a reset keeps them, its index's id and fields being the same.
- Which exist is the database's catalog (their names: ``name``, one per path and a digest
  of it; one of an earlier form is dropped by the next maker of the index's, ``current``).
  Each process caches what it found as of the registry of indexes
  (``IndexMaintenance.registry``), which every put, delete and reset renews, and reads the
  catalog again after; a query whose snapshot finds another registry than the one they are
  known as of (another process changed the indexes) makes them again before it reads
  (``IndexQueries._in_index_snapshot``). The SQL does not depend on them for its answer:
  without its index, a row set reads the index's entries.
"""

from __future__ import annotations

import threading

from rookdb.query import And, Between, Compare, EndsWith, Equals, In, Not, Or, Predicate, StartsWith
from rookdb.storage.relational.auto_indexes import DIGEST_MARK, sql_index_name, wanted

__all__ = [
    "PREFIX",
    "TEXT_SUFFIX",
    "EntryIndexes",
    "counted",
    "current",
    "name",
    "paths_of",
    "prefix",
]

#: How the names of these indexes start, before the index id.
PREFIX = "auto/entries/"
#: The suffix of a path's second form where a dialect has one (PostgreSQL's code-point text).
TEXT_SUFFIX = "/text"


def paths_of(predicate: Predicate) -> list[str]:
    """The paths ``predicate`` tests that an expression index over entries can serve, in
    order, once each: those a collection query makes an expression index for, where the
    predicate on them is one the compilers seek (not ``exists()`` nor a regular
    expression, which they test entry by entry)."""
    match predicate:
        case And(items=items) | Or(items=items):
            return list(dict.fromkeys(path for item in items for path in paths_of(item)))
        case Not(item=item):
            return paths_of(item)
        case Equals() | Compare() | Between() | In() | StartsWith() | EndsWith():
            return [path for path, kind in wanted(predicate) if kind == "expression"]
        case _:
            return []


def name(index_id: int, path: str, suffix: str = "") -> str:
    """The name of the expression index of ``path`` over index ``index_id``'s entries:
    ``auto/entries/3/email~82244417f956``, one per path (``auto_indexes.sql_index_name``:
    ``Email``'s is another, a long path's is cut to fit with its digest). Every name of an
    index starts ``auto/entries/{id}/`` (``prefix``)."""
    return sql_index_name(prefix(index_id), path, suffix)


def current(index_name: str) -> bool:
    """Whether ``index_name`` (one of an index's, as the catalog lists them) is of the form
    ``name`` gives. Builds before it (unreleased, after 0.1.0) named an index by the path
    alone: on SQLite ``Email``'s was ``email``'s where both were asked for, so such an index
    is not known to be any one path's; ``IndexQueries._make_entry_indexes`` drops them."""
    return DIGEST_MARK in index_name.removeprefix(PREFIX)


def prefix(index_id: int) -> str:
    """How every name of index ``index_id``'s expression indexes starts (the slash keeps
    index 1's apart from index 12's)."""
    return f"{PREFIX}{index_id}/"


def counted(names: set[str]) -> int:
    """How many paths ``names`` (one index's, as the catalog lists them, of the current
    form) index."""
    return sum(1 for n in names if not n.endswith(TEXT_SUFFIX))


class EntryIndexes:
    """Which paths of which map index this process asked for expression indexes, and which
    of them have one, as of one registry of indexes (a put or delete makes a new one: all
    asked again). A path refused at the cap is asked once per registry, not by every query:
    asking takes the database's write lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._as_of: object = None
        self._asked: dict[int, frozenset[str]] = {}
        self._indexed: dict[int, frozenset[str]] = {}

    def _renew(self, registry: object) -> None:
        if registry is not self._as_of:
            self._as_of, self._asked, self._indexed = registry, {}, {}

    def known(self, registry: object, index_id: int) -> tuple[frozenset[str], frozenset[str]]:
        """The paths of index ``index_id`` asked for as of ``registry``, and those indexed."""
        with self._lock:
            self._renew(registry)
            empty: frozenset[str] = frozenset()
            return self._asked.get(index_id, empty), self._indexed.get(index_id, empty)

    def add(
        self, registry: object, index_id: int, asked: list[str], indexed: list[str]
    ) -> frozenset[str]:
        """Note ``asked`` of index ``index_id`` asked for as of ``registry``, ``indexed``
        of them indexed; every path of it indexed."""
        with self._lock:
            self._renew(registry)
            empty: frozenset[str] = frozenset()
            self._asked[index_id] = self._asked.get(index_id, empty) | frozenset(asked)
            found = self._indexed.get(index_id, empty) | frozenset(indexed)
            self._indexed[index_id] = found
            return found
