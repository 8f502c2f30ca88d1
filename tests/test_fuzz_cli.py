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

Beyond random argument lists, four properties aim at what a hostile user tries:

* hostile names (terminal escapes, CR, bidi overrides, C1 controls, '|', lone surrogates) through
  every command and format: nothing a terminal acts on is printed, CSV and markdown keep their
  shape, JSON and exported spec files keep the exact names;
* counts past 10**308 and past Python's 4,300-digit limit (resolution, batch, alpha near 1.8e308):
  every format prints the same exact total;
* every kind of stdout (a closed pipe, a full disk, an I/O error, cp1252, closed) and every kind
  of --output target (a symlink, a dangling one, a read-only file, a path through a file): a
  result or one line, a closed pipe is exit 0, no temporary file left.

Model files come from ``FRONT_DOORS``, one list per reader: a new front door adds its sample
files there, and the argument lists and the stdout/target property draw from them.

The number of examples comes from the hypothesis profile (tests/conftest.py): ``ci`` by default,
``--hypothesis-profile=thorough`` for the long run recorded in docs/robustness.md.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convcost.cli import main
from convcost.zoo import ZOO
from tests import fuzz_samples

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

(SCRATCH / "batch8.toml").write_text(TINY_TOML.replace("input = [2, 5, 5]", "input = [2, 5, 5]\nbatch = 8"))
(SCRATCH / "duplicate_key.json").write_text('{"input": [4], "layers": [{"type": "Dense", "units": 3, "units": 300}]}')
(SCRATCH / "long_literal.toml").write_text(TINY_TOML.replace("filters = 3", "filters = " + "9" * 5000))
(SCRATCH / "long_literal.json").write_text(TINY_JSON.replace('"units": 3', '"units": ' + "9" * 5000))
(SCRATCH / "surrogate.json").write_text(TINY_JSON.replace("tiny_dense", "tiny\\ud800"))
(SCRATCH / "escapes.json").write_text(
    '{"name": "\\u001b]0;title\\u0007", "input": [2, 5, 5], "layers": ['
    '{"type": "Conv2D", "name": "\\u001b[2J|\\r\\u202e", "filters": 2, "kernel": 3, "padding": "same"},'
    '{"type": "Conv2D", "name": "pw\\u009b\\u2028", "filters": 3, "kernel": 1}]}'
)
(SCRATCH / "huge.json").write_text(
    '{"input": [3, 1' + "0" * 400 + ", 1" + "0" * 400 + '], "batch": 1' + "0" * 400 + ', "layers": ['
    '{"type": "Conv2D", "filters": 8, "kernel": 3, "padding": "same"}, {"type": "GlobalAvgPool2D"}]}'
)
(SCRATCH / "zero.toml").symlink_to("/dev/zero")  # read-only use: stops at the size limit

#: sample inputs of every front door the CLI reads, by reader. A new front door (an ONNX file, a
#: .keras archive, a graph spec with `inputs`, a `package.module:factory` name) adds its files here:
#: every fuzz test below draws its MODEL from these lists.
FRONT_DOORS: dict[str, list[str]] = {
    "spec files": [
        str(ROOT / "examples" / "separable_cifar.toml"),
        str(ROOT / "examples" / "inception_block.json"),
        *(str(SCRATCH / name) for name in ("tiny.toml", "tiny.json", "batch8.toml", "escapes.json", "huge.json")),
    ],
    "Keras configs": [str(DATA / "keras_tiny_sequential.json"), str(DATA / "keras_tiny_functional.json")],
    # graph spec files (inputs, shares, two outputs), .keras archives, an ONNX file (tests/fuzz_samples.py)
    **fuzz_samples.write_samples(SCRATCH),
    "broken files": [
        str(DATA / "broken_spec.toml"),
        *(str(SCRATCH / name) for name in ("bad.toml", "bad.json", "binary.json", "deep.json", "keras_bad.json")),
        *(str(SCRATCH / name) for name in ("a_directory.toml", "line_breaks.json", "duplicate_key.json")),
        *(str(SCRATCH / name) for name in ("long_literal.toml", "long_literal.json", "surrogate.json", "zero.toml")),
        *(str(path) for path in sorted((DATA / "errors").iterdir())),  # one file per catalogued mistake
        str(SCRATCH / "missing.toml"),
        str(SCRATCH / "no_suffix"),
        "relative/missing.json",
    ],
}
SPEC_FILES = [path for paths in FRONT_DOORS.values() for path in paths]
#: the lists whose files a bare `table FILE` refuses
NEED_MORE = ("broken files", "Keras files that leave a size open")

