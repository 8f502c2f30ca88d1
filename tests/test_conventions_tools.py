"""The torchinfo / fvcore / thop / ptflops / calflops conventions against the real tools, run here.

Every network is built by ``convcost.interop.torch.to_torch`` and handed to the installed tool;
convcost's totals under the convention of the same name must equal the tool's to the unit (for
calflops, the one tool that also prints FLOPs, its FLOPs too), for
single layers, for random Sequential specs (hypothesis), for every zoo model, and for the seed
004 network written exactly as its document writes it (torchinfo printed 90.33M there).
"""

from __future__ import annotations

import io
import math
import re
from typing import Any

import pytest
import torch
from calflops import calculate_flops
from fvcore.nn import FlopCountAnalysis, parameter_count
from hypothesis import given, settings
from hypothesis import strategies as st
from ptflops import get_model_complexity_info
from thop import profile
from torch import nn
from torchinfo import summary

from convcost import analyze
from convcost.errors import ConvcostError, GeometryError
from convcost.interop.torch import from_torch, to_torch
from convcost.shapes import output_shape
from convcost.spec import (
    Activation,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    Layer,
    MaxPool2D,
    Model,
    SeparableConv2D,
    Sequential,
    WeightOp,
    ZeroPadding2D,
)
from convcost.zoo import ZOO, build

TOOLS = ("torchinfo", "fvcore", "thop", "ptflops", "calflops")


def run_calflops(module: nn.Module, model: Model) -> tuple[int, int, int]:
    """(params, MACs, FLOPs) as calflops reports them, for ``model.batch`` samples."""
    if not list(module.parameters()):
        # calflops asks the first parameter for the device (StopIteration without one)
        module.register_parameter("device_probe", nn.Parameter(torch.empty(0)))
    flops, macs, params = calculate_flops(
        model=module,
        input_shape=(model.batch, *model.input),
        output_as_string=False,
        print_results=False,
        print_detailed=False,
    )
    return params, macs, flops


def run_tool(tool: str, module: nn.Module, model: Model) -> tuple[int, int]:
    """(params, multiply-adds) as the tool itself reports them, for ``model.batch`` samples."""
    module.eval()
    x = torch.zeros(model.batch, *model.input)
    if tool == "calflops":
        params, macs, _ = run_calflops(module, model)
        return params, macs
    if tool == "torchinfo":
        stats = summary(module, input_data=x, verbose=0)
        return stats.total_params, stats.total_mult_adds
    if tool == "fvcore":
        analysis = FlopCountAnalysis(module, x)
        analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        return parameter_count(module)[""], analysis.total()
    if tool == "thop":
        ops, params = profile(module, (x,), verbose=False)
        # thop sums in float64: exact below 2**53, far above anything here
        assert ops == int(ops) and params == int(params)
        return int(params), int(ops)
    macs, params = get_model_complexity_info(
        module, tuple(model.input), as_strings=False, print_per_layer_stat=False, ost=io.StringIO()
    )
    return params, macs


def assert_matches(model: Model, tool: str) -> None:
    totals = analyze(model, tool).totals
    if tool == "calflops":
        assert (totals.params, totals.macs, totals.flops) == run_calflops(to_torch(model).eval(), model), model.name
    else:
        assert (totals.params, totals.macs) == run_tool(tool, to_torch(model), model), (model.name, tool)
    assert totals.non_trainable == 0  # every torch parameter is trainable; BN statistics are buffers


# ------------------------------------------------------------------------------------------
# single layers: what each tool counts, pinned one kind at a time


def one_layer(layer: Layer, shape: tuple[int, ...], batch: int = 2) -> Model:
    return Model("one", shape, Sequential((layer,)), batch=batch)


