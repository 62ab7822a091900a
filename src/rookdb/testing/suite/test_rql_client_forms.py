"""What RavenDB's clients write into RQL, run through rookdb's own API on every backend
(issue 14): list parameters, ``true``, ``now()``/``today()``, ``select ... as``, ``id()``
projected, ``limit $p0, $p1`` with a null count, includes through arrays (marked with ``[]``
or not), and what rookdb refuses, by name."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from rookdb import DocumentStore, QueryError


@dataclasses.dataclass
class Person:
    name: str
    born: dt.datetime
    tags: list[str]


#: cid's birth, this long before the fixture stores it: ``today()`` finds it born before
#: today's midnight only when the test runs before two o'clock (UTC).
CID_AGE = dt.timedelta(hours=2)


@pytest.fixture
def people(store: DocumentStore) -> DocumentStore:
    # Births relative to when the test runs, not to when it was collected: a run that crosses
    # midnight (or lasts hours) must not move the expected answers of now() and today().
    now = dt.datetime.now(dt.timezone.utc)
    with store.open_session() as session:
        session.store(Person("ann", now - dt.timedelta(days=400), ["a", "b"]), "people/1")
        session.store(Person("bob", now + dt.timedelta(days=400), ["b"]), "people/2")
        session.store(Person("cid", now - CID_AGE, ["c"]), "people/3")
        session.save_changes()
    return store


def _raw(store: DocumentStore, rql: str, **parameters: Any) -> list[Any]:
    with store.open_session() as session:
        query = session.advanced.raw_query(rql)
        for name, value in parameters.items():
            query = query.add_parameter(name, value)
        return list(query)


def _name(found: Any) -> str:
    return found["name"] if isinstance(found, dict) else found.name  # type: ignore[no-any-return]


def _names(store: DocumentStore, rql: str, **parameters: Any) -> list[str]:
    return [_name(r) for r in _raw(store, rql + " order by name", **parameters)]


@pytest.mark.parametrize(
    ("where", "parameters", "expected"),
    [
        ("name in ($names)", {"names": ["ann", "cid", "zed"]}, ["ann", "cid"]),
        ("name in ($names, 'bob')", {"names": ["ann"]}, ["ann", "bob"]),
        ("name in ($names)", {"names": []}, []),
        ("tags in ($tags)", {"tags": ("b", "z")}, ["ann", "bob"]),
        ("tags all in ($tags)", {"tags": ["a", "b"]}, ["ann"]),
        ("true and not name = $n", {"n": "ann"}, ["bob", "cid"]),
        ("name = $n and true", {"n": "ann"}, ["ann"]),
        ("true or name = $n", {"n": "ann"}, ["ann", "bob", "cid"]),
        ("true", {}, ["ann", "bob", "cid"]),
        ("exact(name = 'ann')", {}, ["ann"]),  # rookdb compares strings exactly anyway
        ("exact(name = 'ANN')", {}, []),
        ("not exact(name = 'ann' or name = 'bob')", {}, ["cid"]),
    ],
)
def test_list_parameters_and_true(
    people: DocumentStore, where: str, parameters: dict[str, Any], expected: list[str]
) -> None:
    assert _names(people, f"from People where {where}", **parameters) == expected


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("born < now()", ["ann", "cid"]),
        ("born > now()", ["bob"]),
        ("born < today()", None),  # depends on the hour: see the test
        ("born < now('-1 hour')", ["ann", "cid"]),
        ("born < now('-3h')", ["ann"]),
        ("born > now('+1y')", ["bob"]),
        ("born between now('-2y') and now('-1d')", ["ann"]),
        ("born < now($offset)", ["ann"]),
    ],
)
def test_now_and_today(people: DocumentStore, where: str, expected: list[str] | None) -> None:
    if expected is None:  # today(): cid was born before today's midnight only in its first hours
        now = dt.datetime.now(dt.timezone.utc)
        expected = ["ann"] if now.hour >= CID_AGE.seconds // 3600 else ["ann", "cid"]
    assert _names(people, f"from People where {where}", offset="-30 days") == expected


def test_a_time_function_compares_as_a_datetime_parameter_does(people: DocumentStore) -> None:
    # now() is written as an aware datetime is stored: the same answer as a parameter
    moment = dt.datetime.now(dt.timezone.utc)
    by_parameter = _names(people, "from People where born < $t", t=moment)
    assert _names(people, "from People where born < now()") == by_parameter


def test_select_as_and_id(people: DocumentStore) -> None:
    found = _raw(people, "from People where name = 'ann' select id() as Id, name as n, tags")
    assert found == [{"Id": "people/1", "n": "ann", "tags": ["a", "b"]}]
    found = _raw(people, "from People order by name select name as 'Full Name', id()")
    assert found[0] == {"Full Name": "ann", "id()": "people/1"}
    assert _name(_raw(people, "from People order by name select *")[0]) == "ann"


@pytest.mark.parametrize(
    ("where", "parameters", "expected"),
    [
        ("id() = 'PEOPLE/2'", {}, ["bob"]),  # ids compare case-insensitively
        ("id() = $id", {"id": "People/1"}, ["ann"]),
        ("id() != 'people/1'", {}, ["bob", "cid"]),
        ("id() in ($ids)", {"ids": ["people/1", "People/3", "people/9"]}, ["ann", "cid"]),
        ("startsWith(id(), 'PEOPLE/')", {}, ["ann", "bob", "cid"]),
        ("endsWith(id(), '/2')", {}, ["bob"]),
        ("id() > 'people/1' and tags = 'c'", {}, ["cid"]),
        ("id() between 'people/2' and 'people/3'", {}, ["bob", "cid"]),
        ("regex(id(), '[13]$')", {}, ["ann", "cid"]),
        ("id() = 'people/1' or name = 'bob'", {}, ["ann", "bob"]),
        ("not (id() = 'people/1' or id() = 'people/2')", {}, ["cid"]),
    ],
)
def test_id_in_where(
    people: DocumentStore, where: str, parameters: dict[str, Any], expected: list[str]
) -> None:
    assert _names(people, f"from People where {where}", **parameters) == expected
    every = "from @all_docs where " + where
    assert sorted(_name(r) for r in _raw(people, every, **parameters)) == expected


def test_limit_with_a_null_count_has_no_limit(people: DocumentStore) -> None:
    rql = "from People order by name limit $skip, $take"
    assert [_name(r) for r in _raw(people, rql, skip=1, take=None)] == ["bob", "cid"]
    assert [_name(r) for r in _raw(people, rql, skip=None, take=1)] == ["ann"]
    assert [_name(r) for r in _raw(people, "from People order by name offset null")] == [
        "ann",
        "bob",
        "cid",
    ]


@pytest.fixture
def orders(store: DocumentStore) -> DocumentStore:
    with store.open_session() as session:
        for i in range(1, 6):
            session.store({"name": f"p{i}"}, f"products/{i}")
        session.store(
            {
                "lines": [{"product": "products/1"}, {"product": ["products/2"]}],
                "refs": ["products/3", ["products/4"]],
                "nested": {"deep": [{"items": [{"ref": "products/5"}]}]},
            },
            "orders/1",
        )
        session.save_changes()
    return store


@pytest.mark.parametrize(
    ("path", "included"),
    [
        ("lines[].product", ["products/1", "products/2"]),
        ("lines.product", ["products/1", "products/2"]),  # arrays walked unmarked, as RavenDB
        ("refs", ["products/3", "products/4"]),  # an array of ids includes each
        ("refs[]", ["products/3", "products/4"]),
        ("nested.deep.items.ref", ["products/5"]),
        ("nested.deep[].items[].ref", ["products/5"]),
    ],
)
def test_includes_follow_arrays(orders: DocumentStore, path: str, included: list[str]) -> None:
    with orders.open_session() as session:
        session.include(path).load("orders/1")
        for document_id in included:
            assert session.load(document_id) is not None
        assert session.number_of_requests == 1, path
    with orders.open_session() as session:
        (_order,) = session.query(collection_name="orders").include(path)
        for document_id in included:
            assert session.load(document_id) is not None
        assert session.number_of_requests == 1, path
    with orders.open_session() as session:
        _ = list(session.advanced.raw_query(f"from orders include '{path}'"))
        for document_id in included:
            session.load(document_id)
        assert session.number_of_requests == 1, path


@pytest.mark.parametrize(
    ("rql", "named"),
    [
        ("from People where exists(id())", "exists() of id()"),
        ("from People where id() all in ('people/1')", "id() takes"),
        ("from People where cmpxchg('k') = 1", "cmpxchg()"),
        ("from People where name = cmpxchg('k')", "cmpxchg()"),
        ("from People where boost(name = 'ann', 2)", "boost()"),
        ("from People where spatial.within(x, y)", "spatial.within()"),
        ("from People as p load p.friend as f", "load"),
        ("from People load x as y", "load"),
        ("from People group by name select avg(age)", "avg()"),
        ("from People select count()", "count()"),
        ("from People order by random()", "random()"),
        ("from People include counters(employee, 'likes')", "counters of the documents a path"),
        ("from People include timeseries(x)", "timeseries()"),
        ("from People where not true", "not true"),
        ("from People where born < now('soon')", "offset"),
        ("from People where born < today('+1d')", "expected ')'"),
        ("declare function f() { return 1 } from People", "declare"),
        ("from People select name as a, tags as a", "selected twice"),
    ],
)
def test_what_rookdb_does_not_run_is_refused_by_name(
    people: DocumentStore, rql: str, named: str
) -> None:
    with pytest.raises(QueryError) as raised:
        _raw(people, rql)
    assert named in str(raised.value)
