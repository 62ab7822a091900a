"""LINQ maps and reduces compiled to Python closures (no ``eval`` of generated text).

``compile_map(text)`` checks a map against the subset and answers a ``LinqMap``: the
collection it reads (``docs.Orders``; None for ``docs``, every collection), the fields of
its entries, and ``run(document, load)``. ``compile_reduce(text)`` answers a
``LinqReduce``: ``run(entries)`` over the entries of one group, ``key(entry)`` the group's
key, and whether reducing its own outputs again gives the same result (``rereducible``).
Every name, function and method is resolved here, so a definition that would fail for
want of one fails when it is put, with the position. The values' semantics (RavenDB's null
object) are ``linq_runtime``'s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from rookdb.errors import IndexCompilationError, IndexEvaluationError, shown
from rookdb.indexes import linq_ast as ast
from rookdb.indexes.linq_methods import STATIC_METHODS, VALUE_METHODS, call_method
from rookdb.indexes.linq_parser import parse, refused
from rookdb.indexes.linq_runtime import (
    Grouping,
    arithmetic,
    cast,
    compare,
    group,
    index,
    items,
    member,
    truth,
)

__all__ = ["LinqMap", "LinqReduce", "Loader", "compile_map", "compile_reduce"]

Env = dict[str, Any]
Fn = Callable[[Env], Any]
#: ``load(id)``: the document of that id (its ``@metadata`` in it) or None.
Loader = Callable[[str], "dict[str, Any] | None"]

# Keys of the environment no identifier can spell.
_SOURCE, _LOAD, _LOADED = " source", " load", " loaded"
_STATIC_CLASSES = frozenset(("Math", "string", "String"))
#: Aggregates whose result on reduce outputs differs from the result on map entries.
_NOT_REREDUCIBLE = frozenset(("Count", "LongCount", "Average", "Distinct"))


def _located(node: ast.Node, function: Fn) -> Fn:
    """``function``, its evaluation errors given ``node``'s place."""

    def located(env: Env) -> Any:
        try:
            return function(env)
        except IndexEvaluationError as exc:
            if "(line " in str(exc):
                raise
            raise IndexEvaluationError(
                f"{exc} (line {node.line}, column {node.column})", document_id=exc.document_id
            ) from None

    return located


def negate(value: Any) -> Any:
    """Unary ``-``: a dynamic null stays null (its own operator), a number is negated."""
    return None if value is None else arithmetic("-", 0, value)


