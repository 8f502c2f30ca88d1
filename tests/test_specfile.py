"""Spec files: every zoo model round-trips through TOML and JSON; hand-written examples parse;
every broken file gets one line naming the file, the layer, the field and the line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from convcost import SpecError, analyze, specfile
from convcost.cli import main
from convcost.zoo import ZOO, build

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.mark.parametrize("name", sorted(ZOO))
@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_every_zoo_model_round_trips(name: str, fmt: str) -> None:
    model = build(name)
    back = specfile.loads(specfile.dumps(model, fmt), fmt, f"{name}.{fmt}")
    assert back == model
    for convention in ("paper", "keras"):
        assert analyze(back, convention).totals == analyze(model, convention).totals


def test_hand_written_toml_example() -> None:
    model = specfile.load(EXAMPLES / "separable_cifar.toml")
    report = analyze(model)
    rows = {row.path: row for row in report.rows}
    # derived by hand from the file: 3x3x3x32 stem on 32x32, dw stride 2 to 16x16, pw 32->64, ...
    assert rows["stem"].macs == 3 * 3 * 3 * 32 * 32 * 32
    assert rows["block1/dw"].macs == 3 * 3 * 32 * 16 * 16
    assert rows["block1/pw"].macs == 32 * 64 * 16 * 16
    assert rows["block2/main/dw"].macs == 3 * 3 * 64 * 16 * 16
    assert rows["block2"].kind == "add" and rows["block2"].output == (64, 16, 16)
    assert rows["fc"].params == 64 * 10 + 10
    assert report.totals.params == 864 + 288 + 32 * 64 + 576 + 64 * 64 + 650


def test_hand_written_json_example() -> None:
    report = analyze(specfile.load(EXAMPLES / "inception_block.json"))
    rows = {row.path: row for row in report.rows}
    assert rows["mixed"].kind == "concat" and rows["mixed"].output == (48, 28, 28)
    assert rows["mixed/b3x3/conv"].macs == 3 * 3 * 8 * 16 * 28 * 28
    assert rows["fc"].input == (48,)


def test_cli_reads_spec_files_and_exports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "net.toml"
    assert main(["export", "mobilenet_v1", "--alpha", "0.5", "--to", "toml", "--output", str(target)]) == 0
    assert main(["table", str(target), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["macs"] == 149_497_088  # Table 6: 149M
    assert main(["table", str(target), "--alpha", "0.5"]) == 2
    assert "--alpha apply to zoo models" in capsys.readouterr().err


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


GOOD_LAYER = '[[layers]]\ntype = "Conv2D"\nname = "c1"\nfilters = 8\nkernel = 3\n'


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("a.toml", "input = [3, 8, 8]\nlayers = [1, 2", "a.toml: not valid TOML"),
        ("a.json", '{"input": [3, 8, 8],\n "layers": [}', "a.json:2: not valid JSON"),
        ("a.json", '{"input": [3, 8, NaN], "layers": []}', "NaN is not a valid number"),
        ("a.toml", "layers = []\n", "a.toml: top level: missing 'input'"),
        ("a.toml", "input = [3, 8, 8]\n", "missing 'layers'"),
        ("a.toml", "input = [3, 8, 8]\nlayerz = []\nlayers = []\n", "unknown key 'layerz'"),
        ("a.toml", "input = [3, -8, 8]\nlayers = []\n", "input must be positive integers"),
        (
            "a.toml",
            "input = [3, 8, 8]\n" + GOOD_LAYER.replace("Conv2D", "Conv2d"),
            "a.toml:4: top level > layer 1 ('c1'): unknown layer type 'Conv2d'; did you mean Conv2D?",
        ),
        (
            "a.toml",
            "input = [3, 8, 8]\n" + GOOD_LAYER.replace("filters", "filter"),
            "a.toml:4: top level > layer 1 ('c1'): unknown field 'filter'; did you mean 'filters'?",
        ),
        (
            "a.toml",
            "input = [3, 8, 8]\n" + GOOD_LAYER.replace("filters = 8", "filters = 0"),
            "a.toml:4: top level > layer 1 ('c1'): Conv2D 'c1': filters must be a positive integer, got 0",
        ),
        (
            "a.toml",
            "input = [3, 8, 8]\n" + GOOD_LAYER.replace("filters = 8", 'filters = "8"'),
            "filters must be a positive integer, got '8'",
        ),
        (
            "a.toml",
            "input = [3, 8, 8]\n" + GOOD_LAYER.replace("kernel = 3", "kernel = nan"),
            "field 'kernel': must be a finite number",
        ),
        (
            "a.toml",
            "input = [3, 8, 8]\n" + GOOD_LAYER.replace("filters = 8\n", ""),
            "missing 1 required positional argument: 'filters'",
        ),
        ("a.toml", "input = [3, 8, 8]\n" + GOOD_LAYER + GOOD_LAYER, "duplicate layer name 'c1'"),
        ("a.json", '{"input": [3, 8, 8], "layers": [{"name": "x"}]}', "unknown layer type None"),
        ("a.json", '{"input": [3, 8, 8], "layers": {"type": "Conv2D"}}', "'layers' must be a list"),
        ("a.json", "[1, 2]", "expected a table with name, input and layers"),
        ("a.yaml", "input: 1", "a spec file must end in .toml or .json"),
    ],
)
def test_broken_files_name_file_layer_field_and_line(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        specfile.load(write(tmp_path, name, text))
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(tmp_path / name))


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    layer: dict[str, object] = {"type": "Flatten", "name": "f"}
    for depth in range(specfile.MAX_DEPTH + 2):
        layer = {"type": "Sequential", "name": f"s{depth}", "layers": [layer]}
    path = write(tmp_path, "deep.json", json.dumps({"input": [3, 4, 4], "layers": [layer]}))
    with pytest.raises(SpecError, match="nested deeper than 64 levels"):
        specfile.load(path)


def test_huge_file_is_refused_before_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(specfile, "MAX_BYTES", 100)
    path = write(tmp_path, "big.json", json.dumps({"input": [3, 4, 4], "layers": [], "pad": "x" * 200}))
    with pytest.raises(SpecError, match="over the 100-byte limit"):
        specfile.load(path)


def test_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["table", "no/such/net.toml"]) == 2
    assert capsys.readouterr().err == "convcost: error: no/such/net.toml: no such file\n"


def test_geometry_error_in_a_file_names_the_layer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "net.toml", "input = [3, 4, 4]\n" + GOOD_LAYER.replace("kernel = 3", "kernel = 5"))
    assert main(["table", path]) == 2
    assert "layer 'c1': height 4 (padded to 4) is smaller than the kernel extent 5" in capsys.readouterr().err
