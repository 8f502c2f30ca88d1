"""`convcost explain`: one layer's standard vs depthwise separable cost, formulas with the numbers
substituted, and the ratio 1/N + 1/Dk^2 as an exact fraction.

The counts come from the same closed-form functions as every report (convcost.cost); this module
only lays them out so that a reader can redo the arithmetic by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from convcost.cost import Cost
from convcost.errors import SpecError
from convcost.layer import Layer, Shape, Site
from convcost.report import analyze
from convcost.spec import Conv2D, DepthwiseConv2D, Model, SeparableConv2D


@dataclass(frozen=True)
class Term:
    """One cost: what it is, the formula in symbols, the same with numbers, and the value."""

    label: str
    symbols: str
    numbers: str
    value: int


@dataclass(frozen=True)
class Explanation:
    kernel: int
    M: int
    N: int
    size: int
    stride: int
    Df: int
    source: str
    terms: tuple[Term, ...]

    def value(self, label: str) -> int:
        return next(t.value for t in self.terms if t.label == label)

    @property
    def macs_ratio(self) -> Fraction:
        return Fraction(self.value("separable mult-adds"), self.value("standard mult-adds"))

    @property
    def params_ratio(self) -> Fraction:
        return Fraction(self.value("separable params"), self.value("standard params"))

    @property
    def formula(self) -> Fraction:
        return Fraction(1, self.N) + Fraction(1, self.kernel * self.kernel)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "geometry": {
                "kernel": self.kernel,
                "M": self.M,
                "N": self.N,
                "input_size": self.size,
                "stride": self.stride,
                "Df": self.Df,
            },
            "terms": [
                {"label": t.label, "symbols": t.symbols, "numbers": t.numbers, "value": t.value} for t in self.terms
            ],
            "ratio": {
                "formula": f"1/{self.N} + 1/{self.kernel}^2",
                "fraction": str(self.formula),
                "value": float(self.formula),
                "macs_ratio": str(self.macs_ratio),
                "params_ratio": str(self.params_ratio),
            },
        }


def _positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"explain: {name} must be a positive integer, got {value!r}")


def explain(kernel: int, M: int, N: int, size: int, stride: int = 1, source: str = "") -> Explanation:
    """Standard ``kernel x kernel`` conv from M to N channels on a ``size`` map ('same' padding)
    against the depthwise + pointwise pair that replaces it."""
    for name, value in (("--kernel", kernel), ("--in", M), ("--out", N), ("--size", size), ("--stride", stride)):
        _positive(name, value)
    shape = (M, size, size)
    standard, out = _cost(Conv2D(N, kernel, stride=stride, padding="same", bias=False, name="standard"), shape)
    Df = out[1]
    depthwise, dw_out = _cost(DepthwiseConv2D(kernel, stride=stride, padding="same", bias=False, name="dw"), shape)
    pointwise, _ = _cost(Conv2D(N, 1, bias=False, name="pointwise"), dw_out)
    k = kernel
    terms = (
        Term("standard params", "Dk*Dk*M*N", f"{k}*{k}*{M}*{N}", standard.params),
        Term("standard mult-adds", "Dk*Dk*M*N*Df*Df", f"{k}*{k}*{M}*{N}*{Df}*{Df}", standard.macs),
        Term("depthwise params", "Dk*Dk*M", f"{k}*{k}*{M}", depthwise.params),
        Term("depthwise mult-adds", "Dk*Dk*M*Df*Df", f"{k}*{k}*{M}*{Df}*{Df}", depthwise.macs),
        Term("pointwise params", "M*N", f"{M}*{N}", pointwise.params),
        Term("pointwise mult-adds", "M*N*Df*Df", f"{M}*{N}*{Df}*{Df}", pointwise.macs),
        Term(
            "separable params",
            "Dk*Dk*M + M*N",
            f"{depthwise.params:,} + {pointwise.params:,}",
            depthwise.params + pointwise.params,
        ),
        Term(
            "separable mult-adds",
            "Dk*Dk*M*Df*Df + M*N*Df*Df",
            f"{depthwise.macs:,} + {pointwise.macs:,}",
            depthwise.macs + pointwise.macs,
        ),
    )
    return Explanation(k, M, N, size, stride, Df, source, terms)


def _cost(layer: Layer, shape: Shape) -> tuple[Cost, Shape]:
    """The layer's weights and multiply-adds on a map of ``shape``, from its own declaration."""
    out = layer.output_shape((shape,))
    site = Site((shape,), out)
    return Cost(trainable=sum(w.size for w in layer.weights(site)), macs=layer.macs(site)), out


