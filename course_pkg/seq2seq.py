r"""An encoder-decoder with attention, and beam search for any encoder-decoder.

Taught in "Attention and beam search" (``book/12_attention``); no
assignment rebuilds it yet.

:class:`course_pkg.models.EncoderDecoder` (Sutskever et al., 2014) hands its
decoder one vector, the encoder's final state. :class:`AttentionEncoderDecoder`
is the same model plus additive attention (Bahdanau, Cho and Bengio, 2015,
:mod:`course_pkg.attention`): before every step the decoder's state queries
*all* the encoder's states, and the context it reads is fed into the step
and into the output layer. Everything else is kept equal (same embeddings,
same unidirectional encoder, the encoder's final state still starts the
decoder) so that the difference between the two models is attention alone.

:func:`beam_search_decode` decodes with either model (or any object with
the same decoding protocol, see :func:`initial_decoder_states`), and
:func:`sequence_log_prob` scores a decoded sequence with a teacher-forced
forward pass, so that a search's claimed score can be checked.

For the chapter's experiments: :func:`train_seq2seq` (Adam with one
learning rate per epoch), :func:`exact_match` (the score of a translation),
:func:`bigram_decoder` (a hand-built decoder whose probabilities are a
table, to show what beam search finds) and :func:`alignment_score` (how
attention weights agree with a reference alignment).

Shapes: N batch, S source length, T target length, D embedding size, H
hidden size (encoder and decoder), A attention size, K target vocabulary,
B beam size.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import (
    FLOAT_DTYPES,
    NON_NEGATIVE,
    POSITIVE,
    as_float_array,
    as_index_array,
    check_cache,
    check_int,
    check_lengths,
    check_real,
    check_rng,
    check_shape,
)
from .activations import log_softmax
from .attention import additive_attention_backward, additive_attention_forward, project_keys
from .attention import init_params as init_attention_params
from .datasets import minibatches
from .layers import (
    dense_backward,
    dense_forward,
    embedding_backward,
    embedding_forward,
)
from .losses import softmax_cross_entropy
from .models import EncoderDecoder, _decode, _init_dense, _init_embedding
from .optim import Adam
from .stack import RecurrentStack
from .train import fit

ATTENTION_KEYS = ("att.Wq", "att.Wk", "att.v")  # parameter names of the attention layer


class AttentionDecoderState(NamedTuple):
    """Everything a decoder step needs: its recurrent states and what it attends to.

    Every array has the batch on its first axis, so that beam search can
    reorder or repeat the rows of all of them alike.
    """

    states: list  # one state tuple per decoder layer, each array (N, H)
    keys: np.ndarray  # (N, S, H) the encoder's states: what is scored and averaged
    keys_proj: np.ndarray  # (N, S, A) keys @ Wk, computed once per source
    mask: np.ndarray  # (N, S) bool, True at the real source positions
    weights: np.ndarray  # (N, S) attention weights of the last step (zeros before the first)


class AttentionSeq2SeqCache(NamedTuple):
    """What :meth:`AttentionEncoderDecoder.backward` needs from its ``forward``."""

    src_emb: object  # the source embedding's cache
    enc: object  # the encoder's StackCache
    tgt_emb: object  # the target embedding's cache
    attention: tuple  # per target step, the AttentionCache
    dec: tuple  # per target step, the decoder's StackCache (one step long)
    dense: object  # the output layer's cache
    weights: np.ndarray  # (N, T, S) the attention weights of every step, 0 at padding


class AttentionEncoderDecoder:
    r"""Encoder-decoder with additive attention (Bahdanau et al., 2015), unidirectional encoder.

    The encoder reads the source; *all* its top-layer states are the keys
    (and values) of the attention, and its final states (at each source's
    last real step) start the decoder, as in
    :class:`~course_pkg.models.EncoderDecoder`. Before decoder step t, the
    previous top-layer state queries the keys; the context (a weighted
    average of the encoder's states) is appended to the step's input (the
    embedded previous word) and to the output layer's input. Padded source
    positions get attention weight exactly 0.

    Training uses teacher forcing (``tgt_in`` starts with ``<bos>``,
    ``tgt_out`` ends with ``<eos>``); :meth:`greedy_decode` feeds back the
    most likely word, and :func:`beam_search_decode` searches wider.

    Parameters
    ----------
    src_vocab, tgt_vocab : int
        Source and target vocabulary sizes (``tgt_vocab`` is K).
    hidden_size : int
        H, the state size of the encoder and of the decoder.
    rng : numpy.random.Generator
        Draws the initial parameters.
    cell : {"rnn", "lstm", "gru"} or Cell
        The same kind for encoder and decoder.
    embed_dim : int
        D, the size of both embeddings.
    attention_size : int, optional
        A, the hidden size of the scoring network. Default: H.
    num_layers : int
        Layers of the encoder and of the decoder; the decoder's top layer
        queries the encoder's top layer.
    dtype : float32 or float64

    Raises
    ------
    TypeError
        ``rng`` not a Generator; a size that is not an integer; ``dtype``
        not float32 or float64.
    ValueError
        A size below 1 (a vocabulary below 2).

    Notes
    -----
    With :math:`k_1 \dots k_S` the encoder's top-layer states (rows of
    ``keys``, (N, S, H)), :math:`s_0` the encoder's final state,
    :math:`w_0 =` ``<bos>`` and :math:`w_1 \dots w_T` the target words, for
    :math:`t = 1 \dots T`:

    .. math::

        e_{t,j} &= \tanh(s_{t-1} W_q + k_j W_k) \cdot v, \qquad
        \alpha_{t,j} = \frac{\exp e_{t,j}}{\sum_{j' \le L} \exp e_{t,j'}}
        \quad (j \le L), \qquad
        c_t = \sum_j \alpha_{t,j}\, k_j

        s_t &= \mathrm{cell}\left([E_{\mathrm{tgt}}[w_{t-1}],\, c_t],\; s_{t-1}\right)

        p(w_t \mid w_{<t}, \text{source}) &= \mathrm{softmax}\left([s_t,\, c_t]\, V + c\right)

    with :math:`L` the source's length and :math:`[a, b]` the concatenation
    of two row vectors. The loss is the mean of
    :math:`-\log p(w_t \mid \dots)` over the real target positions.

    Differences from Bahdanau et al.: their encoder is bidirectional (each
    key also knows the words after it) and their decoder starts from
    :math:`\tanh(\overleftarrow{h}_1 W_s)`; their output layer is a maxout
    layer that also reads :math:`w_{t-1}`. Here the encoder is the one of
    :class:`~course_pkg.models.EncoderDecoder`, so that the two models
    differ only by attention.

    Parameters, keys of ``params``: ``E_src`` (src_vocab, D), the encoder's
    ``enc{l}.*`` (input size D), ``E_tgt`` (K, D), the decoder's ``dec{l}.*``
    (input size D + H for layer 0), ``att.Wq`` (H, A), ``att.Wk`` (H, A),
    ``att.v`` (A,), ``V`` (2H, K) and ``c`` (K,).

    Examples
    --------
    >>> model = AttentionEncoderDecoder(5, 6, 4, rng=np.random.default_rng(0), embed_dim=3)
    >>> src, src_lengths = np.array([[1, 2, 3], [4, 1, 0]]), np.array([3, 2])
    >>> logits, cache = model.forward(src, src_lengths, np.array([[1, 3], [1, 4]]))
    >>> logits.shape, cache.weights.shape  # (N, T, K), (N, T, S)
    ((2, 2, 6), (2, 2, 3))
    >>> float(cache.weights[1, :, 2].max())  # the padded position gets no weight
    0.0
    """

    def __init__(
        self,
        src_vocab: int,
        tgt_vocab: int,
        hidden_size: int,
        *,
        rng,
        cell="gru",
        embed_dim: int = 16,
        attention_size: int | None = None,
        num_layers: int = 1,
        dtype=np.float64,
    ):
        check_rng(rng)
        self.src_vocab = check_int("src_vocab", src_vocab, 2)
        self.tgt_vocab = check_int("tgt_vocab", tgt_vocab, 2)
        H = self.hidden_size = check_int("hidden_size", hidden_size, 1)
        D = self.embed_dim = check_int("embed_dim", embed_dim, 1)
        A = H if attention_size is None else check_int("attention_size", attention_size, 1)
        self.attention_size = A
        if np.dtype(dtype) not in FLOAT_DTYPES:
            raise TypeError(f"dtype must be float32 or float64, got {dtype!r}")
        self.encoder = RecurrentStack(cell, D, H, num_layers, prefix="enc")
        self.decoder = RecurrentStack(cell, D + H, H, num_layers, prefix="dec")
        self.params = {"E_src": _init_embedding(self.src_vocab, D, rng, dtype)}
        self.params.update(self.encoder.init_params(rng, dtype))
        self.params["E_tgt"] = _init_embedding(self.tgt_vocab, D, rng, dtype)
        self.params.update(self.decoder.init_params(rng, dtype))
        attention = init_attention_params(H, H, A, rng, dtype)
        self.params.update({f"att.{name}": value for name, value in attention.items()})
        self.params["V"], self.params["c"] = _init_dense(2 * H, self.tgt_vocab, rng, dtype)

    # ------------------------------------------------------------------ encoder

    def _encode(self, src, src_lengths):
        """Keys (N, S, H), mask (N, S), the decoder's first states, and the encoder's caches."""
        src = as_index_array("src", src, ndim=2, upper=self.src_vocab)
        N, S = src.shape
        if S == 0:
            raise ValueError(f"src must hold at least one position, got shape {src.shape}")
        if src_lengths is not None:
            src_lengths = check_lengths(src_lengths, N, S)
            mask = np.arange(S)[None, :] < src_lengths[:, None]
        else:
            mask = np.ones((N, S), dtype=bool)
        x, emb_cache = embedding_forward(src, self.params["E_src"])  # (N, S, D)
        keys, enc_cache = self.encoder.forward(x, self.params, lengths=src_lengths)  # (N, S, H)
        return keys, mask, self.encoder.final_states(enc_cache), emb_cache, enc_cache

    def initial_states(self, src, src_lengths=None) -> AttentionDecoderState:
        """The decoder's state before its first step, for :meth:`decode_step`.

        Parameters
        ----------
        src : ndarray (N, S) of int
            Source ids, padded after each source's end.
        src_lengths : ndarray (N,) of int, optional
            Each source's length, in [1, S]. Default: all S positions are real.

        Returns
        -------
        AttentionDecoderState
        """
        keys, mask, states, _, _ = self._encode(src, src_lengths)
        keys_proj = project_keys(keys, self.params["att.Wk"])
        return AttentionDecoderState(
            states, keys, keys_proj, mask, np.zeros(mask.shape, keys.dtype)
        )

    # ------------------------------------------------------------------ one decoder step

    def _attend(self, states, keys, keys_proj, mask):
        """Context (N, H), weights (N, S) and cache, the top layer's state as the query."""
        Wq, Wk, v = (self.params[k] for k in ATTENTION_KEYS)
        return additive_attention_forward(states[-1][0], keys, Wq, Wk, v, mask, keys_proj=keys_proj)

    def _step(self, y, states, keys, keys_proj, mask):
        """One step from embedded words y (N, D): (top state, context, new states, caches)."""
        context, weights, att_cache = self._attend(states, keys, keys_proj, mask)
        x = np.concatenate([y, context], axis=1)[:, None, :]  # (N, 1, D + H)
        h, dec_cache = self.decoder.forward(x, self.params, states)  # (N, 1, H)
        return h[:, 0], context, weights, self.decoder.final_states(dec_cache), att_cache, dec_cache

    def decode_step(self, tokens, state: AttentionDecoderState):
        """One decoder step: tokens (N,) -> logits (N, K) and the next state.

        ``state`` comes from :meth:`initial_states` or from the previous call;
        the returned state's ``weights`` are this step's attention weights.
        """
        if not isinstance(state, AttentionDecoderState):
            raise TypeError(
                "state must be the AttentionDecoderState of initial_states or decode_step, "
                f"got {type(state).__name__}"
            )
        tokens = as_index_array("tokens", tokens, ndim=1, upper=self.tgt_vocab)
        check_shape("tokens", tokens, state.mask.shape[:1])
        y, _ = embedding_forward(tokens, self.params["E_tgt"])  # (N, D)
        h, context, weights, states, _, _ = self._step(
            y, state.states, state.keys, state.keys_proj, state.mask
        )
        logits, _ = dense_forward(
            np.concatenate([h, context], axis=1), self.params["V"], self.params["c"]
        )
        return logits, AttentionDecoderState(
            states, state.keys, state.keys_proj, state.mask, weights
        )

    # ------------------------------------------------------------------ training

    def forward(self, src, src_lengths, tgt_in):
        """Teacher-forced logits (N, T, K) and the cache for :meth:`backward`.

        Parameters
        ----------
        src : ndarray (N, S) of int
        src_lengths : ndarray (N,) of int, or None (every position is real)
        tgt_in : ndarray (N, T) of int
            The target ids shifted right, starting with ``<bos>``.

        Returns
        -------
        logits : ndarray (N, T, K)
        cache : AttentionSeq2SeqCache
            Its ``weights`` (N, T, S) are the attention weights of every step.
        """
        keys, mask, states, src_emb, enc_cache = self._encode(src, src_lengths)
        tgt_in = as_index_array("tgt_in", tgt_in, ndim=2, upper=self.tgt_vocab)
        N, T = tgt_in.shape
        if N != keys.shape[0]:
            raise ValueError(
                f"tgt_in must hold one row per source: src has N={keys.shape[0]}, "
                f"tgt_in has shape {tgt_in.shape}"
            )
        if T == 0:
            raise ValueError(f"tgt_in must hold at least one step, got shape {tgt_in.shape}")
        keys_proj = project_keys(keys, self.params["att.Wk"])  # (N, S, A), once for all steps
        y, tgt_emb = embedding_forward(tgt_in, self.params["E_tgt"])  # (N, T, D)
        tops, contexts, weights, att_caches, dec_caches = [], [], [], [], []
        for t in range(T):
            h, context, alpha, states, att_cache, dec_cache = self._step(
                y[:, t], states, keys, keys_proj, mask
            )
            tops.append(h)
            contexts.append(context)
            weights.append(alpha)
            att_caches.append(att_cache)
            dec_caches.append(dec_cache)
        readout = np.concatenate([np.stack(tops, axis=1), np.stack(contexts, axis=1)], axis=2)
        logits, dense_cache = dense_forward(
            readout, self.params["V"], self.params["c"]
        )  # (N, T, K)
        cache = AttentionSeq2SeqCache(
            src_emb,
            enc_cache,
            tgt_emb,
            tuple(att_caches),
            tuple(dec_caches),
            dense_cache,
            np.stack(weights, axis=1),
        )
        return logits, cache

    def backward(self, dlogits, cache: AttentionSeq2SeqCache) -> dict:
        """Gradients of every parameter from ``dlogits`` (N, T, K), the gradient of the logits.

        Notes
        -----
        Backward through the steps in reverse order. Step t's state
        :math:`s_t` receives gradient from the output layer at step t, from
        step t + 1's recurrence, and from step t + 1's attention, where it
        was the query. The context :math:`c_t` receives gradient from the
        output layer and from the step's input. The keys, the attention
        weights and the decoder's weights are shared by all steps, so their
        gradients are sums over the steps; the keys' sum then flows into the
        encoder, together with the gradient on its final state (the
        decoder's :math:`s_0`).
        """
        check_cache("cache", cache, AttentionSeq2SeqCache)
        H, D = self.hidden_size, self.embed_dim
        dreadout, dV, dc_out = dense_backward(dlogits, cache.dense)  # c: the output layer's bias
        dtops, dcontexts = dreadout[..., :H], dreadout[..., H:]  # (N, T, H) each
        N, T, _ = dtops.shape
        keys = cache.attention[0].keys
        dkeys = np.zeros_like(keys)
        dy = np.zeros((N, T, D), dtype=keys.dtype)
        grads = {"V": dV, "c": dc_out}
        for name in ATTENTION_KEYS:
            grads[name] = np.zeros_like(self.params[name])
        dstates = None  # gradient on the states after the last step: nothing reads them
        for t in range(T - 1, -1, -1):
            dx, dstates0, g = self.decoder.backward(dtops[:, t : t + 1], cache.dec[t], dstates)
            for name, value in g.items():
                grads[name] = grads[name] + value if name in grads else value
            dy[:, t] = dx[:, 0, :D]
            dcontext = dx[:, 0, D:] + dcontexts[:, t]
            dquery, dkeys_t, dWq, dWk, dv = additive_attention_backward(
                dcontext, cache.attention[t]
            )
            dkeys = dkeys + dkeys_t
            for name, value in zip(ATTENTION_KEYS, (dWq, dWk, dv), strict=True):
                grads[name] = grads[name] + value
            # the query was the top layer's hidden state before step t
            top = dstates0[-1]
            dstates = [*dstates0[:-1], (top[0] + dquery, *top[1:])]
        dx_src, _, enc_grads = self.encoder.backward(dkeys, cache.enc, dstates)
        grads.update(enc_grads)
        grads["E_tgt"] = embedding_backward(dy, cache.tgt_emb)
        grads["E_src"] = embedding_backward(dx_src, cache.src_emb)
        return {name: grads[name] for name in self.params}

    def loss_and_grads(self, src, src_lengths, tgt_in, tgt_out, tgt_mask=None):
        """Teacher-forced mean cross-entropy over the real target tokens, and the gradients.

        Parameters
        ----------
        src : ndarray (N, S) of int
        src_lengths : ndarray (N,) of int, or None
        tgt_in, tgt_out : ndarray (N, T) of int
            ``<bos> w_1 .. w_L`` and ``w_1 .. w_L <eos>``, padded after the end.
        tgt_mask : ndarray (N, T) of 0/1 (bool or float), optional
            1 on the real target steps. Default: every step counts.

        Returns
        -------
        loss : float (nats per target token)
        grads : dict, one array per entry of ``params``
        """
        logits, cache = self.forward(src, src_lengths, tgt_in)
        tgt_out = as_index_array("tgt_out", tgt_out, ndim=2, upper=self.tgt_vocab)
        check_shape("tgt_out", tgt_out, logits.shape[:2])
        loss, dlogits = softmax_cross_entropy(logits, tgt_out, tgt_mask)
        return loss, self.backward(dlogits, cache)

    # ------------------------------------------------------------------ decoding

    def greedy_decode(
        self, src, src_lengths, bos: int, eos: int, max_len: int, *, return_weights: bool = False
    ):
        """Decode by feeding back the most likely token.

        Parameters
        ----------
        src : ndarray (N, S) of int
        src_lengths : ndarray (N,) of int, or None
        bos, eos : int
            Ids of ``<bos>`` (the first input) and ``<eos>`` (stop).
        max_len : int
            At most this many tokens per sequence, ``<eos>`` included.
        return_weights : bool
            Also return the attention weights of every output step.

        Returns
        -------
        tokens : ndarray (N, max_len) of int64
            The tokens up to and including ``<eos>``, then 0 (``<pad>``).
        weights : ndarray (N, max_len, S), only if ``return_weights``
            Row t holds the weights with which output token t was produced;
            0 after ``<eos>`` and at padded source positions.
        """
        bos = check_int("bos", bos, 0, self.tgt_vocab - 1)
        eos = check_int("eos", eos, 0, self.tgt_vocab - 1)
        max_len = check_int("max_len", max_len, 1)
        if not isinstance(return_weights, (bool, np.bool_)):
            raise TypeError(f"return_weights must be a bool, got {type(return_weights).__name__}")
        state = self.initial_states(src, src_lengths)
        steps = []

        def step(tokens, state):
            logits, state = self.decode_step(tokens, state)
            steps.append(state.weights)
            return logits, state

        N = state.mask.shape[0]
        tokens = _decode(step, state, N, bos, eos, max_len, lambda logits: logits.argmax(axis=1))
        if not return_weights:
            return tokens
        weights = np.zeros((N, max_len, state.mask.shape[1]), dtype=state.keys.dtype)
        weights[:, : len(steps)] = np.stack(steps, axis=1)
        is_eos = tokens == eos
        after_eos = (np.cumsum(is_eos, axis=1) - is_eos) > 0  # (N, max_len)
        weights[after_eos] = 0.0
        return tokens, weights


