"""Checks that hold one model against every independent source: the NumPy reference, torch and
its five counting tools, and Keras. The layer-kind tests (tests/test_kinds_*.py) call them on
single layers and random stacks.

* ``assert_reference``: the reference's output shape is the declared one, its counted products
  are the paper's multiply-adds, the parameters it allocated are Keras' (trainable split too);
* ``assert_reference_equals_torch``: the reference's output equals the ``to_torch`` build's with the
  same weights (within 1e-4 of the largest value), so every kernel is held against torch's;
* ``assert_torch_build``: the build's output shape, and its ``nn.Parameter`` count = the tools';
* ``assert_every_tool``: each convention equals the real tool on the ``to_torch`` build (calflops'
  FLOPs too);
* ``assert_keras_build``: the ``to_keras`` build's output shape and ``count_params()``, with the
  trainable split.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from test_conventions_tools import TOOLS, run_calflops, run_tool

from convcost import analyze
from convcost.interop.torch import to_torch
from convcost.reference import kernels, run
from convcost.spec import Model

RTOL = 1e-4

#: the reference's epsilon for each torch norm module: Keras' defaults, not torch's
_EPSILONS = {
    "BatchNorm1d": kernels.BN_EPSILON,
    "BatchNorm2d": kernels.BN_EPSILON,
    "LayerNorm": kernels.NORM_EPSILON,
    "GroupNorm": kernels.NORM_EPSILON,
    "InstanceNorm1d": kernels.NORM_EPSILON,
    "InstanceNorm2d": kernels.NORM_EPSILON,
}


def assert_reference(model: Model) -> None:
    counts = run(model).layers
    paper, keras = analyze(model, "paper"), analyze(model, "keras")
    for count, row, keras_row in zip(counts, paper.rows, keras.rows, strict=True):
        assert count.output == row.output, (row.path, count.output, row.output)
        assert count.macs == row.macs, (row.path, count.macs, row.macs)
        assert (count.trainable, count.non_trainable) == (keras_row.trainable, keras_row.non_trainable), row.path


def _reference_name(torch_name: str) -> str:
    """The executor's name for a torch parameter or buffer of a node's module."""
    *prefix, last = torch_name.split(".")
    if prefix and prefix[-1] in ("depthwise", "pointwise") and last == "weight":
        return f"{prefix[-1]}_weight"
    return last


def load_reference_weights(module: Any, model: Model, weights: dict[str, dict[str, np.ndarray]]) -> None:
    """Copy the executor's weights into the ``to_torch`` build (and its epsilons into the norms)."""
    for path, key, _ in module.wiring:
        node = module.nodes[key]
        given = weights.get(path, {})
        state = node.state_dict()
        for name in state:
            if name.endswith("num_batches_tracked"):
                continue
            state[name] = torch.from_numpy(np.ascontiguousarray(given[_reference_name(name)]))
        node.load_state_dict(state)
        for sub in node.modules():
            if type(sub).__name__ in _EPSILONS:
                sub.eps = _EPSILONS[type(sub).__name__]


def assert_close(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    scale = max(float(np.abs(expected).max(initial=0.0)), 1e-6)
    err = float(np.abs(actual.astype(np.float64) - expected.astype(np.float64)).max(initial=0.0))
    assert err <= RTOL * scale, f"max abs error {err} vs scale {scale}"


def assert_reference_equals_torch(model: Model, seed: int = 0) -> None:
    result = run(model, seed=seed)
    module = to_torch(model).eval()
    load_reference_weights(module, model, result.weights)
    x = torch.from_numpy(np.random.default_rng(seed).standard_normal((model.batch, *model.input)).astype(np.float32))
    with torch.no_grad():
        expected = module(x).numpy()
    assert_close(result.output, expected)


def assert_torch_build(model: Model) -> None:
    module = to_torch(model).eval()
    with torch.no_grad():
        out = module(torch.zeros(model.batch, *model.input))
    assert tuple(out.shape[1:]) == model.shaped[-1].output, (tuple(out.shape), model.shaped[-1].output)
    assert sum(p.numel() for p in module.parameters()) == analyze(model, "torchinfo").totals.params


def assert_every_tool(model: Model) -> None:
    module = to_torch(model)
    for tool in TOOLS:
        totals = analyze(model, tool).totals
        assert (totals.params, totals.macs) == run_tool(tool, module, model), tool
    totals = analyze(model, "calflops").totals
    assert (totals.params, totals.macs, totals.flops) == run_calflops(module, model)


def channels_last(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (*shape[1:], shape[0]) if len(shape) >= 2 else tuple(shape)


def assert_keras_build(model: Model) -> None:
    from convcost.interop.keras import to_keras

    built = to_keras(model)
    assert tuple(built.output.shape[1:]) == channels_last(model.shaped[-1].output)
    keras = analyze(model, "keras").totals
    assert built.count_params() == keras.params
    trainable = sum(math.prod(w.shape) for w in built.trainable_weights)
    assert (trainable, built.count_params() - trainable) == (keras.trainable, keras.non_trainable)
