"""from_torch on user modules: one hand-written module per idiom, read by capture and held against the
five tools run on the same module (tests/torch_models.py), and what the reader promises besides.

Independent sources: torchinfo, fvcore, thop, ptflops and calflops themselves; ``sum(p.numel())``;
torch's own FlopCounterMode for the multiply-adds of convolutions and matrix products; the module's
state before and after.
"""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch_models import IDIOMS, DataDependent, SharedWeights, Unsupported

from convcost import analyze, from_torch
from convcost.cli import main
from convcost.crosscheck import measure_module
from convcost.errors import SpecError, UnsupportedLayerError
from convcost.render import render
from convcost.render.depth import collapse

TOOLS = ("torchinfo", "fvcore", "thop", "ptflops", "calflops")


def run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("name", list(IDIOMS))
def test_every_idiom_reads_and_matches_every_tool(name: str) -> None:
    """Each tool on the module as it comes (training mode, a fresh copy per tool: the tools leave
    state behind) against our convention of the same name, to the unit; params once per tensor."""
    entry = IDIOMS[name]
    module = entry.factory()
    params = sum(p.numel() for p in module.parameters())
    if entry.missing():
        with pytest.raises(UnsupportedLayerError, match="cannot map"):
            from_torch(module, entry.input_size)
        # costed without them: every parameter is still counted, the totals say they are a lower bound
        model = from_torch(module, entry.input_size, strict=False)
        assert analyze(model, "fvcore").totals.params == params
        assert analyze(model).lower_bound
        return
    model = from_torch(module, entry.input_size)
    assert not analyze(model).lower_bound
    assert analyze(model, "fvcore").totals.params == params
    for tool in TOOLS:
        theirs = measure_module(entry.factory(), entry.input_size, tool)
        ours = analyze(model, tool).totals.to_dict()
        assert {total: ours[total] for total in theirs} == theirs, tool


def _flop_counter(module: nn.Module, size: tuple[int, ...]) -> tuple[int, Any]:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        model = from_torch(module, size)
    return counter.get_total_flops(), model


@pytest.mark.parametrize("name", [n for n, e in IDIOMS.items() if not e.missing()])
def test_conv_and_matmul_multiply_adds_are_torchs_flop_counter(name: str) -> None:
    """torch.utils.flop_counter counts the convolutions and matrix products the forward ran (2 FLOPs
    each): the paper's multiply-adds of what was read, twice."""
    entry = IDIOMS[name]
    flops, model = _flop_counter(entry.factory(), entry.input_size)
    assert 2 * analyze(model, "paper").totals.macs == flops


def _state(module: nn.Module) -> dict[str, Any]:
    return {
        "tensors": {k: (v, v.detach().clone()) for k, v in module.state_dict(keep_vars=True).items()},
        "versions": {k: v._version for k, v in module.state_dict(keep_vars=True).items()},
        "requires_grad": {k: p.requires_grad for k, p in module.named_parameters()},
        "training": {n: m.training for n, m in module.named_modules()},
        "rng": torch.random.get_rng_state(),
        "functional": dict(vars(torch.nn.functional)),
        "methods": {name: getattr(torch.Tensor, name) for name in ("add", "mul", "matmul")},
        "hooks": sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in module.modules()),
    }


@pytest.mark.parametrize(
    "name", ["a forward that makes tensors and writes a slice", "BN fused with its activation (timm BatchNormAct2d)"]
)
def test_the_module_is_left_as_it_was(name: str) -> None:
    """Values, tensor objects, version counters, training flags (a frozen BN inside a training model
    too), RNG, hooks and torch's own functions: all as they were (the forward counts its calls in a
    buffer, BN tracks batches in training, the capture wraps F.relu and Tensor.add)."""
    entry = IDIOMS[name]
    module = entry.factory()
    next(m for m in module.modules() if m is not module).eval()
    before = _state(module)
    from_torch(module, entry.input_size, strict=False)
    after = _state(module)
    for key, (tensor, value) in before["tensors"].items():
        assert after["tensors"][key][0] is tensor and torch.equal(after["tensors"][key][1], value), key
    for key in ("versions", "requires_grad", "training", "functional", "methods", "hooks"):
        assert after[key] == before[key], key
    assert torch.equal(after["rng"], before["rng"])


