"""JSON as convcost reads it: ``json.loads`` with the ambiguities of the format refused.

Every file convcost reads as JSON (spec files, Keras configs) goes through ``loads``, which refuses
what ``json.loads`` silently accepts:

* **a duplicate key**: ``json.loads`` keeps the last value, so a second ``"layers": []`` erased a
  network and ``{"filters": 4, "filters": 400}`` counted 400 (TOML refuses duplicates itself);
* **an integer literal longer than Python's int-to-text limit** (4,300 digits; converting more is
  quadratic, see convcost.digits), which would otherwise surface as an obscure ``ValueError``;
* **a lone surrogate** (``"\\ud800"``): valid JSON text, but not a Unicode character, so no
  encoder can print or write the name that holds it.

Each is a ``json.JSONDecodeError`` with the position of the offending text, so a reader reports it
with the file's line and column exactly as it reports a syntax error.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from typing import Any

from convcost.digits import PARSE_LIMIT, parse_limited


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Duplicate(key)
        result[key] = value
    return result


def loads(text: str, *, parse_constant: Callable[[str], Any] | None = None) -> Any:
    """``json.loads(text)``, refusing duplicate keys, over-long integers and lone surrogates."""
    try:
        with parse_limited():
            data = json.loads(text, object_pairs_hook=_unique, parse_constant=parse_constant)
    except _Duplicate as e:
        raise json.JSONDecodeError(f"duplicate key {e.key!r}", text, _duplicate_position(text, e.key)) from None
    except ValueError as e:
        if isinstance(e, json.JSONDecodeError) or "limit" not in str(e) or "digits" not in str(e):
            raise
        raise json.JSONDecodeError(
            f"an integer of more than {PARSE_LIMIT:,} digits", text, _long_integer_position(text)
        ) from None
    surrogate = _lone_surrogate(data)
    if surrogate is not None:
        raise json.JSONDecodeError(
            f"{surrogate!a} is a lone surrogate, not a Unicode character", text, _surrogate_position(text)
        )
    return data


# ------------------------------------------------------------------ positions, on the error path only

_WHITESPACE = re.compile(r"[ \t\n\r]*")


def _duplicate_position(text: str, key: str) -> int:
    """Where the second occurrence of ``key`` starts in the first object that repeats a key.

    The fast C parser cannot say where it was; so, on this error path only, the text is parsed
    again with the pure-Python scanner, whose object parser is wrapped to walk each object's keys.
    """
    decoder = json.JSONDecoder()
    skip_value = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # values already parsed cleanly
    found: list[int] = []

    def parse_object(s_and_end: tuple[str, int], *args: Any, **kwargs: Any) -> tuple[dict[str, Any], int]:
        s, start = s_and_end
        pairs, end = json.decoder.JSONObject(  # type: ignore[attr-defined]
            s_and_end, args[0], args[1], None, list, *args[4:], **kwargs
        )
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            found.append(_repeated_key_at(s, start, skip_value))
            raise _Duplicate("")
        return dict(pairs), end

    decoder.parse_object = parse_object  # type: ignore[attr-defined]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    with contextlib.suppress(_Duplicate, ValueError, RecursionError):
        decoder.decode(text)
    return found[0] if found else 0


def _repeated_key_at(s: str, position: int, skip_value: Callable[[str, int], tuple[Any, int]]) -> int:
    """The offset of the first key that repeats an earlier key of the object whose body starts at
    ``position`` (just after its '{')."""
    seen: set[str] = set()
    while True:
        position = _WHITESPACE.match(s, position).end()  # type: ignore[union-attr]
        if s[position] != '"':
            return position
        key_start = position
        key, position = json.decoder.scanstring(s, position + 1)  # type: ignore[attr-defined]
        if key in seen:
            return key_start
        seen.add(key)
        position = _WHITESPACE.match(s, position).end() + 1  # type: ignore[union-attr]  # the ':'
        position = _WHITESPACE.match(s, position).end()  # type: ignore[union-attr]
        _, position = skip_value(s, position)
        position = _WHITESPACE.match(s, position).end() + 1  # type: ignore[union-attr]  # ',' or '}'


def _long_integer_position(text: str) -> int:
    match = re.search(rf"-?[0-9]{{{PARSE_LIMIT + 1},}}", text)
    return match.start() if match else 0


_LONE_SURROGATE = re.compile(
    r"(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    r"|\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
)


def _surrogate_position(text: str) -> int:
    match = _LONE_SURROGATE.search(text)
    return match.start() if match else 0


def _lone_surrogate(data: Any) -> str | None:
    """The first lone surrogate in any string (key or value) of parsed JSON, walked without recursion."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            texts = [item]
        elif isinstance(item, dict):
            texts = list(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
            continue
        else:
            continue
        for string in texts:
            if not string.isascii():
                try:
                    string.encode("utf-8")
                except UnicodeEncodeError as e:  # UTF-8 encodes every code point but the surrogates
                    return string[e.start]
    return None
