"""Shape inference over a graph: every node's input and output shapes, per sample, channels-first.

Each kind states its own shape rule (``Layer.output_shape``); this module walks the graph in
topological order and names the node (by its path) in any ``GeometryError``. The sliding-window
arithmetic lives in ``convcost.geometry`` (re-exported here).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from convcost.errors import GeometryError
from convcost.geometry import explicit_padding, same_padding, shape_listing, window_output
from convcost.graph import Graph, Node
from convcost.layer import Layer, Shape, Site

if TYPE_CHECKING:
    from convcost.model import Model

__all__ = ["ShapedNode", "explicit_padding", "infer_shapes", "output_shape", "same_padding", "window_output"]


class ShapedNode(NamedTuple):
    """A node and where it is applied (its input shapes and output shape)."""

    node: Node
    site: Site

    @property
    def path(self) -> str:
        return self.node.name

    @property
    def layer(self) -> Layer:
        return self.node.layer

    @property
    def input(self) -> Shape:
        return self.site.inputs[0] if self.site.inputs else ()

    @property
    def output(self) -> Shape:
        return self.site.output


def output_shape(layer: Layer, *inputs: Shape) -> Shape:
    """The shape one sample has after ``layer`` applied to ``inputs``."""
    return layer.output_shape(tuple(inputs))


def infer_shapes(network: Graph | Model) -> list[ShapedNode]:
    """Every node with its site, in topological order; a ``GeometryError`` names the node by its path."""
    graph = network if isinstance(network, Graph) else network.graph
    shapes: dict[str, Shape] = {i.name: i.shape for i in graph.inputs}
    shaped: list[ShapedNode] = []
    for node in graph.nodes:
        inputs = tuple(shapes[name] for name in node.inputs)
        try:
            out = node.layer.output_shape(inputs)
        except GeometryError as e:
            raise _at_node(e, node, inputs) from None
        shapes[node.name] = out
        shaped.append(ShapedNode(node, Site(inputs, out, node.source)))
    _check_shared_weights(graph, shaped)
    return shaped


def _check_shared_weights(graph: Graph, shaped: list[ShapedNode]) -> None:
    """A node that shares another's weights must need weights of the same shapes (the same input channels)."""
    sites = {s.path: s for s in shaped}
    for s in shaped:
        if s.node.shares:
            owner = sites[s.node.shares]
            ours = [w.shape for w in s.layer.weights(s.site)]
            theirs = [w.shape for w in owner.layer.weights(owner.site)]
            if ours != theirs:
                raise GeometryError(
                    f"layer '{s.path}': shares the weights of '{owner.path}' but needs weights of shapes "
                    f"{[list(w) for w in ours]}, not {[list(w) for w in theirs]}",
                    node=s.path,
                )


def _at_node(error: GeometryError, node: Node, inputs: tuple[Shape, ...]) -> GeometryError:
    """The error naming the layer by its path: branches often reuse names (every Inception branch has
    a 'conv'), so the name alone does not say which one. A merge's list of shapes names its inputs."""
    named = f"layer '{node.layer.name}'"
    message = str(error)
    if message.startswith(named):
        message = f"layer '{node.name}'{message[len(named) :]}"
    shapes = shape_listing(inputs)
    if len(inputs) > 1 and message.endswith(shapes):
        message = message[: -len(shapes)] + shape_listing(inputs, node.inputs)
    return GeometryError(message, node=node.name)