#: where --output / --plot may point: a fresh file, an existing one, a directory, a missing directory
OUTPUTS = [
    str(SCRATCH / "out.txt"),
    str(SCRATCH / "existing.txt"),
    str(SCRATCH),
    str(SCRATCH / "no" / "such" / "dir" / "out.txt"),
]
PLOTS = [str(SCRATCH / "plot.txt"), str(SCRATCH / "no" / "dir" / "plot.svg"), str(SCRATCH / "plot")]

# roofline --calibrate measures the machine for seconds: it is fuzzed by hand below, not here
COMMANDS = ["table", "models", "export", "explain", "sweep", "compare", "roofline", "report"]
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
    "--peak-gflops",
    "--bandwidth-gbs",
    "--threads",
    "--input-size",
]
CHOICE_FLAGS = {
    "--convention": ["paper", "keras", "torchinfo", "fvcore", "thop", "ptflops", "nope", ""],
    "--format": ["table", "json", "markdown", "csv", "text", "html", "nope"],
    "--dtype": ["float32", "float16", "int8", "bfloat16", "float64", "nope"],
    "--to": ["toml", "json", "yaml"],
    "--device": ["cpu_core", "a100", "a100_fp16", "t4", "h100", ""],
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
    st.sampled_from(
        [
            *(str(SCRATCH / name) for name in ("tiny.toml", "tiny.json", "bad.json")),
            # graphs with inputs, shares and two outputs, and a frozen tower: milliseconds for the reference
            *FRONT_DOORS["graph spec files"],
            *(path for path in FRONT_DOORS["Keras archives"] if "nested" in path),
        ]
    ),
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
        ["roofline", "--peak-gflops", "nan", "--bandwidth-gbs", "1"],
        ["roofline", "--peak-gflops", "1", "--bandwidth-gbs", "-inf"],
        ["roofline", "--peak-gflops", "1e-400", "--bandwidth-gbs", "1"],
        ["roofline", "--calibrate", "--threads", "0"],
        ["roofline", "--calibrate", "--peak-gflops", "1", "--bandwidth-gbs", "1"],
        ["report", "--calibrate", "--device", "t4"],
        ["report", "-o", str(SCRATCH)],
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


# ---------------------------------------------------------------- hostile names, everywhere a name is printed

#: pieces a name is built from: escapes a terminal would act on, line breaks, bidi and format
#: characters, separators, C1 controls, '|' and markdown, a lone surrogate, and ordinary text
NAME_PIECES = st.one_of(
    st.sampled_from(
        [
            *("\x1b[2J", "\x1b]0;title\x07", "\r", "\n", "\t", "\x00", "\x7f", "\x9b", "\u202e", "\u2066", "\u200b"),
            *(
                "\u2028",
                "\u2029",
                "\x85",
                "\xa0",
                "|",
                "||",
                "`",
                "*",
                "[/]",
                "[bold]",
                "\\",
                '"',
                "\ud800",
                "层",
                "😀",
            ),
        ]
    ),
    st.text(max_size=4),
)
names = st.lists(NAME_PIECES, min_size=1, max_size=4).map("".join).filter(bool)  # an empty name is generated


def raw_controls(text: str) -> list[str]:
    return [c for c in text if not c.isprintable() and c != "\n"]


def write_named_spec(model_name: str, layer_names: list[str]) -> Path:
    layers = [
        {"type": "Conv2D", "name": name, "filters": 2, "kernel": 3, "padding": "same"} for name in layer_names[:-1]
    ]
    layers.append({"type": "Conv2D", "name": layer_names[-1], "filters": 3, "kernel": 1})
    path = SCRATCH / "named.json"
    path.write_text(json.dumps({"name": model_name, "input": [2, 5, 5], "layers": layers}))  # \u escapes: ASCII
    return path


@given(names, st.lists(names, min_size=1, max_size=3, unique=True), st.data())
def test_hostile_names_never_reach_the_terminal_and_never_break_a_format(
    model_name: str, layer_names: list[str], data: st.DataObject
) -> None:
    path = str(write_named_spec(model_name, layer_names))
    command = data.draw(
        st.sampled_from(
            [
                ["table", path, "--format", "table"],
                ["table", path, "--format", "markdown"],
                ["table", path, "--format", "csv"],
                ["table", path, "--format", "json"],
                ["table", path, "--depth", "1"],
                ["export", path, "--to", "toml"],
                ["export", path, "--to", "json"],
                ["compare", path, path],
                ["verify", path],
                ["explain", path, layer_names[0]],
                ["roofline", path],
                ["report", path],
            ]
        )
    )
    code, out, err = run(command)
    check_outcome(command, code, out, err)
    assert raw_controls(err) == [], err
    if code != 0:
        return
    if command[-1] == "json" and command[0] == "table":
        document = json.loads(out)
        assert [layer["path"] for layer in document["layers"]] == layer_names  # a top-level layer: its path is its name
        assert document["model"] == model_name
        return
    assert raw_controls(out) == [], (command, out)
    if command[-1] == "csv":
        assert len(list(csv.DictReader(io.StringIO(out)))) == len(layer_names)
    if command[-1] == "markdown":
        table = [line for line in out.splitlines() if line.startswith("| ")]
        separators = table[0].count(" | ")
        assert all(line.replace("\\|", "").count(" | ") == separators for line in table[: len(layer_names) + 1])
    if command[0] == "export":  # the file reads back to the same names
        back = SCRATCH / f"named_back.{command[-1]}"
        back.write_text(out)
        code, again, err = run(["table", str(back), "--format", "json"])
        assert code == 0, err
        assert [layer["path"] for layer in json.loads(again)["layers"]] == layer_names


# ---------------------------------------------------------------- counts past the float range and the digit limit

huge_ints = st.one_of(
    st.integers(min_value=1, max_value=10**20),
    st.integers(min_value=10**300, max_value=10**330),
    st.integers(min_value=10**4000, max_value=10**4299),
    st.sampled_from([2**63, 2**1024, 10**308, 10**309, int("9" * 4300)]),
)
huge_alphas = st.one_of(
    st.floats(min_value=0.01, max_value=1.7976931348623157e308),
    st.sampled_from([1e300, 1e307, 1e308, 1.7976931348623157e308, 5e-324]),
)


def exact_json(text: str) -> Any:
    previous = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        return json.loads(text)
    finally:
        sys.set_int_max_str_digits(previous)


@st.composite
def huge_tables(draw: Any) -> tuple[str, dict[str, Any]]:
    """A model and the huge options to cost it with. Counts of thousands of digits take milliseconds
    each to print (Python's conversion is quadratic), so those go to LeNet's eight rows."""
    options = draw(
        st.fixed_dictionaries({}, optional={"--resolution": huge_ints, "--batch": huge_ints, "--alpha": huge_alphas})
    )
    giant = any(isinstance(v, int) and v > 10**1000 for v in options.values())
    return draw(
        st.just("lenet5") if giant else st.sampled_from(["lenet5", "mobilenet_v1_shallow", "mobilenet_v2"])
    ), options


@given(huge_tables())
def test_huge_counts_print_exactly_in_every_format(table: tuple[str, dict[str, Any]]) -> None:
    model, options = table
    args = ["table", model, *(item for flag, value in options.items() for item in (flag, repr(value)))]
    code, out, err = run([*args, "--format", "json"])
    check_outcome(args, code, out, err)
    if code != 0:
        return
    with contextlib.ExitStack() as stack:
        previous = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(0)
        stack.callback(sys.set_int_max_str_digits, previous)
        document = json.loads(out)
        total = document["totals"]["macs"]
        assert total == sum(layer["macs"] for layer in document["layers"])
        code, text, err = run([*args, "--format", "csv"])
        assert code == 0 and sum(int(row["macs"]) for row in csv.DictReader(io.StringIO(text))) == total, err
        for fmt in ("markdown", "table"):
            code, text, err = run([*args, "--format", fmt])
            assert code == 0 and f"{total:,}" in text, err


@given(
    st.sampled_from(["mobilenet_v1", "mobilenet_v2"]),
    st.lists(huge_ints.filter(lambda n: n < 10**1000), min_size=1, max_size=2),  # totals print, not rows
    st.lists(huge_alphas, min_size=1, max_size=2),
    st.sampled_from(["table", "json", "csv", "markdown"]),
)
def test_sweep_and_compare_at_huge_sizes(model: str, resolutions: list[int], alphas: list[float], fmt: str) -> None:
    grid = ["sweep", model, "--resolution", ",".join(map(str, resolutions)), "--alpha", ",".join(map(repr, alphas))]
    code, out, err = run([*grid, "--format", fmt])
    check_outcome(grid, code, out, err)
    pair = ["compare", model, model, "--b-resolution", str(resolutions[0]), "--b-alpha", repr(alphas[0])]
    code, out, err = run([*pair, "--format", fmt])
    check_outcome(pair, code, out, err)


# ---------------------------------------------------------------- every stdout and every --output target


class _Stream(io.StringIO):
    """A stdout stand-in: no descriptor, so the CLI writes through ``write``."""

    failure: OSError | None = None

    def write(self, text: str) -> int:
        if self.failure is not None:
            raise self.failure
        return super().write(text)


def _cp1252() -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding="cp1252")


