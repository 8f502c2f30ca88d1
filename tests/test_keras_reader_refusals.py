"""Keras configs and archives a careless or hostile user brings: each refused in one line naming
the layer (or the file), never dropped silently, never a traceback, a hang or unbounded memory.

The configs are written here by hand, in the form Keras 3's ``to_json()`` writes (no Keras needed).
"""

from __future__ import annotations

import json
import os
import struct
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from convcost import analyze
from convcost.blocks import MAX_DEPTH
from convcost.errors import ConvcostError, SpecError
from convcost.interop import keras_files
from convcost.interop.keras_reader import from_keras, from_keras_json, keras_archive_file
from convcost.loading import load


def tensor(layer: str, node: int = 0, index: int = 0) -> dict[str, Any]:
    return {"class_name": "__keras_tensor__", "config": {"shape": None, "keras_history": [layer, node, index]}}


def entry(class_name: str, name: str, calls: list[list[Any]], **config: Any) -> dict[str, Any]:
    """A layer entry; each call is its list of positional arguments (tensors)."""
    return {
        "module": "keras.layers",
        "class_name": class_name,
        "config": {"name": name, "trainable": True, **config},
        "name": name,
        "inbound_nodes": [{"args": args, "kwargs": {}} for args in calls],
    }


def image_input(name: str = "in", shape: list[Any] | None = None) -> dict[str, Any]:
    return {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {"batch_shape": shape or [None, 8, 8, 3], "name": name},
        "name": name,
        "inbound_nodes": [],
    }


def functional(layers: list[dict[str, Any]], outputs: Any, inputs: Any = None, name: str = "m") -> dict[str, Any]:
    return {
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {
            "name": name,
            "trainable": True,
            "layers": layers,
            "input_layers": inputs or [["in", 0, 0]],
            "output_layers": outputs,
        },
    }


def conv(name: str, reads: str, node: int = 0) -> dict[str, Any]:
    return entry("Conv2D", name, [[tensor(reads, node)]], filters=3, kernel_size=[3, 3], padding="same")


def read(document: dict[str, Any]) -> Any:
    return from_keras_json(json.dumps(document), source="model.json")


