"""Does the roofline predict? Every MobileNet v1 224 conv layer timed in torch on the CPU, one thread,
against the roofline prediction for this machine, calibrated in the same run.

* the device: ``convcost.calibrate.calibrate(threads)`` (NumPy float32 matmul 2048^3 and a 64 MiB
  copy, BLAS limited to the same thread count as torch), exactly what ``convcost roofline
  --calibrate --threads N`` uses; a copy of a cache-sized array (4 MiB) is measured too, for the
  record only;
* predicted: ``convcost.roofline`` per layer, max(FLOPs / peak, bytes / bandwidth);
* measured: the layer's module of ``convcost.interop.torch.to_torch(mobilenet_v1())`` (a Conv2d,
  or the explicit pad + Conv2d that Keras 'same' at stride 2 needs) called on an input of its
  shape under ``torch.inference_mode``, best (and median) of ``--repeats`` after warm-up calls;
* ``spearman``: the rank correlation of predicted and measured per-layer times (ties get the mean
  rank); ``predicted_over_measured``: the ratio of the summed times of the 27 layers. Per kind
  and per layer too, and the whole forward pass (BN and ReLU6 included) against the prediction
  for all 84 layers.

The process environment is fixed first, as in bench_reference.py (the script re-executes itself):
``OMP_WAIT_POLICY=PASSIVE`` and glibc malloc thresholds, so neither page faults nor spinning
OpenMP workers are timed; ``--keep-env`` skips that.

Usage: python benchmarks/bench_roofline.py [--threads 1] [--repeats 30] [--batch 1] [--json FILE] [--wait-idle S]
"""

from __future__ import annotations

import os
import sys

_FIXED_ENV = {
    "OMP_WAIT_POLICY": "PASSIVE",
    "MALLOC_MMAP_THRESHOLD_": str(32 * 1024 * 1024),
    "MALLOC_TRIM_THRESHOLD_": str(4 * 1024**3),
}

if "--keep-env" not in sys.argv and os.environ.get("CONVCOST_BENCH_ENV") != "1":
    env = {**os.environ, **_FIXED_ENV, "CONVCOST_BENCH_ENV": "1"}
    os.execve(sys.executable, [sys.executable, *sys.argv], env)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from convcost.calibrate import calibrate  # noqa: E402
from convcost.interop.torch import to_torch  # noqa: E402
from convcost.report import analyze  # noqa: E402
from convcost.roofline import roofline  # noqa: E402
from convcost.traffic import measure  # noqa: E402
from convcost.zoo import mobilenet_v1  # noqa: E402

CONV_KINDS = ("conv", "depthwise", "pointwise")


def timed(fn: Callable[[], object], repeats: int, budget: float = 3.0) -> dict[str, float]:
    """Best and median seconds of ``fn`` after three warm-up calls (at least 5 calls, at most ``budget`` s)."""
    for _ in range(3):
        fn()
    times = []
    start = time.perf_counter()
    for i in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        if i >= 4 and time.perf_counter() - start > budget:
            break
    return {"best": min(times), "median": statistics.median(times), "runs": len(times)}


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            result[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return result


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rank correlation: Pearson's correlation of the ranks."""
    ra, rb = ranks(a), ranks(b)
    ma, mb = statistics.fmean(ra), statistics.fmean(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb, strict=True))
    return cov / (sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb)) ** 0.5


