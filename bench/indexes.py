"""User-defined indexes (issue 16): ``python -m bench.indexes --n 10000 --n 100000
[--backend sqlite|postgres]``.

On a fresh SQLite file (WAL, synchronous=FULL) or PostgreSQL schema, with the documents of
``bench.data`` (``Employees``):

- **build**: putting a map-reduce index (employees per city: count and salary sum) over N
  documents already stored: the put returns once every document is mapped and every group
  reduced, 1,000 documents per transaction;
- **write cost**: one ``save_changes()`` of N new documents with 0, 1 and 5 indexes reading
  the collection (maps of one or two fields; one of the 5 is the map-reduce);
- **query**: the per-city counts and sums read from the map-reduce index, against the floor
  computing them with a raw SQL ``GROUP BY`` over the JSON column with a hand-made expression
  index on the city, and SQLAlchemy's ORM doing the same (``bench.group_by_peers``);
- **map query** (``--workload map-query`` runs it alone): a map index of two fields
  (``select new { e.level, e.email }``) queried with ``where_equals`` on one of them (one
  result; 1% of N), against the collection query of the same predicate, which seeks its
  automatic index;
- **group by** (``--workload group-by`` runs it alone): the same counts and sums asked in RQL
  (``from Employees group by address.city select key(), count(), sum(salary)``): the first
  query puts and builds the automatic map-reduce index, later ones read it; against the same
  floor and SQLAlchemy.

Times are the best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.data import documents, ids
from bench.group_by_peers import floor_group_by, sqla_group_by
from rookdb import DocumentStore
from rookdb.indexes import IndexDefinition
from rookdb.operations import GetIndexStatisticsOperation, PutIndexesOperation
from rookdb.testing.backends import postgres_url

_BY_CITY = IndexDefinition(
    name="Employees/ByCity",
    maps={
        "from e in docs.Employees select new "
        "{ City = e.address.city, Count = 1, Salary = e.salary }"
    },
    reduce=(
        "from r in results group r by r.City into g select new "
        "{ City = g.Key, Count = g.Sum(x => x.Count), Salary = g.Sum(x => x.Salary) }"
    ),
)
_MAPS = [
    IndexDefinition(
        name=f"Employees/By{field}",
        maps={f"from e in docs.Employees select new {{ e.{field} }}"},
    )
    for field in ("age", "title", "email", "level")
]


def _url(backend: str, directory: Path) -> str:
    if backend == "postgres":
        return postgres_url()
    return f"sqlite:///{directory}"


def _store(url: str) -> DocumentStore:
    return DocumentStore(urls=url, database=f"bench{uuid.uuid4().hex[:8]}").initialize()


def _save(store: DocumentStore, docs: list[dict[str, Any]], keys: list[str]) -> float:
    started = time.perf_counter()
    with store.open_session() as session:
        for key, doc in zip(keys, docs, strict=True):
            session.store({**doc, "@metadata": {"@collection": "Employees"}}, key)
        session.save_changes()
    return time.perf_counter() - started


def _drop(store: DocumentStore) -> None:
    store.maintenance.delete_database(store.database)
    store.close()


def build(url: str, n: int) -> tuple[float, float]:
    """Seconds to put the map-reduce index over N stored documents; and to read its results."""
    store = _store(url)
    try:
        with store.bulk_insert() as bulk:
            for key, doc in zip(ids(n), documents(n), strict=True):
                bulk.store({**doc, "@metadata": {"@collection": "Employees"}}, id=key)
        started = time.perf_counter()
        store.maintenance.send(PutIndexesOperation(_BY_CITY))
        took = time.perf_counter() - started
        stats = store.maintenance.send(GetIndexStatisticsOperation("Employees/ByCity"))
        assert stats.entries_count == n, stats
        started = time.perf_counter()
        with store.open_session() as session:
            rows = list(session.query_index("Employees/ByCity"))
        read = time.perf_counter() - started
        assert sum(r["Count"] for r in rows) == n
        return took, read
    finally:
        _drop(store)


def one_save(url: str, n: int) -> tuple[float, float, float]:
    """Median seconds of saving one document in a session, over N stored documents of 8
    groups (cities): without an index; with the map-reduce index, a new document (its group
    reduced from its result and the new entry); and an update (its group from its entries)."""
    store = _store(url)
    try:
        with store.bulk_insert() as bulk:
            for key, doc in zip(ids(n), documents(n), strict=True):
                bulk.store({**doc, "@metadata": {"@collection": "Employees"}}, id=key)
        extra = documents(60, seed=7)

        def median(keys: list[str]) -> float:
            times = sorted(
                _save(store, [doc], [key]) for key, doc in zip(keys, extra, strict=False)
            )
            return times[len(times) // 2]

        bare = median([f"employees/new{i}" for i in range(20)])
        store.maintenance.send(PutIndexesOperation(_BY_CITY))
        added = median([f"employees/new{i}" for i in range(20, 40)])
        updated = median(ids(20))
        return bare, added, updated
    finally:
        _drop(store)


def write_cost(url: str, n: int, indexes: int) -> float:
    """Seconds for one save of N new documents with ``indexes`` indexes on the collection."""
    store = _store(url)
    try:
        chosen = [_BY_CITY, *_MAPS][:indexes]
        if chosen:
            store.maintenance.send(PutIndexesOperation(*chosen))
        return _save(store, documents(n), ids(n))
    finally:
        _drop(store)


_BY_LEVEL = IndexDefinition(
    name="Employees/ByLevel", maps={"from e in docs.Employees select new { e.level, e.email }"}
)


def map_query(url: str, n: int, repeat: int) -> dict[str, float]:
    """Best seconds of a session running one ``where_equals`` query on a map index of N
    entries, and of the collection query of the same predicate: on ``email`` (one result)
    and on ``level`` (1% of N). The first query of each kind (which makes the automatic
    index it seeks) is not timed."""
    store = _store(url)
    try:
        docs = documents(n)
        with store.bulk_insert() as bulk:
            for key, doc in zip(ids(n), docs, strict=True):
                bulk.store({**doc, "@metadata": {"@collection": "Employees"}}, id=key)
        store.maintenance.send(PutIndexesOperation(_BY_LEVEL))
        email = docs[n // 2]["email"]
        queries = {
            "index email": lambda s: s.query_index("Employees/ByLevel").where_equals(
                "email", email
            ),
            "collection email": lambda s: s.query(collection_name="Employees").where_equals(
                "email", email
            ),
            "index level": lambda s: s.query_index("Employees/ByLevel").where_equals("level", 1000),
            "collection level": lambda s: s.query(collection_name="Employees").where_equals(
                "level", 1000
            ),
        }
        wanted = {"email": 1, "level": n // 100}
        best: dict[str, float] = {}
        for name, query in queries.items():
            times = []
            for _ in range(repeat + 1):
                started = time.perf_counter()
                with store.open_session() as session:
                    found = len(query(session).to_list())
                times.append(time.perf_counter() - started)
                assert found == wanted[name.split()[1]], (name, found)
            best[name] = min(times[1:])
        return best
    finally:
        _drop(store)


GROUP_BY = (
    "from Employees group by address.city "
    "select key() as city, count() as count, sum(salary) as salary"
)


def group_by(url: str, n: int) -> tuple[float, float, float]:
    """Seconds of the first group-by query over N stored documents (it builds the automatic
    index); of a later one; and of one after saving a document (never stale)."""
    store = _store(url)
    try:
        with store.bulk_insert() as bulk:
            for key, doc in zip(ids(n), documents(n), strict=True):
                bulk.store({**doc, "@metadata": {"@collection": "Employees"}}, id=key)

        def query() -> tuple[float, list[dict[str, Any]]]:
            started = time.perf_counter()
            with store.open_session() as session:
                rows = list(session.advanced.raw_query(GROUP_BY))
            return time.perf_counter() - started, rows

        first, rows = query()
        assert sum(r["count"] for r in rows) == n
        later = min(query()[0] for _ in range(5))
        _save(store, documents(1, seed=3), ["employees/extra"])
        after, rows = query()
        assert sum(r["count"] for r in rows) == n + 1
        return first, later, after
    finally:
        _drop(store)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, action="append")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--workload", choices=("all", "group-by", "map-query"), default="all")
    args = parser.parse_args()
    sizes = args.n or [10_000]
    print(f"python {platform.python_version()}, backend {args.backend}")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        url = _url(args.backend, directory)
        for n in sizes:
            if args.workload in ("all", "map-query"):
                best = map_query(url, n, args.repeat)
                for field, count in (("email", 1), ("level", n // 100)):
                    index, collection = best[f"index {field}"], best[f"collection {field}"]
                    print(
                        f"N={n}: where_equals({field!r}) ({count:,} of N): on the map index "
                        f"{index * 1000:.2f} ms; on the collection {collection * 1000:.2f} ms "
                        f"({index / collection:.1f} x)"
                    )
            if args.workload == "map-query":
                continue
            runs = [group_by(url, n) for _ in range(args.repeat)]
            first, later, after = (min(r[i] for r in runs) for i in range(3))
            floor = floor_group_by(args.backend, n, args.repeat)
            peer = sqla_group_by(args.backend, n, args.repeat)
            print(
                f"N={n}: group by in RQL: the first query (puts and builds the automatic "
                f"index) {first:.2f} s; later ones {later * 1000:.1f} ms "
                f"({later / floor:.3f} x the floor's GROUP BY); one right after a save "
                f"{after * 1000:.1f} ms"
            )
            print(
                f"N={n}: the floor's GROUP BY over the JSON column {floor * 1000:.1f} ms; "
                f"SQLAlchemy's {peer * 1000:.1f} ms ({peer / floor:.2f} x the floor)"
            )
            if args.workload == "group-by":
                continue
            builds = [build(url, n) for _ in range(args.repeat)]
            took, read = min(b[0] for b in builds), min(b[1] for b in builds)
            print(
                f"N={n}: build of a map-reduce index over N stored documents: {took:.2f} s "
                f"({n / took:,.0f} documents/s); reading its results: {read * 1000:.1f} ms"
            )
            print(
                f"N={n}: index read / the floor's GROUP BY: {read / floor:.3f}; "
                f"/ SQLAlchemy's: {read / peer:.3f}"
            )
            bare, added, updated = one_save(url, n)
            print(
                f"N={n}: one save of one document: {bare * 1000:.2f} ms without indexes; "
                f"with the map-reduce index, a new document {added * 1000:.2f} ms, an update "
                f"{updated * 1000:.2f} ms (groups of {n // 8:,})"
            )
            base = None
            for count in (0, 1, 5):
                took = min(write_cost(url, n, count) for _ in range(args.repeat))
                base = base or took
                print(
                    f"N={n}: one save of N documents with {count} indexes: {took:.2f} s "
                    f"({took / base:.2f} x none)"
                )


if __name__ == "__main__":
    main()
