"""A reader of the ONNX file format: the few ``ModelProto`` fields convcost needs, from the protobuf
wire format, without the ``onnx`` package.

Why not ``onnx.load``: importing ``onnx`` costs seconds (its ``ml_dtypes`` extension), more than
everything else ``convcost table model.onnx`` does, and it would copy every weight into memory.
This decoder maps the file and walks only the structure: node lists, attributes, tensor shapes
and types. Weight bytes are skipped by their length and never read; the values of small tensors
(shapes, pads, scales: what shape arithmetic needs) are copied. ``tests/test_onnx_wire.py`` holds
it against ``onnx.load`` on every test file.

Every read is bounded by the message that holds it, nothing recurses, and a malformed byte is an
``OnnxFileError`` naming the file and the byte position. Fields convcost does not use are skipped,
so newer files read as long as the fields below keep their numbers (protobuf guarantees that).
"""

from __future__ import annotations

import mmap
import os
import stat
import struct
from dataclasses import field
from typing import Any

from convcost.errors import SpecFileError
from convcost.record import record

#: tensors up to this many bytes keep their data (shape arithmetic reads them); larger ones are weights
SMALL_TENSOR_BYTES = 1 << 16
#: a protobuf message cannot exceed 2 GiB: anything that does is not an ONNX file
MAX_FILE_BYTES = 1 << 31

# TensorProto.DataType
FLOAT, UINT8, INT8, UINT16, INT16, INT32, INT64, STRING, BOOL, FLOAT16, DOUBLE, UINT32, UINT64 = range(1, 14)
BFLOAT16 = 16
#: the floating-point element types (weights are tensors of these)
FLOAT_TYPES = frozenset({FLOAT, FLOAT16, DOUBLE, BFLOAT16, *range(17, 21), 23, 24, 27, 28})
INTEGER_TYPES = frozenset({UINT8, INT8, UINT16, INT16, INT32, INT64, UINT32, UINT64, 21, 22, 25, 26})
#: bytes per element of the types whose values convcost can read (``struct`` format, size)
ELEMENT_FORMATS = {
    FLOAT: ("f", 4),
    DOUBLE: ("d", 8),
    FLOAT16: ("e", 2),
    INT8: ("b", 1),
    UINT8: ("B", 1),
    INT16: ("h", 2),
    UINT16: ("H", 2),
    INT32: ("i", 4),
    UINT32: ("I", 4),
    INT64: ("q", 8),
    UINT64: ("Q", 8),
    BOOL: ("?", 1),
}
TYPE_NAMES = {
    0: "undefined",
    FLOAT: "float32",
    UINT8: "uint8",
    INT8: "int8",
    UINT16: "uint16",
    INT16: "int16",
    INT32: "int32",
    INT64: "int64",
    STRING: "string",
    BOOL: "bool",
    FLOAT16: "float16",
    DOUBLE: "float64",
    UINT32: "uint32",
    UINT64: "uint64",
    14: "complex64",
    15: "complex128",
    BFLOAT16: "bfloat16",
}

# AttributeProto.AttributeType
A_FLOAT, A_INT, A_STRING, A_TENSOR, A_GRAPH, A_FLOATS, A_INTS, A_STRINGS, A_TENSORS, A_GRAPHS = range(1, 11)

#: the node metadata convcost reads (dynamo writes kilobytes of stack traces beside them)
METADATA_KEYS = frozenset({"pkg.torch.onnx.name_scopes", "pkg.onnxscript.rewriter.rule_name"})


class OnnxFileError(SpecFileError):
    """The file is not a well-formed ONNX model: the message names the file and the byte position."""


# ---------------------------------------------------------------------------------------- the model


@record
class Tensor:
    """An initializer or a tensor attribute: its shape and type, and its data when small.

    ``data`` holds the raw little-endian bytes (``raw_data``, or the typed fields re-packed), or
    None when the tensor is large (a weight: never read) or stored in a side file (``external``:
    location, offset, length).
    """

    name: str
    dims: tuple[int, ...]
    dtype: int
    data: bytes | None = None
    external: tuple[str, int, int] | None = None
    #: where the tensor's message starts in the file, for error messages
    position: int = 0

    @property
    def size(self) -> int:
        n = 1
        for d in self.dims:
            n *= d
        return n


@record
class Attribute:
    """One node attribute; ``value`` is an int, float, str, Tensor, or a tuple of ints / floats / strs
    (a subgraph is recorded as the string ``"<graph>"``: convcost reads no control flow)."""

    name: str
    value: Any


