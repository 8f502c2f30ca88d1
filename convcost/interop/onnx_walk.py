"""The walk over an ONNX graph: its tensors as convcost sees them, and the graph it builds.

``Walk`` visits the nodes in order and keeps, for every ONNX tensor, either

* a ``Const``: computed from the file's initializers and Constant nodes alone, with its shape, its
  value when small (``onnx_values`` evaluates the shape arithmetic exporters write into graphs:
  ``Shape -> Gather -> Concat`` targets, Pad amounts computed from sizes) and the float weight
  tensors it is made of; a node on constants only is folded, it makes no node of the network; or
* an ``Act``: a tensor of the convcost graph seen through a layout. ONNX tensors have the batch
  axis first and their other axes in whatever order the exporter left them (Keras exports are
  NHWC, with a Transpose around every convolution); convcost shapes are per sample and
  channels-first. ``axes[i]`` is the convcost axis that ONNX axis ``i + 1`` is: a Transpose only
  changes the layout, and an NHWC bias ``[1, 1, 1, C]`` still lands on the channels.

A node that reads an activation is handed to ``map`` (``convcost.interop.onnx``, the one module that
knows the layer kinds), which adds convcost nodes with ``add``: their output shapes come from the
kinds' own rules, and every shape the file records (value_info, graph outputs) is held against
ours. Weights are held once: ``add`` is told which of the file's float tensors a node holds, and a
node holding the same tensors as an earlier, equal layer shares its weights. Operators convcost
cannot map are collected and reported together, by name.
"""

from __future__ import annotations

import contextlib
import heapq
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from convcost.errors import GeometryError, SpecError, SpecFileError, UnsupportedLayerError
from convcost.graph import Graph, GraphBuilder
from convcost.interop import onnx_values as values
from convcost.interop import onnx_wire as wire
from convcost.interop.onnx_values import EvaluationError, Value
from convcost.layer import Layer, Shape, Source

#: the opsets of the default domain convcost reads
OLDEST_OPSET, NEWEST_OPSET = 9, 28
STANDARD_DOMAINS = ("", "ai.onnx")

#: operators the input-layout scan looks through, and those that decide it (they read channels at axis 1)
_LAYOUT_NEUTRAL = frozenset(
    {"Identity", "Cast", "CastLike", "Dropout", "Relu", "Sigmoid", "Clip", "Pad", "Add", "Sub", "Mul", "Div"}
)
_CHANNELS_FIRST = frozenset(
    {
        "Conv",
        "ConvTranspose",
        "MaxPool",
        "AveragePool",
        "LpPool",
        "GlobalAveragePool",
        "GlobalMaxPool",
        "BatchNormalization",
        "InstanceNormalization",
        "LRN",
        "Resize",
        "Upsample",
    }
)
#: the inputs whose values an operator's output is made of (every input for the others): a Reshape's
#: target, an Expand's shape or a Shape's input lend the output no weights
_DATA_INPUTS: dict[str, tuple[int, ...]] = {
    "Shape": (),
    "Size": (),
    "ConstantOfShape": (),
    "Range": (),
    "EyeLike": (),
    "CastLike": (0,),
    "Reshape": (0,),
    "Expand": (0,),
    "Squeeze": (0,),
    "Unsqueeze": (0,),
    "Slice": (0,),
    "Pad": (0,),
    "Gather": (0,),
    "Tile": (0,),
    "Split": (0,),
    "Resize": (0,),
    "Where": (1, 2),
}
#: operators whose output has the input's shape (for constants convcost does not evaluate)
_SAME_SHAPE = frozenset(
    {"Identity", "Cast", "CastLike", "DequantizeLinear", "QuantizeLinear", "Neg", "Sqrt", "Reciprocal", "Abs"}
    | {"Exp", "Log", "Clip", "Relu", "Sigmoid", "Tanh", "Floor", "Ceil", "Round", "Sign", "Erf"}
)
_BROADCASTING = frozenset({"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Where", "Equal"})
#: operators whose output has their first input's shape, for an Unknown stand-in the file gives no shape of
_KEEPS_SHAPE = _SAME_SHAPE | {
    "LogSoftmax",
    "Softmax",
    "Hardmax",
    "Gelu",
    "LRN",
    "InstanceNormalization",
    "LayerNormalization",
    "GroupNormalization",
    "MeanVarianceNormalization",
    "PRelu",
    "Celu",
    "Elu",
    "Selu",
    "LeakyRelu",
    "ThresholdedRelu",
    "Shrink",
    "Mish",
    "Softsign",
    "Softplus",
    "HardSigmoid",
    "HardSwish",
    "Sin",
    "Cos",
}


