"""``exact_numbers``: the stored text of a number, for ``Decimal`` fields and for documents
written back, held to the rule by properties (the suite's ``test_decimal_digits`` runs the
session's reads and the server's writes on every backend)."""

from __future__ import annotations

import dataclasses
import decimal
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Optional

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rookdb import DocumentStore
from rookdb.errors import SerializationError
from rookdb.patches import ArrayAdd, SetValue, apply_operations
from rookdb.serialization import exact_numbers
from rookdb.serialization.decimal_fields import decimal_keys, holds_decimals
from rookdb.serialization.entities import EntityCodec

# Number texts as writers write them: a float's shortest form, a decimal's own digits
# (trailing zeros, exponents), integers in and past 64 bits.
_decimals = st.decimals(allow_nan=False, allow_infinity=False).filter(
    lambda d: -300 < d.adjusted() < 300
)
NUMBER_TEXTS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: orjson.dumps(f).decode()),
    _decimals.map(str),
    _decimals.map(lambda d: str(d) if "E" in str(d) or "." in str(d) else str(d) + ".0"),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["9.50", "1E+3", "0.00", "-0.0", "1e16", "2.5e-3", "100.10", "7"]),
)
TEXTS = st.recursive(
    NUMBER_TEXTS | st.sampled_from(['"1.50 E+3"', "null", "true"]),
    lambda inner: (
        st.lists(inner, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]")
        | st.lists(inner, max_size=4).map(
            lambda xs: "{" + ",".join(f'"k{i}":{x}' for i, x in enumerate(xs)) + "}"
        )
    ),
    max_leaves=12,
)


def _kinds(value: Any) -> Any:
    """``value`` with every leaf paired with its type: trees equal with the same types."""
    if type(value) is dict:
        return {k: _kinds(v) for k, v in value.items()}
    if type(value) is list:
        return [_kinds(v) for v in value]
    return (type(value), value)


def _numbers(value: Any) -> list[Any]:
    if type(value) is dict:
        return [n for v in value.values() for n in _numbers(v)]
    if type(value) is list:
        return [n for v in value for n in _numbers(v)]
    return [value] if type(value) in (int, float, Decimal) else []


def _written(text: str) -> list[Decimal]:
    """The decimals ``text``'s numbers were written as."""
    tree = json.loads(text, parse_float=Decimal, parse_int=Decimal)
    return _numbers(tree)


@given(TEXTS)
def test_parse_gives_orjsons_tree_and_notes_the_floats_that_lose_digits(text: str) -> None:
    data = text.encode()
    notes: exact_numbers.Notes = {}
    tree = exact_numbers.loads_noting(data, notes)
    assert _kinds(tree) == _kinds(orjson.loads(data))
    for value, written in zip(_numbers(tree), _written(text), strict=True):
        noted = notes.get(id(value))
        if type(value) is float and written.as_tuple() != Decimal(repr(value)).as_tuple():
            assert noted is not None and noted[0] is value
            assert noted[1].as_tuple() == written.as_tuple()
            # Without the notes being read: the float's own digits, as any float's.
            assert str(exact_numbers.read_decimal(value)) == str(Decimal(repr(value)))
            assert exact_numbers.reading(notes, exact_numbers.read_decimal, value) is noted[1]
        else:
            assert noted is None


def _tokens(text: str) -> list[tuple[str, str]]:
    """Each number of ``text``, in order: ``("int" | "float", its text)``."""
    out: list[tuple[str, str]] = []
    json.loads(
        text,
        parse_float=lambda t: out.append(("float", t)),
        parse_int=lambda t: out.append(("int", t)),
    )
    return out


@given(TEXTS)
def test_keep_digits_writes_every_number_back_as_written(text: str) -> None:
    data = text.encode()
    kept = exact_numbers.keep_digits(data, orjson.loads(data))
    again = orjson.dumps(kept).decode()
    for (kind, was), (kind_now, now) in zip(_tokens(text), _tokens(again), strict=True):
        if kind == "int" and not -(2**63) <= int(was) < 2**64:
            assert kind_now == "float"  # past 64 bits: the float orjson reads (SPEC D2)
            continue
        if was == "-0":
            continue  # an integer: 0, as before
        assert Decimal(now).as_tuple() == Decimal(was).as_tuple(), (was, now)


