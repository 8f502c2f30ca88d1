"""The roofline: what bounds each layer on a device, and how long it takes at best.

A device is two numbers: its peak arithmetic rate ``P`` (FLOP/s) and its memory bandwidth ``B``
(bytes/s). A layer of ``F`` FLOPs that moves ``Q`` bytes (``convcost.traffic``) cannot finish faster
than either resource allows, and the model says it takes exactly the longer of the two:

    time = max(F / P, Q / B)          attainable rate = F / time = min(P, I x B),  I = F / Q

The ridge point ``P / B`` (FLOPs per byte) splits the layers: below it a layer is ``memory``-bound
(the bytes take longer than the arithmetic), at or above it ``compute``-bound. Every value is
exact (``Fraction``): the device numbers are parsed from their decimal text.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from convcost.errors import SpecError
from convcost.traffic import LayerTraffic, Traffic

GIGA = 10**9


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class LayerBound:
    """One layer on the roofline. A layer that moves nothing and computes nothing has no bound."""

    traffic: LayerTraffic
    #: ``'compute'``, ``'memory'``, or ``None`` for a layer that moves no bytes
    bound: str | None
    #: FLOP/s the roofline allows at this layer's intensity (``None`` with no bytes)
    attainable: Fraction | None
    #: the predicted time in seconds: max(FLOPs / peak, bytes / bandwidth)
    time: Fraction

    def to_dict(self, traffic: Traffic) -> dict[str, Any]:
        return {
            **traffic.layer_dict(self.traffic),
            "bound": self.bound,
            "attainable_gflops": None if self.attainable is None else float(self.attainable / GIGA),
            "time_s": float(self.time),
            "time_exact": str(self.time),
        }


def place(t: LayerTraffic, dev: Device) -> LayerBound:
    compute, memory = Fraction(t.flops) / dev.peak_flops, Fraction(t.bytes) / dev.bandwidth
    time = max(compute, memory)
    if t.intensity is None:
        return LayerBound(t, None, None, time)
    bound = "compute" if t.intensity >= dev.ridge else "memory"
    return LayerBound(t, bound, min(dev.peak_flops, t.intensity * dev.bandwidth), time)


@dataclass(frozen=True)
class Roofline:
    device: Device
    traffic: Traffic
    layers: tuple[LayerBound, ...]

    @property
    def time(self) -> Fraction:
        """The network's predicted time: its layers' times, one after another."""
        return sum((b.time for b in self.layers), Fraction(0))

    def time_of(self, bound: str) -> Fraction:
        return sum((b.time for b in self.layers if b.bound == bound), Fraction(0))

    def time_by_kind(self) -> dict[str, Fraction]:
        times: dict[str, Fraction] = {}
        for b in self.layers:
            times[b.traffic.kind] = times.get(b.traffic.kind, Fraction(0)) + b.time
        return {kind: times[kind] for kind in self.traffic.by_kind}

    def to_dict(self) -> dict[str, Any]:
        total = self.time
        by_kind = self.time_by_kind()
        return {
            "model": self.traffic.model,
            "input": list(self.traffic.input),
            "batch": self.traffic.batch,
            "dtype": self.traffic.dtype,
            "bytes_per_value": self.traffic.bytes_per_value,
            "lower_bound": self.traffic.lower_bound,
            "device": self.device.to_dict(),
            "layers": [b.to_dict(self.traffic) for b in self.layers],
            "totals": {
                **self.traffic.totals.to_dict(),
                "time_s": float(total),
                "time_exact": str(total),
                "compute_bound_time_s": float(self.time_of("compute")),
                "memory_bound_time_s": float(self.time_of("memory")),
                "compute_bound_layers": sum(b.bound == "compute" for b in self.layers),
                "memory_bound_layers": sum(b.bound == "memory" for b in self.layers),
            },
            "by_kind": {
                kind: {
                    **t.to_dict(),
                    "time_s": float(by_kind[kind]),
                    "time_share": float(by_kind[kind] / total) if total else 0.0,
                }
                for kind, t in self.traffic.by_kind.items()
            },
        }


def roofline(traffic: Traffic, dev: Device) -> Roofline:
    """Every layer of ``traffic`` placed on ``dev``'s roofline."""
    return Roofline(dev, traffic, tuple(place(t, dev) for t in traffic.layers))
