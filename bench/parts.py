"""Where a workload's instructions go, by part of the process (``bench.instructions --parts``).

callgrind counts each function's own instructions; ``callgrind_annotate`` lists them as
``count file:function [object]``. The difference between a run with the measured repetitions
and one without, per entity, is what the workload itself costs in each function; summing
functions by where they live says how much of it is Python bytecode being interpreted (what a
compiler such as mypyc can remove) and how much is C work a compiled session would still do:
orjson, dicts, allocation, SQLite, the collector.

A function inlined from a header (``./Include/object.h:free_keys_object``) is counted in the
part of the ``.c`` file that holds the function of that name, when the listing has one.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

#: The parts, in the order they are printed; ``_part`` says what falls in each.
PARTS = (
    "Python bytecode (ceval.c)",
    "calls, frames, generators",
    "dicts",
    "attribute and type lookups",
    "allocation, freeing, copying",
    "garbage collector",
    "locks (the GIL, SQLite's mutexes)",
    "strings, bytes, tuples, lists",
    "orjson",
    "SQLite and its driver",
    "PostgreSQL driver (psycopg, libpq)",
    "pydantic-core",
    "rest of CPython",
    "rest",
)

# ``count (share%) file:function [object]``; the share is printed by some versions only.
_LINE = re.compile(r"^\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(\S.*?):(\S+?)(?:\s+\[(.+)\])?\s*$")

# CPython's source files by part (matched against the end of the file's path; each part one
# of ``PARTS``, checked below).
_CPYTHON = {
    "Python/ceval.c": "Python bytecode (ceval.c)",
    "Objects/call.c": "calls, frames, generators",
    "Python/frame.c": "calls, frames, generators",
    "Objects/frameobject.c": "calls, frames, generators",
    "Objects/funcobject.c": "calls, frames, generators",
    "Objects/methodobject.c": "calls, frames, generators",
    "Objects/classobject.c": "calls, frames, generators",
    "Objects/genobject.c": "calls, frames, generators",
    "Objects/descrobject.c": "attribute and type lookups",
    "Python/getargs.c": "calls, frames, generators",
    "Objects/dictobject.c": "dicts",
    "Objects/object.c": "attribute and type lookups",
    "Objects/typeobject.c": "attribute and type lookups",
    "Objects/obmalloc.c": "allocation, freeing, copying",
    "Modules/gcmodule.c": "garbage collector",
    "Python/ceval_gil.h": "locks (the GIL, SQLite's mutexes)",
    "Objects/unicodeobject.c": "strings, bytes, tuples, lists",
    "Objects/bytesobject.c": "strings, bytes, tuples, lists",
    "Objects/bytes_methods.c": "strings, bytes, tuples, lists",
    "Objects/tupleobject.c": "strings, bytes, tuples, lists",
    "Objects/listobject.c": "strings, bytes, tuples, lists",
}
assert set(_CPYTHON.values()) <= set(PARTS)


def by_function(callgrind_out: Path) -> Counter[tuple[str, str, str]]:
    """Each function's own instructions in a callgrind output: (file, function, object)."""
    listed = subprocess.run(
        ["callgrind_annotate", "--inclusive=no", "--threshold=100", str(callgrind_out)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # The listing names a function's object file on some of its lines only: one key per
    # function, with its object wherever a line names it.
    own: Counter[tuple[str, str]] = Counter()
    objects: dict[tuple[str, str], str] = {}
    for line in listed.splitlines():
        found = _LINE.match(line)
        if found is not None:
            count, file, function, obj = found.groups()
            # ``f'2``: ``f`` called from within itself, a name callgrind gives per recursion
            # depth, which two runs need not share.
            function = function.split("'")[0]
            own[(file, function)] += int(count.replace(",", ""))
            if obj:
                objects[(file, function)] = obj
    return Counter({(*key, objects.get(key, "")): count for key, count in own.items()})


def _part(file: str, function: str, obj: str, homes: dict[str, str]) -> str:
    """The part of one function (``homes``: a function's part by the ``.c`` file of it)."""
    where = f"{obj} {file}"
    if "orjson" in where:
        return "orjson"
    # SQLite's library and Python's sqlite3 module (``Modules/_sqlite``); not a compiled
    # module of rookdb's own SQLite storage, should ``--mypyc`` be given one.
    if "libsqlite3" in obj or "_sqlite" in where:
        return "SQLite and its driver"
    if "psycopg" in where or "libpq" in where:
        return "PostgreSQL driver (psycopg, libpq)"
    if "pydantic_core" in where:
        return "pydantic-core"
    for source, part in _CPYTHON.items():
        if file.endswith(source):
            return part
    if "pthread" in file or "nptl" in file:
        return "locks (the GIL, SQLite's mutexes)"
    if "malloc" in file or "memmove" in file or "memset" in file or "memcpy" in file:
        return "allocation, freeing, copying"
    if file.endswith(".h") and function in homes:
        return homes[function]
    if "Python-3" in file or "libpython" in obj or "stringlib" in file:
        return "rest of CPython"
    return "rest"


def parts(
    without: Counter[tuple[str, str, str]], with_reps: Counter[tuple[str, str, str]], per: float
) -> dict[str, float]:
    """Instructions per ``per`` (entities x repetitions) by part: ``with_reps`` less
    ``without``, two runs that differ only in the measured repetitions."""
    homes: dict[str, str] = {}
    for file, function, obj in (*without, *with_reps):
        if file.endswith(".c"):
            homes.setdefault(function, _part(file, function, obj, {}))
    spent = dict.fromkeys(PARTS, 0.0)
    for key in {*without, *with_reps}:
        spent[_part(*key, homes)] += (with_reps[key] - without[key]) / per
    return spent
