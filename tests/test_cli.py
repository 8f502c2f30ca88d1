"""The `convcost` command as a user meets it: formats, totals, and one clean line for every mistake."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from convcost.cli import main


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_default_table_is_mobilenet_at_alpha_075(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["table", "--alpha", "0.75"], capsys)
    assert code == 0 and err == ""
    assert out.startswith("mobilenet_v1: input 224x224x3")
    # every layer is a row: 1 conv + 13 x 2 convs, each followed by BN + ReLU6, pool, FC, softmax
    assert out.count("│ batchnorm") == 27
    assert "Conv dw / s2" in out and "3x3x48 dw" in out
    assert "Total mult-adds: 325,400,448 (325.4M)" in out  # the paper's Table 6: 325M
    assert "Total params: 2,569,144 (2.6M)" in out  # Table 6: 2.6M
    assert "(1/48 + 1/3^2) = 19/144 = 0.1319" in out  # first separable pair at alpha 0.75
    assert "\x1b[" not in out  # not a terminal: no colour codes


def test_json_schema_and_exact_integers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["table", "--format", "json"], capsys)
    assert code == 0
    data = json.loads(out)
    assert {"model", "input", "batch", "convention", "layers", "totals", "by_kind"} <= data.keys()
    assert data["model"] == "mobilenet_v1" and data["input"] == [3, 224, 224] and data["batch"] == 1
    first = data["layers"][0]
    assert first == first | {
        "name": "conv1",
        "kind": "conv",
        "input": [3, 224, 224],
        "output": [32, 112, 112],
        "params": 3 * 3 * 3 * 32,
        "trainable": 864,
        "non_trainable": 0,
        "macs": 3 * 3 * 3 * 32 * 112 * 112,
    }
    totals = data["totals"]
    assert all(isinstance(v, int) for v in totals.values())
    assert totals["macs"] == sum(layer["macs"] for layer in data["layers"])
    assert totals["params"] == sum(layer["params"] for layer in data["layers"])
    assert set(data["by_kind"]) >= {"conv", "depthwise", "pointwise", "dense"}
    assert sum(k["macs"] for k in data["by_kind"].values()) == totals["macs"]


def test_keras_convention_and_batch(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["table", "--convention", "keras", "--batch", "8", "--format", "json"], capsys)
    data = json.loads(out)
    assert data["convention"] == "keras" and data["batch"] == 8
    assert data["totals"]["non_trainable"] == 21_888  # 2 moving statistics x 10,944 BN channels
    assert data["totals"]["macs"] == 8 * 568_740_352


def test_csv_has_a_row_per_layer(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["table", "--format", "csv", "--resolution", "128"], capsys)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 84
    assert sum(int(r["macs"]) for r in rows) == 186_400_768  # Table 7: 186M


def test_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["table", "mobilenet_v1_shallow", "--format", "markdown"], capsys)
    assert out.startswith("## mobilenet_v1_shallow")
    assert "| 1 | conv1 | conv | Conv / s2 | 3x3x3x32 |" in out
    assert "**Total mult-adds:** 307,323,392 (307.3M)" in out  # Table 5: 307M


def test_models_lists_the_zoo_one_line_each(capsys: pytest.CaptureFixture[str]) -> None:
    from convcost.zoo import ZOO

    code, out, _ = run(["models"], capsys)
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == len(ZOO)
    assert any(line.startswith("mobilenet_v1 ") and "Table 1" in line for line in lines)


def test_output_file_is_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "report.json"
    code, out, _ = run(["table", "--format", "json", "--output", str(target)], capsys)
    assert code == 0 and out == ""
    assert json.loads(target.read_text())["totals"]["macs"] == 568_740_352
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_failed_run_leaves_previous_output_untouched(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "report.json"
    target.write_text("previous")
    code, _, err = run(["table", "--alpha", "0", "--output", str(target)], capsys)
    assert code == 2 and "alpha" in err
    assert target.read_text() == "previous"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


@pytest.mark.parametrize(
    "args, needle",
    [
        (["table", "--alpha", "0"], "alpha must be a number > 0, got 0.0"),
        (["table", "--alpha", "-1"], "alpha must be a number > 0, got -1.0"),
        (["table", "--alpha", "x"], "'--alpha': 'x' is not a valid float"),
        (["table", "--alpha", "nan"], "alpha must be a number > 0, got nan"),
        (["table", "--alpha", "0.001"], "alpha 0.001 leaves 32 channels with none"),
        (["table", "--resolution", "0"], "resolution must be a positive integer, got 0"),
        (["table", "--resolution", "big"], "'--resolution': 'big' is not a valid integer"),
        (["table", "--classes", "-3"], "classes must be a positive integer, got -3"),
        (["table", "--batch", "0"], "'--batch'"),
        (["table", "--format", "xml"], "'--format': 'xml' is not one of"),
        (["table", "--convention", "torchinf"], "'--convention'"),
        (["table", "mobilenetv1"], "unknown model 'mobilenetv1'; did you mean mobilenet_v1?"),
        (["table", "--bogus"], "--bogus"),
        (["tabel"], "tabel"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], needle: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(args, capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("convcost: error: ")
    assert needle in err
    assert "Traceback" not in err


def test_geometry_below_one_pixel_names_the_layer() -> None:
    from convcost import GeometryError, Model, analyze
    from convcost.spec import Conv2D, MaxPool2D

    model = Model("tiny", (3, 8, 8), [Conv2D(8, 3, name="c1"), MaxPool2D(2, name="p1"), Conv2D(8, 5, name="c2")])
    with pytest.raises(
        GeometryError, match=r"layer 'c2': height 3 \(padded to 3\) is smaller than the kernel extent 5"
    ):
        analyze(model)


def test_console_script_entry_point_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "convcost", "table", "--alpha", "x"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 2
    assert done.stderr.strip() == "convcost: error: Invalid value for '--alpha': 'x' is not a valid float."
    assert done.stdout == ""


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["table", "--help"], capsys)
    assert code == 0 and "--alpha" in out


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    import convcost.cli as cli_module

    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert cli_module._wants_color()
    monkeypatch.setenv("NO_COLOR", "1")
    assert not cli_module._wants_color()


def test_colour_table_dims_free_layers() -> None:
    from convcost import analyze, mobilenet_v1
    from convcost.render import render

    text = render(analyze(mobilenet_v1(alpha=0.25, resolution=32)), "table", color=True)
    dim_rows = [line for line in text.splitlines() if line.startswith("\x1b[2m")]
    assert dim_rows and all("batchnorm" in r or "activation" in r or "global_pool" in r for r in dim_rows)
    assert "\x1b[" not in render(analyze(mobilenet_v1(alpha=0.25, resolution=32)), "table", color=False)


def test_version_is_the_installed_distributions(capsys: pytest.CaptureFixture[str]) -> None:
    """``--version`` prints ``convcost.__version__`` (reading the metadata cost 15 ms a call): it must
    be the version pyproject.toml gives the installed distribution."""
    import importlib.metadata

    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out == f"convcost, version {importlib.metadata.version('convcost')}\n"
