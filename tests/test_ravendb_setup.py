"""A RavenDB user's setup with the official client against ``rookdb serve`` (issue 14): create
the database, read its record and statistics, wait for indexing, send single-document
commands, load conditionally, delete the database; and a database that does not exist, as
RavenDB answers it by default and created on first use with ``--create-databases``.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rookdb import DocumentStore as RookStore
from rookdb.testing.backends import BACKENDS, start_server

ravendb = pytest.importorskip("ravendb")
from ravendb import (  # noqa: E402
    CreateDatabaseOperation,
    DeleteDatabaseOperation,
    DeleteDocumentCommand,
    GetCollectionStatisticsOperation,
    GetDatabaseRecordOperation,
    GetDetailedStatisticsOperation,
    GetStatisticsOperation,
)
from ravendb.documents.commands.crud import GetDocumentsCommand, PutDocumentCommand  # noqa: E402
from ravendb.exceptions.exceptions import DatabaseDoesNotExistException  # noqa: E402
from ravendb.exceptions.raven_exceptions import ConcurrencyException  # noqa: E402
from ravendb.serverwide.database_record import DatabaseRecord  # noqa: E402


class User:
    def __init__(self, name: str | None = None, age: int = 0, Id: str | None = None) -> None:
        self.name, self.age, self.Id = name, age, Id


def _serve(tmp: Path, *options: str) -> Iterator[str]:
    BACKENDS["http"].require()
    process, url, _ = start_server("--data", str(tmp / "data"), *options)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """``rookdb serve`` as started by default: RavenDB's behaviour for missing databases."""
    yield from _serve(tmp_path)


@pytest.fixture
def creating_server(tmp_path: Path) -> Iterator[str]:
    yield from _serve(tmp_path, "--create-databases")


def _store(url: str, database: str) -> Any:
    store = ravendb.DocumentStore(urls=[url], database=database)
    store.initialize()
    return store


def _create(url: str, database: str) -> Any:
    """The two lines every RavenDB application's setup has: create the database, open it."""
    admin = _store(url, database)
    result = admin.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(database)))
    assert result.name == database
    assert result.topology.members == ["A"] and result.topology.promotables == []
    return admin


def _wait_for_indexing(store: Any, timeout_s: float = 30.0) -> Any:
    """What the official test base's wait_for_indexing asks: statistics, until no index is
    stale (rookdb's never are: they are written with the documents)."""
    deadline = time.monotonic() + timeout_s
    while True:
        stats = store.maintenance.send(GetStatisticsOperation("wait-for-indexing"))
        if all(not index.stale for index in stats.indexes):
            return stats
        assert time.monotonic() < deadline, "indexes stayed stale"
        time.sleep(0.1)


def test_a_ravendb_users_setup(server: str) -> None:
    database = "Setup"
    store = _create(server, database)
    try:
        record = store.maintenance.server.send(GetDatabaseRecordOperation(database))
        assert record.database_name == database and record.topology["Members"] == ["A"]
        assert store.maintenance.server.send(GetDatabaseRecordOperation("Nowhere")) is None

        with store.open_session() as session:
            for i in range(3):
                session.store(User(f"user {i}", 20 + i), f"users/{i}")
            session.save_changes()
        with store.open_session() as session:
            adults = list(session.query(object_type=User).where_greater_than("age", 20))
            assert sorted(u.name for u in adults) == ["user 1", "user 2"]

        stats = _wait_for_indexing(store)
        assert stats.count_of_documents == 3 and stats.count_of_indexes == len(stats.indexes)
        assert stats.indexes and all(index.name for index in stats.indexes)
        assert stats.size_on_disk.size_in_bytes is not None
        assert stats.count_of_conflicts == 0 and isinstance(stats.last_indexing_time, dt.datetime)

        collections = store.maintenance.send(GetCollectionStatisticsOperation())
        assert collections.count_of_documents == 3 and collections.count_of_conflicts == 0
        assert collections.collections == {"Users": 3}

        store.maintenance.server.send(DeleteDatabaseOperation(database, hard_delete=True))
        with pytest.raises(DatabaseDoesNotExistException):
            store.maintenance.send(GetStatisticsOperation())
    finally:
        store.close()


def test_creating_a_database_twice_is_ravendbs_concurrency_exception(server: str) -> None:
    store = _create(server, "Twice")
    try:
        with store.open_session() as session:
            session.store(User("kept"), "users/1")
            session.save_changes()
        for name in ("Twice", "TWICE"):  # names are case-insensitive
            with pytest.raises(ConcurrencyException, match="already exists"):
                store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(name)))
        answer = httpx.put(f"{server}/admin/databases", params={"name": "twice"})
        assert answer.status_code == 409
        assert answer.json()["Type"] == "Raven.Client.Exceptions.ConcurrencyException"
        with store.open_session() as session:  # nothing changed
            assert session.load("users/1", User).name == "kept"
    finally:
        store.close()


