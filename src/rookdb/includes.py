"""Includes: load documents together with those they reference, in one request (SPEC S15).

``session.load(id, includes=...)`` takes a path, a list of paths or a function of an
``IncludeBuilder``; ``session.include(path).load(id)`` is the fluent form. The builder also
includes the loaded documents' counters (``include_counter``, ``include_counters``,
``include_all_counters``, RavenDB's names), read with them and kept in the session's cache
(``rookdb.counters``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rookdb.arguments import check_list
from rookdb.errors import InvalidArgumentError, InvalidOperationError, shown
from rookdb.paths import parse_field_path
from rookdb.storage.commands import validate_counter_name

if TYPE_CHECKING:
    from rookdb.session import DocumentSession

__all__ = [
    "IncludeBuilder",
    "LoaderWithInclude",
    "check_include_path",
    "include_paths",
    "include_spec",
]

ALL_COUNTERS = _ALL = "@all_counters"  # storage.records.ALL_COUNTERS


class IncludeBuilder:
    """Collects include paths for ``load(..., includes=lambda b: b.include_documents("x"))``."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.counters: list[str] = []

    def include_documents(self, path: str) -> IncludeBuilder:
        self.paths.append(check_include_path(path))
        return self

    def include_counter(self, name: str) -> IncludeBuilder:
        """The loaded documents' counter ``name`` too (in the session's counters cache)."""
        return self.include_counters([name])

    def include_counters(self, *names: str | list[str]) -> IncludeBuilder:
        """The loaded documents' counters of ``names``: a list (rookdb's form) or the names
        themselves (RavenDB's ``include_counters("a", "b")``)."""
        flat = [
            n
            for item in names
            for n in ([item] if isinstance(item, str) else check_list(item, "counter names"))
        ]
        if _ALL in self.counters:
            raise InvalidOperationError("all counters are included already: not some of them")
        self.counters.extend(validate_counter_name(n) for n in flat)
        return self

    def include_all_counters(self) -> IncludeBuilder:
        if self.counters and _ALL not in self.counters:
            raise InvalidOperationError("some counters are included already: not all of them")
        self.counters = [_ALL]
        return self


def check_include_path(path: Any) -> str:
    """``path`` if it can be an include path: a field path (``rookdb.paths``, a
    ``QueryError`` otherwise), as the storage that follows it reads it."""
    parse_field_path(path)
    return path  # type: ignore[no-any-return]


def include_paths(includes: Any) -> tuple[str, ...]:
    """The paths ``load``'s ``includes`` argument names: None, a path, paths, or a function
    that fills an ``IncludeBuilder``."""
    return include_spec(includes)[0]


def include_spec(includes: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The paths and the counter names (``"@all_counters"``: every one) ``load``'s
    ``includes`` argument names."""
    if includes is None:
        return (), ()
    if isinstance(includes, str):
        return (check_include_path(includes),), ()
    if isinstance(includes, IncludeBuilder):
        return tuple(includes.paths), tuple(dict.fromkeys(includes.counters))
    if callable(includes):
        builder = IncludeBuilder()
        includes(builder)
        return tuple(builder.paths), tuple(dict.fromkeys(builder.counters))
    if isinstance(includes, (bytes, bytearray)) or not isinstance(includes, Iterable):
        raise InvalidArgumentError(
            "includes is a path, a list of paths or a function of an IncludeBuilder, not "
            f"{shown(includes)}"
        )
    return tuple(map(check_include_path, includes)), ()


class LoaderWithInclude:
    """``session.include("company_id").load("employees/1-A", Employee)``."""

    def __init__(self, session: DocumentSession, path: str | None = None) -> None:
        self._session = session
        self._builder = IncludeBuilder()
        if path is not None:
            self._builder.include_documents(path)

    def include(self, path: str) -> LoaderWithInclude:
        self._builder.include_documents(path)
        return self

    def include_counter(self, name: str) -> LoaderWithInclude:
        self._builder.include_counter(name)
        return self

    def include_counters(self, *names: str | list[str]) -> LoaderWithInclude:
        self._builder.include_counters(*names)
        return self

    def include_all_counters(self) -> LoaderWithInclude:
        self._builder.include_all_counters()
        return self

    def load(self, id_or_ids: Any, object_type: type[Any] | None = None) -> Any:
        return self._session.load(id_or_ids, object_type, includes=self._builder)
