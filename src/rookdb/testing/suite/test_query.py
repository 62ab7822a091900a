"""The first slice of queries (SPEC Q1): the fluent builder over the immutable AST, executors,
paging and statistics, on every backend. The query issue extends this."""

from __future__ import annotations

import re
from typing import Any

import pytest

from rookdb import DocumentStore, InvalidOperationError, QueryError, QueryStatistics
from rookdb.query import And, Equals, Not, Or, Query

DOCS: dict[str, dict[str, Any]] = {
    "items/1": {"name": "a", "n": 1, "flag": True, "nested": {"k": "x"}},
    "items/2": {"name": "b", "n": 1.0, "flag": False, "nested": {"k": "y"}},
    "items/3": {"name": "c", "n": "1", "flag": 1},
    "items/4": {"name": "d", "n": None},
    "items/5": {"name": "e"},
}


@pytest.fixture
def items(store: DocumentStore) -> DocumentStore:
    return _seeded(store, {**DOCS, "others/1": {"name": "a"}})  # others/: another collection


def _seeded(store: DocumentStore, documents: dict[str, dict[str, Any]]) -> DocumentStore:
    """``store`` holding copies of ``documents`` (dicts; collections from their id prefixes)."""
    with store.open_session() as session:
        for document_id, doc in documents.items():
            session.store(dict(doc), document_id)
        session.save_changes()
    return store


def _names(store: DocumentStore, build: Any) -> list[str]:
    with store.open_session() as session:
        query = build(session.query(collection_name="items")).order_by("name")
        return [doc["name"] for doc in query]


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("n", 1, ["a", "b"]),  # numbers by value: 1 == 1.0
        ("n", "1", ["c"]),  # strings are not numbers
        ("n", None, ["d"]),  # null, not missing
        ("flag", True, ["a"]),  # booleans are not numbers
        ("flag", 1, ["c"]),
        ("nested.k", "y", ["b"]),
        ("missing", "x", []),
    ],
)
def test_where_equals_is_json_equality(
    items: DocumentStore, field: str, value: Any, expected: list[str]
) -> None:
    assert _names(items, lambda q: q.where_equals(field, value)) == expected
    everything = sorted(d["name"] for d in DOCS.values())
    negated = _names(items, lambda q: q.where_not_equals(field, value))
    assert sorted(negated + expected) == everything  # two-valued: |p| + |not p| = all


def test_boolean_structure(items: DocumentStore) -> None:
    assert _names(
        items, lambda q: q.where_equals("name", "a").or_else().where_equals("n", None)
    ) == [
        "a",
        "d",
    ]
    # AND binds tighter than OR: a OR (n = 1 AND flag = false)
    assert _names(
        items,
        lambda q: (
            q.where_equals("name", "a")
            .or_else()
            .where_equals("n", 1)
            .and_also()
            .where_equals("flag", False)
        ),
    ) == ["a", "b"]
    assert _names(
        items,
        lambda q: (
            q.not_()
            .open_subclause()
            .where_equals("name", "a")
            .or_else()
            .where_equals("name", "b")
            .close_subclause()
        ),
    ) == ["c", "d", "e"]


def test_the_builder_makes_the_immutable_ast(store: DocumentStore) -> None:
    with store.open_session() as session:
        query = (
            session.query(collection_name="items")
            .where_equals("a", 1)
            .or_else()
            .not_()
            .where_equals("b", 2)
            .where_equals("c", 3)
        )
        ast = query.to_query()
    assert ast == Query(
        collection="items",
        where=Or((Equals("a", 1), And((Not(Equals("b", 2)), Equals("c", 3))))),
    )
    with pytest.raises(AttributeError):
        ast.collection = "x"  # type: ignore[misc]


def test_unbalanced_subclauses(store: DocumentStore) -> None:
    with store.open_session() as session:
        with pytest.raises(QueryError):
            session.query(collection_name="items").close_subclause()
        with pytest.raises(QueryError):
            session.query(collection_name="items").open_subclause().first()


