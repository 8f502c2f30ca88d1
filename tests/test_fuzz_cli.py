"""Fuzz the command line: whatever arguments arrive, the only outcomes are a result or one clean error line.

Random argument lists go through ``convcost.cli.main`` (the real entry point, with its error mapping)
with stdout and stderr captured. The property, for every list:

* exit 0 and something printed (or written to ``--output``), or
* exit 1 only from a check command (``verify``) reporting a disagreement, or
* exit 2 with exactly one line ``convcost: error: ...`` on stderr,

and never exit 3 (an internal error), never a traceback. ``verify`` runs the NumPy reference, so it
is fuzzed separately and only on tiny spec files; ``crosscheck`` builds real frameworks, so it is
fuzzed only with input that must fail before it gets that far. Output files only ever go to a
scratch directory.

The number of examples comes from the hypothesis profile (tests/conftest.py): ``ci`` by default,
``--hypothesis-profile=thorough`` for the long run recorded in docs/robustness.md.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convcost.cli import main
from convcost.zoo import ZOO

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SCRATCH = Path(tempfile.mkdtemp(prefix="convcost-fuzz-cli-"))

#: spec files small enough for the NumPy reference to run in milliseconds
TINY_TOML = """name = "tiny"
input = [2, 5, 5]

[[layers]]
type = "Conv2D"
filters = 3
kernel = 3
padding = "same"

[[layers]]
type = "DepthwiseConv2D"
kernel = 3
stride = 2

[[layers]]
type = "GlobalAvgPool2D"

