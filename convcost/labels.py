"""How a layer is called: its kind, and the MobileNet paper's "Type / Stride" and "Filter Shape"."""

from __future__ import annotations

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
    Layer,
    MaxPool2D,
    Pair,
    Reshape,
    SeparableConv2D,
    Shape,
    ZeroPadding2D,
)

#: Kinds of layer, in the order reports list them. The first four are the paper's Table 2 rows.
KINDS = (
    "conv",
    "depthwise",
    "pointwise",
    "separable",
    "dense",
    "batchnorm",
    "activation",
    "pool",
    "global_pool",
    "padding",
    "add",
    "concat",
    "flatten",
    "dropout",
    "reshape",
)

#: Names for the kinds that carry weights, as the paper's Table 2 words them.
PAPER_KIND_NAMES = {
    "conv": "Conv (standard)",
    "depthwise": "Conv dw (depthwise)",
    "pointwise": "Conv 1x1 (pointwise)",
    "separable": "Conv sep (separable)",
    "dense": "Fully connected",
}

_SIMPLE_KINDS: dict[type, str] = {
    DepthwiseConv2D: "depthwise",
    SeparableConv2D: "separable",
    Dense: "dense",
    BatchNorm: "batchnorm",
    Activation: "activation",
    MaxPool2D: "pool",
    AvgPool2D: "pool",
    GlobalAvgPool2D: "global_pool",
    ZeroPadding2D: "padding",
    Flatten: "flatten",
    Dropout: "dropout",
    Reshape: "reshape",
    Add: "add",
    Concat: "concat",
}


def kind_of(layer: Layer, in_shape: Shape) -> str:
    """A Conv2D is ``depthwise`` when each group sees one channel, ``pointwise`` when 1x1 ungrouped."""
    if isinstance(layer, Conv2D):
        channels = in_shape[0]
        if layer.groups == channels and channels > 1:
            return "depthwise"
        if layer.kernel == (1, 1) and layer.groups == 1:
            return "pointwise"
        return "conv"
    try:
        return _SIMPLE_KINDS[type(layer)]
    except KeyError:
        raise TypeError(f"no kind for {type(layer).__name__}") from None


def _x(*sizes: int) -> str:
    return "x".join(str(s) for s in sizes)


def _stride(stride: Pair) -> str:
    return f"s{stride[0]}" if stride[0] == stride[1] else f"s{stride[0]}x{stride[1]}"


def type_stride(layer: Layer, kind: str) -> str:
    """The paper's Table 1 "Type / Stride" column: ``Conv / s2``, ``Conv dw / s1``, ``FC / s1``."""
    if kind in ("conv", "pointwise"):
        return f"Conv / {_stride(layer.stride)}"  # type: ignore[attr-defined]
    if kind == "depthwise":
        return f"Conv dw / {_stride(layer.stride)}"  # type: ignore[attr-defined]
    if kind == "separable":
        return f"Conv sep / {_stride(layer.stride)}"  # type: ignore[attr-defined]
    if kind == "dense":
        return "FC / s1"
    if isinstance(layer, (MaxPool2D, AvgPool2D)):
        name = "Max Pool" if isinstance(layer, MaxPool2D) else "Avg Pool"
        return f"{name} / {_stride(layer.stride)}"  # type: ignore[arg-type]
    if kind == "global_pool":
        return "Avg Pool / s1"
    if isinstance(layer, Activation):
        return "Softmax / s1" if layer.function == "softmax" else layer.function.upper().replace("_", " ")
    return {
        "batchnorm": "BN",
        "padding": "Zero Pad",
        "flatten": "Flatten",
        "dropout": "Dropout",
        "reshape": "Reshape",
        "add": "Add",
        "concat": "Concat",
    }[kind]


def filter_shape(layer: Layer, kind: str, in_shape: Shape) -> str:
    """The paper's Table 1 "Filter Shape" column: ``3x3x3x32``, ``3x3x64 dw``, ``1024x1000``."""
    if isinstance(layer, Conv2D):
        kh, kw = layer.kernel  # type: ignore[misc]
        if kind == "depthwise":
            multiplier = layer.filters // in_shape[0]
            return f"{_x(kh, kw, in_shape[0], *([multiplier] if multiplier > 1 else []))} dw"
        return _x(kh, kw, in_shape[0] // layer.groups, layer.filters)
    if isinstance(layer, DepthwiseConv2D):
        kh, kw = layer.kernel  # type: ignore[misc]
        dm = layer.depth_multiplier
        return f"{_x(kh, kw, in_shape[0], *([dm] if dm > 1 else []))} dw"
    if isinstance(layer, SeparableConv2D):
        kh, kw = layer.kernel  # type: ignore[misc]
        dm = layer.depth_multiplier
        M = in_shape[0] * dm
        return f"{_x(kh, kw, in_shape[0], *([dm] if dm > 1 else []))} dw + {_x(1, 1, M, layer.filters)}"
    if isinstance(layer, Dense):
        return _x(in_shape[0], layer.units)
    if isinstance(layer, (MaxPool2D, AvgPool2D)):
        return f"Pool {_x(*layer.pool)}"  # type: ignore[misc]
    if isinstance(layer, GlobalAvgPool2D):
        return f"Pool {_x(*in_shape[1:])}"
    if isinstance(layer, Activation) and layer.function == "softmax":
        return "Classifier"
    return ""