def test_executors_paging_and_statistics(items: DocumentStore) -> None:
    seen: list[QueryStatistics] = []
    with items.open_session() as session:
        query = session.query(collection_name="items")
        assert query.count() == 5 and query.any()
        assert session.query(collection_name="nothing").any() is False
        page = session.query(collection_name="items").order_by("name").skip(1).take(2)
        assert [d["name"] for d in page.statistics(seen.append)] == ["b", "c"]
        assert (seen[0].total_results, seen[0].skipped_results) == (5, 1)
        assert seen[0].index_name == "collection/items" and seen[0].duration_in_ms >= 0
        indexed = session.query(collection_name="items").where_equals("n", 1)
        indexed.where_starts_with("name", "a").statistics(seen.append).to_list()
        assert seen[-1].index_name == "Auto/items/BynAndname"
        assert page.count() == 2
        descending = session.query(collection_name="items").order_by_descending("name")
        assert descending.first()["name"] == "e"
        single = session.query(collection_name="items").where_equals("name", "c")
        assert single.single()["name"] == "c" and single.single_or_default()["name"] == "c"
        none = session.query(collection_name="items").where_equals("name", "zz")
        assert none.first_or_default() is None and none.single_or_default() is None
        with pytest.raises(InvalidOperationError):
            none.first()
        with pytest.raises(InvalidOperationError):
            none.single()
        with pytest.raises(InvalidOperationError):
            session.query(collection_name="items").single()
        with pytest.raises(InvalidOperationError):
            session.query(collection_name="items").single_or_default()


def test_query_includes_load_in_the_same_request(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store({"name": "Acme"}, "companies/1")
        session.store({"name": "Ann", "company": "companies/1"}, "people/1")
        session.save_changes()
    with store.open_session() as session:
        (person,) = session.query(collection_name="people").include("company")
        assert session.load(person["company"])["name"] == "Acme"
        assert session.number_of_requests == 1


ARRAYS: dict[str, dict[str, Any]] = {
    "orders/1": {"tags": ["a", "b"], "lines": [{"product": "p1", "qty": 2}, {"product": "p2"}]},
    "orders/2": {"tags": "a", "lines": [{"product": ["p1", "p3"], "qty": 5}, "not an object"]},
    "orders/3": {"tags": [], "lines": []},
    "orders/4": {"tags": [["a"]], "matrix": [[1, 2], [3]]},
    "orders/5": {},
}


@pytest.fixture
def orders(store: DocumentStore) -> DocumentStore:
    return _seeded(store, ARRAYS)


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda q: q.where_equals("tags", "a"), ["orders/1", "orders/2"]),  # any element
        (lambda q: q.where_equals("lines[].product", "p1"), ["orders/1", "orders/2"]),
        (lambda q: q.where_equals("lines[].product", "p3"), ["orders/2"]),
        (lambda q: q.where_greater_than("lines[].qty", 3), ["orders/2"]),
        (lambda q: q.where_exists("tags"), ["orders/1", "orders/2", "orders/3", "orders/4"]),
        (lambda q: q.where_exists("lines[].qty"), ["orders/1", "orders/2"]),
        (lambda q: q.where_exists("lines[]"), ["orders/1", "orders/2"]),
        (lambda q: q.contains_any("tags", ["b", "z"]), ["orders/1"]),
        (lambda q: q.contains_all("tags", ["a", "b"]), ["orders/1"]),
        (lambda q: q.where_in("matrix[]", [3]), ["orders/4"]),  # one level of flattening
        (lambda q: q.where_equals("matrix", 1), []),  # nested arrays are not flattened twice
        (lambda q: q.where_starts_with("lines[].product", "p"), ["orders/1", "orders/2"]),
        (lambda q: q.where_ends_with("lines[].product", "3"), ["orders/2"]),
        (lambda q: q.where_regex("lines[].product", "^p[23]$"), ["orders/1", "orders/2"]),
        (lambda q: q.where_between("lines[].qty", 2, 2), ["orders/1"]),
    ],
)
def test_array_paths(orders: DocumentStore, build: Any, expected: list[str]) -> None:
    with orders.open_session() as session:
        found = build(session.query(collection_name="orders"))
        assert sorted(session.advanced.get_document_id(d) or "" for d in found) == expected


