"""spec <-> PyTorch: ``to_torch(model)`` builds an ``nn.Module``; ``from_torch(module, size)`` reads one.

``to_torch`` builds a ``GraphModule`` (``convcost.interop.torch_modules``) with one child module
per node, looked up in ``BUILDERS`` by layer kind. Standard torch modules are used wherever one
means the same thing, so the counting tools (torchinfo, fvcore, thop, ptflops) see the modules
they know. Where torch has no single module:

* Keras ``same`` padding that is not symmetric (stride 2 puts the odd pixel bottom/right) becomes
  a ``SamePadded`` container: ``nn.ZeroPad2d`` then the convolution with no padding of its own;
* ``SeparableConv2D`` is a ``SeparableConv2d`` container: depthwise conv (no bias), 1x1 conv;
* ``Dense`` on a feature map is a ``PixelwiseLinear`` container: ``nn.Linear`` on the channel axis;
* ``GlobalAvgPool2D`` without ``keepdims`` is ``GlobalAvgPool2d`` (adaptive average pool, flatten);
* a merge is ``Sum`` (``a + b + ...``) or ``ChannelConcat`` (``torch.cat`` along channels).

``from_torch`` reads any module by running its forward once on shape-only tensors
(``convcost.interop.capture``) and turning what ran into a graph (``convcost.interop.torch_reading``);
which layer kind each ATen op is (``RULES``, registered with ``maps``) is here, next to the
builders of the same kinds. What ``to_torch`` built reads back as the graph it was built from.
"""

from __future__ import annotations

import math
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from convcost.errors import MissingRuleError, SpecError, UnsupportedLayerError
from convcost.geometry import explicit_padding, window_output
from convcost.interop import require
from convcost.interop.torch_reading import Data, Fold, Merge, OpRule, Padded, Pending, Reading, Rows, Rules
from convcost.layer import ExplicitPadding, Layer, Pair, Shape, Site

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
from convcost.layers.transposed import torch_transposed
from convcost.model import Model

if TYPE_CHECKING:
    from convcost.interop.capture import ModuleCall, Op, PyCall, TensorRef

#: spec activation -> torch.nn class name (``linear`` is the identity)
_ACTIVATION_MODULES = {
    "linear": "Identity",
    "relu": "ReLU",
    "relu6": "ReLU6",
    "leaky_relu": "LeakyReLU",
    "elu": "ELU",
    "selu": "SELU",
    "gelu": "GELU",
    "silu": "SiLU",
    "swish": "SiLU",
    "hard_swish": "Hardswish",
    "hard_sigmoid": "Hardsigmoid",
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "softplus": "Softplus",
    "mish": "Mish",
    "gelu_tanh": "GELU",  # approximate="tanh"
}

L = TypeVar("L", bound=Layer)
#: ``(layer, site) -> nn.Module``: the torch module of one node
Builder = Callable[[Any, Site], Any]
BUILDERS: dict[type[Layer], Builder] = {}


def builds(kind: type[L]) -> Callable[[Callable[[L, Site], Any]], Callable[[L, Site], Any]]:
    """Register the decorated function as the torch builder of ``kind``."""

    def register(function: Callable[[L, Site], Any]) -> Callable[[L, Site], Any]:
        BUILDERS[kind] = function
        return function

    return register


# --------------------------------------------------------------------------------------------
# spec -> torch


def to_torch(model: Model) -> Any:
    """A ``GraphModule`` running the model's graph: one child per node, ``forward(*inputs)``."""
    require("torch", "torch")
    from convcost.interop.torch_modules import GraphModule

    modules: OrderedDict[str, Any] = OrderedDict()
    wiring: list[tuple[str, str, tuple[str, ...]]] = []
    keys: dict[str, str] = {}
    for s in model.shaped:
        kind = type(s.layer)
        if kind not in BUILDERS:
            raise MissingRuleError(f"to_torch has no module for {kind.__name__}")
        if s.node.shares:  # the owner's module, called again
            key = keys[s.node.shares]
        else:
            key = _module_key(s.path, modules)
            modules[key] = BUILDERS[kind](s.layer, s.site)
        keys[s.path] = key
        wiring.append((s.path, key, s.node.inputs))
    return GraphModule([i.name for i in model.inputs], modules, wiring, list(model.graph.outputs))


def _module_key(path: str, taken: dict[str, Any]) -> str:
    """A child name torch and the tools accept ('/' and '.' become '_', as in to_keras) that no other
    node has (fvcore reads '.'-separated module paths, and '/' breaks its scope names)."""
    base = path.replace("/", "_").replace(".", "_")
    key, n = base, 1
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def _nn() -> Any:
    import torch

    return torch.nn


def _modules() -> Any:
    from convcost.interop import torch_modules

    return torch_modules


@builds(Conv2D)
def _conv2d(layer: Conv2D, site: Site) -> Any:
    shape = site.input

    def conv(pad: Any) -> Any:
        return _nn().Conv2d(
            shape[0], layer.filters, layer.kernel, layer.stride, pad, layer.dilation, layer.groups, layer.bias
        )

    return _padded(layer.padding, shape, layer.kernel, layer.stride, layer.dilation, conv)


@builds(DepthwiseConv2D)
def _depthwise_conv2d(layer: DepthwiseConv2D, site: Site) -> Any:
    M = site.input[0]

    def conv(pad: Any) -> Any:
        return _nn().Conv2d(
            M, M * layer.depth_multiplier, layer.kernel, layer.stride, pad, layer.dilation, M, layer.bias
        )

    return _padded(layer.padding, site.input, layer.kernel, layer.stride, layer.dilation, conv)


@builds(SeparableConv2D)
def _separable_conv2d(layer: SeparableConv2D, site: Site) -> Any:
    nn, shape = _nn(), site.input
    M = shape[0] * layer.depth_multiplier
    pad = _torch_padding(layer.padding, shape, layer.kernel, layer.stride, layer.dilation)
    modules: OrderedDict[str, Any] = OrderedDict()
    if len(pad) != 2:
        modules["pad"] = nn.ZeroPad2d(pad)
    dw_pad = pad if len(pad) == 2 else 0
    modules["depthwise"] = nn.Conv2d(
        shape[0], M, layer.kernel, layer.stride, dw_pad, layer.dilation, shape[0], bias=False
    )
    modules["pointwise"] = nn.Conv2d(M, layer.filters, 1, bias=layer.bias)
    return _modules().SeparableConv2d(modules)


@builds(Dense)
def _dense(layer: Dense, site: Site) -> Any:
    if len(site.input) == 1:
        return _nn().Linear(site.input[0], layer.units, bias=layer.bias)
    return _modules().PixelwiseLinear(site.input[0], layer.units, layer.bias)


@builds(BatchNorm)
def _batch_norm(layer: BatchNorm, site: Site) -> Any:
    if layer.center != layer.scale:
        raise UnsupportedLayerError(
            f"layer '{layer.name}': torch BatchNorm has both gamma and beta or neither "
            f"(center={layer.center}, scale={layer.scale})"
        )
    nn = _nn()
    norm = nn.BatchNorm2d if len(site.input) == 3 else nn.BatchNorm1d
    return norm(site.input[0], affine=layer.center)


@builds(Activation)
def _activation(layer: Activation, site: Site) -> Any:
    nn = _nn()
    if layer.function == "softmax":
        return nn.Softmax(dim=1)
    if layer.function == "gelu_tanh":
        return nn.GELU(approximate="tanh")
    return getattr(nn, _ACTIVATION_MODULES[layer.function])()


@builds(MaxPool2D)
def _max_pool2d(layer: MaxPool2D, site: Site) -> Any:
    return _pool(layer, site)


@builds(AvgPool2D)
def _avg_pool2d(layer: AvgPool2D, site: Site) -> Any:
    return _pool(layer, site)


@builds(GlobalAvgPool2D)
def _global_avg_pool2d(layer: GlobalAvgPool2D, site: Site) -> Any:
    return _nn().AdaptiveAvgPool2d(1) if layer.keepdims else _modules().GlobalAvgPool2d()


@builds(Flatten)
def _flatten(layer: Flatten, site: Site) -> Any:
    return _nn().Flatten()


@builds(Dropout)
def _dropout(layer: Dropout, site: Site) -> Any:
    if layer.spatial:  # whole channels: Dropout2d on a map, Dropout1d on a sequence
        return (_nn().Dropout2d if len(site.input) == 3 else _nn().Dropout1d)(layer.rate)
    return _nn().Dropout(layer.rate)


@builds(Reshape)
def _reshape(layer: Reshape, site: Site) -> Any:
    return _modules().Reshape(layer.target)


@builds(ZeroPadding2D)
def _zero_padding2d(layer: ZeroPadding2D, site: Site) -> Any:
    (top, bottom), (left, right) = layer.padding
    return _nn().ZeroPad2d((left, right, top, bottom))


@builds(Add)
def _add(layer: Add, site: Site) -> Any:
    return _modules().Sum()


@builds(Concat)
def _concat(layer: Concat, site: Site) -> Any:
    return _modules().ChannelConcat()


@builds(WeightOp)
def _weight_op(layer: WeightOp, site: Site) -> Any:
    return _modules().WeightOperation(layer.op, layer.shape)


@builds(Unknown)
def _unknown(layer: Unknown, site: Site) -> Any:
    raise UnsupportedLayerError(f"layer '{layer.name}': an unknown operation ({layer.op}) cannot be built in torch")


def _torch_padding(padding: object, shape: Shape, kernel: Pair, stride: Pair, dilation: Pair) -> tuple[int, ...]:
    """torch ``padding=(ph, pw)`` when symmetric, else ``(left, right, top, bottom)`` for ZeroPad2d."""
    (top, bottom), (left, right) = explicit_padding(padding, (shape[1], shape[2]), kernel, stride, dilation)
    if top == bottom and left == right:
        return (top, left)
    return (left, right, top, bottom)


