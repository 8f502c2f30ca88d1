"""How fast is the analytic path? `convcost table --alpha 0.75` end to end against torchinfo.

Measured in one run, each command in a fresh process (what a user waits for), best and median
of several repeats, the commands taking turns (one round runs each once) so that a host whose speed
drifts slows every side alike:

* convcost: ``python -m convcost table --alpha 0.75`` (table and JSON output), which is what the
  ``convcost`` console script runs (minus a launcher such as a pyenv shim, which is not ours);
* torchinfo: a fresh interpreter that imports torch and torchinfo, builds the same MobileNet v1
  (alpha 0.75, 224x224) by hand and prints ``torchinfo.summary`` with mult-adds;
* in process: ``analyze(mobilenet_v1(alpha=0.75))`` alone, no process start.

Usage: python benchmarks/bench_cli.py [--repeats N] [--json results.json]
The target (issue 2) is convcost at least 15x faster than torchinfo.
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
import timeit
from typing import Any

TORCHINFO_SCRIPT = """
import torch
from torch import nn
import torchinfo

def conv_bn(cin, cout, k, s, groups=1):
    return [nn.Conv2d(cin, cout, k, s, padding=k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.ReLU6()]

alpha = 0.75
c = lambda n: int(n * alpha)
blocks = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
layers = conv_bn(3, c(32), 3, 2)
cin = c(32)
for n, s in blocks:
    layers += conv_bn(cin, cin, 3, s, groups=cin) + conv_bn(cin, c(n), 1, 1)
    cin = c(n)
net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000), nn.Softmax(dim=1))
print(torchinfo.summary(net, (1, 3, 224, 224), verbose=0))
"""


# A normal installation keeps compiled bytecode (.pyc); some shells set PYTHONDONTWRITEBYTECODE,
# which makes every run recompile convcost's sources (about 25 ms) while torch's installed .pyc
# files are used. Both sides run with bytecode caching, after one warm-up run that writes it.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def interleaved(commands: dict[str, list[str]], repeats: int) -> dict[str, list[float]]:
    """Each command ``repeats`` times in a fresh process, in rounds: every round runs every command
    once, so a host whose speed drifts during the run (a shared VM) slows all sides alike."""
    for argv in commands.values():
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=ENV)  # warm-up: writes .pyc files
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, argv in commands.items():
            start = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=ENV)
            times[name].append(time.perf_counter() - start)
    return times


def summary(times: list[float]) -> dict[str, float]:
    return {"best_s": min(times), "median_s": statistics.median(times)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    py = sys.executable
    commands = {
        "python_startup": [py, "-c", "pass"],
        "convcost_table": [py, "-m", "convcost", "table", "--alpha", "0.75"],
        "convcost_json": [py, "-m", "convcost", "table", "--alpha", "0.75", "--format", "json"],
        "torchinfo_summary": [py, "-c", TORCHINFO_SCRIPT],
    }
    times = interleaved(commands, args.repeats)
    results: dict[str, dict[str, Any]] = {
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": _cpus()},
        **{name: summary(runs) for name, runs in times.items()},
    }
    from convcost import analyze, mobilenet_v1

    model = mobilenet_v1(alpha=0.75)
    runs = 200
    per_call = min(timeit.repeat(lambda: analyze(model), number=runs, repeat=5)) / runs
    results["analyze_in_process"] = {"best_s": per_call}
    build = min(timeit.repeat(lambda: mobilenet_v1(alpha=0.75), number=runs, repeat=5)) / runs
    results["build_in_process"] = {"best_s": build}

    torchinfo = results["torchinfo_summary"]
    for key in ("convcost_table", "convcost_json"):
        results[key]["speedup_median"] = torchinfo["median_s"] / results[key]["median_s"]
        results[key]["speedup_best"] = torchinfo["best_s"] / results[key]["best_s"]
        # the ratio within each round (the same moment of the host), then its median
        rounds = [t / c for t, c in zip(times["torchinfo_summary"], times[key], strict=True)]
        results[key]["speedup_per_round_median"] = statistics.median(rounds)

    print(f"machine: {results['machine']}")
    for key, value in results.items():
        if key == "machine":
            continue
        cells = "  ".join(f"{k}={v * 1000:.2f} ms" if k.endswith("_s") else f"{k}={v:.1f}x" for k, v in value.items())
        print(f"{key:<20} {cells}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)


def _cpus() -> int:
    return os.cpu_count() or 0


if __name__ == "__main__":
    main()
