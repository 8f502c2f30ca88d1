"""Sample files of the newer front doors, for the fuzz tests: graph spec files (``inputs``, ``shares``,
several outputs), ``.keras`` archives and ONNX files.

Nothing here comes from convcost's own writers except the graph spec of the Keras fixture (read by
the Keras reader, written by ``specfile``): the archives are zipped with Python's ``zipfile`` from the
Keras 3 configs in tests/data (no Keras needed), the ONNX file is written with ``onnx.helper`` (the
``onnx`` package of the test extra), so a fuzz test starts from what the other tools write.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

from convcost import specfile
from convcost.interop.keras import from_keras_json

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"

#: the Keras 3 configs the archives are made of; ``keras_open_size.json`` leaves H and W as None
KERAS_FIXTURES = ("keras_tiny_sequential.json", "keras_tiny_functional.json", "keras_nested_shared.json")
OPEN_SIZE = DATA / "keras_open_size.json"


def graph_seeds() -> dict[str, dict[str, Any]]:
    """Graph spec files as plain data: the two examples that name their ``inputs`` (skips, a
    U-Net's cropped skip), and the Keras fixture with two named inputs, weights shared by a second
    call (``shares``) and two outputs, written as a spec file."""
    seeds = {
        name: specfile.model_to_dict(specfile.load(ROOT / "examples" / f"{name}.toml"))
        for name in ("graph_skips", "unet_tiny")
    }
    nested = from_keras_json((DATA / "keras_nested_shared.json").read_text())
    seeds["nested_shared"] = specfile.model_to_dict(nested)
    return seeds


def keras_archive(config: str | bytes, *, compression: int = zipfile.ZIP_DEFLATED, name: str = "config.json") -> bytes:
    """A ``.keras`` archive as Keras 3 writes one: ``metadata.json``, ``config.json`` and the weights
    (here bytes that are not HDF5: the reader must never open them)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.5.0", "date_saved": "2026-12-01@00:00:00"}))
        archive.writestr(name, config)
        archive.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n" + bytes(64))
    return buffer.getvalue()


def onnx_model() -> Any:
    """A small ONNX model written with ``onnx.helper``: a 3x3 conv with bias (stride 2, padded), ReLU,
    a 2x2 max pool, a 3x3 conv without bias and a residual Add around it, a global average pool,
    Flatten and a Gemm; the batch symbolic. ``ONNX_TOTALS`` counts it by hand."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)

    def weight(name: str, *shape: int) -> Any:
        return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)

    nodes = [
        helper.make_node(
            "Conv", ["x", "w1", "b1"], ["c1"], name="conv1", kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]
        ),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2"], ["c2"], name="conv2", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "p1"], ["s"], name="skip"),
        helper.make_node("GlobalAveragePool", ["s"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "fc", "fcb"], ["y"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "fuzz_seed",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 5])],
        [weight("w1", 8, 3, 3, 3), weight("b1", 8), weight("w2", 8, 8, 3, 3), weight("fc", 5, 8), weight("fcb", 5)],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="fuzz")


#: ``onnx_model`` counted by hand (paper convention: conv and dense weights and biases, their multiply-adds)
ONNX_TOTALS = {
    # conv1 3x3x3x8 + 8 on an 8x8 output; conv2 3x3x8x8 on 4x4 (no bias); fc 8x5 + 5
    "params": (3 * 3 * 3 * 8 + 8) + 3 * 3 * 8 * 8 + (8 * 5 + 5),
    "macs": 3 * 3 * 3 * 8 * 8 * 8 + 3 * 3 * 8 * 8 * 4 * 4 + 8 * 5,
}


def write_samples(folder: Path) -> dict[str, list[str]]:
    """Write the samples into ``folder``: the paths of each kind, for ``FRONT_DOORS`` (every list but
    the last reads with no size flag)."""
    graphs = []
    for name, data in graph_seeds().items():
        if name == "nested_shared":  # the examples are already files
            graphs.append(folder / f"{name}.toml")
            graphs[-1].write_text(specfile.dumps(specfile.model_from_dict(data), "toml"))
            graphs.append(folder / f"{name}.json")
            graphs[-1].write_text(json.dumps(data))
    graphs += [ROOT / "examples" / "graph_skips.toml", ROOT / "examples" / "unet_tiny.toml"]
    archives = []
    for fixture in (*KERAS_FIXTURES, OPEN_SIZE.name):
        archives.append(folder / fixture.replace(".json", ".keras"))
        archives[-1].write_bytes(keras_archive((DATA / fixture).read_text()))
    open_size = archives.pop()
    onnx_file = folder / "fuzz_seed.onnx"
    onnx_file.write_bytes(onnx_model().SerializeToString())
    return {
        "graph spec files": [str(p) for p in graphs],
        "Keras archives": [str(p) for p in archives],
        "ONNX files": [str(onnx_file)],
        # read only with --input-size or --resolution: the one list a bare command must refuse
        "Keras files that leave a size open": [str(OPEN_SIZE), str(open_size)],
    }
