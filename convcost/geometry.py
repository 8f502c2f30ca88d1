"""Sliding-window arithmetic shared by the convolution and pooling kinds (channels-first shapes).

* Keras ``same``: ``out = ceil(in / s)``; the padding needed is split with the odd pixel at the
  bottom/right (``same_padding``).
* ``valid``: ``out = floor((in - d(k - 1) - 1) / s) + 1``.
* explicit (torch): ``out = floor((in + p_before + p_after - d(k - 1) - 1) / s) + 1``.

A geometry that leaves less than one pixel is a ``GeometryError`` naming the layer and numbers.
"""

from __future__ import annotations

from typing import cast

from convcost.errors import GeometryError
from convcost.layer import ExplicitPadding, Layer, Pair, Shape


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> Pair:
    """Keras/TensorFlow ``same`` padding along one axis: (before, after), extra pixel after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return (total // 2, total - total // 2)


def explicit_padding(padding: object, size: Pair, kernel: Pair, stride: Pair, dilation: Pair) -> ExplicitPadding:
    """The ((top, bottom), (left, right)) pixels a padding mode adds to an (H, W) map."""
    if padding == "same":
        return (
            same_padding(size[0], kernel[0], stride[0], dilation[0]),
            same_padding(size[1], kernel[1], stride[1], dilation[1]),
        )
    if padding == "valid":
        return ((0, 0), (0, 0))
    return cast(ExplicitPadding, padding)  # layers store explicit padding in this form


def window_output(
    layer: Layer, axis: str, size: int, kernel: int, stride: int, dilation: int, pad: Pair, ceil_mode: bool = False
) -> int:
    """Output length along one axis of a sliding window; an error if no full window fits.

    ``ceil_mode`` (torch pooling): a last, partial window is kept when it starts inside the input
    or the left padding (torch drops it when it would start in the right padding only).
    """
    span = dilation * (kernel - 1) + 1
    padded = size + pad[0] + pad[1]
    # torch's ceil mode also takes a window longer than the padded input, when a stride's worth of
    # slack fits it (HF EfficientNet pools a 7x7 map with a 1280-wide window): at least one window
    if padded < span and not (ceil_mode and padded + stride - 1 >= span):
        raise GeometryError(
            f"layer '{layer.name}': {axis} {size} (padded to {padded}) is smaller than the "
            f"{'dilated ' if dilation > 1 else ''}kernel extent {span}"
        )
    if not ceil_mode:
        return (padded - span) // stride + 1
    out = -(-(padded - span) // stride) + 1
    if (out - 1) * stride >= size + pad[0]:
        out -= 1
    return out


def feature_map(layer: Layer, shape: Shape) -> tuple[int, int, int]:
    """``(C, H, W)``, or a ``GeometryError`` naming the layer."""
    if len(shape) != 3:
        raise GeometryError(
            f"layer '{layer.name}' ({type(layer).__name__}) needs a (C, H, W) feature map, got shape {list(shape)}"
        )
    return shape[0], shape[1], shape[2]


def window2d(
    layer: Layer, shape: Shape, kernel: Pair, stride: Pair, dilation: Pair, padding: object, ceil_mode: bool = False
) -> Pair:
    """The ``(H, W)`` a sliding window leaves on a ``(C, H, W)`` map."""
    _, h, w = feature_map(layer, shape)
    pad = explicit_padding(padding, (h, w), kernel, stride, dilation)
    return (
        window_output(layer, "height", h, kernel[0], stride[0], dilation[0], pad[0], ceil_mode),
        window_output(layer, "width", w, kernel[1], stride[1], dilation[1], pad[1], ceil_mode),
    )


def stride_label(stride: Pair) -> str:
    """``s2`` or ``s2x1``: the paper's Table 1 stride notation."""
    return f"s{stride[0]}" if stride[0] == stride[1] else f"s{stride[0]}x{stride[1]}"


def sizes(*values: int) -> str:
    """``3x3x32``: the paper's Filter Shape notation."""
    return "x".join(str(v) for v in values)


def shape_listing(shapes: tuple[Shape, ...], names: tuple[str, ...] = ()) -> str:
    """``[8, 6, 6], [3, 8, 8]``, or with the tensors' names ``main/c [8, 6, 6], input [3, 8, 8]``."""
    if names:
        return ", ".join(f"{name} {list(shape)}" for name, shape in zip(names, shapes, strict=True))
    return ", ".join(str(list(shape)) for shape in shapes)


# ---------------------------------------------------------------------- one spatial axis
# (issue 12, family B: 1-D convolutions and pooling on ``(C, L)`` sequences)


def sequence(layer: Layer, shape: Shape) -> tuple[int, int]:
    """``(C, L)``, or a ``GeometryError`` naming the layer."""
    if len(shape) != 2:
        raise GeometryError(
            f"layer '{layer.name}' ({type(layer).__name__}) needs a (C, L) sequence, got shape {list(shape)}"
        )
    return shape[0], shape[1]


def explicit_padding1d(padding: object, size: int, kernel: int, stride: int, dilation: int) -> Pair:
    """The (left, right) positions a padding mode adds to a sequence of ``size``."""
    if padding == "same":
        return same_padding(size, kernel, stride, dilation)
    if padding == "valid":
        return (0, 0)
    return cast(Pair, padding)  # 1-D layers store explicit padding as (left, right)


def window1d(
    layer: Layer, shape: Shape, kernel: int, stride: int, dilation: int, padding: object, ceil_mode: bool = False
) -> int:
    """The length a sliding window leaves on a ``(C, L)`` sequence."""
    _, length = sequence(layer, shape)
    pad = explicit_padding1d(padding, length, kernel, stride, dilation)
    return window_output(layer, "length", length, kernel, stride, dilation, pad, ceil_mode)
