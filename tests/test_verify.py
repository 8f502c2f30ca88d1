"""`convcost verify`: the closed form against the NumPy reference's count on every zoo model."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from convcost.cli import main
from convcost.errors import GeometryError
from convcost.shapes import infer_shapes
from convcost.spec import BatchNorm, Conv2D, DepthwiseConv2D, Site, Weight
from convcost.verify import to_text, verify
from convcost.zoo import ZOO, build


def small_arguments(name: str) -> dict[str, Any]:
    """The cheapest arguments a zoo model accepts: verify's worth is the count, not the size."""
    accepted = ZOO[name].arguments
    arguments: dict[str, Any] = {}
    if "alpha" in accepted:
        arguments["alpha"] = 0.25
    if "resolution" in accepted:
        arguments["resolution"] = min(accepted["resolution"], 64)
    if "filters" in accepted and "depth" in accepted:  # the U-Net: its narrowest and shallowest
        arguments.update(filters=4, depth=2)
    return arguments


def small_model(name: str) -> Any:
    try:
        model = build(name, **small_arguments(name)).with_batch(2)
        infer_shapes(model)
        return model
    except GeometryError:  # a model with a fixed-size head needs its own resolution
        arguments = small_arguments(name)
        arguments.pop("resolution", None)
        return build(name, **arguments).with_batch(2)


@pytest.mark.parametrize("name", sorted(ZOO))
def test_verify_passes_on_every_zoo_model(name: str) -> None:
    result = verify(small_model(name))
    assert result.passed, result.verdict()
    assert len(result.rows) > 0
    # the count covers real work, not just zeros agreeing with zeros
    assert result.totals()["macs"]["counted"] > 0
    assert result.totals()["params"]["counted"] > 0


def test_verify_reports_progress_for_every_layer() -> None:
    seen: list[tuple[int, int, str]] = []
    result = verify(build("mobilenet_v1", alpha=0.25, resolution=32), progress=lambda *a: seen.append(a))
    assert [done for done, _, _ in seen] == list(range(1, len(result.rows) + 1))
    assert {total for _, total, _ in seen} == {len(result.rows)}


def test_a_wrong_formula_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Break the closed form for depthwise convs by one multiply-add: verify must fail on them only."""
    right = DepthwiseConv2D.macs
    monkeypatch.setattr(DepthwiseConv2D, "macs", lambda self, site: right(self, site) + 1)
    result = verify(build("mobilenet_v1", alpha=0.25, resolution=32))
    assert not result.passed
    assert {r.kind for r in result.failures} == {"depthwise"}
    assert len(result.failures) == 13
    assert result.verdict().startswith("FAIL: 13 of")
    assert "FAIL" in to_text(result)


def test_cli_verify_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["verify", "mobilenet_v1", "--alpha", "0.25", "--resolution", "32", "--batch", "2"])
    out = capsys.readouterr().out
    assert code == 0
    assert "PASS: all 84 layers agree" in out
    assert "conv_dw_13" in out
    code = main(["verify", "mobilenet_v1_shallow", "--alpha", "0.5", "--resolution", "32", "--format", "json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["passed"] is True
    assert data["params_convention"] == "keras" and data["macs_convention"] == "paper"
    assert all(layer["ok"] for layer in data["layers"])
    assert data["totals"]["macs"]["closed_form"] == data["totals"]["macs"]["counted"]


def test_a_trainable_split_error_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same BN total, wrong split between trainable and non-trainable: still a failure."""

    def wrong_split(self: BatchNorm, site: Site) -> tuple[Weight, ...]:
        C = site.input[0]
        return (Weight("gamma", (3 * C,)), Weight("moving", (C,), trainable=False))

    monkeypatch.setattr(BatchNorm, "weights", wrong_split)
    result = verify(build("mobilenet_v1", alpha=0.25, resolution=32))
    assert {r.kind for r in result.failures} == {"batchnorm"}
    assert all(r.expected_params == r.counted_params for r in result.failures)


def test_cli_verify_exits_1_on_a_disagreement(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    right = Conv2D.weights
    monkeypatch.setattr(Conv2D, "weights", lambda self, site: (*right(self, site), Weight("extra", (1,))))
    assert main(["verify", "mobilenet_v1", "--alpha", "0.25", "--resolution", "32"]) == 1
    assert "FAIL" in capsys.readouterr().out


def test_cli_verify_bad_model_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", "mobilenet_v9"]) == 2
    assert "unknown model" in capsys.readouterr().err


def test_importing_verify_does_not_import_numpy() -> None:
    code = "import sys, convcost.verify, convcost.cli; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
