"""What only the PostgreSQL backend has: schemas, the jsonb copy, plans at scale, its URL.

The conformance suite (every other test file) runs on PostgreSQL as well; these tests look at
how the backend keeps its promises there.
"""

from __future__ import annotations

import logging
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from rookdb import DocumentStore
from rookdb.errors import (
    ConcurrencyError,
    ConfigurationError,
    OutcomeUnknownError,
    SerializationError,
    StorageUnavailableError,
)
from rookdb.query import Between, Compare, Equals, In, Query, Search, StartsWith
from rookdb.storage.commands import PutCommand, ReadCheck
from rookdb.storage.relational.auto_indexes import sql_index_name
from tests.internals import query_plan
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.rookdb_backends("postgres")

#: The names of the automatic indexes of field ``name``: its jsonb and its text.
NAME, NAME_TEXT = sql_index_name("auto/", "name"), sql_index_name("auto/", "name", "/text")


@pytest.fixture
def big(store: DocumentStore) -> DocumentStore:
    """5,000 documents: enough for PostgreSQL's planner to prefer indexes over scans."""
    with store.open_session() as session:
        for i in range(5000):
            session.store(
                {"name": f"n{i % 500}", "level": i % 100, "tags": [f"t{i % 50}"], "text": "a b"},
                f"items/{i}",
            )
        session.save_changes()
    return store


def _storage(store: DocumentStore) -> Any:
    from rookdb.storage.postgres import PostgresStorage

    storage = store._storage(store.database)
    assert isinstance(storage, PostgresStorage)
    return storage


def test_queries_use_the_automatic_indexes(big: DocumentStore) -> None:
    plans = {
        "equals": query_plan(big, Query("items", Equals("name", "n5"))),
        "range": query_plan(big, Query("items", Compare("level", ">", 97))),
        "prefix": query_plan(big, Query("items", StartsWith("name", "n49"))),
        "array": query_plan(big, Query("items", In("tags[]", ("t5",)))),
        "search": query_plan(big, Query("items", Search("text", ("a",)))),
    }
    assert f'Index Scan on "{NAME}"' in plans["equals"]
    assert f'Index Scan on "{sql_index_name("auto/", "level")}"' in plans["range"]
    assert f'Index Scan on "{NAME_TEXT}"' in plans["prefix"]
    assert 'Index Scan on "auto/containment"' in plans["array"]
    assert "auto_search_" in plans["search"]
    assert not any("Seq Scan on documents" in plan for plan in plans.values())
    with big.open_session() as session:  # and they answer what the reference says
        assert session.query(collection_name="items").where_equals("name", "n5").count() == 10
        found = session.query(collection_name="items").where_greater_than("level", 97).count()
        assert found == 100


def _index_used(plan: str, *names: str) -> bool:
    return any(
        f'Index Scan on "{name}"' in plan or f'Index Scan using "{name}"' in plan for name in names
    )


def test_queries_on_big_values_use_the_automatic_indexes(big: DocumentStore) -> None:
    """Indexes hold a bounded form of values past what a B-tree entry holds; queries seek
    it and test the exact value (tests/test_big_values.py checks the answers)."""
    long = "n4" + "".join(random.Random(2).choices("abcdefghijklmnopqrstuvwxyz", k=6000))
    with big.open_session() as session:
        session.store({"name": long, "level": 1}, "items/long")
        session.store({"name": long + "a", "level": 2}, "items/long-a")
        session.store({"name": {"k": long}, "level": 3}, "items/object")
        session.save_changes()
    plans = {
        "equals": query_plan(big, Query("items", Equals("name", long))),
        "in": query_plan(big, Query("items", In("name", (long, "n5")))),
        "range": query_plan(big, Query("items", Compare("name", ">", long))),
        "between": query_plan(big, Query("items", Between("name", long, long + "b"))),
        "prefix": query_plan(big, Query("items", StartsWith("name", long))),
        "short prefix": query_plan(big, Query("items", StartsWith("name", "n49"))),
    }
    for kind, plan in plans.items():
        assert _index_used(plan, NAME, NAME_TEXT), (kind, plan[:500])
        assert "Seq Scan" not in plan, (kind, plan[:500])
    with big.open_session() as session:
        items = session.query(collection_name="items")
        assert {d["level"] for d in items.where_starts_with("name", long)} == {1, 2}


