"""``Decimal`` fields read with the digits they were written with (SPEC D2).

A decimal is stored as a JSON number holding its own digits (``Decimal("9.50")`` as ``9.50``,
``scalars.encode_decimal``), and a JSON number is read as a 64-bit float (by orjson, SQLite,
pydantic alike), which keeps the value but not how it was written: ``9.50`` reads as ``9.5``,
``1E+3`` as ``1000.0``. A field a class types as ``Decimal`` is read from the text instead:

* **Which documents.** Those of a class holding a ``Decimal`` field at any depth
  (``decimal_fields.decimal_keys``, once per class) whose bytes may hold a number a float does not
  give back as written: a fraction ending in ``0`` after another digit, an exponent, or
  sixteen digits, a point among them or not. The class's ``Finder`` looks for one after the
  keys its ``Decimal`` fields are stored under, or over the whole document
  (``may_lose_digits``) where a ``Decimal`` is held in a list or a dict; text in strings may
  match too, which only costs the second read. Others are read by orjson alone, as before.
* **How.** ``loads_noting`` reads the document again with the standard library's reader, which hands
  each number's text to rookdb: the tree is the one orjson gives (the same floats, and integers
  within 64 bits; larger ones as floats, as orjson makes them), and each float that does not
  give back its text's decimal is noted, by the float object itself, with that decimal.
  ``Finder.read`` notes them in orjson's own tree instead where each is the value of a key
  the document holds once, at its top level (four times quicker).
* **Where it lands.** The ``Decimal`` fields' converter (``read_decimal``) takes the noted
  decimal in place of the float, while ``reading`` holds the notes. A float field, an untyped
  one, a field the class does not declare: each holds the float it always did, since only the
  converter of a field typed ``Decimal`` asks. Floats are noted by identity, not by value, so
  two fields of equal value written differently (``9.5`` and ``9.50``) each get their own.

Read back as written, a loaded entity gives the bytes it was loaded from at its first change
check (SPEC S5's cheap path), where a ``9.5`` for ``9.50`` cost a decode of both and a
comparison. (``Decimal("-0")`` is written ``-0E+0``, ``scalars.NEGATIVE_ZERO``: JSON's ``-0``
reads as the integer 0, which holds no sign and no note.)

A typed patch (``rookdb.patches``) rewrites a stored document: it is read with its numbers
noted (``loads_noting``), and what the patch sets is a JSON tree in which a number a float
does not give back as written is an ``orjson.Fragment`` of its text, as ``keep_digits`` reads
it (the session's ``Decimal("9.50")``, or ``9.50`` in a request's body). Applied, each such
number is the float JSON reads, noted too (``noting``), so the patched document holds floats
alone (increments, comparisons work as they did) and ``written_back`` writes every noted float
as it was written; ``written_alike`` tells whether a patch changed what is written (``9.5``
to ``9.50``, ``1`` to ``1.0``, ``1`` to ``true``: a change, written).
"""

from __future__ import annotations

import contextvars
import copy
import decimal
import functools
import json
import json.scanner
import re
import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

import orjson

from rookdb.serialization import scalars
from rookdb.serialization.encoding import (
    INT64_MIN,
    MAX_MESSAGE_DEPTH,
    loads,
    nesting_depth,
)

__all__ = [
    "Finder",
    "Notes",
    "finder",
    "keep_digits",
    "loads_keeping_digits",
    "loads_noting",
    "may_lose_digits",
    "noting",
    "read_decimal",
    "reading",
    "shown_as_written",
    "written_alike",
    "written_back",
]

#: The floats of a parse whose text they do not give back: ``id(value) -> (value, decimal)``.
#: The float is kept with its id, so the id cannot be another object's while the notes live.
Notes = dict[int, tuple[float, decimal.Decimal]]

_UINT64_MAX = 2**64 - 1  # orjson reads integers up to here as int, beyond as float

# A fraction ending in 0 after another digit (``9.50``, ``0.00``; ``1.0`` is a float's own
# form). The other two signs are found in the text with digits and the point folded to ``0``
# and ``E`` to ``e``: an exponent (``0e``: ``1E+3``), and sixteen digits, the point among them
# or not (``0`` * 16: more than a float keeps). One regex for all three is ten times slower:
# it tries its alternatives at each byte, where ``bytes.translate`` and ``in`` are C loops.
# The fraction must end the number as JSON ends one (white space, ``,``, ``]``, ``}``, the
# end): a datetime's fraction (``00.1234560Z``, rookdb's seven digits) is no number's.
_TRAILING_ZERO = re.compile(rb"\.[0-9]*[0-9]0(?=[\s,\]}]|\Z)")
_FOLD = bytes.maketrans(b"0123456789.E", b"00000000000e")
_SIXTEEN = b"0" * 16

