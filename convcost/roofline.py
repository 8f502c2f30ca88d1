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

from fractions import Fraction
from typing import Any

from convcost.devices import DEFAULT_DEVICE, GIGA, PRESETS, RATE_RANGE, Device, device, parse_rate, preset
from convcost.record import record
from convcost.traffic import LayerTraffic, Traffic


@record
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


@record
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


# the devices are convcost.devices'; they are named here too, beside the model that uses them
__all__ = [
    "DEFAULT_DEVICE",
    "GIGA",
    "PRESETS",
    "RATE_RANGE",
    "Device",
    "LayerBound",
    "Roofline",
    "device",
    "parse_rate",
    "place",
    "preset",
    "roofline",
]
