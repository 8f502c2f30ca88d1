"""Fuzz the newer front doors: graph spec files (``inputs``, ``shares``, several outputs), ``.keras``
archives, ONNX files and ``--input-size``.

Each test starts from valid files (tests/fuzz_samples.py: the examples, archives zipped from the
Keras 3 fixtures, an ONNX model written with ``onnx.helper``) and breaks them the way that front door
can break: a graph's wiring (an unknown input, a cycle, a node read by nothing, a merge of tensors
that do not fit, two nodes of one name, a share of the wrong layer), an archive's zip structure (bad
CRC, cut short, sizes claimed to be huge, no config.json, a zip inside the zip, damaged JSON), an
ONNX file's bytes (cut, flipped, a varint that never ends, a length past the end, subgraphs and
types nested thousands deep, huge, zero and negative dims, unknown operators). The only outcomes
allowed from ``convcost table FILE --format json``:

* exit 0 with a report whose totals are the sum of its rows; for a graph small enough, the NumPy
  reference counts the same (``verify``), and an undamaged file gives the totals counted by hand
  or by another reader;
* exit 2 with exactly one line ``convcost: error: FILE...``. Never exit 3, never a traceback.

``--hypothesis-profile=thorough`` runs 2,000 examples of each (docs/robustness.md records the runs).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import struct
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from hypothesis import assume, event, given
from hypothesis import strategies as st

from convcost import specfile
from convcost.cli import main
from convcost.errors import ConvcostError, GeometryError, SpecError
from convcost.report import analyze
from tests import fuzz_samples
from tests.test_fuzz_specfiles import WEIRD, broken_text, mutated, to_text

SCRATCH = Path(tempfile.mkdtemp(prefix="convcost-fuzz-doors-"))
GRAPH_SEEDS = fuzz_samples.graph_seeds()
KERAS_TEXTS = {name: (fuzz_samples.DATA / name).read_text() for name in fuzz_samples.KERAS_FIXTURES}
#: the archives also hold the config that leaves H and W open (read only with --input-size or --resolution)
ARCHIVED = {**KERAS_TEXTS, fuzz_samples.OPEN_SIZE.name: fuzz_samples.OPEN_SIZE.read_text()}
ONNX_SEED = fuzz_samples.onnx_model()
ONNX_BYTES = ONNX_SEED.SerializeToString()
#: the reference runs a valid graph when it is this small (milliseconds)
REFERENCE_MACS = 5_000_000


def note(what: str) -> None:
    """A hypothesis statistic (``--hypothesis-show-statistics``); nothing outside a fuzz test."""
    with contextlib.suppress(Exception):
        event(what)


def run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def table(path: Path | str, *options: str) -> dict[str, Any] | None:
    """``convcost table PATH --format json``: the report, or None after one clean error line naming the file."""
    code, out, err = run(["table", str(path), "--format", "json", *options])
    assert "Traceback" not in out + err and "internal error" not in err, err
    if code == 0:
        report = json.loads(out)
        rows = report["layers"]
        for key in ("params", "macs"):
            assert report["totals"][key] == sum(row[key] for row in rows), key
            assert all(type(row[key]) is int and row[key] >= 0 for row in rows), key
        note("read")
        return report
    lines = err.splitlines()
    assert code == 2 and out == "" and len(lines) == 1, (code, err)
    assert lines[0].startswith(f"convcost: error: {path}"), lines[0]
    note("refused: " + lines[0].split(": ")[-1][:25])
    return None


# ------------------------------------------------------------------------------ graph spec files


def layer_names(data: Any) -> list[str]:
    layers = data.get("layers") if isinstance(data, dict) else None
    return [layer["name"] for layer in layers or [] if isinstance(layer, dict) and isinstance(layer.get("name"), str)]


@st.composite
def rewired(draw: Any) -> Any:
    """A graph seed with one to three wiring edits, then maybe the generic edits of the spec fuzzer."""
    data = copy.deepcopy(GRAPH_SEEDS[draw(st.sampled_from(sorted(GRAPH_SEEDS)))])
    for _ in range(draw(st.integers(min_value=1, max_value=2))):
        layers = [layer for layer in data["layers"] if isinstance(layer, dict)]
        names = layer_names(data) or ["input"]
        i = draw(st.integers(min_value=0, max_value=len(layers) - 1))
        layer, other = layers[i], draw(st.sampled_from(names))
        edit = draw(st.integers(min_value=0, max_value=12))
        if edit == 0:  # an input renamed to a name nothing has
            inputs = layer.get("inputs")
            inputs = inputs if isinstance(inputs, list) and inputs else [names[max(i - 1, 0)]]
            inputs[draw(st.integers(min_value=0, max_value=len(inputs) - 1))] = draw(
                st.sampled_from(["nope", "", "Input", "input/x"])
            )
            layer["inputs"] = inputs
        elif edit == 1:  # a cycle: the layer reads itself or a later one
            later = names[min(i + draw(st.integers(min_value=0, max_value=3)), len(names) - 1)]
            inputs = layer.get("inputs")
            layer["inputs"] = [later, *(inputs[:1] if isinstance(inputs, list) else [])]
        elif edit == 2:  # a node read by nothing
            data["layers"].insert(i, {"type": "Conv2D", "name": "unused", "filters": 2, "kernel": 1, "inputs": [other]})
        elif edit == 3:  # a merge of tensors that may not fit
            kind = draw(st.sampled_from(["Add", "Concat", "Multiply", "Subtract", "Maximum"]))
            reads = draw(st.lists(st.sampled_from([*names, "input"]), min_size=1, max_size=4))
            data["layers"].insert(i + 1, {"type": kind, "name": "merge_x", "inputs": reads})
        elif edit == 4:  # two nodes of one name
            layer["name"] = other
        elif edit == 5:  # a share of another layer (maybe of another kind), or of a name nothing has
            layer["shares"] = draw(st.sampled_from([other, "nope", layer.get("name", ""), 3]))
        elif edit == 6:  # outputs: unknown, empty, repeated, a middle node
            data["outputs"] = draw(st.sampled_from([["nope"], [], [other, other], [other], [names[-1], other], "fc"]))
        elif edit == 7:  # an input declared twice, renamed, reshaped or removed
            declared = data.get("inputs") or [{"name": "input", "shape": data.pop("input", [3, 8, 8])}]
            choice = draw(st.integers(min_value=0, max_value=3))
            if choice == 0:
                declared.append(copy.deepcopy(declared[0]))
            elif choice == 1:
                declared[0]["name"] = draw(st.sampled_from(["x", "", other, "input"]))
            elif choice == 2:
                declared[0]["shape"] = draw(
                    st.sampled_from([[3, 1, 1], [1], [], [0, 4, 4], [3, -2, 8], [3, 10**30, 2]])
                )
            else:
                declared.pop()
            data["inputs"] = declared
        elif edit == 8:  # the inputs list itself a wrong type
            layer["inputs"] = draw(WEIRD)
        elif edit == 9:  # a key deleted from the layer
            if len(layer) > 1:
                del layer[draw(st.sampled_from(sorted(layer)))]
        elif edit == 10:  # a layer moved (a read of a node defined later)
            data["layers"].insert(draw(st.integers(min_value=0, max_value=len(data["layers"]))), data["layers"].pop(i))
        elif isinstance(layer.get("name"), str):  # a valid edit: a fork of the layer and its ReLU merged back
            at = data["layers"].index(layer) + 1
            merge = draw(st.sampled_from(["Add", "Concat", "Multiply", "Maximum"]))
            fork = [
                {"type": "Activation", "name": f"fork_{at}"},
                {"type": merge, "name": f"join_{at}", "inputs": [layer["name"], f"fork_{at}"]},
            ]
            data["layers"][at:at] = fork
    if draw(st.integers(min_value=0, max_value=3)) == 0:  # the generic edits too: wrong types, absurd numbers, nesting
        data = draw(mutated([data]))
    return data


def check_graph_file(path: Path) -> None:
    try:
        model = specfile.load(path)
    except ConvcostError as e:
        assert str(e).startswith(str(path)) and "\n" not in str(e), str(e)
        model = None
    report = table(path)
    assert (report is None) == (model is None), "the CLI and specfile.load disagree"
    if model is None or report is None:
        return
    assert specfile.loads(specfile.dumps(model, "toml"), "toml") == model
    assert report["totals"]["macs"] == analyze(model, "paper").totals.macs
    if report["totals"]["macs"] <= REFERENCE_MACS and report["totals"]["params"] <= REFERENCE_MACS:
        from convcost.verify import verify

        try:
            result = verify(model)
        except (GeometryError, SpecError):  # a size the reference refuses too (named, never an internal error)
            return
        assert result.passed, result.verdict()
        note("the reference agrees")


@given(rewired(), st.sampled_from(["toml", "json"]))
def test_rewired_graph_spec_files_are_read_exactly_or_refused_in_one_line(data: Any, fmt: str) -> None:
    try:
        text = to_text(data, fmt)
    except (ValueError, RecursionError):
        assume(False)
    path = SCRATCH / f"graph.{fmt}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    check_graph_file(path)


@given(st.data(), st.sampled_from(sorted(GRAPH_SEEDS)), st.sampled_from(["toml", "json"]))
def test_damaged_graph_spec_text_is_read_exactly_or_refused_in_one_line(
    data: st.DataObject, seed: str, fmt: str
) -> None:
    text = specfile.dumps(specfile.model_from_dict(GRAPH_SEEDS[seed]), fmt)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        text = data.draw(broken_text(text))
    path = SCRATCH / f"graph_text.{fmt}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    check_graph_file(path)


def test_graph_seeds_are_counted_exactly() -> None:
    """The undamaged seeds: the NumPy reference's count, and the Keras fixture's spec file the same
    totals as the Keras file it came from."""
    from convcost.interop.keras import from_keras_json
    from convcost.verify import verify

    for name, data in GRAPH_SEEDS.items():
        model = specfile.model_from_dict(data)
        assert verify(model).passed, name
    keras = from_keras_json(KERAS_TEXTS["keras_nested_shared.json"])
    for convention in ("paper", "keras"):
        spec = analyze(specfile.model_from_dict(GRAPH_SEEDS["nested_shared"]), convention).totals
        assert spec == analyze(keras, convention).totals


# ----------------------------------------------------------------------------- .keras archives


def zip_entries(blob: bytes) -> list[tuple[int, int, int]]:
    """(local header offset, central header offset, data offset) of each entry, found by Python's zipfile."""
    found = []
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        central = [i for i in range(len(blob)) if blob.startswith(b"PK\x01\x02", i)]
        for info, at in zip(archive.infolist(), central, strict=False):
            name_length, extra_length = struct.unpack_from("<HH", blob, info.header_offset + 26)
            found.append((info.header_offset, at, info.header_offset + 30 + name_length + extra_length))
    return found


