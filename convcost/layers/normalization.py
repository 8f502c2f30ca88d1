"""Normalisation layers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from convcost.errors import GeometryError
from convcost.layer import Layer, Shape, Site, Weight, elements


@dataclass(frozen=True)
class BatchNorm(Layer):
    """Batch normalisation over channels: gamma (``scale``), beta (``center``), moving mean and variance."""

    center: bool = True
    scale: bool = True

    default_prefix: ClassVar[str] = "batch_normalization"
    categories: ClassVar[tuple[str, ...]] = ("batchnorm",)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        shape = inputs[0]
        if len(shape) not in (1, 2, 3):
            raise GeometryError(f"layer '{self.name}': BatchNorm needs (C,), (C, L) or (C, H, W), got {list(shape)}")
        return shape

    def weights(self, site: Site) -> tuple[Weight, ...]:
        """gamma and beta (trained), the moving mean and variance (not trained; torch buffers)."""
        C = site.input[0]
        learned = [Weight(name, (C,)) for name, on in (("gamma", self.scale), ("beta", self.center)) if on]
        moving = [Weight(name, (C,), trainable=False, buffer=True) for name in ("moving_mean", "moving_variance")]
        return (*learned, *moving)

    def elementwise(self, site: Site) -> int:
        """At inference BN is one multiply and one add per value (its statistics folded into them)."""
        return 2 * elements(site.input)

    def type_stride(self, site: Site) -> str:
        return "BN"
