"""Error messages show a caller's value cut short (``rookdb.errors.shown``), never whole.

``repr`` of a value nested 1,000 levels deep raises ``RecursionError`` in place of the error
meant, and ``repr`` of a 10 MB string repeats it whole in the message. The first part scans
rookdb's source for ``!r`` and ``!a``, ``repr()`` and ``ascii()``, ``%r`` (with ``%``, or in
the string a call is given first: logging's) and ``{!r}`` of ``str.format``, so that no new
message shows a value with them: everywhere but ``__repr__`` methods, since a message is often
put together before its ``raise`` (a ``where``, a helper's return). The second gives public
entry points such values and reads the errors they raise.

What the scan cannot see: a value interpolated plain, ``f"{name}"`` (str, not repr), which
is not cut either. There are hundreds, most of a value rookdb checked first (an id, a name by
its rule) or made; where one was a caller's value unchecked (an attachment's name in RavenDB's
messages, a name in a query or an index's source, an expected change vector, a multi_get
item's URL), it is checked first or shown with ``shown``, and a test below gives it a long
value. A new plain interpolation of a caller's value passes the scan: only such a test finds it.
"""

from __future__ import annotations

import ast
import functools
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import rookdb
from rookdb import DocumentStore, RookError, index_operations, transfer
from rookdb.errors import shown
from rookdb.facets import Facet
from rookdb.ids import validate_id
from rookdb.indexes import IndexDefinition
from rookdb.operations import (
    GetIndexStatisticsOperation,
    PutIndexesOperation,
    SeedIdentityForOperation,
)
from rookdb.protocol_batches import _track_changes
from rookdb.revisions import ForceRevisionStrategy
from rookdb.server.studio.indexes import _index_name
from rookdb.storage.http_transport import _decode

SOURCE = Path(rookdb.__file__).parent

# -- the source scan ----------------------------------------------------------------------------

#: The ``!r``, ``repr()`` and ``%r`` that stay, by (module, function, expression; for a call
#: given ``%r``, its string): each shows a value that is rookdb's own, or bounded (checked
#: against a limit first), or is not a message. Anything else uses ``shown``.
_DB = "a database name: checked, at most 128 characters"
_INDEX = "an index name, checked (256 characters) before it is stored"
_PATH = "a field path, checked (512 bytes) before an index is made for it"
ALLOWED = {
    ("by_query.py", "_script", "n"): "JavaScript source (args['name']), not a message",
    ("demo.py", "run", "DATABASE"): "the demo prints its own database's name",
    ("demo.py", "run", "robert.title"): "the demo prints its own documents",
    ("demo.py", "run", "change.field_old_value"): "the demo prints its own documents",
    ("demo.py", "run", "change.field_new_value"): "the demo prints its own documents",
    ("rql_terms.py", "expect_keyword", "word"): "the RQL parser's own keyword",
    ("rql_terms.py", "expect_op", "text"): "the RQL parser's own operator",
    ("indexes/linq_parser.py", "expect_op", "op"): "the LINQ parser's own operator",
    ("storage/postgres/indexes.py", "upgrade", "name"): "a PostgreSQL index rookdb named",
    ("errors.py", "repr_str", "repr(x)"): "shown itself: a str of at most limit characters",
    ("errors.py", "repr_str", "x[:self.limit]"): "shown itself: a str cut to limit characters",
    ("errors.py", "repr_bytes", "repr(x)"): "shown itself: bytes of at most limit characters",
    ("errors.py", "repr_bytes", "x[:self.limit]"): "shown itself: bytes cut to limit characters",
    ("serialization/exact_numbers.py", "_fraction", "repr(value)"): "a float's digits",
    ("serialization/scalars.py", "encode_decimal", "repr(float(value))"): "a float's digits",
    ("serialization/scalars.py", "decode_decimal", "repr(value)"): "a float's digits",
    ("storage/sqlite/storage.py", "_where", "repr(query.where)"): "a cache key, not a message",
    ("storage/sqlite/storage.py", "_arms", "repr(query.where)"): "a cache key, not a message",
    # Logged, %r formatted by logging: bounded values.
    (
        "server/indexes.py",
        "_build",
        "'building the indexes of %r stopped: the database was deleted'",
    ): _DB,
    ("server/indexes.py", "_build", "'building the indexes of %r stopped; they stay stale'"): _DB,
    ("storage/postgres/storage.py", "_initialize", "'database %r: the automatic index %r: %s'"): (
        f"{_DB}; an automatic index's name, rookdb's"
    ),
    (
        "storage/postgres/writes.py",
        "_retried",
        "'database %r: batch retried (%d of %d) after %s: %s'",
    ): _DB,
    (
        "storage/relational/auto_indexes.py",
        "log_made",
        "'made the automatic index (%s) on %s field %r in database %r'",
    ): f"{_PATH}; {_DB}",
    (
        "storage/relational/index_registry.py",
        "_record_errors",
        "'index %r failed on %s: %s'",
    ): _INDEX,
    (
        "storage/relational/index_management.py",
        "_build",
        "'index %r of %r built: %d documents in %.1f s'",
    ): f"{_INDEX}; {_DB}",
    (
        "storage/relational/index_management.py",
        "_build",
        "'index %r of %r: %d documents mapped'",
    ): f"{_INDEX}; {_DB}",
    (
        "storage/relational/index_query.py",
        "_make_entry_indexes",
        "'made the index of field %r of the entries of index %d in database %r'",
    ): f"{_PATH}; {_DB}",
    (
        "storage/sqlite/indexes.py",
        "repair",
        "'dropped the automatic index %r of field %r in database %r, a copy of %r'",
    ): f"{_PATH}; {_DB}; the indexes' names, rookdb's",
    (
        "storage/sqlite/indexes.py",
        "repair",
        "'made the missing automatic index (expression) of field %r in database %r'",
    ): f"{_PATH}; {_DB}",
}


