"""`convcost explain`: one layer's standard vs depthwise separable cost, formulas with the numbers
substituted, and the ratio 1/N + 1/Dk^2 as an exact fraction.

The counts come from the same closed-form functions as every report (convcost.cost); this module
only lays them out so that a reader can redo the arithmetic by hand.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, cast

from convcost.cost import Cost
from convcost.digits import printing_any_int
from convcost.errors import SpecError
from convcost.layer import ExplicitPadding, Layer, Padding, Shape, Site
from convcost.record import record
from convcost.render.escape import printable
from convcost.render.text import decimal, exact
from convcost.report import Row, analyze
from convcost.spec import Conv2D, DepthwiseConv2D, Model, SeparableConv2D


@record
class Term:
    """One cost: what it is, the formula in symbols, the same with numbers, and the value."""

    label: str
    symbols: str
    numbers: str
    value: int


@record
class Explanation:
    kernel: int
    M: int
    N: int
    size: int
    stride: int
    Df: int
    source: str
    terms: tuple[Term, ...]
    #: the padding as a spec file writes it: 'same', 'valid' or ((top, bottom), (left, right))
    padding: Padding = "same"
    dilation: int = 1

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

    @property
    def padding_text(self) -> str:
        """'same' padding, no padding ('valid'), padding 2, or each side's pixels."""
        if self.padding == "same":
            return "'same' padding"
        if self.padding == "valid":
            return "no padding ('valid')"
        (top, bottom), (left, right) = cast(ExplicitPadding, self.padding)
        if top == bottom == left == right:
            return f"padding {top}"
        return f"padding top {top}, bottom {bottom}, left {left}, right {right}"

    def to_dict(self) -> dict[str, Any]:
        padding = self.padding if isinstance(self.padding, str) else [list(side) for side in self.padding]
        return {
            "source": self.source,
            "geometry": {
                "kernel": self.kernel,
                "M": self.M,
                "N": self.N,
                "input_size": self.size,
                "stride": self.stride,
                "padding": padding,
                "dilation": self.dilation,
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


def explain(
    kernel: int,
    M: int,
    N: int,
    size: int,
    stride: int = 1,
    source: str = "",
    *,
    padding: Padding = "same",
    dilation: int = 1,
) -> Explanation:
    """Standard ``kernel x kernel`` conv from M to N channels on a ``size`` map against the depthwise
    + pointwise pair that replaces it; the depthwise half has the same stride, padding and dilation."""
    for name, value in (("--kernel", kernel), ("--in", M), ("--out", N), ("--size", size), ("--stride", stride)):
        _positive(name, value)
    shape = (M, size, size)
    window = {"stride": stride, "padding": padding, "dilation": dilation, "bias": False}
    standard_layer = Conv2D(N, kernel, name="standard", **window)  # type: ignore[arg-type]
    standard, out = _cost(standard_layer, shape)
    if out[1] != out[2]:
        raise SpecError(f"explain: {source or 'the layer'} has a {out[1]}x{out[2]} output; explain takes square maps")
    Df = out[1]
    depthwise, dw_out = _cost(DepthwiseConv2D(kernel, name="dw", **window), shape)  # type: ignore[arg-type]
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
            f"{exact(depthwise.params)} + {exact(pointwise.params)}",
            depthwise.params + pointwise.params,
        ),
        Term(
            "separable mult-adds",
            "Dk*Dk*M*Df*Df + M*N*Df*Df",
            f"{exact(depthwise.macs)} + {exact(pointwise.macs)}",
            depthwise.macs + pointwise.macs,
        ),
    )
    padded = standard_layer.padding  # normalised: 'same', 'valid' or ((t, b), (l, r))
    return Explanation(k, M, N, size, stride, Df, source, terms, padded, dilation)


def _cost(layer: Layer, shape: Shape) -> tuple[Cost, Shape]:
    """The layer's weights and multiply-adds on a map of ``shape``, from its own declaration."""
    out = layer.output_shape((shape,))
    site = Site((shape,), out)
    return Cost(trainable=sum(w.size for w in layer.weights(site)), macs=layer.macs(site)), out


