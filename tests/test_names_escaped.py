"""A name is the user's text: whatever it holds, printing it can neither drive the terminal nor break
a format.

Names holding a clear-screen or set-title escape, a carriage return, a bidi override, a line
separator, DEL, a C1 control (U+009B is CSI on some terminals), a tab, or a '|' go through every
command and format. Human formats show them escaped (``\\x1b``, ``\\r``, ``\\u202e``); markdown
escapes '|'; CSV parses back to one record per layer; JSON carries the exact name (json.dumps
escapes it); error lines stay one line. A lone surrogate, which no encoder accepts, is refused
where a file is read, and escaped where a name built in Python is printed.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from convcost.cli import main
from convcost.render import render
from convcost.report import analyze
from convcost.spec import Conv2D, Dense, Flatten, Model, Sequential

ROOT = Path(__file__).resolve().parent.parent

#: (name, how the human formats must show it); the escapes are Python's, written out by hand
NAMES = [
    ("clear\x1b[2J\x1b[H", "clear\\x1b[2J\\x1b[H"),
    ("title\x1b]0;pwned\x07", "title\\x1b]0;pwned\\x07"),
    ("cr\rlf\nend", "cr\\rlf\\nend"),
    ("rtl\u202eevil", "rtl\\u202eevil"),
    ("sep\u2028par\u2029", "sep\\u2028par\\u2029"),
    ("del\x7fc1\x9b", "del\\x7fc1\\x9b"),
    ("tab\there", "tab\\there"),
    ("a|b", "a|b"),
]


def network(names: list[str]) -> Model:
    layers = [Conv2D(2, 3, padding="same", name=name) for name in names]
    return Model("net\x1b[31m", (2, 4, 4), Sequential((*layers, Flatten(name="flat"), Dense(3, name="fc"))))


def spec_file(tmp_path: Path, names: list[str]) -> Path:
    layers = [{"type": "Conv2D", "name": name, "filters": 2, "kernel": 3, "padding": "same"} for name in names]
    layers += [{"type": "Flatten", "name": "flat"}, {"type": "Dense", "name": "fc", "units": 3}]
    path = tmp_path / "names.json"
    path.write_text(json.dumps({"name": "net\x1b[31m", "input": [2, 4, 4], "layers": layers}))
    return path


def run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def controls(text: str) -> list[str]:
    """Characters a terminal would act on (line feeds between lines are the format's own)."""
    return [c for c in text if not c.isprintable() and c != "\n"]


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json"])
def test_every_format_of_table(fmt: str, tmp_path: Path) -> None:
    names = [name for name, _ in NAMES]
    code, out, err = run(["table", str(spec_file(tmp_path, names)), "--format", fmt])
    assert code == 0 and err == "", err
    assert controls(out) == []
    if fmt == "json":
        document = json.loads(out)
        assert [layer["name"] for layer in document["layers"]][: len(names)] == names  # exact, not escaped
        assert document["model"] == "net\x1b[31m"
        return
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(out)))
        assert len(rows) == len(names) + 2  # a CR in a name no longer splits its record
        assert [row["name"] for row in rows][: len(names)] == [shown for _, shown in NAMES]
        return
    for _, shown in NAMES:
        assert (shown.replace("|", "\\|") if fmt == "markdown" else shown) in out
    assert "net\\x1b[31m" in out
    if fmt == "markdown":
        lines = [line for line in out.splitlines() if line.startswith("| ")]
        header_cells = lines[0].count(" | ")
        conv_rows = [line for line in lines if "| conv |" in line]
        assert len(conv_rows) == len(names)
        # a '|' inside a cell is escaped: every layer row has the header's number of separators
        assert all(line.replace("\\|", "").count(" | ") == header_cells for line in conv_rows)


def test_the_python_api_renders_escaped_names_including_a_lone_surrogate() -> None:
    model = network([*(name for name, _ in NAMES), "half\ud800"])
    report = analyze(model)
    for fmt in ("table", "markdown", "csv"):
        text = render(report, fmt)
        assert controls(text) == [] and "half\\ud800" in text
        text.encode("utf-8")  # printable: no encoder refuses it
    json.loads(render(report, "json"))  # json.dumps escapes the surrogate itself


def test_an_error_line_stays_one_line_and_inert(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    name = "big\x1b]0;pwned\x07\r\nsecond line\u2028"
    layers = [{"type": "Conv2D", "name": name, "filters": 2, "kernel": 9}]
    path.write_text(json.dumps({"input": [2, 4, 4], "layers": layers}))
    code, out, err = run(["table", str(path)])
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and controls(err) == []
    assert "big\\x1b]0;pwned\\x07\\r\\nsecond line\\u2028" in err


@pytest.mark.parametrize(
    "args",
    [
        ["verify", "{file}"],
        ["compare", "{file}", "{file}"],
        ["explain", "{file}", "clear\x1b[2J\x1b[H", "--format", "text"],
        ["sweep", "--alpha", "1", "--resolution", "96"],
        ["roofline", "{file}"],
        ["report", "{file}"],
    ],
    ids=["verify", "compare", "explain", "sweep", "roofline", "report"],
)
def test_other_commands(args: list[str], tmp_path: Path) -> None:
    names = [name for name, _ in NAMES]
    path = spec_file(tmp_path, names)
    code, out, err = run([a.format(file=path) for a in args])
    assert code == 0 and err == "", err
    assert controls(out) == []


def test_export_writes_names_a_terminal_cannot_act_on_and_reads_them_back(tmp_path: Path) -> None:
    names = [name for name, _ in NAMES]
    for fmt in ("toml", "json"):
        code, out, _ = run(["export", str(spec_file(tmp_path, names)), "--to", fmt])
        assert code == 0 and controls(out) == []
        back = tmp_path / f"back.{fmt}"
        back.write_text(out)
        document = json.loads(run(["table", str(back), "--format", "json"])[1])
        assert [layer["name"] for layer in document["layers"]][: len(names)] == names


@pytest.mark.parametrize("keras", [False, True], ids=["spec file", "Keras config"])
def test_a_lone_surrogate_in_a_file_is_refused_with_its_line(keras: bool, tmp_path: Path) -> None:
    path = tmp_path / "surrogate.json"
    if keras:
        text = (ROOT / "tests" / "data" / "keras_tiny_sequential.json").read_text()
        text = text.replace('"name": "', '"name": "\\ud800', 1)
    else:
        text = '{"input": [2, 4, 4],\n "layers": [{"type": "Flatten", "name": "x\\udc00"}]}'
    path.write_text(text)
    code, out, err = run(["table", str(path)])
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "is a lone surrogate, not a Unicode character" in err
    if not keras:
        assert err.startswith(f"convcost: error: {path}:2: not valid JSON: '\\udc00' is a lone surrogate")


def test_a_name_in_the_verify_progress_bar_is_neither_markup_nor_escapes(tmp_path: Path) -> None:
    """On a terminal, verify draws a rich progress bar labelled with each layer's path: a name
    holding rich markup ('[/]' was a MarkupError) or an escape is shown as text."""
    path = spec_file(tmp_path, ["[bold]x[/]", "[/]", "esc\x1b[2J"])
    result = subprocess.run(
        [sys.executable, "-m", "convcost", "verify", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TTY_COMPATIBLE": "1", "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    assert "\x1b[2J" not in result.stdout + result.stderr
