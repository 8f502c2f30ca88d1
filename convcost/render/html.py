"""`convcost report`: one self-contained HTML page (no network: styles, SVG and script are inline).

The page holds the totals, the roofline (``convcost.render.svg``), the breakdown by kind, the
depthwise-separable pairs beside 1/N + 1/Dk^2, and the layer table with multiply-adds, parameters
and bytes as bars. Every number is formatted here, in Python, from the same data as
``convcost table --format json`` and ``convcost roofline --format json``, which the page also
carries verbatim (``<script id="convcost-data" type="application/json">``). The script only sorts
the table, folds blocks (``a/b/c`` paths) and, as a check anyone can see, adds the layer rows up
in the browser (exact BigInt sums) and says whether they equal the totals.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

from convcost.labels import PAPER_KIND_NAMES
from convcost.record import record
from convcost.render.document import versioned
from convcost.render.escape import html_text as escape  # names: HTML-escaped and printable
from convcost.render.roofline import KIND_COLORS, device_line, human_time
from convcost.render.svg import roofline_svg
from convcost.render.text import (
    MULT_ADDS,
    exact,
    headline,
    human_bytes,
    paper_shape,
    percent,
)
from convcost.report import Report, Row
from convcost.roofline import LayerBound, Roofline
from convcost.traffic import annotate

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1400px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
p.lead { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { padding: 2px 8px; border-bottom: 1px solid #eee; white-space: nowrap; }
th { text-align: left; background: #f6f6f6; position: sticky; top: 0; white-space: normal; vertical-align: bottom; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
#layers th { cursor: pointer; user-select: none; }
#layers th[aria-sort="ascending"]::after { content: " \\25B2"; }
#layers th[aria-sort="descending"]::after { content: " \\25BC"; }
td.bar { position: relative; min-width: 7em; }
td.bar span.fill { position: absolute; right: 0; top: 3px; bottom: 3px; background: #cfe0f3; z-index: -1; }
td.bytes span.fill { background: #f6d5b5; }
td.params span.fill { background: #d5ecd0; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; border-radius: 50%; margin-right: 0.4em; }
tr.block td { background: #fafafa; font-weight: 600; }
tr.block button { font: inherit; border: none; background: none; cursor: pointer; padding: 0 0.3em 0 0; }
tr.hidden { display: none; }
tr.dim td { color: #999; }
dl.totals { display: grid; grid-template-columns: max-content auto; gap: 2px 1.5em; }
dl.totals dt { color: #555; }
dl.totals dd { margin: 0; font-variant-numeric: tabular-nums; }
#check { color: #2a7a2a; }
#check.bad { color: #b00; font-weight: bold; }
.controls button { margin-right: 0.5em; }
div.wide { overflow-x: auto; }
"""

