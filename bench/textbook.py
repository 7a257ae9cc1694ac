"""The baseline: a straightforward per-example textbook implementation.

Column vectors, one example and one time step at a time, the way the
equations are usually first written down:
``h_t = tanh(U^T x_t + W^T h_{t-1} + b)``. Kept only to measure how much the
batched, vectorised ``course_pkg`` gains over it; its gradients are checked
against ``course_pkg`` in ``tests/test_bench.py`` so the comparison is fair.
"""

from __future__ import annotations

import numpy as np


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def rnn_train_step(x, h0, U, W, b, dh):
    """Forward and backward through time for each example on its own.

    x (N, T, D), h0 (N, H), dh (N, T, H); returns (h, dx, dh0, dU, dW, db),
    the same outputs as course_pkg's forward and backward.
    """
    N, T, _ = x.shape
    H = h0.shape[1]
    h_all = np.zeros((N, T, H), dtype=x.dtype)
    dx, dh0 = np.zeros_like(x), np.zeros_like(h0)
    dU, dW, db = np.zeros_like(U), np.zeros_like(W), np.zeros_like(b)
    for n in range(N):
        hs = [h0[n].reshape(H, 1)]
        for t in range(T):
            xt = x[n, t].reshape(-1, 1)
            hs.append(np.tanh(U.T @ xt + W.T @ hs[-1] + b.reshape(H, 1)))
            h_all[n, t] = hs[-1][:, 0]
        dnext = np.zeros((H, 1), dtype=x.dtype)
        for t in range(T - 1, -1, -1):
            g = dh[n, t].reshape(H, 1) + dnext
            da = g * (1 - hs[t + 1] ** 2)
            dU += x[n, t].reshape(-1, 1) @ da.T
            dW += hs[t] @ da.T
            db += da[:, 0]
            dx[n, t] = (U @ da)[:, 0]
            dnext = W @ da
        dh0[n] = dnext[:, 0]
    return h_all, dx, dh0, dU, dW, db


def lstm_train_step(x, h0, Wx, Wh, b, dh):
    """Per-example LSTM forward and backward (gates i, f, g, o).

    Returns (h, dx, dh0, dWx, dWh, db), the outputs of course_pkg's.
    """
    N, T, _ = x.shape
    H = h0.shape[1]
    h_all = np.zeros((N, T, H), dtype=x.dtype)
    dx, dh0 = np.zeros_like(x), np.zeros_like(h0)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    for n in range(N):
        h, c = h0[n].reshape(H, 1), np.zeros((H, 1), dtype=x.dtype)
        steps = []
        for t in range(T):
            xt = x[n, t].reshape(-1, 1)
            a = Wx.T @ xt + Wh.T @ h + b.reshape(-1, 1)
            i, f = _sigmoid(a[:H]), _sigmoid(a[H : 2 * H])
            g, o = np.tanh(a[2 * H : 3 * H]), _sigmoid(a[3 * H :])
            c_new = f * c + i * g
            h_new = o * np.tanh(c_new)
            steps.append((xt, h, c, i, f, g, o, c_new))
            h, c = h_new, c_new
            h_all[n, t] = h[:, 0]
        dh_next = np.zeros((H, 1), dtype=x.dtype)
        dc_next = np.zeros((H, 1), dtype=x.dtype)
        for t in range(T - 1, -1, -1):
            xt, h_prev, c_prev, i, f, g, o, c_t = steps[t]
            dh_t = dh[n, t].reshape(H, 1) + dh_next
            tc = np.tanh(c_t)
            dc = dc_next + dh_t * o * (1 - tc**2)
            da = np.vstack(
                [
                    dc * g * i * (1 - i),
                    dc * c_prev * f * (1 - f),
                    dc * i * (1 - g**2),
                    dh_t * tc * o * (1 - o),
                ]
            )
            dWx += xt @ da.T
            dWh += h_prev @ da.T
            db += da[:, 0]
            dx[n, t] = (Wx @ da)[:, 0]
            dh_next = Wh @ da
            dc_next = dc * f
        dh0[n] = dh_next[:, 0]
    return h_all, dx, dh0, dWx, dWh, db


def gru_train_step(x, h0, Wx, Wh, bx, bh, dh):
    """Per-example textbook GRU (reset before the product).

    Returns (h, dx, dh0, dWx, dWh, dbx, dbh), the outputs of course_pkg's.
    """
    N, T, _ = x.shape
    H = h0.shape[1]
    h_all = np.zeros((N, T, H), dtype=x.dtype)
    dx, dh0 = np.zeros_like(x), np.zeros_like(h0)
    dWx, dWh = np.zeros_like(Wx), np.zeros_like(Wh)
    dbx, dbh = np.zeros_like(bx), np.zeros_like(bh)
    for n in range(N):
        h = h0[n].reshape(H, 1)
        steps = []
        for t in range(T):
            xt = x[n, t].reshape(-1, 1)
            ax = Wx.T @ xt + bx.reshape(-1, 1)
            ah = Wh[:, : 2 * H].T @ h + bh[: 2 * H].reshape(-1, 1)
            r = _sigmoid(ax[:H] + ah[:H])
            z = _sigmoid(ax[H : 2 * H] + ah[H:])
            nn = np.tanh(ax[2 * H :] + Wh[:, 2 * H :].T @ (r * h) + bh[2 * H :].reshape(-1, 1))
            h_new = z * h + (1 - z) * nn
            steps.append((xt, h, r, z, nn))
            h = h_new
            h_all[n, t] = h[:, 0]
        dh_next = np.zeros((H, 1), dtype=x.dtype)
        for t in range(T - 1, -1, -1):
            xt, h_prev, r, z, nn = steps[t]
            g = dh[n, t].reshape(H, 1) + dh_next
            dn = g * (1 - z) * (1 - nn**2)
            dz = g * (h_prev - nn) * z * (1 - z)
            drh = Wh[:, 2 * H :] @ dn
            dr = drh * h_prev * r * (1 - r)
            da_x = np.vstack([dr, dz, dn])
            dWx += xt @ da_x.T
            dbx += da_x[:, 0]
            dWh[:, : 2 * H] += h_prev @ np.vstack([dr, dz]).T
            dWh[:, 2 * H :] += (r * h_prev) @ dn.T
            dbh += da_x[:, 0]
            dx[n, t] = (Wx @ da_x)[:, 0]
            dh_next = g * z + drh * r + Wh[:, : 2 * H] @ np.vstack([dr, dz])
        dh0[n] = dh_next[:, 0]
    return h_all, dx, dh0, dWx, dWh, dbx, dbh
