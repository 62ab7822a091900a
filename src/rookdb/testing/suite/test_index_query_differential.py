"""Map index queries against the reference: random predicates on the fields a map index
outputs give the documents whose entry ``rookdb.evaluate`` says matches, in key order, with
their total, and ``|p| + |not p| = |all|`` (SPEC Q2), whatever indexes the backend seeks.

The documents are those of ``test_query_differential`` (missing fields, nulls, mixed types,
nested objects, arrays, NUL, non-ASCII, decimals); the map outputs each of their fields, so
an entry holds them as the map left them (a missing field is null), and every field is
stored: a query without a predicate projects the entries themselves, the reference's input.
Predicates are checked again after writes, so that whatever the backend keeps beside the
entries (SQL expression indexes) is checked after upkeep, not only after building.
"""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from rookdb import DocumentStore
from rookdb.evaluate import matches
from rookdb.indexes import FieldStorage, IndexDefinition, IndexFieldOptions
from rookdb.operations import PutIndexesOperation
from rookdb.query import And, Between, Compare, Equals, In, Not, Or, OrderBy, Predicate, Query
from rookdb.storage.commands import DeleteCommand, PutCommand
from rookdb.testing.suite.test_query_differential import random_document, random_predicate

pytestmark = pytest.mark.rookdb_requires("indexes")

INDEX = "Docs/Fields"
OUTPUTS = ("a", "b", "d", "tags", "lines")
DOCUMENTS = 300
PREDICATES = 400


def _put_index(store: DocumentStore) -> None:
    stored = {f: IndexFieldOptions(storage=FieldStorage.YES) for f in OUTPUTS}
    store.maintenance.send(
        PutIndexesOperation(
            IndexDefinition(
                name=INDEX,
                maps={"from d in docs.Docs select new { d.a, d.b, d.d, d.tags, d.lines }"},
                fields=stored,
            )
        )
    )


def _body(document: dict[str, Any]) -> bytes:
    return orjson.dumps({**document, "@metadata": {}})


def _entries(storage: Any) -> dict[str, Any]:
    """Each document's entry, as the index stores it (one per document: this map's); both
    queries answer in key order (a projection may come without its record: HTTP)."""
    ids = [r.id for r in storage.query(Query(index_name=INDEX)).records]
    projected = storage.query(Query(index_name=INDEX, select=OUTPUTS)).projections
    return dict(zip(ids, projected, strict=True))


def _seekable(rng: random.Random) -> Predicate:
    """A predicate of the kinds an index seeks (equality, in, ranges), on a field without
    arrays, alone or under and/or/not: more of what the seeks decide than a random one."""
    field = rng.choice(["a", "b", "d.a", "d.b", "tags", "zz"])
    values: list[Any] = [None, True, False, 0, 1, 1.0, 2.5, -1, "", "a", "A", "ab", "é", "1"]
    roll = rng.randrange(6)
    if roll == 0:
        item: Predicate = Equals(field, rng.choice(values))
    elif roll == 1:
        item = In(field, tuple(rng.sample(values, rng.randrange(1, 4))))
    elif roll == 2:
        item = Compare(field, rng.choice(["<", "<=", ">", ">="]), rng.choice([0, 1, 2.5, "a"]))
    elif roll == 3:
        low, high = sorted(rng.sample([-1, 0, 1, 2, 2.5, 10], 2))
        item = Between(field, low, high)
    elif roll == 4:
        low, high = sorted(rng.sample(["", "a", "ab", "b", "é"], 2))
        item = Between(field, low, high)
    else:
        item = And((Equals(field, rng.choice(values)), random_predicate(rng, 2)))
    if rng.random() < 0.2:
        return Or((item, _seekable(rng)))
    return item