STDOUTS: dict[str, Callable[[], Any]] = {
    "a pipe that closed": lambda: _failing(BrokenPipeError(errno.EPIPE, "Broken pipe")),
    "a full disk": lambda: _failing(OSError(errno.ENOSPC, "No space left on device")),
    "an I/O error": lambda: _failing(OSError(errno.EIO, "Input/output error")),
    "cp1252": _cp1252,
    "closed": lambda: None,
}


def _failing(error: OSError) -> _Stream:
    stream = _Stream()
    stream.failure = error
    return stream


def _target(kind: str, directory: Path) -> str:
    """An --output path of the given kind, made fresh in ``directory``."""
    for path in list(directory.iterdir()):
        if path.is_dir() and not path.is_symlink():
            os.rmdir(path)
        else:
            if not path.is_symlink():
                path.chmod(0o644)
            path.unlink()
    target = directory / "out.txt"
    if kind == "symlink":
        (directory / "real.txt").write_text("old\n")
        target.symlink_to("real.txt")
    elif kind == "dangling symlink":
        target.symlink_to("made.txt")
    elif kind == "read-only":
        target.write_text("old\n")
        target.chmod(0o444)
    elif kind == "through a file":
        (directory / "file").write_text("x")
        target = directory / "file" / "out.txt"
    elif kind == "symlink to a directory":
        (directory / "d").mkdir()
        target.symlink_to("d")
    return str(target)