SCRIPT = """
(function () {
  "use strict";
  var table = document.getElementById("layer-table");
  var body = table.tBodies[0];
  var treeOrder = Array.prototype.slice.call(body.rows);
  var collapsed = {};
  function leaves() { return treeOrder.filter(function (r) { return !r.classList.contains("block"); }); }
  function refresh() {
    treeOrder.forEach(function (row) {
      var ancestors = (row.dataset.ancestors || "").split(" ").filter(Boolean);
      var hide = ancestors.some(function (a) { return collapsed[a]; });
      row.classList.toggle("hidden", hide || (table.dataset.sorted === "yes" && row.classList.contains("block")));
    });
    treeOrder.forEach(function (row) {
      var button = row.querySelector("button.fold");
      if (button) {
        var open = !collapsed[row.dataset.block];
        button.textContent = open ? "\\u25BE" : "\\u25B8";
        button.setAttribute("aria-expanded", open ? "true" : "false");
      }
    });
  }
  function setAll(state) {
    treeOrder.forEach(function (row) { if (row.dataset.block) { collapsed[row.dataset.block] = state; } });
    refresh();
  }
  body.addEventListener("click", function (event) {
    var button = event.target.closest("button.fold");
    if (!button) { return; }
    var block = button.closest("tr").dataset.block;
    collapsed[block] = !collapsed[block];
    refresh();
  });
  function value(row, index) {
    var cell = row.cells[index];
    return cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent;
  }
  function compare(a, b, type) {
    if (type === "int") { var x = BigInt(a), y = BigInt(b); return x < y ? -1 : x > y ? 1 : 0; }
    if (type === "float") {
      var p = a === "" ? -Infinity : parseFloat(a), q = b === "" ? -Infinity : parseFloat(b);
      return p < q ? -1 : p > q ? 1 : 0;
    }
    return a.localeCompare(b);
  }
  function sortBy(header) {
    var index = header.cellIndex, type = header.dataset.type || "text";
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    if (type !== "text" && !header.hasAttribute("aria-sort")) { ascending = false; }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var rows = leaves().slice().sort(function (a, b) {
      var c = compare(value(a, index), value(b, index), type);
      return (ascending ? c : -c) || (Number(a.dataset.order) - Number(b.dataset.order));
    });
    rows.forEach(function (row) { body.appendChild(row); });
    table.dataset.sorted = "yes";
    refresh();
  }
  function unsort() {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) { th.removeAttribute("aria-sort"); });
    treeOrder.forEach(function (row) { body.appendChild(row); });
    table.dataset.sorted = "no";
    refresh();
  }
  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
    th.addEventListener("click", function () { sortBy(th); });
  });
  document.getElementById("tree-order").addEventListener("click", unsort);
  document.getElementById("expand-all").addEventListener("click", function () { setAll(false); });
  document.getElementById("collapse-all").addEventListener("click", function () { setAll(true); });
  // The check: add the layer rows up here, exactly, and compare with the totals printed above.
  var sums = {};
  var columns = ["params", "macs", "bytes"];
  columns.forEach(function (name) { sums[name] = BigInt(0); });
  leaves().forEach(function (row) {
    columns.forEach(function (name) { sums[name] += BigInt(row.querySelector("td." + name).dataset.sort); });
  });
  var wrong = columns.filter(function (name) {
    return sums[name] !== BigInt(document.getElementById("total-" + name).dataset.value);
  });
  var check = document.getElementById("check");
  var count = leaves().length;
  check.dataset.rows = String(count);
  columns.forEach(function (name) { check.dataset[name] = sums[name].toString(); });
  if (wrong.length) {
    check.classList.add("bad");
    check.textContent = "Mismatch: the " + count + " layer rows do not add up to the totals (" +
      wrong.join(", ") + ").";
  } else {
    check.textContent = "Checked in this browser: the " + count + " layer rows add up exactly to the totals " +
      "of parameters, mult-adds and bytes.";
  }
  document.documentElement.dataset.ready = "yes";
  refresh();
})();
"""


def _json_for_script(data: Any) -> str:
    """JSON that cannot end the <script> element it sits in (``</script>`` inside a layer name)."""
    text = json.dumps(data, indent=1)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _fraction(value: Fraction | None) -> str:
    if value is None:
        return ""
    return f"{float(value):.2f}"


def _share(part: int | Fraction, whole: int | Fraction) -> str:
    return percent(float(part / whole)) if whole else ""


@record
class _Block:
    path: str
    ident: str
    depth: int


def _bar(value: int, most: int, whole: int, css: str) -> str:
    width = 100 * value / most if most else 0
    title = f"{_share(value, whole)} of the total" if whole else ""
    return (
        f'<td class="num bar {css}" data-sort="{value}" title="{title}">'
        f'<span class="fill" style="width:{width:.2f}%"></span>{exact(value)}</td>'
    )


def _kind_cell(kind: str, label: str | None = None) -> str:
    color = KIND_COLORS.get(kind, "#000")
    return f'<td><span class="swatch" style="background:{color}"></span>{escape(label or kind)}</td>'


