"""Index definitions in RavenDB's shape: ``IndexDefinition``, ``IndexFieldOptions`` and
their enumerations, with the JSON round trip of RavenDB's wire format (what
``PutIndexesOperation`` sends to ``PUT /admin/indexes`` and ``GetIndexOperation`` reads).

A definition is data: ``rookdb.indexes.compiled.compile_index`` checks it and compiles it.
Which options are honoured, and which are accepted and ignored, is listed in
``docs/indexes.md`` and in ``IndexFieldOptions``' docstring.

>>> definition = IndexDefinition(
...     name="Orders/ByCompany",
...     maps={"from o in docs.Orders select new { o.Company, Count = 1 }"},
...     reduce="from r in results group r by r.Company into g "
...     "select new { Company = g.Key, Count = g.Sum(x => x.Count) }",
... )
>>> definition.type
<IndexType.MAP_REDUCE: 'MapReduce'>
>>> IndexDefinition.from_json(definition.to_json()) == definition
True
"""

from __future__ import annotations

import dataclasses
import enum
import re
from typing import Any

from rookdb.arguments import check_choice
from rookdb.errors import IndexCompilationError, shown

__all__ = [
    "FieldIndexing",
    "FieldStorage",
    "FieldTermVector",
    "IndexDefinition",
    "IndexDeploymentMode",
    "IndexFieldOptions",
    "IndexLockMode",
    "IndexPriority",
    "IndexSourceType",
    "IndexState",
    "IndexType",
    "detect_index_type",
    "detect_source_type",
]


class FieldStorage(str, enum.Enum):
    """Whether a field's value is kept in the index, for projections (``Yes``)."""

    YES = "Yes"
    NO = "No"


class FieldIndexing(str, enum.Enum):
    """How a field is indexed: ``Search`` is full-text (``rookdb.fulltext``), ``Exact`` and
    ``Default`` compare the value as it is, ``No`` leaves it out of queries;
    ``Highlighting`` is taken as ``Search`` (highlights are not supported)."""

    NO = "No"
    SEARCH = "Search"
    EXACT = "Exact"
    HIGHLIGHTING = "Highlighting"
    DEFAULT = "Default"


class FieldTermVector(str, enum.Enum):
    """Lucene's term vectors: accepted and ignored (rookdb has no Lucene)."""

    YES = "Yes"
    NO = "No"
    WITH_POSITIONS = "WithPositions"
    WITH_OFFSETS = "WithOffsets"
    WITH_POSITIONS_AND_OFFSETS = "WithPositionsAndOffsets"


class IndexLockMode(str, enum.Enum):
    UNLOCK = "Unlock"
    LOCKED_IGNORE = "LockedIgnore"
    LOCKED_ERROR = "LockedError"
    SIDE_BY_SIDE = "SideBySide"


class IndexPriority(str, enum.Enum):
    LOW = "Low"
    NORMAL = "Normal"
    HIGH = "High"


class IndexState(str, enum.Enum):
    NORMAL = "Normal"
    DISABLED = "Disabled"
    IDLE = "Idle"
    ERROR = "Error"


class IndexDeploymentMode(str, enum.Enum):
    PARALLEL = "Parallel"
    ROLLING = "Rolling"


class IndexSourceType(str, enum.Enum):
    NONE = "None"
    DOCUMENTS = "Documents"
    TIME_SERIES = "TimeSeries"
    COUNTERS = "Counters"


class IndexType(str, enum.Enum):
    NONE = "None"
    AUTO_MAP = "AutoMap"
    AUTO_MAP_REDUCE = "AutoMapReduce"
    MAP = "Map"
    MAP_REDUCE = "MapReduce"
    FAULTY = "Faulty"
    JAVA_SCRIPT_MAP = "JavaScriptMap"
    JAVA_SCRIPT_MAP_REDUCE = "JavaScriptMapReduce"


_COMMENTS = re.compile(r"(?:/\*(?:[^*]|(?:\*+[^*/]))*\*+/)|(?://.*)")


def _enum(kind: type[enum.Enum], value: Any, what: str) -> Any:
    if value is None:
        return value
    return check_choice(kind, value, what, error=IndexCompilationError)


def _value(member: enum.Enum | None) -> Any:
    return None if member is None else member.value


