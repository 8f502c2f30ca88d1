"""Pooling: max and average over windows (torch's ``ceil_mode`` too), global and adaptive pools."""

from __future__ import annotations

from typing import ClassVar

from convcost.errors import SpecError
from convcost.geometry import feature_map, sizes, stride_label, window2d
from convcost.layer import (
    Layer,
    Padding,
    PaddingField,
    Pair,
    PairField,
    Shape,
    Site,
    Weight,
    describe,
    elements,
    kind,
    set_field,
)


class _Windowed(Layer):
    """What max and average pooling share. Each declares its own fields (``pool``, ``stride``: None
    for the pool size, as in Keras and torch, ``padding``): mypy types a descriptor field that a
    subclass inherits by what its setter takes, not by what it holds."""

    # declared for the shared methods below; not dataclass fields here (this class is no dataclass)
    pool: Pair
    stride: Pair
    padding: Padding
    ceil_mode: bool

    categories: ClassVar[tuple[str, ...]] = ("pool",)
    #: the name of the pool in the paper's Type / Stride column
    label: ClassVar[str] = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if vars(self)["_stride"] is None:  # the descriptor holds None until the pool size fills it in
            set_field(self, "stride", self.pool)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        channels = feature_map(self, inputs[0])[0]
        return (channels, *window2d(self, inputs[0], self.pool, self.stride, (1, 1), self.padding, self.ceil_mode))

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        """One compare (max) or add (average) per window position per output value."""
        ph, pw = self.pool
        return ph * pw * elements(site.output)

    def type_stride(self, site: Site) -> str:
        return f"{self.label} / {stride_label(self.stride)}"

    def filter_shape(self, site: Site) -> str:
        return f"Pool {sizes(*self.pool)}"


@kind
class MaxPool2D(_Windowed):
    """Max pooling over ``pool`` windows; ``ceil_mode`` (torch) keeps a last, partial window."""

    pool: PairField = PairField(2)
    stride: PairField = PairField(None, optional=True)
    padding: PaddingField = PaddingField("valid")
    ceil_mode: bool = False

    default_prefix: ClassVar[str] = "max_pooling2d"
    label: ClassVar[str] = "Max Pool"


@kind
class AvgPool2D(_Windowed):
    """Average pooling over ``pool`` windows; ``ceil_mode`` (torch) keeps a last, partial window.

    ``count_include_pad``: whether the padding counts in the mean. None (the default) takes it from
    the padding: Keras ``same`` leaves it out, explicit padding counts it (torch's default).
    """

    pool: PairField = PairField(2)
    stride: PairField = PairField(None, optional=True)
    padding: PaddingField = PaddingField("valid")
    ceil_mode: bool = False
    count_include_pad: bool | None = None

    default_prefix: ClassVar[str] = "average_pooling2d"
    label: ClassVar[str] = "Avg Pool"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.count_include_pad is not None and not isinstance(self.count_include_pad, bool):
            raise SpecError(
                f"{describe(self)}: count_include_pad must be true, false or left out, got {self.count_include_pad!r}"
            )

    @property
    def includes_padding(self) -> bool:
        """Whether the padding counts in the mean (``count_include_pad``, or what the padding implies)."""
        if self.count_include_pad is None:
            return self.padding != "same"
        return self.count_include_pad


@kind
class GlobalAvgPool2D(Layer):
    """Mean over the whole map: ``(C, H, W) -> (C,)``, or ``(C, 1, 1)`` with ``keepdims``."""

    keepdims: bool = False

    default_prefix: ClassVar[str] = "global_average_pooling2d"
    categories: ClassVar[tuple[str, ...]] = ("global_pool",)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        channels = feature_map(self, inputs[0])[0]
        return (channels, 1, 1) if self.keepdims else (channels,)

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        """One add per input value (and a divide per channel, not counted)."""
        return elements(site.input)

    def type_stride(self, site: Site) -> str:
        return "Avg Pool / s1"

    def filter_shape(self, site: Site) -> str:
        return f"Pool {sizes(*site.input[1:])}"


# ---------------------------------------------------------------------- issue 12, family B


@kind
class GlobalMaxPool2D(Layer):
    """Maximum over the whole map: ``(C, H, W) -> (C,)``, or ``(C, 1, 1)`` with ``keepdims``."""

    keepdims: bool = False

    default_prefix: ClassVar[str] = "global_max_pooling2d"
    categories: ClassVar[tuple[str, ...]] = ("global_pool",)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        channels = feature_map(self, inputs[0])[0]
        return (channels, 1, 1) if self.keepdims else (channels,)

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        """One compare per input value."""
        return elements(site.input)

    def type_stride(self, site: Site) -> str:
        return "Max Pool / s1"

    def filter_shape(self, site: Site) -> str:
        return f"Pool {sizes(*site.input[1:])}"


def adaptive_bins(size: int, out: int) -> list[tuple[int, int]]:
    """torch's adaptive pooling windows along one axis: ``[floor(i * size / out), ceil((i + 1) * size / out))``."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


class _Adaptive(Layer):
    """What adaptive average and max pooling share: the map is cut into ``output`` bins (torch's)."""

    output: Pair  # declared for the shared methods; each kind declares the field

    categories: ClassVar[tuple[str, ...]] = ("pool",)
    label: ClassVar[str] = ""

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        channels = feature_map(self, inputs[0])[0]
        return (channels, *self.output)

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        """One add (average) or compare (max) per value of every bin (bins may overlap)."""
        _, H, W = site.input
        rows = sum(end - start for start, end in adaptive_bins(H, self.output[0]))
        columns = sum(end - start for start, end in adaptive_bins(W, self.output[1]))
        return site.input[0] * rows * columns

    def type_stride(self, site: Site) -> str:
        return f"{self.label} / adaptive"

    def filter_shape(self, site: Site) -> str:
        return f"Pool to {sizes(*self.output)}"


@kind
class AdaptiveAvgPool2D(_Adaptive):
    """torch ``nn.AdaptiveAvgPool2d(output)`` (Keras ``AdaptiveAveragePooling2D``): the mean of each bin."""

    output: PairField = PairField(1)

    default_prefix: ClassVar[str] = "adaptive_average_pooling2d"
    label: ClassVar[str] = "Avg Pool"


@kind
class AdaptiveMaxPool2D(_Adaptive):
    """torch ``nn.AdaptiveMaxPool2d(output)`` (Keras ``AdaptiveMaxPooling2D``): the maximum of each bin."""

    output: PairField = PairField(1)

    default_prefix: ClassVar[str] = "adaptive_max_pooling2d"
    label: ClassVar[str] = "Max Pool"