@st.composite
def damaged_archive(draw: Any) -> tuple[bytes, str | None]:
    """A ``.keras`` archive, maybe damaged; with the config text when the archive is intact."""
    config: str = ARCHIVED[draw(st.sampled_from(sorted(ARCHIVED)))]
    json_edit = draw(st.integers(min_value=0, max_value=3))
    if json_edit == 1:
        config = draw(broken_text(config))
    elif json_edit == 2:
        config = json.dumps(draw(mutated([json.loads(config)])))
    compression = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    blob = fuzz_samples.keras_archive(config.encode("utf-8", "surrogatepass"), compression=compression)
    edit = draw(st.integers(min_value=0, max_value=10))
    if edit == 0:
        return blob, config if json_edit == 0 else None
    entries = zip_entries(blob)
    local, central, data_at = entries[1]  # config.json
    damaged = bytearray(blob)
    if edit == 1:  # a bad CRC: a byte of the config's stored data changed
        damaged[data_at + draw(st.integers(min_value=0, max_value=20))] ^= draw(st.integers(min_value=1, max_value=255))
    elif edit == 2:  # cut short anywhere
        damaged = damaged[: draw(st.integers(min_value=0, max_value=len(blob) - 1))]
    elif edit == 3:  # sizes claimed to be huge (or zero), in the local header, the central one, or both
        size = draw(st.sampled_from([0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 2**30]))
        for header, at in ((local, 18), (central, 20)):
            if draw(st.booleans()):
                struct.pack_into("<II", damaged, header + at, draw(st.sampled_from([size, 5])), size)
    elif edit == 4:  # no config.json
        name = draw(st.sampled_from(["config.jsn", "model.json", "CONFIG.JSON", "dir/config.json"]))
        return fuzz_samples.keras_archive(config, name=name), None
    elif edit == 5:  # a zip inside the zip: config.json holding an archive, or the archive as config
        inner = fuzz_samples.keras_archive(config)
        return fuzz_samples.keras_archive(draw(st.sampled_from([inner, inner[:100]])), compression=compression), None
    elif edit == 6:  # random bytes overwritten anywhere
        for _ in range(draw(st.integers(min_value=1, max_value=8))):
            damaged[draw(st.integers(min_value=0, max_value=len(blob) - 1))] = draw(
                st.integers(min_value=0, max_value=255)
            )
    elif edit == 7:  # the central directory's offset or entry count wrong
        end = blob.rfind(b"PK\x05\x06")
        field, value = (
            draw(st.sampled_from([(10, "<H"), (16, "<I"), (12, "<I")])),
            draw(st.sampled_from([0, 1, 0xFFFF, 0xFFFFFFFF])),
        )
        struct.pack_into(field[1], damaged, end + field[0], value & (0xFFFF if field[1] == "<H" else 0xFFFFFFFF))
    elif edit == 8:  # config.json written twice (the second a different model)
        buffer = io.BytesIO(blob)
        with zipfile.ZipFile(buffer, "a") as archive, contextlib.redirect_stderr(io.StringIO()):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                archive.writestr("config.json", KERAS_TEXTS[draw(st.sampled_from(sorted(KERAS_TEXTS)))])
        return buffer.getvalue(), None
    elif edit == 9:  # not a zip at all: the JSON itself, empty, or random bytes named .keras
        return draw(st.sampled_from([config.encode(), b"", b"PK\x03\x04", draw(st.binary(max_size=64))])), None
    else:  # an unknown compression method, or an encrypted flag
        struct.pack_into("<H", damaged, local + draw(st.sampled_from([6, 8])), draw(st.sampled_from([1, 99, 12, 14])))
        struct.pack_into(
            "<H", damaged, central + draw(st.sampled_from([8, 10])), draw(st.sampled_from([1, 99, 12, 14]))
        )
    return bytes(damaged), None


