"""convcost: what a convolutional network costs, layer by layer, and why.

The analytic path (spec, shapes, closed-form costs, report) uses only Python integers: importing
convcost imports no NumPy and no deep-learning framework.
"""

from collections.abc import Sequence
from typing import Any

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
from convcost.zoo import ZOO, build, mobilenet_v1, mobilenet_v1_conv, mobilenet_v1_shallow

__version__ = "0.1.0"


def from_torch(
    module: Any,
    input_size: Sequence[int],
    *,
    batch: int | None = None,
    name: str | None = None,
    strict: bool = True,
) -> Model:
    """Read a torch module by running its forward once on shape-only tensors (torch is imported here).

    ``input_size`` follows torchinfo: ``(N, C, H, W)``, or ``(C, H, W)`` with ``batch``. Nodes are
    named by module path and keep their module's class, so every tool convention counts them as
    that tool counts the module. The module is read in eval mode; its mode, parameters and buffers
    are as they were afterwards. Unsupported operations are refused all at once; ``strict=False``
    costs them at zero as ``Unknown`` nodes (reports then mark their totals as lower bounds).
    See ``convcost.interop.torch.from_torch``.
    """
    from convcost.interop.torch import from_torch as read

    return read(module, input_size, batch=batch, name=name, strict=strict)


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
    "from_torch",
    "mobilenet_v1",
    "mobilenet_v1_conv",
    "mobilenet_v1_shallow",
]
