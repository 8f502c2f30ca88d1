"""docs/errors.md is the catalogue of what the CLI can say when something is wrong.

tests/test_docs.py keeps each example's text current; here every example is run again and must be
a clean usage error: exit 2, nothing on stdout, exactly one line ``convcost: error: ...`` on stderr,
naming the file it read. The few errors that need a special environment (a file over the size limit,
an optional extra that is missing) are produced here instead, and reading a file never runs code.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import sys
from pathlib import Path

import pytest

from convcost import specfile
from convcost.cli import main

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "docs" / "errors.md"
FIXTURES = ROOT / "tests" / "data" / "errors"
BLOCK = re.compile(r"<!-- cli: (?P<args>.*?) -->\n```text\n(?P<output>.*?)```", re.S)

EXAMPLES = [(m["args"], m["output"]) for m in BLOCK.finditer(CATALOGUE.read_text())]


def run(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


def test_the_catalogue_is_complete_enough() -> None:
    assert len(EXAMPLES) >= 90
    assert len({args for args, _ in EXAMPLES}) == len(EXAMPLES), "an example is listed twice"


@pytest.mark.parametrize("args", [args for args, _ in EXAMPLES])
def test_every_catalogued_error_is_one_line_and_exit_2(args: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the examples name files relative to the repository, as the docs say
    code, out, err = run(shlex.split(args))
    assert code == 2, (args, code, err)
    assert out == "", args
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("convcost: error: "), (args, err)
    assert "internal error" not in err and "Traceback" not in err
    for word in shlex.split(args):
        if word.endswith((".toml", ".json")):
            assert word in lines[0], f"{args}: the message does not name the file"


INDEX = re.findall(r"^\| (.+?) \| `([\w.]+)` \| `convcost (.+?)` \|$", CATALOGUE.read_text(), re.M)


def test_the_index_lists_every_mistake_once() -> None:
    assert len(INDEX) >= 70
    assert {args for _, _, args in INDEX} <= {args for args, _ in EXAMPLES}


@pytest.mark.parametrize(("raised", "args"), [(raised, args) for _, raised, args in INDEX])
def test_the_index_names_the_exception_python_raises(raised: str, args: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import click

    from convcost.cli import cli

    monkeypatch.chdir(ROOT)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            cli.main(args=shlex.split(args), prog_name="convcost", standalone_mode=False)
        except click.ClickException:
            got = "click.UsageError"
        except Exception as e:
            got = type(e).__name__
        else:
            got = "nothing"
    assert got == raised, args


def test_every_fixture_is_used_by_the_catalogue() -> None:
    text = CATALOGUE.read_text()
    unused = [p.name for p in FIXTURES.iterdir() if f"tests/data/errors/{p.name}" not in text]
    assert unused == []


def test_a_spec_file_over_the_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    huge = tmp_path / "huge.toml"
    with huge.open("wb") as f:  # sparse: no disk is used, and nothing would parse it anyway
        f.truncate(specfile.MAX_BYTES + 1)
    code, out, err = run(["table", str(huge)])
    assert code == 2 and not out
    assert err == f"convcost: error: {huge}: 10,485,761 bytes is over the 10,485,760-byte limit for spec files\n"


def test_a_json_file_over_the_keras_limit_is_refused_too(tmp_path: Path) -> None:
    huge = tmp_path / "huge.json"
    with huge.open("wb") as f:
        f.truncate(64 * 1024 * 1024 + 1)
    code, out, err = run(["table", str(huge)])
    assert code == 2 and not out
    assert err.startswith(f"convcost: error: {huge}: 67,108,865 bytes is over the") and err.count("\n") == 1


def test_a_missing_optional_extra_names_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails as if not installed
    code, out, err = run(["sweep", "--alpha", "1,0.5", "--plot", str(tmp_path / "grid.svg")])
    assert code == 2 and not out
    assert err == "convcost: error: --plot needs matplotlib, which is not installed: pip install 'convcost[plot]'\n"
    assert list(tmp_path.iterdir()) == []


def test_a_lambda_layer_is_refused_without_running_it(tmp_path: Path) -> None:
    """A Keras Lambda config carries marshalled Python: reading it must refuse, never execute it."""
    text = (FIXTURES / "keras_lambda.json").read_text()
    marker = tmp_path / "ran"
    payload = f"__import__('pathlib').Path({str(marker)!r}).write_text('x')"
    path = tmp_path / "lambda.json"
    path.write_text(
        text.replace(
            '"rate": 0.2', f'"rate": 0.2, "function": {{"class_name": "__lambda__", "config": {{"code": "{payload}"}}}}'
        )
    )
    code, _, err = run(["table", str(path)])
    assert code == 2 and "Lambda layer 'drop' holds Python code, which convcost never runs" in err
    assert not marker.exists()


def test_no_reader_can_evaluate_or_fetch() -> None:
    """Safe loading by construction: the package never evaluates, unpickles or opens a connection."""
    forbidden = re.compile(
        r"(?<![.\w])eval\(|(?<![.\w])exec\(|\bpickle\b|\bmarshal\b|\bshelve\b|yaml\.load\(|\burllib\b|"
        r"\bhttp\.client\b|\bsocket\b|\brequests\b|__import__\("
    )
    # The one exec: convcost.record compiles a class's __init__ as dataclasses does, from the names
    # of the fields the class declares in convcost's own source (identifiers, checked), never from
    # anything a reader read; test_record_compiles_only_field_names pins that.
    allowed = {"convcost/record.py": 1}
    offenders = []
    for path in sorted((ROOT / "convcost").rglob("*.py")):
        relative = str(path.relative_to(ROOT))
        hits = []
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            code = line.split("#", 1)[0]
            if forbidden.search(code):
                hits.append(f"{relative}:{number}: {line.strip()}")
        if len(hits) != allowed.get(relative, 0):
            offenders += hits or [f"{relative}: no longer has its allowed exec"]
    assert offenders == []


def test_record_compiles_only_field_names() -> None:
    """A field whose name is not a plain identifier is refused before any source is written."""
    from convcost.record import record

    for name in ("x): import os  #", "class", "a b"):
        cls = type("Odd", (), {"__annotations__": {name: "int"}, "__module__": __name__})
        with pytest.raises(TypeError, match="not an identifier"):
            record(cls)
