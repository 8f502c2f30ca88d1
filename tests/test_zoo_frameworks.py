"""Every zoo entry beyond the seeds' printed summaries, against the real frameworks.

* params: keras.applications (VGG16, ResNet50, MobileNetV2) layer by layer, or the network written
  by hand here in Keras (seed 003's five nets, from the seed's code) -> ``count_params()``; torch's
  ``sum(p.numel())`` for the torch-built ResNet-50 (and every torch twin below);
* multiply-adds: the same network written by hand in torch, measured by fvcore (its conv + linear
  operator totals), at small resolutions where the network allows.
"""

from __future__ import annotations

from typing import Any

import pytest

import convcost
from convcost.errors import GeometryError
from convcost.report import Report
from convcost.spec import Conv2D, MaxPool2D, Model, Parallel, Sequential
from convcost.zoo import build

TORCH_MACS_OPS = ("conv", "linear", "addmm", "matmul")


def fvcore_macs(net: Any, shape: tuple[int, ...]) -> int:
    import torch
    from fvcore.nn import FlopCountAnalysis

    net.eval()
    flops = FlopCountAnalysis(net, torch.zeros(1, *shape))
    flops.unsupported_ops_warnings(False)
    flops.uncalled_modules_warnings(False)
    by_op = flops.by_operator()
    return sum(int(by_op.get(op, 0)) for op in TORCH_MACS_OPS)


def torch_params(net: Any) -> int:
    return sum(p.numel() for p in net.parameters())


def check_torch(model: Model, net: Any) -> Report:
    """Torch's learned parameters are our trainable ones; fvcore's conv + linear work is our mult-adds."""
    report = convcost.analyze(model, "keras")
    assert torch_params(net) == report.totals.trainable, model.name
    assert fvcore_macs(net, model.input) == report.totals.macs, model.name
    return report


# ---------------------------------------------------------------- torch building blocks


def _torch() -> Any:
    import torch.nn as nn

    return nn


class TorchResidual:
    """``relu(body(x) + shortcut(x))`` with an identity shortcut when it is None."""

    @staticmethod
    def make(body: Any, shortcut: Any | None) -> Any:
        nn = _torch()

        class Residual(nn.Module):  # type: ignore[misc, name-defined]
            def __init__(self) -> None:
                super().__init__()
                self.body = body
                self.shortcut = shortcut if shortcut is not None else nn.Identity()

            def forward(self, x: Any) -> Any:
                return self.body(x) + self.shortcut(x)

        return Residual()


def torch_concat(*branches: Any) -> Any:
    import torch

    nn = _torch()

    class Concat(nn.Module):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.branches = nn.ModuleList(branches)

        def forward(self, x: Any) -> Any:
            return torch.cat([b(x) for b in self.branches], dim=1)

    return Concat()


# ---------------------------------------------------------------- seed 003, by hand in torch


def torch_lenet5() -> Any:
    nn = _torch()
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.Sigmoid(), nn.MaxPool2d(2, 2),
        nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(256, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10),
    )  # fmt: skip


def torch_alexnet8() -> Any:
    nn = _torch()
    return nn.Sequential(
        nn.Conv2d(1, 96, 3), nn.BatchNorm2d(96), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 3), nn.BatchNorm2d(256), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Flatten(), nn.Linear(256, 2048), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(2048, 2048), nn.ReLU(), nn.Dropout(0.5), nn.Linear(2048, 10),
    )  # fmt: skip


def torch_vgg16_fashion() -> Any:
    nn = _torch()
    layers: list[Any] = []
    channels = 1
    for filters, convs in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        for _ in range(convs):
            layers += [nn.Conv2d(channels, filters, 3, padding=1), nn.BatchNorm2d(filters), nn.ReLU()]
            channels = filters
        # Keras MaxPool2D(2, 2, padding='same'): ceil(n / 2), as ceil_mode gives
        layers += [nn.MaxPool2d(2, 2, ceil_mode=True), nn.Dropout(0.2)]
    layers += [nn.Flatten(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)]
    return nn.Sequential(*layers)


def torch_conv_bn_relu(cin: int, cout: int, k: int, s: int = 1, bias: bool = True) -> Any:
    # padding k // 2 gives Keras 'same' output sizes for odd kernels at stride 1 and 2
    nn = _torch()
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, padding=k // 2, bias=bias), nn.BatchNorm2d(cout), nn.ReLU())