SINGLE_LAYERS: list[tuple[Layer, tuple[int, ...]]] = [
    (Conv2D(6, 3, stride=2, padding="same", bias=True), (4, 9, 8)),
    (Conv2D(6, 3, stride=1, padding=1, groups=2, bias=False), (4, 7, 7)),
    (DepthwiseConv2D(3, stride=2, padding="same", depth_multiplier=2, bias=True), (3, 8, 8)),
    (SeparableConv2D(5, 3, padding="same", bias=True), (4, 6, 6)),
    (Dense(7, bias=True), (12,)),
    (Dense(7, bias=True), (3, 4, 5)),  # Keras Dense on a map: every pixel
    (BatchNorm(), (5, 4, 4)),
    (BatchNorm(center=False, scale=False), (5, 4, 4)),
    (BatchNorm(), (9,)),
    (Activation("relu"), (3, 4, 4)),
    (Activation("relu6"), (3, 4, 4)),
    (Activation("leaky_relu"), (3, 4, 4)),
    (Activation("elu"), (3, 4, 4)),
    (Activation("gelu"), (3, 4, 4)),
    (Activation("silu"), (3, 4, 4)),
    (Activation("sigmoid"), (3, 4, 4)),
    (Activation("tanh"), (3, 4, 4)),
    (Activation("hard_swish"), (3, 4, 4)),
    (Activation("softmax"), (10,)),
    (Activation("softmax"), (4, 3, 3)),
    (MaxPool2D(2), (3, 8, 8)),
    (MaxPool2D(3, stride=2, padding=1), (3, 9, 9)),
    (MaxPool2D(2, padding="same"), (3, 7, 6)),  # odd height: -inf row at the bottom
    (AvgPool2D(2), (3, 8, 8)),
    (AvgPool2D(3, stride=1, padding="same"), (3, 5, 5)),
    (GlobalAvgPool2D(), (6, 5, 4)),
    (GlobalAvgPool2D(keepdims=True), (6, 5, 4)),
    (Flatten(), (2, 3, 3)),
    (Dropout(0.2), (2, 3, 3)),
    (ZeroPadding2D(((0, 1), (2, 0))), (2, 3, 3)),
    (WeightOp("multiply", (3, 1, 1)), (3, 4, 4)),
    (WeightOp("rsubtract", (1, 4, 4)), (3, 4, 4)),
    (WeightOp("divide", (6,)), (6,)),
]


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("layer, shape", SINGLE_LAYERS, ids=lambda v: type(v).__name__ if isinstance(v, Layer) else "")
def test_single_layer_matches_tool(tool: str, layer: Layer, shape: tuple[int, ...]) -> None:
    assert_matches(one_layer(layer, shape), tool)


def test_single_layer_figures_are_the_tools_rules() -> None:
    """A few counts derived by hand from each tool's source, so the rules are visible here."""
    bn = one_layer(BatchNorm(), (5, 4, 4), batch=1)  # 80 elements, gamma and beta
    assert [analyze(bn, t).totals.macs for t in TOOLS] == [10, 160, 320, 160, 0]
    # FLOPs: no multiply-adds, so exactly the element-wise count (calflops: 2 per element)
    assert [analyze(bn, t).totals.flops for t in TOOLS] == [10, 160, 320, 160, 160]
    relu = one_layer(Activation("relu"), (3, 4, 4), batch=1)  # ptflops: hook + patched F.relu
    assert [analyze(relu, t).totals.macs for t in TOOLS] == [0, 0, 0, 96, 0]
    assert [analyze(relu, t).totals.flops for t in TOOLS] == [0, 0, 0, 96, 48]
    # 3x3 conv, 4 -> 6 channels, bias, 5x4 output: 3*3*4*6*20 = 4320 multiply-adds, 120 bias adds
    conv = one_layer(Conv2D(6, 3, padding="same", bias=True), (4, 5, 4), batch=1)
    assert [analyze(conv, t).totals.macs for t in TOOLS] == [(216 + 6) * 20, 4320, 4320, 4320 + 120, 4320]
    assert [analyze(conv, t).totals.flops for t in TOOLS] == [8760, 8640, 8640, 8760, 8760]


# ------------------------------------------------------------------------------------------
# random Sequential specs


ACTIVATIONS = ("relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh", "hard_swish", "linear")


