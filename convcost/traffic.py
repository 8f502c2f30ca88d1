"""Bytes moved and arithmetic intensity of every layer: the least traffic a forward pass can make.

Each layer is priced as if it ran on its own, from memory to memory (no fusion of a conv with the
BN and activation after it, no reuse of a tensor that is still in a cache): it reads each of its
inputs once, reads each of its weights once and writes its output once. So

    bytes = (values of all inputs + values of the output) x batch + weights,   x bytes per value

Weights are every tensor the layer's kind declares (``Layer.weights``: a BatchNorm reads four values
per channel, scale, offset, mean and variance), whichever convention the report's parameter
column uses; that is the ``keras`` convention's count, except that a layer called again (a node
that shares another's weights) reads them again. Layers that only relabel their input (Flatten,
Reshape) or pass it on at inference (Identity, Dropout, DropPath) move nothing: each kind says so
in its declaration (``Layer.moves_data``). An ``Unknown`` node (read without a mapping) is priced by its known input
and output shapes, and the traffic is then a lower bound, as the report's totals are.

Arithmetic intensity is FLOPs per byte moved, with FLOPs = 2 x the paper's multiply-adds (conv and
fully-connected work only; element-wise layers have intensity 0). Values are exact (integers and
``Fraction``); floats appear only in ``to_dict`` for JSON and in what renderers print.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction
from typing import Any

from convcost.digits import float_or_none
from convcost.labels import KINDS
from convcost.layer import Shape, elements
from convcost.memory import DTYPE_BYTES
from convcost.model import Model
from convcost.record import record
from convcost.render.depth import BLOCK_KIND
from convcost.report import analyze


@record
class LayerTraffic:
    """The traffic of one layer, for the whole batch."""

    path: str
    name: str
    kind: str
    #: activation values read (every input), and written (the output), whole batch
    read: int
    written: int
    #: weight values read (every weight tensor, once per forward pass whatever the batch)
    weights: int
    #: the paper's multiply-adds, whole batch
    macs: int
    bytes_per_value: int

    @property
    def values(self) -> int:
        return self.read + self.written + self.weights

    @property
    def bytes(self) -> int:
        return self.values * self.bytes_per_value

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def intensity(self) -> Fraction | None:
        """FLOPs per byte; ``None`` for a layer that moves nothing."""
        return Fraction(self.flops, self.bytes) if self.bytes else None


@record
class TrafficTotals:
    """Sums over some layers (a kind, a block, the network)."""

    layers: int
    bytes: int
    macs: int

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @property
    def intensity(self) -> Fraction | None:
        return Fraction(self.flops, self.bytes) if self.bytes else None

    def to_dict(self) -> dict[str, Any]:
        return {"layers": self.layers, "bytes": self.bytes, "macs": self.macs, "flops": self.flops, **_intensity(self)}


def _sum(layers: Iterable[LayerTraffic]) -> TrafficTotals:
    chosen = list(layers)
    return TrafficTotals(len(chosen), sum(t.bytes for t in chosen), sum(t.macs for t in chosen))


def _intensity(item: LayerTraffic | TrafficTotals) -> dict[str, Any]:
    value = item.intensity
    return {
        "intensity": None if value is None else float_or_none(value),  # None past 10**308
        "intensity_exact": None if value is None else str(value),
    }


@record
class Traffic:
    model: str
    #: the model's input, per sample
    input: Shape
    batch: int
    dtype: str
    layers: tuple[LayerTraffic, ...]
    #: some nodes were read without a mapping (``Unknown``): their weights and work are not known
    lower_bound: bool = False

    @property
    def bytes_per_value(self) -> int:
        return DTYPE_BYTES[self.dtype]

    @property
    def totals(self) -> TrafficTotals:
        return _sum(self.layers)

    @property
    def by_kind(self) -> dict[str, TrafficTotals]:
        """Totals per kind, in the order reports list kinds."""
        return {
            kind: _sum(t for t in self.layers if t.kind == kind)
            for kind in KINDS
            if any(t.kind == kind for t in self.layers)
        }

    def layer(self, path: str) -> LayerTraffic:
        for t in self.layers:
            if t.path == path:
                return t
        raise KeyError(path)

    def block(self, path: str) -> TrafficTotals:
        """Totals of every layer inside the block ``path`` (a merge row at ``path`` included)."""
        return _sum(t for t in self.layers if t.path == path or t.path.startswith(path + "/"))

    def layer_dict(self, t: LayerTraffic) -> dict[str, Any]:
        return {
            "path": t.path,
            "name": t.name,
            "kind": t.kind,
            "read_values": t.read,
            "written_values": t.written,
            "weights_read": t.weights,
            "bytes": t.bytes,
            "macs": t.macs,
            "flops": t.flops,
            **_intensity(t),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "input": list(self.input),
            "dtype": self.dtype,
            "bytes_per_value": self.bytes_per_value,
            "weights": "every weight tensor each layer declares, read once per call",
            "lower_bound": self.lower_bound,
            "totals": self.totals.to_dict(),
            "by_kind": {kind: t.to_dict() for kind, t in self.by_kind.items()},
        }


def measure(model: Model, dtype: str = "float32") -> Traffic:
    """Bytes moved and intensity of every layer of ``model`` with values of ``dtype``."""
    size = DTYPE_BYTES[dtype]
    report = analyze(model, "paper")  # the paper's multiply-adds, and every row's path and kind
    layers = []
    for row, s in zip(report.rows, model.shaped, strict=True):
        if not s.layer.moves_data:  # a view or an identity at inference
            read = written = weights = 0
        else:
            read = sum(elements(shape) for shape in s.site.inputs) * model.batch
            written = elements(s.site.output) * model.batch
            weights = sum(w.size for w in s.layer.weights(s.site))
        layers.append(LayerTraffic(row.path, row.name, row.kind, read, written, weights, row.macs, size))
    return Traffic(report.model, report.input, report.batch, dtype, tuple(layers), report.lower_bound)


def annotate(data: dict[str, Any], traffic: Traffic) -> dict[str, Any]:
    """Add bytes and intensity to a report's JSON form (``Report.to_dict``), in place, and return it.

    Rows are matched by path; a row folded by ``--depth`` (kind ``block``) gets the sums of the
    layers it holds.
    """
    by_path = {t.path: t for t in traffic.layers}
    for layer in data["layers"]:
        t: LayerTraffic | TrafficTotals = (
            traffic.block(layer["path"]) if layer["kind"] == BLOCK_KIND else by_path[layer["path"]]
        )
        layer["bytes"] = t.bytes
        layer.update(_intensity(t))
    data["totals"]["bytes"] = traffic.totals.bytes
    for kind, t in traffic.by_kind.items():
        if kind in data["by_kind"]:
            data["by_kind"][kind]["bytes"] = t.bytes
            data["by_kind"][kind].update(_intensity(t))
    data["traffic"] = traffic.to_dict()
    return data
