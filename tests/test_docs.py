"""The docs show real output: every embedded CLI example is what the CLI prints today."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "refresh_docs.py"


def load_refresher():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("refresh_docs", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_cli_examples_are_current() -> None:
    refresher = load_refresher()
    assert refresher.stale_docs() == [], "run: python scripts/refresh_docs.py"


def test_docs_have_cli_examples() -> None:
    refresher = load_refresher()
    blocks = [m for p in refresher.DOCS.glob("*.md") for m in refresher.BLOCK.finditer(p.read_text())]
    assert len(blocks) >= 3


def test_api_doc_examples_run() -> None:
    import re

    text = (SCRIPT.parent.parent / "docs" / "api.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, "docs/api.md", "exec"), {})


def test_ci_runs_the_readme_test_command() -> None:
    import re

    root = SCRIPT.parent.parent
    commands = re.findall(r"```sh\n(.*?)\n```", (root / "README.md").read_text(), re.S)
    setup = [c for c in commands if c.startswith("pip install")]
    assert setup == ["pip install . && convcost table --alpha 0.75", "pip install -e '.[test]' && python3 -m pytest"]
    assert setup[1] in (root / ".ci" / "run").read_text().splitlines()
