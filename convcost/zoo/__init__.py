"""The model zoo: named builders that return a ``Model`` spec.

Each entry is a plain function; its keyword arguments (alpha, resolution, classes, ...) are what
``convcost table MODEL --alpha ...`` may set, read from its signature.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from convcost.errors import SpecError, UnknownModelError
from convcost.record import record
from convcost.spec import Model
from convcost.zoo.mobilenet import mobilenet_v1, mobilenet_v1_conv, mobilenet_v1_shallow

Builder = Callable[..., Model]

#: every zoo entry and the module of convcost.zoo that defines it, in `convcost models` order.
#: Modules are imported when an entry is first used: the CLI answers for one model without
#: paying for the definitions of all the others.
MODULES = {
    "mobilenet_v1": "mobilenet",
    "mobilenet_v1_conv": "mobilenet",
    "mobilenet_v1_shallow": "mobilenet",
    "mobilenet_v1_mnist": "seeds",
    "mobilenet_v1_cifar": "seeds",
    "separable_fashion": "seeds",
    "lenet5": "fashion",
    "alexnet8": "fashion",
    "vgg16_fashion": "fashion",
    "inception10": "fashion",
    "resnet18_fashion": "fashion",
    "vgg16": "imagenet",
    "resnet50": "imagenet",
    "resnet50_torchvision": "imagenet",
    "mobilenet_v2": "imagenet",
    "efficientnet_b0": "efficientnet",
    "mobilenet_v3_small": "mobilenet_v3",
    "mobilenet_v3_large": "mobilenet_v3",
    "convnext_tiny": "convnext",
    "unet": "unet",
}


@record
class ZooEntry:
    name: str
    build: Builder

    @property
    def summary(self) -> str:
        """The first line of the builder's docstring."""
        return (self.build.__doc__ or "").strip().splitlines()[0]

    @property
    def arguments(self) -> dict[str, Any]:
        """Argument names and their defaults."""
        return {name: p.default for name, p in inspect.signature(self.build).parameters.items()}


class _Zoo(Mapping[str, ZooEntry]):
    """Name -> ZooEntry, importing a builder's module on first access."""

    def __getitem__(self, name: str) -> ZooEntry:
        module = importlib.import_module(f"convcost.zoo.{MODULES[name]}")
        return ZooEntry(name, getattr(module, name))

    def __iter__(self) -> Iterator[str]:
        return iter(MODULES)

    def __len__(self) -> int:
        return len(MODULES)


ZOO: Mapping[str, ZooEntry] = _Zoo()


def __getattr__(name: str) -> Builder:
    """``from convcost.zoo import lenet5`` without importing every zoo module up front."""
    if name in MODULES:
        return ZOO[name].build
    raise AttributeError(f"module 'convcost.zoo' has no attribute {name!r}")


def get_entry(name: str) -> ZooEntry:
    try:
        return ZOO[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(name, ZOO, n=1, cutoff=0.5)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise UnknownModelError(f"unknown model {name!r}{hint} (`convcost models` lists them)") from None


def build(name: str, **arguments: Any) -> Model:
    """Build zoo model ``name``; arguments it does not take are an error naming them."""
    entry = get_entry(name)
    accepted = entry.arguments
    for argument in arguments:
        if argument not in accepted:
            takes = ", ".join(accepted) or "no arguments"
            raise SpecError(f"model {name!r} takes no {argument!r} (it takes: {takes})")
    return entry.build(**arguments)


__all__ = [
    "ZOO",
    "ZooEntry",
    "alexnet8",
    "build",
    "convnext_tiny",
    "efficientnet_b0",
    "get_entry",
    "inception10",
    "lenet5",
    "mobilenet_v1",
    "mobilenet_v1_cifar",
    "mobilenet_v1_conv",
    "mobilenet_v1_mnist",
    "mobilenet_v1_shallow",
    "mobilenet_v2",
    "mobilenet_v3_large",
    "mobilenet_v3_small",
    "resnet18_fashion",
    "resnet50",
    "resnet50_torchvision",
    "separable_fashion",
    "unet",
    "vgg16",
    "vgg16_fashion",
]
