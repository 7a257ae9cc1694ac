"""Long-range memory benchmarks: the adding problem, the copy task, parity."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import check_rng
from ._checks import check_float_dtype, check_int


def adding_problem(n: int, T: int, rng: np.random.Generator, dtype=np.float64):
    r"""The adding problem (Hochreiter & Schmidhuber, 1997).

    Each sequence has two channels: channel 0 holds T numbers drawn
    uniformly from [0, 1), channel 1 is a marker that is 1 at exactly two
    steps, one chosen uniformly in the first half ``[0, T // 2)`` and one in
    the second half ``[T // 2, T)`` (the version of Le et al., 2015 and
    Arjovsky et al., 2016), and 0 elsewhere. The target is the sum of the
    two marked numbers. The network must carry the first marked value
    across up to T - 1 steps.

    Parameters
    ----------
    n : int
        Number of sequences, >= 1.
    T : int
        Sequence length, >= 2.
    rng : numpy.random.Generator
    dtype : float32 or float64

    Returns
    -------
    x : ndarray (n, T, 2)
        ``x[..., 0]`` the values, ``x[..., 1]`` the 0/1 markers.
    y : ndarray (n,)
        ``y[i]`` is the sum of the two marked values of sequence ``i``.

    Raises
    ------
    TypeError
        ``rng`` not a Generator, ``dtype`` not float32/float64, ``n`` or ``T``
        not integers.
    ValueError
        ``n < 1`` or ``T < 2``.

    Notes
    -----
    The baseline to beat is predicting the constant 1.0, the mean of
    ``y``: its mean squared error is
    :math:`\operatorname{Var}(u_1 + u_2) = 2 \cdot \tfrac{1}{12} = 1/6 \approx 0.167`.
    A model has learned the task only once its MSE is well below that.
    """
    n = check_int("n", n, 1)
    T = check_int("T", T, 2)
    check_rng(rng)
    dtype = check_float_dtype(dtype)
    values = rng.random((n, T)).astype(dtype)  # (n, T)
    first = rng.integers(0, T // 2, size=n)  # (n,) marker in the first half
    second = rng.integers(T // 2, T, size=n)  # (n,) marker in the second half
    rows = np.arange(n)
    markers = np.zeros((n, T), dtype=dtype)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1)  # (n, T, 2)
    y = values[rows, first] + values[rows, second]  # (n,)
    return x, y


class CopyData(NamedTuple):
    """The copy task: see :func:`copy_task`."""

    inputs: np.ndarray  # (n, T) int64 ids: symbols, blanks, go marker, blanks
    targets: np.ndarray  # (n, T) int64 ids: blanks, then the symbols to recall
    mask: np.ndarray  # (n, T) float64, 1 on the `length` recall steps


def copy_task(n: int, n_symbols: int, length: int, delay: int, rng: np.random.Generator):
    r"""The copy (memorisation) task of Hochreiter & Schmidhuber and Arjovsky et al.

    The network reads ``length`` symbols, waits ``delay`` blank steps, sees
    a "go" marker, and must then output the symbols in order. With
    T = 2 * length + delay + 1, the steps of one sequence are::

        step     0 .. length-1 | length .. length+delay-1 | length+delay | last `length` steps
        input    s_1 .. s_L    | 0 .. 0 (blank)           | go           | 0 .. 0
        target   0 .. 0        | 0 .. 0                   | 0            | s_1 .. s_L

    Symbols are ids 1..n_symbols, the blank is 0 and "go" is n_symbols + 1,
    so inputs take ``n_symbols + 2`` distinct ids and targets
    ``n_symbols + 1``.

    Parameters
    ----------
    n : int
        Number of sequences, >= 1.
    n_symbols : int
        Alphabet size, >= 1.
    length : int
        Number of symbols to remember, >= 1.
    delay : int
        Blank steps between the last symbol and "go", >= 0.
    rng : numpy.random.Generator

    Returns
    -------
    CopyData
        ``inputs`` (n, T) int64, ``targets`` (n, T) int64 and ``mask``
        (n, T) float64, 1 on the ``length`` recall steps where the targets
        count and 0 elsewhere. ``targets[:, -length:] == inputs[:, :length]``.

    Raises
    ------
    TypeError
        ``rng`` not a Generator, sizes not integers.
    ValueError
        Sizes below their minimum.

    Notes
    -----
    The symbols are uniform and independent, so a model that ignores its
    memory can do no better than guessing: a cross-entropy of
    :math:`\log(\text{n\_symbols})` nats per recall step (the masked mean).
    Arjovsky et al. instead average the loss over all T steps, blanks
    included; their baseline is then
    :math:`\text{length} \cdot \log(\text{n\_symbols}) / T`.
    """
    n = check_int("n", n, 1)
    n_symbols = check_int("n_symbols", n_symbols, 1)
    length = check_int("length", length, 1)
    delay = check_int("delay", delay, 0)
    check_rng(rng)
    T = 2 * length + delay + 1
    go = length + delay  # step of the go marker
    symbols = rng.integers(1, n_symbols + 1, size=(n, length))  # (n, length)
    inputs = np.zeros((n, T), dtype=np.int64)
    inputs[:, :length] = symbols
    inputs[:, go] = n_symbols + 1
    targets = np.zeros((n, T), dtype=np.int64)
    targets[:, go + 1 :] = symbols
    mask = np.zeros((n, T), dtype=np.float64)
    mask[:, go + 1 :] = 1.0
    return CopyData(inputs, targets, mask)


def parity_task(n: int, T: int, rng: np.random.Generator, dtype=np.float64):
    """Parity of a bit string, read one bit per step (many-to-one).

    The target is 1 if the sequence holds an odd number of ones, else 0. It
    depends on every bit: flipping any single bit flips the answer, so the
    network must carry one bit of state through the whole sequence, and no
    partial view of it does better than chance (accuracy 0.5).

    Parameters
    ----------
    n : int
        Number of sequences, >= 1.
    T : int
        Bits per sequence, >= 1.
    rng : numpy.random.Generator
    dtype : float32 or float64

    Returns
    -------
    x : ndarray (n, T, 1)
        The bits, 0.0 or 1.0.
    y : ndarray (n,)
        The parity, 0.0 or 1.0.

    Raises
    ------
    TypeError
        ``rng`` not a Generator, ``dtype`` not float32/float64.
    ValueError
        ``n < 1`` or ``T < 1``.
    """
    n = check_int("n", n, 1)
    T = check_int("T", T, 1)
    check_rng(rng)
    dtype = check_float_dtype(dtype)
    bits = rng.integers(0, 2, size=(n, T))  # (n, T)
    x = bits[:, :, None].astype(dtype)
    y = (bits.sum(axis=1) % 2).astype(dtype)
    return x, y
