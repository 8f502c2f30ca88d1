"""`convcost explain`: the paper's Table 3 layer, any geometry, and a layer picked from a model."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convcost import mobilenet_v1
from convcost.cli import main
from convcost.explain import explain, explain_layer


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
