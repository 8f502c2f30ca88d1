"""Output-shape arithmetic for every layer and padding mode (channels-first shapes).

* Keras ``same``: ``out = ceil(in / s)``; the padding needed is split with the odd pixel at the
  bottom/right (``same_padding``).
* ``valid``: ``out = floor((in - d(k - 1) - 1) / s) + 1``.
* explicit (torch): ``out = floor((in + p_before + p_after - d(k - 1) - 1) / s) + 1``.

A geometry that leaves less than one pixel is a ``GeometryError`` naming the layer and numbers.
"""

from __future__ import annotations

from typing import cast

from convcost.errors import GeometryError
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
    ExplicitPadding,
    Flatten,
    GlobalAvgPool2D,
    Layer,
    MaxPool2D,
    Model,
    Pair,
    Parallel,
    Reshape,
    SeparableConv2D,
    Sequential,
    Shape,
    ZeroPadding2D,
    elements,
)


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
    return cast(ExplicitPadding, padding)


def window_output(layer: Layer, axis: str, size: int, kernel: int, stride: int, dilation: int, pad: Pair) -> int:
    """Output length along one axis of a sliding window; an error if no full window fits."""
    span = dilation * (kernel - 1) + 1
    padded = size + pad[0] + pad[1]
    if padded < span:
        raise GeometryError(
            f"layer '{layer.name}': {axis} {size} (padded to {padded}) is smaller than the "
            f"{'dilated ' if dilation > 1 else ''}kernel extent {span}"
        )
    return (padded - span) // stride + 1


def _map(layer: Layer, shape: Shape) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise GeometryError(
            f"layer '{layer.name}' ({type(layer).__name__}) needs a (C, H, W) feature map, got shape {list(shape)}"
        )
    return shape[0], shape[1], shape[2]


def _window(layer: Layer, shape: Shape, kernel: Pair, stride: Pair, dilation: Pair, padding: object) -> Pair:
    _, h, w = _map(layer, shape)
    pad = explicit_padding(padding, (h, w), kernel, stride, dilation)
    return (
        window_output(layer, "height", h, kernel[0], stride[0], dilation[0], pad[0]),
        window_output(layer, "width", w, kernel[1], stride[1], dilation[1], pad[1]),
    )


def output_shape(layer: Layer, shape: Shape) -> Shape:
    """The shape one sample has after ``layer``; raises ``GeometryError`` when it cannot apply."""
    if isinstance(layer, Conv2D):
        channels = _map(layer, shape)[0]
        if channels % layer.groups:
            raise GeometryError(
                f"layer '{layer.name}': input channels ({channels}) must be divisible by groups ({layer.groups})"
            )
        h, w = _window(layer, shape, _pair(layer.kernel), _pair(layer.stride), _pair(layer.dilation), layer.padding)
        return (layer.filters, h, w)
    if isinstance(layer, (DepthwiseConv2D, SeparableConv2D)):
        channels = _map(layer, shape)[0]
        h, w = _window(layer, shape, _pair(layer.kernel), _pair(layer.stride), _pair(layer.dilation), layer.padding)
        out_channels = layer.filters if isinstance(layer, SeparableConv2D) else channels * layer.depth_multiplier
        return (out_channels, h, w)
    if isinstance(layer, (MaxPool2D, AvgPool2D)):
        channels = _map(layer, shape)[0]
        h, w = _window(layer, shape, _pair(layer.pool), _pair(layer.stride), (1, 1), layer.padding)
        return (channels, h, w)
    if isinstance(layer, GlobalAvgPool2D):
        channels = _map(layer, shape)[0]
        return (channels, 1, 1) if layer.keepdims else (channels,)
    if isinstance(layer, Dense):
        # Keras applies Dense to the last axis; channels-first, that is the channel axis.
        return (layer.units, *shape[1:])
    if isinstance(layer, Flatten):
        return (elements(shape),)
    if isinstance(layer, Reshape):
        if elements(layer.target) != elements(shape):
            raise GeometryError(
                f"layer '{layer.name}': cannot reshape {list(shape)} ({elements(shape)} values) "
                f"to {list(layer.target)} ({elements(layer.target)} values)"
            )
        return layer.target
    if isinstance(layer, ZeroPadding2D):
        channels, h, w = _map(layer, shape)
        (top, bottom), (left, right) = cast(ExplicitPadding, layer.padding)
        return (channels, h + top + bottom, w + left + right)
    if isinstance(layer, BatchNorm):
        if len(shape) not in (1, 3):
            raise GeometryError(f"layer '{layer.name}': BatchNorm needs (C,) or (C, H, W), got {list(shape)}")
        return shape
    if isinstance(layer, (Activation, Dropout, Add, Concat)):
        return shape
    raise GeometryError(f"layer '{layer.name}': no shape rule for {type(layer).__name__}")


def _pair(value: object) -> Pair:
    return cast(Pair, value)


ShapedLayer = tuple[str, Layer, Shape, Shape]


def infer_shapes(model: Model) -> list[ShapedLayer]:
    """``(path, layer, input shape, output shape)`` for every leaf layer, in execution order.

    A ``Parallel`` contributes its branches' layers, then one merge row (``Add`` or ``Concat``)
    whose input shape is the first branch's output.
    """
    rows: list[ShapedLayer] = []
    _infer(model.body, model.input, "", rows)
    return rows


def _infer(block: Sequential, shape: Shape, prefix: str, rows: list[ShapedLayer]) -> Shape:
    for layer in block.layers:
        path = prefix + layer.name
        if isinstance(layer, Sequential):
            shape = _infer(layer, shape, path + "/", rows)
            continue
        try:
            if isinstance(layer, Parallel):
                outputs = [_infer(branch, shape, f"{path}/{branch.name}/", rows) for branch in layer.branches]
                merged = merge_shape(layer, outputs)
                rows.append((path, layer.merge_layer(), outputs[0], merged))
                shape = merged
            else:
                out = output_shape(layer, shape)
                rows.append((path, layer, shape, out))
                shape = out
        except GeometryError as e:
            raise _at_path(e, layer, path) from None
    return shape


def _at_path(error: GeometryError, layer: Layer, path: str) -> GeometryError:
    """The error naming the layer by its path when it sits inside a block: branches often reuse
    names (every Inception branch has a 'conv'), so the name alone does not say which one."""
    named = f"layer '{layer.name}'"
    message = str(error)
    if path == layer.name or not message.startswith(named):
        return error
    return GeometryError(f"layer '{path}'{message[len(named) :]}")


def merge_shape(layer: Parallel, outputs: list[Shape]) -> Shape:
    """Shape after merging branch outputs; mismatches name every branch and its shape."""

    def listing() -> str:
        return ", ".join(f"{b.name} {list(s)}" for b, s in zip(layer.branches, outputs, strict=True))

    if layer.merge == "add":
        if any(s != outputs[0] for s in outputs):
            raise GeometryError(f"layer '{layer.name}': cannot add branches of different shapes: {listing()}")
        return outputs[0]
    if any(len(s) != len(outputs[0]) or s[1:] != outputs[0][1:] for s in outputs):
        raise GeometryError(
            f"layer '{layer.name}': cannot concatenate along channels branches whose other sizes differ: {listing()}"
        )
    return (sum(s[0] for s in outputs), *outputs[0][1:])
