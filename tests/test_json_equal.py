"""``encoding.json_equal`` is JSON's equality (SPEC S12, S5): ``1 == 1.0``, ``True != 1``,
``False != 0``; objects by their members, arrays in order. The loops compare scalars of one
type inline (issue 18); this holds them to the rule written out as a plain recursion."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rookdb.serialization.encoding import json_equal


def reference(a: Any, b: Any) -> bool:
    if type(a) is dict:
        return (
            type(b) is dict
            and a.keys() == b.keys()
            and all(reference(value, b[key]) for key, value in a.items())
        )
    if type(a) is list:
        return type(b) is list and len(a) == len(b) and all(map(reference, a, b))
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    if type(a) in (int, float):
        return type(b) in (int, float) and a == b
    return type(a) is type(b) and a == b


# Few distinct scalars, so that equal and nearly equal trees are drawn often.
scalars = st.sampled_from([None, True, False, 0, 1, 0.0, 1.0, -0.0, 2.5, "", "a", "1"])
trees = st.recursive(
    scalars,
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.sampled_from("abc"), kids, max_size=3)
    ),
    max_leaves=10,
)


#: Scalars ``==`` confuses, of which JSON tells some apart.
TWINS: dict[Any, list[Any]] = {1: [1, 1.0, True], 0: [0, 0.0, -0.0, False], None: [None]}


def twin(data: st.DataObject, value: Any) -> Any:
    """``value`` with some of its scalars swapped for a twin."""
    if type(value) is dict:
        return {key: twin(data, item) for key, item in value.items()}
    if type(value) is list:
        return [twin(data, item) for item in value]
    for twins in TWINS.values():
        if value in twins and type(value) is not str:
            return data.draw(st.sampled_from(twins))
    return value


@settings(max_examples=2000, deadline=None)
@given(trees, trees)
def test_json_equal_is_the_rule(a: Any, b: Any) -> None:
    assert json_equal(a, b) == reference(a, b)
    assert json_equal(a, a) and json_equal(b, b)


@settings(max_examples=2000, deadline=None)
@given(trees, st.data())
def test_json_equal_tells_twins_apart_as_the_rule_does(a: Any, data: st.DataObject) -> None:
    b = twin(data, a)
    assert json_equal(a, b) == reference(a, b) == json_equal(b, a)


def test_json_equal_examples() -> None:
    assert json_equal({"a": [1, {"b": None}]}, {"a": [1.0, {"b": None}]})
    assert not json_equal({"a": True}, {"a": 1})
    assert not json_equal([False], [0.0])
    assert not json_equal({"a": None}, {"b": None})  # a member missing, not None
    assert not json_equal({"a": 1}, {"a": 1, "b": 2})
