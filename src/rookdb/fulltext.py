"""Full-text tokens, as SQLite FTS5's ``unicode61`` tokenizer makes them (SPEC Q1 ``search``).

A token is a maximal run of letters, digits and private-use characters; everything else
separates tokens. Tokens are folded with *simple* (one-to-one) lower-casing, character by
character, as ``unicode61`` does: ``ΣΑΣ`` folds to ``σασ`` (not ``σας``), and a character
whose lower case is longer (``İ``) is kept. Diacritics are kept (``remove_diacritics 0``).

SQLite's tables date from Unicode 6.1: characters added to Unicode since then are letters to
Python but separators to SQLite, so search is only exact for text in Unicode 6.1.

A search *term* is a token, or a wildcard term (RavenDB's): one word with ``*`` at its start,
its end or both, folded as a token is, which a token matches if it ends with, starts with or
holds the word (``micro*`` matches ``microsoft`` and ``micro``).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from rookdb.errors import shown

__all__ = [
    "FTS5_TOKENIZER",
    "WILDCARD",
    "found",
    "is_prefix",
    "scanned",
    "search_terms",
    "tokenize",
]

#: The tokenizer clause of rookdb's FTS5 tables.
FTS5_TOKENIZER = "unicode61 remove_diacritics 0"

#: The wildcard of search terms (no token holds it).
WILDCARD = "*"


@lru_cache(maxsize=4096)
def _fold(char: str) -> str | None:
    """The folded character, or None if it separates tokens."""
    category = unicodedata.category(char)
    if category[0] not in "LN" and category != "Co":
        return None
    lower = char.lower()
    return lower if len(lower) == 1 else char


def tokenize(text: str) -> list[str]:
    """The folded tokens of ``text``, in order."""
    tokens: list[str] = []
    current: list[str] = []
    for char in text:
        folded = _fold(char)
        if folded is None:
            if current:
                tokens.append("".join(current))
                current = []
        else:
            current.append(folded)
    if current:
        tokens.append("".join(current))
    return tokens


def search_terms(text: str) -> list[str]:
    """The terms of a search text: its words (split at white space) without a ``*`` give
    their tokens; a word with one is a wildcard term, which must be one token's characters
    with ``*`` at its start, its end or both, else ``ValueError`` naming it."""
    terms: list[str] = []
    for word in text.split():
        if WILDCARD not in word:
            terms.extend(tokenize(word))
            continue
        core = word.strip(WILDCARD)
        tokens = tokenize(core)
        if len(tokens) != 1 or len(tokens[0]) != len(core):
            raise ValueError(
                f"search term {shown(word)}: a wildcard * stands at the start or the end (or both)"
                " of one word of letters and digits"
            )
        start = WILDCARD if word.startswith(WILDCARD) else ""
        end = WILDCARD if word.endswith(WILDCARD) else ""
        terms.append(start + tokens[0] + end)
    return terms


def is_prefix(term: str) -> bool:
    """Whether ``term`` is a token with a trailing ``*`` only (a prefix)."""
    return term.endswith(WILDCARD) and not term.startswith(WILDCARD)


def scanned(terms: tuple[str, ...]) -> bool:
    """Whether a search of ``terms`` reads every text: a leading ``*`` (a word that ends so, or
    holds it) is no lookup in a full-text index, whose words are in order from their start."""
    return any(term.startswith(WILDCARD) for term in terms)


def found(term: str, tokens: set[str]) -> bool:
    """Whether a text of ``tokens`` matches the search ``term``."""
    if not term.endswith(WILDCARD):
        if term.startswith(WILDCARD):
            return any(t.endswith(term[1:]) for t in tokens)
        return term in tokens
    if term.startswith(WILDCARD):
        return any(term[1:-1] in t for t in tokens)
    return any(t.startswith(term[:-1]) for t in tokens)
