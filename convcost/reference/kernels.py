"""NumPy forward kernels with the ``torch.nn.functional`` calling convention.

Inputs are NCHW arrays, convolution weights ``(out_channels, in_channels / groups, kh, kw)``, so
every kernel can be held against its torch twin call for call. Differences from torch, on purpose:

* ``padding`` also takes ``"same"`` for every stride, with Keras/TensorFlow semantics: output
  ``ceil(in / stride)``, any odd pixel of padding at the bottom/right (torch only allows ``same``
  at stride 1, where the two agree), and ``((top, bottom), (left, right))`` for asymmetric padding;
* every kernel that multiplies takes ``tally=``: a ``Tally`` that records the multiply-adds it
  performed, computed from the shapes of the operands it actually multiplied.

Bad geometry (a window larger than the padded map) raises ``ValueError``; the executor turns it
into a ``GeometryError`` naming the layer. The depthwise (and separable) convolution, with its
three shape-dependent forms, is in ``convcost.reference.depthwise``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided
from numpy.typing import NDArray

from convcost.shapes import same_padding

Array = NDArray[Any]
IntPair = tuple[int, int]
Pads = tuple[IntPair, IntPair]

#: im2col is built in chunks of about this many elements (128 KiB of float32, inside L2 until the
#: multiply reads it back), so a conv never holds its whole column matrix: peak memory stays near
#: input + output however large the map.
IM2COL_CHUNK_ELEMENTS = 1 << 15
#: ... but a chunk has at least this many columns (output pixels), so the multiply stays efficient
IM2COL_MIN_COLUMNS = 512


#: worker threads of the element-wise kernels (BN, activations) and of the depthwise forms: NumPy's
#: ufuncs release the GIL but use one core each, so samples (or row blocks, chunks) are spread over
#: threads; set it like BLAS' thread count
THREADS = os.cpu_count() or 1

#: Keras' BatchNormalization epsilon (torch's default is 1e-5; pass ``eps=`` to match either)
BN_EPSILON = 1e-3
#: Keras 3's leaky_relu slope (torch's default is 0.01)
LEAKY_RELU_SLOPE = 0.2


@dataclass
class Tally:
    """Multiply-adds a kernel performed, counted from the operands it multiplied.

    Products with zero padding are performed (the padding is materialised), so they are counted,
    as the paper's ``Dk * Dk * M * Df * Df`` counts them.
    """

    macs: int = 0
    #: element-wise operations (an add, a multiply, a compare) over the values a kernel produced
    elementwise: int = 0

    def matmul(self, a: Array, b: Array) -> None:
        """``a @ b`` (NumPy broadcasting over leading axes): one multiply-add per (row, inner, column)."""
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        rows, inner = a.shape[-2:]
        inner_b, columns = b.shape[-2:]
        assert inner == inner_b, (a.shape, b.shape)
        self.macs += math.prod(batch) * rows * inner * columns

    def products(self, count: int) -> None:
        """An element-wise multiply-accumulate over ``count`` elements."""
        self.macs += count

    def operations(self, result: Array) -> None:
        """One element-wise operation per value of ``result``, the array it produced."""
        self.elementwise += result.size


def pair(value: int | IntPair | tuple[int, ...]) -> IntPair:
    if isinstance(value, int):
        return (value, value)
    h, w = value
    return (int(h), int(w))


def resolve_padding(padding: object, size: IntPair, kernel: IntPair, stride: IntPair, dilation: IntPair) -> Pads:
    """``((top, bottom), (left, right))`` from ``'same'``, ``'valid'``, ``p``, ``(ph, pw)`` or explicit sides."""
    if padding == "same":
        return (
            same_padding(size[0], kernel[0], stride[0], dilation[0]),
            same_padding(size[1], kernel[1], stride[1], dilation[1]),
        )
    if padding == "valid":
        return ((0, 0), (0, 0))
    if isinstance(padding, int):
        return ((padding, padding), (padding, padding))
    if isinstance(padding, (tuple, list)) and len(padding) == 2:
        sides = [(p, p) if isinstance(p, int) else (int(p[0]), int(p[1])) for p in padding]
        return (sides[0], sides[1])
    raise ValueError(f"padding must be 'same', 'valid', p, (ph, pw) or ((top, bottom), (left, right)); got {padding!r}")


def window_count(size: int, kernel: int, stride: int, dilation: int, pad: IntPair, ceil_mode: bool = False) -> int:
    """Windows along one axis; ``ceil_mode`` as torch's pools (``pooling_output_shape``): a last,
    partial window is kept when it starts inside the input or the left padding."""
    span = dilation * (kernel - 1) + 1
    padded = size + pad[0] + pad[1]
    slack = stride - 1 if ceil_mode else 0
    if padded + slack < span:
        raise ValueError(f"map of {size} (padded to {padded}) is smaller than the kernel extent {span}")
    out = (padded - span + slack) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad[0]:
        out -= 1
    return out


def _geometry(
    x: Array, kernel: IntPair, stride: object, padding: object, dilation: object, ceil_mode: bool = False
) -> tuple[IntPair, IntPair, Pads, IntPair]:
    s, d = pair(stride), pair(dilation)  # type: ignore[arg-type]
    pads = resolve_padding(padding, (x.shape[2], x.shape[3]), kernel, s, d)
    out = (
        window_count(x.shape[2], kernel[0], s[0], d[0], pads[0], ceil_mode),
        window_count(x.shape[3], kernel[1], s[1], d[1], pads[1], ceil_mode),
    )
    return s, d, pads, out


def _pad(x: Array, pads: Pads, value: float = 0.0) -> Array:
    if pads == ((0, 0), (0, 0)):
        return x
    return np.pad(x, ((0, 0), (0, 0), pads[0], pads[1]), constant_values=value)


def _add_bias(out: Array, b: Array | None) -> Array:
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


# ---------------------------------------------------------------------------------- convolutions


def im2col(xp: Array, kernel: IntPair, stride: IntPair, dilation: IntPair, out_hw: IntPair) -> Array:
    """A strided *view* ``(N, C, kh, kw, Ho, Wo)`` of a padded map: reshaping it copies the columns."""
    n, c = xp.shape[:2]
    sn, sc, sh, sw = xp.strides
    return as_strided(
        xp,
        shape=(n, c, kernel[0], kernel[1], out_hw[0], out_hw[1]),
        strides=(sn, sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1]),
        writeable=False,
    )


def conv2d(
    x: Array,
    w: Array,
    b: Array | None = None,
    stride: int | IntPair = 1,
    padding: object = 0,
    dilation: int | IntPair = 1,
    groups: int = 1,
    *,
    tally: Tally | None = None,
) -> Array:
    """``torch.nn.functional.conv2d`` by im2col and one (batched over groups) matrix multiply.

    The column matrix is built and multiplied chunk by chunk (whole samples, or output rows of one
    sample) of about ``IM2COL_CHUNK_ELEMENTS`` (at least ``IM2COL_MIN_COLUMNS`` columns).
    """
    n, c, _, _ = x.shape
    out_channels, cg, kh, kw = w.shape
    if c != cg * groups or out_channels % groups:
        raise ValueError(f"weights {tuple(w.shape)} do not fit {c} input channels in {groups} groups")
    kernel = (kh, kw)
    s, d, pads, (ho, wo) = _geometry(x, kernel, stride, padding, dilation)
    if kernel == (1, 1) and s == (1, 1) and groups == 1 and pads == ((0, 0), (0, 0)):
        return pointwise_conv2d(x, w, b, tally=tally)
    og = out_channels // groups
    k = cg * kh * kw
    dtype = np.result_type(x, w)
    weights = w.reshape(groups, og, k).astype(dtype, copy=False)
    out = np.empty((n, groups, og, ho, wo), dtype=dtype)
    # Columns per chunk: small enough to stay in cache between the copy and the multiply, but at
    # least IM2COL_MIN_COLUMNS so the weight matrix is not re-read for every few pixels.
    budget = max(IM2COL_CHUNK_ELEMENTS // (groups * k), IM2COL_MIN_COLUMNS)
    if ho * wo <= budget:
        samples, rows = min(n, max(1, budget // (ho * wo))), ho
    else:
        samples, rows = 1, min(ho, max(1, budget // wo))
    (top, bottom), (left, right) = pads
    h, wd = x.shape[2:]
    # Padding is copied one chunk of samples at a time (the borders are zeroed once), so a conv never
    # holds a padded copy of its whole input. Only the borders are zeroed, not the whole buffer: on
    # conv1 of MobileNet (224x224x3) that was 5% of the layer at batch 1 and 8.
    padded = np.empty((samples, c, h + top + bottom, wd + left + right), dtype=x.dtype)
    padded[:, :, :top] = 0
    padded[:, :, top + h :] = 0
    padded[:, :, :, :left] = 0
    padded[:, :, :, left + wd :] = 0
    buffer = np.empty(samples * groups * k * rows * wo, dtype=dtype)
    for n0 in range(0, n, samples):
        n1 = min(n, n0 + samples)
        q = n1 - n0
        padded[:q, :, top : top + h, left : left + wd] = x[n0:n1]
        columns = im2col(padded[:q], kernel, s, d, (ho, wo)).reshape(q, groups, cg, kh, kw, ho, wo)
        for r0 in range(0, ho, rows):
            r1 = min(ho, r0 + rows)
            chunk = buffer[: q * groups * k * (r1 - r0) * wo].reshape(q, groups, cg, kh, kw, r1 - r0, wo)
            np.copyto(chunk, columns[..., r0:r1, :])
            cols = chunk.reshape(q, groups, k, (r1 - r0) * wo)
            target = out[n0:n1, :, :, r0:r1, :].reshape(q, groups, og, (r1 - r0) * wo)
            if tally is not None:
                tally.matmul(weights, cols)
            np.matmul(weights, cols, out=target)
    return _add_bias(out.reshape(n, out_channels, ho, wo), b)


def pointwise_conv2d(x: Array, w: Array, b: Array | None = None, *, tally: Tally | None = None) -> Array:
    """A 1x1 convolution as a plain matrix multiply: ``(N, C_out, C_in) @ (N, C_in, H*W)``."""
    n, c, h, wd = x.shape
    weights = w.reshape(w.shape[0], -1)
    if weights.shape[1] != c:
        raise ValueError(f"pointwise weights {tuple(w.shape)} do not fit {c} input channels")
    pixels = x.reshape(n, c, h * wd)
    if tally is not None:
        tally.matmul(weights, pixels)
    out = np.matmul(weights, pixels)
    return _add_bias(out.reshape(n, -1, h, wd), b)


def _tap_range(size: int, out: int, tap_offset: int, stride: int) -> tuple[int, int, int]:
    """Output positions ``[o0, o1)`` whose input ``o * stride + tap_offset`` lies inside ``[0, size)``."""
    o0 = -(tap_offset // stride) if tap_offset < 0 else 0  # ceil(-offset / stride)
    last = size - 1 - tap_offset
    o1 = min(out, last // stride + 1) if last >= 0 else 0
    return o0, max(o0, o1), o0 * stride + tap_offset


_EXECUTORS: dict[int, ThreadPoolExecutor] = {}


def _executor(workers: int) -> ThreadPoolExecutor:
    if workers not in _EXECUTORS:
        _EXECUTORS[workers] = ThreadPoolExecutor(workers, thread_name_prefix="convcost-kernels")
    return _EXECUTORS[workers]


def linear(x: Array, w: Array, b: Array | None = None, *, tally: Tally | None = None) -> Array:
    """``torch.nn.functional.linear`` on ``(N, features)``; on ``(N, C, H, W)`` it acts on C at every pixel."""
    if x.ndim == 2:
        weights_t = w.T
        if tally is not None:
            tally.matmul(x, weights_t)
        out = x @ weights_t
        if b is not None:
            out += b
        return out
    n, c = x.shape[:2]
    pixels = x.reshape(n, c, -1)
    if tally is not None:
        tally.matmul(w, pixels)
    out = np.matmul(w, pixels).reshape(n, w.shape[0], *x.shape[2:])
    if b is not None:
        out += b.reshape(1, -1, *([1] * (x.ndim - 2)))
    return np.asarray(out)


# ---------------------------------------------------------------------------------- normalisation


def batch_norm(
    x: Array,
    running_mean: Array,
    running_var: Array,
    weight: Array | None = None,
    bias: Array | None = None,
    eps: float = BN_EPSILON,
    *,
    inplace: bool = False,
) -> Array:
    """Inference batch norm over axis 1: ``(x - mean) / sqrt(var + eps) * weight + bias``."""
    scale = 1.0 / np.sqrt(running_var + eps)
    if weight is not None:
        scale = scale * weight
    shift = -running_mean * scale
    if bias is not None:
        shift = shift + bias
    shape = (1, -1) + (1,) * (x.ndim - 2)
    scale, shift = scale.astype(x.dtype).reshape(shape), shift.astype(x.dtype).reshape(shape)
    out = x if inplace else np.empty_like(x)

    def normalise(part: slice) -> None:
        np.multiply(x[part], scale, out=out[part])
        out[part] += shift

    _by_samples(x.shape[0], normalise)
    return out


def _by_samples(n: int, fn: Callable[[slice], None]) -> None:
    """``fn`` over ``THREADS`` slices of the batch axis at once: element-wise ufuncs use one core each."""
    workers = max(1, min(THREADS, n))
    if workers == 1:
        fn(slice(None))
        return
    bounds = [n * part // workers for part in range(workers + 1)]
    list(_executor(workers).map(lambda part: fn(slice(bounds[part], bounds[part + 1])), range(workers)))


# ---------------------------------------------------------------------------------- activations


def _erf(x: Array) -> Array:
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): NumPy has no vectorised erf.
    t = 1.0 / (1.0 + 0.3275911 * np.abs(x))
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.asarray(np.sign(x) * (1.0 - poly * np.exp(-x * x)))


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def activation(x: Array, function: str, *, inplace: bool = False) -> Array:
    """The element-wise activations of the spec (softmax is over axis 1, the channels)."""
    if function in ("linear", "relu", "relu6"):
        out = x if inplace else np.empty_like(x)

        def clip(part: slice) -> None:
            if function == "linear":
                out[part] = x[part]
            elif function == "relu":
                np.maximum(x[part], 0, out=out[part])
            else:
                np.clip(x[part], 0, 6, out=out[part])

        if not (inplace and function == "linear"):
            _by_samples(x.shape[0], clip)
        return out
    if function == "leaky_relu":
        return np.where(x > 0, x, x * LEAKY_RELU_SLOPE).astype(x.dtype)
    if function == "elu":
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0))).astype(x.dtype)
    if function == "selu":
        return (SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))).astype(x.dtype)
    if function == "gelu":
        return (0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))).astype(x.dtype)
    if function in ("silu", "swish"):
        return (x * _sigmoid(x)).astype(x.dtype)
    if function == "hard_swish":
        return np.asarray((x * np.clip(x + 3, 0, 6) / 6).astype(x.dtype))
    if function == "hard_sigmoid":
        return np.asarray((np.clip(x + 3, 0, 6) / 6).astype(x.dtype))
    if function == "sigmoid":
        return _sigmoid(x).astype(x.dtype)
    if function == "tanh":
        return np.tanh(x)
    if function == "softplus":
        return (np.logaddexp(0, x)).astype(x.dtype)
    if function == "mish":
        return np.asarray((x * np.tanh(np.logaddexp(0, x))).astype(x.dtype))
    if function == "gelu_tanh":
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)
        return np.asarray((0.5 * x * (1.0 + np.tanh(inner))).astype(x.dtype))
    if function == "softmax":
        shifted = np.exp(x - x.max(axis=1, keepdims=True))
        return np.asarray((shifted / shifted.sum(axis=1, keepdims=True)).astype(x.dtype))
    raise ValueError(f"unknown activation {function!r}")


def _sigmoid(x: Array) -> Array:
    # Split by sign so neither branch overflows exp.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


# ---------------------------------------------------------------------------------- pooling


def _pool(
    x: Array, kernel: IntPair, stride: object, padding: object, reduce: str, ceil_mode: bool = False
) -> tuple[Array, Array, Array]:
    """Sum or max over windows by a loop over the taps; also, per window, how many real pixels it
    covered and how many of the padded map (torch's ``count_include_pad`` divisor: with ``ceil_mode``
    a last window may reach past the padding, and that part is not counted)."""
    n, c, h, wd = x.shape
    kh, kw = kernel
    s, _, ((top, bottom), (left, right)), (ho, wo) = _geometry(x, kernel, stride, padding, 1, ceil_mode)
    out = np.full((n, c, ho, wo), -np.inf if reduce == "max" else 0, dtype=x.dtype)
    rows_covered = np.zeros(ho, dtype=np.int64)
    cols_covered = np.zeros(wo, dtype=np.int64)
    for i in range(kh):
        r0, r1, ih = _tap_range(h, ho, i - top, s[0])
        rows_covered[r0:r1] += 1
    for j in range(kw):
        c0, c1, iw = _tap_range(wd, wo, j - left, s[1])
        cols_covered[c0:c1] += 1
    for i in range(kh):
        r0, r1, ih = _tap_range(h, ho, i - top, s[0])
        for j in range(kw):
            c0, c1, iw = _tap_range(wd, wo, j - left, s[1])
            if r1 == r0 or c1 == c0:
                continue
            window = x[:, :, ih : ih + (r1 - r0 - 1) * s[0] + 1 : s[0], iw : iw + (c1 - c0 - 1) * s[1] + 1 : s[1]]
            target = out[:, :, r0:r1, c0:c1]
            if reduce == "max":
                np.maximum(target, window, out=target)
            else:
                np.add(target, window, out=target)
    if reduce == "max" and (rows_covered.min() == 0 or cols_covered.min() == 0):
        raise ValueError("a pooling window lies entirely in the padding")
    covered = np.outer(rows_covered, cols_covered)
    # window o spans [o * s - top, o * s - top + k), cut at the end of the bottom (right) padding
    rows_padded = np.minimum(np.arange(ho) * s[0] + kh, h + top + bottom) - np.arange(ho) * s[0]
    cols_padded = np.minimum(np.arange(wo) * s[1] + kw, wd + left + right) - np.arange(wo) * s[1]
    return out, covered, np.outer(rows_padded, cols_padded)


def max_pool2d(
    x: Array,
    kernel_size: int | IntPair,
    stride: int | IntPair | None = None,
    padding: object = 0,
    ceil_mode: bool = False,
) -> Array:
    """``torch.nn.functional.max_pool2d`` (padding never wins: it is minus infinity)."""
    kernel = pair(kernel_size)
    out, _, _ = _pool(x, kernel, kernel if stride is None else stride, padding, "max", ceil_mode)
    return out


def avg_pool2d(
    x: Array,
    kernel_size: int | IntPair,
    stride: int | IntPair | None = None,
    padding: object = 0,
    count_include_pad: bool = True,
    ceil_mode: bool = False,
) -> Array:
    """``torch.nn.functional.avg_pool2d``; ``padding='same'`` is Keras' and never counts the padding."""
    kernel = pair(kernel_size)
    total, covered, padded = _pool(x, kernel, kernel if stride is None else stride, padding, "sum", ceil_mode)
    if count_include_pad and padding != "same":
        total /= padded.astype(x.dtype)
    else:
        total /= covered.astype(x.dtype)
    return total


