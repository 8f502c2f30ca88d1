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


# ---------------------------------------------------------------- sizes this machine cannot allocate


def lenet5_params() -> int:
    """LeNet5 at 28x28 (seed 003): two 5x5 valid convs (6, 16 filters), 2x2 pools, FC 120, 84, 10."""
    flat = 16 * 4 * 4
    return (5 * 5 * 1 * 6 + 6) + (5 * 5 * 6 * 16 + 16) + (flat * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)


def _at_most_one_and_a_half_gibibytes() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (3 * 2**29, 3 * 2**29))


def test_a_size_that_cannot_be_allocated_is_refused_before_allocating() -> None:
    """The issue's `verify lenet5 --resolution 100000`: run under a 1.5 GiB address-space limit, so an
    attempt to allocate would fail differently ('ran out of memory'); the line names the size."""
    R = 100_000
    script = "import sys; from convcost.cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run(
        [sys.executable, "-c", script, "verify", "lenet5", "--resolution", str(R)],
        capture_output=True,
        text=True,
        preexec_fn=_at_most_one_and_a_half_gibibytes,
    )
    assert (result.returncode, result.stdout) == (2, ""), result
    line = result.stderr
    assert line.startswith("convcost: error: verify: the NumPy reference run of lenet5 needs at least ")
    assert line.count("\n") == 1 and "of memory;" in line and "is available" in line
    needed = int(line.split("(")[1].split(" bytes")[0].replace(",", ""))
    assert needed >= (8 + 4) * R * R  # the input alone: drawn as float64, kept as float32


def test_the_budget_comes_before_the_run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from convcost import budget
    from convcost.reference import executor

    def must_not_run(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the reference ran")

    monkeypatch.setattr(budget, "available_bytes", lambda: 1000)
    monkeypatch.setattr(executor, "run", must_not_run)
    assert main(["verify", "lenet5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("convcost: error: verify: the NumPy reference run of lenet5 needs at least ")
    assert err.endswith("of memory; 1000 B (1,000 bytes) is available\n")
    needed = int(err.split("(")[1].split(" bytes")[0].replace(",", ""))
    assert needed >= 4 * lenet5_params() + 8 * 28 * 28


def test_an_allocation_that_fails_anyway_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from convcost import budget
    from convcost.reference import executor

    def out_of_memory(*args: Any, **kwargs: Any) -> Any:
        raise MemoryError

    monkeypatch.setattr(budget, "available_bytes", lambda: None)  # a system that does not say
    monkeypatch.setattr(executor, "run", out_of_memory)
    assert main(["verify", "lenet5"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("convcost: error: verify: the NumPy reference ran out of memory on lenet5 (it needs at least")
    assert err.count("\n") == 1


def test_a_frozen_layer_verifies() -> None:
    """``trainable = false`` makes every weight of a layer non-trainable; the reference counted its
    arrays as trainable and ``verify`` failed a valid frozen model (found by the graph fuzz test)."""
    from convcost import specfile

    model = specfile.loads(
        'name = "frozen"\ninput = [3, 8, 8]\n'
        '[[layers]]\ntype = "Conv2D"\nname = "c"\nfilters = 4\nkernel = 3\ntrainable = false\n'
        '[[layers]]\ntype = "BatchNorm"\nname = "bn"\ntrainable = false\n'
        '[[layers]]\ntype = "BatchNorm"\nname = "bn2"\n',
        "toml",
    )
    result = verify(model)
    assert result.passed, result.verdict()
    counted = {row.path: (row.counted_trainable, row.counted_params) for row in result.rows}
    # conv 3x3x3x4 + 4 and BN's 4 x 4 all frozen; the last BN trains gamma and beta (2 x 4) only
    assert counted == {"c": (0, 3 * 3 * 3 * 4 + 4), "bn": (0, 4 * 4), "bn2": (2 * 4, 4 * 4)}
