r"""Small measurements on sequences: padding cost, next-character counts, recurrences.

Taught in "Sequential data and why recurrence" (``book/01_sequential_data``),
"Unfolding an RNN" (``book/02_unfolding``) and "Activation functions"
(``book/03_activations``). Nothing here is trained; these are the numbers
the first chapters compute to motivate recurrent networks:

- :func:`padding_fraction`, :func:`batch_padding_fraction`,
  :func:`fraction_truncated`: what a fixed input size costs on a real
  distribution of sequence lengths.
- :func:`next_char_counts`: count-based estimates of
  :math:`p(\text{next character} \mid \text{context})` from a text.
- :func:`feedforward_param_count`: the size of a network that reads a whole
  sequence as one flat vector, to set against a recurrent one.
- :func:`run_recurrence`, :func:`spectral_radius`,
  :func:`scale_to_spectral_radius`: the recurrence
  :math:`h_t = f(x_t U + h_{t-1} W + b)` with any of the activation
  functions, to watch states saturate, vanish or explode.

Shapes: N batch, T time, D input features, H hidden units; row vectors on
the left, as in :mod:`course_pkg.rnn`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import (
    POSITIVE,
    as_float_array,
    as_index_array,
    check_int,
    check_real,
    check_shape,
    common_dtype,
)
from ..activations import relu, sigmoid, tanh

# ----------------------------------------------------------------------------- checks


def _check_lengths(lengths) -> np.ndarray:
    """Sequence lengths: a non-empty 1-D integer array, every entry >= 1."""
    lengths = as_index_array("lengths", lengths, ndim=1)
    if lengths.size == 0:
        raise ValueError("lengths must hold at least one sequence length, got an empty array")
    if lengths.min() < 1:
        raise ValueError(f"every length must be >= 1, got a length of {lengths.min()}")
    return lengths.astype(np.int64)


# ----------------------------------------------------------------------- padding cost


def padding_fraction(lengths, pad_to: int | None = None) -> float:
    r"""Fraction of the positions of a padded batch that hold padding.

    Every sequence is padded with zeros to the same length ``pad_to`` (by
    default the longest one), as a network with a fixed input size needs.

    Parameters
    ----------
    lengths : ndarray (n,) of int
        Length of each sequence, >= 1.
    pad_to : int, optional
        Common length after padding, at least ``lengths.max()``. Default:
        ``lengths.max()``.

    Returns
    -------
    float in [0, 1)
        :math:`\sum_i (T - L_i) / (n T)` with :math:`T` = ``pad_to``: the share
        of the padded array (and of the work of a network that reads all of
        it) spent on zeros.

    Raises
    ------
    TypeError
        ``lengths`` not an integer array, ``pad_to`` not an integer.
    ValueError
        ``lengths`` not 1-D, empty or with a length < 1; ``pad_to`` shorter
        than the longest sequence (that would truncate, see
        :func:`fraction_truncated`).

    Examples
    --------
    >>> padding_fraction(np.array([1, 3]))  # (2 + 0) / (2 * 3)
    0.3333333333333333
    """
    lengths = _check_lengths(lengths)
    longest = int(lengths.max())
    T = longest if pad_to is None else check_int("pad_to", pad_to, 1)
    if T < longest:
        raise ValueError(
            f"pad_to={T} is shorter than the longest sequence ({longest}); padding cannot "
            f"shorten a sequence (see fraction_truncated)"
        )
    return float((T - lengths).sum() / (lengths.size * T))


def batch_padding_fraction(lengths, batch_size: int, sort: bool = False) -> float:
    """Fraction of padding when each minibatch is padded only to its own longest sequence.

    Parameters
    ----------
    lengths : ndarray (n,) of int
        Length of each sequence, >= 1, in the order the batches are cut.
    batch_size : int
        Sequences per batch, >= 1; the last batch holds the remainder.
    sort : bool
        If True, sort the sequences by length first ("bucketing"), so that
        each batch holds sequences of similar length.

    Returns
    -------
    float in [0, 1)
        Padded positions over all positions, summed over the batches.

    Raises
    ------
    TypeError, ValueError
        As :func:`padding_fraction`; ``batch_size`` not an integer >= 1.

    Examples
    --------
    >>> batch_padding_fraction(np.array([1, 4, 1, 4]), 2)  # every batch pads a 1 to 4
    0.375
    >>> batch_padding_fraction(np.array([1, 4, 1, 4]), 2, sort=True)
    0.0
    """
    lengths = _check_lengths(lengths)
    batch_size = check_int("batch_size", batch_size, 1)
    if sort:
        lengths = np.sort(lengths, kind="stable")
    padded = 0
    for start in range(0, lengths.size, batch_size):
        chunk = lengths[start : start + batch_size]
        padded += int(chunk.max()) * chunk.size
    return float(1.0 - lengths.sum() / padded)


def fraction_truncated(lengths, max_len: int) -> float:
    """Fraction of the sequences longer than ``max_len``, which a fixed-size input must cut.

    Parameters
    ----------
    lengths : ndarray (n,) of int
        Length of each sequence, >= 1.
    max_len : int
        The input size of the network, in steps, >= 1.

    Returns
    -------
    float in [0, 1]

    Raises
    ------
    TypeError, ValueError
        As :func:`padding_fraction`; ``max_len`` not an integer >= 1.

    Examples
    --------
    >>> fraction_truncated(np.array([2, 5, 9, 3]), 4)
    0.5
    """
    lengths = _check_lengths(lengths)
    max_len = check_int("max_len", max_len, 1)
    return float(np.mean(lengths > max_len))


# ------------------------------------------------------------------ next-character counts


class NextCharCounts(NamedTuple):
    """What follows a context in a text: see :func:`next_char_counts`."""

    context: str  # the context that was looked up
    occurrences: int  # how often the context occurs followed by a character
    probs: dict  # character -> relative frequency, most frequent first


def next_char_counts(text: str, context: str) -> NextCharCounts:
    r"""Count-based estimate of :math:`p(\text{next character} \mid \text{context})`.

    Every occurrence of ``context`` in ``text`` (overlapping ones included)
    that is followed by a character counts once for that character; the
    probabilities are the relative frequencies. With a context of ``k``
    characters this is the maximum-likelihood estimate of an order-``k``
    Markov (``k+1``-gram) model; ``context=""`` gives the frequency of each
    character in the text.

    Parameters
    ----------
    text : str
        The corpus.
    context : str
        The characters just before the one to predict. Take the last ``k``
        characters of a longer prefix to get an order-``k`` model.

    Returns
    -------
    NextCharCounts
        ``occurrences`` the number of times the context is followed by a
        character (0 for an unseen context, with empty ``probs``);
        ``probs`` a dict from character to probability, sorted by
        decreasing probability (ties alphabetically), summing to 1.

    Raises
    ------
    TypeError
        ``text`` or ``context`` not a string.
    ValueError
        ``text`` empty.

    Examples
    --------
    >>> next_char_counts("abab", "a").probs
    {'b': 1.0}
    >>> next_char_counts("abab", "b").occurrences  # the final b has no successor
    1
    """
    for name, value in (("text", text), ("context", context)):
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not text:
        raise ValueError("text must be non-empty")
    k = len(context)
    counts: dict[str, int] = {}
    start = text.find(context)
    while start != -1 and start + k < len(text):
        nxt = text[start + k]
        counts[nxt] = counts.get(nxt, 0) + 1
        start = text.find(context, start + 1)
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return NextCharCounts(context, total, {c: n / total for c, n in ranked})


# -------------------------------------------------------------------- parameter counts


def feedforward_param_count(T: int, D: int, H: int, K: int) -> int:
    r"""Parameters of a one-hidden-layer network that reads a whole sequence as one vector.

    The sequence (T, D) is flattened into a vector of T * D inputs, mapped to
    H hidden units and then to K outputs:

    .. math:: h = f(\mathrm{vec}(x) A + a), \quad y = h B + d,

    with :math:`A` (T D, H), :math:`a` (H,), :math:`B` (H, K), :math:`d` (K,).

    Parameters
    ----------
    T, D, H, K : int
        Time steps, input features per step, hidden units, outputs; each >= 1.

    Returns
    -------
    int
        :math:`T D H + H + H K + K`, which grows linearly with T: every
        position has its own weights. A vanilla RNN with the same D, H, K has
        :math:`D H + H H + H + H K + K` whatever T is.

    Examples
    --------
    >>> feedforward_param_count(10, 3, 4, 1)  # 120 + 4 + 4 + 1
    129
    """
    T, D, H, K = (check_int(n, v, 1) for n, v in (("T", T), ("D", D), ("H", H), ("K", K)))
    return T * D * H + H + H * K + K


# --------------------------------------------------------------------------- recurrences

ACTIVATIONS = {
    "tanh": tanh,
    "sigmoid": sigmoid,
    "relu": relu,
    "identity": lambda a: a,
}


def run_recurrence(x, h0, U, W, b, activation: str = "tanh"):
    r"""Run :math:`h_t = f(x_t U + h_{t-1} W + b)` for any activation ``f``.

    The vanilla RNN layer of :func:`course_pkg.rnn.rnn_forward` with the
    activation as a choice, and the pre-activations returned too: they are
    what the derivative :math:`f'(a_t)` of backpropagation is evaluated at.

    Parameters
    ----------
    x : ndarray (N, T, D)
        Inputs.
    h0 : ndarray (N, H)
        Initial state.
    U : ndarray (D, H)
    W : ndarray (H, H)
    b : ndarray (H,)
    activation : {"tanh", "sigmoid", "relu", "identity"}

    Returns
    -------
    h : ndarray (N, T, H)
        The states :math:`h_1, \dots, h_T`.
    a : ndarray (N, T, H)
        The pre-activations :math:`a_t = x_t U + h_{t-1} W + b`, so that
        ``h == f(a)``.

    Raises
    ------
    TypeError
        Non-float arrays, float32 mixed with float64.
    ValueError
        Shapes that do not fit, NaN/inf in the inputs, an unknown
        activation. States that overflow to inf are *returned*, not
        refused: watching them blow up is the point of some experiments.

    Notes
    -----
    With ``activation="tanh"`` the states equal those of
    :func:`course_pkg.rnn.rnn_forward`.
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    x = as_float_array("x", x, ndim=3)
    h0 = as_float_array("h0", h0, ndim=2)
    U = as_float_array("U", U, ndim=2)
    W = as_float_array("W", W, ndim=2)
    b = as_float_array("b", b, ndim=1)
    N, T, D = x.shape
    H = h0.shape[1]
    check_shape("h0", h0, (N, H))
    check_shape("U", U, (D, H))
    check_shape("W", W, (H, H))
    check_shape("b", b, (H,))
    common_dtype(x=x, h0=h0, U=U, W=W, b=b)
    f = ACTIVATIONS[activation]
    xu = x @ U + b  # (N, T, H): the input part does not depend on the state
    a = np.empty_like(xu)
    h = np.empty_like(xu)
    h_prev = h0
    with np.errstate(over="ignore", invalid="ignore"):  # exploding states are allowed
        for t in range(T):
            a[:, t] = xu[:, t] + h_prev @ W
            h_prev = f(a[:, t])
            h[:, t] = h_prev
    return h, a