def test_ordering_by_json_type_then_value(store: DocumentStore) -> None:
    values = [3, "b", None, 1.5, True, "B", [1], False, 10, "a", {"k": 1}]
    with store.open_session() as session:
        for i, value in enumerate(values):
            session.store({"v": value}, f"vals/{i}")
        session.store({}, "vals/missing")
        session.save_changes()
    with store.open_session() as session:
        ascending = [
            session.advanced.get_document_id(d)
            for d in session.query(collection_name="vals").order_by("v")
        ]
        assert ascending == [
            "vals/2",  # null ...
            "vals/missing",  # ... and missing first (ties by id)
            "vals/7",  # false
            "vals/4",  # true
            "vals/3",  # 1.5
            "vals/0",  # 3
            "vals/8",  # 10 (numerically, not as text)
            "vals/5",  # "B" (code point order: upper case first)
            "vals/9",  # "a"
            "vals/1",  # "b"
            "vals/10",  # arrays and objects last, by id
            "vals/6",
        ]
        query = session.query(collection_name="vals").order_by_descending("v", "long").take(3)
        numbers = [d["v"] for d in query]
        assert numbers == [10, 3, 1.5]
        strings = [
            d.get("v") for d in session.query(collection_name="vals").order_by("v", "string")
        ]
        assert strings[-3:] == ["B", "a", "b"]
        with pytest.raises(QueryError):
            session.query(collection_name="vals").order_by("v", "alphabetical")
        with pytest.raises(QueryError):
            session.query(collection_name="vals").order_by("lines[].qty")


@pytest.mark.parametrize(
    "build",
    [
        lambda q: q.where_between("n", 1, "z"),  # a number and a string
        lambda q: q.where_greater_than("n", True),  # booleans do not order
        lambda q: q.where_less_than("n", None),
        lambda q: q.where_less_than("n", float("nan")),
        lambda q: q.where_regex("name", "["),  # not a regular expression
        lambda q: q.where_in("name", "abc"),  # a string is not a list of values
        lambda q: q.where_starts_with("name", 1),
        lambda q: q.contains_all("tags", [{"a": 1}]),
    ],
)
def test_invalid_operands_are_query_errors(store: DocumentStore, build: Any) -> None:
    with store.open_session() as session:
        with pytest.raises(QueryError):
            build(session.query(collection_name="items"))
        assert session.number_of_requests == 0


class NameOnly:
    first_name: str


def test_select_fields_projects_and_never_tracks(store: DocumentStore) -> None:
    with store.open_session() as session:
        for i, (first, city) in enumerate([("Ann", "Oslo"), ("Bob", "Oslo"), ("Cid", "Lima")]):
            session.store(
                {"first_name": first, "address": {"city": city}, "tags": ["t", first]},
                f"people/{i}",
            )
        session.save_changes()
    with store.open_session() as session:
        names = (
            session.query(collection_name="people")
            .select_fields(NameOnly)
            .order_by("first_name")
            .to_list()
        )
        assert [type(n) for n in names] == [NameOnly] * 3
        assert [n.first_name for n in names] == ["Ann", "Bob", "Cid"]
        assert not hasattr(names[0], "Id")
        rows = (
            session.query(collection_name="people")
            .where_equals("first_name", "Ann")
            .select_fields(dict, "address.city", "tags[]", "missing")
            .single()
        )
        assert rows == {"address.city": "Oslo", "tags[]": ["t", "Ann"], "missing": None}
        assert session.advanced.get_tracked_entities() == {}
        cities = (
            session.query(collection_name="people")
            .select_fields(dict, "address.city")
            .distinct()
            .order_by("address.city")
        )
        assert [c["address.city"] for c in cities] == ["Lima", "Oslo"]
        assert cities.count() == 2
        assert [c["address.city"] for c in cities.skip(1).take(1)] == ["Oslo"]
        via_rql = session.advanced.raw_query(
            "from people order by first_name desc select distinct address.city"
        ).to_list()
        assert via_rql == [{"address.city": "Lima"}, {"address.city": "Oslo"}]
        assert session.advanced.get_tracked_entities() == {}


