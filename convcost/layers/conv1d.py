"""Convolutions on ``(C, L)`` sequences (audio, time series): standard (and grouped), depthwise, and
Keras' depthwise separable: the paper's formulas with one spatial axis.

``Dk`` kernel length, ``M`` input channels, ``N`` output channels, ``Df`` output length. ``kernel``,
``stride`` and ``dilation`` are plain ints; ``padding`` is ``'same'``, ``'valid'``, ``p`` or
``(left, right)``, and Keras' ``'causal'``, which is stored as ``(dilation * (kernel - 1), 0)``.
They report the 2-D kinds' categories (``conv``, ``depthwise``, ``pointwise``, ``separable``).
Three-dimensional convolutions are not covered.
"""

from __future__ import annotations

from typing import ClassVar

from convcost.errors import GeometryError, SpecError
from convcost.geometry import sequence, sizes, window1d
from convcost.layer import Layer, Padding1DField, Shape, Site, Weight, describe, kind, positive_int, set_field


def _bias(N: int, bias: bool) -> tuple[Weight, ...]:
    return (Weight("bias", (N,)),) if bias else ()


def _multiplier(dm: int) -> tuple[int, ...]:
    return (dm,) if dm > 1 else ()


class _Conv1D(Layer):
    """What the three 1-D convolutions share: the window fields, ``causal`` padding, the output length."""

    kernel: int
    stride: int
    padding: object
    dilation: int

    counts_in_paper: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("kernel", "stride", "dilation"):
            set_field(self, name, positive_int(self, name, getattr(self, name)))
        if self.padding == "causal":  # Keras: every output sees only the present and the past
            set_field(self, "padding", (self.dilation * (self.kernel - 1), 0))

    def length(self, shape: Shape) -> int:
        return window1d(self, shape, self.kernel, self.stride, self.dilation, self.padding)

    def elementwise(self, site: Site) -> int:
        """One bias add per output value."""
        N, Df = site.output
        return N * Df if getattr(self, "bias", False) else 0


@kind
class Conv1D(_Conv1D):
    """A 1-D convolution; ``groups`` > 1 makes it grouped (``groups == C_in`` is depthwise)."""

    filters: int
    kernel: int = 3
    stride: int = 1
    padding: Padding1DField = Padding1DField("valid", causal=True)
    dilation: int = 1
    groups: int = 1
    bias: bool = True

    default_prefix: ClassVar[str] = "conv1d"
    categories: ClassVar[tuple[str, ...]] = ("conv", "depthwise", "pointwise")

    def __post_init__(self) -> None:
        super().__post_init__()
        set_field(self, "filters", positive_int(self, "filters", self.filters))
        set_field(self, "groups", positive_int(self, "groups", self.groups))
        if self.filters % self.groups:
            raise SpecError(f"{describe(self)}: filters ({self.filters}) must be divisible by groups ({self.groups})")

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        channels, _ = sequence(self, inputs[0])
        if channels % self.groups:
            raise GeometryError(
                f"layer '{self.name}': input channels ({channels}) must be divisible by groups ({self.groups})"
            )
        return (self.filters, self.length(inputs[0]))

    def weights(self, site: Site) -> tuple[Weight, ...]:
        """Dk*(M/g)*N weights, and N biases."""
        M = site.input[0] // self.groups
        return (Weight("kernel", (self.kernel, M, self.filters)), *_bias(self.filters, self.bias))

    def macs(self, site: Site) -> int:
        """Dk*(M/g)*N*Df: every weight is used once per output position."""
        M = site.input[0] // self.groups
        N, Df = site.output
        return self.kernel * M * N * Df

    def category(self, site: Site) -> str:
        channels = site.input[0]
        if self.groups == channels and channels > 1:
            return "depthwise"
        if self.kernel == 1 and self.groups == 1:
            return "pointwise"
        return "conv"

    def type_stride(self, site: Site) -> str:
        dw = " dw" if self.category(site) == "depthwise" else ""
        return f"Conv{dw} / s{self.stride}"

    def filter_shape(self, site: Site) -> str:
        M = site.input[0]
        if self.category(site) == "depthwise":
            return f"{sizes(self.kernel, M, *_multiplier(self.filters // M))} dw"
        return sizes(self.kernel, M // self.groups, self.filters)


@kind
class DepthwiseConv1D(_Conv1D):
    """One ``kernel`` filter per input channel (``depth_multiplier`` of them), no channel mixing."""

    kernel: int = 3
    stride: int = 1
    padding: Padding1DField = Padding1DField("valid", causal=True)
    depth_multiplier: int = 1
    dilation: int = 1
    bias: bool = True

    default_prefix: ClassVar[str] = "depthwise_conv1d"
    categories: ClassVar[tuple[str, ...]] = ("depthwise",)

    def __post_init__(self) -> None:
        super().__post_init__()
        set_field(self, "depth_multiplier", positive_int(self, "depth_multiplier", self.depth_multiplier))

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        channels, _ = sequence(self, inputs[0])
        return (channels * self.depth_multiplier, self.length(inputs[0]))

    def weights(self, site: Site) -> tuple[Weight, ...]:
        """Dk weights per channel (times the multiplier), one bias per output channel."""
        M = site.input[0]
        return (
            Weight("kernel", (self.kernel, M, self.depth_multiplier)),
            *_bias(M * self.depth_multiplier, self.bias),
        )

    def macs(self, site: Site) -> int:
        """Dk*M*Df (M counting the depth multiplier)."""
        M, Df = site.output
        return self.kernel * M * Df

    def type_stride(self, site: Site) -> str:
        return f"Conv dw / s{self.stride}"

    def filter_shape(self, site: Site) -> str:
        return f"{sizes(self.kernel, site.input[0], *_multiplier(self.depth_multiplier))} dw"


@kind
class SeparableConv1D(_Conv1D):
    """Keras ``SeparableConv1D``: a depthwise conv then a 1x1 conv, one bias (on the output)."""

    filters: int
    kernel: int = 3
    stride: int = 1
    padding: Padding1DField = Padding1DField("valid", causal=True)
    depth_multiplier: int = 1
    dilation: int = 1
    bias: bool = True

    default_prefix: ClassVar[str] = "separable_conv1d"
    categories: ClassVar[tuple[str, ...]] = ("separable",)

    def __post_init__(self) -> None:
        super().__post_init__()
        set_field(self, "filters", positive_int(self, "filters", self.filters))
        set_field(self, "depth_multiplier", positive_int(self, "depth_multiplier", self.depth_multiplier))

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        sequence(self, inputs[0])
        return (self.filters, self.length(inputs[0]))

    def weights(self, site: Site) -> tuple[Weight, ...]:
        """Depthwise Dk*M, pointwise M*N, one bias of N."""
        M = site.input[0]
        dm = self.depth_multiplier
        return (
            Weight("depthwise_kernel", (self.kernel, M, dm)),
            Weight("pointwise_kernel", (1, M * dm, self.filters)),
            *_bias(self.filters, self.bias),
        )

    def macs(self, site: Site) -> int:
        """Dk*M*Df + M*N*Df: the depthwise pass, then the pointwise one on the same positions."""
        M = site.input[0] * self.depth_multiplier
        N, Df = site.output
        return self.kernel * M * Df + M * N * Df

    def type_stride(self, site: Site) -> str:
        return f"Conv sep / s{self.stride}"

    def filter_shape(self, site: Site) -> str:
        dm = self.depth_multiplier
        M = site.input[0]
        return f"{sizes(self.kernel, M, *_multiplier(dm))} dw + {sizes(1, M * dm, self.filters)}"
