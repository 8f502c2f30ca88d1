"""``analyze``: a model in, plain data out (rows, totals, breakdown by kind, separable ratios)."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any, cast

from convcost import cost, labels
from convcost.conventions import Convention, get_convention
from convcost.cost import Cost
from convcost.digits import float_or_none
from convcost.errors import ConvcostError, SpecError
from convcost.graph import Graph
from convcost.layer import Shape, Windowed, elements
from convcost.memory import DTYPE_BYTES, peak_working_set
from convcost.model import Model
from convcost.record import record
from convcost.shapes import ShapedNode


@record
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


@record
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
    #: the shapes of every input, per sample (a merge has several; ``input`` is the first)
    inputs: tuple[Shape, ...] = ()

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable


@record
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
            "ratio_value": float_or_none(self.ratio),
        }


@record
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
    #: the model's inputs (name, shape per sample) and outputs (node names)
    inputs: tuple[tuple[str, Shape], ...] = ()
    outputs: tuple[str, ...] = ()
    #: nodes a reader could not map (``strict=False``): costed at zero, so the totals are lower bounds
    unknown: tuple[str, ...] = ()
    #: what the reader of the model's file says about it (``Model.notes``)
    notes: tuple[str, ...] = ()
    #: the element type ``str()`` and the notebook view size the memory line in (``summary(dtype=...)``)
    dtype: str = "float32"

    def __str__(self) -> str:
        """The table, as ``convcost table`` prints it (no colour: a string goes anywhere)."""
        from convcost.render.table import to_table

        return to_table(self, color=False, dtype=self.dtype)

    def __repr__(self) -> str:
        t = self.totals
        bound = ", a lower bound" if self.lower_bound else ""
        return (
            f"<Report {self.model!r}: {t.params:,} params, {t.macs:,} mult-adds{bound} "
            f"(convention {self.convention!r}, batch {self.batch}, {len(self.rows)} rows)>"
        )

    def __rich__(self) -> Any:
        """The coloured table, for ``rich.print(report)`` and rich's console."""
        from rich.text import Text

        from convcost.render.table import to_table

        return Text.from_ansi(to_table(self, color=True, dtype=self.dtype))

    def _repr_html_(self) -> str:
        """The table as HTML, for Jupyter."""
        from convcost.render.html import report_table

        return report_table(self, self.dtype)

    @property
    def lower_bound(self) -> bool:
        """The totals leave out what ``unknown`` operations cost."""
        return bool(self.unknown)

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
                    "inputs": [list(shape) for shape in r.inputs],
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
            "inputs": [{"name": name, "shape": list(shape)} for name, shape in self.inputs],
            "outputs": list(self.outputs),
            "unknown": list(self.unknown),
            "lower_bound": self.lower_bound,
            "notes": list(self.notes),
        }


def analyze(model: Model, convention: str | Convention = "paper") -> Report:
    """Cost every layer of ``model`` under ``convention`` (a name in ``CONVENTIONS``, or a ``Convention``)."""
    if not isinstance(model, Model):
        raise _not_a_model(model)
    chosen = get_convention(convention)
    # a tool that reports one sample (ptflops) is matched at any batch
    batch = 1 if chosen.per_sample else model.batch
    shaped = model.shaped
    rows = []
    for s in shaped:
        layer, site = s.node.layer, s.site
        c, from_source = chosen.priced(layer, site, batch)
        if s.node.shares and not from_source:  # the layer called again: its work counts, its weights did
            c = Cost(macs=c.macs, flops=c.flops)
        rows.append(
            Row(
                path=s.path,
                name=s.node.leaf,
                kind=layer.category(site),
                type_stride=layer.type_stride(site),
                filter_shape=layer.filter_shape(site),
                input=s.input,
                output=site.output,
                trainable=c.trainable,
                non_trainable=c.non_trainable,
                macs=c.macs,
                activations=elements(site.output) * model.batch,
                flops=c.flops,
                inputs=site.inputs,
            )
        )
    by_kind = _by_kind(rows)
    totals = sum(by_kind.values(), Totals())
    peak = peak_working_set(model.graph, shaped)
    return Report(
        model=model.name,
        input=model.input,
        batch=model.batch,
        convention=chosen.name,
        rows=tuple(rows),
        totals=totals,
        by_kind=by_kind,
        separable=tuple(_separable_pairs(model.graph, shaped, [row.kind for row in rows])),
        peak_activations=peak.values * model.batch,
        peak_layer=peak.path,
        inputs=tuple((i.name, i.shape) for i in model.inputs),
        outputs=model.graph.outputs,
        unknown=tuple(row.path for row in rows if row.kind == "unknown"),
        notes=model.notes,
    )


