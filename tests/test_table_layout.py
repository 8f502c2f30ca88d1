"""`convcost table` fits a width, chooses columns, hides layers that cost nothing, and plots.

The widths are measured on what the CLI prints; the hidden layers are counted from the JSON rows
(the report itself), not from the table code; the plot's bars are compared with the report's rows.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convcost.cli import _table_width, main
from convcost.render.fit import Step, fit, grid_width
from convcost.render.grid import grid
from convcost.zoo import ZOO

#: every layer column as the header shows it, in order
FULL = [
    "#",
    "Name",
    "Kind",
    "Type / Stride",
    "Filter Shape",
    "Input",
    "Output",
    "Params",
    "Mult-Adds",
    "Share",
    "Output (float32)",
]
#: the order docs/cli.md states the columns are dropped in when the table is too wide
DROP_ORDER = ["Output (float32)", "Kind", "Input", "#", "Type / Stride", "Filter Shape", "Output", "Share"]
MODELS = ["lenet5", "mobilenet_v1"]


class Terminal(io.StringIO):
    """A stdout that says it is a terminal (its size is $COLUMNS, as shutil reads it first)."""

    def isatty(self) -> bool:
        return True


def run(args: list[str], *, terminal: bool = False) -> tuple[int, str, str]:
    out, err = Terminal() if terminal else io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def layer_header(text: str) -> list[str]:
    """The first grid's header cells (the first line holding the header separator)."""
    line = next(line for line in text.splitlines() if " ┃ " in line)
    return [cell.strip() for cell in line.split("┃")]