def _padded(padding: object, shape: Shape, kernel: Pair, stride: Pair, dilation: Pair, make: Any) -> Any:
    pad = _torch_padding(padding, shape, kernel, stride, dilation)
    if len(pad) == 2:
        return make(pad)
    return _modules().SamePadded(OrderedDict(pad=_nn().ZeroPad2d(pad), conv=make(0)))


def _pool(layer: MaxPool2D | AvgPool2D, site: Site) -> Any:
    nn, shape = _nn(), site.input
    pad = _torch_padding(layer.padding, shape, layer.pool, layer.stride, (1, 1))
    ceil = layer.ceil_mode
    if len(pad) != 2 and isinstance(layer, MaxPool2D):
        # Keras 'same' max pooling never picks a padded pixel: pad with -inf, then pool unpadded
        pool = nn.MaxPool2d(layer.pool, layer.stride, ceil_mode=ceil)
        left, right, top, bottom = pad
        padded = (shape[1] + top + bottom, shape[2] + left + right)
        _check_padded_ceil(layer, padded, layer.pool, layer.stride, ceil, site.output[1:])
        return _modules().SamePadded(OrderedDict(pad=nn.ConstantPad2d(pad, float("-inf")), pool=pool))
    if len(pad) != 2 or 2 * max(pad) > min(layer.pool):
        # torch pools pad symmetrically, at most half the window; an average over zeros would be wrong
        raise UnsupportedLayerError(
            f"layer '{layer.name}': torch pooling cannot pad {list(pad)} for a {list(layer.pool)} window"
        )
    if isinstance(layer, MaxPool2D):
        return nn.MaxPool2d(layer.pool, layer.stride, pad, ceil_mode=ceil)
    # Keras 'same' leaves the padding out of the mean; explicit padding is torch's own (counted)
    return nn.AvgPool2d(layer.pool, layer.stride, pad, ceil_mode=ceil, count_include_pad=layer.includes_padding)


def _check_padded_ceil(
    layer: Layer, padded: Shape, pool: Shape, stride: Shape, ceil_mode: bool, expected: Shape
) -> None:
    """A pool behind a pad module sees the padding as input: with ``ceil_mode`` its last window may
    then start in the far padding, which the layer (torch's rule on the unpadded input) drops."""
    got = tuple(
        window_output(layer, "axis", size, k, s, 1, (0, 0), ceil_mode)
        for size, k, s in zip(padded, pool, stride, strict=True)
    )
    if got != tuple(expected):
        raise UnsupportedLayerError(
            f"layer '{layer.name}': torch cannot pool this asymmetric padding with ceil_mode "
            f"(it would give {list(got)}, not {list(expected)})"
        )


# --------------------------------------------------------------------------------------------
# issue 12, family B: normalisation, pooling, 1-D convnets (spec -> torch)

from convcost.geometry import explicit_padding1d  # noqa: E402
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


def _gamma_and_beta(layer: Layer, center: bool, scale: bool, module: str) -> None:
    """torch's norms have gamma without beta (LayerNorm's ``bias=False``) but never beta alone."""
    if center and not scale:
        raise UnsupportedLayerError(
            f"layer '{layer.name}': torch {module} has no beta without gamma (center=True, scale=False)"
        )


@builds(LayerNorm)
def _layer_norm(layer: LayerNorm, site: Site) -> Any:
    _gamma_and_beta(layer, layer.center, layer.scale, "LayerNorm")
    axis = layer.normalised_axis(site.input)
    size = site.input[axis]
    if axis == len(site.input) - 1:  # the last axis: nn.LayerNorm as models write it
        return _nn().LayerNorm(size, elementwise_affine=layer.scale, bias=layer.center)
    return _modules().LayerNormOverAxis(axis + 1, size, layer.scale, layer.center)


@builds(GroupNorm)
def _group_norm(layer: GroupNorm, site: Site) -> Any:
    if layer.center != layer.scale:
        raise UnsupportedLayerError(
            f"layer '{layer.name}': torch GroupNorm has both gamma and beta or neither "
            f"(center={layer.center}, scale={layer.scale})"
        )
    return _nn().GroupNorm(layer.groups, site.input[0], affine=layer.center)


@builds(InstanceNorm)
def _instance_norm(layer: InstanceNorm, site: Site) -> Any:
    nn = _nn()
    norm = nn.InstanceNorm2d if len(site.input) == 3 else nn.InstanceNorm1d
    return norm(site.input[0], affine=layer.affine, track_running_stats=layer.track_running_stats)


@builds(GlobalMaxPool2D)
def _global_max_pool2d(layer: GlobalMaxPool2D, site: Site) -> Any:
    return _nn().AdaptiveMaxPool2d(1) if layer.keepdims else _modules().GlobalMaxPool2d()


@builds(AdaptiveAvgPool2D)
def _adaptive_avg_pool2d(layer: AdaptiveAvgPool2D, site: Site) -> Any:
    return _nn().AdaptiveAvgPool2d(layer.output)


@builds(AdaptiveMaxPool2D)
def _adaptive_max_pool2d(layer: AdaptiveMaxPool2D, site: Site) -> Any:
    return _nn().AdaptiveMaxPool2d(layer.output)


def _pool1d(layer: MaxPool1D | AvgPool1D, site: Site) -> Any:
    nn = _nn()
    left, right = explicit_padding1d(layer.padding, site.input[1], layer.pool, layer.stride, 1)
    if left != right and isinstance(layer, MaxPool1D):
        # Keras 'same' max pooling never picks a padded position: pad with -inf, then pool unpadded
        pool = nn.MaxPool1d(layer.pool, layer.stride, ceil_mode=layer.ceil_mode)
        padded = (site.input[1] + left + right,)
        _check_padded_ceil(layer, padded, (layer.pool,), (layer.stride,), layer.ceil_mode, site.output[1:])
        return _modules().SamePadded(OrderedDict(pad=nn.ConstantPad1d((left, right), float("-inf")), pool=pool))
    if left != right or 2 * left > layer.pool:
        raise UnsupportedLayerError(
            f"layer '{layer.name}': torch pooling cannot pad {[left, right]} for a window of {layer.pool}"
        )
    if isinstance(layer, MaxPool1D):
        return nn.MaxPool1d(layer.pool, layer.stride, left, ceil_mode=layer.ceil_mode)
    return nn.AvgPool1d(
        layer.pool, layer.stride, left, ceil_mode=layer.ceil_mode, count_include_pad=layer.includes_padding
    )


@builds(MaxPool1D)
def _max_pool1d(layer: MaxPool1D, site: Site) -> Any:
    return _pool1d(layer, site)


@builds(AvgPool1D)
def _avg_pool1d(layer: AvgPool1D, site: Site) -> Any:
    return _pool1d(layer, site)


@builds(GlobalAvgPool1D)
def _global_avg_pool1d(layer: GlobalAvgPool1D, site: Site) -> Any:
    return _nn().AdaptiveAvgPool1d(1) if layer.keepdims else _modules().GlobalAvgPool1d()


@builds(GlobalMaxPool1D)
def _global_max_pool1d(layer: GlobalMaxPool1D, site: Site) -> Any:
    return _nn().AdaptiveMaxPool1d(1) if layer.keepdims else _modules().GlobalMaxPool1d()


def _padded1d(layer: Conv1D | DepthwiseConv1D, site: Site, make: Callable[[int], Any]) -> Any:
    """The conv with torch's symmetric ``padding``, or behind an ``nn.ZeroPad1d`` (Keras ``same``
    at stride 2, ``causal``)."""
    left, right = explicit_padding1d(layer.padding, site.input[1], layer.kernel, layer.stride, layer.dilation)
    if left == right:
        return make(left)
    return _modules().SamePadded(OrderedDict(pad=_nn().ZeroPad1d((left, right)), conv=make(0)))


@builds(Conv1D)
def _conv1d(layer: Conv1D, site: Site) -> Any:
    def conv(pad: int) -> Any:
        return _nn().Conv1d(
            site.input[0], layer.filters, layer.kernel, layer.stride, pad, layer.dilation, layer.groups, layer.bias
        )

    return _padded1d(layer, site, conv)


@builds(DepthwiseConv1D)
def _depthwise_conv1d(layer: DepthwiseConv1D, site: Site) -> Any:
    M = site.input[0]

    def conv(pad: int) -> Any:
        return _nn().Conv1d(
            M, M * layer.depth_multiplier, layer.kernel, layer.stride, pad, layer.dilation, M, layer.bias
        )

    return _padded1d(layer, site, conv)


@builds(SeparableConv1D)
def _separable_conv1d(layer: SeparableConv1D, site: Site) -> Any:
    nn, M = _nn(), site.input[0]
    mid = M * layer.depth_multiplier
    left, right = explicit_padding1d(layer.padding, site.input[1], layer.kernel, layer.stride, layer.dilation)
    modules: OrderedDict[str, Any] = OrderedDict()
    if left != right:
        modules["pad"] = nn.ZeroPad1d((left, right))
    pad = left if left == right else 0
    modules["depthwise"] = nn.Conv1d(M, mid, layer.kernel, layer.stride, pad, layer.dilation, M, bias=False)
    modules["pointwise"] = nn.Conv1d(mid, layer.filters, 1, bias=layer.bias)
    return _modules().SeparableConv1d(modules)


# ---------------------------------------------------------------------------------- family A (issue 12)
# element-wise merges, arithmetic with a constant, preprocessing, learned scales, PReLU, identities;
# the modules are in ``torch_modules`` where torch has no standard one


@builds(Multiply)
def _multiply(layer: Multiply, site: Site) -> Any:
    return _modules().Product()


@builds(Subtract)
def _subtract(layer: Subtract, site: Site) -> Any:
    return _modules().Difference()


@builds(Divide)
def _divide(layer: Divide, site: Site) -> Any:
    return _modules().Quotient()


@builds(Maximum)
def _maximum(layer: Maximum, site: Site) -> Any:
    return _modules().ElementwiseMaximum()


@builds(Minimum)
def _minimum(layer: Minimum, site: Site) -> Any:
    return _modules().ElementwiseMinimum()


@builds(Average)
def _average(layer: Average, site: Site) -> Any:
    return _modules().Average()


