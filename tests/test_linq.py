"""The LINQ subset of index definitions: maps and reduces as RavenDB's documentation and
the official client's tests write them, evaluated on documents; RavenDB's null semantics;
every refused construct with its position; reduce over splits of a group (property test)."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rookdb.errors import IndexCompilationError, IndexEvaluationError
from rookdb.indexes.linq_evaluator import compile_map, compile_reduce


def doc(id_: str, collection: str, **fields: Any) -> dict[str, Any]:
    return {**fields, "@metadata": {"@id": id_, "@collection": collection}}


def no_load(id_: str) -> None:
    raise AssertionError(f"unexpected load of {id_}")


def run(text: str, document: dict[str, Any], load: Any = no_load) -> list[dict[str, Any]]:
    entries, _ = compile_map(text).run(document, load)
    return entries


# -- maps of the official client's tests (the ones in the subset) -------------------------

ORDER = doc(
    "orders/1",
    "Orders",
    Company="companies/1",
    Total=25,
    Lines=[
        {"Product": "products/1", "Quantity": 2, "PricePerUnit": 1.5},
        {"Product": "products/2", "Quantity": 1, "PricePerUnit": 10},
    ],
    employee="employees/1",
    company="companies/1",
)


@pytest.mark.parametrize(
    ("text", "document", "expected"),
    [
        (
            "from c in docs.Users select new { c.name, count = 1 }",
            doc("users/1", "Users", name="John"),
            [{"name": "John", "count": 1}],
        ),
        (
            " from task in docs.Tasks select new { task.assignee_id }",
            doc("tasks/1", "Tasks", assignee_id="people/1"),
            [{"assignee_id": "people/1"}],
        ),
        (
            "from o in docs.Orders select new { o.employee, o.company }",
            ORDER,
            [{"employee": "employees/1", "company": "companies/1"}],
        ),
        (
            "from dog in docs.dogs select new { dog.name, dog.age, dog.is_vaccinated }",
            doc("dogs/1", "Dogs", name="Reksio", age=2),
            [{"name": "Reksio", "age": 2, "is_vaccinated": None}],
        ),
        (
            "from contact in docs.contacts select new { company_id = contact.company_id, "
            "tags = contact.tags, active = contact.active  }",
            doc("contacts/1", "Contacts", company_id="c/1", tags=["a", "b"], active=True),
            [{"company_id": "c/1", "tags": ["a", "b"], "active": True}],
        ),
        (
            "docs.Orders.Select(order => new { order.currency, \n"
            "                          order.product,\n"
            "                          order.total })",
            doc("orders/2", "Orders", currency="EUR", product="Milk", total=1.1),
            [{"currency": "EUR", "product": "Milk", "total": 1.1}],
        ),
        (
            "from doc in docs.ComplexDatas select new { doc.property_, doc.property_.body }",
            doc("d/1", "ComplexDatas", property_={"body": "text"}),
            [{"property_": {"body": "text"}, "body": "text"}],
        ),
        (
            "docs.EventItems.Select(doc => new {\n"
            "    doc = doc,\n"
            "    slug = Id(doc).ToString().Substring(Id(doc).ToString().IndexOf('/') + 1)\n"
            "}).Select(this0 => new {\n"
            "    slug = this0.slug,\n"
            "    title = this0.doc.title,\n"
            "    content = this0.doc.content\n"
            "})",
            doc("items/some-slug", "EventItems", title="T", content="C"),
            [{"slug": "some-slug", "title": "T", "content": "C"}],
        ),
        (
            "docs.MyDocuments.SelectMany(doc => doc.items, (doc, item) => new {\n"
            "    doc = doc,\n"
            "    item = item\n"
            "}).Select(this0 => new {\n"
            "    this0 = this0,\n"
            "    lat = ((double)(this0.item.latitude ?? 0))\n"
            "}).Select(this1 => new {\n"
            "    id = Id(this1.this0.doc),\n"
            "    date = this1.this0.item.date,\n"
            "    latitude = this1.lat\n"
            "})",
            doc("my/1", "MyDocuments", items=[{"latitude": 10, "date": "d1"}, {"date": "d2"}]),
            [
                {"id": "my/1", "date": "d1", "latitude": 10.0},
                {"id": "my/1", "date": "d2", "latitude": 0.0},
            ],
        ),
    ],
)
def test_official_client_maps(text: str, document: dict[str, Any], expected: Any) -> None:
    assert run(text, document) == expected


def test_a_map_reads_its_collection_and_names_its_fields() -> None:
    compiled = compile_map("from c in docs.Users select new { c.name, count = 1 }")
    assert (compiled.collection, compiled.fields) == ("Users", ("name", "count"))
    every = compile_map("from d in docs select new { Name = d.Name }")
    assert every.collection is None


def test_load_document_reports_the_ids_it_asked_for_found_or_not() -> None:
    text = (
        "docs.MainDocuments.Select(mainDocument => new {"
        "    mainDocument = mainDocument,"
        '    related = this.LoadDocument(String.Format("related/{0}", mainDocument.name), '
        '"RelatedDocuments")'
        "}).Select(this0 => new {"
        "    name = this0.mainDocument.name,\n"
        "    value = this0.related != null ? ((decimal ? ) this0.related.value) : "
        "((decimal ? ) null)\n"
        "})"
    )
    stored = {"related/a": doc("related/a", "RelatedDocuments", value=3)}
    compiled = compile_map(text)
    assert compiled.run(doc("m/1", "MainDocuments", name="a"), stored.get) == (
        [{"name": "a", "value": 3.0}],
        {"related/a"},
    )
    assert compiled.run(doc("m/2", "MainDocuments", name="b"), stored.get) == (
        [{"name": "b", "value": None}],
        {"related/b"},
    )


def test_load_document_of_another_collection_is_null() -> None:
    text = (
        'from o in docs.Orders let c = LoadDocument(o.Company, "Companies") '
        "select new { Name = c.Name }"
    )
    found = doc("companies/1", "Suppliers", Name="Acme")
    entries, loaded = compile_map(text).run(ORDER, lambda _: found)
    assert (entries, loaded) == ([{"Name": None}], {"companies/1"})


def test_the_brief_s_query_syntax_map() -> None:
    text = (
        "from order in docs.Orders where order.Total > 10 select new { Company = order.Company, "
        "Total = order.Lines.Sum(l => l.Quantity * l.PricePerUnit) }"
    )
    assert run(text, ORDER) == [{"Company": "companies/1", "Total": 13.0}]
    assert run(text, {**ORDER, "Total": 5}) == []


def test_nested_from_let_and_where() -> None:
    text = """
        from order in docs.Orders
        from line in order.Lines
        let amount = line.Quantity * line.PricePerUnit // a comment
        where amount >= 3 && !(line.Product == "products/9")
        select new { order.Company, line.Product, Amount = amount }
    """
    assert run(text, ORDER) == [
        {"Company": "companies/1", "Product": "products/1", "Amount": 3.0},
        {"Company": "companies/1", "Product": "products/2", "Amount": 10},
    ]


def test_method_syntax_where_and_select_many() -> None:
    text = (
        "docs.Users.Where(u => u.Age >= 18).Select(u => new { u.Name, "
        "Initial = u.Name.Substring(0, 1) })"
    )
    assert run(text, doc("users/1", "Users", Name="Ann", Age=30)) == [
        {"Name": "Ann", "Initial": "A"}
    ]
    assert run(text, doc("users/2", "Users", Name="Bob", Age=10)) == []
    many = "docs.Orders.SelectMany(o => o.Lines).Select(l => new { l.Product })"
    assert run(many, ORDER) == [{"Product": "products/1"}, {"Product": "products/2"}]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("7 / 2", 3),
        ("-7 / 2", -3),
        ("7.0 / 2", 3.5),
        ("7 % 3", 1),
        ("-7 % 3", -1),
        ("10m / 4", 2.5),
        ("(int)3.9", 3),
        ("(decimal)3", 3.0),
        ('"a" + 1 + true', "a1True"),
        ('"a" + d.Missing', "a"),
        ("d.Name.ToLower() + d.Name.ToUpper()", "annANN"),
        ("d.Name.Length", 3),
        ('d.Name.Contains("n") && d.Name.StartsWith("A") && d.Name.EndsWith("n")', True),
        ('string.Join(", ", d.Tags)', "x, y"),
        ("string.IsNullOrEmpty(d.Missing) && !String.IsNullOrEmpty(d.Name)", True),
        ("Math.Max(d.Age, 50) + Math.Abs(-1) + Math.Floor(1.7) + Math.Round(2.5)", 54.0),
        ("d.Tags.Count()", 2),
        ('d.Tags.Count(t => t == "x")', 1),
        ('d.Tags.Any() && d.Tags.Any(t => t == "y") && !d.Tags.Any(t => t == "z")', True),
        ("d.Nums.Sum()", 6),
        ("d.Nums.Min() + d.Nums.Max() * 10", 31),
        ("d.Nums.Average()", 2.0),
        ("d.Nums.Where(n => n > 1).Select(n => n * 2).Sum()", 10),
        ("d.Nums.Select(n => n % 2 == 0).Count(b => b)", 1),
        ('d.Age > 40 ? "old" : "young"', "old"),
        ("d.Missing ?? d.Name", "Ann"),
        ("d.Tags[1]", "y"),
        ("d.Tags[5]", None),
        ("new[] { 1, 2 }", [1, 2]),
        ("new object[] { d.Name, 2 }", ["Ann", 2]),
        ("new { A = 1, B = new { C = d.Age } }", {"A": 1, "B": {"C": 42}}),
        ("Id(d)", "users/1"),
        ('MetadataFor(d)["@collection"]', "Users"),
        ("d.Nums.FirstOrDefault(n => n > 5)", None),
        ("d.Nums.OrderByDescending(n => n).First()", 3),
        ('@"a""b"', 'a"b'),
        ('"tab\\tend"', "tab\tend"),
    ],
)
def test_expressions(expression: str, expected: Any) -> None:
    document = doc("users/1", "Users", Name="Ann", Age=42, Tags=["x", "y"], Nums=[1, 2, 3])
    assert run(f"from d in docs.Users select new {{ V = {expression} }}", document) == [
        {"V": expected}
    ]


# -- RavenDB's null semantics ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("d.Missing", None),
        ("d.Missing.Deeper.Still", None),
        ("d.Missing.ToLower()", None),
        ("d.Missing[0]", None),
        ("d.Missing + 1", None),
        ("d.Missing * 2", None),
        ("-d.Missing", None),
        ("d.Missing == null", True),
        ("d.Missing != null", False),
        ("d.Missing > 1", False),
        ("d.Missing < 1", False),
        ("d.Missing <= 1", False),
        ("d.Missing == 0", False),
        ("!d.Missing", True),
        ("d.Missing || true", True),
        ("d.Missing && true", False),
        ("d.Missing ? 1 : 2", 2),
        ("d.Missing.Count()", None),
        ("d.Values.Sum(v => v.X)", 3),
        ("d.Values.Min(v => v.X)", 1),
        ("d.Values.Average(v => v.X)", 1.5),
        ("d.Empty.Sum()", 0),
        ("d.Empty.Max()", None),
        ("d.Empty.Average()", None),
        ("(int)d.Missing", None),
        ("1 == 1.0", True),
        ("true == 1", False),
    ],
)
def test_null_semantics(expression: str, expected: Any) -> None:
    document = doc("n/1", "Nulls", Values=[{"X": 1}, {"X": None}, {}, {"X": 2}], Empty=[])
    assert run(f"from d in docs.Nulls select new {{ V = {expression} }}", document) == [
        {"V": expected}
    ]


def test_from_over_null_yields_nothing() -> None:
    text = "from o in docs.Orders from l in o.Missing select new { l.Product }"
    assert run(text, ORDER) == []


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("d.Name - 1", "a string - a number"),
        ("d.Name > 1", "a string > a number"),
        ("1 / 0", "by zero"),
        ("d.Name ? 1 : 2", "not a boolean"),
        ("d.Name.Sum()", "Sum() is not defined on a string"),
        ("d.Name.Substring(10)", "Substring"),
    ],
)
def test_evaluation_errors_say_what_and_where(expression: str, message: str) -> None:
    text = f"from d in docs.Users select new {{ V = {expression} }}"
    with pytest.raises(IndexEvaluationError, match=re.escape(message)) as caught:
        run(text, doc("users/1", "Users", Name="Ann"))
    assert "(line 1, column" in str(caught.value)


# -- refused constructs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "construct", "line", "column"),
    [
        ("from u in docs.Users orderby u.Name select new { u.Name }", "'orderby'", 1, 22),
        (
            "from u in docs.Users\njoin c in docs.Companies on u.C equals c.Id "
            "select new { u.Name }",
            "'join'",
            2,
            1,
        ),
        ("docs.Users.Select(u => { return new { u.Name }; })", "statement body", 1, 24),
        ("from u in docs.Users select new User { Name = u.Name }", "'new' of a named type", 1, 29),
        ("from u in docs.Users select new { N = u.Name.Normalize() }", ".Normalize()", 1, 46),
        ("from u in docs.Users select new { N = Foo(u) }", "Foo()", 1, 39),
        ("from u in docs.Users select new { N = Math.Tan(u.A) }", "Math.Tan()", 1, 44),
        ("from u in docs.Users select new { N = u is string }", "'is'", 1, 41),
        ("from u in docs.Users select new { N = typeof(u) }", "'typeof'", 1, 39),
        (
            "from u in docs.Users select new { N = u.Tags.OfType<string>() }",
            "generic method",
            1,
            52,
        ),
        (
            "docs.Items.Select(doc => new { c = this.CreateSpatialField(doc.lat, doc.lng) })",
            "spatial",
            1,
            41,
        ),
        ("from c in counters.Users select new { c.Name }", "counters", 1, 11),
        ("from u in docs.Users select new { N = x => x }", "a lambda outside", 1, 39),
        ("from u in docs.Users let a = 1 select new { B = a = 2 }", "an assignment", 1, 51),
    ],
)
def test_refused_constructs_name_themselves_and_their_place(
    text: str, construct: str, line: int, column: int
) -> None:
    with pytest.raises(IndexCompilationError) as caught:
        compile_map(text)
    error = caught.value
    assert construct in str(error)
    assert "not supported" in str(error)
    assert (error.line, error.column) == (line, column)
    assert f"(line {line}, column {column})" in str(error)
    assert error.source == text


@pytest.mark.parametrize(
    ("text", "message", "line", "column"),
    [
        ("from u in docs.Users select new { u.Name", "expected ','", 1, 41),
        ('from u in docs.Users select new { N = "open }', "unterminated string", 1, 39),
        ("from u in docs.Users select new { N = u.Name # }", "unexpected character", 1, 46),
        ("from u in docs.Users select new { N = v.Name }", "unknown name 'v'", 1, 39),
        ("from u in docs.Users select new { 1 + 2 }", "needs a name", 1, 35),
        ("from u in docs.Users select new { A = 1, A = 2 }", "twice", 1, 29),
        (
            "from u in docs.Users from c in docs.Companies select new { u.A }",
            "one collection",
            1,
            32,
        ),
        ("from u in docs.Users select u", "select new", 1, 1),
        ("from a in docs.Users from b in docs.Users select new { a.X }", "once", 1, 32),
        ("from u in docs.Users group u by u.A", "needs 'into'", 1, 36),
        ("from r in results select new { r.A }", "'results' is not a source of a map", 1, 11),
        ("from u in docs.Users select new { A = 1 } where", "'where' clause here", 1, 43),
    ],
)
def test_syntax_errors_have_their_place(text: str, message: str, line: int, column: int) -> None:
    with pytest.raises(IndexCompilationError, match=message) as caught:
        compile_map(text)
    assert (caught.value.line, caught.value.column) == (line, column)


# -- reduces ----------------------------------------------------------------------------------

COUNT_REDUCE = (
    "from result in results group result by result.Company into g select new { "
    "Company = g.Key, Count = g.Sum(x => x.Count) }"
)


def test_query_syntax_reduce() -> None:
    reduce = compile_reduce(COUNT_REDUCE)
    entries = [{"Company": "c/1", "Count": 1}, {"Company": "c/1", "Count": 2}]
    assert reduce.run(entries) == [{"Company": "c/1", "Count": 3}]
    assert reduce.key(entries[0]) == "c/1"
    assert (reduce.fields, reduce.rereducible) == (("Company", "Count"), True)


def test_composite_key_reduce_with_g_key_members() -> None:
    text = (
        "from r in results group r by new { r.Company, r.Year } into g select new { "
        "Company = g.Key.Company, Year = g.Key.Year, Total = g.Sum(x => x.Total), "
        "Min = g.Min(x => x.Min), Max = g.Max(x => x.Max) }"
    )
    reduce = compile_reduce(text)
    entries = [
        {"Company": "c", "Year": 2024, "Total": 1, "Min": 1, "Max": 1},
        {"Company": "c", "Year": 2024, "Total": 5, "Min": 5, "Max": 5},
    ]
    assert reduce.key(entries[0]) == {"Company": "c", "Year": 2024}
    assert reduce.run(entries) == [{"Company": "c", "Year": 2024, "Total": 6, "Min": 1, "Max": 5}]


def test_method_syntax_reduce() -> None:
    text = (
        "results.GroupBy(x => x.Company).Select(g => new { Company = g.Key, "
        "Count = g.Sum(x => x.Count) })"
    )
    reduce = compile_reduce(text)
    assert reduce.run([{"Company": "a", "Count": 2}, {"Company": "a", "Count": 3}]) == [
        {"Company": "a", "Count": 5}
    ]
    assert reduce.key({"Company": "a", "Count": 2}) == "a"


def test_count_and_average_reduces_are_not_rereducible() -> None:
    counted = compile_reduce(
        "from r in results group r by r.A into g select new { A = g.Key, N = g.Count() }"
    )
    averaged = compile_reduce(
        "from r in results group r by r.A into g select new { A = g.Key, N = g.Average(x => x.N) }"
    )
    assert not counted.rereducible and not averaged.rereducible
    assert counted.run([{"A": 1, "N": 1}, {"A": 1, "N": 1}]) == [{"A": 1, "N": 2}]


@pytest.mark.parametrize(
    "text",
    [
        "from r in results where r.A > 1 group r by r.A into g select new { A = g.Key }",
        "from r in results select new { r.A }",
        "results.Select(r => new { r.A })",
    ],
)
def test_a_reduce_groups_its_results_directly(text: str) -> None:
    with pytest.raises(IndexCompilationError, match="a reduce groups its results"):
        compile_reduce(text)


def test_load_document_is_refused_in_a_reduce() -> None:
    with pytest.raises(IndexCompilationError, match="LoadDocument in a reduce"):
        compile_reduce(
            "from r in results group r by r.A into g select new { A = LoadDocument(g.Key) }"
        )


AGGREGATES = (
    "from r in results group r by r.Key into g select new { Key = g.Key, "
    "Count = g.Sum(x => x.Count), Sum = g.Sum(x => x.Sum), Min = g.Min(x => x.Min), "
    "Max = g.Max(x => x.Max) }"
)


@settings(max_examples=150, deadline=None)
@given(
    values=st.lists(st.integers(-1000, 1000), min_size=1, max_size=20),
    cuts=st.lists(st.integers(0, 20), max_size=4),
)
def test_reduce_of_reduce_outputs_equals_reduce_of_map_entries(
    values: list[int], cuts: list[int]
) -> None:
    """Count (as a sum of 1s), Sum, Min and Max: reducing a group split anywhere into parts,
    then reducing the parts' results, gives the reduce of the whole group."""
    reduce = compile_reduce(AGGREGATES)
    entries = [{"Key": "k", "Count": 1, "Sum": v, "Min": v, "Max": v} for v in values]
    bounds = sorted({0, len(entries), *(c for c in cuts if c < len(entries))})
    parts = [entries[a:b] for a, b in itertools.pairwise(bounds) if a < b]
    partial = [result for part in parts for result in reduce.run(part)]
    assert reduce.run(partial) == reduce.run(entries)
    assert reduce.run(entries) == [
        {
            "Key": "k",
            "Count": len(values),
            "Sum": sum(values),
            "Min": min(values),
            "Max": max(values),
        }
    ]


