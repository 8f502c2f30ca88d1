"""spec <-> PyTorch: ``to_torch(model)`` builds an ``nn.Module``; ``from_torch(module, shape)`` reads one.

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

``from_torch`` reads those back, plus plain ``nn.Sequential`` nests and custom modules whose
``forward`` torch.fx can trace (adds, concatenations, ``view``/``flatten``, functional
activations). Anything else is an ``UnsupportedLayerError`` naming the module or op.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar, cast

from convcost.errors import GeometryError, MissingRuleError, UnsupportedLayerError
from convcost.geometry import explicit_padding, window_output
from convcost.graph import GraphBuilder
from convcost.interop import require
from convcost.layer import ExplicitPadding, Layer, Pair, Shape, Site
from convcost.layers import (
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
from convcost.spec import Element, Parallel, Sequential

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
_MODULE_ACTIVATIONS = {
    torch_name: spec for spec, torch_name in _ACTIVATION_MODULES.items() if spec not in ("swish", "gelu_tanh")
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
# torch -> spec


def from_torch(module: Any, input_shape: Shape, *, name: str | None = None, batch: int = 1) -> Model:
    """Read ``module`` (input ``(C, H, W)`` per sample) into a spec; refuse what it cannot represent.

    The module is run once on zeros to check that the spec's output shape is the module's.
    """
    torch = require("torch", "torch")
    from convcost.interop.torch_modules import GraphModule

    shape = tuple(input_shape)
    label = name or type(module).__name__
    if isinstance(module, GraphModule):
        model = _read_graph(module, label, shape, batch)
    else:
        element = _read(module, "")
        body = element if isinstance(element, Sequential) else Sequential((element,))
        model = Model(label, shape, body, batch=batch)
    try:
        expected = model.shaped[-1].output if model.shaped else shape
    except GeometryError as e:
        raise UnsupportedLayerError(f"{type(module).__name__}: the spec read from it does not fit: {e}") from None
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            got = tuple(module(torch.zeros(1, *shape)).shape[1:])
    finally:
        module.train(was_training)
    if got != expected:
        raise UnsupportedLayerError(
            f"{type(module).__name__}: the module gives {list(got)} but its spec gives {list(expected)}"
        )
    return model


def _read_graph(module: Any, name: str, shape: Shape, batch: int) -> Model:
    """A ``GraphModule`` (what ``to_torch`` builds) is a graph already: each child is one node."""
    builder = GraphBuilder()
    for input_name in module.input_names:
        builder.input(input_name, shape)
    owners: dict[str, str] = {}  # module key -> the first node that called it
    for path, key, reads in module.wiring:
        child = module.nodes[key]
        leaf = path.rsplit("/", 1)[-1]
        merges = {_modules().Sum: Add, _modules().ChannelConcat: Concat}
        element = merges[type(child)](name=leaf) if type(child) in merges else _read(child, leaf)
        if not isinstance(element, Layer):
            raise UnsupportedLayerError(f"module '{path}': a block inside a graph node")
        builder.add(path, element, reads, shares=owners.get(key, ""))
        owners.setdefault(key, path)
    return Model.from_graph(name, builder.graph(module.output_names), batch)


def _read(module: Any, name: str) -> Element:
    import torch

    nn = torch.nn
    c = _modules()
    kind = type(module)
    if kind is c.SamePadded:
        pad, inner = list(module.children())
        layer = _read(inner, name)
        fill = 0.0 if type(pad) is nn.ZeroPad2d else getattr(pad, "value", None)
        if fill != (float("-inf") if isinstance(layer, MaxPool2D) else 0.0):
            raise UnsupportedLayerError(f"module '{name}': SamePadded pads with {fill}")
        left, right, top, bottom = pad.padding
        return _with_padding(layer, ((top, bottom), (left, right)))
    if kind is c.SeparableConv2d:
        parts = dict(module.named_children())
        dw, pw = parts["depthwise"], parts["pointwise"]
        padding: Any = _conv_padding(dw, name)
        if "pad" in parts:
            left, right, top, bottom = parts["pad"].padding
            padding = ((top, bottom), (left, right))
        return SeparableConv2D(
            pw.out_channels,
            dw.kernel_size,
            stride=dw.stride,
            padding=padding,
            depth_multiplier=dw.out_channels // dw.in_channels,
            dilation=dw.dilation,
            bias=pw.bias is not None,
            name=name,
        )
    if kind is c.PixelwiseLinear:
        return Dense(module.linear.out_features, bias=module.linear.bias is not None, name=name)
    if kind is c.GlobalAvgPool2d:
        return GlobalAvgPool2D(name=name)
    if kind is c.Reshape:
        return Reshape(module.target, name=name)
    if kind is nn.Sequential:
        return Sequential(tuple(_read(child, child_name) for child_name, child in module.named_children()), name=name)
    leaf = _leaf(module, name)
    if leaf is not None:
        return leaf
    return _trace(module, name)


def _as_sequential(layer: Element, name: str) -> Sequential:
    return layer if isinstance(layer, Sequential) else Sequential((layer,), name=name)


def _with_padding(layer: Element, padding: ExplicitPadding) -> Layer:
    from dataclasses import replace

    if isinstance(layer, (Conv2D, DepthwiseConv2D, MaxPool2D)) and layer.padding == ((0, 0), (0, 0)):
        return replace(layer, padding=padding)
    raise UnsupportedLayerError(f"layer '{layer.name}': SamePadded must hold an unpadded convolution")


def _conv_padding(conv: Any, name: str) -> Any:
    if isinstance(conv.padding, str):
        if conv.padding == "valid":
            return "valid"
        raise UnsupportedLayerError(
            f"module '{name}': torch padding='same' (use explicit padding, or Keras-style 'same' via to_torch)"
        )
    if conv.padding_mode != "zeros":
        raise UnsupportedLayerError(f"module '{name}': padding_mode={conv.padding_mode!r} (only zeros)")
    ph, pw = conv.padding
    return ((ph, ph), (pw, pw))


def _leaf(module: Any, name: str) -> Layer | None:
    """The spec layer for a standard torch leaf module, or None when it is not one."""
    import torch

    nn = torch.nn
    kind = type(module)
    if kind is nn.Conv2d:
        padding = _conv_padding(module, name)
        if module.transposed:
            raise UnsupportedLayerError(f"module '{name}': transposed convolution")
        return Conv2D(
            module.out_channels,
            module.kernel_size,
            stride=module.stride,
            padding=padding,
            dilation=module.dilation,
            groups=module.groups,
            bias=module.bias is not None,
            name=name,
        )
    if kind is nn.Linear:
        return Dense(module.out_features, bias=module.bias is not None, name=name)
    if kind in (nn.BatchNorm1d, nn.BatchNorm2d):
        return BatchNorm(center=module.affine, scale=module.affine, name=name)
    if kind is nn.Softmax:
        if module.dim not in (1, -1):
            raise UnsupportedLayerError(f"module '{name}': Softmax over dim {module.dim} (only channels)")
        return Activation("softmax", name=name)
    if kind.__module__.startswith("torch.nn") and kind.__name__ in _MODULE_ACTIVATIONS:
        return Activation(_MODULE_ACTIVATIONS[kind.__name__], name=name)
    if kind in (nn.MaxPool2d, nn.AvgPool2d):
        if module.ceil_mode:
            raise UnsupportedLayerError(f"module '{name}': ceil_mode=True pooling")
        pad = _pair(module.padding)
        pool_class = MaxPool2D if kind is nn.MaxPool2d else AvgPool2D
        if kind is nn.MaxPool2d and _pair(module.dilation) != (1, 1):
            raise UnsupportedLayerError(f"module '{name}': dilated max pooling")
        return pool_class(
            _pair(module.kernel_size),
            stride=_pair(module.stride or module.kernel_size),
            padding=((pad[0], pad[0]), (pad[1], pad[1])),
            name=name,
        )
    if kind is nn.AdaptiveAvgPool2d:
        if _pair(module.output_size) != (1, 1):
            raise UnsupportedLayerError(f"module '{name}': AdaptiveAvgPool2d to {module.output_size} (only 1)")
        return GlobalAvgPool2D(keepdims=True, name=name)
    if kind is nn.Flatten:
        if module.start_dim != 1 or module.end_dim != -1:
            raise UnsupportedLayerError(f"module '{name}': Flatten({module.start_dim}, {module.end_dim})")
        return Flatten(name=name)
    if kind is nn.Dropout:
        return Dropout(module.p, name=name)
    if kind is nn.ZeroPad2d:
        left, right, top, bottom = module.padding
        return ZeroPadding2D(((top, bottom), (left, right)), name=name)
    if not any(True for _ in module.children()) and any(True for _ in module.parameters(recurse=False)):
        raise UnsupportedLayerError(f"module '{name}': unsupported {kind.__name__}")
    return None


def _pair(value: Any) -> Pair:
    return (value, value) if isinstance(value, int) else (value[0], value[1])


# --------------------------------------------------------------------------------------------
# torch.fx: custom modules with adds, concatenations and reshapes


_SHAPE_METHODS = frozenset({"size", "dim"})
_FUNCTION_ACTIVATIONS = {
    "relu": "relu",
    "relu6": "relu6",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "silu": "silu",
    "gelu": "gelu",
    "hardswish": "hard_swish",
    "elu": "elu",
}


def _trace(module: Any, name: str) -> Element:
    import torch
    import torch.fx

    label = name or type(module).__name__

    class OneLevel(torch.fx.Tracer):  # type: ignore[misc,name-defined]
        # every child is read on its own (keeping the nesting), so only this forward is traced
        def is_leaf_module(self, m: Any, qualname: str) -> bool:
            return m is not module

    try:
        graph = OneLevel().trace(module)
    except Exception as e:  # fx raises many kinds: all mean "cannot follow this forward"
        raise UnsupportedLayerError(
            f"module '{label}' ({type(module).__name__}): torch.fx cannot trace its forward: {e}".splitlines()[0]
        ) from None
    return _Graph(module, label, graph).read(name)


def _is_shape(node: Any) -> bool:
    """Nodes that compute sizes (``x.size()[0]``, ``x.shape``), not tensors: they are no layers."""
    if node.op == "call_method" and node.target in _SHAPE_METHODS:
        return True
    if node.op == "call_function" and node.target is getattr and node.args[1] == "shape":
        return True
    return node.op == "call_function" and node.target is operator.getitem and _is_shape(node.args[0])


class _Graph:
    """Turns a traced forward into Sequential / Parallel: every fork must rejoin at an add or a cat."""

    def __init__(self, module: Any, label: str, graph: Any) -> None:
        self.module = module
        self.label = label
        self.graph = graph
        self.children = dict(module.named_children())
        self.used: set[str] = set()
        self.calls: list[str] = []

    def read(self, name: str) -> Sequential:
        inputs = [n for n in self.graph.nodes if n.op == "placeholder"]
        if len(inputs) != 1:
            raise UnsupportedLayerError(f"module '{self.label}': forward takes {len(inputs)} tensors (only one)")
        layers, end, _ = self.follow(inputs[0])
        if end is None or end.op != "output":
            raise UnsupportedLayerError(f"module '{self.label}': a merge ({self.describe(end)}) outside a fork")
        return Sequential(tuple(layers), name=name)

    def tensor_users(self, node: Any) -> list[Any]:
        return [user for user in node.users if not _is_shape(user)]

    def is_merge(self, node: Any) -> bool:
        return self.merge_kind(node) is not None

    def merge_kind(self, node: Any) -> str | None:
        import torch

        if node.op == "call_function" and node.target in (operator.add, torch.add):
            return "add"
        if node.op == "call_method" and node.target == "add":
            return "add"
        if node.op == "call_function" and node.target in (torch.cat, torch.concat):
            return "concat"
        return None

    def merge_inputs(self, node: Any) -> list[Any]:
        if self.merge_kind(node) == "concat":
            tensors = node.args[0]
            dim = node.args[1] if len(node.args) > 1 else node.kwargs.get("dim", 0)
            if dim != 1:
                raise UnsupportedLayerError(f"module '{self.label}': {node.name} concatenates along dim {dim}")
            return list(tensors)
        args = list(node.args[:2])
        if len(node.args) > 2 or node.kwargs or not all(hasattr(a, "op") for a in args):
            raise UnsupportedLayerError(f"module '{self.label}': {node.name} adds something other than two tensors")
        return args

    def follow(self, value: Any) -> tuple[list[Element], Any, Any]:
        """Layers from ``value`` on, until the output or a merge node: (layers, that node, the value it reads)."""
        layers: list[Element] = []
        while True:
            users = self.tensor_users(value)
            if not users:
                raise UnsupportedLayerError(f"module '{self.label}': the result of {value.name} is never used")
            if len(users) == 1:
                user = users[0]
                if user.op == "output" or self.is_merge(user):
                    return layers, user, value
                layers.append(self.layer(user))
                value = user
                continue
            parallel, value = self.fork(value, users)
            layers.append(parallel)

    def fork(self, start: Any, users: list[Any]) -> tuple[Parallel, Any]:
        ends: list[tuple[Any, list[Element]]] = []
        merges = set()
        for user in users:
            if self.is_merge(user):
                ends.append((start, []))
                merges.add(user)
                continue
            first = self.layer(user)
            rest, merge, end = self.follow(user)
            if merge.op == "output":
                raise UnsupportedLayerError(f"module '{self.label}': branch from {start.name} never rejoins")
            ends.append((end, [first, *rest]))
            merges.add(merge)
        if len(merges) != 1:
            names = ", ".join(sorted(m.name for m in merges))
            raise UnsupportedLayerError(f"module '{self.label}': branches from {start.name} rejoin at {names}")
        merge = merges.pop()
        inputs = self.merge_inputs(merge)
        if sorted(id(i) for i in inputs) != sorted(id(e) for e, _ in ends):
            raise UnsupportedLayerError(f"module '{self.label}': {merge.name} merges tensors from outside the fork")
        order = {id(node): i for i, node in enumerate(inputs)}
        ends.sort(key=lambda pair: order[id(pair[0])])
        branches = tuple(Sequential(tuple(layers), name=f"branch_{i}") for i, (_, layers) in enumerate(ends))
        return Parallel(branches, merge=cast(str, self.merge_kind(merge)), name=merge.name), merge

    def describe(self, node: Any) -> str:
        return "nothing" if node is None else f"{node.op} {node.target}"

    def layer(self, node: Any) -> Element:
        import torch

        F = torch.nn.functional
        if node.op == "call_module":
            target = str(node.target)
            child = self.module.get_submodule(target)
            name = target
            if target in self.used:
                # torchvision calls one nn.ReLU several times: harmless without weights, each call a row
                if any(True for _ in child.parameters()):
                    raise UnsupportedLayerError(
                        f"module '{self.label}': child '{target}' is called twice (shared weights)"
                    )
                name = f"{target}_{sum(1 for used in self.calls if used == target)}"
            self.used.add(target)
            self.calls.append(target)
            if len(self.tensor_args(node)) != 1 or node.kwargs:
                raise UnsupportedLayerError(f"module '{self.label}': child '{target}' takes extra arguments")
            return _read(child, name)
        if node.op in ("call_function", "call_method"):
            target = node.target
            key = target if isinstance(target, str) else getattr(target, "__name__", "")
            if len(self.tensor_args(node)) != 1:
                raise UnsupportedLayerError(f"module '{self.label}': op {key} ({node.name}) takes several tensors")
            if key in _FUNCTION_ACTIVATIONS and (node.op == "call_method" or target in self.functions(key)):
                return Activation(_FUNCTION_ACTIVATIONS[key], name=node.name)
            if key in ("softmax",) and self.arg(node, 1, "dim") in (1, -1):
                return Activation("softmax", name=node.name)
            if (key in ("view", "reshape") and node.op == "call_method") or target is torch.reshape:
                shape = [a for a in (node.args[1:] if node.op == "call_method" else node.args[1])]
                if len(shape) == 2 and shape[1] == -1:
                    return Flatten(name=node.name)
            flatten = key == "flatten" and (node.op == "call_method" or target is torch.flatten)
            if flatten and self.arg(node, 1, "start_dim", 0) == 1 and self.arg(node, 2, "end_dim", -1) == -1:
                return Flatten(name=node.name)
            if key in ("max_pool2d", "avg_pool2d") and getattr(F, key, None) is target:
                return self.pool(node, key)
            if key == "mean" and (node.op == "call_method" or target is torch.mean):
                dims = self.arg(node, 1, "dim")
                if isinstance(dims, (tuple, list)) and sorted(d % 4 for d in dims) == [2, 3]:
                    return GlobalAvgPool2D(keepdims=bool(self.arg(node, 2, "keepdim", False)), name=node.name)
            if target is F.adaptive_avg_pool2d and _pair(self.arg(node, 1, "output_size")) == (1, 1):
                return GlobalAvgPool2D(keepdims=True, name=node.name)
            if target is F.dropout or key == "dropout":
                return Dropout(self.arg(node, 1, "p", 0.5), name=node.name)
            raise UnsupportedLayerError(f"module '{self.label}': unsupported op {key} ({node.name})")
        raise UnsupportedLayerError(f"module '{self.label}': unsupported {node.op} {node.target} ({node.name})")

    def pool(self, node: Any, key: str) -> Layer:
        """``F.max_pool2d(x, k, stride, padding)`` / ``F.avg_pool2d(...)`` with torch's defaults."""
        kernel = _pair(self.arg(node, 1, "kernel_size"))
        stride = self.arg(node, 2, "stride") or kernel
        pad = _pair(self.arg(node, 3, "padding", 0))
        ceil_mode = self.arg(node, 5 if key == "max_pool2d" else 4, "ceil_mode", False)
        dilation = self.arg(node, 4, "dilation", 1) if key == "max_pool2d" else 1
        if ceil_mode or _pair(dilation) != (1, 1):
            raise UnsupportedLayerError(f"module '{self.label}': {key} ({node.name}) with ceil_mode or dilation")
        cls = MaxPool2D if key == "max_pool2d" else AvgPool2D
        return cls(kernel, stride=_pair(stride), padding=((pad[0], pad[0]), (pad[1], pad[1])), name=node.name)

    def functions(self, key: str) -> tuple[Any, ...]:
        import torch

        return tuple(f for f in (getattr(torch, key, None), getattr(torch.nn.functional, key, None)) if f is not None)

    def tensor_args(self, node: Any) -> list[Any]:
        return [a for a in node.all_input_nodes if not _is_shape(a)]

    def arg(self, node: Any, index: int, keyword: str, default: Any = None) -> Any:
        if len(node.args) > index:
            return node.args[index]
        return node.kwargs.get(keyword, default)


__all__ = ["BUILDERS", "builds", "from_torch", "to_torch"]