# ---------------------------------------------------------------------- beam search


class BeamSearchResult(NamedTuple):
    """What :func:`beam_search_decode` returns."""

    tokens: np.ndarray  # (N, max_len) int64, the chosen hypothesis: up to <eos>, then 0
    log_prob: np.ndarray  # (N,) its total log-probability, <eos> included
    beams: np.ndarray  # (N, B, max_len) every hypothesis left in the beam, best first
    beam_log_probs: np.ndarray  # (N, B) their total log-probabilities


def _select_rows(tree, rows):
    """Index every array in a nest of lists, tuples and NamedTuples by ``rows`` on axis 0."""
    if isinstance(tree, np.ndarray):
        return tree[rows]
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):  # a NamedTuple
        return type(tree)(*(_select_rows(item, rows) for item in tree))
    if isinstance(tree, (list, tuple)):
        return type(tree)(_select_rows(item, rows) for item in tree)
    if tree is None:
        return None
    raise TypeError(f"decoder states must be arrays, lists or tuples, got {type(tree).__name__}")


def initial_decoder_states(model, src, src_lengths=None):
    """The decoder's states before its first step, for the model's ``decode_step``.

    The protocol :func:`beam_search_decode` needs from a model: the
    attribute ``tgt_vocab`` (K), ``decode_step(tokens (N,), states) ->
    (logits (N, K), states)``, where ``states`` is a nest of lists, tuples
    and arrays with the batch on the first axis, and
    ``initial_states(src (N, S), src_lengths (N,) or None) -> states``, as
    :class:`AttentionEncoderDecoder` and
    :class:`~course_pkg.models.EncoderDecoder` have.

    Raises
    ------
    TypeError
        A model without ``initial_states``.
    """
    if callable(getattr(model, "initial_states", None)):
        return model.initial_states(src, src_lengths)
    raise TypeError(
        "model must be an EncoderDecoder or have initial_states(src, src_lengths) and "
        f"decode_step(tokens, states), got {type(model).__name__}"
    )