@dataclasses.dataclass
class IndexFieldOptions:
    """The options of one field of an index's entries.

    Honoured: ``storage`` (stored fields, projections read them from the index) and
    ``indexing`` (``Search`` makes the field full-text searchable). Accepted and ignored,
    as rookdb has no Lucene: ``term_vector``, ``analyzer`` (full text uses rookdb's one
    analyzer), ``suggestions``. Refused when the index is compiled: ``spatial``,
    ``vector``."""

    storage: FieldStorage | None = None
    indexing: FieldIndexing | None = None
    term_vector: FieldTermVector | None = None
    spatial: Any = None
    vector: Any = None
    analyzer: str | None = None
    suggestions: bool | None = None

    def __post_init__(self) -> None:
        self.storage = _enum(FieldStorage, self.storage, "a field's Storage")
        self.indexing = _enum(FieldIndexing, self.indexing, "a field's Indexing")
        self.term_vector = _enum(FieldTermVector, self.term_vector, "a field's TermVector")

    def to_json(self) -> dict[str, Any]:
        spatial, vector = self.spatial, self.vector
        if spatial is not None and hasattr(spatial, "to_json"):
            spatial = spatial.to_json()
        if vector is not None and hasattr(vector, "to_json"):
            vector = vector.to_json()
        return {
            "Storage": _value(self.storage),
            "Indexing": _value(self.indexing),
            "TermVector": _value(self.term_vector),
            "Spatial": spatial,
            "Vector": vector,
            "Analyzer": self.analyzer,
            "Suggestions": self.suggestions,
        }

    @classmethod
    def from_json(cls, data: Any) -> IndexFieldOptions:
        if not isinstance(data, dict):
            raise IndexCompilationError(f"a field's options are an object, not {shown(data)}")
        return cls(
            storage=data.get("Storage"),
            indexing=data.get("Indexing"),
            term_vector=data.get("TermVector"),
            spatial=data.get("Spatial"),
            vector=data.get("Vector"),
            analyzer=data.get("Analyzer"),
            suggestions=data.get("Suggestions"),
        )


def _head(map_: str) -> str:
    return re.sub(r"\s+", " ", _COMMENTS.sub("", map_)).strip().lower()


def detect_index_type(maps: set[str] | list[str], reduce: str | None) -> IndexType:
    """The type RavenDB gives a definition: a map that starts (past comments) with ``from``,
    ``docs``, ``counters`` or ``timeSeries`` (but not ``counters.map(`` or
    ``timeSeries.map(``) is C# LINQ (``Map``, ``MapReduce`` with a reduce), any other
    JavaScript."""
    first = next(iter(sorted(maps)), None)
    if first is None:
        return IndexType.NONE
    head = _head(first)
    has_reduce = reduce is not None and reduce.strip() != ""
    linq = head.startswith(("from", "docs")) or any(
        head.startswith(source) and not head.startswith(f"{source}.map")
        for source in ("counters", "timeseries")
    )
    if linq:
        return IndexType.MAP_REDUCE if has_reduce else IndexType.MAP
    return IndexType.JAVA_SCRIPT_MAP_REDUCE if has_reduce else IndexType.JAVA_SCRIPT_MAP


def detect_source_type(map_: str) -> IndexSourceType:
    """What a map reads, as RavenDB detects it: ``counters...`` and ``timeSeries...``
    (``from c in counters...`` too) read counters and time series, others documents."""
    head = _head(map_)
    tokens = head.split(" ", 4)
    source = (
        tokens[3] if head.startswith("from") and len(tokens) >= 4 and tokens[2] == "in" else head
    )
    if source.startswith("timeseries"):
        return IndexSourceType.TIME_SERIES
    if source.startswith("counters"):
        return IndexSourceType.COUNTERS
    return IndexSourceType.DOCUMENTS


