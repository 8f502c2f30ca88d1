"""ImageNet classics as keras.applications builds them (VGG16, ResNet50, MobileNetV2), and ResNet-50 as
torchvision builds it.

Leaf names are the frameworks' own layer / module names (``block1_conv1``, ``conv2_block1_1_conv``,
``block_1_expand``; ``layer1.0.conv1`` as ``layer1/0/...``), grouped into blocks so ``--depth``
can fold them. The two ResNet-50s differ in exactly the ways their sources do: keras.applications
puts the stride on the first 1x1 conv of a bottleneck and gives every conv a bias; torchvision
(ResNet v1.5) strides the 3x3 conv and has no conv bias.
"""

from __future__ import annotations

from convcost.spec import (
    Activation,
    BatchNorm,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Element,
    ExplicitPadding,
    Flatten,
    GlobalAvgPool2D,
    MaxPool2D,
    Model,
    Parallel,
    Sequential,
    ZeroPadding2D,
)
from convcost.zoo.common import positive_int, positive_number, scaled

#: VGG16's five blocks: (filters, convolutions), each ending in a 2x2/s2 max pool
VGG16_BLOCKS: tuple[tuple[int, int], ...] = ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3))
#: ResNet-50's four stages: (keras stage name, torchvision layer name, bottleneck filters, blocks, first stride)
RESNET50_STAGES: tuple[tuple[str, str, int, int, int], ...] = (
    ("conv2", "layer1", 64, 3, 1),
    ("conv3", "layer2", 128, 4, 2),
    ("conv4", "layer3", 256, 6, 2),
    ("conv5", "layer4", 512, 3, 2),
)
#: MobileNetV2's 17 inverted residual blocks: (filters, stride, expansion), keras.applications order
MOBILENET_V2_BLOCKS: tuple[tuple[int, int, int], ...] = (
    (16, 1, 1),
    (24, 2, 6),
    (24, 1, 6),
    (32, 2, 6),
    (32, 1, 6),
    (32, 1, 6),
    (64, 2, 6),
    (64, 1, 6),
    (64, 1, 6),
    (64, 1, 6),
    (96, 1, 6),
    (96, 1, 6),
    (96, 1, 6),
    (160, 2, 6),
    (160, 1, 6),
    (160, 1, 6),
    (320, 1, 6),
)


def _rgb(model: str, resolution: int, classes: int) -> tuple[int, int, int]:
    positive_int(model, "resolution", resolution)
    positive_int(model, "classes", classes)
    return (3, resolution, resolution)


def vgg16(resolution: int = 224, classes: int = 1000) -> Model:
    """VGG16 as keras.applications builds it: 13 3x3 convs with bias (ReLU), 5 max pools, FC 4096, 4096, classes."""
    shape = _rgb("vgg16", resolution, classes)
    layers: list[Element] = []
    for block, (filters, convs) in enumerate(VGG16_BLOCKS, start=1):
        stage: list[Element] = [
            Conv2D(filters, 3, padding="same", name=f"block{block}_conv{i}") for i in range(1, convs + 1)
        ]
        stage.append(MaxPool2D(2, stride=2, name=f"block{block}_pool"))
        layers.append(Sequential(tuple(stage), name=f"block{block}"))
    # Dense layers carry their ReLU / softmax (activation=...), as in keras.applications
    layers += [
        Flatten(name="flatten"),
        Dense(4096, name="fc1"),
        Dense(4096, name="fc2"),
        Dense(classes, name="predictions"),
    ]
    return Model("vgg16", shape, Sequential(tuple(layers)))


def _keras_bottleneck(name: str, filters: int, stride: int, conv_shortcut: bool) -> Sequential:
    """keras.applications ``residual_block_v1``: the stride sits on the first 1x1 conv; every conv has a bias."""
    residual = Sequential(
        (
            Conv2D(filters, 1, stride=stride, name=f"{name}_1_conv"),
            BatchNorm(name=f"{name}_1_bn"),
            Activation("relu", name=f"{name}_1_relu"),
            Conv2D(filters, 3, padding="same", name=f"{name}_2_conv"),
            BatchNorm(name=f"{name}_2_bn"),
            Activation("relu", name=f"{name}_2_relu"),
            Conv2D(4 * filters, 1, name=f"{name}_3_conv"),
            BatchNorm(name=f"{name}_3_bn"),
        ),
        name="residual",
    )
    shortcut: tuple[Element, ...] = ()
    if conv_shortcut:
        shortcut = (Conv2D(4 * filters, 1, stride=stride, name=f"{name}_0_conv"), BatchNorm(name=f"{name}_0_bn"))
    # keras builds the shortcut first and adds [shortcut, x]
    add = Parallel((Sequential(shortcut, name="shortcut"), residual), merge="add", name=f"{name}_add")
    return Sequential((add, Activation("relu", name=f"{name}_out")), name=name)