def _not_a_model(model: object) -> ConvcostError:
    """What to call instead, for the framework models people pass first."""
    from convcost.summary import is_keras_model, is_torch_module

    if is_keras_model(model):
        return SpecError(
            "analyze takes a convcost Model: for a Keras model call convcost.summary(model)"
            " or convcost.from_keras(model)"
        )
    if is_torch_module(model):
        return SpecError(
            "analyze takes a convcost Model: for a torch module call convcost.summary(module, input_size)"
            " or convcost.from_torch(module, input_size)"
        )
    return SpecError(f"analyze takes a convcost Model (convcost.summary takes any model), got {type(model).__name__}")


def _by_kind(rows: Sequence[Row]) -> dict[str, Totals]:
    """The totals of each kind, in the order the kinds are declared."""
    sums: dict[str, list[int]] = {}
    for row in rows:
        s = sums.setdefault(row.kind, [0, 0, 0, 0, 0])
        s[0] += row.trainable
        s[1] += row.non_trainable
        s[2] += row.macs
        s[3] += 1
        s[4] += row.flops
    return {kind: Totals(*sums[kind]) for kind in labels.KINDS if kind in sums}


#: layers that sit between a depthwise conv and its pointwise partner without changing the map (PReLU is
#: an activation, DropPath a dropout)
_TRANSPARENT_KINDS = frozenset({"batchnorm", "activation", "dropout", "identity"})


def _separable_pairs(graph: Graph, shaped: Sequence[ShapedNode], kinds: Sequence[str]) -> list[SeparablePair]:
    """Each Keras SeparableConv2D, and each depthwise conv whose output reaches a stride-1 pointwise
    conv through batch norms and activations only (each the only reader of the one before).
    ``kinds`` is every node's kind, in order."""
    index = {s.path: i for i, s in enumerate(shaped)}
    pairs = []
    for s, kind in zip(shaped, kinds, strict=True):
        if kind == "separable":
            pairs.append(_pair(s, s))
        elif kind == "depthwise":
            step = s
            while len(readers := graph.consumers[step.path]) == 1:
                step = shaped[index[readers[0]]]
                reader_kind = kinds[index[readers[0]]]
                if reader_kind == "pointwise":
                    if len(step.node.inputs) == 1 and step.input == s.output and step.output[1:] == s.output[1:]:
                        pairs.append(_pair(s, step))
                    break
                if reader_kind not in _TRANSPARENT_KINDS:
                    break
    return pairs


def _pair(dw: ShapedNode, pw: ShapedNode) -> SeparablePair:
    """The pair's counts from the depthwise layer's own declaration and the standard conv it replaces."""
    kernel = cast(Windowed, dw.layer).kernel  # only convolutions are depthwise
    # a 1-D convolution (one int kernel, a (C, L) output) is a 1 x Dk kernel on a 1 x L map
    Dk_h, Dk_w = (1, kernel) if isinstance(kernel, int) else kernel
    M = dw.input[0]
    N = pw.output[0]
    Df_h, Df_w = (1, pw.output[1]) if len(pw.output) == 2 else (pw.output[1], pw.output[2])
    # a separable layer is its own pair: its depthwise output is inside it
    multiplier = getattr(dw.layer, "depth_multiplier", 1) if dw.path == pw.path else dw.output[0] // M
    depthwise = Dk_h * Dk_w * M * multiplier * Df_h * Df_w
    return SeparablePair(
        depthwise=dw.path,
        pointwise=pw.path,
        kernel=(Dk_h, Dk_w),
        M=M,
        N=N,
        output=(Df_h, Df_w),
        depth_multiplier=multiplier,
        depthwise_macs=depthwise,
        pointwise_macs=cost.pointwise_macs(M * multiplier, N, Df_h, Df_w),
        standard_macs=Dk_h * Dk_w * M * N * Df_h * Df_w,
    )
