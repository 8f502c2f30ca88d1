"""Seed 003's five classic CNNs for Fashion-MNIST (28x28x1), as its Keras subclassing code builds them.

Layer names are the attributes the source assigns (``self.c1``, ``self.b1``, ``self.p1`` ...). A
Keras layer built with ``activation=...`` is one layer, so its activation is no separate row;
``Activation('relu')`` layers are rows. Keras defaults hold where the source says nothing:
``Conv2D`` has a bias and ``valid`` padding, ``MaxPool2D`` is ``valid``.
"""

from __future__ import annotations

from convcost.spec import (
    Activation,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Element,
    Flatten,
    GlobalAvgPool2D,
    MaxPool2D,
    Model,
    Parallel,
    Sequential,
)
from convcost.zoo.common import positive_int, positive_ints

#: VGG16's five stages: (filters, convolutions) each followed by MaxPool + Dropout(0.2)
VGG_STAGES: tuple[tuple[int, int], ...] = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))


def _input(model: str, resolution: int, classes: int) -> tuple[int, int, int]:
    positive_int(model, "resolution", resolution)
    positive_int(model, "classes", classes)
    return (1, resolution, resolution)


def lenet5(resolution: int = 28, classes: int = 10) -> Model:
    """Seed 003's LeNet5: two 5x5 valid convs (sigmoid) with 2x2 max pools, then Dense 120, 84, classes."""
    shape = _input("lenet5", resolution, classes)
    layers: list[Element] = [
        Conv2D(6, 5, name="c1"),
        MaxPool2D(2, stride=2, name="p1"),
        Conv2D(16, 5, name="c2"),
        MaxPool2D(2, stride=2, name="p2"),
        Flatten(name="flatten"),
        Dense(120, name="f1"),
        Dense(84, name="f2"),
        Dense(classes, name="f3"),
    ]
    return Model("lenet5", shape, Sequential(tuple(layers)))


def alexnet8(resolution: int = 28, classes: int = 10) -> Model:
    """Seed 003's AlexNet8: five 3x3 convs (BN after the first two), three 3x3/s2 max pools, Dense 2048, 2048."""
    shape = _input("alexnet8", resolution, classes)
    layers: list[Element] = [
        Conv2D(96, 3, name="c1"),
        BatchNorm(name="b1"),
        Activation("relu", name="a1"),
        MaxPool2D(3, stride=2, name="p1"),
        Conv2D(256, 3, name="c2"),
        BatchNorm(name="b2"),
        Activation("relu", name="a2"),
        MaxPool2D(3, stride=2, name="p2"),
        Conv2D(384, 3, padding="same", name="c3"),
        Conv2D(384, 3, padding="same", name="c4"),
        Conv2D(256, 3, padding="same", name="c5"),
        MaxPool2D(3, stride=2, name="p3"),
        Flatten(name="flatten"),
        Dense(2048, name="f1"),
        Dropout(0.5, name="d1"),
        Dense(2048, name="f2"),
        Dropout(0.5, name="d2"),
        Dense(classes, name="f3"),
    ]
    return Model("alexnet8", shape, Sequential(tuple(layers)))


def vgg16_fashion(resolution: int = 28, classes: int = 10) -> Model:
    """Seed 003's VGG16: 13 3x3 convs with bias + BN + ReLU, 'same' 2x2 max pools, Dense 512, 512, classes."""
    shape = _input("vgg16_fashion", resolution, classes)
    layers: list[Element] = []
    conv = 0
    for stage, (filters, convs) in enumerate(VGG_STAGES, start=1):
        for _ in range(convs):
            conv += 1
            layers += [
                Conv2D(filters, 3, padding="same", name=f"c{conv}"),
                BatchNorm(name=f"b{conv}"),
                Activation("relu", name=f"a{conv}"),
            ]
        layers += [MaxPool2D(2, stride=2, padding="same", name=f"p{stage}"), Dropout(0.2, name=f"d{stage}")]
    layers += [
        Flatten(name="flatten"),
        Dense(512, name="f1"),
        Dropout(0.2, name="d6"),
        Dense(512, name="f2"),
        Dropout(0.2, name="d7"),
        Dense(classes, name="f3"),
    ]
    return Model("vgg16_fashion", shape, Sequential(tuple(layers)))


def _conv_bn_relu(name: str, ch: int, kernel: int = 3, stride: int = 1) -> Sequential:
    """Seed 003's ``ConvBNRelu``: a Keras Sequential of Conv2D (with bias, 'same'), BN, ReLU."""
    return Sequential(
        (Conv2D(ch, kernel, stride=stride, padding="same"), BatchNorm(), Activation("relu")),
        name=name,
    )


