"""RavenDB's alphanumeric order (RQL ``order by X as alphaNumeric``), as one sort key.

RavenDB compares two strings run by run, a run being a longest stretch of digits or of
non-digits:

* two digit runs compare as numbers: leading zeros are ignored, the run with more remaining
  digits is larger, equal lengths compare digit by digit (``"007"`` equals ``"7"``, so
  ``"a007" = "a7"`` and the tie falls to the next key);
* a digit run sorts before a non-digit run (``"1x"`` before ``"x"``);
* two non-digit runs compare character by character without case, a run that is a prefix
  of the other first (``"ab"`` before ``"abc"``);
* when every run so far is equal, the string with fewer runs sorts first.

Each backend sorts by ``alphanumeric_key``, a string whose plain code-point order (SQLite's
BINARY, PostgreSQL's ``COLLATE "C"``) is exactly that order: SQLite computes it with the
Python function here, PostgreSQL with the SQL expression ``postgres_key`` writes, which builds
the same text. A digit run becomes ``0``, its significant length in ten digits and its
significant digits; a non-digit run becomes ``1``, its text and a terminator (``\\x01\\x01``,
the character ``\\x01`` itself being escaped to ``\\x01\\x02``) that sorts below every
character, so that a shorter run sorts first.

Two deliberate narrowings, so that every backend agrees to the byte: digits are the ASCII
``0``-``9`` (RavenDB's ``char.IsDigit`` also takes other scripts' digits), and case is
folded for ``A``-``Z`` only (RavenDB folds every letter by .NET's invariant culture);
other characters compare by code point.
"""

from __future__ import annotations

import re

__all__ = ["alphanumeric_key", "postgres_key"]

_RUN = re.compile(r"[0-9]+|[^0-9]+")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
# A digit run's significant length, written in this many digits: no string is longer.
_LENGTH_DIGITS = 10


def alphanumeric_key(value: object) -> str | None:
    """The sort key of a string (None for anything else: it sorts with the missing)."""
    if type(value) is not str:
        return None
    parts = []
    for run in _RUN.findall(value):
        if run[0] in "0123456789":
            digits = run.lstrip("0")
            parts.append(f"0{len(digits):0{_LENGTH_DIGITS}d}{digits}")
        else:
            text = run.translate(_ASCII_LOWER).replace("\x01", "\x01\x02")
            parts.append(f"1{text}\x01\x01")
    return "".join(parts)


def postgres_key(text: str) -> str:
    """The PostgreSQL expression of ``alphanumeric_key`` of the SQL text expression ``text``
    (NULL when it is NULL), to be sorted ``COLLATE "C"``. ``lower`` under ``COLLATE "C"``
    folds ASCII letters only, as the Python key does."""
    run = "r.m[1]"
    digits = f"ltrim({run}, '0')"
    digit_run = f"'0' || lpad(length({digits})::text, {_LENGTH_DIGITS}, '0') || {digits}"
    lowered = f'lower({run} COLLATE "C")'
    text_run = f"'1' || replace({lowered}, chr(1), chr(1) || chr(2)) || chr(1) || chr(1)"
    return (
        f"(SELECT coalesce(string_agg(CASE WHEN {run} ~ '^[0-9]' THEN {digit_run} "
        f"ELSE {text_run} END, '' ORDER BY r.n), '') "
        f"FROM regexp_matches({text}, '[0-9]+|[^0-9]+', 'g') WITH ORDINALITY AS r(m, n) "
        f"HAVING {text} IS NOT NULL)"
    )
