"""The source documents' own printed summaries, reproduced row by row (seeds 000, 002, 004).

The summaries are parsed out of copies of the seed texts in tests/data/seeds/ (the originals live
in ../shared/seeds/); each network is also rebuilt from the seed's code in the real framework and
its multiply-adds measured with fvcore / torchinfo.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import convcost
from convcost.errors import SpecError
from convcost.report import Report
from convcost.spec import (
    Activation,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Flatten,
    Layer,
    MaxPool2D,
    SeparableConv2D,
    Sequential,
    Shape,
)
from convcost.zoo import build

SEEDS = Path(__file__).parent / "data" / "seeds"
SEED_000 = SEEDS / "000_c2dc2722b9d3ecfd.txt"
SEED_002 = SEEDS / "002_f2e42992f8cfd0dd.txt"
SEED_004 = SEEDS / "004_51ab74671711435d.txt"

KERAS_CLASS = {
    Conv2D: "Conv2D",
    BatchNorm: "BatchNormalization",
    Activation: "ReLU",
    DepthwiseConv2D: "DepthwiseConv2D",
    AvgPool2D: "AveragePooling2D",
    MaxPool2D: "MaxPooling2D",
    SeparableConv2D: "SeparableConv2D",
    Flatten: "Flatten",
    Dense: "Dense",
}
TORCH_CLASS = {
    Conv2D: "Conv2d",
    BatchNorm: "BatchNorm2d",
    Activation: "ReLU",
    AvgPool2D: "AvgPool2d",
    Dense: "Linear",
}


# ---------------------------------------------------------------- parsing the printed summaries

KERAS_ROW = re.compile(r"^(\w+) \((\w+)\)?\s+\(None, ([\d, ]+)\)\s+(\d+)(?:==(\S+))?")


def keras_summary(path: Path) -> tuple[list[tuple[str, str, Shape, int, str | None]], dict[str, int]]:
    """Rows ``(name, type, channels-first shape, params, formula)`` and the three totals."""
    rows = []
    totals = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = KERAS_ROW.match(line.strip())
        if m:
            name, kind, dims, params, formula = m.groups()
            *hw, c = (int(d) for d in dims.split(","))
            rows.append((name, kind, (c, *hw), int(params), formula))
        m = re.match(r"^(Total|Trainable|Non-trainable) params: ([\d,]+)", line.strip())
        if m:
            totals[m.group(1)] = int(m.group(2).replace(",", ""))
    return rows, totals


TORCHINFO_ROW = re.compile(r"^[│ ]*[├└]─(\w+): (\d+)-(\d+)\s+(\[[\d, ]+\]|--)\s+([\d,]+|--)\s*$")


def torchinfo_summary(path: Path) -> tuple[list[tuple[str, int, list[int] | None, int | None]], dict[str, str]]:
    """Rows ``(type, depth, output shape with batch, params or None for '--')`` and the totals."""
    rows = []
    totals = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = TORCHINFO_ROW.match(line)
        if m:
            kind, depth, _, shape, params = m.groups()
            rows.append(
                (
                    kind,
                    int(depth),
                    None if shape == "--" else [int(d) for d in shape.strip("[]").split(",")],
                    None if params == "--" else int(params.replace(",", "")),
                )
            )
        m = re.match(r"^(Total params|Trainable params|Non-trainable params|Total mult-adds \(M\)): ([\d,.]+)", line)
        if m:
            totals[m.group(1)] = m.group(2)
    return rows, totals


def base(name: str) -> str:
    """Keras numbers repeated layer names per session (conv2d_63): compare without the counter."""
    return re.sub(r"_\d+$", "", name)


def test_seed_files_are_the_shared_originals() -> None:
    """The copies must not drift from ../shared/seeds/ where that directory exists beside the repo."""
    shared = Path(__file__).resolve().parents[2] / "shared" / "seeds"
    if not shared.is_dir():
        pytest.skip(f"{shared} is not beside the repository; the copies in {SEEDS} are used")
    for copy in (SEED_000, SEED_002, SEED_004):
        assert copy.read_bytes() == (shared / copy.name).read_bytes(), copy.name


# ---------------------------------------------------------------- seed 000: Keras MobileNet on MNIST


def test_seed_000_totals() -> None:
    _, totals = keras_summary(SEED_000)
    assert totals == {"Total": 3_249_482, "Trainable": 3_227_594, "Non-trainable": 21_888}
    t = convcost.analyze(build("mobilenet_v1_mnist"), "keras").totals
    assert (t.params, t.trainable, t.non_trainable) == (3_249_482, 3_227_594, 21_888)


def test_seed_000_every_summary_row() -> None:
    printed, _ = keras_summary(SEED_000)
    assert len(printed) == 84
    model = build("mobilenet_v1_mnist")
    report = convcost.analyze(model, "keras")
    # the first printed row is the InputLayer: our model's input, not a layer
    name, kind, shape, params, _ = printed[0]
    assert (kind, shape, params) == ("InputLayer", model.input, 0)
    assert len(report.rows) == len(printed) - 1
    layers = dict(model.layers())
    for row, (name, kind, shape, params, _) in zip(report.rows, printed[1:], strict=True):
        assert base(row.name) == base(name), (row.path, name)
        assert KERAS_CLASS[type(layers[row.path])].startswith(kind), (row.path, kind)
        assert row.output == shape, (row.path, name)
        assert row.params == params, (row.path, name)


# ---------------------------------------------------------------- seed 002: SeparableConv2D network


def test_seed_002_every_summary_row_and_its_formula() -> None:
    printed, totals = keras_summary(SEED_002)
    assert len(printed) == 12
    assert totals == {"Total": 184_234, "Trainable": 184_234, "Non-trainable": 0}
    model = build("separable_fashion")
    report = convcost.analyze(model, "keras")
    assert report.totals.params == report.totals.trainable == 184_234
    layers = dict(model.layers())
    for row, (name, kind, shape, params, formula) in zip(report.rows, printed, strict=True):
        # a fresh session: the names are exactly Keras's
        assert row.name == name
        assert KERAS_CLASS[type(layers[row.path])].startswith(kind), (row.path, kind)
        assert row.output == shape, name
        assert row.params == params, name
        if formula is not None:
            # the author writes each count as a formula (3*3*32+(1*1*32+1)*64): it must agree
            assert eval(formula, {"__builtins__": {}}) == params, (name, formula)


def test_seed_002_separable_macs_are_the_documents_formula() -> None:
    """Seed 002: a separable conv costs Df*Df*M*(Dk*Dk + N) mult-adds."""
    report = convcost.analyze(build("separable_fashion"), "paper")
    separable = [r for r in report.rows if r.kind == "separable"]
    assert len(separable) == 5
    for row in separable:
        M, N, Df, Dk = row.input[0], row.output[0], row.output[1], 3
        assert row.macs == Df * Df * M * (Dk * Dk + N)


# ---------------------------------------------------------------- seed 004: PyTorch MobileNet on CIFAR


def preorder(block: Sequential, prefix: str = "", depth: int = 1) -> Iterator[tuple[str, int, Layer]]:
    """Containers and leaves in the order torchinfo prints modules (a container before its children)."""
    for layer in block.layers:
        path = prefix + layer.name
        yield path, depth, layer
        if isinstance(layer, Sequential):
            yield from preorder(layer, path + "/", depth + 1)


def test_seed_004_every_torchinfo_row() -> None:
    printed, totals = torchinfo_summary(SEED_004)
    assert totals["Total params"] == "3,217,226"
    assert totals["Non-trainable params"] == "0"
    model = build("mobilenet_v1_cifar").with_batch(2)
    report: Report = convcost.analyze(model, "keras")
    # torch counts learned parameters only: BN's running statistics are buffers
    assert report.totals.trainable == 3_217_226
    outputs = {row.path: row.output for row in report.rows}
    params = {row.path: row.trainable for row in report.rows}
    ours = [(p, d, layer) for p, d, layer in preorder(model.body) if not isinstance(layer, Flatten)]
    assert len(ours) == len(printed) == 98
    for (path, depth, layer), (kind, printed_depth, shape, printed_params) in zip(ours, printed, strict=True):
        assert depth == printed_depth, path
        if isinstance(layer, Sequential):
            assert kind in ("Sequential", "Block"), path
            last_leaf = [p for p in outputs if p.startswith(path + "/")][-1]
            assert shape == [2, *outputs[last_leaf]], path
            assert printed_params is None, path
        else:
            assert kind == TORCH_CLASS[type(layer)], path
            assert shape == [2, *outputs[path]], path
            assert (printed_params or 0) == params[path], path


def test_seed_004_torchinfo_mult_adds() -> None:
    """torchinfo's 90.33M for a batch of 2: conv + linear mult-adds, plus (per image) one per BN weight
    and bias and one per Linear bias (torchinfo counts a Linear's or BN's parameters once per image)."""
    _, totals = torchinfo_summary(SEED_004)
    report = convcost.analyze(build("mobilenet_v1_cifar").with_batch(2), "keras")
    bn_learned = sum(r.trainable for r in report.rows if r.kind == "batchnorm")
    linear_bias = 10
    torchinfo_macs = report.totals.macs + 2 * (bn_learned + linear_bias)
    assert f"{torchinfo_macs / 1e6:.2f}" == totals["Total mult-adds (M)"] == "90.33"


def test_mobilenet_v1_cifar_needs_a_1x1_map_before_its_linear() -> None:
    with pytest.raises(SpecError, match=r"mobilenet_v1_cifar: resolution 64 .*nn.Linear\(1024"):
        build("mobilenet_v1_cifar", resolution=64)
    build("mobilenet_v1_cifar", resolution=50)


# ---------------------------------------------------------------- the same code run in the frameworks


def test_seed_000_and_002_rebuilt_in_keras() -> None:
    """The seeds' Keras code, run today (Keras 3, torch backend): same counts, layer by layer."""
    import keras
    from keras import layers as L

    def dpc(x: object, s: list[int], channel: list[int]) -> object:
        for i in range(2):
            x = L.DepthwiseConv2D((3, 3), strides=s[2 * i], padding="same")(x)
            x = L.BatchNormalization()(x)
            x = L.ReLU()(x)
            x = L.Conv2D(channel[i], (1, 1), strides=s[2 * i + 1], padding="same")(x)
            x = L.BatchNormalization()(x)
            x = L.ReLU()(x)
        return x

    def repeat(x: object, channel: int = 512) -> object:
        x = L.DepthwiseConv2D((3, 3), strides=1, padding="same")(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
        x = L.Conv2D(channel, (1, 1), strides=1, padding="same")(x)
        x = L.BatchNormalization()(x)
        return L.ReLU()(x)

    h0 = keras.Input(shape=(224, 224, 1))
    x = L.ReLU()(L.BatchNormalization()(L.Conv2D(32, (3, 3), strides=2, padding="same")(h0)))
    x = dpc(x, [1, 1, 2, 1], [64, 128])
    x = dpc(x, [1, 1, 2, 1], [128, 256])
    x = dpc(x, [1, 1, 2, 1], [256, 512])
    for _ in range(4):
        x = repeat(x)
    x = dpc(x, [1, 1, 2, 1], [512, 1024])
    x = repeat(x, 1024)
    x = L.Dense(10, activation="softmax")(L.AveragePooling2D((7, 7))(x))
    mnist = keras.Model(h0, x)

    fashion = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            L.Conv2D(32, 3, padding="same", activation="selu"),
            L.SeparableConv2D(32, 3, padding="same", activation="selu"),
            L.MaxPool2D(2),
            L.SeparableConv2D(64, 3, padding="same", activation="selu"),
            L.SeparableConv2D(64, 3, padding="same", activation="selu"),
            L.MaxPool2D(2),
            L.SeparableConv2D(128, 3, padding="same", activation="selu"),
            L.SeparableConv2D(128, 3, padding="same", activation="selu"),
            L.MaxPool2D(2),
            L.Flatten(),
            L.Dense(128, activation="selu"),
            L.Dense(10, activation="softmax"),
        ]
    )
    for entry, net in (("mobilenet_v1_mnist", mnist), ("separable_fashion", fashion)):
        report = convcost.analyze(build(entry), "keras")
        keras_layers = [layer for layer in net.layers if not isinstance(layer, keras.layers.InputLayer)]
        assert len(keras_layers) == len(report.rows), entry
        for row, layer in zip(report.rows, keras_layers, strict=True):
            *hw, c = layer.output.shape[1:]
            assert row.output == (c, *hw), (entry, row.path)
            assert row.params == layer.count_params(), (entry, row.path)
            assert row.non_trainable == sum(int(w.numpy().size) for w in layer.non_trainable_weights)
        assert report.totals.params == net.count_params()


