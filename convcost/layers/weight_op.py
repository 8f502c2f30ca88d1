"""One tensor combined, value by value, with a tensor of weights the layer holds.

ONNX graphs apply weights with plain arithmetic wherever an exporter wrote no layer for them:
Keras exports BatchNorm as ``x - mean``, ``* scale``, ``+ beta`` (three tensors per channel), a
model's learned per-channel scale is a ``Mul`` by an initializer. Each is a ``WeightOp``: its
weights are what the file holds, counted once (``keras`` counts them; ``paper`` counts only conv
and fully-connected weights), its work one operation per output value.
"""

from __future__ import annotations

from typing import ClassVar

from convcost.errors import GeometryError, SpecError
from convcost.geometry import shape_listing, sizes
from convcost.layer import Layer, Shape, Site, Weight, describe, elements, kind, set_field, shape_field

#: the operations, and how the Type / Stride column writes them (``w``: the weights, ``x``: the input)
WEIGHT_OPS = {
    "add": "x + w",
    "subtract": "x - w",
    "rsubtract": "w - x",
    "multiply": "x * w",
    "divide": "x / w",
    "rdivide": "w / x",
}


@kind
class WeightOp(Layer):
    """``x op w`` for a weight tensor ``w`` of ``shape`` (per sample, the input's rank), broadcast
    as NumPy broadcasts: each of its sizes is 1 or the input's (``(C, 1, 1)``: one value per channel).
    ``rsubtract`` and ``rdivide`` put the weights first: ``w - x``, ``w / x``."""

    op: str
    shape: tuple[int, ...]

    default_prefix: ClassVar[str] = "weight_op"
    categories: ClassVar[tuple[str, ...]] = ("weight_op",)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.op not in WEIGHT_OPS:
            raise SpecError(f"{describe(self)}: op must be one of {', '.join(WEIGHT_OPS)}, got {self.op!r}")
        set_field(self, "shape", shape_field(self, "shape", self.shape))

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        x = inputs[0]
        if len(x) != len(self.shape) or any(w not in (1, d) and d != 1 for w, d in zip(self.shape, x, strict=True)):
            raise GeometryError(
                f"layer '{self.name}': weights of shape {list(self.shape)} do not broadcast against the input: "
                f"{shape_listing((x,))}"
            )
        return tuple(max(w, d) for w, d in zip(self.shape, x, strict=True))

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return (Weight("weight", self.shape),)

    def elementwise(self, site: Site) -> int:
        """One operation per output value."""
        return elements(site.output)

    def type_stride(self, site: Site) -> str:
        return WEIGHT_OPS[self.op]

    def filter_shape(self, site: Site) -> str:
        return f"w {sizes(*self.shape)}"
