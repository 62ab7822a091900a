"""Lazy operations: reads a session gathers and then runs together, in one request.

As in RavenDB's client: ``session.advanced.lazily.load(...)``,
``session.advanced.lazily.load_starting_with(...)``,
``session.advanced.lazily.conditional_load(...)``, ``query.lazily()`` and
``query.count_lazily()`` return a ``Lazy`` and send nothing. The first ``.value`` asked of any
of them, or ``session.advanced.eagerly.execute_all_pending_lazy_operations()``, runs every
pending one with a single ``Storage.read_many`` call: one request of the session's budget, one
read snapshot (over HTTP, one ``POST /multi_get``).

What the session already knows is not asked again, as with ``load``: a lazy load of tracked ids
is answered from the session when the operations run. ``SessionLazy`` is the session's part
that keeps the pending operations and runs them (``DocumentSession`` inherits it).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from rookdb.arguments import check_callback, check_change_vector, check_class
from rookdb.errors import ConfigurationError, InvalidIdError, shown
from rookdb.ids import shown_id, validate_id
from rookdb.includes import IncludeBuilder, include_spec
from rookdb.query import Query, QueryStatistics
from rookdb.storage.records import (
    GetResult,
    IdsRead,
    PrefixRead,
    QueryRead,
    QueryResult,
    Read,
    ReadResult,
    document_key,
)

if TYPE_CHECKING:
    from rookdb.session import DocumentSession

__all__ = [
    "EagerSessionOperations",
    "Lazy",
    "LazyLoaderWithInclude",
    "LazyOperation",
    "LazySessionOperations",
    "SessionLazy",
]

T = TypeVar("T")


class Lazy(Generic[T]):
    """A value computed on first use: ``lazy.value`` (RavenDB's ``Lazy``)."""

    __slots__ = ("_created", "_factory", "_value")

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._created = False
        self._value: T | None = None

    @property
    def is_value_created(self) -> bool:
        return self._created

    @property
    def value(self) -> T:
        """The value; the first call runs the session's pending lazy operations if needed."""
        if not self._created:
            self._value = self._factory()
            self._created = True
        return self._value  # type: ignore[return-value]

    def __repr__(self) -> str:
        value = repr(self._value) if self._created else "(not yet)"
        return f"Lazy({value})"


class LazyOperation(abc.ABC):
    """One pending read of a session. ``read`` is asked when the operations run (None: the
    session answers it without storage), then ``handle`` gets what storage returned for it."""

    def __init__(self, on_eval: Callable[[Any], None] | None = None) -> None:
        # Refused when the operation is made, not when its value arrives (every lazy
        # operation of both sessions is made here).
        self.on_eval = check_callback(on_eval, "on_eval")
        self.done = False
        self.result: Any = None

    @abc.abstractmethod
    def read(self) -> Read | None: ...

    @abc.abstractmethod
    def handle(self, result: ReadResult | None) -> None: ...


class LoadOperation(LazyOperation):
    """``lazily.load``: one id (its entity or None) or several (a dict, as ``load``)."""

    def __init__(
        self,
        session: DocumentSession,
        ids: list[str],
        object_type: type[Any] | None,
        single: bool,
        on_eval: Callable[[Any], None] | None,
        paths: tuple[str, ...] = (),
        counters: tuple[str, ...] = (),
    ) -> None:
        super().__init__(on_eval)
        self._session, self._ids, self._type, self._single = session, ids, object_type, single
        self._paths, self._counters = paths, counters
        self._plan: Any = None

    def read(self) -> Read | None:
        self._plan = self._session._plan_load(self._ids)
        if self._counters:  # counters are read for every id asked, as load's are
            return IdsRead(tuple(self._plan[0].values()), self._paths, self._counters)
        wanted = self._plan[2]
        if not wanted:
            return None
        return IdsRead(tuple(self._plan[0][key] for key in wanted), self._paths)

    def handle(self, result: ReadResult | None) -> None:
        assert result is None or isinstance(result, GetResult)
        if result is not None and self._counters:
            self._session._counters.included(result.counters, self._counters)
        found = self._session._finish_load(self._plan, result, self._type, self._paths)
        self.result = found[self._ids[0]] if self._single else found


class PrefixOperation(LazyOperation):
    """``lazily.load_starting_with``: a dict id → entity, in id order."""

    def __init__(
        self, session: DocumentSession, read: PrefixRead, object_type: type[Any] | None
    ) -> None:
        super().__init__()
        self._session, self._read, self._type = session, read, object_type

    def read(self) -> Read | None:
        return self._read

    def handle(self, result: ReadResult | None) -> None:
        assert isinstance(result, list)
        found: dict[str, Any] = {}
        for record in result:  # one at a time: a document deleted in the session drops out
            for entity in self._session._prefix_entities([record], self._type):
                found[record.id] = entity
        self.result = found


class ConditionalLoadOperation(LazyOperation):
    """``lazily.conditional_load``: a ``ConditionalLoadResult``, as ``conditional_load``
    gives it (the document is read with the others and compared here: in a lazy batch it
    travels even when unchanged)."""

    def __init__(
        self,
        session: DocumentSession,
        document_id: str,
        change_vector: str | None,
        object_type: type[Any] | None,
    ) -> None:
        super().__init__()
        self._session, self._id, self._type = session, document_id, object_type
        self._vector = change_vector

    def read(self) -> Read | None:
        if self._session._map.known(document_key(self._id))[0]:
            return None  # the session answers, as conditional_load does
        return IdsRead((self._id,))

    def handle(self, result: ReadResult | None) -> None:
        from rookdb.advanced import ConditionalLoadResult  # (advanced imports this module)

        session = self._session
        if result is None:
            self.result = session.advanced.conditional_load(self._id, self._vector, self._type)
            return
        assert isinstance(result, GetResult)
        record = result.documents.get(document_key(self._id))
        track = not session._no_tracking
        if record is None:
            if track:
                session._map.mark_missing(document_key(self._id))
            self.result = ConditionalLoadResult(None, None)
        elif record.change_vector == self._vector:
            self.result = ConditionalLoadResult(None, self._vector)
        else:
            entity = session._materialize(record, self._type, track)
            self.result = ConditionalLoadResult(entity, record.change_vector)


class QueryOperation(LazyOperation):
    """``query.lazily()`` (the results) and ``query.count_lazily()`` (the count)."""

    def __init__(
        self,
        session: DocumentSession,
        query: Query,
        object_type: type[Any] | None,
        tracking: bool,
        on_result: Callable[[list[Any], QueryStatistics], Any],
        on_eval: Callable[[Any], None] | None = None,
    ) -> None:
        super().__init__(on_eval)
        self._session, self._query = session, query
        self._type, self._tracking, self._on_result = object_type, tracking, on_result

    def read(self) -> Read | None:
        return QueryRead(self._query)

    def handle(self, result: ReadResult | None) -> None:
        assert isinstance(result, QueryResult)
        entities, stats = self._session._query_results(
            result, self._type, self._tracking, self._query.counters
        )
        self.result = self._on_result(entities, stats)


def run_pending(session: DocumentSession, pending: Sequence[LazyOperation]) -> None:
    """Run ``pending`` with one ``read_many`` (one request of ``session``'s budget), then hand
    each its result and call the ``on_eval`` callbacks."""
    reads, asking = plan_pending(session, pending)
    finish_pending(pending, asking, session._storage.read_many(reads) if reads else [])


def plan_pending(
    session: DocumentSession, pending: Sequence[LazyOperation]
) -> tuple[list[Read], list[LazyOperation]]:
    """The reads ``pending`` needs (the request counted if any) and the operations asking
    them, in order; the others answer themselves (``finish_pending``)."""
    reads: list[Read] = []
    asking: list[LazyOperation] = []
    for operation in pending:
        read = operation.read()
        if read is not None:
            reads.append(read)
            asking.append(operation)
    if reads:
        session._request()
    return reads, asking


def finish_pending(
    pending: Sequence[LazyOperation], asking: list[LazyOperation], results: list[ReadResult]
) -> None:
    """Hand each operation of ``pending`` its result (those of ``asking``: ``results``, in
    order), then call the ``on_eval`` callbacks."""
    for operation, result in zip(asking, results, strict=True):
        operation.handle(result)
        operation.done = True
    for operation in pending:
        if not operation.done:
            operation.handle(None)
            operation.done = True
    for operation in pending:
        if operation.on_eval is not None:
            operation.on_eval(operation.result)


class SessionLazy:
    """``DocumentSession``'s pending lazy operations: the queue every ``Lazy`` of a session
    waits in, and running it (a part of the session, as ``rookdb.session_loading`` is)."""

    if TYPE_CHECKING:  # what they use of the session, which defines it all
        _pending_lazy: list[LazyOperation]

        def _check_open(self) -> None: ...
        def _before_query(self, query: Query) -> None: ...

    def _add_lazy(self, operation: LazyOperation) -> Lazy[Any]:
        """Keep ``operation`` until the pending operations run; its ``Lazy``."""
        self._pending_lazy.append(operation)

        def value() -> Any:
            if not operation.done:
                self._execute_lazy()
            return operation.result

        return Lazy(value)

    def _execute_lazy(self) -> None:
        """Run every pending lazy operation: one ``read_many``, one request of the budget."""
        pending = self._take_lazy()
        try:
            run_pending(cast("DocumentSession", self), pending)
        except BaseException:
            self._requeue_lazy(pending)
            raise

    def _take_lazy(self) -> list[LazyOperation]:
        """The pending lazy operations, to run now (none pending any more)."""
        self._check_open()
        pending, self._pending_lazy = self._pending_lazy, []
        return pending

    def _requeue_lazy(self, pending: list[LazyOperation]) -> None:
        """After a failed run of ``pending``: those not done may run again."""
        self._pending_lazy[:0] = [op for op in pending if not op.done]

    def _lazy_query(
        self,
        query: Query,
        object_type: type[Any] | None,
        tracking: bool,
        on_result: Callable[[list[Any], QueryStatistics], Any],
        on_eval: Callable[[Any], None] | None = None,
    ) -> Lazy[Any]:
        """``query.lazily()`` and ``count_lazily()``: the query waits with the others."""
        self._before_query(query)
        session = cast("DocumentSession", self)
        return self._add_lazy(
            QueryOperation(session, query, object_type, tracking, on_result, on_eval)
        )


class LazySessionOperations:
    """``session.advanced.lazily``: loads that wait to run together with the others."""

    def __init__(self, session: DocumentSession) -> None:
        self._session = session

    def include(self, path: str) -> LazyLoaderWithInclude:
        """``lazily.include("company").load(ids)``: the documents ``path`` references come
        in the same request, and later loads of them cost none."""
        return self._with_include().include(path)

    def include_counter(self, name: str) -> LazyLoaderWithInclude:
        """``lazily.include_counter("likes").load(ids)``: the loaded documents' counter
        ``name`` comes in the same request, into the session's counters cache."""
        return self._with_include().include_counter(name)

    def include_counters(self, *names: str | list[str]) -> LazyLoaderWithInclude:
        return self._with_include().include_counters(*names)

    def include_all_counters(self) -> LazyLoaderWithInclude:
        return self._with_include().include_all_counters()

    def _with_include(self) -> LazyLoaderWithInclude:
        self._session._check_open()
        self._session._check_tracking("include")
        return LazyLoaderWithInclude(self, IncludeBuilder())

    def load(
        self,
        ids: str | Sequence[str],
        object_type: type[T] | None = None,
        on_eval: Callable[[Any], None] | None = None,
        includes: Any = None,
    ) -> Lazy[Any]:
        """``Lazy`` of ``load(ids, object_type, includes)``: an entity (or None) for one id, a
        dict id → entity (or None) for a list; ``includes`` as ``load``'s (paths, or a
        function of an ``IncludeBuilder``: documents and counters)."""
        paths, counters = include_spec(includes)
        if paths or counters:
            self._session._check_tracking("include")
        return self._load(ids, object_type, on_eval, paths, counters)

    def _load(
        self,
        ids: str | Sequence[str],
        object_type: type[Any] | None,
        on_eval: Callable[[Any], None] | None,
        paths: tuple[str, ...],
        counters: tuple[str, ...] = (),
    ) -> Lazy[Any]:
        session = self._session
        session._check_open()
        if isinstance(ids, str):
            operation = LoadOperation(session, [ids], object_type, True, on_eval, paths, counters)
        elif isinstance(ids, (bytes, bytearray)) or not isinstance(ids, Iterable):
            raise InvalidIdError(f"an id is a str (or a list of them), not {shown(ids)}")
        else:
            operation = LoadOperation(
                session, list(ids), object_type, False, on_eval, paths, counters
            )
        session._plan_load(operation._ids, object_type)  # bad ids are refused now, not when run
        return session._add_lazy(operation)

    def load_starting_with(
        self,
        id_prefix: str,
        object_type: type[T] | None = None,
        matches: str | None = None,
        start: int = 0,
        page_size: int = 25,
        exclude: str | None = None,
        start_after: str | None = None,
    ) -> Lazy[dict[str, T]]:
        """``Lazy`` of the documents ``load_starting_with`` returns, as a dict id → entity."""
        session = self._session
        session._check_open()
        read = session._prefix_read(
            id_prefix, matches, start, page_size, exclude, start_after, object_type
        )
        return session._add_lazy(PrefixOperation(session, read, object_type))

    def conditional_load(
        self, document_id: str, change_vector: str | None, object_type: type[T] | None = None
    ) -> Lazy[Any]:
        """``Lazy`` of ``session.advanced.conditional_load(...)`` (a ``ConditionalLoadResult``):
        the document unless it still has ``change_vector``, run with the other lazy operations.
        An id the session holds is answered from it, without storage."""
        session = self._session
        session._check_open()
        key = validate_id(document_id).lower()
        check_change_vector(change_vector)
        check_class(object_type)
        if not session._map.known(key)[0] and (
            not isinstance(change_vector, str) or not change_vector.strip()
        ):
            raise ConfigurationError(
                f"conditional_load of {shown_id(document_id)}, which the session "
                "does not hold, needs "
                f"the change vector of the copy to compare with, not {shown(change_vector)}"
            )
        operation = ConditionalLoadOperation(session, document_id, change_vector, object_type)
        return session._add_lazy(operation)


class LazyLoaderWithInclude:
    """``session.advanced.lazily.include(path)``: add paths and counters, then ``load``."""

    def __init__(self, lazily: LazySessionOperations, builder: IncludeBuilder) -> None:
        self._lazily, self._builder = lazily, builder

    def include(self, path: str) -> LazyLoaderWithInclude:
        self._builder.include_documents(path)
        return self

    def include_counter(self, name: str) -> LazyLoaderWithInclude:
        self._builder.include_counter(name)
        return self

    def include_counters(self, *names: str | list[str]) -> LazyLoaderWithInclude:
        self._builder.include_counters(*names)
        return self

    def include_all_counters(self) -> LazyLoaderWithInclude:
        self._builder.include_all_counters()
        return self

    def load(
        self,
        ids: str | Sequence[str],
        object_type: type[T] | None = None,
        on_eval: Callable[[Any], None] | None = None,
    ) -> Lazy[Any]:
        paths, counters = include_spec(self._builder)
        return self._lazily._load(ids, object_type, on_eval, paths, counters)


class EagerSessionOperations:
    """``session.advanced.eagerly``: run what is pending now."""

    def __init__(self, session: DocumentSession) -> None:
        self._session = session

    def execute_all_pending_lazy_operations(self) -> None:
        """Run every pending lazy operation in one request (none when nothing is pending or
        the session knows every answer)."""
        self._session._execute_lazy()
