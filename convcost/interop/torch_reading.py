"""From a captured forward to a convcost graph: values, nodes, folds, names, sources, parameters.

This module is kind-agnostic: which layer an ATen op becomes is the business of the rules that
``convcost.interop.torch`` registers (``OpRule``, ``ModuleRule``, ``CallRule``, ``Fold``), next to
the torch builders of the same kinds. Here is everything around them:

* **Values.** Every captured tensor value is one of: ``Data`` (a tensor of the graph: a model input
  or a node's output, possibly seen through a permutation of its axes), ``Weights`` (computed from
  parameters, buffers and constants alone: a weight, ``t()`` of a weight, a constant; no node and
  no cost), ``Rows`` (``x.view(-1, C)`` of a tensor, the rows a linear layer multiplies), or
  ``Padded`` (``F.pad`` of a tensor with a constant, waiting to be folded into the convolution or
  pooling that reads it). Views, copies and casts keep their input's value.
* **Nodes.** A rule makes pending nodes; unmapped ops are collected (all of them, with module path,
  class and op) and, with ``strict=False``, become ``Unknown`` nodes with their output shapes. Every
  node's output shape is checked against the one torch computed.
* **Folds** merge a node into the only node that reads it, inside one module call (``a + b + c``
  is one three-input add) or inside one of convcost's own modules (what ``to_torch`` builds reads
  back as the node it was built from).
* **Names** are module paths with ``/`` (``encoder/stages/0/layers/1/convolution``): a leaf module
  that makes one node gives it its path; other nodes are named ``<module path>/<op>``; a module
  called again gets ``_1``, ``_2`` on its name.
* **Sharing and parameters.** A node that reads a parameter an earlier node of the same layer
  read *shares* its weights (a module called twice, tied weights). Every parameter tensor is
  counted once, at the first node that reads it (or, unread, at the module that owns it).
* **Sources.** Every node gets a ``Source(framework="torch", ...)`` with a `TorchDetails`: the
  module calls it stands for, the parameters counted at it, the patched functions called for it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from convcost.errors import GeometryError, UnsupportedLayerError
from convcost.graph import GraphBuilder
from convcost.interop.torch_source import CalledModule, FunctionCall, Parameter, TensorArg, TorchDetails
from convcost.layer import Layer, Shape, Source
from convcost.model import Model
from convcost.record import record

if TYPE_CHECKING:
    from convcost.interop.capture import Capture, ModuleCall, Op, PyCall, TensorRef


# ---------------------------------------------------------------------------------------- values


@record
class Data:
    """A tensor of the graph (``tensor`` names a node or an input), as torch holds it.

    ``axes`` says how torch's per-sample axes map to the graph tensor's: torch axis ``i`` is graph
    axis ``axes[i]`` (empty: the same order). ``x.permute(0, 2, 3, 1)`` of a ``(C, H, W)`` tensor is
    the same graph tensor with axes ``(1, 2, 0)``: kinds that work on one axis take it from there.
    """

    tensor: str
    axes: tuple[int, ...] = ()
    #: the op that made the permutation (a Permute node is made from it when one is needed)
    permuted_by: int = -1

    @property
    def plain(self) -> bool:
        return not self.axes or self.axes == tuple(range(len(self.axes)))


@record
class Weights:
    """A tensor computed from parameters, buffers and constants only (``parameters``: which ones).

    ``exact`` names the one parameter or buffer it holds the values of (reshaped at most):
    ``("parameter", i)`` or ``("buffer", i)``, indices into the capture's lists.
    """

    parameters: frozenset[int] = frozenset()
    scalar: float | None = None  #: the number a 0-dim constant holds, when the capture knows it
    exact: tuple[str, int] | None = None


@record
class Rows:
    """``x.view(-1, C)``: the rows of ``data`` over its last torch axis (``lead``: the axes folded in).

    With one row per sample (``lead`` all ones) it is also a flatten: read as anything but the
    input of a linear layer, it becomes one (``op``: the view, -1 for the rows a linear layer made).
    """

    data: Data
    lead: tuple[int, ...]
    op: int = -1


@record
class Padded:
    """``F.pad(x, pad, value=value)`` of ``data`` (``pad`` as torch gives it: last axis first)."""

    data: Data
    pad: tuple[int, ...]
    value: float
    op: int  #: the pad op (made into a node if something other than a fold reads it)


Ref = Data | Weights | Rows | Padded


@dataclass
class Pending:
    """A node being made: its layer (None: an unknown op, made once its weights are known)."""

    id: str
    layer: Layer | None
    inputs: list[str]
    op: Op  #: the op it was made from (its source, and its name)
    ops: list[int]  #: every op folded into it
    scope: int | None  #: the module call it belongs to (naming, folding)
    shape: Shape  #: its output shape, per sample
    reads: set[int]  #: the parameter tensors it reads (indices into ``Capture.parameters``)
    reason: str = ""  #: for an unknown op: why it is not mapped


@record
class Merge:
    """A fold's answer: the merged layer, and whose op names the merged node. ``earlier`` are
    nodes before the producer that fold in too (a chain of three); the merged node then reads
    the first of them's inputs."""

    layer: Layer
    main: str = "consumer"  #: "producer" or "consumer"
    earlier: tuple[Pending, ...] = ()


@record
class Unsupported:
    """One op the reader cannot map, with where it ran."""

    path: str  #: the torch module path ("" is the root)
    cls: str  #: the module's class name
    op: str  #: ``aten.sin``
    reason: str


