"""How fast is from_torch? ``from_torch`` + ``analyze`` of a ResNet-50 against ``torchinfo.summary``.

The ResNet-50 is Hugging Face transformers' ``ResNetForImageClassification(ResNetConfig())`` (the
defaults are ResNet-50: 25.6 M parameters), random weights, input 1x3x224x224, in training mode as
``from_config`` builds it. Both sides run in this process on the same module object, side by side:

* torchinfo: ``torchinfo.summary(model, input_size=(1, 3, 224, 224), verbose=0)`` (a real forward
  with a hook on every module);
* convcost: ``analyze(from_torch(model, (1, 3, 224, 224)), "torchinfo")`` (the forward captured on
  shape-only tensors, the graph built, every node priced as torchinfo prices it).

``--rounds`` warm rounds, the order rotated every round so neither side always runs first; then
``--fresh`` first calls, each in a new process (torch, transformers and the model already loaded,
not timed): what one CLI run pays. The two totals are checked equal before anything is timed.

Usage: python benchmarks/bench_torch_reader.py [--rounds 7] [--fresh 3] [--json results.json]
The target (issue 13) is convcost at least 2x faster than torchinfo.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

# this checkout's convcost, not an installed one
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SIZE = (1, 3, 224, 224)

FIRST_CALL = """
import sys, time, warnings
warnings.filterwarnings("ignore")
sys.path.insert(0, {here!r})
from bench_torch_reader import build, candidates
model = build()
run = candidates(model)[{name!r}]
started = time.perf_counter()
run()
print(time.perf_counter() - started)
"""


def build() -> Any:
    import torch
    import transformers

    torch.manual_seed(0)
    return transformers.ResNetForImageClassification(transformers.ResNetConfig())


def candidates(model: Any) -> dict[str, Callable[[], Any]]:
    import torchinfo

    from convcost import analyze, from_torch

    return {
        "torchinfo.summary": lambda: torchinfo.summary(model, input_size=SIZE, verbose=0),
        "from_torch + analyze": lambda: analyze(from_torch(model, SIZE), "torchinfo"),
    }


def check(model: Any) -> dict[str, int]:
    """Both sides' totals, which must agree before their times mean anything."""
    runs = candidates(model)
    stats = runs["torchinfo.summary"]()
    totals = runs["from_torch + analyze"]().totals
    theirs = {"params": int(stats.total_params), "macs": int(stats.total_mult_adds)}
    ours = {"params": totals.params, "macs": totals.macs}
    if ours != theirs:
        raise SystemExit(f"convcost {ours} != torchinfo {theirs}: nothing to time")
    return ours


def warm(model: Any, rounds: int) -> dict[str, list[float]]:
    runs = candidates(model)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(rounds):
        order = list(runs.items())
        order = order[r % len(order) :] + order[: r % len(order)]
        for name, run in order:
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return times


def fresh(repeats: int) -> dict[str, list[float]]:
    here = os.path.dirname(os.path.abspath(__file__))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.dirname(here), os.environ.get("PYTHONPATH", "")])}
    times: dict[str, list[float]] = {}
    for _ in range(repeats):
        for name in ("torchinfo.summary", "from_torch + analyze"):
            done = subprocess.run(
                [sys.executable, "-c", FIRST_CALL.format(here=here, name=name)],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )
            times.setdefault(name, []).append(float(done.stdout.split()[-1]))
    return times


def summary(times: dict[str, list[float]]) -> dict[str, Any]:
    base = statistics.median(times["torchinfo.summary"])
    return {
        name: {
            "median_ms": round(statistics.median(values) * 1e3, 1),
            "best_ms": round(min(values) * 1e3, 1),
            "runs_ms": [round(v * 1e3, 1) for v in values],
            "torchinfo_over_this": round(base / statistics.median(values), 2),
        }
        for name, values in times.items()
    }


def main() -> None:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--fresh", type=int, default=3, help="first calls in fresh processes (0: none)")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args()

    import torch
    import torchinfo
    import transformers

    model = build()
    totals = check(model)
    results: dict[str, Any] = {
        "model": "transformers ResNetForImageClassification(ResNetConfig()), input 1x3x224x224",
        "totals": totals,
        "versions": {
            "torch": torch.__version__,
            "torchinfo": getattr(torchinfo, "__version__", "?"),
            "transformers": transformers.__version__,
            "python": platform.python_version(),
        },
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "warm": summary(warm(model, args.rounds)),
    }
    if args.fresh:
        results["first_call"] = summary(fresh(args.fresh))
    print(f"{results['model']}: params {totals['params']:,}, mult-adds {totals['macs']:,} (both sides agree)")
    for section in ("warm", "first_call"):
        if section not in results:
            continue
        label = f"{args.rounds} warm interleaved rounds" if section == "warm" else f"{args.fresh} fresh processes"
        print(f"\n{label} (load average {results['load_average']:.2f}):")
        for name, figures in results[section].items():
            print(
                f"  {name:22s} median {figures['median_ms']:8.1f} ms   best {figures['best_ms']:8.1f} ms   "
                f"torchinfo / this = {figures['torchinfo_over_this']:5.2f}x"
            )
    ratio = results["warm"]["from_torch + analyze"]["torchinfo_over_this"]
    print(f"\nfrom_torch + analyze is {ratio:.1f}x faster than torchinfo.summary (target: 2x)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
