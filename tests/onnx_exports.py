"""ONNX files made the way users make them, and the source model's own numbers to hold them against.

Sources: zoo models built in torch (``to_torch``), Hugging Face models built from small configs, and
Keras 3 models (torch backend). Every float weight is perturbed first: an untrained model has equal
tensors (BatchNorm at 1 / 0, zero biases) that the exporters merge into one, and the file would hold
fewer parameters than the model. The numbers each file is checked against come from the framework,
never from ONNX or convcost: torch forward hooks on every ``nn.Conv2d`` / ``nn.Linear`` (paper
multiply-adds), torch's own parameter and buffer counts, Keras' ``count_params()`` and layer shapes.

``Exports`` makes a file once per session (``tests/conftest.py`` has the fixture) and remembers how.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

import torch

#: the torch exporters, as a user calls them (TorchScript is the legacy ``dynamo=False`` path)
TORCH_EXPORTERS: dict[str, dict[str, Any]] = {
    "ts9": {"dynamo": False, "opset_version": 9},
    "ts11": {"dynamo": False, "opset_version": 11},
    "ts13": {"dynamo": False, "opset_version": 13},
    "ts17": {"dynamo": False, "opset_version": 17},
    "ts20_dynbatch": {"dynamo": False, "opset_version": 20, "dynamic_axes": {"x": {0: "batch"}}},
    # every default: opset 20, the optimizer on, the weights in a side file model.onnx.data
    "dynamo": {"dynamo": True},
    "dynamo_noopt": {"dynamo": True, "optimize": False, "external_data": False},
    "dynamo_dynbatch": {"dynamo": True, "external_data": False, "dynamic": True},
}
#: exporters that fold BatchNorm into the convolution before it
FOLDING = frozenset({"ts9", "ts11", "ts13", "ts17", "ts20_dynbatch", "dynamo", "dynamo_dynbatch"})


@dataclass(frozen=True)
class Source:
    """What the framework says about the model an ONNX file was exported from."""

    params: int
    #: torch: the parameters of the conv and linear modules (weights and biases)
    conv_linear_params: int
    float_buffers: int
    bn_channels: int
    #: BatchNorm channels after a conv without bias: folding adds that many bias values
    bn_bias_added: int
    paper_macs: int
    input: tuple[int, ...]
    #: how many BatchNorm layers there are (the reader should say it folded that many)
    batchnorms: int = 0

    def expected_params(self, folded: bool) -> tuple[int, int]:
        """(paper, keras) parameters the file holds. Folding replaces each BatchNorm's four tensors
        by the conv's rescaled weights and a bias (new where the conv had none); without it the
        file holds BatchNorm's four, the moving statistics being torch buffers."""
        if folded:
            paper = self.conv_linear_params + self.bn_bias_added
            return paper, self.params - 2 * self.bn_channels + self.bn_bias_added
        return self.conv_linear_params, self.params + self.float_buffers


def quiet(function: Callable[[], Any]) -> Any:
    """Run an exporter with its progress lines and warnings swallowed."""
    sink = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            return function()
        finally:
            logging.disable(logging.NOTSET)


# ---------------------------------------------------------------------------------------- torch


def perturb_torch(model: Any) -> None:
    """Make every float parameter and buffer distinct (variances stay positive)."""
    import torch

    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, t in [*model.named_parameters(), *model.named_buffers()]:
            if t.dtype.is_floating_point:
                noise = 0.05 * torch.randn(t.shape, generator=generator)
                t.add_(noise.abs() if "running_var" in name else noise)