OpRule = Callable[["Op", "Reading"], None]
#: a module call that ran no op (``nn.Dropout`` in eval): the layer that stands for it, or None
ModuleRule = Callable[[Any, tuple[Shape, ...]], "Layer | None"]
#: a wrapped function whose ops are read as one (``F.instance_norm``): True when the rule took them
CallRule = Callable[["PyCall", "Reading"], bool]
#: a module whose call is read as one node from its attributes (convcost's own modules): True when taken
CallOfModule = Callable[["ModuleCall", Any, "Reading"], bool]
Fold = Callable[[Pending, Pending, "Reading"], "Merge | None"]
UnknownLayer = Callable[[str, Shape, tuple[tuple[str, Shape, bool], ...]], Layer]


@dataclass
class Rules:
    """What ``convcost.interop.torch`` registers: the mapping from torch to layer kinds."""

    ops: dict[str, OpRule] = field(default_factory=dict)
    modules: dict[str, ModuleRule] = field(default_factory=dict)
    calls: dict[str, CallRule] = field(default_factory=dict)
    module_calls: dict[str, CallOfModule] = field(default_factory=dict)
    folds: list[Fold] = field(default_factory=list)
    unknown: UnknownLayer | None = None
    #: makes the node of a pad that no convolution or pooling folds (``Padded`` read as data)
    pad: OpRule | None = None
    #: makes the flatten a view to one row per sample is, when not a linear layer reads it (``Rows``)
    flatten: OpRule | None = None
    #: makes the layer that puts a permuted tensor's axes in torch's order (``Data.axes``)
    permute: Callable[[tuple[int, ...]], Layer] | None = None


#: the module of convcost's own torch modules: a call of one of them is one node of the graph it was built from
_OWN_MODULES = "convcost.interop.torch_modules."
_GRAPH_MODULE = "convcost.interop.torch_modules.GraphModule"

#: ops that keep a tensor's values as they are (a weight reshaped, copied, cast: still that weight)
_KEEPS_VALUES = frozenset(
    f"aten.{name}"
    for name in (
        "view",
        "_unsafe_view",
        "reshape",
        "expand",
        "unsqueeze",
        "squeeze",
        "clone",
        "detach",
        "alias",
        "_to_copy",
        "contiguous",
        "lift_fresh",
        "lift_fresh_copy",
    )
)

#: ATen names -> the short names nodes get (``<module path>/<name>``)
_SHORT_NAMES = {
    "convolution": "conv",
    "addmm": "linear",
    "mm": "linear",
    "native_batch_norm": "batch_norm",
    "native_layer_norm": "layer_norm",
    "native_group_norm": "group_norm",
    "max_pool2d_with_indices": "max_pool2d",
    "constant_pad_nd": "pad",
    "_unsafe_view": "view",
    "hardtanh": "relu6",
}


