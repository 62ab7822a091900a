"""A query on a map index's fields seeks SQL indexes over its entries (``relational.
entry_indexes``), as a collection query seeks its automatic indexes: the plan names them,
queries make them, and deleting or replacing the index drops them. That the answers are
the same as without them is ``test_index_query_differential``'s (every backend)."""

from __future__ import annotations

import concurrent.futures
import contextlib
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from rookdb import DocumentStore
from rookdb.errors import IndexDoesNotExistError
from rookdb.indexes import IndexDefinition
from rookdb.operations import DeleteIndexOperation, PutIndexesOperation, ResetIndexOperation
from rookdb.query import And, Between, Compare, Equals, In, Or, Predicate, Query, StartsWith
from rookdb.storage.relational import entry_indexes
from rookdb.testing.backends import BackendSpec
from tests.internals import entry_index_names, index_query_plan, make_entry_index_as_before

pytestmark = pytest.mark.rookdb_backends("memory", "sqlite", "http", "postgres")

BY_LEVEL = IndexDefinition(
    name="Employees/ByLevel", maps={"from e in docs.Employees select new { e.email, e.level }"}
)


@pytest.fixture
def employees(store: DocumentStore) -> DocumentStore:
    with store.open_session() as session:
        for i in range(300):
            employee = {"email": f"e{i}@x", "level": i % 10, "@metadata": {}}
            session.store({**employee, "@metadata": {"@collection": "Employees"}}, f"e/{i}")
        session.save_changes()
    store.maintenance.send(PutIndexesOperation(BY_LEVEL))
    return store


SEEKS: list[Predicate] = [
    Equals("email", "e7@x"),
    In("email", ("e7@x", "e8@x", 3)),
    Compare("level", ">", 8),
    Compare("email", "<", "e1"),
    Between("level", 2, 3),
    StartsWith("email", "e29"),
    And((Equals("level", 3), StartsWith("email", "e1"))),
    Or((Equals("email", "e7@x"), Equals("level", 9))),
]


@pytest.mark.parametrize("where", SEEKS, ids=repr)
def test_a_map_index_query_seeks_an_index_of_its_entries(
    employees: DocumentStore, backend: BackendSpec, where: Predicate
) -> None:
    plan = index_query_plan(employees, Query(index_name="Employees/ByLevel", where=where))
    if backend.name == "postgres":
        assert "Index Scan" in plan and "auto/entries/" in plan, plan
        assert "Seq Scan" not in plan, plan
    else:
        assert "USING INDEX auto/entries/" in plan, plan
        # Every entry read is a seek (``SCAN c``: the elements of an array found there).
        assert "SCAN index_entries" not in plan, plan
        assert "USING PRIMARY KEY (idx=?)\n" not in plan + "\n", plan


def test_queries_make_the_indexes_deleting_or_replacing_the_index_drops_them(
    employees: DocumentStore, backend: BackendSpec
) -> None:
    assert entry_index_names(employees) == []
    with employees.open_session() as session:
        found = (
            session.query_index("Employees/ByLevel")
            .where_equals("email", "e7@x")
            .where_greater_than("level", 5)
            .to_list()
        )
        assert [e["email"] for e in found] == ["e7@x"]
    made = entry_index_names(employees)
    per_field = 2 if backend.name == "postgres" else 1  # PostgreSQL: jsonb and text forms
    assert len(made) == 2 * per_field and all(n.startswith("auto/entries/") for n in made)

    # A reset keeps them (the same index, built again: they follow its entries).
    employees.maintenance.send(ResetIndexOperation("Employees/ByLevel"))
    assert entry_index_names(employees) == made
    with employees.open_session() as session:
        assert session.query_index("Employees/ByLevel").where_equals("level", 3).count() == 30

    # A changed definition is a new index: the old one's are dropped.
    changed = IndexDefinition(
        name="Employees/ByLevel",
        maps={"from e in docs.Employees select new { e.email, e.level, Double = e.level * 2 }"},
    )
    employees.maintenance.send(PutIndexesOperation(changed))
    assert entry_index_names(employees) == []
    with employees.open_session() as session:
        assert session.query_index("Employees/ByLevel").where_equals("Double", 6).count() == 30
    assert len(entry_index_names(employees)) == per_field

    employees.maintenance.send(DeleteIndexOperation("Employees/ByLevel"))
    assert entry_index_names(employees) == []


