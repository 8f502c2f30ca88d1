"""The Keras reader on what people build: shared layers, nested models, frozen layers, several
inputs and outputs, None sizes, ``get_config()`` dicts, live models and ``.keras`` archives.

Independent source: Keras itself (``tests/keras_counts.py``: ``count_params()``, the trainable
split, multiply-adds counted per call from the real kernel variables and tensor shapes), on
models built here by Keras 3 on the torch backend; and the published figures of the TensorFlow
transfer-learning tutorial.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import keras
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convcost
from convcost import analyze
from convcost.cli import main
from convcost.errors import ConvcostError, SpecError, UnsupportedLayerError
from convcost.interop.keras_reader import from_keras, from_keras_json, keras_archive_file
from convcost.model import Model
from tests import keras_counts

layers = keras.layers


def ours(model: Model) -> tuple[int, int, int, int]:
    k, p = analyze(model, "keras").totals, analyze(model, "paper").totals
    return k.params, k.trainable, k.non_trainable, p.macs


def every_way(built: Any, tmp_path: Path, **sizes: Any) -> list[Model]:
    """The model read from to_json(), get_config(), the live object and a .keras archive Keras wrote."""
    path = tmp_path / f"{built.name}.keras"
    built.save(path)
    return [
        from_keras_json(built.to_json(), **sizes),
        from_keras(built.get_config(), **sizes),
        convcost.from_keras(built, **sizes),
        keras_archive_file(str(path), **sizes),
    ]


def assert_exact(built: Any, tmp_path: Path, **sizes: Any) -> list[Model]:
    expected = keras_counts.counts(built)
    read = every_way(built, tmp_path, **sizes)
    for model in read:
        assert ours(model) == expected
    return read


# ------------------------------------------------------------------------------------------
# shared layers: weights once, work per call


def shared_layers_model() -> Any:
    left, right = keras.Input((32, 32, 3), name="left"), keras.Input((32, 32, 3), name="right")
    stem = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="stem")
    twice = layers.Conv2D(8, 3, padding="same", name="twice")
    embed = layers.Dense(16, name="embed")
    branches = []
    for x in (left, right):
        x = twice(twice(stem(x)))  # one layer applied twice in a row, on both inputs
        branches.append(embed(layers.GlobalAveragePooling2D()(x)))
    out = layers.Dense(1, activation="sigmoid", name="score")(layers.Concatenate(name="cat")(branches))
    return keras.Model([left, right], out, name="shared")


def test_a_shared_layer_counts_its_weights_once_and_its_work_per_call(tmp_path: Path) -> None:
    built = shared_layers_model()
    # weights: stem 224 + twice 584 + embed 144 + score 33; work: stem 2 calls, twice 4, embed 2
    assert keras_counts.counts(built) == (985, 985, 0, 2 * 27 * 8 * 256 + 4 * 72 * 8 * 256 + 2 * 128 + 32)
    model = assert_exact(built, tmp_path)[0]
    nodes = model.graph.by_name
    assert [name for name in nodes if name.startswith("twice")] == ["twice", "twice_1", "twice_2", "twice_3"]
    assert {nodes[f"twice_{i}"].shares for i in (1, 2, 3)} == {"twice"} and nodes["stem_1"].shares == "stem"
    assert nodes["twice_1"].inputs == ("twice",)  # the second call of the first branch reads the first
    assert [i.name for i in model.inputs] == ["left", "right"]


def test_later_calls_are_named_past_the_names_keras_gives_other_layers(tmp_path: Path) -> None:
    """Keras names layers conv2d, conv2d_1, ...: a second call of conv2d must not take conv2d_1's name."""
    x = inputs = keras.Input((8, 8, 4))
    shared = layers.Conv2D(4, 3, padding="same", name="conv2d")
    x = layers.Conv2D(4, 1, name="conv2d_1")(shared(x))
    x = shared(x)
    built = keras.Model(inputs, layers.Flatten(name="flat")(x))
    model = assert_exact(built, tmp_path)[0]
    assert list(model.graph.by_name) == ["conv2d", "conv2d_1", "conv2d_2", "flat"]
    assert model.graph.by_name["conv2d_2"].shares == "conv2d"


# ------------------------------------------------------------------------------------------
# nested models: flattened, their path the hierarchy


