"""The parser of a LINQ index definition, into ``linq_ast``'s syntax tree.

The C# subset that RavenDB's index definitions are written in (``docs/indexes.md``):
query syntax (``from x in source``, nested ``from``, ``let``, ``where``, ``select``,
``group x by key into g`` and continuations), method calls and lambdas (``o => ...``,
``(a, b) => ...``), anonymous objects (``new { A = x.A, x.B }``) and arrays
(``new[] { ... }``, ``new object[] { ... }``), member access, indexing, casts to the C#
value types (``(decimal)x``, ``(double?)x``), arithmetic, comparisons, ``&& || !``,
``?:`` and ``??``. What C# has beyond it (``orderby``, ``join``, statement lambdas,
``new`` of a named type, ``is``/``as``, assignments) is refused here with its position; the
compiler (``linq_evaluator``) refuses the names and methods it does not know.
"""

from __future__ import annotations

from rookdb.errors import IndexCompilationError, shown
from rookdb.indexes.linq_ast import (
    Anonymous,
    Array,
    Binary,
    Call,
    Cast,
    Conditional,
    From,
    Group,
    Index,
    Lambda,
    Let,
    Literal,
    Member,
    Name,
    Node,
    Query,
    Select,
    Unary,
    Where,
    children,
)
from rookdb.indexes.linq_lexer import Token, tokenize

__all__ = ["CAST_TYPES", "MAX_DEPTH", "MAX_NESTING", "parse", "refused"]

#: The C# type names a cast may name (a ``?`` after one makes it nullable: the same here).
CAST_TYPES = frozenset(
    (
        *("int", "long", "short", "byte", "uint", "ulong", "double", "float", "decimal"),
        *("string", "bool", "object", "DateTime", "DateTimeOffset", "TimeSpan"),
    )
)
_CLAUSES = ("from", "let", "where", "select", "group", "orderby", "join", "into")
#: How deep expressions may nest (parentheses, lambdas, objects, unary operators), and how
#: deep the syntax tree may be (a chain of 500 ``+`` is 500 deep): far past what index
#: definitions write, well inside Python's recursion limit for parsing and evaluating.
MAX_NESTING = 48
MAX_DEPTH = 256


