"""RQL as RavenDB's client builder writes it, on every backend (issue 14): collection aliases
(``from Users as u where u.age > 3 select u.name``), ``select distinct``, ``order by ... as
alphaNumeric`` (RavenDB's alphanumeric order, held to a reference written from its rule), the
other typed orderings, ``nulls first``/``nulls last``, and projected nested paths."""

from __future__ import annotations

import functools
import re
from typing import Any

import pytest

from rookdb import DocumentStore, QueryError


def _raw(store: DocumentStore, rql: str) -> list[Any]:
    with store.open_session() as session:
        return list(session.advanced.raw_query(rql))


@pytest.fixture
def users(store: DocumentStore) -> DocumentStore:
    with store.open_session() as session:
        for index, (name, age, city) in enumerate(
            [("ann", 30, "Oslo"), ("bob", 40, "Lima"), ("cid", 50, "Oslo"), ("dan", 2, None)]
        ):
            address = {"city": city} if city else {}
            session.store({"name": name, "age": age, "address": address}, f"users/{index + 1}")
        session.save_changes()
    return store


# -- aliases -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rql", "expected"),
    [
        (
            "from Users as u where u.age > 3 order by u.name select u.name, u.age as A",
            [{"name": "ann", "A": 30}, {"name": "bob", "A": 40}, {"name": "cid", "A": 50}],
        ),
        (  # the alias without "as", and unprefixed fields beside prefixed ones
            "from Users u where u.address.city = 'Oslo' and age < 40 select id(u) as Id, name",
            [{"Id": "users/1", "name": "ann"}],
        ),
        (
            "from Users as u where startsWith(u.name, 'c') select u.address.city",
            [{"address.city": "Oslo"}],
        ),
        (
            "from Users as u order by u.age as long desc select id(u), u.name limit 1",
            [{"id()": "users/3", "name": "cid"}],
        ),
    ],
)
def test_aliases_name_the_document(
    users: DocumentStore, rql: str, expected: list[dict[str, Any]]
) -> None:
    assert _raw(users, rql) == expected


def test_select_the_alias_alone_is_the_whole_document(users: DocumentStore) -> None:
    found = _raw(users, "from Users as u where u.name = 'ann' select u limit 5")
    assert found == [{"name": "ann", "age": 30, "address": {"city": "Oslo"}}]


@pytest.mark.parametrize(
    ("rql", "named", "column"),
    [
        ("from Users as u load u.friend as f select f", "load is not supported", 17),
        ("from Users as u select u, u.name", "whole document", 24),
        ("from Users as u where u = 1", "whole document here", 23),
        ("from Users as u where address.city = 'x'", "unknown alias 'address'", 23),
        ("from Users as u select u.name, tags[]", "unknown alias 'tags'", 32),
        ("from Users as u where u[] = 1", "not an array", 23),
        ("from Users where age > 1 filter name = 'a'", "filter is not supported", 26),
        ("from Users filter name = 'a'", "filter is not supported", 12),
        ("from Users as where", "keyword cannot be an alias", 15),
        ("from Users as 'u'", "expected an alias", 15),
        ("from Users order by name nulls middle", "expected first or last", 32),
        ("from Users order by name as number", "alphaNumeric", 29),
        ("from Users where cmpxchg('k') = 1", "cmpxchg()", 18),
        ("declare function f() { return 1 } from Users", "declare", 1),
        ("from Users order by random()", "random()", 21),
        ("from Users order by score()", "score()", 21),
    ],
)
def test_what_rookdb_refuses_is_named_where_it_is(
    users: DocumentStore, rql: str, named: str, column: int
) -> None:
    with pytest.raises(QueryError) as raised:
        _raw(users, rql)
    assert named in str(raised.value)
    assert raised.value.column == column, str(raised.value)


# -- distinct ------------------------------------------------------------------------------


def test_select_distinct_pages_after_dropping_repeats(users: DocumentStore) -> None:
    rql = "from Users as u order by u.name select distinct u.address.city"
    cities = [c["address.city"] for c in _raw(users, rql)]
    assert cities == ["Oslo", "Lima", None]  # in the order of the first document giving each
    assert [c["address.city"] for c in _raw(users, rql + " limit 1, 1")] == ["Lima"]
    with users.open_session() as session:
        query = session.advanced.raw_query(rql + " limit 1, 5")
        assert len(query.to_list()) == 2
    with users.open_session() as session:
        built = (
            session.query(collection_name="Users")
            .order_by("name")
            .select_fields(dict, "address.city")
            .distinct()
        )
        assert [c["address.city"] for c in built.skip(1)] == ["Lima", None]
        assert built.count() == 2  # the skip applied to distinct projections


def test_select_distinct_star_is_every_document(users: DocumentStore) -> None:
    # every document is distinct from every other (their ids differ): RavenDB runs it as *
    found = _raw(users, "from Users order by name select distinct *")
    assert [f["name"] for f in found] == ["ann", "bob", "cid", "dan"]


# -- ordering ------------------------------------------------------------------------------

# Strings chosen to catch a wrong rule: leading zeros, case, digits against letters, a run
# that is the prefix of another, non-ASCII letters, a control character, the empty string.
TRICKY = [
    "a10", "a2", "A1", "a01", "a1", "a001b", "b", "B2", "10", "9", "009", "0", "00", "",
    "x y", "x1y", "x01y2", "abc", "ab", "ab1", "1a", "a", "Z", "_1", "\u00e91", "\u00c91",
    "a\x01", "a\x01b", "a5", "a 5", "file10.txt", "file9.txt", "file09.txt", "v1.10", "v1.9",
    "99999999999999999999", "100000000000000000000", "z\u4e2d2", "z\u4e2d10",
]  # fmt: skip
NOT_STRINGS: list[Any] = [None, 42, True, ["a1"], {"a": 1}]


