"""A network is data: layers (frozen dataclasses), the blocks that arrange them, and the graph they make.

This module gathers the public spec in one place: the layer kinds (``convcost.layers``, each
declared once), the ``Sequential`` / ``Parallel`` builders (``convcost.blocks``), the graph
(``convcost.graph``) and ``Model`` (``convcost.model``). Nothing here computes a cost or imports a
numeric library.

Conventions shared by all layers:

* shapes are channels-first: a feature map is ``(C, H, W)``, a flat vector ``(features,)``;
* ``kernel``, ``stride``, ``dilation`` and ``pool`` take an int or an ``(h, w)`` pair and are stored
  as pairs;
* ``padding`` is ``"same"`` (Keras: output ``ceil(in / stride)``, any odd pixel of padding at the
  bottom/right), ``"valid"`` (no padding), an int ``p`` or pair ``(ph, pw)`` (torch-style,
  symmetric), or ``((top, bottom), (left, right))``; explicit padding is stored in the last form.
"""

from __future__ import annotations

from convcost.blocks import MAX_DEPTH, MERGES, Block, Element, Parallel, Sequential, Wiring, lower
from convcost.graph import INPUT, Graph, GraphBuilder, Input, Node
from convcost.layer import (
    CATEGORIES,
    LAYER_TYPES,
    ExplicitPadding,
    Layer,
    Padding,
    Pair,
    Shape,
    Site,
    Source,
    Weight,
    elements,
    field_names,
)
from convcost.layers import (
    ACTIVATIONS,
    Activation,
    Add,
    AvgPool2D,
    BatchNorm,
    Concat,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    MaxPool2D,
    Reshape,
    SeparableConv2D,
    Unknown,
    ZeroPadding2D,
)
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

__all__ = [
    "ACTIVATIONS",
    "CATEGORIES",
    "INPUT",
    "LAYER_TYPES",
    "MAX_DEPTH",
    "MERGES",
    "Activation",
    "Add",
    "AvgPool2D",
    "BatchNorm",
    "Block",
    "Concat",
    "Conv2D",
    "Dense",
    "DepthwiseConv2D",
    "Dropout",
    "Element",
    "ExplicitPadding",
    "Flatten",
    "GlobalAvgPool2D",
    "Graph",
    "GraphBuilder",
    "Input",
    "Layer",
    "MaxPool2D",
    "Model",
    "Node",
    "Padding",
    "Pair",
    "Parallel",
    "Reshape",
    "SeparableConv2D",
    "Sequential",
    "Shape",
    "Site",
    "Source",
    "Unknown",
    "Weight",
    "Wiring",
    "ZeroPadding2D",
    "elements",
    "field_names",
    "lower",
]

# family A (issue 12): element-wise, arithmetic, preprocessing, activations
__all__ += [
    "Average",
    "Divide",
    "DropPath",
    "Identity",
    "LayerScale",
    "Maximum",
    "Minimum",
    "Multiply",
    "Normalization",
    "PReLU",
    "Rescaling",
    "ScalarOp",
    "Subtract",
]

# issue 12, family B: normalisation, pooling, 1-D convnets
from convcost.layers import (  # noqa: E402
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

__all__ += [
    "AdaptiveAvgPool2D",
    "AdaptiveMaxPool2D",
    "AvgPool1D",
    "Conv1D",
    "DepthwiseConv1D",
    "GlobalAvgPool1D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GroupNorm",
    "InstanceNorm",
    "LayerNorm",
    "MaxPool1D",
    "SeparableConv1D",
]
