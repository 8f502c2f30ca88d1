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


def paper(layer: Layer, in_shape: Shape, out_shape: Shape) -> Cost:
    """MobileNet paper: conv and fully-connected multiply-adds and weights (with bias); nothing else."""
    return cost.weighted(layer, in_shape, out_shape) or Cost()


def keras(layer: Layer, in_shape: Shape, out_shape: Shape) -> Cost:
    """``model.count_params()``: the paper's counts plus BatchNorm's 2 trainable + 2 frozen per channel."""
    if isinstance(layer, BatchNorm):
        return cost.batchnorm_keras(layer, in_shape)
    return paper(layer, in_shape, out_shape)


# The four PyTorch tools, each pinned by reading its source (versions in pyproject's test extra) and
# measured on single layers (tests/test_conventions_tools.py). They see the modules
# convcost.interop.torch.to_torch builds; "elements" below is per sample. Every tool counts the
# torch parameters: conv/linear weights and biases, BN gamma and beta (all trainable; BN's running
# statistics are buffers, not parameters).


def torch_params(layer: Layer, in_shape: Shape, out_shape: Shape) -> int:
    """The parameters the torch module of ``layer`` holds."""
    if isinstance(layer, BatchNorm):
        return 2 * in_shape[0] if layer.center and layer.scale else 0
    weighted = cost.weighted(layer, in_shape, out_shape)
    return weighted.trainable if weighted else 0


def _positions(shape: Shape) -> int:
    return elements(shape[1:])


def torchinfo(layer: Layer, in_shape: Shape, out_shape: Shape) -> Cost:
    """torchinfo 1.8 ``LayerInfo.calculate_macs``: a module whose class name contains "Conv" costs its
    weight and bias counts times the output pixels; any other module with parameters (Linear,
    BatchNorm) costs its parameter count once per sample. Nothing else counts."""
    params = torch_params(layer, in_shape, out_shape)
    if isinstance(layer, (Conv2D, DepthwiseConv2D, SeparableConv2D)):
        # a SeparableConv2D's two convs share the output size (the pointwise is 1x1, stride 1)
        return Cost(trainable=params, macs=params * _positions(out_shape))
    return Cost(trainable=params, macs=params)


def fvcore(layer: Layer, in_shape: Shape, out_shape: Shape) -> Cost:
    """fvcore ``FlopCountAnalysis`` of the model in eval mode: conv and linear multiply-adds without
    bias; ``aten::batch_norm`` (eval) one per element, two with gamma/beta; adaptive average pooling
    one per input element; activations, pooling windows, adds and concatenations nothing."""
    params = torch_params(layer, in_shape, out_shape)
    if isinstance(layer, BatchNorm):
        return Cost(trainable=params, macs=elements(in_shape) * (2 if params else 1))
    if isinstance(layer, GlobalAvgPool2D):
        return Cost(macs=elements(in_shape))
    return Cost(trainable=params, macs=paper(layer, in_shape, out_shape).macs)


def thop(layer: Layer, in_shape: Shape, out_shape: Shape) -> Cost:
    """thop ``profile``: conv and linear multiply-adds without bias; BatchNorm 2 per element, 4 with
    gamma/beta; softmax 3*C - 1 per position; AvgPool2d one per output element; AdaptiveAvgPool2d
    (H*W + 1) per output element; ReLU, max pooling and modules it has no rule for nothing."""
    params = torch_params(layer, in_shape, out_shape)
    if isinstance(layer, BatchNorm):
        return Cost(trainable=params, macs=2 * elements(in_shape) * (2 if params else 1))
    if isinstance(layer, Activation) and layer.function == "softmax":
        C = in_shape[0]
        return Cost(macs=(3 * C - 1) * _positions(in_shape))
    if isinstance(layer, AvgPool2D):
        return Cost(macs=elements(out_shape))
    if isinstance(layer, GlobalAvgPool2D):
        # keepdims is nn.AdaptiveAvgPool2d; the flattening GlobalAvgPool2d is a module thop does not know
        return Cost(macs=(_positions(in_shape) + 1) * in_shape[0] if layer.keepdims else 0)
    return Cost(trainable=params, macs=paper(layer, in_shape, out_shape).macs)


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
        return Cost(trainable=params, macs=elements(in_shape) * (2 if params else 1))
    if isinstance(layer, Activation):
        return Cost(macs=_PTFLOPS_ACTIVATIONS.get(layer.function, 0) * elements(in_shape))
    if isinstance(layer, (MaxPool2D, AvgPool2D)):
        return Cost(macs=2 * _pooled_elements(layer, in_shape))
    if isinstance(layer, GlobalAvgPool2D):
        # nn.AdaptiveAvgPool2d is hooked and patched; the flattening GlobalAvgPool2d only patched
        return Cost(macs=(2 if layer.keepdims else 1) * elements(in_shape))
    macs = paper(layer, in_shape, out_shape).macs
    if isinstance(layer, (Conv2D, DepthwiseConv2D, SeparableConv2D, Dense)) and layer.bias:
        # one bias add per output element (Dense: per output element at every pixel)
        macs += elements(out_shape)
    return Cost(trainable=params, macs=macs)


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
        ),
        Convention(
            "fvcore",
            "fvcore FlopCountAnalysis (eval mode): conv/linear multiply-adds without bias, BN 1-2 per element, "
            "adaptive avg pool 1 per input element",
            fvcore,
        ),
        Convention(
            "thop",
            "thop profile(): conv/linear multiply-adds without bias, BN 2-4 per element, softmax and avg pools",
            thop,
        ),
        Convention(
            "ptflops",
            "ptflops 0.7 (pytorch backend), one sample whatever the batch: bias adds, BN, ReLU and pools per element",
            ptflops,
            per_sample=True,
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
