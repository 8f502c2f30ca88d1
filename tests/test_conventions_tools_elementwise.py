"""The five tool conventions on the family A kinds (issue 12), against the real tools, run here.

As tests/test_conventions_tools.py does for the Table 2 kinds: every network is built by
``to_torch`` and handed to torchinfo, fvcore, thop, ptflops and calflops; convcost's totals under
the convention of the same name must equal the tool's to the unit (calflops: its FLOPs too), for
each kind alone and for random graphs of them (squeeze-excite gates, hard-swish written out,
preprocessing, layer scales, PReLU, broadcasting merges) between convolutions.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from ptflops import get_model_complexity_info
from test_conventions_tools import TOOLS, run_calflops, run_tool
from torch import nn

from convcost import analyze
from convcost.graph import GraphBuilder
from convcost.interop.torch import to_torch
from convcost.layers.elementwise import (
    Average,
    Divide,
    DropPath,
    Identity,
    LayerScale,
    Maximum,
    Minimum,
    Multiply,
    Normalization,
    PReLU,
    Rescaling,
    ScalarOp,
    Subtract,
)
from convcost.spec import (
    Activation,
    Add,
    BatchNorm,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    GlobalAvgPool2D,
    Layer,
    Model,
)

#: thop warns on every nn.PReLU it counts (its count_prelu calls a deprecated helper)
pytestmark = pytest.mark.filterwarnings("ignore:This API is being deprecated:UserWarning")

Shape = tuple[int, ...]
#: builds the body of a model on a GraphBuilder: (builder, the input's name) -> the output's name
Body = Callable[[GraphBuilder, str], str]


def graph_model(shape: Shape, body: Body, batch: int = 2, name: str = "g") -> Model:
    builder = GraphBuilder()
    out = body(builder, builder.input("input", shape))
    return Model.from_graph(name, builder.graph([out]), batch=batch)


def one(layer: Layer) -> Body:
    return lambda b, x: b.add("k", layer, [x])


def merged(layer: Layer, gated: bool) -> Body:
    """``layer(x, y)``: y = x itself (same shape) or its keepdims global pool, a (C, 1, 1) gate."""

    def body(b: GraphBuilder, x: str) -> str:
        y = b.add("gate", GlobalAvgPool2D(keepdims=True), [x]) if gated else x
        return b.add("k", layer, [x, y])

    return body


def assert_every_tool_matches(model: Model) -> None:
    module = to_torch(model)
    for tool in TOOLS:
        totals = analyze(model, tool).totals
        assert (totals.params, totals.macs) == run_tool(tool, module, model), tool
        assert totals.non_trainable == 0
    assert analyze(model, "calflops").totals.flops == run_calflops(module, model)[2]


CASES: list[tuple[str, Shape, Body]] = [
    *((f"{type(m).__name__}-gate", (3, 5, 4), merged(m, True)) for m in (Multiply(), Add(), Subtract(), Divide())),
    *((f"{type(m).__name__}", (3, 5, 4), merged(m, False)) for m in (Maximum(), Minimum(), Average())),
    *(
        (f"scalar-{op}", (3, 4, 4), one(ScalarOp(op, value)))
        for op, value in (
            ("add", 3),
            ("subtract", 0.5),
            ("rsubtract", 1),
            ("multiply", 1 / 6),
            ("divide", 255),
            ("rdivide", 2),
            ("power", 2),
            ("maximum", 0),
            ("minimum", 6),
        )
    ),
    ("rescaling", (3, 4, 4), one(Rescaling(1 / 127.5, -1))),
    ("rescaling-per-channel", (3, 4, 4), one(Rescaling((0.5, 1.0, 2.0)))),
    ("normalization", (3, 4, 5), one(Normalization())),
    ("normalization-given", (3, 4, 5), one(Normalization(mean=(1, 2, 3), variance=(1, 4, 9)))),
    ("normalization-axis", (3, 4, 5), one(Normalization(axis=-1, invert=True))),
    ("layer-scale", (6, 3, 3), one(LayerScale())),
    ("layer-scale-last", (6, 3, 5), one(LayerScale(axis=-1))),
    ("layer-scale-scalar", (6, 3, 3), one(LayerScale(scalar=True))),
    *((f"prelu-{shared}", (3, 4, 5), one(PReLU(shared))) for shared in ("channel", "element", "single")),
    ("prelu-vector", (7,), one(PReLU("element"))),
    ("prelu-sequence", (3, 6), one(PReLU())),
    ("identity", (3, 4, 4), one(Identity())),
    ("drop-path", (3, 4, 4), one(DropPath(0.1))),
    ("spatial-dropout", (3, 4, 4), one(Dropout(0.2, spatial=True))),
    ("spatial-dropout-1d", (3, 7), one(Dropout(0.2, spatial=True))),
    ("mish", (3, 4, 4), one(Activation("mish"))),
    ("gelu-tanh", (3, 4, 4), one(Activation("gelu_tanh"))),
    ("hard-sigmoid", (3, 4, 4), one(Activation("hard_sigmoid"))),
]


@pytest.mark.parametrize("shape, body", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_single_kind_matches_every_tool(shape: Shape, body: Body) -> None:
    assert_every_tool_matches(graph_model(shape, body))


def test_single_kind_figures_are_the_tools_rules() -> None:
    """A few counts derived by hand from each tool's source, so the rules are visible here."""
    # nn.PReLU(3) on 3x4x5 (60 values): torchinfo weight x batch, thop one per element, ptflops
    # hook + patched F.prelu, calflops FLOPs one per element; fvcore has no handle for aten::prelu
    prelu = graph_model((3, 4, 5), one(PReLU()), batch=1)
    assert [analyze(prelu, t).totals.params for t in TOOLS] == [3, 3, 3, 3, 3]
    assert [analyze(prelu, t).totals.macs for t in TOOLS] == [3, 0, 60, 120, 0]
    assert analyze(prelu, "calflops").totals.flops == 60
    # LayerScale's gamma: torchinfo does not price a parameter named gamma; thop never sees it
    scale = graph_model((6, 3, 3), one(LayerScale()), batch=1)
    assert [analyze(scale, t).totals.params for t in TOOLS] == [6, 6, 0, 6, 6]
    assert [analyze(scale, t).totals.macs for t in TOOLS] == [0, 0, 0, 0, 0]
    # squeeze-excite's multiply, written x * gate: no tool counts it (only the pool's work is left)
    gate = graph_model((3, 5, 4), merged(Multiply(), True), batch=1)
    pool = graph_model((3, 5, 4), one(GlobalAvgPool2D(keepdims=True)), batch=1)
    for tool in TOOLS:
        ours, pooled = analyze(gate, tool).totals, analyze(pool, tool).totals
        assert (ours.params, ours.macs, ours.flops) == (pooled.params, pooled.macs, pooled.flops)


