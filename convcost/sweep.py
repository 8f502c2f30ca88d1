"""`convcost sweep`: a grid of width multipliers x resolutions (the paper's Tables 6 and 7 in one
view), with the Pareto front of multiply-adds against parameters."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

from convcost.digits import parse_limited, printing_any_int
from convcost.errors import MissingDependencyError, SpecError
from convcost.render.grid import grid
from convcost.render.text import MULT_ADDS, Work, decimal, exact
from convcost.report import analyze
from convcost.zoo import build, get_entry


@dataclass(frozen=True)
class Point:
    alpha: float | None
    resolution: int | None
    macs: int
    params: int
    pareto: bool = False
    flops: int = 0

    def dominates(self, other: Point, work: Work) -> bool:
        """At most the other's work with at least its capacity (parameters), and better in one.

        Work and parameters both fall as alpha and the resolution shrink, so "cheaper on both"
        would only ever pick the smallest network. The useful question when choosing alpha and
        resolution is which grid points give the most weights for the work they cost.
        """
        mine, theirs = work.of(self), work.of(other)
        return mine <= theirs and self.params >= other.params and (mine, self.params) != (theirs, other.params)


@dataclass(frozen=True)
class Sweep:
    model: str
    convention: str
    points: tuple[Point, ...]
    #: which work the front and the columns are about: multiply-adds, or FLOPs
    work: Work = MULT_ADDS

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "convention": self.convention,
            "pareto_by": "flops" if self.work.flops else "macs",
            "points": [
                {
                    "alpha": p.alpha,
                    "resolution": p.resolution,
                    "macs": p.macs,
                    "params": p.params,
                    "pareto": p.pareto,
                    "flops": p.flops,
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
    alphas: list[float | None],
    resolutions: list[int | None],
    convention: str = "paper",
    work: Work = MULT_ADDS,
) -> Sweep:
    """Cost ``model`` at every (alpha, resolution) pair; mark the points no other point beats on
    ``work`` (multiply-adds, or FLOPs) against parameters."""
    takes = get_entry(model).arguments
    for name, values in (("alpha", alphas), ("resolution", resolutions)):
        if values != [None] and name not in takes:
            raise SpecError(f"sweep: model {model!r} takes no {name!r}")
    points = []
    for alpha in alphas:
        for resolution in resolutions:
            arguments = {k: v for k, v in (("alpha", alpha), ("resolution", resolution)) if v is not None}
            totals = analyze(build(model, **arguments), convention).totals
            points.append(Point(alpha, resolution, totals.macs, totals.params, flops=totals.flops))
    front = tuple(replace(p, pareto=not any(q.dominates(p, work) for q in points)) for p in points)
    return Sweep(model, convention, front, work)


def _label(value: object) -> str:
    return "default" if value is None else str(value)


def to_rows(result: Sweep) -> tuple[list[str], list[list[str]]]:
    headers = ["alpha", "resolution", result.work.header, "(M)", "Params", "(M)", "Pareto"]
    rows = [
        [
            _label(p.alpha),
            _label(p.resolution),
            exact(result.work.of(p)),
            decimal(Fraction(result.work.of(p), 10**6), 1),
            exact(p.params),
            decimal(Fraction(p.params, 10**6), 2),
            "*" if p.pareto else "",
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
        writer.writerow(["alpha", "resolution", "macs", "params", "pareto", "flops"])
        writer.writerows(
            [_label(p.alpha), _label(p.resolution), p.macs, p.params, int(p.pareto), p.flops] for p in result.points
        )
        return out.getvalue()
    if fmt == "markdown":
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join([" ---: "] * len(headers)) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines) + "\n"
    noun = result.work.noun
    title = f"{result.model}: {noun} and params over the grid (convention '{result.convention}')"
    caption = (
        f"* Pareto front: no other grid point has at most its {noun} and at least its params\n"
        "  (for a compute budget, these are the configurations that buy the most weights)"
    )
    return grid(title, headers, rows, right=set(range(len(headers))), caption=caption, color=color)


def _millions(n: int, path: str) -> float:
    """``n`` / 10**6 as the float matplotlib draws, or an error when no float can hold it."""
    try:
        return n / 10**6
    except OverflowError:
        raise SpecError(f"--plot {path}: a count of {len(exact(n)):,} characters is too large to draw") from None


def plot(result: Sweep, path: str) -> None:
    """Mult-adds (or FLOPs) against params, one point per grid cell; needs matplotlib (an optional extra)."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".svg", ".png"):
        raise SpecError(f"--plot {path}: the file must end in .svg or .png")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError(
            "--plot needs matplotlib, which is not installed: pip install 'convcost[plot]'"
        ) from None
    points = [(p, _millions(p.params, path), _millions(result.work.of(p), path)) for p in result.points]
    figure, axes = plt.subplots(figsize=(6, 4.5))
    for p, params, work in points:
        axes.scatter(params, work, color="tab:red" if p.pareto else "tab:blue")
        axes.annotate(f"{_label(p.alpha)}/{_label(p.resolution)}", (params, work), fontsize=7)
    axes.set_xlabel("parameters (millions)")
    axes.set_ylabel(f"{'FLOPs' if result.work.flops else 'multiply-adds'} (millions)")
    axes.set_title(f"{result.model}: alpha / resolution (red: Pareto front)")
    figure.tight_layout()
    from convcost.atomic import write_atomically

    try:
        write_atomically(path, lambda f: figure.savefig(f, format=suffix[1:]), f"--plot {path}")
    finally:
        plt.close(figure)
