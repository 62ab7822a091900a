"""One patch script run in QuickJS, with RavenDB's patch API, in a fresh sandboxed runtime.

The script runs inside a function whose ``this`` is the document and whose argument is
``args``. ``load(id)`` must answer synchronously, but the QuickJS binding refuses calls into
Python while a time limit is set (its interrupt handler cannot account for them), and the time
limit is what stops a runaway script. So the script never calls Python: the documents it may
``load`` are handed to the runtime before it runs, and a ``load`` of one not handed yet records
its id and throws; the run is then made again, from the start, in a new runtime, with that
document too. A script is a function of the documents it reads (its ``put`` and ``del`` are
recorded, not applied, until it ends), so the last run is the run. ``MAX_LOADS`` bounds the
documents one run may load, and so the number of runs.

Counters are read the same way: ``counter(doc, name)`` answers from the counters handed in
(every counter of a document, read as the batch left them), and one of a document not handed
yet is read and the script run again (each such document counts as a load). The script's
``incrementCounter`` and ``deleteCounter`` are recorded, in order, for storage to apply in
the batch; ``counter`` sees them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.resources
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import orjson

from rookdb.errors import PatchScriptError, PatchScriptLimitError, ScriptingUnavailableError, shown
from rookdb.ids import shown_id
from rookdb.scripting import ScriptLimits, limits, watchdog
from rookdb.serialization import encoding

__all__ = ["MAX_LOADS", "CounterWrite", "ScriptOutcome", "Write", "run_patch_script"]

#: Documents one run of a script may ``load``: each new one costs a run of the script again.
MAX_LOADS = 64

# RavenDB's patch API (prelude.js), read once.
_PRELUDE = (importlib.resources.files("rookdb.scripting") / "prelude.js").read_text("utf-8")
_PRELUDE_FUNCTIONS = frozenset(
    (
        "__RookMissing",
        "__rook_text",
        "__rook_name",
        "load",
        "put",
        "del",
        "id",
        "getMetadata",
        "__rook_counter_of",
        "__rook_counter_entry",
        "counter",
        "counterRaw",
        "incrementCounter",
        "deleteCounter",
        "__rook_run",
    )
)
_HEAD = "var __patch = function (args) {"
_FRAME = re.compile(r"at (?:(\S+) \()?<input>:(\d+):(\d+)")


@dataclasses.dataclass(slots=True)
class Write:
    """A ``put`` (``document`` set) or ``del`` (``document`` None) the script made, with the
    change vector it asked for (None: any)."""

    id: str
    document: dict[str, Any] | None
    change_vector: str | None


@dataclasses.dataclass(slots=True)
class CounterWrite:
    """An ``incrementCounter`` (``type`` ``Increment``, by ``delta``) or ``deleteCounter``
    (``Delete``) the script made, of counter ``name`` of document ``id``."""

    id: str
    type: str
    name: str
    delta: int


@dataclasses.dataclass(slots=True)
class ScriptOutcome:
    """The document as the script left it, and the writes it made, in order: documents'
    and counters' (storage applies the counters' after the documents')."""

    document: dict[str, Any]
    writes: list[Write]
    counters: list[CounterWrite] = dataclasses.field(default_factory=list)


def _engine() -> Any:
    try:
        import quickjs
    except ImportError:
        raise ScriptingUnavailableError(
            "JavaScript patches need the embedded engine: pip install 'rookdb[scripting]' "
            "(rookdb[server] has it); the session's typed patches (patch, increment, "
            "add_or_patch, patch_array) do not"
        ) from None
    return quickjs


def run_patch_script(
    script: str,
    values: Mapping[str, Any],
    document: dict[str, Any],
    read: Callable[[Sequence[str]], Mapping[str, dict[str, Any] | None]],
    document_id: str | None = None,
    script_limits: ScriptLimits | None = None,
    complete: Callable[[str], str] | None = None,
    read_counters: Callable[[Sequence[str]], Mapping[str, Mapping[str, int]]] | None = None,
) -> ScriptOutcome:
    """Run ``script`` on ``document`` (its ``@metadata`` included) with ``args`` = ``values``.

    ``read(ids)``: the documents ``load`` asks for, by id (None: missing), read in the
    caller's transaction. ``complete(id)``: the id storage makes of ``users/`` or ``users|``
    in the caller's transaction, for ``put`` to answer (None: ``put`` answers the id as
    given, completed when written). ``read_counters(ids)``: every counter of each of these
    documents (by stored name), as the caller's batch left them (None: ``counter()`` answers
    null). Errors: ``PatchScriptError`` (with the line and column in
    ``script``), ``PatchScriptLimitError``, ``ScriptingUnavailableError``."""
    quickjs = _engine()
    chosen = script_limits or limits()
    loaded: dict[str, str | None] = {}
    counted: dict[str, dict[str, int]] = {}  # by key: values by lower-cased name
    named: list[tuple[str, str]] | None = None if complete is None else []
    doc_json = orjson.dumps(document).decode()
    args_json = encoding.dumps(dict(values)).decode()  # not JSON: a SerializationError
    while True:
        context = quickjs.Context()
        context.set_memory_limit(chosen.memory_limit)
        context.eval(_PRELUDE)
        try:
            context.eval(_HEAD + script + "\n};")
        except quickjs.JSException as exc:
            raise _script_error(str(exc), document_id, syntax=True) from None
        run = context.get("__rook_run")
        failure: str | None = None
        result = ""
        with _time_limit(context, chosen.time_limit) as measure:
            try:
                result = run(
                    doc_json,
                    args_json,
                    orjson.dumps(loaded).decode(),
                    _json(named),
                    _json(counted),
                )
            except quickjs.JSException as exc:
                failure = str(exc)
            except quickjs.StackOverflow as exc:
                failure = str(exc)
        missing, unnamed, uncounted = _missing(context, failure, chosen, measure, document_id)
        if uncounted:
            if len(loaded) + len(counted) + len(uncounted) > MAX_LOADS:
                raise PatchScriptError(
                    f"the script reads the counters of more than {MAX_LOADS} documents",
                    document_id=document_id,
                )
            found_counters = read_counters(uncounted) if read_counters is not None else {}
            for wanted in uncounted:
                values = found_counters.get(wanted) or {}
                counted[wanted.lower()] = {n.lower(): v for n, v in values.items()}
            continue
        if named is not None and complete is not None and len(unnamed) > len(named):
            if len(loaded) + len(unnamed) > MAX_LOADS:
                raise PatchScriptError(
                    f"the script loads and puts more than {MAX_LOADS} documents by ids "
                    "storage completes",
                    document_id=document_id,
                )
            named.extend((prefix, complete(prefix)) for prefix in unnamed[len(named) :])
            continue
        if missing:
            if len(loaded) + len(counted) + len(missing) + len(named or ()) > MAX_LOADS:
                raise PatchScriptError(
                    f"the script loads more than {MAX_LOADS} documents", document_id=document_id
                )
            found = read(missing)
            for wanted in missing:
                record = found.get(wanted)
                loaded[wanted.lower()] = None if record is None else orjson.dumps(record).decode()
            continue
        if failure is not None:
            raise _script_error(failure, document_id, syntax=False)
        return _outcome(result, document_id)


