"""``assert_never``, for ``match`` statements over a closed union (the query predicates,
``rookdb.query.Predicate``): ending one with ``case _: assert_never(x)`` makes mypy name any
case left out, so a predicate added to the union cannot be missed by a dialect."""

from __future__ import annotations

import sys

__all__ = ["assert_never"]

if sys.version_info >= (3, 11):
    from typing import assert_never
else:  # typing.assert_never is new in 3.11
    from typing import NoReturn

    def assert_never(value: NoReturn, /) -> NoReturn:
        """Unreachable when every case of a union is handled; mypy checks that it is."""
        raise AssertionError(f"unhandled case: {value!r}")
