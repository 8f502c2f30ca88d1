"""The Family C kinds (issue 12) against the frameworks and the five tools, on random geometries.

Transposed convolutions, upsampling and resizing, cropping, slicing, permuting, channel shuffle and
the padding modes. For each hypothesis-drawn layer:

* the closed form (the paper's multiply-adds, the Keras convention's parameters) equals what the
  NumPy reference counted from the operands it multiplied and the arrays it allocated;
* the reference's output equals torch's (``to_torch`` with the reference's weights) within 1e-4
  relative, and its shape is the declared one;
* every tool (torchinfo, fvcore, thop, ptflops, calflops), run on the ``to_torch`` build, reports
  exactly what convcost's convention of the same name says;
* where Keras has the layer, ``to_keras`` gives the declared shape, ``count_params()`` and the
  trainable split of the keras convention, and the same values as the reference.

Then random stacks of these kinds with convolutions, and the tools' quirks pinned by hand.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import keras
import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_conventions_tools import TOOLS, run_calflops, run_tool

from convcost import analyze
from convcost.errors import ConvcostError, GeometryError, SpecError, UnsupportedLayerError
from convcost.interop.keras import from_keras_json, to_keras
from convcost.interop.torch import to_torch
from convcost.layer import Layer, Shape
from convcost.layers.transposed import torch_transposed
from convcost.model import Model
from convcost.reference import run
from convcost.shapes import output_shape
from convcost.spec import (
    Activation,
    ChannelShuffle,
    Conv1DTranspose,
    Conv2D,
    Conv2DTranspose,
    Cropping1D,
    Cropping2D,
    Flatten,
    Pad2D,
    Permute,
    Resize,
    Sequential,
    Slice,
    UpSampling2D,
    ZeroPadding1D,
)
from tests.completeness import example_model

FAMILY_C = (
    Conv2DTranspose,
    Conv1DTranspose,
    UpSampling2D,
    Resize,
    Cropping2D,
    Cropping1D,
    Slice,
    Permute,
    ChannelShuffle,
    Pad2D,
    ZeroPadding1D,
)

# ------------------------------------------------------------------------------------------ helpers


def fits(layer: Layer, shape: Shape) -> Shape:
    """The layer's output shape; hypothesis draws again when the geometry leaves nothing."""
    try:
        return output_shape(layer, shape)
    except GeometryError:
        assume(False)
        raise


def calflops_crashes(model: Model) -> bool:
    """calflops 0.3 raises TypeError on a tuple scale factor unless the batch is 2 (it compares the
    tuple's length with len(input), the batch), and leaves torch.nn.functional patched after."""
    non_square = any(isinstance(s.layer, UpSampling2D) and s.layer.size[0] != s.layer.size[1] for s in model.shaped)
    return non_square and model.batch != 2


def assert_tools_agree(model: Model) -> None:
    """Every tool on the to_torch build reports what convcost's convention of its name says."""
    module = to_torch(model)
    for tool in TOOLS:
        totals = analyze(model, tool).totals
        if tool == "calflops":
            if not calflops_crashes(model):
                assert (totals.params, totals.macs, totals.flops) == run_calflops(module.eval(), model), tool
        else:
            assert (totals.params, totals.macs) == run_tool(tool, module, model), tool
    assert sum(p.numel() for p in module.parameters()) == analyze(model, "torchinfo").totals.params


def load_reference_weights(module: torch.nn.Module, weights: dict[str, dict[str, np.ndarray]]) -> None:
    """Copy the reference's arrays into the to_torch build (same names, torch's layouts)."""
    for path, arrays in weights.items():
        if not arrays:
            continue
        child = module.nodes[path.replace("/", "_")]
        owner = next(m for m in child.modules() if getattr(m, "weight", None) is not None)
        with torch.no_grad():
            for name, array in arrays.items():
                getattr(owner, name).copy_(torch.from_numpy(array))


def assert_reference_equals_torch(model: Model) -> None:
    """The reference's counts are the closed form; its output is torch's with the same weights."""
    execution = run(model)
    (count,) = execution.layers
    keras_totals, paper = analyze(model, "keras").totals, analyze(model, "paper").totals
    assert count.output == model.shaped[0].output
    assert count.macs == paper.macs
    assert (count.trainable, count.non_trainable) == (keras_totals.trainable, keras_totals.non_trainable)
    module = to_torch(model).eval()
    load_reference_weights(module, execution.weights)
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((model.batch, *model.input)).astype(np.float32))
    with torch.no_grad():
        theirs = module(x).numpy()
    ours = run(model, x.numpy(), weights=execution.weights).output
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(theirs).max())))