def test_the_official_client_s_order_time_map_subtracts_dates() -> None:
    text = (
        "from order in docs.Orders select new "
        "{delay = order.shipped_at - ((DateTime?)order.ordered_at)}"
    )
    shipped = "2024-03-05T12:00:00.0000000"
    cases = {
        "2024-03-05T10:00:00.0000000": "02:00:00",
        "2024-03-03T12:00:00.0000000": "2.00:00:00",
        "2024-03-05T11:58:00.5000000": "00:01:59.5000000",
        "2024-03-05T12:00:01.0000000Z": "-00:00:01",
    }
    for ordered, delay in cases.items():
        document = doc("orders/1", "Orders", shipped_at=shipped, ordered_at=ordered)
        assert run(text, document) == [{"delay": delay}]


def test_parts_of_a_date_string() -> None:
    text = (
        "from o in docs.Orders select new { o.At.Year, o.At.Month, o.At.Day, o.At.Hour, "
        "Date = o.At.Date, NotADate = o.Name.Year }"
    )
    document = doc("orders/1", "Orders", At="2024-02-29T13:14:15.1234567Z", Name="x")
    assert run(text, document) == [
        {
            "Year": 2024,
            "Month": 2,
            "Day": 29,
            "Hour": 13,
            "Date": "2024-02-29T00:00:00.0000000Z",
            "NotADate": None,
        }
    ]