def _runs(text: str) -> list[str]:
    return re.findall(r"[0-9]+|[^0-9]+", text)


def _lower(char: str) -> str:
    return char.lower() if "A" <= char <= "Z" else char


def ravendb_alphanumeric(left: str, right: str) -> int:
    """RavenDB's alphanumeric comparison, from its rule (digits and case: ASCII)."""
    left_runs, right_runs = _runs(left), _runs(right)
    for a, b in zip(left_runs, right_runs, strict=False):
        a_digits, b_digits = a[0] in "0123456789", b[0] in "0123456789"
        if a_digits and b_digits:
            a_number, b_number = a.lstrip("0"), b.lstrip("0")
            if len(a_number) != len(b_number):
                return len(a_number) - len(b_number)
            if a_number != b_number:
                return -1 if a_number < b_number else 1
        elif a_digits != b_digits:
            return -1 if a_digits else 1
        else:
            for x, y in zip(a, b, strict=False):
                if _lower(x) != _lower(y):
                    return ord(_lower(x)) - ord(_lower(y))
            if len(a) != len(b):
                return len(a) - len(b)
    return len(left_runs) - len(right_runs)


@pytest.fixture
def tricky(store: DocumentStore) -> DocumentStore:
    with store.open_session() as session:
        for index, value in enumerate(TRICKY + NOT_STRINGS):
            session.store({"v": value}, f"items/{index:03d}")
        session.store({"other": 1}, "items/999")  # no v at all
        session.save_changes()
    return store


def _expected(descending: bool, nulls: str | None) -> list[str]:
    ids = {value: f"items/{index:03d}" for index, value in enumerate(TRICKY)}
    sign = -1 if descending else 1

    def compare(a: str, b: str) -> int:
        result = sign * ravendb_alphanumeric(a, b)
        return result or (-1 if ids[a] < ids[b] else 1)  # ties: by id, ascending

    strings = [ids[v] for v in sorted(TRICKY, key=functools.cmp_to_key(compare))]
    others = [f"items/{len(TRICKY) + i:03d}" for i in range(len(NOT_STRINGS))] + ["items/999"]
    first = nulls == "first" or (nulls is None and not descending)
    return others + strings if first else strings + others


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("nulls", [None, "first", "last"])
def test_alphanumeric_order_is_ravendbs(
    tricky: DocumentStore, descending: bool, nulls: str | None
) -> None:
    rql = "from items order by v as alphaNumeric" + (" desc" if descending else "")
    rql += f" nulls {nulls}" if nulls else ""
    with tricky.open_session() as session:
        found = session.advanced.raw_query(rql + " select id(), v").to_list()
        built = session.query(collection_name="items")
        if descending:
            built = built.order_by_descending("v", "alphanumeric", nulls)
        else:
            built = built.order_by("v", "alphanumeric", nulls)
        by_builder = built.select_fields(dict, "v").to_list()
    assert [f["id()"] for f in found] == _expected(descending, nulls)
    assert by_builder == [{"v": f["v"]} for f in found]


def test_the_reference_agrees_with_ravendbs_examples() -> None:
    ordered = sorted(
        ["a10", "a2", "a1", "b", "10", "9", "A3"], key=functools.cmp_to_key(ravendb_alphanumeric)
    )
    assert ordered == ["9", "10", "a1", "a2", "A3", "a10", "b"]
    assert ravendb_alphanumeric("a007", "a7") == 0


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ("age as long", ["d", "e", "s", "a", "b", "c"]),
        ("age as long nulls last", ["a", "b", "c", "d", "e", "s"]),
        ("age as long desc", ["c", "b", "a", "d", "e", "s"]),
        ("age as long desc nulls first", ["d", "e", "s", "c", "b", "a"]),
        ("age as double nulls last", ["a", "b", "c", "d", "e", "s"]),
        ("age as string", ["a", "b", "c", "d", "e", "s"]),
        ("age as string nulls last", ["s", "a", "b", "c", "d", "e"]),
        ("age", ["d", "e", "a", "b", "c", "s"]),  # by type: missing and null, numbers, strings
        ("age nulls last", ["a", "b", "c", "s", "d", "e"]),
        ("age desc nulls first", ["d", "e", "s", "c", "b", "a"]),
        ("age desc", ["s", "c", "b", "a", "d", "e"]),
    ],
)
def test_typed_orderings_and_nulls(store: DocumentStore, order: str, expected: list[str]) -> None:
    with store.open_session() as session:
        for name, age in [("a", 1), ("b", 2.5), ("c", 10), ("d", None), ("s", "x")]:
            session.store({"name": name, "age": age}, f"people/{name}")
        session.store({"name": "e"}, "people/e")
        session.save_changes()
    found = _raw(store, f"from people order by {order} select name")
    assert [f["name"] for f in found] == expected


# -- projected nested paths ----------------------------------------------------------------


def test_a_projected_nested_path_is_keyed_by_its_path(users: DocumentStore) -> None:
    # RavenDB keys a projected path by the path as written (the alias left out)
    found = _raw(users, "from Users where name = 'ann' select address.city, name")
    assert found == [{"address.city": "Oslo", "name": "ann"}]
    found = _raw(users, "from Users as u where u.name = 'dan' select u.address.city")
    assert found == [{"address.city": None}]
    found = _raw(users, "from Users as u where u.name = 'ann' select u.address.city as City")
    assert found == [{"City": "Oslo"}]
