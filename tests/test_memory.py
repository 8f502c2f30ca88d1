"""Activation memory: per-layer sizes and the peak working set, against an independent simulation.

The simulation below knows nothing of convcost.memory: it turns the network into a list of
operations on numbered tensors, counts each tensor's readers, runs the operations in order and
frees a tensor after its last reader, taking the largest total size of live tensors.
"""

from __future__ import annotations

import json
import math

import pytest

from convcost import (
    Activation,
    BatchNorm,
    Conv2D,
    MaxPool2D,
    Model,
    Parallel,
    Sequential,
    analyze,
    mobilenet_v1,
)
from convcost.cli import main
from convcost.shapes import output_shape
from convcost.zoo import ZOO, build


def simulated_peak(model: Model) -> int:
    sizes: list[int] = []
    ops: list[tuple[list[int], int]] = []  # (input tensor ids, output tensor id)

    def tensor(shape: tuple[int, ...]) -> int:
        sizes.append(math.prod(shape))
        return len(sizes) - 1

    wiring = dict(model.wiring)  # explicit inputs by path (the U-Net's skips)
    made: dict[str, tuple[int, tuple[int, ...]]] = {}  # path -> (tensor, shape)

    def emit(block: Sequential, x: int, shape: tuple[int, ...], prefix: str = "") -> tuple[int, tuple[int, ...]]:
        for layer in block.layers:
            path = prefix + layer.name
            reads = [made[p] for p in wiring.get(path, ())] or [(x, shape)]
            if isinstance(layer, Sequential):
                x, shape = emit(layer, *reads[0], path + "/")
            elif isinstance(layer, Parallel):
                outs = [emit(branch, *reads[0], f"{path}/{branch.name}/") for branch in layer.branches]
                if layer.merge == "concat":
                    merged = (sum(s[0] for _, s in outs), *outs[0][1][1:])
                else:  # add, multiply: sizes of 1 broadcast
                    merged = tuple(max(sizes) for sizes in zip(*(s for _, s in outs), strict=True))
                y = tensor(merged)
                ops.append(([t for t, _ in outs], y))
                x, shape = y, merged
            else:
                shape = output_shape(layer, *(s for _, s in reads))
                y = tensor(shape)
                ops.append(([t for t, _ in reads], y))
                x = y
            made[path] = (x, shape)
        return x, shape

    first = tensor(model.input)
    emit(model.body, first, model.input)
    readers = [0] * len(sizes)
    for inputs, _ in ops:
        for t in set(inputs):
            readers[t] += 1
    alive = {first}
    peak = 0
    for inputs, out in ops:
        alive.add(out)
        peak = max(peak, sum(sizes[t] for t in alive))
        for t in set(inputs):
            readers[t] -= 1
            if readers[t] == 0:
                alive.discard(t)
    return peak


@pytest.mark.parametrize("name", sorted(ZOO))
def test_peak_matches_simulation_for_every_zoo_model(name: str) -> None:
    model = build(name)
    assert analyze(model).peak_activations == simulated_peak(model)


def test_residual_and_inception_blocks() -> None:
    def conv(n: int) -> Conv2D:
        return Conv2D(n, 3, padding="same")

    model = Model(
        "blocks",
        (8, 16, 16),
        [
            conv(8),
            Parallel([Sequential(), [conv(8), BatchNorm(), Activation("relu")]], merge="add"),
            Parallel([[conv(4)], [MaxPool2D(3, 1, "same"), conv(4)], [conv(2), conv(6)]], merge="concat"),
            Parallel([[conv(14), Parallel([[conv(14)], []], merge="add")], []], merge="add"),
        ],
    )
    assert analyze(model).peak_activations == simulated_peak(model)


def test_mobilenet_peak_is_the_first_pointwise_map_twice() -> None:
    report = analyze(mobilenet_v1().with_batch(2))
    # conv_pw_1 writes 64x112x112; its BatchNorm reads that and writes as much again
    assert report.peak_activations == 2 * (2 * 64 * 112 * 112)
    assert report.peak_layer == "conv_pw_1_bn"
    row = next(r for r in report.rows if r.name == "conv_pw_1")
    assert row.activations == 2 * 64 * 112 * 112


@pytest.mark.parametrize("dtype, size", [("float32", 4), ("float16", 2), ("int8", 1)])
def test_bytes_follow_the_dtype(dtype: str, size: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["table", "--format", "json", "--dtype", dtype]) == 0
    data = json.loads(capsys.readouterr().out)
    memory = data["memory"]
    assert memory["dtype"] == dtype and memory["bytes_per_value"] == size
    assert memory["params_bytes"] == 4_210_088 * size
    assert memory["peak_bytes"] == 2 * 64 * 112 * 112 * size
    first = data["layers"][0]
    assert first["activations"] == 32 * 112 * 112 and first["activation_bytes"] == 32 * 112 * 112 * size


def test_dtype_is_validated(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["table", "--dtype", "float8"]) == 2
    assert "'--dtype'" in capsys.readouterr().err
