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


class WeightOperation(nn.Module):  # type: ignore[misc]
    """``x op w`` with a learned tensor ``value`` broadcast over the batch (convcost's WeightOp)."""

    def __init__(self, op: str, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.op = op
        self.value = nn.Parameter(torch.empty(shape).uniform_(0.5, 1.5))

    def forward(self, x: Any) -> Any:
        w = self.value
        if self.op == "add":
            return x + w
        if self.op == "subtract":
            return x - w
        if self.op == "rsubtract":
            return w - x
        if self.op == "multiply":
            return x * w
        if self.op == "divide":
            return x / w
        return w / x

    def extra_repr(self) -> str:
        return f"op={self.op!r}, shape={tuple(self.value.shape)}"


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


# ---------------------------------------------------------------------------------- family A (issue 12)
# Written as models write them: Python operators (``a * b``, ``x + 3``), which no counting tool
# patches, so each tool counts what it would count in a model that uses them.


class Product(nn.Module):  # type: ignore[misc]
    """``a * b * ...`` (squeeze-excite's ``x * gate``), broadcasting."""

    def forward(self, *xs: Any) -> Any:
        total = xs[0]
        for x in xs[1:]:
            total = total * x
        return total


class Difference(nn.Module):  # type: ignore[misc]
    """``a - b``."""

    def forward(self, a: Any, b: Any) -> Any:
        return a - b


class Quotient(nn.Module):  # type: ignore[misc]
    """``a / b``."""

    def forward(self, a: Any, b: Any) -> Any:
        return a / b


class ElementwiseMaximum(nn.Module):  # type: ignore[misc]
    """``torch.maximum`` of two or more tensors, left to right."""

    def forward(self, *xs: Any) -> Any:
        out = xs[0]
        for x in xs[1:]:
            out = torch.maximum(out, x)
        return out


class ElementwiseMinimum(nn.Module):  # type: ignore[misc]
    """``torch.minimum`` of two or more tensors, left to right."""

    def forward(self, *xs: Any) -> Any:
        out = xs[0]
        for x in xs[1:]:
            out = torch.minimum(out, x)
        return out


class Average(nn.Module):  # type: ignore[misc]
    """``(a + b + ...) / n``."""

    def forward(self, *xs: Any) -> Any:
        total = xs[0]
        for x in xs[1:]:
            total = total + x
        return total / len(xs)


class ScalarOp(nn.Module):  # type: ignore[misc]
    """One tensor and a constant: ``x + c``, ``c - x``, ``x ** c``, ``torch.clamp`` for max / min."""

    def __init__(self, op: str, value: float) -> None:
        super().__init__()
        self.op = op
        self.value = value

    def forward(self, x: Any) -> Any:
        c = self.value
        if self.op == "add":
            return x + c
        if self.op == "subtract":
            return x - c
        if self.op == "rsubtract":
            return c - x
        if self.op == "multiply":
            return x * c
        if self.op == "divide":
            return x / c
        if self.op == "rdivide":
            return c / x
        if self.op == "power":
            return x**c
        if self.op == "maximum":
            return torch.clamp(x, min=c)
        return torch.clamp(x, max=c)

    def extra_repr(self) -> str:
        return f"op={self.op!r}, value={self.value!r}"


def _along(values: Any, axis: int, rank: int) -> Any:
    """A 1-D tensor shaped to broadcast along ``axis`` (of one sample of ``rank`` axes), batch in front."""
    shape = [1] * (rank + 1)
    shape[axis + 1] = -1
    return values.reshape(shape)


def _constant(values: Any, axis: int, rank: int) -> Any:
    """A number or one per position of ``axis``, shaped to broadcast: a constant of the layer's config."""
    return _along(torch.tensor(values, dtype=torch.float32).reshape(-1), axis, rank)


class Rescaling(nn.Module):  # type: ignore[misc]
    """Keras Rescaling, ``x * scale + offset``. Scale and offset are constants of the config: held as
    non-persistent buffers, so they follow the module (``.to``), a reader sees their values, and they
    are no state (``state_dict``), as the declaration has no weights; no tool counts buffers."""

    def __init__(self, scale: Any, offset: Any, rank: int) -> None:
        super().__init__()
        self.register_buffer("scale", _constant(scale, 0, rank), persistent=False)
        self.register_buffer("offset", _constant(offset, 0, rank), persistent=False)

    def forward(self, x: Any) -> Any:
        return x * self.scale + self.offset


class Normalization(nn.Module):  # type: ignore[misc]
    """Keras Normalization along ``axis``: ``(x - mean) / max(sqrt(variance), 1e-7)``. Without given
    statistics, mean, variance and count are buffers (Keras does not train them; the torch tools do
    not count buffers); given, they are constants of the config: non-persistent buffers, no state."""

    def __init__(self, size: int, axis: int, rank: int, invert: bool, mean: Any = None, variance: Any = None) -> None:
        super().__init__()
        self.axis, self.rank, self.invert = axis, rank, invert
        if mean is not None:  # constants of the config: no state, as for Rescaling
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).expand(size).clone(), persistent=False)
            variance = torch.tensor(variance, dtype=torch.float32).expand(size).clone()
            self.register_buffer("variance", variance, persistent=False)
        else:
            self.register_buffer("mean", torch.zeros(size))
            self.register_buffer("variance", torch.ones(size))
            self.register_buffer("count", torch.zeros((), dtype=torch.int64))

    def forward(self, x: Any) -> Any:
        std = torch.clamp(torch.sqrt(_along(self.variance, self.axis, self.rank)), min=1e-7)
        mean = _along(self.mean, self.axis, self.rank)
        return x * std + mean if self.invert else (x - mean) / std


