r"""Bidirectional recurrent layers over any cell, with variable-length batches.

Taught in "Bidirectional RNNs" (``book/10_bidirectional``); built in assignment
``a5_bidirectional`` (Part 1).

Two independent cells read the sequence, one from left to right and one from
right to left; at each step their states are concatenated, (N, T, 2H), or
summed, (N, T, H):

.. math::

    \overrightarrow{h}_t = f(x_t, \overrightarrow{h}_{t-1}), \qquad
    \overleftarrow{h}_t = f(x_t, \overleftarrow{h}_{t+1}), \qquad
    h_t = [\overrightarrow{h}_t ; \overleftarrow{h}_t]

With padded batches, the right-to-left cell of sequence ``n`` must start at
its own last real step ``lengths[n] - 1``, not at ``T - 1``, or it would read
padding first. Reversing each sequence *within its length* does that, and
the same reversal maps the outputs back. Outputs at padded steps are zero.
This matches PyTorch's bidirectional layers on packed sequences.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import as_float_array, check_cache, check_grad, check_lengths
from .cells import Cell, as_cell

MERGES = ("concat", "sum")


class BidirectionalCache(NamedTuple):
    """What :func:`bidirectional_backward` needs."""

    cell: Cell
    cache_fwd: object  # cache of the left-to-right cell
    cache_bwd: object  # cache of the right-to-left cell (on the reversed input)
    order: np.ndarray  # (N, T) int: the within-length reversal, its own inverse
    mask: np.ndarray  # (N, T, 1) 1.0 at real steps, 0.0 at padding
    merge: str
    h_fwd: np.ndarray  # (N, T, H) left-to-right states, zero at padding
    h_bwd: np.ndarray  # (N, T, H) right-to-left states, zero at padding


def reversal_order(lengths, T: int) -> np.ndarray:
    """Indices that reverse each row within its length: ``order[n, t] = L_n - 1 - t`` for
    ``t < L_n`` and ``t`` otherwise, shape (N, T). Applying it twice is the identity."""
    t = np.arange(T)[None, :]
    L = np.asarray(lengths)[:, None]
    return np.where(t < L, L - 1 - t, t)


def _gather(a, order):
    """``a[n, order[n, t]]`` for a (N, T, ...) array."""
    return a[np.arange(a.shape[0])[:, None], order]


def bidirectional_forward(x, params_fwd, params_bwd, cell="rnn", lengths=None, merge="concat"):
    r"""Run a bidirectional layer.

    Parameters
    ----------
    x : ndarray (N, T, D)
    params_fwd, params_bwd : dict
        Parameters of the two directions (e.g. ``{"U", "W", "b"}`` for the
        RNN), as made by ``Cell.init_params``.
    cell : {"rnn", "lstm", "gru"} or Cell
    lengths : ndarray (N,) of int in [1, T], optional
        Real length of each sequence; steps at and after it are padding.
        Default: all ``T``.
    merge : {"concat", "sum"}

    Returns
    -------
    h : ndarray (N, T, 2H) for "concat", (N, T, H) for "sum"
        Zero at padded steps.
    cache : BidirectionalCache

    Notes
    -----
    Both directions start from a zero state. The backward direction needs
    the whole sequence before its first output, which is why a bidirectional
    layer cannot serve real-time prediction.
    """
    cell = as_cell(cell)
    x = as_float_array("x", x, ndim=3)
    N, T, _ = x.shape
    if merge not in MERGES:
        raise ValueError(f"merge must be one of {MERGES}, got {merge!r}")
    for name, p in (("params_fwd", params_fwd), ("params_bwd", params_bwd)):
        if not isinstance(p, dict) or set(p) != set(cell.param_names):
            got = sorted(p) if isinstance(p, dict) else type(p).__name__
            raise ValueError(f"{name} must be a dict with keys {list(cell.param_names)}, got {got}")
    lengths = np.full(N, T) if lengths is None else check_lengths(lengths, N, T)
    H = cell.hidden_size(params_fwd)
    mask = (np.arange(T)[None, :] < lengths[:, None]).astype(x.dtype)[:, :, None]
    order = reversal_order(lengths, T)

    h_f, cache_f = cell.forward(x, params_fwd, cell.zero_state(N, H, x.dtype))
    h_r, cache_b = cell.forward(_gather(x, order), params_bwd, cell.zero_state(N, H, x.dtype))
    h_f = h_f * mask
    h_b = _gather(h_r, order) * mask
    h = np.concatenate([h_f, h_b], axis=2) if merge == "concat" else h_f + h_b
    return h, BidirectionalCache(cell, cache_f, cache_b, order, mask, merge, h_f, h_b)


def bidirectional_backward(dh, cache):
    """Backward pass of :func:`bidirectional_forward`.

    Parameters
    ----------
    dh : ndarray (N, T, 2H) or (N, T, H)
        Gradient on the merged states, shaped like the forward output.
    cache : BidirectionalCache

    Returns
    -------
    dx : ndarray (N, T, D)
    grads_fwd, grads_bwd : dict
        Gradients of the two directions' parameters.
    """
    check_cache("cache", cache, BidirectionalCache)
    N, T, H = cache.h_fwd.shape
    out_shape = (N, T, 2 * H) if cache.merge == "concat" else (N, T, H)
    dh = check_grad("dh", dh, out_shape, cache.h_fwd.dtype)
    if cache.merge == "concat":
        dh_f, dh_b = dh[:, :, :H], dh[:, :, H:]
    else:
        dh_f = dh_b = dh
    # padded outputs were multiplied by 0, so no gradient reaches them
    dx_f, _, grads_f = cache.cell.backward(dh_f * cache.mask, cache.cache_fwd)
    dx_r, _, grads_b = cache.cell.backward(_gather(dh_b * cache.mask, cache.order), cache.cache_bwd)
    return dx_f + _gather(dx_r, cache.order), grads_f, grads_b
