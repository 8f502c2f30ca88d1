"""spec <-> Keras: ``to_keras(model)``, ``from_keras(model)``, and ``from_keras_json(text)`` without Keras.

Keras is channels-last; specs are channels-first, so shapes and ``Reshape`` targets are turned
around at the border. ``to_keras`` builds a Functional model with one Keras layer per spec leaf,
named after the layer's path ('/' becomes '_', Keras names cannot hold it). Keras has no explicit
padding on a layer, so explicit padding becomes a ``ZeroPadding2D`` named ``<layer>_pad`` first.

``from_keras_json`` reads the JSON of ``model.to_json()`` (Keras 3, and Keras 2's inbound-node
lists) as plain data: nothing in the file is imported or executed. Layers are followed from the
input along the inbound nodes; a fork must rejoin at an ``Add`` or ``Concatenate`` (the spec's
``Parallel``). A Lambda, a custom or an unknown layer is an ``UnsupportedLayerError`` naming it.
An activation fused into a layer (``Conv2D(..., activation='relu')``) becomes its own
``Activation`` row named ``<layer>_<activation>`` (it costs nothing under the paper and Keras
conventions, and the torch tools count it as the separate module it becomes).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any, cast

from convcost.errors import ConvcostError, SpecError, UnsupportedLayerError
from convcost.interop import require
from convcost.shapes import infer_shapes, merge_shape
from convcost.spec import (
    ACTIVATIONS,
    Activation,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    ExplicitPadding,
    Flatten,
    GlobalAvgPool2D,
    Layer,
    MaxPool2D,
    Model,
    Parallel,
    Reshape,
    SeparableConv2D,
    Sequential,
    Shape,
    ZeroPadding2D,
)

# --------------------------------------------------------------------------------------------
# spec -> keras


def to_keras(model: Model) -> Any:
    """A Keras Functional model with the spec's layers, channels-last, input ``(H, W, C)``."""
    keras = require("keras", "keras")
    inputs = keras.Input(_channels_last(model.input), name="input")
    outputs = _block(keras, model.body, inputs, model.input, "")
    return keras.Model(inputs, outputs, name=model.name)


def _channels_last(shape: Shape) -> tuple[int, ...]:
    return (*shape[1:], shape[0]) if len(shape) == 3 else tuple(shape)


def _channels_first(shape: list[int] | tuple[int, ...]) -> tuple[int, ...]:
    return (shape[-1], *shape[:-1]) if len(shape) == 3 else tuple(shape)


def _keras_name(path: str) -> str:
    return path.replace("/", "_")


def _block(keras: Any, block: Sequential, x: Any, shape: Shape, prefix: str) -> Any:
    for layer in block.layers:
        path = prefix + layer.name
        if isinstance(layer, Sequential):
            x = _block(keras, layer, x, shape, path + "/")
            shape = _shape_after(layer, shape)
        elif isinstance(layer, Parallel):
            outs = [_block(keras, b, x, shape, f"{path}/{b.name}/") for b in layer.branches]
            merge = keras.layers.Add if layer.merge == "add" else keras.layers.Concatenate
            x = merge(name=_keras_name(path))(outs)
            shape = _shape_after(layer, shape)
        else:
            x = _leaf(keras, layer, x, shape, _keras_name(path))
            shape = _shape_after(layer, shape)
    return x


def _shape_after(layer: Layer, shape: Shape) -> Shape:
    rows = infer_shapes(Model("m", shape, Sequential((layer,))))
    return rows[-1][3] if rows else shape


def _padding(keras: Any, layer: Any, x: Any, name: str) -> tuple[Any, str]:
    """Keras layers take only 'same' / 'valid': explicit padding goes in a ZeroPadding2D first."""
    if isinstance(layer.padding, str):
        return x, layer.padding
    if layer.padding == ((0, 0), (0, 0)):
        return x, "valid"
    return keras.layers.ZeroPadding2D(layer.padding, name=f"{name}_pad")(x), "valid"


