"""The spec is data: validated on construction, named like Keras, errors that name the layer."""

from __future__ import annotations

import pytest

from convcost import (
    Activation,
    BatchNorm,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GeometryError,
    GlobalAvgPool2D,
    MaxPool2D,
    Model,
    Parallel,
    Reshape,
    Sequential,
    SpecError,
    ZeroPadding2D,
    analyze,
)
from convcost.shapes import output_shape, same_padding


def test_fields_are_normalised_to_pairs() -> None:
    conv = Conv2D(8, 3, stride=2, padding=1, dilation=(1, 2))
    assert (conv.kernel, conv.stride, conv.dilation, conv.padding) == ((3, 3), (2, 2), (1, 2), ((1, 1), (1, 1)))
    assert Conv2D(8, padding=(1, 2)).padding == ((1, 1), (2, 2))
    assert MaxPool2D(3).stride == (3, 3)  # stride defaults to the pool size


def test_layers_are_immutable_and_comparable() -> None:
    conv = Conv2D(8, 3, name="c")
    with pytest.raises(AttributeError):
        conv.filters = 9  # type: ignore[misc]
    assert conv == Conv2D(8, (3, 3), name="c")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Conv2D(0), "Conv2D: filters must be a positive integer, got 0"),
        (lambda: Conv2D(8, 0, name="c1"), "Conv2D 'c1': kernel must be a positive integer, got 0"),
        (lambda: Conv2D(8, True), "kernel must be a positive integer"),
        (lambda: Conv2D(8, padding="full"), "padding must be 'same', 'valid' or integers, got 'full'"),
        (lambda: Conv2D(8, padding=-1), "padding must be"),
        (lambda: Conv2D(6, groups=4), "filters (6) must be divisible by groups (4)"),
        (lambda: DepthwiseConv2D(3, depth_multiplier=0), "depth_multiplier must be a positive integer"),
        (lambda: Dense(-1), "units must be a positive integer"),
        (lambda: Activation("relu7"), "unknown activation 'relu7'"),
        (lambda: Dropout(1.5), "rate must be a number in [0, 1)"),
        (lambda: Reshape((0, 2)), "target must be a non-empty list of positive integers"),
        (lambda: ZeroPadding2D("same"), "padding must be integers"),
        (lambda: Sequential([Conv2D(8, name="a"), Dense(3, name="a")]), "duplicate layer name 'a'"),
        (lambda: Parallel([[Conv2D(8)]], name="p"), "needs at least two branches"),
        (lambda: Parallel([[], []], merge="mul"), "merge must be 'add' or 'concat'"),
        (lambda: Model("m", (3, 0, 8), []), "input must be positive integers"),
        (lambda: Model("m", (3, 8, 8), [], batch=0), "batch must be a positive integer"),
    ],
)
def test_bad_fields_are_spec_errors_naming_the_layer(make: object, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        make()  # type: ignore[operator]
    assert message in str(caught.value)


def test_unnamed_layers_get_keras_style_names() -> None:
    block = Sequential([Conv2D(8), BatchNorm(), Conv2D(8), Conv2D(8, name="conv2d_1"), Dense(2)])
    assert [layer.name for layer in block.layers] == ["conv2d", "batch_normalization", "conv2d_2", "conv2d_1", "dense"]


def test_nested_paths() -> None:
    model = Model("m", (3, 8, 8), [Sequential([Conv2D(4, 3, padding="same", name="conv")], name="stem"), Flatten()])
    assert [r.path for r in analyze(model).rows] == ["stem/conv", "flatten"]


@pytest.mark.parametrize(
    "size, kernel, stride, dilation, expected",
    [
        (224, 3, 2, 1, (0, 1)),  # TensorFlow puts the odd pixel at the bottom/right
        (7, 3, 1, 1, (1, 1)),
        (5, 1, 2, 1, (0, 0)),
        (10, 3, 1, 2, (2, 2)),
        (5, 4, 2, 1, (1, 2)),
        (4, 7, 3, 1, (3, 3)),
    ],
)
def test_keras_same_padding(size: int, kernel: int, stride: int, dilation: int, expected: tuple[int, int]) -> None:
    assert same_padding(size, kernel, stride, dilation) == expected


def test_shape_rules() -> None:
    assert output_shape(Conv2D(8, 3, stride=2, padding="same", name="c"), (3, 7, 7)) == (8, 4, 4)
    assert output_shape(Conv2D(8, 3, stride=2, name="c"), (3, 7, 7)) == (8, 3, 3)
    assert output_shape(Conv2D(8, 3, stride=2, padding=1, name="c"), (3, 7, 7)) == (8, 4, 4)
    assert output_shape(DepthwiseConv2D(3, depth_multiplier=2, name="d"), (3, 7, 7)) == (6, 5, 5)
    assert output_shape(MaxPool2D(2, name="p"), (3, 7, 7)) == (3, 3, 3)
    assert output_shape(GlobalAvgPool2D(name="g"), (3, 7, 7)) == (3,)
    assert output_shape(GlobalAvgPool2D(keepdims=True, name="g"), (3, 7, 7)) == (3, 1, 1)
    assert output_shape(Dense(10, name="fc"), (1024, 1, 1)) == (10, 1, 1)  # Keras: per pixel
    assert output_shape(Flatten(name="f"), (3, 7, 7)) == (147,)
    assert output_shape(ZeroPadding2D(((0, 1), (2, 3)), name="z"), (3, 7, 7)) == (3, 8, 12)


@pytest.mark.parametrize(
    "layer, shape, message",
    [
        (Conv2D(8, 5, name="c"), (3, 4, 9), "layer 'c': height 4 (padded to 4) is smaller than the kernel extent 5"),
        (
            Conv2D(8, 3, dilation=3, name="c"),
            (3, 9, 6),
            "width 6 (padded to 6) is smaller than the dilated kernel extent 7",
        ),
        (Conv2D(8, 3, groups=2, name="c"), (3, 9, 9), "input channels (3) must be divisible by groups (2)"),
        (Conv2D(8, 3, name="c"), (27,), "needs a (C, H, W) feature map, got shape [27]"),
        (Reshape((5, 5), name="r"), (3, 7, 7), "cannot reshape [3, 7, 7] (147 values) to [5, 5] (25 values)"),
    ],
)
def test_impossible_geometry_names_layer_and_numbers(layer: object, shape: tuple[int, ...], message: str) -> None:
    with pytest.raises(GeometryError) as caught:
        output_shape(layer, shape)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_branch_mismatch_names_both_branches() -> None:
    block = Parallel([Sequential([Conv2D(8, 3, name="c")], name="main"), Sequential(name="shortcut")], name="res")
    with pytest.raises(
        GeometryError,
        match=r"layer 'res': cannot add inputs of different shapes: "
        r"res/main/c \[8, 6, 6\], input \[3, 8, 8\]",
    ):
        analyze(Model("m", (3, 8, 8), [block]))


def test_a_layer_inside_a_branch_is_named_by_its_path() -> None:
    """Branches reuse names (every Inception branch has its 'conv'): the error says which one."""
    from convcost.errors import GeometryError
    from convcost.shapes import infer_shapes
    from convcost.spec import Conv2D, Model, Parallel, Sequential

    left = Sequential((Conv2D(4, 5, name="conv"),), name="left")
    right = Sequential((Conv2D(4, 1, name="conv"),), name="right")
    fork = Parallel((left, right), merge="concat", name="fork")
    with pytest.raises(GeometryError, match=r"^layer 'block/fork/left/conv': height 4 \(padded to 4\) is smaller"):
        infer_shapes(Model("m", (3, 4, 4), Sequential((Sequential((fork,), name="block"),))))
    top = Conv2D(4, 5, name="conv")
    with pytest.raises(GeometryError, match=r"^layer 'conv': height 4"):
        infer_shapes(Model("m", (3, 4, 4), Sequential((top,))))
