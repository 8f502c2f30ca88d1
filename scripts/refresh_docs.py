"""Regenerate the example outputs embedded in docs/*.md by running the real CLI.

A block in a doc looks like this (the command line after ``cli:`` is run as ``convcost ...``):

    <!-- cli: table --alpha 0.25 --resolution 128 --format markdown -->
    ```
    ...whatever the command printed...
    ```
    <!-- /cli -->

Usage: python scripts/refresh_docs.py          rewrite the blocks in place
       python scripts/refresh_docs.py --check  exit 1 if any block is stale (tests/test_docs.py)
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"
# crosscheck runs Keras; the tests run it on the torch backend, and so do the docs
os.environ.setdefault("KERAS_BACKEND", "torch")
BLOCK = re.compile(r"(<!-- cli: (?P<args>.*?) -->\n)```text\n.*?```\n(<!-- /cli -->)", re.S)


def run_cli(args: str) -> str:
    """What `convcost <args>` prints (stdout, then stderr), as a user would see it without colour."""
    from convcost.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        main(shlex.split(args))
    return out.getvalue() + err.getvalue()


def refreshed(text: str) -> str:
    def block(match: re.Match[str]) -> str:
        output = run_cli(match["args"])
        if not output.endswith("\n"):
            output += "\n"
        return f"{match[1]}```text\n{output}```\n{match[3]}"

    return BLOCK.sub(block, text)


def stale_docs() -> list[Path]:
    return [path for path in sorted(DOCS.glob("*.md")) if refreshed(path.read_text()) != path.read_text()]


def main() -> int:
    if "--check" in sys.argv[1:]:
        stale = stale_docs()
        for path in stale:
            print(f"stale CLI output in {path}: run python scripts/refresh_docs.py", file=sys.stderr)
        return 1 if stale else 0
    for path in sorted(DOCS.glob("*.md")):
        text = path.read_text()
        new = refreshed(text)
        if new != text:
            path.write_text(new)
            print(f"refreshed {path}")
    return 0


if __name__ == "__main__":
    # run as a script, sys.path starts with scripts/: put this checkout first, so that its own convcost
    # prints the examples (not an installed one, such as another worktree's editable install)
    sys.path.insert(0, str(DOCS.parent))
    sys.exit(main())
