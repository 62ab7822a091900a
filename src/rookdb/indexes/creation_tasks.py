"""Index creation tasks, RavenDB's way of writing an index as a class.

A subclass sets its map (or maps) and reduce in ``__init__``, and its fields' options with
``_index``, ``_store``, ``_analyze``, ``_term_vector``, ``_suggestion``; the index is named
after the class (``Orders_ByCompany`` is ``Orders/ByCompany``) unless ``index_name`` is
overridden. ``create_index_definition()`` makes its ``IndexDefinition``::

    class Orders_ByCompany(AbstractIndexCreationTask):
        def __init__(self):
            super().__init__()
            self.map = "from o in docs.Orders select new { o.Company, Count = 1 }"
            self.reduce = (
                "from r in results group r by r.Company into g "
                "select new { Company = g.Key, Count = g.Sum(x => x.Count) }"
            )
            self._index("Company", FieldIndexing.SEARCH)

The attribute names (``_indexes_strings``, ``_index_suggestions``, ...) are the official
client's, which its users' tests reach into. ``task.execute(store)`` puts the index, and
``IndexCreation.create_indexes(tasks, store)`` several at once.
"""

from __future__ import annotations

from typing import Any

from rookdb.errors import IndexCompilationError
from rookdb.indexes.definitions import (
    FieldIndexing,
    FieldStorage,
    FieldTermVector,
    IndexDefinition,
    IndexDeploymentMode,
    IndexFieldOptions,
    IndexLockMode,
    IndexPriority,
    IndexState,
)

__all__ = [
    "ALL_FIELDS",
    "AbstractIndexCreationTask",
    "AbstractIndexCreationTaskBase",
    "AbstractJavaScriptIndexCreationTask",
    "AbstractMultiMapIndexCreationTask",
    "IndexCreation",
]

#: The field name that stands for every field (``_store_all_fields``).
ALL_FIELDS = "__all_fields"
#: RavenDB's limit on an index name's length.
MAX_NAME_LENGTH = 256


class AbstractIndexCreationTaskBase:
    """What every creation task has: its name, priority, lock mode, state, deployment mode,
    additional sources and configuration."""

    def __init__(
        self,
        priority: IndexPriority | None = None,
        lock_mode: IndexLockMode | None = None,
        deployment_mode: IndexDeploymentMode | None = None,
        state: IndexState | None = None,
    ) -> None:
        self.priority = priority
        self.lock_mode = lock_mode
        self.deployment_mode = deployment_mode
        self.state = state
        self.additional_sources: dict[str, str] | None = None
        self.additional_assemblies: list[dict[str, Any]] | None = None
        self.configuration: dict[str, str] | None = None

    @property
    def index_name(self) -> str:
        """The class's name, ``_`` read as ``/`` (RavenDB's convention)."""
        return type(self).__name__.replace("_", "/")

    @property
    def is_map_reduce(self) -> bool:
        return False

    def create_index_definition(self) -> IndexDefinition:
        raise NotImplementedError

    def execute(self, store: Any, conventions: Any = None, database: str | None = None) -> None:
        """Put this index in ``store``'s database (or ``database``); the documents already
        there are indexed before this returns. (``conventions`` is accepted, as RavenDB's
        signature has it, and unused.)"""
        from rookdb.index_operations import put_tasks

        put_tasks(store, [self], database)

    def _common(self, definition: IndexDefinition) -> IndexDefinition:
        name = self.index_name
        if len(name) > MAX_NAME_LENGTH:
            raise IndexCompilationError(
                f"an index name is at most {MAX_NAME_LENGTH} characters, not {len(name)}"
            )
        definition.name = name
        definition.priority = self.priority
        definition.lock_mode = self.lock_mode
        definition.deployment_mode = self.deployment_mode
        definition.state = self.state
        definition.additional_sources = self.additional_sources
        definition.additional_assemblies = self.additional_assemblies
        definition.configuration = None if self.configuration is None else dict(self.configuration)
        definition.__post_init__()  # the enums set above, checked and converted
        return definition


