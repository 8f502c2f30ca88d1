"""The model zoo: named builders that return a ``Model`` spec.

Each entry is a plain function; its keyword arguments (alpha, resolution, classes, ...) are what
``convcost table MODEL --alpha ...`` may set, read from its signature.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from convcost.errors import SpecError, UnknownModelError
from convcost.spec import Model
from convcost.zoo.fashion import alexnet8, inception10, lenet5, resnet18_fashion, vgg16_fashion
from convcost.zoo.imagenet import mobilenet_v2, resnet50, resnet50_torchvision, vgg16
from convcost.zoo.mobilenet import mobilenet_v1, mobilenet_v1_conv, mobilenet_v1_shallow
from convcost.zoo.seeds import mobilenet_v1_cifar, mobilenet_v1_mnist, separable_fashion

Builder = Callable[..., Model]


@dataclass(frozen=True)
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
        return {
            name: p.default for name, p in inspect.signature(self.build).parameters.items()
        }


ZOO: dict[str, ZooEntry] = {
    b.__name__: ZooEntry(b.__name__, b)
    for b in (
        mobilenet_v1,
        mobilenet_v1_conv,
        mobilenet_v1_shallow,
        mobilenet_v1_mnist,
        mobilenet_v1_cifar,
        separable_fashion,
        lenet5,
        alexnet8,
        vgg16_fashion,
        inception10,
        resnet18_fashion,
        vgg16,
        resnet50,
        resnet50_torchvision,
        mobilenet_v2,
    )
}


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
    "get_entry",
    "inception10",
    "lenet5",
    "mobilenet_v1",
    "mobilenet_v1_cifar",
    "mobilenet_v1_conv",
    "mobilenet_v1_mnist",
    "mobilenet_v1_shallow",
    "mobilenet_v2",
    "resnet18_fashion",
    "resnet50",
    "resnet50_torchvision",
    "separable_fashion",
    "vgg16",
    "vgg16_fashion",
]