def explain_layer(model: Model, name: str) -> Explanation:
    """Explain a model's conv layer (by name or path): a depthwise or pointwise layer is explained
    with its partner; a standard conv with the separable pair that would replace it."""
    report = analyze(model)
    for pair in report.separable:
        if name in (pair.depthwise, pair.pointwise) or name in (_leaf(pair.depthwise), _leaf(pair.pointwise)):
            if pair.kernel[0] != pair.kernel[1] or pair.output[0] != pair.output[1] or pair.depth_multiplier != 1:
                break
            row = next(r for r in report.rows if r.path == pair.depthwise)
            stride = _stride(row.input[1], pair.output[0])
            source = f"{model.name}: {pair.depthwise} + {pair.pointwise}"
            return explain(pair.kernel[0], pair.M, pair.N, row.input[1], stride, source)
    for (path, layer), row in zip(model.layers(), report.rows, strict=True):
        if name not in (path, layer.name):
            continue
        if isinstance(layer, Conv2D) and row.kind == "conv" and layer.groups == 1:
            kh, kw = layer.kernel
            if kh == kw and row.input[1] == row.input[2]:
                stride = _stride(row.input[1], row.output[1])
                return explain(kh, row.input[0], layer.filters, row.input[1], stride, f"{model.name}: {path}")
        if isinstance(layer, SeparableConv2D):
            break
        raise SpecError(
            f"explain: layer {path!r} of {model.name} is a {row.kind} layer; explain takes a square standard, "
            "depthwise or pointwise convolution"
        )
    else:
        import difflib

        names = [p for p, _ in model.layers()]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise SpecError(f"explain: {model.name} has no layer {name!r}{hint}")
    raise SpecError(f"explain: layer {name!r} of {model.name} is not a square, stride-uniform convolution")


def _leaf(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _stride(size: int, out: int) -> int:
    """The stride that takes a 'same'-padded map from ``size`` to ``out`` pixels."""
    stride = 1
    while -(-size // stride) != out and stride <= size:
        stride += 1
    return stride


_HEADINGS = {
    "standard params": "Standard convolution: N filters of Dk x Dk x M",
    "depthwise params": "Depthwise convolution: one Dk x Dk filter per input channel",
    "pointwise params": "Pointwise convolution: N filters of 1 x 1 x M",
    "separable params": "Depthwise separable = depthwise, then pointwise",
}


def to_text(e: Explanation) -> str:
    """The explanation laid out to be read top to bottom."""
    lines = [e.source] if e.source else []
    lines.append(
        f"A {e.kernel}x{e.kernel} convolution from M = {e.M} to N = {e.N} channels on a {e.size}x{e.size} map "
        f"(stride {e.stride}, 'same' padding): output Df = {e.Df}."
    )
    symbols = max(len(t.symbols) for t in e.terms)
    numbers = max(len(t.numbers) for t in e.terms)
    value = max(len(f"{t.value:,}") for t in e.terms)
    for t in e.terms:
        if t.label in _HEADINGS:
            lines += ["", _HEADINGS[t.label]]
        what = "params   " if t.label.endswith("params") else "mult-adds"
        lines.append(f"  {what}  {t.symbols:<{symbols}} = {t.numbers:<{numbers}} = {t.value:>{value},}")
    f = e.formula
    lines += [
        "",
        "Separable / standard",
        f"  mult-adds  {e.value('separable mult-adds'):,} / {e.value('standard mult-adds'):,} = {e.macs_ratio}",
        f"  params     {e.value('separable params'):,} / {e.value('standard params'):,} = {e.params_ratio}",
        f"  formula    1/N + 1/Dk^2 = 1/{e.N} + 1/{e.kernel * e.kernel} = {f} = {float(f):.4f}",
        f"  the separable layer does {float(1 / f):.2f}x less work and holds {float(1 / e.params_ratio):.2f}x "
        "fewer weights",
    ]
    return "\n".join(lines) + "\n"
