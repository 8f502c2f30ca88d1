"""Reading ONNX files: every exporter's files against the model they were exported from, every
tensor's shape against onnxruntime's, each operator's variants on graphs made by hand.

Independent sources: the torch or Keras model itself (forward hooks, parameter counts,
count_params(), tests/onnx_exports.py), onnxruntime running the file, and counts worked out by
hand from each graph's geometry.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from convcost import analyze
from convcost.cli import main
from convcost.errors import ConvcostError, GeometryError, SpecFileError, UnsupportedLayerError
from convcost.interop.onnx import _Reader, from_onnx
from convcost.interop.onnx_wire import read_model
from convcost.loading import load
from convcost.model import Model
from convcost.spec import AvgPool2D

TORCH_CASES = [
    *(("zoo_mobilenet_v1", e) for e in ("ts9", "ts11", "ts13", "ts17", "ts20_dynbatch", "dynamo", "dynamo_noopt")),
    ("zoo_mobilenet_v2", "ts17"),
    ("zoo_mobilenet_v2", "dynamo"),
    ("zoo_inception10", "ts13"),
    ("zoo_inception10", "dynamo_noopt"),
    ("hf_mobilenet_v2", "ts11"),  # TF padding: the Pads are computed from the input's size
    ("hf_mobilenet_v2", "dynamo"),
    ("hf_resnet", "ts17"),
    ("hf_resnet", "dynamo_noopt"),
    ("hf_resnet", "dynamo_dynbatch"),
    ("hf_convnext", "ts17"),
    ("hf_convnext", "dynamo"),
    ("hf_efficientnet", "ts11"),  # 'same' convs: auto_pad SAME_UPPER
    ("hf_efficientnet", "dynamo"),
    ("torch_unet", "ts13"),  # ConvTranspose, Resize, reflect Pad, Split, Slice: family C's kinds
    ("torch_unet", "dynamo_noopt"),  # torch.split as SplitToSequence
]
KERAS_CASES = [
    *((m, e) for m in ("keras_small", "keras_mobilenet") for e in ("default", "fixed_batch")),
    ("keras_unet", "default"),  # UpSampling2D, Conv2DTranspose, Cropping2D: family C's kinds
]


def read_or_skip(path: Path, **options: Any) -> Model:
    """The model, or a skip when the file needs layer kinds this convcost does not have yet (they
    land with issue 12); any other refusal fails."""
    try:
        return from_onnx(str(path), **options)
    except UnsupportedLayerError as e:
        reasons = re.findall(r"\(needs the [\w ]+ kinds?\)", str(e))
        if reasons and str(e).count("needs ") == len(reasons):
            pytest.skip(f"needs layer kinds not in convcost yet: {str(e).split('cannot map ', 1)[1][:300]}")
        raise


@pytest.mark.parametrize("source, exporter", TORCH_CASES, ids=[f"{s}-{e}" for s, e in TORCH_CASES])
def test_torch_exports_cost_what_the_model_costs(onnx_exports: Any, source: str, exporter: str) -> None:
    made = onnx_exports.torch(source, exporter)
    model = read_or_skip(made.path)
    paper, keras = analyze(model, "paper").totals, analyze(model, "keras").totals
    assert model.input == made.source.input and model.batch == 1
    assert paper.macs == made.source.paper_macs
    assert (paper.params, keras.params) == made.source.expected_params(made.folded)
    folded = [n for n in model.notes if n.startswith("BatchNorm was folded")]
    if made.folded and made.source.batchnorms:
        plural = "s" if made.source.batchnorms != 1 else ""
        assert folded == [
            f"BatchNorm was folded into {made.source.batchnorms} convolution{plural} by the exporter: the file "
            "holds their rescaled weights and a bias each, not BatchNorm's 4 values per channel"
        ]
    else:
        assert folded == []


@pytest.mark.parametrize("source, exporter", [("zoo_mobilenet_v1", "ts20_dynbatch"), ("hf_resnet", "dynamo_dynbatch")])
def test_a_dynamic_batch_is_the_one_asked_for(onnx_exports: Any, source: str, exporter: str) -> None:
    made = onnx_exports.torch(source, exporter)
    assert read_model(str(made.path)).graph.inputs[0].dims[0] == "batch"  # symbolic in the file
    model = read_or_skip(made.path, batch=4)
    assert model.batch == 4 and analyze(model).totals.macs == 4 * made.source.paper_macs
    assert load(str(made.path), batch=3).batch == 3


def test_the_weights_side_file_is_never_read(onnx_exports: Any, tmp_path: Path) -> None:
    """torch's default export writes every weight to model.onnx.data: the .onnx alone is enough."""
    made = onnx_exports.torch("zoo_mobilenet_v1", "dynamo")
    assert Path(f"{made.path}.data").exists()
    alone = tmp_path / "alone.onnx"
    shutil.copy(made.path, alone)
    model = from_onnx(str(alone))
    assert analyze(model).totals.macs == made.source.paper_macs
    assert analyze(model).totals.params == made.source.expected_params(folded=True)[0]


