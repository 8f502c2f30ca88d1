"""The values of small ONNX tensors, and the ONNX operators that compute them: shape arithmetic.

Exporters compute sizes inside the graph: a Reshape target from ``Shape -> Gather -> Unsqueeze ->
Concat``, Pad amounts from ``ConstantOfShape -> Concat -> Reshape -> Slice -> Transpose -> Cast``,
TF-style 'same' padding from the input size. ``onnx.shape_inference`` gives up on some of these;
convcost evaluates them, on plain Python numbers (a few dozen values at most), so that every
tensor of the network gets its size. Only tensors of at most ``MAX_VALUES`` values are evaluated.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

from convcost.interop.onnx_wire import BOOL, DOUBLE, FLOAT, FLOAT16, FLOAT_TYPES, INT64, INTEGER_TYPES
from convcost.record import record

#: tensors with more values than this are not evaluated (they are weights, or activations)
MAX_VALUES = 1 << 14

Shape = tuple[int, ...]


class EvaluationError(Exception):
    """An operator convcost cannot evaluate on these values (the reader names the node)."""


@record
class Value:
    """A small tensor: its shape, its values flat in row-major order, its ONNX element type."""

    shape: Shape
    data: tuple[Any, ...]
    dtype: int

    @property
    def ints(self) -> list[int]:
        return [int(v) for v in self.data]

    def scalar(self) -> Any:
        if len(self.data) != 1:
            raise EvaluationError(f"expected one value, got {len(self.data)}")
        return self.data[0]


def size(shape: Sequence[int]) -> int:
    return math.prod(shape)


def cast_to(value: Any, dtype: int) -> Any:
    """One value converted as ONNX Cast does (floats to integers truncate toward zero)."""
    if dtype == BOOL:
        return bool(value)
    if dtype in INTEGER_TYPES:
        if isinstance(value, float):
            if not math.isfinite(value):
                raise EvaluationError(f"cannot cast {value} to an integer")
            return int(value)  # truncates toward zero
        return int(value)
    if dtype in FLOAT_TYPES:
        return float(value)
    raise EvaluationError(f"cannot cast to element type {dtype}")


def _strides(shape: Shape) -> list[int]:
    strides = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        strides[i] = strides[i + 1] * shape[i + 1]
    return strides


def broadcast_shapes(*shapes: Shape) -> Shape:
    """NumPy broadcasting (trailing axes aligned; a size of 1 stretches)."""
    rank = max(len(s) for s in shapes)
    out = []
    for axis in range(rank):
        sizes = {s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0}
        if len(sizes - {1}) > 1:
            raise EvaluationError(f"shapes {[list(s) for s in shapes]} do not broadcast")
        out.append(max(sizes) if sizes - {1} else 1 if 1 in sizes else 0)
    return tuple(out)


def _expand(value: Value, shape: Shape) -> list[Any]:
    """``value``'s data broadcast to ``shape``."""
    if value.shape == shape:
        return list(value.data)
    total = size(shape)
    if total > MAX_VALUES:
        raise EvaluationError(f"broadcasting to {list(shape)} makes too many values to evaluate")
    src = (1,) * (len(shape) - len(value.shape)) + value.shape
    src_strides = _strides(src)
    out_strides = _strides(shape)
    data = value.data
    result = []
    for flat in range(total):
        index = 0
        rest = flat
        for axis, stride in enumerate(out_strides):
            i, rest = divmod(rest, stride)
            if src[axis] != 1:
                index += i * src_strides[axis]
        result.append(data[index])
    return result


def _is_int(dtype: int) -> bool:
    return dtype in INTEGER_TYPES


def _divide(a: Any, b: Any, integer: bool) -> Any:
    if integer:
        if b == 0:
            raise EvaluationError("an integer division by zero")
        q = abs(a) // abs(b)
        return q if (a >= 0) == (b >= 0) else -q  # ONNX integer Div truncates toward zero
    if b == 0:
        return math.copysign(math.inf, a) if a else math.nan
    return a / b


