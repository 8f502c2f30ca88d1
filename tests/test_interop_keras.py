"""spec <-> Keras, and Keras JSON read without Keras.

Independent sources: Keras's own ``count_params()`` and trainable / non-trainable weights, and
the configs keras.applications writes for its ImageNet models.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import keras
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convcost import analyze
from convcost.errors import ConvcostError, GeometryError, UnsupportedLayerError
from convcost.interop.keras import from_keras, from_keras_json, to_keras
from convcost.shapes import infer_shapes, output_shape
from convcost.spec import (
    Activation,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Flatten,
    GlobalAvgPool2D,
    Layer,
    MaxPool2D,
    Model,
    SeparableConv2D,
    Sequential,
)
from convcost.zoo import ZOO, build


def weights(model: Any, trainable: bool) -> int:
    chosen = model.trainable_weights if trainable else model.non_trainable_weights
    return sum(math.prod(w.shape) for w in chosen)


def counted_rows(model: Model, convention: str = "keras") -> list[tuple[str, int, int, int]]:
    """Per-layer counts, leaving out zero-padding rows (Keras has no explicit padding on a layer), in
    sorted order: a Keras config lists a block's branches in its own topological order."""
    rows = analyze(model, convention).rows
    return sorted((r.kind, r.trainable, r.non_trainable, r.macs) for r in rows if r.kind != "padding")


@pytest.mark.parametrize("name", list(ZOO))
def test_zoo_model_to_keras_json_and_back(name: str) -> None:
    model = build(name)
    built = to_keras(model)
    totals = analyze(model, "keras").totals
    assert built.count_params() == totals.params
    assert (weights(built, True), weights(built, False)) == (totals.trainable, totals.non_trainable)
    _, *out = built.output.shape
    assert tuple(out) == (lambda s: (*s[1:], s[0]) if len(s) == 3 else s)(infer_shapes(model)[-1].output)
    back = from_keras_json(built.to_json())
    assert counted_rows(back) == counted_rows(model)
    assert counted_rows(back, "paper") == counted_rows(model, "paper")
    assert from_keras(built).body == back.body


APPLICATIONS = {
    "MobileNet": lambda: keras.applications.MobileNet(weights=None),
    "MobileNetV2": lambda: keras.applications.MobileNetV2(weights=None),
    "ResNet50": lambda: keras.applications.ResNet50(weights=None),
    "VGG16": lambda: keras.applications.VGG16(weights=None),
    "Xception": lambda: keras.applications.Xception(weights=None),
    "DenseNet121": lambda: keras.applications.DenseNet121(weights=None),
}


@pytest.mark.parametrize("name", list(APPLICATIONS))
def test_keras_applications_json_is_read_exactly(name: str) -> None:
    theirs = APPLICATIONS[name]()
    model = from_keras_json(theirs.to_json())
    totals = analyze(model, "keras").totals
    assert totals.params == theirs.count_params()
    assert (totals.trainable, totals.non_trainable) == (weights(theirs, True), weights(theirs, False))
    assert tuple(theirs.output.shape[1:]) == infer_shapes(model)[-1].output == (1000,)


def test_mobilenet_json_matches_the_zoo_mobilenet() -> None:
    """keras.applications' MobileNet read from its JSON costs what the zoo's mobilenet_v1 costs."""
    read = analyze(from_keras_json(keras.applications.MobileNet(weights=None).to_json()), "keras").totals
    zoo = analyze(build("mobilenet_v1"), "keras").totals
    assert (read.params, read.trainable, read.non_trainable, read.macs) == (
        zoo.params,
        zoo.trainable,
        zoo.non_trainable,
        zoo.macs,
    )


