"""The number formats every renderer shares, held against Decimal arithmetic written in the test.

``human`` and ``human_bytes`` used to divide as floats: 999,950 printed as ``1000.0k`` (the float
rounding happened after the unit was chosen), 1,048,575 bytes as ``1024.0 KiB``, and a count past
10**308 was an OverflowError. The expected strings here come from ``decimal.Decimal`` with
ROUND_HALF_UP, choosing the unit the way a reader would: the first one in which the value, rounded
to one decimal, is below the base (1000.0, or 1024.0 for bytes).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convcost.render.text import decimal, human, human_bytes


def _one_decimal(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _scientific(n: int) -> str:
    with localcontext() as context:
        context.prec = len(str(n)) + 10
        context.rounding = ROUND_HALF_UP
        mantissa, exponent = f"{Decimal(n):.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def expected_scaled(n: int, base: int, units: list[str], plain: str) -> str:
    magnitude = abs(n)
    sign = "-" if n < 0 else ""
    if magnitude < base:
        return f"{n}{plain}"
    with localcontext() as context:
        context.prec = len(str(magnitude)) + 10
        for power, unit in enumerate(units, start=1):
            shown = _one_decimal(Decimal(magnitude) / Decimal(base) ** power)
            if shown < base:
                return f"{sign}{shown}{unit}"
    return f"{sign}{_scientific(magnitude)}{plain}"


@pytest.mark.parametrize(
    "n, text",
    [
        (0, "0"),
        (999, "999"),
        (1000, "1.0k"),
        (1049, "1.0k"),
        (1050, "1.1k"),  # halves round up
        (999_949, "999.9k"),
        (999_950, "1.0M"),  # was 1000.0k
        (569_000_000, "569.0M"),
        (999_950_000_000_000, "1.0e15"),  # past the last unit (T): scientific
        (-12_345, "-12.3k"),
        (10**400, "1.0e400"),  # was an OverflowError
        (996 * 10**397, "1.0e400"),  # 9.96e399 rounds up to the next power of ten
    ],
)
def test_human(n: int, text: str) -> None:
    assert human(n) == text == expected_scaled(n, 1000, ["k", "M", "G", "T"], "")


@pytest.mark.parametrize(
    "n, text",
    [
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1_048_524, "1023.9 KiB"),
        (1_048_525, "1.0 MiB"),  # 1023.95 KiB rounds to 1024.0: the next unit
        (1_048_575, "1.0 MiB"),  # was 1024.0 KiB
        (1_605_632 * 4, "6.1 MiB"),
        (2**70, "1.2e21 B"),
        (10**400, "1.0e400 B"),
    ],
)
def test_human_bytes(n: int, text: str) -> None:
    units = [" KiB", " MiB", " GiB", " TiB", " PiB", " EiB"]
    assert human_bytes(n) == text == expected_scaled(n, 1024, units, " B")


@given(st.one_of(st.integers(-(10**40), 10**40), st.integers(0, 10**700)))
def test_human_agrees_with_decimal_arithmetic(n: int) -> None:
    assert human(n) == expected_scaled(n, 1000, ["k", "M", "G", "T"], "")


@given(st.one_of(st.integers(0, 2**100), st.integers(0, 10**700)))
def test_human_bytes_agrees_with_decimal_arithmetic(n: int) -> None:
    assert human_bytes(n) == expected_scaled(n, 1024, [" KiB", " MiB", " GiB", " TiB", " PiB", " EiB"], " B")


@given(st.integers(-(10**30), 10**30), st.integers(1, 10**30), st.integers(0, 6))
def test_decimal_of_a_fraction_is_exact(numerator: int, denominator: int, places: int) -> None:
    value = Fraction(numerator, denominator)
    text = decimal(value, places)
    if abs(value) >= 10**15:
        return  # scientific: checked below
    with localcontext() as context:
        context.prec = 80
        quantum = Decimal(1).scaleb(-places)
        magnitude = (Decimal(abs(numerator)) / Decimal(denominator)).quantize(quantum, rounding=ROUND_HALF_UP)
    assert text == ("-" if value < 0 else "") + f"{magnitude:f}"


def test_decimal_past_the_float_range() -> None:
    assert decimal(Fraction(10**400, 3), 3) == "3.333e399"
    assert decimal(Fraction(2, 3) * 10**20, 1) == "6.7e19"
    assert decimal(1_354_752, 1, commas=True) == "1,354,752.0"
    assert decimal(Fraction(521, 4608), 4) == "0.1131"
