"""``convcost crosscheck`` and ``convcost table model.json`` (a Keras config) from the command line."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from convcost import crosscheck as checks
from convcost.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_seed_004_against_torchinfo_passes_with_the_documents_total(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "crosscheck", "mobilenet_v1_cifar", "--batch", "2", "--against", "torchinfo")
    assert code == 0, err
    macs = next(line for line in out.splitlines() if line.startswith("torchinfo") and " macs " in line)
    # seed 004's torchinfo printout: Total mult-adds (M): 90.33, Total params: 3,217,226
    assert macs.split() == ["torchinfo", "macs", "90,328,212", "90,328,212", "ok"]
    assert "3,217,226" in out


def test_all_tools_pass_on_a_zoo_model(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "crosscheck", "separable_fashion", "--batch", "3", "--against", "all")
    assert code == 0, err
    for tool in checks.TOOLS:
        assert any(line.startswith(tool) for line in out.splitlines()), tool
    assert "MISMATCH" not in out
    assert "one sample whatever the batch" in out  # ptflops' column says what it is


def test_a_mismatch_exits_1(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    real = checks.measure

    def off_by_one(model: object, tool: str) -> dict[str, int]:
        totals = real(model, tool)  # type: ignore[arg-type]
        return {**totals, "macs": totals["macs"] + 1}

    monkeypatch.setattr(checks, "measure", off_by_one)
    code, out, err = run(capsys, "crosscheck", "lenet5", "--against", "thop")
    assert code == 1
    assert "MISMATCH" in out and "thop macs" in err


def test_a_missing_tool_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "thop", None)  # import thop now raises ImportError
    code, out, err = run(capsys, "crosscheck", "lenet5", "--against", "thop")
    assert code == 2
    assert err.strip() == "convcost: error: thop is not installed: pip install thop (crosscheck runs the real tool)"
    # with --against all (every tool installed), the others run and the missing one is listed as skipped
    code, out, err = run(capsys, "crosscheck", "lenet5", "--against", "all")
    assert (code, err) == (0, ""), err
    assert "torchinfo" in out and not any(line.startswith("thop ") for line in out.splitlines())
    assert "skipped: thop is not installed: pip install thop" in out


def test_no_tool_installed_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for tool in ("keras", "torchinfo", "fvcore", "thop", "ptflops", "calflops"):
        monkeypatch.setitem(sys.modules, tool, None)
    monkeypatch.setitem(sys.modules, "fvcore.nn", None)
    code, out, err = run(capsys, "crosscheck", "lenet5", "--against", "all")
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert err.startswith("convcost: error: crosscheck: no tool ran: keras: keras is ")


def test_one_missing_framework_is_named_once_with_the_tools_it_stops(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "keras", None)
    monkeypatch.setitem(sys.modules, "torch", None)
    code, out, err = run(capsys, "crosscheck", "lenet5", "--against", "all")
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert err.count("torch is not installed") == 1, err
    assert "torchinfo, fvcore, thop, ptflops, calflops: torch is not installed" in err


def test_crosscheck_as_json(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    monkeypatch.setitem(sys.modules, "thop", None)
    code, out, err = run(capsys, "crosscheck", "lenet5", "--against", "all", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["schema_version"] == 1 and data["passed"] is True
    assert data["skipped"] == [
        {"tool": "thop", "reason": "thop is not installed: pip install thop (crosscheck runs the real tool)"}
    ]
    by_total = {(c["tool"], c["total"]): c for c in data["checks"]}
    # LeNet-5 as convcost's zoo builds it: 44,426 weights and biases (conv 156 + 2,416, dense 30,840 + 10,164 + 850)
    assert by_total[("keras", "params")] == {
        "tool": "keras",
        "total": "params",
        "convcost": 44_426,
        "tool_says": 44_426,
        "ok": True,
    }
    assert {tool for tool, _ in by_total} == {"keras", "torchinfo", "fvcore", "ptflops", "calflops"}


def test_a_mismatch_in_json_says_passed_false(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    real = checks.measure
    monkeypatch.setattr(checks, "measure", lambda model, tool: {**real(model, tool), "params": 1})
    code, out, err = run(capsys, "crosscheck", "lenet5", "--against", "torchinfo", "--format", "json")
    assert code == 1 and "torchinfo params" in err
    data = json.loads(out)
    assert data["passed"] is False and [c["ok"] for c in data["checks"]] == [False, True]


def test_crosscheck_keras_works_with_keras_backend_unset() -> None:
    """The issue's done-when: after README's set-up (no TensorFlow), with KERAS_BACKEND unset, Keras
    runs on torch and one line says so."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    result = subprocess.run(
        [sys.executable, "-m", "convcost", "crosscheck", "mobilenet_v1", "--against", "keras"],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress bar: stderr is not a terminal
    lines = result.stdout.splitlines()
    assert lines[1] == "Keras runs on torch here (KERAS_BACKEND is unset; set it to choose another backend)"
    # Keras' own MobileNet (keras.applications.MobileNet(weights=None).count_params()) is 4,253,864
    assert lines[3].split() == ["keras", "params", "4,253,864", "4,253,864", "ok"]