# ------------------------------------------------------------------------------------------
# random graphs: the family A patterns between convolutions


@st.composite
def block(draw: st.DrawFn, b: GraphBuilder, x: str, shape: Shape, index: int) -> tuple[str, Shape]:
    """Pattern number ``index`` applied to ``x`` (shape ``shape``): its output and the output's shape."""
    C = shape[0]
    kind = draw(
        st.sampled_from(
            [
                "conv",
                "se",
                "hard_swish",
                "swish",
                "preprocess",
                "scale",
                "prelu",
                "merge",
                "scalar",
                "identity",
                "activation",
            ]
        )
    )
    name = f"{kind}{index}"

    def add(leaf: str, layer: Layer, reads: list[str]) -> str:
        return b.add(f"{name}/{leaf}", layer, reads)

    if kind == "conv":
        filters = draw(st.integers(1, 6))
        y = add("conv", Conv2D(filters, draw(st.integers(1, 3)), padding="same", bias=draw(st.booleans())), [x])
        return add("bn", BatchNorm(), [y]), (filters, *shape[1:])
    if kind == "se":
        squeeze = draw(st.integers(1, 4))
        g = add("pool", GlobalAvgPool2D(keepdims=True), [x])
        g = add("reduce", Conv2D(squeeze, 1), [g])
        g = add("act", Activation(draw(st.sampled_from(["relu", "silu", "gelu_tanh"]))), [g])
        g = add("expand", Conv2D(C, 1), [g])
        g = add("gate", Activation(draw(st.sampled_from(["sigmoid", "hard_sigmoid"]))), [g])
        operands = [x, g] if draw(st.booleans()) else [g, x]
        return add("excite", Multiply(), operands), shape
    if kind == "hard_swish":  # x * relu6(x + 3) * (1 / 6), as MobileNetV3 writes it in Keras
        y = add("plus3", ScalarOp("add", 3), [x])
        y = add("relu6", Activation("relu6"), [y])
        y = add("sixth", ScalarOp("multiply", 1 / 6), [y])
        return add("times", Multiply(), [x, y]), shape
    if kind == "swish":
        y = add("sigmoid", Activation("sigmoid"), [x])
        return add("times", Multiply(), [x, y]), shape
    if kind == "preprocess":
        per_channel = draw(st.booleans())
        scale = tuple(draw(st.floats(0.1, 2)) for _ in range(C)) if per_channel else 1 / 255
        y = add("rescale", Rescaling(scale, draw(st.sampled_from([0, -1]))), [x])
        given = draw(st.booleans())
        stats = {"mean": 0.5, "variance": 0.25} if given else {}
        return add("normalize", Normalization(invert=draw(st.booleans()), **stats), [y]), shape
    if kind == "scale":
        scalar = draw(st.booleans())
        axis = draw(st.sampled_from([0, -1, 1]))
        return add("scale", LayerScale(axis=axis, scalar=scalar), [x]), shape
    if kind == "prelu":
        return add("prelu", PReLU(draw(st.sampled_from(["channel", "element", "single"]))), [x]), shape
    if kind == "merge":
        merge = draw(st.sampled_from([Add, Subtract, Divide, Maximum, Minimum, Average, Multiply]))
        other = add("pool", GlobalAvgPool2D(keepdims=True), [x]) if draw(st.booleans()) else x
        operands = [x, other] if draw(st.booleans()) else [other, x]
        if merge not in (Subtract, Divide) and draw(st.booleans()):
            operands.append(add("branch", DepthwiseConv2D(3, padding="same"), [x]))
        return add("merge", merge(), operands), shape
    if kind == "scalar":
        op = draw(st.sampled_from(["add", "subtract", "rsubtract", "multiply", "divide", "maximum", "minimum"]))
        return add("op", ScalarOp(op, draw(st.sampled_from([1, 3, 0.5, 255]))), [x]), shape
    if kind == "identity":
        layer = draw(st.sampled_from([Identity(), DropPath(0.2), Dropout(0.1, spatial=True)]))
        return add("id", layer, [x]), shape
    return add("act", Activation(draw(st.sampled_from(["mish", "gelu_tanh", "hard_swish"]))), [x]), shape


