"""Networks as TOML or JSON spec files: read (safely), write, and round-trip exactly.

A spec file is plain data: ``name``, ``input`` (``[C, H, W]``), optional ``batch``, ``layers`` (a
list of tables each with a ``type``, the layer class: ``Conv2D``, ``DepthwiseConv2D``, ... and that
class's fields) and optional ``outputs``. ``Sequential`` holds ``layers``; ``Parallel`` holds
``branches`` (each with a ``name`` and ``layers``) and a ``merge`` (``add``, ``concat`` or ``multiply``).

Any layer or block may name its ``inputs`` (node paths, or ``input`` for the model input): that is
how a file describes a graph that is not a tree of blocks (a layer feeding two later merges, a
three-way ``Add`` of the stem and two blocks). Without ``inputs`` a layer reads the previous one's
output, and the first layer of a block the block's input.

Reading never evaluates anything: the only outcomes are a ``Model`` or a ``SpecFileError`` naming
the file, the layer, the field and, where it can be found, the line.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from convcost.blocks import MAX_DEPTH, Element, Parallel, Sequential, name_elements
from convcost.digits import PARSE_LIMIT, parse_limited
from convcost.errors import ConvcostError, GeometryError, GraphError, SpecError, SpecFileError
from convcost.graph import INPUT, Input
from convcost.layer import LAYER_TYPES as KINDS
from convcost.model import Model

#: spec files larger than this are refused before being parsed
MAX_BYTES = 10 * 1024 * 1024

#: every type a spec file may name: the layer kinds and the two blocks
LAYER_TYPES: dict[str, type[Element]] = {**KINDS, "Sequential": Sequential, "Parallel": Parallel}


# ---------------------------------------------------------------- model <-> plain data


#: fields stored as (h, w) pairs, written as one int when square
PAIR_FIELDS = frozenset({"kernel", "stride", "dilation", "pool"})


def _plain(key: str, value: object) -> object:
    """Tuples as lists, in the shortest form that reads back the same."""
    if key in PAIR_FIELDS and isinstance(value, tuple) and value[0] == value[1]:
        return value[0]
    if key == "padding" and isinstance(value, tuple) and all(isinstance(side, int) for side in value):
        left, right = value  # a 1-D layer's (left, right)
        return left if left == right else [left, right]
    if key == "padding" and isinstance(value, tuple):
        (top, bottom), (left, right) = value
        if top == bottom and left == right:  # torch-style symmetric: p or (ph, pw)
            return top if top == left else [top, left]
    if isinstance(value, tuple):
        return [_plain("", v) for v in value]
    return value


def layer_to_dict(
    layer: Element,
    wiring: dict[str, tuple[str, ...]] | None = None,
    path: str = "",
    shared: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A layer (or block) as plain data: its type and every field that differs from the default.

    ``wiring`` (explicit inputs by path) adds ``inputs`` to the tables it names, ``shared`` (the node
    whose weights a layer uses) ``shares``; ``path`` is the element's own.
    """
    wiring, shared = wiring or {}, shared or {}
    path = path or layer.name
    data: dict[str, Any] = {"type": type(layer).__name__, "name": layer.name}
    if path in wiring:
        data["inputs"] = list(wiring[path])
    if path in shared:
        data["shares"] = shared[path]
    if isinstance(layer, Sequential):
        data["layers"] = [layer_to_dict(child, wiring, f"{path}/{child.name}", shared) for child in layer.layers]
        return data
    if isinstance(layer, Parallel):
        data["merge"] = layer.merge
        data["branches"] = [
            {
                "name": b.name,
                "layers": [layer_to_dict(c, wiring, f"{path}/{b.name}/{c.name}", shared) for c in b.layers],
            }
            for b in layer.branches
        ]
        return data
    fields = {f.name: getattr(layer, f.name) for f in dataclasses.fields(layer) if f.name != "name"}
    # drop a field when leaving it out rebuilds the same layer (a default, even a derived one
    # such as a pool's stride, which defaults to its pool size)
    for key in list(fields):
        rest = {k: v for k, v in fields.items() if k != key}
        try:
            if type(layer)(name=layer.name, **rest) == layer:
                fields = rest
        except (ConvcostError, TypeError):
            pass
    data.update({k: _plain(k, v) for k, v in fields.items()})
    return data


