"""Ours beside theirs: build a spec in the framework, run the real tool, compare every total.

Each tool is imported only when asked for; a tool that is not installed is a
``MissingDependencyError`` (one line, exit 2 from the CLI) naming the pip package.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

from convcost.errors import ConvcostError, MissingDependencyError, ToolRefusedError, UnknownConventionError
from convcost.record import record
from convcost.report import analyze
from convcost.spec import Model, elements

#: the tools ``crosscheck --against`` knows, in the order ``all`` runs them
TOOLS = ("keras", "torchinfo", "fvcore", "thop", "ptflops", "calflops")


def tools_for(model: Model) -> tuple[str, ...]:
    """The tools ``--against all`` runs: the torch tools only, for a model read from a torch module
    (they run on that module; there is no Keras model to count)."""
    from convcost.interop.torch import read_from

    return TOOLS[1:] if read_from(model) is not None else TOOLS


#: pip package of each tool (for the message when it is missing)
_PACKAGES = {
    "keras": "keras",
    "torchinfo": "torchinfo",
    "fvcore": "fvcore",
    "thop": "thop",
    "ptflops": "ptflops",
    "calflops": "calflops transformers",
}


#: bytes per value of the models and inputs crosscheck builds (float32)
_VALUE_BYTES = 4


def memory_needed(model: Model, tool: str) -> int:
    """A lower bound on what building ``model`` for ``tool`` allocates: its weights, and for the torch
    tools, which run a forward pass, the activations alive at once and the input batch."""
    report = analyze(model, "keras")
    weights = _VALUE_BYTES * report.totals.params
    if tool == "keras":  # count_params() builds the layers; nothing runs
        return weights
    return weights + _VALUE_BYTES * (report.peak_activations + model.batch * elements(model.input))


def check_fits(model: Model, tools: tuple[str, ...]) -> None:
    """Refuse, naming the size, a model that the tools' frameworks could not allocate here."""
    from convcost import budget

    known = [tool for tool in tools if tool in TOOLS]
    if known:
        tool = max(known, key=lambda t: memory_needed(model, t))
        budget.check(memory_needed(model, tool), f"crosscheck: {model.name} built for {tool}")


def _built(tool: str, build: Callable[[], Any]) -> Any:
    """``build()``, with the framework's refusal (a ValueError from Keras, ...) as a ``ToolRefusedError``."""
    framework = "Keras" if tool == "keras" else "torch"
    try:
        return build()
    except (ValueError, TypeError, NotImplementedError) as e:
        detail = " ".join(str(e).split())
        raise ToolRefusedError(f"{tool}: {framework} cannot build this network: {detail}") from None


@record
class Check:
    """One total of one tool: ours under the tool's convention, and the tool's own figure."""

    tool: str
    total: str
    ours: int
    theirs: int

    @property
    def ok(self) -> bool:
        return self.ours == self.theirs

    def to_dict(self) -> dict[str, Any]:
        return {"tool": self.tool, "total": self.total, "convcost": self.ours, "tool_says": self.theirs, "ok": self.ok}


def to_dict(model: Model, checks: list[Check], skipped: list[tuple[str, str]], notes: list[str]) -> dict[str, Any]:
    """A crosscheck's JSON form (docs/json.md): every total checked, the tools skipped and why."""
    return {
        "model": model.name,
        "input": list(model.input),
        "batch": model.batch,
        "passed": all(c.ok for c in checks),
        "checks": [c.to_dict() for c in checks],
        "skipped": [{"tool": tool, "reason": reason} for tool, reason in skipped],
        "notes": notes,
        "tool_words": {tool: TOOL_WORDS[tool] for tool in dict.fromkeys(c.tool for c in checks)},
    }


def _import(tool: str, module: str) -> Any:
    import importlib
    import importlib.util

    try:
        return importlib.import_module(module)
    except ImportError as e:
        if importlib.util.find_spec(module.split(".")[0]) is None:
            raise MissingDependencyError(
                f"{tool} is not installed: pip install {_PACKAGES[tool]} (crosscheck runs the real tool)"
            ) from None
        # installed but not importable: Keras without a backend is the usual case
        hints = {
            "keras": " (Keras 3 needs a backend: KERAS_BACKEND=torch uses PyTorch)",
            "calflops": " (calflops imports transformers: pip install transformers)",
        }
        hint = hints.get(tool, "")
        raise MissingDependencyError(f"{tool} is installed but cannot be imported: {e}{hint}") from None


