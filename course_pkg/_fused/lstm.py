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
from ._allocator import keep_freed_memory
from ._time_major import gate_blocks, input_gradients, previous_state_gradient

# Inside the loops a step's gates are one contiguous (k, N, H) block, gate by gate. The
# forward pass puts the cell state c_{t-1} before the gates: [c_{t-1}, i, f, g, o], so that
# [c_{t-1}, i] * [f, g] is f c_{t-1} and i g in one product.
# The sigmoid gates are computed as sigma(a) = (1 + tanh(a/2)) / 2, with their weights
# halved beforehand (exactly: 1/2 is a power of two); one tanh activates all four gates.
SCALE = (0.5, 0.5, 1.0, 0.5)  # i, f, g, o
# the backward pass works through the steps in chunks of about this many bytes, so that a
# chunk's buffers stay in the CPU's cache
CHUNK_BYTES = 2**20


def lstm_forward(x, h0, Wx, Wh, b, c0=None):
    r""":func:`course_pkg.lstm.lstm_forward`: ``h`` (N, T, H) and an ``LSTMCache``.

    One (T+1, 5, N, H) buffer holds every step's block ``[c_{t-1}, i, f, g, o]``.
    The input projections of all steps are one matrix product before the loop;
    each step adds :math:`h_{t-1} W_h`, activates its four gates with one
    ``tanh`` (the sigmoid as :math:`(1 + \tanh(a/2))/2`, its weights halved
    beforehand), forms :math:`f c_{t-1}` and :math:`i g` with one product and
    writes :math:`c_t` into the next step's block. The cache's gates and cell
    states are (N, T, H) views of that buffer.
    """
    x, h0, c0, Wx, Wh, b = _check_params(x, h0, c0, Wx, Wh, b, x_ndim=3)
    keep_freed_memory()
    N, T, D = x.shape
    H = h0.shape[1]
    dtype = x.dtype
    if c0 is None:
        c0 = np.zeros_like(h0)
    scale = np.repeat(np.array(SCALE, dtype=dtype), H)  # (4H,): halves the sigmoid gates
    steps = np.empty((T + 1, 5, N, H), dtype=dtype)  # step t: [c_{t-1}, i, f, g, o]
    steps[0, 0] = c0
    # the input projections of all steps, one matrix product, then laid out gate by gate
    x_Wx = np.dot(x.transpose(1, 0, 2).reshape(T * N, D), Wx * scale).reshape(T, N, 4, H)
    np.add(x_Wx.transpose(0, 2, 1, 3), gate_blocks(b * scale, H)[:, None], out=steps[:T, 1:])
    h = np.empty((T, N, H), dtype=dtype)
    tanh_c = np.empty_like(h)
    Wh_half = Wh * scale
    h_Wh = np.empty((4, N, H), dtype=dtype)  # h_{t-1} W_h, gate by gate
    if N == 1:  # the four blocks of one sequence are one row: one vector-matrix product
        product, W_step, out_step = np.dot, Wh_half, h_Wh.reshape(N, 4 * H)
    else:  # four matrix products, one per gate
        product, W_step, out_step = np.matmul, gate_blocks(Wh_half, H), h_Wh
    fc_ig = np.empty((2, N, H), dtype=dtype)  # f c_{t-1} and i g
    f_c, i_g = fc_ig
    one, half = np.array(1.0, dtype=dtype), np.array(0.5, dtype=dtype)
    # local names and outputs as last arguments: for one short sequence a call's overhead
    # is most of its cost
    add, multiply, tanh = np.add, np.multiply, np.tanh
    h_prev = h0
    # one step's views, (k, N, H) or (N, H), taken in turn from each array's rows
    loop = zip(
        steps[:T, 1:], steps[:T, 1:3], steps[:T, 4], steps[:T, :2], steps[:T, 2:4],
        steps[1:, 0], tanh_c, h, strict=True,
    )  # fmt: skip
    for gates, i_f, o_t, c_prev_i, f_g, c_t, tanh_c_t, h_t in loop:
        product(h_prev, W_step, out_step)
        add(gates, h_Wh, gates)
        tanh(gates, gates)  # g = tanh(a_g); tanh(a/2) for i, f, o
        add(i_f, one, i_f)
        multiply(i_f, half, i_f)
        add(o_t, one, o_t)
        multiply(o_t, half, o_t)
        multiply(c_prev_i, f_g, fc_ig)
        add(f_c, i_g, c_t)
        tanh(c_t, tanh_c_t)
        multiply(o_t, tanh_c_t, h_t)
        h_prev = h_t
    i, f, g, o = (steps[:T, k].transpose(1, 0, 2) for k in range(1, 5))
    c = steps[1:, 0].transpose(1, 0, 2)
    h, tanh_c = h.transpose(1, 0, 2), tanh_c.transpose(1, 0, 2)
    return h, LSTMCache(x, h0, c0, Wx, Wh, i, f, g, o, h, c, tanh_c)


