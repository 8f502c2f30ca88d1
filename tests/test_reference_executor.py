"""The counting executor: closed form == counted (params, multiply-adds), shapes == the shape module,
and whole networks equal the same network built by hand in torch with the same weights."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from convcost.errors import GeometryError
from convcost.reference import kernels, run
from convcost.report import analyze
from convcost.shapes import infer_shapes
from convcost.spec import (
    Activation,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    Layer,
    MaxPool2D,
    Model,
    Parallel,
    Reshape,
    SeparableConv2D,
    Sequential,
    ZeroPadding2D,
)
from convcost.zoo import mobilenet_v1

# ------------------------------------------------------------------------- random geometries

paddings = st.one_of(
    st.sampled_from(["same", "valid"]),
    st.integers(0, 3),
    st.tuples(st.integers(0, 3), st.integers(0, 3)),
    st.tuples(st.tuples(st.integers(0, 3), st.integers(0, 3)), st.tuples(st.integers(0, 3), st.integers(0, 3))),
)
kernels_ = st.one_of(st.integers(1, 7), st.tuples(st.integers(1, 7), st.integers(1, 7)))
strides = st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)))
dilations = st.integers(1, 3)


@st.composite
def conv_layer(draw: st.DrawFn, channels: int) -> Layer:
    kind = draw(st.sampled_from(["conv", "depthwise", "separable", "grouped"]))
    common = {"kernel": draw(kernels_), "stride": draw(strides), "padding": draw(paddings), "bias": draw(st.booleans())}
    dilation = draw(dilations)
    if kind == "depthwise":
        return DepthwiseConv2D(depth_multiplier=draw(st.integers(1, 3)), dilation=dilation, **common)
    if kind == "separable":
        return SeparableConv2D(
            draw(st.integers(1, 64)), depth_multiplier=draw(st.integers(1, 3)), dilation=dilation, **common
        )
    groups = 1 if kind == "conv" else draw(st.sampled_from([g for g in range(1, channels + 1) if channels % g == 0]))
    return Conv2D(groups * draw(st.integers(1, max(1, 64 // groups))), groups=groups, dilation=dilation, **common)


@st.composite
def single_conv_model(draw: st.DrawFn) -> Model:
    channels = draw(st.integers(1, 64))
    size = (draw(st.integers(1, 40)), draw(st.integers(1, 40)))
    layer = draw(conv_layer(channels))
    return Model("random", (channels, *size), Sequential((layer,)), batch=draw(st.integers(1, 2)))


@st.composite
def small_stack(draw: st.DrawFn) -> Model:
    """A few layers of every kind, possibly with parallel branches, on a small map."""
    channels = draw(st.integers(1, 8))
    size = draw(st.integers(4, 12))
    layers: list[Layer] = [draw(conv_layer(channels))]
    extra = draw(
        st.lists(
            st.sampled_from(["bn", "act", "maxpool", "avgpool", "pad", "dropout", "add", "concat", "dense"]),
            max_size=4,
        )
    )
    for name in extra:
        if name == "bn":
            layers.append(BatchNorm(center=draw(st.booleans()), scale=draw(st.booleans())))
        elif name == "act":
            layers.append(Activation(draw(st.sampled_from(["relu", "relu6", "tanh", "softmax", "gelu"]))))
        elif name in ("maxpool", "avgpool"):
            cls = MaxPool2D if name == "maxpool" else AvgPool2D
            layers.append(
                cls(
                    draw(st.integers(1, 3)),
                    stride=draw(st.integers(1, 2)),
                    padding=draw(st.sampled_from(["same", "valid"])),
                )
            )
        elif name == "pad":
            layers.append(ZeroPadding2D(draw(st.integers(0, 2))))
        elif name == "dropout":
            layers.append(Dropout(0.3))
        elif name == "dense":
            layers.append(Dense(draw(st.integers(1, 6))))
        else:
            if name == "add":
                branch = Sequential((BatchNorm(), Activation("relu")))
                other = Sequential(())  # the identity shortcut of a residual block
            else:
                branch = Sequential((Conv2D(draw(st.integers(1, 6)), 1), BatchNorm(), Activation("relu")))
                other = Sequential((MaxPool2D(3, stride=1, padding="same"),))
            layers.append(Parallel((branch, other), merge=name))
    layers += [GlobalAvgPool2D(), Dense(3)]
    return Model("stack", (channels, size, size), Sequential(tuple(layers)), batch=draw(st.integers(1, 2)))


def check_counts(model: Model) -> None:
    """Closed form (keras params, paper multiply-adds) == the executor's count, row by row; shapes too."""
    try:
        shaped = infer_shapes(model)
    except GeometryError:
        with pytest.raises(GeometryError):
            run(model)
        return
    counted = run(model).layers
    keras_rows, paper_rows = analyze(model, "keras").rows, analyze(model, "paper").rows
    assert [c.path for c in counted] == [r.path for r in keras_rows]
    for (path, in_shape, out_shape), keras_row, paper_row, count in zip(
        ((s.path, s.input, s.output) for s in shaped), keras_rows, paper_rows, counted, strict=True
    ):
        assert count.output == out_shape, path
        assert count.input == in_shape, path
        assert (count.trainable, count.non_trainable) == (keras_row.trainable, keras_row.non_trainable), path
        assert count.macs == paper_row.macs, path


