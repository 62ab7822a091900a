"""The one boundary per driver where its errors become rookdb's (``rookdb.errors``).

Every storage call that reaches the database runs inside ``with self._errors("read documents"):``
(the action completes the message: "SQLite failed to read documents: ..."). A driver's error
leaving the block is translated once, here, keeping its cause (``original=exc`` and
``raise ... from exc``); rookdb's own errors pass as they are. Each dialect subclasses
``DriverErrors`` for its driver, and again where an action gives some errors another meaning
(a query past the database's limits is a ``QueryError``, not a storage failure).

A class-based context manager, not a generator: one is entered on every storage call.
"""

from __future__ import annotations

import abc
from types import TracebackType
from typing import ClassVar

from rookdb.errors import RookError

__all__ = ["DriverErrors"]


class DriverErrors(abc.ABC):
    """``with DriverErrors(action):`` translates the driver's errors raised in the block."""

    __slots__ = ("action",)

    #: The base class of the driver's errors (``sqlite3.Error``, ``psycopg.Error``).
    driver: ClassVar[type[Exception]]

    def __init__(self, action: str) -> None:
        self.action = action

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is not None and isinstance(exc, self.driver):
            raise self.translate(exc) from exc

    @abc.abstractmethod
    def translate(self, exc: Exception) -> RookError:
        """The rookdb error that ``exc`` (one of the driver's) means for this action."""
