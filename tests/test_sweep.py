"""`convcost sweep` over the paper's grid reproduces its Tables 6 and 7; the Pareto front; plots."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from convcost import analyze
from convcost.cli import main
from convcost.render.text import MULT_ADDS, Work
from convcost.sweep import Point, sweep
from convcost.zoo import mobilenet_v1

# The paper's Table 6 (alpha at 224) and Table 7 (resolution at alpha 1): mult-adds M, params M
TABLE_6 = {1.0: (569, 4.2), 0.75: (325, 2.6), 0.5: (149, 1.3), 0.25: (41, 0.5)}
TABLE_7 = {224: 569, 192: 418, 160: 290, 128: 186}


def test_paper_grid_reproduces_tables_6_and_7(capsys: pytest.CaptureFixture[str]) -> None:
    grid = ["sweep", "--alpha", "1,0.75,0.5,0.25", "--resolution", "224,192,160,128", "--format", "json"]
    assert main(grid) == 0
    points = {(p["alpha"], p["resolution"]): p for p in json.loads(capsys.readouterr().out)["points"]}
    assert len(points) == 16
    for alpha, (macs_m, params_m) in TABLE_6.items():
        p = points[(alpha, 224)]
        assert (round(p["macs"] / 1e6), round(p["params"] / 1e6, 1)) == (macs_m, params_m)
    for resolution, macs_m in TABLE_7.items():
        p = points[(1.0, resolution)]
        # the paper truncates 290.7M to 290 (docs/errata.md); every other entry rounds
        assert int(p["macs"] / 1e6) == macs_m if resolution == 160 else round(p["macs"] / 1e6) == macs_m
        assert p["params"] == points[(1.0, 224)]["params"]  # resolution never changes the weights
    assert isinstance(points[(0.5, 160)]["macs"], int) and points[(0.5, 160)]["macs"] == 76_524_800


def test_pareto_front_is_the_lowest_resolution_of_each_width() -> None:
    result = sweep("mobilenet_v1", [1.0, 0.75, 0.5, 0.25], [224, 192, 160, 128])
    front = {(p.alpha, p.resolution) for p in result.points if p.pareto}
    assert front == {(1.0, 128), (0.75, 128), (0.5, 128), (0.25, 128)}
    # brute force, independently of Point.dominates
    for p in result.points:
        beaten = any(
            q.macs <= p.macs and q.params >= p.params and (q.macs, q.params) != (p.macs, p.params)
            for q in result.points
        )
        assert p.pareto is not beaten


def test_dominates() -> None:
    assert Point(1.0, 128, 100, 10).dominates(Point(0.5, 224, 150, 5), MULT_ADDS)
    assert not Point(1.0, 128, 100, 10).dominates(Point(1.0, 128, 100, 10), MULT_ADDS)
    # by FLOPs the order can differ from multiply-adds (element-wise work is counted once)
    cheap_macs, cheap_flops = Point(1.0, 128, 100, 10, flops=260), Point(0.5, 224, 110, 10, flops=240)
    assert cheap_macs.dominates(cheap_flops, MULT_ADDS) and cheap_flops.dominates(cheap_macs, Work(flops=True))


def test_flops_sweep_under_a_tool_convention(capsys: pytest.CaptureFixture[str]) -> None:
    """Every point's FLOPs are analyze()'s under the convention (held against calflops itself in
    tests/test_conventions_tools.py); the front and the columns are about FLOPs."""
    args = ["sweep", "--alpha", "1,0.5", "--resolution", "224,128", "--convention", "calflops", "--flops"]
    assert main([*args, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["pareto_by"] == "flops"
    for p in data["points"]:
        totals = analyze(mobilenet_v1(alpha=p["alpha"], resolution=p["resolution"]), "calflops").totals
        assert (p["macs"], p["flops"], p["params"]) == (totals.macs, totals.flops, totals.params)
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "FLOPs and params over the grid" in out and "1,147,617,256" in out and "Mult-Adds" not in out


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv"])
def test_formats(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "--alpha", "1,0.5", "--resolution", "224", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert "568,740,352" in out or "568740352" in out


def test_plot_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "grid.svg"
    assert main(["sweep", "--alpha", "1,0.5", "--resolution", "224,128", "--plot", str(target)]) == 0
    assert target.read_text().lstrip().startswith("<?xml") and "<svg" in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["grid.svg"]


def test_plot_without_matplotlib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    assert main(["sweep", "--alpha", "1", "--plot", str(tmp_path / "grid.png")]) == 2
    err = capsys.readouterr().err
    assert err == "convcost: error: --plot needs matplotlib, which is not installed: pip install 'convcost[plot]'\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["sweep", "--alpha", "1,x"], "--alpha: 'x' is not a valid float"),
        (["sweep", "--resolution", "224,1.5"], "--resolution: '1.5' is not a valid int"),
        (["sweep", "--alpha", "0"], "alpha must be a number > 0"),
        (["sweep", "lenet5", "--alpha", "1"], "model 'lenet5' takes no 'alpha'"),
        (["sweep", "--plot", "grid.pdf"], "the file must end in .svg or .png"),
    ],
)
def test_mistakes(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
