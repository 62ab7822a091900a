"""What model libraries declare about a class: fields, defaults, types, identity, validation.

``entities`` reads and writes every kind of class; this module holds what it asks of classes
made with pydantic, dataclasses and attrs (and of annotated ``__init__`` methods), so that each
rule is written once:

* ``declared_fields``: the fields a model class declares, and from them the default identity
  property, ``default_identity_property_name`` (``id`` for a model declaring ``id`` and no
  ``Id``);
* ``defaults``: what a field missing from a document gets on load (dataclasses and attrs);
* ``init_hints``: the types of ``__init__``'s parameters, used like class annotations;
* ``build_pydantic``: a pydantic model from stored fields, validated unless turned off, and
  ``ModelInvalid`` / ``validation_error`` to say where a document failed.

rookdb never imports pydantic or attrs for a class that is not theirs.
"""

from __future__ import annotations

import contextvars
import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Any

from rookdb._types import JsonDict
from rookdb.errors import DocumentValidationError
from rookdb.ids import shown_id

__all__ = [
    "ModelInvalid",
    "build_pydantic",
    "declared_fields",
    "default_identity_property_name",
    "defaults",
    "has_aliases",
    "init_hints",
    "is_pydantic_model",
    "validating",
    "validation_error",
]

#: Whether pydantic models are validated as they are built from stored data. On unless the
#: codec reading a document says otherwise (``conventions.validate_on_load``, projections): a
#: context variable, because nested objects are built by converters made once per class and
#: shared by every store of the process.
validating: contextvars.ContextVar[bool] = contextvars.ContextVar("validating", default=True)


def is_pydantic_model(cls: type) -> bool:
    """A pydantic v2 model class."""
    return hasattr(cls, "__pydantic_fields__") and hasattr(cls, "model_construct")


def declared_fields(cls: type) -> tuple[str, ...] | None:
    """The fields a pydantic model, dataclass or attrs class declares; None for other classes
    (plain and ``__slots__`` classes hold whatever attributes their instances are given)."""
    if is_pydantic_model(cls):
        return tuple(cls.__pydantic_fields__)  # type: ignore[attr-defined]
    if dataclasses.is_dataclass(cls):
        return tuple(f.name for f in dataclasses.fields(cls))
    attributes = getattr(cls, "__attrs_attrs__", None)
    if attributes is not None:
        return tuple(a.name for a in attributes)
    return None


def default_identity_property_name(cls: type) -> str:
    """The default ``conventions.find_identity_property_name``: ``"Id"``, RavenDB's name, except
    for a pydantic model, dataclass or attrs class that declares ``id`` and no ``Id``, whose
    identity property is ``id`` (as FastAPI users write their models), unless its type cannot
    hold a string (``id: int`` stays an ordinary field: a document id is a ``str``).

    The identity property holds the document id: it is set on ``store`` and on load, and it is
    never part of the document, so ``what_changed`` never reports it."""
    fields = declared_fields(cls)
    if fields is not None and "id" in fields and "Id" not in fields and _holds_str(cls, "id"):
        return "id"
    return "Id"


def _holds_str(cls: type, name: str) -> bool:
    """Whether the declared type of field ``name`` admits a ``str`` (True when unknown)."""
    if is_pydantic_model(cls):
        hint = cls.__pydantic_fields__[name].annotation  # type: ignore[attr-defined]
    else:
        try:
            hints = typing.get_type_hints(cls)
        except Exception:
            hints = {}
        attribute = next((a for a in getattr(cls, "__attrs_attrs__", ()) if a.name == name), None)
        hint = hints.get(name, getattr(attribute, "type", None))
    return _admits_str(hint)


def _admits_str(hint: Any) -> bool:
    if hint is None or hint is typing.Any or hint is object or isinstance(hint, str):
        return True  # untyped, Any, or an annotation that could not be resolved
    origin = typing.get_origin(hint)
    if origin is typing.Annotated:
        return _admits_str(typing.get_args(hint)[0])
    if origin is typing.Union or origin is types.UnionType:
        return any(_admits_str(arg) for arg in typing.get_args(hint))
    supertype = getattr(hint, "__supertype__", None)  # typing.NewType("UserId", str)
    if supertype is not None:
        return _admits_str(supertype)
    return isinstance(hint, type) and issubclass(str, hint)


