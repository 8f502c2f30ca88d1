"""Padding layers."""

from __future__ import annotations

from typing import Any, ClassVar, overload

from convcost.errors import GeometryError, SpecError
from convcost.geometry import feature_map, sequence
from convcost.layer import (
    ExplicitPadding,
    Layer,
    Pair,
    Shape,
    Site,
    Weight,
    describe,
    explicit_padding_field,
    is_int,
    kind,
    number_field,
    set_field,
)


class ExplicitPaddingField:
    """Padding given as ``p``, ``(ph, pw)`` or ``((top, bottom), (left, right))``, stored as the last."""

    def __init__(self, default: int | Pair | ExplicitPadding) -> None:
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.public = name
        self.private = f"_{name}"

    @overload
    def __get__(self, layer: None, owner: Any) -> int | Pair | ExplicitPadding: ...
    @overload
    def __get__(self, layer: object, owner: Any) -> ExplicitPadding: ...
    def __get__(self, layer: object | None, owner: Any) -> int | Pair | ExplicitPadding:
        if layer is None:
            return self.default
        value: ExplicitPadding = getattr(layer, self.private)
        return value

    def __set__(self, layer: object, value: int | Pair | ExplicitPadding) -> None:
        padding = explicit_padding_field(value)
        if padding is None:
            raise SpecError(
                f"{describe(layer)}: {self.public} must be integers: p, (ph, pw) or ((top, bottom), (left, right)) "
                f"with non-negative integers, got {value!r}"
            )
        object.__setattr__(layer, self.private, padding)


@kind
class ZeroPadding2D(Layer):
    """Pads the map with zeros: ``p``, ``(ph, pw)`` or ``((top, bottom), (left, right))``."""

    padding: ExplicitPaddingField = ExplicitPaddingField(1)

    default_prefix: ClassVar[str] = "zero_padding2d"
    categories: ClassVar[tuple[str, ...]] = ("padding",)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        channels, h, w = feature_map(self, inputs[0])
        (top, bottom), (left, right) = self.padding
        return (channels, h + top + bottom, w + left + right)

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        return 0

    def type_stride(self, site: Site) -> str:
        return "Zero Pad"


# ---------------------------------------------------------------------- Family C (issue 12): more padding


#: how Pad2D fills the border: a constant, the mirror image without the edge (reflect), the edge repeated
PAD_MODES = ("constant", "reflect", "replicate")


class SidesField:
    """Pixels at the two ends of one axis: ``p`` (both ends) or ``(before, after)``, stored as the pair."""

    def __init__(self, default: int | Pair) -> None:
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.public = name
        self.private = f"_{name}"

    @overload
    def __get__(self, layer: None, owner: Any) -> int | Pair: ...
    @overload
    def __get__(self, layer: object, owner: Any) -> Pair: ...
    def __get__(self, layer: object | None, owner: Any) -> int | Pair:
        if layer is None:
            return self.default
        value: Pair = getattr(layer, self.private)
        return value

    def __set__(self, layer: object, value: int | Pair) -> None:
        if is_int(value):
            value = (value, value)  # type: ignore[assignment]
        ok = isinstance(value, (tuple, list)) and len(value) == 2 and all(is_int(v) and v >= 0 for v in value)
        if not ok:
            raise SpecError(
                f"{describe(layer)}: {self.public} must be p or (before, after) with non-negative integers, "
                f"got {value!r}"
            )
        object.__setattr__(layer, self.private, (value[0], value[1]))  # type: ignore[index]


@kind
class Pad2D(Layer):
    """Pads the map: ``mode`` ``constant`` (with ``value``; torch ``nn.ConstantPad2d``, ``F.pad``),
    ``reflect`` (the mirror image without the edge pixel: ``nn.ReflectionPad2d``) or ``replicate``
    (the edge pixel repeated: ``nn.ReplicationPad2d``). Padding only moves values: no arithmetic."""

    padding: ExplicitPaddingField = ExplicitPaddingField(1)
    mode: str = "constant"
    value: float = 0.0

    default_prefix: ClassVar[str] = "pad2d"
    categories: ClassVar[tuple[str, ...]] = ("padding",)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode not in PAD_MODES:
            raise SpecError(f"{describe(self)}: mode must be one of {', '.join(PAD_MODES)}, got {self.mode!r}")
        set_field(self, "value", number_field(self, "value", self.value))
        if self.mode != "constant" and self.value != 0:
            raise SpecError(f"{describe(self)}: a value ({self.value!r}) only goes with mode 'constant'")

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        channels, h, w = feature_map(self, inputs[0])
        (top, bottom), (left, right) = self.padding
        # a mirror image needs a pixel beyond the edge one on each side (torch refuses otherwise)
        if self.mode == "reflect" and (max(top, bottom) >= h or max(left, right) >= w):
            raise GeometryError(
                f"layer '{self.name}': reflect padding {[[top, bottom], [left, right]]} must be smaller than "
                f"the map it mirrors ({h}x{w})"
            )
        return (channels, h + top + bottom, w + left + right)

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        return 0

    def type_stride(self, site: Site) -> str:
        return f"Pad {self.mode}" if self.mode != "constant" or self.value == 0 else f"Pad {self.value:g}"


@kind
class ZeroPadding1D(Layer):
    """Pads a ``(C, L)`` sequence with zeros at both ends: ``p`` or ``(before, after)``."""

    padding: SidesField = SidesField(1)

    default_prefix: ClassVar[str] = "zero_padding1d"
    categories: ClassVar[tuple[str, ...]] = ("padding",)

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        channels, length = sequence(self, inputs[0])
        before, after = self.padding
        return (channels, length + before + after)

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        return 0

    def type_stride(self, site: Site) -> str:
        return "Zero Pad"
