"""Every kind compares, hashes and prints by its fields, and is frozen, as dataclasses would make it.

Kinds are declared with ``convcost.layer.kind``, as records (``convcost.record``): they share one
``__eq__`` / ``__hash__`` / ``__repr__`` / ``__setattr__`` / ``__delattr__`` (generating them per
class was most of ``import convcost``): this pins that they behave as the generated ones did, for
every kind and every example of it. tests/test_record.py checks records against dataclasses.
"""

from __future__ import annotations

import dataclasses

import pytest

from convcost import record
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


def test_kinds_share_equality_and_freezing() -> None:
    shared = {
        "__eq__": record.shared_eq,
        "__hash__": record.shared_hash,
        "__repr__": record.shared_repr,
        "__setattr__": record.frozen_setattr,
        "__delattr__": record.frozen_delattr,
    }
    for kind in LAYER_TYPES.values():
        dataclasses.fields(kind)  # declares the kind (kinds are declared when first used)
        for name, method in shared.items():
            assert getattr(kind, name) is method, (kind.__name__, name)


def test_a_different_kind_with_the_same_fields_is_not_equal() -> None:
    from convcost.spec import GlobalAvgPool2D, GlobalMaxPool2D

    assert GlobalAvgPool2D(name="p") != GlobalMaxPool2D(name="p")
