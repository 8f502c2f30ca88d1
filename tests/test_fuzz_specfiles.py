"""Fuzz the file front doors: spec files (TOML/JSON) and Keras ``to_json()`` configs.

Start from real files (``convcost export`` of zoo models, the files in examples/, two Keras configs
written by Keras itself) and break them: delete keys, wrong types, negative/zero/huge numbers,
NaN/inf, unknown layer types, deep nesting, duplicate names, truncated text, random bytes. The only
allowed outcomes:

* a model whose report is consistent (totals are the sum of the rows) and which round-trips through
  ``dumps``/``loads`` unchanged, or a ``GeometryError``/``SpecError`` from ``analyze``;
* a ``ConvcostError`` that names the file, and from the CLI exit 2 with exactly one line (a layer
  name holding a line break is printed escaped).

Never any other exception. The Keras JSON fixtures in tests/data were written by Keras 3 itself
(``convcost.interop.keras.to_keras(model).to_json()`` of a 10-layer Sequential and of a residual add
plus an Inception-style concat; and ``keras_nested_shared.json``, a frozen nested Functional called
on two inputs, a nested Sequential, an op with a constant and a Dense shared by two outputs), so the
fuzzer starts from what Keras really writes without paying for ``import keras``;
``test_keras_seeds_are_read_exactly`` pins them to hand-counted totals.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from convcost import specfile
from convcost.cli import main
from convcost.errors import ConvcostError, GeometryError, SpecError
from convcost.interop.keras import from_keras_json, keras_json_file
from convcost.report import analyze
from convcost.zoo import build

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SCRATCH = Path(tempfile.mkdtemp(prefix="convcost-fuzz-spec-"))

#: small zoo networks covering every container: plain stacks, residual adds, Inception concats
SEED_MODELS = ["lenet5", "separable_fashion", "mobilenet_v1_mnist", "inception10", "resnet18_fashion"]
SEEDS: list[dict[str, Any]] = [specfile.model_to_dict(build(name)) for name in SEED_MODELS]
SEEDS += [json.loads((ROOT / "examples" / "inception_block.json").read_text())]
SEEDS += [specfile.model_to_dict(specfile.load(ROOT / "examples" / "separable_cifar.toml"))]
KERAS_SEEDS = [
    json.loads((DATA / name).read_text())
    for name in ("keras_tiny_sequential.json", "keras_tiny_functional.json", "keras_nested_shared.json")
]

WEIRD = st.one_of(
    st.sampled_from([0, -1, 1, 2, 10**30, -(10**30), 2**63, 0.5, -0.0, 1e308, math.nan, math.inf, -math.inf]),
    st.sampled_from(["", "same", "valid", "causal", "Conv2D", "relu", "nope", "add", "concat", "x" * 300]),
    st.sampled_from([True, False, None, [], {}, [0], [1, 2], [1, 2, 3], [[1, 1], [1, 1]], [-1, -1], [[]]]),
    st.integers(),
    st.floats(),
    st.text(max_size=8),
)
LAYER_TYPES = [*specfile.LAYER_TYPES, "Lambda", "Conv3D", "conv2d", "", "Add", "Concat", "Layer", "__class__"]


def nodes(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into nested dicts/lists (the root included)."""
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += nodes(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += nodes(child, (*path, index))
    return found


def get(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def weird(draw: Any) -> Any:
    """A fresh copy: an edit must never change the shared constants the next example draws from."""
    return copy.deepcopy(draw(WEIRD))


@st.composite
def mutated(draw: Any, seeds: list[dict[str, Any]]) -> Any:
    """A seed document with one to four random edits."""
    data: Any = copy.deepcopy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = nodes(data)
        path = draw(st.sampled_from(paths))
        target = get(data, path)
        edit = draw(st.integers(min_value=0, max_value=9))
        if not path:
            if edit == 0:
                data = weird(draw)
            continue
        parent, key = get(data, path[:-1]), path[-1]
        if edit <= 1:  # delete a key or an item
            del parent[key]
        elif edit <= 4:  # a wrong type or an absurd number
            parent[key] = weird(draw)
        elif edit == 5 and isinstance(target, dict):  # an unknown or a swapped layer type
            target["type"] = draw(st.sampled_from(LAYER_TYPES))
        elif edit == 6 and isinstance(target, dict):  # an unknown field
            target[draw(st.sampled_from(["filter", "kernel_size", "strides", "units", "name", "extra"]))] = weird(draw)
        elif edit == 7 and isinstance(parent, list):  # a duplicate (same name twice)
            parent.insert(key, copy.deepcopy(target))
        elif edit == 8:  # deep nesting: the value wrapped in blocks or lists
            depth = draw(st.sampled_from([2, 70, 300]))
            for _ in range(depth):
                target = {"type": "Sequential", "layers": [target]} if isinstance(target, dict) else [target]
            parent[key] = target
        elif edit == 9 and isinstance(target, dict):  # a layer with no fields at all but its type
            parent[key] = {"type": target.get("type", "Conv2D")}
    return data


def toml_value(value: Any) -> str:
    """Any plain data as an inline TOML value (None, which TOML lacks, becomes a string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))


def to_text(data: Any, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(data, indent=1)  # NaN and Infinity come out as the bare words JSON forbids
    if isinstance(data, dict):
        return "".join(f"{json.dumps(str(k))} = {toml_value(v)}\n" for k, v in data.items())
    return f"value = {toml_value(data)}\n"


@st.composite
def broken_text(draw: Any, text: str) -> str:
    """Text-level damage: truncation, a deleted span, inserted characters or bytes-as-text."""
    edit = draw(st.integers(min_value=0, max_value=3))
    at = draw(st.integers(min_value=0, max_value=len(text)))
    if edit == 0:
        return text[:at]
    if edit == 1:
        return text[:at] + text[at + draw(st.integers(min_value=1, max_value=40)) :]
    if edit == 2:
        return text[:at] + draw(st.text(min_size=1, max_size=8)) + text[at:]
    return text[:at] + draw(st.sampled_from(['"', "[", "]", "{", "}", "=", ",", "\\", "\n", "#", "'''"])) + text[at:]


def check_model(model: Any) -> None:
    """A model that was read must cost out consistently (or fail cleanly) and round-trip exactly
    (reading a spec file checks its shapes: a model whose layers do not fit is refused there too)."""
    try:
        model.shaped  # noqa: B018
    except GeometryError as e:
        assert str(e)
        return
    for fmt in ("toml", "json"):
        assert specfile.loads(specfile.dumps(model, fmt), fmt) == model
    for convention in ("paper", "keras"):
        try:
            report = analyze(model, convention)
        except (GeometryError, SpecError) as e:
            assert str(e)
            return
        rows = report.rows
        assert report.totals.params == sum(r.params for r in rows)
        assert report.totals.macs == sum(r.macs for r in rows)
        assert all(type(r.macs) is int and type(r.params) is int and r.macs >= 0 for r in rows)


def read_file(text: str | bytes, name: str) -> None:
    path = SCRATCH / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        model = specfile.load(path)
    except ConvcostError as e:
        message = str(e)
        assert message.startswith(str(path)), message
    else:
        check_model(model)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["table", str(path), "--format", "json"])
    if code == 0:
        assert json.loads(out.getvalue())["totals"]["macs"] >= 0
    else:
        lines = err.getvalue().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith("convcost: error: "), (code, err.getvalue())


@given(mutated(SEEDS), st.sampled_from(["toml", "json"]))
def test_mutated_spec_data_is_read_or_refused_cleanly(data: Any, fmt: str) -> None:
    try:
        text = to_text(data, fmt)
    except (ValueError, RecursionError):  # our own writer cannot express it: nothing to test
        assume(False)
    read_file(text, f"mutated.{fmt}")


def json_with_a_repeated_key(value: Any, target: tuple[Any, ...], key: str, extra: Any) -> str:
    """``value`` as JSON, the object at ``target`` holding ``key`` a second time (with ``extra``)."""

    def write(item: Any, path: tuple[Any, ...]) -> str:
        if isinstance(item, dict):
            pairs = [f"{json.dumps(k)}: {write(v, (*path, k))}" for k, v in item.items()]
            if path == target:
                pairs.append(f"{json.dumps(key)}: {json.dumps(extra)}")
            return "{" + ", ".join(pairs) + "}"
        if isinstance(item, list):
            return "[" + ", ".join(write(v, (*path, i)) for i, v in enumerate(item)) + "]"
        return json.dumps(item)

    return write(value, ())


@given(st.data(), st.sampled_from(range(len(SEEDS + KERAS_SEEDS))))
def test_a_repeated_json_key_is_always_refused(data: st.DataObject, seed: int) -> None:
    """JSON keeps the last of two equal keys: a second 'layers' erased a network. Any repeated key,
    at any depth, of a spec file or a Keras config, is refused naming it."""
    document = (SEEDS + KERAS_SEEDS)[seed]
    objects = [path for path in nodes(document) if isinstance(get(document, path), dict) and get(document, path)]
    target = data.draw(st.sampled_from(objects))
    key = data.draw(st.sampled_from(sorted(get(document, target))))
    extra = copy.deepcopy(data.draw(WEIRD.filter(lambda v: not (isinstance(v, float) and not math.isfinite(v)))))
    path = SCRATCH / "repeated.json"
    path.write_text(json_with_a_repeated_key(document, target, key, extra))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["table", str(path), "--format", "json"])
    assert code == 2 and out.getvalue() == "", err.getvalue()
    assert err.getvalue().count("\n") == 1 and f"duplicate key {key!r}" in err.getvalue(), err.getvalue()


@given(st.data(), st.sampled_from(range(len(SEEDS))), st.sampled_from(["toml", "json"]))
def test_damaged_spec_text_is_read_or_refused_cleanly(data: st.DataObject, seed: int, fmt: str) -> None:
    model = specfile.model_from_dict(SEEDS[seed])
    text = specfile.dumps(model, fmt)
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        text = data.draw(broken_text(text))
    read_file(text, f"damaged.{fmt}")


@given(st.binary(max_size=200), st.sampled_from(["toml", "json"]))
def test_random_bytes_are_refused_cleanly(blob: bytes, fmt: str) -> None:
    read_file(blob, f"random.{fmt}")


@given(mutated(KERAS_SEEDS))
def test_mutated_keras_json_is_read_or_refused_cleanly(data: Any) -> None:
    text = json.dumps(data)
    try:
        model = from_keras_json(text, source="model.json")
    except ConvcostError as e:
        assert str(e).startswith("model.json"), str(e)
    else:
        check_model(model)
    # the CLI's path: a file that looks like a Keras config is read as one, anything else as a spec file
    path = SCRATCH / "keras.json"
    path.write_text(text)
    try:
        keras_json_file(str(path))
    except ConvcostError as e:
        assert str(path) in str(e), str(e)
    read_file(text, "keras.json")


@given(st.data(), st.sampled_from(range(len(KERAS_SEEDS))))
def test_damaged_keras_json_text_is_refused_cleanly(data: st.DataObject, seed: int) -> None:
    text = json.dumps(KERAS_SEEDS[seed], indent=1)
    text = data.draw(broken_text(text))
    try:
        model = from_keras_json(text, source="model.json")
    except ConvcostError as e:
        assert str(e).startswith("model.json"), str(e)
    else:
        check_model(model)


def test_keras_seeds_are_read_exactly() -> None:
    """The fixtures themselves: hand-counted totals of the two networks they describe."""
    sequential = analyze(from_keras_json(json.dumps(KERAS_SEEDS[0])), "keras").totals
    # stem 3x3x3x8+8; BN 4x8; dw 3x3x8+8; pw 8x12+12; fc (4*4*12)x5+5
    assert sequential.params == (3 * 3 * 3 * 8 + 8) + 4 * 8 + (3 * 3 * 8 + 8) + (8 * 12 + 12) + (4 * 4 * 12 * 5 + 5)
    functional = analyze(from_keras_json(json.dumps(KERAS_SEEDS[1])), "keras").totals
    # c1 3x3x8x8+8; BN 4x8; a 1x1x8x4+4; b 3x3x8x6+6; fc (4+6+8)x3+3
    assert functional.params == (9 * 8 * 8 + 8) + 4 * 8 + (8 * 4 + 4) + (9 * 8 * 6 + 6) + (18 * 3 + 3)
    nested = analyze(from_keras_json(json.dumps(KERAS_SEEDS[2])), "keras").totals
    # frozen tower (called twice, counted once): conv 3x3x3x4+4, BN 4x4; block 1x1x4x4+4; head 4x2+2 (shared)
    assert (nested.trainable, nested.non_trainable) == ((4 * 4 + 4) + (4 * 2 + 2), (9 * 3 * 4 + 4) + 4 * 4)


def test_keras_window_sizes_are_never_rounded() -> None:
    """A kernel of 2.5 or a stride of "1" is refused: truncating it would print a wrong count."""
    for field, value in (("kernel_size", [2.5, 3.9]), ("strides", ["1", 1]), ("dilation_rate", [True, 1])):
        document = copy.deepcopy(KERAS_SEEDS[0])
        stem = next(entry for entry in document["config"]["layers"] if entry["config"].get("name") == "stem")
        stem["config"][field] = value
        try:
            from_keras_json(json.dumps(document), source="model.json")
        except SpecError as e:
            assert str(e).startswith("model.json: Conv2D 'stem': "), str(e)
        else:
            raise AssertionError(f"{field} {value!r} was accepted")


def teardown_module() -> None:
    for path in SCRATCH.iterdir():
        path.unlink()
    SCRATCH.rmdir()
