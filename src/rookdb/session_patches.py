"""The patch methods of ``session.advanced``, with RavenDB's names: ``patch``, ``increment``,
``patch_array``, ``add_or_patch``, ``add_or_increment``, ``add_or_patch_array`` and ``defer``.

Each queues a ``PatchCommand`` that the next ``save_changes`` sends in its batch, after the
entities' own writes (``rookdb.deferred``). The typed methods need no JavaScript engine: their
operations are applied in Python by every backend (``rookdb.patches``); a script patch, sent
with ``defer(PatchCommand(id, PatchRequest(script, values)))``, needs it
(``rookdb[scripting]``). After the save, the tracked entity of a patched document holds the
document as patched (with its new change vector).

    >>> session.advanced.increment("products/1", "stock", -1)
    >>> session.advanced.patch_array(order, "lines", lambda lines: lines.add({"sku": 7}))
    >>> session.save_changes()                                  # one batch, one request
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rookdb.arguments import check_callback
from rookdb.deferred import JavaScriptArray, written_patch
from rookdb.errors import ConfigurationError, InvalidArgumentError, InvalidOperationError, shown
from rookdb.ids import validate_id
from rookdb.patches import Increment, PatchOperation, SetValue, check_path
from rookdb.serialization.encoding import INT64_MAX, INT64_MIN
from rookdb.storage.commands import Command, PatchCommand

if TYPE_CHECKING:
    from rookdb.session import DocumentSession
    from rookdb.tracking.identity_map import IdentityMap

__all__ = ["SessionPatches"]


#: ``_queue``'s ``create`` when the patch creates no document (``add_or_*`` give theirs).
_NOTHING = object()


def _delta(value: Any) -> int | float:
    """An increment: a number a document can hold (a 64-bit int, a finite float; not a
    bool), refused when queued rather than by the save that would write it."""
    if (type(value) is int and INT64_MIN <= value <= INT64_MAX) or (
        type(value) is float and math.isfinite(value)
    ):
        return value
    raise InvalidArgumentError(
        f"an increment is a 64-bit int or a finite float, not {shown(value)}"
    )


class SessionPatches:
    """Mixed into ``session.advanced`` (``rookdb.advanced.Advanced``)."""

    _session: DocumentSession
    _map: IdentityMap

    def _target(self, entity_or_id: Any) -> str:
        if isinstance(entity_or_id, str):
            return validate_id(entity_or_id)
        self._session._check_open()
        state = self._map.by_entity(entity_or_id)
        if state is None or state.deleted:
            raise InvalidOperationError(
                f"cannot patch this {type(entity_or_id).__qualname__}: the session does not "
                "track it (patch it by id)"
            )
        if state.completed_by_storage:
            raise InvalidOperationError("cannot patch an entity that has no id yet: save it first")
        return state.id

    def _queue(
        self, entity_or_id: Any, operations: list[PatchOperation], create: object = _NOTHING
    ) -> None:
        document_id = self._target(entity_or_id)
        # (``_encode_new`` refuses what cannot be an entity: None too, never a plain patch)
        created = None if create is _NOTHING else self._session._encode_new(create, document_id)
        self._session._deferred_queue().typed(document_id, operations, created)

    def _value(self, value: Any) -> Any:
        # As a field holding it is stored, a Decimal with its digits (``9.50``: a Fragment,
        # ``Encoder.written_value``), where a query's parameter is the float it compares as.
        return self._session._codec.written_value(value)

    def patch(self, entity_or_id: Any, path: str, value: Any) -> None:
        """Set the field at ``path`` (names joined by dots) of the document to ``value``."""
        self._queue(entity_or_id, [SetValue(check_path(path), self._value(value))])

    def increment(self, entity_or_id: Any, path: str, value_to_add: int | float) -> None:
        """Add ``value_to_add`` to the number at ``path`` (a missing or zero one becomes it)."""
        self._queue(entity_or_id, [Increment(check_path(path), _delta(value_to_add))])

    def patch_array(
        self, entity_or_id: Any, path_to_array: str, array_adder: Callable[[JavaScriptArray], Any]
    ) -> None:
        """Change the array at ``path_to_array``: ``array_adder`` calls ``add(*items)`` and
        ``remove_at(index)`` on the ``JavaScriptArray`` it receives."""
        self._queue(entity_or_id, self._array(path_to_array, array_adder))

    def add_or_patch(
        self, document_id: str, entity: object, path_to_object: str, value: Any
    ) -> None:
        """Store ``entity`` as ``document_id`` if there is no such document, else patch it."""
        self._queue(document_id, [SetValue(check_path(path_to_object), self._value(value))], entity)

    def add_or_increment(
        self, document_id: str, entity: object, path_to_object: str, val_to_add: int | float
    ) -> None:
        """Store ``entity`` as ``document_id`` if there is no such document, else increment."""
        self._queue(
            document_id, [Increment(check_path(path_to_object), _delta(val_to_add))], entity
        )

    def add_or_patch_array(
        self,
        document_id: str,
        entity: object,
        path_to_array: str,
        list_adder: Callable[[JavaScriptArray], Any],
    ) -> None:
        """Store ``entity`` as ``document_id`` if there is no such document, else change its
        array as ``patch_array`` does."""
        self._queue(document_id, self._array(path_to_array, list_adder), entity)

    def defer(self, *commands: Command) -> None:
        """Send ``commands`` (``PatchCommand``, ``PutCommand``, ``DeleteCommand``, the attachment
        commands of ``rookdb.storage.commands``) with the next ``save_changes``, in its batch,
        after the entities' own writes. A patch's values are written now, as a document
        holding them is (with the store's conventions)."""
        write = self._session._codec.written_value
        self._session._deferred_queue().add(
            *(written_patch(c, write) if isinstance(c, PatchCommand) else c for c in commands)
        )

    def _array(self, path: str, adder: Callable[[JavaScriptArray], Any]) -> list[PatchOperation]:
        check_callback(adder, "the array's function", optional=False)
        array = JavaScriptArray(check_path(path), self._value)
        adder(array)
        if not array.operations:
            raise ConfigurationError("the array patch made no change (call add or remove_at)")
        return array.operations
