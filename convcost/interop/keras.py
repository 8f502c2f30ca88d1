"""spec <-> Keras: ``to_keras(model)``, ``from_keras(model)``, and ``from_keras_json(text)`` without Keras.

Keras is channels-last; specs are channels-first, so shapes and ``Reshape`` targets are turned
around at the border. ``to_keras`` builds a Functional model with one Keras layer per node, looked
up in ``BUILDERS`` by layer kind and named after the node's path ('/' becomes '_', Keras names
cannot hold it). Keras has no explicit padding on a layer, so explicit padding becomes a
``ZeroPadding2D`` named ``<layer>_pad`` first.

``from_keras_json`` reads the JSON of ``model.to_json()`` (Keras 3, and Keras 2's inbound-node
lists) as plain data: nothing in the file is imported or executed. Every Keras layer becomes a
node reading the nodes its inbound node names (a Functional config is a graph already); a Lambda,
a custom or an unknown layer is an ``UnsupportedLayerError`` naming it. An activation fused into a
layer (``Conv2D(..., activation='relu')``) becomes its own ``Activation`` node named
``<layer>_<activation>`` (it costs nothing under the paper and Keras conventions, and the torch
tools count it as the separate module it becomes).
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar, cast

from convcost.blocks import MAX_DEPTH
from convcost.errors import ConvcostError, MissingRuleError, SpecError, UnsupportedLayerError
from convcost.geometry import same_padding
from convcost.graph import GraphBuilder
from convcost.interop import keras_files, require
from convcost.layer import ExplicitPadding, Layer, Shape, Site, is_int
from convcost.layers import (
    ACTIVATIONS,
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
from convcost.layers.transposed import transposed_crop  # Family C (issue 12)
from convcost.model import Model

L = TypeVar("L", bound=Layer)
#: ``(keras, layer, site, input tensors, name) -> output tensor``: one node built in Keras
Builder = Callable[[Any, Any, Site, list[Any], str], Any]
BUILDERS: dict[type[Layer], Builder] = {}


def builds(
    kind: type[L],
) -> Callable[[Callable[[Any, L, Site, list[Any], str], Any]], Callable[[Any, L, Site, list[Any], str], Any]]:
    """Register the decorated function as the Keras builder of ``kind``."""

    def register(
        function: Callable[[Any, L, Site, list[Any], str], Any],
    ) -> Callable[[Any, L, Site, list[Any], str], Any]:
        BUILDERS[kind] = function
        return function

    return register


# --------------------------------------------------------------------------------------------
# spec -> keras


def to_keras(model: Model) -> Any:
    """A Keras Functional model of the model's graph, channels-last, inputs ``(H, W, C)``."""
    keras = require("keras", "keras")
    tensors: dict[str, Any] = {}
    inputs = []
    for spec in model.inputs:
        tensors[spec.name] = keras.Input(_channels_last(spec.shape), name=_keras_name(spec.name))
        inputs.append(tensors[spec.name])
    for s in model.shaped:
        kind = type(s.layer)
        if kind not in BUILDERS:
            raise MissingRuleError(f"to_keras has no layer for {kind.__name__}")
        reads = [tensors[name] for name in s.node.inputs]
        if s.node.shares:  # the owner's Keras layer, called again (after its own padding layer, if any)
            owner = tensors[s.node.shares]._keras_history[0]
            padding = getattr(s.layer, "padding", "valid")
            if len(reads) == 1 and owner.__class__.__name__ != "ZeroPadding2D" and not isinstance(padding, str):
                reads = [_padding(keras, padding, reads[0], _keras_name(s.path))[0]]
            tensors[s.path] = owner(reads[0] if len(reads) == 1 else reads)
        else:
            tensors[s.path] = BUILDERS[kind](keras, s.layer, s.site, reads, _keras_name(s.path))
    outputs = [tensors[name] for name in model.graph.outputs]
    return keras.Model(
        inputs[0] if len(inputs) == 1 else inputs, outputs[0] if len(outputs) == 1 else outputs, name=model.name
    )


def _channels_last(shape: Shape) -> tuple[int, ...]:
    return (*shape[1:], shape[0]) if len(shape) >= 2 else tuple(shape)


def _channels_first(shape: list[int] | tuple[int, ...]) -> tuple[int, ...]:
    return (shape[-1], *shape[:-1]) if len(shape) >= 2 else tuple(shape)


def _keras_name(path: str) -> str:
    return path.replace("/", "_")


def _padding(keras: Any, padding: object, x: Any, name: str) -> tuple[Any, str]:
    """Keras layers take only 'same' / 'valid': explicit padding goes in a ZeroPadding2D first."""
    if isinstance(padding, str):
        return x, padding
    if padding == ((0, 0), (0, 0)):
        return x, "valid"
    return keras.layers.ZeroPadding2D(padding, name=f"{name}_pad")(x), "valid"


@builds(Conv2D)
def _conv2d(keras: Any, layer: Conv2D, site: Site, xs: list[Any], name: str) -> Any:
    x, padding = _padding(keras, layer.padding, xs[0], name)
    return keras.layers.Conv2D(
        layer.filters,
        layer.kernel,
        strides=layer.stride,
        padding=padding,
        dilation_rate=layer.dilation,
        groups=layer.groups,
        use_bias=layer.bias,
        trainable=layer.trainable,
        name=name,
    )(x)


@builds(DepthwiseConv2D)
def _depthwise_conv2d(keras: Any, layer: DepthwiseConv2D, site: Site, xs: list[Any], name: str) -> Any:
    x, padding = _padding(keras, layer.padding, xs[0], name)
    return keras.layers.DepthwiseConv2D(
        layer.kernel,
        strides=layer.stride,
        padding=padding,
        depth_multiplier=layer.depth_multiplier,
        dilation_rate=layer.dilation,
        use_bias=layer.bias,
        trainable=layer.trainable,
        name=name,
    )(x)


@builds(SeparableConv2D)
def _separable_conv2d(keras: Any, layer: SeparableConv2D, site: Site, xs: list[Any], name: str) -> Any:
    x, padding = _padding(keras, layer.padding, xs[0], name)
    return keras.layers.SeparableConv2D(
        layer.filters,
        layer.kernel,
        strides=layer.stride,
        padding=padding,
        depth_multiplier=layer.depth_multiplier,
        dilation_rate=layer.dilation,
        use_bias=layer.bias,
        trainable=layer.trainable,
        name=name,
    )(x)


