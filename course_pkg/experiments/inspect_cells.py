r"""Looking inside trained gated cells: gate values, memory units, cell-path gains, sensitivities.

Taught in "LSTM" (``book/08_lstm``), "GRU" (``book/09_gru``) and
"Bidirectional RNNs" (``book/10_bidirectional``). Nothing here changes how a
cell computes: every function reads what the package's forward functions
already return or calls the cells' own forward and backward passes. The
gate activations of every step need no helper: the caches of
:func:`course_pkg.lstm.lstm_forward` and :func:`course_pkg.gru.gru_forward`
hold them by name, ``cache.f`` (N, T, H) for the forget gates, and so on.

- :func:`cell_path_gain`: the products of forget gates that carry a gradient
  back along the LSTM's cell state (the constant error carousel);
- :func:`unit_target_correlation`: which hidden units store a quantity;
- :func:`input_gradient`: how much a readout of the last state depends on
  the input at every earlier step;
- :func:`accuracy_by_word`: per-word accuracy of a tagger.

Shapes: N batch, T time, D input features, H hidden units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .._validate import as_float_array, as_index_array, check_shape
from ..cells import as_cell


def cell_path_gain(f) -> np.ndarray:
    r"""How much of a gradient on the last cell state reaches each earlier one along the cell path.

    Parameters
    ----------
    f : ndarray (N, T, H)
        Forget-gate values :math:`f_1, \dots, f_T` (``cache.f`` of an ``LSTMCache``).

    Returns
    -------
    gain : ndarray (N, T, H)
        ``gain[:, t]`` is :math:`\prod_{k=t+1}^{T-1} f_k` (0-based steps),
        the factor by which the carousel carries a gradient from
        :math:`c_{T-1}` (the last cell state) back to :math:`c_t`;
        ``gain[:, -1] == 1``.

    Raises
    ------
    TypeError
        ``f`` not a float array.
    ValueError
        ``f`` not 3-D, or values outside [0, 1].

    Notes
    -----
    From :math:`c_t = f_t \odot c_{t-1} + i_t \odot g_t`, the direct
    derivative :math:`\partial c_t / \partial c_{t-1}` is the diagonal
    matrix :math:`\operatorname{diag}(f_t)`: no weight matrix and no
    squashing derivative. Chaining it gives the product of forget gates.
    (The full gradient also has paths that leave the cell through
    :math:`h` and come back through the gates; this is the path that does
    not fade when :math:`f \approx 1`.)
    """
    f = as_float_array("f", f, ndim=3)
    if f.size and (f.min() < 0.0 or f.max() > 1.0):
        raise ValueError(
            f"f must hold forget-gate values in [0, 1], got values in [{f.min()}, {f.max()}]"
        )
    # reversed cumulative product of f_{t+1} .. f_{T-1}: shift by one, then multiply from the end
    shifted = np.concatenate([f[:, 1:], np.ones_like(f[:, :1])], axis=1)  # f_{t+1}, 1 at the end
    return np.cumprod(shifted[:, ::-1], axis=1)[:, ::-1]


def unit_target_correlation(states, target) -> np.ndarray:
    r"""Pearson correlation of every hidden unit with a target quantity, across examples.

    A unit whose value at some step correlates with, say, the first number
    to remember at :math:`|\rho| \approx 1` is where the network stores it.

    Parameters
    ----------
    states : ndarray (N, H)
        One state per example (e.g. every example's cell state at its last
        step, ``gates.c[:, -1]``).
    target : ndarray (N,)
        The quantity to look for, one value per example.

    Returns
    -------
    rho : ndarray (H,)
        Correlation of each unit with ``target``, in [-1, 1]; 0 for a unit
        that is constant over the examples (its correlation is undefined).

    Raises
    ------
    TypeError
        Non-float inputs.
    ValueError
        Wrong shapes, fewer than two examples, a constant target, NaN/inf.
    """
    states = as_float_array("states", states, ndim=2)
    target = as_float_array("target", target, ndim=1)
    N = states.shape[0]
    check_shape("target", target, (N,))
    if N < 2:
        raise ValueError(f"a correlation needs at least two examples, got N={N}")
    s = states - states.mean(axis=0)
    y = target - target.mean()
    y_norm = np.sqrt(np.sum(y * y))
    if y_norm == 0:
        raise ValueError("target is constant, so no unit can correlate with it")
    s_norm = np.sqrt(np.sum(s * s, axis=0))  # (H,)
    rho = (y @ s) / np.where(s_norm > 0, s_norm * y_norm, 1.0)
    return np.clip(np.where(s_norm > 0, rho, 0.0), -1.0, 1.0)


def input_gradient(cell, params: Mapping, x, v) -> np.ndarray:
    r"""Gradient of a linear readout of the last hidden state with respect to every input.

    For a many-to-one model :math:`\hat y = h_T v + c` this is
    :math:`\partial \hat y / \partial x_t` for every step: how strongly the
    prediction depends on what came in :math:`T - t` steps before the end.

    Parameters
    ----------
    cell : {"rnn", "lstm", "gru"} or Cell
    params : dict
        The layer's parameters, e.g. ``model.stack.layer_params(model.params, 0)``.
    x : ndarray (N, T, D)
        Input sequences.
    v : ndarray (H,)
        Readout weights, e.g. ``model.params["V"][:, 0]``.

    Returns
    -------
    dx : ndarray (N, T, D)
        :math:`\partial (h_T v) / \partial x_t` for every example and step.

    Raises
    ------
    TypeError
        Non-float arrays.
    ValueError
        A missing parameter, shapes that do not fit together, NaN/inf values.

    Notes
    -----
    One forward and one backward pass of the cell, from a zero state, with
    the upstream gradient ``v`` on the last hidden state and zero elsewhere.
    """
    cell = as_cell(cell)
    x = as_float_array("x", x, ndim=3)
    v = as_float_array("v", v, ndim=1)
    params = cell.check_params(params)
    N, H = x.shape[0], cell.hidden_size(params)
    check_shape("v", v, (H,))
    h, cache = cell.forward(x, params, cell.zero_state(N, H, x.dtype))
    dh = np.zeros_like(h)
    dh[:, -1] = v
    dx, _, _ = cell.backward(dh, cache)
    return dx


def accuracy_by_word(ids, tags, pred, mask, words: Sequence[str]) -> dict:
    """Accuracy of predicted tags, word by word.

    Parameters
    ----------
    ids : ndarray (N, T) of int
        Word ids.
    tags : ndarray (N, T) of int
        True tags.
    pred : ndarray (N, T) of int
        Predicted tags.
    mask : ndarray (N, T)
        Nonzero on the real (unpadded) tokens.
    words : sequence of str
        ``words[k]`` is the word with id ``k``.

    Returns
    -------
    dict
        ``{word: (count, accuracy)}`` for every word that occurs among the
        real tokens, in the order of ``words``; ``count`` an int,
        ``accuracy`` a float in [0, 1].

    Raises
    ------
    TypeError
        Non-integer ids, tags or predictions.
    ValueError
        Arrays of different shapes, ids outside the vocabulary.
    """
    words = list(words)
    ids = as_index_array("ids", ids, ndim=2, upper=len(words))
    tags = as_index_array("tags", tags, ndim=2)
    pred = as_index_array("pred", pred, ndim=2)
    mask = np.asarray(mask)
    for name, a in (("tags", tags), ("pred", pred), ("mask", mask)):
        if a.shape != ids.shape:
            raise ValueError(f"{name} must have the shape of ids {ids.shape}, got {a.shape}")
    real = mask != 0
    correct = (pred == tags) & real
    counts = np.bincount(ids[real], minlength=len(words))
    hits = np.bincount(ids[correct], minlength=len(words))
    return {
        words[k]: (int(counts[k]), float(hits[k] / counts[k]))
        for k in range(len(words))
        if counts[k] > 0
    }
