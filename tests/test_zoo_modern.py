"""The zoo entries of issue 12 against the frameworks (EfficientNet-B0, MobileNetV3, ConvNeXt-Tiny, U-Net).

* keras.applications, built here (Keras 3, torch backend, ``weights=None``, in a fresh session so
  the layers Keras names itself get the names the zoo gives them): every operation of the Keras
  model is a row of ours with the same name, output shape, trainable and non-trainable weights and
  conv + dense multiply-adds read off the real Keras layer (kernel size x output positions), and
  nothing of ours is missing from Keras; then the totals. At the default size and others (odd
  sizes, several ``alpha``, the ``minimalistic`` and ``include_preprocessing`` switches). The
  U-Net, which keras.applications lacks, against a Keras twin written from the paper, conv by conv.
* torch: the parameter count of each entry's ``to_torch`` build is our trainable count and fvcore's
  conv + linear operators are our paper multiply-adds (the U-Net: on a torch twin written from the
  paper). The five tools (torchinfo, fvcore, thop, ptflops, calflops) run on every zoo model's
  ``to_torch`` build in tests/test_conventions_tools.py, these included.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

import convcost
from convcost.zoo import ZOO, build

#: the keras.applications constructor each entry follows
KERAS_APPLICATIONS = {
    "efficientnet_b0": "EfficientNetB0",
    "mobilenet_v3_small": "MobileNetV3Small",
    "mobilenet_v3_large": "MobileNetV3Large",
    "convnext_tiny": "ConvNeXtTiny",
}

#: Keras layers that own weights but do no conv or dense multiply-adds (the paper's convention)
NO_MACS = ("BatchNormalization", "Normalization", "LayerNormalization", "LayerScale")


def keras_application(name: str, arguments: dict[str, Any]) -> Any:
    """The keras.applications model of zoo entry ``name`` with the same arguments, in a fresh session."""
    import keras

    keras.backend.clear_session()  # Keras' automatic names start again from re_lu, add, ...
    given = {**ZOO[name].arguments, **arguments}
    resolution = given.pop("resolution")
    constructor = getattr(keras.applications, KERAS_APPLICATIONS[name])
    return constructor(weights=None, input_shape=(resolution, resolution, 3), **given)


def keras_operations(model: Any) -> list[Any]:
    """Every layer and tensor operation of ``model``, nested models opened, inputs left out."""
    import keras

    found: list[Any] = []
    # a nested Sequential (ConvNeXt's stem and downsampling blocks) lists its layers, a Functional
    # its layers and tensor operations
    for op in model.layers if isinstance(model, keras.Sequential) else model.operations:
        if isinstance(op, keras.layers.InputLayer):
            continue
        if isinstance(op, keras.Model):
            found += keras_operations(op)
        else:
            found.append(op)
    return found


def size(weights: list[Any]) -> int:
    return sum(math.prod(w.shape) for w in weights)


def keras_macs(op: Any) -> int:
    """Conv and dense multiply-adds of one Keras layer, from its real kernel and output (a transposed
    conv: its input) positions; a layer with weights and no rule here is an error, never a zero."""
    import keras

    if isinstance(op, keras.layers.Conv2DTranspose):
        return math.prod(op.kernel.shape) * math.prod(op.input.shape[1:-1])
    if isinstance(op, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)):
        return math.prod(op.kernel.shape) * math.prod(op.output.shape[1:-1])
    if getattr(op, "weights", None) and type(op).__name__ not in NO_MACS:
        raise AssertionError(f"{op.name}: a {type(op).__name__} owns weights and has no multiply-add rule here")
    return 0


def channels_first(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """A Keras per-sample shape (H, W, C) as convcost writes it, (C, H, W); vectors unchanged."""
    return (shape[-1], *shape[:-1]) if len(shape) == 3 else tuple(shape)


def check_against_keras(model: convcost.Model, net: Any) -> convcost.Report:
    """Every Keras operation against the row of the same name, both ways; then the totals."""
    keras_report = convcost.analyze(model, "keras")
    paper = {row.path: row.macs for row in convcost.analyze(model, "paper").rows}
    ours = {row.name: row for row in keras_report.rows}
    assert len(ours) == len(keras_report.rows), "leaf names repeat"
    operations = keras_operations(net)
    assert sorted(op.name for op in operations) == sorted(ours)
    for op in operations:
        row = ours[op.name]
        assert row.output == channels_first(tuple(op.output.shape[1:])), op.name
        trainable = size(getattr(op, "trainable_weights", []))
        non_trainable = size(getattr(op, "non_trainable_weights", []))
        assert (row.trainable, row.non_trainable) == (trainable, non_trainable), op.name
        assert paper[row.path] == keras_macs(op), op.name
    t = keras_report.totals
    assert net.count_params() == t.params
    assert (size(net.trainable_weights), size(net.non_trainable_weights)) == (t.trainable, t.non_trainable)
    assert sum(keras_macs(op) for op in operations) == t.macs
    return keras_report


KERAS_CASES = [
    ("efficientnet_b0", {}),
    ("efficientnet_b0", {"resolution": 97, "classes": 10}),
    ("mobilenet_v3_small", {}),
    ("mobilenet_v3_small", {"alpha": 0.75, "resolution": 97}),
    ("mobilenet_v3_small", {"alpha": 1.3, "resolution": 65, "classes": 10, "include_preprocessing": False}),
    ("mobilenet_v3_small", {"resolution": 96, "minimalistic": True}),
    ("mobilenet_v3_large", {}),
    ("mobilenet_v3_large", {"alpha": 0.75, "resolution": 97, "minimalistic": True}),
    ("mobilenet_v3_large", {"alpha": 1.3, "resolution": 65, "include_preprocessing": False}),
    ("convnext_tiny", {}),
    ("convnext_tiny", {"resolution": 97, "classes": 10}),
    ("convnext_tiny", {"resolution": 64, "include_preprocessing": False}),
]


#: docs/zoo.md's figures at the default size (224x224x3, 1000 classes): total, trainable,
#: non-trainable params and conv + dense mult-adds; keras.applications' own (notes/keras_apps.json)
DEFAULTS = {
    "efficientnet_b0": (5_330_571, 5_288_548, 42_023, 385_814_752),
    "mobilenet_v3_small": (2_554_968, 2_542_856, 12_112, 56_510_400),
    "mobilenet_v3_large": (5_507_432, 5_483_032, 24_400, 216_589_760),
    "convnext_tiny": (28_589_128, 28_589_128, 0, 4_455_531_264),
}


@pytest.mark.parametrize(("name", "arguments"), KERAS_CASES, ids=lambda v: str(v) if isinstance(v, dict) else v)
def test_zoo_entry_equals_keras_applications_operation_by_operation(name: str, arguments: dict[str, Any]) -> None:
    t = check_against_keras(build(name, **arguments), keras_application(name, arguments)).totals
    if not arguments:  # the figures docs/zoo.md prints are these, measured
        assert (t.params, t.trainable, t.non_trainable, t.macs) == DEFAULTS[name]


def test_docs_print_the_measured_totals() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "zoo.md").read_text(encoding="utf-8")
    for name, numbers in {**DEFAULTS, "unet": UNET_DOCS}.items():
        line = next(line for line in text.splitlines() if line.startswith(f"| `{name}`"))
        for number in numbers:
            assert f"{number:,}" in line, (name, number)


# ---------------------------------------------------------------- the torch tools on the to_torch builds

#: small, odd-sized builds (correct_pad's odd case before every stride 2). The five tools run on every
#: zoo model's to_torch build in tests/test_conventions_tools.py (test_every_zoo_model_matches_every_tool)
TOOL_CASES = [
    ("efficientnet_b0", {"resolution": 33, "classes": 10}),
    ("mobilenet_v3_small", {"alpha": 0.75, "resolution": 35}),
    ("mobilenet_v3_large", {"alpha": 0.5, "resolution": 32, "classes": 7}),
    ("convnext_tiny", {"resolution": 35, "classes": 10}),
]


@pytest.mark.parametrize(("name", "arguments"), TOOL_CASES, ids=[name for name, _ in TOOL_CASES])
def test_torch_build_params_and_fvcore_conv_linear_work(name: str, arguments: dict[str, Any]) -> None:
    from convcost.interop.torch import to_torch

    model = build(name, **arguments)
    net = to_torch(model)
    keras_totals = convcost.analyze(model, "keras").totals
    assert sum(p.numel() for p in net.parameters()) == keras_totals.trainable
    assert fvcore_conv_work(net, model.input) == convcost.analyze(model, "paper").totals.macs


def fvcore_conv_work(net: Any, shape: tuple[int, ...]) -> int:
    """fvcore's conv (transposed too) and linear operator totals for one sample: the paper's mult-adds."""
    import torch
    from fvcore.nn import FlopCountAnalysis

    flops = FlopCountAnalysis(net.eval(), torch.zeros(1, *shape))
    flops.unsupported_ops_warnings(False)
    flops.uncalled_modules_warnings(False)
    by_operator = flops.by_operator()
    return sum(int(by_operator.get(op, 0)) for op in ("conv", "linear", "addmm", "matmul"))


# ---------------------------------------------------------------- U-Net: the paper's, by hand in Keras and torch


def keras_unet(resolution: int, classes: int, filters: int, depth: int, channels: int, upsampling: str) -> Any:
    """Ronneberger et al.'s Figure 1 written with Keras layers (valid 3x3 convs with a fused ReLU)."""
    import keras
    from keras import layers as L

    x0 = keras.Input((resolution, resolution, channels))
    x, skips = x0, []
    for level in range(depth + 1):
        if level:
            x = L.MaxPool2D(2, strides=2)(x)
        for _ in range(2):
            x = L.Conv2D(filters * 2**level, 3, activation="relu")(x)
        skips.append(x)
    for level in reversed(range(depth)):
        width = filters * 2**level
        if upsampling == "transpose":
            x = L.Conv2DTranspose(width, 2, strides=2)(x)
        else:
            x = L.Conv2D(width, 2, padding="same")(L.UpSampling2D(2)(x))
        skip = skips[level]
        excess = skip.shape[1] - x.shape[1]
        crop = (excess // 2, excess - excess // 2)
        skip = L.Cropping2D((crop, crop))(skip)
        x = L.Concatenate()([skip, x])
        for _ in range(2):
            x = L.Conv2D(width, 3, activation="relu")(x)
    return keras.Model(x0, L.Conv2D(classes, 1)(x))


def torch_unet(classes: int, filters: int, depth: int, channels: int, upsampling: str) -> Any:
    """The same in torch: centre crop by slicing, ``torch.cat([skip, up])``."""
    import torch
    import torch.nn as nn

    def convs(cin: int, cout: int) -> Any:
        return nn.Sequential(nn.Conv2d(cin, cout, 3), nn.ReLU(), nn.Conv2d(cout, cout, 3), nn.ReLU())

    class UNet(nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            widths = [filters * 2**level for level in range(depth + 1)]
            self.down = nn.ModuleList(
                convs(cin, cout) for cin, cout in zip([channels, *widths[:-1]], widths, strict=True)
            )
            self.up = nn.ModuleList(
                nn.ConvTranspose2d(2 * w, w, 2, stride=2)
                if upsampling == "transpose"
                else nn.Sequential(nn.Upsample(scale_factor=2), nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(2 * w, w, 2))
                for w in widths[:-1]
            )
            self.decode = nn.ModuleList(convs(2 * w, w) for w in widths[:-1])
            self.head = nn.Conv2d(filters, classes, 1)

        def forward(self, x: Any) -> Any:
            skips = []
            for level, block in enumerate(self.down):
                x = block(nn.functional.max_pool2d(x, 2) if level else x)
                skips.append(x)
            for level in reversed(range(depth)):
                x = self.up[level](x)
                skip, size = skips[level], x.shape[-1]
                top = (skip.shape[-1] - size) // 2
                x = torch.cat([skip[..., top : top + size, top : top + size], x], dim=1)
                x = self.decode[level](x)
            return self.head(x)

    return UNet()


#: docs/zoo.md's U-Net figures (the paper's network): measured on the Keras twin below
UNET_DOCS = (31_030_658, 31_030_658, 0, 150_428_424_448)
UNET_CASES = [
    {},  # the paper's: 572x572x1, 64 filters, depth 4, 2 classes
    {"upsampling": "nearest"},
    {"resolution": 45, "filters": 4, "depth": 2, "channels": 3, "classes": 5},
]


@pytest.mark.parametrize("arguments", UNET_CASES, ids=str)
def test_unet_equals_keras_layer_by_layer(arguments: dict[str, Any]) -> None:
    given = {**ZOO["unet"].arguments, **arguments}
    net = keras_unet(**given)
    model = build("unet", **arguments)
    weighted = [op for op in keras_operations(net) if op.weights]
    ours = [r for r in convcost.analyze(model, "paper").rows if r.kind in ("conv", "pointwise", "transposed_conv")]
    theirs = [(channels_first(tuple(op.output.shape[1:])), op.count_params(), keras_macs(op)) for op in weighted]
    assert [(r.output, r.params, r.macs) for r in ours] == theirs
    t = convcost.analyze(model, "keras").totals
    assert (t.params, t.non_trainable, t.macs) == (net.count_params(), 0, sum(keras_macs(op) for op in weighted))
    assert convcost.analyze(model).rows[-1].output == channels_first(tuple(net.output.shape[1:]))
    if not arguments:
        assert (t.params, t.trainable, t.non_trainable, t.macs) == UNET_DOCS


def test_unet_is_the_papers_figure_1() -> None:
    """572x572 in, 388x388x2 out, 23 convolutional layers (Ronneberger et al., 2015)."""
    rows = convcost.analyze(build("unet")).rows
    assert rows[-1].output == (2, 388, 388)
    assert sum(r.kind in ("conv", "pointwise", "transposed_conv") for r in rows) == 23
    assert [r.output for r in rows if r.path.endswith("/crop")] == [
        (512, 56, 56),
        (256, 104, 104),
        (128, 200, 200),
        (64, 392, 392),
    ]


@pytest.mark.parametrize("upsampling", ["transpose", "nearest"])
def test_unet_against_a_torch_twin(upsampling: str) -> None:
    arguments = {"resolution": 45, "filters": 4, "depth": 2, "channels": 3, "classes": 5, "upsampling": upsampling}
    model = build("unet", **arguments)
    twin = torch_unet(5, 4, 2, 3, upsampling)
    report = convcost.analyze(model, "paper")
    assert sum(p.numel() for p in twin.parameters()) == report.totals.params
    assert fvcore_conv_work(twin, model.input) == report.totals.macs
