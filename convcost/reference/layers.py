"""The reference kernel of every layer kind: a registry, one small function per kind.

A kernel gets the node's ``Call`` (its input arrays, the ``Tally`` to count into, whether it may
overwrite its input, and ``param`` to allocate a weight) and the layer, and returns the output
array. It allocates its weights itself, from the layer's fields and the arrays it is given: the
parameter count is read off what it allocates, never off the layer's declared weights.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from convcost.errors import MissingRuleError
from convcost.layer import Layer

# Family C (issue 12)
from convcost.layers import (
    Activation,
    Add,
    AvgPool2D,
    BatchNorm,
    ChannelShuffle,
    Concat,
    Conv1DTranspose,
    Conv2D,
    Conv2DTranspose,
    Cropping1D,
    Cropping2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    MaxPool2D,
    Pad2D,
    Permute,
    Reshape,
    Resize,
    SeparableConv2D,
    Slice,
    Unknown,
    UpSampling2D,
    WeightOp,
    ZeroPadding1D,
    ZeroPadding2D,
)
from convcost.layers.elementwise import (
    Average,
    Divide,
    DropPath,
    Identity,
    LayerScale,
    Maximum,
    Minimum,
    Multiply,
    Normalization,
    PReLU,
    Rescaling,
    ScalarOp,
    Subtract,
)
from convcost.layers.transposed import transposed_crop
from convcost.record import record
from convcost.reference import depthwise, resampling
from convcost.reference import kernels as k

Array = k.Array
L = TypeVar("L", bound=Layer)


@record
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
    return k.max_pool2d(call.feature_map(), layer.pool, layer.stride, layer.padding, layer.ceil_mode)


@kernel(AvgPool2D)
def _avg_pool2d(call: Call, layer: AvgPool2D) -> Array:
    x = call.feature_map()
    padding: object = layer.padding
    if padding == "same" and layer.includes_padding:  # 'same' pads, counted in the mean as asked
        padding = k.resolve_padding("same", (x.shape[2], x.shape[3]), layer.pool, layer.stride, (1, 1))
    return k.avg_pool2d(x, layer.pool, layer.stride, padding, layer.includes_padding, layer.ceil_mode)


@kernel(GlobalAvgPool2D)
def _global_avg_pool2d(call: Call, layer: GlobalAvgPool2D) -> Array:
    return k.global_avg_pool2d(call.feature_map(), layer.keepdims)


@kernel(ZeroPadding2D)
def _zero_pad2d(call: Call, layer: ZeroPadding2D) -> Array:
    return k.zero_pad2d(call.feature_map(), layer.padding)


@kernel(Add)
def _add(call: Call, layer: Add) -> Array:
    _check_broadcast(call, "add")
    return k.add(*call.inputs, tally=call.tally)


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


#: WeightOp's operations on (x, w)
_WEIGHT_OPS: dict[str, Callable[[Array, Array], Array]] = {
    "add": lambda x, w: x + w,
    "subtract": lambda x, w: x - w,
    "rsubtract": lambda x, w: w - x,
    "multiply": lambda x, w: x * w,
    "divide": lambda x, w: x / w,
    "rdivide": lambda x, w: w / x,
}


@kernel(WeightOp)
def _weight_op(call: Call, layer: WeightOp) -> Array:
    x = call.x
    if x.ndim - 1 != len(layer.shape):
        raise ValueError(f"weights of shape {list(layer.shape)} for an input of shape {list(x.shape[1:])}")
    # drawn in [0.5, 1.5] ("variance"): a divisor far from zero; the batch axis broadcasts
    w = call.param("weight", layer.shape, "variance")
    return np.asarray(_WEIGHT_OPS[layer.op](x, w[np.newaxis]), dtype=x.dtype)


@kernel(Unknown)
def _unknown(call: Call, layer: Unknown) -> Array:
    # the reference cannot run what no one could map: it stands in with zeros of the recorded shape
    # (and holds the parameters the op reads, so that the parameter count is the declared one)
    for name, shape, _ in layer.params:
        call.param(name, shape)
    n = call.x.shape[0] if call.inputs else 1
    return np.zeros((n, *layer.output), dtype=call.x.dtype if call.inputs else np.float32)


# ---------------------------------------------------------------------------------- family A (issue 12)
# element-wise merges, arithmetic with a constant, preprocessing, learned scales, PReLU, identities


def _check_broadcast(call: Call, verb: str) -> None:
    """The inputs broadcast sample by sample: one rank, each size equal or 1 (as the declaration says)."""
    shapes = [a.shape for a in call.inputs]
    try:
        if any(len(shape) != len(shapes[0]) for shape in shapes):
            raise ValueError
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"cannot {verb} inputs of shapes {[list(shape[1:]) for shape in shapes]}") from None


@kernel(Multiply)
def _multiply(call: Call, layer: Multiply) -> Array:
    _check_broadcast(call, layer.verb)
    return k.merge("multiply", *call.inputs, tally=call.tally)


@kernel(Subtract)
def _subtract(call: Call, layer: Subtract) -> Array:
    _check_broadcast(call, layer.verb)
    return k.merge("subtract", *call.inputs, tally=call.tally)


@kernel(Divide)
def _divide(call: Call, layer: Divide) -> Array:
    _check_broadcast(call, layer.verb)
    return k.merge("divide", *call.inputs, tally=call.tally)


@kernel(Maximum)
def _maximum(call: Call, layer: Maximum) -> Array:
    _check_broadcast(call, layer.verb)
    return k.merge("maximum", *call.inputs, tally=call.tally)


@kernel(Minimum)
def _minimum(call: Call, layer: Minimum) -> Array:
    _check_broadcast(call, layer.verb)
    return k.merge("minimum", *call.inputs, tally=call.tally)


@kernel(Average)
def _average(call: Call, layer: Average) -> Array:
    _check_broadcast(call, layer.verb)
    return k.average(*call.inputs, tally=call.tally)


@kernel(ScalarOp)
def _scalar_op(call: Call, layer: ScalarOp) -> Array:
    return k.scalar_op(call.x, layer.op, layer.value, tally=call.tally)


def _constants(values: float | tuple[float, ...], size: int) -> Array:
    """A layer's constant(s) as an array: one value, or one per channel (``size`` of them)."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim and array.size not in (1, size):
        raise ValueError(f"{array.size} constants for an axis of {size}")
    return array


