"""The ``convcost`` command: a thin shell over the Python API.

Every user mistake ends as one line on stderr and exit status 2; nothing heavy is imported for
the analytic commands (no NumPy, no framework).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

import click

from convcost import __version__
from convcost.conventions import NAMES as CONVENTION_NAMES
from convcost.devices import DEFAULT_DEVICE, PRESETS, Device, device, preset
from convcost.digits import unlimited
from convcost.errors import ConvcostError, SpecError
from convcost.labels import KINDS
from convcost.memory import DTYPE_BYTES
from convcost.render import FORMATS, render
from convcost.report import analyze
from convcost.spec import Model
from convcost.zoo import ZOO

if TYPE_CHECKING:
    from convcost.traffic import Traffic

EXIT_USAGE = 2
EXIT_INTERNAL = 3
#: a Ctrl-C: what the shell reports for a process SIGINT ends
EXIT_INTERRUPTED = 130


class Choice(click.Choice):  # type: ignore[type-arg]
    """A choice whose refusal suggests the nearest value (``--format jsn``: did you mean 'json'?)."""

    #: a value that is a word for something else, not a misspelt choice (flops is not ptflops)
    ELSEWHERE: ClassVar[dict[str, str]] = {"flops": "FLOPs are --flops, under any convention"}

    def get_invalid_choice_message(self, value: Any, ctx: click.Context | None) -> str:
        import difflib

        message = super().get_invalid_choice_message(value, ctx).rstrip(".")
        if str(value) in self.ELSEWHERE:
            return f"{message}; {self.ELSEWHERE[str(value)]}"
        near = difflib.get_close_matches(str(value), [str(c) for c in self.choices], n=1, cutoff=0.8)
        return f"{message}; did you mean {near[0]!r}?" if near else f"{message}."


#: the format an ``--output`` file's suffix names: picked when ``--format`` is not given
SUFFIX_FORMATS = {".json": "json", ".csv": "csv", ".md": "markdown", ".markdown": "markdown", ".toml": "toml"}


def format_from_output(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give the command the format ``--output``'s suffix names (``-o out.json``: json) when its
    format option was not given; refuse a format option that contradicts the suffix."""

    @functools.wraps(command)
    def chosen(*args: Any, fmt: str, output: str | None, **rest: Any) -> Any:
        return command(*args, fmt=_output_format(fmt, output), output=output, **rest)

    return chosen


def _output_format(fmt: str, output: str | None) -> str:
    from click.core import ParameterSource

    suffix = Path(output).suffix.lower() if output else ""
    named = SUFFIX_FORMATS.get(suffix)
    if named is None or named == fmt:
        return fmt
    context = click.get_current_context()
    option = next(p for p in context.command.params if p.name == "fmt")
    flag = option.opts[0]
    if context.get_parameter_source("fmt") is not ParameterSource.DEFAULT:
        raise SpecError(f"{flag} {fmt} contradicts --output {output} (a {suffix} file holds {named}): drop one")
    choices = list(getattr(option.type, "choices", ()))
    if named not in choices:
        raise SpecError(
            f"--output {output}: {context.info_name} cannot write {named} ({flag} takes {', '.join(choices)})"
        )
    return named


def _wants_color() -> bool:
    """Colour for a terminal, unless NO_COLOR is set and not empty, or TERM is 'dumb' (no-color.org)."""
    try:
        terminal = sys.stdout is not None and sys.stdout.isatty()
    except (OSError, ValueError):
        terminal = False
    return terminal and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def write_output(text: str, path: str | None, *, drawing: bool = False) -> None:
    """Print ``text`` (in one write: see convcost.stdout), or write it to ``path``: atomically for
    a regular file, so a failure leaves any old file untouched (see convcost.atomic).

    ``drawing`` says the text is a terminal table, whose box-drawing characters may become ASCII
    on a stdout that cannot encode them.
    """
    if path is None:
        from convcost.stdout import emit

        emit(text, drawing=drawing)
        return
    from convcost.atomic import write_atomically

    data = _utf8(text, path)

    def write(f: BinaryIO) -> None:
        f.write(data)

    write_atomically(path, write, f"--output {path}")


