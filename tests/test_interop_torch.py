"""spec <-> PyTorch: to_torch builds the same network, from_torch reads it (and custom modules) back.

Independent sources: torch's own output shapes and parameter counts, Keras's numerical output for
'same' padding (the odd pixel goes bottom/right), and hand-written torch modules.
"""

from __future__ import annotations

import re
from typing import Any

import keras
import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_conventions_tools import sequential_models as random_sequential_models
from torch import nn

from convcost import analyze
from convcost.errors import UnsupportedLayerError
from convcost.interop.torch import from_torch, to_torch
from convcost.shapes import infer_shapes
from convcost.spec import Activation, Conv2D, DepthwiseConv2D, MaxPool2D, Model, Sequential
from convcost.zoo import ZOO, build

CONVENTIONS = ("paper", "keras", "torchinfo", "fvcore", "thop", "ptflops")


def row_counts(model: Model, convention: str) -> list[tuple[str, int, int, int]]:
    # Activation("linear") is an nn.Identity in torch, so it reads back as Identity: both do nothing
    return [
        ("identity" if r.type_stride == "LINEAR" else r.kind, r.trainable, r.non_trainable, r.macs)
        for r in analyze(model, convention).rows
    ]


#: the paper's U-Net runs 150 G multiply-adds: here at its narrowest and shallowest
ARGUMENTS = {"unet": {"resolution": 64, "filters": 4, "depth": 2}}


@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_model_to_torch_and_back(name: str) -> None:
    model = build(name, **ARGUMENTS.get(name, {}))
    module = to_torch(model).eval()
    rows = infer_shapes(model)
    with torch.no_grad():
        out = module(torch.zeros(1, *model.input))
    assert tuple(out.shape[1:]) == rows[-1].output
    # torch's parameter count, all trainable; BN statistics are buffers
    assert sum(p.numel() for p in module.parameters()) == analyze(model, "torchinfo").totals.params
    back = from_torch(module, model.input, batch=1)
    for convention in CONVENTIONS:
        assert row_counts(back, convention) == row_counts(model, convention), convention
    assert [p for p, _ in back.layers()] == [p for p, _ in model.layers()]


@st.composite
def same_convs(draw: st.DrawFn) -> tuple[Any, int, int, int]:
    k = draw(st.integers(1, 5))
    stride = draw(st.integers(1, 3))
    dilation = 1 if stride > 1 else draw(st.integers(1, 2))
    depthwise = draw(st.booleans())
    if depthwise:
        layer: Any = DepthwiseConv2D(k, stride=stride, padding="same", dilation=dilation, bias=True, name="c")
    else:
        layer = Conv2D(3, k, stride=stride, padding="same", dilation=dilation, bias=True, name="c")
    return layer, draw(st.integers(2, 11)), draw(st.integers(2, 11)), draw(st.integers(1, 3))


@settings(max_examples=30)
@given(same_convs())
def test_keras_same_padding_is_reproduced_exactly(case: tuple[Any, int, int, int]) -> None:
    """Same weights, same input: the torch module gives Keras's numbers (odd pad pixel bottom/right)."""
    layer, h, w, channels = case
    model = Model("same", (channels, h, w), Sequential((layer,)))
    module = to_torch(model).eval()
    conv = next(m for m in module.modules() if isinstance(m, nn.Conv2d))
    rng = np.random.default_rng(h * 100 + w)
    x = rng.standard_normal((1, channels, h, w)).astype("float32")
    if isinstance(layer, DepthwiseConv2D):
        theirs = keras.layers.DepthwiseConv2D(
            layer.kernel, strides=layer.stride, padding="same", dilation_rate=layer.dilation
        )
        theirs.build((1, h, w, channels))
        kernel = conv.weight.detach().numpy()  # (C, 1, kh, kw) -> (kh, kw, C, 1)
        theirs.set_weights([kernel.transpose(2, 3, 0, 1), conv.bias.detach().numpy()])
    else:
        theirs = keras.layers.Conv2D(
            3, layer.kernel, strides=layer.stride, padding="same", dilation_rate=layer.dilation
        )
        theirs.build((1, h, w, channels))
        theirs.set_weights([conv.weight.detach().numpy().transpose(2, 3, 1, 0), conv.bias.detach().numpy()])
    expected = keras.ops.convert_to_numpy(theirs(x.transpose(0, 2, 3, 1))).transpose(0, 3, 1, 2)
    with torch.no_grad():
        got = module(torch.from_numpy(x)).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