_notes: contextvars.ContextVar[Notes | None] = contextvars.ContextVar("exact_numbers", default=None)

_Result = TypeVar("_Result")


def may_lose_digits(data: bytes) -> bool:
    """Whether ``data`` may hold a number a float does not give back as written."""
    if _TRAILING_ZERO.search(data) is not None:
        return True
    folded = data.translate(_FOLD)
    return folded.find(b"0e") >= 0 or folded.find(_SIXTEEN) >= 0  # ``encoding``: bytes searches


# A number a float may not give back as written, from its first character: the three signs
# of ``may_lose_digits`` (sixteen digits counted from its start).
_LOSSY_NUMBER = rb"-?(?:[0-9]+\.[0-9]*[0-9]0(?![0-9])|[0-9.]*[eE]|[0-9.]{16})"


class Finder:
    """For the documents of a class holding ``Decimal`` fields (``finder``): ``may_lose``
    tells those that may hold a number a float does not give back as written, ``read`` reads
    one with those numbers noted."""

    __slots__ = ("_keys", "_needles", "_pattern", "may_lose")

    def __init__(self, keys: tuple[str, ...] | None) -> None:
        self.may_lose: Callable[[bytes], bool] = may_lose_digits
        self._pattern: re.Pattern[bytes] | None = None
        # Each key as it is written inside its quotes: the key, and the key with its quotes
        # and colon as it is found in a document.
        self._keys: dict[bytes, str] = {}
        self._needles: dict[bytes, bytes] = {}
        if keys == ():  # no Decimal field: nothing to read again
            self.may_lose = lambda data: False
            return
        if keys is None or len(keys) > 3:
            return
        self._keys = {orjson.dumps(key)[1:-1]: key for key in keys}
        self._needles = {written: b'"' + written + b'":' for written in self._keys}
        written = b"|".join(re.escape(key) for key in self._keys)
        # The key, and the number after it (its whole text) where it may lose digits.
        number = rb"(?=" + _LOSSY_NUMBER + rb")(-?[0-9][0-9.eE+-]*)"
        pattern = self._pattern = re.compile(b'"(' + written + b')":' + number)
        search = pattern.search
        self.may_lose = lambda data: search(data) is not None

    def read(self, data: bytes, notes: Notes) -> Any:
        """``loads_noting``: ``data`` decoded as orjson decodes it, its floats that lose their
        text's digits noted in ``notes``. Where each number the keys' search finds is the
        value of a key the document holds once, at its top level (a ``Decimal`` field of the
        class's own), it is noted in orjson's tree: a regex and a lookup for each, where the
        standard library's reader takes four times orjson's time."""
        tree = loads(data)
        pattern = self._pattern
        if pattern is None or type(tree) is not dict:
            return _noting(data, notes)
        found: Notes = {}
        for match in pattern.finditer(data):
            written, number = match.groups()
            value = tree.get(self._keys[written])
            exact = _decimal(number.decode())
            if (
                type(value) is not float
                or exact is None
                or data.count(self._needles[written]) != 1  # else: which one is it?
                or value != float(number)
            ):
                return _noting(data, notes)
            found[id(value)] = (value, exact)
        notes.update(found)
        return tree


@functools.cache
def finder(keys: tuple[str, ...] | None) -> Finder:
    """The ``Finder`` for a class whose ``Decimal`` fields are stored under ``keys``
    (``decimal_fields.decimal_keys``): it looks for numbers after those keys, at any depth (one
    regex, which skips from key to key as from word to word: about a third of the time of
    ``may_lose_digits`` over the whole document for one key, as much for three); None (or
    more than three keys): over the whole document, which ``read`` reads again whole."""
    return Finder(keys)


def loads_noting(data: bytes, notes: Notes) -> Any:
    """``data`` (a stored document) decoded as orjson decodes it, its floats that lose their
    text's digits noted in ``notes`` (for ``written_back``, or a ``Decimal`` field's
    converter); read again only where the document may hold one. What orjson refuses raises
    rookdb's error, as ``encoding.loads`` does; a number ``Decimal`` cannot hold (an exponent
    past its range) is left the float orjson reads. A text nesting deeper than an answer may
    (``MAX_MESSAGE_DEPTH``) is left as orjson read it (the standard library's reader
    recurses, and would raise ``RecursionError``)."""
    tree = loads(data)  # what orjson refuses is refused (NaN, lone surrogates, ...)
    if not may_lose_digits(data) or nesting_depth(data) > MAX_MESSAGE_DEPTH:
        return tree
    return _noting(data, notes)