def torch_inception10(num_blocks: int = 2, init_ch: int = 16) -> Any:
    nn = _torch()
    layers = [torch_conv_bn_relu(1, init_ch, 3)]
    cin, ch = init_ch, init_ch
    for _ in range(num_blocks):
        for stride in (2, 1):
            layers.append(
                torch_concat(
                    torch_conv_bn_relu(cin, ch, 1, stride),
                    nn.Sequential(torch_conv_bn_relu(cin, ch, 1, stride), torch_conv_bn_relu(ch, ch, 3)),
                    nn.Sequential(torch_conv_bn_relu(cin, ch, 1, stride), torch_conv_bn_relu(ch, ch, 5)),
                    nn.Sequential(nn.MaxPool2d(3, 1, padding=1), torch_conv_bn_relu(cin, ch, 1, stride)),
                )
            )
            cin = 4 * ch
        ch *= 2
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10)]
    return nn.Sequential(*layers)


def torch_resnet18_fashion(block_list: tuple[int, ...] = (2, 2, 2, 2)) -> Any:
    nn = _torch()
    layers = [torch_conv_bn_relu(1, 64, 3, bias=False)]
    cin = filters = 64
    for block_id, depth in enumerate(block_list):
        for layer_id in range(depth):
            stride = 2 if block_id and not layer_id else 1
            body = nn.Sequential(
                torch_conv_bn_relu(cin, filters, 3, stride, bias=False),
                nn.Conv2d(filters, filters, 3, 1, padding=1, bias=False),
                nn.BatchNorm2d(filters),
            )
            shortcut = None
            if stride == 2:
                shortcut = nn.Sequential(nn.Conv2d(cin, filters, 1, stride, bias=False), nn.BatchNorm2d(filters))
            layers += [TorchResidual.make(body, shortcut), nn.ReLU()]
            cin = filters
        filters *= 2
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 10)]
    return nn.Sequential(*layers)


# ---------------------------------------------------------------- seed 003, by hand in Keras


def keras_seed_003(name: str) -> Any:
    """The seed's subclassed models, written with the functional API (same layers, same order)."""
    import keras
    from keras import layers as L

    x0 = keras.Input((28, 28, 1))
    if name == "lenet5":
        x = L.MaxPool2D(2, 2)(L.Conv2D(6, 5, activation="sigmoid")(x0))
        x = L.MaxPool2D(2, 2)(L.Conv2D(16, 5, activation="sigmoid")(x))
        x = L.Dense(120, activation="sigmoid")(L.Flatten()(x))
        x = L.Dense(10, activation="softmax")(L.Dense(84, activation="sigmoid")(x))
    elif name == "alexnet8":
        x = L.MaxPool2D(3, 2)(L.Activation("relu")(L.BatchNormalization()(L.Conv2D(96, 3)(x0))))
        x = L.MaxPool2D(3, 2)(L.Activation("relu")(L.BatchNormalization()(L.Conv2D(256, 3)(x))))
        for filters in (384, 384, 256):
            x = L.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = L.Flatten()(L.MaxPool2D(3, 2)(x))
        x = L.Dropout(0.5)(L.Dense(2048, activation="relu")(x))
        x = L.Dropout(0.5)(L.Dense(2048, activation="relu")(x))
        x = L.Dense(10, activation="softmax")(x)
    elif name == "vgg16_fashion":
        x = x0
        for filters, convs in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
            for _ in range(convs):
                x = L.Activation("relu")(L.BatchNormalization()(L.Conv2D(filters, 3, padding="same")(x)))
            x = L.Dropout(0.2)(L.MaxPool2D(2, 2, padding="same")(x))
        x = L.Dropout(0.2)(L.Dense(512, activation="relu")(L.Flatten()(x)))
        x = L.Dropout(0.2)(L.Dense(512, activation="relu")(x))
        x = L.Dense(10, activation="softmax")(x)
    elif name == "inception10":

        def cbr(x: Any, ch: int, k: int = 3, s: int = 1) -> Any:
            return L.Activation("relu")(L.BatchNormalization()(L.Conv2D(ch, k, strides=s, padding="same")(x)))

        x = cbr(x0, 16)
        ch = 16
        for _ in range(2):
            for s in (2, 1):
                x1 = cbr(x, ch, 1, s)
                x2 = cbr(cbr(x, ch, 1, s), ch, 3)
                x3 = cbr(cbr(x, ch, 1, s), ch, 5)
                x4 = cbr(L.MaxPool2D(3, strides=1, padding="same")(x), ch, 1, s)
                x = L.Concatenate(axis=3)([x1, x2, x3, x4])
            ch *= 2
        x = L.Dense(10, activation="softmax")(L.GlobalAveragePooling2D()(x))
    elif name == "resnet18_fashion":
        x = L.Activation("relu")(L.BatchNormalization()(L.Conv2D(64, 3, padding="same", use_bias=False)(x0)))
        filters = 64
        for block_id in range(4):
            for layer_id in range(2):
                stride = 2 if block_id and not layer_id else 1
                y = L.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
                y = L.Activation("relu")(L.BatchNormalization()(y))
                y = L.BatchNormalization()(L.Conv2D(filters, 3, padding="same", use_bias=False)(y))
                residual = x
                if stride == 2:
                    residual = L.Conv2D(filters, 1, strides=stride, padding="same", use_bias=False)(x)
                    residual = L.BatchNormalization()(residual)
                x = L.Activation("relu")(L.Add()([y, residual]))
            filters *= 2
        x = L.GlobalAveragePooling2D()(x)
        x = L.Dense(10, activation="softmax", kernel_regularizer=keras.regularizers.l2())(x)
    else:
        raise AssertionError(name)
    return keras.Model(x0, x)


