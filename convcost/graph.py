"""A network is a directed acyclic graph of nodes: each a frozen layer plus the names of its inputs.

Node names are hierarchical paths (``block3/dw``, a torch module path ``layer1/0/conv1``): the
report nests rows by them and ``--depth`` folds them. Any tensor may feed any number of later
nodes, merges take two or more inputs, and a graph may have several inputs and outputs.

``Graph`` validates on construction and keeps its nodes in topological order (the order given,
wherever it is one). Every reader (spec files, Keras, ONNX, torch) and the ``Sequential`` /
``Parallel`` builders make graphs through ``GraphBuilder``: there is one way to build a graph.
Nothing here recurses, so no depth of nesting can exhaust the stack.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import replace
from functools import cached_property

from convcost.errors import GraphError
from convcost.layer import Layer, Shape, Source, is_int
from convcost.record import record

#: the name of a model's only input when none is given (a ``Sequential`` body reads it)
INPUT = "input"


@record
class Input:
    """A model input: its name (what nodes list in their ``inputs``) and its shape per sample."""

    name: str
    shape: Shape

    def __post_init__(self) -> None:
        shape = self.shape
        if not isinstance(shape, (tuple, list)) or not shape or not all(is_int(d) and d > 0 for d in shape):
            raise GraphError(f"input '{self.name}': its shape must be positive integers, got {shape!r}", self.name)
        object.__setattr__(self, "shape", tuple(shape))


@record(eq=False)
class Node:
    """A layer applied to the tensors named in ``inputs`` (node or model-input names).

    ``shares`` names the node whose weights this one uses (a shared layer, one module called twice):
    its work counts, its weights do not count again. ``source`` records the framework object a
    reader made the node from (tool conventions that count by module read it); nodes built in
    Python or from a spec file have none. Two nodes are equal when their names, inputs, sharing and
    layers are, the layers' own ``name`` aside: in a graph the node's name is the one that counts (a
    tree names a layer by its leaf, a flat file by its path).
    """

    name: str
    layer: Layer
    inputs: tuple[str, ...]
    source: Source | None = None
    shares: str = ""

    def _key(self) -> tuple[object, ...]:
        return (self.name, self.inputs, self.shares, replace(self.layer, name=""))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Node) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((self.name, self.inputs, type(self.layer)))

    @property
    def leaf(self) -> str:
        """The last component of the path (``dw`` of ``block3/dw``)."""
        return self.name.rsplit("/", 1)[-1]


def check_name(name: object, what: str) -> str:
    """A node or input name: a non-empty string whose path components are non-empty."""
    if not isinstance(name, str) or not name:
        raise GraphError(f"{what} name must be a non-empty string, got {name!r}")
    if any(not part for part in name.split("/")):
        raise GraphError(f"{what} '{name}': an empty component in its path (a leading, trailing or double '/')", name)
    return name


@record
class Graph:
    """Inputs, nodes in topological order, and the names of the outputs (totals cover every node).

    Refused, naming the node: a duplicate name, an input name nothing defines, a wrong number of
    inputs for the layer, a cycle, a node whose output nothing reads unless it is an output, an
    unknown output.
    """

    inputs: tuple[Input, ...]
    nodes: tuple[Node, ...]
    outputs: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        object.__setattr__(self, "nodes", _topological(tuple(self.nodes), {i.name for i in self.inputs}))
        self._check_used()
        self._check_sharing()

    def _check_sharing(self) -> None:
        """A node shares the weights of another node with the same layer (a layer called again)."""
        by_name = self.by_name
        for node in self.nodes:
            if not node.shares:
                continue
            owner = by_name.get(node.shares)
            if owner is None or owner is node or owner.shares:
                raise GraphError(
                    f"node '{node.name}': shares the weights of '{node.shares}', "
                    "which is not another node that owns them",
                    node.name,
                )
            if replace(owner.layer, name="") != replace(node.layer, name=""):
                raise GraphError(
                    f"node '{node.name}': shares the weights of '{node.shares}', a different layer "
                    f"({type(owner.layer).__name__} with other fields)",
                    node.name,
                )

    def _check_used(self) -> None:
        known = {i.name for i in self.inputs} | {n.name for n in self.nodes}
        for name in self.outputs:
            if name not in known:
                raise GraphError(f"output '{name}' is not a node or input of the model", name)
        read = {name for node in self.nodes for name in node.inputs} | set(self.outputs)
        for node in self.nodes:
            if node.name not in read:
                raise GraphError(
                    f"node '{node.name}': nothing reads its output (declare it an output of the model, or remove it)",
                    node.name,
                )
        for i in self.inputs:
            if i.name not in read:
                raise GraphError(f"input '{i.name}': no node reads it", i.name)

    @cached_property
    def consumers(self) -> dict[str, tuple[str, ...]]:
        """For every tensor (input or node), the nodes that read it, in order (once each)."""
        readers: dict[str, list[str]] = {i.name: [] for i in self.inputs}
        readers.update((n.name, []) for n in self.nodes)
        for node in self.nodes:
            for name in dict.fromkeys(node.inputs):
                readers[name].append(node.name)
        return {name: tuple(users) for name, users in readers.items()}

    @cached_property
    def by_name(self) -> dict[str, Node]:
        return {node.name: node for node in self.nodes}


def _topological(nodes: tuple[Node, ...], inputs: set[str]) -> tuple[Node, ...]:
    """``nodes`` in an order where every node follows its inputs: the given order wherever it is one.

    Kahn's algorithm, always taking the earliest-given ready node; names are checked on the way.
    """
    index: dict[str, int] = {}
    for name in inputs:
        check_name(name, "input")
    for i, node in enumerate(nodes):
        check_name(node.name, "node")
        if node.name in index or node.name in inputs:
            raise GraphError(f"node '{node.name}': the name is used twice", node.name)
        index[node.name] = i
    waiting = [0] * len(nodes)
    readers: list[list[int]] = [[] for _ in nodes]
    for i, node in enumerate(nodes):
        _check_arity(node)
        for name in dict.fromkeys(node.inputs):
            if name in inputs:
                continue
            if name not in index:
                raise GraphError(f"node '{node.name}': input '{name}' is not a node or input of the model", node.name)
            waiting[i] += 1
            readers[index[name]].append(i)
    ready = [i for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for reader in readers[i]:
            waiting[reader] -= 1
            if waiting[reader] == 0:
                heapq.heappush(ready, reader)
    if len(order) < len(nodes):
        stuck = [nodes[i].name for i, count in enumerate(waiting) if count > 0]
        shown = ", ".join(f"'{name}'" for name in stuck[:5]) + (f" and {len(stuck) - 5} more" if len(stuck) > 5 else "")
        raise GraphError(f"node '{stuck[0]}': the graph has a cycle through {shown}", stuck[0])
    if order == list(range(len(nodes))):
        return nodes
    return tuple(nodes[i] for i in order)


def _check_arity(node: Node) -> None:
    layer, n = node.layer, len(node.inputs)
    least, most = layer.min_inputs, layer.max_inputs
    if n < least or (most is not None and n > most):
        wanted = f"{least} input" + ("s" if least != 1 else "") if most == least else f"{least} or more inputs"
        raise GraphError(f"node '{node.name}': {type(layer).__name__} takes {wanted}, got {n}", node.name)


class GraphBuilder:
    """Collects inputs and nodes, then makes the ``Graph``: how every reader and builder makes one."""

    def __init__(self) -> None:
        self.inputs: list[Input] = []
        self.nodes: list[Node] = []
        self.names: set[str] = set()

    def input(self, name: str, shape: Shape) -> str:
        self.inputs.append(Input(self._claim(name, "input"), shape))
        return name

    def add(
        self, name: str, layer: Layer, inputs: Sequence[str], source: Source | None = None, shares: str = ""
    ) -> str:
        """Add ``layer`` reading ``inputs`` as node ``name``; returns the name (the tensor it makes).

        ``shares``: the node whose weights it uses (the same layer called again)."""
        self.nodes.append(Node(self._claim(name, "node"), layer, tuple(inputs), source, shares))
        return name

    def unique(self, name: str) -> str:
        """``name``, or ``name_1``, ``name_2``, ... when taken (a module called several times)."""
        if name not in self.names:
            return name
        n = 1
        while f"{name}_{n}" in self.names:
            n += 1
        return f"{name}_{n}"

    def graph(self, outputs: Iterable[str]) -> Graph:
        return Graph(tuple(self.inputs), tuple(self.nodes), tuple(outputs))

    def _claim(self, name: str, what: str) -> str:
        check_name(name, what)
        if name in self.names:
            raise GraphError(f"{what} '{name}': the name is used twice", name)
        self.names.add(name)
        return name
