"""spec <-> PyTorch: ``to_torch(model)`` builds an ``nn.Module``; ``from_torch(module, shape)`` reads one.

``to_torch`` keeps the spec's layers in order, one torch module per leaf, named after the layer.
Standard torch modules are used wherever one means the same thing, so the counting tools
(torchinfo, fvcore, thop, ptflops) see the modules they know. Where torch has no single module:

* Keras ``same`` padding that is not symmetric (stride 2 puts the odd pixel bottom/right) becomes
  a ``SamePadded`` container: ``nn.ZeroPad2d`` then the convolution with no padding of its own;
* ``SeparableConv2D`` is a ``SeparableConv2d`` container: depthwise conv (no bias), 1x1 conv;
* ``Dense`` on a feature map is a ``PixelwiseLinear`` container: ``nn.Linear`` on the channel axis;
* ``GlobalAvgPool2D`` without ``keepdims`` is ``GlobalAvgPool2d`` (adaptive average pool, flatten);
* ``Parallel`` is a ``Branches`` container whose merge is ``+`` or ``torch.cat`` along channels.

``from_torch`` reads those back, plus plain ``nn.Sequential`` nests and custom modules whose
``forward`` torch.fx can trace (adds, concatenations, ``view``/``flatten``, functional
activations). Anything else is an ``UnsupportedLayerError`` naming the module or op.
"""

from __future__ import annotations

import functools
import operator
from collections import OrderedDict
from types import SimpleNamespace
from typing import Any, cast

from convcost.errors import GeometryError, SpecError, UnsupportedLayerError
from convcost.interop import require
from convcost.shapes import explicit_padding, infer_shapes, output_shape
from convcost.spec import (
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
    Pair,
    Parallel,
    Reshape,
    SeparableConv2D,
    Sequential,
    Shape,
    ZeroPadding2D,
)

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
}
_MODULE_ACTIVATIONS = {torch_name: spec for spec, torch_name in _ACTIVATION_MODULES.items() if spec != "swish"}


@functools.cache
def classes() -> SimpleNamespace:
    """The container modules ``to_torch`` uses (defined once torch is imported)."""
    torch = require("torch", "torch")
    nn = torch.nn

    class SamePadded(nn.Sequential):  # type: ignore[misc,name-defined]
        """Keras ``same`` padding that torch's symmetric ``padding`` cannot express: pad, then the layer."""

    class SeparableConv2d(nn.Sequential):  # type: ignore[misc,name-defined]
        """Keras SeparableConv2D: ``depthwise`` (grouped, no bias) then ``pointwise`` (1x1, the bias)."""

    class PixelwiseLinear(nn.Module):  # type: ignore[misc,name-defined]
        """Keras Dense on a feature map: one ``nn.Linear`` applied to the channels of every pixel."""

        def __init__(self, in_features: int, out_features: int, bias: bool) -> None:
            super().__init__()
            self.linear = nn.Linear(in_features, out_features, bias=bias)

        def forward(self, x: Any) -> Any:
            return self.linear(x.movedim(1, -1)).movedim(-1, 1)

    class GlobalAvgPool2d(nn.Module):  # type: ignore[misc,name-defined]
        """Mean over the whole map, flattened to ``(N, C)`` (Keras GlobalAveragePooling2D)."""

        def forward(self, x: Any) -> Any:
            return torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1)

    class Reshape(nn.Module):  # type: ignore[misc,name-defined]
        """Reshape every sample to ``target`` (channels-first)."""

        def __init__(self, target: tuple[int, ...]) -> None:
            super().__init__()
            self.target = tuple(target)

        def forward(self, x: Any) -> Any:
            return x.reshape(x.shape[0], *self.target)

        def extra_repr(self) -> str:
            return f"target={self.target}"

    class Branches(nn.Module):  # type: ignore[misc,name-defined]
        """Parallel branches on one input, merged by ``add`` (residual) or ``concat`` (channels)."""

        def __init__(self, branches: OrderedDict[str, Any], merge: str) -> None:
            super().__init__()
            self.branches = nn.ModuleDict(branches)
            self.merge = merge

        def forward(self, x: Any) -> Any:
            outputs = [branch(x) for branch in self.branches.values()]
            if self.merge == "concat":
                return torch.cat(outputs, dim=1)
            total = outputs[0]
            for out in outputs[1:]:
                total = total + out
            return total

        def extra_repr(self) -> str:
            return f"merge={self.merge!r}"

    return SimpleNamespace(
        SamePadded=SamePadded,
        SeparableConv2d=SeparableConv2d,
        PixelwiseLinear=PixelwiseLinear,
        GlobalAvgPool2d=GlobalAvgPool2d,
        Reshape=Reshape,
        Branches=Branches,
    )