def _check_decoder(model) -> int:
    """K, after checking that ``model`` follows the decoding protocol."""
    K = getattr(model, "tgt_vocab", None)
    if not callable(getattr(model, "decode_step", None)) or K is None:
        raise TypeError(
            "model must have tgt_vocab and decode_step(tokens, states) (an EncoderDecoder or "
            f"an AttentionEncoderDecoder), got {type(model).__name__}"
        )
    return check_int("model.tgt_vocab", K, 2)


def length_normalised(log_probs, lengths, length_penalty: float):
    r"""Scores divided by the length penalty of Wu et al. (2016).

    ``log_probs`` and ``lengths`` are arrays of the same shape (for beam
    search (N, B)); the result has that shape too.

    .. math:: \frac{\log p(y)}{\mathrm{lp}(y)}, \qquad
              \mathrm{lp}(y) = \left(\frac{5 + |y|}{6}\right)^{\alpha}

    with :math:`|y|` the number of tokens, ``<eos>`` included, and
    :math:`\alpha` = ``length_penalty``. :math:`\alpha = 0` leaves the
    scores unchanged; a larger :math:`\alpha` is kinder to long hypotheses,
    whose total log-probability is a sum of more negative terms.
    """
    return log_probs / ((5.0 + lengths) / 6.0) ** length_penalty


