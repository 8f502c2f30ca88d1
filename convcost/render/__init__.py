"""Renderers: a ``Report`` in, text out (terminal table, markdown, CSV, JSON)."""

from __future__ import annotations

from collections.abc import Callable

from convcost.report import Report

FORMATS = ("table", "markdown", "csv", "json")


def render(report: Report, fmt: str, *, color: bool | None = None, dtype: str = "float32", flops: bool = False) -> str:
    """The report as text in ``fmt`` (one of ``FORMATS``); memory in bytes of ``dtype`` values.

    ``flops`` makes the table and markdown work columns FLOPs instead of multiply-adds; CSV and
    JSON always carry both.
    """
    from convcost.render import text

    work = text.Work(flops)
    if fmt == "table":
        from convcost.render.table import to_table

        return to_table(report, color=color, dtype=dtype, work=work)
    if fmt == "markdown":
        return text.to_markdown(report, dtype, work)
    renderers: dict[str, Callable[[Report, str], str]] = {"csv": text.to_csv, "json": text.to_json}
    return renderers[fmt](report, dtype)
