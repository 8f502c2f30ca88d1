"""1-D convnets: Conv1D (standard, grouped, depthwise), DepthwiseConv1D and SeparableConv1D on
``(C, L)`` sequences, against torch, its five counting tools and Keras.

Random geometries (hypothesis): the NumPy kernel equals ``torch.nn.functional.conv1d`` (and Keras'
Conv1D, DepthwiseConv1D, SeparableConv1D) within 1e-4 and counts Dk*(M/g)*N*Df products; the
closed form = the reference's count = every tool's count on the torch build = Keras'
``count_params()``; shapes equal torch's and Keras'. Random 1-D stacks (with BatchNorm, LayerNorm,
pools, global pools and a classifier) hold every tool's rules together. Three-dimensional
convolutions are not covered.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import keras
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from framework_checks import (
    assert_close,
    assert_every_tool,
    assert_keras_build,
    assert_reference,
    assert_reference_equals_torch,
    assert_torch_build,
)
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convcost import analyze
from convcost.errors import GeometryError, SpecError, UnsupportedLayerError
from convcost.interop.keras import from_keras_json, to_keras
from convcost.reference import kernels as k
from convcost.reference import run
from convcost.shapes import output_shape
from convcost.spec import (
    Activation,
    AvgPool1D,
    BatchNorm,
    Conv1D,
    Dense,
    DepthwiseConv1D,
    Flatten,
    GlobalAvgPool1D,
    GlobalMaxPool1D,
    Layer,
    LayerNorm,
    MaxPool1D,
    Model,
    SeparableConv1D,
    Sequential,
)


def rand(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


# ------------------------------------------------------------------------- the kernel against torch


@st.composite
def conv1d_cases(draw: st.DrawFn) -> dict[str, Any]:
    groups = draw(st.integers(1, 4))
    case = {
        "groups": groups,
        "channels": groups * draw(st.integers(1, 3)),
        "filters": groups * draw(st.integers(1, 3)),
        "kernel": draw(st.integers(1, 5)),
        "stride": draw(st.integers(1, 3)),
        "dilation": draw(st.integers(1, 3)),
        "padding": draw(st.integers(0, 3)),
        "length": draw(st.integers(1, 16)),
        "bias": draw(st.booleans()),
        "seed": draw(st.integers(0, 999)),
    }
    span = case["dilation"] * (case["kernel"] - 1) + 1
    assume(case["length"] + 2 * case["padding"] >= span)
    return case


@given(conv1d_cases())
def test_conv1d_equals_torch_and_counts_its_products(case: dict[str, Any]) -> None:
    rng = np.random.default_rng(case["seed"])
    x = rand(rng, 2, case["channels"], case["length"])
    w = rand(rng, case["filters"], case["channels"] // case["groups"], case["kernel"])
    b = rand(rng, case["filters"]) if case["bias"] else None
    args = (case["stride"], case["padding"], case["dilation"], case["groups"])
    tally = k.Tally()
    ours = k.conv1d(x, w, b, *args, tally=tally)
    expected = F.conv1d(t(x), t(w), None if b is None else t(b), *args)
    assert_close(ours, expected.numpy())
    Df = expected.shape[2]
    assert tally.macs == 2 * case["kernel"] * (case["channels"] // case["groups"]) * case["filters"] * Df


# ------------------------------------------------------------------------- the kernels against Keras


def _keras_out(layer: Any, x: np.ndarray) -> np.ndarray:
    return np.moveaxis(np.asarray(keras.ops.convert_to_numpy(layer(np.moveaxis(x, 1, -1)))), -1, 1)


@pytest.mark.parametrize(
    "length, kernel, stride, dilation, padding",
    [(9, 3, 2, 1, "same"), (10, 4, 2, 1, "same"), (8, 3, 1, 2, "causal"), (7, 5, 1, 1, "causal"), (6, 2, 3, 1, "same")],
)
def test_conv1d_same_and_causal_equal_keras(length: int, kernel: int, stride: int, dilation: int, padding: str) -> None:
    rng = np.random.default_rng(length + kernel)
    x, w, b = rand(rng, 2, 4, length), rand(rng, 6, 4, kernel), rand(rng, 6)
    layer = keras.layers.Conv1D(6, kernel, strides=stride, padding=padding, dilation_rate=dilation)
    layer.build((None, length, 4))
    layer.set_weights([w.transpose(2, 1, 0), b])  # Keras keeps (k, C_in, C_out)
    spec = Conv1D(6, kernel, stride=stride, padding=padding, dilation=dilation)  # 'causal' -> (d(k-1), 0)
    assert_close(k.conv1d(x, w, b, stride, spec.padding, dilation), _keras_out(layer, x))


@pytest.mark.parametrize("length, stride, multiplier", [(9, 2, 1), (8, 1, 2), (10, 2, 3)])
def test_depthwise_and_separable_conv1d_equal_keras(length: int, stride: int, multiplier: int) -> None:
    """Keras' DepthwiseConv1D keeps (k, C, multiplier): output channel c * m + j reads channel c, as
    the reference's (and torch's groups=C) order does."""
    rng = np.random.default_rng(length)
    C, N, K = 3, 5, 3
    x = rand(rng, 2, C, length)
    dw, bias = rand(rng, C * multiplier, 1, K), rand(rng, C * multiplier)
    pw, pw_bias = rand(rng, N, C * multiplier, 1), rand(rng, N)
    keras_dw = keras.layers.DepthwiseConv1D(K, strides=stride, padding="same", depth_multiplier=multiplier)
    keras_dw.build((None, length, C))
    keras_dw.set_weights([dw.reshape(C, multiplier, K).transpose(2, 0, 1), bias])
    weights = {"k": {"weight": dw, "bias": bias}}
    model = Model("dw", (C, length), Sequential((DepthwiseConv1D(K, stride, "same", multiplier, name="k"),)), batch=2)
    assert_close(run(model, x, weights=weights).output, _keras_out(keras_dw, x))
    keras_sep = keras.layers.SeparableConv1D(N, K, strides=stride, padding="same", depth_multiplier=multiplier)
    keras_sep.build((None, length, C))
    keras_sep.set_weights([dw.reshape(C, multiplier, K).transpose(2, 0, 1), pw.transpose(2, 1, 0), pw_bias])
    weights = {"k": {"depthwise_weight": dw, "pointwise_weight": pw, "bias": pw_bias}}
    layer = SeparableConv1D(N, K, stride, "same", multiplier, name="k")
    model = Model("sep", (C, length), Sequential((layer,)), batch=2)
    assert_close(run(model, x, weights=weights).output, _keras_out(keras_sep, x))


# ------------------------------------------------------------------------- one layer, every source


@st.composite
def conv1d_models(draw: st.DrawFn) -> Model:
    kind = draw(st.sampled_from(["conv", "grouped", "depthwise_groups", "pointwise", "depthwise", "separable"]))
    C = draw(st.integers(1, 6))
    length = draw(st.integers(1, 16))
    kernel, stride, dilation = draw(st.integers(1, 5)), draw(st.integers(1, 3)), draw(st.integers(1, 2))
    padding: Any = draw(st.sampled_from(["valid", "same", "causal", "symmetric", "asymmetric"]))
    if padding == "symmetric":
        padding = draw(st.integers(0, 3))
    elif padding == "asymmetric":
        padding = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    bias = draw(st.booleans())
    layer: Layer
    if kind in ("depthwise", "separable"):
        # Keras' depthwise and separable 1-D convs take no 'causal': to_keras pads before them
        multiplier = draw(st.integers(1, 3))
        if kind == "depthwise":
            layer = DepthwiseConv1D(kernel, stride, padding, multiplier, dilation, bias)
        else:
            layer = SeparableConv1D(draw(st.integers(1, 6)), kernel, stride, padding, multiplier, dilation, bias)
    else:
        groups = {"conv": 1, "pointwise": 1, "grouped": draw(st.sampled_from([g for g in (1, 2, 3) if C % g == 0]))}
        groups["depthwise_groups"] = C
        g = groups[kind]
        kernel = 1 if kind == "pointwise" else kernel
        layer = Conv1D(g * draw(st.integers(1, 3)), kernel, stride, padding, dilation, g, bias)
    try:
        output_shape(layer, (C, length))
    except GeometryError:
        assume(False)
    return Model("conv1d", (C, length), Sequential((layer,)), batch=draw(st.integers(1, 3)))


@settings(max_examples=40)
@given(conv1d_models())
def test_conv1d_layer_agrees_with_every_source(model: Model) -> None:
    assert_reference(model)  # the reference's counted products are the closed form
    assert_reference_equals_torch(model)
    assert_torch_build(model)
    assert_every_tool(model)
    layer = model.graph.nodes[0].layer
    if isinstance(layer, Conv1D) and layer.stride > 1 and layer.dilation > 1:
        with pytest.raises(UnsupportedLayerError, match="no stride > 1 with dilation > 1"):
            to_keras(model)
    else:
        assert_keras_build(model)


ACTIVATIONS = ("relu", "relu6", "gelu", "silu", "tanh", "hard_swish")


@st.composite
def sequence_stacks(draw: st.DrawFn) -> Model:
    """A random 1-D convnet: convolutions, BN, LayerNorm, activations and pools, then a head."""
    shape: tuple[int, ...] = (draw(st.integers(1, 5)), draw(st.integers(6, 30)))
    start = shape
    layers: list[Layer] = []
    for _ in range(draw(st.integers(1, 6))):
        C = shape[0]
        kind = draw(st.sampled_from(["conv", "grouped", "depthwise", "separable", "bn", "ln", "act", "max", "avg"]))
        padding = draw(st.sampled_from(["valid", "same", 1, (2, 0)]))
        k, s, bias = draw(st.integers(1, 4)), draw(st.integers(1, 2)), draw(st.booleans())
        layer: Layer
        if kind == "conv":
            layer = Conv1D(draw(st.integers(1, 8)), k, s, padding, bias=bias)
        elif kind == "grouped":
            g = draw(st.sampled_from([d for d in range(1, C + 1) if C % d == 0]))
            layer = Conv1D(g * draw(st.integers(1, 2)), k, s, padding, groups=g, bias=bias)
        elif kind == "depthwise":
            layer = DepthwiseConv1D(k, s, padding, draw(st.integers(1, 2)), bias=bias)
        elif kind == "separable":
            layer = SeparableConv1D(draw(st.integers(1, 8)), k, s, padding, bias=bias)
        elif kind == "bn":
            affine = draw(st.booleans())
            layer = BatchNorm(center=affine, scale=affine)
        elif kind == "ln":
            layer = LayerNorm(0)
        elif kind == "act":
            layer = Activation(draw(st.sampled_from(ACTIVATIONS)))
        else:
            pool = draw(st.integers(1, 3))
            pool_padding = draw(st.sampled_from(["valid", pool // 2, *(["same"] if kind == "max" else [])]))
            ceil = draw(st.booleans())
            layer = (
                MaxPool1D(pool, draw(st.integers(1, 2)), pool_padding, ceil)
                if kind == "max"
                else AvgPool1D(pool, draw(st.integers(1, 2)), pool_padding, ceil, draw(st.booleans()))
            )
        try:
            shape = output_shape(layer, shape)
        except GeometryError:
            continue
        layers.append(layer)
    head = draw(st.sampled_from(["avg", "avg_keep", "max", "flatten"]))
    layers += {
        "avg": [GlobalAvgPool1D()],
        "avg_keep": [GlobalAvgPool1D(keepdims=True), Flatten()],
        "max": [GlobalMaxPool1D()],
        "flatten": [Flatten()],
    }[head]
    layers.append(Dense(draw(st.integers(1, 6)), bias=draw(st.booleans())))
    return Model("sequence_stack", start, Sequential(tuple(layers)), batch=draw(st.integers(1, 3)))


@settings(max_examples=25)
@given(sequence_stacks())
def test_random_1d_convnets_match_every_tool(model: Model) -> None:
    assert_every_tool(model)
    assert_reference(model)
    assert_reference_equals_torch(model)


# ------------------------------------------------------------------------- formulas, by hand


def test_1d_tool_figures_by_hand() -> None:
    """Conv1D 4 -> 6, kernel 3, bias, on 10 positions 'same': 3*4*6*10 = 720 multiply-adds, 60 bias
    adds, 78 parameters."""
    model = Model("one", (4, 10), Sequential((Conv1D(6, 3, padding="same"),)))
    got = [analyze(model, tool).totals.macs for tool in ("paper", "torchinfo", "fvcore", "thop", "ptflops", "calflops")]
    assert got == [720, 780, 720, 720, 780, 720]
    assert analyze(model, "calflops").totals.flops == 2 * 720 + 60
    assert analyze(model, "paper").totals.params == 78


def test_a_1d_separable_pair_is_one_over_n_plus_one_over_dk() -> None:
    """Depthwise then pointwise on one axis costs Dk*M*Df + M*N*Df against Dk*M*N*Df: 1/N + 1/Dk."""
    M, N, Dk, L = 16, 32, 5, 40
    pair = Sequential((DepthwiseConv1D(Dk, padding="same", name="dw"), Conv1D(N, 1, name="pw")))
    report = analyze(Model("sep", (M, L), pair))
    (found,) = report.separable
    assert (found.depthwise, found.pointwise, found.kernel, found.output) == ("dw", "pw", (1, Dk), (1, L))
    assert found.ratio == found.formula == Fraction(1, N) + Fraction(1, Dk)
    assert found.separable_macs == Dk * M * L + M * N * L
    (keras_pair,) = analyze(Model("k", (M, L), Sequential((SeparableConv1D(N, Dk, padding="same"),)))).separable
    assert keras_pair.ratio == Fraction(1, N) + Fraction(1, Dk)


def test_causal_padding_is_stored_as_left_padding() -> None:
    layer = Conv1D(4, 3, padding="causal", dilation=2)
    assert layer.padding == (4, 0)
    assert output_shape(layer, (2, 10)) == (4, 10)
    assert (
        to_keras(Model("c", (2, 10), Sequential((Conv1D(4, 3, padding="causal", name="c"),)))).get_layer("c").padding
        == "causal"
    )


# ------------------------------------------------------------------------- Keras configs, errors, labels


def test_keras_1d_convolutions_are_read() -> None:
    inputs = keras.Input((20, 3))
    x = keras.layers.Conv1D(8, 3, padding="causal", dilation_rate=2, activation="relu", name="c")(inputs)
    x = keras.layers.DepthwiseConv1D(5, strides=2, padding="same", depth_multiplier=2, name="dw")(x)
    x = keras.layers.SeparableConv1D(4, 3, use_bias=False, name="sep")(x)
    x = keras.layers.GlobalMaxPooling1D(name="pool")(x)
    built = keras.Model(inputs, x)
    model = from_keras_json(built.to_json())
    assert [layer for _, layer in model.layers()] == [
        Conv1D(8, 3, padding=(4, 0), dilation=2, name="c"),
        Activation("relu", name="c_relu"),
        DepthwiseConv1D(5, stride=2, padding="same", depth_multiplier=2, name="dw"),
        SeparableConv1D(4, 3, bias=False, name="sep"),
        GlobalMaxPool1D(name="pool"),
    ]
    totals = analyze(model, "keras").totals
    assert totals.params == built.count_params()
    assert [s.output for s in model.shaped][-2] == (4, 8)


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda: Conv1D(4, 0), "kernel must be a positive integer"),
        (lambda: Conv1D(4, (3, 3)), "kernel must be a positive integer"),
        (lambda: Conv1D(4, 3, groups=3), r"filters \(4\) must be divisible by groups \(3\)"),
        (lambda: DepthwiseConv1D(3, padding="full"), "padding must be 'same', 'valid', 'causal' or integers"),
        (lambda: SeparableConv1D(4, 3, depth_multiplier=0), "depth_multiplier must be a positive integer"),
        (lambda: Conv1D(4, 3, padding=[1, 2, 3]), "padding must be"),
    ],
)
def test_bad_conv1d_fields_are_spec_errors(make: Any, needle: str) -> None:
    with pytest.raises(SpecError, match=needle):
        make()


@pytest.mark.parametrize(
    "layer, shape, needle",
    [
        (Conv1D(4, 3, name="c"), (3, 8, 8), r"needs a \(C, L\) sequence"),
        (Conv1D(4, 3, groups=2, name="c"), (3, 8), r"input channels \(3\) must be divisible by groups \(2\)"),
        (DepthwiseConv1D(5, dilation=2, name="c"), (3, 8), "length 8 .*smaller than the dilated kernel extent 9"),
    ],
)
def test_convs_that_cannot_apply_name_the_layer(layer: Layer, shape: tuple[int, ...], needle: str) -> None:
    with pytest.raises(GeometryError, match=f"'c'.*{needle}"):
        output_shape(layer, shape)


def test_conv1d_labels() -> None:
    model = Model(
        "m",
        (8, 20),
        Sequential(
            (
                Conv1D(16, 3, stride=2, name="c"),
                DepthwiseConv1D(5, depth_multiplier=2, name="dw"),
                Conv1D(32, 1, name="pw"),
                Conv1D(32, 3, groups=32, name="g"),
                SeparableConv1D(8, 3, name="sep"),
            )
        ),
    )
    assert [(r.kind, r.type_stride, r.filter_shape) for r in analyze(model).rows] == [
        ("conv", "Conv / s2", "3x8x16"),
        ("depthwise", "Conv dw / s1", "5x16x2 dw"),
        ("pointwise", "Conv / s1", "1x32x32"),
        ("depthwise", "Conv dw / s1", "3x32 dw"),
        ("separable", "Conv sep / s1", "3x32 dw + 1x32x8"),
    ]


def test_three_dimensional_convolutions_are_not_covered() -> None:
    """docs/specfiles.md says so; a (C, D, H, W) input is refused by name, never costed as 2-D."""
    from convcost.layer import LAYER_TYPES
    from convcost.spec import Conv2D

    assert not any("3D" in name for name in LAYER_TYPES)
    with pytest.raises(GeometryError, match=r"needs a \(C, H, W\) feature map"):
        output_shape(Conv2D(2, 1), (3, 4, 4, 4))
    with pytest.raises(GeometryError, match=r"needs a \(C, L\) sequence"):
        output_shape(Conv1D(2, 1), (3, 4, 4, 4))


def test_hand_written_1d_example() -> None:
    """examples/keyword_spotting_1d.toml, derived by hand: 40 MFCCs x 98 frames, stem 10x40x64 with
    stride 2 ('same': 49 frames), two separable blocks (the second to 25 frames), a causal dilated
    conv, max pooling to 12, a global average and a 12-way classifier."""
    from pathlib import Path

    from convcost import specfile

    model = specfile.load(Path(__file__).resolve().parent.parent / "examples" / "keyword_spotting_1d.toml")
    rows = {row.path: row for row in analyze(model).rows}
    assert rows["stem"].macs == 10 * 40 * 64 * 49
    assert rows["block1/dw"].macs == 3 * 64 * 49 and rows["block1/pw"].macs == 64 * 64 * 49
    assert rows["block2/dw"].output == (64, 25) and rows["block2/pw"].macs == 64 * 128 * 25
    assert rows["causal"].macs == 3 * 128 * 128 * 25 and rows["causal"].params == 3 * 128 * 128 + 128
    assert rows["pool"].output == (128, 12) and rows["gap"].output == (128,)
    assert rows["fc"].params == 128 * 12 + 12
    assert [p.formula for p in analyze(model).separable] == [
        Fraction(1, 64) + Fraction(1, 3),
        Fraction(1, 128) + Fraction(1, 3),
    ]
    assert_every_tool(model.with_batch(2))
    assert_keras_build(model)
    assert_reference(model)
