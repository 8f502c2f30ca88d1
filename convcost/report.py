"""``analyze``: a model in, plain data out (rows, totals, breakdown by kind, separable ratios)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from convcost import cost, labels
from convcost.conventions import get_convention
from convcost.memory import DTYPE_BYTES, peak_working_set
from convcost.shapes import infer_shapes
from convcost.spec import Conv2D, DepthwiseConv2D, Layer, Model, Shape, elements

#: layers that sit between a depthwise conv and its pointwise partner without changing the map
_TRANSPARENT_KINDS = frozenset({"batchnorm", "activation", "dropout"})


@dataclass(frozen=True)
class Totals:
    trainable: int = 0
    non_trainable: int = 0
    macs: int = 0
    layers: int = 0
    flops: int = 0

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.trainable + other.trainable,
            self.non_trainable + other.non_trainable,
            self.macs + other.macs,
            self.layers + other.layers,
            self.flops + other.flops,
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "params": self.params,
            "trainable": self.trainable,
            "non_trainable": self.non_trainable,
            "macs": self.macs,
            "flops": self.flops,
        }


@dataclass(frozen=True)
class Row:
    """One leaf layer. ``macs`` and ``flops`` cover the whole batch; shapes are per sample, channels-first."""

    path: str
    name: str
    kind: str
    type_stride: str
    filter_shape: str
    input: Shape
    output: Shape
    trainable: int
    non_trainable: int
    macs: int
    #: values in the layer's output, for the whole batch
    activations: int = 0
    flops: int = 0

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable


def _float_or_none(value: Fraction) -> float | None:
    """A convenience float, or None when no float holds it (an exact ratio past 10**308)."""
    try:
        return float(value)
    except OverflowError:
        return None


@dataclass(frozen=True)
class SeparablePair:
    """A depthwise conv and the pointwise conv after it (by path), against the standard conv they replace.

    Multiply-adds are the paper's, per sample: ``Dk*Dk*M*Df*Df + M*N*Df*Df`` against
    ``Dk*Dk*M*N*Df*Df`` (``Df`` the output size), whose ratio is ``1/N + 1/Dk^2``.
    """

    depthwise: str
    pointwise: str
    kernel: tuple[int, int]
    M: int
    N: int
    output: tuple[int, int]
    depth_multiplier: int
    depthwise_macs: int
    pointwise_macs: int
    standard_macs: int

    @property
    def separable_macs(self) -> int:
        return self.depthwise_macs + self.pointwise_macs

    @property
    def ratio(self) -> Fraction:
        """Measured: separable multiply-adds over standard ones."""
        return Fraction(self.separable_macs, self.standard_macs)

    @property
    def formula(self) -> Fraction:
        """The paper's 1/N + 1/Dk^2 (times the depth multiplier when it is not 1)."""
        Dk_h, Dk_w = self.kernel
        return self.depth_multiplier * (Fraction(1, self.N) + Fraction(1, Dk_h * Dk_w))

    def to_dict(self) -> dict[str, Any]:
        return {
            "depthwise": self.depthwise,
            "pointwise": self.pointwise,
            "kernel": list(self.kernel),
            "M": self.M,
            "N": self.N,
            "output": list(self.output),
            "depth_multiplier": self.depth_multiplier,
            "depthwise_macs": self.depthwise_macs,
            "pointwise_macs": self.pointwise_macs,
            "separable_macs": self.separable_macs,
            "standard_macs": self.standard_macs,
            "ratio": str(self.ratio),
            "formula": str(self.formula),
            "ratio_value": _float_or_none(self.ratio),
        }


@dataclass(frozen=True)
class Report:
    model: str
    input: Shape
    batch: int
    convention: str
    rows: tuple[Row, ...]
    totals: Totals
    by_kind: dict[str, Totals]
    separable: tuple[SeparablePair, ...]
    #: the most activation values alive at once in a forward pass (whole batch), and where
    peak_activations: int = 0
    peak_layer: str = ""

    def memory(self, dtype: str = "float32") -> dict[str, Any]:
        """Bytes of the parameters and of the peak working set when values are ``dtype``."""
        size = DTYPE_BYTES[dtype]
        return {
            "dtype": dtype,
            "bytes_per_value": size,
            "params_bytes": self.totals.params * size,
            "peak_activations": self.peak_activations,
            "peak_bytes": self.peak_activations * size,
            "peak_layer": self.peak_layer,
        }

    def macs_share(self, macs: int) -> float:
        return macs / self.totals.macs if self.totals.macs else 0.0

    def flops_share(self, flops: int) -> float:
        return flops / self.totals.flops if self.totals.flops else 0.0

    @property
    def flops_split(self) -> tuple[int, int]:
        """The FLOPs total as (multiply-adds, element-wise operations): FLOPs = 2 x the first + the second."""
        t = self.totals
        if get_convention(self.convention).macs_include_elementwise:
            return t.flops - t.macs, 2 * t.macs - t.flops
        return t.macs, t.flops - 2 * t.macs

    def params_share(self, params: int) -> float:
        return params / self.totals.params if self.totals.params else 0.0

    @property
    def separable_ratio(self) -> Fraction | None:
        """All separable pairs together against the standard convs they replace."""
        if not self.separable:
            return None
        return Fraction(sum(p.separable_macs for p in self.separable), sum(p.standard_macs for p in self.separable))

    def to_dict(self, dtype: str = "float32") -> dict[str, Any]:
        """The stable JSON form (fields are only ever added)."""
        return {
            "model": self.model,
            "input": list(self.input),
            "batch": self.batch,
            "convention": self.convention,
            "layers": [
                {
                    "name": r.name,
                    "path": r.path,
                    "kind": r.kind,
                    "type_stride": r.type_stride,
                    "filter_shape": r.filter_shape,
                    "input": list(r.input),
                    "output": list(r.output),
                    "params": r.params,
                    "trainable": r.trainable,
                    "non_trainable": r.non_trainable,
                    "macs": r.macs,
                    "macs_share": self.macs_share(r.macs),
                    "activations": r.activations,
                    "activation_bytes": r.activations * DTYPE_BYTES[dtype],
                    "flops": r.flops,
                    "flops_share": self.flops_share(r.flops),
                }
                for r in self.rows
            ],
            "totals": self.totals.to_dict(),
            "flops_split": dict(zip(("multiply_adds", "elementwise"), self.flops_split, strict=True)),
            "by_kind": {
                kind: {
                    "params": t.params,
                    "trainable": t.trainable,
                    "non_trainable": t.non_trainable,
                    "macs": t.macs,
                    "layers": t.layers,
                    "macs_share": self.macs_share(t.macs),
                    "params_share": self.params_share(t.params),
                    "flops": t.flops,
                    "flops_share": self.flops_share(t.flops),
                }
                for kind, t in self.by_kind.items()
            },
            "separable": [p.to_dict() for p in self.separable],
            "separable_ratio": str(self.separable_ratio) if self.separable_ratio is not None else None,
            "memory": self.memory(dtype),
        }


