"""Random layer stacks that may or may not fit their input.

hypothesis builds nested ``Sequential``/``Parallel`` networks from every layer type with random
geometry (kernels larger than the map, strides past the edge, branches that do not merge, channels
that groups do not divide, reshapes to the wrong size, 1-D inputs into convolutions, ...). The only
outcomes allowed:

* a report whose totals, and per-kind totals, are exactly the sum of its rows (Python ints), which
  renders in every format and folds to any depth with the same totals; or
* a ``GeometryError`` or ``SpecError`` on one line naming a layer of the network.

Never any other exception.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from convcost import spec
from convcost.errors import GeometryError, SpecError
from convcost.render import FORMATS, render
from convcost.render.depth import collapse
from convcost.report import analyze

NAMES = ["a", "b", "c", "conv", "fc", "x"]

small = st.integers(min_value=1, max_value=6)
pair = st.one_of(small, st.tuples(small, small))
explicit = st.one_of(
    st.integers(min_value=0, max_value=3),
    st.tuples(st.integers(0, 3), st.integers(0, 3)),
    st.tuples(st.tuples(st.integers(0, 3), st.integers(0, 3)), st.tuples(st.integers(0, 3), st.integers(0, 3))),
)
padding = st.one_of(st.sampled_from(["same", "valid"]), explicit)
# mostly unnamed (Sequential names them); sometimes a name from a small pool, so duplicates happen
name = st.one_of(st.just(""), st.just(""), st.sampled_from(NAMES))


def leaf(cls: type[spec.Layer], **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A leaf as (class, fields): built in the test, so a bad combination is a SpecError to check."""
    return st.fixed_dictionaries(fields).map(lambda kw: ("leaf", cls, kw))


def leaves() -> st.SearchStrategy[Any]:
    return st.one_of(
        leaf(
            spec.Conv2D,
            filters=st.sampled_from([1, 2, 3, 4, 6, 8, 12, 16]),
            kernel=pair,
            stride=pair,
            padding=padding,
            dilation=st.one_of(st.just(1), pair),
            groups=st.sampled_from([1, 1, 1, 2, 3, 4]),
            bias=st.booleans(),
            name=name,
        ),
        leaf(
            spec.DepthwiseConv2D,
            kernel=pair,
            stride=pair,
            padding=padding,
            depth_multiplier=st.integers(1, 3),
            bias=st.booleans(),
            name=name,
        ),
        leaf(
            spec.SeparableConv2D,
            filters=st.integers(1, 16),
            kernel=pair,
            stride=pair,
            padding=padding,
            depth_multiplier=st.integers(1, 2),
            name=name,
        ),
        leaf(spec.Dense, units=st.integers(1, 20), bias=st.booleans(), name=name),
        leaf(spec.BatchNorm, center=st.booleans(), scale=st.booleans(), name=name),
        leaf(spec.Activation, function=st.sampled_from(sorted(spec.ACTIVATIONS)), name=name),
        leaf(spec.MaxPool2D, pool=pair, stride=st.one_of(st.none(), pair), padding=padding, name=name),
        leaf(spec.AvgPool2D, pool=pair, stride=st.one_of(st.none(), pair), padding=padding, name=name),
        leaf(spec.GlobalAvgPool2D, keepdims=st.booleans(), name=name),
        leaf(spec.Flatten, name=name),
        leaf(spec.Dropout, rate=st.floats(0, 0.9), name=name),
        leaf(spec.Reshape, target=st.lists(st.integers(1, 16), min_size=1, max_size=3), name=name),
        leaf(spec.ZeroPadding2D, padding=explicit, name=name),
    )


def blocks(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A Sequential of children, or a Parallel of 2-3 branches (any may fail to construct)."""
    sequences = st.lists(children, max_size=4)
    return st.one_of(
        st.builds(lambda layers, n: ("seq", layers, n), sequences, name),
        st.builds(
            lambda branches, merge, n: ("par", branches, merge, n),
            st.lists(sequences, min_size=2, max_size=3),
            st.sampled_from(["add", "add", "concat"]),
            name,
        ),
    )


trees = st.recursive(leaves(), blocks, max_leaves=12)


def construct(node: Any) -> spec.Layer:
    """Build the layer tree (raising SpecError for duplicate names and the like, as a user would)."""
    if node[0] == "leaf":
        return node[1](**node[2])  # type: ignore[no-any-return]
    if node[0] == "seq":
        return spec.Sequential(tuple(construct(c) for c in node[1]), name=node[2])
    return spec.Parallel(
        tuple(spec.Sequential(tuple(construct(c) for c in branch)) for branch in node[1]), node[2], name=node[3]
    )


inputs = st.one_of(
    st.tuples(st.integers(1, 12), st.integers(1, 33), st.integers(1, 33)),
    st.tuples(st.integers(1, 64)),
)


def names_in(node: Any) -> set[str]:
    if node[0] == "leaf":
        return {node[2]["name"]} if node[2]["name"] else set()
    found = {node[-1]} if node[-1] else set()
    children = node[1] if node[0] == "seq" else [c for branch in node[1] for c in branch]
    for child in children:
        found |= names_in(child)
    return found


def assert_names_a_layer(message: str, candidates: set[str]) -> None:
    """A construction error names the layer, or its class when the layer has no name yet."""
    assert message and "\n" not in message
    classes = [cls.__name__ for cls in (*spec.MERGES.values(), spec.Sequential, spec.Parallel)]
    classes += [name for name, cls in vars(spec).items() if isinstance(cls, type) and issubclass(cls, spec.Layer)]
    assert any(f"'{n}'" in message for n in candidates) or message.startswith(tuple(classes)), message


@given(st.lists(trees, min_size=1, max_size=5), inputs, st.integers(1, 4), st.sampled_from(["paper", "keras"]))
def test_random_stacks_cost_out_or_fail_naming_a_layer(
    body: list[Any], shape: tuple[int, ...], batch: int, convention: str
) -> None:
    given_names = set().union(*(names_in(node) for node in body))
    try:
        model = spec.Model("random", shape, spec.Sequential(tuple(construct(n) for n in body)), batch)
    except SpecError as e:
        event("refused when built")
        assert_names_a_layer(str(e), given_names)
        return
    leaves_by_path = dict(model.layers())
    try:
        report = analyze(model, convention)
    except (GeometryError, SpecError) as e:
        event(f"refused by analyze: {type(e).__name__}")
        message = str(e)
        assert message and "\n" not in message
        # a layer inside a block is named by its path (fork/left/conv), one at the top by its name
        assert any(
            f"'{path}'" in message or f"'{layer.name}'" in message for path, layer in leaves_by_path.items()
        ) or any(f"'{n}'" in message for n in given_names), message
        return

    event("costed")
    rows = report.rows
    assert [r.path for r in rows] == list(leaves_by_path)
    for field in ("trainable", "non_trainable", "macs"):
        values = [getattr(r, field) for r in rows]
        assert all(type(v) is int and v >= 0 for v in values)
        assert getattr(report.totals, field) == sum(values)
        assert sum(getattr(t, field) for t in report.by_kind.values()) == sum(values)
    assert report.totals.layers == len(rows)
    for fmt in FORMATS:
        text = render(report, fmt, color=False)
        assert text
        if fmt == "json":
            assert json.loads(text)["totals"]["macs"] == report.totals.macs
    for depth in (1, 2, 3):
        folded = collapse(report, depth)
        assert folded.totals == report.totals
        assert sum(r.macs for r in folded.rows) == report.totals.macs
