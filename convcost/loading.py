"""One way in: the model behind a zoo name or a file, for the CLI and ``convcost.load``.

``load(target)`` takes a zoo name (``mobilenet_v1``) or a path; a path is read by the reader its
suffix names in ``READERS`` (spec files and Keras JSON today; each reader adds its own entry).
Nothing a file holds is ever imported, evaluated or unpickled.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from convcost.errors import GeometryError, SpecError, SpecFileError
from convcost.model import Model

#: how a file is read, by its lower-case suffix: ``reader(path) -> Model``
READERS: dict[str, Callable[[str], Model]] = {}


def reads(*suffixes: str) -> Callable[[Callable[[str], Model]], Callable[[str], Model]]:
    """Register the decorated function as the reader of files with these suffixes."""

    def register(function: Callable[[str], Model]) -> Callable[[str], Model]:
        for suffix in suffixes:
            READERS[suffix] = function
        return function

    return register


@reads(".toml", ".json")
def _spec_file_or_keras_config(path: str) -> Model:
    """A spec file, or (a .json whose top level says ``class_name`` and ``config``) a Keras
    ``to_json()`` config: opened once, read to a bounded size (convcost.modelfile)."""
    from convcost.modelfile import load_model_file  # plain JSON: imports no framework

    return load_model_file(path)


def is_path(target: str) -> bool:
    """Whether ``target`` names a file rather than a zoo model."""
    return os.path.sep in target or Path(target).suffix.lower() in READERS


def load(target: str, *, batch: int | None = None, **arguments: Any) -> Model:
    """The model ``target`` names: a zoo model built with ``arguments`` (alpha, resolution, classes),
    or the network in a file. ``batch``, when given, replaces the model's own."""
    if is_path(target):
        given = {name: value for name, value in arguments.items() if value is not None}
        if given:
            flags = ", ".join(f"--{name}" for name in given)
            raise SpecError(f"{flags} apply to zoo models; {target} is a file (edit the file instead)")
        suffix = Path(target).suffix.lower()
        if suffix not in READERS:
            *most, last = sorted(READERS)
            raise SpecFileError(f"{target}: a model file must end in {', '.join(most)} or {last}")
        model = READERS[suffix](target)
        try:  # a layer that does not fit its input: say which file, as every other file error does
            model.shaped  # noqa: B018 (works the shapes out)
        except GeometryError as e:
            raise e if str(e).startswith(target) else GeometryError(f"{target}: {e}", e.node) from None
    else:
        from convcost.zoo import build

        model = build(target, **{name: value for name, value in arguments.items() if value is not None})
    return model if batch is None else model.with_batch(batch)