def torch_source(model: Any, shape: tuple[int, ...]) -> Source:
    import torch
    from torch import nn

    macs = 0
    hooks = []

    def conv_hook(module: Any, inputs: Any, output: Any) -> None:
        nonlocal macs
        kernel = module.weight.shape[2] * module.weight.shape[3]
        if isinstance(module, nn.ConvTranspose2d):  # every input pixel times the whole kernel
            macs += inputs[0].numel() * kernel * module.out_channels // module.groups
        else:
            macs += output.numel() * kernel * module.in_channels // module.groups

    def linear_hook(module: Any, inputs: Any, output: Any) -> None:
        nonlocal macs
        macs += output.numel() * module.in_features

    for module in model.modules():  # subclasses too: HF EfficientNet's depthwise conv is one
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            hooks.append(module.register_forward_hook(conv_hook))
        elif isinstance(module, nn.Linear):
            hooks.append(module.register_forward_hook(linear_hook))
    with torch.no_grad():
        model(torch.zeros(1, *shape))
    for hook in hooks:
        hook.remove()
    weighted = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    batchnorms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    # a BatchNorm folded into a conv without bias gives it one; the conv is the module before it
    added, previous = 0, None
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d) and isinstance(previous, nn.Conv2d) and previous.bias is None:
            added += module.num_features
        if not list(module.children()):
            previous = module
    return Source(
        params=sum(p.numel() for p in model.parameters()),
        conv_linear_params=sum(p.numel() for m in weighted for p in m.parameters(recurse=False)),
        float_buffers=sum(b.numel() for b in model.buffers() if b.dtype.is_floating_point),
        bn_channels=sum(m.num_features for m in batchnorms),
        bn_bias_added=added,
        paper_macs=macs,
        input=shape,
        batchnorms=len(batchnorms),
    )


class Logits(torch.nn.Module):
    """Wraps a Hugging Face model to return its logits (a ModelOutput is no ONNX output)."""

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: Any) -> Any:
        return self.inner(pixel_values=x).logits


class UNetish(torch.nn.Module):
    """Resolution changes and channel plumbing: max pool, a dilated 'same' conv, reflect padding, a
    ceil-mode average pool that leaves its padding out, nearest and bilinear interpolation, a
    transposed conv, Concat, Split and a crop by slicing."""

    def __init__(self) -> None:
        super().__init__()
        from torch import nn

        def block(cin: int, cout: int) -> nn.Module:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

        self.enc1 = block(3, 8)
        self.enc2 = nn.Sequential(nn.Conv2d(8, 16, 3, padding="same", dilation=2), nn.ReLU())
        self.enc3 = nn.Conv2d(16, 16, 3)
        self.up = nn.ConvTranspose2d(16, 8, 2, stride=2)
        self.dec1 = block(24, 8)
        self.dec2 = block(16, 8)
        self.out = nn.Conv2d(4, 2, 1)

    def forward(self, x: Any) -> Any:
        import torch.nn.functional as F

        e1 = self.enc1(x)
        e2 = self.enc2(F.max_pool2d(e1, 2))
        e3 = self.enc3(F.pad(e2, (1, 1, 1, 1), mode="reflect"))
        e3 = F.avg_pool2d(e3, 3, 2, padding=1, ceil_mode=True, count_include_pad=False)
        u = torch.cat([F.interpolate(e3, scale_factor=2.0, mode="nearest"), self.up(e3)], 1)
        d = F.interpolate(self.dec1(u), size=(32, 32), mode="bilinear", align_corners=False)
        a, b = torch.split(self.dec2(torch.cat([d, e1], 1)), [4, 4], dim=1)
        return self.out(a * torch.sigmoid(b))[:, :, 1:-1, 1:-1]


def _zoo(name: str, **arguments: Any) -> Callable[[], tuple[Any, tuple[int, ...]]]:
    def make() -> tuple[Any, tuple[int, ...]]:
        from convcost.interop.torch import to_torch
        from convcost.zoo import build

        model = build(name, **arguments)
        return to_torch(model), model.input

    return make


def _hf(config_class: str, model_class: str, size: int, **config: Any) -> Callable[[], tuple[Any, tuple[int, ...]]]:
    def make() -> tuple[Any, tuple[int, ...]]:
        import transformers

        configuration = getattr(transformers, config_class)(num_labels=10, **config)
        return Logits(getattr(transformers, model_class)(configuration)), (3, size, size)

    return make


