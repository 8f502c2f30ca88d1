"""Activation memory: how many values each layer produces, and the peak working set of a forward pass.

The peak models an executor that runs layers one at a time and frees every tensor as soon as
nothing reads it any more. Running one layer needs its input and its output at once, plus every
tensor still waiting for a later reader: the input of a ``Parallel`` while branches that read it
are still to run, and the outputs of finished branches until the merge. Parameters are not part
of the working set (they are reported separately).
"""

from __future__ import annotations

from dataclasses import dataclass

from convcost.shapes import ShapedLayer, infer_shapes
from convcost.spec import Model, Parallel, Sequential, Shape, elements

#: bytes per value of each --dtype
DTYPE_BYTES = {"float64": 8, "float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}


@dataclass(frozen=True)
class Peak:
    """The largest number of activation values alive at once (per sample) and where it happens."""

    values: int
    path: str


def peak_working_set(model: Model, shaped: list[ShapedLayer] | None = None) -> Peak:
    """The peak for ``model``; ``shaped`` (from ``infer_shapes``) saves working the shapes out again."""
    outputs_by_path = {path: out for path, _, _, out in (shaped or infer_shapes(model))}
    best = Peak(0, "")

    def run(block: Sequential, shape: Shape, prefix: str, held: int, input_held: bool) -> Shape:
        """Run ``block`` on a map of ``shape`` while ``held`` other values stay alive.

        ``input_held``: the block's input is already counted in ``held`` (someone else still
        needs it), so reading it costs nothing extra.
        """
        nonlocal best
        for layer in block.layers:
            path = prefix + layer.name
            if isinstance(layer, Sequential):
                shape = run(layer, shape, path + "/", held, input_held)
            elif isinstance(layer, Parallel):
                shape = branches(layer, shape, path, held, input_held)
            else:
                out = outputs_by_path[path]
                live = held + (0 if input_held else elements(shape)) + elements(out)
                if live > best.values:
                    best = Peak(live, path)
                shape = out
            input_held = False
        return shape

    def branches(layer: Parallel, shape: Shape, path: str, held: int, input_held: bool) -> Shape:
        nonlocal best
        x = elements(shape)
        finished = 0  # values of finished branches' outputs, waiting for the merge
        identity = False  # an empty branch's output is the input itself
        last = len(layer.branches) - 1
        for i, branch in enumerate(layer.branches):
            x_alive = i < last or identity
            extra = finished + (x if x_alive and not input_held else 0)
            out = run(branch, shape, f"{path}/{branch.name}/", held + extra, x_alive or input_held)
            if branch.layers:
                finished += elements(out)
            else:
                identity = True
        merged = outputs_by_path[path]
        inputs = finished + (x if identity and not input_held else 0)
        live = held + inputs + elements(merged)
        if live > best.values:
            best = Peak(live, path)
        return merged

    run(model.body, model.input, "", 0, False)
    return best
