"""The family A kinds (issue 12) on random geometries, against NumPy, torch and Keras.

For each kind (broadcasting merges, ScalarOp, Rescaling, Normalization, LayerScale, PReLU,
Identity, DropPath, spatial Dropout, the new activations), hypothesis draws a layer and its input
shapes, and:

* the reference executor's output shape is the declared one, it multiplies nothing (the paper
  counts no multiply-add), its element-wise operations, counted from the arrays it produced, are
  the declared ones, and the weights it allocates split as the ``keras`` convention says;
* the ``to_torch`` module, given the reference's weights, computes the reference's output within
  1e-4 relative, with the declared output shape and the torch parameters the tools count;
* the ``to_keras`` layer gives the channels-last shape, ``count_params()`` and the trainable split
  of the ``keras`` convention, and, given the same weights, the reference's output;
* every tool (torchinfo, fvcore, thop, ptflops, calflops) counts on the torch build what its
  convention says;
* the spec-file round trip and the Keras JSON reader give the layer back.

Then the Keras JSON reader on Keras 3 ops (``x + 3``, ``1 - x``, ``x / 255``, ...) and on real
keras.applications models built of these kinds (EfficientNetB0, MobileNetV3Small).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import keras
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_conventions_tools import TOOLS, run_calflops, run_tool
from test_reference_kernels import assert_close

from convcost import analyze, specfile
from convcost.conventions.tools import torch_params
from convcost.errors import GeometryError, SpecError, UnsupportedLayerError
from convcost.graph import GraphBuilder
from convcost.interop.keras import from_keras, from_keras_json, to_keras
from convcost.interop.torch import to_torch
from convcost.layer import Layer, Shape
from convcost.layers.elementwise import (
    Average,
    Divide,
    DropPath,
    Identity,
    LayerScale,
    Maximum,
    Minimum,
    Multiply,
    Normalization,
    PReLU,
    Rescaling,
    ScalarOp,
    Subtract,
)
from convcost.model import Model
from convcost.reference import run
from convcost.spec import Activation, Add, Conv2D, Dropout

pytestmark = pytest.mark.filterwarnings("ignore:This API is being deprecated:UserWarning")

Case = tuple[Layer, tuple[Shape, ...]]


def example(layer: Layer, inputs: tuple[Shape, ...], batch: int = 2) -> Model:
    builder = GraphBuilder()
    names = [builder.input("input" if i == 0 else f"input_{i}", shape) for i, shape in enumerate(inputs)]
    builder.add("k", layer, names)
    return Model.from_graph("one", builder.graph(["k"]), batch=batch)


# ------------------------------------------------------------------------------------------
# declarations


def test_merges_broadcast_sizes_of_one() -> None:
    assert Multiply().output_shape(((4, 5, 5), (4, 1, 1))) == (4, 5, 5)
    assert Minimum().output_shape(((1, 1, 3), (1, 5, 1))) == (1, 5, 3)  # both sides broadcast
    assert Add().output_shape(((3, 4), (3, 4))) == (3, 4)
    # ((1, 4, 1) + (3, 1, 5)) is 3x4x5 before the third input: 60 + 60 adds
    site = example(Add(name="k"), ((1, 4, 1), (3, 1, 5), (3, 4, 5))).shaped[0].site
    assert Add().elementwise(site) == 120
    # two (C, 1, 1) gates meet in C operations, then the map: 3 + 60
    site = example(Maximum(name="k"), ((3, 1, 1), (3, 1, 1), (3, 4, 5))).shaped[0].site
    assert Maximum().elementwise(site) == 63
    assert Average().elementwise(site) == 63 + 60  # and one division per output value


@pytest.mark.parametrize(
    "layer, inputs, message",
    [
        (
            Multiply(name="m"),
            ((4, 5, 5), (3, 1, 1)),
            "cannot multiply inputs of different shapes: [4, 5, 5], [3, 1, 1]",
        ),
        (Add(name="a"), ((4, 5, 5), (4, 5)), "cannot add inputs of different shapes: [4, 5, 5], [4, 5]"),
        (Divide(name="d"), ((2, 3), (3, 2)), "cannot divide inputs of different shapes"),
        (Rescaling((1.0, 2.0), name="r"), ((3, 4, 4),), "scale has 2 values for an axis of 3"),
        (Normalization(axis=3, name="n"), ((3, 4, 4),), "axis 3 is out of range for an input of shape [3, 4, 4]"),
        (Normalization(mean=(1, 2), variance=1, name="n"), ((3, 4),), "mean has 2 values for an axis of 3"),
        (LayerScale(axis=-4, name="s"), ((3, 4, 4),), "axis -4 is out of range"),
        (Dropout(spatial=True, name="d"), ((8,),), "spatial dropout needs a (C, L) or (C, H, W) input, got [8]"),
    ],
)
def test_geometry_errors_name_the_layer(layer: Layer, inputs: tuple[Shape, ...], message: str) -> None:
    with pytest.raises(GeometryError) as caught:
        layer.output_shape(inputs)
    assert message in str(caught.value) and f"layer '{layer.name}'" in str(caught.value)


def test_a_merge_error_names_its_inputs_by_path() -> None:
    builder = GraphBuilder()
    x = builder.input("input", (3, 8, 8))
    c = builder.add("c", Conv2D(4, 3), [x])
    builder.add("gate", Multiply(), [c, x])
    with pytest.raises(GeometryError, match=r"layer 'gate': cannot multiply inputs of different shapes: c \[4, 6, 6\]"):
        Model.from_graph("m", builder.graph(["gate"])).shaped  # noqa: B018


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ScalarOp("modulo", 2), "op must be one of add, subtract, rsubtract"),
        (lambda: ScalarOp("divide", 0), "divides by zero"),
        (lambda: ScalarOp("add", float("nan")), "value must be a finite number"),
        (lambda: ScalarOp("add", True), "value must be a finite number"),
        (lambda: Rescaling(scale=[]), "scale must be a number or a non-empty list"),
        (lambda: Rescaling(offset="1"), "offset must be a finite number"),
        (lambda: Normalization(mean=(1, 2)), "give both mean and variance, or neither"),
        (lambda: Normalization(mean=0, variance=-1), "variance must not be negative"),
        (lambda: Normalization(axis=0.5), "axis must be an integer"),
        (lambda: PReLU("pixel"), "shared must be one of channel, element, single"),
        (lambda: DropPath(1.0), "rate must be a number in [0, 1)"),
        (lambda: LayerScale(scalar="yes"), "scalar must be true or false"),
        (lambda: Dropout(spatial=1), "spatial must be true or false"),
    ],
)
def test_bad_fields_are_spec_errors(make: Any, message: str) -> None:
    with pytest.raises(SpecError, match=re.escape(message)):
        make()


def test_weights_as_keras_and_torch_hold_them() -> None:
    site = example(Normalization(name="k"), ((3, 8, 8),)).shaped[0].site
    stats = Normalization().weights(site)
    assert [(w.name, w.shape, w.trainable, w.buffer) for w in stats] == [
        ("mean", (3,), False, True),
        ("variance", (3,), False, True),
        ("count", (), False, True),
    ]
    assert Normalization(mean=0.5, variance=0.25).weights(site) == ()  # given: constants of the config
    assert [w.shape for w in LayerScale().weights(site)] == [(3,)]
    assert [w.size for w in LayerScale(scalar=True).weights(site)] == [1]
    assert [w.shape for w in PReLU("element").weights(site)] == [(3, 8, 8)]
    assert [w.shape for w in PReLU("single").weights(site)] == [(1,)]


def test_labels() -> None:
    site = example(Identity(name="k"), ((3, 4, 4),)).shaped[0].site
    labels = {
        ScalarOp("add", 3): "x + 3",
        ScalarOp("divide", 255): "x / 255",
        ScalarOp("rsubtract", 1.0): "1 - x",
        ScalarOp("multiply", 1 / 6): "x * 0.166667",
        ScalarOp("minimum", 6): "min(x, 6)",
        Multiply(): "Multiply",
        PReLU(): "PReLU",
        LayerScale(): "Layer Scale",
        Dropout(spatial=True): "Spatial Dropout",
        Normalization(invert=True): "Denormalization",
    }
    assert {layer: layer.type_stride(site) for layer in labels} == labels
    assert LayerScale().filter_shape(site) == "3"
    assert [Multiply().category(site), ScalarOp("add", 1).category(site), Rescaling().category(site)] == [
        "multiply",
        "arithmetic",
        "preprocessing",
    ]


# ------------------------------------------------------------------------------------------
# random geometries


def map_shape(draw: st.DrawFn, rank: int | None = None) -> Shape:
    rank = draw(st.integers(1, 3)) if rank is None else rank
    return tuple(draw(st.integers(1, 5)) for _ in range(rank))


@st.composite
def merge_cases(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from([Add, Multiply, Subtract, Divide, Maximum, Minimum, Average]))
    full = map_shape(draw)
    count = 2 if kind in (Subtract, Divide) else draw(st.integers(2, 3))
    # each input keeps each size or broadcasts it (size 1)
    inputs = tuple(tuple(d if draw(st.booleans()) else 1 for d in full) for _ in range(count))
    return kind(name="k"), inputs


@st.composite
def scalar_cases(draw: st.DrawFn) -> Case:
    op = draw(st.sampled_from(["add", "subtract", "rsubtract", "multiply", "divide", "rdivide", "maximum", "minimum"]))
    value = draw(st.sampled_from([3, 1, 0.5, -2, 255, 1 / 6]))
    if draw(st.booleans()):
        op, value = "power", draw(st.sampled_from([2, 3]))  # integer powers of negative inputs are defined
    return ScalarOp(op, value, name="k"), (map_shape(draw),)


@st.composite
def preprocessing_cases(draw: st.DrawFn) -> Case:
    shape = map_shape(draw)
    C = shape[0]

    def values(low: float, high: float) -> Any:
        if draw(st.booleans()):
            return draw(st.floats(low, high))
        return tuple(draw(st.floats(low, high)) for _ in range(C))

    if draw(st.booleans()):
        return Rescaling(values(-2, 2), values(-1, 1), name="k"), (shape,)
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    invert = draw(st.booleans())
    if draw(st.booleans()):
        size = draw(st.sampled_from([1, shape[axis]]))  # one value for the whole axis, or one per position
        mean = tuple(draw(st.floats(-1, 1)) for _ in range(size))
        variance = tuple(draw(st.floats(0.1, 4)) for _ in range(size))
        if size == 1 and draw(st.booleans()):
            mean, variance = mean[0], variance[0]  # a number
        return Normalization(axis, mean, variance, invert=invert, name="k"), (shape,)
    return Normalization(axis, invert=invert, name="k"), (shape,)


@st.composite
def weighted_cases(draw: st.DrawFn) -> Case:
    shape = map_shape(draw)
    if draw(st.booleans()):
        return PReLU(draw(st.sampled_from(["channel", "element", "single"])), name="k"), (shape,)
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    return LayerScale(axis=axis, scalar=draw(st.booleans()), name="k"), (shape,)


@st.composite
def identity_cases(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from(["identity", "drop_path", "spatial", "activation"]))
    if kind == "spatial":
        return Dropout(draw(st.floats(0, 0.9)), spatial=True, name="k"), (map_shape(draw, draw(st.integers(2, 3))),)
    shape = map_shape(draw)
    if kind == "activation":
        function = draw(st.sampled_from(["mish", "gelu_tanh", "hard_sigmoid", "hard_swish"]))
        return Activation(function, name="k"), (shape,)
    layer = Identity(name="k") if kind == "identity" else DropPath(draw(st.floats(0, 0.9)), name="k")
    return layer, (shape,)


family_a_cases = st.one_of(merge_cases(), scalar_cases(), preprocessing_cases(), weighted_cases(), identity_cases())


def channels_last(a: np.ndarray) -> np.ndarray:
    return np.moveaxis(a, 1, -1) if a.ndim > 2 else a


def channels_first(a: np.ndarray) -> np.ndarray:
    return np.moveaxis(a, -1, 1) if a.ndim > 2 else a


def keras_weights(layer: Layer, reference: dict[str, np.ndarray], shapes: list[tuple[int, ...]]) -> list[np.ndarray]:
    """The reference's weights in the order and shapes of the Keras layer's variables."""
    if isinstance(layer, PReLU):
        alpha = reference["weight"]
        alpha = channels_last(alpha[None])[0] if layer.shared == "element" else alpha
        return [alpha.reshape(shapes[0])]
    names = ["mean", "variance", "count"] if isinstance(layer, Normalization) else ["gamma"]
    return [reference[name].reshape(shape) for name, shape in zip(names, shapes, strict=True)]


def keras_supports(layer: Layer, shape: Shape) -> bool:
    """Keras' LayerScale scales the channels only (to_keras refuses the other axes)."""
    return not (isinstance(layer, LayerScale) and not layer.scalar and layer.axis % len(shape) != 0)


