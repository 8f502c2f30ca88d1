"""Layers that move values without computing: flatten, reshape, dropout (the identity at inference)."""

from __future__ import annotations

from typing import ClassVar

from convcost.errors import GeometryError, SpecError
from convcost.layer import (
    Layer,
    Shape,
    Site,
    Weight,
    describe,
    elements,
    kind,
    set_field,
    shape_field,
)


@kind
class Flatten(Layer):
    """``(C, H, W) -> (C * H * W,)``."""

    default_prefix: ClassVar[str] = "flatten"
    categories: ClassVar[tuple[str, ...]] = ("flatten",)
    moves_data: ClassVar[bool] = False

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return (elements(inputs[0]),)

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        return 0

    def type_stride(self, site: Site) -> str:
        return "Flatten"


@kind
class Dropout(Layer):
    """Identity at inference; kept so a spec mirrors the network it came from. ``spatial`` drops whole
    channels (Keras SpatialDropout2D / 1D, torch nn.Dropout2d / 1d), so it needs a map or a sequence."""

    rate: float = 0.5
    spatial: bool = False

    default_prefix: ClassVar[str] = "dropout"
    categories: ClassVar[tuple[str, ...]] = ("dropout",)
    moves_data: ClassVar[bool] = False

    def __post_init__(self) -> None:
        super().__post_init__()
        rate = self.rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise SpecError(f"{describe(self)}: rate must be a number in [0, 1), got {rate!r}")

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        if self.spatial and len(inputs[0]) not in (2, 3):
            raise GeometryError(
                f"layer '{self.name}': spatial dropout needs a (C, L) or (C, H, W) input, got {list(inputs[0])}"
            )
        return inputs[0]

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        return 0

    def type_stride(self, site: Site) -> str:
        return "Spatial Dropout" if self.spatial else "Dropout"


@kind
class Reshape(Layer):
    """Reshape to ``target`` (channels-first), keeping the element count."""

    target: tuple[int, ...] = ()

    default_prefix: ClassVar[str] = "reshape"
    categories: ClassVar[tuple[str, ...]] = ("reshape",)
    moves_data: ClassVar[bool] = False

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
