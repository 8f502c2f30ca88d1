"""Fold a report's rows to a chosen depth of the layer hierarchy, as torchinfo's ``depth`` does.

A row's depth is the number of components of its path (``conv2_block1/conv2_block1_add/shortcut/...``
is 4 deep). ``collapse(report, N)`` replaces every run of rows that share their first N path
components by one row of kind ``block`` for that block: its params, trainable and non-trainable
params, multiply-adds and FLOPs are the sums of the rows it folds, its input is the first row's input and
its output the last row's (for a ``Parallel``, the merge's). Totals, the breakdown by kind and the
separable pairs are about the layers, so they are left as they are.
"""

from __future__ import annotations

from dataclasses import replace

from convcost.errors import SpecError
from convcost.report import Report, Row

BLOCK_KIND = "block"


def _fold(path: str, rows: list[Row]) -> Row:
    if len(rows) == 1 and rows[0].path == path:
        return rows[0]
    return Row(
        path=path,
        name=path.rsplit("/", 1)[-1],
        kind=BLOCK_KIND,
        type_stride=f"Block ({len(rows)} layers)",
        filter_shape="",
        input=rows[0].input,
        output=rows[-1].output,
        trainable=sum(r.trainable for r in rows),
        non_trainable=sum(r.non_trainable for r in rows),
        macs=sum(r.macs for r in rows),
        activations=rows[-1].activations,
        flops=sum(r.flops for r in rows),
    )


def collapse(report: Report, depth: int) -> Report:
    """``report`` with the rows deeper than ``depth`` path components folded into one row per block.

    A block's row stands where its first row stood; its rows need not be consecutive (a graph read
    from a framework may run a block's shortcut after other work), they are folded all the same.
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise SpecError(f"depth must be a positive integer, got {depth!r}")
    groups: dict[str, list[Row]] = {}
    for row in report.rows:
        groups.setdefault("/".join(row.path.split("/")[:depth]), []).append(row)
    return replace(report, rows=tuple(_fold(key, rows) for key, rows in groups.items()))