def test_a_map_reduce_index_query_makes_no_index(employees: DocumentStore) -> None:
    employees.maintenance.send(
        PutIndexesOperation(
            IndexDefinition(
                name="Employees/CountByLevel",
                maps={"from e in docs.Employees select new { e.level, Count = 1 }"},
                reduce=(
                    "from r in results group r by r.level into g "
                    "select new { level = g.Key, Count = g.Sum(x => x.Count) }"
                ),
            )
        )
    )
    with employees.open_session() as session:
        counted = session.query_index("Employees/CountByLevel").where_equals("level", 3).to_list()
        assert [r["Count"] for r in counted] == [30]
    assert entry_index_names(employees) == []


def test_an_or_of_hundreds_of_predicates_is_answered(employees: DocumentStore) -> None:
    # Each predicate is several seeks; SQLite takes at most 500 in one compound SELECT, so
    # a longer OR is cut into row sets (an OR of 300 prefixes: 600 seeks).
    where = Or(tuple(StartsWith("email", f"e{i}@") for i in range(300)))
    with employees.open_session() as session:
        on_index = session.query_index("Employees/ByLevel")
        on_collection = session.query(collection_name="Employees")
        for i in range(300):
            on_index = on_index.or_else().where_starts_with("email", f"e{i}@")
            on_collection = on_collection.or_else().where_starts_with("email", f"e{i}@")
        found = sorted(e["email"] for e in on_index.to_list())
        assert found == sorted(e["email"] for e in on_collection.to_list())
        assert len(found) == 300
    plan = index_query_plan(employees, Query(index_name="Employees/ByLevel", where=where))
    assert "auto/entries/" in plan, plan


class _Asked:
    """Counts the transactions a storage opens to make indexes of entries."""

    def __init__(self, storage: Any) -> None:
        self.count = 0
        made = storage._entry_index_transaction

        def counted(conn: Any) -> Any:
            self.count += 1
            return made(conn)

        storage._entry_index_transaction = counted


# The cap and the cache are the storage object's; behind a server, the server's.
@pytest.mark.rookdb_backends("memory", "sqlite", "postgres")
def test_a_path_is_asked_for_once_past_the_cap_too(
    employees: DocumentStore, backend: BackendSpec
) -> None:
    storage: Any = employees._storage(employees.database)
    storage.max_auto_indexes = 1
    asked = _Asked(storage)

    def count(field: str, value: Any) -> int:
        with employees.open_session() as session:
            query = session.query_index("Employees/ByLevel").where_equals(field, value)
            return query.count()

    assert count("email", "e7@x") == 1 and asked.count == 1  # made
    assert count("email", "e8@x") == 1 and asked.count == 1  # known: no lock taken
    assert count("level", 3) == 30 and asked.count == 2  # past the cap: not made
    for _ in range(3):  # still right, read entry by entry, and not asked again
        assert count("level", 4) == 30
    assert asked.count == 2
    per_field = 2 if backend.name == "postgres" else 1  # PostgreSQL: jsonb and text forms
    assert len(entry_index_names(employees)) == per_field


def test_exists_and_regex_make_no_index_of_entries(employees: DocumentStore) -> None:
    # Both are tested entry by entry: an index of their path would serve nothing.
    with employees.open_session() as session:
        on_index = session.query_index("Employees/ByLevel")
        assert on_index.where_exists("email").count() == 300
        on_index = session.query_index("Employees/ByLevel")
        assert on_index.where_regex("email", "^e1[0-9]@").count() == 10
    assert entry_index_names(employees) == []


def _used_entry_index(plan: str) -> str:
    """The name of the one SQL index over entries ``plan`` (``index_query_plan``) seeks."""
    found = set(re.findall(r'(?:USING INDEX |using |on )"?(auto/entries/[^"\s]+)"?', plan))
    found = {name.removesuffix(entry_indexes.TEXT_SUFFIX) for name in found}
    assert len(found) == 1, plan
    return found.pop()


