"""The roofline: each layer's bound and predicted time, worked out here from its FLOPs and bytes.

Expected times are max(FLOPs / peak, bytes / bandwidth) with FLOPs and bytes computed in this file
from MobileNet's Table 1 (tests/test_traffic.py), the CLI's JSON checked against them, and the
rules (bound, attainable rate, ridge) on random devices and layers.
"""

from __future__ import annotations

import json
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_traffic import BLOCKS, mobilenet_expected_bytes

from convcost import calibrate as calibration
from convcost.cli import main
from convcost.errors import SpecError
from convcost.roofline import PRESETS, Device, device, parse_rate, place, preset, roofline
from convcost.traffic import LayerTraffic, measure
from convcost.zoo import mobilenet_v1


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def mobilenet_conv_flops() -> dict[str, int]:
    """2 x multiply-adds of every conv layer, from Table 1's geometry."""
    flops = {"conv1": 2 * 3 * 3 * 3 * 32 * 112 * 112}
    hw, M = 112, 32
    for i, (stride, N) in enumerate(BLOCKS, start=1):
        out = hw // stride
        flops[f"conv_dw_{i}"] = 2 * 3 * 3 * M * out * out
        flops[f"conv_pw_{i}"] = 2 * M * N * out * out
        hw, M = out, N
    return flops


def test_issue_device_depthwise_memory_bound_pointwise_compute_bound(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        ["roofline", "mobilenet_v1", "--peak-gflops", "100", "--bandwidth-gbs", "10", "--format", "json"], capsys
    )
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["device"]["ridge"] == 10 and data["device"]["ridge_exact"] == "10"
    layers = {layer["name"]: layer for layer in data["layers"]}
    assert len(data["layers"]) == 84
    depthwise = [layer for layer in data["layers"] if layer["kind"] == "depthwise"]
    pointwise = [layer for layer in data["layers"] if layer["kind"] == "pointwise"]
    assert len(depthwise) == len(pointwise) == 13
    assert {layer["bound"] for layer in depthwise} == {"memory"}
    assert {layer["bound"] for layer in pointwise} == {"compute"}
    assert layers["conv_pw_1"]["bytes"] == 4 * (32 * 112 * 112 + 64 * 112 * 112 + 32 * 64)
    expected_bytes = mobilenet_expected_bytes()
    for name, flops in mobilenet_conv_flops().items():
        layer = layers[name]
        assert layer["flops"] == flops and layer["bytes"] == expected_bytes[name]
        time = max(Fraction(flops, 100 * 10**9), Fraction(expected_bytes[name], 10 * 10**9))
        assert Fraction(layer["time_exact"]) == time and layer["time_s"] == float(time)
        assert layer["bound"] == ("compute" if Fraction(flops, expected_bytes[name]) >= 10 else "memory")
        assert {"name", "kind", "bytes", "intensity", "bound", "time_s"} <= layer.keys()
    total = sum(Fraction(layer["time_exact"]) for layer in data["layers"])
    assert Fraction(data["totals"]["time_exact"]) == total
    assert data["totals"]["bytes"] == sum(layer["bytes"] for layer in data["layers"])
    # BN, ReLU6 and pooling do no multiply-adds: memory-bound, at bytes / bandwidth
    bn = layers["conv_pw_1_bn"]
    assert bn["bound"] == "memory" and bn["intensity"] == 0
    assert Fraction(bn["time_exact"]) == Fraction(expected_bytes["conv_pw_1_bn"], 10 * 10**9)


def test_terminal_table_says_what_bounds_each_layer(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["roofline", "--peak-gflops", "100", "--bandwidth-gbs", "10"], capsys)
    assert code == 0
    assert "ridge 10 FLOPs/byte" in out
    line = next(line for line in out.splitlines() if "│ conv_pw_1 " in line)
    assert "compute" in line and "513.8 µs" in line  # 51,380,224 FLOPs at 100 GFLOP/s
    line = next(line for line in out.splitlines() if "│ conv_dw_1 " in line)
    assert "memory" in line and "321.2 µs" in line  # 3,212,416 bytes at 10 GB/s
    assert "138,662,272 bytes moved" in out