def test_a_chosen_keras_backend_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert checks.choose_keras_backend() is None
    monkeypatch.delenv("KERAS_BACKEND")
    assert "keras" in sys.modules  # this test module imported it: its backend is already fixed
    assert checks.choose_keras_backend() is None


def test_table_reads_a_keras_json_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    theirs = keras.applications.MobileNetV2(weights=None)
    path = tmp_path / "mobilenet_v2.json"
    path.write_text(theirs.to_json())
    code, out, err = run(capsys, "table", str(path), "--convention", "keras", "--format", "json")
    assert code == 0, err
    import json

    assert json.loads(out)["totals"]["params"] == theirs.count_params() == 3_538_984


def test_table_refuses_a_keras_lambda_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inputs = keras.Input((8, 8, 3))
    outputs = keras.layers.Lambda(lambda t: t * 2, name="double_it")(keras.layers.Conv2D(2, 3)(inputs))
    path = tmp_path / "lambda.json"
    path.write_text(keras.Model(inputs, outputs).to_json())
    code, out, err = run(capsys, "table", str(path))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Lambda layer 'double_it'" in err


def test_calflops_checks_flops_too(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "crosscheck", "mobilenet_v1_cifar", "--batch", "2", "--against", "calflops")
    assert code == 0, err
    rows = {tuple(line.split()[:2]): line.split()[2:] for line in out.splitlines() if line.startswith("calflops ")}
    # MACs: the paper's 2 x 45,142,208; FLOPs: 2 x that + BN, ReLU and pool elements (docs/conventions.md)
    assert rows[("calflops", "macs")] == ["90,284,416", "90,284,416", "ok"]
    assert rows[("calflops", "flops")][-1] == "ok"


def test_calflops_measures_a_network_without_parameters() -> None:
    """calflops asks the model's first parameter for its device; crosscheck lends an empty one."""
    from convcost.spec import Activation, MaxPool2D, Model, Sequential

    model = Model("no_params", (3, 8, 8), Sequential((MaxPool2D(2), Activation("relu"))), batch=2)
    results = {c.total: (c.ours, c.theirs) for c in checks.crosscheck(model, "calflops")}
    # max pool reads 2 x 3 x 8 x 8 = 384 elements, ReLU 2 x 3 x 4 x 4 = 96: FLOPs only
    assert results == {"params": (0, 0), "macs": (0, 0), "flops": (480, 480)}


def test_calflops_missing_names_both_packages(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "calflops", None)
    code, _, err = run(capsys, "crosscheck", "lenet5", "--against", "calflops")
    assert code == 2
    assert err.strip() == (
        "convcost: error: calflops is not installed: pip install calflops transformers (crosscheck runs the real tool)"
    )


@pytest.mark.parametrize("config, got", [("[1, 2]", "an array"), ('"x"', "a string"), ("3", "a number")])
def test_a_keras_config_that_is_not_an_object_is_named_as_keras(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], config: str, got: str
) -> None:
    """class_name + config is Keras' shape: reported as a broken Keras config, not as a spec file."""
    path = tmp_path / "model.json"
    path.write_text(f'{{"class_name": "Sequential", "config": {config}}}')
    code, out, err = run(capsys, "table", str(path))
    assert code == 2 and not out
    assert err == f"convcost: error: {path}: a Keras model config's 'config' must be an object, got {got}\n"


