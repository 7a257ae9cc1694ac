r"""Simple non-recurrent baselines, to measure what the recurrence adds.

Taught in "Applications" (``book/11_applications``). A recurrent model's score
means little on its own: it should be compared with the best simple method
that ignores what the recurrence is for (word order, long context). Each
baseline here is one such method:

- :func:`bag_of_words` and :class:`BagOfWordsClassifier`: logistic regression
  on word counts, blind to word order (sentiment).
- :class:`NgramCharModel`: a character n-gram model from add-alpha smoothed
  counts, a fixed context of ``order - 1`` characters (language modelling).
- :class:`SmoothedNGram`: the strong n-gram baseline, interpolated absolute
  discounting or Kneser–Ney, with :func:`select_ngram_order` to choose its
  order on text held out from the training text (language modelling).
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

import math
from collections import Counter
from typing import NamedTuple

import numpy as np

from .._validate import (
    NON_NEGATIVE,
    Interval,
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


DISCOUNT = Interval(0.0, 1.0)  # d in [0, 1]: above 1 the discounted counts could go negative


class SmoothedNGram:
    r"""Character n-gram language model with interpolated absolute discounting or Kneser–Ney.

    The strong counting baseline for a character language model. Every
    n-gram seen in training gives up a fixed amount ``d`` of its count, and
    the mass freed this way is shared out by the model one character of
    context shorter, down to a uniform distribution, so no character ever
    has probability 0 (for ``d > 0``). Unlike :class:`NgramCharModel`, it
    stores only the n-grams that occur (a dict per order), so long contexts
    cost nothing for the contexts that never occur.

    Parameters
    ----------
    vocab_size : int
        K.
    order : int >= 1
        n: the next character is predicted from the previous ``order - 1``.
    discount : float in [0, 1]
        d, subtracted from every non-zero count. 0.75 is a common fixed
        choice; Ney, Essen and Kneser (1994) estimate it as
        :math:`n_1 / (n_1 + 2 n_2)`, with :math:`n_r` the number of n-grams
        seen exactly :math:`r` times. With ``d = 0`` the
        model is the maximum-likelihood estimate in every seen context, and
        a character never seen after a seen context gets probability 0.
    kneser_ney : bool
        If True, the lower orders count continuation types instead of
        occurrences (interpolated Kneser–Ney); see Notes.

    Attributes
    ----------
    counts : dict of int to dict
        ``counts[n][g]``, for ``n = 1 .. order`` and ``g`` a tuple of ``n``
        ids: :math:`N_n(g)` below, the count of the n-gram ``g``, or its
        continuation count under Kneser–Ney for ``n < order``. Only
        non-zero entries are stored. None until :meth:`fit`.
    context_counts : dict of int to dict
        ``context_counts[n][h]``, ``h`` a tuple of ``n - 1`` ids:
        :math:`N_n(h\,\cdot) = \sum_c N_n(hc)`.
    context_types : dict of int to dict
        ``context_types[n][h]``: :math:`N_{1+}(h\,\cdot)`, the number of
        distinct characters ``c`` with :math:`N_n(hc) > 0`.

    Notes
    -----
    Write :math:`h` for a context of :math:`n - 1` characters and
    :math:`h'` for :math:`h` without its first (oldest) character. The model
    of order :math:`n` is defined from the one of order :math:`n - 1`
    (Ney, Essen and Kneser 1994):

    .. math::

        P_n(c \mid h) = \frac{\max(N_n(hc) - d,\ 0)}{N_n(h\,\cdot)}
            + \frac{d\, N_{1+}(h\,\cdot)}{N_n(h\,\cdot)}\, P_{n-1}(c \mid h'),
        \qquad P_0(c) = \frac{1}{K},

    and :math:`P_n(c \mid h) = P_{n-1}(c \mid h')` when the context was never
    seen (:math:`N_n(h\,\cdot) = 0`). Each seen n-gram gives up :math:`d`, so
    the first term sums to :math:`1 - d N_{1+}(h\,\cdot) / N_n(h\,\cdot)`,
    exactly what the second term hands to the shorter context: every
    :math:`P_n` sums to 1. :math:`N_n(h\,\cdot)` counts the occurrences of
    :math:`h` that are followed by a character (not one at the very end of
    the text).

    Absolute discounting uses the counts :math:`N_n(g) = \#(g)` at every
    order. Interpolated Kneser–Ney (Kneser and Ney 1995; Chen and Goodman
    1999) keeps :math:`\#(g)` at the highest order only and uses, below it,
    continuation counts

    .. math:: N_n(g) = N_{1+}(\cdot\, g) = |\{x : \#(x g) > 0\}|, \qquad n < \text{order},

    the number of distinct characters seen before :math:`g`. A lower order
    is only consulted for the share of the mass the longer context gave up,
    so it should say how likely :math:`c` is to *follow a new context*, not
    how frequent :math:`c` is: a character frequent only after one context
    ("u" after "q") gets little continuation count. Under Kneser–Ney a
    context :math:`h` with no continuation count (seen only at the very
    start of the training text) counts as unseen.

    A context shorter than ``order - 1`` (the first characters of a text)
    starts the recursion at its own length :math:`n`, so it is predicted by
    :math:`P_n`, which under Kneser–Ney uses the continuation counts.

    References
    ----------
    H. Ney, U. Essen and R. Kneser, "On structuring probabilistic dependences
    in stochastic language modelling", Computer Speech and Language 8, 1994.
    R. Kneser and H. Ney, "Improved backing-off for M-gram language
    modeling", ICASSP 1995. S. F. Chen and J. Goodman, "An empirical study
    of smoothing techniques for language modeling", Computer Speech and
    Language 13, 1999.

    Examples
    --------
    >>> model = SmoothedNGram(3, order=2, discount=0.5).fit(np.array([0, 1, 0, 1]))
    >>> model.counts[2]  # the bigrams 01, 10, 01
    {(0, 1): 2, (1, 0): 1}
    >>> model.next_distribution(np.array([0])).round(4).tolist()  # after a 0
    [0.1146, 0.8646, 0.0208]
    """

    def __init__(
        self, vocab_size: int, order: int = 5, *, discount: float = 0.75, kneser_ney: bool = False
    ):
        self.vocab_size = check_int("vocab_size", vocab_size, 1)
        self.order = check_int("order", order, 1)
        self.discount = check_real("discount", discount, DISCOUNT)
        if not isinstance(kneser_ney, (bool, np.bool_)):
            raise TypeError(f"kneser_ney must be a bool, got {type(kneser_ney).__name__}")
        self.kneser_ney = bool(kneser_ney)
        self.counts = self.context_counts = self.context_types = None

    def fit(self, ids) -> SmoothedNGram:
        """Count the n-grams of a training text ids (L,), L >= order; returns ``self``.

        Each call starts from empty counts.
        """
        ids = as_index_array("ids", ids, ndim=1, upper=self.vocab_size)
        if ids.shape[0] < self.order:
            raise ValueError(
                f"ids must hold at least order={self.order} characters, got {ids.shape[0]}"
            )
        if self.vocab_size ** (self.order + 1) < 2**62:  # n-grams fit in int64 codes
            counts = _count_ngrams(ids, self.vocab_size, self.order, self.kneser_ney)
        else:
            counts = _count_ngrams_slow(ids, self.order, self.kneser_ney)
        self.counts = counts
        self.context_counts, self.context_types = {}, {}
        for n, table in self.counts.items():
            totals, types = Counter(), Counter()
            for gram, count in table.items():
                totals[gram[:-1]] += count
                types[gram[:-1]] += 1
            self.context_counts[n], self.context_types[n] = dict(totals), dict(types)
        return self

    def _probability(self, history: tuple, c: int) -> float:
        """P(c | history), the recursion of the Notes; history holds < order ids."""
        d = self.discount
        p = 1.0 / self.vocab_size  # P_0, uniform
        for n in range(1, len(history) + 2):  # P_1, P_2, ..., each from the one before
            h = history[len(history) - (n - 1) :]  # the last n - 1 characters
            total = self.context_counts[n].get(h)
            if total is None:  # context never seen: keep the shorter context's P
                continue
            seen = self.counts[n].get((*h, c), 0)
            p = (max(seen - d, 0.0) + d * self.context_types[n][h] * p) / total
        return p

    def _history(self, ids) -> tuple:
        """The last ``order - 1`` ids of ids (at most), as a tuple of Python ints."""
        return tuple(ids[max(0, len(ids) - self.order + 1) :])

    def _check_fitted(self) -> None:
        if self.counts is None:
            raise ValueError("call fit(ids) before using the model")

    def next_distribution(self, context) -> np.ndarray:
        r"""Distribution of the character after ``context``: (K,) float64, summing to 1.

        Parameters
        ----------
        context : ndarray (T,) of int
            The text so far, ids in ``[0, K)``; only its last ``order - 1``
            ids are read. It may be empty or shorter (see Notes of the class).

        Returns
        -------
        probs : ndarray (K,)
            ``probs[c]`` = :math:`P(c \mid \text{context})`.
        """
        self._check_fitted()
        context = as_index_array("context", context, ndim=1, upper=self.vocab_size)
        history = self._history(context.tolist())
        return np.array([self._probability(history, c) for c in range(self.vocab_size)])

    def evaluate(self, ids) -> float:
        """Mean negative log-likelihood, in nats per character, of a held-out text ids (L,).

        Characters ``1 .. L - 1`` are predicted, each from the ``order - 1``
        characters before it (fewer for the first ``order - 2``): the same
        ``L - 1`` predictions as :meth:`course_pkg.models.CharLM.evaluate`
        makes, so the two numbers compare directly. Infinite if a character
        gets probability 0 (possible only with ``discount=0``).
        """
        self._check_fitted()
        ids = as_index_array("ids", ids, ndim=1, upper=self.vocab_size)
        if ids.shape[0] < 2:
            raise ValueError(
                f"ids must hold at least 2 characters (one to predict), got {ids.shape[0]}"
            )
        text = ids.tolist()
        total = 0.0
        for t in range(1, len(text)):
            p = self._probability(self._history(text[:t]), text[t])
            if p == 0.0:
                return math.inf
            total -= math.log(p)
        return total / (len(text) - 1)


def _count_ngrams_slow(ids: np.ndarray, order: int, kneser_ney: bool) -> dict:
    """The counts of :class:`SmoothedNGram`, with tuples and Counters (any K).

    ``ids`` (L,) int ids; returns ``{n: {gram: count}}`` for ``n = 1 .. order``.
    """
    text = ids.tolist()  # Python ints: tuples of them are fast dict keys
    # counts[n][g]: occurrences of every n-gram g, a tuple of n ids
    counts = {
        n: Counter(tuple(text[i : i + n]) for i in range(len(text) - n + 1))
        for n in range(1, order + 1)
    }
    if kneser_ney:
        for n in range(1, order):  # each distinct (n+1)-gram x g adds 1 to g's count
            counts[n] = Counter(gram[1:] for gram in counts[n + 1])
    return {n: dict(table) for n, table in counts.items()}


def _count_ngrams(ids: np.ndarray, K: int, order: int, kneser_ney: bool) -> dict:
    """The same counts as :func:`_count_ngrams_slow`, computed with NumPy.

    ``ids`` (L,) int ids in [0, K); returns ``{n: {gram: count}}`` for
    ``n = 1 .. order``, each gram a tuple of n ids.

    Each n-gram is coded as one integer in base K (its first id most
    significant), so counting is one ``np.unique``; the tuples are built
    once, for the distinct n-grams only. Needs ``K ** (order + 1) < 2**62``.
    """
    ids = ids.astype(np.int64)
    L = ids.shape[0]
    codes, counts = {}, {}
    for n in range(1, order + 1):
        code = np.zeros(L - n + 1, dtype=np.int64)
        for i in range(n):  # code = ids[t] K^(n-1) + ... + ids[t+n-1]
            code = code * K + ids[i : L - n + 1 + i]
        codes[n], counts[n] = np.unique(code, return_counts=True)
    if kneser_ney:
        for n in range(1, order):  # distinct (n+1)-grams x g, grouped by g = code mod K^n
            codes[n], counts[n] = np.unique(codes[n + 1] % K**n, return_counts=True)
    tables = {}
    for n in range(1, order + 1):
        digits = (codes[n][:, None] // K ** np.arange(n - 1, -1, -1)) % K  # (U, n)
        tables[n] = dict(zip(map(tuple, digits.tolist()), counts[n].tolist(), strict=True))
    return tables


class OrderSelection(NamedTuple):
    """What :func:`select_ngram_order` found."""

    order: int  # the order with the lowest validation cross-entropy
    valid_nats: dict  # order -> validation cross-entropy (nats/char)
    model: SmoothedNGram  # of that order, refitted on the whole training text


def select_ngram_order(
    train_ids,
    vocab_size: int,
    orders=range(3, 8),
    *,
    valid_size: int = 10_000,
    discount: float = 0.75,
    kneser_ney: bool = False,
) -> OrderSelection:
    """Choose the order of a :class:`SmoothedNGram` on text held out from the training text.

    The last ``valid_size`` characters of ``train_ids`` become a validation
    text; a model of each order is fitted on the characters before them and
    scored on them; the order with the lowest cross-entropy (the smaller one
    on a tie) is refitted on all of ``train_ids``. The test text is never
    passed in, so the choice cannot be tuned to it and the test score of the
    returned model stays an honest estimate. Choosing the order on the test
    text instead would report the best of several test scores, which is
    biased low; the order that is best on the test text may differ from
    the one chosen here, and that gap is exactly the optimism avoided. The
    models compared are fitted on ``valid_size`` fewer characters than the
    final one, which if anything favours a slightly smaller order.

    Parameters
    ----------
    train_ids : ndarray (L,) of int
        The whole training text, ``L > valid_size + max(orders)``.
    vocab_size : int
        K.
    orders : iterable of int >= 1
        The orders to compare; default 3 to 7.
    valid_size : int >= 2
        Length of the validation text cut from the end of ``train_ids``.
    discount, kneser_ney :
        As in :class:`SmoothedNGram`.

    Returns
    -------
    OrderSelection
        ``(order, valid_nats, model)``.
    """
    vocab_size = check_int("vocab_size", vocab_size, 1)
    train_ids = as_index_array("train_ids", train_ids, ndim=1, upper=vocab_size)
    orders = [check_int(f"orders[{i}]", n, 1) for i, n in enumerate(orders)]
    if not orders:
        raise ValueError("orders must hold at least one order, got none")
    valid_size = check_int("valid_size", valid_size, 2)
    fit_size = train_ids.shape[0] - valid_size
    if fit_size < max(orders):
        raise ValueError(
            f"train_ids ({train_ids.shape[0]} characters) must be longer than valid_size "
            f"({valid_size}) plus the largest order ({max(orders)})"
        )
    fit_part, valid_part = train_ids[:fit_size], train_ids[fit_size:]
    valid_nats = {}
    for n in orders:
        model = SmoothedNGram(vocab_size, n, discount=discount, kneser_ney=kneser_ney)
        valid_nats[n] = model.fit(fit_part).evaluate(valid_part)
    best = min(orders, key=lambda n: (valid_nats[n], n))
    model = SmoothedNGram(vocab_size, best, discount=discount, kneser_ney=kneser_ney)
    return OrderSelection(best, valid_nats, model.fit(train_ids))


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
