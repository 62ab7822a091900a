"""JavaScript indexes in QuickJS: the official client's JavaScript index forms (maps,
multi-maps, a map of several entries, reduce, additional sources), load(), the compile
errors with their place, a failing map, the limits, and no engine."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest

from rookdb.errors import IndexCompilationError, IndexEvaluationError
from rookdb.indexes import (
    AbstractJavaScriptIndexCreationTask,
    IndexDefinition,
    IndexType,
    MapOutput,
    compile_index,
)
from rookdb.scripting import ScriptLimits
from rookdb.scripting.engine import MAX_LOADS
from rookdb.scripting.index_engine import JavaScriptIndexProgram

pytest.importorskip("quickjs")


def doc(id_: str, collection: str, **fields: Any) -> dict[str, Any]:
    return {**fields, "@metadata": {"@id": id_, "@collection": collection}}


def nothing(id_: str) -> None:
    return None


class UsersAndProductsByName(AbstractJavaScriptIndexCreationTask):
    def __init__(self) -> None:
        super().__init__()
        self.maps = {
            "map('Users', function (u){ return { name: u.name, count: 1};})",
            "map('Products', function (p){ return { name: p.name, count: 1};})",
        }
        self.reduce = (
            "groupBy( x =>  x.name )\n"
            "                                .aggregate(g => {return {\n"
            "                                    name: g.key,\n"
            "                                    count: g.values.reduce((total, val) => "
            "val.count + total,0)\n"
            "                               };})"
        )


def test_a_multi_map_reduce_of_the_official_client() -> None:
    index = compile_index(UsersAndProductsByName().create_index_definition())
    assert index.type is IndexType.JAVA_SCRIPT_MAP_REDUCE
    assert index.collections == frozenset({"users", "products"})
    assert index.fields is None and not index.rereducible
    user = index.map(doc("users/1", "Users", name="Brown"), "Users", nothing)
    product = index.map(doc("products/1", "Products", name="Brown"), "Products", nothing)
    assert user == product == MapOutput([{"name": "Brown", "count": 1}], set())
    assert index.group_key(user.entries[0]) == ("Brown",)
    assert index.group_keys([{"name": "A"}, {"name": None}, {}]) == [("A",), (None,), (None,)]
    assert index.reduce(user.entries + product.entries) == [{"name": "Brown", "count": 2}]


def test_a_map_of_several_entries_and_its_reduce() -> None:
    definition = IndexDefinition(
        name="FanoutByNumbersWithReduce",
        maps={
            "map('Fanouts', function (f){\n"
            "    var result = [];\n"
            "    for(var i = 0; i < f.numbers.length; i++)\n"
            "    {\n"
            "        result.push({ foo: f.foo, sum: f.numbers[i] });\n"
            "    }\n"
            "    return result;\n"
            "})"
        },
        reduce="groupBy(f => f.foo).aggregate(g => ({  foo: g.key, sum: "
        "g.values.reduce((total, val) => val.sum + total,0) }))",
    )
    index = compile_index(definition)
    out = index.map(
        doc("fanouts/1", "Fanouts", foo="Foo", numbers=[4, 6, 11, 9]), "Fanouts", nothing
    )
    assert out.entries == [{"foo": "Foo", "sum": n} for n in (4, 6, 11, 9)]
    assert index.reduce(out.entries) == [{"foo": "Foo", "sum": 30}]


def test_arrow_functions_composite_keys_and_no_entry() -> None:
    definition = IndexDefinition(
        name="ByCityAndYear",
        maps={"map('Orders', o => o.Skip ? null : ({ city: o.City, year: o.Year, n: 1 }))"},
        reduce="groupBy(r => ({ city: r.city, year: r.year }))"
        ".aggregate(g => ({ city: g.key.city, year: g.key.year, "
        "n: g.values.reduce((a, v) => a + v.n, 0) }))",
    )
    index = compile_index(definition)
    assert index.map(doc("orders/1", "Orders", Skip=True), "Orders", nothing).entries == []
    entries = index.map(doc("orders/2", "Orders", City="Oslo", Year=2024), "Orders", nothing)
    first = entries.entries[0]
    assert index.group_key(first) == index.group_key({"year": 2024, "city": "Oslo", "n": 9})
    assert index.reduce([first, first]) == [{"city": "Oslo", "year": 2024, "n": 2}]


def test_load_by_collection_reports_the_ids() -> None:
    stored = {
        "companies/1": doc("companies/1", "Companies", Name="Acme"),
        "suppliers/1": doc("suppliers/1", "Suppliers", Name="Other"),
    }
    definition = IndexDefinition(
        name="OrdersWithCompany",
        maps={
            "map('Orders', function (o) { var c = load(o.Company, 'Companies'); "
            "return { Company: c ? c.Name : null, Id: id(o) }; })"
        },
    )
    index = compile_index(definition)
    out = index.map(doc("orders/1", "Orders", Company="companies/1"), "Orders", stored.get)
    assert out == MapOutput([{"Company": "Acme", "Id": "orders/1"}], {"companies/1"})
    other = index.map(doc("orders/2", "Orders", Company="suppliers/1"), "Orders", stored.get)
    assert other == MapOutput([{"Company": None, "Id": "orders/2"}], {"suppliers/1"})
    missing = index.map(doc("orders/3", "Orders", Company="companies/9"), "Orders", stored.get)
    assert missing == MapOutput([{"Company": None, "Id": "orders/3"}], {"companies/9"})


def test_too_many_loads() -> None:
    program = JavaScriptIndexProgram(
        [
            "map('Docs', d => { for (var i = 0; i < 100; i++) load('x/' + i); return {}; })",
        ],
        None,
    )
    with pytest.raises(IndexEvaluationError, match=f"more than {MAX_LOADS}"):
        program.run_map(0, doc("docs/1", "Docs"), nothing)


def test_additional_sources_and_all_docs() -> None:
    class UsersByNameWithAdditionalSources(AbstractJavaScriptIndexCreationTask):
        def __init__(self) -> None:
            super().__init__()
            self.maps = {"map('@all_docs', function(u) { return { name: mr(u.name)}; })"}
            self.additional_sources = {"The Script": "function mr(x) { return 'Mr. ' + x; }"}

    index = compile_index(UsersByNameWithAdditionalSources().create_index_definition())
    assert index.collections is None
    out = index.map(doc("users/1", "Users", name="Gracjan"), "Users", nothing)
    assert out.entries == [{"name": "Mr. Gracjan"}]


@pytest.mark.parametrize(
    ("maps", "reduce", "message", "line", "column"),
    [
        (["map('Users', function (u) {\n  return u.;\n})"], None, "SyntaxError", 2, 12),
        (["var x = 1;"], None, "calls map('Collection'", None, None),
        (["\n\nmap(1, 2)"], None, "map(collection, function)", 3, 1),
        (["map('Users', u => u)"], "var y = 2;", "calls groupBy", None, None),
        (["map('Users', u => u)"], "groupBy(x => x.a).aggregate(", "SyntaxError", 1, None),
    ],
)
def test_compile_errors(
    maps: list[str], reduce: str | None, message: str, line: int | None, column: int | None
) -> None:
    definition = IndexDefinition(name="Broken", maps=set(maps), reduce=reduce)
    with pytest.raises(IndexCompilationError, match=re.escape(message)) as caught:
        compile_index(definition)
    assert caught.value.line == line
    if column is not None:
        assert caught.value.column == column


def test_a_map_that_throws_is_an_evaluation_error() -> None:
    index = compile_index(
        IndexDefinition(
            name="Throws", maps={"map('Docs', d => { throw new Error('bad ' + d.A); })"}
        )
    )
    with pytest.raises(IndexEvaluationError, match="the JavaScript map failed: Error: bad 1"):
        index.map(doc("docs/1", "Docs", A=1), "Docs", nothing)


def test_a_map_that_returns_a_number() -> None:
    index = compile_index(IndexDefinition(name="Number", maps={"map('Docs', d => 3)"}))
    with pytest.raises(IndexEvaluationError, match="not an object"):
        index.map(doc("docs/1", "Docs"), "Docs", nothing)


def test_runaway_map_is_stopped_by_the_time_limit() -> None:
    program = JavaScriptIndexProgram(
        ["map('Docs', d => { while (true) {} })"], None, script_limits=ScriptLimits(0.3, 8 << 20)
    )
    with pytest.raises(IndexEvaluationError, match="time limit"):
        program.run_map(0, doc("docs/1", "Docs"), nothing)


def test_each_run_starts_afresh() -> None:
    index = compile_index(
        IndexDefinition(
            name="Counter",
            maps={"var seen = 0; map('Docs', d => { seen += 1; return { seen: seen }; })"},
        )
    )
    for number in range(3):
        out = index.map(doc(f"docs/{number}", "Docs"), "Docs", nothing)
        assert out.entries == [{"seen": 1}]


def test_without_the_engine() -> None:
    code = (
        "import sys; sys.modules['quickjs'] = None\n"
        "from rookdb.indexes import IndexDefinition, compile_index\n"
        "from rookdb.errors import ScriptingUnavailableError\n"
        "try:\n"
        "    compile_index(IndexDefinition(name='J', maps={\"map('A', a => a)\"}))\n"
        "except ScriptingUnavailableError as exc:\n"
        "    print(exc)\n"
        "compile_index(IndexDefinition(name='L', maps={'from a in docs.A select new { a.B }'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "JavaScript indexes need the embedded engine" in out.stdout
    assert "rookdb[scripting]" in out.stdout


def test_dynamic_fields_become_fields_of_the_entry() -> None:
    # RavenDB's dynamic fields: "_" holds one {$name, $value, $options} or a list of them
    # (createField makes one); each is a field named at run time, "_" itself none.
    one = IndexDefinition(
        name="Users/Dynamic",
        maps={
            "map('Users', function (u) { return { name: u.name, "
            "_: {$value: u.name, $name: 'analyzed_name', $options: {indexing: 'Search'}} }; })"
        },
    )
    out = compile_index(one).map(doc("users/1", "Users", name="Ann Lee"), "Users", nothing)
    assert out.entries == [{"name": "Ann Lee", "analyzed_name": "Ann Lee"}]
    many = IndexDefinition(
        name="Users/Attributes",
        maps={
            "map('Users', function (u) { return { _: Object.keys(u.attrs).map("
            "k => createField(k, u.attrs[k], {indexing: 'Exact'})) }; })"
        },
    )
    user = doc("users/1", "Users", attrs={"color": "red", "size": 3})
    out = compile_index(many).map(user, "Users", nothing)
    assert out.entries == [{"color": "red", "size": 3}]