class _Compiler:
    def __init__(self, text: str, root: str) -> None:
        self.text = text
        self.root = root  # "docs" for a map, "results" for a reduce
        self.collections: list[tuple[str | None, ast.Node]] = []
        self.calls: set[str] = set()
        self.loads = False  # a LoadDocument call: the map's loads are recorded

    def refuse(self, what: str, node: ast.Node) -> IndexCompilationError:
        return refused(what, node, self.text)

    def error(self, message: str, node: ast.Node) -> IndexCompilationError:
        return IndexCompilationError(
            f"{message} (line {node.line}, column {node.column})",
            line=node.line,
            column=node.column,
            source=self.text,
        )

    def compile(self, node: ast.Node, scope: frozenset[str]) -> Fn:
        if isinstance(node, ast.Literal):
            value = node.value
            return lambda env: value
        if isinstance(node, ast.Name):
            return self.name(node, scope)
        if isinstance(node, ast.Member):
            return self.member(node, scope)
        if isinstance(node, ast.Index):
            target, key = self.compile(node.target, scope), self.compile(node.index, scope)
            return lambda env: index(target(env), key(env))
        if isinstance(node, ast.Call):
            return _located(node, self.call(node, scope))
        if isinstance(node, ast.Anonymous):
            fields = [(name, self.compile(value, scope)) for name, value in node.fields]
            return lambda env: {name: value(env) for name, value in fields}
        if isinstance(node, ast.Array):
            elements = [self.compile(item, scope) for item in node.items]
            return lambda env: [element(env) for element in elements]
        if isinstance(node, ast.Unary):
            return _located(node, self.unary(node, scope))
        if isinstance(node, ast.Binary):
            return _located(node, self.binary(node, scope))
        if isinstance(node, ast.Conditional):
            test = self.compile(node.test, scope)
            then, other = self.compile(node.then, scope), self.compile(node.other, scope)
            return _located(
                node, lambda env: then(env) if truth(test(env), "the condition") else other(env)
            )
        if isinstance(node, ast.Cast):
            type_name, operand = node.type, self.compile(node.operand, scope)
            return _located(node, lambda env: cast(type_name, operand(env)))
        if isinstance(node, ast.Query):
            return self.query(node, scope)
        if isinstance(node, ast.Lambda):
            raise self.refuse("a lambda outside a method's arguments", node)
        raise self.refuse(type(node).__name__, node)  # pragma: no cover - every node above

    def name(self, node: ast.Name, scope: frozenset[str]) -> Fn:
        name = node.name
        if name in scope:
            return lambda env: env[name]
        if name == self.root == "results":
            return lambda env: env[_SOURCE]
        if name == self.root:
            self.collections.append((None, node))
            return lambda env: env[_SOURCE]
        if name in ("docs", "results"):
            raise self.error(
                f"{shown(name)} is not a source of a {'map' if name == 'results' else 'reduce'}",
                node,
            )
        raise self.error(f"unknown name {shown(name)}", node)

    def member(self, node: ast.Member, scope: frozenset[str]) -> Fn:
        target = node.target
        if isinstance(target, ast.Name) and target.name not in scope:
            if target.name == "docs" and self.root == "docs":
                self.collections.append((node.name, target))
                return lambda env: env[_SOURCE]
            if target.name in _STATIC_CLASSES:
                raise self.refuse(f"{target.name}.{node.name}", node)
            if target.name in ("counters", "timeSeries", "timeseries"):
                raise self.refuse(f"an index over {target.name}", target)
        value, name = self.compile(target, scope), node.name
        return lambda env: member(value(env), name)

    def arguments(self, node: ast.Call, scope: frozenset[str]) -> list[Fn]:
        out: list[Fn] = []
        for arg in node.args:
            if isinstance(arg, ast.Lambda):
                out.append(self.lambda_(arg, scope))
            else:
                out.append(self.compile(arg, scope))
        return out

    def lambda_(self, node: ast.Lambda, scope: frozenset[str]) -> Fn:
        params = node.params
        body = self.compile(node.body, scope | frozenset(params))

        def bind(env: Env) -> Callable[..., Any]:
            def function(*values: Any) -> Any:
                if len(values) != len(params):
                    raise IndexEvaluationError(
                        f"a lambda of {len(params)} parameters called with {len(values)}"
                    )
                inner = dict(env)
                inner.update(zip(params, values, strict=True))
                return body(inner)

            return function

        return bind

    def call(self, node: ast.Call, scope: frozenset[str]) -> Fn:
        self.calls.add(node.name)
        args = self.arguments(node, scope)
        target = node.target
        if target is None:
            return self.function(node, args)
        if (
            isinstance(target, ast.Name)
            and target.name in _STATIC_CLASSES
            and target.name not in scope
        ):
            method = STATIC_METHODS.get(f"{target.name}.{node.name}")
            if method is None:
                raise self.refuse(f"{target.name}.{node.name}()", node)
            return lambda env: method(None, [a(env) for a in args])
        if node.name not in VALUE_METHODS:
            raise self.refuse(f"the method .{node.name}()", node)
        receiver, name = self.compile(target, scope), node.name
        return lambda env: call_method(receiver(env), name, [a(env) for a in args])

    def function(self, node: ast.Call, args: list[Fn]) -> Fn:
        name = node.name
        if name == "Id" and len(args) == 1:
            doc = args[0]
            return lambda env: member(member(doc(env), "@metadata"), "@id")
        if name == "MetadataFor" and len(args) == 1:
            doc = args[0]
            return lambda env: member(doc(env), "@metadata")
        if name == "LoadDocument" and len(args) in (1, 2):
            if self.root != "docs":
                raise self.refuse("LoadDocument in a reduce", node)
            self.loads = True
            return _load(args)
        if name == "CreateSpatialField":
            raise self.refuse("spatial fields (CreateSpatialField)", node)
        raise self.refuse(f"the function {name}()", node)

    def unary(self, node: ast.Unary, scope: frozenset[str]) -> Fn:
        operand = self.compile(node.operand, scope)
        if node.op == "!":
            return lambda env: not truth(operand(env), "the operand of !")
        if node.op == "-":
            return lambda env: negate(operand(env))
        return operand

    def binary(self, node: ast.Binary, scope: frozenset[str]) -> Fn:
        left, right, op = self.compile(node.left, scope), self.compile(node.right, scope), node.op
        if op == "&&":
            return lambda env: (
                truth(left(env), "the left of &&") and truth(right(env), "the right of &&")
            )
        if op == "||":
            return lambda env: (
                truth(left(env), "the left of ||") or truth(right(env), "the right of ||")
            )
        if op == "??":
            return lambda env: _coalesce(left(env), right, env)
        if op in ("+", "-", "*", "/", "%"):
            return lambda env: arithmetic(op, left(env), right(env))
        return lambda env: compare(op, left(env), right(env))

    def query(self, node: ast.Query, scope: frozenset[str]) -> Fn:
        steps: list[Callable[[list[Env]], list[Env]]] = []
        for clause in node.clauses:
            if isinstance(clause, ast.From):
                steps.append(_from(clause.var, self.compile(clause.source, scope)))
            elif isinstance(clause, ast.Let):
                steps.append(_let(clause.var, self.compile(clause.value, scope)))
            else:
                steps.append(_where(self.compile(clause.test, scope)))
            if isinstance(clause, ast.From | ast.Let):
                scope = scope | {clause.var}
        end: Callable[[list[Env]], list[Any]]
        if isinstance(node.end, ast.Select):
            value = self.compile(node.end.value, scope)
            end = lambda rows: [value(row) for row in rows]  # noqa: E731
        else:
            element, key = self.compile(node.end.element, scope), self.compile(node.end.key, scope)
            end = lambda rows: [  # noqa: E731
                Grouping(g.key, [element(row) for row in g]) for g in group(rows, key)
            ]
        rest: Fn | None = None
        variable = ""
        if node.into is not None:
            variable, continuation = node.into
            rest = self.query(continuation, scope - _locals(node) | {variable})

        def run(env: Env) -> list[Any]:
            rows = [env]
            for step in steps:
                rows = step(rows)
            values = end(rows)
            if rest is None:
                return values
            out: list[Any] = []
            for value in values:
                inner = dict(env)
                inner[variable] = value
                out.extend(rest(inner))
            return out

        return run