@given(h=st.integers(2, 9), w=st.integers(2, 9), pool=st.integers(2, 3), stride=st.integers(1, 3))
def test_keras_same_max_pool_is_reproduced_exactly(h: int, w: int, pool: int, stride: int) -> None:
    assume(pool <= h and pool <= w)
    model = Model("pool", (2, h, w), Sequential((MaxPool2D(pool, stride=stride, padding="same"),)))
    x = np.random.default_rng(h * 10 + w).standard_normal((1, h, w, 2)).astype("float32") - 5.0
    theirs = keras.layers.MaxPooling2D(pool, strides=stride, padding="same")
    expected = keras.ops.convert_to_numpy(theirs(x)).transpose(0, 3, 1, 2)
    with torch.no_grad():
        got = to_torch(model)(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
    np.testing.assert_array_equal(got, expected)


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.left = nn.Conv2d(4, 6, 1)
        self.right = nn.Conv2d(4, 2, 3, padding=1)
        self.fc = nn.Linear(8, 3)

    def forward(self, x: Any) -> Any:
        y = torch.relu(self.bn(self.conv(x))) + x
        y = torch.cat([self.left(y), self.right(y)], dim=1)
        y = nn.functional.adaptive_avg_pool2d(y, 1)
        return self.fc(torch.flatten(y, 1))


def test_custom_module_with_add_and_concat_is_read() -> None:
    module = Residual()
    model = from_torch(module, (4, 6, 6), batch=1)
    kinds = [(path, type(layer).__name__) for path, layer in model.layers()]
    # modules by their paths, the forward's own ops by what they are
    assert kinds == [
        ("conv", "Conv2D"),
        ("bn", "BatchNorm"),
        ("relu", "Activation"),
        ("add", "Add"),
        ("left", "Conv2D"),
        ("right", "Conv2D"),
        ("cat", "Concat"),
        ("adaptive_avg_pool2d", "GlobalAvgPool2D"),
        ("flatten", "Flatten"),
        ("fc", "Dense"),
    ]
    assert analyze(model, "torchinfo").totals.params == sum(p.numel() for p in module.parameters())
    # and the spec builds back into a module with the same output
    assert tuple(to_torch(model)(torch.zeros(1, 4, 6, 6)).shape) == (1, 3)


class Unsupported(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3)

    def forward(self, x: Any) -> Any:
        return torch.sin(self.conv(x))


@pytest.mark.parametrize(
    "module, needle",
    [
        (Unsupported(), "<root> (Unsupported) aten.sin: no rule maps this op"),
        # an LSTM on a feature map fails in its own forward: the module is named
        (nn.Sequential(nn.Conv2d(3, 4, 3), nn.LSTM(4, 4)), "forward failed in <root> (Sequential) > 1 (LSTM)"),
        (nn.Sequential(nn.Conv2d(3, 4, 3), nn.Softmax(dim=2)), "1 (Softmax) aten._softmax: softmax over dim 2"),
    ],
)
def test_unsupported_modules_are_named(module: nn.Module, needle: str) -> None:
    with pytest.raises(UnsupportedLayerError, match=re.escape(needle)):
        from_torch(module, (3, 8, 8), batch=1)


def test_activation_and_container_names_are_kept() -> None:
    model = Model(
        "m",
        (3, 8, 8),
        Sequential((Sequential((Conv2D(4, 3, name="c"), Activation("relu6", name="a")), name="block"),)),
    )
    back = from_torch(to_torch(model), model.input, batch=1, name="m")
    assert [(p, type(layer).__name__) for p, layer in back.layers()] == [
        ("block/c", "Conv2D"),
        ("block/a", "Activation"),
    ]
    assert back.graph.by_name["block/a"].layer == Activation("relu6", name="a")


class BasicBlock(nn.Module):
    """torchvision's ResNet block as torchvision writes it: one nn.ReLU called twice, ``out += identity``."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: Any) -> Any:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class TinyResNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3)
        self.block1 = BasicBlock(8, 8, 1)
        self.block2 = BasicBlock(8, 16, 2)
        self.fc = nn.Linear(16, 5)

    def forward(self, x: Any) -> Any:
        x = nn.functional.max_pool2d(nn.functional.relu(self.stem(x)), 2)
        x = self.block2(self.block1(x))
        return self.fc(x.mean((2, 3)))


def test_torchvision_style_resnet_is_read() -> None:
    from fvcore.nn import FlopCountAnalysis

    module = TinyResNet().eval()
    model = from_torch(module, (3, 20, 20), batch=1)
    paths = [path for path, _ in model.layers()]
    assert paths[:3] == ["stem", "relu", "max_pool2d"]
    # the one nn.ReLU a block calls twice: two rows; the residual add is the block's own op
    assert "block2/downsample/0" in paths and "block1/relu_1" in paths and "block2/add" in paths
    assert paths[-2:] == ["mean", "fc"]
    assert analyze(model, "torchinfo").totals.params == sum(p.numel() for p in module.parameters())
    # fvcore's conv and linear counts are exactly the paper's multiply-adds of what was read
    analysis = FlopCountAnalysis(module, torch.zeros(1, 3, 20, 20))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    by_operator = analysis.by_operator()
    assert analyze(model, "paper").totals.macs == by_operator["conv"] + by_operator["linear"]


@settings(max_examples=30)
@given(random_sequential_models())
def test_random_specs_round_trip_through_torch(model: Model) -> None:
    module = to_torch(model).eval()  # the spec is an inference network: fvcore prices BN in eval
    back = from_torch(module, model.input, batch=model.batch)
    for convention in CONVENTIONS:
        # kinds aside: a 1-channel depthwise conv is torch's Conv2d(1, m, k) and reads back as a Conv2D
        ours = [counts[1:] for counts in row_counts(model, convention)]
        assert [counts[1:] for counts in row_counts(back, convention)] == ours, convention
    assert sum(p.numel() for p in module.parameters()) == analyze(back, "torchinfo").totals.params
