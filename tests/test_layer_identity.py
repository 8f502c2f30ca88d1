"""Every kind compares, hashes and prints by its fields, and is frozen, as dataclasses would make it.

Kinds are declared with ``convcost.layer.kind`` and share ``Layer``'s one ``__eq__`` /
``__hash__`` / ``__repr__`` / ``__setattr__`` / ``__delattr__`` (generating them per class was
most of ``import convcost``): this pins that they behave as the generated ones did, for every kind
and every example of it.
"""

from __future__ import annotations

import dataclasses

import pytest

from convcost.layer import LAYER_TYPES, Layer
from tests.completeness import EXAMPLES, all_kinds


@pytest.mark.parametrize("kind", all_kinds(), ids=lambda kind: kind.__name__)
def test_a_kind_compares_hashes_and_prints_by_its_fields(kind: type[Layer]) -> None:
    for layer, _ in EXAMPLES[kind]:
        fields = dataclasses.fields(layer)
        twin = dataclasses.replace(layer)
        assert twin == layer and hash(twin) == hash(layer) and twin is not layer
        renamed = dataclasses.replace(layer, name=layer.name + "_other")
        assert renamed != layer
        shown = ", ".join(f"{f.name}={getattr(layer, f.name)!r}" for f in fields if f.repr)
        assert repr(layer) == f"{kind.__qualname__}({shown})"
        assert layer != (layer.name,) and layer != object()
        for f in fields:
            with pytest.raises(dataclasses.FrozenInstanceError):
                setattr(layer, f.name, getattr(layer, f.name))
            with pytest.raises(dataclasses.FrozenInstanceError):
                delattr(layer, f.name)
        assert dataclasses.replace(layer) == layer  # replace builds anew, as for a frozen dataclass


def test_kinds_leave_equality_and_freezing_to_layer() -> None:
    for kind in LAYER_TYPES.values():
        for method in ("__eq__", "__hash__", "__repr__", "__setattr__", "__delattr__"):
            assert method not in vars(kind), (kind.__name__, method)


def test_a_different_kind_with_the_same_fields_is_not_equal() -> None:
    from convcost.spec import GlobalAvgPool2D, GlobalMaxPool2D

    assert GlobalAvgPool2D(name="p") != GlobalMaxPool2D(name="p")
