r"""How gradients flow back through time: the measurements behind BPTT's cost and its failures.

Taught in "Backpropagation through time" (``book/06_bptt``) and
"Vanishing and exploding gradients" (``book/07_gradient_problems``); assignment
``a3_gradients`` builds :func:`orthogonal` and :func:`gradient_norms_by_lag`.

Backpropagation through time sends the gradient of the loss from the last
state back to the first through one Jacobian per step. For the vanilla RNN
:math:`h_t = \tanh(x_t U + h_{t-1} W + b)` (row vectors on the left),

.. math::

    \frac{\partial L}{\partial h_{t-1}}
    = \Big(\frac{\partial L}{\partial h_t} \odot (1 - h_t^2)\Big) W^\top,

so after :math:`k` steps the gradient has been multiplied by :math:`k`
factors :math:`\operatorname{diag}(1 - h^2)\, W^\top`. The functions here
measure what that product does, using only the package's own (or a
student's) forward and backward functions:

- :func:`gradient_norms_by_lag`: :math:`\|\partial L / \partial s_{T-k}\|`
  for every lag :math:`k`, for any cell (RNN, LSTM, GRU);
- :func:`bptt_terms`: the per-step terms whose sums are the vanilla RNN's
  ``dU``, ``dW`` and ``db``;
- :func:`orthogonal`: random orthogonal matrices, to initialise ``W`` with
  every singular value equal to one;
- :func:`cache_nbytes` and :func:`bptt_cost`: the memory and time of one
  forward and backward pass as the sequence grows.

A model's gradients are checked by :func:`course_pkg.gradcheck.check_model_gradients`.

Shapes: N batch, T time, D input features, H hidden units.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from ._validate import (
    POSITIVE,
    as_float_array,
    check_cache,
    check_grad,
    check_int,
    check_real,
    check_rng,
    check_shape,
)
from .cells import Cell, as_cell
from .rnn import RNNCache, rnn_step_backward

# --------------------------------------------------------------------------- checks


def _cell_params(cell: Cell, params, D: int) -> tuple[dict, int]:
    """Validate a cell's parameter dict for input size ``D``; return it and H."""
    params = cell.check_params(params)
    first = cell.param_names[0]  # U or Wx, (D, gates * H)
    check_shape(first, params[first], (D, params[first].shape[1]))
    return params, cell.hidden_size(params)


# --------------------------------------------------------------------------- gradient flow