#: the totals docs/zoo.md prints for seed 003's networks: (total, trainable, non-trainable, mult-adds)
SEED_003_DOCS = {
    "lenet5": (44_426, 44_426, 0, 281_640),
    "alexnet8": (8_064_586, 8_063_882, 704, 76_986_752),
    "vgg16_fashion": (15_260_874, 15_252_426, 8_448, 268_171_264),
    "inception10": (121_130, 119_946, 1_184, 9_145_856),
    "resnet18_fashion": (11_182_410, 11_172_810, 9_600, 455_800_832),
}
TORCH_SEED_003 = {
    "lenet5": torch_lenet5,
    "alexnet8": torch_alexnet8,
    "vgg16_fashion": torch_vgg16_fashion,
    "inception10": torch_inception10,
    "resnet18_fashion": torch_resnet18_fashion,
}


@pytest.mark.parametrize("name", list(SEED_003_DOCS))
def test_seed_003_against_keras_and_torch(name: str) -> None:
    import keras

    model = build(name)
    net = keras_seed_003(name)
    report = check_torch(model, TORCH_SEED_003[name]())
    non_trainable = sum(int(w.numpy().size) for w in net.non_trainable_weights)
    assert (report.totals.params, report.totals.non_trainable) == (net.count_params(), non_trainable)
    assert report.rows[-1].output == tuple(net.output.shape[1:])
    assert isinstance(net, keras.Model)
    # the numbers the documentation prints are these, measured
    t = report.totals
    assert (t.params, t.trainable, t.non_trainable, t.macs) == SEED_003_DOCS[name]


def test_docs_print_the_measured_seed_003_totals() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "zoo.md").read_text(encoding="utf-8")
    for name, (total, trainable, non_trainable, macs) in SEED_003_DOCS.items():
        line = next(line for line in text.splitlines() if line.startswith(f"| `{name}`"))
        for number in (total, trainable, non_trainable, macs):
            assert f"{number:,}" in line, (name, number)


# ---------------------------------------------------------------- keras.applications, layer by layer


def check_keras_application(model: Model, net: Any) -> None:
    """Every layer both have (same name): same output shape, same params; then the totals."""
    import keras

    report = convcost.analyze(model, "keras")
    by_name = {row.name: row for row in report.rows}
    matched = 0
    for layer in net.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        row = by_name.get(layer.name)
        if row is None:
            # Keras's own auto-named layers (a session counter may be appended) carry no weights
            assert layer.count_params() == 0, layer.name
            continue
        *hw, c = layer.output.shape[1:]
        assert row.output == (c, *hw), layer.name
        assert row.params == layer.count_params(), layer.name
        matched += 1
    assert matched >= len(report.rows) - 1
    non_trainable = sum(int(w.numpy().size) for w in net.non_trainable_weights)
    assert (report.totals.params, report.totals.non_trainable) == (net.count_params(), non_trainable)


@pytest.mark.parametrize(("resolution", "classes"), [(32, 10), (75, 7)])
def test_vgg16_matches_keras_applications(resolution: int, classes: int) -> None:
    import keras

    net = keras.applications.VGG16(weights=None, input_shape=(resolution, resolution, 3), classes=classes)
    check_keras_application(build("vgg16", resolution=resolution, classes=classes), net)


