"""Plain-text renderers (JSON, CSV, markdown) and the number formats every renderer shares."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Protocol

from convcost.conventions import get_convention
from convcost.digits import printing_any_int, unlimited
from convcost.labels import PAPER_KIND_NAMES
from convcost.record import record
from convcost.render.escape import markdown_cell, printable
from convcost.report import Report, Row, Totals
from convcost.spec import Shape

if TYPE_CHECKING:
    from convcost.traffic import Traffic


class Counted(Protocol):
    """Anything with a multiply-add and a FLOP count: a row, totals, a sweep point."""

    @property
    def macs(self) -> int: ...

    @property
    def flops(self) -> int: ...


@record
class Work:
    """The work column a rendering shows: the convention's multiply-adds (MACs), or its FLOPs."""

    flops: bool = False

    @property
    def header(self) -> str:
        return "FLOPs" if self.flops else "Mult-Adds"

    @property
    def noun(self) -> str:
        return "FLOPs" if self.flops else "mult-adds"

    def of(self, item: Counted) -> int:
        return item.flops if self.flops else item.macs

    def share(self, report: Report, item: Row | Totals) -> float:
        return report.flops_share(item.flops) if self.flops else report.macs_share(item.macs)


MULT_ADDS = Work(flops=False)


def lower_bound_note(report: Report) -> str:
    """Why the totals are lower bounds, when they are ("" when they are not)."""
    n = len(report.unknown)
    if not n:
        return ""
    ops = "operation" if n == 1 else "operations"
    return f"a lower bound: {n} unknown {ops} cost zero (listed above)"


def unknown_rows(report: Report) -> list[list[str]]:
    """The operations a reader could not map (``strict=False``): path, operation, output shape
    (a row folded into its block by ``--depth`` is named, its operation no longer shown)."""
    rows = {row.path: row for row in report.rows}
    found = []
    for path in report.unknown:
        row = rows.get(path)
        if row is not None and row.kind == "unknown":
            found.append([path, row.type_stride.removeprefix("? "), paper_shape(row.output)])
        else:
            found.append([path, "(folded into its block)", ""])
    return found


def work_totals(report: Report, work: Work) -> list[str]:
    """The totals lines for the work: multiply-adds always, FLOPs and how they are made when asked."""
    t = report.totals
    bound = f", {lower_bound_note(report)}" if report.lower_bound else ""
    lines = [f"Total mult-adds: {exact(t.macs)} ({human(t.macs)}){bound}"]
    if work.flops:
        multiply_adds, elementwise = report.flops_split
        rule = get_convention(report.convention).flops_rule
        lines.append(
            f"Total FLOPs: {exact(t.flops)} ({human(t.flops)}) = 2 x {exact(multiply_adds)} multiply-adds "
            f"+ {exact(elementwise)} element-wise ({rule}){bound}"
        )
    return lines


def paper_shape(shape: Shape) -> str:
    """The paper writes maps as H x W x C: (3, 224, 224) -> '224x224x3'."""
    if len(shape) == 3:
        c, h, w = shape
        return f"{h}x{w}x{c}"
    return "x".join(str(d) for d in shape)


def human_bytes(n: int) -> str:
    """1,605,632 * 4 bytes -> '6.1 MiB'; 1,048,575 -> '1.0 MiB' (the unit a rounded value reaches)."""
    return _scaled(n, 1024, (" KiB", " MiB", " GiB", " TiB", " PiB", " EiB"), " B")


def memory_line(report: Report, dtype: str) -> str:
    m = report.memory(dtype)
    return (
        f"parameters {human_bytes(m['params_bytes'])}, peak activations {human_bytes(m['peak_bytes'])} "
        f"({exact(m['peak_activations'])} {dtype} values, at {m['peak_layer']}: its input and output "
        "and every tensor still waiting to be read)"
    )


def human(n: int) -> str:
    """569,000,000 -> '569.0M'; exact below a thousand; 999,950 -> '1.0M'; 10**400 -> '1.0e400'."""
    return _scaled(n, 1000, ("k", "M", "G", "T"), "")


