"""How the conformance suite makes a fresh database URL for each backend."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

__all__ = ["BACKENDS", "BackendSpec"]


@dataclasses.dataclass(frozen=True)
class BackendSpec:
    """A backend under test: its name, and a fresh URL in a temporary directory. What the
    backend can do is its ``Capabilities``, not declared here again."""

    name: str
    make_url: Callable[[Path], str]


BACKENDS: dict[str, BackendSpec] = {
    "memory": BackendSpec("memory", lambda tmp: "memory://"),
    "sqlite": BackendSpec("sqlite", lambda tmp: f"sqlite:///{tmp / 'data'}"),
}
