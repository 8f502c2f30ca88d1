"""convcost: what a convolutional network costs, layer by layer, and why.

The analytic path (spec, shapes, closed-form costs, report) uses only Python integers: importing
convcost imports no NumPy and no deep-learning framework.
"""

from typing import TYPE_CHECKING

from convcost import _startup  # noqa: F401  (first: a Ctrl-C during the command's start-up is one line)
from convcost.cost import Cost
from convcost.errors import (
    ConvcostError,
    GeometryError,
    MissingDependencyError,
    SpecError,
    UnknownConventionError,
    UnknownModelError,
)
from convcost.loading import from_keras, from_onnx, from_torch, load
from convcost.report import Report, Row, SeparablePair, Totals, analyze
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
    Graph,
    GraphBuilder,
    Input,
    Layer,
    MaxPool2D,
    Model,
    Node,
    Pad2D,
    Parallel,
    Permute,
    Reshape,
    Resize,
    SeparableConv2D,
    Sequential,
    Slice,
    Unknown,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
)
from convcost.summary import summary
from convcost.zoo import ZOO, build, mobilenet_v1, mobilenet_v1_conv, mobilenet_v1_shallow

__version__ = "0.1.0"

if TYPE_CHECKING:
    from convcost.conventions import CONVENTIONS
else:

    def __getattr__(name: str) -> object:
        # CONVENTIONS holds the five tools' rule tables, imported when first asked for
        if name == "CONVENTIONS":
            from convcost.conventions import CONVENTIONS

            return CONVENTIONS
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted([*globals(), "CONVENTIONS"])


__all__ = [
    "CONVENTIONS",
    "ZOO",
    "Activation",
    "Add",
    "AvgPool2D",
    "BatchNorm",
    "ChannelShuffle",
    "Concat",
    "Conv1DTranspose",
    "Conv2D",
    "Conv2DTranspose",
    "ConvcostError",
    "Cost",
    "Cropping1D",
    "Cropping2D",
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
    "Pad2D",
    "Parallel",
    "Permute",
    "Report",
    "Reshape",
    "Resize",
    "Row",
    "SeparableConv2D",
    "SeparablePair",
    "Sequential",
    "Slice",
    "SpecError",
    "Totals",
    "Unknown",
    "UnknownConventionError",
    "UnknownModelError",
    "UpSampling2D",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "analyze",
    "build",
    "from_keras",
    "from_onnx",
    "from_torch",
    "load",
    "mobilenet_v1",
    "mobilenet_v1_conv",
    "mobilenet_v1_shallow",
    "summary",
]
