"""Server-side patches in JavaScript, as RavenDB runs them, in an embedded sandboxed engine.

A patch script runs with RavenDB's patch API: ``this`` is the document (with its
``@metadata``), ``args`` the patch's values, and ``load(id)``, ``put(id, doc)``, ``del(id)``,
``id(doc)`` and ``getMetadata(doc)`` reach the other documents of the database, in the same
transaction as the batch that carries the patch (``rookdb.storage.patching``).

The engine is QuickJS (the ``quickjs-ng`` package, ``pip install 'rookdb[scripting]'``; the
server extra has it): each script runs in a fresh runtime of its own, without file system,
network, timers or modules, under two limits (``ScriptLimits``):

- ``time_limit``: seconds of CPU time of the thread running the script (its own, not the
  process's: ``watchdog``; default 2.0); past it the script is interrupted and the
  batch fails with ``PatchScriptLimitError`` (``limit == "time"``);
- ``memory_limit``: bytes the runtime may allocate (default 64 MiB), documents included;
  past it, ``PatchScriptLimitError`` (``limit == "memory"``).

Set them for the process with ``configure(...)`` or the environment variables
``ROOKDB_SCRIPT_TIME_LIMIT`` (seconds) and ``ROOKDB_SCRIPT_MEMORY_LIMIT`` (bytes), which
``rookdb serve`` reads too.
"""

from __future__ import annotations

import dataclasses
import os

from rookdb.errors import ConfigurationError, shown

__all__ = ["ScriptLimits", "configure", "limits"]

#: The defaults: generous for a patch, short enough that a runaway script holding a write
#: transaction is stopped before clients time out.
DEFAULT_TIME_LIMIT = 2.0
DEFAULT_MEMORY_LIMIT = 64 * 1024 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class ScriptLimits:
    """The limits of one script run: CPU seconds, and bytes of the engine's heap."""

    time_limit: float = DEFAULT_TIME_LIMIT
    memory_limit: int = DEFAULT_MEMORY_LIMIT

    def __post_init__(self) -> None:
        if not (type(self.time_limit) in (int, float) and 0 < self.time_limit <= 3600):
            raise ConfigurationError(
                f"the script time limit is seconds in (0, 3600], not {shown(self.time_limit)}"
            )
        if not (type(self.memory_limit) is int and 1 << 20 <= self.memory_limit <= 1 << 34):
            raise ConfigurationError(
                "the script memory limit is bytes in [1 MiB, 16 GiB], "
                f"not {shown(self.memory_limit)}"
            )


def _from_environment() -> ScriptLimits:
    def number(name: str, kind: type[float] | type[int], default: float) -> float:
        text = os.environ.get(name)
        if text is None or not text.strip():
            return default
        try:
            return kind(text)
        except ValueError:
            raise ConfigurationError(f"{name} must be a number, not {shown(text)}") from None

    return ScriptLimits(
        float(number("ROOKDB_SCRIPT_TIME_LIMIT", float, DEFAULT_TIME_LIMIT)),
        int(number("ROOKDB_SCRIPT_MEMORY_LIMIT", int, DEFAULT_MEMORY_LIMIT)),
    )


_limits: ScriptLimits | None = None


def limits() -> ScriptLimits:
    """The limits every script of this process runs under (``configure``, else the
    environment, else the defaults)."""
    global _limits
    if _limits is None:
        _limits = _from_environment()
    return _limits


def configure(*, time_limit: float | None = None, memory_limit: int | None = None) -> ScriptLimits:
    """Set the limits of the scripts this process runs from now on; returns them."""
    global _limits
    current = limits()
    _limits = ScriptLimits(
        current.time_limit if time_limit is None else time_limit,
        current.memory_limit if memory_limit is None else memory_limit,
    )
    return _limits
