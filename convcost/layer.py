"""What a layer kind is: the declaration every kind makes once, and the registry of kinds.

A layer is a frozen dataclass of its fields. Its class declares, in one place (one module per kind
or small family, under ``convcost.layers``):

* its fields and their validation (``__post_init__``);
* ``output_shape(inputs)``: the shape one sample has after it (``GeometryError`` when it cannot apply);
* ``weights(site)``: every weight tensor it holds, with its shape, whether it is trained and whether
  a torch build keeps it as a buffer rather than a parameter;
* ``macs(site)``: its multiply-adds in the paper's convention (0 for layers the paper does not count);
* ``elementwise(site)``: the element-wise operations it performs (one per add, compare, scale, ...);
* its labels: ``category(site)`` (the report's *kind*: ``conv``, ``depthwise``, ``pointwise``, ...),
  ``type_stride(site)`` and ``filter_shape(site)`` (the paper's Table 1 columns).

A ``Site`` is where a layer is applied: the shapes of its inputs and of its output (per sample,
channels-first) and, for a node read from a framework, the ``Source`` it came from. Interpreters
(conventions, the reference executor, the framework builders) look kinds up in registries keyed by
the layer class; a kind an interpreter does not know is an ``InternalError``, never a zero.

Shapes are channels-first: a feature map is ``(C, H, W)``, a sequence ``(C, L)``, a vector ``(F,)``.
"""

from __future__ import annotations

import math
from dataclasses import field, fields
from typing import Any, ClassVar, Protocol, TypeVar, dataclass_transform, overload

from convcost.errors import MissingRuleError, SpecError
from convcost.record import (
    DECLARING,
    declare_record,
    frozen_delattr,
    frozen_setattr,
    record,
    shared_eq,
    shared_hash,
    shared_repr,
)

Pair = tuple[int, int]
ExplicitPadding = tuple[Pair, Pair]
Padding = str | ExplicitPadding
Shape = tuple[int, ...]


@record
class Source:
    """Where a node read from a framework came from, for the tool conventions that count by module.

    ``framework`` is ``torch``, ``keras`` or ``onnx``; ``path`` the module path or layer / node name
    in that framework; ``cls`` the class (``torch.nn.modules.conv.Conv2d``) or op type (``Conv``);
    ``op`` the operation recorded (``aten.convolution``); ``details`` anything else a tool's rule
    needs, as sorted ``(key, value)`` pairs so that a source stays hashable.
    """

    framework: str
    path: str = ""
    cls: str = ""
    op: str = ""
    details: tuple[tuple[str, Any], ...] = ()

    def detail(self, key: str, default: Any = None) -> Any:
        return dict(self.details).get(key, default)


@record
class Site:
    """A layer applied: its input shapes, its output shape (per sample) and where it was read from."""

    inputs: tuple[Shape, ...]
    output: Shape
    source: Source | None = None

    @property
    def input(self) -> Shape:
        """The first (usually the only) input."""
        return self.inputs[0]


@record
class Weight:
    """One weight tensor of a layer.

    ``trainable``: Keras trains it (BatchNorm's moving statistics are not trained).
    ``buffer``: a torch build keeps it as a buffer, which torch tools do not count as a parameter.
    """

    name: str
    shape: Shape
    trainable: bool = True
    buffer: bool = False

    @property
    def size(self) -> int:
        return math.prod(self.shape)


#: every concrete layer kind, by class name (the ``type`` of a spec file), in declaration order
LAYER_TYPES: dict[str, type[Layer]] = {}
#: every category (the report's "kind") in the order reports list them: the order kinds declare them
CATEGORIES: list[str] = []


class Windowed(Protocol):
    """A layer with a sliding window (a convolution): the report pairs depthwise and pointwise ones."""

    kernel: Pair
    stride: Pair


def describe(layer: object) -> str:
    """``Conv2D 'stem'``: how messages name a layer."""
    name = getattr(layer, "name", "")
    kind = type(layer).__name__
    return f"{kind} '{name}'" if name else kind


_Kind = TypeVar("_Kind")


