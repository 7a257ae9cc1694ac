r"""Numerical gradients by central differences, and the error measure to compare them.

Taught in "Training and backpropagation through time" (``book/05_bptt``).
Use float64: in float32 the rounding error of a difference quotient is
about 1e-3, too large to tell a right gradient from a slightly wrong one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._validate import as_float_array, check_shape


def numerical_gradient(f: Callable, x, df=None, h: float = 1e-6):
    r"""Gradient of ``sum(f(x) * df)`` with respect to ``x`` by central differences.

    Parameters
    ----------
    f : callable
        Takes an array shaped like ``x`` and returns an array (or a scalar).
        It must not keep a reference to its argument: ``x`` is perturbed
        one entry at a time in a private copy.
    x : ndarray, any shape, float64 recommended
        The point at which to differentiate. It is not modified.
    df : ndarray shaped like ``f(x)``, optional
        Upstream gradient. Omit it when ``f`` returns a scalar loss.
    h : float
        Step size.

    Returns
    -------
    ndarray shaped like ``x``: entry ``i`` is
    :math:`\sum (f(x + h e_i) - f(x - h e_i)) \odot df / 2h`.

    Examples
    --------
    >>> numerical_gradient(lambda v: (v ** 2).sum(), np.array([1.0, -2.0]))
    array([ 2., -4.])
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    x = as_float_array("x", x)
    if not h > 0:
        raise ValueError(f"h must be a positive step size, got {h}")
    point = np.array(x, copy=True)
    flat = point.reshape(-1)  # a view: writing to it perturbs ``point``
    grad = np.zeros(point.size, dtype=np.float64)
    upstream = None if df is None else np.asarray(df, dtype=np.float64)
    for i in range(point.size):
        original = flat[i]
        flat[i] = original + h
        plus = np.asarray(f(point), dtype=np.float64)
        flat[i] = original - h
        minus = np.asarray(f(point), dtype=np.float64)
        flat[i] = original
        if upstream is None:
            if plus.size != 1:
                raise ValueError(f"f returned shape {plus.shape}; pass df to weight its outputs")
            grad[i] = (plus.item() - minus.item()) / (2 * h)
        else:
            check_shape("df", upstream, plus.shape)
            grad[i] = np.sum((plus - minus) * upstream) / (2 * h)
    return grad.reshape(x.shape).astype(x.dtype, copy=False)


def rel_error(a, b) -> float:
    r"""Relative error :math:`\|a - b\| / (\|a\| + \|b\|)` between two arrays.

    A norm-wise measure: an element-wise ratio blows up wherever both
    gradients are nearly zero, which says nothing about the code. A correct
    float64 backward pass checked with ``h=1e-6`` gives about 1e-9 or less;
    values above 1e-5 mean a bug. Two zero arrays have error 0.
    """
    a = as_float_array("a", a)
    b = as_float_array("b", b)
    check_shape("b", b, a.shape)
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    if scale == 0:
        return 0.0
    return float(np.linalg.norm(a - b) / scale)