def keras_weights(built: Any, trainable: bool) -> int:
    chosen = built.trainable_weights if trainable else built.non_trainable_weights
    return sum(math.prod(w.shape) for w in chosen)


def assert_keras_agrees(model: Model) -> Any:
    """Shape, count_params() and the trainable split of the to_keras build; returns the build."""
    built = to_keras(model)
    out = model.shaped[-1].output
    expected = (*out[1:], out[0]) if len(out) >= 2 else out
    assert tuple(built.output.shape[1:]) == expected
    totals = analyze(model, "keras").totals
    assert built.count_params() == totals.params
    assert (keras_weights(built, True), keras_weights(built, False)) == (totals.trainable, totals.non_trainable)
    return built


def channels_last(x: np.ndarray) -> np.ndarray:
    return np.moveaxis(x, 1, -1) if x.ndim >= 3 else x


def assert_reference_equals_keras(model: Model, built: Any) -> None:
    """The Keras build, given the reference's weights in Keras' layouts, computes the reference's values."""
    execution = run(model)
    for path, arrays in execution.weights.items():
        if arrays:  # a transposed conv: torch (C_in, C_out, *k) -> Keras (*k, C_out, C_in)
            w = arrays["weight"]
            kernel = w.transpose(*range(2, w.ndim), 1, 0)
            built.get_layer(path).set_weights([kernel, *([arrays["bias"]] if "bias" in arrays else [])])
    x = np.random.default_rng(1).standard_normal((model.batch, *model.input)).astype(np.float32)
    theirs = np.asarray(keras.ops.convert_to_numpy(built(channels_last(x))))
    ours = channels_last(run(model, x, weights=execution.weights).output)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5 * max(1.0, float(np.abs(theirs).max())))


# ------------------------------------------------------------------------------------------ geometries

sizes = st.integers(1, 7)
batches = st.integers(1, 3)


@st.composite
def transposed2d(draw: st.DrawFn, keras_only: bool = False) -> tuple[Conv2DTranspose, Shape]:
    groups = 1 if keras_only else draw(st.sampled_from([1, 1, 2, 3]))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    if keras_only and max(stride) > 1:
        dilation = (1, 1)  # Keras refuses a stride above 1 with dilation
    paddings = st.sampled_from(["same", "valid"])
    if not keras_only or draw(st.booleans()):
        paddings = st.one_of(
            st.sampled_from(["same", "valid"]),
            st.integers(0, 2),
            st.tuples(st.tuples(st.integers(0, 2), st.integers(0, 2)), st.tuples(st.integers(0, 2), st.integers(0, 2))),
        )
    padding = draw(paddings)
    limit = [max(s, d) for s, d in zip(stride, dilation, strict=True)]
    if keras_only:
        limit = list(stride)
    output_padding = draw(st.one_of(st.none(), st.tuples(st.integers(0, limit[0] - 1), st.integers(0, limit[1] - 1))))
    layer = Conv2DTranspose(
        groups * draw(st.integers(1, 3)),
        kernel,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
        groups=groups,
        bias=draw(st.booleans()),
        name="k",
    )
    shape = (groups * draw(st.integers(1, 3)), draw(sizes), draw(sizes))
    fits(layer, shape)
    return layer, shape


@st.composite
def transposed1d(draw: st.DrawFn, keras_only: bool = False) -> tuple[Conv1DTranspose, Shape]:
    groups = 1 if keras_only else draw(st.sampled_from([1, 2]))
    stride, dilation = draw(st.integers(1, 3)), draw(st.integers(1, 2))
    if keras_only and stride > 1:
        dilation = 1
    padding = draw(st.one_of(st.sampled_from(["same", "valid"]), st.integers(0, 2), st.tuples(sizes, sizes)))
    limit = stride if keras_only else max(stride, dilation)
    layer = Conv1DTranspose(
        groups * draw(st.integers(1, 3)),
        draw(st.integers(1, 4)),
        stride=stride,
        padding=padding,
        output_padding=draw(st.one_of(st.none(), st.integers(0, limit - 1))),
        dilation=dilation,
        groups=groups,
        bias=draw(st.booleans()),
        name="k",
    )
    shape = (groups * draw(st.integers(1, 3)), draw(st.integers(1, 9)))
    fits(layer, shape)
    return layer, shape


@st.composite
def upsampling(draw: st.DrawFn, keras_only: bool = False) -> tuple[UpSampling2D, Shape]:
    interpolation = draw(st.sampled_from(["nearest", "bilinear"]))
    align = interpolation == "bilinear" and not keras_only and draw(st.booleans())
    size = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    layer = UpSampling2D(size, interpolation=interpolation, align_corners=align, name="k")
    return layer, (draw(st.integers(1, 3)), draw(sizes), draw(sizes))