def resnet50(resolution: int = 224, classes: int = 1000) -> Model:
    """ResNet50 as keras.applications builds it: convs with bias, stride on each stage's first 1x1 conv."""
    shape = _rgb("resnet50", resolution, classes)
    layers: list[Element] = [
        Sequential(
            (
                ZeroPadding2D(3, name="conv1_pad"),
                Conv2D(64, 7, stride=2, name="conv1_conv"),
                BatchNorm(name="conv1_bn"),
                Activation("relu", name="conv1_relu"),
            ),
            name="conv1",
        ),
        Sequential((ZeroPadding2D(1, name="pool1_pad"), MaxPool2D(3, stride=2, name="pool1_pool")), name="pool1"),
    ]
    for stage, _, filters, blocks, stride in RESNET50_STAGES:
        stack = [_keras_bottleneck(f"{stage}_block1", filters, stride, True)]
        stack += [_keras_bottleneck(f"{stage}_block{i}", filters, 1, False) for i in range(2, blocks + 1)]
        layers.append(Sequential(tuple(stack), name=stage))
    layers += [GlobalAvgPool2D(name="avg_pool"), Dense(classes, name="predictions")]
    return Model("resnet50", shape, Sequential(tuple(layers)))


def _torchvision_bottleneck(name: str, inplanes: int, planes: int, stride: int) -> Sequential:
    """torchvision ``Bottleneck`` (v1.5): 1x1, 3x3 with the stride, 1x1 (x4); no conv bias."""
    residual = Sequential(
        (
            Conv2D(planes, 1, bias=False, name="conv1"),
            BatchNorm(name="bn1"),
            Activation("relu", name="relu1"),
            Conv2D(planes, 3, stride=stride, padding=1, bias=False, name="conv2"),
            BatchNorm(name="bn2"),
            Activation("relu", name="relu2"),
            Conv2D(4 * planes, 1, bias=False, name="conv3"),
            BatchNorm(name="bn3"),
        ),
        name="residual",
    )
    downsample: tuple[Element, ...] = ()
    if stride != 1 or inplanes != 4 * planes:
        downsample = (Conv2D(4 * planes, 1, stride=stride, bias=False, name="0"), BatchNorm(name="1"))
    add = Parallel((residual, Sequential(downsample, name="downsample")), merge="add", name="add")
    # torchvision reuses one ReLU module; here each use is its own row
    return Sequential((add, Activation("relu", name="relu")), name=name)


def resnet50_torchvision(resolution: int = 224, classes: int = 1000) -> Model:
    """ResNet-50 as torchvision builds it (v1.5): stride on the 3x3 conv, no conv bias, MaxPool padding 1."""
    shape = _rgb("resnet50_torchvision", resolution, classes)
    layers: list[Element] = [
        Conv2D(64, 7, stride=2, padding=3, bias=False, name="conv1"),
        BatchNorm(name="bn1"),
        Activation("relu", name="relu"),
        MaxPool2D(3, stride=2, padding=1, name="maxpool"),
    ]
    inplanes = 64
    for _, stage, planes, blocks, stride in RESNET50_STAGES:
        stack = []
        for i in range(blocks):
            stack.append(_torchvision_bottleneck(str(i), inplanes, planes, stride if i == 0 else 1))
            inplanes = 4 * planes
        layers.append(Sequential(tuple(stack), name=stage))
    layers += [
        GlobalAvgPool2D(keepdims=True, name="avgpool"),
        Flatten(name="flatten"),
        Dense(classes, name="fc"),
    ]
    return Model("resnet50_torchvision", shape, Sequential(tuple(layers)))


