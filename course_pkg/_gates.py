"""Stacked gate weights as one block per gate, for the LSTM's and GRU's time loops.

The public functions keep PyTorch's layout: the gates' columns side by side
along the last axis, e.g. ``Wx`` (D, 4H) for the LSTM. Inside the sequence
functions it pays to give each gate its own contiguous (N, H) block instead,
so that every element-wise operation of a step runs over whole blocks.
"""

from __future__ import annotations

import numpy as np


def gate_blocks(w, H: int):
    """``w`` (..., kH) as a (k, ..., H) view: gate k's block of columns first.

    >>> gate_blocks(np.arange(6.0), 2)  # two units, three gates
    array([[0., 1.],
           [2., 3.],
           [4., 5.]])
    """
    return np.moveaxis(w.reshape(*w.shape[:-1], -1, H), -2, 0)
