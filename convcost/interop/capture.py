"""Capture a PyTorch forward by execution: every ATen op, its tensors, and the module that called it.

``capture(module, (1, 3, 224, 224))`` runs ``module``'s forward once, in eval mode and without
autograd, on *meta* tensors (shapes, dtypes and strides, no data), and returns a `Capture`: the ops
in execution order, each with its named arguments (schema defaults filled in), its input and output
tensors and the module call it ran in; the module calls (path, class, call number, the module's own
training flag, input and output tensors); the calls of the ``torch.nn.functional`` functions and
tensor methods that the counting tools patch (`PyCall`); every parameter and buffer (read or not);
and the tensors the forward returned, with their key paths (``logits``, ``0``, ``out.aux``).

This module knows nothing of convcost's layer kinds: it records what ran. It imports torch only
when ``capture`` is called. How, and why this way (measured in docs/performance.md):

* A ``TorchDispatchMode`` sees every op after autograd's decompositions (``F.linear`` is ``t`` +
  ``addmm``, ``conv2d`` is ``convolution`` with all nine arguments explicit). Registered
  parameters and buffers are swapped for meta stand-ins in the modules' own ``_parameters`` /
  ``_buffers`` tables for the length of the forward (restored in ``finally``), so no real weight
  ever reaches an op: no deep copy, no ``.to('meta')``, and an in-place update (BatchNorm's
  ``num_batches_tracked += 1``, a call counter) lands on the stand-in. Any other real tensor (a
  tensor attribute, a tensor in a closure) gets a stand-in the first time an op reads it.
* Floating-point tensors the forward creates itself (``torch.zeros``, ``torch.tensor(0.5)``) are made
  on meta too; integer and bool ones stay real, so index arithmetic and ``.tolist()`` still work.
* Module calls come from *global* forward pre/post hooks, so every ``Module.__call__`` is seen,
  including modules that are not registered children. A module reached through ``other.forward(x)``
  fires no hook: its ops belong to the caller, as the counting tools see it too.
* The functions torchinfo cannot see but ptflops, calflops and fvcore count (``F.relu``,
  ``F.interpolate``, ``torch.add``, ``Tensor.mul``, ...) are wrapped for the length of the
  forward, exactly where those tools patch them: a call through the attribute at call time is
  recorded with its arguments, a function object bound earlier (``self.act = F.gelu``) or an
  operator (``x * y``) is not, as those tools see it.
* A tensor *value* is a tensor object at one version of its version counter: an in-place op makes a
  new value of the same object, and a view is a new object produced by a view op (``Op.aliases``).
  Reading a tensor at a version no recorded op produced means it was written through another view:
  that value's origin is ``"aliased_write"`` and its producer the op that wrote the shared storage.

Limits: data-dependent code (``.item()``, ``if x.sum() > 0``, boolean-mask indexing, ``nonzero``)
cannot run on meta tensors and raises `CaptureError` naming the module; tensor keyword arguments of
*submodule* calls are not listed as that call's inputs (the ops still see them); not thread-safe
(the hooks and the wrapped functions are process-wide while a capture runs); Python-level state a
forward changes (a counter in ``self.__dict__``) is not undone.
"""

from __future__ import annotations

import functools
import inspect
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from convcost.record import record

if TYPE_CHECKING:
    import torch

__all__ = [
    "Capture",
    "CaptureError",
    "ModuleCall",
    "Op",
    "ParameterInfo",
    "PyCall",
    "TensorRef",
    "Value",
    "capture",
]

Origin = Literal["input", "parameter", "buffer", "attribute", "constant", "op", "aliased_write"]


class CaptureError(Exception):
    """The forward could not run on meta tensors; names the op and the module stack where it failed."""

    def __init__(self, message: str, *, stack: tuple[str, ...], op: str | None) -> None:
        super().__init__(message)
        self.stack = stack  #: module paths, root first, where the forward failed ("" is the root)
        self.op = op  #: the ATen op that failed, when the failure was in an op


# --------------------------------------------------------------------------------------------
# the record


@dataclass(frozen=True, slots=True)
class TensorRef:
    """One tensor value as an op or a module call saw it."""

    value: int  #: index into `Capture.values`
    shape: tuple[int, ...]
    dtype: str  #: ``"float32"``, ``"int64"``, ...

    def __repr__(self) -> str:
        return f"%{self.value}{list(self.shape)}"


@dataclass(frozen=True, slots=True)
class Value:
    """A tensor object at one version: made by an op, or given (input, parameter, buffer, attribute)."""

    index: int
    shape: tuple[int, ...]
    dtype: str
    stride: tuple[int, ...]
    storage: int  #: index of the storage; values that share it are views of one another
    storage_offset: int
    origin: Origin  #: ``constant``: made from Python data in forward (``torch.tensor(0.5)``)
    producer: int | None  #: op index (origin ``op``; for ``aliased_write``, the op that wrote the storage)
    name: str | None  #: input name, or the qualified parameter / buffer / attribute name
    scalar: float | None = None  #: the number a real 0-dim tensor held (a constant or an attribute)

    def ref(self) -> TensorRef:
        return TensorRef(self.index, self.shape, self.dtype)