def global_avg_pool2d(x: Array, keepdims: bool = False) -> Array:
    return np.asarray(x.mean(axis=(2, 3), keepdims=keepdims))


# ---------------------------------------------------------------------------------- shape and merge


def flatten(x: Array) -> Array:
    """``(N, C, H, W) -> (N, C*H*W)`` in channels-first order (torch's ``flatten(1)``, not Keras')."""
    return x.reshape(x.shape[0], -1)


def zero_pad2d(x: Array, padding: object) -> Array:
    return _pad(x, resolve_padding(padding, (x.shape[2], x.shape[3]), (1, 1), (1, 1), (1, 1)))


def add(*xs: Array, tally: Tally | None = None) -> Array:
    """The sum of two or more arrays, broadcasting sizes of 1 (``merge``)."""
    return merge("add", *xs, tally=tally)


def concat(*xs: Array) -> Array:
    return np.concatenate(xs, axis=1)


# ---------------------------------------------------------------------------------- family A (issue 12)
# element-wise merges, arithmetic with a constant, preprocessing, learned scales, PReLU. Each counts
# one operation per value it produces into ``tally.elementwise``; none performs a multiply-add.

#: Keras' ``backend.epsilon()``: Normalization divides by ``max(sqrt(variance), epsilon)``
KERAS_EPSILON = 1e-7