@settings(max_examples=80)
@given(family_a_cases, st.integers(1, 3))
def test_closed_form_equals_reference_torch_keras_and_every_tool(case: Case, batch: int) -> None:
    layer, inputs = case
    model = example(layer, inputs, batch)
    site = model.shaped[0].site
    keras_totals, paper = analyze(model, "keras").totals, analyze(model, "paper").totals

    # the reference: what it did, counted from its arrays
    xs = {
        i.name: np.random.default_rng(len(inputs)).standard_normal((batch, *i.shape)).astype(np.float32)
        for i in model.inputs
    }
    done = run(model, xs)
    (count,) = done.layers
    assert count.output == site.output
    assert count.macs == paper.macs == 0
    if not isinstance(layer, Activation):  # the activations' kernel does not count its operations
        assert count.elementwise == batch * layer.elementwise(site)
    assert (count.trainable, count.non_trainable) == (keras_totals.trainable, keras_totals.non_trainable)
    expected = done.output

    # torch, with the reference's weights
    module = to_torch(model).eval()
    node = module.nodes["k"]
    node.load_state_dict(
        {k: torch.from_numpy(np.asarray(v)) for k, v in done.weights.get("k", {}).items()}, strict=False
    )
    with torch.no_grad():
        ours = module(*(torch.from_numpy(xs[i.name]) for i in model.inputs))
    assert tuple(ours.shape[1:]) == site.output
    assert_close(expected, ours)
    assert sum(p.numel() for p in module.parameters()) == torch_params(layer, site)

    # Keras, with the same weights
    if keras_supports(layer, inputs[0]):
        built = to_keras(model)
        assert built.count_params() == keras_totals.params
        assert sum(math.prod(w.shape) for w in built.trainable_weights) == keras_totals.trainable
        assert tuple(built.output.shape[1:]) == tuple(channels_last(np.zeros((1, *site.output))).shape[1:])
        (k,) = [op for op in built.operations if op.name == "k"]  # a layer, or an op (x + 3)
        if getattr(k, "weights", None):
            k.set_weights(keras_weights(layer, done.weights["k"], [tuple(w.shape) for w in k.weights]))
        theirs = built(
            [channels_last(xs[i.name]) for i in model.inputs] if len(inputs) > 1 else channels_last(xs["input"])
        )
        assert_close(expected, channels_first(keras.ops.convert_to_numpy(theirs)))
        back = from_keras_json(built.to_json(), batch=batch)
        assert [type(s.layer) for s in back.shaped] == [type(layer)]
        assert analyze(back, "keras").totals == keras_totals

    # every tool on the torch build (the tools take one input)
    if len(inputs) == 1:
        for tool in TOOLS:
            totals = analyze(model, tool).totals
            assert (totals.params, totals.macs) == run_tool(tool, module, model), tool
        assert analyze(model, "calflops").totals.flops == run_calflops(module, model)[2]

    # the spec file gives the layer back
    for fmt in ("toml", "json"):
        assert specfile.loads(specfile.dumps(model, fmt), fmt) == model


