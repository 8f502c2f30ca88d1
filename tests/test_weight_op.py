"""WeightOp (a tensor and a tensor of weights, value by value): its declaration against the NumPy
reference and against the torch module it builds, with the same weights, on random broadcasts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from convcost import analyze
from convcost.errors import GeometryError, SpecError
from convcost.graph import GraphBuilder
from convcost.interop.torch import to_torch
from convcost.layers.weight_op import WEIGHT_OPS
from convcost.model import Model
from convcost.reference import run
from convcost.spec import WeightOp


def one(layer: WeightOp, shape: tuple[int, ...], batch: int = 2) -> Model:
    builder = GraphBuilder()
    builder.input("input", shape)
    builder.add("w", layer, ["input"])
    return Model.from_graph("weight_op", builder.graph(["w"]), batch)


@st.composite
def broadcasts(draw: st.DrawFn) -> tuple[WeightOp, tuple[int, ...]]:
    """An input shape and weights that broadcast against it (each size 1 or the input's, either way)."""
    rank = draw(st.integers(1, 3))
    sizes = draw(st.lists(st.integers(1, 5), min_size=rank, max_size=rank))
    x, w = [], []
    for d in sizes:
        where = draw(st.sampled_from(["both", "x", "w"]))  # which side has the size (the other 1)
        x.append(d if where != "w" else 1)
        w.append(d if where != "x" else 1)
    return WeightOp(draw(st.sampled_from(sorted(WEIGHT_OPS))), tuple(w)), tuple(x)


@settings(max_examples=40, deadline=None)
@given(broadcasts())
def test_declaration_reference_and_torch_agree(case: tuple[WeightOp, tuple[int, ...]]) -> None:
    layer, shape = case
    model = one(layer, shape)
    out = tuple(max(a, b) for a, b in zip(layer.shape, shape, strict=True))
    (row,) = analyze(model, "keras").rows
    assert row.output == out and row.params == math.prod(layer.shape) and row.macs == 0
    assert analyze(model, "paper").totals.params == 0  # the paper counts conv and FC weights only
    assert model.shaped[0].layer.elementwise(model.shaped[0].site) == math.prod(out)
    x = np.random.default_rng(0).standard_normal((2, *shape)).astype(np.float32)
    execution = run(model, x)
    (count,) = execution.layers
    assert count.output == out and count.trainable == math.prod(layer.shape) and count.macs == 0
    module = to_torch(model).eval()
    with torch.no_grad():
        node = next(iter(module.nodes.values()))
        node.value.copy_(torch.from_numpy(execution.weights["w"]["weight"]))
        expected = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(execution.output, expected, rtol=1e-5, atol=1e-6)


def test_labels_say_the_operation() -> None:
    site = one(WeightOp("rdivide", (3, 1, 1)), (3, 4, 4)).shaped[0].site
    assert WeightOp("rdivide", (3, 1, 1)).type_stride(site) == "w / x"
    assert WeightOp("rdivide", (3, 1, 1)).filter_shape(site) == "w 3x1x1"


def test_weights_that_do_not_broadcast_are_a_geometry_error() -> None:
    with pytest.raises(GeometryError, match=r"weights of shape \[3, 2\] do not broadcast"):
        one(WeightOp("add", (3, 2)), (3, 4)).shaped  # noqa: B018
    with pytest.raises(GeometryError, match="do not broadcast"):
        one(WeightOp("add", (3,)), (3, 4)).shaped  # noqa: B018


def test_fields_are_checked() -> None:
    with pytest.raises(SpecError, match="op must be one of"):
        WeightOp("power", (3,))
    with pytest.raises(SpecError, match="shape must be a non-empty list of positive integers"):
        WeightOp("add", ())
