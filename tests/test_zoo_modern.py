"""The zoo entries of issue 12 against the frameworks (EfficientNet-B0, MobileNetV3, ConvNeXt-Tiny).

* keras.applications, built here (Keras 3, torch backend, ``weights=None``, in a fresh session so
  the layers Keras names itself get the names the zoo gives them): every operation of the Keras
  model is a row of ours with the same name, output shape, trainable and non-trainable weights and
  conv + dense multiply-adds read off the real Keras layer (kernel size x output positions), and
  nothing of ours is missing from Keras; then the totals. At the default size and others (odd
  sizes, several ``alpha``, the ``minimalistic`` and ``include_preprocessing`` switches).
* the five torch tools (torchinfo, fvcore, thop, ptflops, calflops) on each entry's ``to_torch``
  build: every total each tool prints equals ours under that tool's convention; torch's parameter
  count is our trainable count and fvcore's conv + linear operators are our paper multiply-adds.
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
    for name, numbers in DEFAULTS.items():
        line = next(line for line in text.splitlines() if line.startswith(f"| `{name}`"))
        for number in numbers:
            assert f"{number:,}" in line, (name, number)


# ---------------------------------------------------------------- the torch tools on the to_torch builds

#: small, odd-sized builds: every stride-2 pad of correct_pad's odd case, cheap to run five tools on
TOOL_CASES = [
    ("efficientnet_b0", {"resolution": 33, "classes": 10}),
    ("mobilenet_v3_small", {"alpha": 0.75, "resolution": 35}),
    ("mobilenet_v3_large", {"alpha": 0.5, "resolution": 32, "classes": 7}),
    ("convnext_tiny", {"resolution": 35, "classes": 10}),
]
TOOLS = ("torchinfo", "fvcore", "thop", "ptflops", "calflops")


@pytest.mark.parametrize(("name", "arguments"), TOOL_CASES, ids=[name for name, _ in TOOL_CASES])
def test_every_torch_tool_on_the_torch_build(name: str, arguments: dict[str, Any]) -> None:
    from convcost.crosscheck import crosscheck

    model = build(name, **arguments).with_batch(2)
    for tool in TOOLS:
        for check in crosscheck(model, tool):
            assert check.ok, (tool, check.total, check.ours, check.theirs)


@pytest.mark.parametrize(("name", "arguments"), TOOL_CASES, ids=[name for name, _ in TOOL_CASES])
def test_torch_build_params_and_fvcore_conv_linear_work(name: str, arguments: dict[str, Any]) -> None:
    import torch
    from fvcore.nn import FlopCountAnalysis

    from convcost.interop.torch import to_torch

    model = build(name, **arguments)
    net = to_torch(model).eval()
    report = convcost.analyze(model, "paper")
    keras_totals = convcost.analyze(model, "keras").totals
    assert sum(p.numel() for p in net.parameters()) == keras_totals.trainable
    flops = FlopCountAnalysis(net, torch.zeros(1, *model.input))
    flops.unsupported_ops_warnings(False)
    flops.uncalled_modules_warnings(False)
    by_operator = flops.by_operator()
    assert sum(int(by_operator.get(op, 0)) for op in ("conv", "linear", "addmm", "matmul")) == report.totals.macs
