"""Pooling: ceil_mode and count_include_pad on the 2-D pools, global max, adaptive average and max,
and the 1-D pools, against torch, its five counting tools and Keras.

Random geometries (hypothesis): the NumPy kernels equal ``torch.nn.functional`` (and Keras'
pooling layers) within 1e-4; each layer's reference run equals its ``to_torch`` build, and its
``to_keras`` build where Keras can express it (Keras has no ceil_mode and never counts padding in
a mean: the builder uses ``same`` where that gives the same windows, and refuses otherwise);
shapes equal torch's and Keras'; every convention equals the real tool.
"""

from __future__ import annotations

import math
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
    channels_last,
)
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_conventions_tools import run_tool

from convcost import analyze
from convcost.errors import GeometryError, SpecError, UnsupportedLayerError
from convcost.geometry import same_padding
from convcost.interop.keras import from_keras_json, to_keras
from convcost.interop.torch import to_torch
from convcost.reference import kernels as k
from convcost.reference import run
from convcost.shapes import output_shape
from convcost.spec import (
    AdaptiveAvgPool2D,
    AdaptiveMaxPool2D,
    AvgPool1D,
    AvgPool2D,
    Conv2D,
    Dense,
    Flatten,
    GlobalAvgPool1D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    Layer,
    MaxPool1D,
    MaxPool2D,
    Model,
    Sequential,
)