@builds(ScalarOp)
def _scalar_op(layer: ScalarOp, site: Site) -> Any:
    return _modules().ScalarOp(layer.op, layer.value)


@builds(Rescaling)
def _rescaling(layer: Rescaling, site: Site) -> Any:
    return _modules().Rescaling(layer.scale, layer.offset, len(site.input))


@builds(Normalization)
def _normalization(layer: Normalization, site: Site) -> Any:
    rank = len(site.input)
    axis = layer.axis % rank
    return _modules().Normalization(site.input[axis], axis, rank, layer.invert, layer.mean, layer.variance)


@builds(LayerScale)
def _layer_scale(layer: LayerScale, site: Site) -> Any:
    rank = len(site.input)
    axis = layer.axis % rank
    return _modules().LayerScale(None if layer.scalar else site.input[axis], axis, rank)


@builds(PReLU)
def _prelu(layer: PReLU, site: Site) -> Any:
    if layer.shared == "element" and len(site.input) > 1:
        return _modules().ElementPReLU(site.input)
    # one slope per channel (a vector's values are its channels), or one for all
    return _nn().PReLU(1 if layer.shared == "single" else site.input[0])


@builds(Identity)
def _identity(layer: Identity, site: Site) -> Any:
    return _nn().Identity()


@builds(DropPath)
def _drop_path(layer: DropPath, site: Site) -> Any:
    return _modules().DropPath(layer.rate)


# --------------------------------------------------------------------------------------------
# torch -> spec: which layer kind each captured ATen op is (convcost.interop.torch_reading does the rest)

#: the op -> kind rules, module rules, call rules and folds ``from_torch`` reads with
RULES = Rules()


def maps(*targets: str) -> Callable[[OpRule], OpRule]:
    """Register the decorated function as the rule of these ATen ops (``aten.convolution.default``)."""

    def register(rule: OpRule) -> OpRule:
        for target in targets:
            RULES.ops[target] = rule
        return rule

    return register


def _overloads(*names: str) -> tuple[str, ...]:
    """``aten.relu`` -> its ``.default`` op and the in-place ``aten.relu_.default``."""
    return tuple(f"{name}{suffix}.default" for name in names for suffix in ("", "_"))


def _pair(value: Any) -> Pair:
    """An int, ``(v,)`` (torch broadcasts one value, as ``padding='valid'`` dispatches) or ``(h, w)``."""
    if isinstance(value, int):
        return (value, value)
    return (int(value[0]), int(value[0])) if len(value) == 1 else (int(value[0]), int(value[1]))


def _symmetric(padding: Any) -> ExplicitPadding:
    ph, pw = _pair(padding)
    return ((ph, ph), (pw, pw))


def _padded_input(op: Op, r: Reading, tensor: TensorRef, fill: float) -> tuple[Data | None, ExplicitPadding, int]:
    """The tensor an op reads and the padding to add to its own: an ``F.pad`` with ``fill`` in the same
    module call folds into the op (a conv's zeros, a max pool's -inf: timm's Conv2dSame, to_torch's
    SamePadded), anything else is read as it is (an ``nn.ZeroPad2d`` of its own stays a node).
    For a sequence the padding is ``((0, 0), (left, right))``."""
    ref = r.ref(tensor)
    axes = len(tensor.shape) - 2
    foldable = isinstance(ref, Padded) and ref.value == fill and len(ref.pad) == 2 * axes and min(ref.pad) >= 0
    if isinstance(ref, Padded) and foldable and ref.data.plain and r.same_scope(ref.op, op):
        left, right, *rest = ref.pad
        top, bottom = rest if rest else (0, 0)
        return ref.data, ((top, bottom), (left, right)), ref.op
    return r.plain(op, tensor), ((0, 0), (0, 0)), -1


def _add_padding(a: ExplicitPadding, b: ExplicitPadding) -> ExplicitPadding:
    return ((a[0][0] + b[0][0], a[0][1] + b[0][1]), (a[1][0] + b[1][0], a[1][1] + b[1][1]))


@maps("aten.convolution.default")
def _read_convolution(op: Op, r: Reading) -> None:
    x, w, bias = op["input"], op["weight"], op["bias"]
    if op["transposed"]:
        _read_transposed(op, r)
        return
    if len(x.shape) not in (3, 4):
        r.refuse(op, f"a {len(x.shape) - 2}-D convolution (convcost reads 1-D and 2-D ones)")
        return
    if r.weights(w) is None or (bias is not None and r.weights(bias) is None):
        r.refuse(op, "its weight is computed from the network's input")
        return
    data, extra, pad_op = _padded_input(op, r, x, 0.0)
    if data is None:
        return
    if len(x.shape) == 3:
        p = _one(op["padding"], 0)
        layer: Layer = Conv1D(
            w.shape[0],
            w.shape[2],
            stride=_one(op["stride"], 1),
            padding=(p + extra[1][0], p + extra[1][1]),
            dilation=_one(op["dilation"], 1),
            groups=op["groups"],
            bias=bias is not None,
        )
        r.node(op, layer, [data], absorb=[pad_op] if pad_op >= 0 else [])
        return
    layer = Conv2D(
        w.shape[0],
        _pair(w.shape[2:]),
        stride=_pair(op["stride"]),
        padding=_add_padding(_symmetric(op["padding"]), extra),
        dilation=_pair(op["dilation"]),
        groups=op["groups"],
        bias=bias is not None,
    )
    r.node(op, layer, [data], absorb=[pad_op] if pad_op >= 0 else [])


@maps("aten.addmm.default", "aten.mm.default")
def _read_linear(op: Op, r: Reading) -> None:
    with_bias = op.target == "aten.addmm.default"
    rows, weight = (op["mat1"] if with_bias else op["self"]), op["mat2"]
    if r.weights(weight) is None:
        r.refuse(op, "a product of two tensors of the network (convcost has no MatMul kind yet)")
        return
    units = weight.shape[1]
    if with_bias:
        bias = op["self"]
        if r.weights(bias) is None or op["beta"] != 1 or op["alpha"] != 1 or tuple(bias.shape) not in ((units,),):
            r.refuse(op, "addmm with a bias that is not a weight of shape (units,), or with beta / alpha")
            return
    layer = Dense(units, bias=with_bias)
    ref = r.ref(rows)
    if isinstance(ref, Rows):
        axes = ref.data.axes or tuple(range(len(ref.lead) + 1))
        if axes[-1] == 0:
            r.node(op, layer, [ref.data], axes=ref.data.axes, rows=ref.lead)
            return
        if math.prod(ref.lead) != 1:
            r.refuse(op, "a linear layer on an axis other than the channels (Dense acts on channels)")
            return
    data = r.plain(op, rows)
    if data is not None:
        r.node(op, layer, [data])


_NORM_ANY = ("aten.native_batch_norm.default", "aten._native_batch_norm_legit_no_training.default")


@maps(*_NORM_ANY, "aten._native_batch_norm_legit.default", "aten._native_batch_norm_legit.no_stats")
def _read_batch_norm(op: Op, r: Reading) -> None:
    data = r.plain(op, op["input"])
    if data is None:
        return
    if len(r.shape(data)) not in (1, 2, 3):
        r.refuse(op, f"a batch norm over a rank-{len(r.shape(data)) + 1} tensor")
        return
    scale, center = op["weight"] is not None, op["bias"] is not None
    r.node(op, BatchNorm(center=center, scale=scale), [data])


@maps("aten.native_layer_norm.default")
def _read_layer_norm(op: Op, r: Reading) -> None:
    """LayerNorm over the last torch axis (ConvNeXt's channels-last nn.LayerNorm, a LayerNorm2d that
    permutes first): the graph axis it is, whatever the permutation."""
    x = op["input"]
    data = r.data(x)
    if data is None or len(op["normalized_shape"]) != 1:
        r.refuse(op, f"a layer norm over {len(op['normalized_shape'])} axes (convcost's is over one)")
        return
    axes = data.axes or tuple(range(len(x.shape) - 1))
    layer = LayerNorm(axis=axes[-1], center=op["bias"] is not None, scale=op["weight"] is not None)
    r.node(op, layer, [Data(data.tensor)], axes=data.axes)


@maps("aten.native_group_norm.default")
def _read_group_norm(op: Op, r: Reading) -> None:
    data = r.plain(op, op["input"])
    if data is not None:
        layer = GroupNorm(op["group"], center=op["bias"] is not None, scale=op["weight"] is not None)
        r.node(op, layer, [data])


#: ATen activation -> convcost activation function (in-place forms too)
_ACTIVATION_OPS = {
    "aten.relu": "relu",
    "aten.silu": "silu",
    "aten.sigmoid": "sigmoid",
    "aten.tanh": "tanh",
    "aten.hardswish": "hard_swish",
    "aten.hardsigmoid": "hard_sigmoid",
    "aten.leaky_relu": "leaky_relu",
    "aten.elu": "elu",
    "aten.selu": "selu",
    "aten.mish": "mish",
}


def _activation_node(op: Op, r: Reading, function: str) -> None:
    data = r.data(op.inputs[0])
    if data is None:
        r.refuse(op, "its input is not a tensor of the network")
        return
    # an element-wise function keeps any axis order
    r.node(op, Activation(function), [Data(data.tensor)], axes=data.axes)


@maps(*_overloads(*_ACTIVATION_OPS))
def _read_activation(op: Op, r: Reading) -> None:
    _activation_node(op, r, _ACTIVATION_OPS[op.name.rstrip("_")])


@maps(*_overloads("aten.gelu"))
def _read_gelu(op: Op, r: Reading) -> None:
    if op["approximate"] not in ("none", "tanh"):
        r.refuse(op, f"GELU with approximate={op['approximate']!r}")
        return
    _activation_node(op, r, "gelu" if op["approximate"] == "none" else "gelu_tanh")


@maps(*_overloads("aten.softplus"))
def _read_softplus(op: Op, r: Reading) -> None:
    if op["beta"] != 1 or op["threshold"] != 20:
        r.refuse(op, "softplus with beta or threshold other than torch's defaults")
        return
    _activation_node(op, r, "softplus")


