"""ConvNeXt-Tiny as keras.applications builds it (``keras.applications.ConvNeXtTiny``, ``weights=None``).

Liu et al. (2022), written the way Keras writes it: a ``Normalization`` with ImageNet's mean and
variance as constants (no weights), a 4x4/s4 "patchify" stem conv and a LayerNormalization, four
stages of 3, 3, 9, 3 blocks at 96, 192, 384, 768 channels, each stage after the first opened by a
LayerNormalization and a 2x2/s2 conv. A block is a 7x7 depthwise conv (a ``Conv2D`` with
``groups`` = channels and a bias), LayerNormalization, two ``Dense`` layers on every pixel (4x
expansion, GELU between), a learned per-channel ``LayerScale``, the identity (stochastic depth at
rate 0) and the residual ``inputs + x``, which Keras records as a tensor operation named ``add``,
``add_1``, ... The head: global average pooling, LayerNormalization, Dense.

Leaf names are Keras's (``convnext_tiny_stage_2_block_4_pointwise_conv_1``); the stem and each
downsampling block are nested ``Sequential`` models in Keras and blocks of the same name here.
"""

from __future__ import annotations

from convcost.spec import (
    Activation,
    Conv2D,
    Dense,
    Element,
    GlobalAvgPool2D,
    LayerNorm,
    LayerScale,
    Model,
    Normalization,
    Parallel,
    Sequential,
)
from convcost.zoo.common import KerasNames, boolean, positive_int

#: ``MODEL_CONFIGS["tiny"]``: blocks per stage and the stage's channels
CONVNEXT_TINY_STAGES: tuple[tuple[int, int], ...] = ((3, 96), (3, 192), (9, 384), (3, 768))
#: ``PreStem``: ImageNet's per-channel mean and variance of 0-255 pixels, constants of the layer
IMAGENET_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
IMAGENET_VARIANCE = ((0.229 * 255) ** 2, (0.224 * 255) ** 2, (0.225 * 255) ** 2)


def _block(name: str, channels: int, add: str) -> Sequential:
    """``ConvNeXtBlock``: ``inputs + identity(layer_scale(dense(gelu(dense(layernorm(dwconv(inputs)))))))``."""
    residual = Sequential(
        (
            Conv2D(channels, 7, padding="same", groups=channels, name=f"{name}_depthwise_conv"),
            LayerNorm(name=f"{name}_layernorm"),
            Dense(4 * channels, name=f"{name}_pointwise_conv_1"),
            Activation("gelu", name=f"{name}_gelu"),
            Dense(channels, name=f"{name}_pointwise_conv_2"),
            LayerScale(name=f"{name}_layer_scale"),
            # drop_path_rate 0: Keras puts Activation("linear") where StochasticDepth would be
            Activation("linear", name=f"{name}_identity"),
        ),
        name="residual",
    )
    # inputs + x: the shortcut comes first
    return Sequential((Parallel((Sequential(name="shortcut"), residual), merge="add", name=add),), name=name)


def convnext_tiny(resolution: int = 224, classes: int = 1000, include_preprocessing: bool = True) -> Model:
    """ConvNeXt-Tiny as keras.applications builds it: patchify stem, 7x7 depthwise, LayerNorm, layer scale."""
    positive_int("convnext_tiny", "resolution", resolution)
    positive_int("convnext_tiny", "classes", classes)
    include_preprocessing = boolean("convnext_tiny", "include_preprocessing", include_preprocessing)
    model = "convnext_tiny"  # the Keras model's name, the prefix of its layers' names
    names = KerasNames()
    layers: list[Element] = []
    if include_preprocessing:
        layers.append(
            Normalization(mean=IMAGENET_MEAN, variance=IMAGENET_VARIANCE, name=f"{model}_prestem_normalization")
        )
    for stage, (blocks, channels) in enumerate(CONVNEXT_TINY_STAGES):
        if stage == 0:
            opening = Sequential(
                (
                    Conv2D(channels, 4, stride=4, name=f"{model}_stem_conv"),
                    LayerNorm(name=f"{model}_stem_layernorm"),
                ),
                name=f"{model}_stem",
            )
        else:
            i = stage - 1
            opening = Sequential(
                (
                    LayerNorm(name=f"{model}_downsampling_layernorm_{i}"),
                    Conv2D(channels, 2, stride=2, name=f"{model}_downsampling_conv_{i}"),
                ),
                name=f"{model}_downsampling_block_{i}",
            )
        stack: list[Element] = [opening]
        stack += [_block(f"{model}_stage_{stage}_block_{j}", channels, names("add")) for j in range(blocks)]
        layers.append(Sequential(tuple(stack), name=f"stage_{stage}"))
    layers.append(
        Sequential(
            (
                GlobalAvgPool2D(name=f"{model}_head_gap"),
                LayerNorm(name=f"{model}_head_layernorm"),
                Dense(classes, name=f"{model}_head_dense"),  # activation=softmax
            ),
            name="head",
        )
    )
    return Model(model, (3, resolution, resolution), Sequential(tuple(layers)))
