"""What a node read from a torch module carries for the tool conventions (plain data, no torch).

The PyTorch counting tools do not all count operations: torchinfo prices the modules that own
parameters, by class name; thop and ptflops hook module types they know by exact type; ptflops and
calflops also count the ``torch.nn.functional`` calls and tensor methods they patch, as they were
called. So ``from_torch`` keeps, on every node it makes, the facts those rules need: the module
calls the node stands for (`CalledModule`), the parameter tensors counted at it (`Parameter`) and the
patched functions called for it (`FunctionCall`), in one `TorchDetails` under the ``"torch"`` key
of the node's ``Source.details``. ``convcost.conventions.tools`` reads them (`torch_details`).

Shapes here are per sample: a tensor that carries the batch has it set to 1 and is marked
``batched``; a parameter keeps its shape. The module-counting tools' formulas are linear in the
batch (their source rules multiply by it); a patched function's count need not be (ptflops and
calflops price ``F.interpolate(size=...)`` without the batch), so those rules take the call at the
real batch (`FunctionCall.at`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from convcost.layer import Shape, Site
from convcost.record import record


@record
class TensorArg:
    """A tensor passed to a recorded function, by its shape (per sample when it carries the batch)."""

    shape: Shape
    batched: bool = False  #: it carries the batch: its first size is 1 here, the batch in the tool's run

    def at(self, batch: int) -> TensorArg:
        """The tensor as the tool saw it at ``batch`` samples."""
        return TensorArg((batch, *self.shape[1:]), True) if self.batched else self

    @property
    def numel(self) -> int:
        total = 1
        for d in self.shape:
            total *= d
        return total


@record
class Parameter:
    """One parameter tensor: its (qualified or attribute) name, size, and whether it is trained."""

    name: str
    numel: int
    trainable: bool


@record
class CalledModule:
    """One call of a registered module that a node stands for (the first node the call made).

    ``parameters`` are the module's own (``named_parameters(recurse=False)``); ``absorbed`` are the
    parameters of registered modules below it that were never called (torchinfo counts them in
    the nearest module that was); ``subtree`` counts ``module.parameters()`` (thop's count).
    ``input`` and ``output`` are the first tensor the call took and returned (``None``: none).
    """

    path: str  #: ``encoder.stages.0`` ("" is the root)
    cls: str  #: qualified class name, ``torch.nn.modules.conv.Conv2d``
    standard: bool  #: the class is defined in torch.nn (not a subclass or a custom module)
    base: str  #: the nearest torch.nn class in its MRO ("" if none)
    leaf: bool  #: the module has no child modules
    ancestors: tuple[str, ...]  #: qualified classes of the modules it is registered under, root first
    first_call: bool  #: the first call of this module object (a module called again shares weights)
    input: Shape | None
    output: Shape | None
    attributes: tuple[tuple[str, Any], ...]  #: the module's plain attributes (ints, floats, strings, ...)
    parameters: tuple[Parameter, ...]
    absorbed: tuple[Parameter, ...]
    subtree: int

    @property
    def name(self) -> str:
        """The class name (``Conv2d``): what torchinfo looks for "Conv" in."""
        return self.cls.rsplit(".", 1)[-1]

    @property
    def is_root(self) -> bool:
        return self.path == ""

    def attribute(self, name: str, default: Any = None) -> Any:
        return dict(self.attributes).get(name, default)

    def has_parameter(self, name: str) -> bool:
        return any(p.name == name for p in self.parameters)


@record
class FunctionCall:
    """A call of a function the tools patch (``F.relu``, ``torch.add``, ``Tensor.mul``), as it was made."""

    function: str  #: ``F.relu``, ``torch.add``, ``Tensor.add``
    arguments: tuple[Any, ...]  #: tensors as `TensorArg`; numbers, strings, None and tuples as they were
    keywords: tuple[tuple[str, Any], ...]

    def bind(self, *names: str) -> dict[str, Any]:
        """The arguments by the names of the function's parameters (``names``, in order)."""
        bound = dict(zip(names, self.arguments, strict=False))
        bound.update(self.keywords)
        return bound

    def at(self, batch: int) -> FunctionCall:
        """The call as the tool saw it at ``batch`` samples (tensors that carry the batch resized)."""

        def resized(value: Any) -> Any:
            if isinstance(value, TensorArg):
                return value.at(batch)
            if isinstance(value, tuple):
                return tuple(resized(v) for v in value)
            return value

        return FunctionCall(self.function, resized(self.arguments), tuple((k, resized(v)) for k, v in self.keywords))


@record
class TorchDetails:
    """Everything the tool conventions read off a node that ``from_torch`` made."""

    modules: tuple[CalledModule, ...]  #: the module calls this node stands for (usually one or none)
    tensors: tuple[Parameter, ...]  #: the parameter tensors counted here (each tensor once per model)
    functions: tuple[FunctionCall, ...]  #: the patched functions called for it
    training: bool = False  #: a batch norm that uses batch statistics in the module's own mode

    def trainable(self) -> int:
        return sum(p.numel for p in self.tensors if p.trainable)

    def frozen(self) -> int:
        return sum(p.numel for p in self.tensors if not p.trainable)

    def calls(self, *functions: str) -> Iterator[FunctionCall]:
        return (f for f in self.functions if f.function in functions)


def torch_details(site: Site) -> TorchDetails | None:
    """The `TorchDetails` of a node read from torch, or None (a node built in Python or read elsewhere)."""
    source = site.source
    if source is None or source.framework != "torch":
        return None
    details = source.detail("torch")
    return details if isinstance(details, TorchDetails) else None


__all__ = ["CalledModule", "FunctionCall", "Parameter", "TensorArg", "TorchDetails", "torch_details"]
