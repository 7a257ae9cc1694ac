r"""The LSTM over a sequence, fused: :mod:`course_pkg.lstm`'s sequence functions made fast.

Same arguments, results and cache (:class:`course_pkg.lstm.LSTMCache`) as
:func:`course_pkg.lstm.lstm_forward` and
:func:`course_pkg.lstm.lstm_backward_with_cell_state`; see
:mod:`course_pkg._fused` for what makes them fast.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_cache, check_grad
from ..lstm import LSTMCache, _check_params
from ._time_major import gate_blocks, gate_inputs, input_gradients, previous_state_gradient


def lstm_forward(x, h0, Wx, Wh, b, c0=None):
    r""":func:`course_pkg.lstm.lstm_forward`: ``h`` (N, T, H) and an ``LSTMCache``.

    The loop works on gate-major, time-major buffers (4, T, N, H), and the
    sigmoid is computed as :math:`(1 + \tanh(a/2))/2` with the sigmoid
    gates' weights halved beforehand, so one ``tanh`` call activates all
    four gates of a step. The returned ``h`` and the cache's arrays are
    (N, T, H) views of those buffers.
    """
    x, h0, c0, Wx, Wh, b = _check_params(x, h0, c0, Wx, Wh, b, x_ndim=3)
    N, T, _ = x.shape
    H = h0.shape[1]
    if c0 is None:
        c0 = np.zeros_like(h0)
    scale = (0.5, 0.5, 1.0, 0.5)  # i, f, g, o: the sigmoid gates' pre-activations are halved
    Wh4 = gate_blocks(Wh, H) * np.array(scale, dtype=x.dtype).reshape(4, 1, 1)  # (4, H, H)
    gates = gate_inputs(x, Wx, b, scale)  # (4, T, N, H), activated in place below
    i, f, g, o = gates  # (T, N, H) each
    h = np.empty((T, N, H), dtype=x.dtype)
    c = np.empty_like(h)
    tanh_c = np.empty_like(h)
    ah = np.empty((4, N, H), dtype=x.dtype)  # h_{t-1} W_h, gate by gate
    ig = np.empty((N, H), dtype=x.dtype)
    h_prev, c_prev = h0, c0
    for t in range(T):
        np.matmul(h_prev, Wh4, out=ah)
        gates[:, t] += ah
        np.tanh(gates[:, t], out=gates[:, t])  # tanh(a/2) for i, f, o; g = tanh(a_g)
        for sigmoid_gates in (gates[:2, t], o[t]):
            sigmoid_gates += 1.0
            sigmoid_gates *= 0.5
        np.multiply(f[t], c_prev, out=c[t])
        np.multiply(i[t], g[t], out=ig)
        c[t] += ig
        np.tanh(c[t], out=tanh_c[t])
        np.multiply(o[t], tanh_c[t], out=h[t])
        h_prev, c_prev = h[t], c[t]
    i, f, g, o, h, c, tanh_c = (arr.transpose(1, 0, 2) for arr in (i, f, g, o, h, c, tanh_c))
    return h, LSTMCache(x, h0, c0, Wx, Wh, i, f, g, o, h, c, tanh_c)


def lstm_backward_with_cell_state(dh, dc, cache):
    """:func:`course_pkg.lstm.lstm_backward_with_cell_state`: ``(dx, dh0, dc0, dWx, dWh, db)``.

    Each step computes the pre-activation gradients of the four gates block
    by block in place, then lays them side by side in a (T, N, 4H) array so
    that what goes back to :math:`h_{t-1}` is one matrix product; after the
    loop ``dx``, ``dWx``, ``dWh`` and ``db`` are one matrix product (or sum)
    each over all steps.
    """
    check_cache("cache", cache, LSTMCache)
    dh = check_grad("dh", dh, cache.h.shape, cache.h.dtype)
    if dc is not None:
        dc = check_grad("dc", dc, cache.c.shape, cache.c.dtype)
    N, T, H = dh.shape
    # (T, N, H) views; each step is a contiguous block when the cache comes from lstm_forward
    i, f, g, o, h, c, tanh_c = (
        arr.transpose(1, 0, 2)
        for arr in (cache.i, cache.f, cache.g, cache.o, cache.h, cache.c, cache.tanh_c)
    )
    da = np.empty((T, N, 4 * H), dtype=dh.dtype)  # gradients at the pre-activations
    local = np.empty((4, N, H), dtype=dh.dtype)  # one step's da, gate by gate
    da_i, da_f, da_g, da_o = local
    Wh_T = np.ascontiguousarray(cache.Wh.T)  # (4H, H)
    dh_t = np.zeros((N, H), dtype=dh.dtype)  # what step t+1 sent back, then all of dh_t
    dc_t = np.zeros((N, H), dtype=dh.dtype)  # the same for the cell state
    h_to_c = np.empty((N, H), dtype=dh.dtype)
    for t in range(T - 1, -1, -1):
        dh_t += dh[:, t]  # dh_t is our own buffer: the caller's dh is never written to
        # c_t reaches the loss through step t+1 (dc_t so far) and through h_t
        np.multiply(tanh_c[t], tanh_c[t], out=h_to_c)
        np.subtract(1.0, h_to_c, out=h_to_c)  # tanh' = 1 - tanh^2
        h_to_c *= o[t]
        h_to_c *= dh_t
        dc_t += h_to_c
        if dc is not None:
            dc_t += dc[:, t]
        # local derivative (sigma' = sigma (1 - sigma), tanh' = 1 - tanh^2) times
        # what the gate multiplies, times the gradient that reaches it
        np.subtract(1.0, i[t], out=da_i)
        da_i *= i[t]
        da_i *= g[t]
        np.subtract(1.0, f[t], out=da_f)
        da_f *= f[t]
        da_f *= c[t - 1] if t else cache.c0
        np.multiply(g[t], g[t], out=da_g)
        np.subtract(1.0, da_g, out=da_g)
        da_g *= i[t]
        local[:3] *= dc_t  # i, f and g reach the loss through c_t
        np.subtract(1.0, o[t], out=da_o)
        da_o *= o[t]
        da_o *= tanh_c[t]
        da_o *= dh_t  # o reaches it through h_t
        dc_t *= f[t]  # the constant error carousel: dc_{t-1}
        # side by side, as the gates' columns of W_h are: one matrix product
        np.copyto(da[t].reshape(N, 4, H), local.transpose(1, 0, 2))
        np.matmul(da[t], Wh_T, out=dh_t)
    dx, dWx, db = input_gradients(cache.x, cache.Wx, da)
    dWh = previous_state_gradient(cache.h0, h, da)
    return dx, dh_t, dc_t, dWx, dWh, db


def lstm_backward(dh, cache):
    """:func:`course_pkg.lstm.lstm_backward`: ``(dx, dh0, dWx, dWh, db)``."""
    dx, dh0, _, dWx, dWh, db = lstm_backward_with_cell_state(dh, None, cache)
    return dx, dh0, dWx, dWh, db
