"""Torch modules for `convcost table examples.torch_models:<factory> --input-size N,C,H,W` (docs/torch.md).

Each factory takes no argument and returns a module, with random weights: convcost imports this file
and calls the factory only because the command names it.
"""

from __future__ import annotations

import torch
from torch import nn


def resnet() -> nn.Module:
    """A small Hugging Face ResNet (bottleneck blocks), built from its configuration: nothing downloaded."""
    import transformers

    torch.manual_seed(0)
    config = transformers.ResNetConfig(
        layer_type="bottleneck", embedding_size=16, hidden_sizes=[16, 32, 64, 128], depths=[1, 1, 1, 1], num_labels=10
    )
    return transformers.ResNetForImageClassification(config)


class GatedBlock(nn.Module):
    """A conv, a gate convcost has no kind for (``torch.erf``), a learned scale and a residual add."""

    def __init__(self, channels: int = 16) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(channels)
        self.gamma = nn.Parameter(torch.full((channels, 1, 1), 0.1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.conv(x))
        return x + self.gamma * y * torch.erf(y)


def gated() -> nn.Module:
    """A stem and two gated blocks: the gate is an op convcost cannot map (see --allow-unknown)."""
    return nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), GatedBlock(), GatedBlock())
