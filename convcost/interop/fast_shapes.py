"""Output tensors for the few hot ops whose meta kernels are slow Python, when the case is simple.

On the meta device, ``native_batch_norm`` is a Python decomposition (about 1 ms a call unloaded,
40x a convolution's meta kernel) and element-wise ops go through Python reference
implementations (0.1-0.3 ms). On a ResNet-50 they are two thirds of the capture. For the simple
cases here the output is obvious (same shape, strides and dtype as the input, or the input itself
for an in-place op); anything else returns None and the real meta kernel runs. ``check()``
compares every rule with the meta kernel on random cases (shape, stride, dtype, and raising when
the kernel raises), so the rules cannot drift from torch silently.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch  # imported by convcost.interop.capture when a capture runs

Rule = Callable[[tuple[Any, ...], dict[str, Any]], Any]

_FLOAT = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def _dense(t: torch.Tensor) -> bool:
    """Row-major with the canonical strides (size-1 dims included): the kernels keep that layout."""
    expected = 1
    for size, stride in zip(reversed(t.shape), reversed(t.stride()), strict=True):
        if stride != expected:
            return False
        expected *= size
    return True


def _like(t: torch.Tensor) -> torch.Tensor:
    return torch.empty_strided(t.shape, t.stride(), dtype=t.dtype, device="meta")


def _unary(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = args[0]
    if not (isinstance(x, torch.Tensor) and x.dtype in _FLOAT and _dense(x)):
        return None
    if any(isinstance(a, torch.Tensor) for a in (*args[1:], *kwargs.values())):
        return None
    return _like(x)


def _unary_(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x = args[0]
    if not (isinstance(x, torch.Tensor) and x.dtype in _FLOAT):
        return None
    if any(isinstance(a, torch.Tensor) for a in (*args[1:], *kwargs.values())):
        return None
    return x


def _scalar(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _binary(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x, y = args[0], args[1]
    if not (isinstance(x, torch.Tensor) and x.dtype in _FLOAT and _dense(x)):
        return None
    if any(isinstance(v, torch.Tensor) for v in (*args[2:], *kwargs.values())):
        return None
    if _scalar(y):
        return _like(x)
    same = isinstance(y, torch.Tensor) and y.shape == x.shape and y.dtype == x.dtype and y.stride() == x.stride()
    return _like(x) if same else None


def _binary_(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    x, y = args[0], args[1]
    if not (isinstance(x, torch.Tensor) and x.dtype in _FLOAT):
        return None
    if any(isinstance(v, torch.Tensor) for v in (*args[2:], *kwargs.values())):
        return None
    if _scalar(y) or (isinstance(y, torch.Tensor) and y.shape == x.shape and y.dtype == x.dtype):
        return x
    return None


def _batch_norm(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if kwargs:
        return None
    x, weight, bias, mean, var, training = args[:6]
    # half and bfloat16 keep their statistics in float32 (the kernel's accumulate type): leave those to it
    if not (isinstance(x, torch.Tensor) and x.dtype in (torch.float32, torch.float64) and x.dim() >= 2 and _dense(x)):
        return None
    channels = x.shape[1]
    for t in (weight, bias, mean, var):
        if t is not None and not (
            isinstance(t, torch.Tensor) and t.shape == (channels,) and t.dtype == x.dtype and t.device == x.device
        ):
            return None
    if not training and (mean is None or var is None):
        return None  # the kernel's own error message
    if training and x.numel() <= channels:
        return None  # batch statistics of one value per channel: the kernel divides by zero
    stats = torch.empty((channels,), dtype=x.dtype, device="meta")
    return (_like(x), stats, torch.empty((channels,), dtype=x.dtype, device="meta"))


_UNARY = [
    "relu",
    "hardtanh",
    "silu",
    "gelu",
    "sigmoid",
    "tanh",
    "hardswish",
    "hardsigmoid",
    "leaky_relu",
    "elu",
    "mish",
]

RULES: dict[str, Rule] = {
    **{f"aten.{name}.default": _unary for name in _UNARY},
    **{f"aten.{name}_.default": _unary_ for name in _UNARY},
    **{f"aten.{name}.Tensor": _binary for name in ("add", "mul", "sub", "div")},
    **{f"aten.{name}_.Tensor": _binary_ for name in ("add", "mul", "sub", "div")},
    "aten.native_batch_norm.default": _batch_norm,
}


def output(target: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The op's result without running its meta kernel, or None when the case is not a simple one."""
    rule = RULES.get(target)
    return None if rule is None else rule(args, kwargs)


