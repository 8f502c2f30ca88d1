"""The completeness contract: every layer kind, through every interpreter.

``EXAMPLES`` holds, for every kind, a few layers with the input shapes they are applied to (add
yours when you declare a kind). ``gaps(kind)`` runs each example through every interpreter and
returns what is missing or wrong, as ``"<Kind>: <interpreter>: <why>"`` lines:

* shapes, the seven conventions, FLOPs (every rule answers with exact integers);
* the NumPy reference (its output shape is the declared one, its counted multiply-adds the paper's,
  its allocated parameters the keras convention's);
* ``to_torch`` (builds, runs, gives the declared shape, holds the torch parameters the tool
  conventions count), ``to_keras`` (builds, gives the shape, ``count_params()`` as ``keras``);
* the spec-file round trip (TOML and JSON);
* the readers that can produce the kind: Keras JSON (from the ``to_keras`` build) and torch (from
  the ``to_torch`` build), read back to the same counts.

A kind a framework cannot express at all is listed in ``NOT_BUILDABLE`` with the reason; a kind
whose reader is being written elsewhere is listed in ``PENDING`` with the reason. Those are the only
ways to be excused from an interpreter.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

from convcost import specfile
from convcost.conventions import CONVENTIONS
from convcost.errors import MissingRuleError
from convcost.graph import GraphBuilder
from convcost.layer import LAYER_TYPES, Layer, Shape
from convcost.layers.elementwise import (  # family A (issue 12)
    Average,
    Divide,
    DropPath,
    Identity,
    LayerScale,
    Maximum,
    Minimum,
    Multiply,
    Normalization,
    PReLU,
    Rescaling,
    ScalarOp,
    Subtract,
)
from convcost.model import Model
from convcost.report import analyze

# Family C (issue 12)
from convcost.spec import (
    Activation,
    Add,
    AvgPool2D,
    BatchNorm,
    ChannelShuffle,
    Concat,
    Conv1DTranspose,
    Conv2D,
    Conv2DTranspose,
    Cropping1D,
    Cropping2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    MaxPool2D,
    Pad2D,
    Permute,
    Reshape,
    Resize,
    SeparableConv2D,
    Slice,
    Unknown,
    UpSampling2D,
    WeightOp,
    ZeroPadding1D,
    ZeroPadding2D,
)

Example = tuple[Layer, tuple[Shape, ...]]

EXAMPLES: dict[type[Layer], list[Example]] = {
    Conv2D: [
        (Conv2D(6, 3, stride=2, padding="same", name="k"), ((4, 9, 9),)),
        (Conv2D(8, (1, 3), padding=1, dilation=(1, 2), groups=2, bias=False, name="k"), ((4, 7, 8),)),
        (Conv2D(4, 3, groups=4, padding="same", name="k"), ((4, 6, 6),)),
    ],
    DepthwiseConv2D: [(DepthwiseConv2D(3, stride=2, padding="same", depth_multiplier=2, name="k"), ((3, 8, 7),))],
    SeparableConv2D: [(SeparableConv2D(5, 3, padding="same", depth_multiplier=2, name="k"), ((3, 8, 8),))],
    Dense: [(Dense(5, name="k"), ((7,),)), (Dense(4, bias=False, name="k"), ((3, 2, 2),))],
    BatchNorm: [(BatchNorm(name="k"), ((4, 5, 5),)), (BatchNorm(name="k"), ((6,),))],
    Activation: [(Activation(f, name="k"), ((3, 4, 4),)) for f in ("relu", "relu6", "hard_swish", "softmax")],
    MaxPool2D: [(MaxPool2D(3, stride=2, padding=1, name="k"), ((3, 9, 9),))],
    AvgPool2D: [(AvgPool2D(2, name="k"), ((3, 8, 8),))],
    GlobalAvgPool2D: [
        (GlobalAvgPool2D(name="k"), ((3, 5, 5),)),
        (GlobalAvgPool2D(keepdims=True, name="k"), ((3, 4, 4),)),
    ],
    ZeroPadding2D: [(ZeroPadding2D(((0, 1), (2, 3)), name="k"), ((2, 4, 4),))],
    Add: [(Add(name="k"), ((3, 4, 4), (3, 4, 4))), (Add(name="k"), ((5,), (5,), (5,)))],
    Concat: [(Concat(name="k"), ((3, 4, 4), (2, 4, 4)))],
    Flatten: [(Flatten(name="k"), ((3, 2, 2),))],
    Dropout: [(Dropout(0.2, name="k"), ((3, 4, 4),))],
    Reshape: [(Reshape((4, 3), name="k"), ((3, 2, 2),))],
    Unknown: [(Unknown(op="aten.weird", output=(2, 3), name="k"), ((3, 4),))],
    WeightOp: [
        (WeightOp("subtract", (3, 1, 1), name="k"), ((3, 4, 4),)),
        (WeightOp("rdivide", (1, 4, 5), name="k"), ((2, 4, 5),)),
        (WeightOp("multiply", (6,), name="k"), ((6,),)),
    ],
}

# family A (issue 12): element-wise, arithmetic, preprocessing, activations
EXAMPLES[Add] += [(Add(name="k"), ((3, 1, 1), (3, 4, 5))), (Add(name="k"), ((1, 4, 1), (3, 1, 5), (3, 4, 5)))]
EXAMPLES[Activation] += [(Activation(f, name="k"), ((3, 4, 4),)) for f in ("mish", "gelu_tanh", "hard_sigmoid")]
EXAMPLES[Dropout] += [
    (Dropout(0.1, spatial=True, name="k"), ((3, 4, 4),)),
    (Dropout(spatial=True, name="k"), ((3, 7),)),
]
EXAMPLES.update(
    {
        Multiply: [(Multiply(name="k"), ((4, 5, 5), (4, 1, 1))), (Multiply(name="k"), ((3, 4), (3, 4), (1, 4)))],
        Subtract: [(Subtract(name="k"), ((3, 4, 4), (3, 1, 4)))],
        Divide: [(Divide(name="k"), ((3, 4, 4), (3, 4, 4))), (Divide(name="k"), ((6,), (1,)))],
        Maximum: [(Maximum(name="k"), ((3, 4, 4), (1, 4, 4), (3, 1, 1)))],
        Minimum: [(Minimum(name="k"), ((2, 3, 3), (2, 3, 3)))],
        Average: [(Average(name="k"), ((3, 4, 4), (3, 1, 1), (3, 4, 4)))],
        ScalarOp: [
            (ScalarOp(op, value, name="k"), ((3, 4, 4),))
            for op, value in (("add", 3), ("rsubtract", 1.0), ("multiply", 1 / 6), ("divide", 255), ("power", 2))
        ]
        + [(ScalarOp(op, value, name="k"), ((5,),)) for op, value in (("rdivide", 1), ("maximum", 0), ("minimum", 6))],
        Rescaling: [
            (Rescaling(1 / 255, name="k"), ((3, 4, 4),)),
            (Rescaling((0.5, 1.0, 2.0), offset=(-1, 0, 1), name="k"), ((3, 4, 4),)),
        ],
        Normalization: [
            (Normalization(name="k"), ((3, 4, 4),)),
            (Normalization(mean=(0.5, 0.4, 0.3), variance=(0.1, 0.2, 0.3), name="k"), ((3, 4, 4),)),
            (Normalization(axis=1, invert=True, name="k"), ((3, 5, 4),)),
        ],
        LayerScale: [(LayerScale(name="k"), ((6, 3, 3),)), (LayerScale(scalar=True, name="k"), ((4, 3, 3),))],
        PReLU: [(PReLU(shared, name="k"), ((3, 4, 5),)) for shared in ("channel", "element", "single")]
        + [(PReLU("element", name="k"), ((6,),)), (PReLU(name="k"), ((3, 7),))],
        Identity: [(Identity(name="k"), ((3, 4, 4),))],
        DropPath: [(DropPath(0.2, name="k"), ((3, 4, 4),))],
    }
)

# Family C (issue 12): resolution changes, channel plumbing, padding
EXAMPLES |= {
    Conv2DTranspose: [
        # Keras 'same' at stride 2 removes its odd row at the end: torch needs a crop after the conv
        (Conv2DTranspose(4, 3, stride=2, padding="same", name="k"), ((3, 5, 6),)),
        (Conv2DTranspose(4, (2, 3), stride=(2, 1), output_padding=(1, 0), bias=False, name="k"), ((2, 4, 5),)),
        (Conv2DTranspose(6, 4, stride=2, padding=1, name="k"), ((3, 4, 4),)),  # torch's padding
    ],
    Conv1DTranspose: [
        (Conv1DTranspose(4, 3, stride=2, padding="same", name="k"), ((3, 7),)),
        (Conv1DTranspose(2, 2, stride=3, padding=1, output_padding=2, name="k"), ((2, 5),)),
    ],
    UpSampling2D: [
        (UpSampling2D(2, name="k"), ((3, 4, 5),)),
        (UpSampling2D((2, 3), interpolation="bilinear", name="k"), ((2, 3, 4),)),
    ],
    Resize: [
        (Resize((7, 9), interpolation="bilinear", name="k"), ((3, 4, 5),)),
        (Resize((8, 10), interpolation="nearest", name="k"), ((2, 4, 5),)),
        (Resize((5, 7), interpolation="nearest_exact", name="k"), ((2, 3, 4),)),
    ],
    Cropping2D: [(Cropping2D(((1, 0), (2, 1)), name="k"), ((3, 5, 6),))],
    Cropping1D: [(Cropping1D((1, 2), name="k"), ((3, 6),))],
    Slice: [(Slice(0, 1, 3, name="k"), ((4, 3, 3),)), (Slice(-1, 0, None, 2, name="k"), ((2, 3, 5),))],
    Permute: [(Permute((1, 2, 0), name="k"), ((3, 4, 5),)), (Permute((1, 0), name="k"), ((3, 4),))],
    ChannelShuffle: [(ChannelShuffle(2, name="k"), ((4, 3, 3),)), (ChannelShuffle(3, name="k"), ((6, 5),))],
    Pad2D: [
        (Pad2D(((1, 0), (2, 1)), mode="reflect", name="k"), ((2, 4, 4),)),
        (Pad2D(1, mode="replicate", name="k"), ((2, 3, 3),)),
        (Pad2D((1, 2), name="k"), ((2, 3, 3),)),
    ],
    ZeroPadding1D: [(ZeroPadding1D((1, 2), name="k"), ((3, 4),))],
}

#: (kind, interpreter) pairs a kind is excused from, with the reason
NOT_BUILDABLE: dict[tuple[type[Layer], str], str] = {
    (Unknown, "to_torch"): "an operation no reader could map has no module to build",
    (Unknown, "to_keras"): "an operation no reader could map has no Keras layer to build",
    (Unknown, "reference"): "the reference stands in zeros for it: nothing to hold against",
    (Unknown, "read:keras"): "it cannot be built in Keras, so there is nothing to read back",
    (Unknown, "read:torch"): "it cannot be built in torch, so there is nothing to read back",
    (WeightOp, "to_keras"): "Keras has no layer that applies a tensor of weights with an operator",
    (WeightOp, "read:keras"): "it cannot be built in Keras, so there is nothing to read back",
}

# issue 12, family B: normalisation, pooling, 1-D convnets
from convcost.spec import (  # noqa: E402
    AdaptiveAvgPool2D,
    AdaptiveMaxPool2D,
    AvgPool1D,
    Conv1D,
    DepthwiseConv1D,
    GlobalAvgPool1D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GroupNorm,
    InstanceNorm,
    LayerNorm,
    MaxPool1D,
    SeparableConv1D,
)

EXAMPLES[MaxPool2D] += [
    (MaxPool2D(3, stride=2, ceil_mode=True, name="k"), ((3, 8, 8),)),  # a last, partial window
]
EXAMPLES[AvgPool2D] += [
    (AvgPool2D(3, stride=2, ceil_mode=True, name="k"), ((3, 8, 8),)),
    (AvgPool2D(3, stride=1, padding=1, count_include_pad=False, name="k"), ((3, 5, 5),)),
]
EXAMPLES.update(
    {
        LayerNorm: [
            (LayerNorm(name="k"), ((4, 5, 5),)),  # over the channels of a map (ConvNeXt)
            (LayerNorm(center=False, name="k"), ((6,),)),
            (LayerNorm(center=False, scale=False, name="k"), ((3, 4),)),
        ],
        GroupNorm: [
            (GroupNorm(2, name="k"), ((4, 3, 3),)),
            (GroupNorm(3, center=False, scale=False, name="k"), ((6, 5),)),
        ],
        InstanceNorm: [
            (InstanceNorm(name="k"), ((3, 4, 4),)),
            (InstanceNorm(affine=True, name="k"), ((2, 5, 5),)),
            (InstanceNorm(affine=True, track_running_stats=True, name="k"), ((3, 6),)),
        ],
        GlobalMaxPool2D: [
            (GlobalMaxPool2D(name="k"), ((3, 5, 4),)),
            (GlobalMaxPool2D(keepdims=True, name="k"), ((3, 4, 4),)),
        ],
        AdaptiveAvgPool2D: [(AdaptiveAvgPool2D((2, 3), name="k"), ((3, 7, 8),))],
        AdaptiveMaxPool2D: [(AdaptiveMaxPool2D(2, name="k"), ((3, 5, 5),))],
        MaxPool1D: [
            (MaxPool1D(3, stride=2, padding="same", name="k"), ((3, 10),)),  # the odd pad on the right
            (MaxPool1D(2, ceil_mode=True, name="k"), ((2, 7),)),
        ],
        AvgPool1D: [
            (AvgPool1D(3, stride=1, padding="same", name="k"), ((3, 8),)),
            (AvgPool1D(2, ceil_mode=True, name="k"), ((2, 7),)),
        ],
        GlobalAvgPool1D: [
            (GlobalAvgPool1D(name="k"), ((3, 6),)),
            (GlobalAvgPool1D(keepdims=True, name="k"), ((3, 5),)),
        ],
        GlobalMaxPool1D: [
            (GlobalMaxPool1D(name="k"), ((3, 6),)),
            (GlobalMaxPool1D(keepdims=True, name="k"), ((3, 5),)),
        ],
        Conv1D: [
            (Conv1D(6, 3, stride=2, padding="same", name="k"), ((4, 9),)),
            (Conv1D(8, 3, padding="causal", dilation=2, groups=2, bias=False, name="k"), ((4, 10),)),
            (Conv1D(4, 3, groups=4, padding="same", name="k"), ((4, 6),)),
            (Conv1D(5, 1, name="k"), ((3, 7),)),
        ],
        DepthwiseConv1D: [(DepthwiseConv1D(3, stride=2, padding="same", depth_multiplier=2, name="k"), ((3, 8),))],
        SeparableConv1D: [(SeparableConv1D(5, 3, padding="same", depth_multiplier=2, name="k"), ((3, 8),))],
    }
)

#: (kind, interpreter) pairs waiting for a reader being written elsewhere, with the reason
PENDING: dict[tuple[type[Layer], str], str] = {}

#: what a reader gives back for a kind the framework builds as another's module or layer: read back,
#: every other kind is itself (a fold that stops recovering a kind keeps the counts, not the kind)
READS_AS: dict[tuple[str, str], set[str]] = {
    ("DepthwiseConv2D", "read:torch"): {"Conv2D"},  # torch builds it as a grouped nn.Conv2d
    ("DepthwiseConv1D", "read:torch"): {"Conv1D"},
    ("WeightOp", "read:torch"): {"LayerScale"},  # x * a learned per-channel tensor
    ("ScalarOp", "read:torch"): {"Activation"},  # maximum(x, 0) is a ReLU
    ("Cropping1D", "read:torch"): {"Slice"},
    ("Pad2D", "read:torch"): {"ZeroPadding2D"},  # constant padding with zeros
    ("Pad2D", "read:keras"): {"ZeroPadding2D"},
    ("ChannelShuffle", "read:keras"): {"Reshape", "Permute"},  # Keras has no shuffle layer
    ("InstanceNorm", "read:keras"): {"GroupNorm", "BatchNorm"},  # as the example's options build it
}


#: the interpreters, in the order ``gaps`` checks them
INTERPRETERS = (
    "shapes",
    *CONVENTIONS,
    "flops",
    "reference",
    "to_torch",
    "to_keras",
    "specfile",
    "read:keras",
    "read:torch",
)


def example_model(layer: Layer, inputs: tuple[Shape, ...]) -> Model:
    """The model that applies ``layer`` to inputs of these shapes (several inputs for a merge)."""
    builder = GraphBuilder()
    names = [builder.input("input" if i == 0 else f"input_{i}", shape) for i, shape in enumerate(inputs)]
    builder.add("k", layer, names)
    return Model.from_graph(f"{type(layer).__name__.lower()}_example", builder.graph(["k"]))


def _channels_last(shape: Shape) -> tuple[int, ...]:
    return (*shape[1:], shape[0]) if len(shape) >= 2 else tuple(shape)


def _check(kind: type[Layer], interpreter: str, model: Model) -> None:
    """Raise (any exception) when ``interpreter`` lacks or gets wrong the kind in ``model``."""
    if interpreter == "shapes":
        model.shaped  # noqa: B018
    elif interpreter in CONVENTIONS:
        totals = analyze(model, interpreter).totals
        assert all(type(v) is int and v >= 0 for v in totals.to_dict().values()), totals
    elif interpreter == "flops":
        for convention in CONVENTIONS:
            report = analyze(model, convention)
            multiply_adds, elementwise = report.flops_split
            assert multiply_adds >= 0 and elementwise >= 0, (convention, report.flops_split)
        layer = model.graph.nodes[0].layer
        assert layer.elementwise(model.shaped[0].site) >= 0
    elif interpreter == "reference":
        from convcost.reference import run

        (count,) = run(model).layers
        keras, paper = analyze(model, "keras").totals, analyze(model, "paper").totals
        assert count.output == model.shaped[0].output, (count.output, model.shaped[0].output)
        assert count.macs == paper.macs, (count.macs, paper.macs)
        assert (count.trainable, count.non_trainable) == (keras.trainable, keras.non_trainable)
    elif interpreter == "to_torch":
        import torch

        from convcost.interop.torch import to_torch

        module = to_torch(model).eval()
        with torch.no_grad():
            out = module(*(torch.zeros(2, *i.shape) for i in model.inputs))
        assert tuple(out.shape[1:]) == model.shaped[0].output, (tuple(out.shape), model.shaped[0].output)
        assert sum(p.numel() for p in module.parameters()) == analyze(model, "torchinfo").totals.params
    elif interpreter == "to_keras":
        from convcost.interop.keras import to_keras

        built = to_keras(model)
        assert tuple(built.output.shape[1:]) == _channels_last(model.shaped[0].output)
        keras = analyze(model, "keras").totals
        assert built.count_params() == keras.params
        trainable = sum(math.prod(w.shape) for w in built.trainable_weights)
        assert trainable == keras.trainable, (trainable, keras.trainable)
    elif interpreter == "specfile":
        for fmt in ("toml", "json"):
            assert specfile.loads(specfile.dumps(model, fmt), fmt) == model, fmt
    elif interpreter == "read:keras":
        from convcost.interop.keras import from_keras_json, to_keras

        back = from_keras_json(to_keras(model).to_json())
        # Keras has no padding on a layer (explicit padding is a layer of its own): the torch tools
        # may price that build differently, Keras' own counts may not
        _same_counts(back, model, ("paper", "keras"))
        _same_kind(back, kind, interpreter)
    elif interpreter == "read:torch":
        from convcost.interop.torch import from_torch, to_torch

        if len(model.inputs) > 1:
            return  # the torch reader takes one input
        back = from_torch(to_torch(model).eval(), model.input, batch=model.batch)
        _same_counts(back, model, tuple(CONVENTIONS))
        _same_kind(back, kind, interpreter)
    else:
        raise ValueError(interpreter)


def _same_kind(back: Model, kind: type[Layer], reader: str) -> None:
    """Read back, the layer is its own kind again, or the stand-in ``READS_AS`` names."""
    kinds = {type(node.layer).__name__ for node in back.graph.nodes}
    expected = READS_AS.get((kind.__name__, reader), {kind.__name__})
    assert kind.__name__ in kinds or kinds <= expected, f"read back as {sorted(kinds)}"


def _same_counts(back: Model, model: Model, conventions: tuple[str, ...]) -> None:
    """Read back, the model costs the same under these conventions (rows may be split differently)."""
    for convention in conventions:
        ours = analyze(model, convention).totals.to_dict()
        theirs = analyze(back, convention).totals.to_dict()
        assert theirs == ours, (convention, theirs, ours)


def gaps(kind: type[Layer], only: Callable[[str], bool] = lambda _: True) -> list[str]:
    """What ``kind`` lacks or gets wrong, one line per (interpreter, example)."""
    if kind not in EXAMPLES:
        return [f"{kind.__name__}: no example in tests/completeness.py EXAMPLES"]
    found: list[str] = []
    for interpreter in INTERPRETERS:
        if not only(interpreter) or (kind, interpreter) in NOT_BUILDABLE or (kind, interpreter) in PENDING:
            continue
        for layer, inputs in EXAMPLES[kind]:
            try:
                _check(kind, interpreter, example_model(layer, inputs))
            except MissingRuleError as e:
                found.append(f"{kind.__name__}: {interpreter}: missing ({e})")
                break
            except Exception as e:  # any failure is a gap: say what it was
                detail = " ".join(f"{type(e).__name__}: {e}".split())[:300]
                found.append(f"{kind.__name__}: {interpreter}: {detail}")
                break
    return found


def all_kinds() -> list[type[Layer]]:
    return list(LAYER_TYPES.values())


__all__ = ["EXAMPLES", "INTERPRETERS", "NOT_BUILDABLE", "PENDING", "READS_AS", "all_kinds", "example_model", "gaps"]

_ = Any
