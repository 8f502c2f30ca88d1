"""Closed form against the NumPy reference's count, layer by layer, as plain data.

Params are compared under the ``keras`` convention (the reference allocates BatchNorm's gamma, beta,
moving mean and variance, so its count is ``model.count_params()``'s), multiply-adds under
``paper`` (conv and fully-connected only: the reference's BN, activation, pooling and merge kernels
perform no multiply-adds it counts). Output shapes are compared too. Importing this module does not
import NumPy: the reference is loaded when ``verify`` runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from convcost.digits import printing_any_int
from convcost.errors import ConvcostError, GeometryError, InternalError
from convcost.record import record
from convcost.render.grid import grid
from convcost.render.text import exact, paper_shape
from convcost.report import analyze
from convcost.spec import Model, Shape, elements

PARAMS_CONVENTION = "keras"
MACS_CONVENTION = "paper"

#: ``(layers done, total layers, path)``
Progress = Callable[[int, int, str], None]


@record
class VerifyRow:
    path: str
    kind: str
    expected_output: Shape
    counted_output: Shape
    expected_params: int
    counted_params: int
    expected_trainable: int
    counted_trainable: int
    expected_macs: int
    counted_macs: int

    @property
    def shape_ok(self) -> bool:
        return self.expected_output == self.counted_output

    @property
    def params_ok(self) -> bool:
        """Total and trainable agree (so the non-trainable part does too)."""
        return self.expected_params == self.counted_params and self.expected_trainable == self.counted_trainable

    @property
    def macs_ok(self) -> bool:
        return self.expected_macs == self.counted_macs

    @property
    def ok(self) -> bool:
        return self.shape_ok and self.params_ok and self.macs_ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "output": {"closed_form": list(self.expected_output), "counted": list(self.counted_output)},
            "params": {"closed_form": self.expected_params, "counted": self.counted_params},
            "trainable": {"closed_form": self.expected_trainable, "counted": self.counted_trainable},
            "macs": {"closed_form": self.expected_macs, "counted": self.counted_macs},
            "ok": self.ok,
        }


@record
class Verification:
    model: str
    input: Shape
    batch: int
    rows: tuple[VerifyRow, ...]

    @property
    def passed(self) -> bool:
        return all(r.ok for r in self.rows)

    @property
    def failures(self) -> tuple[VerifyRow, ...]:
        return tuple(r for r in self.rows if not r.ok)

    def totals(self) -> dict[str, dict[str, int]]:
        return {
            "params": {
                "closed_form": sum(r.expected_params for r in self.rows),
                "counted": sum(r.counted_params for r in self.rows),
            },
            "macs": {
                "closed_form": sum(r.expected_macs for r in self.rows),
                "counted": sum(r.counted_macs for r in self.rows),
            },
        }

    def verdict(self) -> str:
        if self.passed:
            return f"PASS: all {len(self.rows)} layers agree (params, multiply-adds, output shapes)"
        names = ", ".join(r.path for r in self.failures[:5])
        more = f" and {len(self.failures) - 5} more" if len(self.failures) > 5 else ""
        return f"FAIL: {len(self.failures)} of {len(self.rows)} layers disagree: {names}{more}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "input": list(self.input),
            "batch": self.batch,
            "params_convention": PARAMS_CONVENTION,
            "macs_convention": MACS_CONVENTION,
            "layers": [r.to_dict() for r in self.rows],
            "totals": self.totals(),
            "passed": self.passed,
            "verdict": self.verdict(),
        }


#: bytes per value of the reference's arrays (float32), and of the input as first drawn (float64)
_VALUE_BYTES = 4
_DRAW_BYTES = 8


def memory_needed(model: Model) -> int:
    """A lower bound on the bytes the reference allocates: the activations alive at once and every
    weight in float32, plus the input as NumPy first draws it (float64)."""
    report = analyze(model, PARAMS_CONVENTION)
    return _VALUE_BYTES * (report.peak_activations + report.totals.params) + _DRAW_BYTES * model.batch * elements(
        model.input
    )


def check_fits(model: Model) -> None:
    """Refuse, naming the size, a model whose reference run cannot be allocated on this machine."""
    from convcost import budget

    budget.check(memory_needed(model), f"verify: the NumPy reference run of {model.name}")


def verify(model: Model, *, seed: int = 0, progress: Progress | None = None) -> Verification:
    """Run ``model`` through the NumPy reference and hold every layer's count against the closed form.

    A model too large for this machine's memory is refused before anything is allocated
    (``check_fits``); an allocation that fails anyway is a ``ConvcostError`` naming the size.
    """
    from convcost import budget
    from convcost.reference.executor import count_leaves, run

    check_fits(model)
    # the closed form first: a layer that does not fit its input is the user's error, reported so
    params_rows = analyze(model, PARAMS_CONVENTION).rows
    macs_rows = analyze(model, MACS_CONVENTION).rows
    total = count_leaves(model)

    def tick(done: int, path: str) -> None:
        if progress is not None:
            progress(done, total, path)

    try:
        execution = run(model, seed=seed, progress=tick)
    except MemoryError:
        needed = budget.describe(memory_needed(model))
        raise ConvcostError(
            f"verify: the NumPy reference ran out of memory on {model.name} (it needs at least {needed})"
        ) from None
    except GeometryError as e:  # the shapes fit (analyze said so): the reference is wrong
        raise InternalError(f"the reference refuses a layer the closed form accepts: {e}") from None
    rows = []
    for index, p in enumerate(params_rows):
        counted = execution.layers[index] if index < len(execution.layers) else None
        rows.append(
            VerifyRow(
                path=p.path,
                kind=p.kind,
                expected_output=p.output,
                counted_output=counted.output if counted else (),
                expected_params=p.params,
                counted_params=counted.params if counted else -1,
                expected_trainable=p.trainable,
                counted_trainable=counted.trainable if counted else -1,
                expected_macs=macs_rows[index].macs,
                counted_macs=counted.macs if counted else -1,
            )
        )
    return Verification(model=model.name, input=model.input, batch=model.batch, rows=tuple(rows))


def _mark(ok: bool) -> str:
    return "ok" if ok else "FAIL"


@printing_any_int
def to_text(result: Verification, *, color: bool = False) -> str:
    """A fixed-width table: closed form beside counted, a mark per layer, the verdict last."""
    rows = [
        [
            str(i),
            r.path,
            r.kind,
            paper_shape(r.counted_output) if r.counted_output else "-",
            exact(r.expected_params),
            exact(r.counted_params),
            exact(r.expected_macs),
            exact(r.counted_macs),
            _mark(r.ok),
        ]
        for i, r in enumerate(result.rows, start=1)
    ]
    totals = result.totals()
    rows.append(
        [
            "",
            "total",
            "",
            "",
            exact(totals["params"]["closed_form"]),
            exact(totals["params"]["counted"]),
            exact(totals["macs"]["closed_form"]),
            exact(totals["macs"]["counted"]),
            _mark(result.passed),
        ]
    )
    title = (
        f"{result.model}  input {paper_shape(result.input)}  batch {result.batch}: closed form "
        f"(params: {PARAMS_CONVENTION}, mult-adds: {MACS_CONVENTION}) vs the NumPy reference's count"
    )
    table = grid(
        title,
        ["#", "Name", "Kind", "Output", "Params", "Counted", "Mult-Adds", "Counted", "Check"],
        rows,
        right={0, 3, 4, 5, 6, 7},
        color=color,
    )
    return table + result.verdict() + "\n"