@kernel(Rescaling)
def _rescaling(call: Call, layer: Rescaling) -> Array:
    c = call.x.shape[1]
    return k.rescale(call.x, _constants(layer.scale, c), _constants(layer.offset, c), tally=call.tally)


@kernel(Normalization)
def _normalization(call: Call, layer: Normalization) -> Array:
    x = call.x
    sample_axis = layer.axis % (x.ndim - 1) if -(x.ndim - 1) <= layer.axis < x.ndim - 1 else None
    if sample_axis is None:
        raise ValueError(f"axis {layer.axis} is out of range for an input of shape {list(x.shape[1:])}")
    size = x.shape[sample_axis + 1]
    if layer.mean is not None and layer.variance is not None:
        mean, variance = _constants(layer.mean, size), _constants(layer.variance, size)
    else:
        mean = call.param("mean", (size,), "bias")
        variance = call.param("variance", (size,), "variance")
        call.param("count", (), "bias")  # Keras keeps the number of samples it adapted on
    return k.normalize(x, mean, variance, sample_axis + 1, layer.invert, tally=call.tally)


@kernel(LayerScale)
def _layer_scale(call: Call, layer: LayerScale) -> Array:
    x = call.x
    if not -(x.ndim - 1) <= layer.axis < x.ndim - 1:
        raise ValueError(f"axis {layer.axis} is out of range for an input of shape {list(x.shape[1:])}")
    sample_axis = layer.axis % (x.ndim - 1)
    gamma = call.param("gamma", () if layer.scalar else (x.shape[sample_axis + 1],), "scale")
    return k.layer_scale(x, gamma, sample_axis + 1, tally=call.tally)


