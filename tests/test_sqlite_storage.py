"""The SQLite backend's own guarantees (SPEC B2, D6): settings, atomicity, errors, fork."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from pathlib import Path

import pytest

from rookdb import ConcurrencyError, ConfigurationError, DocumentStore, StorageError
from rookdb.storage.commands import DeleteCommand, PutCommand, ReadCheck
from rookdb.storage.sqlite import FORMAT_VERSION, SqliteBackend, SqliteStorage
from rookdb.storage.sqlite.connections import transaction
from rookdb.testing.suite.models import Employee


@pytest.fixture
def storage(tmp_path: Path) -> SqliteStorage:
    backend = SqliteBackend(tmp_path)
    return backend.database("db")


def _ids(storage: SqliteStorage) -> list[str]:
    return sorted(r.id for r in storage.stream())


def test_file_settings(storage: SqliteStorage) -> None:
    with storage._connections as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30_000
        assert conn.execute("PRAGMA user_version").fetchone()[0] == FORMAT_VERSION


def test_a_newer_format_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.rookdb")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(ConfigurationError, match="format version 99"):
        SqliteBackend(tmp_path).database("db")


def test_a_failing_batch_is_rolled_back_whole(storage: SqliteStorage) -> None:
    storage.apply([PutCommand("keep/1", "keep", b'{"v":1}'), PutCommand("b/1", "b", b"{}")])
    before = {r.id: r.change_vector for r in storage.stream()}
    with pytest.raises(ConcurrencyError):
        storage.apply(
            [
                PutCommand("a/1", "a", b'{"v":2}'),
                DeleteCommand("b/1"),  # executes the pending put before deleting
                PutCommand("keep/1", "keep", b'{"v":3}'),
                ReadCheck("c/1", "A:1-nope"),  # fails last
            ]
        )
    assert {r.id: r.change_vector for r in storage.stream()} == before
    result = storage.apply([PutCommand("a/1", "a", b"{}")])  # the next batch works
    assert result.puts[0].change_vector.startswith("A:3-")  # the etag counter was rolled back


def test_disk_full_is_a_storage_error_and_writes_nothing(tmp_path: Path) -> None:
    with DocumentStore(urls=f"sqlite:///{tmp_path}") as store:
        with store.open_session() as session:
            session.store(Employee("A"), "employees/1")
            session.save_changes()
        storage = store._storage("default")
        assert isinstance(storage, SqliteStorage)
        with storage._connections as conn:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages}")
        with store.open_session() as session:
            for i in range(200):
                session.store(Employee("x" * 500), f"employees/big-{i}")
            with pytest.raises(StorageError) as raised:
                session.save_changes()
            assert isinstance(raised.value.original, sqlite3.Error)
        with store.open_session() as session:
            assert session.advanced.load_starting_with("employees/", page_size=1000) != []
            assert [e.first_name for e in session.advanced.load_starting_with("employees/")] == [
                "A"
            ]


def _child_writes(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Employee("From child"), "employees/child")
        session.save_changes()


def test_a_store_keeps_working_across_fork(tmp_path: Path) -> None:
    with DocumentStore(urls=f"sqlite:///{tmp_path}") as store:
        with store.open_session() as session:  # the parent has an open connection
            session.store(Employee("Parent"), "employees/parent")
            session.save_changes()
        process = multiprocessing.get_context("fork").Process(target=_child_writes, args=(store,))
        process.start()
        process.join(60)
        assert process.exitcode == 0
        with store.open_session() as session:
            loaded = session.load(["employees/parent", "employees/child"], Employee)
            assert [e.first_name for e in loaded.values()] == ["Parent", "From child"]


def _rows(storage: SqliteStorage) -> list[tuple[object, ...]]:
    """Every document row, the change vector without the database's id (it differs)."""
    with storage._connections as conn:
        rows = conn.execute(
            "SELECT key, id, collection, etag, change_vector, data FROM documents ORDER BY key"
        ).fetchall()
        etag = conn.execute("SELECT value FROM meta WHERE name = 'last_etag'").fetchone()[0]
    return [(*row[:4], row[4].split("-")[0], row[5]) for row in rows] + [("last_etag", etag)]


