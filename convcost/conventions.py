"""Named counting conventions: which work and which parameters a total includes.

Tools disagree about what a layer "costs"; convcost names the rule it applies. Each convention is
a function ``(layer, input shape, output shape) -> Cost`` for one sample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from convcost import cost
from convcost.cost import Cost
from convcost.errors import UnknownConventionError
from convcost.shapes import explicit_padding
from convcost.spec import (
    Activation,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    GlobalAvgPool2D,
    Layer,
    MaxPool2D,
    Pair,
    SeparableConv2D,
    Shape,
    elements,
)

LayerCost = Callable[[Layer, Shape, Shape], Cost]


@dataclass(frozen=True)
class Convention:
    name: str
    summary: str
    layer_cost: LayerCost
    #: the tool reports one sample whatever the batch (ptflops): the report does not scale by it
    per_sample: bool = False
    #: the element-wise work that FLOPs add to 2 x multiply-adds under this convention
    flops_rule: str = "nothing element-wise"
    #: the tool's one "MACs" count holds its element-wise operations too (calflops keeps them apart)
    macs_include_elementwise: bool = True


# FLOPs: one multiply-add is two floating-point operations; an element-wise operation (a bias add,
# a BN scale or shift, an activation, a pooled element) is one. Most tools report a single count
# in which an element-wise operation weighs as much as a multiply-add; that count is their "MACs".


def _lumped(trainable: int, multiply_adds: int, elementwise: int = 0) -> Cost:
    """A tool's single count, multiply-adds and element-wise operations alike."""
    return Cost(trainable=trainable, macs=multiply_adds + elementwise, flops=2 * multiply_adds + elementwise)


def paper(layer: Layer, in_shape: Shape, out_shape: Shape) -> Cost:
    """MobileNet paper: conv and fully-connected multiply-adds and weights (with bias); nothing else."""
    c = cost.weighted(layer, in_shape, out_shape) or Cost()
    return Cost(trainable=c.trainable, macs=c.macs, flops=2 * c.macs)


def keras(layer: Layer, in_shape: Shape, out_shape: Shape) -> Cost:
    """``model.count_params()``: the paper's counts plus BatchNorm's 2 trainable + 2 frozen per channel."""
    if isinstance(layer, BatchNorm):
        return cost.batchnorm_keras(layer, in_shape)
    return paper(layer, in_shape, out_shape)


# The five PyTorch tools, each pinned by reading its source (versions in pyproject's test extra) and
# measured on single layers (tests/test_conventions_tools.py). They see the modules
# convcost.interop.torch.to_torch builds; "elements" below is per sample. Every tool counts the
# torch parameters: conv/linear weights and biases, BN gamma and beta (all trainable; BN's running
# statistics are buffers, not parameters).

_CONVS = (Conv2D, DepthwiseConv2D, SeparableConv2D)


def torch_params(layer: Layer, in_shape: Shape, out_shape: Shape) -> int:
    """The parameters the torch module of ``layer`` holds."""
    if isinstance(layer, BatchNorm):
        return 2 * in_shape[0] if layer.center and layer.scale else 0
    weighted = cost.weighted(layer, in_shape, out_shape)
    return weighted.trainable if weighted else 0


def _biases(layer: Layer, out_shape: Shape) -> int:
    """A conv's or Dense's bias: one per output channel."""
    return out_shape[0] if isinstance(layer, (*_CONVS, Dense)) and layer.bias else 0


def _positions(shape: Shape) -> int:
    return elements(shape[1:])


def torchinfo(layer: Layer, in_shape: Shape, out_shape: Shape) -> Cost:
    """torchinfo 1.8 ``LayerInfo.calculate_macs``: a module whose class name contains "Conv" costs its
    weight and bias counts times the output pixels; any other module with parameters (Linear,
    BatchNorm) costs its parameter count once per sample. Nothing else counts.

    For FLOPs, the bias adds and BN's per-channel count are the element-wise part."""
    params = torch_params(layer, in_shape, out_shape)
    bias = _biases(layer, out_shape)
    if isinstance(layer, BatchNorm):
        return _lumped(params, 0, params)
    # a SeparableConv2D's two convs share the output size (the pointwise is 1x1, stride 1)
    times = _positions(out_shape) if isinstance(layer, _CONVS) else 1
    return _lumped(params, (params - bias) * times, bias * times)


