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

import json
from collections.abc import Callable
from typing import Any, TypeVar, cast

from convcost.errors import ConvcostError, MissingRuleError, SpecError, UnsupportedLayerError
from convcost.geometry import same_padding
from convcost.graph import GraphBuilder
from convcost.interop import require
from convcost.layer import ExplicitPadding, Layer, Shape, Site
from convcost.layers import (
    ACTIVATIONS,
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
# keras -> spec


def from_keras(model: Any, *, batch: int = 1) -> Model:
    """Read a live Keras model through its JSON config (the same reader as ``from_keras_json``)."""
    return from_keras_json(model.to_json(), batch=batch)


#: JSON's names for what json.loads returns, for messages about a file
_JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}
_JSON_TYPES[type(None)] = "null"


def from_keras_json(text: str, *, batch: int = 1, source: str = "Keras JSON") -> Model:
    """Read ``model.to_json()`` output (Sequential or Functional) without importing Keras."""
    from convcost import jsonparse  # duplicate keys, over-long integers and lone surrogates refused

    try:
        document = jsonparse.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError(f"{source}: not JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    except RecursionError:
        raise SpecError(f"{source}: nested too deeply") from None
    if not isinstance(document, dict) or "config" not in document:
        raise SpecError(f"{source}: expected a Keras model config with 'class_name' and 'config'")
    if not isinstance(document["config"], dict):
        got = _JSON_TYPES.get(type(document["config"]), "something else")
        raise SpecError(f"{source}: a Keras model config's 'config' must be an object, got {got}")
    kind = document.get("class_name")
    config = document["config"]
    layers = config.get("layers")
    if not isinstance(layers, list) or not layers:
        raise SpecError(f"{source}: the model config has no 'layers' list")
    name = str(config.get("name") or "keras_model")
    try:
        if kind == "Sequential":
            graph = _read_sequential(layers, source)
        elif kind in ("Functional", "Model"):
            graph = _read_functional(config, layers, source)
        else:
            raise UnsupportedLayerError(f"{source}: unsupported model class {kind!r} (Sequential or Functional)")
        return Model.from_graph(name, graph, batch=batch)
    except ConvcostError as e:
        if str(e).startswith(source):
            raise
        # a layer's own check (Conv2D 'stem': dilation must be ...) does not know the file
        raise type(e)(f"{source}: {e}") from None
    except (TypeError, KeyError, IndexError, AttributeError, ValueError, OverflowError) as e:
        # the file is JSON but not the shape Keras writes (a list where a table belongs, ...)
        detail = " ".join(str(e).split())
        raise SpecError(f"{source}: malformed Keras config ({type(e).__name__}: {detail})") from None


def keras_json_file(path: str, max_bytes: int = 64 * 1024 * 1024) -> Model | None:
    """The model in ``path`` when it is a Keras ``to_json()`` config, else None (not JSON, another
    kind of file, or unreadable: the caller's own reader reports those)."""
    from pathlib import Path

    file = Path(path)
    if file.suffix.lower() != ".json":
        return None
    from convcost.specfile import read_limited  # opened once, read to at most max_bytes + 1

    try:
        text = read_limited(file, max_bytes).decode("utf-8")
        document = json.loads(text)
    except (SpecError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    # class_name + config is what Keras writes (a spec file has neither): a broken one is reported as Keras
    if not (isinstance(document, dict) and "class_name" in document and "config" in document):
        return None
    return from_keras_json(text, source=str(file))


def _batch_shape(config: dict[str, Any], source: str, name: str) -> Shape:
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    if not isinstance(shape, list) or len(shape) < 2 or not all(isinstance(d, int) for d in shape[1:]):
        raise SpecError(f"{source}: layer '{name}' does not give a complete input shape (got {shape!r})")
    return _channels_first(shape[1:])


def _read_sequential(layers: list[Any], source: str) -> Any:
    builder = GraphBuilder()
    current = ""
    for entry in layers:
        class_name, config, name = _entry(entry, source)
        if class_name == "InputLayer":
            current = builder.input(name, _batch_shape(config, source, name))
            continue
        if not current:
            build = entry.get("build_config") or {}
            if "batch_input_shape" in config:
                current = builder.input("input", _batch_shape(config, source, name))
            elif isinstance(build.get("input_shape"), list):
                current = builder.input("input", _batch_shape({"batch_shape": build["input_shape"]}, source, name))
            else:
                raise SpecError(f"{source}: the Sequential model does not say its input shape")
        if class_name in _MERGES:
            raise UnsupportedLayerError(f"{source}: merge layer '{name}' inside a Sequential model")
        current = _add_layer(builder, class_name, config, name, [current], source)
    if not current:
        raise SpecError(f"{source}: the Sequential model does not say its input shape")
    return builder.graph([current])


def _add_layer(
    builder: GraphBuilder, class_name: str, config: dict[str, Any], name: str, reads: list[str], source: str
) -> str:
    """The nodes of one Keras layer (a fused activation is a second node); returns the tensor it makes."""
    if class_name in _MERGES:
        if class_name == "Concatenate" and config.get("axis", -1) not in (-1, 3):
            raise UnsupportedLayerError(f"{source}: '{name}' concatenates along axis {config.get('axis')}")
        return builder.add(name, _MERGES[class_name](name=name), reads)
    if len(reads) != 1:
        raise UnsupportedLayerError(f"{source}: layer '{name}' ({class_name}) takes {len(reads)} inputs")
    current = reads[0]
    for layer in _layer(class_name, config, name, source):
        current = builder.add(builder.unique(layer.name), layer, [current])
    return current


def _entry(entry: Any, source: str) -> tuple[str, dict[str, Any], str]:
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise SpecError(f"{source}: a layer entry is not an object with a 'config'")
    class_name = str(entry.get("class_name"))
    config = entry["config"]
    name = str(config.get("name") or entry.get("name") or class_name)
    class_name, config = _qualified(entry, class_name, config)
    return class_name, config, name


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
    if class_name == "Lambda":
        raise UnsupportedLayerError(
            f"{source}: Lambda layer '{name}' holds Python code, which convcost never runs: replace it "
            "with a standard layer"
        )
    raise UnsupportedLayerError(f"{source}: layer '{name}' is a {class_name}, which convcost does not support")


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


def _read_functional(config: dict[str, Any], layers: list[Any], source: str) -> Any:
    """A Functional config is a graph: every layer reads the layers its inbound node names."""
    builder = GraphBuilder()
    inputs: set[str] = set()
    pending: list[tuple[str, str, dict[str, Any], list[str]]] = []
    for entry in layers:
        class_name, layer_config, name = _entry(entry, source)
        if name in inputs or any(p[1] == name for p in pending):
            raise SpecError(f"{source}: two layers are named '{name}'")
        if class_name == "InputLayer":
            inputs.add(builder.input(name, _batch_shape(layer_config, source, name)))
            continue
        pending.append((class_name, name, layer_config, _inbound(entry, name, source)))
    if not inputs:
        raise UnsupportedLayerError(f"{source}: the model has no InputLayer")
    names = {p[1] for p in pending} | inputs
    # a fused activation's node comes after its layer's: readers of the layer read the activation
    for _, name, _, inbound in pending:
        for parent in inbound:
            if parent not in names:
                raise SpecError(f"{source}: layer '{name}' reads '{parent}', which is not in the model")
    fused = {name: _fused_name(cls, layer_config, name, source) for cls, name, layer_config, _ in pending}
    for class_name, name, layer_config, inbound in pending:
        reads = [fused.get(parent) or parent for parent in inbound]
        _add_layer(builder, class_name, layer_config, name, reads, source)
    outputs = _output_names(config, pending, source)
    return builder.graph([fused.get(name) or name for name in outputs])


def _fused_name(class_name: str, config: dict[str, Any], name: str, source: str) -> str:
    """The node a layer's fused activation becomes, or "" when it has none."""
    if class_name in _MERGES or "activation" not in config or class_name == "Activation":
        return ""
    function = _activation_name(config.get("activation"), source, name)
    return "" if function == "linear" else f"{name}_{function}"


def _output_names(
    config: dict[str, Any], pending: list[tuple[str, str, dict[str, Any], list[str]]], source: str
) -> list[str]:
    """The model's outputs: ``output_layers`` ([name, node, tensor] entries), else the last layer."""
    declared = config.get("output_layers")
    if declared is None:
        if not pending:
            raise SpecError(f"{source}: the model has no layers after its input")
        return [pending[-1][1]]
    if isinstance(declared, list) and len(declared) == 3 and isinstance(declared[0], str):
        declared = [declared]  # Keras 3 writes a single output without the outer list
    return [str(entry[0]) for entry in declared]


def _inbound(entry: dict[str, Any], name: str, source: str) -> list[str]:
    nodes = entry.get("inbound_nodes") or []
    if len(nodes) > 1:
        raise UnsupportedLayerError(f"{source}: layer '{name}' is called {len(nodes)} times (shared layer)")
    if not nodes:
        return []
    node = nodes[0]
    if isinstance(node, dict):  # Keras 3: {"args": [tensor or [tensors]], "kwargs": {}}
        return [str(t["config"]["keras_history"][0]) for t in _tensors(node.get("args", []))]
    return [str(inbound[0]) for inbound in node]  # Keras 2: [[name, node, tensor, kwargs], ...]


def _tensors(args: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(args, dict) and args.get("class_name") == "__keras_tensor__":
        found.append(args)
    elif isinstance(args, (list, tuple)):
        for item in args:
            found += _tensors(item)
    return found


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


__all__ = ["BUILDERS", "builds", "from_keras", "from_keras_json", "keras_json_file", "to_keras"]