def test_json_is_read_without_importing_keras(tmp_path: Path) -> None:
    path = tmp_path / "mobilenet_v2.json"
    path.write_text(keras.applications.MobileNetV2(weights=None).to_json())
    code = (
        "import sys, json; from convcost.interop.keras import from_keras_json; from convcost import analyze; "
        f"m = from_keras_json(open({str(path)!r}).read()); "
        "print(json.dumps([analyze(m, 'keras').totals.params, sorted(k for k in sys.modules "
        "if k.split('.')[0] in ('keras', 'torch', 'tensorflow', 'numpy'))]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    params, heavy = json.loads(out)
    assert params == 3_538_984  # keras.applications.MobileNetV2().count_params()
    assert heavy == []


def test_keras2_style_inbound_nodes_are_read() -> None:
    """Keras 2 wrote inbound nodes as [[name, node, tensor, kwargs], ...] and batch_input_shape."""
    config = {
        "class_name": "Functional",
        "config": {
            "name": "k2",
            "layers": [
                {
                    "class_name": "InputLayer",
                    "config": {"name": "in", "batch_input_shape": [None, 8, 8, 3]},
                    "inbound_nodes": [],
                },
                {
                    "class_name": "Conv2D",
                    "config": {
                        "name": "c",
                        "filters": 3,
                        "kernel_size": [3, 3],
                        "padding": "same",
                        "activation": "relu",
                    },
                    "inbound_nodes": [[["in", 0, 0, {}]]],
                },
                {
                    "class_name": "Add",
                    "config": {"name": "add"},
                    "inbound_nodes": [[["c", 0, 0, {}], ["in", 0, 0, {}]]],
                },
            ],
        },
    }
    model = from_keras_json(json.dumps(config))
    assert [(p, type(layer).__name__) for p, layer in model.layers()] == [
        ("c", "Conv2D"),
        ("c_relu", "Activation"),
        ("add", "Add"),
    ]
    assert model.graph.by_name["add"].inputs == ("c_relu", "in")
    assert analyze(model, "keras").totals.params == 3 * 3 * 3 * 3 + 3


def test_lambda_layer_is_refused_by_name() -> None:
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3)(inputs)
    x = keras.layers.Lambda(lambda t: t * 2, name="double_it")(x)
    text = keras.Model(inputs, x).to_json()
    with pytest.raises(UnsupportedLayerError, match="Lambda layer 'double_it'"):
        from_keras_json(text)


@pytest.mark.parametrize(
    "text, needle",
    [
        ("{not json", "not JSON"),
        ('{"class_name": "Sequential", "config": {"layers": []}}', "no 'layers'"),
        (
            '{"class_name": "Sequential", "config": {"layers": [{"class_name": "InputLayer", "config": '
            '{"batch_shape": [null, 4, 4, 1], "name": "i"}}, {"class_name": "Attention", "config": {"name": "att"}}]}}',
            "'att' is a Attention",
        ),
        (
            '{"class_name": "Sequential", "config": {"layers": [{"class_name": "InputLayer", "config": '
            '{"batch_shape": [null, 4, 4, 1], "name": "i"}}, {"class_name": "Dense", "config": {"name": "d", '
            '"units": 2, "activation": "celu"}}]}}',
            "activation 'celu'",
        ),
    ],
)
def test_bad_json_is_one_clear_error(text: str, needle: str) -> None:
    with pytest.raises(ConvcostError, match=needle):
        from_keras_json(text)


# ------------------------------------------------------------------------------------------
# random Sequential specs: params equal Keras count_params()


@st.composite
def sequential_specs(draw: st.DrawFn) -> Model:
    shape: tuple[int, ...] = (draw(st.integers(1, 6)), draw(st.integers(4, 12)), draw(st.integers(4, 12)))
    start = shape
    layers: list[Layer] = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["conv", "depthwise", "separable", "bn", "act", "pool"]))
        k, stride = draw(st.integers(1, 3)), draw(st.integers(1, 2))
        padding = draw(st.sampled_from(["same", "valid", 1]))
        bias = draw(st.booleans())
        C = shape[0]
        layer: Layer
        if kind == "conv":
            groups = draw(st.sampled_from([g for g in range(1, C + 1) if C % g == 0]))
            layer = Conv2D(
                groups * draw(st.integers(1, 3)), k, stride=stride, padding=padding, groups=groups, bias=bias
            )
        elif kind == "depthwise":
            layer = DepthwiseConv2D(
                k, stride=stride, padding=padding, depth_multiplier=draw(st.integers(1, 2)), bias=bias
            )
        elif kind == "separable":
            layer = SeparableConv2D(draw(st.integers(1, 6)), k, stride=stride, padding=padding, bias=bias)
        elif kind == "bn":
            layer = BatchNorm(center=draw(st.booleans()), scale=draw(st.booleans()))
        elif kind == "act":
            layer = Activation(draw(st.sampled_from(["relu", "relu6", "sigmoid", "softmax"])))
        else:
            cls = draw(st.sampled_from([MaxPool2D, AvgPool2D]))
            layer = cls(draw(st.integers(1, 2)), padding=draw(st.sampled_from(["same", "valid"])))
        try:
            shape = output_shape(layer, shape)
        except GeometryError:
            continue
        layers.append(layer)
    layers += [draw(st.sampled_from([Flatten(), GlobalAvgPool2D()])), Dense(draw(st.integers(1, 8)))]
    return Model("random", start, Sequential(tuple(layers)))


@settings(max_examples=25)
@given(sequential_specs())
def test_random_sequential_params_match_keras(model: Model) -> None:
    built = to_keras(model)
    totals = analyze(model, "keras").totals
    assert built.count_params() == totals.params
    assert (weights(built, True), weights(built, False)) == (totals.trainable, totals.non_trainable)
    assert counted_rows(from_keras_json(built.to_json())) == counted_rows(model)