# --------------------------------------------------------------------------------------------
# spec -> torch


def to_torch(model: Model) -> Any:
    """An ``nn.Sequential`` with the spec's layers in order (children named after the layers)."""
    require("torch", "torch")
    module, _ = _block(model.body, model.input)
    return module


def _module_name(name: str) -> str:
    # torch forbids '.' in child names; '/' never occurs in spec names used as children
    return name.replace(".", "_") or "_"


def _block(block: Sequential, shape: Shape) -> tuple[Any, Shape]:
    import torch

    children: OrderedDict[str, Any] = OrderedDict()
    for layer in block.layers:
        module, shape = _layer(layer, shape)
        children[_module_name(layer.name)] = module
    return torch.nn.Sequential(children), shape


def _layer(layer: Layer, shape: Shape) -> tuple[Any, Shape]:
    import torch

    nn = torch.nn
    c = classes()
    if isinstance(layer, Sequential):
        return _block(layer, shape)
    if isinstance(layer, Parallel):
        branches: OrderedDict[str, Any] = OrderedDict()
        outputs = []
        for branch in layer.branches:
            module, out = _block(branch, shape)
            branches[_module_name(branch.name)] = module
            outputs.append(out)
        from convcost.shapes import merge_shape

        return c.Branches(branches, layer.merge), merge_shape(layer, outputs)
    out = output_shape(layer, shape)
    if isinstance(layer, Conv2D):
        conv = lambda pad: nn.Conv2d(  # noqa: E731
            shape[0], layer.filters, layer.kernel, layer.stride, pad, layer.dilation, layer.groups, layer.bias
        )
        return _padded(layer, shape, conv), out
    if isinstance(layer, DepthwiseConv2D):
        M = shape[0]
        depthwise = lambda pad: nn.Conv2d(  # noqa: E731
            M, M * layer.depth_multiplier, layer.kernel, layer.stride, pad, layer.dilation, M, layer.bias
        )
        return _padded(layer, shape, depthwise), out
    if isinstance(layer, SeparableConv2D):
        M = shape[0] * layer.depth_multiplier
        pad = _torch_padding(
            layer, shape, cast(Pair, layer.kernel), cast(Pair, layer.stride), cast(Pair, layer.dilation)
        )
        dw_pad = pad if isinstance(pad, tuple) and len(pad) == 2 else 0
        modules: OrderedDict[str, Any] = OrderedDict()
        if not (isinstance(pad, tuple) and len(pad) == 2):
            modules["pad"] = nn.ZeroPad2d(pad)
        modules["depthwise"] = nn.Conv2d(
            shape[0], M, layer.kernel, layer.stride, dw_pad, layer.dilation, shape[0], bias=False
        )
        modules["pointwise"] = nn.Conv2d(M, layer.filters, 1, bias=layer.bias)
        return c.SeparableConv2d(modules), out
    if isinstance(layer, Dense):
        if len(shape) == 1:
            return nn.Linear(shape[0], layer.units, bias=layer.bias), out
        return c.PixelwiseLinear(shape[0], layer.units, layer.bias), out
    if isinstance(layer, BatchNorm):
        if layer.center != layer.scale:
            raise UnsupportedLayerError(
                f"layer '{layer.name}': torch BatchNorm has both gamma and beta or neither "
                f"(center={layer.center}, scale={layer.scale})"
            )
        norm = nn.BatchNorm1d if len(shape) == 1 else nn.BatchNorm2d
        return norm(shape[0], affine=layer.center), out
    if isinstance(layer, Activation):
        if layer.function == "softmax":
            return nn.Softmax(dim=1), out
        return getattr(nn, _ACTIVATION_MODULES[layer.function])(), out
    if isinstance(layer, (MaxPool2D, AvgPool2D)):
        return _pool(layer, shape), out
    if isinstance(layer, GlobalAvgPool2D):
        return (nn.AdaptiveAvgPool2d(1) if layer.keepdims else c.GlobalAvgPool2d()), out
    if isinstance(layer, Flatten):
        return nn.Flatten(), out
    if isinstance(layer, Dropout):
        return nn.Dropout(layer.rate), out
    if isinstance(layer, Reshape):
        return c.Reshape(layer.target), out
    if isinstance(layer, ZeroPadding2D):
        (top, bottom), (left, right) = cast(ExplicitPadding, layer.padding)
        return nn.ZeroPad2d((left, right, top, bottom)), out
    raise UnsupportedLayerError(f"layer '{layer.name}': no torch module for {type(layer).__name__}")


