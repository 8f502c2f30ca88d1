"""The NumPy reference against torch on the CPU: every MobileNet v1 224 conv layer and the whole forward.

One run, threads pinned and printed (threadpoolctl for NumPy's BLAS, ``torch.set_num_threads``):

* per layer (the first standard conv, each depthwise, each pointwise) at batch 1 and 8: NumPy and
  torch times, measured interleaved (numpy, torch, numpy, ...) so both see the same machine;
  throughput ratio = torch time / NumPy time (1.0 = as fast as torch), GFLOP/s (2 x multiply-adds);
* per kind: the same ratio over the summed times of that kind's layers;
* the whole forward pass (``convcost.reference.run`` against the same network built in torch);
* a NumPy (and torch) float32 matmul peak measured in the same run, and each layer's fraction of it;
* peak memory of the NumPy forward at batch 8 (tracemalloc sees NumPy's buffers) against its
  theoretical minimum: the largest input + output pair plus the largest im2col buffer;
* the naive pure-Python depthwise loop from the tests against the vectorised kernel.

The process environment is fixed before NumPy and torch load (the script re-executes itself):
``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` are unset so OpenBLAS picks its kernel for the CPU
(the kernel threadpoolctl reports is printed); ``OMP_WAIT_POLICY=PASSIVE`` because on a 2-vCPU VM
torch's spinning OpenMP workers and NumPy's threads starve each other (torch calls that take
0.15 ms were measured at 32 ms after a NumPy phase); ``MALLOC_MMAP_THRESHOLD_`` and
``MALLOC_TRIM_THRESHOLD_`` keep freed buffers in the heap, so neither library pays page faults for
every fresh output (expensive in a VM). Pass ``--keep-env`` to measure with the environment as is.

Usage: python benchmarks/bench_reference.py [--threads N] [--repeats R] [--batches 1 8] [--json PATH]
"""

from __future__ import annotations

import os
import sys

_FIXED_ENV = {
    "OMP_WAIT_POLICY": "PASSIVE",
    "MALLOC_MMAP_THRESHOLD_": str(32 * 1024 * 1024),
    "MALLOC_TRIM_THRESHOLD_": str(4 * 1024**3),
}
_UNSET = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

if "--keep-env" not in sys.argv and os.environ.get("CONVCOST_BENCH_ENV") != "1":
    original = {name: os.environ.get(name) for name in (*_UNSET, *_FIXED_ENV)}
    env = {k: v for k, v in os.environ.items() if k not in _UNSET}
    env.update(_FIXED_ENV)
    env["CONVCOST_BENCH_ENV"] = "1"
    env["CONVCOST_BENCH_ORIGINAL_ENV"] = repr(original)
    os.execve(sys.executable, [sys.executable, *sys.argv], env)

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402
from torch import nn  # noqa: E402

from convcost.reference import depthwise, kernels, run  # noqa: E402
from convcost.report import analyze  # noqa: E402
from convcost.shapes import infer_shapes  # noqa: E402
from convcost.spec import (  # noqa: E402
    Activation,
    BatchNorm,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    GlobalAvgPool2D,
    Model,
)
from convcost.zoo import mobilenet_v1  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def interleaved(fns: dict[str, Callable[[], object]], repeats: int, budget: float = 2.0) -> dict[str, dict[str, float]]:
    """Best and median seconds of each function, called in turn so a busy machine hits all alike."""
    for fn in fns.values():  # warm-up: first calls allocate, JIT primitives (oneDNN), fill caches
        fn()
        fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    start = time.perf_counter()
    for i in range(repeats):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
        if i >= 2 and time.perf_counter() - start > budget:
            break
    return {name: {"best": min(ts), "median": statistics.median(ts), "runs": len(ts)} for name, ts in times.items()}


def matmul_peak(repeats: int) -> dict[str, float]:
    n = 2048
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), dtype=np.float32)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    t = interleaved({"numpy": lambda: np.matmul(a, b, out=out), "torch": lambda: torch.mm(ta, tb)}, repeats, budget=4.0)
    flops = 2 * n**3
    return {"numpy_gflops": flops / t["numpy"]["best"] / 1e9, "torch_gflops": flops / t["torch"]["best"] / 1e9}


