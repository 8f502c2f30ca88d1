"""The forms a Keras model config comes in, each turned into one JSON document, without Keras.

* ``model.to_json()`` text (Keras 3, TF-Keras 2, Keras 2), and a tfjs-layers ``model.json``
  (the same config under ``modelTopology``, beside a manifest of the weight files);
* a ``model.get_config()`` dict (no ``class_name`` wrapper; tuples where JSON has lists; numbers
  may be NumPy scalars);
* a ``.keras`` archive: a zip holding ``config.json`` (what ``to_json()`` writes, plus
  ``shared_object_id`` keys), ``metadata.json`` and the weights, ``model.weights.h5``. Only
  ``config.json`` is read, and at most ``MAX_CONFIG_BYTES`` of it: the weights are never opened,
  and a member that claims or turns out to be larger (a zip bomb) is refused before it is held.

Every function returns the top-level document ``{"class_name": ..., "config": ...}`` or raises a
``SpecError`` naming the source. Nothing read is imported, executed or unpickled.
"""

from __future__ import annotations

import json
import os
import stat
import struct
from collections.abc import Mapping
from typing import Any

from convcost.errors import SpecError

#: the most of a config (a JSON file, or an archive's config.json) read: keras.applications' largest is 1.5 MB
MAX_CONFIG_BYTES = 64 * 1024 * 1024
#: an archive's central directory larger than this is not a Keras archive (a real one lists three members)
MAX_DIRECTORY_BYTES = 1024 * 1024

#: JSON's names for what json.loads returns, for messages about a file
JSON_TYPES = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean"}
JSON_TYPES[type(None)] = "null"


