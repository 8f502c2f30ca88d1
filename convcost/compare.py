"""`convcost compare A B`: two models (or two variants of one) side by side, by stage and in total.

A stage is a run of layers whose output map has the same size (224 -> 112 -> 56 -> ...); stages
are paired in order, so MobileNet at 224 and at 160 pixels line up stage by stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from convcost.render.grid import grid
from convcost.render.text import exact
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
    return "-" if ratio is None else f"{float(ratio):.3f}"


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
            return {"map": stage.label, "macs": stage.totals.macs, "params": stage.totals.params}

        def ratios(a: Totals, b: Totals) -> dict[str, str | None]:
            macs, params = _ratio(b.macs, a.macs), _ratio(b.params, a.params)
            return {"macs": None if macs is None else str(macs), "params": None if params is None else str(params)}

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


def render(c: Comparison, fmt: str, color: bool = False) -> str:
    if fmt == "json":
        import json

        return json.dumps(c.to_dict(), indent=2) + "\n"
    headers = ["Stage", "A map", "A mult-adds", "B map", "B mult-adds", "B/A", "A params", "B params", "B/A"]
    rows = []
    for i, (sa, sb) in enumerate(c.stage_pairs(), start=1):
        ta, tb = (sa.totals if sa else Totals()), (sb.totals if sb else Totals())
        rows.append(
            [
                str(i),
                sa.label if sa else "-",
                exact(ta.macs),
                sb.label if sb else "-",
                exact(tb.macs),
                _ratio_text(_ratio(tb.macs, ta.macs)),
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
            exact(a.macs),
            "",
            exact(b.macs),
            _ratio_text(_ratio(b.macs, a.macs)),
            exact(a.params),
            exact(b.params),
            _ratio_text(_ratio(b.params, a.params)),
        ]
    )
    title = f"A: {c.a_label}   vs   B: {c.b_label}   (convention '{c.a.convention}')"
    summary = (
        f"A: {a.macs / 1e6:,.1f}M mult-adds, {a.params / 1e6:,.2f}M params;  "
        f"B: {b.macs / 1e6:,.1f}M mult-adds, {b.params / 1e6:,.2f}M params"
    )
    if fmt == "markdown":
        lines = [f"**{title}**", "", "| " + " | ".join(headers) + " |", "|" + "|".join([" ---: "] * len(headers)) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join([*lines, "", summary]) + "\n"
    if fmt == "csv":
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["stage", "a_map", "a_macs", "b_map", "b_macs", "a_params", "b_params"])
        for i, (sa, sb) in enumerate(c.stage_pairs(), start=1):
            ta, tb = (sa.totals if sa else Totals()), (sb.totals if sb else Totals())
            writer.writerow([i, sa.label if sa else "", ta.macs, sb.label if sb else "", tb.macs, ta.params, tb.params])
        writer.writerow(["total", "", a.macs, "", b.macs, a.params, b.params])
        return out.getvalue()
    return grid(title, headers, rows, right=set(range(1, len(headers))), caption=summary, color=color)
