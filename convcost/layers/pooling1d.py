"""Pooling on ``(C, L)`` sequences: max and average over windows, and the global pools.

The 1-D twins of ``convcost.layers.pooling`` (Keras ``MaxPooling1D``, ``AveragePooling1D``,
``GlobalAveragePooling1D``, ``GlobalMaxPooling1D``; torch ``nn.MaxPool1d``, ``nn.AvgPool1d``,
``nn.AdaptiveAvgPool1d(1)``, ...). ``pool`` and ``stride`` are plain ints.
"""

from __future__ import annotations

from typing import Any, ClassVar, overload

from convcost.errors import SpecError
from convcost.geometry import sequence, window1d
from convcost.layer import Layer, Padding1D, Padding1DField, Shape, Site, Weight, describe, elements, kind, positive_int


class OptionalStride:
    """A pool's stride: a positive int, or None (the default) for the pool size, as Keras and torch."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.private = f"_{name}"

    @overload
    def __get__(self, layer: None, owner: Any) -> int | None: ...
    @overload
    def __get__(self, layer: object, owner: Any) -> int: ...
    def __get__(self, layer: object | None, owner: Any) -> int | None:
        if layer is None:
            return None  # the dataclass default
        value: int = getattr(layer, self.private)
        return value

    def __set__(self, layer: object, value: int | None) -> None:
        object.__setattr__(layer, self.private, None if value is None else positive_int(layer, "stride", value))


class _Windowed1D(Layer):
    """What 1-D max and average pooling share (each declares its own fields, as the 2-D pools do)."""

    pool: int
    stride: int
    padding: Padding1D
    ceil_mode: bool

    categories: ClassVar[tuple[str, ...]] = ("pool",)
    label: ClassVar[str] = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "pool", positive_int(self, "pool", self.pool))
        if vars(self)["_stride"] is None:
            object.__setattr__(self, "_stride", self.pool)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        channels, _ = sequence(self, inputs[0])
        return (channels, window1d(self, inputs[0], self.pool, self.stride, 1, self.padding, self.ceil_mode))

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        """One compare (max) or add (average) per window position per output value."""
        return self.pool * elements(site.output)

    def type_stride(self, site: Site) -> str:
        return f"{self.label} / s{self.stride}"

    def filter_shape(self, site: Site) -> str:
        return f"Pool {self.pool}"


@kind
class MaxPool1D(_Windowed1D):
    """Max pooling over ``pool`` positions; ``ceil_mode`` (torch) keeps a last, partial window."""

    pool: int = 2
    stride: OptionalStride = OptionalStride()
    padding: Padding1DField = Padding1DField("valid")
    ceil_mode: bool = False

    default_prefix: ClassVar[str] = "max_pooling1d"
    label: ClassVar[str] = "Max Pool"


@kind
class AvgPool1D(_Windowed1D):
    """Average pooling over ``pool`` positions; ``count_include_pad`` as ``AvgPool2D``'s (None: Keras
    ``same`` leaves the padding out of the mean, explicit padding counts it)."""

    pool: int = 2
    stride: OptionalStride = OptionalStride()
    padding: Padding1DField = Padding1DField("valid")
    ceil_mode: bool = False
    count_include_pad: bool | None = None

    default_prefix: ClassVar[str] = "average_pooling1d"
    label: ClassVar[str] = "Avg Pool"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.count_include_pad is not None and not isinstance(self.count_include_pad, bool):
            raise SpecError(
                f"{describe(self)}: count_include_pad must be true, false or left out, got {self.count_include_pad!r}"
            )

    @property
    def includes_padding(self) -> bool:
        if self.count_include_pad is None:
            return self.padding != "same"
        return self.count_include_pad


class _Global1D(Layer):
    keepdims: bool

    categories: ClassVar[tuple[str, ...]] = ("global_pool",)
    label: ClassVar[str] = ""

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        channels, _ = sequence(self, inputs[0])
        return (channels, 1) if self.keepdims else (channels,)

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        """One add (average) or compare (max) per input value."""
        return elements(site.input)

    def type_stride(self, site: Site) -> str:
        return f"{self.label} / s1"

    def filter_shape(self, site: Site) -> str:
        return f"Pool {site.input[1]}"


@kind
class GlobalAvgPool1D(_Global1D):
    """Mean over the sequence: ``(C, L) -> (C,)``, or ``(C, 1)`` with ``keepdims``."""

    keepdims: bool = False

    default_prefix: ClassVar[str] = "global_average_pooling1d"
    label: ClassVar[str] = "Avg Pool"


@kind
class GlobalMaxPool1D(_Global1D):
    """Maximum over the sequence: ``(C, L) -> (C,)``, or ``(C, 1)`` with ``keepdims``."""

    keepdims: bool = False

    default_prefix: ClassVar[str] = "global_max_pooling1d"
    label: ClassVar[str] = "Max Pool"