#: the type ONNX gives each attribute convcost reads (the same in every operator that has it): an
#: attribute of another type (a damaged file, a hand-written one) is refused, never truncated by int()
_ATTRIBUTE_TYPES: dict[str, str] = {
    **dict.fromkeys(
        ("kernel_shape", "strides", "pads", "dilations", "output_padding", "output_shape", "perm", "axes", "split"),
        "ints",
    ),
    **dict.fromkeys(("starts", "ends"), "ints"),
    **dict.fromkeys(
        ("axis", "group", "keepdims", "allowzero", "to", "transA", "transB", "ceil_mode", "count_include_pad"), "int"
    ),
    **dict.fromkeys(
        ("noop_with_empty_axes", "num_outputs", "num_groups", "fmod", "start", "end", "storage_order"), "int"
    ),
    **dict.fromkeys(("alpha", "beta", "epsilon", "ratio", "min", "max", "momentum", "gamma", "lambd"), "float"),
    "scales": "floats",
    **dict.fromkeys(("auto_pad", "mode", "coordinate_transformation_mode", "nearest_mode", "approximate"), "string"),
}
_TYPE_WORDS = {
    "ints": "a list of integers",
    "int": "an integer",
    "float": "a number",
    "floats": "a list of numbers",
    "string": "a string",
}


def _is_type(value: object, kind: str) -> bool:
    def number(v: object) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    if kind == "ints":
        return isinstance(value, tuple) and all(isinstance(v, int) for v in value)
    if kind == "floats":
        return isinstance(value, tuple) and all(number(v) for v in value)
    if kind == "int":
        return isinstance(value, int)
    if kind == "float":
        return number(value)
    return isinstance(value, str) and value != "<graph>"


#: how many nodes a look-ahead folds at most (shape arithmetic chains are a few dozen long)
_AHEAD = 512


class Unmappable(Exception):
    """An operator (or one use of it) convcost cannot map: collected, then reported all at once."""


@dataclass
class Const:
    """A tensor computed from the file's constants alone."""

    shape: Shape
    dtype: int
    #: the file's tensor it is (an initializer or a Constant node's), its values read when needed
    tensor: wire.Tensor | None = None
    value: Value | None = None
    #: the float weight tensors (by name) it is made of
    weights: frozenset[str] = frozenset()


@dataclass
class Act:
    """A tensor of the convcost graph (``tensor``: a node or input name) seen through a layout:
    ONNX axis ``i + 1`` is convcost axis ``axes[i]`` (ONNX axis 0 is the batch)."""

    tensor: str
    axes: tuple[int, ...]
    dtype: int = wire.FLOAT

    @property
    def canonical(self) -> bool:
        """ONNX's axis order is convcost's."""
        return self.axes == tuple(range(len(self.axes)))


@dataclass
class _Holding:
    """A node of the convcost graph and the float tensors it holds, in the order its kind declares them."""

    node: str
    tensors: tuple[str, ...]
    layer: Layer


