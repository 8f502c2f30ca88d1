"""Channel plumbing: slicing one axis, permuting axes, shuffling channel groups. They move values only.

Axes are per sample, numbered from 0 (the batch axis is not in convcost shapes): axis 0 of a
``(C, H, W)`` map is the channels. A torch ``x.split(k, dim=1)`` or ``x.chunk(n, 1)`` is one ``Slice``
node per part, each reading the same input; ``x[:, :k]`` is one.
"""

from __future__ import annotations

from typing import ClassVar

from convcost.errors import GeometryError, SpecError
from convcost.layer import Layer, Shape, Site, Weight, describe, is_int, kind, positive_int, set_field


def axis_index(layer: Layer, axis: int, shape: Shape) -> int:
    """``axis`` of a per-sample ``shape`` as a non-negative index (negative counts from the end)."""
    if not -len(shape) <= axis < len(shape):
        raise GeometryError(f"layer '{layer.name}': axis {axis} does not exist in a tensor of shape {list(shape)}")
    return axis % len(shape)


@kind
class Slice(Layer):
    """``x[start:stop:step]`` along one per-sample ``axis`` (Python's rules: negative positions count
    from the end, ``stop`` None is the end)."""

    axis: int
    start: int = 0
    stop: int | None = None
    step: int = 1

    default_prefix: ClassVar[str] = "slice"
    categories: ClassVar[tuple[str, ...]] = ("slice",)

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("axis", "start"):
            if not is_int(getattr(self, name)):
                raise SpecError(f"{describe(self)}: {name} must be an integer, got {getattr(self, name)!r}")
        if self.stop is not None and not is_int(self.stop):
            raise SpecError(f"{describe(self)}: stop must be an integer (or left out: the end), got {self.stop!r}")
        set_field(self, "step", positive_int(self, "step", self.step))

    def indices(self, size: int) -> range:
        """The positions taken from an axis of ``size``."""
        return range(*slice(self.start, self.stop, self.step).indices(size))

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        shape = inputs[0]
        axis = axis_index(self, self.axis, shape)
        taken = len(self.indices(shape[axis]))
        if taken == 0:
            raise GeometryError(
                f"layer '{self.name}': slice {self.start}:{self.stop}:{self.step} of axis {self.axis} "
                f"(size {shape[axis]}) is empty"
            )
        return (*shape[:axis], taken, *shape[axis + 1 :])

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        return 0

    def type_stride(self, site: Site) -> str:
        axis = axis_index(self, self.axis, site.input)
        taken = self.indices(site.input[axis])
        step = f":{taken.step}" if taken.step != 1 else ""
        return "Slice [" + ":, " * axis + f"{taken.start}:{taken.stop}{step}]"


@kind
class Permute(Layer):
    """Reorders the per-sample axes: output axis ``i`` is input axis ``dims[i]`` (torch
    ``x.permute(0, *[d + 1 for d in dims])``; Keras ``Permute`` counts from 1 and is channels-last)."""

    dims: tuple[int, ...]

    default_prefix: ClassVar[str] = "permute"
    categories: ClassVar[tuple[str, ...]] = ("permute",)

    def __post_init__(self) -> None:
        super().__post_init__()
        dims = self.dims
        is_permutation = (
            isinstance(dims, (tuple, list)) and all(is_int(d) for d in dims) and sorted(dims) == list(range(len(dims)))
        )
        if not is_permutation or not dims:
            raise SpecError(f"{describe(self)}: dims must be a permutation of 0 .. n-1, got {dims!r}")
        set_field(self, "dims", tuple(dims))

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        shape = inputs[0]
        if len(shape) != len(self.dims):
            raise GeometryError(
                f"layer '{self.name}': dims {list(self.dims)} permute {len(self.dims)} axes, "
                f"but the input has shape {list(shape)}"
            )
        return tuple(shape[d] for d in self.dims)

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        return 0

    def type_stride(self, site: Site) -> str:
        return f"Permute {list(self.dims)}"


@kind
class ChannelShuffle(Layer):
    """ShuffleNet's channel shuffle: channels seen as ``(groups, C / groups)``, transposed, flattened
    back (torch ``nn.ChannelShuffle``, or reshape-transpose-reshape)."""

    groups: int = 2

    default_prefix: ClassVar[str] = "channel_shuffle"
    categories: ClassVar[tuple[str, ...]] = ("shuffle",)

    def __post_init__(self) -> None:
        super().__post_init__()
        set_field(self, "groups", positive_int(self, "groups", self.groups))

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        shape = inputs[0]
        if len(shape) < 2:
            raise GeometryError(
                f"layer '{self.name}': a channel shuffle needs (C, ...) with at least one spatial axis, "
                f"got shape {list(shape)}"
            )
        if shape[0] % self.groups:
            raise GeometryError(
                f"layer '{self.name}': channels ({shape[0]}) must be divisible by groups ({self.groups})"
            )
        return shape

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return ()

    def elementwise(self, site: Site) -> int:
        return 0

    def type_stride(self, site: Site) -> str:
        return f"Shuffle / g{self.groups}"
