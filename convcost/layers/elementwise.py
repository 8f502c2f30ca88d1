"""Element-wise kinds (issue 12, family A): merges that broadcast, arithmetic with a constant,
preprocessing, learned per-channel scales, PReLU, and the layers that are the identity at inference.

None of them multiplies a weight matrix, so the paper counts no multiply-adds for any of them;
``elementwise`` says how many operations each performs (for FLOPs), and their weights are what
Keras and torch hold: Normalization's statistics are not trained (torch buffers), LayerScale's and
PReLU's are.

Axes are per sample and channels-first, as every shape in convcost: axis 0 is the channel axis of
a ``(C, H, W)`` map (Keras' last axis); negative axes count from the end.
"""

from __future__ import annotations

import math
from typing import ClassVar

from convcost.errors import GeometryError, SpecError
from convcost.layer import Layer, Shape, Site, Weight, describe, elements, is_int, kind, number_field, set_field
from convcost.layers.merge import broadcast_shape, folded_operations

#: a constant operand: one number, or one per channel
Values = float | tuple[float, ...]


def _values(layer: Layer, field_name: str, value: object) -> Values:
    """A finite number, or a non-empty list of them (stored as a tuple)."""
    if isinstance(value, (tuple, list)):
        if not value:
            raise SpecError(f"{describe(layer)}: {field_name} must be a number or a non-empty list of numbers")
        return tuple(number_field(layer, field_name, v) for v in value)
    return number_field(layer, field_name, value)


def _per_channel(layer: Layer, field_name: str, value: Values, size: int) -> None:
    """A list of constants must have one per channel (or be a single value, which broadcasts)."""
    if isinstance(value, tuple) and len(value) not in (1, size):
        raise GeometryError(
            f"layer '{layer.name}': {field_name} has {len(value)} values for an axis of {size} "
            "(one per channel, or one)"
        )


def _axis(layer: Layer, axis: int, shape: Shape) -> int:
    """``axis`` of a per-sample shape as a non-negative index (GeometryError when out of range)."""
    if not -len(shape) <= axis < len(shape):
        raise GeometryError(f"layer '{layer.name}': axis {axis} is out of range for an input of shape {list(shape)}")
    return axis % len(shape)


def _number(value: float) -> str:
    """``3``, ``0.166667``, ``255``: a constant as a label shows it."""
    return f"{value:g}"


# ---------------------------------------------------------------------------------------- merges


@kind
class _Broadcasting(Layer):
    """A merge of two or more tensors, value by value, broadcasting sizes of 1 (``broadcast_shape``)."""

    #: how messages say the operation ("cannot multiply inputs of different shapes")
    verb: ClassVar[str] = ""
    label: ClassVar[str] = ""
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = None

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return broadcast_shape(self, self.verb, inputs)

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        """One operation per value of each partial result, left to right."""
        return folded_operations(site.inputs)

    def type_stride(self, site: Site) -> str:
        return self.label


@kind
class Multiply(_Broadcasting):
    """The product of two or more tensors: squeeze-excite's ``x * gate``, swish written ``x * sigmoid(x)``."""

    verb: ClassVar[str] = "multiply"
    label: ClassVar[str] = "Multiply"
    default_prefix: ClassVar[str] = "multiply"
    categories: ClassVar[tuple[str, ...]] = ("multiply",)


@kind
class Subtract(_Broadcasting):
    """``a - b`` (Keras' Subtract takes exactly two tensors)."""

    verb: ClassVar[str] = "subtract"
    label: ClassVar[str] = "Subtract"
    default_prefix: ClassVar[str] = "subtract"
    categories: ClassVar[tuple[str, ...]] = ("subtract",)
    max_inputs: ClassVar[int | None] = 2


@kind
class Divide(_Broadcasting):
    """``a / b``."""

    verb: ClassVar[str] = "divide"
    label: ClassVar[str] = "Divide"
    default_prefix: ClassVar[str] = "divide"
    categories: ClassVar[tuple[str, ...]] = ("divide",)
    max_inputs: ClassVar[int | None] = 2


@kind
class Maximum(_Broadcasting):
    """The larger value of two or more tensors, at every position."""

    verb: ClassVar[str] = "take the maximum of"
    label: ClassVar[str] = "Maximum"
    default_prefix: ClassVar[str] = "maximum"
    categories: ClassVar[tuple[str, ...]] = ("maximum",)


@kind
class Minimum(_Broadcasting):
    """The smaller value of two or more tensors, at every position."""

    verb: ClassVar[str] = "take the minimum of"
    label: ClassVar[str] = "Minimum"
    default_prefix: ClassVar[str] = "minimum"
    categories: ClassVar[tuple[str, ...]] = ("minimum",)


