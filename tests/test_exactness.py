"""Exact at any size: resolution 10^6, 10^5 channels, batch 10^6 stay exact Python integers.

Every expected figure here is computed independently, in the test, from first principles:

* output sizes by counting window positions with ``len(range(...))`` (exact for any int, and not
  the ceil/floor formulas convcost uses);
* work as (output values) x (multiplies per output value), parameters as weights + biases, written
  out per layer from the MobileNet paper's Table 1 (not from convcost's zoo tables);
* ratios as ``fractions.Fraction``.

The totals reach ~10^29, far past 2^53, so a float anywhere on the path would change the last
digits: ``test_the_figures_are_beyond_float`` proves the comparison would notice.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import sys
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from typing import Any

import pytest

from convcost.cli import main
from convcost.report import analyze
from convcost.spec import Conv2D, Dense, DepthwiseConv2D, Flatten, GlobalAvgPool2D, Model, SeparableConv2D, Sequential
from convcost.zoo import build

R = 10**6  # resolution
C = 10**5  # channels
B = 10**6  # batch

#: MobileNet v1, the paper's Table 1: (pointwise filters, depthwise stride) per separable block
TABLE_1 = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]


def same_out(size: int, stride: int) -> int:
    """'same' padding keeps every stride-th position of the input as a window centre (counted off
    the range's last position: ``len()`` of a range stops at 2**63)."""
    return range(0, size, stride)[-1] // stride + 1


def valid_out(size: int, kernel: int, stride: int) -> int:
    """'valid' padding: window starts from 0 while the whole window fits."""
    return len(range(0, size - kernel + 1, stride))


def mobilenet_v1_expected(resolution: int, classes: int = 1000) -> tuple[int, int]:
    """(params, mult-adds per image) of MobileNet v1 in the paper's convention (conv and FC only)."""
    size = same_out(resolution, 2)
    params = 3 * 3 * 3 * 32  # conv1 has no bias (BN follows)
    macs = (size * size) * (3 * 3 * 3) * 32
    channels = 32
    for filters, stride in TABLE_1:
        size = same_out(size, stride)
        params += 3 * 3 * channels + channels * filters
        macs += (size * size * channels) * (3 * 3) + (size * size * filters) * channels
        channels = filters
    params += channels * classes + classes
    macs += channels * classes
    return params, macs


def run(args: list[str]) -> Any:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    assert code == 0, err.getvalue()
    return out.getvalue()


def all_numbers(value: Any) -> list[tuple[str, Any]]:
    """Every (key, number) in parsed JSON."""
    found: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for key, child in value.items():
            if isinstance(child, (int, float)) and not isinstance(child, bool):
                found.append((key, child))
            else:
                found += all_numbers(child)
    elif isinstance(value, list):
        for child in value:
            found += all_numbers(child)
    return found


#: JSON keys that hold a count; shares and ratio values are the only floats allowed
COUNT_KEYS = {
    "params",
    "trainable",
    "non_trainable",
    "macs",
    "activations",
    "activation_bytes",
    "params_bytes",
    "peak_activations",
    "peak_bytes",
    "batch",
    "layers",
    "depthwise_macs",
    "pointwise_macs",
    "separable_macs",
    "standard_macs",
    "M",
    "N",
    "value",
    "resolution",
}


def assert_counts_are_ints(document: Any) -> None:
    for key, number in all_numbers(document):
        if key in COUNT_KEYS:
            assert type(number) is int, (key, number)


def test_mobilenet_at_resolution_a_million_and_batch_a_million() -> None:
    params, macs = mobilenet_v1_expected(R)
    report = analyze(build("mobilenet_v1", resolution=R).with_batch(B), "paper")
    assert report.totals.params == params
    assert report.totals.macs == macs * B
    assert type(report.totals.macs) is int

    document = json.loads(run(["table", "--resolution", str(R), "--batch", str(B), "--format", "json"]))
    assert document["totals"]["macs"] == macs * B
    assert document["totals"]["params"] == params
    assert_counts_are_ints(document)
    # the peak working set of a 10^6 batch is a count too: every layer's activations are exact
    for row in document["layers"]:
        assert row["activations"] == B * row["output"][0] * (row["output"][1] if len(row["output"]) > 1 else 1) * (
            row["output"][2] if len(row["output"]) > 2 else 1
        )


def test_mobilenet_separable_ratios_are_exact_fractions_at_any_size() -> None:
    report = analyze(build("mobilenet_v1", resolution=R), "paper")
    assert len(report.separable) == 13
    channels, size = 32, same_out(R, 2)
    total_separable = total_standard = 0
    for pair, (filters, stride) in zip(report.separable, TABLE_1, strict=True):
        size = same_out(size, stride)
        separable = size * size * channels * 9 + size * size * channels * filters
        standard = size * size * channels * filters * 9
        assert (pair.separable_macs, pair.standard_macs) == (separable, standard)
        assert pair.ratio == Fraction(separable, standard) == Fraction(1, filters) + Fraction(1, 9)
        total_separable, total_standard = total_separable + separable, total_standard + standard
        channels = filters
    assert report.separable_ratio == Fraction(total_separable, total_standard)
    document = json.loads(run(["table", "--resolution", str(R), "--format", "json"]))
    assert Fraction(document["separable_ratio"]) == Fraction(total_separable, total_standard)


def test_a_hundred_thousand_channels_on_a_million_pixel_map() -> None:
    """Every weighted layer type at C = 10^5 channels, R = 10^6 pixels, batch 10^6."""
    model = Model(
        "huge",
        (C, R, R),
        Sequential(
            (
                Conv2D(C, 3, padding="same", name="conv"),
                DepthwiseConv2D(3, stride=2, padding="valid", depth_multiplier=2, name="dw"),
                SeparableConv2D(C, 5, stride=3, padding="same", name="sep"),
                Conv2D(C, 1, groups=4, bias=False, name="grouped"),
                GlobalAvgPool2D(name="gap"),
                Dense(C, name="fc"),
            )
        ),
        batch=B,
    )
    s1 = same_out(R, 1)
    s2 = valid_out(s1, 3, 2)
    s3 = same_out(s2, 3)
    expected = {
        "conv": (3 * 3 * C * C + C, s1 * s1 * C * (3 * 3 * C)),
        "dw": (3 * 3 * 2 * C + 2 * C, s2 * s2 * 2 * C * (3 * 3)),
        "sep": (5 * 5 * 2 * C + 2 * C * C + C, s3 * s3 * 2 * C * 25 + s3 * s3 * C * 2 * C),
        "grouped": (C * C // 4, s3 * s3 * C * (C // 4)),
        "gap": (0, 0),
        "fc": (C * C + C, C * C),
    }
    report = analyze(model, "paper")
    assert {r.name: (r.params, r.macs) for r in report.rows} == {
        name: (params, macs * B) for name, (params, macs) in expected.items()
    }
    assert report.totals.macs == B * sum(macs for _, macs in expected.values())
    assert all(type(r.macs) is int and type(r.params) is int for r in report.rows)


def test_flatten_of_a_huge_map_into_dense() -> None:
    model = Model("flat", (C, R, R), Sequential((Flatten(name="flat"), Dense(10, name="fc"))), batch=B)
    report = analyze(model, "paper")
    features = C * R * R
    assert report.rows[0].output == (features,)
    assert report.totals.params == features * 10 + 10
    assert report.totals.macs == features * 10 * B


def test_the_figures_are_beyond_float() -> None:
    """A float anywhere on the path would round these: the exact comparisons above would fail."""
    _, macs = mobilenet_v1_expected(R)
    total = macs * B
    assert total > 2**53
    assert int(float(total)) != total
    assert int(float(total) * 1.0) != analyze(build("mobilenet_v1", resolution=R).with_batch(B)).totals.macs


@pytest.mark.parametrize("resolution", [R, 10**9 + 7])
def test_explain_sweep_and_compare_stay_exact(resolution: int) -> None:
    Df = same_out(resolution, 1)
    explained = json.loads(
        run(
            ["explain", "--kernel", "3", "--in", str(C), "--out", str(C), "--size", str(resolution), "--format", "json"]
        )
    )
    ratio = explained.pop("ratio")  # its 'value' is the one float: a display of the exact fraction
    assert Fraction(ratio["fraction"]) == Fraction(1, C) + Fraction(1, 9)
    assert_counts_are_ints(explained)
    values = {t["label"]: t["value"] for t in explained["terms"]}
    assert values["standard mult-adds"] == 3 * 3 * C * C * Df * Df
    assert values["depthwise mult-adds"] == 3 * 3 * C * Df * Df
    assert values["pointwise mult-adds"] == C * C * Df * Df

    params, macs = mobilenet_v1_expected(resolution)
    swept = json.loads(run(["sweep", "--resolution", str(resolution), "--alpha", "1", "--format", "json"]))
    assert_counts_are_ints(swept)
    assert [(p["macs"], p["params"]) for p in swept["points"]] == [(macs, params)]

    compared = json.loads(
        run(["compare", "mobilenet_v1", "mobilenet_v1", "--b-resolution", str(resolution), "--format", "json"])
    )
    assert_counts_are_ints(compared)
    assert compared["b"]["macs"] == macs
    assert compared["a"]["macs"] == mobilenet_v1_expected(224)[1]


def test_csv_and_markdown_print_exact_totals() -> None:
    """The text formats print the counts digit for digit (no scientific notation, no rounding)."""
    _, macs = mobilenet_v1_expected(R)
    text = run(["table", "--resolution", str(R), "--batch", str(B), "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sum(int(row["macs"]) for row in rows) == macs * B
    table = run(["table", "--resolution", str(R), "--batch", str(B)])
    assert f"{macs * B:,}" in table


# ---------------------------------------------------------------- past the float range and the digit limit


@contextlib.contextmanager
def any_int_digits() -> Any:
    """Let the test itself parse and print ints past Python's 4,300-digit limit."""
    previous = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(previous)


def decimal_scientific(n: int) -> str:
    """'1.2e400' by Decimal arithmetic, halves up, as the table's human column writes counts past 10**15."""
    with localcontext() as context, any_int_digits():
        context.prec, context.rounding = len(str(n)) + 10, ROUND_HALF_UP
        mantissa, exponent = f"{Decimal(n):.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def run_and_parse(args: list[str]) -> Any:
    with any_int_digits():
        return json.loads(run(args))


@pytest.mark.parametrize(
    "resolution, batch",
    [
        (10**160, 1),  # totals near 10**325: past every float
        (224, 10**320),  # a batch past the float range
        (10**2200, 1),  # totals of more than 4,400 digits: past Python's int-to-str limit
        (224, int("9" * 4300)),  # the longest --batch Python's int() parses, and totals of 4,309 digits
    ],
    ids=["resolution 1e160", "batch 1e320", "resolution 1e2200", "batch 4300 digits"],
)
def test_counts_past_the_float_range_and_the_digit_limit_print_in_every_format(resolution: int, batch: int) -> None:
    params, macs = mobilenet_v1_expected(resolution)
    total = macs * batch
    args = ["table", "--resolution", str(resolution), "--batch", str(batch)]
    with any_int_digits():
        document = run_and_parse([*args, "--format", "json"])
        assert document["totals"]["macs"] == total and document["totals"]["params"] == params
        assert_counts_are_ints(document)
        rows = list(csv.DictReader(io.StringIO(run([*args, "--format", "csv"]))))
        assert sum(int(row["macs"]) for row in rows) == total
        assert f"**Total mult-adds:** {total:,} ({decimal_scientific(total)})" in run([*args, "--format", "markdown"])
        table = run(args)
        assert f"Total mult-adds: {total:,} ({decimal_scientific(total)})" in table
        # the layer rows' human-readable column: the first conv at the resolution the test derived
        first = same_out(resolution, 2) ** 2 * 27 * 32 * batch
        conv1 = next(line for line in table.splitlines() if line.lstrip().startswith("1 │ conv1 "))
        assert f" {human_exact(first)} │" in conv1, conv1


def human_exact(n: int) -> str:
    with localcontext() as context, any_int_digits():
        context.prec, context.rounding = len(str(n)) + 10, ROUND_HALF_UP
        for power, unit in enumerate(["k", "M", "G", "T"], start=1):
            shown = (Decimal(n) / Decimal(1000) ** power).quantize(Decimal("0.1"))
            if shown < 1000:
                return f"{shown}{unit}"
    return decimal_scientific(n)


def test_sweep_and_compare_past_the_float_range() -> None:
    resolution = 10**160
    params, macs = mobilenet_v1_expected(resolution)
    small_params, small_macs = mobilenet_v1_expected(224)
    swept = run(["sweep", "--resolution", f"224,{resolution}", "--alpha", "1"])
    with localcontext() as context:
        context.prec, context.rounding = 60, ROUND_HALF_UP
        millions = f"{Decimal(macs) / 10**6:.1e}".split("e")
    assert f"{macs:,}" in swept and f"{millions[0]}e{int(millions[1])}" in swept
    compared = run(["compare", "mobilenet_v1", "mobilenet_v1", "--b-resolution", str(resolution)])
    ratio = Fraction(macs, small_macs)
    with localcontext() as context:
        context.prec, context.rounding = 60, ROUND_HALF_UP
        mantissa, exponent = f"{Decimal(ratio.numerator) / Decimal(ratio.denominator):.3e}".split("e")
    assert f"{mantissa}e{int(exponent)}" in compared  # the total's B/A, formatted without a float
    assert f"{macs:,}" in compared
    document = json.loads(
        run(["compare", "mobilenet_v1", "mobilenet_v1", "--b-resolution", str(resolution), "--format", "json"])
    )
    assert Fraction(document["b_over_a"]["macs"]) == ratio
    assert Fraction(document["b_over_a"]["params"]) == Fraction(params, small_params)


def alpha_width(channels: int, alpha: float) -> int:
    """keras.applications' int(channels * alpha); where the float overflows, the exact product
    (such an alpha is a whole number): Fraction arithmetic, no float."""
    product = Fraction(alpha) * channels
    return int(product) if product < 2**1023 else channels * int(alpha)


@pytest.mark.parametrize("alpha", [1e308, 1.7976931348623157e308, 1e300])
def test_alpha_near_the_float_limit(alpha: float) -> None:
    widths = [alpha_width(32, alpha)] + [alpha_width(f, alpha) for f, _ in TABLE_1]
    if alpha == 1e300:  # the float product is finite: Keras's int(channels * alpha), rounding included
        widths = [int(32 * alpha)] + [int(f * alpha) for f, _ in TABLE_1]
    size = same_out(224, 2)
    macs = size * size * 27 * widths[0]
    params = 27 * widths[0]
    for channels, filters, (_, stride) in zip(widths[:-1], widths[1:], TABLE_1, strict=True):
        size = same_out(size, stride)
        macs += size * size * channels * 9 + size * size * channels * filters
        params += 9 * channels + channels * filters
    macs += widths[-1] * 1000
    params += widths[-1] * 1000 + 1000
    document = run_and_parse(["table", "--alpha", repr(alpha), "--format", "json"])
    assert (document["totals"]["macs"], document["totals"]["params"]) == (macs, params)
    assert f"{macs:,}" in run(["table", "--alpha", repr(alpha)])


@pytest.mark.parametrize("fmt", ["toml", "json"])
def test_an_integer_literal_past_the_digit_limit_is_one_clean_line(fmt: str, tmp_path: Any) -> None:
    digits = "7" * 5000
    if fmt == "toml":
        text = f'name = "n"\ninput = [3, 8, 8]\n\n[[layers]]\ntype = "Conv2D"\nfilters = {digits}\n'
    else:
        text = f'{{"input": [3, 8, 8],\n "layers": [{{"type": "Conv2D", "filters": {digits}}}]}}'
    path = tmp_path / f"long.{fmt}"
    path.write_text(text)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["table", str(path)])
    line = f"{path}:6:" if fmt == "toml" else f"{path}:2:"
    assert code == 2 and not out.getvalue(), err.getvalue()
    assert err.getvalue().startswith(f"convcost: error: {line}") and err.getvalue().count("\n") == 1
    assert "more than 4,300 digits" in err.getvalue()
