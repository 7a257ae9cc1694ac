"""Padding, minibatches, and the batches of truncated BPTT.

Taught in "Training and losses" (``book/05_training``);
assignment ``a3_gradients`` builds :func:`char_lm_batches`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from .._validate import as_index_array, check_rng
from ._checks import check_int


def pad_sequences(seqs, pad: int = 0):
    """Stack sequences of different lengths into one padded array.

    Parameters
    ----------
    seqs : list of ndarray (L_i,)
        Non-empty 1-D integer arrays (token ids >= 0), at least one.
    pad : int
        Id written after the end of each sequence, >= 0.

    Returns
    -------
    ids : ndarray (n, T_max) int64
        ``ids[i, :L_i] == seqs[i]``, the rest ``pad``.
    lengths : ndarray (n,) int64
        ``L_i``.

    Raises
    ------
    TypeError
        ``seqs`` not a list/tuple, an element not an integer array.
    ValueError
        No sequences, an empty or non-1-D sequence, negative ids.
    """
    if not isinstance(seqs, (list, tuple)):
        raise TypeError(f"seqs must be a list of 1-D integer arrays, got {type(seqs).__name__}")
    if not seqs:
        raise ValueError("seqs must hold at least one sequence, got none")
    pad = check_int("pad", pad, 0)
    seqs = [as_index_array(f"seqs[{i}]", s, ndim=1) for i, s in enumerate(seqs)]
    lengths = np.array([s.shape[0] for s in seqs], dtype=np.int64)
    if lengths.min() == 0:
        raise ValueError(f"seqs[{int(np.argmin(lengths))}] is empty; every sequence needs >= 1 id")
    ids = np.full((len(seqs), int(lengths.max())), pad, dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, : s.shape[0]] = s
    return ids, lengths


def _check_batching(n, batch_size, rng) -> tuple[int, int]:
    """Validate the arguments of :func:`batches`; return ``n`` and ``batch_size`` as ints."""
    n = check_int("n", n, 1)
    batch_size = check_int("batch_size", batch_size, 1)
    if rng is not None:
        check_rng(rng)
    return n, batch_size


def batches(
    n: int, batch_size: int, rng: np.random.Generator | None = None
) -> Iterator[np.ndarray]:
    """Index arrays that split ``n`` examples into minibatches (one epoch).

    Parameters
    ----------
    n : int
        Number of examples, >= 1.
    batch_size : int
        Examples per batch, >= 1. The last batch keeps the remainder and may
        be smaller.
    rng : numpy.random.Generator or None
        Shuffle the examples with it; None keeps them in order.

    Yields
    ------
    idx : ndarray (N,) int64
        Indices into the data set; every index appears exactly once per epoch.

    Raises
    ------
    TypeError, ValueError
        At the call, not at the first ``next``: bad sizes, ``rng`` neither
        None nor a Generator.
    """
    n, batch_size = _check_batching(n, batch_size, rng)
    order = np.arange(n, dtype=np.int64) if rng is None else rng.permutation(n)
    return (order[start : start + batch_size] for start in range(0, n, batch_size))


def minibatches(arrays: Sequence, batch_size: int, rng: np.random.Generator | None = None):
    """The ``batches`` argument of :func:`course_pkg.train.fit` for aligned arrays.

    Parameters
    ----------
    arrays : sequence of arrays
        Data sets whose first axis indexes the same examples, e.g.
        ``(ids, labels, lengths)``.
    batch_size : int
        Examples per batch, >= 1 (the last batch may be smaller).
    rng : numpy.random.Generator or None
        Shuffle the examples anew at every epoch with it; None keeps them in order.

    Returns
    -------
    epoch_batches : callable
        ``epoch_batches(epoch)`` yields one tuple per batch, the same rows of
        every array: ``(ids[idx], labels[idx], lengths[idx])``. Each call
        draws the epoch's order from ``rng`` at once, as :func:`batches` does.

    Raises
    ------
    TypeError, ValueError
        No arrays, arrays of different lengths, bad sizes, or ``rng``
        neither None nor a Generator.

    Examples
    --------
    >>> x, y = np.arange(5) * 10, np.arange(5)
    >>> [b for b in minibatches((x, y), 2)(0)]
    [(array([ 0, 10]), array([0, 1])), (array([20, 30]), array([2, 3])), (array([40]), array([4]))]
    """
    arrays = tuple(arrays)
    if not arrays:
        raise ValueError("minibatches needs at least one array")
    n = len(arrays[0])
    lengths = [len(a) for a in arrays]
    if any(length != n for length in lengths):
        raise ValueError(f"the arrays must have the same length (first axis), got {lengths}")
    _check_batching(n, batch_size, rng)  # now, not at the first epoch, and without drawing

    def epoch_batches(epoch):
        return (tuple(a[idx] for a in arrays) for idx in batches(n, batch_size, rng))

    return epoch_batches


def char_lm_batches(ids, batch_size: int, seq_len: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Batches for truncated BPTT on one long token stream, state carried over.

    The stream is cut into ``batch_size`` contiguous pieces, one per batch
    row, each ``P = (L - 1) // batch_size`` tokens long (the few tokens left
    over at the end are dropped). Batch ``k`` holds steps
    ``k * seq_len .. (k + 1) * seq_len - 1`` of every piece, so row ``b`` of
    batch ``k + 1`` continues the text of row ``b`` of batch ``k``: pass the
    last hidden state of one batch as the initial state of the next, and the
    network reads each piece from start to end while gradients flow back
    ``seq_len`` steps only. A last chunk shorter than ``seq_len`` is dropped,
    so there are ``P // seq_len`` batches, all of one shape.

    Parameters
    ----------
    ids : ndarray (L,)
        Token ids of the whole text (e.g. ``CharVocab.encode(text)``).
    batch_size : int
        Parallel streams N, >= 1 (the batch size).
    seq_len : int
        Steps per batch (the truncation length), >= 1.

    Yields
    ------
    inputs : ndarray (N, seq_len) int64
    targets : ndarray (N, seq_len) int64
        The next token of each input: ``targets[b, t]`` follows
        ``inputs[b, t]`` in the text.

    Raises
    ------
    TypeError
        ``ids`` not an integer array.
    ValueError
        ``ids`` not 1-D, or shorter than ``batch_size * seq_len + 1``.
    """
    ids = as_index_array("ids", ids, ndim=1)
    batch_size = check_int("batch_size", batch_size, 1)
    seq_len = check_int("seq_len", seq_len, 1)
    L = ids.shape[0]
    if L < batch_size * seq_len + 1:
        raise ValueError(
            f"ids of length {L} is too short for batch_size={batch_size} and seq_len={seq_len}: "
            f"need at least {batch_size * seq_len + 1} tokens"
        )
    P = (L - 1) // batch_size
    inputs = ids[: batch_size * P].astype(np.int64).reshape(batch_size, P)  # (N, P)
    targets = ids[1 : batch_size * P + 1].astype(np.int64).reshape(batch_size, P)  # (N, P)
    return (
        (inputs[:, k : k + seq_len], targets[:, k : k + seq_len])
        for k in range(0, P - seq_len + 1, seq_len)
    )