class _KindType(type):
    """The metaclass of layer kinds: a kind becomes a dataclass the first time it is needed.

    Why: declaring a dataclass reads its annotations and compiles the ``__init__`` it writes, about
    0.2 ms per class; for 54 kinds that was a tenth of ``convcost table``, which builds six of them.
    So ``kind`` only marks a class, and ``_declare`` makes it a record when one is built or its
    fields are asked for (``dataclasses.fields``, ``replace``, a serialiser), bases first.
    ``__dataclass_fields__`` is a data descriptor here, so it wins over the inherited class attribute
    and a kind's fields are never its base's by mistake.
    """

    @property
    def __dataclass_fields__(cls) -> dict[str, Any]:
        for klass in cls.__mro__:
            own = klass.__dict__
            if own.get("_undeclared"):
                with DECLARING:  # another thread may be declaring it: wait for the whole of it
                    if own.get("_undeclared") and "_declared_fields" not in own:
                        _declare(klass)
            if "_declared_fields" in own:
                declared: dict[str, Any] = own["_declared_fields"]
                return declared
        raise AttributeError("__dataclass_fields__")

    @__dataclass_fields__.setter
    def __dataclass_fields__(cls, declared: dict[str, Any]) -> None:
        type.__setattr__(cls, "_declared_fields", declared)

    @property
    def __signature__(cls) -> None:
        """inspect.signature (help, IDEs) asks this first: declare the kind so it reads the real __init__."""
        cls.__dataclass_fields__  # noqa: B018 (declares the kind)
        return None


def _declare(cls: type) -> None:
    """Make a marked kind the record ``kind`` promised (its bases first, through their fields).
    The stand-in ``__init__`` is replaced in one step and the mark goes last, so that a thread
    that finds the kind marked waits for ``DECLARING`` and one that finds it unmarked finds it whole."""
    declare_record(cls, stand_in=_first_init)
    type.__delattr__(cls, "_undeclared")


def _first_init(self: Any, *args: Any, **kwargs: Any) -> None:
    """A kind's ``__init__`` until it is declared: declare it (and its bases), then build."""
    cls = type(self)
    cls.__dataclass_fields__  # noqa: B018 (declares every undeclared kind in the class's bases)
    cls.__init__(self, *args, **kwargs)


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def kind(cls: type[_Kind]) -> type[_Kind]:
    """Declare a layer kind: a frozen dataclass (a ``convcost.record``) that compares, hashes and
    prints by its fields, declared when the kind is first used (``_KindType``)."""
    type.__setattr__(cls, "_undeclared", True)
    type.__setattr__(cls, "__init__", _first_init)
    return cls


@kind
class Layer(metaclass=_KindType):
    """Base of every layer kind. ``name`` may be left empty: the builders name it, as Keras does.

    ``trainable=False`` freezes the layer (Keras' ``layer.trainable = False``): its weights count as
    non-trainable.
    """

    name: str = field(default="", kw_only=True)
    trainable: bool = field(default=True, kw_only=True)

    #: the prefix used when a builder invents a name (conv2d, conv2d_1, dense_2, ...)
    default_prefix: ClassVar[str] = "layer"
    #: the categories this kind may report, in the order reports list them
    categories: ClassVar[tuple[str, ...]] = ()
    #: the paper's convention counts this kind's weights (convolutions and fully-connected layers)
    counts_in_paper: ClassVar[bool] = False
    #: at inference the layer reads its inputs and weights and writes a new output (convcost.traffic);
    #: False for a view or an identity at inference (Flatten, Reshape, Dropout, Identity), which moves no data
    moves_data: ClassVar[bool] = True
    #: how many inputs the layer takes: merges take two or more (``max_inputs`` None: no limit)
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__name__.startswith("_"):
            return  # a shared base (``_Pool``): not a kind of its own
        LAYER_TYPES[cls.__name__] = cls
        for category in cls.categories:
            if category not in CATEGORIES:
                CATEGORIES.append(category)

    @property
    def __dataclass_fields__(self) -> dict[str, Any]:  # a layer's fields are its kind's (_KindType)
        return type(self).__dataclass_fields__

    # the record's shared methods, here too so that a layer unpickled before its kind is declared
    # already compares, hashes, prints and freezes as one; and unpickling declares the kind
    __eq__ = shared_eq
    __hash__ = shared_hash
    __repr__ = shared_repr
    __setattr__ = frozen_setattr
    __delattr__ = frozen_delattr

    def __setstate__(self, state: dict[str, Any]) -> None:
        type(self).__dataclass_fields__  # noqa: B018 (declares the kind)
        self.__dict__.update(state)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise SpecError(f"{type(self).__name__}: name must be a string, got {self.name!r}")
        for f in fields(self):
            # a flag read from a file may hold anything (3, "no", NaN): only true or false mean something
            if f.type == "bool" and not isinstance(getattr(self, f.name), bool):
                raise SpecError(f"{describe(self)}: {f.name} must be true or false, got {getattr(self, f.name)!r}")

    # ------------------------------------------------------------------ the declaration

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        """The shape of one sample after this layer; ``GeometryError`` when it cannot apply."""
        raise MissingRuleError(f"{type(self).__name__} declares no shape rule")

    def weights(self, site: Site) -> tuple[Weight, ...]:
        """Every weight tensor the layer holds (a kind without weights says so: ``return ()``)."""
        raise MissingRuleError(f"{type(self).__name__} declares no weights (not even none)")

    def macs(self, site: Site) -> int:
        """Multiply-adds in the paper's convention, one sample (0: the paper does not count the layer)."""
        return 0

    def elementwise(self, site: Site) -> int:
        """Element-wise operations of one sample (adds, scales, compares): what FLOPs add beyond 2 x MACs."""
        raise MissingRuleError(f"{type(self).__name__} declares no element-wise count")

    def category(self, site: Site) -> str:
        """The report's kind of this layer (most kinds have one; a Conv2D may be depthwise or pointwise)."""
        if len(self.categories) != 1:
            raise MissingRuleError(f"{type(self).__name__} must say which of {self.categories} it is")
        return self.categories[0]

    def type_stride(self, site: Site) -> str:
        """The paper's Table 1 "Type / Stride" column."""
        raise MissingRuleError(f"{type(self).__name__} declares no Type / Stride label")

    def filter_shape(self, site: Site) -> str:
        """The paper's Table 1 "Filter Shape" column (empty for layers without a filter)."""
        return ""


