r"""The GRU over a sequence, fused: :mod:`course_pkg.gru`'s sequence functions made fast.

Same arguments, results and cache (:class:`course_pkg.gru.GRUCache`) as
:func:`course_pkg.gru.gru_forward` and :func:`course_pkg.gru.gru_backward`;
see :mod:`course_pkg._fused` for what makes them fast.
"""

from __future__ import annotations

import numpy as np

from .._validate import check_cache, check_grad
from ..gru import GRUCache, _check_params
from ._allocator import keep_freed_memory
from ._time_major import gate_blocks, gate_inputs, input_gradients


def gru_forward(x, h0, Wx, Wh, bx, bh, reset_after=False):
    r""":func:`course_pkg.gru.gru_forward`: ``h`` (N, T, H) and a ``GRUCache``.

    Everything that does not depend on the state, :math:`x_t W_x + b_x` and
    the recurrent biases that are simply added, is one matrix product before
    the time loop. With ``reset_after=False`` that is all of ``bh``; with
    ``reset_after=True`` ``bh_n`` sits inside the product with ``r`` and
    stays in the loop. The loop works on gate-major, time-major buffers
    (3, T, N, H), and the two sigmoid gates are computed as
    :math:`(1 + \tanh(a/2))/2` with their weights halved beforehand.
    """
    x, h0, Wx, Wh, bx, bh, reset_after = _check_params(x, h0, Wx, Wh, bx, bh, reset_after, x_ndim=3)
    keep_freed_memory()
    N, T, _ = x.shape
    H = h0.shape[1]
    scale = (0.5, 0.5, 1.0)  # r, z, n: the sigmoid gates' pre-activations are halved
    Wh3 = gate_blocks(Wh, H) * np.array(scale, dtype=x.dtype).reshape(3, 1, 1)  # (3, H, H)
    bias = bx + bh
    if reset_after:
        bias[2 * H :] = bx[2 * H :]  # bh_n is multiplied by r, so it cannot be folded in
    gates = gate_inputs(x, Wx, bias, scale)  # (3, T, N, H), activated in place below
    r, z, n = gates  # (T, N, H) each
    h = np.empty((T, N, H), dtype=x.dtype)
    hn = np.empty_like(h) if reset_after else None
    bh_n = bh[2 * H :]
    ah = np.empty((2, N, H), dtype=x.dtype)  # h_{t-1} W_h for r and z
    rh = np.empty((N, H), dtype=x.dtype)  # r * h_{t-1}
    rh_W = np.empty((N, H), dtype=x.dtype)  # what reaches n through the reset gate
    h_prev = h0
    for t in range(T):
        np.matmul(h_prev, Wh3[:2], out=ah)
        gates[:2, t] += ah
        np.tanh(gates[:2, t], out=gates[:2, t])
        gates[:2, t] += 1.0
        gates[:2, t] *= 0.5  # sigma(a) = (1 + tanh(a / 2)) / 2
        if reset_after:
            np.matmul(h_prev, Wh3[2], out=hn[t])
            hn[t] += bh_n
            np.multiply(r[t], hn[t], out=rh_W)
        else:
            # the product with Wh_n has to wait for r: two products per step
            np.multiply(r[t], h_prev, out=rh)
            np.matmul(rh, Wh3[2], out=rh_W)
        n[t] += rh_W
        np.tanh(n[t], out=n[t])
        np.subtract(h_prev, n[t], out=h[t])
        h[t] *= z[t]
        h[t] += n[t]  # = z h_prev + (1 - z) n with one product fewer
        h_prev = h[t]
    r, z, n, h = (arr.transpose(1, 0, 2) for arr in (r, z, n, h))
    if reset_after:
        hn = hn.transpose(1, 0, 2)
    return h, GRUCache(x, h0, Wx, Wh, r, z, n, hn, h, reset_after)


