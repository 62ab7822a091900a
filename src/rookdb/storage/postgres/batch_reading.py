"""How the PostgreSQL write path reads a batch: kept as it is read (a retried transaction
reads a generator's commands again), in chunks of statements, with each forced revision's
place among the patches' replies noted as it passes (``relational.revisions``), and each
chunk in spans of commands on distinct keys (``spans``)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

from rookdb.storage.commands import (
    ATTACHMENT_COMMANDS,
    Command,
    CountersCommand,
    ForceRevisionCommand,
    PutCommand,
)
from rookdb.storage.patching import Patching
from rookdb.storage.records import document_key

__all__ = ["Replay", "Span", "chunks", "placed", "spans"]


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
        if type(command) is not PutCommand and (  # (a put, the common command: one test)
            type(command) is ForceRevisionCommand
            or type(command) is CountersCommand
            or isinstance(command, ATTACHMENT_COMMANDS)
        ):
            places[id(command)] = (patching.replies_so_far, len(places))
        yield command


class Span(NamedTuple):
    """Commands ``start:stop`` of ``batch`` (a chunk of a batch), on distinct keys; ``ids``
    are the completed ids (SPEC S14) and ``keys`` their lower-cased keys, one per command."""

    batch: Sequence[Command]
    ids: list[str]
    keys: list[str]
    start: int
    stop: int


def spans(batch: Sequence[Command], ids: list[str]) -> Iterator[Span]:
    """Runs of consecutive commands on distinct keys: inside a run the order of commands does
    not matter, so each kind of command is one statement; a key seen again starts a new run."""
    keys = list(map(document_key, ids))
    if len(set(keys)) == len(keys) and not any(
        issubclass(kind, ATTACHMENT_COMMANDS) for kind in {*map(type, batch)}
    ):
        # The common chunk (a session's save: one command per document), found in C.
        if keys:
            yield Span(batch, ids, keys, 0, len(keys))
        return
    start = 0
    seen: set[str] = set()
    for position, key in enumerate(keys):
        if isinstance(batch[position], ATTACHMENT_COMMANDS):
            # Alone, in batch order: it reads and writes documents as the batch left them.
            if start < position:
                yield Span(batch, ids, keys, start, position)
            yield Span(batch, ids, keys, position, position + 1)
            start, seen = position + 1, set()
            continue
        if key in seen:
            yield Span(batch, ids, keys, start, position)
            start, seen = position, set()
        seen.add(key)
    if start < len(keys):
        yield Span(batch, ids, keys, start, len(keys))