def torch_padding(layer: Any, size: tuple[int, int]) -> tuple[nn.Module | None, int | tuple[int, int]]:
    """Keras 'same' in torch: native symmetric padding when it is symmetric, else an explicit pad."""
    (top, bottom), (left, right) = kernels.resolve_padding(
        layer.padding, size, layer.kernel, layer.stride, layer.dilation
    )
    if top == bottom and left == right:
        return None, (top, left)
    return nn.ZeroPad2d((left, right, top, bottom)), 0


def torch_network(model: Model, weights: dict[str, dict[str, np.ndarray]]) -> nn.Module:
    """MobileNet v1 (the kinds it uses) built by hand in torch with the reference's weights."""
    modules: list[nn.Module] = []
    for path, layer, in_shape, _ in infer_shapes(model):
        w = {k: torch.from_numpy(v) for k, v in weights.get(path, {}).items()}
        if isinstance(layer, (Conv2D, DepthwiseConv2D)):
            c = in_shape[0]
            groups = layer.groups if isinstance(layer, Conv2D) else c
            out_c = layer.filters if isinstance(layer, Conv2D) else c * layer.depth_multiplier
            pad, padding = torch_padding(layer, (in_shape[1], in_shape[2]))
            conv = nn.Conv2d(c, out_c, layer.kernel, layer.stride, padding, layer.dilation, groups, bias=layer.bias)
            conv.weight.data.copy_(w["weight"])
            if layer.bias:
                conv.bias.data.copy_(w["bias"])
            modules += [pad, conv] if pad is not None else [conv]
        elif isinstance(layer, BatchNorm):
            bn = nn.BatchNorm2d(in_shape[0], eps=kernels.BN_EPSILON)
            for name in ("weight", "bias", "running_mean", "running_var"):
                getattr(bn, name).data.copy_(w[name])
            modules.append(bn)
        elif isinstance(layer, Activation):
            modules.append({"relu6": nn.ReLU6(inplace=True), "softmax": nn.Softmax(dim=1)}[layer.function])
        elif isinstance(layer, GlobalAvgPool2D):
            modules += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        elif isinstance(layer, Dense):
            fc = nn.Linear(in_shape[0], layer.units)
            fc.weight.data.copy_(w["weight"])
            fc.bias.data.copy_(w["bias"])
            modules.append(fc)
        else:
            raise NotImplementedError(type(layer).__name__)
    return nn.Sequential(*modules).eval()


