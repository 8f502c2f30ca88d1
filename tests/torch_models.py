"""Torch modules the capture reader is tested on: one hand-written module per idiom, and Hugging Face
vision convnets built from their configuration classes with random weights (nothing downloaded).

Every entry is ``name -> Entry(factory, input_size, needs)``: ``needs`` names the layer kinds the
module cannot be read without. While one of them is not declared (``convcost.layer.LAYER_TYPES``),
the reader must refuse the module naming the op; once it is, the module must read and match
every tool (tests/test_torch_reader.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

#: what no kind will hold: a write into a slice of another tensor (``out[:, :c] = y``)
NEVER = "slice assignment"


def NEVER_CALLED() -> str:
    """A factory that returns no module (docs/errors.md)."""
    return "not a module"


@dataclass(frozen=True)
class Entry:
    factory: Callable[[], nn.Module]
    input_size: tuple[int, ...]
    #: layer kinds (``LayerNorm``) or fields of kinds (``MaxPool2D.ceil_mode``) the module needs
    needs: frozenset[str] = field(default_factory=frozenset)

    def missing(self) -> list[str]:
        """What convcost does not declare yet, of what the module needs."""
        from dataclasses import fields

        from convcost.layer import LAYER_TYPES

        def declared(need: str) -> bool:
            kind, _, name = need.partition(".")
            cls = LAYER_TYPES.get(kind)
            return cls is not None and (not name or name in {f.name for f in fields(cls)})

        return sorted(need for need in self.needs if not declared(need))


def conv_bn_relu(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


class ShapeControlFlow(nn.Module):
    """``assert x.ndim == 4``, branches on sizes, a loop whose length depends on the input size."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = conv_bn_relu(3, 8)
        self.down = conv_bn_relu(8, 8, stride=2)
        self.head = nn.Linear(8, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.ndim == 4, "NCHW expected"
        x = self.stem(x)
        while x.shape[-1] > 8:  # halve until 8 wide: as many calls of `down` as the size asks
            x = self.down(x)
        if x.size(1) != 8:
            raise ValueError("channels")
        b, c, h, w = x.shape
        x = x.reshape(b, c, h * w).mean(-1)
        return self.head(x)


class ListManipulation(nn.Module):
    """Features gathered in a Python list, reversed, sliced, summed and concatenated (FPN-style)."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([conv_bn_relu(3, 8), conv_bn_relu(8, 8), conv_bn_relu(8, 8)])
        self.lateral = nn.ModuleList([nn.Conv2d(8, 4, 1) for _ in range(3)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = []
        for block in self.blocks:
            x = block(x)
            features.append(x)
        features = features[::-1]
        laterals = [conv(f) for conv, f in zip(self.lateral, features, strict=True)]
        total = laterals[0]
        for extra in laterals[1:]:
            total = total + extra
        return torch.cat([total, *laterals[:2]], dim=1)


class KeywordArguments(nn.Module):
    """timm / HF style: ``forward(x, pre_logits=False, return_dict=True)`` returning a dict or a tuple."""

    def __init__(self) -> None:
        super().__init__()
        self.features = conv_bn_relu(3, 16)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor, pre_logits: bool = False, return_dict: bool = True) -> Any:
        features = self.pool(self.features(x)).flatten(1)
        logits = features if pre_logits else self.fc(features)
        return {"logits": logits, "pooled": features} if return_dict else (logits, features)


class BatchNormAct2d(nn.BatchNorm2d):
    """timm's BatchNormAct2d, shortened: F.batch_norm with its own stats handling, then the activation."""

    def __init__(self, channels: int) -> None:
        super().__init__(channels)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.ndim == 4, f"expected 4D input (got {x.ndim}D input)"
        exponential_average_factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                exponential_average_factor = 1.0 / float(self.num_batches_tracked)
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        x = F.batch_norm(
            x,
            self.running_mean if not self.training or self.track_running_stats else None,
            self.running_var if not self.training or self.track_running_stats else None,
            self.weight,
            self.bias,
            bn_training,
            exponential_average_factor,
            self.eps,
        )
        return self.act(x)


class FusedBatchNormAct(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn = BatchNormAct2d(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class Linear(nn.Linear):
    """timm's Linear: a subclass of nn.Linear whose forward is its own."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        bias = self.bias.to(dtype=input.dtype) if self.bias is not None else None
        return F.linear(input, self.weight.to(dtype=input.dtype), bias=bias)


class LinearSubclassHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2)
        self.fc = Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).mean((2, 3)))


class FunctionalConvOwnWeight(nn.Module):
    """Parameters straight on a custom module, used by F.conv2d (and a scale used by a multiply)."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(8, 3, 3, 3))
        self.bias = nn.Parameter(torch.zeros(8))
        self.depthwise = nn.Parameter(torch.randn(8, 1, 3, 3))
        self.gamma = nn.Parameter(torch.ones(1, 8, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, self.weight, self.bias, stride=2, padding=1)
        x = F.conv2d(x, self.depthwise, None, 1, 2, 2, groups=8)  # dilated depthwise
        return x * self.gamma


class Conv2dSame(nn.Conv2d):
    """timm's Conv2dSame: TensorFlow 'same' padding computed from the input size, F.pad, then F.conv2d."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.size()[-2:]
        kh, kw = self.weight.size()[-2:]
        pad_h = max((math.ceil(ih / self.stride[0]) - 1) * self.stride[0] + (kh - 1) * self.dilation[0] + 1 - ih, 0)
        pad_w = max((math.ceil(iw / self.stride[1]) - 1) * self.stride[1] + (kw - 1) * self.dilation[1] + 1 - iw, 0)
        if pad_h > 0 or pad_w > 0:
            x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, (0, 0), self.dilation, self.groups)


class TfSamePadding(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = Conv2dSame(3, 8, 3, stride=2)
        self.dw = Conv2dSame(8, 8, 5, stride=2, groups=8, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dw(self.conv(x))


class PaddingSameString(nn.Module):
    """torch's padding='same' (odd kernel: symmetric; even kernel: torch pads asymmetrically itself)."""

    def __init__(self) -> None:
        super().__init__()
        self.odd = nn.Conv2d(3, 8, 3, padding="same")
        self.even = nn.Conv2d(8, 8, 4, padding="same", dilation=1)
        self.dilated = nn.Conv2d(8, 8, 3, padding="same", dilation=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dilated(self.even(self.odd(x)))


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int = 16, reduced: int = 4) -> None:
        super().__init__()
        self.conv = conv_bn_relu(3, channels)
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.expand = nn.Conv2d(reduced, channels, 1)
        self.gate = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        s = x.mean((2, 3), keepdim=True)
        s = self.expand(F.silu(self.reduce(s)))
        return x * self.gate(s)


class ChannelShuffle(nn.Module):
    """ShuffleNet v2 unit: chunk in two halves, a branch on one, concat, shuffle."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = conv_bn_relu(3, 16)
        self.branch = nn.Sequential(conv_bn_relu(8, 8, 1), conv_bn_relu(8, 8, 3, groups=8), conv_bn_relu(8, 8, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x1, x2 = x.chunk(2, dim=1)
        out = torch.cat((x1, self.branch(x2)), dim=1)
        b, c, h, w = out.size()
        out = out.view(b, 2, c // 2, h, w)
        out = torch.transpose(out, 1, 2).contiguous()
        return out.view(b, -1, h, w)


class ChunkSplitSlice(nn.Module):
    """torch.split with sizes (Res2Net / GhostNet), slicing on channels, select, getitem with None."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 12, 1)
        self.convs = nn.ModuleList([nn.Conv2d(4, 4, 3, padding=1) for _ in range(2)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        first, *rest = torch.split(x, [4, 4, 4], dim=1)
        outs = [first]
        y = first
        for conv, part in zip(self.convs, rest, strict=True):
            y = conv(y + part)
            outs.append(y)
        out = torch.cat(outs, 1)
        half = out[:, : out.shape[1] // 2]
        odd = out[:, 1::2]
        return half + odd[:, None, 0].expand_as(half)


class LayerNorm2d(nn.LayerNorm):
    """timm's LayerNorm2d: permute to NHWC, F.layer_norm, permute back."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class ConvNeXtStyleBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 4, stride=4)
        self.norm = LayerNorm2d(16)
        self.dw = nn.Conv2d(16, 16, 7, padding=3, groups=16)
        self.ln = nn.LayerNorm(16)
        self.pw = nn.Linear(16, 64)
        self.pw2 = nn.Linear(64, 16)
        self.gn = nn.GroupNorm(4, 16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.stem(x))
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.pw2(F.gelu(self.pw(self.ln(y)))).permute(0, 3, 1, 2)
        return self.gn(x + y)


class InceptionConcat(nn.Module):
    """torch.cat of four branches, one of them a pool with ceil_mode / count_include_pad."""

    def __init__(self) -> None:
        super().__init__()
        self.b1 = nn.Conv2d(3, 4, 1)
        self.b3 = nn.Sequential(nn.Conv2d(3, 4, 1), nn.Conv2d(4, 6, 3, padding=1))
        self.b5 = nn.Sequential(nn.Conv2d(3, 2, 1), nn.Conv2d(2, 4, 5, padding=2))
        self.pool = nn.Sequential(nn.AvgPool2d(3, 1, 1, count_include_pad=False), nn.Conv2d(3, 4, 1))
        self.reduce = nn.MaxPool2d(3, 2, ceil_mode=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.cat([self.b1(x), self.b3(x), self.b5(x), self.pool(x)], 1)
        return self.reduce(out)


class ForkAndNWayMerge(nn.Module):
    """A tensor read by several later ops; a three-way add including the stem (RepVGG), in-place ops."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.a = nn.Conv2d(8, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 8, 1)
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        out = self.a(x) + self.b(x) + self.bn(x)
        out = self.relu(out)
        out += x  # torchvision's residual: add_ in place
        out.mul_(0.5)
        return out


class SeveralOutputs(nn.Module):
    """Returns a tuple (logits, a dict of features)."""

    def __init__(self) -> None:
        super().__init__()
        self.body = conv_bn_relu(3, 8, stride=2)
        self.aux = nn.Conv2d(8, 2, 1)
        self.fc = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        f = self.body(x)
        return self.fc(f.mean((2, 3))), {"features": f, "aux": self.aux(f)}


class DropPath(nn.Module):
    """timm's DropPath (stochastic depth): identity in eval, a random mask in training."""

    def __init__(self, drop_prob: float = 0.2) -> None:
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.drop_prob == 0.0 or not self.training:
            return x
        keep = 1 - self.drop_prob
        shape = (x.shape[0],) + (1,) * (x.ndim - 1)
        mask = x.new_empty(shape).bernoulli_(keep)
        return x * mask.div_(keep)


class ResidualDropPath(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = conv_bn_relu(3, 8)
        self.block = conv_bn_relu(8, 8)
        self.drop_path = DropPath(0.2)
        self.dropout = nn.Dropout(0.3)
        self.fc = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        x = x + self.drop_path(self.block(x))
        return self.fc(self.dropout(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)))


class SharedWeights(nn.Module):
    """One conv called twice; one weight registered under two modules (tied)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.shared = nn.Conv2d(8, 8, 3, padding=1)
        self.head = nn.Linear(8, 8, bias=False)
        self.tail = nn.Linear(8, 8, bias=False)
        self.tail.weight = self.head.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.shared(self.shared(self.stem(x)))
        return self.tail(self.head(x.mean((2, 3))))


class DecoderHead(nn.Module):
    """Transposed conv, interpolate (nearest by scale, bilinear by size), adaptive pools to 2x2."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1)
        self.grouped_up = nn.ConvTranspose2d(4, 4, 2, stride=2, groups=2)
        self.pool = nn.AdaptiveAvgPool2d((2, 2))
        self.maxpool = nn.AdaptiveMaxPool2d(1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        y = self.up(self.down(x))
        z = F.interpolate(y, scale_factor=2, mode="nearest")
        z = F.interpolate(z, size=(20, 24), mode="bilinear", align_corners=False)
        return self.grouped_up(y), z, self.pool(y), self.maxpool(y)


class PadsCropsResize(nn.Module):
    """Pads of every mode, a crop by index, nn.Upsample by a non-square scale and by a size,
    interpolate by size (a count some tools do not scale by the batch), a built-in channel shuffle,
    a select, a permuted output, and a 1-D branch with a zero pad and a transposed conv."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.reflect = nn.ReflectionPad2d((1, 2, 0, 1))
        self.replicate = nn.ReplicationPad2d(1)
        self.up = nn.Upsample(scale_factor=(2, 3), mode="nearest")
        self.bilinear = nn.Upsample(size=(9, 7), mode="bilinear", align_corners=True)
        self.shuffle = nn.ChannelShuffle(2)
        self.line = nn.Conv1d(8, 4, 3)
        self.line_up = nn.ConvTranspose1d(4, 4, 3, stride=2, padding=1, output_padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        y = self.shuffle(self.conv(x))
        a = self.up(self.reflect(y)[:, :, 1:-1, 2:])
        b = self.bilinear(F.pad(self.replicate(y), (1, 1, 2, 0), value=0.5))
        c = F.interpolate(y, size=(5, 6), mode="nearest")
        line = self.line_up(F.pad(self.line(y[:, :, 0]), (2, 1)))
        return a, b, c.permute(0, 2, 3, 1), line


class IndirectForward(nn.Module):
    """Calls a child's forward directly (no hooks fire) and keeps a module in a plain list."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.hidden = [nn.ReLU()]  # not registered: named_modules() never sees it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.hidden[0](self.conv.forward(x))


class ForwardMakesTensors(nn.Module):
    """Creates tensors in forward: a float buffer written by slice assignment, an int range, a constant.

    Also counts its calls in a buffer in place, even in eval (it must stay unchanged after capture).
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))
        self.scale = torch.tensor(2.0)  # a tensor attribute, neither parameter nor buffer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        y = self.conv(x)
        n, c, h, w = y.shape
        out = torch.zeros(n, c + 2, h, w)
        out[:, :c] = y
        index = torch.arange(c + 2)
        keep = index[: int(index.tolist()[-1])]  # .tolist() on a tensor the forward made: runs for real
        return out[:, keep] * self.scale + torch.tensor(0.5)


class DataDependent(nn.Module):
    """Control flow on values: cannot run on shape-only tensors; the capture must say where."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        if y.sum() > 0:
            return y.relu()
        return y


class HardSwishWrittenOut(nn.Module):
    """MobileNetV3's hard-swish and hard-sigmoid as arithmetic with constants (ScalarOp)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        x = x * F.relu6(x + 3) / 6
        return 1 - x.mul(0.5)


class Preprocessing(nn.Module):
    """torchvision-style normalization with buffers, then a TF-style rescale of a float."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1))
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.mean) / self.std
        return self.conv(x * 0.5 + 0.25)


class LearnedScales(nn.Module):
    """A gamma per channel on a block with children, a scalar gain, PReLU (per channel and single)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.gamma = nn.Parameter(torch.full((8, 1, 1), 1e-6))
        self.gain = nn.Parameter(torch.ones(()))
        self.act = nn.PReLU(8)
        self.act2 = nn.PReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.conv(x))
        return self.act2(self.gamma * y + y * self.gain)


class LearnedTensorArithmetic(nn.Module):
    """Learned tensors applied with operators that are no layer scale: a position bias added, a
    map subtracted from, and a divisor broadcast over height (WeightOp when read)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.position = nn.Parameter(torch.randn(4, 8, 8))
        self.offset = nn.Parameter(torch.randn(1, 8, 1))
        self.scale = nn.Parameter(torch.rand(4, 1, 8) + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x) + self.position
        return (self.offset - y) / self.scale


class PatchedMethodBroadcast(nn.Module):
    """``torch.mul`` and ``Tensor.add`` (functions ptflops and calflops patch) with a ``(C, 1, 1)``
    gamma: their count aligns shapes from the left, so it is not the batch times one sample's."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.gamma = nn.Parameter(torch.full((8, 1, 1), 1e-6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return torch.mul(y, self.gamma).add(y)


class Identities(nn.Module):
    """nn.Identity, a spatial dropout, GELU with the tanh approximation, mish, a one-sided clamp."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)
        self.skip = nn.Identity()
        self.drop = nn.Dropout2d(0.1)
        self.gelu = nn.GELU(approximate="tanh")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.drop(self.gelu(self.skip(self.conv(x))))
        return torch.clamp(F.mish(y), min=-1.0)


class Unsupported(nn.Module):
    """Three ops no kind holds, in three places: the refusal lists them all."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3)
        self.inner = nn.Sequential(nn.Conv2d(4, 4, 1), SinModule())
        self.weight = nn.Parameter(torch.ones(4, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cos(self.stem(x))
        x = self.inner(x)
        return torch.add(x, self.weight, alpha=2)  # x + 2w: a weight op holds w, not 2w


class SinModule(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)


def _hf(model_class: str, config_class: str, **config: Any) -> Callable[[], nn.Module]:
    def build() -> nn.Module:
        import transformers

        torch.manual_seed(0)
        return getattr(transformers, model_class)(getattr(transformers, config_class)(**config))

    return build


_RESNET = dict(embedding_size=16, hidden_sizes=[16, 32, 64, 128], depths=[1, 2, 1, 1])
_REGNET = dict(embedding_size=16, hidden_sizes=[16, 32, 64, 128], depths=[1, 1, 2, 1], groups_width=8)

#: Hugging Face transformers' vision convnets, small configs, in training mode as from_config builds them
HF: dict[str, Entry] = {
    "ResNetModel basic": Entry(_hf("ResNetModel", "ResNetConfig", layer_type="basic", **_RESNET), (1, 3, 64, 64)),
    "ResNet bottleneck": Entry(
        _hf("ResNetForImageClassification", "ResNetConfig", layer_type="bottleneck", **_RESNET), (1, 3, 64, 64)
    ),
    "ResNet bottleneck, downsample_in_bottleneck": Entry(
        _hf(
            "ResNetForImageClassification",
            "ResNetConfig",
            layer_type="bottleneck",
            downsample_in_bottleneck=True,
            downsample_in_first_stage=True,
            **_RESNET,
        ),
        (1, 3, 64, 64),
    ),
    "MobileNetV1 0.25": Entry(
        _hf("MobileNetV1ForImageClassification", "MobileNetV1Config", depth_multiplier=0.25, image_size=64),
        (1, 3, 64, 64),
    ),
    "MobileNetV1 0.25 without TF padding": Entry(
        _hf(
            "MobileNetV1ForImageClassification",
            "MobileNetV1Config",
            depth_multiplier=0.25,
            image_size=64,
            tf_padding=False,
        ),
        (1, 3, 64, 64),
    ),
    "MobileNetV2 0.35": Entry(
        _hf("MobileNetV2ForImageClassification", "MobileNetV2Config", depth_multiplier=0.35, image_size=64),
        (1, 3, 64, 64),
    ),
    "ConvNext": Entry(
        _hf(
            "ConvNextForImageClassification",
            "ConvNextConfig",
            hidden_sizes=[16, 32, 64, 128],
            depths=[1, 1, 2, 1],
            drop_path_rate=0.1,
        ),
        (1, 3, 64, 64),
        frozenset({"LayerNorm"}),
    ),
    "EfficientNet 0.5 x 0.5": Entry(
        _hf(
            "EfficientNetForImageClassification",
            "EfficientNetConfig",
            width_coefficient=0.5,
            depth_coefficient=0.5,
            image_size=64,
            hidden_dim=640,
        ),
        (1, 3, 64, 64),
    ),
    "RegNet y (squeeze-excite)": Entry(
        _hf("RegNetForImageClassification", "RegNetConfig", layer_type="y", **_REGNET), (1, 3, 64, 64)
    ),
    "RegNet x": Entry(_hf("RegNetForImageClassification", "RegNetConfig", layer_type="x", **_REGNET), (1, 3, 64, 64)),
}

#: one hand-written module per idiom (issue 13's list and the layer-kinds issue's)
IDIOMS: dict[str, Entry] = {
    "shape control flow, assert x.ndim": Entry(ShapeControlFlow, (1, 3, 32, 32), frozenset({"GlobalAvgPool1D"})),
    "Python list manipulation": Entry(ListManipulation, (1, 3, 16, 16)),
    "keyword arguments, a dict out": Entry(KeywordArguments, (2, 3, 16, 16)),
    "BN fused with its activation (timm BatchNormAct2d)": Entry(FusedBatchNormAct, (1, 3, 16, 16)),
    "class Linear(nn.Linear) with its own forward": Entry(LinearSubclassHead, (1, 3, 16, 16)),
    "F.conv2d on a module's own weights, a gamma": Entry(FunctionalConvOwnWeight, (1, 3, 16, 16)),
    "F.pad, then a convolution (timm Conv2dSame)": Entry(TfSamePadding, (1, 3, 17, 17)),
    "padding='same' (odd, even, dilated)": Entry(PaddingSameString, (1, 3, 16, 16)),
    "squeeze-excite": Entry(SqueezeExcite, (2, 3, 16, 16)),
    "channel shuffle (chunk, cat, view / transpose)": Entry(
        ChannelShuffle, (1, 3, 16, 16), frozenset({"Slice", "Permute"})
    ),
    "split sizes, slice, select, None index": Entry(ChunkSplitSlice, (1, 3, 16, 16), frozenset({"Slice"})),
    "LayerNorm2d, a ConvNeXt block, GroupNorm": Entry(
        ConvNeXtStyleBlock, (1, 3, 32, 32), frozenset({"LayerNorm", "GroupNorm"})
    ),
    "torch.cat of four branches, pools with ceil_mode": Entry(
        InceptionConcat, (1, 3, 16, 16), frozenset({"MaxPool2D.ceil_mode"})
    ),
    "a fork, a three-way add, in-place add_ / mul_ / relu_": Entry(ForkAndNWayMerge, (1, 3, 16, 16)),
    "several outputs (a tuple and a dict)": Entry(SeveralOutputs, (1, 3, 16, 16)),
    "DropPath, Dropout, a functional pool": Entry(ResidualDropPath, (2, 3, 16, 16)),
    "a module called twice, a tied weight": Entry(SharedWeights, (1, 3, 16, 16)),
    "ConvTranspose, interpolate, adaptive pools": Entry(
        DecoderHead, (1, 3, 20, 20), frozenset({"Conv2DTranspose", "UpSampling2D", "AdaptiveAvgPool2D"})
    ),
    # batch 2: calflops raises TypeError on a tuple scale_factor unless the batch is its length
    "pads, crops, Upsample by scale and size, a permuted output, 1-D": Entry(
        PadsCropsResize,
        (2, 3, 12, 12),
        frozenset({"Pad2D", "Cropping2D", "Resize", "ChannelShuffle", "Permute", "Conv1DTranspose", "ZeroPadding1D"}),
    ),
    "child.forward() called directly, an unregistered module": Entry(IndirectForward, (1, 3, 16, 16)),
    "a forward that makes tensors and writes a slice": Entry(ForwardMakesTensors, (1, 3, 8, 8), frozenset({NEVER})),
    "hard-swish written out (ScalarOp)": Entry(HardSwishWrittenOut, (1, 3, 8, 8)),
    "preprocessing with buffers and constants (Rescaling)": Entry(Preprocessing, (1, 3, 8, 8)),
    "learned scales: gamma, a scalar gain, PReLU": Entry(LearnedScales, (1, 3, 8, 8)),
    "torch.mul / Tensor.add with a (C, 1, 1) gamma, batch 3": Entry(PatchedMethodBroadcast, (3, 3, 8, 8)),
    "learned tensors added, subtracted from, divided by (WeightOp)": Entry(
        LearnedTensorArithmetic, (2, 3, 8, 8), frozenset({"WeightOp"})
    ),
    "nn.Identity, Dropout2d, GELU tanh, mish, a clamp": Entry(Identities, (1, 3, 8, 8)),
}
