"""Which classes ``load`` may build from a stored ``Raven-Python-Type`` (SPEC D3)."""

from __future__ import annotations

__all__ = ["TypeRegistry", "python_type_name", "type_registry"]


def python_type_name(cls: type) -> str:
    """The ``Raven-Python-Type`` metadata value of a class: ``module.QualifiedName``."""
    return f"{cls.__module__}.{cls.__qualname__}"


class TypeRegistry:
    """Classes ``load`` may build from a stored ``Raven-Python-Type`` (SPEC D3).

    A class is registered when it is stored or loaded in this process, or explicitly through
    ``conventions.register_type``. Names found in data are only ever looked up here: rookdb never
    imports a module because a document names it.
    """

    def __init__(self) -> None:
        self._by_name: dict[str, type] = {}

    def register(self, cls: type) -> None:
        self._by_name[python_type_name(cls)] = cls

    def lookup(self, name: object) -> type | None:
        return self._by_name.get(name) if isinstance(name, str) else None


#: The process-wide registry.
type_registry = TypeRegistry()