@given(TEXTS)
def test_written_back_writes_every_untouched_number_as_written(text: str) -> None:
    data = text.encode()
    notes: exact_numbers.Notes = {}
    again = orjson.dumps(exact_numbers.written_back(exact_numbers.loads_noting(data, notes), notes))
    assert orjson.loads(again) == orjson.loads(data)
    for (kind, was), (_, now) in zip(_tokens(text), _tokens(again.decode()), strict=True):
        if kind == "float" and Decimal(was).as_tuple().exponent != 0:
            assert Decimal(now).as_tuple() == Decimal(was).as_tuple(), (was, now)


def test_written_back_writes_a_changed_number_as_its_value() -> None:
    notes: exact_numbers.Notes = {}
    tree = exact_numbers.loads_noting(
        b'{"a": 9.50, "b": [1.10, 2.20], "c": 123456789012345678901}', notes
    )
    tree["a"] = tree["a"] + 1  # a new float: no note of its own
    del tree["b"][0]
    # Past 64 bits, an integer is the float orjson reads (SPEC D2), noted or not.
    assert orjson.dumps(exact_numbers.written_back(tree, notes)) == (
        b'{"a":10.5,"b":[2.20],"c":1.2345678901234568e+20}'
    )
    assert exact_numbers.written_back(tree, {}) is tree  # nothing noted: the tree itself


# Any number as it may be written: digits, a point anywhere among them, an exponent or none.
WRITTEN_NUMBERS = st.builds(
    lambda sign, digits, point, exponent: (
        sign
        + (digits[:point] + "." + digits[point:] if 0 < point < len(digits) else digits)
        + exponent
    ),
    st.sampled_from(["", "-"]),
    st.from_regex(r"[1-9][0-9]{0,24}", fullmatch=True),
    st.integers(min_value=0, max_value=25),
    st.sampled_from(["", "e5", "E+3", "e-7"]),
)


@given(WRITTEN_NUMBERS, st.sampled_from(['{{"a":{}}}', "[1,{},2.5]", "{}"]))
@example("1234567890.1234567", "{}")  # seventeen digits around a point: a float keeps them
@example("12345678.123456789", "{}")  # ... and here does not
def test_may_lose_digits_finds_every_number_a_float_does_not_give_back(
    text: str, around: str
) -> None:
    written = Decimal(text)
    value = float(text)
    if written.as_tuple() != Decimal(repr(value)).as_tuple() and not text.lstrip("-").isdigit():
        assert exact_numbers.may_lose_digits(around.format(text).encode())


@given(TEXTS)
def test_a_patch_value_is_written_back_as_written(text: str) -> None:
    # What a typed patch sets (read as ``keep_digits`` reads a request's body, or made by
    # ``Encoder.written_value``), put in a document: the numbers JSON reads, noted, and
    # written back with the digits they came with.
    data = text.encode()
    notes: exact_numbers.Notes = {}
    value = exact_numbers.noting(exact_numbers.keep_digits(data, orjson.loads(data)), notes)
    assert _kinds(value) == _kinds(orjson.loads(data))
    read: exact_numbers.Notes = {}
    assert exact_numbers.written_alike(value, exact_numbers.loads_noting(data, read), notes | read)
    again = orjson.dumps(exact_numbers.written_back(value, notes))
    for (kind, was), (_, now) in zip(_tokens(text), _tokens(again.decode()), strict=True):
        if kind == "float" and Decimal(was).as_tuple().exponent != 0:
            assert Decimal(now).as_tuple() == Decimal(was).as_tuple(), (was, now)


def test_written_alike_tells_equal_numbers_written_otherwise() -> None:
    notes: exact_numbers.Notes = {}
    stored = exact_numbers.loads_noting(b'{"a": 9.50, "b": [1.0, 2], "c": 9.5}', notes)
    same = exact_numbers.noting(orjson.loads(b'{"a": 9.5, "b": [1.0, 2], "c": 9.5}'), notes)
    assert stored == same
    assert not exact_numbers.written_alike(stored, same, notes)  # 9.50 and 9.5
    same["a"] = exact_numbers.noting(orjson.Fragment(b"9.50"), notes)
    assert exact_numbers.written_alike(stored, same, notes)
    same["c"] = exact_numbers.noting(orjson.Fragment(b"9.500"), notes)
    assert not exact_numbers.written_alike(stored, same, notes)
    assert exact_numbers.written_alike({"a": 9.5}, {"a": 9.5}, {})  # nothing noted


