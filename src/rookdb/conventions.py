"""Store-wide conventions (SPEC §2.5, D4), frozen when the store initializes.

``DocumentConventions`` holds what every session of a store shares: the ignore rule of the seed
"Disable Entity Tracking" (``should_ignore_entity_changes``), collection naming, the identity
property, id generation, the request budget and the optimistic concurrency defaults.
"""

from __future__ import annotations

import abc
import functools
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rookdb.arguments import check_callback, check_class, check_instance, check_truthy
from rookdb.errors import ConfigurationError, InvalidArgumentError, shown
from rookdb.options import OptimisticConcurrencyMode
from rookdb.serialization.models import default_identity_property_name
from rookdb.serialization.type_registry import TypeRegistry

if TYPE_CHECKING:
    from rookdb.session import DocumentSession

__all__ = [
    "DocumentConventions",
    "ShouldIgnoreEntityChanges",
    "check_request_budget",
    "default_collection_name",
    "default_identity_property_name",
    "dict_collection_name",
]


class ShouldIgnoreEntityChanges(abc.ABC):
    """Decides, each time a session computes its changes, whether to leave an entity out.

    Subclass it and implement ``check``; assign the class or an instance to
    ``store.conventions.should_ignore_entity_changes``::

        class IgnoreBob(ShouldIgnoreEntityChanges):
            def check(self, session_operations, entity, document_id):
                return isinstance(entity, Employee) and entity.first_name == "Bob"

    ``check`` is called for entities that would otherwise be written (new ones, and ones that
    differ from their snapshot), once per entity per computation, in tracking order, never for
    deletes (SPEC S9). True means "do not track this entity".
    """

    @abc.abstractmethod
    def check(
        self, session_operations: DocumentSession, entity: object, document_id: str
    ) -> bool: ...


# Collection names are the official client's (``ravendb.documents.conventions``): the class name
# made plural by ``inflect``'s ``engine().plural``, with every classical mode off (the client
# turns off the one on by default, "names", before it makes its engine: "Analysis" becomes
# "Analyses", not the proper name's "Analysises"). rookdb sets the modes on its own engine rather
# than reading inflect's module-wide defaults, which the official client changes when imported.
#
# inflect is imported on first use: its methods are instrumented by typeguard when the module is
# imported, which takes about a second (jaraco/inflect#212), and ``import rookdb`` should not.
# Names are cached, so each class name pays the (~0.1 ms) pluralization once per process.
_inflector: Any = None
_inflector_lock = threading.Lock()


@functools.lru_cache(maxsize=4096)
def _plural(name: str) -> str:
    global _inflector
    with _inflector_lock:  # the engine is built once; its methods are not documented as thread-safe
        if _inflector is None:
            import inflect

            engine = inflect.engine()
            engine.classical(all=False)
            _inflector = engine
        return str(_inflector.plural(name))


def default_collection_name(cls: type) -> str:
    """The collection of a class: its name made plural as the official ``ravendb`` client does
    it (with ``inflect``), so both clients put a class in the same collection: ``Employee`` →
    ``Employees``, ``Company`` → ``Companies``, ``Person`` → ``People``, ``Analysis`` →
    ``Analyses``, ``Datum`` → ``Data``, ``Deer`` → ``Deer``, ``OrderLine`` → ``OrderLines``.

    New ids take the lower-cased name as their prefix (``analyses/1-A``)."""
    return _plural(cls.__name__)


def dict_collection_name(document_id: str | None, separator: str) -> str:
    """The collection of a dict entity that names none in its ``@metadata``: its id's prefix
    (D4), or ``@empty``."""
    if document_id and separator in document_id:
        prefix = document_id.split(separator, 1)[0]
        if prefix:
            return prefix
    return "@empty"