OUTPUT_DIR = SCRATCH / "targets"
OUTPUT_DIR.mkdir()
TARGETS = ["none", "new", "symlink", "dangling symlink", "read-only", "through a file", "symlink to a directory"]


@given(
    st.sampled_from(
        [
            ["table", "lenet5"],
            ["table", "lenet5", "--format", "markdown"],
            ["models"],
            ["export", "lenet5"],
            ["explain", "lenet5", "c1"],
            ["sweep", "--alpha", "1", "--resolution", "96"],
            ["compare", "lenet5", "lenet5"],
            ["--help"],
        ]
    )
    | st.sampled_from([path for door, paths in FRONT_DOORS.items() if door not in NEED_MORE for path in paths]).flatmap(
        lambda model: st.sampled_from(
            [
                *(["table", model, "--format", fmt] for fmt in ("table", "markdown", "csv", "json")),
                *(["export", model, "--to", fmt] for fmt in ("toml", "json")),
                ["compare", model, model],
            ]
        )
    ),
    st.sampled_from(sorted(STDOUTS)),
    st.sampled_from(TARGETS),
)
def test_any_stdout_and_any_output_target_end_in_a_result_or_one_line(
    command: list[str], stdout: str, target: str
) -> None:
    args = list(command)
    path = _target(target, OUTPUT_DIR)
    writes_file = target != "none" and command[0] in ("table", "export", "sweep", "compare")
    if writes_file:
        args += ["--output", path]
    stream = STDOUTS[stdout]()
    err = io.StringIO()
    with contextlib.redirect_stdout(stream), contextlib.redirect_stderr(err):  # type: ignore[type-var]
        code = main(args)
    lines = err.getvalue().splitlines()
    assert "Traceback" not in err.getvalue() and code != 3, (args, stdout, err.getvalue())
    if writes_file:
        expected_ok = target in ("new", "symlink", "dangling symlink")
        assert (code == 0) is expected_ok, (args, target, err.getvalue())
        if target == "read-only":
            assert Path(path).read_text() == "old\n"
        if target == "symlink":
            assert Path(path).is_symlink()
    elif stdout == "a pipe that closed":
        assert (code, lines) == (0, []), (args, err.getvalue())
    elif stdout != "cp1252":  # cp1252 holds every escaped name and the ASCII box drawing: 0, or 2 for 层
        assert code == 2, (args, stdout, err.getvalue())
    if code != 0:
        assert code == 2 and len(lines) == 1 and lines[0].startswith("convcost: error: "), (args, err.getvalue())
    leftovers = [p.name for p in OUTPUT_DIR.rglob(".convcost-*")]
    assert leftovers == [], leftovers


def teardown_module() -> None:
    for path in sorted(SCRATCH.rglob("*"), reverse=True):
        if path.is_dir() and not path.is_symlink():  # a link to a directory is unlinked, not removed
            os.rmdir(path)
        else:
            path.unlink()
    SCRATCH.rmdir()
