r"""Simple non-recurrent baselines, to measure what the recurrence adds.

Taught in "Applications" (``book/10_applications``). A recurrent model's score
means little on its own: it should be compared with the best simple method
that ignores what the recurrence is for (word order, long context). Each
baseline here is one such method:

- :func:`bag_of_words` and :class:`BagOfWordsClassifier`: logistic regression
  on word counts, blind to word order (sentiment).
- :class:`NgramCharModel`: a character n-gram model from smoothed counts, a
  fixed context of ``order - 1`` characters (language modelling).
- :class:`MajorityTagger`: each word's most frequent tag, no context at all
  (tagging).
- :func:`persistence_forecast`: "the next values equal the last one"
  (forecasting).
- :class:`LinearAutoregression`: least-squares linear prediction from the
  window (forecasting).

Shapes: N examples, T time steps, K vocabulary size, W window length, S
horizon (steps ahead).
"""

from __future__ import annotations

import numpy as np

from .._validate import (
    NON_NEGATIVE,
    as_float_array,
    as_index_array,
    check_int,
    check_lengths,
    check_real,
    check_shape,
)
from ..layers import dense_backward, dense_forward
from ..losses import binary_cross_entropy_with_logits

# ----------------------------------------------------------------------- bag of words


def bag_of_words(ids, vocab_size: int, lengths=None) -> np.ndarray:
    """Count how often each word occurs in each sequence, ignoring the order.

    Parameters
    ----------
    ids : ndarray (N, T) of int
        Word ids in ``[0, vocab_size)``.
    vocab_size : int
        K.
    lengths : ndarray (N,), optional
        Real length of each sequence; positions at or after it are padding
        and are not counted. Default: every position counts.

    Returns
    -------
    counts : ndarray (N, K) float64
        ``counts[n, k]`` is the number of times word ``k`` occurs in the
        first ``lengths[n]`` positions of sequence ``n``.

    Examples
    --------
    >>> bag_of_words(np.array([[1, 2, 1, 0]]), 3, lengths=np.array([3])).tolist()
    [[0.0, 2.0, 1.0]]
    """
    vocab_size = check_int("vocab_size", vocab_size, 1)
    ids = as_index_array("ids", ids, ndim=2, upper=vocab_size)
    N, T = ids.shape
    lengths = np.full(N, T) if lengths is None else check_lengths(lengths, N, T)
    real = np.arange(T)[None, :] < lengths[:, None]  # (N, T)
    counts = np.zeros((N, vocab_size))
    rows = np.broadcast_to(np.arange(N)[:, None], (N, T))
    np.add.at(counts, (rows[real], ids[real]), 1.0)
    return counts


class BagOfWordsClassifier:
    r"""Logistic regression on word counts: a many-to-one classifier with no notion of order.

    .. math:: p(y = 1 \mid \text{sentence}) = \sigma(\mathbf{n} V + c)

    with :math:`\mathbf{n}` (1, K) the word counts of the sentence
    (:func:`bag_of_words`), :math:`V` (K, 1) one weight per word and
    :math:`c` a bias. Any two sentences with the same words in a different
    order get the same prediction. It has the interface of
    :class:`course_pkg.models.SequenceClassifier` (``params``,
    ``loss_and_grads``, ``predict``), so :func:`course_pkg.train.fit` and
    the optimizers train it. The loss is convex, so the starting point (all
    zeros, no randomness) does not matter.

    Parameters
    ----------
    vocab_size : int
        K.
    weight_decay : float >= 0
        Adds ``weight_decay * sum(V**2) / 2`` to the loss (the bias is not
        penalised).

    Attributes
    ----------
    params : dict
        ``"V"`` (K, 1) and ``"c"`` (1,), float64.
    """

    def __init__(self, vocab_size: int, *, weight_decay: float = 0.0):
        self.vocab_size = check_int("vocab_size", vocab_size, 1)
        self.weight_decay = check_real("weight_decay", weight_decay, NON_NEGATIVE)
        self.params = {"V": np.zeros((self.vocab_size, 1)), "c": np.zeros(1)}

    def forward(self, ids, lengths=None):
        """Logits (N, 1) and the dense cache."""
        counts = bag_of_words(ids, self.vocab_size, lengths)
        return dense_forward(counts, self.params["V"], self.params["c"])

    def loss_and_grads(self, ids, labels, lengths=None):
        """Mean log loss on a batch and the gradients of ``V`` and ``c``.

        Parameters
        ----------
        ids : ndarray (N, T) of int
        labels : ndarray (N,) float, 0 or 1
        lengths : ndarray (N,), optional

        Returns
        -------
        loss : float
        grads : dict with ``"V"`` (K, 1) and ``"c"`` (1,)
        """
        logits, cache = self.forward(ids, lengths)
        loss, dlogits = binary_cross_entropy_with_logits(logits[:, 0], labels)
        _, dV, dc_out = dense_backward(dlogits[:, None], cache)  # c: the output bias
        V = self.params["V"]
        loss = loss + 0.5 * self.weight_decay * np.sum(V * V)
        return loss, {"V": dV + self.weight_decay * V, "c": dc_out}

    def predict(self, ids, lengths=None) -> np.ndarray:
        """Probability of class 1 for each sequence, (N,)."""
        logits, _ = self.forward(ids, lengths)
        return np.exp(-np.logaddexp(0.0, -logits[:, 0]))  # sigmoid, stable