@st.composite
def resizing(draw: st.DrawFn, keras_only: bool = False) -> tuple[Resize, Shape]:
    shape = (draw(st.integers(1, 3)), draw(sizes), draw(sizes))
    modes = ["nearest_exact", "bilinear"] if keras_only else ["nearest", "nearest_exact", "bilinear"]
    interpolation = draw(st.sampled_from(modes))
    align = interpolation == "bilinear" and not keras_only and draw(st.booleans())
    output = (draw(st.integers(1, 15)), draw(st.integers(1, 15)))
    return Resize(output, interpolation=interpolation, align_corners=align, name="k"), shape


@st.composite
def cropping2d(draw: st.DrawFn, keras_only: bool = False) -> tuple[Cropping2D, Shape]:
    sides = st.tuples(st.integers(0, 3), st.integers(0, 3))
    layer = Cropping2D((draw(sides), draw(sides)), name="k")
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    fits(layer, shape)
    return layer, shape


@st.composite
def cropping1d(draw: st.DrawFn, keras_only: bool = False) -> tuple[Cropping1D, Shape]:
    layer = Cropping1D((draw(st.integers(0, 3)), draw(st.integers(0, 3))), name="k")
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 9)))
    fits(layer, shape)
    return layer, shape


@st.composite
def any_shape(draw: st.DrawFn) -> Shape:
    return tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=4)))


@st.composite
def slicing(draw: st.DrawFn, keras_only: bool = False) -> tuple[Slice, Shape]:
    shape = draw(any_shape())
    rank = len(shape)
    axis = draw(st.integers(-rank, rank - 1))
    size = shape[axis]
    positions = st.integers(-size - 1, size + 1)
    layer = Slice(axis, draw(positions), draw(st.one_of(st.none(), positions)), draw(st.integers(1, 3)), name="k")
    fits(layer, shape)
    return layer, shape


@st.composite
def permuting(draw: st.DrawFn, keras_only: bool = False) -> tuple[Permute, Shape]:
    shape = draw(any_shape())
    dims = draw(st.permutations(range(len(shape))))
    return Permute(tuple(dims), name="k"), shape


@st.composite
def shuffling(draw: st.DrawFn, keras_only: bool = False) -> tuple[ChannelShuffle, Shape]:
    groups = draw(st.integers(1, 4))
    spatial = draw(st.lists(st.integers(1, 5), min_size=1, max_size=2))
    return ChannelShuffle(groups, name="k"), (groups * draw(st.integers(1, 3)), *spatial)


@st.composite
def padding2d(draw: st.DrawFn, keras_only: bool = False) -> tuple[Pad2D, Shape]:
    mode = draw(st.sampled_from(["constant", "reflect", "replicate"]))
    most = 1 if keras_only and mode == "replicate" else 3
    sides = st.tuples(st.integers(0, most), st.integers(0, most))
    value = draw(st.sampled_from([0.0, 0.5, -2.0])) if mode == "constant" else 0.0
    layer = Pad2D((draw(sides), draw(sides)), mode=mode, value=value, name="k")
    shape = (draw(st.integers(1, 3)), draw(sizes), draw(sizes))
    fits(layer, shape)
    return layer, shape


@st.composite
def padding1d(draw: st.DrawFn, keras_only: bool = False) -> tuple[ZeroPadding1D, Shape]:
    layer = ZeroPadding1D((draw(st.integers(0, 3)), draw(st.integers(0, 3))), name="k")
    return layer, (draw(st.integers(1, 3)), draw(st.integers(1, 9)))


GEOMETRIES: dict[type[Layer], Any] = {
    Conv2DTranspose: transposed2d,
    Conv1DTranspose: transposed1d,
    UpSampling2D: upsampling,
    Resize: resizing,
    Cropping2D: cropping2d,
    Cropping1D: cropping1d,
    Slice: slicing,
    Permute: permuting,
    ChannelShuffle: shuffling,
    Pad2D: padding2d,
    ZeroPadding1D: padding1d,
}


def test_every_family_c_kind_has_random_geometries() -> None:
    assert set(GEOMETRIES) == set(FAMILY_C)


# ------------------------------------------------------------------------------------------ one layer


@pytest.mark.parametrize("kind", FAMILY_C, ids=lambda kind: kind.__name__)
@settings(max_examples=40)
@given(data=st.data())
def test_closed_form_equals_reference_torch_and_every_tool(kind: type[Layer], data: st.DataObject) -> None:
    layer, shape = data.draw(GEOMETRIES[kind]())
    model = example_model(layer, (shape,)).with_batch(data.draw(batches))
    assert_reference_equals_torch(model)
    assert_tools_agree(model)


