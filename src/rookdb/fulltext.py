"""Full-text tokens, as SQLite FTS5's ``unicode61`` tokenizer makes them (SPEC Q1 ``search``).

A token is a maximal run of letters, digits and private-use characters; everything else
separates tokens. Tokens are folded with *simple* (one-to-one) lower-casing, character by
character, as ``unicode61`` does: ``ΣΑΣ`` folds to ``σασ`` (not ``σας``), and a character
whose lower case is longer (``İ``) is kept. Diacritics are kept (``remove_diacritics 0``).

SQLite's tables date from Unicode 6.1: characters added to Unicode since then are letters to
Python but separators to SQLite, so search is only exact for text in Unicode 6.1.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

__all__ = ["FTS5_TOKENIZER", "tokenize"]

#: The tokenizer clause of rookdb's FTS5 tables.
FTS5_TOKENIZER = "unicode61 remove_diacritics 0"


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
