"""Hypothesis properties of the pure parts and of the session on every backend.

1. Random JSON-like documents (64-bit integers, no lone surrogates) round-trip through
   store/load unchanged, and a load of them reports no change.
2. Random edits give a ``what_changed()`` whose JSON Patch, applied to the old document by an
   independent implementation (``jsonpatch``), gives the new one.
3. The fast (orjson) and the validating (tree walk) encoders give the same bytes.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

import jsonpatch
from hypothesis import given, settings
from hypothesis import strategies as st

from rookdb import DocumentStore
from rookdb.serialization import encoding
from rookdb.serialization.encoding import INT64_MAX, INT64_MIN, json_equal
from rookdb.serialization.entities import EntityCodec
from rookdb.tracking.diff import diff, to_json_patch

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=INT64_MIN, max_value=INT64_MAX)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text
)
json_values = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(_text, children, max_size=5),
    max_leaves=25,
)
documents = st.dictionaries(_text.filter(lambda k: k != "@metadata"), json_values, max_size=8)

_ids = itertools.count()
#: Examples of the session properties: fewer in async mode (the suite's run time), where the
#: same properties go through the async session's code paths that the sync examples explore.
_EXAMPLES = {"sync": 150, "async": 30}


def _session_settings(session_mode: str) -> settings:
    # Set per test (the given runs inside it): a decorator cannot see the session mode.
    return settings(max_examples=_EXAMPLES[session_mode], deadline=None)


@st.composite
def edited(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with random edits at random depths (or, sometimes, a whole new value)."""
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(json_values)
    if type(value) is dict and value and choice < 8:
        out = dict(value)
        for key in draw(st.lists(st.sampled_from(sorted(out)), max_size=3, unique=True)):
            action = draw(st.integers(0, 2))
            if action == 0:
                del out[key]
            else:
                out[key] = draw(edited(out[key]))
        for key, new in draw(st.dictionaries(_text, json_values, max_size=2)).items():
            out[key] = new
        return out
    if type(value) is list and choice < 8:
        out_list = [draw(edited(v)) if draw(st.booleans()) else v for v in value]
        if draw(st.booleans()):
            out_list = out_list[: draw(st.integers(0, len(out_list)))]
        out_list.extend(draw(st.lists(json_values, max_size=2)))
        return out_list
    return value if choice < 9 else draw(json_values)


def _stored(store: DocumentStore, document: dict[str, Any]) -> str:
    """The id of a new document holding a copy of ``document``, saved by a session."""
    document_id = f"docs/{next(_ids)}"
    with store.open_session() as session:
        session.store(copy.deepcopy(document), document_id)
        session.save_changes()
    return document_id


def test_documents_round_trip_unchanged(store: DocumentStore, session_mode: str) -> None:
    @_session_settings(session_mode)
    @given(document=documents)
    def check(document: dict[str, Any]) -> None:
        document_id = _stored(store, document)
        with store.open_session() as session:
            loaded = session.load(document_id)
            assert json_equal(loaded, document)
            assert _same_types(loaded, document)
            assert session.advanced.has_changes is False

    check()


def _same_types(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return list(a) == list(b) and all(_same_types(a[k], b[k]) for k in a)
    if type(a) is list:
        return all(_same_types(x, y) for x, y in zip(a, b, strict=True))
    return True


def test_what_changed_as_patch_turns_old_into_new(store: DocumentStore, session_mode: str) -> None:
    @_session_settings(session_mode)
    @given(data=st.data(), old=documents)
    def check(data: st.DataObject, old: dict[str, Any]) -> None:
        new = data.draw(edited(old).filter(lambda v: type(v) is dict and "@metadata" not in v))
        document_id = _stored(store, old)
        with store.open_session() as session:
            loaded = session.load(document_id)
            before = copy.deepcopy(loaded)
            metadata = {"@collection": "docs"}
            loaded.clear()
            loaded.update(copy.deepcopy(new))
            patch = session.advanced.what_changed(as_patch=True).get(document_id, [])
            assert session.advanced.has_changes == bool(patch)
            patched = jsonpatch.apply_patch({**before, "@metadata": metadata}, patch)
            assert json_equal(patched, {**new, "@metadata": metadata})
            session.save_changes()
        with store.open_session() as session:
            assert json_equal(session.load(document_id), new)

    check()


@settings(max_examples=500, deadline=None)
@given(old=json_values, new=json_values)
def test_diff_patch_on_any_pair_of_values(old: Any, new: Any) -> None:
    changes = diff({"v": old}, {"v": new})
    assert (changes == []) == json_equal(old, new)
    patched = jsonpatch.apply_patch({"v": copy.deepcopy(old)}, to_json_patch(changes))
    assert json_equal(patched, {"v": new})


@settings(max_examples=300, deadline=None)
@given(value=json_values)
def test_fast_and_validating_encoders_agree(value: Any) -> None:
    codec = EntityCodec()
    fast = encoding.dumps(value)
    assert fast == encoding.dumps(codec.to_tree(value))
    assert json_equal(encoding.loads(fast), value)
