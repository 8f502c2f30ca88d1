"""One way in: the model behind a zoo name, a file or a torch factory, for the CLI and ``convcost.load``.

``load(target)`` takes a zoo name (``mobilenet_v1``), a path, or ``package.module:factory``. A path
is read by the reader its suffix names in ``READERS`` (spec files and Keras JSON today; each reader
adds its own entry); nothing a file holds is ever imported, evaluated or unpickled. The factory form
is the one thing that runs code, because the user named it: ``package.module`` is imported (from
the current directory too), ``factory()`` is called, and the torch module it returns is read by
``from_torch`` at ``input_size``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Sequence
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


@reads(".toml")
def _spec_file(path: str) -> Model:
    from convcost.specfile import load

    return load(path)


@reads(".json")
def _json_file(path: str) -> Model:
    """A Keras ``to_json()`` config (it says ``class_name`` and ``config``), else a spec file."""
    from convcost.interop.keras import keras_json_file  # plain JSON: imports no framework
    from convcost.specfile import load

    return keras_json_file(path) or load(path)


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


def is_path(target: str) -> bool:
    """Whether ``target`` names a file rather than a zoo model."""
    return os.path.sep in target or Path(target).suffix.lower() in READERS


def load(
    target: str,
    *,
    batch: int | None = None,
    input_size: Sequence[int] | None = None,
    allow_unknown: bool = False,
    **arguments: Any,
) -> Model:
    """The model ``target`` names: a zoo model built with ``arguments`` (alpha, resolution, classes),
    the network in a file, or the torch module a ``package.module:factory`` returns (read at
    ``input_size``, torchinfo's: ``(N, C, H, W)``, or ``(C, H, W)`` when ``batch`` is given;
    ``allow_unknown`` costs what convcost cannot map at zero). ``batch``, when given, replaces the
    model's own."""
    given = {name: value for name, value in arguments.items() if value is not None}
    if is_factory(target):
        if given:
            flags = ", ".join(f"--{name}" for name in given)
            raise SpecError(f"{flags} apply to zoo models; {target} is a torch module (change its factory instead)")
        return torch_factory(target, input_size, batch=batch, strict=not allow_unknown)
    if input_size is not None:
        raise SpecError(f"--input-size applies to a torch module (package.module:factory), not to {target}")
    if is_path(target):
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
