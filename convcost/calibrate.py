"""Measure this machine for the roofline: a float32 matmul peak and a memory copy bandwidth (NumPy).

* peak: ``np.matmul`` of two 2048 x 2048 float32 matrices into a preallocated output,
  2 x 2048^3 FLOPs, best of ``repeats`` after a warm-up call; BLAS limited to ``threads``
  threads when asked (threadpoolctl), else NumPy's default;
* bandwidth: ``np.copyto`` of a 64 MiB float32 array into another (both touched first, so no page
  faults are timed), split over as many Python threads as BLAS uses (NumPy releases the GIL
  while it copies), best of ``repeats``; bytes moved = 2 x 64 MiB (each value read once and
  written once, as STREAM's "copy" counts: no write-allocate traffic). 128 MiB in all is more
  than the last-level cache of most machines, so this is memory, not cache, bandwidth.

Both rates are rounded to 4 significant digits before they become the exact ``Device`` numbers: run-to-run noise
is far larger than that.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from convcost.errors import MissingDependencyError, SpecError
from convcost.record import record
from convcost.roofline import Device, device

MATMUL_N = 2048
COPY_BYTES = 64 * 2**20


@record
class Calibration:
    device: Device
    gflops: float
    gbs: float
    threads: int
    #: how it was measured, one sentence (also the device's ``source``)
    method: str


@contextlib.contextmanager
def _blas_threads(threads: int | None) -> Iterator[int]:
    """Limit BLAS to ``threads`` threads (threadpoolctl) and yield the count in force."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        if threads is not None:
            raise MissingDependencyError(
                "--threads needs threadpoolctl, which is not installed: pip install threadpoolctl"
            ) from None
        yield os.cpu_count() or 1
        return
    if threads is None:
        counts = [int(pool["num_threads"]) for pool in threadpool_info() if pool.get("user_api") == "blas"]
        yield max(counts, default=os.cpu_count() or 1)
        return
    with threadpool_limits(limits=threads, user_api="blas"):
        yield threads


def _best(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up: first call allocates and fills caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def calibrate(threads: int | None = None, repeats: int = 5) -> Calibration:
    """Measure the matmul peak and the copy bandwidth of this machine (see the module docstring)."""
    if threads is not None and (isinstance(threads, bool) or threads < 1):
        raise SpecError(f"--threads must be a positive integer, got {threads!r}")
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np  # the measurement needs it; the analytic path never does

    rng = np.random.default_rng(0)
    a = rng.standard_normal((MATMUL_N, MATMUL_N), dtype=np.float32)
    b = rng.standard_normal((MATMUL_N, MATMUL_N), dtype=np.float32)
    product = np.empty_like(a)
    source = np.ones(COPY_BYTES // 4, dtype=np.float32)
    target = np.zeros_like(source)
    with _blas_threads(threads) as used:
        matmul = _best(lambda: np.matmul(a, b, out=product), repeats)
        step = -(-source.size // used)
        parts = [(target[i : i + step], source[i : i + step]) for i in range(0, source.size, step)]
        with ThreadPoolExecutor(max_workers=used) as pool:

            def copy() -> None:
                list(pool.map(lambda pair: np.copyto(*pair), parts))

            copying = _best(copy, 2 * repeats)
    gflops = 2 * MATMUL_N**3 / matmul / 1e9
    gbs = 2 * COPY_BYTES / copying / 1e9
    thread_word = "thread" if used == 1 else "threads"
    peak, bandwidth = f"{gflops:.4g}", f"{gbs:.4g}"
    method = (
        f"measured on this machine with NumPy, {used} {thread_word}: float32 matmul {MATMUL_N}^3 "
        f"{peak} GFLOP/s (best of {repeats}), copy of {COPY_BYTES // 2**20} MiB read + written "
        f"{bandwidth} GB/s (best of {2 * repeats})"
    )
    return Calibration(device(peak, bandwidth, "calibrated", method), gflops, gbs, used, method)