def _noting(data: bytes, notes: Notes) -> Any:
    """``loads_noting``'s second read of ``data``, which orjson has read."""

    def note(text: str, value: float) -> float:
        exact = _decimal(text)
        if exact is not None:
            notes[id(value)] = (value, exact)
        return value

    return _read(data, note)


def keep_digits(data: bytes, decoded: Any) -> Any:
    """For JSON to be written out again (documents a client writes to the server, a stored
    document sent in RavenDB's shape or exported): ``decoded``, what orjson read of ``data``,
    but when ``data`` holds numbers a float does not give back as written, read again with
    each of them an ``orjson.Fragment`` of its text, so that writing the tree writes them as
    they came (``9.50``, not ``9.5``). A text nesting deeper than a document may, with a
    request's wrapping, is left as orjson read it: a document that deep is refused, and the
    others of a request holding one lose their digits as before."""
    if not may_lose_digits(data) or nesting_depth(data) > MAX_MESSAGE_DEPTH:
        return decoded
    return _read(data, _as_written)


def _as_written(text: str, value: float) -> Any:
    # An integer past 64 bits stays the float orjson reads: rookdb never stores one (SPEC D2).
    return value if text.lstrip("-").isdigit() else orjson.Fragment(text)


def loads_keeping_digits(data: bytes) -> Any:
    """``encoding.loads`` of a stored document to be written back with its metadata changed:
    numbers a float does not give back as written are ``orjson.Fragment`` s of their text
    (``keep_digits``), written back as they were."""
    return keep_digits(data, loads(data))


def written_back(tree: Any, notes: Notes | None) -> Any:
    """``tree``, read by ``loads_noting`` into ``notes`` and changed since (a typed patch),
    ready to be written: each float still the one a note holds is an ``orjson.Fragment`` of
    the text it was read from, so what the change did not touch is written as it was. (A new
    tree: Fragments cannot be copied, so they are made last. An integer past 64 bits stays a
    float, as ``keep_digits`` leaves it.)"""
    return _noted_as(tree, notes, lambda exact: orjson.Fragment(scalars.decimal_text(exact)))


def shown_as_written(tree: Any, notes: Notes | None) -> Any:
    """``tree``, read by ``loads_noting`` into ``notes``, as ``written_back`` writes it, to
    be shown (``what_changed``): each float written with digits of its own the ``Decimal``
    of them (``Decimal("9.50")`` for the ``9.5`` read from ``9.50``), where ``written_back``
    puts a Fragment, whose text is not shown. (A new tree, or ``tree`` with no notes.)"""
    return _noted_as(tree, notes, lambda exact: exact)


def _noted_as(tree: Any, notes: Notes | None, make: Callable[[decimal.Decimal], Any]) -> Any:
    """``tree`` with each float ``_written`` gives a decimal for ``make(decimal)``."""
    if not notes:
        return tree

    def back(value: Any) -> Any:
        kind = type(value)
        if kind is float:
            written = _written(value, notes)
            return value if written is None else make(written)
        if kind is dict:
            return {key: back(item) for key, item in value.items()}
        if kind is list:
            return [back(item) for item in value]
        return value

    return back(tree)


def _written(value: float, notes: Notes) -> decimal.Decimal | None:
    """The decimal ``written_back`` writes for ``value``, a float; None: the float itself
    (an integer's text: one past 64 bits, read as a float)."""
    noted = notes.get(id(value))
    if noted is not None and noted[0] is value:
        exact = noted[1]
        if exact.as_tuple().exponent != 0 or (not exact and exact.is_signed()):  # -0E+0
            return exact
    return None


def noting(value: Any, notes: Notes) -> Any:
    """A deep copy of ``value``, a JSON tree a patch sets, to be put in a document read by
    ``loads_noting`` into ``notes``: each ``orjson.Fragment`` in it (a number a float does not
    give back as written: ``keep_digits``, ``Encoder.written_value``) the number JSON reads,
    noted in ``notes`` with its text's decimal, so ``written_back`` writes it as it came."""
    kind = type(value)
    if kind is dict:
        return {key: noting(item, notes) for key, item in value.items()}
    if kind is list:
        return [noting(item, notes) for item in value]
    if kind is orjson.Fragment:
        return loads_noting(orjson.dumps(value), notes)  # (dumps: a Fragment's own text)
    # JSON's atoms are their own copies; other values a caller's SetValue may hold (a
    # tuple) are copied as before.
    return copy.deepcopy(value)


