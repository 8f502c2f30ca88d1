"""Pooling: max and average over windows, and the global average."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from convcost.geometry import feature_map, sizes, stride_label, window2d
from convcost.layer import Layer, Padding, PaddingField, Pair, PairField, Shape, Site, Weight, elements, set_field


class _Windowed(Layer):
    """What max and average pooling share. Each declares its own fields (``pool``, ``stride``: None
    for the pool size, as in Keras and torch, ``padding``): mypy types a descriptor field that a
    subclass inherits by what its setter takes, not by what it holds."""

    # declared for the shared methods below; not dataclass fields here (this class is no dataclass)
    pool: Pair
    stride: Pair
    padding: Padding

    categories: ClassVar[tuple[str, ...]] = ("pool",)
    #: the name of the pool in the paper's Type / Stride column
    label: ClassVar[str] = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if vars(self)["_stride"] is None:  # the descriptor holds None until the pool size fills it in
            set_field(self, "stride", self.pool)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        channels = feature_map(self, inputs[0])[0]
        return (channels, *window2d(self, inputs[0], self.pool, self.stride, (1, 1), self.padding))

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


@dataclass(frozen=True)
class MaxPool2D(_Windowed):
    """Max pooling over ``pool`` windows."""

    pool: PairField = PairField(2)
    stride: PairField = PairField(None, optional=True)
    padding: PaddingField = PaddingField("valid")

    default_prefix: ClassVar[str] = "max_pooling2d"
    label: ClassVar[str] = "Max Pool"


@dataclass(frozen=True)
class AvgPool2D(_Windowed):
    """Average pooling over ``pool`` windows (Keras ``same`` excludes the padding from the mean)."""

    pool: PairField = PairField(2)
    stride: PairField = PairField(None, optional=True)
    padding: PaddingField = PaddingField("valid")

    default_prefix: ClassVar[str] = "average_pooling2d"
    label: ClassVar[str] = "Avg Pool"


@dataclass(frozen=True)
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