def choose_keras_backend() -> str | None:
    """Run Keras on torch when nothing chose its backend (KERAS_BACKEND unset, Keras not imported
    yet): Keras 3 otherwise wants TensorFlow, which convcost's set-up does not install, and
    count_params() is the same on every backend. Returns the line saying so, or None."""
    import importlib.util

    if "keras" in sys.modules or os.environ.get("KERAS_BACKEND"):
        return None
    if importlib.util.find_spec("keras") is None or importlib.util.find_spec("torch") is None:
        return None
    os.environ["KERAS_BACKEND"] = "torch"
    return "Keras runs on torch here (KERAS_BACKEND is unset; set it to choose another backend)"


def _torch_model(model: Model) -> tuple[Any, Any]:
    from convcost.interop.torch import to_torch

    torch = _import_torch()
    module = _built("torch", lambda: to_torch(model).eval())
    return module, torch.zeros(model.batch, *model.input)


def _import_torch() -> Any:
    import importlib

    try:
        return importlib.import_module("torch")
    except ImportError:
        raise MissingDependencyError("torch is not installed: pip install 'convcost[torch]'") from None


def _quiet(call: Callable[[], Any]) -> Any:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return call()


def measure(model: Model, tool: str) -> dict[str, int]:
    """The tool's own totals for ``model`` built by convcost.interop: ``params`` and ``macs``
    (calflops: and ``flops``; keras: ``params``, ``trainable``, ``non_trainable``)."""
    if tool == "keras":
        choose_keras_backend()
        _import("keras", "keras")
        from convcost.interop.keras import to_keras

        built = _built("keras", lambda: to_keras(model))
        trainable = sum(_numel(w) for w in built.trainable_weights)
        non_trainable = sum(_numel(w) for w in built.non_trainable_weights)
        return {"params": int(built.count_params()), "trainable": trainable, "non_trainable": non_trainable}
    if tool not in TOOLS:
        raise UnknownConventionError(f"unknown tool {tool!r} (known: {', '.join(TOOLS)}, all)")
    module, x = _torch_model(model)
    return _run_torch_tool(tool, module, tuple(x.shape))


def measure_module(module: Any, input_size: tuple[int, ...], tool: str) -> dict[str, int]:
    """The tool's own totals for a torch module as it comes (``input_size`` is ``(N, C, H, W)``).

    The tool runs on the module in its own mode (fvcore traces it so; the others switch to eval);
    every submodule's mode is restored afterwards, since ptflops and calflops leave it in eval.
    """
    if tool not in TOOLS or tool == "keras":
        raise UnknownConventionError(f"unknown torch tool {tool!r} (known: {', '.join(TOOLS[1:])}, all)")
    flags = [(m, m.training) for m in module.modules()]
    try:
        return _run_torch_tool(tool, module, input_size)
    except (MissingDependencyError, UnknownConventionError):
        raise
    except Exception as e:  # the tool itself fails on this module (fvcore in training mode on 1x1 maps, ...)
        detail = " ".join(str(e).split())
        raise MissingDependencyError(f"{tool} failed on this module: {type(e).__name__}: {detail}") from None
    finally:
        for m, flag in flags:
            m.training = flag


@contextlib.contextmanager
def _functions_restored() -> Iterator[None]:
    """torch.nn.functional and the torch functions the tools patch, as they were before the tool ran:
    calflops leaves its patches in place when it raises (and a later ptflops run then fails)."""
    from convcost.interop.capture import WRAPPED

    torch = _import_torch()
    owners = {"F": torch.nn.functional, "torch": torch, "Tensor": torch.Tensor}
    saved = [
        (owners[owner], name, getattr(owners[owner], name)) for owner, name in WRAPPED if hasattr(owners[owner], name)
    ]
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def _run_torch_tool(tool: str, module: Any, size: tuple[int, ...]) -> dict[str, int]:
    with _functions_restored():
        return _run_tool(tool, module, size)


def _run_tool(tool: str, module: Any, size: tuple[int, ...]) -> dict[str, int]:
    torch = _import_torch()
    if tool == "torchinfo":
        torchinfo = _import(tool, "torchinfo")
        stats = _quiet(lambda: torchinfo.summary(module, input_data=torch.zeros(size), verbose=0))
        return {"params": int(stats.total_params), "macs": int(stats.total_mult_adds)}
    if tool == "fvcore":
        fvcore_nn = _import(tool, "fvcore.nn")
        analysis = fvcore_nn.FlopCountAnalysis(module, torch.zeros(size))
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        total = _quiet(analysis.total)
        return {"params": int(fvcore_nn.parameter_count(module)[""]), "macs": int(total)}
    if tool == "thop":
        thop = _import(tool, "thop")
        ops, params = _quiet(lambda: thop.profile(module, (torch.zeros(size),), verbose=False))
        return {"params": int(params), "macs": int(ops)}
    if tool == "ptflops":
        ptflops = _import(tool, "ptflops")
        macs, params = _quiet(
            lambda: ptflops.get_model_complexity_info(
                module, tuple(size[1:]), as_strings=False, print_per_layer_stat=False, backend="pytorch"
            )
        )
        if macs is None:
            raise MissingDependencyError("ptflops failed on this model (it printed the reason)")
        return {"params": int(params), "macs": int(macs)}
    calflops = _import(tool, "calflops")
    probe = None
    if not any(True for _ in module.parameters()):
        # calflops asks the first parameter for the device and dtype; an empty one counts nothing
        probe = torch.nn.Parameter(torch.empty(0))
        module.register_parameter("device_probe", probe)
    try:
        # the input as an argument: calflops refuses input_shape for a Hugging Face model
        with _calflops_undone_on_failure():
            flops, macs, params = _quiet(
                lambda: calflops.calculate_flops(
                    model=module,
                    args=[torch.zeros(size)],
                    output_as_string=False,
                    print_results=False,
                    print_detailed=False,
                )
            )
    finally:
        if probe is not None:
            del module._parameters["device_probe"]
    return {"params": int(params), "macs": int(macs), "flops": int(flops)}