def test_a_batch_of_puts_only_writes_what_the_general_loop_writes(tmp_path: Path) -> None:
    """A batch of puts to final ids, with nothing to check, own or keep revisions of, is
    written in one step (the session's common save); the rows, etags, change vectors and
    results are those the command-by-command loop gives the same puts (made to take it by a
    delete of a missing document at the end, which writes nothing)."""
    backend = SqliteBackend(tmp_path)
    fast, general = backend.database("fast"), backend.database("general")
    first = [PutCommand("Users/1", "Users", b'{"n":1}'), PutCommand("users/2", "Users", b"{}")]
    puts = [
        PutCommand("users/1", "Users", b'{"n":2}'),  # an update, in another case
        PutCommand("Orders/1", "Orders", b'{"@metadata":{"@counters":["c"]},"v":1}'),
        PutCommand("orders/1", "Orders", b'{"v":2}'),  # the same key twice: the last wins
        PutCommand("ünïcode/1", "Misc", '{"s":"é"}'.encode()),
    ]
    results = []
    for storage, tail in ((fast, []), (general, [DeleteCommand("missing/1")])):
        storage.apply(first)
        results.append(storage.apply([*puts, *tail]))
    assert _rows(fast) == _rows(general)
    assert [(p.id, p.change_vector.split("-")[0]) for p in results[0].puts] == [
        (p.id, p.change_vector.split("-")[0]) for p in results[1].puts
    ]
    assert [p.id for p in results[0].puts] == [c.id for c in puts]
    assert not results[0].replies and not results[1].replies
    # The counters the body claimed are not stored (storage has none for it).
    assert b"@counters" not in fast.get(["orders/1"]).documents["orders/1"].data


def test_a_batch_of_puts_only_overwriting_documents_keeps_their_places(tmp_path: Path) -> None:
    """A puts-only batch mixing new ids and existing ones (one in another case) overwrites
    the existing rows in place: their rowid, so their place in insertion order (the stream's
    cursor), and the id as first written stay, as the command-by-command loop leaves them."""
    backend = SqliteBackend(tmp_path)
    fast, general = backend.database("fast"), backend.database("general")
    first = [PutCommand(f"users/{i}", "Users", b'{"n":0}') for i in range(1, 4)]
    puts = [
        PutCommand("users/4", "Users", b'{"n":4}'),  # new
        PutCommand("USERS/2", "Users", b'{"n":2}'),  # existing, in another case
        PutCommand("users/1", "Users", b'{"n":1}'),  # existing
        PutCommand("users/5", "Users", b'{"n":5}'),  # new
    ]
    for storage, tail in ((fast, []), (general, [DeleteCommand("missing/1")])):
        storage.apply(first)
        storage.apply([*puts, *tail])
    assert _rows(fast) == _rows(general)
    for storage in (fast, general):
        streamed = [(r.id, r.data) for r in storage.stream()]
        assert streamed == [
            ("users/1", b'{"n":1}'),
            ("users/2", b'{"n":2}'),
            ("users/3", b'{"n":0}'),
            ("users/4", b'{"n":4}'),
            ("users/5", b'{"n":5}'),
        ]


def test_queries_of_equal_python_values_keep_their_json_types(tmp_path: Path) -> None:
    """Compiled conditions are kept per query shape: ``True``, ``1`` and ``1.0`` are equal
    Python values (and hash alike), but ``True`` is not a number in JSON (SPEC Q2), so each
    query, asked in either order, finds what its own value matches."""
    store = DocumentStore(urls=f"sqlite:///{tmp_path}", database="shapes").initialize()
    with store.open_session() as session:
        for document_id, value in (("employees/1", True), ("employees/2", 1), ("employees/3", 1.5)):
            session.store(Employee(first_name=value), document_id)
        session.save_changes()

    def ids(value: object) -> list[str]:
        with store.open_session() as session:
            found = session.query(Employee).where_equals("first_name", value).to_list()
            return sorted(session.advanced.get_document_id(e) for e in found)

    for _ in range(2):  # the second round finds every shape compiled already
        assert ids(True) == ["employees/1"]
        assert ids(1) == ["employees/2"]
        assert ids(1.0) == ["employees/2"]
        assert ids(1.5) == ["employees/3"]
    store.close()