def beam_search_decode(
    model,
    src,
    src_lengths,
    beam_size: int,
    bos: int,
    eos: int,
    max_len: int,
    length_penalty: float = 0.0,
) -> BeamSearchResult:
    r"""Decode by keeping the ``beam_size`` most probable partial outputs at every step.

    Parameters
    ----------
    model : EncoderDecoder, AttentionEncoderDecoder, or an object with their protocol
        See :func:`initial_decoder_states`.
    src : ndarray (N, S) of int
    src_lengths : ndarray (N,) of int, or None
    beam_size : int
        B, in [1, K]. ``beam_size=1`` is greedy decoding.
    bos, eos : int
        Ids of ``<bos>`` (the first input) and ``<eos>`` (stop).
    max_len : int
        At most this many tokens per hypothesis, ``<eos>`` included.
    length_penalty : float >= 0
        :math:`\alpha` of :func:`length_normalised`: the final choice among
        the hypotheses left in the beam maximises their log-probability
        divided by :math:`((5 + |y|)/6)^\alpha`. 0 (default): the most
        probable one.

    Returns
    -------
    BeamSearchResult
        ``tokens`` (N, max_len) in the format of ``greedy_decode`` (0 after
        ``<eos>``), ``log_prob`` (N,) its total log-probability (not
        normalised), and every hypothesis left in the beam, best first.

    Raises
    ------
    TypeError
        A model without the protocol; ids or sizes not integers.
    ValueError
        ``beam_size`` outside [1, K], ``bos`` or ``eos`` outside [0, K),
        ``max_len < 1``, a negative ``length_penalty``, or bad source arrays
        (the model's own checks).

    Notes
    -----
    Each example keeps B hypotheses :math:`y_{1:t}` with their scores
    :math:`\log p(y_{1:t} \mid x) = \sum_{u \le t} \log p(y_u \mid y_{<u}, x)`.
    At every step all B of them are fed to ``decode_step`` as one batch of
    N B rows; each of the B K one-word extensions gets its parent's score
    plus its word's log-probability, and the B best extensions become the
    new beam. Their recurrent states are those of their parents, which the
    rows of the next batch select. A hypothesis that has emitted ``<eos>``
    stays in the beam and competes with the others under its final score:
    its only extension is padding, at log-probability 0. The search stops
    when every hypothesis has ended or after ``max_len`` steps. It costs B
    times the decoder work of greedy decoding, plus a sort of B K scores per
    example and step.

    At the first step only one hypothesis (``<bos>``) exists; the other
    B - 1 slots start at score :math:`-\infty`, so the first step's B best
    extensions are the B most likely first words. Ties are broken toward
    the earlier hypothesis and the smaller word id, as ``argmax`` does, so
    with B = 1 every step takes the most likely word: greedy decoding. Beam
    search is not exact: the most probable sequence can start with a word
    that falls out of the beam early.
    """
    K = _check_decoder(model)
    B = check_int("beam_size", beam_size, 1, K)
    bos = check_int("bos", bos, 0, K - 1)
    eos = check_int("eos", eos, 0, K - 1)
    max_len = check_int("max_len", max_len, 1)
    length_penalty = check_real("length_penalty", length_penalty, NON_NEGATIVE)
    states = initial_decoder_states(model, src, src_lengths)
    N = np.shape(src)[0]
    states = _select_rows(states, np.repeat(np.arange(N), B))  # B copies of each example's states
    scores = np.full((N, B), -np.inf)
    scores[:, 0] = 0.0  # only <bos> exists at first
    finished = np.zeros((N, B), dtype=bool)
    lengths = np.zeros((N, B), dtype=np.int64)
    history = np.zeros((N, B, max_len), dtype=np.int64)
    pad_only = np.full(K, -np.inf)
    pad_only[0] = 0.0  # an ended hypothesis continues with padding, at no cost
    rows = np.arange(N)[:, None]
    tokens = np.full(N * B, bos, dtype=np.int64)
    for t in range(max_len):
        logits, states = model.decode_step(tokens, states)
        logp = log_softmax(np.asarray(logits, dtype=np.float64), axis=1).reshape(N, B, K)
        logp = np.where(finished[:, :, None], pad_only, logp)
        candidates = (scores[:, :, None] + logp).reshape(N, B * K)
        best = np.argsort(-candidates, axis=1, kind="stable")[:, :B]  # (N, B), ties: lower index
        parent, word = np.divmod(best, K)
        scores = np.take_along_axis(candidates, best, axis=1)
        ended = finished[rows, parent]
        history = history[rows, parent]
        history[:, :, t] = np.where(ended, 0, word)
        lengths = np.where(ended, lengths[rows, parent], t + 1)
        finished = ended | (word == eos)
        states = _select_rows(states, (rows * B + parent).ravel())
        tokens = word.ravel()
        if finished.all():
            break
    order = np.argsort(-length_normalised(scores, lengths, length_penalty), axis=1, kind="stable")
    beams = history[rows, order]
    beam_log_probs = np.take_along_axis(scores, order, axis=1)
    return BeamSearchResult(beams[:, 0], beam_log_probs[:, 0], beams, beam_log_probs)


