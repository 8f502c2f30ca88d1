"""Layers that move values without computing: flatten, reshape, dropout (the identity at inference)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from convcost.errors import GeometryError, SpecError
from convcost.layer import (
    Layer,
    Shape,
    Site,
    Weight,
    describe,
    elements,
    set_field,
    shape_field,
)


@dataclass(frozen=True)
class Flatten(Layer):
    """``(C, H, W) -> (C * H * W,)``."""

    default_prefix: ClassVar[str] = "flatten"
    categories: ClassVar[tuple[str, ...]] = ("flatten",)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return (elements(inputs[0]),)

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        return 0

    def type_stride(self, site: Site) -> str:
        return "Flatten"


@dataclass(frozen=True)
class Dropout(Layer):
    """Identity at inference; kept so a spec mirrors the network it came from."""

    rate: float = 0.5

    default_prefix: ClassVar[str] = "dropout"
    categories: ClassVar[tuple[str, ...]] = ("dropout",)

    def __post_init__(self) -> None:
        super().__post_init__()
        rate = self.rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise SpecError(f"{describe(self)}: rate must be a number in [0, 1), got {rate!r}")

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return inputs[0]

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        return 0

    def type_stride(self, site: Site) -> str:
        return "Dropout"


@dataclass(frozen=True)
class Reshape(Layer):
    """Reshape to ``target`` (channels-first), keeping the element count."""

    target: tuple[int, ...] = ()

    default_prefix: ClassVar[str] = "reshape"
    categories: ClassVar[tuple[str, ...]] = ("reshape",)

    def __post_init__(self) -> None:
        super().__post_init__()
        set_field(self, "target", shape_field(self, "target", self.target))

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        shape = inputs[0]
        if elements(self.target) != elements(shape):
            raise GeometryError(
                f"layer '{self.name}': cannot reshape {list(shape)} ({elements(shape)} values) "
                f"to {list(self.target)} ({elements(self.target)} values)"
            )
        return self.target

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        return 0

    def type_stride(self, site: Site) -> str:
        return "Reshape"
