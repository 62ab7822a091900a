"""The document commands of ``rookdb``: get, query, stats, import, export (SPEC §8).

They run in-process (click's runner) on every backend a separate process can reach: SQLite
files, PostgreSQL and a server. Memory use of import/export is measured on real processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner, Result

from rookdb import DocumentStore
from rookdb.cli import main
from rookdb.indexes import IndexDefinition
from rookdb.operations import ConfigureRevisionsOperation, PutIndexesOperation
from rookdb.revisions import RevisionsCollectionConfiguration, RevisionsConfiguration

# A command is another process: its storage must outlive it and be shared with this one.
pytestmark = pytest.mark.rookdb_requires("persistent", "multi_process")


class Employee:
    def __init__(self, name: str, city: str, **kwargs: Any) -> None:
        self.name = name
        self.city = city
        self.__dict__.update(kwargs)


def run(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, [*args[:1], "--url", url, *args[1:]])


def seed(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Employee("Nancy", "Seattle", nested={"tags": ["a", "é"]}), "employees/1")
        session.store(Employee("Andrew", "Tacoma"), "employees/2")
        session.store({"name": "Chai", "price": 18.0}, "products/1")
        session.save_changes()


def stored(store: DocumentStore, database: str) -> dict[str, tuple[bytes, str]]:
    """Every document of a database: its stored bytes and collection, by id."""
    storage = store._storage(database)
    return {r.id: (r.data, r.collection) for r in storage.stream()}


def test_export_then_import_gives_the_same_documents(
    new_store: Any, store_url: str, tmp_path: Path
) -> None:
    store = new_store(database="source").initialize()
    seed(store)
    exported = tmp_path / "out.jsonl"
    result = run(store_url, "export", "-d", "source", str(exported))
    assert result.exit_code == 0, result.output
    assert "exported 3 documents" in result.output
    lines = [orjson.loads(line) for line in exported.read_bytes().splitlines()]
    assert sorted(line["@metadata"]["@id"] for line in lines) == [
        "employees/1",
        "employees/2",
        "products/1",
    ]
    assert all("@change-vector" not in line["@metadata"] for line in lines)

    result = run(store_url, "import", "-d", "copy", str(exported), "--batch-size", "2")
    assert result.exit_code == 0, result.output
    assert "imported 3 documents" in result.output
    assert stored(store, "copy") == stored(store, "source")  # bytes and collections alike

    again = tmp_path / "again.jsonl"
    assert run(store_url, "export", "-d", "copy", str(again)).exit_code == 0
    assert sorted(again.read_bytes().splitlines()) == sorted(exported.read_bytes().splitlines())

    # The documents load as the objects they were.
    with store.open_session("copy") as session:
        nancy = session.load("employees/1", Employee)
        assert (nancy.name, nancy.nested) == ("Nancy", {"tags": ["a", "é"]})


def test_export_of_one_collection_to_stdout(new_store: Any, store_url: str) -> None:
    store = new_store(database="source").initialize()
    seed(store)
    result = CliRunner().invoke(
        main, ["export", "--url", store_url, "-d", "source", "-c", "products", "-"]
    )
    assert result.exit_code == 0, result.output
    documents = [orjson.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert documents == [
        {
            "name": "Chai",
            "price": 18.0,
            "@metadata": {"@collection": "products", "@id": "products/1"},
        }
    ]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (b"{not json", "invalid JSON"),
        (b"[1, 2]", "a document is a JSON object"),
        (b'{"name": "x"}', "@metadata"),
        (b'{"@metadata": {"@id": "/x"}}', "starts with '/'"),
        (b'{"@metadata": {"@id": "a\\u0000b"}}', "NUL character"),
        (b'{"@metadata": {"@id": "x", "@collection": 7}}', "@collection"),
        (b'{"n": 18446744073709551616, "@metadata": {"@id": "x"}}', "outside 64 bits"),
    ],
)
def test_a_bad_line_imports_nothing(
    store: DocumentStore, store_url: str, tmp_path: Path, line: bytes, says: str
) -> None:
    good = b'{"name": "ok", "@metadata": {"@id": "things/%d", "@collection": "Things"}}'
    path = tmp_path / "in.jsonl"
    # The bad line comes after more than a batch of good ones: the check finds it first.
    path.write_bytes(b"\n".join([good % i for i in range(5)] + [line, good % 9]) + b"\n")
    result = run(store_url, "import", "-d", store.database, str(path), "--batch-size", "2")
    assert result.exit_code == 1
    assert "ImportFileError: line 6:" in result.output and says in result.output
    assert stored(store, store.database) == {}


def test_export_then_import_carries_attachments(
    new_store: Any, store_url: str, tmp_path: Path
) -> None:
    store = new_store(database="withfiles").initialize()
    seed(store)
    big = bytes(range(256)) * 5000  # more than one 1 MiB content line
    with store.open_session() as session:
        session.advanced.attachments.store("employees/1", "photo.jpg", b"\xff\xd8", "image/jpeg")
        session.advanced.attachments.store("employees/1", "big.bin", big * 1)
        session.advanced.attachments.store("products/1", "empty.txt", b"", "text/plain")
        session.save_changes()
    exported = tmp_path / "out.jsonl"
    result = run(store_url, "export", "-d", "withfiles", str(exported))
    assert result.exit_code == 0, result.output
    assert "exported 3 documents" in result.output
    assert "3 attachments" in result.output
    result = run(store_url, "import", "-d", "copied", str(exported), "--batch-size", "2")
    assert result.exit_code == 0, result.output
    assert "imported 3 documents" in result.output and "3 attachments" in result.output
    with store.open_session("copied") as session:
        for document_id, name, data in [
            ("employees/1", "photo.jpg", b"\xff\xd8"),
            ("employees/1", "big.bin", big),
            ("products/1", "empty.txt", b""),
        ]:
            result_ = session.advanced.attachments.get(document_id, name)
            assert result_ is not None
            with result_:
                assert result_.data == data
        metadata = session.advanced.get_metadata_for(session.load("employees/1"))
        assert [a["Name"] for a in metadata["@attachments"]] == ["big.bin", "photo.jpg"]
    again = tmp_path / "again.jsonl"
    assert run(store_url, "export", "-d", "copied", str(again)).exit_code == 0
    assert sorted(again.read_bytes().splitlines()) == sorted(exported.read_bytes().splitlines())
    shown = run(store_url, "stats", "-d", "copied")
    assert "attachments 3 (3 distinct contents)" in shown.output
    # A content that is not its hash is found by the check: nothing is written.
    lines = exported.read_bytes().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(b'{"@content"'))
    lines[at] = b'{"@content":"' + b"AAAA" + b'"}'
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(b"\n".join(lines) + b"\n")
    result = run(store_url, "import", "-d", "broken", str(broken))
    assert result.exit_code == 1
    assert "ImportFileError" in result.output
    assert stored(store, "broken") == {}


def test_export_then_import_carries_counters(
    new_store: Any, store_url: str, tmp_path: Path
) -> None:
    store = new_store(database="counted").initialize()
    seed(store)
    with store.open_session() as session:
        session.counters_for("employees/1").increment("Likes", 3)
        session.counters_for("employees/1").increment("views", -(2**63))
        session.counters_for("products/1").increment("Sold", 2**63 - 1)
        session.save_changes()
    exported = tmp_path / "out.jsonl"
    result = run(store_url, "export", "-d", "counted", str(exported))
    assert result.exit_code == 0, result.output
    assert "the counters of 2 documents" in result.output
    lines = exported.read_bytes().splitlines()
    assert orjson.loads(lines[3]) == {
        "@counters": {"Id": "employees/1", "Counters": {"Likes": 3, "views": -(2**63)}}
    }
    # Into a database whose employees/1 has counters already: each is set, not added to (the
    # file's name replaces the one stored).
    target = new_store(database="copied").initialize()
    with target.open_session() as session:
        session.store({"old": True}, "employees/1")
        session.counters_for("employees/1").increment("likes", 100)
        session.counters_for("employees/1").increment("Other", 1)
        session.save_changes()
    result = run(store_url, "import", "-d", "copied", str(exported), "--batch-size", "2")
    assert result.exit_code == 0, result.output
    assert "the counters of 2 documents" in result.output
    with target.open_session() as session:
        assert session.counters_for("employees/1").get_all() == {
            "Likes": 3,
            "views": -(2**63),
            "Other": 1,
        }
        assert session.counters_for("products/1").get_all() == {"Sold": 2**63 - 1}
        metadata = session.advanced.get_metadata_for(session.load("products/1"))
        assert metadata["@counters"] == ["Sold"] and "HasCounters" in metadata["@flags"]
    # A database that had none gives back the same file.
    result = run(store_url, "import", "-d", "fresh", str(exported))
    assert result.exit_code == 0, result.output
    again = tmp_path / "again.jsonl"
    assert run(store_url, "export", "-d", "fresh", str(again)).exit_code == 0
    assert sorted(again.read_bytes().splitlines()) == sorted(lines)
    # A bad counters line is found by the check: nothing is written.
    broken = tmp_path / "broken.jsonl"
    broken.write_bytes(
        b"\n".join([*lines, b'{"@counters":{"Id":"employees/2","Counters":{"x":1.5}}}']) + b"\n"
    )
    result = run(store_url, "import", "-d", "broken", str(broken))
    assert result.exit_code == 1 and "ImportFileError" in result.output
    assert stored(store, "broken") == {}


def test_import_replaces_documents_and_keeps_the_last_line_of_an_id(
    store: DocumentStore, store_url: str, tmp_path: Path
) -> None:
    seed(store)
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b'{"name": "first", "@metadata": {"@id": "Employees/1", "@collection": "People"}}\n'
        b"\n"
        b'{"name": "second", "@metadata": {"@id": "employees/1", "@collection": "People"}}\n'
        b'{"name": "new", "@metadata": {"@id": "notes/1", "@change-vector": "A:9-x"}}\n'
    )
    result = run(store_url, "import", "-d", store.database, str(path))
    assert result.exit_code == 0, result.output
    assert "imported 3 documents" in result.output
    documents = stored(store, store.database)
    assert documents["employees/1"] == (
        b'{"name":"second","@metadata":{"@collection":"People"}}',
        "People",
    )
    assert documents["notes/1"] == (b'{"name":"new"}', "@empty")
    assert len(documents) == 4


def test_get_prints_documents_and_fails_for_a_missing_one(
    store: DocumentStore, store_url: str
) -> None:
    seed(store)
    result = run(store_url, "get", "-d", store.database, "EMPLOYEES/2")
    assert result.exit_code == 0, result.output
    document = orjson.loads(result.output)
    assert document["name"] == "Andrew"
    assert document["@metadata"]["@id"] == "employees/2"
    assert document["@metadata"]["@change-vector"]

    result = run(store_url, "get", "-d", store.database, "products/1", "nope/1")
    assert result.exit_code == 1
    assert '"Chai"' in result.output and "no document 'nope/1'" in result.output


def test_query_prints_one_result_per_line(store: DocumentStore, store_url: str) -> None:
    seed(store)
    result = run(
        store_url,
        "query",
        "-d",
        store.database,
        "from Employees where city = $city or name = $name",
        "-p",
        "city=Tacoma",
        "-p",
        '$name="Nancy"',
    )
    assert result.exit_code == 0, result.output
    names = sorted(orjson.loads(line)["name"] for line in result.output.splitlines())
    assert names == ["Andrew", "Nancy"]

    result = run(
        store_url, "query", "-d", store.database, "from Products where price > $p select name"
    )
    assert result.exit_code == 1 and "QueryError" in result.output  # $p has no value
    result = run(
        store_url,
        "query",
        "-d",
        store.database,
        "from Products where price > $p select name",
        "-p",
        "p=10",
    )
    assert result.exit_code == 0, result.output
    assert [orjson.loads(line) for line in result.output.splitlines()] == [{"name": "Chai"}]

    result = run(store_url, "query", "-d", store.database, "from Employees where")
    assert result.exit_code == 1
    assert "QueryError" in result.output and "column" in result.output
    assert "Traceback" not in result.output
    assert run(store_url, "query", "-p", "novalue", "from X").exit_code == 2


def test_query_prints_projected_numbers_as_stored(store: DocumentStore, store_url: str) -> None:
    with store.open_session() as session:
        session.store({"price": Decimal("9.50"), "n": Decimal("1E+3")}, "things/1")
        session.save_changes()
    result = run(store_url, "query", "-d", store.database, "from things select price, n")
    assert result.exit_code == 0, result.output
    assert result.output == '{"price":9.50,"n":1E+3}\n'


def test_stats(store: DocumentStore, store_url: str) -> None:
    seed(store)
    result = run(store_url, "stats", "-d", store.database)
    assert result.exit_code == 0, result.output
    assert f"database   {store.database}" in result.output
    assert "documents  3" in result.output
    assert "Employees" in result.output and "products" in result.output
    as_json = orjson.loads(run(store_url, "stats", "-d", store.database, "--json").output)
    assert as_json["CountOfDocuments"] == 3
    assert as_json["Collections"] == {"Employees": 2, "products": 1}


def test_indexes(store: DocumentStore, store_url: str) -> None:
    seed(store)
    result = run(store_url, "indexes", "-d", store.database)
    assert result.exit_code == 0 and "no indexes" in result.output, result.output
    definition = IndexDefinition(
        name="Products/ByPrice", maps={"from p in docs.products select new { p.price }"}
    )
    store.maintenance.send(PutIndexesOperation(definition))
    result = run(store_url, "indexes", "-d", store.database)
    assert result.exit_code == 0, result.output
    assert "Products/ByPrice" in result.output and "1 entries" in result.output
    as_json = orjson.loads(run(store_url, "indexes", "-d", store.database, "--json").output)
    assert [s["Name"] for s in as_json] == ["Products/ByPrice"]


def test_a_bad_database_name_or_url_is_a_clear_error(store_url: str) -> None:
    result = run(store_url, "stats", "-d", "../etc")
    assert result.exit_code == 1 and "ConfigurationError" in result.output
    result = run("nosuch://x", "stats")
    assert result.exit_code == 1 and "ConfigurationError" in result.output


@pytest.mark.parametrize("url", ["memory://", "memory://named", "sqlite://", "sqlite:///:memory:"])
def test_a_url_in_memory_is_refused_by_every_command(url: str, tmp_path: Path) -> None:
    # The database would end with the command: an import would report success, keep nothing.
    lines = tmp_path / "in.jsonl"
    lines.write_text('{"name": "a", "@metadata": {"@id": "things/1", "@collection": "things"}}\n')
    for command in [["import", str(lines)], *READ_ONLY]:
        result = run(url, *command)
        assert result.exit_code == 1, (command, result.output)
        assert "ConfigurationError" in result.output and "memory" in result.output


# -- read-only commands create nothing -------------------------------------------------------

READ_ONLY = [
    ["stats"],
    ["indexes"],
    ["get", "employees/1"],
    ["query", "from Employees"],
    ["export", "-"],
]


@pytest.mark.parametrize("command", READ_ONLY, ids=lambda c: c[0])
def test_a_read_only_command_on_a_missing_database_says_so_and_creates_nothing(
    store: DocumentStore, store_url: str, command: list[str]
) -> None:
    seed(store)
    before = store.maintenance.list_databases()
    result = run(store_url, command[0], "-d", "Nortwind", *command[1:])
    assert result.exit_code == 1, result.output
    assert "DatabaseDoesNotExistError" in result.output and "'Nortwind'" in result.output
    assert store.database in result.output  # the databases there are
    assert "Traceback" not in result.output
    assert store.maintenance.list_databases() == before
    # A name differing only in case is the same database.
    result = run(store_url, command[0], "-d", store.database.upper(), *command[1:])
    assert result.exit_code == 0, result.output
    assert store.maintenance.list_databases() == before


@pytest.mark.rookdb_backends("sqlite")
@pytest.mark.parametrize("command", READ_ONLY, ids=lambda c: c[0])
def test_a_read_only_command_on_a_missing_directory_creates_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    missing = tmp_path / "no-such-dir"
    result = run(f"sqlite:///{missing}", command[0], *command[1:])
    assert result.exit_code == 1, result.output
    assert "DatabaseDoesNotExistError" in result.output and "no databases" in result.output
    assert not missing.exists()
    result = run(f"sqlite:///{missing}", "export", str(tmp_path / "out.jsonl"))
    assert result.exit_code == 1 and not (tmp_path / "out.jsonl").exists()


# -- constant memory, measured on real processes -----------------------------------------------


def _peak_rss_kb(args: list[str], env: dict[str, str]) -> int:
    """Run ``python -m rookdb ARGS`` to the end; its peak resident memory in KB."""
    process = subprocess.Popen(
        [sys.executable, "-m", "rookdb", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(process.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, process.stderr.read() if process.stderr else ""
    return usage.ru_maxrss


@pytest.mark.rookdb_backends("sqlite")
def test_import_and_export_stream_in_constant_memory(store_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "ROOKDB_URL": store_url}
    peaks: dict[int, tuple[int, int]] = {}
    filler = "x" * 200
    for count in (2_000, 40_000):  # about 0.5 MB and 10 MB of JSON
        path = tmp_path / f"{count}.jsonl"
        with path.open("wb") as file:
            for i in range(count):
                document = {"n": i, "filler": filler, "@metadata": {"@id": f"docs/{i}"}}
                file.write(orjson.dumps(document) + b"\n")
        database = f"db{count}"
        imported = _peak_rss_kb(["import", "-d", database, str(path)], env)
        exported = _peak_rss_kb(["export", "-d", database, str(tmp_path / "out.jsonl")], env)
        assert (tmp_path / "out.jsonl").read_bytes().count(b"\n") == count
        peaks[count] = (imported, exported)
    print(f"\npeak RSS (KB) of import, export: {peaks}")
    # 20x the documents; holding them would add well over 20 MB (10 MB of JSON as objects).
    for small, large in zip(peaks[2_000], peaks[40_000], strict=True):
        assert large - small < 8_000, peaks


def _history(store: DocumentStore, database: str, document_id: str) -> list[dict[str, Any]]:
    with store.open_session(database) as session:
        return session.advanced.revisions.get_metadata_for(document_id, page_size=100)


def test_export_then_import_carries_revisions_and_their_configuration(
    new_store: Any, store_url: str, tmp_path: Path
) -> None:
    store = new_store(database="source").initialize()
    configuration = RevisionsConfiguration(
        default_config=RevisionsCollectionConfiguration(minimum_revisions_to_keep=5),
        collections={"Logs": RevisionsCollectionConfiguration(disabled=True)},
    )
    store.maintenance.send(ConfigureRevisionsOperation(configuration))
    for version in range(3):
        with store.open_session() as session:
            session.store(Employee(f"Nancy {version}", "Seattle"), "employees/1")
            session.store(Employee(f"Gone {version}", "Tacoma"), "employees/2")
            session.store({"line": version, "@metadata": {"@collection": "Logs"}}, "logs/1")
            session.save_changes()
    with store.open_session() as session:
        session.delete("employees/2")  # its revisions stay: the bin
        session.save_changes()
    exported = tmp_path / "out.jsonl"
    result = run(store_url, "export", "-d", "source", str(exported))
    assert result.exit_code == 0, result.output
    assert "exported 2 documents, 7 revisions" in result.output
    kinds = [next(iter(orjson.loads(line))) for line in exported.read_bytes().splitlines()]
    assert kinds[-1] == "@revisions-configuration"  # last: applied after the documents

    result = run(store_url, "import", "-d", "copy", str(exported), "--batch-size", "2")
    assert result.exit_code == 0, result.output
    assert "imported 2 documents, 7 revisions, the revisions configuration" in result.output
    for document_id in ("employees/1", "employees/2", "logs/1"):
        # Change vectors, times and flags as they were: the imported puts kept none.
        assert _history(store, "copy", document_id) == _history(store, "source", document_id)
    with store.open_session("copy") as session:
        revisions = session.advanced.revisions
        assert [e["@id"] for e in revisions.get_bin_entries()] == ["employees/2"]
        assert revisions.get_for("employees/1", Employee)[-1].name == "Nancy 0"
        assert session.advanced.get_metadata_for(session.load("employees/1"))["@flags"] == (
            "HasRevisions"
        )
    copy = store._storage("copy")
    assert (
        copy.get_revisions_configuration() == store._storage("source").get_revisions_configuration()
    )

    # Imported again: the revisions it has are skipped; exported again: the same file.
    result = run(store_url, "import", "-d", "copy", str(exported))
    assert "imported 2 documents, 0 revisions" in result.output, result.output
    assert len(_history(store, "copy", "employees/2")) == 4
    once = tmp_path / "once.jsonl"
    assert run(store_url, "export", "-d", "copy", "-c", "employees", str(once)).exit_code == 0
    lines = once.read_bytes().splitlines()
    # employees/2's 4, employees/1's 3 and 1 more: the second import wrote it again into a
    # database that keeps revisions by then (the documented exception).
    assert sum(line.startswith(b'{"@revision"') for line in lines) == 8
    assert not any(line.startswith(b'{"@revisions-configuration"') for line in lines)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (b'{"@revision": {"@metadata": {"@id": "x"}}}', "@flags"),
        (b'{"@revision": [1]}', "@metadata"),
        (b'{"@time-series": {}}', "unknown kind '@time-series'"),
        (b'{"@attachment": {}}', "Id, Name, ContentType and Hash"),
        (b'{"@content": "AAAA"}', "unknown kind '@content'"),
        (b'{"@revisions-configuration": {"Default": 5}}', "@revisions-configuration"),
    ],
)
def test_a_bad_revision_line_imports_nothing(
    store: DocumentStore, store_url: str, tmp_path: Path, line: bytes, says: str
) -> None:
    good = b'{"name": "ok", "@metadata": {"@id": "things/%d", "@collection": "Things"}}'
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\n".join([good % i for i in range(3)] + [line]) + b"\n")
    result = run(store_url, "import", "-d", store.database, str(path), "--batch-size", "2")
    assert result.exit_code == 1
    assert "ImportFileError: line 4:" in result.output and says in result.output, result.output
    assert stored(store, store.database) == {}
