"""convcost: what a convolutional network costs, layer by layer, and why.

The analytic path (spec, shapes, closed-form costs, report) uses only Python integers: importing
convcost imports no NumPy and no deep-learning framework.
"""

from convcost import _startup  # noqa: F401  (first: a Ctrl-C during the command's start-up is one line)
from convcost.conventions import CONVENTIONS
from convcost.cost import Cost
from convcost.errors import (
    ConvcostError,
    GeometryError,
    MissingDependencyError,
    SpecError,
    UnknownConventionError,
    UnknownModelError,
)
from convcost.report import Report, Row, SeparablePair, Totals, analyze
from convcost.spec import (
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
    Graph,
    GraphBuilder,
    Input,
    Layer,
    MaxPool2D,
    Model,
    Node,
    Parallel,
    Reshape,
    SeparableConv2D,
    Sequential,
    Unknown,
    ZeroPadding2D,
)
from convcost.zoo import ZOO, build, mobilenet_v1, mobilenet_v1_conv, mobilenet_v1_shallow

__version__ = "0.1.0"

__all__ = [
    "CONVENTIONS",
    "ZOO",
    "Activation",
    "Add",
    "AvgPool2D",
    "BatchNorm",
    "Concat",
    "Conv2D",
    "ConvcostError",
    "Cost",
    "Dense",
    "DepthwiseConv2D",
    "Dropout",
    "Flatten",
    "GeometryError",
    "GlobalAvgPool2D",
    "Graph",
    "GraphBuilder",
    "Input",
    "Layer",
    "MaxPool2D",
    "MissingDependencyError",
    "Model",
    "Node",
    "Parallel",
    "Report",
    "Reshape",
    "Row",
    "SeparableConv2D",
    "SeparablePair",
    "Sequential",
    "SpecError",
    "Totals",
    "Unknown",
    "UnknownConventionError",
    "UnknownModelError",
    "ZeroPadding2D",
    "analyze",
    "build",
    "mobilenet_v1",
    "mobilenet_v1_conv",
    "mobilenet_v1_shallow",
]