def test_default_device_is_named_with_its_source(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["roofline", "lenet5"], capsys)
    assert code == 0
    assert "device cpu_core: peak 100 GFLOP/s, bandwidth 20 GB/s, ridge 5 FLOPs/byte (one core of" in out


@pytest.mark.parametrize(
    "name, ridge", [("cpu_core", 5), ("a100", Fraction(19500, 1555)), ("a100_fp16", Fraction(312000, 1555))]
)
def test_presets(name: str, ridge: Fraction) -> None:
    assert preset(name).ridge == ridge
    assert PRESETS[name].source


def test_every_layer_of_every_preset_is_placed_consistently() -> None:
    traffic = measure(mobilenet_v1())
    for dev in PRESETS.values():
        result = roofline(traffic, dev)
        assert result.time == sum(b.time for b in result.layers)
        assert result.time == result.time_of("compute") + result.time_of("memory")


rates = st.fractions(min_value=Fraction(1, 1000), max_value=10**6, max_denominator=1000)


@given(
    peak=rates,
    bandwidth=rates,
    macs=st.integers(0, 10**9),
    values=st.integers(1, 10**8),
    width=st.sampled_from([1, 2, 4, 8]),
)
def test_bound_time_and_attainable_rate_agree(
    peak: Fraction, bandwidth: Fraction, macs: int, values: int, width: int
) -> None:
    dev = Device("d", peak * 10**9, bandwidth * 10**9, "test")
    t = LayerTraffic("x", "x", "conv", values, 0, 0, macs, width)
    b = place(t, dev)
    compute, memory = Fraction(2 * macs) / dev.peak_flops, Fraction(values * width) / dev.bandwidth
    assert b.time == max(compute, memory)
    assert b.bound == ("compute" if compute >= memory else "memory")
    assert b.attainable == min(dev.peak_flops, Fraction(2 * macs, values * width) * dev.bandwidth)
    if macs:
        assert b.attainable == Fraction(2 * macs) / b.time  # the rate the predicted time implies


def test_a_layer_that_moves_nothing_has_no_bound() -> None:
    b = place(LayerTraffic("f", "f", "flatten", 0, 0, 0, 0, 4), preset("a100"))
    assert b.bound is None and b.attainable is None and b.time == 0


@pytest.mark.parametrize(
    "text, value", [("100", 100), ("19.5", Fraction(39, 2)), ("1e3", 1000), (" 2.5 ", Fraction(5, 2))]
)
def test_rates_are_parsed_exactly(text: str, value: Fraction) -> None:
    assert parse_rate(text, "--x") == value


@pytest.mark.parametrize("text", ["0", "-1", "abc", "", "nan", "inf", "1/0", "0x10"])
def test_bad_rates_are_one_line_errors(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SpecError):
        device(text, "10")
    code, out, err = run(["roofline", "--peak-gflops", text, "--bandwidth-gbs", "10"], capsys)
    assert code == 2 and out == ""
    assert err.startswith("convcost: error: --peak-gflops must be a positive number") and err.count("\n") == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--peak-gflops", "100"], "--peak-gflops and --bandwidth-gbs go together: give both"),
        (["--bandwidth-gbs", "10"], "--peak-gflops and --bandwidth-gbs go together: give both"),
        (["--device", "t4", "--peak-gflops", "1", "--bandwidth-gbs", "1"], "not --device and --peak-gflops"),
        (["--calibrate", "--device", "t4"], "not --calibrate and --device"),
        (["--threads", "1"], "--threads applies to --calibrate only"),
        (["--peak-gflops", "1e13", "--bandwidth-gbs", "1"], "--peak-gflops must be between 1e-06 and 1e+12"),
        (["--device", "h100"], "Invalid value for '--device'"),
    ],
)
def test_device_options_conflicts(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["roofline", *args], capsys)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1