def _leaf(keras: Any, layer: Layer, x: Any, shape: Shape, name: str) -> Any:
    L = keras.layers
    if isinstance(layer, Conv2D):
        x, padding = _padding(keras, layer, x, name)
        return L.Conv2D(
            layer.filters,
            layer.kernel,
            strides=layer.stride,
            padding=padding,
            dilation_rate=layer.dilation,
            groups=layer.groups,
            use_bias=layer.bias,
            name=name,
        )(x)
    if isinstance(layer, DepthwiseConv2D):
        x, padding = _padding(keras, layer, x, name)
        return L.DepthwiseConv2D(
            layer.kernel,
            strides=layer.stride,
            padding=padding,
            depth_multiplier=layer.depth_multiplier,
            dilation_rate=layer.dilation,
            use_bias=layer.bias,
            name=name,
        )(x)
    if isinstance(layer, SeparableConv2D):
        x, padding = _padding(keras, layer, x, name)
        return L.SeparableConv2D(
            layer.filters,
            layer.kernel,
            strides=layer.stride,
            padding=padding,
            depth_multiplier=layer.depth_multiplier,
            dilation_rate=layer.dilation,
            use_bias=layer.bias,
            name=name,
        )(x)
    if isinstance(layer, Dense):
        return L.Dense(layer.units, use_bias=layer.bias, name=name)(x)
    if isinstance(layer, BatchNorm):
        return L.BatchNormalization(center=layer.center, scale=layer.scale, name=name)(x)
    if isinstance(layer, Activation):
        return L.Activation(layer.function, name=name)(x)
    if isinstance(layer, (MaxPool2D, AvgPool2D)):
        x, padding = _padding(keras, layer, x, name)
        pool = L.MaxPooling2D if isinstance(layer, MaxPool2D) else L.AveragePooling2D
        return pool(layer.pool, strides=layer.stride, padding=padding, name=name)(x)
    if isinstance(layer, GlobalAvgPool2D):
        return L.GlobalAveragePooling2D(keepdims=layer.keepdims, name=name)(x)
    if isinstance(layer, Flatten):
        return L.Flatten(name=name)(x)
    if isinstance(layer, Dropout):
        return L.Dropout(layer.rate, name=name)(x)
    if isinstance(layer, Reshape):
        return L.Reshape(_channels_last(layer.target), name=name)(x)
    if isinstance(layer, ZeroPadding2D):
        return L.ZeroPadding2D(layer.padding, name=name)(x)
    raise UnsupportedLayerError(f"layer '{layer.name}': no Keras layer for {type(layer).__name__}")


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
            input_shape, body = _read_sequential(layers, source)
        elif kind in ("Functional", "Model"):
            input_shape, body = _Functional(layers, source).read()
        else:
            raise UnsupportedLayerError(f"{source}: unsupported model class {kind!r} (Sequential or Functional)")
        return Model(name, input_shape, body, batch=batch)
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
    try:
        if file.stat().st_size > max_bytes:
            return None
        text = file.read_text(encoding="utf-8")
        document = json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
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


def _read_sequential(layers: list[Any], source: str) -> tuple[Shape, Sequential]:
    input_shape: Shape | None = None
    spec_layers: list[Layer] = []
    for entry in layers:
        class_name, config, name = _entry(entry, source)
        if class_name == "InputLayer":
            input_shape = _batch_shape(config, source, name)
            continue
        if input_shape is None:
            build = entry.get("build_config") or {}
            if "batch_input_shape" in config:
                input_shape = _batch_shape(config, source, name)
            elif isinstance(build.get("input_shape"), list):
                input_shape = _batch_shape({"batch_shape": build["input_shape"]}, source, name)
            else:
                raise SpecError(f"{source}: the Sequential model does not say its input shape")
        if class_name in _MERGES:
            raise UnsupportedLayerError(f"{source}: merge layer '{name}' inside a Sequential model")
        spec_layers += _layer(class_name, config, name, source)
    if input_shape is None:
        raise SpecError(f"{source}: the Sequential model does not say its input shape")
    return input_shape, Sequential(tuple(spec_layers))


def _entry(entry: Any, source: str) -> tuple[str, dict[str, Any], str]:
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise SpecError(f"{source}: a layer entry is not an object with a 'config'")
    class_name = str(entry.get("class_name"))
    config = entry["config"]
    name = str(config.get("name") or entry.get("name") or class_name)
    return class_name, config, name


_MERGES = {"Add": "add", "Concatenate": "concat"}
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


