r"""The gated recurrent unit (GRU), forward and backward through time.

Taught in "GRU" (``book/08_gru``). Two variants are implemented, chosen
with ``reset_after``:

* ``reset_after=False``: the cell of Cho et al. (2014) as textbooks write it,
  the reset gate applied to the state *before* the recurrent product;
* ``reset_after=True``: the form of PyTorch's ``torch.nn.GRU`` and cuDNN,
  the reset gate applied *after* it, which lets all three recurrent
  products be one matrix product per step.

Shapes: N batch, T time, D input features, H hidden units. Row vectors are
multiplied on the left. The gates are stacked along the last axis in
PyTorch's order reset, update, candidate: ``Wx`` (D, 3H), ``Wh`` (H, 3H),
``bx`` (3H,), ``bh`` (3H,); ``Wx[:, :H]`` is the book's :math:`W_{xr}`,
``Wh[:, H:2H]`` its :math:`W_{hz}`, and so on. One step is

.. math::

    r_t &= \sigma(x_t W_{xr} + b_{xr} + h_{t-1} W_{hr} + b_{hr}) \\
    z_t &= \sigma(x_t W_{xz} + b_{xz} + h_{t-1} W_{hz} + b_{hz}) \\
    n_t &= \tanh(x_t W_{xn} + b_{xn} + (r_t \odot h_{t-1}) W_{hn} + b_{hn})
        && \text{reset\_after=False} \\
    n_t &= \tanh(x_t W_{xn} + b_{xn} + r_t \odot (h_{t-1} W_{hn} + b_{hn}))
        && \text{reset\_after=True} \\
    h_t &= z_t \odot h_{t-1} + (1 - z_t) \odot n_t

With three blocks of weights instead of the LSTM's four, a GRU of the same
size has three quarters of an LSTM's parameters, and no separate cell state.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._time_major import gate_blocks, gate_inputs, input_gradients
from ._validate import as_float_array, check_cache, check_grad, check_shape, common_dtype
from .activations import sigmoid_unchecked


class GRUStepCache(NamedTuple):
    """What :func:`gru_step_backward` needs from one forward step."""

    x: np.ndarray  # (N, D) input of the step
    h_prev: np.ndarray  # (N, H) state before the step
    Wx: np.ndarray  # (D, 3H)
    Wh: np.ndarray  # (H, 3H)
    gates: np.ndarray  # (N, 3H) r, z and the candidate n side by side
    hn: np.ndarray | None  # (N, H) h_prev Wh_n + bh_n if reset_after, else None
    reset_after: bool


class GRUCache(NamedTuple):
    """What :func:`gru_backward` needs from a forward pass over a sequence."""

    x: np.ndarray  # (N, T, D) inputs
    h0: np.ndarray  # (N, H) initial state
    Wx: np.ndarray  # (D, 3H)
    Wh: np.ndarray  # (H, 3H)
    r: np.ndarray  # (N, T, H) reset gate of every step
    z: np.ndarray  # (N, T, H) update gate
    n: np.ndarray  # (N, T, H) candidate state
    hn: np.ndarray | None  # (N, T, H) h_{t-1} Wh_n + bh_n if reset_after, else None
    h: np.ndarray  # (N, T, H) every state h_1..h_T
    reset_after: bool


def _check_params(x, h_prev, Wx, Wh, bx, bh, reset_after, *, x_ndim: int):
    """Validate the arguments of a forward function; return them as arrays."""
    if not isinstance(reset_after, (bool, np.bool_)):
        raise TypeError(f"reset_after must be a bool, got {type(reset_after).__name__}")
    h_name = "h0" if x_ndim == 3 else "h_prev"
    x = as_float_array("x", x, ndim=x_ndim)
    h_prev = as_float_array(h_name, h_prev, ndim=2)
    Wx = as_float_array("Wx", Wx, ndim=2)
    Wh = as_float_array("Wh", Wh, ndim=2)
    bx = as_float_array("bx", bx, ndim=1)
    bh = as_float_array("bh", bh, ndim=1)
    N, D = x.shape[0], x.shape[-1]
    H = h_prev.shape[1]  # the state fixes H; every weight must agree with it
    check_shape(h_name, h_prev, (N, H))
    check_shape("Wx", Wx, (D, 3 * H))
    check_shape("Wh", Wh, (H, 3 * H))
    check_shape("bx", bx, (3 * H,))
    check_shape("bh", bh, (3 * H,))
    common_dtype(**{"x": x, h_name: h_prev, "Wx": Wx, "Wh": Wh, "bx": bx, "bh": bh})
    return x, h_prev, Wx, Wh, bx, bh, bool(reset_after)


def gru_step_forward(x, h_prev, Wx, Wh, bx, bh, reset_after=False):
    r"""One time step of the GRU.

    Parameters
    ----------
    x : ndarray (N, D)
        Inputs at this step.
    h_prev : ndarray (N, H)
        Hidden state of the previous step.
    Wx : ndarray (D, 3H)
        Input-to-gate weights, stacked r, z, n.
    Wh : ndarray (H, 3H)
        Hidden-to-gate (recurrent) weights, same order.
    bx : ndarray (3H,)
        Input-side biases, same order.
    bh : ndarray (3H,)
        Recurrent-side biases, same order.
    reset_after : bool
        False: textbook GRU (Cho et al. 2014); True: PyTorch / cuDNN GRU.

    Returns
    -------
    h : ndarray (N, H)
        New hidden state, same dtype as the inputs.
    cache : GRUStepCache

    Raises
    ------
    TypeError
        Non-float arrays, float32 mixed with float64, or a non-bool
        ``reset_after``.
    ValueError
        Shapes that do not fit together, or NaN/inf values.

    Notes
    -----
    .. math::

        r &= \sigma(x W_{xr} + b_{xr} + h_{prev} W_{hr} + b_{hr}), \quad
        z = \sigma(x W_{xz} + b_{xz} + h_{prev} W_{hz} + b_{hz}) \\
        n &= \tanh(x W_{xn} + b_{xn} + (r \odot h_{prev}) W_{hn} + b_{hn})
            \quad \text{(reset\_after=False)} \\
        n &= \tanh(x W_{xn} + b_{xn} + r \odot (h_{prev} W_{hn} + b_{hn}))
            \quad \text{(reset\_after=True)} \\
        h &= z \odot h_{prev} + (1 - z) \odot n

    ``z`` near 1 keeps the old state (the GRU's counterpart of the LSTM's
    forget gate); ``r`` near 0 lets the candidate ignore it.

    Examples
    --------
    With all weights zero, z = 1/2 and n = 0, so the state is halved:

    >>> h, _ = gru_step_forward(np.ones((1, 2)), np.ones((1, 1)), np.zeros((2, 3)),
    ...                         np.zeros((1, 3)), np.zeros(3), np.zeros(3))
    >>> h
    array([[0.5]])
    """
    x, h_prev, Wx, Wh, bx, bh, reset_after = _check_params(
        x, h_prev, Wx, Wh, bx, bh, reset_after, x_ndim=2
    )
    H = h_prev.shape[1]
    ax = x @ Wx + bx  # (N, 3H)
    if reset_after:
        ah = h_prev @ Wh + bh  # (N, 3H): all three recurrent products at once
        r, z = np.split(sigmoid_unchecked(ax[:, : 2 * H] + ah[:, : 2 * H]), 2, axis=1)
        hn = ah[:, 2 * H :]
        n = np.tanh(ax[:, 2 * H :] + r * hn)
    else:
        r, z = np.split(
            sigmoid_unchecked(ax[:, : 2 * H] + h_prev @ Wh[:, : 2 * H] + bh[: 2 * H]), 2, axis=1
        )
        hn = None
        n = np.tanh(ax[:, 2 * H :] + (r * h_prev) @ Wh[:, 2 * H :] + bh[2 * H :])
    h = n + z * (h_prev - n)  # = z h_prev + (1 - z) n with one product fewer
    gates = np.concatenate([r, z, n], axis=1)
    return h, GRUStepCache(x, h_prev, Wx, Wh, gates, hn, reset_after)


def gru_step_backward(dh, cache):
    r"""Backward pass of :func:`gru_step_forward`.

    Parameters
    ----------
    dh : ndarray (N, H)
        Gradient of the loss with respect to the step's output ``h``.
    cache : GRUStepCache

    Returns
    -------
    dx : ndarray (N, D)
    dh_prev : ndarray (N, H)
    dWx : ndarray (D, 3H)
    dWh : ndarray (H, 3H)
    dbx : ndarray (3H,)
    dbh : ndarray (3H,)

    Raises
    ------
    TypeError
        A cache of the wrong type, or a gradient in another dtype.
    ValueError
        A gradient whose shape is not the output's, or NaN/inf values.

    Notes
    -----
    From :math:`h = z \odot h_{prev} + (1 - z) \odot n`: the gradient at the
    update gate's pre-activation is :math:`dh \odot (h_{prev} - n) \odot z(1-z)`,
    at the candidate's :math:`\delta_n = dh \odot (1 - z) \odot (1 - n^2)`,
    and :math:`h_{prev}` receives :math:`dh \odot z` directly, an additive
    path like the LSTM's cell state. The reset gate is reached through
    :math:`n`:

    * reset_after=False: :math:`d(r \odot h_{prev}) = \delta_n W_{hn}^\top`,
      which is multiplied by :math:`h_{prev}` for ``r`` and by ``r`` for
      :math:`h_{prev}`; :math:`dW_{hn} = (r \odot h_{prev})^\top \delta_n`.
    * reset_after=True: :math:`dr = \delta_n \odot (h_{prev} W_{hn} + b_{hn})`
      and the recurrent product receives :math:`\delta_n \odot r`.

    ``bx`` and ``bh`` are added at the same place for r and z, so their
    gradients there are equal. For n this holds only with
    ``reset_after=False``: there ``bh_n`` is redundant with ``bx_n`` and
    ``dbh == dbx``. With ``reset_after=True`` ``bh_n`` is scaled by ``r``, so
    it is a different parameter and ``dbh_n = dbx_n * r`` summed over the batch.
    """
    check_cache("cache", cache, GRUStepCache)
    dh = check_grad("dh", dh, cache.h_prev.shape, cache.h_prev.dtype)
    H = dh.shape[1]
    h_prev, Wh = cache.h_prev, cache.Wh
    r, z, n = np.split(cache.gates, 3, axis=1)
    dz = dh * (h_prev - n) * z * (1.0 - z)  # sigma' = sigma (1 - sigma)
    dn = dh * (1.0 - z) * (1.0 - n * n)  # tanh' = 1 - tanh^2
    if cache.reset_after:
        dr = dn * cache.hn * r * (1.0 - r)
        dax = np.concatenate([dr, dz, dn], axis=1)  # (N, 3H) at x Wx + bx
        dah = np.concatenate([dr, dz, dn * r], axis=1)  # (N, 3H) at h_prev Wh + bh
        dh_prev = dh * z + dah @ Wh.T
        dWh = h_prev.T @ dah
    else:
        drh = dn @ Wh[:, 2 * H :].T  # (N, H) gradient at r * h_prev
        dr = drh * h_prev * r * (1.0 - r)
        dax = np.concatenate([dr, dz, dn], axis=1)  # (N, 3H) at x Wx + bx
        dah = dax  # bh is added exactly where bx is
        dh_prev = dh * z + drh * r + dax[:, : 2 * H] @ Wh[:, : 2 * H].T
        dWh = np.concatenate([h_prev.T @ dax[:, : 2 * H], (r * h_prev).T @ dn], axis=1)
    dx = dax @ cache.Wx.T
    dWx = cache.x.T @ dax
    dbx = dax.sum(axis=0)
    dbh = dah.sum(axis=0)
    return dx, dh_prev, dWx, dWh, dbx, dbh


def gru_forward(x, h0, Wx, Wh, bx, bh, reset_after=False):
    r"""Run the GRU over a whole sequence.

    Parameters
    ----------
    x : ndarray (N, T, D)
        Input sequence.
    h0 : ndarray (N, H)
        Initial state. Pass the last state of the previous chunk here to
        carry the state across chunks (truncated BPTT).
    Wx : ndarray (D, 3H)
        Input-to-gate weights, stacked r, z, n.
    Wh : ndarray (H, 3H)
        Hidden-to-gate (recurrent) weights, same order.
    bx : ndarray (3H,)
        Input-side biases, same order.
    bh : ndarray (3H,)
        Recurrent-side biases, same order.
    reset_after : bool
        False: textbook GRU (Cho et al. 2014); True: PyTorch / cuDNN GRU.

    Returns
    -------
    h : ndarray (N, T, H)
        Hidden state at every step; ``h[:, -1]`` is the final state.
    cache : GRUCache

    Raises
    ------
    TypeError
        Non-float arrays, float32 mixed with float64, or a non-bool
        ``reset_after``.
    ValueError
        Shapes that do not fit together, or NaN/inf values.

    Notes
    -----
    The equations of :func:`gru_step_forward`, for :math:`t = 1, \dots, T`.

    Everything that does not depend on the state, :math:`x_t W_x + b_x` and
    the recurrent biases that are simply added, is computed for all steps
    in one matrix product before the time loop. With ``reset_after=False``
    that is all of ``bh`` (so ``bh_n`` and ``bx_n`` are one parameter in
    two pieces); with ``reset_after=True`` ``bh_n`` sits inside the product
    with ``r`` and stays in the loop.

    As in :func:`~course_pkg.lstm.lstm_forward`, the loop works on
    gate-major, time-major buffers (3, T, N, H), and the two sigmoid gates
    are computed as :math:`(1 + \tanh(a/2))/2` with their weights halved
    beforehand. The returned ``h`` and the cache's arrays are (N, T, H) views.
    """
    x, h0, Wx, Wh, bx, bh, reset_after = _check_params(x, h0, Wx, Wh, bx, bh, reset_after, x_ndim=3)
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
    r"""Backpropagation through time for :func:`gru_forward`.

    Parameters
    ----------
    dh : ndarray (N, T, H)
        Gradient of the loss with respect to every hidden state ``h_t``
        coming from above (the output layer). The gradient that flows back
        through time is added to it here.
    cache : GRUCache

    Returns
    -------
    dx : ndarray (N, T, D)
    dh0 : ndarray (N, H)
    dWx : ndarray (D, 3H)
    dWh : ndarray (H, 3H)
    dbx : ndarray (3H,)
    dbh : ndarray (3H,)

    Raises
    ------
    TypeError
        A cache of the wrong type, or a gradient in another dtype.
    ValueError
        A gradient of the wrong shape, or NaN/inf values.

    Notes
    -----
    Going back from :math:`t = T`, the total gradient at :math:`h_t` is the
    upstream ``dh_t`` plus what step :math:`t+1` sends back; each step then
    applies :func:`gru_step_backward`'s rules. Because the weights are shared
    by all steps their gradients are sums over time, formed after the loop
    with one matrix product each from the pre-activation gradients of all
    steps.

    With ``reset_after=False``, ``dbh`` equals ``dbx`` (``bh`` is redundant);
    with ``reset_after=True`` only their r and z parts are equal.
    """
    check_cache("cache", cache, GRUCache)
    dh = check_grad("dh", dh, cache.h.shape, cache.h.dtype)
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
        np.subtract(1.0, z[t], out=da_z)
        da_z *= z[t]
        np.subtract(h_prev, n[t], out=tmp)
        da_z *= tmp
        da_z *= dh_t
        np.multiply(n[t], n[t], out=da_n)
        np.subtract(1.0, da_n, out=da_n)
        np.subtract(1.0, z[t], out=tmp)
        da_n *= tmp
        da_n *= dh_t
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
    dWh_rz = h_prev.T @ da_flat[:, : 2 * H]
    if reset_after:
        dahn = dahn.reshape(T * N, H)
        dWh = np.concatenate([dWh_rz, h_prev.T @ dahn], axis=1)
        dbh = np.concatenate([dbx[: 2 * H], dahn.sum(axis=0)])
    else:
        rh = r.reshape(T * N, H) * h_prev  # what Wh_n multiplied
        dWh = np.concatenate([dWh_rz, rh.T @ da_flat[:, 2 * H :]], axis=1)
        dbh = dbx.copy()  # bh enters exactly where bx does
    return dx, dh_t, dWx, dWh, dbx, dbh
