"""`convcost compare A B`: two models (or two variants of one) side by side, by stage and in total.

A stage is a run of layers whose output map has the same size (224 -> 112 -> 56 -> ...); stages
are paired in order, so MobileNet at 224 and at 160 pixels line up stage by stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from convcost.digits import printing_any_int
from convcost.render.grid import grid
from convcost.render.text import MULT_ADDS, Work, decimal, exact
from convcost.report import Report, Totals


@dataclass(frozen=True)
class Stage:
    label: str
    totals: Totals


def stages(report: Report) -> list[Stage]:
    """Consecutive layers grouped by their output map size; flat outputs form the 'classifier'."""
    result: list[tuple[str, Totals]] = []
    for row in report.rows:
        label = f"{row.output[1]}x{row.output[2]}" if len(row.output) == 3 else "classifier"
        cost = Totals(row.trainable, row.non_trainable, row.macs, layers=1, flops=row.flops)
        if result and result[-1][0] == label:
            result[-1] = (label, result[-1][1] + cost)
        else:
            result.append((label, cost))
    return [Stage(label, totals) for label, totals in result]


def _ratio(b: int, a: int) -> Fraction | None:
    return Fraction(b, a) if a else None


def _ratio_text(ratio: Fraction | None) -> str:
    return "-" if ratio is None else decimal(ratio, 3)


@dataclass(frozen=True)
class Comparison:
    a: Report
    b: Report
    a_label: str
    b_label: str

    def stage_pairs(self) -> list[tuple[Stage | None, Stage | None]]:
        a, b = stages(self.a), stages(self.b)
        return [(a[i] if i < len(a) else None, b[i] if i < len(b) else None) for i in range(max(len(a), len(b)))]

    def to_dict(self) -> dict[str, Any]:
        def side(stage: Stage | None) -> dict[str, Any] | None:
            if stage is None:
                return None
            t = stage.totals
            return {"map": stage.label, "macs": t.macs, "params": t.params, "flops": t.flops}

        def ratios(a: Totals, b: Totals) -> dict[str, str | None]:
            pairs = {"macs": (b.macs, a.macs), "params": (b.params, a.params), "flops": (b.flops, a.flops)}
            fractions = {name: _ratio(*pair) for name, pair in pairs.items()}
            return {name: None if ratio is None else str(ratio) for name, ratio in fractions.items()}

        return {
            "a": {"label": self.a_label, "model": self.a.model, "input": list(self.a.input), **self.a.totals.to_dict()},
            "b": {"label": self.b_label, "model": self.b.model, "input": list(self.b.input), **self.b.totals.to_dict()},
            "convention": self.a.convention,
            "stages": [
                {"a": side(sa), "b": side(sb), "b_over_a": ratios(sa.totals, sb.totals) if sa and sb else None}
                for sa, sb in self.stage_pairs()
            ],
            "b_over_a": ratios(self.a.totals, self.b.totals),
        }


def _millions(n: int, places: int) -> str:
    return decimal(Fraction(n, 10**6), places, commas=True)


@printing_any_int
def render(c: Comparison, fmt: str, color: bool = False, work: Work = MULT_ADDS) -> str:
    """The comparison in ``fmt``; ``work`` picks the work columns (multiply-adds or FLOPs) of the
    table and markdown forms; JSON and CSV carry both."""
    if fmt == "json":
        from convcost.render.document import json_text

        return json_text(c.to_dict())
    headers = ["Stage", "A map", f"A {work.noun}", "B map", f"B {work.noun}", "B/A", "A params", "B params", "B/A"]
    rows = []
    for i, (sa, sb) in enumerate(c.stage_pairs(), start=1):
        ta, tb = (sa.totals if sa else Totals()), (sb.totals if sb else Totals())
        rows.append(
            [
                str(i),
                sa.label if sa else "-",
                exact(work.of(ta)),
                sb.label if sb else "-",
                exact(work.of(tb)),
                _ratio_text(_ratio(work.of(tb), work.of(ta))),
                exact(ta.params),
                exact(tb.params),
                _ratio_text(_ratio(tb.params, ta.params)),
            ]
        )
    a, b = c.a.totals, c.b.totals
    rows.append(
        [
            "total",
            "",
            exact(work.of(a)),
            "",
            exact(work.of(b)),
            _ratio_text(_ratio(work.of(b), work.of(a))),
            exact(a.params),
            exact(b.params),
            _ratio_text(_ratio(b.params, a.params)),
        ]
    )
    title = f"A: {c.a_label}   vs   B: {c.b_label}   (convention '{c.a.convention}')"
    summary = (
        f"A: {_millions(work.of(a), 1)}M {work.noun}, {_millions(a.params, 2)}M params;  "
        f"B: {_millions(work.of(b), 1)}M {work.noun}, {_millions(b.params, 2)}M params"
    )
    if fmt == "markdown":
        from convcost.render.escape import markdown_cell

        lines = [f"**{markdown_cell(title)}**", "", "| " + " | ".join(headers) + " |"]
        lines += ["|" + "|".join([" ---: "] * len(headers)) + "|"]
        lines += ["| " + " | ".join(markdown_cell(cell) for cell in r) + " |" for r in rows]
        return "\n".join([*lines, "", summary]) + "\n"
    if fmt == "csv":
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["stage", "a_map", "a_macs", "b_map", "b_macs", "a_params", "b_params", "a_flops", "b_flops"])
        for i, (sa, sb) in enumerate(c.stage_pairs(), start=1):
            ta, tb = (sa.totals if sa else Totals()), (sb.totals if sb else Totals())
            a_map, b_map = sa.label if sa else "", sb.label if sb else ""
            writer.writerow([i, a_map, ta.macs, b_map, tb.macs, ta.params, tb.params, ta.flops, tb.flops])
        writer.writerow(["total", "", a.macs, "", b.macs, a.params, b.params, a.flops, b.flops])
        return out.getvalue()
    return grid(title, headers, rows, right=set(range(1, len(headers))), caption=summary, color=color)
