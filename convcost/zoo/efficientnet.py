"""EfficientNet-B0 as keras.applications builds it (``keras.applications.EfficientNetB0``, ``weights=None``).

Tan & Le (2019), written the way Keras writes it: ``Rescaling(1/255)`` and a ``Normalization`` whose
mean, variance and sample count are weights (not trained), a stem padded by ``correct_pad``, 16
MBConv blocks of swish, squeeze-excite (``x * sigmoid(conv(swish(conv(pool(x)))))``) and a residual
add where the shapes allow, the stochastic-depth ``Dropout`` on those adds. Leaf names are Keras's
(``block2a_expand_conv``, ``block2a_se_excite``); the two layers Keras names itself are
``rescaling`` and ``normalization``, as in a fresh Keras session.

With ``weights="imagenet"`` Keras adds one more ``Rescaling`` (a per-channel scale) after the
``Normalization``: no weights and no multiply-adds, so every figure here is that model's too.
"""

from __future__ import annotations

from convcost.spec import (
    Activation,
    BatchNorm,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Element,
    GlobalAvgPool2D,
    Model,
    Normalization,
    Parallel,
    Rescaling,
    Reshape,
    Sequential,
    ZeroPadding2D,
)
from convcost.zoo.common import KerasNames, positive_int
from convcost.zoo.imagenet import correct_pad

#: keras.applications ``DEFAULT_BLOCKS_ARGS``: (kernel, repeats, filters in, filters out, expansion,
#: first stride) of the seven stages; every block has squeeze-excite (ratio 0.25) and id_skip
EFFICIENTNET_B0_STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (3, 1, 32, 16, 1, 1),
    (3, 2, 16, 24, 6, 2),
    (5, 2, 24, 40, 6, 2),
    (3, 3, 40, 80, 6, 2),
    (5, 3, 80, 112, 6, 1),
    (5, 4, 112, 192, 6, 2),
    (3, 1, 192, 320, 6, 1),
)
SE_RATIO = 0.25
#: the rate of the stochastic-depth Dropout grows linearly with the block's index, up to this
DROP_CONNECT_RATE = 0.2
#: the Dropout before the classifier (EfficientNetB0's ``dropout_rate``)
TOP_DROPOUT = 0.2
#: the source's activation: Keras writes ``"swish"`` (the same function as ``silu``)
ACTIVATION = "swish"


def _squeeze_excite(name: str, filters_in: int, filters: int) -> Parallel:
    """``multiply([x, se])``: the map times a per-channel gate; the two 1x1 convs fuse their activations."""
    filters_se = max(1, int(filters_in * SE_RATIO))
    gate = Sequential(
        (
            GlobalAvgPool2D(name=f"{name}se_squeeze"),
            Reshape((filters, 1, 1), name=f"{name}se_reshape"),
            Conv2D(filters_se, 1, padding="same", name=f"{name}se_reduce"),  # activation=swish
            Conv2D(filters, 1, padding="same", name=f"{name}se_expand"),  # activation=sigmoid
        ),
        name="squeeze_excite",
    )
    return Parallel((Sequential(name="input"), gate), merge="multiply", name=f"{name}se_excite")


def _mbconv(
    name: str, size: int, filters_in: int, filters_out: int, kernel: int, stride: int, expansion: int, drop_rate: float
) -> tuple[Sequential, int]:
    """keras.applications ``block``; returns the block and the map size after it."""
    filters = filters_in * expansion
    layers: list[Element] = []
    if expansion != 1:
        layers += [
            Conv2D(filters, 1, padding="same", bias=False, name=f"{name}expand_conv"),
            BatchNorm(name=f"{name}expand_bn"),
            Activation(ACTIVATION, name=f"{name}expand_activation"),
        ]
    if stride == 2:
        pad = correct_pad(size, kernel)
        layers.append(ZeroPadding2D((pad, pad), name=f"{name}dwconv_pad"))
        size = (size + sum(pad) - kernel) // 2 + 1
    layers += [
        DepthwiseConv2D(
            kernel, stride=stride, padding="valid" if stride == 2 else "same", bias=False, name=f"{name}dwconv"
        ),
        BatchNorm(name=f"{name}bn"),
        Activation(ACTIVATION, name=f"{name}activation"),
        _squeeze_excite(name, filters_in, filters),
        Conv2D(filters_out, 1, padding="same", bias=False, name=f"{name}project_conv"),
        BatchNorm(name=f"{name}project_bn"),
    ]
    block = name.rstrip("_")
    if stride == 1 and filters_in == filters_out:
        if drop_rate > 0:
            # Dropout(noise_shape=(None, 1, 1, 1)): drops the whole branch per sample while training
            layers.append(Dropout(drop_rate, name=f"{name}drop"))
        residual = Parallel(
            (Sequential(tuple(layers), name="residual"), Sequential(name="shortcut")), merge="add", name=f"{name}add"
        )
        return Sequential((residual,), name=block), size
    return Sequential(tuple(layers), name=block), size


def efficientnet_b0(resolution: int = 224, classes: int = 1000) -> Model:
    """EfficientNet-B0 as keras.applications builds it: Rescaling, Normalization, swish, squeeze-excite MBConv."""
    positive_int("efficientnet_b0", "resolution", resolution)
    positive_int("efficientnet_b0", "classes", classes)
    names = KerasNames()
    stem_pad = correct_pad(resolution, 3)
    layers: list[Element] = [
        Rescaling(1.0 / 255.0, name=names("rescaling")),
        Normalization(axis=0, name=names("normalization")),  # adapted statistics: 3 + 3 + 1 weights
        Sequential(
            (
                ZeroPadding2D((stem_pad, stem_pad), name="stem_conv_pad"),
                Conv2D(32, 3, stride=2, bias=False, name="stem_conv"),
                BatchNorm(name="stem_bn"),
                Activation(ACTIVATION, name="stem_activation"),
            ),
            name="stem",
        ),
    ]
    size = (resolution + sum(stem_pad) - 3) // 2 + 1
    total = sum(repeats for _, repeats, *_ in EFFICIENTNET_B0_STAGES)
    index = 0
    for stage, (kernel, repeats, filters_in, filters_out, expansion, stride) in enumerate(EFFICIENTNET_B0_STAGES):
        for j in range(repeats):
            block, size = _mbconv(
                f"block{stage + 1}{chr(j + 97)}_",
                size,
                filters_in if j == 0 else filters_out,
                filters_out,
                kernel,
                stride if j == 0 else 1,
                expansion,
                DROP_CONNECT_RATE * index / total,
            )
            layers.append(block)
            index += 1
    layers += [
        Sequential(
            (
                Conv2D(1280, 1, padding="same", bias=False, name="top_conv"),
                BatchNorm(name="top_bn"),
                Activation(ACTIVATION, name="top_activation"),
            ),
            name="top",
        ),
        GlobalAvgPool2D(name="avg_pool"),
        Dropout(TOP_DROPOUT, name="top_dropout"),
        Dense(classes, name="predictions"),  # activation=softmax
    ]
    return Model("efficientnet_b0", (3, resolution, resolution), Sequential(tuple(layers)))
