"""Framework adapters: build a torch / keras model from a spec and read one back.

Nothing here imports a framework at import time: each adapter imports torch or keras inside the
function that needs it, so ``import convcost`` stays light. Keras JSON configs are read without
keras (``convcost.interop.keras.from_keras_json``).
"""

from __future__ import annotations

from typing import Any

from convcost.errors import MissingDependencyError


def require(module: str, extra: str) -> Any:
    """Import an optional framework, or fail with the pip command that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(
            f"{module} is not installed: pip install 'convcost[{extra}]' (or pip install {module})"
        ) from None