def test_one_schema_per_database_created_on_first_use(new_store: Any) -> None:
    store = new_store(database="Northwind").initialize()
    storage = _storage(store)
    assert storage.schema.endswith("_northwind")
    backend = store._backend_ready()
    assert backend.list_databases() == ["Northwind"]
    store.maintenance.create_database("Other")
    assert backend.list_databases() == ["Northwind", "Other"]
    store.maintenance.delete_database("Other")
    assert backend.list_databases() == ["Northwind"]


def test_a_long_database_name_fits_postgres_identifiers(new_store: Any) -> None:
    name = "d" * 64
    store = new_store(database=name).initialize()
    with store.open_session() as session:
        session.store({"x": 1}, "things/1")
        session.save_changes()
    assert len(_storage(store).schema) <= 63
    assert store._backend_ready().list_databases() == [name]


def test_snapshots_are_the_bytes_written_and_jsonb_cuts_nul(store: DocumentStore) -> None:
    document = {"z": 1, "a": "x\u0000y", "m": {"b": 2, "a": 1}, "k\u0000": "dropped in jsonb"}
    with store.open_session() as session:
        session.store(dict(document), "docs/1")
        session.save_changes()
    storage = _storage(store)
    record = storage.get(["docs/1"]).documents["docs/1"]
    with storage._connection() as conn:
        row = conn.execute(
            f'SELECT data, body::text FROM "{storage.schema}".documents WHERE key = %s',
            ("docs/1",),
        ).fetchone()
    assert row[0] == record.data  # the canonical bytes, key order and NUL kept
    assert b'"z":1' in row[0] and b"x\\u0000y" in row[0]
    assert '"a": "x"' in row[1] and "dropped" not in row[1]  # strings cut, NUL keys gone
    with store.open_session() as session:
        assert session.load("docs/1") == document
        assert not session.advanced.has_changes  # no phantom change from jsonb's key order
        assert session.query(collection_name="docs").where_equals("a", "x").count() == 1


def test_packed_arrays_reach_the_server_as_psycopgs_lists_do(store: DocumentStore) -> None:
    """``postgres.arrays``: the put statements' parameters packed a batch at a time are the
    arrays psycopg would send for the lists (text, bytea, NULLs; ids in any script)."""
    from rookdb.storage.postgres.arrays import bytea_array, null_text_array, text_array

    texts = ["users/1", "ÜSERS/ğ-Ä", "emoji/😀", "a" * 2000, "x"]
    datas = [b'{"a":1}', b"", b"\x00\xff raw", b'{"s":"x\\u0000y"}']
    storage = _storage(store)
    with storage._connection() as conn:
        utf8 = conn.info.encoding == "utf-8"
        row = conn.execute(
            "SELECT %b::text[], %b::bytea[], %b::text[], %b::text[], %b::bytea[]",
            (
                text_array(texts, utf8),
                bytea_array(datas),
                null_text_array(3),
                text_array(["one"], utf8),
                bytea_array([b"only"]),
            ),
        ).fetchone()
    assert row == (texts, datas, [None, None, None], ["one"], [b"only"])
    assert text_array(["a", None], True) == ["a", None]  # None: psycopg's list, as before
    assert text_array(["\ud800"], True) == ["\ud800"]  # not UTF-8: psycopg says what
    assert text_array(["a"], False) == ["a"]  # another client encoding: psycopg's list