def _seed_004_torch() -> object:
    """Seed 004's MobileNetV1 module, as its code writes it."""
    from torch import nn

    class Block(nn.Module):
        def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(
                in_channels, in_channels, kernel_size=3, stride=stride, padding=1, groups=in_channels, bias=False
            )
            self.bn1 = nn.BatchNorm2d(in_channels)
            self.relu1 = nn.ReLU()
            self.conv2 = nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=1, padding=0, bias=False)
            self.bn2 = nn.BatchNorm2d(out_channels)
            self.relu2 = nn.ReLU()

        def forward(self, x: object) -> object:
            x = self.relu1(self.bn1(self.conv1(x)))
            return self.relu2(self.bn2(self.conv2(x)))

    class MobileNetV1(nn.Module):
        cfg = (64, (128, 2), 128, (256, 2), 256, (512, 2), 512, 512, 512, 512, 512, (1024, 2), 1024)

        def __init__(self, num_classes: int = 10) -> None:
            super().__init__()
            self.conv1 = nn.Sequential(
                nn.Conv2d(3, 32, kernel_size=3, stride=1, bias=False), nn.BatchNorm2d(32), nn.ReLU()
            )
            self.avg = nn.AvgPool2d(kernel_size=2)
            layers = []
            in_channels = 32
            for x in self.cfg:
                out_channels = x if isinstance(x, int) else x[0]
                stride = 1 if isinstance(x, int) else x[1]
                layers.append(Block(in_channels, out_channels, stride))
                in_channels = out_channels
            self.layers = nn.Sequential(*layers)
            self.linear = nn.Linear(1024, num_classes)

        def forward(self, x: object) -> object:
            x = self.avg(self.layers(self.conv1(x)))
            return self.linear(x.view(x.size()[0], -1))

    return MobileNetV1()


