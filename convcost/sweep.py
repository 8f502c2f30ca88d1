"""`convcost sweep`: a grid of width multipliers x resolutions (the paper's Tables 6 and 7 in one
view), each point beside the paper's scaling rule.

Section 3 of the paper says the width multiplier alpha cuts multiply-adds and parameters by about
alpha^2 and the resolution multiplier rho cuts multiply-adds by rho^2 (parameters do not depend on
the resolution). Each point shows its cost as a fraction of the model at its defaults (MobileNet
1.0 at 224) next to that rule, so the grid shows where the rule holds and where it does not (the
first convolution's 3 input channels and the classifier's 1000 outputs do not shrink with alpha).
"""

from __future__ import annotations

import os
from fractions import Fraction
from typing import Any

from convcost.digits import parse_limited, printing_any_int
from convcost.errors import GeometryError, SpecError
from convcost.record import record
from convcost.render.grid import grid
from convcost.render.text import MULT_ADDS, Work, decimal, exact
from convcost.report import analyze
from convcost.zoo import build, get_entry

#: the paper's grid: Table 6's width multipliers and Table 7's resolutions
PAPER_ALPHAS: tuple[float, ...] = (1.0, 0.75, 0.5, 0.25)
PAPER_RESOLUTIONS: tuple[int, ...] = (224, 192, 160, 128)


@record
class Point:
    alpha: float | None
    resolution: int | None
    macs: int
    params: int
    flops: int = 0


def _multiplier(value: float | int | None, default: Any) -> Fraction:
    """value / default, exactly as written (0.75 is 3/4); 1 where the model takes no such argument."""
    if value is None or default is None:
        return Fraction(1)
    return Fraction(str(value)) / Fraction(str(default))


@record
class Sweep:
    model: str
    convention: str
    points: tuple[Point, ...]
    #: which work the columns and the plot are about: multiply-adds, or FLOPs
    work: Work = MULT_ADDS
    #: the model at its default arguments, which the fractions are of
    base: Point = Point(None, None, 0, 0)

    def work_of_base(self, p: Point) -> Fraction | None:
        base = self.work.of(self.base)
        return Fraction(self.work.of(p), base) if base else None

    def params_of_base(self, p: Point) -> Fraction | None:
        return Fraction(p.params, self.base.params) if self.base.params else None

    def rule_params(self, p: Point) -> Fraction:
        """alpha^2, alpha relative to the base's."""
        return _multiplier(p.alpha, self.base.alpha) ** 2

    def rule_work(self, p: Point) -> Fraction:
        """alpha^2 rho^2, rho the resolution over the base's."""
        return self.rule_params(p) * _multiplier(p.resolution, self.base.resolution) ** 2

    def to_dict(self) -> dict[str, Any]:
        def text(f: Fraction | None) -> str | None:
            return None if f is None else str(f)

        b = self.base
        return {
            "model": self.model,
            "convention": self.convention,
            "work": "flops" if self.work.flops else "macs",
            "base": {
                "alpha": b.alpha,
                "resolution": b.resolution,
                "macs": b.macs,
                "params": b.params,
                "flops": b.flops,
            },
            "points": [
                {
                    "alpha": p.alpha,
                    "resolution": p.resolution,
                    "macs": p.macs,
                    "params": p.params,
                    "flops": p.flops,
                    "work_of_base": text(self.work_of_base(p)),
                    "rule_work": str(self.rule_work(p)),
                    "params_of_base": text(self.params_of_base(p)),
                    "rule_params": str(self.rule_params(p)),
                }
                for p in self.points
            ],
        }


def parse_list(text: str | None, kind: type, option: str) -> list[Any]:
    """'1,0.75,0.5' -> [1.0, 0.75, 0.5]; an error naming the option and the bad item."""
    if text is None:
        return [None]
    values = []
    for item in text.split(","):
        try:
            with parse_limited():  # an int of more digits is refused, as click refuses it in --batch
                values.append(kind(item.strip()))
        except ValueError:
            raise SpecError(
                f"{option}: {item.strip()!r} is not a valid {kind.__name__} (give a comma-separated list)"
            ) from None
    return values


def sweep(
    model: str,
    alphas: list[float | None] | None = None,
    resolutions: list[int | None] | None = None,
    convention: str = "paper",
    work: Work = MULT_ADDS,
) -> Sweep:
    """Cost ``model`` at every (alpha, resolution) pair. An axis left as None is the paper's
    (alphas 1, 0.75, 0.5, 0.25; resolutions 224, 192, 160, 128) when the model's default is the
    paper's base (alpha 1.0, resolution 224), else the model's default alone."""
    takes = get_entry(model).arguments
    axes: dict[str, list[Any]] = {}
    # the paper's grid is about its base model, alpha 1.0 at 224: other defaults keep their own value
    papers: dict[str, tuple[Any, list[Any]]] = {
        "alpha": (1.0, list(PAPER_ALPHAS)),
        "resolution": (224, list(PAPER_RESOLUTIONS)),
    }
    for name, values in (("alpha", alphas), ("resolution", resolutions)):
        if values is None or values == [None]:
            base, paper = papers[name]
            axes[name] = paper if name in takes and takes[name] == base else [None]
        elif name not in takes:
            raise SpecError(f"sweep: model {model!r} takes no {name!r}")
        else:
            axes[name] = values

    def cost(alpha: float | None, resolution: int | None) -> Point:
        arguments = {k: v for k, v in (("alpha", alpha), ("resolution", resolution)) if v is not None}
        try:
            totals = analyze(build(model, **arguments), convention).totals
        except (SpecError, GeometryError) as error:  # say which grid point: it may be the default grid's
            where = ", ".join(f"{k} {v}" for k, v in arguments.items())
            raise type(error)(f"sweep {model} at {where}: {error}" if where else str(error)) from None
        return Point(alpha, resolution, totals.macs, totals.params, flops=totals.flops)

    points = tuple(cost(a, r) for a in axes["alpha"] for r in axes["resolution"])
    base = cost(takes.get("alpha"), takes.get("resolution"))
    return Sweep(model, convention, points, work, base)