#: ``!r`` or ``!a`` in a replacement field of ``str.format``: ``{!r}``, ``{0!a:>9}``.
_FORMAT_REPR = re.compile(r"\{[^{}!]*![ra][:}]")


def _text(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and type(node.value) is str else None


def unshown(source: str) -> Iterator[tuple[str, str]]:
    """Each (function, expression) of ``source`` that shows a value with ``!r`` or ``!a``,
    ``repr()`` or ``ascii()``, ``%r`` (formatted with ``%``, or by the call given the string
    first: logging's), or ``{!r}`` of ``str.format``; outside ``__repr__`` methods (a repr is
    not an error message). The expression of a call given ``%r`` is the string."""
    tree = ast.parse(source)

    def visit(node: ast.AST, function: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if node.name == "__repr__":
                return
            function = node.name
        if isinstance(node, ast.FormattedValue) and node.conversion in (ord("r"), ord("a")):
            yield function, ast.unparse(node.value)
        elif isinstance(node, ast.Call):
            first = _text(node.args[0]) if node.args else None
            formatted = _text(node.func.value) if isinstance(node.func, ast.Attribute) else None
            if isinstance(node.func, ast.Name) and node.func.id in ("repr", "ascii"):
                yield function, ast.unparse(node)
            elif first is not None and "%r" in first:  # log.info("... %r", value)
                yield function, ast.unparse(node.args[0])
            elif (
                formatted is not None
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "format"
                and _FORMAT_REPR.search(formatted)
            ):
                yield function, ast.unparse(node)
        elif (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Mod)
            and "%r" in (_text(node.left) or "")
        ):
            yield function, ast.unparse(node)
        for child in ast.iter_child_nodes(node):
            yield from visit(child, function)

    return visit(tree, "")


@functools.cache
def _found() -> frozenset[tuple[str, str, str]]:
    """What ``unshown`` finds in rookdb, parsed once for the tests that ask."""
    found = set()
    for path in sorted(SOURCE.rglob("*.py")):
        module = path.relative_to(SOURCE).as_posix()
        if module.startswith("testing/suite/"):  # tests, which build no messages of rookdb's
            continue
        for function, expression in unshown(path.read_text(encoding="utf-8")):
            found.add((module, function, expression))
    return frozenset(found)


def test_messages_show_values_with_shown_not_repr() -> None:
    unexplained = sorted(_found() - ALLOWED.keys())
    assert not unexplained, (
        "show a caller's value with rookdb.errors.shown(value), not !r, !a, repr(), ascii() or "
        "%r (or, for a value that is rookdb's own, or bounded, or not a message, add it to "
        f"ALLOWED with the reason): {unexplained}"
    )


def test_every_allowed_site_is_still_there() -> None:
    gone = sorted(ALLOWED.keys() - _found())
    assert not gone, f"remove these from ALLOWED: {gone}"


@pytest.mark.parametrize(
    ("source", "expression"),
    [
        ("raise ValueError(f'not {x!r}')", "x"),
        ("where = f'document {x!r}'", "x"),  # a part of a message, made before the raise
        ("raise ValueError('not ' + repr(x))", "repr(x)"),
        ("raise ValueError('not %r' % (x,))", "'not %r' % (x,)"),
        ("raise ValueError(f'not {x!a}')", "x"),
        ("raise ValueError('not ' + ascii(x))", "ascii(x)"),
        ("log.warning('no document %r', x)", "'no document %r'"),  # logging formats it later
        ("raise ValueError('not {!r}'.format(x))", "'not {!r}'.format(x)"),
        ("raise ValueError('not {0!a:>9}'.format(x))", "'not {0!a:>9}'.format(x)"),
    ],
)
def test_the_scan_finds_a_value_shown_whole(source: str, expression: str) -> None:
    assert list(unshown(f"def check(x):\n    {source}\n")) == [("check", expression)]


def test_the_scan_passes_shown_and_reprs() -> None:
    source = (
        "def check(x):\n    raise ValueError(f'not {shown(x)}')\n"
        "def log_it(x):\n    log.info('no document %s', shown(x))\n"
        "def when(t):\n    return t.strftime('%a, %d %b %Y')\n"
        "def fmt(x):\n    return 'not {!s}'.format(x)\n"
        "class A:\n    def __repr__(self):\n        return f'A({self.x!r})'\n"
    )
    assert list(unshown(source)) == []


# -- the entry points ---------------------------------------------------------------------------


def _nested(depth: int) -> list[Any]:
    """A list nested ``depth`` levels: ``repr`` of it passes Python's recursion limit."""
    top: list[Any] = []
    inner = top
    for _ in range(depth):
        inner.append([])
        inner = inner[0]
    return top


@functools.cache
def _deep() -> list[Any]:
    return _nested(5000)


@functools.cache
def _huge() -> str:
    """10 MB, and no valid path, name or number ("!"): refused wherever it goes."""
    return "x" * 10_000_000 + "!"


@functools.cache
def _wide_keys() -> dict[str, Any]:
    """Three levels of six keys of 1,000 characters: its repr cut a key at a time was
    6,588 characters."""
    return _wide()


#: Each made when a test first asks for it, not when the module is imported.
VALUES = [
    pytest.param(_deep, id="5000-levels"),
    pytest.param(_huge, id="10-MB-string"),
    pytest.param(_wide_keys, id="wide-dict"),
]

#: The most characters an error message here may have.
SHORT = 1000


def _in_session(action: Callable[[Any, Any], object]) -> Callable[[DocumentStore, Any], None]:
    def run(store: DocumentStore, value: Any) -> None:
        with store.open_session() as session:
            action(session, value)
            session.save_changes()

    return run


def _docs(session: Any) -> Any:
    return session.query(collection_name="Docs")


def _deleted(session: Any) -> Any:
    session.delete("docs/1")
    return session


_FIELD = "invalid field name|field path"
#: Each entry point, and what its error says (a regular expression) of every value given: a
#: case cannot pass on an error that has nothing to do with the value.
ENTRY_POINTS: dict[str, tuple[Callable[[DocumentStore, Any], None], str]] = {
    "patch-path": (
        _in_session(lambda s, v: s.advanced.patch("docs/1", v, 1)),
        "a patch path is field names",
    ),
    "increment-delta": (
        _in_session(lambda s, v: s.advanced.increment("docs/1", "count", v)),
        "an increment is a 64-bit int or a finite float",
    ),
    "attachment-name": (
        _in_session(lambda s, v: s.advanced.attachments.store("docs/1", v, b"1")),
        "an attachment's name",
    ),
    # Refused before RavenDB's messages, which show the name plain ({name}), are made.
    "attachment-name-deleted-document": (
        _in_session(lambda s, v: _deleted(s).advanced.attachments.store("docs/1", v, b"1")),
        "an attachment's name",
    ),
    "attachment-rename-deleted-document": (
        _in_session(lambda s, v: _deleted(s).advanced.attachments.rename("docs/1", "a", v)),
        "an attachment's destination name",
    ),
    "counter-delta": (
        _in_session(lambda s, v: s.counters_for("docs/1").increment("likes", v)),
        "the delta of counter 'likes' is a 64-bit integer",
    ),
    "counter-name": (
        _in_session(lambda s, v: s.counters_for("docs/1").increment(v)),
        "a counter name is a non-empty string",
    ),
    "revision-strategy": (
        _in_session(lambda s, v: s.advanced.revisions.force_revision_creation_for("docs/1", v)),
        "a strategy is a ForceRevisionStrategy",
    ),
    "load-id": (_in_session(lambda s, v: s.load(v)), "document id is"),
    "query-field": (_in_session(lambda s, v: _docs(s).where_equals(v, 1).to_list()), _FIELD),
    "query-order": (_in_session(lambda s, v: _docs(s).order_by(v).to_list()), _FIELD),
    "raw-query": (
        _in_session(lambda s, v: s.advanced.raw_query(v).to_list()),
        "an RQL query is a str|a name is at most 512 characters, not 'xxx",
    ),
    "facet-field": (
        _in_session(lambda s, v: _docs(s).aggregate_by(Facet(v)).execute()),
        "a Facet names its field|field path",
    ),
    "facet-setup": (
        _in_session(lambda s, v: _docs(s).aggregate_using(v).execute()),
        "takes the FacetSetup document's id|facet setup 'x+'... \\(10,000,001 characters\\) does",
    ),
    "index-name": (
        lambda store, v: store.maintenance.send(
            PutIndexesOperation(IndexDefinition(name=v, maps={"from d in docs select new { d.a }"}))
        ),
        # Through http: the server's words, or, 5,000 levels deep, orjson's before it is sent.
        "an index needs a name|an index name is at most 256 characters"
        "|an index definition's Name is a str|an index definition is not JSON: Recursion limit",
    ),
    "identity-seed": (
        lambda store, v: store.maintenance.send(SeedIdentityForOperation("docs", v)),
        "an identity's value is an int from 0",
    ),
}


@pytest.fixture
def docs(store: DocumentStore) -> DocumentStore:
    with store.open_session() as session:
        session.store({"count": 1, "name": "one"}, "docs/1")
        session.save_changes()
    return store


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_a_bad_value_is_a_rookdb_error_with_a_short_message(
    docs: DocumentStore, entry_point: str, value: Callable[[], Any]
) -> None:
    run, expected = ENTRY_POINTS[entry_point]
    with pytest.raises(RookError) as raised:
        run(docs, value())
    message = str(raised.value)
    assert re.search(expected, message) and len(message) < SHORT, message[:SHORT]


def _counters_line(counters: str) -> bytes:
    return b'{"@counters": {"Id": "docs/1", "Counters": {' + counters.encode() + b"}}}\n"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # A JSON line nests at most 1,024 levels (orjson's limit): deep enough for repr.
        pytest.param(
            lambda: _counters_line('"likes": ' + "[" * 1000 + "]" * 1000),
            "counter 'likes' has the value [[[[...]]]], not an int",
            id="1000-levels",
        ),
        pytest.param(
            lambda: _counters_line(f'"likes": "{_huge()}"'),
            "counter 'likes' has the value 'xxx",
            id="10-MB-value",
        ),
        pytest.param(
            lambda: _counters_line(f'"{_huge()}": 1'),
            "a counter name is a non-empty string",
            id="10-MB-name",
        ),
    ],
)
def test_an_import_line_of_a_bad_value_is_an_import_file_error_with_a_short_message(
    line: Callable[[], bytes], expected: str
) -> None:
    with pytest.raises(transfer.ImportFileError) as raised:
        transfer.check_file(io.BytesIO(line()))
    message = str(raised.value)
    assert expected in message and len(message) < SHORT, message[:SHORT]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("docs/1", "'docs/1'"),  # a str under 80 characters: its repr
        (_nested(5000), "[[[[...]]]]"),
        (10**5000, "<an int of 16610 bits>"),  # repr refuses an int past 4,300 digits
        ([2**300], "[<an int of 301 bits>]"),
        (-(2**300), "<a negative int of 301 bits>"),  # not the size of 2**300
        (10**50, "1" + "0" * 50),  # whole: not cut in the middle, like 10**77
        (-(2**256) + 1, str(-(2**256) + 1)),  # the longest int shown whole: 79 characters
        (2**256, "<an int of 257 bits>"),
        (ForceRevisionStrategy.BEFORE, repr(ForceRevisionStrategy.BEFORE)),
    ],
    ids=[
        "short-str",
        "deep",
        "huge-int",
        "huge-int-inside",
        "huge-negative-int",
        "int-of-51-digits",
        "longest-int-whole",
        "shortest-int-by-size",
        "enum",
    ],
)
def test_shown(value: object, expected: str) -> None:
    assert shown(value) == expected


