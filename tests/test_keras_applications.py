"""convcost's mobilenet_v1 against the real keras.applications.MobileNet (Keras 3, torch backend).

keras.applications builds its classifier as a 1x1 conv with bias (``conv_preds``), which has the
same weights as our Dense ``fc``; it reaches the stride-2 'same' geometry through ZeroPadding2D +
'valid', which must give the same shapes. Layer names are shared, so rows compare one by one.
"""

from __future__ import annotations

import math

import keras
import pytest

from convcost import analyze, mobilenet_v1


def keras_mobilenet(alpha: float, resolution: int, classes: int = 1000) -> keras.Model:
    return keras.applications.MobileNet(
        weights=None, alpha=alpha, input_shape=(resolution, resolution, 3), classes=classes
    )


def weights(layer: keras.layers.Layer, trainable: bool) -> int:
    chosen = layer.trainable_weights if trainable else layer.non_trainable_weights
    return sum(math.prod(w.shape) for w in chosen)


def test_alpha_1_totals_match_keras_count_params() -> None:
    theirs = keras_mobilenet(1.0, 224)
    ours = analyze(mobilenet_v1(), "keras").totals
    assert theirs.count_params() == ours.params == 4_253_864
    assert sum(weights(layer, True) for layer in theirs.layers) == ours.trainable == 4_231_976
    assert sum(weights(layer, False) for layer in theirs.layers) == ours.non_trainable == 21_888


@pytest.mark.parametrize("alpha, resolution, classes", [(0.75, 192, 1000), (0.5, 160, 10), (0.25, 128, 37)])
def test_other_widths_and_resolutions_match_keras(alpha: float, resolution: int, classes: int) -> None:
    theirs = keras_mobilenet(alpha, resolution, classes)
    ours = analyze(mobilenet_v1(alpha=alpha, resolution=resolution, classes=classes), "keras")
    assert theirs.count_params() == ours.totals.params


def test_every_named_layer_matches_keras_shape_and_params() -> None:
    theirs = {layer.name: layer for layer in keras_mobilenet(0.5, 160).layers}
    report = analyze(mobilenet_v1(alpha=0.5, resolution=160), "keras")
    compared = 0
    for row in report.rows:
        layer = theirs.get(row.name)
        if layer is None:
            continue
        _, h, w, c = layer.output.shape
        assert (c, h, w) == row.output, row.name
        assert (weights(layer, True), weights(layer, False)) == (row.trainable, row.non_trainable), row.name
        compared += 1
    # conv1 + 13 blocks x 2 convs, each with BN and ReLU: 3 * 27 layers share names with Keras
    assert compared == 81
