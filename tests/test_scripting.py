"""The conventions of a CLI people script (issue 15, item 6): -o picks the format from the suffix,
'-' reads a spec from standard input, misspelt choices get the nearest one. (The JSON forms:
tests/test_json_schema.py.)"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from convcost.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))


# ---------------------------------------------------------------- -o FILE: the suffix picks the format


@pytest.mark.parametrize(
    "command",
    [
        "table lenet5",
        "roofline lenet5",
        "verify lenet5",
        "explain lenet5 c1",
        "models",
        "sweep mobilenet_v1 --alpha 1,0.5 --resolution 128",
        "compare lenet5 alexnet8",
        "crosscheck lenet5 --against torchinfo",
    ],
)
def test_a_json_suffix_writes_what_format_json_prints(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed, err = run(capsys, *command.split(), "--format", "json")
    assert code == 0, err
    target = tmp_path / "out.json"
    code, out, err = run(capsys, *command.split(), "-o", str(target))
    assert (code, out, err) == (0, "", "")
    assert target.read_text() == printed and json.loads(printed)["schema_version"] == 1


@pytest.mark.parametrize("suffix, fmt", [(".csv", "csv"), (".md", "markdown"), (".MARKDOWN", "markdown")])
def test_csv_and_markdown_suffixes(suffix: str, fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, printed, _ = run(capsys, "table", "lenet5", "--format", fmt)
    target = tmp_path / f"out{suffix}"
    assert run(capsys, "table", "lenet5", "-o", str(target)) == (0, "", "")
    assert target.read_text() == printed


def test_export_picks_json_from_the_suffix_and_reads_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, printed, _ = run(capsys, "export", "lenet5", "--to", "json")
    target = tmp_path / "lenet5.json"
    assert run(capsys, "export", "lenet5", "-o", str(target)) == (0, "", "")
    assert target.read_text() == printed and printed.startswith("{")
    read_back = run(capsys, "table", str(target), "--format", "csv")[1]
    assert read_back == run(capsys, "table", "lenet5", "--format", "csv")[1]


def test_a_suffix_no_format_names_keeps_the_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out.txt"
    assert run(capsys, "table", "lenet5", "--format", "json", "-o", str(target))[0] == 0
    assert json.loads(target.read_text())["model"] == "lenet5"
    assert run(capsys, "table", "lenet5", "-o", str(target))[0] == 0
    assert target.read_text().startswith("lenet5: input 28x28x1")  # the terminal table, uncoloured


@pytest.mark.parametrize(
    "args, message",
    [
        (["table", "--format", "table", "-o", "{d}/out.json"], "--format table contradicts --output {d}/out.json"),
        (["table", "--format", "csv", "-o", "{d}/out.md"], "--format csv contradicts --output {d}/out.md"),
        (["export", "--to", "toml", "-o", "{d}/out.json"], "--to toml contradicts --output {d}/out.json"),
        (["verify", "lenet5", "-o", "{d}/out.csv"], "--output {d}/out.csv: verify cannot write csv"),
        (["export", "-o", "{d}/out.md"], "--output {d}/out.md: export cannot write markdown"),
    ],
)
def test_a_format_the_file_cannot_hold_is_refused(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *(a.format(d=tmp_path) for a in args))
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert err.startswith(f"convcost: error: {message.format(d=tmp_path)}")
    assert list(tmp_path.iterdir()) == []  # nothing written


# ---------------------------------------------------------------- - reads a spec file from standard input


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_a_spec_on_stdin(fmt: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    _, spec, _ = run(capsys, "export", "resnet18_fashion", "--to", fmt)
    stdin(monkeypatch, spec)
    code, out, err = run(capsys, "table", "-", "--format", "csv")
    assert code == 0, err
    assert out == run(capsys, "table", "resnet18_fashion", "--format", "csv")[1]


def test_a_keras_config_on_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import keras

    theirs = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(8, 3), keras.layers.Dense(4)])
    stdin(monkeypatch, theirs.to_json())
    code, out, err = run(capsys, "table", "-", "--convention", "keras", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["totals"]["params"] == theirs.count_params() == 3 * 3 * 3 * 8 + 8 + 8 * 4 + 4


EMPTY_SPEC = 'name = "x"\ninput = [3, 8, 8]\nlayers = []\n'


@pytest.mark.parametrize(
    "args, text, message",
    [
        (["table", "-"], "", "<stdin>: top level: missing 'layers'"),
        (["table", "-"], "name = \n", "<stdin>: not valid TOML"),
        (["table", "-"], '{"name": ', "<stdin>:1: not valid JSON"),
        (["table", "-", "--alpha", "0.5"], "", "--alpha apply to zoo models; - reads a file from standard input"),
        (["compare", "-", "-"], EMPTY_SPEC, "- (standard input) can be read only once"),
    ],
)
def test_stdin_mistakes_are_one_line(
    args: list[str], text: str, message: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin(monkeypatch, text)
    code, out, err = run(capsys, *args)
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert err.startswith(f"convcost: error: {message}"), err


def test_a_terminal_stdin_is_not_waited_on(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = io.TextIOWrapper(io.BytesIO(b""))
    monkeypatch.setattr(terminal, "isatty", lambda: True)
    monkeypatch.setattr(sys, "stdin", terminal)
    code, out, err = run(capsys, "table", "-")
    assert (code, out) == (2, "")
    assert err == (
        "convcost: error: - reads a spec file from standard input, which is a terminal: pipe or redirect one in\n"
    )


# ---------------------------------------------------------------- did you mean


@pytest.mark.parametrize(
    "args, tail",
    [
        (["table", "--format", "jsn"], "; did you mean 'json'?"),
        (["sweep", "--format", "mardown"], "; did you mean 'markdown'?"),
        (["table", "--convention", "kears"], "; did you mean 'keras'?"),
        (["crosscheck", "--against", "torchnfo"], "; did you mean 'torchinfo'?"),
        (["table", "--convention", "flops"], "; FLOPs are --flops, under any convention"),
        (["table", "--format", "yaml"], "'csv', 'json'."),  # nothing near: no guess
        (["roofline", "--device", "h100"], "'a100_fp16', 't4'."),  # another device, not a typo of one
    ],
)
def test_a_misspelt_choice_gets_the_nearest(args: list[str], tail: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *args)
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert err.rstrip("\n").endswith(tail), err


def test_a_misspelt_zoo_name_gets_the_nearest(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "table", "resnet_50")
    assert code == 2 and "did you mean resnet50?" in err


@pytest.mark.parametrize("suffix", [".json", ".csv", ".md", ".toml"])
def test_report_refuses_a_suffix_of_another_format(
    suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / f"report{suffix}"
    assert main(["report", "lenet5", "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"convcost: error: --output {target}: report writes HTML") and err.count("\n") == 1
    assert not target.exists()
    assert main(["report", "lenet5", "-o", str(tmp_path / "report.html")]) == 0