def model_to_dict(model: Model) -> dict[str, Any]:
    """A tree of blocks as the tree (with the ``inputs`` of its wiring); any other graph as a flat
    list of layers named by their paths, with ``inputs`` wherever a layer does not read the one before."""
    data: dict[str, Any] = {"name": model.name}
    if model.inputs == (Input(INPUT, model.input),):
        data["input"] = list(model.input)
    else:
        data["inputs"] = [{"name": i.name, "shape": list(i.shape)} for i in model.inputs]
    data["batch"] = model.batch
    tree = model.tree
    if tree is not None:
        wiring, shared = dict(model.wiring), dict(model.shared)
        data["layers"] = [layer_to_dict(element, wiring, shared=shared) for element in tree.layers]
        if model.outputs:
            data["outputs"] = list(model.outputs)
        return data
    graph = model.graph
    layers = []
    previous = graph.inputs[0].name
    for node in graph.nodes:
        table = layer_to_dict(dataclasses.replace(node.layer, name=node.name))
        head = {"type": table.pop("type"), "name": table.pop("name")}
        if node.inputs != (previous,):
            head["inputs"] = list(node.inputs)
        if node.shares:
            head["shares"] = node.shares
        table = {**head, **table}
        layers.append(table)
        previous = node.name
    data["layers"] = layers
    if graph.outputs != (previous,):
        data["outputs"] = list(graph.outputs)
    return data


#: what a file says about a layer's edges, by path relative to the block being read: its explicit
#: ``inputs`` (None: the previous output) and the node whose weights it ``shares`` ("": its own)
_Edges = tuple[tuple[str, ...] | None, str]
_Wiring = dict[str, _Edges]