@kernel(PReLU)
def _prelu(call: Call, layer: PReLU) -> Array:
    sample = call.x.shape[1:]
    shape = sample if layer.shared == "element" else (sample[0],) if layer.shared == "channel" else (1,)
    return k.prelu(call.x, call.param("weight", shape, "scale"), tally=call.tally)


@kernel(Identity)
def _identity(call: Call, layer: Identity) -> Array:
    return call.x


@kernel(DropPath)
def _drop_path(call: Call, layer: DropPath) -> Array:
    return call.x  # the identity at inference


# ---------------------------------------------------------------------------------- issue 12, family B
# normalisation, pooling, 1-D convnets (the imports sit here so the three families merge apart)

from convcost.geometry import same_padding  # noqa: E402
from convcost.layers import (  # noqa: E402
    AdaptiveAvgPool2D,
    AdaptiveMaxPool2D,
    AvgPool1D,
    Conv1D,
    DepthwiseConv1D,
    GlobalAvgPool1D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GroupNorm,
    InstanceNorm,
    LayerNorm,
    MaxPool1D,
    SeparableConv1D,
)


def _sequence(call: Call) -> Array:
    """The input, which must be an ``(N, C, L)`` batch of sequences."""
    if call.x.ndim != 3:
        raise ValueError(f"needs a (C, L) sequence, got shape {list(call.x.shape[1:])}")
    return call.x


@kernel(LayerNorm)
def _layer_norm(call: Call, layer: LayerNorm) -> Array:
    x = call.x
    sample = x.shape[1:]
    if not -len(sample) <= layer.axis < len(sample):
        raise ValueError(f"LayerNorm over axis {layer.axis} of a shape {list(sample)}")
    axis = layer.axis % len(sample) + 1  # the batch axis comes first
    size = x.shape[axis]
    gamma = call.param("weight", (size,), "scale") if layer.scale else None
    beta = call.param("bias", (size,), "bias") if layer.center else None
    return k.layer_norm(x, axis, gamma, beta)


@kernel(GroupNorm)
def _group_norm(call: Call, layer: GroupNorm) -> Array:
    c = call.x.shape[1]
    gamma = call.param("weight", (c,), "scale") if layer.scale else None
    beta = call.param("bias", (c,), "bias") if layer.center else None
    return k.group_norm(call.x, layer.groups, gamma, beta)


@kernel(InstanceNorm)
def _instance_norm(call: Call, layer: InstanceNorm) -> Array:
    x = call.x
    if x.ndim not in (3, 4):
        raise ValueError(f"InstanceNorm needs (C, L) or (C, H, W), got {list(x.shape[1:])}")
    c = x.shape[1]
    gamma = call.param("weight", (c,), "scale") if layer.affine else None
    beta = call.param("bias", (c,), "bias") if layer.affine else None
    mean = var = None
    if layer.track_running_stats:
        mean = call.param("running_mean", (c,), "bias")
        var = call.param("running_var", (c,), "variance")
    return k.instance_norm(x, gamma, beta, mean, var)


@kernel(GlobalMaxPool2D)
def _global_max_pool2d(call: Call, layer: GlobalMaxPool2D) -> Array:
    return k.global_max_pool2d(call.feature_map(), layer.keepdims)


@kernel(AdaptiveAvgPool2D)
def _adaptive_avg_pool2d(call: Call, layer: AdaptiveAvgPool2D) -> Array:
    return k.adaptive_avg_pool2d(call.feature_map(), layer.output)


@kernel(AdaptiveMaxPool2D)
def _adaptive_max_pool2d(call: Call, layer: AdaptiveMaxPool2D) -> Array:
    return k.adaptive_max_pool2d(call.feature_map(), layer.output)


