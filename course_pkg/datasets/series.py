"""A noisy periodic time series and the windows that turn it into examples."""

from __future__ import annotations

import numpy as np

from .._validate import NON_NEGATIVE, as_float_array, check_real, check_rng
from ._checks import check_float_dtype, check_int


def noisy_periodic_series(
    n_steps: int,
    rng: np.random.Generator,
    periods=(24.0, 7.0),
    noise: float = 0.1,
    dtype=np.float64,
) -> np.ndarray:
    r"""A sum of sines plus Gaussian noise, for forecasting.

    .. math:: s_t = \sum_k \sin(2 \pi t / p_k) + \sigma \varepsilon_t,
              \quad \varepsilon_t \sim \mathcal{N}(0, 1), \quad t = 0, \dots, n\_steps - 1

    With the default periods (24, 7) it looks like hourly data with a daily
    and a shorter cycle. The noise is the floor of any forecaster: its
    one-step MSE cannot go below :math:`\sigma^2`.

    Parameters
    ----------
    n_steps : int
        Length of the series, >= 1.
    rng : numpy.random.Generator
    periods : sequence of float
        The periods :math:`p_k` in steps, each > 0 (at least one).
    noise : float
        Standard deviation :math:`\sigma` of the noise, >= 0.
    dtype : float32 or float64

    Returns
    -------
    series : ndarray (n_steps,)

    Raises
    ------
    TypeError
        ``rng`` not a Generator, ``dtype`` not float32/float64, ``noise`` not a
        real number.
    ValueError
        ``n_steps < 1``, a period <= 0, no periods, ``noise < 0``.
    """
    n_steps = check_int("n_steps", n_steps, 1)
    check_rng(rng)
    dtype = check_float_dtype(dtype)
    periods = as_float_array("periods", periods, ndim=1)
    if periods.size == 0 or np.any(periods <= 0):
        raise ValueError(f"periods must be one or more numbers > 0, got {periods.tolist()}")
    noise = check_real("noise", noise, NON_NEGATIVE)
    t = np.arange(n_steps, dtype=np.float64)
    clean = np.sin(2.0 * np.pi * t[:, None] / periods).sum(axis=1)  # (n_steps,)
    return (clean + noise * rng.standard_normal(n_steps)).astype(dtype)


def make_windows(series, window: int, horizon: int = 1):
    """Cut a series into (past window, next values) pairs for forecasting.

    Example ``i`` is ``x[i] = series[i : i + window]`` and
    ``y[i] = series[i + window : i + window + horizon]``.

    Parameters
    ----------
    series : ndarray (L,)
        A float series.
    window : int
        Steps the model reads, >= 1.
    horizon : int
        Steps it predicts, >= 1.

    Returns
    -------
    x : ndarray (M, window, 1)
        The windows, one feature per step, M = L - window - horizon + 1.
    y : ndarray (M, horizon)
        The values that follow each window. Both are copies, in the dtype
        of ``series``.

    Raises
    ------
    TypeError
        ``series`` not a float array.
    ValueError
        ``series`` not 1-D or too short (L < window + horizon).
    """
    series = as_float_array("series", series, ndim=1)
    window = check_int("window", window, 1)
    horizon = check_int("horizon", horizon, 1)
    L = series.shape[0]
    if L < window + horizon:
        raise ValueError(
            f"series of length {L} is too short for window={window} and horizon={horizon}: "
            f"need at least {window + horizon} values"
        )
    # (M, window + horizon), M = L - window - horizon + 1; a read-only view of `series`
    views = np.lib.stride_tricks.sliding_window_view(series, window + horizon)
    x = views[:, :window, None].copy()  # (M, window, 1)
    y = views[:, window:].copy()  # (M, horizon)
    return x, y