class _LinqCreationTask(AbstractIndexCreationTaskBase):
    """Field options and the reduce of the LINQ tasks."""

    def __init__(self) -> None:
        super().__init__()
        self.reduce: str | None = None
        self._stores_strings: dict[str, FieldStorage] = {}
        self._indexes_strings: dict[str, FieldIndexing] = {}
        self._analyzers_strings: dict[str, str] = {}
        self._index_suggestions: set[str] = set()
        self._term_vectors_strings: dict[str, FieldTermVector] = {}
        self._spatial_options_strings: dict[str, Any] = {}
        self._output_reduce_to_collection: str | None = None

    @property
    def is_map_reduce(self) -> bool:
        return self.reduce is not None

    def _index(self, field: str, indexing: FieldIndexing) -> None:
        """How ``field`` is indexed (``FieldIndexing.SEARCH``: full text)."""
        self._indexes_strings[field] = indexing

    def _store(self, field: str, storage: FieldStorage) -> None:
        """Whether ``field``'s value is stored in the index, for projections."""
        self._stores_strings[field] = storage

    def _store_all_fields(self, storage: FieldStorage) -> None:
        self._stores_strings[ALL_FIELDS] = storage

    def _analyze(self, field: str, analyzer: str) -> None:
        """Accepted and ignored: rookdb's full text has one analyzer."""
        self._analyzers_strings[field] = analyzer

    def _term_vector(self, field: str, term_vector: FieldTermVector) -> None:
        """Accepted and ignored (Lucene's term vectors)."""
        self._term_vectors_strings[field] = term_vector

    def _suggestion(self, field: str) -> None:
        """Accepted and ignored (suggestions are not supported)."""
        self._index_suggestions.add(field)

    def _spatial(self, field: str, options: Any) -> None:
        """Spatial fields: kept in the definition, refused when it is compiled."""
        self._spatial_options_strings[field] = options

    def _fields(self) -> dict[str, IndexFieldOptions]:
        fields: dict[str, IndexFieldOptions] = {}

        def options(name: str) -> IndexFieldOptions:
            return fields.setdefault(name, IndexFieldOptions())

        for name, indexing in self._indexes_strings.items():
            options(name).indexing = FieldIndexing(indexing)
        for name, storage in self._stores_strings.items():
            options(name).storage = FieldStorage(storage)
        for name, analyzer in self._analyzers_strings.items():
            options(name).analyzer = analyzer
        for name, vector in self._term_vectors_strings.items():
            options(name).term_vector = FieldTermVector(vector)
        for name, spatial in self._spatial_options_strings.items():
            options(name).spatial = spatial
        for name in self._index_suggestions:
            options(name).suggestions = True
        return fields

    def _definition(self, maps: list[str]) -> IndexDefinition:
        definition = IndexDefinition(
            maps=set(maps),
            reduce=self.reduce,
            fields=self._fields(),
            output_reduce_to_collection=self._output_reduce_to_collection,
        )
        return self._common(definition)


class AbstractIndexCreationTask(_LinqCreationTask):
    """An index of one LINQ map (``self.map``) and an optional reduce (``self.reduce``)."""

    def __init__(self) -> None:
        super().__init__()
        self.map: str | None = None

    def create_index_definition(self) -> IndexDefinition:
        if self.map is None:
            raise IndexCompilationError(
                "Map is required to generate an index, you cannot create an index without "
                f"a valid map property (in index {self.index_name})."
            )
        return self._definition([self.map])


class AbstractMultiMapIndexCreationTask(_LinqCreationTask):
    """An index of several LINQ maps (``_add_map``, one per collection), their entries of
    the same fields, and an optional reduce over them all."""

    def __init__(self) -> None:
        super().__init__()
        self._maps: list[str] = []

    def _add_map(self, map_: str) -> None:
        if map_ is None:
            raise ValueError("Map cannot be None")
        self._maps.append(map_)

    def create_index_definition(self) -> IndexDefinition:
        if not self._maps:
            raise IndexCompilationError(f"the multi-map index {self.index_name} has no maps")
        return self._definition(self._maps)


class AbstractJavaScriptIndexCreationTask(AbstractIndexCreationTaskBase):
    """An index in JavaScript: ``self.maps`` (``map('Orders', o => ({ ... }))`` each) and an
    optional ``self.reduce`` (``groupBy(x => ...).aggregate(g => ({ ... }))``);
    ``self.fields`` their options."""

    def __init__(self) -> None:
        super().__init__()
        self._definition = IndexDefinition()

    @property
    def maps(self) -> set[str]:
        return self._definition.maps

    @maps.setter
    def maps(self, value: set[str] | list[str] | str) -> None:
        self._definition.maps = {value} if isinstance(value, str) else set(value)

    @property
    def fields(self) -> dict[str, IndexFieldOptions]:
        return self._definition.fields

    @fields.setter
    def fields(self, value: dict[str, IndexFieldOptions]) -> None:
        self._definition.fields = value

    @property
    def reduce(self) -> str | None:
        return self._definition.reduce

    @reduce.setter
    def reduce(self, value: str | None) -> None:
        self._definition.reduce = value

    @property
    def is_map_reduce(self) -> bool:
        return self.reduce is not None

    def create_index_definition(self) -> IndexDefinition:
        definition = IndexDefinition(
            maps=set(self._definition.maps),
            reduce=self._definition.reduce,
            fields=dict(self._definition.fields),
        )  # its type is detected from its maps: JavaScriptMap or JavaScriptMapReduce
        definition = self._common(definition)
        definition.additional_sources = dict(self.additional_sources or {})
        return definition


class IndexCreation:
    """RavenDB's ``IndexCreation``: put several creation tasks' indexes at once."""

    @staticmethod
    def create_indexes(
        tasks: list[AbstractIndexCreationTaskBase],
        store: Any,
        conventions: Any = None,
        database: str | None = None,
    ) -> None:
        """Put the indexes of ``tasks`` in one operation (one refused: none is put)."""
        from rookdb.index_operations import put_tasks

        put_tasks(store, tasks, database)
