"""A network is data: a tree of frozen layer dataclasses.

Every interpreter (shapes, closed-form cost, NumPy reference, framework interop) reads these same
objects. Nothing here computes a cost or imports a numeric library.

Conventions shared by all layers:

* shapes are channels-first: a feature map is ``(C, H, W)``, a flat vector ``(features,)``;
* ``kernel``, ``stride`` and ``dilation`` take an int or an ``(h, w)`` pair and are stored as pairs;
* ``padding`` is ``"same"`` (Keras: output ``ceil(in / stride)``, any odd pixel of padding at the
  bottom/right), ``"valid"`` (no padding), an int ``p`` or pair ``(ph, pw)`` (torch-style,
  symmetric), or ``((top, bottom), (left, right))``; explicit padding is stored in the last form.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar

from convcost.errors import SpecError

Pair = tuple[int, int]
ExplicitPadding = tuple[Pair, Pair]
Padding = str | ExplicitPadding
Shape = tuple[int, ...]

ACTIVATIONS = frozenset(
    {
        "linear",
        "relu",
        "relu6",
        "leaky_relu",
        "elu",
        "selu",
        "gelu",
        "silu",
        "swish",
        "hard_swish",
        "hard_sigmoid",
        "sigmoid",
        "tanh",
        "softplus",
        "softmax",
    }
)


def _describe(layer: object) -> str:
    name = getattr(layer, "name", "")
    kind = type(layer).__name__
    return f"{kind} '{name}'" if name else kind


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive_int(layer: object, field_name: str, value: object) -> int:
    if not _is_int(value) or value < 1:  # type: ignore[operator]
        raise SpecError(f"{_describe(layer)}: {field_name} must be a positive integer, got {value!r}")
    return value  # type: ignore[return-value]


def _positive_pair(layer: object, field_name: str, value: object) -> Pair:
    if _is_int(value):
        value = (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise SpecError(f"{_describe(layer)}: {field_name} must be a positive integer or a pair of them, got {value!r}")
    h = _positive_int(layer, field_name, value[0])
    w = _positive_int(layer, field_name, value[1])
    return (h, w)


def _padding(layer: object, value: object) -> Padding:
    if isinstance(value, str):
        if value not in ("same", "valid"):
            raise SpecError(f"{_describe(layer)}: padding must be 'same', 'valid' or integers, got {value!r}")
        return value
    if _is_int(value):
        value = (value, value)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        sides: list[Pair] = []
        for side in value:
            if _is_int(side):
                side = (side, side)
            if not isinstance(side, (tuple, list)) or len(side) != 2 or not all(_is_int(p) and p >= 0 for p in side):
                break
            sides.append((side[0], side[1]))
        else:
            return (sides[0], sides[1])
    raise SpecError(
        f"{_describe(layer)}: padding must be 'same', 'valid', p, (ph, pw) or "
        f"((top, bottom), (left, right)) with non-negative integers, got {value!r}"
    )


def _set(layer: object, name: str, value: object) -> None:
    object.__setattr__(layer, name, value)


#: the fields of a sliding window, each an int or an (h, w) pair
WINDOW = ("kernel", "stride", "dilation")


def _normalise(layer: Any, ints: tuple[str, ...] = (), pairs: tuple[str, ...] = (), padding: bool = False) -> None:
    """Validate fields in place: ``ints`` positive, ``pairs`` stored as (h, w), padding normalised."""
    for name in ints:
        _set(layer, name, _positive_int(layer, name, getattr(layer, name)))
    for name in pairs:
        _set(layer, name, _positive_pair(layer, name, getattr(layer, name)))
    if padding:
        _set(layer, "padding", _padding(layer, layer.padding))


@dataclass(frozen=True)
class Layer:
    """Base of every layer. ``name`` may be left empty: ``Sequential`` names it."""

    name: str = field(default="", kw_only=True)
    #: the prefix used when ``Sequential`` invents a name, as Keras does (conv2d_1, dense_2, ...)
    default_prefix: ClassVar[str] = "layer"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise SpecError(f"{type(self).__name__}: name must be a string, got {self.name!r}")
        for f in fields(self):
            # a flag read from a file may hold anything (3, "no", NaN): only true or false mean something
            if f.type == "bool" and not isinstance(getattr(self, f.name), bool):
                raise SpecError(f"{_describe(self)}: {f.name} must be true or false, got {getattr(self, f.name)!r}")


@dataclass(frozen=True)
class Conv2D(Layer):
    """A 2-D convolution; ``groups`` > 1 makes it grouped (``groups == C_in`` is depthwise)."""

    filters: int
    kernel: Pair | int = 3
    stride: Pair | int = 1
    padding: Padding | int | Pair = "valid"
    dilation: Pair | int = 1
    groups: int = 1
    bias: bool = True
    default_prefix: ClassVar[str] = "conv2d"

    def __post_init__(self) -> None:
        super().__post_init__()
        _normalise(self, ints=("filters", "groups"), pairs=WINDOW, padding=True)
        if self.filters % self.groups:
            raise SpecError(f"{_describe(self)}: filters ({self.filters}) must be divisible by groups ({self.groups})")


@dataclass(frozen=True)
class DepthwiseConv2D(Layer):
    """One ``kernel`` filter per input channel (``depth_multiplier`` of them), no channel mixing."""

    kernel: Pair | int = 3
    stride: Pair | int = 1
    padding: Padding | int | Pair = "valid"
    depth_multiplier: int = 1
    dilation: Pair | int = 1
    bias: bool = True
    default_prefix: ClassVar[str] = "depthwise_conv2d"

    def __post_init__(self) -> None:
        super().__post_init__()
        _normalise(self, ints=("depth_multiplier",), pairs=WINDOW, padding=True)


@dataclass(frozen=True)
class SeparableConv2D(Layer):
    """Keras ``SeparableConv2D``: a depthwise conv then a 1x1 conv, one bias (on the output)."""

    filters: int
    kernel: Pair | int = 3
    stride: Pair | int = 1
    padding: Padding | int | Pair = "valid"
    depth_multiplier: int = 1
    dilation: Pair | int = 1
    bias: bool = True
    default_prefix: ClassVar[str] = "separable_conv2d"

    def __post_init__(self) -> None:
        super().__post_init__()
        _normalise(self, ints=("filters", "depth_multiplier"), pairs=WINDOW, padding=True)


@dataclass(frozen=True)
class Dense(Layer):
    """Fully connected. On a feature map it acts on the channels of every pixel, as Keras does."""

    units: int
    bias: bool = True
    default_prefix: ClassVar[str] = "dense"

    def __post_init__(self) -> None:
        super().__post_init__()
        _normalise(self, ints=("units",))


@dataclass(frozen=True)
class BatchNorm(Layer):
    """Batch normalisation over channels: gamma (``scale``), beta (``center``), moving mean and variance."""

    center: bool = True
    scale: bool = True
    default_prefix: ClassVar[str] = "batch_normalization"


@dataclass(frozen=True)
class Activation(Layer):
    """An element-wise non-linearity (or softmax over channels)."""

    function: str = "relu"
    default_prefix: ClassVar[str] = "activation"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.function not in ACTIVATIONS:
            raise SpecError(
                f"{_describe(self)}: unknown activation {self.function!r}; known: {', '.join(sorted(ACTIVATIONS))}"
            )


@dataclass(frozen=True)
class _Pool2D(Layer):
    pool: Pair | int = 2
    stride: Pair | int | None = None  # None: the pool size, as in Keras and torch
    padding: Padding | int | Pair = "valid"

    def __post_init__(self) -> None:
        super().__post_init__()
        _set(self, "pool", _positive_pair(self, "pool", self.pool))
        stride = self.pool if self.stride is None else self.stride
        _set(self, "stride", _positive_pair(self, "stride", stride))
        _set(self, "padding", _padding(self, self.padding))


@dataclass(frozen=True)
class MaxPool2D(_Pool2D):
    """Max pooling over ``pool`` windows."""

    default_prefix: ClassVar[str] = "max_pooling2d"


@dataclass(frozen=True)
class AvgPool2D(_Pool2D):
    """Average pooling over ``pool`` windows (Keras ``same`` excludes the padding from the mean)."""

    default_prefix: ClassVar[str] = "average_pooling2d"


@dataclass(frozen=True)
class GlobalAvgPool2D(Layer):
    """Mean over the whole map: ``(C, H, W) -> (C,)``, or ``(C, 1, 1)`` with ``keepdims``."""

    keepdims: bool = False
    default_prefix: ClassVar[str] = "global_average_pooling2d"


@dataclass(frozen=True)
class Flatten(Layer):
    """``(C, H, W) -> (C * H * W,)``."""

    default_prefix: ClassVar[str] = "flatten"


@dataclass(frozen=True)
class Dropout(Layer):
    """Identity at inference; kept so a spec mirrors the network it came from."""

    rate: float = 0.5
    default_prefix: ClassVar[str] = "dropout"

    def __post_init__(self) -> None:
        super().__post_init__()
        rate = self.rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise SpecError(f"{_describe(self)}: rate must be a number in [0, 1), got {rate!r}")


@dataclass(frozen=True)
class Reshape(Layer):
    """Reshape to ``target`` (channels-first), keeping the element count."""

    target: tuple[int, ...] = ()
    default_prefix: ClassVar[str] = "reshape"

    def __post_init__(self) -> None:
        super().__post_init__()
        target = self.target
        if not isinstance(target, (tuple, list)) or not target or not all(_is_int(d) and d > 0 for d in target):
            raise SpecError(f"{_describe(self)}: target must be a non-empty list of positive integers, got {target!r}")
        _set(self, "target", tuple(target))


@dataclass(frozen=True)
class ZeroPadding2D(Layer):
    """Pads the map with zeros: ``p``, ``(ph, pw)`` or ``((top, bottom), (left, right))``."""

    padding: ExplicitPadding | int | Pair = 1
    default_prefix: ClassVar[str] = "zero_padding2d"

    def __post_init__(self) -> None:
        super().__post_init__()
        padding = _padding(self, self.padding)
        if isinstance(padding, str):
            raise SpecError(f"{_describe(self)}: padding must be integers, got {padding!r}")
        _set(self, "padding", padding)


@dataclass(frozen=True)
class Sequential(Layer):
    """Layers applied one after another; may nest (a block). Names are unique within the whole tree."""

    layers: tuple[Layer, ...] = ()
    default_prefix: ClassVar[str] = "sequential"

    def __post_init__(self) -> None:
        super().__post_init__()
        layers = tuple(self.layers)
        for layer in layers:
            if not isinstance(layer, Layer):
                raise SpecError(f"{_describe(self)}: expected layers, got {layer!r}")
        _set(self, "layers", _named(layers))
        _check_unique_names(self.layers, self)

    def walk(self, prefix: str = "") -> Iterator[tuple[str, Layer]]:
        """Yield ``(path, layer)`` for every leaf in order (a ``Parallel``: its branches, then its merge)."""
        for layer in self.layers:
            path = f"{prefix}{layer.name}"
            if isinstance(layer, Sequential):
                yield from layer.walk(path + "/")
            elif isinstance(layer, Parallel):
                for branch in layer.branches:
                    yield from branch.walk(f"{path}/{branch.name}/")
                yield path, layer.merge_layer()
            else:
                yield path, layer


@dataclass(frozen=True)
class Add(Layer):
    """Element-wise sum of parallel branches (the merge row of a ``Parallel(merge='add')``)."""

    default_prefix: ClassVar[str] = "add"


@dataclass(frozen=True)
class Concat(Layer):
    """Concatenation of parallel branches along channels (the merge row of ``Parallel(merge='concat')``)."""

    default_prefix: ClassVar[str] = "concatenate"


MERGES: dict[str, type[Layer]] = {"add": Add, "concat": Concat}


@dataclass(frozen=True)
class Parallel(Layer):
    """Branches that all read the same input, merged by ``'add'`` (residual) or ``'concat'`` (Inception).

    An empty branch is the identity: ``Parallel((Sequential(body), Sequential()), merge="add")`` is
    a residual block whose shortcut holds no layers. Rows are reported as
    ``<parallel>/<branch>/<layer>`` and the merge itself as one row named after the ``Parallel``.
    """

    branches: tuple[Sequential, ...] = ()
    merge: str = "add"
    default_prefix: ClassVar[str] = "parallel"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.merge not in MERGES:
            raise SpecError(f"{_describe(self)}: merge must be 'add' or 'concat', got {self.merge!r}")
        branches = tuple(b if isinstance(b, Sequential) else Sequential(layers=tuple(b)) for b in self.branches)
        if len(branches) < 2:
            raise SpecError(f"{_describe(self)}: needs at least two branches, got {len(branches)}")
        named = tuple(b if b.name else replace(b, name=f"branch_{i}") for i, b in enumerate(branches))
        _set(self, "branches", named)
        _check_unique_names(self.branches, self)

    def merge_layer(self) -> Layer:
        """The leaf that stands for the merge in reports and executors."""
        return MERGES[self.merge](name=self.name)


def _named(layers: tuple[Layer, ...]) -> tuple[Layer, ...]:
    """Give unnamed layers Keras-style names (conv2d, conv2d_1, ...) that do not clash."""
    taken = {layer.name for layer in layers if layer.name}
    counters: dict[str, int] = {}
    named = []
    for layer in layers:
        if not layer.name:
            prefix = layer.default_prefix
            while True:
                n = counters.get(prefix, 0)
                counters[prefix] = n + 1
                candidate = prefix if n == 0 else f"{prefix}_{n}"
                if candidate not in taken:
                    break
            taken.add(candidate)
            layer = replace(layer, name=candidate)
        named.append(layer)
    return tuple(named)


def _check_unique_names(layers: tuple[Layer, ...], container: Layer) -> None:
    seen: set[str] = set()
    for layer in layers:
        if layer.name in seen:
            raise SpecError(f"{_describe(container)}: duplicate layer name {layer.name!r}")
        seen.add(layer.name)


@dataclass(frozen=True)
class Model:
    """A network and the input it is costed for: ``input`` is ``(C, H, W)`` (or ``(features,)``)."""

    name: str
    input: Shape
    body: Sequential
    batch: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SpecError(f"model name must be a non-empty string, got {self.name!r}")
        shape = self.input
        if not isinstance(shape, (tuple, list)) or not shape or not all(_is_int(d) and d > 0 for d in shape):
            raise SpecError(f"model '{self.name}': input must be positive integers (C, H, W), got {shape!r}")
        object.__setattr__(self, "input", tuple(shape))
        if not isinstance(self.body, Sequential):
            object.__setattr__(self, "body", Sequential(layers=tuple(self.body)))
        if not _is_int(self.batch) or self.batch < 1:
            raise SpecError(f"model '{self.name}': batch must be a positive integer, got {self.batch!r}")

    def with_batch(self, batch: int) -> Model:
        return replace(self, batch=batch)

    def layers(self) -> Iterator[tuple[str, Layer]]:
        """Every leaf layer with its path, in execution order."""
        return self.body.walk()


def field_names(layer: Layer) -> list[str]:
    """The fields that describe a layer (for serialisers and renderers)."""
    return [f.name for f in fields(layer)]


def elements(shape: Shape) -> int:
    """Number of values in one sample of this shape."""
    return math.prod(shape)