def test_shown_cuts_a_long_str_after_its_head_and_says_how_long_it_was() -> None:
    # Not the head and the tail of the str as if they were one: what was cut is said.
    assert shown("x" * 10_000_000 + "!") == "'" + "x" * 50 + "'... (10,000,001 characters)"
    assert shown(b"<html>" + b"x" * 994) == "b'<html>" + "x" * 44 + "'... (1,000 bytes)"
    assert shown("x" * 50) == repr("x" * 50)  # at the limit: whole


def _wide(width: int = 1000) -> dict[str, Any]:
    """A dict of dicts of dicts, six keys of ``width`` characters each level."""
    return {
        f"{i}{'k' * width}": {f"{j}{'j' * width}": {"i" * width: 1} for j in range(6)}
        for i in range(6)
    }


def test_shown_is_at_most_202_characters_for_any_value() -> None:
    # Each key cut short, but six of them a level, of six each: 6,588 characters before.
    cut = shown(_wide())
    assert len(cut) == 202 and cut.startswith("{'0kkk") and cut.endswith("...")
    assert len(shown([["x" * 50] * 6] * 6)) == 202


def test_shown_with_a_limit_shows_a_value_checked_against_it_whole() -> None:
    # An id of 512 characters, control characters at that (each shown as four): whole.
    for document_id in ("a" * 512, "\x01" * 512, "\\" * 512):
        assert shown(document_id, limit=512) == repr(document_id)
    assert shown("a" * 513, limit=512) == repr("a" * 512) + "... (513 characters)"