# ---------------------------------------------------------------- sizes, and networks a framework refuses


def test_a_batch_that_cannot_be_allocated_is_refused_before_building() -> None:
    """The issue's `crosscheck ... --batch 10^12`: refused before torch is even imported."""
    script = (
        "import sys; from convcost.cli import main; code = main(sys.argv[1:]); "
        "print('torch imported' if 'torch' in sys.modules else 'torch not imported'); sys.exit(code)"
    )
    batch = 10**12
    result = subprocess.run(
        [sys.executable, "-c", script, "crosscheck", "mobilenet_v1", "--batch", str(batch)],
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stdout) == (2, "torch not imported\n"), result
    assert result.stderr.startswith("convcost: error: crosscheck: mobilenet_v1 built for torchinfo needs at least ")
    needed = int(result.stderr.split("(")[1].split(" bytes")[0].replace(",", ""))
    assert needed >= 4 * batch * 3 * 224 * 224  # the input batch alone, float32


def test_keras_weights_too_large_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "crosscheck", "mobilenet_v1", "--alpha", "2000", "--against", "keras")
    assert code == 2 and out == ""
    assert err.startswith("convcost: error: crosscheck: mobilenet_v1 built for keras needs at least ")
    needed = int(err.split("(")[1].split(" bytes")[0].replace(",", ""))
    assert needed >= 4 * (1024 * 2000) * (1024 * 2000)  # the last pointwise conv's weights alone


def test_a_failed_torch_allocation_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(model: object, tool: str) -> dict[str, int]:
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")

    monkeypatch.setattr(checks, "measure", refuse)
    code, out, err = run(capsys, "crosscheck", "lenet5", "--against", "thop")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("convcost: error: crosscheck: thop could not allocate lenet5 (it needs at least ")


STRIDED_DILATED = """name = "strided_dilated"
input = [3, 32, 32]

[[layers]]
type = "Conv2D"
name = "c"
filters = 4
kernel = 3
stride = 2
dilation = 3
"""


def test_a_network_keras_cannot_build_skips_keras_and_keeps_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "strided_dilated.toml"
    path.write_text(STRIDED_DILATED)
    code, out, err = run(capsys, "crosscheck", str(path), "--against", "all")
    assert code == 0 and err == "", err
    Df = len(range(0, 32 - (3 * (3 - 1) + 1) + 1, 2))  # a dilated 3x3 spans 7 pixels; stride 2
    for tool in ("fvcore", "thop", "calflops"):  # these count the convolution's multiply-adds only
        macs = next(line for line in out.splitlines() if line.startswith(tool) and " macs " in line)
        assert macs.split() == [tool, "macs", f"{Df * Df * 27 * 4:,}", f"{Df * Df * 27 * 4:,}", "ok"]
    assert "MISMATCH" not in out and not any(line.startswith("keras ") for line in out.splitlines())
    assert "skipped: keras: Keras cannot build this network: `strides > 1` not supported" in out
    code, out, err = run(capsys, "crosscheck", str(path), "--against", "keras")
    assert (code, out) == (2, "") and err.count("\n") == 1
    assert err.startswith(f"convcost: error: {path}: keras: Keras cannot build this network: `strides > 1`")


def test_the_progress_bar_is_on_a_terminals_stderr_only() -> None:
    """stderr a terminal, stdout a pipe: the bar names the running tool there, the result is unchanged."""
    import os
    import pty

    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "100"}
    command = [sys.executable, "-m", "convcost", "crosscheck", "lenet5", "--against", "torchinfo"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=follower, env=env, cwd=Path(__file__).resolve().parent.parent
    )
    os.close(follower)
    shown = b""
    with contextlib.suppress(OSError):  # EIO once the child has closed the terminal
        while chunk := os.read(leader, 4096):
            shown += chunk
    os.close(leader)
    out = process.stdout.read().decode() if process.stdout else ""
    assert process.wait() == 0
    assert b"crosscheck torchinfo" in shown
    assert out.startswith("lenet5, input [1, 28, 28], batch 1\ntool ") and "\x1b" not in out
