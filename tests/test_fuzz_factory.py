"""Fuzz the torch front door: ``convcost table package.module:factory --input-size ...``.

The one front door that runs code the user named: a module is imported, a factory called, its
forward run on shape-only tensors. Whatever the target, the size, the batch and the flags, the
CLI gives a result whose parameters are the module's own ``sum(p.numel())`` (and whose
mult-adds equal torchinfo's convention on that module as the torch tools see it), or exit 2 and
one line; never a traceback, never an internal error. The factories live in a scratch package
written here: well-formed networks, ones whose forward refuses some sizes, factories that raise,
return something else or are not callable, and an operation convcost cannot map
(``--allow-unknown`` then costs it at zero, listed, and the totals are lower bounds).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from convcost.cli import main  # noqa: E402

PACKAGE = "convcost_fuzz_factories"

SOURCE = '''
import torch
from torch import nn
import torch.nn.functional as F


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False)
        self.pw = nn.Conv2d(8, 8, 1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = F.relu(self.bn(self.stem(x)))
        x = x + self.pw(F.relu(self.dw(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class FixedSize(nn.Module):
    """A classifier that only fits 8x8 inputs (its Linear takes 4 * 4 * 4 values)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.fc = nn.Linear(64, 2)

    def forward(self, x):
        return self.fc(torch.flatten(self.conv(x), 1))


class Signal(nn.Module):
    """A 1-D convnet on (C, L) inputs."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 6, 5, padding=2)
        self.pool = nn.MaxPool1d(2, ceil_mode=True)

    def forward(self, x):
        return self.pool(F.gelu(self.conv(x)))


class Strange(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x):
        return torch.cos(self.conv(x))


def residual():
    return Residual()


def fixed_size():
    return FixedSize()


def signal():
    return Signal()


def strange():
    return Strange()


def raises():
    raise RuntimeError("no weights here")


def not_a_module():
    return 42


NOT_CALLABLE = 3
'''

#: the factories of the scratch package, and one it does not have
FACTORIES = ["residual", "fixed_size", "signal", "strange", "raises", "not_a_module", "NOT_CALLABLE", "missing"]
MALFORMED = ["", ":", "x:", ":f", "a:b:c", "1mod:f", "mod.:f", f"{PACKAGE}:f-g", f"{PACKAGE}.nowhere:residual"]


@pytest.fixture(autouse=True, scope="module")
def _on_path(tmp_path_factory: pytest.TempPathFactory) -> object:
    """The scratch package, importable while this module's tests run."""
    scratch = tmp_path_factory.mktemp("factories")
    (scratch / f"{PACKAGE}.py").write_text(SOURCE)
    sys.path.insert(0, str(scratch))
    yield
    sys.path.remove(str(scratch))
    sys.modules.pop(PACKAGE, None)


def run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


dims = st.one_of(st.integers(1, 12), st.sampled_from([0, -1, 10**6, 2**63]))
sizes = st.one_of(
    st.lists(dims, min_size=1, max_size=5).map(lambda ds: ",".join(map(str, ds))),
    st.sampled_from(["", "3,,8", "a,b", "1.5,3,8,8", "1,3,8,8,", " 1,3,8,8", "1;3;8;8", "1e3,3,8,8"]),
)
targets = st.one_of(st.sampled_from(FACTORIES).map(lambda f: f"{PACKAGE}:{f}"), st.sampled_from(MALFORMED))


@given(
    target=targets,
    size=st.none() | sizes,
    batch=st.none() | st.integers(-1, 4),
    allow_unknown=st.booleans(),
    extra=st.sampled_from([[], ["--alpha", "0.5"], ["--resolution", "32"], ["--classes", "3"], ["--depth", "1"]]),
)
def test_a_factory_gives_its_module_s_counts_or_one_error_line(
    target: str, size: str | None, batch: int | None, allow_unknown: bool, extra: list[str]
) -> None:
    args = ["table", target, "--convention", "torchinfo", "--format", "json"]
    if size is not None:
        args += ["--input-size", size]
    if batch is not None:
        args += ["--batch", str(batch)]
    if allow_unknown:
        args.append("--allow-unknown")
    args += extra
    code, out, err = run(args)
    event(f"exit {code}")
    assert "Traceback" not in out + err, (args, err)
    assert code != 3 and "internal error" not in err, (args, err)
    if code == 0:
        report = json.loads(out)
        name = target.split(":")[1]
        module = getattr(__import__(PACKAGE), name)()
        assert report["totals"]["params"] == sum(p.numel() for p in module.parameters()), args
        # a lower bound only when asked for, listing what was left out (torch.cos; or a forward that
        # torch runs unbatched, as a Conv1d given a 2-D input does)
        assert not report["lower_bound"] or (allow_unknown and report["unknown"]), args
        assert name != "strange" or report["lower_bound"], args
        return
    assert code == 2, (args, code, err)
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("convcost: error: ") and len(lines[0]) > 17, (args, err)


@given(size=st.lists(st.integers(1, 9), min_size=3, max_size=3))
def test_where_the_network_runs_its_counts_are_torchinfo_s(size: list[int]) -> None:
    """Where the residual network runs, its params and mult-adds are torchinfo's own on the module."""
    torchinfo = pytest.importorskip("torchinfo")
    shape = (size[0], 3, size[1], size[2])
    args = ["table", f"{PACKAGE}:residual", "--input-size", ",".join(map(str, shape))]
    code, out, err = run([*args, "--format", "json", "--convention", "torchinfo"])
    assert code == 0, err
    report = json.loads(out)
    stats = torchinfo.summary(__import__(PACKAGE).residual(), input_size=shape, verbose=0)
    assert (report["totals"]["params"], report["totals"]["macs"]) == (stats.total_params, stats.total_mult_adds)
    assert report["batch"] == shape[0]
