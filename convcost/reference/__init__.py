"""The NumPy reference: a second, independent interpreter of the spec that runs the network.

Importing this package imports NumPy; ``import convcost`` never does (the analytic core stays
light). ``kernels`` and ``depthwise`` hold the forward kernels (``torch.nn.functional`` calling
convention, each counting the multiply-adds it performs into a ``Tally``), ``layers`` the kernel
of every layer kind, and ``executor`` runs a whole graph and counts what it really used.
"""

from convcost.reference.depthwise import depthwise_conv2d, separable_conv2d
from convcost.reference.executor import Execution, LayerCount, random_input, random_inputs, run
from convcost.reference.kernels import (
    Tally,
    activation,
    add,
    avg_pool2d,
    batch_norm,
    concat,
    conv2d,
    flatten,
    global_avg_pool2d,
    im2col,
    linear,
    max_pool2d,
    pointwise_conv2d,
    zero_pad2d,
)

__all__ = [
    "Execution",
    "LayerCount",
    "Tally",
    "activation",
    "add",
    "avg_pool2d",
    "batch_norm",
    "concat",
    "conv2d",
    "depthwise_conv2d",
    "flatten",
    "global_avg_pool2d",
    "im2col",
    "linear",
    "max_pool2d",
    "pointwise_conv2d",
    "random_input",
    "random_inputs",
    "run",
    "separable_conv2d",
    "zero_pad2d",
]
