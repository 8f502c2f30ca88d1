"""What `convcost table --alpha 0.75` costs in instructions executed, which a busy host does not change.

bench_cli.py times the commands, and on a shared VM the times of one command vary by half from one
minute to the next. Counting the instructions each fresh process executes (valgrind's cachegrind,
no cache simulation) gives the same number on every run, so a change to start-up can be measured
to the percent, and the parts of the command told apart:

* ``python -c pass``: the interpreter and its site hooks, the floor under both sides;
* the standard-library and click modules the command needs (``dataclasses``, ``fractions``, ``click``, ``signal``);
* ``import convcost``, ``import convcost.cli``;
* the whole command, as a table and as JSON;
* with ``--torchinfo``: the torchinfo script bench_cli.py times (a minute or two under valgrind).

Instructions are not time: torch also maps large libraries and takes page faults that valgrind
does not count, so the instruction ratio understates torchinfo's cost. Requires valgrind
(``apt-get install valgrind``).

Usage: PYTHONPATH=. python benchmarks/bench_instructions.py [--torchinfo] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_cli import TORCHINFO_SCRIPT  # the same network, built the same way

# hash randomisation changes dict and set layouts, and so the count, by a few million: fix it
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {"PYTHONHASHSEED": "0"}
REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def instructions(argv: list[str]) -> int:
    """Instructions the fresh process ``argv`` executes (after one run that writes bytecode)."""
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=ENV)
    done = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", *argv],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    found = REFS.search(done.stderr)
    if found is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--torchinfo", action="store_true", help="also count the torchinfo script")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    py = sys.executable
    commands = {
        "python -c pass": [py, "-c", "pass"],
        "stdlib and click modules": [py, "-c", "import dataclasses, fractions, click, signal"],
        "import convcost": [py, "-c", "import convcost"],
        "import convcost.cli": [py, "-c", "import convcost.cli"],
        "convcost table --alpha 0.75": [py, "-m", "convcost", "table", "--alpha", "0.75"],
        "convcost table --alpha 0.75 --format json": [
            *[py, "-m", "convcost", "table", "--alpha", "0.75"],
            *["--format", "json"],
        ],
    }
    if args.torchinfo:
        commands["torchinfo summary"] = [py, "-c", TORCHINFO_SCRIPT]
    counts = {name: instructions(argv) for name, argv in commands.items()}
    floor = counts["python -c pass"]
    for name, count in counts.items():
        print(f"{name:<44} {count / 1e6:9.1f} M instructions  ({(count - floor) / 1e6:8.1f} M above the floor)")
    if args.torchinfo:
        table = counts["convcost table --alpha 0.75"]
        print(f"torchinfo / convcost table: {counts['torchinfo summary'] / table:.1f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(counts, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
