"""``convcost table --plot``: multiply-adds (or FLOPs) and parameters of every layer as bars,
coloured by kind, drawn with matplotlib (an optional extra, imported only here).

The picture is the paper's point at a glance: in MobileNet the 1x1 (pointwise) convolutions carry
almost all of the multiply-adds and most of the parameters, the depthwise ones almost none. Bars
are the exact counts (a float holds every count below 2**53 exactly); the legend gives each kind's
share of the total.
"""

from __future__ import annotations

import os
from typing import Any

from convcost.errors import SpecError
from convcost.render import pyplot
from convcost.render.roofline import KIND_COLORS
from convcost.render.table import costs_nothing
from convcost.render.text import MULT_ADDS, Work, exact, human
from convcost.report import Report, Row

SUFFIXES = (".svg", ".png", ".pdf")


def drawn_rows(report: Report, work: Work = MULT_ADDS, hide_zero: bool = False) -> list[Row]:
    """The layers that get a bar: every row of the report, or (``hide_zero``) those that cost something."""
    return [row for row in report.rows if not (hide_zero and costs_nothing(row, work))]


def _value(n: int, path: str) -> float:
    try:
        return float(n)
    except OverflowError:
        raise SpecError(f"--plot {path}: a count of {len(exact(n)):,} characters is too large to draw") from None


def figure(report: Report, path: str, work: Work = MULT_ADDS, hide_zero: bool = False) -> Any:
    """The matplotlib figure: work per layer above, params per layer below, one bar per drawn row."""
    plt = pyplot()
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    rows = drawn_rows(report, work, hide_zero)
    if not rows:
        raise SpecError(f"--plot {path}: no layer costs anything under '{report.convention}': nothing to draw")
    positions = list(range(len(rows)))
    colors = [KIND_COLORS.get(row.kind, "#000000") for row in rows]
    size = (min(max(10.0, 0.14 * len(rows) + 5), 40.0), 6.5)
    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=size, layout="constrained")
    for axes, label in ((top, "work"), (bottom, "params")):
        values = [_value(work.of(row) if label == "work" else row.params, path) for row in rows]
        bars = axes.bar(positions, values, color=colors, width=0.8)
        for bar, row in zip(bars, rows, strict=True):
            bar.set_gid(f"{label}:{row.path}")
        axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _: human(int(v))))
        axes.grid(axis="y", color="#e4e4e4")
        axes.set_axisbelow(True)
    top.set_ylabel(f"{work.noun} per layer")
    bottom.set_ylabel("parameters per layer")
    bottom.set_xticks(positions)
    bottom.set_xticklabels([row.path for row in rows], rotation=90, fontsize=6 if len(rows) > 40 else 8)
    bottom.set_xlim(-0.6, len(rows) - 0.4)
    whole_work, whole_params = work.of(report.totals), report.totals.params
    kinds: dict[str, tuple[int, int, int]] = {}  # kind -> layers, work, params
    for row in report.rows:
        layers, done, params = kinds.get(row.kind, (0, 0, 0))
        kinds[row.kind] = (layers + 1, done + work.of(row), params + row.params)
    legend = []
    # the kinds drawn, the costliest first: the legend reads as the answer
    for kind in sorted(dict.fromkeys(row.kind for row in rows), key=lambda k: (-kinds[k][1], -kinds[k][2])):
        layers, done, params = kinds[kind]
        share = f"{100 * done / whole_work:.1f}% of {work.noun}" if whole_work else f"no {work.noun}"
        of_params = f"{100 * params / whole_params:.1f}% of params" if whole_params else "no params"
        legend.append(Patch(color=KIND_COLORS.get(kind, "#000000"), label=f"{kind} ({layers}): {share}, {of_params}"))
    fig.legend(handles=legend, fontsize=7, loc="outside right upper")
    hidden = len(report.rows) - len(rows)
    note = f"; {hidden} layers that cost nothing not drawn" if hidden else ""
    fig.suptitle(
        f"{report.model}: {work.noun} and parameters per layer, convention '{report.convention}'{note}", fontsize=9
    )
    return fig


def plot(report: Report, path: str, *, work: Work = MULT_ADDS, hide_zero: bool = False) -> None:
    """Draw the figure into ``path`` (.svg, .png or .pdf), atomically."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in SUFFIXES:
        raise SpecError(f"--plot {path}: the file must end in .svg, .png or .pdf")
    fig = figure(report, path, work, hide_zero)
    import matplotlib.pyplot as plt

    from convcost.atomic import write_atomically

    try:
        write_atomically(path, lambda f: fig.savefig(f, format=suffix[1:]), f"--plot {path}")
    finally:
        plt.close(fig)