def refused(document: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as error:
        read(document)
    message = str(error.value)
    assert message.startswith("model.json: ") and "\n" not in message
    return message


def test_a_well_formed_graph_reads() -> None:
    model = read(functional([image_input(), conv("a", "in"), conv("b", "a")], [["b", 0, 0]]))
    assert [name for name, _ in model.layers()] == ["a", "b"]


def test_a_layer_never_called_is_refused_by_name() -> None:
    orphan = entry("Dense", "orphan", [], units=4)
    message = refused(functional([image_input(), conv("a", "in"), orphan], [["a", 0, 0]]))
    assert message == "model.json: the model: layers never called (no inbound nodes): 'orphan'"


def test_a_layer_reading_itself_is_refused_by_name() -> None:
    message = refused(functional([image_input(), conv("a", "in"), conv("loop", "loop")], [["a", 0, 0], ["loop", 0, 0]]))
    assert "layers not reached from its inputs (a layer reading itself, or a cycle): 'loop'" in message


def test_a_two_layer_cycle_is_refused_naming_both() -> None:
    layers = [image_input(), conv("a", "in"), conv("x", "y"), conv("y", "x")]
    message = refused(functional(layers, [["a", 0, 0], ["y", 0, 0]]))
    assert message.endswith("(a layer reading itself, or a cycle): 'x', 'y'")


def test_a_cycle_behind_a_reachable_layer_is_refused() -> None:
    """'join' reads the input and the cycle: it is not reached either, and says so."""
    join = entry("Add", "join", [[[tensor("a"), tensor("y")]]])
    layers = [image_input(), conv("a", "in"), conv("x", "y"), conv("y", "x"), join]
    assert refused(functional(layers, [["join", 0, 0]])).endswith("'x', 'y', 'join'")


def test_a_layer_nothing_reads_is_refused_by_name() -> None:
    layers = [image_input(), conv("a", "in"), conv("dead", "in"), conv("b", "a")]
    message = refused(functional(layers, [["b", 0, 0]]))
    assert message == "model.json: the model: nothing reads the output of 'dead', and it is not an output of the model"


def test_a_layer_reading_a_missing_layer_is_refused() -> None:
    message = refused(functional([image_input(), conv("a", "ghost")], [["a", 0, 0]]))
    assert message == "model.json: layer 'a' reads 'ghost', which is not in the model"


@pytest.mark.parametrize(
    "nodes, needle",
    [
        (3, "'inbound_nodes' is not a list"),
        ([3], "call 1 is 3, not a list or an object"),
        ([{"args": 3}], "call 1 has args 3"),
        ([{"args": [{"class_name": "__keras_tensor__", "config": {}}]}], "reads None, not a [layer, node, tensor]"),
        ([{"args": [{"class_name": "__keras_tensor__", "config": 7}]}], "reads None, not a [layer, node, tensor]"),
        ([[["in"]]], "reads ['in'], not a [layer, node, tensor]"),
        ([[["in", "0", 0]]], "reads ['in', '0', 0], not a [layer, node, tensor]"),
        ([{"args": [tensor("in", 5)]}], "reads call 5 of the input 'in'"),
        ([{"args": [tensor("in", 0, 2)]}], "reads call 0 of the input 'in'"),
        ([{"args": [tensor("a", 3)]}], "reads call 3 of 'a', which is called 1 time"),
        ([{"args": [tensor("a", 0, 1)]}], "reads output 1 of 'a', which has one"),
    ],
)
def test_malformed_inbound_nodes_are_refused_naming_the_layer(nodes: Any, needle: str) -> None:
    bad = entry("Conv2D", "bad", [], filters=3, kernel_size=3)
    bad["inbound_nodes"] = nodes
    message = refused(functional([image_input(), conv("a", "in"), bad], [["bad", 0, 0]]))
    assert "'bad'" in message and needle in message, message


@pytest.mark.parametrize(
    "outputs, needle",
    [
        (["ghost", 0, 0], "reads 'ghost', which is not in the model"),
        ([["a", 1, 0]], "reads call 1 of 'a'"),
        ("a", "not a list of references"),
        ([["a", 0]], "not a [layer, node, tensor] reference"),
    ],
)
def test_malformed_outputs_are_refused(outputs: Any, needle: str) -> None:
    assert needle in refused(functional([image_input(), conv("a", "in")], outputs))


def test_an_input_that_is_not_listed_or_not_an_input_is_refused() -> None:
    layers = [image_input(), image_input("spare"), conv("a", "in")]
    assert "InputLayer 'spare' is not one of the model's inputs" in refused(functional(layers, [["a", 0, 0]]))
    assert "input 'a' is not an InputLayer" in refused(
        functional([image_input(), conv("a", "in")], [["a", 0, 0]], inputs=[["a", 0, 0]])
    )


def test_two_layers_of_one_name_and_a_slash_in_a_name_are_refused() -> None:
    twice = functional([image_input(), conv("a", "in"), conv("a", "in")], [["a", 0, 0]])
    assert "two layers are named 'a'" in refused(twice)
    slash = functional([image_input(), conv("x/y", "in")], [["x/y", 0, 0]])
    assert "a Keras layer name cannot hold '/'" in refused(slash)


def test_a_frozen_flag_that_is_not_a_boolean_is_refused() -> None:
    layer = conv("a", "in")
    layer["config"]["trainable"] = "no"
    assert "'a': trainable must be true or false, got 'no'" in refused(
        functional([image_input(), layer], [["a", 0, 0]])
    )


# ------------------------------------------------------------------------------------------
# depth: one limit for every reader, and nothing that depth can break


def nested(levels: int) -> dict[str, Any]:
    """A model whose only layer is a model whose only layer is ... ``levels`` models, then a conv."""
    document = functional([image_input(), conv("c", "in")], [["c", 0, 0]], name="m0")
    for level in range(1, levels + 1):
        inner = {**document, "name": f"m{level - 1}", "inbound_nodes": [{"args": [tensor("in")], "kwargs": {}}]}
        document = functional([image_input(), inner], [[f"m{level - 1}", 1, 0]], name=f"m{level}")
    return document


def test_models_nested_to_the_limit_read_and_one_more_is_refused() -> None:
    deepest = read(nested(MAX_DEPTH - 1))  # the top level and 63 models inside it: 64 levels
    (path,) = [name for name, _ in deepest.layers()]
    assert path.count("/") == MAX_DEPTH - 1 and analyze(deepest).totals.params == 3 * 3 * 3 * 3 + 3
    assert f"models nested deeper than {MAX_DEPTH} levels" in refused(nested(MAX_DEPTH))


def test_nesting_deeper_than_json_allows_is_one_clean_line() -> None:
    document: Any = {"layers": []}
    for _ in range(sys.getrecursionlimit() + 100):
        document = {"class_name": "Functional", "config": {"layers": [document]}}
    with pytest.raises(SpecError, match="nested too deeply"):
        from_keras(document)
    with pytest.raises(SpecError, match="nested too deeply"):
        from_keras_json("[" * 100_000 + "]" * 100_000)


def test_hundreds_of_nested_forks_read_without_recursion() -> None:
    """Issue 17: about 490 nested forks hit RecursionError. Each fork here rejoins at an Add inside
    the next one's branch; the reader takes calls in dependency order, never by recursion."""
    forks = 600
    layers = [image_input(), conv("stem", "in")]
    current = "stem"
    for i in range(forks):
        layers += [conv(f"l{i}", current), conv(f"r{i}", current)]
        layers.append(entry("Add", f"add{i}", [[[tensor(f"l{i}"), tensor(f"r{i}"), tensor(current)]]]))
        current = f"add{i}"
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(300)  # well below what a recursion over 600 forks would need
    try:
        model = read(functional(layers, [[current, 0, 0]]))
        totals = analyze(model).totals
    finally:
        sys.setrecursionlimit(limit)
    assert totals.params == (2 * forks + 1) * (3 * 3 * 3 * 3 + 3)


# ------------------------------------------------------------------------------------------
# .keras archives: config.json only, bounded


def archive(path: Path, config: bytes | None, compress: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compress) as z:
        z.writestr("metadata.json", '{"keras_version": "3.15.1"}')
        if config is not None:
            z.writestr("config.json", config)
        z.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n" + b"\0" * 1000)
    return path


TINY = json.dumps(functional([image_input(), conv("a", "in")], [["a", 0, 0]])).encode()


def test_an_archive_is_read_from_its_config_alone(tmp_path: Path) -> None:
    model = keras_archive_file(str(archive(tmp_path / "m.keras", TINY, zipfile.ZIP_DEFLATED)))
    assert analyze(model).totals.params == 84
    assert analyze(load(str(tmp_path / "m.keras"))).totals.params == 84


def refused_archive(path: Path) -> str:
    with pytest.raises(ConvcostError) as error:
        load(str(path))
    message = str(error.value)
    assert message.startswith(str(path)) and "\n" not in message, message
    return message


def test_a_zip_bomb_is_refused_before_it_is_held(tmp_path: Path) -> None:
    path = tmp_path / "bomb.keras"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z, z.open("config.json", "w") as f:
        chunk = b" " * (1024 * 1024)
        for _ in range(keras_files.MAX_CONFIG_BYTES // len(chunk) + 1):
            f.write(chunk)
    assert path.stat().st_size < 1024 * 1024  # 65 MiB of spaces, compressed
    assert "config.json is larger than 64 MiB" in refused_archive(path)


def test_a_member_larger_than_it_claims_is_cut_at_the_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = archive(tmp_path / "big.keras", TINY)
    monkeypatch.setattr(keras_files, "MAX_CONFIG_BYTES", 100)
    assert "config.json is larger than 0 MiB" in refused_archive(path)


def test_a_huge_central_directory_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "listing.keras"
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 65535, 65535, 512 * 1024 * 1024, 0, 0)
    path.write_bytes(b"\0" * 64 + end)
    assert "the archive lists 536,870,912 bytes of members" in refused_archive(path)


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda p: p.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100), "not a .keras archive (not a zip file)"),
        (lambda p: p.write_bytes(b""), "not a .keras archive"),
        (lambda p: archive(p, None), "a zip file without config.json"),
        (lambda p: archive(p, b"\xff\xfe{}"), "config.json is not UTF-8 text"),
        (lambda p: archive(p, b"{not json"), "not JSON"),
        (lambda p: archive(p, b'{"layers": []}'), "expected a Keras model config"),
        (lambda p: p.mkdir(), "not a regular file"),
        (lambda p: os.mkfifo(p), "not a regular file"),
    ],
)
def test_broken_archives_are_one_clean_line(tmp_path: Path, make: Any, needle: str) -> None:
    path = tmp_path / "model.keras"
    make(path)
    assert needle in refused_archive(path)