@record
class Node:
    name: str
    op_type: str
    domain: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attributes: dict[str, Any]
    metadata: dict[str, str]
    position: int = 0


@record
class ValueInfo:
    """A graph input / output / value_info entry: a tensor's element type and its dimensions (an int,
    a symbolic name such as ``"batch"``, or None when unknown); ``kind`` is ``tensor`` or what else
    the type is (``sequence``, ``map``, ...)."""

    name: str
    kind: str
    dtype: int
    dims: tuple[int | str | None, ...] | None
    position: int = 0


@record
class Graph:
    name: str
    nodes: tuple[Node, ...]
    initializers: tuple[Tensor, ...]
    inputs: tuple[ValueInfo, ...]
    outputs: tuple[ValueInfo, ...]
    value_info: tuple[ValueInfo, ...]
    sparse_initializers: int = 0


@record
class Model:
    path: str
    ir_version: int
    opsets: dict[str, int]
    producer_name: str
    producer_version: str
    graph: Graph
    functions: tuple[str, ...] = field(default=())


# ---------------------------------------------------------------------------------------- reading


def read_model(path: str) -> Model:
    """The model in the ONNX file at ``path`` (weights left where they are)."""
    try:
        f = open(path, "rb")  # noqa: SIM115 (closed below, after the map)
    except FileNotFoundError:
        raise SpecFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SpecFileError(f"{path}: is a directory, not an ONNX file") from None
    except OSError as e:
        raise SpecFileError(f"{path}: cannot be read ({e.strerror or e})") from None
    with f:
        info = os.fstat(f.fileno())
        if stat.S_ISREG(info.st_mode):
            if info.st_size == 0:
                raise OnnxFileError(f"{path}: the file is empty, not an ONNX model")
            if info.st_size > MAX_FILE_BYTES:
                raise OnnxFileError(f"{path}: {info.st_size} bytes, more than a protobuf message can hold (2 GiB)")
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buffer:
                return _Decoder(path, buffer).model()
        data = f.read(MAX_FILE_BYTES + 1)  # a pipe or a device: read it, bounded
        if not data:
            raise OnnxFileError(f"{path}: the file is empty, not an ONNX model")
        if len(data) > MAX_FILE_BYTES:
            raise OnnxFileError(f"{path}: more than 2 GiB, more than a protobuf message can hold")
        return _Decoder(path, data).model()


_FLOAT32 = struct.Struct("<f")
_FLOAT64 = struct.Struct("<d")

# A field as decoded: (number, wire type, value, position); value is an int (varint, fixed), or for
# a length-delimited field the (start, end) of its bytes.
Field = tuple[int, int, Any, int]


