"""The NumPy kernels against torch.nn.functional, Keras (``same`` padding) and naive loop twins."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from convcost.reference import depthwise as dw
from convcost.reference import kernels as k

RTOL = 1e-4


def assert_close(actual: Any, expected: Any) -> None:
    """Within 1e-4 relative to the largest expected magnitude (elementwise, so no value can hide)."""
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else np.asarray(expected)
    assert actual.shape == expected.shape
    scale = max(float(np.abs(expected).max(initial=0.0)), 1e-6)
    err = float(np.abs(actual.astype(np.float64) - expected.astype(np.float64)).max(initial=0.0))
    assert err <= RTOL * scale, f"max abs error {err} vs scale {scale}"


def rand(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


def torch_pad(x: torch.Tensor, pads: k.Pads, value: float = 0.0) -> torch.Tensor:
    (top, bottom), (left, right) = pads
    return F.pad(x, (left, right, top, bottom), value=value)


# ------------------------------------------------------------------------- naive loop twins


def naive_conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: int, pads: k.Pads, dil: int, groups: int):
    """Seven nested loops, straight from the definition: the readable twin of the im2col kernel."""
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    (top, bottom), (left, right) = pads
    xp = np.zeros((n, c, h + top + bottom, wd + left + right), dtype=np.float64)
    xp[:, :, top : top + h, left : left + wd] = x
    ho = (xp.shape[2] - dil * (kh - 1) - 1) // stride + 1
    wo = (xp.shape[3] - dil * (kw - 1) - 1) // stride + 1
    og = o // groups
    out = np.zeros((n, o, ho, wo))
    for s in range(n):
        for oc in range(o):
            g = oc // og
            for y in range(ho):
                for xx in range(wo):
                    acc = 0.0 if b is None else float(b[oc])
                    for ic in range(cg):
                        for i in range(kh):
                            for j in range(kw):
                                acc += xp[s, g * cg + ic, y * stride + i * dil, xx * stride + j * dil] * w[oc, ic, i, j]
                    out[s, oc, y, xx] = acc
    return out


def naive_depthwise(x: np.ndarray, w: np.ndarray, stride: int, pads: k.Pads, dil: int, multiplier: int):
    """Loops over every sample, channel, output pixel and tap."""
    n, c, h, wd = x.shape
    _, _, kh, kw = w.shape
    (top, bottom), (left, right) = pads
    xp = np.zeros((n, c, h + top + bottom, wd + left + right), dtype=np.float64)
    xp[:, :, top : top + h, left : left + wd] = x
    ho = (xp.shape[2] - dil * (kh - 1) - 1) // stride + 1
    wo = (xp.shape[3] - dil * (kw - 1) - 1) // stride + 1
    out = np.zeros((n, c * multiplier, ho, wo))
    for s in range(n):
        for ch in range(c):
            for m in range(multiplier):
                oc = ch * multiplier + m
                for y in range(ho):
                    for xx in range(wo):
                        acc = 0.0
                        for i in range(kh):
                            for j in range(kw):
                                acc += xp[s, ch, y * stride + i * dil, xx * stride + j * dil] * w[oc, 0, i, j]
                        out[s, oc, y, xx] = acc
    return out


# ------------------------------------------------------------------------- geometry strategy

paddings = st.one_of(
    st.just("same"),
    st.just("valid"),
    st.integers(0, 3),
    st.tuples(st.integers(0, 3), st.integers(0, 3)),
    st.tuples(st.tuples(st.integers(0, 3), st.integers(0, 3)), st.tuples(st.integers(0, 3), st.integers(0, 3))),
)


@st.composite
def conv_case(draw: st.DrawFn, depthwise: bool = False) -> dict[str, Any]:
    kernel = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    dilation = draw(st.integers(1, 3))
    stride = draw(st.integers(1, 3))
    padding = draw(paddings)
    span = (dilation * (kernel[0] - 1) + 1, dilation * (kernel[1] - 1) + 1)
    h = draw(st.integers(max(1, span[0] - 6), 14))
    w = draw(st.integers(max(1, span[1] - 6), 14))
    pads = k.resolve_padding(padding, (h, w), kernel, (stride, stride), (dilation, dilation))
    if h + sum(pads[0]) < span[0] or w + sum(pads[1]) < span[1]:
        padding, pads = "same", k.resolve_padding("same", (h, w), kernel, (stride, stride), (dilation, dilation))
    groups = draw(st.integers(1, 4))
    c = groups * draw(st.integers(1, 3))
    out = groups * draw(st.integers(1, 3))
    return {
        "kernel": kernel,
        "dilation": dilation,
        "stride": stride,
        "padding": padding,
        "pads": pads,
        "shape": (draw(st.integers(1, 2)), c, h, w),
        "groups": groups,
        "out": out,
        "multiplier": draw(st.integers(1, 3)),
        "seed": draw(st.integers(0, 2**16)),
    }


# ------------------------------------------------------------------------- convolutions vs torch


@given(conv_case())
def test_conv2d_equals_torch_on_random_geometry(case: dict[str, Any]) -> None:
    rng = np.random.default_rng(case["seed"])
    x = rand(rng, *case["shape"])
    w = rand(rng, case["out"], case["shape"][1] // case["groups"], *case["kernel"])
    b = rand(rng, case["out"])
    ours = k.conv2d(x, w, b, case["stride"], case["padding"], case["dilation"], case["groups"])
    theirs = F.conv2d(
        torch_pad(t(x), case["pads"]),
        t(w),
        t(b),
        stride=case["stride"],
        dilation=case["dilation"],
        groups=case["groups"],
    )
    assert_close(ours, theirs)


@pytest.mark.parametrize("padding", [0, 1, 2, (1, 2), "valid"])
@pytest.mark.parametrize("stride", [1, 2])
def test_conv2d_takes_torch_padding_as_torch_does(padding: Any, stride: int) -> None:
    rng = np.random.default_rng(1)
    x, w, b = rand(rng, 2, 6, 11, 9), rand(rng, 8, 3, 3, 3), rand(rng, 8)
    torch_padding = 0 if padding == "valid" else padding
    theirs = F.conv2d(t(x), t(w), t(b), stride=stride, padding=torch_padding, groups=2)
    assert_close(k.conv2d(x, w, b, stride, padding, 1, 2), theirs)


def test_conv2d_same_at_stride_one_equals_torch_same() -> None:
    rng = np.random.default_rng(2)
    x, w = rand(rng, 1, 4, 10, 7), rand(rng, 5, 4, 4, 3)  # even kernel: the odd pixel goes bottom/right
    assert_close(k.conv2d(x, w, None, 1, "same", 2), F.conv2d(t(x), t(w), padding="same", dilation=2))


def test_conv2d_bounds_its_column_buffer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunking by samples and by rows gives the same answer as one big multiply."""
    rng = np.random.default_rng(3)
    x, w = rand(rng, 3, 4, 13, 12), rand(rng, 6, 4, 3, 3)
    expected = F.conv2d(t(x), t(w), padding=1)
    monkeypatch.setattr(k, "IM2COL_MIN_COLUMNS", 1)
    for budget in (10**9, 2 * 36 * 12 * 13, 36 * 12 * 13 - 1, 36 * 12 * 3, 1):
        monkeypatch.setattr(k, "IM2COL_CHUNK_ELEMENTS", budget)
        assert_close(k.conv2d(x, w, None, 1, 1), expected)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("fused_from", [1, 10**9])  # the einsum path, or the per-tap ufunc path
