"""Standard output and the terminal: every way a stream fails is one line, and pipes are not errors.

Run as real processes (the failure is in the file descriptors, not in Python objects): a closed
stdout (``>&-``), a pipe whose reader has gone, a stdout whose encoding has no box-drawing
characters, Ctrl-C before ``main`` is reached and during a run. A full disk is in
tests/test_output_targets.py (it needs a /dev/full made in a private mount namespace).
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from convcost.cli import main

ROOT = Path(__file__).resolve().parent.parent
CONVCOST = [sys.executable, "-m", "convcost"]
TINY = ROOT / "tests" / "data" / "keras_tiny_sequential.json"

#: one invocation of every command that prints to stdout
PRINTING = [
    ["table", "lenet5"],
    ["table", "lenet5", "--format", "csv"],
    ["models"],
    ["export", "lenet5"],
    ["explain", "lenet5", "c1"],
    ["explain", "--kernel", "3", "--in", "8", "--out", "8", "--size", "8", "--format", "json"],
    ["sweep", "--alpha", "1,0.5", "--resolution", "96"],
    ["compare", "lenet5", "lenet5"],
    ["verify", str(TINY)],
    ["roofline", "lenet5"],
    ["report", "lenet5"],
    ["--help"],
    ["table", "--help"],
    ["--version"],
]
IDS = [" ".join(c[:2]) if c[0] != "explain" or len(c) < 3 else f"explain {c[1]}" for c in PRINTING]


def process(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [*CONVCOST, *args],
        capture_output=kwargs.pop("capture_output", True),
        text=True,
        cwd=ROOT,
        timeout=300,
        **kwargs,
    )


@pytest.mark.parametrize("args", PRINTING, ids=IDS)
def test_a_closed_stdout_is_one_line(args: list[str]) -> None:
    result = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", *CONVCOST, *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert result.returncode == 2, result
    assert result.stderr == "convcost: error: cannot write to standard output: it is closed; give --output FILE\n"


def test_a_closed_stdout_does_not_matter_with_output(tmp_path: Path) -> None:
    target = tmp_path / "out.toml"
    result = subprocess.run(
        ["sh", "-c", 'exec "$@" >&-', "sh", *CONVCOST, "export", "lenet5", "--output", str(target)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0 and result.stderr == "", result
    assert target.read_text() == process(["export", "lenet5"]).stdout


@pytest.mark.parametrize("args", PRINTING, ids=IDS)
def test_a_reader_that_went_away_is_not_an_error(args: list[str]) -> None:
    """`convcost models | head -c 1` exited 1 (click's status for a broken pipe), which means "a
    check found a disagreement". The pipe's read end is closed before convcost writes a byte."""
    read, write = os.pipe()
    os.close(read)
    try:
        result = subprocess.run([*CONVCOST, *args], stdout=write, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    finally:
        os.close(write)
    assert result.returncode == 0, result
    assert result.stderr == ""


def test_head_of_a_pipe_exits_0() -> None:
    result = subprocess.run(
        [
            "bash",
            "-c",
            'for i in 1 2 3; do "$@" models | head -c 1 > /dev/null; echo "${PIPESTATUS[0]}"; done',
            "x",
            *CONVCOST,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.stdout.split() == ["0", "0", "0"] and result.stderr == ""


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "ascii"])
@pytest.mark.parametrize(
    "args",
    [["table", "lenet5"], ["sweep", "--alpha", "1,0.5", "--resolution", "96"], ["compare", "lenet5", "lenet5"]],
    ids=["table", "sweep", "compare"],
)
def test_a_stdout_without_box_drawing_gets_an_ascii_table(encoding: str, args: list[str]) -> None:
    result = process(args, env={**os.environ, "PYTHONIOENCODING": encoding})
    utf8 = process(args)
    assert result.returncode == 0 and result.stderr == "", result
    # ASCII boxes, and the paper's symbols in sweep's headers spelt in Latin (α²ρ² -> a2r2)
    latin = {ord("α"): "a", ord("ρ"): "r", ord("²"): "2"}
    expected = utf8.stdout.translate({ord("┃"): "|", ord("│"): "|", ord("━"): "-", ord("╇"): "+", **latin})
    assert result.stdout == expected
    assert "+" in result.stdout and "━" not in result.stdout


def test_a_name_the_encoding_cannot_hold_is_refused_before_printing(tmp_path: Path) -> None:
    spec = tmp_path / "net.json"
    spec.write_text('{"input": [3, 8, 8], "layers": [{"type": "Conv2D", "name": "层", "filters": 4, "kernel": 3}]}')
    for args in (["table", str(spec)], ["table", str(spec), "--format", "csv"], ["export", str(spec)]):
        result = process(args, env={**os.environ, "PYTHONIOENCODING": "cp1252"})
        assert (result.returncode, result.stdout) == (2, ""), result
        assert result.stderr == (
            "convcost: error: cannot write to standard output: its encoding (cp1252) has no '\\u5c42'; "
            "set PYTHONIOENCODING=utf-8, or write a UTF-8 file with --output\n"
        )


# ---------------------------------------------------------------- Ctrl-C

#: a sitecustomize that sends this process SIGINT when a named module starts importing, so that the
#: Ctrl-C arrives at a known moment of the start-up
INTERRUPTER = """
import os, signal, sys

class InterruptOn:
    def find_spec(self, name, path=None, target=None):
        if name == os.environ["INTERRUPT_ON_IMPORT"]:
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, InterruptOn())
"""


@pytest.mark.parametrize("module", ["convcost.report", "click", "convcost.zoo", "convcost.render.table"])
@pytest.mark.parametrize("entry", ["python -m convcost", "console script"])
def test_ctrl_c_during_start_up_is_one_line(module: str, entry: str, tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(INTERRUPTER)
    script = tmp_path / "bin" / "convcost"  # what pip writes for the console script
    script.parent.mkdir()
    script.write_text("import sys\nfrom convcost.cli import main\nsys.exit(main())\n")
    command = CONVCOST if entry == "python -m convcost" else [sys.executable, str(script)]
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}", "INTERRUPT_ON_IMPORT": module}
    result = subprocess.run([*command, "table", "lenet5"], capture_output=True, text=True, cwd=ROOT, env=env)
    assert result.returncode in (130, -signal.SIGINT), result
    assert (result.stdout, result.stderr) == ("", "convcost: error: interrupted\n")


def test_a_program_importing_convcost_keeps_pythons_own_ctrl_c(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(INTERRUPTER)
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}", "INTERRUPT_ON_IMPORT": "convcost.report"}
    result = subprocess.run([sys.executable, "-c", "import convcost"], capture_output=True, text=True, env=env)
    assert "Traceback" in result.stderr and "convcost: error" not in result.stderr


@pytest.mark.parametrize("delay", [0.5, 1.0, 2.0])
def test_ctrl_c_mid_run_is_one_line(delay: float) -> None:
    """A real SIGINT into a verify run (it takes seconds): whenever it lands, one line, exit 130."""
    # batch 24: about 3.5 s on an idle core, so even the 2 s signal lands mid-run
    child = subprocess.Popen(
        [*CONVCOST, "verify", "mobilenet_v1_conv", "--batch", "24"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(delay)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=300)
    if child.returncode == 0:
        pytest.skip("the run finished before the signal")
    assert child.returncode in (130, -signal.SIGINT), (child.returncode, err)
    assert (out, err) == ("", "convcost: error: interrupted\n")


def test_sigterm_mid_run_is_one_line() -> None:
    # batch 24: about 3.5 s on an idle core (batch 4 now ends in about 1 s, before the signal)
    child = subprocess.Popen(
        [*CONVCOST, "verify", "mobilenet_v1_conv", "--batch", "24"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=300)
    assert (child.returncode, out, err) == (143, "", "convcost: error: terminated by SIGTERM\n")


# ---------------------------------------------------------------- colour: no-color.org


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    "environment, coloured",
    [
        ({}, True),
        ({"NO_COLOR": ""}, True),  # an empty NO_COLOR is as good as none
        ({"NO_COLOR": "1"}, False),
        ({"NO_COLOR": "0"}, False),  # any non-empty value
        ({"TERM": "dumb"}, False),
        ({"TERM": "xterm-256color"}, True),
    ],
)
def test_colour_follows_no_color_and_term(
    environment: dict[str, str], coloured: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    for args in (["table", "lenet5"], ["sweep", "--alpha", "1", "--resolution", "96"], ["compare", "lenet5", "lenet5"]):
        terminal, err = Terminal(), io.StringIO()
        with contextlib.redirect_stdout(terminal), contextlib.redirect_stderr(err):
            assert main(args) == 0, err.getvalue()
        assert ("\x1b[" in terminal.getvalue()) is coloured, (args, environment)