def _locals(node: ast.Query) -> frozenset[str]:
    return frozenset(c.var for c in node.clauses if isinstance(c, ast.From | ast.Let))


def _coalesce(value: Any, other: Fn, env: Env) -> Any:
    return other(env) if value is None else value


def _from(var: str, source: Fn) -> Callable[[list[Env]], list[Env]]:
    def step(rows: list[Env]) -> list[Env]:
        out: list[Env] = []
        for row in rows:
            for item in items(source(row), f"the source of 'from {var}'"):
                inner = dict(row)
                inner[var] = item
                out.append(inner)
        return out

    return step


def _let(var: str, value: Fn) -> Callable[[list[Env]], list[Env]]:
    return lambda rows: [{**row, var: value(row)} for row in rows]


def _where(test: Fn) -> Callable[[list[Env]], list[Env]]:
    return lambda rows: [row for row in rows if truth(test(row), "the condition of where")]


def _load(args: list[Fn]) -> Fn:
    """``LoadDocument(id)``, ``LoadDocument(id, "Collection")``, of an id or a list of ids:
    every id asked for is reported (found or not), for storage to index the document again
    when that one changes; a document of another collection loads as null."""

    def load(env: Env) -> Any:
        wanted = args[0](env)
        collection = args[1](env) if len(args) > 1 else None
        if isinstance(wanted, list):
            return [_load_one(env, one, collection) for one in wanted]
        return _load_one(env, wanted, collection)

    return load


def _load_one(env: Env, wanted: Any, collection: Any) -> Any:
    if wanted is None:
        return None
    if not isinstance(wanted, str):
        raise IndexEvaluationError("LoadDocument needs a string id")
    env[_LOADED].add(wanted)
    document = env[_LOAD](wanted)
    if document is None or not isinstance(collection, str):
        return document
    found = member(member(document, "@metadata"), "@collection")
    return document if isinstance(found, str) and found.lower() == collection.lower() else None


def _output_fields(node: ast.Node) -> tuple[str, ...] | None:
    """The fields of the objects an expression yields, when it ends in ``new { ... }``."""
    if isinstance(node, ast.Anonymous):
        return tuple(name for name, _ in node.fields)
    if isinstance(node, ast.Query):
        while node.into is not None:
            node = node.into[1]
        return _output_fields(node.end.value) if isinstance(node.end, ast.Select) else None
    if isinstance(node, ast.Call) and node.target is not None:
        if node.name in ("Select", "SelectMany") and node.args:
            last = node.args[-1]
            if isinstance(last, ast.Lambda) and (node.name == "Select" or len(node.args) == 2):
                return _output_fields(last.body)
            return None
        if node.name in ("Where", "Distinct", "OrderBy", "OrderByDescending", "Take", "Skip"):
            return _output_fields(node.target)
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class LinqMap:
    """A compiled LINQ map: ``collection`` (None: every collection), ``fields`` of its
    entries, ``loads`` whether it calls ``LoadDocument``, ``run(document, load)`` its entries
    and the ids it loaded."""

    text: str
    collection: str | None
    fields: tuple[str, ...]
    loads: bool
    _run: Fn

    def run(self, document: dict[str, Any], load: Loader) -> tuple[list[dict[str, Any]], set[str]]:
        loaded: set[str] = set()
        values = self._run({_SOURCE: [document], _LOAD: load, _LOADED: loaded})
        entries: list[dict[str, Any]] = []
        for value in items(values, "the map's result"):
            if not isinstance(value, dict):
                raise IndexEvaluationError("the map yielded a value that is not an object")
            entries.append(value)
        return entries, loaded