def test_key_lists_reach_the_server_as_psycopgs_lists_do(store: DocumentStore) -> None:
    """``arrays.TextList`` (every read of many documents: ``key = ANY(%s)``): packed in the
    connection's encoding when sent, the same ``text[]`` as psycopg's list, in UTF-8 and in
    another client encoding."""
    from rookdb.storage.postgres.arrays import TextList

    keys = ["users/1", "ärzte/ß", "a" * 500, "x"]
    storage = _storage(store)
    with storage._connection() as conn:
        assert conn.execute("SELECT %s::text[]", (TextList(keys),)).fetchone() == (keys,)
        conn.execute("SET client_encoding TO 'LATIN1'")
        try:
            assert conn.execute("SELECT %s::text[]", (TextList(keys),)).fetchone() == (keys,)
        finally:
            conn.execute("SET client_encoding TO 'UTF8'")
    with store.open_session() as session:  # a load of many: its key list sent so
        for key in keys:
            session.store({"k": key}, key)
        session.save_changes()
    with store.open_session() as session:
        assert [doc["k"] for doc in session.load(keys).values()] == keys


def test_a_save_of_many_documents_writes_them_as_sent(store: DocumentStore) -> None:
    """A save's puts (one statement of packed arrays): ids in any script and case, bodies
    with and without NUL escapes, each read back as written."""
    documents = {
        f"Ünïcode/{i}-ß": {"i": i, "s": "x\u0000y" if i % 7 == 0 else f"v{i}"} for i in range(300)
    }
    with store.open_session() as session:
        for document_id, document in documents.items():
            session.store(dict(document), document_id)
        session.save_changes()
    with store.open_session() as session:
        loaded = session.load(list(documents))
        assert {k: dict(v) for k, v in loaded.items()} == documents
        assert session.query(collection_name="Ünïcode").where_equals("s", "x").count() == 43


def test_the_schema_prefix_comes_from_the_url(store_url: str) -> None:
    bad = store_url.split("?")[0] + "?schema_prefix=Bad-Prefix"
    with pytest.raises(ConfigurationError, match="schema_prefix"):
        DocumentStore(urls=bad).initialize()


# -- PostgreSQL down: a typed error at once, naming the server and libpq's reason, no output ----

NOTHING_LISTENS = "postgresql://postgres@127.0.0.1:1/test"


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_server_that_is_down_fails_at_once_naming_it_and_the_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    started = time.monotonic()
    with pytest.raises(StorageUnavailableError) as raised:
        DocumentStore(urls=NOTHING_LISTENS).initialize()
    assert time.monotonic() - started < 2
    message = str(raised.value)
    assert "127.0.0.1:1" in message and "refused" in message.lower(), message
    assert isinstance(raised.value.original, psycopg.OperationalError)
    assert _warnings(caplog) == []


def test_the_connect_timeout_is_the_urls_and_a_few_seconds_by_default() -> None:
    """A port that accepts connections and never answers, as a hung server does."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"postgresql://postgres@127.0.0.1:{silent.getsockname()[1]}/test"
        for query, low, high in (("?connect_timeout=2", 1.5, 4.0), ("", 3.0, 8.0)):
            started = time.monotonic()
            with pytest.raises(StorageUnavailableError) as raised:
                DocumentStore(urls=url + query).initialize()
            assert low < time.monotonic() - started < high, query
            assert "timeout" in str(raised.value).lower()


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1.5"])
def test_a_bad_connect_timeout_is_a_configuration_error(value: str) -> None:
    with pytest.raises(ConfigurationError, match="connect_timeout"):
        DocumentStore(urls=f"{NOTHING_LISTENS}?connect_timeout={value}").initialize()


def _through(proxy: TcpProxy, url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}"))


def _target(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 5432


def test_a_server_lost_while_in_use_is_unavailable_and_comes_back(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        TcpProxy(_target(store_url)) as proxy,
        DocumentStore(urls=_through(proxy, store_url)) as store,
    ):
        with store.open_session() as session:
            session.store({"n": 1}, "docs/1")
            session.save_changes()
        proxy.down()
        started = time.monotonic()
        for reason in ("", "refused"):  # the cut connection, then a new one refused
            with pytest.raises(StorageUnavailableError) as raised:
                store.open_session().load("docs/1")
            message = str(raised.value)
            assert f"127.0.0.1:{proxy.port}" in message and reason in message.lower(), message
        assert time.monotonic() - started < 2
        proxy.up()
        assert store.open_session().load("docs/1") == {"n": 1}
    assert _warnings(caplog) == []


_SCRIPT = """
import sys
from rookdb import DocumentStore
from rookdb.errors import StorageUnavailableError
try:
    DocumentStore(urls=sys.argv[1]).initialize()
