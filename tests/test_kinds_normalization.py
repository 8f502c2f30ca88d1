"""LayerNorm, GroupNorm and InstanceNorm against torch, its five counting tools and Keras.

Random geometries (hypothesis): the NumPy kernels equal ``torch.nn.functional`` (and Keras'
LayerNormalization / GroupNormalization) within 1e-4; each layer's reference run equals its
``to_torch`` build with the same weights; the closed form (no multiply-adds, gamma and beta)
equals the reference's count, every tool's count on the torch build and Keras' ``count_params()``
with the trainable split; shapes equal the frameworks'. Random stacks hold the tool rules
together with the convolutions and activations around them.
"""

from __future__ import annotations

import json
import math
import warnings
from typing import Any

import keras
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from framework_checks import (
    assert_close,
    assert_every_tool,
    assert_keras_build,
    assert_reference,
    assert_reference_equals_torch,
    assert_torch_build,
)
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convcost import analyze
from convcost.errors import GeometryError, SpecError, UnsupportedLayerError
from convcost.interop.keras import from_keras, from_keras_json
from convcost.reference import kernels as k
from convcost.shapes import output_shape
from convcost.spec import (
    Activation,
    BatchNorm,
    Conv2D,
    GroupNorm,
    InstanceNorm,
    Layer,
    LayerNorm,
    Model,
    Sequential,
)

EPS = 1e-5  # torch's default, passed to both sides of the kernel comparisons