def _label(value: object) -> str:
    return "default" if value is None else str(value)


def _ratio(value: Fraction | None) -> str:
    return "-" if value is None else decimal(value, 3)


def _base_name(result: Sweep) -> str:
    """'alpha 1.0, resolution 224': the arguments the base was built with."""
    given = (("alpha", result.base.alpha), ("resolution", result.base.resolution))
    return ", ".join(f"{name} {value}" for name, value in given if value is not None) or "its defaults"


def to_rows(result: Sweep) -> tuple[list[str], list[list[str]]]:
    headers = ["alpha", "resolution", result.work.header, "(M)", "of base", "α²ρ²", "Params", "(M)", "of base", "α²"]
    rows = [
        [
            _label(p.alpha),
            _label(p.resolution),
            exact(result.work.of(p)),
            decimal(Fraction(result.work.of(p), 10**6), 1),
            _ratio(result.work_of_base(p)),
            _ratio(result.rule_work(p)),
            exact(p.params),
            decimal(Fraction(p.params, 10**6), 2),
            _ratio(result.params_of_base(p)),
            _ratio(result.rule_params(p)),
        ]
        for p in result.points
    ]
    return headers, rows


@printing_any_int
def render(result: Sweep, fmt: str, color: bool = False) -> str:
    if fmt == "json":
        from convcost.render.document import json_text

        return json_text(result.to_dict())
    headers, rows = to_rows(result)
    if fmt == "csv":
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            [
                "alpha",
                "resolution",
                "macs",
                "params",
                "flops",
                "work_of_base",
                "rule_work",
                "params_of_base",
                "rule_params",
            ]
        )
        writer.writerows(
            [
                _label(p.alpha),
                _label(p.resolution),
                p.macs,
                p.params,
                p.flops,
                result.work_of_base(p),
                result.rule_work(p),
                result.params_of_base(p),
                result.rule_params(p),
            ]
            for p in result.points
        )
        return out.getvalue()
    if fmt == "markdown":
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join([" ---: "] * len(headers)) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines) + "\n"
    noun = result.work.noun
    title = f"{result.model}: {noun} and params over the grid (convention '{result.convention}')"
    caption = (
        f"of base: over {result.model} at {_base_name(result)}.  α²ρ², α²: the paper's rule: the width\n"
        f"multiplier cuts {noun} and params by about α², the resolution multiplier {noun} by ρ²; where a\n"
        "point departs from it, some layers do not scale so (a fixed classifier, the 3 input channels)"
    )
    return grid(title, headers, rows, right=set(range(len(headers))), caption=caption, color=color)


def _millions(n: int, path: str) -> float:
    """``n`` / 10**6 as the float matplotlib draws, or an error when no float can hold it."""
    try:
        return n / 10**6
    except OverflowError:
        raise SpecError(f"--plot {path}: a count of {len(exact(n)):,} characters is too large to draw") from None


def figure(result: Sweep, path: str = "the plot") -> Any:
    """The grid drawn with matplotlib: work against params on log axes, one line per alpha through
    its resolutions (each point labelled), so alpha moves a point across and down, resolution only down."""
    import matplotlib.pyplot as plt

    noun = "FLOPs" if result.work.flops else "multiply-adds"
    alphas = dict.fromkeys(p.alpha for p in result.points)
    # every value first: a count no float holds is refused before a figure exists
    lines = {
        alpha: [
            (p, _millions(p.params, path), _millions(result.work.of(p), path))
            for p in result.points
            if p.alpha == alpha
        ]
        for alpha in alphas
    }
    fig, axes = plt.subplots(figsize=(7, 5))
    for alpha, series in lines.items():
        (line,) = axes.plot(
            [x for _, x, _ in series], [y for _, _, y in series], marker="o", label=f"alpha {_label(alpha)}"
        )
        for p, x, y in series:
            axes.annotate(
                _label(p.resolution),
                (x, y),
                xytext=(6, -3),
                textcoords="offset points",
                fontsize=9,
                color=line.get_color(),
            )
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda value, _: f"{value:g}")  # 0.5, 2, 100 rather than 5x10^-1
    axes.set_xscale("log")
    axes.set_yscale("log")
    for axis in (axes.xaxis, axes.yaxis):
        axis.set_major_formatter(plain)
        axis.set_minor_formatter(plain)
    axes.set_xlabel("parameters (millions, log scale)", fontsize=11)
    axes.set_ylabel(f"{noun} (millions, log scale)", fontsize=11)
    axes.set_title(f"{result.model}: width multiplier x resolution (points labelled by resolution)", fontsize=11)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(title="width multiplier", fontsize=9)
    fig.tight_layout()
    return fig


def plot(result: Sweep, path: str) -> None:
    """Draw ``figure(result)`` to ``path`` (.svg or .png); needs matplotlib (an optional extra). An SVG
    keeps its labels as text (searchable, and sharp at any size) and carries no date."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".svg", ".png"):
        raise SpecError(f"--plot {path}: the file must end in .svg or .png")
    from convcost.render import pyplot

    plt = pyplot()
    from convcost.atomic import write_atomically

    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "convcost"}):
        fig = figure(result, path)
        metadata = {"Date": None} if suffix == ".svg" else {}
        try:
            write_atomically(path, lambda f: fig.savefig(f, format=suffix[1:], metadata=metadata), f"--plot {path}")
        finally:
            plt.close(fig)