def local_derivatives(i, f, g, o, c_prev, tanh_c, h, f_next, out_local, out_carry):
    """What the backward pass of n steps needs besides the gradients flowing back in time.

    Parameters
    ----------
    i, f, g, o, c_prev, tanh_c, h : ndarray (n, N, H)
        The gates, the cell state before each step, tanh of the one after it and
        the hidden state after it, ``h = o tanh_c``.
    f_next : ndarray (n, N, H)
        The forget gate of the step after each (zeros after the last step).
    out_local : ndarray (n, 4, N, H)
        Receives, gate by gate (i, f, g, o), each gate's derivative times what
        the gate multiplies (sigma' = sigma (1 - sigma), tanh' = 1 - tanh^2).
    out_carry : ndarray (n, 2, N, H)
        Receives ``[f_{t+1}, o_t tanh'(c_t)]``: times ``[dc_{t+1}, dh_t]`` and
        summed, the gradient at :math:`c_t`.
    """
    d_i, d_f, d_g, d_o = (out_local[:, k] for k in range(4))  # (n, N, H) each
    one = np.array(1.0, dtype=i.dtype)
    np.subtract(one, i, out=d_i)
    d_i *= i
    d_i *= g
    np.subtract(one, f, out=d_f)
    d_f *= f
    d_f *= c_prev
    np.multiply(g, g, out=d_g)
    np.subtract(one, d_g, out=d_g)
    d_g *= i
    np.subtract(one, o, out=d_o)
    d_o *= h  # o (1 - o) tanh_c
    out_carry[:, 0] = f_next
    to_c = out_carry[:, 1]
    np.multiply(h, tanh_c, out=to_c)
    np.subtract(o, to_c, out=to_c)  # o (1 - tanh_c^2)