def nested_model() -> Any:
    """A Functional called on two inputs (its second call is also an output) and a Sequential."""
    tower_in = keras.Input((32, 32, 3), name="tower_in")
    tower = keras.Model(
        tower_in, layers.Conv2D(8, 3, strides=2, padding="same", name="tower_conv")(tower_in), name="tower"
    )
    block = keras.Sequential(
        [
            layers.Conv2D(8, 3, padding="same", name="blk_conv"),
            layers.BatchNormalization(name="blk_bn"),
            layers.ReLU(name="blk_relu"),
        ],
        name="block",
    )
    a, b = keras.Input((32, 32, 3), name="a"), keras.Input((32, 32, 3), name="b")
    ta, tb = tower(a), tower(b)
    x = block(layers.Add(name="sum")([ta, tb]))
    fc = layers.Dense(4, name="fc")(layers.Flatten(name="flat")(x))
    return keras.Model([a, b], [fc, tb], name="nested")


def test_nested_models_are_flattened_with_their_path(tmp_path: Path) -> None:
    built = nested_model()
    assert json.loads(built.to_json())["config"]["output_layers"][1] == ["tower", 2, 0]  # the quirk keras.md describes
    model = assert_exact(built, tmp_path)[0]
    assert [name for name, _ in model.layers()] == [
        "tower/tower_conv",
        "tower_1/tower_conv",
        "sum",
        "block/blk_conv",
        "block/blk_bn",
        "block/blk_relu",
        "flat",
        "fc",
    ]
    nodes = model.graph.by_name
    assert nodes["tower_1/tower_conv"].shares == "tower/tower_conv"
    assert nodes["tower/tower_conv"].inputs == ("a",) and nodes["tower_1/tower_conv"].inputs == ("b",)
    assert model.graph.outputs == ("fc", "tower_1/tower_conv")
    rows = {row.path: row for row in analyze(model, "keras").rows}
    assert rows["block/blk_bn"].name == "blk_bn" and rows["block/blk_bn"].non_trainable == 16


def test_models_nest_in_sequentials_and_functionals_at_any_depth(tmp_path: Path) -> None:
    inner_in = keras.Input((16, 16, 3), name="inner_in")
    inner = keras.Model(inner_in, layers.DepthwiseConv2D(3, name="dw")(inner_in), name="inner")
    middle = keras.Sequential([keras.Input((16, 16, 3)), inner, layers.Conv2D(6, 1, name="pw")], name="middle")
    outer = keras.Sequential(
        [keras.Input((16, 16, 3)), middle, layers.GlobalAveragePooling2D(name="gap"), layers.Dense(2, name="fc")],
        name="outer",
    )
    model = assert_exact(outer, tmp_path)[0]
    assert [name for name, _ in model.layers()] == ["middle/inner/dw", "middle/pw", "gap", "fc"]


# ------------------------------------------------------------------------------------------
# frozen layers: as Keras counts them


