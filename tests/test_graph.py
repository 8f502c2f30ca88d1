"""Networks as graphs: cross edges, n-way merges, several outputs, checked against independent counts.

Independent sources: counts derived here by hand from the paper's formulas, the NumPy reference's
own count (``convcost verify``), and the five torch tools run on the ``to_torch`` build.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_conventions_tools import TOOLS, run_calflops, run_tool

from convcost import analyze, specfile
from convcost.cli import main
from convcost.errors import GraphError, SpecError
from convcost.graph import GraphBuilder
from convcost.interop.torch import to_torch
from convcost.model import Model
from convcost.reference import run
from convcost.spec import (
    Activation,
    Add,
    BatchNorm,
    Concat,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    GlobalAvgPool2D,
    MaxPool2D,
    Sequential,
)
from convcost.verify import verify

ROOT = Path(__file__).resolve().parent.parent
SKIPS = ROOT / "examples" / "graph_skips.toml"


def test_a_graph_that_is_not_a_tree_is_exact() -> None:
    """examples/graph_skips.toml: the stem feeds a three-way add and a concat across branches."""
    model = specfile.load(SKIPS)
    report = analyze(model)
    H = W = 32
    stem = 3 * 3 * 3 * 16 * H * W
    a = 3 * 3 * 16 * 16 * H * W
    b = 3 * 3 * 16 * H * W + 16 * 16 * H * W  # depthwise, then pointwise
    fc = 48 * 10
    assert report.totals.macs == stem + a + b + fc
    params = (3 * 3 * 3 * 16 + 16) + (3 * 3 * 16 * 16 + 16) + 3 * 3 * 16 + (16 * 16 + 16) + (48 * 10 + 10)
    assert report.totals.params == params
    rows = {r.path: r for r in report.rows}
    assert rows["sum3"].inputs == ((16, H, W),) * 3
    assert rows["cat"].output == (48, H, W)
    (pair,) = report.separable
    assert (pair.depthwise, pair.pointwise) == ("b_dw", "b_pw")
    assert verify(model).passed
    for tool in TOOLS:
        totals = analyze(model, tool).totals
        if tool == "calflops":
            assert (totals.params, totals.macs, totals.flops) == run_calflops(to_torch(model).eval(), model)
        else:
            assert (totals.params, totals.macs) == run_tool(tool, to_torch(model), model), tool


def test_the_cli_reads_verifies_and_crosschecks_the_graph(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", str(SKIPS)]) == 0
    assert "PASS: all 8 layers agree" in capsys.readouterr().out
    assert main(["crosscheck", str(SKIPS), "--against", "torchinfo"]) == 0
    assert "MISMATCH" not in capsys.readouterr().out


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_a_graph_round_trips_through_export(fmt: str, tmp_path: Path) -> None:
    model = specfile.load(SKIPS)
    text = specfile.dumps(model, fmt)
    assert '"inputs"' in text or "inputs = " in text
    assert specfile.loads(text, fmt) == model
    path = tmp_path / f"skips.{fmt}"
    assert main(["export", str(SKIPS), "--to", fmt, "--output", str(path)]) == 0
    assert specfile.load(path) == model


def test_a_graph_built_in_python_and_its_flat_export() -> None:
    """GraphBuilder: several outputs (both count), a cross edge; written flat with node paths."""
    g = GraphBuilder()
    g.input("image", (3, 16, 16))
    g.add("stem/conv", Conv2D(8, 3, padding="same"), ["image"])
    g.add("stem/bn", BatchNorm(), ["stem/conv"])
    g.add("head_a/fc", Dense(4), ["stem/bn"])  # Dense on a map: per pixel
    g.add("head_b/pool", GlobalAvgPool2D(), ["stem/conv"])
    model = Model.from_graph("two_heads", g.graph(["head_a/fc", "head_b/pool"]))
    report = analyze(model, "keras")
    assert report.totals.macs == 3 * 3 * 3 * 8 * 16 * 16 + 8 * 4 * 16 * 16
    assert report.outputs == ("head_a/fc", "head_b/pool")
    for fmt in ("toml", "json"):
        back = specfile.loads(specfile.dumps(model, fmt), fmt)
        assert back == model
        assert back.inputs == model.inputs
    outputs = run(model).outputs
    assert set(outputs) == {"head_a/fc", "head_b/pool"}
    assert outputs["head_b/pool"].shape == (1, 8)


@pytest.mark.parametrize(
    "layers, needle, line",
    [
        ('[[layers]]\ntype = "Conv2D"\nname = "c"\nfilters = 4\ninputs = ["nope"]\n', "input 'nope' is not a node", 5),
        (
            '[[layers]]\ntype = "Conv2D"\nname = "a"\nfilters = 4\ninputs = ["b"]\n'
            '[[layers]]\ntype = "Conv2D"\nname = "b"\nfilters = 4\ninputs = ["a"]\n',
            "the graph has a cycle through 'a', 'b'",
            5,
        ),
        (
            '[[layers]]\ntype = "Conv2D"\nname = "c"\nfilters = 4\n'
            '[[layers]]\ntype = "Add"\nname = "sum"\ninputs = ["c", "input"]\n',
            "cannot add inputs of different shapes: c [4, 6, 6], input [3, 8, 8]",
            9,
        ),
        (
            '[[layers]]\ntype = "Conv2D"\nname = "dead"\nfilters = 4\n'
            '[[layers]]\ntype = "Conv2D"\nname = "c"\nfilters = 4\ninputs = ["input"]\n',
            "node 'dead': nothing reads its output",
            5,
        ),
        ('[[layers]]\ntype = "Add"\nname = "one"\n', "node 'one': Add takes 2 or more inputs, got 1", 5),
    ],
)
def test_bad_graphs_name_the_node_and_the_line(
    layers: str, needle: str, line: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\ninput = [3, 8, 8]\n' + layers)
    assert main(["table", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert needle in err
    assert f"{path}:{line}:" in err


def test_graph_errors_in_python_name_the_node() -> None:
    g = GraphBuilder()
    g.input("x", (3, 8, 8))
    g.add("a", Conv2D(4, 3), ["x"])
    with pytest.raises(GraphError, match="node 'a': the name is used twice"):
        g.add("a", Conv2D(4, 3), ["x"])
    with pytest.raises(GraphError, match="output 'zz' is not a node or input"):
        g.graph(["zz"])
    with pytest.raises(SpecError, match="inputs are given for 'nope', which is not a layer or block"):
        Model("m", (3, 8, 8), Sequential((Conv2D(4, 3, name="c"),)), wiring=(("nope", ("input",)),))


def test_a_wired_tree_is_exported_as_a_tree_with_inputs() -> None:
    """A tree of blocks whose later layer reads the stem: wiring by path, kept by export."""
    body = Sequential(
        (
            Conv2D(8, 3, padding="same", name="stem"),
            Sequential((Conv2D(8, 3, padding="same", name="conv"), Activation("relu", name="relu")), name="block"),
            Add(name="skip"),
        )
    )
    model = Model("wired", (3, 8, 8), body, wiring=(("skip", ("stem", "block/relu")),))
    assert model.graph.by_name["skip"].inputs == ("stem", "block/relu")
    text = specfile.dumps(model, "toml")
    assert "[[layers.layers]]" in text and 'inputs = ["stem", "block/relu"]' in text
    assert specfile.loads(text, "toml") == model


def test_to_torch_can_be_saved_and_loaded(tmp_path: Path) -> None:
    model = specfile.load(SKIPS)
    module = to_torch(model).eval()
    path = tmp_path / "m.pt"
    torch.save(module, path)
    back = torch.load(path, weights_only=False).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(module(x), back(x))


def test_a_missing_rule_is_an_internal_error_in_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import dataclasses

    from convcost.conventions import CONVENTIONS

    thop = CONVENTIONS["thop"]
    monkeypatch.setitem(
        CONVENTIONS, "thop", dataclasses.replace(thop, rules={k: r for k, r in thop.rules.items() if k is not Dense})
    )
    assert main(["table", "lenet5", "--convention", "thop"]) == 3
    err = capsys.readouterr().err
    assert "internal error" in err and "no rule for Dense" in err and "bug in convcost" in err
    assert main(["--debug", "table", "lenet5", "--convention", "thop"]) == 3
    assert "Traceback" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------
# random graphs: forks, cross edges, n-way merges, several outputs


@st.composite
def random_graphs(draw: st.DrawFn) -> Model:
    """A DAG on one input: each node reads earlier tensors; merges take 2-4 of the same shape."""
    channels, size = draw(st.integers(1, 6)), draw(st.integers(4, 9))
    g = GraphBuilder()
    g.input("input", (channels, size, size))
    shapes: dict[str, tuple[int, ...]] = {"input": (channels, size, size)}
    for i in range(draw(st.integers(1, 9))):
        name = f"n{i}"
        kind = draw(st.sampled_from(["conv", "dw", "pw", "bn", "act", "pool", "add", "concat"]))
        tensors = list(shapes)
        source = draw(st.sampled_from(tensors))
        _, H, W = shapes[source]
        layer: Any
        inputs = [source]
        if kind == "conv":
            layer = Conv2D(draw(st.integers(1, 6)), draw(st.sampled_from([1, 3])), padding="same")
        elif kind == "dw":
            layer = DepthwiseConv2D(3, padding="same", depth_multiplier=draw(st.integers(1, 2)), bias=False)
        elif kind == "pw":
            layer = Conv2D(draw(st.integers(1, 6)), 1, bias=draw(st.booleans()))
        elif kind == "bn":
            layer = BatchNorm()
        elif kind == "act":
            layer = Activation(draw(st.sampled_from(["relu", "relu6", "sigmoid"])))
        elif kind == "pool":
            if H < 2 or W < 2:
                continue
            layer = MaxPool2D(2)
        else:
            if kind == "add":
                same = [t for t in tensors if shapes[t] == shapes[source]]
            else:
                same = [t for t in tensors if shapes[t][1:] == (H, W)]
            inputs = draw(st.lists(st.sampled_from(same), min_size=2, max_size=4))
            layer = Add() if kind == "add" else Concat()
        g.add(name, layer, inputs)
        shapes[name] = layer.output_shape(tuple(shapes[t] for t in inputs))
    read = {t for node in g.nodes for t in node.inputs}
    outputs = [node.name for node in g.nodes if node.name not in read] or ["input"]
    return Model.from_graph("random_graph", g.graph(outputs), batch=draw(st.integers(1, 2)))


@settings(max_examples=40)
@given(random_graphs())
def test_random_graphs_closed_form_equals_the_reference(model: Model) -> None:
    counted = run(model).layers
    keras, paper = analyze(model, "keras").rows, analyze(model, "paper").rows
    assert [c.path for c in counted] == [r.path for r in keras]
    for count, k, p in zip(counted, keras, paper, strict=True):
        assert count.output == k.output, k.path
        assert (count.trainable, count.non_trainable) == (k.trainable, k.non_trainable), k.path
        assert count.macs == p.macs, k.path


@settings(max_examples=15)
@given(random_graphs(), st.sampled_from(TOOLS))
def test_random_graphs_match_every_torch_tool(model: Model, tool: str) -> None:
    totals = analyze(model, tool).totals
    with _quiet():
        if tool == "calflops":
            theirs = run_calflops(to_torch(model).eval(), model)
            assert (totals.params, totals.macs, totals.flops) == theirs
        else:
            assert (totals.params, totals.macs) == run_tool(tool, to_torch(model), model)


def _quiet() -> Any:
    import contextlib

    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(contextlib.redirect_stderr(io.StringIO()))
    return stack


def shared_model() -> Model:
    """One conv called on two inputs and one Dense applied twice: weights once, work per call."""
    g = GraphBuilder()
    g.input("left", (3, 8, 8))
    g.input("right", (3, 8, 8))
    conv = Conv2D(4, 3, padding=1, name="conv")
    g.add("conv", conv, ["left"])
    g.add("conv_again", conv, ["right"], shares="conv")
    g.add("sum", Add(), ["conv", "conv_again"])
    g.add("pool", GlobalAvgPool2D(), ["sum"])
    g.add("fc", Dense(4), ["pool"])
    g.add("fc_again", Dense(4), ["fc"], shares="fc")
    return Model.from_graph("shared", g.graph(["fc_again"]))


def test_shared_weights_count_once_and_work_counts_per_call() -> None:
    model = shared_model()
    report = analyze(model, "keras")
    conv_weights, conv_work = 3 * 3 * 3 * 4 + 4, 3 * 3 * 3 * 4 * 8 * 8
    assert report.totals.params == conv_weights + (4 * 4 + 4)
    assert report.totals.macs == 2 * conv_work + 2 * 4 * 4
    counted = run(model).layers
    assert sum(c.params for c in counted) == report.totals.params
    assert [c.macs for c in counted] == [r.macs for r in analyze(model, "paper").rows]
    for fmt in ("toml", "json"):
        text = specfile.dumps(model, fmt)
        assert "shares" in text
        assert specfile.loads(text, fmt) == model


def test_shared_weights_equal_keras_and_torch() -> None:
    import math

    from convcost.interop.keras import to_keras

    model = shared_model()
    built = to_keras(model)
    keras_totals = analyze(model, "keras").totals
    assert built.count_params() == keras_totals.params
    assert sum(math.prod(w.shape) for w in built.trainable_weights) == keras_totals.trainable
    module = to_torch(model).eval()
    assert sum(p.numel() for p in module.parameters()) == analyze(model, "torchinfo").totals.params
    with torch.no_grad():
        out = module(torch.zeros(2, 3, 8, 8), torch.zeros(2, 3, 8, 8))
    assert tuple(out.shape) == (2, 4)


def test_sharing_a_different_layer_is_refused() -> None:
    g = GraphBuilder()
    g.input("x", (3, 8, 8))
    g.add("a", Conv2D(4, 3), ["x"])
    g.add("b", Conv2D(5, 3), ["x"], shares="a")
    g.add("sum", Concat(), ["a", "b"])
    with pytest.raises(GraphError, match="node 'b': shares the weights of 'a', a different layer"):
        g.graph(["sum"])