def layer_benchmarks(batches: list[int], repeats: int) -> list[dict[str, Any]]:
    model = mobilenet_v1()
    rows = analyze(model).rows
    shaped = {path: layer for path, layer, _, _ in infer_shapes(model)}
    results = []
    rng = np.random.default_rng(0)
    for row in rows:
        if row.kind not in ("conv", "depthwise", "pointwise"):
            continue
        layer: Any = shaped[row.path]
        c, h, w = row.input
        for batch in batches:
            x = rng.standard_normal((batch, c, h, w), dtype=np.float32)
            tx = torch.from_numpy(x)
            if row.kind == "depthwise":
                weight = rng.standard_normal((c, 1, *layer.kernel), dtype=np.float32)
                fns = {
                    "numpy": lambda x=x, weight=weight, layer=layer: depthwise.depthwise_conv2d(
                        x, weight, None, layer.stride, "same"
                    )
                }
                groups = c
            elif row.kind == "pointwise":
                weight = rng.standard_normal((layer.filters, c, 1, 1), dtype=np.float32)
                fns = {"numpy": lambda x=x, weight=weight: kernels.pointwise_conv2d(x, weight)}
                groups = 1
            else:
                weight = rng.standard_normal((layer.filters, c, *layer.kernel), dtype=np.float32)
                fns = {
                    "numpy": lambda x=x, weight=weight, layer=layer: kernels.conv2d(
                        x, weight, None, layer.stride, "same"
                    )
                }
                groups = 1
            pad, padding = torch_padding(layer, (h, w))
            tw = torch.from_numpy(weight)

            def torch_fn(
                tx: torch.Tensor = tx,
                tw: torch.Tensor = tw,
                pad: Any = pad,
                padding: Any = padding,
                stride: Any = layer.stride,
                groups: int = groups,
            ) -> torch.Tensor:
                with torch.inference_mode():
                    return F.conv2d(pad(tx) if pad is not None else tx, tw, None, stride, padding, 1, groups)

            fns["torch"] = torch_fn
            t = interleaved(fns, repeats)
            macs = row.macs * batch
            form = "gemm"
            if row.kind == "depthwise":  # which of the kernel's three forms ran (depthwise._flat, _banded)
                stride = kernels.pair(layer.stride)
                out_hw = (row.output[1], row.output[2])
                if depthwise._flat(stride, out_hw, w):
                    form = "flat"
                else:
                    form = "banded" if depthwise._banded(stride, out_hw, c) else "taps"
            results.append(
                {
                    "layer": row.path,
                    "kind": row.kind,
                    "form": form,
                    "batch": batch,
                    "input": list(row.input),
                    "output": list(row.output),
                    "macs": macs,
                    "numpy_s": t["numpy"]["best"],
                    "torch_s": t["torch"]["best"],
                    "numpy_median_s": t["numpy"]["median"],
                    "torch_median_s": t["torch"]["median"],
                    "ratio": t["torch"]["best"] / t["numpy"]["best"],
                    "numpy_gflops": 2 * macs / t["numpy"]["best"] / 1e9,
                    "torch_gflops": 2 * macs / t["torch"]["best"] / 1e9,
                }
            )
            print(
                f"  {row.path:<12} {row.kind:<9} {form:<6} b={batch}  numpy {t['numpy']['best'] * 1e3:8.3f} ms  "
                f"torch {t['torch']['best'] * 1e3:8.3f} ms  ratio {results[-1]['ratio']:5.2f}  "
                f"{results[-1]['numpy_gflops']:6.1f} GFLOP/s",
                flush=True,
            )
    return results


def forward_benchmarks(batches: list[int], repeats: int) -> list[dict[str, Any]]:
    results = []
    for batch in batches:
        model = mobilenet_v1().with_batch(batch)
        x = np.random.default_rng(1).standard_normal((batch, 3, 224, 224), dtype=np.float32)
        weights = run(model, x, seed=0).weights
        net = torch_network(model, weights)
        tx = torch.from_numpy(x)

        def torch_forward(net: nn.Module = net, tx: torch.Tensor = tx) -> torch.Tensor:
            with torch.inference_mode():
                return net(tx)

        ours = run(model, x, weights=weights).output
        theirs = torch_forward().numpy()
        error = float(np.abs(ours - theirs).max() / np.abs(theirs).max())
        t = interleaved(
            {"numpy": lambda m=model, x=x, w=weights: run(m, x, weights=w), "torch": torch_forward}, repeats, 6.0
        )
        macs = analyze(model).totals.macs
        results.append(
            {
                "batch": batch,
                "macs": macs,
                "numpy_s": t["numpy"]["best"],
                "torch_s": t["torch"]["best"],
                "numpy_median_s": t["numpy"]["median"],
                "torch_median_s": t["torch"]["median"],
                "ratio": t["torch"]["best"] / t["numpy"]["best"],
                "numpy_gflops": 2 * macs / t["numpy"]["best"] / 1e9,
                "torch_gflops": 2 * macs / t["torch"]["best"] / 1e9,
                "max_relative_difference": error,
            }
        )
        print(
            f"  forward b={batch}: numpy {t['numpy']['best'] * 1e3:8.2f} ms  torch {t['torch']['best'] * 1e3:8.2f} ms  "
            f"ratio {results[-1]['ratio']:.2f}  (outputs agree to {error:.1e} relative)",
            flush=True,
        )
    return results


