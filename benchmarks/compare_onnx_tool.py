"""convcost and onnx-tool on the same ONNX files: totals side by side, and onnx-tool's numbers per
operator type, so docs/onnx.md can say where the two differ and why.

For each file: convcost's paper multiply-adds and params (conv / Gemm / MatMul), its keras params
(every float tensor the file holds), onnx-tool's "MACs" and params, and onnx-tool's MACs for the
Conv, Gemm and MatMul nodes alone with the bias adds it puts in them taken out (one per output
element of a node that has a bias): that last figure is the paper count, when onnx-tool gets the
shapes right. Also the source model's own paper count (forward hooks on torch's modules).

Usage: python benchmarks/compare_onnx_tool.py [--files DIR] [--json results.json]
(the files are bench_onnx.py's, made there if absent)
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_onnx import make_files, onnx_tool_inputs, onnx_tool_profiled

from convcost import analyze
from convcost.interop.onnx import from_onnx


def onnx_tool_profile(path: Path) -> dict[str, Any]:
    graph = onnx_tool_profiled(path, onnx_tool_inputs(path))
    by_op: dict[str, int] = defaultdict(int)
    weighted = 0
    for node in graph.nodemap.values():
        macs = int(node.macs[0]) if hasattr(node, "macs") else 0
        by_op[node.op_type] += macs
        if node.op_type in ("Conv", "Gemm", "MatMul"):
            has_bias = node.op_type in ("Conv", "Gemm") and len(node.input) > 2 and node.input[2] != ""
            out = math.prod(graph.tensormap[node.output[0]].get_shape())
            weighted += macs - (out if has_bias else 0)
    return {"macs": round(graph.macs[0]), "params": int(graph.params), "by_op": dict(by_op), "weighted": weighted}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", default="/tmp/bench_onnx", help="bench_onnx.py's files (made if absent)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    folder = Path(args.files)
    folder.mkdir(parents=True, exist_ok=True)
    results = {}
    for name, path in make_files(folder).items():
        model = from_onnx(str(path))
        paper, keras = analyze(model, "paper").totals, analyze(model, "keras").totals
        tool = onnx_tool_profile(path)
        results[name] = {
            "convcost_paper_macs": paper.macs,
            "convcost_paper_params": paper.params,
            "convcost_keras_params": keras.params,
            "onnx_tool_macs": tool["macs"],
            "onnx_tool_params": tool["params"],
            "onnx_tool_conv_gemm_matmul_without_bias": tool["weighted"],
            "onnx_tool_by_op": tool["by_op"],
            "notes": list(model.notes),
        }
        top = sorted(tool["by_op"].items(), key=lambda kv: -kv[1])[:6]
        print(
            f"{name:<26} convcost paper {paper.macs:>13,} MACs {paper.params:>10,} params (keras {keras.params:,})\n"
            f"{'':<26} onnx-tool      {tool['macs']:>13,} MACs {tool['params']:>10,} params; conv/gemm/matmul "
            f"without bias adds {tool['weighted']:,}\n{'':<26} by op: "
            + ", ".join(f"{op} {macs:,}" for op, macs in top)
        )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
