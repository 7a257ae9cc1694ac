r"""Models: thin classes over the functional layers.

Taught in "Architecture types" (``book/04_architectures``) and
"Applications" (``book/11_applications``). Each model holds a flat dict
``params`` of arrays and the configuration; it has no hidden state between
calls. Every model has the same three methods:

- ``forward(inputs...)`` returns ``(outputs, cache)``;
- ``backward(doutputs, cache)`` returns one gradient per entry of ``params``;
- ``loss_and_grads(batch...)`` returns ``(loss, grads)``, which is all
  :func:`course_pkg.train.fit` and the optimizers need.

The states that truncated BPTT carries from one chunk to the next travel in
a :class:`CarriedState`, passed to :meth:`CharLM.loss_and_grads`.

- :class:`CharLM`: language model over characters, synced many-to-many (trained to
  predict the next character at every step; it generates by feeding its outputs back).
- :class:`SequenceClassifier`: many-to-one (sentiment, the adding problem).
- :class:`Forecaster`: many-to-one regression of the next values of a series.
- :class:`SequenceTagger`: synced many-to-many, optionally bidirectional.
- :class:`EncoderDecoder`: many-to-many with different lengths (Sutskever et al., 2014).
- :class:`ConditionalGenerator`: one-to-many, one input vector (a class or features)
  sets a decoder's initial state and the decoder writes a sequence (captioning).

Every recurrent part is a :class:`course_pkg.stack.RecurrentStack`, so every
model takes ``cell="rnn" | "lstm" | "gru"`` (or a :class:`course_pkg.cells.Cell`
built on your own functions) and ``num_layers``.

Dropout (taught in "Practical matters", ``book/13_practical``):
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
    FLOAT_DTYPES,
    FRACTION,
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

    def initial_states(self, src, src_lengths=None) -> list:
        """The decoder's states before its first step: the encoder's final states.

        ``src`` (N, T_src) ids, each sequence ``src_lengths`` long (None: all
        of it). One state tuple per layer, each array (N, H), for
        :meth:`decode_step`.
        """
        return self.encode(src, src_lengths)[0]

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
        states = self.initial_states(src, src_lengths)
        return _decode(
            self.decode_step, states, src.shape[0], bos, eos, max_len, lambda z: z.argmax(axis=1)
        )


class GeneratorCache(NamedTuple):
    """What :meth:`ConditionalGenerator.backward` needs from its ``forward``."""

    cond_emb: object  # the class embedding's cache, None for feature inputs
    init: tuple  # per layer, the DenseCache of the map from the input to h0
    h0: tuple  # per layer, the initial hidden state tanh(x W_init + b_init), (N, H)
    tgt_emb: object  # the target embedding's cache
    dec: object  # the decoder's StackCache
    dense: object  # the output layer's cache


def _decode(step, states, N: int, bos: int, eos: int, max_len: int, pick):
    """Feed each step's chosen token back as the next input; (N, max_len) ids, 0 after ``eos``.

    ``step(tokens (N,), states) -> (logits (N, K), states)``; ``pick(logits) -> tokens (N,)``.
    """
    tokens = np.full(N, bos, dtype=np.int64)
    out = np.zeros((N, max_len), dtype=np.int64)
    done = np.zeros(N, dtype=bool)
    for t in range(max_len):
        logits, states = step(tokens, states)
        tokens = pick(logits)
        out[:, t] = np.where(done, 0, tokens)
        done |= tokens == eos
        if done.all():
            break
    return out


class ConditionalGenerator:
    r"""One-to-many: one input vector sets the initial state, a decoder generates a sequence.

    The input is not a sequence: a class id (looked up in an embedding) or
    a feature vector (an image's features in captioning, a style in music
    generation). It is mapped once to each layer's initial hidden state,
    and from there a recurrent decoder writes the output one token at a
    time, feeding each token back as its next input. This is the decoder of
    :class:`EncoderDecoder` with the encoder replaced by one dense layer.

    Training uses teacher forcing: the decoder reads ``tgt_in`` (``<bos>``
    and then the true tokens) and is scored on ``tgt_out`` (the same tokens
    followed by ``<eos>``) at every step. :meth:`generate` feeds back its own
    tokens instead, the most likely ones or sampled ones.

    Parameters
    ----------
    tgt_vocab : int
        K, the number of output tokens (``<pad>``, ``<bos>``, ``<eos>`` included).
    hidden_size : int
        H, the state size of every decoder layer.
    rng : numpy.random.Generator
        Draws the initial parameters.
    n_classes : int, optional
        The input is a class id in ``[0, n_classes)``, embedded in
        ``embed_dim`` dimensions (parameter ``E_cls``).
    input_size : int, optional
        The input is a feature vector of this size, (N, input_size).
        Give exactly one of ``n_classes`` and ``input_size``.
    cell : {"rnn", "lstm", "gru"} or Cell
    embed_dim : int
        Size of the token embedding (and of the class embedding).
    num_layers : int
        Decoder layers; each gets its own initial state from the input.
    dtype : float32 or float64

    Raises
    ------
    TypeError
        ``rng`` not a Generator; a size that is not an integer; ``dtype``
        not float32 or float64.
    ValueError
        Both or neither of ``n_classes`` and ``input_size``; a size below 1.

    Notes
    -----
    With :math:`x` the input vector (the embedded class :math:`E_{\mathrm{cls}}[k]`
    or the features), :math:`w_1 \dots w_T` the target tokens,
    :math:`w_0 =` ``<bos>`` and :math:`L` decoder layers:

    .. math::

        h_0^{(l)} &= \tanh\left(x W_{\mathrm{init}}^{(l)} + b_{\mathrm{init}}^{(l)}\right),
        \qquad l = 1 \dots L

        y_t &= E_{\mathrm{tgt}}[w_{t-1}], \qquad
        h_t^{(l)} = \mathrm{cell}\left(h_t^{(l-1)}, h_{t-1}^{(l)}\right),
        \quad h_t^{(0)} = y_t

        p(w_t \mid w_{<t}, x) &= \mathrm{softmax}\left(h_t^{(L)} V + c\right)

    and the loss is the mean of :math:`-\log p(w_t \mid w_{<t}, x)` over the
    real (unmasked) target positions. For an LSTM the cell state starts at
    :math:`c_0^{(l)} = 0`: the input reaches the cell state through the
    first step's gates. (Xu et al., 2015, "Show, attend and tell", map the
    input to both :math:`h_0` and :math:`c_0`; that would add one more dense
    layer per LSTM layer.) The input enters only through :math:`h_0`, as the
    context enters the decoder of Sutskever et al. (2014). Vinyals et al.
    (2015), "Show and tell", feed the image features once, as the LSTM's
    first input; Karpathy and Fei-Fei (2015) add them to the first step's
    hidden state. All three give the decoder the input once, at the start.

    Parameters, keys of ``params``: ``E_cls`` (n_classes, embed_dim) for
    class inputs; ``init{l}.W`` (F, H) and ``init{l}.b`` (H,) for each layer,
    counted from 0 in the keys (``init0`` is layer 1 above), F the input
    vector's size; ``E_tgt`` (K, embed_dim); the decoder's ``dec{l}.*``;
    ``V`` (H, K) and ``c`` (K,).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> model = ConditionalGenerator(6, 8, rng=rng, n_classes=3, cell="gru")
    >>> logits, cache = model.forward(np.array([0, 2]), np.array([[1, 3, 4], [1, 5, 0]]))
    >>> logits.shape  # (N, T, K)
    (2, 3, 6)
    >>> model.generate(np.array([0, 1, 2]), bos=1, eos=2, max_len=4).shape
    (3, 4)
    """

    def __init__(
        self,
        tgt_vocab: int,
        hidden_size: int,
        *,
        rng,
        n_classes: int | None = None,
        input_size: int | None = None,
        cell="gru",
        embed_dim: int = 16,
        num_layers: int = 1,
        dtype=np.float64,
    ):
        check_rng(rng)
        if (n_classes is None) == (input_size is None):
            raise ValueError(
                "give exactly one of n_classes (a class id per example) or input_size "
                f"(a feature vector per example), got n_classes={n_classes!r} and "
                f"input_size={input_size!r}"
            )
        self.tgt_vocab = check_int("tgt_vocab", tgt_vocab, 2)
        hidden_size = check_int("hidden_size", hidden_size, 1)
        embed_dim = check_int("embed_dim", embed_dim, 1)
        if np.dtype(dtype) not in FLOAT_DTYPES:
            raise TypeError(f"dtype must be float32 or float64, got {dtype!r}")
        if n_classes is not None:
            n_classes = check_int("n_classes", n_classes, 1)
        else:
            input_size = check_int("input_size", input_size, 1)
        self.n_classes, self.input_size = n_classes, input_size
        # F, the size of the vector x that sets the initial states
        self.cond_size = embed_dim if input_size is None else input_size
        self.decoder = RecurrentStack(cell, embed_dim, hidden_size, num_layers, prefix="dec")
        self.params = {}
        if self.n_classes is not None:
            self.params["E_cls"] = _init_embedding(self.n_classes, embed_dim, rng, dtype)
        for layer in range(self.decoder.num_layers):
            W, b = _init_dense(self.cond_size, hidden_size, rng, dtype)
            self.params[f"init{layer}.W"], self.params[f"init{layer}.b"] = W, b
        self.params["E_tgt"] = _init_embedding(self.tgt_vocab, embed_dim, rng, dtype)
        self.params.update(self.decoder.init_params(rng, dtype))
        self.params["V"], self.params["c"] = _init_dense(hidden_size, self.tgt_vocab, rng, dtype)

    def _condition(self, inputs):
        """The input vector x (N, F) and the class embedding's cache (None for features)."""
        if self.n_classes is not None:
            ids = as_index_array("inputs", inputs, ndim=1, upper=self.n_classes)
            return embedding_forward(ids, self.params["E_cls"])
        x = as_float_array("inputs", inputs, ndim=2)
        if x.shape[1] != self.input_size:
            raise ValueError(
                f"inputs must have shape (N, {self.input_size}) (input_size), got {x.shape}"
            )
        dtype = self.params["V"].dtype
        if x.dtype != dtype:
            raise TypeError(f"inputs must have dtype {dtype} like the parameters, got {x.dtype}")
        return x, None

    def _initial_states(self, x):
        """Each layer's initial state tuple from x (N, F), with the caches of the map."""
        states, init_caches, h0s = [], [], []
        for layer in range(self.decoder.num_layers):
            W, b = self.params[f"init{layer}.W"], self.params[f"init{layer}.b"]
            pre, cache = dense_forward(x, W, b)  # (N, H)
            h0 = np.tanh(pre)
            # an LSTM's cell state starts at zero (see Notes)
            states.append((h0, *(np.zeros_like(h0) for _ in self.decoder.cell.state_names[1:])))
            init_caches.append(cache)
            h0s.append(h0)
        return states, tuple(init_caches), tuple(h0s)

    def initial_states(self, inputs) -> list:
        """The decoder's initial states for ``inputs``: one state tuple per layer, each (N, H).

        ``inputs``: class ids (N,) or features (N, input_size).
        """
        x, _ = self._condition(inputs)
        return self._initial_states(x)[0]

    def forward(self, inputs, tgt_in):
        """Teacher-forced logits (N, T, K) and the cache for :meth:`backward`.

        Parameters
        ----------
        inputs : ndarray (N,) of int (class ids) or (N, input_size) of float (features)
        tgt_in : ndarray (N, T) of int
            The target ids shifted right, starting with ``<bos>``.

        Returns
        -------
        logits : ndarray (N, T, K)
        cache : GeneratorCache
        """
        x, cond_emb = self._condition(inputs)
        tgt_in = as_index_array("tgt_in", tgt_in, ndim=2, upper=self.tgt_vocab)
        if tgt_in.shape[0] != x.shape[0]:
            raise ValueError(
                f"tgt_in must hold one row per input: inputs have N={x.shape[0]}, "
                f"tgt_in has shape {tgt_in.shape}"
            )
        states, init_caches, h0s = self._initial_states(x)
        y, tgt_emb = embedding_forward(tgt_in, self.params["E_tgt"])  # (N, T, embed_dim)
        h, dec_cache = self.decoder.forward(y, self.params, states)  # (N, T, H)
        logits, dense_cache = dense_forward(h, self.params["V"], self.params["c"])
        return logits, GeneratorCache(cond_emb, init_caches, h0s, tgt_emb, dec_cache, dense_cache)

    def backward(self, dlogits, cache: GeneratorCache) -> dict:
        """Gradients of every parameter from ``dlogits`` (N, T, K), the gradient of the logits."""
        check_cache("cache", cache, GeneratorCache)
        dh, dV, dc_out = dense_backward(dlogits, cache.dense)  # c: the output layer's bias
        dy, dstates0, grads = self.decoder.backward(dh, cache.dec)
        grads.update(E_tgt=embedding_backward(dy, cache.tgt_emb), V=dV, c=dc_out)
        dx = 0.0
        for layer, (init_cache, h0) in enumerate(zip(cache.init, cache.h0, strict=True)):
            dpre = dstates0[layer][0] * (1.0 - h0 * h0)  # tanh' = 1 - tanh^2; c0 = 0 is constant
            dx_layer, grads[f"init{layer}.W"], grads[f"init{layer}.b"] = dense_backward(
                dpre, init_cache
            )
            dx = dx + dx_layer  # every layer's initial state reads the same x
        if cache.cond_emb is not None:
            grads["E_cls"] = embedding_backward(dx, cache.cond_emb)
        return grads

    def loss_and_grads(self, inputs, tgt_in, tgt_out, tgt_mask=None):
        """Teacher-forced mean cross-entropy over the real target tokens, and the gradients.

        Parameters
        ----------
        inputs : ndarray (N,) of int or (N, input_size) of float
        tgt_in, tgt_out : ndarray (N, T) of int
            ``<bos> w_1 .. w_L`` and ``w_1 .. w_L <eos>``, padded after the end.
        tgt_mask : ndarray (N, T) of 0/1 (bool or float), optional
            1 on the real target steps, 0 on padding. Default: every step counts.

        Returns
        -------
        loss : float (nats per target token)
        grads : dict, one array per entry of ``params``
        """
        logits, cache = self.forward(inputs, tgt_in)
        tgt_out = as_index_array("tgt_out", tgt_out, ndim=2, upper=self.tgt_vocab)
        check_shape("tgt_out", tgt_out, logits.shape[:2])
        loss, dlogits = softmax_cross_entropy(logits, tgt_out, tgt_mask)
        return loss, self.backward(dlogits, cache)

    def decode_step(self, tokens, states):
        """One decoder step: tokens (N,) -> logits (N, K) and the new states."""
        y, _ = embedding_forward(tokens[:, None], self.params["E_tgt"])  # (N, 1, embed_dim)
        h, cache = self.decoder.forward(y, self.params, states)
        logits, _ = dense_forward(h[:, 0], self.params["V"], self.params["c"])
        return logits, self.decoder.final_states(cache)

    def generate(
        self, inputs, bos: int, eos: int, max_len: int, *, rng=None, temperature=1.0, top_k=None
    ):
        """Generate one sequence per input, feeding each token back as the next input.

        Parameters
        ----------
        inputs : ndarray (N,) of int or (N, input_size) of float
        bos, eos : int
            The ids of ``<bos>`` (the first input) and ``<eos>`` (stop).
        max_len : int
            At most this many tokens per sequence, ``<eos>`` included.
        rng : numpy.random.Generator, optional
            Sample every token from ``softmax(logits / temperature)``
            (:func:`sample_from_logits`) with this generator. None (default):
            greedy decoding, the most likely token at every step.
        temperature : float > 0
            Sampling only.
        top_k : int, optional
            Sampling only: draw among the ``top_k`` most likely tokens.

        Returns
        -------
        ndarray (N, max_len) of int64
            The tokens up to and including ``<eos>``, then 0 (``<pad>``).

        Raises
        ------
        TypeError
            ``rng`` neither None nor a Generator; ids or sizes not integers.
        ValueError
            ``bos`` or ``eos`` outside ``[0, K)``; ``max_len < 1``;
            ``temperature`` or ``top_k`` given for greedy decoding.
        """
        bos = check_int("bos", bos, 0, self.tgt_vocab - 1)
        eos = check_int("eos", eos, 0, self.tgt_vocab - 1)
        max_len = check_int("max_len", max_len, 1)
        if rng is None:
            if temperature != 1.0 or top_k is not None:
                raise ValueError(
                    "temperature and top_k shape the sampling distribution, but rng=None "
                    "decodes greedily: pass rng=np.random.default_rng(seed) to sample"
                )

            def pick(logits):
                return logits.argmax(axis=1)
        else:
            check_rng(rng)
            temperature = check_real("temperature", temperature, POSITIVE)

            def pick(logits):
                return sample_from_logits(logits, rng, temperature, top_k)

        states = self.initial_states(inputs)
        return _decode(self.decode_step, states, states[0][0].shape[0], bos, eos, max_len, pick)