def config_is_closed(text: str) -> bool:
    return text != ARCHIVED[fuzz_samples.OPEN_SIZE.name]


@given(
    damaged_archive(),
    st.sampled_from([(), ("--input-size", "3,12,12"), ("--input-size", "2,3,9,7"), ("--resolution", "10")]),
)
def test_damaged_keras_archives_are_read_exactly_or_refused_in_one_line(
    archive: tuple[bytes, str | None], options: tuple[str, ...]
) -> None:
    blob, intact = archive
    path = SCRATCH / "model.keras"
    path.write_bytes(blob)
    report = table(path, *options)
    if intact is not None:  # an intact archive reads as its config.json does
        json_path = SCRATCH / "config.json"
        json_path.write_text(intact)
        assert report == table(json_path, *options)
        if not options and config_is_closed(intact):
            assert report is not None


# ---------------------------------------------------------------------------------- ONNX files


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def length_fields(blob: bytes) -> list[tuple[int, int, int]]:
    """(tag position, length position, payload end) of every length-delimited field, found by
    reading each payload as a message too where it parses as one (a heuristic walk, bounded)."""
    found: list[tuple[int, int, int]] = []
    stack = [(0, len(blob))]
    while stack and len(found) < 2000:
        start, end = stack.pop()
        at = start
        while at < end:
            tag_at = at
            tag, at = read_varint(blob, at, end)
            if tag is None or tag >> 3 == 0:
                break
            wire = tag & 7
            if wire == 0:
                _, at = read_varint(blob, at, end)
            elif wire == 1:
                at += 8
            elif wire == 5:
                at += 4
            elif wire == 2:
                length_at = at
                length, at = read_varint(blob, at, end)
                if length is None or at + length > end:
                    break
                found.append((tag_at, length_at, at + length))
                stack.append((at, at + length))
                at += length
            else:
                break
            if at is None or at > end:
                break
    return found


