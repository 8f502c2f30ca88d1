"""Read an ONNX file into convcost's graph: ``from_onnx(path)``, and each operator's layer kind.

The file is decoded by ``onnx_wire`` (no ``onnx`` package; weights are never read) and walked by
``onnx_walk.Walk``, which keeps every tensor as a constant or as a convcost tensor seen through a
layout. This module maps each operator that reads the network's tensors to layer kinds, one
method per operator or family (``_Reader.map_*``), and is the one place that names the kinds:

* Conv -> ``Conv2D`` (``group``, ``dilations``, ``pads`` / ``auto_pad``, ``kernel_shape`` or the
  weight's), Gemm and MatMul with a weight -> ``Dense``, BatchNormalization -> ``BatchNorm``;
* a bias a following ``Add`` applies (MatMul + Add; Keras' Conv -> Transpose -> Add) is the layer's
  bias, so the Add makes no node; an Add / Sub / Mul / Div of an activation and a weight tensor is
  a ``WeightOp`` (Keras exports BatchNorm as ``x - mean``, ``* scale``, ``+ beta``);
* Relu, Clip(0, 6), Sigmoid, HardSigmoid, HardSwish, ``x * Sigmoid(x)`` (SiLU), Softmax, ... ->
  ``Activation``; pooling, ReduceMean over height and width, Flatten / Reshape, Pad, Concat,
  Dropout to their kinds; Transpose, Identity and Cast make no node.

Kinds this convcost does not have yet are looked up by name (``_kind``), so their operators are
refused by name until they land. Every refusal is collected and reported at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from convcost.errors import GeometryError, SpecError, SpecFileError
from convcost.interop import onnx_values as values
from convcost.interop import onnx_wire as wire
from convcost.interop.onnx_values import EvaluationError, Value
from convcost.interop.onnx_walk import Act, Const, Unmappable, Walk, file_label
from convcost.layer import ExplicitPadding, Layer, Shape, elements
from convcost.layers import (
    ACTIVATIONS,
    Activation,
    Add,
    Average,
    AvgPool2D,
    BatchNorm,
    Concat,
    Conv2D,
    Conv2DTranspose,
    Cropping2D,
    Dense,
    Divide,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    GlobalMaxPool2D,
    GroupNorm,
    InstanceNorm,
    LayerNorm,
    Maximum,
    MaxPool2D,
    Minimum,
    Multiply,
    Pad2D,
    Permute,
    PReLU,
    Reshape,
    Resize,
    ScalarOp,
    Slice,
    Subtract,
    Unknown,
    UpSampling2D,
    WeightOp,
    ZeroPadding2D,
)
from convcost.model import Model

#: element-wise activations, by ONNX operator (Clip, Softmax, Gelu and the swish patterns are apart)
UNARY_ACTIVATIONS = {
    "Relu": "relu",
    "Sigmoid": "sigmoid",
    "HardSigmoid": "hard_sigmoid",
    "HardSwish": "hard_swish",
    "Tanh": "tanh",
    "LeakyRelu": "leaky_relu",
    "Elu": "elu",
    "Selu": "selu",
    "Softplus": "softplus",
    "Mish": "mish",
    "Swish": "silu",
}
#: the operations of an activation and a constant (ScalarOp's names; WeightOp has the first four)
ARITHMETIC = {
    "Add": "add",
    "Sub": "subtract",
    "Mul": "multiply",
    "Div": "divide",
    "Pow": "power",
    "Max": "maximum",
    "Min": "minimum",
}
#: the merge kind of each operator on two or more of the network's tensors
MERGES: dict[str, type[Layer]] = {
    "Add": Add,
    "Sum": Add,
    "Sub": Subtract,
    "Mul": Multiply,
    "Div": Divide,
    "Max": Maximum,
    "Min": Minimum,
    "Mean": Average,
}


def from_onnx(path: str, *, batch: int | None = None, strict: bool = True, name: str | None = None) -> Model:
    """Read the ONNX file at ``path`` into a ``Model``; its weights are never read.

    ``batch``: the batch size where the file leaves it symbolic (default 1; a fixed batch in the file
    is kept). ``strict=False`` keeps an operator convcost cannot map as an ``Unknown`` node (it costs
    nothing; the report marks its totals as lower bounds) where the file gives its output shape.
    """
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        raise SpecError(f"batch must be a positive integer, got {batch!r}")
    reader = _Reader(path, wire.read_model(path), batch, strict)
    graph = reader.graph()
    return Model.from_graph(name or file_label(path), graph, reader.batch, notes=reader.all_notes())


def _pair(node: wire.Node, key: str) -> tuple[int, int]:
    value = tuple(int(v) for v in node.attributes.get(key, (1, 1)))
    if len(value) != 2 or any(v < 1 for v in value):
        raise SpecError(f"{key} {list(value)} (two positive integers)")  # the walk names the file and node
    return (value[0], value[1])


class _Reader(Walk):
    def __init__(self, path: str, model: wire.Model, batch: int | None, strict: bool) -> None:
        super().__init__(path, model, batch, strict)
        # a layer written out as several nodes (SiLU as x * sigmoid(x), GELU with Erf, Keras' UpSampling2D
        # as Unsqueeze -> Expand -> Reshape): its last node makes the layer, the others none
        self.patterns: dict[int, Callable[[wire.Node], None]] = {}
        # a sequence of tensors (dynamo's torch.split): its parts, as the Slice layers that make them
        self.sequences: dict[str, list[tuple[Act, int, int, int]]] = {}
        self.biasable: dict[str, str] = {}  # a conv or Dense without bias -> the ONNX tensor it makes
        self.folded_batchnorm = 0
        self.merged_biases: list[str] = []
        self.has_batchnorm = any(n.op_type == "BatchNormalization" for n in self.nodes)
        self.handlers: dict[str, Callable[[int, wire.Node], None]] = {
            "Conv": self.map_conv,
            "ConvTranspose": self.map_conv_transpose,
            "Gemm": self.map_gemm,
            "MatMul": self.map_matmul,
            "BatchNormalization": self.map_batchnorm,
            "LayerNormalization": self.map_layer_norm,
            "InstanceNormalization": self.map_instance_norm,
            "GroupNormalization": self.map_instance_norm,
            "PRelu": self.map_prelu,
            "Clip": self.map_clip,
            "Softmax": self.map_softmax,
            "Gelu": self.map_gelu,
            "MaxPool": self.map_pool,
            "AveragePool": self.map_pool,
            "GlobalAveragePool": self.map_global_pool,
            "GlobalMaxPool": self.map_global_pool,
            "ReduceMean": self.map_reduce,
            "ReduceMax": self.map_reduce,
            "Flatten": self.map_reshape,
            "Reshape": self.map_reshape,
            "Squeeze": self.map_reshape,
            "Unsqueeze": self.map_reshape,
            "Transpose": self.map_transpose,
            "Pad": self.map_pad,
            "Concat": self.map_concat,
            "Dropout": self.map_dropout,
            "Identity": self.map_identity,
            "Cast": self.map_identity,
            "CastLike": self.map_cast_like,
            "Shape": self.map_shape,
            "Size": self.map_shape,
            "Slice": self.map_slice,
            "Split": self.map_split,
            "SplitToSequence": self.map_split,
            "SequenceAt": self.map_sequence_at,
            "Resize": self.map_resize,
            "Upsample": self.map_resize,
            **{op: self.map_activation for op in UNARY_ACTIVATIONS},
            **{op: self.map_arithmetic for op in (*ARITHMETIC, *MERGES)},
        }

    # ------------------------------------------------------------------ the walk's hooks

    def map(self, index: int, node: wire.Node) -> None:
        if index in self.patterns:
            self.patterns[index](node)
            return
        if index in self.inside:  # read only by the rest of a layer written out
            self.alias(node, next(self.acts[n] for n in node.inputs if n in self.acts))
            return
        handler = self.handlers.get(node.op_type)
        if handler is None:
            raise Unmappable(f"operator {node.op_type}")
        handler(index, node)

    def stand_in(self, node: wire.Node, shape: Shape, inputs: list[str]) -> str:
        return self.add(node, Unknown(op=node.op_type, output=shape), inputs)

    def reader_notes(self) -> list[str]:
        notes = []
        if self.folded_batchnorm:
            n = self.folded_batchnorm
            notes.append(
                f"BatchNorm was folded into {n} convolution{'s' if n != 1 else ''} by the exporter: the file "
                "holds their rescaled weights and a bias each, not BatchNorm's 4 values per channel"
            )
        if self.merged_biases:
            n = len(self.merged_biases)
            notes.append(
                f"{n} convolution or Dense bias{'es are' if n != 1 else ' is'} the tensor of an earlier layer "
                "(an exporter merged equal tensors): counted once, where first used; the later layers show no bias"
            )
        return notes

    # ------------------------------------------------------------------ helpers

    def channels_first(self, node: wire.Node, act: Act) -> str:
        """The convcost tensor of ``act`` in ONNX's axis order (a Permute when its layout is not)."""
        if act.canonical:
            return act.tensor
        return self.add(node, Permute(act.axes), [act.tensor], suffix="permute")

    def weight(self, node: wire.Node, position: int, what: str) -> Const:
        """A constant input the layer holds (a weight, a bias)."""
        name = node.inputs[position] if position < len(node.inputs) else ""
        if not name:
            raise SpecFileError(f"{self.where(node)}: it has no {what}")
        if name in self.acts:
            raise Unmappable(f"{node.op_type} whose {what} is computed from the network's tensors")
        return self.consts[name]

    def bias_input(self, node: wire.Node, position: int, units: int) -> tuple[str, ...]:
        """The tensor a bias input holds (none for a bias computed as zeros: dynamo's ``Expand(0, ...)``)."""
        if position >= len(node.inputs) or not node.inputs[position]:
            return ()
        const = self.weight(node, position, "bias")
        if values.size(const.shape) != units:
            raise SpecFileError(f"{self.where(node)}: a bias of shape {list(const.shape)} for {units} outputs")
        return self.held(const)

    def fold_bias(self, node: wire.Node, x: Act, name: str) -> bool:
        """An ``Add`` of a bias after a conv or Dense that has none (MatMul + Add; Keras' Conv ->
        Transpose -> Add, its bias reshaped to ``[1, 1, 1, C]``; Keras' 'same' transposed conv,
        cropped before its bias): the layer holds the bias, the Add makes no node. Only when the Add
        is the one reader of the layer's output, through Transposes, Identities, Casts and crops."""
        const = self.consts[name]
        holds = self.held(const)
        if not holds or self.held_elsewhere(holds[0]):
            return False
        tensor = next(n for n in node.inputs if n in self.acts)
        while True:
            act = self.acts[tensor]
            if self.only_reader(tensor) is None:
                return False
            if self.biasable.get(act.tensor) == tensor:
                break
            producer = self.nodes[self.producer[tensor]]
            before = self.acts.get(producer.inputs[0]) if producer.inputs else None
            if before is None or producer.op_type not in ("Transpose", "Identity", "Cast", "Slice"):
                return False
            if self.shapes[before.tensor][0] != self.shapes[act.tensor][0]:
                return False  # a Slice of the channels: the bias is no longer the layer's
            tensor = producer.inputs[0]
        units = self.shapes[act.tensor][0]
        if self.per_sample(node, x, const.shape) != (units,) + (1,) * (len(self.shapes[x.tensor]) - 1):
            return False
        self.give_bias(act.tensor, holds[0])
        self.alias(node, x)
        return True

    def may_take_bias(self, node: wire.Node, out: str, has_bias: bool) -> None:
        """A layer made without a bias may take the one an Add after it applies (``fold_bias``)."""
        if not has_bias and not self.builder.nodes[-1].shares:
            self.biasable[out] = node.outputs[0]

    def with_bias(self, holds: tuple[str, ...], bias: tuple[str, ...]) -> tuple[bool, tuple[str, ...]]:
        """Whether the layer keeps its bias, and what it holds: a bias tensor an earlier layer already
        holds (an exporter merged equal biases) is counted there, once."""
        if bias and self.held_elsewhere(bias[0]) and not any(self.held_elsewhere(t) for t in holds):
            self.merged_biases.append(bias[0])
            return False, holds
        return bool(bias), (*holds, *bias)

    # ---------------------------------------------------- convolutions and fully-connected layers

    def map_conv(self, index: int, node: wire.Node) -> None:
        w = self.weight(node, 1, "weight")
        if len(w.shape) != 4:
            raise Unmappable(f"Conv with a {len(w.shape) - 2}-D kernel (only 2-D)")
        tensor = self.channels_first(node, self.act(node))
        shape = self.shapes[tensor]
        filters, per_group, kh, kw = w.shape
        if tuple(node.attributes.get("kernel_shape", (kh, kw))) != (kh, kw):
            raise SpecFileError(
                f"{self.where(node)}: kernel_shape {list(node.attributes['kernel_shape'])} "
                f"but a weight of shape {list(w.shape)}"
            )
        groups = int(node.attributes.get("group", 1))
        channels = shape[0] if len(shape) == 3 else 0
        if groups < 1 or per_group * groups != channels:
            raise GeometryError(f"a weight of shape {list(w.shape)} in {groups} groups for {channels} input channels")
        stride, dilation = _pair(node, "strides"), _pair(node, "dilations")
        padding = self.window_padding(node, shape[1:], (kh, kw), stride, dilation)
        keep, holds = self.with_bias(self.held(w), self.bias_input(node, 2, filters))
        folded = self.folded(node)
        layer = Conv2D(filters, (kh, kw), stride=stride, padding=padding, dilation=dilation, groups=groups, bias=keep)
        out = self.add(node, layer, [tensor], holds=holds, details=[("folded_batchnorm", True)] if folded else [])
        self.set(node, out, (0, 1, 2))
        self.may_take_bias(node, out, keep)

    def folded(self, node: wire.Node) -> bool:
        """Whether the exporter folded a BatchNorm into this conv: dynamo's rewriter says so; the
        TorchScript exporter leaves no BatchNormalization node and names both folded tensors
        ``onnx::Conv_<n>``, where a conv that had no BatchNorm keeps its parameters' names."""
        rules = node.metadata.get("pkg.onnxscript.rewriter.rule_name", "")
        renamed = len(node.inputs) > 2 and all(n.startswith("onnx::Conv_") for n in node.inputs[1:3])
        if "FuseBatchNormIntoConv" in rules or (renamed and not self.has_batchnorm):
            self.folded_batchnorm += 1
            return True
        return False

    def window_padding(
        self, node: wire.Node, size: Shape, kernel: tuple[int, int], stride: tuple[int, int], dilation: tuple[int, int]
    ) -> ExplicitPadding:
        """``pads`` / ``auto_pad`` as ((top, bottom), (left, right)). SAME_UPPER and SAME_LOWER make
        ``ceil(in / stride)`` outputs, the odd pixel after (UPPER) or before (LOWER)."""
        auto = node.attributes.get("auto_pad", "NOTSET") or "NOTSET"
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            sides = []
            for n, k, s, d in zip(size, kernel, stride, dilation, strict=True):
                total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
                small, large = total // 2, total - total // 2
                sides.append((small, large) if auto == "SAME_UPPER" else (large, small))
            return (sides[0], sides[1])
        if auto == "VALID":
            return ((0, 0), (0, 0))
        if auto != "NOTSET":
            raise SpecFileError(f"{self.where(node)}: auto_pad {auto!r}")
        pads = tuple(int(p) for p in node.attributes.get("pads", (0, 0, 0, 0)))
        if len(pads) != 4:
            raise SpecFileError(f"{self.where(node)}: pads {list(pads)} for a 2-D window")
        if any(p < 0 for p in pads):
            raise Unmappable(f"{node.op_type} with negative pads")
        return ((pads[0], pads[2]), (pads[1], pads[3]))

    def map_conv_transpose(self, index: int, node: wire.Node) -> None:
        w = self.weight(node, 1, "weight")
        if len(w.shape) != 4:
            raise Unmappable(f"ConvTranspose with a {len(w.shape) - 2}-D kernel (only 2-D)")
        tensor = self.channels_first(node, self.act(node))
        shape = self.shapes[tensor]
        in_channels, per_group, kh, kw = w.shape
        groups = int(node.attributes.get("group", 1))
        if len(shape) != 3 or in_channels != shape[0]:
            raise GeometryError(f"a weight of shape {list(w.shape)} for {shape[0]} input channels")
        stride, dilation = _pair(node, "strides"), _pair(node, "dilations")
        given = tuple(int(p) for p in node.attributes.get("output_padding", (0, 0)))
        if len(given) != 2 or any(p < 0 for p in given):
            raise SpecFileError(f"{self.where(node)}: output_padding {list(given)} for a 2-D kernel")
        extra = (given[0], given[1])
        pads = self.transposed_pads(node, shape[1:], (kh, kw), stride, dilation, extra)
        filters = per_group * groups
        keep, holds = self.with_bias(self.held(w), self.bias_input(node, 2, filters))
        layer = Conv2DTranspose(
            filters=filters,
            kernel=(kh, kw),
            stride=stride,
            padding=((pads[0], pads[2]), (pads[1], pads[3])),
            output_padding=extra,
            dilation=dilation,
            groups=groups,
            bias=keep,
        )
        out = self.add(node, layer, [tensor], holds=holds)
        self.set(node, out, (0, 1, 2))
        self.may_take_bias(node, out, keep)

    def transposed_pads(
        self,
        node: wire.Node,
        size: Shape,
        kernel: tuple[int, int],
        stride: tuple[int, int],
        dilation: tuple[int, int],
        extra: tuple[int, ...],
    ) -> tuple[int, int, int, int]:
        """ConvTranspose's pads (begin H, begin W, end H, end W): given, or (ONNX's rule) worked out from
        ``output_shape`` or from ``auto_pad`` SAME (an output of ``in * stride``)."""
        auto = node.attributes.get("auto_pad", "NOTSET") or "NOTSET"
        wanted = node.attributes.get("output_shape")
        if wanted is None and auto not in ("SAME_UPPER", "SAME_LOWER"):
            pads = tuple(int(p) for p in node.attributes.get("pads", (0, 0, 0, 0)))
            if len(pads) != 4:
                raise SpecFileError(f"{self.where(node)}: pads {list(pads)} for a 2-D window")
            return (pads[0], pads[1], pads[2], pads[3])
        if wanted is not None:
            out = [int(v) for v in wanted[-2:]]
        else:
            out = [n * s for n, s in zip(size, stride, strict=True)]
        begin, end = [], []
        for i in range(2):
            total = stride[i] * (size[i] - 1) + extra[i] + (kernel[i] - 1) * dilation[i] + 1 - out[i]
            if total < 0:
                raise Unmappable("ConvTranspose whose output_shape is larger than its full output")
            small = total // 2
            begin.append(small if auto == "SAME_UPPER" else total - small)
            end.append(total - small if auto == "SAME_UPPER" else small)
        return (begin[0], begin[1], end[0], end[1])

    def map_gemm(self, index: int, node: wire.Node) -> None:
        a = node.attributes
        if int(a.get("transA", 0)) or node.inputs[0] not in self.acts:
            raise Unmappable("Gemm whose first operand is not the network's tensor")
        x = self.act(node)
        b = self.weight(node, 1, "B")
        if len(b.shape) != 2 or len(x.axes) != 1:
            raise Unmappable("Gemm on tensors that are not matrices")
        k, units = b.shape[::-1] if int(a.get("transB", 0)) else b.shape
        if k != self.shapes[x.tensor][0]:
            raise GeometryError(f"a B of shape {list(b.shape)} for {self.shapes[x.tensor][0]} inputs")
        if len(node.inputs) > 2 and node.inputs[2]:
            c = self.weight(node, 2, "C")
            if values.size(c.shape) != units or (len(c.shape) == 2 and c.shape[0] != 1):
                raise Unmappable("Gemm whose C is not one bias per output")
        keep, holds = self.with_bias(self.held(b), self.bias_input(node, 2, units))
        out = self.add(node, Dense(units, bias=keep), [x.tensor], holds=holds)
        self.set(node, out, (0,))
        self.may_take_bias(node, out, keep)

    def map_matmul(self, index: int, node: wire.Node) -> None:
        first, second = (*node.inputs, "", "")[:2]
        if first in self.acts and second in self.acts:
            raise Unmappable("MatMul of two of the network's tensors (attention)")
        if first not in self.acts:
            raise Unmappable("MatMul with the weight first")
        x = self.act(node)
        w = self.weight(node, 1, "weight")
        if len(w.shape) != 2:
            raise Unmappable("MatMul with a weight that is not a matrix")
        if x.axes[-1] != 0:
            raise Unmappable("MatMul over an axis other than the channels")
        k, units = w.shape
        if k != self.shapes[x.tensor][0]:
            raise GeometryError(f"a weight of shape {list(w.shape)} for {self.shapes[x.tensor][0]} inputs")
        out = self.add(node, Dense(units, bias=False), [x.tensor], holds=self.held(w))
        self.set(node, out, x.axes)
        self.may_take_bias(node, out, False)

    # ---------------------------------------------------- normalisation and activations

    def map_batchnorm(self, index: int, node: wire.Node) -> None:
        x = self.act(node)
        if x.axes[0] != 0:
            raise Unmappable("BatchNormalization whose axis 1 is not the channels")
        if any(self.used(node, i) for i in range(1, len(node.outputs))):
            raise Unmappable("BatchNormalization in training mode")
        channels = self.shapes[x.tensor][0]
        holds: list[str] = []
        # BatchNorm declares gamma, beta, the moving mean and variance: ONNX's scale, B, mean, var
        for position, what in ((1, "scale"), (2, "B"), (3, "mean"), (4, "var")):
            const = self.weight(node, position, what)
            if values.size(const.shape) != channels:
                raise SpecFileError(
                    f"{self.where(node)}: a {what} of shape {list(const.shape)} for {channels} channels"
                )
            holds += self.held(const)
        self.set(node, self.add(node, BatchNorm(), [x.tensor], holds=holds), x.axes)

    def map_layer_norm(self, index: int, node: wire.Node) -> None:
        x = self.act(node)
        rank = len(x.axes) + 1
        axis = int(node.attributes.get("axis", -1)) % rank
        if axis != rank - 1:
            raise Unmappable("LayerNormalization over more than the last axis")
        channels = self.onnx_shape(x)[axis]
        holds: list[str] = []
        for position, what in ((1, "scale"), (2, "B")):
            if position < len(node.inputs) and node.inputs[position]:
                const = self.weight(node, position, what)
                if values.size(const.shape) != channels:
                    raise SpecFileError(f"{self.where(node)}: a {what} of shape {list(const.shape)}")
                holds += self.held(const)
        center = len(node.inputs) > 2 and bool(node.inputs[2])
        layer = LayerNorm(axis=self.axis(node, x, axis), center=center, scale=True)
        self.set(node, self.add(node, layer, [x.tensor], holds=holds), x.axes)

    def map_instance_norm(self, index: int, node: wire.Node) -> None:
        """InstanceNormalization (per-channel scale and B) and GroupNormalization (opset 21's per-channel
        scale and bias; opset 18's one per group is refused)."""
        x = self.act(node)
        if x.axes[0] != 0 or len(x.axes) != 3:
            raise Unmappable(f"{node.op_type} of a tensor that is not an NCHW map")
        channels = self.shapes[x.tensor][0]
        holds: list[str] = []
        for position, what in ((1, "scale"), (2, "bias")):
            const = self.weight(node, position, what)
            if values.size(const.shape) != channels:
                raise Unmappable(
                    f"{node.op_type} with a {what} of {values.size(const.shape)} values for {channels} channels"
                )
            holds += self.held(const)
        if node.op_type == "InstanceNormalization":
            layer: Layer = InstanceNorm(affine=True)
        else:
            groups = int(node.attributes.get("num_groups", 0))
            if groups < 1 or channels % groups:
                raise SpecFileError(f"{self.where(node)}: num_groups {groups} for {channels} channels")
            layer = GroupNorm(groups)
        self.set(node, self.add(node, layer, [x.tensor], holds=holds), x.axes)

    def map_prelu(self, index: int, node: wire.Node) -> None:
        """PRelu: a slope per channel, per value, or one for all (its tensor broadcast against x)."""
        x = self.act(node)
        const = self.weight(node, 1, "slope")
        slope = self.per_sample(node, x, const.shape)
        shape = self.shapes[x.tensor]
        if slope == shape:
            shared = "element"
        elif elements(slope) == 1:
            shared = "single"
        elif slope == (shape[0],) + (1,) * (len(shape) - 1):
            shared = "channel"
        else:
            raise Unmappable("PRelu with a slope shared along some axes only")
        self.set(node, self.add(node, PReLU(shared), [x.tensor], holds=self.held(const)), x.axes)

    def activation(self, node: wire.Node, function: str, x: Act) -> None:
        if function not in ACTIVATIONS:
            raise Unmappable(f"operator {node.op_type} (no '{function}' activation in this convcost)")
        self.set(node, self.add(node, Activation(function), [x.tensor]), x.axes)

    def map_activation(self, index: int, node: wire.Node) -> None:
        x = self.act(node)
        if not self.swish(node, x):
            self.activation(node, UNARY_ACTIVATIONS[node.op_type], x)

    def swish(self, node: wire.Node, x: Act) -> bool:
        """``x * Sigmoid(x)`` is SiLU, ``x * HardSigmoid(x)`` hard-swish (how HardSwish is written before
        opset 14): the gate makes no node, the Mul is the activation."""
        if node.op_type not in ("Sigmoid", "HardSigmoid"):
            return False
        reader = self.only_reader(node.outputs[0])
        if reader is None:
            return False
        mul = self.nodes[reader[0]]
        if mul.op_type != "Mul" or len(mul.inputs) != 2 or mul.inputs[1 - reader[1]] != node.inputs[0]:
            return False
        if node.op_type == "HardSigmoid":
            alpha, beta = float(node.attributes.get("alpha", 0.2)), float(node.attributes.get("beta", 0.5))
            if not (math.isclose(alpha, 1 / 6, rel_tol=1e-6) and beta == 0.5):
                return False
        self.ends_in_activation(reader[0], "silu" if node.op_type == "Sigmoid" else "hard_swish", node.inputs[0])
        self.alias(node, x)  # only the Mul reads the gate, and the Mul is the activation
        return True

    def ends_in_activation(self, index: int, function: str, x: str) -> None:
        self.patterns[index] = lambda node: self.activation(node, function, self.acts[x])

    def erf_gelu(self, index: int, node: wire.Node, divisor: str) -> bool:
        """GELU written out, as TorchScript exports it before opset 20: ``x / sqrt(2) -> Erf -> + 1 ->
        * x -> * 0.5``. The last Mul is the activation; the others make no node."""
        x = node.inputs[0]
        if not _number(self.value(divisor), math.sqrt(2)) or node.inputs[1] != divisor:
            return False
        chain = [index]
        steps = (("Erf", None), ("Add", 1.0), ("Mul", x), ("Mul", 0.5))
        tensor = node.outputs[0]
        for op, other in steps:
            reader = self.only_reader(tensor)
            if reader is None or self.nodes[reader[0]].op_type != op:
                return False
            step = self.nodes[reader[0]]
            if other is not None:
                rest = step.inputs[1 - reader[1]] if len(step.inputs) == 2 else ""
                if rest != other and not (isinstance(other, float) and _number(self.value(rest), other)):
                    return False
            chain.append(reader[0])
            tensor = step.outputs[0]
        self.inside.update(chain[1:-1])
        self.ends_in_activation(chain[-1], "gelu", x)
        self.alias(node, self.acts[x])
        return True

    def map_clip(self, index: int, node: wire.Node) -> None:
        x = self.act(node)
        bounds = [None, self.optional(node, 1, "min"), self.optional(node, 2, "max")]
        low, high = values.clip_bounds(node.attributes, bounds, self.opset)
        if (low, high) == (0, 6):
            self.activation(node, "relu6", x)
        elif (low, high) == (0, math.inf):
            self.activation(node, "relu", x)
        else:
            raise Unmappable(f"Clip to [{low:g}, {high:g}] (only ReLU and ReLU6)")

    def map_softmax(self, index: int, node: wire.Node) -> None:
        x = self.act(node)
        rank = len(x.axes) + 1
        axis = int(node.attributes.get("axis", -1 if self.opset >= 13 else 1)) % rank
        # before opset 13 Softmax normalises over every axis from ``axis`` on
        covered = [axis] if self.opset >= 13 else list(range(axis, rank))
        if len(covered) != 1 or self.axis(node, x, covered[0]) != 0:
            raise Unmappable("Softmax over an axis other than the channels")
        self.activation(node, "softmax", x)

    def map_gelu(self, index: int, node: wire.Node) -> None:
        tanh = node.attributes.get("approximate", "none") == "tanh"
        self.activation(node, "gelu_tanh" if tanh else "gelu", self.act(node))

    def map_arithmetic(self, index: int, node: wire.Node) -> None:
        names = [n for n in node.inputs if n]
        acts = [self.acts[n] for n in names if n in self.acts]
        consts = [n for n in names if n not in self.acts]
        if not consts:
            self.merge(node, acts)
            return
        if len(names) != 2 or node.op_type not in ARITHMETIC:
            raise Unmappable(f"{node.op_type} of the network's tensor and constants")
        if node.op_type == "Add" and self.fold_bias(node, acts[0], consts[0]):
            return
        if node.op_type == "Div" and self.erf_gelu(index, node, consts[0]):
            return
        self.with_constant(node, acts[0], consts[0], reverse=names[0] == consts[0])

    def merge(self, node: wire.Node, acts: list[Act]) -> None:
        if len(acts) == 1:
            self.alias(node, acts[0])
            return
        if any(a.axes != acts[0].axes for a in acts):
            raise Unmappable(f"{node.op_type} of tensors in different layouts")
        if len({len(a.axes) for a in acts}) != 1:
            raise Unmappable(f"{node.op_type} of tensors of different ranks")
        if (kind := MERGES.get(node.op_type)) is None:
            raise Unmappable(f"{node.op_type} of two of the network's tensors")
        self.set(node, self.add(node, kind(), [a.tensor for a in acts]), acts[0].axes)

    def with_constant(self, node: wire.Node, x: Act, name: str, reverse: bool) -> None:
        """An activation and a constant: a number (ScalarOp), or a tensor of weights (WeightOp)."""
        const = self.consts[name]
        shape = self.per_sample(node, x, const.shape)
        op = ARITHMETIC[node.op_type]
        if reverse and op in ("subtract", "divide"):
            op = "r" + op
        value = self.value(name)
        if elements(shape) == 1 and value is not None:
            number = float(value.data[0])
            if (op in ("add", "subtract") and number == 0) or (op in ("multiply", "divide", "power") and number == 1):
                self.alias(node, x)  # x + 0, x * 1: exporters leave such no-ops in
                return
            if not math.isfinite(number) or (op == "divide" and number == 0):
                raise Unmappable(f"{node.op_type} by {number:g}")
            self.set(node, self.add(node, ScalarOp(op, number), [x.tensor]), x.axes)
            return
        holds = self.held(const)
        if not holds or op in ("power", "maximum", "minimum"):
            raise Unmappable(f"{node.op_type} with a tensor of constants (only +, -, *, / take weights)")
        self.set(node, self.add(node, WeightOp(op, shape), [x.tensor], holds=holds), x.axes)

    # ---------------------------------------------------- pooling

    def map_pool(self, index: int, node: wire.Node) -> None:
        tensor = self.channels_first(node, self.act(node))
        shape = self.shapes[tensor]
        a = node.attributes
        kernel = tuple(int(k) for k in a.get("kernel_shape", ()))
        if len(kernel) != 2 or len(shape) != 3:
            raise Unmappable(f"{node.op_type} over {len(kernel)} axes (only 2-D)")
        if self.used(node, 1):
            raise Unmappable("MaxPool's indices")
        if _pair(node, "dilations") != (1, 1):
            raise Unmappable(f"{node.op_type} with dilation")
        pool = (kernel[0], kernel[1])
        stride = _pair(node, "strides")
        padding = self.window_padding(node, shape[1:], pool, stride, (1, 1))
        ceil = bool(int(a.get("ceil_mode", 0)))
        layer: Layer
        if node.op_type == "MaxPool":
            layer = MaxPool2D(pool, stride=stride, padding=padding, ceil_mode=ceil)
        else:
            # ONNX leaves the padding out of the mean unless count_include_pad says otherwise
            include = bool(int(a.get("count_include_pad", 0)))
            layer = AvgPool2D(pool, stride=stride, padding=padding, ceil_mode=ceil, count_include_pad=include)
        self.set(node, self.add(node, layer, [tensor]), (0, 1, 2))

    def map_global_pool(self, index: int, node: wire.Node) -> None:
        x = self.act(node)
        if len(x.axes) != 3 or x.axes[0] != 0:
            raise Unmappable(f"{node.op_type} of a tensor that is not an NCHW map")
        self.global_pool(node, x, "max" if node.op_type == "GlobalMaxPool" else "mean", keep=True)

    def global_pool(self, node: wire.Node, x: Act, reduce: str, keep: bool) -> None:
        layer: Layer = GlobalMaxPool2D(keepdims=keep) if reduce == "max" else GlobalAvgPool2D(keepdims=keep)
        self.set(node, self.add(node, layer, [x.tensor]), x.axes if keep else (0,))

    def map_reduce(self, index: int, node: wire.Node) -> None:
        """ReduceMean (ReduceMax) over the two spatial axes is a global average (max) pool."""
        x = self.act(node)
        rank = len(x.axes) + 1
        axes = values.reduce_axes(node.attributes, [None, self.optional(node, 1, "axes")], rank)
        if rank != 4 or axes is None or len(axes) != 2 or sorted(self.axis(node, x, a) for a in axes) != [1, 2]:
            raise Unmappable(f"{node.op_type} over axes other than height and width")
        keep = bool(int(node.attributes.get("keepdims", 1)))
        self.global_pool(node, x, "max" if node.op_type == "ReduceMax" else "mean", keep)

    # ---------------------------------------------------- moving values

    def map_identity(self, index: int, node: wire.Node) -> None:
        self.alias(node, self.act(node))

    def map_cast_like(self, index: int, node: wire.Node) -> None:
        """CastLike(x, like): a constant cast to the network's type stays a constant."""
        if node.inputs[0] in self.acts:
            self.alias(node, self.act(node))
            return
        const, like = self.consts[node.inputs[0]], self.acts[node.inputs[1]]
        value = self.value(node.inputs[0])
        if value is not None:
            value = Value(value.shape, tuple(values.cast_to(v, like.dtype) for v in value.data), like.dtype)
        self.consts[node.outputs[0]] = Const(const.shape, like.dtype, value=value, weights=const.weights)

    def map_shape(self, index: int, node: wire.Node) -> None:
        self.consts[node.outputs[0]] = self.shape_of(node, self.onnx_shape(self.act(node)))

    def map_transpose(self, index: int, node: wire.Node) -> None:
        """A Transpose changes the layout only: no node."""
        x = self.act(node)
        rank = len(x.axes) + 1
        perm = tuple(int(p) for p in node.attributes.get("perm") or tuple(range(rank))[::-1])
        if sorted(perm) != list(range(rank)):
            raise SpecFileError(f"{self.where(node)}: perm {list(perm)} for a tensor of rank {rank}")
        if perm[0] != 0:
            raise Unmappable("Transpose that moves the batch axis")
        self.set(node, x.tensor, tuple(x.axes[p - 1] for p in perm[1:]))

    def map_reshape(self, index: int, node: wire.Node) -> None:
        """Reshape / Flatten / Squeeze / Unsqueeze: nothing when the per-sample shape stays, a Flatten
        to a vector, a Reshape otherwise (of the tensor in ONNX's axis order)."""
        x = self.act(node)
        onnx_in = self.onnx_shape(x)
        second = None
        if node.op_type in ("Reshape", "Squeeze", "Unsqueeze") and not {"shape", "axes"} & set(node.attributes):
            second = self.optional(node, 1, "target shape" if node.op_type == "Reshape" else "axes")
        if node.op_type == "Unsqueeze":
            new = list(node.attributes["axes"]) if "axes" in node.attributes else (second.ints if second else [])
            if len(new) == 1 and self.keras_upsampling(index, node, x, int(new[0]) % (len(onnx_in) + 1)):
                return
        target = values.reshaped(node.op_type, node.attributes, onnx_in, second)
        if not target or target[0] != self.batch:
            raise Unmappable(f"{node.op_type} that changes the batch axis")
        per_sample = target[1:]
        if per_sample == onnx_in[1:]:
            self.alias(node, x)
        elif not per_sample:
            raise Unmappable(f"{node.op_type} to one value per sample")
        elif len(per_sample) == 1:
            if len(self.shapes[x.tensor]) == 1:
                self.alias(node, x)
            else:
                self.set(node, self.add(node, Flatten(), [x.tensor]), (0,))
        elif (unit := self.unit_axes(x, per_sample)) is not None:
            shape, axes = unit
            if shape == self.shapes[x.tensor]:
                self.set(node, x.tensor, axes)
            else:
                self.set(node, self.add(node, Reshape(shape), [x.tensor]), axes)
        else:
            tensor = self.channels_first(node, x)
            self.set(node, self.add(node, Reshape(per_sample), [tensor]), tuple(range(len(per_sample))))

    def unit_axes(self, x: Act, per_sample: Shape) -> tuple[Shape, tuple[int, ...]] | None:
        """A reshape that only adds or drops axes of size 1 (a squeeze-excite gate viewed as
        ``(C, 1, 1)``, or as NHWC ``(1, 1, C)``): the convcost shape and layout of its output, the
        other axes kept in convcost's order (channels first), the new ones after them. None when the
        reshape moves values between axes."""
        onnx_in = self.onnx_shape(x)[1:]
        kept_in = [i for i, d in enumerate(onnx_in) if d != 1]
        kept_out = [j for j, d in enumerate(per_sample) if d != 1]
        if [onnx_in[i] for i in kept_in] != [per_sample[j] for j in kept_out]:
            return None
        axes = [0] * len(per_sample)
        by_convcost_axis = sorted(range(len(kept_in)), key=lambda k: x.axes[kept_in[k]])
        for position, k in enumerate(by_convcost_axis):
            axes[kept_out[k]] = position
        for n, j in enumerate(j for j, d in enumerate(per_sample) if d == 1):
            axes[j] = len(kept_out) + n
        target = [0] * len(per_sample)
        for j, a in enumerate(axes):
            target[a] = per_sample[j]
        return tuple(target), tuple(axes)

    def map_slice(self, index: int, node: wire.Node) -> None:
        """Slice of the network's tensor: a ``Cropping2D`` of height and width (step 1), else one
        ``Slice`` per axis it cuts."""
        x = self.act(node)
        onnx_shape = self.onnx_shape(x)
        if self.opset < 10 or "starts" in node.attributes:
            arguments = values.slice_arguments(node.attributes, [], self.opset)
        else:
            given = [None] + [
                self.optional(node, i, what) for i, what in enumerate(("starts", "ends", "axes", "steps"), 1)
            ]
            if given[1] is None or given[2] is None:
                raise SpecFileError(f"{self.where(node)}: Slice needs its starts and ends")
            arguments = values.slice_arguments(node.attributes, given, self.opset)
        cuts: dict[int, range] = {}
        for onnx_axis, taken in enumerate(values.slice_ranges(onnx_shape, *arguments)):
            if taken == range(onnx_shape[onnx_axis]):
                continue
            if onnx_axis == 0:
                raise Unmappable("Slice of the batch axis")
            if taken.step < 0:
                raise Unmappable("Slice with a negative step (a reversal)")
            cuts[x.axes[onnx_axis - 1]] = taken
        if not cuts:
            self.alias(node, x)
            return
        shape = self.shapes[x.tensor]
        if len(shape) == 3 and set(cuts) <= {1, 2} and all(r.step == 1 for r in cuts.values()):
            sides = [(r.start, shape[a] - r.stop) for a in (1, 2) for r in [cuts.get(a, range(shape[a]))]]
            self.set(node, self.add(node, Cropping2D((sides[0], sides[1])), [x.tensor]), x.axes)
            return
        tensor = x.tensor
        for axis, taken in sorted(cuts.items()):
            tensor = self.slice(node, tensor, axis, taken.start, taken.stop, taken.step, suffix=f"axis{axis}")
        self.set(node, tensor, x.axes)

    def slice(
        self, node: wire.Node, tensor: str, axis: int, start: int, stop: int, step: int = 1, suffix: str = ""
    ) -> str:
        """A ``Slice`` layer of one axis of a convcost tensor."""
        return self.add(node, Slice(axis, start, stop, step), [tensor], suffix=suffix)

    def map_split(self, index: int, node: wire.Node) -> None:
        """Split (and dynamo's SplitToSequence): one Slice layer per part, along the split axis."""
        x = self.act(node)
        onnx_shape = self.onnx_shape(x)
        onnx_axis = int(node.attributes.get("axis", 0)) % len(onnx_shape)
        axis = self.axis(node, x, onnx_axis)
        length = onnx_shape[onnx_axis]
        given = self.optional(node, 1, "split")
        if node.op_type == "SplitToSequence":
            if given is None:
                raise Unmappable("SplitToSequence into single slices (without split)")
            sizes = given.ints
            if len(sizes) == 1:  # one size: chunks of it, the last one shorter
                sizes = [min(sizes[0], length - start) for start in range(0, length, max(sizes[0], 1))]
            if sum(sizes) != length or any(s < 1 for s in sizes):
                raise SpecFileError(f"{self.where(node)}: split {given.ints} of a length {length}")
        else:
            sizes = values.split_sizes(node.attributes, [None, given], length, len(node.outputs))
        parts: list[tuple[Act, int, int, int]] = []
        start = 0
        for size in sizes:
            parts.append((x, axis, start, start + size))
            start += size
        if node.op_type == "SplitToSequence":
            self.sequences[node.outputs[0]] = parts
            self.sequence_names.add(node.outputs[0])
            return
        for position, (_, _, begin, end) in enumerate(parts):
            if self.used(node, position):
                self.set(node, self.slice(node, x.tensor, axis, begin, end, suffix=str(position)), x.axes, position)

    def map_sequence_at(self, index: int, node: wire.Node) -> None:
        parts = self.sequences.get(node.inputs[0])
        if parts is None:
            raise Unmappable("SequenceAt of a sequence convcost did not make")
        position = int(self.needed(node, 1, "position").scalar())
        if not -len(parts) <= position < len(parts):
            raise SpecFileError(f"{self.where(node)}: position {position} of a sequence of {len(parts)}")
        x, axis, begin, end = parts[position]
        self.set(node, self.slice(node, x.tensor, axis, begin, end), x.axes)

    def map_resize(self, index: int, node: wire.Node) -> None:
        """Resize / Upsample of height and width: ``UpSampling2D`` by whole factors given as scales,
        ``Resize`` to the size otherwise."""
        x = self.act(node)
        onnx_in = self.onnx_shape(x)
        a = node.attributes
        scales: list[float] | None = None
        sizes: list[int] | None = None
        if node.op_type == "Upsample" or self.opset == 10:
            scales = list(a["scales"]) if "scales" in a else [float(v) for v in self.needed(node, 1, "scales").data]
        else:
            given_sizes = self.optional(node, 3, "sizes")
            given_scales = self.optional(node, 2, "scales")
            if given_sizes is not None and given_sizes.data:
                sizes = given_sizes.ints
            elif given_scales is not None and given_scales.data:
                scales = [float(v) for v in given_scales.data]
            else:
                raise SpecFileError(f"{self.where(node)}: Resize with neither scales nor sizes")
        axes = [int(v) % len(onnx_in) for v in a.get("axes", range(len(onnx_in)))]
        factors = sizes if sizes is not None else scales or []
        if len(factors) != len(axes):
            raise SpecFileError(f"{self.where(node)}: {len(factors)} scales or sizes for {len(axes)} axes")
        out = list(onnx_in)
        for onnx_axis, factor in zip(axes, factors, strict=True):
            out[onnx_axis] = int(factor) if sizes is not None else math.floor(onnx_in[onnx_axis] * factor)
        changed = {self.axis(node, x, k) for k in range(len(out)) if out[k] != onnx_in[k]}
        if len(x.axes) != 3 or not changed <= {1, 2}:
            raise Unmappable(f"{node.op_type} of axes other than height and width")
        mode = a.get("mode", "nearest") or "nearest"
        if mode not in ("nearest", "linear", "bilinear"):
            raise Unmappable(f"{node.op_type} in mode {mode!r}")
        interpolation = "nearest" if mode == "nearest" else "bilinear"
        corners = interpolation == "bilinear" and a.get("coordinate_transformation_mode") == "align_corners"
        shape = self.shapes[x.tensor]
        target = [shape[0], 0, 0]
        for k in range(1, len(out)):
            target[x.axes[k - 1]] = out[k]
        whole = (target[1] // shape[1], target[2] // shape[2])
        layer: Layer
        if scales is not None and all(t == f * s for t, f, s in zip(target[1:], whole, shape[1:], strict=True)):
            layer = UpSampling2D(whole, interpolation=interpolation, align_corners=corners)
        else:
            layer = Resize((target[1], target[2]), interpolation=interpolation, align_corners=corners)
        self.set(node, self.add(node, layer, [x.tensor]), x.axes)

    def keras_upsampling(self, index: int, node: wire.Node, x: Act, inserted: int) -> bool:
        """Keras' UpSampling2D on the torch backend: ``Unsqueeze`` a new axis after H (or W), ``Expand``
        it to the factor, ``Reshape`` the two into one: each row (column) repeated. The Reshape is an
        ``UpSampling2D`` along that axis; the other two make no node."""
        first = self.only_reader(node.outputs[0])
        if first is None or inserted < 2 or self.nodes[first[0]].op_type != "Expand":
            return False
        expand = self.nodes[first[0]]
        second = self.only_reader(expand.outputs[0])
        target = self.value(expand.inputs[1]) if len(expand.inputs) > 1 else None
        if second is None or target is None or self.nodes[second[0]].op_type != "Reshape":
            return False
        reshape = self.nodes[second[0]]
        wanted = self.value(reshape.inputs[1]) if len(reshape.inputs) > 1 else None
        onnx_shape = self.onnx_shape(x)
        unsqueezed = (*onnx_shape[:inserted], 1, *onnx_shape[inserted:])
        try:  # Expand broadcasts: its shape may give 1 for the sizes it keeps
            expanded = list(values.broadcast_shapes(unsqueezed, tuple(target.ints)))
        except EvaluationError:
            return False
        factor = expanded[inserted] if len(expanded) == len(unsqueezed) else 0
        repeated = list(onnx_shape)
        repeated[inserted - 1] *= max(factor, 1)
        if factor < 2 or expanded != [*unsqueezed[:inserted], factor, *unsqueezed[inserted + 1 :]] or wanted is None:
            return False
        try:
            merged = values.reshape_target(tuple(expanded), wanted.ints, bool(reshape.attributes.get("allowzero", 0)))
        except EvaluationError:
            return False
        axis = x.axes[inserted - 2]
        if list(merged) != repeated or axis not in (1, 2):
            return False
        layer = UpSampling2D((factor, 1) if axis == 1 else (1, factor))
        self.inside.update({index, first[0]})
        self.patterns[second[0]] = lambda end: self.set(end, self.add(end, layer, [x.tensor]), x.axes)
        self.alias(node, x)
        return True

    def map_pad(self, index: int, node: wire.Node) -> None:
        x = self.act(node)
        a = node.attributes
        rank = len(x.axes) + 1
        if self.opset < 11:
            pads = [int(p) for p in a.get("pads", ())]
            fill = float(a.get("value", 0.0))
        else:
            pads = self.needed(node, 1, "pads").ints
            given = self.optional(node, 2, "constant value")
            fill = float(given.scalar()) if given is not None else 0.0
        axes = list(range(rank))
        if len(node.inputs) > 3 and node.inputs[3]:
            axes = [v % rank for v in self.needed(node, 3, "axes").ints]
        if len(pads) != 2 * len(axes):
            raise SpecFileError(f"{self.where(node)}: {len(pads)} pads for {len(axes)} axes")
        amounts = {axis: (0, 0) for axis in range(rank - 1)}
        for i, onnx_axis in enumerate(axes):
            if (pads[i], pads[i + len(axes)]) != (0, 0):
                amounts[self.axis(node, x, onnx_axis)] = (pads[i], pads[i + len(axes)])
        if all(v == (0, 0) for v in amounts.values()):
            self.alias(node, x)
            return
        if rank != 4 or amounts[0] != (0, 0):
            raise Unmappable("Pad of axes other than height and width")
        if any(p < 0 for pair in amounts.values() for p in pair):
            raise Unmappable("Pad with negative amounts (cropping)")
        padding = (amounts[1], amounts[2])
        mode = a.get("mode", "constant") or "constant"
        if mode == "constant" and fill == 0.0:
            layer: Layer = ZeroPadding2D(padding)
        else:
            modes = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}
            if mode not in modes:
                raise Unmappable(f"Pad in {mode!r} mode")
            layer = Pad2D(padding, mode=modes[mode], value=fill)
        self.set(node, self.add(node, layer, [x.tensor]), x.axes)

    def map_concat(self, index: int, node: wire.Node) -> None:
        names = [n for n in node.inputs if n]
        if any(n not in self.acts for n in names):
            raise Unmappable("Concat of the network's tensors and constants")
        acts = [self.acts[n] for n in names]
        if any(a.axes != acts[0].axes for a in acts):
            raise Unmappable("Concat of tensors in different layouts")
        if len(acts) == 1:
            self.alias(node, acts[0])
            return
        if self.axis(node, acts[0], int(node.attributes.get("axis", 1))) != 0:
            raise Unmappable("Concat along an axis other than the channels")
        self.set(node, self.add(node, Concat(), [a.tensor for a in acts]), acts[0].axes)

    def map_dropout(self, index: int, node: wire.Node) -> None:
        x = self.act(node)
        if self.used(node, 1):
            raise Unmappable("Dropout's mask")
        given = self.optional(node, 1, "ratio")
        rate = float(given.scalar()) if given is not None else float(node.attributes.get("ratio", 0.5))
        self.set(node, self.add(node, Dropout(rate if 0 <= rate < 1 else 0.5), [x.tensor]), x.axes)


def _number(value: Value | None, expected: float) -> bool:
    """Whether a constant is the single number ``expected`` (to float32's precision)."""
    return value is not None and len(value.data) == 1 and math.isclose(float(value.data[0]), expected, rel_tol=1e-6)


__all__ = ["from_onnx"]
