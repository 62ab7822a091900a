"""Per-session options (SPEC §2.2)."""

from __future__ import annotations

import enum

from rookdb.arguments import check_instance, check_truthy
from rookdb.errors import ConfigurationError, InvalidArgumentError, shown

__all__ = ["OptimisticConcurrencyMode", "SessionOptions"]


class OptimisticConcurrencyMode(str, enum.Enum):
    """How a session checks change vectors when it saves (SPEC S19).

    ``WRITES``: every written or deleted document must still have the change vector the session
    read (new documents must not exist). ``WRITES_AND_READS``: also every document the session
    read but does not write, and every id it found missing.
    """

    NONE = "none"
    WRITES = "writes"
    WRITES_AND_READS = "writes_and_reads"

    def __str__(self) -> str:
        return self.value


class SessionOptions:
    """Options of one session::

        store.open_session(session_options=SessionOptions(no_tracking=True))

    ``no_tracking`` with a concurrency mode other than ``NONE`` is refused: a session that
    tracks nothing has nothing to check.
    """

    __slots__ = ("database", "no_tracking", "optimistic_concurrency_mode")

    def __init__(
        self,
        database: str | None = None,
        no_tracking: bool | None = False,
        optimistic_concurrency_mode: OptimisticConcurrencyMode | None = None,
    ) -> None:
        check_instance(
            optimistic_concurrency_mode,
            OptimisticConcurrencyMode,
            "optimistic_concurrency_mode",
            optional=True,
        )
        no_tracking = check_truthy(no_tracking, "no_tracking", optional=True)
        if database is not None and not isinstance(database, str):
            raise InvalidArgumentError(f"database is a str or None, not {shown(database)}")
        if no_tracking and optimistic_concurrency_mode not in (
            None,
            OptimisticConcurrencyMode.NONE,
        ):
            raise ConfigurationError(
                "a no-tracking session cannot use optimistic concurrency: it tracks nothing"
            )
        self.database = database
        self.no_tracking = no_tracking
        self.optimistic_concurrency_mode = optimistic_concurrency_mode

    def __repr__(self) -> str:
        return (
            f"SessionOptions(database={self.database!r}, no_tracking={self.no_tracking}, "
            f"optimistic_concurrency_mode={self.optimistic_concurrency_mode})"
        )
