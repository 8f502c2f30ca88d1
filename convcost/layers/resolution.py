"""Resolution changes without weights: upsampling by a factor, resizing to a size, cropping.

Upsampling and resizing copy (nearest) or interpolate (bilinear) values; cropping moves them. None
of them multiplies a weight, so the paper counts none of them. (The transposed convolutions, which
do, are in ``convcost.layers.transposed``.)
"""

from __future__ import annotations

from typing import ClassVar

from convcost.errors import GeometryError, SpecError
from convcost.geometry import feature_map, sequence, sizes
from convcost.layer import Layer, PairField, Shape, Site, Weight, describe, elements, kind
from convcost.layers.padding import ExplicitPaddingField, SidesField

# ---------------------------------------------------------------------- upsampling and resizing

#: interpolation modes: ``nearest`` is torch's (``floor(dst * in / out)``), ``nearest_exact`` torch's
#: ``nearest-exact`` (pixel centres: ``floor((dst + 0.5) * in / out)``, what Keras calls nearest),
#: ``bilinear`` the mean of the 4 neighbours weighted by distance
INTERPOLATIONS = ("nearest", "nearest_exact", "bilinear")
#: element-wise operations per output value: a bilinear value takes 4 products and 3 adds
_INTERPOLATION_OPS = {"nearest": 0, "nearest_exact": 0, "bilinear": 7}


def _interpolation(layer: Layer, interpolation: str, align_corners: bool, allowed: tuple[str, ...]) -> None:
    if interpolation not in allowed:
        raise SpecError(f"{describe(layer)}: interpolation must be one of {', '.join(allowed)}, got {interpolation!r}")
    if align_corners and interpolation != "bilinear":
        raise SpecError(f"{describe(layer)}: align_corners only goes with bilinear interpolation")


@kind
class UpSampling2D(Layer):
    """Upsampling by integer factors (Keras ``UpSampling2D``, torch ``nn.Upsample(scale_factor=...)``):
    ``nearest`` repeats each pixel ``size`` times, ``bilinear`` interpolates (``align_corners``: torch's
    option, the corner pixels of input and output aligned; Keras never aligns them)."""

    size: PairField = PairField(2)
    interpolation: str = "nearest"
    align_corners: bool = False

    default_prefix: ClassVar[str] = "up_sampling2d"
    categories: ClassVar[tuple[str, ...]] = ("resize",)

    def __post_init__(self) -> None:
        super().__post_init__()
        # at an integer factor torch's nearest and nearest-exact pick the same pixels: one name
        _interpolation(self, self.interpolation, self.align_corners, ("nearest", "bilinear"))

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        channels, h, w = feature_map(self, inputs[0])
        return (channels, h * self.size[0], w * self.size[1])

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        return _INTERPOLATION_OPS[self.interpolation] * elements(site.output)

    def type_stride(self, site: Site) -> str:
        sh, sw = self.size
        return f"Upsample {self.interpolation} / x{sh if sh == sw else f'{sh}x{sw}'}"


@kind
class Resize(Layer):
    """Resizing to ``output = (H, W)`` (torch ``F.interpolate(size=...)``, Keras ``Resizing``, ONNX
    ``Resize`` to a size); ``interpolation`` as in ``INTERPOLATIONS``."""

    output: PairField = PairField(None, optional=True)
    interpolation: str = "nearest"
    align_corners: bool = False

    default_prefix: ClassVar[str] = "resizing"
    categories: ClassVar[tuple[str, ...]] = ("resize",)

    def __post_init__(self) -> None:
        super().__post_init__()
        if vars(self)["_output"] is None:
            raise SpecError(f"{describe(self)}: output (the size (H, W) to resize to) is required")
        _interpolation(self, self.interpolation, self.align_corners, INTERPOLATIONS)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        channels = feature_map(self, inputs[0])[0]
        return (channels, *self.output)

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        return _INTERPOLATION_OPS[self.interpolation] * elements(site.output)

    def type_stride(self, site: Site) -> str:
        return f"Resize {self.interpolation} / {sizes(*self.output)}"


# ---------------------------------------------------------------------- cropping


@kind
class Cropping2D(Layer):
    """Removes rows and columns at the borders (Keras ``Cropping2D``, torch ``x[:, :, t:-b, l:-r]``):
    ``c``, ``(ch, cw)`` or ``((top, bottom), (left, right))``."""

    cropping: ExplicitPaddingField = ExplicitPaddingField(0)

    default_prefix: ClassVar[str] = "cropping2d"
    categories: ClassVar[tuple[str, ...]] = ("crop",)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        channels, h, w = feature_map(self, inputs[0])
        (top, bottom), (left, right) = self.cropping
        if top + bottom >= h or left + right >= w:
            raise GeometryError(
                f"layer '{self.name}': cropping {[[top, bottom], [left, right]]} leaves nothing of a {h}x{w} map"
            )
        return (channels, h - top - bottom, w - left - right)

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        return 0

    def type_stride(self, site: Site) -> str:
        return "Crop"


@kind
class Cropping1D(Layer):
    """Removes positions at both ends of a ``(C, L)`` sequence (Keras ``Cropping1D``): ``c`` or ``(before, after)``."""

    cropping: SidesField = SidesField(1)

    default_prefix: ClassVar[str] = "cropping1d"
    categories: ClassVar[tuple[str, ...]] = ("crop",)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        channels, length = sequence(self, inputs[0])
        before, after = self.cropping
        if before + after >= length:
            raise GeometryError(f"layer '{self.name}': cropping {[before, after]} leaves nothing of length {length}")
        return (channels, length - before - after)

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        return 0

    def type_stride(self, site: Site) -> str:
        return "Crop"