class LayerScale(nn.Module):  # type: ignore[misc]
    """``x * gamma``: a learned value per position of ``axis`` (ConvNeXt's ``gamma``), or one scalar."""

    def __init__(self, size: int | None, axis: int, rank: int) -> None:
        super().__init__()
        self.axis, self.rank = axis, rank
        self.gamma = nn.Parameter(torch.full(() if size is None else (size,), 1e-6))

    def forward(self, x: Any) -> Any:
        gamma = self.gamma if self.gamma.dim() == 0 else _along(self.gamma, self.axis, self.rank)
        return x * gamma


class ElementPReLU(nn.Module):  # type: ignore[misc]
    """PReLU with one slope per value (Keras' default), which ``nn.PReLU`` cannot hold."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.full(shape, 0.25))

    def forward(self, x: Any) -> Any:
        return torch.where(x >= 0, x, x * self.weight)


class DropPath(nn.Module):  # type: ignore[misc]
    """Stochastic depth as timm writes it: drops a sample's whole branch while training, identity in eval."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.rate = rate

    def forward(self, x: Any) -> Any:
        if not self.training or self.rate == 0:
            return x
        keep = 1 - self.rate
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"rate={self.rate}"


# ---------------------------------------------------------------------------------- issue 12, family B


class LayerNormOverAxis(nn.Module):  # type: ignore[misc]
    """``nn.LayerNorm`` over one axis that is not the last (ConvNeXt's channels of an NCHW map): the
    axis is moved last, normalised by the ``norm`` child, and moved back."""

    def __init__(self, dim: int, size: int, elementwise_affine: bool, bias: bool) -> None:
        super().__init__()
        self.dim = dim
        self.norm = nn.LayerNorm(size, elementwise_affine=elementwise_affine, bias=bias)

    def forward(self, x: Any) -> Any:
        return self.norm(x.movedim(self.dim, -1)).movedim(-1, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class GlobalMaxPool2d(nn.Module):  # type: ignore[misc]
    """Maximum over the whole map, flattened to ``(N, C)`` (Keras GlobalMaxPooling2D)."""

    def forward(self, x: Any) -> Any:
        return torch.nn.functional.adaptive_max_pool2d(x, 1).flatten(1)


class GlobalAvgPool1d(nn.Module):  # type: ignore[misc]
    """Mean over the sequence, flattened to ``(N, C)`` (Keras GlobalAveragePooling1D)."""

    def forward(self, x: Any) -> Any:
        return torch.nn.functional.adaptive_avg_pool1d(x, 1).flatten(1)


class GlobalMaxPool1d(nn.Module):  # type: ignore[misc]
    """Maximum over the sequence, flattened to ``(N, C)`` (Keras GlobalMaxPooling1D)."""

    def forward(self, x: Any) -> Any:
        return torch.nn.functional.adaptive_max_pool1d(x, 1).flatten(1)


class SeparableConv1d(nn.Sequential):  # type: ignore[misc]
    """Keras SeparableConv1D: ``depthwise`` (grouped, no bias) then ``pointwise`` (k = 1, the bias)."""


# ---------------------------------------------------------------------------------- Family C (issue 12)


class TransposedCropped(nn.Sequential):  # type: ignore[misc]
    """A transposed convolution whose rows to remove torch's symmetric ``padding`` cannot say (Keras
    ``same`` removing one more row at the end): ``conv`` (``nn.ConvTranspose*d``), then ``crop``."""


class Crop(nn.Module):  # type: ignore[misc]
    """Removes ``(before, after)`` positions from each of the last ``len(sides)`` axes (``x[..., a:-b]``)."""

    def __init__(self, sides: tuple[tuple[int, int], ...]) -> None:
        super().__init__()
        self.sides = tuple(sides)

    def forward(self, x: Any) -> Any:
        first = x.dim() - len(self.sides)
        index = [slice(None)] * first
        for (before, after), size in zip(self.sides, x.shape[first:], strict=True):
            index.append(slice(before, size - after))
        return x[tuple(index)]

    def extra_repr(self) -> str:
        return f"sides={self.sides}"


class SliceAxis(nn.Module):  # type: ignore[misc]
    """``x[start:stop:step]`` along per-sample ``axis`` (0: the channels): a channel split's part."""

    def __init__(self, axis: int, start: int, stop: int | None, step: int) -> None:
        super().__init__()
        self.axis, self.start, self.stop, self.step = axis, start, stop, step

    def forward(self, x: Any) -> Any:
        return x[(slice(None),) * (self.axis + 1) + (slice(self.start, self.stop, self.step),)]

    def extra_repr(self) -> str:
        return f"axis={self.axis}, start={self.start}, stop={self.stop}, step={self.step}"


class Permute(nn.Module):  # type: ignore[misc]
    """Reorders the per-sample axes: ``x.permute(0, *[d + 1 for d in dims])``."""

    def __init__(self, dims: tuple[int, ...]) -> None:
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: Any) -> Any:
        return x.permute(0, *(d + 1 for d in self.dims))

    def extra_repr(self) -> str:
        return f"dims={self.dims}"