_MERGES: dict[str, Callable[..., Array]] = {
    "add": np.add,
    "multiply": np.multiply,
    "subtract": np.subtract,
    "divide": np.divide,
    "maximum": np.maximum,
    "minimum": np.minimum,
}


def _count(tally: Tally | None, result: Array) -> Array:
    if tally is not None:
        tally.operations(result)
    return result


def merge(op: str, *xs: Array, tally: Tally | None = None) -> Array:
    """``((a op b) op c) ...`` with NumPy broadcasting, as torch's operators compute it; each partial
    result is written over the previous one when it has the same shape."""
    ufunc = _MERGES[op]
    out = _count(tally, np.asarray(ufunc(xs[0], xs[1])))
    for x in xs[2:]:
        fits = np.broadcast_shapes(out.shape, x.shape) == out.shape
        out = _count(tally, np.asarray(ufunc(out, x, out=out) if fits else ufunc(out, x)))
    return out


def average(*xs: Array, tally: Tally | None = None) -> Array:
    """The sum, then one division per value (Keras' ``Average``)."""
    out = merge("add", *xs, tally=tally)
    out /= len(xs)
    return _count(tally, out)


def scalar_op(x: Array, op: str, value: float, *, tally: Tally | None = None) -> Array:
    """One tensor and a constant, in the tensor's precision (torch computes ``x + 3`` in float32)."""
    c = np.asarray(value, dtype=x.dtype)
    if op == "rsubtract":
        out = c - x
    elif op == "rdivide":
        out = c / x
    elif op == "power":
        out = x**c
    else:
        out = _MERGES[op](x, c)
    return _count(tally, np.asarray(out, dtype=x.dtype))