def bigram_decoder(log_probs, src_vocab: int = 2) -> EncoderDecoder:
    r"""A hand-built :class:`~course_pkg.models.EncoderDecoder` whose next word depends only on
    the previous one, with probabilities read off a table.

    For experiments with decoding, where the probability of every output
    must be known exactly: ``decode_step`` returns ``log_probs[token]`` as
    the logits, whatever the source and the earlier words.

    Parameters
    ----------
    log_probs : ndarray (K, K) float64
        Row ``a`` is the log-probability of each next word after word ``a``
        (it is used as logits, so rows need not be normalised; ``-inf`` is
        not allowed, use a large negative number such as -50).
    src_vocab : int
        Size of the (ignored) source vocabulary.

    Returns
    -------
    EncoderDecoder
        A vanilla-RNN model with K hidden units and embedding size K.

    Notes
    -----
    The embedding of word ``a`` is 20 times the one-hot vector of ``a``,
    ``U`` is the identity and the recurrent ``W`` and ``b`` are 0, so the
    decoder's state after reading ``a`` is :math:`\tanh(20\, e_a) = e_a`
    exactly in float64 (:math:`\tanh 20` rounds to 1). The output layer
    then gives :math:`e_a V + c` = row ``a`` of ``log_probs`` (``V`` is the
    table, ``c = 0``). The initial state, and with it the source, is
    multiplied by ``W = 0`` and never matters.

    Examples
    --------
    >>> table = np.log(np.array([[0.5, 0.5], [0.9, 0.1]]))
    >>> model = bigram_decoder(table)
    >>> states = initial_decoder_states(model, np.array([[1]]))
    >>> logits, _ = model.decode_step(np.array([1]), states)
    >>> np.exp(logits).round(2)
    array([[0.9, 0.1]])
    """
    log_probs = as_float_array("log_probs", log_probs, ndim=2)
    K = log_probs.shape[0]
    check_shape("log_probs", log_probs, (K, K))
    if K < 2:
        raise ValueError(f"log_probs must be at least 2 x 2, got {log_probs.shape}")
    model = EncoderDecoder(
        check_int("src_vocab", src_vocab, 1), K, K, rng=np.random.default_rng(0), cell="rnn",
        embed_dim=K,
    )  # fmt: skip
    for name, value in model.params.items():
        model.params[name] = np.zeros_like(value, dtype=np.float64)
    model.params["E_tgt"] = 20.0 * np.eye(K)
    model.params["dec0.U"] = np.eye(K)
    model.params["V"] = log_probs.astype(np.float64)
    return model