def parse_json(text: str, source: str) -> Any:
    """The JSON document in ``text``: duplicate keys, over-long integers and lone surrogates refused
    (convcost.jsonparse), with the line and column."""
    from convcost import jsonparse

    try:
        return jsonparse.loads(text)
    except json.JSONDecodeError as e:
        raise SpecError(f"{source}: not JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
    except RecursionError:
        raise SpecError(f"{source}: nested too deeply") from None


def is_keras_document(document: object) -> bool:
    """What Keras writes (``class_name`` + ``config``), or tfjs-layers (``modelTopology``): a spec file has neither."""
    if not isinstance(document, dict):
        return False
    return ("class_name" in document and "config" in document) or "modelTopology" in document


def unwrap(document: object, source: str) -> dict[str, Any]:
    """The model document: the tfjs wrapper removed, checked to be ``{"class_name", "config"}``."""
    if isinstance(document, dict) and "modelTopology" in document and "config" not in document:
        document = document["modelTopology"]
        if isinstance(document, dict) and "model_config" in document:  # tfjs of a Keras .h5 conversion
            document = document["model_config"]
    if not isinstance(document, dict) or "config" not in document:
        raise SpecError(f"{source}: expected a Keras model config with 'class_name' and 'config'")
    config = document["config"]
    # Keras <= 2.1 wrote a Sequential's config as the bare list of its layers
    bare_layers = isinstance(config, list) and bool(config) and all(isinstance(item, dict) for item in config)
    if not isinstance(config, dict) and not bare_layers:
        got = JSON_TYPES.get(type(document["config"]), "something else")
        raise SpecError(f"{source}: a Keras model config's 'config' must be an object, got {got}")
    return document


def from_config_dict(config: Mapping[str, Any], source: str) -> dict[str, Any]:
    """A ``get_config()`` dict (or a to_json() document already parsed) as a JSON document.

    The dict goes through JSON once: tuples become lists, NumPy numbers and arrays their Python
    values (``tolist``), and anything else that is not plain data is refused by name.
    """

    def plain(value: Any) -> Any:
        if callable(getattr(value, "tolist", None)):  # a NumPy scalar or array: Keras keeps some
            return value.tolist()
        raise TypeError(f"a {type(value).__name__}, which is not plain data")

    try:
        text = json.dumps(config, default=plain)
    except (TypeError, ValueError) as e:  # ValueError: the dict contains itself
        raise SpecError(f"{source}: the config holds {e}" if "plain data" in str(e) else f"{source}: {e}") from None
    except RecursionError:
        raise SpecError(f"{source}: nested too deeply") from None
    document = parse_json(text, source)
    if is_keras_document(document):
        return unwrap(document, source)
    if isinstance(document, dict) and "layers" in document:
        # get_config() has no wrapper: a Functional config lists its inputs and outputs, a Sequential's does not
        kind = "Functional" if "input_layers" in document or "output_layers" in document else "Sequential"
        return {"class_name": kind, "config": document}
    raise SpecError(f"{source}: not a Keras model config (expected get_config() or to_json() of a model)")


def read_archive(path: str) -> str:
    """The text of ``config.json`` in the ``.keras`` archive at ``path``, read with bounded memory."""
    import zipfile
    import zlib

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise SpecError(f"{path}: not a regular file (a .keras archive is a zip file)")
        with open(path, "rb") as f:
            _check_directory_size(f, path)
            with zipfile.ZipFile(f) as archive:
                try:
                    info = archive.getinfo("config.json")
                except KeyError:
                    raise SpecError(f"{path}: a zip file without config.json, not a .keras archive") from None
                if info.file_size > MAX_CONFIG_BYTES:
                    raise _too_large(path)
                with archive.open(info) as member:
                    data = member.read(MAX_CONFIG_BYTES + 1)  # a zip bomb stops here, whatever it claimed
                if len(data) > MAX_CONFIG_BYTES:
                    raise _too_large(path)
    except zipfile.BadZipFile as e:
        raise SpecError(f"{path}: not a .keras archive ({_zip_problem(e)})") from None
    except (RuntimeError, NotImplementedError, EOFError, zlib.error) as e:  # encrypted, an unknown method, cut short
        raise SpecError(f"{path}: config.json cannot be read from the archive ({e})") from None
    except OSError as e:
        raise SpecError(f"{path}: cannot read the file ({e.strerror or e})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError(f"{path}: config.json is not UTF-8 text (byte {e.start})") from None


def _too_large(path: str) -> SpecError:
    return SpecError(f"{path}: config.json is larger than {MAX_CONFIG_BYTES // (1024 * 1024)} MiB")


def _zip_problem(error: Exception) -> str:
    message = str(error)
    return "not a zip file" if message == "File is not a zip file" else message


def _check_directory_size(f: Any, path: str) -> None:
    """Refuse an archive whose central directory is too large to be a Keras archive's, before
    ``zipfile`` reads all of it into memory (a hostile file may list millions of members)."""
    size = f.seek(0, os.SEEK_END)
    tail_size = min(size, 22 + 65535)  # the end record, after a comment of at most 64 KiB
    f.seek(size - tail_size)
    tail = f.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return  # zipfile says what is wrong
    directory = struct.unpack("<I", tail[at + 12 : at + 16])[0]
    if directory == 0xFFFFFFFF and at >= 20 and tail[at - 20 : at - 16] == b"PK\x06\x07":
        # zip64: the real size is in the zip64 end record the locator points to
        offset = struct.unpack("<Q", tail[at - 12 : at - 4])[0]
        if offset + 56 <= size:
            f.seek(offset)
            record = f.read(56)
            if record[:4] == b"PK\x06\x06":
                directory = struct.unpack("<Q", record[40:48])[0]
    if directory > MAX_DIRECTORY_BYTES:
        raise SpecError(
            f"{path}: the archive lists {directory:,} bytes of members, more than a .keras archive holds "
            f"(at most {MAX_DIRECTORY_BYTES // 1024} KiB read)"
        )
    f.seek(0)


__all__ = ["MAX_CONFIG_BYTES", "from_config_dict", "is_keras_document", "parse_json", "read_archive", "unwrap"]
