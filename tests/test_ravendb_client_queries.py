"""Queries as RavenDB's own Python client (``ravendb`` 7.2) writes and reads them, against
``rookdb serve`` (issue 14): paging (``limit $p0, $p1`` in the RQL *and* ``Start``/``PageSize``
in the body), projections (whose ``@metadata`` the client reads), ``select ... as Id``, list
parameters (``where_in``, ``contains_any``, ``contains_all``), the time functions, includes
through arrays, and what rookdb refuses, by name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from rookdb.testing.backends import BACKENDS

ravendb = pytest.importorskip("ravendb")
from ravendb.documents.queries.query import QueryData  # noqa: E402
from ravendb.documents.queries.raven_document_query import RavenDocumentQuery  # noqa: E402
from ravendb.documents.session.misc import NullsOrdering, OrderingType  # noqa: E402

DATABASE = "OfficialQueries"


class User:
    def __init__(
        self,
        name: str | None = None,
        age: int | None = None,
        tags: list[str] | None = None,
        born: str | None = None,
        Id: str | None = None,
    ) -> None:
        self.name, self.age, self.tags, self.born, self.Id = name, age, tags, born, Id


class NameOnly:
    def __init__(self, name: str | None = None) -> None:
        self.name = name


class WithId:
    def __init__(self, Id: str | None = None, name: str | None = None) -> None:
        self.Id, self.name = Id, name


class NameAge:
    def __init__(self, name: str | None = None, Age: int | None = None) -> None:
        self.name, self.Age = name, Age


class Order:
    def __init__(
        self, lines: list[dict[str, str]] | None = None, refs: list[str] | None = None
    ) -> None:
        self.lines, self.refs = lines, refs


@pytest.fixture
def server_url() -> Iterator[str]:
    spec = BACKENDS["http"]
    spec.require()
    url = spec.make_url(Path())
    yield url
    spec.clean_up(url)


@pytest.fixture
def store(server_url: str) -> Iterator[Any]:
    store = ravendb.DocumentStore(urls=[server_url], database=DATABASE)
    store.initialize()
    with store.open_session() as session:
        session.store(User("ann", 30, ["a", "b"], "1990-01-01T00:00:00.0000000Z"), "users/1")
        session.store(User("bob", 40, ["b"], "2999-01-01T00:00:00.0000000Z"), "users/2")
        session.store(User("cid", 50, ["c"], "1980-01-01T00:00:00.0000000Z"), "users/3")
        session.save_changes()
    yield store
    store.close()


def _names(query: Any) -> list[str]:
    return [user.name for user in query]


def test_paging_with_skip_and_take_loses_no_rows(store: Any) -> None:
    with store.open_session() as session:

        def users() -> Any:
            return session.query(object_type=User).order_by("name")

        assert _names(users().skip(1).take(10)) == ["bob", "cid"]  # the skip applied once
        assert _names(users().skip(1)) == ["bob", "cid"]  # a null count: no limit
        assert _names(users().take(2)) == ["ann", "bob"]
        assert _names(users().skip(2).take(1)) == ["cid"]
        assert _names(users().skip(5)) == []
        pages = [_names(users().skip(start).take(2)) for start in (0, 2, 4)]
        assert pages == [["ann", "bob"], ["cid"], []]


def test_rql_paging_and_body_paging_combine_as_ravendb_does(store: Any) -> None:
    # The offset is the larger of the RQL's and Start, the count the smaller of the RQL's
    # and PageSize (RavenDB's server), so a client sending both pages once.
    url = f"{store.urls[0]}/databases/{DATABASE}/queries"

    def page(rql: str, **body: Any) -> list[str]:
        body["Query"] = "from Users order by name" + rql
        answer = httpx.post(url, content=orjson.dumps(body))
        assert answer.status_code == 200, answer.text
        return [r["name"] for r in answer.json()["Results"]]

    assert page(" limit 1, 1", Start=1, PageSize=1) == ["bob"]
    assert page(" limit 2, 1", Start=1) == ["cid"]
    assert page(" limit 0, 2", Start=1) == ["bob", "cid"]
    assert page(" limit 0, 3", PageSize=1) == ["ann"]
    assert page("", Start=2, PageSize=10) == ["cid"]
    assert page(" limit $a, $b", QueryParameters={"a": 1, "b": None}) == ["bob", "cid"]


def test_projections_carry_metadata_the_client_reads(store: Any) -> None:
    with store.open_session() as session:
        found = list(session.query(object_type=User).order_by("name").select_fields(NameOnly))
        assert [type(p) for p in found] == [NameOnly] * 3
        assert [p.name for p in found] == ["ann", "bob", "cid"]
        assert session.advanced.number_of_requests == 1
        distinct = list(session.query(object_type=User).select_fields(NameOnly, "name").distinct())
        assert sorted(p.name for p in distinct) == ["ann", "bob", "cid"]
    raw = httpx.post(
        f"{store.urls[0]}/databases/{DATABASE}/queries",
        content=orjson.dumps({"Query": "from Users where name = 'ann' select name"}),
    ).json()["Results"]
    assert raw[0]["name"] == "ann"
    metadata = raw[0]["@metadata"]
    assert metadata["@projection"] is True and metadata["@id"] == "users/1"
    assert metadata["@collection"] == "Users" and metadata["@change-vector"]


def test_select_as_id_and_the_identity_property(store: Any) -> None:
    with store.open_session() as session:
        # select_fields with the class's identity property: the client writes id() as Id
        found = list(session.query(object_type=User).order_by("name").select_fields(WithId))
        assert [(p.Id, p.name) for p in found] == [
            ("users/1", "ann"),
            ("users/2", "bob"),
            ("users/3", "cid"),
        ]
        # a field projected under another name: select age as Id
        aged = session.query(object_type=User).order_by("name")
        as_id = list(aged.select_fields_query_data(WithId, QueryData(["age"], ["Id"])))
        assert [p.Id for p in as_id] == [30, 40, 50]


def test_list_parameters_of_where_in_contains_any_and_contains_all(store: Any) -> None:
    with store.open_session() as session:

        def users() -> Any:
            return session.query(object_type=User).order_by("name")

        assert _names(users().where_in("name", ["ann", "cid", "zed"])) == ["ann", "cid"]
        assert _names(users().contains_any("tags", ["b", "z"])) == ["ann", "bob"]
        assert _names(users().contains_all("tags", ["a", "b"])) == ["ann"]
        assert _names(users().contains_all("tags", [])) == ["ann", "bob", "cid"]  # "true"
        assert _names(users().where_in("name", [])) == []
        assert _names(users().where_equals("name", "ann", exact=True)) == ["ann"]


def test_the_identity_property_in_where_is_id(store: Any) -> None:
    with store.open_session() as session:

        def users() -> Any:
            return session.query(object_type=User).order_by("name")

        assert _names(users().where_equals("Id", "USERS/2")) == ["bob"]
        assert _names(users().where_in("Id", ["users/1", "users/3"])) == ["ann", "cid"]
        assert _names(users().where_starts_with("Id", "users/")) == ["ann", "bob", "cid"]
        assert _names(users().where_not_equals("Id", "users/1")) == ["bob", "cid"]


def test_now_and_today_as_the_client_writes_them(store: Any) -> None:
    with store.open_session() as session:

        def born(method: str, when: Any) -> list[str]:
            query = session.query(object_type=User).order_by("name")
            return _names(getattr(query, method)("born", when))

        assert born("where_less_than", RavenDocumentQuery.now()) == ["ann", "cid"]
        assert born("where_greater_than", RavenDocumentQuery.today()) == ["bob"]
        assert born("where_less_than", RavenDocumentQuery.now("-1000y")) == []
        assert born("where_less_than", RavenDocumentQuery.now("+1000 years")) == [
            "ann",
            "bob",
            "cid",
        ]


def test_includes_through_arrays_as_the_client_writes_them(store: Any) -> None:
    with store.open_session() as session:
        lines = [{"product": "users/1"}, {"product": "users/2"}]
        session.store(Order(lines, ["users/3"]), "orders/1")
        session.save_changes()
    for path in ("lines[].product", "lines.product"):
        with store.open_session() as session:
            orders = list(session.query(object_type=Order).include(path))
            assert len(orders) == 1
            session.load("users/1", User)
            session.load("users/2", User)
            assert session.advanced.number_of_requests == 1, path
    with store.open_session() as session:
        session.include("refs").load("orders/1", Order)
        assert session.load("users/3", User).name == "cid"
        assert session.advanced.number_of_requests == 1


def test_aliases_distinct_and_orderings_as_the_client_writes_them(store: Any) -> None:
    with store.open_session() as session:
        for index, code in enumerate(["a10", "A2", "a1", "b", "10", "9"]):
            session.store(User(code, index), f"codes/{index}")
        session.store(User(None, 99), "codes/9")
        session.save_changes()
    with store.open_session() as session:
        # from 'Users' as u where age > $p0 ... select u.name as name, u.age as Age
        aliased = session.query(object_type=User).where_greater_than("age", 35).order_by("name")
        data = QueryData(["u.name", "u.age"], ["name", "Age"], from_alias="u")
        found = list(aliased.select_fields_query_data(NameAge, data))
        assert [(p.name, p.Age) for p in found] == [(None, 99), ("bob", 40), ("cid", 50)]
        # select distinct name
        distinct = session.query(object_type=User).select_fields(NameOnly, "name").distinct()
        assert sorted(p.name for p in distinct if p.name) == [
            "10", "9", "A2", "a1", "a10", "ann", "b", "bob", "cid"
        ]  # fmt: skip

        def codes(*order: Any, descending: bool = False) -> list[str | None]:
            query = session.query(object_type=User).where_less_than("age", 10)
            method = query.order_by_descending if descending else query.order_by
            return [user.name for user in method("name", *order)]

        alphanumeric = OrderingType.ALPHA_NUMERIC
        assert codes(alphanumeric) == ["9", "10", "a1", "A2", "a10", "b"]
        assert codes(alphanumeric, descending=True) == ["b", "a10", "A2", "a1", "10", "9"]
        assert codes(OrderingType.STRING) == ["10", "9", "A2", "a1", "a10", "b"]
    with store.open_session() as session:
        ordered = session.query(object_type=User).where_greater_than("age", 40)
        nulls_last = ordered.order_by("name", alphanumeric, NullsOrdering.LAST)
        assert [u.name for u in nulls_last] == ["cid", None]
        nulls_first = session.query(object_type=User).where_greater_than("age", 40)
        first = nulls_first.order_by_descending("name", OrderingType.STRING, NullsOrdering.FIRST)
        assert [u.name for u in first] == [None, "cid"]


def test_a_nested_path_projected_is_keyed_by_its_path(store: Any) -> None:
    raw = httpx.post(
        f"{store.urls[0]}/databases/{DATABASE}/queries",
        content=orjson.dumps(
            {"Query": "from Users as u where u.name = 'ann' select u.tags, u.born as B"}
        ),
    ).json()["Results"]
    assert raw[0]["tags"] == ["a", "b"] and raw[0]["B"].startswith("1990")
    with store.open_session() as session:
        session.store({"address": {"city": "Oslo"}}, "places/1")
        session.save_changes()
    raw = httpx.post(
        f"{store.urls[0]}/databases/{DATABASE}/queries",
        content=orjson.dumps(
            {"Query": "from @all_docs where id() = 'places/1' select address.city"}
        ),
    ).json()["Results"]
    assert raw[0]["address.city"] == "Oslo"
    assert raw[0]["@metadata"]["@projection"] is True


@pytest.mark.parametrize(
    ("rql", "named"),
    [
        ("from Users where cmpxchg($p) = 'x'", "cmpxchg()"),
        ("from Users where name = cmpxchg($p)", "cmpxchg()"),
        ("from Users where lucene(name, $p)", "lucene()"),
        ("from Users as u load u.friend as f select f", "load"),
        ("from Users group by name select avg(age)", "avg()"),
        ("from Users load name as n", "load"),
        ("from Users order by random()", "random()"),
        ("declare function f(u) { return u } from Users as u select f(u)", "declare"),
        ("from Users where name = now('next tuesday')", "offset"),
    ],
)
def test_what_rookdb_does_not_run_is_refused_by_name(server_url: str, rql: str, named: str) -> None:
    answer = httpx.post(
        f"{server_url}/databases/{DATABASE}/queries",
        content=orjson.dumps({"Query": rql, "QueryParameters": {"p": "x"}}),
    )
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["Type"] == "Raven.Client.Exceptions.InvalidQueryException"
    assert named in body["Message"]


def test_search_wildcards_as_the_client_writes_them(store: Any, server_url: str) -> None:
    """test_ravenDB_10520's ``search("name", "Micro*")``: a trailing ``*`` is a prefix (it
    found only the word "micro" before); a leading one a suffix; a bad one a 400 naming it."""
    with store.open_session() as session:
        session.store(User("Microsoft Corp"), "users/4")
        session.store(User("micro"), "users/5")
        session.store(User("Macrohard"), "users/6")
        session.save_changes()
    with store.open_session() as session:
        assert sorted(_names(session.query(object_type=User).search("name", "Micro*"))) == [
            "Microsoft Corp",
            "micro",
        ]
        assert _names(session.query(object_type=User).search("name", "*HARD")) == ["Macrohard"]
        rql = "from Users where search(name, $p)"
        found = session.advanced.raw_query(rql, object_type=User).add_parameter("p", "*cro* b*")
        assert sorted(_names(found)) == ["Macrohard", "Microsoft Corp", "bob", "micro"]
    answer = httpx.post(
        f"{server_url}/databases/{DATABASE}/queries",
        content=orjson.dumps({"Query": "from Users where search(name, 'mi*ft')"}),
    )
    assert answer.status_code == 400, answer.text
    assert "'mi*ft'" in answer.json()["Message"]


def test_explain_names_the_index_a_query_reads(store: Any) -> None:
    """``POST /queries?debug=explain`` (the client's ``ExplainQueryCommand``) answers which
    index the query reads and why, in RavenDB's shape, and runs nothing; before, rookdb
    ignored ``debug`` and answered the query's documents."""
    from ravendb.documents.commands.explain import ExplainQueryCommand
    from ravendb.documents.queries.index_query import IndexQuery

    with store.open_session() as session:  # an automatic index of name
        assert _names(session.query(object_type=User).where_equals("name", "bob")) == ["bob"]

    def explain(rql: str) -> Any:
        command = ExplainQueryCommand(store.conventions, IndexQuery(rql))
        store.get_request_executor().execute_command(command)
        return command.result

    [scan] = explain("from Users")
    assert scan.index == "collection/Users" and scan.reason
    [seek] = explain("from Users where name = 'bob'")
    assert seek.index == "Auto/Users/Byname" and "automatic" in seek.reason


def test_debug_modes_rookdb_does_not_serve_are_refused(server_url: str) -> None:
    """``debug=entries`` (index entries instead of documents) is not served: a 501, never the
    documents as if no ``debug`` had been asked."""
    answer = httpx.post(
        f"{server_url}/databases/{DATABASE}/queries?debug=entries",
        content=orjson.dumps({"Query": "from Users"}),
    )
    assert answer.status_code == 501, answer.text
    assert "debug=entries" in answer.json()["Message"]
