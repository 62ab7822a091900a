"""Values of any size at an indexed path are written, and queries on that path still answer
what ``rookdb.evaluate`` says, on every backend (issue 12 §2: a valid write must not fail).

PostgreSQL's B-tree entries hold about 2,700 bytes and a ``tsvector`` 1 MB: automatic indexes
that held whole values made such a write fail (a 503 through ``rookdb serve``) once a query had
indexed the path. The values here are past those limits, and close to each other past any
prefix an index could keep, so that an index that narrows without deciding would show."""

from __future__ import annotations

import base64
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from rookdb import DocumentStore, SerializationError
from rookdb.evaluate import matches
from rookdb.ids import MAX_COLLECTION_NAME_BYTES
from rookdb.query import (
    And,
    Between,
    Compare,
    EndsWith,
    Equals,
    Exists,
    In,
    Not,
    OrderBy,
    Predicate,
    Query,
    Search,
    SearchOperator,
    StartsWith,
)
from rookdb.storage.commands import PutCommand
from rookdb.testing.backends import serve_on
from tests.internals import write_unchecked

BIG = "x" * 3_000_000
LONG = "p" * 5000  # long values that differ only after 5,000 characters
# Four-byte characters that do not compress: the most bytes per character.
WIDE = "".join(chr(c) for c in random.Random(4).choices(range(0x10000, 0x10FFFF), k=2000))

DOCUMENTS: dict[str, dict[str, Any]] = {
    "things/1": {"name": "a", "rank": 1},
    "things/2": {"name": BIG, "rank": 2},
    "things/3": {"name": BIG + "y", "rank": 2.5},
    "things/4": {"name": LONG, "rank": 3},
    "things/5": {"name": LONG + "a", "rank": -1},
    "things/6": {"name": LONG + "b"},
    "things/7": {"name": "x" * 1000 + "y", "rank": 0.5},
    "things/8": {"name": WIDE},
    "things/9": {"name": WIDE[:500]},
    "things/10": {"name": {"k": BIG}},  # a big object at the path
    "things/11": {"name": ["a", BIG, LONG + "b"]},  # a big array: its elements are candidates
    "things/12": {"name": [BIG] * 3},
    "things/13": {"name": 5},
    "things/14": {"name": None},
    "things/15": {"name": True},
    "things/16": {},
    "things/17": {"name": "p" * 4999 + "q"},
    "things/18": {"name": []},
}

PREDICATES: list[Predicate] = [
    Equals("name", "a"),
    Equals("name", BIG),
    Equals("name", BIG + "y"),
    Equals("name", LONG),
    Equals("name", LONG + "a"),
    Equals("name", LONG + "c"),
    Equals("name", BIG[:-1]),
    Equals("name", WIDE),
    Equals("name", WIDE[:500]),
    Equals("name", 5),
    Equals("name", None),
    In("name", ("a", BIG, LONG + "b", LONG + "z", 5)),
    In("name", (LONG + "a", WIDE)),
    *(Compare("name", op, bound) for op in ("<", "<=", ">", ">=") for bound in (LONG, BIG)),
    Compare("name", ">", LONG + "a"),
    Compare("name", "<", LONG + "b"),
    Compare("name", ">=", "x" * 1000 + "y"),
    Compare("name", "<", WIDE[:450]),
    Compare("name", ">", 1),
    Between("name", LONG, LONG + "a"),
    Between("name", LONG + "a", BIG),
    Between("name", "x" * 2000, BIG + "a"),
    StartsWith("name", "p"),
    StartsWith("name", LONG),
    StartsWith("name", LONG + "a"),
    StartsWith("name", "p" * 4999),
    StartsWith("name", BIG),
    StartsWith("name", "x" * 1000),
    StartsWith("name", WIDE[:450]),
    EndsWith("name", "y"),
    Exists("name"),
    Not(Equals("name", BIG)),
    Not(StartsWith("name", LONG)),
    And((Compare("name", ">", "a"), Compare("rank", ">", 0))),
    Compare("rank", ">=", 2),
]


