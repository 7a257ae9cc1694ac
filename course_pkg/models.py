r"""Models: thin classes over the functional layers.

Taught in "Architecture types" (``book/04_architectures``) and
"Applications" (``book/10_applications``). Each model holds a flat dict
``params`` of arrays and the configuration; it has no hidden state between
calls. Every model has the same three methods:

- ``forward(inputs...)`` returns ``(outputs, cache)``;
- ``backward(doutputs, cache)`` returns one gradient per entry of ``params``;
- ``loss_and_grads(batch...)`` returns ``(loss, grads)``, which is all
  :func:`course_pkg.train.fit` and the optimizers need.

The states that truncated BPTT carries from one chunk to the next travel in
a :class:`CarriedState`, passed to :meth:`CharLM.loss_and_grads`.

- :class:`CharLM`: one-to-many / many-to-many language model over characters.
- :class:`SequenceClassifier`: many-to-one (sentiment, the adding problem).
- :class:`Forecaster`: many-to-one regression of the next values of a series.
- :class:`SequenceTagger`: synced many-to-many, optionally bidirectional.
- :class:`EncoderDecoder`: many-to-many with different lengths (Cho et al., 2014).

Every recurrent part is a :class:`course_pkg.stack.RecurrentStack`, so every
model takes ``cell="rnn" | "lstm" | "gru"`` (or a :class:`course_pkg.cells.Cell`
built on your own functions) and ``num_layers``.

Dropout (taught in "Practical matters", ``book/11_practical``):
:class:`CharLM`, :class:`SequenceClassifier`, :class:`Forecaster` and
:class:`SequenceTagger` take ``dropout=p`` (default 0, no dropout) and
``variational=True|False``. Dropout is applied to the inputs of the recurrent
stack (the embedded tokens or the features) and to the states the output
layer reads, never to the recurrent connection itself. It is active only in
a call with ``train=True``, and its masks come from the ``rng`` passed in that
same call::

    loss, grads = model.loss_and_grads(ids, labels, lengths, train=True, rng=drop_rng)

Every other call (``predict``, ``evaluate``, ``sample``, or ``train=False``)
is deterministic and uses all units. With ``dropout=0`` a ``train=True`` call
gives exactly the results of ``train=False``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ._validate import (
    FRACTION,
    as_float_array,
    as_index_array,
    check_lengths,
    check_real,
    check_rng,
)
from .activations import log_softmax
from .layers import (
    DropoutCache,
    dense_backward,
    dense_forward,
    dropout_backward,
    dropout_forward,
    embedding_backward,
    embedding_forward,
)
from .losses import binary_cross_entropy_with_logits, mean_squared_error, softmax_cross_entropy
from .stack import RecurrentStack


def _check_dropout(dropout, variational) -> tuple[float, bool]:
    dropout = check_real("dropout", dropout, FRACTION)
    if not isinstance(variational, (bool, np.bool_)):
        raise TypeError(f"variational must be a bool, got {type(variational).__name__}")
    return float(dropout), bool(variational)


def _check_train(train, rng, dropout: float) -> bool:
    """Validate the ``train=`` / ``rng=`` pair of a forward call; True if dropout is active."""
    if not isinstance(train, (bool, np.bool_)):
        raise TypeError(f"train must be a bool, got {type(train).__name__}")
    if not train:
        if rng is not None:
            raise ValueError(
                "rng was given but train=False: dropout is off at evaluation, so no random "
                "mask is drawn; pass train=True to train with dropout"
            )
        return False
    if dropout == 0.0:
        return False  # nothing to drop: train=True computes what train=False does
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"train=True with dropout={dropout} needs rng=np.random.default_rng(seed) for the "
            f"dropout masks, got rng of type {type(rng).__name__}"
        )
    return True


def _drop(x, p: float, rng, active: bool, variational: bool):
    """Dropout on x (N, T, F) or (N, F) if ``active``; returns (y, cache or None)."""
    if not active:
        return x, None
    return dropout_forward(x, p, rng, train=True, same_mask_over_time=variational and x.ndim == 3)


def _undrop(dy, cache: DropoutCache | None):
    """Backward of :func:`_drop`."""
    return dy if cache is None else dropout_backward(dy, cache)


def _init_dense(H: int, K: int, rng: np.random.Generator, dtype) -> tuple:
    k = 1.0 / np.sqrt(H)
    return rng.uniform(-k, k, size=(H, K)).astype(dtype), np.zeros(K, dtype=dtype)


def _init_embedding(K: int, D: int, rng: np.random.Generator, dtype) -> np.ndarray:
    return (0.1 * rng.standard_normal((K, D))).astype(dtype)


def count_params(params: dict) -> int:
    """Total number of scalars in a parameter dict."""
    return int(sum(np.asarray(p).size for p in params.values()))


def sample_from_logits(logits, rng, temperature: float = 1.0, top_k: int | None = None):
    r"""Draw one index per row from ``softmax(logits / temperature)``.

    Parameters
    ----------
    logits : ndarray (N, K)
    rng : numpy.random.Generator
    temperature : float > 0
        Below 1 sharpens the distribution (safer, more repetitive text);
        above 1 flattens it (more varied, more mistakes).
    top_k : int, optional
        Keep only the ``top_k`` most likely indices before sampling.

    Returns
    -------
    ndarray (N,) of int64
    """
    logits = as_float_array("logits", logits, ndim=2)
    check_rng(rng)
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    K = logits.shape[1]
    scaled = logits.astype(np.float64) / temperature
    if top_k is not None:
        if not isinstance(top_k, (int, np.integer)) or not 1 <= top_k <= K:
            raise ValueError(f"top_k must be an integer in [1, {K}], got {top_k!r}")
        kth = np.sort(scaled, axis=1)[:, K - top_k][:, None]
        scaled = np.where(scaled >= kth, scaled, -np.inf)
    probs = np.exp(log_softmax(scaled, axis=1))
    # inverse-CDF sampling: one uniform draw per row
    u = rng.random((logits.shape[0], 1))
    return np.minimum((np.cumsum(probs, axis=1) < u).sum(axis=1), K - 1).astype(np.int64)


class ManyToManyCache(NamedTuple):
    """What the backward pass of a model with an output at every step needs."""

    emb: object  # the embedding's cache
    stack: object  # the recurrent stack's StackCache
    dense: object  # the output layer's cache
    drop_in: DropoutCache | None = None  # dropout on the embedded tokens (N, T, D)
    drop_out: DropoutCache | None = None  # dropout on the top states (N, T, H)


@dataclass
class CarriedState:
    """The recurrent states that one chunk of truncated BPTT hands to the next.

    Give the same object to :meth:`CharLM.loss_and_grads` for every chunk of
    a pass over the text: each call starts from ``states`` and leaves the
    chunk's final states there. No gradient crosses from one chunk to the
    next; only the values do. A fresh object (``states=None``) starts from
    zero states.
    """

    states: list | None = None  # one state tuple per layer, or None for zeros


class _ManyToMany:
    """Embedding, recurrent stack and output layer at every step: what :class:`CharLM` and
    :class:`SequenceTagger` share. Subclasses set ``params``, ``stack``, ``vocab_size``,
    ``dropout`` and ``variational``."""

    def _forward(self, ids, states0, lengths, train: bool, rng):
        active = _check_train(train, rng, self.dropout)
        ids = as_index_array("ids", ids, ndim=2, upper=self.vocab_size)
        x, emb_cache = embedding_forward(ids, self.params["E"])
        x, drop_in = _drop(x, self.dropout, rng, active, self.variational)
        h, stack_cache = self.stack.forward(x, self.params, states0, lengths=lengths)
        h, drop_out = _drop(h, self.dropout, rng, active, self.variational)
        logits, dense_cache = dense_forward(h, self.params["V"], self.params["c"])
        return logits, ManyToManyCache(emb_cache, stack_cache, dense_cache, drop_in, drop_out)

    def backward(self, dlogits, cache: ManyToManyCache) -> dict:
        """Gradients of every parameter from ``dlogits`` (N, T, K), the gradient of the logits."""
        dh, dV, dc_out = dense_backward(dlogits, cache.dense)  # c: the output layer's bias
        dx, _, grads = self.stack.backward(_undrop(dh, cache.drop_out), cache.stack)
        grads.update(E=embedding_backward(_undrop(dx, cache.drop_in), cache.emb), V=dV, c=dc_out)
        return grads


class CharLM(_ManyToMany):
    r"""Character language model: embedding, recurrent stack, output layer at every step.

    .. math:: x_t = E[\text{id}_t], \quad h_t = \text{cell}(x_t, h_{t-1}), \quad
              p(\text{id}_{t+1} \mid \text{id}_{\le t}) = \mathrm{softmax}(h_t V + c)

    Parameters
    ----------
    vocab_size : int
        K, the number of distinct characters.
    hidden_size : int
    rng : numpy.random.Generator
        Draws the initial parameters.
    cell : {"rnn", "lstm", "gru"} or Cell
    embed_dim : int
    num_layers : int
    dtype : float32 or float64
    dropout : float in [0, 1)
        Probability of dropping a unit of the embedded inputs and of the top
        states, in calls with ``train=True`` only. 0 (default) turns it off.
    variational : bool
        If True, each sequence keeps one dropout mask for all its time steps
        (Gal and Ghahramani, 2016); if False, every step draws a new mask.
    """

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        *,
        rng,
        cell="lstm",
        embed_dim: int = 32,
        num_layers: int = 1,
        dtype=np.float64,
        dropout: float = 0.0,
        variational: bool = False,
    ):
        check_rng(rng)
        self.dropout, self.variational = _check_dropout(dropout, variational)
        self.vocab_size = vocab_size
        self.stack = RecurrentStack(cell, embed_dim, hidden_size, num_layers)
        self.params = {"E": _init_embedding(vocab_size, embed_dim, rng, dtype)}
        self.params.update(self.stack.init_params(rng, dtype))
        self.params["V"], self.params["c"] = _init_dense(hidden_size, vocab_size, rng, dtype)

    def forward(self, ids, states0=None, *, train: bool = False, rng=None):
        """Logits (N, T, K) for ids (N, T), and the cache for :meth:`backward`.

        ``states0`` (one state tuple per layer; None: zeros) is where the
        recurrence starts. ``train=True`` with ``rng`` (a Generator) applies
        dropout if ``dropout > 0``; the default is the deterministic
        evaluation pass.
        """
        return self._forward(ids, states0, None, train, rng)

    def loss_and_grads(self, inputs, targets, carry=None, *, train: bool = False, rng=None):
        """Mean cross-entropy per character and its gradients.

        Parameters
        ----------
        inputs, targets : ndarray (N, T) of int
            ``targets`` is ``inputs`` shifted one character ahead.
        carry : CarriedState, optional
            Truncated BPTT: the chunk starts from ``carry.states`` and its
            final states are left there for the next chunk. None: start from
            zero states and keep nothing.
        train : bool
            True to apply dropout (if ``dropout > 0``).
        rng : numpy.random.Generator, optional
            Draws the dropout masks; needed when ``train`` and ``dropout > 0``.

        Returns
        -------
        loss : float (nats per character)
        grads : dict
        """
        if carry is not None and not isinstance(carry, CarriedState):
            raise TypeError(f"carry must be a CarriedState, got {type(carry).__name__}")
        states0 = None if carry is None else carry.states
        logits, cache = self.forward(inputs, states0, train=train, rng=rng)
        loss, dlogits = softmax_cross_entropy(logits, targets)
        if carry is not None:
            carry.states = self.stack.final_states(cache.stack)
        return loss, self.backward(dlogits, cache)

    def evaluate(self, ids, seq_len: int = 100) -> float:
        """Mean cross-entropy (nats per character) over a 1-D id stream, state carried."""
        ids = as_index_array("ids", ids, ndim=1, upper=self.vocab_size)
        total, count, states = 0.0, 0, None
        for start in range(0, len(ids) - 1, seq_len):
            chunk = ids[start : start + seq_len + 1]
            if len(chunk) < 2:
                break
            logits, cache = self.forward(chunk[None, :-1], states)
            loss, _ = softmax_cross_entropy(logits, chunk[None, 1:], reduction="sum")
            total += float(loss)
            count += len(chunk) - 1
            states = self.stack.final_states(cache.stack)
        return total / count

    def sample(self, prompt_ids, length: int, rng, temperature: float = 1.0, top_k=None):
        """Continue ``prompt_ids`` (1-D) by ``length`` sampled characters; return the new ids."""
        prompt_ids = as_index_array("prompt_ids", prompt_ids, ndim=1, upper=self.vocab_size)
        if len(prompt_ids) == 0:
            raise ValueError("prompt_ids must hold at least one id, got an empty array")
        check_rng(rng)
        logits, cache = self.forward(prompt_ids[None, :])
        states = self.stack.final_states(cache.stack)
        out = np.empty(length, dtype=np.int64)
        for i in range(length):
            out[i] = sample_from_logits(logits[:, -1], rng, temperature, top_k)[0]
            logits, cache = self.forward(out[None, i : i + 1], states)
            states = self.stack.final_states(cache.stack)
        return out


class ManyToOneCache(NamedTuple):
    """What the backward pass of a many-to-one model needs."""

    emb: object  # the embedding's cache, None for feature inputs
    stack: object  # the recurrent stack's StackCache
    dense: object  # the output layer's cache
    last: np.ndarray  # (N,) index of each sequence's last real step
    drop_in: DropoutCache | None = None  # dropout on the inputs (N, T, D)
    drop_out: DropoutCache | None = None  # dropout on the last states (N, H)


class _ManyToOne:
    """Read a whole sequence, predict from each sequence's last real state: what
    :class:`SequenceClassifier` and :class:`Forecaster` share."""

    LOSSES = ("bce", "ce", "mse")

    def __init__(
        self,
        hidden_size: int,
        *,
        rng,
        vocab_size: int | None = None,
        input_size: int | None = None,
        n_outputs: int = 1,
        loss: str = "bce",
        cell="rnn",
        embed_dim: int = 16,
        num_layers: int = 1,
        dtype=np.float64,
        dropout: float = 0.0,
        variational: bool = False,
    ):
        check_rng(rng)
        self.dropout, self.variational = _check_dropout(dropout, variational)
        if (vocab_size is None) == (input_size is None):
            raise ValueError("give exactly one of vocab_size (token ids) or input_size (features)")
        if loss not in self.LOSSES:
            raise ValueError(f"loss must be one of {self.LOSSES}, got {loss!r}")
        if loss == "bce" and n_outputs != 1:
            raise ValueError(f"loss='bce' needs n_outputs=1, got {n_outputs}")
        self.loss, self.vocab_size, self.n_outputs = loss, vocab_size, n_outputs
        D = embed_dim if vocab_size is not None else input_size
        self.stack = RecurrentStack(cell, D, hidden_size, num_layers)
        self.params = {}
        if vocab_size is not None:
            self.params["E"] = _init_embedding(vocab_size, embed_dim, rng, dtype)
        self.params.update(self.stack.init_params(rng, dtype))
        self.params["V"], self.params["c"] = _init_dense(hidden_size, n_outputs, rng, dtype)

    def _embed(self, inputs):
        if self.vocab_size is None:
            return as_float_array("inputs", inputs, ndim=3), None
        ids = as_index_array("inputs", inputs, ndim=2, upper=self.vocab_size)
        return embedding_forward(ids, self.params["E"])

    def forward(self, inputs, lengths=None, *, train: bool = False, rng=None):
        """Raw outputs (N, n_outputs) (logits or values) and the cache.

        ``train=True`` with ``rng`` applies dropout if ``dropout > 0``.
        """
        active = _check_train(train, rng, self.dropout)
        x, emb_cache = self._embed(inputs)
        N, T, _ = x.shape
        last = (np.full(N, T) if lengths is None else check_lengths(lengths, N, T)) - 1
        x, drop_in = _drop(x, self.dropout, rng, active, self.variational)
        h, stack_cache = self.stack.forward(x, self.params)
        h_last, drop_out = _drop(h[np.arange(N), last], self.dropout, rng, active, False)
        out, dense_cache = dense_forward(h_last, self.params["V"], self.params["c"])
        return out, ManyToOneCache(emb_cache, stack_cache, dense_cache, last, drop_in, drop_out)

    def backward(self, dout, cache: ManyToOneCache) -> dict:
        dh_last, dV, dc_out = dense_backward(dout, cache.dense)  # c: the output bias
        dh_last = _undrop(dh_last, cache.drop_out)
        top = cache.stack.outputs[-1]
        dh = np.zeros_like(top)
        dh[np.arange(top.shape[0]), cache.last] = dh_last  # only the last real state was read
        dx, _, grads = self.stack.backward(dh, cache.stack)
        dx = _undrop(dx, cache.drop_in)
        grads.update(V=dV, c=dc_out)
        if cache.emb is not None:
            grads["E"] = embedding_backward(dx, cache.emb)
        return grads

    def _loss(self, out, targets):
        if self.loss == "bce":
            return binary_cross_entropy_with_logits(out[:, 0], targets)
        if self.loss == "ce":
            return softmax_cross_entropy(out, targets)
        targets = as_float_array("targets", targets)
        return mean_squared_error(out, targets.reshape(out.shape[0], -1))

    def loss_and_grads(self, inputs, targets, lengths=None, *, train: bool = False, rng=None):
        """Loss on a batch and the gradient of every parameter.

        ``targets``: (N,) of 0/1 for "bce", (N,) int classes for "ce",
        (N,) or (N, n_outputs) values for "mse". ``train=True`` with
        ``rng`` (a Generator) applies dropout if ``dropout > 0``.
        """
        out, cache = self.forward(inputs, lengths, train=train, rng=rng)
        loss, dout = self._loss(out, targets)
        if self.loss == "bce":
            dout = dout[:, None]
        elif self.loss == "mse":
            dout = dout.reshape(out.shape)
        return loss, self.backward(dout, cache)

    def predict(self, inputs, lengths=None):
        """Probabilities of class 1 (N,) for "bce", classes (N,) for "ce", values for "mse"."""
        out, _ = self.forward(inputs, lengths)
        if self.loss == "bce":
            return np.exp(-np.logaddexp(0.0, -out[:, 0]))  # sigmoid, stable
        if self.loss == "ce":
            return out.argmax(axis=1)
        return out


class SequenceClassifier(_ManyToOne):
    r"""Many-to-one model: read a whole sequence, predict from its last state.

    .. math:: \hat y = g(h_{L} V + c)

    with :math:`L` each sequence's own length and :math:`g` the sigmoid
    (``loss="bce"``, binary log loss), the softmax (``loss="ce"``) or the
    identity (``loss="mse"``, regression).

    Parameters
    ----------
    hidden_size : int
    rng : numpy.random.Generator
    vocab_size : int, optional
        Inputs are token ids (N, T), looked up in an embedding of size ``embed_dim``.
    input_size : int, optional
        Inputs are features (N, T, input_size). Give exactly one of the two.
    n_outputs : int
        1 for "bce"; the number of classes for "ce"; the target size for "mse".
    loss : {"bce", "ce", "mse"}
    cell, embed_dim, num_layers, dtype, dropout, variational
        As in :class:`CharLM`. Dropout acts on the inputs (embedded or
        features) and on the last state read by the output layer.
    """


class Forecaster(_ManyToOne):
    """Many-to-one regression: a window of a series (N, T, input_size) -> the next ``horizon``
    values (N, horizon), trained with mean squared error.

    Parameters
    ----------
    hidden_size : int
    rng : numpy.random.Generator
    horizon : int
        How many values ahead it predicts.
    input_size : int
        Features per step of the series.
    cell, num_layers, dtype, dropout, variational
        As in :class:`SequenceClassifier`.
    """

    def __init__(
        self,
        hidden_size: int,
        *,
        rng,
        horizon: int = 1,
        input_size: int = 1,
        cell="gru",
        num_layers: int = 1,
        dtype=np.float64,
        dropout: float = 0.0,
        variational: bool = False,
    ):
        super().__init__(
            hidden_size,
            rng=rng,
            input_size=input_size,
            n_outputs=horizon,
            loss="mse",
            cell=cell,
            num_layers=num_layers,
            dtype=dtype,
            dropout=dropout,
            variational=variational,
        )


class SequenceTagger(_ManyToMany):
    """Synced many-to-many: one tag per token, optionally reading both directions.

    Parameters
    ----------
    vocab_size, n_tags, hidden_size : int
    rng : numpy.random.Generator
    bidirectional : bool
        If True, each tag sees the whole sentence, before and after its token.
    merge : {"concat", "sum"}
    cell, embed_dim, num_layers, dtype, dropout, variational
        As in :class:`CharLM`.
    """

    def __init__(
        self,
        vocab_size: int,
        n_tags: int,
        hidden_size: int,
        *,
        rng,
        cell="rnn",
        embed_dim: int = 16,
        num_layers: int = 1,
        bidirectional: bool = False,
        merge: str = "concat",
        dtype=np.float64,
        dropout: float = 0.0,
        variational: bool = False,
    ):
        check_rng(rng)
        self.dropout, self.variational = _check_dropout(dropout, variational)
        self.vocab_size, self.n_tags = vocab_size, n_tags
        self.stack = RecurrentStack(
            cell, embed_dim, hidden_size, num_layers, bidirectional=bidirectional, merge=merge
        )
        self.params = {"E": _init_embedding(vocab_size, embed_dim, rng, dtype)}
        self.params.update(self.stack.init_params(rng, dtype))
        self.params["V"], self.params["c"] = _init_dense(self.stack.output_size, n_tags, rng, dtype)

    def forward(self, ids, lengths=None, *, train: bool = False, rng=None):
        """Logits (N, T, n_tags) and the cache; ``train=True`` with ``rng`` applies dropout."""
        return self._forward(ids, None, lengths, train, rng)

    def loss_and_grads(self, ids, tags, lengths=None, *, train: bool = False, rng=None):
        """Mean cross-entropy over the real (unpadded) tokens, and the gradients.

        ``train=True`` with ``rng`` (a Generator) applies dropout if ``dropout > 0``.
        """
        logits, cache = self.forward(ids, lengths, train=train, rng=rng)
        T = ids.shape[1]
        mask = None
        if lengths is not None:
            mask = (np.arange(T)[None, :] < np.asarray(lengths)[:, None]).astype(logits.dtype)
        loss, dlogits = softmax_cross_entropy(logits, tags, mask)
        return loss, self.backward(dlogits, cache)

    def predict(self, ids, lengths=None):
        """Most likely tag per token (N, T); padded positions hold 0."""
        logits, _ = self.forward(ids, lengths)
        tags = logits.argmax(axis=-1)
        if lengths is not None:
            tags[np.arange(ids.shape[1])[None, :] >= np.asarray(lengths)[:, None]] = 0
        return tags


class Seq2SeqCache(NamedTuple):
    """What :meth:`EncoderDecoder.backward` needs from :meth:`EncoderDecoder.forward`."""

    src_emb: object  # the source embedding's cache
    enc: object  # the encoder's StackCache
    tgt_emb: object  # the target embedding's cache
    dec: object  # the decoder's StackCache
    dense: object  # the output layer's cache


class EncoderDecoder:
    r"""Encoder-decoder for input and output sequences of different lengths.

    The encoder reads the source; its final states (at each source's own
    last real step) are the decoder's initial states. The decoder is trained
    with teacher forcing: its input at step t is the true token t - 1
    (``tgt_in`` starts with ``<bos>``) and it predicts token t (``tgt_out``
    ends with ``<eos>``). At test time :meth:`greedy_decode` feeds back its
    own most likely token instead.

    Parameters
    ----------
    src_vocab, tgt_vocab, hidden_size : int
    rng : numpy.random.Generator
    cell, embed_dim, num_layers, dtype
        As in :class:`CharLM`; encoder and decoder use the same cell kind.
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
        num_layers: int = 1,
        dtype=np.float64,
    ):
        check_rng(rng)
        self.src_vocab, self.tgt_vocab = src_vocab, tgt_vocab
        self.encoder = RecurrentStack(cell, embed_dim, hidden_size, num_layers, prefix="enc")
        self.decoder = RecurrentStack(cell, embed_dim, hidden_size, num_layers, prefix="dec")
        self.params = {"E_src": _init_embedding(src_vocab, embed_dim, rng, dtype)}
        self.params.update(self.encoder.init_params(rng, dtype))
        self.params["E_tgt"] = _init_embedding(tgt_vocab, embed_dim, rng, dtype)
        self.params.update(self.decoder.init_params(rng, dtype))
        self.params["V"], self.params["c"] = _init_dense(hidden_size, tgt_vocab, rng, dtype)

    def encode(self, src, src_lengths=None):
        """The encoder's final states (one per layer) and the encoder caches."""
        src = as_index_array("src", src, ndim=2, upper=self.src_vocab)
        x, emb_cache = embedding_forward(src, self.params["E_src"])
        _, enc_cache = self.encoder.forward(x, self.params, lengths=src_lengths)
        return self.encoder.final_states(enc_cache), emb_cache, enc_cache

    def decode_step(self, tokens, states):
        """One decoder step: tokens (N,) -> logits (N, K) and the new states."""
        x, _ = embedding_forward(tokens[:, None], self.params["E_tgt"])
        h, cache = self.decoder.forward(x, self.params, states)
        logits, _ = dense_forward(h[:, 0], self.params["V"], self.params["c"])
        return logits, self.decoder.final_states(cache)

    def forward(self, src, src_lengths, tgt_in):
        """Teacher-forced logits (N, T_tgt, K) for ``tgt_in`` after reading ``src``, and the cache.

        ``src`` (N, T_src) ids, each sequence ``src_lengths`` long (None: all
        of it); ``tgt_in`` (N, T_tgt) the target ids shifted right, starting
        with ``<bos>``.
        """
        states, src_emb, enc_cache = self.encode(src, src_lengths)
        tgt_in = as_index_array("tgt_in", tgt_in, ndim=2, upper=self.tgt_vocab)
        y, tgt_emb = embedding_forward(tgt_in, self.params["E_tgt"])
        h, dec_cache = self.decoder.forward(y, self.params, states)
        logits, dense_cache = dense_forward(h, self.params["V"], self.params["c"])
        return logits, Seq2SeqCache(src_emb, enc_cache, tgt_emb, dec_cache, dense_cache)

    def backward(self, dlogits, cache: Seq2SeqCache) -> dict:
        """Gradients of every parameter from ``dlogits`` (N, T_tgt, K)."""
        dh, dV, dc_out = dense_backward(dlogits, cache.dense)  # c: the output layer's bias
        dy, dstates0, grads = self.decoder.backward(dh, cache.dec)
        grads.update(E_tgt=embedding_backward(dy, cache.tgt_emb), V=dV, c=dc_out)
        # the decoder's initial states are the encoder's final states
        dx, _, enc_grads = self.encoder.backward(
            np.zeros_like(cache.enc.outputs[-1]), cache.enc, dstates0
        )
        grads.update(enc_grads)
        grads["E_src"] = embedding_backward(dx, cache.src_emb)
        return grads

    def loss_and_grads(self, src, src_lengths, tgt_in, tgt_out, tgt_mask):
        """Teacher-forced mean cross-entropy over the real target tokens, and the gradients."""
        logits, cache = self.forward(src, src_lengths, tgt_in)
        loss, dlogits = softmax_cross_entropy(logits, tgt_out, tgt_mask)
        return loss, self.backward(dlogits, cache)

    def greedy_decode(self, src, src_lengths, bos: int, eos: int, max_len: int):
        """Decode by feeding back the most likely token; (N, max_len) ids, 0 after ``eos``."""
        states, _, _ = self.encode(src, src_lengths)
        N = src.shape[0]
        tokens = np.full(N, bos, dtype=np.int64)
        out = np.zeros((N, max_len), dtype=np.int64)
        done = np.zeros(N, dtype=bool)
        for t in range(max_len):
            logits, states = self.decode_step(tokens, states)
            tokens = logits.argmax(axis=1)
            out[:, t] = np.where(done, 0, tokens)
            done |= tokens == eos
            if done.all():
                break
        return out