def memory_benchmark(batch: int) -> dict[str, Any]:
    """Traced peak of the forward pass (weights allocated before tracing) against the minimum."""
    model = mobilenet_v1().with_batch(batch)
    weights = run(model.with_batch(1), seed=0).weights
    itemsize = 4
    shaped = infer_shapes(model)
    # The minimum takes the largest input + output pair of any layer. BN and activations run
    # in place in the reference, so the stricter minimum only pairs layers that need both buffers.
    pairs = [(int(batch * (np.prod(i) + np.prod(o)) * itemsize), p) for p, _, i, o in shaped]
    largest_pair, pair_layer = max(pairs)
    in_place = (BatchNorm, Activation)
    strict_pair, strict_layer = max(
        (pair, path)
        for (pair, path), (_, layer, _, _) in zip(pairs, shaped, strict=True)
        if not isinstance(layer, in_place)
    )
    im2col = 0
    for _, layer, in_shape, out_shape in shaped:
        if isinstance(layer, Conv2D) and layer.kernel != (1, 1):
            kh, kw = layer.kernel
            im2col = max(im2col, batch * in_shape[0] * kh * kw * out_shape[1] * out_shape[2] * itemsize)
    tracemalloc.start()
    run(model, weights=weights, seed=1)  # draws its input inside the traced region
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    minimum = int(largest_pair + im2col)
    chunk = kernels.IM2COL_CHUNK_ELEMENTS * itemsize
    result = {
        "batch": batch,
        "peak_bytes": peak,
        "largest_input_output_pair_bytes": int(largest_pair),
        "largest_pair_layer": pair_layer,
        "largest_im2col_bytes": im2col,
        "theoretical_minimum_bytes": minimum,
        "peak_over_minimum": peak / minimum,
        "im2col_chunk_bytes": chunk,
        "largest_pair_not_in_place_bytes": strict_pair,
        "largest_pair_not_in_place_layer": strict_layer,
        "strict_minimum_bytes": strict_pair + im2col,
        "peak_over_strict_minimum": peak / (strict_pair + im2col),
    }
    print(
        f"  peak {peak / 2**20:.1f} MiB; minimum {minimum / 2**20:.1f} MiB (pair {largest_pair / 2**20:.1f} MiB at "
        f"{pair_layer} + im2col {im2col / 2**20:.1f} MiB): {result['peak_over_minimum']:.2f}x; "
        f"strict minimum {(strict_pair + im2col) / 2**20:.1f} MiB (pair at {strict_layer}): "
        f"{result['peak_over_strict_minimum']:.2f}x",
        flush=True,
    )
    return result


def naive_benchmark() -> dict[str, Any]:
    """The readable loop twin kept in the tests, against the vectorised kernel, on a small map."""
    spec = importlib.util.spec_from_file_location("twins", ROOT / "tests" / "test_reference_kernels.py")
    assert spec and spec.loader
    twins = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(twins)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 32, 28, 28), dtype=np.float32)
    w = rng.standard_normal((32, 1, 3, 3), dtype=np.float32)
    pads = kernels.resolve_padding("same", (28, 28), (3, 3), (1, 1), (1, 1))
    t0 = time.perf_counter()
    slow = twins.naive_depthwise(x, w, 1, pads, 1, 1)
    naive = time.perf_counter() - t0
    fast = interleaved({"fast": lambda: depthwise.depthwise_conv2d(x, w, None, 1, "same")}, 50)["fast"]["best"]
    assert np.abs(slow - depthwise.depthwise_conv2d(x, w, None, 1, "same")).max() < 1e-4
    print(f"  naive loops {naive * 1e3:.0f} ms, vectorised {fast * 1e3:.3f} ms: {naive / fast:.0f}x", flush=True)
    return {"input": [1, 32, 28, 28], "kernel": [3, 3], "naive_s": naive, "vectorised_s": fast, "factor": naive / fast}