def test_calibrate_measures_and_says_how(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(calibration, "MATMUL_N", 256)  # small: the method, not this machine, is under test
    monkeypatch.setattr(calibration, "COPY_BYTES", 4 * 2**20)
    code, out, err = run(["roofline", "lenet5", "--calibrate", "--threads", "1", "--format", "json"], capsys)
    assert code == 0, err
    dev = json.loads(out)["device"]
    assert dev["name"] == "calibrated" and dev["peak_gflops"] > 0 and dev["bandwidth_gbs"] > 0
    assert dev["source"].startswith("measured on this machine with NumPy, 1 thread: float32 matmul 256^3 ")
    assert "copy of 4 MiB read + written" in dev["source"]
    # the device numbers are the printed ones, exactly
    assert Fraction(dev["peak_flops_exact"]) == parse_rate(dev["source"].split("256^3 ")[1].split(" ")[0], "") * 10**9


def test_threads_need_threadpoolctl(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)
    code, out, err = run(["roofline", "--calibrate", "--threads", "1"], capsys)
    assert code == 2 and out == ""
    assert err == "convcost: error: --threads needs threadpoolctl, which is not installed: pip install threadpoolctl\n"


def test_csv_has_one_row_per_layer(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["roofline", "--format", "csv", "--device", "a100"], capsys)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 85
    assert lines[0] == "path,name,kind,macs,flops,weights_read,bytes,intensity,bound,time_s"
    assert lines[7].startswith("conv_pw_1,conv_pw_1,pointwise,25690112,51380224,2048,4825088,")


def test_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "roofline.svg"
    code, out, err = run(["roofline", "--plot", str(target), "--device", "t4"], capsys)
    assert code == 0 and err == "" and out
    svg = target.read_text()
    assert svg.startswith("<?xml") and "arithmetic intensity" in svg


def test_plot_without_matplotlib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, out, err = run(["roofline", "--plot", str(tmp_path / "r.png")], capsys)
    assert code == 2 and out == "" and not (tmp_path / "r.png").exists()
    assert err == "convcost: error: --plot needs matplotlib, which is not installed: pip install 'convcost[plot]'\n"


def test_plot_suffix_is_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["roofline", "--plot", str(tmp_path / "r.txt")], capsys)
    assert code == 2 and "must end in .svg, .png or .pdf" in err


def test_kind_lists_only_those_layers(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["roofline", "--kind", "depthwise", "--format", "json"], capsys)
    data = json.loads(out)
    assert code == 0 and len(data["layers"]) == 13 and {layer["kind"] for layer in data["layers"]} == {"depthwise"}
    assert data["totals"]["bytes"] == 138_662_272  # the whole network's
    code, out, _ = run(["roofline", "--kind", "depthwise", "--kind", "dense"], capsys)
    assert "14 of 84 layers listed (dense, depthwise); totals: all" in out
    assert "\n83 │ fc " in out  # numbered in network order
    code, out, _ = run(["roofline", "--kind", "dense", "--format", "csv"], capsys)
    assert out.splitlines()[1].startswith("fc,fc,dense,1024000,")


def test_the_svg_has_a_dot_per_layer_that_computes_on_the_roof() -> None:
    import re

    from convcost.render.svg import roofline_svg

    result = roofline(measure(mobilenet_v1()), preset("cpu_core"))
    svg = roofline_svg(result, standalone=True)
    assert svg == roofline_svg(result, standalone=True)  # deterministic: the docs' pictures are checked
    dots = re.findall(r'<circle class="point" data-path="([^"]+)" data-kind="([^"]+)" cx="([\d.]+)" cy="([\d.]+)"', svg)
    assert len(dots) == 28 and {kind for _, kind, _, _ in dots} == {"conv", "depthwise", "pointwise", "dense"}
    # compute-bound dots all sit on the flat part of the roof, at the same height
    heights = {
        cy
        for path, _, _, cy in dots
        if result.layers[[b.traffic.path for b in result.layers].index(path)].bound == "compute"
    }
    assert len(heights) == 1
    assert "56 layers with no" in svg and 'xmlns="http://www.w3.org/2000/svg"' in svg