@maps(*_overloads("aten.hardtanh"), "aten.clamp.default", "aten.clamp_.default")
def _read_clamp(op: Op, r: Reading) -> None:
    low, high = (op["min_val"], op["max_val"]) if "min_val" in op.arguments else (op["min"], op["max"])
    data = r.data(op.inputs[0])
    if (low, high) == (0, 6):
        _activation_node(op, r, "relu6")
    elif low == 0 and high is None:
        _activation_node(op, r, "relu")
    elif (
        data is not None and (low is None) != (high is None) and isinstance(low if high is None else high, (int, float))
    ):
        # a clamp on one side only: the maximum (or minimum) of the tensor and a number
        _scalar_node(op, r, data, "maximum" if high is None else "minimum", float(low if high is None else high))
    else:
        r.refuse(op, f"a clamp to [{low}, {high}] (convcost knows relu, relu6 and one-sided clamps)")


@maps("aten._softmax.default")
def _read_softmax(op: Op, r: Reading) -> None:
    data = r.plain(op, op["self"])
    rank = len(op["self"].shape)
    if data is None:
        return
    if rank not in (2, 4) or op["dim"] % rank != 1:
        r.refuse(op, f"softmax over dim {op['dim']} of a rank-{rank} tensor (convcost's is over channels)")
        return
    r.node(op, Activation("softmax"), [data])


@maps("aten.max_pool2d_with_indices.default", "aten.max_pool2d.default")
def _read_max_pool(op: Op, r: Reading) -> None:
    kernel = _pair(op["kernel_size"])
    stride = _pair(op["stride"]) if op["stride"] else kernel
    if _pair(op["dilation"]) != (1, 1):
        r.refuse(op, "a dilated max pool")
        return
    data, extra, pad_op = _padded_input(op, r, op["self"], float("-inf"))
    if data is None:
        return
    padding = _add_padding(_symmetric(op["padding"]), extra)
    layer = MaxPool2D(kernel, stride=stride, padding=padding, ceil_mode=bool(op["ceil_mode"]))
    r.node(op, layer, [data], absorb=[pad_op] if pad_op >= 0 else [])


@maps("aten.avg_pool2d.default")
def _read_avg_pool(op: Op, r: Reading) -> None:
    x, out = op["self"], op.outputs[0]
    kernel = _pair(op["kernel_size"])
    stride = _pair(op["stride"]) if op["stride"] else kernel
    padding = _pair(op["padding"])
    if op["divisor_override"] is not None:
        r.refuse(op, "an average pool with divisor_override")
        return
    data = r.plain(op, x)
    if data is None:
        return
    whole = kernel[0] >= x.shape[2] and kernel[1] >= x.shape[3]
    if out.shape[2:] == (1, 1) and padding == (0, 0) and whole and kernel != tuple(x.shape[2:]):
        # a window larger than the map (HF EfficientNet pools with kernel = hidden size, ceil_mode)
        r.node(op, GlobalAvgPool2D(keepdims=True), [data])
        return
    include = bool(op["count_include_pad"]) if padding != (0, 0) else None
    layer = AvgPool2D(
        kernel, stride=stride, padding=_symmetric(padding), ceil_mode=bool(op["ceil_mode"]), count_include_pad=include
    )
    r.node(op, layer, [data])


@maps("aten.mean.dim")
def _read_mean(op: Op, r: Reading) -> None:
    _global_pool(op, r, GlobalAvgPool2D, GlobalAvgPool1D, "mean")


@maps("aten.amax.default")
def _read_amax(op: Op, r: Reading) -> None:
    _global_pool(op, r, GlobalMaxPool2D, GlobalMaxPool1D, "maximum")


def _global_pool(op: Op, r: Reading, map_kind: Any, sequence_kind: Any, what: str) -> None:
    """A mean (or maximum) over H and W of a map, or over the length of a sequence."""
    x = op["self"]
    rank = len(x.shape)
    dims = sorted(d % rank for d in (op["dim"] or ()))
    kind = map_kind if (rank, dims) == (4, [2, 3]) else sequence_kind if (rank, dims) == (3, [2]) else None
    if kind is None or op.arguments.get("dtype") is not None:
        r.refuse(op, f"a {what} over dims {dims} of a rank-{rank} tensor (convcost's is over H and W, or L)")
        return
    data = r.plain(op, x)
    if data is not None:
        r.node(op, kind(keepdims=bool(op["keepdim"])), [data])


@maps("aten._adaptive_avg_pool2d.default", "aten.adaptive_max_pool2d.default")
def _read_adaptive_pool(op: Op, r: Reading) -> None:
    data = r.plain(op, op["self"])
    if data is None:
        return
    output = _pair(op["output_size"])
    average = op.target == "aten._adaptive_avg_pool2d.default"
    if output == (1, 1):
        r.node(op, (GlobalAvgPool2D if average else GlobalMaxPool2D)(keepdims=True), [data])
    else:
        r.node(op, (AdaptiveAvgPool2D if average else AdaptiveMaxPool2D)(output), [data])


#: ATen element-wise binary op -> (merge kind of two tensors, ScalarOp's op with a constant after the
#: tensor, ScalarOp's op with the constant first)
_BINARY: dict[str, tuple[type[Layer], str, str]] = {
    "aten.add": (Add, "add", "add"),
    "aten.sub": (Subtract, "subtract", "rsubtract"),
    "aten.mul": (Multiply, "multiply", "multiply"),
    "aten.div": (Divide, "divide", "rdivide"),
    "aten.maximum": (Maximum, "maximum", "maximum"),
    "aten.minimum": (Minimum, "minimum", "minimum"),
}


@maps(
    *(f"{name}{inplace}.{overload}" for name in _BINARY for inplace in ("", "_") for overload in ("Tensor", "Scalar")),
    "aten.maximum.default",
    "aten.minimum.default",
    "aten.rsub.Scalar",
    "aten.rsub.Tensor",
)
def _read_binary(op: Op, r: Reading) -> None:
    """``a op b``: two tensors of the network (a merge, broadcasting), a tensor and a number
    (ScalarOp), a tensor and a parameter (LayerScale), a tensor and a constant vector (Rescaling)."""
    from convcost.interop.capture import TensorRef

    name = op.name.rstrip("_")
    swapped = name == "aten.rsub"  # rsub(x, c) is c - x
    merge, after, before = _BINARY["aten.sub" if swapped else name]
    a, b = op["self"], op["other"]
    alpha = op.arguments.get("alpha", 1)
    if swapped:
        a, b = b, a
    left = r.data(a) if isinstance(a, TensorRef) else None
    right = r.data(b) if isinstance(b, TensorRef) else None
    if left is not None and right is not None:
        if alpha != 1:
            r.refuse(op, f"adds or subtracts alpha={alpha} times a tensor")
        elif len(a.shape) != len(b.shape):
            r.refuse(op, f"combines tensors of shapes {list(a.shape)} and {list(b.shape)} (of different ranks)")
        elif left.axes != right.axes:  # both in torch's order, then
            ordered = r.plain(op, a), r.plain(op, b)
            if ordered[0] is not None and ordered[1] is not None:
                r.node(op, merge(), [ordered[0], ordered[1]])
        else:
            r.node(op, merge(), [Data(left.tensor), Data(right.tensor)], axes=left.axes)
        return
    data, other, first = (left, b, False) if left is not None else (right, a, True)
    tensor = a if left is not None else b
    if data is None:
        r.refuse(op, "neither operand is a tensor of the network")
        return
    if alpha != 1 and (swapped or not isinstance(other, (int, float))):
        r.refuse(op, f"alpha={alpha} times a tensor")
        return
    if isinstance(other, (int, float)) and not isinstance(other, bool):
        _scalar_node(op, r, data, before if first else after, float(other) * alpha)
        return
    weights = r.weights(other) if isinstance(other, TensorRef) else None
    if weights is None or not isinstance(other, TensorRef):
        r.refuse(op, "an operand that is neither a tensor of the network nor a weight")
        return
    values = r.constant(weights)
    if values is not None and len(values) == 1 and math.prod(other.shape) == 1 and alpha == 1:
        _scalar_node(op, r, data, before if first else after, values[0])
        return
    kind = _WEIGHT_OPS.get(("aten.sub" if swapped else name, first))
    shape = _sample_shape(other.shape, len(tensor.shape) - 1)
    learned = weights.parameters and kind is not None and shape is not None and data.plain and alpha == 1
    axis = _broadcast_axis(other.shape, tensor.shape, data)
    if axis is None and not learned:
        r.refuse(op, f"a {list(other.shape)} weight against a {list(tensor.shape)} tensor (not along one axis)")
        return
    if axis is not None and weights.exact is not None and weights.exact[0] == "parameter" and merge is Multiply:
        scalar = math.prod(other.shape) == 1
        r.node(op, LayerScale(axis=0 if scalar else axis, scalar=scalar), [Data(data.tensor)], axes=data.axes)
        return
    if values is not None and axis == 0 and (name, first) in _RESCALING and alpha == 1:
        _rescaling_node(op, r, data, _RESCALING[(name, first)](values))
        return
    if learned:  # any other learned tensor: x op w, as it broadcasts
        assert kind is not None and shape is not None
        r.node(op, WeightOp(kind, shape), [Data(data.tensor)])
        return
    what = "a learned weight" if weights.parameters else "a constant tensor"
    r.refuse(op, f"{name.removeprefix('aten.')} by {what} of shape {list(other.shape)} (no kind holds it)")


#: ``x op w`` with a learned ``w`` that is not a layer scale (WeightOp), by (op, whether w comes first)
_WEIGHT_OPS = {
    ("aten.add", False): "add",
    ("aten.add", True): "add",
    ("aten.sub", False): "subtract",
    ("aten.sub", True): "rsubtract",
    ("aten.mul", False): "multiply",
    ("aten.mul", True): "multiply",
    ("aten.div", False): "divide",
    ("aten.div", True): "rdivide",
}


