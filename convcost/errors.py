"""The one exception family every front door raises.

The CLI turns any ``ConvcostError`` into one line on stderr and exit status 2, so each message
must name what is wrong and where (model, layer, field) on its own.
"""

from __future__ import annotations


class ConvcostError(Exception):
    """Base class: a problem with the user's input, reported as one clear line."""


class SpecError(ConvcostError, ValueError):
    """A layer or model description is malformed (bad field value, duplicate name, ...)."""


class SpecFileError(SpecError):
    """A spec file (TOML/JSON) cannot be read: the message names the file, layer, field and line."""


class GeometryError(ConvcostError, ValueError):
    """A layer cannot be applied to the shape that reaches it (kernel larger than the map, ...).

    ``node`` names the graph node at fault when it is known (a spec-file reader adds its line).
    """

    def __init__(self, message: str, node: str = "") -> None:
        super().__init__(message)
        self.node = node


class UnknownModelError(ConvcostError, KeyError):
    """A model name that is not in the zoo."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownConventionError(ConvcostError, KeyError):
    """A counting convention that convcost does not know."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class MissingDependencyError(ConvcostError, ImportError):
    """An optional extra (numpy, torch, keras, ...) is needed but not installed."""


class UnsupportedLayerError(ConvcostError, ValueError):
    """A framework layer, op or config entry that convcost cannot represent (named in the message)."""


class GraphError(SpecError):
    """A graph that cannot be a network: an unknown input name, a cycle, a duplicate or unused node.

    ``node`` names the node at fault, so a spec-file reader can add the file position.
    """

    def __init__(self, message: str, node: str = "") -> None:
        super().__init__(message)
        self.node = node


class InternalError(Exception):
    """A bug in convcost (a missing rule, a kernel that miscounts): never the user's mistake.

    Not a ``ConvcostError``: the CLI reports it as internal (its own exit status and a request for a
    bug report), not as bad input.
    """


class MissingRuleError(InternalError):
    """An interpreter (a convention, the reference, a builder) has no rule for a layer kind."""


class ToolRefusedError(ConvcostError):
    """A tool's framework cannot build the network (Keras refuses a strided dilated convolution)."""
