"""Every automatic index of a collection's field has an SQL index of its own: their names are
one per path (``auto_indexes.sql_index_name``), where SQLite compares names without case and
PostgreSQL cuts them at 63 bytes; and a database whose indexes had the names of before gets
the ones it lacked when a store opens it. (The indexes of a map index's entries:
``test_index_seeks``.)"""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from rookdb import DocumentStore
from rookdb.query import Equals, In, Query
from rookdb.storage.relational.auto_indexes import sql_index_name
from rookdb.testing.backends import BackendSpec
from tests.internals import query_plan

pytestmark = pytest.mark.rookdb_backends("sqlite", "postgres")

LONG = "x" * 60


def _used(plan: str) -> str:
    """The name of the one automatic index of a field ``plan`` (``query_plan``) seeks."""
    found = set(re.findall(r'(?:USING INDEX |using |on )"?(auto/[^"\s]+)"?', plan))
    found = {name.removesuffix("/text") for name in found}
    assert len(found) == 1, plan
    return found.pop()


def _names(store: DocumentStore) -> list[str]:
    """The names of the SQL indexes of the documents' table automatic indexes made."""
    storage: Any = store._storage(store.database)
    if storage.capabilities.name == "sqlite":
        with storage._connections as conn:
            rows = conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'documents' "
                "AND name LIKE 'auto/%' ORDER BY name"
            ).fetchall()
    else:
        with storage._connection() as conn:
            rows = conn.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s "
                "AND tablename = 'documents' AND starts_with(indexname, 'auto/') "
                "ORDER BY indexname",
                (storage.schema,),
            ).fetchall()
    return [str(name) for (name,) in rows]


@pytest.mark.parametrize(
    "fields", [("email", "Email", "EMAIL"), (f"{LONG}1", f"{LONG}2")], ids=["case", "long"]
)
def test_fields_alike_but_for_case_or_past_63_bytes_each_seek_an_index_of_their_own(
    store: DocumentStore, backend: BackendSpec, fields: tuple[str, ...]
) -> None:
    with store.open_session() as session:
        for i in range(50):
            person = {field: f"{field[-1]}{i}" for field in fields}
            session.store({**person, "@metadata": {"@collection": "People"}}, f"p/{i}")
        session.save_changes()
    used = []
    for field in fields:
        with store.open_session() as session:
            found = session.query(collection_name="People").where_equals(field, f"{field[-1]}7")
            assert [session.advanced.get_document_id(p) for p in found] == ["p/7"]
        used.append(_used(query_plan(store, Query("People", Equals(field, f"{field[-1]}7")))))
    assert len(set(used)) == len(fields), used
    per_field = 2 if backend.name == "postgres" else 1  # PostgreSQL: jsonb and text forms
    assert len(_names(store)) == len(fields) * per_field, _names(store)
    assert all(len(name.encode()) <= 63 for name in _names(store))


@pytest.mark.rookdb_backends("postgres")
def test_a_field_named_containment_has_an_index_apart_from_the_arrays_one(
    store: DocumentStore,
) -> None:
    # PostgreSQL's one GIN index of arrays is "auto/containment": a field's was named so too.
    with store.open_session() as session:  # enough for the planner to prefer indexes
        for i in range(3000):
            session.store({"containment": f"c{i}", "tags": [f"t{i}"]}, f"things/{i}")
        session.save_changes()
    arrays = query_plan(store, Query("things", In("tags[]", ("t7",))))
    field = query_plan(store, Query("things", Equals("containment", "c7")))
    assert _used(arrays) == "auto/containment", arrays
    assert _used(field) == sql_index_name("auto/", "containment"), field


def _people(store: DocumentStore, fields: tuple[str, ...]) -> None:
    with store.open_session() as session:
        for i in range(3000):
            person = {field: f"{field[-1]}{i}" for field in fields}
            session.store({**person, "@metadata": {"@collection": "People"}}, f"p/{i}")
        session.save_changes()
    for field in fields:  # made, by the first query on each
        with store.open_session() as session:
            assert session.query(collection_name="People").where_equals(field, "x").count() == 0


@pytest.mark.rookdb_backends("sqlite")
def test_an_index_an_older_name_kept_from_being_made_is_made_on_open_sqlite(
    new_store: Any, caplog: pytest.LogCaptureFixture
) -> None:
    old = new_store().initialize()
    _people(old, ("email", "Email"))
    # As rookdb made them before: "auto/email", and none of Email (its CREATE INDEX IF NOT
    # EXISTS "auto/Email" did nothing: SQLite compares names without case).
    storage: Any = old._storage(old.database)
    with storage._connections as conn:
        for field in ("email", "Email"):
            conn.execute(f'DROP INDEX "{sql_index_name("auto/", field)}"')
        conn.execute(
            'CREATE INDEX "auto/email" ON documents (collection COLLATE NOCASE, '
            "json_type(data, '$.\"email\"'), json_extract(data, '$.\"email\"'))"
        )
    old.close()

    with caplog.at_level(logging.INFO, logger="rookdb.storage.sqlite"):
        store = new_store().initialize()
        _names(store)  # (a store opens its database when first used)
        again = new_store().initialize()
        _names(again)  # finds nothing to make
    made = [r.getMessage() for r in caplog.records if "missing" in r.getMessage()]
    assert len(made) == 1 and "'Email'" in made[0], made
    assert _names(again) == sorted(["auto/email", sql_index_name("auto/", "Email")])
    plan = query_plan(store, Query("People", Equals("email", "l7")))
    assert _used(plan) == "auto/email", plan
    plan = query_plan(store, Query("People", Equals("Email", "l7")))
    assert _used(plan) == sql_index_name("auto/", "Email"), plan
    with store.open_session() as session:
        assert session.query(collection_name="People").where_equals("Email", "l7").count() == 1


