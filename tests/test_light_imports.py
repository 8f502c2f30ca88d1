"""The analytic path stays light: no NumPy, no framework, in a fresh interpreter.

NumPy belongs to the reference executor and frameworks to interop, both imported lazily. This is
what keeps `convcost table` answering in about a tenth of a second (benchmarks/bench_cli.py).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("numpy", "torch", "keras", "tensorflow", "onnx", "scipy", "rich")

PROBE = """
import contextlib, io, json, sys
{code}
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


def heavy_modules_after(code: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(code=code, heavy=HEAVY)], capture_output=True, text=True, check=True
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_import_convcost_is_light() -> None:
    assert heavy_modules_after("import convcost") == []


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json"])
def test_table_command_is_light(fmt: str) -> None:
    code = (
        "from convcost.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['table', '--alpha', '0.75', '--format', '{fmt}']) == 0\n"
    )
    assert heavy_modules_after(code) == []


@pytest.mark.parametrize(
    "args",
    [
        ["roofline", "--format", "json"],
        ["roofline", "--peak-gflops", "100", "--bandwidth-gbs", "10"],
        ["report", "mobilenet_v2", "--device", "a100"],
    ],
)
def test_roofline_and_report_are_light(args: list[str]) -> None:
    """Only --calibrate (which measures this machine) and --plot need NumPy or matplotlib."""
    code = (
        "from convcost.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main({args!r}) == 0\n"
    )
    assert heavy_modules_after(code) == []


def test_models_command_and_errors_are_light() -> None:
    code = (
        "from convcost.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "    assert main(['models']) == 0\n"
        "    assert main(['table', 'no_such_model']) == 2\n"
    )
    assert heavy_modules_after(code) == []


def test_the_tools_rule_tables_load_only_for_a_tool_convention() -> None:
    """``conventions/tools.py`` (an eighth of the package's code) is imported when a tool
    convention or ``CONVENTIONS`` is asked for, not by a paper-convention table."""
    probe = (
        "import contextlib, io, sys\n"
        "from convcost.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['table', '--alpha', '0.75']) == 0\n"
        "assert 'convcost.conventions.tools' not in sys.modules\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['table', '--alpha', '0.75', '--convention', 'thop']) == 0\n"
        "assert 'convcost.conventions.tools' in sys.modules\n"
        "import convcost\n"
        "assert list(convcost.CONVENTIONS) == list(convcost.conventions.NAMES)\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)


def test_a_convention_registered_before_the_tools_load_stays() -> None:
    """register() loads the five first: a user's convention named like a tool replaces it for good,
    and a new one is listed after the built-ins, as when the registry was filled at import."""
    probe = (
        "import convcost\n"
        "from convcost.conventions import Convention, get_convention, paper, register\n"
        "register(Convention('thop', 'mine', {}, default=paper))\n"
        "register(Convention('extra', 'mine too', {}, default=paper))\n"
        "get_convention('fvcore')\n"
        "assert get_convention('thop').summary == 'mine'\n"
        "assert list(convcost.CONVENTIONS) == [*convcost.conventions.NAMES, 'extra']\n"
        "assert 'CONVENTIONS' in dir(convcost) and 'tools' in dir(convcost.conventions)\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True)
