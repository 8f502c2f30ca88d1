"""NumPy kernels that change the resolution or move values: transposed convolution, interpolation,
padding modes, channel shuffle (the ``torch.nn.functional`` calling convention, NCHW arrays).

The transposed convolution is the only one that multiplies weights: it multiplies every input pixel
by the whole kernel (one matrix multiply per sample and group) and adds each tap's products into
the output ``stride`` pixels apart, so its ``Tally`` counts ``kh*kw*C_in*(C_out/groups)*H*W`` per
sample, read off the operands. Interpolation weights are not learned and the paper does not count
them: ``resize`` tallies nothing.
"""

from __future__ import annotations

import numpy as np

from convcost.reference.kernels import Array, IntPair, Pads, Tally


def conv_transpose2d(
    x: Array,
    w: Array,
    b: Array | None,
    stride: IntPair,
    dilation: IntPair,
    groups: int,
    crops: Pads,
    *,
    tally: Tally | None = None,
) -> Array:
    """``torch.nn.functional.conv_transpose2d`` with weights ``(C_in, C_out / groups, kh, kw)``.

    ``crops`` are the ``((top, bottom), (left, right))`` rows and columns removed from the full
    output ``((H - 1)*s + d*(k - 1) + 1)``; a negative ``bottom`` or ``right`` adds that many at the
    end (torch's ``output_padding``: they hold only the bias). torch's ``padding=p,
    output_padding=op`` is ``crops = (p, p - op)`` on each axis.
    """
    n, c, h, wd = x.shape
    cin, og, kh, kw = w.shape
    if cin != c or c % groups:
        raise ValueError(f"weights {tuple(w.shape)} do not fit {c} input channels in {groups} groups")
    (sh, sw), (dh, dw) = stride, dilation
    full = ((h - 1) * sh + dh * (kh - 1) + 1, (wd - 1) * sw + dw * (kw - 1) + 1)
    (top, bottom), (left, right) = crops
    out_h, out_w = full[0] - top - bottom, full[1] - left - right
    if out_h < 1 or out_w < 1 or top < 0 or left < 0:
        raise ValueError(f"crops {crops} leave nothing of a {full[0]}x{full[1]} transposed output")
    cg = c // groups
    dtype = np.result_type(x, w)
    # (groups, og*kh*kw, cg): each input pixel of a group times every tap of every output channel
    weights = np.ascontiguousarray(w.reshape(groups, cg, og * kh * kw).transpose(0, 2, 1)).astype(dtype, copy=False)
    rows, columns = max(full[0], top + out_h), max(full[1], left + out_w)
    out = np.zeros((n, groups, og, rows, columns), dtype=dtype)
    span_h, span_w = (h - 1) * sh + 1, (wd - 1) * sw + 1
    for sample in range(n):  # one sample at a time: a batch's columns would hold kh*kw times the output
        pixels = x[sample].reshape(groups, cg, h * wd)
        if tally is not None:
            tally.matmul(weights, pixels)
        taps = np.matmul(weights, pixels).reshape(groups, og, kh, kw, h, wd)
        target = out[sample]
        for i in range(kh):
            for j in range(kw):
                r0, c0 = i * dh, j * dw
                target[:, :, r0 : r0 + span_h : sh, c0 : c0 + span_w : sw] += taps[:, :, i, j]
    result = out.reshape(n, groups * og, rows, columns)[:, :, top : top + out_h, left : left + out_w]
    result = np.ascontiguousarray(result)
    if b is not None:
        result += b.reshape(1, -1, 1, 1).astype(dtype, copy=False)
    return result


def conv_transpose1d(
    x: Array, w: Array, b: Array | None, stride: int, dilation: int, groups: int, crop: IntPair, *, tally: Tally | None
) -> Array:
    """``torch.nn.functional.conv_transpose1d`` (weights ``(C_in, C_out / groups, k)``): the 2-D kernel
    on a map one row high."""
    out = conv_transpose2d(
        x[:, :, None, :], w[:, :, None, :], b, (1, stride), (1, dilation), groups, ((0, 0), crop), tally=tally
    )
    return out[:, :, 0, :]


# ---------------------------------------------------------------------------------- interpolation


def _source_nearest(in_size: int, out_size: int, scale: float | None, exact: bool) -> Array:
    """The input index each output index copies, in torch's float32 arithmetic (``UpSample.h``):
    ``nearest`` floors ``dst * s``, ``nearest-exact`` floors ``(dst + 0.5) * s``, with
    ``s = 1 / scale_factor`` when one is given, else ``in / out``."""
    s = np.float32(1.0 / scale) if scale is not None else np.float32(in_size) / np.float32(out_size)
    dst = np.arange(out_size)
    if exact:
        src = np.floor(((dst + 0.5) * np.float64(s)).astype(np.float32))
    else:
        if out_size == in_size:
            return dst
        if out_size == 2 * in_size:
            return dst >> 1
        src = np.floor(dst.astype(np.float32) * s)
    return np.minimum(src.astype(np.int64), in_size - 1)