def _sample_shape(weight: tuple[int, ...], rank: int) -> tuple[int, ...] | None:
    """A weight's shape per sample of a rank-``rank`` tensor it broadcasts against (torch aligns
    from the right: leading 1s added; a leading 1 for the batch dropped), or None."""
    if len(weight) == rank + 1 and weight[0] == 1:
        weight = weight[1:]
    if len(weight) > rank:
        return None
    return (1,) * (rank - len(weight)) + tuple(weight)


#: an element-wise op with a constant vector along the channels, as Rescaling's (scale, offset)
_RESCALING: dict[tuple[str, bool], Callable[[tuple[float, ...]], tuple[tuple[float, ...], tuple[float, ...]]]] = {
    ("aten.mul", False): lambda v: (v, (0.0,)),
    ("aten.mul", True): lambda v: (v, (0.0,)),
    ("aten.add", False): lambda v: ((1.0,), v),
    ("aten.add", True): lambda v: ((1.0,), v),
    ("aten.sub", False): lambda v: ((1.0,), tuple(-x for x in v)),
    ("aten.div", False): lambda v: (tuple(1 / x if x else math.inf for x in v), (0.0,)),
}


def _broadcast_axis(weight: tuple[int, ...], tensor: tuple[int, ...], data: Data) -> int | None:
    """The graph axis a weight runs along when it broadcasts against a tensor (aligned from the right,
    as torch aligns them): the one torch axis where its size is not 1, or 0 when it is one number."""
    if len(weight) > len(tensor):
        return None
    aligned = (1,) * (len(tensor) - len(weight)) + tuple(weight)
    sized = [i for i, d in enumerate(aligned) if d != 1]
    if not sized:
        return 0
    if len(sized) != 1 or sized[0] == 0 or aligned[sized[0]] != tensor[sized[0]]:
        return None
    axes = data.axes or tuple(range(len(tensor) - 1))
    return axes[sized[0] - 1]


def _scalar_node(op: Op, r: Reading, data: Data, kind: str, value: float) -> None:
    if not math.isfinite(value) or (kind == "divide" and value == 0):
        r.refuse(op, f"{kind} by {value}")
        return
    r.node(op, ScalarOp(kind, value), [Data(data.tensor)], axes=data.axes)


def _rescaling_node(op: Op, r: Reading, data: Data, scale_offset: tuple[tuple[float, ...], tuple[float, ...]]) -> None:
    scale, offset = (v[0] if len(v) == 1 else v for v in scale_offset)
    r.node(op, Rescaling(scale, offset), [Data(data.tensor)], axes=data.axes)


@maps("aten.pow.Tensor_Scalar")
def _read_power(op: Op, r: Reading) -> None:
    data = r.data(op["self"])
    exponent = op["exponent"]
    if data is None or not isinstance(exponent, (int, float)) or isinstance(exponent, bool):
        r.refuse(op, "a power of a tensor that is not of the network, or by a tensor")
        return
    _scalar_node(op, r, data, "power", float(exponent))


@maps("aten.reciprocal.default")
def _read_reciprocal(op: Op, r: Reading) -> None:
    data = r.data(op["self"])
    if data is None:
        r.refuse(op, "the reciprocal of a tensor that is not of the network")
        return
    _scalar_node(op, r, data, "rdivide", 1.0)


@maps(*_overloads("aten._prelu_kernel"))
def _read_prelu(op: Op, r: Reading) -> None:
    x, weight = op["self"], op["weight"]
    data = r.plain(op, x)
    if data is None:
        return
    if r.weights(weight) is None:
        r.refuse(op, "PReLU slopes that are computed from the network's input")
        return
    count = math.prod(weight.shape)
    shape = r.shape(data)
    shared = "single" if count == 1 else "channel" if count == shape[0] else "element"
    if shared == "element" and count != math.prod(shape):
        r.refuse(op, f"PReLU with {count} slopes for a {list(shape)} tensor")
        return
    r.node(op, PReLU(shared), [data])


@maps("aten.cat.default")
def _read_cat(op: Op, r: Reading) -> None:
    tensors = op["tensors"]
    rank = len(tensors[0].shape)
    if op["dim"] % rank != 1 or rank < 2:
        r.refuse(op, f"a concatenation along dim {op['dim']} (convcost's is along channels)")
        return
    inputs = [r.plain(op, t) for t in tensors]
    if any(i is None for i in inputs):
        return
    if len(inputs) == 1:
        r.same(op, inputs[0])  # type: ignore[arg-type]
        return
    r.node(op, Concat(), inputs)  # type: ignore[arg-type]


@maps("aten.view.default", "aten._unsafe_view.default", "aten.reshape.default")
def _read_view(op: Op, r: Reading) -> None:
    source, out = op.inputs[0], op.outputs[0]
    ref = r.ref(source)
    if isinstance(ref, Rows):
        # the rows of a linear layer back to the shape they came from
        if out.shape[0] == r.batch and out.shape[1:-1] == ref.lead:
            r.same(op, ref.data)
        else:
            r.refuse(op, "reshapes the rows of a linear layer into another shape")
        return
    data = r.data(source)
    if data is None:
        r.refuse(op, "reshapes a tensor that is not a tensor of the network")
        return
    shape = source.shape
    rows = len(out.shape) == 2 and len(shape) >= 3 and out.shape[1] == shape[-1] and shape[0] == r.batch
    if rows and out.shape[0] == math.prod(shape[:-1]):
        r.same(op, Rows(data, tuple(shape[1:-1]), op.index))  # x.view(-1, C): the rows a linear layer reads
        return
    _flatten_or_reshape(op, r, data)


def _flatten_or_reshape(op: Op, r: Reading, data: Data) -> None:
    source, out = op.inputs[0], op.outputs[0]
    shape = source.shape
    if out.shape[:1] != (r.batch,):
        r.refuse(op, f"reshapes {list(shape)} to {list(out.shape)}, across the batch axis")
        return
    if not data.plain and not _order_kept(data, shape[1:]):
        permuted = r.permuted(data)
        if permuted is None:
            r.refuse(op, "reshapes a permuted tensor")
            return
        data = permuted
    data = Data(data.tensor)
    if out.shape == shape:
        r.same(op, data)
    elif len(out.shape) == 2:
        r.node(op, Flatten(), [data])
    else:
        r.node(op, Reshape(tuple(out.shape[1:])), [data])


def _read_transposed(op: Op, r: Reading) -> None:
    """``nn.ConvTranspose1d / 2d``: weight ``(C_in, C_out / groups, k...)``; torch's padding removes
    that many rows at each end, ``output_padding`` adds rows at the end, as the kinds' explicit
    padding does."""
    x, w, bias = op["input"], op["weight"], op["bias"]
    data = r.plain(op, x)
    if data is None:
        return
    if r.weights(w) is None or (bias is not None and r.weights(bias) is None):
        r.refuse(op, "its weight is computed from the network's input")
        return
    filters = w.shape[1] * op["groups"]
    if len(x.shape) == 3:
        p = _one(op["padding"], 0)
        layer: Layer = Conv1DTranspose(
            filters,
            w.shape[2],
            stride=_one(op["stride"], 1),
            padding=(p, p),
            output_padding=_one(op["output_padding"], 0),
            dilation=_one(op["dilation"], 1),
            groups=op["groups"],
            bias=bias is not None,
        )
    elif len(x.shape) == 4:
        layer = Conv2DTranspose(
            filters,
            _pair(w.shape[2:]),
            stride=_pair(op["stride"]),
            padding=_symmetric(op["padding"]),
            output_padding=_pair(op["output_padding"]),
            dilation=_pair(op["dilation"]),
            groups=op["groups"],
            bias=bias is not None,
        )
    else:
        r.refuse(op, f"a {len(x.shape) - 2}-D transposed convolution (convcost reads 1-D and 2-D ones)")
        return
    r.node(op, layer, [data])


#: the upsampling ops and their interpolation
_UPSAMPLING = {
    "aten.upsample_nearest2d": "nearest",
    "aten._upsample_nearest_exact2d": "nearest_exact",
    "aten.upsample_bilinear2d": "bilinear",
}


@maps(*(f"{name}.{overload}" for name in _UPSAMPLING for overload in ("default", "vec")))
def _read_upsampling(op: Op, r: Reading) -> None:
    """``F.interpolate`` / ``nn.Upsample``: an integer scale factor is an UpSampling2D, a size a Resize."""
    x, out = op.inputs[0], op.outputs[0]
    data = r.plain(op, x)
    if data is None:
        return
    interpolation = _UPSAMPLING[op.name]
    align = bool(op.arguments.get("align_corners") or False)
    scales = [op.arguments.get(k) for k in ("scales_h", "scales_w")]
    if op.arguments.get("scale_factors"):
        scales = list(op["scale_factors"])
    h, w = x.shape[2:]
    H, W = out.shape[2:]
    factors = [int(s) for s in scales if s is not None and float(s).is_integer()]
    if len(factors) == 2 and (h * factors[0], w * factors[1]) == (H, W) and interpolation != "nearest_exact":
        size = (factors[0], factors[1])
        r.node(op, UpSampling2D(size, interpolation=interpolation, align_corners=align), [data])
    else:
        r.node(op, Resize((H, W), interpolation=interpolation, align_corners=align), [data])


@maps("aten.reflection_pad2d.default", "aten.replication_pad2d.default")
def _read_mode_pad(op: Op, r: Reading) -> None:
    data = r.plain(op, op["self"])
    if data is None:
        return
    left, right, top, bottom = op["padding"]
    mode = "reflect" if op.name == "aten.reflection_pad2d" else "replicate"
    r.node(op, Pad2D(((top, bottom), (left, right)), mode=mode), [data])