def fvcore(layer: Layer, in_shape: Shape, out_shape: Shape) -> Cost:
    """fvcore ``FlopCountAnalysis`` of the model in eval mode: conv and linear multiply-adds without
    bias; ``aten::batch_norm`` (eval) one per element, two with gamma/beta; adaptive average pooling
    one per input element; activations, pooling windows, adds and concatenations nothing."""
    params = torch_params(layer, in_shape, out_shape)
    if isinstance(layer, BatchNorm):
        return _lumped(params, 0, elements(in_shape) * (2 if params else 1))
    if isinstance(layer, GlobalAvgPool2D):
        return _lumped(0, 0, elements(in_shape))
    return _lumped(params, paper(layer, in_shape, out_shape).macs)


def thop(layer: Layer, in_shape: Shape, out_shape: Shape) -> Cost:
    """thop ``profile``: conv and linear multiply-adds without bias; BatchNorm 2 per element, 4 with
    gamma/beta; softmax 3*C - 1 per position; AvgPool2d one per output element; AdaptiveAvgPool2d
    (H*W + 1) per output element; ReLU, max pooling and modules it has no rule for nothing."""
    params = torch_params(layer, in_shape, out_shape)
    if isinstance(layer, BatchNorm):
        return _lumped(params, 0, 2 * elements(in_shape) * (2 if params else 1))
    if isinstance(layer, Activation) and layer.function == "softmax":
        C = in_shape[0]
        return _lumped(0, 0, (3 * C - 1) * _positions(in_shape))
    if isinstance(layer, AvgPool2D):
        return _lumped(0, 0, elements(out_shape))
    if isinstance(layer, GlobalAvgPool2D):
        # keepdims is nn.AdaptiveAvgPool2d; the flattening GlobalAvgPool2d is a module thop does not know
        return _lumped(0, 0, (_positions(in_shape) + 1) * in_shape[0] if layer.keepdims else 0)
    return _lumped(params, paper(layer, in_shape, out_shape).macs)


#: ptflops activations: hooked modules count their output elements, and F.relu / F.elu / F.gelu /
#: F.silu / F.softmax are patched to count their input elements too, so a module that both is
#: hooked and calls a patched function (ReLU, ELU, GELU) counts every element twice.
_PTFLOPS_ACTIVATIONS = {
    "relu": 2,
    "elu": 2,
    "gelu": 2,
    "relu6": 1,
    "leaky_relu": 1,
    "silu": 1,
    "swish": 1,
    "softmax": 1,
}


def _pooled_elements(layer: MaxPool2D | AvgPool2D, in_shape: Shape) -> int:
    """Elements the torch pool module reads: padding torch cannot put inside the pool (asymmetric
    Keras 'same') is a pad module before it, so the pool sees the padded map."""
    window, stride = cast(Pair, layer.pool), cast(Pair, layer.stride)
    (top, bottom), (left, right) = explicit_padding(layer.padding, (in_shape[1], in_shape[2]), window, stride, (1, 1))
    if top == bottom and left == right:
        return elements(in_shape)
    return in_shape[0] * (in_shape[1] + top + bottom) * (in_shape[2] + left + right)


def ptflops(layer: Layer, in_shape: Shape, out_shape: Shape) -> Cost:
    """ptflops 0.7 ``get_model_complexity_info`` (pytorch backend), always for one sample: conv and
    linear multiply-adds plus one per output element for the bias; BatchNorm one per element, two
    with gamma/beta; ReLU/ELU/GELU and every nn pooling module twice per element (module hook plus
    patched functional); ReLU6, LeakyReLU, SiLU, softmax once; other activations nothing."""
    params = torch_params(layer, in_shape, out_shape)
    if isinstance(layer, BatchNorm):
        return _lumped(params, 0, elements(in_shape) * (2 if params else 1))
    if isinstance(layer, Activation):
        return _lumped(0, 0, _PTFLOPS_ACTIVATIONS.get(layer.function, 0) * elements(in_shape))
    if isinstance(layer, (MaxPool2D, AvgPool2D)):
        return _lumped(0, 0, 2 * _pooled_elements(layer, in_shape))
    if isinstance(layer, GlobalAvgPool2D):
        # nn.AdaptiveAvgPool2d is hooked and patched; the flattening GlobalAvgPool2d only patched
        return _lumped(0, 0, (2 if layer.keepdims else 1) * elements(in_shape))
    # one bias add per output element (Dense: per output element at every pixel)
    bias_adds = elements(out_shape) if _biases(layer, out_shape) else 0
    return _lumped(params, paper(layer, in_shape, out_shape).macs, bias_adds)


