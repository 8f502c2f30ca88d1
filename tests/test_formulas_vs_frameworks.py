"""Property tests: the closed form against PyTorch, fvcore and Keras on random layer geometries.

For each hypothesis-generated layer:
* output shape = what torch.nn.functional produces (explicit/valid padding) or what Keras computes
  ('same' padding, any stride);
* trainable params = the torch module's parameter count (Keras count_params() for SeparableConv2D);
* multiply-adds = fvcore's count of the same torch module (fvcore counts one "flop" per multiply-add
  for convolutions and linear layers).
The NumPy reference executor checks the same formulas against work it really performs
(tests/test_reference_*.py).
"""

from __future__ import annotations

import math

import keras
import pytest
import torch
from fvcore.nn import FlopCountAnalysis
from hypothesis import assume, given
from hypothesis import strategies as st

from convcost import Conv2D, Dense, DepthwiseConv2D, GeometryError, SeparableConv2D
from convcost.conventions import paper
from convcost.shapes import output_shape
from convcost.spec import Site

sizes = st.integers(1, 20)
kernels = st.integers(1, 5)
strides = st.integers(1, 3)
dilations = st.integers(1, 3)
explicit_padding = st.one_of(st.just("valid"), st.integers(0, 3), st.tuples(st.integers(0, 3), st.integers(0, 3)))


def torch_padding(padding: object) -> tuple[int, int]:
    if padding == "valid":
        return (0, 0)
    (top, bottom), (left, right) = padding  # type: ignore[misc]
    assert top == bottom and left == right
    return (top, left)


def fvcore_macs(module: torch.nn.Module, x: torch.Tensor) -> int:
    analysis = FlopCountAnalysis(module, x)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return int(analysis.total())


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@st.composite
def conv_geometries(draw: st.DrawFn) -> tuple[Conv2D, tuple[int, int, int]]:
    groups = draw(st.integers(1, 4))
    channels = groups * draw(st.integers(1, 4))
    filters = groups * draw(st.integers(1, 4))
    layer = Conv2D(
        filters,
        (draw(kernels), draw(kernels)),
        stride=(draw(strides), draw(strides)),
        padding=draw(explicit_padding),
        dilation=(draw(dilations), draw(dilations)),
        groups=groups,
        bias=draw(st.booleans()),
        name="conv",
    )
    return layer, (channels, draw(sizes), draw(sizes))


@given(conv_geometries())
def test_conv2d_matches_torch_and_fvcore(case: tuple[Conv2D, tuple[int, int, int]]) -> None:
    layer, shape = case
    module = torch.nn.Conv2d(
        shape[0],
        layer.filters,
        layer.kernel,
        layer.stride,
        torch_padding(layer.padding),
        layer.dilation,
        layer.groups,
        layer.bias,
    )
    x = torch.zeros(1, *shape)
    try:
        out = output_shape(layer, shape)
    except GeometryError:
        with pytest.raises(RuntimeError):
            module(x)
        return
    assert tuple(module(x).shape[1:]) == out
    cost = paper(layer, Site((shape,), out))
    assert cost.trainable == n_params(module)
    assert cost.macs == fvcore_macs(module, x)


@given(
    channels=st.integers(1, 8),
    multiplier=st.integers(1, 3),
    k=kernels,
    stride=strides,
    dilation=dilations,
    padding=explicit_padding,
    h=sizes,
    w=sizes,
    bias=st.booleans(),
)
def test_depthwise_matches_torch_grouped_conv(
    channels: int, multiplier: int, k: int, stride: int, dilation: int, padding: object, h: int, w: int, bias: bool
) -> None:
    layer = DepthwiseConv2D(
        k, stride=stride, padding=padding, depth_multiplier=multiplier, dilation=dilation, bias=bias, name="dw"
    )
    shape = (channels, h, w)
    module = torch.nn.Conv2d(
        channels, channels * multiplier, k, stride, torch_padding(layer.padding), dilation, channels, bias
    )
    x = torch.zeros(1, *shape)
    try:
        out = output_shape(layer, shape)
    except GeometryError:
        with pytest.raises(RuntimeError):
            module(x)
        return
    assert tuple(module(x).shape[1:]) == out
    cost = paper(layer, Site((shape,), out))
    assert cost.trainable == n_params(module)
    assert cost.macs == fvcore_macs(module, x)


@given(
    channels=st.integers(1, 8),
    filters=st.integers(1, 8),
    multiplier=st.integers(1, 3),
    k=kernels,
    stride=strides,
    h=sizes,
    w=sizes,
    bias=st.booleans(),
)
def test_separable_matches_keras_params_and_torch_macs(
    channels: int, filters: int, multiplier: int, k: int, stride: int, h: int, w: int, bias: bool
) -> None:
    layer = SeparableConv2D(
        filters, k, stride=stride, padding="same", depth_multiplier=multiplier, bias=bias, name="sep"
    )
    shape = (channels, h, w)
    out = output_shape(layer, shape)
    theirs = keras.layers.SeparableConv2D(
        filters, k, strides=stride, padding="same", depth_multiplier=multiplier, use_bias=bias
    )
    _, out_h, out_w, out_c = theirs.compute_output_shape((1, h, w, channels))
    assert (out_c, out_h, out_w) == out
    theirs.build((1, h, w, channels))
    cost = paper(layer, Site((shape,), out))
    assert cost.trainable == theirs.count_params()
    depthwise = torch.nn.Conv2d(channels, channels * multiplier, k, groups=channels, bias=False)
    pointwise = torch.nn.Conv2d(channels * multiplier, filters, 1, bias=bias)
    # fvcore on the two convs at the output resolution: 'same' padding only moves the window
    x = torch.zeros(1, channels, out_h + k - 1, out_w + k - 1)
    assert cost.macs == fvcore_macs(torch.nn.Sequential(depthwise, pointwise), x)


@given(
    filters=st.integers(1, 6),
    k=kernels,
    stride=strides,
    dilation=dilations,
    h=sizes,
    w=sizes,
    channels=st.integers(1, 4),
)
def test_same_padding_shape_matches_keras(
    filters: int, k: int, stride: int, dilation: int, h: int, w: int, channels: int
) -> None:
    assume(stride == 1 or dilation == 1)  # Keras refuses strides > 1 together with dilation > 1
    layer = Conv2D(filters, k, stride=stride, padding="same", dilation=dilation, name="conv")
    theirs = keras.layers.Conv2D(filters, k, strides=stride, padding="same", dilation_rate=dilation)
    _, out_h, out_w, out_c = theirs.compute_output_shape((1, h, w, channels))
    assert (
        output_shape(layer, (channels, h, w))
        == (out_c, out_h, out_w)
        == (filters, math.ceil(h / stride), math.ceil(w / stride))
    )


@given(inputs=st.integers(1, 64), units=st.integers(1, 64), bias=st.booleans(), batch=st.integers(1, 4))
def test_dense_matches_torch_linear(inputs: int, units: int, bias: bool, batch: int) -> None:
    layer = Dense(units, bias=bias, name="fc")
    module = torch.nn.Linear(inputs, units, bias=bias)
    cost = paper(layer, Site(((inputs,),), (units,)))
    assert cost.trainable == n_params(module)
    assert cost.macs * batch == fvcore_macs(module, torch.zeros(batch, inputs))