def summarize(layers: list[dict[str, Any]], peak: dict[str, float]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for batch in sorted({r["batch"] for r in layers}):
        for kind in ("conv", "depthwise", "pointwise"):
            rows = [r for r in layers if r["batch"] == batch and r["kind"] == kind]
            numpy_s, torch_s = sum(r["numpy_s"] for r in rows), sum(r["torch_s"] for r in rows)
            macs = sum(r["macs"] for r in rows)
            summary[f"{kind}/b{batch}"] = {
                "layers": len(rows),
                "numpy_s": numpy_s,
                "torch_s": torch_s,
                "ratio": torch_s / numpy_s,
                "numpy_gflops": 2 * macs / numpy_s / 1e9,
                "torch_gflops": 2 * macs / torch_s / 1e9,
                "fraction_of_numpy_matmul_peak": 2 * macs / numpy_s / 1e9 / peak["numpy_gflops"],
            }
    return summary


def machine(threads: int) -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
        avx512 = "avx512f" in flags
    except (OSError, StopIteration):
        avx512 = False
    blas = [
        {
            k: info.get(k)
            for k in ("internal_api", "architecture", "version", "num_threads", "threading_layer", "prefix")
        }
        for info in threadpool_info()
    ]
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "avx512": avx512,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "threads": threads,
        "torch_threads": torch.get_num_threads(),
        "depthwise_workers": kernels.THREADS,
        "threadpools": blas,
        "load_average_at_start": os.getloadavg(),
        "environment_before_fix": os.environ.get("CONVCOST_BENCH_ORIGINAL_ENV", "kept as is (--keep-env)"),
        "environment_set": {k: os.environ.get(k) for k in (*_FIXED_ENV, *_UNSET)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--json", default="bench_reference.json", help="where to write the results")
    parser.add_argument(
        "--wait-idle", type=float, default=0, help="wait up to this many seconds for a 1-min load < 0.5"
    )
    parser.add_argument("--keep-env", action="store_true", help="do not fix the environment (see the docstring)")
    args = parser.parse_args()

    deadline = time.monotonic() + args.wait_idle
    while os.getloadavg()[0] >= 0.5 and time.monotonic() < deadline:
        time.sleep(5)
    torch.set_num_threads(args.threads)
    kernels.THREADS = args.threads  # the depthwise kernel's own worker threads
    with threadpool_limits(limits=args.threads):
        info = machine(args.threads)
        print(f"{info['cpu']} ({info['cpus']} CPUs, AVX-512: {info['avx512']})")
        print(f"numpy {info['numpy']}, torch {info['torch']}, python {info['python']}")
        print(
            f"threads: numpy BLAS {args.threads} (threadpoolctl), depthwise workers {kernels.THREADS}, "
            f"torch {torch.get_num_threads()}"
        )
        for pool in info["threadpools"]:
            print(f"  threadpool: {pool}")
        print(f"environment: {info['environment_set']} (before: {info['environment_before_fix']})")
        print(f"load average at start: {info['load_average_at_start']}")
        print("matmul peak (float32 2048^3):", flush=True)
        peak = matmul_peak(args.repeats)
        print(f"  numpy {peak['numpy_gflops']:.1f} GFLOP/s, torch {peak['torch_gflops']:.1f} GFLOP/s")
        print("MobileNet v1 224 conv layers:", flush=True)
        layers = layer_benchmarks(args.batches, args.repeats)
        for layer in layers:
            layer["fraction_of_numpy_matmul_peak"] = layer["numpy_gflops"] / peak["numpy_gflops"]
        summary = summarize(layers, peak)
        print("per kind (ratio = torch time / numpy time; >= 1 means numpy is as fast):")
        for key, s in summary.items():
            print(
                f"  {key:<14} ratio {s['ratio']:5.2f}  numpy {s['numpy_gflops']:6.1f} GFLOP/s "
                f"({100 * s['fraction_of_numpy_matmul_peak']:.0f}% of matmul peak)  "
                f"torch {s['torch_gflops']:6.1f} GFLOP/s"
            )
        print("whole forward:", flush=True)
        forward = forward_benchmarks(args.batches, max(3, args.repeats // 3))
        print("memory (batch 8 forward):", flush=True)
        memory = memory_benchmark(8)
        print("naive depthwise loops:", flush=True)
        naive = naive_benchmark()
        info["load_average_at_end"] = os.getloadavg()
        print(f"load average at end: {info['load_average_at_end']}")
    result = {
        "machine": info,
        "matmul_peak": peak,
        "layers": layers,
        "per_kind": summary,
        "forward": forward,
        "memory": memory,
        "naive_depthwise": naive,
    }
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
