"""Every layer kind, one module per kind or small family.

Importing this package registers every kind (``convcost.layer.LAYER_TYPES``); the order of the
imports is the order in which reports list the kinds (the paper's Table 2 rows first).
"""

# ruff: noqa: I001 (the order of the imports is the order of the report's kinds)
from convcost.layers.conv import Conv2D, DepthwiseConv2D, SeparableConv2D
from convcost.layers.conv1d import Conv1D, DepthwiseConv1D, SeparableConv1D
from convcost.layers.dense import Dense
from convcost.layers.normalization import BatchNorm, GroupNorm, InstanceNorm, LayerNorm
from convcost.layers.activation import ACTIVATIONS, Activation
from convcost.layers.pooling import AvgPool2D, GlobalAvgPool2D, MaxPool2D
from convcost.layers.pooling import AdaptiveAvgPool2D, AdaptiveMaxPool2D, GlobalMaxPool2D
from convcost.layers.pooling1d import AvgPool1D, GlobalAvgPool1D, GlobalMaxPool1D, MaxPool1D
from convcost.layers.padding import ZeroPadding2D
from convcost.layers.merge import Add, Concat
from convcost.layers.elementwise import (
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
from convcost.layers.reshaping import Dropout, Flatten, Reshape
from convcost.layers.unknown import Unknown

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "Add",
    "AvgPool2D",
    "BatchNorm",
    "Concat",
    "Conv2D",
    "Dense",
    "DepthwiseConv2D",
    "Dropout",
    "Flatten",
    "GlobalAvgPool2D",
    "MaxPool2D",
    "Reshape",
    "SeparableConv2D",
    "Unknown",
    "ZeroPadding2D",
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