def _torch_padding(layer: Any, shape: Shape, kernel: Pair, stride: Pair, dilation: Pair) -> Any:
    """torch ``padding=(ph, pw)`` when symmetric, else ``(left, right, top, bottom)`` for ZeroPad2d."""
    (top, bottom), (left, right) = explicit_padding(layer.padding, (shape[1], shape[2]), kernel, stride, dilation)
    if top == bottom and left == right:
        return (top, left)
    return (left, right, top, bottom)


def _padded(layer: Any, shape: Shape, make: Any) -> Any:
    pad = _torch_padding(layer, shape, layer.kernel, layer.stride, layer.dilation)
    if len(pad) == 2:
        return make(pad)
    import torch

    return classes().SamePadded(OrderedDict(pad=torch.nn.ZeroPad2d(pad), conv=make(0)))


def _pool(layer: MaxPool2D | AvgPool2D, shape: Shape) -> Any:
    import torch

    nn = torch.nn
    pad = _torch_padding(layer, shape, cast(Pair, layer.pool), cast(Pair, layer.stride), (1, 1))
    if len(pad) != 2 and isinstance(layer, MaxPool2D):
        # Keras 'same' max pooling never picks a padded pixel: pad with -inf, then pool unpadded
        padded = OrderedDict(pad=nn.ConstantPad2d(pad, float("-inf")), pool=nn.MaxPool2d(layer.pool, layer.stride))
        return classes().SamePadded(padded)
    if len(pad) != 2 or 2 * max(pad) > min(cast(Pair, layer.pool)):
        # torch pools pad symmetrically, at most half the window; an average over zeros would be wrong
        raise UnsupportedLayerError(
            f"layer '{layer.name}': torch pooling cannot pad {list(pad)} for a {list(cast(Pair, layer.pool))} window"
        )
    if isinstance(layer, MaxPool2D):
        return nn.MaxPool2d(layer.pool, layer.stride, pad)
    # Keras 'same' leaves the padding out of the mean; explicit padding is torch's own (counted)
    return nn.AvgPool2d(layer.pool, layer.stride, pad, count_include_pad=layer.padding != "same")


# --------------------------------------------------------------------------------------------
# torch -> spec


def from_torch(module: Any, input_shape: Shape, *, name: str | None = None, batch: int = 1) -> Model:
    """Read ``module`` (input ``(C, H, W)`` per sample) into a spec; refuse what it cannot represent.

    The module is run once on zeros to check that the spec's output shape is the module's.
    """
    torch = require("torch", "torch")
    shape = tuple(input_shape)
    layers = _read(module, "")
    body = layers if isinstance(layers, Sequential) else Sequential((layers,))
    model = Model(name or type(module).__name__, shape, body, batch=batch)
    try:
        rows = infer_shapes(model)
    except GeometryError as e:
        raise UnsupportedLayerError(f"{type(module).__name__}: the spec read from it does not fit: {e}") from None
    expected = rows[-1][3] if rows else shape
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


def _read(module: Any, name: str) -> Layer:
    import torch

    nn = torch.nn
    c = classes()
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
    if kind is c.Branches:
        branches = tuple(_as_sequential(_read(branch, key), key) for key, branch in module.branches.items())
        return Parallel(branches, merge=module.merge, name=name)
    if kind is nn.Sequential:
        return Sequential(tuple(_read(child, child_name) for child_name, child in module.named_children()), name=name)
    leaf = _leaf(module, name)
    if leaf is not None:
        return leaf
    return _trace(module, name)


def _as_sequential(layer: Layer, name: str) -> Sequential:
    return layer if isinstance(layer, Sequential) else Sequential((layer,), name=name)


def _with_padding(layer: Layer, padding: ExplicitPadding) -> Layer:
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


def _trace(module: Any, name: str) -> Layer:
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

    def follow(self, value: Any) -> tuple[list[Layer], Any, Any]:
        """Layers from ``value`` on, until the output or a merge node: (layers, that node, the value it reads)."""
        layers: list[Layer] = []
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
        ends: list[tuple[Any, list[Layer]]] = []
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

    def layer(self, node: Any) -> Layer:
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


__all__ = ["classes", "from_torch", "to_torch"]

_ = SpecError  # re-exported errors callers may catch