# ----------------------------------------------------------------------- n-gram model


class NgramCharModel:
    r"""Character n-gram language model from add-:math:`\alpha` smoothed counts.

    The probability of the next character depends only on the previous
    ``order - 1`` characters:

    .. math:: p(a \mid u) = \frac{\#(u a) + \alpha}{\#(u) + \alpha K}

    where :math:`u` is a context of ``order - 1`` characters, :math:`\#(ua)`
    the number of times :math:`u` was followed by :math:`a` in the training
    text, :math:`\#(u) = \sum_a \#(ua)` and K the vocabulary size. ``order=1``
    is the unigram model (character frequencies), ``order=2`` the bigram.
    The counts table has :math:`K^{\text{order}}` entries, which is why
    n-gram models cannot use long contexts: each extra character of context
    multiplies the table by K, and most of its contexts are never seen.

    Parameters
    ----------
    vocab_size : int
        K.
    order : int >= 1
    alpha : float > 0
        Pseudo-count added to every entry, so no character ever gets
        probability 0.

    Attributes
    ----------
    counts : ndarray (K,) * order, float64
        ``counts[u_1, ..., u_{order-1}, a]``; zeros until :meth:`fit`.
    """

    MAX_ENTRIES = 50_000_000

    def __init__(self, vocab_size: int, order: int = 2, *, alpha: float = 0.1):
        self.vocab_size = check_int("vocab_size", vocab_size, 1)
        self.order = check_int("order", order, 1)
        alpha = check_real("alpha", alpha, NON_NEGATIVE)
        if alpha == 0:
            raise ValueError("alpha must be > 0, got 0.0: unseen n-grams would get probability 0")
        self.alpha = alpha
        if self.vocab_size**self.order > self.MAX_ENTRIES:
            raise ValueError(
                f"a table of vocab_size**order = {self.vocab_size}**{self.order} entries is too "
                f"large (more than {self.MAX_ENTRIES:,}); use a smaller order"
            )
        self.counts = np.zeros((self.vocab_size,) * self.order)

    def _grams(self, ids) -> np.ndarray:
        """The flat table index of every n-gram in ids (L,): (L - order + 1,) int64."""
        ids = as_index_array("ids", ids, ndim=1, upper=self.vocab_size)
        if ids.shape[0] < self.order:
            raise ValueError(
                f"ids must hold at least order={self.order} characters, got {ids.shape[0]}"
            )
        n = ids.shape[0] - self.order + 1
        flat = np.zeros(n, dtype=np.int64)
        for j in range(self.order):  # base-K number whose digits are the n characters
            flat = flat * self.vocab_size + ids[j : j + n]
        return flat

    def fit(self, ids) -> NgramCharModel:
        """Add the n-gram counts of a text ids (L,) to the table; returns ``self``."""
        flat = self._grams(ids)
        self.counts += np.bincount(flat, minlength=self.counts.size).reshape(self.counts.shape)
        return self

    def log_probs(self) -> np.ndarray:
        r"""Table of :math:`\log p(a \mid u)`, shape (K,) * order."""
        smoothed = self.counts + self.alpha
        return np.log(smoothed) - np.log(smoothed.sum(axis=-1, keepdims=True))

    def evaluate(self, ids) -> float:
        """Mean cross-entropy in nats per character over ids (L,).

        Every character from position ``order - 1`` on is predicted from the
        ``order - 1`` characters before it (the first ``order - 1`` have no
        full context and are skipped), so ``L - order + 1`` predictions.
        """
        flat = self._grams(ids)
        return float(-self.log_probs().reshape(-1)[flat].mean())


# ------------------------------------------------------------------------- tagging