def transfer_model(base: Any, size: int) -> Any:
    inputs = keras.Input((size, size, 3))
    x = base(inputs, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    return keras.Model(inputs, layers.Dense(1)(x))


def test_a_frozen_base_transfer_model_matches_keras_and_the_tensorflow_tutorial(tmp_path: Path) -> None:
    """The recipe of TensorFlow's "Transfer learning and fine-tuning" tutorial (MobileNetV2 at 160,
    frozen, then its layers from 100 on unfrozen): the tutorial prints 2,259,265 parameters, 1,281
    trainable, then 1,862,721 trainable and 396,544 non-trainable."""
    base = keras.applications.MobileNetV2(input_shape=(160, 160, 3), include_top=False, weights=None)
    base.trainable = False
    built = transfer_model(base, 160)
    frozen = assert_exact(built, tmp_path)
    assert ours(frozen[0])[:3] == (2_259_265, 1_281, 2_257_984)
    base.trainable = True
    for layer in base.layers[:100]:
        layer.trainable = False
    fine_tuned = assert_exact(built, tmp_path)
    assert ours(fine_tuned[0])[:3] == (2_259_265, 1_862_721, 396_544)


def test_trainable_false_on_a_model_freezes_every_layer_inside_it() -> None:
    """Keras writes the flag on the model and on each layer; a hand-edited file may flag only the
    model: a weight is trainable only if its layer and every model around it are."""
    inner_in = keras.Input((8, 8, 3))
    x = layers.BatchNormalization(name="bn")(layers.Conv2D(4, 3, name="conv")(inner_in))
    inner = keras.Model(inner_in, x, name="inner")
    inputs = keras.Input((8, 8, 3))
    built = keras.Model(inputs, layers.Dense(2, name="fc")(layers.GlobalAveragePooling2D()(inner(inputs))))
    inner.trainable = False
    assert keras_counts.weight_counts(built) == (138, 10, 128)
    document = json.loads(built.to_json())
    nested = next(e for e in document["config"]["layers"] if e["name"] == "inner")
    for entry in nested["config"]["layers"]:
        entry["config"]["trainable"] = True  # only the model says false now
    assert ours(from_keras_json(json.dumps(document)))[:3] == (138, 10, 128)
    document["config"]["trainable"] = False  # the whole model
    assert ours(from_keras_json(json.dumps(document)))[:3] == (138, 0, 138)


def random_model(data: st.DataObject) -> Any:
    """A small Functional model: a residual fork, a nested model (maybe called twice), a shared
    layer (maybe two outputs), frozen flags anywhere; the choices drawn from ``data``."""
    frozen = st.booleans()
    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(data.draw(st.integers(2, 6)), 3, padding="same", trainable=data.draw(frozen))(inputs)
    channels = int(x.shape[-1])
    inner_in = keras.Input((8, 8, channels))
    y = layers.BatchNormalization(trainable=data.draw(frozen))(layers.DepthwiseConv2D(3, padding="same")(inner_in))
    y = layers.Conv2D(channels, 1, use_bias=data.draw(st.booleans()), trainable=data.draw(frozen))(y)
    inner = keras.Model(inner_in, y)
    inner.trainable = data.draw(frozen)
    x = layers.Add()([x, inner(x)])
    if data.draw(st.booleans()):
        x = inner(x)  # called again: weights once, work twice
    shared = layers.Dense(data.draw(st.integers(1, 5)), trainable=data.draw(frozen))
    outputs = [shared(layers.GlobalAveragePooling2D()(x))]
    if data.draw(st.booleans()):
        outputs.append(shared(layers.Flatten()(layers.AveragePooling2D(8)(x))))  # a second output, same layer
    built = keras.Model(inputs, outputs)
    built.trainable = data.draw(st.sampled_from([True, True, False]))
    return built


@settings(max_examples=12)
@given(st.data())
def test_random_frozen_nested_models_match_keras(data: st.DataObject) -> None:
    built = random_model(data)
    assert ours(from_keras_json(built.to_json())) == keras_counts.counts(built)


# ------------------------------------------------------------------------------------------
# several inputs and outputs, None sizes


def test_two_inputs_and_two_outputs(tmp_path: Path) -> None:
    image, vector = keras.Input((48, 64, 3), name="image"), keras.Input((10,), name="vector")
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(image)
    x = layers.DepthwiseConv2D(3, padding="same")(x)
    x = layers.SeparableConv2D(16, 3, strides=2, padding="same")(x)
    x = layers.Concatenate()([layers.GlobalAveragePooling2D()(x), layers.Dense(8)(vector)])
    built = keras.Model([image, vector], [layers.Dense(5, name="cls")(x), layers.Dense(4, name="box")(x)])
    model = assert_exact(built, tmp_path)[0]
    assert [(i.name, i.shape) for i in model.inputs] == [("image", (3, 48, 64)), ("vector", (10,))]
    assert model.graph.outputs == ("cls", "box")


def none_size_model() -> Any:
    inputs = keras.Input((None, None, 3), name="image")
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inputs)
    x = layers.DepthwiseConv2D(3, strides=2)(x)
    x = layers.BatchNormalization()(x)
    return keras.Model(inputs, layers.Dense(3)(layers.GlobalAveragePooling2D()(x)), name="open")


def test_none_sizes_are_refused_naming_the_input_unless_given() -> None:
    text = none_size_model().to_json()
    with pytest.raises(
        SpecError, match=r"input 'image' leaves its size open \(3, None, None\): give it with --input-size"
    ):
        from_keras_json(text)
    with pytest.raises(SpecError, match=r"input 'image' is \(3, None, None\) in the file .* differs at axis 0"):
        from_keras_json(text, input_size=(4, 64, 80))


@pytest.mark.parametrize("size", [(64, 80), (65, 65), (31, 224)])
def test_none_sizes_from_input_size_and_resolution_match_keras_running_the_saved_graph(size: tuple[int, int]) -> None:
    built = none_size_model()
    expected = (*keras_counts.weight_counts(built), keras_counts.concrete_macs(built, [(1, *size, 3)]))
    assert ours(from_keras_json(built.to_json(), input_size=(3, *size))) == expected
    if size[0] == size[1]:
        assert ours(from_keras_json(built.to_json(), resolution=size[0])) == expected
    batched = from_keras_json(built.to_json(), input_size=(8, 3, *size))
    assert batched.batch == 8 and analyze(batched).totals.macs == 8 * expected[3]