def test_written_alike_tells_an_integer_from_a_number_written_with_digits() -> None:
    notes: exact_numbers.Notes = {}
    stored = exact_numbers.loads_noting(b'{"i": 10, "d": 10.00, "e": 1E+1, "z": 0.0}', notes)
    # An integer against a number that keeps its digits: equal, written otherwise.
    ten_digits = exact_numbers.noting(orjson.Fragment(b"10.00"), notes)
    assert not exact_numbers.written_alike(stored, {**stored, "i": ten_digits}, notes)
    assert not exact_numbers.written_alike(stored, {**stored, "d": 10}, notes)
    assert not exact_numbers.written_alike(stored, {**stored, "e": 10}, notes)
    assert exact_numbers.written_alike(stored, {**stored, "d": ten_digits}, notes)
    # Numbers neither holds digits for are alike when they are written alike: 10 and 10.0,
    # 0.0 and -0.0 are not.
    assert not exact_numbers.written_alike(stored, {**stored, "i": 10.0}, notes)
    assert not exact_numbers.written_alike(stored, {**stored, "z": -0.0}, notes)
    assert exact_numbers.written_alike(stored, {**stored, "z": 0.0}, notes)


def test_written_alike_is_json_not_pythons_equality() -> None:
    # ``True == 1``, ``1 == 1.0``, ``0.0 == -0.0`` in Python; JSON writes each otherwise.
    for a, b in (
        (1, True),
        (0, False),
        (1, 1.0),
        (0.0, -0.0),
        ([1], [True]),
        ({"a": 0}, {"a": False}),
    ):
        assert a == b
        assert not exact_numbers.written_alike({"v": a}, {"v": b}, {})
        assert not exact_numbers.written_alike({"v": b}, {"v": a}, {})
        assert exact_numbers.written_alike({"v": a}, {"v": a}, {})
    # Objects are alike whatever the order of their keys, as they are equal.
    assert exact_numbers.written_alike({"a": 1, "b": [2.5]}, {"b": [2.5], "a": 1}, {})
    assert not exact_numbers.written_alike({"a": 1}, {"a": 1, "b": 1}, {})
    assert not exact_numbers.written_alike([1, 2], [1], {})


def test_equal_floats_written_differently_each_get_their_own_digits() -> None:
    notes: exact_numbers.Notes = {}
    tree = exact_numbers.loads_noting(b'{"a": 9.50, "b": 9.5, "c": 9.500}', notes)
    got = [exact_numbers.reading(notes, exact_numbers.read_decimal, tree[k]) for k in "abc"]
    assert [str(d) for d in got] == ["9.50", "9.5", "9.500"]
    # A float of the same value that is not the one read is decoded as any float is.
    assert str(exact_numbers.reading(notes, exact_numbers.read_decimal, float("9.5"))) == "9.5"


def test_whitespace_around_a_document_and_wide_integers() -> None:
    notes: exact_numbers.Notes = {}
    data = b' \n{"a": 9.50, "b": 123456789012345678901234, "c": 7} \n'
    tree = exact_numbers.loads_noting(data, notes)
    assert tree == orjson.loads(data) and type(tree["b"]) is float and type(tree["c"]) is int
    assert [str(noted) for _, noted in notes.values()] == ["9.50", "123456789012345678901234"]


def test_invalid_json_is_rookdbs_error() -> None:
    for bad in (b'{"a": 1.50', b'{"a": NaN, "b": 1.50}'):
        with pytest.raises(SerializationError):
            exact_numbers.loads_noting(bad, {})


def test_numbers_that_only_look_lossy_read_as_floats() -> None:
    # Strings may hold what looks like such numbers: a second parse, the same tree.
    notes: exact_numbers.Notes = {}
    data = b'{"s": "1.50 E+3", "f": 1.5, "e": 1e16}'
    assert exact_numbers.may_lose_digits(data)
    assert exact_numbers.loads_noting(data, notes) == {"s": "1.50 E+3", "f": 1.5, "e": 1e16}
    assert notes == {}
    assert not exact_numbers.may_lose_digits(b'{"a": 1.0, "b": 2.25, "c": "x"}')


@pytest.mark.parametrize(
    ("text", "written"),
    [(b"0E+0", b"0.0"), (b"0e0", b"0.0"), (b"-0E+0", b"-0E+0"), (b"0.00", b"0.00")],
)
def test_an_unsigned_zero_with_an_exponent_is_written_back_a_float(
    text: bytes, written: bytes
) -> None:
    # Another client's 0E+0 reads as the float 0.0, and is written back so (its digits are
    # a float's), not as the integer 0; -0E+0 is rookdb's Decimal("-0"), kept signed.
    notes: exact_numbers.Notes = {}
    tree = exact_numbers.loads_noting(b'{"a":' + text + b"}", notes)
    assert orjson.dumps(exact_numbers.written_back(tree, notes)) == b'{"a":' + written + b"}"