@pytest.mark.parametrize("kind", FAMILY_C, ids=lambda kind: kind.__name__)
@settings(max_examples=25)
@given(data=st.data())
def test_keras_build_counts_and_computes_as_the_reference(kind: type[Layer], data: st.DataObject) -> None:
    layer, shape = data.draw(GEOMETRIES[kind](keras_only=True))
    model = example_model(layer, (shape,)).with_batch(2)
    built = assert_keras_agrees(model)
    assert_reference_equals_keras(model, built)
    back = from_keras_json(built.to_json(), batch=model.batch)
    for convention in ("paper", "keras"):
        assert analyze(back, convention).totals.to_dict() == analyze(model, convention).totals.to_dict()
    assert back.shaped[-1].output == model.shaped[-1].output


# ------------------------------------------------------------------------------------------ random stacks


@st.composite
def stack_layer(draw: st.DrawFn, shape: Shape, keras_only: bool) -> Layer:
    """One layer for a (C, H, W) map: a Family C kind or a convolution / activation between them."""
    channels = shape[0]
    kinds = ["transposed", "upsample", "resize", "crop", "slice", "shuffle", "pad", "permute", "conv", "relu"]
    kind = draw(st.sampled_from(kinds))
    if kind == "transposed":
        return draw(transposed2d(keras_only))[0]
    if kind == "upsample":
        return draw(upsampling(keras_only))[0]
    if kind == "resize":
        return draw(resizing(keras_only))[0]
    if kind == "crop":
        return draw(cropping2d(keras_only))[0]
    if kind == "pad":
        return draw(padding2d(keras_only))[0]
    if kind == "slice":
        return Slice(draw(st.integers(-3, 2)), draw(st.integers(0, 2)), draw(st.one_of(st.none(), st.integers(1, 6))))
    if kind == "shuffle":
        return ChannelShuffle(draw(st.sampled_from([g for g in range(1, channels + 1) if channels % g == 0])))
    if kind == "permute":
        return Permute(tuple(draw(st.permutations(range(3)))))
    if kind == "conv":
        return Conv2D(
            draw(st.integers(1, 4)), draw(st.integers(1, 3)), padding=draw(st.sampled_from(["same", 1, "valid"]))
        )
    return Activation("relu")


@st.composite
def stacks(draw: st.DrawFn, keras_only: bool = False) -> Model:
    start: Shape = (draw(st.integers(1, 4)), draw(st.integers(2, 8)), draw(st.integers(2, 8)))
    shape, layers = start, []
    for i in range(draw(st.integers(2, 6))):
        layer = dataclasses.replace(draw(stack_layer(shape, keras_only)), name=f"l{i}")
        try:
            out = output_shape(layer, shape)
        except GeometryError:
            continue
        if max(out) > 40:
            continue  # keep the tools quick
        layers.append(layer)
        shape = out
    layers.append(Flatten())
    return Model("stack", start, Sequential(tuple(layers)), batch=draw(st.integers(1, 3)))


@settings(max_examples=40)
@given(stacks())
def test_random_stacks_match_every_tool_and_the_reference(model: Model) -> None:
    assert_tools_agree(model)
    counted = run(model).layers
    paper, keras_totals = analyze(model, "paper"), analyze(model, "keras")
    for row, count in zip(paper.rows, counted, strict=True):
        assert (row.output, row.macs) == (count.output, count.macs), row.path
    assert sum(c.trainable for c in counted) == keras_totals.totals.trainable


@settings(max_examples=20)
@given(stacks(keras_only=True))
def test_random_stacks_match_keras(model: Model) -> None:
    built = assert_keras_agrees(model)
    back = from_keras_json(built.to_json(), batch=model.batch)
    for convention in ("paper", "keras"):
        assert analyze(back, convention).totals.to_dict() == analyze(model, convention).totals.to_dict()


# ------------------------------------------------------------------------------------------ the tools' quirks, by hand


def one(layer: Layer, shape: Shape, batch: int = 1) -> Model:
    return example_model(layer, (shape,)).with_batch(batch)


def counts(model: Model) -> list[int]:
    return [analyze(model, tool).totals.macs for tool in ("paper", *TOOLS)]


