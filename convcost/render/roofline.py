"""`convcost roofline` output: every layer's bytes, intensity, bound and predicted time (table, CSV,
JSON), and the roofline drawn with matplotlib (``--plot``)."""

from __future__ import annotations

import os
from fractions import Fraction

from convcost.errors import SpecError
from convcost.render.grid import grid
from convcost.render.text import exact, human, human_bytes, paper_shape
from convcost.roofline import GIGA, Device, LayerBound, Roofline

FORMATS = ("table", "csv", "json")

#: one colour per kind, shared by the matplotlib plot, the SVG and the HTML page
KIND_COLORS = {
    "conv": "#d62728",
    "depthwise": "#1f77b4",
    "pointwise": "#ff7f0e",
    "separable": "#9467bd",
    "dense": "#2ca02c",
    "batchnorm": "#8c564b",
    "activation": "#e377c2",
    "pool": "#7f7f7f",
    "global_pool": "#bcbd22",
    "padding": "#17becf",
    "add": "#393b79",
    "concat": "#637939",
    "flatten": "#aaaaaa",
    "dropout": "#aaaaaa",
    "reshape": "#aaaaaa",
    "block": "#444444",
}


def human_time(seconds: Fraction | float) -> str:
    """0.0123 -> '12.30 ms'; µs below a millisecond, ns below a microsecond."""
    s = float(seconds)
    if s == 0:
        return "0 s"
    if s >= 1:
        return f"{s:,.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    if s >= 1e-6:
        return f"{s * 1e6:.1f} µs"
    return f"{s * 1e9:.1f} ns"


def rate(value: Fraction) -> str:
    """An exact rate or ratio for a person: integers as they are, else 4 significant digits."""
    if value.denominator == 1:
        return exact(value.numerator)
    return f"{float(value):.4g}"


def device_line(dev: Device) -> str:
    return (
        f"device {dev.name}: peak {rate(dev.peak_flops / GIGA)} GFLOP/s, bandwidth {rate(dev.bandwidth / GIGA)} GB/s, "
        f"ridge {rate(dev.ridge)} FLOPs/byte ({dev.source})"
    )


def headline(result: Roofline) -> str:
    t = result.traffic
    return (
        f"{t.model}: input {paper_shape(t.input)}, batch {t.batch}, {t.dtype} values "
        f"({t.bytes_per_value} bytes); each layer reads its inputs and weights and writes its output once"
    )


def _intensity(value: Fraction | None) -> str:
    return "" if value is None else f"{float(value):.2f}"


def _shown(result: Roofline, kinds: frozenset[str] | None) -> list[tuple[int, LayerBound]]:
    """The layers to list, numbered in network order: all of them, or those of ``kinds``."""
    numbered = list(enumerate(result.layers, start=1))
    return [(i, b) for i, b in numbered if kinds is None or b.traffic.kind in kinds]


def to_table(result: Roofline, color: bool = False, kinds: frozenset[str] | None = None) -> str:
    total = result.time
    shown = _shown(result, kinds)
    title = headline(result) + "\n" + device_line(result.device)
    if kinds is not None:
        title += f"\n{len(shown)} of {len(result.layers)} layers listed ({', '.join(sorted(kinds))}); totals: all"
    rows = [
        [
            str(i),
            b.traffic.path,
            b.traffic.kind,
            human(b.traffic.macs),
            human_bytes(b.traffic.bytes),
            _intensity(b.traffic.intensity),
            b.bound or "",
            "" if b.attainable is None else f"{float(b.attainable / GIGA):,.1f}",
            human_time(b.time),
            f"{100 * float(b.time / total):.2f}%" if total else "",
        ]
        for i, b in shown
    ]
    layers = grid(
        title,
        ["#", "Name", "Kind", "Mult-Adds", "Bytes", "FLOPs/B", "Bound", "GFLOP/s", "Time", "Share"],
        rows,
        right={0, 3, 4, 5, 7, 8, 9},
        dim_rows={row for row, (_, b) in enumerate(shown) if b.bound != "compute"},
        color=color,
    )
    t = result.traffic.totals
    intensity = "" if t.intensity is None else f", {float(t.intensity):.2f} FLOPs/byte"
    compute = sum(b.bound == "compute" for b in result.layers)
    memory = sum(b.bound == "memory" for b in result.layers)
    summary = (
        f"Total: {exact(t.macs)} mult-adds ({exact(t.flops)} FLOPs), {exact(t.bytes)} bytes moved "
        f"({human_bytes(t.bytes)}){intensity}\n"
        f"Predicted time: {human_time(total)} = {human_time(result.time_of('compute'))} in {compute} compute-bound "
        f"layers + {human_time(result.time_of('memory'))} in {memory} memory-bound layers\n"
    )
    if result.traffic.lower_bound:
        summary += "Lower bounds: some nodes were read without a mapping; their weights and work are not counted\n"
    times = result.time_by_kind()
    by_kind = grid(
        "By kind",
        ["Kind", "Layers", "Mult-Adds", "Bytes", "Bytes share", "FLOPs/B", "Time", "Time share"],
        [
            [
                kind,
                str(k.layers),
                exact(k.macs),
                exact(k.bytes),
                f"{100 * k.bytes / t.bytes:.2f}%" if t.bytes else "",
                _intensity(k.intensity),
                human_time(times[kind]),
                f"{100 * float(times[kind] / total):.2f}%" if total else "",
            ]
            for kind, k in result.traffic.by_kind.items()
        ],
        right={1, 2, 3, 4, 5, 6, 7},
        color=color,
    )
    return "\n".join([layers, summary, by_kind])