def test_keras_and_torch_agree_on_the_hard_and_new_activations() -> None:
    """Keras 3's hard_sigmoid is relu6(x + 3) / 6 as torch's (Keras 2's was 0.2 x + 0.5, clipped);
    hard_silu, mish and the tanh GELU are torch's hardswish, mish and gelu(approximate='tanh')."""
    x = np.linspace(-6, 6, 241, dtype=np.float32)
    t = torch.from_numpy(x)
    pairs = [
        (keras.activations.hard_sigmoid, torch.nn.functional.hardsigmoid),
        (keras.activations.hard_silu, torch.nn.functional.hardswish),
        (keras.activations.mish, torch.nn.functional.mish),
        (
            lambda v: keras.activations.gelu(v, approximate=True),
            lambda v: torch.nn.functional.gelu(v, approximate="tanh"),
        ),
    ]
    for ours, theirs in pairs:
        assert_close(keras.ops.convert_to_numpy(ours(x)), theirs(t))


# ------------------------------------------------------------------------------------------
# the Keras JSON reader: Keras 3 ops, and keras.applications models


def ops_model() -> keras.Model:
    from keras.src.ops import nn as knn

    x = keras.Input((8, 6, 3), name="image")
    y = keras.layers.Conv2D(4, 3, padding="same", name="conv")(x)
    a = y + 3.0
    b = 1.0 - y
    c = y / 255.0
    d = 2.0 / (y * y + 1.0)
    e = y**2
    f = keras.ops.maximum(y, 0.0)
    g = knn.Relu6(name="six")(a) * (1 / 6)
    gate = keras.layers.GlobalAveragePooling2D(keepdims=True, name="pool")(y)
    h = keras.ops.sigmoid(gate) * y  # an op on two tensors: a broadcasting Multiply
    i = keras.ops.divide(y, gate + 1.0)
    j = keras.ops.subtract(b, c)
    k = keras.layers.Activation("gelu")(keras.ops.gelu(f))  # the op approximates, the layer does not
    m = keras.ops.hard_silu(keras.ops.hard_sigmoid(d))
    total = keras.layers.Add(name="total")([a, e, g, h, i, j, k, m])
    return keras.Model(x, total, name="ops")


