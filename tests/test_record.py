"""``@record`` against ``@dataclass(frozen=True)``: the same class, declared both ways from random
field lists, must take the same arguments and build, compare, hash, print, freeze and replace the
same. dataclasses itself is the independent source; records exist only because they cost a third
as much to declare (docs/performance.md).
"""

from __future__ import annotations

import dataclasses
import inspect
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convcost.record import record

# one field: (default: none / value / factory, kw_only, init, compare, repr, hash)
_FIELD = st.tuples(
    st.sampled_from(["none", "value", "factory"]),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.sampled_from([None, True, False]),
)


def _declare(decorate: Any, spec: list[tuple[Any, ...]], post_init: bool) -> type:
    body: dict[str, Any] = {"__annotations__": {}, "__doc__": "A value.", "__module__": __name__}
    for i, (default, kw_only, init, compare, shown, hashed) in enumerate(spec):
        name = f"f{i}"
        body["__annotations__"][name] = "Any"
        options: dict[str, Any] = {"kw_only": kw_only, "init": init, "compare": compare, "repr": shown, "hash": hashed}
        if default == "value":
            options["default"] = (i, "d")
        elif default == "factory":
            options["default_factory"] = lambda i=i: [i]
        body[name] = dataclasses.field(**options)
    if post_init:

        def __post_init__(self: Any) -> None:
            object.__setattr__(self, "seen", tuple(getattr(self, f.name, None) for f in dataclasses.fields(self)))

        body["__post_init__"] = __post_init__
    return decorate(type("Value", (), body))  # type: ignore[no-any-return]


def _both(spec: list[tuple[Any, ...]], post_init: bool) -> tuple[Any, Any]:
    """The class declared by dataclasses and by record, or the error both raise."""
    declared = []
    for decorate in (dataclasses.dataclass(frozen=True), record):
        try:
            declared.append(_declare(decorate, spec, post_init))
        except (TypeError, ValueError) as error:
            declared.append(type(error))
    return declared[0], declared[1]


def _parameters(cls: type) -> list[tuple[str, Any, str]]:
    return [(p.name, p.kind, repr(p.default)) for p in inspect.signature(cls).parameters.values()]


@given(st.lists(_FIELD, max_size=6), st.booleans(), st.data())
def test_a_record_is_the_frozen_dataclass(spec: list[tuple[Any, ...]], post_init: bool, data: st.DataObject) -> None:
    expected, actual = _both(spec, post_init)
    if not isinstance(expected, type) or issubclass(expected, BaseException):
        assert actual is expected  # both refuse the declaration, with the same error
        return
    assert _parameters(actual) == _parameters(expected)
    # the same arguments for both: each init field given or left to its default
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    positional_left_out = False  # once a positional default is left out, so are the rest
    for p in inspect.signature(expected).parameters.values():
        keyword = p.kind is inspect.Parameter.KEYWORD_ONLY
        if not keyword and positional_left_out:
            continue
        if p.default is inspect.Parameter.empty or data.draw(st.booleans()):
            value = data.draw(st.sampled_from([0, 1, "x", (2, 3)]))
            if keyword:
                kwargs[p.name] = value
            else:
                args.append(value)
        elif not keyword:
            positional_left_out = True
    a, b = expected(*args, **kwargs), actual(*args, **kwargs)
    a2, b2 = expected(*args, **kwargs), actual(*args, **kwargs)
    names = [f.name for f in dataclasses.fields(expected)]
    assert names == [f.name for f in dataclasses.fields(actual)]
    assert vars(b) == vars(a)  # every field, and what __post_init__ saw
    # (a field with init=False and no default is never set: then both fail alike)
    assert _outcome(lambda: repr(b).replace("Value(", "")) == _outcome(lambda: repr(a).replace("Value(", ""))
    assert _outcome(lambda: b == b2) == _outcome(lambda: a == a2)
    assert _outcome(lambda: hash(b) == hash(b2)) == _outcome(lambda: hash(a) == hash(a2))
    assert b != a and a != b  # different classes are never equal
    for name in [*names, "other"]:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(b, name, 1)
        with pytest.raises(dataclasses.FrozenInstanceError):
            delattr(b, name)
    init_fields = [f.name for f in dataclasses.fields(expected) if f.init]
    if init_fields:
        changed = {init_fields[0]: "changed"}
        assert _outcome(lambda: vars(dataclasses.replace(b, **changed))) == _outcome(
            lambda: vars(dataclasses.replace(a, **changed))
        )


def _outcome(compute: Any) -> Any:
    """What ``compute()`` returns, or the type of what it raises."""
    try:
        return compute()
    except Exception as error:
        return type(error)


def test_a_record_compares_by_identity_when_asked() -> None:
    @record(eq=False)
    class Handle:
        value: int

    h = Handle(1)
    assert h == h and h != Handle(1) and hash(h) == object.__hash__(h)


def test_a_record_keeps_the_methods_its_class_writes() -> None:
    @record
    class Named:
        value: int

        def __repr__(self) -> str:
            return f"<{self.value}>"

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Named) and other.value % 2 == self.value % 2

        def __hash__(self) -> int:
            return self.value % 2

    assert repr(Named(3)) == "<3>" and Named(1) == Named(3) and hash(Named(5)) == 1


