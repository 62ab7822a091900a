"""The builder's dynamic aggregation, in the RavenDB client's names::

    totals = (
        session.query(object_type=Order)
        .group_by("company")
        .select_key("company")
        .select_count()
        .select_sum(GroupByField("freight", "total"))
        .where_greater_than("count", 1)
        .order_by_descending("total")
        .of_type(dict)
        .to_list()
    )

``DocumentQuery.group_by(...)`` answers a ``GroupByDocumentQuery``, whose ``select_key``
adds group-by fields to the select and whose ``select_count`` and ``select_sum`` add the
aggregations and hand back the ``DocumentQuery``, on which ``where_*`` and ``order_by``
name the selected keys (``rookdb.aggregation`` reads them). The query is run by an
automatic map-reduce index (``docs/indexes.md``, "Dynamic aggregation"); its results are
projections, never tracked.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from rookdb.aggregation import COUNT, KEY, array_content, key_path, sum_of
from rookdb.errors import QueryError
from rookdb.paths import parse_field_path

if TYPE_CHECKING:
    from rookdb.query import DocumentQuery

__all__ = ["GroupBy", "GroupByDocumentQuery", "GroupByField", "GroupByMethod"]

T = TypeVar("T")


class GroupByMethod(str, enum.Enum):
    """How a group-by field groups: by its value (``NONE``; each element of an array
    path, ``lines[].product``), or by the whole array of values (``ARRAY``)."""

    NONE = "None"
    ARRAY = "Array"


class GroupBy:
    """A group-by field: ``GroupBy.field("company")`` (what a plain name means)."""

    def __init__(self, path: str, method: GroupByMethod = GroupByMethod.NONE) -> None:
        self.path = path
        self.method = method

    @classmethod
    def field(cls, field_name: str) -> GroupBy:
        return cls(field_name, GroupByMethod.NONE)

    @classmethod
    def array(cls, field_name: str) -> GroupBy:
        return cls(field_name, GroupByMethod.ARRAY)


class GroupByField:
    """A summed field and the name it is projected as (its path when None)."""

    def __init__(self, field_name: str, projected_name: str | None = None) -> None:
        self.field_name = field_name
        self.projected_name = projected_name


def group_by_paths(fields: tuple[str | GroupBy, ...]) -> tuple[str, ...]:
    """The paths of ``group_by``'s arguments, checked."""
    paths = []
    for field in fields:
        item: object = field
        if isinstance(field, GroupBy):
            item = field.path
            if field.method is GroupByMethod.ARRAY and type(item) is str:
                item = array_content(item)
        if type(item) is not str:
            raise QueryError("group_by() takes field names (or GroupBy.field(name))")
        parse_field_path(key_path(item))
        paths.append(item)
    if not paths:
        raise QueryError("group_by() takes at least one field")
    return tuple(paths)


class GroupByDocumentQuery(Generic[T]):
    """What ``DocumentQuery.group_by`` answers: select the keys, then the aggregations."""

    def __init__(self, query: DocumentQuery[T], returned: Any = None) -> None:
        self._query = query
        # What select_count and select_sum hand back: the query, or the async query that
        # wraps it (``AsyncDocumentQuery``: one builder for both sessions).
        self._returned = query if returned is None else returned

    def handing_back(self, returned: Any) -> Any:
        """This builder, ``select_count`` and ``select_sum`` answering ``returned``."""
        return GroupByDocumentQuery(self._query, returned)

    def select_key(
        self, field_name: str | None = None, projected_name: str | None = None
    ) -> GroupByDocumentQuery[T]:
        """Project the group-by field ``field_name`` (the only one, when None) under
        ``projected_name`` (its path when None)."""
        field = KEY if field_name is None else field_name
        if field_name is not None:
            parse_field_path(field_name)
        self._query._select_aggregate(field, projected_name or field)
        return self

    def select_count(self, projected_name: str = "count") -> DocumentQuery[T]:
        """Project how many documents each group holds, under ``projected_name``."""
        self._query._select_aggregate(COUNT, projected_name)
        returned: DocumentQuery[T] = self._returned
        return returned

    def select_sum(self, field: GroupByField, *fields: GroupByField) -> DocumentQuery[T]:
        """Project the sum of each field over each group (under its projected name, else
        its path)."""
        for each in (field, *fields):
            if not isinstance(each, GroupByField):
                raise QueryError("select_sum() takes GroupByField(field_name, projected_name)")
            self._query._select_aggregate(
                sum_of(each.field_name), each.projected_name or each.field_name
            )
        returned: DocumentQuery[T] = self._returned
        return returned
