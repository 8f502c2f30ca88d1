"""The networks the source documents build and print summaries of (../shared/seeds/000, 002, 004).

Each builder follows its source's code line by line: which convolutions carry a bias, where the
BatchNorm sits, which pooling. A Keras layer built with ``activation=...`` is one layer (one row
of ``model.summary()``), so its fused activation is not a row here either; a separate
``ReLU()``/``nn.ReLU()`` layer is. Fused activations cost no parameters and no multiply-adds under
any convention, so the totals do not depend on that choice.
"""

from __future__ import annotations

from convcost.errors import SpecError
from convcost.spec import (
    Activation,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Element,
    Flatten,
    MaxPool2D,
    Model,
    SeparableConv2D,
    Sequential,
)
from convcost.zoo.common import positive_int

#: seed 000: (depthwise stride, pointwise filters) of its 13 dw/pw pairs, in the order its code calls
#: depth_point_conv2d(s=[1, 1, 2, 1], ...) three times, repeat_conv() four times,
#: depth_point_conv2d(..., channel=[512, 1024]) and repeat_conv(channel=1024). The author sets the
#: paper's second-to-last ``Conv dw / s2`` to stride 1 (the paper's typo).
MNIST_PAIRS: tuple[tuple[int, int], ...] = (
    (1, 64),
    (2, 128),
    (1, 128),
    (2, 256),
    (1, 256),
    (2, 512),
    (1, 512),
    (1, 512),
    (1, 512),
    (1, 512),
    (1, 512),
    (2, 1024),
    (1, 1024),
)

#: seed 004: ``MobileNetV1.cfg``; (128, 2) means 128 channels, depthwise stride 2
CIFAR_CFG: tuple[int | tuple[int, int], ...] = (
    64,
    (128, 2),
    128,
    (256, 2),
    256,
    (512, 2),
    512,
    512,
    512,
    512,
    512,
    (1024, 2),
    1024,
)


def mobilenet_v1_mnist(resolution: int = 224, classes: int = 10) -> Model:
    """Seed 000's Keras MobileNet v1 for MNIST at 224x224x1: convs with bias, AvgPool(7), Dense on the map."""
    model = "mobilenet_v1_mnist"
    positive_int(model, "resolution", resolution)
    positive_int(model, "classes", classes)
    relus = 0

    def relu() -> Activation:
        # keras.layers.ReLU() layers are named re_lu, re_lu_1, ... (the summary's counters start
        # wherever the author's session was; the order is the same)
        nonlocal relus
        name = "re_lu" if relus == 0 else f"re_lu_{relus}"
        relus += 1
        return Activation("relu", name=name)

    layers: list[Element] = [Conv2D(32, 3, stride=2, padding="same"), BatchNorm(), relu()]
    for stride, filters in MNIST_PAIRS:
        layers += [
            DepthwiseConv2D(3, stride=stride, padding="same"),
            BatchNorm(),
            relu(),
            Conv2D(filters, 1, stride=1, padding="same"),
            BatchNorm(),
            relu(),
        ]
    # Dense(10, activation='softmax') on the 1x1x1024 map: Keras applies it per pixel, no Flatten
    layers += [AvgPool2D(7), Dense(classes)]
    return Model(model, (1, resolution, resolution), Sequential(tuple(layers)))


def separable_fashion(resolution: int = 28, classes: int = 10) -> Model:
    """Seed 002's Keras Fashion-MNIST CNN: a 3x3 conv, six SeparableConv2D (selu), three MaxPool, two Dense."""
    model = "separable_fashion"
    positive_int(model, "resolution", resolution)
    positive_int(model, "classes", classes)
    layers: list[Element] = [
        Conv2D(32, 3, padding="same"),
        SeparableConv2D(32, 3, padding="same"),
        MaxPool2D(2),
        SeparableConv2D(64, 3, padding="same"),
        SeparableConv2D(64, 3, padding="same"),
        MaxPool2D(2),
        SeparableConv2D(128, 3, padding="same"),
        SeparableConv2D(128, 3, padding="same"),
        MaxPool2D(2),
    ]
    layers += [Flatten(), Dense(128), Dense(classes)]
    return Model(model, (1, resolution, resolution), Sequential(tuple(layers)))


def _cifar_block(name: str, in_channels: int, out_channels: int, stride: int) -> Sequential:
    """Seed 004's ``Block``: a grouped (depthwise) 3x3 conv with padding 1, then a 1x1 conv, no biases."""
    return Sequential(
        (
            Conv2D(in_channels, 3, stride=stride, padding=1, groups=in_channels, bias=False, name="conv1"),
            BatchNorm(name="bn1"),
            Activation("relu", name="relu1"),
            Conv2D(out_channels, 1, stride=1, padding=0, bias=False, name="conv2"),
            BatchNorm(name="bn2"),
            Activation("relu", name="relu2"),
        ),
        name=name,
    )


def mobilenet_v1_cifar(resolution: int = 32, classes: int = 10) -> Model:
    """Seed 004's PyTorch MobileNet v1 for CIFAR-10 32x32x3: first conv stride 1 unpadded, AvgPool2d(2), Linear."""
    model = "mobilenet_v1_cifar"
    positive_int(model, "resolution", resolution)
    positive_int(model, "classes", classes)
    # names mirror the module's named_modules(): conv1.0, layers.3.conv2, avg, linear
    stem = Sequential(
        (
            Conv2D(32, 3, stride=1, padding="valid", bias=False, name="0"),
            BatchNorm(name="1"),
            Activation("relu", name="2"),
        ),
        name="conv1",
    )
    blocks = []
    in_channels = 32
    for i, x in enumerate(CIFAR_CFG):
        out_channels, stride = (x, 1) if isinstance(x, int) else x
        blocks.append(_cifar_block(str(i), in_channels, out_channels, stride))
        in_channels = out_channels
    body = Sequential(
        (
            stem,
            Sequential(tuple(blocks), name="layers"),
            AvgPool2D(2, name="avg"),
            # forward(): x.view(x.size()[0], -1), a reshape, not a module
            Flatten(name="view"),
            Dense(classes, name="linear"),
        )
    )
    spec = Model(model, (3, resolution, resolution), body)
    before_linear = spec.shaped[-1].input
    if before_linear != (1024,):
        raise SpecError(
            f"{model}: resolution {resolution} leaves {before_linear[0]} features for the source's "
            "nn.Linear(1024, classes), which needs a 1x1x1024 map after the AvgPool2d (resolution 19 to 50)"
        )
    return spec