def _along(values: Array | float, axis: int, ndim: int) -> Array:
    """Per-position constants of ``axis`` shaped to broadcast against an ``ndim`` batch (axis of the
    batch array, not of one sample); a single value as it is."""
    array = np.asarray(values)
    if array.ndim == 0 or array.size == 1:
        return array.reshape(())
    shape = [1] * ndim
    shape[axis] = -1
    return array.reshape(shape)


def rescale(x: Array, scale: Array | float, offset: Array | float, *, tally: Tally | None = None) -> Array:
    """``x * scale + offset`` (Keras ``Rescaling``), per channel when given one value per channel."""
    out = _count(tally, x * _along(scale, 1, x.ndim).astype(x.dtype))
    out += _along(offset, 1, x.ndim).astype(x.dtype)
    return _count(tally, out)


def normalize(
    x: Array, mean: Array, variance: Array, axis: int, invert: bool = False, *, tally: Tally | None = None
) -> Array:
    """Keras ``Normalization`` along ``axis`` of the batch array: ``(x - mean) / max(sqrt(variance), eps)``,
    or with ``invert`` ``x * max(sqrt(variance), eps) + mean``."""
    std = _along(np.maximum(np.sqrt(variance), KERAS_EPSILON), axis, x.ndim).astype(x.dtype)
    centre = _along(mean, axis, x.ndim).astype(x.dtype)
    if invert:
        out = _count(tally, x * std)
        out += centre
    else:
        out = _count(tally, x - centre)
        out /= std
    return _count(tally, out)


