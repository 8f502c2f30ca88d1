"""A minimal fixed-width table with optional ANSI styling.

Rich's Table measures and wraps every cell; for a 90-layer network that alone takes longer than the
whole analysis (about 60 ms against under 1 ms). The layer tables here never wrap, so a plain
column formatter draws the same picture in a fraction of the time and keeps the CLI fast.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

from convcost.digits import printing_any_int
from convcost.render.escape import columns, pad, printable

BOLD = "\x1b[1m"
DIM = "\x1b[2m"
RESET = "\x1b[0m"

#: the box-drawing characters of a grid, and the ASCII a stream that cannot encode them gets
BOX_DRAWING = {"┃": "|", "│": "|", "━": "-", "╇": "+"}


def _style(text: str, style: str | None, color: bool) -> str:
    return f"{style}{text}{RESET}" if color and style else text


@printing_any_int
def grid(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: set[int],
    *,
    dim_rows: set[int] | None = None,
    caption: str = "",
    color: bool = False,
) -> str:
    """Rows of cells under a header, columns padded to their widest cell (right-aligned in ``right``).

    Every cell, the title and the caption are shown through ``printable``: a name holding a
    terminal escape or a line break is printed escaped, and cannot break the columns.
    """
    title = "\n".join(printable(line) for line in title.split("\n"))  # the renderer's own line breaks stay
    caption = "\n".join(printable(line) for line in caption.split("\n"))
    rows = [[printable(cell) for cell in cells] for cells in rows]
    # a character is a column unless a cell holds a wide one (CJK) or a combining mark: then pad
    # by terminal columns (``columns``); the all-ASCII test runs in C, counting each cell would not
    all_ascii = "".join(headers).isascii() and "".join(chain.from_iterable(rows)).isascii()
    width = len if all_ascii else columns
    widths = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str], sep: str) -> str:
        padded = [
            (c.rjust(w) if i in right else c.ljust(w)) if all_ascii else pad(c, w, right=i in right)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return sep.join(padded).rstrip()

    out = [_style(title, BOLD, color)] if title else []
    out.append(_style(line(headers, " ┃ "), BOLD, color))
    out.append("━╇━".join("━" * w for w in widths))
    dim = dim_rows or set()
    out += [_style(line(r, " │ "), DIM if i in dim else None, color) for i, r in enumerate(rows)]
    if caption:
        out.append(caption)
    return "\n".join(out) + "\n"
