"""Hugging Face transformers' vision convnets, built from their configuration classes with random
weights, read as they come (training mode, output objects), held against the five tools run on the
same modules, to the unit. Small configurations keep CI fast; tests/torch_models.py has them."""

from __future__ import annotations

import pytest
from torch_models import HF

from convcost import analyze, from_torch
from convcost.crosscheck import measure_module
from convcost.errors import MissingDependencyError, UnsupportedLayerError

TOOLS = ("torchinfo", "fvcore", "thop", "ptflops", "calflops")

#: (model, tool) -> what the tool itself raises on the module (the test says so, and checks it still does)
TOOL_FAILS = {
    # fvcore traces the model in its own (training) mode: BatchNorm on the 1x1 maps this config
    # reaches at 64 px has one value per channel, which torch refuses in training
    ("ResNet bottleneck, downsample_in_bottleneck", "fvcore"): "Expected more than 1 value per channel when training",
}


@pytest.mark.parametrize("name", list(HF))
def test_hugging_face_convnet_matches_every_tool(name: str) -> None:
    entry = HF[name]
    module = entry.factory()
    assert module.training  # as from_config builds it
    if entry.missing():
        with pytest.raises(UnsupportedLayerError, match="cannot map"):
            from_torch(module, entry.input_size)
        return
    model = from_torch(module, entry.input_size)
    assert module.training  # and as it was left
    params = sum(p.numel() for p in module.parameters())
    for tool in ("torchinfo", "fvcore", "ptflops", "calflops"):
        assert analyze(model, tool).totals.params == params, tool
    for tool in TOOLS:
        fails = TOOL_FAILS.get((name, tool))
        if fails is not None:
            with pytest.raises(MissingDependencyError, match=fails):
                measure_module(entry.factory(), entry.input_size, tool)
            continue
        theirs = measure_module(entry.factory(), entry.input_size, tool)
        ours = analyze(model, tool).totals.to_dict()
        assert {total: ours[total] for total in theirs} == theirs, tool


def test_names_are_the_module_tree() -> None:
    """A ResNet reads as its modules: the stem's conv, BN and activation, each block's layers and
    shortcut, the residual add of the block itself; --depth folds like torchinfo's depth."""
    entry = HF["ResNet bottleneck"]
    model = from_torch(entry.factory(), entry.input_size)
    paths = [path for path, _ in model.layers()]
    assert paths[:4] == [
        "resnet/embedder/embedder/convolution",
        "resnet/embedder/embedder/normalization",
        "resnet/embedder/embedder/activation",
        "resnet/embedder/pooler",
    ]
    assert "resnet/encoder/stages/0/layers/0/shortcut" in paths  # an nn.Identity: same channels, stride 1
    block = "resnet/encoder/stages/1/layers/0"
    assert f"{block}/shortcut/convolution" in paths and f"{block}/add" in paths
    assert paths[-2:] == ["classifier/0", "classifier/1"]
    report = analyze(model, "torchinfo")
    from convcost.render.depth import collapse

    assert [row.path for row in collapse(report, 1).rows] == ["resnet", "classifier"]
