"""The JSON every command writes: one object whose first key is ``schema_version``.

docs/json.md documents each command's form; tests/test_json_schema.py checks it against every
command's output. ``SCHEMA_VERSION`` goes up when a key is removed, renamed or changes type (a
script written for the old form would break); a key added leaves it as it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

SCHEMA_VERSION = 1


def versioned(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with ``schema_version`` as its first key (the HTML report embeds this form too)."""
    return {"schema_version": SCHEMA_VERSION, **data}


def json_text(data: Mapping[str, Any]) -> str:
    """``data`` as indented JSON text, ``schema_version`` first, ending in a newline."""
    return json.dumps(versioned(data), indent=2) + "\n"
