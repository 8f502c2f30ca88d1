"""What one layer costs under some convention (exact Python integers, one sample)."""

from __future__ import annotations

from convcost.record import record


@record
class Cost:
    """What one layer costs under some convention.

    ``macs`` is the number the convention's tool reports as multiply-adds (some tools count
    element-wise work in it too); ``flops`` is 2 x the real multiply-adds plus the element-wise
    operations the convention counts, one each (``convcost.conventions`` says which).
    """

    trainable: int = 0
    non_trainable: int = 0
    macs: int = 0
    flops: int = 0

    @property
    def params(self) -> int:
        return self.trainable + self.non_trainable


def pointwise_macs(M: int, N: int, Df_h: int, Df_w: int) -> int:
    """A 1x1 convolution: M*N weights used at every output pixel."""
    return M * N * Df_h * Df_w
