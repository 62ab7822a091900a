"""Automatic indexes (SPEC Q4), what every relational dialect shares: which indexes a
predicate wants, the registry of those made (cached per process as of the database's
``index_version``), and how they are named in statistics, query statistics and the log.

The first query on a field creates the index it needs, at most ``cap`` per collection; past
it, queries scan (still correct). Each dialect builds and maintains its own kinds
(``sqlite.indexes``, ``postgres.indexes``); the registry carries a version in the database, so
every process re-reads it before writing and maintains indexes other processes created.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from rookdb._types import assert_never
from rookdb.paths import parse_field_path
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
    Search,
    StartsWith,
)

__all__ = [
    "DIGEST_MARK",
    "MAX_NAME_BYTES",
    "Registry",
    "RegistryCache",
    "index_name",
    "index_timestamp",
    "log_made",
    "sql_index_name",
    "statistics_name",
    "wanted",
]

#: collection (lower case) → (path, kind) → index id.
Registry = dict[str, dict[tuple[str, str], int]]

#: PostgreSQL's longest identifier, in bytes: it cuts longer names, which may then be alike.
MAX_NAME_BYTES = 63
#: What stands between a path and its digest in the name of an SQL index (``sql_index_name``):
#: no field path holds it (``rookdb.paths``), so no name without it is of this form.
DIGEST_MARK = "~"


def sql_index_name(stem: str, path: str, suffix: str = "") -> str:
    """The name of an SQL index of ``path``: ``stem``, the path (as much of it as fits in
    an identifier), ``~``, a digest of the exact path, and ``suffix``:
    ``auto/entries/3/email~82244417f956``. Two paths never share one: SQLite compares the
    names of indexes without case (``email`` and ``Email`` would be one index, the second
    ``CREATE INDEX IF NOT EXISTS`` doing nothing), and PostgreSQL cuts them at 63 bytes
    (two long paths alike in their first bytes would be one too)."""
    tail = f"{DIGEST_MARK}{hashlib.sha256(path.encode()).hexdigest()[:12]}{suffix}"
    room = max(MAX_NAME_BYTES - len(stem.encode()) - len(tail.encode()), 0)
    # A path is letters, digits, _ - @ and dots (``rookdb.paths``): safe in a quoted name.
    return f"{stem}{path.encode()[:room].decode(errors='ignore')}{tail}"


def index_name(query: Query, indexes: dict[tuple[str, str], int]) -> str:
    """What ``QueryStatistics.index_name`` reports, after RavenDB's auto-index names:
    ``Auto/Employees/Byfirst_nameAndage``; ``collection/Employees`` or ``all-docs`` for scans."""
    if query.collection is None:
        return "all-docs"
    used = [
        path
        for path, _ in (wanted(query.where) if query.where else [])
        if any((path, kind) in indexes for kind in ("expression", "values", "search"))
    ]
    if not used:
        return f"collection/{query.collection}"
    return f"Auto/{query.collection}/By" + "And".join(dict.fromkeys(used))


def index_timestamp(name: str, as_of: dt.datetime) -> dt.datetime | None:
    """``QueryStatistics.index_timestamp`` of a query answered by ``name`` (``index_name``)
    in a snapshot read at ``as_of`` or later: an automatic index is written with the
    documents, so it holds every write before ``as_of``; a scan uses no index (None)."""
    return as_of if name.startswith("Auto/") else None


def statistics_name(collection: str, path: str, kind: str) -> str:
    """How ``get_statistics().indexes`` lists an automatic index: ``auto/items/name``, and
    ``auto/posts/text (search)`` for full text."""
    return f"auto/{collection}/{path}" + (" (search)" if kind == "search" else "")


def wanted(predicate: Predicate) -> list[tuple[str, str]]:
    """The (path, kind) of every index a predicate could use, in order, once each."""
    match predicate:
        case And(items=items) | Or(items=items):
            return list(dict.fromkeys(w for p in items for w in wanted(p)))
        case Not(item=item):
            return wanted(item)
        case Search(field=field):
            return [(field, "search")]
        case (
            Equals()
            | Compare()
            | Between()
            | In()
            | ContainsAll()
            | StartsWith()
            | EndsWith()
            | Exists()
            | Regex()
        ):
            if predicate.field == ID_FIELD:  # the key column is indexed already
                return []
            arrays = any(s.is_array for s in parse_field_path(predicate.field))
            return [(predicate.field, "values" if arrays else "expression")]
        case _:
            assert_never(predicate, "predicate")


def log_made(
    log: logging.Logger, database: str, collection: str, made: list[tuple[str, str]]
) -> None:
    """Say which automatic indexes a query made (once each: the first query on a field),
    after their transaction committed: building one scans the collection, which an operator
    may want to tie to a slow query."""
    for path, kind in made:
        log.info(
            "made the automatic index (%s) on %s field %r in database %r",
            kind,
            collection,
            path,
            database,
        )


class RegistryCache:
    """A database's registry of automatic indexes, cached per process as of the database's
    ``index_version``: other processes may add indexes, so it is re-read when that moves.
    Each backend reads the version and the rows its own way."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version = -1
        self._registry: Registry = {}

    def registry(self, conn: Any) -> Registry:
        """The registry (collection → (path, kind) → id), re-read on ``conn`` if another
        connection or process changed it."""
        raise NotImplementedError

    def cached(self) -> Registry:
        """The registry as last read (indexes are only ever added, so it may lack some)."""
        return self._registry

    def as_of(
        self, version: int, rows: Callable[[], Iterable[tuple[int, str, str, str]]]
    ) -> Registry:
        """The registry at ``version``, from ``rows()`` (id, collection, path, kind) if the
        cached one is older."""
        if version == self._version:
            return self._registry
        # Read before the lock: no lock is held across I/O (``rookdb.storage.bridge``: two
        # greenlets of one thread would deadlock on it). Two readers may both read; both
        # registries are right as of ``version``.
        registry: Registry = {}
        for index_id, collection, path, kind in rows():
            registry.setdefault(collection.lower(), {})[(path, kind)] = index_id
        with self._lock:
            self._registry, self._version = registry, version
        return registry
