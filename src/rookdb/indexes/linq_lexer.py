"""The tokens of a LINQ index definition (the C# subset of ``docs/indexes.md``).

C#'s lexical forms that index definitions use: identifiers (``this0`` included, ``@name``
verbatim identifiers), integer and real literals with their suffixes (``10m``, ``1.5d``,
``3L``), ``"strings"`` with C# escapes, ``@"verbatim strings"``, ``'c'`` character
literals (strings of one character here), the operators and punctuation of expressions, and
``//`` and ``/* */`` comments. Every token carries its 1-based line and column, for the
errors of the parser and the compiler. An identifier is at most ``MAX_IDENTIFIER`` characters:
the compiler's messages show identifiers plain (``the method .{name}()``), so a longer one is
refused here, before any is made.
"""

from __future__ import annotations

import bisect
import dataclasses
import re

from rookdb.errors import IndexCompilationError, shown
from rookdb.paths import MAX_PATH_BYTES

__all__ = ["Token", "tokenize"]

# Longest first: ``??`` before ``?``, ``=>`` before ``=``, ``==`` before ``=``.
_OPERATORS = (
    "=>", "??", "&&", "||", "==", "!=", "<=", ">=",
    "+", "-", "*", "/", "%", "<", ">", "!", "?", ":", "=", ".", ",", "(", ")", "[", "]",
    "{", "}", ";",
)  # fmt: skip
_NAME = re.compile(r"@?[A-Za-z_][A-Za-z0-9_]*")
#: The most characters of an identifier: as many as the bytes of the longest field path
#: (``paths.MAX_PATH_BYTES``), which is what an index's fields are queried by.
MAX_IDENTIFIER = MAX_PATH_BYTES
_NUMBER = re.compile(r"(\d+\.\d+|\.\d+|\d+)([eE][+-]?\d+)?([mMdDfFlL]|[uU][lL]?)?")
_SPACE = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)+", re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}


@dataclasses.dataclass(frozen=True, slots=True)
class Token:
    """One token: ``kind`` is ``name``, ``number``, ``string``, ``op`` or ``end``;
    ``value`` its text (a string's decoded value, a number's Python value)."""

    kind: str
    value: object
    line: int
    column: int

    def is_op(self, *ops: str) -> bool:
        return self.kind == "op" and self.value in ops

    def is_name(self, *names: str) -> bool:
        return self.kind == "name" and self.value in names


class _Position:
    """Offsets to (line, column), 1-based."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def __call__(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, offset) - 1
        return line + 1, offset - self._starts[line] + 1


def _error(message: str, where: tuple[int, int], text: str) -> IndexCompilationError:
    line, column = where
    return IndexCompilationError(
        f"{message} (line {line}, column {column})", line=line, column=column, source=text
    )


def _string(text: str, start: int, quote: str, at: _Position) -> tuple[str, int]:
    """A C# string or character literal from its opening quote; its value and end."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == quote:
            return "".join(out), i + 1
        if char == "\n":
            break
        if char == "\\":
            code = text[i + 1 : i + 2]
            if code == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            if code not in _ESCAPES:
                raise _error(f"unsupported escape \\{code} in a string", at(i), text)
            out.append(_ESCAPES[code])
            i += 2
            continue
        out.append(char)
        i += 1
    raise _error("unterminated string", at(start), text)


def _verbatim(text: str, start: int, at: _Position) -> tuple[str, int]:
    """A C# verbatim string ``@"..."`` (``""`` is a quote)."""
    out: list[str] = []
    i = start + 2
    while i < len(text):
        if text[i] == '"':
            if text[i + 1 : i + 2] == '"':
                out.append('"')
                i += 2
                continue
            return "".join(out), i + 1
        out.append(text[i])
        i += 1
    raise _error("unterminated string", at(start), text)


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an ``end`` token; ``IndexCompilationError`` on a
    character no token starts with."""
    at = _Position(text)
    tokens: list[Token] = []
    i = 0
    while True:
        space = _SPACE.match(text, i)
        if space:
            i = space.end()
        if text.startswith("/*", i):
            raise _error("unterminated comment", at(i), text)
        line, column = at(i)
        if i >= len(text):
            tokens.append(Token("end", None, line, column))
            return tokens
        char = text[i]
        if char == '"' or char == "'":
            value, i = _string(text, i, char, at)
            tokens.append(Token("string", value, line, column))
            continue
        if text.startswith('@"', i):
            value, i = _verbatim(text, i, at)
            tokens.append(Token("string", value, line, column))
            continue
        name = _NAME.match(text, i)
        if name:
            if name.end() - i > MAX_IDENTIFIER:
                raise _error(
                    f"an identifier is at most {MAX_IDENTIFIER} characters, "
                    f"not {shown(name.group())}",
                    (line, column),
                    text,
                )
            tokens.append(Token("name", name.group().lstrip("@"), line, column))
            i = name.end()
            continue
        number = _NUMBER.match(text, i)
        if number:
            digits = number.group(1) + (number.group(2) or "")
            suffix = (number.group(3) or "").lower()
            real = "." in digits or "e" in digits.lower() or suffix in ("m", "d", "f")
            tokens.append(Token("number", float(digits) if real else int(digits), line, column))
            i = number.end()
            continue
        for op in _OPERATORS:
            if text.startswith(op, i):
                tokens.append(Token("op", op, line, column))
                i += len(op)
                break
        else:
            raise _error(f"unexpected character {shown(char)}", (line, column), text)