def rand(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


# ------------------------------------------------------------------------- kernels against torch


@st.composite
def window_cases(draw: st.DrawFn, dims: int) -> dict[str, Any]:
    """A pool geometry torch accepts or refuses: windows up to 6 (longer than small inputs, which
    ceil_mode may still take), padding up to half the window (torch's limit)."""
    pool = tuple(draw(st.integers(1, 6)) for _ in range(dims))
    return {
        "pool": pool,
        "stride": tuple(draw(st.integers(1, 3)) for _ in range(dims)),
        "padding": tuple(draw(st.integers(0, p // 2)) for p in pool),
        "size": tuple(draw(st.integers(1, 11)) for _ in range(dims)),
        "ceil": draw(st.booleans()),
        "include": draw(st.booleans()),
        "seed": draw(st.integers(0, 999)),
    }


def _torch_or_error(f: Any) -> Any:
    try:
        return f().numpy()
    except RuntimeError:
        return None


@given(window_cases(2))
def test_2d_pools_with_ceil_mode_equal_torch(case: dict[str, Any]) -> None:
    x = rand(np.random.default_rng(case["seed"]), 2, 3, *case["size"])
    p, s, pad, ceil, include = case["pool"], case["stride"], case["padding"], case["ceil"], case["include"]
    expected_max = _torch_or_error(lambda: F.max_pool2d(t(x), p, s, pad, ceil_mode=ceil))
    expected_avg = _torch_or_error(lambda: F.avg_pool2d(t(x), p, s, pad, ceil_mode=ceil, count_include_pad=include))
    if expected_max is None:  # torch refuses the geometry: the kernel must too
        with pytest.raises(ValueError):
            k.max_pool2d(x, p, s, pad, ceil_mode=ceil)
        return
    assert_close(k.max_pool2d(x, p, s, pad, ceil_mode=ceil), expected_max)
    assert_close(k.avg_pool2d(x, p, s, pad, count_include_pad=include, ceil_mode=ceil), expected_avg)


@given(window_cases(1))
def test_1d_pools_equal_torch(case: dict[str, Any]) -> None:
    x = rand(np.random.default_rng(case["seed"]), 2, 3, *case["size"])
    (p,), (s,), (pad,), ceil, include = case["pool"], case["stride"], case["padding"], case["ceil"], case["include"]
    expected_max = _torch_or_error(lambda: F.max_pool1d(t(x), p, s, pad, ceil_mode=ceil))
    if expected_max is None:
        with pytest.raises(ValueError):
            k.max_pool1d(x, p, s, pad, ceil_mode=ceil)
        return
    assert_close(k.max_pool1d(x, p, s, pad, ceil_mode=ceil), expected_max)
    expected_avg = F.avg_pool1d(t(x), p, s, pad, ceil_mode=ceil, count_include_pad=include)
    assert_close(k.avg_pool1d(x, p, s, pad, include, ceil), expected_avg.numpy())


@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 11), st.integers(1, 11), st.integers(0, 999))
def test_adaptive_pools_equal_torch(h: int, w: int, n: int, m: int, seed: int) -> None:
    """Any output size, also larger than the input (torch's bins then overlap)."""
    x = rand(np.random.default_rng(seed), 2, 3, h, w)
    assert_close(k.adaptive_avg_pool2d(x, (n, m)), F.adaptive_avg_pool2d(t(x), (n, m)).numpy())
    assert_close(k.adaptive_max_pool2d(x, (n, m)), F.adaptive_max_pool2d(t(x), (n, m)).numpy())


def test_global_pools_equal_torch() -> None:
    rng = np.random.default_rng(3)
    x, seq = rand(rng, 2, 4, 5, 6), rand(rng, 2, 4, 7)
    assert_close(k.global_max_pool2d(x, True), F.adaptive_max_pool2d(t(x), 1).numpy())
    assert_close(k.global_max_pool2d(x), t(x).amax((2, 3)).numpy())
    for keepdims in (False, True):
        model_avg = Model("a", (4, 7), Sequential((GlobalAvgPool1D(keepdims=keepdims),)), batch=2)
        model_max = Model("m", (4, 7), Sequential((GlobalMaxPool1D(keepdims=keepdims),)), batch=2)
        assert_close(run(model_avg, seq).output, t(seq).mean(2, keepdim=keepdims).numpy())
        assert_close(run(model_max, seq).output, t(seq).amax(2, keepdim=keepdims).numpy())


# ------------------------------------------------------------------------- kernels against Keras


def _keras_out(layer: Any, x: np.ndarray) -> np.ndarray:
    """A Keras layer on the channels-last twin of ``x``, back to channels-first."""
    return np.moveaxis(np.asarray(keras.ops.convert_to_numpy(layer(np.moveaxis(x, 1, -1)))), -1, 1)


@pytest.mark.parametrize("length, pool, stride", [(9, 2, 2), (10, 3, 2), (7, 3, 1), (5, 4, 3), (1, 2, 2)])
def test_1d_same_pools_equal_keras(length: int, pool: int, stride: int) -> None:
    x = rand(np.random.default_rng(length), 2, 3, length)
    keras_max = keras.layers.MaxPooling1D(pool, stride, padding="same")
    keras_avg = keras.layers.AveragePooling1D(pool, stride, padding="same")
    assert_close(k.max_pool1d(x, pool, stride, "same"), _keras_out(keras_max, x))
    before, after = same_padding(length, pool, stride)
    if before == after:
        # an uneven split Keras' torch backend pads with replicated edge values, not TensorFlow's
        # exclusion (tests/test_reference_kernels.py shows it in 2-D)
        assert_close(k.avg_pool1d(x, pool, stride, "same"), _keras_out(keras_avg, x))


@pytest.mark.parametrize("size, output", [((7, 8), (2, 3)), ((5, 5), (5, 5)), ((4, 6), (6, 4)), ((6, 6), (1, 1))])
def test_adaptive_and_global_pools_equal_keras(size: tuple[int, int], output: tuple[int, int]) -> None:
    x = rand(np.random.default_rng(sum(size)), 2, 3, *size)
    assert_close(k.adaptive_avg_pool2d(x, output), _keras_out(keras.layers.AdaptiveAveragePooling2D(output), x))
    assert_close(k.adaptive_max_pool2d(x, output), _keras_out(keras.layers.AdaptiveMaxPooling2D(output), x))
    keras_global = keras.layers.GlobalMaxPooling2D(keepdims=True)
    assert_close(k.global_max_pool2d(x, True), _keras_out(keras_global, x))


# ------------------------------------------------------------------------- one layer, every source


def torch_buildable(model: Model) -> bool:
    try:
        to_torch(model)
    except UnsupportedLayerError:
        return False
    return True


@st.composite
def pool_models(draw: st.DrawFn) -> Model:
    """One random pool, 2-D or 1-D, that torch can build (torch pools pad symmetrically)."""
    kind = draw(st.sampled_from(["max2d", "avg2d", "global_max2d", "adaptive_avg", "adaptive_max", "max1d", "avg1d"]))
    kind = draw(st.sampled_from([kind, "global_avg1d", "global_max1d"])) if kind.endswith("1d") else kind
    C, batch = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    one_d = kind.endswith("1d")
    shape = (C, draw(st.integers(1, 12))) if one_d else (C, draw(st.integers(1, 12)), draw(st.integers(1, 12)))
    ceil, include = draw(st.booleans()), draw(st.sampled_from([None, True, False]))
    dims = 1 if one_d else 2
    pool = tuple(draw(st.integers(1, 5)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    padding: Any = draw(st.sampled_from(["valid", "same", "explicit"]))
    if padding == "explicit":
        padding = tuple(draw(st.integers(0, min(pool) // 2)) for _ in range(dims))
    layer: Layer
    if kind in ("max2d", "avg2d"):
        layer = (
            MaxPool2D(pool, stride=stride, padding=padding, ceil_mode=ceil)
            if kind == "max2d"
            else AvgPool2D(pool, stride=stride, padding=padding, ceil_mode=ceil, count_include_pad=include)
        )
    elif kind in ("max1d", "avg1d"):
        padding = padding if isinstance(padding, str) else padding[0]
        layer = (
            MaxPool1D(pool[0], stride=stride[0], padding=padding, ceil_mode=ceil)
            if kind == "max1d"
            else AvgPool1D(pool[0], stride=stride[0], padding=padding, ceil_mode=ceil, count_include_pad=include)
        )
    elif kind == "global_max2d":
        layer = GlobalMaxPool2D(keepdims=draw(st.booleans()))
    elif kind == "global_avg1d":
        layer = GlobalAvgPool1D(keepdims=draw(st.booleans()))
    elif kind == "global_max1d":
        layer = GlobalMaxPool1D(keepdims=draw(st.booleans()))
    else:
        output = (draw(st.integers(1, 8)), draw(st.integers(1, 8)))
        layer = AdaptiveAvgPool2D(output) if kind == "adaptive_avg" else AdaptiveMaxPool2D(output)
    try:
        output_shape(layer, shape)
    except GeometryError:
        assume(False)
    model = Model("pool", shape, Sequential((layer,)), batch=batch)
    assume(torch_buildable(model))
    return model


def _uneven_same_average(built: Any) -> bool:
    """Keras' torch backend pads an uneven 'same' average pool with replicated edge values."""
    for layer in built.layers:
        if type(layer).__name__ in ("AveragePooling1D", "AveragePooling2D") and layer.padding == "same":
            sizes = layer.input.shape[1:-1]
            pads = [same_padding(n, p, s) for n, p, s in zip(sizes, layer.pool_size, layer.strides, strict=True)]
            if any(a != b for a, b in pads):
                return True
    return False


def assert_keras_values(model: Model) -> None:
    """A weight-free Keras build computes what the reference computes."""
    x = np.random.default_rng(1).standard_normal((model.batch, *model.input)).astype(np.float32)
    built = to_keras(model)
    if _uneven_same_average(built):
        return
    out = np.asarray(keras.ops.convert_to_numpy(built(np.moveaxis(x, 1, -1) if x.ndim > 2 else x)))
    if out.ndim > 2:
        out = np.moveaxis(out, -1, 1)
    assert_close(run(model, x).output, out)


@settings(max_examples=40)
@given(pool_models())
def test_pool_agrees_with_every_source(model: Model) -> None:
    assert analyze(model, "paper").totals.macs == 0
    assert_reference(model)
    assert_reference_equals_torch(model)
    assert_torch_build(model)
    assert_every_tool(model)
    try:
        built = to_keras(model)
    except UnsupportedLayerError as e:
        assert "Keras cannot pool like this" in str(e)
        layer = model.graph.nodes[0].layer
        assert layer.ceil_mode or not getattr(layer, "includes_padding", True)  # only what Keras lacks
        return
    assert_keras_build(model)
    if not any("ZeroPadding" in type(layer).__name__ for layer in built.layers):
        # Keras' own padding: same windows, so the same values (Keras pads nothing into a max)
        assert_keras_values(model)


@st.composite
def pool_stacks(draw: st.DrawFn) -> Model:
    """Convs and random 2-D pools (ceil_mode, count_include_pad, adaptive, global max), then a head."""
    shape: tuple[int, ...] = (draw(st.integers(1, 5)), draw(st.integers(3, 14)), draw(st.integers(3, 14)))
    start = shape
    layers: list[Layer] = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["conv", "max", "avg", "adaptive_avg", "adaptive_max"]))
        layer: Layer
        if kind == "conv":
            layer = Conv2D(draw(st.integers(1, 6)), draw(st.integers(1, 3)), padding="same", bias=draw(st.booleans()))
        elif kind in ("max", "avg"):
            pool = draw(st.integers(1, 4))
            padding = draw(st.sampled_from([0, pool // 2, "valid"]))
            ceil = draw(st.booleans())
            stride = draw(st.integers(1, 3))
            layer = (
                MaxPool2D(pool, stride=stride, padding=padding, ceil_mode=ceil)
                if kind == "max"
                else AvgPool2D(pool, stride, padding, ceil, count_include_pad=draw(st.booleans()))
            )
        else:
            output = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
            layer = AdaptiveAvgPool2D(output) if kind == "adaptive_avg" else AdaptiveMaxPool2D(output)
        try:
            shape = output_shape(layer, shape)
        except GeometryError:
            continue
        layers.append(layer)
    head = draw(st.sampled_from(["global_max", "global_max_keep", "flatten"]))
    layers += {
        "global_max": [GlobalMaxPool2D()],
        "global_max_keep": [GlobalMaxPool2D(keepdims=True), Flatten()],
        "flatten": [Flatten()],
    }[head]
    layers.append(Dense(draw(st.integers(1, 6))))
    return Model("pool_stack", start, Sequential(tuple(layers)), batch=draw(st.integers(1, 3)))


@settings(max_examples=25)
@given(pool_stacks())
def test_random_pool_stacks_match_every_tool(model: Model) -> None:
    assert_every_tool(model)
    assert_reference(model)
    assert_reference_equals_torch(model)


# ------------------------------------------------------------------------- quirks, by hand


def test_thop_truncates_the_adaptive_pool_over_the_whole_batch() -> None:
    """thop prices nn.AdaptiveAvgPool2d at int((H/n * W/m + 1) * output elements) in float64, over the
    batch: 7x8 to 2x3 on 3 channels is (3.5 * 8/3 + 1) * 18 = 185.99999999999997 per sample, so 185
    at batch 1 but int(557.99...) = 557 at batch 3, not 3 x 185."""
    one = Model("a", (3, 7, 8), Sequential((AdaptiveAvgPool2D((2, 3)),)))
    three = one.with_batch(3)
    assert analyze(one, "thop").totals.macs == run_tool("thop", to_torch(one), one)[1] == 185
    assert analyze(three, "thop").totals.macs == run_tool("thop", to_torch(three), three)[1] == 557


def test_a_ceil_mode_window_may_be_longer_than_the_input() -> None:
    """HF EfficientNet pools its last map with nn.AvgPool2d(hidden_dim, ceil_mode=True): a 1280-wide
    window on 7x7 gives one output, the mean of the map (torch's divisor stops at the input)."""
    pool = AvgPool2D(1280, ceil_mode=True, name="pooler")
    model = Model("hf_pooler", (5, 7, 7), Sequential((pool,)), batch=2)
    assert model.shaped[-1].output == (5, 1, 1)
    assert_reference_equals_torch(model)
    x = np.random.default_rng(0).standard_normal((2, 5, 7, 7)).astype(np.float32)
    assert_close(run(model, x).output, x.mean(axis=(2, 3), keepdims=True))
    with pytest.raises(GeometryError, match=r"'pooler'.*smaller than the kernel extent 1280"):
        output_shape(AvgPool2D(1280, name="pooler"), (5, 7, 7))  # without ceil_mode torch refuses it too
    with pytest.raises(RuntimeError):
        F.avg_pool2d(torch.zeros(1, 5, 7, 7), 1280)


def test_pool_tool_figures_by_hand() -> None:
    """A (2, 6, 6) map, 72 elements, batch 1: each tool's count from its source (docs/conventions.md)."""
    cases: dict[Layer, list[int]] = {
        GlobalMaxPool2D(): [0, 0, 0, 72, 0],  # ptflops: the module calls F.adaptive_max_pool2d once
        GlobalMaxPool2D(keepdims=True): [0, 0, 0, 144, 0],  # nn.AdaptiveMaxPool2d: hook + patched functional
        AdaptiveAvgPool2D(3): [0, 72, 90, 144, 0],  # thop: (36/9 + 1) x 18
        AdaptiveMaxPool2D(3): [0, 0, 0, 144, 0],
        MaxPool2D(4, stride=4, ceil_mode=True): [0, 0, 0, 144, 0],
        AvgPool2D(4, stride=4, ceil_mode=True): [0, 0, 8, 144, 0],  # thop: the 2x2x2 outputs
    }
    for layer, macs in cases.items():
        model = Model("one", (2, 6, 6), Sequential((layer,)))
        got = [analyze(model, tool).totals.macs for tool in ("torchinfo", "fvcore", "thop", "ptflops", "calflops")]
        assert got == macs, layer
        assert analyze(model, "calflops").totals.flops == 72, layer  # one per element the function reads
    sequence = Model("seq", (2, 9), Sequential((GlobalAvgPool1D(keepdims=True),)))
    # nn.AdaptiveAvgPool1d(1): fvcore has no handle for the 1-D op, thop (L + 1) per channel
    got = [analyze(sequence, tool).totals.macs for tool in ("torchinfo", "fvcore", "thop", "ptflops")]
    assert got == [0, 0, 20, 36]


def test_ceil_mode_builds_in_keras_as_same_where_the_windows_agree() -> None:
    ceil = Model("c", (3, 8, 8), Sequential((MaxPool2D(3, stride=2, ceil_mode=True, name="p"),)))
    assert to_keras(ceil).get_layer("p").padding == "same"
    assert_keras_values(ceil)
    no_keras = Model("n", (3, 8, 8), Sequential((MaxPool2D(3, stride=2, padding=1, ceil_mode=True, name="p"),)))
    with pytest.raises(UnsupportedLayerError, match=r"'p'.*Keras cannot pool like this"):
        to_keras(no_keras)
    exclude = Model("e", (3, 5, 5), Sequential((AvgPool2D(3, 1, 1, count_include_pad=False, name="p"),)))
    assert to_keras(exclude).get_layer("p").padding == "same"
    assert_keras_values(exclude)


def test_count_include_pad_default_keeps_what_the_padding_implies() -> None:
    assert AvgPool2D(3, padding="same").includes_padding is False
    assert AvgPool2D(3, padding=1).includes_padding is True
    assert AvgPool2D(3, padding=1, count_include_pad=False).includes_padding is False
    module = to_torch(Model("m", (2, 6, 6), Sequential((AvgPool2D(3, 1, "same", name="p"),))))
    assert module.nodes["p"].count_include_pad is False
    module = to_torch(Model("m", (2, 6, 6), Sequential((AvgPool2D(3, 1, "same", count_include_pad=True, name="p"),))))
    assert module.nodes["p"].count_include_pad is True


# ------------------------------------------------------------------------- Keras configs and errors


def test_keras_pooling_classes_are_read() -> None:
    image = keras.Input((9, 10, 3))
    a = keras.layers.AdaptiveAveragePooling2D((3, 4), name="aa")(image)
    b = keras.layers.AdaptiveMaxPooling2D(2, name="am")(a)
    c = keras.layers.GlobalMaxPooling2D(keepdims=True, name="gm")(b)
    text = keras.Model(image, c).to_json()
    model = from_keras_json(text)
    assert [layer for _, layer in model.layers()] == [
        AdaptiveAvgPool2D((3, 4), name="aa"),
        AdaptiveMaxPool2D(2, name="am"),
        GlobalMaxPool2D(keepdims=True, name="gm"),
    ]
    seq = keras.Input((11, 4))
    x = keras.layers.MaxPooling1D(3, 2, padding="same", name="mp")(seq)
    x = keras.layers.AveragePooling1D(2, name="ap")(x)
    x = keras.layers.GlobalAveragePooling1D(name="ga")(x)
    model = from_keras_json(keras.Model(seq, x).to_json())
    assert [layer for _, layer in model.layers()] == [
        MaxPool1D(3, stride=2, padding="same", name="mp"),
        AvgPool1D(2, name="ap"),
        GlobalAvgPool1D(name="ga"),
    ]
    assert model.shaped[-1].output == (4,)
    assert channels_last(model.shaped[0].output) == tuple(keras.Model(seq, x).layers[1].output.shape[1:])


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda: AvgPool2D(2, count_include_pad="yes"), "count_include_pad must be true, false or left out"),
        (lambda: AvgPool1D(2, count_include_pad=1), "count_include_pad must be true, false or left out"),
        (lambda: MaxPool2D(2, ceil_mode=1), "ceil_mode must be true or false"),
        (lambda: MaxPool1D(0), "pool must be a positive integer"),
        (lambda: MaxPool1D(2, stride=0), "stride must be a positive integer"),
        (lambda: AvgPool1D(2, padding="causal"), "padding must be 'same', 'valid' or integers"),
        (lambda: MaxPool1D(2, padding=(1, -1)), "padding must be"),
        (lambda: AdaptiveAvgPool2D(0), "output must be a positive integer"),
    ],
)
def test_bad_pool_fields_are_spec_errors(make: Any, needle: str) -> None:
    with pytest.raises(SpecError, match=needle):
        make()


@pytest.mark.parametrize(
    "layer, shape, needle",
    [
        (MaxPool1D(2, name="p"), (3, 4, 4), r"needs a \(C, L\) sequence"),
        (GlobalAvgPool1D(name="p"), (3,), r"needs a \(C, L\) sequence"),
        (GlobalMaxPool2D(name="p"), (3, 4), r"needs a \(C, H, W\) feature map"),
        (AdaptiveAvgPool2D(2, name="p"), (3, 4), r"needs a \(C, H, W\) feature map"),
        (AvgPool1D(5, name="p"), (3, 4), "length 4 .*smaller than the kernel extent 5"),
    ],
)
def test_pools_that_cannot_apply_name_the_layer(layer: Layer, shape: tuple[int, ...], needle: str) -> None:
    with pytest.raises(GeometryError, match=f"'p'.*{needle}"):
        output_shape(layer, shape)


def test_pool_labels() -> None:
    model = Model(
        "m",
        (3, 9, 9),
        Sequential(
            (
                MaxPool2D(3, stride=2, ceil_mode=True, name="mp"),
                AdaptiveAvgPool2D((2, 3), name="aa"),
                GlobalMaxPool2D(name="gm"),
            )
        ),
    )
    rows = analyze(model).rows
    assert [(r.kind, r.type_stride, r.filter_shape) for r in rows] == [
        ("pool", "Max Pool / s2", "Pool 3x3"),
        ("pool", "Avg Pool / adaptive", "Pool to 2x3"),
        ("global_pool", "Max Pool / s1", "Pool 2x3"),
    ]
    seq = Model("s", (3, 10), Sequential((AvgPool1D(3, 2, name="ap"), GlobalMaxPool1D(name="gm"))))
    assert [(r.kind, r.type_stride, r.filter_shape) for r in analyze(seq).rows] == [
        ("pool", "Avg Pool / s2", "Pool 3"),
        ("global_pool", "Max Pool / s1", "Pool 4"),
    ]
    assert math.prod(analyze(seq).rows[0].output) == 12