def test_module_paths_name_the_nodes_and_depth_folds_by_them() -> None:
    entry = IDIOMS["squeeze-excite"]
    module = entry.factory()
    model = from_torch(module, entry.input_size)
    assert [path for path, _ in model.layers()] == [
        "conv/0",
        "conv/1",
        "conv/2",
        "mean",
        "reduce",
        "silu",
        "expand",
        "gate",
        "mul",
    ]
    folded = collapse(analyze(model), 1)
    assert [row.path for row in folded.rows] == ["conv", "mean", "reduce", "silu", "expand", "gate", "mul"]
    # every node is a module (its path) or an op of one (the module path, then the op)
    paths = {name.replace(".", "/") for name, _ in module.named_modules()}
    assert all(p in paths or p.rsplit("/", 1)[0] in paths or "/" not in p for p, _ in model.layers())


def test_a_module_called_twice_and_a_tied_weight_share_weights() -> None:
    module = SharedWeights()
    model = from_torch(module, (1, 3, 16, 16))
    nodes = model.graph.by_name
    assert nodes["shared_1"].shares == "shared" and nodes["tail"].shares == "head"
    params = sum(p.numel() for p in module.parameters())  # the tied tensor once
    assert analyze(model, "paper").totals.params == params
    # torchinfo counts the tied tensor in each module that holds it, and so does its convention
    assert (
        analyze(model, "torchinfo").totals.params
        == params + 64
        == measure_module(module, (1, 3, 16, 16), "torchinfo")["params"]
    )


def test_every_unsupported_op_is_named_at_once() -> None:
    with pytest.raises(UnsupportedLayerError) as refused:
        from_torch(Unsupported(), (1, 3, 8, 8))
    message = str(refused.value)
    assert message.startswith("Unsupported: 3 operations convcost cannot map: ")
    assert "<root> (Unsupported) aten.cos: no rule maps this op" in message
    assert "inner.1 (SinModule) aten.sin" in message
    assert "<root> (Unsupported) aten.add: alpha=2 times a tensor" in message
    assert "\n" not in message


def test_strict_false_costs_them_at_zero_and_keeps_their_weights() -> None:
    module = Unsupported()
    model = from_torch(module, (1, 3, 8, 8), strict=False)
    report = analyze(model)
    assert report.unknown == ("cos", "inner/1", "add") and report.lower_bound
    unknown = model.graph.by_name["add"].layer
    assert unknown.params == (("weight", (4, 1, 1), True),)  # type: ignore[attr-defined]
    assert analyze(model, "keras").totals.params == sum(p.numel() for p in module.parameters())
    assert (
        report.totals.macs == analyze(from_torch(nn.Sequential(module.stem, module.inner[0]), (1, 3, 8, 8))).totals.macs
    )


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "json"])
def test_every_format_marks_the_totals_as_lower_bounds(fmt: str) -> None:
    report = analyze(from_torch(Unsupported(), (1, 3, 8, 8), strict=False))
    text = render(report, fmt, color=False)
    if fmt == "json":
        data = json.loads(text)
        assert data["lower_bound"] is True and data["unknown"] == ["cos", "inner/1", "add"]
    elif fmt == "csv":
        assert text.splitlines()[-1] == "# a lower bound: 3 unknown operations cost zero (rows of kind unknown)"
    else:
        assert "a lower bound: 3 unknown operations cost zero" in text
        assert "aten.sin" in text.split("Total")[0]  # listed before the totals


def test_data_dependent_code_is_refused_naming_the_module() -> None:
    with pytest.raises(UnsupportedLayerError, match=r"DataDependent.*aten\._local_scalar_dense.*meta tensors"):
        from_torch(DataDependent(), (1, 3, 16, 16))


def test_input_size_follows_torchinfo() -> None:
    module = IDIOMS["squeeze-excite"].factory()
    with_batch = from_torch(module, (2, 3, 16, 16))
    separate = from_torch(module, (3, 16, 16), batch=2)
    assert with_batch.batch == separate.batch == 2 and with_batch.input == separate.input == (3, 16, 16)
    assert analyze(with_batch, "thop").totals == analyze(separate, "thop").totals
    for bad in ((), (0, 3, 8, 8), (3.0, 8, 8), "1,3,8,8"):
        with pytest.raises(SpecError, match="input_size"):
            from_torch(module, bad)  # type: ignore[arg-type]
    # three numbers and no batch are torchinfo's (N, C, L): a 2-D convnet refuses them, and the refusal says how
    with pytest.raises(UnsupportedLayerError, match=r"3,16,16 is read as N,C,L.*give 1,3,16,16, or a batch"):
        from_torch(module, (3, 16, 16))


