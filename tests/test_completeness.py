"""The completeness contract: every layer kind has every interpreter, and the check can fail.

Each kind is taken through shapes, the seven conventions, FLOPs, the NumPy reference, to_torch,
to_keras, the spec-file round trip and the readers (tests/completeness.py says how). A gap fails
naming the kind and the interpreter.
"""

from __future__ import annotations

import dataclasses

import pytest

from convcost.conventions import CONVENTIONS
from convcost.layer import LAYER_TYPES
from convcost.reference import layers as reference_layers
from convcost.spec import Conv2D, Dense
from tests.completeness import EXAMPLES, all_kinds, gaps


def test_every_kind_has_an_example() -> None:
    missing = [name for name, kind in LAYER_TYPES.items() if kind not in EXAMPLES]
    assert missing == [], f"add examples to tests/completeness.py EXAMPLES for {missing}"


@pytest.mark.parametrize("kind", all_kinds(), ids=lambda kind: kind.__name__)
def test_every_interpreter_knows_every_kind(kind: type) -> None:
    found = gaps(kind)
    assert found == [], "\n".join(found)


def test_a_removed_convention_rule_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    thop = CONVENTIONS["thop"]
    rules = {kind: rule for kind, rule in thop.rules.items() if kind is not Conv2D}
    monkeypatch.setitem(CONVENTIONS, "thop", dataclasses.replace(thop, rules=rules))
    found = gaps(Conv2D, lambda interpreter: interpreter == "thop")
    assert found == ["Conv2D: thop: missing (convention 'thop' has no rule for Conv2D)"]


def test_a_removed_reference_kernel_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(reference_layers.KERNELS, Dense)
    found = gaps(Dense, lambda interpreter: interpreter == "reference")
    assert found == ["Dense: reference: missing (the reference has no kernel for Dense)"]


def test_a_wrong_declaration_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not only absence: a declared multiply-add count the reference does not perform is a gap too."""
    right = Dense.macs
    monkeypatch.setattr(Dense, "macs", lambda self, site: right(self, site) + 1)
    found = gaps(Dense, lambda interpreter: interpreter == "reference")
    assert len(found) == 1 and found[0].startswith("Dense: reference: AssertionError")