# -- values shown whole, not a slice of them ----------------------------------------------------
# shown(text[:100]) showed the head and the tail of the slice as if they were the value's.


def _id_message(document_id: str) -> str:
    with pytest.raises(rookdb.InvalidIdError) as raised:
        validate_id(document_id)
    return str(raised.value)


def test_an_id_starting_with_a_slash_is_shown_whole() -> None:
    document_id = "/" + "a" * 300 + "z"  # of 512 bytes at most: checked, and shown whole
    assert f"document id {document_id!r} starts with '/'" in _id_message(document_id)


def test_an_id_holding_a_nul_is_shown_whole() -> None:
    document_id = "a" * 300 + "\x00"  # the NUL too, past the 100 characters of a slice
    assert f"{document_id!r} holds a NUL character" in _id_message(document_id)


def test_a_long_id_holding_a_lone_surrogate_is_shown_by_its_length() -> None:
    # Past the limit, it is refused by its length before it is read through (not shown).
    message = _id_message("a" * 10_000 + "\ud800")
    assert message == "document id is 10001 characters; the limit is 512 bytes of UTF-8"


def test_an_index_name_too_long_is_shown_by_its_head_and_length() -> None:
    class Request:  # as much of starlette's as the page reads
        query_params = {"name": "Orders/" + "x" * 10_000}

    with pytest.raises(rookdb.RookError) as raised:
        _index_name(Request())  # type: ignore[arg-type]
    assert str(raised.value) == "there is no index " + shown("Orders/" + "x" * 10_000)
    assert str(raised.value).endswith("... (10,007 characters)")


