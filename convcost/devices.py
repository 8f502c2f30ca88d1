"""Devices: a peak arithmetic rate and a memory bandwidth, given or named (the presets).

Kept apart from ``convcost.roofline`` so that the CLI can list the presets without importing the
roofline and the traffic model (``convcost table`` imports neither).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from convcost.errors import SpecError
from convcost.record import record

GIGA = 10**9


@record
class Device:
    """A peak FLOP/s and a bandwidth in bytes/s, with where the numbers come from."""

    name: str
    peak_flops: Fraction
    bandwidth: Fraction
    source: str

    def __post_init__(self) -> None:
        for what, value in (("peak", self.peak_flops), ("bandwidth", self.bandwidth)):
            if value <= 0:
                raise SpecError(f"device '{self.name}': {what} must be > 0, got {value}")

    @property
    def ridge(self) -> Fraction:
        """FLOPs per byte at which the arithmetic and the memory take equally long."""
        return self.peak_flops / self.bandwidth

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "peak_gflops": float(self.peak_flops / GIGA),
            "bandwidth_gbs": float(self.bandwidth / GIGA),
            "peak_flops_exact": str(self.peak_flops),
            "bandwidth_exact": str(self.bandwidth),
            "ridge": float(self.ridge),
            "ridge_exact": str(self.ridge),
            "source": self.source,
        }


#: the rates a device may have, in G per second: a kilo-FLOP/s to a zetta-FLOP/s (so every time fits a float)
RATE_RANGE = (Fraction(1, 10**6), Fraction(10**12))


def parse_rate(text: str, what: str) -> Fraction:
    """A positive decimal (``'100'``, ``'19.5'``, ``'1e3'``) as an exact number; a clear error otherwise."""
    try:
        value = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise SpecError(f"{what} must be a positive number, got {text!r}") from None
    if value <= 0:
        raise SpecError(f"{what} must be a positive number, got {text!r}")
    low, high = RATE_RANGE
    if not low <= value <= high:
        raise SpecError(f"{what} must be between {float(low):g} and {float(high):g}, got {text!r}")
    return value


def device(peak_gflops: str, bandwidth_gbs: str, name: str = "custom", source: str = "given") -> Device:
    """A device from its peak in GFLOP/s and bandwidth in GB/s (decimal text, 1 G = 10^9)."""
    return Device(
        name,
        parse_rate(peak_gflops, "--peak-gflops") * GIGA,
        parse_rate(bandwidth_gbs, "--bandwidth-gbs") * GIGA,
        source,
    )


#: Named devices, float32 unless the name says otherwise. Vendors' figures are theoretical peaks;
#: see docs/roofline.md for why a real kernel reaches less.
PRESETS: dict[str, Device] = {
    d.name: d
    for d in (
        device(
            "100",
            "20",
            "cpu_core",
            "one core of this project's 2-vCPU AMD EPYC (Zen 4) VM, rounded: `convcost roofline --calibrate "
            "--threads 1` measured 69-101 GFLOP/s (NumPy float32 matmul 2048^3) and 18.6-24.3 GB/s "
            "(64 MiB copy) in 6 runs on 2026-12-01 (docs/performance.md)",
        ),
        device("19500", "1555", "a100", "NVIDIA A100 40 GB SXM4 datasheet: 19.5 TFLOP/s FP32, 1,555 GB/s HBM2"),
        device(
            "312000",
            "1555",
            "a100_fp16",
            "NVIDIA A100 40 GB SXM4 datasheet: 312 TFLOP/s FP16 on tensor cores (dense), 1,555 GB/s HBM2",
        ),
        device("8100", "320", "t4", "NVIDIA T4 datasheet: 8.1 TFLOP/s FP32, 320 GB/s GDDR6 (256-bit, 10 Gbit/s)"),
    )
}

#: the device when none is given
DEFAULT_DEVICE = "cpu_core"


def preset(name: str) -> Device:
    try:
        return PRESETS[name]
    except KeyError:
        raise SpecError(f"unknown device {name!r}; presets: {', '.join(PRESETS)}") from None
