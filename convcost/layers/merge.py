"""Merges: layers that combine two or more tensors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from convcost.errors import GeometryError
from convcost.geometry import shape_listing
from convcost.layer import Layer, Shape, Site, Weight, elements


@dataclass(frozen=True)
class Add(Layer):
    """Element-wise sum of two or more tensors of one shape (a residual connection)."""

    default_prefix: ClassVar[str] = "add"
    categories: ClassVar[tuple[str, ...]] = ("add",)
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = None

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        if any(s != inputs[0] for s in inputs):
            raise GeometryError(f"layer '{self.name}': cannot add inputs of different shapes: {shape_listing(inputs)}")
        return inputs[0]

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        """n inputs take n - 1 adds per value."""
        return (len(site.inputs) - 1) * elements(site.output)

    def type_stride(self, site: Site) -> str:
        return "Add"


@dataclass(frozen=True)
class Concat(Layer):
    """Concatenation of two or more tensors along channels (an Inception or DenseNet merge)."""

    default_prefix: ClassVar[str] = "concatenate"
    categories: ClassVar[tuple[str, ...]] = ("concat",)
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = None

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        first = inputs[0]
        if any(len(s) != len(first) or s[1:] != first[1:] for s in inputs):
            raise GeometryError(
                f"layer '{self.name}': cannot concatenate along channels inputs whose other sizes differ: "
                f"{shape_listing(inputs)}"
            )
        return (sum(s[0] for s in inputs), *first[1:])

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        return 0

    def type_stride(self, site: Site) -> str:
        return "Concat"
