"""The words of RQL: the lexer of ``rookdb.rql`` and the vocabulary it shares with the printer
(``rookdb.rql_printer``), which must quote every name the lexer would read as something else.

Tokens are numbers, strings (``'...'`` or ``"..."``, with JSON's escapes), parameters
(``$name``), names (a field path such as ``lines[].product`` reads as one name) and operators.
A name or a parameter is at most ``MAX_NAME`` characters (a field path is at most 512 bytes,
``paths.MAX_PATH_BYTES``): the parser's messages show names plain, so a longer one is refused
here, before any is made. An error names its position, line and column (``QueryError``).
"""

from __future__ import annotations

import re
from typing import NamedTuple

from rookdb.errors import QueryError, shown
from rookdb.paths import MAX_PATH_BYTES

__all__ = [
    "ALL_DOCS",
    "FUNCTIONS",
    "KEYWORDS",
    "MAX_NAME",
    "PLAIN_FIELD",
    "Token",
    "error_at",
    "tokenize",
    "unquote",
]

#: The most characters of a name or a parameter (``$`` and its name): as many as the bytes of
#: the longest field path, which no name of RQL (an alias, a function) needs more than.
MAX_NAME = MAX_PATH_BYTES
#: ``from @all_docs``: every document, whatever its collection.
ALL_DOCS = "@all_docs"

_NAME = r"[\w@][\w@-]*(?:\[\])?(?:\.[\w@][\w@-]*(?:\[\])?)*"
#: A field path the lexer reads as one name; the printer quotes any other.
PLAIN_FIELD = re.compile(_NAME)
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w@]))
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<param>\$[A-Za-z_]\w*)
  | (?P<name>{name})
  | (?P<op>==|!=|<>|<=|>=|[=<>(),*])
    """.replace("{name}", _NAME),
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "0": "\0"}
#: Words the parser reserves (case-insensitive): a field so named is written quoted.
KEYWORDS = {
    "from", "where", "and", "or", "not", "in", "all", "between", "order", "by", "as",
    "asc", "desc", "include", "limit", "offset", "true", "false", "null", "select", "distinct",
}  # fmt: skip
#: The functions a ``where`` clause may call (lower case), besides ``id()`` and ``exact()``.
FUNCTIONS = {"startswith", "endswith", "exists", "regex", "search"}


class Token(NamedTuple):
    kind: str  # number, string, param, name, op, end
    text: str
    position: int


def error_at(message: str, text: str, position: int) -> QueryError:
    """A ``QueryError`` saying ``message`` at ``position`` of ``text`` (and its line and column)."""
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return QueryError(
        f"{message} at line {line}, column {column}",
        position=position,
        line=line,
        column=column,
    )


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``; anything unrecognised is a ``QueryError``."""
    tokens = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise error_at(f"unexpected character {shown(text[position])}", text, position)
        kind = match.lastgroup
        assert kind is not None
        end = match.end()
        if end - position > MAX_NAME and kind in ("name", "param"):
            what = "a name" if kind == "name" else "a parameter"
            raise error_at(
                f"{what} is at most {MAX_NAME} characters, not {shown(match.group())}",
                text,
                position,
            )
        if kind != "ws":
            tokens.append(Token(kind, match.group(), position))
        position = end
    tokens.append(Token("end", "", len(text)))
    return tokens


def unquote(token: Token, text: str) -> str:
    """The value of a string token of ``text``, its escapes read as JSON's."""
    body = token.text[1:-1]
    out = []
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        escaped = body[index + 1]
        if escaped == "u":
            digits = body[index + 2 : index + 6]
            if not re.fullmatch(r"[0-9A-Fa-f]{4}", digits):
                raise error_at("invalid \\u escape", text, token.position + index + 1)
            out.append(chr(int(digits, 16)))
            index += 6
            continue
        out.append(_ESCAPES.get(escaped, escaped))
        index += 2
    value = "".join(out)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise error_at("a string holds a lone surrogate", text, token.position) from None
    return value