def test_a_transposed_conv_as_each_tool_counts_it() -> None:
    """3x3, 4 -> 6 channels, stride 2, torch padding 1, bias, on 5x5: the full output is
    (5 - 1)*2 + 3 = 11 wide, the padding removes one at each end: 9x9. The 216 weights meet every one
    of the 25 input pixels: 5,400 multiply-adds."""
    model = one(Conv2DTranspose(6, 3, stride=2, padding=1), (4, 5, 5))
    assert model.shaped[0].output == (6, 9, 9)
    # paper, torchinfo (222 params x 81 output pixels), fvcore (the paper), thop (6*81 outputs x 4
    # x 9), ptflops (the paper + 6*81 bias adds), calflops (the paper)
    assert counts(model) == [5_400, 17_982, 5_400, 17_496, 5_886, 5_400]
    # calflops' FLOPs: 2 x 5,400 + 6 biases x the *forward* conv size of the input ((5 + 2 - 3)//2 + 1)^2
    assert analyze(model, "calflops").totals.flops == 10_800 + 6 * 3 * 3
    assert_tools_agree(model.with_batch(2))


@pytest.mark.parametrize(
    ("layer", "form"),
    [
        (Conv2DTranspose(2, 3, stride=2, padding=1, output_padding=1, name="k"), ((1, 1), (1, 1), ((0, 0), (0, 0)))),
        # Keras 'same': the odd row removed at the end, one more than torch's padding removes there
        (Conv2DTranspose(2, 3, stride=2, padding="same", name="k"), ((0, 0), (0, 0), ((0, 1), (0, 1)))),
        # more removed before than after: less padding, the rest cropped at the start
        (Conv2DTranspose(2, 3, padding=((2, 0), (0, 0)), name="k"), ((0, 0), (0, 0), ((2, 0), (0, 0)))),
        # rows added at the end as well: output_padding only, the start cropped
        (
            Conv2DTranspose(2, 3, stride=2, padding=((2, 0), (1, 1)), output_padding=1, name="k"),
            ((0, 1), (1, 1), ((2, 0), (0, 0))),
        ),
    ],
)
def test_every_torch_form_of_a_transposed_conv(layer: Conv2DTranspose, form: Any) -> None:
    """(padding, output_padding, crop after) per axis, as to_torch builds them, and the build holds."""
    forms = [torch_transposed(axis) for axis in layer.axes()]
    assert (tuple(f[0] for f in forms), tuple(f[1] for f in forms), tuple(f[2] for f in forms)) == form
    model = one(layer, (3, 4, 5), batch=2)
    assert_reference_equals_torch(model)
    assert_tools_agree(model)


def test_calflops_divides_a_grouped_transposed_conv_by_its_groups_twice() -> None:
    model = one(Conv2DTranspose(4, 3, groups=2, bias=False), (4, 3, 3))
    assert analyze(model, "paper").totals.macs == 9 * 4 * 2 * 9  # C_out / groups = 2 per input channel
    assert analyze(model, "calflops").totals.macs == 9 * 4 * 1 * 9  # weight.shape[1] // groups = 1
    assert_tools_agree(model)


def test_calflops_can_count_a_negative_bias() -> None:
    """On a 1x5 input a 4x4 kernel's forward conv would be -2 x 2 positions: calflops adds -4 x 2 biases."""
    model = one(Conv2DTranspose(2, 4), (1, 1, 5))
    calflops = analyze(model, "calflops").totals
    assert calflops.macs == 16 * 2 * 5
    assert calflops.flops == 2 * calflops.macs - 8
    assert_tools_agree(model)


def test_upsampling_as_each_tool_counts_it() -> None:
    """Bilinear x2 of 3x4x5: 240 output values."""
    model = one(UpSampling2D(2, interpolation="bilinear"), (3, 4, 5), batch=2)
    # torchinfo nothing; fvcore 4 per output; thop 11 per output; ptflops module hook + F.interpolate
    # (one sample); calflops counts the input elements, in its FLOPs only
    assert counts(model) == [0, 0, 2 * 960, 2 * 2_640, 480, 0]
    assert analyze(model, "calflops").totals.flops == 2 * 60
    assert_tools_agree(model)


def test_calflops_prices_a_resize_by_its_size_alone() -> None:
    """F.interpolate(size=(7, 9)): prod(size) = 63, whatever the batch and the channels."""
    for batch in (1, 3):
        model = one(Resize((7, 9)), (3, 4, 5), batch=batch)
        assert analyze(model, "calflops").totals.flops == 63
        assert analyze(model, "fvcore").totals.macs == batch * 3 * 63
        assert_tools_agree(model)


def test_nearest_exact_is_free_for_fvcore_and_thop() -> None:
    model = one(Resize((5, 7), interpolation="nearest_exact"), (2, 3, 4), batch=2)
    assert counts(model) == [0, 0, 0, 0, 2 * 70, 0]
    assert_tools_agree(model)