def gradient_norms_by_lag(cell, params, x, dh_final=None, state0=None):
    r"""Norm of the gradient of a loss on the last state with respect to every earlier state.

    The loss reads only the final hidden state, :math:`L = \sum h_T \odot g`
    with :math:`g` = ``dh_final``, so entry :math:`k` of the result measures
    how much of the gradient survives :math:`k` steps of backpropagation:

    .. math:: n_k = \Big\| \frac{\partial L}{\partial s_{T-k}} \Big\|
              = \Big\| g\, \frac{\partial h_T}{\partial s_{T-k}} \Big\|,
              \qquad k = 0, 1, \dots, T,

    averaged over the N examples, where :math:`s_t` is the state after step
    :math:`t` (:math:`s_0` the initial state).

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"} or Cell
        A :class:`course_pkg.cells.Cell` built on your own functions works too.
    params : dict
        The cell's parameters, as made by ``Cell.init_params(D, H, rng)``
        (``U, W, b`` for the RNN).
    x : ndarray (N, T, D)
        Inputs, T >= 1.
    dh_final : ndarray (N, H), optional
        The gradient :math:`g = \partial L / \partial h_T`. Default: every
        entry :math:`1/\sqrt{H}`, a unit vector per example, so that
        :math:`n_0 = 1`. Pass ``dout @ V.T`` to measure a real loss.
    state0 : tuple of ndarray (N, H), optional
        Initial state, ``(h0,)`` or ``(h0, c0)`` for the LSTM. Default zeros.

    Returns
    -------
    norms : ndarray (T + 1,)
        ``norms[k]`` is the mean over examples of the L2 norm of the gradient
        at the state of step ``T - k``. For the LSTM the state is the pair
        :math:`(h, c)` and the norm is that of both gradients together,
        :math:`\sqrt{\|\partial L/\partial h\|^2 + \|\partial L/\partial c\|^2}`.

    Raises
    ------
    TypeError
        ``x`` or a parameter not a float array; ``params`` not a dict.
    ValueError
        Shapes that do not fit, a missing parameter, NaN/inf in ``x``.

    Notes
    -----
    The package's backward functions return the gradient at the *initial*
    state only. So the gradient at :math:`s_j` is obtained by running the
    cell forward from :math:`s_j` over the remaining steps
    :math:`x_{j+1}, \dots, x_T` and backward again: the returned initial-state
    gradient is :math:`\partial L / \partial s_j`. That costs
    :math:`T(T+1)/2` cell steps instead of :math:`T`, which is nothing for
    the sequence lengths of the book, and works for any cell unchanged.

    For the vanilla RNN with zero inputs, zero bias and zero initial state
    every state is 0, so :math:`\tanh' = 1` and the gradient is just
    :math:`g (W^\top)^k`; with :math:`W = \rho Q`, :math:`Q` orthogonal,
    :math:`n_k = \rho^k` exactly.

    Examples
    --------
    >>> W = orthogonal(4, np.random.default_rng(0), gain=0.5)
    >>> params = {"U": np.zeros((1, 4)), "W": W, "b": np.zeros(4)}
    >>> gradient_norms_by_lag("rnn", params, np.zeros((1, 3, 1))).round(6)
    array([1.   , 0.5  , 0.25 , 0.125])
    """
    cell = as_cell(cell)
    x = as_float_array("x", x, ndim=3)
    N, T, D = x.shape
    if T < 1:
        raise ValueError(f"x must hold at least one time step, got shape {x.shape}")
    params, H = _cell_params(cell, params, D)
    if state0 is None:
        state0 = cell.zero_state(N, H, x.dtype)
    else:
        if not isinstance(state0, tuple) or len(state0) != cell.n_state:
            raise ValueError(
                f"state0 must be a tuple of {cell.n_state} array(s) (N, H) for the {cell.kind}, "
                f"got {state0!r:.60}"
            )
        state0 = tuple(as_float_array(f"state0[{i}]", s, ndim=2) for i, s in enumerate(state0))
        for i, s in enumerate(state0):
            check_shape(f"state0[{i}]", s, (N, H))
    if dh_final is None:
        dh_final = np.full((N, H), 1.0 / np.sqrt(H), dtype=x.dtype)
    else:
        dh_final = check_grad("dh_final", dh_final, (N, H), x.dtype)

    # states[j] is s_j, the state after step j (states[0] the initial one)
    states = [state0]
    for t in range(T):
        states.append(cell.step(x[:, t], params, states[-1]))

    norms = np.empty(T + 1)
    norms[0] = np.mean(np.linalg.norm(dh_final, axis=1))  # lag 0: the loss reads h_T directly
    for j in range(T):
        h, cache = cell.forward(x[:, j:], params, states[j])  # steps j+1 .. T again, from s_j
        dh = np.zeros_like(h)
        dh[:, -1] = dh_final
        _, dstate, _ = cell.backward(dh, cache)
        squares = sum(np.sum(d.astype(np.float64) ** 2, axis=1) for d in dstate)  # (N,)
        norms[T - j] = np.mean(np.sqrt(squares))
    return norms


class BPTTTerms(NamedTuple):
    """The per-step terms of the vanilla RNN's parameter gradients (see :func:`bptt_terms`)."""

    dU: np.ndarray  # (T, D, H) x_t^T delta_t, summed over the batch
    dW: np.ndarray  # (T, H, H) h_{t-1}^T delta_t
    db: np.ndarray  # (T, H) delta_t
    delta: np.ndarray  # (N, T, H) gradient at the pre-activation of every step


