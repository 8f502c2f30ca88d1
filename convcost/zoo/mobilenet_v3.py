"""MobileNetV3 Small and Large as keras.applications builds them (``MobileNetV3Small`` / ``MobileNetV3Large``).

Howard et al. (2019), written the way Keras writes it: an optional ``Rescaling(1/127.5, -1)``
(``include_preprocessing``), inverted residual blocks whose channels are rounded by ``_depth`` (a
multiple of 8), ``correct_pad`` before each stride-2 depthwise conv, hard-swish as an
``Activation("hard_swish")`` layer, ReLU as ``ReLU()`` layers, and squeeze-excite whose gate is the
hard sigmoid Keras writes out with tensor arithmetic, ``ReLU(6)(x + 3) * (1 / 6)``. The head is a
1x1 conv on the pooled map (``conv_2``, with bias), Dropout, a 1x1 conv to the classes (``logits``),
Flatten and the softmax. ``minimalistic`` swaps hard-swish for ReLU, 5x5 kernels for 3x3 and drops
squeeze-excite, as the source does.

Leaf names are Keras's: ``expanded_conv_3_squeeze_excite_mul``, ``conv_1_bn``; the layers and
operations Keras names itself get the names of a fresh Keras session (``re_lu_2``,
``activation_5``, ``add_1`` for an ``x + 3``, ``multiply_1`` for a ``* (1/6)``).
"""

from __future__ import annotations

from convcost.spec import (
    Activation,
    BatchNorm,
    Conv2D,
    DepthwiseConv2D,
    Dropout,
    Element,
    Flatten,
    GlobalAvgPool2D,
    Model,
    Parallel,
    Rescaling,
    ScalarOp,
    Sequential,
    ZeroPadding2D,
)
from convcost.zoo.common import KerasNames, boolean, positive_int, positive_number
from convcost.zoo.imagenet import correct_pad, make_divisible

#: one inverted residual block: (expansion, filters before alpha, kernel, stride, squeeze-excite,
#: hard-swish). kernel ``None`` is the model's kernel (5, or 3 when minimalistic); squeeze-excite and
#: hard-swish apply unless the model is minimalistic; otherwise the block uses ReLU.
Block = tuple[float, int, int | None, int, bool, bool]

#: ``MobileNetV3Small``'s ``stack_fn``, in order (the expansions as the source writes them)
SMALL_BLOCKS: tuple[Block, ...] = (
    (1, 16, 3, 2, True, False),
    (72.0 / 16, 24, 3, 2, False, False),
    (88.0 / 24, 24, 3, 1, False, False),
    (4, 40, None, 2, True, True),
    (6, 40, None, 1, True, True),
    (6, 40, None, 1, True, True),
    (3, 48, None, 1, True, True),
    (3, 48, None, 1, True, True),
    (6, 96, None, 2, True, True),
    (6, 96, None, 1, True, True),
    (6, 96, None, 1, True, True),
)
#: ``MobileNetV3Large``'s ``stack_fn``
LARGE_BLOCKS: tuple[Block, ...] = (
    (1, 16, 3, 1, False, False),
    (4, 24, 3, 2, False, False),
    (3, 24, 3, 1, False, False),
    (3, 40, None, 2, True, False),
    (3, 40, None, 1, True, False),
    (3, 40, None, 1, True, False),
    (6, 80, 3, 2, False, True),
    (2.5, 80, 3, 1, False, True),
    (2.3, 80, 3, 1, False, True),
    (2.3, 80, 3, 1, False, True),
    (6, 112, 3, 1, True, True),
    (6, 112, 3, 1, True, True),
    (6, 160, None, 2, True, True),
    (6, 160, None, 1, True, True),
    (6, 160, None, 1, True, True),
)
SE_RATIO = 0.25
#: the head's Dropout (the source's ``dropout_rate`` default)
DROPOUT = 0.2