def test_an_answer_that_is_not_json_is_shown_by_its_first_200_characters() -> None:
    body = b"<html><title>502 Bad Gateway</title>" + b"." * 10_000
    with pytest.raises(rookdb.errors.ProtocolError) as raised:
        _decode(httpx.Response(502, content=body))
    message = str(raised.value)
    assert "HTTP 502" in message and message.endswith(f"{body[:200]!r}... (10,036 bytes)")


def test_an_import_line_of_an_unknown_kind_is_shown_by_its_head_and_length() -> None:
    kind = "@" + "x" * 10_000  # it was cut to 40 characters first, saying nothing of the rest
    with pytest.raises(transfer.ImportFileError) as raised:
        transfer.check_file(io.BytesIO(b'{"%s": {}}\n' % kind.encode()))
    assert f"unknown kind {shown(kind)}" in str(raised.value)
    assert "(10,001 characters)" in str(raised.value)


# -- names in query and index source ------------------------------------------------------------
# The parsers' messages name what they refuse plain ({token.text}() is not supported ...): a name
# is refused past the longest a field path may be, before any message shows it.


@functools.cache
def _long_name() -> str:
    """What NAME stands for in a query or an index's source: 1,000,000 characters."""
    return "x" * 1_000_000


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("from Docs where NAME(1)", "a name is at most 512", id="call-in-where"),
        pytest.param("from Docs where a = $NAME", "a parameter is at most", id="parameter"),
        pytest.param("from Docs as NAME where NAME = 1", "a name is at most 512", id="alias"),
        pytest.param(
            "from Docs as NAME select NAME, a", "a name is at most 512", id="alias-select"
        ),
        pytest.param("from Docs where a = NAME()", "a name is at most 512", id="value-call"),
        pytest.param("from Docs group by NAME(a)", "a name is at most 512", id="group-by-call"),
        pytest.param("from Docs select NAME(a)", "a name is at most 512", id="select-call"),
        pytest.param("from Docs order by NAME(a)", "a name is at most 512", id="order-call"),
        pytest.param("from Docs include NAME(a)", "a name is at most 512", id="include-call"),
        pytest.param("from Docs where NAME = 1", "a name is at most 512", id="field"),
    ],
)
def test_a_query_naming_something_at_length_is_refused_shortly(
    store: DocumentStore, query: str, expected: str
) -> None:
    with pytest.raises(rookdb.QueryError) as raised, store.open_session() as session:
        session.advanced.raw_query(query.replace("NAME", _long_name())).to_list()
    message = str(raised.value)
    assert expected in message and re.search(r"\(1,000,00[01] characters\)", message), message
    assert len(message) < SHORT, message[:SHORT]


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("from d in docs select new { NAME = d.a, NAME = d.a }", id="twice"),
        pytest.param("from d in docs select new { a = d.a.NAME() }", id="method"),
        pytest.param("from d in docs select new { a = Math.NAME(1) }", id="static"),
        pytest.param("from d in docs select new { a = NAME(1) }", id="function"),
        pytest.param("from d in docs select new { a = NAME.NAME(1) }", id="static-2"),
    ],
)
def test_an_index_naming_something_at_length_is_refused_shortly(
    store: DocumentStore, source: str
) -> None:
    definition = IndexDefinition(name="Docs/A", maps={source.replace("NAME", _long_name())})
    with pytest.raises(rookdb.IndexCompilationError) as raised:
        store.maintenance.send(PutIndexesOperation(definition))
    message = str(raised.value)
    assert "an identifier" in message and "(1,000,000 characters)" in message, message[:SHORT]
    assert len(message) < SHORT, message[:SHORT]