def layer_scale(x: Array, gamma: Array, axis: int, *, tally: Tally | None = None) -> Array:
    """``x * gamma``, gamma along ``axis`` of the batch array (or a single value)."""
    return _count(tally, x * _along(gamma, axis, x.ndim).astype(x.dtype))


def prelu(x: Array, alpha: Array, *, tally: Tally | None = None) -> Array:
    """``torch.nn.functional.prelu`` generalised to any alpha that broadcasts against one sample:
    ``(C,)`` per channel, one per value, or a single slope."""
    if alpha.ndim == 1 and alpha.size > 1 and x.ndim > 1:
        alpha = _along(alpha, 1, x.ndim)
    slope = alpha.astype(x.dtype)
    return _count(tally, np.where(x >= 0, x, x * slope).astype(x.dtype))


# ---------------------------------------------------------------------------------- issue 12, family B
# Normalisation from the sample's own statistics, global / adaptive pools, and one-axis
# (``(N, C, L)``) convolutions and pools, which run the 2-D kernels on a map one row high.

#: Keras' LayerNormalization and GroupNormalization epsilon (torch's default is 1e-5)
NORM_EPSILON = 1e-3


def _normalise(x: Array, axes: tuple[int, ...], eps: float) -> Array:
    """``(x - mean) / sqrt(var + eps)`` over ``axes`` (biased variance, as torch and Keras), in float64."""
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=axes, keepdims=True)
    var = x64.var(axis=axes, keepdims=True)
    return np.asarray((x64 - mean) / np.sqrt(var + eps))


