"""Regenerate the example outputs embedded in docs/*.md by running the real CLI.

A block in a doc looks like this (the command line after ``cli:`` is run as ``convcost ...``):

    <!-- cli: table --alpha 0.25 --resolution 128 --format markdown -->
    ```
    ...whatever the command printed...
    ```
    <!-- /cli -->

The pictures in ``PICTURES`` (roofline SVGs drawn by convcost itself, deterministic) are
regenerated and checked the same way.

Usage: python scripts/refresh_docs.py          rewrite the blocks and pictures in place
       python scripts/refresh_docs.py --check  exit 1 if any block or picture is stale (tests/test_docs.py)
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# the checkout this script sits in, not whatever convcost is installed (a worktree, a clean clone)
sys.path.insert(0, str(ROOT))
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


def pictures() -> dict[Path, str]:
    """docs/ figures and the SVG text they must hold: MobileNet v1 on a CPU core and on tensor cores."""
    from convcost.render.svg import roofline_svg
    from convcost.roofline import preset, roofline
    from convcost.traffic import measure
    from convcost.zoo import mobilenet_v1

    def drawn(dtype: str, device: str) -> str:
        return roofline_svg(roofline(measure(mobilenet_v1(), dtype), preset(device)), standalone=True)

    return {
        DOCS / "roofline_cpu_core.svg": drawn("float32", "cpu_core"),
        DOCS / "roofline_a100_fp16.svg": drawn("float16", "a100_fp16"),
    }


def stale_docs() -> list[Path]:
    stale = [path for path in sorted(DOCS.glob("*.md")) if refreshed(path.read_text()) != path.read_text()]
    return stale + [path for path, text in pictures().items() if not path.exists() or path.read_text() != text]


def main() -> int:
    if "--check" in sys.argv[1:]:
        stale = stale_docs()
        for path in stale:
            print(f"stale generated output in {path}: run python scripts/refresh_docs.py", file=sys.stderr)
        return 1 if stale else 0
    for path in sorted(DOCS.glob("*.md")):
        text = path.read_text()
        new = refreshed(text)
        if new != text:
            path.write_text(new)
            print(f"refreshed {path}")
    for path, text in pictures().items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            print(f"redrew {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
