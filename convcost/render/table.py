"""The rich table: every layer with the paper's columns, the totals, the breakdown by kind and the
depthwise-separable ratios beside 1/N + 1/Dk^2."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from convcost.labels import PAPER_KIND_NAMES
from convcost.render.text import exact, headline, human, paper_shape, percent, separable_cells, separable_summary
from convcost.report import Report

#: layers that cost nothing under the convention are printed dim, so the eye finds the work
_DIM = "dim"


def _layers(report: Report) -> Table:
    table = Table(title=headline(report), title_justify="left", show_edge=False, pad_edge=False)
    for header, justify in (
        ("#", "right"),
        ("Name", "left"),
        ("Kind", "left"),
        ("Type / Stride", "left"),
        ("Filter Shape", "left"),
        ("Input", "right"),
        ("Output", "right"),
        ("Params", "right"),
        ("Mult-Adds", "right"),
        ("Share", "right"),
    ):
        table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for i, row in enumerate(report.rows, start=1):
        table.add_row(
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
            style=None if row.params or row.macs else _DIM,
        )
    return table


def _by_kind(report: Report) -> Table:
    table = Table(title="By kind (the paper's Table 2)", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("Kind")
    for header in ("Layers", "Params", "Share", "Mult-Adds", "Share"):
        table.add_column(header, justify="right")
    for kind, k in report.by_kind.items():
        table.add_row(
            PAPER_KIND_NAMES.get(kind, kind),
            str(k.layers),
            exact(k.params),
            percent(report.params_share(k.params)),
            exact(k.macs),
            percent(report.macs_share(k.macs)),
            style=None if k.params or k.macs else _DIM,
        )
    return table


def _separable(report: Report) -> Table:
    table = Table(
        title="Depthwise separable vs the standard convolution it replaces",
        title_justify="left",
        caption=separable_summary(report),
        caption_justify="left",
        show_edge=False,
        pad_edge=False,
    )
    for header, justify in (
        ("Depthwise + pointwise", "left"),
        ("Df", "right"),
        ("M", "right"),
        ("N", "right"),
        ("Separable", "right"),
        ("Standard", "right"),
        ("Ratio", "right"),
        ("1/N + 1/Dk^2", "left"),
    ):
        table.add_column(header, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for i in range(len(report.separable)):
        table.add_row(*separable_cells(report, i))
    return table


def to_table(report: Report, *, color: bool | None = None, width: int | None = None) -> str:
    out = io.StringIO()
    console = Console(
        file=out,
        force_terminal=bool(color),
        no_color=not color,
        width=width or 150,
        highlight=False,
    )
    console.print(_layers(report))
    t = report.totals
    console.print(
        f"\nTotal params: {exact(t.params)} ({human(t.params)})   "
        f"trainable: {exact(t.trainable)}   non-trainable: {exact(t.non_trainable)}\n"
        f"Total mult-adds: {exact(t.macs)} ({human(t.macs)})\n"
    )
    console.print(_by_kind(report))
    if report.separable:
        console.print()
        console.print(_separable(report))
    return out.getvalue()