@dataclass(frozen=True, slots=True)
class ModuleCall:
    """One call of a module's ``__call__`` (a module called three times has three)."""

    index: int
    path: str  #: ``encoder.stages.0.layers.1.shortcut`` ("" is the root module)
    cls: str  #: qualified class name, ``transformers.models.resnet.modeling_resnet.ResNetConvLayer``
    torch_class: str | None  #: the nearest class of torch.nn in its MRO (itself if standard), if any
    is_standard: bool  #: its class is defined in torch.nn (not a subclass or a custom module)
    registered: bool  #: reachable through ``named_modules()`` of the root
    call_number: int  #: 0 for the first call of this module object, 1 for the second, ...
    parent: int | None  #: index of the enclosing call
    inputs: tuple[TensorRef, ...]  #: positional tensor arguments, flattened
    outputs: tuple[TensorRef, ...]  #: returned tensors, flattened
    first_op: int  #: ops ``first_op <= i < end_op`` ran inside this call, nested calls included
    end_op: int
    training: bool  #: the module's own training flag before the capture (it ran in eval)
    leaf: bool  #: the module has no child modules


@dataclass(frozen=True, slots=True)
class Op:
    """One ATen operation, as dispatched (after autograd's decompositions)."""

    index: int
    target: str  #: ``aten.convolution.default``
    arguments: Mapping[str, Any]  #: schema name -> value, defaults filled in; tensors are `TensorRef`,
    #: lists are tuples, dtypes / devices / layouts / memory formats are strings
    inputs: tuple[TensorRef, ...]  #: every tensor argument, in schema order (lists flattened)
    outputs: tuple[TensorRef, ...]  #: every returned tensor, in order
    mutates: tuple[str, ...]  #: names of the arguments it writes in place (``relu_``: ``("self",)``)
    aliases: bool  #: its output is a view of an input (view, slice, split, permute, t, expand, ...)
    call: int | None  #: the innermost `ModuleCall` it ran in (None: outside any module call)
    pycall: int | None  #: the innermost `PyCall` it ran in

    @property
    def name(self) -> str:
        """``aten.convolution`` (the target without its overload)."""
        return self.target.rsplit(".", 1)[0]

    def __getitem__(self, argument: str) -> Any:
        return self.arguments[argument]


@dataclass(frozen=True, slots=True)
class PyCall:
    """One call of a wrapped Python function (``F.relu``, ``torch.add``, ``Tensor.mul``, ...).

    ``arguments`` and ``keywords`` hold what it was called with: tensors as `TensorRef`, numbers,
    strings, None and tuples of them as they are, anything else as its ``repr``.
    """

    index: int
    function: str  #: ``F.relu``, ``torch.add``, ``Tensor.add``
    arguments: tuple[Any, ...]
    keywords: tuple[tuple[str, Any], ...]
    call: int | None  #: the innermost module call it was made in
    parent: int | None  #: the wrapped call it was made in, if any
    first_op: int
    end_op: int
    outputs: tuple[TensorRef, ...]  #: the tensors it returned

    def argument(self, position: int, keyword: str, default: Any = None) -> Any:
        """The argument given at ``position`` or as ``keyword`` (``default`` when neither)."""
        if position < len(self.arguments):
            return self.arguments[position]
        return dict(self.keywords).get(keyword, default)


@dataclass(frozen=True, slots=True)
class ParameterInfo:
    """One parameter or buffer *tensor*; a tensor registered under several names is listed once."""

    names: tuple[str, ...]  #: every qualified name it has (shared weights have several), first is canonical
    kind: Literal["parameter", "buffer"]
    shape: tuple[int, ...]
    dtype: str
    numel: int
    requires_grad: bool
    value: int | None  #: its value in `Capture.values` if some op read it, else None


