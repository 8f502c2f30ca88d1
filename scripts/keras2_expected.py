"""What Keras says the real Keras 2 / TF-Keras / tfjs-layers files in tests/data/keras2/ cost:
writes tests/data/keras2/expected.json, which tests/test_keras2_files.py compares convcost with.

Independent of convcost:

1. Keras 3's own loader for Keras 2 configs (``keras.src.legacy.saving.saving_utils.model_from_config``,
   which takes Keras 2 node lists), then ``count_params()``, the trainable split and the per-call
   multiply-adds of tests/keras_counts.py. Repairs, all weight-free and listed in the output:
   keyword arguments Keras 3's constructors no longer take are dropped (TF 2.5's DepthwiseConv2D
   ``groups``, Keras 2's unused SeparableConv2D ``kernel_*``); a Sequential whose first layer carries
   ``batch_input_shape`` gets an explicit InputLayer of that shape (Keras 3 misreads it); Keras 2's
   InceptionResNetV2 ``Lambda`` (``x[0] + x[1] * scale``, bytecode of an old Python) becomes
   keras.applications' ``CustomScaleLayer`` with the same ``scale``.
2. A tfjs ``model.json`` lists every stored weight in its ``weightsManifest``: the parameters are
   their sizes (Keras 3 cannot load these files); a weight is trainable when its layer and every
   model around it are and it is not a BatchNorm moving statistic.

Usage: KERAS_BACKEND=torch PYTHONPATH=. python3 scripts/keras2_expected.py
"""

from __future__ import annotations

import copy
import gzip
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "torch")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT / "tests" / "data" / "keras2"
UNRECOGNISED = re.compile(r"Unrecognized keyword arguments passed to \w+: \{(.*)\}", re.S)


def read(path: Path) -> Any:
    return json.loads(gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_text())


def repair(entry: dict[str, Any], repairs: dict[str, list[str]]) -> None:
    import keras

    config = entry.get("config")
    if isinstance(config, dict) and isinstance(config.get("layers"), list):
        for inner in config["layers"]:
            repair(inner, repairs)
        return
    if entry.get("class_name") == "Lambda" and set((config or {}).get("arguments") or {}) == {"scale"}:
        entry["class_name"] = "CustomScaleLayer"
        entry["config"] = {"name": config["name"], "scale": config["arguments"]["scale"]}
        repairs.setdefault("Lambda -> CustomScaleLayer", []).append(config["name"])
        return
    cls = getattr(keras.layers, str(entry.get("class_name")), None)
    for _ in range(10):
        if cls is None:
            return
        try:
            cls.from_config(copy.deepcopy(config))
            return
        except TypeError as e:
            match = UNRECOGNISED.search(str(e))
            dropped = set(re.findall(r"'(\w+)': ", match.group(1))) & set(config) if match else set()
            if not dropped:
                return
            for key in sorted(dropped):
                config.pop(key)
                repairs.setdefault(str(entry["class_name"]), []).append(key)


def keras_counts_of(document: dict[str, Any]) -> dict[str, Any]:
    import keras
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer
    from keras.src.legacy.saving import saving_utils

    from tests import keras_counts

    document = copy.deepcopy(document)
    repairs: dict[str, list[str]] = {}
    layers = document["config"]["layers"]
    first = layers[0]["config"]
    if document["class_name"] == "Sequential" and "batch_input_shape" in first:
        shape = first.pop("batch_input_shape")
        layers.insert(0, {"class_name": "InputLayer", "config": {"batch_shape": shape, "name": "input"}})
        repairs["Sequential"] = ["batch_input_shape -> InputLayer"]
    for entry in layers:
        repair(entry, repairs)
    model = saving_utils.model_from_config(document, custom_objects={"CustomScaleLayer": CustomScaleLayer})
    params, trainable, non_trainable, macs = keras_counts.counts(model)
    keras.backend.clear_session()
    row: dict[str, Any] = {"params": params, "trainable": trainable, "non_trainable": non_trainable, "macs": macs}
    return {
        "source": f"Keras {keras.__version__} legacy loader",
        **row,
        "repairs": {k: sorted(set(v)) for k, v in repairs.items()},
    }


def manifest_counts(document: dict[str, Any]) -> dict[str, Any]:
    frozen: dict[str, bool] = {}
    stack = [(document["modelTopology"], True)]
    while stack:
        entry, trainable = stack.pop()
        config = entry["config"]
        trainable = trainable and config.get("trainable", True) is not False
        if isinstance(config.get("layers"), list):
            stack += [(inner, trainable) for inner in config["layers"]]
        else:
            frozen[config["name"]] = not trainable
    counts = {"trainable": 0, "non_trainable": 0}
    for group in document["weightsManifest"]:
        for weight in group["weights"]:
            layer, _, variable = weight["name"].rpartition("/")
            statistic = variable in ("moving_mean", "moving_variance")
            counts["non_trainable" if frozen[layer] or statistic else "trainable"] += math.prod(weight["shape"])
    return {"source": "tfjs weightsManifest", "params": sum(counts.values()), **counts}


def main() -> int:
    expected: dict[str, Any] = {}
    for path in sorted(DATA.glob("*.json*")):
        if path.name == "expected.json":
            continue
        document = read(path)
        expected[path.name] = manifest_counts(document) if "modelTopology" in document else keras_counts_of(document)
        print(path.name, expected[path.name])
    (DATA / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