# -- change vectors a caller expects ------------------------------------------------------------


@pytest.mark.parametrize(
    "write",
    [
        pytest.param(lambda s, cv: s.store({"a": 1}, "docs/2", change_vector=cv), id="store-new"),
        pytest.param(lambda s, cv: s.store({"a": 1}, "docs/1", change_vector=cv), id="store"),
        pytest.param(lambda s, cv: s.delete("docs/1", cv), id="delete"),
    ],
)
def test_a_long_expected_change_vector_is_a_short_concurrency_error(
    docs: DocumentStore, write: Callable[[Any, str], None]
) -> None:
    change_vector = "A:1-" + "x" * 1_000_000
    with pytest.raises(rookdb.ConcurrencyError) as raised, docs.open_session() as session:
        write(session, change_vector)
        session.save_changes()
    message = str(raised.value)
    assert "expected change vector 'A:1-xxx" in message and len(message) < SHORT, message[:SHORT]
    assert raised.value.expected == change_vector  # whole, where a program reads it


@pytest.mark.parametrize("name", ["x" * 300, "x" * 100_000], ids=["300", "100,000"])
def test_the_statistics_of_no_index_are_a_short_error(store: DocumentStore, name: str) -> None:
    with pytest.raises(rookdb.RookError) as raised:
        store.maintenance.send(GetIndexStatisticsOperation(name))
    message = str(raised.value)
    assert "xxx" in message and len(message) < SHORT, message[:SHORT]


