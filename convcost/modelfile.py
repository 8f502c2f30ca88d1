"""A model file given on the command line: a spec file (TOML/JSON) or a Keras ``to_json()`` config
(or tfjs ``model.json``).

The file is opened and read once, to a bounded size: a FIFO holding a valid spec is read like any
file (it used to be opened twice, and the second open waited for a writer that had gone), and a
name pointing at /dev/zero stops at the limit. A ``.json`` file whose top level has ``class_name``
and ``config`` is a Keras config (up to 64 MiB: real ones are large); anything else is a spec file
(up to ``specfile.MAX_BYTES``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from convcost import specfile
from convcost.errors import SpecError, SpecFileError
from convcost.model import Model

#: Keras configs of real networks run to megabytes; larger than this is refused unread
KERAS_MAX_BYTES = 64 * 1024 * 1024


def _keras_document(text: str) -> object:
    """The parsed JSON when ``text`` is what Keras writes (``class_name`` + ``config``, or tfjs'
    ``modelTopology``), else None (a spec file, or not JSON: the spec reader says what is wrong)."""
    import json

    from convcost.digits import parse_limited
    from convcost.interop import keras_files

    try:  # plain json here: a repeated key is then refused by the Keras reader, which names it
        with parse_limited():
            document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return document if keras_files.is_keras_document(document) else None


#: what each path was last read as, ``"keras"`` or ``"spec"``: the CLI notes which convention
#: matches Keras for a Keras config, after ``convcost.loading`` has read it (once)
READ_AS: dict[str, str] = {}


def load_model_file(name: str, **sizes: Any) -> Model:
    """The model in the file ``name`` (``READ_AS[name]`` says whether it was a Keras config);
    ``sizes`` (``input_size``, ``resolution``) fill what a Keras config leaves as None."""
    model, keras = _read(name, sizes)
    READ_AS[name] = "keras" if keras else "spec"
    return model


#: the MODEL that reads standard input, and the name its errors give
STDIN = "-"
STDIN_NAME = "<stdin>"


def _read(name: str, sizes: dict[str, Any]) -> tuple[Model, bool]:
    path = Path(STDIN_NAME if name == STDIN else name)
    if name == STDIN:
        data = _read_stdin(KERAS_MAX_BYTES)
        text = specfile.decode(path, data)
        fmt = "json" if text.lstrip().startswith("{") else "toml"  # a TOML document never starts with {
    else:
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in ("toml", "json"):
            raise SpecFileError(f"{path}: a spec file must end in .toml or .json")
        limit = max(specfile.MAX_BYTES, KERAS_MAX_BYTES) if fmt == "json" else specfile.MAX_BYTES
        data = specfile.read_limited(path, limit, stated=specfile.MAX_BYTES)
        text = specfile.decode(path, data)
    if fmt == "json" and _keras_document(text) is not None:
        from convcost.interop.keras_reader import from_keras_json  # plain JSON: imports no framework

        return from_keras_json(text, source=str(path), **sizes), True
    if sizes:
        flag = "--input-size" if "input_size" in sizes else "--resolution"
        where = "Keras files that leave a size open" if "input_size" in sizes else "zoo models and Keras files"
        raise SpecError(f"{flag} applies to {where}; {path} is a spec file (edit it instead)")
    if len(data) > specfile.MAX_BYTES:
        raise specfile.too_big(path, len(data), specfile.MAX_BYTES)
    return specfile.loads(text, fmt, str(path)), False


#: the standard input stream already read (a second ``-`` in one command would find it empty)
_STDIN_READ: list[object] = []


def _read_stdin(limit: int) -> bytes:
    """Standard input, read once to at most ``limit`` bytes (a second ``-`` finds it used up)."""
    import sys

    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise SpecFileError(f"{STDIN_NAME}: no standard input to read")
    if sys.stdin.isatty():  # a person would wait, typing, for a read that never says it is waiting
        raise SpecError("- reads a spec file from standard input, which is a terminal: pipe or redirect one in")
    if any(stream is used for used in _STDIN_READ):
        raise SpecError("- (standard input) can be read only once: give the other model as a file")
    _STDIN_READ[:] = [stream]  # held, so its id is not reused by another stream
    data: bytes = stream.read(limit + 1)
    if len(data) > limit:
        raise specfile.too_big(Path(STDIN_NAME), None, limit)
    return data
