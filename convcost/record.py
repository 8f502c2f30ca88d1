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
``dataclasses.fields``, ``replace``, ``asdict`` and ``inspect.signature`` see an ordinary frozen
dataclass (``__dataclass_params__`` says frozen, so records and frozen dataclasses inherit from
each other); ``InitVar`` fields reach ``__post_init__``; a plain subclass may set attributes of its
own. tests/test_record.py holds all of it to dataclasses.
"""

from __future__ import annotations

import dataclasses
import keyword
from _thread import RLock, get_ident
from collections.abc import Callable
from dataclasses import MISSING, Field, FrozenInstanceError, dataclass, field, fields
from typing import Any, TypeVar, dataclass_transform, overload

_Class = TypeVar("_Class", bound=type)

#: held while a class is declared: a layer kind is declared on first use, maybe by two threads at once
DECLARING = RLock()
#: dataclasses' mark of an ``InitVar`` pseudo-field (private; a KeyError here says it moved)
_INITVAR = vars(dataclasses)["_FIELD_INITVAR"]


def _names(cls: type, key: str, chosen: Callable[[Field[Any]], bool]) -> tuple[str, ...]:
    """The names of the fields of ``cls`` a shared method reads, kept on the class itself."""
    names: tuple[str, ...] | None = cls.__dict__.get(key)
    if names is None:
        names = tuple(f.name for f in fields(cls) if chosen(f))
        type.__setattr__(cls, key, names)
    return names


def compared_values(obj: object) -> tuple[Any, ...]:
    """The values ``==`` compares: every field but those declared ``compare=False``."""
    return tuple(getattr(obj, name) for name in _names(type(obj), "__record_compared__", lambda f: f.compare))


def shared_eq(self: object, other: object) -> bool:
    if other.__class__ is not self.__class__:
        return NotImplemented  # type: ignore[no-any-return]  # mypy allows it in methods named __eq__ only
    equal: bool = compared_values(self) == compared_values(other)
    return equal


def shared_hash(self: object) -> int:
    hashed = _names(type(self), "__record_hashed__", lambda f: f.compare if f.hash is None else bool(f.hash))
    return hash(tuple(getattr(self, name) for name in hashed))


#: (object, thread) pairs whose repr is being written: a record that holds itself prints "..."
_IN_REPR: set[tuple[int, int]] = set()


def shared_repr(self: object) -> str:
    key = (id(self), get_ident())
    if key in _IN_REPR:
        return "..."
    _IN_REPR.add(key)
    try:
        shown = _names(type(self), "__record_shown__", lambda f: f.repr)
        return f"{type(self).__qualname__}({', '.join(f'{name}={getattr(self, name)!r}' for name in shown)})"
    finally:
        _IN_REPR.discard(key)


def _frozen(obj: object, name: str) -> bool:
    """Whether ``name`` of ``obj`` is fixed, as dataclasses' frozen guard decides: every attribute of
    a record, and a record's fields on a plain subclass of it (which may set attributes of its own)."""
    cls: type = type(obj)
    declared_here = "__dataclass_fields__" in cls.__dict__ or "_declared_fields" in cls.__dict__
    return declared_here or name in {f.name for f in fields(cls)}


def frozen_setattr(self: object, name: str, value: object) -> None:
    if _frozen(self, name):
        raise FrozenInstanceError(f"cannot assign to field {name!r}")
    object.__setattr__(self, name, value)


def frozen_delattr(self: object, name: str) -> None:
    if _frozen(self, name):
        raise FrozenInstanceError(f"cannot delete field {name!r}")
    object.__delattr__(self, name)


class _NoValue:
    """The default of a field with a ``default_factory``: "call the factory"."""

    def __repr__(self) -> str:
        return "<factory>"


_NO_VALUE = _NoValue()


