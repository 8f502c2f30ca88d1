"""The roofline as SVG text, drawn without any library: inline in the HTML page, or a file for docs/.

Log-log axes: arithmetic intensity (FLOPs per byte) across, attainable GFLOP/s up. The roof is
``min(peak, intensity x bandwidth)``; each layer that does arithmetic is a dot on it, coloured by
kind, its area proportional to its FLOPs. Layers with no FLOPs (intensity 0) cannot sit on a log
axis: the caption counts them. The output is deterministic (the same input, the same bytes).
"""

from __future__ import annotations

import math

from convcost.render.escape import html_text as escape  # names: HTML-escaped and printable
from convcost.render.roofline import KIND_COLORS, human_time, rate
from convcost.roofline import GIGA, Roofline

WIDTH, HEIGHT = 760, 460
LEFT, RIGHT, TOP, BOTTOM = 70, 170, 36, 54


def _decades(low: float, high: float) -> tuple[int, int]:
    return math.floor(math.log10(low)), math.ceil(math.log10(high))


def _tick(exponent: int) -> str:
    """10^e as a short label: 0.01, 0.1, 1, 10, 100, 1k, 10k, 100k, 1M."""
    if exponent < 0:
        return f"{10.0**exponent:.{-exponent}f}"
    value = 10**exponent
    for size, suffix in ((10**6, "M"), (10**3, "k")):
        if value >= size:
            return f"{value // size}{suffix}"
    return str(value)


def roofline_svg(result: Roofline, *, standalone: bool = False) -> str:
    """The picture as an ``<svg>`` element; ``standalone`` adds the XML namespace a file needs."""
    dev = result.device
    placed = [b for b in result.layers if b.traffic.intensity and b.attainable is not None]
    ridge = float(dev.ridge)
    peak = float(dev.peak_flops) / GIGA
    bandwidth = float(dev.bandwidth) / GIGA
    intensities = [float(b.traffic.intensity) for b in placed if b.traffic.intensity] + [ridge]
    x0, x1 = _decades(min(intensities) / 2, max(intensities) * 2)
    y_low = min([min(intensities) * bandwidth / 2, peak])
    y0, y1 = _decades(y_low, peak * 2)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(value: float) -> float:
        return LEFT + (math.log10(value) - x0) / (x1 - x0) * plot_w

    def y(value: float) -> float:
        return TOP + plot_h - (math.log10(value) - y0) / (y1 - y0) * plot_h

    namespace = ' xmlns="http://www.w3.org/2000/svg"' if standalone else ""
    title = (
        f"{result.traffic.model} ({result.traffic.dtype}) on {dev.name}: peak {rate(dev.peak_flops / GIGA)} GFLOP/s, "
        f"{rate(dev.bandwidth / GIGA)} GB/s, ridge {rate(dev.ridge)} FLOPs/byte"
    )
    out = [
        f'<svg{namespace} class="roofline" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{LEFT}" y="20" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for e in range(x0, x1 + 1):
        px = x(10.0**e)
        out.append(f'<line x1="{px:.1f}" y1="{TOP}" x2="{px:.1f}" y2="{TOP + plot_h}" stroke="#e4e4e4"/>')
        out.append(f'<text x="{px:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{_tick(e)}</text>')
    for e in range(y0, y1 + 1):
        py = y(10.0**e)
        out.append(f'<line x1="{LEFT}" y1="{py:.1f}" x2="{LEFT + plot_w}" y2="{py:.1f}" stroke="#e4e4e4"/>')
        out.append(f'<text x="{LEFT - 6}" y="{py + 4:.1f}" text-anchor="end">{_tick(e)}</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>')
    out.append(
        f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 14}" text-anchor="middle">'
        "arithmetic intensity (FLOPs per byte moved)</text>"
    )
    out.append(
        f'<text transform="translate(16 {TOP + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle">'
        "attainable GFLOP/s</text>"
    )
    # the roof: the bandwidth slope from the left edge (or where it enters the plot) to the ridge, then flat
    x_start = max(10.0**x0, 10.0**y0 / bandwidth)
    roof = [(x_start, x_start * bandwidth), (ridge, peak), (10.0**x1, peak)]
    points = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in roof)
    out.append(f'<polyline class="roof" points="{points}" fill="none" stroke="black" stroke-width="2"/>')
    out.append(
        f'<line class="ridge" x1="{x(ridge):.1f}" y1="{TOP}" x2="{x(ridge):.1f}" y2="{TOP + plot_h}" '
        'stroke="#666" stroke-dasharray="4 3"/>'
    )
    # the ridge's label on the side of the line with room for it
    anchor, shift = ("end", -4) if x(ridge) > LEFT + 0.7 * plot_w else ("start", 4)
    out.append(
        f'<text x="{x(ridge) + shift:.1f}" y="{TOP + plot_h - 6}" fill="#444" text-anchor="{anchor}">'
        f"ridge {rate(dev.ridge)} FLOPs/byte</text>"
    )
    out.append(f'<text x="{LEFT + 6}" y="{TOP + 14}" fill="#444">memory-bound</text>')
    out.append(f'<text x="{LEFT + plot_w - 6}" y="{TOP + 14}" fill="#444" text-anchor="end">compute-bound</text>')
    most = max([b.traffic.flops for b in placed], default=1)
    for b in sorted(placed, key=lambda b: -b.traffic.flops):  # big dots first, small ones stay visible on top
        t = b.traffic
        radius = 2.5 + 7 * math.sqrt(t.flops / most)
        intensity = float(t.intensity) if t.intensity else 0.0
        attainable = float(b.attainable) / GIGA if b.attainable is not None else 0.0
        label = (
            f"{t.path} ({t.kind}): {intensity:.3g} FLOPs/byte, {b.bound}-bound, "
            f"{attainable:.3g} GFLOP/s, {human_time(b.time)}"
        )
        out.append(
            f'<circle class="point" data-path="{escape(t.path)}" data-kind="{escape(t.kind)}" '
            f'cx="{x(intensity):.1f}" cy="{y(attainable):.1f}" r="{radius:.1f}" '
            f'fill="{KIND_COLORS.get(t.kind, "#000")}" fill-opacity="0.75" stroke="white" stroke-width="0.8">'
            f"<title>{escape(label)}</title></circle>"
        )
    kinds = list(dict.fromkeys(b.traffic.kind for b in placed))
    for i, kind in enumerate(kinds):
        ly = TOP + 10 + 18 * i
        count = sum(b.traffic.kind == kind for b in placed)
        out.append(f'<circle cx="{LEFT + plot_w + 18}" cy="{ly}" r="5" fill="{KIND_COLORS.get(kind, "#000")}"/>')
        out.append(f'<text x="{LEFT + plot_w + 28}" y="{ly + 4}">{escape(kind)} ({count})</text>')
    missing = len(result.layers) - len(placed)
    if missing:
        ly = TOP + 10 + 18 * len(kinds) + 10
        out.append(f'<text x="{LEFT + plot_w + 12}" y="{ly}" fill="#444">{missing} layers with no</text>')
        out.append(f'<text x="{LEFT + plot_w + 12}" y="{ly + 14}" fill="#444">FLOPs: not drawn</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