def test_shape_values_in_a_side_file_are_read_by_offset(onnx_exports: Any, tmp_path: Path) -> None:
    """Saved with every initializer outside (size_threshold=0), even the Reshape target and the
    Clip bounds live in the side file: read by offset; without the file, an error names the tensor."""
    made = onnx_exports.torch("zoo_mobilenet_v1", "dynamo")
    external = tmp_path / "external.onnx"
    proto = onnx.load(str(made.path))
    onnx.save(proto, str(external), save_as_external_data=True, location="external.data", size_threshold=0)
    assert analyze(from_onnx(str(external))).totals.macs == made.source.paper_macs
    (tmp_path / "external.data").unlink()
    with pytest.raises(SpecFileError, match=r"tensor '\w+' is stored in external.data, which is not beside the model"):
        from_onnx(str(external))


@pytest.mark.parametrize("source, exporter", KERAS_CASES, ids=[f"{s}-{e}" for s, e in KERAS_CASES])
def test_keras_exports_cost_what_keras_says(onnx_exports: Any, source: str, exporter: str) -> None:
    """Keras exports NHWC with a Transpose around every conv, biases as Adds after it and BatchNorm
    as x - mean, * scale, + beta: 3 tensors per channel where Keras counts 4."""
    made = onnx_exports.keras(source, exporter)
    model = read_or_skip(made.path)
    c, h, w = made.source.input[2], made.source.input[0], made.source.input[1]
    assert model.input == (c, h, w)  # the NHWC input read channels-first
    paper, keras = analyze(model, "paper").totals, analyze(model, "keras").totals
    assert paper.macs == made.source.paper_macs
    assert paper.params == made.source.conv_linear_params
    assert keras.params == made.source.params - made.source.bn_channels


# ---------------------------------------------------------------------------------------- onnxruntime


def runtime_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Every tensor's shape as onnxruntime computes it (each exposed as a graph output), batch 1."""
    proto = onnx.load(str(path))
    known = {o.name for o in proto.graph.output}
    for node in proto.graph.node:
        for name in node.output:
            if name and name not in known and node.op_type not in ("Constant", "SplitToSequence"):
                proto.graph.output.append(helper.ValueInfoProto(name=name))
                known.add(name)
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])
    feeds = {}
    for i in session.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in i.shape]
        feeds[i.name] = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    names = [o.name for o in session.get_outputs()]
    return {name: tuple(np.shape(v)) for name, v in zip(names, session.run(names, feeds), strict=True)}


@pytest.mark.parametrize(
    "kind, source, exporter",
    [
        ("torch", "zoo_mobilenet_v2", "ts17"),
        ("torch", "hf_mobilenet_v2", "ts11"),
        ("torch", "zoo_inception10", "dynamo_noopt"),
        ("keras", "keras_small", "default"),
        ("keras", "keras_mobilenet", "fixed_batch"),
    ],
)
def test_every_tensor_has_onnxruntimes_shape(onnx_exports: Any, kind: str, source: str, exporter: str) -> None:
    made = getattr(onnx_exports, kind)(source, exporter)
    reader = _Reader(str(made.path), read_model(str(made.path)), None, True)
    try:
        reader.graph()
    except UnsupportedLayerError as e:
        pytest.skip(str(e)[:200])
    theirs = runtime_shapes(made.path)
    ours = {name: reader.onnx_shape(act) for name, act in reader.acts.items()}
    ours.update({name: c.shape for name, c in reader.consts.items() if c.value is not None})
    compared = [name for name in theirs if name in ours]
    assert len(compared) > 0.9 * len(theirs)
    assert {n: ours[n] for n in compared} == {n: theirs[n] for n in compared}


