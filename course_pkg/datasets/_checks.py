"""Argument checks shared by the data set generators."""

from __future__ import annotations

import numpy as np

from .._validate import FLOAT_DTYPES, check_int

__all__ = ["check_float_dtype", "check_int", "pick"]


def check_float_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        dt = None
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}")
    return dt


def pick(rng: np.random.Generator, options: tuple):
    """One element of ``options``, uniformly at random."""
    return options[rng.integers(len(options))]