def test_totals_per_month_map_reduce() -> None:
    map_ = compile_map(
        "from o in docs.Orders select new { Month = o.At.Substring(0, 7), "
        "Total = o.Lines.Sum(l => l.Quantity * l.PricePerUnit), Count = 1 }"
    )
    reduce = compile_reduce(
        "results.GroupBy(r => r.Month).Select(g => new { Month = g.Key, "
        "Total = g.Sum(r => r.Total), Count = g.Sum(r => r.Count) })"
    )
    entries: list[dict[str, Any]] = []
    for at in ("2024-01-03T00:00:00", "2024-01-30T00:00:00"):
        entries += map_.run({**ORDER, "At": at}, no_load)[0]
    assert {reduce.key(e) for e in entries} == {"2024-01"}
    assert reduce.run(entries) == [{"Month": "2024-01", "Total": 26.0, "Count": 2}]


# -- hostile input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "from u in docs.Users select new { A = " + "(" * 200 + "1" + ")" * 200 + " }",
            "nest deeper",
        ),
        ("from u in docs.Users select new { A = " + "!" * 200 + "true }", "nest deeper"),
        ("from u in docs.Users select new { A = " + "+".join(["1"] * 600) + " }", "nested deeper"),
        ("from u in docs.Users select new { A = u" + ".B" * 600 + " }", "nested deeper"),
    ],
)
def test_deep_expressions_are_refused(text: str, message: str) -> None:
    with pytest.raises(IndexCompilationError, match=message):
        compile_map(text)