CSV_COLUMNS = ("path", "name", "kind", "macs", "flops", "weights_read", "bytes", "intensity", "bound", "time_s")


def to_csv(result: Roofline, kinds: frozenset[str] | None = None) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for _, b in _shown(result, kinds):
        t = b.traffic
        intensity = "" if t.intensity is None else f"{float(t.intensity):.6g}"
        writer.writerow(
            (t.path, t.name, t.kind, t.macs, t.flops, t.weights, t.bytes, intensity, b.bound or "", float(b.time))
        )
    return out.getvalue()


def render(result: Roofline, fmt: str, color: bool = False, kinds: frozenset[str] | None = None) -> str:
    """``result`` as ``fmt`` (one of ``FORMATS``), listing only layers of ``kinds`` when given."""
    if fmt == "json":
        from convcost.render.document import json_text

        data = result.to_dict()
        if kinds is not None:
            data["layers"] = [layer for layer in data["layers"] if layer["kind"] in kinds]
        return json_text(data)
    if fmt == "csv":
        return to_csv(result, kinds)
    return to_table(result, color, kinds)


def plot(result: Roofline, path: str) -> None:
    """The roofline with every layer that computes as a point coloured by kind (matplotlib, optional)."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".svg", ".png", ".pdf"):
        raise SpecError(f"--plot {path}: the file must end in .svg, .png or .pdf")
    from convcost.render import pyplot

    plt = pyplot()
    dev = result.device
    placed = [b for b in result.layers if b.traffic.intensity]
    ridge = float(dev.ridge)
    low = min([float(b.traffic.intensity) for b in placed if b.traffic.intensity] + [ridge]) / 4
    high = max([float(b.traffic.intensity) for b in placed if b.traffic.intensity] + [ridge]) * 4
    peak = float(dev.peak_flops) / 1e9
    bandwidth = float(dev.bandwidth) / 1e9
    figure, axes = plt.subplots(figsize=(7, 4.8))
    axes.plot([low, ridge, high], [low * bandwidth, peak, peak], color="black", linewidth=1.5)
    axes.axvline(ridge, color="grey", linestyle=":", linewidth=1)
    for kind in dict.fromkeys(b.traffic.kind for b in placed):
        chosen = [b for b in placed if b.traffic.kind == kind]
        axes.scatter(
            [float(b.traffic.intensity) for b in chosen if b.traffic.intensity],
            [float(b.attainable) / 1e9 for b in chosen if b.attainable is not None],
            color=KIND_COLORS.get(kind, "black"),
            label=f"{kind} ({len(chosen)})",
            zorder=3,
            s=24,
        )
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("arithmetic intensity (FLOPs per byte moved)")
    axes.set_ylabel("attainable GFLOP/s")
    axes.set_title(
        f"{result.traffic.model} on {dev.name}: {peak:g} GFLOP/s, {bandwidth:g} GB/s, ridge {ridge:.3g} FLOPs/byte",
        fontsize=9,
    )
    axes.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    from convcost.atomic import write_atomically

    try:
        write_atomically(path, lambda f: figure.savefig(f, format=suffix[1:]), f"--plot {path}")
    finally:
        plt.close(figure)