class _Page:
    def __init__(self, report: Report, result: Roofline) -> None:
        self.report = report
        self.result = result
        self.bounds = {b.traffic.path: b for b in result.layers}
        missing = [row.path for row in report.rows if row.path not in self.bounds]
        if missing:
            raise ValueError(f"the roofline has no layer {missing[0]!r}: report and roofline of different models")
        # the very documents `table --format json` and `roofline --format json` print
        self.table_json = versioned(annotate(report.to_dict(result.traffic.dtype), result.traffic))
        self.roofline_json = versioned(result.to_dict())

    def totals(self) -> str:
        t = self.report.totals
        traffic = self.result.traffic.totals
        m = self.report.memory(self.result.traffic.dtype)
        time = self.result.time
        items = [
            (
                "Parameters",
                f'<span id="total-params" data-value="{t.params}">{exact(t.params)}</span>'
                f" ({exact(t.trainable)} trainable, {exact(t.non_trainable)} non-trainable)",
            ),
            ("Mult-adds", f'<span id="total-macs" data-value="{t.macs}">{exact(t.macs)}</span>'),
            ("FLOPs (convention)", exact(t.flops)),
            (
                "Bytes moved",
                f'<span id="total-bytes" data-value="{traffic.bytes}">{exact(traffic.bytes)}</span>'
                f" ({human_bytes(traffic.bytes)}; weights counted as Keras counts them)",
            ),
            ("Intensity", f"{_fraction(traffic.intensity)} FLOPs per byte (2 x the paper's mult-adds / bytes)"),
            (
                "Predicted time",
                f"{human_time(time)} on {escape(self.result.device.name)}: "
                f"{human_time(self.result.time_of('compute'))} compute-bound, "
                f"{human_time(self.result.time_of('memory'))} memory-bound",
            ),
            (
                "Peak activations",
                f"{human_bytes(m['peak_bytes'])} ({exact(m['peak_activations'])} values, at {escape(m['peak_layer'])})",
            ),
        ]
        if self.result.traffic.lower_bound or self.report.lower_bound:
            unknown = ", ".join(escape(path) for path in self.report.unknown)
            items.append(("Lower bounds", f"nodes read without a mapping are not costed: {unknown}"))
        cells = "\n".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in items)
        return f'<dl class="totals">\n{cells}\n</dl>\n<p id="check">The check needs JavaScript.</p>'

    def kinds(self) -> str:
        report, traffic = self.report, self.result.traffic
        times = self.result.time_by_kind()
        total_time = self.result.time
        t = report.totals
        by_kind_traffic = traffic.by_kind
        rows = []
        for kind, k in report.by_kind.items():
            moved = by_kind_traffic[kind]
            rows.append(
                "<tr>"
                + _kind_cell(kind, PAPER_KIND_NAMES.get(kind))
                + f'<td class="num">{k.layers}</td>'
                + f'<td class="num">{exact(k.params)}</td><td class="num">{_share(k.params, t.params)}</td>'
                + f'<td class="num">{exact(k.macs)}</td><td class="num">{_share(k.macs, t.macs)}</td>'
                + f'<td class="num">{exact(moved.bytes)}</td>'
                + f'<td class="num">{_share(moved.bytes, traffic.totals.bytes)}</td>'
                + f'<td class="num">{_fraction(moved.intensity)}</td>'
                + f'<td class="num">{human_time(times[kind])}</td>'
                + f'<td class="num">{_share(times[kind], total_time)}</td>'
                + "</tr>"
            )
        header = (
            "<tr><th>Kind</th><th class=num>Layers</th><th class=num>Params</th><th class=num>Share</th>"
            "<th class=num>Mult-Adds</th><th class=num>Share</th><th class=num>Bytes</th><th class=num>Share</th>"
            "<th class=num>FLOPs/byte</th><th class=num>Time</th><th class=num>Share</th></tr>"
        )
        return f'<table id="kind-table">\n<thead>{header}</thead>\n<tbody>\n' + "\n".join(rows) + "\n</tbody></table>"

    def separable(self) -> str:
        pairs = self.report.separable
        if not pairs:
            return "<p>No depthwise + pointwise pairs in this network.</p>"
        intro = (
            "<p>Mult-adds per image. A separable layer costs 1/N + 1/Dk<sup>2</sup> of the standard "
            "convolution it replaces, and N / (N + Dk<sup>2</sup>) of its own work is the pointwise 1x1 "
            "convolution, yet the depthwise half moves a large share of its bytes.</p>\n"
        )
        traffic = self.result.traffic
        rows = []
        for p in pairs:
            Dk_h, Dk_w = p.kernel
            dk2 = f"{Dk_h}<sup>2</sup>" if Dk_h == Dk_w else f"{Dk_h}&middot;{Dk_w}"
            scale = f"{p.depth_multiplier} &times; " if p.depth_multiplier != 1 else ""
            pointwise_share = Fraction(p.pointwise_macs, p.separable_macs)
            if p.depthwise == p.pointwise:  # one SeparableConv2D layer: no split of its bytes
                dw_bytes = ""
            else:
                dw, pw = traffic.layer(p.depthwise).bytes, traffic.layer(p.pointwise).bytes
                dw_bytes = _share(dw, dw + pw)
            name = (
                escape(p.depthwise) if p.depthwise == p.pointwise else f"{escape(p.depthwise)} + {escape(p.pointwise)}"
            )
            rows.append(
                f"<tr><td>{name}</td><td class=num>{p.output[0]}x{p.output[1]}</td>"
                f"<td class=num>{p.M}</td><td class=num>{p.N}</td>"
                f"<td class=num>{exact(p.separable_macs)}</td><td class=num>{exact(p.standard_macs)}</td>"
                f'<td class=num title="{p.ratio}">{p.ratio} = {float(p.ratio):.4f}</td>'
                f"<td class=num>{scale}(1/{p.N} + 1/{dk2}) = {p.formula}</td>"
                f'<td class=num title="N / (N + Dk^2) = {pointwise_share}">{percent(float(pointwise_share))}</td>'
                f"<td class=num>{dw_bytes}</td></tr>"
            )
        header = (
            "<tr><th>Depthwise + pointwise</th><th class=num>Df</th><th class=num>M</th><th class=num>N</th>"
            "<th class=num>Separable</th><th class=num>Standard</th><th class=num>Ratio</th>"
            "<th class=num>1/N + 1/Dk<sup>2</sup></th><th class=num>Pointwise share of the mult-adds</th>"
            "<th class=num>Depthwise share of the bytes</th></tr>"
        )
        ratio = self.report.separable_ratio
        summary = ""
        if ratio is not None:
            separable = sum(p.separable_macs for p in pairs)
            standard = sum(p.standard_macs for p in pairs)
            summary = (
                f"<p>All {len(pairs)} pairs: {exact(separable)} mult-adds against {exact(standard)} for standard "
                f"convolutions: {ratio} = {float(ratio):.4f} (1/{float(1 / ratio):.2f}).</p>"
            )
        return (
            intro
            + '<table id="separable-table">\n<thead>'
            + header
            + "</thead>\n<tbody>\n"
            + "\n".join(rows)
            + "\n</tbody></table>\n"
            + summary
        )

    def layers(self) -> str:
        report, traffic = self.report, self.result.traffic
        most = {
            "params": max((r.params for r in report.rows), default=0),
            "macs": max((r.macs for r in report.rows), default=0),
            "bytes": max((t.bytes for t in traffic.layers), default=0),
        }
        whole = {"params": report.totals.params, "macs": report.totals.macs, "bytes": traffic.totals.bytes}
        open_blocks: list[_Block] = []
        lines: list[str] = []
        blocks = 0
        for order, row in enumerate(report.rows):
            parts = row.path.split("/")
            prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts) - 1)]
            if any(b.path == row.path for b in open_blocks):  # a merge closes the block named after it
                prefixes.append(row.path)
            keep = 0
            while keep < min(len(open_blocks), len(prefixes)) and open_blocks[keep].path == prefixes[keep]:
                keep += 1
            del open_blocks[keep:]
            for path in prefixes[keep:]:
                blocks += 1
                block = _Block(path, f"b{blocks}", len(open_blocks))
                lines.append(self._block_row(block, open_blocks))
                open_blocks.append(block)
            lines.append(self._layer_row(order, row, self.bounds[row.path], open_blocks, most, whole))
        header = (
            '<tr><th class=num data-type="int">#</th><th>Name</th><th>Kind</th><th>Type / Stride</th>'
            "<th>Filter Shape</th><th class=num>Input</th><th class=num>Output</th>"
            '<th class=num data-type="int">Params</th><th class=num data-type="int">Mult-Adds</th>'
            '<th class=num data-type="int">Bytes</th><th class=num data-type="float">FLOPs/byte</th>'
            '<th>Bound</th><th class=num data-type="float">Time</th></tr>'
        )
        controls = (
            '<p class="controls"><button id="tree-order" type="button">Network order</button>'
            '<button id="expand-all" type="button">Expand all blocks</button>'
            '<button id="collapse-all" type="button">Collapse all blocks</button>'
            f" {len(report.rows)} layers in {blocks} blocks. Click a column to sort the layers by it.</p>"
        )
        return (
            controls
            + '\n<table id="layer-table" data-sorted="no">\n<thead>'
            + header
            + "</thead>\n<tbody>\n"
            + "\n".join(lines)
            + "\n</tbody></table>"
        )

    def _block_row(self, block: _Block, parents: list[_Block]) -> str:
        inside = [r for r in self.report.rows if r.path == block.path or r.path.startswith(block.path + "/")]
        moved = self.result.traffic.block(block.path)
        ancestors = " ".join(b.ident for b in parents)
        indent = f"padding-left:{0.5 + 1.2 * block.depth:.1f}em"
        name = escape(block.path.rsplit("/", 1)[-1])
        return (
            f'<tr class="block" data-block="{block.ident}" data-ancestors="{ancestors}" '
            f'data-path="{escape(block.path)}">'
            f'<td></td><td style="{indent}"><button class="fold" type="button" aria-expanded="true">&#9662;</button>'
            f"{name}</td><td>block</td><td>{len(inside)} layers</td><td></td><td></td><td></td>"
            f'<td class="num">{exact(sum(r.params for r in inside))}</td>'
            f'<td class="num">{exact(sum(r.macs for r in inside))}</td>'
            f'<td class="num">{exact(moved.bytes)}</td><td class="num">{_fraction(moved.intensity)}</td><td></td>'
            f'<td class="num">{human_time(sum((self.bounds[r.path].time for r in inside), Fraction(0)))}</td></tr>'
        )

    def _layer_row(
        self,
        order: int,
        row: Row,
        bound: LayerBound,
        parents: list[_Block],
        most: dict[str, int],
        whole: dict[str, int],
    ) -> str:
        t = bound.traffic
        ancestors = " ".join(b.ident for b in parents)
        indent = f"padding-left:{0.5 + 1.2 * len(parents):.1f}em"
        name = escape(row.path.rsplit("/", 1)[-1]) if parents else escape(row.path)
        intensity = "" if t.intensity is None else str(float(t.intensity))
        dim = "" if (row.params or row.macs) else ' class="dim"'
        return (
            f'<tr{dim} data-order="{order}" data-ancestors="{ancestors}" data-path="{escape(row.path)}">'
            f'<td class="num" data-sort="{order + 1}">{order + 1}</td>'
            f'<td style="{indent}" title="{escape(row.path)}" data-sort="{escape(row.path)}">{name}</td>'
            + _kind_cell(row.kind)
            + f"<td>{escape(row.type_stride)}</td><td>{escape(row.filter_shape)}</td>"
            f'<td class="num">{paper_shape(row.input)}</td><td class="num">{paper_shape(row.output)}</td>'
            + _bar(row.params, most["params"], whole["params"], "params")
            + _bar(row.macs, most["macs"], whole["macs"], "macs")
            + _bar(t.bytes, most["bytes"], whole["bytes"], "bytes")
            + f'<td class="num" data-sort="{intensity}" title="{t.intensity}">{_fraction(t.intensity)}</td>'
            f"<td>{bound.bound or ''}</td>"
            f'<td class="num" data-sort="{float(bound.time)!r}" title="{bound.time} s">{human_time(bound.time)}</td>'
            "</tr>"
        )

    def page(self) -> str:
        report = self.report
        title = f"convcost: {report.model}"
        data = {"table": self.table_json, "roofline": self.roofline_json}
        return "\n".join(
            [
                "<!DOCTYPE html>",
                '<html lang="en">',
                "<head>",
                '<meta charset="utf-8">',
                '<meta name="viewport" content="width=device-width, initial-scale=1">',
                f"<title>{escape(title)}</title>",
                f"<style>{STYLE}</style>",
                "</head>",
                "<body>",
                f"<h1>{escape(report.model)}</h1>",
                f'<p class="lead">{escape(headline(report))}<br>{escape(device_line(self.result.device))}</p>',
                '<section id="totals"><h2>Totals</h2>',
                self.totals(),
                "</section>",
                '<section id="roofline"><h2>Roofline</h2>',
                "<p>Each layer that does arithmetic, at its intensity (FLOPs per byte it must move: its inputs "
                "and weights read once, its output written once) on the roof of the device: below the ridge "
                "the bytes take longer than the arithmetic. Hover a dot for the layer.</p>",
                roofline_svg(self.result),
                "</section>",
                '<section id="kinds"><h2>By kind</h2>',
                self.kinds(),
                "</section>",
                '<section id="separable"><h2>Depthwise separable against standard convolution</h2>',
                self.separable(),
                "</section>",
                '<section id="layers"><h2>Layers</h2>',
                self.layers(),
                "</section>",
                '<script id="convcost-data" type="application/json">',
                _json_for_script(data),
                "</script>",
                f"<script>{SCRIPT}</script>",
                "</body>",
                "</html>",
                "",
            ]
        )