def test_statistics_through_the_client_measure_the_database(server: str) -> None:
    store = _create(server, "Measured")
    try:
        empty = store.maintenance.send(GetStatisticsOperation())
        assert empty.last_doc_etag == 0 and not empty.database_change_vector
        with store.open_session() as session:
            for i in range(50):
                session.store(User(f"user {i}" * 40, i), f"users/{i}")
            session.save_changes()
            vector = session.advanced.get_change_vector_for(session.load("users/49", User))
        stats = store.maintenance.send(GetStatisticsOperation())
        assert stats.database_change_vector == vector and stats.last_doc_etag >= 50
        assert stats.database_id and vector == f"A:{stats.last_doc_etag}-{stats.database_id}"
        assert stats.size_on_disk.size_in_bytes > empty.size_on_disk.size_in_bytes > 0
        assert stats.size_on_disk.human_size.endswith("Bytes")
    finally:
        store.close()


def test_put_and_delete_document_commands(server: str) -> None:
    store = _create(server, "Commands")
    try:
        executor = store.get_request_executor()
        put = PutDocumentCommand("users/1", None, {"name": "Gracjan", "@metadata": {}})
        executor.execute_command(put)
        assert put.result.key == "users/1" and put.result.change_vector
        with store.open_session() as session:
            assert session.load("users/1", User).name == "Gracjan"

        stale = PutDocumentCommand("users/1", "A:1-not-it", {"name": "x"})
        with pytest.raises(ConcurrencyException):
            executor.execute_command(stale)
        again = PutDocumentCommand("users/1", put.result.change_vector, {"name": "Marcin"})
        executor.execute_command(again)
        assert again.result.change_vector != put.result.change_vector

        with pytest.raises(ConcurrencyException):
            executor.execute_command(DeleteDocumentCommand("users/1", put.result.change_vector))
        executor.execute_command(DeleteDocumentCommand("users/1", again.result.change_vector))
        executor.execute_command(DeleteDocumentCommand("users/1"))  # already gone: fine
        with store.open_session() as session:
            assert session.load("users/1", User) is None
    finally:
        store.close()


def test_detailed_statistics_count_identities(server: str) -> None:
    store = _create(server, "Detailed")
    try:
        stats = store.maintenance.send(GetDetailedStatisticsOperation())
        assert (stats.count_of_identities, stats.count_of_compare_exchange) == (0, 0)
        with store.open_session() as session:
            session.store(User("a"), "people|")
            session.store(User("b"), "users|")
            session.save_changes()
        stats = store.maintenance.send(GetDetailedStatisticsOperation())
        assert stats.count_of_identities == 2 and stats.count_of_documents == 2
    finally:
        store.close()


def test_get_documents_by_paging_is_most_recent_first(server: str) -> None:
    # GetDocumentsCommand.from_paging: GET /docs?start=&pageSize=, neither ids nor a prefix.
    store = _create(server, "Paging")
    try:
        executor = store.get_request_executor()
        for document_id in ["products/101", "products/10", "products/102"]:
            executor.execute_command(PutDocumentCommand(document_id, None, {"@metadata": {}}))
        paged = GetDocumentsCommand.from_paging(0, 2)
        executor.execute_command(paged)
        ids = [d["@metadata"]["@id"] for d in paged.result.results]
        assert ids == ["products/102", "products/10"]
        paged = GetDocumentsCommand.from_paging(2, 1)
        executor.execute_command(paged)
        assert [d["@metadata"]["@id"] for d in paged.result.results] == ["products/101"]
    finally:
        store.close()


def test_conditional_load_over_if_none_match(server: str) -> None:
    store = _create(server, "Conditional")
    try:
        with store.open_session() as session:
            session.store(User("RavenDB"), "users/1")
            session.save_changes()
        with store.open_session() as session:
            user = session.load("users/1", User)
            old = session.advanced.get_change_vector_for(user)
            user.name = "RavenDB 5.1"
            session.save_changes()
            new = session.advanced.get_change_vector_for(user)

        with store.open_session() as session:
            changed = session.advanced.conditional_load("users/1", old, User)
            assert changed.entity.name == "RavenDB 5.1"
        with store.open_session() as session:
            unchanged = session.advanced.conditional_load("users/1", new, User)
            assert unchanged.entity is None and unchanged.change_vector == new
        with store.open_session() as session:
            missing = session.advanced.conditional_load("users/2", new, User)
            assert (missing.entity, missing.change_vector) == (None, None)
            requests = session.advanced.number_of_requests
            assert session.load("users/2", User) is None
            assert session.advanced.number_of_requests == requests
    finally:
        store.close()


