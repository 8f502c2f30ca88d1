"""A model file given on the command line: a spec file (TOML/JSON) or a Keras ``to_json()`` config.

The file is opened and read once, to a bounded size: a FIFO holding a valid spec is read like any
file (it used to be opened twice, and the second open waited for a writer that had gone), and a
name pointing at /dev/zero stops at the limit. A ``.json`` file whose top level has ``class_name``
and ``config`` is a Keras config (up to 64 MiB: real ones are large); anything else is a spec file
(up to ``specfile.MAX_BYTES``).
"""

from __future__ import annotations

import json
from pathlib import Path

from convcost import specfile
from convcost.digits import parse_limited
from convcost.errors import SpecFileError
from convcost.model import Model

#: Keras configs of real networks run to megabytes; larger than this is refused unread
KERAS_MAX_BYTES = 64 * 1024 * 1024


def _is_keras_config(text: str) -> bool:
    try:
        with parse_limited():
            document = json.loads(text)
    except (ValueError, RecursionError):  # not JSON: the spec reader says what is wrong with it
        return False
    return isinstance(document, dict) and "class_name" in document and "config" in document


#: what each path was last read as, ``"keras"`` or ``"spec"``: the CLI notes which convention
#: matches Keras for a Keras config, after ``convcost.loading`` has read it (once)
READ_AS: dict[str, str] = {}


def load_model_file(name: str) -> Model:
    """The model in the file ``name`` (``READ_AS[name]`` says whether it was a Keras config)."""
    model, keras = _read(name)
    READ_AS[name] = "keras" if keras else "spec"
    return model


def _read(name: str) -> tuple[Model, bool]:
    path = Path(name)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("toml", "json"):
        raise SpecFileError(f"{path}: a spec file must end in .toml or .json")
    limit = max(specfile.MAX_BYTES, KERAS_MAX_BYTES) if fmt == "json" else specfile.MAX_BYTES
    data = specfile.read_limited(path, limit, stated=specfile.MAX_BYTES)
    text = specfile.decode(path, data)
    if fmt == "json" and _is_keras_config(text):
        from convcost.interop.keras import from_keras_json  # plain JSON: imports no framework

        return from_keras_json(text, source=str(path)), True
    if len(data) > specfile.MAX_BYTES:
        raise specfile.too_big(path, len(data), specfile.MAX_BYTES)
    return specfile.loads(text, fmt, str(path)), False