# Fields whose names differ in case only, and long ones alike in their first 63 bytes: each
# has an SQL index of its own (SQLite compares the names of indexes without case; PostgreSQL
# cuts them at 63 bytes).
CASED = IndexDefinition(
    name="People/ByEmail",
    maps={
        "from p in docs.People select new { email = p.a, Email = p.b, EMAIL = p.c, "
        f"{'x' * 60}1 = p.a, {'x' * 60}2 = p.b }}"
    },
)


@pytest.mark.rookdb_backends("sqlite", "postgres")
@pytest.mark.parametrize(
    "fields", [("email", "Email", "EMAIL"), (f"{'x' * 60}1", f"{'x' * 60}2")], ids=["case", "long"]
)
def test_fields_alike_but_for_case_or_past_63_bytes_each_seek_an_index_of_their_own(
    store: DocumentStore, backend: BackendSpec, fields: tuple[str, ...]
) -> None:
    with store.open_session() as session:
        for i in range(50):
            person = {"a": f"a{i}", "b": f"b{i}", "c": f"c{i}"}
            session.store({**person, "@metadata": {"@collection": "People"}}, f"p/{i}")
        session.save_changes()
    store.maintenance.send(PutIndexesOperation(CASED))
    used = []
    for field, value in zip(fields, ("a7", "b7", "c7"), strict=False):
        query = Query(index_name="People/ByEmail", where=Equals(field, value))
        with store.open_session() as session:
            found = session.query_index("People/ByEmail").where_equals(field, value).to_list()
            assert [session.advanced.get_document_id(p) for p in found] == ["p/7"]
        used.append(_used_entry_index(index_query_plan(store, query)))
    assert len(set(used)) == len(fields), used
    made = entry_index_names(store)
    per_field = 2 if backend.name == "postgres" else 1  # PostgreSQL: jsonb and text forms
    assert len(made) == len(fields) * per_field, made
    assert all(len(name.encode()) <= 63 for name in made), made


@pytest.mark.rookdb_backends("sqlite", "postgres")
def test_indexes_of_entries_named_as_before_go_with_the_next_made_or_the_index(
    employees: DocumentStore,
) -> None:
    # Their name was the path's: on SQLite, the index of ``email`` may be ``Email``'s.
    old = make_entry_index_as_before(employees, "Employees/ByLevel", "email")
    assert entry_index_names(employees) == sorted(old)
    with employees.open_session() as session:
        assert session.query_index("Employees/ByLevel").where_equals("email", "e7@x").count() == 1
    made = entry_index_names(employees)
    assert made and not set(made) & set(old), made
    plan = index_query_plan(employees, Query(index_name="Employees/ByLevel", where=SEEKS[0]))
    assert _used_entry_index(plan) in made

    make_entry_index_as_before(employees, "Employees/ByLevel", "level")
    employees.maintenance.send(DeleteIndexOperation("Employees/ByLevel"))
    assert entry_index_names(employees) == []


# -- another store (another process) puts, replaces or deletes the index ---------------------

#: Employees/ByLevel put again by another store: another definition, the index replaced (its
#: entries and their SQL indexes dropped; it has the same id, ids being reused).
BY_DOUBLE_LEVEL = IndexDefinition(
    name="Employees/ByLevel",
    maps={"from e in docs.Employees select new { e.email, level = e.level * 2 }"},
)


@pytest.fixture
def two_stores(new_store: Any, employees: DocumentStore) -> tuple[DocumentStore, DocumentStore]:
    """A store that only reads and one that changes the indexes, on ``employees``' database,
    each with storage of its own (as two processes have)."""
    reader, writer = new_store().initialize(), new_store().initialize()
    assert reader._storage(reader.database) is not writer._storage(writer.database)
    return reader, writer


def _ids(store: DocumentStore, field: str, value: Any) -> list[str]:
    with store.open_session() as session:
        found = session.query_index("Employees/ByLevel").where_equals(field, value).to_list()
        return sorted(session.advanced.get_document_id(e) for e in found)