TORCH_SOURCES: dict[str, Callable[[], tuple[Any, tuple[int, ...]]]] = {
    "torch_unet": lambda: (UNetish(), (3, 32, 32)),
    "zoo_mobilenet_v1": _zoo("mobilenet_v1", alpha=0.25, resolution=32, classes=10),
    "zoo_mobilenet_v2": _zoo("mobilenet_v2", alpha=0.35, resolution=32, classes=10),
    "zoo_inception10": _zoo("inception10", num_blocks=1, init_ch=4),
    "hf_mobilenet_v2": _hf(
        "MobileNetV2Config", "MobileNetV2ForImageClassification", 64, depth_multiplier=0.35, image_size=64
    ),
    "hf_resnet": _hf(
        "ResNetConfig",
        "ResNetForImageClassification",
        64,
        layer_type="basic",
        embedding_size=8,
        hidden_sizes=[8, 16, 16, 32],
        depths=[1, 1, 2, 1],
    ),
    "hf_convnext": _hf(
        "ConvNextConfig", "ConvNextForImageClassification", 64, hidden_sizes=[8, 16, 24, 32], depths=[1, 1, 2, 1]
    ),
    "hf_efficientnet": _hf(
        "EfficientNetConfig",
        "EfficientNetForImageClassification",
        64,
        width_coefficient=0.25,
        depth_coefficient=0.25,
        image_size=64,
        hidden_dim=320,  # the head conv's width: round_filters(1280) at this width
    ),
}


def export_torch(model: Any, shape: tuple[int, ...], path: Path, exporter: str) -> None:
    import torch

    options = dict(TORCH_EXPORTERS[exporter])
    dynamic = options.pop("dynamic", False)
    batch = 1
    if dynamic:
        batch = 2  # torch.export specialises a batch of 1
        options["dynamic_shapes"] = {"x": {0: torch.export.Dim("batch", min=1, max=1024)}}
    x = torch.randn(batch, *shape)
    quiet(lambda: torch.onnx.export(model, (x,), str(path), input_names=["x"], output_names=["y"], **options))


# ---------------------------------------------------------------------------------------- Keras


def keras_small() -> Any:
    """A functional model with each layer the Keras exporter writes its own way: BatchNorm (as
    Sub / Mul / Add), 'same' at stride 2 (a Pad before the conv), depthwise and separable convs,
    biases (an Add after the conv's Transpose), a residual Add, Concatenate, both global pools."""
    import keras
    from keras import layers

    image = keras.Input((32, 32, 3), name="image")
    x = layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(image)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(6.0)(x)
    y = layers.DepthwiseConv2D(3, padding="same")(x)
    y = layers.BatchNormalization()(y)
    y = layers.Activation("relu")(y)
    y = layers.Conv2D(8, 1)(y)
    x = layers.Add()([x, y])
    z = layers.SeparableConv2D(16, 3, strides=2, padding="valid")(x)
    z = layers.MaxPooling2D(2)(z)
    z = layers.Concatenate()([z, layers.Conv2D(8, 1, activation="sigmoid")(z)])
    g = layers.GlobalAveragePooling2D()(z)
    f = layers.Flatten()(layers.AveragePooling2D(2)(z))
    x = layers.Dropout(0.2)(layers.Concatenate()([g, f]))
    return keras.Model(image, layers.Dense(10, activation="softmax")(x), name="keras_small")


def keras_unet() -> Any:
    """Keras' resolution changes: UpSampling2D (exported as Unsqueeze -> Expand -> Reshape),
    Conv2DTranspose and Cropping2D."""
    import keras
    from keras import layers

    image = keras.Input((32, 32, 3), name="image")
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(image)
    up = layers.UpSampling2D(2)(x)
    transposed = layers.Conv2DTranspose(8, 3, strides=2, padding="same")(x)
    x = layers.Concatenate()([up, transposed])
    x = layers.Cropping2D(((1, 1), (2, 0)))(x)
    return keras.Model(image, layers.Conv2D(4, 1)(x), name="keras_unet")


KERAS_SOURCES: dict[str, Callable[[], Any]] = {
    "keras_small": keras_small,
    "keras_unet": keras_unet,
    "keras_mobilenet": lambda: __import__("keras").applications.MobileNet(
        alpha=0.25, input_shape=(32, 32, 3), weights=None, classes=10
    ),
}
#: Keras' export: the batch left None uses the TorchScript exporter with a dynamic batch; a fixed
#: input signature makes it try dynamo (and fall back to TorchScript if that fails)
KERAS_EXPORTERS = ("default", "fixed_batch")


