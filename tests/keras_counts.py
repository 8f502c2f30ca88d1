"""What Keras itself says a model costs, read off live Keras 3 objects (independent of convcost).

* parameters: ``model.count_params()``; trainable / non-trainable: the sizes of
  ``model.trainable_weights`` / ``model.non_trainable_weights`` (Keras de-duplicates a shared
  layer's variables there and applies ``trainable=False`` of any model around a layer);
* conv + dense multiply-adds, per call: every node of every operation in the model's graph
  (``Functional._nodes_by_depth``; a nested model recursed into once per call), from the real
  kernel variables and the real tensor shapes of that call:

    Conv2D           size(kernel) * Hout * Wout        kernel (kh, kw, Cin / groups, Cout)
    DepthwiseConv2D  size(kernel) * Hout * Wout        kernel (kh, kw, Cin, multiplier)
    SeparableConv2D  (size(depthwise_kernel) + size(pointwise_kernel)) * Hout * Wout
    Conv2DTranspose  size(kernel) * Hin * Win          every input pixel meets the whole kernel
    Dense            size(kernel) * positions          positions: the output's axes between batch and channels

  No bias, normalisation, activation, pooling or element-wise work (the paper's convention). A
  layer that owns weights and is none of these nor a known weight-only kind raises: a gap is loud.
* ``concrete_macs``: the same rules on the shapes Keras computes when it runs a saved graph at
  given input shapes (``compute_output_spec`` along the graph): a model saved with None sizes,
  counted as Keras would run it.
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras.src.models.functional import Functional

WEIGHT_ONLY = {
    "BatchNormalization",
    "LayerNormalization",
    "GroupNormalization",
    "Normalization",
    "LayerScale",
    "PReLU",
}


def size(w: Any) -> int:
    return math.prod(int(d) for d in w.shape)


def weight_counts(model: Any) -> tuple[int, int, int]:
    """(params, trainable, non-trainable) as Keras reports them."""
    trainable = sum(size(w) for w in model.trainable_weights)
    non_trainable = sum(size(w) for w in model.non_trainable_weights)
    assert model.count_params() == trainable + non_trainable
    return model.count_params(), trainable, non_trainable


def _spatial(shape: tuple[Any, ...]) -> int:
    dims = shape[1:-1]
    assert all(d is not None for d in dims), f"spatial size unknown: {shape}"
    return math.prod(dims)


def _graph(model: Any) -> Any:
    return model._functional if isinstance(model, keras.Sequential) else model


def layer_macs(op: Any, inputs: list[tuple[Any, ...]], outputs: list[tuple[Any, ...]]) -> int:
    cls = type(op).__name__
    if not isinstance(op, keras.layers.Layer) or not op.weights or cls in WEIGHT_ONLY:
        return 0
    assert len(inputs) == 1, (op.name, inputs)
    x, y = inputs[0], outputs[0]
    if cls in ("Conv2D", "DepthwiseConv2D", "Conv1D"):
        return size(op.kernel) * _spatial(y)
    if cls == "SeparableConv2D":
        return (size(op.depthwise_kernel) + size(op.pointwise_kernel)) * _spatial(y)
    if cls == "Conv2DTranspose":
        return size(op.kernel) * _spatial(x)
    if cls == "Dense":
        return size(op.kernel) * (math.prod(y[1:-1]) if len(y) > 2 else 1)
    raise AssertionError(f"layer {op.name}: {cls} owns weights and has no multiply-add rule here")


def macs(model: Any) -> int:
    """Conv + dense multiply-adds of one forward pass, counted per call from the built graph."""
    total = 0
    for nodes in _graph(model)._nodes_by_depth.values():
        for node in nodes:
            op = node.operation
            if isinstance(op, (Functional, keras.Sequential)):
                total += macs(op)  # a nested model: its graph once per call (same shapes: asserted by Keras)
            elif not isinstance(op, keras.layers.InputLayer):
                total += layer_macs(
                    op, [tuple(t.shape) for t in node.input_tensors], [tuple(t.shape) for t in node.outputs]
                )
    return total


def concrete_macs(model: Any, input_shapes: list[tuple[Any, ...]]) -> int:
    """Conv + dense multiply-adds of ``model`` run on inputs of these (Keras, channels-last) shapes."""
    counted = [0]

    def run(fn: Any, inputs: list[Any]) -> Any:
        def call(op: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(op, (Functional, keras.Sequential)):
                flat = [a for a in keras.tree.flatten((args, kwargs)) if isinstance(a, keras.KerasTensor)]
                return run(op, flat)
            out = op.compute_output_spec(*args, **kwargs)
            ins = [tuple(a.shape) for a in keras.tree.flatten(args) if isinstance(a, keras.KerasTensor)]
            counted[0] += layer_macs(op, ins, [tuple(o.shape) for o in keras.tree.flatten(out)])
            return out

        return _graph(fn)._run_through_graph(inputs, call_fn=call)

    run(model, [keras.KerasTensor(shape) for shape in input_shapes])
    return counted[0]


def counts(model: Any) -> tuple[int, int, int, int]:
    """(params, trainable, non-trainable, conv + dense multiply-adds) of a built Keras model."""
    return (*weight_counts(model), macs(model))