@kind
class Average(_Broadcasting):
    """The mean of two or more tensors: their sum, then one division per value."""

    verb: ClassVar[str] = "average"
    label: ClassVar[str] = "Average"
    default_prefix: ClassVar[str] = "average"
    categories: ClassVar[tuple[str, ...]] = ("average",)

    def elementwise(self, site: Site) -> int:
        """The adds of the sum, left to right, and one division per output value."""
        return folded_operations(site.inputs) + elements(site.output)


# ---------------------------------------------------------------------------------------- a constant

#: ScalarOp's operations and how a label writes them (``{x}`` the tensor, ``{c}`` the constant)
SCALAR_OPS = {
    "add": "x + {c}",
    "subtract": "x - {c}",
    "rsubtract": "{c} - x",
    "multiply": "x * {c}",
    "divide": "x / {c}",
    "rdivide": "{c} / x",
    "power": "x ** {c}",
    "maximum": "max(x, {c})",
    "minimum": "min(x, {c})",
}


@kind
class ScalarOp(Layer):
    """One tensor and a constant: ``x + 3``, ``x * (1/6)``, ``x / 255``, ``1 - x`` (hard-swish written out,
    TF-style preprocessing). ``rsubtract`` and ``rdivide`` put the constant first: ``c - x``, ``c / x``."""

    op: str
    value: float

    default_prefix: ClassVar[str] = "scalar_op"
    categories: ClassVar[tuple[str, ...]] = ("arithmetic",)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.op not in SCALAR_OPS:
            raise SpecError(f"{describe(self)}: op must be one of {', '.join(SCALAR_OPS)}, got {self.op!r}")
        set_field(self, "value", number_field(self, "value", self.value))
        if self.op == "divide" and self.value == 0:
            raise SpecError(f"{describe(self)}: divides by zero")

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return inputs[0]

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        return elements(site.input)

    def type_stride(self, site: Site) -> str:
        return SCALAR_OPS[self.op].format(c=_number(self.value))


# ---------------------------------------------------------------------------------------- preprocessing


@kind
class Rescaling(Layer):
    """Keras ``Rescaling``: ``x * scale + offset``; each a number or one per channel (EfficientNet with
    ImageNet weights scales each channel by its own standard deviation)."""

    scale: Values = 1.0
    offset: Values = 0.0

    default_prefix: ClassVar[str] = "rescaling"
    categories: ClassVar[tuple[str, ...]] = ("preprocessing",)

    def __post_init__(self) -> None:
        super().__post_init__()
        set_field(self, "scale", _values(self, "scale", self.scale))
        set_field(self, "offset", _values(self, "offset", self.offset))

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        shape = inputs[0]
        _per_channel(self, "scale", self.scale, shape[0])
        _per_channel(self, "offset", self.offset, shape[0])
        return shape

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()  # constants of the layer's config, not weights

    def elementwise(self, site: Site) -> int:
        """A multiply and an add per value (Keras computes both, whatever the offset)."""
        return 2 * elements(site.input)

    def type_stride(self, site: Site) -> str:
        return "Rescaling"


@kind
class Normalization(Layer):
    """Keras ``Normalization``: ``(x - mean) / sqrt(variance)`` along ``axis`` (``invert``: the way back,
    ``x * sqrt(variance) + mean``). Without ``mean`` and ``variance`` the layer holds them as weights,
    with a sample ``count``, none of them trained (torch buffers); given, they are constants."""

    axis: int = 0
    mean: Values | None = None
    variance: Values | None = None
    invert: bool = False

    default_prefix: ClassVar[str] = "normalization"
    categories: ClassVar[tuple[str, ...]] = ("preprocessing",)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not is_int(self.axis):
            raise SpecError(f"{describe(self)}: axis must be an integer, got {self.axis!r}")
        if (self.mean is None) != (self.variance is None):
            raise SpecError(f"{describe(self)}: give both mean and variance, or neither (then they are weights)")
        if self.mean is not None and self.variance is not None:
            set_field(self, "mean", _values(self, "mean", self.mean))
            variance = _values(self, "variance", self.variance)
            if any(v < 0 for v in (variance if isinstance(variance, tuple) else (variance,))):
                raise SpecError(f"{describe(self)}: variance must not be negative, got {self.variance!r}")
            set_field(self, "variance", variance)

    @property
    def adapted(self) -> bool:
        """The statistics are in the config (constants), not weights of the layer."""
        return self.mean is not None

    def size(self, shape: Shape) -> int:
        """How many statistics of each kind: the size of the normalised axis."""
        return shape[_axis(self, self.axis, shape)]

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        shape = inputs[0]
        size = self.size(shape)
        if self.mean is not None and self.variance is not None:
            _per_channel(self, "mean", self.mean, size)
            _per_channel(self, "variance", self.variance, size)
        return shape

    def weights(self, site: Site) -> tuple[Weight, ...]:
        """mean and variance (one per position of the axis) and the count of samples seen, not trained."""
        if self.adapted:
            return ()
        size = self.size(site.input)
        return tuple(
            Weight(name, shape, trainable=False, buffer=True)
            for name, shape in (("mean", (size,)), ("variance", (size,)), ("count", ()))
        )

    def elementwise(self, site: Site) -> int:
        """A subtract and a divide per value (the square root is taken of the statistics, once)."""
        return 2 * elements(site.input)

    def type_stride(self, site: Site) -> str:
        return "Denormalization" if self.invert else "Normalization"


