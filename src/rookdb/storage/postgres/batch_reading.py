"""How the PostgreSQL write path reads a batch: kept as it is read (a retried transaction
reads a generator's commands again), in chunks of statements, with each forced revision's
place among the patches' replies noted as it passes (``relational.revisions``)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

from rookdb.storage.patching import Patching
from rookdb.storage.records import (
    ATTACHMENT_COMMANDS,
    Command,
    CountersCommand,
    ForceRevisionCommand,
)

__all__ = ["Replay", "chunks", "placed"]


class Replay:
    """The commands of a batch read from a generator, kept as they are read, so that a
    retried transaction reads the same batch again."""

    def __init__(self, source: Iterable[Command]) -> None:
        self._source = iter(source)
        self._read: list[Command] = []

    def __iter__(self) -> Iterator[Command]:
        yield from self._read
        for command in self._source:
            self._read.append(command)
            yield command


def chunks(batch: Iterable[Command], size: int) -> Iterator[list[Command]]:
    commands = iter(batch)
    while chunk := list(itertools.islice(commands, size)):
        yield chunk


def placed(patching: Patching, places: dict[int, tuple[int, int]]) -> Iterator[Command]:
    """``patching``'s commands, the place of each forced revision and counters command
    noted in ``places`` (by the command's ``id()``) as it passes: how many patches' replies
    come before its reply, and its number among those commands (their replies' order)."""
    for command in patching:
        if (
            type(command) is ForceRevisionCommand
            or type(command) is CountersCommand
            or isinstance(command, ATTACHMENT_COMMANDS)
        ):
            places[id(command)] = (patching.replies_so_far, len(places))
        yield command
