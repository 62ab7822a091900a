"""The alphanumeric sort key (``rookdb.alphanumeric``): its plain code-point order is RavenDB's
alphanumeric comparison, and PostgreSQL's SQL builds the very same key text as the Python
function SQLite calls, so that every backend sorts alike on any string."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rookdb.alphanumeric import alphanumeric_key, postgres_key
from rookdb.testing.backends import BACKENDS, postgres_url
from rookdb.testing.suite.test_rql_ordering_and_aliases import ravendb_alphanumeric

# Digits, letters of both cases, non-ASCII letters, separators and the control character the
# key escapes: what makes runs, ties and prefixes.
texts = st.text(alphabet="0019aAbBzZ\u00e9\u00c9\u4e2d _.-\x01\x02", max_size=12)


def _sign(number: int) -> int:
    return (number > 0) - (number < 0)


def _key(text: str) -> str:
    key = alphanumeric_key(text)
    assert key is not None
    return key


@settings(max_examples=2000, deadline=None)
@given(left=texts, right=texts)
def test_the_key_orders_as_ravendb_compares(left: str, right: str) -> None:
    a, b = _key(left), _key(right)
    assert _sign((a > b) - (a < b)) == _sign(ravendb_alphanumeric(left, right))


@settings(max_examples=300, deadline=None)
@given(values=st.lists(texts, max_size=20))
def test_sorting_by_the_key_is_sorting_by_the_comparison(values: list[str]) -> None:
    by_key = sorted(values, key=_key)
    by_rule = sorted(values, key=functools.cmp_to_key(ravendb_alphanumeric))
    assert [_key(v) for v in by_key] == [_key(v) for v in by_rule]  # equal up to ties


def test_only_strings_have_a_key() -> None:
    assert [alphanumeric_key(v) for v in (None, 1, 1.5, True, ["a"])] == [None] * 5
    assert alphanumeric_key("") == ""
    assert _key("a007") == _key("a7") == _key("A7")
    assert _key("a2") < _key("a10") < _key("b") and _key("9") < _key("a")


@pytest.fixture(scope="module")
def postgres() -> Iterator[psycopg.Connection[Any]]:
    BACKENDS["postgres"].require()
    with psycopg.connect(postgres_url(), autocommit=True) as conn:
        yield conn


@settings(max_examples=50, deadline=None)
@given(values=st.lists(texts, min_size=1, max_size=40))
def test_postgres_builds_the_same_key(postgres: psycopg.Connection[Any], values: list[str]) -> None:
    sql = (
        f"SELECT {postgres_key('v')} FROM unnest(%s::text[]) WITH ORDINALITY AS t(v, n) ORDER BY n"
    )
    keys = [row[0] for row in postgres.execute(sql, (values,))]
    assert keys == [_key(v) for v in values]
    assert postgres.execute(f"SELECT {postgres_key('NULL::text')}").fetchone() == (None,)
