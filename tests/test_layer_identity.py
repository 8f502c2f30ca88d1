"""Every kind compares, hashes and prints by its fields, as dataclasses would generate it.

Kinds say ``eq=False, repr=False`` and inherit ``Layer``'s one ``__eq__`` / ``__hash__`` /
``__repr__`` (generating them per class was a third of ``import convcost``): this pins that they
behave as the generated ones did, for every kind and every example of it.
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


def test_kinds_leave_equality_to_layer() -> None:
    for kind in LAYER_TYPES.values():
        assert "__eq__" not in vars(kind) and "__repr__" not in vars(kind), kind.__name__


def test_a_different_kind_with_the_same_fields_is_not_equal() -> None:
    from convcost.spec import GlobalAvgPool2D, GlobalMaxPool2D

    assert GlobalAvgPool2D(name="p") != GlobalMaxPool2D(name="p")