def _modulo(a: Any, b: Any, fmod: bool) -> Any:
    if b == 0:
        raise EvaluationError("a modulo by zero")
    if fmod:
        return math.fmod(a, b)
    return a % b  # Python's sign follows the divisor, as ONNX's integer Mod does


def _power(a: Any, b: Any) -> Any:
    try:
        return a**b
    except (OverflowError, ZeroDivisionError) as e:
        raise EvaluationError(f"{a} ** {b}: {e}") from None


_BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "Add": operator.add,
    "Sub": operator.sub,
    "Mul": operator.mul,
    "Pow": _power,
    "Max": max,
    "Min": min,
    "Sum": operator.add,
    "Equal": operator.eq,
    "Less": operator.lt,
    "Greater": operator.gt,
    "LessOrEqual": operator.le,
    "GreaterOrEqual": operator.ge,
    "And": lambda a, b: bool(a) and bool(b),
    "Or": lambda a, b: bool(a) or bool(b),
    "Xor": lambda a, b: bool(a) != bool(b),
    "BitShift": operator.lshift,
}
_COMPARISONS = frozenset({"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor"})


def _round_half_even(v: float) -> float:
    return float(round(v))


_UNARY: dict[str, Callable[[Any], Any]] = {
    "Identity": lambda v: v,
    "Neg": operator.neg,
    "Abs": abs,
    "Floor": lambda v: float(math.floor(v)) if isinstance(v, float) else v,
    "Ceil": lambda v: float(math.ceil(v)) if isinstance(v, float) else v,
    "Round": _round_half_even,
    "Sqrt": lambda v: math.sqrt(v) if v >= 0 else math.nan,
    "Reciprocal": lambda v: _divide(1.0, v, False),
    "Sign": lambda v: (v > 0) - (v < 0),
    "Relu": lambda v: max(v, 0),
    "Not": lambda v: not v,
    "Exp": lambda v: math.exp(v) if v < 700 else math.inf,
}