class _Functional:
    """Follows a Functional config's inbound nodes from the input: chains, forks and merges."""

    def __init__(self, layers: list[Any], source: str) -> None:
        self.source = source
        self.entries: OrderedDict[str, tuple[str, dict[str, Any], list[str]]] = OrderedDict()
        self.users: dict[str, list[str]] = {}
        for entry in layers:
            class_name, config, name = _entry(entry, source)
            if name in self.entries:
                raise SpecError(f"{source}: two layers are named '{name}'")
            inbound = self._inbound(entry, name)
            self.entries[name] = (class_name, config, inbound)
        for name, (_, _, inbound) in self.entries.items():
            for parent in inbound:
                if parent not in self.entries:
                    raise SpecError(f"{source}: layer '{name}' reads '{parent}', which is not in the model")
                self.users.setdefault(parent, []).append(name)

    def _inbound(self, entry: dict[str, Any], name: str) -> list[str]:
        nodes = entry.get("inbound_nodes") or []
        if len(nodes) > 1:
            raise UnsupportedLayerError(f"{self.source}: layer '{name}' is called {len(nodes)} times (shared layer)")
        if not nodes:
            return []
        node = nodes[0]
        if isinstance(node, dict):  # Keras 3: {"args": [tensor or [tensors]], "kwargs": {}}
            return [t["config"]["keras_history"][0] for t in _tensors(node.get("args", []))]
        return [str(inbound[0]) for inbound in node]  # Keras 2: [[name, node, tensor, kwargs], ...]

    def read(self) -> tuple[Shape, Sequential]:
        inputs = [n for n, (kind, _, _) in self.entries.items() if kind == "InputLayer"]
        if len(inputs) != 1:
            raise UnsupportedLayerError(f"{self.source}: the model has {len(inputs)} inputs (only one)")
        shape = _batch_shape(self.entries[inputs[0]][1], self.source, inputs[0])
        layers, end = self.follow(inputs[0])
        if end is not None:
            raise UnsupportedLayerError(f"{self.source}: merge layer '{end}' joins tensors that did not fork")
        return shape, Sequential(tuple(layers))

    def follow(self, name: str) -> tuple[list[Layer], str | None]:
        """Layers after ``name`` up to the output (None) or a merge layer (its name, not consumed)."""
        layers: list[Layer] = []
        while True:
            users = self.users.get(name, [])
            if not users:
                return layers, None
            if len(users) == 1:
                user = users[0]
                if self.entries[user][0] in _MERGES:
                    return layers, user
                layers += self.convert(user)
                name = user
                continue
            parallel, name = self.fork(name, users)
            layers.append(parallel)

    def convert(self, name: str) -> list[Layer]:
        class_name, config, inbound = self.entries[name]
        if len(inbound) != 1:
            raise UnsupportedLayerError(f"{self.source}: layer '{name}' ({class_name}) takes {len(inbound)} inputs")
        return _layer(class_name, config, name, self.source)

    def fork(self, start: str, users: list[str]) -> tuple[Parallel, str]:
        branches: list[tuple[str, list[Layer]]] = []
        merges: set[str] = set()
        for user in users:
            if self.entries[user][0] in _MERGES:
                branches.append((start, []))
                merges.add(user)
                continue
            first = self.convert(user)
            rest, (reached, last) = self.follow_to_merge(user)
            branches.append((last, [*first, *rest]))
            merges.add(reached)
        if len(merges) != 1:
            raise UnsupportedLayerError(
                f"{self.source}: branches from '{start}' rejoin at {', '.join(sorted(merges))} (one merge expected)"
            )
        merge = merges.pop()
        class_name, config, inbound = self.entries[merge]
        if sorted(inbound) != sorted(end for end, _ in branches):
            raise UnsupportedLayerError(f"{self.source}: merge '{merge}' joins tensors from outside one fork")
        if class_name == "Concatenate" and config.get("axis", -1) not in (-1, 3):
            raise UnsupportedLayerError(f"{self.source}: '{merge}' concatenates along axis {config.get('axis')}")
        ends = [end for end, _ in branches]
        if len(set(ends)) != len(ends):  # two identity branches
            raise UnsupportedLayerError(f"{self.source}: merge '{merge}' reads the same tensor twice")
        branches.sort(key=lambda pair: inbound.index(pair[0]))
        named = tuple(Sequential(tuple(layers), name=f"branch_{i}") for i, (_, layers) in enumerate(branches))
        return Parallel(named, merge=_MERGES[class_name], name=merge), merge

    def follow_to_merge(self, name: str) -> tuple[list[Layer], tuple[str, str]]:
        """Like ``follow`` from ``name``, but the branch must end at a merge: (layers, (merge, last))."""
        layers: list[Layer] = []
        while True:
            users = self.users.get(name, [])
            if not users:
                raise UnsupportedLayerError(f"{self.source}: the branch through '{name}' never rejoins")
            if len(users) == 1:
                user = users[0]
                if self.entries[user][0] in _MERGES:
                    return layers, (user, name)
                layers += self.convert(user)
                name = user
                continue
            parallel, name = self.fork(name, users)
            layers.append(parallel)


def _tensors(args: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(args, dict) and args.get("class_name") == "__keras_tensor__":
        found.append(args)
    elif isinstance(args, (list, tuple)):
        for item in args:
            found += _tensors(item)
    return found


__all__ = ["from_keras", "from_keras_json", "keras_json_file", "to_keras"]

_ = merge_shape  # shapes of merges are checked when the spec is analysed