def _write_init(cls: type) -> list[str]:
    """``cls.__init__(self, <fields>, *, <keyword-only fields>)`` as dataclasses writes it for a
    frozen class: each field set with ``object.__setattr__`` in declaration order (a default
    factory called when its field is not given), then ``self.__post_init__(<InitVars>)`` if there
    is one. Returns the names it takes. The generated names start ``__record_``, which no field may."""
    regular = {id(f) for f in fields(cls)}
    taken = [f for f in cls.__dataclass_fields__.values() if id(f) in regular or f._field_type is _INITVAR]  # type: ignore[attr-defined]
    this = "__record_self__" if any(f.name == "self" for f in taken) else "self"
    scope: dict[str, Any] = {"__record_set__": object.__setattr__, "__record_no_value__": _NO_VALUE}
    positional: list[str] = []
    keyword_only: list[str] = []
    initvars: list[str] = []
    body: list[str] = []
    for f in taken:
        if not f.name.isidentifier() or keyword.iskeyword(f.name) or f.name.startswith("__record_"):
            raise TypeError(f"{cls.__qualname__}: field name {f.name!r} is not an identifier a record takes")
        default = factory = ""
        if f.default is not MISSING:
            default = f"__record_default_{f.name}__"
            scope[default] = f.default
        elif f.default_factory is not MISSING:
            scope[f"__record_factory_{f.name}__"] = f.default_factory
            factory = f"__record_factory_{f.name}__()"
        if f.init:
            if not f.kw_only and positional and "=" in positional[-1] and not (default or factory):
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
            given = f.name + (f"={default}" if default else "=__record_no_value__" if factory else "")
            (keyword_only if f.kw_only else positional).append(given)
            value = f"{factory} if {f.name} is __record_no_value__ else {f.name}" if factory else f.name
        elif factory:
            value = factory
        else:
            continue  # init=False: the class attribute is the default, or __post_init__ sets it
        if id(f) in regular:
            body.append(f"    __record_set__({this}, {f.name!r}, {value})")
        else:
            initvars.append(f.name)  # an InitVar: only __post_init__ sees it
    if hasattr(cls, "__post_init__"):
        body.append(f"    {this}.__post_init__({', '.join(initvars)})")
    parameters = ", ".join([this, *positional, *(["*", *keyword_only] if keyword_only else [])])
    exec(f"def __init__({parameters}):\n" + ("\n".join(body) or "    pass"), scope)
    init = scope["__init__"]
    init.__annotations__ = {f.name: f.type for f in taken if f.init} | {"return": None}
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    type.__setattr__(cls, "__init__", init)
    return [f.name for f in taken if f.init]


def declare_record(cls: type, *, eq: bool = True, stand_in: object = None) -> None:
    """Make ``cls`` a frozen dataclass (what ``@record`` does; ``kind`` calls it on first use, and
    its ``__init__`` stand-in is written over)."""
    with DECLARING:
        _declare(cls, eq, stand_in)


def _declare(cls: type, eq: bool, stand_in: object) -> None:
    own = cls.__dict__
    docless = not own.get("__doc__")
    if docless:
        # dataclasses would write the doc from inspect.signature of the __init__ it has not got
        # (object's), which parses a signature string with tokenize: 3 ms the first time
        type.__setattr__(cls, "__doc__", "(written below)")
    # dataclasses reads the fields; it is told the class is not frozen (it would write the guards),
    # so the frozen bases are shown as not frozen meanwhile, and the class is marked frozen after
    for base in reversed(cls.__mro__[1:]):
        getattr(base, "__dataclass_fields__", None)  # declares a base kind not yet used
    bases = [b.__dict__["__dataclass_params__"] for b in cls.__mro__[1:] if "__dataclass_params__" in b.__dict__]
    if any(not params.frozen for params in bases):
        raise TypeError("cannot inherit frozen dataclass from a non-frozen one")
    try:
        for params in bases:
            params.frozen = False
        dataclass(init=False, eq=False, repr=False)(cls)
    finally:
        for params in bases:
            params.frozen = True
    params = own["__dataclass_params__"]
    params.init, params.repr, params.eq, params.frozen = True, True, eq, True
    taken = _write_init(cls) if "__init__" not in own or own["__init__"] is stand_in else None
    if docless:
        names = taken if taken is not None else [f.name for f in fields(cls) if f.init]
        type.__setattr__(cls, "__doc__", f"{cls.__name__}({', '.join(names)})")
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