class _Reader:
    """Builds a Model from parsed data, naming the file, layer and line in every error."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.text = text
        self.lines = text.splitlines()

    def fail(self, where: str, message: str, name: object = None) -> SpecFileError:
        line = self._line_of(name)
        at = f"{self.source}:{line}" if line else self.source
        return SpecFileError(f"{at}: {where}: {message}")

    def _line_of(self, name: object, after: int = 0) -> int | None:
        """The line of the first ``name = "x"`` / ``"name": "x"`` for that layer name, after line ``after``."""
        if not isinstance(name, str) or not name:
            return None
        for number, line in enumerate(self.lines[after:], start=after + 1):
            stripped = line.replace(" ", "")
            if f'name="{name}"' in stripped or f'"name":"{name}"' in stripped or f"name='{name}'" in stripped:
                return number
        return None

    def line_of_path(self, path: str) -> int | None:
        """The line of the node at ``path``: its whole name, else each component after its block's."""
        whole = self._line_of(path)
        if whole is not None or "/" not in path:
            return whole
        line = 0
        for part in path.split("/"):
            found = self._line_of(part, line)
            if found is None:
                return line or None
            line = found
        return line

    def model(self, data: object, default_name: str) -> Model:
        if not isinstance(data, dict):
            raise self.fail("top level", f"expected a table with name, input and layers, got {type(data).__name__}")
        unknown = set(data) - {"name", "input", "inputs", "batch", "layers", "outputs"}
        if unknown:
            raise self.fail(
                "top level", f"unknown key {sorted(unknown)[0]!r} (expected name, input, batch, layers, outputs)"
            )
        if "layers" not in data:
            raise self.fail("top level", "missing 'layers'")
        name = data.get("name", default_name)
        named = self.named_inputs(data)
        shape = named[0].shape if named else data["input"]
        if not isinstance(shape, (list, tuple)):
            raise self.fail("top level", f"'input' must be a list [C, H, W], got {shape!r}")
        outputs = data.get("outputs", [])
        if not isinstance(outputs, list) or not all(isinstance(o, str) for o in outputs):
            raise self.fail("top level", f"'outputs' must be a list of layer names, got {outputs!r}")
        layers, edges = self.layers(data["layers"], "top level", depth=0)
        wiring = tuple((path, inputs) for path, (inputs, _) in edges.items() if inputs is not None)
        shared = tuple((path, owner) for path, (_, owner) in edges.items() if owner)
        try:
            model = Model(
                name,
                tuple(shape),
                Sequential(layers),
                data.get("batch", 1),
                wiring,
                tuple(outputs),
                named,
                shared,
            )
            model.shaped  # noqa: B018 (a layer that does not fit its input is the file's error too)
        except GraphError as e:
            line = self.line_of_path(e.node) if e.node else None
            raise SpecFileError(f"{self.source}{f':{line}' if line else ''}: {e}") from None
        except GeometryError as e:
            line = self.line_of_path(e.node) if e.node else None
            raise GeometryError(f"{self.source}{f':{line}' if line else ''}: {e}", e.node) from None
        except ConvcostError as e:
            raise self.fail("top level", str(e)) from None
        return model

    def named_inputs(self, data: dict[str, Any]) -> tuple[Input, ...]:
        """``inputs = [{name, shape}, ...]`` (several inputs, or one not called ``input``), or none."""
        if "input" in data and "inputs" in data:
            raise self.fail("top level", "give 'input' (one input) or 'inputs' (named inputs), not both")
        if "inputs" not in data:
            if "input" not in data:
                raise self.fail("top level", "missing 'input' (the input shape [C, H, W])")
            return ()
        items = data["inputs"]
        if not isinstance(items, list) or not items:
            raise self.fail("top level", f"'inputs' must be a list of tables with 'name' and 'shape', got {items!r}")
        named = []
        for i, item in enumerate(items):
            where = f"top level > input {i + 1}"
            if not isinstance(item, dict) or set(item) != {"name", "shape"}:
                raise self.fail(where, f"expected a table with exactly 'name' and 'shape', got {item!r}")
            try:
                named.append(
                    Input(item["name"], tuple(item["shape"]) if isinstance(item["shape"], list) else item["shape"])
                )
            except ConvcostError as e:
                raise self.fail(where, str(e)) from None
        return tuple(named)

    def layers(self, items: object, where: str, depth: int) -> tuple[tuple[Element, ...], _Wiring]:
        """A block's elements, named as the block will name them, and their wiring by relative path."""
        if depth > MAX_DEPTH:
            raise self.fail(where, f"blocks nested deeper than {MAX_DEPTH} levels")
        if not isinstance(items, list):
            raise self.fail(where, f"'layers' must be a list of tables, got {type(items).__name__}")
        read = [self.layer(item, f"{where} > layer {i + 1}", depth) for i, item in enumerate(items)]
        elements = name_elements(tuple(element for element, _, _ in read))
        wiring: _Wiring = {}
        for element, (_, edges, inner) in zip(elements, read, strict=True):
            if edges != (None, ""):
                wiring[element.name] = edges
            wiring.update({f"{element.name}/{path}": reads for path, reads in inner.items()})
        return elements, wiring

    def layer(self, data: object, where: str, depth: int) -> tuple[Element, _Edges, _Wiring]:
        """One element, its edges (explicit ``inputs``, the node it ``shares`` weights with) and its
        children's wiring."""
        if not isinstance(data, dict):
            raise self.fail(where, f"expected a table with a 'type', got {data!r}")
        name = data.get("name", "")
        if name:
            where = f"{where} ({name!r})"
        kind = data.get("type")
        if not isinstance(kind, str) or kind not in LAYER_TYPES:
            import difflib

            close = difflib.get_close_matches(str(kind), LAYER_TYPES, n=1)
            hint = f"; did you mean {close[0]}?" if close else f" (known: {', '.join(LAYER_TYPES)})"
            raise self.fail(where, f"unknown layer type {kind!r}{hint}", name)
        cls = LAYER_TYPES[kind]
        fields = {k: v for k, v in data.items() if k not in ("type", "inputs", "shares")}
        shares = data.get("shares", "")
        if not isinstance(shares, str):
            raise self.fail(where, f"'shares' must name the layer whose weights it uses, got {shares!r}", name)
        edges = (self.inputs(data, where, name), shares)
        try:
            if cls is Sequential:
                self._only(fields, {"name", "layers"}, where, name)
                layers, wiring = self.layers(fields.get("layers", []), where, depth + 1)
                return Sequential(layers, name=name), edges, wiring
            if cls is Parallel:
                self._only(fields, {"name", "merge", "branches"}, where, name)
                branches, wiring = self.branches(fields.get("branches"), where, depth + 1)
                return Parallel(branches, fields.get("merge", "add"), name=name), edges, wiring
            allowed = {f.name for f in dataclasses.fields(cls)}
            self._only(fields, allowed, where, name)
            for key, value in fields.items():
                self._check_value(value, f"{where}: field {key!r}", name)
            arguments: dict[str, Any] = {k: _tuples(v) for k, v in fields.items()}
            return cls(**arguments), edges, {}
        except SpecFileError:
            raise
        except ConvcostError as e:
            raise self.fail(where, str(e), name) from None
        except TypeError as e:  # a required field is missing
            raise self.fail(where, str(e).replace(".__init__()", ":"), name) from None

    def inputs(self, data: dict[str, Any], where: str, name: object) -> tuple[str, ...] | None:
        if "inputs" not in data:
            return None
        inputs = data["inputs"]
        if not isinstance(inputs, list) or not inputs or not all(isinstance(i, str) and i for i in inputs):
            wanted = f"'inputs' must be a non-empty list of layer names (or {INPUT!r})"
            raise self.fail(where, f"{wanted}, got {inputs!r}", name)
        return tuple(inputs)

    def branches(self, items: object, where: str, depth: int) -> tuple[tuple[Sequential, ...], _Wiring]:
        if not isinstance(items, list):
            raise self.fail(where, "'branches' must be a list of tables with 'name' and 'layers'")
        result = []
        wiring: _Wiring = {}
        for i, branch in enumerate(items):
            at = f"{where} > branch {i + 1}"
            if not isinstance(branch, dict):
                raise self.fail(at, f"expected a table with 'name' and 'layers', got {branch!r}")
            self._only(branch, {"name", "layers"}, at, branch.get("name"))
            layers, inner = self.layers(branch.get("layers", []), at, depth)
            block = Sequential(layers, name=branch.get("name", ""))
            result.append(block)
            # an unnamed branch is named branch_<i> by the Parallel, as here
            prefix = block.name or f"branch_{i}"
            wiring.update({f"{prefix}/{path}": reads for path, reads in inner.items()})
        return tuple(result), wiring

    def _only(self, fields: dict[str, Any], allowed: set[str], where: str, name: object) -> None:
        for key in fields:
            if key not in allowed:
                import difflib

                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f" (fields: {', '.join(sorted(allowed))})"
                raise self.fail(where, f"unknown field {key!r}{hint}", name)

    def _check_value(self, value: object, where: str, name: object) -> None:
        if isinstance(value, float) and not math.isfinite(value):
            raise self.fail(where, f"must be a finite number, got {value!r}", name)
        if isinstance(value, dict):
            raise self.fail(where, "must be a number, string or list, got a table", name)
        if isinstance(value, list):
            for item in value:
                self._check_value(item, where, name)


