"""Named counting conventions: which work and which parameters a total includes.

Tools disagree about what a layer "costs"; convcost names the rule it applies. Each convention is
a function ``(layer, input shape, output shape) -> Cost`` for one sample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from convcost import cost
from convcost.cost import Cost
from convcost.errors import UnknownConventionError
from convcost.spec import BatchNorm, Layer, Shape

LayerCost = Callable[[Layer, Shape, Shape], Cost]


@dataclass(frozen=True)
class Convention:
    name: str
    summary: str
    layer_cost: LayerCost


def paper(layer: Layer, in_shape: Shape, out_shape: Shape) -> Cost:
    """MobileNet paper: conv and fully-connected multiply-adds and weights (with bias); nothing else."""
    return cost.weighted(layer, in_shape, out_shape) or Cost()


def keras(layer: Layer, in_shape: Shape, out_shape: Shape) -> Cost:
    """``model.count_params()``: the paper's counts plus BatchNorm's 2 trainable + 2 frozen per channel."""
    if isinstance(layer, BatchNorm):
        return cost.batchnorm_keras(layer, in_shape)
    return paper(layer, in_shape, out_shape)


CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention(
            "paper",
            "conv and fully-connected multiply-adds and weights (biases included); no BN, activation or pooling",
            paper,
        ),
        Convention(
            "keras",
            "params as Keras count_params(): BN adds 2 trainable + 2 non-trainable per channel; "
            "multiply-adds as paper",
            keras,
        ),
    )
}


def get_convention(name: str) -> Convention:
    try:
        return CONVENTIONS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, CONVENTIONS, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise UnknownConventionError(
            f"unknown convention {name!r}{hint} (known: {', '.join(CONVENTIONS)})"
        ) from None
