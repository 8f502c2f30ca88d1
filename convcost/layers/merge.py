"""Merges: layers that combine two or more tensors."""

from __future__ import annotations

from typing import ClassVar

from convcost.errors import GeometryError
from convcost.geometry import shape_listing
from convcost.layer import Layer, Shape, Site, Weight, elements, kind


def broadcast_shape(layer: Layer, verb: str, inputs: tuple[Shape, ...]) -> Shape:
    """NumPy broadcasting of per-sample shapes of one rank: every axis has one size, or size 1 where
    it is repeated (a ``(C, 1, 1)`` gate against a ``(C, H, W)`` map). Shapes of different ranks are
    refused: with the batch axis in front, torch and Keras would line them up differently."""
    same_rank = all(len(s) == len(inputs[0]) for s in inputs)
    out = tuple(max(sizes) for sizes in zip(*inputs, strict=True)) if same_rank else ()
    if not same_rank or any(d not in (1, o) for s in inputs for d, o in zip(s, out, strict=True)):
        raise GeometryError(f"layer '{layer.name}': cannot {verb} inputs of different shapes: {shape_listing(inputs)}")
    return out


def folded_operations(inputs: tuple[Shape, ...]) -> int:
    """One operation per value of each partial result of ``((a op b) op c) ...``, left to right: two
    ``(C, 1, 1)`` gates combine in C operations before the third input broadcasts them to the map."""
    total, shape = 0, inputs[0]
    for other in inputs[1:]:
        shape = tuple(max(a, b) for a, b in zip(shape, other, strict=True))
        total += elements(shape)
    return total


@kind
class Add(Layer):
    """Element-wise sum of two or more tensors (a residual connection), broadcasting sizes of 1."""

    default_prefix: ClassVar[str] = "add"
    categories: ClassVar[tuple[str, ...]] = ("add",)
    min_inputs: ClassVar[int] = 2
    max_inputs: ClassVar[int | None] = None

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return broadcast_shape(self, "add", inputs)

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        """n inputs of one shape take n - 1 adds per value (broadcast inputs: see ``folded_operations``)."""
        return folded_operations(site.inputs)

    def type_stride(self, site: Site) -> str:
        return "Add"


@kind
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