def _utf8(text: str, path: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate in a name given through the Python API
        raise ConvcostError(f"cannot write --output {path}: {e.object[e.start]!a} is not a Unicode character") from None


#: ``click.Context.meta`` keys: the model was read from a Keras config (see ``_keras_note``); the
#: file it was read from, to name in a message that arises later (crosscheck's)
KERAS_FILE = "convcost.keras_file"
MODEL_FILE = "convcost.model_file"


def _traffic(spec: Model, dtype: str) -> Traffic:
    """Bytes moved per layer (``convcost.traffic``, imported only by the commands that show them)."""
    from convcost.traffic import measure

    return measure(spec, dtype)


def load_model(
    model: str,
    alpha: float | None,
    resolution: int | None,
    classes: int | None,
    batch: int | None,
    input_size: tuple[int, ...] | None = None,
    allow_unknown: bool = False,
) -> Model:
    """A zoo model built with the given arguments, a network read from a file (convcost.loading),
    or a torch module (``package.module:factory``) read at ``input_size``; ``batch`` replaces the
    model's own (a spec file's ``batch``, the first number of a torch ``--input-size``) only when given."""
    from convcost import loading

    spec = loading.load(
        model,
        batch=batch,
        alpha=alpha,
        resolution=resolution,
        classes=classes,
        input_size=input_size,
        allow_unknown=allow_unknown,
    )
    context = click.get_current_context(silent=True)
    if context is not None and loading.is_path(model):
        from convcost import modelfile  # a file was read: modelfile says how (a zoo name needs neither)

        context.meta[KERAS_FILE] = modelfile.READ_AS.get(model) == "keras" or model.lower().endswith(".keras")
        context.meta[MODEL_FILE] = model
    return spec


def _input_size(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    """``1,3,224,224`` -> (1, 3, 224, 224): channels-first, with the batch in front or without it."""
    if value is None:
        return None
    try:
        size = tuple(int(part) for part in value.split(","))
    except ValueError:
        size = ()
    if not size or min(size) < 1:
        raise click.BadParameter(f"expected positive integers separated by commas (1,3,224,224), got {value!r}")
    return size


input_size_option = click.option(
    "--input-size",
    callback=_input_size,
    metavar="N,C,H,W",
    help="The input of a torch module (package.module:factory), as torchinfo's input_size (C,H,W with --batch), "
    "or the size a Keras file leaves as None (channels-first; N,C,H,W with the batch).",
)
allow_unknown_option = click.option(
    "--allow-unknown",
    is_flag=True,
    help="Cost operations convcost cannot map (torch, ONNX) at zero (listed, totals marked as lower bounds) "
    "instead of refusing.",
)


def model_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """MODEL (zoo name, model file or package.module:factory) and --alpha/--resolution/--classes/
    --input-size/--batch/--allow-unknown, passed on as ``spec``."""

    @functools.wraps(command)
    def with_model(
        model: str,
        alpha: float | None,
        resolution: int | None,
        classes: int | None,
        input_size: tuple[int, ...] | None,
        batch: int | None,
        allow_unknown: bool,
        **rest: Any,
    ) -> Any:
        with unlimited():  # counts of any length print (arguments were parsed under Python's limit)
            spec = load_model(model, alpha, resolution, classes, batch, input_size, allow_unknown)
            return command(spec=spec, **rest)

    for option in reversed(
        (
            click.argument("model", default="mobilenet_v1"),
            click.option("--alpha", type=float, help="Width multiplier: every layer keeps int(channels * alpha)."),
            click.option(
                "--resolution", type=int, help="Input height and width in pixels (of a Keras file: where it says None)."
            ),
            click.option("--classes", type=int, help="Number of output classes."),
            input_size_option,
            click.option(
                "--batch",
                type=click.IntRange(min=1),
                help="Images per forward pass.  [default: the file's own (spec file, Keras N,C,H,W), else 1]",
            ),
            allow_unknown_option,
        )
    ):
        with_model = option(with_model)
    return with_model


def exact_digits(command: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command with Python's int-to-text limit lifted (convcost.digits): its arguments were
    parsed under the limit, its counts print at any length."""

    @functools.wraps(command)
    def lifted(*args: Any, **kwargs: Any) -> Any:
        with unlimited():
            return command(*args, **kwargs)

    return lifted


flops_option = click.option(
    "--flops",
    is_flag=True,
    help="Show FLOPs (2 x multiply-adds + the element-wise work the convention counts) instead of mult-adds.",
)

output_option = click.option(
    "--output", "-o", type=click.Path(dir_okay=False), help="Write to this file (atomically) instead of stdout."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="convcost")  # not package_name: reading the metadata cost 15 ms
@click.option("--debug", is_flag=True, help="Show the traceback of an internal error.")
def cli(debug: bool) -> None:
    """What a convolutional network costs (parameters, multiply-adds), layer by layer, and why."""


@cli.command()
@model_options
@click.option(
    "--convention",
    type=Choice(list(CONVENTION_NAMES)),
    default="paper",
    show_default=True,
    help="What the totals count: 'paper' (conv and FC only), 'keras' (count_params()), or the named tool's own rule.",
)
@click.option("--format", "fmt", type=Choice(FORMATS), default="table", show_default=True)
@click.option(
    "--depth",
    type=click.IntRange(min=1),
    help="Fold layers deeper than N path components into one row per block (sums), like torchinfo's depth.",
)
@click.option(
    "--dtype",
    type=Choice(list(DTYPE_BYTES)),
    default="float32",
    show_default=True,
    help="Value type for the memory columns (bytes per activation and parameter).",
)
@flops_option
@click.option(
    "--width",
    type=click.IntRange(min=0),
    metavar="N",
    help="Fit the table to N characters (0: no limit).  [default: on a terminal its width ($COLUMNS "
    "if set), else no limit]",
)
@click.option(
    "--columns",
    metavar="NAMES",
    help="The layer columns to show, comma-separated, as the header names them (e.g. Name,Params,Mult-Adds,Share).",
)
@click.option(
    "--hide-zero",
    is_flag=True,
    help="Leave out layers with no params and no mult-adds under the convention (the totals stay the model's).",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False),
    help="Also draw mult-adds and params per layer, coloured by kind (.svg, .png or .pdf; needs matplotlib).",
)
@output_option
@format_from_output
def table(
    spec: Model,
    convention: str,
    fmt: str,
    depth: int | None,
    dtype: str,
    flops: bool,
    width: int | None,
    columns: str | None,
    hide_zero: bool,
    plot: str | None,
    output: str | None,
) -> None:
    """Cost every layer of MODEL (default mobilenet_v1): params, mult-adds, shapes, shares, ratios.

    MODEL is a zoo name (`convcost models`), a spec file (.toml or .json), a Keras JSON config or an
    ONNX file (.onnx); - reads a spec file (TOML or JSON) from standard input.
    """
    from convcost.render import table as terminal
    from convcost.render.fit import wrap
    from convcost.render.text import Work

    work = Work(flops)
    options = (("--width", width is not None), ("--columns", columns is not None), ("--hide-zero", hide_zero))
    given = [flag for flag, value in options if value]
    if fmt != "table" and given:
        raise SpecError(f"{given[0]} applies to --format table only")
    chosen = terminal.choose_columns(columns, dtype, work) if columns is not None else None
    report = analyze(spec, convention)
    if depth is not None:
        from convcost.render.depth import collapse

        report = collapse(report, depth)
    if plot:
        from convcost.render.layer_plot import plot as draw

        draw(report, plot, work=work, hide_zero=hide_zero)
    if fmt == "table":
        layout = terminal.Layout(width=_table_width(width, output), columns=chosen, hide_zero=hide_zero)
        text = terminal.to_table(report, color=_wants_color() and output is None, dtype=dtype, work=work, layout=layout)
        text += wrap(_keras_note(spec, convention, fmt), layout.width)
    else:
        traffic = _traffic(spec, dtype) if fmt == "json" else None
        text = render(report, fmt, dtype=dtype, flops=flops, traffic=traffic) + _keras_note(spec, convention, fmt)
    write_output(text, output, drawing=fmt == "table")


def _table_width(width: int | None, output: str | None) -> int | None:
    """The width the table fits: --width (0: no limit); else the terminal's when stdout is one
    (``shutil`` reads $COLUMNS first, then asks the terminal); else no limit, so a pipe or a file
    gets every column, each padded only to its widest cell. $COLUMNS alone does not narrow a pipe:
    a parent that loaded GNU readline exports it to every child, whether or not anyone asked."""
    if width is not None:
        return width or None
    try:
        terminal = output is None and sys.stdout is not None and sys.stdout.isatty()
    except (OSError, ValueError):
        terminal = False
    if not terminal:
        return None
    import shutil

    return shutil.get_terminal_size().columns


def _keras_note(spec: Model, convention: str, fmt: str) -> str:
    """For a Keras config costed under the default convention: which one gives Keras's own count."""
    from click.core import ParameterSource

    context = click.get_current_context()
    if fmt not in ("table", "markdown") or not context.meta.get(KERAS_FILE) or convention != "paper":
        return ""
    if context.get_parameter_source("convention") is not ParameterSource.DEFAULT:
        return ""
    from convcost.render.text import exact

    keras = analyze(spec, "keras").totals.params
    note = (
        f"Note: this is a Keras model. --convention keras counts what its model.summary() reports "
        f"({exact(keras)} params); the default 'paper' counts conv and fully-connected weights only.\n"
    )
    return "\n" + (f"> {note}" if fmt == "markdown" else note)


@cli.command()
@click.option("--format", "fmt", type=Choice(["table", "json"]), default="table", show_default=True)
@output_option
@format_from_output
def models(fmt: str, output: str | None) -> None:
    """List the model zoo, one line each."""
    if fmt == "json":
        from convcost.render.document import json_text

        entries = [{"name": n, "summary": e.summary, "arguments": dict(e.arguments)} for n, e in ZOO.items()]
        write_output(json_text({"models": entries}), output)
        return
    width = max(len(name) for name in ZOO)
    lines = []
    for name, entry in ZOO.items():
        arguments = ", ".join(f"{k}={v}" for k, v in entry.arguments.items())
        lines.append(f"{name:<{width}}  {entry.summary}  [{arguments}]\n")
    write_output("".join(lines), output)


@cli.command()
@model_options
@click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the random weights and input."
)
@click.option("--format", "fmt", type=Choice(["table", "json"]), default="table", show_default=True)
@output_option
@format_from_output
def verify(spec: Model, seed: int, fmt: str, output: str | None) -> int:
    """Run MODEL in the NumPy reference; compare its counted params and mult-adds with the closed form.

    Exit status 1 when any layer disagrees.
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from convcost.render.escape import printable
    from convcost.verify import to_text
    from convcost.verify import verify as run_verify

    columns = (TextColumn("verify {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    console = Console(stderr=True)
    # the bar is for a person watching; a pipe or a log file gets only the result
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task(escape(printable(spec.name)), total=None)

        def advance(done: int, total: int, path: str) -> None:
            description = escape(printable(f"{spec.name} {path}"))  # a name is neither markup nor escapes
            bar.update(task, completed=done, total=total, description=description)

        result = run_verify(spec, seed=seed, progress=advance)
    if fmt == "json":
        from convcost.render.document import json_text

        text = json_text(result.to_dict())
    else:
        text = to_text(result, color=_wants_color() and output is None)
    write_output(text, output, drawing=fmt == "table")
    return 0 if result.passed else 1


@cli.command()
@model_options
@click.option(
    "--to",
    "fmt",
    type=Choice(["toml", "json"]),
    default="toml",
    show_default=True,
    help="The spec file's format (default: the --output file's suffix, else toml).",
)
@output_option
@format_from_output
def export(spec: Model, fmt: str, output: str | None) -> None:
    """Write MODEL as a spec file (TOML or JSON) to edit and read back with `convcost table FILE`."""
    from convcost.specfile import dumps

    write_output(dumps(spec, fmt), output)


@cli.command()
@click.argument("model", required=False)
@click.argument("layer", required=False)
@click.option("--kernel", type=int, help="Kernel size Dk.")
@click.option("--in", "channels_in", type=int, help="Input channels M.")
@click.option("--out", "channels_out", type=int, help="Output channels N.")
@click.option("--size", type=int, help="Input map height and width.")
@click.option("--stride", type=int, default=1, show_default=True)
@click.option("--alpha", type=float, help="Width multiplier of MODEL.")
@click.option("--resolution", type=int, help="Input resolution of MODEL.")
@click.option("--format", "fmt", type=Choice(["text", "json"]), default="text", show_default=True)
@output_option
@exact_digits
@format_from_output
def explain(
    model: str | None,
    layer: str | None,
    kernel: int | None,
    channels_in: int | None,
    channels_out: int | None,
    size: int | None,
    stride: int,
    alpha: float | None,
    resolution: int | None,
    fmt: str,
    output: str | None,
) -> None:
    """Standard vs depthwise separable cost of one layer, formulas with the numbers substituted.

    A layer of a model is explained with its own stride, padding and dilation.

    Either a geometry (--kernel 3 --in 512 --out 512 --size 14 [--stride 1]) or a layer of a model
    (convcost explain mobilenet_v1 conv_dw_7).
    """
    from convcost import explain as lesson

    geometry = {"--kernel": kernel, "--in": channels_in, "--out": channels_out, "--size": size}
    if model is not None:
        if layer is None:
            raise SpecError(f"explain {model}: name a layer too, e.g. `convcost explain {model} conv_dw_7`")
        if any(v is not None for v in geometry.values()):
            raise SpecError("explain takes either MODEL LAYER or --kernel/--in/--out/--size, not both")
        result = lesson.explain_layer(load_model(model, alpha, resolution, None, None), layer)
    else:
        missing = [flag for flag, value in geometry.items() if value is None]
        if missing:
            raise SpecError(f"explain needs {', '.join(missing)} (or MODEL LAYER)")
        result = lesson.explain(kernel, channels_in, channels_out, size, stride)  # type: ignore[arg-type]
    if fmt == "json":
        from convcost.render.document import json_text

        write_output(json_text(result.to_dict()), output)
    else:
        write_output(lesson.to_text(result), output)


@cli.command()
@click.argument("model", default="mobilenet_v1")
@click.option("--alpha", "alphas", help="Comma-separated width multipliers, e.g. 1,0.75,0.5,0.25.")
@click.option("--resolution", "resolutions", help="Comma-separated resolutions, e.g. 224,192,160,128.")
@click.option("--convention", type=Choice(list(CONVENTION_NAMES)), default="paper", show_default=True)
@click.option("--format", "fmt", type=Choice(FORMATS), default="table", show_default=True)
@click.option("--plot", type=click.Path(dir_okay=False), help="Also draw mult-adds against params (.svg or .png).")
@flops_option
@output_option
@exact_digits
@format_from_output
def sweep(
    model: str,
    alphas: str | None,
    resolutions: str | None,
    convention: str,
    fmt: str,
    plot: str | None,
    flops: bool,
    output: str | None,
) -> None:
    """Mult-adds and params of MODEL over a grid of alphas x resolutions (the paper's Tables 6 and 7)."""
    from convcost import sweep as grid
    from convcost.render.text import Work

    result = grid.sweep(
        model,
        grid.parse_list(alphas, float, "--alpha") if alphas is not None else None,
        grid.parse_list(resolutions, int, "--resolution") if resolutions is not None else None,
        convention,
        Work(flops),
    )
    if plot:
        grid.plot(result, plot)
    write_output(grid.render(result, fmt, color=_wants_color() and output is None), output, drawing=fmt == "table")


def _side_options(command: Callable[..., Any]) -> Callable[..., Any]:
    for side in ("b", "a"):
        for option in reversed(
            (
                click.option(f"--{side}-alpha", type=float, help=f"Width multiplier of {side.upper()}."),
                click.option(f"--{side}-resolution", type=int, help=f"Input resolution of {side.upper()}."),
                click.option(f"--{side}-classes", type=int, help=f"Classes of {side.upper()}."),
            )
        ):
            command = option(command)
    return command


def _variant(model: str, alpha: float | None, resolution: int | None, classes: int | None) -> str:
    given = {"alpha": alpha, "resolution": resolution, "classes": classes}
    arguments = ", ".join(f"{k} {v}" for k, v in given.items() if v is not None)
    return f"{model} ({arguments})" if arguments else model


@cli.command()
@click.argument("model_a")
@click.argument("model_b")
@_side_options
@click.option("--convention", type=Choice(list(CONVENTION_NAMES)), default="paper", show_default=True)
@click.option("--format", "fmt", type=Choice(FORMATS), default="table", show_default=True)
@flops_option
@output_option
@exact_digits
@input_size_option
@allow_unknown_option
@format_from_output
def compare(
    model_a: str,
    model_b: str,
    a_alpha: float | None,
    a_resolution: int | None,
    a_classes: int | None,
    b_alpha: float | None,
    b_resolution: int | None,
    b_classes: int | None,
    convention: str,
    fmt: str,
    flops: bool,
    output: str | None,
    input_size: tuple[int, ...] | None,
    allow_unknown: bool,
) -> None:
    """Two models or variants side by side, by stage and in total, with the ratio B/A.

    For example `convcost compare mobilenet_v1 mobilenet_v1_conv` (the paper's Table 4) or
    `convcost compare mobilenet_v1 mobilenet_v1_shallow --a-alpha 0.75` (Table 5).
    """
    from convcost import compare as side_by_side
    from convcost.loading import is_factory
    from convcost.render.text import Work

    def side(model: str, alpha: float | None, resolution: int | None, classes: int | None) -> Model:
        # --input-size is for the side that is a torch module (both, when both are)
        size = input_size if is_factory(model) else None
        return load_model(model, alpha, resolution, classes, None, size, allow_unknown)

    a = analyze(side(model_a, a_alpha, a_resolution, a_classes), convention)
    b = analyze(side(model_b, b_alpha, b_resolution, b_classes), convention)
    comparison = side_by_side.Comparison(
        a, b, _variant(model_a, a_alpha, a_resolution, a_classes), _variant(model_b, b_alpha, b_resolution, b_classes)
    )
    text = side_by_side.render(comparison, fmt, color=_wants_color() and output is None, work=Work(flops))
    write_output(text, output, drawing=fmt == "table")


@cli.command()
@model_options
@click.option(
    "--against",
    type=Choice(["keras", "torchinfo", "fvcore", "thop", "ptflops", "calflops", "all"]),
    default="all",
    show_default=True,
    help="The tool to run on the network built in its framework (all: every one installed).",
)
@click.option("--format", "fmt", type=Choice(["table", "json"]), default="table", show_default=True)
@output_option
@format_from_output
def crosscheck(spec: Model, against: str, fmt: str, output: str | None) -> int:
    """Build MODEL in the framework, run the real tool, and print ours beside theirs (exit 1 on a mismatch).

    Under --against all, a tool that is not installed, or whose framework cannot build the network
    (Keras refuses a strided dilated convolution), is skipped with a note; the others still run.
    With KERAS_BACKEND unset, Keras runs on torch (a line says so).
    """
    from convcost import crosscheck as checks
    from convcost.errors import MissingDependencyError, ToolRefusedError

    tools = checks.tools_for(spec) if against == "all" else (against,)
    checks.check_fits(spec, tools)
    chosen = checks.choose_keras_backend() if "keras" in tools else None
    notes = [chosen] if chosen else []
    results: list[checks.Check] = []
    skipped: list[tuple[str, str]] = []
    with _progress("crosscheck", len(tools)) as advance:
        for tool in tools:
            advance(tool)
            try:
                results += checks.crosscheck(spec, tool)
            except MissingDependencyError as e:
                if against != "all":
                    raise
                skipped.append((tool, str(e)))
            except ToolRefusedError as e:
                source = click.get_current_context().meta.get(MODEL_FILE)
                if against != "all":
                    raise ToolRefusedError(f"{source}: {e}" if source else str(e)) from None
                skipped.append((tool, str(e)))
    if not results:
        # one reason once, with the tools it stopped (torch missing stops all five torch tools)
        stopped: dict[str, list[str]] = {}
        for tool, reason in skipped:
            stopped.setdefault(reason, []).append(tool)
        reasons = "; ".join(f"{', '.join(names)}: {reason}" for reason, names in stopped.items())
        return _fail(f"crosscheck: no tool ran: {reasons}", EXIT_USAGE)
    if fmt == "json":
        from convcost.render.document import json_text

        text = json_text(checks.to_dict(spec, results, skipped, notes))
    else:
        from convcost.render.escape import printable

        text = f"{printable(spec.name)}, input {list(spec.input)}, batch {spec.batch}\n"
        text += "".join(f"{note}\n" for note in notes) + checks.format_checks(results)
        text += "".join(f"skipped: {reason}\n" for _, reason in skipped)
    write_output(text, output)
    if any(not c.ok for c in results):
        bad = sorted({f"{c.tool} {c.total}" for c in results if not c.ok})
        click.echo(f"convcost: mismatch: {', '.join(bad)}", err=True)
        return 1
    return 0


@contextlib.contextmanager
def _progress(verb: str, total: int) -> Any:
    """A bar on stderr for a person watching (a terminal only: a pipe or a log gets nothing);
    yields ``advance(step)``, called as each of the ``total`` steps starts."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn(f"{verb} {{task.description}}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    console = Console(stderr=True)
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("", total=total)
        done = -1

        def advance(step: str) -> None:
            nonlocal done
            done += 1
            bar.update(task, completed=done, description=escape(step))

        yield advance


def device_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--device / --peak-gflops + --bandwidth-gbs / --calibrate [--threads], passed on as ``device``."""

    @functools.wraps(command)
    def with_device(
        device: str | None,
        peak_gflops: str | None,
        bandwidth_gbs: str | None,
        calibrate: bool,
        threads: int | None,
        **rest: Any,
    ) -> Any:
        return command(device=choose_device(device, peak_gflops, bandwidth_gbs, calibrate, threads), **rest)

    for option in reversed(
        (
            click.option(
                "--device",
                type=Choice(list(PRESETS)),
                help=f"A named device (docs/roofline.md says where each number comes from); default {DEFAULT_DEVICE}.",
            ),
            click.option("--peak-gflops", help="The device's peak arithmetic rate, GFLOP/s (with --bandwidth-gbs)."),
            click.option("--bandwidth-gbs", help="The device's memory bandwidth, GB/s (with --peak-gflops)."),
            click.option(
                "--calibrate",
                is_flag=True,
                help="Measure this machine: NumPy float32 matmul peak and array-copy bandwidth (a few seconds).",
            ),
            click.option(
                "--threads",
                type=click.IntRange(min=1),
                help="With --calibrate: BLAS and copy threads (default: NumPy's own; needs threadpoolctl).",
            ),
        )
    ):
        with_device = option(with_device)
    return with_device


def choose_device(
    name: str | None, peak_gflops: str | None, bandwidth_gbs: str | None, calibrate: bool, threads: int | None
) -> Device:
    """The ``Device`` the options describe: a preset, the given rates, or this machine measured."""
    given = [flag for flag, value in (("--device", name), ("--peak-gflops", peak_gflops)) if value is not None]
    if calibrate:
        given.insert(0, "--calibrate")
    if bandwidth_gbs is not None and "--peak-gflops" not in given:
        given.append("--bandwidth-gbs")
    if len(given) > 1:
        raise SpecError(f"choose one way to give the device, not {' and '.join(given)}")
    if threads is not None and not calibrate:
        raise SpecError("--threads applies to --calibrate only")
    if (peak_gflops is None) != (bandwidth_gbs is None):
        raise SpecError("--peak-gflops and --bandwidth-gbs go together: give both")
    if calibrate:
        from convcost.calibrate import calibrate as calibrate_here  # imports NumPy: only now

        return calibrate_here(threads).device
    if peak_gflops is not None and bandwidth_gbs is not None:
        return device(peak_gflops, bandwidth_gbs)
    return preset(name or DEFAULT_DEVICE)


dtype_option = click.option(
    "--dtype",
    type=Choice(list(DTYPE_BYTES)),
    default="float32",
    show_default=True,
    help="Value type of activations and weights: bytes moved per value.",
)


@cli.command(name="roofline")
@model_options
@device_options
@dtype_option
@click.option("--format", "fmt", type=Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.option(
    "--kind",
    "kinds",
    type=Choice(list(KINDS)),
    multiple=True,
    help="List only layers of this kind (repeatable); the totals stay the whole network's.",
)
@click.option(
    "--plot", type=click.Path(dir_okay=False), help="Also draw the roofline (.svg, .png or .pdf; needs matplotlib)."
)
@output_option
@format_from_output
def roofline_command(
    spec: Model, device: Device, dtype: str, fmt: str, kinds: tuple[str, ...], plot: str | None, output: str | None
) -> None:
    """Bytes moved, arithmetic intensity, bound and predicted time of every layer of MODEL on a device.

    Each layer reads its inputs and weights and writes its output once; its time is
    max(FLOPs / peak, bytes / bandwidth). The device is --device NAME, --peak-gflops with
    --bandwidth-gbs, or --calibrate (measured here with NumPy); default cpu_core.
    """
    from convcost.render import roofline as rendering
    from convcost.roofline import roofline

    result = roofline(_traffic(spec, dtype), device)
    if plot:
        rendering.plot(result, plot)
    text = rendering.render(result, fmt, color=_wants_color() and output is None, kinds=frozenset(kinds) or None)
    write_output(text, output, drawing=fmt == "table")


@cli.command(name="report")
@model_options
@device_options
@click.option(
    "--convention",
    type=Choice(list(CONVENTION_NAMES)),
    default="paper",
    show_default=True,
    help="What the params and mult-adds columns count (as for `convcost table`).",
)
@dtype_option
@output_option
def report_command(spec: Model, device: Device, convention: str, dtype: str, output: str | None) -> None:
    """One self-contained HTML page for MODEL: layers, kinds, bars, the roofline, separable pairs.

    The page needs no network; its numbers are those of `convcost table --format json` and
    `convcost roofline --format json`. Write it with -o model.html.
    """
    named = SUFFIX_FORMATS.get(Path(output).suffix.lower()) if output else None
    if named is not None:  # -o report.json would be an HTML page under a JSON name
        raise SpecError(f"--output {output}: report writes HTML (for {named}, convcost table --format {named})")
    from convcost.render.html import to_html
    from convcost.roofline import roofline

    report = analyze(spec, convention)
    result = roofline(_traffic(spec, dtype), device)
    write_output(to_html(report, result), output)


def _fail(message: str, code: int) -> int:
    """The one line on stderr: non-printable characters (a name's escapes, line breaks) escaped."""
    from convcost.render.escape import printable

    with contextlib.suppress(OSError, ValueError):  # a closed or broken stderr: the exit status still says it
        click.echo(f"convcost: error: {printable(message)}", err=True)
    return code


def _interrupted() -> int:
    from convcost.interrupt import interrupted_line

    with contextlib.suppress(OSError, ValueError, AttributeError):
        sys.stderr.write(interrupted_line(sys.stderr))
        sys.stderr.flush()
    return EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; map every error to one line and an exit status instead of a traceback."""
    from convcost.interrupt import Terminated, terminating_signals_raise
    from convcost.stdout import Guard, silence

    args = list(sys.argv[1:] if argv is None else argv)
    real_stdout = sys.stdout
    sys.stdout = Guard(real_stdout)  # type: ignore[assignment]  # click's own output (help) goes through emit too
    try:
        with terminating_signals_raise():
            return _run(args)
    except KeyboardInterrupt:
        return _interrupted()
    except Terminated as e:
        return _fail(f"terminated by {e.name}", 128 + e.signum)
    except BrokenPipeError:
        # the reader went away (`| head`): not an error of ours, and nothing more to say
        silence(real_stdout)
        return 0
    finally:
        sys.stdout = real_stdout


def _run(args: list[str]) -> int:
    try:
        with cli.make_context("convcost", list(args)) as context:  # click consumes the list it parses
            result = cli.invoke(context)
    except click.exceptions.NoArgsIsHelpError as e:
        write_output((e.ctx.get_help() if e.ctx else str(e)) + "\n", None)
        return 0
    except click.exceptions.Exit as e:  # --help, --version
        return e.exit_code
    except click.ClickException as e:
        return _fail(e.format_message().replace("\n", " "), e.exit_code)
    except click.Abort:
        return _interrupted()
    except ConvcostError as e:
        return _fail(str(e), EXIT_USAGE)
    except (KeyboardInterrupt, BrokenPipeError):
        raise
    except Exception as e:
        if "--debug" in args:
            import traceback

            traceback.print_exc()
        return _fail(
            f"internal error ({type(e).__name__}: {e}). This is a bug in convcost: please report it "
            "with the command you ran (add --debug for the traceback).",
            EXIT_INTERNAL,
        )
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
