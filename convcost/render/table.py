"""The terminal table: every layer with the paper's columns, the totals, the breakdown by kind and
the depthwise-separable ratios beside 1/N + 1/Dk^2. Human-readable magnitudes (569.0M) in the
layer rows, exact integers in the totals."""

from __future__ import annotations

from convcost.memory import DTYPE_BYTES
from convcost.render.grid import grid
from convcost.render.text import (
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
)
from convcost.report import Report


def _layers(report: Report, color: bool, dtype: str) -> str:
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
            human(row.macs),
            percent(report.macs_share(row.macs)),
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
            "Mult-Adds",
            "Share",
            f"Output ({dtype})",
        ],
        rows,
        right={0, 5, 6, 7, 8, 9, 10},
        # layers that cost nothing under the convention are dimmed, so the eye finds the work
        dim_rows={i for i, row in enumerate(report.rows) if not (row.params or row.macs)},
        color=color,
    )


def _totals(report: Report, dtype: str) -> str:
    t = report.totals
    return (
        f"Total params: {exact(t.params)} ({human(t.params)})   "
        f"trainable: {exact(t.trainable)}   non-trainable: {exact(t.non_trainable)}\n"
        f"Total mult-adds: {exact(t.macs)} ({human(t.macs)})\n"
        f"Memory: {memory_line(report, dtype)}\n"
    )


def _by_kind(report: Report, color: bool) -> str:
    return grid(
        "By kind (the paper's Table 2)",
        ["Kind", "Layers", "Params", "Share", "Mult-Adds", "Share"],
        kind_cells(report),
        right={1, 2, 3, 4, 5},
        dim_rows={i for i, k in enumerate(report.by_kind.values()) if not (k.params or k.macs)},
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


def to_table(report: Report, *, color: bool | None = None, dtype: str = "float32") -> str:
    parts = [_layers(report, bool(color), dtype), _totals(report, dtype), _by_kind(report, bool(color))]
    if report.separable:
        parts.append(_separable(report, bool(color)))
    return "\n".join(parts)