def perturb_keras(model: Any) -> None:
    import numpy as np

    rng = np.random.default_rng(0)
    for w in model.weights:
        value = np.asarray(w.numpy())
        noise = 0.05 * rng.standard_normal(value.shape).astype(value.dtype)
        w.assign(value + (np.abs(noise) if "variance" in w.path else noise))


def keras_source(model: Any) -> Source:
    """Keras' own numbers: conv and Dense multiply-adds from the layers' shapes, count_params()."""
    from keras import layers

    macs = paper = bn = 0
    for layer in model.layers:
        out = layer.output.shape
        weighted = (layers.Conv2D, layers.Conv2DTranspose, layers.DepthwiseConv2D, layers.SeparableConv2D, layers.Dense)
        if isinstance(layer, weighted):
            paper += layer.count_params()
        if isinstance(layer, layers.Conv2DTranspose):  # every input pixel times the whole kernel
            k = layer.kernel_size[0] * layer.kernel_size[1]
            macs += math.prod(layer.input.shape[1:]) * k * layer.filters // getattr(layer, "groups", 1)
        elif isinstance(layer, layers.DepthwiseConv2D):
            macs += math.prod(out[1:]) * layer.kernel_size[0] * layer.kernel_size[1]
        elif isinstance(layer, layers.SeparableConv2D):
            k = layer.kernel_size[0] * layer.kernel_size[1]
            cin = layer.input.shape[-1] * layer.depth_multiplier
            macs += out[1] * out[2] * cin * (k + out[3])
        elif isinstance(layer, layers.Conv2D):
            k = layer.kernel_size[0] * layer.kernel_size[1]
            macs += math.prod(out[1:]) * k * layer.input.shape[-1] // layer.groups
        elif isinstance(layer, layers.Dense):
            macs += math.prod(out[1:]) * layer.input.shape[-1]
        elif isinstance(layer, layers.BatchNormalization):
            bn += layer.input.shape[-1]
    return Source(
        params=model.count_params(),
        conv_linear_params=paper,
        float_buffers=0,
        bn_channels=bn,
        bn_bias_added=0,
        paper_macs=macs,
        input=tuple(model.input.shape[1:]),
    )


def export_keras(model: Any, path: Path, exporter: str) -> None:
    import keras
    import numpy as np

    shape = tuple(model.input.shape[1:])
    model(np.zeros((1, *shape), "float32"))  # Keras refuses to export a model never called
    signature = [keras.InputSpec(shape=(1, *shape), dtype="float32")] if exporter == "fixed_batch" else None
    quiet(lambda: model.export(str(path), format="onnx", verbose=False, input_signature=signature))


# ---------------------------------------------------------------------------------------- the cache


@dataclass(frozen=True)
class Export:
    path: Path
    source: Source
    exporter: str

    @property
    def folded(self) -> bool:
        return self.exporter in FOLDING


class Exports:
    """Files made on demand, once per session, in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.made: dict[tuple[str, str], Export] = {}
        self.models: dict[str, tuple[Any, Source]] = {}

    def torch(self, name: str, exporter: str) -> Export:
        key = (name, exporter)
        if key not in self.made:
            if name not in self.models:
                model, shape = TORCH_SOURCES[name]()
                model.eval()
                perturb_torch(model)
                self.models[name] = (model, torch_source(model, shape))
            model, source = self.models[name]
            path = self.folder / f"{name}__{exporter}.onnx"
            export_torch(model, source.input, path, exporter)
            self.made[key] = Export(path, source, exporter)
        return self.made[key]

    def keras(self, name: str, exporter: str) -> Export:
        key = (name, exporter)
        if key not in self.made:
            if name not in self.models:
                model = KERAS_SOURCES[name]()
                perturb_keras(model)
                self.models[name] = (model, keras_source(model))
            model, source = self.models[name]
            path = self.folder / f"{name}__{exporter}.onnx"
            export_keras(model, path, exporter)
            self.made[key] = Export(path, source, exporter)
        return self.made[key]