def test_a_truncated_archive_is_one_clean_line(tmp_path: Path) -> None:
    whole = archive(tmp_path / "whole.keras", TINY).read_bytes()
    for cut in (len(whole) // 3, len(whole) - 30, len(whole) - 1):
        path = tmp_path / f"cut{cut}.keras"
        path.write_bytes(whole[:cut])
        refused_archive(path)


def test_the_docs_list_every_keras_class_the_reader_maps() -> None:
    """docs/keras.md's table of classes against the reader's own mappings, both ways."""
    import re

    from convcost.interop import keras as mapping
    from convcost.interop import keras_reader as reader

    doc = (Path(__file__).resolve().parent.parent / "docs" / "keras.md").read_text()
    table = doc.split("<!-- keras classes -->")[1].split("<!-- /keras classes -->")[0]
    documented = {name for row in table.splitlines()[3:] for name in re.findall(r"`([\w.]+)`", row.split(" | ")[0])}
    source = Path(mapping.__file__).read_text() + Path(reader.__file__).read_text()
    mapped = set(re.findall(r'class_name == "(\w+)"', source)) | set(reader._MODELS)
    mapped |= {n for group in re.findall(r"class_name in \(([^)]*)\)", source) for n in re.findall(r'"(\w+)"', group)}
    for known in (mapping._MERGES, mapping._POOLS, mapping._FAMILY_A_CONVERTERS, mapping._FAMILY_C):
        mapped |= {name.rsplit(".", 1)[-1] for name in known}  # an op or an application's layer: its class
    functions = set(mapping._TF_ARITHMETIC) | set(mapping._TF_ACTIVATIONS)  # TFOpLambda's
    assert mapped - documented == set(), "read but not in docs/keras.md"
    assert functions - documented == set(), "TFOpLambda functions read but not in docs/keras.md"
    assert documented - mapped - functions == set(), "in docs/keras.md but not read"