def _scaled(n: int, base: int, units: tuple[str, ...], plain: str) -> str:
    """``n`` in the first unit (base, base**2, ...) where it rounds to less than ``base``, with one
    decimal; past the last unit in scientific notation. Integer arithmetic throughout: a float
    cannot hold a count past 10**308, and its rounding would print 999,950 as 1000.0k."""
    sign, m = ("-" if n < 0 else ""), abs(n)
    if m < base:
        return f"{n}{plain}"
    size = base
    for unit in units:
        tenths = _round_half_up(10 * m, size)
        if tenths < 10 * base:  # shown below 1000.0 (1024.0): else the next unit
            return f"{sign}{tenths // 10}.{tenths % 10}{unit}"
        size *= base
    return f"{sign}{_scientific(m, 1, 1)}{plain}"


def _round_half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to an int, halves up (both non-negative)."""
    return (2 * numerator + denominator) // (2 * denominator)


def _exponent(n: int) -> int:
    """floor(log10(n)) of a positive int, without converting it to text."""
    e = max(0, int((n.bit_length() - 1) * 0.30102999566398120))
    power = 10**e
    while power > n:
        e, power = e - 1, power // 10
    while power * 10 <= n:
        e, power = e + 1, power * 10
    return e


def _scientific(numerator: int, denominator: int, places: int) -> str:
    """A positive rational >= 1 as 'm.mmme+E' with ``places`` decimals: '1.2e400'."""
    e = _exponent(numerator // denominator)
    scaled = _round_half_up(numerator * 10**places, denominator * 10**e)
    if scaled == 10 ** (places + 1):  # 9.96 rounds up to 10.0: one more power of ten
        e, scaled = e + 1, 10**places
    whole, fraction = divmod(scaled, 10**places)
    return f"{whole}.{fraction:0{places}d}e{e}" if places else f"{whole}e{e}"


#: a whole part longer than this is printed in scientific notation
_LONGEST_WHOLE = 10**15


def decimal(value: Fraction | int, places: int, *, commas: bool = False) -> str:
    """An exact rational with ``places`` decimals, rounded half up (Fraction(521, 4608) -> '0.1131');
    from 10**15 on in scientific notation. Never a float: a ratio of two counts may pass 10**308."""
    q = Fraction(value)
    sign = "-" if q < 0 else ""
    numerator, denominator = abs(q.numerator), q.denominator
    if numerator >= _LONGEST_WHOLE * denominator:
        return sign + _scientific(numerator, denominator, places)
    whole, fraction = divmod(_round_half_up(numerator * 10**places, denominator), 10**places)
    text = f"{whole:,}" if commas else str(whole)
    return f"{sign}{text}.{fraction:0{places}d}" if places else sign + text


def exact(n: int) -> str:
    """12345678 -> '12,345,678', at any length (Python refuses to print ints past 4,300 digits)."""
    with unlimited():
        return f"{n:,}"


def percent(share: float) -> str:
    return f"{100 * share:.2f}%"


def headline(report: Report) -> str:
    convention = get_convention(report.convention)
    return (
        f"{report.model}: input {paper_shape(report.input)}, batch {report.batch}, "
        f"convention '{report.convention}' ({convention.summary})"
    )


@printing_any_int
def to_json(report: Report, dtype: str = "float32", traffic: Traffic | None = None) -> str:
    from convcost.render.document import json_text

    data = report.to_dict(dtype)
    if traffic is not None:
        from convcost.traffic import annotate

        annotate(data, traffic)
    return json_text(data)


CSV_COLUMNS = (
    "path",
    "name",
    "kind",
    "type_stride",
    "filter_shape",
    "input",
    "output",
    "params",
    "trainable",
    "non_trainable",
    "macs",
    "macs_share",
    "activations",
    "flops",
    "flops_share",
)


@printing_any_int
def to_csv(report: Report, dtype: str = "float32") -> str:
    """One row per layer; shapes as C x H x W; exact integers; names escaped (``printable``), so a
    carriage return in a name cannot split a record."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        writer.writerow(
            (
                printable(row.path),
                printable(row.name),
                row.kind,
                row.type_stride,
                row.filter_shape,
                "x".join(map(str, row.input)),
                "x".join(map(str, row.output)),
                row.params,
                row.trainable,
                row.non_trainable,
                row.macs,
                f"{report.macs_share(row.macs):.6f}",
                row.activations,
                row.flops,
                f"{report.flops_share(row.flops):.6f}",
            )
        )
    if report.lower_bound:
        # no totals row to mark: a last line says which rows hide what they cost
        out.write(f"# {lower_bound_note(report).replace('listed above', 'rows of kind unknown')}\n")
    return out.getvalue()