def lstm_backward_with_cell_state(dh, dc, cache):
    """:func:`course_pkg.lstm.lstm_backward_with_cell_state`: ``(dx, dh0, dc0, dWx, dWh, db)``.

    What does not depend on the gradient flowing back in time, the gates'
    local derivatives, is computed for a chunk of steps at once
    (:func:`local_derivatives`): all of them for one short sequence, a few at
    a time for a batch, so that a chunk's buffers stay in the CPU's cache.
    What is left in the loop is the recurrence itself: the gradients arriving
    at :math:`h_t` and :math:`c_t`, the gates' pre-activation gradients (side
    by side, as :math:`W_h`'s columns are) and one matrix product back to
    :math:`h_{t-1}`. After it ``dx``, ``dWx``, ``dWh`` and ``db`` are one
    matrix product (or sum) each over all steps.
    """
    check_cache("cache", cache, LSTMCache)
    dh = check_grad("dh", dh, cache.h.shape, cache.h.dtype)
    if dc is not None:
        dc = check_grad("dc", dc, cache.c.shape, cache.c.dtype).transpose(1, 0, 2)
    keep_freed_memory()
    N, T, H = dh.shape
    dtype = dh.dtype
    # (T, N, H) views; each step is a contiguous block when the cache comes from lstm_forward
    i, f, g, o, h, c, tanh_c = (
        arr.transpose(1, 0, 2)
        for arr in (cache.i, cache.f, cache.g, cache.o, cache.h, cache.c, cache.tanh_c)
    )
    chunk = max(1, CHUNK_BYTES // (6 * N * H * dtype.itemsize))
    da = np.empty((T, N, 4 * H), dtype=dtype)  # gradients at the pre-activations, side by side
    local_buffer = np.empty((min(chunk, T), 4, N, H), dtype=dtype) if N > 1 else None
    carry_buffer = np.empty((min(chunk, T), 2, N, H), dtype=dtype)
    Wh_T = cache.Wh.T  # (4H, H), a view: BLAS reads it transposed
    state = np.zeros((2, N, H), dtype=dtype)  # [dc_t, dh_t], our own buffers
    dc_t, dh_t = state
    products = np.empty((2, N, H), dtype=dtype)
    dc_from_c, dc_from_h = products
    back = np.zeros((N, H), dtype=dtype)  # da_{t+1} W_h^T: what step t+1 sent to h_t
    add, multiply, dot = np.add, np.multiply, np.dot  # local names, outputs last (forward)
    for stop in range(T, 0, -chunk):
        start = max(stop - chunk, 0)
        n = stop - start
        # the chunk's gradients gate by gate; for one sequence that is da's memory already
        local = da[start:stop].reshape(n, 4, N, H) if N == 1 else local_buffer[:n]
        carry = carry_buffer[:n]
        c_prev = c[start - 1 : stop - 1] if start else np.concatenate([cache.c0[None], c[: n - 1]])
        f_next = (
            f[start + 1 : stop + 1]
            if stop < T
            else np.concatenate([f[start + 1 :], np.zeros_like(f[:1])])
        )
        local_derivatives(
            i[start:stop], f[start:stop], g[start:stop], o[start:stop], c_prev,
            tanh_c[start:stop], h[start:stop], f_next, out_local=local, out_carry=carry,
        )  # fmt: skip
        steps = zip(
            dh[:, start:stop].transpose(1, 0, 2), carry, local, da[start:stop],
            range(start, stop), strict=True,
        )  # fmt: skip
        for dh_above, carry_t, local_t, da_t, t in reversed(list(steps)):
            da_i, da_f, da_g, da_o = local_t
            add(dh_above, back, dh_t)  # the caller's dh is never written to
            multiply(state, carry_t, products)
            add(dc_from_c, dc_from_h, dc_t)
            if dc is not None:
                add(dc_t, dc[t], dc_t)
            multiply(da_i, dc_t, da_i)  # i, f and g reach the loss through c_t
            multiply(da_f, dc_t, da_f)
            multiply(da_g, dc_t, da_g)
            multiply(da_o, dh_t, da_o)  # o through h_t
            if N > 1:  # side by side, as the gates' columns of W_h are
                np.copyto(da_t.reshape(N, 4, H), local_t.transpose(1, 0, 2))
            dot(da_t, Wh_T, back)
    dc0 = dc_t * f[0] if T else dc_t.copy()  # the constant error carousel, one step more
    dx, dWx, db = input_gradients(cache.x, cache.Wx, da)
    dWh = previous_state_gradient(cache.h0, h, da)
    return dx, back, dc0, dWx, dWh, db


def lstm_backward(dh, cache):
    """:func:`course_pkg.lstm.lstm_backward`: ``(dx, dh0, dWx, dWh, db)``."""
    dx, dh0, _, dWx, dWh, db = lstm_backward_with_cell_state(dh, None, cache)
    return dx, dh0, dWx, dWh, db