def layer_lines(text: str) -> list[str]:
    """The layer grid's rows: the lines after its rule, up to the first blank line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("━")) + 1
    end = lines.index("", start)
    return [line for line in lines[start:end] if " │ " in line]


def widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


@pytest.fixture(autouse=True)
def no_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")  # a terminal gets colour otherwise: escapes are not width


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("width", [80, 100, 120, 200])
def test_the_table_fits_columns(model: str, width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    code, text, _ = run(["table", model], terminal=True)
    assert code == 0
    assert max(len(line) for line in text.splitlines()) <= width
    header = layer_header(text)
    dropped = [h for h in FULL if h not in header]
    # the columns left keep their order, and those gone are the first of the stated order
    assert header == [h for h in FULL if h in header]
    assert set(dropped) == set(DROP_ORDER[: len(dropped)])
    # nothing goes when the whole table fits
    _, unlimited, _ = run(["table", model, "--width", "0"])
    if max(len(line) for line in unlimited.splitlines()) <= width:
        assert text == unlimited


@pytest.mark.parametrize(
    "model",
    [*ZOO, "examples/unet_tiny.toml", "examples/inception_block.json", "tests/data/keras_tiny_functional.json"],
)
def test_every_model_fits_80_columns_and_its_layers_40(model: str) -> None:
    _, text, _ = run(["table", model, "--width", "80"])
    assert widest(text) <= 80  # a Keras file's closing note and the memory line's long paths wrap too
    _, narrow, _ = run(["table", model, "--width", "40"])
    assert widest(narrow.split("\n\n", 1)[0]) <= 40


def test_a_narrow_terminal_drops_columns_in_the_stated_order(monkeypatch: pytest.MonkeyPatch) -> None:
    dropped_at = []
    for width in range(200, 50, -5):
        _, text, _ = run(["table", "mobilenet_v1", "--width", str(width)])
        dropped_at.append([h for h in FULL if h not in layer_header(text)])
    # narrower never brings a column back, and every stage is a prefix of the stated order
    for wider, narrower in itertools.pairwise(dropped_at):
        assert set(wider) <= set(narrower)
    assert {len(d) for d in dropped_at} >= {0, 3, 6}  # the sweep went through several stages
    for d in dropped_at:
        assert set(d) == set(DROP_ORDER[: len(d)])


@pytest.mark.parametrize("columns", [None, "80"])
def test_a_pipe_gets_every_column(columns: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    if columns is not None:  # a parent with GNU readline loaded exports COLUMNS to every child
        monkeypatch.setenv("COLUMNS", columns)
    code, text, _ = run(["table", "mobilenet_v1"])
    assert code == 0 and layer_header(text) == FULL
    assert all(line == line.rstrip() for line in text.splitlines())  # no padding at the ends
    code, narrow, _ = run(["table", "mobilenet_v1", "--width", "90"])
    assert code == 0 and widest(narrow) <= 90  # unless asked


def test_a_terminal_gives_its_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", Terminal())
    monkeypatch.setattr("shutil.get_terminal_size", lambda *a, **k: os.terminal_size((93, 40)))
    assert _table_width(None, None) == 93
    assert _table_width(None, "out.txt") is None  # a file is not the terminal
    assert _table_width(70, None) == 70
    assert _table_width(0, None) is None
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert _table_width(None, None) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pseudo-terminal with a set size")
@pytest.mark.parametrize("columns", [72, 100])
def test_a_real_terminal_of_n_columns(columns: int) -> None:
    """The CLI in a pseudo-terminal sized by TIOCSWINSZ, no $COLUMNS: the size comes from the terminal."""
    import fcntl
    import pty
    import struct
    import subprocess
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["NO_COLOR"] = "1"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    child = subprocess.Popen(
        [sys.executable, "-m", "convcost", "table", "mobilenet_v1"], stdout=follower, stderr=follower, cwd=root, env=env
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child has closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert child.wait(timeout=120) == 0
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    assert widest(text) <= columns
    assert "Output (float32)" not in layer_header(text) and "Mult-Adds" in layer_header(text)


@given(
    st.lists(st.integers(min_value=1, max_value=30), min_size=2, max_size=8).flatmap(
        lambda widths: st.tuples(
            st.just(widths),
            st.lists(st.tuples(*[st.integers(0, w) for w in widths]), min_size=0, max_size=6),
            st.integers(min_value=1, max_value=200),
        )
    )
)
def test_fit_keeps_the_width_whenever_the_last_column_can(case: tuple[list[int], list[tuple[int, ...]], int]) -> None:
    widths, lengths, width = case
    headers = [f"h{i}" for i in range(len(widths))]
    rows = [["x" * n for n in row] for row in lengths] + [["y" * w for w in widths]]
    steps = [Step(h) for h in headers[1:]] + [Step("h0", shorten=True)]
    fitted = fit(headers, rows, set(), width, steps)
    drawn = grid("", fitted.headers, fitted.rows, set())
    widest = max(len(line) for line in drawn.splitlines())
    assert widest == grid_width(fitted.headers, fitted.rows)
    assert fitted.dropped == headers[1 : 1 + len(fitted.dropped)]  # in the order given
    if widest > width:  # only when every droppable column is gone and the first is as short as allowed
        assert fitted.headers == ["h0"] and max(len(r[0]) for r in fitted.rows) <= 8
    if len(fitted.dropped) > 0:  # a column went only because the grid was too wide with it
        assert grid_width(headers, rows) > width


@pytest.mark.parametrize("model", MODELS)
def test_columns_choose_and_order(model: str) -> None:
    code, text, _ = run(["table", model, "--columns", "mult-adds, NAME,Type/Stride,Share"])
    assert code == 0
    assert layer_header(text) == ["Mult-Adds", "Name", "Type / Stride", "Share"]
    code, text, _ = run(["table", model, "--flops", "--dtype", "float16", "--columns", "Name,FLOPs,Output (float16)"])
    assert code == 0 and layer_header(text) == ["Name", "FLOPs", "Output (float16)"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--columns", "Name,Parms"], "--columns: no column 'Parms' (did you mean 'Params'?)"),
        (["--columns", "Name,Mult-Adds", "--flops"], "no column 'Mult-Adds'"),
        (["--columns", "Name,name"], "--columns: 'Name' is named twice"),
        (["--columns", "Name,Output (float16)"], "(did you mean 'Output (float32)'?)"),
        (["--columns", "Name", "--format", "json"], "--columns applies to --format table only"),
        (["--hide-zero", "--format", "csv"], "--hide-zero applies to --format table only"),
        (["--width", "0", "--format", "markdown"], "--width applies to --format table only"),
        (["--plot", "layers.txt"], "--plot layers.txt: the file must end in .svg, .png or .pdf"),
    ],
)
def test_bad_table_options_are_one_line_and_exit_2(args: list[str], message: str) -> None:
    code, text, err = run(["table", "lenet5", *args])
    assert code == 2 and text == ""
    assert err.count("\n") == 1 and err.startswith("convcost: error: ") and message in err


@pytest.mark.parametrize(
    "model, convention", [("lenet5", "paper"), ("mobilenet_v1", "paper"), ("mobilenet_v1", "keras")]
)
def test_hide_zero_hides_the_layers_that_cost_nothing(model: str, convention: str) -> None:
    _, data, _ = run(["table", model, "--convention", convention, "--format", "json"])
    layers = json.loads(data)["layers"]
    free = [row for row in layers if row["params"] == 0 and row["macs"] == 0]
    code, hidden, _ = run(["table", model, "--convention", convention, "--hide-zero"])
    _, whole, _ = run(["table", model, "--convention", convention])
    assert code == 0
    assert f"{len(free)} of {len(layers)} layers cost nothing under '{convention}'" in hidden
    shown = layer_lines(hidden)
    assert len(shown) == len(layers) - len(free)
    names = {line.split("│")[1].strip() for line in shown}
    assert names == {row["path"] for row in layers if row not in free}
    # everything after the layer grid (totals, kinds, separable pairs) is the whole model's
    assert hidden.split("\n\n", 1)[1] == whole.split("\n\n", 1)[1]


def test_mobilenet_hides_its_batchnorms_and_activations() -> None:
    _, text, _ = run(["table", "mobilenet_v1", "--hide-zero"])
    assert "56 of 84 layers cost nothing under 'paper'" in text  # the count, checked by the JSON test too


def test_the_table_command_stays_light_with_its_options() -> None:
    from tests.test_light_imports import heavy_modules_after

    code = (
        "from convcost.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['table', '--hide-zero', '--width', '80', '--columns', 'Name,Params']) == 0\n"
        "assert 'matplotlib' not in sys.modules\n"
    )
    assert heavy_modules_after(code) == []


@pytest.mark.parametrize("model, hide", [("mobilenet_v1", False), ("mobilenet_v1", True), ("lenet5", False)])
@pytest.mark.parametrize("flops", [False, True])
def test_the_plot_has_one_bar_per_layer_with_the_reports_values(model: str, hide: bool, flops: bool) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from convcost.render.layer_plot import figure
    from convcost.render.text import Work
    from convcost.report import analyze
    from convcost.zoo import build

    report = analyze(build(model))
    fig = figure(report, "x.svg", Work(flops), hide)
    try:
        work_axes, params_axes = fig.axes
        rows = [
            r
            for r in report.rows
            if not (hide and r.trainable + r.non_trainable == 0 and (r.flops if flops else r.macs) == 0)
        ]
        assert [p.get_height() for p in work_axes.patches] == [(r.flops if flops else r.macs) for r in rows]
        assert [p.get_height() for p in params_axes.patches] == [r.trainable + r.non_trainable for r in rows]
        assert [t.get_text() for t in params_axes.get_xticklabels()] == [r.path for r in rows]
        colour = {}
        for patch, row in zip(work_axes.patches, rows, strict=True):
            assert colour.setdefault(row.kind, patch.get_facecolor()) == patch.get_facecolor()
        assert len(set(colour.values())) == len(colour)  # one colour per kind
        # the legend gives each kind's share, as the JSON's breakdown by kind has it
        _, data, _ = run(["table", model, "--format", "json"])
        kinds = json.loads(data)["by_kind"]
        totals = json.loads(data)["totals"]
        key = "flops" if flops else "macs"
        labels = [t.get_text() for t in fig.legends[0].get_texts()]
        for kind in {r.kind for r in rows}:
            k = kinds[kind]
            done = f"{100 * k[key] / totals[key]:.1f}% of {'FLOPs' if flops else 'mult-adds'}"
            params = f"{100 * k['params'] / totals['params']:.1f}% of params"
            assert f"{kind} ({k['layers']}): {done}, {params}" in labels
    finally:
        plt.close(fig)


def test_the_plot_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("matplotlib")
    path = tmp_path / "layers.svg"
    code, text, _ = run(["table", "mobilenet_v1", "--plot", str(path)])
    assert code == 0 and "Total params" in text
    svg = path.read_text()
    assert svg.count('id="work:') == 84 and svg.count('id="params:') == 84
    assert 'id="work:conv_pw_13"' in svg


def test_hide_zero_keeps_unknown_operations_in_sight() -> None:
    """An unknown operation is costed at zero because its cost is unknown, not because it is free."""
    pytest.importorskip("torch")
    model = ["examples.torch_models:gated", "--input-size", "1,3,32,32", "--allow-unknown"]
    _, data, _ = run(["table", *model, "--format", "json"])
    layers = json.loads(data)["layers"]
    unknown = [row["path"] for row in layers if row["kind"] == "unknown"]
    free = [row for row in layers if row["params"] == 0 and row["macs"] == 0 and row["kind"] != "unknown"]
    assert unknown and free
    code, text, _ = run(["table", *model, "--hide-zero", "--width", "80"])
    assert code == 0 and widest(text) <= 80
    names = {line.split("│")[0].strip() for line in layer_lines(text)}
    assert names == {row["path"] for row in layers if row not in free}
    assert set(unknown) <= names
    assert f"{len(free)} of {len(layers)} layers cost nothing" in text


def _columns_taken(text: str) -> int:
    """Terminal columns, counted here from the Unicode tables: wide and full-width two, combining none."""
    import unicodedata

    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _separator_columns(line: str, separator: str) -> list[int]:
    return [_columns_taken(line[:i]) for i, c in enumerate(line) if c == separator]


@pytest.mark.parametrize("width", ["0", "60"])
def test_wide_and_combining_names_keep_the_columns_aligned(tmp_path, width: str) -> None:  # type: ignore[no-untyped-def]
    """Names in Chinese, Japanese, Korean, full-width Latin and with combining accents: every row's
    column separators stand in the header's columns, and a fitted table stays within its width."""
    names = ["卷积层", "深度可分离_1", "バッチ正規化", "활성화", "ＦＵＬＬ", "café_e\u0301", "plain"]
    layers = "".join(
        f'[[layers]]\ntype = "Conv2D"\nname = "{name}"\nfilters = 4\nkernel = 3\npadding = "same"\n\n' for name in names
    )
    path = tmp_path / "wide.toml"
    path.write_text(f'name = "宽名字"\ninput = [16, 16, 3]\n\n{layers}', encoding="utf-8")
    code, text, err = run(["table", str(path), "--width", width])
    assert code == 0, err
    header = next(line for line in text.splitlines() if " ┃ " in line)
    rows = layer_lines(text)
    assert len(rows) == len(names) and all(any(n[:2] in row for n in names) for row in rows)
    for row in rows:
        assert _separator_columns(row, "│") == _separator_columns(header, "┃"), row
    if width != "0":
        assert max(_columns_taken(line) for line in text.split("\n\n", 1)[0].splitlines()) <= int(width)