@dataclasses.dataclass
class IndexDefinition:
    """A static index as RavenDB defines it: a name, its maps (LINQ or JavaScript), an
    optional reduce, the options of its fields.

    ``type`` is computed from the maps and reduce (``detect_index_type``) unless set.
    ``configuration`` and ``schema_definitions`` are accepted and ignored;
    ``additional_sources`` are JavaScript
    functions for a JavaScript index (C# sources for a LINQ index are refused, as are
    ``additional_assemblies`` and ``output_reduce_to_collection``: rookdb compiles no C#
    and writes no documents from a reduce)."""

    name: str | None = None
    maps: set[str] = dataclasses.field(default_factory=set)
    reduce: str | None = None
    fields: dict[str, IndexFieldOptions] = dataclasses.field(default_factory=dict)
    priority: IndexPriority | None = None
    state: IndexState | None = None
    lock_mode: IndexLockMode | None = None
    additional_sources: dict[str, str] | None = None
    additional_assemblies: list[dict[str, Any]] | None = None
    configuration: dict[str, str] | None = None
    output_reduce_to_collection: str | None = None
    reduce_output_index: int | None = None
    pattern_for_output_reduce_to_collection_references: str | None = None
    pattern_references_collection_name: str | None = None
    deployment_mode: IndexDeploymentMode | None = None
    source_type: IndexSourceType | None = None
    index_type: IndexType | None = None
    schema_definitions: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.maps, str):
            self.maps = {self.maps}
        else:
            self.maps = set(self.maps)
        self.priority = _enum(IndexPriority, self.priority, "Priority")
        self.state = _enum(IndexState, self.state, "State")
        self.lock_mode = _enum(IndexLockMode, self.lock_mode, "LockMode")
        self.deployment_mode = _enum(IndexDeploymentMode, self.deployment_mode, "DeploymentMode")
        self.source_type = _enum(IndexSourceType, self.source_type, "IndexSourceType")
        self.index_type = _enum(IndexType, self.index_type, "IndexType")

    @property
    def type(self) -> IndexType:
        """``index_type`` when set (not ``None``), else as RavenDB detects it."""
        if self.index_type is not None and self.index_type is not IndexType.NONE:
            return self.index_type
        return detect_index_type(self.maps, self.reduce)

    @type.setter
    def type(self, value: IndexType) -> None:
        self.index_type = _enum(IndexType, value, "IndexType")

    def to_json(self) -> dict[str, Any]:
        """The definition as ``PUT /admin/indexes`` carries it (maps sorted: a set)."""
        return {
            "Name": self.name,
            "Priority": _value(self.priority),
            "State": _value(self.state),
            "LockMode": _value(self.lock_mode),
            "AdditionalSources": self.additional_sources,
            "AdditionalAssemblies": self.additional_assemblies,
            "Maps": sorted(self.maps),
            "Fields": {name: options.to_json() for name, options in self.fields.items()},
            "Reduce": self.reduce,
            "Configuration": self.configuration,
            "IndexSourceType": _value(self.source_type),
            "IndexType": _value(self.type),
            "OutputReduceToCollection": self.output_reduce_to_collection,
            "ReduceOutputIndex": self.reduce_output_index,
            "PatternForOutputReduceToCollectionReferences": (
                self.pattern_for_output_reduce_to_collection_references
            ),
            "PatternReferencesCollectionName": self.pattern_references_collection_name,
            "DeploymentMode": _value(self.deployment_mode),
            "SchemaDefinitions": self.schema_definitions,
        }

    def with_server_defaults(self) -> IndexDefinition:
        """A copy with what RavenDB's server fills in where the definition has nothing
        (priority and state ``Normal``, lock mode ``Unlock``, empty sources, assemblies and
        configuration): what ``GET /indexes`` answers, which the official client's
        ``from_json`` needs."""
        return dataclasses.replace(
            self,
            maps=set(self.maps),
            fields=dict(self.fields),
            priority=self.priority or IndexPriority.NORMAL,
            state=self.state or IndexState.NORMAL,
            lock_mode=self.lock_mode or IndexLockMode.UNLOCK,
            additional_sources=self.additional_sources or {},
            additional_assemblies=self.additional_assemblies or [],
            configuration=self.configuration or {},
            deployment_mode=self.deployment_mode,
        )

    @classmethod
    def from_json(cls, data: Any) -> IndexDefinition:
        """A definition from RavenDB's JSON; missing keys take their defaults, a value of
        the wrong kind is an ``IndexCompilationError``."""
        if not isinstance(data, dict):
            raise IndexCompilationError("an index definition is a JSON object")
        maps = [] if data.get("Maps") is None else data["Maps"]
        if not isinstance(maps, list) or not all(isinstance(m, str) for m in maps):
            raise IndexCompilationError("an index definition's Maps are a list of strings")
        fields = {} if data.get("Fields") is None else data["Fields"]
        if not isinstance(fields, dict):
            raise IndexCompilationError("an index definition's Fields are an object")
        for key, kind in (
            ("Name", str),
            ("Reduce", str),
            ("AdditionalSources", dict),
            ("AdditionalAssemblies", list),
            ("Configuration", dict),
            ("SchemaDefinitions", dict),
            ("OutputReduceToCollection", str),
            ("ReduceOutputIndex", int),
            ("PatternForOutputReduceToCollectionReferences", str),
            ("PatternReferencesCollectionName", str),
        ):
            if data.get(key) is not None and not isinstance(data[key], kind):
                raise IndexCompilationError(f"an index definition's {key} is a {kind.__name__}")
        index_type = data.get("IndexType")
        if index_type == "None" or index_type == detect_index_type(maps, data.get("Reduce")):
            index_type = None  # the detected one: kept computed, as it was before to_json
        return cls(
            name=data.get("Name"),
            maps=set(maps),
            reduce=data.get("Reduce"),
            fields={str(k): IndexFieldOptions.from_json(v) for k, v in fields.items()},
            priority=data.get("Priority"),
            state=data.get("State"),
            lock_mode=data.get("LockMode"),
            additional_sources=data.get("AdditionalSources"),
            additional_assemblies=data.get("AdditionalAssemblies"),
            configuration=data.get("Configuration"),
            output_reduce_to_collection=data.get("OutputReduceToCollection"),
            reduce_output_index=data.get("ReduceOutputIndex"),
            pattern_for_output_reduce_to_collection_references=data.get(
                "PatternForOutputReduceToCollectionReferences"
            ),
            pattern_references_collection_name=data.get("PatternReferencesCollectionName"),
            deployment_mode=data.get("DeploymentMode"),
            source_type=data.get("IndexSourceType"),
            index_type=index_type,
            schema_definitions=data.get("SchemaDefinitions"),
        )
