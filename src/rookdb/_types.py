"""Type aliases shared across rookdb, in one place."""

from __future__ import annotations

from typing import Any

__all__ = ["JsonDict", "JsonValue"]

#: A decoded JSON value: None, bool, int, float, str, list or dict (not narrowed further:
#: documents are user data of any shape).
JsonValue = Any

#: A decoded JSON object, such as a document body or its ``@metadata``.
JsonDict = dict[str, Any]