except StorageUnavailableError:
    print("down at start", flush=True)
store = DocumentStore(urls=sys.argv[2]).initialize()
with store.open_session() as session:
    session.store({"n": 1}, "docs/1")
    session.save_changes()
print("written", flush=True)
sys.stdin.readline()  # the test takes the server away
for _ in range(2):
    try:
        store.open_session().load("docs/1")
    except StorageUnavailableError:
        print("down in use", flush=True)
import time; time.sleep(1)  # time for any background thread to say something
"""


def test_nothing_reaches_stderr_of_a_program_without_logging_configured(store_url: str) -> None:
    """Python prints unhandled warnings of any library to stderr when the program configured
    no logging: rookdb must not make that happen, at start or when the server goes away."""
    with TcpProxy(_target(store_url)) as proxy:
        process = subprocess.Popen(
            [sys.executable, "-c", _SCRIPT, NOTHING_LISTENS, _through(proxy, store_url)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None and process.stdin is not None
        assert process.stdout.readline() == "down at start\n"
        assert process.stdout.readline() == "written\n"
        proxy.down()
        out, err = process.communicate("go\n", timeout=60)
    assert out == "down in use\n" * 2
    assert err == ""


@pytest.fixture
def two_stores(new_store: Any) -> Iterator[tuple[DocumentStore, DocumentStore]]:
    yield new_store().initialize(), new_store().initialize()


def test_a_search_index_made_by_another_store_is_kept_by_this_one(
    two_stores: tuple[DocumentStore, DocumentStore],
) -> None:
    first, second = two_stores
    with first.open_session() as session:
        session.store({"text": "red fox"}, "notes/1")
        session.save_changes()
    with second.open_session() as session:  # creates the full-text index
        assert session.query(collection_name="notes").search("text", "fox").count() == 1
    with first.open_session() as session:  # first never saw the index: apply re-reads it
        session.store({"text": "blue fox"}, "notes/2")
        session.load("notes/1")["text"] = "red hen"
        session.save_changes()
    with second.open_session() as session:
        found = session.query(collection_name="notes").search("text", "fox").to_list()
        assert [session.advanced.get_document_id(d) for d in found] == ["notes/2"]


def test_a_connection_lost_during_commit_is_outcome_unknown(store: DocumentStore) -> None:
    """The server ends the session while committing (a deferred trigger terminates its own
    backend): the client cannot know whether the batch committed, and says so."""
    storage = _storage(store)
    s = f'"{storage.schema}"'
    with storage._connection() as conn:
        conn.execute(
            f"CREATE FUNCTION {s}.hang_up() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NULL; END $$"
        )
        conn.execute(
            f"CREATE CONSTRAINT TRIGGER hang_up AFTER INSERT ON {s}.documents "
            f"DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {s}.hang_up()"
        )
    with store.open_session() as session:
        session.store({"n": 1}, "docs/1")
        with pytest.raises(OutcomeUnknownError) as raised:
            session.save_changes()
        assert raised.value.original is not None
    with storage._connection() as conn:  # the pool replaced the dead connection
        conn.execute(f"DROP FUNCTION {s}.hang_up() CASCADE")
    with store.open_session() as session:  # here the server had rolled it back
        assert session.load("docs/1") is None
        session.store({"n": 2}, "docs/1")
        session.save_changes()


def test_a_big_batch_retried_after_a_serialization_failure_is_written_whole(
    store: DocumentStore, caplog: pytest.LogCaptureFixture
) -> None:
    """The session hands its batch over as a generator and PostgreSQL pipelines it; a
    serialization failure in the second statement (raised once, by a trigger) makes the
    backend write the batch again, from its first command."""
    storage = _storage(store)
    s = f'"{storage.schema}"'
    with storage._connection() as conn:
        # A sequence, not a table: its count survives the rollback of the failed attempt.
        conn.execute(f"CREATE SEQUENCE {s}.failures")
        conn.execute(
            f"CREATE FUNCTION {s}.fail_once() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.key = 'big/3000' AND nextval('{s}.failures') = 1 THEN "
            "RAISE EXCEPTION 'injected' USING ERRCODE = '40001'; END IF; RETURN NEW; END $$"
        )
        conn.execute(
            f"CREATE TRIGGER fail_once BEFORE INSERT ON {s}.documents "
            f"FOR EACH ROW EXECUTE FUNCTION {s}.fail_once()"
        )
    caplog.set_level(logging.INFO, logger="rookdb")
    with store.open_session() as session:
        entities = [{"n": i} for i in range(5000)]
        for i, entity in enumerate(entities):
            session.store(entity, f"big/{i}")
        session.save_changes()
        vectors = [session.advanced.get_change_vector_for(e) for e in entities]
    with storage._connection() as conn:
        (attempts,) = conn.execute(f"SELECT last_value FROM {s}.failures").fetchone()
    assert attempts == 2  # failed once, then written
    (retried,) = [r for r in caplog.records if "retried" in r.getMessage()]
    assert retried.name == "rookdb.storage.postgres" and retried.levelno == logging.INFO
    assert "SerializationFailure" in retried.getMessage()
    records = {r.id: r for r in storage.stream()}
    assert sorted(records) == sorted(f"big/{i}" for i in range(5000))
    assert vectors == [records[f"big/{i}"].change_vector for i in range(5000)]


def test_a_read_check_late_in_a_generator_is_still_checked(store: DocumentStore) -> None:
    """Read checks need SERIALIZABLE, chosen when the transaction begins; a generator that
    yields one after the first statements were sent has its batch begun again."""
    storage = _storage(store)

    def batch(check: ReadCheck) -> Iterator[PutCommand | ReadCheck]:
        for i in range(2500):
            yield PutCommand(f"late/{i}", "Late", b'{"n":1}')
        yield check

    result = storage.apply(batch(ReadCheck("guarded/1", None)))  # missing, as it should be
    assert len(result.puts) == 2500
    assert len(list(storage.stream())) == 2500
    storage.apply([PutCommand("guarded/1", "Guarded", b"{}")])
    with pytest.raises(ConcurrencyError):
        storage.apply(batch(ReadCheck("guarded/1", None)))  # it appeared: nothing written
    stored = {r.id: r.change_vector for r in storage.stream() if r.id.startswith("late/")}
    assert stored == {p.id: p.change_vector for p in result.puts}


def _make_indexes_as_before(store: DocumentStore) -> None:
    """Turn the automatic indexes of ``store`` into what rookdb made before issue 12: B-tree
    indexes on whole values, and search tables keyed by document."""
    storage = _storage(store)
    s = f'"{storage.schema}"'
    with storage._connection() as conn:
        for name in (NAME, NAME_TEXT):
            conn.execute(f'DROP INDEX {s}."{name}"')
        conn.execute(
            f"CREATE INDEX \"auto/name\" ON {s}.documents (collection_key, (body -> 'name'))"
        )
        conn.execute(
            f'CREATE INDEX "auto/name/text" ON {s}.documents '
            f"(collection_key, (body ->> 'name') COLLATE \"C\")"
        )
        (index_id,) = conn.execute(
            f"SELECT id FROM {s}.auto_indexes WHERE kind = 'search'"
        ).fetchone()
        table = f'{s}."auto_search_{index_id}"'
        conn.execute(f'DROP INDEX {s}."auto_search_{index_id}_key_idx"')
        conn.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (key)")


def test_a_database_indexed_before_is_upgraded_on_open(
    new_store: Any, caplog: pytest.LogCaptureFixture
) -> None:
    old = new_store().initialize()
    with old.open_session() as session:
        session.store({"name": "a", "text": "red fox"}, "things/1")
        session.save_changes()
    with old.open_session() as session:
        assert session.query(collection_name="things").where_equals("name", "a").count() == 1
        assert session.query(collection_name="things").search("text", "fox").count() == 1
    _make_indexes_as_before(old)
    big = "".join(random.Random(3).choices("abcdefghijklmnopqrstuvwxyz", k=100_000))
    # What such a database did with a big value at an indexed path: a 503 through the server.
    # Now a typed error of bad input (nothing written), until a store opens it anew.
    with pytest.raises(SerializationError, match="index row"), old.open_session() as session:
        session.store({"name": big}, "things/2")
        session.save_changes()
    old.close()

    with caplog.at_level(logging.INFO, logger="rookdb.storage.postgres"):
        store = new_store().initialize()
        with store.open_session() as session:
            session.store(
                {"name": big, "text": " ".join(f"w{i}" for i in range(150_000))}, "things/2"
            )
            session.save_changes()
    rebuilt = [r.getMessage() for r in caplog.records if "rebuilt" in r.getMessage()]
    assert len(rebuilt) == 3, rebuilt  # two B-tree indexes and one search table
    with store.open_session() as session:
        things = session.query(collection_name="things")
        assert [d["name"] for d in things.where_equals("name", big)] == [big]
        assert session.query(collection_name="things").where_equals("name", "a").count() == 1
        found = session.query(collection_name="things").search("text", "w0 w149999", "and")
        assert [d["name"] for d in found] == [big]
    plan = query_plan(store, Query("things", StartsWith("name", big[:1000])))
    assert f'Index Scan using "{NAME_TEXT}"' in plan or f'on "{NAME_TEXT}"' in plan, plan[:300]
    with (
        caplog.at_level(logging.INFO, logger="rookdb.storage.postgres"),
        new_store().open_session() as session,
    ):  # the next store finds nothing to upgrade
        assert session.query(collection_name="things").where_equals("name", "a").count() == 1
    assert len([r for r in caplog.records if "rebuilt" in r.getMessage()]) == 3


def test_a_store_opening_the_database_rebuilds_no_index_of_the_current_form(
    new_store: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Every open took the text forms (pg_get_indexdef writes "left"(...)) for older ones.
    with new_store().open_session() as session:
        session.store({"name": "a"}, "things/1")
        session.save_changes()
    with new_store().open_session() as session:
        assert session.query(collection_name="things").where_starts_with("name", "a").count() == 1
    with (
        caplog.at_level(logging.INFO, logger="rookdb.storage.postgres"),
        new_store().open_session() as session,
    ):
        assert session.query(collection_name="things").where_equals("name", "a").count() == 1
    assert [r.getMessage() for r in caplog.records if "rebuilt" in r.getMessage()] == []


def test_bulk_write_copies_a_chunk_and_takes_the_batch_path_otherwise(
    store: DocumentStore,
) -> None:
    # A bulk insert's chunk goes by COPY; puts outside a chunk's rules (a key twice, an id
    # storage completes, an expected change vector) by the batch path: the same result.
    storage = _storage(store)
    storage.bulk_write([PutCommand(f"bulk/{i}", "Bulk", b'{"n":%d}' % i) for i in range(300)])
    storage.bulk_write(
        [PutCommand("twice/1", "Twice", b'{"n":1}'), PutCommand("TWICE/1", "Twice", b'{"n":2}')]
    )
    storage.bulk_write([PutCommand("completed/", "Done", b"{}")])
    with pytest.raises(ConcurrencyError):
        storage.bulk_write([PutCommand("bulk/1", "Bulk", b"{}", expected_change_vector="A:1-x")])
    documents = storage.get(["bulk/0", "bulk/299", "twice/1"]).documents
    assert documents["bulk/299"].data == b'{"n":299}'
    assert documents["twice/1"].data == b'{"n":2}'
    assert store.maintenance.get_statistics().collections == {"Bulk": 300, "Twice": 1, "Done": 1}
    etags = [
        int(documents[k].change_vector.split(":")[1].split("-")[0]) for k in ("bulk/0", "bulk/299")
    ]
    assert etags[0] < etags[1]  # new etags, in the chunk's order
    with storage._connection() as conn:  # the temporary table is empty between chunks
        if conn.execute("SELECT to_regclass('pg_temp.rookdb_bulk_chunk')").fetchone()[0]:
            left = conn.execute("SELECT count(*) FROM pg_temp.rookdb_bulk_chunk").fetchone()
            assert left == (0,)
