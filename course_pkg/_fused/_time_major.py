"""Time-major, gate-by-gate arrays for the recurrent cells' sequence functions.

The public functions keep batch-first arrays, x (N, T, D), and PyTorch's
weight layout, the gates' columns side by side along the last axis (``Wx``
(D, 4H) for the LSTM). Inside the time loops it pays to order arrays by time,
(T, N, ...), and to give each gate its own block, (k, T, N, H), so that every
step reads and writes whole contiguous (N, H) blocks. These helpers convert
between the two and form, after the loop, the gradients that are sums or
products over all steps at once.
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
    blocks = w.reshape(*w.shape[:-1], -1, H)  # (..., k, H)
    gate_axis = blocks.ndim - 2
    return blocks.transpose(gate_axis, *range(gate_axis), gate_axis + 1)


def gate_inputs(x, Wx, b, scale):
    """Input projections of all steps, gate by gate: ``x_t Wx + b``, gate k times ``scale[k]``.

    Parameters
    ----------
    x : ndarray (N, T, D)
    Wx : ndarray (D, kH)
        Gates' columns side by side.
    b : ndarray (kH,)
    scale : sequence of k floats
        1/2 for a sigmoid gate computed as (1 + tanh(a/2))/2, else 1 (exact).

    Returns
    -------
    ndarray (k, T, N, H)
        A new array, for the time loop to add to and activate in place.
    """
    scale = np.asarray(scale, dtype=x.dtype).reshape(-1, 1, 1)  # (k, 1, 1)
    k, H = scale.shape[0], b.shape[0] // scale.shape[0]
    N, T, D = x.shape
    x_rows = x.transpose(1, 0, 2).reshape(T * N, D)  # time-major rows
    gates = np.matmul(x_rows, gate_blocks(Wx, H) * scale)  # (k, T N, H): k products
    gates += gate_blocks(b, H)[:, None] * scale
    return gates.reshape(k, T, N, H)


def input_gradients(x, Wx, delta):
    """Gradients of ``x_t Wx + b`` from the pre-activation gradients of all steps.

    Parameters
    ----------
    x : ndarray (N, T, D)
        The inputs of the forward pass.
    Wx : ndarray (D, K)
    delta : ndarray (T, N, K)
        Time-major gradient at every step's pre-activation (K = kH, gates side
        by side as in ``Wx``).

    Returns
    -------
    dx : ndarray (N, T, D)
    dWx : ndarray (D, K)
        :math:`\\sum_t x_t^\\top \\delta_t`, one matrix product over all steps.
    db : ndarray (K,)
        :math:`\\sum_t \\sum_n \\delta_{t,n}`.
    """
    T, N, K = delta.shape
    D = x.shape[2]
    flat = delta.reshape(T * N, K)  # rows in time order
    dx = np.ascontiguousarray(np.dot(flat, Wx.T).reshape(T, N, D).transpose(1, 0, 2))
    # np.dot, not matmul: NumPy's matmul leaves BLAS for a one-row product (T N = 1)
    dWx = np.dot(x.transpose(1, 0, 2).reshape(T * N, D).T, flat)
    return dx, dWx, flat.sum(axis=0)


def previous_state_gradient(h0, h, delta):
    """:math:`\\sum_t h_{t-1}^\\top \\delta_t`, the gradient of a recurrent weight matrix.

    Parameters
    ----------
    h0 : ndarray (N, H)
        The initial state.
    h : ndarray (T, N, H)
        Time-major states h_1..h_T (h_{t-1} of step t+1).
    delta : ndarray (T, N, K)
        Time-major gradient at every step's pre-activation.

    Returns
    -------
    ndarray (H, K)
    """
    T, N, K = delta.shape
    H = h0.shape[1]
    h_prev = np.concatenate([h0[None], h])[:T].reshape(T * N, H)  # h_0..h_{T-1}
    return np.dot(h_prev.T, delta.reshape(T * N, K))
