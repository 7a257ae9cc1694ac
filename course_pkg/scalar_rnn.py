r"""The scalar many-to-one RNN used to work BPTT out by hand.

Taught in "Unfolding an RNN" (``book/02_unfolding``) and "Backpropagation through
time" (``book/06_bptt``); built in assignment
``a1_unfolding``. One input feature, one hidden unit, one output:

.. math::

    o_t = \tanh(x_t w_i + o_{t-1} w_h + b), \quad o_0 = 0, \qquad
    \hat y = \sigma(o_T w_o)

It is the vanilla RNN with ``D = H = K = 1`` and no output bias.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array, check_shape


def _scalar(name, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return float(value)


def scalar_many_to_one(x, w_i, w_h, b, w_o):
    """Forward pass of the scalar example.

    Parameters
    ----------
    x : ndarray (N, T)
        N sequences of T scalar inputs.
    w_i, w_h, b, w_o : float
        Input weight, recurrent weight, hidden bias, output weight.

    Returns
    -------
    y_hat : ndarray (N,)
        Predicted probability of the positive class.
    o : ndarray (N, T)
        Hidden state at every step.
    """
    x = as_float_array("x", x, ndim=2)
    w_i, w_h, b, w_o = (
        _scalar("w_i", w_i),
        _scalar("w_h", w_h),
        _scalar("b", b),
        _scalar("w_o", w_o),
    )
    N, T = x.shape
    o = np.empty_like(x)
    prev = np.zeros(N, dtype=x.dtype)
    for t in range(T):
        prev = np.tanh(x[:, t] * w_i + prev * w_h + b)
        o[:, t] = prev
    z = o[:, -1] * w_o
    y_hat = np.exp(-np.logaddexp(0.0, -z)).astype(x.dtype)  # sigmoid without overflow
    return y_hat, o


def log_loss(y_hat, y) -> float:
    r"""Mean binary log loss :math:`-[y \log \hat y + (1 - y) \log(1 - \hat y)]`.

    Parameters
    ----------
    y_hat : ndarray (N,)
        Predicted probabilities in (0, 1).
    y : ndarray (N,)
        Labels, 0 or 1.

    Notes
    -----
    Working from probabilities loses precision when :math:`\hat y` rounds to
    0 or 1; training code works from logits instead
    (:func:`course_pkg.losses.binary_cross_entropy_with_logits`).
    """
    y_hat = as_float_array("y_hat", y_hat, ndim=1)
    y = as_float_array("y", y, ndim=1)
    check_shape("y", y, y_hat.shape)
    if np.any((y_hat <= 0) | (y_hat >= 1)):
        raise ValueError("y_hat must hold probabilities strictly between 0 and 1")
    if np.any((y != 0) & (y != 1)):
        raise ValueError("y must hold labels 0 or 1")
    return float(-np.mean(y * np.log(y_hat) + (1 - y) * np.log1p(-y_hat)))