def test_depthwise_blocks_threads_and_paths_give_the_same_answer(
    monkeypatch: pytest.MonkeyPatch, stride: int, fused_from: int
) -> None:
    rng = np.random.default_rng(14)
    x, w = rand(rng, 2, 3, 11, 10), rand(rng, 6, 1, 3, 2)
    pads = k.resolve_padding("same", (11, 10), (3, 2), (stride, stride), (2, 2))
    expected = F.conv2d(torch_pad(t(x), pads), t(w), None, stride=stride, dilation=2, groups=3)
    monkeypatch.setattr(dw, "DEPTHWISE_FUSED_MIN_CHANNELS", fused_from)
    monkeypatch.setattr(dw, "_flat", lambda stride, out_hw, width: False)
    monkeypatch.setattr(dw, "_banded", lambda stride, out_hw, channels: False)  # the tap loop (banded: its own tests)
    for block in (10**9, 40, 1):
        for threads in (1, 2, 3):  # samples shared between workers, or one sample's row blocks
            monkeypatch.setattr(dw, "DEPTHWISE_BLOCK_ELEMENTS", block)
            monkeypatch.setattr(k, "THREADS", threads)
            tally = k.Tally()
            assert_close(dw.depthwise_conv2d(x, w, None, stride, "same", 2, 2, tally=tally), expected)
            assert tally.macs == 3 * 2 * expected.numel()  # every 3x2 tap times every output value
            assert_close(dw.depthwise_conv2d(x[:1], w, None, stride, "same", 2, 2), expected[:1])