def written_alike(tree: Any, other: Any, notes: Notes) -> bool:
    """Whether ``written_back`` writes ``tree`` and ``other``, JSON trees whose floats are
    noted in ``notes`` (``loads_noting``, ``noting``), as the same JSON, objects without
    regard to their keys' order: whether a typed patch changed the document (RavenDB's
    ``NotModified`` when not). Python's ``==`` says more are equal, which JSON writes
    otherwise: ``True == 1`` (a bool is no number), ``1 == 1.0`` (orjson writes a float
    ``1.0``), ``0.0 == -0.0``, and ``9.5`` and ``10`` are equal to ``9.50`` and ``1E+1``
    written with digits of their own (a note). Both are written, keys sorted, and compared:
    orjson's C, where a walk in Python over every equal patch's document cost more. (What
    orjson cannot write is no document: not alike, and writing it fails as it would.)"""
    try:
        return bool(
            orjson.dumps(written_back(tree, notes), option=orjson.OPT_SORT_KEYS)
            == orjson.dumps(written_back(other, notes), option=orjson.OPT_SORT_KEYS)
        )
    except orjson.JSONEncodeError:
        return False


def _read(data: bytes, lossy: Callable[[str, float], Any]) -> Any:
    """``data`` (JSON orjson has read) decoded by the standard library's reader into the tree
    orjson gives, but for each float that does not give back its text's decimal: ``lossy(text,
    float)`` in its place."""
    text = data.decode()  # valid UTF-8: orjson read it
    # Integers are read by the reader's own C code unless there may be one past 64 bits.
    wide = data.translate(_FOLD).find(_SIXTEEN) >= 0
    outer = _reading.lossy
    _reading.lossy = lossy
    try:
        try:
            value, _end = (_WIDE_SCAN if wide else _NARROW_SCAN)(text, 0)  # then whitespace
        except StopIteration:  # whitespace before it
            value = (_WIDE if wide else _NARROW).decode(text)
    finally:
        _reading.lossy = outer
    return value


class _Reading(threading.local):
    """What ``_read`` does with a lossy number, for the readers' hooks, in this thread. The two
    readers are made once: ``json.loads`` with hooks makes one a call, half of its time."""

    lossy: Callable[[str, float], Any] | None = None


_reading = _Reading()


def _fraction(text: str) -> Any:
    value = float(text)
    written = repr(value)
    if text == written:
        return value
    # Without an exponent, other text is other digits (JSON has no leading zeros); with one,
    # ``1e16`` and ``1e+16``, ``2.5e-3`` and ``0.0025`` are the same digits and exponent.
    if ("e" in written or "e" in text or "E" in text) and _same_digits(text, written):
        return value
    lossy = _reading.lossy
    assert lossy is not None  # set by _read around the reader's call
    return lossy(text, value)


def _integer(text: str) -> Any:
    value = int(text)
    if INT64_MIN <= value <= _UINT64_MAX:
        return value
    lossy = _reading.lossy
    assert lossy is not None
    return lossy(text, float(value))  # a float, as orjson reads it


_NARROW = json.JSONDecoder(parse_float=_fraction)
_WIDE = json.JSONDecoder(parse_float=_fraction, parse_int=_integer)
# The reader's scanner (what ``decode`` calls after skipping whitespace); typeshed types its
# argument as itself, where CPython takes the decoder.
_NARROW_SCAN = json.scanner.make_scanner(cast(Any, _NARROW))
_WIDE_SCAN = json.scanner.make_scanner(cast(Any, _WIDE))


def _same_digits(text: str, written: str) -> bool:
    """Whether ``text`` holds ``written``'s digits and exponent; True where ``text`` is no
    ``Decimal`` (an exponent past its range, which a float reads as 0 or infinity): the
    float is kept as orjson reads it."""
    exact = _decimal(text)
    return exact is None or exact.as_tuple() == decimal.Decimal(written).as_tuple()


def _decimal(text: str) -> decimal.Decimal | None:
    """``Decimal(text)`` of a JSON number's text; None past the exponents it holds (orjson
    reads ``1e-99999999999999999999`` as 0.0, ``Decimal`` refuses it)."""
    try:
        return decimal.Decimal(text)
    except ArithmeticError:
        return None


def read_decimal(value: Any) -> Any:
    """The ``Decimal`` a field typed ``Decimal`` holds: the noted decimal of a float noted by
    ``loads_noting`` or ``Finder.read`` while ``reading`` its notes, else
    ``scalars.decode_decimal``'s."""
    if type(value) is float:
        notes = _notes.get()
        if notes is not None:
            noted = notes.get(id(value))
            if noted is not None and noted[0] is value:
                return noted[1]
    return scalars.decode_decimal(value)


def reading(notes: Notes | None, decode: Callable[..., _Result], *args: Any) -> _Result:
    """``decode(*args)`` with ``notes`` (from ``loads_noting``) given to ``read_decimal``; just
    the call when there are none."""
    if not notes:
        return decode(*args)
    token = _notes.set(notes)
    try:
        return decode(*args)
    finally:
        _notes.reset(token)
