"""Every keras.applications model, read by convcost without Keras, against Keras' own counts.

For each model (all of ``keras.applications``) and each variant

  default     ``Model(weights=None)`` (MobileNetV3: None x None input, read at D and D + 1)
  notop_avg   ``include_top=False, pooling="avg"`` (None x None for all but NASNetMobile: read at D and D + 1)
  size        ``input_shape=(round(0.75 D), round(0.875 D), 3)``: non-square, mostly odd

(D = the model's default size), Keras builds the model and convcost reads its ``to_json()`` and
the ``.keras`` archive Keras saves (unless ``--no-archive``). Both must give ``count_params()``,
the trainable split and the conv + dense multiply-adds that tests/keras_counts.py reads off the
live model; a None-size save is compared with Keras running that saved graph at the size. A read
refused because convcost lacks a layer class is listed by class, not counted as a failure; a
save Keras itself cannot run (NASNetLarge without a size) must be refused by convcost too.

Usage: KERAS_BACKEND=torch PYTHONPATH=. python3 scripts/keras_applications_sweep.py [--no-archive]
           [--json FILE] [Model ...]
Exit status 1 if any read disagrees with Keras. About 40 minutes on two cores with archives.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def nasnet_mobile(**kwargs: Any) -> Any:
    """keras.applications.NASNetMobile refuses the torch backend ("outstanding bug"): the call it makes."""
    from keras.src.applications import nasnet

    if not kwargs.get("include_top", True) and kwargs.get("input_shape") is None:
        kwargs["input_shape"] = (224, 224, 3)  # what NASNetMobile itself does without a size
    return nasnet.NASNet(
        kwargs.pop("input_shape", None),
        penultimate_filters=1056,
        num_blocks=4,
        stem_block_filters=32,
        skip_reduction=False,
        filter_multiplier=2,
        default_size=224,
        name="nasnet_mobile",
        **kwargs,
    )


def constructor(name: str) -> Any:
    import keras

    return nasnet_mobile if name == "NASNetMobile" else getattr(keras.applications, name)


def keras_side(model: Any, size: tuple[int, int] | None) -> tuple[int, int, int, int] | str:
    """What Keras counts; for a None-size model, running its graph at ``size`` (a string: Keras fails)."""
    from tests import keras_counts

    if size is None:
        return keras_counts.counts(model)
    try:
        macs = keras_counts.concrete_macs(model, [(1, *size, 3)])
    except Exception as e:  # recorded: NASNetLarge's None-size graph fails in Keras at any size
        return f"Keras fails: {' '.join(str(e).split())[:160]}"
    return (*keras_counts.weight_counts(model), macs)


def convcost_side(read: Any, size: tuple[int, int] | None) -> tuple[int, int, int, int] | str:
    from convcost import analyze
    from convcost.errors import ConvcostError, UnsupportedLayerError

    try:
        model = read(None if size is None else (3, *size))
        k, p = analyze(model, "keras").totals, analyze(model, "paper").totals
    except UnsupportedLayerError as e:
        return "refused: " + str(e).split(": ", 1)[1]
    except ConvcostError as e:
        return f"error: {e}"
    return k.params, k.trainable, k.non_trainable, p.macs


def sweep_model(name: str, archive: bool, results: list[dict[str, Any]]) -> None:
    import keras

    from convcost.interop.keras import from_keras_json, keras_archive_file

    build = constructor(name)
    default = build(weights=None)
    d = default.input_shape[1] or 224
    variants: list[tuple[str, dict[str, Any]]] = [
        ("default", {}),
        ("notop_avg", {"include_top": False, "pooling": "avg"}),
        ("size", {"input_shape": (round(0.75 * d), round(0.875 * d), 3)}),
    ]
    for variant, kwargs in variants:
        started = time.perf_counter()
        model = default if variant == "default" else build(weights=None, **kwargs)
        built = time.perf_counter() - started
        text = model.to_json()
        open_size = model.input_shape[1] is None
        sizes: list[tuple[int, int] | None] = [(d, d), (d + 1, d + 1)] if open_size else [None]
        readers = {"to_json": lambda s, t=text: from_keras_json(t, input_size=s)}
        with tempfile.TemporaryDirectory() as scratch:
            if archive:
                path = Path(scratch) / "model.keras"
                model.save(path)
                readers["keras"] = lambda s, p=str(path): keras_archive_file(p, input_size=s)
            for size in sizes:
                theirs = keras_side(model, size)
                for way, read in readers.items():
                    got = convcost_side(read, size)
                    if isinstance(theirs, str):
                        verdict = (
                            "agree: both fail" if isinstance(got, str) and not got.startswith("refused") else "BAD"
                        )
                    elif isinstance(got, str):
                        verdict = "refused" if got.startswith("refused") else "BAD"
                    else:
                        verdict = "exact" if got == theirs else "BAD"
                    shown = "" if size is None else f"@{size[0]}x{size[1]}"
                    results.append(
                        {
                            "model": name,
                            "variant": variant + shown,
                            "read": way,
                            "verdict": verdict,
                            "keras": theirs,
                            "convcost": got,
                            "build_s": round(built, 2),
                        }
                    )
                    note = "" if verdict == "exact" else _classes(got) if verdict == "refused" else got
                    print(f"{verdict:18} {name}/{variant}{shown} ({way}) {note}")
        del model
        keras.backend.clear_session()
        gc.collect()


def _classes(refusal: str) -> list[str]:
    """What a refusal names: "Multiply", "the op keras.src.ops.numpy.Add", ..."""
    return [part.split(" is not supported yet")[0] for part in refusal.removeprefix("refused: ").split("; ")]


def main() -> int:
    import keras

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="*", help="keras.applications names (default: all)")
    parser.add_argument("--no-archive", action="store_true", help="read to_json() only (no .keras saves)")
    parser.add_argument("--json", type=Path, help="write every result here")
    args = parser.parse_args()
    names = args.models or sorted(n for n in dir(keras.applications) if n[0].isupper())
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    for name in names:
        sweep_model(name, not args.no_archive, results)
    verdicts = Counter(r["verdict"] for r in results)
    builds = {(r["model"], r["variant"]) for r in results}
    exact_builds = builds - {(r["model"], r["variant"]) for r in results if r["verdict"] != "exact"}
    refused = Counter(label for r in results if r["verdict"] == "refused" for label in _classes(r["convcost"]))
    print(
        f"\n{len(names)} models, {len({(r['model'], r['variant']) for r in results})} builds/sizes, "
        f"{len(results)} reads in {time.perf_counter() - started:.0f} s: {dict(verdicts)}"
    )
    exact_models = {m for m, _ in builds} - {m for m, _ in builds - exact_builds}
    print(
        f"exact every way read: {len(exact_builds)} of {len(builds)} builds/sizes; "
        f"every variant of {len(exact_models)} models"
    )
    for label, n in refused.most_common():
        print(f"  refused {n:3} reads: {label} is not supported yet")
    if args.json:
        args.json.write_text(json.dumps({"keras": keras.__version__, "results": results}, indent=1) + "\n")
    return 1 if verdicts.get("BAD") else 0


if __name__ == "__main__":
    sys.exit(main())