class MajorityTagger:
    """Tag each word with the tag it had most often in the training data.

    The simplest tagger: it reads no context, so a word that can take two
    tags ("stone" in "the stone wall" and "the stone fell") always gets the
    same one. Words never seen in training get the most frequent tag overall.

    Parameters
    ----------
    vocab_size, n_tags : int

    Attributes
    ----------
    table : ndarray (vocab_size,) int64
        The tag given to each word id; set by :meth:`fit`.
    """

    def __init__(self, vocab_size: int, n_tags: int):
        self.vocab_size = check_int("vocab_size", vocab_size, 1)
        self.n_tags = check_int("n_tags", n_tags, 1)
        self.table = None

    def fit(self, ids, tags, lengths=None) -> MajorityTagger:
        """Count (word, tag) pairs over the real tokens of ids, tags (N, T); returns ``self``.

        Ties go to the smaller tag id.
        """
        ids = as_index_array("ids", ids, ndim=2, upper=self.vocab_size)
        tags = as_index_array("tags", tags, ndim=2, upper=self.n_tags)
        check_shape("tags", tags, ids.shape)
        N, T = ids.shape
        lengths = np.full(N, T) if lengths is None else check_lengths(lengths, N, T)
        real = np.arange(T)[None, :] < lengths[:, None]
        pair_counts = np.zeros((self.vocab_size, self.n_tags), dtype=np.int64)
        np.add.at(pair_counts, (ids[real], tags[real]), 1)
        overall = int(pair_counts.sum(axis=0).argmax())
        seen = pair_counts.sum(axis=1) > 0
        self.table = np.where(seen, pair_counts.argmax(axis=1), overall).astype(np.int64)
        return self

    def predict(self, ids, lengths=None) -> np.ndarray:
        """Tags (N, T) for ids (N, T); padded positions hold 0 (as in SequenceTagger)."""
        if self.table is None:
            raise ValueError("call fit(ids, tags) before predict")
        ids = as_index_array("ids", ids, ndim=2, upper=self.vocab_size)
        N, T = ids.shape
        tags = self.table[ids]
        if lengths is not None:
            lengths = check_lengths(lengths, N, T)
            tags[np.arange(T)[None, :] >= lengths[:, None]] = 0
        return tags


# ----------------------------------------------------------------------- forecasting


def persistence_forecast(x, horizon: int = 1) -> np.ndarray:
    """Predict that the series stays at its last observed value.

    Parameters
    ----------
    x : ndarray (N, W, 1) or (N, W)
        Windows of a series (as made by :func:`course_pkg.datasets.make_windows`).
    horizon : int
        S, steps to predict.

    Returns
    -------
    ndarray (N, S)
        Every column equals the last value of the window, ``x[:, -1]``.

    Examples
    --------
    >>> persistence_forecast(np.array([[[1.0], [2.0], [5.0]]]), horizon=2).tolist()
    [[5.0, 5.0]]
    """
    x = _windows(x)
    horizon = check_int("horizon", horizon, 1)
    return np.repeat(x[:, -1:], horizon, axis=1)


def _windows(x) -> np.ndarray:
    """Windows (N, W, 1) or (N, W) as (N, W)."""
    x = as_float_array("x", x)
    if x.ndim == 3 and x.shape[2] == 1:
        return x[:, :, 0]
    if x.ndim != 2:
        raise ValueError(f"x must have shape (N, W, 1) or (N, W), got {x.shape}")
    return x


class LinearAutoregression:
    r"""Least-squares linear forecast: each future value is a weighted sum of the window.

    .. math:: \hat y_{n} = x_{n} A + d

    with :math:`x_n` (1, W) the window, :math:`A` (W, S) and :math:`d` (S,)
    fitted by (ridge-regularised) least squares in closed form. A sum of
    sines obeys an exact linear recurrence (each sine of period :math:`p`
    satisfies :math:`s_t = 2\cos(2\pi/p)\, s_{t-1} - s_{t-2}`), so on
    :func:`course_pkg.datasets.noisy_periodic_series` this linear model is
    the strong baseline to beat, much stronger than persistence.

    Parameters
    ----------
    ridge : float >= 0
        Adds ``ridge * ||A||^2`` to the squared error (0: ordinary least squares).

    Attributes
    ----------
    A : ndarray (W, S), d : ndarray (S,)
        Set by :meth:`fit`.
    """

    def __init__(self, ridge: float = 0.0):
        self.ridge = check_real("ridge", ridge, NON_NEGATIVE)
        self.A = self.d = None

    def fit(self, x, y) -> LinearAutoregression:
        """Fit windows x (N, W, 1) or (N, W) to targets y (N, S); returns ``self``."""
        x = _windows(x)
        y = as_float_array("y", y, ndim=2)
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"x and y must hold the same number of examples, got {x.shape[0]} "
                             f"and {y.shape[0]}")  # fmt: skip
        x_mean, y_mean = x.mean(axis=0), y.mean(axis=0)
        xc, yc = x - x_mean, y - y_mean  # centring makes the intercept d unpenalised
        gram = xc.T @ xc + self.ridge * np.eye(x.shape[1])  # (W, W)
        self.A = np.linalg.lstsq(gram, xc.T @ yc, rcond=None)[0]  # (W, S)
        self.d = y_mean - x_mean @ self.A
        return self

    def predict(self, x) -> np.ndarray:
        """Forecasts (N, S) for windows x (N, W, 1) or (N, W)."""
        if self.A is None:
            raise ValueError("call fit(x, y) before predict")
        x = _windows(x)
        if x.shape[1] != self.A.shape[0]:
            raise ValueError(
                f"x must have windows of length {self.A.shape[0]} (as in fit), got {x.shape[1]}"
            )
        return x @ self.A + self.d