@pytest.mark.parametrize(
    "expression",
    ["9223372036854775807 + 1", "(long)1e300", "Math.Pow(10, 400)", "Math.Pow(-8, 0.5)"],
)
def test_numbers_json_cannot_hold_are_evaluation_errors(expression: str) -> None:
    with pytest.raises(IndexEvaluationError):
        run(f"from d in docs.Users select new {{ V = {expression} }}", doc("u/1", "Users"))


_PIECES = st.sampled_from(
    [
        "from", "x", "in", "docs.Users", "docs", "results", "select", "new", "{", "}", "(", ")",
        "[", "]", "=", "==", "=>", ",", ".", "A", "Sum", "Count()", "where", "let", "group",
        "by", "into", "g", "g.Key", "1", "2.5m", '"s"', "'c'", "null", "true", "?", ":", "??",
        "+", "-", "*", "/", "%", "!", "&&", "||", "<", ">", "(int)", "Math.Abs", "string.Join",
        "LoadDocument", "Id", "x.Lines", "l", "l =>", "Select", "Where", "orderby", ";", "@",
        "#", "/*", "\n",
    ]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES, max_size=30))
def test_any_text_compiles_or_is_refused_and_runs_or_fails_typed(pieces: list[str]) -> None:
    """A definition made of LINQ's pieces in any order: compiled, or refused with
    IndexCompilationError; a compiled one, run on a document, gives entries or an
    IndexEvaluationError (never another exception)."""
    text = " ".join(pieces)
    for compile_ in (compile_map, compile_reduce):
        try:
            compiled = compile_(text)
        except IndexCompilationError as exc:
            assert exc.source is None or exc.source == text
            continue
        document = doc("users/1", "Users", A=1, Lines=[{"A": 2}])
        try:
            if compile_ is compile_map:
                compiled.run(document, lambda _: None)  # type: ignore[call-arg]
            else:
                compiled.run([document])  # type: ignore[call-arg]
        except IndexEvaluationError:
            pass


