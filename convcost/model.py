"""``Model``: a network (a graph, or the tree of blocks it was written as) and the batch it is costed for."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import field, replace
from functools import cached_property
from typing import TYPE_CHECKING

from convcost.blocks import Sequential, lower
from convcost.errors import SpecError
from convcost.graph import INPUT, Graph, Input
from convcost.layer import Layer, Shape, is_int
from convcost.record import record

if TYPE_CHECKING:
    from convcost.shapes import ShapedNode


@record
class Model:
    """A network and the input it is costed for.

    ``body`` is a ``Sequential`` (or a list of layers and blocks), lowered to a graph that reads one
    input of shape ``input`` (``(C, H, W)``, ``(C, L)`` or ``(features,)``), with ``wiring`` naming
    explicit inputs of elements by path; or a ``Graph`` (``Model.from_graph``), whose first input's
    shape is ``input``. ``graph`` is what every interpreter reads; the tree is kept for export.
    """

    name: str
    input: Shape
    # two models are equal when their graphs are: the tree is how one was written, not what it is
    body: Sequential | Graph = field(compare=False)
    batch: int = 1
    wiring: tuple[tuple[str, tuple[str, ...]], ...] = field(default=(), compare=False)
    #: the model's outputs when they are not the tree's last tensor (several, or a branch's end)
    outputs: tuple[str, ...] = field(default=(), compare=False)
    #: the tree's inputs by name, when there are several or the one is not called ``input``
    #: (the first's shape is ``input``; the others are reached through ``wiring``)
    named_inputs: tuple[Input, ...] = field(default=(), compare=False)
    #: layers of the tree that use another node's weights (the same layer called again), by path
    shared: tuple[tuple[str, str], ...] = field(default=(), compare=False)
    #: what the reader of a file wants the report to say about it ("BatchNorm was folded into ...")
    notes: tuple[str, ...] = field(default=(), compare=False)
    graph: Graph = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SpecError(f"model name must be a non-empty string, got {self.name!r}")
        if not _is_shape(self.input):
            raise SpecError(f"model '{self.name}': input must be positive integers (C, H, W), got {self.input!r}")
        object.__setattr__(self, "input", tuple(self.input))
        if not is_int(self.batch) or self.batch < 1:
            raise SpecError(f"model '{self.name}': batch must be a positive integer, got {self.batch!r}")
        if not isinstance(self.notes, (tuple, list)) or not all(isinstance(n, str) for n in self.notes):
            raise SpecError(f"model '{self.name}': notes must be strings, got {self.notes!r}")
        object.__setattr__(self, "notes", tuple(self.notes))
        body = self.body
        if isinstance(body, Graph):
            if self.wiring or self.outputs or self.named_inputs or self.shared:
                raise SpecError(f"model '{self.name}': wiring, outputs and named inputs apply to a tree, not a graph")
            if not body.inputs or body.inputs[0].shape != self.input:
                first = list(body.inputs[0].shape) if body.inputs else "none"
                raise SpecError(
                    f"model '{self.name}': input {list(self.input)} is not the graph's first input ({first})"
                )
            object.__setattr__(self, "graph", body)
            return
        if not isinstance(body, Sequential):
            body = Sequential(layers=tuple(body))
            object.__setattr__(self, "body", body)
        wiring = dict(self.wiring.items() if isinstance(self.wiring, Mapping) else self.wiring)
        object.__setattr__(self, "wiring", tuple((path, tuple(reads)) for path, reads in wiring.items()))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        inputs = tuple(self.named_inputs) or (Input(INPUT, self.input),)
        if inputs[0].shape != self.input:
            raise SpecError(f"model '{self.name}': input {list(self.input)} is not its first input's shape")
        object.__setattr__(self, "named_inputs", tuple(self.named_inputs))
        object.__setattr__(self, "shared", tuple(self.shared))
        object.__setattr__(self, "graph", lower(body, inputs, dict(self.wiring), self.outputs, dict(self.shared)))

    @classmethod
    def from_graph(cls, name: str, graph: Graph, batch: int = 1, notes: tuple[str, ...] = ()) -> Model:
        if not graph.inputs:
            raise SpecError(f"model '{name}': the graph has no inputs")
        return cls(name, graph.inputs[0].shape, graph, batch, notes=notes)

    @property
    def inputs(self) -> tuple[Input, ...]:
        return self.graph.inputs

    @property
    def tree(self) -> Sequential | None:
        """The tree of blocks the model was written as, or None for a model made as a graph."""
        return self.body if isinstance(self.body, Sequential) else None

    def with_batch(self, batch: int) -> Model:
        return replace(self, batch=batch)

    def layers(self) -> Iterator[tuple[str, Layer]]:
        """Every node's path and layer, in topological order."""
        return ((node.name, node.layer) for node in self.graph.nodes)

    @cached_property
    def shaped(self) -> tuple[ShapedNode, ...]:
        """Every node with its input and output shapes (worked out once: a model never changes)."""
        from convcost.shapes import infer_shapes

        return tuple(infer_shapes(self.graph))


def _is_shape(shape: object) -> bool:
    return isinstance(shape, (tuple, list)) and bool(shape) and all(is_int(d) and d > 0 for d in shape)
