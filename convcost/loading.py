"""One way in: the model behind a zoo name or a file, for the CLI and ``convcost.load``.

``load(target)`` takes a zoo name (``mobilenet_v1``) or a path; a path is read by the reader its
suffix names in ``READERS`` (spec files, Keras JSON and ``.keras`` archives, ONNX; each reader adds
its own entry, and names in ``OPTIONS`` the options it takes, such as the sizes a Keras file leaves
as None). Nothing a file holds is ever imported, evaluated or unpickled.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from convcost.errors import GeometryError, SpecError, SpecFileError
from convcost.model import Model

#: how a file is read, by its lower-case suffix: ``reader(path, **options) -> Model``
READERS: dict[str, Callable[..., Model]] = {}
#: the options (``load``'s keyword arguments) each suffix's reader takes, beyond the path
OPTIONS: dict[str, tuple[str, ...]] = {}


def reads(*suffixes: str, options: tuple[str, ...] = ()) -> Callable[[Callable[..., Model]], Callable[..., Model]]:
    """Register the decorated function as the reader of files with these suffixes; it is called
    with the path and those of ``options`` the user gave."""

    def register(function: Callable[..., Model]) -> Callable[..., Model]:
        for suffix in suffixes:
            READERS[suffix] = function
            OPTIONS[suffix] = options
        return function

    return register


#: what a Keras file may leave as None, filled from the command line (``--input-size``, ``--resolution``)
KERAS_SIZES = ("input_size", "resolution")


@reads(".toml", ".json", options=KERAS_SIZES)
def _spec_file_or_keras_config(path: str, **sizes: Any) -> Model:
    """A spec file, or (a .json whose top level says ``class_name`` and ``config``) a Keras
    ``to_json()`` config: opened once, read to a bounded size (convcost.modelfile)."""
    from convcost.modelfile import load_model_file  # plain JSON: imports no framework

    return load_model_file(path, **sizes)


@reads(".keras", options=KERAS_SIZES)
def _keras_archive(path: str, **sizes: Any) -> Model:
    """A ``.keras`` archive: its config.json, read without Keras (the weights are never opened)."""
    from convcost.interop.keras_reader import keras_archive_file

    return keras_archive_file(path, **sizes)


def _flags(options: dict[str, Any]) -> str:
    return ", ".join(f"--{name.replace('_', '-')}" for name in options)


@reads(".onnx")
def _onnx_file(path: str) -> Model:
    """An ONNX file, read without the onnx package and without its weights (a dynamic batch as 1:
    ``load`` then gives the model the batch asked for)."""
    from convcost.interop.onnx import from_onnx

    return from_onnx(path)


def from_onnx(path: str, *, batch: int | None = None, strict: bool = True, name: str | None = None) -> Model:
    """The network in the ONNX file at ``path`` (``convcost.interop.onnx.from_onnx``): ``batch`` where
    the file leaves it symbolic, ``strict=False`` to keep operators convcost cannot map as Unknown."""
    from convcost.interop.onnx import from_onnx as read

    return read(path, batch=batch, strict=strict, name=name)


def is_path(target: str) -> bool:
    """Whether ``target`` names a file rather than a zoo model."""
    return os.path.sep in target or Path(target).suffix.lower() in READERS


def _shaped(model: Model, source: str) -> Model:
    """``model``, its shapes worked out: a layer that does not fit its input names the file, as
    every other file error does."""
    try:
        model.shaped  # noqa: B018 (works the shapes out)
    except GeometryError as e:
        raise e if str(e).startswith(source) else GeometryError(f"{source}: {e}", e.node) from None
    return model


def load(target: str, *, batch: int | None = None, **arguments: Any) -> Model:
    """The model ``target`` names: a zoo model built with ``arguments`` (alpha, resolution, classes),
    or the network in a file (a Keras file also takes ``input_size`` and ``resolution``, for sizes
    it leaves as None). ``batch``, when given, replaces the model's own."""
    given = {name: value for name, value in arguments.items() if value is not None}
    if target == "-":  # a spec file (or Keras config) on standard input, TOML or JSON by its first character
        zoo_only = {name: value for name, value in given.items() if name not in KERAS_SIZES}
        if zoo_only:
            raise SpecError(f"{_flags(zoo_only)} apply to zoo models; - reads a file from standard input")
        from convcost.modelfile import load_model_file

        model = _shaped(load_model_file(target, **given), "<stdin>")
    elif is_path(target):
        suffix = Path(target).suffix.lower()
        refused = {name: value for name, value in given.items() if name not in OPTIONS.get(suffix, ())}
        zoo_only = {name: value for name, value in refused.items() if name != "input_size"}
        if zoo_only:
            raise SpecError(f"{_flags(zoo_only)} apply to zoo models; {target} is a file (edit the file instead)")
        if refused:
            raise SpecError(f"--input-size applies to Keras files that leave a size open; {target} is not one")
        if suffix not in READERS:
            *most, last = sorted(READERS)
            raise SpecFileError(f"{target}: a model file must end in {', '.join(most)} or {last}")
        model = _shaped(READERS[suffix](target, **given), target)
    else:
        from convcost.zoo import build

        if "input_size" in given:
            raise SpecError(f"--input-size applies to model files that leave a size open; {target} takes --resolution")
        model = build(target, **given)
    return model if batch is None else model.with_batch(batch)