def explain_layer(model: Model, name: str) -> Explanation:
    """Explain a model's conv layer (by name or path) with its own stride, padding and dilation: a
    depthwise or pointwise layer is explained with its partner; a standard conv with the separable
    pair that would replace it."""
    layers = dict(model.layers())
    path = next((p for p, layer in layers.items() if name in (p, layer.name)), None)
    if path is None:
        import difflib

        close = difflib.get_close_matches(name, list(layers), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise SpecError(f"explain: {model.name} has no layer {name!r}{hint}")
    report = analyze(model)
    rows = {row.path: row for row in report.rows}
    for pair in report.separable:
        if path in (pair.depthwise, pair.pointwise):
            if pair.depth_multiplier != 1:
                raise SpecError(
                    f"explain: layer {pair.depthwise!r} of {model.name} has depth multiplier "
                    f"{pair.depth_multiplier}; explain takes depthwise convolutions with one filter per channel"
                )
            source = f"{model.name}: {pair.depthwise} + {pair.pointwise}"
            return _explain_window(layers[pair.depthwise], pair.M, pair.N, rows[pair.depthwise], source)
    layer, row = layers[path], rows[path]
    if isinstance(layer, Conv2D) and row.kind == "conv" and layer.groups == 1:
        return _explain_window(layer, row.input[0], layer.filters, row, f"{model.name}: {path}")
    if row.kind in ("depthwise", "pointwise"):
        raise SpecError(
            f"explain: layer {path!r} of {model.name} is a {row.kind} convolution without a partner; explain takes "
            "a standard convolution, or a depthwise convolution and the pointwise one after it"
        )
    if not isinstance(layer, SeparableConv2D) and row.kind != "separable":
        raise SpecError(
            f"explain: layer {path!r} of {model.name} is a {row.kind} layer; explain takes a square standard, "
            "depthwise or pointwise convolution"
        )
    raise SpecError(f"explain: layer {name!r} of {model.name} is not a square, stride-uniform convolution")


def _explain_window(layer: Layer, M: int, N: int, row: Row, source: str) -> Explanation:
    """The explanation of a conv-like layer as the model has it: its kernel, stride, padding,
    dilation and input, checked against the output size the table shows."""
    (kh, kw), (sh, sw), (dh, dw) = layer.kernel, layer.stride, layer.dilation  # type: ignore[attr-defined]
    height, width = row.input[1], row.input[2]
    if kh != kw or sh != sw or dh != dw or height != width or row.output[1] != row.output[2]:
        raise SpecError(f"explain: layer {row.path!r} is not a square, stride-uniform convolution")
    e = explain(kh, M, N, height, sh, source, padding=layer.padding, dilation=dh)  # type: ignore[attr-defined]
    if e.Df != row.output[1]:  # both come from convcost.shapes: a difference is a bug, not the user's input
        raise AssertionError(f"explain computed Df = {e.Df} for {row.path}; the table has {row.output[1]}")
    return e


_HEADINGS = {
    "standard params": "Standard convolution: N filters of Dk x Dk x M",
    "depthwise params": "Depthwise convolution: one Dk x Dk filter per input channel",
    "pointwise params": "Pointwise convolution: N filters of 1 x 1 x M",
    "separable params": "Depthwise separable = depthwise, then pointwise",
}


@printing_any_int
def to_text(e: Explanation) -> str:
    """The explanation laid out to be read top to bottom."""
    lines = [printable(e.source)] if e.source else []
    dilation = f", dilation {e.dilation}" if e.dilation != 1 else ""
    lines.append(
        f"A {e.kernel}x{e.kernel} convolution from M = {e.M} to N = {e.N} channels on a {e.size}x{e.size} map "
        f"(stride {e.stride}, {e.padding_text}{dilation}): output Df = {e.Df}."
    )
    symbols = max(len(t.symbols) for t in e.terms)
    numbers = max(len(t.numbers) for t in e.terms)
    value = max(len(exact(t.value)) for t in e.terms)
    for t in e.terms:
        if t.label in _HEADINGS:
            lines += ["", _HEADINGS[t.label]]
        what = "params   " if t.label.endswith("params") else "mult-adds"
        lines.append(f"  {what}  {t.symbols:<{symbols}} = {t.numbers:<{numbers}} = {exact(t.value):>{value}}")
    f = e.formula
    lines += [
        "",
        "Separable / standard",
        f"  mult-adds  {exact(e.value('separable mult-adds'))} / {exact(e.value('standard mult-adds'))} "
        f"= {e.macs_ratio}",
        f"  params     {exact(e.value('separable params'))} / {exact(e.value('standard params'))} = {e.params_ratio}",
        f"  formula    1/N + 1/Dk^2 = 1/{e.N} + 1/{e.kernel * e.kernel} = {f} = {decimal(f, 4)}",
        f"  the separable layer does {decimal(1 / f, 2)}x less work and holds {decimal(1 / e.params_ratio, 2)}x "
        "fewer weights",
    ]
    return "\n".join(lines) + "\n"
