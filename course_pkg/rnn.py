r"""The vanilla (Elman) recurrent layer, forward and backward through time.

Taught in "Unfolding an RNN" (``book/02_unfolding``) and "Backpropagation through
time" (``book/06_bptt``); built in assignments
``a1_unfolding`` (the forward functions) and ``a2_bptt`` (the backward ones).

Shapes: N batch, T time, D input features, H hidden units. Row vectors are
multiplied on the left, so one step is

.. math:: h_t = \tanh(x_t U + h_{t-1} W + b)

with ``x_t`` (N, D), ``U`` (D, H), ``W`` (H, H), ``b`` (H,).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._cell_common import uniform_init
from ._validate import as_float_array, check_cache, check_grad, check_shape, common_dtype


class RNNStepCache(NamedTuple):
    """What :func:`rnn_step_backward` needs from one forward step."""

    x: np.ndarray  # (N, D) input of the step
    h_prev: np.ndarray  # (N, H) state before the step
    U: np.ndarray  # (D, H)
    W: np.ndarray  # (H, H)
    h: np.ndarray  # (N, H) state after the step


class RNNCache(NamedTuple):
    """What :func:`rnn_backward` needs from a forward pass over a sequence."""

    x: np.ndarray  # (N, T, D) inputs
    h0: np.ndarray  # (N, H) initial state
    U: np.ndarray  # (D, H)
    W: np.ndarray  # (H, H)
    h: np.ndarray  # (N, T, H) every state h_1..h_T

    def step(self, t: int) -> RNNStepCache:
        """What :func:`rnn_step_forward` returned as the cache of step ``t`` (0-based)."""
        h_prev = self.h[:, t - 1] if t > 0 else self.h0
        return RNNStepCache(self.x[:, t], h_prev, self.U, self.W, self.h[:, t])


def param_shapes(D: int, H: int) -> dict:
    """Shapes of the layer's parameters for input size ``D`` and hidden size ``H``."""
    return {"U": (D, H), "W": (H, H), "b": (H,)}


def init_params(D: int, H: int, rng, dtype=np.float64) -> dict:
    r"""Random ``U``, ``W``, ``b``, uniform on :math:`[-1/\sqrt{H}, 1/\sqrt{H}]` like ``nn.RNN``."""
    return uniform_init(param_shapes, D, H, rng, dtype)


def _check_params(x, h_prev, U, W, b, *, x_ndim: int):
    """Validate the arguments of a forward function; return them as arrays."""
    x = as_float_array("x", x, ndim=x_ndim)
    h_prev = as_float_array("h0" if x_ndim == 3 else "h_prev", h_prev, ndim=2)
    U = as_float_array("U", U, ndim=2)
    W = as_float_array("W", W, ndim=2)
    b = as_float_array("b", b, ndim=1)
    N, D = x.shape[0], x.shape[-1]
    H = h_prev.shape[1]  # the state fixes H; every weight must agree with it
    check_shape("h0" if x_ndim == 3 else "h_prev", h_prev, (N, H))
    check_shape("U", U, (D, H))
    check_shape("W", W, (H, H))
    check_shape("b", b, (H,))
    common_dtype(x=x, h_prev=h_prev, U=U, W=W, b=b)
    return x, h_prev, U, W, b


def rnn_step_forward(x, h_prev, U, W, b):
    r"""One time step of the vanilla RNN.

    Parameters
    ----------
    x : ndarray (N, D)
        Inputs at this step.
    h_prev : ndarray (N, H)
        Hidden state of the previous step.
    U : ndarray (D, H)
        Input-to-hidden weights.
    W : ndarray (H, H)
        Hidden-to-hidden (recurrent) weights.
    b : ndarray (H,)
        Hidden bias.

    Returns
    -------
    h : ndarray (N, H)
        New hidden state, same dtype as the inputs.
    cache : RNNStepCache

    Raises
    ------
    TypeError
        Non-float arrays, or float32 mixed with float64.
    ValueError
        Shapes that do not fit together, or NaN/inf values.

    Notes
    -----
    .. math:: h = \tanh(x U + h_{prev} W + b)
    """
    x, h_prev, U, W, b = _check_params(x, h_prev, U, W, b, x_ndim=2)
    h = np.tanh(x @ U + h_prev @ W + b)
    return h, RNNStepCache(x, h_prev, U, W, h)