def _source_linear(
    in_size: int, out_size: int, scale: float | None, align_corners: bool
) -> tuple[Array, Array, Array, Array]:
    """``(i0, i1, w0, w1)``: each output index is ``w0 * x[i0] + w1 * x[i1]`` (torch's
    ``area_pixel_compute_source_index``)."""
    dst = np.arange(out_size, dtype=np.float64)
    if align_corners:
        s = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        src = s * dst
    else:
        s = 1.0 / scale if scale is not None else in_size / out_size
        src = np.maximum(s * (dst + 0.5) - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    i1 = np.minimum(i0 + 1, in_size - 1)
    w1 = src - i0
    return i0, i1, 1.0 - w1, w1


def resize(
    x: Array,
    size: IntPair,
    mode: str,
    align_corners: bool = False,
    scale: tuple[float, float] | None = None,
) -> Array:
    """``torch.nn.functional.interpolate(x, size, mode)`` on ``(N, C, H, W)``: ``mode`` ``nearest``,
    ``nearest_exact`` (torch's ``nearest-exact``, Keras' nearest) or ``bilinear``. ``scale`` is the
    ``scale_factor`` torch was given (it picks the source positions instead of ``in / out``)."""
    _, _, h, w = x.shape
    out_h, out_w = size
    scale_h, scale_w = (None, None) if scale is None else scale
    if mode in ("nearest", "nearest_exact"):
        exact = mode == "nearest_exact"
        rows = _source_nearest(h, out_h, scale_h, exact)
        columns = _source_nearest(w, out_w, scale_w, exact)
        return np.ascontiguousarray(x[:, :, rows][:, :, :, columns])
    if mode != "bilinear":
        raise ValueError(f"unknown interpolation {mode!r}")
    r0, r1, a0, a1 = _source_linear(h, out_h, scale_h, align_corners)
    c0, c1, b0, b1 = _source_linear(w, out_w, scale_w, align_corners)
    dtype = x.dtype
    # bilinear is separable: along the rows, then along the columns
    tall = x[:, :, r0] * a0.astype(dtype)[:, None] + x[:, :, r1] * a1.astype(dtype)[:, None]
    out = tall[:, :, :, c0] * b0.astype(dtype) + tall[:, :, :, c1] * b1.astype(dtype)
    return np.asarray(out, dtype=dtype)


def upsample(x: Array, factor: IntPair, mode: str, align_corners: bool = False) -> Array:
    """``nn.Upsample(scale_factor=factor, mode=mode)``: nearest repeats each pixel (what torch's
    index arithmetic gives at an integer factor), bilinear interpolates."""
    if mode == "nearest":
        return np.repeat(np.repeat(x, factor[0], axis=2), factor[1], axis=3)
    size = (x.shape[2] * factor[0], x.shape[3] * factor[1])
    return resize(x, size, mode, align_corners, scale=(float(factor[0]), float(factor[1])))


# ---------------------------------------------------------------------------------- moving values


def pad2d(x: Array, pads: Pads, mode: str, value: float = 0.0) -> Array:
    """``F.pad(x, (left, right, top, bottom), mode, value)`` on ``(N, C, H, W)``."""
    if mode == "reflect" and (max(pads[0]) >= x.shape[2] or max(pads[1]) >= x.shape[3]):
        raise ValueError(f"reflect padding {pads} needs a map larger than {list(x.shape[2:])}")
    widths = ((0, 0), (0, 0), pads[0], pads[1])
    if mode == "constant":
        return np.pad(x, widths, mode="constant", constant_values=value)
    if mode == "reflect":  # NumPy's reflect is torch's: the mirror image without the edge pixel
        return np.pad(x, widths, mode="reflect")
    if mode == "replicate":
        return np.pad(x, widths, mode="edge")
    raise ValueError(f"unknown padding mode {mode!r}")


def channel_shuffle(x: Array, groups: int) -> Array:
    """``nn.ChannelShuffle(groups)``: channels as ``(groups, C / groups)``, transposed, flattened."""
    n, c = x.shape[:2]
    if c % groups:
        raise ValueError(f"channels ({c}) are not divisible by groups ({groups})")
    rest = x.shape[2:]
    return x.reshape(n, groups, c // groups, *rest).swapaxes(1, 2).reshape(n, c, *rest)


def crop(x: Array, sides: tuple[IntPair, ...]) -> Array:
    """Removes ``(before, after)`` positions from each spatial axis (a view)."""
    index = [slice(None), slice(None)]
    for (before, after), size in zip(sides, x.shape[2:], strict=True):
        if before + after >= size:
            raise ValueError(f"cropping {list(sides)} leaves nothing of {list(x.shape[2:])}")
        index.append(slice(before, size - after))
    return x[tuple(index)]


__all__ = ["channel_shuffle", "conv_transpose1d", "conv_transpose2d", "crop", "pad2d", "resize", "upsample"]
