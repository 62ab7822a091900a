"""``store.bulk_insert()`` (RavenDB's bulk insert): documents written in chunks, each chunk one
transaction; ids as a session makes them; existing documents overwritten; bad entities and
ids refused at ``store`` with nothing of them queued."""

from __future__ import annotations

import pytest

from rookdb import (
    DocumentStore,
    InvalidIdError,
    InvalidOperationError,
    SerializationError,
)
from rookdb.serialization.encoding import MAX_DEPTH
from rookdb.testing.recording import record_requests
from rookdb.testing.suite.models import Company, Employee, Product


def _count(store: DocumentStore, collection: str) -> int:
    return store.maintenance.get_statistics().collections.get(collection, 0)


def test_bulk_insert_writes_every_document_in_chunks(store: DocumentStore) -> None:
    calls = record_requests(store)
    with store.bulk_insert(chunk_size=100) as bulk:
        for i in range(250):
            bulk.store(Product(f"p{i}", i), id=f"products/{i}")
    chunks = [c for c in calls if c.method == "bulk_write"]
    assert [len(c.args[0]) for c in chunks] == [100, 100, 50]
    assert bulk.written == 250
    with store.open_session() as session:
        product = session.load("products/249", Product)
        assert (product.name, product.units_in_stock) == ("p249", 249)
        assert session.query(object_type=Product).count() == 250


def test_bulk_insert_ids_as_a_session_makes_them(store: DocumentStore) -> None:
    employee, company = Employee("Ada"), Company(name="Acme", Id="companies/acme")
    with store.bulk_insert() as bulk:
        first = bulk.store(employee)
        second = bulk.store(company)
        third = bulk.store({"name": "x", "@metadata": {"@collection": "Things"}})
        fourth = bulk.store({"name": "y"}, {"@id": "things/y", "@collection": "Things"})
        bulk.store_as(Employee("Bob"), "employees/bob")
    assert first == employee.Id == "employees/1-A"  # HiLo, written back to the entity
    assert second == "companies/acme"
    assert third.startswith("things/")
    assert fourth == "things/y"
    with store.open_session() as session:
        assert session.load(first, Employee).first_name == "Ada"
        assert session.load("companies/acme", Company).name == "Acme"
        assert session.load("employees/bob", Employee).first_name == "Bob"
        assert session.load(third)["name"] == "x"
        metadata = session.advanced.get_metadata_for(session.load(first, Employee))
        assert metadata["@collection"] == "Employees"


def test_bulk_insert_metadata(store: DocumentStore) -> None:
    with store.bulk_insert() as bulk:
        bulk.store(Employee("Ada"), {"department": "r&d", "@change-vector": "ignored"})
    with store.open_session() as session:
        (employee,) = session.query(object_type=Employee).to_list()
        metadata = session.advanced.get_metadata_for(employee)
        assert metadata["department"] == "r&d"
        assert metadata["@change-vector"] != "ignored"


def test_bulk_insert_overwrites_existing_documents(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Product("old", 1), "products/1")
        session.save_changes()
    with store.bulk_insert() as bulk:
        bulk.store(Product("new", 2), id="products/1")
        bulk.store(Product("twice-a", 3), id="products/2")
        bulk.store(Product("twice-b", 4), id="PRODUCTS/2")  # same id in one chunk: last wins
    with store.open_session() as session:
        assert session.load("products/1", Product).name == "new"
        assert session.load("products/2", Product).name == "twice-b"
    assert _count(store, "Products") == 2


def test_a_bulk_inserted_document_is_what_a_session_writes(store: DocumentStore) -> None:
    # Each backend's fastest load (PostgreSQL's COPY) keeps every rule of a write: the same
    # stored bytes, a change vector of this database, a last-modified, the collection, and a
    # new change vector for a document it overwrites.
    with store.open_session() as session:
        session.store(Product("saved\u0000nul", 1), "products/saved")
        session.store(Product("old", 1), "products/over")
        session.save_changes()
        old_vector = session.advanced.get_change_vector_for(session.load("products/over"))
    with store.bulk_insert() as bulk:
        bulk.store(Product("saved\u0000nul", 1), id="products/bulk")
        bulk.store(Product("new", 2), id="Products/Over")
    storage = store._storage(store.database)
    got = storage.get(["products/saved", "products/bulk", "products/over"]).documents
    saved, bulked, over = got["products/saved"], got["products/bulk"], got["products/over"]
    assert bulked.data == saved.data
    assert bulked.collection == saved.collection == "Products"
    assert bulked.change_vector.split("-", 1)[1] == saved.change_vector.split("-", 1)[1]
    assert bulked.last_modified >= saved.last_modified
    assert over.id == "products/over"  # the id as first written stays, as a session's put
    assert over.change_vector != old_vector
    with store.open_session() as session:
        loaded = session.load("products/bulk", Product)
        assert loaded.name == "saved\u0000nul"
        metadata = session.advanced.get_metadata_for(loaded)
        assert metadata["@change-vector"] == bulked.change_vector