def to_html(report: Report, result: Roofline) -> str:
    """The page for ``report`` (any convention) with ``result``'s bytes, intensity and times."""
    return _Page(report, result).page()


def report_table(report: Report, dtype: str = "float32") -> str:
    """The layer table and totals as one HTML fragment: what a notebook shows for a ``Report``
    (``convcost.summary``), the columns and cells ``convcost table`` prints."""
    from convcost.memory import DTYPE_BYTES
    from convcost.render.table import LAYER_COLUMNS, costs_nothing, layer_headers, totals_text

    size = DTYPE_BYTES[dtype]
    num = ' class="num"'
    aligns = [num if column.right else "" for column in LAYER_COLUMNS]
    head = "".join(f"<th{a}>{escape(h)}</th>" for a, h in zip(aligns, layer_headers(dtype), strict=True))
    body = []
    for i, row in enumerate(report.rows, start=1):
        cells = (column.cell(report, row, i, MULT_ADDS, size) for column in LAYER_COLUMNS)
        tds = "".join(f"<td{a}>{escape(c)}</td>" for a, c in zip(aligns, cells, strict=True))
        dim = ' style="color:#888"' if costs_nothing(row) else ""  # dimmed as the table dims them
        body.append(f"<tr{dim}>{tds}</tr>")
    totals = totals_text(report, dtype, MULT_ADDS).splitlines()
    return (
        f"<div><p><b>{escape(headline(report))}</b></p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        + "".join(f"<p>{escape(line)}</p>" for line in totals)
        + "</div>"
    )
