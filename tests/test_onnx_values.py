"""The shape arithmetic convcost evaluates (``onnx_values``) against ONNX's own reference
implementation (``onnx.reference.ReferenceEvaluator``), operator by operator, on random values."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

from convcost.interop import onnx_wire as wire
from convcost.interop.onnx_values import EvaluationError, Value, evaluate

OPSET = 18
DTYPES = {
    np.dtype(np.int64): TensorProto.INT64,
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(bool): TensorProto.BOOL,
}


def value_of(array: np.ndarray) -> Value:
    return Value(tuple(array.shape), tuple(array.reshape(-1).tolist()), DTYPES[array.dtype])


def reference(
    op: str, inputs: list[np.ndarray | None], attributes: dict[str, Any], outputs: int = 1
) -> list[np.ndarray]:
    names = [f"i{k}" if a is not None else "" for k, a in enumerate(inputs)]
    node = helper.make_node(op, names, [f"o{k}" for k in range(outputs)], **attributes)
    graph = helper.make_graph(
        [node],
        "g",
        [
            helper.make_tensor_value_info(n, DTYPES[a.dtype], a.shape)
            for n, a in zip(names, inputs, strict=True)
            if a is not None
        ],
        [helper.make_tensor_value_info(f"o{k}", TensorProto.UNDEFINED, None) for k in range(outputs)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    feeds = {n: a for n, a in zip(names, inputs, strict=True) if a is not None}
    return list(ReferenceEvaluator(model).run(None, feeds))


def assert_evaluates_as_reference(
    op: str, inputs: list[np.ndarray | None], attributes: dict[str, Any] | None = None, outputs: int = 1
) -> None:
    attributes = attributes or {}
    ours = evaluate(op, attributes, [None if a is None else value_of(a) for a in inputs], OPSET, outputs)
    theirs = reference(op, inputs, attributes, outputs)
    assert len(ours) == len(theirs)
    for mine, expected in zip(ours, theirs, strict=True):
        assert mine.shape == tuple(expected.shape)
        np.testing.assert_allclose(
            np.array(mine.data, dtype=np.float64), expected.reshape(-1).astype(np.float64), rtol=1e-6
        )


small_ints = st.integers(-20, 20)


@st.composite
def int_arrays(draw: st.DrawFn, rank: int | None = None, positive: bool = False) -> np.ndarray:
    rank = draw(st.integers(0, 3)) if rank is None else rank
    shape = draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank))
    values = st.integers(1, 20) if positive else small_ints
    data = draw(st.lists(values, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    return np.array(data, np.int64).reshape(shape)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["Add", "Sub", "Mul", "Div", "Max", "Min", "Equal", "Less", "Greater"]), st.data())
def test_binary_arithmetic_broadcasts_as_onnx(op: str, data: st.DataObject) -> None:
    a = data.draw(int_arrays())
    b = data.draw(int_arrays(rank=data.draw(st.integers(0, a.ndim)), positive=op == "Div"))
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        with pytest.raises(EvaluationError, match="do not broadcast"):
            evaluate(op, {}, [value_of(a), value_of(b)], OPSET)
        return
    assert_evaluates_as_reference(op, [a, b])


@settings(max_examples=40, deadline=None)
@given(int_arrays(rank=1), st.data())
def test_slice_as_onnx(x: np.ndarray, data: st.DataObject) -> None:
    """Negative bounds, INT64 max / min as open ends, negative steps (the computed Pads reverse a list)."""
    bounds = st.sampled_from([-(2**63), -5, -2, -1, 0, 1, 2, 5, 2**63 - 1])
    starts, ends = np.array([data.draw(bounds)]), np.array([data.draw(bounds)])
    steps = np.array([data.draw(st.sampled_from([-2, -1, 1, 2]))])
    assert_evaluates_as_reference("Slice", [x, starts, ends, np.array([0]), steps])


@settings(max_examples=40, deadline=None)
@given(int_arrays(rank=3), st.data())
def test_gather_transpose_concat_reduce_as_onnx(x: np.ndarray, data: st.DataObject) -> None:
    axis = data.draw(st.integers(-3, 2))
    indices = np.array(data.draw(st.lists(st.integers(-x.shape[axis], x.shape[axis] - 1), min_size=1, max_size=3)))
    assert_evaluates_as_reference("Gather", [x, indices], {"axis": axis})
    assert_evaluates_as_reference("Gather", [x, indices[:1].reshape(())], {"axis": axis})
    perm = data.draw(st.permutations([0, 1, 2]))
    assert_evaluates_as_reference("Transpose", [x], {"perm": list(perm)})
    assert_evaluates_as_reference("Concat", [x, x[:1] if axis % 3 == 0 else x], {"axis": 0 if axis % 3 == 0 else axis})
    keep = data.draw(st.integers(0, 1))
    for op in ("ReduceProd", "ReduceSum", "ReduceMax", "ReduceMin"):
        assert_evaluates_as_reference(op, [x, np.array([axis])], {"keepdims": keep})


def test_shape_changes_as_onnx() -> None:
    x = np.arange(24, dtype=np.int64).reshape(2, 3, 4)
    assert_evaluates_as_reference("Reshape", [x, np.array([0, -1])])
    assert_evaluates_as_reference("Reshape", [x, np.array([4, 0, 2])])
    assert_evaluates_as_reference("Unsqueeze", [x, np.array([0, -1])])
    assert_evaluates_as_reference("Squeeze", [x[:, :1], np.array([1])])
    assert_evaluates_as_reference("Flatten", [x], {"axis": 2})
    assert_evaluates_as_reference("Expand", [np.array([[1], [2]]), np.array([2, 1, 3])])
    assert_evaluates_as_reference("Tile", [x, np.array([1, 2, 1])])
    assert_evaluates_as_reference("Split", [x, np.array([1, 3])], {"axis": 2}, outputs=2)
    assert_evaluates_as_reference("Split", [np.arange(7)], {"num_outputs": 3}, outputs=3)


def test_casts_fills_and_ranges_as_onnx() -> None:
    f = np.array([1.7, -1.7, 2.5, 0.0], np.float32)
    assert_evaluates_as_reference("Cast", [f], {"to": TensorProto.INT64})  # truncates toward zero
    assert_evaluates_as_reference("Cast", [np.array([3, -4])], {"to": TensorProto.FLOAT})
    assert_evaluates_as_reference("Floor", [f])
    assert_evaluates_as_reference("Ceil", [f])
    assert_evaluates_as_reference("Neg", [np.array([3, -4])])
    assert_evaluates_as_reference("Range", [np.array(2), np.array(11), np.array(3)])
    assert_evaluates_as_reference(
        "Range", [np.array(5.0, np.float32), np.array(0.0, np.float32), np.array(-1.5, np.float32)]
    )
    assert_evaluates_as_reference("Where", [np.array([True, False]), np.array([1, 2]), np.array([7])])
    assert_evaluates_as_reference("Not", [np.array([True, False])])
    assert_evaluates_as_reference("Mod", [np.array([7, -7, 7]), np.array([3, 3, -3])])
    assert_evaluates_as_reference("Div", [np.array([7, -7, 7]), np.array([2, 2, -2])])  # truncates
    fill = numpy_helper.from_array(np.array([3], np.int64))
    ours = evaluate(
        "ConstantOfShape", {"value": value_of(np.array([3], np.int64))}, [value_of(np.array([2, 3]))], OPSET
    )
    np.testing.assert_array_equal(
        np.array(ours[0].data).reshape(ours[0].shape),
        reference("ConstantOfShape", [np.array([2, 3])], {"value": fill})[0],
    )
    assert evaluate("Size", {}, [value_of(np.zeros((2, 3), np.int64))], OPSET)[0].data == (6,)


def test_what_is_not_evaluated_says_so() -> None:
    with pytest.raises(EvaluationError, match="Conv is not evaluated"):
        evaluate("Conv", {}, [], OPSET)
    with pytest.raises(EvaluationError, match="an integer division by zero"):
        evaluate("Div", {}, [value_of(np.array([1])), value_of(np.array([0]))], OPSET)
    with pytest.raises(EvaluationError, match="Gather index 5 is out of range"):
        evaluate("Gather", {}, [value_of(np.array([1, 2])), value_of(np.array([5]))], OPSET)
    with pytest.raises(EvaluationError, match="cannot reshape"):
        evaluate("Reshape", {}, [value_of(np.arange(6)), value_of(np.array([4, -1]))], OPSET)
    assert wire.INT64 == TensorProto.INT64 and wire.FLOAT16 == TensorProto.FLOAT16
