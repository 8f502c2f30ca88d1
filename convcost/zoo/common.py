"""Argument checks shared by the zoo builders: one line naming the model and the argument."""

from __future__ import annotations

import math

from convcost.errors import SpecError


def positive_int(model: str, field: str, value: object) -> int:
    """``value`` if it is an int >= 1, else a ``SpecError`` naming ``model`` and ``field``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"{model}: {field} must be a positive integer, got {value!r}")
    return value


def positive_number(model: str, field: str, value: object) -> float:
    """``value`` if it is a finite number > 0 (width multipliers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise SpecError(f"{model}: {field} must be a number > 0, got {value!r}")
    return float(value)


def positive_ints(model: str, field: str, values: object) -> tuple[int, ...]:
    """A non-empty sequence of positive ints (stage depths such as ResNet18's ``[2, 2, 2, 2]``)."""
    if not isinstance(values, (tuple, list)) or not values:
        raise SpecError(f"{model}: {field} must be a non-empty list of positive integers, got {values!r}")
    return tuple(positive_int(model, field, v) for v in values)


def boolean(model: str, field: str, value: object) -> bool:
    """``value`` if it is True or False (switches such as ``include_preprocessing``)."""
    if not isinstance(value, bool):
        raise SpecError(f"{model}: {field} must be true or false, got {value!r}")
    return value


class KerasNames:
    """The names Keras gives layers created without one, in a fresh session: the first ``ReLU()`` is
    ``re_lu``, the next ``re_lu_1``, one counter per prefix (``keras.backend.clear_session()`` resets
    them). Call it in the order the source creates its layers."""

    def __init__(self) -> None:
        self._used: dict[str, int] = {}

    def __call__(self, prefix: str) -> str:
        n = self._used.get(prefix, 0)
        self._used[prefix] = n + 1
        return prefix if n == 0 else f"{prefix}_{n}"


def scaled(channels: int, alpha: float) -> float | int:
    """``channels * alpha`` as keras.applications computes it (a float), or, where that float would
    overflow (alpha near 1e308), the exact product: such an alpha is a whole number."""
    product = channels * alpha
    return product if math.isfinite(product) else channels * int(alpha)
