"""A toy sentiment language where word order matters (negation, "X but Y")."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import check_rng
from ._checks import check_int, pick
from .batching import pad_sequences

SENTIMENT_NEGATORS = ("not", "never")
SENTIMENT_POSITIVE = (
    "good", "great", "wonderful", "brilliant", "fun",
    "like", "love", "enjoy", "liked", "loved", "enjoyed",
)  # fmt: skip
SENTIMENT_NEGATIVE = (
    "bad", "boring", "awful", "dull", "terrible",
    "hate", "dislike", "hated", "disliked",
)  # fmt: skip
_SUBJECTS = (
    ("the", "movie"), ("the", "film"), ("the", "plot"), ("the", "acting"),
    ("the", "music"), ("the", "ending"), ("this", "film"),
)  # fmt: skip
_INTENSIFIERS = ("very", "really", "truly")
_SENTIMENT_ADJ = {
    +1: ("good", "great", "wonderful", "brilliant", "fun"),
    -1: ("bad", "boring", "awful", "dull", "terrible"),
}
_SENTIMENT_VERB_BASE = {+1: ("like", "love", "enjoy"), -1: ("hate", "dislike")}
_SENTIMENT_VERB_PAST = {+1: ("liked", "loved", "enjoyed"), -1: ("hated", "disliked")}
SENTIMENT_VOCAB = (
    "<pad>", "the", "this", "movie", "film", "plot", "acting", "music", "ending",
    "was", "i", "did", "but", "not", "never", "very", "really", "truly",
    *SENTIMENT_POSITIVE, *SENTIMENT_NEGATIVE,
)  # fmt: skip


class SentimentData(NamedTuple):
    """The toy sentiment task: see :func:`toy_sentiment`."""

    ids: np.ndarray  # (n, T) int64 word ids, 0-padded
    lengths: np.ndarray  # (n,) int64 number of real words
    labels: np.ndarray  # (n,) float64, 1.0 positive, 0.0 negative
    vocab: tuple  # vocab[i] is the word with id i; vocab[0] == "<pad>"


def sentiment_label(words) -> int:
    """The label :func:`toy_sentiment` gives a sentence: 1 positive, 0 negative.

    The rule, applied left to right:

    1. Only the clause after the last "but" counts ("the plot was bad but
       the acting was great" is positive); without "but", the whole sentence.
    2. In that clause each sentiment word counts +1 (good, loved, ...) or
       -1 (bad, hated, ...), flipped if a negator ("not", "never") came
       before it after the previous sentiment word. Intensifiers ("very",
       "really") in between change nothing: "not very good" is -1.
    3. The label is 1 if the clause sums to more than 0, 0 if less.

    Parameters
    ----------
    words : str or sequence of str
        A sentence, either as a list of words or one string split on spaces.

    Returns
    -------
    label : int
        0 or 1.

    Raises
    ------
    ValueError
        The deciding clause has no sentiment word, or its words cancel out
        (the generator never makes such sentences).

    Examples
    --------
    >>> sentiment_label("the movie was not very good")
    0
    >>> sentiment_label("the plot was bad but the acting was great")
    1
    """
    if isinstance(words, str):
        words = words.split()
    words = list(words)
    start = max((i + 1 for i, w in enumerate(words) if w == "but"), default=0)
    score, negate = 0, False
    for w in words[start:]:
        if w in SENTIMENT_NEGATORS:
            negate = True
        elif w in SENTIMENT_POSITIVE or w in SENTIMENT_NEGATIVE:
            polarity = 1 if w in SENTIMENT_POSITIVE else -1
            score += -polarity if negate else polarity
            negate = False
    if score == 0:
        raise ValueError(
            f"cannot label {' '.join(words)!r}: the clause after the last 'but' has no "
            f"sentiment word, or its sentiment words cancel out"
        )
    return 1 if score > 0 else 0


def _sentiment_clause(polarity: int, rng: np.random.Generator) -> list[str]:
    """One clause with exactly one sentiment word, whose meaning is ``polarity`` (+1/-1)."""
    negated = rng.random() < 0.4
    word_polarity = -polarity if negated else polarity  # the negator flips it back
    if rng.random() < 0.5:  # "the plot was [not] [very] good"
        words = [*pick(rng, _SUBJECTS), "was"]
        if negated:
            words.append(pick(rng, SENTIMENT_NEGATORS))
        if rng.random() < 0.4:
            words.append(pick(rng, _INTENSIFIERS))
        words.append(pick(rng, _SENTIMENT_ADJ[word_polarity]))
    else:  # "i [really] loved the plot", "i did not like / never liked the plot"
        words = ["i"]
        past = pick(rng, _SENTIMENT_VERB_PAST[word_polarity])
        if negated and rng.random() < 0.5:
            base = pick(rng, _SENTIMENT_VERB_BASE[word_polarity])
            words += ["did", "not", base]
        elif negated:
            words += ["never", past]
        else:
            words += ["really", past] if rng.random() < 0.4 else [past]
        words += pick(rng, _SUBJECTS)
    return words


def toy_sentiment(n: int, rng: np.random.Generator, max_len: int = 12) -> SentimentData:
    """Short movie reviews whose label depends on word order (many-to-one).

    Sentences have one clause ("the movie was not very good", "i really
    loved this film") or two joined by "but" with opposite meanings ("the
    plot was bad but the acting was great"). The label follows
    :func:`sentiment_label` exactly (no label noise): the clause after "but"
    decides, and "not"/"never" flip the next sentiment word. A bag of words
    cannot solve it, since "good but bad" and "bad but good" hold the same
    words, as do "not good ... bad" and "good ... not bad".

    Each sentence first draws its label (positive with probability 1/2), then
    whether to use two clauses (1/2), then for each clause whether it is
    negated (0.4), so the classes are balanced and about 40% of deciding
    clauses contain a negator. Sentences longer than ``max_len`` words are
    drawn again.

    Parameters
    ----------
    n : int
        Number of sentences, >= 1.
    rng : numpy.random.Generator
    max_len : int
        Longest sentence in words, >= 4 (one clause has 4 to 6 words, so
        two-clause sentences need ``max_len >= 9``).

    Returns
    -------
    SentimentData
        ``ids`` (n, T) int64 word ids padded with 0 after each sentence, T
        the longest sentence drawn; ``lengths`` (n,) int64; ``labels`` (n,)
        float64 in {0, 1}; ``vocab`` the words, ``vocab[0] == "<pad>"``.

    Raises
    ------
    TypeError
        ``rng`` not a Generator, ``n`` or ``max_len`` not integers.
    ValueError
        ``n < 1`` or ``max_len < 4``.
    """
    n = check_int("n", n, 1)
    max_len = check_int("max_len", max_len, 4)
    check_rng(rng)
    index = {w: i for i, w in enumerate(SENTIMENT_VOCAB)}
    sentences, labels = [], []
    while len(sentences) < n:
        polarity = 1 if rng.random() < 0.5 else -1
        words = _sentiment_clause(polarity, rng)
        if rng.random() < 0.5:  # the first clause says the opposite; "but" overrides it
            words = [*_sentiment_clause(-polarity, rng), "but", *words]
        if len(words) > max_len:
            continue
        sentences.append(np.array([index[w] for w in words], dtype=np.int64))
        labels.append(sentiment_label(words))
    ids, lengths = pad_sequences(sentences)
    return SentimentData(ids, lengths, np.array(labels, dtype=np.float64), SENTIMENT_VOCAB)
