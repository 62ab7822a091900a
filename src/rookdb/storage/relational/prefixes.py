"""Prefixes of strings as ranges of keys, for the compilers of every dialect: an index seeks
``value >= prefix AND value < successor(prefix)``, in code-point order."""

from __future__ import annotations

__all__ = ["successor"]


def successor(prefix: str) -> str | None:
    """The least string greater than every string that starts with ``prefix`` (or None)."""
    while prefix and prefix[-1] == "\U0010ffff":
        prefix = prefix[:-1]
    if not prefix:
        return None
    following = ord(prefix[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # no surrogates in UTF-8 text
        following = 0xE000
    return prefix[:-1] + chr(following)
