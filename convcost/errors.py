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
    """A layer cannot be applied to the shape that reaches it (kernel larger than the map, ...)."""


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


class ToolRefusedError(ConvcostError):
    """A tool's framework cannot build the network (Keras refuses a strided dilated convolution)."""
