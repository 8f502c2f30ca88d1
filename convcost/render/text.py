"""Plain-text renderers (JSON, CSV, markdown) and the number formats every renderer shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from convcost.conventions import get_convention
from convcost.labels import PAPER_KIND_NAMES
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


@dataclass(frozen=True)
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
    """1,605,632 * 4 bytes -> '6.1 MiB'."""
    for size, suffix in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= size:
            return f"{n / size:.1f} {suffix}"
    return f"{n} B"


def memory_line(report: Report, dtype: str) -> str:
    m = report.memory(dtype)
    return (
        f"parameters {human_bytes(m['params_bytes'])}, peak activations {human_bytes(m['peak_bytes'])} "
        f"({exact(m['peak_activations'])} {dtype} values, at {m['peak_layer']}: its input and output "
        "and every tensor still waiting to be read)"
    )


def human(n: int) -> str:
    """569,000,000 -> '569.0M'; exact below a thousand."""
    for size, suffix in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k")):
        if abs(n) >= size:
            return f"{n / size:.1f}{suffix}"
    return str(n)


def exact(n: int) -> str:
    return f"{n:,}"


def percent(share: float) -> str:
    return f"{100 * share:.2f}%"


def headline(report: Report) -> str:
    convention = get_convention(report.convention)
    return (
        f"{report.model}: input {paper_shape(report.input)}, batch {report.batch}, "
        f"convention '{report.convention}' ({convention.summary})"
    )


def to_json(report: Report, dtype: str = "float32", traffic: Traffic | None = None) -> str:
    import json

    data = report.to_dict(dtype)
    if traffic is not None:
        from convcost.traffic import annotate

        annotate(data, traffic)
    return json.dumps(data, indent=2) + "\n"


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


def to_csv(report: Report, dtype: str = "float32") -> str:
    """One row per layer; shapes as C x H x W; exact integers."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report.rows:
        writer.writerow(
            (
                row.path,
                row.name,
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
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join(" ---: " if i in right else " --- " for i in range(len(header))) + "|")
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return lines


def to_markdown(report: Report, dtype: str = "float32", work: Work = MULT_ADDS) -> str:
    lines = [f"## {report.model}", "", headline(report), ""]
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
        f"**Memory:** {memory_line(report, dtype)}",
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
        lines += ["", separable_summary(report)]
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
        f"{float(p.ratio):.4f}",
        f"{scale}(1/{p.N} + 1/{dk2}) = {p.formula} = {float(p.formula):.4f}",
    ]


def separable_summary(report: Report) -> str:
    ratio = report.separable_ratio
    if ratio is None:
        return ""
    separable = sum(p.separable_macs for p in report.separable)
    standard = sum(p.standard_macs for p in report.separable)
    return (
        f"All {len(report.separable)} separable layers: {exact(separable)} mult-adds against "
        f"{exact(standard)} for standard convolutions: {float(ratio):.4f} (1/{float(1 / ratio):.2f})"
    )