@pytest.mark.parametrize("batch", [1, 3])
def test_calflops_crashes_on_a_non_square_upsampling_unless_the_batch_is_two(batch: int) -> None:
    from calflops import calculate_flops

    functional = dict(vars(torch.nn.functional))
    patched = ("matmul", "mm", "bmm", "addmm", "baddbmm", "mul", "add", "einsum")
    originals = {name: getattr(torch, name) for name in patched}
    methods = {name: getattr(torch.Tensor, name) for name in patched if hasattr(torch.Tensor, name)}
    module = torch.nn.Sequential(torch.nn.Upsample(scale_factor=(2, 3)), torch.nn.Conv2d(1, 1, 1))
    try:
        with pytest.raises(TypeError, match="unsupported operand"):
            calculate_flops(model=module, input_shape=(batch, 1, 3, 4), print_results=False, print_detailed=False)
    finally:  # calflops does not undo its patches when it fails
        for name, function in functional.items():
            setattr(torch.nn.functional, name, function)
        for name, function in originals.items():
            setattr(torch, name, function)
        for name, method in methods.items():
            setattr(torch.Tensor, name, method)
    assert_tools_agree(one(UpSampling2D((2, 3)), (1, 3, 4), batch=2))  # at batch 2 it counts, as convcost does


@pytest.mark.parametrize("kernel", [(1, 1), (2, 2), (3, 4), (4, 3), (5, 5)])
@pytest.mark.parametrize("dilation", [1, 2])
def test_torch_same_padding_is_keras_same_at_stride_one(kernel: tuple[int, int], dilation: int) -> None:
    """torch's Conv2d(padding='same') splits an odd total padding with the extra pixel at the
    bottom/right, as Keras' 'same' does: convcost's padding='same' at stride 1 is both."""
    layer = Conv2D(3, kernel, padding="same", dilation=dilation, name="k")
    model = one(layer, (2, 7, 6))
    execution = run(model)
    conv = torch.nn.Conv2d(2, 3, kernel, padding="same", dilation=dilation)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(execution.weights["k"]["weight"]))
        conv.bias.copy_(torch.from_numpy(execution.weights["k"]["bias"]))
        x = torch.from_numpy(np.random.default_rng(3).standard_normal((1, 2, 7, 6)).astype(np.float32))
        theirs = conv(x).numpy()
    ours = run(model, x.numpy(), weights=execution.weights).output
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_torch_same_padding_module_quirks() -> None:
    """What the tools make of nn.Conv2d(padding='same') itself (a torch reader's node keeps that in its
    Source): fvcore has no handle for aten::_convolution_mode (0), calflops pads d(k-1)//2 on each side
    so an even kernel loses a row and a column. (to_torch never builds it: it writes the padding out.)"""
    conv = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 4, padding="same", bias=False))
    model = one(Conv2D(3, 4, padding="same", bias=False), (2, 7, 6))
    assert run_tool("fvcore", conv, model)[1] == 0
    _, macs, _ = run_calflops(conv, model)
    assert macs == 16 * 2 * 3 * 6 * 5 == analyze(model, "paper").totals.macs * 30 // 42


# ------------------------------------------------------------------------------------------ Keras' own layers


def test_keras_layers_read_from_their_json() -> None:
    """A Keras model of these layers, built by Keras: count_params, the split and the multiply-adds
    read off its own kernel variables (prod(kernel.shape) x H_in x W_in) equal the JSON read."""
    x = keras.Input((10, 12, 3))
    y = keras.layers.Conv2DTranspose(4, 3, strides=2, padding="same", name="up1")(x)
    y = keras.layers.Conv2DTranspose(5, 3, strides=2, output_padding=1, name="up2")(y)
    y = keras.layers.Cropping2D(1, name="crop")(y)
    y = keras.layers.UpSampling2D((1, 2), interpolation="bilinear", name="bilinear")(y)
    y = keras.layers.Resizing(9, 11, interpolation="nearest", name="resizing")(y)
    y = keras.ops.pad(y, [[0, 0], [1, 2], [0, 1], [0, 0]], mode="reflect")
    y = y[..., 1:]  # a GetItem operation: 4 of the 5 channels
    y = keras.layers.Permute((2, 1, 3), name="permute")(y)
    y = keras.layers.Reshape((12 * 12, 4), name="seq")(y)  # 9x11 padded to 12x12
    y = keras.layers.ZeroPadding1D((1, 2), name="pad1d")(y)
    y = keras.layers.Cropping1D(3, name="crop1d")(y)
    y = keras.layers.Conv1DTranspose(2, 3, strides=2, padding="same", name="up1d")(y)
    built = keras.Model(x, y)
    read = from_keras_json(built.to_json())
    totals = analyze(read, "keras").totals
    assert (totals.params, totals.trainable, totals.non_trainable) == (
        built.count_params(),
        keras_weights(built, True),
        keras_weights(built, False),
    )
    keras_macs = 0
    for layer in built.layers:
        if "transpose" in type(layer).__name__.lower():
            keras_macs += math.prod(layer.kernel.shape) * math.prod(layer.input.shape[1:-1])
    assert analyze(read, "paper").totals.macs == keras_macs
    # 144 positions, padded to 147, cropped to 141, transposed at stride 2 'same': 282
    assert read.shaped[-1].output == (2, 282)
    assert tuple(built.output.shape[1:]) == (282, 2)


