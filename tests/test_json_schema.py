"""docs/json.md is the JSON form of every command: each documented form is checked against the
command's real ``--format json`` output (no key missing, none undocumented, every type as written)."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import click
import pytest

from convcost.cli import cli, main

DOC = Path(__file__).resolve().parent.parent / "docs" / "json.md"

SCALARS = {"int": int, "float": float, "str": str, "bool": bool}


@dataclass
class Node:
    """An object's documented keys: each key's type expression and, for ``object``, its block."""

    keys: dict[str, tuple[str, Node | None]] = field(default_factory=dict)
    seen: bool = False  # validated at least once (a list of objects may be empty in one output)


def parse_forms(text: str) -> dict[str, Node]:
    forms = {}
    for name, block in re.findall(r"<!-- schema: (\w+) -->\n```text\n(.*?)```", text, re.S):
        lines = block.splitlines()
        node, rest = parse_block(lines, 0)
        assert not rest, f"{name}: badly indented line {rest[0]!r}"
        forms[name] = node
    return forms


def parse_block(lines: list[str], indent: int) -> tuple[Node, list[str]]:
    node = Node()
    while lines and len(lines[0]) - len(lines[0].lstrip()) == indent:
        key, _, expression = lines[0].strip().partition(": ")
        lines = lines[1:]
        child = None
        if "object" in expression:
            child, lines = parse_block(lines, indent + 2)
            assert child.keys, f"{key}: object without keys"
        node.keys[key] = (expression, child)
    return node, lines


def alternatives(expression: str) -> list[str]:
    """``A | [B | C]`` -> ['A', '[B | C]']: split at the top level only."""
    parts, depth, start = [], 0, 0
    for i, character in enumerate(expression):
        depth += character in "[{"
        depth -= character in "]}"
        if character == "|" and depth == 0:
            parts.append(expression[start:i].strip())
            start = i + 1
    return [*parts, expression[start:].strip()]


def check(value: object, expression: str, child: Node | None, where: str) -> None:
    errors = []
    for alternative in alternatives(expression):
        try:
            check_one(value, alternative, child, where)
            return
        except AssertionError as e:
            errors.append(str(e))
    raise AssertionError(f"{where}: {value!r:.80} is not {expression} ({'; '.join(errors)})")


def check_one(value: object, expression: str, child: Node | None, where: str) -> None:
    if expression == "null":
        assert value is None, f"{where}: not null"
    elif expression in SCALARS:
        # a bool is not an int in JSON; an int is not a float (a float field is always written with a point)
        assert type(value) is SCALARS[expression], f"{where}: not {expression}"
    elif expression == "object":
        assert isinstance(value, dict) and child is not None, f"{where}: not an object"
        check_object(value, child, where)
    elif expression.startswith("["):
        assert isinstance(value, list), f"{where}: not a list"
        for i, item in enumerate(value):
            check(item, expression[1:-1], child, f"{where}[{i}]")
    elif expression.startswith("{"):
        assert isinstance(value, dict), f"{where}: not an object"
        for key, item in value.items():
            check(item, expression[1:-1], child, f"{where}.{key}")
    else:
        raise AssertionError(f"{where}: unknown type {expression!r} in docs/json.md")


def check_object(value: dict[str, object], node: Node, where: str) -> None:
    node.seen = True
    assert list(value) == [k for k in value if k in node.keys], (
        f"{where}: undocumented keys {sorted(set(value) - set(node.keys))}"
    )
    missing = set(node.keys) - set(value)
    assert not missing, f"{where}: documented keys missing: {sorted(missing)}"
    for key, (expression, child) in node.keys.items():
        check(value[key], expression, child, f"{where}.{key}")


def unseen(node: Node, where: str) -> list[str]:
    found = [] if node.seen else [where]
    for key, (_, child) in node.keys.items():
        if child is not None:
            found += unseen(child, f"{where}.{key}")
    return found


#: each form's command lines, chosen so every documented object occurs in at least one output
SAMPLES = {
    "table": ["table mobilenet_v1", "table resnet50", "table lenet5 --dtype float16"],
    "roofline": ["roofline mobilenet_v1", "roofline lenet5 --device a100"],
    "compare": ["compare mobilenet_v1 mobilenet_v2", "compare mobilenet_v1 resnet50"],
    "sweep": ["sweep mobilenet_v1 --alpha 1,0.5 --resolution 224,128"],
    "verify": ["verify lenet5"],
    "explain": ["explain mobilenet_v1 conv_dw_7", "explain --kernel 3 --in 8 --out 16 --size 5 --stride 2"],
    "crosscheck": ["crosscheck lenet5 --against all"],
    "models": ["models"],
}


def json_commands() -> list[str]:
    """Every command whose --format (or --to) takes json."""
    assert isinstance(cli, click.Group)
    names = []
    for name, command in cli.commands.items():
        for param in command.params:
            if param.name == "fmt" and "json" in getattr(param.type, "choices", ()) and "--format" in param.opts:
                names.append(name)
    return sorted(names)


def test_every_json_command_has_a_documented_form() -> None:
    assert sorted(parse_forms(DOC.read_text())) == json_commands() == sorted(SAMPLES)
    # every command but export (spec files: docs/specfiles.md) and report (HTML) writes JSON
    assert set(cli.commands) - set(json_commands()) == {"export", "report"}  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_output_matches_the_documented_form(
    name: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    form = parse_forms(DOC.read_text())[name]
    monkeypatch.setitem(sys.modules, "thop", None)  # crosscheck: a skipped tool, so 'skipped' has an item
    for command in SAMPLES[name]:
        code = main([*command.split(), "--format", "json"])
        out, err = capsys.readouterr()
        assert code == 0, err
        document = json.loads(out)
        assert next(iter(document)) == "schema_version" and document["schema_version"] == 1
        check_object(document, form, command)
    assert unseen(form, name) == [], "add a sample command whose output has these"


def test_the_checker_catches_a_wrong_type_and_a_missing_key() -> None:
    form = parse_forms("<!-- schema: x -->\n```text\na: int\nb: [object]\n  c: str | null\n```\n")["x"]
    check_object({"a": 1, "b": [{"c": None}, {"c": "s"}]}, form, "x")
    for wrong in ({"a": True, "b": []}, {"a": 1}, {"a": 1, "b": [{"c": 2}]}, {"a": 1, "b": [], "d": 0}):
        with pytest.raises(AssertionError):
            check_object(wrong, form, "x")
