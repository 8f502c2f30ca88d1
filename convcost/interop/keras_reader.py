"""Keras model configs -> the graph, without Keras: ``from_keras``, ``from_keras_json``, ``keras_json_file``,
``keras_archive_file``.

The forms a config comes in (``to_json()`` text, ``get_config()`` dicts, tfjs files, ``.keras``
archives) are ``keras_files``' job; what one Keras class becomes is ``keras._convert``'s (the
per-class mapping, beside the builders of ``to_keras``). This module takes a whole config to a
graph: every call of every layer becomes nodes reading the tensors its inbound node names, models
used as layers are flattened under their path, a layer called again shares its first call's
weights, ``trainable: false`` anywhere freezes what it holds, sizes left as None come from the
caller, and whatever no mapping reads is refused at once, by class.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from convcost.blocks import MAX_DEPTH
from convcost.errors import ConvcostError, SpecError, UnsupportedLayerError
from convcost.graph import GraphBuilder
from convcost.interop import keras_files
from convcost.interop.keras import (  # the per-class mapping: one Keras class -> convcost layers
    _MERGES,
    _QUALIFIED_MODULES,
    _layer,
    _NotSupportedYet,
    _qualified,
    _scaled_residual,
    _tf_op,
)
from convcost.layer import Layer, Shape, is_int
from convcost.model import Model
from convcost.record import record

# --------------------------------------------------------------------------------------------
# the ways in

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
    return _read(document, source, batch, input_size, resolution)


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
    return _read(document, source, batch, input_size, resolution)


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
    from convcost.specfile import read_limited  # opened once, read to at most max_bytes + 1

    try:
        text = read_limited(file, max_bytes).decode("utf-8")
        document = json.loads(text)
    except (SpecError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    # class_name + config is what Keras writes (a spec file has neither): a broken one is reported as Keras
    if not keras_files.is_keras_document(document):
        return None
    document = keras_files.parse_json(text, str(file))  # duplicate keys refused, with line and column
    return _read(keras_files.unwrap(document, str(file)), str(file), None, input_size, resolution)


def keras_archive_file(path: str, *, input_size: InputSize = None, resolution: int | None = None) -> Model:
    """The model in a ``.keras`` archive: its ``config.json`` alone is read (never the weights)."""
    text = keras_files.read_archive(path)
    document = keras_files.unwrap(keras_files.parse_json(text, path), path)
    return _read(document, path, None, input_size, resolution)


# --------------------------------------------------------------------------------------------
# the machinery
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


@record
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


def _read(
    document: dict[str, Any], source: str, batch: int | None, input_size: InputSize, resolution: int | None
) -> Model:
    """The model a Keras document describes; every error names ``source``."""
    try:
        return _Reader(source, _Sizes(input_size, resolution)).model(document, batch)
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
        self.axis_checks: list[tuple[str, tuple[int, Any], str, str]] = []
        self.last_axis: dict[tuple[str, str], tuple[int, Any]] = {}
        #: InceptionResNetV2's residual scalings: two nodes each, not a chain
        self.residuals: set[tuple[str, str]] = set()
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
        for node, (axis, written), class_name, layer in self.axis_checks:
            if ranks[node] != axis:
                raise UnsupportedLayerError(
                    f"{self.source}: layer '{layer}' ({class_name}) works on axis {written} of a "
                    f"{ranks[node] + 1}-axis tensor: convcost reads only the channels axis (the last)"
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
        if key in self.residuals:  # x + r * scale: r * scale first, then the sum
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

    def residual(self, entry: _Entry) -> list[Layer] | None:
        """InceptionResNetV2's ``x + r * scale`` as its two layers, if ``entry`` is one (checked calls)."""
        layers = _scaled_residual(entry.class_name, entry.module, entry.config, entry.name)
        if layers is not None and any(len(c.tensors) != 2 or c.constants for c in entry.calls):
            raise UnsupportedLayerError(f"layer '{entry.name}' ({entry.class_name}) is not called on [x, residual]")
        return layers

    def convert(self, key: tuple[str, str], entry: _Entry, call: _Call) -> list[Layer]:
        name, class_name, config = entry.name, entry.class_name, entry.config
        if entry.module and not entry.module.startswith(("keras.", "tf_keras.")) and entry.module != "keras":
            raise _NotSupportedYet(f"{class_name} (module {entry.module})")
        residual = self.residual(entry)
        if residual is not None:  # two nodes, wired by `node`
            self.residuals.add(key)
            return residual
        if entry.is_op and entry.module not in _QUALIFIED_MODULES:
            raise _NotSupportedYet(f"the op {entry.label}")
        # ops by module and class name (an op on two tensors is the merge of the same name), ConvNeXt's layers
        class_name, config = _qualified(entry.item, class_name, config)
        axis: Any = config.get("axis")
        written = axis
        if class_name in _LAST_AXIS and isinstance(axis, list) and len(axis) == 1:
            axis = axis[0]
        # a positive axis is the channels at one rank only; Normalization reads any axis of a known rank
        known_rank = class_name == "Normalization" and "__input_shape__" in config
        if class_name in _LAST_AXIS and is_int(axis) and axis > 0 and not known_rank:
            # read as the channels axis (the last), checked against the shapes once they are known
            self.last_axis[key] = (int(axis), written)
            config = {**config, "axis": -1}
        if class_name == "TFOpLambda":  # TF-Keras records `x + y`, `x * 0.5` and tf.* calls this way
            others = {k: v for k, v in call.keywords.items() if k not in ("y", "name") and v is not None}
            y = call.keywords.get("y")
            constants = [*call.constants, *([y] if y is not None else [])]
            return _tf_op(config.get("function"), len(call.tensors), constants, call.constant_first, bool(others), name)
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


__all__ = ["InputSize", "from_keras", "from_keras_json", "keras_archive_file", "keras_json_file"]