class _Builder:
    """One MobileNetV3: its switches, the Keras auto-names handed out so far, the map size."""

    def __init__(self, minimalistic: bool, size: int) -> None:
        self.minimalistic = minimalistic
        self.names = KerasNames()
        self.size = size

    def activation(self, hard_swish: bool) -> Activation:
        """``Activation("hard_swish")`` or ``ReLU()``: both auto-named, as the source creates them."""
        if hard_swish and not self.minimalistic:
            return Activation("hard_swish", name=self.names("activation"))
        return Activation("relu", name=self.names("re_lu"))

    def squeeze_excite(self, prefix: str, filters: int) -> Parallel:
        """``_se_block``: ``Multiply([inputs, hard_sigmoid(conv(relu(conv(pool(inputs)))))])``."""
        gate = Sequential(
            (
                GlobalAvgPool2D(keepdims=True, name=f"{prefix}squeeze_excite_avg_pool"),
                Conv2D(make_divisible(filters * SE_RATIO), 1, padding="same", name=f"{prefix}squeeze_excite_conv"),
                Activation("relu", name=f"{prefix}squeeze_excite_relu"),
                Conv2D(filters, 1, padding="same", name=f"{prefix}squeeze_excite_conv_1"),
                # hard_sigmoid(x) = ReLU(6.0)(x + 3.0) * (1.0 / 6.0), two tensor operations and a layer
                ScalarOp("add", 3.0, name=self.names("add")),
                Activation("relu6", name=self.names("re_lu")),
                ScalarOp("multiply", 1.0 / 6.0, name=self.names("multiply")),
            ),
            name="squeeze_excite",
        )
        return Parallel((Sequential(name="input"), gate), merge="multiply", name=f"{prefix}squeeze_excite_mul")

    def block(self, block_id: int, in_channels: int, spec: Block, alpha: float) -> tuple[Sequential, int]:
        """``_inverted_res_block``; returns the block and its output channels."""
        expansion, filters_before_alpha, kernel, stride, se, hard_swish = spec
        filters = make_divisible(filters_before_alpha * alpha)
        kernel = kernel or (3 if self.minimalistic else 5)
        prefix = f"expanded_conv_{block_id}_" if block_id else "expanded_conv_"
        expanded = make_divisible(in_channels * expansion)
        layers: list[Element] = []
        if block_id:
            layers += [
                Conv2D(expanded, 1, padding="same", bias=False, name=f"{prefix}expand"),
                BatchNorm(name=f"{prefix}expand_bn"),
                self.activation(hard_swish),
            ]
        if stride == 2:
            pad = correct_pad(self.size, kernel)
            layers.append(ZeroPadding2D((pad, pad), name=f"{prefix}depthwise_pad"))
            self.size = (self.size + sum(pad) - kernel) // 2 + 1
        layers += [
            DepthwiseConv2D(
                kernel,
                stride=stride,
                padding="same" if stride == 1 else "valid",
                bias=False,
                name=f"{prefix}depthwise",
            ),
            BatchNorm(name=f"{prefix}depthwise_bn"),
            self.activation(hard_swish),
        ]
        if se and not self.minimalistic:
            layers.append(self.squeeze_excite(prefix, expanded))
        layers += [
            Conv2D(filters, 1, padding="same", bias=False, name=f"{prefix}project"),
            BatchNorm(name=f"{prefix}project_bn"),
        ]
        name = prefix.rstrip("_")
        if stride == 1 and in_channels == filters:
            # Add([shortcut, x]): the shortcut comes first
            add = Parallel(
                (Sequential(name="shortcut"), Sequential(tuple(layers), name="residual")),
                merge="add",
                name=f"{prefix}add",
            )
            return Sequential((add,), name=name), filters
        return Sequential(tuple(layers), name=name), filters


def _mobilenet_v3(
    model: str,
    blocks: tuple[Block, ...],
    last_point: int,
    alpha: float,
    resolution: int,
    classes: int,
    minimalistic: bool,
    include_preprocessing: bool,
) -> Model:
    """keras.applications ``MobileNetV3`` with the ``stack_fn`` of one size."""
    alpha = positive_number(model, "alpha", alpha)
    positive_int(model, "resolution", resolution)
    positive_int(model, "classes", classes)
    minimalistic = boolean(model, "minimalistic", minimalistic)
    include_preprocessing = boolean(model, "include_preprocessing", include_preprocessing)
    # Conv 3x3/s2 'same': ceil(resolution / 2)
    build = _Builder(minimalistic, -(-resolution // 2))
    layers: list[Element] = []
    if include_preprocessing:
        layers.append(Rescaling(1.0 / 127.5, -1.0, name=build.names("rescaling")))
    layers.append(
        Sequential(
            (
                Conv2D(16, 3, stride=2, padding="same", bias=False, name="conv"),  # 16 whatever the alpha
                BatchNorm(name="conv_bn"),
                build.activation(True),
            ),
            name="stem",
        )
    )
    channels = 16
    for block_id, spec in enumerate(blocks):
        block, channels = build.block(block_id, channels, spec, alpha)
        layers.append(block)
    last_conv = make_divisible(channels * 6)
    if alpha > 1.0:
        last_point = make_divisible(last_point * alpha)
    layers.append(
        Sequential(
            (
                Conv2D(last_conv, 1, padding="same", bias=False, name="conv_1"),
                BatchNorm(name="conv_1_bn"),
                build.activation(True),
            ),
            name="conv_1",
        )
    )
    head: list[Element] = [
        GlobalAvgPool2D(keepdims=True, name=build.names("global_average_pooling2d")),
        Conv2D(last_point, 1, padding="same", name="conv_2"),
        build.activation(True),
        Dropout(DROPOUT, name=build.names("dropout")),
        Conv2D(classes, 1, padding="same", name="logits"),
        Flatten(name=build.names("flatten")),
        Activation("softmax", name="predictions"),
    ]
    layers.append(Sequential(tuple(head), name="head"))
    return Model(model, (3, resolution, resolution), Sequential(tuple(layers)))


def mobilenet_v3_small(
    alpha: float = 1.0,
    resolution: int = 224,
    classes: int = 1000,
    minimalistic: bool = False,
    include_preprocessing: bool = True,
) -> Model:
    """MobileNetV3-Small as keras.applications builds it: hard-swish, squeeze-excite, 11 inverted residuals."""
    return _mobilenet_v3(
        "mobilenet_v3_small", SMALL_BLOCKS, 1024, alpha, resolution, classes, minimalistic, include_preprocessing
    )


def mobilenet_v3_large(
    alpha: float = 1.0,
    resolution: int = 224,
    classes: int = 1000,
    minimalistic: bool = False,
    include_preprocessing: bool = True,
) -> Model:
    """MobileNetV3-Large as keras.applications builds it: hard-swish, squeeze-excite, 15 inverted residuals."""
    return _mobilenet_v3(
        "mobilenet_v3_large", LARGE_BLOCKS, 1280, alpha, resolution, classes, minimalistic, include_preprocessing
    )