@pytest.fixture
def things(store: DocumentStore) -> DocumentStore:
    """``store`` with small documents, queried first so that the paths are indexed, then the
    big ones, written through indexes that exist."""
    with store.open_session() as session:
        session.store({"name": "a", "rank": 1}, "things/1")
        session.save_changes()
    with store.open_session() as session:
        assert session.query(collection_name="things").where_equals("name", "a").count() == 1
        ranked = session.query(collection_name="things").where_greater_than("rank", 0)
        assert ranked.count() == 1
    with store.open_session() as session:
        for document_id, document in DOCUMENTS.items():
            session.store(dict(document), document_id)
        session.save_changes()
    return store


def _expected(predicate: Predicate) -> set[str]:
    return {i for i, d in DOCUMENTS.items() if matches(d, predicate)}


@pytest.mark.parametrize("predicate", PREDICATES, ids=lambda p: _short(repr(p)))
def test_queries_on_a_path_holding_big_values(things: DocumentStore, predicate: Predicate) -> None:
    storage = things._storage(things.database)
    found = [r.id for r in storage.query(Query("things", predicate)).records]
    assert sorted(found) == sorted(_expected(predicate))
    negated = {r.id for r in storage.query(Query("things", Not(predicate))).records}
    assert negated == set(DOCUMENTS) - set(found)


def _rank(value: Any) -> tuple[Any, ...]:
    """The reference order of a value (README, Ordering): by JSON type, then by value."""
    if value is None:
        return (0,)
    if type(value) is bool:
        return (1, value)
    if type(value) in (int, float):
        return (2, value)
    if type(value) is str:
        return (3, value)
    return (4,)  # arrays and objects: ties, broken by id


@pytest.mark.parametrize("descending", [False, True])
def test_order_by_a_path_holding_big_values(things: DocumentStore, descending: bool) -> None:
    storage = things._storage(things.database)
    query = Query("things", order_by=(OrderBy("name", descending),))
    found = [r.id for r in storage.query(query).records]
    ids = sorted(DOCUMENTS)  # ties in id order, whichever the direction
    ids.sort(key=lambda i: _rank(DOCUMENTS[i].get("name")), reverse=descending)
    assert found == ids
    with things.open_session() as session:  # and through the session, as users ask
        query = session.query(collection_name="things").where_starts_with("name", LONG)
        names = [d["name"] for d in query.order_by_descending("name")]
    # things/11 holds LONG + "b" in an array: it matches, and sorts with arrays, first.
    assert names == [DOCUMENTS["things/11"]["name"], LONG + "b", LONG + "a", LONG]


def test_a_big_value_replaces_a_small_one_and_back(things: DocumentStore) -> None:
    with things.open_session() as session:
        session.store({"name": LONG + "c"}, "things/1")
        session.save_changes()
    with things.open_session() as session:
        query = session.query(collection_name="things").where_equals("name", LONG + "c")
        assert [d["name"] for d in query] == [LONG + "c"]
        alone = session.query(collection_name="things").where_equals("name", "a")
        assert alone.count() == 1  # the array of things/11
        doc = session.load("things/1")
        doc["name"] = "a"
        session.save_changes()
    with things.open_session() as session:
        assert session.query(collection_name="things").where_equals("name", "a").count() == 2