def cache_copy_bandwidth(size: int = 4 * 2**20, repeats: int = 50) -> float:
    """GB/s of a copy that fits in the caches (read + write), for comparison with the 64 MiB one."""
    source = np.ones(size // 4, dtype=np.float32)
    target = np.zeros_like(source)
    best = timed(lambda: np.copyto(target, source), repeats)["best"]
    return 2 * size / best / 1e9


def machine(threads: int) -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "threads": threads,
        "torch_threads": torch.get_num_threads(),
        "load_average_at_start": os.getloadavg(),
        "environment": {k: os.environ.get(k) for k in _FIXED_ENV},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--keep-env", action="store_true", help="do not fix the environment (see the docstring)")
    parser.add_argument(
        "--wait-idle", type=float, default=0, help="wait up to this many seconds for a 1-min load average < 0.5"
    )
    args = parser.parse_args()

    deadline = time.monotonic() + args.wait_idle
    while os.getloadavg()[0] >= 0.5 and time.monotonic() < deadline:
        time.sleep(5)

    torch.set_num_threads(args.threads)
    info = machine(args.threads)
    print(
        f"{info['cpu']} ({info['cpus']} CPUs), numpy {info['numpy']}, torch {info['torch']}, {args.threads} thread(s)"
    )
    print(f"load average at start: {info['load_average_at_start']}", flush=True)

    calibration = calibrate(args.threads)
    device = calibration.device
    with threadpool_limits(limits=args.threads):
        cached = cache_copy_bandwidth()
    print(f"device: {calibration.method}")
    print(
        f"  ridge {float(device.ridge):.2f} FLOPs/byte; a 4 MiB copy (in cache) runs at {cached:.1f} GB/s", flush=True
    )

    model = mobilenet_v1().with_batch(args.batch)
    result = roofline(measure(model), device)
    inputs = {row.path: row.input for row in analyze(model).rows}
    net = to_torch(model).eval()
    keys = {path: key for path, key, _ in net.wiring}  # each node's module in the GraphModule
    rng = np.random.default_rng(0)
    layers = []
    print("layer           kind       bound    predicted   measured   measured/predicted", flush=True)
    for bound in result.layers:
        t = bound.traffic
        if t.kind not in CONV_KINDS:
            continue
        shape = inputs[t.path]
        x = torch.from_numpy(rng.standard_normal((args.batch, *shape), dtype=np.float32))
        module = net.nodes[keys[t.path]]

        def call(module: Any = module, x: torch.Tensor = x) -> object:
            with torch.inference_mode():
                return module(x)

        measured = timed(call, args.repeats)
        predicted = float(bound.time)
        layers.append(
            {
                "name": t.path,
                "kind": t.kind,
                "input": list(shape),
                "bytes": t.bytes,
                "flops": t.flops,
                "intensity": float(t.intensity) if t.intensity is not None else None,
                "bound": bound.bound,
                "predicted_s": predicted,
                "measured_s": measured["best"],
                "measured_median_s": measured["median"],
                "runs": measured["runs"],
                "measured_gflops": t.flops / measured["best"] / 1e9,
                "measured_over_predicted": measured["best"] / predicted,
            }
        )
        print(
            f"{t.path:<15} {t.kind:<10} {bound.bound:<8} {predicted * 1e3:8.3f} ms {measured['best'] * 1e3:8.3f} ms  "
            f"{measured['best'] / predicted:6.2f}",
            flush=True,
        )

    predicted_total = sum(layer["predicted_s"] for layer in layers)
    measured_total = sum(layer["measured_s"] for layer in layers)
    rho = spearman([layer["predicted_s"] for layer in layers], [layer["measured_s"] for layer in layers])
    rho_median = spearman([layer["predicted_s"] for layer in layers], [layer["measured_median_s"] for layer in layers])
    per_kind = {}
    for kind in CONV_KINDS:
        chosen = [layer for layer in layers if layer["kind"] == kind]
        p, m = sum(layer["predicted_s"] for layer in chosen), sum(layer["measured_s"] for layer in chosen)
        per_kind[kind] = {
            "layers": len(chosen),
            "predicted_s": p,
            "measured_s": m,
            "predicted_over_measured": p / m,
            "spearman": spearman([c["predicted_s"] for c in chosen], [c["measured_s"] for c in chosen])
            if len(chosen) > 2
            else None,
        }

    x = torch.from_numpy(rng.standard_normal((args.batch, *model.input), dtype=np.float32))

    def forward() -> object:
        with torch.inference_mode():
            return net(x)

    whole = timed(forward, max(5, args.repeats // 3), budget=6.0)
    forward_result = {
        "measured_s": whole["best"],
        "measured_median_s": whole["median"],
        "predicted_s": float(result.time),
        "predicted_over_measured": float(result.time) / whole["best"],
        "predicted_conv_layers_s": predicted_total,
        "layers": len(result.layers),
    }
    info["load_average_at_end"] = os.getloadavg()
    summary = {
        "spearman": rho,
        "spearman_with_medians": rho_median,
        "predicted_total_s": predicted_total,
        "measured_total_s": measured_total,
        "predicted_over_measured": predicted_total / measured_total,
    }
    print(
        f"27 conv layers: predicted {predicted_total * 1e3:.2f} ms, measured {measured_total * 1e3:.2f} ms "
        f"(predicted / measured {predicted_total / measured_total:.2f}); Spearman {rho:.3f} "
        f"({rho_median:.3f} with medians)"
    )
    for kind, k in per_kind.items():
        print(
            f"  {kind:<10} predicted {k['predicted_s'] * 1e3:7.2f} ms  measured {k['measured_s'] * 1e3:7.2f} ms  "
            f"ratio {k['predicted_over_measured']:.2f}"
            + (f"  Spearman {k['spearman']:.3f}" if k["spearman"] is not None else "")
        )
    print(
        f"whole forward (84 layers, BN and ReLU6 unfused): measured {whole['best'] * 1e3:.2f} ms, "
        f"predicted {float(result.time) * 1e3:.2f} ms"
    )
    print(f"load average at end: {info['load_average_at_end']}")
    if args.json:
        out = {
            "machine": info,
            "device": {
                **device.to_dict(),
                "method": calibration.method,
                "measured_gflops": calibration.gflops,
                "measured_gbs": calibration.gbs,
                "cache_copy_gbs": cached,
            },
            "batch": args.batch,
            **summary,
            "per_kind": per_kind,
            "layers": layers,
            "forward": forward_result,
        }
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
