"""Fully connected layers."""

from __future__ import annotations

from typing import ClassVar

from convcost.geometry import sizes
from convcost.layer import Layer, Shape, Site, Weight, elements, kind, positive_int, set_field


@kind
class Dense(Layer):
    """Fully connected. On a feature map it acts on the channels of every pixel, as Keras does."""

    units: int
    bias: bool = True

    default_prefix: ClassVar[str] = "dense"
    categories: ClassVar[tuple[str, ...]] = ("dense",)
    counts_in_paper: ClassVar[bool] = True

    def __post_init__(self) -> None:
        super().__post_init__()
        set_field(self, "units", positive_int(self, "units", self.units))

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        # Keras applies Dense to the last axis; channels-first, that is the channel axis.
        return (self.units, *inputs[0][1:])

    def weights(self, site: Site) -> tuple[Weight, ...]:
        """inputs x units weights and units biases."""
        bias = (Weight("bias", (self.units,)),) if self.bias else ()
        return (Weight("kernel", (site.input[0], self.units)), *bias)

    def macs(self, site: Site) -> int:
        """inputs x units, repeated at every pixel when the input is a map."""
        return site.input[0] * self.units * elements(site.input[1:])

    def elementwise(self, site: Site) -> int:
        return elements(site.output) if self.bias else 0

    def type_stride(self, site: Site) -> str:
        return "FC / s1"

    def filter_shape(self, site: Site) -> str:
        return sizes(site.input[0], self.units)