def test_kinds_are_declared_when_first_used() -> None:
    """``import convcost`` declares no layer kind; building one declares it and its bases only."""
    script = (
        "import convcost\n"
        "from convcost.layer import LAYER_TYPES, Layer\n"
        "declared = lambda: sorted(n for n, k in LAYER_TYPES.items() if '_declared_fields' in vars(k))\n"
        "assert declared() == [] and '_declared_fields' not in vars(Layer), declared()\n"
        "from convcost.layers import Conv2D\n"
        "Conv2D(4)\n"
        "assert declared() == ['Conv2D'] and '_declared_fields' in vars(Layer), declared()\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)


def test_a_record_without_a_docstring_is_documented_by_its_fields() -> None:
    @record
    class Plain:
        a: int
        b: int = 2
        c: int = dataclasses.field(default=3, init=False)

    assert Plain.__doc__ == "Plain(a, b)"


def test_records_and_frozen_dataclasses_inherit_from_each_other_as_dataclasses_do() -> None:
    @dataclasses.dataclass(frozen=True)
    class Frozen:
        x: int

    @record
    class Over(Frozen):
        y: int = 0

    @dataclasses.dataclass(frozen=True)
    class Under(Over):
        z: int = 1

    @record
    class Deeper(Under):
        w: int = 2

    assert vars(Deeper(1, 2, 3, 4)) == {"x": 1, "y": 2, "z": 3, "w": 4} and Over(1) == Over(1, 0)
    assert all(c.__dataclass_params__.frozen for c in (Over, Under, Deeper))  # type: ignore[attr-defined]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Deeper(1).w = 3  # type: ignore[misc]
    with pytest.raises(TypeError, match="cannot inherit non-frozen dataclass from a frozen one"):
        dataclasses.dataclass(type("Open", (Over,), {}))
    with pytest.raises(TypeError, match="cannot inherit frozen dataclass from a non-frozen one"):
        record(type("Closed", (dataclasses.dataclass(type("Open", (), {})),), {}))


def test_a_record_passes_its_init_vars_to_post_init() -> None:
    @record
    class Scaled:
        x: int
        scale: dataclasses.InitVar[int] = 2

        def __post_init__(self, scale: int) -> None:
            object.__setattr__(self, "x", self.x * scale)

    assert Scaled(1).x == 2 and Scaled(1, 5).x == 5 and Scaled(x=2, scale=3).x == 6
    assert [f.name for f in dataclasses.fields(Scaled)] == ["x"]


def test_field_names_cannot_clash_with_the_written_init() -> None:
    @record
    class Odd:
        self: int
        _set: int = 1
        _NO_VALUE: int = 2
        f: list[int] = dataclasses.field(default_factory=list)
        _factory_f: int = 3

    assert vars(Odd(0)) == {"self": 0, "_set": 1, "_NO_VALUE": 2, "f": [], "_factory_f": 3}


def test_a_record_that_holds_itself_prints() -> None:
    @record
    class Node:
        children: list[Any]

    node = Node([])
    node.children.append(node)
    assert repr(node) == "test_a_record_that_holds_itself_prints.<locals>.Node(children=[...])"


def test_a_plain_subclass_of_a_record_may_set_its_own_attributes() -> None:
    @record
    class Base:
        x: int

    class Noted(Base):
        def __init__(self, x: int, note: str) -> None:
            super().__init__(x)
            self.note = note

    noted = Noted(1, "n")
    assert noted.note == "n"
    with pytest.raises(dataclasses.FrozenInstanceError):
        noted.x = 2  # type: ignore[misc]


def test_a_layer_unpickled_in_a_fresh_process_is_whole() -> None:
    """The first layer of its kind a process sees may come from pickle (a worker process): it is
    equal, hashed, printed, frozen and matched as one built there."""
    import pickle

    from convcost.layers import Conv2D

    data = pickle.dumps([Conv2D(4, kernel=3, name="x"), Conv2D(4, kernel=3, name="x")])
    script = (
        "import pickle, sys, dataclasses\n"
        "a, b = pickle.loads(sys.stdin.buffer.read())\n"
        "assert a == b and hash(a) == hash(b) and repr(a).startswith('Conv2D(name=')\n"
        "seen = {a}\n"
        "from convcost.layers import Conv2D\n"
        "assert Conv2D(4, kernel=3, name='x') in seen\n"
        "match a:\n"
        "    case Conv2D(filters, kernel):\n"
        "        assert (filters, kernel) == (4, (3, 3))\n"
        "try:\n"
        "    a.filters = 9\n"
        "except dataclasses.FrozenInstanceError:\n"
        "    pass\n"
        "else:\n"
        "    raise AssertionError('an unpickled layer could be changed')\n"
    )
    subprocess.run([sys.executable, "-c", script], input=data, check=True)


def test_threads_building_the_first_layers_of_a_kind_at_once() -> None:
    """Eight threads build the first Conv2D of a process together, switching as often as Python
    allows, in 20 fresh processes: every one gets a whole layer and the kind stays whole."""
    script = (
        "import sys, threading\n"
        "sys.setswitchinterval(1e-6)\n"
        "import convcost\n"
        "from convcost.layers import Conv2D\n"
        "built, errors = [], []\n"
        "def build():\n"
        "    try:\n"
        "        built.append(Conv2D(4, 3, name='x'))\n"
        "    except Exception as error:\n"
        "        errors.append(repr(error))\n"
        "threads = [threading.Thread(target=build) for _ in range(8)]\n"
        "for t in threads: t.start()\n"
        "for t in threads: t.join()\n"
        "assert not errors, errors\n"
        "assert len(set(built)) == 1 and Conv2D(4, name='y').name == 'y'\n"
    )
    for _ in range(20):
        subprocess.run([sys.executable, "-c", script], check=True)


def test_inspect_sees_a_kind_not_yet_used() -> None:
    script = (
        "import inspect\n"
        "from convcost.layers import Dense\n"
        "assert str(inspect.signature(Dense)).startswith('(units'), inspect.signature(Dense)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
