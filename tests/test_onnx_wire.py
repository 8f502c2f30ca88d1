"""convcost's ONNX decoder against the ``onnx`` package: the same nodes, attributes, tensors and
shapes on files every exporter writes; every malformed byte a clean error naming its position."""

from __future__ import annotations

import math
import os
import re
import stat
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from convcost.errors import ConvcostError, SpecFileError
from convcost.interop import onnx_wire as wire

#: what a test reads a file with: the decoder (the reader's tests read whole networks)
read = wire.read_model

CASES = [
    ("zoo_mobilenet_v1", "ts9"),  # attributes where later opsets have inputs (Clip, Pad, Slice)
    ("zoo_mobilenet_v1", "ts13"),
    ("zoo_mobilenet_v1", "dynamo"),  # weights in model.onnx.data, node metadata
    ("zoo_mobilenet_v1", "dynamo_noopt"),  # Constant nodes with value_ints / value_float
    ("hf_mobilenet_v2", "ts11"),  # Pads computed by subgraphs
]


def attribute_value(attribute: onnx.AttributeProto) -> Any:
    value = helper.get_attribute_value(attribute)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, onnx.GraphProto):
        return "<graph>"
    if isinstance(value, list):
        return tuple(v.decode() if isinstance(v, bytes) else v for v in value)
    return value


def same_tensor(ours: wire.Tensor, theirs: onnx.TensorProto) -> None:
    assert (ours.name, ours.dims, ours.dtype) == (theirs.name, tuple(theirs.dims), theirs.data_type)
    if theirs.data_location == TensorProto.EXTERNAL:
        info = {e.key: e.value for e in theirs.external_data}
        assert ours.external == (info["location"], int(info.get("offset", 0)), int(info.get("length", -1)))
        assert ours.data is None
    elif ours.data is not None:
        assert ours.data == numpy_helper.to_array(theirs).tobytes()
    else:  # left in the file: a weight
        assert math.prod(theirs.dims) * numpy_helper.to_array(theirs).itemsize > wire.SMALL_TENSOR_BYTES


def same_dims(ours: wire.ValueInfo, theirs: onnx.ValueInfoProto) -> None:
    assert ours.name == theirs.name
    dims = tuple(
        d.dim_value if d.HasField("dim_value") else d.dim_param if d.HasField("dim_param") else None
        for d in theirs.type.tensor_type.shape.dim
    )
    assert ours.dims == (dims if theirs.type.tensor_type.HasField("shape") else None)
    assert ours.dtype == theirs.type.tensor_type.elem_type


def assert_same_as_onnx(path: Path) -> None:
    ours, theirs = wire.read_model(str(path)), onnx.load(str(path), load_external_data=False)
    assert ours.ir_version == theirs.ir_version
    assert ours.opsets == {o.domain: o.version for o in theirs.opset_import}
    assert (ours.producer_name, ours.producer_version) == (theirs.producer_name, theirs.producer_version)
    g, h = ours.graph, theirs.graph
    assert len(g.nodes) == len(h.node)
    for node, proto in zip(g.nodes, h.node, strict=True):
        assert (node.name, node.op_type, node.domain) == (proto.name, proto.op_type, proto.domain)
        assert (node.inputs, node.outputs) == (tuple(proto.input), tuple(proto.output))
        assert set(node.attributes) == {a.name for a in proto.attribute}
        for attribute in proto.attribute:
            mine, value = node.attributes[attribute.name], attribute_value(attribute)
            if isinstance(value, onnx.TensorProto):
                same_tensor(mine, value)
            elif isinstance(value, float) or (isinstance(value, tuple) and value and isinstance(value[0], float)):
                np.testing.assert_array_equal(np.float32(mine), np.float32(value))
            else:
                assert mine == value, (node.name, attribute.name)
        wanted = {p.key: p.value for p in proto.metadata_props if p.key in wire.METADATA_KEYS}
        assert node.metadata == wanted
    assert len(g.initializers) == len(h.initializer)
    for tensor, proto in zip(g.initializers, h.initializer, strict=True):
        same_tensor(tensor, proto)
    for ours_list, theirs_list in ((g.inputs, h.input), (g.outputs, h.output), (g.value_info, h.value_info)):
        assert len(ours_list) == len(theirs_list)
        for vi, proto in zip(ours_list, theirs_list, strict=True):
            same_dims(vi, proto)