@pytest.mark.parametrize(
    "operation",
    [
        pytest.param(index_operations.GetIndexOperation, id="get"),
        pytest.param(index_operations.DeleteIndexOperation, id="delete"),
        pytest.param(index_operations.ResetIndexOperation, id="reset"),
        pytest.param(index_operations.EnableIndexOperation, id="enable"),
    ],
)
def test_an_index_name_longer_than_a_url_holds_is_a_rookdb_error_or_no_index(
    store: DocumentStore, operation: Callable[[str], Any]
) -> None:
    # Through the http backend the name goes in the URL, which httpx refuses past 65,536
    # characters (a bare ``httpx.InvalidURL`` before); embedded, no index has such a name.
    try:
        answer = store.maintenance.send(operation("x" * 100_000))
    except rookdb.RookError as error:
        assert len(str(error)) < SHORT, str(error)[:SHORT]
    else:
        assert answer is None


# -- a value checked first is shown whole -------------------------------------------------------
# An id is at most 512 bytes (validate_id): where the message is the only place it appears, it
# is shown whole, not cut at 50 characters as what nothing checked is.

LONG_ID = "docs/" + "a" * 400 + "/z"


def test_a_long_id_another_object_holds_is_shown_whole(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store({"n": 1}, LONG_ID)
        with pytest.raises(rookdb.NonUniqueObjectError) as raised:
            session.store({"n": 2}, LONG_ID)
    assert repr(LONG_ID) in str(raised.value)


def test_a_long_id_no_longer_stored_is_shown_whole(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store({"n": 1}, LONG_ID)
        session.save_changes()
    with store.open_session() as session:
        entity = session.load(LONG_ID)
        with store.open_session() as other:
            other.delete(LONG_ID)
            other.save_changes()
        with pytest.raises(rookdb.DocumentNotFoundError) as raised:
            session.advanced.refresh(entity)
    assert repr(LONG_ID) in str(raised.value)


def test_a_long_counter_name_of_a_deleted_document_is_shown_whole(store: DocumentStore) -> None:
    name = "likes-" + "b" * 400
    with store.open_session() as session:
        entity = {"n": 1}
        session.store(entity, LONG_ID)
        session.delete(entity)
        with pytest.raises(rookdb.InvalidOperationError) as raised:
            session.counters_for(LONG_ID).increment(name)
    assert f"{name!r} of {LONG_ID!r}" in str(raised.value)


def test_a_long_attachment_name_of_no_document_is_shown_whole(store: DocumentStore) -> None:
    name = "photo-" + "c" * 400 + ".png"
    with pytest.raises(rookdb.RookError) as raised, store.open_session() as session:
        session.advanced.attachments.store(LONG_ID, name, b"1")
        session.save_changes()
    assert repr(name) in str(raised.value) and repr(LONG_ID) in str(raised.value)


def test_a_tracked_entity_whose_change_vector_is_no_str_is_named_in_the_error() -> None:
    # The label is made only when the check fails (it was made for every entity of every batch).
    with pytest.raises(rookdb.ConfigurationError) as raised:
        _track_changes({"docs/1": "A:1-x", LONG_ID: 5}, 3)
    assert (
        str(raised.value)
        == f"command 3: the change vector of {LONG_ID!r} must be a string, not int"
    )
    assert _track_changes({"docs/1": "A:1-x", "docs/2": ""}, 0).checks[1].change_vector is None