_ATOMS = st.sampled_from(
    ["d.A", "d.B", "d.Name", "d.Tags", "d.Nums", "d.Missing", "d.Obj", "1", "0", "-2", "2.5",
     '"s"', "null", "true", "false", "Id(d)"]
)  # fmt: skip


def _expressions() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        binary = st.tuples(
            inner, st.sampled_from(["+", "-", "*", "/", "%", "==", "<", "&&", "||", "??"]), inner
        ).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
        method = st.tuples(
            inner,
            st.sampled_from(
                [
                    "Count()",
                    "Sum()",
                    "Max()",
                    "Average()",
                    "ToLower()",
                    "Substring(1)",
                    "Select(x => x)",
                    "Where(x => x > 1)",
                    "Any()",
                    "First()",
                    "ToString()",
                    "Contains(1)",
                    "Sum(x => x.A)",
                    "Distinct()",
                    "OrderBy(x => x)",
                    "Length",
                    "Key",
                    "Year",
                    'Split(",")',
                ]
            ),
        ).map(lambda t: f"{t[0]}.{t[1]}")
        other = st.one_of(
            inner.map(lambda e: f"!{e}"),
            inner.map(lambda e: f"(int){e}"),
            inner.map(lambda e: f"{e}[0]"),
            st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} ? {t[1]} : {t[2]})"),
            st.tuples(inner, inner).map(lambda t: f"Math.Max({t[0]}, {t[1]})"),
            st.tuples(inner, inner).map(lambda t: f"new {{ P = {t[0]}, Q = {t[1]} }}"),
            inner.map(lambda e: f'string.Join(",", {e})'),
        )
        return st.one_of(binary, method, other)

    return st.recursive(_ATOMS, extend, max_leaves=8)


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**62), 2**62)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5)
    | st.sampled_from(["2024-01-02T03:04:05.0000000Z", "2023-12-31"])
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["A", "B"]), inner, max_size=2)
    ),
    max_leaves=6,
)


@settings(max_examples=400, deadline=None)
@given(
    expression=_expressions(),
    values=st.dictionaries(st.sampled_from(["A", "B", "Name", "Tags", "Nums", "Obj"]), _JSON),
)
def test_any_expression_on_any_document_gives_a_json_value_or_an_evaluation_error(
    expression: str, values: dict[str, Any]
) -> None:
    import orjson

    compiled = compile_map(f"from d in docs.Users select new {{ V = {expression} }}")
    try:
        entries, _ = compiled.run(doc("users/1", "Users", **values), lambda _: None)
    except IndexEvaluationError:
        return
    orjson.dumps(entries)  # what storage will write


def test_ordering_values_of_different_kinds_is_an_evaluation_error() -> None:
    text = "from d in docs.Users select new { V = d.Tags.OrderBy(x => x) }"
    assert run(text, doc("u/1", "Users", Tags=[2, None, 1])) == [{"V": [None, 1, 2]}]
    with pytest.raises(IndexEvaluationError, match=r"a string < a number|a number < a string"):
        run(text, doc("u/1", "Users", Tags=[1, "a"]))