def test_seed_004_rebuilt_in_torch_torchinfo_and_fvcore() -> None:
    import torch
    import torchinfo
    from fvcore.nn import FlopCountAnalysis

    net = _seed_004_torch()
    report = convcost.analyze(build("mobilenet_v1_cifar").with_batch(2), "keras")
    # module names are the spec's paths
    modules = dict(net.named_modules())
    for row in report.rows:
        if row.kind == "flatten":
            continue
        module = modules[row.path.replace("/", ".")]
        assert sum(p.numel() for p in module.parameters()) == row.trainable, row.path
    stats = torchinfo.summary(net, (2, 3, 32, 32), verbose=0)
    assert stats.total_params == report.totals.trainable == 3_217_226
    bn_learned = sum(r.trainable for r in report.rows if r.kind == "batchnorm")
    linear_bias = 10
    assert stats.total_mult_adds == report.totals.macs + 2 * (bn_learned + linear_bias)
    flops = FlopCountAnalysis(net, torch.zeros(2, 3, 32, 32))
    flops.unsupported_ops_warnings(False)
    flops.uncalled_modules_warnings(False)
    by_op = flops.by_operator()
    assert sum(by_op.get(op, 0) for op in ("conv", "linear", "addmm", "matmul")) == report.totals.macs


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_collapse_to_depth_matches_torchinfo_depth(depth: int) -> None:
    """``--depth N`` folds rows like torchinfo's ``depth=N``: the same rows, params and output shapes."""
    import torchinfo

    from convcost.render.depth import collapse

    net = _seed_004_torch()
    stats = torchinfo.summary(net, (2, 3, 32, 32), depth=depth, verbose=0)
    # what torchinfo prints at this depth: modules at the depth, and shallower ones without children
    shown = [
        info for info in stats.summary_list if info.depth == depth or (1 <= info.depth < depth and not info.children)
    ]
    report = collapse(convcost.analyze(build("mobilenet_v1_cifar").with_batch(2), "keras"), depth)
    rows = [row for row in report.rows if row.kind != "flatten"]  # x.view() is no module
    assert len(rows) == len(shown)
    for row, info in zip(rows, shown, strict=True):
        assert row.path.count("/") + 1 == info.depth
        assert row.trainable == info.num_params, row.path
        assert [2, *row.output] == info.output_size, row.path
    assert sum(r.macs for r in report.rows) == report.totals.macs
    assert sum(r.params for r in report.rows) == report.totals.params