@given(conv_case(depthwise=True))
def test_depthwise_equals_torch_grouped_conv_on_random_geometry(case: dict[str, Any]) -> None:
    rng = np.random.default_rng(case["seed"])
    n, c, h, wd = case["shape"]
    m = case["multiplier"]
    x = rand(rng, n, c, h, wd)
    w = rand(rng, c * m, 1, *case["kernel"])
    b = rand(rng, c * m)
    ours = dw.depthwise_conv2d(x, w, b, case["stride"], case["padding"], case["dilation"], m)
    theirs = F.conv2d(
        torch_pad(t(x), case["pads"]), t(w), t(b), stride=case["stride"], dilation=case["dilation"], groups=c
    )
    assert_close(ours, theirs)


def test_pointwise_equals_torch_1x1_conv() -> None:
    rng = np.random.default_rng(4)
    x, w, b = rand(rng, 3, 16, 7, 5), rand(rng, 24, 16, 1, 1), rand(rng, 24)
    assert_close(k.pointwise_conv2d(x, w, b), F.conv2d(t(x), t(w), t(b)))


def test_separable_equals_torch_depthwise_then_pointwise() -> None:
    rng = np.random.default_rng(5)
    x, dw_w, pw, b = rand(rng, 2, 3, 9, 9), rand(rng, 6, 1, 3, 3), rand(rng, 4, 6, 1, 1), rand(rng, 4)
    theirs = F.conv2d(F.conv2d(t(x), t(dw_w), stride=2, padding=1, groups=3), t(pw), t(b))
    assert_close(dw.separable_conv2d(x, dw_w, pw, b, 2, 1, 1, 2), theirs)


def test_linear_equals_torch_on_vectors_and_on_the_channels_of_a_map() -> None:
    rng = np.random.default_rng(6)
    x, w, b = rand(rng, 4, 10), rand(rng, 3, 10), rand(rng, 3)
    assert_close(k.linear(x, w, b), F.linear(t(x), t(w), t(b)))
    m = rand(rng, 2, 10, 4, 5)
    theirs = F.linear(t(m).permute(0, 2, 3, 1), t(w), t(b)).permute(0, 3, 1, 2)
    assert_close(k.linear(m, w, b), theirs)


# ------------------------------------------------------------------------- naive twins


