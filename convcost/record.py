"""Frozen value classes, declared cheaply: ``@record`` makes what ``@dataclass(frozen=True)`` makes,
for a third of the cost.

Why: dataclasses writes each method of a class as source and compiles it on its own. A frozen
dataclass costs six compilations (about 4.8 million instructions for eight fields, over a
millisecond on a small machine) and ``convcost table`` declares about 25 value classes before it
prints a line. Here dataclasses only reads the fields (``init=False``); ``__init__`` is written in
one compilation (``_write_init``, the frozen form dataclasses writes: each field set with
``object.__setattr__``, then ``__post_init__``); and ``__eq__``, ``__hash__``, ``__repr__``,
``__setattr__`` and ``__delattr__`` are the shared functions below. Layer kinds
(``convcost.layer.kind``) are records too.

The shared methods behave as dataclasses' do: ``==`` holds between instances of the very same
class whose compared fields are equal, the hash is that of the compared fields (``hash=`` of a field
is honoured), the repr lists the ``repr=True`` fields by name, and assigning or deleting an
attribute raises ``FrozenInstanceError``. A class that writes one of them itself keeps its own.
``dataclasses.fields``, ``replace``, ``asdict`` and ``inspect.signature`` see an ordinary dataclass.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from dataclasses import MISSING, Field, FrozenInstanceError, dataclass, field, fields
from typing import Any, NoReturn, TypeVar, dataclass_transform, overload

_Class = TypeVar("_Class", bound=type)

#: per class, the names of its fields that each shared method reads (dataclasses' own choice of them)
_COMPARED: dict[type, tuple[str, ...]] = {}
_HASHED: dict[type, tuple[str, ...]] = {}
_SHOWN: dict[type, tuple[str, ...]] = {}


def _names(cls: type, table: dict[type, tuple[str, ...]], chosen: Callable[[Field[Any]], bool]) -> tuple[str, ...]:
    names = table.get(cls)
    if names is None:
        names = table[cls] = tuple(f.name for f in fields(cls) if chosen(f))
    return names


def compared_values(obj: object) -> tuple[Any, ...]:
    """The values ``==`` compares: every field but those declared ``compare=False``."""
    return tuple(getattr(obj, name) for name in _names(type(obj), _COMPARED, lambda f: f.compare))


def shared_eq(self: object, other: object) -> bool:
    if other.__class__ is not self.__class__:
        return NotImplemented  # type: ignore[no-any-return]  # mypy allows it in methods named __eq__ only
    equal: bool = compared_values(self) == compared_values(other)
    return equal


def shared_hash(self: object) -> int:
    hashed = _names(type(self), _HASHED, lambda f: f.compare if f.hash is None else bool(f.hash))
    return hash(tuple(getattr(self, name) for name in hashed))


def shared_repr(self: object) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _names(type(self), _SHOWN, lambda f: f.repr))
    return f"{type(self).__qualname__}({shown})"


def frozen_setattr(self: object, name: str, value: object) -> NoReturn:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def frozen_delattr(self: object, name: str) -> NoReturn:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


class _NoValue:
    """The default of a field with a ``default_factory``: "call the factory"."""

    def __repr__(self) -> str:
        return "<factory>"


_NO_VALUE = _NoValue()


def fields_taken(cls: type) -> list[str]:
    """The names ``cls.__init__`` takes, in order (dataclasses' doc of a class without one)."""
    return [f.name for f in fields(cls) if f.init]


def _write_init(cls: type) -> None:
    """``cls.__init__(self, <fields>, *, <keyword-only fields>)`` as dataclasses writes it for a
    frozen class: each field set with ``object.__setattr__`` in declaration order (a default
    factory called when its field is not given), then ``self.__post_init__()`` if there is one."""
    scope: dict[str, Any] = {"_set": object.__setattr__, "_NO_VALUE": _NO_VALUE}
    positional: list[str] = []
    keyword_only: list[str] = []
    body: list[str] = []
    for f in fields(cls):
        if not f.name.isidentifier() or keyword.iskeyword(f.name):
            raise TypeError(f"{cls.__qualname__}: field name {f.name!r} is not an identifier")
        default = factory = ""
        if f.default is not MISSING:
            default = f"_default_{f.name}"
            scope[default] = f.default
        elif f.default_factory is not MISSING:
            scope[f"_factory_{f.name}"] = f.default_factory
            factory = f"_factory_{f.name}()"
        if f.init:
            if not f.kw_only and positional and "=" in positional[-1] and not (default or factory):
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
            given = f.name + (f"={default}" if default else "=_NO_VALUE" if factory else "")
            (keyword_only if f.kw_only else positional).append(given)
            value = f"{factory} if {f.name} is _NO_VALUE else {f.name}" if factory else f.name
        elif factory:
            value = factory
        else:
            continue  # init=False: the class attribute is the default, or __post_init__ sets it
        body.append(f"    _set(self, {f.name!r}, {value})")
    if hasattr(cls, "__post_init__"):
        body.append("    self.__post_init__()")
    parameters = ", ".join(["self", *positional, *(["*", *keyword_only] if keyword_only else [])])
    exec(f"def __init__({parameters}):\n" + ("\n".join(body) or "    pass"), scope)
    init = scope["__init__"]
    init.__annotations__ = {f.name: f.type for f in fields(cls) if f.init} | {"return": None}
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    type.__setattr__(cls, "__init__", init)


def declare_record(cls: type, *, eq: bool = True) -> None:
    """Make ``cls`` a frozen dataclass (what ``@record`` does; ``kind`` calls it on first use)."""
    docless = not cls.__dict__.get("__doc__")
    if docless:
        # dataclasses would write the doc from inspect.signature of the __init__ it has not got
        # (object's), which parses a signature string with tokenize: 3 ms the first time
        type.__setattr__(cls, "__doc__", "(written below)")
    dataclass(init=False, eq=False, repr=False)(cls)
    own = cls.__dict__
    if "__init__" not in own:
        _write_init(cls)
    if docless:
        type.__setattr__(cls, "__doc__", f"{cls.__name__}({', '.join(fields_taken(cls))})")
    shared = {"__repr__": shared_repr, "__setattr__": frozen_setattr, "__delattr__": frozen_delattr}
    if eq:
        shared["__eq__"] = shared_eq
    for name, method in shared.items():
        if name not in own:
            type.__setattr__(cls, name, method)
    # a class body that defines __eq__ alone gets __hash__ = None from Python: dataclasses still
    # writes a hash then, and so does this
    if eq and ("__hash__" not in own or (own["__hash__"] is None and "__eq__" in own)):
        type.__setattr__(cls, "__hash__", shared_hash)


@overload
def record(cls: _Class, /) -> _Class: ...
@overload
def record(*, eq: bool = True) -> Callable[[_Class], _Class]: ...
@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: _Class | None = None, /, *, eq: bool = True) -> _Class | Callable[[_Class], _Class]:
    """``@record`` or ``@record(eq=False)`` (instances compare and hash by identity)."""

    def declare(cls: _Class) -> _Class:
        declare_record(cls, eq=eq)
        return cls

    return declare if cls is None else declare(cls)