def test_a_saved_size_is_kept_and_a_different_one_refused() -> None:
    text = shared_layers_model().to_json()
    assert ours(from_keras_json(text, resolution=32)) == ours(from_keras_json(text))
    with pytest.raises(SpecError, match=r"input 'left' is \(3, 32, 32\) in the file .* resolution 64 differs"):
        from_keras_json(text, resolution=64)
    with pytest.raises(SpecError, match="not an input"):
        from_keras_json(text, input_size={"middle": (3, 32, 32)})


def test_the_cli_reads_a_keras_archive_with_its_sizes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    built = none_size_model()
    path = tmp_path / "open.keras"
    built.save(path)
    expected = keras_counts.concrete_macs(built, [(1, 40, 56, 3)])
    assert main(["table", str(path), "--input-size", "3,40,56", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["macs"] == expected and data["input"] == [3, 40, 56]
    assert main(["table", str(path)]) == 2
    assert "input 'image' leaves its size open" in capsys.readouterr().err
    assert main(["table", str(path), "--resolution", "40", "--batch", "2", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["macs"] == 2 * keras_counts.concrete_macs(
        built, [(1, 40, 40, 3)]
    )
    assert main(["table", "examples/separable_cifar.toml", "--input-size", "3,32,32"]) == 2
    assert "--input-size applies to Keras files" in capsys.readouterr().err
    assert main(["table", "mobilenet_v1", "--input-size", "3,32,32"]) == 2
    assert "takes --resolution" in capsys.readouterr().err
    assert main(["table", str(path), "--input-size", "3,x"]) == 2


def test_a_keras_archive_is_read_without_keras_or_its_weights(tmp_path: Path) -> None:
    path = tmp_path / "shared.keras"
    shared_layers_model().save(path)
    code = (
        "import sys, json; from convcost.loading import load; from convcost import analyze; "
        f"m = load({str(path)!r}); "
        "print(json.dumps([analyze(m, 'keras').totals.params, sorted(k for k in sys.modules "
        "if k.split('.')[0] in ('keras', 'torch', 'tensorflow', 'numpy', 'h5py'))]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [985, []]


# ------------------------------------------------------------------------------------------
# refusals name the class


def test_refusals_name_every_unsupported_class_at_once() -> None:
    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3)(inputs)
    a = layers.Attention(name="att")([layers.Reshape((36, 4))(x), layers.Reshape((36, 4))(x)])
    b = keras.ops.sin(layers.Flatten()(x))
    built = keras.Model(inputs, [a, b])
    with pytest.raises(UnsupportedLayerError) as error:
        from_keras_json(built.to_json(), source="model.json")
    assert str(error.value) == (
        "model.json: Attention is not supported yet (layer 'att'); the op keras.src.ops.numpy.Sin is not "
        "supported yet (layer 'sin')"
    )


def test_a_custom_layer_is_refused_by_its_class_and_module() -> None:
    @keras.saving.register_keras_serializable(package="mine")
    class Dense(layers.Layer):  # the name of a built-in, from another module
        def call(self, x: Any) -> Any:
            return x

    inputs = keras.Input((4,))
    built = keras.Model(inputs, Dense(name="mine")(layers.Dense(2)(inputs)))
    with pytest.raises(UnsupportedLayerError, match=r"Dense \(module .*\) is not supported yet \(layer 'mine'\)"):
        from_keras_json(built.to_json())


def test_from_keras_takes_models_and_configs_only() -> None:
    with pytest.raises(SpecError, match="a path: convcost\\.load"):
        convcost.from_keras("model.keras")
    with pytest.raises(SpecError, match="not a Keras model config"):
        from_keras({"name": "x"})
    with pytest.raises(SpecError, match="Keras config: the config holds a object"):
        from_keras({"layers": [object()]})


def test_a_live_model_keras_cannot_serialise_is_one_clean_error() -> None:
    class Broken:
        name = "broken"

        def to_json(self) -> str:
            raise TypeError("cannot serialize object of type Foo")

    with pytest.raises(SpecError, match=r"Keras model 'broken': Keras cannot write its config \(TypeError"):
        convcost.from_keras(Broken())


def test_a_subclassed_model_is_refused_by_name() -> None:
    class Sub(keras.Model):
        def call(self, x: Any) -> Any:
            return x

    with pytest.raises(ConvcostError, match=r"no 'layers'|subclassed"):
        from_keras_json(json.dumps({"class_name": "Sub", "config": {"name": "s", "trainable": True}}))
    with pytest.raises(ConvcostError):
        convcost.from_keras(Sub())
