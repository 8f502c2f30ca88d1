"""A model file on the command line: its own batch is kept, it is read once to a bounded size, JSON
duplicate keys are refused, and a Keras config says which convention matches Keras.

Counts are derived in the test from the layer's geometry (a 3x3 'same' conv from 3 to 4 channels on
an 8x8 map, no bias: 8*8 positions x 3*3*3 taps x 4 filters = 6,912 multiply-adds per image).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from convcost.cli import main

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"

BATCH8 = """name = "b8"
input = [3, 8, 8]
batch = 8

[[layers]]
type = "Conv2D"
name = "conv"
filters = 4
kernel = 3
padding = "same"
bias = false
"""
PER_IMAGE = 8 * 8 * (3 * 3 * 3) * 4
PARAMS = 3 * 3 * 3 * 4


def run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def ok(args: list[str]) -> str:
    code, out, err = run(args)
    assert code == 0, err
    return out


@pytest.fixture
def batch8(tmp_path: Path) -> Path:
    path = tmp_path / "b8.toml"
    path.write_text(BATCH8)
    return path


# ---------------------------------------------------------------- a spec file's batch


@pytest.mark.parametrize("given, batch", [([], 8), (["--batch", "2"], 2), (["--batch", "1"], 1)])
def test_table_keeps_the_files_batch_unless_batch_is_given(batch8: Path, given: list[str], batch: int) -> None:
    document = json.loads(ok(["table", str(batch8), "--format", "json", *given]))
    assert document["batch"] == batch
    assert document["totals"]["macs"] == batch * PER_IMAGE and document["totals"]["params"] == PARAMS
    assert f"batch {batch}," in ok(["table", str(batch8), *given])


@pytest.mark.parametrize("given, batch", [([], 8), (["--batch", "3"], 3)])
def test_export_keeps_the_files_batch(batch8: Path, given: list[str], batch: int) -> None:
    assert f"\nbatch = {batch}\n" in ok(["export", str(batch8), *given])
    assert json.loads(ok(["export", str(batch8), "--to", "json", *given]))["batch"] == batch


@pytest.mark.parametrize("given, batch", [([], 8), (["--batch", "2"], 2)])
def test_verify_runs_the_files_batch(batch8: Path, given: list[str], batch: int) -> None:
    document = json.loads(ok(["verify", str(batch8), "--format", "json", *given]))
    assert document["batch"] == batch and document["passed"]
    assert document["totals"]["macs"] == {"closed_form": batch * PER_IMAGE, "counted": batch * PER_IMAGE}


def test_compare_keeps_each_files_batch(batch8: Path, tmp_path: Path) -> None:
    other = tmp_path / "b2.toml"
    other.write_text(BATCH8.replace("batch = 8", "batch = 2"))
    document = json.loads(ok(["compare", str(batch8), str(other), "--format", "json"]))
    assert (document["a"]["macs"], document["b"]["macs"]) == (8 * PER_IMAGE, 2 * PER_IMAGE)
    assert document["b_over_a"]["macs"] == "1/4"


@pytest.mark.parametrize("given, batch", [([], 8), (["--batch", "2"], 2)])
def test_crosscheck_builds_the_files_batch(batch8: Path, given: list[str], batch: int) -> None:
    out = ok(["crosscheck", str(batch8), "--against", "torchinfo", *given])
    assert out.startswith(f"b8, input [3, 8, 8], batch {batch}\n")
    macs = next(line for line in out.splitlines() if line.startswith("torchinfo") and " macs " in line)
    assert macs.split() == ["torchinfo", "macs", f"{batch * PER_IMAGE:,}", f"{batch * PER_IMAGE:,}", "ok"]


def test_a_zoo_model_still_defaults_to_batch_1() -> None:
    assert json.loads(ok(["table", "lenet5", "--format", "json"]))["batch"] == 1


# ---------------------------------------------------------------- duplicate keys


def _position(text: str, needle: str, occurrence: int) -> tuple[int, int]:
    index = -1
    for _ in range(occurrence):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


@pytest.mark.parametrize(
    "text, key",
    [
        ('{"input": [3, 8, 8],\n "layers": [{"type": "Flatten"}],\n "layers": []}', "layers"),
        (
            '{"input": [3, 8, 8], "layers": [\n  {"type": "Conv2D", "filters": 4, "kernel": 3, "filters": 400}]}',
            "filters",
        ),
        ('{"input": [3, 8, 8], "name": "a", "layers": [], "name": "b"}', "name"),
        (
            '{"input": [3, 8, 8], "layers": [{"type": "Parallel", "branches": [\n'
            '  {"name": "x", "layers": []}, {"name": "y", "layers": [], "name": "z"}]}]}',
            "name",
        ),
    ],
    ids=["layers", "filters", "top-level name", "in a branch"],
)
def test_a_duplicate_json_key_is_refused_with_its_line_and_column(text: str, key: str, tmp_path: Path) -> None:
    path = tmp_path / "dup.json"
    path.write_text(text)
    code, out, err = run(["table", str(path)])
    occurrence = 3 if key == "name" and "branches" in text else 2
    line, column = _position(text, f'"{key}"', occurrence)
    assert (code, out) == (2, "")
    assert err == f"convcost: error: {path}:{line}: not valid JSON: duplicate key {key!r} (column {column})\n"


def test_a_duplicate_key_in_a_keras_config_is_refused(tmp_path: Path) -> None:
    text = (DATA / "keras_tiny_sequential.json").read_text()
    marker = '"filters": '
    assert marker in text
    doubled = text.replace(marker, '"filters": 400, ' + marker, 1)
    path = tmp_path / "dup_keras.json"
    path.write_text(doubled)
    code, out, err = run(["table", str(path)])
    line, column = _position(doubled, marker, 2)
    assert (code, out) == (2, "")
    assert err == f"convcost: error: {path}: not JSON (duplicate key 'filters' at line {line} column {column})\n"


def test_toml_refuses_duplicates_as_before(tmp_path: Path) -> None:
    path = tmp_path / "dup.toml"
    path.write_text(BATCH8.replace("filters = 4", "filters = 4\nfilters = 400"))
    code, _, err = run(["table", str(path)])
    assert code == 2 and "not valid TOML" in err and err.count("\n") == 1


# ---------------------------------------------------------------- read once, to a bounded size


def _at_most_a_gibibyte() -> None:
    """The child may not grow past 1 GiB of address space: an unbounded read fails with MemoryError."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))


