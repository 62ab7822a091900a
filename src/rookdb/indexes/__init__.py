"""User-defined indexes: definitions in RavenDB's forms, and their maps and reduces
compiled for storage to run (``docs/indexes.md``).

- ``definitions``: ``IndexDefinition``, ``IndexFieldOptions`` and RavenDB's enumerations,
  with the JSON of ``PUT /admin/indexes``;
- ``creation_tasks``: ``AbstractIndexCreationTask``, ``AbstractMultiMapIndexCreationTask``,
  ``AbstractJavaScriptIndexCreationTask``;
- ``compiled``: ``compile_index(definition) -> CompiledIndex``, the interface storage calls;
- ``linq_lexer``, ``linq_ast``, ``linq_parser``, ``linq_evaluator``, ``linq_runtime``,
  ``linq_methods``:
  the LINQ subset; JavaScript indexes run in ``rookdb.scripting.index_engine``.
"""

from rookdb.indexes.compiled import CompiledIndex, MapOutput, compile_index
from rookdb.indexes.creation_tasks import (
    AbstractIndexCreationTask,
    AbstractIndexCreationTaskBase,
    AbstractJavaScriptIndexCreationTask,
    AbstractMultiMapIndexCreationTask,
    IndexCreation,
)
from rookdb.indexes.definitions import (
    FieldIndexing,
    FieldStorage,
    FieldTermVector,
    IndexDefinition,
    IndexDeploymentMode,
    IndexFieldOptions,
    IndexLockMode,
    IndexPriority,
    IndexSourceType,
    IndexState,
    IndexType,
)

__all__ = [
    "AbstractIndexCreationTask",
    "AbstractIndexCreationTaskBase",
    "AbstractJavaScriptIndexCreationTask",
    "AbstractMultiMapIndexCreationTask",
    "CompiledIndex",
    "FieldIndexing",
    "FieldStorage",
    "FieldTermVector",
    "IndexCreation",
    "IndexDefinition",
    "IndexDeploymentMode",
    "IndexFieldOptions",
    "IndexLockMode",
    "IndexPriority",
    "IndexSourceType",
    "IndexState",
    "IndexType",
    "MapOutput",
    "compile_index",
]
