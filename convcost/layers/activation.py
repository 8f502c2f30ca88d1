"""Element-wise non-linearities (and softmax over channels)."""

from __future__ import annotations

from typing import ClassVar

from convcost.errors import SpecError
from convcost.layer import Layer, Shape, Site, Weight, describe, elements, kind

#: every activation function, with the operations it spends per value (softmax: exp, sum, divide);
#: ``linear`` is the identity
ACTIVATION_OPS: dict[str, int] = {
    "linear": 0,
    "relu": 1,
    "relu6": 1,
    "leaky_relu": 1,
    "elu": 1,
    "selu": 1,
    "gelu": 1,
    "gelu_tanh": 1,
    "silu": 1,
    "swish": 1,
    "hard_swish": 1,
    "hard_sigmoid": 1,
    "sigmoid": 1,
    "tanh": 1,
    "softplus": 1,
    "mish": 1,
    "softmax": 3,
}
ACTIVATIONS = frozenset(ACTIVATION_OPS)


@kind
class Activation(Layer):
    """An element-wise non-linearity (or softmax over channels)."""

    function: str = "relu"

    default_prefix: ClassVar[str] = "activation"
    categories: ClassVar[tuple[str, ...]] = ("activation",)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.function not in ACTIVATIONS:
            raise SpecError(
                f"{describe(self)}: unknown activation {self.function!r}; known: {', '.join(sorted(ACTIVATIONS))}"
            )

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return inputs[0]

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        return ACTIVATION_OPS[self.function] * elements(site.input)

    def type_stride(self, site: Site) -> str:
        if self.function == "softmax":
            return "Softmax / s1"
        return self.function.upper().replace("_", " ")

    def filter_shape(self, site: Site) -> str:
        return "Classifier" if self.function == "softmax" else ""