# ---------------------------------------------------------------------------------------- by hand


def save(
    path: Path,
    nodes: list[onnx.NodeProto],
    inputs: list[tuple[str, list[Any]]],
    outputs: list[str],
    initializers: dict[str, np.ndarray] | None = None,
    opset: int = 17,
) -> Path:
    graph = helper.make_graph(
        nodes,
        "hand",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, d) for n, d in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
        [numpy_helper.from_array(a, n) for n, a in (initializers or {}).items()],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), str(path))
    return path


def weights(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def node(op: str, inputs: list[str], output: str, **attributes: Any) -> onnx.NodeProto:
    return helper.make_node(op, inputs, [output], name=output, **attributes)


def output_shape(path: Path) -> tuple[int, ...]:
    """onnxruntime's shape of the graph's first output."""
    return next(iter(runtime_shapes(path).values()))


@pytest.mark.parametrize(
    "attributes, size",
    [
        ({"auto_pad": "SAME_UPPER", "strides": [2, 2]}, (5, 5)),
        ({"auto_pad": "SAME_LOWER", "strides": [2, 2]}, (5, 5)),
        ({"auto_pad": "VALID"}, (7, 7)),
        ({"pads": [2, 1, 0, 1], "dilations": [2, 2]}, (7, 7)),
        ({"pads": [1, 1, 1, 1], "group": 2}, (9, 9)),
        ({"pads": [0, 0, 1, 1], "strides": [2, 1], "kernel_shape": [3, 3]}, (4, 8)),
    ],
)
def test_conv_padding_groups_and_dilation(tmp_path: Path, attributes: dict[str, Any], size: tuple[int, int]) -> None:
    """A 3x3 conv from 4 to 6 channels on a 9x9 map: 3*3*(4/g)*6 multiply-adds per output pixel."""
    groups = attributes.get("group", 1)
    path = save(
        tmp_path / "conv.onnx",
        [node("Conv", ["x", "w", "b"], "y", **attributes)],
        [("x", [1, 4, 9, 9])],
        ["y"],
        {"w": weights(6, 4 // groups, 3, 3), "b": weights(6)},
    )
    assert output_shape(path) == (1, 6, *size)
    totals = analyze(from_onnx(str(path))).totals
    assert totals.macs == 3 * 3 * (4 // groups) * 6 * size[0] * size[1]
    assert totals.params == 3 * 3 * (4 // groups) * 6 + 6


def test_dense_from_gemm_and_matmul(tmp_path: Path) -> None:
    path = save(
        tmp_path / "fc.onnx",
        [
            node("Flatten", ["x"], "f"),
            node("Gemm", ["f", "w1", "b1"], "g", transB=1),
            node("Relu", ["g"], "r"),
            node("Gemm", ["r", "w2"], "h"),  # B not transposed, no C
            node("MatMul", ["h", "w3"], "m"),
            node("Add", ["m", "b3"], "y"),  # the MatMul's bias
        ],
        [("x", ["n", 2, 3, 4])],
        ["y"],
        {"w1": weights(16, 24), "b1": weights(16), "w2": weights(16, 8), "w3": weights(8, 5), "b3": weights(5)},
    )
    assert output_shape(path) == (1, 5)
    rows = analyze(from_onnx(str(path))).rows
    assert [(r.kind, r.params, r.macs) for r in rows if r.kind == "dense"] == [
        ("dense", 16 * 24 + 16, 16 * 24),
        ("dense", 16 * 8, 16 * 8),
        ("dense", 8 * 5 + 5, 8 * 5),
    ]


def test_activations_and_their_written_out_forms(tmp_path: Path) -> None:
    """Clip(0, 6) is ReLU6 (bounds as attributes at opset 9, as inputs since 11), x * sigmoid(x)
    SiLU, x * hard_sigmoid(x) hard-swish (before opset 14 there is no HardSwish)."""
    nine = save(
        tmp_path / "nine.onnx",
        [
            node("Clip", ["x"], "a", min=0.0, max=6.0),
            node("HardSigmoid", ["a"], "g", alpha=1 / 6, beta=0.5),
            node("Mul", ["a", "g"], "b"),
            node("Sigmoid", ["b"], "s"),
            node("Mul", ["s", "b"], "c"),
            node("LeakyRelu", ["c"], "y", alpha=0.1),
        ],
        [("x", [1, 3, 4, 4])],
        ["y"],
        opset=9,
    )
    rows = analyze(from_onnx(str(nine))).rows
    assert [r.type_stride for r in rows] == ["RELU6", "HARD SWISH", "SILU", "LEAKY RELU"]
    thirteen = save(
        tmp_path / "thirteen.onnx",
        [node("Clip", ["x", "low", "high"], "a"), node("HardSwish", ["a"], "b"), node("Softmax", ["b"], "y", axis=1)],
        [("x", [1, 10])],
        ["y"],
        {"low": np.array(0, np.float32), "high": np.array(6, np.float32)},
        opset=14,
    )
    assert [r.type_stride for r in analyze(from_onnx(str(thirteen))).rows] == ["RELU6", "HARD SWISH", "Softmax / s1"]


def test_pooling_and_reductions(tmp_path: Path) -> None:
    path = save(
        tmp_path / "pool.onnx",
        [
            node("MaxPool", ["x"], "m", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
            node("AveragePool", ["m"], "a", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),  # 5 -> 3 with ceil
            node("ReduceMean", ["a", "axes"], "r", keepdims=1),
            node("GlobalAveragePool", ["m"], "g"),
            node("Add", ["r", "g"], "y"),
        ],
        [("x", [1, 3, 9, 9])],
        ["y"],
        {"axes": np.array([2, 3], np.int64)},
        opset=18,
    )
    shapes = runtime_shapes(path)
    rows = analyze(from_onnx(str(path))).rows
    assert (
        [(r.kind, r.output) for r in rows]
        == [
            ("pool", shapes["m"][1:]),
            ("pool", shapes["a"][1:]),  # ceil_mode keeps the last, partial window: 5 -> 3
            ("global_pool", shapes["r"][1:]),
            ("global_pool", shapes["g"][1:]),
            ("add", shapes["y"][1:]),
        ]
    )
    assert shapes["a"] == (1, 3, 3, 3)


def test_average_pooling_leaves_padding_out_unless_told(tmp_path: Path) -> None:
    """ONNX's AveragePool leaves the padding out of the mean (count_include_pad=0), torch's counts it."""
    for include in (0, 1):
        path = save(
            tmp_path / f"avg{include}.onnx",
            [node("AveragePool", ["x"], "y", kernel_shape=[3, 3], pads=[1, 1, 1, 1], count_include_pad=include)],
            [("x", [1, 2, 5, 5])],
            ["y"],
        )
        (layer,) = [n.layer for n in from_onnx(str(path)).graph.nodes]
        assert layer == AvgPool2D(3, stride=1, padding=1, count_include_pad=bool(include))


def test_element_wise_merges_numbers_and_learned_slopes(tmp_path: Path) -> None:
    """Squeeze-excite's Mul of two tensors, arithmetic with a number (hard-swish written out), a
    per-channel PRelu, Max with a number, and the normalisations with per-channel weights."""
    path = save(
        tmp_path / "mix.onnx",
        [
            node("GlobalAveragePool", ["x"], "g"),
            node("Sigmoid", ["g"], "s"),
            node("Mul", ["x", "s"], "se"),  # (4, 1, 1) gate on the (4, 6, 6) map
            node("Add", ["se", "three"], "a"),
            node("Div", ["a", "six"], "d"),
            node("Sub", ["one", "d"], "r"),  # 1 - x
            node("PRelu", ["r", "slope"], "p"),
            node("Max", ["p", "zero"], "m"),
            node("InstanceNormalization", ["m", "gamma", "beta"], "i"),
            node("ReduceMax", ["i"], "y", axes=[2, 3], keepdims=0),
        ],
        [("x", [1, 4, 6, 6])],
        ["y"],
        {
            "three": np.array(3, np.float32),
            "six": np.array([6], np.float32),
            "one": np.array(1, np.float32),
            "slope": weights(4, 1, 1),
            "zero": np.array(0, np.float32),
            "gamma": weights(4),
            "beta": weights(4, seed=1),
        },
        opset=13,
    )
    assert output_shape(path) == (1, 4)
    rows = analyze(from_onnx(str(path)), "keras").rows
    assert [(r.type_stride, r.output, r.params) for r in rows] == [
        ("Avg Pool / s1", (4, 1, 1), 0),
        ("SIGMOID", (4, 1, 1), 0),
        ("Multiply", (4, 6, 6), 0),
        ("x + 3", (4, 6, 6), 0),
        ("x / 6", (4, 6, 6), 0),
        ("1 - x", (4, 6, 6), 0),
        ("PReLU", (4, 6, 6), 4),
        ("max(x, 0)", (4, 6, 6), 0),
        (rows[8].type_stride, (4, 6, 6), 8),
        (rows[9].type_stride, (4,), 0),
    ]
    assert [r.kind for r in rows[8:]] == ["instancenorm", "global_pool"]


def test_group_and_layer_normalization(tmp_path: Path) -> None:
    """GroupNormalization with per-channel scale and bias (opset 21) and LayerNormalization over the
    channels of an NHWC tensor (ConvNeXt's), each holding 2 values per channel."""
    path = save(
        tmp_path / "norms.onnx",
        [
            node("GroupNormalization", ["x", "gamma", "beta"], "g", num_groups=2),
            node("Transpose", ["g"], "t", perm=[0, 2, 3, 1]),
            node("LayerNormalization", ["t", "lg", "lb"], "l", axis=-1),
            node("Transpose", ["l"], "y", perm=[0, 3, 1, 2]),
        ],
        [("x", [1, 4, 3, 3])],
        ["y"],
        {"gamma": weights(4), "beta": weights(4, seed=1), "lg": weights(4, seed=2), "lb": weights(4, seed=3)},
        opset=21,
    )
    assert output_shape(path) == (1, 4, 3, 3)
    rows = analyze(from_onnx(str(path)), "keras").rows
    assert [(r.kind, r.output, r.params) for r in rows] == [("groupnorm", (4, 3, 3), 8), ("layernorm", (4, 3, 3), 8)]


def test_pooling_where_ceil_mode_changes_nothing(tmp_path: Path) -> None:
    path = save(
        tmp_path / "pool.onnx",
        [
            node(
                "AveragePool",
                ["x"],
                "a",
                kernel_shape=[2, 2],
                strides=[2, 2],
                ceil_mode=1,
                pads=[1, 1, 1, 1],
                count_include_pad=1,
            ),
            node("ReduceMean", ["a"], "y", axes=[-1, -2], keepdims=0),
        ],
        [("x", [1, 3, 8, 8])],
        ["y"],
        opset=13,
    )
    assert output_shape(path) == (1, 3)
    rows = analyze(from_onnx(str(path))).rows
    assert [(r.kind, r.output) for r in rows] == [("pool", (3, 5, 5)), ("global_pool", (3,))]


def test_nhwc_inputs_and_the_transposes_around_convs(tmp_path: Path) -> None:
    """A Keras-style graph: NHWC in, Transpose to NCHW for the conv and back, a bias Add on the
    channels-last tensor ([C] broadcast on the last axis), Concat along -1, a Dense on the channels."""
    path = save(
        tmp_path / "nhwc.onnx",
        [
            node("Transpose", ["x"], "t", perm=[0, 3, 1, 2]),
            node("Conv", ["t", "w"], "c", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            node("Transpose", ["c"], "u", perm=[0, 2, 3, 1]),
            node("Add", ["u", "b"], "v"),
            node("Mul", ["v", "scale"], "s"),  # a per-channel constant: a WeightOp
            node("Concat", ["s", "x"], "k", axis=-1),
            node("MatMul", ["k", "fc"], "y"),
        ],
        [("x", [1, 6, 5, 3])],
        ["y"],
        {"w": weights(8, 3, 3, 3), "b": weights(8), "scale": weights(1, 1, 1, 8), "fc": weights(11, 4)},
    )
    assert output_shape(path) == (1, 6, 5, 4)
    model = from_onnx(str(path))
    assert model.input == (3, 6, 5)
    rows = analyze(model, "keras").rows
    assert [(r.kind, r.output, r.params) for r in rows] == [
        ("conv", (8, 6, 5), 3 * 3 * 3 * 8 + 8),  # the Add after the Transpose is its bias
        ("weight_op", (8, 6, 5), 8),
        ("concat", (11, 6, 5), 0),
        ("dense", (4, 6, 5), 11 * 4),
    ]
    assert analyze(model, "paper").totals.params == 3 * 3 * 3 * 8 + 8 + 11 * 4  # the scale is no conv weight


def test_pads_reshapes_and_squeeze_excite(tmp_path: Path) -> None:
    path = save(
        tmp_path / "se.onnx",
        [
            node("Pad", ["x", "pads"], "p", mode="constant"),
            node("Conv", ["p", "w"], "c", kernel_shape=[3, 3], strides=[2, 2]),
            node("GlobalAveragePool", ["c"], "g"),
            node("Reshape", ["g", "flat"], "f"),
            node("Gemm", ["f", "fc", "fb"], "e", transB=1),
            node("Sigmoid", ["e"], "s"),
            node("Unsqueeze", ["s", "axes"], "gate"),
            node("Dropout", ["gate", "ratio"], "y"),
        ],
        [("x", [1, 4, 8, 8])],
        ["y"],
        {
            "pads": np.array([0, 0, 0, 0, 0, 0, 1, 1], np.int64),
            "w": weights(6, 4, 3, 3),
            "flat": np.array([1, -1], np.int64),
            "fc": weights(6, 6),
            "fb": weights(6),
            "axes": np.array([2, 3], np.int64),
            "ratio": np.array(0.1, np.float32),
        },
        opset=13,
    )
    assert output_shape(path) == (1, 6, 1, 1)
    rows = analyze(from_onnx(str(path))).rows
    assert [(r.kind, r.output) for r in rows] == [
        ("padding", (4, 9, 9)),
        ("conv", (6, 4, 4)),
        ("global_pool", (6, 1, 1)),
        ("flatten", (6,)),
        ("dense", (6,)),
        ("activation", (6,)),
        ("reshape", (6, 1, 1)),
        ("dropout", (6, 1, 1)),
    ]
    assert rows[1].macs == 3 * 3 * 4 * 6 * 4 * 4


def test_batchnorm_kept_and_shared_layers(tmp_path: Path) -> None:
    """A BatchNormalization node holds its 4 tensors (keras: all, paper: none); one Gemm weight used
    twice is one layer called twice: its work counts twice, its weights once."""
    path = save(
        tmp_path / "bn.onnx",
        [
            node("BatchNormalization", ["x", "g", "b", "m", "v"], "n"),
            node("Gemm", ["n", "w", "c"], "a", transB=1),
            node("Gemm", ["n", "w", "c"], "d", transB=1),
            node("Add", ["a", "d"], "y"),
        ],
        [("x", [1, 5])],
        ["y"],
        {
            "g": weights(5),
            "b": weights(5, seed=1),
            "m": weights(5, seed=2),
            "v": np.ones(5, np.float32) + 0.5,
            "w": weights(3, 5),
            "c": weights(3),
        },
    )
    model = from_onnx(str(path))
    keras, paper = analyze(model, "keras"), analyze(model, "paper")
    assert keras.totals.params == 4 * 5 + 3 * 5 + 3 and keras.totals.non_trainable == 2 * 5
    assert paper.totals.params == 3 * 5 + 3 and paper.totals.macs == 2 * 3 * 5
    assert model.graph.nodes[2].shares == model.graph.nodes[1].name


def test_a_weight_merged_into_two_different_layers_is_counted_once(tmp_path: Path) -> None:
    """An exporter merges equal tensors: two convs of different weights sharing one zero bias."""
    zero = np.zeros(4, np.float32)
    path = save(
        tmp_path / "merged.onnx",
        [
            node("Conv", ["x", "w1", "zero"], "a", kernel_shape=[1, 1]),
            node("Conv", ["a", "w2", "zero"], "y", kernel_shape=[1, 1]),
        ],
        [("x", [1, 4, 3, 3])],
        ["y"],
        {"w1": weights(4, 4, 1, 1), "w2": weights(4, 4, 1, 1, seed=1), "zero": zero},
    )
    model = from_onnx(str(path))
    assert analyze(model).totals.params == 2 * 16 + 4
    assert any("counted once, where first used" in n for n in model.notes)


def test_strict_false_keeps_what_it_cannot_map_as_unknown(tmp_path: Path) -> None:
    path = save(
        tmp_path / "lrn.onnx",
        [node("Conv", ["x", "w"], "c", kernel_shape=[1, 1]), node("LRN", ["c"], "l", size=3), node("Relu", ["l"], "y")],
        [("x", [1, 3, 4, 4])],
        ["y"],
        {"w": weights(2, 3, 1, 1)},
    )
    with pytest.raises(UnsupportedLayerError, match=r"cannot map operator LRN \(1 node: l\)"):
        from_onnx(str(path))
    report = analyze(from_onnx(str(path), strict=False))
    assert report.unknown == ("l",) and report.lower_bound
    assert report.totals.macs == 3 * 2 * 16


def test_everything_it_cannot_map_is_named_at_once(tmp_path: Path) -> None:
    path = save(
        tmp_path / "many.onnx",
        [
            node("LRN", ["x"], "a", size=3),
            node("Exp", ["a"], "b"),
            node("Exp", ["b"], "c"),
            helper.make_node("Gelu", ["c"], ["y"], name="gelu", domain="com.microsoft"),
        ],
        [("x", [1, 3, 4, 4])],
        ["y"],
    )
    with pytest.raises(UnsupportedLayerError) as caught:
        from_onnx(str(path))
    assert str(caught.value) == (
        f"{path}: convcost cannot map operator LRN (1 node: a); operator Exp (2 nodes: b, c); "
        "operator com.microsoft.Gelu (1 node: gelu)"
    )


def test_inputs_opsets_and_records_that_are_refused(tmp_path: Path) -> None:
    conv = [node("Conv", ["x", "w"], "y", kernel_shape=[1, 1])]
    w = {"w": weights(2, 3, 1, 1)}
    symbolic = save(tmp_path / "sym.onnx", conv, [("x", ["n", 3, "h", 4])], ["y"], w)
    with pytest.raises(UnsupportedLayerError, match="input 'x': the size of axis 2 is 'h'; convcost needs every size"):
        from_onnx(str(symbolic))
    old = save(tmp_path / "old.onnx", conv, [("x", [1, 3, 4, 4])], ["y"], w, opset=7)
    with pytest.raises(UnsupportedLayerError, match="opset 7; convcost reads opsets 9 to 28"):
        from_onnx(str(old))
    wrong = onnx.load(str(save(tmp_path / "ok.onnx", conv, [("x", [1, 3, 4, 4])], ["y"], w)))
    wrong.graph.value_info.append(helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 5, 4]))
    onnx.save(wrong, str(tmp_path / "wrong.onnx"))
    with pytest.raises(
        SpecFileError, match=r"convcost makes 'y' of shape \[2, 4, 4\] \(per sample\), but the file records \[2, 5, 4\]"
    ):
        from_onnx(str(tmp_path / "wrong.onnx"))
    bad = save(
        tmp_path / "bad.onnx", [node("Conv", ["x", "w"], "y", kernel_shape=[1, 1])], [("x", [1, 4, 4, 4])], ["y"], w
    )
    with pytest.raises(
        GeometryError, match=r"node 'y' \(Conv\): a weight of shape \[2, 3, 1, 1\] in 1 groups for 4 input channels"
    ):
        from_onnx(str(bad))


def test_nodes_out_of_order_are_read_in_order(tmp_path: Path) -> None:
    path = save(
        tmp_path / "order.onnx",
        [node("Relu", ["c"], "y"), node("Conv", ["x", "w"], "c", kernel_shape=[1, 1])],
        [("x", [1, 3, 4, 4])],
        ["y"],
        {"w": weights(2, 3, 1, 1)},
    )
    assert [r.kind for r in analyze(from_onnx(str(path))).rows] == ["pointwise", "activation"]


# ---------------------------------------------------------------------------------------- the CLI


def test_the_table_command_reads_onnx(onnx_exports: Any, capsys: pytest.CaptureFixture[str]) -> None:
    made = onnx_exports.torch("zoo_mobilenet_v1", "ts20_dynbatch")
    assert main(["table", str(made.path), "--format", "json", "--batch", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["batch"] == 2 and data["totals"]["macs"] == 2 * made.source.paper_macs
    assert data["notes"][0].startswith("BatchNorm was folded into 27 convolutions")
    assert main(["table", str(made.path), "--convention", "keras", "--format", "csv"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert sum(int(line.split(",")[7]) for line in rows[1:]) == made.source.expected_params(folded=True)[1]


def test_the_table_command_on_onnx_imports_nothing_heavy(onnx_exports: Any) -> None:
    made = onnx_exports.torch("zoo_mobilenet_v1", "dynamo")
    probe = (
        "import contextlib, io, json, sys\n"
        "from convcost.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['table', {str(made.path)!r}]) == 0\n"
        "heavy = ('numpy', 'onnx', 'google.protobuf', 'torch', 'rich')\n"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_bad_onnx_files_are_one_line_and_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "junk.onnx").write_bytes(b"\x0a\xff\xff\xff\xff\x0f")
    assert main(["table", str(tmp_path / "junk.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"convcost: error: {tmp_path / 'junk.onnx'}: byte 0: ")
    assert main(["table", str(tmp_path / "none.onnx")]) == 2
    assert capsys.readouterr().err == f"convcost: error: {tmp_path / 'none.onnx'}: no such file\n"
    with pytest.raises(ConvcostError):
        load(str(tmp_path / "none.onnx"))


def test_an_input_declared_twice_is_refused(tmp_path: Path) -> None:
    """Two graph inputs of one name (the second a sequence): the layouts were looked up by name, the
    first input got the second's (none) and the message was 'its shape must be positive integers,
    got (0, 0, 0)' without the file (found by the ONNX fuzz test)."""
    conv = [node("Conv", ["x", "w"], "y", kernel_shape=[1, 1])]
    model = onnx.load(str(save(tmp_path / "ok.onnx", conv, [("x", [1, 3, 4, 4])], ["y"], {"w": weights(2, 3, 1, 1)})))
    sequence = helper.make_tensor_sequence_value_info("x", TensorProto.FLOAT, None)
    for twin in (copy.deepcopy(model.graph.input[0]), sequence):
        broken = copy.deepcopy(model)
        broken.graph.input.append(twin)
        onnx.save(broken, str(tmp_path / "twice.onnx"))
        with pytest.raises(
            SpecFileError, match=re.escape(f"{tmp_path / 'twice.onnx'}: the graph declares its input 'x' twice")
        ):
            from_onnx(str(tmp_path / "twice.onnx"))


def test_an_attribute_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    """``strides`` written as a graph was an internal error (``int('<')``), ``group = 1.5`` would be
    truncated by ``int()``, and ``strides = []`` (strings) named the node but not the file (found by
    the ONNX fuzz test)."""
    w = {"w": weights(2, 3, 1, 1)}
    then = helper.make_graph([], "then", [], [])
    cases = [
        ("strides", helper.make_attribute("strides", then), "attribute 'strides' must be a list of integers"),
        ("group", helper.make_attribute("group", 1.5), "attribute 'group' must be an integer"),
        ("auto_pad", helper.make_attribute("auto_pad", [1, 2]), "attribute 'auto_pad' must be a string"),
        ("strides", helper.make_attribute("strides", [], attr_type=onnx.AttributeProto.STRINGS), "strides [] (two"),
    ]
    for name, attribute, message in cases:
        conv = node("Conv", ["x", "w"], "y", kernel_shape=[1, 1])
        conv.attribute.append(attribute)
        path = save(tmp_path / f"{name}.onnx", [conv], [("x", [1, 3, 4, 4])], ["y"], w)
        with pytest.raises(SpecFileError, match=re.escape(f"{path}: node 'y' (Conv): {message}")):
            from_onnx(str(path))
