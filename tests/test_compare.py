"""`convcost compare`: the paper's Tables 4 and 5 side by side, stage sums that add up."""

from __future__ import annotations

import functools
import json
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcost import analyze, mobilenet_v1
from convcost.cli import main
from convcost.compare import Stage, pair, stages
from convcost.loading import load
from convcost.report import Totals


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


# --- stages pair like with like -------------------------------------------------------------


def _resolution(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape[1:])) if len(shape) > 1 else "classifier"


def _cost_by_resolution(model: str) -> dict[str, tuple[int, int]]:
    """(mult-adds, params) of the layers producing each output size, straight from the rows,
    in the order the sizes first appear among layers that cost something."""
    sums: dict[str, tuple[int, int]] = {}
    for row in analyze(load(model)).rows:
        if row.macs or row.params:
            macs, params = sums.get(_resolution(row.output), (0, 0))
            sums[_resolution(row.output)] = (macs + row.macs, params + row.params)
    return sums


@pytest.mark.parametrize("a, b", [("mobilenet_v1", "mobilenet_v2"), ("mobilenet_v1", "resnet50")])
def test_stages_pair_by_equal_resolution(a: str, b: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Both at 224: every paired stage has the same map on both sides, and its sums are those of
    the layers of that output size (padding, at 113x113 or 230x230, costs nothing)."""
    expected_a, expected_b = _cost_by_resolution(a), _cost_by_resolution(b)
    data = compare_json([a, b], capsys)
    paired = [s for s in data["stages"] if s["a"] and s["b"]]
    assert [s["a"]["map"] for s in paired] == [s["b"]["map"] for s in paired]
    assert [s["a"]["map"] for s in paired] == [r for r in expected_a if r in expected_b]
    for stage in paired:
        resolution = stage["a"]["map"]
        assert (stage["a"]["macs"], stage["a"]["params"]) == expected_a[resolution]
        assert (stage["b"]["macs"], stage["b"]["params"]) == expected_b[resolution]
    unpaired = [s["a"] or s["b"] for s in data["stages"] if not (s["a"] and s["b"])]
    assert {s["map"] for s in unpaired} == set(expected_a) ^ set(expected_b) == set()
    # the classifiers pair: 1024 -> 1000 against 1280 -> 1000 or 2048 -> 1000 (once 1354.752 against 14x14)
    features = {"mobilenet_v2": 1280, "resnet50": 2048}[b]
    assert Fraction(data["stages"][-1]["b_over_a"]["macs"]) == Fraction(features, 1024)


def test_a_stage_without_partner(capsys: pytest.CaptureFixture[str]) -> None:
    """ConvNeXt's stem is a 4x4 stride-4 conv: it has no 112x112 stage, and ResNet-50's is shown alone."""
    expected_a, expected_b = _cost_by_resolution("convnext_tiny"), _cost_by_resolution("resnet50")
    data = compare_json(["convnext_tiny", "resnet50"], capsys)
    alone = [s["b"]["map"] for s in data["stages"] if s["a"] is None]
    assert alone == [r for r in expected_b if r not in expected_a] == ["112x112"]
    assert not any(s["b"] is None for s in data["stages"])
    assert main(["compare", "convnext_tiny", "resnet50"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "112x112" in line)
    assert "none" in row and "no partner" in row and f"{expected_b['112x112'][0]:,}" in row
    assert "no partner: the other model has no stage at that scale" in out
    assert main(["compare", "convnext_tiny", "resnet50", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith(f"1,,,112x112,{expected_b['112x112'][0]},,")


def test_stages_pair_by_scale_across_resolutions(capsys: pytest.CaptureFixture[str]) -> None:
    """At 224 and at 160 the k-th stride-2 halving gives 224/2^k and 160/2^k: those pair."""
    data = compare_json(["mobilenet_v1", "mobilenet_v1", "--b-resolution", "160"], capsys)
    maps = [(s["a"]["map"], s["b"]["map"]) for s in data["stages"]]
    sizes = [(224 // 2**k, 160 // 2**k) for k in range(1, 6)]
    assert maps == [(f"{a}x{a}", f"{b}x{b}") for a, b in sizes] + [("classifier", "classifier")]


@pytest.mark.parametrize(
    "model, convention",
    [
        ("efficientnet_b0", "paper"),
        ("efficientnet_b0", "fvcore"),
        ("convnext_tiny", "paper"),
        ("unet", "paper"),
        ("mobilenet_v3_large", "thop"),
        ("examples/graph_skips.toml", "paper"),
        ("examples/squeeze_excite.toml", "torchinfo"),
        ("examples/unet_tiny.toml", "paper"),
        ("examples/keyword_spotting_1d.toml", "paper"),
    ],
)
def test_stages_partition_graphs(model: str, convention: str) -> None:
    """On graphs (skips, squeeze-and-excitation detours, a decoder going back up) every row is in
    exactly one stage, so the stages' totals add up to the model's."""
    report = analyze(load(model), convention)
    parts = stages(report)
    total = Totals()
    for part in parts:
        total = total + part.totals
    assert total == Totals(
        report.totals.trainable, report.totals.non_trainable, report.totals.macs, len(report.rows), report.totals.flops
    )


def test_squeeze_excite_detours_belong_to_their_stage() -> None:
    """EfficientNet's squeeze-and-excitation branches pool to 1x1 and come back: they are part of
    the stage around them, so the stages are the sizes its convolutions produce, in order."""
    report = analyze(load("efficientnet_b0"))
    expected: list[str] = []
    for row in report.rows:
        size = _resolution(row.output)
        if (row.macs or row.params) and any(n > 1 for n in row.output[1:]) and size not in expected:
            expected.append(size)
    assert [s.label for s in stages(report)] == [*expected, "classifier"]


@settings(max_examples=200)
@given(st.lists(st.integers(0, 3), max_size=7), st.lists(st.integers(0, 3), max_size=7))
def test_pairing_is_a_longest_order_keeping_match(a_scales: list[int], b_scales: list[int]) -> None:
    def as_stages(scales: list[int]) -> list[Stage]:
        return [Stage(str(i), Totals(macs=i), (Fraction(s),)) for i, s in enumerate(scales)]

    @functools.cache
    def longest(i: int, j: int) -> int:
        if i == len(a_scales) or j == len(b_scales):
            return 0
        if a_scales[i] == b_scales[j]:
            return 1 + longest(i + 1, j + 1)
        return max(longest(i + 1, j), longest(i, j + 1))

    a, b = as_stages(a_scales), as_stages(b_scales)
    pairs = pair(a, b)
    assert [sa for sa, _ in pairs if sa] == a and [sb for _, sb in pairs if sb] == b  # both orders kept
    both = [(sa, sb) for sa, sb in pairs if sa and sb]
    assert all(sa.scale == sb.scale for sa, sb in both)
    assert len(both) == longest(0, 0)