def test_seed_000_and_002_mult_adds_in_torch() -> None:
    """fvcore's conv + linear totals on torch twins of the two Keras seeds equal the paper mult-adds.

    A 3x3 conv with padding 1 gives Keras 'same' output sizes at stride 1 and 2, so the work is the
    same; the Dense on seed 000's 1x1 map is a Linear on its 1024 channels.
    """
    import torch
    from fvcore.nn import FlopCountAnalysis
    from torch import nn

    from convcost.zoo.seeds import MNIST_PAIRS

    mnist: list[nn.Module] = [nn.Conv2d(1, 32, 3, 2, padding=1), nn.BatchNorm2d(32), nn.ReLU()]
    channels = 32
    for stride, filters in MNIST_PAIRS:
        mnist += [nn.Conv2d(channels, channels, 3, stride, padding=1, groups=channels), nn.BatchNorm2d(channels)]
        mnist += [nn.ReLU(), nn.Conv2d(channels, filters, 1), nn.BatchNorm2d(filters), nn.ReLU()]
        channels = filters
    mnist += [nn.AvgPool2d(7), nn.Flatten(), nn.Linear(1024, 10)]

    def separable(cin: int, cout: int) -> list[nn.Module]:
        # Keras SeparableConv2D: depthwise without bias, then a 1x1 conv with the one bias
        return [nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False), nn.Conv2d(cin, cout, 1), nn.SELU()]

    fashion = [nn.Conv2d(1, 32, 3, padding=1), nn.SELU(), *separable(32, 32), nn.MaxPool2d(2)]
    fashion += [*separable(32, 64), *separable(64, 64), nn.MaxPool2d(2)]
    fashion += [*separable(64, 128), *separable(128, 128), nn.MaxPool2d(2)]
    fashion += [nn.Flatten(), nn.Linear(1152, 128), nn.SELU(), nn.Linear(128, 10)]

    for entry, layers in (("mobilenet_v1_mnist", mnist), ("separable_fashion", fashion)):
        net = nn.Sequential(*layers).eval()
        model = build(entry)
        report = convcost.analyze(model, "keras")
        assert sum(p.numel() for p in net.parameters()) == report.totals.trainable, entry
        flops = FlopCountAnalysis(net, torch.zeros(1, *model.input))
        flops.unsupported_ops_warnings(False)
        flops.uncalled_modules_warnings(False)
        by_op = flops.by_operator()
        assert sum(by_op.get(op, 0) for op in ("conv", "linear", "addmm", "matmul")) == report.totals.macs, entry