class _Decoder:
    def __init__(self, path: str, buffer: Any) -> None:
        self.path = path
        self.buf = buffer

    def fail(self, position: int, what: str) -> OnnxFileError:
        return OnnxFileError(f"{self.path}: byte {position}: {what}")

    # ------------------------------------------------------------------ the wire format

    def varint(self, pos: int, end: int) -> tuple[int, int]:
        buf = self.buf
        start = pos
        result = shift = 0
        while True:
            if pos >= end:
                raise self.fail(start, "a number runs past the end of its message (the file is cut short?)")
            b = buf[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            if b < 0x80:
                return result, pos
            shift += 7
            if shift >= 70:
                raise self.fail(start, "a number longer than 10 bytes (not protobuf)")

    def fields(self, start: int, end: int) -> list[Field]:
        """Every field of the message in ``buf[start:end]``, in order."""
        buf = self.buf
        out: list[Field] = []
        pos = start
        while pos < end:
            at = pos
            b = buf[pos]
            if b < 0x80:
                key = b
                pos += 1
            else:
                key, pos = self.varint(pos, end)
            number, wire = key >> 3, key & 7
            if number == 0:
                raise self.fail(at, "field number 0 is not protobuf: not an ONNX model, or a corrupted one")
            if wire == 0:
                b = buf[pos] if pos < end else 0x80
                if b < 0x80 and pos < end:
                    value: Any = b
                    pos += 1
                else:
                    value, pos = self.varint(pos, end)
            elif wire == 2:
                b = buf[pos] if pos < end else 0x80
                if b < 0x80 and pos < end:
                    length = b
                    pos += 1
                else:
                    length, pos = self.varint(pos, end)
                if length > end - pos:
                    raise self.fail(at, f"a field of {length} bytes runs past the end of its message (cut short?)")
                value = (pos, pos + length)
                pos += length
            elif wire == 5:
                if pos + 4 > end:
                    raise self.fail(at, "a 4-byte field runs past the end of its message (cut short?)")
                value = pos
                pos += 4
            elif wire == 1:
                if pos + 8 > end:
                    raise self.fail(at, "an 8-byte field runs past the end of its message (cut short?)")
                value = pos
                pos += 8
            else:
                raise self.fail(at, f"wire type {wire} is not protobuf: not an ONNX model, or a corrupted one")
            out.append((number, wire, value, at))
        return out

    def text(self, span: tuple[int, int], at: int) -> str:
        try:
            return bytes(self.buf[span[0] : span[1]]).decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(at, "a name that is not UTF-8 text") from None

    def expect(self, wire: int, wanted: int, at: int, what: str) -> None:
        if wire != wanted:
            raise self.fail(at, f"{what} has the wrong wire type ({wire})")

    def ints(self, wire: int, value: Any, at: int, signed: bool = True) -> list[int]:
        """A repeated integer field: one varint, or a packed run of them."""
        if wire == 0:
            return [_signed(value) if signed else value]
        if wire != 2:
            raise self.fail(at, f"a list of integers has the wrong wire type ({wire})")
        out = []
        pos, end = value
        while pos < end:
            b = self.buf[pos]
            if b < 0x80:
                v = b
                pos += 1
            else:
                v, pos = self.varint(pos, end)
            out.append(_signed(v) if signed else v)
        return out

    def floats(self, wire: int, value: Any, at: int, double: bool = False) -> list[float]:
        """A repeated float (or double) field: one fixed-size value, or a packed run."""
        unpack = _FLOAT64 if double else _FLOAT32
        if wire == (1 if double else 5):
            return [unpack.unpack_from(self.buf, value)[0]]
        if wire != 2:
            raise self.fail(at, f"a list of numbers has the wrong wire type ({wire})")
        start, end = value
        if (end - start) % unpack.size:
            raise self.fail(at, f"a packed list of numbers of {end - start} bytes")
        return [v[0] for v in unpack.iter_unpack(bytes(self.buf[start:end]))]

    # ------------------------------------------------------------------ messages

    def model(self) -> Model:
        end = len(self.buf)
        ir_version = 0
        opsets: dict[str, int] = {}
        producer = version = ""
        graph: Graph | None = None
        functions: list[str] = []
        for number, wire, value, at in self.fields(0, end):
            if number == 1:
                self.expect(wire, 0, at, "ir_version")
                ir_version = value
            elif number == 2:
                self.expect(wire, 2, at, "producer_name")
                producer = self.text(value, at)
            elif number == 3:
                self.expect(wire, 2, at, "producer_version")
                version = self.text(value, at)
            elif number == 7:
                self.expect(wire, 2, at, "the graph")
                if graph is not None:
                    raise self.fail(at, "a second graph")
                graph = self.graph(value)
            elif number == 8:
                self.expect(wire, 2, at, "an opset_import")
                domain, opset = self.opset(value)
                opsets[domain] = opset
            elif number == 25:
                self.expect(wire, 2, at, "a function")
                functions.append(self.function_name(value))
        if graph is None or not ir_version:
            raise OnnxFileError(
                f"{self.path}: not an ONNX model (it has no {'graph' if graph is None else 'ir_version'})"
            )
        return Model(self.path, ir_version, opsets, producer, version, graph, tuple(functions))

    def opset(self, span: tuple[int, int]) -> tuple[str, int]:
        domain, version = "", 0
        for number, wire, value, at in self.fields(*span):
            if number == 1:
                self.expect(wire, 2, at, "an opset domain")
                domain = self.text(value, at)
            elif number == 2:
                self.expect(wire, 0, at, "an opset version")
                version = value
        return domain, version

    def function_name(self, span: tuple[int, int]) -> str:
        name = domain = ""
        for number, wire, value, at in self.fields(*span):
            if number == 1 and wire == 2:
                name = self.text(value, at)
            elif number == 10 and wire == 2:
                domain = self.text(value, at)
        return f"{domain}.{name}" if domain else name

    def graph(self, span: tuple[int, int]) -> Graph:
        nodes: list[Node] = []
        initializers: list[Tensor] = []
        inputs: list[ValueInfo] = []
        outputs: list[ValueInfo] = []
        value_info: list[ValueInfo] = []
        name = ""
        sparse = 0
        for number, wire, value, at in self.fields(*span):
            if number == 1:
                self.expect(wire, 2, at, "a node")
                nodes.append(self.node(value, at))
            elif number == 5:
                self.expect(wire, 2, at, "an initializer")
                initializers.append(self.tensor(value, at))
            elif number == 11:
                self.expect(wire, 2, at, "a graph input")
                inputs.append(self.value_info(value, at))
            elif number == 12:
                self.expect(wire, 2, at, "a graph output")
                outputs.append(self.value_info(value, at))
            elif number == 13:
                self.expect(wire, 2, at, "a value_info")
                value_info.append(self.value_info(value, at))
            elif number == 2:
                self.expect(wire, 2, at, "the graph name")
                name = self.text(value, at)
            elif number == 15:
                sparse += 1
        return Graph(name, tuple(nodes), tuple(initializers), tuple(inputs), tuple(outputs), tuple(value_info), sparse)

    def node(self, span: tuple[int, int], position: int) -> Node:
        inputs: list[str] = []
        outputs: list[str] = []
        name = op_type = domain = ""
        attributes: dict[str, Any] = {}
        metadata: dict[str, str] = {}
        for number, wire, value, at in self.fields(*span):
            if wire != 2:
                continue  # every field read here is length-delimited; others are skipped
            if number == 1:
                inputs.append(self.text(value, at))
            elif number == 2:
                outputs.append(self.text(value, at))
            elif number == 3:
                name = self.text(value, at)
            elif number == 4:
                op_type = self.text(value, at)
            elif number == 5:
                attribute = self.attribute(value, at)
                attributes[attribute.name] = attribute.value
            elif number == 7:
                domain = self.text(value, at)
            elif number == 9:
                key, text = self.entry(value, METADATA_KEYS)
                if key:
                    metadata[key] = text
        if not op_type:
            raise self.fail(position, f"node {name!r} has no op_type")
        return Node(name, op_type, domain, tuple(inputs), tuple(outputs), attributes, metadata, position)

    def entry(self, span: tuple[int, int], wanted: frozenset[str] | None = None) -> tuple[str, str]:
        """A StringStringEntryProto; ("", "") when ``wanted`` is given and does not hold the key."""
        key = value_text = ""
        found = self.fields(*span)
        for number, wire, value, at in found:
            if number == 1 and wire == 2:
                key = self.text(value, at)
        if wanted is not None and key not in wanted:
            return "", ""
        for number, wire, value, at in found:
            if number == 2 and wire == 2:
                value_text = self.text(value, at)
        return key, value_text

    def attribute(self, span: tuple[int, int], position: int) -> Attribute:
        name = ""
        kind = 0
        scalar: Any = None
        floats: list[float] = []
        ints: list[int] = []
        strings: list[str] = []
        tensor: Tensor | None = None
        graphs = 0
        for number, wire, value, at in self.fields(*span):
            if number == 1:
                self.expect(wire, 2, at, "an attribute name")
                name = self.text(value, at)
            elif number == 20:
                self.expect(wire, 0, at, "an attribute type")
                kind = value
            elif number == 2:
                self.expect(wire, 5, at, "a float attribute")
                scalar = _FLOAT32.unpack_from(self.buf, value)[0]
                kind = kind or A_FLOAT
            elif number == 3:
                self.expect(wire, 0, at, "an int attribute")
                scalar = _signed(value)
                kind = kind or A_INT
            elif number == 4:
                self.expect(wire, 2, at, "a string attribute")
                scalar = bytes(self.buf[value[0] : value[1]]).decode("utf-8", "replace")
                kind = kind or A_STRING
            elif number == 5:
                self.expect(wire, 2, at, "a tensor attribute")
                tensor = self.tensor(value, at)
                kind = kind or A_TENSOR
            elif number in (6, 11):
                graphs += 1
                kind = kind or (A_GRAPH if number == 6 else A_GRAPHS)
            elif number == 7:
                floats += self.floats(wire, value, at)
                kind = kind or A_FLOATS
            elif number == 8:
                ints += self.ints(wire, value, at)
                kind = kind or A_INTS
            elif number == 9:
                self.expect(wire, 2, at, "a strings attribute")
                strings.append(bytes(self.buf[value[0] : value[1]]).decode("utf-8", "replace"))
                kind = kind or A_STRINGS
        if not name:
            raise self.fail(position, "an attribute without a name")
        if kind in (A_FLOAT, A_INT, A_STRING):
            if scalar is None:  # a zero is left out of the message: the type says which zero
                scalar = {A_FLOAT: 0.0, A_INT: 0, A_STRING: ""}[kind]
            return Attribute(name, scalar)
        if kind == A_TENSOR:
            if tensor is None:
                raise self.fail(position, f"attribute {name!r} says it is a tensor but holds none")
            return Attribute(name, tensor)
        if kind == A_FLOATS:
            return Attribute(name, tuple(floats))
        if kind == A_INTS:
            return Attribute(name, tuple(ints))
        if kind == A_STRINGS:
            return Attribute(name, tuple(strings))
        if kind in (A_GRAPH, A_GRAPHS):
            return Attribute(name, "<graph>")
        if kind == 0:  # an empty list: protobuf cannot say which kind of list
            return Attribute(name, ())
        return Attribute(name, f"<attribute type {kind}>")

    def tensor(self, span: tuple[int, int], position: int) -> Tensor:
        dims: list[int] = []
        dtype = 0
        name = ""
        raw: tuple[int, int] | None = None
        typed: list[Field] = []
        external: dict[str, str] = {}
        location = 0
        for number, wire, value, at in self.fields(*span):
            if number == 1:
                dims += self.ints(wire, value, at)
            elif number == 2:
                self.expect(wire, 0, at, "a tensor's data_type")
                dtype = value
            elif number == 8:
                self.expect(wire, 2, at, "a tensor name")
                name = self.text(value, at)
            elif number == 9:
                self.expect(wire, 2, at, "a tensor's raw_data")
                raw = value
            elif number in (4, 5, 7, 10, 11):
                typed.append((number, wire, value, at))
            elif number == 13:
                self.expect(wire, 2, at, "a tensor's external_data")
                key, text = self.entry(value)
                external[key] = text
            elif number == 14:
                self.expect(wire, 0, at, "a tensor's data_location")
                location = value
            elif number == 3:
                raise self.fail(at, f"tensor {name!r} is split into segments (not supported)")
        if any(d < 0 for d in dims):
            raise self.fail(position, f"tensor {name!r} has a negative dimension {dims}")
        size = 1
        for d in dims:
            size *= d
        if location == 1 or external:
            return Tensor(name, tuple(dims), dtype, None, self.external(external, name, position), position)
        data: bytes | None = None
        element = ELEMENT_FORMATS.get(dtype)
        if raw is not None:
            if element is not None and raw[1] - raw[0] != size * element[1]:
                raise self.fail(
                    position,
                    f"tensor {name!r} of shape {dims} ({TYPE_NAMES.get(dtype, dtype)}) holds "
                    f"{raw[1] - raw[0]} bytes, not {size * element[1]}",
                )
            if raw[1] - raw[0] <= SMALL_TENSOR_BYTES:
                data = bytes(self.buf[raw[0] : raw[1]])
        elif typed and element is not None and size * element[1] <= SMALL_TENSOR_BYTES:
            data = self.typed_data(typed, dtype, size, name, position)
        return Tensor(name, tuple(dims), dtype, data, None, position)

    def typed_data(self, typed: list[Field], dtype: int, size: int, name: str, position: int) -> bytes:
        """A small tensor stored in float_data / int32_data / int64_data / double_data / uint64_data,
        packed as raw little-endian bytes of its type."""
        values: list[Any] = []
        for number, wire, value, at in typed:
            if number == 4:
                values += self.floats(wire, value, at)
            elif number == 10:
                values += self.floats(wire, value, at, double=True)
            else:
                values += self.ints(wire, value, at, signed=number != 11)
        fmt = ELEMENT_FORMATS[dtype][0]
        if dtype == FLOAT16:  # float16 values are stored as their bit patterns in int32_data
            fmt = "H"
        elif dtype == BOOL:
            fmt = "B"
        if len(values) != size:
            raise self.fail(position, f"tensor {name!r} holds {len(values)} values, not {size}")
        try:
            return struct.pack(f"<{size}{fmt}", *values)
        except struct.error:
            raise self.fail(position, f"tensor {name!r} holds a value out of range for its type") from None

    def external(self, entries: dict[str, str], name: str, position: int) -> tuple[str, int, int]:
        location = entries.get("location", "")
        if not location:
            raise self.fail(position, f"tensor {name!r} is stored outside the file but names no location")
        try:
            offset = int(entries.get("offset", "0"))
            length = int(entries.get("length", "-1"))
        except ValueError:
            raise self.fail(position, f"tensor {name!r}: an external offset or length that is not a number") from None
        return location, offset, length

    def value_info(self, span: tuple[int, int], position: int) -> ValueInfo:
        name = ""
        kind = "none"
        dtype = 0
        dims: tuple[int | str | None, ...] | None = None
        for number, wire, value, at in self.fields(*span):
            if number == 1:
                self.expect(wire, 2, at, "a value name")
                name = self.text(value, at)
            elif number == 2:
                self.expect(wire, 2, at, "a value type")
                kind, dtype, dims = self.type_proto(value)
        return ValueInfo(name, kind, dtype, dims, position)

    def type_proto(self, span: tuple[int, int]) -> tuple[str, int, tuple[int | str | None, ...] | None]:
        kinds = {4: "sequence", 5: "map", 8: "sparse tensor", 9: "optional"}
        for number, wire, value, _ in self.fields(*span):
            if number == 1 and wire == 2:
                return ("tensor", *self.tensor_type(value))
            if number in kinds:
                return kinds[number], 0, None
        return "none", 0, None

    def tensor_type(self, span: tuple[int, int]) -> tuple[int, tuple[int | str | None, ...] | None]:
        dtype = 0
        dims: list[int | str | None] | None = None
        for number, wire, value, at in self.fields(*span):
            if number == 1:
                self.expect(wire, 0, at, "an element type")
                dtype = value
            elif number == 2:
                self.expect(wire, 2, at, "a tensor shape")
                dims = []
                for dim_number, dim_wire, dim, dim_at in self.fields(*value):
                    if dim_number == 1:
                        self.expect(dim_wire, 2, dim_at, "a dimension")
                        dims.append(self.dimension(dim))
        return dtype, None if dims is None else tuple(dims)

    def dimension(self, span: tuple[int, int]) -> int | str | None:
        for number, wire, value, at in self.fields(*span):
            if number == 1 and wire == 0:
                return _signed(value)
            if number == 2 and wire == 2:
                return self.text(value, at)
        return None


def _signed(value: int) -> int:
    """A varint as the int64 it encodes (negative numbers are ten-byte two's complement)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def read_external(model_path: str, tensor: Tensor, max_bytes: int = SMALL_TENSOR_BYTES) -> bytes:
    """The bytes of a small tensor stored in a side file beside the model (shape arithmetic needs a
    few; weights are never read). The location must stay inside the model's folder."""
    location, offset, length = tensor.external or ("", 0, -1)
    element = ELEMENT_FORMATS.get(tensor.dtype)
    expected = tensor.size * element[1] if element else -1
    if length < 0:
        length = expected
    if expected >= 0 and length != expected:
        raise OnnxFileError(
            f"{model_path}: tensor '{tensor.name}' is {length} bytes in {location}, not the {expected} its shape needs"
        )
    if length > max_bytes:
        raise OnnxFileError(f"{model_path}: tensor '{tensor.name}' is too large ({length} bytes) to read its values")
    if os.path.isabs(location) or ".." in location.replace("\\", "/").split("/"):
        raise OnnxFileError(
            f"{model_path}: tensor '{tensor.name}' is stored at {location!r}, outside the model's folder"
        )
    side = os.path.join(os.path.dirname(os.path.abspath(model_path)), location)
    try:
        with open(side, "rb") as f:
            f.seek(offset)
            data = f.read(length)
    except FileNotFoundError:
        raise OnnxFileError(
            f"{model_path}: tensor '{tensor.name}' is stored in {location}, which is not beside the model"
        ) from None
    except OSError as e:
        raise OnnxFileError(f"{model_path}: {location} cannot be read ({e.strerror or e})") from None
    if len(data) != length:
        raise OnnxFileError(f"{model_path}: {location} ends before tensor '{tensor.name}' (offset {offset})")
    return data


def unpack(tensor: Tensor, data: bytes) -> list[Any]:
    """The values of a tensor of a type convcost reads (ints, floats, bools), flat, in order."""
    element = ELEMENT_FORMATS.get(tensor.dtype)
    if element is None:
        raise ValueError(f"tensor '{tensor.name}': values of type {TYPE_NAMES.get(tensor.dtype, tensor.dtype)}")
    fmt, size = element
    return list(struct.unpack(f"<{len(data) // size}{fmt}", data))
