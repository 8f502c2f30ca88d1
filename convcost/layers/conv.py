"""Convolutions: standard (and grouped), depthwise, and Keras' depthwise separable.

Names follow the MobileNet paper: ``Dk`` kernel size, ``M`` input channels, ``N`` output channels,
``Df`` output map size (height and width kept apart, so ``Dk * Dk`` reads ``Dk_h * Dk_w``).
"""

from __future__ import annotations

from typing import ClassVar

from convcost.errors import GeometryError, SpecError
from convcost.geometry import feature_map, sizes, stride_label, window2d
from convcost.layer import (
    Layer,
    PaddingField,
    PairField,
    Shape,
    Site,
    Weight,
    describe,
    kind,
    positive_int,
    set_field,
)


def _bias(N: int, bias: bool) -> tuple[Weight, ...]:
    return (Weight("bias", (N,)),) if bias else ()


def _multiplier(dm: int) -> tuple[int, ...]:
    """The depth multiplier in a filter shape, written only when it is not 1 (``3x3x32x2 dw``)."""
    return (dm,) if dm > 1 else ()


@kind
class Conv2D(Layer):
    """A 2-D convolution; ``groups`` > 1 makes it grouped (``groups == C_in`` is depthwise)."""

    filters: int
    kernel: PairField = PairField(3)
    stride: PairField = PairField(1)
    padding: PaddingField = PaddingField("valid")
    dilation: PairField = PairField(1)
    groups: int = 1
    bias: bool = True

    default_prefix: ClassVar[str] = "conv2d"
    categories: ClassVar[tuple[str, ...]] = ("conv", "depthwise", "pointwise")
    counts_in_paper: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        set_field(self, "filters", positive_int(self, "filters", self.filters))
        set_field(self, "groups", positive_int(self, "groups", self.groups))
        if self.filters % self.groups:
            raise SpecError(f"{describe(self)}: filters ({self.filters}) must be divisible by groups ({self.groups})")

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        channels = feature_map(self, inputs[0])[0]
        if channels % self.groups:
            raise GeometryError(
                f"layer '{self.name}': input channels ({channels}) must be divisible by groups ({self.groups})"
            )
        return (self.filters, *window2d(self, inputs[0], self.kernel, self.stride, self.dilation, self.padding))

    def weights(self, site: Site) -> tuple[Weight, ...]:
        """Dk*Dk*(M/g)*N weights, and N biases."""
        Dk_h, Dk_w = self.kernel
        M = site.input[0] // self.groups
        return (Weight("kernel", (Dk_h, Dk_w, M, self.filters)), *_bias(self.filters, self.bias))

    def macs(self, site: Site) -> int:
        """Dk*Dk*(M/g)*N*Df*Df: every weight is used once per output pixel."""
        Dk_h, Dk_w = self.kernel
        M = site.input[0] // self.groups
        N, Df_h, Df_w = site.output
        return Dk_h * Dk_w * M * N * Df_h * Df_w

    def elementwise(self, site: Site) -> int:
        """One bias add per output value."""
        N, Df_h, Df_w = site.output
        return N * Df_h * Df_w if self.bias else 0

    def category(self, site: Site) -> str:
        """``depthwise`` when each group sees one channel, ``pointwise`` when 1x1 ungrouped."""
        channels = site.input[0]
        if self.groups == channels and channels > 1:
            return "depthwise"
        if self.kernel == (1, 1) and self.groups == 1:
            return "pointwise"
        return "conv"

    def type_stride(self, site: Site) -> str:
        dw = " dw" if self.category(site) == "depthwise" else ""
        return f"Conv{dw} / {stride_label(self.stride)}"

    def filter_shape(self, site: Site) -> str:
        kh, kw = self.kernel
        M = site.input[0]
        if self.category(site) == "depthwise":
            return f"{sizes(kh, kw, M, *_multiplier(self.filters // M))} dw"
        return sizes(kh, kw, M // self.groups, self.filters)


@kind
class DepthwiseConv2D(Layer):
    """One ``kernel`` filter per input channel (``depth_multiplier`` of them), no channel mixing."""

    kernel: PairField = PairField(3)
    stride: PairField = PairField(1)
    padding: PaddingField = PaddingField("valid")
    depth_multiplier: int = 1
    dilation: PairField = PairField(1)
    bias: bool = True

    default_prefix: ClassVar[str] = "depthwise_conv2d"
    categories: ClassVar[tuple[str, ...]] = ("depthwise",)
    counts_in_paper: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        set_field(self, "depth_multiplier", positive_int(self, "depth_multiplier", self.depth_multiplier))

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        channels = feature_map(self, inputs[0])[0]
        h, w = window2d(self, inputs[0], self.kernel, self.stride, self.dilation, self.padding)
        return (channels * self.depth_multiplier, h, w)

    def weights(self, site: Site) -> tuple[Weight, ...]:
        """Dk*Dk weights per channel (times the multiplier), one bias per output channel."""
        Dk_h, Dk_w = self.kernel
        M = site.input[0] * self.depth_multiplier
        return (Weight("depthwise_kernel", (Dk_h, Dk_w, M)), *_bias(M, self.bias))

    def macs(self, site: Site) -> int:
        """Dk*Dk*M*Df*Df (M counting the depth multiplier): one filter per channel, no mixing."""
        Dk_h, Dk_w = self.kernel
        M, Df_h, Df_w = site.output
        return Dk_h * Dk_w * M * Df_h * Df_w

    def elementwise(self, site: Site) -> int:
        M, Df_h, Df_w = site.output
        return M * Df_h * Df_w if self.bias else 0

    def type_stride(self, site: Site) -> str:
        return f"Conv dw / {stride_label(self.stride)}"

    def filter_shape(self, site: Site) -> str:
        kh, kw = self.kernel
        return f"{sizes(kh, kw, site.input[0], *_multiplier(self.depth_multiplier))} dw"


@kind
class SeparableConv2D(Layer):
    """Keras ``SeparableConv2D``: a depthwise conv then a 1x1 conv, one bias (on the output)."""

    filters: int
    kernel: PairField = PairField(3)
    stride: PairField = PairField(1)
    padding: PaddingField = PaddingField("valid")
    depth_multiplier: int = 1
    dilation: PairField = PairField(1)
    bias: bool = True

    default_prefix: ClassVar[str] = "separable_conv2d"
    categories: ClassVar[tuple[str, ...]] = ("separable",)
    counts_in_paper: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        set_field(self, "filters", positive_int(self, "filters", self.filters))
        set_field(self, "depth_multiplier", positive_int(self, "depth_multiplier", self.depth_multiplier))

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        feature_map(self, inputs[0])
        return (self.filters, *window2d(self, inputs[0], self.kernel, self.stride, self.dilation, self.padding))

    def weights(self, site: Site) -> tuple[Weight, ...]:
        """Depthwise Dk*Dk*M, pointwise M*N, one bias of N."""
        Dk_h, Dk_w = self.kernel
        M = site.input[0] * self.depth_multiplier
        N = self.filters
        return (
            Weight("depthwise_kernel", (Dk_h, Dk_w, M)),
            Weight("pointwise_kernel", (1, 1, M, N)),
            *_bias(N, self.bias),
        )

    def macs(self, site: Site) -> int:
        """Dk*Dk*M*Df*Df + M*N*Df*Df: the depthwise pass, then the pointwise one on the same map."""
        Dk_h, Dk_w = self.kernel
        M = site.input[0] * self.depth_multiplier
        N, Df_h, Df_w = site.output
        return Dk_h * Dk_w * M * Df_h * Df_w + M * N * Df_h * Df_w

    def elementwise(self, site: Site) -> int:
        N, Df_h, Df_w = site.output
        return N * Df_h * Df_w if self.bias else 0

    def type_stride(self, site: Site) -> str:
        return f"Conv sep / {stride_label(self.stride)}"

    def filter_shape(self, site: Site) -> str:
        kh, kw = self.kernel
        dm = self.depth_multiplier
        M = site.input[0]
        return f"{sizes(kh, kw, M, *_multiplier(dm))} dw + {sizes(1, 1, M * dm, self.filters)}"