def defaults(cls: type) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """``(field, make)`` for each field with a default, of dataclasses and attrs classes:
    ``make(obj)`` gives the value a field missing from a document gets on load, so the object
    is usable (the session then reports the field as new: schema evolution)."""
    out: list[tuple[str, Callable[[Any], Any]]] = []
    if dataclasses.is_dataclass(cls):
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                out.append((f.name, _constant(f.default)))
            elif f.default_factory is not dataclasses.MISSING:
                out.append((f.name, _call(f.default_factory)))
        return tuple(out)
    attributes = getattr(cls, "__attrs_attrs__", None)
    if attributes is None:
        return ()
    import attr  # the class is an attrs class: attrs is installed

    for a in attributes:
        default = a.default
        if default is attr.NOTHING:
            continue
        if isinstance(default, attr.Factory):  # type: ignore[arg-type]
            factory = default.factory
            out.append((a.name, factory if default.takes_self else _call(factory)))
        else:
            out.append((a.name, _constant(default)))
    return tuple(out)


def _constant(value: Any) -> Callable[[Any], Any]:
    return lambda obj: value


def _call(factory: Callable[[], Any]) -> Callable[[Any], Any]:
    return lambda obj: factory()


def init_hints(cls: type) -> dict[str, Any]:
    """The annotations of ``__init__``'s named parameters, by the attribute each one sets: the
    parameter's own name, or for attrs classes the field it is the alias of (``_x`` for ``x``).
    Unresolvable annotations give no hints rather than an error."""
    init = getattr(cls, "__init__", None)
    code = getattr(init, "__code__", None)
    if code is None:  # object.__init__, a C constructor
        return {}
    try:
        hints = typing.get_type_hints(init)
    except Exception:
        return {}
    named = code.co_varnames[1 : code.co_argcount + code.co_kwonlyargcount]  # not self, *args
    fields = {
        getattr(a, "alias", None) or a.name.lstrip("_"): a.name
        for a in getattr(cls, "__attrs_attrs__", ())
    }
    return {fields.get(name, name): hints[name] for name in named if name in hints}


# --------------------------------------------------------------------------- validation


class ModelInvalid(Exception):
    """A pydantic model did not validate. Deliberately not a ``TypeError``/``ValueError``, so
    the converters that keep mismatched values as stored let it through."""

    def __init__(self, model: type, data: JsonDict, errors: list[tuple[tuple[Any, ...], str]]):
        super().__init__(model, errors)
        self.model = model
        #: The dict the model was built from: found by identity in the document to say where.
        self.data = data
        self.errors = errors


def build_pydantic(cls: Any, fields: JsonDict, data: JsonDict) -> Any:
    """An instance of the pydantic model ``cls`` holding ``fields`` (the declared ones of
    ``data``, converted by their hints): validated while ``validating`` is on (the values are
    those validation gives), else ``model_construct``-ed, holding exactly what was stored."""
    if not validating.get():
        return cls.model_construct(**fields)
    try:
        return cls.model_validate(fields, **_by_name(cls))
    except ValueError as exc:
        from pydantic_core import ValidationError

        if not isinstance(exc, ValidationError):
            raise
        errors = [(tuple(e["loc"]), e["msg"]) for e in exc.errors(include_url=False)]
        raise ModelInvalid(cls, data, errors) from exc


_BY_NAME: dict[type, dict[str, bool]] = {}


def has_aliases(cls: Any) -> bool:
    """Whether the model ``cls`` declares an alias for a field (``_by_name``)."""
    return bool(_by_name(cls))


def _by_name(cls: Any) -> dict[str, bool]:
    """Documents hold a model's fields under their Python names, never their aliases (rookdb
    writes ``__dict__``): a model with aliases is validated by name (pydantic 2.11 or newer)."""
    options = _BY_NAME.get(cls)
    if options is None:
        aliased = any(
            (f.alias or name) != name or (f.validation_alias or name) != name
            for name, f in cls.__pydantic_fields__.items()
        )
        options = _BY_NAME[cls] = {"by_alias": False, "by_name": True} if aliased else {}
    return options


def validation_error(
    exc: ModelInvalid, document_id: str | None, root: Any
) -> DocumentValidationError:
    """The public error for ``exc``, raised while building the document ``root``: its paths
    start at the document's root."""
    prefix = _path_to(root, exc.data)
    errors = [(".".join(str(p) for p in (*prefix, *loc)), msg) for loc, msg in exc.errors]
    listed = "; ".join(f"{path}: {msg}" if path else msg for path, msg in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    where = f"document {shown_id(document_id)}" if document_id is not None else "a document"
    return DocumentValidationError(
        f"{where} does not validate as {exc.model.__qualname__}: {listed}{more}",
        document_id=document_id,
        model=exc.model,
        errors=errors,
    )


def _path_to(root: Any, target: object) -> tuple[Any, ...]:
    """The keys and indexes leading from ``root`` to the object ``target`` (by identity).
    Converters replace a container only once all of it converted, so where one failed the
    document still holds the original objects. Iterative: documents may be deeply nested."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if node is target:
            return path
        if type(node) is dict:
            stack.extend((value, (*path, key)) for key, value in node.items())
        elif type(node) is list:
            stack.extend((value, (*path, i)) for i, value in enumerate(node))
    return ()