def bptt_terms(dh, cache):
    r"""Backpropagation through time one step at a time, keeping each step's contribution.

    Because ``U``, ``W`` and ``b`` are used at every step, their gradients
    are sums over time (:func:`course_pkg.rnn.rnn_backward` returns only the
    sums). This function returns the terms themselves, so you can see which
    steps the gradient comes from.

    Parameters
    ----------
    dh : ndarray (N, T, H)
        Gradient of the loss with respect to every hidden state, from above
        (as for :func:`course_pkg.rnn.rnn_backward`).
    cache : RNNCache
        From :func:`course_pkg.rnn.rnn_forward`.

    Returns
    -------
    BPTTTerms
        ``dU`` (T, D, H), ``dW`` (T, H, H), ``db`` (T, H): term ``t`` of each
        sum, already summed over the batch, so ``terms.dW.sum(axis=0)`` is
        ``rnn_backward``'s ``dW``; and ``delta`` (N, T, H), the gradient at
        each step's pre-activation :math:`a_t = x_t U + h_{t-1} W + b`.

    Raises
    ------
    TypeError
        A cache of the wrong type, or ``dh`` in another dtype.
    ValueError
        ``dh`` of the wrong shape, or NaN/inf values.

    Notes
    -----
    Going back from :math:`t = T` with :math:`\delta_{T+1} = 0`,

    .. math::

        \delta_t = \big(dh_t + \delta_{t+1} W^\top\big) \odot (1 - h_t^2),
        \qquad
        dU = \sum_t x_t^\top \delta_t, \quad
        dW = \sum_t h_{t-1}^\top \delta_t, \quad
        db = \sum_t \delta_t .

    Each step is one call of :func:`course_pkg.rnn.rnn_step_backward`.
    """
    check_cache("cache", cache, RNNCache)
    dh = check_grad("dh", dh, cache.h.shape, cache.h.dtype)
    N, T, H = dh.shape
    D = cache.x.shape[2]
    dU = np.empty((T, D, H), dtype=dh.dtype)
    dW = np.empty((T, H, H), dtype=dh.dtype)
    db = np.empty((T, H), dtype=dh.dtype)
    delta = np.empty_like(dh)
    dh_next = np.zeros((N, H), dtype=dh.dtype)  # what step t+1 sends back to h_t
    for t in range(T - 1, -1, -1):
        g = dh[:, t] + dh_next  # total gradient at h_t: from above and from step t+1
        delta[:, t] = g * (1.0 - cache.h[:, t] ** 2)  # tanh' = 1 - tanh^2
        _, dh_next, dU[t], dW[t], db[t] = rnn_step_backward(g, cache.step(t))
    return BPTTTerms(dU, dW, db, delta)


# --------------------------------------------------------------------------- initialisation


def orthogonal(n: int, rng, *, gain: float = 1.0, dtype=np.float64):
    r"""A random orthogonal matrix times ``gain``, for initialising a recurrent weight.

    Parameters
    ----------
    n : int
        Size, >= 1.
    rng : numpy.random.Generator
    gain : float > 0
        Every singular value (and the modulus of every eigenvalue) of the
        result equals ``gain``.
    dtype : float32 or float64

    Returns
    -------
    Q : ndarray (n, n)
        :math:`Q^\top Q = \text{gain}^2 I`.

    Raises
    ------
    TypeError
        ``rng`` not a Generator, ``n`` not an integer, ``gain`` not a number.
    ValueError
        ``n < 1``, ``gain`` not a positive finite number.

    Notes
    -----
    The QR factorisation of a matrix of independent standard normals gives
    an orthogonal :math:`Q`; multiplying each column by the sign of the
    matching diagonal entry of :math:`R` makes the result uniformly
    distributed over the orthogonal matrices (Mezzadri, 2007). An orthogonal
    :math:`W` preserves the norm of every vector, so the linear part of the
    recurrence neither shrinks nor grows the gradient (Saxe et al., 2014).

    Examples
    --------
    >>> Q = orthogonal(3, np.random.default_rng(0))
    >>> np.allclose(Q.T @ Q, np.eye(3))
    True
    """
    n = check_int("n", n, 1)
    check_rng(rng)
    gain = check_real("gain", gain, POSITIVE)
    Q, R = np.linalg.qr(rng.standard_normal((n, n)))
    signs = np.where(np.diag(R) < 0, -1.0, 1.0)  # fix QR's sign ambiguity: Haar-uniform Q
    return (gain * Q * signs).astype(dtype)