def _tuples(value: object) -> object:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


# ---------------------------------------------------------------- files


def model_from_dict(data: object, source: str = "<spec>", text: str = "") -> Model:
    """Build a Model from parsed spec data (errors name ``source``)."""
    return _Reader(source, text).model(data, default_name=Path(source).stem or "model")


def loads(text: str, fmt: str, source: str = "<spec>") -> Model:
    """Parse spec text in ``fmt`` ('toml' or 'json')."""
    reader = _Reader(source, text)
    if fmt == "toml":
        import tomllib

        try:
            with parse_limited():  # a longer integer literal is refused (quadratic to convert), as in JSON
                data: object = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise SpecFileError(f"{source}: not valid TOML: {e}") from None
        except RecursionError:
            raise SpecFileError(f"{source}: nested too deeply") from None
        except ValueError as e:
            if "digits" not in str(e):
                raise
            raise SpecFileError(f"{source}:{_long_integer_line(text)}: {_TOO_MANY_DIGITS}") from None
    elif fmt == "json":
        from convcost import jsonparse  # duplicate keys, over-long integers and lone surrogates refused

        try:
            data = jsonparse.loads(text, parse_constant=_reject_constant)
        except json.JSONDecodeError as e:
            raise SpecFileError(f"{source}:{e.lineno}: not valid JSON: {e.msg} (column {e.colno})") from None
        except ValueError as e:
            raise SpecFileError(f"{source}: {e}") from None
        except RecursionError:
            raise SpecFileError(f"{source}: nested too deeply") from None
    else:
        raise SpecFileError(f"{source}: unknown spec format {fmt!r} (use .toml or .json)")
    try:
        return reader.model(data, default_name=Path(source).stem or "model")
    except RecursionError:  # a field holding lists nested hundreds deep: parsed, but too deep to walk
        raise SpecFileError(f"{source}: nested too deeply") from None


_TOO_MANY_DIGITS = f"an integer literal of more than {PARSE_LIMIT:,} digits (no network needs one)"


def _long_integer_line(text: str) -> int:
    """The line of the first TOML integer literal longer than the parse limit (digits and '_')."""
    import re

    for match in re.finditer(rf"[0-9][0-9_]{{{PARSE_LIMIT},}}", text):
        if sum(c.isdigit() for c in match.group()) > PARSE_LIMIT:
            return text.count("\n", 0, match.start()) + 1
    return 1


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a valid number in a spec file")