def spectral_radius(W) -> float:
    r"""Largest absolute eigenvalue :math:`\rho(W) = \max_i |\lambda_i(W)|` of a square matrix.

    Parameters
    ----------
    W : ndarray (H, H)

    Returns
    -------
    float

    Raises
    ------
    TypeError, ValueError
        ``W`` not a finite float 2-D square array.

    Notes
    -----
    For large T, :math:`\|h_0 W^T\|` grows like :math:`\rho(W)^T` (for almost
    every :math:`h_0`): the linear part of a recurrence shrinks states when
    :math:`\rho < 1` and blows them up when :math:`\rho > 1`.
    """
    W = as_float_array("W", W, ndim=2)
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be square, got shape {W.shape}")
    return float(np.max(np.abs(np.linalg.eigvals(W))))


def scale_to_spectral_radius(W, rho: float):
    """Return ``W`` rescaled so that its spectral radius is ``rho``.

    Parameters
    ----------
    W : ndarray (H, H)
        Non-zero spectral radius.
    rho : float
        Target spectral radius, > 0.

    Returns
    -------
    ndarray (H, H)
        A new array, ``W * rho / spectral_radius(W)``, same dtype.

    Raises
    ------
    TypeError
        ``rho`` not a real number; ``W`` not a float array.
    ValueError
        ``rho <= 0`` or not finite; ``W`` not square or nilpotent (spectral
        radius 0).
    """
    rho = check_real("rho", rho, POSITIVE)
    current = spectral_radius(W)
    if current == 0:
        raise ValueError("W has spectral radius 0 and cannot be rescaled to another radius")
    return (W * (rho / current)).astype(W.dtype, copy=False)
