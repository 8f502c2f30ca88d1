"""The torch modules ``to_torch`` builds where torch has no single standard module.

This module imports torch (``convcost.interop.torch`` imports it only when a build is asked for).
The classes are defined at module level so that ``torch.save(to_torch(model))`` can serialise them.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
from torch import nn


class GraphModule(nn.Module):  # type: ignore[misc]
    """Runs a convcost graph: one child module per node (``nodes``), in topological order.

    ``wiring`` lists, per node, the module key and the names of the tensors it reads; the forward
    returns the single output, or a tuple when the graph has several.
    """

    def __init__(
        self,
        inputs: list[str],
        nodes: OrderedDict[str, nn.Module],
        wiring: list[tuple[str, str, tuple[str, ...]]],
        outputs: list[str],
    ) -> None:
        super().__init__()
        self.input_names = list(inputs)
        self.nodes = nn.ModuleDict(nodes)
        self.wiring = list(wiring)
        self.output_names = list(outputs)
        # readers left after each step: a tensor is dropped once nothing reads it (bounded memory)
        self.last_reader: dict[str, int] = {}
        for step, (_, _, reads) in enumerate(self.wiring):
            for name in reads:
                self.last_reader[name] = step

    def forward(self, *xs: Any) -> Any:
        env: dict[str, Any] = dict(zip(self.input_names, xs, strict=True))
        for step, (name, key, reads) in enumerate(self.wiring):
            env[name] = self.nodes[key](*(env[r] for r in reads))
            for r in set(reads):
                if self.last_reader.get(r) == step and r not in self.output_names:
                    del env[r]
        outputs = tuple(env[name] for name in self.output_names)
        return outputs[0] if len(outputs) == 1 else outputs


class SamePadded(nn.Sequential):  # type: ignore[misc]
    """Keras ``same`` padding that torch's symmetric ``padding`` cannot express: pad, then the layer."""


class SeparableConv2d(nn.Sequential):  # type: ignore[misc]
    """Keras SeparableConv2D: ``depthwise`` (grouped, no bias) then ``pointwise`` (1x1, the bias)."""


class PixelwiseLinear(nn.Module):  # type: ignore[misc]
    """Keras Dense on a feature map: one ``nn.Linear`` applied to the channels of every pixel."""

    def __init__(self, in_features: int, out_features: int, bias: bool) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=bias)

    def forward(self, x: Any) -> Any:
        return self.linear(x.movedim(1, -1)).movedim(-1, 1)


class GlobalAvgPool2d(nn.Module):  # type: ignore[misc]
    """Mean over the whole map, flattened to ``(N, C)`` (Keras GlobalAveragePooling2D)."""

    def forward(self, x: Any) -> Any:
        return torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)


class Reshape(nn.Module):  # type: ignore[misc]
    """Reshape every sample to ``target`` (channels-first)."""

    def __init__(self, target: tuple[int, ...]) -> None:
        super().__init__()
        self.target = tuple(target)

    def forward(self, x: Any) -> Any:
        return x.reshape(x.shape[0], *self.target)

    def extra_repr(self) -> str:
        return f"target={self.target}"


class Sum(nn.Module):  # type: ignore[misc]
    """The sum of two or more tensors (a residual merge), written ``a + b`` as models write it."""

    def forward(self, *xs: Any) -> Any:
        total = xs[0]
        for x in xs[1:]:
            total = total + x
        return total


class ChannelConcat(nn.Module):  # type: ignore[misc]
    """Concatenation along channels."""

    def forward(self, *xs: Any) -> Any:
        return torch.cat(xs, dim=1)