@maps("aten.slice.Tensor")
def _read_slice(op: Op, r: Reading) -> None:
    """``x[:, a:b:c]`` on one per-sample axis: a Slice (a whole axis: no node)."""
    x = op["self"]
    data = r.data(x)
    dim = op["dim"] % len(x.shape)
    if data is None or dim == 0:
        r.refuse(op, "a slice of the batch axis, or of a tensor not of the network")
        return
    size = x.shape[dim]
    start, end, step = op["start"] or 0, op["end"], op["step"]
    if (start in (0, -size) or start <= -size) and (end is None or end >= size) and step == 1:
        r.same(op, data)
        return
    axes = data.axes or tuple(range(len(x.shape) - 1))
    stop = None if end is None or end >= size else end
    r.node(op, Slice(axes[dim - 1], start, stop, step), [Data(data.tensor)], axes=data.axes)


@maps("aten.split.Tensor", "aten.split_with_sizes.default", "aten.unbind.int")
def _read_split(op: Op, r: Reading) -> None:
    """``torch.split`` / ``chunk`` / ``unbind``: one Slice per part something reads (unbind drops the axis)."""
    x = op["self"]
    data = r.plain(op, x)
    dim = op["dim"] % len(x.shape)
    if data is None:
        return
    if dim == 0:
        r.refuse(op, "a split of the batch axis")
        return
    start = 0
    for k, part in enumerate(op.outputs):
        length = 1 if op.name == "aten.unbind" else part.shape[dim]
        if part.value in r.read_values:
            stop = start + length if start + length < x.shape[dim] else None
            if op.name == "aten.unbind":
                sliced = r.chain(op, Slice(dim - 1, start, stop), [data])
                if sliced is not None:
                    r.node(op, Reshape(tuple(part.shape[1:])), [sliced], output=k)
            elif length == x.shape[dim]:
                r.same(op, data, output=k)
            else:
                r.node(op, Slice(dim - 1, start, stop), [data], output=k)
        start += length


@maps("aten.select.int")
def _read_select(op: Op, r: Reading) -> None:
    """``x[:, i]``: a Slice of one position, then the axis dropped (a Reshape)."""
    x, out = op["self"], op.outputs[0]
    data = r.plain(op, x)
    dim = op["dim"] % len(x.shape)
    if data is None:
        return
    if dim == 0 or len(out.shape) < 2:
        r.refuse(op, "a select on the batch axis, or down to one value per sample")
        return
    index = op["index"] % x.shape[dim]
    sliced = r.chain(op, Slice(dim - 1, index, index + 1 if index + 1 < x.shape[dim] else None), [data])
    if sliced is not None:
        r.node(op, Reshape(tuple(out.shape[1:])), [sliced])


@maps("aten.channel_shuffle.default", "aten.native_channel_shuffle.default")
def _read_channel_shuffle(op: Op, r: Reading) -> None:
    data = r.plain(op, op["self"])
    if data is not None:
        r.node(op, ChannelShuffle(op["groups"]), [data])


def _fold_shuffle(producer: Pending, consumer: Pending, r: Reading) -> Merge | None:
    """ShuffleNet's channel shuffle written out: ``view(N, g, C/g, H, W)``, ``transpose(1, 2)``,
    ``view(N, C, H, W)``: one ChannelShuffle of g groups."""
    swap, back = producer.layer, consumer.layer
    if not isinstance(swap, Permute) or not isinstance(back, Reshape) or swap.dims[:2] != (1, 0):
        return None
    split = r.sole_producer(producer.inputs[0], consumer.scope)
    if split is None or not isinstance(split.layer, Reshape) or swap.dims[2:] != tuple(range(2, len(swap.dims))):
        return None
    source = r.shape_of(split.inputs[0])
    groups, per_group = split.layer.target[:2]
    if back.target != source or split.layer.target[2:] != source[1:] or groups * per_group != source[0]:
        return None
    return Merge(ChannelShuffle(groups), main="producer", earlier=(split,))


def _fold_crop(producer: Pending, consumer: Pending, r: Reading) -> Merge | None:
    """``x[:, :, a:-b, c:-d]``: slices of H then W, step 1, in one module call: one Cropping2D."""
    rows, cols = producer.layer, consumer.layer
    if not isinstance(rows, Slice) or not isinstance(cols, Slice) or (rows.axis, cols.axis) != (1, 2):
        return None
    shape = r.shape_of(producer.inputs[0])
    if len(shape) != 3 or rows.step != 1 or cols.step != 1:
        return None
    (top, bottom), (left, right) = (_sides(s, shape[axis]) for s, axis in ((rows, 1), (cols, 2)))
    if min(top, bottom, left, right) < 0:
        return None
    return Merge(Cropping2D(((top, bottom), (left, right))), main="producer")


def _sides(cut: Slice, size: int) -> Pair:
    taken = cut.indices(size)
    return taken.start, size - taken.stop


def _rows_flattened(op: Op, r: Reading) -> None:
    """``x.view(N, C)`` of a ``(N, 1, ..., 1, C)`` tensor, read as a flatten (not by a linear layer)."""
    data = r.data(op.inputs[0])
    if data is None:
        r.refuse(op, "reshapes a tensor that is not a tensor of the network")
        return
    _flatten_or_reshape(op, r, data)


def _order_kept(data: Data, shape: Shape) -> bool:
    """A permutation that only moves axes of size 1 keeps the values in order (a reshape may ignore it)."""
    moved = [axis for axis, size in zip(data.axes, shape, strict=True) if size != 1]
    return moved == sorted(moved)


@maps("aten.unsqueeze.default", "aten.squeeze.dim", "aten.squeeze.dims", "aten.squeeze.default")
def _read_unsqueeze(op: Op, r: Reading) -> None:
    _read_view(op, r)


@maps("aten.permute.default", "aten.transpose.int")
def _read_permute(op: Op, r: Reading) -> None:
    source = op.inputs[0]
    rank = len(source.shape)
    if op.target == "aten.transpose.int":
        dims = list(range(rank))
        a, b = op["dim0"] % rank, op["dim1"] % rank
        dims[a], dims[b] = dims[b], dims[a]
    else:
        dims = [d % rank for d in op["dims"]]
    data = r.data(source)
    if data is None or dims[0] != 0:
        r.refuse(op, "a permutation that moves the batch axis, or of a tensor not of the network")
        return
    current = data.axes or tuple(range(rank - 1))
    axes = tuple(current[d - 1] for d in dims[1:])
    if axes == tuple(range(rank - 1)):
        r.same(op, Data(data.tensor))
    else:
        r.same(op, Data(data.tensor, axes, op.index))


@maps(
    "aten.clone.default",
    "aten.detach.default",
    "aten.alias.default",
    "aten._to_copy.default",
    "aten.expand.default",
    "aten.contiguous.default",
    "aten.lift_fresh.default",
)
def _read_copy(op: Op, r: Reading) -> None:
    """Copies, casts and broadcasting views keep their input (a broadcast then shows in the shapes)."""
    r.same(op, r.ref(op.inputs[0]))


@maps("aten.constant_pad_nd.default")
def _read_pad(op: Op, r: Reading) -> None:
    data = r.data(op["self"])
    if data is None:
        r.refuse(op, "pads a tensor that is not a tensor of the network")
        return
    pad = tuple(op["pad"])
    if not any(pad):
        r.same(op, data)  # HF MobileNet's TF padding where none is needed
        return
    r.same(op, Padded(data, pad, float(op["value"]), op.index))


def _pad_node(op: Op, r: Reading) -> None:
    """A pad that no convolution or pooling folds: a ZeroPadding2D of its own."""
    padded = r.ref(op.outputs[0])
    r.forget(op.outputs[0])
    assert isinstance(padded, Padded)
    pad, value = padded.pad, padded.value
    data = padded.data if padded.data.plain else r.permuted(padded.data)
    if data is None or min(pad) < 0 or not math.isfinite(value) or len(pad) not in (2, 4):
        r.refuse(op, f"a padding of {list(pad)} with {value}")
        return
    if len(pad) == 2:
        if value != 0:
            r.refuse(op, f"a 1-D padding with {value} (ZeroPadding1D pads with zeros)")
            return
        r.node(op, ZeroPadding1D((pad[0], pad[1])), [data])
        return
    left, right, top, bottom = pad
    sides = ((top, bottom), (left, right))
    r.node(op, ZeroPadding2D(sides) if value == 0 else Pad2D(sides, value=value), [data])


def _dropout_module(module: Any, inputs: tuple[Shape, ...]) -> Layer | None:
    """nn.Dropout (and the spatial Dropout1d / 2d): the identity in eval, a row of its own."""
    p = float(module.p)
    spatial = type(module).__name__ in ("Dropout1d", "Dropout2d")
    return Dropout(p, spatial=spatial) if 0 <= p < 1 else None


def _identity_module(module: Any, inputs: tuple[Shape, ...]) -> Layer | None:
    return Identity()


def _drop_path_module(module: Any, inputs: tuple[Shape, ...]) -> Layer | None:
    """Stochastic depth (timm's and Hugging Face's DropPath, convcost's): the identity in eval."""
    rate = getattr(module, "drop_prob", getattr(module, "rate", None))
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
        return None
    return DropPath(float(rate))


def _normalization_call(call: ModuleCall, module: Any, r: Reading) -> bool:
    """convcost's own Normalization module (what to_torch builds): its axis, statistics and direction."""
    data = r.data(call.inputs[0]) if call.inputs else None
    if data is None or not data.plain or len(call.outputs) != 1:
        return False
    given = "count" not in dict(module.named_buffers(recurse=False))

    def values(name: str) -> Any:
        found = tuple(float(v) for v in getattr(module, name).detach().flatten().tolist())
        return found[0] if len(set(found)) == 1 else found

    layer = Normalization(
        axis=module.axis,
        mean=values("mean") if given else None,
        variance=values("variance") if given else None,
        invert=bool(module.invert),
    )
    ops = r.claim_call(call)
    return r.node(ops[0], layer, [data], absorb=[o.index for o in ops], result=call.outputs[0]) is not None


def _element_prelu_call(call: ModuleCall, module: Any, r: Reading) -> bool:
    """convcost's ElementPReLU (one slope per value, which nn.PReLU cannot hold)."""
    data = r.data(call.inputs[0]) if call.inputs else None
    if data is None or not data.plain or len(call.outputs) != 1:
        return False
    ops = r.claim_call(call)
    return r.node(ops[0], PReLU("element"), [data], absorb=[o.index for o in ops], result=call.outputs[0]) is not None


