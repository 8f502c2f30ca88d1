"""The paper's claim: depthwise separable / standard = 1/N + 1/Dk^2, exactly, for every pair."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convcost import (
    Activation,
    BatchNorm,
    Conv2D,
    DepthwiseConv2D,
    Model,
    SeparableConv2D,
    analyze,
    mobilenet_v1,
)


@pytest.mark.parametrize("alpha, resolution", [(1.0, 224), (0.75, 192), (0.5, 160), (0.25, 128)])
def test_every_mobilenet_pair_is_one_over_n_plus_one_over_nine(alpha: float, resolution: int) -> None:
    report = analyze(mobilenet_v1(alpha=alpha, resolution=resolution))
    rows = {row.name: row for row in report.rows}
    assert len(report.separable) == 13
    for pair in report.separable:
        dw, pw = rows[pair.depthwise], rows[pair.pointwise]
        M, N = dw.input[0], pw.output[0]
        _, Df_h, Df_w = pw.output
        standard = 3 * 3 * M * N * Df_h * Df_w  # the full 3x3 conv with the same input and output
        assert Fraction(dw.macs + pw.macs, standard) == Fraction(1, N) + Fraction(1, 9)
        assert pair.ratio == pair.formula == Fraction(1, N) + Fraction(1, 9)


def test_whole_network_is_8_to_9_times_cheaper() -> None:
    ratio = analyze(mobilenet_v1()).separable_ratio
    assert ratio is not None
    assert Fraction(1, 9) < ratio < Fraction(1, 8)


@given(
    M=st.integers(1, 64),
    N=st.integers(1, 64),
    k=st.integers(1, 7),
    stride=st.integers(1, 3),
    size=st.integers(1, 40),
)
def test_ratio_formula_for_any_geometry(M: int, N: int, k: int, stride: int, size: int) -> None:
    model = Model(
        "pair",
        (M, size, size),
        [
            DepthwiseConv2D(k, stride=stride, padding="same", bias=False, name="dw"),
            BatchNorm(name="bn"),
            Activation("relu6", name="relu"),
            Conv2D(N, 1, bias=False, name="pw"),
        ],
    )
    (pair,) = analyze(model).separable
    assert pair.ratio == Fraction(1, N) + Fraction(1, k * k)


@given(M=st.integers(1, 16), N=st.integers(1, 16), k=st.integers(1, 5), multiplier=st.integers(1, 3))
def test_separable_layer_is_its_own_pair(M: int, N: int, k: int, multiplier: int) -> None:
    layer = SeparableConv2D(N, k, padding="same", depth_multiplier=multiplier, name="sep")
    (pair,) = analyze(Model("sep", (M, 9, 9), [layer])).separable
    # a depth multiplier d feeds d*M channels to the 1x1 conv: d * (1/N + 1/Dk^2)
    assert pair.ratio == multiplier * (Fraction(1, N) + Fraction(1, k * k))


def test_a_pool_between_breaks_the_pair() -> None:
    from convcost import MaxPool2D

    model = Model("x", (8, 8, 8), [DepthwiseConv2D(3, padding="same"), MaxPool2D(2), Conv2D(16, 1)])
    assert analyze(model).separable == ()