def exact_match(tokens, tgt_out):
    """Whether each decoded sequence equals its reference exactly, ``<eos>`` included.

    Parameters
    ----------
    tokens : ndarray (N, T1) of int
        Decoded sequences, 0 after ``<eos>`` (the output of ``greedy_decode``
        or :func:`beam_search_decode`).
    tgt_out : ndarray (N, T2) of int
        The references, ``w_1 .. w_L <eos>`` then 0 (``TranslationData.tgt_out``).

    Returns
    -------
    ndarray (N,) of bool
        The widths may differ: the shorter array counts as padded with 0.

    Examples
    --------
    >>> exact_match(np.array([[5, 2, 0], [5, 6, 2]]), np.array([[5, 2], [5, 2]]))
    array([ True, False])
    """
    tokens = as_index_array("tokens", tokens, ndim=2)
    tgt_out = as_index_array("tgt_out", tgt_out, ndim=2)
    if tokens.shape[0] != tgt_out.shape[0]:
        raise ValueError(
            f"tokens and tgt_out must hold the same number of rows, got {tokens.shape} "
            f"and {tgt_out.shape}"
        )
    width = max(tokens.shape[1], tgt_out.shape[1])

    def padded(a):
        return np.pad(a, ((0, 0), (0, width - a.shape[1])))

    return np.all(padded(tokens) == padded(tgt_out), axis=1)