class Reading:
    """One reading of one capture (made by ``read``)."""

    def __init__(self, capture: Capture, rules: Rules, strict: bool) -> None:
        self.capture = capture
        self.rules = rules
        self.strict = strict
        self.batch = capture.inputs[0][1].shape[0] if capture.inputs and capture.inputs[0][1].shape else 1
        self.refs: dict[int, Ref] = {}
        self.nodes: list[Pending] = []
        self.by_id: dict[str, Pending] = {}
        self.input_shapes: dict[str, Shape] = {}
        self.unsupported: list[Unsupported] = []
        self.parameter_of = {p.value: i for i, p in enumerate(capture.parameters) if p.value is not None}
        self.buffer_of = {b.value: i for i, b in enumerate(capture.buffers) if b.value is not None}
        self.scopes = self._scopes()
        self.claimed: set[int] = set()  # ops a call rule took
        self.current: Op | None = None
        # values something reads (an op, or the caller): an unknown op's other outputs make no node
        self.read_values = {t.value for o in capture.ops for t in o.inputs} | {t.value for _, t in capture.outputs}
        self._primary: dict[int, str] | None = None
        self._modules: dict[str, Any] | None = None
        self.permutes: dict[tuple[str, tuple[int, ...]], Data] = {}
        self.readers: dict[str, int] = {}
        self.output_ids: set[str] = set()
        self._subtree: dict[int, int] = {}

    # ------------------------------------------------------------------ what rules use

    def ref(self, tensor: TensorRef) -> Ref:
        """What a captured tensor is (a given value first seen here becomes data or weights)."""
        found = self.refs.get(tensor.value)
        if found is not None:
            return found
        value = self.capture.values[tensor.value]
        if value.origin == "aliased_write":
            return self._aliased(tensor)
        if value.origin == "parameter":
            index = self.parameter_of.get(tensor.value)
            exact = ("parameter", index) if index is not None else None
            ref: Ref = Weights(frozenset() if index is None else frozenset({index}), exact=exact)
        elif value.origin == "buffer" and tensor.value in self.buffer_of:
            ref = Weights(exact=("buffer", self.buffer_of[tensor.value]))
        elif value.origin in ("buffer", "attribute", "constant", "op"):
            ref = Weights(scalar=value.scalar)
        else:
            raise UnsupportedLayerError(f"a tensor of unknown origin {value.origin!r}")
        self.refs[tensor.value] = ref
        return ref

    def data(self, tensor: TensorRef) -> Data | None:
        """The graph tensor a captured tensor is, or None when it is not one (a weight, rows, ...)."""
        ref = self.ref(tensor)
        if isinstance(ref, Padded):
            return self._materialize(ref)
        if isinstance(ref, Rows) and ref.op >= 0 and math.prod(ref.lead) == 1 and self.rules.flatten is not None:
            view = self.capture.ops[ref.op]
            self.forget(view.outputs[0])
            self.rules.flatten(view, self)
            found = self.refs.get(view.outputs[0].value)
            return found if isinstance(found, Data) else None
        return ref if isinstance(ref, Data) else None

    def plain(self, op: Op, tensor: TensorRef) -> Data | None:
        """The graph tensor, in the graph's own axis order; None (and the op refused) otherwise."""
        found = self.data(tensor)
        if found is None:
            self.refuse(op, "one of its tensors is not a tensor of the network (a weight or a view of one)")
            return None
        if not found.plain:
            permuted = self.permuted(found)
            if permuted is None:
                self.refuse(op, "it reads a permuted tensor (no Permute kind)")
            return permuted
        return found

    def permuted(self, data: Data) -> Data | None:
        """A Permute node that puts a permuted tensor's axes in torch's order (once per permutation)."""
        key = (data.tensor, data.axes)
        made = self.permutes.get(key)
        if made is not None:
            return made
        if self.rules.permute is None or data.permuted_by < 0:
            return None
        op = self.capture.ops[data.permuted_by]
        shape = self.shape(Data(data.tensor))
        layer = self.rules.permute(data.axes)
        pending = self._add(op, layer, [data.tensor], tuple(shape[a] for a in data.axes))
        made = self.permutes[key] = Data(pending.id)
        return made

    def chain(self, op: Op, layer: Layer, inputs: Sequence[Data]) -> Data | None:
        """A node between two others of one op (no captured tensor of its own): its shape is its own."""
        try:
            shape = layer.output_shape(tuple(self.shape(d) for d in inputs))
        except GeometryError as e:
            self.refuse(op, f"convcost's {type(layer).__name__} does not apply here ({e})")
            return None
        return Data(self._add(op, layer, [d.tensor for d in inputs], shape).id)

    def weights(self, tensor: TensorRef | None) -> Weights | None:
        if tensor is None:
            return None
        ref = self.ref(tensor)
        return ref if isinstance(ref, Weights) else None

    def constant(self, weights: Weights) -> tuple[float, ...] | None:
        """The values of a constant operand: a known number, or the buffer it is (flattened)."""
        if weights.scalar is not None:
            return (weights.scalar,)
        if weights.exact is None or weights.exact[0] != "buffer":
            return None
        info = self.capture.buffers[weights.exact[1]]
        tensor = self.capture.root.get_buffer(info.names[0])
        if not tensor.is_floating_point() or tensor.device.type == "meta":
            return None
        return tuple(float(v) for v in tensor.detach().flatten().tolist())

    def shape(self, data: Data) -> Shape:
        """The graph shape (per sample) of a graph tensor."""
        node = self.by_id.get(data.tensor)
        return node.shape if node is not None else self.input_shapes[data.tensor]

    def sample(self, tensor: TensorRef) -> Shape | None:
        """A captured shape without its batch axis, or None when its first axis is not the batch."""
        if not tensor.shape or tensor.shape[0] != self.batch:
            return None
        return tensor.shape[1:]

    def set(self, tensor: TensorRef, ref: Ref) -> None:
        self.refs[tensor.value] = ref

    def same(self, op: Op, ref: Ref, output: int = 0) -> None:
        """The op's output is ``ref`` (a view, a copy, a cast: no node)."""
        self.set(op.outputs[output], ref)

    def node(
        self,
        op: Op,
        layer: Layer,
        inputs: Sequence[Data],
        *,
        output: int = 0,
        axes: tuple[int, ...] = (),
        rows: tuple[int, ...] | None = None,
        absorb: Sequence[int] = (),
        result: TensorRef | None = None,
    ) -> Data | None:
        """A node for ``op``'s output ``output``; its shape is checked against torch's.

        ``axes``: how the output is permuted in torch (as for ``Data``); ``rows``: the output is the
        rows of a linear layer (``Rows``), with these lead axes; ``absorb``: other ops folded into
        it (a pad before a convolution); ``result``: the tensor it makes, when not one of ``op``'s
        outputs (what a whole wrapped call returned).
        """
        ids = [d.tensor for d in inputs]
        shapes = tuple(self.shape(d) for d in inputs)
        try:
            shape = layer.output_shape(shapes)
        except GeometryError as e:
            self.refuse(op, f"convcost's {type(layer).__name__} does not apply here ({e})")
            return None
        out = result if result is not None else op.outputs[output]
        expected = self._graph_shape(out, axes, rows)
        if expected is None or shape != expected:
            got = list(expected) if expected is not None else list(out.shape)
            self.refuse(op, f"convcost's {type(layer).__name__} gives {list(shape)} where torch gives {got}")
            return None
        pending = self._add(op, layer, ids, shape)
        pending.ops = sorted({*pending.ops, *absorb})
        for index in absorb:  # the weights the folded ops read (F.linear's t(W), a pad's nothing)
            for t in self.capture.ops[index].inputs:
                ref = self.refs.get(t.value)
                if ref is None and self.capture.values[t.value].origin == "parameter":
                    ref = self.ref(t)
                if isinstance(ref, Weights):
                    pending.reads |= ref.parameters
        made = Data(pending.id, axes)
        self.set(out, Rows(made, rows) if rows is not None else made)
        return made

    def forget(self, tensor: TensorRef) -> None:
        """Drop what a captured tensor was read as (a pad about to become a node of its own)."""
        self.refs.pop(tensor.value, None)

    def shape_of(self, tensor: str) -> Shape:
        """The graph shape of a graph tensor, by name (a node id or an input)."""
        return self.shape(Data(tensor))

    def same_scope(self, first: int, then: Op) -> bool:
        """Whether op ``first`` ran in the same module call as ``then`` (what a fold may merge)."""

        def scope(call: int | None) -> int | None:
            return self.scopes[call] if call is not None else None

        return scope(self.capture.ops[first].call) == scope(then.call)

    def sole_producer(self, tensor: str, scope: int | None) -> Pending | None:
        """The node that makes ``tensor`` when it is read by one node only, in ``scope`` (for folds)."""
        producer = self.by_id.get(tensor)
        if producer is None or producer.layer is None or producer.scope != scope:
            return None
        return producer if self.readers.get(tensor) == 1 and tensor not in self.output_ids else None

    def scope_class(self, pending: Pending) -> str:
        """The class of the module call a node belongs to ("" for the root's own ops)."""
        return self.capture.calls[pending.scope].cls if pending.scope is not None else ""

    def refuse_call(self, call: PyCall, reason: str) -> None:
        """A wrapped call not mapped as a whole: one entry in the refusal, one unknown node per output."""
        first = self.capture.ops[call.first_op] if call.first_op < call.end_op else self.current
        assert first is not None
        self.unsupported.append(Unsupported(*self._where(call.call), call.function, reason))
        inputs = [r.tensor for a in call.arguments if isinstance(r := self.refs.get(getattr(a, "value", -1)), Data)]
        for out in call.outputs:
            pending = self._add(first, None, list(dict.fromkeys(inputs)), self.sample(out) or out.shape or (1,))
            pending.ops = list(range(call.first_op, call.end_op)) or pending.ops
            pending.reason = reason
            self.set(out, Data(pending.id))

    def refuse(self, op: Op, reason: str) -> None:
        """``op`` is not mapped: listed in the refusal, or an ``Unknown`` node (``strict=False``)."""
        self.unsupported.append(Unsupported(*self._where(op.call), op.name, reason))
        self._unknown(op, reason)

    def _where(self, call: int | None) -> tuple[str, str]:
        """The module path and class name of a call, for a refusal ("" and "" outside any)."""
        if call is None:
            return "", ""
        found = self.capture.calls[call]
        return found.path, found.cls.rsplit(".", 1)[-1]

    # ------------------------------------------------------------------ the walk

    def run(self) -> None:
        for name, tensor in self.capture.inputs:
            shape = self.sample(tensor)
            if shape is None:
                raise UnsupportedLayerError(f"input '{name}': no batch axis in its shape {list(tensor.shape)}")
            self.input_shapes[name] = shape
            self.refs[tensor.value] = Data(name)
        identity_calls = self._identity_calls()
        whole_calls: dict[int, list[ModuleCall]] = {}
        for call in self.capture.calls:
            if call.cls in self.rules.module_calls and call.first_op < call.end_op and call.registered:
                whole_calls.setdefault(call.first_op, []).append(call)
        for op in self.capture.ops:
            for call in identity_calls.pop(op.index, ()):
                self._module_node(call)
            for call in whole_calls.get(op.index, ()):
                if op.index not in self.claimed and self.rules.module_calls[call.cls](
                    call, self.capture.module(call), self
                ):
                    self.claimed.update(range(call.first_op, call.end_op))
            if op.index in self.claimed:
                continue
            self.current = op
            self._call_rule(op)
            if op.index in self.claimed:
                continue
            self._op(op)
        for calls in identity_calls.values():
            for call in calls:
                self._module_node(call)

    def _op(self, op: Op) -> None:
        refs = [self.ref(t) for t in op.inputs]
        if not any(isinstance(r, (Data, Rows, Padded)) for r in refs):
            # computed from weights and constants only (t(W), a reshaped gamma, torch.zeros): no node
            parameters = frozenset().union(*(r.parameters for r in refs if isinstance(r, Weights)))
            one = refs[0] if len(refs) == 1 and isinstance(refs[0], Weights) else None
            kept = one is not None and op.name in _KEEPS_VALUES
            for out in op.outputs:
                scalar = one.scalar if one is not None and kept and math.prod(out.shape) == 1 else None
                self.set(out, Weights(parameters, scalar, one.exact if one is not None and kept else None))
            return
        rule = self.rules.ops.get(op.target)
        if rule is None:
            self.refuse(op, "no rule maps this op")
            return
        before = len(self.unsupported)
        rule(op, self)
        if len(self.unsupported) == before and op.outputs and op.outputs[0].value not in self.refs:
            self.refuse(op, "its rule made nothing")

    def _call_rule(self, op: Op) -> None:
        if op.pycall is None:
            return
        call = self.capture.pycalls[op.pycall]
        while call.parent is not None:  # the outermost wrapped call this op ran in
            call = self.capture.pycalls[call.parent]
        rule = self.rules.calls.get(call.function)
        if rule is None or call.first_op != op.index:
            return
        if rule(call, self):
            self.claimed.update(range(call.first_op, call.end_op))

    def claim(self, call: PyCall) -> list[Op]:
        """The ops a wrapped call ran (for a call rule)."""
        return list(self.capture.ops[call.first_op : call.end_op])

    def claim_call(self, call: ModuleCall) -> list[Op]:
        """The ops a module call ran, nested calls included (for a module-call rule)."""
        return list(self.capture.ops[call.first_op : call.end_op])

    def _identity_calls(self) -> dict[int, list[ModuleCall]]:
        """Module calls that ran no op, for which a module rule may make a node, by where they ran."""
        found: dict[int, list[ModuleCall]] = {}
        for call in self.capture.calls:
            if call.first_op == call.end_op and call.cls in self.rules.modules and call.inputs and call.outputs:
                found.setdefault(call.first_op, []).append(call)
        return found

    def _module_node(self, call: ModuleCall) -> None:
        module = self.capture.module(call) if call.registered else None
        data = self.data(call.inputs[0])
        if module is None or data is None or not data.plain or call.outputs[0].value != call.inputs[0].value:
            return
        layer = self.rules.modules[call.cls](module, (self.shape(data),))
        if layer is None:
            return
        op = _ModuleOp.of(call)
        pending = self._add(op, layer, [data.tensor], self.shape(data), scope=call.index)  # type: ignore[arg-type]
        self.set(call.outputs[0], Data(pending.id))

    # ------------------------------------------------------------------ pending nodes

    def _add(self, op: Op, layer: Layer | None, inputs: list[str], shape: Shape, scope: int | None = None) -> Pending:
        reads: set[int] = set()
        for t in op.inputs:
            ref = self.refs.get(t.value)
            if isinstance(ref, Weights):
                reads |= ref.parameters
        pending = Pending(
            id=f"%{len(self.nodes)}",
            layer=layer,
            inputs=inputs,
            op=op,
            ops=[op.index],
            scope=self.scopes[op.call] if scope is None and op.call is not None else scope,
            shape=shape,
            reads=reads,
        )
        self.nodes.append(pending)
        self.by_id[pending.id] = pending
        return pending

    def _graph_shape(self, tensor: TensorRef, axes: tuple[int, ...], rows: tuple[int, ...] | None) -> Shape | None:
        if rows is not None:
            # rows of (N * prod(lead), C): the graph tensor is (*lead, C) in torch's order
            torch_shape: Shape = (*rows, tensor.shape[-1])
        else:
            sample = self.sample(tensor)
            if sample is None:
                return None
            torch_shape = sample
        if not axes:
            return torch_shape
        graph = [0] * len(axes)
        for i, axis in enumerate(axes):
            graph[axis] = torch_shape[i]
        return tuple(graph)

    def _unknown(self, op: Op, reason: str) -> None:
        """Unknown nodes for an op's outputs (each output a tensor of the graph), reading its data."""
        inputs: list[str] = []
        for t in op.inputs:
            ref = self.refs.get(t.value)
            if isinstance(ref, Padded):
                ref = self._materialize(ref)
            if isinstance(ref, Rows):
                ref = ref.data
            if isinstance(ref, Data) and ref.tensor not in inputs:
                inputs.append(ref.tensor)
        for k, out in enumerate(op.outputs):
            if out.value in self.refs or (k > 0 and out.value not in self.read_values):
                continue
            shape = self.sample(out) or out.shape or (1,)
            pending = self._add(op, None, inputs, shape)
            pending.reason = reason
            self.set(out, Data(pending.id))

    def _aliased(self, tensor: TensorRef) -> Ref:
        """A tensor read after a write through another view of its storage (``out[:, :c] = y``)."""
        value = self.capture.values[tensor.value]
        writer = self.capture.ops[value.producer] if value.producer is not None else self.current
        assert writer is not None
        reason = "it writes into a view of another tensor (slice assignment)"
        self.unsupported.append(Unsupported(*self._where(writer.call), writer.name, reason))
        inputs = [r.tensor for t in writer.inputs if isinstance(r := self.refs.get(t.value), Data)]
        pending = self._add(writer, None, list(dict.fromkeys(inputs)), self.sample(tensor) or tensor.shape or (1,))
        pending.reason = reason
        ref = Data(pending.id)
        self.refs[tensor.value] = ref
        return ref

    def _materialize(self, padded: Padded) -> Data | None:
        """A padded tensor read by something that does not fold it: the pad becomes a node."""
        op = self.capture.ops[padded.op]
        if self.rules.pad is not None:
            self.rules.pad(op, self)
        found = self.refs.get(op.outputs[0].value)
        if isinstance(found, Data):
            return found
        if found is None or isinstance(found, Padded):
            self.refuse(op, f"a padding with {padded.value} that nothing folds")
            found = self.refs.get(op.outputs[0].value)
        return found if isinstance(found, Data) else None

    # ------------------------------------------------------------------ finishing

    def finish(self, name: str) -> Model:
        outputs = self._outputs()
        self._fold(outputs)
        owners = self._owners()
        names = self._names()
        builder = GraphBuilder()
        for input_name, shape in self.input_shapes.items():
            builder.input(input_name, shape)
        sources = self._sources(owners)
        shared = self._sharing(owners)
        for pending in self.nodes:
            layer = pending.layer if pending.layer is not None else self._unknown_layer(pending, owners)
            builder.add(
                names[pending.id],
                replace(layer, name=names[pending.id].rsplit("/", 1)[-1]),
                [names.get(i, i) for i in pending.inputs],
                sources[pending.id],
                shares=names[shared[pending.id]] if pending.id in shared else "",
            )
        read = {i for p in self.nodes for i in p.inputs}
        dead = [p.id for p in self.nodes if p.id not in read and p.id not in outputs]
        graph = builder.graph([names.get(o, o) for o in (*outputs, *dead)])
        return Model.from_graph(name, graph, self.batch)

    def refusal(self, label: str) -> UnsupportedLayerError:
        counts: dict[Unsupported, int] = {}
        for u in self.unsupported:
            counts[u] = counts.get(u, 0) + 1
        listed = "; ".join(
            f"{u.path or '<root>'} ({u.cls}) {u.op}{f' x{n}' if n > 1 else ''}: {u.reason}" for u, n in counts.items()
        )
        total = len(self.unsupported)
        return UnsupportedLayerError(
            f"{label}: {total} operation{'s' if total != 1 else ''} convcost cannot map: {listed} "
            "(strict=False, or --allow-unknown, costs them at zero as Unknown nodes)"
        )

    def _outputs(self) -> list[str]:
        names: list[str] = []
        for key, tensor in self.capture.outputs:
            ref = self.refs.get(tensor.value)
            if isinstance(ref, Padded):
                ref = self._materialize(ref)
            if isinstance(ref, Data):
                if not ref.plain:
                    permuted = self.permuted(ref)
                    if permuted is None:
                        raise UnsupportedLayerError(f"output '{key}' is a permuted tensor (no Permute kind)")
                    ref = permuted
                if ref.tensor not in names:
                    names.append(ref.tensor)
            elif isinstance(ref, Rows):
                raise UnsupportedLayerError(f"output '{key}': the rows of a linear layer, not reshaped back")
        return names

    def _fold(self, outputs: list[str]) -> None:
        if not self.rules.folds:
            return
        readers: dict[str, int] = {}
        for p in self.nodes:
            for i in dict.fromkeys(p.inputs):
                readers[i] = readers.get(i, 0) + 1
        self.readers, self.output_ids = readers, set(outputs)
        kept: list[Pending] = []
        for consumer in self.nodes:
            merged = True
            while merged and consumer.layer is not None:
                merged = False
                for position, tensor in enumerate(consumer.inputs):
                    producer = self.by_id.get(tensor)
                    if (
                        producer is None
                        or producer.layer is None
                        or readers.get(tensor) != 1
                        or tensor in outputs
                        or producer.scope != consumer.scope
                        or consumer.inputs.count(tensor) != 1
                    ):
                        continue
                    for fold in self.rules.folds:
                        result = fold(producer, consumer, self)
                        if result is None:
                            continue
                        first = result.earlier[0] if result.earlier else producer
                        consumer.inputs[position : position + 1] = first.inputs
                        consumer.layer = result.layer
                        for gone in (*result.earlier, producer):
                            consumer.ops = sorted({*gone.ops, *consumer.ops})
                            consumer.reads |= gone.reads
                            gone.layer = None
                            gone.ops = []
                            del self.by_id[gone.id]
                        if result.main == "producer":
                            consumer.op = first.op
                        merged = True
                        break
                    if merged:
                        break
            kept.append(consumer)
        self.nodes = [p for p in kept if p.ops]

    def _owners(self) -> dict[int, str]:
        """Each parameter tensor -> the node that counts it: its first reader, or its module's node."""
        owners: dict[int, str] = {}
        for p in self.nodes:
            for index in sorted(p.reads):
                owners.setdefault(index, p.id)
        if len(owners) < len(self.capture.parameters) and self.nodes:
            primary = self._primaries()
            for index, info in enumerate(self.capture.parameters):
                if index in owners:
                    continue
                path = info.names[0].rsplit(".", 1)[0] if "." in info.names[0] else ""
                owners[index] = self._node_of_path(path, primary)
        return owners

    def _first_calls(self) -> dict[int, int]:
        """id of each registered module object that was called -> its first call."""
        first: dict[int, int] = {}
        for call in self.capture.calls:
            if call.registered:
                first.setdefault(id(self._module_at(call.path)), call.index)
        return first

    def _module_at(self, path: str) -> Any:
        """The registered module at ``path`` (None if there is none), from one walk of the tree."""
        if self._modules is None:
            self._modules = dict(self.capture.root.named_modules(remove_duplicate=False))
        return self._modules.get(path)

    def _called_above(self, path: str, first: dict[int, int]) -> int:
        """The first call of the module at ``path``, or of its nearest ancestor that was called."""
        while True:
            module = self._module_at(path)
            index = first.get(id(module)) if module is not None else None
            if index is not None or not path:
                return index if index is not None else 0
            path = path.rsplit(".", 1)[0] if "." in path else ""

    def _node_of_path(self, path: str, primary: dict[int, str]) -> str:
        """The node standing for the registered module at ``path``, or for its nearest called ancestor."""
        return primary.get(self._called_above(path, self._first_calls()), self.nodes[0].id)

    def _primaries(self) -> dict[int, str]:
        """Registered module call -> the node that stands for it: the first node it made directly,
        else the first node holding an op it ran, else the first node after it (else the last one)."""
        if self._primary is not None:
            return self._primary
        import bisect

        direct: dict[int, str] = {}
        node_of_op: dict[int, str] = {}
        for p in self.nodes:
            made_in = self._registered(p.op.call)
            if made_in is not None:
                direct.setdefault(made_in, p.id)
            for i in p.ops:
                node_of_op.setdefault(i, p.id)
        mapped = sorted(node_of_op)
        primary: dict[int, str] = {}
        for call in self.capture.calls:
            if not call.registered or not mapped:
                continue
            if call.index in direct:
                primary[call.index] = direct[call.index]
                continue
            at = bisect.bisect_left(mapped, call.first_op)
            primary[call.index] = node_of_op[mapped[at]] if at < len(mapped) else self.nodes[-1].id
        self._primary = primary
        return primary

    def _registered(self, index: int | None) -> int | None:
        """The innermost registered module call at or above call ``index``."""
        while index is not None:
            call = self.capture.calls[index]
            if call.registered:
                return index
            index = call.parent
        return None

    def _scopes(self) -> list[int | None]:
        """Each call's scope: itself, or the outermost call of one of convcost's own modules around it."""
        scopes: list[int | None] = []
        for call in self.capture.calls:
            scope: int | None = call.index
            index = call.parent
            while index is not None:
                parent = self.capture.calls[index]
                if parent.cls.startswith(_OWN_MODULES) and parent.cls != _GRAPH_MODULE:
                    scope = index
                index = parent.parent
            scopes.append(scope)
        return scopes

    def _call_names(self) -> list[str]:
        """Each module call's name in the graph: its module path with '/', made unique per call."""
        calls = self.capture.calls
        wiring: dict[str, list[str]] = {}
        if self.capture.root_class == _GRAPH_MODULE:
            for path, key, _ in self.capture.root.wiring:
                wiring.setdefault(f"nodes.{key}", []).append(path)
        names: list[str] = []
        used: set[str] = set()
        for call in calls:
            if call.parent is None:
                names.append("")
                continue
            parent = calls[call.parent]
            if call.path in wiring and parent.parent is None and call.call_number < len(wiring[call.path]):
                candidate = wiring[call.path][call.call_number]
            else:
                relative = call.path
                if parent.path and call.path.startswith(parent.path + "."):
                    relative = call.path[len(parent.path) + 1 :]
                component = "/".join(part.replace("/", "_") or "_" for part in relative.split("."))
                base = names[call.parent]
                candidate = f"{base}/{component}" if base else component
            name, n = candidate, 1
            while name in used:
                name, n = f"{candidate}_{n}", n + 1
            used.add(name)
            names.append(name)
        return names

    def _names(self) -> dict[str, str]:
        calls = self.capture.calls
        call_names = self._call_names()
        per_scope: dict[int | None, int] = {}
        for p in self.nodes:
            per_scope[p.scope] = per_scope.get(p.scope, 0) + 1
        names: dict[str, str] = {}
        used: set[str] = set(self.input_shapes)
        for p in self.nodes:
            scope = p.scope
            base = call_names[scope] if scope is not None else ""
            whole = False
            if scope is not None:
                cls = calls[scope].cls
                whole = (calls[scope].leaf or cls.startswith(_OWN_MODULES)) and cls != _GRAPH_MODULE
            if base and whole and per_scope[scope] == 1:
                candidate = base
            else:
                short = self._short(p.op, p.layer)
                candidate = f"{base}/{short}" if base else short
            name, n = candidate, 1
            while name in used:
                name, n = f"{candidate}_{n}", n + 1
            used.add(name)
            names[p.id] = name
        return names

    def _short(self, op: Op, layer: Layer | None) -> str:
        if layer is not None and op.name in ("aten.view", "aten._unsafe_view", "aten.reshape"):
            return layer.default_prefix  # flatten, reshape: what the view is
        if op.pycall is not None:
            return self.capture.pycalls[op.pycall].function.rsplit(".", 1)[-1]
        name = op.name.removeprefix("aten.")
        name = _SHORT_NAMES.get(name, name)
        return name.strip("_") or "op"

    def _sharing(self, owners: dict[int, str]) -> dict[str, str]:
        """Node -> the earlier node whose weights it uses (it reads a parameter that node counts)."""
        shared: dict[str, str] = {}
        for p in self.nodes:
            if p.layer is None:
                continue
            for index in sorted(p.reads):
                owner = self.by_id.get(owners.get(index, ""))
                if owner is None or owner is p or owner.id in shared or owner.layer is None:
                    continue
                if replace(owner.layer, name="") == replace(p.layer, name=""):
                    shared[p.id] = owner.id
                    break
        return shared

    def _unknown_layer(self, pending: Pending, owners: dict[int, str]) -> Layer:
        assert self.rules.unknown is not None
        weights = tuple(
            (info.names[0], info.shape, info.requires_grad)
            for index, info in enumerate(self.capture.parameters)
            if owners.get(index) == pending.id and index in pending.reads
        )
        return self.rules.unknown(pending.op.name, pending.shape, weights)

    # ------------------------------------------------------------------ sources

    def _sources(self, owners: dict[int, str]) -> dict[str, Source]:
        capture = self.capture
        primary = self._primaries()
        modules: dict[str, list[CalledModule]] = {}
        absorbed = self._absorbed()
        for call in capture.calls:
            if call.registered and call.index in primary:
                modules.setdefault(primary[call.index], []).append(self._called(call, absorbed))
        tensors: dict[str, list[Parameter]] = {}
        for index, info in enumerate(capture.parameters):
            node = owners.get(index)
            if node is not None:
                tensors.setdefault(node, []).append(Parameter(info.names[0], info.numel, info.requires_grad))
        functions: dict[str, list[FunctionCall]] = {}
        node_of_op = {i: p.id for p in self.nodes for i in p.ops}
        for pycall in capture.pycalls:
            node = next((node_of_op[i] for i in range(pycall.first_op, pycall.end_op) if i in node_of_op), None)
            if node is None:
                registered = self._registered(pycall.call)
                node = primary.get(registered) if registered is not None else None
            if node is None and self.nodes:
                node = self.nodes[0].id
            if node is not None:
                functions.setdefault(node, []).append(self._function(pycall))
        sources: dict[str, Source] = {}
        for p in self.nodes:
            registered = self._registered(p.op.call)
            made_in = capture.calls[registered] if registered is not None else None
            details = TorchDetails(
                modules=tuple(modules.get(p.id, ())),
                tensors=tuple(tensors.get(p.id, ())),
                functions=tuple(functions.get(p.id, ())),
                training=self._training(p.op),
            )
            sources[p.id] = Source(
                framework="torch",
                path=made_in.path if made_in else "",
                cls=made_in.cls if made_in else capture.root_class,
                op=p.op.name,
                details=(("torch", details),),
            )
        return sources

    def _training(self, op: Op) -> bool:
        """A batch norm in the module's own mode uses batch statistics (the capture ran in eval)."""
        if "batch_norm" not in op.target:
            return False
        training = op.arguments.get("training")
        call = self.capture.calls[op.call] if op.call is not None else None
        return bool(training) or bool(call is not None and call.training)

    def _called(self, call: ModuleCall, absorbed: dict[int, tuple[Parameter, ...]]) -> CalledModule:
        module = self._module_at(call.path)
        ancestors = []
        parts = call.path.split(".") if call.path else []
        for i in range(len(parts)):
            ancestors.append(_qualname(type(self._module_at(".".join(parts[:i])))))
        own = tuple(
            Parameter(name, p.numel(), p.requires_grad)
            for name, p in module.named_parameters(recurse=False)
            if p is not None
        )
        return CalledModule(
            path=call.path,
            cls=call.cls,
            standard=call.is_standard,
            base=call.torch_class or "",
            leaf=call.leaf,
            ancestors=tuple(ancestors),
            first_call=call.call_number == 0,
            input=self._per_sample(call.inputs[0]) if call.inputs else None,
            output=self._per_sample(call.outputs[0]) if call.outputs else None,
            attributes=_attributes(module),
            parameters=own,
            absorbed=absorbed.get(call.index, ()) if call.call_number == 0 else (),
            subtree=self._parameters_below(module),
        )

    def _parameters_below(self, module: Any) -> int:
        """``sum(p.numel() for p in module.parameters())``, once per module."""
        found = self._subtree.get(id(module))
        if found is None:
            found = self._subtree[id(module)] = sum(p.numel() for p in module.parameters())
        return found

    def _absorbed(self) -> dict[int, tuple[Parameter, ...]]:
        """Parameters of registered modules never called, by the first call of their nearest called ancestor."""
        first = self._first_calls()
        found: dict[int, list[Parameter]] = {}
        seen: set[int] = set()
        for path, module in self.capture.root.named_modules():
            if id(module) in first:
                continue
            above = self._called_above(path, first)
            for name, p in module.named_parameters(recurse=False):
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                found.setdefault(above, []).append(Parameter(f"{path}.{name}", p.numel(), p.requires_grad))
        return {k: tuple(v) for k, v in found.items()}

    def _carries(self, tensor: TensorRef) -> bool:
        """Whether a captured tensor carries the batch (a tensor of the network, batch first)."""
        ref = self.refs.get(tensor.value)
        is_data = isinstance(ref, (Data, Rows, Padded)) or self.capture.values[tensor.value].origin == "input"
        return is_data and bool(tensor.shape) and tensor.shape[0] == self.batch

    def _per_sample(self, tensor: TensorRef) -> Shape:
        """A captured shape as the tool formulas take it: a tensor that carries the batch has batch 1."""
        return (1, *tensor.shape[1:]) if self._carries(tensor) else tensor.shape

    def _function(self, pycall: PyCall) -> FunctionCall:
        from convcost.interop.capture import TensorRef

        def convert(value: Any) -> Any:
            if isinstance(value, TensorRef):
                return TensorArg(self._per_sample(value), self._carries(value))
            if isinstance(value, tuple):
                return tuple(convert(v) for v in value)
            return value

        return FunctionCall(
            pycall.function,
            tuple(convert(a) for a in pycall.arguments),
            tuple((k, convert(v)) for k, v in pycall.keywords),
        )