def test_the_first_query_on_a_field_creates_its_index(items: DocumentStore) -> None:
    assert items.maintenance.get_statistics().indexes == []
    with items.open_session() as session:
        session.query(collection_name="items").where_equals("name", "a").to_list()
        session.query(collection_name="items").where_equals("nested.k", "x").to_list()
        session.query(collection_name="items").where_in("tags[]", ["a"]).to_list()
    assert items.maintenance.get_statistics().indexes == [
        "auto/items/name",
        "auto/items/nested.k",
        "auto/items/tags[]",
    ]


@pytest.mark.rookdb_requires("shared_in_process")
def test_writes_from_another_store_maintain_an_index(new_store: Any) -> None:
    first, second = new_store(), new_store()  # two stores on one directory
    with first.open_session() as session:
        session.store({"tags": ["a"]}, "posts/1")
        session.save_changes()
    with second.open_session() as session:  # creates the value index for tags[]
        assert session.query(collection_name="posts").where_equals("tags[]", "a").count() == 1
    with first.open_session() as session:  # first's registry is stale: apply re-reads it
        session.store({"tags": ["a", "b"]}, "posts/2")
        session.load("posts/1")["tags"] = ["c"]
        session.save_changes()
    with second.open_session() as session:
        found = session.query(collection_name="posts").where_equals("tags[]", "a").to_list()
        assert [session.advanced.get_document_id(d) for d in found] == ["posts/2"]


POSTS = {
    "posts/1": {"title": "Café au lait", "tags": ["Morning", "coffee"]},
    "posts/2": {"title": "Coffee and tea", "tags": ["afternoon"]},
    "posts/3": {"title": "ΣΑΣ news: TEA-time!", "tags": []},
    "posts/4": {"title": 42},
}


@pytest.fixture
def posts(store: DocumentStore) -> DocumentStore:
    return _seeded(store, POSTS)


def _ids(store: DocumentStore, build: Any, collection: str | None = "posts") -> list[str]:
    with store.open_session() as session:
        found = build(
            session.query(collection_name=collection)
            if collection
            else session.advanced.document_query()
        )
        return sorted(session.advanced.get_document_id(d) or "" for d in found)


@pytest.mark.parametrize(
    ("terms", "operator", "expected"),
    [
        ("coffee", "or", ["posts/2"]),
        ("COFFEE tea", "or", ["posts/2", "posts/3"]),  # case-insensitive, any term
        ("coffee tea", "and", ["posts/2"]),  # all terms
        ("cafe", "or", []),  # diacritics are kept
        ("café", "or", ["posts/1"]),
        ("σασ", "or", ["posts/3"]),  # simple case folding, as SQLite's unicode61
        ("time", "or", ["posts/3"]),  # "TEA-time!" is two tokens
        ("42", "or", []),  # only strings are text
        ("Cof*", "or", ["posts/2"]),  # a trailing *: words that start so, any case
        ("tea*", "or", ["posts/2", "posts/3"]),  # the word itself too
        ("ΣΑ*", "or", ["posts/3"]),
        ("t* news", "and", ["posts/3"]),
        ("caf* tea", "and", []),
        ("*ee", "or", ["posts/2"]),  # a leading *: words that end so
        ("*AF*", "or", ["posts/1"]),  # both: words that hold it
        ("*FE*", "or", ["posts/2"]),  # (café holds fé, not fe)
        ("*ime tea*", "and", ["posts/3"]),
        ("4*", "or", []),
    ],
)
def test_search(posts: DocumentStore, terms: str, operator: str, expected: list[str]) -> None:
    assert _ids(posts, lambda q: q.search("title", terms, operator)) == expected
    rql = f"from posts where search(title, $t, {operator})"
    with posts.open_session() as session:
        found = session.advanced.raw_query(rql).add_parameter("t", terms)
        assert sorted(session.advanced.get_document_id(d) or "" for d in found) == expected