def _linear_call(call: PyCall, r: Reading) -> bool:
    """``F.linear`` (nn.Linear), whatever ops it dispatches to (``addmm``; ``view``, ``mm``, ``view``;
    ``matmul`` then an add of the bias on a non-contiguous input): one Dense on the last axis."""
    from convcost.interop.capture import TensorRef

    x, weight, bias = (call.argument(i, k) for i, k in enumerate(("input", "weight", "bias")))
    if not isinstance(x, TensorRef) or not isinstance(weight, TensorRef) or len(call.outputs) != 1:
        return False
    data = r.data(x)
    if data is None or r.weights(weight) is None or (bias is not None and r.weights(bias) is None):
        return False
    axes = data.axes or tuple(range(len(x.shape) - 1))
    if axes[-1] != 0:
        return False  # not on the channels: the op rules say why
    ops = r.claim(call)
    main = next((o for o in ops if o.name in ("aten.addmm", "aten.mm", "aten.bmm")), ops[-1])
    made = r.node(
        main,
        Dense(weight.shape[0], bias=bias is not None),
        [Data(data.tensor)],
        axes=data.axes,
        absorb=[o.index for o in ops],
        result=call.outputs[0],
    )
    return made is not None


def _read_instance_norm(call: PyCall, r: Reading) -> bool:
    """``F.instance_norm`` (nn.InstanceNorm1d / 2d): a batch norm of the batch viewed as one sample,
    whatever it dispatches to, is one InstanceNorm."""
    from convcost.interop.capture import TensorRef

    x, mean, _, weight = (call.argument(i, k) for i, k in enumerate(("input", "running_mean", "running_var", "weight")))
    data = r.data(x) if isinstance(x, TensorRef) else None
    if data is None or not data.plain or len(call.outputs) != 1:
        return False
    ops = r.claim(call)
    layer = InstanceNorm(affine=weight is not None, track_running_stats=mean is not None)
    return r.node(ops[-1], layer, [data], absorb=[o.index for o in ops], result=call.outputs[0]) is not None


def _pool1d_call(call: PyCall, r: Reading) -> bool:
    """``F.max_pool1d`` / ``F.avg_pool1d`` (nn.MaxPool1d / AvgPool1d), which torch runs as a 2-D pool
    of the sequence unsqueezed: one MaxPool1D or AvgPool1D."""
    from convcost.interop.capture import TensorRef

    average = call.function == "F.avg_pool1d"
    names = ("input", "kernel_size", "stride", "padding") + (
        ("ceil_mode", "count_include_pad") if average else ("dilation", "ceil_mode")
    )
    a = {name: call.argument(i, name) for i, name in enumerate(names)}
    x = a["input"]
    if not isinstance(x, TensorRef) or call.first_op >= call.end_op:
        return False
    ops = r.claim(call)
    extra: Pair = (0, 0)
    ref = r.ref(x)
    if not average and isinstance(ref, Padded) and ref.value == float("-inf") and len(ref.pad) == 2:
        # convcost's SamePadded for a Keras 'same' max pool: -inf padding, then the pool
        if min(ref.pad) >= 0 and ref.data.plain and r.same_scope(ref.op, ops[0]):
            data: Data | None = ref.data
            extra = (ref.pad[0], ref.pad[1])
        else:
            data = r.data(x)
    else:
        data = r.data(x)
    if data is None or not data.plain or len(call.outputs) != 1 or (not average and _one(a["dilation"], 1) != 1):
        return False
    pool = _one(a["kernel_size"], 1)
    stride = _one(a["stride"], pool) or pool
    pad = _one(a["padding"], 0)
    padding = (pad + extra[0], pad + extra[1])
    ceil = bool(a["ceil_mode"])
    if average:
        include = a.get("count_include_pad")
        layer: Layer = AvgPool1D(
            pool, stride=stride, padding=padding, ceil_mode=ceil, count_include_pad=bool(include) if pad else None
        )
    else:
        layer = MaxPool1D(pool, stride=stride, padding=padding, ceil_mode=ceil)
    main = next((o for o in ops if "pool" in o.name), ops[-1])
    return r.node(main, layer, [data], absorb=[o.index for o in ops], result=call.outputs[0]) is not None


def _global_pool1d_call(call: PyCall, r: Reading) -> bool:
    """``F.adaptive_avg_pool1d(x, 1)`` / ``F.adaptive_max_pool1d(x, 1)``: a global pool of the sequence."""
    from convcost.interop.capture import TensorRef

    x, size = call.argument(0, "input"), call.argument(1, "output_size")
    data = r.data(x) if isinstance(x, TensorRef) else None
    if data is None or not data.plain or _one(size, 0) != 1 or not call.outputs:
        return False
    kind = GlobalAvgPool1D if call.function == "F.adaptive_avg_pool1d" else GlobalMaxPool1D
    ops = r.claim(call)
    main = next((o for o in ops if "pool" in o.name or o.name in ("aten.mean", "aten.amax")), ops[-1])
    result = call.outputs[0]
    return r.node(main, kind(keepdims=True), [data], absorb=[o.index for o in ops], result=result) is not None


def _one(value: Any, default: int) -> int:
    """An int argument given as ``k`` or ``(k,)`` (None: the default)."""
    if value is None or value == ():
        return default
    return int(value[0]) if isinstance(value, tuple) else int(value)


def _fold_adds(producer: Pending, consumer: Pending, r: Reading) -> Merge | None:
    """``a + b + c``: one add of three tensors; ``(a + b) / 2``: their average."""
    if isinstance(producer.layer, Add) and isinstance(consumer.layer, Add) and producer.shape == consumer.shape:
        return Merge(Add())
    if isinstance(producer.layer, Add) and isinstance(consumer.layer, ScalarOp):
        count = len(producer.inputs)
        if consumer.layer.op == "divide" and consumer.layer.value == count and producer.shape == consumer.shape:
            return Merge(Average(), main="producer")
    return None


def _affine(layer: Layer | None) -> tuple[Any, Any] | None:
    """A layer that is ``x * scale + offset`` (per channel or one number), as its (scale, offset)."""
    if isinstance(layer, Rescaling):
        return layer.scale, layer.offset
    if isinstance(layer, ScalarOp) and layer.op in ("multiply", "add", "subtract", "divide"):
        v = layer.value
        if layer.op == "divide":
            return 1 / v, 0.0  # a ScalarOp never divides by zero
        return {"multiply": (v, 0.0), "add": (1.0, v), "subtract": (1.0, -v)}[layer.op]
    return None


def _fold_rescaling(producer: Pending, consumer: Pending, r: Reading) -> Merge | None:
    """``x * a + b`` (TF-style preprocessing, what to_torch builds for Rescaling): one Rescaling.
    Two steps of which at least one is a Rescaling, or a multiply then an add."""
    first, then = _affine(producer.layer), _affine(consumer.layer)
    if first is None or then is None:
        return None
    p, c = producer.layer, consumer.layer
    pair = isinstance(p, ScalarOp) and isinstance(c, ScalarOp)
    if pair and (p.op not in ("multiply", "divide") or c.op not in ("add", "subtract")):  # type: ignore[union-attr]
        return None

    def each(v: Any) -> tuple[float, ...]:
        return v if isinstance(v, tuple) else (v,)

    def combine(f: Callable[[float, float], float], a: Any, b: Any) -> Any:
        x, y = each(a), each(b)
        if len(x) != len(y) and 1 not in (len(x), len(y)):
            return None
        n = max(len(x), len(y))
        out = tuple(f(x[i % len(x)], y[i % len(y)]) for i in range(n))
        return out[0] if n == 1 else out

    (s1, o1), (s2, o2) = first, then
    scale = combine(lambda a, b: a * b, s1, s2)
    shifted = combine(lambda a, b: a * b, o1, s2)
    offset = combine(lambda a, b: a + b, shifted, o2) if shifted is not None else None
    if scale is None or offset is None:
        return None
    return Merge(Rescaling(scale, offset), main="producer")


def _fold_reciprocal(producer: Pending, consumer: Pending, r: Reading) -> Merge | None:
    """``c / x`` dispatches as ``reciprocal(x) * c``: one ScalarOp."""
    p, c = producer.layer, consumer.layer
    if isinstance(p, ScalarOp) and p.op == "rdivide" and isinstance(c, ScalarOp) and c.op == "multiply":
        return Merge(ScalarOp("rdivide", p.value * c.value), main="producer")
    return None


def _fold_global_pool(producer: Pending, consumer: Pending, r: Reading) -> Merge | None:
    """convcost's GlobalAvgPool2d module (what to_torch builds for GlobalAvgPool2D): the mean over H
    and W kept as (C, 1, 1), then flattened, is the one node it was built from."""
    pool = _GLOBAL_POOLS.get(r.scope_class(consumer))
    kept = pool is not None and isinstance(producer.layer, pool) and getattr(producer.layer, "keepdims", False)
    if kept and pool is not None and isinstance(consumer.layer, Flatten):
        return Merge(pool(), main="producer")
    return None


#: convcost's own modules of a global pool without keepdims (to_torch's), and the kind they read as
_GLOBAL_POOLS: dict[str, Any] = {
    "convcost.interop.torch_modules.GlobalAvgPool2d": GlobalAvgPool2D,
    "convcost.interop.torch_modules.GlobalMaxPool2d": GlobalMaxPool2D,
    "convcost.interop.torch_modules.GlobalAvgPool1d": GlobalAvgPool1D,
    "convcost.interop.torch_modules.GlobalMaxPool1d": GlobalMaxPool1D,
}


