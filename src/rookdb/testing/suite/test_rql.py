"""RQL (SPEC Q3): the parser, the printer, raw queries, round trips and a 20,000-input fuzz."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rookdb import DocumentStore, QueryError
from rookdb.fulltext import tokenize
from rookdb.query import (
    ORDERINGS,
    And,
    Between,
    Compare,
    ContainsAll,
    EndsWith,
    Equals,
    Exists,
    In,
    Not,
    Or,
    OrderBy,
    Predicate,
    Query,
    Regex,
    Search,
    SearchOperator,
    StartsWith,
)
from rookdb.rql import parse
from rookdb.rql import tokenize as rql_tokens
from rookdb.rql_printer import print_query
from rookdb.testing.suite.models import Employee


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("from E where a = 1", Equals("a", 1)),
        ("from E where a == 'x'", Equals("a", "x")),
        ('from E where a = "x\\"y"', Equals("a", 'x"y')),
        ("from E where a = 'it\\'s'", Equals("a", "it's")),
        ("from E where a = '\\u00e9\\n'", Equals("a", "é\n")),
        ("from E where a != null", Not(Equals("a", None))),
        ("from E where a <> true", Not(Equals("a", True))),
        ("from E where a.b > -2.5", Compare("a.b", ">", -2.5)),
        ("from E where lines[].p <= 'z'", Compare("lines[].p", "<=", "z")),
        ("from E where a in (1, 'b', null)", In("a", (1, "b", None))),
        ("from E where a in ()", In("a", ())),
        ("from E where a all in (1, 2)", ContainsAll("a", (1, 2))),
        ("from E where a between 1 and 3e2", Between("a", 1, 300.0)),
        ("from E where startsWith(a, 'x')", StartsWith("a", "x")),
        ("from E where ENDSWITH(a, 'x')", EndsWith("a", "x")),
        ("from E where exists(a.b)", Exists("a.b")),
        ("from E where regex(a, '^x+$')", Regex("a", "^x+$")),
        ("from E where not a = 1 and b = 2", And((Not(Equals("a", 1)), Equals("b", 2)))),
        (
            "from E where a = 1 or b = 2 and c = 3",
            Or((Equals("a", 1), And((Equals("b", 2), Equals("c", 3))))),
        ),
        (
            "from E where (a = 1 or b = 2) and c = 3",
            And((Or((Equals("a", 1), Equals("b", 2))), Equals("c", 3))),
        ),
        ('from E where "from" = 1', Equals("from", 1)),  # a keyword as a quoted field
    ],
)
def test_where_clauses(text: str, where: Predicate) -> None:
    assert parse(text).where == where


def test_the_rest_of_a_query() -> None:
    query = parse(
        "FROM Employees WHERE a = $x ORDER BY age AS long DESC, name asc, b as string, "
        "c AS alphaNumeric descending NULLS LAST, d ascending nulls first "
        "INCLUDE manager, lines[].product LIMIT 10 OFFSET 20",
        {"x": "y"},
    )
    assert query == Query(
        "Employees",
        Equals("a", "y"),
        (
            OrderBy("age", True, "long"),
            OrderBy("name"),
            OrderBy("b", False, "string"),
            OrderBy("c", True, "alphanumeric", "last"),
            OrderBy("d", False, None, "first"),
        ),
        20,
        10,
        ("manager", "lines[].product"),
    )
    assert parse("from E limit 5, 10") == Query("E", skip=5, take=10)
    assert parse("from E offset 3") == Query("E", skip=3)
    assert parse("from @all_docs") == Query(None)
    assert parse('from "My Things"') == Query("My Things")


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("from", 1, 5),
        ("from E where", 1, 13),
        ("from E where a =", 1, 17),
        ("from E\nwhere a = 1 and", 2, 16),
        ("from E where a ~ 1", 1, 16),
        ("from E where a = 'unterminated", 1, 18),
        ("from E where a = $missing", 1, 18),
        ("from E where a between 1 and 'z'", 1, 30),
        ("from E where regex(a, '[')", 1, 23),
        ("from E where a = 1 trailing", 1, 20),
        ("from E where a.b..c = 1", 1, 17),
        ("from E order by lines[].p", 1, 17),
        ("from E limit -1", 1, 14),
        ("from index Orders", 1, 12),
        ("select a", 1, 1),
        ("from E where a = 99999999999999999999", 1, 18),
        ("from E where a between 1 and 99999999999999999999", 1, 30),
        ("from E where a > $v", 1, 18),  # $v: 2**63
    ],
)
def test_malformed_rql_says_where(text: str, line: int, column: int) -> None:
    with pytest.raises(QueryError) as raised:
        parse(text, {"v": 2**63})
    error = raised.value
    assert (error.line, error.column) == (line, column), str(error)
    assert str(error).count(" at line ") == 1 and f"line {line}, column {column}" in str(error)
    assert error.position is not None


def test_from_index_names_the_index() -> None:
    assert parse("from index 'Orders/Totals' where Total > 1") == Query(
        where=Compare("Total", ">", 1), index_name="Orders/Totals"
    )


def test_parameters_must_be_json_scalars() -> None:
    for bad in ([1], {"a": 1}, float("nan"), object(), 2**63, -(2**63) - 1):
        with pytest.raises(QueryError):
            parse("from E where a = $v", {"v": bad})


def test_raw_query_in_a_session(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Employee("Robert", "King"), "employees/1")
        session.store(Employee("Nancy", "Davolio"), "employees/2")
        session.save_changes()
    with store.open_session() as session:
        tracked = session.load("employees/1", Employee)
        robert = (
            session.advanced.raw_query("from Employees where first_name = $name", Employee)
            .add_parameter("name", "Robert")
            .first()
        )
        assert robert is tracked  # through the identity map, like any query
        query = session.advanced.raw_query(
            "from Employees where startsWith(last_name, $p) order by first_name", Employee
        ).add_parameter("$p", "")
        assert [e.first_name for e in query] == ["Nancy", "Robert"]
        assert query.count() == 2
    with store.open_session() as session:
        untracked = (
            session.advanced.raw_query("from Employees where last_name = 'Davolio'", Employee)
            .no_tracking()
            .single()
        )
        assert not session.advanced.is_loaded("employees/2") and untracked.first_name == "Nancy"
        with pytest.raises(QueryError):
            session.advanced.raw_query("from Employees where").first()


def test_the_builder_and_rql_make_the_same_ast(store: DocumentStore) -> None:
    with store.open_session() as session:
        built = (
            session.query(collection_name="Employees")
            .where_equals("a", 1)
            .or_else()
            .open_subclause()
            .where_greater_than("b", 2)
            .where_in("c", ["x"])
            .close_subclause()
            .order_by_descending("b", "long")
            .take(5)
            .to_query()
        )
    assert built == parse(
        "from Employees where a = 1 or (b > 2 and c in ('x')) order by b as long desc limit 5"
    )


# -- properties --------------------------------------------------------------------------------

_name = st.sampled_from(["a", "b", "first_name", "x-y", "@meta", "from", "and", "In", "1st", "é"])
fields = st.builds(
    lambda parts, arrays: ".".join(
        p + ("[]" if a else "") for p, a in zip(parts, arrays, strict=False)
    ),
    st.lists(_name, min_size=1, max_size=3),
    st.lists(st.booleans(), min_size=3, max_size=3),
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=("Cs",)), max_size=8)
)
orderables = st.integers(-1000, 1000) | st.floats(-1e6, 1e6) | st.text(max_size=5)
strings = st.text(st.characters(exclude_categories=("Cs",)), max_size=8)


def _leaf() -> st.SearchStrategy[Predicate]:
    return st.one_of(
        st.builds(Equals, fields, scalars),
        st.builds(Compare, fields, st.sampled_from(["<", "<=", ">", ">="]), orderables),
        st.builds(Between, fields, st.integers(-5, 5), st.integers(-5, 5)),
        st.builds(Between, fields, strings, strings),
        st.builds(In, fields, st.lists(scalars, max_size=3).map(tuple)),
        st.builds(ContainsAll, fields, st.lists(scalars, max_size=3).map(tuple)),
        st.builds(StartsWith, fields, strings),
        st.builds(EndsWith, fields, strings),
        st.builds(Exists, fields),
        st.builds(Regex, fields, st.sampled_from(["^a", "b$", "x|y", "", "\\d+"])),
        st.builds(
            Search,
            fields,
            st.text(min_size=1, max_size=12)
            .map(lambda t: tuple(dict.fromkeys(tokenize(t))))
            .filter(bool),
            st.sampled_from(list(SearchOperator)),
        ),
    )


predicates = st.recursive(
    _leaf(),
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.builds(And, st.lists(inner, min_size=2, max_size=3).map(tuple)),
        st.builds(Or, st.lists(inner, min_size=2, max_size=3).map(tuple)),
    ),
    max_leaves=8,
)
plain_fields = fields.filter(lambda f: "[]" not in f)
queries = st.builds(
    Query,
    st.none() | st.sampled_from(["Employees", "my-things", "From", "Odd Name", 'x"y']),
    st.none() | predicates,
    st.lists(
        st.builds(
            OrderBy,
            plain_fields,
            st.booleans(),
            st.sampled_from(ORDERINGS),
            st.sampled_from([None, "first", "last"]),
        ),
        max_size=2,
    ).map(tuple),
    st.integers(0, 100),
    st.none() | st.integers(0, 100),
    st.lists(fields, max_size=2).map(tuple),
    st.lists(fields, max_size=2).map(tuple),
    st.booleans(),
).map(lambda q: dataclasses.replace(q, distinct=q.distinct and bool(q.select)))  # only with select


@settings(max_examples=500, deadline=None)
@given(query=queries)
def test_print_then_parse_gives_the_same_ast(query: Query) -> None:
    text, parameters = print_query(query)
    assert parse(text, parameters) == query
    assert all(f"${name}" in text for name in parameters)


VALID = [
    "from Employees where first_name = $name and age > 3 order by age desc limit 2",
    "from E where startsWith(a, 'x') or not (b in (1, 2) and exists(c.d))",
    "from E where lines[].p between 'a' and 'z' include manager offset 3",
]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.integers(0, 2))
        piece = draw(st.text(max_size=3) | st.sampled_from(["(", ")", "'", '"', "$", "\\", "and"]))
        if action == 0:
            text = text[:position] + piece + text[position:]
        elif action == 1:
            text = text[:position] + text[position + len(piece) :]
        else:
            text = text[:position] + piece + text[position + 1 :]
    return text


@settings(
    max_examples=20_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(text=st.text(max_size=60) | mutated(), name=st.text(max_size=3), value=scalars)
def test_fuzz_only_query_errors(text: str, name: str, value: Any) -> None:
    try:
        query = parse(text, {"name": value, name: value})
    except QueryError as error:
        assert error.position is not None and 0 <= error.position <= len(text)
        return
    text2, parameters = print_query(query)
    assert parse(text2, parameters) == query


def test_tokens_cover_the_text() -> None:
    tokens = rql_tokens("from E where a.b[] >= -1.5e3 and x = $p")
    assert [t.kind for t in tokens] == [
        "name", "name", "name", "name", "op", "number", "name", "name", "op", "param", "end",
    ]  # fmt: skip
