"""``convcost.summary``: one call for a torch module, a Keras model, a convcost Model or a path.

The totals are checked against the framework's own tools (torchinfo, Keras ``count_params``), the
renderings against the table renderer and the report's rows.
"""

from __future__ import annotations

import io
from html.parser import HTMLParser
from pathlib import Path

import pytest

import convcost
from convcost.errors import SpecError
from convcost.render.table import to_table

ROOT = Path(__file__).resolve().parent.parent


def _residual_net() -> object:
    """A hand-written torch network: a stem, two residual blocks (one with a strided 1x1
    projection), functional pooling and a classifier."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.project = nn.Conv2d(cin, cout, 1, stride, bias=False) if stride != 1 or cin != cout else None

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = F.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return F.relu(y + (x if self.project is None else self.project(x)))

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, 16, 3, 2, 1)
            self.block1 = Block(16, 16, 1)
            self.block2 = Block(16, 32, 2)
            self.fc = nn.Linear(32, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = F.max_pool2d(F.relu(self.stem(x)), 2)
            x = self.block2(self.block1(x))
            return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

    return Net()


def test_a_torch_module_against_torchinfo() -> None:
    torchinfo = pytest.importorskip("torchinfo")
    net = _residual_net()
    report = convcost.summary(net, input_size=(2, 3, 64, 64), convention="torchinfo")
    stats = torchinfo.summary(net, input_size=(2, 3, 64, 64), verbose=0)
    assert report.totals.params == stats.total_params
    assert report.totals.macs == stats.total_mult_adds
    assert report.batch == 2
    assert str(report) == to_table(report, color=False)
    assert str(report).startswith(f"{report.model}: input 64x64x3, batch 2, convention 'torchinfo'")


def test_a_torch_module_needs_its_input_size() -> None:
    pytest.importorskip("torch")
    with pytest.raises(SpecError, match=r"needs input_size"):
        convcost.summary(_residual_net())


def test_a_keras_model_against_count_params() -> None:
    keras = pytest.importorskip("keras")
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", use_bias=False)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    y = keras.layers.DepthwiseConv2D(3, padding="same")(x)
    x = keras.layers.Add()([x, y])
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(5)(x))
    report = convcost.summary(model, convention="keras")
    assert report.totals.params == model.count_params()
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    assert report.totals.trainable == trainable
    # its get_config() dict is the same network
    assert convcost.summary(model.get_config(), convention="keras").totals == report.totals


def test_a_path_and_a_model_give_the_analysis_of_the_loaded_model() -> None:
    path = ROOT / "examples" / "graph_skips.toml"
    expected = convcost.analyze(convcost.load(str(path)), "fvcore")
    assert convcost.summary(path, convention="fvcore").totals == expected.totals
    assert convcost.summary(str(path), convention="fvcore").rows == expected.rows
    model = convcost.mobilenet_v1(0.5, 160)
    assert convcost.summary(model).totals == convcost.analyze(model).totals
    assert convcost.summary(model, batch=3).totals.macs == 3 * convcost.analyze(model).totals.macs


def test_depth_and_dtype() -> None:
    from convcost.render.depth import collapse

    model = convcost.build("resnet50")
    report = convcost.summary(model, depth=1, dtype="float16")
    assert report.rows == collapse(convcost.analyze(model), 1).rows
    assert str(report) == to_table(report, color=False, dtype="float16")
    with pytest.raises(SpecError, match="dtype 'float8'"):
        convcost.summary(model, dtype="float8")


def test_wrong_arguments_are_one_clear_error() -> None:
    with pytest.raises(SpecError, match="got int"):
        convcost.summary(3)
    with pytest.raises(SpecError, match="input_size applies to"):
        convcost.summary(convcost.mobilenet_v1(), input_size=(3, 224, 224))
    with pytest.raises(SpecError, match="analyze takes a convcost Model"):
        convcost.analyze("mobilenet_v1")  # type: ignore[arg-type]


def test_analyze_of_a_torch_module_says_what_to_call() -> None:
    pytest.importorskip("torch")
    with pytest.raises(SpecError, match=r"convcost.summary\(module, input_size\)"):
        convcost.analyze(_residual_net())  # type: ignore[arg-type]


def test_repr_is_one_line_with_the_totals() -> None:
    model = convcost.mobilenet_v1()
    report = convcost.summary(model)
    text = repr(report)
    assert "\n" not in text
    assert f"{report.totals.params:,} params" in text
    assert f"{report.totals.macs:,} mult-adds" in text
    assert f"{len(report.rows)} rows" in text


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_the_notebook_view_has_a_row_per_layer() -> None:
    from convcost.render.text import human

    report = convcost.summary("resnet50")
    cells = _Cells()
    cells.feed(report._repr_html_())
    header, *rows = cells.rows
    assert header[:3] == ["#", "Name", "Kind"]
    assert [row[1] for row in rows] == [r.path for r in report.rows]
    assert [row[7] for row in rows] == [human(r.params) for r in report.rows]
    assert [row[8] for row in rows] == [human(r.macs) for r in report.rows]


def test_the_notebook_view_escapes_names() -> None:
    model = convcost.Model("<b>x</b>", (3, 8, 8), convcost.Sequential([convcost.Conv2D(4, 3, name="<i>c")]))
    html = convcost.summary(model)._repr_html_()
    assert "<i>" not in html and "<b>x" not in html
    assert "&lt;i&gt;c" in html


def test_rich_renders_the_same_table() -> None:
    from rich.console import Console

    report = convcost.summary("lenet5")
    console = Console(file=io.StringIO(), width=400, color_system=None, legacy_windows=False)
    console.print(report)
    printed = console.file.getvalue()  # type: ignore[attr-defined]
    lines = [line.rstrip() for line in printed.rstrip("\n").splitlines()]
    assert lines == [line.rstrip() for line in str(report).rstrip("\n").splitlines()]