def test_the_front_door_takes_input_size_by_keyword() -> None:
    """``convcost.from_torch`` (which imports torch lazily) is the reader, by keyword as torchinfo's."""
    import convcost

    module = IDIOMS["squeeze-excite"].factory()
    model = convcost.from_torch(module, input_size=(1, 3, 16, 16), name="se")
    assert model.name == "se" and model.input == (3, 16, 16)
    assert analyze(model, "torchinfo").totals.params == sum(p.numel() for p in module.parameters())


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_fast_shape_rules_are_the_meta_kernels(seed: int) -> None:
    """The shortcuts the capture takes for BatchNorm and element-wise ops give the meta kernels'
    output (shape, strides, dtype), and answer nothing where the kernel raises."""
    from convcost.interop.fast_shapes import check

    cases, _ = check(60, seed)
    assert cases == 60


def test_the_record_is_the_same_without_the_fast_rules() -> None:
    from convcost.interop.capture import capture

    module = IDIOMS["a fork, a three-way add, in-place add_ / mul_ / relu_"].factory()
    fast, slow = capture(module, (1, 3, 16, 16)), capture(module, (1, 3, 16, 16), fast_shape_rules=False)
    assert [(o.target, o.arguments, o.inputs, o.outputs) for o in fast.ops] == [
        (o.target, o.arguments, o.inputs, o.outputs) for o in slow.ops
    ]


# ---------------------------------------------------------------------------------------- the CLI


def test_cli_reads_a_factory_at_an_input_size() -> None:
    code, out, err = run(["table", "torch_models:SqueezeExcite", "--input-size", "2,3,16,16", "--format", "csv"])
    assert (code, err) == (0, "")
    assert out.splitlines()[1].startswith("conv/0,0,conv,")
    code, out, err = run(["table", "torch_models:SqueezeExcite", "--input-size", "3,16,16", "--batch", "2"])
    assert code == 0 and "batch 2" in out
    code, out, err = run(["table", "torch_models:SqueezeExcite", "--input-size", "3,224,224", "--batch", "1"])
    assert (code, err) == (0, "") and "batch 1" in out
    code, out, err = run(["table", "torch_models:SqueezeExcite", "--input-size", "3,224,224"])
    assert code == 2 and out == "" and "give 1,3,224,224, or a batch (--batch" in err and err.count("\n") == 1


@pytest.mark.parametrize("command", ["verify", "crosscheck"])
def test_cli_verify_and_crosscheck_take_a_factory(command: str) -> None:
    code, out, err = run([command, "torch_models:SqueezeExcite", "--input-size", "1,3,16,16"])
    assert (code, err) == (0, "")
    if command == "crosscheck":  # the five tools, run on the module itself
        assert out.count(" ok") == 11 and "keras" not in out


def test_cli_compare_takes_a_factory() -> None:
    code, out, _ = run(
        ["compare", "torch_models:SqueezeExcite", "torch_models:FusedBatchNormAct", "--input-size", "1,3,16,16"]
    )
    assert code == 0 and "A: torch_models:SqueezeExcite" in out


def test_cli_allow_unknown() -> None:
    code, _, err = run(["table", "torch_models:Unsupported", "--input-size", "1,3,8,8"])
    assert code == 2 and "3 operations convcost cannot map" in err and err.count("\n") == 1
    code, out, err = run(["table", "torch_models:Unsupported", "--input-size", "1,3,8,8", "--allow-unknown"])
    assert (code, err) == (0, "") and "Unknown operations, costed at zero" in out


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["table", "torch_models:SqueezeExcite"], "give its input size, --input-size N,C,H,W"),
        (["table", "no_such_package.models:net", "--input-size", "1,3,8,8"], "cannot import no_such_package.models"),
        (["table", "torch_models:NEVER", "--input-size", "1,3,8,8"], "has no callable 'NEVER'"),
        (["table", "torch_models:Entry", "--input-size", "1,3,8,8"], "Entry() raised TypeError"),
        (["table", "torch_models:F", "--input-size", "1,3,8,8"], "has no callable 'F'"),
        (
            ["table", "mobilenet_v1", "--input-size", "1,3,8,8"],
            "--input-size applies to model files that leave a size open and to torch factories",
        ),
        (["table", "torch_models:SqueezeExcite", "--input-size", "1,x"], "positive integers separated by commas"),
        (["table", "torch_models:SqueezeExcite", "--input-size", "1,3,8,8", "--alpha", "0.5"], "--alpha apply to zoo"),
    ],
)
def test_cli_factory_mistakes_are_one_line(argv: list[str], needle: str) -> None:
    code, out, err = run(argv)
    assert code == 2 and out == "" and needle in err and err.count("\n") == 1


def test_torch_doc_examples_run() -> None:
    import re
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "torch.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "docs/torch.md", "exec"), {})
