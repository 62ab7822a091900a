"""``load_starting_with``'s rules, as RavenDB's server applies them, for every backend.

Documents whose id starts with a prefix (case-insensitive), in id order; of those, only the ones
whose *rest of the id* (what follows the prefix) ``matches`` a pattern and does not match the
``exclude`` pattern; ``start_after`` (an id) starts the walk after that id; then ``start``
matching documents are skipped and ``page_size`` returned.

A pattern is RavenDB's: alternatives separated by ``|``, each matched against the whole rest of
the id, case-insensitively, ``*`` standing for any run of characters and ``?`` for one. An
empty pattern matches everything (``matches``) or nothing (``exclude``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from rookdb.errors import ConfigurationError
from rookdb.ids import MAX_ID_BYTES, validate_id
from rookdb.query import check_count
from rookdb.storage.records import DocumentRecord, PrefixRead, document_key

__all__ = [
    "MAX_PATTERN_LENGTH",
    "check_pattern",
    "check_prefix_read",
    "id_filter",
    "range_start",
    "select_page",
]

#: The longest ``matches`` or ``exclude`` pattern: 64 alternatives as long as an id (longer
#: ones could never match one), so that a hostile one is refused at once rather than turned
#: into a regular expression of many megabytes, which takes seconds per megabyte.
MAX_PATTERN_LENGTH = 64 * MAX_ID_BYTES


def check_prefix_read(read: PrefixRead) -> PrefixRead:
    """``read`` if its arguments are ones every backend accepts; a typed error otherwise."""
    if read.prefix:
        validate_id(read.prefix)  # a prefix no id can start with is a mistake
    check_count(read.start, "start")
    check_count(read.page_size, "page_size")
    for name, value in (("matches", read.matches), ("exclude", read.exclude)):
        if type(value) is not str:
            raise ConfigurationError(f"{name} is a pattern (a str), not {type(value).__name__}")
        check_pattern(value, name)
    if type(read.start_after) is not str:
        raise ConfigurationError("start_after is a document id (a str)")
    if read.start_after:
        validate_id(read.start_after)
    return read


def check_pattern(pattern: str, what: str) -> str:
    """``pattern`` unless it is longer than ``MAX_PATTERN_LENGTH``."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ConfigurationError(
            f"{what} is a pattern of at most {MAX_PATTERN_LENGTH} characters, not {len(pattern)}"
        )
    return pattern


def _pattern(pattern: str) -> re.Pattern[str]:
    alternatives = []
    for alternative in pattern.split("|"):
        parts = (
            ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in alternative.lower()
        )
        alternatives.append("".join(parts))
    return re.compile("|".join(f"(?:{a})" for a in alternatives), re.DOTALL)


def id_filter(prefix: str, matches: str, exclude: str) -> Callable[[str], bool] | None:
    """Whether a document id (starting with ``prefix``) passes ``matches`` and ``exclude``;
    None when every id does (no pattern): storage can then page by itself."""
    if not matches and not exclude:
        return None
    keep = _pattern(matches).fullmatch if matches else None
    drop = _pattern(exclude).fullmatch if exclude else None
    cut = len(prefix)

    def passes(document_id: str) -> bool:
        rest = document_id[cut:].lower()
        if keep is not None and keep(rest) is None:
            return False
        return drop is None or drop(rest) is None

    return passes


def range_start(prefix: str, start_after: str) -> str:
    """The least key the walk reads: the prefix's, or ``start_after``'s (``select_page``
    drops it: the walk goes on *after* it)."""
    low = document_key(prefix)
    return max(low, document_key(start_after)) if start_after else low


def select_page(records: Iterable[DocumentRecord], read: PrefixRead) -> list[DocumentRecord]:
    """The page ``read`` asks for, of ``records`` (every document from ``range_start`` that
    starts with the prefix, in key order): read only as far as the page needs."""
    passes = id_filter(read.prefix, read.matches, read.exclude)
    after = document_key(read.start_after) if read.start_after else None
    skip = read.start
    page: list[DocumentRecord] = []
    if read.page_size == 0:
        return page
    for record in records:
        if after is not None and document_key(record.id) <= after:
            continue
        if passes is not None and not passes(record.id):
            continue
        if skip:
            skip -= 1
            continue
        page.append(record)
        if len(page) == read.page_size:
            break
    return page