# ---------------------------------------------------------------------- field validation


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def set_field(layer: object, name: str, value: object) -> None:
    """Normalise a field of a frozen layer in ``__post_init__``."""
    object.__setattr__(layer, name, value)


def positive_int(layer: object, field_name: str, value: object) -> int:
    if not is_int(value) or value < 1:  # type: ignore[operator]
        raise SpecError(f"{describe(layer)}: {field_name} must be a positive integer, got {value!r}")
    return value  # type: ignore[return-value]


def non_negative_int(layer: object, field_name: str, value: object) -> int:
    if not is_int(value) or value < 0:  # type: ignore[operator]
        raise SpecError(f"{describe(layer)}: {field_name} must be a non-negative integer, got {value!r}")
    return value  # type: ignore[return-value]


def positive_pair(layer: object, field_name: str, value: object) -> Pair:
    """An int or an ``(h, w)`` pair of positive ints, as a pair."""
    if is_int(value):
        value = (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise SpecError(f"{describe(layer)}: {field_name} must be a positive integer or a pair of them, got {value!r}")
    return (positive_int(layer, field_name, value[0]), positive_int(layer, field_name, value[1]))


def padding_field(layer: object, value: object) -> Padding:
    """``'same'``, ``'valid'``, ``p``, ``(ph, pw)`` or ``((top, bottom), (left, right))``; explicit as the last."""
    if isinstance(value, str):
        if value not in ("same", "valid"):
            raise SpecError(f"{describe(layer)}: padding must be 'same', 'valid' or integers, got {value!r}")
        return value
    explicit = explicit_padding_field(value)
    if explicit is None:
        raise SpecError(
            f"{describe(layer)}: padding must be 'same', 'valid', p, (ph, pw) or "
            f"((top, bottom), (left, right)) with non-negative integers, got {value!r}"
        )
    return explicit


def explicit_padding_field(value: object) -> ExplicitPadding | None:
    """``p``, ``(ph, pw)`` or ``((top, bottom), (left, right))`` as the last form, or None if malformed."""
    if is_int(value):
        value = (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return None
    sides: list[Pair] = []
    for side in value:
        if is_int(side):
            side = (side, side)
        if not isinstance(side, (tuple, list)) or len(side) != 2 or not all(is_int(p) and p >= 0 for p in side):
            return None
        sides.append((side[0], side[1]))
    return (sides[0], sides[1])


def shape_field(layer: object, field_name: str, value: object) -> Shape:
    """A non-empty tuple of positive ints."""
    if not isinstance(value, (tuple, list)) or not value or not all(is_int(d) and d > 0 for d in value):
        raise SpecError(f"{describe(layer)}: {field_name} must be a non-empty list of positive integers, got {value!r}")
    return tuple(value)


def number_field(layer: object, field_name: str, value: object) -> float:
    """A finite int or float (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SpecError(f"{describe(layer)}: {field_name} must be a finite number, got {value!r}")
    return value


class PairField:
    """A window field (kernel, stride, dilation, pool size): given as an int or ``(h, w)``, stored and
    typed as a pair of positive ints. ``None`` (allowed when ``optional``) is left for the layer's
    ``__post_init__`` to fill in (a pool's stride defaults to its pool size)."""

    def __init__(self, default: int | Pair | None, *, optional: bool = False) -> None:
        self.default = default
        self.optional = optional

    def __set_name__(self, owner: type, name: str) -> None:
        self.public = name
        self.private = f"_{name}"

    @overload
    def __get__(self, layer: None, owner: Any) -> int | Pair | None: ...
    @overload
    def __get__(self, layer: object, owner: Any) -> Pair: ...
    def __get__(self, layer: object | None, owner: Any) -> int | Pair | None:
        if layer is None:  # the dataclass asks the class for the default
            return self.default
        value: Pair = getattr(layer, self.private)
        return value

    def __set__(self, layer: object, value: int | Pair | None) -> None:
        if value is None and self.optional:
            object.__setattr__(layer, self.private, None)
            return
        object.__setattr__(layer, self.private, positive_pair(layer, self.public, value))


class PaddingField:
    """A padding field: ``'same'``, ``'valid'``, ``p``, ``(ph, pw)`` or ``((top, bottom), (left, right))``,
    stored as ``'same'``, ``'valid'`` or the last form. ``explicit_only`` refuses the strings."""

    def __init__(self, default: str | int | Pair | ExplicitPadding, *, explicit_only: bool = False) -> None:
        self.default = default
        self.explicit_only = explicit_only

    def __set_name__(self, owner: type, name: str) -> None:
        self.public = name
        self.private = f"_{name}"

    @overload
    def __get__(self, layer: None, owner: Any) -> str | int | Pair | ExplicitPadding: ...
    @overload
    def __get__(self, layer: object, owner: Any) -> Padding: ...
    def __get__(self, layer: object | None, owner: Any) -> str | int | Pair | ExplicitPadding:
        if layer is None:
            return self.default
        value: Padding = getattr(layer, self.private)
        return value

    def __set__(self, layer: object, value: str | int | Pair | ExplicitPadding) -> None:
        padding = padding_field(layer, value)
        if self.explicit_only and isinstance(padding, str):
            raise SpecError(f"{describe(layer)}: {self.public} must be integers, got {padding!r}")
        object.__setattr__(layer, self.private, padding)


def elements(shape: Shape) -> int:
    """Number of values in one sample of this shape."""
    return math.prod(shape)


def field_names(layer: Layer) -> list[str]:
    """The fields that describe a layer (for serialisers and renderers)."""
    return [f.name for f in fields(layer)]


# ---------------------------------------------------------------------- one spatial axis
# (issue 12, family B: the padding of 1-D convolutions and pooling)

#: ``'same'``, ``'valid'`` or ``(left, right)``
Padding1D = str | Pair


def padding1d_field(layer: object, value: object, modes: tuple[str, ...] = ("same", "valid")) -> Padding1D:
    """``'same'``, ``'valid'`` (or another of ``modes``), ``p`` or ``(left, right)``; explicit as the last."""
    if isinstance(value, str):
        if value not in modes:
            raise SpecError(
                f"{describe(layer)}: padding must be {', '.join(map(repr, modes))} or integers, got {value!r}"
            )
        return value
    if is_int(value):
        value = (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(is_int(p) and p >= 0 for p in value):
        raise SpecError(
            f"{describe(layer)}: padding must be {', '.join(map(repr, modes))}, p or (left, right) with "
            f"non-negative integers, got {value!r}"
        )
    return (value[0], value[1])


class Padding1DField:
    """The padding of a 1-D layer: ``'same'``, ``'valid'``, ``p`` or ``(left, right)``, stored as
    ``'same'``, ``'valid'`` or ``(left, right)``. ``causal`` also takes Keras' ``'causal'`` (the
    layer turns it into ``(dilation * (kernel - 1), 0)``)."""

    def __init__(self, default: str | int | Pair, *, causal: bool = False) -> None:
        self.default = default
        self.modes = ("same", "valid", "causal") if causal else ("same", "valid")

    def __set_name__(self, owner: type, name: str) -> None:
        self.public = name
        self.private = f"_{name}"

    @overload
    def __get__(self, layer: None, owner: Any) -> str | int | Pair: ...
    @overload
    def __get__(self, layer: object, owner: Any) -> Padding1D: ...
    def __get__(self, layer: object | None, owner: Any) -> str | int | Pair:
        if layer is None:
            return self.default
        value: Padding1D = getattr(layer, self.private)
        return value

    def __set__(self, layer: object, value: str | int | Pair) -> None:
        object.__setattr__(layer, self.private, padding1d_field(layer, value, self.modes))
