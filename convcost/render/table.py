"""The terminal table: every layer with the paper's columns, the totals, the breakdown by kind and
the depthwise-separable ratios beside 1/N + 1/Dk^2. Human-readable magnitudes (569.0M) in the
layer rows, exact integers in the totals.

The table fits a width when given one (the terminal's: see ``convcost table --width``): each grid
drops its least needed columns first, in the order its ``*_FIT`` list states, and the prose lines
wrap. ``columns`` chooses the layer columns instead (by their headers), and ``hide_zero`` leaves
out the layers that cost nothing, saying how many; the totals stay the whole model's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from convcost.errors import SpecError
from convcost.memory import DTYPE_BYTES
from convcost.record import record
from convcost.render.escape import printable
from convcost.render.fit import Step, drop, fit, wrap
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
from convcost.report import Report, Row

#: the layer grid's memory column, named after the value type (``Output (float32)``)
MEMORY_HEADER = "Output ({dtype})"
#: the work column: ``Mult-Adds`` (or ``FLOPs`` under --flops)
WORK_HEADER = "{work}"


@record
class Column:
    header: str
    right: bool
    cell: Callable[[Report, Row, int, Work, int], str]


#: every layer column, in the order the table shows them; a cell is made from the report, the
#: row, its number, the work shown and the bytes per value
LAYER_COLUMNS = (
    Column("#", True, lambda _, row, i, w, s: str(i)),
    Column("Name", False, lambda _, row, i, w, s: row.path),
    Column("Kind", False, lambda _, row, i, w, s: row.kind),
    Column("Type / Stride", False, lambda _, row, i, w, s: row.type_stride),
    Column("Filter Shape", False, lambda _, row, i, w, s: row.filter_shape),
    Column("Input", True, lambda _, row, i, w, s: paper_shape(row.input)),
    Column("Output", True, lambda _, row, i, w, s: paper_shape(row.output)),
    Column("Params", True, lambda _, row, i, w, s: human(row.params)),
    Column(WORK_HEADER, True, lambda _, row, i, w, s: human(w.of(row))),
    Column("Share", True, lambda r, row, i, w, s: percent(w.share(r, row))),
    Column(MEMORY_HEADER, True, lambda _, row, i, w, s: human_bytes(row.activations * s)),
)

#: how the layer grid fits a width, one step at a time while it is too wide: the memory column
#: first (`convcost roofline` has the bytes), then the kind (Type / Stride says it), the input
#: (the row above's output), the row number; then long names are cut to 24 characters, then
#: Type / Stride, Filter Shape, Output and Share go. Name, Params and the work column stay; the
#: name is cut further if even they do not fit.
LAYER_FIT = [
    *drop(MEMORY_HEADER, "Kind", "Input", "#"),
    Step("Name", shorten=True, limit=24),
    *drop("Type / Stride", "Filter Shape", "Output", "Share"),
    Step("Name", shorten=True),
]
#: the breakdown by kind: the layer count, then the params share, then the work share
KIND_FIT = [*drop("Layers", "Share", "Share"), Step("Kind", shorten=True)]
#: the separable pairs: Df and M, the two exact counts, then N; the ratio and 1/N + 1/Dk^2 stay
SEPARABLE_FIT = [*drop("Df", "M", "Standard", "Separable", "N"), Step("Depthwise + pointwise", shorten=True)]
#: the unknown operations: the output shape, then the names and operations are cut
UNKNOWN_FIT = [*drop("Output"), Step("Name", shorten=True), Step("Operation", shorten=True)]


def _header(column: Column, dtype: str, work: Work) -> str:
    return column.header.format(dtype=dtype, work=work.header)


def layer_headers(dtype: str = "float32", work: Work = MULT_ADDS) -> list[str]:
    """The layer grid's headers as the table shows them (the names ``--columns`` takes)."""
    return [_header(c, dtype, work) for c in LAYER_COLUMNS]


def _steps(steps: Sequence[Step], dtype: str, work: Work) -> list[Step]:
    return [Step(s.header.format(dtype=dtype, work=work.header), s.shorten, s.limit) for s in steps]


def _normal(name: str) -> str:
    return "".join(name.split()).lower()


def choose_columns(names: str, dtype: str = "float32", work: Work = MULT_ADDS) -> list[str]:
    """``--columns Name,Params,Share`` -> the headers, in the order given; matched without regard to
    case or spaces. A name that is no header is an error that suggests the nearest one."""
    headers = layer_headers(dtype, work)
    by_normal = {_normal(h): h for h in headers}
    chosen: list[str] = []
    for name in names.split(","):
        header = by_normal.get(_normal(name))
        if header is None:
            import difflib  # here: only a misspelt column needs it (2 ms at import)

            close = difflib.get_close_matches(_normal(name), list(by_normal), n=1, cutoff=0.5)
            hint = f" (did you mean {by_normal[close[0]]!r}?)" if close else ""
            listed = ", ".join(headers)
            raise SpecError(f"--columns: no column {name.strip()!r}{hint}; the columns are {listed}")
        if header in chosen:
            raise SpecError(f"--columns: {header!r} is named twice")
        chosen.append(header)
    return chosen