def test_the_widest_values_in_the_longest_collection_name(store: DocumentStore) -> None:
    # 512 bytes of name (two-byte letters, some of which take three lower-cased, in the
    # collection key) beside four-byte characters, none of which compress: about the biggest
    # index entries there can be.
    letters = [chr(c) for c in range(0x400, 0x530)] + ["\u0130", "\u023a", "\u023e"] * 40
    collection = "".join(random.Random(6).choices(letters, k=MAX_COLLECTION_NAME_BYTES // 2))
    storage = store._storage(store.database)

    def put(document_id: str, value: Any) -> PutCommand:
        return PutCommand(document_id, collection, orjson.dumps({"name": value}))

    storage.apply([put("w/1", "a")])
    assert [r.id for r in storage.query(Query(collection, Equals("name", "a"))).records] == ["w/1"]
    storage.apply([put("w/2", WIDE), put("w/3", WIDE[:1000]), put("w/4", [WIDE, "a"])])

    def found(predicate: Predicate) -> set[str]:
        return {r.id for r in storage.query(Query(collection, predicate)).records}

    assert found(Equals("name", WIDE)) == {"w/2", "w/4"}
    assert found(Compare("name", ">=", WIDE[:1000])) == {"w/2", "w/3", "w/4"}


def _words(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [base64.b32encode(rng.randbytes(10)).decode().lower() for _ in range(count)]


def test_search_in_a_text_of_many_distinct_words(store: DocumentStore) -> None:
    words = _words(150_000, 1)  # ~2.6 MB of distinct lexemes, past what one tsvector holds
    with store.open_session() as session:
        session.store({"text": "first words"}, "posts/1")
        session.save_changes()
    with store.open_session() as session:
        assert session.query(collection_name="posts").search("text", "first").count() == 1
    with store.open_session() as session:
        session.store({"text": " ".join(words)}, "posts/2")
        session.store({"text": " ".join(words[:10])}, "posts/3")
        session.save_changes()
    storage = store._storage(store.database)

    def found(terms: tuple[str, ...], operator: SearchOperator) -> list[str]:
        query = Query("posts", Search("text", terms, operator))
        return sorted(r.id for r in storage.query(query).records)

    assert found((words[-1],), SearchOperator.OR) == ["posts/2"]
    assert found((words[0], words[-1]), SearchOperator.AND) == ["posts/2"]
    assert found((words[0], words[5]), SearchOperator.AND) == ["posts/2", "posts/3"]
    assert found((words[0], "first"), SearchOperator.AND) == []
    assert found((words[-1], "first"), SearchOperator.OR) == ["posts/1", "posts/2"]
    assert found(("nowhere",), SearchOperator.OR) == []
    with store.open_session() as session:  # rewritten small, then deleted: nothing is left
        session.store({"text": "small now"}, "posts/2")
        session.save_changes()
    assert found((words[-1],), SearchOperator.OR) == []
    assert found(("small",), SearchOperator.OR) == ["posts/2"]


def _short(text: str) -> str:
    return text if len(text) < 60 else f"{text[:40]}...{len(text)}"


# -- PostgreSQL: what no index can hold is bad input, not an unavailable storage ----------


@pytest.mark.rookdb_backends("postgres")
def test_an_index_past_postgres_limits_fails_a_write_as_bad_input(store: DocumentStore) -> None:
    # A number of 10,000 digits (rookdb writes none: 64-bit integers and floats only), as
    # another program could write it, at an indexed path: past what an index entry holds.
    with store.open_session() as session:
        session.store({"n": 1}, "nums/1")
        session.save_changes()
    with store.open_session() as session:
        assert session.query(collection_name="nums").where_greater_than("n", 0).count() == 1
    with pytest.raises(SerializationError, match="PostgreSQL"):
        digits = "".join(random.Random(5).choices("0123456789", k=10_000)).encode()
        write_unchecked(store, "nums/2", "nums", b'{"n": 0.' + digits + b"}")
    with store.open_session() as session:  # nothing written, and the database still works
        assert session.load("nums/2") is None
        session.store({"n": 2}, "nums/3")
        session.save_changes()
        assert session.query(collection_name="nums").where_greater_than("n", 0).count() == 2


# -- through rookdb serve: never a 5xx --------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with serve_on(request.param, tmp_path) as base:
        yield base


def test_a_big_value_at_an_indexed_path_is_written_through_the_server(server: str) -> None:
    database = f"{server}/databases/big"

    def put(document_id: str, document: dict[str, Any]) -> httpx.Response:
        command = {"Type": "PUT", "Id": document_id, "Document": document}
        body = orjson.dumps({"Commands": [command]})
        return httpx.post(f"{database}/bulk_docs", content=body, timeout=60)

    def query(rql: str, **parameters: Any) -> list[str]:
        body = orjson.dumps({"Query": rql, "QueryParameters": parameters})
        answer = httpx.post(f"{database}/queries", content=body, timeout=60)
        assert answer.status_code == 200, answer.text[:300]
        return sorted(r["@metadata"]["@id"] for r in answer.json()["Results"])

    meta = {"@metadata": {"@collection": "Things"}}
    assert put("things/1", {"name": "a", **meta}).status_code == 201
    assert query("from Things where name = $v", v="a") == ["things/1"]
    answer = put("things/2", {"name": BIG, **meta})
    assert answer.status_code == 201, answer.text[:300]
    assert put("things/3", {"name": {"k": BIG}, **meta}).status_code == 201
    assert query("from Things where name = $v", v=BIG) == ["things/2"]
    assert query("from Things where name > $v", v="b") == ["things/2"]
    assert query("from Things where startsWith(name, $v)", v="x" * 5000) == ["things/2"]