def test_search_uses_a_full_text_index_kept_with_the_documents(posts: DocumentStore) -> None:
    assert _ids(posts, lambda q: q.search("tags[]", "coffee morning", "and")) == ["posts/1"]
    assert "auto/posts/tags[] (search)" in posts.maintenance.get_statistics().indexes
    with posts.open_session() as session:
        session.load("posts/1")["tags"] = ["evening"]
        session.store({"title": "x", "tags": ["Coffee"]}, "posts/5")
        session.delete("posts/2")
        session.save_changes()
    assert _ids(posts, lambda q: q.search("tags[]", "coffee")) == ["posts/5"]
    assert _ids(posts, lambda q: q.search("tags[]", "evening")) == ["posts/1"]
    assert _ids(posts, lambda q: q.not_().search("tags[]", "coffee")) == [
        "posts/1",
        "posts/3",
        "posts/4",
    ]


def test_search_wildcards_through_the_full_text_index(posts: DocumentStore) -> None:
    assert _ids(posts, lambda q: q.search("tags[]", "morn* cof*", "and")) == ["posts/1"]
    assert "auto/posts/tags[] (search)" in posts.maintenance.get_statistics().indexes
    assert _ids(posts, lambda q: q.search("tags[]", "*noon")) == ["posts/2"]
    assert _ids(posts, lambda q: q.search("tags[]", "*ERN* x*")) == ["posts/2"]
    assert _ids(posts, lambda q: q.not_().search("tags[]", "mo* *fter*")) == ["posts/3", "posts/4"]
    assert _ids(posts, lambda q: q.search("tags[]", "mo*").or_else().search("title", "*ime")) == [
        "posts/1",
        "posts/3",
    ]
    assert _ids(posts, lambda q: q.search("title", "te*"), collection=None) == [
        "posts/2",
        "posts/3",
    ]


def test_a_prefix_finds_a_word_too_long_for_an_index_entry(store: DocumentStore) -> None:
    """PostgreSQL stores a token of over 2,000 bytes as its digest, which no prefix finds."""
    long_word = "Micro" + "x" * 3000
    _seeded(
        store,
        {
            "posts/1": {"title": f"a {long_word}"},
            "posts/2": {"title": "microscope"},
            "posts/3": {"title": "macro"},
        },
    )
    assert _ids(store, lambda q: q.search("title", "micro*")) == ["posts/1", "posts/2"]
    assert _ids(store, lambda q: q.search("title", "microx*")) == ["posts/1"]
    assert _ids(store, lambda q: q.search("title", f"{long_word}*")) == ["posts/1"]
    assert _ids(store, lambda q: q.search("title", long_word)) == ["posts/1"]
    assert _ids(store, lambda q: q.search("title", "a micro*", "and")) == ["posts/1"]
    assert _ids(store, lambda q: q.not_().search("title", "micro*")) == ["posts/3"]
    assert _ids(store, lambda q: q.search("title", "*xx")) == ["posts/1"]


@pytest.mark.parametrize("terms", ["*", "**", "a *", "mi*ft", "tea-*", "*-time", "*.*"])
def test_a_wildcard_stands_at_the_start_or_end_of_one_word(
    store: DocumentStore, terms: str
) -> None:
    with store.open_session() as session:
        with pytest.raises(QueryError, match=re.escape(repr(terms.split()[-1]))):
            session.query(collection_name="posts").search("title", terms)
        with pytest.raises(QueryError, match=re.escape(repr(terms.split()[-1]))):
            rql = "from posts where search(title, $t)"
            session.advanced.raw_query(rql).add_parameter("t", terms).to_list()


def test_search_without_a_collection_scans(posts: DocumentStore) -> None:
    assert _ids(posts, lambda q: q.search("title", "tea"), collection=None) == [
        "posts/2",
        "posts/3",
    ]


