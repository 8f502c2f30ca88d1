"""The NumPy reference: a second, independent interpreter of the spec that runs the network.

Importing this package imports NumPy; ``import convcost`` never does (the analytic core stays
light). ``kernels`` holds the forward kernels (``torch.nn.functional`` calling convention),
``executor`` runs a whole spec and counts the multiply-adds and parameters it really used.
"""

from convcost.reference.executor import Execution, LayerCount, random_input, run
from convcost.reference.kernels import Tally

__all__ = ["Execution", "LayerCount", "Tally", "random_input", "run"]
