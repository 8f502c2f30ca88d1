"""Run a model's graph with the NumPy kernels and count what was really done.

This is the independent interpreter the closed form is held against: it never calls a layer's
declared cost, nor ``convcost.conventions``. Each node's output shape is read off the array the
kernel produced, its multiply-adds off the operands the kernel multiplied (``Tally``), and its
parameters off the arrays allocated for it. Weights are deterministic: every node draws from its
own generator seeded by ``(seed, crc32(path))``, so a node's weights do not depend on the others.

Nodes run in topological order; a tensor is dropped as soon as its last reader has run, so memory
stays near what the working set needs, and a kernel may overwrite its input when nothing else will
read it (nor a view of it).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from convcost.errors import GeometryError
from convcost.graph import Node
from convcost.model import Model
from convcost.record import record
from convcost.reference import kernels as k
from convcost.reference.layers import Call, kernel_for

Array = k.Array
#: ``path -> {array name -> array}``; BN's ``running_mean``/``running_var`` (and Normalization's
#: ``mean``, ``variance`` and ``count``) are the non-trainable ones
Weights = dict[str, dict[str, Array]]
NON_TRAINABLE = frozenset({"running_mean", "running_var", "mean", "variance", "count"})
#: ``(nodes done, path)`` after every node
Progress = Callable[[int, str], None]


@record
class LayerCount:
    """What one node really did. Shapes are per sample; ``macs`` covers the whole batch."""

    path: str
    kind: str
    input: tuple[int, ...]
    output: tuple[int, ...]
    trainable: int
    non_trainable: int
    macs: int
    #: element-wise operations the kernel counted (the kinds of family A count them), whole batch
    elementwise: int = 0

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable


@dataclass
class Execution:
    """The output (the first output when the model has several), every output by name, and the counts."""

    output: Array
    layers: list[LayerCount] = field(default_factory=list)
    weights: Weights = field(default_factory=dict)
    outputs: dict[str, Array] = field(default_factory=dict)


def count_leaves(model: Model) -> int:
    """How many nodes a run reports: the length of a progress bar."""
    return len(model.graph.nodes)


def random_input(model: Model, seed: int = 0, dtype: Any = np.float32) -> Array:
    """A batch for the model's (first) input, drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((model.batch, *model.input)).astype(dtype)


def random_inputs(model: Model, seed: int = 0, dtype: Any = np.float32) -> dict[str, Array]:
    """A batch for every input of the model: the first from ``seed``, the others from ``(seed, i)``."""
    inputs = {}
    for i, spec in enumerate(model.inputs):
        rng = np.random.default_rng(seed if i == 0 else [seed, i])
        inputs[spec.name] = rng.standard_normal((model.batch, *spec.shape)).astype(dtype)
    return inputs


def run(
    model: Model,
    x: Array | dict[str, Array] | None = None,
    *,
    seed: int = 0,
    weights: Weights | None = None,
    dtype: Any = np.float32,
    progress: Progress | None = None,
) -> Execution:
    """Forward ``x`` (default: random, batch ``model.batch``) through ``model``; count every node.

    ``x`` is the first input's batch, or a batch per input name. ``weights`` given for a path are used
    as they are; missing ones are drawn from ``seed`` and returned in ``Execution.weights`` (so a test
    can load the very same weights into torch).
    """
    graph = model.graph
    if x is None:
        inputs = random_inputs(model, seed, dtype)
    elif isinstance(x, dict):
        inputs = dict(x)
    else:
        inputs = {graph.inputs[0].name: x}
    runner = _Runner(seed, dict(weights or {}), np.dtype(dtype))
    env: dict[str, Array] = dict(inputs)
    remaining = {name: len(readers) for name, readers in graph.consumers.items()}
    kept = set(graph.outputs)
    for done, node in enumerate(graph.nodes, start=1):
        arrays = [env[name] for name in node.inputs]
        for name in dict.fromkeys(node.inputs):
            remaining[name] -= 1
        env[node.name] = runner.node(node, arrays, _owned(node, env, remaining, kept, inputs))
        for name in dict.fromkeys(node.inputs):
            if remaining[name] == 0 and name not in kept:
                del env[name]  # no later reader: free it
        if progress is not None:
            progress(done, node.name)
    outputs = {name: env[name] for name in graph.outputs}
    return Execution(output=outputs[graph.outputs[0]], layers=runner.counts, weights=runner.weights, outputs=outputs)


def _owned(
    node: Node, env: dict[str, Array], remaining: dict[str, int], kept: set[str], inputs: dict[str, Array]
) -> bool:
    """Whether the node's kernel may overwrite its (only) input: nothing reads it later, it is not an
    output nor the caller's array, and no tensor still alive is a view of it."""
    if len(node.inputs) != 1:
        return False
    name = node.inputs[0]
    if remaining[name] or name in kept or name in inputs:
        return False
    x = env[name]
    alive = (array for other, array in env.items() if other != name and (remaining[other] or other in kept))
    return not any(np.may_share_memory(x, array) for array in (*alive, *inputs.values()))


class _Runner:
    def __init__(self, seed: int, weights: Weights, dtype: np.dtype[Any]) -> None:
        self.seed = seed
        self.weights = weights
        self.dtype = dtype
        self.counts: list[LayerCount] = []

    def node(self, node: Node, inputs: list[Array], owned: bool) -> Array:
        layer = node.layer
        tally = k.Tally()
        params: dict[str, Array] = {}

        def param(name: str, shape: tuple[int, ...], kind: str = "weight") -> Array:
            if node.shares:  # the owner's arrays, allocated (and counted) once
                return self.param(node.shares, {}, name, shape, kind)
            return self.param(node.name, params, name, shape, kind)

        try:
            out = kernel_for(layer)(Call(inputs, tally, owned, param), layer)
        except ValueError as e:
            raise GeometryError(f"layer '{node.name}' ({type(layer).__name__}): {e}", node=node.name) from None
        # a frozen layer (Keras' ``trainable = False``) trains none of its arrays
        trainable = sum(a.size for name, a in params.items() if name not in NON_TRAINABLE) if layer.trainable else 0
        non_trainable = sum(a.size for name, a in params.items()) - trainable
        self.counts.append(
            LayerCount(
                path=node.name,
                kind=type(layer).__name__,
                input=tuple(inputs[0].shape[1:]) if inputs else (),
                output=tuple(out.shape[1:]),
                trainable=trainable,
                non_trainable=non_trainable,
                macs=tally.macs,
                elementwise=tally.elementwise,
            )
        )
        return out

    def param(self, path: str, params: dict[str, Array], name: str, shape: tuple[int, ...], kind: str) -> Array:
        """The node's array ``name``: given, or drawn from the node's own generator."""
        given = self.weights.setdefault(path, {})
        if name not in given:
            rng = np.random.default_rng([self.seed, zlib.crc32(f"{path}:{name}".encode())])
            fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
            if kind == "weight":  # He-normal keeps activations O(1) through a deep stack
                value = rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)
            elif kind == "variance":
                value = rng.uniform(0.5, 1.5, shape)
            else:
                value = rng.uniform(-0.1, 0.1, shape)
            given[name] = value.astype(self.dtype)
        array = given[name]
        if array.shape != shape:
            raise ValueError(f"weight {name!r} has shape {list(array.shape)}, expected {list(shape)}")
        params[name] = array
        return array