def sequence_log_prob(model, src, src_lengths, tokens, bos: int, eos: int):
    r"""Total log-probability of decoded sequences, recomputed by a teacher-forced forward pass.

    Parameters
    ----------
    model : EncoderDecoder or AttentionEncoderDecoder
        Anything with ``forward(src, src_lengths, tgt_in) -> (logits, cache)``.
    src : ndarray (N, S) of int
    src_lengths : ndarray (N,) of int, or None
    tokens : ndarray (N, T) of int
        Decoded sequences in the format of ``greedy_decode``: each up to and
        including its first ``<eos>``, anything after it ignored; a row
        without ``<eos>`` counts all T tokens.
    bos, eos : int

    Returns
    -------
    ndarray (N,) float64
        :math:`\sum_t \log p(y_t \mid y_{<t}, x)` over each sequence's tokens.
    """
    if not callable(getattr(model, "forward", None)):
        raise TypeError(
            f"model must have forward(src, src_lengths, tgt_in), got {type(model).__name__}"
        )
    K = _check_decoder(model)
    tokens = as_index_array("tokens", tokens, ndim=2, upper=K)
    bos = check_int("bos", bos, 0, K - 1)
    eos = check_int("eos", eos, 0, K - 1)
    N, T = tokens.shape
    if T == 0:
        raise ValueError(f"tokens must hold at least one step, got shape {tokens.shape}")
    is_eos = tokens == eos
    lengths = np.where(is_eos.any(axis=1), is_eos.argmax(axis=1) + 1, T)  # <eos> included
    mask = np.arange(T)[None, :] < lengths[:, None]
    tgt_in = np.concatenate([np.full((N, 1), bos, dtype=np.int64), tokens[:, :-1]], axis=1)
    logits, _ = model.forward(src, src_lengths, tgt_in)
    logp = log_softmax(np.asarray(logits, dtype=np.float64), axis=-1)
    picked = np.take_along_axis(logp, tokens[..., None], axis=-1)[..., 0]  # (N, T)
    return np.where(mask, picked, 0.0).sum(axis=1)


