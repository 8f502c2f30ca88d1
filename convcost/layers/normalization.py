"""Normalisation layers."""

from __future__ import annotations

from typing import ClassVar

from convcost.errors import GeometryError, SpecError
from convcost.layer import Layer, Shape, Site, Weight, describe, elements, is_int, kind, positive_int, set_field


@kind
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


# ---------------------------------------------------------------------- issue 12, family B
# Normalisations that compute their statistics from the sample at inference (layer, group,
# instance norm): none folds into a per-channel scale and shift as BatchNorm does.

#: per element, to normalise from the sample's own statistics: the mean (one add), centring (one
#: subtract), the variance (one multiply-add counted as one), scaling by 1 / sqrt(var + eps) (one multiply)
STATISTICS_OPS = 4


def _affine(C: int, scale: bool, center: bool) -> list[Weight]:
    """gamma (``scale``) and beta (``center``), both trained."""
    return [Weight(name, (C,)) for name, on in (("gamma", scale), ("beta", center)) if on]


@kind
class LayerNorm(Layer):
    """Layer normalisation over one axis at every position: gamma and beta of that axis' size.

    ``axis`` 0 is the channel axis of a channels-first tensor (Keras ``LayerNormalization(axis=-1)``
    on NHWC, ConvNeXt's channels-last ``nn.LayerNorm(C)``); negative axes count from the end, so
    ``axis=-1`` on an ``(H, W, C)`` tensor (a permuted map) is torch ``nn.LayerNorm(C)`` as written.
    """

    axis: int = 0
    center: bool = True
    scale: bool = True

    default_prefix: ClassVar[str] = "layer_normalization"
    categories: ClassVar[tuple[str, ...]] = ("layernorm",)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not is_int(self.axis):
            raise SpecError(f"{describe(self)}: axis must be an integer, got {self.axis!r}")

    def normalised_axis(self, shape: Shape) -> int:
        """``axis`` counted from the front of ``shape`` (a ``GeometryError`` when it has no such axis)."""
        if not -len(shape) <= self.axis < len(shape):
            raise GeometryError(f"layer '{self.name}': LayerNorm over axis {self.axis} of a shape {list(shape)}")
        return self.axis % len(shape)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        self.normalised_axis(inputs[0])
        return inputs[0]

    def weights(self, site: Site) -> tuple[Weight, ...]:
        """gamma and beta, one per position of the normalised axis."""
        return tuple(_affine(site.input[self.normalised_axis(site.input)], self.scale, self.center))

    def elementwise(self, site: Site) -> int:
        """The statistics and normalisation, 4 per element, and one per element for gamma and for beta."""
        return (STATISTICS_OPS + self.scale + self.center) * elements(site.input)

    def type_stride(self, site: Site) -> str:
        return "LN"


@kind
class GroupNorm(Layer):
    """Group normalisation: channels in ``groups`` groups, each normalised over its channels and the
    map; gamma and beta per channel (torch ``nn.GroupNorm``, Keras ``GroupNormalization``)."""

    groups: int
    center: bool = True
    scale: bool = True

    default_prefix: ClassVar[str] = "group_normalization"
    categories: ClassVar[tuple[str, ...]] = ("groupnorm",)

    def __post_init__(self) -> None:
        super().__post_init__()
        set_field(self, "groups", positive_int(self, "groups", self.groups))

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        shape = inputs[0]
        if len(shape) not in (1, 2, 3):
            raise GeometryError(f"layer '{self.name}': GroupNorm needs (C,), (C, L) or (C, H, W), got {list(shape)}")
        if shape[0] % self.groups:
            raise GeometryError(
                f"layer '{self.name}': input channels ({shape[0]}) must be divisible by groups ({self.groups})"
            )
        return shape

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return tuple(_affine(site.input[0], self.scale, self.center))

    def elementwise(self, site: Site) -> int:
        return (STATISTICS_OPS + self.scale + self.center) * elements(site.input)

    def type_stride(self, site: Site) -> str:
        return "GN"


@kind
class InstanceNorm(Layer):
    """Instance normalisation (torch ``nn.InstanceNorm1d`` / ``2d``): each channel of each sample over
    its own positions. ``affine``: gamma and beta per channel; ``track_running_stats``: running mean
    and variance (torch buffers, not trained), which inference then uses, exactly as BatchNorm does."""

    affine: bool = False
    track_running_stats: bool = False

    default_prefix: ClassVar[str] = "instance_normalization"
    categories: ClassVar[tuple[str, ...]] = ("instancenorm",)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        shape = inputs[0]
        if len(shape) not in (2, 3):
            raise GeometryError(f"layer '{self.name}': InstanceNorm needs (C, L) or (C, H, W), got {list(shape)}")
        if not self.track_running_stats and elements(shape[1:]) == 1:
            # torch refuses it too (a channel's own statistics over one value)
            raise GeometryError(
                f"layer '{self.name}': InstanceNorm without running statistics needs more than one "
                f"position per channel, got {list(shape)}"
            )
        return shape

    def weights(self, site: Site) -> tuple[Weight, ...]:
        C = site.input[0]
        learned = _affine(C, self.affine, self.affine)
        running = [Weight(name, (C,), trainable=False, buffer=True) for name in ("moving_mean", "moving_variance")]
        return (*learned, *(running if self.track_running_stats else ()))

    def elementwise(self, site: Site) -> int:
        """With running statistics it is BatchNorm at inference (2 per element, folded); else as LayerNorm."""
        if self.track_running_stats:
            return 2 * elements(site.input)
        return (STATISTICS_OPS + 2 * self.affine) * elements(site.input)

    def type_stride(self, site: Site) -> str:
        return "IN"