@builds(Dense)
def _dense(keras: Any, layer: Dense, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.Dense(layer.units, use_bias=layer.bias, trainable=layer.trainable, name=name)(xs[0])


@builds(BatchNorm)
def _batch_norm(keras: Any, layer: BatchNorm, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.BatchNormalization(
        center=layer.center, scale=layer.scale, trainable=layer.trainable, name=name
    )(xs[0])


@builds(Activation)
def _activation(keras: Any, layer: Activation, site: Site, xs: list[Any], name: str) -> Any:
    if layer.function == "gelu_tanh":  # the Activation layer's "gelu" is the exact one: the op is not
        from keras.src.ops import nn

        return nn.Gelu(approximate=True, name=name)(xs[0])
    return keras.layers.Activation(layer.function, name=name)(xs[0])


@builds(MaxPool2D)
def _max_pool2d(keras: Any, layer: MaxPool2D, site: Site, xs: list[Any], name: str) -> Any:
    padding = _keras_pool_padding(layer, site, site.input[1:], layer.pool, layer.stride, None)
    x, padding = _padding(keras, padding, xs[0], name)
    return keras.layers.MaxPooling2D(layer.pool, strides=layer.stride, padding=padding, name=name)(x)


@builds(AvgPool2D)
def _avg_pool2d(keras: Any, layer: AvgPool2D, site: Site, xs: list[Any], name: str) -> Any:
    padding = _keras_pool_padding(layer, site, site.input[1:], layer.pool, layer.stride, layer.includes_padding)
    x, padding = _padding(keras, padding, xs[0], name)
    return keras.layers.AveragePooling2D(layer.pool, strides=layer.stride, padding=padding, name=name)(x)


def _keras_pool_padding(
    layer: MaxPool2D | AvgPool2D | MaxPool1D | AvgPool1D,
    site: Site,
    sizes: Shape,
    pool: Shape,
    stride: Shape,
    include: bool | None,
) -> Any:
    """The Keras padding of a pool: ``'same'``, ``'valid'`` or explicit pads (a ZeroPadding layer
    before it, whose zeros a valid pool then counts). Keras has no ``ceil_mode`` and no choice of
    counting the padding in a mean: a torch-only pool is built only where one of those gives the
    same windows. ``include`` is None for a max pool, else whether the padding counts in the mean."""
    padding = layer.padding
    pads = _explicit_pads(padding, sizes, pool, stride)
    no_padding = all(p == (0, 0) for p in pads)
    if site.output[1:] == _windows(sizes, pool, stride, pads):  # no last, partial window
        if padding in ("valid", "same") and not include:
            return padding
        if include is None or include or no_padding:
            return pads if len(pads) == 2 else pads[0]
        if pads == _same_pads(sizes, pool, stride):
            return "same"  # the mean of the real pixels only
    else:
        # ceil_mode's last window: Keras 'same' keeps it and averages over real pixels only, so it
        # is the same pool when it pads as much before each axis and gives as many windows
        windows = tuple(-(-n // s) for n, s in zip(sizes, stride, strict=True))
        before = all(a[0] == b[0] for a, b in zip(pads, _same_pads(sizes, pool, stride), strict=True))
        if site.output[1:] == windows and before and (not include or no_padding):
            return "same"
    raise UnsupportedLayerError(
        f"layer '{layer.name}': Keras cannot pool like this (ceil_mode={layer.ceil_mode}, "
        f"padding {[list(p) for p in pads]}{'' if include is None else f', count_include_pad={include}'})"
    )


def _same_pads(sizes: Shape, pool: Shape, stride: Shape) -> tuple[tuple[int, int], ...]:
    return tuple(same_padding(n, k, s) for n, k, s in zip(sizes, pool, stride, strict=True))


def _explicit_pads(padding: object, sizes: Shape, pool: Shape, stride: Shape) -> tuple[tuple[int, int], ...]:
    if padding == "same":
        return _same_pads(sizes, pool, stride)
    if padding == "valid":
        return tuple((0, 0) for _ in sizes)
    if len(sizes) == 1:
        return (cast(tuple[int, int], padding),)
    return cast(ExplicitPadding, padding)


def _windows(sizes: Shape, pool: Shape, stride: Shape, pads: tuple[tuple[int, int], ...]) -> Shape:
    """Output sizes of a pool over zero-padded input without ceil_mode (what Keras 'valid' gives)."""
    return tuple((n + a + b - k) // s + 1 for n, k, s, (a, b) in zip(sizes, pool, stride, pads, strict=True))


@builds(GlobalAvgPool2D)
def _global_avg_pool2d(keras: Any, layer: GlobalAvgPool2D, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.GlobalAveragePooling2D(keepdims=layer.keepdims, name=name)(xs[0])


@builds(Flatten)
def _flatten(keras: Any, layer: Flatten, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.Flatten(name=name)(xs[0])


@builds(Dropout)
def _dropout(keras: Any, layer: Dropout, site: Site, xs: list[Any], name: str) -> Any:
    if layer.spatial:
        spatial = keras.layers.SpatialDropout2D if len(site.input) == 3 else keras.layers.SpatialDropout1D
        return spatial(layer.rate, name=name)(xs[0])
    return keras.layers.Dropout(layer.rate, name=name)(xs[0])


@builds(Reshape)
def _reshape(keras: Any, layer: Reshape, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.Reshape(_channels_last(layer.target), name=name)(xs[0])


@builds(ZeroPadding2D)
def _zero_padding2d(keras: Any, layer: ZeroPadding2D, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.ZeroPadding2D(layer.padding, name=name)(xs[0])


@builds(Add)
def _add(keras: Any, layer: Add, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.Add(name=name)(xs)


@builds(Concat)
def _concat(keras: Any, layer: Concat, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.Concatenate(name=name)(xs)


@builds(Unknown)
def _unknown(keras: Any, layer: Unknown, site: Site, xs: list[Any], name: str) -> Any:
    raise UnsupportedLayerError(f"layer '{layer.name}': an unknown operation ({layer.op}) cannot be built in Keras")


# ---------------------------------------------------------------------------------- family A (issue 12)
# element-wise merges, arithmetic with a constant (Keras 3 ops), preprocessing, learned scales, PReLU,
# identities


def _keras_axis(axis: int, rank: int) -> int:
    """A per-sample channels-first axis as Keras numbers it (batch 0, channels last: -1)."""
    axis %= rank
    return -1 if axis == 0 else axis


@builds(Multiply)
def _multiply(keras: Any, layer: Multiply, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.Multiply(name=name)(xs)


@builds(Subtract)
def _subtract(keras: Any, layer: Subtract, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.Subtract(name=name)(xs)


@builds(Divide)
def _divide(keras: Any, layer: Divide, site: Site, xs: list[Any], name: str) -> Any:
    from keras.src.ops import numpy

    return numpy.Divide(name=name)(*xs)  # Keras has no Divide layer: the op, as `a / b` writes it


@builds(Maximum)
def _maximum(keras: Any, layer: Maximum, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.Maximum(name=name)(xs)


@builds(Minimum)
def _minimum(keras: Any, layer: Minimum, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.Minimum(name=name)(xs)


@builds(Average)
def _average(keras: Any, layer: Average, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.Average(name=name)(xs)


#: ScalarOp's operations as Keras ops: (op class in keras.src.ops.numpy, the constant comes first)
_KERAS_SCALAR_OPS = {
    "add": ("Add", False),
    "subtract": ("Subtract", False),
    "rsubtract": ("Subtract", True),
    "multiply": ("Multiply", False),
    "divide": ("TrueDivide", False),
    "rdivide": ("TrueDivide", True),
    "power": ("Power", False),
    "maximum": ("Maximum", False),
    "minimum": ("Minimum", False),
}


@builds(ScalarOp)
def _scalar_op(keras: Any, layer: ScalarOp, site: Site, xs: list[Any], name: str) -> Any:
    from keras.src.ops import numpy

    op_class, constant_first = _KERAS_SCALAR_OPS[layer.op]
    op = getattr(numpy, op_class)(name=name)
    return op(layer.value, xs[0]) if constant_first else op(xs[0], layer.value)


def _listed(values: float | tuple[float, ...]) -> float | list[float]:
    return list(values) if isinstance(values, tuple) else values


@builds(Rescaling)
def _rescaling(keras: Any, layer: Rescaling, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.Rescaling(_listed(layer.scale), offset=_listed(layer.offset), name=name)(xs[0])


@builds(Normalization)
def _normalization(keras: Any, layer: Normalization, site: Site, xs: list[Any], name: str) -> Any:
    rank = len(site.input)
    size = site.input[layer.axis % rank]

    def per_position(values: float | tuple[float, ...] | None) -> list[float] | None:
        if values is None:
            return None
        return list(values) * (size // len(values)) if isinstance(values, tuple) else [values] * size

    return keras.layers.Normalization(
        axis=_keras_axis(layer.axis, rank),
        mean=per_position(layer.mean),
        variance=per_position(layer.variance),
        invert=layer.invert,
        trainable=layer.trainable,
        name=name,
    )(xs[0])


@builds(LayerScale)
def _layer_scale(keras: Any, layer: LayerScale, site: Site, xs: list[Any], name: str) -> Any:
    from keras.src.applications.convnext import LayerScale as KerasLayerScale

    rank = len(site.input)
    if not layer.scalar and _keras_axis(layer.axis, rank) != -1:
        raise UnsupportedLayerError(
            f"layer '{layer.name}': Keras' LayerScale scales the channels (axis 0), not axis {layer.axis}"
        )
    # one value broadcasts over every channel: projection_dim 1 is the scalar gain
    dim = 1 if layer.scalar else site.input[0]
    return KerasLayerScale(1e-6, dim, trainable=layer.trainable, name=name)(xs[0])


@builds(PReLU)
def _prelu(keras: Any, layer: PReLU, site: Site, xs: list[Any], name: str) -> Any:
    rank = len(site.input)
    shared = {"element": None, "channel": list(range(1, rank)) or None, "single": list(range(1, rank + 1))}
    return keras.layers.PReLU(shared_axes=shared[layer.shared], trainable=layer.trainable, name=name)(xs[0])


@builds(Identity)
def _identity(keras: Any, layer: Identity, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.Identity(name=name)(xs[0])


@builds(DropPath)
def _drop_path(keras: Any, layer: DropPath, site: Site, xs: list[Any], name: str) -> Any:
    from keras.src.applications.convnext import StochasticDepth

    return StochasticDepth(layer.rate, name=name)(xs[0])


# --------------------------------------------------------------------------------------------
# issue 12, family B: normalisation, pooling, 1-D convnets (spec -> keras)

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


@builds(LayerNorm)
def _layer_norm(keras: Any, layer: LayerNorm, site: Site, xs: list[Any], name: str) -> Any:
    axis = _keras_axis(layer.normalised_axis(site.input), len(site.input))
    if axis != -1 and keras.config.backend() == "torch":
        # keras.ops.layer_normalization hands one axis to torch's F.layer_norm as if it were the last
        raise UnsupportedLayerError(
            f"layer '{layer.name}': Keras 3 on the torch backend cannot normalise axis {axis} "
            "(its LayerNormalization passes that axis to torch.nn.functional.layer_norm as the last one)"
        )
    return keras.layers.LayerNormalization(
        axis=axis, center=layer.center, scale=layer.scale, trainable=layer.trainable, name=name
    )(xs[0])


@builds(GroupNorm)
def _group_norm(keras: Any, layer: GroupNorm, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.GroupNormalization(
        layer.groups, center=layer.center, scale=layer.scale, trainable=layer.trainable, name=name
    )(xs[0])


@builds(InstanceNorm)
def _instance_norm(keras: Any, layer: InstanceNorm, site: Site, xs: list[Any], name: str) -> Any:
    # Keras has no instance norm layer. Without running statistics it is a group norm with one
    # channel per group; with them, inference normalises by the running statistics: BatchNorm.
    affine = layer.affine
    if layer.track_running_stats:
        norm = keras.layers.BatchNormalization(center=affine, scale=affine, trainable=layer.trainable, name=name)
    else:
        norm = keras.layers.GroupNormalization(
            site.input[0], center=affine, scale=affine, trainable=layer.trainable, name=name
        )
    return norm(xs[0])


@builds(GlobalMaxPool2D)
def _global_max_pool2d(keras: Any, layer: GlobalMaxPool2D, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.GlobalMaxPooling2D(keepdims=layer.keepdims, name=name)(xs[0])


@builds(AdaptiveAvgPool2D)
def _adaptive_avg_pool2d(keras: Any, layer: AdaptiveAvgPool2D, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.AdaptiveAveragePooling2D(layer.output, name=name)(xs[0])


@builds(AdaptiveMaxPool2D)
def _adaptive_max_pool2d(keras: Any, layer: AdaptiveMaxPool2D, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.AdaptiveMaxPooling2D(layer.output, name=name)(xs[0])


def _padding_1d(keras: Any, padding: object, x: Any, name: str) -> tuple[Any, str]:
    """Explicit 1-D padding goes in a ZeroPadding1D first (Keras layers take 'same' / 'valid')."""
    if isinstance(padding, str):
        return x, padding
    if padding == (0, 0):
        return x, "valid"
    return keras.layers.ZeroPadding1D(padding, name=f"{name}_pad")(x), "valid"


@builds(MaxPool1D)
def _max_pool1d(keras: Any, layer: MaxPool1D, site: Site, xs: list[Any], name: str) -> Any:
    padding = _keras_pool_padding(layer, site, site.input[1:], (layer.pool,), (layer.stride,), None)
    x, padding = _padding_1d(keras, padding, xs[0], name)
    return keras.layers.MaxPooling1D(layer.pool, strides=layer.stride, padding=padding, name=name)(x)


@builds(AvgPool1D)
def _avg_pool1d(keras: Any, layer: AvgPool1D, site: Site, xs: list[Any], name: str) -> Any:
    include = layer.includes_padding
    padding = _keras_pool_padding(layer, site, site.input[1:], (layer.pool,), (layer.stride,), include)
    x, padding = _padding_1d(keras, padding, xs[0], name)
    return keras.layers.AveragePooling1D(layer.pool, strides=layer.stride, padding=padding, name=name)(x)


@builds(GlobalAvgPool1D)
def _global_avg_pool1d(keras: Any, layer: GlobalAvgPool1D, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.GlobalAveragePooling1D(keepdims=layer.keepdims, name=name)(xs[0])


@builds(GlobalMaxPool1D)
def _global_max_pool1d(keras: Any, layer: GlobalMaxPool1D, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.GlobalMaxPooling1D(keepdims=layer.keepdims, name=name)(xs[0])


def _conv1d_padding(layer: Conv1D | DepthwiseConv1D | SeparableConv1D, causal: bool) -> object:
    """``'causal'`` where Keras takes it (Conv1D) and the padding is exactly that, else as stored."""
    if causal and layer.padding == (layer.dilation * (layer.kernel - 1), 0) and layer.kernel > 1:
        return "causal"
    return layer.padding


@builds(Conv1D)
def _conv1d(keras: Any, layer: Conv1D, site: Site, xs: list[Any], name: str) -> Any:
    if layer.stride > 1 and layer.dilation > 1:  # Keras' Conv1D refuses it (DepthwiseConv1D does not)
        raise UnsupportedLayerError(f"layer '{layer.name}': Keras Conv1D takes no stride > 1 with dilation > 1")
    x, padding = _padding_1d(keras, _conv1d_padding(layer, causal=True), xs[0], name)
    return keras.layers.Conv1D(
        layer.filters,
        layer.kernel,
        strides=layer.stride,
        padding=padding,
        dilation_rate=layer.dilation,
        groups=layer.groups,
        use_bias=layer.bias,
        trainable=layer.trainable,
        name=name,
    )(x)


@builds(DepthwiseConv1D)
def _depthwise_conv1d(keras: Any, layer: DepthwiseConv1D, site: Site, xs: list[Any], name: str) -> Any:
    x, padding = _padding_1d(keras, layer.padding, xs[0], name)
    return keras.layers.DepthwiseConv1D(
        layer.kernel,
        strides=layer.stride,
        padding=padding,
        depth_multiplier=layer.depth_multiplier,
        dilation_rate=layer.dilation,
        use_bias=layer.bias,
        trainable=layer.trainable,
        name=name,
    )(x)


@builds(SeparableConv1D)
def _separable_conv1d(keras: Any, layer: SeparableConv1D, site: Site, xs: list[Any], name: str) -> Any:
    x, padding = _padding_1d(keras, layer.padding, xs[0], name)
    return keras.layers.SeparableConv1D(
        layer.filters,
        layer.kernel,
        strides=layer.stride,
        padding=padding,
        depth_multiplier=layer.depth_multiplier,
        dilation_rate=layer.dilation,
        use_bias=layer.bias,
        trainable=layer.trainable,
        name=name,
    )(x)


# --------------------------------------------------------------------------------------------
# Family C (issue 12): resolution changes, channel plumbing, padding (spec -> keras)


def _keras_sample_axis(axis: int, rank: int) -> int:
    """The Keras (channels-last) per-sample axis that holds spec axis ``axis`` of a rank-``rank`` tensor."""
    if rank < 2:
        return axis
    return rank - 1 if axis == 0 else axis - 1


def _spec_sample_axis(axis: int, rank: int) -> int:
    """The spec (channels-first) axis that Keras per-sample axis ``axis`` holds: ``_keras_sample_axis`` undone."""
    if rank < 2:
        return axis
    return 0 if axis == rank - 1 else axis + 1


def _keras_dims(dims: tuple[int, ...]) -> tuple[int, ...]:
    """Keras ``Permute`` dims (1-based, channels-last) for a spec ``Permute(dims)``."""
    rank = len(dims)
    return tuple(_keras_sample_axis(dims[_spec_sample_axis(j, rank)], rank) + 1 for j in range(rank))


def _spec_dims(keras_dims: list[int]) -> tuple[int, ...]:
    """A spec ``Permute``'s dims for Keras ``Permute(keras_dims)``: ``_keras_dims`` undone."""
    rank = len(keras_dims)
    return tuple(_spec_sample_axis(keras_dims[_keras_sample_axis(i, rank)] - 1, rank) for i in range(rank))


def _keras_transposed(keras: Any, layer: Conv2DTranspose | Conv1DTranspose, x: Any, name: str) -> Any:
    """Keras' transposed conv takes 'same' / 'valid': explicit padding is 'valid' (with the rows torch
    adds as output_padding), then a Cropping layer named ``<layer>_crop``."""
    two_d = isinstance(layer, Conv2DTranspose)
    cls = keras.layers.Conv2DTranspose if two_d else keras.layers.Conv1DTranspose
    axes = layer.axes()
    if layer.groups != 1:
        raise UnsupportedLayerError(f"layer '{layer.name}': Keras' {cls.__name__} has no groups ({layer.groups})")
    if max(a.stride for a in axes) > 1 and max(a.dilation for a in axes) > 1:
        raise UnsupportedLayerError(f"layer '{layer.name}': Keras refuses a stride above 1 together with dilation")
    crops = [(0, 0)] * len(axes)
    if isinstance(layer.padding, str):
        padding = layer.padding
        added = None if layer.output_padding is None else [a.output_padding or 0 for a in axes]
    else:
        padding, added = "valid", []
        for i, axis in enumerate(axes):
            before, after = transposed_crop(axis)
            added.append(max(0, -after))
            crops[i] = (before, after + added[i])
    if added is not None and any(op >= axis.stride for op, axis in zip(added, axes, strict=True)):
        raise UnsupportedLayerError(
            f"layer '{layer.name}': Keras' output_padding ({added}) must be smaller than the stride"
        )
    y = cls(
        layer.filters,
        tuple(a.kernel for a in axes),
        strides=tuple(a.stride for a in axes),
        padding=padding,
        output_padding=None if added is None else tuple(added),
        dilation_rate=tuple(a.dilation for a in axes),
        use_bias=layer.bias,
        trainable=layer.trainable,
        name=name,
    )(x)
    if any(crop != (0, 0) for crop in crops):
        crop_name = f"{name}_crop"
        if two_d:
            y = keras.layers.Cropping2D(tuple(crops), name=crop_name)(y)
        else:
            y = keras.layers.Cropping1D(crops[0], name=crop_name)(y)
    return y


@builds(Conv2DTranspose)
def _conv2d_transpose(keras: Any, layer: Conv2DTranspose, site: Site, xs: list[Any], name: str) -> Any:
    return _keras_transposed(keras, layer, xs[0], name)


@builds(Conv1DTranspose)
def _conv1d_transpose(keras: Any, layer: Conv1DTranspose, site: Site, xs: list[Any], name: str) -> Any:
    return _keras_transposed(keras, layer, xs[0], name)


@builds(UpSampling2D)
def _up_sampling2d(keras: Any, layer: UpSampling2D, site: Site, xs: list[Any], name: str) -> Any:
    if layer.align_corners:
        raise UnsupportedLayerError(f"layer '{layer.name}': Keras' UpSampling2D never aligns the corners")
    return keras.layers.UpSampling2D(layer.size, interpolation=layer.interpolation, name=name)(xs[0])


@builds(Resize)
def _resize(keras: Any, layer: Resize, site: Site, xs: list[Any], name: str) -> Any:
    _, h, w = site.input
    out_h, out_w = layer.output
    # Keras' nearest is torch's nearest-exact; the two pick the same pixels at integer factors
    integer = out_h % h == 0 and out_w % w == 0
    if layer.align_corners or (layer.interpolation == "nearest" and not integer):
        raise UnsupportedLayerError(
            f"layer '{layer.name}': Keras' Resizing has no {layer.interpolation} interpolation"
            f"{' with aligned corners' if layer.align_corners else ' (its nearest is nearest_exact)'}"
        )
    interpolation = "bilinear" if layer.interpolation == "bilinear" else "nearest"
    return keras.layers.Resizing(out_h, out_w, interpolation=interpolation, name=name)(xs[0])


@builds(Cropping2D)
def _cropping2d(keras: Any, layer: Cropping2D, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.Cropping2D(layer.cropping, name=name)(xs[0])


@builds(Cropping1D)
def _cropping1d(keras: Any, layer: Cropping1D, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.Cropping1D(layer.cropping, name=name)(xs[0])


@builds(ZeroPadding1D)
def _zero_padding1d(keras: Any, layer: ZeroPadding1D, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.ZeroPadding1D(layer.padding, name=name)(xs[0])


@builds(Slice)
def _slice(keras: Any, layer: Slice, site: Site, xs: list[Any], name: str) -> Any:
    """Keras has no slice layer: ``x[..., a:b]`` records a ``GetItem`` operation in the graph."""
    rank = len(site.input)
    axis = _keras_sample_axis(layer.axis % rank, rank)
    return xs[0][(slice(None),) * (axis + 1) + (slice(layer.start, layer.stop, layer.step),)]


@builds(Permute)
def _permute(keras: Any, layer: Permute, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.Permute(_keras_dims(layer.dims), name=name)(xs[0])


@builds(ChannelShuffle)
def _channel_shuffle(keras: Any, layer: ChannelShuffle, site: Site, xs: list[Any], name: str) -> Any:
    """Reshape the channels to ``(groups, C / groups)``, swap the two, reshape back (ShuffleNet in Keras)."""
    shape = _channels_last(site.input)
    *rest, channels = shape
    rank = len(shape)
    grouped = keras.layers.Reshape((*rest, layer.groups, channels // layer.groups), name=f"{name}_groups")(xs[0])
    swapped = keras.layers.Permute((*range(1, rank), rank + 1, rank), name=f"{name}_transpose")(grouped)
    return keras.layers.Reshape(shape, name=name)(swapped)


@builds(Pad2D)
def _pad2d(keras: Any, layer: Pad2D, site: Site, xs: list[Any], name: str) -> Any:
    """Zeros are a ZeroPadding2D; other padding is the ``ops.pad`` operation (Keras has no layer for it)."""
    (top, bottom), (left, right) = layer.padding
    if (layer.mode == "constant" and layer.value == 0) or top == bottom == left == right == 0:
        # no padding at all is a ZeroPadding2D too: Keras' ops.pad on torch fails on it in the other modes
        return keras.layers.ZeroPadding2D(layer.padding, name=name)(xs[0])
    widths = [[0, 0], [top, bottom], [left, right], [0, 0]]
    if layer.mode == "constant":
        return keras.ops.pad(xs[0], widths, constant_values=layer.value)
    if layer.mode == "replicate" and max(top, bottom, left, right) > 1:
        # NumPy's 'symmetric' (the mirror image with the edge) repeats the edge only one pixel deep
        raise UnsupportedLayerError(f"layer '{layer.name}': Keras has no replicate padding beyond one pixel")
    return keras.ops.pad(xs[0], widths, mode="reflect" if layer.mode == "reflect" else "symmetric")


# keras -> spec: the ways in (the reading machinery is at the end of the file)

#: sizes a model leaves as None: one shape for every open input, or a shape per input name;
#: channels-first per sample, ``(C, H, W)``, or ``(N, C, H, W)`` with the batch in front
InputSize = Sequence[int] | Mapping[str, Sequence[int]] | None


def from_keras(
    model: Any, *, batch: int | None = None, input_size: InputSize = None, resolution: int | None = None
) -> Model:
    """A Keras model: a live ``keras.Model`` (read through ``to_json()``: nothing runs, no weight is
    read) or a ``get_config()`` dict (or a parsed ``to_json()``). Sizes the model leaves as None come
    from ``input_size`` or ``resolution`` (height and width of every image input)."""
    if isinstance(model, Mapping):
        source = "Keras config"
        document = keras_files.from_config_dict(model, source)
    elif callable(getattr(model, "to_json", None)):
        source = f"Keras model '{getattr(model, 'name', '')}'"
        try:
            text = model.to_json()
        except (TypeError, ValueError, NotImplementedError, AttributeError) as e:  # Keras' own refusal
            raise SpecError(f"{source}: Keras cannot write its config ({type(e).__name__}: {e})") from None
        document = keras_files.unwrap(keras_files.parse_json(text, source), source)
    else:
        hint = " (a path: convcost.load; JSON text: from_keras_json)" if isinstance(model, str) else ""
        raise SpecError(f"from_keras takes a keras.Model or its get_config() dict, got {type(model).__name__}{hint}")
    return _read(document, source, batch, _Sizes(input_size, resolution))


def from_keras_json(
    text: str,
    *,
    batch: int | None = None,
    source: str = "Keras JSON",
    input_size: InputSize = None,
    resolution: int | None = None,
) -> Model:
    """Read ``model.to_json()`` output (Sequential or Functional, Keras 3 or 2, tfjs-layers'
    ``model.json``) without importing Keras."""
    document = keras_files.unwrap(keras_files.parse_json(text, source), source)
    return _read(document, source, batch, _Sizes(input_size, resolution))


def keras_json_file(
    path: str,
    max_bytes: int = keras_files.MAX_CONFIG_BYTES,
    *,
    input_size: InputSize = None,
    resolution: int | None = None,
) -> Model | None:
    """The model in ``path`` when it is a Keras ``to_json()`` config, else None (not JSON, another
    kind of file, or unreadable: the caller's own reader reports those)."""
    from pathlib import Path

    file = Path(path)
    if file.suffix.lower() != ".json":
        return None
    try:
        if file.stat().st_size > max_bytes:
            return None
        text = file.read_text(encoding="utf-8")
        document = json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    # class_name + config is what Keras writes (a spec file has neither): a broken one is reported as Keras
    if not keras_files.is_keras_document(document):
        return None
    return _read(keras_files.unwrap(document, str(file)), str(file), None, _Sizes(input_size, resolution))


def keras_archive_file(path: str, *, input_size: InputSize = None, resolution: int | None = None) -> Model:
    """The model in a ``.keras`` archive: its ``config.json`` alone is read (never the weights)."""
    text = keras_files.read_archive(path)
    document = keras_files.unwrap(keras_files.parse_json(text, path), path)
    return _read(document, path, None, _Sizes(input_size, resolution))


_MERGES: dict[str, type[Layer]] = {"Add": Add, "Concatenate": Concat}
_KERAS_ACTIVATIONS = {"hard_silu": "hard_swish", "swish": "silu"}
_POOLS: dict[str, type[MaxPool2D] | type[AvgPool2D]] = {
    "MaxPooling2D": MaxPool2D,
    "MaxPool2D": MaxPool2D,
    "AveragePooling2D": AvgPool2D,
    "AvgPool2D": AvgPool2D,
}


def _activation_name(value: Any, source: str, name: str) -> str:
    if isinstance(value, dict):  # Keras 3 serialises some activations as objects
        value = value.get("config", value.get("class_name"))
    if value is None:
        return "linear"
    function = _KERAS_ACTIVATIONS.get(str(value), str(value))
    if function not in ACTIVATIONS:
        raise UnsupportedLayerError(f"{source}: layer '{name}' uses activation {value!r}, which convcost does not know")
    return function


def _fused(config: dict[str, Any], name: str, source: str) -> list[Layer]:
    function = _activation_name(config.get("activation"), source, name)
    return [] if function == "linear" else [Activation(function, name=f"{name}_{function}")]


def _check_channels_last(config: dict[str, Any], name: str, source: str) -> None:
    if config.get("data_format", "channels_last") not in (None, "channels_last"):
        raise UnsupportedLayerError(f"{source}: layer '{name}' is {config['data_format']} (only channels_last)")


def _keras_padding(config: dict[str, Any], name: str, source: str) -> str:
    padding = config.get("padding", "valid")
    if padding not in ("same", "valid"):
        raise UnsupportedLayerError(f"{source}: layer '{name}' has padding {padding!r}")
    return cast(str, padding)


def _layer(class_name: str, config: dict[str, Any], name: str, source: str) -> list[Layer]:
    """The spec layers (usually one) for one Keras layer config."""
    _check_channels_last(config, name, source)
    try:
        return _convert(class_name, config, name, source)
    except (KeyError, TypeError) as e:
        raise SpecError(f"{source}: layer '{name}' ({class_name}) has a malformed config ({e})") from None


def _convert(class_name: str, c: dict[str, Any], name: str, source: str) -> list[Layer]:
    if class_name in _FAMILY_A_CONVERTERS:
        return _FAMILY_A_CONVERTERS[class_name](c, name, source)
    if class_name == "Conv2D":
        layer: Layer = Conv2D(
            c["filters"],
            _pair(c["kernel_size"]),
            stride=_pair(c.get("strides", 1)),
            padding=_keras_padding(c, name, source),
            dilation=_pair(c.get("dilation_rate", 1)),
            groups=c.get("groups", 1),
            bias=c.get("use_bias", True),
            name=name,
        )
        return [layer, *_fused(c, name, source)]
    if class_name == "DepthwiseConv2D":
        layer = DepthwiseConv2D(
            _pair(c["kernel_size"]),
            stride=_pair(c.get("strides", 1)),
            padding=_keras_padding(c, name, source),
            depth_multiplier=c.get("depth_multiplier", 1),
            dilation=_pair(c.get("dilation_rate", 1)),
            bias=c.get("use_bias", True),
            name=name,
        )
        return [layer, *_fused(c, name, source)]
    if class_name in ("SeparableConv2D", "SeparableConvolution2D"):
        layer = SeparableConv2D(
            c["filters"],
            _pair(c["kernel_size"]),
            stride=_pair(c.get("strides", 1)),
            padding=_keras_padding(c, name, source),
            depth_multiplier=c.get("depth_multiplier", 1),
            dilation=_pair(c.get("dilation_rate", 1)),
            bias=c.get("use_bias", True),
            name=name,
        )
        return [layer, *_fused(c, name, source)]
    if class_name == "Dense":
        return [Dense(c["units"], bias=c.get("use_bias", True), name=name), *_fused(c, name, source)]
    if class_name == "BatchNormalization":
        axis = c.get("axis", -1)
        if axis not in (-1, 3, [-1], [3]):
            raise UnsupportedLayerError(f"{source}: layer '{name}' normalises axis {axis} (only channels)")
        return [BatchNorm(center=c.get("center", True), scale=c.get("scale", True), name=name)]
    if class_name == "Activation":
        return [Activation(_activation_name(c.get("activation"), source, name), name=name)]
    if class_name == "ReLU":
        if c.get("negative_slope") or c.get("threshold"):
            raise UnsupportedLayerError(f"{source}: layer '{name}' is a ReLU with a slope or threshold")
        max_value = c.get("max_value")
        if max_value not in (None, 6, 6.0):
            raise UnsupportedLayerError(f"{source}: layer '{name}' is a ReLU capped at {max_value}")
        return [Activation("relu" if max_value is None else "relu6", name=name)]
    if class_name == "LeakyReLU":
        return [Activation("leaky_relu", name=name)]
    if class_name == "ELU":
        return [Activation("elu", name=name)]
    if class_name == "Softmax":
        return [Activation("softmax", name=name)]
    if class_name in _POOLS:
        pool = _pair(c.get("pool_size", 2))
        strides = c.get("strides")
        return [
            _POOLS[class_name](
                pool,
                stride=pool if strides is None else _pair(strides),
                padding=_keras_padding(c, name, source),
                name=name,
            )
        ]
    if class_name in ("GlobalAveragePooling2D", "GlobalAvgPool2D"):
        return [GlobalAvgPool2D(keepdims=bool(c.get("keepdims", False)), name=name)]
    if class_name == "Flatten":
        return [Flatten(name=name)]
    if class_name in ("Dropout", "SpatialDropout2D"):
        return [Dropout(c.get("rate", 0.5), name=name)]
    if class_name == "Reshape":
        return [Reshape(_channels_first(list(c["target_shape"])), name=name)]
    if class_name == "ZeroPadding2D":
        return [ZeroPadding2D(_explicit(c.get("padding", 1)), name=name)]
    family_b = _convert_family_b(class_name, c, name, source)
    if family_b is not None:
        return family_b
    # Family C (issue 12): resolution changes, channel plumbing, padding
    if class_name in _FAMILY_C:
        return _FAMILY_C[class_name](c, name, source)
    if class_name == "Lambda":
        raise UnsupportedLayerError(
            f"{source}: Lambda layer '{name}' holds Python code, which convcost never runs: replace it "
            "with a standard layer"
        )
    raise _NotSupportedYet(class_name)


# issue 12, family B: the Keras classes of normalisation, pooling and 1-D convnets


def _one(value: Any) -> int:
    """A 1-D size as Keras writes it: ``3`` or ``[3]``."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        return cast(int, value[0])
    return cast(int, value)


def _channel_axis(c: dict[str, Any], name: str, source: str) -> None:
    axis = c.get("axis", -1)
    if axis not in (-1, 3, [-1], [3]):
        raise UnsupportedLayerError(f"{source}: layer '{name}' normalises axis {axis} (only channels)")


def _convert_family_b(class_name: str, c: dict[str, Any], name: str, source: str) -> list[Layer] | None:
    """The spec layers for the Keras classes of issue 12's family B, or None for any other class."""
    if class_name == "LayerNormalization":
        _channel_axis(c, name, source)
        if c.get("rms_scaling"):
            raise UnsupportedLayerError(f"{source}: layer '{name}' is an RMS normalisation (rms_scaling)")
        return [LayerNorm(0, center=c.get("center", True), scale=c.get("scale", True), name=name)]
    if class_name == "GroupNormalization":
        _channel_axis(c, name, source)
        center, scale = c.get("center", True), c.get("scale", True)
        if c.get("groups", 32) == -1:  # Keras' instance normalisation: one channel per group
            if center != scale:
                raise UnsupportedLayerError(f"{source}: layer '{name}': groups=-1 with center={center}, scale={scale}")
            return [InstanceNorm(affine=center, name=name)]
        return [GroupNorm(c.get("groups", 32), center=center, scale=scale, name=name)]
    if class_name in ("GlobalMaxPooling2D", "GlobalMaxPool2D"):
        return [GlobalMaxPool2D(keepdims=bool(c.get("keepdims", False)), name=name)]
    if class_name == "AdaptiveAveragePooling2D":
        return [AdaptiveAvgPool2D(_pair(c["output_size"]), name=name)]
    if class_name == "AdaptiveMaxPooling2D":
        return [AdaptiveMaxPool2D(_pair(c["output_size"]), name=name)]
    if class_name in ("MaxPooling1D", "MaxPool1D", "AveragePooling1D", "AvgPool1D"):
        pool = _one(c.get("pool_size", 2))
        strides = c.get("strides")
        kind = MaxPool1D if class_name.startswith("Max") else AvgPool1D
        return [
            kind(
                pool,
                stride=pool if strides is None else _one(strides),
                padding=_keras_padding(c, name, source),
                name=name,
            )
        ]
    if class_name in ("GlobalAveragePooling1D", "GlobalAvgPool1D"):
        return [GlobalAvgPool1D(keepdims=bool(c.get("keepdims", False)), name=name)]
    if class_name in ("GlobalMaxPooling1D", "GlobalMaxPool1D"):
        return [GlobalMaxPool1D(keepdims=bool(c.get("keepdims", False)), name=name)]
    if class_name in ("Conv1D", "Convolution1D"):
        padding = c.get("padding", "valid")
        if padding not in ("same", "valid", "causal"):
            raise UnsupportedLayerError(f"{source}: layer '{name}' has padding {padding!r}")
        layer: Layer = Conv1D(
            c["filters"],
            _one(c["kernel_size"]),
            stride=_one(c.get("strides", 1)),
            padding=padding,
            dilation=_one(c.get("dilation_rate", 1)),
            groups=c.get("groups", 1),
            bias=c.get("use_bias", True),
            name=name,
        )
        return [layer, *_fused(c, name, source)]
    if class_name == "DepthwiseConv1D":
        layer = DepthwiseConv1D(
            _one(c["kernel_size"]),
            stride=_one(c.get("strides", 1)),
            padding=_keras_padding(c, name, source),
            depth_multiplier=c.get("depth_multiplier", 1),
            dilation=_one(c.get("dilation_rate", 1)),
            bias=c.get("use_bias", True),
            name=name,
        )
        return [layer, *_fused(c, name, source)]
    if class_name in ("SeparableConv1D", "SeparableConvolution1D"):
        layer = SeparableConv1D(
            c["filters"],
            _one(c["kernel_size"]),
            stride=_one(c.get("strides", 1)),
            padding=_keras_padding(c, name, source),
            depth_multiplier=c.get("depth_multiplier", 1),
            dilation=_one(c.get("dilation_rate", 1)),
            bias=c.get("use_bias", True),
            name=name,
        )
        return [layer, *_fused(c, name, source)]
    return None


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    # as written: int() would turn a kernel of 2.5 into 2 silently; the spec layer refuses non-integers
    return (value[0], value[1])


def _explicit(value: Any) -> ExplicitPadding:
    if isinstance(value, int):
        return ((value, value), (value, value))
    h, w = value
    return (_pair(h) if not isinstance(h, int) else (h, h), _pair(w) if not isinstance(w, int) else (w, w))


# --------------------------------------------------------------------------------------------
# keras -> spec: the reading machinery
#
# A Functional config is a graph already: each layer entry lists its calls ("inbound nodes"), each
# call the tensors it reads, a tensor named as [layer, node index, tensor index]. A nested model (a
# Functional or Sequential used as a layer) is an entry whose config is a whole model: each of its
# calls adds the nested model's nodes again under the call's path ('base/block_1_conv'), reading
# the call's tensors. A layer called several times (in its model, or because the model around it
# is) owns its weights at its first call; every later call is a node that shares them. Every
# flag ``trainable: false`` of a layer or of a model around it freezes the layer.
#
# Calls are taken in dependency order (Kahn's algorithm over the calls of one model), never by
# recursion over the graph; only nested models recurse, and MAX_DEPTH bounds that.

_MODELS = ("Functional", "Model", "Sequential")
#: layers that take an axis, which convcost reads only as the channels axis (the last, channels-last)
_LAST_AXIS = ("BatchNormalization", "Concatenate", "Normalization", "LayerNormalization", "GroupNormalization")
_SHOWN = 3  # names shown in a message before "and N more"


@dataclass(frozen=True)
class _Ref:
    """A tensor as a config names it: a layer, which of its calls (numbered as written), which output."""

    layer: str
    node: int
    tensor: int


@dataclass
class _Call:
    """One call of a layer: the tensors it reads (a merge's list flattened), an op's other arguments."""

    tensors: list[_Ref]
    constants: list[Any] = field(default_factory=list)
    keyword_tensors: list[str] = field(default_factory=list)
    #: TF-Keras' flat form: the keyword arguments that are not tensors (``{"y": 3.0, "name": None}``)
    keywords: dict[str, Any] = field(default_factory=dict)
    #: TF-Keras' flat form: the first argument is a constant (``1 - x``: ``["_CONSTANT_VALUE", -1, 1.0, {"y": x}]``)
    constant_first: bool = False


@dataclass
class _Entry:
    """One layer entry of a model's config."""

    name: str
    class_name: str
    module: str
    config: dict[str, Any]
    position: int
    calls: list[_Call] = field(default_factory=list)
    #: the entry as the file has it (the family A converters read an op's arguments and input shape off it)
    item: dict[str, Any] = field(default_factory=dict)

    @property
    def is_input(self) -> bool:
        return self.class_name == "InputLayer"

    @property
    def is_model(self) -> bool:
        return self.class_name in _MODELS and isinstance(self.config.get("layers"), list)

    @property
    def is_op(self) -> bool:
        """Keras 3 writes tensor arithmetic (``x + 3``) as op entries whose names collide with layers'."""
        return self.module.startswith(("keras.src.ops.", "keras.ops."))

    @property
    def label(self) -> str:
        return f"{self.module}.{self.class_name}" if self.is_op else self.class_name


@dataclass
class _Definition:
    """A model's config read into entries, with its inputs and outputs as references.

    ``path`` is where the definition sits among the models that hold it ('' for the top level,
    'base/' for a model used as the layer 'base'): a layer's weights belong to ``(path, name)``.
    ``keras2``: Keras 2 / TF-Keras / tfjs node lists, where a nested model counts its calls from 1.
    ``chained``: a Sequential, whose references were made here and need no renumbering.
    """

    name: str
    path: str
    trainable: bool
    entries: list[_Entry]
    by_name: dict[str, _Entry]
    inputs: list[_Ref]
    outputs: list[_Ref]
    keras2: bool = False
    chained: bool = False


# ---------------------------------------------------------------------------------- family A (issue 12)
# Keras 3 writes tensor arithmetic as ops: ``{"module": "keras.src.ops.numpy", "class_name": "Add"}``,
# the same class name as the Add layer, with any constant in place in the node's args (``[t, 3.0]``,
# ``[1.0, t]``). ``_qualified`` tells them apart by module: an op on two tensors is the merge layer of
# the same meaning (``x + y`` is an Add), an op with a constant is named ``keras.src.ops.numpy.Add``
# and carries its args; the layers of keras.applications' ConvNeXt are named by their module too.

_OPS = ("keras.src.ops.numpy", "keras.src.ops.nn")
#: ops on two tensors, as the merge each one is (Keras has no Divide layer: the op's own name)
_OP_MERGES = {
    "Add": "Add",
    "Multiply": "Multiply",
    "Subtract": "Subtract",
    "Maximum": "Maximum",
    "Minimum": "Minimum",
    "Divide": "keras.src.ops.numpy.Divide",
    "TrueDivide": "keras.src.ops.numpy.Divide",
}
_QUALIFIED_MODULES = (*_OPS, "keras.src.applications.convnext")

_MERGES.update(
    {
        "Multiply": Multiply,
        "Subtract": Subtract,
        "Maximum": Maximum,
        "Minimum": Minimum,
        "Average": Average,
        "keras.src.ops.numpy.Divide": Divide,
    }
)


def _qualified(entry: dict[str, Any], class_name: str, config: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The class name the converters know an entry by, and its config with what they need from the rest
    of the entry: an op's args (``__args__``) and the layer's input shape with the batch (``__input_shape__``,
    from ``build_config`` or the tensor it reads; PReLU and Normalization need the rank)."""
    module = entry.get("module")
    nodes = entry.get("inbound_nodes")
    node = nodes[0] if isinstance(nodes, list) and nodes and isinstance(nodes[0], dict) else {}
    args = node.get("args", [])
    extra: dict[str, Any] = {}
    build = entry.get("build_config")
    shape = build.get("input_shape") if isinstance(build, dict) else None
    tensors = _tensors(args)
    if not isinstance(shape, list) and tensors:
        shape = tensors[0].get("config", {}).get("shape")
    if isinstance(shape, list) and shape and not isinstance(shape[0], list):
        extra["__input_shape__"] = shape
    if module == "keras.src.ops.numpy" and len(tensors) >= 2 and class_name in _OP_MERGES:
        class_name = _OP_MERGES[class_name]
    elif module in _QUALIFIED_MODULES:
        class_name = f"{module}.{class_name}"
        extra["__args__"] = args
        extra["__kwargs__"] = node.get("kwargs", {})  # Family C: ops.pad's constant_values
    return class_name, {**config, **extra} if extra else config


def _is_tensor(value: Any) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _constant(c: dict[str, Any], name: str, source: str) -> tuple[float, bool]:
    """The number in an op ``f(x, c)`` / ``f(c, x)``, and whether it comes first."""
    args = c.get("__args__")
    if not isinstance(args, list) or len(args) != 2 or sum(_is_tensor(a) for a in args) != 1:
        raise UnsupportedLayerError(f"{source}: op '{name}' is not called on one tensor and one number ({args!r})")
    first = not _is_tensor(args[0])
    value = args[0] if first else args[1]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UnsupportedLayerError(f"{source}: op '{name}' takes the constant {value!r} (only a number)")
    return value, first


def _scalar_converter(op: str, reversed_op: str | None) -> Callable[[dict[str, Any], str, str], list[Layer]]:
    """``keras.src.ops.numpy.<Op>`` with a number: ``reversed_op`` when the number comes first (None:
    the same op, it commutes; "": convcost has no such op)."""

    def convert(c: dict[str, Any], name: str, source: str) -> list[Layer]:
        value, first = _constant(c, name, source)
        chosen = (op if reversed_op is None else reversed_op) if first else op
        if not chosen:
            raise UnsupportedLayerError(f"{source}: op '{name}' raises the number {value!r} to a tensor's power")
        return [ScalarOp(chosen, value, name=name)]

    return convert


def _op_activation(function: str) -> Callable[[dict[str, Any], str, str], list[Layer]]:
    def convert(c: dict[str, Any], name: str, source: str) -> list[Layer]:
        args = c.get("__args__")
        if not isinstance(args, list) or len(args) != 1 or not _is_tensor(args[0]):
            raise UnsupportedLayerError(f"{source}: op '{name}' is not called on one tensor ({args!r})")
        if function == "gelu":  # ops.gelu approximates by default, the Activation layer's "gelu" does not
            return [Activation("gelu_tanh" if c.get("approximate", True) else "gelu", name=name)]
        return [Activation(function, name=name)]

    return convert


def _sample_rank(c: dict[str, Any]) -> int | None:
    """The rank of one sample of the layer's input, when the entry says it."""
    shape = c.get("__input_shape__")
    return len(shape) - 1 if isinstance(shape, list) and len(shape) > 1 else None


def _spec_axis(axis: Any, c: dict[str, Any], name: str, source: str) -> int:
    """A Keras axis (batch 0, channels last) as a per-sample channels-first one."""
    if isinstance(axis, list) and len(axis) == 1:
        axis = axis[0]
    if axis is None or axis == []:  # Keras writes axis=None as []
        raise UnsupportedLayerError(f"{source}: layer '{name}' normalises over the whole tensor (axis None)")
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise UnsupportedLayerError(f"{source}: layer '{name}' normalises over axes {axis!r} (only one axis)")
    if axis == -1:
        return 0
    rank = _sample_rank(c)
    if rank is None:
        raise UnsupportedLayerError(f"{source}: layer '{name}' uses axis {axis}, but its input rank is not given")
    if axis < 0:
        axis += rank + 1
    if not 1 <= axis <= rank:
        raise UnsupportedLayerError(f"{source}: layer '{name}' uses axis {axis} of a rank-{rank} input")
    return 0 if axis == rank else axis


def _keras_values(value: Any) -> Any:
    """A Keras constant (a number or a list) as a spec field (lists as tuples, checked by the layer)."""
    return tuple(value) if isinstance(value, list) else value


def _rescaling_from(c: dict[str, Any], name: str, source: str) -> list[Layer]:
    return [Rescaling(_keras_values(c["scale"]), _keras_values(c.get("offset", 0.0)), name=name)]


def _normalization_from(c: dict[str, Any], name: str, source: str) -> list[Layer]:
    mean, variance = c.get("mean"), c.get("variance")
    return [
        Normalization(
            _spec_axis(c.get("axis", -1), c, name, source),
            None if mean is None else _keras_values(mean),
            None if variance is None else _keras_values(variance),
            invert=bool(c.get("invert", False)),
            name=name,
        )
    ]


def _prelu_from(c: dict[str, Any], name: str, source: str) -> list[Layer]:
    shared = sorted(set(c.get("shared_axes") or []))
    if not shared:
        return [PReLU("element", name=name)]
    rank = _sample_rank(c)
    if rank is not None and shared == list(range(1, rank)):
        return [PReLU("channel", name=name)]
    if rank is not None and shared == list(range(1, rank + 1)):
        return [PReLU("single", name=name)]
    raise UnsupportedLayerError(
        f"{source}: layer '{name}' shares its PReLU slopes over axes {shared} of an input of rank "
        f"{'unknown' if rank is None else rank + 1} (convcost: per channel, per value or one)"
    )


def _layer_scale_from(c: dict[str, Any], name: str, source: str) -> list[Layer]:
    return [LayerScale(scalar=c["projection_dim"] == 1, name=name)]


_FAMILY_A_CONVERTERS: dict[str, Callable[[dict[str, Any], str, str], list[Layer]]] = {
    "Rescaling": _rescaling_from,
    "Normalization": _normalization_from,
    "PReLU": _prelu_from,
    "Identity": lambda c, name, source: [Identity(name=name)],
    "SpatialDropout1D": lambda c, name, source: [Dropout(c.get("rate", 0.5), spatial=True, name=name)],
    "SpatialDropout2D": lambda c, name, source: [Dropout(c.get("rate", 0.5), spatial=True, name=name)],
    "keras.src.applications.convnext.LayerScale": _layer_scale_from,
    "keras.src.applications.convnext.StochasticDepth": lambda c, name, source: [
        DropPath(c.get("drop_path_rate", 0.0), name=name)
    ],
    "keras.src.ops.numpy.Add": _scalar_converter("add", None),
    "keras.src.ops.numpy.Subtract": _scalar_converter("subtract", "rsubtract"),
    "keras.src.ops.numpy.Multiply": _scalar_converter("multiply", None),
    "keras.src.ops.numpy.TrueDivide": _scalar_converter("divide", "rdivide"),
    "keras.src.ops.numpy.Divide": _scalar_converter("divide", "rdivide"),
    "keras.src.ops.numpy.Power": _scalar_converter("power", ""),
    "keras.src.ops.numpy.Maximum": _scalar_converter("maximum", None),
    "keras.src.ops.numpy.Minimum": _scalar_converter("minimum", None),
    "keras.src.ops.numpy.Tanh": _op_activation("tanh"),
    "keras.src.ops.nn.Relu": _op_activation("relu"),
    "keras.src.ops.nn.Relu6": _op_activation("relu6"),
    "keras.src.ops.nn.Sigmoid": _op_activation("sigmoid"),
    "keras.src.ops.nn.Silu": _op_activation("silu"),
    "keras.src.ops.nn.HardSigmoid": _op_activation("hard_sigmoid"),
    "keras.src.ops.nn.HardSilu": _op_activation("hard_swish"),
    "keras.src.ops.nn.Gelu": _op_activation("gelu"),
}


# --------------------------------------------------------------------------------------------
# Family C (issue 12): the Keras configs of resolution changes, channel plumbing, padding


def _transposed_padding(c: dict[str, Any], name: str, source: str) -> tuple[str, Any]:
    output_padding = c.get("output_padding")
    return _keras_padding(c, name, source), None if output_padding is None else tuple(output_padding)


def _read_conv2d_transpose(c: dict[str, Any], name: str, source: str) -> list[Layer]:
    padding, output_padding = _transposed_padding(c, name, source)
    layer = Conv2DTranspose(
        c["filters"],
        _pair(c["kernel_size"]),
        stride=_pair(c.get("strides", 1)),
        padding=padding,
        output_padding=output_padding,
        dilation=_pair(c.get("dilation_rate", 1)),
        groups=c.get("groups", 1),
        bias=c.get("use_bias", True),
        name=name,
    )
    return [layer, *_fused(c, name, source)]


def _read_conv1d_transpose(c: dict[str, Any], name: str, source: str) -> list[Layer]:
    padding, output_padding = _transposed_padding(c, name, source)
    layer = Conv1DTranspose(
        c["filters"],
        _one(c["kernel_size"]),
        stride=_one(c.get("strides", 1)),
        padding=padding,
        output_padding=None if output_padding is None else _one(list(output_padding)),
        dilation=_one(c.get("dilation_rate", 1)),
        groups=c.get("groups", 1),
        bias=c.get("use_bias", True),
        name=name,
    )
    return [layer, *_fused(c, name, source)]


def _read_up_sampling2d(c: dict[str, Any], name: str, source: str) -> list[Layer]:
    interpolation = c.get("interpolation", "nearest")
    if interpolation not in ("nearest", "bilinear"):
        raise UnsupportedLayerError(f"{source}: layer '{name}' upsamples with {interpolation!r} interpolation")
    return [UpSampling2D(_pair(c.get("size", 2)), interpolation=interpolation, name=name)]


def _read_resizing(c: dict[str, Any], name: str, source: str) -> list[Layer]:
    interpolation = c.get("interpolation", "bilinear")
    if interpolation not in ("nearest", "bilinear"):
        raise UnsupportedLayerError(f"{source}: layer '{name}' resizes with {interpolation!r} interpolation")
    if c.get("crop_to_aspect_ratio") or c.get("pad_to_aspect_ratio"):
        raise UnsupportedLayerError(f"{source}: layer '{name}' resizes to an aspect ratio (crop or pad)")
    # Keras' nearest takes pixel centres: torch's nearest-exact
    mode = "nearest_exact" if interpolation == "nearest" else "bilinear"
    return [Resize((c["height"], c["width"]), interpolation=mode, name=name)]


def _read_cropping2d(c: dict[str, Any], name: str, source: str) -> list[Layer]:
    return [Cropping2D(_explicit(c.get("cropping", 0)), name=name)]


def _read_cropping1d(c: dict[str, Any], name: str, source: str) -> list[Layer]:
    return [Cropping1D(_sides(c.get("cropping", 1)), name=name)]


def _read_zero_padding1d(c: dict[str, Any], name: str, source: str) -> list[Layer]:
    return [ZeroPadding1D(_sides(c.get("padding", 1)), name=name)]


def _sides(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _read_permute(c: dict[str, Any], name: str, source: str) -> list[Layer]:
    dims = c["dims"]
    if not isinstance(dims, list) or sorted(dims) != list(range(1, len(dims) + 1)):
        raise SpecError(f"{source}: layer '{name}' (Permute) has dims {dims!r}, not a permutation of 1 .. n")
    return [Permute(_spec_dims(dims), name=name)]


def _read_pad(c: dict[str, Any], name: str, source: str) -> list[Layer]:
    """The ``ops.pad`` operation (``keras.src.ops.numpy.Pad``): a Pad2D when it pads only H and W."""
    widths, mode = c["pad_width"], c.get("mode", "constant")
    plain = [list(w) if isinstance(w, list) else [w, w] for w in widths] if isinstance(widths, list) else None
    if plain is None or len(plain) != 4 or plain[0] != [0, 0] or plain[3] != [0, 0]:
        raise UnsupportedLayerError(f"{source}: '{name}' pads {widths!r} (convcost reads padding of H and W only)")
    padding = ((plain[1][0], plain[1][1]), (plain[2][0], plain[2][1]))
    if mode == "reflect":
        return [Pad2D(padding, mode="reflect", name=name)]
    if mode == "symmetric" and max(max(side) for side in padding) <= 1:
        return [Pad2D(padding, mode="replicate", name=name)]  # one pixel deep, symmetric repeats the edge
    if mode == "constant":
        value = (c.get("__kwargs__") or {}).get("constant_values")
        return [Pad2D(padding, value=0.0 if value is None else value, name=name)]
    raise UnsupportedLayerError(f"{source}: '{name}' pads in mode {mode!r}")


def _read_get_item(c: dict[str, Any], name: str, source: str) -> list[Layer]:
    """``x[..., a:b]`` (``keras.src.ops.numpy.GetItem``): a Slice when it slices one axis of a sample.

    The key is the op's second argument: a ``__slice__`` (``start``, ``stop``, ``step``), an
    ``__ellipsis__``, or a list of them, indexing the Keras tensor (batch first, channels last).
    """
    args, shape = c.get("__args__") or [], c.get("__input_shape__")
    if len(args) != 2 or not isinstance(shape, list):
        raise UnsupportedLayerError(f"{source}: '{name}' indexes a tensor in a way convcost does not read")
    key = args[1] if isinstance(args[1], list) else [args[1]]
    kinds = [item.get("class_name") if isinstance(item, dict) else None for item in key]
    if any(kind not in ("__slice__", "__ellipsis__") for kind in kinds) or kinds.count("__ellipsis__") > 1:
        raise UnsupportedLayerError(f"{source}: '{name}' indexes with {key!r} (convcost reads slices only)")
    rank = len(shape)  # with the batch
    if "__ellipsis__" in kinds:
        at = kinds.index("__ellipsis__")
        positions = [*range(at), *range(rank - (len(key) - at - 1), rank)]
        key = key[:at] + key[at + 1 :]
    else:
        positions = list(range(len(key)))
    sliced = []
    for position, item in zip(positions, key, strict=True):
        bounds = item["config"]
        if (bounds.get("start"), bounds.get("stop"), bounds.get("step")) != (None, None, None):
            sliced.append((position, bounds))
    if len(sliced) != 1 or sliced[0][0] == 0:
        raise UnsupportedLayerError(f"{source}: '{name}' slices {len(sliced)} axes (convcost reads one, not the batch)")
    position, bounds = sliced[0]
    axis = _spec_sample_axis(position - 1, rank - 1)
    start, step = bounds.get("start"), bounds.get("step")
    return [Slice(axis, 0 if start is None else start, bounds.get("stop"), 1 if step is None else step, name=name)]


_FAMILY_C: dict[str, Callable[[dict[str, Any], str, str], list[Layer]]] = {
    "Conv2DTranspose": _read_conv2d_transpose,
    "Convolution2DTranspose": _read_conv2d_transpose,
    "Conv1DTranspose": _read_conv1d_transpose,
    "Convolution1DTranspose": _read_conv1d_transpose,
    "UpSampling2D": _read_up_sampling2d,
    "Resizing": _read_resizing,
    "Cropping2D": _read_cropping2d,
    "Cropping1D": _read_cropping1d,
    "ZeroPadding1D": _read_zero_padding1d,
    "Permute": _read_permute,
    "keras.src.ops.numpy.Pad": _read_pad,
    "keras.src.ops.numpy.GetItem": _read_get_item,
}


class _NotSupportedYet(UnsupportedLayerError):
    """A Keras class (or op) convcost has no mapping for: refusals are grouped by it."""

    def __init__(self, label: str) -> None:
        super().__init__(f"{label} is not supported yet")
        self.label = label


class _Sizes:
    """The sizes the user gave for inputs a model leaves as None (``--input-size``, ``--resolution``)."""

    def __init__(self, input_size: InputSize, resolution: int | None) -> None:
        if input_size is not None and resolution is not None:
            raise SpecError("give an input size or a resolution, not both")
        if resolution is not None and (not is_int(resolution) or resolution < 1):
            raise SpecError(f"resolution must be a positive integer, got {resolution!r}")
        self.by_name: dict[str, Shape] = {}
        self.every: Shape | None = None
        if isinstance(input_size, Mapping):
            self.by_name = {str(name): _size(shape) for name, shape in input_size.items()}
        elif input_size is not None:
            self.every = _size(input_size)
        self.resolution = resolution
        self.used: set[str] = set()

    def shape(self, name: str, saved: list[int | None]) -> tuple[Shape, int | None]:
        """The input's shape per sample, channels-first (and a batch given in front of it, if any)."""
        given = self.by_name.get(name, self.every)
        shown = _shown(saved)
        if given is not None:
            self.used.add(name)
            batch = None
            if saved and len(given) == len(saved) + 1:
                batch, given = given[0], given[1:]
            if saved and len(given) != len(saved):
                raise SpecError(
                    f"input '{name}' has {len(saved)} axes per sample {shown}; the size given has {len(given)}"
                )
            for axis, (was, wanted) in enumerate(zip(saved, given, strict=False)):
                if was is not None and was != wanted:
                    raise SpecError(
                        f"input '{name}' is {shown} in the file (channels-first); the size given, "
                        f"{_shown(list(given))}, differs at axis {axis}: a saved size is kept, only None is filled"
                    )
            return given, batch
        if self.resolution is not None and len(saved) == 3 and saved[0] is not None:
            for was in saved[1:]:
                if was is not None and was != self.resolution:
                    raise SpecError(
                        f"input '{name}' is {shown} in the file (channels-first): the resolution "
                        f"{self.resolution} differs from a saved size (only None is filled)"
                    )
            self.used.add(name)
            return (saved[0], self.resolution, self.resolution), None
        if not saved or any(d is None for d in saved):
            raise SpecError(
                f"input '{name}' leaves its size open {shown}: give it with --input-size C,H,W or "
                "--resolution N (input_size= or resolution= in Python)"
            )
        return tuple(d for d in saved if d is not None), None

    def check_used(self, inputs: list[str]) -> None:
        unknown = sorted(set(self.by_name) - set(inputs))
        if unknown:
            raise SpecError(f"a size is given for '{unknown[0]}', which is not an input (inputs: {', '.join(inputs)})")


def _size(value: object) -> Shape:
    if not isinstance(value, (tuple, list)) or not value or not all(is_int(d) and d > 0 for d in value):
        raise SpecError(f"an input size must be positive integers (C, H, W), got {value!r}")
    return tuple(value)


def _shown(dims: list[int | None]) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in dims) + ")"


def _read(document: dict[str, Any], source: str, batch: int | None, sizes: _Sizes) -> Model:
    """The model a Keras document describes; every error names ``source``."""
    try:
        return _Reader(source, sizes).model(document, batch)
    except ConvcostError as e:
        if str(e).startswith(source):
            raise
        # a layer's own check (Conv2D 'stem': dilation must be ...) does not know the file
        raise type(e)(f"{source}: {e}") from None
    except (TypeError, KeyError, IndexError, AttributeError, ValueError, OverflowError) as e:
        # the file is JSON but not the shape Keras writes (a list where a table belongs, ...)
        detail = " ".join(str(e).split())
        raise SpecError(f"{source}: malformed Keras config ({type(e).__name__}: {detail})") from None


class _Reader:
    """Reads one document: definitions of models, then their calls, into one ``GraphBuilder``."""

    def __init__(self, source: str, sizes: _Sizes) -> None:
        self.source = source
        self.sizes = sizes
        self.builder = GraphBuilder()
        self.batches: set[int] = set()
        #: the nodes of a layer's first call, by (definition path, layer): later calls share their weights
        self.owners: dict[tuple[str, str], list[str]] = {}
        #: each layer's spec layers, made once (None: refused)
        self.converted: dict[tuple[str, str], list[Layer] | None] = {}
        self.definitions: dict[str, _Definition] = {}
        self.refused: dict[str, list[str]] = {}
        self.problems: list[str] = []
        #: outputs of nested models that nothing outside reads: still computed, so still costed
        self.loose_ends: list[str] = []
        #: layers given a positive axis (Keras 2's BatchNormalization(axis=[1]) after a Dense): the channel
        #: axis only at that rank, checked once shapes are known: (node, axis, class, layer)
        self.axis_checks: list[tuple[str, int, str, str]] = []
        self.last_axis: dict[tuple[str, str], int] = {}
        self.keras2 = False

    def model(self, document: dict[str, Any], batch: int | None) -> Model:
        kind = document.get("class_name")
        config = document["config"]
        self.keras2 = "module" not in document
        if isinstance(config, list):  # Keras <= 2.1 wrote a Sequential's layers bare
            config = {"layers": config}
        layers = config.get("layers")
        if not isinstance(layers, list) or not layers:
            raise SpecError(f"{self.source}: the model config has no 'layers' list")
        name = str(config.get("name") or "keras_model")
        if kind == "Sequential":
            top = self.sequential(config, name, "")
        elif kind in ("Functional", "Model"):
            top = self.functional(config, name, "")
        else:
            raise UnsupportedLayerError(
                f"{self.source}: {kind!r} is not a model class convcost reads (Sequential or Functional: a "
                "subclassed model's config holds no layers)"
            )
        inputs = [self.graph_input(top.by_name[ref.layer]) for ref in top.inputs]
        self.sizes.check_used(inputs)
        outputs = self.instantiate(top, "", inputs, top.trainable, 1)
        if self.refused or self.problems:
            parts = [f"{label} is not supported yet ({_named(paths)})" for label, paths in self.refused.items()]
            parts += self.problems[:_SHOWN]
            if len(self.problems) > _SHOWN:
                parts.append(f"and {len(self.problems) - _SHOWN} more layers convcost cannot read")
            raise UnsupportedLayerError(f"{self.source}: " + "; ".join(parts))
        graph = self.builder.graph(dict.fromkeys(outputs + self.loose_ends))
        if len(self.batches) > 1:
            raise SpecError(f"{self.source}: the sizes given hold different batches {sorted(self.batches)}")
        found = self.batches.pop() if self.batches else 1
        model = Model.from_graph(name, graph, batch=found if batch is None else batch)
        if self.axis_checks:
            self.check_axes(model)
        return model

    def check_axes(self, model: Model) -> None:
        ranks = {s.path: len(s.input) for s in model.shaped}
        for node, axis, class_name, layer in self.axis_checks:
            if ranks[node] != axis:
                raise UnsupportedLayerError(
                    f"{self.source}: layer '{layer}' ({class_name}) works on axis {axis} of a {ranks[node] + 1}-axis "
                    "tensor: convcost reads only the channels axis (the last)"
                )

    # ------------------------------------------------------------------ definitions

    def entry(self, item: Any, position: int) -> _Entry:
        if not isinstance(item, dict) or not isinstance(item.get("config"), (dict, list)):
            raise SpecError(f"{self.source}: a layer entry is not an object with a 'config'")
        class_name = item.get("class_name")
        if not isinstance(class_name, str):
            raise SpecError(f"{self.source}: a layer entry has no 'class_name' (got {class_name!r})")
        config = item["config"]
        if isinstance(config, list):
            config = {"layers": config}
        name = item.get("name") or config.get("name") or class_name
        if not isinstance(name, str):
            raise SpecError(f"{self.source}: a {class_name} layer's name must be a string, got {name!r}")
        if "/" in name:
            raise SpecError(f"{self.source}: layer '{name}': a Keras layer name cannot hold '/'")
        module = item.get("module") or ""
        if not isinstance(module, str):
            raise SpecError(f"{self.source}: layer '{name}': 'module' must be a string, got {module!r}")
        return _Entry(name, class_name, module, config, position, item=item)

    def functional(self, config: dict[str, Any], name: str, path: str) -> _Definition:
        items = config.get("layers")
        if not isinstance(items, list):
            raise SpecError(f"{self.source}: model '{path or name}' has no 'layers' list")
        entries: list[_Entry] = []
        by_name: dict[str, _Entry] = {}
        keras2 = self.keras2
        for position, item in enumerate(items):
            entry = self.entry(item, position)
            if entry.name in by_name:
                raise SpecError(f"{self.source}: two layers are named '{path}{entry.name}'")
            nodes = item.get("inbound_nodes") or []
            if not isinstance(nodes, list):
                raise self.malformed(path, entry, "'inbound_nodes' is not a list")
            if not entry.is_input:
                entry.calls = [self.call(node, path, entry, i) for i, node in enumerate(nodes)]
            keras2 = keras2 if not nodes else isinstance(nodes[0], list)
            entries.append(entry)
            by_name[entry.name] = entry
        inputs = self.layer_refs(config.get("input_layers"), path, name, "input_layers")
        if not inputs:
            inputs = [_Ref(e.name, 0, 0) for e in entries if e.is_input]
        for ref in inputs:
            if ref.layer not in by_name or not by_name[ref.layer].is_input:
                raise SpecError(f"{self.source}: model '{path or name}': input '{ref.layer}' is not an InputLayer")
        listed = {ref.layer for ref in inputs}
        for e in entries:
            if e.is_input and e.name not in listed:
                raise SpecError(f"{self.source}: InputLayer '{path}{e.name}' is not one of the model's inputs")
        outputs = self.layer_refs(config.get("output_layers"), path, name, "output_layers")
        if not outputs:
            if not entries or entries[-1].is_input:
                raise SpecError(f"{self.source}: model '{path or name}' has no layers after its input")
            outputs = [_Ref(entries[-1].name, 0, 0)]
        trainable = _flag(config, "trainable", path or name)
        return _Definition(name, path, trainable, entries, by_name, inputs, outputs, keras2)

    def sequential(self, config: dict[str, Any], name: str, path: str) -> _Definition:
        items = config.get("layers")
        if not isinstance(items, list):
            raise SpecError(f"{self.source}: model '{path or name}' has no 'layers' list")
        entries: list[_Entry] = []
        for position, item in enumerate(items):
            entry = self.entry(item, position)
            if entry.is_input:
                if entries:
                    raise SpecError(f"{self.source}: InputLayer '{path}{entry.name}' is not the first layer")
            else:
                if not entries:  # no InputLayer: Keras 2 names the one it makes after the first layer
                    shape = _sequential_input_shape(config) if not path else None
                    entries.append(_Entry(f"{entry.name}_input", "InputLayer", "", {"batch_shape": shape}, -1))
                if entry.class_name in _MERGES:
                    raise UnsupportedLayerError(
                        f"{self.source}: merge layer '{path}{entry.name}' inside a Sequential model"
                    )
                entry.calls = [_Call([_Ref(entries[-1].name, 0, 0)])]
            entries.append(entry)
        by_name: dict[str, _Entry] = {}
        for entry in entries:
            if entry.name in by_name:
                raise SpecError(f"{self.source}: two layers are named '{path}{entry.name}'")
            by_name[entry.name] = entry
        if len(entries) < 2:
            raise SpecError(f"{self.source}: the Sequential model '{path or name}' has no layers")
        trainable = _flag(config, "trainable", path or name)
        inputs, outputs = [_Ref(entries[0].name, 0, 0)], [_Ref(entries[-1].name, 0, 0)]
        return _Definition(name, path, trainable, entries, by_name, inputs, outputs, chained=True)

    def nested(self, entry: _Entry, path: str) -> _Definition:
        """The definition of a model used as a layer (read once, however often it is called)."""
        if path not in self.definitions:
            if entry.class_name == "Sequential":
                self.definitions[path] = self.sequential(entry.config, entry.name, path)
            else:
                self.definitions[path] = self.functional(entry.config, entry.name, path)
        return self.definitions[path]

    def call(self, node: Any, path: str, entry: _Entry, index: int) -> _Call:
        """One inbound node: Keras 3 ``{"args", "kwargs"}``, Keras 2 ``[[name, node, tensor, kwargs], ...]``,
        or TF-Keras' flat ``[name, node, tensor, kwargs]`` (TFOpLambda), with tensors in kwargs."""
        if isinstance(node, dict):
            args, kwargs = node.get("args", []), node.get("kwargs") or {}
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise self.malformed(path, entry, f"call {index + 1} has args {args!r} and kwargs {kwargs!r}")
            call = _Call([])
            for arg in args:
                found = self.keras3_tensors(arg, path, entry)
                if found:
                    call.tensors += found
                else:
                    call.constants.append(arg)
            for key, value in kwargs.items():
                found = self.keras3_tensors(value, path, entry)
                if found and entry.is_op:
                    call.tensors += found
                elif found:
                    call.keyword_tensors.append(str(key))
            return call
        if isinstance(node, list) and node and isinstance(node[0], str):  # TFOpLambda: one flat reference
            kwargs = node[3] if len(node) > 3 and isinstance(node[3], dict) else {}
            if node[0] == "_CONSTANT_VALUE" and len(node) > 2:
                call = _Call([], [node[2]], constant_first=True)
            else:
                call = _Call([self.ref(node, path, entry)])
            for key, value in kwargs.items():
                if _looks_like_ref(value):
                    call.tensors.append(self.ref(value, path, entry))
                else:
                    call.keywords[str(key)] = value
            return call
        if isinstance(node, list):
            call = _Call([self.ref(item, path, entry) for item in node])
            for item in node:
                extra = item[3] if isinstance(item, list) and len(item) > 3 and isinstance(item[3], dict) else {}
                call.keyword_tensors += [str(k) for k, v in extra.items() if _looks_like_ref(v)]
            return call
        raise self.malformed(path, entry, f"call {index + 1} is {node!r}, not a list or an object")

    def keras3_tensors(self, value: Any, path: str, entry: _Entry) -> list[_Ref]:
        """The tensors in one argument, in Keras' flattening order (lists in order, dicts by key)."""
        found: list[_Ref] = []
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, dict) and item.get("class_name") == "__keras_tensor__":
                tensor = item.get("config")
                history = tensor.get("keras_history") if isinstance(tensor, dict) else None
                found.append(self.ref(history, path, entry))
            elif isinstance(item, dict):
                stack += [item[key] for key in sorted(item, reverse=True)]
            elif isinstance(item, list):
                stack += reversed(item)
        return found

    def ref(self, value: Any, path: str, entry: _Entry | None, what: str = "") -> _Ref:
        if not _looks_like_ref(value):
            where = f"layer '{path}{entry.name}'" if entry else what
            raise SpecError(f"{self.source}: {where} reads {value!r}, not a [layer, node, tensor] reference")
        return _Ref(value[0], value[1], value[2])

    def layer_refs(self, value: Any, path: str, name: str, key: str) -> list[_Ref]:
        """``input_layers`` / ``output_layers``: a reference, a list of them, or a dict of them."""
        what = f"model '{path or name}' {key}"
        if value is None or value == []:
            return []
        if _looks_like_ref(value):
            return [self.ref(value, path, None, what)]
        if isinstance(value, dict):
            value = [value[k] for k in sorted(value)]  # Keras flattens a dict by its sorted keys
        if not isinstance(value, list):
            raise SpecError(f"{self.source}: {what} is {value!r}, not a list of references")
        return [self.ref(item, path, None, what) for item in value]

    def malformed(self, path: str, entry: _Entry, detail: str) -> SpecError:
        return SpecError(f"{self.source}: layer '{path}{entry.name}': malformed inbound nodes ({detail})")

    # ------------------------------------------------------------------ calls -> nodes

    def graph_input(self, entry: _Entry) -> str:
        config = entry.config
        shape = config.get("batch_shape") or config.get("batch_input_shape")
        if isinstance(shape, dict) and isinstance(shape.get("items"), list):  # SavedModel metadata's TensorShape
            shape = shape["items"]
        dims: list[int | None] = []
        if shape is None and entry.position < 0:  # a Sequential that never said its shape
            if self.sizes.every is None and entry.name not in self.sizes.by_name:
                raise SpecError(
                    f"{self.source}: the Sequential model does not say its input shape: give it with --input-size "
                    "C,H,W (input_size= in Python)"
                )
        elif not isinstance(shape, list) or len(shape) < 2 or not all(d is None or is_int(d) for d in shape):
            raise SpecError(f"{self.source}: layer '{entry.name}' does not give an input shape (got {shape!r})")
        else:
            dims = [*shape[-1:], *shape[1:-1]] if len(shape) > 2 else list(shape[1:])  # channels first
        given, batch = self.sizes.shape(entry.name, dims)
        if batch is not None:
            self.batches.add(batch)
        return self.builder.input(entry.name, given)

    def instantiate(self, d: _Definition, prefix: str, given: list[str], trainable: bool, depth: int) -> list[str]:
        """Add the nodes of one call of the model ``d`` reading ``given``; returns its output tensors."""
        where = f"model '{prefix[:-1]}'" if prefix else "the model"
        if len(given) != len(d.inputs):
            raise SpecError(f"{self.source}: {where} takes {len(d.inputs)} inputs, called on {len(given)}")
        tensors: dict[tuple[str, int], list[str]] = {
            (ref.layer, 0): [t] for ref, t in zip(d.inputs, given, strict=True)
        }
        keys = [(e.name, k) for e in d.entries if not e.is_input for k in range(len(e.calls))]
        never = [e.name for e in d.entries if not e.is_input and not e.calls]
        if never:
            raise SpecError(f"{self.source}: {where}: layers never called (no inbound nodes): {_quoted(never, prefix)}")
        # each call's inputs as (call, output) pairs, and who waits for whom
        reads: dict[tuple[str, int], list[tuple[tuple[str, int], int]]] = {}
        waiting: dict[tuple[str, int], int] = {}
        readers: dict[tuple[str, int], list[tuple[str, int]]] = {}
        for key in keys:
            entry = d.by_name[key[0]]
            reads[key] = [self.resolve(d, ref, prefix, entry.name, False) for ref in entry.calls[key[1]].tensors]
            needs = {source for source, _ in reads[key] if source not in tensors}
            waiting[key] = len(needs)
            for source in needs:
                readers.setdefault(source, []).append(key)
        outputs = [self.resolve(d, ref, prefix, "", True) for ref in d.outputs]
        used = {pair for pairs in reads.values() for pair in pairs} | set(outputs)
        dead = [key for key in keys if not d.by_name[key[0]].is_model and (key, 0) not in used]
        if dead:
            names = list(dict.fromkeys(name for name, _ in dead))
            raise SpecError(
                f"{self.source}: {where}: nothing reads the output of {_quoted(names, prefix)}, and it is not "
                "an output of the model"
            )
        order = {key: (d.by_name[key[0]].position, key[1]) for key in keys}
        ready = [order[key] + key for key in keys if waiting[key] == 0]
        heapq.heapify(ready)
        call_names = _call_names(d)
        done = 0
        while ready:
            *_, layer, k = heapq.heappop(ready)
            key = (layer, k)
            entry = d.by_name[layer]
            inputs = [self.tensor(tensors, source, t, prefix, entry.name) for source, t in reads[key]]
            if entry.is_model:
                tensors[key] = self.nested_call(d, entry, call_names[key], inputs, prefix, trainable, depth)
                self.loose_ends += [t for i, t in enumerate(tensors[key]) if (key, i) not in used]
            else:
                tensors[key] = [self.node(d, entry, k, inputs, prefix, call_names[key], trainable)]
            done += 1
            for reader in readers.get(key, []):
                waiting[reader] -= 1
                if waiting[reader] == 0:
                    heapq.heappush(ready, order[reader] + reader)
        if done < len(keys):
            stuck = list(dict.fromkeys(name for name, k in keys if (name, k) not in tensors))
            raise SpecError(
                f"{self.source}: {where}: layers not reached from its inputs (a layer reading itself, or a "
                f"cycle): {_quoted(stuck, prefix)}"
            )
        return [self.tensor(tensors, source, t, prefix, "") for source, t in outputs]

    def resolve(self, d: _Definition, ref: _Ref, prefix: str, reader: str, listed: bool) -> tuple[tuple[str, int], int]:
        """``ref`` as (call, output): node indices renumbered as the format numbers them.

        Keras 3 numbers the calls recorded in this model from 0, except that ``input_layers`` and
        ``output_layers`` count a nested Functional's from 1; Keras 2, TF-Keras and tfjs count a
        nested model's from 1 everywhere (its call 0 was its own construction), a Sequential
        without an input shape's from 0. A reference that fits only the other numbering is taken
        by it (Keras 2.2.4 counted every nested model from 1).
        """
        who = f"layer '{prefix}{reader}'" if reader else f"model '{prefix[:-1] or d.name}' output_layers"
        target = d.by_name.get(ref.layer)
        if target is None:
            raise SpecError(f"{self.source}: {who} reads '{ref.layer}', which is not in the model")
        if not is_int(ref.node) or not is_int(ref.tensor):
            raise SpecError(f"{self.source}: {who} reads '{ref.layer}' at {ref.node!r}, {ref.tensor!r}")
        if target.is_input:
            if ref.node != 0 or ref.tensor != 0:
                raise SpecError(f"{self.source}: {who} reads call {ref.node} of the input '{ref.layer}'")
            return (ref.layer, 0), 0
        calls = len(target.calls)
        if not target.is_model:
            if not 0 <= ref.node < calls:
                raise SpecError(
                    f"{self.source}: {who} reads call {ref.node} of '{prefix}{ref.layer}', which is called "
                    f"{calls} time{'s' if calls != 1 else ''}"
                )
            if ref.tensor != 0:
                raise SpecError(
                    f"{self.source}: {who} reads output {ref.tensor} of '{prefix}{ref.layer}', which has one"
                )
            return (ref.layer, ref.node), 0
        offset = _offset(d, target, listed)
        for shift in (offset, 1 - offset):
            if 0 <= ref.node - shift < calls:
                return (ref.layer, ref.node - shift), ref.tensor
        raise SpecError(
            f"{self.source}: {who} reads call {ref.node} of the model '{prefix}{ref.layer}', which is called "
            f"{calls} time{'s' if calls != 1 else ''}"
        )

    def tensor(
        self, tensors: dict[tuple[str, int], list[str]], key: tuple[str, int], t: int, prefix: str, reader: str
    ) -> str:
        made = tensors[key]
        if not 0 <= t < len(made):
            who = f"layer '{prefix}{reader}'" if reader else "an output"
            raise SpecError(f"{self.source}: {who} reads output {t} of '{prefix}{key[0]}', which has {len(made)}")
        return made[t]

    def nested_call(
        self, d: _Definition, entry: _Entry, call_name: str, inputs: list[str], prefix: str, trainable: bool, depth: int
    ) -> list[str]:
        if depth >= MAX_DEPTH:
            parts = f"{prefix}{call_name}".split("/")
            at = "/".join(parts) if len(parts) <= 4 else "/".join([*parts[:2], "...", *parts[-2:]])
            raise SpecError(f"{self.source}: models nested deeper than {MAX_DEPTH} levels (at '{at}')")
        inner = self.nested(entry, f"{d.path}{entry.name}/")
        return self.instantiate(inner, f"{prefix}{call_name}/", inputs, trainable and inner.trainable, depth + 1)

    def node(
        self, d: _Definition, entry: _Entry, k: int, inputs: list[str], prefix: str, call_name: str, trainable: bool
    ) -> str:
        """The nodes of one call of a layer (a fused activation is a second node); returns its output."""
        key = (d.path, entry.name)
        layers = self.layers(d, entry, k, prefix, trainable and _flag(entry.config, "trainable", prefix + entry.name))
        if layers is None:  # refused: reported with the rest once the whole model has been read
            return prefix + call_name
        owners = None if entry.is_op else self.owners.get(key)
        made: list[str] = []
        current = inputs
        if len(layers) == 2 and isinstance(layers[0], ScalarOp) and len(inputs) == 2:  # x + r * scale
            scaled = self.builder.add(self.builder.unique(f"{prefix}{call_name}_scale"), layers[0], inputs[1:])
            return self.builder.add(prefix + call_name, layers[1], [inputs[0], scaled])
        for j, layer in enumerate(layers):
            leaf = call_name + layer.name[len(entry.name) :] if layer.name.startswith(entry.name) else layer.name
            shares = owners[j] if owners is not None else ""
            current = [self.builder.add(self.builder.unique(prefix + leaf), layer, current, shares=shares)]
            made += current
        if owners is None and not entry.is_op:
            self.owners[key] = made
        if key in self.last_axis:
            self.axis_checks.append((made[0], self.last_axis[key], entry.class_name, prefix + entry.name))
        return current[0]

    def layers(self, d: _Definition, entry: _Entry, k: int, prefix: str, trainable: bool) -> list[Layer] | None:
        """The spec layers of a layer entry, made once per layer (an op's, once per call)."""
        key = (d.path, entry.name)
        if key in self.converted and not entry.is_op:
            return self.converted[key]
        made: list[Layer] | None
        try:
            made = self.convert(key, entry, entry.calls[k])
        except _NotSupportedYet as e:
            label = f"the op {e.label}" if e.label.startswith("keras.src.ops.") else e.label
            self.refused.setdefault(label, []).append(prefix + entry.name)
            made = None
        except UnsupportedLayerError as e:
            message = str(e)
            self.problems.append(message[len(self.source) + 2 :] if message.startswith(self.source) else message)
            made = None
        if made is not None and not trainable:
            made = [replace(layer, trainable=False) for layer in made]
        self.converted[key] = made
        return made

    def convert(self, key: tuple[str, str], entry: _Entry, call: _Call) -> list[Layer]:
        name, class_name, config = entry.name, entry.class_name, entry.config
        axis: Any = config.get("axis")
        if class_name in _LAST_AXIS and isinstance(axis, list) and len(axis) == 1:
            axis = axis[0]
        if class_name in _LAST_AXIS and is_int(axis) and axis > 0:
            # the last axis at one rank only: read as the channels axis, checked against the shapes later
            self.last_axis[key] = int(axis)
            config = {**config, "axis": -1}
        if entry.module and not entry.module.startswith(("keras.", "tf_keras.")) and entry.module != "keras":
            raise _NotSupportedYet(f"{class_name} (module {entry.module})")
        scale = _residual_scale(entry)
        if scale is not None:  # two nodes, wired by `node`
            return [ScalarOp("multiply", scale, name=f"{name}_scale"), Add(name=name)]
        if entry.is_op and entry.module not in _QUALIFIED_MODULES:
            raise _NotSupportedYet(f"the op {entry.label}")
        # ops by module and class name (an op on two tensors is the merge of the same name), ConvNeXt's layers
        class_name, config = _qualified(entry.item, class_name, config)
        if class_name == "TFOpLambda":  # TF-Keras records `x + y`, `x * 0.5` and tf.* calls this way
            return _tf_op(entry, call)
        if call.keyword_tensors:
            raise UnsupportedLayerError(
                f"layer '{name}' ({class_name}) is called with a tensor as its '{call.keyword_tensors[0]}' "
                "argument, which convcost does not read"
            )
        if config.get("quantization_config") is not None:
            raise UnsupportedLayerError(f"layer '{name}' ({class_name}) is quantized, which convcost does not read")
        if class_name in _MERGES:
            if class_name == "Concatenate" and config.get("axis", -1) not in (-1, 3):
                raise UnsupportedLayerError(f"'{name}' concatenates along axis {config.get('axis')}")
            return [_MERGES[class_name](name=name)]
        return _layer(class_name, config, name, self.source)


#: TF-Keras' TFOpLambda functions on two tensors, or a tensor and a number (``y``, or the first argument)
_TF_ARITHMETIC: dict[str, tuple[type[Layer], str, str]] = {
    "__operators__.add": (Add, "add", "add"),
    "math.add": (Add, "add", "add"),
    "math.subtract": (Subtract, "subtract", "rsubtract"),
    "math.multiply": (Multiply, "multiply", "multiply"),
    "math.truediv": (Divide, "divide", "rdivide"),
    "math.divide": (Divide, "divide", "rdivide"),
}
_TF_ACTIVATIONS = {
    "nn.relu": "relu",
    "nn.relu6": "relu6",
    "math.sigmoid": "sigmoid",
    "nn.sigmoid": "sigmoid",
    "nn.silu": "silu",
    "nn.swish": "silu",
    "math.tanh": "tanh",
    "nn.tanh": "tanh",
}


def _tf_op(entry: _Entry, call: _Call) -> list[Layer]:
    """A TFOpLambda layer (TF >= 2.4): the TF function it calls, read from its config (never run)."""
    function, name = entry.config.get("function"), entry.name
    others = {k: v for k, v in call.keywords.items() if k not in ("y", "name") and v is not None}
    if function in _TF_ACTIVATIONS and len(call.tensors) == 1 and not call.constants and not others:
        return [Activation(_TF_ACTIVATIONS[function], name=name)]
    if function in _TF_ARITHMETIC and not others:
        merge, op, reversed_op = _TF_ARITHMETIC[function]
        constants = [*call.constants, *([call.keywords["y"]] if call.keywords.get("y") is not None else [])]
        if len(call.tensors) == 2 and not constants:
            return [merge(name=name)]
        if len(call.tensors) == 1 and len(constants) == 1 and _is_number(constants[0]):
            return [ScalarOp(reversed_op if call.constant_first else op, constants[0], name=name)]
    raise _NotSupportedYet(f"TFOpLambda {function}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _residual_scale(entry: _Entry) -> float | None:
    """The ``scale`` of keras.applications' InceptionResNetV2 residual ``x + r * scale``: Keras 3's
    CustomScaleLayer, or Keras 2's Lambda, recognised by its module and arguments (its code never runs)."""
    config = entry.config
    if entry.class_name == "CustomScaleLayer" and entry.module.endswith("inception_resnet_v2"):
        scale = config.get("scale")
    elif (
        entry.class_name == "Lambda"
        and str(config.get("module")).endswith("inception_resnet_v2")
        and isinstance(config.get("arguments"), dict)
        and set(config["arguments"]) == {"scale"}
    ):
        scale = config["arguments"]["scale"]
    else:
        return None
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or any(c.constants for c in entry.calls):
        raise UnsupportedLayerError(f"layer '{entry.name}' ({entry.class_name}) scales by {scale!r}, not a number")
    if any(len(c.tensors) != 2 for c in entry.calls):
        raise UnsupportedLayerError(f"layer '{entry.name}' ({entry.class_name}) is not called on [x, residual]")
    return float(scale)


def _tensors(args: Any) -> list[dict[str, Any]]:
    """The Keras 3 tensors in a call's arguments, in order (a walk with a stack: no recursion)."""
    found: list[dict[str, Any]] = []
    stack = [args]
    while stack:
        item = stack.pop()
        if isinstance(item, dict) and item.get("class_name") == "__keras_tensor__":
            found.append(item)
        elif isinstance(item, (list, tuple)):
            stack += reversed(item)
    return found


def _looks_like_ref(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) in (3, 4)
        and isinstance(value[0], str)
        and is_int(value[1])
        and is_int(value[2])
    )


def _flag(config: dict[str, Any], key: str, name: str) -> bool:
    value = config.get(key, True)
    if not isinstance(value, bool):
        raise SpecError(f"'{name}': {key} must be true or false, got {value!r}")
    return value


def _offset(d: _Definition, target: _Entry, listed: bool) -> int:
    """How the format numbers a nested model's first call in this model (see ``_Reader.resolve``)."""
    if d.chained:
        return 0
    if d.keras2:
        return 0 if target.class_name == "Sequential" and not _sequential_has_input(target.config) else 1
    return 1 if listed and target.class_name != "Sequential" else 0


def _sequential_has_input(config: dict[str, Any]) -> bool:
    layers = config.get("layers")
    first = layers[0] if isinstance(layers, list) and layers else None
    if not isinstance(first, dict) or not isinstance(first.get("config"), dict):
        return False
    return first.get("class_name") == "InputLayer" or "batch_input_shape" in first["config"]


def _sequential_input_shape(config: dict[str, Any]) -> Any:
    """A Sequential without an InputLayer: the shape its first layer, its build or the first layer
    of the model it starts with says (a bounded walk down first layers, not a recursion)."""
    for _ in range(MAX_DEPTH):
        layers = config.get("layers")
        build = config.get("build_input_shape")
        first = layers[0] if isinstance(layers, list) and layers else None
        if not isinstance(first, dict) or not isinstance(first.get("config"), (dict, list)):
            return build
        inner = first["config"] if isinstance(first["config"], dict) else {"layers": first["config"]}
        shape = inner.get("batch_input_shape") or inner.get("batch_shape")
        if shape is not None or build is not None:
            return shape if shape is not None else build
        if first.get("class_name") not in _MODELS:
            return None
        if first.get("class_name") != "Sequential":  # a Functional: its first InputLayer
            for item in inner.get("layers") or []:
                if isinstance(item, dict) and item.get("class_name") == "InputLayer":
                    found = item.get("config") or {}
                    return found.get("batch_shape") or found.get("batch_input_shape")
            return None
        config = inner
    return None


def _call_names(d: _Definition) -> dict[tuple[str, int], str]:
    """What each call is named: the layer's name, then ``name_1``, ``name_2``, ... for later calls,
    skipping the names of other layers of the model (Keras names layers ``conv2d``, ``conv2d_1``)."""
    taken = set(d.by_name)
    names: dict[tuple[str, int], str] = {}
    for e in d.entries:
        for k in range(len(e.calls)):
            if k == 0:
                names[(e.name, 0)] = e.name
                continue
            n = k
            while f"{e.name}_{n}" in taken:
                n += 1
            names[(e.name, k)] = f"{e.name}_{n}"
            taken.add(names[(e.name, k)])
    return names


def _quoted(names: list[str], prefix: str = "") -> str:
    shown = ", ".join(f"'{prefix}{name}'" for name in names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


def _named(paths: list[str]) -> str:
    return ("layer " if len(paths) == 1 else "layers ") + _quoted(paths)


__all__ = [
    "BUILDERS",
    "InputSize",
    "builds",
    "from_keras",
    "from_keras_json",
    "keras_archive_file",
    "keras_json_file",
    "to_keras",
]
