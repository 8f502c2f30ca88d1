"""The terminal table: every layer with the paper's columns, the totals, the breakdown by kind and
the depthwise-separable ratios beside 1/N + 1/Dk^2. Human-readable magnitudes (569.0M) in the
layer rows, exact integers in the totals."""

from __future__ import annotations

from convcost.memory import DTYPE_BYTES
from convcost.render.escape import printable
from convcost.render.grid import grid
from convcost.render.text import (
    MULT_ADDS,
    Work,
    exact,
    headline,
    human,
    human_bytes,
    kind_cells,
    memory_line,
    paper_shape,
    percent,
    separable_cells,
    separable_summary,
    unknown_rows,
    work_totals,
)
from convcost.report import Report


def _layers(report: Report, color: bool, dtype: str, work: Work) -> str:
    size = DTYPE_BYTES[dtype]
    rows = [
        [
            str(i),
            row.path,
            row.kind,
            row.type_stride,
            row.filter_shape,
            paper_shape(row.input),
            paper_shape(row.output),
            human(row.params),
            human(work.of(row)),
            percent(work.share(report, row)),
            human_bytes(row.activations * size),
        ]
        for i, row in enumerate(report.rows, start=1)
    ]
    return grid(
        headline(report),
        [
            "#",
            "Name",
            "Kind",
            "Type / Stride",
            "Filter Shape",
            "Input",
            "Output",
            "Params",
            work.header,
            "Share",
            f"Output ({dtype})",
        ],
        rows,
        right={0, 5, 6, 7, 8, 9, 10},
        # layers that cost nothing under the convention are dimmed, so the eye finds the work
        dim_rows={i for i, row in enumerate(report.rows) if not (row.params or work.of(row))},
        color=color,
    )


def _totals(report: Report, dtype: str, work: Work) -> str:
    t = report.totals
    return (
        f"Total params: {exact(t.params)} ({human(t.params)})   "
        f"trainable: {exact(t.trainable)}   non-trainable: {exact(t.non_trainable)}\n"
        + "".join(line + "\n" for line in work_totals(report, work))
        + f"Memory: {printable(memory_line(report, dtype))}\n"
        + "".join(f"Note: {printable(note)}\n" for note in report.notes)
    )


def _by_kind(report: Report, color: bool, work: Work) -> str:
    return grid(
        "By kind (the paper's Table 2)",
        ["Kind", "Layers", "Params", "Share", work.header, "Share"],
        kind_cells(report, work),
        right={1, 2, 3, 4, 5},
        dim_rows={i for i, k in enumerate(report.by_kind.values()) if not (k.params or work.of(k))},
        color=color,
    )


def _separable(report: Report, color: bool) -> str:
    return grid(
        "Depthwise separable vs the standard convolution it replaces (mult-adds per image)",
        ["Depthwise + pointwise", "Df", "M", "N", "Separable", "Standard", "Ratio", "1/N + 1/Dk^2"],
        [separable_cells(report, i) for i in range(len(report.separable))],
        right={1, 2, 3, 4, 5, 6},
        caption=separable_summary(report),
        color=color,
    )


def _unknown(report: Report, color: bool) -> str:
    return grid(
        "Unknown operations, costed at zero: every total below is a lower bound",
        ["Name", "Operation", "Output"],
        unknown_rows(report),
        right={2},
        color=color,
    )


def to_table(report: Report, *, color: bool | None = None, dtype: str = "float32", work: Work = MULT_ADDS) -> str:
    parts = [_layers(report, bool(color), dtype, work)]
    if report.lower_bound:
        parts.append(_unknown(report, bool(color)))
    parts += [_totals(report, dtype, work), _by_kind(report, bool(color), work)]
    if report.separable:
        parts.append(_separable(report, bool(color)))
    return "\n".join(parts)
