"""Run a spec with the NumPy kernels and count what was really done.

This is the independent interpreter the closed form is held against: it never calls
``convcost.cost`` or ``convcost.conventions``. Each layer's output shape is read off the array the
kernel produced, its multiply-adds off the operands the kernel multiplied (``Tally``), and its
parameters off the arrays allocated for it. Weights are deterministic: every layer draws from its
own generator seeded by ``(seed, crc32(path))``, so a layer's weights do not depend on the others.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convcost.errors import GeometryError
from convcost.reference import depthwise
from convcost.reference import kernels as k
from convcost.spec import (
    Activation,
    Add,
    AvgPool2D,
    BatchNorm,
    Concat,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    Layer,
    MaxPool2D,
    Model,
    Parallel,
    Reshape,
    SeparableConv2D,
    Sequential,
    ZeroPadding2D,
)

Array = k.Array
#: ``path -> {array name -> array}``; BN's ``running_mean``/``running_var`` are the non-trainable ones
Weights = dict[str, dict[str, Array]]
NON_TRAINABLE = frozenset({"running_mean", "running_var"})
#: ``(layers done, path)`` after every leaf layer
Progress = Callable[[int, str], None]


@dataclass(frozen=True)
class LayerCount:
    """What one leaf layer really did. Shapes are per sample; ``macs`` covers the whole batch."""

    path: str
    kind: str
    input: tuple[int, ...]
    output: tuple[int, ...]
    trainable: int
    non_trainable: int
    macs: int

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable


@dataclass
class Execution:
    output: Array
    layers: list[LayerCount] = field(default_factory=list)
    weights: Weights = field(default_factory=dict)


def count_leaves(model: Model) -> int:
    """How many leaf rows (merges included) a run reports: the length of a progress bar."""
    return sum(1 for _ in model.layers())


def random_input(model: Model, seed: int = 0, dtype: Any = np.float32) -> Array:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((model.batch, *model.input)).astype(dtype)


def run(
    model: Model,
    x: Array | None = None,
    *,
    seed: int = 0,
    weights: Weights | None = None,
    dtype: Any = np.float32,
    progress: Progress | None = None,
) -> Execution:
    """Forward ``x`` (default: random, batch ``model.batch``) through ``model``; count every layer.

    ``weights`` given for a path are used as they are; missing ones are drawn from ``seed`` and
    returned in ``Execution.weights`` (so a test can load the very same weights into torch).
    """
    if x is None:
        x = random_input(model, seed, dtype)
    runner = _Runner(seed, dict(weights or {}), np.dtype(dtype), progress)
    output = runner.sequential(model.body, x, "", (x,))
    return Execution(output=output, layers=runner.counts, weights=runner.weights)


class _Runner:
    def __init__(self, seed: int, weights: Weights, dtype: np.dtype[Any], progress: Progress | None) -> None:
        self.seed = seed
        self.weights = weights
        self.dtype = dtype
        self.progress = progress
        self.counts: list[LayerCount] = []

    # -------------------------------------------------------------------------- containers

    def sequential(self, block: Sequential, x: Array, prefix: str, foreign: tuple[Array, ...]) -> Array:
        """``foreign``: arrays a kernel must not overwrite (the caller's input, a branch point's input)."""
        for layer in block.layers:
            path = prefix + layer.name
            if isinstance(layer, Sequential):
                x = self.sequential(layer, x, path + "/", foreign)
            elif isinstance(layer, Parallel):
                shared = (*foreign, x)
                outputs = [self.sequential(b, x, f"{path}/{b.name}/", shared) for b in layer.branches]
                x = self.leaf(layer.merge_layer(), path, outputs, owned=False)
            else:
                owned = not any(np.may_share_memory(x, f) for f in foreign)
                x = self.leaf(layer, path, [x], owned)
        return x

    def leaf(self, layer: Layer, path: str, inputs: list[Array], owned: bool) -> Array:
        tally = k.Tally()
        params: dict[str, Array] = {}
        try:
            out = self.apply(layer, path, inputs, tally, params, owned)
        except ValueError as e:
            raise GeometryError(f"layer '{path}' ({type(layer).__name__}): {e}") from None
        trainable = sum(a.size for name, a in params.items() if name not in NON_TRAINABLE)
        non_trainable = sum(a.size for name, a in params.items() if name in NON_TRAINABLE)
        self.counts.append(
            LayerCount(
                path=path,
                kind=type(layer).__name__,
                input=tuple(inputs[0].shape[1:]),
                output=tuple(out.shape[1:]),
                trainable=trainable,
                non_trainable=non_trainable,
                macs=tally.macs,
            )
        )
        if self.progress is not None:
            self.progress(len(self.counts), path)
        return out

    # -------------------------------------------------------------------------- parameters

    def param(self, path: str, params: dict[str, Array], name: str, shape: tuple[int, ...], kind: str) -> Array:
        """The layer's array ``name``: given, or drawn from the layer's own generator."""
        given = self.weights.setdefault(path, {})
        if name not in given:
            rng = np.random.default_rng([self.seed, zlib.crc32(f"{path}:{name}".encode())])
            fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
            if kind == "weight":  # He-normal keeps activations O(1) through a deep stack
                value = rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)
            elif kind == "variance":
                value = rng.uniform(0.5, 1.5, shape)
            else:
                value = rng.uniform(-0.1, 0.1, shape)
            given[name] = value.astype(self.dtype)
        array = given[name]
        if array.shape != shape:
            raise ValueError(f"weight {name!r} has shape {list(array.shape)}, expected {list(shape)}")
        params[name] = array
        return array

    # -------------------------------------------------------------------------- leaves

    def apply(
        self, layer: Layer, path: str, xs: list[Array], tally: k.Tally, params: dict[str, Array], owned: bool
    ) -> Array:
        x = xs[0]

        def param(name: str, shape: tuple[int, ...], kind: str = "weight") -> Array:
            return self.param(path, params, name, shape, kind)

        if isinstance(layer, (Conv2D, DepthwiseConv2D, SeparableConv2D, MaxPool2D, AvgPool2D, ZeroPadding2D)):
            _require_map(x)
        if isinstance(layer, Conv2D):
            kh, kw = layer.kernel  # type: ignore[misc]
            c = x.shape[1]
            if c % layer.groups:
                raise ValueError(f"input channels ({c}) must be divisible by groups ({layer.groups})")
            w = param("weight", (layer.filters, c // layer.groups, kh, kw))
            b = param("bias", (layer.filters,), "bias") if layer.bias else None
            return k.conv2d(x, w, b, layer.stride, layer.padding, layer.dilation, layer.groups, tally=tally)  # type: ignore[arg-type]
        if isinstance(layer, DepthwiseConv2D):
            kh, kw = layer.kernel  # type: ignore[misc]
            out_c = x.shape[1] * layer.depth_multiplier
            w = param("weight", (out_c, 1, kh, kw))
            b = param("bias", (out_c,), "bias") if layer.bias else None
            return depthwise.depthwise_conv2d(
                x,
                w,
                b,
                layer.stride,
                layer.padding,
                layer.dilation,
                layer.depth_multiplier,
                tally=tally,  # type: ignore[arg-type]
            )
        if isinstance(layer, SeparableConv2D):
            kh, kw = layer.kernel  # type: ignore[misc]
            mid = x.shape[1] * layer.depth_multiplier
            dw = param("depthwise_weight", (mid, 1, kh, kw))
            pw = param("pointwise_weight", (layer.filters, mid, 1, 1))
            b = param("bias", (layer.filters,), "bias") if layer.bias else None
            return depthwise.separable_conv2d(
                x,
                dw,
                pw,
                b,
                layer.stride,
                layer.padding,
                layer.dilation,
                layer.depth_multiplier,
                tally=tally,  # type: ignore[arg-type]
            )
        if isinstance(layer, Dense):
            w = param("weight", (layer.units, x.shape[1]))
            b = param("bias", (layer.units,), "bias") if layer.bias else None
            return k.linear(x, w, b, tally=tally)
        if isinstance(layer, BatchNorm):
            if x.ndim not in (2, 4):
                raise ValueError(f"BatchNorm needs (C,) or (C, H, W), got {list(x.shape[1:])}")
            c = x.shape[1]
            gamma = param("weight", (c,), "scale") if layer.scale else None
            beta = param("bias", (c,), "bias") if layer.center else None
            mean = param("running_mean", (c,), "bias")
            var = param("running_var", (c,), "variance")
            return k.batch_norm(x, mean, var, gamma, beta, inplace=owned)
        if isinstance(layer, Activation):
            return k.activation(x, layer.function, inplace=owned)
        if isinstance(layer, MaxPool2D):
            return k.max_pool2d(x, layer.pool, layer.stride, layer.padding)  # type: ignore[arg-type]
        if isinstance(layer, AvgPool2D):
            return k.avg_pool2d(x, layer.pool, layer.stride, layer.padding)  # type: ignore[arg-type]
        if isinstance(layer, GlobalAvgPool2D):
            _require_map(x)
            return k.global_avg_pool2d(x, layer.keepdims)
        if isinstance(layer, Flatten):
            return k.flatten(x)
        if isinstance(layer, Reshape):
            if math.prod(layer.target) != math.prod(x.shape[1:]):
                raise ValueError(f"cannot reshape {list(x.shape[1:])} to {list(layer.target)}")
            return x.reshape(x.shape[0], *layer.target)
        if isinstance(layer, ZeroPadding2D):
            return k.zero_pad2d(x, layer.padding)
        if isinstance(layer, Dropout):
            return x
        if isinstance(layer, Add):
            if any(a.shape != x.shape for a in xs):
                raise ValueError(f"cannot add branches of shapes {[list(a.shape[1:]) for a in xs]}")
            return k.add(*xs)
        if isinstance(layer, Concat):
            if any(a.ndim != x.ndim or a.shape[2:] != x.shape[2:] for a in xs):
                raise ValueError(f"cannot concatenate branches of shapes {[list(a.shape[1:]) for a in xs]}")
            return k.concat(*xs)
        raise ValueError(f"the reference has no kernel for {type(layer).__name__}")


def _require_map(x: Array) -> None:
    if x.ndim != 4:
        raise ValueError(f"needs a (C, H, W) feature map, got shape {list(x.shape[1:])}")