@contextlib.contextmanager
def _time_limit(context: Any, seconds: float) -> Iterator[str]:
    """The script's time limit while it runs (``watchdog``: its own thread's CPU time), or
    the binding's (the process's CPU time) where the watchdog cannot reach the runtime;
    what the limit measures, for the error."""
    runtime = watchdog.runtime_of(context)
    if runtime is None:
        context.set_time_limit(seconds)
        try:
            yield "CPU time of the process"
        finally:
            context.set_time_limit(-1)  # reading the script's lists is not its time
        return
    with watchdog.watch(runtime, seconds) as watched:
        yield watched.measure


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _missing(
    context: Any,
    failure: str | None,
    chosen: ScriptLimits,
    measure: str,
    document_id: str | None,
) -> tuple[list[str], list[str], list[str]]:
    """The ids ``load`` asked for and did not have, the ids (prefixes) ``put`` was given
    to complete, in order, and the ids ``counter`` asked the counters of and did not have; a
    limit the run ran into raises."""
    if failure is not None:
        text = failure.strip()
        if text.startswith("InternalError: interrupted"):
            raise PatchScriptLimitError(
                f"the script ran past its time limit ({chosen.time_limit:g} s of {measure})",
                limit="time",
                document_id=document_id,
            )
        # QuickJS reports an exhaustion that left no memory to make its error as a bare
        # null, and frees the script's objects before it returns: nothing tells it from a
        # script's own ``throw null`` (rare in a patch; reported as the limit too).
        if "out of memory" in text or text == "null":
            raise PatchScriptLimitError(
                f"the script ran past its memory limit ({chosen.memory_limit:,} bytes)",
                limit="memory",
                document_id=document_id,
            )
    try:
        lists = context.eval(
            "JSON.stringify([__rook.missing, __rook.unnamed, __rook.counterMissing])"
        )
    except Exception:  # the runtime is spent (out of memory): there is nothing to load
        return [], [], []
    missing, unnamed, uncounted = orjson.loads(lists)
    return list(dict.fromkeys(missing)), list(unnamed), list(dict.fromkeys(uncounted))


def _outcome(result: str, document_id: str | None) -> ScriptOutcome:
    out = orjson.loads(result)
    document = out.get("doc")
    if type(document) is not dict:
        raise PatchScriptError(
            "the script left the document not an object", document_id=document_id
        )
    writes = [
        Write(w["id"], w.get("doc") if w["op"] == "put" else None, w.get("cv"))
        for w in out.get("writes", [])
    ]
    for write in writes:
        if write.change_vector is not None and type(write.change_vector) is not str:
            raise PatchScriptError(
                f"put/del of {shown(write.id)}: the change vector must be a string",
                document_id=document_id,
            )
    counters = [
        CounterWrite(c["id"], c["type"], c["name"], c["delta"]) for c in out.get("counters", [])
    ]
    return ScriptOutcome(document, writes, counters)


def _script_error(text: str, document_id: str | None, *, syntax: bool) -> PatchScriptError:
    """The rookdb error of an engine error: its first line, and the first stack frame in the
    user's script (not in the patch API), as a line and column of ``script``."""
    lines = text.strip().splitlines()
    message = lines[0] if lines else "the script failed"
    if message == "null" or (len(lines) > 1 and lines[1] == "undefined"):
        message = f"the script threw {message}"  # a thrown value that is not an Error
    line = column = None
    for match in _FRAME.finditer(text):
        name, row, col = match.group(1), int(match.group(2)), int(match.group(3))
        if name in _PRELUDE_FUNCTIONS or (name is None and not syntax):
            continue
        line, column = row, max(1, col - len(_HEAD)) if row == 1 else col
        break
    where = f" (line {line}, column {column})" if line is not None else ""
    about = f" patching {shown_id(document_id)}" if document_id else ""
    return PatchScriptError(
        f"the patch script failed{about}: {message}{where}",
        line=line,
        column=column,
        document_id=document_id,
    )