@given(conv_case())
def test_im2col_conv_equals_the_naive_loops(case: dict[str, Any]) -> None:
    rng = np.random.default_rng(case["seed"])
    x = rand(rng, *case["shape"])
    w = rand(rng, case["out"], case["shape"][1] // case["groups"], *case["kernel"])
    b = rand(rng, case["out"])
    ours = k.conv2d(x, w, b, case["stride"], case["padding"], case["dilation"], case["groups"])
    assert_close(ours, naive_conv2d(x, w, b, case["stride"], case["pads"], case["dilation"], case["groups"]))


@given(conv_case(depthwise=True))
def test_depthwise_equals_the_naive_loops(case: dict[str, Any]) -> None:
    rng = np.random.default_rng(case["seed"])
    n, c, h, wd = case["shape"]
    m = case["multiplier"]
    x, w = rand(rng, n, c, h, wd), rand(rng, c * m, 1, *case["kernel"])
    ours = dw.depthwise_conv2d(x, w, None, case["stride"], case["padding"], case["dilation"], m)
    assert_close(ours, naive_depthwise(x, w, case["stride"], case["pads"], case["dilation"], m))


# ------------------------------------------------------------------------- Keras `same`, stride 2


@pytest.fixture(scope="module")
def keras() -> Any:
    import keras

    return keras


def nhwc(x: np.ndarray) -> np.ndarray:
    return x.transpose(0, 2, 3, 1)


def from_keras(y: Any) -> np.ndarray:
    return np.asarray(y.detach().cpu().numpy() if hasattr(y, "detach") else y).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("size", [(8, 8), (9, 7)])
@pytest.mark.parametrize("kernel", [3, 4])
def test_conv_same_stride_two_equals_keras(keras: Any, size: tuple[int, int], kernel: int) -> None:
    rng = np.random.default_rng(7)
    x, w, b = rand(rng, 2, 3, *size), rand(rng, 5, 3, kernel, kernel), rand(rng, 5)
    layer = keras.layers.Conv2D(5, kernel, strides=2, padding="same")
    layer.build((None, *size, 3))
    layer.set_weights([w.transpose(2, 3, 1, 0), b])
    assert_close(k.conv2d(x, w, b, 2, "same"), from_keras(layer(nhwc(x))))


@pytest.mark.parametrize("size", [(8, 8), (9, 7)])
def test_depthwise_same_stride_two_equals_keras(keras: Any, size: tuple[int, int]) -> None:
    rng = np.random.default_rng(8)
    c, m = 3, 2
    x, w, b = rand(rng, 2, c, *size), rand(rng, c * m, 1, 3, 3), rand(rng, c * m)
    layer = keras.layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=m)
    layer.build((None, *size, c))
    # Keras keeps (kh, kw, C, multiplier); output channel c * m + j reads input channel c, as ours does.
    layer.set_weights([w.reshape(c, m, 3, 3).transpose(2, 3, 0, 1), b])
    assert_close(dw.depthwise_conv2d(x, w, b, 2, "same", 1, m), from_keras(layer(nhwc(x))))


@pytest.mark.parametrize("size", [(8, 8), (9, 7), (9, 8)])
@pytest.mark.parametrize("pool", [2, 3])
def test_pools_same_stride_two_equal_keras(keras: Any, size: tuple[int, int], pool: int) -> None:
    rng = np.random.default_rng(9)
    x = rand(rng, 2, 4, *size)
    keras_max = keras.layers.MaxPooling2D(pool, strides=2, padding="same")
    keras_avg = keras.layers.AveragePooling2D(pool, strides=2, padding="same")
    assert_close(k.max_pool2d(x, pool, 2, "same"), from_keras(keras_max(nhwc(x))))
    pads = k.resolve_padding("same", size, (pool, pool), (2, 2), (1, 1))
    # Excluding the padding: the mean is the zero-padded window sum over the real pixels it covers.
    windows_sum = F.avg_pool2d(torch_pad(t(x), pads), pool, 2)
    real_pixels = F.avg_pool2d(torch_pad(torch.ones_like(t(x)), pads), pool, 2)
    assert_close(k.avg_pool2d(x, pool, 2, "same"), windows_sum / real_pixels)
    if all(before == after for before, after in pads):
        # Keras' torch backend excludes symmetric padding as TensorFlow does, but pads an uneven
        # split with *replicated* edge pixels (keras/src/backend/torch/nn.py), unlike TensorFlow.
        assert_close(k.avg_pool2d(x, pool, 2, "same"), from_keras(keras_avg(nhwc(x))))


# ------------------------------------------------------------------------- the rest vs torch


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_batch_norm_equals_torch_inference(monkeypatch: pytest.MonkeyPatch, threads: int) -> None:
    monkeypatch.setattr(k, "THREADS", threads)  # the batch is split between workers
    rng = np.random.default_rng(10)
    x = rand(rng, 5, 6, 4, 5)
    mean, var, gamma, beta = rand(rng, 6), rng.uniform(0.5, 2, 6).astype(np.float32), rand(rng, 6), rand(rng, 6)
    theirs = F.batch_norm(t(x), t(mean), t(var), t(gamma), t(beta), training=False, eps=1e-3)
    assert_close(k.batch_norm(x, mean, var, gamma, beta, eps=1e-3), theirs)
    inplace = x.copy()
    assert k.batch_norm(inplace, mean, var, gamma, beta, eps=1e-3, inplace=True) is inplace
    assert_close(inplace, theirs)
    flat = rand(rng, 3, 6)
    theirs = F.batch_norm(t(flat), t(mean), t(var), None, None, training=False, eps=1e-5)
    assert_close(k.batch_norm(flat, mean, var, eps=1e-5), theirs)
    before = x.copy()
    k.batch_norm(x, mean, var, gamma, beta)
    assert np.array_equal(x, before), "not in place unless asked"