# ---------------------------------------------------------------------------------------- learned scales


@kind
class LayerScale(Layer):
    """A learned multiplier per channel, gamma (Keras ``LayerScale`` in ConvNeXt, torch ConvNeXt's
    ``gamma``), or one learned scalar gain (``scalar``). ``axis`` is the axis gamma runs along: 0 for a
    channels-first map, -1 for a tensor a torch model has permuted to channels-last."""

    axis: int = 0
    scalar: bool = False

    default_prefix: ClassVar[str] = "layer_scale"
    categories: ClassVar[tuple[str, ...]] = ("layer_scale",)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not is_int(self.axis):
            raise SpecError(f"{describe(self)}: axis must be an integer, got {self.axis!r}")

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        _axis(self, self.axis, inputs[0])
        return inputs[0]

    def gamma_shape(self, shape: Shape) -> Shape:
        return () if self.scalar else (shape[_axis(self, self.axis, shape)],)

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return (Weight("gamma", self.gamma_shape(site.input)),)

    def elementwise(self, site: Site) -> int:
        return elements(site.input)

    def type_stride(self, site: Site) -> str:
        return "Scale" if self.scalar else "Layer Scale"

    def filter_shape(self, site: Site) -> str:
        return "1" if self.scalar else str(math.prod(self.gamma_shape(site.input)))


#: which values of the input share one PReLU slope
PRELU_SHARING = ("channel", "element", "single")


@kind
class PReLU(Layer):
    """``max(0, x) + alpha * min(0, x)`` with learned slopes alpha: one per channel (torch
    ``PReLU(num_parameters=C)``, Keras ``PReLU(shared_axes=[1, 2])``), one per value (``element``, Keras'
    default) or one for the whole tensor (``single``, torch's default ``PReLU()``)."""

    shared: str = "channel"

    default_prefix: ClassVar[str] = "p_re_lu"
    categories: ClassVar[tuple[str, ...]] = ("activation",)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.shared not in PRELU_SHARING:
            raise SpecError(f"{describe(self)}: shared must be one of {', '.join(PRELU_SHARING)}, got {self.shared!r}")

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return inputs[0]

    def alpha_shape(self, shape: Shape) -> Shape:
        if self.shared == "element":
            return shape
        return (shape[0],) if self.shared == "channel" else (1,)

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return (Weight("alpha", self.alpha_shape(site.input)),)

    def elementwise(self, site: Site) -> int:
        return elements(site.input)

    def type_stride(self, site: Site) -> str:
        return "PReLU"


# ---------------------------------------------------------------------------------------- the identity


@kind
class Identity(Layer):
    """Passes its input on unchanged (torch ``nn.Identity``, Keras ``Identity``)."""

    default_prefix: ClassVar[str] = "identity"
    categories: ClassVar[tuple[str, ...]] = ("identity",)
    moves_data: ClassVar[bool] = False

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return inputs[0]

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        return 0

    def type_stride(self, site: Site) -> str:
        return "Identity"


@kind
class DropPath(Layer):
    """Stochastic depth (timm / Hugging Face ``DropPath``, Keras ``StochasticDepth`` in ConvNeXt): drops
    a whole residual branch per sample while training; the identity at inference."""

    rate: float = 0.0

    default_prefix: ClassVar[str] = "stochastic_depth"
    categories: ClassVar[tuple[str, ...]] = ("dropout",)
    moves_data: ClassVar[bool] = False

    def __post_init__(self) -> None:
        super().__post_init__()
        rate = self.rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise SpecError(f"{describe(self)}: rate must be a number in [0, 1), got {rate!r}")

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return inputs[0]

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        return 0

    def type_stride(self, site: Site) -> str:
        return "DropPath"
