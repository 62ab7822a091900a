"""``session.advanced.raw_query(rql)``: a query written in RQL, run as the session runs any
query; the text is parsed by ``rookdb.rql`` when the query runs."""

from __future__ import annotations

from typing import Any, TypeVar

from rookdb import facet_query
from rookdb.errors import QueryError, shown
from rookdb.query import Query, QueryExecution, QueryExecutor, query_value
from rookdb.rql import parse

__all__ = ["RawDocumentQuery"]


T = TypeVar("T")


class RawDocumentQuery(QueryExecution[T]):
    """``session.advanced.raw_query(rql)``: an RQL query with parameters::

        session.advanced.raw_query("from Employees where first_name = $name", Employee)
            .add_parameter("name", "Robert")
            .first()

    The text is parsed when the query runs, with the parameters added by then; values are
    always bound, never pasted into SQL.
    """

    def __init__(self, executor: QueryExecutor, object_type: type[T] | None, text: str) -> None:
        super().__init__(executor, object_type)
        if not isinstance(text, str):
            raise QueryError("an RQL query is a str")
        self._text = text
        self._parameters: dict[str, Any] = {}

    def add_parameter(self, name: str, value: Any) -> RawDocumentQuery[T]:
        """Give ``$name`` its value: a JSON scalar, or any value an entity can hold, compared
        as the entity's field stores it (a ``Decimal`` as a number, a datetime as fixed-width
        ISO 8601 text, an enum as its value; see ``query_value``); or a list of those, for
        ``in ($name)`` and ``all in ($name)``."""
        if not isinstance(name, str):
            raise QueryError(f"a parameter's name is a str, not {shown(name)}")
        self._parameters[name.removeprefix("$")] = value
        return self

    def execute_aggregation(self) -> facet_query.FacetResults:
        """RavenDB's: the facets of a ``select facet(...)`` query (``rookdb.facet_query``)."""
        return facet_query.execute_raw(self, self._text, self._parameters)

    def to_query(self) -> Query:
        values: dict[str, Any] = {}
        for name, value in self._parameters.items():
            try:
                if isinstance(value, (list, tuple)):  # for in ($name) and all in ($name)
                    values[name] = [query_value(self._executor, v) for v in value]
                else:
                    values[name] = query_value(self._executor, value)
            except QueryError as exc:
                raise QueryError(f"parameter ${name}: {exc}") from None
        return parse(self._text, values)