@contextlib.contextmanager
def _calflops_undone_on_failure() -> Any:
    """calflops replaces torch.nn.functional's and torch's functions while it runs and does not put
    them back when it fails (a non-square upsampling scale at a batch other than 2 raises TypeError
    inside it): put them back, and say which tool failed."""
    torch = _import_torch()
    functional = dict(vars(torch.nn.functional))
    names = ("matmul", "mm", "bmm", "addmm", "baddbmm", "mul", "add", "einsum")
    functions = {name: getattr(torch, name) for name in names}
    methods = {name: getattr(torch.Tensor, name) for name in names if hasattr(torch.Tensor, name)}
    try:
        yield
    except Exception as e:
        for name, function in functional.items():
            setattr(torch.nn.functional, name, function)
        for name, function in functions.items():
            setattr(torch, name, function)
        for name, method in methods.items():
            setattr(torch.Tensor, name, method)
        detail = " ".join(str(e).split())
        raise MissingDependencyError(f"calflops failed on this model: {type(e).__name__}: {detail}") from None


def _numel(weight: Any) -> int:
    import math

    return math.prod(int(d) for d in weight.shape)


def crosscheck(model: Model, tool: str) -> list[Check]:
    """Every total of ``tool`` against ours under the convention of the same name.

    A model read from a torch module (``from_torch``) is checked against the tool run on that
    module; any other is built in the framework first. A network whose framework cannot allocate
    it is a ``ConvcostError`` naming the size needed (refused before building when this machine
    says how much memory it has).
    """
    from convcost import budget
    from convcost.interop.torch import read_from

    module = read_from(model)
    check_fits(model, (tool,))
    try:
        if module is not None and tool != "keras":
            theirs = measure_module(module, (model.batch, *model.input), tool)
        else:
            theirs = measure(model, tool)
    except MemoryError:
        needed = budget.describe(memory_needed(model, tool))
        raise ConvcostError(
            f"crosscheck: {tool} ran out of memory on {model.name} (it needs at least {needed})"
        ) from None
    except RuntimeError as e:
        if "alloc" not in str(e):  # torch's DefaultCPUAllocator: "can't allocate memory"
            raise
        needed = budget.describe(memory_needed(model, tool))
        raise ConvcostError(
            f"crosscheck: {tool} could not allocate {model.name} (it needs at least {needed})"
        ) from None
    totals = analyze(model, tool).totals.to_dict()
    return [Check(tool, total, totals[total], value) for total, value in theirs.items()]


#: what each tool calls the totals it prints: every tool's "macs" counts one per multiply-add
TOOL_WORDS = {
    "torchinfo": "Total mult-adds (whole batch)",
    "fvcore": "FlopCountAnalysis.total(), 'flops' = multiply-adds (whole batch)",
    "thop": "profile() MACs (whole batch)",
    "ptflops": "MACs, one sample whatever the batch",
    "calflops": "calculate_flops() MACs and FLOPs = 2 x MACs + element-wise work (whole batch)",
    "keras": "count_params()",
}


def format_checks(checks: list[Check]) -> str:
    """Ours beside theirs, one line per total, with a pass/fail mark."""
    from convcost.render.text import exact

    header = ("tool", "total", "convcost", "tool says", "")
    lines = [header] + [(c.tool, c.total, exact(c.ours), exact(c.theirs), "ok" if c.ok else "MISMATCH") for c in checks]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    right = {2, 3}
    out = []
    for line in lines:
        cells = [
            cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ]
        out.append("  ".join(cells).rstrip())
    tools = dict.fromkeys(c.tool for c in checks)
    out.append("")
    out += [f"{tool}: {TOOL_WORDS[tool]}" for tool in tools]
    return "\n".join(out) + "\n"
