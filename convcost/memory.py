"""Activation memory: how many values each layer produces, and the peak working set of a forward pass.

The peak models an executor that runs the nodes one at a time in topological order and frees every
tensor as soon as nothing reads it any more. Running one node needs its inputs and its output at
once, plus every tensor still waiting for a later reader (a block's input while branches that read
it are still to run, finished branches' outputs until their merge); the model's outputs are kept to
the end. Parameters are not part of the working set (they are reported separately).
"""

from __future__ import annotations

from collections.abc import Sequence

from convcost.graph import Graph
from convcost.layer import elements
from convcost.record import record
from convcost.shapes import ShapedNode

#: bytes per value of each --dtype
DTYPE_BYTES = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}


@record
class Peak:
    """The largest number of activation values alive at once (per sample) and where it happens."""

    values: int
    path: str


def peak_working_set(graph: Graph, shaped: Sequence[ShapedNode]) -> Peak:
    """The peak of ``graph``, whose nodes ``shaped`` gives with their shapes (``infer_shapes``)."""
    end = len(graph.nodes)
    last_read = {name: end for name in graph.outputs}  # outputs live to the end
    for step, node in enumerate(graph.nodes):
        for name in node.inputs:
            last_read[name] = max(last_read.get(name, step), step)
    size = {i.name: elements(i.shape) for i in graph.inputs}
    live = sum(size.values())
    best = Peak(0, "")
    for step, s in enumerate(shaped):
        out = elements(s.output)
        if live + out > best.values:
            best = Peak(live + out, s.path)
        size[s.path] = out
        live += out
        for name in dict.fromkeys(s.node.inputs):
            if last_read[name] == step:
                live -= size[name]
    return best
