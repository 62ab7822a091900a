"""Index definitions in RavenDB's shape: the creation tasks, the JSON of PUT /admin/indexes
(the same as the official client's for the same task), the type RavenDB detects, and what
compile_index checks and answers (the interface index storage calls)."""

from __future__ import annotations

import enum
from typing import Any

import pytest
import ravendb
from ravendb.documents.indexes import abstract_index_creation_tasks as official

from rookdb.errors import IndexCompilationError, IndexEvaluationError
from rookdb.indexes import (
    AbstractIndexCreationTask,
    AbstractJavaScriptIndexCreationTask,
    AbstractMultiMapIndexCreationTask,
    FieldIndexing,
    FieldStorage,
    FieldTermVector,
    IndexDefinition,
    IndexFieldOptions,
    IndexLockMode,
    IndexPriority,
    IndexType,
    MapOutput,
    compile_index,
)

USERS_MAP = "from c in docs.Users select new { c.name, count = 1 }"
USERS_REDUCE = (
    "from result in results group result by result.name into g "
    "select new { name = g.Key, count = g.Sum(x => x.count) }"
)


class Users_ByName(AbstractIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.map = USERS_MAP
        self.reduce = USERS_REDUCE
        self._index("name", FieldIndexing.SEARCH)
        self._store("name", FieldStorage.YES)
        self._analyze("name", "Lucene.Net.Analysis.SimpleAnalyzer")
        self._term_vector("name", FieldTermVector.WITH_POSITIONS_AND_OFFSETS)
        self._suggestion("name")


class Official_Users_ByName(official.AbstractIndexCreationTask):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.map = USERS_MAP
        self.reduce = USERS_REDUCE
        self._index("name", ravendb.FieldIndexing.SEARCH)
        self._store("name", ravendb.FieldStorage.YES)
        self._analyze("name", "Lucene.Net.Analysis.SimpleAnalyzer")
        self._term_vector("name", ravendb.FieldTermVector.WITH_POSITIONS_AND_OFFSETS)
        self._suggestion("name")

    @property
    def index_name(self) -> str:
        return "Users/ByName"


def plain(value: Any) -> Any:
    """The official client's to_json() as its JSON encoder sends it."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return sorted(plain(v) for v in value)
    return value


def test_a_creation_task_makes_the_official_client_s_definition() -> None:
    ours = Users_ByName().create_index_definition()
    theirs = Official_Users_ByName().create_index_definition()
    theirs_json = plain(theirs.to_json())
    theirs_json["IndexType"] = "MapReduce"  # the official client leaves detecting to the server
    assert ours.to_json() == theirs_json
    assert ours.name == "Users/ByName"
    assert ours.type is IndexType.MAP_REDUCE
    assert ours.fields["name"] == IndexFieldOptions(
        storage=FieldStorage.YES,
        indexing=FieldIndexing.SEARCH,
        term_vector=FieldTermVector.WITH_POSITIONS_AND_OFFSETS,
        analyzer="Lucene.Net.Analysis.SimpleAnalyzer",
        suggestions=True,
    )


def test_the_json_round_trip_and_the_wire_values() -> None:
    definition = Users_ByName().create_index_definition()
    definition.priority = IndexPriority.HIGH
    definition.lock_mode = IndexLockMode.LOCKED_ERROR
    data = definition.to_json()
    assert data["Maps"] == [USERS_MAP]
    assert data["Priority"] == "High" and data["LockMode"] == "LockedError"
    assert data["Fields"]["name"]["Indexing"] == "Search"
    assert IndexDefinition.from_json(data) == definition
    # what GetIndexOperation's from_json reads back, from ours
    served = definition.with_server_defaults().to_json()
    assert (served["State"], served["AdditionalAssemblies"], served["Configuration"]) == (
        "Normal",
        [],
        {},
    )
    read = ravendb.IndexDefinition.from_json(served)
    assert read.maps == {USERS_MAP} and read.reduce == USERS_REDUCE


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "a JSON object"),
        ({"Maps": "from x in docs.X select new { x.A }"}, "list of strings"),
        ({"Maps": [], "Fields": []}, "Fields are an object"),
        ({"Maps": [], "Priority": "Urgent"}, "Priority is one of Low, Normal, High"),
        ({"Maps": [], "Fields": {"a": {"Indexing": "Fuzzy"}}}, "Indexing is one of"),
        ({"Maps": [], "Reduce": 3}, "Reduce is a str"),
    ],
)
def test_malformed_json_is_refused(data: Any, message: str) -> None:
    with pytest.raises(IndexCompilationError, match=message):
        IndexDefinition.from_json(data)


@pytest.mark.parametrize(
    ("maps", "reduce", "expected"),
    [
        ({USERS_MAP}, None, IndexType.MAP),
        ({USERS_MAP}, USERS_REDUCE, IndexType.MAP_REDUCE),
        ({"// a comment\n docs.Users.Select(u => new { u.A })"}, "  ", IndexType.MAP),
        ({"map('Users', u => ({ A: u.A }))"}, None, IndexType.JAVA_SCRIPT_MAP),
        (
            {"map('Users', u => ({ A: u.A }))"},
            "groupBy(x => x.A).aggregate(g => g)",
            IndexType.JAVA_SCRIPT_MAP_REDUCE,
        ),
        (set(), None, IndexType.NONE),
        ({"counters.Companies.HeartRate.Select(c => new { c.Value })"}, None, IndexType.MAP),
        (
            {"counters.map('Companies', function (c) { return {}; })"},
            None,
            IndexType.JAVA_SCRIPT_MAP,
        ),
    ],
)
def test_the_type_as_ravendb_detects_it(
    maps: set[str], reduce: str | None, expected: IndexType
) -> None:
    assert IndexDefinition(name="i", maps=maps, reduce=reduce).type is expected


class Animals(AbstractMultiMapIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self._add_map("from cat in docs.Cats select new { cat.name }")
        self._add_map("from dog in docs.Dogs select new { dog.name }")


def test_a_multi_map_task_and_its_compiled_index() -> None:
    definition = Animals().create_index_definition()
    assert definition.name == "Animals" and len(definition.maps) == 2
    index = compile_index(definition)
    assert index.type is IndexType.MAP and not index.is_map_reduce
    assert index.collections == frozenset({"cats", "dogs"})
    assert index.reads("CATS") and not index.reads("Birds")
    cat = {"name": "Tom", "@metadata": {"@id": "cats/1", "@collection": "Cats"}}
    assert index.map(cat, "cats", lambda _: None) == MapOutput([{"name": "Tom"}], set())
    assert index.map(cat, "Birds", lambda _: None) == MapOutput([], set())


def test_a_compiled_map_reduce_index() -> None:
    index = compile_index(Users_ByName().create_index_definition())
    assert index.is_map_reduce and index.rereducible
    assert index.fields == ("name", "count")
    assert index.search_fields == {"name"} and index.stored_fields == {"name"}
    user = {"name": "John", "@metadata": {"@id": "users/1", "@collection": "Users"}}
    entries = index.map(user, "Users", lambda _: None).entries
    assert entries == [{"name": "John", "count": 1}]
    assert index.group_key(entries[0]) == ("John",)
    assert index.group_key({"name": "John", "count": 5}) == index.group_key(entries[0])
    assert index.reduce(entries * 3) == [{"name": "John", "count": 3}]


def test_a_map_over_every_collection() -> None:
    index = compile_index(
        IndexDefinition(name="All", maps={"from d in docs select new { Id = Id(d) }"})
    )
    assert index.collections is None and index.reads("Anything")


def test_group_keys_are_hashable_and_equal_for_equal_values() -> None:
    index = compile_index(
        IndexDefinition(
            name="ByPair",
            maps={"from o in docs.Orders select new { o.A, o.B, Count = 1 }"},
            reduce="from r in results group r by new { r.A, r.B } into g "
            "select new { g.Key.A, g.Key.B, Count = g.Sum(x => x.Count) }",
        )
    )
    one = index.group_key({"A": 1, "B": "x", "Count": 1})
    assert one == index.group_key({"A": 1.0, "B": "x", "Count": 7})
    assert one != index.group_key({"A": 1, "B": "y", "Count": 1})
    assert hash(one) == hash(index.group_key({"B": "x", "A": 1, "Count": 1}))


def test_store_all_fields() -> None:
    class People(AbstractIndexCreationTask):
        def __init__(self) -> None:
            super().__init__()
            self.map = "from p in docs.People select new { p.age, p.name }"
            self._store_all_fields(FieldStorage.YES)

    index = compile_index(People().create_index_definition())
    assert index.stored_fields == {"__all_fields", "age", "name"}


class Bad_Spatial(AbstractIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.map = "from d in docs.Docs select new { d.Name }"
        self._spatial("Name", object())


@pytest.mark.parametrize(
    ("map_", "source"),
    [
        ("counters.Companies.HeartRate.Select(counter => new { counter.Value })", "Counters"),
        ("from counter in counters.Users.Shares select new { counter.Value }", "Counters"),
        ("counters.map('Companies', 'HeartRate', function (c) { return {}; })", "Counters"),
        (
            "from ts in timeSeries.Companies.HeartRate from e in ts.Entries select new { e.Value }",
            "TimeSeries",
        ),
        ("timeSeries.map('Companies', function (ts) { return {}; })", "TimeSeries"),
    ],
)
def test_counters_and_time_series_indexes_are_refused(map_: str, source: str) -> None:
    with pytest.raises(IndexCompilationError, match=f"indexes over {source} are not supported"):
        compile_index(IndexDefinition(name="I", maps={map_}))


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (IndexDefinition(maps={USERS_MAP}), "needs a name"),
        (IndexDefinition(name="Auto/Users/ByName", maps={USERS_MAP}), "'Auto/'"),
        (IndexDefinition(name="x" * 257, maps={USERS_MAP}), "at most 256"),
        (IndexDefinition(name="a\nb", maps={USERS_MAP}), "control characters"),
        (IndexDefinition(name="NoMaps"), "needs maps"),
        (IndexDefinition(name="Blank", maps={"  "}), "needs maps"),
        (Bad_Spatial().create_index_definition(), "spatial field 'Name'"),
        (
            IndexDefinition(
                name="C",
                maps={"from c in counters.Users select new { c.Name }"},
                source_type="Counters",
            ),
            "Counters are not supported",
        ),
        (
            IndexDefinition(
                name="A", maps={USERS_MAP}, additional_assemblies=[{"AssemblyName": "X"}]
            ),
            "assemblies",
        ),
        (
            IndexDefinition(name="S", maps={USERS_MAP}, additional_sources={"X": "class X {}"}),
            "C# sources",
        ),
        (
            IndexDefinition(
                name="O", maps={USERS_MAP}, reduce=USERS_REDUCE, output_reduce_to_collection="Out"
            ),
            "OutputReduceToCollection",
        ),
        (
            IndexDefinition(name="Mixed", maps={USERS_MAP, "map('Users', u => u)"}),
            "all LINQ or all JavaScript",
        ),
        (
            IndexDefinition(
                name="Shapes",
                maps={USERS_MAP, "from d in docs.Dogs select new { d.name }"},
            ),
            "yield the same fields",
        ),
        (
            IndexDefinition(
                name="Reduce",
                maps={USERS_MAP},
                reduce="from r in results group r by r.name into g select new { name = g.Key }",
            ),
            "the fields of its map",
        ),
        (
            IndexDefinition(
                name="Broken", maps={"from u in docs.Users orderby u.A select new { u.A }"}
            ),
            "'orderby'",
        ),
    ],
)
def test_what_compile_index_refuses(definition: IndexDefinition, message: str) -> None:
    with pytest.raises(IndexCompilationError, match=message):
        compile_index(definition)


def test_a_task_without_a_map() -> None:
    class Empty(AbstractIndexCreationTask):
        pass

    with pytest.raises(IndexCompilationError, match="Map is required"):
        Empty().create_index_definition()


def test_a_javascript_task_makes_its_definition() -> None:
    class UsersAndProducts(AbstractJavaScriptIndexCreationTask):
        def __init__(self) -> None:
            super().__init__()
            self.maps = {
                "map('Users', function (u){ return { name: u.name, count: 1};})",
                "map('Products', function (p){ return { name: p.name, count: 1};})",
            }
            self.reduce = "groupBy(x => x.name).aggregate(g => ({ name: g.key, count: 1 }))"
            self.fields = {"name": IndexFieldOptions(indexing=FieldIndexing.SEARCH)}

    definition = UsersAndProducts().create_index_definition()
    assert definition.type is IndexType.JAVA_SCRIPT_MAP_REDUCE
    assert definition.to_json()["IndexType"] == "JavaScriptMapReduce"
    assert definition.additional_sources == {}
    assert IndexDefinition.from_json(definition.to_json()) == definition


def test_a_map_failure_is_an_evaluation_error() -> None:
    index = compile_index(
        IndexDefinition(name="Ratio", maps={"from d in docs.Docs select new { R = d.A / d.B }"})
    )
    with pytest.raises(IndexEvaluationError, match="by zero"):
        index.map({"A": 1, "B": 0}, "Docs", lambda _: None)


def test_the_docstring_examples_run() -> None:
    import doctest

    from rookdb.indexes import definitions

    assert doctest.testmod(definitions).failed == 0


@pytest.mark.parametrize(
    ("maps", "loads"),
    [
        (["from o in docs.Orders select new { o.Company }"], False),
        (["from o in docs.Orders let c = LoadDocument(o.Company) select new { c.Name }"], True),
        (
            [
                "from o in docs.Orders select new { Name = o.Company }",
                "from c in docs.Companies let p = LoadDocument(c.Parent) select new { p.Name }",
            ],
            True,
        ),
        (["map('Orders', o => ({ Company: o.Company }))"], False),
        (["map('Orders', o => ({ Name: load(o.Company, 'Companies').Name }))"], True),
    ],
)
def test_a_compiled_index_says_whether_it_loads_documents(maps: list[str], loads: bool) -> None:
    # Storage looks up who loaded a changed document only when some index may have.
    if maps[0].startswith("map("):
        pytest.importorskip("quickjs")
    definition = IndexDefinition(name="I", maps=set(maps))
    assert compile_index(definition).loads_documents is loads