def test_search_needs_words(store: DocumentStore) -> None:
    with store.open_session() as session:
        for bad in ("", "  --  ", "!"):
            with pytest.raises(QueryError):
                session.query(collection_name="posts").search("title", bad)
        with pytest.raises(QueryError):
            session.query(collection_name="posts").search("title", "a", "xor")
        with pytest.raises(QueryError):
            session.advanced.raw_query("from posts where search(title, '?!')").to_list()


#: Scalar values of one field, then arrays holding the same values written after the index
#: (and each compiled query shape) was made: the statements that answer an indexed field
#: without arrays must find them (SQLite and PostgreSQL answer such a query as a union of
#: index seeks, one of which is the arrays'; issue 18, W5).
LEVELS: dict[str, dict[str, Any]] = {
    "staff/1": {"level": 1000, "name": "a"},
    "staff/2": {"level": 3, "name": "b"},
    "staff/3": {"level": "1000", "name": "c"},
    "staff/4": {"level": 1000.0, "name": "d"},
    "staff/5": {"name": "e"},
}
LATER: dict[str, dict[str, Any]] = {
    "staff/6": {"level": [3, 1000], "name": "f"},
    "staff/7": {"level": [1000, 1000], "name": "g"},  # one result, however many elements
    "staff/8": {"level": ["1000", "x"], "name": "h"},
    "staff/9": {"level": [], "name": "i"},
}

_LEVEL_QUERIES: list[tuple[Any, list[str], list[str]]] = [
    # (the query, its matches before the arrays, after)
    (lambda q: q.where_equals("level", 1000), ["a", "d"], ["a", "d", "f", "g"]),
    (lambda q: q.where_in("level", [3, "1000"]), ["b", "c"], ["b", "c", "f", "h"]),
    (lambda q: q.where_greater_than("level", 999), ["a", "d"], ["a", "d", "f", "g"]),
    (lambda q: q.where_between("level", 2, 4), ["b"], ["b", "f"]),
    (lambda q: q.where_starts_with("level", "10"), ["c"], ["c", "h"]),
    (lambda q: q.where_not_equals("level", 1000), ["b", "c", "e"], ["b", "c", "e", "h", "i"]),
]


@pytest.mark.parametrize(("build", "before", "after"), _LEVEL_QUERIES)
def test_arrays_written_after_an_index_are_found(
    store: DocumentStore, build: Any, before: list[str], after: list[str]
) -> None:
    _seeded(store, LEVELS)

    def names(session: Any, **extra: Any) -> list[str]:
        query = build(session.query(collection_name="staff"))
        if extra.get("ordered"):
            paged = query.order_by_descending("name").take(20)  # ORDER BY, and a count
            return [d["name"] for d in paged][::-1]
        return sorted(d["name"] for d in query)

    with store.open_session() as session:
        assert names(session) == before
        assert names(session, ordered=True) == before
    _seeded(store, LATER)
    with store.open_session() as session:  # the same query shapes, compiled before
        assert names(session) == after
        assert names(session, ordered=True) == after
        session.load("staff/7")["level"] = 1000  # an array replaced by a scalar
        session.save_changes()
    with store.open_session() as session:
        assert names(session) == after
        found = build(session.query(collection_name="staff")).to_list()  # keys order
        assert [session.advanced.get_document_id(d) for d in found] == sorted(
            f"staff/{'abcdefghi'.index(name) + 1}" for name in after
        )


@pytest.mark.rookdb_requires("shared_in_process")
def test_arrays_written_by_another_store_are_found(new_store: Any) -> None:
    first, second = new_store(), new_store()  # two stores on one directory
    _seeded(first, LEVELS)
    with first.open_session() as session:  # the index, and first's compiled shape
        found = session.query(collection_name="staff").where_equals("level", 1000).to_list()
        assert len(found) == 2
    _seeded(second, {"staff/6": LATER["staff/6"]})
    with first.open_session() as session:
        found = session.query(collection_name="staff").where_equals("level", 1000).to_list()
        assert sorted(d["name"] for d in found) == ["a", "d", "f"]