def _axis(axis: int, rank: int) -> int:
    if not -rank <= axis < max(rank, 1):
        raise EvaluationError(f"axis {axis} is out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


def reshape_target(shape: Shape, target: Sequence[int], allow_zero: bool = False) -> Shape:
    """ONNX Reshape's output shape: 0 copies the input's size (unless ``allow_zero``), -1 is inferred."""
    out = [shape[i] if v == 0 and not allow_zero and i < len(shape) else int(v) for i, v in enumerate(target)]
    if out.count(-1) > 1 or any(v < -1 for v in out):
        raise EvaluationError(f"reshape target {list(target)} is not a shape")
    if -1 in out:
        known = size([v for v in out if v != -1])
        if known == 0 or size(shape) % known:
            raise EvaluationError(f"cannot reshape {list(shape)} to {list(target)}")
        out[out.index(-1)] = size(shape) // known
    if size(out) != size(shape):
        raise EvaluationError(f"cannot reshape {list(shape)} ({size(shape)} values) to {list(target)}")
    return tuple(out)


def slice_ranges(
    shape: Shape, starts: Sequence[int], ends: Sequence[int], axes: Sequence[int] | None, steps: Sequence[int] | None
) -> list[range]:
    """The indices ONNX Slice keeps along every axis (clamped as the operator clamps them)."""
    ranges = [range(d) for d in shape]
    if axes is None:
        axes = list(range(len(starts)))
    if steps is None:
        steps = [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise EvaluationError("Slice's starts, ends, axes and steps differ in length")
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        a = _axis(int(axis), len(shape))
        if step == 0:
            raise EvaluationError("a Slice step of 0")
        ranges[a] = range(shape[a])[slice(int(start), int(end), int(step))]
    return ranges


def _gather_flat(value: Value, ranges: list[range]) -> list[Any]:
    strides = _strides(value.shape)
    indices = [0]
    for r, stride in zip(ranges, strides, strict=True):
        indices = [base + i * stride for base in indices for i in r]
    return [value.data[i] for i in indices]


def transpose(value: Value, perm: Sequence[int]) -> Value:
    shape = tuple(value.shape[p] for p in perm)
    src = _strides(value.shape)
    strides = [src[p] for p in perm]
    indices = [0]
    for d, stride in zip(shape, strides, strict=True):
        indices = [base + i * stride for base in indices for i in range(d)]
    return Value(shape, tuple(value.data[i] for i in indices), value.dtype)


@record
class _Call:
    """One operator evaluated: its attributes, its inputs (None where left empty), the opset, and how
    many outputs the node has."""

    op: str
    attributes: dict[str, Any]
    inputs: list[Value | None]
    opset: int
    outputs: int

    def input(self, i: int, what: str) -> Value:
        v = self.inputs[i] if i < len(self.inputs) else None
        if v is None:
            raise EvaluationError(f"{self.op} needs its {what}")
        return v

    def optional(self, i: int) -> Value | None:
        return self.inputs[i] if i < len(self.inputs) else None


Evaluator = Callable[[_Call], list[Value]]
_EVALUATORS: dict[str, Evaluator] = {}


def _evaluates(*ops: str) -> Callable[[Evaluator], Evaluator]:
    def register(function: Evaluator) -> Evaluator:
        for op in ops:
            _EVALUATORS[op] = function
        return function

    return register


def evaluate(
    op: str, attributes: dict[str, Any], inputs: list[Value | None], opset: int, outputs: int = 1
) -> list[Value]:
    """The outputs of ``op`` on these values (``None`` for an input left empty); ``outputs``: how
    many the node has (Split without sizes splits into that many equal parts)."""
    evaluator = _EVALUATORS.get(op)
    if evaluator is None:
        raise EvaluationError(f"{op} is not evaluated")
    return evaluator(_Call(op, attributes, inputs, opset, outputs))


@_evaluates("Identity", "Dropout")
def _identity(c: _Call) -> list[Value]:
    return [c.input(0, "input")]


@_evaluates("Cast")
def _cast(c: _Call) -> list[Value]:
    to = int(c.attributes.get("to", 0))
    v = c.input(0, "input")
    return [Value(v.shape, tuple(cast_to(d, to) for d in v.data), to)]


@_evaluates("CastLike")
def _cast_like(c: _Call) -> list[Value]:
    v, like = c.input(0, "input"), c.input(1, "target type")
    return [Value(v.shape, tuple(cast_to(d, like.dtype) for d in v.data), like.dtype)]


@_evaluates(*_BINARY, "Div", "Mod")
def _binary(c: _Call) -> list[Value]:
    operands = [v for v in c.inputs if v is not None]
    if not operands:
        raise EvaluationError(f"{c.op} needs inputs")
    fmod = bool(c.attributes.get("fmod", 0))
    result = operands[0]
    for other in operands[1:]:
        shape = broadcast_shapes(result.shape, other.shape)
        pairs = zip(_expand(result, shape), _expand(other, shape), strict=True)
        integer = _is_int(result.dtype)
        if c.op == "Div":
            data = [_divide(p, q, integer) for p, q in pairs]
        elif c.op == "Mod":
            data = [_modulo(p, q, fmod) for p, q in pairs]
        else:
            function = _BINARY[c.op]
            data = [function(p, q) for p, q in pairs]
        dtype = BOOL if c.op in _COMPARISONS else result.dtype
        result = Value(shape, tuple(cast_to(d, dtype) for d in data), dtype)
    return [result]


@_evaluates(*_UNARY)
def _unary(c: _Call) -> list[Value]:
    v = c.input(0, "input")
    dtype = BOOL if c.op == "Not" else v.dtype
    function = _UNARY[c.op]
    return [Value(v.shape, tuple(cast_to(function(d), dtype) for d in v.data), dtype)]


@_evaluates("Where")
def _where(c: _Call) -> list[Value]:
    condition, yes, no = c.input(0, "condition"), c.input(1, "values if true"), c.input(2, "values if false")
    shape = broadcast_shapes(condition.shape, yes.shape, no.shape)
    triples = zip(_expand(condition, shape), _expand(yes, shape), _expand(no, shape), strict=True)
    return [Value(shape, tuple(p if t else q for t, p, q in triples), yes.dtype)]


@_evaluates("Size")
def _size(c: _Call) -> list[Value]:
    return [Value((), (size(c.input(0, "input").shape),), INT64)]


@_evaluates("Gather")
def _gather(c: _Call) -> list[Value]:
    v, index = c.input(0, "data"), c.input(1, "indices")
    axis = _axis(int(c.attributes.get("axis", 0)), len(v.shape))
    n = v.shape[axis]
    picks = []
    for i in index.ints:
        if not -n <= i < n:
            raise EvaluationError(f"Gather index {i} is out of range for a size of {n}")
        picks.append(i + n if i < 0 else i)
    outer, inner = size(v.shape[:axis]), size(v.shape[axis + 1 :])
    data = [v.data[(o * n + i) * inner + j] for o in range(outer) for i in picks for j in range(inner)]
    return [Value((*v.shape[:axis], *index.shape, *v.shape[axis + 1 :]), tuple(data), v.dtype)]


@_evaluates("Concat")
def _concat(c: _Call) -> list[Value]:
    parts = [v for v in c.inputs if v is not None]
    if not parts:
        raise EvaluationError("Concat needs inputs")
    first = parts[0]
    rank = len(first.shape)
    axis = _axis(int(c.attributes.get("axis", 0)), rank)
    rest = first.shape[:axis] + first.shape[axis + 1 :]
    if any(len(v.shape) != rank or v.shape[:axis] + v.shape[axis + 1 :] != rest for v in parts):
        raise EvaluationError(f"Concat of shapes {[list(v.shape) for v in parts]} along axis {axis}")
    data: list[Any] = []
    for o in range(size(first.shape[:axis])):
        for v in parts:
            chunk = size(v.shape[axis:])
            data += v.data[o * chunk : (o + 1) * chunk]
    shape = (*first.shape[:axis], sum(v.shape[axis] for v in parts), *first.shape[axis + 1 :])
    return [Value(shape, tuple(data), first.dtype)]


@_evaluates("Unsqueeze", "Squeeze", "Reshape", "Flatten", "Expand")
def _reshape(c: _Call) -> list[Value]:
    v = c.input(0, "input")
    shape = reshaped(c.op, c.attributes, v.shape, c.optional(1))
    if c.op == "Expand":
        return [Value(shape, tuple(_expand(v, shape)), v.dtype)]
    return [Value(shape, v.data, v.dtype)]


@_evaluates("Tile")
def _tile(c: _Call) -> list[Value]:
    result, repeats = c.input(0, "input"), c.input(1, "repeats")
    for axis, r in enumerate(repeats.ints):
        if r < 0:
            raise EvaluationError("a negative Tile repeat")
        if r == 1:
            continue
        outer, inner = size(result.shape[:axis]), size(result.shape[axis:])
        if size(result.shape) * r > MAX_VALUES:
            raise EvaluationError("a Tile of too many values")
        data = [d for o in range(outer) for _ in range(r) for d in result.data[o * inner : (o + 1) * inner]]
        shape = (*result.shape[:axis], result.shape[axis] * r, *result.shape[axis + 1 :])
        result = Value(shape, tuple(data), result.dtype)
    return [result]


@_evaluates("Transpose")
def _transpose(c: _Call) -> list[Value]:
    v = c.input(0, "input")
    perm = c.attributes.get("perm") or tuple(range(len(v.shape)))[::-1]
    if sorted(perm) != list(range(len(v.shape))):
        raise EvaluationError(f"Transpose perm {list(perm)} for rank {len(v.shape)}")
    return [transpose(v, perm)]


@_evaluates("Slice")
def _slice(c: _Call) -> list[Value]:
    v = c.input(0, "input")
    ranges = slice_ranges(v.shape, *slice_arguments(c.attributes, c.inputs, c.opset))
    return [Value(tuple(len(r) for r in ranges), tuple(_gather_flat(v, ranges)), v.dtype)]


@_evaluates("ConstantOfShape")
def _constant_of_shape(c: _Call) -> list[Value]:
    shape = tuple(c.input(0, "shape").ints)
    if any(d < 0 for d in shape) or size(shape) > MAX_VALUES:
        raise EvaluationError(f"ConstantOfShape {list(shape)}")
    fill = c.attributes.get("value")  # the reader gives a tensor attribute as its Value
    fill_value, dtype = (fill.data[0], fill.dtype) if isinstance(fill, Value) and fill.data else (0.0, FLOAT)
    return [Value(shape, (fill_value,) * size(shape), dtype)]


@_evaluates("Range")
def _range(c: _Call) -> list[Value]:
    first = c.input(0, "start")
    start, limit, delta = first.scalar(), c.input(1, "limit").scalar(), c.input(2, "delta").scalar()
    if delta == 0:
        raise EvaluationError("a Range step of 0")
    count = max(math.ceil((limit - start) / delta), 0)
    if count > MAX_VALUES:
        raise EvaluationError("a Range of too many values")
    return [Value((count,), tuple(cast_to(start + i * delta, first.dtype) for i in range(count)), first.dtype)]


_REDUCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "ReduceProd": math.prod,
    "ReduceSum": sum,
    "ReduceMax": max,
    "ReduceMin": min,
    "ReduceMean": lambda xs: sum(xs) / len(xs),
}


@_evaluates(*_REDUCTIONS)
def _reduce(c: _Call) -> list[Value]:
    v = c.input(0, "input")
    axes = reduce_axes(c.attributes, c.inputs, len(v.shape), c.op, c.opset)
    keep = bool(c.attributes.get("keepdims", 1))
    reduced = set(range(len(v.shape))) if axes is None else set(axes)
    out_shape = tuple(1 if i in reduced else d for i, d in enumerate(v.shape) if keep or i not in reduced)
    groups: dict[tuple[int, ...], list[Any]] = {}
    strides = _strides(v.shape)
    for flat, d in enumerate(v.data):
        index = [(flat // stride) % dim for stride, dim in zip(strides, v.shape, strict=True)]
        key = tuple(0 if axis in reduced else i for axis, i in enumerate(index))
        groups.setdefault(key, []).append(d)
    if not groups:
        raise EvaluationError(f"{c.op} of an empty tensor")
    function = _REDUCTIONS[c.op]
    return [Value(out_shape, tuple(cast_to(function(groups[k]), v.dtype) for k in sorted(groups)), v.dtype)]


@_evaluates("Clip")
def _clip(c: _Call) -> list[Value]:
    v = c.input(0, "input")
    low, high = clip_bounds(c.attributes, c.inputs, c.opset)
    return [Value(v.shape, tuple(cast_to(min(max(d, low), high), v.dtype) for d in v.data), v.dtype)]


@_evaluates("Split")
def _split(c: _Call) -> list[Value]:
    v = c.input(0, "input")
    axis = _axis(int(c.attributes.get("axis", 0)), len(v.shape))
    outs = []
    start = 0
    for part in split_sizes(c.attributes, c.inputs, v.shape[axis], c.outputs):
        ranges = [range(d) for d in v.shape]
        ranges[axis] = range(start, start + part)
        start += part
        outs.append(Value(tuple(len(r) for r in ranges), tuple(_gather_flat(v, ranges)), v.dtype))
    return outs


def reshaped(op: str, a: dict[str, Any], shape: Shape, second: Value | None) -> Shape:
    """The output shape of Unsqueeze / Squeeze / Reshape / Flatten / Expand on a tensor of ``shape``
    (``second``: the axes, target or shape input, when the operator takes it as an input)."""
    if op == "Flatten":
        axis = _axis(int(a.get("axis", 1)), len(shape) + 1)
        return (size(shape[:axis]), size(shape[axis:]))
    if op == "Reshape":
        if "shape" in a:
            target = list(a["shape"])
        elif second is not None:
            target = second.ints
        else:
            raise EvaluationError("Reshape's target shape is not known")
        return reshape_target(shape, target, bool(a.get("allowzero", 0)))
    if op == "Expand":
        if second is None:
            raise EvaluationError("Expand's shape is not known")
        return broadcast_shapes(shape, tuple(second.ints))
    axes = list(a["axes"]) if "axes" in a else (second.ints if second is not None else None)
    if op == "Squeeze":
        if axes is None:
            return tuple(d for d in shape if d != 1)
        drop = {_axis(int(v), len(shape)) for v in axes}
        if any(shape[i] != 1 for i in drop):
            raise EvaluationError(f"Squeeze of axes {sorted(drop)} of {list(shape)}: not all of size 1")
        return tuple(d for i, d in enumerate(shape) if i not in drop)
    if axes is None:
        raise EvaluationError("Unsqueeze's axes are not known")
    rank = len(shape) + len(axes)
    added = {_axis(int(v), rank) for v in axes}
    if len(added) != len(axes):
        raise EvaluationError(f"Unsqueeze with repeated axes {list(axes)}")
    it = iter(shape)
    return tuple(1 if i in added else next(it) for i in range(rank))


def slice_arguments(
    a: dict[str, Any], inputs: Sequence[Value | None], opset: int
) -> tuple[list[int], list[int], list[int] | None, list[int] | None]:
    """Slice's starts, ends, axes and steps: attributes before opset 10, inputs since."""
    if opset < 10 or "starts" in a:
        if "starts" not in a or "ends" not in a:
            raise EvaluationError("Slice without starts and ends")
        axes = list(a["axes"]) if "axes" in a else None
        return list(a["starts"]), list(a["ends"]), axes, None

    def get(i: int) -> list[int] | None:
        v = inputs[i] if i < len(inputs) else None
        return None if v is None else v.ints

    starts, ends = get(1), get(2)
    if starts is None or ends is None:
        raise EvaluationError("Slice's starts and ends are not known")
    return starts, ends, get(3), get(4)


def reduce_axes(
    a: dict[str, Any], inputs: Sequence[Value | None], rank: int, op: str = "", opset: int = 18
) -> list[int] | None:
    """The axes a Reduce* operator reduces (None: all of them)."""
    if "axes" in a:
        axes: list[int] | None = list(a["axes"])
    elif len(inputs) > 1 and inputs[1] is not None:
        axes = inputs[1].ints
    else:
        axes = None
    if not axes:
        return [] if a.get("noop_with_empty_axes", 0) else None
    return sorted({_axis(int(v), rank) for v in axes})


def clip_bounds(a: dict[str, Any], inputs: Sequence[Value | None], opset: int) -> tuple[float, float]:
    """Clip's bounds (-inf / inf when absent): attributes before opset 11, inputs since."""
    if opset < 11:
        return float(a.get("min", -math.inf)), float(a.get("max", math.inf))
    low = inputs[1] if len(inputs) > 1 else None
    high = inputs[2] if len(inputs) > 2 else None
    return (
        float(low.scalar()) if low is not None else -math.inf,
        float(high.scalar()) if high is not None else math.inf,
    )


def split_sizes(a: dict[str, Any], inputs: Sequence[Value | None], length: int, outputs: int) -> list[int]:
    """The sizes of Split's outputs along its axis: given (attribute or input), or equal parts."""
    if "split" in a:
        parts = list(a["split"])
    elif len(inputs) > 1 and inputs[1] is not None:
        parts = inputs[1].ints
    else:
        n = int(a.get("num_outputs", outputs))
        if n < 1:
            raise EvaluationError("Split into no outputs")
        each = -(-length // n)
        parts = [each] * (n - 1) + [length - each * (n - 1)]
    if sum(parts) != length or any(p < 0 for p in parts):
        raise EvaluationError(f"Split of {length} into {parts}")
    return parts


def from_python(values: Sequence[Any], dtype: int, shape: Shape | None = None) -> Value:
    return Value(tuple(shape) if shape is not None else (len(values),), tuple(values), dtype)


__all__ = [
    "DOUBLE",
    "FLOAT16",
    "MAX_VALUES",
    "EvaluationError",
    "Value",
    "broadcast_shapes",
    "cast_to",
    "clip_bounds",
    "evaluate",
    "reduce_axes",
    "reshape_target",
    "reshaped",
    "size",
    "slice_arguments",
    "slice_ranges",
    "split_sizes",
    "transpose",
]
