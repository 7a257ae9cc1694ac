r"""Loss functions, each returning the loss and its gradient with respect to the prediction.

Taught in "Training and losses" (``book/05_training``);
assignment ``a2_bptt`` builds :func:`binary_cross_entropy_with_logits`.

Shapes: N batch, T time, K classes (or vocabulary size). Every function
returns ``(loss, d<input>)``: the loss is a NumPy scalar of the input's dtype
(summed in float64, then rounded to that dtype) and the gradient has the
input's shape and dtype, ready to feed into the backward pass of the layer
that made the prediction.

- :func:`softmax_cross_entropy`: next-token prediction, tagging, sequence
  classification (K-way), with a padding mask.
- :func:`binary_cross_entropy_with_logits`: two-class problems (log loss).
- :func:`mean_squared_error`: regression and forecasting.
- :func:`perplexity`: the language-modelling score ``exp(mean cross-entropy)``.
"""

from __future__ import annotations

import math

import numpy as np

from ._validate import (
    NON_NEGATIVE,
    as_float_array,
    as_index_array,
    as_mask,
    check_real,
    check_shape,
    common_dtype,
)
from .activations import log_softmax, sigmoid

REDUCTIONS = ("mean", "sum")


def softmax_cross_entropy(logits, targets, mask=None, reduction="mean"):
    r"""Cross-entropy between softmax(logits) and integer targets, with optional padding mask.

    Parameters
    ----------
    logits : ndarray (N, T, K) or (N, K), float32 or float64
        Unnormalised scores, one per class, at every position. Finite;
        values as large as :math:`\pm 10^4` are fine.
    targets : ndarray of integers, (N, T) or (N,), i.e. ``logits.shape[:-1]``
        The correct class at every position, in ``[0, K)``. At padded
        positions it must still be a valid index (a padding id, say); its
        value does not matter there.
    mask : ndarray of bool, float32 or float64, shape ``logits.shape[:-1]``, optional
        1 (or True) where the position counts, 0 where it is padding.
        Default: every position counts.
    reduction : {"mean", "sum"}
        ``"mean"``: sum of the per-position losses over the counted
        positions divided by their number, the per-token average whose
        ``exp`` is the perplexity. ``"sum"``: the plain sum over the
        counted positions.

    Returns
    -------
    loss : NumPy scalar, dtype of ``logits``
        In nats (natural logarithm).
    dlogits : ndarray, shape and dtype of ``logits``
        Gradient of ``loss``; exactly zero at masked positions.

    Raises
    ------
    TypeError
        Float logits, integer targets, bool/float mask expected.
    ValueError
        Wrong shapes, NaN/inf logits, targets outside ``[0, K)``, a mask
        with values other than 0/1 or counting no position, an unknown
        ``reduction``.

    Notes
    -----
    With :math:`p = \mathrm{softmax}(z)` over the last axis, target
    :math:`y` and mask :math:`m`, the loss at one position is
    :math:`\ell = -\log p_y = -z_y + \log \sum_j e^{z_j}`, computed with the
    max-shifted :func:`~course_pkg.activations.log_softmax` so it never
    overflows. Its gradient is

    .. math:: \frac{\partial \ell}{\partial z} = p - \mathrm{onehot}(y)

    and the reduced loss and gradient are

    .. math:: L = \frac{1}{M} \sum_{n,t} m_{n,t}\, \ell_{n,t}, \qquad
              \frac{\partial L}{\partial z_{n,t}}
              = \frac{m_{n,t}}{M}\left(p_{n,t} - \mathrm{onehot}(y_{n,t})\right)

    with :math:`M = \sum m` for ``"mean"`` and :math:`M = 1` for ``"sum"``.

    Examples
    --------
    >>> loss, _ = softmax_cross_entropy(np.zeros((2, 3, 5)), np.zeros((2, 3), dtype=int))
    >>> bool(np.isclose(loss, np.log(5)))  # uniform scores: log K
    True
    """
    logits = as_float_array("logits", logits)
    if logits.ndim not in (2, 3):
        raise ValueError(
            f"logits must be (N, K) or (N, T, K), got shape {logits.shape} ({logits.ndim}-D)"
        )
    K = logits.shape[-1]
    targets = as_index_array("targets", targets, upper=K)
    check_shape("targets", targets, logits.shape[:-1])
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    dtype = logits.dtype
    if mask is None:
        mask = np.ones(logits.shape[:-1], dtype=dtype)
    else:
        mask = as_mask(mask, logits.shape[:-1], dtype)
    count = int(np.count_nonzero(mask))  # number of counted positions
    if count == 0:
        raise ValueError("mask counts no position (all zeros): there is no loss to compute")

    logp = log_softmax(logits)  # (..., K)
    picked = np.take_along_axis(logp, targets[..., None], axis=-1)[..., 0]  # (...,) log p_y
    denom = float(count) if reduction == "mean" else 1.0
    # accumulate in float64: a float32 sum over many tokens would lose digits
    loss = dtype.type(-(mask * picked).sum(dtype=np.float64) / denom)

    onehot = targets[..., None] == np.arange(K)  # (..., K) bool
    dlogits = (np.exp(logp) - onehot) * (mask / denom)[..., None]  # zero at padding
    return loss, dlogits