@st.composite
def layer_for(draw: st.DrawFn, shape: tuple[int, ...]) -> Layer:
    C = shape[0]
    kind = draw(st.sampled_from(["conv", "grouped", "depthwise", "separable", "bn", "act", "maxpool", "avgpool"]))
    padding = draw(st.sampled_from(["valid", "same", 0, 1, (1, 0)]))
    k = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 2))
    bias = draw(st.booleans())
    if kind == "conv":
        return Conv2D(draw(st.integers(1, 8)), k, stride=stride, padding=padding, bias=bias)
    if kind == "grouped":
        divisors = [g for g in range(1, C + 1) if C % g == 0]
        groups = draw(st.sampled_from(divisors))
        return Conv2D(groups * draw(st.integers(1, 3)), k, stride=stride, padding=padding, groups=groups, bias=bias)
    if kind == "depthwise":
        multiplier = draw(st.integers(1, 2))
        return DepthwiseConv2D(k, stride=stride, padding=padding, depth_multiplier=multiplier, bias=bias)
    if kind == "separable":
        return SeparableConv2D(draw(st.integers(1, 8)), k, stride=stride, padding=padding, bias=bias)
    if kind == "bn":
        affine = draw(st.booleans())
        return BatchNorm(center=affine, scale=affine)
    if kind == "act":
        return Activation(draw(st.sampled_from(ACTIVATIONS)))
    pool = draw(st.integers(1, 3))
    # torch can express an asymmetric 'same' max pool (pad with -inf) but not an average that leaves it out
    pool_padding = draw(st.sampled_from(["valid", 0, pool // 2, *(["same"] if kind == "maxpool" else [])]))
    cls = MaxPool2D if kind == "maxpool" else AvgPool2D
    return cls(pool, stride=draw(st.integers(1, 2)), padding=pool_padding)


@st.composite
def sequential_models(draw: st.DrawFn) -> Model:
    shape: tuple[int, ...] = (draw(st.integers(1, 6)), draw(st.integers(4, 14)), draw(st.integers(4, 14)))
    start = shape
    layers: list[Layer] = []
    for _ in range(draw(st.integers(1, 6))):
        layer = draw(layer_for(shape))
        try:
            shape = output_shape(layer, shape)
        except GeometryError:
            continue
        layers.append(layer)
    head = draw(st.sampled_from(["flatten", "global", "global_keep", "pixel_dense"]))
    if head == "flatten":
        layers.append(Flatten())
    elif head == "global":
        layers.append(GlobalAvgPool2D())
    elif head == "global_keep":
        layers += [GlobalAvgPool2D(keepdims=True), Flatten()]
    else:
        layers.append(Dense(draw(st.integers(1, 5)), bias=draw(st.booleans())))
        layers.append(Flatten())
    layers.append(Dense(draw(st.integers(1, 10)), bias=draw(st.booleans())))
    if draw(st.booleans()):
        layers.append(Activation("softmax"))
    return Model("random", start, Sequential(tuple(layers)), batch=draw(st.integers(1, 3)))


@settings(max_examples=30)
@given(sequential_models())
def test_random_sequential_matches_every_tool(model: Model) -> None:
    module = to_torch(model)
    for tool in TOOLS:
        theirs = run_tool(tool, module, model)
        totals = analyze(model, tool).totals
        assert (totals.params, totals.macs) == theirs, tool
    assert analyze(model, "calflops").totals.flops == run_calflops(module, model)[2]
    assert sum(p.numel() for p in module.parameters()) == analyze(model, "torchinfo").totals.params


# ------------------------------------------------------------------------------------------
# zoo models, batch, fvcore mode


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("name", list(ZOO))
def test_every_zoo_model_matches_every_tool(name: str, tool: str) -> None:
    assert_matches(small(name).with_batch(2), tool)


def small(name: str) -> Model:
    """The zoo model at 96 pixels when it takes a resolution and fits there (the rules do not
    depend on the size; the tools run faster), else at its default; the U-Net at its narrowest and
    shallowest (the paper's runs 150 G multiply-adds)."""
    accepted = ZOO[name].arguments
    arguments = {"filters": 4, "depth": 2} if "filters" in accepted and "depth" in accepted else {}
    if "resolution" in accepted and accepted["resolution"] > 96:
        try:
            model = build(name, resolution=96, **arguments)
            analyze(model)
            return model
        except ConvcostError:
            pass
    return build(name, **arguments)


@pytest.mark.parametrize("batch", [1, 3])
def test_batch_scaling(batch: int) -> None:
    """torchinfo, fvcore and thop count the whole batch; ptflops always one sample."""
    model = build("separable_fashion").with_batch(batch)
    single = build("separable_fashion")
    for tool in TOOLS:
        assert_matches(model, tool)
        factor = 1 if tool == "ptflops" else batch
        assert analyze(model, tool).totals.macs == factor * analyze(single, tool).totals.macs


def test_fvcore_convention_is_eval_mode() -> None:
    """In train mode fvcore counts BatchNorm as 5 per element (4 without gamma/beta), not 2: the
    convention follows eval mode, the mode a model is measured in for inference."""
    model = build("mobilenet_v1_cifar")
    module = to_torch(model).train()
    x = torch.zeros(2, *model.input)
    analysis = FlopCountAnalysis(module, x)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    report = analyze(model.with_batch(2), "fvcore")
    bn_elements = sum(2 * math.prod(r.input) for r in report.rows if r.kind == "batchnorm")
    assert analysis.total() == report.totals.macs + 3 * bn_elements
    assert run_tool("fvcore", module, model.with_batch(2))[1] == report.totals.macs  # run_tool sets eval


# ------------------------------------------------------------------------------------------
# seed 004, exactly as its document writes the network


class Block(nn.Module):
    """Depthwise conv + Pointwise conv (seed 004, verbatim apart from style)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(
            in_channels, in_channels, kernel_size=3, stride=stride, padding=1, groups=in_channels, bias=False
        )
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=1, padding=0, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu2 = nn.ReLU()

    def forward(self, x: Any) -> Any:
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.relu2(self.bn2(self.conv2(x)))
        return x


class MobileNetV1(nn.Module):
    cfg = [64, (128, 2), 128, (256, 2), 256, (512, 2), 512, 512, 512, 512, 512, (1024, 2), 1024]  # noqa: RUF012

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 32, kernel_size=3, stride=1, bias=False), nn.BatchNorm2d(32), nn.ReLU())
        self.avg = nn.AvgPool2d(kernel_size=2)
        self.layers = self._make_layers(in_channels=32)
        self.linear = nn.Linear(1024, num_classes)

    def _make_layers(self, in_channels: int) -> nn.Sequential:
        layers = []
        for x in self.cfg:
            out_channels = x if isinstance(x, int) else x[0]
            stride = 1 if isinstance(x, int) else x[1]
            layers.append(Block(in_channels, out_channels, stride))
            in_channels = out_channels
        return nn.Sequential(*layers)

    def forward(self, x: Any) -> Any:
        x = self.conv1(x)
        x = self.layers(x)
        x = self.avg(x)
        x = x.view(x.size()[0], -1)
        x = self.linear(x)
        return x


def test_seed_004_torchinfo_prints_90_33_million() -> None:
    net = MobileNetV1()
    stats = summary(net, (2, 3, 32, 32), verbose=0)
    # the document's own printout: "Total params: 3,217,226" and "Total mult-adds (M): 90.33"
    assert stats.total_params == 3_217_226
    # torchinfo 1.8 on Python 3.11 prints the unit as "Units.MEGABYTES" (an enum str() change)
    assert re.search(r"Total mult-adds \((M|Units\.MEGABYTES)\): 90\.33\n", str(stats))
    ours = analyze(build("mobilenet_v1_cifar").with_batch(2), "torchinfo").totals
    assert (ours.params, ours.macs) == (stats.total_params, stats.total_mult_adds) == (3_217_226, 90_328_212)
    # and read from the module itself (the capture follows forward's x.view)
    read = from_torch(net, (3, 32, 32), batch=2)
    assert analyze(read, "torchinfo").totals == analyze(build("mobilenet_v1_cifar").with_batch(2), "torchinfo").totals


@pytest.mark.parametrize("tool", TOOLS)
def test_seed_004_module_as_written_matches_every_tool(tool: str) -> None:
    model = build("mobilenet_v1_cifar").with_batch(2)
    theirs = run_tool(tool, MobileNetV1(), model)
    totals = analyze(model, tool).totals
    assert (totals.params, totals.macs) == theirs


def test_docs_worked_example_is_current() -> None:
    """docs/conventions.md's MobileNet v1 table: the figures analyze() gives, which the tests above
    hold against the real tools."""
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "conventions.md").read_text()
    table = text.split("<!-- mobilenet-v1-totals: begin -->")[1].split("<!-- mobilenet-v1-totals: end -->")[0]
    rows = {}
    for line in table.strip().splitlines()[2:]:
        name, *figures = (cell.strip().strip("`") for cell in line.strip("|").split("|"))
        rows[name] = tuple(int(figure.replace(",", "")) for figure in figures)
    model = build("mobilenet_v1")
    totals = {c: analyze(model, c).totals for c in rows}
    assert rows == {c: (t.params, t.macs, t.flops) for c, t in totals.items()}
    assert set(rows) == {"paper", "keras", *TOOLS}
    # and the tools themselves, on this exact network
    for tool in TOOLS:
        assert run_tool(tool, to_torch(model), model) == rows[tool][:2]
    assert run_calflops(to_torch(model).eval(), model) == rows["calflops"]