TORCH_ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": F.relu,
    "relu6": F.relu6,
    "leaky_relu": lambda x: F.leaky_relu(x, k.LEAKY_RELU_SLOPE),
    "elu": F.elu,
    "selu": F.selu,
    "gelu": F.gelu,
    "silu": F.silu,
    "swish": F.silu,
    "hard_swish": F.hardswish,
    "hard_sigmoid": F.hardsigmoid,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softplus": F.softplus,
    "softmax": lambda x: F.softmax(x, dim=1),
    "mish": F.mish,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
}


def test_every_spec_activation_has_a_torch_twin() -> None:
    from convcost.spec import ACTIVATIONS

    assert set(TORCH_ACTIVATIONS) == set(ACTIVATIONS)


@pytest.mark.parametrize("function", sorted(TORCH_ACTIVATIONS))
def test_activation_equals_torch(function: str) -> None:
    rng = np.random.default_rng(11)
    x = rand(rng, 3, 5, 4, 3) * 4
    expected = TORCH_ACTIVATIONS[function](t(x)).numpy().copy()
    assert_close(k.activation(x, function), expected)
    assert_close(k.activation(x, function, inplace=True), expected)


@st.composite
def pool_case(draw: st.DrawFn) -> dict[str, Any]:
    pool = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, pool // 2))  # torch allows at most half the window
    size = (draw(st.integers(max(1, pool - 2 * padding), 12)), draw(st.integers(max(1, pool - 2 * padding), 12)))
    return {"pool": pool, "stride": stride, "padding": padding, "size": size, "seed": draw(st.integers(0, 999))}


@given(pool_case(), st.booleans())
def test_pools_equal_torch(case: dict[str, Any], include_pad: bool) -> None:
    rng = np.random.default_rng(case["seed"])
    x = rand(rng, 2, 3, *case["size"])
    p, s, pad = case["pool"], case["stride"], case["padding"]
    assert_close(k.max_pool2d(x, p, s, pad), F.max_pool2d(t(x), p, s, pad))
    assert_close(
        k.avg_pool2d(x, p, s, pad, count_include_pad=include_pad),
        F.avg_pool2d(t(x), p, s, pad, count_include_pad=include_pad),
    )


def test_global_pool_flatten_add_concat_equal_torch() -> None:
    rng = np.random.default_rng(12)
    x, y = rand(rng, 2, 3, 4, 5), rand(rng, 2, 3, 4, 5)
    assert_close(k.global_avg_pool2d(x), F.adaptive_avg_pool2d(t(x), 1).flatten(1))
    assert_close(k.global_avg_pool2d(x, keepdims=True), F.adaptive_avg_pool2d(t(x), 1))
    assert_close(k.flatten(x), torch.flatten(t(x), 1))  # channels-first element order, as torch
    assert_close(k.add(x, y, x), t(x) + t(y) + t(x))
    assert_close(k.concat(x, y), torch.cat([t(x), t(y)], dim=1))
    assert_close(k.zero_pad2d(x, ((1, 2), (0, 3))), F.pad(t(x), (0, 3, 1, 2)))


# ------------------------------------------------------------------------- counting


def test_tally_counts_the_multiplied_operands() -> None:
    rng = np.random.default_rng(13)
    x, w = rand(rng, 2, 4, 6, 6), rand(rng, 8, 2, 3, 3)
    tally = k.Tally()
    k.conv2d(x, w, None, 1, 1, 1, 2, tally=tally)
    # 2 samples x 2 groups x (4 filters x 18 inputs) @ (18 x 36 pixels)
    assert tally.macs == 2 * 2 * 4 * 18 * 36
    tally = k.Tally()
    dw.depthwise_conv2d(x, rand(rng, 4, 1, 3, 3), None, 1, 1, tally=tally)
    assert tally.macs == 2 * 4 * 9 * 36


def test_bad_geometry_is_a_value_error() -> None:
    x = np.zeros((1, 2, 3, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="kernel extent 5"):
        k.conv2d(x, np.zeros((1, 2, 5, 5), dtype=np.float32))
    with pytest.raises(ValueError, match="do not fit"):
        dw.depthwise_conv2d(x, np.zeros((3, 1, 3, 3), dtype=np.float32))