@st.composite
def family_a_graphs(draw: st.DrawFn) -> Model:
    shape: Shape = (draw(st.integers(1, 5)), draw(st.integers(3, 8)), draw(st.integers(3, 8)))
    b = GraphBuilder()
    x = b.input("input", shape)
    filters = draw(st.integers(1, 5))
    current, current_shape = b.add("stem", Conv2D(filters, 3, padding="same"), [x]), (filters, *shape[1:])
    for index in range(draw(st.integers(1, 4))):
        current, current_shape = draw(block(b, current, current_shape, index))
    head = b.add("pool", GlobalAvgPool2D(), [current])
    out = b.add("fc", Dense(draw(st.integers(1, 5))), [head])
    return Model.from_graph("random", b.graph([out]), batch=draw(st.integers(1, 3)))


@settings(max_examples=30)
@given(family_a_graphs())
def test_random_graphs_match_every_tool(model: Model) -> None:
    assert_every_tool_matches(model)


# ------------------------------------------------------------------------------------------
# the forms to_torch does not build: why it writes operators (docs/conventions.md)


class MulCall(nn.Module):  # type: ignore[misc]
    """``torch.mul(x, gate)``, the gate a (C, 1, 1) buffer, or (1, C, 1, 1) with ``batched``."""

    def __init__(self, channels: int, batched: bool) -> None:
        super().__init__()
        self.register_buffer("gate", torch.ones((1, channels, 1, 1) if batched else (channels, 1, 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.mul(x, self.gate)


@pytest.mark.parametrize("batched", [True, False])
def test_ptflops_counts_torch_mul_with_its_left_aligned_broadcast(batched: bool) -> None:
    """``torch.mul(x, gate)`` is patched by ptflops, which multiplies the per-axis maxima of the two
    shapes aligned from the left: (1, C, H, W) against (1, C, 1, 1) costs C x H x W, but against a
    (C, 1, 1) gate, C x C x H x W. to_torch writes ``x * gate``, which no tool patches (0 everywhere):
    the conventions price a model written with the operator, as models write it."""
    C, H, W = 3, 5, 4
    macs, _ = get_model_complexity_info(
        MulCall(C, batched), (C, H, W), as_strings=False, print_per_layer_stat=False, ost=io.StringIO()
    )
    assert macs == (C * H * W if batched else C * C * H * W)