# --------------------------------------------------------------------------- cost


def cache_nbytes(cache, exclude=()) -> int:
    """Bytes of array memory a cache keeps alive for the backward pass.

    Parameters
    ----------
    cache : NamedTuple, tuple, list or dict (nested), or ndarray
        What a forward function returned.
    exclude : iterable of ndarray
        Arrays not to count, typically the parameters (which exist whether
        or not a backward pass is pending).

    Returns
    -------
    int
        Sum of the ``nbytes`` of the distinct arrays reachable from
        ``cache``. A view counts as the array it is a view of (that whole
        array stays in memory), and every array counts once.

    Examples
    --------
    >>> x = np.zeros((2, 3))
    >>> cache_nbytes((x, x[:, :1], {"y": np.zeros(4, dtype=np.float32)}))
    64
    """
    skip = {id(_owner(a)) for a in exclude if isinstance(a, np.ndarray)}
    seen: dict[int, int] = {}
    stack = [cache]
    while stack:
        item = stack.pop()
        if isinstance(item, np.ndarray):
            owner = _owner(item)
            if id(owner) not in skip:
                seen[id(owner)] = owner.nbytes
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, (tuple, list)):
            stack.extend(item)
    return int(sum(seen.values()))


def _owner(a: np.ndarray) -> np.ndarray:
    """The array that owns the memory ``a`` looks into."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


class BPTTCost(NamedTuple):
    """What :func:`bptt_cost` measured, one entry per sequence length."""

    seq_lengths: np.ndarray  # (L,) int, the T of each measurement
    seconds: np.ndarray  # (L,) fastest wall-clock time of forward + backward
    cache_bytes: np.ndarray  # (L,) int, memory the forward pass keeps for the backward


def bptt_cost(cell, params, seq_lengths, *, batch_size: int, rng, repeats: int = 3) -> BPTTCost:
    r"""Time and memory of one forward + backward pass for several sequence lengths.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"} or Cell
    params : dict
        The cell's parameters (``Cell.init_params(D, H, rng)``).
    seq_lengths : sequence of int
        The lengths T to measure, each >= 1.
    batch_size : int
        N, the number of sequences per pass.
    rng : numpy.random.Generator
        Draws the inputs (standard normal) and the upstream gradient.
    repeats : int
        The time reported is the fastest of this many passes.

    Returns
    -------
    BPTTCost
        ``seq_lengths``, ``seconds`` and ``cache_bytes``, arrays of the same
        length. The bytes are exact (they depend only on N, T, D, H and the
        dtype); the seconds depend on the machine and its load.

    Raises
    ------
    TypeError, ValueError
        Bad parameters, lengths or sizes.

    Notes
    -----
    Backpropagation needs every intermediate state of the forward pass, so
    both the memory and the time of BPTT grow linearly with T. The cache
    counted is the one the cell's forward function returns, without the
    parameters (see :func:`cache_nbytes`).
    """
    cell = as_cell(cell)
    check_rng(rng)
    batch_size = check_int("batch_size", batch_size, 1)
    repeats = check_int("repeats", repeats, 1)
    lengths = [check_int("seq_lengths[i]", T, 1) for T in seq_lengths]
    if not lengths:
        raise ValueError("seq_lengths must hold at least one length, got none")
    params = cell.check_params(params)
    H = cell.hidden_size(params)
    D, dtype = params[cell.param_names[0]].shape[0], params[cell.recurrent_weight].dtype
    seconds, nbytes = [], []
    for T in lengths:
        x = rng.standard_normal((batch_size, T, D)).astype(dtype)
        dh = rng.standard_normal((batch_size, T, H)).astype(dtype)
        state0 = cell.zero_state(batch_size, H, dtype)
        best = np.inf
        for _ in range(repeats):
            start = time.perf_counter()
            _, cache = cell.forward(x, params, state0)
            cell.backward(dh, cache)
            best = min(best, time.perf_counter() - start)
        seconds.append(best)
        nbytes.append(cache_nbytes(cache, exclude=params.values()))
    return BPTTCost(np.array(lengths), np.array(seconds), np.array(nbytes, dtype=np.int64))