def _affine(y: Array, weight: Array | None, bias: Array | None, axis: int, dtype: Any) -> Array:
    """``y * weight + bias``, the two broadcast along ``axis``."""
    shape = [1] * y.ndim
    shape[axis] = -1
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return np.asarray(y.astype(dtype))


def layer_norm(
    x: Array, axis: int, weight: Array | None = None, bias: Array | None = None, eps: float = NORM_EPSILON
) -> Array:
    """``torch.nn.functional.layer_norm`` over one axis of the array (``axis`` counts the batch axis)."""
    return _affine(_normalise(x, (axis,), eps), weight, bias, axis, x.dtype)


def group_norm(
    x: Array, groups: int, weight: Array | None = None, bias: Array | None = None, eps: float = NORM_EPSILON
) -> Array:
    """``torch.nn.functional.group_norm`` on ``(N, C, *)``: each group of channels over its positions."""
    n, c = x.shape[:2]
    if c % groups:
        raise ValueError(f"input channels ({c}) must be divisible by groups ({groups})")
    grouped = x.reshape(n, groups, -1)
    y = _normalise(grouped, (2,), eps).reshape(x.shape)
    return _affine(y, weight, bias, 1, x.dtype)


def instance_norm(
    x: Array,
    weight: Array | None = None,
    bias: Array | None = None,
    running_mean: Array | None = None,
    running_var: Array | None = None,
    eps: float = NORM_EPSILON,
) -> Array:
    """``torch.nn.functional.instance_norm`` at inference on ``(N, C, *)``: with running statistics it
    uses them (as an ``nn.InstanceNorm`` that tracks them does in eval mode), else each sample's own."""
    if running_mean is not None and running_var is not None:
        return batch_norm(x, running_mean, running_var, weight, bias, eps)
    y = _normalise(x, tuple(range(2, x.ndim)), eps)
    return _affine(y, weight, bias, 1, x.dtype)


