"""Bytes moved and arithmetic intensity, derived here from first principles and from torch's own tensors.

MobileNet's expected bytes are computed below from the paper's Table 1 (strides and channels)
with nothing of convcost but the names; random single layers from their geometry; every zoo
model against the sizes of the tensors torch really reads and writes (forward hooks) and the
parameters and buffers its modules hold.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convcost.cli import main
from convcost.graph import GraphBuilder
from convcost.layer import LAYER_TYPES
from convcost.render.depth import collapse
from convcost.report import analyze
from convcost.spec import (
    Add,
    BatchNorm,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Flatten,
    GlobalAvgPool2D,
    Model,
    Parallel,
    Sequential,
)
from convcost.traffic import measure
from convcost.zoo import ZOO, build, mobilenet_v1

#: MobileNet v1 (the paper's Table 1): after the first conv, 13 separable blocks (stride, N)
BLOCKS = [(1, 64), (2, 128), (1, 128), (2, 256), (1, 256), (2, 512)] + [(1, 512)] * 5 + [(2, 1024), (1, 1024)]


def mobilenet_expected_bytes(size: int = 4, batch: int = 1) -> dict[str, int]:
    """Each conv layer: (input map + output map) x batch + weights, times ``size``; no biases."""
    expected = {}
    hw = 112
    expected["conv1"] = size * (batch * (3 * 224 * 224 + 32 * hw * hw) + 3 * 3 * 3 * 32)
    expected["conv1_bn"] = size * (batch * 2 * 32 * hw * hw + 4 * 32)
    M = 32
    for i, (stride, N) in enumerate(BLOCKS, start=1):
        out = hw // stride
        expected[f"conv_dw_{i}"] = size * (batch * (M * hw * hw + M * out * out) + 3 * 3 * M)
        expected[f"conv_dw_{i}_bn"] = size * (batch * 2 * M * out * out + 4 * M)
        expected[f"conv_dw_{i}_relu"] = size * batch * 2 * M * out * out
        expected[f"conv_pw_{i}"] = size * (batch * (M * out * out + N * out * out) + M * N)
        expected[f"conv_pw_{i}_bn"] = size * (batch * 2 * N * out * out + 4 * N)
        hw, M = out, N
    expected["fc"] = size * (batch * (1024 + 1000) + 1024 * 1000 + 1000)
    return expected


def test_conv_pw_1_bytes_are_its_two_maps_and_its_weights() -> None:
    traffic = measure(mobilenet_v1())
    assert traffic.layer("conv_pw_1").bytes == 4 * (32 * 112 * 112 + 64 * 112 * 112 + 32 * 64)
    # 2 x 32*64*112*112 FLOPs over those bytes
    assert traffic.layer("conv_pw_1").intensity == Fraction(2 * 32 * 64 * 112 * 112, 4825088)


@pytest.mark.parametrize("dtype, size", [("float32", 4), ("float16", 2), ("int8", 1), ("float64", 8)])
@pytest.mark.parametrize("batch", [1, 3])
def test_every_mobilenet_layer_against_table_1(dtype: str, size: int, batch: int) -> None:
    traffic = measure(mobilenet_v1().with_batch(batch), dtype)
    by_name = {t.name: t for t in traffic.layers}
    expected = mobilenet_expected_bytes(size, batch)
    assert {name: by_name[name].bytes for name in expected} == expected
    assert by_name["global_pool"].bytes == size * batch * (1024 * 7 * 7 + 1024)
    assert by_name["softmax"].bytes == size * batch * 2 * 1000
    assert traffic.totals.bytes == sum(t.bytes for t in traffic.layers)
    assert traffic.totals.macs == 568_740_352 * batch


def test_where_mobilenets_bytes_go() -> None:
    """The issue's figures: depthwise 3% of the mult-adds, about 35% of the conv and FC layers' bytes,
    0.86 mult-adds per byte against 17 for the pointwise layers."""
    kinds = measure(mobilenet_v1()).by_kind
    weighted = sum(kinds[k].bytes for k in ("conv", "depthwise", "pointwise", "dense"))
    depthwise, pointwise = kinds["depthwise"], kinds["pointwise"]
    assert depthwise.macs == 17_385_984 and depthwise.bytes == 20_148_608
    assert round(depthwise.bytes / weighted, 2) == 0.35
    assert round(depthwise.macs / depthwise.bytes, 2) == 0.86
    assert round(pointwise.macs / pointwise.bytes, 1) == 17.3
    assert depthwise.intensity == Fraction(2 * 17_385_984, 20_148_608)


@given(
    channels=st.integers(1, 12),
    filters=st.integers(1, 12),
    size=st.integers(1, 20),
    kernel=st.integers(1, 5),
    stride=st.integers(1, 3),
    padding=st.sampled_from(["same", "valid"]),
    bias=st.booleans(),
    batch=st.integers(1, 5),
    dtype=st.sampled_from([("float32", 4), ("float16", 2), ("int8", 1)]),
)
def test_random_conv_layers(
    channels: int,
    filters: int,
    size: int,
    kernel: int,
    stride: int,
    padding: str,
    bias: bool,
    batch: int,
    dtype: tuple[str, int],
) -> None:
    kernel = min(kernel, size) if padding == "valid" else kernel
    out = -(-size // stride) if padding == "same" else (size - kernel) // stride + 1
    model = Model(
        "one",
        (channels, size, size),
        [Conv2D(filters, kernel, stride, padding=padding, bias=bias), DepthwiseConv2D(3, padding="same")],
        batch=batch,
    )
    name, width = dtype
    conv, depthwise = measure(model, name).layers
    weights = kernel * kernel * channels * filters + (filters if bias else 0)
    assert conv.bytes == width * (batch * (channels * size * size + filters * out * out) + weights)
    assert conv.flops == 2 * kernel * kernel * channels * filters * out * out * batch
    assert depthwise.bytes == width * (batch * 2 * filters * out * out + 9 * filters + filters)  # DepthwiseConv2D: bias
    assert conv.intensity == Fraction(conv.flops, conv.bytes)


def test_merges_read_every_branch() -> None:
    def conv(n: int) -> Conv2D:
        return Conv2D(n, 3, padding="same", bias=False)

    model = Model(
        "merges",
        (8, 10, 10),
        [
            Parallel([Sequential(), [conv(8)]], merge="add"),  # identity + conv: reads 2 maps, writes 1
            Parallel([[conv(4)], [conv(2)], [conv(6)]], merge="concat"),  # reads 4 + 2 + 6 channels, writes 12
            Flatten(),
            Dense(5),
        ],
        batch=2,
    )
    traffic = {t.path: t for t in measure(model).layers}
    merges = [path for path, t in traffic.items() if t.kind in ("add", "concat")]
    add, concat = (traffic[p] for p in merges)
    assert add.bytes == 4 * 2 * (8 * 100 * 2 + 8 * 100)
    assert concat.bytes == 4 * 2 * ((4 + 2 + 6) * 100 + 12 * 100)
    assert traffic["flatten"].bytes == 0 and traffic["flatten"].intensity is None
    assert traffic["dense"].bytes == 4 * (2 * (1200 + 5) + 1200 * 5 + 5)


def test_rows_carry_all_their_inputs() -> None:
    report = analyze(build("inception10"))
    concat = next(r for r in report.rows if r.kind == "concat")
    assert len(concat.inputs) == 4 and sum(s[0] for s in concat.inputs) == concat.output[0]
    assert all(r.inputs == (r.input,) for r in report.rows if r.kind not in ("add", "concat"))


def test_only_views_and_identities_move_nothing() -> None:
    """Each kind declares whether it moves data; these three are the ones that do not."""
    views = {name for name, kind in LAYER_TYPES.items() if not kind.moves_data}
    assert views == {"Flatten", "Reshape", "Dropout", "Identity", "DropPath"}


def test_weights_are_every_declared_tensor_whatever_the_convention() -> None:
    model = Model("bn", (3, 4, 4), [Conv2D(2, 1, bias=False), BatchNorm()])
    conv, bn = measure(model).layers
    assert bn.weights == 4 * 2 and conv.weights == 3 * 2  # scale, offset, mean, variance per channel
    assert analyze(model, "paper").totals.params == 6  # the paper's convention counts no BN weights


def test_a_layer_called_again_reads_its_weights_again() -> None:
    g = GraphBuilder()
    g.input("left", (3, 8, 8))
    g.input("right", (3, 8, 8))
    conv = Conv2D(4, 3, padding=1, name="conv")
    g.add("conv", conv, ["left"])
    g.add("conv_again", conv, ["right"], shares="conv")
    g.add("sum", Add(), ["conv", "conv_again"])
    g.add("pool", GlobalAvgPool2D(), ["sum"])
    model = Model.from_graph("shared", g.graph(["pool"]))
    layers = {t.path: t for t in measure(model).layers}
    weights = 3 * 3 * 3 * 4 + 4
    assert layers["conv"].weights == layers["conv_again"].weights == weights
    assert layers["conv_again"].bytes == 4 * (3 * 64 + 4 * 64 + weights)
    assert analyze(model, "keras").totals.params == weights  # counted once as parameters
    assert layers["sum"].bytes == 4 * 3 * 4 * 64


# --- against torch's own tensors ---------------------------------------------------------------


SMALL = {
    "mobilenet_v1": {"resolution": 64},
    "mobilenet_v1_conv": {"resolution": 64},
    "mobilenet_v1_shallow": {"resolution": 64},
    "mobilenet_v2": {"resolution": 64},
    "resnet50": {"resolution": 64},
    "resnet50_torchvision": {"resolution": 64},
    "vgg16": {"resolution": 64},
    "unet": {"resolution": 64, "filters": 4, "depth": 2},
}


@pytest.mark.parametrize("name", sorted(ZOO))
def test_bytes_equal_the_tensors_torch_reads_and_writes(name: str) -> None:
    """Every node's module of to_torch, called as the graph runs: the sizes of the tensors it was
    given and returned, and of the parameters and buffers it holds."""
    torch = pytest.importorskip("torch")
    from convcost.interop.torch import to_torch

    model = build(name, **SMALL.get(name, {})).with_batch(2)
    net = to_torch(model).eval()
    calls: list[tuple[int, int, int]] = []  # (values read, values written, weights held), per call

    def weights(mod: Any) -> int:
        # the state torch holds (parameters and persistent buffers): a config's constants are not state
        return sum(t.numel() for n, t in mod.state_dict().items() if not n.endswith("num_batches_tracked"))

    def hook(mod: Any, args: tuple[Any, ...], out: Any) -> None:
        calls.append((sum(a.numel() for a in args), out.numel(), weights(mod)))

    handles = [m.register_forward_hook(hook) for m in net.nodes.values()]
    with torch.inference_mode():
        net(*(torch.zeros(2, *i.shape) for i in model.inputs))
    for h in handles:
        h.remove()
    traffic = measure(model).layers
    assert len(calls) == len(traffic) == len(model.shaped)
    for t, shaped, (read, written, held) in zip(traffic, model.shaped, calls, strict=True):
        if not shaped.layer.moves_data:
            assert t.bytes == 0, t.path  # a view or an identity at inference: torch returns (a view of) its input
        else:
            assert (t.read, t.written, t.weights) == (read, written, held), t.path
            assert t.bytes == 4 * (read + written + held)


def test_table_json_carries_bytes_and_intensity(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["table", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    expected = mobilenet_expected_bytes()
    layers = {layer["name"]: layer for layer in data["layers"]}
    assert {name: layers[name]["bytes"] for name in expected} == expected
    assert all(isinstance(layer["bytes"], int) for layer in data["layers"])
    assert data["totals"]["bytes"] == sum(layer["bytes"] for layer in data["layers"]) == 138_662_272
    pw = layers["conv_pw_1"]
    assert Fraction(pw["intensity_exact"]) == Fraction(2 * pw["macs"], pw["bytes"])
    assert pw["intensity"] == float(Fraction(pw["intensity_exact"]))
    assert data["by_kind"]["depthwise"]["bytes"] == sum(
        layer["bytes"] for layer in data["layers"] if layer["kind"] == "depthwise"
    )
    assert data["traffic"]["lower_bound"] is False and data["traffic"]["bytes_per_value"] == 4


def test_folded_blocks_sum_their_layers_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    model = build("resnet18_fashion")
    assert main(["table", "resnet18_fashion", "--format", "json", "--depth", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    traffic = measure(model)
    folded = collapse(analyze(model), 2)
    assert [layer["path"] for layer in data["layers"]] == [r.path for r in folded.rows]
    for layer in data["layers"]:
        inside = [t for t in traffic.layers if t.path == layer["path"] or t.path.startswith(layer["path"] + "/")]
        assert layer["bytes"] == sum(t.bytes for t in inside)
    assert sum(layer["bytes"] for layer in data["layers"]) == traffic.totals.bytes


def test_an_unmapped_node_is_priced_by_its_shapes_as_a_lower_bound(capsys: pytest.CaptureFixture[str]) -> None:
    from convcost.spec import Unknown

    model = Model("u", (3, 4), [Unknown(op="aten.weird", output=(2, 3), name="weird"), Flatten(), Dense(2)])
    traffic = measure(model)
    assert traffic.lower_bound and traffic.layer("weird").bytes == 4 * (3 * 4 + 2 * 3)
    from convcost.render.roofline import render
    from convcost.roofline import preset, roofline

    result = roofline(traffic, preset("t4"))
    assert "Lower bounds: some nodes were read without a mapping" in render(result, "table")
    assert json.loads(render(result, "json"))["lower_bound"] is True