def _weighted(kind: str) -> bool:
    return kind in {"Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Dense"}


@given(single_conv_model())
def test_closed_form_equals_counted_on_random_convolutions(model: Model) -> None:
    check_counts(model)


@given(small_stack())
def test_closed_form_equals_counted_on_random_stacks(model: Model) -> None:
    check_counts(model)


@given(
    st.integers(1, 64),
    st.integers(1, 40),
    st.integers(1, 7),
    st.integers(1, 3),
    st.sampled_from(["same", "valid"]),
)
def test_geometry_errors_agree_with_the_shape_module(
    channels: int, size: int, kernel: int, dilation: int, padding: str
) -> None:
    model = Model(
        "m", (channels, size, size), Sequential((DepthwiseConv2D(kernel, padding=padding, dilation=dilation),))
    )
    check_counts(model)


def test_only_the_multiplying_kernels_count_multiply_adds() -> None:
    """BN, activations, pools and merges do no multiply-adds in the count (the paper's convention)."""
    model = mobilenet_v1(alpha=0.25, resolution=64).with_batch(2)
    for count in run(model).layers:
        if not _weighted(count.kind):
            assert count.macs == 0, count.path


def test_depthwise_counts_the_products_with_padding_as_the_formula_does() -> None:
    model = Model("m", (2, 5, 5), Sequential((DepthwiseConv2D(3, padding="same", bias=False),)), batch=3)
    (count,) = run(model).layers
    assert count.macs == 3 * (3 * 3 * 2 * 5 * 5)


# ------------------------------------------------------------------------- behaviour


def test_weights_are_deterministic_per_layer_and_reusable() -> None:
    model = mobilenet_v1(alpha=0.25, resolution=32)
    first, again, other = run(model, seed=3), run(model, seed=3), run(model, seed=4)
    assert np.array_equal(first.output, again.output)
    assert not np.array_equal(first.output, other.output)
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    assert np.array_equal(run(model, x, weights=first.weights).output, run(model, x, seed=3).output)


def test_the_callers_input_and_shared_branch_inputs_are_never_overwritten() -> None:
    """BN and activations run in place on arrays the executor owns, never on a shared one."""
    body = Sequential(
        (
            BatchNorm(name="bn_in"),
            Parallel(
                (Sequential((BatchNorm(name="bn_a"), Activation("relu", name="relu_a"))), Sequential(())),
                merge="add",
                name="residual",
            ),
        )
    )
    model = Model("m", (3, 4, 4), body)
    x = np.random.default_rng(1).standard_normal((1, 3, 4, 4)).astype(np.float32)
    before = x.copy()
    result = run(model, x)
    assert np.array_equal(x, before)
    w = result.weights
    y = kernels.batch_norm(
        x, w["bn_in"]["running_mean"], w["bn_in"]["running_var"], w["bn_in"]["weight"], w["bn_in"]["bias"]
    )
    a = kernels.batch_norm(
        y,
        w["residual/branch_0/bn_a"]["running_mean"],
        w["residual/branch_0/bn_a"]["running_var"],
        w["residual/branch_0/bn_a"]["weight"],
        w["residual/branch_0/bn_a"]["bias"],
    )
    np.testing.assert_allclose(result.output, np.maximum(a, 0) + y, rtol=1e-6)


def test_a_bad_geometry_names_the_layer() -> None:
    model = Model("m", (3, 4, 4), Sequential((Conv2D(4, 5, name="too_big"),)))
    with pytest.raises(GeometryError, match="too_big"):
        run(model)


# ------------------------------------------------------------------------- whole network vs torch


class _Merge(nn.Module):
    def __init__(self, branches: list[nn.Module], merge: str) -> None:
        super().__init__()
        self.branches = nn.ModuleList(branches)
        self.merge = merge

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [b(x) for b in self.branches]
        return torch.stack(outputs).sum(0) if self.merge == "add" else torch.cat(outputs, dim=1)


def _same_pad(size: tuple[int, int], layer: Any) -> nn.Module:
    pads = kernels.resolve_padding(layer.padding, size, layer.kernel, layer.stride, layer.dilation)
    (top, bottom), (left, right) = pads
    return nn.ZeroPad2d((left, right, top, bottom))