def global_max_pool2d(x: Array, keepdims: bool = False) -> Array:
    return np.asarray(x.max(axis=(2, 3), keepdims=keepdims))


def _adaptive_bins(size: int, out: int) -> list[tuple[int, int]]:
    """torch's bins: ``[floor(i * size / out), ceil((i + 1) * size / out))``."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


def _adaptive_pool2d(x: Array, output: IntPair, reduce: str) -> Array:
    n, c, h, w = x.shape
    out = np.empty((n, c, *output), dtype=x.dtype)
    for i, (r0, r1) in enumerate(_adaptive_bins(h, output[0])):
        for j, (c0, c1) in enumerate(_adaptive_bins(w, output[1])):
            window = x[:, :, r0:r1, c0:c1]
            out[:, :, i, j] = window.max(axis=(2, 3)) if reduce == "max" else window.mean(axis=(2, 3))
    return out


def adaptive_avg_pool2d(x: Array, output_size: int | IntPair) -> Array:
    """``torch.nn.functional.adaptive_avg_pool2d``."""
    return _adaptive_pool2d(x, pair(output_size), "mean")


def adaptive_max_pool2d(x: Array, output_size: int | IntPair) -> Array:
    """``torch.nn.functional.adaptive_max_pool2d`` (the values, not the indices)."""
    return _adaptive_pool2d(x, pair(output_size), "max")


def padding1d(padding: object, size: int, kernel: int, stride: int, dilation: int) -> Pads:
    """A 1-D padding (``'same'``, ``'valid'``, ``p`` or ``(left, right)``) as the 2-D pads of one row."""
    if padding == "same":
        return ((0, 0), same_padding(size, kernel, stride, dilation))
    if padding == "valid":
        return ((0, 0), (0, 0))
    if isinstance(padding, int):
        return ((0, 0), (padding, padding))
    if isinstance(padding, (tuple, list)) and len(padding) == 2:
        return ((0, 0), (int(padding[0]), int(padding[1])))
    raise ValueError(f"padding must be 'same', 'valid', p or (left, right); got {padding!r}")


def conv1d(
    x: Array,
    w: Array,
    b: Array | None = None,
    stride: int = 1,
    padding: object = 0,
    dilation: int = 1,
    groups: int = 1,
    *,
    tally: Tally | None = None,
) -> Array:
    """``torch.nn.functional.conv1d`` (weights ``(out, in / groups, k)``), plus Keras ``same``."""
    pads = padding1d(padding, x.shape[2], w.shape[2], stride, dilation)
    out = conv2d(x[:, :, None, :], w[:, :, None, :], b, (1, stride), pads, (1, dilation), groups, tally=tally)
    return out[:, :, 0, :]


def max_pool1d(
    x: Array, kernel_size: int, stride: int | None = None, padding: object = 0, ceil_mode: bool = False
) -> Array:
    """``torch.nn.functional.max_pool1d``, plus Keras ``same``."""
    step = kernel_size if stride is None else stride
    pads = padding1d(padding, x.shape[2], kernel_size, step, 1)
    return max_pool2d(x[:, :, None, :], (1, kernel_size), (1, step), pads, ceil_mode)[:, :, 0, :]


def avg_pool1d(
    x: Array,
    kernel_size: int,
    stride: int | None = None,
    padding: object = 0,
    count_include_pad: bool = True,
    ceil_mode: bool = False,
) -> Array:
    """``torch.nn.functional.avg_pool1d``; ``padding='same'`` is Keras' and never counts the padding."""
    step = kernel_size if stride is None else stride
    pads = padding1d(padding, x.shape[2], kernel_size, step, 1)
    include = count_include_pad and padding != "same"
    return avg_pool2d(x[:, :, None, :], (1, kernel_size), (1, step), pads, include, ceil_mode)[:, :, 0, :]
