"""What the three cells' modules share: their initialisation and stacking steps over time."""

from __future__ import annotations

import numpy as np

from ._validate import check_int, check_rng


def over_time(arrays: list, like: np.ndarray) -> np.ndarray:
    """(N, H) arrays of steps 1..T stacked into (N, T, H); (N, 0, H) when there are none.

    ``like`` (N, H), an initial state, gives the shape and dtype of the empty case.

    >>> over_time([np.zeros((2, 3)), np.ones((2, 3))], np.zeros((2, 3))).shape
    (2, 2, 3)
    >>> over_time([], np.zeros((2, 3))).shape
    (2, 0, 3)
    """
    if not arrays:
        return np.empty((like.shape[0], 0, like.shape[1]), dtype=like.dtype)
    return np.stack(arrays, axis=1)


def uniform_init(param_shapes, D: int, H: int, rng, dtype=np.float64) -> dict:
    r"""Parameters drawn uniformly from :math:`[-1/\sqrt{H}, 1/\sqrt{H}]`, as PyTorch does.

    Parameters
    ----------
    param_shapes : callable
        ``param_shapes(D, H)`` -> dict of parameter name -> shape, in the
        order they are drawn (a cell module's ``param_shapes``).
    D, H : int
        Input and hidden size, >= 1; H sets the range.
    rng : numpy.random.Generator
    dtype : float32 or float64

    Returns
    -------
    dict of ndarray, one per name of ``shapes``.

    >>> p = uniform_init(lambda D, H: {"W": (D, H)}, 2, 4, np.random.default_rng(0))
    >>> bool(np.all(np.abs(p["W"]) <= 0.5))
    True
    """
    check_rng(rng)
    D, H = check_int("D", D, 1), check_int("H", H, 1)
    k = 1.0 / np.sqrt(H)
    shapes = param_shapes(D, H)
    return {name: rng.uniform(-k, k, size=shape).astype(dtype) for name, shape in shapes.items()}
