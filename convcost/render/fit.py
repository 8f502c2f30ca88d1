"""Make a grid and its prose fit a width: drop or shorten columns in a stated order, wrap lines.

A terminal table that is wider than the terminal wraps every row onto two lines and is unreadable.
Each table says which of its columns matter least (``Step``s, applied one at a time, each only while
the grid is still too wide), so the columns a reader needs most are the last to go. A width of
``None`` means no limit: every column, nothing shortened.

Widths are counted in characters of the cells as shown (``printable``), as ``grid`` draws them.
"""

from __future__ import annotations

from collections.abc import Sequence

from convcost.record import record
from convcost.render.escape import columns, printable

#: what `grid` puts between two columns
SEPARATOR = 3
#: a shortened cell keeps at least this many characters (with the ellipsis)
SHORTEST = 8
ELLIPSIS = "…"


@record
class Step:
    """Drop the column ``header``, or (``shorten``) cut its cells to ``limit`` characters (to whatever
    fits when ``limit`` is None, but not below ``SHORTEST``)."""

    header: str
    shorten: bool = False
    limit: int | None = None


def drop(*headers: str) -> list[Step]:
    return [Step(h) for h in headers]


@record
class Fitted:
    headers: list[str]
    rows: list[list[str]]
    right: set[int]
    #: the headers dropped, in the order they went
    dropped: list[str]


def grid_width(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    """The width of the widest line ``grid`` draws for these cells (its rule line)."""
    widths = [max([columns(printable(h))] + [columns(printable(r[i])) for r in rows]) for i, h in enumerate(headers)]
    return sum(widths) + SEPARATOR * (len(widths) - 1)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` terminal columns by an ellipsis: a layer path keeps a third of
    them from its start (the block) and the rest from its end (the layer, what tells rows apart)."""
    if columns(text) <= limit:
        return text
    limit = max(limit, 2)
    head = (limit - 1) // 3
    tail = limit - 1 - head
    return _within(text, head) + ELLIPSIS + _within(text[::-1], tail)[::-1]


def _within(text: str, room: int) -> str:
    """The longest start of ``text`` that takes at most ``room`` columns."""
    if text.isascii():
        return text[:room]
    kept = ""
    for character in text:
        if columns(kept + character) > room:
            break
        kept += character
    return kept


def fit(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: set[int],
    width: int | None,
    steps: Sequence[Step],
) -> Fitted:
    """The columns left once ``steps`` have been applied, in order, while the grid is wider than
    ``width``; the cells are returned printable (as ``grid`` would show them)."""
    cols = [[printable(h)] + [printable(r[i]) for r in rows] for i, h in enumerate(headers)]
    names = [printable(h) for h in headers]
    aligned = [i in right for i in range(len(headers))]
    dropped: list[str] = []

    def current_width() -> int:
        return sum(max(columns(c) for c in col) for col in cols) + SEPARATOR * (len(cols) - 1)

    for step in steps:
        if width is None or current_width() <= width:
            break
        if step.header not in names:
            continue
        i = names.index(step.header)
        if not step.shorten:
            del cols[i], names[i], aligned[i]
            dropped.append(step.header)
            continue
        widest = max(columns(c) for c in cols[i][1:]) if len(cols[i]) > 1 else 0
        room = widest - (current_width() - width)
        limit = room if step.limit is None else max(room, step.limit)
        limit = max(limit, SHORTEST, columns(cols[i][0]))
        cols[i] = [cols[i][0]] + [shorten(c, limit) for c in cols[i][1:]]
    return Fitted(
        headers=[col[0] for col in cols],
        rows=[[col[r] for col in cols] for r in range(1, len(cols[0]))] if cols else [],
        right={i for i, a in enumerate(aligned) if a},
        dropped=dropped,
    )


def wrap(text: str, width: int | None) -> str:
    """Each line of ``text`` wrapped at ``width`` (continuations indented by two spaces); a line
    ending in a newline keeps it. Numbers hold no spaces, so none is split unless it is longer
    than a line; so is a word (a long layer path in the memory line)."""
    if width is None:
        return text
    import textwrap  # here: a table that fits (or has no terminal) never needs it, and it costs 1-3 ms

    end = "\n" if text.endswith("\n") else ""
    lines = text[: len(text) - len(end)].split("\n")
    wrapped = [
        "\n".join(textwrap.wrap(line, width, subsequent_indent="  ", break_on_hyphens=False) or [""]) for line in lines
    ]
    return "\n".join(wrapped) + end
