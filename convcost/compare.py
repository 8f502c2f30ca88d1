"""`convcost compare A B`: two models (or two variants of one) side by side, by stage and in total.

A stage is a run of layers whose output map has the same size (224 -> 112 -> 56 -> ...). Layers
that cost nothing (padding, and under the paper's convention pooling, BN, activations) belong to
the stage they feed, so a 113x113 padding layer is part of the 56x56 stage after it. Stages are
paired by their scale, the map's size as a fraction of the model's input (1/2, 1/4, ... 1/32): at
the same input size that is the same resolution (MobileNet v1's 56x56 with ResNet-50's 56x56),
and across input sizes it lines up the same downsampling (MobileNet at 224 and at 160). A stage
whose scale the other model does not have is shown without a partner.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from convcost.digits import printing_any_int
from convcost.layer import Shape
from convcost.record import record
from convcost.render.grid import grid
from convcost.render.text import MULT_ADDS, Work, decimal, exact
from convcost.report import Report, Row, Totals

#: the scale of a map of one pixel or a flat vector: after global pooling, the classifier's
GLOBAL = "global"

Scale = tuple[Fraction, ...] | str


@record
class Stage:
    label: str
    totals: Totals
    #: what stages are paired by: the map's size over the input's, per axis, or GLOBAL
    scale: Scale = GLOBAL

    @property
    def scale_text(self) -> str:
        return self.scale if isinstance(self.scale, str) else "x".join(str(f) for f in self.scale)


def _map_label(output: Shape) -> str:
    return "x".join(str(n) for n in output[1:]) if len(output) > 1 else "classifier"


def _scale(output: Shape, model_input: Shape) -> Scale:
    spatial, base = output[1:], model_input[1:]
    if all(n == 1 for n in spatial):  # also true of a flat vector, whose spatial part is empty
        return GLOBAL
    if len(base) == len(spatial) and all(base):
        return tuple(Fraction(n, b) for n, b in zip(spatial, base, strict=True))
    return tuple(Fraction(n) for n in spatial)  # a map of another rank than the input: by size


def _free(row: Row) -> bool:
    return row.params == 0 and row.macs == 0 and row.flops == 0


def _row_totals(row: Row) -> Totals:
    return Totals(row.trainable, row.non_trainable, row.macs, layers=1, flops=row.flops)


def stages(report: Report) -> list[Stage]:
    """The report's rows grouped into stages (see the module's docstring); they partition the totals.

    Every row gets the scale of its output, except a row that costs nothing, which takes the
    scale of the next row that costs something (the one it feeds; trailing free rows join the
    last stage). Consecutive rows of one scale form a stage, and a global detour between two
    stages of the same scale (a squeeze-and-excitation block's pooled branch) belongs to them.
    """
    rows = report.rows
    scales: list[Scale | None] = [None] * len(rows)
    waiting: list[int] = []
    for i, row in enumerate(rows):
        if _free(row):
            waiting.append(i)
            continue
        scales[i] = _scale(row.output, report.input)
        for j in waiting:
            scales[j] = scales[i]
        waiting = []
    last = next((s for s in reversed(scales) if s is not None), None)
    for j in waiting:
        scales[j] = last if last is not None else _scale(rows[j].output, report.input)

    runs: list[tuple[Scale, list[Row]]] = []
    for row, scale in zip(rows, scales, strict=True):
        assert scale is not None
        if runs and runs[-1][0] == scale:
            runs[-1][1].append(row)
        else:
            runs.append((scale, [row]))
    merged: list[tuple[Scale, list[Row]]] = []
    for scale, members in runs:
        if len(merged) >= 2 and merged[-1][0] == GLOBAL and merged[-2][0] == scale != GLOBAL:
            detour = merged.pop()[1]
            merged[-1][1].extend(detour + members)
        else:
            merged.append((scale, members))
    return [_stage(scale, members) for scale, members in merged]


def _stage(scale: Scale, members: list[Row]) -> Stage:
    """A stage is named by the map of its first layer that costs something."""
    named = next((row for row in members if not _free(row)), members[0])
    totals = sum((_row_totals(row) for row in members), Totals())
    return Stage(_map_label(named.output), totals, scale)


def pair(a: list[Stage], b: list[Stage]) -> list[tuple[Stage | None, Stage | None]]:
    """A's and B's stages aligned by scale, in order: the most pairs of equal scale that keep both
    orders (a longest common subsequence), the others each on a row of its own."""
    n, m = len(a), len(b)
    longest = [[0] * (m + 1) for _ in range(n + 1)]  # longest[i][j]: of a[i:] and b[j:]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            if a[i].scale == b[j].scale:
                longest[i][j] = longest[i + 1][j + 1] + 1
            else:
                longest[i][j] = max(longest[i + 1][j], longest[i][j + 1])
    pairs: list[tuple[Stage | None, Stage | None]] = []
    i = j = 0
    while i < n and j < m:
        if a[i].scale == b[j].scale:
            pairs.append((a[i], b[j]))
            i, j = i + 1, j + 1
        elif longest[i + 1][j] >= longest[i][j + 1]:
            pairs.append((a[i], None))
            i += 1
        else:
            pairs.append((None, b[j]))
            j += 1
    pairs += [(stage, None) for stage in a[i:]]
    pairs += [(None, stage) for stage in b[j:]]
    return pairs


def _ratio(b: int, a: int) -> Fraction | None:
    return Fraction(b, a) if a else None


def _ratio_text(ratio: Fraction | None) -> str:
    return "-" if ratio is None else decimal(ratio, 3)


@record
class Comparison:
    a: Report
    b: Report
    a_label: str
    b_label: str

    def stage_pairs(self) -> list[tuple[Stage | None, Stage | None]]:
        return pair(stages(self.a), stages(self.b))

    def to_dict(self) -> dict[str, Any]:
        def side(stage: Stage | None) -> dict[str, Any] | None:
            if stage is None:
                return None
            t = stage.totals
            return {"map": stage.label, "scale": stage.scale_text, "macs": t.macs, "params": t.params, "flops": t.flops}

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
    unpaired = False
    for i, (sa, sb) in enumerate(c.stage_pairs(), start=1):
        if sa is None or sb is None:
            unpaired = True
            cells = [str(i), "none", "", "none", "", "no partner", "", "", ""]
            given = (1, 2, 6) if sa else (3, 4, 7)
            stage = sa or sb
            assert stage is not None
            texts = (stage.label, exact(work.of(stage.totals)), exact(stage.totals.params))
            for column, text in zip(given, texts, strict=True):
                cells[column] = text
            rows.append(cells)
            continue
        ta, tb = sa.totals, sb.totals
        rows.append(
            [
                str(i),
                sa.label,
                exact(work.of(ta)),
                sb.label,
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
    if unpaired:
        summary += "\nno partner: the other model has no stage at that scale (map size / input size)"
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
            # a stage without a partner leaves the other side's cells empty, not zero
            a_cells = [sa.label, sa.totals.macs, sa.totals.params, sa.totals.flops] if sa else ["", "", "", ""]
            b_cells = [sb.label, sb.totals.macs, sb.totals.params, sb.totals.flops] if sb else ["", "", "", ""]
            writer.writerow(
                [i, a_cells[0], a_cells[1], b_cells[0], b_cells[1], a_cells[2], b_cells[2], a_cells[3], b_cells[3]]
            )
        writer.writerow(["total", "", a.macs, "", b.macs, a.params, b.params, a.flops, b.flops])
        return out.getvalue()
    return grid(title, headers, rows, right=set(range(1, len(headers))), caption=summary, color=color)