def check(trials: int = 300, seed: int = 0) -> tuple[int, int]:
    """Each rule against the real meta kernel on random cases; returns (cases, cases a rule answered)."""
    import random

    rng = random.Random(seed)
    ops = {str(getattr(getattr(torch.ops.aten, t.split(".")[1]), t.split(".")[2])): t for t in RULES}
    checked = answered = 0

    def tensor(shape: tuple[int, ...], layout: str, dtype: torch.dtype) -> torch.Tensor:
        t = torch.empty(shape, dtype=dtype, device="meta")
        if layout == "channels_last" and len(shape) == 4:
            t = t.contiguous(memory_format=torch.channels_last)
        elif layout == "transposed" and len(shape) >= 2:
            t = t.transpose(-1, -2)
        return t

    for _ in range(trials):
        target = rng.choice(sorted(ops.values()))
        name, overload = target.split(".")[1:]
        func = getattr(getattr(torch.ops.aten, name), overload)
        shape = tuple(rng.randint(1, 5) for _ in range(rng.choice((2, 3, 4))))
        dtype = rng.choice((torch.float32, torch.float16, torch.int64))
        x = tensor(shape, rng.choice(("contiguous", "channels_last", "transposed")), dtype)
        args: tuple[Any, ...]
        if name == "native_batch_norm":
            c = x.shape[1] if rng.random() < 0.8 else x.shape[1] + 1
            vectors = [
                None
                if rng.random() < 0.15
                else torch.empty((c,), dtype=rng.choice((dtype, torch.float32)), device="meta")
                for _ in range(4)
            ]
            args = (x, *vectors, rng.random() < 0.5, 0.1, 1e-5)
        elif target.endswith(".Tensor"):
            other_shape = shape if rng.random() < 0.7 else tuple(1 if rng.random() < 0.5 else d for d in shape)
            y: Any = rng.choice(
                (
                    2.0,
                    3,
                    tensor(other_shape, rng.choice(("contiguous", "transposed")), rng.choice((dtype, torch.float32))),
                )
            )
            args = (x, y)
        elif name == "hardtanh" or name == "hardtanh_":
            args = (x, 0.0, 6.0)
        else:
            args = (x,)
        if name.endswith("_"):  # in place: the kernel needs its own copy to write
            args = (tensor(tuple(x.shape), "contiguous", x.dtype), *args[1:])
        with torch.no_grad():
            try:
                expected: Any = func(*args)
                failed = None
            except Exception as error:  # the kernel refuses: the rule must not answer
                expected, failed = None, error
            got = output(target, args, {})
        checked += 1
        if got is None:
            continue
        answered += 1
        if failed is not None:
            shapes = [getattr(a, "shape", a) for a in args]
            raise AssertionError(f"{target}{shapes}: the rule answered where the kernel raised {failed}")
        pairs = zip(got, expected, strict=True) if isinstance(got, tuple) else [(got, expected)]
        for g, e in pairs:
            if (g.shape, g.stride(), g.dtype) != (e.shape, e.stride(), e.dtype):
                rule, kernel = (tuple(g.shape), g.stride(), g.dtype), (tuple(e.shape), e.stride(), e.dtype)
                raise AssertionError(f"{target}: rule {rule} != kernel {kernel}")
            if name.endswith("_") and g is not args[0]:
                raise AssertionError(f"{target}: an in-place rule must return its input")
    return checked, answered


if __name__ == "__main__":
    cases, answered = check(3000)
    print(f"{cases} random cases, {answered} answered by a rule: each equals the meta kernel")