@pytest.mark.rookdb_backends("postgres")
def test_an_index_an_older_name_kept_from_being_made_is_made_on_open_postgres(
    new_store: Any, caplog: pytest.LogCaptureFixture
) -> None:
    old = new_store().initialize()
    with old.open_session() as session:
        for i in range(3000):
            session.store({"containment": f"c{i}", "tags": [f"t{i}"]}, f"things/{i}")
        session.save_changes()
    with old.open_session() as session:  # the field's indexes made first, then the arrays'
        assert session.query(collection_name="things").where_equals("containment", "x").count() == 0
        assert session.query(collection_name="things").where_in("tags[]", ["x"]).count() == 0
    # As rookdb made them before: the field's under "auto/containment", which kept the arrays'
    # GIN index (CREATE INDEX IF NOT EXISTS "auto/containment") from being made.
    storage: Any = old._storage(old.database)
    s = f'"{storage.schema}"'
    with storage._connection() as conn:
        conn.execute(f'DROP INDEX {s}."auto/containment"')
        field = sql_index_name("auto/", "containment")
        conn.execute(f'ALTER INDEX {s}."{field}" RENAME TO "auto/containment"')
    old.close()

    with caplog.at_level(logging.INFO, logger="rookdb.storage.postgres"):
        store = new_store().initialize()
        _names(store)  # (a store opens its database when first used)
        again = new_store().initialize()
        _names(again)  # finds nothing to do
    done = [r.getMessage() for r in caplog.records if "automatic index" in r.getMessage()]
    field = sql_index_name("auto/", "containment")
    assert done == [  # the field's, renamed (not rebuilt); the GIN index, made; once each
        f"database 'default': the automatic index {field!r}: renamed from 'auto/containment'",
        "database 'default': the automatic index 'auto/containment': made",
    ], done
    names = _names(again)
    assert "auto/containment" in names and field in names, names
    storage = again._storage(again.database)
    with storage._connection() as conn:
        (definition,) = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = %s "
            "AND indexname = 'auto/containment'",
            (storage.schema,),
        ).fetchone()
    assert " USING gin " in definition, definition
    arrays = query_plan(store, Query("things", In("tags[]", ("t7",))))
    assert _used(arrays) == "auto/containment", arrays
    plan = query_plan(store, Query("things", Equals("containment", "c7")))
    assert _used(plan) == field, plan


def _two_collections(store: DocumentStore) -> None:
    with store.open_session() as session:  # enough for the planner to prefer indexes
        for i in range(3000):
            collection = "People" if i % 2 else "Robots"
            session.store({"email": f"e{i}", "@metadata": {"@collection": collection}}, f"d/{i}")
        session.save_changes()


def test_a_field_an_older_name_indexed_is_not_indexed_twice_for_another_collection(
    new_store: Any, backend: BackendSpec
) -> None:
    old = new_store().initialize()
    _two_collections(old)
    with old.open_session() as session:
        assert session.query(collection_name="People").where_equals("email", "x").count() == 0
    # As rookdb named them before: "auto/email" (and, PostgreSQL, "auto/email/text").
    storage: Any = old._storage(old.database)
    if backend.name == "sqlite":
        with storage._connections as conn:
            conn.execute(f'DROP INDEX "{sql_index_name("auto/", "email")}"')
            conn.execute(
                'CREATE INDEX "auto/email" ON documents (collection COLLATE NOCASE, '
                "json_type(data, '$.\"email\"'), json_extract(data, '$.\"email\"'))"
            )
    else:
        s = f'"{storage.schema}"'
        with storage._connection() as conn:
            for suffix in ("", "/text"):
                new = sql_index_name("auto/", "email", suffix)
                conn.execute(f'ALTER INDEX {s}."{new}" RENAME TO "auto/email{suffix}"')
    old.close()

    store = new_store().initialize()
    with store.open_session() as session:  # the field, registered for another collection
        assert session.query(collection_name="Robots").where_equals("email", "e8").count() == 1
    if backend.name == "sqlite":
        assert _names(store) == ["auto/email"]
    else:  # renamed, on open
        assert _names(store) == sorted(sql_index_name("auto/", "email", f) for f in ("", "/text"))
    for collection, value in (("Robots", "e8"), ("People", "e7")):
        plan = query_plan(store, Query(collection, Equals("email", value)))
        assert _used(plan) == _names(store)[0].removesuffix("/text"), plan


@pytest.mark.rookdb_backends("sqlite")
def test_an_index_of_the_name_of_before_beside_one_of_the_name_now_is_dropped_on_open(
    new_store: Any,
) -> None:
    old = new_store().initialize()
    _two_collections(old)
    with old.open_session() as session:
        assert session.query(collection_name="People").where_equals("email", "x").count() == 0
    # Both, as a database two versions of rookdb wrote made them.
    storage: Any = old._storage(old.database)
    with storage._connections as conn:
        conn.execute(
            'CREATE INDEX "auto/email" ON documents (collection COLLATE NOCASE, '
            "json_type(data, '$.\"email\"'), json_extract(data, '$.\"email\"'))"
        )
    assert _names(old) == sorted(["auto/email", sql_index_name("auto/", "email")])
    old.close()

    store = new_store().initialize()
    assert _names(store) == [sql_index_name("auto/", "email")]
    plan = query_plan(store, Query("Robots", Equals("email", "e8")))
    assert _used(plan) == sql_index_name("auto/", "email"), plan
