"""How reports name the kinds of layer: in the order kinds declare them, the paper's wording for its own."""

from __future__ import annotations

from convcost.layer import CATEGORIES

#: Kinds of layer, in the order reports list them (each layer kind declares its own, in
#: ``convcost.layers``); the first four are the paper's Table 2 rows.
KINDS = CATEGORIES

#: Names for the kinds that carry weights, as the paper's Table 2 words them.
PAPER_KIND_NAMES = {
    "conv": "Conv (standard)",
    "depthwise": "Conv dw (depthwise)",
    "pointwise": "Conv 1x1 (pointwise)",
    "separable": "Conv sep (separable)",
    "dense": "Fully connected",
}
