r"""The gated recurrent unit (GRU), forward and backward through time.

Taught in "GRU" (``book/09_gru``); built in assignment ``a4_lstm_gru`` (Parts 3
and 4). Two variants are implemented, chosen
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

from ._cell_common import over_time, uniform_init
from ._validate import as_float_array, check_cache, check_grad, check_shape, common_dtype
from .activations import sigmoid


class GRUStepCache(NamedTuple):
    """What :func:`gru_step_backward` needs from one forward step."""

    x: np.ndarray  # (N, D) input of the step
    h_prev: np.ndarray  # (N, H) state before the step
    Wx: np.ndarray  # (D, 3H)
    Wh: np.ndarray  # (H, 3H)
    r: np.ndarray  # (N, H) reset gate
    z: np.ndarray  # (N, H) update gate
    n: np.ndarray  # (N, H) candidate state
    hn: np.ndarray | None  # (N, H) h_prev Wh_n + bh_n if reset_after, else None
    reset_after: bool


class GRUCache(NamedTuple):
    """What :func:`gru_backward` needs from a forward pass over a sequence: every step's
    :class:`GRUStepCache` fields, stacked along the time axis."""

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

    def step(self, t: int) -> GRUStepCache:
        """What :func:`gru_step_forward` returned as the cache of step ``t`` (0-based)."""
        h_prev = self.h[:, t - 1] if t > 0 else self.h0
        hn = self.hn[:, t] if self.reset_after else None
        r, z, n = self.r[:, t], self.z[:, t], self.n[:, t]
        return GRUStepCache(self.x[:, t], h_prev, self.Wx, self.Wh, r, z, n, hn, self.reset_after)


def param_shapes(D: int, H: int) -> dict:
    """Shapes of the layer's parameters for input size ``D`` and hidden size ``H``."""
    return {"Wx": (D, 3 * H), "Wh": (H, 3 * H), "bx": (3 * H,), "bh": (3 * H,)}


def init_params(D: int, H: int, rng, dtype=np.float64) -> dict:
    r"""Random ``Wx``, ``Wh``, ``bx``, ``bh``: uniform on :math:`[-1/\sqrt{H}, 1/\sqrt{H}]`, as
    PyTorch's ``nn.GRU``."""
    return uniform_init(param_shapes, D, H, rng, dtype)


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
    # the gates' columns of the weights, side by side: r, z, then the candidate n
    Wx_r, Wx_z, Wx_n = np.split(Wx, 3, axis=1)
    Wh_r, Wh_z, Wh_n = np.split(Wh, 3, axis=1)
    bx_r, bx_z, bx_n = np.split(bx, 3)
    bh_r, bh_z, bh_n = np.split(bh, 3)
    r = sigmoid(x @ Wx_r + bx_r + h_prev @ Wh_r + bh_r)
    z = sigmoid(x @ Wx_z + bx_z + h_prev @ Wh_z + bh_z)
    if reset_after:
        hn = h_prev @ Wh_n + bh_n  # kept: the reset gate's gradient needs it
        n = np.tanh(x @ Wx_n + bx_n + r * hn)
    else:
        hn = None
        n = np.tanh(x @ Wx_n + bx_n + (r * h_prev) @ Wh_n + bh_n)
    h = z * h_prev + (1.0 - z) * n
    return h, GRUStepCache(x, h_prev, Wx, Wh, r, z, n, hn, reset_after)


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
    r, z, n = cache.r, cache.z, cache.n
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
    :func:`gru_step_forward` applied T times, for :math:`t = 1, \dots, T`.
    (The models run a fused version, ``course_pkg._fused.gru``, that
    computes the same values faster.)
    """
    x, h0, Wx, Wh, bx, bh, reset_after = _check_params(x, h0, Wx, Wh, bx, bh, reset_after, x_ndim=3)
    T = x.shape[1]
    hs, steps = [], []
    h_t = h0
    for t in range(T):
        h_t, step = gru_step_forward(x[:, t], h_t, Wx, Wh, bx, bh, reset_after)
        hs.append(h_t)
        steps.append(step)
    # every step's state and gates, stacked along the time axis
    h = over_time(hs, h0)
    r, z, n = (over_time([getattr(step, name) for step in steps], h0) for name in "rzn")
    hn = over_time([step.hn for step in steps], h0) if reset_after else None
    return h, GRUCache(x, h0, Wx, Wh, r, z, n, hn, h, reset_after)


def gru_backward(dh, cache):
    r"""Backpropagation through time for :func:`gru_forward`.

    Parameters
    ----------
    dh : ndarray (N, T, H)
        Gradient of the loss with respect to every hidden state ``h_t``
        coming from above (the output layer) only. The gradient that flows
        back through time is added to it here.
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
    upstream ``dh_t`` plus what step :math:`t+1` sends back, and
    :func:`gru_step_backward` does the rest of the step. Because the weights
    are shared by all steps their gradients are sums over time.

    With ``reset_after=False``, ``dbh`` equals ``dbx`` (``bh`` is redundant);
    with ``reset_after=True`` only their r and z parts are equal.
    """
    check_cache("cache", cache, GRUCache)
    dh = check_grad("dh", dh, cache.h.shape, cache.h.dtype)
    N, T, H = dh.shape
    dx = np.empty_like(cache.x)
    dWx, dWh = np.zeros_like(cache.Wx), np.zeros_like(cache.Wh)
    dbx, dbh = np.zeros(3 * H, dtype=dh.dtype), np.zeros(3 * H, dtype=dh.dtype)
    dh_next = np.zeros((N, H), dtype=dh.dtype)  # what step t+1 sends back to h_t
    for t in reversed(range(T)):
        dx[:, t], dh_next, dWx_t, dWh_t, dbx_t, dbh_t = gru_step_backward(
            dh[:, t] + dh_next, cache.step(t)
        )
        dWx += dWx_t
        dWh += dWh_t
        dbx += dbx_t
        dbh += dbh_t
    return dx, dh_next, dWx, dWh, dbx, dbh
