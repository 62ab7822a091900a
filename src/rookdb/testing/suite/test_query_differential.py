"""SQL against the reference: 1,000 random predicates over 500 random documents give the same
result set from the SQL backend as from ``rookdb.evaluate``, and ``|p| + |not p| = |all|``
(issue 3; SPEC Q2). Documents mix missing fields, nulls, mixed types, nested objects and
arrays; values include strings with NUL, non-ASCII and LIKE/JSON-path metacharacters, decimals
as rookdb writes them (JSON numbers with their own digits: ``2.50``, ``1E+1``) and datetimes in
its fixed-width texts (issue 12 §3)."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from rookdb import DocumentStore
from rookdb.evaluate import matches
from rookdb.query import (
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
    SearchOperator,
    StartsWith,
    parse_search_terms,
)
from rookdb.storage.commands import DeleteCommand, PutCommand

DOCUMENTS = 500
PREDICATES = 1000
STRINGS = ["", "a", "b", "ab", "A", "ba", "1", "a\x00b", "é", "%", "_", "$.a", "'", "a%b"]
STRINGS += ["2024-01-01T11:30:00.0000000Z", "2024-01-01T12:00:00.0000000Z", "2024-01-01"]
NUMBERS = [0, 1, 1.0, 2, -1, 2.5, 10, -0.5]
# Decimals as stored (scalars.encode_decimal): in documents only, bounds are what they decode to.
DECIMALS = [orjson.Fragment(t) for t in (b"2.50", b"1E+1", b"10.00", b"-0.50", b"1.0E+0")]
SCALARS: list[Any] = [None, True, False, *NUMBERS, *STRINGS]
FIELDS = ["a", "b", "d.a", "d.b", "tags", "tags[]", "lines[].p", "lines[].q", "lines[]", "zz"]
SEARCHES = ["a", "ab b", "A", "é 1", "ba v", "B A"]
SEARCHES += ["a*", "*b", "*A*", "B* a", "É* *1", "ab* *ba", "*é*", "b* *a*"]  # wildcards
PATTERNS = ["^a", "b$", "a.*b", "\\d", "", "é", "^$", "[%_]"]


def _scalar(rng: random.Random) -> Any:
    return rng.choice(SCALARS)


def _value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if roll < 0.05:
        return rng.choice(DECIMALS)
    if roll < 0.6 or depth > 1:
        return _scalar(rng)
    if roll < 0.85:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {k: _value(rng, depth + 1) for k in rng.sample(["a", "b", "p", "q"], rng.randrange(3))}


def random_document(rng: random.Random) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for field in ("a", "b", "d", "tags", "lines"):
        if rng.random() < 0.2:
            continue  # missing
        if field == "lines" and rng.random() < 0.7:
            doc[field] = [
                {k: _value(rng, 1) for k in rng.sample(["p", "q"], rng.randrange(3))}
                if rng.random() < 0.8
                else _scalar(rng)
                for _ in range(rng.randrange(4))
            ]
        elif field == "d" and rng.random() < 0.7:
            doc[field] = {k: _value(rng, 1) for k in rng.sample(["a", "b"], rng.randrange(3))}
        else:
            doc[field] = _value(rng)
    return doc


def _bound(rng: random.Random) -> Any:
    return rng.choice(NUMBERS) if rng.random() < 0.5 else rng.choice(STRINGS)


def random_predicate(rng: random.Random, depth: int = 0) -> Predicate:
    roll = rng.random()
    if depth < 3 and roll < 0.25:
        items = tuple(random_predicate(rng, depth + 1) for _ in range(rng.randrange(2, 4)))
        return And(items) if rng.random() < 0.5 else Or(items)
    if depth < 3 and roll < 0.35:
        return Not(random_predicate(rng, depth + 1))
    field = rng.choice(FIELDS)
    kind = rng.randrange(11)
    if kind == 0:
        return Equals(field, _scalar(rng))
    if kind == 1:
        return Compare(field, rng.choice(["<", "<=", ">", ">="]), _bound(rng))
    if kind == 2:
        if rng.random() < 0.5:
            low, high = sorted(rng.sample(NUMBERS, 2))
        else:
            low, high = sorted(rng.sample(STRINGS, 2))
        return Between(field, low, high)
    if kind == 3:
        return In(field, tuple(_scalar(rng) for _ in range(rng.randrange(4))))
    if kind == 4:
        return ContainsAll(field, tuple(_scalar(rng) for _ in range(rng.randrange(3))))
    if kind == 5:
        return StartsWith(field, rng.choice(STRINGS))
    if kind == 6:
        return EndsWith(field, rng.choice(STRINGS))
    if kind == 7:
        return Exists(field)
    if kind == 8:
        return Regex(field, rng.choice(PATTERNS))
    if kind == 9:
        terms = parse_search_terms(rng.choice(SEARCHES))
        return Search(field, terms, rng.choice(list(SearchOperator)))
    return Equals(field, _scalar(rng))


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    rng = random.Random(20261121)
    return {f"docs/{i}": random_document(rng) for i in range(DOCUMENTS)}


def test_sql_matches_the_reference_evaluator(
    store: DocumentStore, documents: dict[str, dict[str, Any]]
) -> None:
    storage = store._storage(store.database)
    storage.apply(
        [PutCommand(i, "Docs", _body(d)) for i, d in documents.items()]
        + [PutCommand("others/1", "Others", orjson.dumps({"a": "a"}))]  # another collection
    )
    rng = random.Random(7)
    mismatches = _disagreements(storage, documents, rng, PREDICATES)
    assert mismatches == [], f"{len(mismatches)} predicates disagree; first: {mismatches[:3]}"
    stats = store.maintenance.get_statistics()
    assert {f"auto/Docs/{f}" for f in FIELDS} <= set(stats.indexes)

    # The indexes exist now: change a fifth of the documents and ask again, so that the
    # value table and expression indexes are checked after writes, not only after building.
    changes = random.Random(11)
    batch: list[Any] = []
    for document_id in changes.sample(sorted(documents), 100):
        if changes.random() < 0.3:
            del documents[document_id]
            batch.append(DeleteCommand(document_id))
        else:
            documents[document_id] = random_document(changes)
            batch.append(PutCommand(document_id, "Docs", _body(documents[document_id])))
    for i in range(20):
        documents[f"docs/new-{i}"] = random_document(changes)
        batch.append(PutCommand(f"docs/new-{i}", "Docs", _body(documents[f"docs/new-{i}"])))
    storage.apply(batch)
    mismatches = _disagreements(storage, documents, rng, 300)
    assert mismatches == [], f"after writes: {len(mismatches)} disagree: {mismatches[:3]}"


def _disagreements(
    storage: Any, documents: dict[str, dict[str, Any]], rng: random.Random, count: int
) -> list[tuple[Predicate, list[str]]]:
    """``count`` random predicates on which SQL and the reference disagree, or on which
    ``p`` and ``not p`` do not split the collection exactly in two."""
    everything = set(documents)
    decoded = {i: orjson.loads(_body(d)) for i, d in documents.items()}  # as stored
    mismatches = []
    for _ in range(count):
        predicate = random_predicate(rng)
        expected = {i for i, d in decoded.items() if matches(d, predicate)}
        found = {r.id for r in storage.query(Query("Docs", predicate)).records}
        negated = {r.id for r in storage.query(Query("Docs", Not(predicate))).records}
        if found != expected or found | negated != everything or found & negated:
            mismatches.append((predicate, sorted(found ^ expected)[:5]))
    return mismatches


def _body(document: dict[str, Any]) -> bytes:
    return orjson.dumps({**document, "@metadata": {}})
