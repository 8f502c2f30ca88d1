"""U-Net as Ronneberger, Fischer & Brox (2015) draw it (Figure 1 of "U-Net: Convolutional Networks
for Biomedical Image Segmentation"), for any width, depth and input size.

The contracting path repeats two unpadded 3x3 convolutions, each followed by a ReLU, and a 2x2 max
pool of stride 2, doubling the channels at each step (64, 128, 256, 512, then 1024 at the bottom).
Each step of the expansive path doubles the resolution with a 2x2 "up-convolution" that halves the
channels, concatenates the feature map of the same level of the contracting path, cropped at its
centre to the same size (the valid convolutions have made it larger), and applies two 3x3
convolutions with ReLU. A final 1x1 convolution maps every pixel's 64 features to the classes: 23
convolutional layers in all. The paper's input is a 572x572 grey image, its output a 388x388 map of
2 classes.

The paper does not say how its up-convolution is written; ``upsampling="transpose"`` (the default)
is the usual reading, a 2x2 transposed convolution of stride 2; ``"nearest"`` is the other one,
an ``UpSampling2D(2)`` followed by a 2x2 convolution with 'same' padding (as Keras U-Nets often
write it): the same weights, four times the multiply-adds. Every convolution has a bias and
there is no normalisation, as in the paper. Names: ``down1`` ... ``down4`` for the contracting path (each after
the first opens with its ``pool``), ``bottom``, ``up4`` ... ``up1`` back up, ``output``.
"""

from __future__ import annotations

from convcost.errors import SpecError
from convcost.spec import (
    Activation,
    Concat,
    Conv2D,
    Conv2DTranspose,
    Cropping2D,
    Element,
    MaxPool2D,
    Model,
    Sequential,
    UpSampling2D,
)
from convcost.zoo.common import positive_int

#: how the expansive path doubles the resolution
UPSAMPLING = ("transpose", "nearest")


def _convs(filters: int) -> tuple[Element, ...]:
    """Two unpadded 3x3 convolutions, each followed by a ReLU."""
    return (
        Conv2D(filters, 3, name="conv1"),
        Activation("relu", name="relu1"),
        Conv2D(filters, 3, name="conv2"),
        Activation("relu", name="relu2"),
    )


def _up(filters: int, upsampling: str) -> tuple[Element, ...]:
    """The up-convolution: twice the resolution, half the channels."""
    if upsampling == "transpose":
        return (Conv2DTranspose(filters, 2, stride=2, name="upconv"),)
    return (UpSampling2D(2, name="upsample"), Conv2D(filters, 2, padding="same", name="upconv"))


def _centre_crop(excess: int) -> tuple[int, int]:
    """Rows to remove before and after to keep the centre (an odd excess: one more after)."""
    excess = max(excess, 0)  # a map that no longer fits is the error of the conv that shrank it
    return (excess // 2, excess - excess // 2)


def unet(
    resolution: int = 572,
    classes: int = 2,
    filters: int = 64,
    depth: int = 4,
    channels: int = 1,
    upsampling: str = "transpose",
) -> Model:
    """U-Net as Ronneberger et al. (2015) draw it: valid 3x3 convs, 2x2 up-convs, cropped skips concatenated."""
    positive_int("unet", "resolution", resolution)
    positive_int("unet", "classes", classes)
    positive_int("unet", "filters", filters)
    positive_int("unet", "depth", depth)
    positive_int("unet", "channels", channels)
    if upsampling not in UPSAMPLING:
        raise SpecError(f"unet: upsampling must be one of {', '.join(UPSAMPLING)}, got {upsampling!r}")
    layers: list[Element] = []
    wiring: dict[str, tuple[str, ...]] = {}
    skips: list[int] = []  # the map size each level of the contracting path hands across
    size = resolution
    for level in range(1, depth + 2):
        name = f"down{level}" if level <= depth else "bottom"
        pool: tuple[Element, ...] = (MaxPool2D(2, stride=2, name="pool"),) if level > 1 else ()
        if level > 1:
            size //= 2
        layers.append(Sequential((*pool, *_convs(filters * 2 ** (level - 1))), name=name))
        size -= 4
        skips.append(size)
    for level in range(depth, 0, -1):
        name = f"up{level}"
        width = filters * 2 ** (level - 1)
        size *= 2
        crop = _centre_crop(skips[level - 1] - size)
        up = _up(width, upsampling)
        layers.append(
            Sequential((*up, Cropping2D((crop, crop), name="crop"), Concat(name="concat"), *_convs(width)), name=name)
        )
        # the skip: the level's last ReLU, cropped; concatenated before the up-convolution's output
        wiring[f"{name}/crop"] = (f"down{level}/relu2",)
        wiring[f"{name}/concat"] = (f"{name}/crop", f"{name}/upconv")
        size -= 4
    layers.append(Sequential((Conv2D(classes, 1, name="conv"),), name="output"))
    return Model("unet", (channels, resolution, resolution), Sequential(tuple(layers)), wiring=tuple(wiring.items()))