def binary_cross_entropy_with_logits(logits, targets):
    r"""Mean log loss of a two-class prediction given as a logit.

    Parameters
    ----------
    logits : ndarray (N,), float32 or float64
        Scores :math:`z`; the predicted probability of class 1 is
        :math:`\sigma(z)`.
    targets : ndarray (N,), same dtype as ``logits``
        Target probabilities in [0, 1] (usually exactly 0 or 1).

    Returns
    -------
    loss : NumPy scalar, dtype of ``logits``
        Mean over the N examples, in nats.
    dlogits : ndarray (N,)

    Raises
    ------
    TypeError
        Non-float arrays, or float32 mixed with float64.
    ValueError
        Not 1-D, shapes differ, NaN/inf, targets outside [0, 1].

    Notes
    -----
    The log loss :math:`-y \log \sigma(z) - (1 - y) \log(1 - \sigma(z))`
    simplifies to

    .. math:: \ell = \max(z, 0) - z y + \log(1 + e^{-|z|})

    which never overflows (the exponent is <= 0) and keeps full precision
    when :math:`\sigma(z)` rounds to 0 or 1. Its derivative is
    :math:`\sigma(z) - y`, so :math:`\partial L / \partial z = (\sigma(z) - y) / N`.
    """
    logits = as_float_array("logits", logits, ndim=1)
    targets = as_float_array("targets", targets, ndim=1)
    check_shape("targets", targets, logits.shape)
    dtype = common_dtype(logits=logits, targets=targets)
    N = logits.shape[0]
    if N == 0:
        raise ValueError("logits must hold at least one example, got shape (0,)")
    if np.any((targets < 0) | (targets > 1)):
        raise ValueError(
            f"targets must lie in [0, 1], got values in [{targets.min()}, {targets.max()}]"
        )
    z, y = logits, targets
    per_example = np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))
    loss = dtype.type(per_example.mean(dtype=np.float64))
    dlogits = (sigmoid(z) - y) / dtype.type(N)
    return loss, dlogits


def mean_squared_error(pred, target):
    r"""Mean of the squared differences over all entries.

    Parameters
    ----------
    pred : ndarray, any shape, e.g. (N, T, K) or (N, K), float32 or float64
        Predictions.
    target : ndarray, same shape and dtype as ``pred``

    Returns
    -------
    loss : NumPy scalar, dtype of ``pred``
    dpred : ndarray, shape and dtype of ``pred``

    Raises
    ------
    TypeError
        Non-float arrays, or float32 mixed with float64.
    ValueError
        Shapes differ, no entries, NaN/inf.

    Notes
    -----
    With :math:`S` the number of entries,

    .. math:: L = \frac{1}{S} \sum_i (\hat y_i - y_i)^2, \qquad
              \frac{\partial L}{\partial \hat y_i} = \frac{2}{S} (\hat y_i - y_i)
    """
    pred = as_float_array("pred", pred)
    target = as_float_array("target", target)
    check_shape("target", target, pred.shape)
    dtype = common_dtype(pred=pred, target=target)
    if pred.size == 0:
        raise ValueError(f"pred must hold at least one entry, got shape {pred.shape}")
    diff = pred - target
    loss = dtype.type(np.mean(diff * diff, dtype=np.float64))
    dpred = diff * dtype.type(2.0 / pred.size)
    return loss, dpred


def perplexity(mean_loss) -> float:
    r"""Perplexity :math:`\exp(L)` of a mean per-token cross-entropy ``L`` in nats.

    Parameters
    ----------
    mean_loss : float >= 0
        The ``"mean"`` reduction of :func:`softmax_cross_entropy` over the
        tokens of a text.

    Returns
    -------
    float
        At least 1. A model that spreads its probability uniformly over K
        tokens has perplexity K; ``inf`` if ``exp`` overflows (loss > ~709).

    Raises
    ------
    TypeError
        Not a real number.
    ValueError
        Negative or non-finite.

    Notes
    -----
    Perplexity is the inverse of the geometric mean of the probabilities the
    model gave to the correct tokens, "the number of words the model is as
    unsure as choosing uniformly among". It must use the per-token mean:
    :math:`\exp` of a sum or of a per-sequence average is a different number.

    Examples
    --------
    >>> round(perplexity(np.log(50.0)), 9)  # uniform over 50 tokens
    50.0
    """
    mean_loss = check_real("mean_loss", mean_loss, NON_NEGATIVE)  # a cross-entropy
    try:
        return math.exp(mean_loss)
    except OverflowError:
        return math.inf