def test_vgg16_imagenet_totals() -> None:
    """Simonyan & Zisserman's configuration D: 138,357,544 parameters (keras.applications' count)."""
    report = convcost.analyze(build("vgg16"), "paper")
    assert report.totals.params == 138_357_544


@pytest.mark.parametrize("resolution", [64, 75])
def test_resnet50_matches_keras_applications(resolution: int) -> None:
    import keras

    net = keras.applications.ResNet50(weights=None, input_shape=(resolution, resolution, 3))
    check_keras_application(build("resnet50", resolution=resolution), net)


@pytest.mark.parametrize(("alpha", "resolution"), [(1.0, 96), (0.35, 97), (1.3, 64)])
def test_mobilenet_v2_matches_keras_applications(alpha: float, resolution: int) -> None:
    import keras

    net = keras.applications.MobileNetV2(weights=None, input_shape=(resolution, resolution, 3), alpha=alpha)
    check_keras_application(build("mobilenet_v2", alpha=alpha, resolution=resolution), net)


# ---------------------------------------------------------------- the ImageNet nets in torch (fvcore)


def torch_vgg16(resolution: int, classes: int) -> Any:
    nn = _torch()
    layers: list[Any] = []
    channels = 3
    for filters, convs in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        for _ in range(convs):
            layers += [nn.Conv2d(channels, filters, 3, padding=1), nn.ReLU()]
            channels = filters
        layers.append(nn.MaxPool2d(2, 2))
    side = resolution // 32
    layers += [nn.Flatten(), nn.Linear(512 * side * side, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU()]
    layers.append(nn.Linear(4096, classes))
    return nn.Sequential(*layers)


def torch_resnet50(keras_style: bool, classes: int) -> Any:
    """keras_style: convs with bias, stride on the first 1x1; else torchvision v1.5 (stride on the 3x3, no bias)."""
    nn = _torch()
    bias = keras_style
    layers = [
        nn.Conv2d(3, 64, 7, 2, padding=3, bias=bias), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, padding=1),
    ]  # fmt: skip
    cin = 64
    for planes, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for i in range(blocks):
            s = stride if i == 0 else 1
            s1, s3 = (s, 1) if keras_style else (1, s)
            body = nn.Sequential(
                nn.Conv2d(cin, planes, 1, s1, bias=bias), nn.BatchNorm2d(planes), nn.ReLU(),
                nn.Conv2d(planes, planes, 3, s3, padding=1, bias=bias), nn.BatchNorm2d(planes), nn.ReLU(),
                nn.Conv2d(planes, 4 * planes, 1, bias=bias), nn.BatchNorm2d(4 * planes),
            )  # fmt: skip
            shortcut = None
            if i == 0:
                shortcut = nn.Sequential(nn.Conv2d(cin, 4 * planes, 1, s, bias=bias), nn.BatchNorm2d(4 * planes))
            layers += [TorchResidual.make(body, shortcut), nn.ReLU()]
            cin = 4 * planes
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, classes)]
    return nn.Sequential(*layers)


