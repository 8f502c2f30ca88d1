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
    return keras.layers.Activation(layer.function, name=name)(xs[0])


@builds(MaxPool2D)
def _max_pool2d(keras: Any, layer: MaxPool2D, site: Site, xs: list[Any], name: str) -> Any:
    x, padding = _padding(keras, layer.padding, xs[0], name)
    return keras.layers.MaxPooling2D(layer.pool, strides=layer.stride, padding=padding, name=name)(x)


@builds(AvgPool2D)
def _avg_pool2d(keras: Any, layer: AvgPool2D, site: Site, xs: list[Any], name: str) -> Any:
    x, padding = _padding(keras, layer.padding, xs[0], name)
    return keras.layers.AveragePooling2D(layer.pool, strides=layer.stride, padding=padding, name=name)(x)


@builds(GlobalAvgPool2D)
def _global_avg_pool2d(keras: Any, layer: GlobalAvgPool2D, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.GlobalAveragePooling2D(keepdims=layer.keepdims, name=name)(xs[0])


@builds(Flatten)
def _flatten(keras: Any, layer: Flatten, site: Site, xs: list[Any], name: str) -> Any:
    return keras.layers.Flatten(name=name)(xs[0])


@builds(Dropout)
def _dropout(keras: Any, layer: Dropout, site: Site, xs: list[Any], name: str) -> Any:
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
    if class_name == "Lambda":
        raise UnsupportedLayerError(
            f"{source}: Lambda layer '{name}' holds Python code, which convcost never runs: replace it "
            "with a standard layer"
        )
    raise UnsupportedLayerError(f"{source}: layer '{name}' is a {class_name}, which convcost does not support")


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


__all__ = ["BUILDERS", "builds", "from_keras", "from_keras_json", "keras_json_file", "to_keras"]
