"""``convcost.summary``: one call for whatever network a user holds, as ``torchinfo.summary`` is.

It takes a torch module, a Keras model (or its ``get_config()`` dict), a convcost ``Model`` or a
path (spec file, Keras JSON, ``.keras``, ``.onnx``), reads it with the reader that kind of model
needs, costs it under a convention and returns the ``Report``: ``print()`` shows the table
``convcost table`` prints, a notebook shows it as HTML, ``repr`` is one line. Frameworks are only
imported by the readers, and only for the framework the model already comes from.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from convcost.conventions import Convention
from convcost.errors import SpecError
from convcost.memory import DTYPE_BYTES
from convcost.model import Model
from convcost.report import Report, analyze


def summary(
    model: Any,
    input_size: Sequence[int] | None = None,
    *,
    convention: str | Convention = "paper",
    batch: int | None = None,
    depth: int | None = None,
    dtype: str = "float32",
    strict: bool = True,
) -> Report:
    """The cost of ``model``, layer by layer, under ``convention``.

    ``input_size`` is the shape of the input as torchinfo takes it: ``(N, C, H, W)`` (or ``(C, H, W)``
    with ``batch``) for a torch module, which is run once on shape-only tensors to read it; for a
    Keras model or file it fills sizes the model leaves as None. ``batch`` replaces the model's own;
    ``depth`` folds rows deeper than that many path components (torchinfo's ``depth``); ``dtype``
    sizes the memory line; ``strict=False`` keeps operations convcost cannot map as zero-cost
    ``unknown`` rows (the totals are then lower bounds, and say so) instead of refusing the model.
    """
    if dtype not in DTYPE_BYTES:
        raise SpecError(f"dtype {dtype!r} is not one of {', '.join(DTYPE_BYTES)}")
    report = analyze(read(model, input_size, batch=batch, strict=strict), convention)
    if depth is not None:
        from convcost.render.depth import collapse

        report = collapse(report, depth)
    return replace(report, dtype=dtype)


def read(model: Any, input_size: Sequence[int] | None, *, batch: int | None, strict: bool) -> Model:
    """The convcost ``Model`` behind ``model``, whichever of ``summary``'s kinds it is."""
    if isinstance(model, Model):
        if input_size is not None:
            raise SpecError("input_size applies to torch modules and Keras models; a convcost Model has its input")
        return model if batch is None else model.with_batch(batch)
    if isinstance(model, (str, os.PathLike)):
        from pathlib import Path

        from convcost import loading

        target = os.fspath(model)
        size = None if input_size is None else tuple(input_size)
        # strict=False matters only where a reader can meet what it cannot map (ONNX, torch factories)
        mappable = loading.is_factory(target) or "allow_unknown" in loading.OPTIONS.get(Path(target).suffix.lower(), ())
        return loading.load(target, batch=batch, input_size=size, allow_unknown=not strict and mappable)
    # first: a Keras 3 model on the torch backend is an nn.Module too
    if is_keras_model(model) or isinstance(model, Mapping):
        from convcost.interop.keras_reader import from_keras

        return from_keras(model, batch=batch, input_size=None if input_size is None else tuple(input_size))
    if is_torch_module(model):
        if input_size is None:
            raise SpecError("a torch module needs input_size, e.g. summary(net, input_size=(1, 3, 224, 224))")
        from convcost.interop.torch import from_torch

        return from_torch(model, tuple(input_size), batch=batch, strict=strict)
    raise SpecError(
        "summary takes a torch module, a Keras model, a convcost Model or a path to a model file, "
        f"got {type(model).__name__}"
    )


def _classes(obj: object) -> list[tuple[str, str]]:
    return [(cls.__module__, cls.__qualname__) for cls in type(obj).__mro__]


def is_torch_module(obj: object) -> bool:
    """``obj`` is an ``nn.Module`` (a user's subclass too), found without importing torch."""
    return ("torch.nn.modules.module", "Module") in _classes(obj)


def is_keras_model(obj: object) -> bool:
    """``obj`` is a Keras (3, or TF-Keras 2) model: it derives from a ``Model`` class of a keras package."""
    return any(
        name == "Model" and module.split(".")[0] in ("keras", "tf_keras", "tensorflow")
        for module, name in _classes(obj)
    )


__all__ = ["is_keras_model", "is_torch_module", "read", "summary"]