class DocumentConventions:
    """Conventions of one ``DocumentStore``; set them before the first session opens."""

    def __init__(self, type_registry: TypeRegistry | None = None) -> None:
        self._frozen = False
        # The store's registry (each store has its own); conventions made alone have theirs.
        self._type_registry = type_registry if type_registry is not None else TypeRegistry()
        self.should_ignore_entity_changes: (
            ShouldIgnoreEntityChanges | type[ShouldIgnoreEntityChanges] | None
        ) = None
        self.find_collection_name: Callable[[type], str] = default_collection_name
        #: The attribute holding an entity's document id, per class: ``"Id"`` (RavenDB's
        #: name), except ``"id"`` for a pydantic model, dataclass or attrs class that declares
        #: ``id`` and no ``Id`` (``default_identity_property_name``). It is set on ``store``
        #: and on load, and is never part of the document.
        self.find_identity_property_name: Callable[[type], str] = default_identity_property_name
        #: Validate pydantic models as they are loaded (``load``, query results, ``refresh``): a
        #: document that does not validate raises ``DocumentValidationError`` naming the id and
        #: the fields. False builds them with ``model_construct`` instead, holding exactly what
        #: was stored, unchecked (faster). Projections are never validated.
        self.validate_on_load = True
        self.identity_parts_separator = "/"
        #: ``(database, entity) -> id``; None uses HiLo ids such as ``employees/1-A``.
        self.document_id_generator: Callable[[str, object], str] | None = None
        self.max_number_of_requests_per_session = 30
        #: The async session's hot calls on the driver's async I/O where the backend has it
        #: (PostgreSQL, a rookdb server); False: in worker threads, as on SQLite; None (the
        #: default): the way measured faster on the backend, today threads (README: Async).
        self.async_native_io: bool | None = None
        self.use_optimistic_concurrency = False
        self.optimistic_concurrency_mode: OptimisticConcurrencyMode | None = None
        self._encoders: dict[type, Callable[[Any], Any]] = {}
        self._ignore_instance: ShouldIgnoreEntityChanges | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_") and getattr(self, "_frozen", False):
            raise ConfigurationError(
                f"conventions are frozen once the store is initialized; set {name} before the "
                "first open_session()"
            )
        super().__setattr__(name, value)

    def register_type(self, cls: type) -> None:
        """Let ``load(id)`` without ``object_type`` build ``cls`` from ``Raven-Python-Type``
        (in this store's sessions)."""
        self._type_registry.register(check_class(cls, "cls", optional=False))

    def register_encoder(self, cls: type, encoder: Callable[[Any], Any]) -> None:
        """Serialize values of ``cls`` (and subclasses) as ``encoder(value)`` returns them."""
        if self._frozen:
            raise ConfigurationError("conventions are frozen once the store is initialized")
        check_class(cls, "cls", optional=False)
        self._encoders[cls] = check_callback(encoder, "encoder", optional=False)

    @property
    def encoders(self) -> dict[type, Callable[[Any], Any]]:
        return dict(self._encoders)

    @property
    def ignore_rule(self) -> ShouldIgnoreEntityChanges | None:
        """The ``should_ignore_entity_changes`` instance shared by every session (frozen)."""
        return self._ignore_instance

    def freeze(self) -> None:
        """Called by ``DocumentStore.initialize``: a class given as the ignore rule is
        instantiated once here and shared across sessions and threads."""
        if self._frozen:
            return
        rule = self.should_ignore_entity_changes
        if isinstance(rule, type):
            if not issubclass(rule, ShouldIgnoreEntityChanges):
                raise ConfigurationError(
                    "should_ignore_entity_changes must be a ShouldIgnoreEntityChanges subclass "
                    "or instance"
                )
            rule = rule()
        elif rule is not None and not callable(getattr(rule, "check", None)):
            raise ConfigurationError(
                "should_ignore_entity_changes must have a check(session, entity, id) method"
            )
        self._ignore_instance = rule
        check_request_budget(self.max_number_of_requests_per_session)
        if self.async_native_io is not None and not isinstance(self.async_native_io, bool):
            raise ConfigurationError("async_native_io must be True, False or None")
        self._check_attributes()
        # From here on conventions are read-only, hence safe to share across threads.
        self._frozen = True

    def _check_attributes(self) -> None:
        """The conventions set as attributes, checked when they freeze: a wrong one is
        refused by ``initialize()``, not by the first session that would use it."""
        check_callback(self.find_collection_name, "find_collection_name", optional=False)
        check_callback(
            self.find_identity_property_name, "find_identity_property_name", optional=False
        )
        check_callback(self.document_id_generator, "document_id_generator")
        check_truthy(self.validate_on_load, "validate_on_load")
        check_truthy(self.use_optimistic_concurrency, "use_optimistic_concurrency")
        separator = self.identity_parts_separator
        if type(separator) is not str or len(separator) != 1 or separator == "|":
            raise InvalidArgumentError(
                "identity_parts_separator is one character other than '|' (RavenDB's is a "
                f"char), not {shown(separator)}"
            )
        check_instance(
            self.optimistic_concurrency_mode,
            OptimisticConcurrencyMode,
            "optimistic_concurrency_mode",
            optional=True,
        )


def check_request_budget(value: Any) -> int:
    """A session's request budget (``max_number_of_requests_per_session``): a count."""
    if type(value) is not int or not 0 <= value < 2**63:
        raise InvalidArgumentError(
            f"max_number_of_requests_per_session is an int from 0 to 2**63 - 1, not {shown(value)}"
        )
    return value