@pytest.mark.parametrize("device, suffix", [("/dev/zero", ".toml"), ("/dev/urandom", ".json"), ("/dev/zero", ".json")])
def test_a_link_to_an_endless_device_stops_at_the_limit(device: str, suffix: str, tmp_path: Path) -> None:
    """Read-only use of the machine's devices: the link is ours, the device is only read."""
    link = tmp_path / f"endless{suffix}"
    link.symlink_to(device)
    result = subprocess.run(
        [sys.executable, "-m", "convcost", "table", str(link)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        preexec_fn=_at_most_a_gibibyte,
    )
    assert (result.returncode, result.stdout) == (2, ""), result
    # a .json may be a Keras config (up to 64 MiB); past that, or not one, it is held to the spec file limit
    assert result.stderr == (
        f"convcost: error: {link}: more than 10,485,760 bytes, over the 10,485,760-byte limit for spec files\n"
    )


@pytest.mark.parametrize("suffix", [".toml", ".json"])
def test_a_fifo_holding_a_valid_spec_is_read_once(suffix: str, tmp_path: Path) -> None:
    fifo = tmp_path / f"spec{suffix}"
    os.mkfifo(fifo)
    text = BATCH8 if suffix == ".toml" else ok(["export", str(_file(tmp_path, BATCH8)), "--to", "json"])

    def feed() -> None:
        with open(fifo, "w") as f:  # blocks until convcost opens the FIFO, once
            f.write(text)

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    result = subprocess.run(
        [sys.executable, "-m", "convcost", "table", str(fifo), "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,  # the second open of the old reader waited here for ever
    )
    writer.join(timeout=10)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["macs"] == 8 * PER_IMAGE


def test_a_fifo_that_never_ends_stops_at_the_limit(tmp_path: Path) -> None:
    fifo = tmp_path / "stream.toml"
    os.mkfifo(fifo)

    def flood() -> None:
        with contextlib.suppress(BrokenPipeError), open(fifo, "wb") as f:
            while True:
                f.write(b"#" * 65536)

    threading.Thread(target=flood, daemon=True).start()
    result = subprocess.run(
        [sys.executable, "-m", "convcost", "table", str(fifo)], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 2
    assert (
        result.stderr
        == f"convcost: error: {fifo}: more than 10,485,760 bytes, over the 10,485,760-byte limit for spec files\n"
    )


def _file(directory: Path, text: str) -> Path:
    path = directory / "plain.toml"
    path.write_text(text)
    return path


# ---------------------------------------------------------------- Keras configs: which convention is Keras's


def test_a_keras_config_says_which_convention_matches_keras() -> None:
    import keras

    path = DATA / "keras_tiny_functional.json"
    model = keras.models.model_from_json(path.read_text())
    count = model.count_params()  # Keras's own number
    table = ok(["table", str(path)])
    expected = (
        f"Note: this is a Keras model. --convention keras counts what its model.summary() reports "
        f"({count:,} params); the default 'paper' counts conv and fully-connected weights only.\n"
    )
    assert table.endswith("\n" + expected)
    assert ok(["table", str(path), "--format", "markdown"]).endswith("\n> " + expected)
    keras_table = ok(["table", str(path), "--convention", "keras"])
    assert f"Total params: {count:,} " in keras_table and "Note:" not in keras_table
    for args in (["--convention", "paper"], ["--format", "json"], ["--format", "csv"]):
        assert "Note:" not in ok(["table", str(path), *args])
    assert "Note:" not in ok(["table", str(ROOT / "examples" / "separable_cifar.toml")])  # a spec file: no note
