"""`convcost sweep` over the paper's grid reproduces its Tables 6 and 7; the scaling rule beside it; plots."""

from __future__ import annotations

import json
import re
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from convcost import analyze
from convcost.cli import main
from convcost.sweep import sweep
from convcost.zoo import build, mobilenet_v1

# The paper's Table 6 (alpha at 224) and Table 7 (resolution at alpha 1): mult-adds M, params M
TABLE_6 = {1.0: (569, 4.2), 0.75: (325, 2.6), 0.5: (149, 1.3), 0.25: (41, 0.5)}
TABLE_7 = {224: 569, 192: 418, 160: 290, 128: 186}


@pytest.mark.parametrize(
    "grid", [[], ["--alpha", "1,0.75,0.5,0.25", "--resolution", "224,192,160,128"]], ids=["no options", "explicit"]
)
def test_paper_grid_reproduces_tables_6_and_7(grid: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """With no options sweep is the paper's grid: its 16 points hold Table 6's four and Table 7's four."""
    assert main(["sweep", *grid, "--format", "json"]) == 0
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


def test_scaling_rule_beside_each_point(capsys: pytest.CaptureFixture[str]) -> None:
    """Each point as a fraction of MobileNet 1.0 at 224, beside the paper's alpha^2 rho^2 and alpha^2.
    The convolutions' maps scale exactly by rho at these resolutions (multiples of 32), so at alpha 1
    all that departs from rho^2 is the classifier's 1024 x 1000, which no resolution changes."""
    assert main(["sweep", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    base = analyze(mobilenet_v1()).totals
    assert (data["base"]["macs"], data["base"]["params"], data["work"]) == (base.macs, base.params, "macs")
    classifier = 1024 * 1000
    for p in data["points"]:
        alpha, rho = Fraction(str(p["alpha"])), Fraction(p["resolution"], 224)
        assert Fraction(p["rule_work"]) == alpha**2 * rho**2 and Fraction(p["rule_params"]) == alpha**2
        assert Fraction(p["work_of_base"]) == Fraction(p["macs"], base.macs)
        assert Fraction(p["params_of_base"]) == Fraction(p["params"], base.params)
        if alpha == 1:
            assert p["macs"] - classifier == rho**2 * (base.macs - classifier)
    assert main(["sweep", "--alpha", "0.5", "--resolution", "160"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "76,524,800" in line)
    # 76.5M / 568.7M = 0.135 against 0.25 * (160/224)^2 = 0.128; params 0.314 against 0.250
    assert [cell.strip() for cell in row.split("│")][4:] == ["0.135", "0.128", "1,320,648", "1.32", "0.314", "0.250"]
    assert "the paper's rule" in out and "Pareto" not in out


def test_each_omitted_axis_is_the_papers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "--alpha", "0.5", "--format", "json"]) == 0
    points = json.loads(capsys.readouterr().out)["points"]
    assert [(p["alpha"], p["resolution"]) for p in points] == [(0.5, r) for r in (224, 192, 160, 128)]
    assert main(["sweep", "lenet5", "--format", "json"]) == 0  # a model without alpha and resolution: one point
    data = json.loads(capsys.readouterr().out)
    assert [(p["alpha"], p["resolution"], p["rule_work"]) for p in data["points"]] == [(None, None, "1")]
    assert data["points"][0]["macs"] == analyze(build("lenet5")).totals.macs


def test_flops_sweep_under_a_tool_convention(capsys: pytest.CaptureFixture[str]) -> None:
    """Every point's FLOPs are analyze()'s under the convention (held against calflops itself in
    tests/test_conventions_tools.py); the columns are about FLOPs."""
    args = ["sweep", "--alpha", "1,0.5", "--resolution", "224,128", "--convention", "calflops", "--flops"]
    assert main([*args, "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["work"] == "flops"
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
    """The SVG keeps its words as text: axis labels, the legend's widths, each point's resolution."""
    target = tmp_path / "grid.svg"
    assert main(["sweep", "--alpha", "1,0.5", "--resolution", "224,128", "--plot", str(target)]) == 0
    text = target.read_text()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    words = {word.strip() for word in re.findall(r"<text[^>]*>([^<]*)</text>", text)}
    assert {"parameters (millions, log scale)", "multiply-adds (millions, log scale)"} <= words
    assert {"width multiplier", "alpha 1.0", "alpha 0.5", "224", "128"} <= words
    assert [p.name for p in tmp_path.iterdir()] == ["grid.svg"]


def test_plot_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "grid.png"
    assert main(["sweep", "--plot", str(target), "--flops"]) == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_axes_and_legend() -> None:
    """Log axes (alpha and resolution both scale cost by squares), one line per alpha in the legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from convcost.sweep import figure

    fig = figure(sweep("mobilenet_v1"))
    try:
        (axes,) = fig.axes
        assert (axes.get_xscale(), axes.get_yscale()) == ("log", "log")
        assert [t.get_text() for t in axes.get_legend().get_texts()] == [f"alpha {a}" for a in (1.0, 0.75, 0.5, 0.25)]
        assert all(len(line.get_xdata()) == 4 for line in axes.get_lines())  # four resolutions each
    finally:
        plt.close(fig)


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
        # the default grid's 192 is too small for its fixed 7x7 pooling: the point is named
        (["sweep", "mobilenet_v1_mnist"], "sweep mobilenet_v1_mnist at resolution 192: layer 'average_pooling2d'"),
    ],
)
def test_mistakes(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
