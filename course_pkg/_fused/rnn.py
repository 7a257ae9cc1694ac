r"""The vanilla RNN over a sequence, fused: :func:`course_pkg.rnn.rnn_forward` made fast.

Same arguments, results and cache (:class:`course_pkg.rnn.RNNCache`) as the
readable functions; see :mod:`course_pkg._fused` for what makes them fast.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_cache, check_grad
from ..rnn import RNNCache, _check_params
from ._allocator import keep_freed_memory
from ._time_major import input_gradients, previous_state_gradient


def rnn_forward(x, h0, U, W, b):
    """:func:`course_pkg.rnn.rnn_forward`: ``h`` (N, T, H) and an ``RNNCache``.

    The input projection of every step is one matrix product before the loop;
    the loop adds :math:`h_{t-1} W` and applies ``tanh`` in place on a
    time-major (T, N, H) buffer, and ``h`` is returned as an (N, T, H) view.
    """
    x, h0, U, W, b = _check_params(x, h0, U, W, b, x_ndim=3)
    keep_freed_memory()
    N, T, _ = x.shape
    H = h0.shape[1]
    h = np.matmul(x.transpose(1, 0, 2), U)  # (T, N, H): input projections of all steps
    h += b
    hW = np.empty((N, H), dtype=h.dtype)
    h_prev = h0
    for t in range(T):
        np.matmul(h_prev, W, out=hW)
        h[t] += hW
        np.tanh(h[t], out=h[t])
        h_prev = h[t]
    h = h.transpose(1, 0, 2)
    return h, RNNCache(x, h0, U, W, h)


def rnn_backward(dh, cache):
    """:func:`course_pkg.rnn.rnn_backward`: ``(dx, dh0, dU, dW, db)``.

    The loop computes only the gradient at each step's pre-activation (and
    what it sends back to :math:`h_{t-1}`); ``dx``, ``dU``, ``dW`` and ``db``
    are one matrix product (or sum) each over all steps after it.
    """
    check_cache("cache", cache, RNNCache)
    dh = check_grad("dh", dh, cache.h.shape, cache.h.dtype)
    keep_freed_memory()
    N, T, H = dh.shape
    h = cache.h.transpose(1, 0, 2)  # (T, N, H); contiguous steps when it comes from rnn_forward
    W_T = np.ascontiguousarray(cache.W.T)
    delta = np.empty((T, N, H), dtype=dh.dtype)  # gradient at each step's pre-activation
    dh_t = np.zeros((N, H), dtype=dh.dtype)  # what step t+1 sent back, then all of dh_t
    for t in range(T - 1, -1, -1):
        dh_t += dh[:, t]  # dh_t is our own buffer: the caller's dh is never written to
        np.multiply(h[t], h[t], out=delta[t])
        np.subtract(1.0, delta[t], out=delta[t])  # tanh' = 1 - tanh^2
        delta[t] *= dh_t
        np.matmul(delta[t], W_T, out=dh_t)
    dx, dU, db = input_gradients(cache.x, cache.U, delta)
    dW = previous_state_gradient(cache.h0, h, delta)
    return dx, dh_t, dU, dW, db
