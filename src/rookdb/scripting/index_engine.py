"""JavaScript indexes run in QuickJS, with RavenDB's index API, under the scripts' limits.

The second entry point of ``rookdb.scripting`` beside the patch runner (``engine``): an
index's maps call ``map('Orders', function (o) { return {...}; })`` (a function's value is
one entry, a list of entries, or null for none; ``map('@all_docs', ...)`` reads every
collection), its reduce ``groupBy(r => r.Company).aggregate(g => ({ Company: g.key, ... }))``
with ``g.values`` the group's entries. ``load(id, collection)``, ``id(doc)`` and
``getMetadata(doc)`` are there (``index_prelude.js``); ``additional_sources`` are
evaluated first, for their functions.

Every run is in a fresh runtime (no state leaks from one document to the next; no file
system, network, timers or modules), under ``ScriptLimits`` as patches are. ``load`` is
answered as the patch runner answers it: the documents handed in before the run, and a
``load`` of one not handed yet runs the map again with it (at most ``MAX_LOADS``).
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import re
from collections.abc import Callable
from typing import Any

import orjson

from rookdb.errors import (
    IndexCompilationError,
    IndexEvaluationError,
    ScriptingUnavailableError,
    shown,
)
from rookdb.scripting import ScriptLimits, limits
from rookdb.scripting.engine import MAX_LOADS, _time_limit

__all__ = ["ALL_DOCS", "JavaScriptIndexProgram"]

#: The collection name of a map over every collection.
ALL_DOCS = "@all_docs"
_PRELUDE = (importlib.resources.files("rookdb.scripting") / "index_prelude.js").read_text("utf-8")
_FRAME = re.compile(r"at (?:(\S+) \()?<input>:(\d+):(\d+)")
# The prelude's functions: a stack frame in one is not a place in the index's script.
_PRELUDE_FUNCTIONS = frozenset(
    ("map", "groupBy", "aggregate", "load", "id", "getMetadata", "__RookMissing")
)


def _quickjs() -> Any:
    try:
        import quickjs
    except ImportError:
        raise ScriptingUnavailableError(
            "JavaScript indexes need the embedded engine: pip install 'rookdb[scripting]' "
            "(rookdb[server] has it); LINQ indexes do not"
        ) from None
    return quickjs


def _compile_error(text: str, what: str, source: str) -> IndexCompilationError:
    lines = text.strip().splitlines()
    message = lines[0] if lines else "it does not compile"
    line = column = None
    where = ""
    for match in _FRAME.finditer(text):
        if match.group(1) in _PRELUDE_FUNCTIONS or str(match.group(1)).startswith("__rook"):
            continue
        line, column = int(match.group(2)), int(match.group(3))
        where = f" (line {line}, column {column})"
        break
    return IndexCompilationError(
        f"the JavaScript {what} does not compile: {message}{where}",
        line=line,
        column=column,
        source=source,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _Script:
    what: str  # "map", "reduce", "additional source 'name'"
    text: str


class JavaScriptIndexProgram:
    """The maps and reduce of one JavaScript index, compiled (checked) once.

    ``collections``: the collection each ``map(...)`` call reads, in order (None: every
    collection). ``run_map(number, document, read)``: the entries of the map of that number
    for ``document`` and the ids it loaded; ``keys(entries)``: the group key of each entry,
    as JSON text; ``reduce(entries)``: the reduce's results over ``entries``."""

    def __init__(
        self,
        maps: list[str],
        reduce: str | None,
        additional_sources: dict[str, str] | None = None,
        script_limits: ScriptLimits | None = None,
    ) -> None:
        self._quickjs = _quickjs()
        self._limits = script_limits or limits()
        self._scripts = [
            _Script(f"additional source {shown(name)}", text)
            for name, text in sorted((additional_sources or {}).items())
        ]
        self._scripts += [_Script("map", text) for text in maps]
        if reduce is not None:
            self._scripts.append(_Script("reduce", reduce))
        context = self._context()
        collections = orjson.loads(context.eval("__rook_maps()"))
        if len(collections) < len(maps):
            raise IndexCompilationError(
                "a JavaScript map calls map('Collection', function (doc) { ... })"
            )
        if reduce is not None and context.eval("__rook.reduce === null"):
            raise IndexCompilationError(
                "a JavaScript reduce calls groupBy(x => key).aggregate(g => ({ ... }))"
            )
        self.collections: list[str | None] = [
            None if name == ALL_DOCS else str(name) for name in collections
        ]

    def _context(self) -> Any:
        context = self._quickjs.Context()
        context.set_memory_limit(self._limits.memory_limit)
        context.eval(_PRELUDE)
        for script in self._scripts:
            try:
                context.eval(script.text)
            except self._quickjs.JSException as exc:
                raise _compile_error(str(exc), script.what, script.text) from None
        return context

    def _call(self, context: Any, function: str, *args: Any) -> tuple[str | None, str]:
        """Run ``function`` in ``context`` under the time limit: its failure or its result."""
        run = context.get(function)
        with _time_limit(context, self._limits.time_limit) as measure:
            try:
                return None, str(run(*args))
            except (self._quickjs.JSException, self._quickjs.StackOverflow) as exc:
                failure = str(exc).strip()
        if failure.startswith("InternalError: interrupted"):
            failure = f"past its time limit ({self._limits.time_limit:g} s of {measure})"
        elif "out of memory" in failure or failure == "null":
            failure = f"past its memory limit ({self._limits.memory_limit:,} bytes)"
        return failure, ""

    def run_map(
        self,
        number: int,
        document: dict[str, Any],
        read: Callable[[str], dict[str, Any] | None],
    ) -> tuple[list[dict[str, Any]], set[str]]:
        doc_json = orjson.dumps(document).decode()
        docs: dict[str, str | None] = {}
        while True:
            context = self._context()
            failure, result = self._call(
                context, "__rook_map", number, doc_json, orjson.dumps(docs).decode()
            )
            missing = (
                orjson.loads(context.eval("JSON.stringify(__rook.missing)")) if failure else []
            )
            if missing:
                if len(docs) + len(missing) > MAX_LOADS:
                    raise IndexEvaluationError(f"the map loads more than {MAX_LOADS} documents")
                for wanted in missing:
                    found = read(wanted)
                    docs[wanted.lower()] = None if found is None else orjson.dumps(found).decode()
                continue
            if failure is not None:
                raise IndexEvaluationError(f"the JavaScript map failed: {failure.splitlines()[0]}")
            out = orjson.loads(result)
            entries = out["entries"]
            if not all(isinstance(entry, dict) for entry in entries):
                raise IndexEvaluationError("the JavaScript map returned a value not an object")
            return entries, set(out["loaded"])

    def keys(self, entries: list[dict[str, Any]]) -> list[str]:
        """The group key of each entry, as JSON text (one run for them all: a runtime costs
        more than most keys)."""
        context = self._context()
        failure, result = self._call(context, "__rook_keys", orjson.dumps(entries).decode())
        if failure is not None:
            raise IndexEvaluationError(f"the JavaScript groupBy failed: {failure.splitlines()[0]}")
        return [str(text) for text in orjson.loads(result)]

    def reduce(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        context = self._context()
        failure, result = self._call(context, "__rook_reduce", orjson.dumps(entries).decode())
        if failure is not None:
            raise IndexEvaluationError(f"the JavaScript reduce failed: {failure.splitlines()[0]}")
        out = orjson.loads(result)
        if not all(isinstance(value, dict) for value in out):
            raise IndexEvaluationError("the JavaScript reduce returned a value not an object")
        return list(out)