[[layers]]
type = "Dense"
units = 2
"""
TINY_JSON = """{"name": "tiny_dense", "input": [4], "layers": [{"type": "Dense", "units": 3}]}"""
(SCRATCH / "tiny.toml").write_text(TINY_TOML)
(SCRATCH / "tiny.json").write_text(TINY_JSON)
(SCRATCH / "bad.toml").write_text("name = \n[[layers]\n")
(SCRATCH / "bad.json").write_text('{"input": [3, 8, 8], "layers": [{"type": "Conv2D", "filters": -1}]}')
(SCRATCH / "binary.json").write_bytes(bytes(range(256)))
(SCRATCH / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
(SCRATCH / "keras_bad.json").write_text('{"class_name": "Sequential", "config": {"layers": [{"class_name": "Foo"}]}}')
(SCRATCH / "a_directory.toml").mkdir(exist_ok=True)
(SCRATCH / "line_breaks.json").write_text(
    '{"input": [3, 4, 4], "layers": [{"type": "Conv2D", "name": "a\\rb\\nc\\u2028d", "filters": 1, "kernel": 9}]}'
)

SPEC_FILES = [
    str(ROOT / "examples" / "separable_cifar.toml"),
    str(ROOT / "examples" / "inception_block.json"),
    str(DATA / "broken_spec.toml"),
    *(str(SCRATCH / name) for name in ("tiny.toml", "tiny.json", "bad.toml", "bad.json", "binary.json")),
    *(str(SCRATCH / name) for name in ("deep.json", "keras_bad.json", "a_directory.toml", "line_breaks.json")),
    *(str(path) for path in sorted((DATA / "errors").iterdir())),  # one file per catalogued mistake
    str(SCRATCH / "missing.toml"),
    str(SCRATCH / "no_suffix"),
    "relative/missing.json",
]

#: where --output / --plot may point: a fresh file, an existing one, a directory, a missing directory
OUTPUTS = [
    str(SCRATCH / "out.txt"),
    str(SCRATCH / "existing.txt"),
    str(SCRATCH),
    str(SCRATCH / "no" / "such" / "dir" / "out.txt"),
]
PLOTS = [str(SCRATCH / "plot.txt"), str(SCRATCH / "no" / "dir" / "plot.svg"), str(SCRATCH / "plot")]

COMMANDS = ["table", "models", "export", "explain", "sweep", "compare"]
CHECK_COMMANDS = {"verify", "crosscheck"}


def _is_writing_flag(token: str) -> bool:
    """Tokens that would make click write a file: only ever emitted together with a scratch path."""
    return token.startswith(("-o", "--output", "--plot"))


numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([0, 1, -1, 2, 3, 7, 224, 10**6, 10**18, 2**63, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["nan", "inf", "-inf", "NaN", "1e309", "-0", "0.0", "1e-320", "0x10", "1_000", " 3 ", "½"]),
)
garbage = st.text(max_size=12).filter(lambda s: not _is_writing_flag(s))
values = st.one_of(numbers.map(str), garbage, st.sampled_from(list(ZOO)), st.sampled_from(SPEC_FILES))
list_values = st.lists(st.one_of(numbers.map(str), st.just("")), min_size=0, max_size=4).map(",".join)

VALUE_FLAGS = [
    "--alpha",
    "--resolution",
    "--classes",
    "--batch",
    "--kernel",
    "--in",
    "--out",
    "--size",
    "--stride",
    "--seed",
    "--depth",
    "--a-alpha",
    "--a-resolution",
    "--a-classes",
    "--b-alpha",
    "--b-resolution",
    "--b-classes",
]
CHOICE_FLAGS = {
    "--convention": ["paper", "keras", "torchinfo", "fvcore", "thop", "ptflops", "nope", ""],
    "--format": ["table", "json", "markdown", "csv", "text", "html", "nope"],
    "--dtype": ["float32", "float16", "int8", "bfloat16", "float64", "nope"],
    "--to": ["toml", "json", "yaml"],
}
LONE_FLAGS = ["--help", "-h", "--debug", "--version", "--no-such-flag", "--", "-", "--alpha", "--format"]


@st.composite
def argument_lists(draw: Any) -> list[str]:
    args: list[str] = []
    if draw(st.booleans()):
        args.append("--debug")
    command = draw(st.sampled_from([*COMMANDS, "nope", ""]))
    if command:
        args.append(command)
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        kind = draw(st.integers(min_value=0, max_value=9))
        if kind <= 2:
            flag = draw(st.sampled_from(VALUE_FLAGS))
            if flag in ("--alpha", "--resolution") and command == "sweep" and draw(st.booleans()):
                args += [flag, draw(list_values)]
            else:
                args += [flag, draw(numbers.map(str))]
        elif kind == 3:
            flag = draw(st.sampled_from(sorted(CHOICE_FLAGS)))
            args += [flag, draw(st.one_of(st.sampled_from(CHOICE_FLAGS[flag]), garbage))]
        elif kind == 4:
            args += [draw(st.sampled_from(["-o", "--output"])), draw(st.sampled_from(OUTPUTS))]
        elif kind == 5:
            args += ["--plot", draw(st.sampled_from(PLOTS))]
        elif kind == 6:
            args.append(draw(st.sampled_from(LONE_FLAGS)))
        else:
            args.append(draw(values))
    return args


def run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def check_outcome(args: list[str], code: int, out: str, err: str) -> None:
    """The CLI contract every run must keep."""
    assert "Traceback" not in out + err, (args, err)
    assert code != 3 and "internal error" not in err, (args, err)
    if code == 0:
        wrote_file = any(a in ("-o", "--output") for a in args)
        assert out or wrote_file, (args, "exit 0 with nothing printed")
        return
    if code == 1:
        assert set(args) & CHECK_COMMANDS, (args, "exit 1 from a command that checks nothing")
        return
    assert code == 2, (args, code, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("convcost: error: "), (args, err)
    assert len(lines[0]) > len("convcost: error: "), (args, err)


@given(argument_lists())
def test_random_argument_lists_end_in_a_result_or_one_error_line(args: list[str]) -> None:
    (SCRATCH / "existing.txt").write_text("previous\n")
    code, out, err = run(args)
    check_outcome(args, code, out, err)


@given(
    st.sampled_from([str(SCRATCH / "tiny.toml"), str(SCRATCH / "tiny.json"), str(SCRATCH / "bad.json")]),
    st.lists(
        st.one_of(
            st.tuples(st.sampled_from(["--seed", "--batch", "--alpha"]), numbers.map(str)),
            st.tuples(st.just("--format"), st.sampled_from(["table", "json", "markdown"])),
            st.tuples(st.just("--output"), st.sampled_from(OUTPUTS)),
        ),
        max_size=3,
    ),
)
def test_verify_on_tiny_models_ends_in_a_result_or_one_error_line(spec: str, options: list[tuple[str, str]]) -> None:
    # a batch of 10**30 would ask the reference for that many samples: keep the work tiny
    args = ["verify", spec]
    for flag, value in options:
        if flag == "--batch" and value.lstrip("-").isdigit() and int(value) > 3:
            value = "2"
        args += [flag, value]
    code, out, err = run(args)
    check_outcome(args, code, out, err)
    if code == 1:
        pytest.fail(f"the reference disagrees with the closed form on {args}: {out}")


BROKEN_FILES = sorted(str(p) for p in (DATA / "errors").iterdir())
bad_numbers = st.one_of(
    st.integers(max_value=0), st.sampled_from(["nan", "inf", "-inf", "-0.5", "x", ""]), st.floats(max_value=0)
)


@given(
    st.one_of(st.sampled_from(BROKEN_FILES), st.sampled_from(list(ZOO)), garbage.filter(lambda s: s[:1] != "-")),
    st.lists(
        st.one_of(
            st.tuples(st.sampled_from(["--alpha", "--resolution", "--classes", "--batch"]), bad_numbers.map(str)),
            st.tuples(
                st.just("--against"),
                st.one_of(st.sampled_from(["keras", "thop", "all"]), garbage.filter(lambda s: s[:1] != "-")),
            ),
        ),
        max_size=3,
    ),
)
def test_crosscheck_refuses_bad_input_before_building_anything(model: str, options: list[tuple[str, str]]) -> None:
    """crosscheck builds real frameworks, so it is fuzzed only with input that must fail first."""
    args = ["crosscheck", model]
    for flag, value in options:
        args += [flag, value]
    must_fail = model in BROKEN_FILES or model not in ZOO or any(f != "--against" for f, _ in options)
    if not must_fail:
        args += ["--batch", "0"]
    code, out, err = run(args)
    check_outcome(args, code, out, err)
    assert code == 2, (args, code, err)


# ---------------------------------------------------------------- hand-picked front doors


@pytest.mark.parametrize(
    "args",
    [
        ["table", "--alpha", "nan"],
        ["table", "--alpha", "inf"],
        ["table", "--alpha", "-0.5"],
        ["table", "--resolution", "0"],
        ["table", "--resolution", "-224"],
        ["table", "--classes", "0"],
        ["table", "--batch", "0"],
        ["table", "--depth", "0"],
        ["table", str(SCRATCH / "deep.json")],
        ["table", str(SCRATCH / "binary.json")],
        ["table", str(SCRATCH / "a_directory.toml")],
        ["table", str(SCRATCH / "keras_bad.json")],
        ["table", str(SCRATCH / "line_breaks.json")],
        ["explain", "--kernel", "0", "--in", "1", "--out", "1", "--size", "1"],
        ["explain", "--kernel", "3", "--in", "1", "--out", "1", "--size", "nan"],
        ["sweep", "--alpha", "nan,1"],
        ["sweep", "--resolution", ","],
        ["compare", "mobilenet_v1", "nope"],
        ["export", "--to", "yaml"],
        ["table", "-o", str(SCRATCH)],
        ["table", "-o", str(SCRATCH / "no" / "such" / "dir" / "out.txt")],
    ],
)
def test_known_bad_inputs_end_in_one_error_line(args: list[str]) -> None:
    code, out, err = run(args)
    check_outcome(args, code, out, err)
    assert code == 2


def test_help_and_version_exit_cleanly() -> None:
    for args in (["--help"], ["--version"], [], ["table", "--help"]):
        code, out, err = run(args)
        assert code == 0 and out and not err, args


# ---------------------------------------------------------------- no half-written output

OUTPUT_COMMANDS = [
    ["table", "--format", "json"],
    ["export", "--to", "toml"],
    ["sweep", "--alpha", "1,0.5", "--resolution", "224,128"],
    ["compare", "mobilenet_v1", "mobilenet_v2"],
    ["verify", str(SCRATCH / "tiny.toml")],
]


class _DiskFillsUp:
    """A text file that takes the first half of what it is given, then fails as a full disk does."""

    def __init__(self, real: Any) -> None:
        self.real = real

    def write(self, text: str) -> int:
        self.real.write(text[: len(text) // 2])
        self.real.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    def __enter__(self) -> _DiskFillsUp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.real.close()


def _previous_output(directory: Path) -> tuple[Path, bytes]:
    target = directory / "report.out"
    previous = b"the previous run's output\n" * 100
    target.write_bytes(previous)
    return target, previous


@pytest.mark.parametrize("command", OUTPUT_COMMANDS, ids=lambda c: c[0])
def test_a_write_that_fails_midway_leaves_the_previous_file(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, previous = _previous_output(tmp_path)
    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda *a, **k: _DiskFillsUp(real_fdopen(*a, **k)))
    code, out, err = run([*command, "--output", str(target)])
    monkeypatch.undo()
    assert code == 2 and not out, err
    assert err.startswith(f"convcost: error: cannot write --output {target}: No space left on device")
    assert len(err.splitlines()) == 1
    assert target.read_bytes() == previous
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.out"]  # no temp file left behind


@pytest.mark.parametrize("command", OUTPUT_COMMANDS[:2], ids=lambda c: c[0])
def test_a_failing_rename_leaves_the_previous_file(
    command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, previous = _previous_output(tmp_path)

    def refuse(src: str, dst: str) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "replace", refuse)
    code, out, err = run([*command, "--output", str(target)])
    monkeypatch.undo()
    assert code == 2 and not out and "cannot write --output" in err, err
    assert target.read_bytes() == previous
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.out"]


def test_an_interrupt_while_writing_leaves_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target, previous = _previous_output(tmp_path)

    class Interrupted(_DiskFillsUp):
        def write(self, text: str) -> int:
            self.real.write(text[:10])
            raise KeyboardInterrupt

    real_fdopen = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda *a, **k: Interrupted(real_fdopen(*a, **k)))
    code, out, err = run(["export", "--output", str(target)])
    monkeypatch.undo()
    assert code == 130 and not out and err == "convcost: error: interrupted\n", err  # one line, no blank one
    assert target.read_bytes() == previous
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.out"]


def test_a_plot_that_fails_midway_leaves_the_previous_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from matplotlib.figure import Figure

    target = tmp_path / "grid.svg"
    target.write_bytes(b"<svg>previous</svg>")

    def half_then_fail(self: Any, file: Any, **kwargs: Any) -> None:
        file.write(b"<svg>half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", half_then_fail)
    code, out, err = run(["sweep", "--alpha", "1,0.5", "--plot", str(target)])
    monkeypatch.undo()
    assert target.read_bytes() == b"<svg>previous</svg>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.svg"]
    assert code == 2 and not out and len(err.splitlines()) == 1 and "cannot write --plot" in err, err


def test_a_successful_write_replaces_the_whole_file(tmp_path: Path) -> None:
    target, _ = _previous_output(tmp_path)
    code, out, err = run(["export", "--to", "json", "--output", str(target)])
    assert code == 0 and not out and not err
    assert target.read_text() == run(["export", "--to", "json"])[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.out"]


@pytest.mark.parametrize(
    "command, suffix",
    [(["export", "--output"], ".toml"), (["sweep", "--alpha", "1", "--resolution", "224", "--plot"], ".svg")],
    ids=["output", "plot"],
)
def test_a_written_file_keeps_the_usual_permissions(command: list[str], suffix: str, tmp_path: Path) -> None:
    """The temporary file is private (0600); the result gets the old file's mode, or the umask's.
    --output and sweep --plot share one atomic writer (the plot used to stay 0600)."""
    fresh, kept = tmp_path / f"fresh{suffix}", tmp_path / f"kept{suffix}"
    kept.write_text("old")
    kept.chmod(0o640)
    umask = os.umask(0o022)
    try:
        assert run([*command, str(fresh)])[0] == 0
        assert run([*command, str(kept)])[0] == 0
    finally:
        os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o644
    assert kept.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name, kept.name]


def teardown_module() -> None:
    for path in sorted(SCRATCH.rglob("*"), reverse=True):
        if path.is_dir():
            os.rmdir(path)
        else:
            path.unlink()
    SCRATCH.rmdir()