def read_varint(blob: bytes, at: int | None, end: int) -> tuple[int | None, int | None]:
    value, shift = 0, 0
    while at is not None and at < end and shift < 64:
        byte = blob[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at
    return None, None


LENGTH_FIELDS = length_fields(ONNX_BYTES)


def graph_field() -> tuple[int, int, int]:
    """(tag position, payload start, payload end) of ``ModelProto.graph`` (field 7) in the seed."""
    for tag_at, length_at, end in LENGTH_FIELDS:
        if ONNX_BYTES[tag_at] == 7 << 3 | 2 and end > len(ONNX_BYTES) // 2:
            _, payload_at = read_varint(ONNX_BYTES, length_at, end)
            assert payload_at is not None
            return tag_at, payload_at, end
    raise AssertionError("the seed has no graph")


GRAPH_FIELD = graph_field()


def nested_graphs(depth: int) -> bytes:
    """An ``If`` node whose then-branch holds an ``If`` node ... ``depth`` levels of subgraphs."""
    graph = field(2, b"leaf")  # GraphProto.name
    for _ in range(depth):
        attribute = (
            field(1, b"then_branch") + varint(6 << 3 | 2) + varint(len(graph)) + graph + varint(20 << 3) + varint(5)
        )
        # NodeProto: input, output, op_type, attribute
        node = field(1, b"r1") + field(2, b"deep") + field(4, b"If") + field(5, attribute)
        graph = field(1, node)
    return graph


def nested_types(depth: int) -> bytes:
    """A ValueInfoProto whose type is a sequence of a sequence of ... ``depth`` deep."""
    type_proto = field(1, varint(1 << 3) + varint(1))  # tensor_type { elem_type: FLOAT }
    for _ in range(depth):
        type_proto = field(4, field(1, type_proto))  # sequence_type { elem_type: ... }
    return field(1, b"deep_seq") + varint(2 << 3 | 2) + varint(len(type_proto)) + type_proto


@st.composite
def structural_onnx(draw: Any) -> bytes:
    """The seed edited as a model: dims, attributes, operators, edges (written by onnx itself)."""
    from onnx import helper

    model = copy.deepcopy(ONNX_SEED)
    graph = model.graph
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        edit = draw(st.integers(min_value=0, max_value=7))
        node = graph.node[draw(st.integers(min_value=0, max_value=len(graph.node) - 1))]
        huge = st.sampled_from([0, -1, -(2**62), 1, 2**31, 2**62, 10**12, 2**63 - 1])
        if edit == 0:  # an input dim zero, negative or huge
            dim = graph.input[0].type.tensor_type.shape.dim[draw(st.integers(min_value=0, max_value=3))]
            dim.dim_value = draw(huge)
        elif edit == 1:  # an initializer's dims
            tensor = graph.initializer[draw(st.integers(min_value=0, max_value=len(graph.initializer) - 1))]
            tensor.dims[draw(st.integers(min_value=0, max_value=len(tensor.dims) - 1))] = draw(huge)
        elif edit == 2:  # an unknown operator, or a known one in an unknown domain
            if draw(st.booleans()):
                node.op_type = draw(st.sampled_from(["FooBar", "", "conv", "Loop", "If", "Conv3D", "Einsum"]))
            else:
                node.domain = draw(st.sampled_from(["com.example", "ai.onnx.ml", "x"]))
        elif edit == 3:  # an attribute absurd
            name = draw(st.sampled_from(["kernel_shape", "strides", "pads", "dilations", "group", "transB", "axis"]))
            value = draw(st.sampled_from([[0, 0], [-1, -1], [2**40, 1], [1], [1, 1, 1, 1, 1], 0, -3, 2**62, "x", 1.5]))
            kept = [a for a in node.attribute if a.name != name]
            del node.attribute[:]
            node.attribute.extend([*kept, helper.make_attribute(name, value)])
        elif edit == 4:  # an edge renamed to nothing
            edges = node.input if node.input and draw(st.booleans()) else node.output
            if edges:
                edges[draw(st.integers(min_value=0, max_value=len(edges) - 1))] = draw(
                    st.sampled_from(["nope", "", "x", "y"])
                )
        elif edit == 5:  # a node removed or repeated
            if draw(st.booleans()):
                graph.node.remove(node)
            else:
                graph.node.append(copy.deepcopy(node))
        elif edit == 6:  # the graph's input or output removed, or its type changed
            if draw(st.booleans()) and graph.output:
                graph.output.pop()
            else:
                graph.input[0].type.tensor_type.elem_type = draw(st.sampled_from([0, 7, 8, 16, 99]))
        else:  # the opset: missing, ancient, from the future
            del model.opset_import[:]
            if draw(st.booleans()):
                model.opset_import.append(helper.make_opsetid("", draw(st.sampled_from([1, 6, 9, 99, 2**40]))))
        if not graph.node:
            break
    return model.SerializeToString()


@st.composite
def damaged_onnx(draw: Any) -> bytes:
    """The seed's bytes damaged: cut, flipped, varints overflowing, lengths past the end, nesting."""
    blob = bytearray(draw(structural_onnx()) if draw(st.integers(min_value=0, max_value=3)) == 0 else ONNX_BYTES)
    edit = draw(st.integers(min_value=0, max_value=6))
    at = draw(st.integers(min_value=0, max_value=len(blob)))
    if edit == 0:
        return bytes(blob[:at])
    if edit == 1:
        for _ in range(draw(st.integers(min_value=1, max_value=8))):
            blob[draw(st.integers(min_value=0, max_value=len(blob) - 1))] ^= 1 << draw(
                st.integers(min_value=0, max_value=7)
            )
        return bytes(blob)
    if edit == 2:  # a varint of 10 to 20 continuation bytes, or one ending past 64 bits
        return (
            bytes(blob[:at])
            + draw(st.sampled_from([b"\xff" * 11 + b"\x01", b"\x80" * 20, b"\xff" * 9 + b"\x7f", b"\xff" * 30]))
            + bytes(blob[at:])
        )
    if edit == 3 and LENGTH_FIELDS:  # a length field made to point past its message or the file
        _, length_at, end = draw(st.sampled_from(LENGTH_FIELDS))
        _, payload_at = read_varint(ONNX_BYTES, length_at, len(ONNX_BYTES))
        assert payload_at is not None
        length = draw(st.sampled_from([end - payload_at + 1, len(ONNX_BYTES), 2**31, 2**63, 2**64 - 1, 0]))
        return ONNX_BYTES[:length_at] + varint(length) + ONNX_BYTES[payload_at:]
    if edit == 4:  # subgraphs or types nested deep, added to the graph
        depth = draw(st.sampled_from([2, 100, 1000, 5000]))
        extra = nested_graphs(depth) if draw(st.booleans()) else field(11, nested_types(depth))
        return (
            ONNX_BYTES[: GRAPH_FIELD[0]]
            + field(7, ONNX_BYTES[GRAPH_FIELD[1] : GRAPH_FIELD[2]] + extra)
            + ONNX_BYTES[GRAPH_FIELD[2] :]
        )
    if edit == 5:  # a wire type protobuf does not have, or a group
        return (
            bytes(blob[:at]) + bytes([draw(st.sampled_from([0x0B, 0x0C, 0x0E, 0x0F, 0x3B, 0x07]))]) + bytes(blob[at:])
        )
    return bytes(blob)


@given(damaged_onnx())
def test_damaged_onnx_files_are_read_or_refused_in_one_line(blob: bytes) -> None:
    path = SCRATCH / "model.onnx"
    path.write_bytes(blob)
    report = table(path)
    if blob == ONNX_BYTES:
        assert report is not None and report["totals"]["params"] == fuzz_samples.ONNX_TOTALS["params"]
        assert report["totals"]["macs"] == fuzz_samples.ONNX_TOTALS["macs"]


def test_onnx_seed_is_counted_exactly() -> None:
    path = SCRATCH / "seed.onnx"
    path.write_bytes(ONNX_BYTES)
    report = table(path)
    assert report is not None
    assert {key: report["totals"][key] for key in ("params", "macs")} == fuzz_samples.ONNX_TOTALS


# ---------------------------------------------------------------------------------- --input-size


INPUT_SIZE_TARGETS = [
    *[str(fuzz_samples.OPEN_SIZE), "open_size.keras"] * 3,  # H and W left as None, as JSON and as an archive
    str(fuzz_samples.DATA / "keras_tiny_sequential.json"),  # every size fixed
    str(fuzz_samples.ROOT / "examples" / "graph_skips.toml"),
    "fuzz_seed.onnx",
    "lenet5",
    "mobilenet_v1",
    "unet",
]
(SCRATCH / "open_size.keras").write_bytes(fuzz_samples.keras_archive(fuzz_samples.OPEN_SIZE.read_text()))
(SCRATCH / "fuzz_seed.onnx").write_bytes(ONNX_BYTES)

dims = st.one_of(
    st.integers(min_value=-3, max_value=40),
    st.sampled_from([0, -1, 3, 10**6, 10**30, 2**63, 10**400]),
)
sizes = st.one_of(
    # the open-size config's 3 channels and any H, W, with or without a batch in front
    st.tuples(st.lists(st.integers(min_value=1, max_value=8), max_size=1), st.integers(1, 40), st.integers(1, 40)).map(
        lambda t: ",".join(map(str, [*t[0], 3, t[1], t[2]]))
    ),
    st.lists(dims, min_size=0, max_size=5).map(lambda ds: ",".join(map(str, ds))),
    st.sampled_from(
        ["", ",", "3,,4", "3, 8, 8", "3x8x8", "nan,8,8", "1e3,8,8", "3,8,8,", "-0,8,8", "0x3,8,8", "３,８,８"]
    ),
)


def open_size_with(size: list[int]) -> str:
    """keras_open_size.json with the sizes written into its InputLayer (channels-last, as Keras writes)."""
    document = json.loads(fuzz_samples.OPEN_SIZE.read_text())
    layer = document["config"]["layers"][0]["config"]
    layer["batch_shape"] = [None, size[1], size[2], size[0]]
    return json.dumps(document)


@given(st.sampled_from(INPUT_SIZE_TARGETS), sizes, st.sampled_from([(), ("--batch", "2"), ("--resolution", "9")]))
def test_any_input_size_is_applied_exactly_or_refused_in_one_line(
    target: str, size: str, options: tuple[str, ...]
) -> None:
    path = target if "/" in target or "." not in target else str(SCRATCH / target)
    code, out, err = run(["table", path, "--input-size", size, "--format", "json", *options])
    assert "Traceback" not in out + err and "internal error" not in err, err
    if code != 0:
        assert code == 2 and out == "" and len(err.splitlines()) == 1 and err.startswith("convcost: error: "), (
            code,
            err,
        )
        note("refused")
        return
    note("read")
    values = [int(part) for part in size.split(",")]
    report = json.loads(out)
    # the size per sample is the last three given; a fourth in front is the batch (replaced by --batch)
    assert report["input"] == values[-3:], (report["input"], values)
    if len(values) == 4 and "--batch" not in options:
        assert report["batch"] == values[0]
    if target.startswith(("open_size", str(fuzz_samples.OPEN_SIZE))) and max(values) < 10**6:
        fixed = SCRATCH / "fixed.json"
        fixed.write_text(open_size_with(values[-3:]))
        twin = table(fixed, "--batch", str(report["batch"]))
        assert twin is not None and twin["totals"] == report["totals"]


def teardown_module() -> None:
    for path in SCRATCH.iterdir():
        path.unlink()
    SCRATCH.rmdir()
