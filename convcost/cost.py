"""Closed-form parameter and multiply-add counts, one small function per layer kind.

Everything is a Python ``int`` (exact at any size). Names follow the MobileNet paper:
``Dk`` kernel size, ``M`` input channels, ``N`` output channels, ``Df`` output map size
(height and width are kept apart, so ``Dk * Dk`` reads ``Dk_h * Dk_w``). Multiply-adds are for
one sample; the report multiplies by the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from convcost.spec import (
    BatchNorm,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Layer,
    Pair,
    SeparableConv2D,
    Shape,
    elements,
)


@dataclass(frozen=True)
class Cost:
    """What one layer costs under some convention.

    ``macs`` is the number the convention's tool reports as multiply-adds (some tools count
    element-wise work in it too); ``flops`` is 2 x the real multiply-adds plus the element-wise
    operations the convention counts, one each (``convcost.conventions`` says which).
    """

    trainable: int = 0
    non_trainable: int = 0
    macs: int = 0
    flops: int = 0

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable


def _hw(shape: Shape) -> Pair:
    return (shape[1], shape[2])


def conv2d(layer: Conv2D, in_shape: Shape, out_shape: Shape) -> Cost:
    """Standard (or grouped) convolution: Dk*Dk*(M/g)*N weights, used once per output pixel."""
    Dk_h, Dk_w = layer.kernel  # type: ignore[misc]
    M = in_shape[0] // layer.groups
    N = layer.filters
    Df_h, Df_w = _hw(out_shape)
    weights = Dk_h * Dk_w * M * N
    bias = N if layer.bias else 0
    return Cost(trainable=weights + bias, macs=Dk_h * Dk_w * M * N * Df_h * Df_w)


def depthwise_conv2d(layer: DepthwiseConv2D, in_shape: Shape, out_shape: Shape) -> Cost:
    """Depthwise convolution: one Dk*Dk filter per input channel (times the depth multiplier)."""
    Dk_h, Dk_w = layer.kernel  # type: ignore[misc]
    M = in_shape[0] * layer.depth_multiplier
    Df_h, Df_w = _hw(out_shape)
    bias = M if layer.bias else 0
    return Cost(trainable=Dk_h * Dk_w * M + bias, macs=Dk_h * Dk_w * M * Df_h * Df_w)


def pointwise_macs(M: int, N: int, Df_h: int, Df_w: int) -> int:
    """A 1x1 convolution: M*N weights used at every output pixel."""
    return M * N * Df_h * Df_w


def separable_conv2d(layer: SeparableConv2D, in_shape: Shape, out_shape: Shape) -> Cost:
    """Keras SeparableConv2D: depthwise Dk*Dk*M, then pointwise M*N, one bias of N."""
    Dk_h, Dk_w = layer.kernel  # type: ignore[misc]
    M = in_shape[0] * layer.depth_multiplier
    N = layer.filters
    Df_h, Df_w = _hw(out_shape)
    bias = N if layer.bias else 0
    depthwise = Dk_h * Dk_w * M * Df_h * Df_w
    return Cost(
        trainable=Dk_h * Dk_w * M + M * N + bias,
        macs=depthwise + pointwise_macs(M, N, Df_h, Df_w),
    )


def dense(layer: Dense, in_shape: Shape, out_shape: Shape) -> Cost:
    """Fully connected on the channel axis, repeated at every pixel when the input is a map."""
    inputs = in_shape[0]
    positions = elements(in_shape[1:])
    bias = layer.units if layer.bias else 0
    return Cost(trainable=inputs * layer.units + bias, macs=inputs * layer.units * positions)


def batchnorm_keras(layer: BatchNorm, in_shape: Shape) -> Cost:
    """Keras counts gamma and beta as trainable and the moving mean and variance as not."""
    C = in_shape[0]
    learned = C * (int(layer.center) + int(layer.scale))
    return Cost(trainable=learned, non_trainable=2 * C)


def weighted(layer: Layer, in_shape: Shape, out_shape: Shape) -> Cost | None:
    """The paper's cost of a conv or fully-connected layer, or None for any other layer."""
    if isinstance(layer, Conv2D):
        return conv2d(layer, in_shape, out_shape)
    if isinstance(layer, DepthwiseConv2D):
        return depthwise_conv2d(layer, in_shape, out_shape)
    if isinstance(layer, SeparableConv2D):
        return separable_conv2d(layer, in_shape, out_shape)
    if isinstance(layer, Dense):
        return dense(layer, in_shape, out_shape)
    return None
