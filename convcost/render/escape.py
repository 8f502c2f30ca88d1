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


def markdown_cell(text: str) -> str:
    """``printable(text)`` with ``|`` escaped, so a name cannot add a column to a markdown table."""
    return printable(text).replace("|", "\\|")


def html_text(text: str) -> str:
    """``printable(text)`` escaped for HTML and SVG (text and attribute values)."""
    from html import escape

    return escape(printable(text))