def rnn_step_backward(dh, cache):
    r"""Backward pass of :func:`rnn_step_forward`.

    Parameters
    ----------
    dh : ndarray (N, H)
        Gradient of the loss with respect to the step's output ``h``.
    cache : RNNStepCache

    Returns
    -------
    dx : ndarray (N, D)
    dh_prev : ndarray (N, H)
    dU : ndarray (D, H)
    dW : ndarray (H, H)
    db : ndarray (H,)

    Notes
    -----
    With :math:`a = xU + h_{prev}W + b` and :math:`h = \tanh a`,
    :math:`\partial L/\partial a = dh \odot (1 - h^2)` because
    :math:`\tanh' = 1 - \tanh^2`; every other gradient is a matrix product
    of that with the factor ``a`` was multiplied by.
    """
    check_cache("cache", cache, RNNStepCache)
    dh = check_grad("dh", dh, cache.h.shape, cache.h.dtype)
    da = dh * (1.0 - cache.h * cache.h)  # (N, H)
    dx = da @ cache.U.T
    dh_prev = da @ cache.W.T
    dU = cache.x.T @ da
    dW = cache.h_prev.T @ da
    db = da.sum(axis=0)
    return dx, dh_prev, dU, dW, db


def rnn_forward(x, h0, U, W, b):
    r"""Run the vanilla RNN over a whole sequence.

    Parameters
    ----------
    x : ndarray (N, T, D)
        Input sequence.
    h0 : ndarray (N, H)
        Initial state. Pass the last state of the previous chunk here to
        carry the state across chunks (truncated BPTT).
    U : ndarray (D, H)
    W : ndarray (H, H)
    b : ndarray (H,)

    Returns
    -------
    h : ndarray (N, T, H)
        Hidden state at every step; ``h[:, -1]`` is the final state.
    cache : RNNCache

    Raises
    ------
    TypeError
        Non-float arrays, or float32 mixed with float64.
    ValueError
        Shapes that do not fit together, or NaN/inf values.

    Notes
    -----
    .. math:: h_t = \tanh(x_t U + h_{t-1} W + b), \quad t = 1, \dots, T

    The same ``U``, ``W`` and ``b`` serve every step: the loop below is
    :func:`rnn_step_forward` applied T times. (The models run a fused
    version, ``course_pkg._fused.rnn``, that computes the same values
    faster.)
    """
    x, h0, U, W, b = _check_params(x, h0, U, W, b, x_ndim=3)
    N, T, _ = x.shape
    h = np.empty((N, T, h0.shape[1]), dtype=x.dtype)
    h_t = h0
    for t in range(T):
        h_t, _ = rnn_step_forward(x[:, t], h_t, U, W, b)
        h[:, t] = h_t
    return h, RNNCache(x, h0, U, W, h)


def rnn_backward(dh, cache):
    r"""Backpropagation through time for :func:`rnn_forward`.

    Parameters
    ----------
    dh : ndarray (N, T, H)
        Gradient of the loss with respect to every hidden state ``h_t``
        coming from above (the output layer) only. The gradient that flows
        back through time is added to it here.
    cache : RNNCache

    Returns
    -------
    dx : ndarray (N, T, D)
    dh0 : ndarray (N, H)
    dU : ndarray (D, H)
    dW : ndarray (H, H)
    db : ndarray (H,)

    Raises
    ------
    TypeError
        A cache of the wrong type, or a gradient in another dtype.
    ValueError
        A gradient of the wrong shape, or NaN/inf values.

    Notes
    -----
    Going backwards from :math:`t = T`, the total gradient at :math:`h_t` is
    the upstream one plus what step :math:`t+1` sends back,
    :math:`dh_t + \delta_{t+1} W^\top`, and :func:`rnn_step_backward` does
    the rest of the step. Because ``U``, ``W`` and ``b`` are shared by all
    steps, their gradients are sums over time:
    :math:`dU = \sum_t x_t^\top \delta_t`, :math:`dW = \sum_t h_{t-1}^\top \delta_t`,
    :math:`db = \sum_t \delta_t`, with :math:`\delta_t` the gradient at
    step t's pre-activation.
    """
    check_cache("cache", cache, RNNCache)
    dh = check_grad("dh", dh, cache.h.shape, cache.h.dtype)
    N, T, H = dh.shape
    dx = np.empty_like(cache.x)
    dU, dW, db = np.zeros_like(cache.U), np.zeros_like(cache.W), np.zeros(H, dtype=dh.dtype)
    dh_next = np.zeros((N, H), dtype=dh.dtype)  # what step t+1 sends back to h_t
    for t in reversed(range(T)):
        dx[:, t], dh_next, dU_t, dW_t, db_t = rnn_step_backward(dh[:, t] + dh_next, cache.step(t))
        dU += dU_t
        dW += dW_t
        db += db_t
    return dx, dh_next, dU, dW, db


def rnn_num_params(D: int, H: int, K: int = 0) -> int:
    r"""Number of parameters of a vanilla RNN layer with an output layer of size ``K``.

    ``U`` (D, H), ``W`` (H, H), ``b`` (H,) and, if ``K > 0``, ``V`` (H, K) and
    ``c`` (K,): :math:`DH + H^2 + H + HK + K`. The sequence length does not
    appear: the same weights serve every time step.
    """
    for name, value, low in (("D", D, 1), ("H", H, 1), ("K", K, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(D * H + H * H + H + H * K + K)
