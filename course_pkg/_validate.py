"""Input checks shared by every public function of ``course_pkg``.

Each helper raises ``TypeError`` (wrong kind of object or dtype) or
``ValueError`` (wrong shape, non-finite values) with a message that names
the argument, what was received and what was expected.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)


def as_float_array(name: str, value, *, ndim: int | None = None, finite: bool = True):
    """Return ``value`` as a float32/float64 ndarray (no copy), or raise.

    Integer, boolean, complex and object arrays are rejected: silently
    casting them would hide a caller's mistake (token ids passed where
    embeddings were expected, say).
    """
    if not isinstance(value, np.ndarray):
        if isinstance(value, (list, tuple, float, int, np.floating)) and not isinstance(
            value, bool
        ):
            value = np.asarray(value, dtype=np.float64)
        else:
            raise TypeError(f"{name} must be a numpy array, got {type(value).__name__}")
    if value.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64, got {value.dtype}")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(
            f"{name} must be {ndim}-dimensional, got shape {value.shape} ({value.ndim}-D)"
        )
    if finite and not np.all(np.isfinite(value)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return value


def as_index_array(name: str, value, *, ndim: int | None = None, upper: int | None = None):
    """Return ``value`` as an integer ndarray of indices in ``[0, upper)``, or raise."""
    value = np.asarray(value) if isinstance(value, (list, tuple)) else value
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of integers, got {type(value).__name__}")
    if value.dtype == np.bool_ or not np.issubdtype(value.dtype, np.integer):
        raise TypeError(f"{name} must have an integer dtype, got {value.dtype}")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(
            f"{name} must be {ndim}-dimensional, got shape {value.shape} ({value.ndim}-D)"
        )
    if value.size and (value.min() < 0 or (upper is not None and value.max() >= upper)):
        raise ValueError(
            f"{name} must hold indices in [0, {upper}), got values in "
            f"[{value.min()}, {value.max()}]"
        )
    return value


def check_shape(name: str, array: np.ndarray, expected: tuple) -> None:
    """Raise ``ValueError`` unless ``array.shape == expected``."""
    if array.shape != tuple(expected):
        raise ValueError(f"{name} must have shape {tuple(expected)}, got {array.shape}")


def common_dtype(**arrays: np.ndarray) -> np.dtype:
    """The float dtype shared by all ``arrays``; mixing float32 and float64 is an error."""
    dtypes = {name: a.dtype for name, a in arrays.items()}
    if len(set(dtypes.values())) > 1:
        listing = ", ".join(f"{n}={d}" for n, d in dtypes.items())
        raise TypeError(f"all arrays must share one float dtype, got {listing}")
    return next(iter(dtypes.values()))


def check_cache(name: str, cache, cache_type: type) -> None:
    """Raise ``TypeError`` unless ``cache`` is the NamedTuple its forward function returned."""
    if not isinstance(cache, cache_type):
        raise TypeError(
            f"{name} must be the {cache_type.__name__} returned by the forward function, "
            f"got {type(cache).__name__}"
        )


def check_grad(name: str, grad, expected_shape: tuple, dtype: np.dtype) -> np.ndarray:
    """Check an upstream gradient: float, finite, the forward output's shape."""
    grad = as_float_array(name, grad)
    check_shape(name, grad, expected_shape)
    if grad.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype} like the forward pass, got {grad.dtype}")
    return grad


def as_mask(mask, shape: tuple, dtype: np.dtype) -> np.ndarray:
    """Validate a 0/1 mask of ``shape`` (bool or float) and return it as ``dtype``."""
    if not isinstance(mask, np.ndarray):
        raise TypeError(f"mask must be a numpy array, got {type(mask).__name__}")
    if mask.dtype != np.bool_ and mask.dtype not in (np.float32, np.float64):
        raise TypeError(f"mask must have dtype bool, float32 or float64, got {mask.dtype}")
    check_shape("mask", mask, shape)
    if mask.dtype != np.bool_ and not np.all((mask == 0) | (mask == 1)):
        raise ValueError("mask must hold only 0 (padding) and 1 (a real position)")
    return mask.astype(dtype)


def check_lengths(lengths, N: int, T: int) -> np.ndarray:
    """Validate per-sequence lengths: integers in ``[1, T]``, one per example."""
    lengths = as_index_array("lengths", lengths, ndim=1)
    check_shape("lengths", lengths, (N,))
    if lengths.size and (lengths.min() < 1 or lengths.max() > T):
        raise ValueError(
            f"lengths must lie in [1, T={T}], got values in [{lengths.min()}, {lengths.max()}]"
        )
    return lengths


def check_rng(rng, name: str = "rng") -> np.random.Generator:
    """Accept only a ``numpy.random.Generator``: every random draw is seeded and explicit."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{name} must be a numpy.random.Generator (np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )
    return rng


class Interval(NamedTuple):
    """A range of numbers, declared once and named in every message about it.

    >>> str(Interval(0, low_open=True)), str(Interval(0, 1, high_open=True))
    ('> 0', 'in [0, 1)')
    >>> 1.0 in Interval(0, 1, high_open=True)
    False
    """

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False  # the interval leaves out ``low``
    high_open: bool = False  # ... and ``high``

    def __contains__(self, value) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def __str__(self) -> str:
        if self.high == math.inf:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        if self.low == -math.inf:
            return f"{'<' if self.high_open else '<='} {self.high:g}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"in {left}{self.low:g}, {self.high:g}{right}"


REAL = Interval()  # any finite number
POSITIVE = Interval(0.0, low_open=True)  # > 0
NON_NEGATIVE = Interval(0.0)  # >= 0
FRACTION = Interval(0.0, 1.0, high_open=True)  # [0, 1): a probability that is not certain


def check_int(name: str, value, minimum: int, maximum: int | None = None) -> int:
    """Return ``value`` as an int in ``[minimum, maximum]``, or raise.

    Booleans are refused: ``True`` is an ``int`` to Python, but never a count.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    allowed = Interval(minimum, math.inf if maximum is None else maximum)
    if value not in allowed:
        raise ValueError(f"{name} must be {allowed}, got {value}")
    return int(value)


def check_real(name: str, value, allowed: Interval = REAL) -> float:
    """Return ``value`` as a finite Python float in ``allowed``, or raise.

    A 0-d array counts as its number; booleans, strings and arrays do not.

    >>> check_real("lr", 0.1, POSITIVE)
    0.1
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not (math.isfinite(value) and value in allowed):
        raise ValueError(f"{name} must be a finite number {allowed}, got {value}")
    return value


def check_array_dict(name: str, arrays, *, finite: bool = True) -> dict:
    """Validate a non-empty dict of float arrays (parameters, gradients); return a new dict."""
    if not isinstance(arrays, Mapping):
        raise TypeError(f"{name} must be a dict of arrays, got {type(arrays).__name__}")
    if not arrays:
        raise ValueError(f"{name} must hold at least one array, got an empty dict")
    return {k: as_float_array(f"{name}[{k!r}]", a, finite=finite) for k, a in arrays.items()}