def analyze(model: Model, convention: str = "paper") -> Report:
    """Cost every layer of ``model`` under ``convention`` (a name in ``convcost.conventions.CONVENTIONS``)."""
    chosen = get_convention(convention)
    layer_cost = chosen.layer_cost
    # a tool that reports one sample (ptflops) is matched at any batch
    batch = 1 if chosen.per_sample else model.batch
    shaped = infer_shapes(model)
    rows = []
    for path, layer, in_shape, out_shape in shaped:
        kind = labels.kind_of(layer, in_shape)
        c = layer_cost(layer, in_shape, out_shape)
        rows.append(
            Row(
                path=path,
                name=layer.name,
                kind=kind,
                type_stride=labels.type_stride(layer, kind),
                filter_shape=labels.filter_shape(layer, kind, in_shape),
                input=in_shape,
                output=out_shape,
                trainable=c.trainable,
                non_trainable=c.non_trainable,
                macs=c.macs * batch,
                activations=elements(out_shape) * model.batch,
                flops=c.flops * batch,
            )
        )
    by_kind: dict[str, Totals] = {}
    for row in rows:
        by_kind[row.kind] = by_kind.get(row.kind, Totals()) + _row_totals(row)
    by_kind = {k: by_kind[k] for k in labels.KINDS if k in by_kind}
    totals = sum(by_kind.values(), Totals())
    peak = peak_working_set(model, shaped)
    return Report(
        model=model.name,
        input=model.input,
        batch=model.batch,
        convention=convention,
        rows=tuple(rows),
        totals=totals,
        by_kind=by_kind,
        separable=tuple(_separable_pairs(shaped)),
        peak_activations=peak.values * model.batch,
        peak_layer=peak.path,
    )


def _row_totals(row: Row) -> Totals:
    return Totals(row.trainable, row.non_trainable, row.macs, layers=1, flops=row.flops)


def _separable_pairs(shaped: list[tuple[str, Layer, Shape, Shape]]) -> list[SeparablePair]:
    """Each depthwise conv followed (through BN/activations only) by a stride-1 pointwise conv."""
    pairs = []
    pending: tuple[str, Layer, Shape, Shape] | None = None
    for path, layer, in_shape, out_shape in shaped:
        kind = labels.kind_of(layer, in_shape)
        if kind == "separable":
            pairs.append(_pair(path, layer, in_shape, out_shape, path, out_shape, layer.filters))  # type: ignore[attr-defined]
            pending = None
        elif kind == "depthwise":
            pending = (path, layer, in_shape, out_shape)
        elif kind == "pointwise" and pending is not None and pending[3] == in_shape and in_shape[1:] == out_shape[1:]:
            dw_path, dw, dw_in, dw_out = pending
            pairs.append(_pair(dw_path, dw, dw_in, dw_out, path, out_shape, layer.filters))  # type: ignore[attr-defined]
            pending = None
        elif kind not in _TRANSPARENT_KINDS:
            pending = None
    return pairs


def _pair(dw_path: str, dw: Layer, dw_in: Shape, dw_out: Shape, pw_path: str, pw_out: Shape, N: int) -> SeparablePair:
    Dk_h, Dk_w = dw.kernel  # type: ignore[attr-defined]
    M = dw_in[0]
    multiplier = dw_out[0] // M if isinstance(dw, (Conv2D, DepthwiseConv2D)) else dw.depth_multiplier  # type: ignore[attr-defined]
    Df_h, Df_w = pw_out[1], pw_out[2]
    depthwise = Dk_h * Dk_w * M * multiplier * Df_h * Df_w
    return SeparablePair(
        depthwise=dw_path,
        pointwise=pw_path,
        kernel=(Dk_h, Dk_w),
        M=M,
        N=N,
        output=(Df_h, Df_w),
        depth_multiplier=multiplier,
        depthwise_macs=depthwise,
        pointwise_macs=cost.pointwise_macs(M * multiplier, N, Df_h, Df_w),
        standard_macs=Dk_h * Dk_w * M * N * Df_h * Df_w,
    )