def test_a_query_of_every_match_is_in_key_order_as_a_page_is(tmp_path: Path) -> None:
    """A query of every match is put in key order in Python, a page (``take``) by SQLite's
    ORDER BY: both give the same order, that of the case-folded ids' code points (SPEC S2),
    skipped or not."""
    store = DocumentStore(urls=f"sqlite:///{tmp_path}", database="order").initialize()
    names = ["B", "a", "é", "Z", "10", "9", "_x", "ä", "A1", "b0", "\u4e2d", "~"]
    with store.open_session() as session:
        for name in names:
            session.store(Employee(first_name="same"), f"employees/{name}")
        session.save_changes()

    def ids(skip: int, take: int | None) -> list[str]:
        with store.open_session() as session:
            query = session.query(Employee).where_equals("first_name", "same").skip(skip)
            found = (query if take is None else query.take(take)).to_list()
            return [session.advanced.get_document_id(e) for e in found]

    expected = sorted((f"employees/{name}" for name in names), key=str.lower)
    assert ids(0, None) == ids(0, 100) == expected
    assert ids(3, None) == ids(3, 100) == expected[3:]
    assert ids(20, None) == ids(20, 100) == []
    store.close()


@pytest.mark.parametrize("directory", [True, False], ids=["file", "memory"])
def test_closing_waits_out_a_connection_another_thread_is_using(
    tmp_path: Path, directory: bool
) -> None:
    """Deleting a database closes its storage while a thread may be inside it (a background
    index build, a request): closing another thread's connection under it crashed the server
    in SQLite (a segfault, under the official client's suite). The connection in use is
    closed by its thread when it is done; nothing new starts on a closed storage."""
    backend = SqliteBackend(tmp_path if directory else None)
    storage = backend.database("db")
    inside, closed = threading.Event(), threading.Event()
    seen: list[object] = []

    def work() -> None:
        with storage._connections as conn, transaction(conn):
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('probe', '1')")
            inside.set()
            closed.wait(timeout=1)  # memory: close() waits for this thread instead
            seen.append(conn.execute("SELECT value FROM meta WHERE name = 'probe'").fetchone())
        seen.append(conn)

    thread = threading.Thread(target=work)
    thread.start()
    assert inside.wait(timeout=10)
    storage.close()
    closed.set()
    thread.join(timeout=10)
    assert seen[0] == ("1",)
    conn = seen[1]
    assert isinstance(conn, sqlite3.Connection)
    with pytest.raises(sqlite3.ProgrammingError):  # closed by its thread on the way out
        conn.execute("SELECT 1")
    with pytest.raises(StorageError, match="closed"), storage._connections:
        pass


def test_an_index_build_pages_through_the_key_index(storage: SqliteStorage) -> None:
    """A build reads the keys of a collection a page at a time from the last one: walked in
    the key index, each page costs its own rows; through the collection index, each page
    sorted every key of the collection (a build quadratic in the collection's size)."""
    storage.apply(
        [PutCommand(f"employees/{i}", "Employees", b'{"n": 1}') for i in range(50)]
        + [PutCommand(f"other/{i}", "Other", b'{"n": 1}') for i in range(50)]
    )
    with storage._connections as conn:
        sql = storage._index_sql.build_page
        plan = " ".join(str(r[-1]) for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", ("", "e", 9)))
        assert "TEMP B-TREE" not in plan and "documents_by_collection" not in plan
        pages, after = [], ""
        while keys := [k for (k,) in conn.execute(sql, (after, "EMPLOYEES", 20))]:
            pages.append(keys)
            after = keys[-1]
    assert [len(p) for p in pages] == [20, 20, 10]
    assert [k for page in pages for k in page] == sorted(f"employees/{i}" for i in range(50))
