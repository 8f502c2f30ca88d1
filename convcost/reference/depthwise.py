"""The NumPy reference's depthwise convolution, in three forms chosen per shape.

``depthwise_conv2d`` follows ``torch.nn.functional.conv2d(..., groups=C)`` (see
``convcost.reference.kernels`` for the calling convention and ``padding='same'``). Which form runs
is decided by ``_flat`` and ``_banded``, rules measured on MobileNet v1's layers
(docs/performance.md):

* the flat form (``_depthwise_flat``): small stride-1 maps, banded matrix products whose input is
  the channel's plane itself;
* the banded form (``_Band``, ``_depthwise_banded``): tiles of output rows as stacked products of
  a banded (Toeplitz) weight matrix with the rows they read, so BLAS accumulates the taps;
* the tap loop (``_TapGeometry``): a loop over the k*k taps on a channels-last copy, for small maps
  with many channels.

All three count the products with real weights (padding included), never those with a band's
structural zeros; docs/reference.md explains why. Work is spread over ``kernels.THREADS`` workers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from convcost.record import record
from convcost.reference import kernels as k
from convcost.reference.kernels import Array, IntPair, Pads, Tally, pointwise_conv2d

#: output rows of a depthwise conv are done in blocks of about this many elements (256 KiB float32,
#: inside a core's L2) so the k*k taps accumulate in cache
DEPTHWISE_BLOCK_ELEMENTS = 1 << 16
#: from this many output channels on, stride-1 depthwise taps are summed by one einsum per block
DEPTHWISE_FUSED_MIN_CHANNELS = 256
#: the banded depthwise form (``_Band``) computes tiles of at least this many output rows ...
#: (2 measured best at batch 1 and 8 on MobileNet's maps: a 3x3 band of 2 rows has K = 4 * 3, only
#: 1.33x the products the conv needs, against 2x for 4 rows; the extra matmul calls cost less)
DEPTHWISE_BAND_ROWS = 2
#: ... and of at least about this many outputs per channel (more rows on narrow maps: fewer, larger
#: multiplies); 0: always ``DEPTHWISE_BAND_ROWS``
DEPTHWISE_BAND_OUTPUTS = 0
#: ... and is used unless an output channel has fewer than this many pixels times the stride's area
#: and there are at least ``DEPTHWISE_FUSED_MIN_CHANNELS`` channels (there the tap loop is faster)
DEPTHWISE_BAND_MIN_OUTPUTS = 100
#: ... and copies the input it multiplies in chunks of about this many elements (1 MiB float32):
#: whole channels when one fits, else a few tiles of rows of one channel
DEPTHWISE_BAND_CHUNK_ELEMENTS = 1 << 18

#: stride-1-wide depthwise convs whose output keeps the input's width and has at most this many rows
#: use the whole-plane flat form (``_depthwise_flat``); 0 turns it off
DEPTHWISE_FLAT_MAX_ROWS = 16
#: ... in tiles of about this many outputs per channel (2 tiles of 7 rows on a 14x14 map)
DEPTHWISE_FLAT_OUTPUTS = 128


@record
class _TapGeometry:
    """The k*k tap loop of the depthwise kernel over blocks of output rows of one channels-last sample."""

    taps: Array  # (kh, kw, Wo, C, m)
    stride: IntPair
    dilation: IntPair
    rows: int  # output rows per block
    fused: bool  # one einsum over all taps instead of a multiply and an add per tap

    def accumulate(self, padded: Array, out: Array, block: Array, scratch: Array, start: int, stop: int) -> int:
        """Output rows ``[start, stop)`` of one sample into ``out`` (C*m, Ho, Wo), a cached block at a time.

        Returns the products performed, from the shapes of the operands multiplied (taps and map).
        """
        kh, kw, wo = self.taps.shape[:3]
        products = 0
        (sh, sw), (dh, dw) = self.stride, self.dilation
        sH, sW, sC, _ = padded.strides
        for r0 in range(start, stop, self.rows):
            r1 = min(stop, r0 + self.rows)
            target, product = block[: r1 - r0], scratch[: r1 - r0]
            if self.fused:
                # every tap's window of this block as one strided view (kh, kw, rows, Wo, C): einsum
                # multiplies and sums the taps in a single buffered pass, no temporary per tap
                windows = as_strided(
                    padded[r0 * sh :],
                    shape=(kh, kw, r1 - r0, wo, padded.shape[2]),
                    strides=(sH * dh, sW * dw, sH * sh, sW * sw, sC),
                    writeable=False,
                )
                weights = self.taps[:, :, 0]
                np.einsum("ijrwc,ijcm->rwcm", windows, weights, out=target)
                products += windows.size * weights.shape[-1]
                out[:, r0:r1] = target.reshape(r1 - r0, wo, -1).transpose(2, 0, 1)
                continue
            for tap in range(kh * kw):
                i, j = divmod(tap, kw)
                ih, iw = r0 * sh + i * dh, j * dw
                window = padded[ih : ih + (r1 - r0 - 1) * sh + 1 : sh, iw : iw + (wo - 1) * sw + 1 : sw]
                products += math.prod(np.broadcast_shapes(window.shape, self.taps[i, j].shape))
                if tap == 0:
                    np.multiply(window, self.taps[i, j], out=target)
                else:
                    np.multiply(window, self.taps[i, j], out=product)
                    np.add(target, product, out=target)
            # back to channels-first while the block is still in cache
            out[:, r0:r1] = target.reshape(r1 - r0, wo, -1).transpose(2, 0, 1)
        return products


@record
class _Band:
    """The banded (Toeplitz) form of a depthwise conv: a tile of output rows of many channels per matmul.

    For one channel plane and a tile of ``T`` output rows, a depthwise conv is a matrix product::

        out[tile rows, :] = band (T, R * kw) @ columns (R * kw, Wo)

    ``columns[(p, j), o] = padded[first row of the tile + p, o * sw + j * dw]`` holds the
    ``R = (T - 1) * sh + (kh - 1) * dh + 1`` padded input rows the tile reads, each once per kernel
    column ``j``, shifted by ``j * dw`` (and taken every ``sw``-th pixel); the band holds the
    channel's weights, ``band[r, (r * sh + i * dh, j)] = w[i, j]``, and zeros elsewhere. Every row
    of the band has exactly ``kh * kw`` positions holding a weight; the other ``R * kw - kh * kw``
    are structural zeros. ``np.matmul`` stacks this over channels and tiles, so BLAS accumulates the
    k*k taps in registers instead of NumPy making 2*k*k element-wise passes over the output.

    Counting: products of a band's structural zeros are overhead of this representation (a direct
    kernel, or the tap loop, never performs them), so they are not counted. The count is read off
    the band's structure: per output row, the positions that hold a weight (``taps``), times the
    output columns, channels and samples written. Padding is materialised in ``columns``, so a
    weight times a padding zero is counted, as in the other kernels and in the formula.

    One semantic difference: a structural zero times an infinite input is NaN, so an inf in the
    input can turn outputs of the same tile and column into NaN that a direct conv leaves finite.
    """

    weights: Array  # (C, m, 1, T, R * kw): the band of every output channel
    taps: Array  # (T,): positions of each band row that hold a weight
    kernel: IntPair
    stride: IntPair
    dilation: IntPair
    pads: Pads
    out_hw: IntPair

    @classmethod
    def build(
        cls, w: Array, m: int, stride: IntPair, dilation: IntPair, pads: Pads, out_hw: IntPair, dtype: Any
    ) -> _Band:
        kh, kw = w.shape[2:]
        target = max(DEPTHWISE_BAND_ROWS, -(-DEPTHWISE_BAND_OUTPUTS // out_hw[1]))
        tiles = -(-out_hw[0] // target)
        rows = -(-out_hw[0] // tiles)  # balanced: 14 rows at a target of 10 would be 2 tiles of 7
        c = w.shape[0] // m
        band = _band_rows(w.reshape(c * m, kh, kw).astype(dtype, copy=False), rows, stride[0], dilation[0])
        holds = _band_rows(np.ones((1, kh, kw), dtype=bool), rows, stride[0], dilation[0])
        structural = np.count_nonzero(holds[:, 0], axis=1)
        # stored (T, C * m, K) so that building it is T contiguous copies; BLAS reads each channel's
        # (T, K) band with a leading dimension of C * m * K
        weights = band.reshape(rows, c, m, 1, -1).transpose(1, 2, 3, 0, 4)
        return cls(weights, structural, (kh, kw), stride, dilation, pads, out_hw)

    @property
    def rows(self) -> int:
        return int(self.weights.shape[3])

    @property
    def span(self) -> int:
        return int(self.weights.shape[4]) // self.kernel[1]

    def plan(self, n: int, c: int) -> tuple[int, int, list[tuple[int, int, int]]]:
        """Channels and tiles per chunk, and the work items ``(sample, first channel, first tile)``.

        A chunk's columns hold about ``DEPTHWISE_BAND_CHUNK_ELEMENTS``: whole channels when one
        fits, else as many tiles of one channel as fit (at least one).
        """
        ho, wo = self.out_hw
        kw = self.kernel[1]
        tiles = -(-ho // self.rows)
        step = self.rows * self.stride[0]
        per_channel = ((tiles - 1) * step + self.span) * kw * wo
        if per_channel <= DEPTHWISE_BAND_CHUNK_ELEMENTS:
            channels, tile_step = min(c, DEPTHWISE_BAND_CHUNK_ELEMENTS // per_channel), tiles
        else:
            fit = DEPTHWISE_BAND_CHUNK_ELEMENTS // (kw * wo)
            channels, tile_step = 1, min(tiles, max(1, (fit - self.span) // step + 1))
        work = [(s, c0, t0) for s in range(n) for c0 in range(0, c, channels) for t0 in range(0, tiles, tile_step)]
        return channels, tile_step, work


def _band_rows(taps: Array, rows: int, stride: int, dilation: int) -> Array:
    """``(rows, channels, R * kw)``: row ``r`` holds ``taps[c, i, j]`` at ``(r * stride + i * dilation, j)``.

    Row 0 is written once; row ``r`` is row 0 shifted by ``r * stride * kw`` along the flattened
    channels: the shift only moves row 0's trailing zeros into the next channel's segment.
    """
    channels, kh, kw = taps.shape
    span = (rows - 1) * stride + (kh - 1) * dilation + 1
    first = np.zeros((channels, span, kw), dtype=taps.dtype)
    first[:, : (kh - 1) * dilation + 1 : dilation] = taps
    return _shifted_rows(first.reshape(-1), rows, stride * kw).reshape(rows, channels, span * kw)


def _shifted_rows(first: Array, rows: int, shift: int) -> Array:
    """``(rows, len(first))``: row ``r`` is ``first`` shifted right by ``r * shift``, zeros entering.

    Copied from a zero-prefixed copy of ``first``, never from row 0 of the result: NumPy copies
    between parts of one array several times slower (measured 0.11 against 0.02 ms for a 7x7x1024
    band).
    """
    pad = (rows - 1) * shift
    source = np.zeros(pad + first.size, dtype=first.dtype)
    source[pad:] = first
    band = np.empty((rows, first.size), dtype=first.dtype)
    for r in range(rows):
        band[r] = source[pad - r * shift : pad - r * shift + first.size]
    return band


def _depthwise_banded(x: Array, out: Array, band: _Band) -> int:
    """``out`` by the banded form, work items spread over ``THREADS`` workers; returns the products.

    Each worker copies a chunk's padded input rows into its own ``columns`` buffer
    ``(channels, rows, kw, Wo)`` (zero where padding falls) and multiplies the chunk's bands by a
    strided view of it: tile ``t`` of the view starts ``T * sh`` rows further down.
    """
    n, c, h, wd = x.shape
    ho, wo = band.out_hw
    kw, (sh, sw), (_, dw) = band.kernel[1], band.stride, band.dilation
    (top, _), (left, _) = band.pads
    m, rows, span = band.weights.shape[1], band.rows, band.span
    channels, tile_step, work = band.plan(n, c)
    tiles = -(-ho // rows)
    full_tiles = ho // rows  # the last tile may hold fewer than T rows
    length = (tile_step - 1) * rows * sh + span
    per_tile = int(band.taps.sum())
    copies = []  # per kernel column: the output columns it fills and the input columns it reads
    for j in range(kw):
        o0, o1, iw = k._tap_range(wd, wo, j * dw - left, sw)
        if o1 > o0:  # columns outside [o0, o1) read padding: never written, so they stay zero
            copies.append((j, slice(o0, o1), slice(iw, iw + (o1 - o0 - 1) * sw + 1, sw)))
    workers = max(1, min(k.THREADS, len(work)))

    def share(part: int) -> int:
        # Only the padding of ``columns`` must be zero: the columns no kernel column ever copies to
        # are zeroed once here, the rows around a chunk's input rows as the chunks need it.
        columns = np.empty((channels, length, kw, wo), dtype=out.dtype)
        for j in range(kw):
            filled = next((into for jj, into, _ in copies if jj == j), slice(0, 0))
            columns[:, :, j, : filled.start] = 0
            columns[:, :, j, filled.stop :] = 0
        s0, s1, s2, s3 = columns.strides
        stack = as_strided(columns, (channels, 1, tile_step, span * kw, wo), (s0, 0, rows * sh * s1, s2, s3))
        written = (0, length)  # rows of ``columns`` that may hold something other than zeros
        products = 0
        for sample, c0, t0 in work[part::workers]:
            c1, t1 = min(c, c0 + channels), min(tiles, t0 + tile_step)
            q, first = c1 - c0, t0 * rows * sh  # first: the padded row of the first tile
            # input rows [p0, p1) of this chunk; rows around them are padding
            p0 = min(length, max(0, top - first))
            p1 = max(p0, min(length, top + h - first))
            if written[0] < p0:
                columns[:, written[0] : p0] = 0
            if written[1] > p1:
                columns[:, max(p1, written[0]) : written[1]] = 0
            written = (p0, p1)
            source = x[sample, c0:c1, p0 + first - top : p1 + first - top]
            for j, into, read in copies:
                columns[:q, p0:p1, j, into] = source[:, :, read]
            weights = band.weights[c0:c1]
            target = out[sample, c0 * m : c1 * m].reshape(q, m, ho, wo)
            full = min(t1, full_tiles) - t0
            if full > 0:
                view = target[:, :, t0 * rows : (t0 + full) * rows].reshape(q, m, full, rows, wo)
                np.matmul(weights, stack[:q, :, :full], out=view)
                products += q * m * full * per_tile * wo
            if t0 + full < t1:
                last = ho - (t0 + full) * rows
                view = target[:, :, None, (t0 + full) * rows :]
                np.matmul(weights[:, :, :, :last], stack[:q, :, full : full + 1], out=view)
                products += q * m * int(band.taps[:last].sum()) * wo
        return products

    if workers == 1:
        return share(0)
    return sum(k._executor(workers).map(share, range(workers)))


def _flat(stride: IntPair, out_hw: IntPair, width: int) -> bool:
    """Whether the flat form (``_depthwise_flat``) runs: small maps, stride 1 across, same width.

    Measured on MobileNet v1's stride-1 layers, single thread (docs/performance.md): 14x14x512
    0.28 ms against 0.36 (banded form) and 0.49 (tap loop) at batch 1, 1.8 against 2.6 and 4.4 ms at
    batch 8; 7x7x1024 0.22 against 0.30 (tap loop) at batch 1, 1.9 against 2.8 ms at batch 8. On
    larger maps (28x28 and up) the flat form's tiles overlap more and lose to ``_Band``.
    """
    return stride[1] == 1 and out_hw[1] == width and out_hw[0] <= DEPTHWISE_FLAT_MAX_ROWS


def _depthwise_flat(x: Array, out: Array, w: Array, m: int, stride: IntPair, dilation: IntPair, pads: Pads) -> int:
    """``out`` by banded matmuls whose input is the channel's plane itself, not re-laid row by row.

    With stride 1 across and ``Wo == W``, the input a kernel column ``j`` reads for a tile of ``T``
    output rows is, flattened, the channel's plane shifted by ``(top - t * T * sh) * W + left - j * dw``
    elements: ``segments[c, t, j]`` holds the tile's ``R = (T - 1) * sh + (kh - 1) * dh + 1`` padded
    rows of width ``W`` as one contiguous copy; only the at most ``left`` (``right``) columns that
    wrapped around from the neighbouring row are zeroed afterwards. So
    ``out[c, tile] (T, W) = band[c] (T, kw * R) @ segments[c, t] (kw * R, W)`` with
    ``band[c, r, (j, r * sh + i * dh)] = w[c, i, j]``, straight into the NCHW output. Compared to
    ``_Band`` this replaces ``kw`` copies with inner runs of ``Wo`` by ``kw`` copies per tile with
    runs of ``R * W``. Tiles of about ``DEPTHWISE_FLAT_OUTPUTS`` outputs per channel, balanced (7 rows on
    14- and 7-row maps).

    Counting, as in ``_Band``: the band's weight-holding positions per row, read off a mask built
    like the band, times the columns each matmul multiplies; its structural zeros are not counted,
    the padding is. The same ``0 * inf`` caveat as ``_Band`` applies.
    """
    n, c, h, wd = x.shape
    ho = out.shape[2]
    kh, kw = w.shape[2:]
    sh, (dh, dw) = stride[0], dilation
    (top, _), (left, _) = pads
    tiles = -(-ho // max(1, -(-DEPTHWISE_FLAT_OUTPUTS // wd)))
    rows = -(-ho // tiles)
    tiles = -(-ho // rows)
    full = ho // rows  # the last tile may hold fewer rows
    span = (rows - 1) * sh + (kh - 1) * dh + 1
    # (T, C*m, kw*R): row r is row 0 shifted by r * sh along the flattened channels (the shift only
    # moves row 0's trailing zeros into the next segment), so building it is T contiguous copies
    first = np.zeros((c * m, kw, span), dtype=out.dtype)
    first[:, :, : (kh - 1) * dh + 1 : dh] = w.reshape(c * m, kh, kw).transpose(0, 2, 1)
    band = _shifted_rows(first.reshape(-1), rows, sh)
    weights = band.reshape(rows, c, m, 1, kw * span).transpose(1, 2, 3, 0, 4)  # leading dimension C*m*K
    # the band's structure, built the same way from a mask: the positions of each row that hold a weight
    holds = np.zeros((1, kw, span), dtype=bool)
    holds[:, :, : (kh - 1) * dh + 1 : dh] = True
    taps = np.count_nonzero(_shifted_rows(holds.reshape(-1), rows, sh)[:, : kw * span], axis=1)
    channels = max(1, min(c, DEPTHWISE_BAND_CHUNK_ELEMENTS // (tiles * kw * span * wd)))
    work = [(s, c0) for s in range(n) for c0 in range(0, c, channels)]
    # per tile and kernel column: the shift of the flattened plane and the part of the segment it fills
    spans = []
    for t in range(tiles):
        for j in range(kw):
            shift = (top - t * rows * sh) * wd + left - j * dw
            a, b = max(0, shift), max(0, min(span * wd, shift + h * wd))
            spans.append((t, j, shift, min(a, b), b))
    workers = max(1, min(k.THREADS, len(work)))

    def share(part: int) -> int:
        # rows above and below the map stay zero (one contiguous memset: faster than zeroing them alone)
        segments = np.zeros((channels, tiles, kw, span * wd), dtype=out.dtype)
        products = 0
        for sample, c0 in work[part::workers]:
            c1 = min(c, c0 + channels)
            q = c1 - c0
            plane = x[sample, c0:c1].reshape(q, h * wd)
            for t, j, shift, a, b in spans:
                segments[:q, t, j, a:b] = plane[:, a - shift : b - shift]
            for j in range(kw):  # the columns that wrapped around from the neighbouring row
                offset = left - j * dw
                grid = segments[:q, :, j].reshape(q, tiles, span, wd)
                if offset > 0:
                    grid[..., : min(offset, wd)] = 0
                elif offset < 0:
                    grid[..., max(0, wd + offset) :] = 0
            stack = segments[:q].reshape(q, 1, tiles, kw * span, wd)
            target = out[sample, c0 * m : c1 * m].reshape(q, m, ho, wd)
            view = target[:, :, : full * rows].reshape(q, m, full, rows, wd)
            np.matmul(weights[c0:c1], stack[:, :, :full], out=view)
            # per matmul: band rows' weight-holding positions times the columns multiplied, per channel
            products += q * m * full * int(taps.sum()) * stack.shape[-1]
            if full < tiles:
                last = ho - full * rows
                np.matmul(weights[c0:c1, :, :, :last], stack[:, :, full:], out=target[:, :, None, full * rows :])
                products += q * m * int(taps[:last].sum()) * stack.shape[-1]
        return products

    if workers == 1:
        return share(0)
    return sum(k._executor(workers).map(share, range(workers)))


def _banded(stride: IntPair, out_hw: IntPair, channels: int) -> bool:
    """Whether the banded form is used: everywhere it was measured faster than the tap loop.

    Asked after ``_flat``. The tap loop stays faster only on small maps with many channels
    (MobileNet v1's stride-2 conv_dw_6 and conv_dw_12, 14x14x256 and 7x7x512 outputs): its
    channels-last rows are long there, while the banded form would run many tiny matmuls.
    Measured by benchmarks/bench_reference.py and docs/performance.md.
    """
    small = out_hw[0] * out_hw[1] < DEPTHWISE_BAND_MIN_OUTPUTS * stride[0] * stride[1]
    return not (small and channels >= DEPTHWISE_FUSED_MIN_CHANNELS)


def depthwise_conv2d(
    x: Array,
    w: Array,
    b: Array | None = None,
    stride: int | IntPair = 1,
    padding: object = 0,
    dilation: int | IntPair = 1,
    depth_multiplier: int = 1,
    *,
    tally: Tally | None = None,
) -> Array:
    """``conv2d(..., groups=C)`` with ``C * depth_multiplier`` filters, in one of three forms.

    ``w`` is ``(C * depth_multiplier, 1, kh, kw)``; output channel ``c * depth_multiplier + m``
    reads input channel ``c`` (torch's and Keras' order).

    Mostly the banded form (``_Band``): tiles of output rows as stacked matrix products of a
    banded weight matrix with the rows they read, so BLAS does the accumulation; its count is the
    band's weight-holding positions, not the products BLAS spends on the band's structural zeros.
    Small stride-1-across maps as wide as their input (``_flat``) use the same product with the
    input copied plane-long (``_depthwise_flat``). On the remaining small maps with many channels
    (``_banded``) a loop over the k*k taps is faster (``_depthwise_taps``).
    """
    n, c, _, wd = x.shape
    m = depth_multiplier
    kh, kw = w.shape[2:]
    if w.shape[:2] != (c * m, 1):
        raise ValueError(f"depthwise weights {tuple(w.shape)} do not fit {c} channels x multiplier {m}")
    s, d, pads, (ho, wo) = k._geometry(x, (kh, kw), stride, padding, dilation)
    dtype = np.result_type(x, w)
    out = np.empty((n, c * m, ho, wo), dtype=dtype)
    if _flat(s, (ho, wo), wd):
        products = _depthwise_flat(x, out, w.astype(dtype, copy=False), m, s, d, pads)
    elif _banded(s, (ho, wo), c * m):
        products = _depthwise_banded(x, out, _Band.build(w, m, s, d, pads, (ho, wo), dtype))
    else:
        products = _depthwise_taps(x, out, w, m, s, d, pads)
    if tally is not None:
        tally.products(products)
    return k._add_bias(out, b)


def _depthwise_taps(x: Array, out: Array, w: Array, m: int, s: IntPair, d: IntPair, pads: Pads) -> int:
    """``out`` by a loop over the k*k taps; returns the products.

    Speed comes from layout and blocking, not from loops: one sample at a time is copied into a
    zero-padded channels-last buffer, so along a row (width x channels) a tap is one long contiguous
    multiply by its weights repeated across the row; output rows are done in blocks of
    ``DEPTHWISE_BLOCK_ELEMENTS`` that stay in cache while all k*k taps accumulate into them in place.
    Each finished block is transposed back to channels-first while still in cache, so peak memory is
    input + output plus one padded sample and two blocks per worker;
    ``THREADS`` workers share the samples (or, for fewer samples, each sample's row blocks).
    """
    n, c, h, wd = x.shape
    ho, wo = out.shape[2:]
    kh, kw = w.shape[2:]
    dtype = out.dtype
    (top, bottom), (left, right) = pads
    # (kh, kw, Wo, C, m): every tap's weights laid along a whole output row
    per_tap = w.reshape(c, m, kh, kw).transpose(2, 3, 0, 1)[:, :, None]
    taps = np.ascontiguousarray(np.broadcast_to(per_tap, (kh, kw, wo, c, m)), dtype=dtype)
    padded_shape = (h + top + bottom, wd + left + right, c, 1)
    rows = min(ho, max(1, DEPTHWISE_BLOCK_ELEMENTS // (wo * c * m)))
    # Measured on MobileNet v1's layers: the fused einsum wins on strided and on wide (>= 256
    # channel) maps, the per-tap ufuncs on narrow stride-1 maps (benchmarks/bench_reference.py).
    fused = s != (1, 1) or c * m >= DEPTHWISE_FUSED_MIN_CHANNELS
    geometry = _TapGeometry(taps, s, d, rows, fused)
    interior = (slice(top, top + h), slice(left, left + wd), slice(None), 0)
    workers = max(1, min(k.THREADS, n * -(-ho // rows)))

    def buffers() -> tuple[Array, Array]:
        return np.empty((rows, wo, c, m), dtype=dtype), np.empty((rows, wo, c, m), dtype=dtype)

    def samples(first: int, step: int) -> int:
        """Samples first, first + step, ...: each worker pads its own."""
        padded = np.zeros(padded_shape, dtype=dtype)
        block, scratch = buffers()
        products = 0
        for sample in range(first, n, step):
            padded[interior] = x[sample].transpose(1, 2, 0)
            products += geometry.accumulate(padded, out[sample], block, scratch, 0, ho)
        return products

    if workers == 1:
        products = samples(0, 1)
    elif n >= workers:
        products = sum(k._executor(workers).map(lambda first: samples(first, workers), range(workers)))
    else:
        # fewer samples than workers: split each sample's output rows (whole blocks) between them
        padded = np.zeros(padded_shape, dtype=dtype)
        scratches = [buffers() for _ in range(workers)]
        blocks = -(-ho // rows)
        bounds = [min(ho, rows * (blocks * part // workers)) for part in range(workers + 1)]
        products = 0
        for sample in range(n):
            padded[interior] = x[sample].transpose(1, 2, 0)
            products += sum(
                k._executor(workers).map(
                    lambda part, target=out[sample]: geometry.accumulate(  # type: ignore[misc]
                        padded, target, *scratches[part], bounds[part], bounds[part + 1]
                    ),
                    range(workers),
                )
            )
    return products


def separable_conv2d(
    x: Array,
    depthwise: Array,
    pointwise: Array,
    b: Array | None = None,
    stride: int | IntPair = 1,
    padding: object = 0,
    dilation: int | IntPair = 1,
    depth_multiplier: int = 1,
    *,
    tally: Tally | None = None,
) -> Array:
    """Keras ``SeparableConv2D``: depthwise (no bias), then a 1x1 conv that carries the one bias."""
    mid = depthwise_conv2d(x, depthwise, None, stride, padding, dilation, depth_multiplier, tally=tally)
    return pointwise_conv2d(mid, pointwise, b, tally=tally)