#: calflops patches these torch.nn.functional activations; nn.ReLU6 calls F.hardtanh, which it
#: does not patch, and Sigmoid, Tanh, SELU, Softplus, Hardswish, Hardsigmoid call unpatched functions
_CALFLOPS_ACTIVATIONS = frozenset({"relu", "leaky_relu", "elu", "gelu", "silu", "swish", "softmax"})


def calflops(layer: Layer, in_shape: Shape, out_shape: Shape) -> Cost:
    """calflops 0.3 ``calculate_flops`` (eval mode) reports MACs and FLOPs apart. MACs: conv and
    linear multiply-adds without bias, nothing else. FLOPs: 2 x those, plus one per output element
    for a conv's bias (not a Linear's), BatchNorm one per element (two with gamma/beta), one per
    input element of ReLU, LeakyReLU, ELU, GELU, SiLU, softmax and of every pooling function."""
    params = torch_params(layer, in_shape, out_shape)
    multiply_adds = paper(layer, in_shape, out_shape).macs
    elementwise = 0
    if isinstance(layer, _CONVS) and layer.bias:
        elementwise = elements(out_shape)
    elif isinstance(layer, BatchNorm):
        elementwise = elements(in_shape) * (2 if params else 1)
    elif isinstance(layer, Activation) and layer.function in _CALFLOPS_ACTIVATIONS:
        elementwise = elements(in_shape)
    elif isinstance(layer, (MaxPool2D, AvgPool2D)):
        elementwise = _pooled_elements(layer, in_shape)
    elif isinstance(layer, GlobalAvgPool2D):
        elementwise = elements(in_shape)  # both torch forms call F.adaptive_avg_pool2d
    return Cost(trainable=params, macs=multiply_adds, flops=2 * multiply_adds + elementwise)


CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention(
            "paper",
            "conv and fully-connected multiply-adds and weights (biases included); no BN, activation or pooling",
            paper,
        ),
        Convention(
            "keras",
            "params as Keras count_params(): BN adds 2 trainable + 2 non-trainable per channel; multiply-adds as paper",
            keras,
        ),
        Convention(
            "torchinfo",
            "torchinfo 1.8 summary(): convs (weights + bias) x output pixels, Linear and BN their params, "
            "batch included",
            torchinfo,
            flops_rule="conv bias adds per output element, a Linear's biases and BN's 2 per channel once per sample",
        ),
        Convention(
            "fvcore",
            "fvcore FlopCountAnalysis (eval mode): conv/linear multiply-adds without bias, BN 1-2 per element, "
            "adaptive avg pool 1 per input element",
            fvcore,
            flops_rule="BN 1-2 per element, adaptive avg pool 1 per input element",
        ),
        Convention(
            "thop",
            "thop profile(): conv/linear multiply-adds without bias, BN 2-4 per element, softmax and avg pools",
            thop,
            flops_rule="BN 2-4 per element, softmax 3C-1 per position, avg pools 1 per output element",
        ),
        Convention(
            "ptflops",
            "ptflops 0.7 (pytorch backend), one sample whatever the batch: bias adds, BN, ReLU and pools per element",
            ptflops,
            per_sample=True,
            flops_rule="bias adds, BN 1-2 per element, activations 1-2 per element, pools 2 per input element",
        ),
        Convention(
            "calflops",
            "calflops 0.3 calculate_flops(): MACs are conv/linear multiply-adds only; FLOPs add element-wise work",
            calflops,
            flops_rule="conv bias adds, BN 1-2 per element, ReLU/ELU/GELU/SiLU/softmax and pools 1 per input element",
            macs_include_elementwise=False,
        ),
    )
}


def get_convention(name: str) -> Convention:
    try:
        return CONVENTIONS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, CONVENTIONS, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise UnknownConventionError(f"unknown convention {name!r}{hint} (known: {', '.join(CONVENTIONS)})") from None