def torch_mobilenet_v2(alpha: float, resolution: int, classes: int) -> Any:
    """keras.applications' MobileNetV2 in torch: the same asymmetric zero padding before stride-2 depthwise convs."""
    from convcost.zoo.imagenet import MOBILENET_V2_BLOCKS

    nn = _torch()

    def divisible(v: float) -> int:  # keras.applications _make_divisible, restated
        new_v = max(8, int(v + 4) // 8 * 8)
        return new_v + 8 if new_v < 0.9 * v else new_v

    first = divisible(32 * alpha)
    size = -(-resolution // 2)
    layers: list[Any] = [nn.ZeroPad2d((0, 1, 0, 1) if resolution % 2 == 0 else 1)]
    layers += [nn.Conv2d(3, first, 3, 2, bias=False), nn.BatchNorm2d(first), nn.ReLU6()]
    cin = first
    for block_id, (filters, stride, expansion) in enumerate(MOBILENET_V2_BLOCKS):
        out = divisible(int(filters * alpha))
        mid = cin * expansion
        body: list[Any] = []
        if block_id:
            body += [nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU6()]
        if stride == 2:
            before = 1 - (1 - size % 2)
            body.append(nn.ZeroPad2d((before, 1, before, 1)))
            size = (size + before + 1 - 3) // 2 + 1
        else:
            body.append(nn.ZeroPad2d(1))
        body += [nn.Conv2d(mid, mid, 3, stride, groups=mid, bias=False), nn.BatchNorm2d(mid), nn.ReLU6()]
        body += [nn.Conv2d(mid, out, 1, bias=False), nn.BatchNorm2d(out)]
        block = nn.Sequential(*body)
        layers.append(TorchResidual.make(block, None) if cin == out and stride == 1 else block)
        cin = out
    last = divisible(1280 * alpha) if alpha > 1.0 else 1280
    layers += [nn.Conv2d(cin, last, 1, bias=False), nn.BatchNorm2d(last), nn.ReLU6()]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(last, classes)]
    return nn.Sequential(*layers)


def test_vgg16_in_torch() -> None:
    check_torch(build("vgg16", resolution=64, classes=10), torch_vgg16(64, 10))


def test_resnet50_keras_style_in_torch() -> None:
    check_torch(build("resnet50", resolution=64, classes=10), torch_resnet50(True, 10))


def test_resnet50_torchvision_in_torch() -> None:
    """Module by module: the spec's paths are torchvision's module names."""
    net = torch_resnet50(False, 1000)
    report = check_torch(build("resnet50_torchvision", resolution=64), net)
    assert torch_params(net) == report.totals.trainable == 25_557_032  # torchvision's published count


def test_resnet50_torchvision_at_224_is_the_published_4_1_gmacs() -> None:
    report = convcost.analyze(build("resnet50_torchvision"), "paper")
    assert report.totals.macs == fvcore_macs(torch_resnet50(False, 1000), (3, 224, 224)) == 4_089_184_256


def test_resnet50_variants_differ_only_where_their_sources_do() -> None:
    keras_style = convcost.analyze(build("resnet50"), "keras")
    torchvision = convcost.analyze(build("resnet50_torchvision"), "keras")
    conv_biases = sum(r.output[0] for r in keras_style.rows if r.kind in ("conv", "pointwise"))
    assert keras_style.totals.params - torchvision.totals.params == conv_biases
    assert keras_style.totals.macs < torchvision.totals.macs  # striding the 1x1 first does less work


@pytest.mark.parametrize(("alpha", "resolution"), [(1.0, 64), (0.35, 97), (1.4, 63)])
def test_mobilenet_v2_in_torch(alpha: float, resolution: int) -> None:
    model = build("mobilenet_v2", alpha=alpha, resolution=resolution, classes=10)
    check_torch(model, torch_mobilenet_v2(alpha, resolution, 10))


#: docs/zoo.md's ImageNet table at 224x224x3, 1000 classes: (total, trainable, non-trainable, mult-adds)
IMAGENET_DOCS = {
    "vgg16": (138_357_544, 138_357_544, 0, 15_470_264_320),
    "resnet50": (25_636_712, 25_583_592, 53_120, 3_857_973_248),
    "resnet50_torchvision": (25_610_152, 25_557_032, 53_120, 4_089_184_256),
    "mobilenet_v2": (3_538_984, 3_504_872, 34_112, 300_774_272),
}


def test_imagenet_totals_at_224_against_the_frameworks() -> None:
    import keras

    applications = {"resnet50": keras.applications.ResNet50, "mobilenet_v2": keras.applications.MobileNetV2}
    twins = {
        "vgg16": lambda: torch_vgg16(224, 1000),
        "resnet50": lambda: torch_resnet50(True, 1000),
        "resnet50_torchvision": lambda: torch_resnet50(False, 1000),
        "mobilenet_v2": lambda: torch_mobilenet_v2(1.0, 224, 1000),
    }
    for name, (total, trainable, non_trainable, macs) in IMAGENET_DOCS.items():
        report = convcost.analyze(build(name), "keras")
        t = report.totals
        assert (t.params, t.trainable, t.non_trainable, t.macs) == (total, trainable, non_trainable, macs), name
        net = twins[name]()
        assert torch_params(net) == trainable, name
        assert fvcore_macs(net, (3, 224, 224)) == macs, name
        if name in applications:
            assert applications[name](weights=None).count_params() == total, name


def test_docs_print_the_measured_imagenet_totals() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "zoo.md").read_text(encoding="utf-8")
    for name, numbers in IMAGENET_DOCS.items():
        line = next(line for line in text.splitlines() if line.startswith(f"| `{name}`"))
        for number in numbers:
            assert f"{number:,}" in line, (name, number)


# ---------------------------------------------------------------- branches: errors name the layers