def test_get_docs_etag_304_and_metadata_only(server: str) -> None:
    store = _create(server, "Etags")
    store.close()
    rook = RookStore(server, database="Etags")
    with rook.open_session() as session:
        session.store({"name": "a"}, "things/1")
        session.store({"name": "b"}, "things/2")
        session.save_changes()
        vector = session.advanced.get_change_vector_for(session.load("things/1"))
    rook.close()
    docs = f"{server}/databases/Etags/docs"

    def status(ids: list[str], tag: str) -> httpx.Response:
        return httpx.get(docs, params=[("id", i) for i in ids], headers={"If-None-Match": tag})

    one = httpx.get(docs, params={"id": "things/1"})
    assert one.headers["ETag"] == f'"{vector}"'  # RavenDB's form: the change vector, quoted
    assert status(["things/1"], f'"{vector}"').status_code == 304
    assert status(["things/1"], '"A:1-x"').status_code == 200
    both = httpx.get(docs, params=[("id", "things/1"), ("id", "things/2")])
    assert status(["things/1", "things/2"], both.headers["ETag"]).status_code == 304
    meta = httpx.get(docs, params={"id": "things/1", "metadataOnly": "true"}).json()
    assert list(meta["Results"][0]) == ["@metadata"]
    assert meta["Results"][0]["@metadata"]["@id"] == "things/1"


def test_a_database_that_does_not_exist_is_ravendbs_error_by_default(server: str) -> None:
    store = _store(server, "NotCreated")
    try:
        with pytest.raises(DatabaseDoesNotExistException):
            store.maintenance.send(GetStatisticsOperation())
        with pytest.raises(DatabaseDoesNotExistException), store.open_session() as session:
            session.load("users/1", User)
    finally:
        store.close()
    answer = httpx.get(f"{server}/databases/NotCreated/docs", params={"id": "a"})
    assert answer.status_code == 503 and answer.headers["Database-Missing"] == "NotCreated"
    assert answer.json()["Type"].endswith("DatabaseDoesNotExistException")
    listed = httpx.get(f"{server}/databases").json()["Databases"]
    assert "NotCreated" not in listed  # nothing was created by asking


def test_rookdbs_client_creates_databases_on_first_use_as_embedded(server: str) -> None:
    rook = RookStore(server, database="FirstUse")
    with rook.open_session() as session:
        assert session.load("users/1") is None
        session.store({"name": "a"}, "users/1")
        session.save_changes()
    rook.close()
    official = _store(server, "FirstUse")
    try:
        assert official.maintenance.send(GetStatisticsOperation()).count_of_documents == 1
    finally:
        official.close()


def test_with_create_databases_every_client_creates_on_first_use(creating_server: str) -> None:
    store = _store(creating_server, "Auto")
    try:
        with store.open_session() as session:
            session.store(User("a"), "users/1")
            session.save_changes()
        assert store.maintenance.send(GetStatisticsOperation()).count_of_documents == 1
    finally:
        store.close()


def test_database_names_up_to_ravendbs_limit(server: str) -> None:
    longest = "d" * 120 + uuid.uuid4().hex[:8]
    store = _create(server, longest)
    try:
        with store.open_session() as session:
            session.store(User("a"), "users/1")
            session.save_changes()
        assert store.maintenance.send(GetStatisticsOperation()).count_of_documents == 1
    finally:
        store.close()
    answer = httpx.put(f"{server}/admin/databases", params={"name": longest + "x"})
    assert answer.status_code == 400 and "1-128" in answer.json()["Message"]


def test_database_names_are_paged_in_order_without_case(server: str) -> None:
    """``GetDatabaseNamesOperation`` pages names as RavenDB keeps them (lower-cased, so
    ``long_name`` before ``Northwind``); by code point, upper case first, a page of the first
    names missed a lower-case one (the official client's ``test_create_database_name...``)."""
    from ravendb.serverwide.operations.common import GetDatabaseNamesOperation

    for name in ("Northwind", "Beta", "alpha", "Zulu", "long_name"):
        _create(server, name).close()
    store = _store(server, "alpha")
    try:
        names = store.maintenance.server.send(GetDatabaseNamesOperation(0, 3))
        assert names == ["alpha", "Beta", "long_name"]
        later = store.maintenance.server.send(GetDatabaseNamesOperation(3, 10))
        assert later == ["Northwind", "Zulu"]
    finally:
        store.close()