@pytest.mark.rookdb_backends("sqlite", "postgres")
def test_a_store_that_only_reads_seeks_the_indexes_of_an_index_another_replaced(
    two_stores: tuple[DocumentStore, DocumentStore],
) -> None:
    reader, writer = two_stores
    assert len(_ids(reader, "level", 6)) == 30
    assert len(entry_index_names(reader)) > 0  # the reader made them
    writer.maintenance.send(PutIndexesOperation(BY_DOUBLE_LEVEL))
    assert entry_index_names(reader) == []  # dropped with the index it replaced
    # The first query after answers by the new definition, and makes and seeks the new
    # index's SQL indexes (its registry was the old one: it took them for there).
    assert _ids(reader, "level", 6) == sorted(f"e/{i}" for i in range(300) if i % 10 == 3)
    assert len(entry_index_names(reader)) > 0
    plan = index_query_plan(reader, Query(index_name="Employees/ByLevel", where=Equals("level", 6)))
    assert "auto/entries/" in plan, plan

    writer.maintenance.send(DeleteIndexOperation("Employees/ByLevel"))
    with pytest.raises(IndexDoesNotExistError):
        _ids(reader, "level", 6)


class _Racing:
    """A connection that runs ``race`` just before it runs ``statement``, once."""

    def __init__(self, conn: Any, statement: str, race: Callable[[], None]) -> None:
        self._conn, self._statement, self._race = conn, statement, race

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == self._statement and self._race is not None:
            race, self._race = self._race, None
            race()
        return self._conn.execute(sql, *args)


@pytest.mark.rookdb_backends("sqlite", "postgres")
def test_a_registry_read_while_another_store_replaces_an_index_is_not_taken_for_the_old(
    two_stores: tuple[DocumentStore, DocumentStore],
) -> None:
    reader, writer = two_stores
    storage: Any = reader._storage(reader.database)
    user_indexes = storage._user_indexes
    replaced = IndexDefinition(  # a map-reduce index where there was a map
        name="Employees/ByLevel",
        maps={"from e in docs.Employees select new { e.level, Count = 1 }"},
        reduce=(
            "from r in results group r by r.level into g "
            "select new { level = g.Key, Count = g.Sum(x => x.Count) }"
        ),
    )

    def read_registry() -> None:  # in a thread of its own: a connection of its own
        with storage._connection() as conn:
            racing = _Racing(
                conn,
                storage._index_sql.rows,
                lambda: writer.maintenance.send(PutIndexesOperation(replaced)),
            )
            user_indexes.registry(racing)  # the version before the put, the rows after

    with storage._connection() as conn, storage._snapshot(conn):
        # A query's snapshot, from before the put.
        conn.execute(storage._sql.get_meta, ("user_index_version",)).fetchone()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(read_registry).result()
        assert [i.compiled.is_map_reduce for i in user_indexes.registry(conn)] == [False]
        result = storage._index_query_in(conn, Query(index_name="Employees/ByLevel"), {})
        assert len(result.records) == 300  # documents, not the results of a reduce
    with reader.open_session() as session:
        counted = session.query_index("Employees/ByLevel").where_equals("level", 3).to_list()
        assert [r["Count"] for r in counted] == [30]


@pytest.mark.rookdb_backends("sqlite", "postgres")
def test_an_index_deleted_before_a_query_makes_its_indexes_is_left_none(
    two_stores: tuple[DocumentStore, DocumentStore],
) -> None:
    reader, writer = two_stores
    storage: Any = reader._storage(reader.database)
    made = storage._entry_index_transaction

    def deleted_first(conn: Any) -> Any:  # after the query found the index, before it makes
        writer.maintenance.send(DeleteIndexOperation("Employees/ByLevel"))
        return made(conn)

    storage._entry_index_transaction = deleted_first
    with pytest.raises(IndexDoesNotExistError):
        _ids(reader, "email", "e7@x")
    assert entry_index_names(reader) == []  # none that nothing would ever drop


def _wait_for_a_lock(storage: Any, locktypes: tuple[str, ...], timeout: float = 10.0) -> None:
    """Until some PostgreSQL transaction waits for a lock of one of ``locktypes``."""
    deadline = time.monotonic() + timeout
    with storage._connection() as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT 1 FROM pg_locks WHERE NOT granted AND locktype = ANY(%s)",
                (list(locktypes),),
            ).fetchone()
            conn.rollback()
            if row is not None:
                return
            time.sleep(0.01)
    raise AssertionError(f"no transaction waited for a lock of {locktypes}")