def test_keras_ops_are_read_by_module_and_class_name() -> None:
    built = ops_model()
    model = from_keras(built)
    layers = {s.path: s.layer for s in model.shaped}
    scalar = {(layer.op, layer.value) for layer in layers.values() if isinstance(layer, ScalarOp)}
    assert scalar == {
        ("add", 3.0),
        ("rsubtract", 1.0),
        ("divide", 255.0),
        ("rdivide", 2.0),
        ("add", 1.0),
        ("power", 2),
        ("maximum", 0.0),
        ("multiply", 1 / 6),
    }
    kinds = sorted(type(layer).__name__ for layer in layers.values())
    assert kinds.count("Multiply") == 2  # y * y and sigmoid(gate) * y; relu6(...) * (1 / 6) is a ScalarOp
    assert kinds.count("Divide") == 1 and kinds.count("Subtract") == 1
    functions = sorted(layer.function for layer in layers.values() if isinstance(layer, Activation))
    assert functions == ["gelu", "gelu_tanh", "hard_sigmoid", "hard_swish", "relu6", "sigmoid"]
    # every tensor's shape as Keras computed it
    for s in model.shaped:
        (op,) = [op for op in built.operations if op.name == s.path]
        shape = op.output.shape[1:]
        assert tuple(channels_last(np.zeros((1, *s.output))).shape[1:]) == tuple(shape), s.path
    assert analyze(model, "keras").totals.params == built.count_params() == 112
    assert analyze(model, "keras").totals.macs == 3 * 3 * 3 * 4 * 8 * 6


