"""Python's limit on converting between int and decimal text, lifted to print and kept to parse.

Since 3.11, ``str(n)`` refuses an int of more than 4,300 digits (``sys.set_int_max_str_digits``),
because the conversion is quadratic: a file holding a ten-million-digit literal would take hours
to read. convcost keeps that limit when it *parses* a file (a longer literal is a clean error), and
lifts it when it *prints* a count: counts are products of a few inputs, so one that passes the
limit is tens of thousands of digits at most, and "exact at any size" means printing every one.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from fractions import Fraction
from functools import wraps
from typing import ParamSpec, TypeVar

#: the limit a parser keeps (Python's default)
PARSE_LIMIT: int = sys.int_info.default_max_str_digits

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def _limit(digits: int) -> Iterator[None]:
    previous = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(digits)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(previous)


def unlimited() -> AbstractContextManager[None]:
    """Inside this, ints of any length convert to text (printing results)."""
    return _limit(0)


def parse_limited() -> AbstractContextManager[None]:
    """Inside this, text longer than ``PARSE_LIMIT`` digits does not convert to an int (reading files)."""
    return _limit(PARSE_LIMIT)


def printing_any_int(function: Callable[P, R]) -> Callable[P, R]:
    """Decorate a renderer: the text it builds may hold ints of any length."""

    @wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with unlimited():
            return function(*args, **kwargs)

    return wrapper


def float_or_none(value: Fraction) -> float | None:
    """An exact ratio as the convenience float JSON carries beside it, or None past the float range
    (10**308): the exact value is always there too, as a string."""
    try:
        return float(value)
    except OverflowError:
        return None