def test_a_text_nesting_too_deep_is_read_by_orjson_alone() -> None:
    # An HTTP answer (loads_noting of its body) nesting deeper than the standard library's
    # reader recurses, within orjson's depth: orjson's tree, no RecursionError.
    data = b"[" * 1000 + b"9.50" + b"]" * 1000
    notes: exact_numbers.Notes = {}
    tree = exact_numbers.loads_noting(data, notes)
    for _ in range(1000):
        (tree,) = tree
    assert tree == 9.5
    assert notes == {}


@pytest.mark.parametrize("data", [b'{"a":9.50}', b"[9.50]", b"9.50", b'{"a":9.50 }', b"[9.50,1]"])
def test_a_trailing_zero_ends_a_number(data: bytes) -> None:
    assert exact_numbers.may_lose_digits(data)


@pytest.mark.parametrize(
    "data",
    [
        b'{"at": "2024-05-01T10:00:00.1234560Z", "n": 1.5}',  # rookdb's seven-digit fraction
        b'{"at": "2024-05-01T10:00:00.1234560"}',
        b'{"s": "x.50"}',
    ],
)
def test_a_fraction_in_a_string_is_no_number(data: bytes) -> None:
    # A datetime is in most documents: reading each of them twice was the cost.
    assert not exact_numbers.may_lose_digits(data)


@dataclasses.dataclass
class Leaf:
    amount: Decimal


@dataclasses.dataclass
class Tree:  # refers to itself: the walk ends
    children: list[Tree]
    leaf: Leaf | None = None


@dataclasses.dataclass
class Bare:
    children: list[Bare]
    amount: float = 0.0


class Money(Decimal):
    pass


@dataclasses.dataclass
class Subclassed:
    amount: Money  # a subclass is kept as JSON reads it (no decoder)


@pytest.mark.parametrize(
    "hint, keys",
    [
        (Decimal, ("value",)),
        (Optional[Decimal], ("value",)),  # noqa: UP045 (the typing form, as users write it)
        (Decimal | None, ("value",)),
        (Annotated[Decimal, "money"], ("value",)),
        (Leaf, ("amount",)),
        (list[Leaf], ("amount",)),
        (dict[str, list[Leaf]], ("amount",)),
        # Held in a container or with other types: the whole document is looked at.
        (list[Decimal], None),
        (dict[str, Decimal], None),
        (tuple[int, Decimal], None),
        (Decimal | str, None),
        (float, ()),
        (type[Leaf], ()),  # a class, not a document of it
        (Callable[[Decimal], int], ()),
        (dict[str, Any], ()),
        (list[int], ()),
    ],
)
def test_decimal_keys_finds_decimal_fields_at_any_depth(
    hint: Any, keys: tuple[str, ...] | None
) -> None:
    cls = dataclasses.make_dataclass("Holder", [("value", hint)])
    assert decimal_keys(cls) == keys
    assert holds_decimals(cls) is (keys != ())


def test_decimal_keys_of_classes() -> None:
    assert decimal_keys(Tree) == ("amount",) and decimal_keys(Leaf) == ("amount",)
    assert decimal_keys(Bare) == () and decimal_keys(Subclassed) == ()


@given(
    WRITTEN_NUMBERS,
    st.sampled_from(
        ['{{"amount":{}}}', '{{"a":[1,{{"amount":{},"b":2.50}}]}}', '{{"s":"x","amount":{}}}']
    ),
)
@example("9.50", '{{"amount":{}}}')
@example("1E+3", '{{"amount":{}}}')
@example("12345678.123456789", '{{"amount":{}}}')  # more digits than a float keeps
def test_a_finder_by_keys_finds_every_number_of_its_keys_a_float_does_not_give_back(
    text: str, around: str
) -> None:
    written = Decimal(text)
    lossy = written.as_tuple() != Decimal(repr(float(text))).as_tuple()
    data = around.format(text).encode()
    if lossy and not text.lstrip("-").isdigit():
        assert exact_numbers.finder(("amount",)).may_lose(data)
        assert exact_numbers.finder(("other", "amount")).may_lose(data)
    if '"b"' not in around:  # no other number that may lose digits
        assert not exact_numbers.finder(("other",)).may_lose(data)
    assert not exact_numbers.finder(()).may_lose(data)
    assert exact_numbers.finder(None).may_lose is exact_numbers.may_lose_digits
    # Read, by the keys' quick way or the whole document's: the same floats, the same notes.
    for keys in (("amount",), None):
        notes: exact_numbers.Notes = {}
        tree = exact_numbers.finder(keys).read(data, notes)
        assert tree == orjson.loads(data)
        whole: exact_numbers.Notes = {}
        again = exact_numbers.loads_noting(data, whole)
        assert _noted(tree, notes) == _noted(again, whole)


