"""Names as they may be shown: every character a terminal would act on, written as an escape.

A layer or model name is the user's text and may hold anything: a clear-screen or set-title
escape sequence, a carriage return that splits a CSV record or an error line, a bidirectional
override that reorders what is shown, a lone surrogate that no encoder accepts. Wherever a name
is printed (tables, markdown, CSV, error lines, progress bars) it goes through ``printable``,
which keeps every printable character and writes each other one as the Python escape that names
it (``\\x1b``, ``\\r``, ``\\u202e``, ``\\ud800``). JSON output needs none of this: ``json.dumps``
escapes the same characters itself.
"""

from __future__ import annotations

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(character: str) -> str:
    if character in _NAMED:
        return _NAMED[character]
    code = ord(character)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: str) -> str:
    """``text`` with every non-printable character (``str.isprintable``: controls, format
    characters such as bidi overrides, separators other than the space, surrogates, unassigned
    code points) written as its escape."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def columns(text: str) -> int:
    """The terminal columns ``text`` (already printable) takes: two for a wide or full-width
    character (CJK ideographs, kana, hangul, full-width forms), none for a combining mark, one for
    the rest. Tables pad by this, not by ``len``, so a name in Chinese keeps its columns aligned."""
    if text.isascii():
        return len(text)
    from unicodedata import combining, east_asian_width

    return sum(0 if combining(c) else 2 if east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int, *, right: bool = False) -> str:
    """``text`` padded with spaces to ``width`` terminal columns, on the left when ``right``."""
    fill = " " * (width - columns(text))
    return fill + text if right else text + fill


def markdown_cell(text: str) -> str:
    """``printable(text)`` with ``|`` escaped, so a name cannot add a column to a markdown table."""
    return printable(text).replace("|", "\\|")


def html_text(text: str) -> str:
    """``printable(text)`` escaped for HTML and SVG (text and attribute values)."""
    from html import escape

    return escape(printable(text))