@kernel(MaxPool1D)
def _max_pool1d(call: Call, layer: MaxPool1D) -> Array:
    return k.max_pool1d(_sequence(call), layer.pool, layer.stride, layer.padding, layer.ceil_mode)


@kernel(AvgPool1D)
def _avg_pool1d(call: Call, layer: AvgPool1D) -> Array:
    x = _sequence(call)
    padding: object = layer.padding
    if padding == "same" and layer.includes_padding:  # 'same' pads, counted in the mean as asked
        padding = same_padding(x.shape[2], layer.pool, layer.stride)
    return k.avg_pool1d(x, layer.pool, layer.stride, padding, layer.includes_padding, layer.ceil_mode)


@kernel(GlobalAvgPool1D)
def _global_avg_pool1d(call: Call, layer: GlobalAvgPool1D) -> Array:
    return np.asarray(_sequence(call).mean(axis=2, keepdims=layer.keepdims))


@kernel(GlobalMaxPool1D)
def _global_max_pool1d(call: Call, layer: GlobalMaxPool1D) -> Array:
    return np.asarray(_sequence(call).max(axis=2, keepdims=layer.keepdims))


@kernel(Conv1D)
def _conv1d(call: Call, layer: Conv1D) -> Array:
    x = _sequence(call)
    c = x.shape[1]
    if c % layer.groups:
        raise ValueError(f"input channels ({c}) must be divisible by groups ({layer.groups})")
    w = call.param("weight", (layer.filters, c // layer.groups, layer.kernel))
    b = call.param("bias", (layer.filters,), "bias") if layer.bias else None
    return k.conv1d(x, w, b, layer.stride, layer.padding, layer.dilation, layer.groups, tally=call.tally)


def _row(padding: object, length: int, kernel: int, stride: int, dilation: int) -> k.Pads:
    """A 1-D padding as the pads of a map one row high."""
    return k.padding1d(padding, length, kernel, stride, dilation)


@kernel(DepthwiseConv1D)
def _depthwise_conv1d(call: Call, layer: DepthwiseConv1D) -> Array:
    x = _sequence(call)
    out_c = x.shape[1] * layer.depth_multiplier
    w = call.param("weight", (out_c, 1, layer.kernel))
    b = call.param("bias", (out_c,), "bias") if layer.bias else None
    pads = _row(layer.padding, x.shape[2], layer.kernel, layer.stride, layer.dilation)
    out = depthwise.depthwise_conv2d(
        x[:, :, None, :],
        w[:, :, None, :],
        b,
        (1, layer.stride),
        pads,
        (1, layer.dilation),
        layer.depth_multiplier,
        tally=call.tally,
    )
    return out[:, :, 0, :]


@kernel(SeparableConv1D)
def _separable_conv1d(call: Call, layer: SeparableConv1D) -> Array:
    x = _sequence(call)
    mid = x.shape[1] * layer.depth_multiplier
    dw = call.param("depthwise_weight", (mid, 1, layer.kernel))
    pw = call.param("pointwise_weight", (layer.filters, mid, 1))
    b = call.param("bias", (layer.filters,), "bias") if layer.bias else None
    pads = _row(layer.padding, x.shape[2], layer.kernel, layer.stride, layer.dilation)
    out = depthwise.separable_conv2d(
        x[:, :, None, :],
        dw[:, :, None, :],
        pw[:, :, None, :],
        b,
        (1, layer.stride),
        pads,
        (1, layer.dilation),
        layer.depth_multiplier,
        tally=call.tally,
    )
    return out[:, :, 0, :]


# ---------------------------------------------------------------------------------- Family C (issue 12)
# resolution changes, channel plumbing, padding (kernels in convcost.reference.resampling)


@kernel(Conv2DTranspose)
def _conv2d_transpose(call: Call, layer: Conv2DTranspose) -> Array:
    x = call.feature_map()
    kh, kw = layer.kernel
    c = x.shape[1]
    if c % layer.groups:
        raise ValueError(f"input channels ({c}) must be divisible by groups ({layer.groups})")
    w = call.param("weight", (c, layer.filters // layer.groups, kh, kw))
    b = call.param("bias", (layer.filters,), "bias") if layer.bias else None
    crops = tuple(transposed_crop(axis) for axis in layer.axes())
    return resampling.conv_transpose2d(
        x, w, b, layer.stride, layer.dilation, layer.groups, (crops[0], crops[1]), tally=call.tally
    )


@kernel(Conv1DTranspose)
def _conv1d_transpose(call: Call, layer: Conv1DTranspose) -> Array:
    x = call.x
    if x.ndim != 3:
        raise ValueError(f"needs a (C, L) sequence, got shape {list(x.shape[1:])}")
    c = x.shape[1]
    if c % layer.groups:
        raise ValueError(f"input channels ({c}) must be divisible by groups ({layer.groups})")
    w = call.param("weight", (c, layer.filters // layer.groups, layer.kernel))
    b = call.param("bias", (layer.filters,), "bias") if layer.bias else None
    (axis,) = layer.axes()
    return resampling.conv_transpose1d(
        x, w, b, layer.stride, layer.dilation, layer.groups, transposed_crop(axis), tally=call.tally
    )


@kernel(UpSampling2D)
def _up_sampling2d(call: Call, layer: UpSampling2D) -> Array:
    return resampling.upsample(call.feature_map(), layer.size, layer.interpolation, layer.align_corners)


@kernel(Resize)
def _resize(call: Call, layer: Resize) -> Array:
    return resampling.resize(call.feature_map(), layer.output, layer.interpolation, layer.align_corners)


@kernel(Cropping2D)
def _cropping2d(call: Call, layer: Cropping2D) -> Array:
    return resampling.crop(call.feature_map(), layer.cropping)


@kernel(Cropping1D)
def _cropping1d(call: Call, layer: Cropping1D) -> Array:
    if call.x.ndim != 3:
        raise ValueError(f"needs a (C, L) sequence, got shape {list(call.x.shape[1:])}")
    return resampling.crop(call.x, (layer.cropping,))


@kernel(Slice)
def _slice(call: Call, layer: Slice) -> Array:
    x = call.x
    rank = x.ndim - 1
    if not -rank <= layer.axis < rank:
        raise ValueError(f"axis {layer.axis} does not exist in shape {list(x.shape[1:])}")
    axis = layer.axis % rank
    out = x[(slice(None),) * (axis + 1) + (slice(layer.start, layer.stop, layer.step),)]
    if out.shape[axis + 1] == 0:
        raise ValueError(f"slice {layer.start}:{layer.stop}:{layer.step} of axis {layer.axis} is empty")
    return out


@kernel(Permute)
def _permute(call: Call, layer: Permute) -> Array:
    x = call.x
    if x.ndim - 1 != len(layer.dims):
        raise ValueError(f"dims {list(layer.dims)} do not fit shape {list(x.shape[1:])}")
    return x.transpose(0, *(d + 1 for d in layer.dims))


@kernel(ChannelShuffle)
def _channel_shuffle(call: Call, layer: ChannelShuffle) -> Array:
    if call.x.ndim < 3:
        raise ValueError(f"a channel shuffle needs (C, ...) with a spatial axis, got {list(call.x.shape[1:])}")
    return resampling.channel_shuffle(call.x, layer.groups)


@kernel(Pad2D)
def _pad2d(call: Call, layer: Pad2D) -> Array:
    return resampling.pad2d(call.feature_map(), layer.padding, layer.mode, layer.value)


@kernel(ZeroPadding1D)
def _zero_padding1d(call: Call, layer: ZeroPadding1D) -> Array:
    x = call.x
    if x.ndim != 3:
        raise ValueError(f"needs a (C, L) sequence, got shape {list(x.shape[1:])}")
    return np.pad(x, ((0, 0), (0, 0), layer.padding))
