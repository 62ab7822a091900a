"""One compiled form for every kind of index (LINQ map, multi-map, map-reduce, JavaScript):
the interface index storage calls.

``compile_index(definition)`` checks a definition (its name, the options rookdb refuses,
each map and the reduce) and answers a ``CompiledIndex``::

    index = compile_index(definition)
    if index.reads(collection):
        out = index.map(document, collection, load)  # MapOutput(entries, loaded_ids)
    key = index.group_key(entry)                      # a map-reduce's group of an entry
    keys = index.group_keys(out.entries)              # the same, of several at once
    results = index.reduce(entries_of_one_group)      # that group's reduce results

``document`` is the stored JSON with its ``@metadata`` (``Id(doc)`` / ``id(doc)`` read
``@id``); ``load(id)`` answers a document, or None, in the caller's transaction, and
``loaded_ids`` are the ids the map asked for (found or not), so storage can index the
document again when one of them changes. ``reduce`` is applied to the map entries of one
group; reducing its outputs again gives the same results only when ``rereducible`` (no
``Count()``, ``Average``, ``Distinct`` in a LINQ reduce; a JavaScript reduce is never
assumed so), so storage reduces a touched group from its map entries unless it is.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import orjson

from rookdb.errors import IndexCompilationError, shown
from rookdb.indexes.creation_tasks import ALL_FIELDS, MAX_NAME_LENGTH
from rookdb.indexes.definitions import (
    FieldIndexing,
    FieldStorage,
    IndexDefinition,
    IndexSourceType,
    IndexType,
    detect_index_type,
    detect_source_type,
)
from rookdb.indexes.linq_evaluator import LinqMap, LinqReduce, Loader, compile_map, compile_reduce
from rookdb.indexes.linq_runtime import group_hash

__all__ = ["CompiledIndex", "MapOutput", "compile_index"]


@dataclasses.dataclass(frozen=True, slots=True)
class MapOutput:
    """What the maps made of one document: its index entries, and the ids it loaded."""

    entries: list[dict[str, Any]]
    loaded_ids: set[str]


#: A JavaScript text that may call ``load`` (conservative: in a string or a comment too).
_NAMES_LOAD = re.compile(r"\bload\b")

_MapRun = Callable[[dict[str, Any], Loader], tuple[list[dict[str, Any]], set[str]]]


@dataclasses.dataclass(frozen=True)
class CompiledIndex:
    """A checked, compiled index (see the module's docstring for the calls).

    ``map_collections``: the collection each map reads (None: every collection);
    ``fields``: the fields of the entries (and of the reduce results), None for a
    JavaScript index (known from its entries only); ``search_fields``: full-text fields;
    ``stored_fields``: fields stored for projections (``__all_fields``: all);
    ``loads_documents``: whether a map may load documents (LINQ: it calls ``LoadDocument``;
    JavaScript: its text names ``load``, which cannot be told apart from an alias of it),
    so that storage looks up who loaded a changed document only when some index may have."""

    definition: IndexDefinition
    type: IndexType
    map_collections: tuple[str | None, ...]
    fields: tuple[str, ...] | None
    rereducible: bool
    loads_documents: bool
    search_fields: frozenset[str]
    stored_fields: frozenset[str]
    _maps: tuple[_MapRun, ...]
    _keys: Callable[[list[dict[str, Any]]], list[Any]] | None
    _reduce: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None

    @property
    def name(self) -> str:
        return str(self.definition.name)

    @property
    def is_map_reduce(self) -> bool:
        return self._reduce is not None

    @property
    def collections(self) -> frozenset[str] | None:
        """The collections the index reads (lower case), None when a map reads them all."""
        if None in self.map_collections:
            return None
        return frozenset(str(c).lower() for c in self.map_collections)

    def reads(self, collection: str) -> bool:
        wanted = collection.lower()
        return any(c is None or c.lower() == wanted for c in self.map_collections)

    def map(self, document: dict[str, Any], collection: str, load: Loader) -> MapOutput:
        """The entries of ``document`` (of ``collection``) from every map that reads it;
        ``IndexEvaluationError`` when a map fails on it."""
        wanted = collection.lower()
        entries: list[dict[str, Any]] = []
        loaded: set[str] = set()
        for reads, run in zip(self.map_collections, self._maps, strict=True):
            if reads is None or reads.lower() == wanted:
                more, ids = run(document, load)
                entries.extend(more)
                loaded |= ids
        return MapOutput(entries, loaded)

    def group_key(self, entry: dict[str, Any]) -> tuple[Any, ...]:
        """The group ``entry`` belongs to: a hashable tuple, equal for entries the reduce
        groups together (``orjson.dumps`` of it is a stable text form)."""
        return self.group_keys([entry])[0]

    def group_keys(self, entries: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """``group_key`` of each entry, in one call (a JavaScript index runs them in one
        runtime)."""
        if self._keys is None:
            raise IndexCompilationError(f"the index {self.name} has no reduce")
        return [(group_hash(key),) for key in self._keys(entries)]

    def reduce(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The reduce's results over the entries of one group (map entries, or reduce
        results when ``rereducible``)."""
        if self._reduce is None:
            raise IndexCompilationError(f"the index {self.name} has no reduce")
        return self._reduce(entries)


def _check_name(name: Any, auto: bool) -> str:
    if not isinstance(name, str) or not name.strip():
        raise IndexCompilationError("an index needs a name")
    if len(name) > MAX_NAME_LENGTH:
        raise IndexCompilationError(f"an index name is at most {MAX_NAME_LENGTH} characters")
    if name.lower().startswith("auto/") != auto:
        if auto:
            raise IndexCompilationError(
                f"an automatic index's name starts with 'Auto/': {shown(name)}"
            )
        raise IndexCompilationError(
            f"index names starting with 'Auto/' are RavenDB's: {shown(name)}"
        )
    if any(ord(char) < 32 for char in name):
        raise IndexCompilationError(f"an index name has no control characters: {shown(name)}")
    return name


def _check_options(definition: IndexDefinition) -> None:
    sources = {definition.source_type} | {detect_source_type(m) for m in definition.maps}
    for source in (IndexSourceType.COUNTERS, IndexSourceType.TIME_SERIES):
        if source in sources:
            raise IndexCompilationError(f"indexes over {source.value} are not supported")
    if definition.additional_assemblies:
        raise IndexCompilationError("additional assemblies are not supported (no C# compiler)")
    if definition.output_reduce_to_collection:
        raise IndexCompilationError("OutputReduceToCollection is not supported")
    for field, options in definition.fields.items():
        if options.spatial is not None:
            raise IndexCompilationError(f"the spatial field {shown(field)} is not supported")
        if options.vector is not None:
            raise IndexCompilationError(f"the vector field {shown(field)} is not supported")


def _linq(definition: IndexDefinition, maps: list[str]) -> dict[str, Any]:
    if definition.additional_sources:
        raise IndexCompilationError("additional C# sources are not supported in a LINQ index")
    compiled: list[LinqMap] = [compile_map(text) for text in maps]
    first = compiled[0]
    for other in compiled[1:]:
        if set(other.fields) != set(first.fields):
            raise IndexCompilationError(
                "the maps of a multi-map index yield the same fields: "
                f"{sorted(first.fields)} and {sorted(other.fields)}",
                source=other.text,
            )
    reduce: LinqReduce | None = None
    if definition.reduce is not None and definition.reduce.strip():
        reduce = compile_reduce(definition.reduce)
        if set(reduce.fields) != set(first.fields):
            raise IndexCompilationError(
                "a map-reduce index's reduce yields the fields of its map: the map has "
                f"{sorted(first.fields)}, the reduce {sorted(reduce.fields)}",
                source=reduce.text,
            )
    return {
        "map_collections": tuple(m.collection for m in compiled),
        "fields": tuple(dict.fromkeys(f for m in compiled for f in m.fields)),
        "rereducible": reduce is not None and reduce.rereducible,
        "loads_documents": any(m.loads for m in compiled),
        "_maps": tuple(m.run for m in compiled),
        "_keys": None if reduce is None else (lambda entries: [reduce.key(e) for e in entries]),
        "_reduce": None if reduce is None else reduce.run,
    }


def _javascript(definition: IndexDefinition, maps: list[str]) -> dict[str, Any]:
    from rookdb.scripting.index_engine import JavaScriptIndexProgram

    reduce = definition.reduce if definition.reduce and definition.reduce.strip() else None
    program = JavaScriptIndexProgram(maps, reduce, definition.additional_sources)

    def runner(number: int) -> _MapRun:
        return lambda document, load: program.run_map(number, document, load)

    return {
        "map_collections": tuple(program.collections),
        "fields": None,
        "rereducible": False,
        "loads_documents": any(
            _NAMES_LOAD.search(text)
            for text in [*maps, *(definition.additional_sources or {}).values()]
        ),
        "_maps": tuple(runner(n) for n in range(len(program.collections))),
        "_keys": None
        if reduce is None
        else (lambda entries: [orjson.loads(text) for text in program.keys(entries)]),
        "_reduce": None if reduce is None else program.reduce,
    }


def compile_index(definition: IndexDefinition, *, auto: bool = False) -> CompiledIndex:
    """Check and compile ``definition``; ``IndexCompilationError`` naming what is refused
    (with its line and column in the map or reduce at fault, when it is there). ``auto``:
    an automatic index rookdb made (``rookdb.aggregation``), whose name, and only whose,
    starts with ``Auto/``."""
    _check_name(definition.name, auto)
    _check_options(definition)
    maps = sorted(m for m in definition.maps if isinstance(m, str) and m.strip())
    if not maps or len(maps) != len(definition.maps):
        raise IndexCompilationError(f"the index {shown(definition.name)} needs maps (non-empty)")
    kinds = {detect_index_type([m], definition.reduce) for m in maps}
    if len(kinds) > 1:
        raise IndexCompilationError("an index's maps are all LINQ or all JavaScript")
    kind = kinds.pop()
    is_linq = kind in (IndexType.MAP, IndexType.MAP_REDUCE)
    parts = _linq(definition, maps) if is_linq else _javascript(definition, maps)
    search = {
        name
        for name, options in definition.fields.items()
        if options.indexing in (FieldIndexing.SEARCH, FieldIndexing.HIGHLIGHTING)
    }
    stored = {
        name for name, options in definition.fields.items() if options.storage is FieldStorage.YES
    }
    if ALL_FIELDS in stored and parts["fields"] is not None:
        stored |= set(parts["fields"])
    return CompiledIndex(
        definition=definition,
        type=kind,
        search_fields=frozenset(search),
        stored_fields=frozenset(stored),
        **parts,
    )