@pytest.mark.rookdb_backends("sqlite", "postgres")
def test_an_index_deleted_while_a_query_makes_its_indexes_is_left_none(
    two_stores: tuple[DocumentStore, DocumentStore], backend: BackendSpec
) -> None:
    reader, writer = two_stores
    storage: Any = reader._storage(reader.database)
    create = storage._create_entry_index
    deleting: list[concurrent.futures.Future[Any]] = []

    def deleted_meanwhile(conn: Any, index_id: int, path: str) -> None:
        if not deleting:  # the delete runs while this transaction is open, and waits for it
            deleting.append(
                pool.submit(writer.maintenance.send, DeleteIndexOperation("Employees/ByLevel"))
            )
            if backend.name == "postgres":  # the delete waits for the entry-index lock
                _wait_for_a_lock(storage, ("advisory",))
            else:  # for the write lock: nothing shows it
                time.sleep(0.5)
        create(conn, index_id, path)

    storage._create_entry_index = deleted_meanwhile
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        with contextlib.suppress(IndexDoesNotExistError):  # (it may be gone when it reads)
            _ids(reader, "email", "e7@x")  # made, then the delete dropped them
        deleting[0].result()
    assert entry_index_names(reader) == []


@pytest.mark.rookdb_backends("postgres")
def test_puts_of_a_new_and_a_changed_index_and_of_another_changed_one_do_not_deadlock(
    two_stores: tuple[DocumentStore, DocumentStore],
) -> None:
    one, other = two_stores

    def index(name: str, field: str) -> IndexDefinition:
        return IndexDefinition(
            name=name, maps={f"from e in docs.Employees select new {{ e.{field} }}"}
        )

    one.maintenance.send(PutIndexesOperation(index("X", "email"), index("Z", "email")))
    storage: Any = one._storage(one.database)
    drop = storage._drop
    putting: list[concurrent.futures.Future[Any]] = []

    def the_other_put_first(conn: Any, index_id: int, name: str) -> None:
        # Y inserted, Z's drop next: the other put drops X and inserts its new one meanwhile.
        if not putting:
            putting.append(
                pool.submit(other.maintenance.send, PutIndexesOperation(index("X", "level")))
            )
            _wait_for_a_lock(storage, ("advisory", "transactionid"))
        drop(conn, index_id, name)

    storage._drop = the_other_put_first
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        one.maintenance.send(PutIndexesOperation(index("Y", "email"), index("Z", "level")))
        putting[0].result()
    with one.open_session() as session:
        assert len(session.query_index("X").where_equals("level", 3).to_list()) == 30
        assert len(session.query_index("Y").where_equals("email", "e3@x").to_list()) == 1
        assert len(session.query_index("Z").where_equals("level", 3).to_list()) == 30


@pytest.mark.rookdb_backends("postgres")
def test_the_entries_are_read_while_their_indexes_replace_those_of_an_earlier_form(
    employees: DocumentStore,
) -> None:
    old = make_entry_index_as_before(employees, "Employees/ByLevel", "email")
    storage: Any = employees._storage(employees.database)
    create = storage._create_entry_index
    counted: list[int] = []

    def read_meanwhile(conn: Any, index_id: int, path: str) -> None:
        create(conn, index_id, path)
        # Another transaction reads the entries while this one builds (a DROP INDEX before
        # its commit would hold the table's ACCESS EXCLUSIVE lock all that time).
        with storage._connection() as reader:
            reader.execute("SET lock_timeout = '2s'")
            (count,) = reader.execute(f"SELECT count(*) FROM {storage._s}.index_entries").fetchone()
            reader.rollback()
        counted.append(count)

    storage._create_entry_index = read_meanwhile
    with employees.open_session() as session:
        assert session.query_index("Employees/ByLevel").where_equals("email", "e7@x").count() == 1
    assert counted == [300]
    made = entry_index_names(employees)
    assert made and not set(made) & set(old), made  # those of the earlier form dropped after
