"""How fast is `convcost table model.onnx`? End to end, against onnx-tool's profiling of the same file.

Both are run as a user runs them, each in a fresh process, side by side in one run, on the same
files, best and median of several repeats:

* convcost: ``python -m convcost table FILE`` (the terminal table: every layer, totals, kinds);
* onnx-tool: ``python -m onnx_tool -i FILE`` (its default ``profile`` mode: shape inference and
  the per-node MACs table), with ``-d input:f32:1x...`` where the file leaves the batch symbolic,
  as onnx-tool requires.

The files are made here (``--files DIR`` keeps and reuses them): Hugging Face MobileNetV2 and
ResNet-18 at 224x224 from their default configs, exported by TorchScript (weights inline) and by
dynamo with torch's defaults (weights in a side file, which onnx-tool loads and convcost never
reads), the zoo's MobileNet v1 through ``to_torch``, and Keras' MobileNet (NHWC, its TorchScript
export path). Also printed: ``python -c pass``, and each tool's work in process.

Usage: python benchmarks/bench_onnx.py [--repeats N] [--files DIR] [--json results.json]
The target (issue 14) is convcost at least 3x faster than onnx-tool end to end.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")
ROOT = Path(__file__).resolve().parent.parent
# as bench_cli.py: both sides keep compiled bytecode; convcost is this checkout's (cwd first)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def make_files(folder: Path) -> dict[str, Path]:
    """The benchmark's files, exported once (weights perturbed: exporters merge equal tensors)."""
    sys.path.insert(0, str(ROOT))
    from tests.onnx_exports import Logits, export_keras, export_torch, perturb_keras, perturb_torch

    files = {
        "hf_mobilenet_v2__ts17": folder / "hf_mobilenet_v2__ts17.onnx",
        "hf_mobilenet_v2__dynamo": folder / "hf_mobilenet_v2__dynamo.onnx",
        "hf_resnet18__ts17": folder / "hf_resnet18__ts17.onnx",
        "hf_resnet18__dynamo": folder / "hf_resnet18__dynamo.onnx",
        "zoo_mobilenet_v1__ts13": folder / "zoo_mobilenet_v1__ts13.onnx",
        "keras_mobilenet__default": folder / "keras_mobilenet__default.onnx",
    }
    if all(p.exists() for p in files.values()):
        return files
    import transformers

    from convcost.interop.torch import to_torch
    from convcost.zoo import build

    torch_models = {
        "hf_mobilenet_v2": Logits(transformers.MobileNetV2ForImageClassification(transformers.MobileNetV2Config())),
        "hf_resnet18": Logits(
            transformers.ResNetForImageClassification(
                transformers.ResNetConfig(layer_type="basic", hidden_sizes=[64, 128, 256, 512], depths=[2, 2, 2, 2])
            )
        ),
        "zoo_mobilenet_v1": to_torch(build("mobilenet_v1")),
    }
    for name, model in torch_models.items():
        model.eval()
        perturb_torch(model)
        for key, path in files.items():
            if key.startswith(name + "__") and not path.exists():
                print(f"exporting {path.name}", file=sys.stderr)
                export_torch(model, (3, 224, 224), path, key.split("__")[1])
    if not files["keras_mobilenet__default"].exists():
        import keras

        print("exporting keras_mobilenet__default.onnx", file=sys.stderr)
        model = keras.applications.MobileNet(weights=None)
        perturb_keras(model)
        export_keras(model, files["keras_mobilenet__default"], "default")
    return files


def onnx_tool_command(path: Path) -> list[str]:
    """onnx-tool's CLI, with the batch given when the file leaves it symbolic (it refuses otherwise)."""
    from convcost.interop.onnx_wire import read_model

    command = [sys.executable, "-m", "onnx_tool", "-i", str(path)]
    model = read_model(str(path))
    initializers = {t.name for t in model.graph.initializers}
    dynamic = []
    for i in model.graph.inputs:
        if i.name in initializers or i.dims is None:
            continue
        if any(not isinstance(d, int) for d in i.dims):
            sizes = "x".join(str(d) if isinstance(d, int) else "1" for d in i.dims)
            dynamic.append(f"{i.name}:f32:{sizes}")
    return command + (["-d", *dynamic] if dynamic else [])


