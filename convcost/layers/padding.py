"""Padding layers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, overload

from convcost.errors import SpecError
from convcost.geometry import feature_map
from convcost.layer import ExplicitPadding, Layer, Pair, Shape, Site, Weight, describe, explicit_padding_field


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


@dataclass(frozen=True)
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