def _branchy(merge: str, a: tuple[Any, ...], b: tuple[Any, ...], resolution: int = 8) -> Model:
    return Model(
        "branchy",
        (4, resolution, resolution),
        Sequential((Parallel((Sequential(a, name="left"), Sequential(b, name="right")), merge=merge, name="block"),)),
    )


def test_add_of_mismatched_shapes_names_both_branches() -> None:
    model = _branchy("add", (Conv2D(8, 3, padding="same", name="conv_a"),), (Conv2D(16, 1, name="conv_b"),))
    with pytest.raises(GeometryError) as e:
        convcost.analyze(model)
    message = str(e.value)
    assert (
        "'block'" in message and "block/left/conv_a [8, 8, 8]" in message and "block/right/conv_b [16, 8, 8]" in message
    )
    assert "\n" not in message


def test_concat_of_mismatched_maps_names_both_branches() -> None:
    model = _branchy("concat", (Conv2D(8, 3, name="conv_a"),), (MaxPool2D(2, name="pool_b"),))
    with pytest.raises(GeometryError) as e:
        convcost.analyze(model)
    message = str(e.value)
    assert (
        "'block'" in message and "block/left/conv_a [8, 6, 6]" in message and "block/right/pool_b [4, 4, 4]" in message
    )


def test_a_branch_that_shrinks_below_one_pixel_names_the_layer() -> None:
    model = _branchy("concat", (Conv2D(8, 1, name="conv_a"),), (MaxPool2D(2, name="p1"), Conv2D(4, 5, name="too_big")))
    with pytest.raises(GeometryError, match=r"^layer 'block/right/too_big': height 4 .*kernel extent 5"):
        convcost.analyze(model)


def test_zoo_models_too_small_for_their_downsampling_fail_with_the_layer() -> None:
    with pytest.raises(GeometryError, match=r"layer 'c2': height 4 .*kernel extent 5"):
        convcost.analyze(build("lenet5", resolution=12))
    with pytest.raises(GeometryError, match=r"'p3'"):
        convcost.analyze(build("alexnet8", resolution=20))


def test_every_zoo_entry_has_a_description_and_classes() -> None:
    from convcost.zoo import ZOO

    for name, entry in ZOO.items():
        assert entry.summary and not entry.summary.endswith(":"), name
        assert "classes" in entry.arguments, name
        assert convcost.analyze(entry.build()).totals.macs > 0, name


# ---------------------------------------------------------------- convcost table --depth N


def test_cli_table_depth_folds_blocks(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from convcost.cli import main

    args = ["table", "resnet50", "--resolution", "64", "--convention", "keras", "--format", "json"]
    assert main([*args, "--depth", "1"]) == 0
    folded = json.loads(capsys.readouterr().out)
    assert main(args) == 0
    full = json.loads(capsys.readouterr().out)
    stages = ["conv1", "pool1", "conv2", "conv3", "conv4", "conv5"]
    assert [r["path"] for r in folded["layers"]] == [*stages, "avg_pool", "predictions"]
    assert [r["kind"] for r in folded["layers"]][:6] == ["block"] * 6
    for row in folded["layers"]:
        inside = [r for r in full["layers"] if r["path"] == row["path"] or r["path"].startswith(row["path"] + "/")]
        for field in ("params", "trainable", "non_trainable", "macs"):
            assert row[field] == sum(r[field] for r in inside), (row["path"], field)
        assert row["input"] == inside[0]["input"] and row["output"] == inside[-1]["output"]
    assert folded["totals"] == full["totals"]
    # depth 2: one row per bottleneck; the stage's first block adds the 1x1 shortcut conv + BN and
    # reads 256 channels (not 512) into its first 1x1 conv of 128 filters
    assert main([*args, "--depth", "2"]) == 0
    blocks = [r for r in json.loads(capsys.readouterr().out)["layers"] if r["path"].startswith("conv3/")]
    assert [r["path"] for r in blocks] == [f"conv3/conv3_block{i}" for i in range(1, 5)]
    assert blocks[0]["params"] - blocks[1]["params"] == (256 * 512 + 512) + 4 * 512 + (256 - 512) * 128
    # a depth deeper than the tree changes nothing
    assert main([*args, "--depth", "9"]) == 0
    assert json.loads(capsys.readouterr().out)["layers"] == full["layers"]


def test_cli_table_depth_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    from convcost.cli import main

    assert main(["table", "lenet5", "--depth", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--depth" in err