@record
class Capture:
    """What one forward did. Plain data except `root`, the module itself (for reading attributes)."""

    root_class: str
    ops: tuple[Op, ...]
    calls: tuple[ModuleCall, ...]
    pycalls: tuple[PyCall, ...]
    values: tuple[Value, ...]
    inputs: tuple[tuple[str, TensorRef], ...]  #: forward argument name -> input tensor
    outputs: tuple[tuple[str, TensorRef], ...]  #: key path in the returned object -> tensor
    output_type: str  #: qualified class of what forward returned
    parameters: tuple[ParameterInfo, ...]
    buffers: tuple[ParameterInfo, ...]
    was_training: bool  #: the root's mode before the capture (restored afterwards)
    seconds: float
    root: Any = field(repr=False, compare=False)

    def stack(self, op: Op) -> tuple[ModuleCall, ...]:
        """The module calls ``op`` ran in, root first."""
        chain: list[ModuleCall] = []
        index = op.call
        while index is not None:
            call = self.calls[index]
            chain.append(call)
            index = call.parent
        return tuple(reversed(chain))

    def module(self, call: ModuleCall) -> Any:
        """The module object of a registered call (to read ``padding``, ``affine``, ...)."""
        return self.root.get_submodule(call.path) if call.path else self.root

    def producer(self, ref: TensorRef) -> Op | None:
        value = self.values[ref.value]
        return self.ops[value.producer] if value.origin == "op" and value.producer is not None else None

    def consumers(self) -> dict[int, list[int]]:
        """value index -> indices of the ops that read it."""
        users: dict[int, list[int]] = {}
        for op in self.ops:
            for ref in op.inputs:
                users.setdefault(ref.value, []).append(op.index)
        return users

    def parameter_count(self) -> int:
        """Elements of every distinct parameter tensor (shared weights once): ``sum(p.numel())``."""
        return sum(p.numel for p in self.parameters)

    def format(self, limit: int | None = None) -> str:
        """The ops as text, one line each: index, target, arguments, outputs, innermost module."""
        lines = []
        for op in self.ops[:limit]:
            call = self.calls[op.call] if op.call is not None else None
            where = f"{call.path or '<root>'} ({call.cls.rsplit('.', 1)[-1]})" if call else "-"
            args = ", ".join(f"{k}={v!r}" for k, v in op.arguments.items())
            lines.append(f"{op.index:4d} {op.target}({args}) -> {list(op.outputs)}  @ {where}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# capture


InputSize = Sequence[int] | Sequence[Sequence[int]]

#: the Python functions the tools patch (ptflops' and calflops' sets): ``(owner, attribute)`` where
#: owner is ``F`` (torch.nn.functional), ``torch`` or ``Tensor``
WRAPPED: tuple[tuple[str, str], ...] = (
    *(
        ("F", name)
        for name in (
            "linear",
            "conv1d",
            "conv2d",
            "conv3d",
            "conv_transpose1d",
            "conv_transpose2d",
            "conv_transpose3d",
            "relu",
            "prelu",
            "elu",
            "leaky_relu",
            "relu6",
            "silu",
            "gelu",
            "batch_norm",
            "layer_norm",
            "instance_norm",
            "group_norm",
            "avg_pool1d",
            "avg_pool2d",
            "avg_pool3d",
            "max_pool1d",
            "max_pool2d",
            "max_pool3d",
            "adaptive_avg_pool1d",
            "adaptive_avg_pool2d",
            "adaptive_avg_pool3d",
            "adaptive_max_pool1d",
            "adaptive_max_pool2d",
            "adaptive_max_pool3d",
            "upsample",
            "interpolate",
            "softmax",
            "embedding",
        )
    ),
    *(("torch", name) for name in ("matmul", "mm", "bmm", "addmm", "baddbmm", "mul", "add", "einsum")),
    *(("Tensor", name) for name in ("matmul", "mm", "bmm", "addmm", "mul", "add")),
)


def capture(
    module: torch.nn.Module,
    input_size: InputSize | None = None,
    *,
    inputs: Sequence[torch.Tensor] | None = None,
    kwargs: Mapping[str, Any] | None = None,
    batch: int | None = None,
    dtype: torch.dtype | None = None,
    fast_shape_rules: bool = True,
) -> Capture:
    """Run ``module``'s forward once on meta tensors and record it; the module is left as it was.

    ``input_size`` follows torchinfo: ``(N, C, H, W)``, ``(C, H, W)`` with ``batch``, or a list of
    sizes for a forward of several tensors. ``inputs`` gives the tensors instead (real or meta; only
    their shapes and dtypes are used). ``kwargs`` are passed to forward as they are
    (``return_dict=True``). The forward runs in eval mode under ``torch.no_grad()``; every
    submodule's own training flag is restored afterwards, and so is the CPU RNG state.
    ``fast_shape_rules`` answers BatchNorm and simple element-wise ops without their (slow, Python)
    meta kernels, where `convcost.interop.fast_shapes` knows the answer; the record is the same.
    """
    import torch
    import torch.nn.modules.module as torch_module

    tensors = _input_tensors(input_size, inputs, batch, dtype or torch.float32)
    names = _input_names(module, len(tensors))
    recorder: Any = _recorder_type()(module, fast_shape_rules)
    flags = [(m, m.training) for m in module.modules()]
    started = time.perf_counter()
    handles = [
        torch_module.register_module_forward_pre_hook(recorder.enter),
        torch_module.register_module_forward_hook(recorder.leave, always_call=True),
    ]
    try:
        module.eval()
        with (
            torch.random.fork_rng(devices=[]),
            torch.no_grad(),
            recorder.stand_ins_swapped(),
            recorder.functions_wrapped(),
            recorder,
        ):
            input_refs = tuple((n, recorder.given(t, "input", n)) for n, t in zip(names, tensors, strict=True))
            try:
                result = module(*tensors, **dict(kwargs or {}))
            except Exception as error:
                raise recorder.failure(error) from error
            outputs = tuple((path, recorder.read(t)) for path, t in _flatten(result, ""))
    finally:
        for handle in handles:
            handle.remove()
        for m, flag in flags:
            m.training = flag
    return Capture(
        root_class=_qualname(type(module)),
        ops=tuple(recorder.ops),
        calls=tuple(recorder.finished_calls()),
        pycalls=tuple(recorder.finished_pycalls()),
        values=tuple(recorder.values),
        inputs=input_refs,
        outputs=outputs,
        output_type=_qualname(type(result)),
        parameters=recorder.tensor_infos("parameter"),
        buffers=recorder.tensor_infos("buffer"),
        was_training=flags[0][1],
        seconds=time.perf_counter() - started,
        root=module,
    )


def _input_tensors(
    input_size: InputSize | None, inputs: Sequence[torch.Tensor] | None, batch: int | None, dtype: torch.dtype
) -> list[torch.Tensor]:
    import torch

    if inputs is not None:
        if input_size is not None:
            raise ValueError("give input_size or inputs, not both")
        return [torch.empty_strided(t.shape, t.stride(), dtype=t.dtype, device="meta") for t in inputs]
    if input_size is None:
        raise ValueError("input_size or inputs is required")
    one = all(isinstance(d, int) for d in input_size)
    sizes: list[tuple[int, ...]] = [tuple(input_size)] if one else [tuple(s) for s in input_size]  # type: ignore[arg-type]
    shapes = [s if batch is None else (batch, *s) for s in sizes]
    return [torch.empty(s, dtype=dtype, device="meta") for s in shapes]


def _input_names(module: torch.nn.Module, count: int) -> list[str]:
    try:
        params = [
            p.name
            for p in inspect.signature(module.forward).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"input_{i}" for i in range(count)]


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _is_standard(cls: type) -> bool:
    return cls.__module__.startswith("torch.nn.")


def _torch_class(cls: type) -> str | None:
    import torch

    for base in cls.__mro__:
        if _is_standard(base) and base is not torch.nn.Module:
            return _qualname(base)
    return None


def _flatten(obj: Any, prefix: str) -> Iterator[tuple[str, torch.Tensor]]:
    """Tensors inside what forward returned, with key paths (HF ModelOutput is a Mapping)."""
    import torch

    if isinstance(obj, torch.Tensor):
        yield prefix, obj
    elif isinstance(obj, Mapping):
        for key, item in obj.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(obj, (tuple, list)):
        for i, item in enumerate(obj):
            yield from _flatten(item, f"{prefix}.{i}" if prefix else str(i))


# the CPU-only tensors a forward may create from Python data; made meta when floating-point
_LIFT = frozenset({"aten.lift_fresh.default", "aten.lift_fresh_copy.default"})


@dataclass(slots=True)
class _Schema:
    """What the recorder needs from an op's schema, computed once per op overload."""

    target: str  #: ``aten.convolution.default``
    names: tuple[str, ...]
    positional: int  #: how many arguments may be passed by position
    defaults: tuple[Any, ...]  #: default per argument (``_NO_DEFAULT`` when required)
    written: tuple[str, ...]
    aliases: bool
    factory: bool  #: has a ``device`` argument and no tensor argument


_NO_DEFAULT = object()


def _schema(func: Any) -> _Schema:
    schema = func._schema
    args = schema.arguments
    written = tuple(a.name for a in args if a.alias_info is not None and a.alias_info.is_write)
    aliases = not written and any(r.alias_info is not None for r in schema.returns)
    tensor_like = ("Tensor" in str(a.type) for a in args)
    factory = any(a.name == "device" for a in args) and not any(tensor_like)
    return _Schema(
        target=str(func),
        names=tuple(a.name for a in args),
        positional=sum(1 for a in args if not a.kwarg_only),
        defaults=tuple(a.default_value if a.has_default_value() else _NO_DEFAULT for a in args),
        written=written,
        aliases=aliases,
        factory=factory,
    )


@functools.cache
def _recorder_type() -> type[_Recorder]:
    """``_Recorder`` as a ``TorchDispatchMode`` (made on first use: importing this module imports no torch)."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Recorder(_Recorder, TorchDispatchMode):  # type: ignore[misc,no-untyped-call]
        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            return self.dispatch(func, args, kwargs or {})

    return Recorder


class _Recorder:
    """The dispatch mode's logic + module hooks + function wrappers that fill the record; one per capture."""

    def __init__(self, root: torch.nn.Module, fast: bool) -> None:
        import torch

        from convcost.interop import fast_shapes

        super().__init__()
        self.torch = torch
        self.fast_output = fast_shapes.output if fast else None
        self.floating = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
        self.root = root
        self.ops: list[Op] = []
        self.values: list[Value] = []
        self.schemas: dict[Any, _Schema] = {}
        # tensor object at a version -> value; objects kept alive so that ids stay unique
        self.value_of: dict[tuple[int, int], int] = {}
        self.known_objects: set[int] = set()
        self.alive: list[torch.Tensor] = []
        self.storages: dict[int, int] = {}
        self.last_writer: dict[int, int] = {}  # storage index -> op that last wrote it
        # real tensors that existed before the capture -> their meta stand-in
        self.stand_in: dict[int, torch.Tensor] = {}
        self.internal = False
        self.fresh_real: set[int] = set()  # real tensors the forward made (kept real)
        self.names: dict[int, tuple[Origin, tuple[str, ...]]] = {}
        self.scalars: dict[int, float] = {}  # stand-in id -> the number a real 0-dim tensor held
        # every registered parameter / buffer tensor (shared ones once) -> (kind, tensor, stand-in)
        self.registered: dict[int, tuple[Literal["parameter", "buffer"], torch.Tensor, torch.Tensor]] = {}
        tables: list[tuple[Literal["parameter", "buffer"], Iterator[tuple[str, torch.Tensor]]]] = [
            ("parameter", root.named_parameters(remove_duplicate=False)),
            ("buffer", root.named_buffers(remove_duplicate=False)),
        ]
        for kind, named in tables:
            for qualified, tensor in named:
                if tensor is None:
                    continue
                if id(tensor) not in self.registered:
                    stand_in = tensor
                    if tensor.device.type != "meta":
                        stand_in = self._empty_like(tensor).requires_grad_(tensor.requires_grad)
                    self.registered[id(tensor)] = (kind, tensor, stand_in)
                    self.stand_in[id(tensor)] = stand_in
                    self.alive.append(tensor)
                stand_in = self.registered[id(tensor)][2]
                previous = self.names[id(stand_in)][1] if id(stand_in) in self.names else ()
                self.names[id(stand_in)] = (kind, (*previous, qualified))
        self.module_paths: dict[int, list[str]] = {}
        for path, m in root.named_modules(remove_duplicate=False):
            self.module_paths.setdefault(id(m), []).append(path)
        # module calls: open ones on the stack, their fields filled when they end
        self.stack: list[int] = []
        self.call_fields: list[dict[str, Any]] = []
        self.call_counts: dict[int, int] = {}
        self.flags = {id(m): m.training for m in root.modules()}
        self.failed_stack: tuple[int, ...] | None = None
        self.failed_op: str | None = None
        self.first_value: dict[int, int] = {}  # tensor object -> its first value
        self.pending: list[tuple[torch.Tensor, int]] = []  # values written in place, to bind
        # wrapped Python calls: open ones on a stack, their fields filled when they return
        self.py_stack: list[int] = []
        self.py_fields: list[dict[str, Any]] = []
        self.recording = False
        self.in_kernel = False

    # -- tensors ------------------------------------------------------------------------------

    def _meta(self, tensor: torch.Tensor) -> torch.Tensor:
        """The meta stand-in of a real tensor (one per tensor object, made on first use)."""
        stand_in = self.stand_in.get(id(tensor))
        if stand_in is None:
            stand_in = self._empty_like(tensor)
            self.stand_in[id(tensor)] = stand_in
            self.alive.append(tensor)
            if id(tensor) not in self.fresh_real:
                self.names[id(stand_in)] = ("attribute", (self._attribute_name(tensor),))
                if tensor.dim() == 0 and tensor.dtype in (*self.floating, self.torch.int64):
                    self.scalars[id(stand_in)] = self._item(tensor)
            else:
                # a real tensor the forward made, now mixed with meta ones: same value
                key = (id(tensor), tensor._version)
                if key in self.value_of:
                    self._bind(stand_in, self.value_of[key])
        return stand_in

    def _empty_like(self, tensor: torch.Tensor) -> torch.Tensor:
        # hooks run inside the mode: the recorder's own tensor creation must not be recorded
        self.internal = True
        try:
            return self.torch.empty_strided(tensor.shape, tensor.stride(), dtype=tensor.dtype, device="meta")
        finally:
            self.internal = False

    def _item(self, tensor: torch.Tensor) -> float:
        self.internal = True  # reading the number is the recorder's business, not an op of the forward
        try:
            return float(tensor.item())
        finally:
            self.internal = False

    def _attribute_name(self, tensor: torch.Tensor) -> str:
        for index in reversed(self.stack):
            fields = self.call_fields[index]
            for attribute, item in vars(fields["module"]).items():
                if item is tensor:
                    return f"{fields['path']}.{attribute}" if fields["path"] else attribute
        return "<tensor attribute>"

    def _storage(self, tensor: torch.Tensor) -> int:
        key = tensor.untyped_storage()._cdata
        index = self.storages.get(key)
        if index is None:
            index = self.storages[key] = len(self.storages)
        return index

    def _new_value(
        self,
        tensor: torch.Tensor,
        origin: Origin,
        producer: int | None,
        name: str | None,
        written: bool = False,
        scalar: float | None = None,
    ) -> int:
        index = len(self.values)
        self.values.append(
            Value(
                index,
                tuple(tensor.shape),
                str(tensor.dtype).removeprefix("torch."),
                tuple(tensor.stride()),
                self._storage(tensor),
                int(tensor.storage_offset()),
                origin,
                producer,
                name,
                scalar,
            )
        )
        if written:
            # autograd's ADInplaceOrView layer bumps the version counter only after the kernel
            # returns: bind the new value at the next event, when the version is the new one
            self.pending.append((tensor, index))
        else:
            self._bind(tensor, index)
        return index

    def _flush(self) -> None:
        for tensor, index in self.pending:
            self._bind(tensor, index)
        self.pending.clear()

    def _bind(self, tensor: torch.Tensor, value: int) -> None:
        self.value_of[(id(tensor), tensor._version)] = value
        if id(tensor) not in self.known_objects:
            self.known_objects.add(id(tensor))
            self.first_value[id(tensor)] = value
            self.alive.append(tensor)

    def given(self, tensor: torch.Tensor, origin: Origin, name: str) -> TensorRef:
        return self.values[self._new_value(tensor, origin, None, name)].ref()

    def read(self, tensor: torch.Tensor) -> TensorRef:
        """The value ``tensor`` holds now (registering parameters and other given tensors)."""
        if self.pending:
            self._flush()
        if tensor.device.type != "meta" and id(tensor) not in self.fresh_real:
            tensor = self._meta(tensor)
        value = self.value_of.get((id(tensor), tensor._version))
        if value is None:
            if id(tensor) in self.known_objects:
                # written through another view of its storage since this object last had a value
                writer = self.last_writer.get(self._storage(tensor))
                value = self._new_value(tensor, "aliased_write", writer, None)
            else:
                origin, names = self.names.get(id(tensor), ("attribute", ("<tensor attribute>",)))
                value = self._new_value(tensor, origin, None, names[0], scalar=self.scalars.get(id(tensor)))
        return self.values[value].ref()

    # -- ops ----------------------------------------------------------------------------------

    def dispatch(self, func: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        if self.internal:
            return func(*args, **kwargs)
        schema = self.schemas.get(func)
        if schema is None:
            schema = self.schemas[func] = _schema(func)
        constant: float | None = None
        if schema.target in _LIFT and args and isinstance(args[0], self.torch.Tensor):
            # torch.tensor(data) builds its tensor outside the dispatcher, then lifts it
            self.fresh_real.add(id(args[0]))
            if args[0].dim() == 0:
                constant = self._item(args[0])
            self._new_value(args[0], "constant", None, None, scalar=constant)
        args, kwargs = self._prepare(schema, args, kwargs)
        index = len(self.ops)
        bound = self._bind_arguments(schema, args, kwargs)
        inputs: list[TensorRef] = []
        arguments = {name: self._describe(value, inputs) for name, value in bound.items()}
        self.in_kernel = True  # a meta kernel written in Python may call wrapped torch functions itself
        try:
            out = self.fast_output(schema.target, args, kwargs) if self.fast_output is not None else None
            if out is None:
                out = func(*args, **kwargs)
        except Exception:
            self.failed_stack = tuple(self.stack)
            self.failed_op = str(func)
            raise
        finally:
            self.in_kernel = False
        if schema.target in _LIFT and isinstance(out, self.torch.Tensor) and out.dtype in self.floating:
            out = self._empty_like(out)  # a float constant from Python data: meta like the rest
        outputs: list[TensorRef] = []
        written = [t for name in schema.written for t in self._tensors(bound[name])]
        for tensor in self._tensors(out):
            if tensor.device.type != "meta":
                self.fresh_real.add(id(tensor))
            value = self._new_value(
                tensor, "op", index, None, written=any(tensor is t for t in written), scalar=constant
            )
            outputs.append(self.values[value].ref())
        for tensor in written:
            self.last_writer[self._storage(tensor)] = index
            if not any(tensor is t for t in self._tensors(out)):  # an out= argument that is not returned
                outputs.append(self.values[self._new_value(tensor, "op", index, None, written=True)].ref())
        self.ops.append(
            Op(
                index,
                schema.target,
                arguments,
                tuple(inputs),
                tuple(outputs),
                schema.written,
                schema.aliases,
                self.stack[-1] if self.stack else None,
                self.py_stack[-1] if self.py_stack else None,
            )
        )
        return out

    def _tensors(self, value: Any) -> Iterator[torch.Tensor]:
        """Tensors of an op argument or result (a tensor, or a list / tuple of optional tensors)."""
        if isinstance(value, self.torch.Tensor):
            yield value
        elif isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, self.torch.Tensor):
                    yield item

    def _prepare(self, schema: _Schema, args: Any, kwargs: Any) -> tuple[Any, Any]:
        """Meta stand-ins for given real tensors; every real tensor too once any input is meta."""
        if schema.factory:
            if self._factory_dtype(schema.target, args, kwargs) in self.floating:
                kwargs = {**kwargs, "device": self.torch.device("meta")}
            return args, kwargs
        flat = [t for a in (*args, *kwargs.values()) for t in self._tensors(a)]
        real = [t for t in flat if t.device.type != "meta"]
        if not real:
            return args, kwargs
        if len(real) == len(flat) and all(id(t) in self.fresh_real for t in real):
            return args, kwargs  # only tensors the forward made itself: run for real
        args = tuple(self._map_tensors(a) for a in args)
        kwargs = {k: self._map_tensors(v) for k, v in kwargs.items()}
        return args, kwargs

    def _map_tensors(self, value: Any) -> Any:
        Tensor = self.torch.Tensor
        if isinstance(value, Tensor):
            return self._meta(value) if value.device.type != "meta" else value
        if isinstance(value, (list, tuple)) and any(isinstance(v, Tensor) for v in value):
            return type(value)(self._meta(v) if isinstance(v, Tensor) and v.device.type != "meta" else v for v in value)
        return value

    def _factory_dtype(self, target: str, args: Any, kwargs: Any) -> Any:
        """The dtype a factory op will make (``arange(5)`` is int64, ``full(s, True)`` bool)."""
        torch = self.torch
        dtype = kwargs.get("dtype")
        if dtype is not None:
            return dtype
        if target.startswith("aten.arange"):
            numbers = [a for a in args if isinstance(a, (int, float))]
            integral = all(isinstance(a, int) and not isinstance(a, bool) for a in numbers)
            return torch.int64 if integral else torch.get_default_dtype()
        if target.startswith("aten.full") and len(args) > 1:
            fill = args[1]
            if isinstance(fill, bool):
                return torch.bool
            return torch.int64 if isinstance(fill, int) else torch.get_default_dtype()
        return torch.get_default_dtype()

    def _bind_arguments(self, schema: _Schema, args: Any, kwargs: Any) -> dict[str, Any]:
        bound: dict[str, Any] = {}
        for i, name in enumerate(schema.names):
            if i < len(args) and i < schema.positional:
                bound[name] = args[i]
            elif name in kwargs:
                bound[name] = kwargs[name]
            else:
                default = schema.defaults[i]
                bound[name] = None if default is _NO_DEFAULT else default
        return bound

    def _describe(self, value: Any, inputs: list[TensorRef] | None) -> Any:
        torch = self.torch
        if isinstance(value, torch.Tensor):
            ref = self.read(value)
            if inputs is not None:
                inputs.append(ref)
            return ref
        if isinstance(value, (list, tuple)):
            return tuple(self._describe(v, inputs) for v in value)
        if isinstance(value, (bool, int, float, str)) or value is None:
            return value
        if isinstance(value, (torch.dtype, torch.device, torch.layout, torch.memory_format)):
            return str(value).removeprefix("torch.")
        return repr(value)

    # -- module calls -------------------------------------------------------------------------

    def enter(self, module: torch.nn.Module, args: tuple[Any, ...]) -> None:
        if not self.stack and module is not self.root:
            return  # a module called outside the captured forward (another thread): not ours
        parent = self.stack[-1] if self.stack else None
        path, registered = self._path(module, parent)
        number = self.call_counts.get(id(module), 0)
        self.call_counts[id(module)] = number + 1
        index = len(self.call_fields)
        self.call_fields.append(
            {
                "module": module,
                "path": path,
                "registered": registered,
                "call_number": number,
                "parent": parent,
                "inputs": tuple(self.read(t) for a in args for _, t in _flatten(a, "")),
                "first_op": len(self.ops),
            }
        )
        self.stack.append(index)

    def leave(self, module: torch.nn.Module, args: tuple[Any, ...], output: Any) -> None:
        if not self.stack or self.call_fields[self.stack[-1]]["module"] is not module:
            return
        if sys.exc_info()[0] is not None:  # unwinding an exception: keep where it happened
            if self.failed_stack is None:
                self.failed_stack = tuple(self.stack)
            self.stack.pop()
            return
        fields = self.call_fields[self.stack.pop()]
        fields["outputs"] = tuple(self.read(t) for _, t in _flatten(output, ""))
        fields["end_op"] = len(self.ops)

    def _path(self, module: torch.nn.Module, parent: int | None) -> tuple[str, bool]:
        if parent is None:
            return "", True
        parent_fields = self.call_fields[parent]
        parent_path = parent_fields["path"]
        candidates = self.module_paths.get(id(module), [])
        prefix = f"{parent_path}." if parent_path else ""
        for path in candidates:
            if path.startswith(prefix):
                return path, True
        if candidates:
            return candidates[0], True
        for attribute, item in vars(parent_fields["module"]).items():
            if item is module:
                return f"{prefix}{attribute}", False
            if isinstance(item, (list, tuple)):  # a plain list of modules (not an nn.ModuleList)
                for i, element in enumerate(item):
                    if element is module:
                        return f"{prefix}{attribute}.{i}", False
        return f"{prefix}<{type(module).__name__}>", False

    def finished_calls(self) -> list[ModuleCall]:
        calls = []
        for index, f in enumerate(self.call_fields):
            module = f["module"]
            cls = type(module)
            calls.append(
                ModuleCall(
                    index=index,
                    path=f["path"],
                    cls=_qualname(cls),
                    torch_class=_torch_class(cls),
                    is_standard=_is_standard(cls),
                    registered=f["registered"],
                    call_number=f["call_number"],
                    parent=f["parent"],
                    inputs=f["inputs"],
                    outputs=f.get("outputs", ()),
                    first_op=f["first_op"],
                    end_op=f.get("end_op", len(self.ops)),
                    training=self.flags.get(id(module), module.training),
                    leaf=not any(True for _ in module.children()),
                )
            )
        return calls

    def tensor_infos(self, kind: Literal["parameter", "buffer"]) -> tuple[ParameterInfo, ...]:
        infos = []
        for tensor_kind, tensor, stand_in in self.registered.values():
            if tensor_kind != kind:
                continue
            infos.append(
                ParameterInfo(
                    names=self.names[id(stand_in)][1],
                    kind=kind,
                    shape=tuple(tensor.shape),
                    dtype=str(tensor.dtype).removeprefix("torch."),
                    numel=tensor.numel(),
                    requires_grad=tensor.requires_grad,
                    value=self.first_value.get(id(stand_in)),
                )
            )
        return tuple(infos)

    @contextmanager
    def stand_ins_swapped(self) -> Iterator[None]:
        """Registered parameters and buffers replaced by their meta stand-ins, restored on exit.

        Done in the modules' own ``_parameters`` / ``_buffers`` dicts (what ``Module.__getattr__``
        reads), so forward code sees meta tensors from its first line: autograd's view and
        version-counter tracking, which runs above the dispatch mode, never touches a real one.
        """
        swapped: list[tuple[dict[str, Any], str, Any]] = []
        try:
            for m in self.root.modules():
                tables: tuple[dict[str, Any], dict[str, Any]] = (m._parameters, m._buffers)
                for table in tables:
                    for key, tensor in table.items():
                        entry = self.registered.get(id(tensor)) if tensor is not None else None
                        if entry is not None and entry[2] is not tensor:
                            swapped.append((table, key, tensor))
                            table[key] = entry[2]
            yield
        finally:
            for table, key, tensor in reversed(swapped):
                table[key] = tensor

    # -- wrapped Python functions -------------------------------------------------------------

    @contextmanager
    def functions_wrapped(self) -> Iterator[None]:
        """The functions of `WRAPPED` replaced by recording wrappers, the originals restored on exit."""
        owners = {"F": self.torch.nn.functional, "torch": self.torch, "Tensor": self.torch.Tensor}
        saved: list[tuple[Any, str, Any]] = []
        try:
            for owner_name, attribute in WRAPPED:
                owner = owners[owner_name]
                original = getattr(owner, attribute, None)
                if original is None:
                    continue
                saved.append((owner, attribute, original))
                setattr(owner, attribute, self._wrapper(f"{owner_name}.{attribute}", original))
            self.recording = True
            yield
        finally:
            self.recording = False
            for owner, attribute, original in reversed(saved):
                setattr(owner, attribute, original)

    def _wrapper(self, function: str, original: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not self.recording or self.internal or self.in_kernel or not self.stack:
                return original(*args, **kwargs)
            index = len(self.py_fields)
            self.py_fields.append(
                {
                    "function": function,
                    "arguments": tuple(self._describe(a, None) for a in args),
                    "keywords": tuple((k, self._describe(v, None)) for k, v in kwargs.items()),
                    "call": self.stack[-1],
                    "parent": self.py_stack[-1] if self.py_stack else None,
                    "first_op": len(self.ops),
                }
            )
            self.py_stack.append(index)
            try:
                result = original(*args, **kwargs)
                self.py_fields[index]["outputs"] = tuple(self.read(t) for _, t in _flatten(result, ""))
                return result
            finally:
                self.py_stack.pop()
                self.py_fields[index]["end_op"] = len(self.ops)

        return wrapped

    def finished_pycalls(self) -> list[PyCall]:
        return [
            PyCall(
                index=i,
                function=f["function"],
                arguments=f["arguments"],
                keywords=f["keywords"],
                call=f["call"],
                parent=f["parent"],
                first_op=f["first_op"],
                end_op=f.get("end_op", len(self.ops)),
                outputs=f.get("outputs", ()),
            )
            for i, f in enumerate(self.py_fields)
        ]

    def failure(self, error: Exception) -> CaptureError:
        stack = self.failed_stack if self.failed_stack is not None else tuple(self.stack)
        paths = tuple(self.call_fields[i]["path"] for i in stack)
        where = " > ".join(
            f"{self.call_fields[i]['path'] or '<root>'} ({type(self.call_fields[i]['module']).__name__})"
            for i in stack[-2:]
        )
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        op = f" at {self.failed_op}" if self.failed_op else ""
        return CaptureError(
            f"forward failed in {where or '<root>'}{op}: {type(error).__name__}: {first}",
            stack=paths,
            op=self.failed_op,
        )
