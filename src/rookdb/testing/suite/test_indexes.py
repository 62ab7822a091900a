"""User-defined indexes on every backend that keeps them: put, queried, never stale.

A write is in the index when ``save_changes()`` returns (its entries are written in the
batch's transaction); a map-reduce index's results equal plain Python's over the documents
after any puts, updates that move a document between groups, and deletes.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from typing import Any

import pytest

from rookdb import (
    DocumentStore,
    IndexCompilationError,
    IndexDoesNotExistError,
    IndexLockedError,
)
from rookdb.indexes import (
    AbstractIndexCreationTask,
    AbstractMultiMapIndexCreationTask,
    FieldIndexing,
    FieldStorage,
    IndexCreation,
    IndexDefinition,
    IndexFieldOptions,
    IndexLockMode,
    IndexPriority,
    IndexState,
)
from rookdb.operations import (
    DeleteIndexErrorsOperation,
    DeleteIndexOperation,
    DisableIndexOperation,
    EnableIndexOperation,
    GetIndexErrorsOperation,
    GetIndexesOperation,
    GetIndexesStatisticsOperation,
    GetIndexingStatusOperation,
    GetIndexNamesOperation,
    GetIndexOperation,
    GetIndexStatisticsOperation,
    GetTermsOperation,
    IndexHasChangedOperation,
    PutIndexesOperation,
    ResetIndexOperation,
    SetIndexesLockOperation,
    SetIndexesPriorityOperation,
    StartIndexingOperation,
    StartIndexOperation,
    StopIndexingOperation,
    StopIndexOperation,
)
from rookdb.query import QueryStatistics

pytestmark = pytest.mark.rookdb_requires("indexes")


class Orders_ByCompany(AbstractIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.map = "from o in docs.Orders select new { o.Company, Count = 1, Total = o.Total }"
        self.reduce = (
            "from r in results group r by r.Company into g select new "
            "{ Company = g.Key, Count = g.Sum(x => x.Count), Total = g.Sum(x => x.Total) }"
        )


class Orders_CountByCompany(AbstractIndexCreationTask):
    """``g.Count()``: not rereducible, so every touched group is reduced from its entries."""

    def __init__(self) -> None:
        super().__init__()
        self.map = "from o in docs.Orders select new { o.Company, Count = 1 }"
        self.reduce = (
            "from r in results group r by r.Company into g select new "
            "{ Company = g.Key, Count = g.Count() }"
        )


class Users_ByName(AbstractIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.map = "from u in docs.Users select new { Name = u.First + ' ' + u.Last, u.Age }"
        self._store("Name", FieldStorage.YES)


class People_ByName(AbstractMultiMapIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self._add_map("from u in docs.Users select new { Name = u.First }")
        self._add_map("from e in docs.Employees select new { Name = e.FirstName }")


class Orders_ByCompanyName(AbstractIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.map = (
            'from o in docs.Orders let c = LoadDocument(o.Company, "Companies") '
            "select new { CompanyName = c.Name }"
        )


class Posts_ByText(AbstractIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.map = "from p in docs.Posts select new { Words = p.Text }"
        self._index("Words", FieldIndexing.SEARCH)


def _save(store: DocumentStore, *documents: tuple[str, dict[str, Any]]) -> None:
    with store.open_session() as session:
        for document_id, document in documents:
            session.store(document, document_id)
        session.save_changes()


def _order(company: str, total: int) -> dict[str, Any]:
    return {"Company": company, "Total": total, "@metadata": {"@collection": "Orders"}}


def _user(first: str, last: str, age: int) -> dict[str, Any]:
    return {"First": first, "Last": last, "Age": age, "@metadata": {"@collection": "Users"}}


def _results(store: DocumentStore, index: str) -> dict[str, tuple[int, int]]:
    with store.open_session() as session:
        rows = list(session.query_index(index))
    return {r["Company"]: (r["Count"], r["Total"]) for r in rows}


def test_a_map_index_sees_a_write_at_once(store: DocumentStore) -> None:
    Users_ByName().execute(store)
    _save(store, ("users/1", _user("Ada", "Lovelace", 36)), ("users/2", _user("Alan", "T", 41)))
    with store.open_session() as session:
        found = list(session.query_index("Users/ByName").where_equals("Name", "Ada Lovelace"))
        assert [d["First"] for d in found] == ["Ada"]
        older = session.query_index_type(Users_ByName).where_greater_than("Age", 40)
        assert [d["First"] for d in older] == ["Alan"]
        by_name = list(session.query(index_name="Users/ByName").order_by_descending("Name"))
        assert [d["First"] for d in by_name] == ["Alan", "Ada"]
    _save(store, ("users/1", _user("Ada", "King", 36)))
    with store.open_session() as session:
        assert list(session.query_index("Users/ByName").where_equals("Name", "Ada Lovelace")) == []
        assert len(list(session.query_index("Users/ByName").where_equals("Name", "Ada King"))) == 1
        session.delete("users/2")
        session.save_changes()
        assert [d["First"] for d in session.query_index("Users/ByName")] == ["Ada"]


def test_the_query_statistics_name_the_index(store: DocumentStore) -> None:
    Users_ByName().execute(store)
    _save(store, ("users/1", _user("Ada", "Lovelace", 36)))
    seen: list[QueryStatistics] = []
    with store.open_session() as session:
        list(session.query_index("Users/ByName").statistics(seen.append))
    (stats,) = seen
    assert stats.index_name == "Users/ByName"
    assert stats.is_stale is False
    assert stats.total_results == 1


def test_stored_fields_are_projected_from_the_index(store: DocumentStore) -> None:
    Users_ByName().execute(store)
    _save(store, ("users/1", _user("Ada", "Lovelace", 36)))
    with store.open_session() as session:
        rows = list(session.query_index("Users/ByName").select_fields(dict, "Name"))
    assert rows == [{"Name": "Ada Lovelace"}]


def test_a_multi_map_index_answers_documents_of_each_collection(store: DocumentStore) -> None:
    People_ByName().execute(store)
    _save(
        store,
        ("users/1", _user("Ada", "L", 1)),
        ("employees/1", {"FirstName": "Ada", "@metadata": {"@collection": "Employees"}}),
        ("employees/2", {"FirstName": "Bob", "@metadata": {"@collection": "Employees"}}),
    )
    with store.open_session() as session:
        found = list(session.query_index("People/ByName").where_equals("Name", "Ada"))
    assert len(found) == 2


def test_load_document_indexes_again_when_the_loaded_document_changes(
    store: DocumentStore,
) -> None:
    Orders_ByCompanyName().execute(store)
    _save(
        store,
        ("companies/1", {"Name": "Acme", "@metadata": {"@collection": "Companies"}}),
        ("orders/1", _order("companies/1", 10)),
        ("orders/2", _order("companies/2", 10)),  # its company comes later
    )

    def named(name: str) -> int:
        with store.open_session() as session:
            query = session.query_index("Orders/ByCompanyName").where_equals("CompanyName", name)
            return len(list(query))

    assert named("Acme") == 1
    _save(store, ("companies/1", {"Name": "Globex", "@metadata": {"@collection": "Companies"}}))
    assert (named("Acme"), named("Globex")) == (0, 1)
    _save(store, ("companies/2", {"Name": "Globex", "@metadata": {"@collection": "Companies"}}))
    assert named("Globex") == 2
    with store.open_session() as session:
        session.delete("companies/1")
        session.save_changes()
    assert named("Globex") == 1


def test_map_reduce_results_follow_puts_moves_and_deletes(store: DocumentStore) -> None:
    Orders_ByCompany().execute(store)
    _save(
        store,
        ("orders/1", _order("a", 10)),
        ("orders/2", _order("a", 5)),
        ("orders/3", _order("b", 1)),
    )
    assert _results(store, "Orders/ByCompany") == {"a": (2, 15), "b": (1, 1)}
    _save(store, ("orders/2", _order("b", 7)))  # moves from a to b
    assert _results(store, "Orders/ByCompany") == {"a": (1, 10), "b": (2, 8)}
    with store.open_session() as session:
        session.delete("orders/1")
        session.save_changes()
    assert _results(store, "Orders/ByCompany") == {"b": (2, 8)}
    with store.open_session() as session:
        top = list(session.query_index("Orders/ByCompany").where_greater_than("Total", 5))
    assert [r["Company"] for r in top] == ["b"]


def test_map_reduce_equals_plain_python_under_random_writes(store: DocumentStore) -> None:
    IndexCreation.create_indexes([Orders_ByCompany(), Orders_CountByCompany()], store)
    rng = random.Random(16)
    documents: dict[str, dict[str, Any]] = {}
    for _ in range(12):
        with store.open_session() as session:
            for number in rng.sample(range(1, 26), rng.randint(1, 8)):
                document_id = f"orders/{number}"
                if document_id in documents and rng.random() < 0.3:
                    session.delete(document_id)
                    del documents[document_id]
                else:
                    documents[document_id] = _order(rng.choice("abcde"), rng.randint(0, 100))
                    session.store(dict(documents[document_id]), document_id)
            session.save_changes()
        expected: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for document in documents.values():
            expected[document["Company"]][0] += 1
            expected[document["Company"]][1] += document["Total"]
        assert _results(store, "Orders/ByCompany") == {k: tuple(v) for k, v in expected.items()}
        with store.open_session() as session:
            counts = {
                r["Company"]: r["Count"] for r in session.query_index("Orders/CountByCompany")
            }
        assert counts == {k: v[0] for k, v in expected.items()}


def test_a_failing_map_is_recorded_not_raised(store: DocumentStore) -> None:
    store.maintenance.send(
        PutIndexesOperation(
            IndexDefinition(
                name="Orders/Half", maps={"from o in docs.Orders select new { Half = o.Total / 2 }"}
            )
        )
    )
    _save(store, ("orders/1", _order("a", 10)), ("orders/2", {**_order("a", 0), "Total": "x"}))
    with store.open_session() as session:
        assert len(list(session.query_index("Orders/Half"))) == 1
    (errors,) = store.maintenance.send(GetIndexErrorsOperation(["Orders/Half"]))
    assert errors.count == 1
    assert errors.errors[0]["Document"] == "orders/2"
    stats = store.maintenance.send(GetIndexStatisticsOperation("Orders/Half"))
    assert stats.errors_count == 1 and stats.entries_count == 1


def test_deleting_index_errors_forgets_them_and_keeps_the_entries(store: DocumentStore) -> None:
    # RavenDB's DeleteIndexErrorsOperation: the named indexes' errors (every index's when
    # none is named) are forgotten; an unknown name is an error and clears nothing.
    half = "from o in docs.Orders select new { Half = o.Total / 2 }"
    store.maintenance.send(
        PutIndexesOperation(
            IndexDefinition(name="Orders/Half", maps={half}),
            IndexDefinition(name="Orders/Third", maps={half.replace("Half", "Third")}),
        )
    )
    _save(store, ("orders/1", _order("a", 10)), ("orders/2", {**_order("a", 0), "Total": "x"}))

    def counts() -> dict[str, int]:
        return {e.name: e.count for e in store.maintenance.send(GetIndexErrorsOperation())}

    assert counts() == {"Orders/Half": 1, "Orders/Third": 1}
    with pytest.raises(IndexDoesNotExistError):
        store.maintenance.send(DeleteIndexErrorsOperation(["Orders/Half", "Nope"]))
    assert counts() == {"Orders/Half": 1, "Orders/Third": 1}
    store.maintenance.send(DeleteIndexErrorsOperation(["orders/half"]))
    assert counts() == {"Orders/Half": 0, "Orders/Third": 1}
    (errors,) = store.maintenance.send(GetIndexErrorsOperation(["Orders/Half"]))
    assert errors.errors == ()
    stats = store.maintenance.send(GetIndexStatisticsOperation("Orders/Half"))
    assert stats.errors_count == 0 and stats.entries_count == 1
    store.maintenance.send(DeleteIndexErrorsOperation())
    assert counts() == {"Orders/Half": 0, "Orders/Third": 0}
    _save(store, ("orders/3", {**_order("a", 0), "Total": "y"}))  # new errors are recorded
    assert counts() == {"Orders/Half": 1, "Orders/Third": 1}


def test_an_index_put_on_an_existing_collection_indexes_it(store: DocumentStore) -> None:
    _save(store, *((f"orders/{i}", _order("abc"[i % 3], i)) for i in range(1, 31)))
    IndexCreation.create_indexes([Orders_ByCompany(), Users_ByName()], store)
    totals = Counter[str]()
    for i in range(1, 31):
        totals["abc"[i % 3]] += i
    results = _results(store, "Orders/ByCompany")
    assert {k: v[1] for k, v in results.items()} == dict(totals)
    stats = store.maintenance.send(GetIndexStatisticsOperation("Orders/ByCompany"))
    assert stats.state == "Normal" and stats.entries_count == 30
    assert stats.reduce_results_count == 3 and not stats.is_stale


def test_a_refused_definition_stores_nothing(store: DocumentStore) -> None:
    bad = IndexDefinition(name="Bad", maps={"from o in docs.Orders select o.Total.Foo(1, 2)"})
    good = IndexDefinition(name="Good", maps={"from o in docs.Orders select new { o.Total }"})
    with pytest.raises(IndexCompilationError):
        store.maintenance.send(PutIndexesOperation(good, bad))
    assert store.maintenance.send(GetIndexNamesOperation()) == []


def test_tasks_may_come_as_any_iterable(store: DocumentStore) -> None:
    # A generator or a map is read once, and every task it yields is put.
    store.execute_indexes(task() for task in (Users_ByName, Orders_ByCompany))
    assert store.maintenance.send(GetIndexNamesOperation()) == [
        "Orders/ByCompany",
        "Users/ByName",
    ]
    store.maintenance.send(DeleteIndexOperation("Users/ByName"))
    store.maintenance.send(DeleteIndexOperation("Orders/ByCompany"))
    IndexCreation.create_indexes(map(lambda task: task(), (Users_ByName,)), store)
    assert store.maintenance.send(GetIndexNamesOperation()) == ["Users/ByName"]


def test_index_management(store: DocumentStore) -> None:
    IndexCreation.create_indexes([Users_ByName(), Orders_ByCompany()], store)
    assert store.maintenance.send(GetIndexNamesOperation()) == [
        "Orders/ByCompany",
        "Users/ByName",
    ]
    definition = store.maintenance.send(GetIndexOperation("users/byname"))
    assert definition is not None and definition.name == "Users/ByName"
    assert store.maintenance.send(GetIndexOperation("nope")) is None
    assert [d.name for d in store.maintenance.send(GetIndexesOperation(1, 5))] == ["Users/ByName"]
    _save(store, ("users/1", _user("Ada", "L", 1)))
    store.maintenance.send(ResetIndexOperation("Users/ByName"))
    with store.open_session() as session:
        assert len(list(session.query_index("Users/ByName"))) == 1
    store.maintenance.send(DeleteIndexOperation("Users/ByName"))
    assert store.maintenance.send(GetIndexNamesOperation()) == ["Orders/ByCompany"]
    with store.open_session() as session, pytest.raises(IndexDoesNotExistError):
        list(session.query_index("Users/ByName"))
    with pytest.raises(IndexDoesNotExistError):
        store.maintenance.send(GetIndexStatisticsOperation("Users/ByName"))


def test_an_index_put_again_unchanged_keeps_its_entries(store: DocumentStore) -> None:
    Users_ByName().execute(store)
    _save(store, ("users/1", _user("Ada", "L", 1)))
    Users_ByName().execute(store)
    stats = store.maintenance.send(GetIndexStatisticsOperation("Users/ByName"))
    assert stats.entries_count == 1


def test_rql_from_index(store: DocumentStore) -> None:
    Orders_ByCompany().execute(store)
    _save(store, ("orders/1", _order("a", 3)), ("orders/2", _order("b", 4)))
    with store.open_session() as session:
        rows = list(
            session.advanced.raw_query(
                "from index 'Orders/ByCompany' where Total >= $t order by Company desc",
                dict,
            ).add_parameter("t", 4)
        )
    assert [r["Company"] for r in rows] == ["b"]


def test_search_on_an_index_field(store: DocumentStore) -> None:
    Posts_ByText().execute(store)
    _save(
        store,
        ("posts/1", {"Text": "The quick brown fox", "@metadata": {"@collection": "Posts"}}),
        ("posts/2", {"Text": "A lazy dog", "@metadata": {"@collection": "Posts"}}),
    )
    with store.open_session() as session:
        found = list(session.query_index("Posts/ByText").search("Words", "quick"))
        assert [d["Text"] for d in found] == ["The quick brown fox"]
        for terms in ("QUI*", "*OWN", "*az*"):  # wildcards
            found = list(session.query_index("Posts/ByText").search("Words", terms))
            expected = "A lazy dog" if terms == "*az*" else "The quick brown fox"
            assert [d["Text"] for d in found] == [expected]
        rql = "from index 'Posts/ByText' where search(Words, 'do* f*', and)"
        assert list(session.advanced.raw_query(rql)) == []


def test_an_index_query_streamed_and_lazy(store: DocumentStore) -> None:
    Users_ByName().execute(store)
    _save(store, ("users/1", _user("Ada", "L", 36)), ("users/2", _user("Bob", "M", 41)))
    with store.open_session() as session:
        query = session.query_index("Users/ByName").where_greater_than("Age", 40)
        streamed = [item.document["First"] for item in session.advanced.stream(query)]
        assert streamed == ["Bob"]
        lazy = session.query_index("Users/ByName").where_equals("Name", "Ada L").lazily()
        assert [d["First"] for d in lazy.value] == ["Ada"]


def test_a_lazy_query_of_a_missing_index_raises_when_its_value_is_read(
    store: DocumentStore,
) -> None:
    """As an eager one does (through a server: a multi_get whose one item is that query)."""
    _save(store, ("users/1", _user("Ada", "L", 36)))
    with store.open_session() as session:
        lazy = session.query_index("Users/ByName").lazily()
        with pytest.raises(IndexDoesNotExistError, match="Users/ByName"):
            _ = lazy.value
        session.query_index("Users/ByName").lazily()  # beside a load: a multi_get of two
        session.advanced.lazily.load("users/1")
        with pytest.raises(IndexDoesNotExistError, match="Users/ByName"):
            session.advanced.eagerly.execute_all_pending_lazy_operations()


def test_map_reduce_results_paged_with_their_total(store: DocumentStore) -> None:
    Orders_ByCompany().execute(store)
    _save(store, *((f"orders/{i}", _order(f"c{i % 7}", i)) for i in range(30)))
    seen: list[QueryStatistics] = []
    with store.open_session() as session:
        query = session.query_index("Orders/ByCompany").order_by("Company").skip(2).take(3)
        page = list(query.statistics(seen.append))
        distinct = list(
            session.query_index("Orders/ByCompany").select_fields(dict, "Count").distinct()
        )
    assert [r["Company"] for r in page] == ["c2", "c3", "c4"]
    assert seen[0].total_results == 7
    assert sorted(r["Count"] for r in distinct) == [4, 5]


def test_a_javascript_multi_map_reduce_index(store: DocumentStore) -> None:
    pytest.importorskip("quickjs")
    store.maintenance.send(
        PutIndexesOperation(
            IndexDefinition(
                name="Names/Count",
                maps={
                    "map('Users', u => ({ name: u.First, count: 1 }))",
                    "map('Employees', e => ({ name: e.FirstName, count: 1 }))",
                },
                reduce="groupBy(x => x.name).aggregate(g => ({ name: g.key, "
                "count: g.values.reduce((total, v) => total + v.count, 0) }))",
            )
        )
    )
    _save(
        store,
        ("users/1", _user("Ada", "L", 1)),
        ("employees/1", {"FirstName": "Ada", "@metadata": {"@collection": "Employees"}}),
        ("employees/2", {"FirstName": "Bob", "@metadata": {"@collection": "Employees"}}),
    )
    with store.open_session() as session:
        rows = {r["name"]: r["count"] for r in session.query_index("Names/Count")}
        assert rows == {"Ada": 2, "Bob": 1}
        session.delete("users/1")
        session.save_changes()
        rows = {r["name"]: r["count"] for r in session.query_index("Names/Count")}
    assert rows == {"Ada": 1, "Bob": 1}


def test_a_javascript_index_with_dynamic_fields(store: DocumentStore) -> None:
    # RavenDB's dynamic fields ("_": {$name, $value, $options}) are queried by their names.
    pytest.importorskip("quickjs")
    store.maintenance.send(
        PutIndexesOperation(
            IndexDefinition(
                name="Users/Dynamic",
                maps={
                    "map('Users', u => ({ _: [{ $name: 'FullName', $value: u.First + ' ' "
                    "+ u.Last, $options: { indexing: 'Search' } }, createField('Years', u.Age, "
                    "{}) ] }))"
                },
                fields={"FullName": IndexFieldOptions(indexing=FieldIndexing.SEARCH)},
            )
        )
    )
    _save(store, ("users/1", _user("Ada", "Lovelace", 36)), ("users/2", _user("Bob", "M", 41)))
    with store.open_session() as session:
        found = list(session.query_index("Users/Dynamic").search("FullName", "lovelace"))
        assert [u["First"] for u in found] == ["Ada"]
        found = list(session.query_index("Users/Dynamic").where_equals("Years", 41))
        assert [u["First"] for u in found] == ["Bob"]


def test_index_values_holding_a_nul_character(store: DocumentStore) -> None:
    # Compared up to the NUL as every query compares strings; kept whole in results.
    IndexCreation.create_indexes([Users_ByName(), Orders_ByCompany()], store)
    _save(store, ("users/1", _user("a\x00b", "c", 1)), ("orders/1", _order("x\x00y", 3)))
    with store.open_session() as session:
        found = list(session.query_index("Users/ByName").where_starts_with("Name", "a"))
        assert [u["First"] for u in found] == ["a\x00b"]
        names = list(session.query_index("Users/ByName").select_fields(dict, "Name"))
        assert names == [{"Name": "a\x00b c"}]
    assert _results(store, "Orders/ByCompany") == {"x\x00y": (1, 3)}


def test_a_document_that_changes_collection_moves_between_indexes(store: DocumentStore) -> None:
    # Its entries follow it, in the put's transaction: gone from the old collection's
    # indexes (a map and a map-reduce one), there in the new one's.
    IndexCreation.create_indexes([Users_ByName(), Orders_ByCompany()], store)
    _save(store, ("things/1", _user("Ada", "L", 36)), ("orders/1", _order("a", 1)))
    _save(store, ("things/1", _order("a", 5)))
    with store.open_session() as session:
        assert list(session.query_index("Users/ByName")) == []
    assert _results(store, "Orders/ByCompany") == {"a": (2, 6)}
    stats = store.maintenance.send(GetIndexStatisticsOperation("Users/ByName"))
    assert stats.entries_count == 0
    _save(store, ("things/1", _user("Ada", "K", 36)))
    assert _results(store, "Orders/ByCompany") == {"a": (1, 1)}
    with store.open_session() as session:
        names = [u["Last"] for u in session.query_index("Users/ByName")]
    assert names == ["K"]


def test_runtime_failures_of_a_map_are_index_errors(store: DocumentStore) -> None:
    # As RavenDB: an integer division by zero, a null on the right of an operator whose left
    # is a value (C#'s binder finds no operator), or a method that fails on its value, is an
    # indexing error recorded against the index for that document, which gets no entry; the
    # write succeeds and other documents are indexed. A method called on a missing member is
    # null, not a failure (RavenDB's dynamic null propagates).
    store.maintenance.send(
        PutIndexesOperation(
            IndexDefinition(
                name="Orders/Odd",
                maps={
                    "from o in docs.Orders select new { Per = o.Total / o.Lines, "
                    "Code = o.Code.Substring(2), Upper = o.Missing.ToUpper() }"
                },
            )
        )
    )
    _save(
        store,
        ("orders/1", {**_order("a", 10), "Lines": 2, "Code": "abc"}),
        ("orders/2", {**_order("a", 10), "Lines": 0, "Code": "abc"}),  # 10 / 0
        ("orders/3", {**_order("a", 10), "Lines": 5, "Code": "a"}),  # "a".Substring(2)
        ("orders/4", {**_order("a", 10), "Code": "abc"}),  # 10 / null (no Lines)
    )
    with store.open_session() as session:
        assert len(list(session.query_index("Orders/Odd"))) == 1
        found = session.query_index("Orders/Odd").where_equals("Per", 5)
        assert [d["Code"] for d in found.where_equals("Upper", None)] == ["abc"]
    (errors,) = store.maintenance.send(GetIndexErrorsOperation(["Orders/Odd"]))
    assert errors.count == 3
    assert sorted(e["Document"] for e in errors.errors) == ["orders/2", "orders/3", "orders/4"]
    assert all(e["Action"] == "Map" for e in errors.errors)
    stats = store.maintenance.send(GetIndexStatisticsOperation("Orders/Odd"))
    assert stats.errors_count == 3 and stats.entries_count == 1


def test_lock_modes_and_priority(store: DocumentStore) -> None:
    # As RavenDB: a put that changes a LockedIgnore index keeps the old definition silently,
    # one that changes a LockedError index raises (nothing of that put stored); setting
    # them, or a priority, builds nothing again.
    Users_ByName().execute(store)
    _save(store, ("users/1", _user("Ada", "L", 36)))
    changed = IndexDefinition(
        name="Users/ByName", maps={"from u in docs.Users select new { u.Age }"}
    )
    store.maintenance.send(SetIndexesLockOperation(IndexLockMode.LOCKED_IGNORE, "Users/ByName"))
    store.maintenance.send(SetIndexesPriorityOperation(IndexPriority.HIGH, "Users/ByName"))
    store.maintenance.send(PutIndexesOperation(changed))
    kept = store.maintenance.send(GetIndexOperation("Users/ByName"))
    assert kept is not None and "First" in next(iter(kept.maps))
    assert kept.lock_mode is IndexLockMode.LOCKED_IGNORE and kept.priority is IndexPriority.HIGH
    stats = store.maintenance.send(GetIndexStatisticsOperation("Users/ByName"))
    assert (stats.lock_mode, stats.priority) == ("LockedIgnore", "High")
    assert store.maintenance.send(GetIndexStatisticsOperation("Users/ByName")).entries_count == 1
    store.maintenance.send(SetIndexesLockOperation(IndexLockMode.LOCKED_ERROR, "Users/ByName"))
    other = IndexDefinition(name="Other", maps={"from u in docs.Users select new { u.Age }"})
    with pytest.raises(IndexLockedError):
        store.maintenance.send(PutIndexesOperation(other, changed))
    assert store.maintenance.send(GetIndexNamesOperation()) == ["Users/ByName"]
    Users_ByName().execute(store)  # unchanged: allowed, and keeps its lock mode
    kept = store.maintenance.send(GetIndexOperation("Users/ByName"))
    assert kept is not None and kept.lock_mode is IndexLockMode.LOCKED_ERROR
    store.maintenance.send(SetIndexesLockOperation(IndexLockMode.UNLOCK, "Users/ByName"))
    store.maintenance.send(PutIndexesOperation(changed))
    with store.open_session() as session:
        assert len(list(session.query_index("Users/ByName").where_equals("Age", 36))) == 1
    with pytest.raises(IndexDoesNotExistError):
        store.maintenance.send(SetIndexesLockOperation(IndexLockMode.UNLOCK, "Nope"))


def test_stopped_indexes_stay_maintained_and_say_paused(store: DocumentStore) -> None:
    # rookdb's promise is never stale: a stopped index (or indexing) is still written with
    # each write and answers queries; the indexing status reports it Paused, as RavenDB's.
    IndexCreation.create_indexes([Users_ByName(), Orders_ByCompany()], store)
    store.maintenance.send(StopIndexOperation("users/byname"))
    status = store.maintenance.send(GetIndexingStatusOperation())
    assert status.status == "Running"
    assert status.indexes == [("Orders/ByCompany", "Running"), ("Users/ByName", "Paused")]
    assert _statuses(store) == {"Orders/ByCompany": "Running", "Users/ByName": "Paused"}
    _save(store, ("users/1", _user("Ada", "L", 36)))
    with store.open_session() as session:
        assert len(list(session.query_index("Users/ByName"))) == 1
    store.maintenance.send(StopIndexingOperation())
    status = store.maintenance.send(GetIndexingStatusOperation())
    assert status.status == "Paused" and {s for _, s in status.indexes} == {"Paused"}
    assert set(_statuses(store).values()) == {"Paused"}
    store.maintenance.send(StartIndexingOperation())
    status = store.maintenance.send(GetIndexingStatusOperation())
    assert {s for _, s in status.indexes} == {"Running"}
    store.maintenance.send(StopIndexOperation("Users/ByName"))
    store.maintenance.send(StartIndexOperation("Users/ByName"))
    assert store.maintenance.send(GetIndexingStatusOperation()).indexes[1][1] == "Running"
    with pytest.raises(IndexDoesNotExistError):
        store.maintenance.send(StopIndexOperation("Nope"))


def test_a_deleted_or_reset_index_is_no_longer_stopped(store: DocumentStore) -> None:
    # RavenDB's stop lives with the index: a reset builds it anew (running), and an index
    # put again under a deleted one's name is a new index, running.
    Users_ByName().execute(store)
    store.maintenance.send(StopIndexOperation("Users/ByName"))
    store.maintenance.send(ResetIndexOperation("Users/ByName"))
    assert store.maintenance.send(GetIndexingStatusOperation()).indexes == [
        ("Users/ByName", "Running")
    ]
    store.maintenance.send(StopIndexOperation("Users/ByName"))
    store.maintenance.send(DeleteIndexOperation("Users/ByName"))
    Users_ByName().execute(store)
    assert store.maintenance.send(GetIndexingStatusOperation()).indexes == [
        ("Users/ByName", "Running")
    ]
    store.maintenance.send(StopIndexingOperation())  # indexing as a whole stays stopped
    store.maintenance.send(DeleteIndexOperation("Users/ByName"))
    Users_ByName().execute(store)
    assert store.maintenance.send(GetIndexingStatusOperation()).status == "Paused"


def test_disabled_indexes_stay_maintained_and_say_disabled(store: DocumentStore) -> None:
    # RavenDB's DisableIndexOperation under rookdb's never-stale promise: the index is still
    # written with each write and answers queries; its definition's state is Disabled (kept
    # by a put of the same definition) and the indexing status reports it Disabled.
    IndexCreation.create_indexes([Users_ByName(), Orders_ByCompany()], store)
    store.maintenance.send(DisableIndexOperation("users/byname"))
    status = store.maintenance.send(GetIndexingStatusOperation())
    assert status.indexes == [("Orders/ByCompany", "Running"), ("Users/ByName", "Disabled")]
    assert _statuses(store) == {"Orders/ByCompany": "Running", "Users/ByName": "Disabled"}
    stats = store.maintenance.send(GetIndexStatisticsOperation("Users/ByName")).to_json()
    assert (stats["State"], stats["Status"]) == ("Disabled", "Disabled")  # RavenDB's IndexStats
    found = store.maintenance.send(GetIndexOperation("Users/ByName"))
    assert found is not None and found.state is IndexState.DISABLED
    _save(store, ("users/1", _user("Ada", "L", 36)))
    with store.open_session() as session:
        assert len(list(session.query_index("Users/ByName"))) == 1
    Users_ByName().execute(store)  # unchanged: stays disabled
    assert store.maintenance.send(GetIndexingStatusOperation()).indexes[1][1] == "Disabled"
    store.maintenance.send(StopIndexOperation("Users/ByName"))  # disabled outranks paused
    assert store.maintenance.send(GetIndexingStatusOperation()).indexes[1][1] == "Disabled"
    store.maintenance.send(StartIndexOperation("Users/ByName"))
    store.maintenance.send(EnableIndexOperation("Users/ByName"))
    status = store.maintenance.send(GetIndexingStatusOperation())
    assert status.indexes[1][1] == "Running"
    assert _statuses(store)["Users/ByName"] == "Running"
    found = store.maintenance.send(GetIndexOperation("Users/ByName"))
    assert found is not None and found.state is IndexState.NORMAL


def _statuses(store: DocumentStore) -> dict[str, str]:
    """Each index's running status as its statistics tell it (RavenDB's ``IndexStats``)."""
    return {s.name: s.status for s in store.maintenance.send(GetIndexesStatisticsOperation())}
    with pytest.raises(IndexDoesNotExistError):
        store.maintenance.send(DisableIndexOperation("Nope"))


def test_the_database_statistics_list_user_defined_indexes(store: DocumentStore) -> None:
    # RavenDB's database statistics list every index, with its type.
    IndexCreation.create_indexes([Users_ByName(), Orders_ByCompany()], store)
    stats = store.maintenance.get_statistics()
    assert {"Users/ByName", "Orders/ByCompany"} <= set(stats.indexes)
    assert stats.index_types["Users/ByName"] == "Map"
    assert stats.index_types["Orders/ByCompany"] == "MapReduce"
    store.maintenance.send(DeleteIndexOperation("Users/ByName"))
    assert "Users/ByName" not in store.maintenance.get_statistics().indexes


def test_automatic_indexes_are_named_and_have_terms(store: DocumentStore) -> None:
    # RavenDB lists the automatic index a query made among the index names, and answers
    # its terms: the collection's values of the field, as its analyzer keeps them.
    _save(store, ("users/1", _user("Ada", "L", 36)), ("users/2", _user("bob", "M", 41)))
    seen: list[QueryStatistics] = []
    with store.open_session() as session:
        query = session.query(collection_name="Users").where_equals("First", "Ada")
        list(query.statistics(seen.append))
    assert seen[0].index_name == "Auto/Users/ByFirst"
    assert store.maintenance.send(GetIndexNamesOperation()) == ["Auto/Users/ByFirst"]
    terms = store.maintenance.send(GetTermsOperation("Auto/Users/ByFirst", "First"))
    assert terms == ["ada", "bob"]
    with pytest.raises(IndexDoesNotExistError):
        store.maintenance.send(GetTermsOperation("Auto/Users/ByLast", "Last"))


def test_index_has_changed(store: DocumentStore) -> None:
    task = Users_ByName()
    definition = task.create_index_definition()
    assert store.maintenance.send(IndexHasChangedOperation(definition))
    task.execute(store)
    assert not store.maintenance.send(IndexHasChangedOperation(definition))
    definition.priority = IndexPriority.HIGH  # not a change that builds it again
    assert not store.maintenance.send(IndexHasChangedOperation(definition))
    definition.maps = {"from u in docs.Users select new { u.Age }"}
    assert store.maintenance.send(IndexHasChangedOperation(definition))


def test_the_terms_of_an_index_field(store: DocumentStore) -> None:
    # RavenDB's GetTermsOperation: distinct values as its default analyzer keeps them (text
    # lower-cased), sorted, paged after a value.
    Users_ByName().execute(store)
    _save(
        store,
        ("users/1", _user("Ada", "L", 36)),
        ("users/2", _user("Bob", "M", 41)),
        ("users/3", _user("ada", "l", 36)),
    )
    assert store.maintenance.send(GetTermsOperation("Users/ByName", "Name")) == ["ada l", "bob m"]
    assert store.maintenance.send(GetTermsOperation("Users/ByName", "Age")) == ["36", "41"]
    page = GetTermsOperation("Users/ByName", "Name", "ada l", 5)
    assert store.maintenance.send(page) == ["bob m"]
    with pytest.raises(IndexDoesNotExistError):
        store.maintenance.send(GetTermsOperation("Nope", "Name"))
