"""docs/architecture.md stays true: every code block it quotes is in the file it names, the
registries it names exist, and no layer class is named in more than six interpreter modules."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from convcost.layer import LAYER_TYPES

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
QUOTE = re.compile(r"<!-- file: (?P<path>\S+) -->\n```python\n(?P<code>.*?)```", re.S)

#: modules that only re-export the layer classes (the public API), and the builders of the spec
#: itself (the zoo): naming a class there is no knowledge of it
RE_EXPORTS = {"convcost/__init__.py", "convcost/spec.py", "convcost/layers/__init__.py"}


def test_every_quoted_block_is_in_its_file() -> None:
    quotes = list(QUOTE.finditer(DOC.read_text()))
    assert len(quotes) >= 4
    for quote in quotes:
        source = (ROOT / quote["path"]).read_text()
        assert quote["code"] in source, f"{quote['path']} no longer holds:\n{quote['code']}"


def test_the_registries_the_doc_names_exist() -> None:
    from convcost.conventions import CONVENTIONS
    from convcost.interop import keras, torch
    from convcost.reference import layers

    for registry in (layers.KERNELS, torch.BUILDERS, keras.BUILDERS):
        assert set(LAYER_TYPES.values()) <= set(registry), set(LAYER_TYPES.values()) - set(registry)
    assert set(CONVENTIONS) >= {"paper", "keras", "torchinfo", "fvcore", "thop", "ptflops", "calflops"}


def _names_in_code(path: Path) -> set[str]:
    """Identifiers used in code (imports, names, attributes): not in strings, comments or docstrings."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[-1])
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
    return names


@pytest.mark.parametrize("kind", sorted(LAYER_TYPES))
def test_no_layer_class_is_named_in_more_than_six_modules(kind: str) -> None:
    modules = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "convcost").rglob("*.py")
        if "zoo" not in path.parts and str(path.relative_to(ROOT)) not in RE_EXPORTS and kind in _names_in_code(path)
    )
    assert len(modules) <= 6, modules