def gru_backward(dh, cache):
    """:func:`course_pkg.gru.gru_backward`: ``(dx, dh0, dWx, dWh, dbx, dbh)``.

    The loop computes the gradients at each step's pre-activations, block by
    block in place, and what goes back to :math:`h_{t-1}`; the weight and
    input gradients are one matrix product each over all steps after it.
    """
    check_cache("cache", cache, GRUCache)
    dh = check_grad("dh", dh, cache.h.shape, cache.h.dtype)
    keep_freed_memory()
    N, T, H = dh.shape
    reset_after = cache.reset_after
    # (T, N, H) views; each step is a contiguous block when the cache comes from gru_forward
    r, z, n, h = (arr.transpose(1, 0, 2) for arr in (cache.r, cache.z, cache.n, cache.h))
    hn = cache.hn.transpose(1, 0, 2) if reset_after else None
    da = np.empty((T, N, 3 * H), dtype=dh.dtype)  # gradients at x W_x + b_x
    local = np.empty((3, N, H), dtype=dh.dtype)  # one step's da, gate by gate
    da_r, da_z, da_n = local
    # with reset_after the recurrent product's n part receives r * da_n instead
    dahn = np.empty((T, N, H), dtype=dh.dtype) if reset_after else None
    Wh_rz_T = np.ascontiguousarray(cache.Wh[:, : 2 * H].T)  # (2H, H)
    Wh_n_T = np.ascontiguousarray(cache.Wh[:, 2 * H :].T)  # (H, H)
    dh_t = np.zeros((N, H), dtype=dh.dtype)  # what step t+1 sent back, then all of dh_t
    drh = np.empty((N, H), dtype=dh.dtype)  # gradient at r * (what the reset gate scales)
    to_h = np.empty((N, H), dtype=dh.dtype)  # a gradient's share of dh_{t-1}
    tmp = np.empty((N, H), dtype=dh.dtype)
    for t in range(T - 1, -1, -1):
        dh_t += dh[:, t]  # dh_t is our own buffer: the caller's dh is never written to
        h_prev = h[t - 1] if t else cache.h0
        # local derivative (sigma' = sigma (1 - sigma), tanh' = 1 - tanh^2) times
        # what the gate multiplies, times dh_t
        np.subtract(1.0, z[t], out=tmp)
        tmp *= dh_t  # (1 - z) dh_t, a factor of both da_n and da_z (sigma' = z (1 - z))
        np.multiply(n[t], n[t], out=da_n)
        np.subtract(1.0, da_n, out=da_n)
        da_n *= tmp
        np.subtract(h_prev, n[t], out=da_z)
        da_z *= z[t]
        da_z *= tmp
        # the reset gate is reached through n
        if reset_after:
            np.multiply(da_n, hn[t], out=drh)
        else:
            np.matmul(da_n, Wh_n_T, out=drh)
        np.subtract(1.0, r[t], out=da_r)
        da_r *= r[t]
        da_r *= drh
        if not reset_after:
            da_r *= h_prev
        # side by side, as the gates' columns of the weights are
        np.copyto(da[t].reshape(N, 3, H), local.transpose(1, 0, 2))
        dh_t *= z[t]  # the direct path h_prev -> h
        np.matmul(da[t, :, : 2 * H], Wh_rz_T, out=to_h)
        dh_t += to_h
        if reset_after:
            np.multiply(da_n, r[t], out=dahn[t])
            np.matmul(dahn[t], Wh_n_T, out=to_h)
            dh_t += to_h
        else:
            drh *= r[t]
            dh_t += drh
    dx, dWx, dbx = input_gradients(cache.x, cache.Wx, da)
    da_flat = da.reshape(T * N, 3 * H)  # rows in time order
    h_prev = np.concatenate([cache.h0[None], h])[:T].reshape(T * N, H)  # h_0..h_{T-1}
    dWh_rz = np.dot(h_prev.T, da_flat[:, : 2 * H])
    if reset_after:
        dahn = dahn.reshape(T * N, H)
        dWh = np.concatenate([dWh_rz, np.dot(h_prev.T, dahn)], axis=1)
        dbh = np.concatenate([dbx[: 2 * H], dahn.sum(axis=0)])
    else:
        rh = r.reshape(T * N, H) * h_prev  # what Wh_n multiplied
        dWh = np.concatenate([dWh_rz, np.dot(rh.T, da_flat[:, 2 * H :])], axis=1)
        dbh = dbx.copy()  # bh enters exactly where bx does
    return dx, dh_t, dWx, dWh, dbx, dbh