def make_divisible(v: float | int, divisor: int = 8) -> int:
    """keras.applications ``_make_divisible``: round to a multiple of ``divisor``, never down by more than 10%.

    An int ``v`` (a width past the float range, see ``zoo.common.scaled``) is rounded in integers.
    """
    if isinstance(v, int):
        new_v = max(divisor, (v + divisor // 2) // divisor * divisor)
        return new_v + divisor if 10 * new_v < 9 * v else new_v
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def correct_pad(size: int, kernel: int = 3) -> tuple[int, int]:
    """keras.applications ``correct_pad`` along one axis: (before, after) zeros ahead of a stride-2 valid conv."""
    adjust = 1 - size % 2
    correct = kernel // 2
    return (correct - adjust, correct)


def _inverted_residual(
    block_id: int, in_channels: int, size: tuple[int, int], filters: int, stride: int, expansion: int, alpha: float
) -> tuple[Element, int, tuple[int, int]]:
    """keras.applications ``_inverted_res_block``; returns the block, its output channels and map size."""
    pointwise_filters = make_divisible(int(scaled(filters, alpha)), 8)
    prefix = f"block_{block_id}_" if block_id else "expanded_conv_"
    layers: list[Element] = []
    if block_id:
        layers += [
            Conv2D(expansion * in_channels, 1, padding="same", bias=False, name=f"{prefix}expand"),
            BatchNorm(name=f"{prefix}expand_BN"),
            Activation("relu6", name=f"{prefix}expand_relu"),
        ]
    if stride == 2:
        pad: ExplicitPadding = (correct_pad(size[0]), correct_pad(size[1]))
        layers.append(ZeroPadding2D(pad, name=f"{prefix}pad"))
        # the valid 3x3/s2 depthwise conv after it
        size = ((size[0] + sum(pad[0]) - 3) // 2 + 1, (size[1] + sum(pad[1]) - 3) // 2 + 1)
    layers += [
        DepthwiseConv2D(
            3, stride=stride, padding="same" if stride == 1 else "valid", bias=False, name=f"{prefix}depthwise"
        ),
        BatchNorm(name=f"{prefix}depthwise_BN"),
        Activation("relu6", name=f"{prefix}depthwise_relu"),
        Conv2D(pointwise_filters, 1, padding="same", bias=False, name=f"{prefix}project"),
        BatchNorm(name=f"{prefix}project_BN"),
    ]
    name = prefix.rstrip("_")
    block: Element
    if in_channels == pointwise_filters and stride == 1:
        block = Parallel(
            (Sequential(tuple(layers), name="residual"), Sequential((), name="shortcut")),
            merge="add",
            name=f"{prefix}add",
        )
        block = Sequential((block,), name=name)
    else:
        block = Sequential(tuple(layers), name=name)
    return block, pointwise_filters, size


def mobilenet_v2(alpha: float = 1.0, resolution: int = 224, classes: int = 1000) -> Model:
    """MobileNetV2 as keras.applications builds it: inverted residuals, ReLU6, correct_pad before stride 2."""
    shape = _rgb("mobilenet_v2", resolution, classes)
    alpha = positive_number("mobilenet_v2", "alpha", alpha)
    first = make_divisible(scaled(32, alpha), 8)
    layers: list[Element] = [
        Sequential(
            (
                Conv2D(first, 3, stride=2, padding="same", bias=False, name="Conv1"),
                BatchNorm(name="bn_Conv1"),
                Activation("relu6", name="Conv1_relu"),
            ),
            name="Conv1",
        )
    ]
    channels = first
    size = (-(-resolution // 2), -(-resolution // 2))
    for block_id, (filters, stride, expansion) in enumerate(MOBILENET_V2_BLOCKS):
        block, channels, size = _inverted_residual(block_id, channels, size, filters, stride, expansion, alpha)
        layers.append(block)
    last = make_divisible(scaled(1280, alpha), 8) if alpha > 1.0 else 1280
    layers += [
        Sequential(
            (
                Conv2D(last, 1, bias=False, name="Conv_1"),
                BatchNorm(name="Conv_1_bn"),
                Activation("relu6", name="out_relu"),
            ),
            name="Conv_1",
        ),
        GlobalAvgPool2D(name="global_average_pooling2d"),
        Dense(classes, name="predictions"),
    ]
    return Model("mobilenet_v2", shape, Sequential(tuple(layers)))
