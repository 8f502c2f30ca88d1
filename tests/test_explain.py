"""`convcost explain`: the paper's Table 3 layer, any geometry, and a layer picked from a model."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from convcost import Conv2D, DepthwiseConv2D, Model, Sequential, analyze, build, mobilenet_v1
from convcost.cli import main
from convcost.errors import SpecError
from convcost.explain import explain, explain_layer, to_text


def test_the_issue_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--kernel", "3", "--in", "512", "--out", "512", "--size", "14"]) == 0
    out = capsys.readouterr().out
    assert "1/N + 1/Dk^2 = 1/512 + 1/9 = 521/4608 = 0.1131" in out
    # the paper's Table 3: 462M mult-adds for the standard conv, 52.3M for the separable one
    assert f"= {3 * 3 * 512 * 512 * 14 * 14:,}" in out and "462,422,016" in out
    assert f"{3 * 3 * 512 * 14 * 14 + 512 * 512 * 14 * 14:,}" == "52,283,392" and "52,283,392" in out
    assert "Dk*Dk*M*N*Df*Df           = 3*3*512*512*14*14" in out


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--kernel", "3", "--in", "512", "--out", "512", "--size", "14", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ratio"]["fraction"] == "521/4608" == str(Fraction(1, 512) + Fraction(1, 9))
    values = {t["label"]: t["value"] for t in data["terms"]}
    assert values["standard params"] == 2_359_296  # Table 3: 2.36M
    assert values["separable params"] == 266_752  # Table 3: 0.27M


@given(k=st.integers(1, 7), M=st.integers(1, 256), N=st.integers(1, 256), size=st.integers(1, 64), s=st.integers(1, 3))
def test_any_geometry(k: int, M: int, N: int, size: int, s: int) -> None:
    e = explain(k, M, N, size, s)
    Df = -(-size // s)
    assert e.value("standard mult-adds") == k * k * M * N * Df * Df
    assert e.value("separable mult-adds") == k * k * M * Df * Df + M * N * Df * Df
    assert e.macs_ratio == e.params_ratio == e.formula == Fraction(1, N) + Fraction(1, k * k)


def test_model_layer_uses_its_partner_and_stride() -> None:
    e = explain_layer(mobilenet_v1(), "conv_pw_2")
    assert (e.kernel, e.M, e.N, e.size, e.stride, e.Df) == (3, 64, 128, 112, 2, 56)
    assert e.source == "mobilenet_v1: conv_dw_2 + conv_pw_2"


@pytest.mark.parametrize(
    "args, message",
    [
        (["explain", "mobilenet_v1", "conv_dw_77"], "has no layer 'conv_dw_77'; did you mean conv_dw_7?"),
        (["explain", "mobilenet_v1", "conv1_bn"], "'conv1_bn' of mobilenet_v1 is a batchnorm layer"),
        (["explain", "mobilenet_v1"], "name a layer too"),
        (["explain", "--kernel", "3"], "explain needs --in, --out, --size"),
        (["explain", "--kernel", "0", "--in", "1", "--out", "1", "--size", "1"], "--kernel must be a positive integer"),
        (["explain", "mobilenet_v1", "conv1", "--kernel", "3"], "not both"),
    ],
)
def test_mistakes(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


# ---------------------------------------------------------------- a model's layer: its own stride, padding, dilation


def window_positions(size: int, kernel: int, stride: int, dilation: int, padding: object) -> int:
    """Output size by counting where the (dilated) window starts, padding added as the mode says."""
    extent = dilation * (kernel - 1) + 1
    if padding == "same":
        return len(range(0, size, stride))  # Keras 'same': every stride-th input position is a centre
    pad = 0 if padding == "valid" else 2 * int(padding)  # type: ignore[call-overload]
    return len(range(0, size + pad - extent + 1, stride))


def test_lenet5_c1_is_stride_1_valid_24x24(capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's case: explain said 'stride 29, same padding, Df = 1, 150 mult-adds'."""
    e = explain_layer(build("lenet5"), "c1")
    Df = window_positions(28, 5, 1, 1, "valid")
    assert (e.stride, e.padding, e.Df) == (1, "valid", Df) == (1, "valid", 24)
    assert e.value("standard mult-adds") == 5 * 5 * 1 * 6 * Df * Df == 86_400
    assert main(["explain", "lenet5", "c1"]) == 0
    out = capsys.readouterr().out
    assert "on a 28x28 map (stride 1, no padding ('valid')): output Df = 24." in out
    assert "5*5*1*6*24*24" in out


@given(
    kernel=st.integers(1, 7),
    stride=st.integers(1, 4),
    dilation=st.integers(1, 3),
    padding=st.one_of(st.sampled_from(["same", "valid"]), st.integers(0, 3)),
    size=st.integers(1, 60),
    M=st.integers(1, 16),
    N=st.integers(1, 16),
)
def test_a_layer_is_explained_with_its_real_geometry(
    kernel: int, stride: int, dilation: int, padding: object, size: int, M: int, N: int
) -> None:
    Df = window_positions(size, kernel, stride, dilation, padding)
    assume(Df >= 1)
    layer = Conv2D(N, kernel, stride=stride, dilation=dilation, padding=padding, bias=False, name="c")  # type: ignore[arg-type]
    model = Model("m", (M, size, size), Sequential((layer,)))
    if kernel == 1:  # a 1x1 conv is a pointwise layer, not a standard one
        with pytest.raises(SpecError, match="pointwise convolution without a partner"):
            explain_layer(model, "c")
        return
    e = explain_layer(model, "c")
    assert (e.kernel, e.M, e.N, e.size, e.stride, e.dilation, e.Df) == (kernel, M, N, size, stride, dilation, Df)
    assert e.value("standard mult-adds") == kernel * kernel * M * N * Df * Df
    assert e.value("depthwise mult-adds") == kernel * kernel * M * Df * Df
    assert e.value("pointwise mult-adds") == M * N * Df * Df
    assert analyze(model).totals.macs == e.value("standard mult-adds")  # the table says the same


def test_the_separable_pair_keeps_the_depthwise_stride_and_padding() -> None:
    model = Model(
        "pair",
        (8, 33, 33),
        Sequential(
            (
                DepthwiseConv2D(3, stride=2, padding=1, bias=False, name="dw"),
                Conv2D(16, 1, bias=False, name="pw"),
            )
        ),
    )
    Df = window_positions(33, 3, 2, 1, 1)
    for name in ("dw", "pw"):
        e = explain_layer(model, name)
        assert (e.stride, e.padding, e.Df) == (2, ((1, 1), (1, 1)), Df)
        assert e.value("separable mult-adds") == 3 * 3 * 8 * Df * Df + 8 * 16 * Df * Df
    assert "(stride 2, padding 1): output Df = 17." in to_text(explain_layer(model, "dw"))


@pytest.mark.parametrize("resolution", [10**10, 10**40])
def test_explain_at_huge_resolutions(resolution: int) -> None:
    """The stride used to be searched one by one: no answer at 10**10."""
    size = resolution
    for stride in (2, 1, 2, 1, 2, 1, 2):  # conv1, then blocks 1-6 of the paper's Table 1
        size = range(0, size, stride)[-1] // stride + 1  # 'same': every stride-th position (len() stops at 2**63)
    e = explain_layer(build("mobilenet_v1", resolution=resolution), "conv_dw_7")
    assert (e.stride, e.padding, e.Df, e.M, e.N) == (1, "same", size, 512, 512)
    assert e.value("standard mult-adds") == 3 * 3 * 512 * 512 * size * size
