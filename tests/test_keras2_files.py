"""Real Keras 2, tf.keras and TensorFlow.js files (tests/data/keras2/SOURCES.md), read without Keras.

Expected counts: Keras 3's own loader for Keras 2 configs, or a tfjs file's weight manifest
(``expected.json``, made by scripts/keras2_expected.py); for the small files the loader runs here too.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from convcost import analyze
from convcost.errors import UnsupportedLayerError
from convcost.interop.keras_reader import from_keras_json

DATA = Path(__file__).resolve().parent / "data" / "keras2"
EXPECTED: dict[str, dict[str, Any]] = json.loads((DATA / "expected.json").read_text())
#: cheap enough to count with Keras in the test run as well
LIVE = [
    "kotlindl_toyresnet_modelConfig.json",
    "kotlindl_batchnorm_modelConfig.json",
    "kotlindl_imagenet_mobilenet.json.gz",
]


def text(name: str) -> str:
    path = DATA / name
    return gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()


def counts(name: str) -> dict[str, int]:
    model = from_keras_json(text(name), source=name)
    k, p = analyze(model, "keras").totals, analyze(model, "paper").totals
    return {"params": k.params, "trainable": k.trainable, "non_trainable": k.non_trainable, "macs": p.macs}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_keras2_file_costs_what_keras_says(name: str) -> None:
    expected = {
        key: value for key, value in EXPECTED[name].items() if key in ("params", "trainable", "non_trainable", "macs")
    }
    got = counts(name)
    assert {key: got[key] for key in expected} == expected


@pytest.mark.parametrize("name", LIVE)
def test_keras_loads_the_small_files_to_the_recorded_counts(name: str) -> None:
    spec = importlib.util.spec_from_file_location("keras2_expected", DATA.parents[2] / "scripts" / "keras2_expected.py")
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    live = script.keras_counts_of(json.loads(text(name)))
    assert {key: live[key] for key in ("params", "trainable", "non_trainable", "macs")} == counts(name)


def test_the_nested_tfjs_models_keep_their_paths_and_node_numbering() -> None:
    image = from_keras_json(text("tfjs_teachable_machine_image_model.json.gz"))
    paths = [name for name, _ in image.layers()]
    assert paths[0] == "sequential_5/model2/Conv1_pad" and paths[-1] == "sequential_7/dense_Dense4_softmax"
    assert image.input == (3, 224, 224)  # the innermost model's InputLayer: no level above says it
    audio = from_keras_json(text("tfjs_teachable_machine_audio_model.json"))
    assert audio.graph.outputs == ("sequential_3/NewHeadDense_softmax",)  # ["sequential_3", 1, 0]: its call 0


def tf_op(name: str, function: str, node: list[Any]) -> dict[str, Any]:
    return {"class_name": "TFOpLambda", "name": name, "inbound_nodes": [node],
            "config": {"name": name, "trainable": True, "dtype": "float32", "function": function}}  # fmt: skip


def test_tf_keras_op_layers_are_read_by_the_function_they_name() -> None:
    """TF >= 2.4 records ``x + 3``, ``x * y``, ``1 - x`` and tf.nn calls as TFOpLambda layers whose one
    call is a flat ``[layer, node, tensor, kwargs]`` (a constant first: ``_CONSTANT_VALUE``). No such
    file was found to copy; the forms are TF-Keras' (engine/node.py serialize, keras.md section 3.4)."""
    config = {
        "class_name": "Functional",
        "config": {
            "name": "hard_swish",
            "layers": [
                {
                    "class_name": "InputLayer",
                    "name": "in",
                    "inbound_nodes": [],
                    "config": {"name": "in", "batch_input_shape": [None, 8, 8, 3]},
                },
                {
                    "class_name": "Conv2D",
                    "name": "conv",
                    "inbound_nodes": [[["in", 0, 0, {}]]],
                    "config": {"name": "conv", "filters": 4, "kernel_size": [3, 3], "padding": "same"},
                },
                tf_op("plus3", "__operators__.add", ["conv", 0, 0, {"y": 3.0, "name": None}]),
                tf_op("relu6", "nn.relu6", ["plus3", 0, 0, {"name": None}]),
                tf_op("sixth", "math.multiply", ["relu6", 0, 0, {"y": 1 / 6, "name": None}]),
                tf_op("hswish", "math.multiply", ["conv", 0, 0, {"y": ["sixth", 0, 0], "name": None}]),
                tf_op("inverse", "math.subtract", ["_CONSTANT_VALUE", -1, 1.0, {"y": ["hswish", 0, 0], "name": None}]),
                tf_op("squeeze", "compat.v1.squeeze", ["inverse", 0, 0, {"axis": 1}]),
            ],
            "input_layers": [["in", 0, 0]],
            "output_layers": [["squeeze", 0, 0]],
        },
        "keras_version": "2.13.1",
        "backend": "tensorflow",
    }
    with pytest.raises(
        UnsupportedLayerError, match=r"TFOpLambda compat\.v1\.squeeze is not supported yet \(layer 'squeeze'\)"
    ):
        from_keras_json(json.dumps(config))
    config["config"]["layers"].pop()
    config["config"]["output_layers"] = [["inverse", 0, 0]]
    model = from_keras_json(json.dumps(config))
    read = [
        (name, type(layer).__name__, getattr(layer, "op", getattr(layer, "function", "")))
        for name, layer in model.layers()
    ]
    assert read == [
        ("conv", "Conv2D", ""),
        ("plus3", "ScalarOp", "add"),
        ("relu6", "Activation", "relu6"),
        ("sixth", "ScalarOp", "multiply"),
        ("hswish", "Multiply", ""),
        ("inverse", "ScalarOp", "rsubtract"),
    ]
    assert model.graph.by_name["hswish"].inputs == ("conv", "sixth")
    assert analyze(model, "keras").totals.params == 3 * 3 * 3 * 4 + 4