def costs_nothing(row: Row, work: Work = MULT_ADDS) -> bool:
    """A layer with no parameters and no work under the convention (BN, activations, pooling under
    'paper'). An unknown operation is not one: it is costed at zero because nobody knows its cost,
    and stays in sight."""
    return row.kind != "unknown" and not (row.params or work.of(row))


@record
class Layout:
    """How the terminal table is laid out: ``width`` in characters (None: no limit), the layer
    ``columns`` by header (None: all that fit), ``hide_zero`` leaves out layers that cost nothing."""

    width: int | None = None
    columns: Sequence[str] | None = None
    hide_zero: bool = False


def _layers(report: Report, color: bool, dtype: str, work: Work, layout: Layout) -> str:
    size = DTYPE_BYTES[dtype]
    headers = layer_headers(dtype, work)
    numbered = [(i, row) for i, row in enumerate(report.rows, start=1)]
    shown = [(i, row) for i, row in numbered if not (layout.hide_zero and costs_nothing(row, work))]
    cells = [[c.cell(report, row, i, work, size) for c in LAYER_COLUMNS] for i, row in shown]
    right = {i for i, c in enumerate(LAYER_COLUMNS) if c.right}
    if layout.columns is not None:
        picked = [headers.index(h) for h in layout.columns]
        cells = [[r[i] for i in picked] for r in cells]
        headers = [headers[i] for i in picked]
        right = {n for n, i in enumerate(picked) if i in right}
        steps = [s for s in _steps(LAYER_FIT, dtype, work) if s.shorten]  # chosen columns stay; names shorten
    else:
        steps = _steps(LAYER_FIT, dtype, work)
    fitted = fit(headers, cells, right, layout.width, steps)
    hidden = len(numbered) - len(shown)
    caption = ""
    if layout.hide_zero:
        caption = (
            f"{hidden} of {len(numbered)} layers cost nothing under '{report.convention}' "
            f"(no params, no {work.noun}) and are hidden; the totals are the whole model's"
        )
    return grid(
        wrap(headline(report), layout.width),
        fitted.headers,
        fitted.rows,
        right=fitted.right,
        # layers that cost nothing under the convention are dimmed, so the eye finds the work
        dim_rows={n for n, (_, row) in enumerate(shown) if costs_nothing(row, work)},
        caption=wrap(caption, layout.width),
        color=color,
    )


def totals_text(report: Report, dtype: str, work: Work, width: int | None = None) -> str:
    """The totals' lines (params, work, memory, notes), wrapped to ``width``."""
    t = report.totals
    text = (
        f"Total params: {exact(t.params)} ({human(t.params)})   "
        f"trainable: {exact(t.trainable)}   non-trainable: {exact(t.non_trainable)}\n"
        + "".join(line + "\n" for line in work_totals(report, work))
        + f"Memory: {printable(memory_line(report, dtype))}\n"
        + "".join(f"Note: {printable(note)}\n" for note in report.notes)
    )
    return wrap(text, width)


def _by_kind(report: Report, color: bool, work: Work, width: int | None) -> str:
    fitted = fit(
        ["Kind", "Layers", "Params", "Share", work.header, "Share"],
        kind_cells(report, work),
        {1, 2, 3, 4, 5},
        width,
        KIND_FIT,
    )
    return grid(
        wrap("By kind (the paper's Table 2)", width),
        fitted.headers,
        fitted.rows,
        right=fitted.right,
        dim_rows={i for i, k in enumerate(report.by_kind.values()) if not (k.params or work.of(k))},
        color=color,
    )


def _separable(report: Report, color: bool, width: int | None) -> str:
    fitted = fit(
        ["Depthwise + pointwise", "Df", "M", "N", "Separable", "Standard", "Ratio", "1/N + 1/Dk^2"],
        [separable_cells(report, i) for i in range(len(report.separable))],
        {1, 2, 3, 4, 5, 6},
        width,
        SEPARABLE_FIT,
    )
    return grid(
        wrap("Depthwise separable vs the standard convolution it replaces (mult-adds per image)", width),
        fitted.headers,
        fitted.rows,
        right=fitted.right,
        caption=wrap(separable_summary(report), width),
        color=color,
    )


def _unknown(report: Report, color: bool, width: int | None) -> str:
    fitted = fit(["Name", "Operation", "Output"], unknown_rows(report), {2}, width, UNKNOWN_FIT)
    return grid(
        wrap("Unknown operations, costed at zero: every total below is a lower bound", width),
        fitted.headers,
        fitted.rows,
        right=fitted.right,
        color=color,
    )


def to_table(
    report: Report,
    *,
    color: bool | None = None,
    dtype: str = "float32",
    work: Work = MULT_ADDS,
    layout: Layout | None = None,
) -> str:
    layout = layout or Layout()
    parts = [_layers(report, bool(color), dtype, work, layout)]
    if report.lower_bound:
        parts.append(_unknown(report, bool(color), layout.width))
    parts += [totals_text(report, dtype, work, layout.width), _by_kind(report, bool(color), work, layout.width)]
    if report.separable:
        parts.append(_separable(report, bool(color), layout.width))
    return "\n".join(parts)