def onnx_tool_inputs(path: Path) -> dict[str, Any] | None:
    """The input arrays onnx-tool's shape inference needs for a file with a symbolic batch (the
    CLI's ``-d`` of ``onnx_tool_command``), or None."""
    command = onnx_tool_command(path)
    if "-d" not in command:
        return None
    import numpy as np

    name, _, sizes = command[command.index("-d") + 1].split(":")
    return {name: np.zeros([int(s) for s in sizes.split("x")], np.float32)}


def onnx_tool_profiled(path: Path, inputs: dict[str, Any] | None) -> Any:
    """onnx-tool's Model -> shape_infer -> profile (what model_profile does before it prints): its graph."""
    import onnx_tool

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        graph = onnx_tool.Model(str(path), {"verbose": False}).graph
        graph.graph_reorder_nodes()
        graph.shape_infer(inputs)
        graph.profile()
    return graph


def fresh_process(argv: list[str], repeats: int) -> list[float]:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, cwd=ROOT)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return times


def in_process(path: Path, repeats: int) -> dict[str, float]:
    """The tools' own work without process start: convcost's read and analysis, onnx-tool's
    Model -> shape_infer -> profile (what model_profile does before it prints)."""
    from convcost import analyze
    from convcost.interop.onnx import from_onnx

    def convcost_run() -> None:
        analyze(from_onnx(str(path)))

    inputs = onnx_tool_inputs(path)  # made once, outside the timing

    def onnx_tool_run() -> None:
        onnx_tool_profiled(path, inputs)

    def best(function: Any) -> float:
        function()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
        return min(times)

    return {"convcost_s": best(convcost_run), "onnx_tool_s": best(onnx_tool_run)}


def summary(times: list[float]) -> dict[str, float]:
    return {"best_s": min(times), "median_s": statistics.median(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--files", help="folder to keep the exported files in (reused when present)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    folder = Path(args.files) if args.files else Path(tempfile.mkdtemp(prefix="bench_onnx_"))
    folder.mkdir(parents=True, exist_ok=True)
    files = make_files(folder)
    py = sys.executable
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count() or 0,
            "load_average": os.getloadavg(),
        },
        "python_startup": summary(fresh_process([py, "-c", "pass"], args.repeats)),
        "files": {},
    }
    for name, path in files.items():
        data = Path(f"{path}.data")
        size = path.stat().st_size + (data.stat().st_size if data.exists() else 0)
        convcost = summary(fresh_process([py, "-m", "convcost", "table", str(path)], args.repeats))
        onnx_tool = summary(fresh_process(onnx_tool_command(path), args.repeats))
        row = {
            "bytes": size,
            "side_file": data.exists(),
            "convcost_table": convcost,
            "onnx_tool_profile": onnx_tool,
            "speedup_median": onnx_tool["median_s"] / convcost["median_s"],
            "speedup_best": onnx_tool["best_s"] / convcost["best_s"],
            "in_process": in_process(path, args.repeats),
        }
        results["files"][name] = row
        print(
            f"{name:<26} {size / 2**20:6.1f} MiB  convcost {convcost['median_s'] * 1000:7.1f} ms  "
            f"onnx-tool {onnx_tool['median_s'] * 1000:7.1f} ms  median {row['speedup_median']:.1f}x  "
            f"best {row['speedup_best']:.1f}x  | in process {row['in_process']['convcost_s'] * 1000:6.1f} ms vs "
            f"{row['in_process']['onnx_tool_s'] * 1000:7.1f} ms",
            flush=True,
        )
    ratios = [r["speedup_median"] for r in results["files"].values()]
    results["speedup_median_of_files"] = statistics.median(ratios)
    results["speedup_lowest"] = min(ratios)
    print(
        f"python -c pass {results['python_startup']['median_s'] * 1000:.1f} ms; convcost against onnx-tool, "
        f"median over files {results['speedup_median_of_files']:.1f}x, lowest {results['speedup_lowest']:.1f}x "
        f"(load average {results['machine']['load_average'][0]:.2f})"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