def _md_table(header: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """A markdown table; every cell escaped (``markdown_cell``): a '|' or a line break in a name
    cannot add a column or end the table."""
    rows = [[markdown_cell(cell) for cell in cells] for cells in rows]
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join(" ---: " if i in right else " --- " for i in range(len(header))) + "|")
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return lines


@printing_any_int
def to_markdown(report: Report, dtype: str = "float32", work: Work = MULT_ADDS) -> str:
    lines = [f"## {markdown_cell(report.model)}", "", markdown_cell(headline(report)), ""]
    lines += _md_table(
        ["#", "Name", "Kind", "Type / Stride", "Filter Shape", "Input", "Output", "Params", work.header, "Share"],
        [
            [
                str(i),
                row.path,
                row.kind,
                row.type_stride,
                row.filter_shape,
                paper_shape(row.input),
                paper_shape(row.output),
                exact(row.params),
                exact(work.of(row)),
                percent(work.share(report, row)),
            ]
            for i, row in enumerate(report.rows, start=1)
        ],
        right={0, 7, 8, 9},
    )
    t = report.totals
    if report.lower_bound:
        lines += ["", "### Unknown operations (costed at zero)", ""]
        lines += _md_table(["Name", "Operation", "Output"], unknown_rows(report), right=set())
    lines += [
        "",
        f"**Total params:** {exact(t.params)} "
        f"({exact(t.trainable)} trainable, {exact(t.non_trainable)} non-trainable)  ",
        *(f"**{line.replace(': ', ':** ', 1)}  " for line in work_totals(report, work)),
        f"**Memory:** {markdown_cell(memory_line(report, dtype))}" + ("  " if report.notes else ""),
        *(
            f"**Note:** {markdown_cell(note)}" + ("  " if i < len(report.notes) - 1 else "")
            for i, note in enumerate(report.notes)
        ),
        "",
        "### By kind",
        "",
    ]
    lines += _md_table(
        ["Kind", "Layers", "Params", "Params share", work.header, f"{work.header} share"],
        kind_cells(report, work),
        right={1, 2, 3, 4, 5},
    )
    if report.separable:
        lines += ["", "### Depthwise separable vs standard convolution", ""]
        lines += _md_table(
            ["Depthwise + pointwise", "Df", "M", "N", "Separable", "Standard", "Ratio", "1/N + 1/Dk^2"],
            [separable_cells(report, i) for i in range(len(report.separable))],
            right={1, 2, 3, 4, 5, 6},
        )
        lines += ["", markdown_cell(separable_summary(report))]
    return "\n".join(lines) + "\n"


def kind_cells(report: Report, work: Work = MULT_ADDS) -> list[list[str]]:
    """The breakdown by kind (the paper's Table 2), one row of cells per kind."""
    return [
        [
            PAPER_KIND_NAMES.get(kind, kind),
            str(k.layers),
            exact(k.params),
            percent(report.params_share(k.params)),
            exact(work.of(k)),
            percent(work.share(report, k)),
        ]
        for kind, k in report.by_kind.items()
    ]


def separable_cells(report: Report, index: int) -> list[str]:
    p = report.separable[index]
    Dk_h, Dk_w = p.kernel
    dk2 = f"{Dk_h}^2" if Dk_h == Dk_w else f"{Dk_h}*{Dk_w}"
    if Dk_h == 1 and len(p.output) == 2 and p.output[0] == 1:
        dk2 = str(Dk_w)  # a 1-D pair (1 x Dk kernel on a 1 x L map): 1/N + 1/Dk
    scale = f"{p.depth_multiplier} x " if p.depth_multiplier != 1 else ""
    return [
        f"{p.depthwise} + {p.pointwise}",
        f"{p.output[0]}x{p.output[1]}",
        str(p.M),
        str(p.N),
        exact(p.separable_macs),
        exact(p.standard_macs),
        decimal(p.ratio, 4),
        f"{scale}(1/{p.N} + 1/{dk2}) = {p.formula} = {decimal(p.formula, 4)}",
    ]


def separable_summary(report: Report) -> str:
    ratio = report.separable_ratio
    if ratio is None:
        return ""
    separable = sum(p.separable_macs for p in report.separable)
    standard = sum(p.standard_macs for p in report.separable)
    return (
        f"All {len(report.separable)} separable layers: {exact(separable)} mult-adds against "
        f"{exact(standard)} for standard convolutions: {decimal(ratio, 4)} (1/{decimal(1 / ratio, 2)})"
    )