@given(st.lists(st.integers(1, 4), min_size=1, max_size=5).flatmap(lambda s: st.permutations(range(len(s)))))
def test_permute_dims_turn_around_at_the_keras_border(dims: list[int]) -> None:
    from convcost.interop.keras import _keras_dims, _spec_dims

    assert _spec_dims(list(_keras_dims(tuple(dims)))) == tuple(dims)


# ------------------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Conv2DTranspose(4, 3, stride=2, output_padding=2), "output_padding (2) must be smaller"),
        (lambda: Conv2DTranspose(4, 3, groups=3), "divisible by groups"),
        (lambda: Conv1DTranspose(4, 3, padding=(1, -1)), "padding must be 'same', 'valid', p or"),
        (lambda: UpSampling2D(interpolation="bicubic"), "interpolation must be one of nearest, bilinear"),
        (lambda: UpSampling2D(align_corners=True), "align_corners only goes with bilinear"),
        (lambda: Resize(), "output (the size (H, W) to resize to) is required"),
        (lambda: Permute((0, 0, 1)), "dims must be a permutation"),
        (lambda: Slice(0, 0, 4, step=0), "step must be a positive integer"),
        (lambda: Pad2D(1, mode="reflect", value=1.0), "only goes with mode 'constant'"),
        (lambda: Pad2D(1, mode="wrap"), "mode must be one of constant, reflect, replicate"),
        (lambda: Cropping1D(-1), "cropping must be p or (before, after)"),
    ],
)
def test_bad_fields_are_one_clear_line(make: Any, message: str) -> None:
    with pytest.raises(SpecError, match=re.escape(message)):
        make()


@pytest.mark.parametrize(
    ("layer", "shape", "message"),
    [
        (Cropping2D(3, name="c"), (1, 5, 5), "leaves nothing of a 5x5 map"),
        (Slice(0, 5, 6, name="c"), (4, 2, 2), "is empty"),
        (Slice(3, 0, 1, name="c"), (4, 2, 2), "axis 3 does not exist"),
        (Pad2D(3, mode="reflect", name="c"), (1, 3, 3), "must be smaller than the map it mirrors"),
        (ChannelShuffle(3, name="c"), (4, 2, 2), "channels (4) must be divisible by groups (3)"),
        (Permute((1, 0), name="c"), (4, 2, 2), "permute 2 axes"),
        (Conv2DTranspose(2, 1, padding=1, name="c"), (1, 1, 1), "nothing is left"),
        (Conv1DTranspose(2, name="c"), (1, 4, 4), "needs a (C, L) sequence"),
    ],
)
def test_geometry_that_does_not_fit_names_the_layer(layer: Layer, shape: Shape, message: str) -> None:
    with pytest.raises(GeometryError, match=re.escape(message)):
        output_shape(layer, shape)


@pytest.mark.parametrize(
    ("layer", "shape", "message"),
    [
        (Conv2DTranspose(4, 3, groups=2), (2, 3, 3), "has no groups"),
        (Conv2DTranspose(4, 3, stride=2, dilation=2), (2, 3, 3), "stride above 1 together with dilation"),
        (UpSampling2D(2, interpolation="bilinear", align_corners=True), (1, 3, 3), "never aligns the corners"),
        (Resize((5, 5)), (1, 3, 3), "its nearest is nearest_exact"),
        (Pad2D(2, mode="replicate"), (1, 3, 3), "no replicate padding beyond one pixel"),
    ],
)
def test_what_keras_cannot_build_is_refused_by_name(layer: Layer, shape: Shape, message: str) -> None:
    with pytest.raises(UnsupportedLayerError, match=re.escape(message)):
        to_keras(one(layer, shape))


def test_keras_operations_read_as_pads_and_slices() -> None:
    """Keras writes ops.pad and x[...] as operations (their constant and slice in the call's arguments)."""
    x = keras.Input((4, 5, 6))
    outputs = [
        keras.ops.pad(x, [[0, 0], [1, 2], [0, 1], [0, 0]], constant_values=0.5),
        x[:, 1:3],
        x[..., ::2],
        x[..., -4:-1],
    ]
    read = from_keras_json(keras.Model(x, outputs).to_json())
    layers = [s.layer for s in read.shaped]
    assert [type(layer).__name__ for layer in layers] == ["Pad2D", "Slice", "Slice", "Slice"]
    assert (layers[0].padding, layers[0].value) == (((1, 2), (0, 1)), 0.5)
    assert [(s.layer.axis, s.layer.start, s.layer.stop, s.layer.step, s.output) for s in read.shaped[1:]] == [
        (1, 1, 3, 1, (6, 2, 5)),  # H of a (6, 4, 5) map
        (0, 0, None, 2, (3, 4, 5)),  # the channels
        (0, -4, -1, 1, (3, 4, 5)),
    ]


