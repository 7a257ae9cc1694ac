"""Activation functions and their derivatives, numerically stable.

Taught in the book's chapter "Activation functions" (``book/03_activations``);
built in assignment ``a1_unfolding`` (Part 1).
Every function takes a float32 or float64 array of any shape and returns an
array of the same shape and dtype. None of them overflows or warns for
``|z|`` up to 1e4 (or up to the dtype's largest value).
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array


def sigmoid(z):
    r"""Logistic sigmoid :math:`\sigma(z) = 1 / (1 + e^{-z})`, range (0, 1).

    Parameters
    ----------
    z : ndarray, float32 or float64, any shape

    Returns
    -------
    ndarray, same shape and dtype as ``z``.

    Notes
    -----
    ``exp(-z)`` overflows for large negative ``z``. Writing the function with
    ``e = exp(-|z|)``, which lies in (0, 1], avoids that:
    :math:`\sigma(z) = 1/(1+e)` for ``z >= 0`` and :math:`e/(1+e)` otherwise.

    Examples
    --------
    >>> sigmoid(np.array([-1e4, 0.0, 1e4]))
    array([0. , 0.5, 1. ])
    """
    z = as_float_array("z", z, finite=False)
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


def sigmoid_unchecked(z):
    r""":func:`sigmoid` without input checks, for the cells' inner loops.

    float64 uses the same ``exp(-|z|)`` form as :func:`sigmoid`, accurate to
    the last bit even where :math:`\sigma(z)` is tiny. float32, the dtype
    one trains in for speed, uses the identity
    :math:`\sigma(z) = (1 + \tanh(z/2)) / 2`: no overflow either (tanh
    saturates at :math:`\pm 1`), about ten times faster, within one unit in
    the last place of the result, but with only absolute precision for
    results below about 1e-7.
    """
    if z.dtype != np.float32:
        e = np.exp(-np.abs(z))
        r = 1.0 / (1.0 + e)
        return np.where(z >= 0, r, e * r)
    out = np.asarray(np.multiply(z, np.float32(0.5)))
    np.tanh(out, out=out)
    out += np.float32(1.0)
    out *= np.float32(0.5)
    return out


def sigmoid_grad(z):
    r"""Derivative of the sigmoid, :math:`\sigma'(z) = \sigma(z)(1 - \sigma(z))`, at most 1/4."""
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z):
    r"""Hyperbolic tangent, range (-1, 1). NumPy's ``tanh`` is already stable."""
    z = as_float_array("z", z, finite=False)
    return np.tanh(z)


def tanh_grad(z):
    r"""Derivative of tanh, :math:`1 - \tanh^2(z)`, at most 1 (at ``z = 0``)."""
    t = tanh(z)
    return 1.0 - t * t


def relu(z):
    r"""Rectified linear unit :math:`\max(0, z)`, unbounded above."""
    z = as_float_array("z", z, finite=False)
    return np.maximum(z, 0).astype(z.dtype, copy=False)


def relu_grad(z):
    r"""Derivative of ReLU: 1 where ``z > 0``, else 0 (the subgradient 0 is used at 0)."""
    z = as_float_array("z", z, finite=False)
    return (z > 0).astype(z.dtype)


def log_softmax(z, axis: int = -1):
    r"""Log of the softmax along ``axis``, computed without overflow.

    Notes
    -----
    :math:`\log \mathrm{softmax}(z)_k = (z_k - m) - \log \sum_j e^{z_j - m}`
    with :math:`m = \max_j z_j`; after the shift every exponent is <= 0, so
    nothing overflows, and the largest term is exactly 1, so the sum is >= 1
    and its log is finite.
    """
    z = as_float_array("z", z, finite=False)
    if z.ndim == 0:
        raise ValueError("z must have at least one dimension, got a 0-D array")
    shifted = z - np.max(z, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(z, axis: int = -1):
    r"""Softmax along ``axis``: non-negative values that sum to 1.

    Examples
    --------
    >>> softmax(np.array([1e4, 0.0]))
    array([1., 0.])
    """
    z = as_float_array("z", z, finite=False)
    if z.ndim == 0:
        raise ValueError("z must have at least one dimension, got a 0-D array")
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)
