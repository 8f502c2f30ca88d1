"""``Sequential`` and ``Parallel``: builders that write a graph the way papers draw networks.

A ``Sequential`` runs its elements one after another; a ``Parallel`` runs branches on the same
input and merges them by ``'add'`` (residual), ``'concat'`` (Inception) or ``'multiply'``
(squeeze-excite: the input times a gate computed from it); blocks nest. ``lower``
turns such a tree into the graph every interpreter reads: a leaf at ``block/branch/layer`` becomes
the node of that name, a ``Parallel``'s merge the node named after the ``Parallel`` itself, and an
empty branch is the identity (the merge reads the branch's input).

``wiring`` names explicit inputs for elements by path, so a tree may also hold cross edges that
are not series-parallel (a layer feeding two later merges, a three-way add that includes the
stem): ``{"head/add": ("stem", "block1", "block2")}``. Without an entry an element reads the
previous element's output, and the first one the block's input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field, replace
from typing import ClassVar

from convcost.errors import GraphError, SpecError
from convcost.graph import Graph, GraphBuilder, Input
from convcost.layer import Layer, describe
from convcost.layers import Add, Concat, Multiply
from convcost.record import record

#: blocks nest at most this deep (real networks nest a few levels; every reader keeps this limit)
MAX_DEPTH = 64

MERGES: dict[str, type[Layer]] = {"add": Add, "concat": Concat, "multiply": Multiply}

#: explicit inputs of elements of a tree, by the element's path
Wiring = Mapping[str, tuple[str, ...]]


@record
class Block:
    """A container of layers: not a layer kind, a way to write part of a graph."""

    name: str = field(default="", kw_only=True)
    default_prefix: ClassVar[str] = "block"

    @property
    def depth(self) -> int:
        """How many levels of blocks this one holds, itself included."""
        raise NotImplementedError


Element = Layer | Block


@record
class Sequential(Block):
    """Layers applied one after another; may nest (a block). Names are unique within the block."""

    layers: tuple[Element, ...] = ()
    default_prefix: ClassVar[str] = "sequential"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise SpecError(f"Sequential: name must be a string, got {self.name!r}")
        layers = tuple(self.layers)
        for layer in layers:
            if not isinstance(layer, (Layer, Block)):
                raise SpecError(f"{describe(self)}: expected layers, got {layer!r}")
        object.__setattr__(self, "layers", name_elements(layers))
        _check_names(self.layers, self)
        _check_depth(self)

    @property
    def depth(self) -> int:
        return 1 + max((e.depth for e in self.layers if isinstance(e, Block)), default=0)


@record
class Parallel(Block):
    """Branches that all read the same input, merged by ``'add'`` (residual), ``'concat'`` (Inception)
    or ``'multiply'`` (squeeze-excite, the gate broadcast over the map).

    An empty branch is the identity: ``Parallel((Sequential(body), Sequential()), merge="add")`` is
    a residual block whose shortcut holds no layers. Rows are reported as
    ``<parallel>/<branch>/<layer>`` and the merge itself as one row named after the ``Parallel``.
    """

    branches: tuple[Sequential, ...] = ()
    merge: str = "add"
    default_prefix: ClassVar[str] = "parallel"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise SpecError(f"Parallel: name must be a string, got {self.name!r}")
        if self.merge not in MERGES:
            raise SpecError(f"{describe(self)}: merge must be 'add', 'concat' or 'multiply', got {self.merge!r}")
        branches = tuple(b if isinstance(b, Sequential) else Sequential(layers=tuple(b)) for b in self.branches)
        if len(branches) < 2:
            raise SpecError(f"{describe(self)}: needs at least two branches, got {len(branches)}")
        named = tuple(b if b.name else replace(b, name=f"branch_{i}") for i, b in enumerate(branches))
        object.__setattr__(self, "branches", named)
        _check_names(self.branches, self)
        _check_depth(self)

    @property
    def depth(self) -> int:
        return 1 + max(b.depth for b in self.branches)

    def merge_layer(self) -> Layer:
        """The layer of the node that stands for the merge."""
        return MERGES[self.merge](name=self.name)


def name_elements(layers: tuple[Element, ...]) -> tuple[Element, ...]:
    """Give unnamed layers Keras-style names (conv2d, conv2d_1, ...) that do not clash."""
    taken = {layer.name for layer in layers if layer.name}
    counters: dict[str, int] = {}
    named: list[Element] = []
    for layer in layers:
        if not layer.name:
            prefix = layer.default_prefix
            while True:
                n = counters.get(prefix, 0)
                counters[prefix] = n + 1
                candidate = prefix if n == 0 else f"{prefix}_{n}"
                if candidate not in taken:
                    break
            taken.add(candidate)
            layer = replace(layer, name=candidate)
        named.append(layer)
    return tuple(named)


def _check_names(elements: Sequence[Element], container: Block) -> None:
    seen: set[str] = set()
    for element in elements:
        if element.name in seen:
            raise SpecError(f"{describe(container)}: duplicate layer name {element.name!r}")
        seen.add(element.name)


def _check_depth(block: Block) -> None:
    if block.depth > MAX_DEPTH:
        raise SpecError(f"{describe(block)}: blocks nested deeper than {MAX_DEPTH} levels")


def lower(
    body: Sequential,
    inputs: Sequence[Input],
    wiring: Wiring | None = None,
    outputs: Sequence[str] = (),
    shared: Mapping[str, str] | None = None,
) -> Graph:
    """The graph of ``body`` reading ``inputs`` (its first element reads the first of them; the
    others are reached through ``wiring``).

    A name may hold '/' (a graph written flat names its nodes by their paths): every full path
    must still be unique, which the graph checks. ``shared`` maps a layer's path to the node whose
    weights it uses (the same layer called again).
    """
    wiring = dict(wiring or {})
    sharing = dict(shared or {})
    builder = GraphBuilder()
    for spec in inputs:
        builder.input(spec.name, spec.shape)
    ends = _lower(body, (inputs[0].name,), "", builder, wiring, sharing)
    for given, what in ((wiring, "inputs are given"), (sharing, "shared weights are given")):
        if given:
            path = next(iter(given))
            raise GraphError(f"{what} for '{path}', which is not a layer or block of the model", path)
    return builder.graph(outputs or ends)


def _lower(
    block: Sequential,
    current: tuple[str, ...],
    prefix: str,
    builder: GraphBuilder,
    wiring: dict[str, tuple[str, ...]],
    sharing: dict[str, str],
) -> tuple[str, ...]:
    """Add ``block``'s nodes reading ``current``; returns the tensors it ends with (recursion is bounded
    by ``MAX_DEPTH``)."""
    for element in block.layers:
        path = prefix + element.name
        reads = wiring.pop(path, current)
        if isinstance(element, Sequential):
            current = _lower(element, reads, path + "/", builder, wiring, sharing)
        elif isinstance(element, Parallel):
            ends: list[str] = []
            for branch in element.branches:
                ends += _lower(branch, reads, f"{path}/{branch.name}/", builder, wiring, sharing)
            current = (builder.add(path, element.merge_layer(), ends),)
        elif isinstance(element, Layer):
            current = (builder.add(path, element, reads, shares=sharing.pop(path, "")),)
    return current
