"""The depthwise kernel's three forms (flat, banded, tap loop): same answers, honest count, bounded buffers.

``depthwise._flat`` and ``depthwise._banded`` decide per call which form runs; these tests force each
form, so all three stay covered whatever the dispatch rules pick for the small geometries
hypothesis draws (the flat form only where it applies: stride 1 across, output as wide as input).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch.nn.functional as F
from hypothesis import given
from test_reference_kernels import assert_close, conv_case, naive_depthwise, rand, t, torch_pad

from convcost.reference import depthwise as dw
from convcost.reference import kernels as k


def force(monkeypatch: pytest.MonkeyPatch, form: str) -> None:
    """Run ``form`` ('flat', 'banded' or 'taps'); the flat form only where it applies (else the usual
    dispatch picks)."""
    if form == "flat":
        monkeypatch.setattr(dw, "DEPTHWISE_FLAT_MAX_ROWS", 10**9)
        return
    monkeypatch.setattr(dw, "_flat", lambda stride, out_hw, width: False)
    monkeypatch.setattr(dw, "_banded", lambda stride, out_hw, channels: form == "banded")


def torch_depthwise(x: np.ndarray, w: np.ndarray, case: dict[str, Any]) -> Any:
    return F.conv2d(
        torch_pad(t(x), case["pads"]), t(w), None, stride=case["stride"], dilation=case["dilation"], groups=x.shape[1]
    )


def tune(monkeypatch: pytest.MonkeyPatch, rows: int, outputs: int, chunk: int, threads: int) -> None:
    """Tile rows (at least ``rows``, about ``outputs`` per channel), chunk budget and workers."""
    monkeypatch.setattr(dw, "DEPTHWISE_BAND_ROWS", rows)
    monkeypatch.setattr(dw, "DEPTHWISE_BAND_OUTPUTS", outputs)
    monkeypatch.setattr(dw, "DEPTHWISE_BAND_CHUNK_ELEMENTS", chunk)
    monkeypatch.setattr(k, "THREADS", threads)


@pytest.mark.parametrize("form", ["flat", "banded", "taps"])
@given(case=conv_case(depthwise=True))
def test_each_form_equals_torch_and_counts_every_tap_of_every_output(form: str, case: dict[str, Any]) -> None:
    with pytest.MonkeyPatch.context() as patch:
        force(patch, form)
        rng = np.random.default_rng(case["seed"])
        n, c, h, wd = case["shape"]
        m = case["multiplier"]
        x, w = rand(rng, n, c, h, wd), rand(rng, c * m, 1, *case["kernel"])
        tally = k.Tally()
        ours = dw.depthwise_conv2d(x, w, None, case["stride"], case["padding"], case["dilation"], m, tally=tally)
        expected = torch_depthwise(x, w, case)
        assert_close(ours, expected)
        # the closed form: kh * kw multiply-adds per output value, padding included
        assert tally.macs == case["kernel"][0] * case["kernel"][1] * expected.numel()


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_tiles_chunks_and_threads_give_the_same_answer_and_count(monkeypatch: pytest.MonkeyPatch, stride: int) -> None:
    """Partial last tiles, one-tile chunks of one channel, workers sharing the items: one answer."""
    rng = np.random.default_rng(21)
    x, w = rand(rng, 2, 3, 13, 11), rand(rng, 6, 1, 3, 2)
    pads = k.resolve_padding("same", (13, 11), (3, 2), (stride, stride), (2, 2))
    expected = naive_depthwise(x, w, stride, pads, 2, 2)
    force(monkeypatch, "banded")
    for rows, outputs in ((1, 1), (2, 1), (3, 1), (4, 128), (100, 1)):
        for chunk in (10**9, 200, 1):
            for threads in (1, 2, 3):
                tune(monkeypatch, rows, outputs, chunk, threads)
                tally = k.Tally()
                assert_close(dw.depthwise_conv2d(x, w, None, stride, "same", 2, 2, tally=tally), expected)
                assert tally.macs == 3 * 2 * expected.size
                assert_close(dw.depthwise_conv2d(x[:1], w, None, stride, "same", 2, 2), expected[:1])


def test_the_count_is_the_bands_taps_not_its_structural_zeros() -> None:
    """BLAS multiplies the whole band; only the positions holding a weight are counted."""
    rng = np.random.default_rng(5)
    x, w = rand(rng, 2, 4, 16, 16), rand(rng, 4, 1, 3, 3)
    band = dw._Band.build(w, 1, (1, 1), (1, 1), ((1, 1), (1, 1)), (16, 16), np.float32)
    rows, inner = band.weights.shape[-2:]
    assert list(band.taps) == [9] * rows  # every band row holds the 3x3 taps once
    assert inner > 9  # ... among structural zeros that BLAS also multiplies
    tally = k.Tally()
    dw.depthwise_conv2d(x, w, None, 1, 1, tally=tally)
    assert tally.macs == 2 * 4 * 16 * 16 * 9
    blas_products = 2 * 4 * 16 * 16 * inner
    assert tally.macs < blas_products


def test_the_band_holds_each_weight_where_the_definition_puts_it() -> None:
    rng = np.random.default_rng(8)
    w = rand(rng, 6, 1, 2, 3)  # 3 channels x multiplier 2
    band = dw._Band.build(w, 2, (2, 1), (3, 2), ((0, 0), (0, 0)), (5, 4), np.float32)
    c, m, _, rows, inner = band.weights.shape
    span = inner // 3
    dense = band.weights.reshape(c, m, rows, span, 3)
    for ch in range(c):
        for mm in range(m):
            for r in range(rows):
                expected = np.zeros((span, 3), dtype=np.float32)
                for i in range(2):
                    expected[r * 2 + i * 3] = w[ch * m + mm, 0, i]
                np.testing.assert_array_equal(dense[ch, mm, r], expected)


def test_a_chunks_buffer_stays_bounded_on_a_large_map(monkeypatch: pytest.MonkeyPatch) -> None:
    """A channel larger than the chunk budget is done a few tiles of rows at a time."""
    monkeypatch.setattr(dw, "DEPTHWISE_BAND_CHUNK_ELEMENTS", 4096)
    w = rand(np.random.default_rng(2), 1, 1, 3, 3)
    band = dw._Band.build(w, 1, (1, 1), (1, 1), ((1, 1), (1, 1)), (200, 64), np.float32)
    channels, tile_step, work = band.plan(1, 1)
    length = (tile_step - 1) * band.rows + band.span
    assert channels == 1 and len(work) > 1
    assert channels * length * 3 * 64 <= 4096


def test_the_dispatch_rule() -> None:
    """Banded everywhere except small maps with many channels (measured; docs/performance.md)."""
    assert dw._banded((1, 1), (112, 112), 32)
    assert dw._banded((1, 1), (14, 14), 512)
    assert dw._banded((2, 2), (28, 28), 256)
    assert dw._banded((1, 1), (7, 7), 64)
    assert not dw._banded((1, 1), (7, 7), 1024)
    assert not dw._banded((2, 2), (7, 7), 1024)
    assert not dw._banded((2, 2), (14, 14), 512)


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_flat_tiles_chunks_and_threads_give_the_same_answer_and_count(
    monkeypatch: pytest.MonkeyPatch, stride: int
) -> None:
    """Vertical strides, partial last tiles, one-channel chunks, workers sharing them: one answer."""
    rng = np.random.default_rng(22)
    x, w = rand(rng, 2, 3, 13, 11), rand(rng, 6, 1, 3, 3)
    pads = k.resolve_padding("same", (13, 11), (3, 3), (stride, 1), (2, 2))
    expected = F.conv2d(torch_pad(t(x), pads), t(w), None, stride=(stride, 1), dilation=2, groups=3).numpy()
    monkeypatch.setattr(dw, "DEPTHWISE_FLAT_MAX_ROWS", 10**9)
    assert dw._flat((stride, 1), expected.shape[2:], 11)
    for rows, outputs in ((1, 1), (2, 1), (4, 128), (100, 1)):
        for chunk in (10**9, 1):
            for threads in (1, 2, 3):
                tune(monkeypatch, rows, outputs, chunk, threads)
                tally = k.Tally()
                assert_close(dw.depthwise_conv2d(x, w, None, (stride, 1), "same", 2, 2, tally=tally), expected)
                assert tally.macs == 3 * 3 * expected.size


def test_flat_dispatch() -> None:
    assert dw._flat((1, 1), (14, 14), 14)
    assert dw._flat((1, 1), (7, 7), 7)
    assert dw._flat((2, 1), (7, 14), 14)
    assert not dw._flat((2, 2), (7, 7), 14)
    assert not dw._flat((1, 1), (28, 28), 28)
    assert not dw._flat((1, 1), (14, 12), 14)  # narrower than its input: no plane-long copies
