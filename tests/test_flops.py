"""FLOPs = 2 x multiply-adds + the element-wise operations each convention counts (one each).

Every convention's count splits in two: the conv and fully-connected multiply-adds, and the
element-wise work (bias adds, BatchNorm, activations, pools). The first part is checked here layer
by layer against the products the NumPy reference really performs (``convcost.reference`` counts
them from its operands, never from the closed form); the second part is each tool's rule, which
tests/test_conventions_tools.py holds against the real tools (for calflops, the one tool that prints
FLOPs, its FLOPs themselves).
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from hypothesis import given, settings
from test_conventions_tools import sequential_models

from convcost import analyze
from convcost.cli import main
from convcost.conventions import CONVENTIONS
from convcost.reference.executor import run
from convcost.report import Report, Row
from convcost.spec import Model
from convcost.zoo import build

#: small zoo networks with every layer kind: separable, BN, ReLU/ReLU6, pools, residual adds, concats
MODELS = ("mobilenet_v1_cifar", "separable_fashion", "lenet5", "inception10", "resnet18_fashion")


def split(report: Report, row: Row) -> tuple[int, int]:
    """(multiply-adds, element-wise operations) inside one row's FLOPs."""
    if CONVENTIONS[report.convention].macs_include_elementwise:
        return row.flops - row.macs, 2 * row.macs - row.flops
    return row.macs, row.flops - 2 * row.macs


def expected_products(report: Report, row: Row, counted: int) -> int:
    """The executor's products, or what the tool counts of them: torchinfo counts a Dense on a
    feature map once per sample, not once per pixel."""
    if report.convention == "torchinfo" and row.kind == "dense" and len(row.input) == 3:
        return counted // (row.input[1] * row.input[2])
    return counted


def assert_flops_hold(model: Model) -> None:
    counted = run(model).layers
    for name in CONVENTIONS:
        report = analyze(model, name)
        batch = 1 if CONVENTIONS[name].per_sample else model.batch
        elementwise_total = 0
        for row, count in zip(report.rows, counted, strict=True):
            assert row.path == count.path
            products, elementwise = split(report, row)
            assert products == expected_products(report, row, count.macs) // model.batch * batch, (name, row.path)
            assert elementwise >= 0, (name, row.path)
            elementwise_total += elementwise
        if name in ("paper", "keras"):
            assert elementwise_total == 0  # they count no element-wise work: FLOPs are 2 x multiply-adds
        t = report.totals
        assert t.flops == sum(r.flops for r in report.rows)
        assert report.flops_split[1] == elementwise_total
        assert t.flops == 2 * report.flops_split[0] + report.flops_split[1]


@pytest.mark.parametrize("name", MODELS)
def test_flops_hold_the_reference_products_on_zoo_models(name: str) -> None:
    assert_flops_hold(build(name).with_batch(2))


@settings(max_examples=25, deadline=None)
@given(sequential_models())
def test_flops_hold_the_reference_products_on_random_networks(model: Model) -> None:
    assert_flops_hold(model)


def test_mobilenet_flops_by_hand() -> None:
    """The worked numbers in docs/conventions.md, derived here from the layer sizes."""
    model = build("mobilenet_v1")
    report = analyze(model, "calflops")
    conv_fc = 568_740_352  # the paper's multiply-adds
    bn_elements = sum(r.activations for r in report.rows if r.kind == "batchnorm")
    pool_elements = 1024 * 7 * 7  # the global pool reads the last 7x7x1024 map
    softmax = 1000
    assert bn_elements == 5_042_688
    assert report.totals.flops == 2 * conv_fc + 2 * bn_elements + pool_elements + softmax == 1_147_617_256
    assert report.totals.macs == conv_fc
    assert analyze(model, "paper").totals.flops == 2 * conv_fc
    fvcore = analyze(model, "fvcore")
    assert fvcore.flops_split == (conv_fc, 2 * bn_elements + pool_elements)
    assert fvcore.totals.flops == 1_147_616_256  # calflops minus the softmax fvcore leaves out


def cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


def test_table_flops_heads_every_work_column(capsys: pytest.CaptureFixture[str]) -> None:
    report = analyze(build("lenet5"), "ptflops")
    multiply_adds, elementwise = report.flops_split
    out = cli(["table", "lenet5", "--convention", "ptflops", "--flops"], capsys)
    assert "Mult-Adds" not in out and out.count("FLOPs") >= 3  # layers, totals, by kind
    assert f"Total mult-adds: {report.totals.macs:,}" in out
    assert (
        f"Total FLOPs: {report.totals.flops:,} (576.9k) = 2 x {multiply_adds:,} multiply-adds "
        f"+ {elementwise:,} element-wise (bias adds" in out
    )
    # c1: 5x5x1x6 at 24x24 is 86,400 multiply-adds and 3,456 bias adds
    assert "│ 176.3k │" in out and report.rows[0].flops == 2 * 86_400 + 3_456
    plain = cli(["table", "lenet5", "--convention", "ptflops"], capsys)
    assert "FLOPs" not in plain and "Mult-Adds" in plain


def test_markdown_flops(capsys: pytest.CaptureFixture[str]) -> None:
    out = cli(["table", "mobilenet_v1", "--convention", "calflops", "--flops", "--format", "markdown"], capsys)
    assert "| Params | FLOPs | Share |" in out and "| FLOPs | FLOPs share |" in out
    assert "**Total FLOPs:** 1,147,617,256 (1.1G) = 2 x 568,740,352 multiply-adds + 10,136,552 element-wise" in out
    assert "**Total mult-adds:** 568,740,352" in out


def test_json_and_csv_carry_both(capsys: pytest.CaptureFixture[str]) -> None:
    report = analyze(build("mobilenet_v1_cifar").with_batch(2), "thop")
    args = ["table", "mobilenet_v1_cifar", "--convention", "thop", "--batch", "2", "--format", "json"]
    data = json.loads(cli(args, capsys))
    assert data["totals"]["flops"] == report.totals.flops and data["totals"]["macs"] == report.totals.macs
    assert data["flops_split"] == {"multiply_adds": report.flops_split[0], "elementwise": report.flops_split[1]}
    assert [layer["flops"] for layer in data["layers"]] == [r.flops for r in report.rows]
    assert sum(k["flops"] for k in data["by_kind"].values()) == report.totals.flops
    rows = list(csv.DictReader(io.StringIO(cli(["table", "lenet5", "--format", "csv"], capsys))))
    assert [int(r["flops"]) for r in rows] == [2 * int(r["macs"]) for r in rows]  # paper: no element-wise work


def test_depth_folds_flops(capsys: pytest.CaptureFixture[str]) -> None:
    report = analyze(build("resnet18_fashion"), "ptflops")
    args = ["table", "resnet18_fashion", "--convention", "ptflops", "--depth", "1", "--format", "json"]
    out = json.loads(cli(args, capsys))
    assert sum(layer["flops"] for layer in out["layers"]) == report.totals.flops
