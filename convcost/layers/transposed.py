"""Transposed convolutions (2-D and 1-D): every input pixel times the whole kernel.

A transposed convolution multiplies every input pixel by the whole kernel and adds the products
into the output, ``stride`` pixels apart: ``Dk*Dk*M*(N/g)*H*W`` multiply-adds for an ``H x W``
input (``M`` input channels, ``N`` filters, ``g`` groups). Along one axis, with the dilated kernel
``dk = d*(k - 1) + 1``, the *full* output is ``(in - 1)*s + dk`` long; the layer then removes
``before`` rows at its start and ``after`` at its end (a negative ``after`` adds rows, which hold
only the bias):

* ``padding="valid"`` (Keras): nothing removed, ``output_padding`` rows added (by default
  ``max(dk, s) - dk``, so that the output is ``(in - 1)*s + max(dk, s)``);
* ``padding="same"`` (Keras): the output is ``in*s`` (or, with ``output_padding``,
  ``(in - 1)*s + dk % 2 + output_padding``), the rows removed split as Keras splits them;
* explicit ``p``, ``(ph, pw)`` or ``((top, bottom), (left, right))`` (torch's ``padding``): that many
  rows removed at each end, then ``output_padding`` rows added at the end, as
  ``nn.ConvTranspose2d(padding=p, output_padding=op)`` does.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, overload

from convcost.errors import GeometryError, SpecError
from convcost.geometry import feature_map, sequence, sizes, stride_label
from convcost.layer import (
    Layer,
    Padding1DField,
    PaddingField,
    Pair,
    PairField,
    Shape,
    Site,
    Weight,
    describe,
    elements,
    is_int,
    kind,
    positive_int,
    set_field,
)
from convcost.record import record

# ---------------------------------------------------------------------- transposed convolutions


@record
class TransposedAxis:
    """One spatial axis of a transposed convolution, as the layer's fields give it.

    ``padding`` is ``"same"``, ``"valid"`` or the ``(before, after)`` rows torch's padding removes.
    """

    kernel: int
    stride: int
    dilation: int
    padding: str | Pair
    output_padding: int | None

    @property
    def dilated_kernel(self) -> int:
        return self.dilation * (self.kernel - 1) + 1


def transposed_crop(axis: TransposedAxis) -> Pair:
    """``(before, after)``: the rows removed from each end of the full output (``after`` < 0: rows added).

    Keras' rule (``keras.src.backend.common.backend_utils``, the padding of the equivalent
    convolution of the stride-dilated input) for ``same`` and ``valid``; torch's for explicit padding.
    """
    dk, s, op = axis.dilated_kernel, axis.stride, axis.output_padding
    if axis.padding == "valid":
        return (0, -(max(dk, s) - dk if op is None else op))
    if axis.padding == "same":
        pad = s + dk - 2 if op is None else dk + dk % 2 - 2 + op
        left = min(pad // 2 + pad % 2, dk - 1)
        return (dk - 1 - left, dk - 1 - (pad - left))
    assert not isinstance(axis.padding, str)
    before, after = axis.padding
    return (before, after - (op or 0))


def transposed_length(layer: Layer, name: str, size: int, axis: TransposedAxis) -> int:
    """The output length along one axis; a ``GeometryError`` when nothing (or only added rows) is left."""
    full = (size - 1) * axis.stride + axis.dilated_kernel
    before, after = transposed_crop(axis)
    out = full - before - after
    if out < 1 or before >= full:
        raise GeometryError(
            f"layer '{layer.name}': {name} {size} gives a full transposed output of {full}, "
            f"from which padding removes {before} + {after}: nothing is left"
        )
    return out


def torch_transposed(axis: TransposedAxis) -> tuple[int, int, Pair]:
    """How ``to_torch`` builds this axis: ``nn.ConvTranspose*d``'s ``padding`` and ``output_padding``,
    then the rows a crop after it still removes ``(before, after)``.

    torch removes ``p`` rows before and ``p - output_padding`` after, ``output_padding`` below
    ``max(stride, dilation)``; what that cannot say (Keras ``same`` removing one row more at the
    end, or more at the start than at the end) takes an ``nn.ConvTranspose*d`` with less padding,
    then a crop. The tool conventions price the ``nn.ConvTranspose*d`` (its own output size).
    """
    before, after = transposed_crop(axis)
    gap = before - after
    if 0 <= gap < max(axis.stride, axis.dilation):
        return before, gap, (0, 0)
    if gap < 0:
        return before, 0, (0, -gap)
    if after >= 0:
        return after, 0, (gap, 0)
    # the rows added (-after) are below max(stride, dilation) for every padding the layer accepts
    return 0, -after, (before, 0)


def torch_transposed_length(size: int, axis: TransposedAxis) -> int:
    """The output length of the ``nn.ConvTranspose*d`` that ``to_torch`` builds (before any crop)."""
    padding, output_padding, _ = torch_transposed(axis)
    return (size - 1) * axis.stride - 2 * padding + axis.dilated_kernel + output_padding


class OutputPaddingField:
    """``output_padding``: None (the padding mode's default), an int or a pair of non-negative ints,
    stored as None or ``(h, w)``."""

    def __init__(self, default: int | Pair | None) -> None:
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.public = name
        self.private = f"_{name}"

    @overload
    def __get__(self, layer: None, owner: Any) -> int | Pair | None: ...
    @overload
    def __get__(self, layer: object, owner: Any) -> Pair | None: ...
    def __get__(self, layer: object | None, owner: Any) -> int | Pair | None:
        if layer is None:
            return self.default
        value: Pair | None = getattr(layer, self.private)
        return value

    def __set__(self, layer: object, value: int | Pair | None) -> None:
        if value is not None:
            if is_int(value):
                value = (value, value)  # type: ignore[assignment]
            ok = isinstance(value, (tuple, list)) and len(value) == 2 and all(is_int(v) and v >= 0 for v in value)
            if not ok:
                raise SpecError(
                    f"{describe(layer)}: {self.public} must be a non-negative integer or a pair of them, got {value!r}"
                )
            value = (value[0], value[1])  # type: ignore[index]
        object.__setattr__(layer, self.private, value)


class _Transposed(Layer):
    """What the 2-D and 1-D transposed convolutions share; each declares its own fields."""

    filters: int
    groups: int
    bias: bool

    categories: ClassVar[tuple[str, ...]] = ("transposed_conv",)
    counts_in_paper: ClassVar[bool] = True
    #: the names of the spatial axes, for messages
    axis_names: ClassVar[tuple[str, ...]] = ()

    def axes(self) -> tuple[TransposedAxis, ...]:
        raise NotImplementedError

    def __post_init__(self) -> None:
        super().__post_init__()
        set_field(self, "filters", positive_int(self, "filters", self.filters))
        set_field(self, "groups", positive_int(self, "groups", self.groups))
        if self.filters % self.groups:
            raise SpecError(f"{describe(self)}: filters ({self.filters}) must be divisible by groups ({self.groups})")
        for axis in self.axes():
            limit = max(axis.stride, axis.dilation)
            if axis.output_padding is not None and axis.output_padding >= limit:
                raise SpecError(
                    f"{describe(self)}: output_padding ({axis.output_padding}) must be smaller than the stride "
                    f"or the dilation ({limit})"
                )

    def spatial(self, shape: Shape) -> tuple[int, tuple[int, ...]]:
        """``(channels, spatial sizes)`` of the input; a ``GeometryError`` for the wrong rank."""
        raise NotImplementedError

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        channels, spatial = self.spatial(inputs[0])
        if channels % self.groups:
            raise GeometryError(
                f"layer '{self.name}': input channels ({channels}) must be divisible by groups ({self.groups})"
            )
        lengths = (
            transposed_length(self, name, size, axis)
            for name, size, axis in zip(self.axis_names, spatial, self.axes(), strict=True)
        )
        return (self.filters, *lengths)

    def weights(self, site: Site) -> tuple[Weight, ...]:
        """Dk*Dk*M*(N/g) weights (Keras' kernel is ``(kh, kw, N, M)``), and N biases."""
        kernel = tuple(axis.kernel for axis in self.axes())
        bias = (Weight("bias", (self.filters,)),) if self.bias else ()
        return (Weight("kernel", (*kernel, self.filters // self.groups, site.input[0])), *bias)

    def macs(self, site: Site) -> int:
        """Dk*Dk*M*(N/g)*H*W: every input pixel times the whole kernel of its group."""
        kernel = math.prod(axis.kernel for axis in self.axes())
        return kernel * site.input[0] * (self.filters // self.groups) * elements(site.input[1:])

    def elementwise(self, site: Site) -> int:
        """One bias add per output value."""
        return elements(site.output) if self.bias else 0

    def type_stride(self, site: Site) -> str:
        strides = tuple(axis.stride for axis in self.axes())
        return f"Conv transpose / {stride_label((strides[0], strides[-1]))}"

    def filter_shape(self, site: Site) -> str:
        kernel = (axis.kernel for axis in self.axes())
        return sizes(*kernel, site.input[0], self.filters // self.groups)


def _sides(padding: object, axis: int) -> str | Pair:
    """One axis of a 2-D padding field: 'same', 'valid' or (before, after)."""
    if isinstance(padding, str):
        return padding
    return padding[axis]  # type: ignore[index,no-any-return]


@kind
class Conv2DTranspose(_Transposed):
    """A 2-D transposed convolution (Keras ``Conv2DTranspose``, torch ``nn.ConvTranspose2d``)."""

    filters: int
    kernel: PairField = PairField(3)
    stride: PairField = PairField(1)
    padding: PaddingField = PaddingField("valid")
    output_padding: OutputPaddingField = OutputPaddingField(None)
    dilation: PairField = PairField(1)
    groups: int = 1
    bias: bool = True

    default_prefix: ClassVar[str] = "conv2d_transpose"
    axis_names: ClassVar[tuple[str, ...]] = ("height", "width")

    def axes(self) -> tuple[TransposedAxis, ...]:
        op = self.output_padding
        return tuple(
            TransposedAxis(
                self.kernel[i], self.stride[i], self.dilation[i], _sides(self.padding, i), None if op is None else op[i]
            )
            for i in range(2)
        )

    def spatial(self, shape: Shape) -> tuple[int, tuple[int, ...]]:
        channels, h, w = feature_map(self, shape)
        return channels, (h, w)


@kind
class Conv1DTranspose(_Transposed):
    """A 1-D transposed convolution on a ``(C, L)`` sequence (Keras ``Conv1DTranspose``, torch
    ``nn.ConvTranspose1d``)."""

    filters: int
    kernel: int = 3
    stride: int = 1
    padding: Padding1DField = Padding1DField("valid")
    output_padding: int | None = None
    dilation: int = 1
    groups: int = 1
    bias: bool = True

    default_prefix: ClassVar[str] = "conv1d_transpose"
    axis_names: ClassVar[tuple[str, ...]] = ("length",)

    def __post_init__(self) -> None:
        for name in ("kernel", "stride", "dilation"):
            set_field(self, name, positive_int(self, name, getattr(self, name)))
        op = self.output_padding
        if op is not None and (not is_int(op) or op < 0):
            raise SpecError(f"{describe(self)}: output_padding must be a non-negative integer, got {op!r}")
        super().__post_init__()

    def axes(self) -> tuple[TransposedAxis, ...]:
        return (TransposedAxis(self.kernel, self.stride, self.dilation, self.padding, self.output_padding),)

    def spatial(self, shape: Shape) -> tuple[int, tuple[int, ...]]:
        channels, length = sequence(self, shape)
        return channels, (length,)
