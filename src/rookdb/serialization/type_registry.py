"""Which classes ``load`` may build from a stored ``Raven-Python-Type`` (SPEC D3)."""

from __future__ import annotations

__all__ = ["TypeRegistry", "python_type_name"]


def python_type_name(cls: type) -> str:
    """The ``Raven-Python-Type`` metadata value of a class: ``module.QualifiedName``."""
    return f"{cls.__module__}.{cls.__qualname__}"


class TypeRegistry:
    """Classes ``load`` may build from a stored ``Raven-Python-Type`` (SPEC D3).

    Each ``DocumentStore`` owns one: a class is registered when that store's sessions store or
    load it, or explicitly through its ``conventions.register_type``. Names found in data are
    only ever looked up here: rookdb never imports a module because a document names it.
    """

    def __init__(self) -> None:
        self._by_name: dict[str, type] = {}

    def register(self, cls: type) -> None:
        self._by_name[python_type_name(cls)] = cls

    def lookup(self, name: object) -> type | None:
        return self._by_name.get(name) if isinstance(name, str) else None