def too_big(path: Path, size: int | None, limit: int) -> SpecFileError:
    """The error for a file over ``limit`` bytes (``size`` None: a pipe or device, read up to the limit)."""
    if size is None:
        return SpecFileError(f"{path}: more than {limit:,} bytes, over the {limit:,}-byte limit for spec files")
    return SpecFileError(f"{path}: {size:,} bytes is over the {limit:,}-byte limit for spec files")


def read_limited(path: Path, limit: int, stated: int | None = None) -> bytes:
    """The bytes of ``path``, opened once and read to at most ``limit`` bytes: a regular file larger
    than that is refused before reading (by its size), anything else (a FIFO, a symlink to
    /dev/zero or /dev/urandom) after ``limit`` + 1 bytes, never read without bound. The error
    states ``stated`` (default ``limit``) as the limit."""
    import os
    import stat

    stated = limit if stated is None else stated
    try:
        with open(path, "rb") as f:
            info = os.fstat(f.fileno())
            regular = stat.S_ISREG(info.st_mode)
            if regular and info.st_size > limit:
                raise too_big(path, info.st_size, stated)
            data = f.read(limit + 1)  # a buffered read: loops over a pipe until EOF or limit + 1 bytes
    except FileNotFoundError:
        raise SpecFileError(f"{path}: no such file") from None
    except OSError as e:
        raise SpecFileError(f"{path}: cannot read: {e.strerror or e}") from None
    if len(data) > limit:
        raise too_big(path, None, stated)
    return data


def decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecFileError(f"{path}: not UTF-8 text") from None


def load(path: str | Path) -> Model:
    """Read a ``.toml`` or ``.json`` spec file (opened once); refuses files over ``MAX_BYTES``."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("toml", "json"):
        raise SpecFileError(f"{path}: a spec file must end in .toml or .json")
    return loads(decode(path, read_limited(path, MAX_BYTES)), fmt, str(path))


def dumps(model: Model, fmt: str) -> str:
    """The model as spec text in ``fmt`` ('toml' or 'json'); ``loads`` gives the same model back."""
    data = model_to_dict(model)
    if fmt == "json":
        return _json(data) + "\n"
    if fmt == "toml":
        return _toml(data)
    raise SpecFileError(f"unknown spec format {fmt!r} (use toml or json)")


def _json(value: object, indent: str = "") -> str:
    """Indented JSON that keeps lists of numbers (shapes, kernels) on one line."""
    inner = indent + "  "
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k)}: {_json(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}" if items else "{}"
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        return "[\n" + ",\n".join(inner + _json(v, inner) for v in value) + f"\n{indent}]"
    return json.dumps(value)


def _toml_escape(character: str) -> str:
    """A character as itself if printable, else as a TOML escape (DEL, C1 controls, bidi overrides,
    separators: an exported file shown on a terminal cannot drive it)."""
    if character.isprintable():
        return character
    code = ord(character)
    if 0xD800 <= code <= 0xDFFF:
        raise SpecError(f"cannot write {character!a} to TOML: a lone surrogate is not a Unicode character")
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        # a TOML basic string shares JSON's escapes, except that \u must be a scalar value (no surrogate
        # pairs: characters beyond U+FFFF are written as themselves) and DEL must be escaped
        text = json.dumps(value, ensure_ascii=False)
        return text if text.isprintable() else "".join(_toml_escape(c) for c in text)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")


def _toml(data: dict[str, Any]) -> str:
    """TOML with nested blocks as arrays of tables ([[layers]], [[layers.branches]], ...)."""
    lines = [f"{key} = {_toml_value(data[key])}" for key in ("name", "input", "batch", "outputs") if key in data]
    if "inputs" in data:  # an array of inline tables: it must come before the [[layers]] tables
        tables = ", ".join(
            f"{{name = {_toml_value(i['name'])}, shape = {_toml_value(i['shape'])}}}" for i in data["inputs"]
        )
        lines.append(f"inputs = [{tables}]")
    if not data["layers"]:  # no [[layers]] table at all would read back as a missing key
        lines.append("layers = []")
    _toml_tables(lines, "layers", data["layers"])
    return "\n".join(lines) + "\n"


def _toml_tables(lines: list[str], path: str, tables: list[dict[str, Any]]) -> None:
    for table in tables:
        lines += ["", f"[[{path}]]"]
        # keys first (empty child lists included): a sub-table header ends the table's own keys
        children = {k: v for k, v in table.items() if k in ("layers", "branches") and v}
        lines += [f"{key} = {_toml_value(value)}" for key, value in table.items() if key not in children]
        for key, value in children.items():
            _toml_tables(lines, f"{path}.{key}", value)
