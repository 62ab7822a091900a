"""Includes: load documents together with those they reference, in one request (SPEC S15).

``session.load(id, includes=...)`` takes a path, a list of paths or a function of an
``IncludeBuilder``; ``session.include(path).load(id)`` is the fluent form.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rookdb.session import DocumentSession

__all__ = ["IncludeBuilder", "LoaderWithInclude", "include_paths"]


class IncludeBuilder:
    """Collects include paths for ``load(..., includes=lambda b: b.include_documents("x"))``."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def include_documents(self, path: str) -> IncludeBuilder:
        self.paths.append(path)
        return self


def include_paths(includes: Any) -> tuple[str, ...]:
    """The paths ``load``'s ``includes`` argument names: None, a path, paths, or a function
    that fills an ``IncludeBuilder``."""
    if includes is None:
        return ()
    if isinstance(includes, str):
        return (includes,)
    if callable(includes):
        builder = IncludeBuilder()
        includes(builder)
        return tuple(builder.paths)
    return tuple(includes)


class LoaderWithInclude:
    """``session.include("company_id").load("employees/1-A", Employee)``."""

    def __init__(self, session: DocumentSession, path: str) -> None:
        self._session = session
        self._paths = [path]

    def include(self, path: str) -> LoaderWithInclude:
        self._paths.append(path)
        return self

    def load(self, id_or_ids: Any, object_type: type[Any] | None = None) -> Any:
        return self._session.load(id_or_ids, object_type, includes=list(self._paths))
