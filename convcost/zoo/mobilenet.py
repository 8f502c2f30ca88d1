"""MobileNet v1 (Howard et al., 2017) and the paper's two ablations, for any alpha and resolution.

Table 1 of the paper lists the body; its second-to-last depthwise layer says ``Conv dw / s2`` at
7x7x1024, which would halve the map to 4x4 although the next row's input is 7x7: the stride is 1.
Layer names follow ``keras.applications.MobileNet`` (conv1, conv_dw_1, conv_pw_1, ...).
"""

from __future__ import annotations

import math

from convcost.errors import SpecError
from convcost.spec import (
    Activation,
    BatchNorm,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Element,
    GlobalAvgPool2D,
    Model,
    Sequential,
)
from convcost.zoo.common import scaled

#: (pointwise filters N, depthwise stride) of the 13 separable blocks, Table 1 with the typo fixed
BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),  # Table 1 prints "Conv dw / s2" here: a typo, the map stays 7x7
)
#: the five 14x14x512 blocks that Table 5's "Shallow MobileNet" removes
SHALLOW_REMOVED = (7, 8, 9, 10, 11)
FIRST_CONV_FILTERS = 32


def _check(model: str, alpha: float, resolution: int, classes: int) -> None:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not math.isfinite(alpha) or alpha <= 0:
        raise SpecError(f"{model}: alpha must be a number > 0, got {alpha!r}")
    for field, value in (("resolution", resolution), ("classes", classes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SpecError(f"{model}: {field} must be a positive integer, got {value!r}")


def width(model: str, channels: int, alpha: float) -> int:
    """The width multiplier: ``int(channels * alpha)`` as keras.applications does, at least 1."""
    thinned = int(scaled(channels, alpha))
    if thinned < 1:
        raise SpecError(f"{model}: alpha {alpha} leaves {channels} channels with none (int({channels} * {alpha}) = 0)")
    return thinned


def _conv_bn_relu(name: str, filters: int, kernel: int, stride: int) -> list[Element]:
    return [
        Conv2D(filters, kernel, stride=stride, padding="same", bias=False, name=name),
        BatchNorm(name=f"{name}_bn"),
        Activation("relu6", name=f"{name}_relu"),
    ]


def _separable_block(block: int, filters: int, stride: int) -> list[Element]:
    return [
        DepthwiseConv2D(3, stride=stride, padding="same", bias=False, name=f"conv_dw_{block}"),
        BatchNorm(name=f"conv_dw_{block}_bn"),
        Activation("relu6", name=f"conv_dw_{block}_relu"),
        *_conv_bn_relu(f"conv_pw_{block}", filters, 1, 1),
    ]


def _classifier(classes: int) -> list[Element]:
    return [
        GlobalAvgPool2D(name="global_pool"),
        Dense(classes, name="fc"),
        Activation("softmax", name="softmax"),
    ]


def _build(model: str, alpha: float, resolution: int, classes: int, block_layers: object) -> Model:
    _check(model, alpha, resolution, classes)
    layers = _conv_bn_relu("conv1", width(model, FIRST_CONV_FILTERS, alpha), 3, 2)
    for block, (filters, stride) in enumerate(BLOCKS, start=1):
        layers += block_layers(block, width(model, filters, alpha), stride)  # type: ignore[operator]
    layers += _classifier(classes)
    return Model(model, (3, resolution, resolution), Sequential(tuple(layers)))


def mobilenet_v1(alpha: float = 1.0, resolution: int = 224, classes: int = 1000) -> Model:
    """MobileNet v1 (paper Table 1): 3x3 conv then 13 depthwise separable blocks, BN + ReLU6."""
    return _build("mobilenet_v1", alpha, resolution, classes, _separable_block)


def mobilenet_v1_conv(alpha: float = 1.0, resolution: int = 224, classes: int = 1000) -> Model:
    """The paper's "Conv MobileNet" (Table 4): every separable block is one full 3x3 convolution."""
    return _build(
        "mobilenet_v1_conv",
        alpha,
        resolution,
        classes,
        lambda block, filters, stride: _conv_bn_relu(f"conv_{block}", filters, 3, stride),
    )


def mobilenet_v1_shallow(alpha: float = 1.0, resolution: int = 224, classes: int = 1000) -> Model:
    """The paper's "Shallow MobileNet" (Table 5): the five 14x14x512 separable blocks removed."""
    return _build(
        "mobilenet_v1_shallow",
        alpha,
        resolution,
        classes,
        lambda block, filters, stride: [] if block in SHALLOW_REMOVED else _separable_block(block, filters, stride),
    )