@record
class _ModuleOp:
    """Stands in for an op where a module call that ran none makes a node (``nn.Dropout``)."""

    index: int
    target: str
    call: int | None
    pycall: int | None
    inputs: tuple[Any, ...] = ()
    outputs: tuple[Any, ...] = ()
    arguments: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.target

    @classmethod
    def of(cls, call: ModuleCall) -> _ModuleOp:
        return cls(index=call.first_op, target=call.cls.rsplit(".", 1)[-1].lower(), call=call.index, pycall=None)


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


_PLAIN = (bool, int, float, str, type(None))


def _attributes(module: Any) -> tuple[tuple[str, Any], ...]:
    """A module's plain attributes (numbers, strings, tuples of them), sorted by name."""
    found = []
    for key, value in vars(module).items():
        if key.startswith("_") or key == "training":
            continue
        if isinstance(value, _PLAIN) or (isinstance(value, tuple) and all(isinstance(v, _PLAIN) for v in value)):
            found.append((key, value))
    return tuple(sorted(found))


def read(capture: Capture, rules: Rules, *, name: str, strict: bool) -> Model:
    """The graph of a capture, made with ``rules``; unmapped ops refused all at once (``strict``)."""
    reading = Reading(capture, rules, strict)
    reading.run()
    if reading.unsupported and strict:
        raise reading.refusal(name)
    return reading.finish(name)


__all__ = [
    "Data",
    "Merge",
    "Padded",
    "Pending",
    "Reading",
    "Rows",
    "Rules",
    "Unsupported",
    "Weights",
    "read",
]