# ---------------------------------------------------------------------- training and reading


def train_seq2seq(
    model,
    data,
    rng,
    *,
    learning_rates=(1e-2, 3e-3, 1e-3),
    batch_size: int = 32,
    clip_norm: float | None = 5.0,
):
    """Train an encoder-decoder on translation pairs with Adam, one learning rate per epoch.

    Parameters
    ----------
    model : EncoderDecoder or AttentionEncoderDecoder
    data : tuple (src, src_lengths, tgt_in, tgt_out, tgt_mask)
        The first five fields of a :class:`~course_pkg.datasets.TranslationData`.
    rng : numpy.random.Generator
        Shuffles the pairs anew at every epoch.
    learning_rates : sequence of float
        Adam's learning rate in each epoch; their number is the number of
        epochs. Adam's moment estimates carry over from one epoch to the next.
    batch_size : int
    clip_norm : float or None
        As for :func:`course_pkg.train.fit`.

    Returns
    -------
    History
        One training loss per epoch (``train_loss``), as :func:`~course_pkg.train.fit`'s.

    Notes
    -----
    Why a falling learning rate: at a constant 0.01 the attention model of
    ``book/12_attention`` learns fast, but its training becomes chaotic once
    it is good. In our runs, two trainings whose parameters differed by
    1e-13 at the start (as rounding on another processor makes them differ)
    ended up to 1e-2 apart after two epochs, enough to change some decoded
    outputs. With the rate lowered after the first epoch the difference
    stayed near 1e-6 or below, and the chapter's results are the same on
    every processor.
    """
    check_rng(rng)
    learning_rates = [check_real("learning rate", lr, POSITIVE) for lr in learning_rates]
    if not learning_rates:
        raise ValueError("learning_rates must hold at least one rate (one epoch), got none")
    optimizer = Adam(learning_rates[0])

    def next_rate(epoch, history):
        if epoch + 1 < len(learning_rates):
            optimizer.lr = learning_rates[epoch + 1]

    return fit(
        model,
        minibatches(tuple(data), batch_size, rng),
        optimizer,
        len(learning_rates),
        clip_norm=clip_norm,
        on_epoch_end=next_rate,
    )


class AlignmentScore(NamedTuple):
    """How attention weights agree with a reference alignment: see :func:`alignment_score`."""

    on_own: float  # share of aligned words whose largest weight is on one of their positions
    own_weight: float  # mean total weight aligned words put on their positions
    on_next: float  # share of unaligned words whose largest weight is on the next aligned word's
    n_aligned: int  # aligned words counted
    n_unaligned: int  # unaligned words counted (those followed by an aligned word)


def alignment_score(weights, alignments) -> AlignmentScore:
    """Compare attention weights with the source positions each output word comes from.

    Parameters
    ----------
    weights : ndarray (N, T, S)
        Attention weights of N decoded outputs (``greedy_decode(...,
        return_weights=True)``), row t the weights with which word t was
        produced.
    alignments : list of N lists of tuples of int
        For each output, one tuple per word (``<eos>`` excluded): the
        source positions the word comes from, or ``()`` for a word that
        comes from no single position (for numbers:
        :func:`course_pkg.datasets.translation.word_alignment`).

    Returns
    -------
    AlignmentScore

    Raises
    ------
    ValueError
        ``weights`` not 3-D, or ``alignments`` not one list per output,
        longer than T or pointing outside [0, S).
    """
    weights = as_float_array("weights", weights, ndim=3)
    N, T, S = weights.shape
    if not isinstance(alignments, (list, tuple)) or len(alignments) != N:
        got = (
            len(alignments) if isinstance(alignments, (list, tuple)) else type(alignments).__name__
        )
        raise ValueError(f"alignments must hold one list per output, N={N}, got {got}")
    on_own, own_weight, on_next = [], [], []
    for n, spans in enumerate(alignments):
        if len(spans) > T or any(p < 0 or p >= S for span in spans for p in span):
            raise ValueError(
                f"alignments[{n}] does not fit weights of {T} steps over {S} positions"
            )
        peaks = weights[n].argmax(axis=1)  # (T,) the position each word looks at most
        for t, span in enumerate(spans):
            if span:
                on_own.append(peaks[t] in span)
                own_weight.append(weights[n, t, list(span)].sum())
                continue
            following = next((later for later in spans[t + 1 :] if later), None)
            if following is not None:
                on_next.append(peaks[t] in following)

    def mean(values):
        return float(np.mean(values)) if values else float("nan")

    return AlignmentScore(mean(on_own), mean(own_weight), mean(on_next), len(on_own), len(on_next))
