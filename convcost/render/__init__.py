"""Renderers: a ``Report`` in, text out (terminal table, markdown, CSV, JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from convcost.errors import MissingDependencyError
from convcost.report import Report

if TYPE_CHECKING:
    from convcost.traffic import Traffic

FORMATS = ("table", "markdown", "csv", "json")


def pyplot() -> Any:
    """``matplotlib.pyplot`` on its file-only backend (Agg), for every ``--plot``; matplotlib is an
    optional extra, and its absence the one-line error that names it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError(
            "--plot needs matplotlib, which is not installed: pip install 'convcost[plot]'"
        ) from None
    return plt


def render(
    report: Report,
    fmt: str,
    *,
    color: bool | None = None,
    dtype: str = "float32",
    flops: bool = False,
    traffic: Traffic | None = None,
) -> str:
    """The report as text in ``fmt`` (one of ``FORMATS``); memory in bytes of ``dtype`` values.

    ``flops`` makes the table and markdown work columns FLOPs instead of multiply-adds; CSV and
    JSON always carry both. ``traffic`` (``convcost.traffic.measure``) adds bytes moved and
    arithmetic intensity to the JSON.
    """
    from convcost.render import text

    work = text.Work(flops)
    if fmt == "table":
        from convcost.render.table import to_table

        return to_table(report, color=color, dtype=dtype, work=work)
    if fmt == "markdown":
        return text.to_markdown(report, dtype, work)
    if fmt == "csv":
        return text.to_csv(report, dtype)
    return text.to_json(report, dtype, traffic)