def _noted(tree: Any, notes: exact_numbers.Notes) -> list[str]:
    """The digits ``read_decimal`` gives each value of an ``amount`` in ``tree`` (at any
    depth) under ``notes``: what a field typed ``Decimal`` of that name reads."""
    if type(tree) is list:
        return [digits for item in tree for digits in _noted(item, notes)]
    if type(tree) is not dict:
        return []
    own = [tree["amount"]] if "amount" in tree else []
    read = [str(exact_numbers.reading(notes, exact_numbers.read_decimal, v)) for v in own]
    return read + _noted(list(tree.values()), notes)


def test_a_finder_reads_a_key_held_more_than_once_or_nested_whole() -> None:
    finder = exact_numbers.finder(("amount",))
    for data in (
        b'{"amount":9.5,"x":{"amount":9.50}}',  # which "amount" is 9.50? the whole parse says
        b'{"x":{"amount":9.50},"amount":9.5}',
        b'{"amount":9.50,"amount":1.10}',  # held twice: orjson keeps the last
        b'{"lines":[{"amount":2.50}]}',
        # A key written with an escape (never by orjson, which stores every document): the
        # "amount" found is the nested one, whose value is not the top level's.
        b'{"\\u0061mount":1.5,"x":{"amount":9.50}}',
    ):
        notes: exact_numbers.Notes = {}
        tree = finder.read(data, notes)
        whole: exact_numbers.Notes = {}
        assert _noted(tree, notes) == _noted(exact_numbers.loads_noting(data, whole), whole), data
    notes = {}
    tree = finder.read(b'{"amount":9.5,"x":{"amount":9.50}}', notes)
    assert str(exact_numbers.reading(notes, exact_numbers.read_decimal, tree["amount"])) == "9.5"


written_decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: len(d.as_tuple().digits) <= 15 and -300 < d.adjusted() < 300
)


@settings(deadline=None, max_examples=50)  # a store each: its first collection name is slow
@given(st.lists(written_decimals, min_size=1, max_size=5))
@example([Decimal("-0"), Decimal("-0.00")])  # -0 written -0E+0 (JSON's -0 is the integer 0)
def test_every_decimal_rookdb_writes_loads_with_its_digits(values: list[Decimal]) -> None:
    with DocumentStore() as store:
        with store.open_session() as session:
            session.store(Leaf(values[0]), "leaves/1")
            session.store(Tree([], Leaf(values[-1])), "trees/1")
            session.store({"amounts": values}, "loose/1")
            session.save_changes()
        with store.open_session() as session:
            leaf = session.load("leaves/1", Leaf)
            tree = session.load("trees/1", Tree)
            assert leaf.amount.as_tuple() == values[0].as_tuple()
            assert tree.leaf is not None and tree.leaf.amount.as_tuple() == values[-1].as_tuple()
            assert not session.advanced.has_changes
            loose = session.load("loose/1", dict)  # untyped: JSON's numbers, as before
            assert loose["amounts"] == [json.loads(str(v)) for v in values]


@given(written_decimals)
@example(Decimal("-0"))
def test_every_decimal_a_patch_sets_is_stored_with_its_digits(value: Decimal) -> None:
    # The session's patch value, applied to a stored document and written back (storage's
    # typed patch); a query's parameter is the number it compares as, as before.
    codec = EntityCodec()
    notes: exact_numbers.Notes = {}
    stored = exact_numbers.loads_noting(b'{"a": 1, "b": []}', notes)
    operations = [
        SetValue("a", codec.written_value(value)),
        ArrayAdd("b", (codec.written_value({"c": value}),)),
    ]
    patched = exact_numbers.written_back(apply_operations(stored, operations, notes), notes)
    written = _written(orjson.dumps(patched).decode())
    assert [d.as_tuple() for d in written] == [value.as_tuple()] * 2
    assert codec.json_value(value) == orjson.loads(str(value))


def test_decimal_context_does_not_change_what_is_read() -> None:
    with decimal.localcontext(decimal.Context(prec=3)):
        notes: exact_numbers.Notes = {}
        tree = exact_numbers.loads_noting(b'{"a": 123.4500}', notes)
        got = exact_numbers.reading(notes, exact_numbers.read_decimal, tree["a"])
    assert str(got) == "123.4500"
