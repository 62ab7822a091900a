"""Hostile strings (issue 3): as values they return exactly what the reference returns, as
field names they are a ``QueryError``, and the schema is the same afterwards."""

from __future__ import annotations

import itertools
import re

import pytest

from rookdb import DocumentStore, QueryError
from rookdb.evaluate import matches
from rookdb.query import EndsWith, Equals, In, Query, StartsWith
from tests.internals import schema_objects

FRAGMENTS = [
    "'", '"', "''", "--", ";", "\x00", "%", "_", "$", ".", "[", "]", "[]", "*", "@", "\\",
    "/*", "*/", "$.v", "$[0]", "\\u0000", "é", "😀", " ", "\n", "?", ":1", "%_%",
]  # fmt: skip
PAYLOADS = [
    "' OR '1'='1",
    '") OR 1=1 --',
    "; DROP TABLE documents; --",
    "x' UNION SELECT sql FROM sqlite_master --",
    "json_extract(data, '$')",
    "a%",
    "%a",
    "a_b",
    "\x00' OR 1=1",
]


def hostile_strings() -> list[str]:
    out = list(dict.fromkeys([*FRAGMENTS, *PAYLOADS]))
    for a, b in itertools.product(FRAGMENTS, FRAGMENTS):
        if len(out) >= 200:
            break
        candidate = f"{a}v{b}"
        if candidate not in out:
            out.append(candidate)
    return out[:200]


HOSTILE = hostile_strings()


def test_there_are_200_distinct_hostile_strings() -> None:
    assert len(HOSTILE) == len(set(HOSTILE)) == 200


def test_hostile_values(store: DocumentStore) -> None:
    documents = {f"docs/{i}": {"v": s, "tags": [s, "x"]} for i, s in enumerate(HOSTILE)}
    documents["docs/plain"] = {"v": "v", "tags": []}
    with store.open_session() as session:
        for document_id, doc in documents.items():
            session.store(dict(doc), document_id)
        session.save_changes()
    before = schema_objects(store)
    storage = store._storage(store.database)
    disagreements = []
    for value in HOSTILE:
        for predicate in (
            Equals("v", value),
            In("tags", (value,)),
            StartsWith("v", value),
            EndsWith("v", value),
        ):
            expected = {i for i, d in documents.items() if matches(d, predicate)}
            found = {r.id for r in storage.query(Query("docs", predicate)).records}
            if found != expected:
                disagreements.append((predicate, sorted(found ^ expected)[:3]))
    assert disagreements == []
    with store.open_session() as session:  # through the session and RQL parameters too
        session.advanced.max_number_of_requests_per_session = 50
        for value in HOSTILE[:50]:
            rql = session.advanced.raw_query("from docs where v = $v").add_parameter("v", value)
            expected_ids = {i for i, d in documents.items() if matches(d, Equals("v", value))}
            assert {session.advanced.get_document_id(d) for d in rql} == expected_ids
    assert session.number_of_requests == 50
    assert schema_objects(store) == before


# SPEC Q2: letters, digits, "_", "-", "@", "." and "[]" (after a name) make a field path.
FIELD_PATH = re.compile(r"[\w@-]+(\[\])?(\.[\w@-]+(\[\])?)*")


def _rql_quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_field_names(store: DocumentStore, name: str) -> None:
    before = schema_objects(store)
    with store.open_session() as session:
        builder = lambda: session.query(collection_name="docs").where_equals(name, 1).to_list()  # noqa: E731
        raw = session.advanced.raw_query(f"from docs where {_rql_quoted(name)} = 1")
        if FIELD_PATH.fullmatch(name):
            assert builder() == [] and raw.to_list() == []  # a legal name: it just runs
        else:
            with pytest.raises(QueryError):
                builder()
            with pytest.raises(QueryError):
                raw.to_list()
            assert session.number_of_requests == 0
    assert schema_objects(store) == before