def _separable_fold(
    module: str, conv: type[Layer], separable: Callable[..., Layer], unit: object, no_padding: object
) -> Fold:
    """The fold of convcost's ``Separable<module>`` (what to_torch builds, depthwise then
    pointwise) back into one kind; ``unit`` and ``no_padding`` are a 1x1 window's kernel, stride
    and padding in the conv's form (a pair for 2-D, an int for 1-D)."""

    def fold(producer: Pending, consumer: Pending, r: Reading) -> Merge | None:
        if r.scope_class(consumer) != f"convcost.interop.torch_modules.{module}":
            return None
        if not (isinstance(producer.layer, conv) and isinstance(consumer.layer, conv)):
            return None
        dw: Any = producer.layer  # a Conv2D or a Conv1D: the same field names
        pw: Any = consumer.layer
        channels = r.shape_of(producer.inputs[0])[0]
        if dw.bias or dw.groups != channels or pw.groups != 1:
            return None
        if pw.kernel != unit or pw.stride != unit or pw.padding != no_padding:
            return None
        depth_multiplier = dw.filters // channels
        return Merge(
            separable(
                pw.filters,
                dw.kernel,
                stride=dw.stride,
                padding=dw.padding,
                depth_multiplier=depth_multiplier,
                dilation=dw.dilation,
                bias=pw.bias,
            )
        )

    return fold


_fold_separable = _separable_fold("SeparableConv2d", Conv2D, SeparableConv2D, (1, 1), ((0, 0), (0, 0)))
_fold_separable1d = _separable_fold("SeparableConv1d", Conv1D, SeparableConv1D, 1, (0, 0))


RULES.modules.update(
    {
        **dict.fromkeys(
            (
                "torch.nn.modules.dropout.Dropout",
                "torch.nn.modules.dropout.Dropout1d",
                "torch.nn.modules.dropout.Dropout2d",
            ),
            _dropout_module,
        ),
        "torch.nn.modules.linear.Identity": _identity_module,
        "convcost.interop.torch_modules.DropPath": _drop_path_module,
        "timm.layers.drop.DropPath": _drop_path_module,
        "transformers.models.convnext.modeling_convnext.ConvNextDropPath": _drop_path_module,
        "transformers.models.efficientnet.modeling_efficientnet.EfficientNetDropPath": _drop_path_module,
    }
)
RULES.module_calls.update(
    {
        "convcost.interop.torch_modules.Normalization": _normalization_call,
        "convcost.interop.torch_modules.ElementPReLU": _element_prelu_call,
    }
)
RULES.calls["F.instance_norm"] = _read_instance_norm
RULES.calls.update(
    {
        "F.max_pool1d": _pool1d_call,
        "F.avg_pool1d": _pool1d_call,
        "F.adaptive_avg_pool1d": _global_pool1d_call,
        "F.adaptive_max_pool1d": _global_pool1d_call,
    }
)
RULES.calls["F.linear"] = _linear_call
RULES.folds += [
    _fold_adds,
    _fold_global_pool,
    _fold_separable,
    _fold_separable1d,
    _fold_rescaling,
    _fold_reciprocal,
    _fold_shuffle,
    _fold_crop,
]
RULES.permute = lambda axes: Permute(axes)
RULES.pad = _pad_node
RULES.flatten = _rows_flattened
RULES.unknown = lambda op, output, params: Unknown(op=op, output=output, params=params)


def from_torch(
    module: Any,
    input_size: Sequence[int],
    *,
    batch: int | None = None,
    name: str | None = None,
    strict: bool = True,
) -> Model:
    """Read a torch module by running its forward once on shape-only (meta) tensors.

    ``input_size`` follows torchinfo: ``(N, C, H, W)``, or ``(C, H, W)`` with ``batch``. Every
    operation the forward runs is recorded with the module that ran it, and becomes a node named
    by its module path (``encoder/stages/0/...``) that keeps its module's class, so the torch tool
    conventions count it as the tools count that module. The module is read in eval mode; its own
    mode (and every submodule's), its parameters and buffers and the RNG state are as they were
    afterwards. Every operation convcost cannot map is listed in one ``UnsupportedLayerError``;
    with ``strict=False`` they are ``Unknown`` nodes costed at zero, and reports mark their totals
    as lower bounds.
    """
    require("torch", "torch")
    from convcost.interop.capture import CaptureError, capture
    from convcost.interop.torch_reading import read

    label = name or type(module).__name__
    size = _input_size(input_size, batch, label)
    try:
        captured = capture(module, size, batch=batch)
    except CaptureError as e:
        hint = "convcost runs the forward on shape-only tensors"
        if batch is None and len(size) == 3:  # (C, H, W) meant, most likely: torchinfo's rule reads (N, C, L)
            shape = ",".join(map(str, size))
            hint = (
                f"input size {shape} is read as N,C,L, batch first as torchinfo's input_size: "
                f"for C,H,W images give 1,{shape}, or a batch (--batch, batch=)"
            )
        raise UnsupportedLayerError(f"{label}: {e} ({hint})") from None
    model = read(captured, RULES, name=label, strict=strict)
    _remember(model, module)
    return model


#: model (by id) -> (a weak reference to it, the module it was read from): crosscheck runs the tools on it
_READ_FROM: dict[int, tuple[weakref.ref[Model], Any]] = {}


def _remember(model: Model, module: Any) -> None:
    key = id(model)
    _READ_FROM[key] = (weakref.ref(model, lambda _: _READ_FROM.pop(key, None)), module)


def read_from(model: Model) -> Any | None:
    """The torch module ``from_torch`` read ``model`` from (None for any other model)."""
    entry = _READ_FROM.get(id(model))
    return entry[1] if entry is not None and entry[0]() is model else None


def _input_size(input_size: Any, batch: int | None, label: str) -> tuple[int, ...]:
    size = tuple(input_size) if isinstance(input_size, (tuple, list)) else None
    if not size or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in size):
        raise SpecError(f"{label}: input_size must be positive integers, (N, C, H, W) or (C, H, W), got {input_size!r}")
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        raise SpecError(f"{label}: batch must be a positive integer, got {batch!r}")
    if batch is None and len(size) < 2:
        raise SpecError(f"{label}: input_size {list(size)} has no batch axis: give (N, C, H, W), or batch=")
    full = size if batch is None else (batch, *size)
    if math.prod(full) >= TORCH_MAX_ELEMENTS:  # past int64 bytes torch cannot make the tensor
        raise SpecError(f"{label}: an input of {math.prod(full):,} values is more than torch can hold (2**60)")
    return size


#: torch keeps sizes, element counts and a tensor's bytes as int64: 2**60 values of 8 bytes at most
TORCH_MAX_ELEMENTS = 2**60


# --------------------------------------------------------------------------------------------
# Family C (issue 12): resolution changes, channel plumbing, padding

#: Resize's interpolation -> torch's mode
_TORCH_INTERPOLATIONS = {"nearest": "nearest", "nearest_exact": "nearest-exact", "bilinear": "bilinear"}


def _transposed(layer: Conv2DTranspose | Conv1DTranspose, site: Site, cls: Any) -> Any:
    """``nn.ConvTranspose*d``, and a crop after it when torch's padding cannot remove the rows itself."""
    axes = layer.axes()
    forms = [torch_transposed(axis) for axis in axes]
    conv = cls(
        site.input[0],
        layer.filters,
        tuple(axis.kernel for axis in axes),
        tuple(axis.stride for axis in axes),
        tuple(padding for padding, _, _ in forms),
        tuple(output_padding for _, output_padding, _ in forms),
        layer.groups,
        layer.bias,
        tuple(axis.dilation for axis in axes),
    )
    crops = tuple(crop for _, _, crop in forms)
    if all(crop == (0, 0) for crop in crops):
        return conv
    return _modules().TransposedCropped(OrderedDict(conv=conv, crop=_modules().Crop(crops)))


@builds(Conv2DTranspose)
def _conv2d_transpose(layer: Conv2DTranspose, site: Site) -> Any:
    return _transposed(layer, site, _nn().ConvTranspose2d)


@builds(Conv1DTranspose)
def _conv1d_transpose(layer: Conv1DTranspose, site: Site) -> Any:
    return _transposed(layer, site, _nn().ConvTranspose1d)


@builds(UpSampling2D)
def _up_sampling2d(layer: UpSampling2D, site: Site) -> Any:
    sh, sw = layer.size
    bilinear = layer.interpolation == "bilinear"
    return _nn().Upsample(
        scale_factor=sh if sh == sw else (sh, sw),
        mode=layer.interpolation,
        align_corners=layer.align_corners if bilinear else None,
    )


@builds(Resize)
def _resize(layer: Resize, site: Site) -> Any:
    bilinear = layer.interpolation == "bilinear"
    return _nn().Upsample(
        size=layer.output,
        mode=_TORCH_INTERPOLATIONS[layer.interpolation],
        align_corners=layer.align_corners if bilinear else None,
    )


@builds(Cropping2D)
def _cropping2d(layer: Cropping2D, site: Site) -> Any:
    return _modules().Crop(layer.cropping)


@builds(Cropping1D)
def _cropping1d(layer: Cropping1D, site: Site) -> Any:
    return _modules().Crop((layer.cropping,))


@builds(Slice)
def _slice(layer: Slice, site: Site) -> Any:
    return _modules().SliceAxis(layer.axis % len(site.input), layer.start, layer.stop, layer.step)


@builds(Permute)
def _permute(layer: Permute, site: Site) -> Any:
    return _modules().Permute(layer.dims)


@builds(ChannelShuffle)
def _channel_shuffle(layer: ChannelShuffle, site: Site) -> Any:
    return _nn().ChannelShuffle(layer.groups)


@builds(Pad2D)
def _pad2d(layer: Pad2D, site: Site) -> Any:
    nn = _nn()
    (top, bottom), (left, right) = layer.padding
    sides = (left, right, top, bottom)
    if layer.mode == "reflect":
        return nn.ReflectionPad2d(sides)
    if layer.mode == "replicate":
        return nn.ReplicationPad2d(sides)
    return nn.ConstantPad2d(sides, layer.value)


@builds(ZeroPadding1D)
def _zero_padding1d(layer: ZeroPadding1D, site: Site) -> Any:
    return _nn().ZeroPad1d(layer.padding)


__all__ = ["BUILDERS", "RULES", "builds", "from_torch", "maps", "read_from", "to_torch"]