class Walk:
    """One reading of one file. ``map`` (a subclass's) turns a node that reads an activation into
    convcost nodes; ``stand_in`` makes an ``Unknown`` node for one it cannot map."""

    def __init__(self, path: str, model: wire.Model, batch: int | None, strict: bool) -> None:
        self.path = path
        self.onnx = model
        self.strict = strict
        self.batch = batch or 1
        self.nodes = model.graph.nodes
        self.opset = self._default_opset()
        self.builder = GraphBuilder()
        self.shapes: dict[str, Shape] = {}  # convcost tensor -> its shape per sample
        self.consts: dict[str, Const] = {}
        self.acts: dict[str, Act] = {}
        self.consumers: dict[str, list[tuple[int, int]]] = {}  # tensor -> (node index, input position)
        self.producer: dict[str, int] = {}  # tensor -> the index of the node that makes it
        self.position: dict[int, int] = {}  # node index -> its place in the walk's order
        self.outputs = {o.name for o in model.graph.outputs}
        self.declared: dict[str, tuple[int | str | None, ...]] = {}
        self.unmapped: dict[str, list[str]] = {}  # reason -> ONNX node names
        self.poisoned: set[str] = set()  # tensors an operator convcost could not map would have made
        self.holdings: dict[str, _Holding] = {}  # float tensor -> the node holding it
        self.counted_twice: set[str] = set()
        self.notes: list[str] = []
        #: tensors that are sequences of the network's tensors (the mapping keeps their parts)
        self.sequence_names: set[str] = set()
        #: nodes inside a layer a file writes as several (x * sigmoid(x)): no node of their own, and
        #: their outputs no tensor of the network (the shapes the file records for them are not checked)
        self.inside: set[int] = set()

    # ------------------------------------------------------------------ what a subclass provides

    def map(self, index: int, node: wire.Node) -> None:
        raise NotImplementedError

    def stand_in(self, node: wire.Node, shape: Shape, inputs: list[str]) -> str:
        """An Unknown node of ``shape`` reading ``inputs``, for an operator convcost cannot map."""
        raise NotImplementedError

    def reader_notes(self) -> list[str]:
        return []

    # ------------------------------------------------------------------ messages

    def where(self, node: wire.Node) -> str:
        return f"{self.path}: node '{self.label(node)}' ({node.op_type})"

    @staticmethod
    def label(node: wire.Node) -> str:
        return node.name or node.op_type

    def _default_opset(self) -> int:
        opsets = self.onnx.opsets
        found = [opsets[d] for d in STANDARD_DOMAINS if d in opsets]
        if not found:
            raise SpecFileError(f"{self.path}: the model imports no opset of the default ONNX domain")
        opset = max(found)
        if not OLDEST_OPSET <= opset <= NEWEST_OPSET:
            raise UnsupportedLayerError(
                f"{self.path}: opset {opset}; convcost reads opsets {OLDEST_OPSET} to {NEWEST_OPSET} "
                "(convert the file with onnx.version_converter)"
            )
        return opset

    # ------------------------------------------------------------------ the walk

    def graph(self) -> Graph:
        """Walk every node; the convcost graph, or every problem at once."""
        graph = self.onnx.graph
        if self.onnx.functions:
            raise UnsupportedLayerError(
                f"{self.path}: the model defines its own functions ({', '.join(self.onnx.functions[:3])}); "
                "convcost reads only the standard operators"
            )
        if graph.sparse_initializers:
            raise UnsupportedLayerError(f"{self.path}: the graph has sparse initializers (not supported)")
        for vi in (*graph.value_info, *graph.outputs):
            if vi.dims is not None:
                self.declared[vi.name] = vi.dims
        for tensor in graph.initializers:
            if tensor.name in self.consts:
                raise SpecFileError(f"{self.path}: initializer '{tensor.name}' is given twice")
            self.consts[tensor.name] = self.const_of(tensor)
        self._read_inputs([i for i in graph.inputs if i.name not in self.consts])
        order = self._topological()
        # Constant nodes depend on nothing: known before the walk, so a pattern can look ahead at them
        for node in self.nodes:
            if node.op_type == "Constant" and node.domain in STANDARD_DOMAINS:
                with contextlib.suppress(Unmappable):  # reported when the walk reaches it
                    self.consts[node.outputs[0]] = self.constant_node(node)
        self.position = {index: at for at, index in enumerate(order)}
        for index in order:
            for position, name in enumerate(self.nodes[index].inputs):
                if name:
                    self.consumers.setdefault(name, []).append((index, position))
            for name in self.nodes[index].outputs:
                self.producer[name] = index
        for index in order:
            self._visit(index)
        self._raise_unmapped()
        return self.builder.graph(self._graph_outputs())

    def _topological(self) -> list[int]:
        """The nodes in an order where each follows its inputs: the file's, wherever it is one."""
        known = set(self.consts) | set(self.acts) | {""}
        made: dict[str, int] = {}
        for index, node in enumerate(self.nodes):
            for name in node.outputs:
                if name and (name in made or name in known):
                    raise SpecFileError(f"{self.where(node)}: tensor '{name}' is made twice")
                if name:
                    made[name] = index
        for node in self.nodes:
            for name in node.inputs:
                if name not in known and name not in made:
                    raise SpecFileError(f"{self.where(node)}: its input '{name}' is made by no node")
        if all(all(n in known or made[n] < i for n in node.inputs) for i, node in enumerate(self.nodes)):
            return list(range(len(self.nodes)))
        waiting = [0] * len(self.nodes)
        readers: list[list[int]] = [[] for _ in self.nodes]
        for index, node in enumerate(self.nodes):
            for name in set(node.inputs) - known:
                waiting[index] += 1
                readers[made[name]].append(index)
        ready = [i for i, n in enumerate(waiting) if n == 0]
        heapq.heapify(ready)
        order = []
        while ready:
            i = heapq.heappop(ready)
            order.append(i)
            for r in readers[i]:
                waiting[r] -= 1
                if waiting[r] == 0:
                    heapq.heappush(ready, r)
        if len(order) < len(self.nodes):
            stuck = next(i for i, n in enumerate(waiting) if n)
            raise SpecFileError(f"{self.where(self.nodes[stuck])}: the graph has a cycle through it")
        return order

    def _visit(self, index: int) -> None:
        node = self.nodes[index]
        if self.poisoned and any(name in self.poisoned for name in node.inputs):
            self.poisoned.update(node.outputs)  # caused by an earlier problem, reported once
            return
        try:
            if node.domain not in STANDARD_DOMAINS:
                raise Unmappable(f"operator {node.domain}.{node.op_type}")
            self._check_attributes(node)
            if node.op_type == "Constant":
                if node.outputs and node.outputs[0] not in self.consts:
                    self.consts[node.outputs[0]] = self.constant_node(node)
            elif node.outputs and all(not n or n in self.consts for n in node.outputs):
                return  # folded ahead of the walk (``_ahead``)
            elif any(name in self.acts or name in self.sequence_names for name in node.inputs):
                self.map(index, node)
            else:
                self.fold(node)
        except Unmappable as e:
            self._unmappable(node, str(e) or f"operator {node.op_type}")
            return
        except EvaluationError as e:
            raise SpecFileError(f"{self.where(node)}: {e}") from None
        except GeometryError as e:
            raise GeometryError(f"{self.where(node)}: {_without_layer(str(e))}", _path(self.label(node))) from None
        except (SpecFileError, UnsupportedLayerError):
            raise
        except SpecError as e:  # a layer the file describes cannot be (a kernel of size 0)
            raise SpecFileError(f"{self.where(node)}: {_without_layer(str(e))}") from None
        if index not in self.inside:
            for name in node.outputs:
                self._check_declared(node, name)

    def _check_attributes(self, node: wire.Node) -> None:
        for name, value in node.attributes.items():
            kind = _ATTRIBUTE_TYPES.get(name)
            if kind and not _is_type(value, kind):
                raise SpecFileError(f"{self.where(node)}: attribute '{name}' must be {_TYPE_WORDS[kind]}")

    def _unmappable(self, node: wire.Node, reason: str) -> None:
        """Collect the reason; an Unknown stand-in (with the output shape the file records, or the
        input's) lets the walk go on: with strict=False it stays in the graph, with strict=True it
        finds every other operator convcost cannot map."""
        if self.strict:
            self.unmapped.setdefault(reason, []).append(self.label(node))
        outputs = [n for n in node.outputs if n]
        acts = [self.acts[n] for n in node.inputs if n in self.acts]
        dims = self.declared.get(outputs[0]) if len(outputs) == 1 else None
        shape: Shape | None = None
        if dims is not None and len(dims) >= 2 and all(isinstance(d, int) and d > 0 for d in dims[1:]):
            shape = tuple(d for d in dims[1:] if isinstance(d, int))
        elif len(outputs) == 1 and node.op_type in _KEEPS_SHAPE and acts:
            shape = self.onnx_shape(acts[0])[1:]
        elif len(outputs) == 1 and node.op_type in _BROADCASTING and acts:
            operands = [
                self.onnx_shape(self.acts[n]) if n in self.acts else self.consts[n].shape for n in node.inputs if n
            ]
            try:
                shape = values.broadcast_shapes(*operands)[1:]
            except EvaluationError:
                shape = None
        if shape is None:
            if not self.strict:
                self.unmapped.setdefault(f"{reason}, whose output shape the file does not record", []).append(
                    self.label(node)
                )
            self.poisoned.update(node.outputs)
            return
        inputs = [a.tensor for a in acts]
        if acts and shape == self.onnx_shape(acts[0])[1:]:  # the input's shape: keep its layout too
            tensor = self.stand_in(node, self.shapes[acts[0].tensor], inputs)
            self.acts[outputs[0]] = Act(tensor, acts[0].axes)
        else:
            self.acts[outputs[0]] = Act(self.stand_in(node, shape, inputs), tuple(range(len(shape))))

    def _raise_unmapped(self) -> None:
        if not self.unmapped:
            return
        parts = []
        for reason, names in self.unmapped.items():
            shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            parts.append(f"{reason} ({len(names)} node{'s' if len(names) != 1 else ''}: {shown})")
        raise UnsupportedLayerError(f"{self.path}: convcost cannot map {'; '.join(parts)}")

    def _check_declared(self, node: wire.Node, name: str) -> None:
        """The file's own record of a tensor's shape (value_info, graph outputs) must be ours."""
        dims = self.declared.get(name)
        if dims is None or not name:
            return
        if name in self.acts:
            ours: Shape = self.onnx_shape(self.acts[name])[1:]
            dims = dims[1:]  # the batch may be symbolic
        elif name in self.consts:
            ours = self.consts[name].shape
        else:
            return
        if len(dims) != len(ours) or any(isinstance(d, int) and d != o for d, o in zip(dims, ours, strict=True)):
            shown = [d if isinstance(d, int) else "?" for d in dims]
            raise SpecFileError(
                f"{self.where(node)}: convcost makes '{name}' of shape {list(ours)} (per sample), "
                f"but the file records {shown}"
            )

    def _graph_outputs(self) -> list[str]:
        names: list[str] = []
        for vi in self.onnx.graph.outputs:
            act = self.acts.get(vi.name)
            if act is not None and act.tensor not in names:
                names.append(act.tensor)  # an output that is a constant is no tensor of the network
        if not names:
            raise SpecFileError(f"{self.path}: no output of the graph depends on its input")
        self._prune(names)
        return names

    def _prune(self, outputs: list[str]) -> None:
        """Drop the nodes whose outputs nothing reads (a tensor only a Shape was taken of)."""
        read = set(outputs)
        for node in reversed(self.builder.nodes):
            if node.name in read:
                read.update(node.inputs)
        self.builder.nodes = [n for n in self.builder.nodes if n.name in read]
        self.builder.inputs = [i for i in self.builder.inputs if i.name in read]

    def all_notes(self) -> tuple[str, ...]:
        notes = [*self.reader_notes(), *self.notes]
        if self.counted_twice:
            names = sorted(self.counted_twice)
            notes.append(
                f"{len(names)} weight tensor{'s are' if len(names) != 1 else ' is'} used by layers that differ (an "
                f"exporter merged equal tensors: {', '.join(names[:3])}{', ...' if len(names) > 3 else ''}): "
                "counted at each"
            )
        return tuple(notes)

    # ------------------------------------------------------------------ inputs

    def _read_inputs(self, inputs: Sequence[wire.ValueInfo]) -> None:
        if not inputs:
            raise SpecFileError(f"{self.path}: the graph has no inputs (only initializers)")
        names = [vi.name for vi in inputs]
        if twice := next((name for name in names if names.count(name) > 1), None):
            # ONNX names every tensor once; the layouts (and the edges) are looked up by name
            raise SpecFileError(f"{self.path}: the graph declares its input '{twice}' twice")
        layouts = self._input_layouts(inputs)
        static: int | None = None
        for vi in inputs:
            if vi.kind != "tensor" or vi.dims is None:
                raise UnsupportedLayerError(f"{self.path}: input '{vi.name}' is a {vi.kind} of no known shape")
            if len(vi.dims) < 2:
                raise UnsupportedLayerError(
                    f"{self.path}: input '{vi.name}' has shape {list(vi.dims)}: convcost needs a batch axis and more"
                )
            first = vi.dims[0]
            if isinstance(first, int) and first > 0:
                if static not in (None, first):
                    raise UnsupportedLayerError(f"{self.path}: the inputs have different batch sizes")
                static = first
            sizes = []
            for axis, d in enumerate(vi.dims[1:], start=1):
                if not isinstance(d, int) or d < 1:
                    what = f"'{d}'" if isinstance(d, str) else "not given"
                    raise UnsupportedLayerError(
                        f"{self.path}: input '{vi.name}': the size of axis {axis} is {what}; convcost needs every "
                        "size but the batch fixed (export with a fixed input size)"
                    )
                sizes.append(d)
            axes = layouts[vi.name]
            shape = [0] * len(sizes)
            for onnx_axis, convcost_axis in enumerate(axes):
                shape[convcost_axis] = sizes[onnx_axis]
            name = self.builder.input(self.builder.unique(_path(vi.name) or "input"), tuple(shape))
            self.shapes[name] = tuple(shape)
            self.acts[vi.name] = Act(name, axes, vi.dtype or wire.FLOAT)
        if static is not None:
            self.batch = static

    def _input_layouts(self, inputs: Sequence[wire.ValueInfo]) -> dict[str, tuple[int, ...]]:
        """For each input, the layout that gives the first channels-first operator reading it (Conv,
        pooling, BatchNormalization) its channels at axis 1: an NHWC input that a Transpose turns
        to NCHW (Keras) is channels-first in convcost, its ONNX axes (H, W, C) convcost's (1, 2, 0)."""
        layouts: dict[str, tuple[int, ...]] = {}
        for vi in inputs:
            rank = len(vi.dims) - 1 if vi.dims else 0
            layouts[vi.name] = tuple(range(rank))
            # ONNX axis i of a tensor seen here is ONNX axis seen[tensor][i] of the input
            seen: dict[str, tuple[int, ...]] = {vi.name: tuple(range(rank + 1))}
            for node in self.nodes:
                tracked = [seen[i] for i in node.inputs if i in seen]
                if not tracked:
                    continue
                order = tracked[0]
                if node.op_type == "Transpose":
                    perm = node.attributes.get("perm") or tuple(range(len(order)))[::-1]
                    if sorted(perm) != list(range(len(order))):
                        break
                    seen[node.outputs[0]] = tuple(order[p] for p in perm)
                elif node.op_type in _CHANNELS_FIRST:
                    if order[0] == 0:
                        axes = [0] * rank
                        for i in range(1, rank + 1):
                            axes[order[i] - 1] = i - 1
                        layouts[vi.name] = tuple(axes)
                    break
                elif node.op_type in _LAYOUT_NEUTRAL and node.outputs:
                    seen[node.outputs[0]] = order
                # any other reader (a Shape, a Reshape) neither decides the layout nor passes it on
        return layouts

    # ------------------------------------------------------------------ constants

    def const_of(self, tensor: wire.Tensor) -> Const:
        weights = frozenset({tensor.name}) if tensor.dtype in wire.FLOAT_TYPES and tensor.name else frozenset()
        return Const(tensor.dims, tensor.dtype, tensor=tensor, weights=weights)

    def constant_node(self, node: wire.Node) -> Const:
        if len(node.attributes) != 1 or len(node.outputs) != 1:
            raise SpecFileError(f"{self.where(node)}: a Constant needs exactly one value attribute")
        ((key, attribute),) = node.attributes.items()
        name = node.outputs[0]
        if key == "value" and isinstance(attribute, wire.Tensor):
            tensor = wire.Tensor(
                name, attribute.dims, attribute.dtype, attribute.data, attribute.external, attribute.position
            )
            return self.const_of(tensor)
        kinds = {
            "value_float": wire.FLOAT,
            "value_floats": wire.FLOAT,
            "value_int": wire.INT64,
            "value_ints": wire.INT64,
        }
        if key not in kinds:
            raise Unmappable(f"a Constant given as {key!r}")
        dtype = kinds[key]
        convert = float if dtype == wire.FLOAT else int
        if key.endswith("s"):
            data = tuple(convert(v) for v in attribute)
            value = Value((len(data),), data, dtype)
        else:
            value = Value((), (convert(attribute),), dtype)
        return Const(value.shape, dtype, value=value, weights=frozenset({name}) if dtype == wire.FLOAT else frozenset())

    def value(self, name: str) -> Value | None:
        """The value of a constant tensor, when it is small enough to evaluate (one the walk has not
        reached yet is worked out now, when it is made of constants and known shapes only)."""
        const = self.consts.get(name) or self._ahead(name)
        if const is None:
            return None
        if const.value is None and const.tensor is not None:
            const.value = self.tensor_value(const.tensor)
        return const.value

    def _ahead(self, name: str) -> Const | None:
        """Fold, before the walk reaches them, the nodes a constant is made from (a bias reshaped, an
        Expand's shape: computed after the layer that a pattern must recognise first). Only nodes on
        constants and on the shapes of tensors already made; at most ``_AHEAD`` of them, no recursion."""
        needed: list[int] = []
        stack, seen = [name], set()
        while stack:
            tensor = stack.pop()
            if not tensor or tensor in self.consts or tensor in seen:
                continue
            index = self.producer.get(tensor)
            if index is None or tensor in self.acts or len(needed) >= _AHEAD:
                return None
            seen.add(tensor)
            needed.append(index)
            node = self.nodes[index]
            if node.op_type in ("Shape", "Size") and node.inputs and node.inputs[0] in self.acts:
                continue
            if node.domain not in STANDARD_DOMAINS or node.op_type in ("Constant", "If", "Loop", "Scan"):
                return None
            stack.extend(node.inputs)
        for index in sorted(needed, key=self.position.__getitem__):
            node = self.nodes[index]
            try:
                if node.op_type in ("Shape", "Size") and node.inputs[0] in self.acts:
                    self.consts[node.outputs[0]] = self.shape_of(node, self.onnx_shape(self.acts[node.inputs[0]]))
                else:
                    self.fold(node)
            except (Unmappable, SpecFileError, EvaluationError):
                return None
        return self.consts.get(name)

    def tensor_value(self, tensor: wire.Tensor) -> Value | None:
        """A small tensor's values (read from the side file, by offset, when stored there), else None."""
        if values.size(tensor.dims) > values.MAX_VALUES or tensor.dtype not in wire.ELEMENT_FORMATS:
            return None
        data = tensor.data
        if data is None and tensor.external is not None:
            data = wire.read_external(self.path, tensor)
        if data is None:
            return None
        return Value(tensor.dims, tuple(wire.unpack(tensor, data)), tensor.dtype)

    def needed(self, node: wire.Node, position: int, what: str) -> Value:
        """The value of input ``position``, which the mapping needs (an error naming it otherwise)."""
        name = node.inputs[position] if position < len(node.inputs) else ""
        value = self.value(name) if name else None
        if value is None:
            if name in self.acts:
                raise Unmappable(f"{node.op_type} whose {what} is computed from the network's tensors")
            raise SpecFileError(f"{self.where(node)}: its {what} ('{name}') is not a constant convcost can read")
        return value

    def optional(self, node: wire.Node, position: int, what: str) -> Value | None:
        """The value of an optional input: None when it is left out."""
        name = node.inputs[position] if position < len(node.inputs) else ""
        return self.needed(node, position, what) if name else None

    def fold(self, node: wire.Node) -> None:
        """A node on constants only: its outputs are constants (shape arithmetic, a transposed weight)."""
        inputs = [self.consts[name] if name else None for name in node.inputs]
        positions = _DATA_INPUTS.get(node.op_type)
        data = inputs if positions is None else [inputs[i] for i in positions if i < len(inputs)]
        weights = frozenset().union(*(c.weights for c in data if c is not None))
        if node.op_type in ("Shape", "Size"):
            self.consts[node.outputs[0]] = self.shape_of(node, inputs[0].shape if inputs[0] else ())
            return
        known = [self.value(name) if name else None for name in node.inputs]
        if all(v is not None or not name for v, name in zip(known, node.inputs, strict=True)):
            attributes = {
                k: self.tensor_value(v) if isinstance(v, wire.Tensor) else v for k, v in node.attributes.items()
            }
            try:
                results = values.evaluate(node.op_type, attributes, known, self.opset, len(node.outputs))
            except EvaluationError:
                results = []  # an operator not evaluated, or values too large: its shape below
            if results:
                for name, result in zip(node.outputs, results, strict=False):
                    if name:
                        self.consts[name] = Const(result.shape, result.dtype, value=result, weights=weights)
                return
        shape = self._const_shape(node, inputs)
        dtype = inputs[0].dtype if inputs and inputs[0] else wire.FLOAT
        if node.op_type == "Cast":
            dtype = int(node.attributes.get("to", dtype))
        self.consts[node.outputs[0]] = Const(shape, dtype, weights=weights)

    def shape_of(self, node: wire.Node, shape: Shape) -> Const:
        """Shape (with start / end, opset 15) or Size of a tensor of this ONNX shape, as a constant."""
        if node.op_type == "Size":
            v = Value((), (values.size(shape),), wire.INT64)
        else:
            start = int(node.attributes.get("start", 0))
            end = node.attributes.get("end")
            picked = shape[start : None if end is None else int(end)]
            v = Value((len(picked),), tuple(picked), wire.INT64)
        return Const(v.shape, wire.INT64, value=v)

    def _const_shape(self, node: wire.Node, inputs: list[Const | None]) -> Shape:
        """The output shape of an operator on constants whose values convcost does not evaluate (a
        weight transposed, reshaped or cast), by ONNX's rules, else as the file records it."""
        op = node.op_type
        first = inputs[0].shape if inputs and inputs[0] is not None else ()
        if len(node.outputs) == 1:
            try:
                if op in _SAME_SHAPE:
                    return first
                if op in _BROADCASTING:
                    return values.broadcast_shapes(*(c.shape for c in inputs if c is not None))
                if op == "Transpose":
                    perm = node.attributes.get("perm") or tuple(range(len(first)))[::-1]
                    return tuple(first[p] for p in perm)
                if op in ("Reshape", "Unsqueeze", "Squeeze", "Flatten", "Expand"):
                    second = self.value(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else None
                    return values.reshaped(op, node.attributes, first, second)
            except (EvaluationError, IndexError) as e:
                raise SpecFileError(f"{self.where(node)}: {e}") from None
            recorded = self.declared.get(node.outputs[0])
            if recorded is not None and all(isinstance(d, int) and d >= 0 for d in recorded):
                return tuple(d for d in recorded if isinstance(d, int))
        raise Unmappable(f"{op} on constants (convcost does not compute it)")

    # ------------------------------------------------------------------ activations

    def onnx_shape(self, act: Act) -> Shape:
        """The ONNX shape of an activation, batch first."""
        shape = self.shapes[act.tensor]
        return (self.batch, *(shape[a] for a in act.axes))

    def act(self, node: wire.Node, position: int = 0) -> Act:
        name = node.inputs[position] if position < len(node.inputs) else ""
        found = self.acts.get(name)
        if found is None:
            raise Unmappable(f"{node.op_type} with a constant where convcost needs the network's tensor")
        return found

    def set(self, node: wire.Node, tensor: str, axes: tuple[int, ...], position: int = 0) -> None:
        """Output ``position`` of ``node`` is convcost tensor ``tensor`` in layout ``axes``."""
        name = node.outputs[position] if position < len(node.outputs) else ""
        if name:
            self.acts[name] = Act(tensor, axes)

    def alias(self, node: wire.Node, act: Act) -> None:
        """The node passes its input on: its output is the same convcost tensor."""
        self.set(node, act.tensor, act.axes)

    def axis(self, node: wire.Node, act: Act, onnx_axis: int) -> int:
        """The convcost axis of an ONNX axis of ``act`` (an operator along the batch axis is refused)."""
        rank = len(act.axes) + 1
        if not -rank <= onnx_axis < rank:
            raise SpecFileError(f"{self.where(node)}: axis {onnx_axis} of a tensor of rank {rank}")
        onnx_axis %= rank
        if onnx_axis == 0:
            raise Unmappable(f"{node.op_type} along the batch axis")
        return act.axes[onnx_axis - 1]

    def per_sample(self, node: wire.Node, act: Act, shape: Shape) -> Shape:
        """A constant operand of ONNX ``shape`` broadcast against ``act``: its convcost shape."""
        rank = len(act.axes) + 1
        if len(shape) > rank:
            raise Unmappable(f"{node.op_type} with a constant of more axes than the network's tensor")
        full = (1,) * (rank - len(shape)) + tuple(shape)
        if full[0] != 1:
            raise Unmappable(f"{node.op_type} with a constant that differs across the batch")
        out = [1] * (rank - 1)
        for i, d in enumerate(full[1:]):
            out[act.axes[i]] = d
        return tuple(out)

    def used(self, node: wire.Node, position: int) -> bool:
        """Whether output ``position`` of ``node`` is read (or is a graph output)."""
        name = node.outputs[position] if position < len(node.outputs) else ""
        return bool(name) and (name in self.consumers or name in self.outputs)

    def only_reader(self, name: str) -> tuple[int, int] | None:
        """The (node index, input position) of the one node reading ``name``, if exactly one does."""
        readers = self.consumers.get(name, [])
        if len(readers) != 1 or name in self.outputs:
            return None
        return readers[0]

    # ------------------------------------------------------------------ nodes and their weights

    def held(self, const: Const) -> tuple[str, ...]:
        """The float weight tensor a constant operand is (a transposed, reshaped or cast initializer is
        that initializer), or () when it is none: made of several tensors, or of a smaller one
        (dynamo's zero bias ``Expand(0, ...)`` holds no weights)."""
        if len(const.weights) == 1:
            (name,) = const.weights
            origin = self.consts.get(name)
            if origin is not None and values.size(origin.shape) == values.size(const.shape):
                return (name,)
        return ()

    def held_elsewhere(self, tensor: str) -> bool:
        return tensor in self.holdings

    def give_bias(self, name: str, bias: str) -> None:
        """Node ``name`` (a conv or Dense made without a bias) holds ``bias`` after all: the Add that
        applies it came later in the file."""
        index = next(i for i, n in enumerate(self.builder.nodes) if n.name == name)
        node = self.builder.nodes[index]
        layer = replace(node.layer, bias=True)  # type: ignore[call-arg]
        self.builder.nodes[index] = replace(node, layer=layer)
        holding = next((h for h in self.holdings.values() if h.node == name), None)
        tensors = (*holding.tensors, bias) if holding is not None else (bias,)
        updated = _Holding(name, tensors, layer)
        for t in tensors:
            self.holdings[t] = updated

    def add(
        self,
        node: wire.Node,
        layer: Layer,
        inputs: Sequence[str],
        *,
        suffix: str = "",
        holds: Sequence[str] = (),
        details: Iterable[tuple[str, Any]] = (),
    ) -> str:
        """Add ``layer`` reading ``inputs`` (convcost tensors) as a node made from ``node``, its output
        shape by the kind's own rule; ``holds``: the file's float tensors it holds, in the order its
        kind declares its weights. Returns the node's name."""
        path = _node_path(node)
        name = self.builder.unique(f"{path}/{suffix}" if suffix else path)
        shape = layer.output_shape(tuple(self.shapes[i] for i in inputs))
        shares = self._sharing(name, layer, tuple(holds))
        source = Source("onnx", node.name, node.op_type, details=tuple(sorted(details)))
        self.builder.add(name, layer, inputs, source, shares)
        self.shapes[name] = shape
        return name

    def _sharing(self, name: str, layer: Layer, holds: tuple[str, ...]) -> str:
        """The node whose weights this one uses (the same tensors, an equal layer: one module called
        twice), or "". A tensor that layers which differ use (an exporter merged equal tensors) is
        counted at each, and the report says so."""
        taken = [t for t in holds if t in self.holdings]
        if not taken:
            for t in holds:
                self.holdings[t] = _Holding(name, holds, layer)
            return ""
        owner = self.holdings[taken[0]]
        if owner.tensors == holds and owner.layer == layer:  # readers leave layers unnamed: nodes name them
            return owner.node
        self.counted_twice.update(taken)
        for t in holds:
            self.holdings.setdefault(t, _Holding(name, holds, layer))
        return ""


def _without_layer(message: str) -> str:
    """A layer's own message without its ``layer 'x': `` prefix (the node is named before it)."""
    if message.startswith("layer '") and "': " in message:
        return message.split("': ", 1)[1]
    return message


def _path(name: str) -> str:
    """A node or tensor name as a convcost path: '/features/features.0/Conv' -> 'features/features.0/Conv'."""
    return "/".join(part for part in name.replace("\\", "/").split("/") if part)


def _node_path(node: wire.Node) -> str:
    """The node's path for the report: dynamo's module scopes when it records them, else its name."""
    scopes = node.metadata.get("pkg.torch.onnx.name_scopes", "")
    if scopes.startswith("[") and scopes.endswith("]"):
        parts = [_path(p.strip().strip("'\"")) for p in scopes[1:-1].split(",")]
        path = "/".join(p for p in parts if p)
        if path:
            return path
    return _path(node.name) or node.op_type


def file_label(path: str) -> str:
    """The model's name in reports: the file's name without ``.onnx``."""
    return os.path.splitext(os.path.basename(path))[0] or "onnx_model"