def refused(what: str, token: Token | Node, source: str) -> IndexCompilationError:
    """The error for a construct outside the subset, at its place."""
    return IndexCompilationError(
        f"{what} is not supported in rookdb's LINQ subset "
        f"(line {token.line}, column {token.column})",
        line=token.line,
        column=token.column,
        source=source,
    )


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.nesting = 0

    def nest(self) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise self.fail(f"expressions nest deeper than {MAX_NESTING} levels")

    # -- tokens -------------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def next(self) -> Token:
        token = self.tok
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return token

    def fail(self, message: str, token: Token | None = None) -> IndexCompilationError:
        token = token or self.tok
        found = "the end" if token.kind == "end" else shown(str(token.value))
        return IndexCompilationError(
            f"{message}, found {found} (line {token.line}, column {token.column})",
            line=token.line,
            column=token.column,
            source=self.text,
        )

    def expect_op(self, op: str) -> Token:
        if not self.tok.is_op(op):
            raise self.fail(f"expected {op!r}")
        return self.next()

    def expect_name(self, what: str = "a name") -> str:
        if self.tok.kind != "name":
            raise self.fail(f"expected {what}")
        return str(self.next().value)

    # -- expressions --------------------------------------------------------------------
    def expression(self) -> Node:
        self.nest()
        try:
            return self._expression()
        finally:
            self.nesting -= 1

    def _expression(self) -> Node:
        token = self.tok
        if token.kind == "name" and self.peek().is_op("=>"):
            self.i += 2
            return self.lambda_body(token, (str(token.value),))
        if token.is_op("(") and self._lambda_params():
            return self.lambda_params(token)
        if token.is_name("from") and self.peek().kind == "name":
            return self.query()
        return self.conditional()

    def _lambda_params(self) -> bool:
        j = self.i + 1
        while self.tokens[j].kind == "name" or self.tokens[j].is_op(","):
            j += 1
        return self.tokens[j].is_op(")") and self.tokens[j + 1].is_op("=>")

    def lambda_params(self, start: Token) -> Node:
        self.next()
        params: list[str] = []
        while not self.tok.is_op(")"):
            params.append(self.expect_name("a lambda parameter"))
            if self.tok.is_op(","):
                self.next()
        self.i += 2  # ) =>
        return self.lambda_body(start, tuple(params))

    def lambda_body(self, start: Token, params: tuple[str, ...]) -> Node:
        if self.tok.is_op("{"):
            raise refused("a lambda with a statement body", self.tok, self.text)
        return Lambda(start.line, start.column, params, self.expression())

    def conditional(self) -> Node:
        test = self.coalesce()
        if self.tok.is_op("?"):
            token = self.next()
            then = self.expression()
            self.expect_op(":")
            return Conditional(token.line, token.column, test, then, self.expression())
        return test

    def coalesce(self) -> Node:
        left = self.binary(0)
        if self.tok.is_op("??"):
            token = self.next()
            return Binary(token.line, token.column, "??", left, self.coalesce())
        return left

    _LEVELS = (("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"), ("*", "/", "%"))

    def binary(self, level: int) -> Node:
        if level == len(self._LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.tok.kind == "op" and self.tok.value in self._LEVELS[level]:
            token = self.next()
            left = Binary(token.line, token.column, str(token.value), left, self.binary(level + 1))
        if self.tok.is_name("is", "as"):
            raise refused(f"the {shown(self.tok.value)} operator", self.tok, self.text)
        if self.tok.is_op("="):
            raise refused("an assignment", self.tok, self.text)
        return left

    def unary(self) -> Node:
        token = self.tok
        if token.is_op("!", "-", "+"):
            self.next()
            self.nest()
            try:
                return Unary(token.line, token.column, str(token.value), self.unary())
            finally:
                self.nesting -= 1
        if token.is_op("(") and self.peek().kind == "name" and self.peek().value in CAST_TYPES:
            close = 3 if self.peek(2).is_op("?") else 2
            if self.peek(close).is_op(")"):
                self.i += close + 1
                return Cast(token.line, token.column, str(self.peek(-close).value), self.unary())
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        while True:
            token = self.tok
            if token.is_op("."):
                self.next()
                name_token = self.tok
                name = self.expect_name("a member name")
                if self.tok.is_op("("):
                    node = Call(name_token.line, name_token.column, node, name, self.arguments())
                else:
                    node = Member(name_token.line, name_token.column, node, name)
            elif token.is_op("["):
                self.next()
                index = self.expression()
                self.expect_op("]")
                node = Index(token.line, token.column, node, index)
            elif token.is_op("(") and isinstance(node, Name):
                node = Call(node.line, node.column, None, node.name, self.arguments())
            elif token.is_op("<") and isinstance(node, Member | Name) and self._generic():
                raise refused("a generic method call", token, self.text)
            else:
                return node

    def _generic(self) -> bool:
        j = self.i + 1
        while self.tokens[j].kind == "name" or self.tokens[j].is_op(",", "."):
            j += 1
        return self.tokens[j].is_op(">") and self.tokens[j + 1].is_op("(")

    def arguments(self) -> tuple[Node, ...]:
        self.expect_op("(")
        args: list[Node] = []
        while not self.tok.is_op(")"):
            args.append(self.expression())
            if not self.tok.is_op(")"):
                self.expect_op(",")
        self.next()
        return tuple(args)

    def primary(self) -> Node:
        token = self.tok
        if token.kind in ("number", "string"):
            self.next()
            return Literal(token.line, token.column, token.value)
        if token.is_op("("):
            self.next()
            inner = self.expression()
            self.expect_op(")")
            return inner
        if token.kind != "name":
            raise self.fail("expected an expression")
        self.next()
        if token.value in ("true", "false", "null"):
            return Literal(
                token.line, token.column, {"true": True, "false": False}.get(str(token.value))
            )
        if token.value == "new":
            return self.new(token)
        if token.value == "this":
            if self.tok.is_op(".") and self.peek().kind == "name" and self.peek(2).is_op("("):
                self.next()
                name = self.next()
                return Call(name.line, name.column, None, str(name.value), self.arguments())
            raise refused("'this' other than this.Method(...)", token, self.text)
        if token.value in ("typeof", "default", "checked", "sizeof", "await", "switch"):
            raise refused(f"{shown(token.value)}", token, self.text)
        return Name(token.line, token.column, str(token.value))

    def new(self, token: Token) -> Node:
        if self.tok.is_op("{"):
            return self.anonymous(token)
        if self.tok.is_op("[") and self.peek().is_op("]"):
            self.i += 2
            return self.array(token)
        array_types = ("object", "string", "int", "long", "double", "decimal", "dynamic")
        if self.tok.is_name(*array_types) and self.peek().is_op("[") and self.peek(2).is_op("]"):
            self.i += 3
            return self.array(token)
        raise refused(
            "'new' of a named type (only new { ... } and new[] { ... })", token, self.text
        )

    def array(self, token: Token) -> Node:
        self.expect_op("{")
        items: list[Node] = []
        while not self.tok.is_op("}"):
            items.append(self.expression())
            if not self.tok.is_op("}"):
                self.expect_op(",")
        self.next()
        return Array(token.line, token.column, tuple(items))

    def anonymous(self, token: Token) -> Node:
        self.expect_op("{")
        fields: list[tuple[str, Node]] = []
        while not self.tok.is_op("}"):
            start = self.tok
            if start.kind == "name" and self.peek().is_op("="):
                self.i += 2
                fields.append((str(start.value), self.expression()))
            else:
                value = self.expression()
                if isinstance(value, Member | Name):
                    fields.append((value.name, value))
                else:
                    raise IndexCompilationError(
                        "a member of an anonymous object needs a name (Name = ...) "
                        f"(line {start.line}, column {start.column})",
                        line=start.line,
                        column=start.column,
                        source=self.text,
                    )
            if not self.tok.is_op("}"):
                self.expect_op(",")
        self.next()
        names = [name for name, _ in fields]
        if len(set(names)) != len(names):
            raise self.fail(f"an anonymous object names a member twice ({names})", token)
        return Anonymous(token.line, token.column, tuple(fields))

    # -- queries ------------------------------------------------------------------------
    def query(self) -> Query:
        start = self.tok
        clauses: list[From | Let | Where] = [self.from_clause()]
        return self.query_body(start, clauses)

    def from_clause(self) -> From:
        token = self.next()  # from
        if self.peek().kind == "name" and self.peek(2).is_name("in"):
            self.next()  # a type: from Order o in ...
        var = self.expect_name("the range variable of 'from'")
        if not self.tok.is_name("in"):
            raise self.fail("expected 'in'")
        self.next()
        return From(token.line, token.column, var, self.expression())

    def query_body(self, start: Token, clauses: list[From | Let | Where]) -> Query:
        while True:
            token = self.tok
            if token.is_name("from"):
                clauses.append(self.from_clause())
            elif token.is_name("let"):
                self.next()
                var = self.expect_name("the variable of 'let'")
                self.expect_op("=")
                clauses.append(Let(token.line, token.column, var, self.expression()))
            elif token.is_name("where"):
                self.next()
                clauses.append(Where(token.line, token.column, self.expression()))
            elif token.is_name("orderby", "join"):
                raise refused(f"the {shown(token.value)} clause", token, self.text)
            else:
                break
        token = self.tok
        end: Select | Group
        if token.is_name("select"):
            self.next()
            end = Select(token.line, token.column, self.expression())
        elif token.is_name("group"):
            self.next()
            element = self.expression()
            if not self.tok.is_name("by"):
                raise self.fail("expected 'by'")
            self.next()
            end = Group(token.line, token.column, element, self.expression())
        else:
            raise self.fail("expected a query clause (from, let, where, select, group)")
        into = None
        if self.tok.is_name("into"):
            into_token = self.next()
            var = self.expect_name("the variable of 'into'")
            into = (var, self.query_body(into_token, []))
        elif isinstance(end, Group):
            raise self.fail("'group ... by ...' needs 'into' and a select in an index")
        return Query(start.line, start.column, tuple(clauses), end, into)


def _check_depth(root: Node, text: str) -> None:
    """Refuse a tree deeper than ``MAX_DEPTH`` (walked without recursion)."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise IndexCompilationError(
                f"the expression is nested deeper than {MAX_DEPTH} levels "
                f"(line {node.line}, column {node.column})",
                line=node.line,
                column=node.column,
                source=text,
            )
        stack.extend((child, depth + 1) for child in children(node))


def parse(text: str) -> Node:
    """The syntax tree of one LINQ expression (a map or a reduce); ``IndexCompilationError``
    with the line and column of what is not in the subset."""
    parser = _Parser(text)
    node = parser.expression()
    if parser.tok.is_op(";"):
        parser.next()
    if parser.tok.kind != "end":
        if parser.tok.kind == "name" and parser.tok.value in _CLAUSES:
            raise refused(f"the {shown(parser.tok.value)} clause here", parser.tok, text)
        raise parser.fail("expected the end of the expression")
    _check_depth(node, text)
    return node