def _inception_block(name: str, ch: int, stride: int) -> Parallel:
    """Seed 003's ``InceptionBlk``: four branches concatenated along channels (4 * ch out)."""
    return Parallel(
        (
            Sequential((_conv_bn_relu("c1", ch, 1, stride),), name="x1"),
            Sequential((_conv_bn_relu("c2_1", ch, 1, stride), _conv_bn_relu("c2_2", ch, 3, 1)), name="x2"),
            Sequential((_conv_bn_relu("c3_1", ch, 1, stride), _conv_bn_relu("c3_2", ch, 5, 1)), name="x3"),
            Sequential(
                (MaxPool2D(3, stride=1, padding="same", name="p4_1"), _conv_bn_relu("c4_2", ch, 1, stride)),
                name="x4",
            ),
        ),
        merge="concat",
        name=name,
    )


def inception10(resolution: int = 28, classes: int = 10, num_blocks: int = 2, init_ch: int = 16) -> Model:
    """Seed 003's Inception10: ConvBNRelu, num_blocks x (Inception s2, Inception s1) doubling width, GAP, Dense."""
    shape = _input("inception10", resolution, classes)
    positive_int("inception10", "num_blocks", num_blocks)
    positive_int("inception10", "init_ch", init_ch)
    blocks: list[Element] = []
    out_channels = init_ch
    for block_id in range(num_blocks):
        for layer_id in range(2):
            # Keras names subclassed models after the class: inception_blk, inception_blk_1, ...
            index = 2 * block_id + layer_id
            name = "inception_blk" if index == 0 else f"inception_blk_{index}"
            blocks.append(_inception_block(name, out_channels, 2 if layer_id == 0 else 1))
        out_channels *= 2
    layers: list[Element] = [
        _conv_bn_relu("c1", init_ch),
        Sequential(tuple(blocks), name="blocks"),
        GlobalAvgPool2D(name="p1"),
        Dense(classes, name="f1"),
    ]
    return Model("inception10", shape, Sequential(tuple(layers)))


def _resnet_block(name: str, filters: int, stride: int, residual_path: bool) -> Sequential:
    """Seed 003's ``ResnetBlock``: F(x) = BN(conv(ReLU(BN(conv(x))))), a 1x1 conv + BN shortcut when it
    downsamples, then ReLU(F(x) + shortcut). Its convs have no bias."""
    fx = Sequential(
        (
            Conv2D(filters, 3, stride=stride, padding="same", bias=False, name="c1"),
            BatchNorm(name="b1"),
            Activation("relu", name="a1"),
            Conv2D(filters, 3, stride=1, padding="same", bias=False, name="c2"),
            BatchNorm(name="b2"),
        ),
        name="fx",
    )
    shortcut: tuple[Element, ...] = ()
    if residual_path:
        shortcut = (
            Conv2D(filters, 1, stride=stride, padding="same", bias=False, name="down_c1"),
            BatchNorm(name="down_b1"),
        )
    return Sequential(
        (Parallel((fx, Sequential(shortcut, name="residual")), merge="add", name="add"), Activation("relu", name="a2")),
        name=name,
    )


def resnet18_fashion(
    resolution: int = 28, classes: int = 10, block_list: tuple[int, ...] = (2, 2, 2, 2), initial_filters: int = 64
) -> Model:
    """Seed 003's ResNet18 ([2, 2, 2, 2]): 3x3 stem, basic blocks doubling width with stride 2, GAP, Dense."""
    shape = _input("resnet18_fashion", resolution, classes)
    block_list = positive_ints("resnet18_fashion", "block_list", block_list)
    filters = positive_int("resnet18_fashion", "initial_filters", initial_filters)
    blocks: list[Element] = []
    for block_id, depth in enumerate(block_list):
        for layer_id in range(depth):
            index = len(blocks)
            name = "resnet_block" if index == 0 else f"resnet_block_{index}"
            downsample = block_id != 0 and layer_id == 0
            blocks.append(_resnet_block(name, filters, 2 if downsample else 1, downsample))
        filters *= 2
    layers: list[Element] = [
        Conv2D(initial_filters, 3, stride=1, padding="same", bias=False, name="c1"),
        BatchNorm(name="b1"),
        Activation("relu", name="a1"),
        Sequential(tuple(blocks), name="blocks"),
        GlobalAvgPool2D(name="p1"),
        Dense(classes, name="f1"),
    ]
    return Model("resnet18_fashion", shape, Sequential(tuple(layers)))