def _disagreements(
    storage: Any, entries: dict[str, Any], rng: random.Random, count: int
) -> list[tuple[Predicate, Any]]:
    everything = sorted(entries)
    mismatches: list[tuple[Predicate, Any]] = []
    for n in range(count):
        predicate = random_predicate(rng) if n % 2 else _seekable(rng)
        expected = [k for k in everything if matches(entries[k], predicate)]
        result = storage.query(Query(index_name=INDEX, where=predicate))
        found = [r.id for r in result.records]
        negated = {
            r.id for r in storage.query(Query(index_name=INDEX, where=Not(predicate))).records
        }
        total = result.statistics.total_results
        if found != expected or total != len(expected) or set(found) | negated != set(everything):
            mismatches.append((predicate, sorted(set(found) ^ set(expected))[:5]))
        elif set(found) & negated:
            mismatches.append((predicate, sorted(set(found) & negated)[:5]))
    return mismatches


def test_map_index_queries_match_the_reference_evaluator(store: DocumentStore) -> None:
    storage = store._storage(store.database)
    rng = random.Random(20261122)
    documents = {f"docs/{i:04d}": random_document(rng) for i in range(DOCUMENTS)}
    storage.apply([PutCommand(i, "Docs", _body(d)) for i, d in documents.items()])
    _put_index(store)
    entries = _entries(storage)
    assert sorted(entries) == sorted(documents)
    predicates = random.Random(8)
    mismatches = _disagreements(storage, entries, predicates, PREDICATES)
    assert mismatches == [], f"{len(mismatches)} predicates disagree; first: {mismatches[:3]}"

    changes = random.Random(12)
    batch: list[Any] = []
    for key in changes.sample(sorted(documents), 60):
        if changes.random() < 0.3:
            batch.append(DeleteCommand(key))
        else:
            batch.append(PutCommand(key, "Docs", _body(random_document(changes))))
    batch += [
        PutCommand(f"docs/new-{i}", "Docs", _body(random_document(changes))) for i in range(20)
    ]
    storage.apply(batch)
    entries = _entries(storage)
    mismatches = _disagreements(storage, entries, predicates, PREDICATES // 2)
    assert mismatches == [], f"after writes: {len(mismatches)} disagree: {mismatches[:3]}"


def test_paged_and_ordered_map_index_queries_match_the_reference(store: DocumentStore) -> None:
    """A seekable predicate with an order, a page and a projection of stored fields: the
    same documents, order, total and projections as the entries say."""
    storage = store._storage(store.database)
    documents = {
        f"people/{i}": {"name": f"n{i % 7}", "level": i % 5, "tags": [i % 3, "x"]}
        for i in range(40)
    }
    documents["people/40"] = {"name": None, "level": "3"}  # a string never equals a number
    documents["people/41"] = {"level": 3.0}
    storage.apply([PutCommand(i, "Docs", _body(d)) for i, d in documents.items()])
    _put_index(store)
    store.maintenance.send(
        PutIndexesOperation(
            IndexDefinition(
                name="Docs/People",
                maps={"from d in docs.Docs select new { d.name, d.level, d.tags }"},
                fields={"name": IndexFieldOptions(storage=FieldStorage.YES)},
            )
        )
    )
    where = Or((Equals("level", 3), In("name", ("n1", "n2"))))
    every = storage.query(Query(index_name="Docs/People", where=where)).records
    ids = [r.id for r in every]
    level = [k for k, d in documents.items() if d.get("level") == 3 and type(d["level"]) is not str]
    named = [k for k, d in documents.items() if d.get("name") in ("n1", "n2")]
    assert ids == sorted(set(level) | set(named))
    assert "people/40" not in ids and "people/41" in ids
    ordered = Query(
        index_name="Docs/People",
        where=where,
        order_by=(OrderBy("name", descending=True),),
        skip=2,
        take=5,
        select=("name",),
    )
    result = storage.query(ordered)
    names = {k: documents[k].get("name") for k in ids}
    # Descending by name (a missing one last), ties by id: a stable sort of the id order.
    expected = sorted(sorted(ids), key=lambda k: names[k] or "", reverse=True)
    assert result.statistics.total_results == len(ids)
    assert [p["name"] for p in result.projections] == [names[k] for k in expected[2:7]]
    tagged = storage.query(Query(index_name="Docs/People", where=Equals("tags", 2))).records
    assert [r.id for r in tagged] == sorted(
        k for k, d in documents.items() if 2 in d.get("tags", [])
    )