def test_keras_prelu_normalization_and_layer_scale_read_back() -> None:
    from keras.src.applications.convnext import LayerScale as KerasLayerScale
    from keras.src.applications.convnext import StochasticDepth

    x = keras.Input((5, 4, 3))
    v = keras.Input((6,))
    outputs = [
        keras.layers.PReLU()(x),
        keras.layers.PReLU(shared_axes=[1, 2])(x),
        keras.layers.PReLU(shared_axes=[1, 2, 3])(x),
        keras.layers.PReLU(shared_axes=[1])(v),
        keras.layers.Normalization()(x),
        keras.layers.Normalization(axis=1)(x),
        keras.layers.Normalization(axis=-2, invert=True)(x),
        keras.layers.Normalization(mean=[1.0, 2.0, 3.0], variance=[1.0, 4.0, 9.0])(x),
        KerasLayerScale(1e-6, 3)(x),
        StochasticDepth(0.1)(x),
        keras.layers.SpatialDropout2D(0.2)(x),
        keras.layers.Identity()(x),
        keras.layers.Rescaling([0.5, 1.0, 2.0], offset=-1.0)(x),
    ]
    built = keras.Model([x, v], outputs)
    model = from_keras(built)
    read = [s.layer for s in model.shaped]
    assert [layer.shared for layer in read if isinstance(layer, PReLU)] == [
        "element",
        "channel",
        "single",
        "single",
    ]
    assert [(layer.axis, layer.invert, layer.adapted) for layer in read if isinstance(layer, Normalization)] == [
        (0, False, False),
        (1, False, False),
        (2, True, False),
        (0, False, True),
    ]
    assert [type(layer) for layer in read][8:] == [LayerScale, DropPath, Dropout, Identity, Rescaling]
    assert read[10] == Dropout(0.2, spatial=True, name=read[10].name)
    assert read[12].scale == (0.5, 1.0, 2.0)
    totals = analyze(model, "keras").totals
    assert totals.params == built.count_params()
    assert totals.trainable == sum(math.prod(w.shape) for w in built.trainable_weights)


def keras_json(built: keras.Model) -> dict[str, Any]:
    return json.loads(built.to_json())


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda e: e["inbound_nodes"][0]["args"].reverse(), "raises the number 2.0 to a tensor's power"),
        (lambda e: e["inbound_nodes"][0]["args"].__setitem__(1, [2.0]), "takes the constant [2.0] (only a number)"),
    ],
)
def test_keras_ops_convcost_cannot_map_are_refused(edit: Any, message: str) -> None:
    x = keras.Input((4, 4, 3))
    document = keras_json(keras.Model(x, x**2.0))
    (op,) = [e for e in document["config"]["layers"] if e["class_name"] == "Power"]
    edit(op)
    with pytest.raises(UnsupportedLayerError, match=re.escape(message)):
        from_keras_json(json.dumps(document))