def test_queries_and_indexes_see_bulk_inserted_documents(store: DocumentStore) -> None:
    with store.open_session() as session:  # the automatic indexes exist before the load
        session.store({"title": "first post", "n": 0, "@metadata": {"@collection": "Posts"}})
        session.save_changes()
        query = session.query(collection_name="Posts")
        assert len(query.where_equals("n", 0).to_list()) == 1
        assert len(session.query(collection_name="Posts").search("title", "post").to_list()) == 1
    with store.bulk_insert(chunk_size=40) as bulk:
        for i in range(1, 100):
            post = {"title": f"post {i} words", "n": i % 3, "@metadata": {"@collection": "Posts"}}
            bulk.store(post, id=f"posts/{i}")
    with store.open_session() as session:
        by_n = session.query(collection_name="Posts").where_equals("n", 2).to_list()
        assert len(by_n) == 33
        found = session.query(collection_name="Posts").search("title", "words").to_list()
        assert len(found) == 99
        assert session.query(collection_name="Posts").count() == 100
    assert _count(store, "Posts") == 100


def test_bad_entities_and_ids_are_refused_at_store(store: DocumentStore) -> None:
    deep: dict[str, object] = {}
    node = deep
    for _ in range(MAX_DEPTH + 5):
        node["x"] = {}
        node = node["x"]  # type: ignore[assignment]
    with store.bulk_insert() as bulk:
        bulk.store(Product("before"), id="products/before")
        with pytest.raises(SerializationError):
            bulk.store(Product(float("nan")), id="products/nan")  # type: ignore[arg-type]
        with pytest.raises(SerializationError):
            bulk.store(deep, id="things/deep")
        with pytest.raises(SerializationError):
            bulk.store(42)
        with pytest.raises(InvalidIdError):
            bulk.store(Product("x"), id="/leading-slash")
        with pytest.raises(InvalidIdError):
            bulk.store(Product("x"), id="products/")  # storage-completed ids: session.store
        with pytest.raises(InvalidIdError):
            bulk.store(Product("x"), id="products|")
        with pytest.raises(InvalidOperationError):
            bulk.store(Product("x"), "products/positional")  # type: ignore[arg-type]
        bulk.store(Product("after"), id="products/after")  # the bulk insert goes on
    with store.open_session() as session:
        found = session.load(["products/before", "products/after", "products/nan", "things/deep"])
        assert [k for k, v in found.items() if v is not None] == [
            "products/before",
            "products/after",
        ]


def test_leaving_by_an_exception_drops_the_unwritten_chunk(store: DocumentStore) -> None:
    with pytest.raises(RuntimeError), store.bulk_insert(chunk_size=10) as bulk:
        for i in range(25):
            bulk.store(Product(f"p{i}"), id=f"products/{i}")
        raise RuntimeError("the loader failed")
    assert _count(store, "Products") == 20  # two chunks written, the last five dropped
    with pytest.raises(InvalidOperationError):
        bulk.store(Product("late"))


def test_nothing_stored_nothing_sent(store: DocumentStore) -> None:
    calls = record_requests(store)
    with store.bulk_insert():
        pass
    assert calls == []


def test_bulk_insert_into_another_database(store: DocumentStore) -> None:
    name = f"{store.database}_bulk"
    with store.bulk_insert(name) as bulk:
        bulk.store(Product("elsewhere"), id="products/1")
    with store.open_session(name) as session:
        assert session.load("products/1", Product).name == "elsewhere"
    with store.open_session() as session:
        assert session.load("products/1", Product) is None
    store.maintenance.delete_database(name)


def test_chunk_size_must_be_positive(store: DocumentStore) -> None:
    with pytest.raises(InvalidOperationError):
        store.bulk_insert(chunk_size=0)
