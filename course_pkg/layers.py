r"""The layers around a recurrent cell: embedding, output (dense) layer, dropout.

A language model reads token ids, looks up one vector per id (embedding),
runs a recurrent layer, maps every hidden state to one score per word of the
vocabulary (dense output layer) and, while training, drops units at random
(dropout) to regularise.

Taught in "Architecture types" (``book/04_architectures``) and, for dropout,
"Practical matters" (``book/13_practical``). No assignment rebuilds them: the
assignments' models use them as they are.

Shapes: N batch, T time, K vocabulary size (or number of classes), D
embedding/input features, H hidden units. Row vectors are multiplied on the
left, so the output layer is

.. math:: y_t = h_t V + c

with ``h_t`` (N, H), ``V`` (H, K), ``c`` (K,).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import (
    FRACTION,
    as_float_array,
    as_index_array,
    check_cache,
    check_grad,
    check_real,
    check_rng,
    check_shape,
    common_dtype,
)

# --------------------------------------------------------------------------- embedding


class EmbeddingCache(NamedTuple):
    """What :func:`embedding_backward` needs from :func:`embedding_forward`."""

    ids: np.ndarray  # (N, T) token ids (any shape)
    E: np.ndarray  # (K, D) embedding table


def embedding_forward(ids, E):
    r"""Look up one row of the embedding table per token id.

    Parameters
    ----------
    ids : ndarray of integers, usually (N, T)
        Token ids in ``[0, K)``. Any shape works: ``(N,)`` for one step,
        ``(N, T)`` for a batch of sequences; the output gains a last axis D.
    E : ndarray (K, D), float32 or float64
        Embedding table: row ``k`` is the vector of token ``k``.

    Returns
    -------
    x : ndarray (*ids.shape, D), so (N, T, D) for ids (N, T)
        The embedded tokens, same dtype as ``E``. A new array, not a view
        of ``E``.
    cache : EmbeddingCache

    Raises
    ------
    TypeError
        ``ids`` not integer, ``E`` not float.
    ValueError
        ``E`` not 2-D or not finite; an id outside ``[0, K)``.

    Notes
    -----
    :math:`x_{n,t} = E_{\mathrm{ids}_{n,t}}`. The lookup is the product of a
    one-hot row vector with ``E``, done without building the one-hot matrix.

    Examples
    --------
    >>> E = np.arange(6.0).reshape(3, 2)
    >>> embedding_forward(np.array([[2, 0]]), E)[0]
    array([[[4., 5.],
            [0., 1.]]])
    """
    E = as_float_array("E", E, ndim=2)
    ids = as_index_array("ids", ids, upper=E.shape[0])
    x = E[ids]  # fancy indexing copies: (*ids.shape, D)
    return x, EmbeddingCache(ids, E)


def embedding_backward(dx, cache):
    r"""Backward pass of :func:`embedding_forward`: the gradient of the table.

    Parameters
    ----------
    dx : ndarray (*ids.shape, D), so (N, T, D) for ids (N, T)
        Gradient of the loss with respect to the embedded tokens.
    cache : EmbeddingCache

    Returns
    -------
    dE : ndarray (K, D)
        Zero in the rows of tokens that did not occur.

    Notes
    -----
    :math:`dE_k = \sum_{(n,t):\, \mathrm{ids}_{n,t} = k} dx_{n,t}`. A token
    that occurs several times receives the sum of all its gradients.
    ``dE[ids] += dx`` would be wrong: with repeated ids, fancy-index
    assignment keeps only one of the writes. ``np.add.at`` accumulates them.
    """
    check_cache("cache", cache, EmbeddingCache)
    E = cache.E
    dx = check_grad("dx", dx, (*cache.ids.shape, E.shape[1]), E.dtype)
    dE = np.zeros_like(E)
    np.add.at(dE, cache.ids, dx)
    return dE


# --------------------------------------------------------------------------- dense


class DenseCache(NamedTuple):
    """What :func:`dense_backward` needs from :func:`dense_forward`."""

    h: np.ndarray  # (..., H) inputs, (N, T, H) or (N, H)
    V: np.ndarray  # (H, K) weights


def dense_forward(h, V, c):
    r"""Affine output layer applied at every time step: ``y = h V + c``.

    Parameters
    ----------
    h : ndarray (N, T, H) or (N, H)
        Hidden states; in general any number of leading batch axes
        ``(..., H)``, at least one.
    V : ndarray (H, K)
        Hidden-to-output weights.
    c : ndarray (K,)
        Output bias.

    Returns
    -------
    y : ndarray (N, T, K) or (N, K), i.e. (..., K)
        Scores (logits), same dtype as the inputs.
    cache : DenseCache

    Raises
    ------
    TypeError
        Non-float arrays, or float32 mixed with float64.
    ValueError
        ``h`` with fewer than 2 axes, shapes that do not fit, NaN/inf.

    Notes
    -----
    .. math:: y_{n,t} = h_{n,t} V + c

    The same ``V`` and ``c`` serve every example and every time step.
    """
    h = as_float_array("h", h)
    if h.ndim < 2:
        raise ValueError(
            f"h must have at least 2 dimensions, (N, H) or (N, T, H), got shape {h.shape}"
        )
    V = as_float_array("V", V, ndim=2)
    c = as_float_array("c", c, ndim=1)
    H, K = h.shape[-1], c.shape[0]  # the input fixes H, the bias fixes K
    if V.shape[0] == H and V.shape[1] != K:  # V fits h: blame the bias, not V
        raise ValueError(f"c must have shape ({V.shape[1]},) to match V {V.shape}, got {c.shape}")
    check_shape("V", V, (H, K))
    common_dtype(h=h, V=V, c=c)
    y = h @ V + c  # (..., K)
    return y, DenseCache(h, V)


def dense_backward(dy, cache):
    r"""Backward pass of :func:`dense_forward`.

    Parameters
    ----------
    dy : ndarray (N, T, K) or (N, K), i.e. (..., K)
        Gradient of the loss with respect to ``y``.
    cache : DenseCache

    Returns
    -------
    dh : ndarray (..., H)
    dV : ndarray (H, K)
    dc : ndarray (K,)

    Notes
    -----
    .. math:: dh = dy\, V^\top, \qquad
              dV = \sum_{n,t} h_{n,t}^\top dy_{n,t}, \qquad
              dc = \sum_{n,t} dy_{n,t}

    ``V`` and ``c`` are shared by all positions, so their gradients are sums
    over all of them; flattening the leading axes turns the sum into one
    matrix product.
    """
    check_cache("cache", cache, DenseCache)
    h, V = cache.h, cache.V
    H, K = V.shape
    dy = check_grad("dy", dy, (*h.shape[:-1], K), h.dtype)
    dh = dy @ V.T  # (..., H)
    flat_dy = dy.reshape(-1, K)  # (N*T, K)
    dV = h.reshape(-1, H).T @ flat_dy
    dc = flat_dy.sum(axis=0)
    return dh, dV, dc


# --------------------------------------------------------------------------- dropout


class DropoutCache(NamedTuple):
    """What :func:`dropout_backward` needs from :func:`dropout_forward`."""

    mask: np.ndarray | None  # kept-and-scaled mask, broadcastable to x; None at evaluation
    shape: tuple  # shape of x (and of dy)
    dtype: np.dtype  # dtype of x (and of dy)


def dropout_forward(x, p, rng, train=True, same_mask_over_time=False):
    r"""Inverted dropout: zero each unit with probability ``p``, scale the rest.

    Parameters
    ----------
    x : ndarray, any shape; (N, T, D) when ``same_mask_over_time=True``
        Activations to drop.
    p : float in [0, 1)
        Probability of dropping a unit. ``p = 0`` keeps everything.
    rng : numpy.random.Generator
        Source of the random mask, e.g. ``np.random.default_rng(0)``. It is
        used (and advanced) only when ``train`` is True.
    train : bool
        True while training; False at evaluation, where dropout is the
        identity.
    same_mask_over_time : bool
        If True, ``x`` must be (N, T, D) and one mask of shape (N, 1, D) is
        drawn per sequence and reused at every time step ("variational"
        dropout, Gal & Ghahramani 2016, the usual choice inside RNNs). If
        False, every entry gets its own coin flip.

    Returns
    -------
    y : ndarray, same shape and dtype as ``x``
        A new array (also at evaluation).
    cache : DropoutCache

    Raises
    ------
    TypeError
        ``x`` not float, ``rng`` not a Generator, ``train`` or
        ``same_mask_over_time`` not bool.
    ValueError
        ``p`` outside [0, 1), ``x`` not 3-D with ``same_mask_over_time``,
        NaN/inf in ``x``.

    Notes
    -----
    With :math:`m \sim \mathrm{Bernoulli}(1 - p)` per unit,

    .. math:: y = \frac{m \odot x}{1 - p}

    Dividing by the keep probability at training time makes
    :math:`\mathbb{E}[y] = x`, so nothing needs rescaling at evaluation
    ("inverted" dropout). Gal, Y. and Ghahramani, Z. (2016), *A Theoretically
    Grounded Application of Dropout in Recurrent Neural Networks*, NeurIPS.

    Examples
    --------
    >>> y, _ = dropout_forward(np.ones((2, 4)), 0.5, np.random.default_rng(0))
    >>> sorted(set(y.ravel().tolist()))  # every unit is either dropped or doubled
    [0.0, 2.0]
    """
    x = as_float_array("x", x)
    p = check_real("p", p, FRACTION)
    check_rng(rng)
    if not isinstance(train, (bool, np.bool_)):
        raise TypeError(f"train must be a bool, got {type(train).__name__}")
    if not isinstance(same_mask_over_time, (bool, np.bool_)):
        raise TypeError(
            f"same_mask_over_time must be a bool, got {type(same_mask_over_time).__name__}"
        )
    if same_mask_over_time and x.ndim != 3:
        raise ValueError(
            f"same_mask_over_time needs x of shape (N, T, D), got shape {x.shape} ({x.ndim}-D)"
        )
    if not train:
        return x.copy(), DropoutCache(None, x.shape, x.dtype)
    mask_shape = (x.shape[0], 1, x.shape[2]) if same_mask_over_time else x.shape
    keep = rng.random(mask_shape) >= p  # True with probability 1 - p
    mask = keep.astype(x.dtype) / x.dtype.type(1.0 - p)  # 0 or 1/(1-p), x's dtype
    return x * mask, DropoutCache(mask, x.shape, x.dtype)


def dropout_backward(dy, cache):
    r"""Backward pass of :func:`dropout_forward`.

    Parameters
    ----------
    dy : ndarray, shape and dtype of the forward input ``x``
    cache : DropoutCache

    Returns
    -------
    dx : ndarray, same shape as ``dy``
        ``dy`` masked and scaled like the forward pass; a copy of ``dy`` at
        evaluation.

    Notes
    -----
    ``y`` is linear in ``x`` with the mask fixed, so
    :math:`dx = dy \odot m / (1 - p)`: dropped units pass no gradient.
    """
    check_cache("cache", cache, DropoutCache)
    dy = check_grad("dy", dy, cache.shape, cache.dtype)
    if cache.mask is None:
        return dy.copy()
    return dy * cache.mask