def test_keras_normalization_over_the_whole_tensor_is_refused() -> None:
    x = keras.Input((4, 4, 3))
    document = keras_json(keras.Model(x, keras.layers.Normalization(axis=None)(x)))
    with pytest.raises(UnsupportedLayerError, match=re.escape("normalises over the whole tensor (axis None)")):
        from_keras_json(json.dumps(document))


def test_keras_prelu_without_an_input_rank_is_refused() -> None:
    x = keras.Input((4, 4, 3))
    document = keras_json(keras.Model(x, keras.layers.PReLU(shared_axes=[1, 2])(x)))
    (prelu,) = [e for e in document["config"]["layers"] if e["class_name"] == "PReLU"]
    del prelu["build_config"]
    prelu["inbound_nodes"][0]["args"][0]["config"].pop("shape")
    with pytest.raises(
        UnsupportedLayerError, match="shares its PReLU slopes over axes \\[1, 2\\] of an input of rank unknown"
    ):
        from_keras_json(json.dumps(document))


def keras_macs(model: keras.Model) -> int:
    """Conv, depthwise and dense multiply-adds read off the real Keras layers (kernel x output positions)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.Dense)):
            positions = math.prod(layer.output.shape[1:-1])
            total += math.prod(layer.kernel.shape) * positions
    return total


@pytest.mark.parametrize(
    "build",
    [
        lambda: keras.applications.EfficientNetB0(weights=None),
        lambda: keras.applications.EfficientNetV2B0(weights=None),
        lambda: keras.applications.MobileNetV3Small(weights=None, input_shape=(224, 224, 3)),
        lambda: keras.applications.MobileNetV3Large(weights=None, input_shape=(160, 192, 3), minimalistic=False),
    ],
    ids=["EfficientNetB0", "EfficientNetV2B0", "MobileNetV3Small", "MobileNetV3Large-160x192"],
)
def test_keras_applications_built_of_these_kinds_read_exactly(build: Any) -> None:
    """Rescaling, Normalization (mean, variance, count), squeeze-excite Multiply, hard-swish written
    with ops (x + 3, * 1/6): read from their JSON, the counts are Keras' own."""
    built = build()
    model = from_keras(built)
    totals = analyze(model, "keras").totals
    assert totals.params == built.count_params()
    assert totals.trainable == sum(math.prod(w.shape) for w in built.trainable_weights)
    assert totals.non_trainable == sum(math.prod(w.shape) for w in built.non_trainable_weights)
    assert totals.macs == keras_macs(built)


def test_efficientnet_b0_counts() -> None:
    """keras.applications' own figures for EfficientNetB0 (weights=None, 224): 5,330,571 params of which
    42,023 are not trained (BN's moving statistics and Normalization's 3 + 3 + 1), 385,814,752 MACs."""
    totals = analyze(from_keras(keras.applications.EfficientNetB0(weights=None)), "keras").totals
    assert (totals.params, totals.non_trainable, totals.macs) == (5_330_571, 42_023, 385_814_752)


def test_hand_written_squeeze_excite_example() -> None:
    """examples/squeeze_excite.toml, derived by hand from the file."""
    from pathlib import Path

    model = specfile.load(Path(__file__).resolve().parent.parent / "examples" / "squeeze_excite.toml")
    rows = {row.path: row for row in analyze(model, "keras").rows}
    assert rows["stem"].macs == 3 * 3 * 3 * 16 * 16 * 16
    assert rows["hard_swish"].kind == "multiply" and rows["hard_swish"].type_stride == "Multiply"
    assert rows["plus3"].type_stride == "x + 3" and rows["sixth"].kind == "arithmetic"
    assert rows["excite"].input == (16, 16, 16) and rows["excite"].output == (16, 16, 16)  # the gate broadcasts
    assert rows["reduce"].params == 16 * 8 + 8 and rows["expand"].params == 8 * 16 + 16
    assert sum(r.macs for r in rows.values() if r.kind in ("multiply", "arithmetic", "preprocessing")) == 0
    assert analyze(model, "keras").totals.params == 432 + 144 + 136 + 144 + 256 + 170
    built = to_keras(model)
    assert built.count_params() == 1_282
