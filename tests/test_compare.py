"""`convcost compare`: the paper's Tables 4 and 5 side by side, stage sums that add up."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from convcost import analyze, mobilenet_v1
from convcost.cli import main
from convcost.compare import stages


def compare_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:  # type: ignore[type-arg]
    assert main(["compare", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_table_4_mobilenet_vs_conv_mobilenet(capsys: pytest.CaptureFixture[str]) -> None:
    data = compare_json(["mobilenet_v1", "mobilenet_v1_conv"], capsys)
    # Table 4: MobileNet 569M mult-adds / 4.2M params; Conv MobileNet 4866M (exact 4867.3M) / 29.3M
    assert (round(data["a"]["macs"] / 1e6), round(data["a"]["params"] / 1e6, 1)) == (569, 4.2)
    assert (round(data["b"]["macs"] / 1e6, 1), round(data["b"]["params"] / 1e6, 1)) == (4867.3, 29.3)
    assert Fraction(data["b_over_a"]["macs"]) == Fraction(data["b"]["macs"], data["a"]["macs"])
    # the 14x14 stage: five 512->512 blocks and the 256->512 one; full 3x3 convs cost
    # 1 / (1/512 + 1/9) times the separable ones there
    stage = next(s for s in data["stages"] if s["a"]["map"] == "14x14")
    standard = 3 * 3 * 256 * 512 * 14 * 14 + 5 * 3 * 3 * 512 * 512 * 14 * 14
    assert stage["b"]["macs"] == standard


def test_table_5_narrow_vs_shallow(capsys: pytest.CaptureFixture[str]) -> None:
    data = compare_json(["mobilenet_v1", "mobilenet_v1_shallow", "--a-alpha", "0.75"], capsys)
    assert data["a"]["label"] == "mobilenet_v1 (alpha 0.75)"
    # Table 5: 0.75 MobileNet 325M / 2.6M, Shallow MobileNet 307M / 2.9M
    assert (round(data["a"]["macs"] / 1e6), round(data["a"]["params"] / 1e6, 1)) == (325, 2.6)
    assert (round(data["b"]["macs"] / 1e6), round(data["b"]["params"] / 1e6, 1)) == (307, 2.9)


def test_stages_partition_the_totals() -> None:
    report = analyze(mobilenet_v1(resolution=160))
    parts = stages(report)
    assert [s.label for s in parts] == ["80x80", "40x40", "20x20", "10x10", "5x5", "classifier"]
    assert sum(s.totals.macs for s in parts) == report.totals.macs
    assert sum(s.totals.params for s in parts) == report.totals.params


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv"])
def test_formats(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "mobilenet_v1", "mobilenet_v1", "--b-resolution", "128", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert "568,740,352" in out or "568740352" in out
    assert "186,400,768" in out or "186400768" in out


def test_mistakes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", "mobilenet_v1", "lenet5", "--b-alpha", "0.5"]) == 2
    assert "model 'lenet5' takes no 'alpha'" in capsys.readouterr().err
    assert main(["compare", "mobilenet_v1"]) == 2
    assert "MODEL_B" in capsys.readouterr().err


def test_flops_columns(capsys: pytest.CaptureFixture[str]) -> None:
    """Paper FLOPs are exactly 2 x the mult-adds (Table 4's 4866M becomes 9.7 G FLOPs); the ratio stays."""
    assert main(["compare", "mobilenet_v1", "mobilenet_v1_conv", "--flops"]) == 0
    out = capsys.readouterr().out
    assert "A FLOPs" in out and "mult-adds" not in out
    assert "1,137,480,704" in out and f"{2 * 4_867_293_184:,}" in out and "8.558" in out
    data = compare_json(["mobilenet_v1", "mobilenet_v1_conv", "--convention", "fvcore"], capsys)
    a = analyze(mobilenet_v1(), "fvcore").totals
    assert (data["a"]["flops"], data["a"]["macs"]) == (a.flops, a.macs)
    assert sum(stage["a"]["flops"] for stage in data["stages"]) == a.flops