def to_torch(
    block: Sequential, shape: tuple[int, ...], weights: dict[str, dict[str, np.ndarray]], prefix: str = ""
) -> tuple[nn.Module, tuple[int, ...]]:
    """Build, by hand, the torch modules of a spec and load the executor's weights into them."""
    modules: list[nn.Module] = []
    for layer in block.layers:
        path = prefix + layer.name
        w = {name: torch.from_numpy(a) for name, a in weights.get(path, {}).items()}
        new: list[nn.Module]
        if isinstance(layer, Sequential):
            module, shape = to_torch(layer, shape, weights, path + "/")
            modules.append(module)
            continue
        if isinstance(layer, Parallel):
            branches = [to_torch(b, shape, weights, f"{path}/{b.name}/") for b in layer.branches]
            modules.append(_Merge([m for m, _ in branches], layer.merge))
            outs = [s for _, s in branches]
            shape = outs[0] if layer.merge == "add" else (sum(s[0] for s in outs), *outs[0][1:])
            continue
        if isinstance(layer, (Conv2D, DepthwiseConv2D)):
            c = shape[0]
            groups = layer.groups if isinstance(layer, Conv2D) else c
            out_c = layer.filters if isinstance(layer, Conv2D) else c * layer.depth_multiplier
            conv = nn.Conv2d(c, out_c, layer.kernel, layer.stride, 0, layer.dilation, groups, bias=layer.bias)
            with torch.no_grad():
                conv.weight.copy_(w["weight"])
                if layer.bias:
                    conv.bias.copy_(w["bias"])
            new = [_same_pad(shape[1:], layer), conv]
        elif isinstance(layer, BatchNorm):
            bn = nn.BatchNorm2d(shape[0], eps=kernels.BN_EPSILON, affine=True).eval()
            with torch.no_grad():
                bn.running_mean.copy_(w["running_mean"])
                bn.running_var.copy_(w["running_var"])
                bn.weight.copy_(w.get("weight", torch.ones(shape[0])))
                bn.bias.copy_(w.get("bias", torch.zeros(shape[0])))
            new = [bn]
        elif isinstance(layer, Activation):
            new = [{"relu": nn.ReLU(), "relu6": nn.ReLU6(), "softmax": nn.Softmax(dim=1)}[layer.function]]
        elif isinstance(layer, GlobalAvgPool2D):
            new = [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        elif isinstance(layer, Dense):
            fc = nn.Linear(shape[0], layer.units)
            with torch.no_grad():
                fc.weight.copy_(w["weight"])
                fc.bias.copy_(w["bias"])
            new = [fc]
        else:
            raise NotImplementedError(type(layer).__name__)
        modules += new
        # the torch modules just built tell the next layer its input shape
        shape = tuple(nn.Sequential(*new)(torch.zeros(1, *shape)).shape[1:])
    return nn.Sequential(*modules), shape


def test_mobilenet_v1_forward_equals_torch_with_the_same_weights() -> None:
    spec = mobilenet_v1(alpha=0.25, resolution=128).with_batch(2)
    x = np.random.default_rng(7).standard_normal((2, 3, 128, 128)).astype(np.float32)
    result = run(spec, x, seed=11)
    net, _ = to_torch(spec.body, spec.input, result.weights)
    with torch.no_grad():
        logits = net[:-1](torch.from_numpy(x))
        probs = F.softmax(logits, dim=1)
    # the softmax hides little here, but check the logits too: run the spec without its softmax
    body = Sequential(spec.body.layers[:-1])
    ours_logits = run(Model("logits", spec.input, body, 2), x, weights=result.weights).output
    for ours, theirs in ((ours_logits, logits), (result.output, probs)):
        theirs = theirs.numpy()
        assert np.abs(ours - theirs).max() <= 1e-4 * np.abs(theirs).max()
    assert np.abs(logits.numpy()).max() > 0.1  # the comparison is not between two vanishing signals


def test_parallel_add_and_concat_equal_torch() -> None:
    body = Sequential(
        (
            Conv2D(8, 3, padding="same", name="stem"),
            Parallel(
                (
                    Sequential((Conv2D(8, 3, stride=1, padding="same"), BatchNorm(), Activation("relu"))),
                    Sequential(()),
                ),
                merge="add",
                name="res",
            ),
            Parallel(
                (
                    Sequential((Conv2D(4, 1),)),
                    Sequential((DepthwiseConv2D(3, padding="same", depth_multiplier=2),)),
                ),
                merge="concat",
                name="inception",
            ),
            GlobalAvgPool2D(),
            Dense(5),
        )
    )
    spec = Model("branches", (3, 9, 9), body, batch=2)
    result = run(spec, seed=1)
    net, _ = to_torch(spec.body, spec.input, result.weights)
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 9)).astype(np.float32)
    with torch.no_grad():
        theirs = net(torch.from_numpy(x)).numpy()
    ours = run(spec, x, weights=result.weights).output
    assert np.abs(ours - theirs).max() <= 1e-4 * np.abs(theirs).max()
    check_counts(spec)


def test_flatten_and_reshape_follow_torch_order() -> None:
    body = Sequential((Flatten(), Reshape((2, 3, 4)), Flatten()))
    x = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    out = run(Model("m", (2, 3, 4), body), x).output
    assert np.array_equal(out, torch.flatten(torch.from_numpy(x), 1).numpy())
