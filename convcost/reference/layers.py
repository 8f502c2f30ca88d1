"""The reference kernel of every layer kind: a registry, one small function per kind.

A kernel gets the node's ``Call`` (its input arrays, the ``Tally`` to count into, whether it may
overwrite its input, and ``param`` to allocate a weight) and the layer, and returns the output
array. It allocates its weights itself, from the layer's fields and the arrays it is given: the
parameter count is read off what it allocates, never off the layer's declared weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from convcost.errors import MissingRuleError
from convcost.layer import Layer
from convcost.layers import (
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
    MaxPool2D,
    Reshape,
    SeparableConv2D,
    Unknown,
    ZeroPadding2D,
)
from convcost.reference import depthwise
from convcost.reference import kernels as k

Array = k.Array
L = TypeVar("L", bound=Layer)


@dataclass(frozen=True)
class Call:
    """One node being run."""

    inputs: list[Array]
    tally: k.Tally
    #: the kernel may write its output over its (only) input: nothing else reads it
    owned: bool
    #: ``param(name, shape, kind)``: the node's weight array ``name`` (kind: weight, bias, scale, variance)
    param: Callable[..., Array]

    @property
    def x(self) -> Array:
        return self.inputs[0]

    def feature_map(self) -> Array:
        """The input, which must be an ``(N, C, H, W)`` batch of maps."""
        if self.x.ndim != 4:
            raise ValueError(f"needs a (C, H, W) feature map, got shape {list(self.x.shape[1:])}")
        return self.x


Kernel = Callable[[Call, Any], Array]
KERNELS: dict[type[Layer], Kernel] = {}


def kernel(kind: type[L]) -> Callable[[Callable[[Call, L], Array]], Callable[[Call, L], Array]]:
    """Register the decorated function as the reference kernel of ``kind``."""

    def register(function: Callable[[Call, L], Array]) -> Callable[[Call, L], Array]:
        KERNELS[kind] = function
        return function

    return register


def kernel_for(layer: Layer) -> Kernel:
    try:
        return KERNELS[type(layer)]
    except KeyError:
        raise MissingRuleError(f"the reference has no kernel for {type(layer).__name__}") from None


@kernel(Conv2D)
def _conv2d(call: Call, layer: Conv2D) -> Array:
    x = call.feature_map()
    kh, kw = layer.kernel
    c = x.shape[1]
    if c % layer.groups:
        raise ValueError(f"input channels ({c}) must be divisible by groups ({layer.groups})")
    w = call.param("weight", (layer.filters, c // layer.groups, kh, kw))
    b = call.param("bias", (layer.filters,), "bias") if layer.bias else None
    return k.conv2d(x, w, b, layer.stride, layer.padding, layer.dilation, layer.groups, tally=call.tally)


@kernel(DepthwiseConv2D)
def _depthwise_conv2d(call: Call, layer: DepthwiseConv2D) -> Array:
    x = call.feature_map()
    kh, kw = layer.kernel
    out_c = x.shape[1] * layer.depth_multiplier
    w = call.param("weight", (out_c, 1, kh, kw))
    b = call.param("bias", (out_c,), "bias") if layer.bias else None
    return depthwise.depthwise_conv2d(
        x, w, b, layer.stride, layer.padding, layer.dilation, layer.depth_multiplier, tally=call.tally
    )


@kernel(SeparableConv2D)
def _separable_conv2d(call: Call, layer: SeparableConv2D) -> Array:
    x = call.feature_map()
    kh, kw = layer.kernel
    mid = x.shape[1] * layer.depth_multiplier
    dw = call.param("depthwise_weight", (mid, 1, kh, kw))
    pw = call.param("pointwise_weight", (layer.filters, mid, 1, 1))
    b = call.param("bias", (layer.filters,), "bias") if layer.bias else None
    return depthwise.separable_conv2d(
        x, dw, pw, b, layer.stride, layer.padding, layer.dilation, layer.depth_multiplier, tally=call.tally
    )


@kernel(Dense)
def _dense(call: Call, layer: Dense) -> Array:
    w = call.param("weight", (layer.units, call.x.shape[1]))
    b = call.param("bias", (layer.units,), "bias") if layer.bias else None
    return k.linear(call.x, w, b, tally=call.tally)


@kernel(BatchNorm)
def _batch_norm(call: Call, layer: BatchNorm) -> Array:
    x = call.x
    if x.ndim not in (2, 3, 4):
        raise ValueError(f"BatchNorm needs (C,), (C, L) or (C, H, W), got {list(x.shape[1:])}")
    c = x.shape[1]
    gamma = call.param("weight", (c,), "scale") if layer.scale else None
    beta = call.param("bias", (c,), "bias") if layer.center else None
    mean = call.param("running_mean", (c,), "bias")
    var = call.param("running_var", (c,), "variance")
    return k.batch_norm(x, mean, var, gamma, beta, inplace=call.owned)


@kernel(Activation)
def _activation(call: Call, layer: Activation) -> Array:
    return k.activation(call.x, layer.function, inplace=call.owned)


@kernel(MaxPool2D)
def _max_pool2d(call: Call, layer: MaxPool2D) -> Array:
    return k.max_pool2d(call.feature_map(), layer.pool, layer.stride, layer.padding)


@kernel(AvgPool2D)
def _avg_pool2d(call: Call, layer: AvgPool2D) -> Array:
    return k.avg_pool2d(call.feature_map(), layer.pool, layer.stride, layer.padding)


@kernel(GlobalAvgPool2D)
def _global_avg_pool2d(call: Call, layer: GlobalAvgPool2D) -> Array:
    return k.global_avg_pool2d(call.feature_map(), layer.keepdims)


@kernel(ZeroPadding2D)
def _zero_pad2d(call: Call, layer: ZeroPadding2D) -> Array:
    return k.zero_pad2d(call.feature_map(), layer.padding)


@kernel(Add)
def _add(call: Call, layer: Add) -> Array:
    if any(a.shape != call.x.shape for a in call.inputs):
        raise ValueError(f"cannot add inputs of shapes {[list(a.shape[1:]) for a in call.inputs]}")
    return k.add(*call.inputs)


@kernel(Concat)
def _concat(call: Call, layer: Concat) -> Array:
    x = call.x
    if any(a.ndim != x.ndim or a.shape[2:] != x.shape[2:] for a in call.inputs):
        raise ValueError(f"cannot concatenate inputs of shapes {[list(a.shape[1:]) for a in call.inputs]}")
    return k.concat(*call.inputs)


@kernel(Flatten)
def _flatten(call: Call, layer: Flatten) -> Array:
    return k.flatten(call.x)


@kernel(Reshape)
def _reshape(call: Call, layer: Reshape) -> Array:
    x = call.x
    if math.prod(layer.target) != math.prod(x.shape[1:]):
        raise ValueError(f"cannot reshape {list(x.shape[1:])} to {list(layer.target)}")
    return x.reshape(x.shape[0], *layer.target)


@kernel(Dropout)
def _dropout(call: Call, layer: Dropout) -> Array:
    return call.x  # the identity at inference


@kernel(Unknown)
def _unknown(call: Call, layer: Unknown) -> Array:
    # the reference cannot run what no one could map: it stands in with zeros of the recorded shape
    n = call.x.shape[0] if call.inputs else 1
    return np.zeros((n, *layer.output), dtype=call.x.dtype if call.inputs else np.float32)
