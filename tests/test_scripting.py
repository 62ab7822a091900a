"""The JavaScript engine of patches (rookdb.scripting): RavenDB's patch API, errors with the
script's line and column, the time and memory limits, the sandbox, and the engine absent."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any

import pytest

from rookdb.errors import (
    ConfigurationError,
    PatchScriptError,
    PatchScriptLimitError,
    ScriptingUnavailableError,
)
from rookdb.scripting import ScriptLimits, watchdog
from rookdb.scripting.engine import MAX_LOADS, run_patch_script

DOCS: dict[str, dict[str, Any]] = {
    "users/2": {"name": "Bo", "@metadata": {"@id": "users/2", "@collection": "Users"}},
}
SMALL = ScriptLimits(time_limit=0.3, memory_limit=8 << 20)


def reader(docs: Mapping[str, dict[str, Any]], asked: list[str] | None = None) -> Any:
    def read(ids: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        if asked is not None:
            asked.extend(ids)
        return {i: docs.get(i.lower()) for i in ids}

    return read


def run(script: str, values: dict[str, Any] | None = None, **kw: Any) -> Any:
    document = {"n": 1, "@metadata": {"@id": "users/1", "@collection": "Users"}}
    return run_patch_script(script, values or {}, document, reader(DOCS), "users/1", **kw)


def test_this_and_args() -> None:
    out = run("this.n += args.by;\nthis.tags = ['a'];", {"by": 2})
    assert out.document["n"] == 3 and out.document["tags"] == ["a"]
    assert out.writes == []


def test_load_id_and_metadata() -> None:
    asked: list[str] = []
    out = run_patch_script(
        "var o = load('USERS/2'); this.friend = o.name; this.me = id(this);"
        "this.c = getMetadata(this)['@collection']; this.none = load('users/404');",
        {},
        {"@metadata": {"@id": "users/1", "@collection": "Users"}},
        reader(DOCS, asked),
        "users/1",
    )
    assert out.document["friend"] == "Bo"
    assert out.document["me"] == "users/1" and out.document["c"] == "Users"
    assert out.document["none"] is None
    assert sorted(asked) == ["USERS/2", "users/404"]  # each read once


def test_put_and_del_are_recorded_in_order_and_seen_by_load() -> None:
    out = run("put('logs/1', {at: 1}); var l = load('logs/1'); this.seen = l.at; del('users/2');")
    assert out.document["seen"] == 1
    assert [(w.id, w.document) for w in out.writes] == [("logs/1", {"at": 1}), ("users/2", None)]


def test_put_of_an_id_storage_completes_answers_the_completed_id() -> None:
    made: list[str] = []

    def complete(prefix: str) -> str:
        made.append(prefix)
        return f"{prefix[:-1]}/{len(made)}"

    script = (
        "var a = put('logs/', {n: 1});\nvar bo = load('users/2');\n"
        "var b = put('tallies|', {n: 2});\nthis.ids = [a, b, load(a).n, put('x/9', {})];"
    )
    out = run(script, complete=complete)
    assert out.document["ids"] == ["logs/1", "tallies/2", 1, "x/9"]
    assert made == ["logs/", "tallies|"]  # each completed once, though the script ran 3 times
    assert [w.id for w in out.writes] == ["logs/1", "tallies/2", "x/9"]
    # Without completion (a dry run): the id as given, completed when written.
    assert run("this.id = put('logs/', {});").document["id"] == "logs/"


def test_a_load_the_script_catches_is_still_loaded() -> None:
    out = run("var o = null; try { o = load('users/2'); } catch (e) {} this.f = o && o.name;")
    assert out.document["f"] == "Bo"


def test_too_many_loads() -> None:
    with pytest.raises(PatchScriptError, match="more than"):
        run(f"for (var i = 0; i < {MAX_LOADS + 1}; i++) load('x/' + i);")


@pytest.mark.parametrize(
    ("script", "line", "column", "text"),
    [
        ("\nvar a = ;", 2, 9, "SyntaxError"),
        ("this.x = 1;\n  this.a.b.c = 2;", 2, 3, "TypeError"),
        ("function f() { throw new Error('boom'); }\n\nf();", 1, 26, "Error: boom"),
        ("this.x = 1;\nload(5);", 2, None, "the id must be a non-empty string"),
    ],
)
def test_errors_carry_line_and_column(
    script: str, line: int, column: int | None, text: str
) -> None:
    with pytest.raises(PatchScriptError, match=text) as info:
        run(script)
    assert info.value.line == line
    if column is not None:
        assert info.value.column == column
    assert info.value.document_id == "users/1"
    assert f"line {line}" in str(info.value)


def test_a_thrown_value_that_is_not_an_error() -> None:
    with pytest.raises(PatchScriptError, match="threw nope"):
        run("throw 'nope'")


def test_runaway_script_is_stopped_by_the_time_limit() -> None:
    start = time.perf_counter()
    with pytest.raises(PatchScriptLimitError) as info:
        run("while (true) {}", script_limits=SMALL)
    assert info.value.limit == "time"
    assert time.perf_counter() - start < 10  # CPU seconds: a loaded machine stretches them


def _verified_binding() -> None:
    if watchdog.runtime_of(__import__("quickjs").Context()) is None:
        pytest.skip(
            f"quickjs-ng {metadata.version('quickjs-ng')} is not a release whose layout "
            "rookdb.scripting.watchdog verified (VERIFIED): check its Context layout, add it"
        )


def test_other_threads_cpu_does_not_count_against_a_script() -> None:
    _verified_binding()
    # The limit is the script's own thread's CPU time: busy threads beside it (hashing
    # releases the GIL, as a server's other requests do) do not stop a short script, which
    # the process's CPU clock (QuickJS's clock()) did.
    stop = threading.Event()

    def burn() -> None:
        data = b"x" * (4 << 20)
        while not stop.is_set():
            hashlib.sha256(data).digest()

    burners = [threading.Thread(target=burn) for _ in range(4)]
    for burner in burners:
        burner.start()
    try:
        time.sleep(0.1)
        limits = ScriptLimits(time_limit=0.6, memory_limit=64 << 20)
        script = "var s = 0; for (var i = 0; i < args.n; i++) { s += i % 7; } this.s = s;"
        process, own = time.process_time(), time.thread_time()
        out = run(script, {"n": 4_000_000}, script_limits=limits)
        process, own = time.process_time() - process, time.thread_time() - own
        assert out.document["s"] == sum(i % 7 for i in range(7)) * (4_000_000 // 7) + sum(
            range(4_000_000 % 7)
        )
        assert own < limits.time_limit  # its own time: well inside the limit
        # And a runaway script beside them is still stopped at its own limit.
        with pytest.raises(PatchScriptLimitError, match="CPU time of its own"):
            run("while (true) {}", script_limits=SMALL)
    finally:
        stop.set()
        for burner in burners:
            burner.join()
    print(f"short script beside 4 busy threads: {own:.2f} s its own, {process:.2f} s process")


def test_without_the_watchdog_the_bindings_limit_stops_a_script(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Where the binding's runtime cannot be reached (another layout), its own limit serves.
    monkeypatch.setattr(watchdog, "runtime_of", lambda context: None)
    with pytest.raises(PatchScriptLimitError, match="CPU time of the process"):
        run("while (true) {}", script_limits=SMALL)
    assert run("this.n = 2;").document["n"] == 2


def test_the_runtime_is_found_and_checked() -> None:
    _verified_binding()
    assert watchdog.runtime_of(object()) is None  # too small to be the binding's context


def test_a_release_not_verified_is_never_read_into(monkeypatch: pytest.MonkeyPatch) -> None:
    import quickjs

    # A newer binding may lay its Context out otherwise: the watchdog must not read it.
    monkeypatch.setattr(watchdog.metadata, "version", lambda name: "0.99.0")
    monkeypatch.setattr(watchdog, "_library_once", [])
    assert watchdog.runtime_of(quickjs.Context()) is None
    with pytest.raises(PatchScriptLimitError, match="CPU time of the process"):
        run("while (true) {}", script_limits=SMALL)


def test_memory_limit() -> None:
    with pytest.raises(PatchScriptLimitError) as info:
        run("var a = []; while (true) { a.push('xxxxxxxx' + a.length); }", script_limits=SMALL)
    assert info.value.limit == "memory"


def test_deep_recursion_is_a_script_error() -> None:
    with pytest.raises(PatchScriptError, match="stack"):
        run("function r() { return r() + 1; }\nr();")


def test_sandbox_has_no_file_system_network_or_modules() -> None:
    out = run(
        "this.g = [typeof require, typeof std, typeof os, typeof fetch, typeof XMLHttpRequest,"
        " typeof setTimeout, typeof process, typeof print].join(',');"
    )
    assert set(out.document["g"].split(",")) == {"undefined"}


def test_limits_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        ScriptLimits(time_limit=0)
    with pytest.raises(ConfigurationError):
        ScriptLimits(memory_limit=10)


def test_limits_from_the_environment() -> None:
    code = "from rookdb.scripting import limits; l = limits(); print(l.time_limit, l.memory_limit)"
    env = {"ROOKDB_SCRIPT_TIME_LIMIT": "0.25", "ROOKDB_SCRIPT_MEMORY_LIMIT": str(4 << 20)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["0.25", str(4 << 20)]


def test_engine_absent_is_a_typed_error_naming_the_extra() -> None:
    # A real import failure: the engine's module is blocked in a fresh interpreter.
    code = (
        "import sys; sys.modules['quickjs'] = None\n"
        "from rookdb.scripting.engine import run_patch_script\n"
        "from rookdb.errors import ScriptingUnavailableError\n"
        "try:\n"
        "    run_patch_script('this.a = 1', {}, {}, lambda ids: {})\n"
        "except ScriptingUnavailableError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "rookdb[scripting]" in out.stdout
    assert issubclass(ScriptingUnavailableError, Exception)
