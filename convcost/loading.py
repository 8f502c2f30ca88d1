"""One way in: the model behind a zoo name, a file or a torch factory, for the CLI and ``convcost.load``.

``load(target)`` takes a zoo name (``mobilenet_v1``), a path, or ``package.module:factory``. A path
is read by the reader its suffix names in ``READERS`` (spec files, Keras JSON and ``.keras``
archives, ONNX; each reader adds its own entry, and names in ``OPTIONS`` the options it takes, such
as the sizes a Keras file leaves as None); nothing a file holds is ever imported, evaluated or
unpickled. The factory form is the one thing that runs code, because the user named it:
``package.module`` is imported (from the current directory too), ``factory()`` is called, and the
torch module it returns is read by ``from_torch`` at ``input_size``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
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


@reads(".onnx", options=("allow_unknown",))
def _onnx_file(path: str, allow_unknown: bool = False) -> Model:
    """An ONNX file, read without the onnx package and without its weights (a dynamic batch as 1:
    ``load`` then gives the model the batch asked for)."""
    from convcost.interop.onnx import from_onnx

    return from_onnx(path, strict=not allow_unknown)


def from_keras(
    model: Any,
    *,
    batch: int | None = None,
    input_size: Sequence[int] | Mapping[str, Sequence[int]] | None = None,
    resolution: int | None = None,
) -> Model:
    """A Keras model: a live ``keras.Model`` (read through ``to_json()``: nothing runs, no weight is
    read) or its ``get_config()`` dict; sizes it leaves as None from ``input_size`` or ``resolution``
    (``convcost.interop.keras_reader.from_keras``, imported when called)."""
    from convcost.interop.keras_reader import from_keras as read

    return read(model, batch=batch, input_size=input_size, resolution=resolution)


def from_onnx(path: str, *, batch: int | None = None, strict: bool = True, name: str | None = None) -> Model:
    """The network in the ONNX file at ``path`` (``convcost.interop.onnx.from_onnx``): ``batch`` where
    the file leaves it symbolic, ``strict=False`` to keep operators convcost cannot map as Unknown."""
    from convcost.interop.onnx import from_onnx as read

    return read(path, batch=batch, strict=strict, name=name)


def from_torch(
    module: Any,
    input_size: Sequence[int],
    *,
    batch: int | None = None,
    name: str | None = None,
    strict: bool = True,
) -> Model:
    """Read a torch module by running its forward once on shape-only tensors (torch is imported here).

    ``input_size`` follows torchinfo: ``(N, C, H, W)``, or ``(C, H, W)`` with ``batch``. Nodes are
    named by module path and keep their module's class, so every tool convention counts them as
    that tool counts the module. The module is read in eval mode; its mode, parameters and buffers
    are as they were afterwards. Unsupported operations are refused all at once; ``strict=False``
    costs them at zero as ``Unknown`` nodes (reports then mark their totals as lower bounds).
    See ``convcost.interop.torch.from_torch``.
    """
    from convcost.interop.torch import from_torch as read

    return read(module, input_size, batch=batch, name=name, strict=strict)


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


#: ``package.module:factory``: a callable that returns a torch module
FACTORY = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")


def is_factory(target: str) -> bool:
    """Whether ``target`` names a callable to import (``package.module:factory``)."""
    return FACTORY.match(target) is not None


def torch_factory(
    target: str, input_size: Sequence[int] | None, *, batch: int | None = None, strict: bool = True
) -> Model:
    """The torch module ``package.module:factory()`` returns, read by ``from_torch`` at ``input_size``."""
    import importlib

    if input_size is None:
        raise SpecError(f"{target} is a torch module factory: give its input size, --input-size N,C,H,W")
    module_name, attribute = target.split(":")
    added = os.getcwd() not in sys.path
    if added:  # the user's own package, from where they run convcost
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise SpecError(f"{target}: cannot import {module_name}: {e}") from None
    finally:
        if added:
            sys.path.remove(os.getcwd())
    factory = getattr(module, attribute, None)
    if not callable(factory):
        raise SpecError(f"{target}: {module_name} has no callable {attribute!r}")
    try:
        built = factory()
    except Exception as e:
        raise SpecError(f"{target}: {attribute}() raised {type(e).__name__}: {e}") from None
    from convcost.interop.torch import from_torch

    if not (hasattr(built, "forward") and hasattr(built, "named_modules")):
        raise SpecError(f"{target}: {attribute}() returned a {type(built).__name__}, not a torch module")
    return from_torch(built, tuple(input_size), batch=batch, name=target, strict=strict)


def load(target: str, *, batch: int | None = None, allow_unknown: bool = False, **arguments: Any) -> Model:
    """The model ``target`` names: a zoo model built with ``arguments`` (alpha, resolution, classes),
    the network in a file (a Keras file also takes ``input_size`` and ``resolution``, for sizes it
    leaves as None), or the torch module a ``package.module:factory`` returns (read at
    ``input_size``, torchinfo's: ``(N, C, H, W)``, or ``(C, H, W)`` when ``batch`` is given).
    ``allow_unknown`` costs what convcost cannot map (torch, ONNX) at zero, listed. ``batch``, when
    given, replaces the model's own."""
    given = {name: value for name, value in arguments.items() if value is not None}
    if is_factory(target):
        input_size = given.pop("input_size", None)
        if given:
            raise SpecError(f"{_flags(given)} apply to zoo models; {target} is a torch module (change its factory)")
        return torch_factory(target, input_size, batch=batch, strict=not allow_unknown)
    if allow_unknown:
        given["allow_unknown"] = True
    if target == "-":  # a spec file (or Keras config) on standard input, TOML or JSON by its first character
        if given.pop("allow_unknown", False):
            raise SpecError(
                "--allow-unknown applies to torch modules and ONNX files; - reads a spec file or Keras config"
            )
        zoo_only = {name: value for name, value in given.items() if name not in KERAS_SIZES}
        if zoo_only:
            raise SpecError(f"{_flags(zoo_only)} apply to zoo models; - reads a file from standard input")
        from convcost.modelfile import load_model_file

        model = _shaped(load_model_file(target, **given), "<stdin>")
    elif is_path(target):
        suffix = Path(target).suffix.lower()
        refused = {name: value for name, value in given.items() if name not in OPTIONS.get(suffix, ())}
        zoo_only = {name: value for name, value in refused.items() if name not in ("input_size", "allow_unknown")}
        if zoo_only:
            raise SpecError(f"{_flags(zoo_only)} apply to zoo models; {target} is a file (edit the file instead)")
        if "input_size" in refused:
            raise SpecError(f"--input-size applies to Keras files that leave a size open; {target} is not one")
        if refused:
            raise SpecError(f"--allow-unknown applies to torch modules and ONNX files; {target} is not one")
        if suffix not in READERS:
            *most, last = sorted(READERS)
            raise SpecFileError(f"{target}: a model file must end in {', '.join(most)} or {last}")
        model = _shaped(READERS[suffix](target, **given), target)
    else:
        from convcost.zoo import build

        if "input_size" in given:
            raise SpecError(
                f"--input-size applies to model files that leave a size open and to torch factories; "
                f"{target} takes --resolution"
            )
        if "allow_unknown" in given:
            raise SpecError(f"--allow-unknown applies to torch modules and ONNX files; {target} is a zoo model")
        model = build(target, **given)
    return model if batch is None else model.with_batch(batch)
