r"""Additive (Bahdanau) attention, forward and backward.

The encoder-decoder of "Applications" (``book/11_applications``, section
11.4) hands its decoder one fixed vector, the encoder's final state: every
fact about the source, however long, has to pass through those H numbers.
Attention removes that bottleneck. At every output step the decoder looks
back at *all* the encoder's states, scores each against its own current
state, and reads a weighted average of them, the *context*, with the
weights it has just computed. Where it looks is learnt, step by step, from
the translation loss alone (Bahdanau, Cho and Bengio 2015). The book's
attention chapter ("Attention and beam search", ``book/12_attention``) teaches it; no
assignment rebuilds it yet.

Shapes: N batch, S source length, Q query size (the decoder's state), K key
size (the encoder's states), A attention size (the hidden layer of the
scoring network). Row vectors are multiplied on the left. For example
``n``, with query :math:`q` (Q,) and keys :math:`k_1, \dots, k_S` (K,) each,

.. math::

    e_s &= \tanh(q W_q + k_s W_k) \cdot v
        &&\text{score of source position } s \\
    \alpha_s &= \frac{\exp(e_s)}{\sum_{s'} \exp(e_{s'})}
        &&\text{attention weights: positive, summing to 1} \\
    c &= \sum_s \alpha_s k_s
        &&\text{context (K,)}

with ``Wq`` (Q, A), ``Wk`` (K, A), ``v`` (A,). The keys are also the values:
the context averages the very vectors that were scored. A padding mask
leaves a batch's shorter sources out of the softmax, so their padded
positions get weight exactly 0.

In Bahdanau et al.'s notation the query is the previous decoder state
:math:`s_{i-1}`, the keys are the encoder's annotations :math:`h_j`, and
:math:`e_{ij} = v_a^\top \tanh(W_a s_{i-1} + U_a h_j)`: ``Wq`` is
:math:`W_a^\top`, ``Wk`` is :math:`U_a^\top` and ``v`` is :math:`v_a`.

**The public functions.** :func:`additive_attention_forward` and
:func:`additive_attention_backward` are the pair a model calls once per
decoder step. A decoder attends to the same keys at every step, and
:math:`k_s W_k` does not depend on the step (the paper's appendix makes the
same remark about :math:`U_a h_j`), so :func:`project_keys` computes it once
per batch and the forward function takes it as ``keys_proj=``. That saves
the forward pass an (N S K A) product per step; the backward pass still
returns the full gradients of ``keys`` and ``Wk``, so the caller sums them
over the steps like those of any shared weight and needs no second
backward function. :func:`param_shapes` and :func:`init_params` give the
parameters, as every layer module does.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import (
    as_float_array,
    as_mask,
    check_cache,
    check_grad,
    check_int,
    check_rng,
    check_shape,
    common_dtype,
)
from .activations import softmax


class AttentionCache(NamedTuple):
    """What :func:`additive_attention_backward` needs from the forward pass.

    The mask is not kept: the weights are exactly 0 at padded positions, and
    every gradient that reaches a position is a multiple of its weight.
    """

    query: np.ndarray  # (N, Q) decoder state
    keys: np.ndarray  # (N, S, K) encoder states, also the values
    Wq: np.ndarray  # (Q, A)
    Wk: np.ndarray  # (K, A)
    v: np.ndarray  # (A,)
    hidden: np.ndarray  # (N, S, A) tanh(query Wq + keys Wk), the scoring network's hidden layer
    weights: np.ndarray  # (N, S) attention weights alpha, 0 at padded positions


def param_shapes(Q: int, K: int, A: int) -> dict:
    """Shapes of the parameters for query size ``Q``, key size ``K``, attention size ``A``."""
    return {"Wq": (Q, A), "Wk": (K, A), "v": (A,)}


def init_params(Q: int, K: int, A: int, rng, dtype=np.float64) -> dict:
    r"""Random ``Wq``, ``Wk``, ``v``, each uniform on :math:`[-1/\sqrt{m}, 1/\sqrt{m}]`.

    ``m`` is the number of rows the array is multiplied by (Q, K and A), the
    fan-in that PyTorch's ``nn.Linear`` scales its initial weights by.

    >>> p = init_params(3, 4, 5, np.random.default_rng(0))
    >>> {name: w.shape for name, w in p.items()}
    {'Wq': (3, 5), 'Wk': (4, 5), 'v': (5,)}
    """
    check_rng(rng)
    Q, K, A = check_int("Q", Q, 1), check_int("K", K, 1), check_int("A", A, 1)
    params = {}
    for name, shape in param_shapes(Q, K, A).items():
        bound = 1.0 / np.sqrt(shape[0])
        params[name] = rng.uniform(-bound, bound, size=shape).astype(dtype)
    return params


def project_keys(keys, Wk):
    r"""The keys' share of the scores, :math:`k_s W_k`, computed once for every decoder step.

    Parameters
    ----------
    keys : ndarray (N, S, K)
        The encoder's states.
    Wk : ndarray (K, A)

    Returns
    -------
    keys_proj : ndarray (N, S, A)
        Pass it to :func:`additive_attention_forward` as ``keys_proj=``,
        with the same ``keys`` and ``Wk``.

    Raises
    ------
    TypeError
        Non-float arrays, or float32 mixed with float64.
    ValueError
        Shapes that do not fit together, or NaN/inf values.
    """
    keys = as_float_array("keys", keys, ndim=3)
    Wk = as_float_array("Wk", Wk, ndim=2)
    check_shape("Wk", Wk, (keys.shape[2], Wk.shape[1]))
    common_dtype(keys=keys, Wk=Wk)
    return keys @ Wk


def _check_inputs(query, keys, Wq, Wk, v, mask, keys_proj):
    """Validate the arguments of the forward function; return them as arrays, the mask as bool."""
    query = as_float_array("query", query, ndim=2)
    keys = as_float_array("keys", keys, ndim=3)
    Wq = as_float_array("Wq", Wq, ndim=2)
    Wk = as_float_array("Wk", Wk, ndim=2)
    v = as_float_array("v", v, ndim=1)
    (N, Q), (S, K), A = query.shape, keys.shape[1:], v.shape[0]  # v fixes the attention size
    check_shape("keys", keys, (N, S, K))
    check_shape("Wq", Wq, (Q, A))
    check_shape("Wk", Wk, (K, A))
    arrays = {"query": query, "keys": keys, "Wq": Wq, "Wk": Wk, "v": v}
    if keys_proj is not None:
        keys_proj = as_float_array("keys_proj", keys_proj, ndim=3)
        check_shape("keys_proj", keys_proj, (N, S, A))
        arrays["keys_proj"] = keys_proj
    common_dtype(**arrays)
    if S == 0:
        raise ValueError(f"keys must hold at least one source position, got shape {keys.shape}")
    mask = np.ones((N, S), dtype=bool) if mask is None else as_mask(mask, (N, S), np.bool_)
    empty = np.flatnonzero(~mask.any(axis=1))
    if empty.size:
        raise ValueError(
            "mask must have at least one real position (1) in every row, so that the weights "
            f"can sum to 1; rows {empty.tolist()} have none"
        )
    return query, keys, Wq, Wk, v, mask, keys_proj


def additive_attention_forward(query, keys, Wq, Wk, v, mask=None, *, keys_proj=None):
    r"""Attend from one query (a decoder state) to every key (the encoder's states).

    Parameters
    ----------
    query : ndarray (N, Q)
        The decoder's state; Bahdanau et al. use the state before the step,
        :math:`s_{i-1}`.
    keys : ndarray (N, S, K)
        The encoder's states, one per source position. They are both what
        is scored and what is averaged (the values).
    Wq : ndarray (Q, A)
        Query-to-hidden weights.
    Wk : ndarray (K, A)
        Key-to-hidden weights.
    v : ndarray (A,)
        Hidden-to-score weights.
    mask : ndarray (N, S) of bool or 0/1 floats, optional
        1 (True) at real source positions, 0 at padding. Every row needs at
        least one real position. Default: every position is real.
    keys_proj : ndarray (N, S, A), optional
        ``project_keys(keys, Wk)``, computed once for all the steps of a
        decoder. It is used as it is, not checked against ``keys @ Wk``.

    Returns
    -------
    context : ndarray (N, K)
        The weighted average of the keys, same dtype as the inputs.
    weights : ndarray (N, S)
        The attention weights: non-negative, each row summing to 1, exactly
        0 at padded positions.
    cache : AttentionCache

    Raises
    ------
    TypeError
        Non-float arrays (a mask may be bool), or float32 mixed with float64.
    ValueError
        Shapes that do not fit together, NaN/inf values, a mask holding
        values other than 0 and 1, a row of the mask with no real position,
        or no source position at all (S = 0).

    Notes
    -----
    For each example, with :math:`M` its set of real positions,

    .. math::

        e_s = \tanh(q W_q + k_s W_k) \cdot v, \qquad
        \alpha_s = \frac{\exp(e_s - m)}{\sum_{s' \in M} \exp(e_{s'} - m)}
        \;(s \in M), \quad \alpha_s = 0 \;(s \notin M), \qquad
        c = \sum_s \alpha_s k_s,

    where :math:`m = \max_{s \in M} e_s`. Subtracting :math:`m` changes no
    weight but keeps every exponent at most 0, so nothing overflows; padded
    positions enter the softmax as :math:`-\infty`, whose exponential is
    exactly 0.

    There is no bias inside the tanh: Bahdanau et al.'s alignment model,
    :math:`v_a^\top \tanh(W_a s_{i-1} + U_a h_j)` (their appendix A.1.2),
    has none, and without one the layer is two bias-free linear maps and a
    dot product, which PyTorch's ``nn.Linear(bias=False)`` reproduces with
    copied weights. (A bias added to the scores, :math:`e_s + b`, would
    change no weight at all: the softmax ignores a constant added to every
    score.)

    Examples
    --------
    With ``v = 0`` every score is 0, so the weights are uniform and the
    context is the mean of the keys; a mask leaves out the second key:

    >>> keys = np.array([[[1.0, 0.0], [0.0, 1.0]]])  # N=1, S=2, K=2
    >>> Wq, Wk, v = np.ones((3, 4)), np.ones((2, 4)), np.zeros(4)
    >>> context, weights, _ = additive_attention_forward(np.ones((1, 3)), keys, Wq, Wk, v)
    >>> weights, context
    (array([[0.5, 0.5]]), array([[0.5, 0.5]]))
    >>> context, weights, _ = additive_attention_forward(
    ...     np.ones((1, 3)), keys, Wq, Wk, v, mask=np.array([[1.0, 0.0]]))
    >>> weights, context
    (array([[1., 0.]]), array([[1., 0.]]))
    """
    query, keys, Wq, Wk, v, mask, keys_proj = _check_inputs(query, keys, Wq, Wk, v, mask, keys_proj)
    if keys_proj is None:
        keys_proj = keys @ Wk  # (N, S, A)
    hidden = np.tanh((query @ Wq)[:, None, :] + keys_proj)  # (N, S, A): the query meets every key
    scores = hidden @ v  # (N, S)
    weights = softmax(np.where(mask, scores, -np.inf), axis=1)  # max-shifted; exp(-inf) = 0
    context = (weights[:, :, None] * keys).sum(axis=1)  # (N, K)
    return context, weights, AttentionCache(query, keys, Wq, Wk, v, hidden, weights)


def additive_attention_backward(dcontext, cache, dweights=None):
    r"""Backward pass of :func:`additive_attention_forward`.

    Parameters
    ----------
    dcontext : ndarray (N, K)
        Gradient of the loss with respect to the context.
    cache : AttentionCache
    dweights : ndarray (N, S), optional
        Gradient of the loss with respect to the weights themselves (a loss
        that guides where the decoder looks, say). Default: none.

    Returns
    -------
    dquery : ndarray (N, Q)
    dkeys : ndarray (N, S, K)
        Both of the keys' paths: as values through the context and as keys
        through the scores. Exactly 0 at padded positions.
    dWq : ndarray (Q, A)
    dWk : ndarray (K, A)
    dv : ndarray (A,)

    Raises
    ------
    TypeError
        A cache of the wrong type, or gradients in another dtype.
    ValueError
        Gradients of the wrong shape, or NaN/inf values.

    Notes
    -----
    Going back through the three lines of the forward pass:

    1. :math:`c = \sum_s \alpha_s k_s` gives
       :math:`\partial L/\partial \alpha_s = dc \cdot k_s` (plus ``dweights``)
       and the values' share of :math:`dk_s`, :math:`\alpha_s\, dc`.
    2. The softmax's Jacobian is :math:`\partial \alpha_s / \partial e_r =
       \alpha_s(\delta_{sr} - \alpha_r)`, so
       :math:`\partial L/\partial e_s = \alpha_s (\partial L/\partial \alpha_s
       - \sum_r \alpha_r\, \partial L/\partial \alpha_r)`. A padded position
       has :math:`\alpha_s = 0`, so nothing flows back through it.
    3. :math:`e_s = \tanh(a_s) \cdot v` with :math:`a_s = q W_q + k_s W_k`
       gives :math:`dv = \sum_s \tanh(a_s)\, \partial L/\partial e_s` and
       :math:`\partial L/\partial a_s = (\partial L/\partial e_s)\, v \odot
       (1 - \tanh^2 a_s)`. From there, as in a dense layer: the keys' share
       of :math:`dk_s` is :math:`(\partial L/\partial a_s) W_k^\top`,
       :math:`dW_k = \sum_s k_s^\top \partial L/\partial a_s`, and since one
       query meets all S keys, its gradients sum over them:
       :math:`dq = \sum_s (\partial L/\partial a_s) W_q^\top`.
    """
    check_cache("cache", cache, AttentionCache)
    query, keys, Wq, Wk, v, hidden, weights = cache
    N, S, K = keys.shape
    dcontext = check_grad("dcontext", dcontext, (N, K), keys.dtype)
    dweights_total = np.einsum("nk,nsk->ns", dcontext, keys)  # (N, S): dc . k_s
    if dweights is not None:
        dweights_total = dweights_total + check_grad("dweights", dweights, (N, S), keys.dtype)
    # softmax: alpha_s (g_s - sum_r alpha_r g_r), 0 wherever alpha_s is 0
    dscores = weights * (dweights_total - (weights * dweights_total).sum(axis=1, keepdims=True))
    dv = np.einsum("nsa,ns->a", hidden, dscores)
    dpre = dscores[:, :, None] * v * (1.0 - hidden * hidden)  # (N, S, A); tanh' = 1 - tanh^2
    dquery_proj = dpre.sum(axis=1)  # (N, A): the one query was added to every key's projection
    dquery = dquery_proj @ Wq.T
    dWq = query.T @ dquery_proj
    dkeys = weights[:, :, None] * dcontext[:, None, :] + dpre @ Wk.T  # as values + as keys
    dWk = np.einsum("nsk,nsa->ka", keys, dpre)
    return dquery, dkeys, dWq, dWk, dv