@dataclasses.dataclass(frozen=True, slots=True)
class LinqReduce:
    """A compiled LINQ reduce: ``run(entries)`` over the entries of one group, ``key(entry)``
    the value the reduce groups an entry by, ``rereducible`` when reducing its own outputs
    gives what reducing the map entries gives (no ``Count()``, ``Average``, ``Distinct``)."""

    text: str
    fields: tuple[str, ...]
    rereducible: bool
    _run: Fn
    _key: Callable[[Any], Any]

    def run(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = items(self._run({_SOURCE: list(entries)}), "the reduce's result")
        if not all(isinstance(value, dict) for value in out):
            raise IndexEvaluationError("the reduce yielded a value that is not an object")
        return out

    def key(self, entry: dict[str, Any]) -> Any:
        return self._key(entry)


def compile_map(text: str) -> LinqMap:
    """Compile one LINQ map; ``IndexCompilationError`` with the place of what is refused."""
    tree = parse(text)
    compiler = _Compiler(text, "docs")
    run = compiler.compile(tree, frozenset())
    names = {name.lower() if name else None for name, _ in compiler.collections}
    if not compiler.collections:
        raise compiler.error("a map reads docs (from x in docs.Collection ...)", tree)
    if len(names) > 1:
        raise compiler.error(
            "a map reads one collection (an index over several is a multi-map: one map each)",
            compiler.collections[-1][1],
        )
    if len(compiler.collections) > 1:
        raise compiler.error(
            "a map reads its collection once (each document is mapped on its own)",
            compiler.collections[-1][1],
        )
    fields = _output_fields(tree)
    if fields is None:
        raise compiler.error("a map ends in select new { ... } (the fields of its entries)", tree)
    return LinqMap(text, compiler.collections[0][0], fields, compiler.loads, run)


def _grouping(tree: ast.Node) -> tuple[str, ast.Node] | None:
    """The variable and key expression a reduce groups ``results`` by."""
    if isinstance(tree, ast.Query):
        first = tree.clauses[0] if tree.clauses else None
        if (
            len(tree.clauses) == 1
            and isinstance(first, ast.From)
            and isinstance(first.source, ast.Name)
            and first.source.name == "results"
            and isinstance(tree.end, ast.Group)
        ):
            return first.var, tree.end.key
        return None
    node: ast.Node | None = tree
    while isinstance(node, ast.Call) and node.target is not None:
        if isinstance(node.target, ast.Name) and node.target.name == "results":
            lam = node.args[0] if node.name == "GroupBy" and len(node.args) == 1 else None
            if isinstance(lam, ast.Lambda) and len(lam.params) == 1:
                return lam.params[0], lam.body
            return None
        node = node.target
    return None


def compile_reduce(text: str) -> LinqReduce:
    """Compile one LINQ reduce: ``from r in results group r by key into g select new
    {...}`` or ``results.GroupBy(r => key).Select(g => new {...})``."""
    tree = parse(text)
    compiler = _Compiler(text, "results")
    run = compiler.compile(tree, frozenset())
    grouping = _grouping(tree)
    if grouping is None:
        raise compiler.error(
            "a reduce groups its results: from r in results group r by ... into g select "
            "new { ... }, or results.GroupBy(r => ...).Select(g => new { ... })",
            tree,
        )
    variable, key_node = grouping
    key = _Compiler(text, "results").compile(key_node, frozenset((variable,)))
    fields = _output_fields(tree)
    if fields is None:
        raise compiler.error(
            "a reduce ends in select new { ... } (the fields of its results)", tree
        )
    rereducible = not (compiler.calls & _NOT_REREDUCIBLE)
    return LinqReduce(text, fields, rereducible, run, lambda entry: key({variable: entry}))