@pytest.mark.parametrize("source, exporter", CASES)
def test_the_decoder_reads_what_onnx_load_reads(onnx_exports: Any, source: str, exporter: str) -> None:
    assert_same_as_onnx(onnx_exports.torch(source, exporter).path)


@pytest.mark.parametrize("exporter", ["default", "fixed_batch"])
def test_the_decoder_reads_keras_exports(onnx_exports: Any, exporter: str) -> None:
    assert_same_as_onnx(onnx_exports.keras("keras_small", exporter).path)


# ---------------------------------------------------------------------------------------- by hand


def tiny(path: Path, **save: Any) -> onnx.ModelProto:
    """A conv, a Constant-shaped Reshape and a Gemm, with tensors stored every way protobuf allows."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    # typed fields instead of raw_data: float_data, int64_data, int32_data (float16 bit patterns)
    b = helper.make_tensor("b", TensorProto.FLOAT, [4], [0.5, -1.0, 2.0, 0.25])
    half = helper.make_tensor("half", TensorProto.FLOAT16, [2], [1.5, -2.0])
    typed = helper.make_tensor("typed", TensorProto.INT64, [2], [1, -1])
    shape = numpy_helper.from_array(np.array([1, -1], np.int64), "shape")  # raw: a side file can hold it
    fc = numpy_helper.from_array(rng.standard_normal((10, 64)).astype(np.float32), "fc")
    nodes = [
        helper.make_node(
            "Conv", ["x", "w", "b"], ["c"], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]
        ),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Constant", [], ["k"], name="k", value_floats=[0.1, 0.2]),
        helper.make_node("Reshape", ["r", "shape"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "fc"], ["y"], name="fc", transB=1, alpha=1.0, beta=1.0),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])],
        [w, b, half, typed, shape, fc],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="hand")
    onnx.save(model, str(path), **save)
    return model


def test_typed_fields_and_constants_read_as_onnx_does(tmp_path: Path) -> None:
    tiny(tmp_path / "tiny.onnx")
    assert_same_as_onnx(tmp_path / "tiny.onnx")
    ours = wire.read_model(str(tmp_path / "tiny.onnx"))
    half = next(t for t in ours.graph.initializers if t.name == "half")
    assert wire.unpack(half, half.data or b"") == [1.5, -2.0]


def test_every_tensor_in_a_side_file(tmp_path: Path) -> None:
    """size_threshold=0 puts even the Reshape target in the side file: read by offset, when needed."""
    path = tmp_path / "ext.onnx"
    tiny(path, save_as_external_data=True, all_tensors_to_one_file=True, location="ext.data", size_threshold=0)
    assert_same_as_onnx(path)
    shape = next(t for t in wire.read_model(str(path)).graph.initializers if t.name == "shape")
    assert wire.unpack(shape, wire.read_external(str(path), shape)) == [1, -1]


def test_a_side_file_outside_the_models_folder_is_refused(tmp_path: Path) -> None:
    tensor = wire.Tensor("t", (2,), wire.INT64, external=("../elsewhere.data", 0, 16))
    with pytest.raises(wire.OnnxFileError, match=r"tensor 't' is stored at '\.\./elsewhere\.data', outside"):
        wire.read_external(str(tmp_path / "m.onnx"), tensor)
    with pytest.raises(wire.OnnxFileError, match="is not beside the model"):
        wire.read_external(str(tmp_path / "m.onnx"), wire.Tensor("t", (2,), wire.INT64, external=("x.data", 0, 16)))
    (tmp_path / "short.data").write_bytes(b"\0" * 8)
    short = wire.Tensor("t", (2,), wire.INT64, external=("short.data", 0, 16))
    with pytest.raises(wire.OnnxFileError, match=re.escape("short.data ends before tensor 't'")):
        wire.read_external(str(tmp_path / "m.onnx"), short)
    wrong = wire.Tensor("t", (2,), wire.INT64, external=("short.data", 0, 4))
    with pytest.raises(wire.OnnxFileError, match=re.escape("is 4 bytes in short.data, not the 16 its shape needs")):
        wire.read_external(str(tmp_path / "m.onnx"), wrong)


def test_subgraphs_and_functions_are_recorded_not_read(tmp_path: Path) -> None:
    then = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["a"])],
        "then",
        [],
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1])],
    )
    node = helper.make_node("If", ["cond"], ["y"], then_branch=then, else_branch=then)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("cond", TensorProto.BOOL, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    function = helper.make_function(
        "local", "MyOp", ["a"], ["b"], [helper.make_node("Relu", ["a"], ["b"])], [helper.make_opsetid("", 17)]
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("local", 1)], functions=[function]
    )
    onnx.save(model, str(tmp_path / "if.onnx"))
    ours = wire.read_model(str(tmp_path / "if.onnx"))
    assert ours.graph.nodes[0].attributes == {"then_branch": "<graph>", "else_branch": "<graph>"}
    assert ours.functions == ("local.MyOp",)


# ---------------------------------------------------------------------------------------- not ONNX


def test_files_that_are_not_onnx_models(tmp_path: Path) -> None:
    (tmp_path / "empty.onnx").write_bytes(b"")
    with pytest.raises(wire.OnnxFileError, match=re.escape("empty.onnx: the file is empty, not an ONNX model")):
        wire.read_model(str(tmp_path / "empty.onnx"))
    (tmp_path / "text.onnx").write_text("name = 'a spec file'\n")
    with pytest.raises(wire.OnnxFileError, match=r"text.onnx: byte \d+: "):
        wire.read_model(str(tmp_path / "text.onnx"))
    (tmp_path / "zero.onnx").write_bytes(b"\0" * 64)
    with pytest.raises(
        wire.OnnxFileError, match=re.escape("zero.onnx: byte 0: field number 0 is not protobuf: not an ONNX")
    ):
        wire.read_model(str(tmp_path / "zero.onnx"))
    (tmp_path / "nograph.onnx").write_bytes(bytes([0x08, 0x07]))  # ir_version 7 and nothing else
    with pytest.raises(wire.OnnxFileError, match=re.escape("nograph.onnx: not an ONNX model (it has no graph)")):
        wire.read_model(str(tmp_path / "nograph.onnx"))
    with pytest.raises(SpecFileError, match=re.escape("missing.onnx: no such file")):
        wire.read_model(str(tmp_path / "missing.onnx"))
    (tmp_path / "folder.onnx").mkdir()
    with pytest.raises(SpecFileError, match=re.escape("folder.onnx: is a directory")):
        wire.read_model(str(tmp_path / "folder.onnx"))


def test_a_file_from_a_pipe_is_read_too(tmp_path: Path) -> None:
    tiny(tmp_path / "tiny.onnx")
    fifo = tmp_path / "fifo.onnx"
    os.mkfifo(fifo)
    import threading

    data = (tmp_path / "tiny.onnx").read_bytes()
    writer = threading.Thread(target=lambda: fifo.write_bytes(data))
    writer.start()
    try:
        assert stat.S_ISFIFO(os.stat(fifo).st_mode)
        assert len(wire.read_model(str(fifo)).graph.nodes) == 5
    finally:
        writer.join()


def test_every_cut_of_a_file_is_a_clean_error(tmp_path: Path) -> None:
    """A file cut short anywhere reads as a model (a cut between top-level fields) or fails as one
    line naming the file and the byte; never another exception."""
    tiny(tmp_path / "tiny.onnx")
    data = (tmp_path / "tiny.onnx").read_bytes()
    cut = tmp_path / "cut.onnx"
    failures = 0
    for end in range(1, len(data)):
        cut.write_bytes(data[:end])
        try:
            read(str(cut))
        except wire.OnnxFileError as e:
            failures += 1
            assert str(e).startswith(f"{cut}: ") and "\n" not in str(e)
    assert failures > len(data) // 2


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_corrupted_bytes_are_clean_errors(data: st.DataObject) -> None:
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"convcost-corrupt-{os.getpid()}.onnx"
    if not (base := getattr(test_corrupted_bytes_are_clean_errors, "base", None)):
        tiny(path)
        base = path.read_bytes()
        test_corrupted_bytes_are_clean_errors.base = base  # type: ignore[attr-defined]
    corrupted = bytearray(base)
    for _ in range(data.draw(st.integers(1, 8))):
        corrupted[data.draw(st.integers(0, len(corrupted) - 1))] = data.draw(st.integers(0, 255))
    path.write_bytes(bytes(corrupted))
    try:
        read(str(path))
    except ConvcostError as e:
        assert "\n" not in str(e)
    finally:
        path.unlink()
