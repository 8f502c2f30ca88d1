"""An operation a reader could not map, kept with its output shape so the rest can still be costed.

Readers produce it only when asked to (``strict=False``, the CLI's ``--allow-unknown``); reports
list every ``Unknown`` node and mark their totals as lower bounds. It costs no work in any
convention: that zero is the point of the flag, and it is always shown. The parameters the
operation reads (a custom module's own weight in an op no rule maps) stay on it as ``params``,
so no parameter of the network is lost.
"""

from __future__ import annotations

from typing import ClassVar

from convcost.errors import SpecError
from convcost.layer import Layer, Shape, Site, Weight, describe, kind, set_field, shape_field


@kind
class Unknown(Layer):
    """``op`` (what the framework called it) with the ``output`` shape the framework computed."""

    op: str = ""
    output: tuple[int, ...] = ()
    #: the parameters it reads that no other node holds: ``(name, shape, trainable)`` each
    params: tuple[tuple[str, tuple[int, ...], bool], ...] = ()

    default_prefix: ClassVar[str] = "unknown"
    categories: ClassVar[tuple[str, ...]] = ("unknown",)
    min_inputs: ClassVar[int] = 0  # a tensor made inside forward (torch.zeros) reads none
    max_inputs: ClassVar[int | None] = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.op, str) or not self.op:
            raise SpecError(f"{describe(self)}: op must name the unsupported operation, got {self.op!r}")
        set_field(self, "output", shape_field(self, "output", self.output))
        params = self.params
        if not isinstance(params, (tuple, list)) or not all(_is_param(p) for p in params):
            raise SpecError(
                f"{describe(self)}: params must be a list of [name, [shape], trainable] entries, got {params!r}"
            )
        set_field(self, "params", tuple((name, tuple(shape), trainable) for name, shape, trainable in params))

    def output_shape(self, inputs: tuple[Shape, ...]) -> Shape:
        return self.output

    def weights(self, site: Site) -> tuple[Weight, ...]:
        return tuple(Weight(name, shape, trainable) for name, shape, trainable in self.params)

    def elementwise(self, site: Site) -> int:
        return 0

    def type_stride(self, site: Site) -> str:
        return f"? {self.op}"


def _is_param(entry: object) -> bool:
    if not isinstance(entry, (tuple, list)) or len(entry) != 3:
        return False
    name, shape, trainable = entry
    shape_ok = isinstance(shape, (tuple, list)) and all(isinstance(d, int) and d >= 0 for d in shape)
    return isinstance(name, str) and bool(name) and shape_ok and isinstance(trainable, bool)