def rand(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


# ------------------------------------------------------------------------- kernels against torch


@st.composite
def batches(draw: st.DrawFn, min_rank: int = 1) -> np.ndarray:
    """An (N, C, *) batch of rank 1-3 per sample, values with an offset and a scale (so the
    normalisation has something to remove)."""
    rank = draw(st.integers(min_rank, 3))
    shape = (draw(st.integers(1, 3)), *(draw(st.integers(1, 7)) for _ in range(rank)))
    rng = np.random.default_rng(draw(st.integers(0, 999)))
    return (rand(rng, *shape) * draw(st.floats(0.1, 5)) + draw(st.floats(-3, 3))).astype(np.float32)


@given(batches(), st.data())
def test_layer_norm_equals_torch_over_any_axis(x: np.ndarray, data: st.DataObject) -> None:
    axis = data.draw(st.integers(1, x.ndim - 1))
    rng = np.random.default_rng(axis)
    w, b = rand(rng, x.shape[axis]), rand(rng, x.shape[axis])
    moved = t(x).movedim(axis, -1)
    expected = F.layer_norm(moved, (x.shape[axis],), t(w), t(b), EPS).movedim(-1, axis)
    assert_close(k.layer_norm(x, axis, w, b, EPS), expected.numpy())
    plain = F.layer_norm(moved, (x.shape[axis],), None, None, EPS).movedim(-1, axis)
    assert_close(k.layer_norm(x, axis, None, None, EPS), plain.numpy())


@given(batches(), st.data())
def test_group_norm_equals_torch(x: np.ndarray, data: st.DataObject) -> None:
    C = x.shape[1]
    groups = data.draw(st.sampled_from([g for g in range(1, C + 1) if C % g == 0]))
    # one value per group: torch refuses it at batch 1, and at batch 2 divides float32 noise by sqrt(eps)
    assume((C // groups) * math.prod(x.shape[2:]) > 1)
    rng = np.random.default_rng(groups)
    w, b = rand(rng, C), rand(rng, C)
    assert_close(k.group_norm(x, groups, w, b, EPS), F.group_norm(t(x), groups, t(w), t(b), EPS).numpy())
    assert_close(k.group_norm(x, groups, None, None, EPS), F.group_norm(t(x), groups, None, None, EPS).numpy())


@given(batches(min_rank=2), st.booleans(), st.booleans())
def test_instance_norm_equals_torch(x: np.ndarray, affine: bool, running: bool) -> None:
    assume(running or math.prod(x.shape[2:]) > 1)  # torch refuses a channel's own statistics of one value
    C = x.shape[1]
    rng = np.random.default_rng(C)
    w, b = (rand(rng, C), rand(rng, C)) if affine else (None, None)
    mean, var = (rand(rng, C), rng.uniform(0.5, 1.5, C).astype(np.float32)) if running else (None, None)
    tw, tb = (t(w), t(b)) if w is not None and b is not None else (None, None)
    tm, tv = (t(mean), t(var)) if mean is not None and var is not None else (None, None)
    expected = F.instance_norm(t(x), tm, tv, tw, tb, use_input_stats=not running, eps=EPS)
    assert_close(k.instance_norm(x, w, b, mean, var, EPS), expected.numpy())


# ------------------------------------------------------------------------- kernels against Keras


@pytest.mark.parametrize("shape", [(2, 4, 5, 6), (3, 4, 7), (2, 5)])
def test_layer_norm_equals_keras(shape: tuple[int, ...]) -> None:
    """Keras' LayerNormalization over the channels (epsilon 1e-3, the reference's default) on the
    channels-last twin. (Over another axis Keras 3 fails on the torch backend: see below.)"""
    rng = np.random.default_rng(len(shape))
    x = rand(rng, *shape) * 3 + 1
    size = x.shape[1]
    w, b = rand(rng, size), rand(rng, size)
    nhwc = np.moveaxis(x, 1, -1)
    layer = keras.layers.LayerNormalization(axis=-1)
    layer.build(nhwc.shape)
    layer.set_weights([w, b])
    out = np.moveaxis(np.asarray(keras.ops.convert_to_numpy(layer(nhwc))), -1, 1)
    assert_close(k.layer_norm(x, 1, w, b), out)


def test_keras_layer_normalization_over_a_spatial_axis_fails_on_the_torch_backend() -> None:
    """The reason to_keras refuses LayerNorm over any axis but the channels here: Keras hands the
    axis to torch's F.layer_norm, which only normalises trailing axes."""
    from convcost.interop.keras import to_keras

    layer = keras.layers.LayerNormalization(axis=1)
    with pytest.raises(RuntimeError, match="normalized_shape"):
        layer(np.zeros((2, 5, 6, 4), dtype=np.float32))
    with pytest.raises(UnsupportedLayerError, match=r"'ln'.*cannot normalise axis 1"):
        to_keras(Model("m", (4, 5, 6), Sequential((LayerNorm(1, name="ln"),))))


@pytest.mark.parametrize("shape, groups", [((2, 6, 4, 5), 3), ((2, 6, 4, 5), 6), ((3, 4, 7), 2), ((2, 8), 4)])
def test_group_norm_equals_keras(shape: tuple[int, ...], groups: int) -> None:
    rng = np.random.default_rng(groups)
    x = rand(rng, *shape) * 2 - 1
    w, b = rand(rng, shape[1]), rand(rng, shape[1])
    nhwc = np.moveaxis(x, 1, -1)
    layer = keras.layers.GroupNormalization(groups)
    layer.build(nhwc.shape)
    layer.set_weights([w, b])
    out = np.moveaxis(np.asarray(keras.ops.convert_to_numpy(layer(nhwc))), -1, 1)
    assert_close(k.group_norm(x, groups, w, b), out)


# ------------------------------------------------------------------------- one layer, every source


@st.composite
def norm_models(draw: st.DrawFn) -> Model:
    """One random norm layer on a random shape, in a form torch can build (its norms have gamma
    without beta, never beta alone; GroupNorm both or neither)."""
    kind = draw(st.sampled_from(["layer", "group", "instance"]))
    rank = draw(st.integers(2 if kind == "instance" else 1, 3))
    C = draw(st.integers(1, 8))
    shape = (C, *(draw(st.integers(1, 6)) for _ in range(rank - 1)))
    batch = draw(st.integers(1, 3))
    layer: Layer
    if kind == "layer":
        scale = draw(st.booleans())
        layer = LayerNorm(draw(st.integers(-rank, rank - 1)), center=scale and draw(st.booleans()), scale=scale)
    elif kind == "group":
        groups = draw(st.sampled_from([g for g in range(1, C + 1) if C % g == 0]))
        # torch refuses one value per group at batch 1 (and ptflops always runs batch 1)
        assume((C // groups) * math.prod(shape[1:]) > 1)
        affine = draw(st.booleans())
        layer = GroupNorm(groups, center=affine, scale=affine)
    else:
        track = draw(st.booleans())
        assume(track or math.prod(shape[1:]) > 1)
        layer = InstanceNorm(affine=draw(st.booleans()), track_running_stats=track)
    return Model("norm", shape, Sequential((layer,)), batch=batch)


@settings(max_examples=25)
@given(norm_models())
def test_norm_layer_agrees_with_every_source(model: Model) -> None:
    assert model.shaped[-1].output == model.input  # a norm keeps the shape
    assert analyze(model, "paper").totals.macs == 0
    assert_reference(model)
    assert_reference_equals_torch(model)
    assert_torch_build(model)
    assert_every_tool(model)
    layer = model.graph.nodes[0].layer
    if isinstance(layer, LayerNorm) and layer.normalised_axis(model.input) != 0:
        with pytest.raises(UnsupportedLayerError, match="cannot normalise axis"):
            assert_keras_build(model)
    else:
        assert_keras_build(model)


ACTIVATIONS = ("relu", "relu6", "gelu", "silu", "sigmoid", "hard_swish")


@st.composite
def norm_stacks(draw: st.DrawFn) -> Model:
    """Convs, BN, activations and the three norms in a random order on a (C, H, W) map."""
    shape: tuple[int, ...] = (draw(st.integers(1, 6)), draw(st.integers(2, 9)), draw(st.integers(2, 9)))
    start = shape
    layers: list[Layer] = []
    for _ in range(draw(st.integers(2, 6))):
        C = shape[0]
        kind = draw(st.sampled_from(["conv", "bn", "act", "layer", "layer_last", "group", "instance"]))
        layer: Layer
        if kind == "conv":
            layer = Conv2D(draw(st.integers(1, 8)), draw(st.integers(1, 3)), padding="same", bias=draw(st.booleans()))
        elif kind == "bn":
            layer = BatchNorm()
        elif kind == "act":
            layer = Activation(draw(st.sampled_from(ACTIVATIONS)))
        elif kind in ("layer", "layer_last"):
            scale = draw(st.booleans())
            layer = LayerNorm(0 if kind == "layer" else -1, center=scale and draw(st.booleans()), scale=scale)
        elif kind == "group":
            affine = draw(st.booleans())
            layer = GroupNorm(draw(st.sampled_from([g for g in range(1, C + 1) if C % g == 0])), affine, affine)
        else:
            layer = InstanceNorm(affine=draw(st.booleans()), track_running_stats=draw(st.booleans()))
        try:
            shape = output_shape(layer, shape)
        except GeometryError:
            continue
        layers.append(layer)
    return Model("norm_stack", start, Sequential(tuple(layers)), batch=draw(st.integers(2, 3)))


@settings(max_examples=20)
@given(norm_stacks())
def test_random_norm_stacks_match_every_tool(model: Model) -> None:
    assert_every_tool(model)
    assert_reference(model)
    assert_reference_equals_torch(model)


# ------------------------------------------------------------------------- the tools' rules, by hand


def test_norm_tool_figures_by_hand() -> None:
    """A (4, 5, 5) map at batch 1, 100 elements, gamma and beta (8 parameters): each tool's count
    from its source (docs/conventions.md)."""
    cases = {
        LayerNorm(): [8, 500, 400, 100, 0],  # ptflops: no 'affine' attribute on nn.LayerNorm
        GroupNorm(2): [8, 500, 0, 200, 0],  # thop: nn.GroupNorm unknown (its params too)
        InstanceNorm(affine=True): [8, 500, 400, 200, 0],
        InstanceNorm(): [0, 400, 200, 100, 0],
    }
    for layer, macs in cases.items():
        model = Model("one", (4, 5, 5), Sequential((layer,)))
        got = [analyze(model, tool).totals.macs for tool in ("torchinfo", "fvcore", "thop", "ptflops", "calflops")]
        assert got == macs, layer
        assert analyze(model, "calflops").totals.flops == (500 if macs[0] else 400)
    assert analyze(Model("one", (4, 5, 5), Sequential((GroupNorm(2),))), "thop").totals.params == 0


def test_layer_norm_over_the_channels_is_a_container_and_over_the_last_axis_plain_layernorm() -> None:
    from convcost.interop.torch import to_torch

    channels = to_torch(Model("c", (4, 5, 6), Sequential((LayerNorm(0, name="ln"),))))
    last = to_torch(Model("l", (5, 6, 4), Sequential((LayerNorm(-1, name="ln"),))))
    assert type(channels.nodes["ln"]).__name__ == "LayerNormOverAxis"
    assert type(last.nodes["ln"]) is torch.nn.LayerNorm


# ------------------------------------------------------------------------- Keras configs


def _keras_json(*layers: Any, shape: tuple[int, ...]) -> str:
    inputs = keras.Input(shape)
    x = inputs
    for layer in layers:
        x = layer(x)
    return str(keras.Model(inputs, x).to_json())


def test_keras_layer_and_group_normalization_are_read() -> None:
    text = _keras_json(
        keras.layers.Conv2D(8, 3, name="c"),
        keras.layers.LayerNormalization(epsilon=1e-6, name="ln"),
        keras.layers.GroupNormalization(4, center=False, scale=False, name="gn"),
        keras.layers.GroupNormalization(8, name="gn8"),
        shape=(9, 9, 3),
    )
    model = from_keras_json(text)
    assert [type(layer).__name__ for _, layer in model.layers()] == ["Conv2D", "LayerNorm", "GroupNorm", "GroupNorm"]
    layers = dict(model.layers())
    assert layers["gn"] == GroupNorm(4, center=False, scale=False, name="gn")
    totals = analyze(model, "keras").totals
    assert totals.params == keras.models.model_from_json(text).count_params() == 224 + 16 + 16


def test_keras_groups_minus_one_is_instance_norm() -> None:
    """GroupNormalization(groups=-1) is Keras' instance normalisation; a config written before the
    layer was built keeps the -1."""
    config = keras.layers.GroupNormalization(groups=-1, name="inorm").get_config()
    document = json.loads(_keras_json(keras.layers.Conv2D(4, 1, name="c"), shape=(5, 5, 2)))
    layers = document["config"]["layers"]
    entry = {"class_name": "GroupNormalization", "config": json.loads(json.dumps(config)), "name": "inorm"}
    entry["inbound_nodes"] = [{"args": [{"class_name": "__keras_tensor__", "config": {"keras_history": ["c", 0, 0]}}]}]
    layers.append(entry)
    document["config"]["output_layers"] = [["inorm", 0, 0]]
    model = from_keras_json(json.dumps(document))
    assert dict(model.layers())["inorm"] == InstanceNorm(affine=True, name="inorm")


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda: keras.layers.LayerNormalization(axis=1, name="ln"), r"axis \[1\]"),
        (lambda: keras.layers.LayerNormalization(rms_scaling=True, name="ln"), "rms_scaling"),
        (lambda: keras.layers.GroupNormalization(2, axis=1, name="gn"), "axis 1"),
    ],
)
def test_keras_norms_convcost_cannot_read_are_named(make: Any, needle: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras deprecates rms_scaling (it still writes it)
        layer = make()
    with pytest.raises(UnsupportedLayerError, match=f"'{layer.name}'.*{needle}"):
        from_keras_json(_keras_json(layer, shape=(4, 4, 2)))


def test_instance_norm_builds_in_keras_as_its_inference_twin() -> None:
    """Keras has no instance norm: without running statistics it is GroupNormalization with a group
    per channel, with them BatchNormalization (at inference both normalise the same way)."""
    from convcost.interop.keras import to_keras

    plain = to_keras(Model("a", (3, 4, 4), Sequential((InstanceNorm(affine=True, name="n"),))))
    tracked = to_keras(Model("b", (3, 6), Sequential((InstanceNorm(True, True, name="n"),))))
    assert type(plain.get_layer("n")).__name__ == "GroupNormalization" and plain.get_layer("n").groups == 3
    assert type(tracked.get_layer("n")).__name__ == "BatchNormalization"
    assert (plain.count_params(), tracked.count_params()) == (6, 12)
    spec = Model("b", (3, 6), Sequential((InstanceNorm(True, True),)))
    assert analyze(from_keras(tracked), "keras").totals == analyze(spec, "keras").totals


# ------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "layer, shape, needle",
    [
        (LayerNorm(3, name="ln"), (4, 5, 5), "axis 3"),
        (LayerNorm(-4, name="ln"), (4, 5, 5), "axis -4"),
        (GroupNorm(3, name="gn"), (4, 5, 5), "divisible by groups"),
        (GroupNorm(2, name="gn"), (4, 2, 2, 2), r"\(C,\), \(C, L\) or \(C, H, W\)"),
        (InstanceNorm(name="in"), (4,), r"\(C, L\) or \(C, H, W\)"),
        (InstanceNorm(name="in"), (4, 1, 1), "more than one position"),
    ],
)
def test_norms_that_cannot_apply_name_the_layer(layer: Layer, shape: tuple[int, ...], needle: str) -> None:
    with pytest.raises(GeometryError, match=f"'{layer.name}'.*{needle}"):
        output_shape(layer, shape)


def test_instance_norm_on_one_position_is_refused_by_torch_too() -> None:
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        torch.nn.InstanceNorm2d(4).eval()(torch.zeros(2, 4, 1, 1))
    assert output_shape(InstanceNorm(track_running_stats=True), (4, 1, 1)) == (4, 1, 1)  # running stats: fine


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda: LayerNorm(0.5), "axis must be an integer"),
        (lambda: LayerNorm(True), "axis must be an integer"),
        (lambda: GroupNorm(0), "groups must be a positive integer"),
        (lambda: InstanceNorm(affine="yes"), "affine must be true or false"),
    ],
)
def test_bad_norm_fields_are_spec_errors(make: Any, needle: str) -> None:
    with pytest.raises(SpecError, match=needle):
        make()


def test_torch_cannot_build_beta_without_gamma() -> None:
    from convcost.interop.torch import to_torch

    with pytest.raises(UnsupportedLayerError, match=r"'ln'.*no beta without gamma"):
        to_torch(Model("m", (3, 4, 4), Sequential((LayerNorm(scale=False, name="ln"),))))
    with pytest.raises(UnsupportedLayerError, match=r"'gn'.*both gamma and beta or neither"):
        to_torch(Model("m", (4, 4, 4), Sequential((GroupNorm(2, center=False, name="gn"),))))


def test_norm_labels() -> None:
    model = Model("m", (4, 5, 5), Sequential((LayerNorm(name="ln"), GroupNorm(2, name="gn"), InstanceNorm(name="in"))))
    rows = analyze(model).rows
    assert [(r.kind, r.type_stride, r.filter_shape) for r in rows] == [
        ("layernorm", "LN", ""),
        ("groupnorm", "GN", ""),
        ("instancenorm", "IN", ""),
    ]