@pytest.mark.parametrize(
    ("index", "message"),
    [
        (lambda x: x[:, 1], "reads slices only"),
        (lambda x: x[:, 1:3, 1:2], "slices 2 axes"),
        (lambda x: x[0:1, ...], "not the batch"),
    ],
    ids=["an integer index", "two axes", "the batch"],
)
def test_keras_indexing_that_is_no_slice_is_refused(index: Any, message: str) -> None:
    x = keras.Input((4, 5, 6))
    with pytest.raises(UnsupportedLayerError, match=message):
        from_keras_json(keras.Model(x, index(x)).to_json())


def test_crosscheck_says_calflops_failed_and_leaves_torch_as_it_was() -> None:
    from convcost.crosscheck import crosscheck

    relu = torch.nn.functional.relu
    model = one(UpSampling2D((2, 3)), (1, 3, 4))
    with pytest.raises(ConvcostError, match="calflops failed on this model: TypeError"):
        crosscheck(model, "calflops")
    assert torch.nn.functional.relu is relu
    assert all(check.ok for check in crosscheck(model.with_batch(2), "calflops"))


def test_hand_written_unet_example() -> None:
    """examples/unet_tiny.toml, derived by hand from the file (docs/specfiles.md shows its table)."""
    from pathlib import Path

    from convcost import specfile

    model = specfile.load(Path(__file__).resolve().parent.parent / "examples" / "unet_tiny.toml")
    rows = {row.path: row for row in analyze(model).rows}
    assert rows["enc1"].output == (8, 28, 28) and rows["enc2"].output == (16, 12, 12)
    # 2x2 stride 2 from 12x12x16 to 24x24x8: 2*2*16*8 weights, each meeting the 144 input pixels
    assert (rows["up"].output, rows["up"].params, rows["up"].macs) == ((8, 24, 24), 512 + 8, 512 * 144)
    assert rows["skip"].output == (8, 24, 24) and rows["merge"].output == (16, 24, 24)
    assert rows["dec"].macs == 3 * 3 * 16 * 8 * 24 * 24 and rows["logits"].output == (2, 30, 30)
    totals = analyze(model).totals
    assert totals.params == 224 + 1_168 + 520 + 1_160 + 18
    assert totals.macs == 216 * 28 * 28 + 1_152 * 12 * 12 + 512 * 144 + 1_152 * 24 * 24 + 16 * 24 * 24
    assert_tools_agree(model.with_batch(2))
    assert_keras_agrees(model)


def keras_macs(built: Any) -> int:
    """Conv and dense multiply-adds read off a live Keras model's own layers and kernels."""
    total = 0
    for layer in built.layers:
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)):
            positions = math.prod(layer.output.shape[1:-1])
            if isinstance(layer, keras.layers.SeparableConv2D):
                kernels = (layer.depthwise_kernel, layer.pointwise_kernel)
            else:
                kernels = (layer.kernel,)
            total += sum(math.prod(k.shape) for k in kernels) * positions
        elif isinstance(layer, keras.layers.Dense):
            total += math.prod(layer.kernel.shape) * math.prod(layer.output.shape[1:-1])
    return total


def test_nasnet_mobile_reads_exactly_now_that_cropping2d_is_known() -> None:
    """keras.applications' NASNet crops its reduction cells' inputs with Cropping2D(((1, 0), (1, 0)))."""
    from keras.src.applications import nasnet

    # NASNetMobile's own arguments (keras.applications.NASNetMobile refuses the torch backend)
    built = nasnet.NASNet(
        (224, 224, 3),
        penultimate_filters=1056,
        num_blocks=4,
        stem_block_filters=32,
        skip_reduction=False,
        filter_multiplier=2,
        default_size=224,
        weights=None,
        name="nasnet_mobile",
    )
    assert any(isinstance(layer, keras.layers.Cropping2D) for layer in built.layers)
    read = from_keras_json(built.to_json())
    totals = analyze(read, "keras").totals
    assert (totals.params, totals.trainable, totals.non_trainable) == (
        built.count_params(),
        keras_weights(built, True),
        keras_weights(built, False),
    )
    assert totals.macs == keras_macs(built)
