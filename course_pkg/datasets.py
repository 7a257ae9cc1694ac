r"""Data for the recurrent networks of the course: a shipped corpus, synthetic tasks, batching.

Every task is generated on the spot from an explicit ``rng``
(``numpy.random.Generator``), so the same seed gives the same arrays and
nothing is downloaded. The data sets and what each one is for:

- :func:`load_text` and :class:`CharVocab`: a character language model on the
  Book of Genesis (``course_pkg/corpora/README.md`` says where it comes from);
  :func:`char_lm_batches` feeds it to truncated BPTT.
- :func:`adding_problem`, :func:`copy_task`, :func:`parity_task`: long-range
  memory benchmarks for vanishing gradients, LSTM and GRU.
- :func:`toy_sentiment`: many-to-one classification where word order matters
  (negation, "X but Y").
- :func:`toy_tagging`: many-to-many tagging where some words can only be
  tagged by looking ahead, for bidirectional RNNs.
- :func:`noisy_periodic_series` and :func:`make_windows`: one-step and
  multi-step forecasting.
- :func:`number_translation`: digits to English number words, for an
  encoder-decoder whose source and target lengths differ.

Shapes: N examples (called ``n`` in the signatures), T time steps, B batch.
Token ids are ``int64`` and id 0 is always padding (or the blank of the copy
task).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Sequence
from importlib import resources
from typing import NamedTuple

import numpy as np

from ._validate import FLOAT_DTYPES, as_float_array, as_index_array, check_rng

# ----------------------------------------------------------------------------- checks


def _check_int(name: str, value, minimum: int, maximum: int | None = None) -> int:
    """Return ``value`` as an int in ``[minimum, maximum]``, or raise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum or (maximum is not None and value > maximum):
        expected = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{name} must be {expected}, got {value}")
    return int(value)


def _check_float_dtype(dtype) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        dt = None
    if dt not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}")
    return dt


def _pick(rng: np.random.Generator, options: tuple):
    """One element of ``options``, uniformly at random."""
    return options[rng.integers(len(options))]


# ----------------------------------------------------------------------------- corpus


def _corpus_names() -> tuple[str, ...]:
    folder = resources.files("course_pkg.corpora")
    return tuple(sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".txt")))


def load_text(name: str = "genesis") -> str:
    """Read a text corpus shipped with the package.

    Parameters
    ----------
    name : str
        Corpus name: the file ``course_pkg/corpora/{name}.txt``. ``"genesis"``
        is the Book of Genesis (King James Version), one verse per line, plain
        ASCII, 196,818 characters, 60 distinct characters.

    Returns
    -------
    text : str

    Raises
    ------
    TypeError
        ``name`` not a string.
    ValueError
        No corpus of that name; the message lists the available ones.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    available = _corpus_names()
    if name not in available:
        raise ValueError(f"unknown corpus {name!r}; available: {', '.join(available)}")
    path = resources.files("course_pkg.corpora") / f"{name}.txt"
    return path.read_text(encoding="ascii")


class CharVocab:
    """A character vocabulary: character <-> integer id.

    Build one with :meth:`CharVocab.from_text`, which takes the sorted set of
    characters of a text, so the same text always gives the same ids.

    Attributes
    ----------
    chars : tuple of str
        ``chars[i]`` is the character with id ``i``.
    size : int
        Number of characters, ``len(chars)`` (K, the output size of a
        character language model).

    Examples
    --------
    >>> vocab = CharVocab.from_text("hello")
    >>> vocab.chars
    ('e', 'h', 'l', 'o')
    >>> vocab.encode("hole").tolist()
    [1, 3, 2, 0]
    >>> vocab.decode(vocab.encode("hole"))
    'hole'
    """

    def __init__(self, chars: Sequence[str]):
        chars = tuple(chars)
        if not chars:
            raise ValueError("chars must hold at least one character, got none")
        for i, c in enumerate(chars):
            if not isinstance(c, str) or len(c) != 1:
                raise TypeError(f"chars[{i}] must be a single character, got {c!r}")
        if len(set(chars)) != len(chars):
            raise ValueError("chars must not repeat a character")
        self.chars = chars
        self.size = len(chars)
        self._index = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> CharVocab:
        """The vocabulary of the sorted unique characters of ``text`` (non-empty str)."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if not text:
            raise ValueError("text must be non-empty to build a vocabulary, got ''")
        return cls(sorted(set(text)))

    def encode(self, text: str) -> np.ndarray:
        """Ids of the characters of ``text``: int64 array (L,), L = ``len(text)``.

        Raises ``ValueError`` naming the first character not in the vocabulary.
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        index = self._index
        try:
            return np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError:
            pos = next(i for i, c in enumerate(text) if c not in index)
            raise ValueError(
                f"character {text[pos]!r} at position {pos} is not in the vocabulary "
                f"of {self.size} characters"
            ) from None

    def decode(self, ids) -> str:
        """The text of ids (L,) (integers in ``[0, size)``)."""
        ids = as_index_array("ids", ids, ndim=1, upper=self.size)
        chars = self.chars
        return "".join(chars[i] for i in ids.tolist())

    def __repr__(self) -> str:
        return f"CharVocab(size={self.size})"


# ------------------------------------------------------------------------ memory tasks


def adding_problem(n: int, T: int, rng: np.random.Generator, dtype=np.float64):
    r"""The adding problem (Hochreiter & Schmidhuber, 1997).

    Each sequence has two channels: channel 0 holds T numbers drawn
    uniformly from [0, 1), channel 1 is a marker that is 1 at exactly two
    steps, one chosen uniformly in the first half ``[0, T // 2)`` and one in
    the second half ``[T // 2, T)`` (the version of Le et al., 2015 and
    Arjovsky et al., 2016), and 0 elsewhere. The target is the sum of the
    two marked numbers. The network must carry the first marked value
    across up to T - 1 steps.

    Parameters
    ----------
    n : int
        Number of sequences, >= 1.
    T : int
        Sequence length, >= 2.
    rng : numpy.random.Generator
    dtype : float32 or float64

    Returns
    -------
    x : ndarray (n, T, 2)
        ``x[..., 0]`` the values, ``x[..., 1]`` the 0/1 markers.
    y : ndarray (n,)
        ``y[i]`` is the sum of the two marked values of sequence ``i``.

    Raises
    ------
    TypeError
        ``rng`` not a Generator, ``dtype`` not float32/float64, ``n`` or ``T``
        not integers.
    ValueError
        ``n < 1`` or ``T < 2``.

    Notes
    -----
    The baseline to beat is predicting the constant 1.0, the mean of
    ``y``: its mean squared error is
    :math:`\operatorname{Var}(u_1 + u_2) = 2 \cdot \tfrac{1}{12} = 1/6 \approx 0.167`.
    A model has learned the task only once its MSE is well below that.
    """
    n = _check_int("n", n, 1)
    T = _check_int("T", T, 2)
    check_rng(rng)
    dtype = _check_float_dtype(dtype)
    values = rng.random((n, T)).astype(dtype)  # (n, T)
    first = rng.integers(0, T // 2, size=n)  # (n,) marker in the first half
    second = rng.integers(T // 2, T, size=n)  # (n,) marker in the second half
    rows = np.arange(n)
    markers = np.zeros((n, T), dtype=dtype)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1)  # (n, T, 2)
    y = values[rows, first] + values[rows, second]  # (n,)
    return x, y


class CopyData(NamedTuple):
    """The copy task: see :func:`copy_task`."""

    inputs: np.ndarray  # (n, T) int64 ids: symbols, blanks, go marker, blanks
    targets: np.ndarray  # (n, T) int64 ids: blanks, then the symbols to recall
    mask: np.ndarray  # (n, T) float64, 1 on the `length` recall steps


def copy_task(n: int, n_symbols: int, length: int, delay: int, rng: np.random.Generator):
    r"""The copy (memorisation) task of Hochreiter & Schmidhuber and Arjovsky et al.

    The network reads ``length`` symbols, waits ``delay`` blank steps, sees
    a "go" marker, and must then output the symbols in order. With
    T = 2 * length + delay + 1, the steps of one sequence are::

        step     0 .. length-1 | length .. length+delay-1 | length+delay | last `length` steps
        input    s_1 .. s_L    | 0 .. 0 (blank)           | go           | 0 .. 0
        target   0 .. 0        | 0 .. 0                   | 0            | s_1 .. s_L

    Symbols are ids 1..n_symbols, the blank is 0 and "go" is n_symbols + 1,
    so inputs take ``n_symbols + 2`` distinct ids and targets
    ``n_symbols + 1``.

    Parameters
    ----------
    n : int
        Number of sequences, >= 1.
    n_symbols : int
        Alphabet size, >= 1.
    length : int
        Number of symbols to remember, >= 1.
    delay : int
        Blank steps between the last symbol and "go", >= 0.
    rng : numpy.random.Generator

    Returns
    -------
    CopyData
        ``inputs`` (n, T) int64, ``targets`` (n, T) int64 and ``mask``
        (n, T) float64, 1 on the ``length`` recall steps where the targets
        count and 0 elsewhere. ``targets[:, -length:] == inputs[:, :length]``.

    Raises
    ------
    TypeError
        ``rng`` not a Generator, sizes not integers.
    ValueError
        Sizes below their minimum.

    Notes
    -----
    The symbols are uniform and independent, so a model that ignores its
    memory can do no better than guessing: a cross-entropy of
    :math:`\log(\text{n\_symbols})` nats per recall step (the masked mean).
    Arjovsky et al. instead average the loss over all T steps, blanks
    included; their baseline is then
    :math:`\text{length} \cdot \log(\text{n\_symbols}) / T`.
    """
    n = _check_int("n", n, 1)
    n_symbols = _check_int("n_symbols", n_symbols, 1)
    length = _check_int("length", length, 1)
    delay = _check_int("delay", delay, 0)
    check_rng(rng)
    T = 2 * length + delay + 1
    go = length + delay  # step of the go marker
    symbols = rng.integers(1, n_symbols + 1, size=(n, length))  # (n, length)
    inputs = np.zeros((n, T), dtype=np.int64)
    inputs[:, :length] = symbols
    inputs[:, go] = n_symbols + 1
    targets = np.zeros((n, T), dtype=np.int64)
    targets[:, go + 1 :] = symbols
    mask = np.zeros((n, T), dtype=np.float64)
    mask[:, go + 1 :] = 1.0
    return CopyData(inputs, targets, mask)


def parity_task(n: int, T: int, rng: np.random.Generator, dtype=np.float64):
    """Parity of a bit string, read one bit per step (many-to-one).

    The target is 1 if the sequence holds an odd number of ones, else 0. It
    depends on every bit: flipping any single bit flips the answer, so the
    network must carry one bit of state through the whole sequence, and no
    partial view of it does better than chance (accuracy 0.5).

    Parameters
    ----------
    n : int
        Number of sequences, >= 1.
    T : int
        Bits per sequence, >= 1.
    rng : numpy.random.Generator
    dtype : float32 or float64

    Returns
    -------
    x : ndarray (n, T, 1)
        The bits, 0.0 or 1.0.
    y : ndarray (n,)
        The parity, 0.0 or 1.0.

    Raises
    ------
    TypeError
        ``rng`` not a Generator, ``dtype`` not float32/float64.
    ValueError
        ``n < 1`` or ``T < 1``.
    """
    n = _check_int("n", n, 1)
    T = _check_int("T", T, 1)
    check_rng(rng)
    dtype = _check_float_dtype(dtype)
    bits = rng.integers(0, 2, size=(n, T))  # (n, T)
    x = bits[:, :, None].astype(dtype)
    y = (bits.sum(axis=1) % 2).astype(dtype)
    return x, y


# --------------------------------------------------------------------------- sentiment

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
        words = [*_pick(rng, _SUBJECTS), "was"]
        if negated:
            words.append(_pick(rng, SENTIMENT_NEGATORS))
        if rng.random() < 0.4:
            words.append(_pick(rng, _INTENSIFIERS))
        words.append(_pick(rng, _SENTIMENT_ADJ[word_polarity]))
    else:  # "i [really] loved the plot", "i did not like / never liked the plot"
        words = ["i"]
        past = _pick(rng, _SENTIMENT_VERB_PAST[word_polarity])
        if negated and rng.random() < 0.5:
            base = _pick(rng, _SENTIMENT_VERB_BASE[word_polarity])
            words += ["did", "not", base]
        elif negated:
            words += ["never", past]
        else:
            words += ["really", past] if rng.random() < 0.4 else [past]
        words += _pick(rng, _SUBJECTS)
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
    n = _check_int("n", n, 1)
    max_len = _check_int("max_len", max_len, 4)
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


# ----------------------------------------------------------------------------- tagging

TAG_NAMES = ("<pad>", "DET", "ADJ", "NOUN", "VERB", "ADV")
_DET, _ADJ_TAG, _NOUN, _VERB, _ADV = 1, 2, 3, 4, 5
TAGGING_AMBIGUOUS = ("light", "stone", "paper", "iron")  # ADJ before a noun, else NOUN
_DETS = ("the", "a", "this", "every")
_ADJECTIVES = ("old", "small", "heavy", "bright", "red", "broken")
_NOUNS = ("wall", "door", "box", "lamp", "table", "bridge", "cup", "road")
_INTRANSITIVE = ("fell", "broke", "shone", "cracked", "moved")
_TRANSITIVE = ("hit", "held", "covered", "touched")
_ADVERBS = ("slowly", "suddenly", "again", "quickly")
TAGGING_WORDS = (
    "<pad>", *_DETS, *_ADJECTIVES, *_NOUNS, *TAGGING_AMBIGUOUS,
    *_INTRANSITIVE, *_TRANSITIVE, *_ADVERBS,
)  # fmt: skip


class TaggingData(NamedTuple):
    """The toy tagging task: see :func:`toy_tagging`."""

    ids: np.ndarray  # (n, T) int64 word ids, 0-padded
    tags: np.ndarray  # (n, T) int64 tag ids, 0-padded
    lengths: np.ndarray  # (n,) int64 number of real words
    mask: np.ndarray  # (n, T) float64, 1.0 on real words
    words: tuple  # words[i] is the word with id i; words[0] == "<pad>"
    tag_names: tuple  # tag_names[j] is the tag with id j; tag_names[0] == "<pad>"


def _noun_phrase(rng: np.random.Generator) -> list[tuple[str, int]]:
    """DET [ADJ] [ambiguous word as modifier] (NOUN | ambiguous word as head)."""
    words = [(_pick(rng, _DETS), _DET)]
    if rng.random() < 0.3:
        words.append((_pick(rng, _ADJECTIVES), _ADJ_TAG))
    if rng.random() < 0.35:  # "the stone wall": a noun modifier, tagged ADJ
        words.append((_pick(rng, TAGGING_AMBIGUOUS), _ADJ_TAG))
    if rng.random() < 0.55:  # "the stone fell": the head noun
        words.append((_pick(rng, TAGGING_AMBIGUOUS), _NOUN))
    else:
        words.append((_pick(rng, _NOUNS), _NOUN))
    return words


def toy_tagging(n: int, rng: np.random.Generator, max_len: int = 12) -> TaggingData:
    """Part-of-speech tagging where some words need the next word (many-to-many).

    Sentences follow the grammar ::

        S  -> NP VERB_intransitive [ADV] | NP VERB_transitive NP [ADV]
        NP -> DET [ADJ] [MOD] HEAD

    ("the old stone wall fell slowly", "a lamp hit the paper"). The words
    ``light``, ``stone``, ``paper`` and ``iron`` (:data:`TAGGING_AMBIGUOUS`)
    serve both as MOD, a noun modifier tagged ADJ ("the stone wall"), and as
    HEAD, tagged NOUN ("the stone fell"). Their tag is a function of the
    following word: ADJ if it is a noun or another ambiguous word, NOUN
    otherwise (a verb, an adverb or the end). Every other word has one tag.

    Right after DET or DET ADJ, an ambiguous word is a modifier with
    probability 0.35 and a head with probability 0.65 * 0.55 = 0.36, so
    a left-to-right tagger, which has not seen the next word yet, can only
    guess there (about 50% right); these are about 80% of the ambiguous
    tokens, and ambiguous words are about a quarter of all tokens. A
    bidirectional tagger sees the next word and can tag every token.

    Parameters
    ----------
    n : int
        Number of sentences, >= 1.
    rng : numpy.random.Generator
    max_len : int
        Longest sentence in words, >= 3; longer ones are drawn again (the
        grammar makes at most 10 words).

    Returns
    -------
    TaggingData
        ``ids`` and ``tags`` (n, T) int64 padded with 0, T the longest
        sentence drawn; ``lengths`` (n,) int64; ``mask`` (n, T) float64, 1
        on real tokens; ``words`` and ``tag_names`` the vocabularies,
        ``tag_names == ("<pad>", "DET", "ADJ", "NOUN", "VERB", "ADV")``.

    Raises
    ------
    TypeError
        ``rng`` not a Generator, ``n`` or ``max_len`` not integers.
    ValueError
        ``n < 1`` or ``max_len < 3``.
    """
    n = _check_int("n", n, 1)
    max_len = _check_int("max_len", max_len, 3)
    check_rng(rng)
    index = {w: i for i, w in enumerate(TAGGING_WORDS)}
    word_seqs, tag_seqs = [], []
    while len(word_seqs) < n:
        pairs = _noun_phrase(rng)
        if rng.random() < 0.5:
            pairs.append((_pick(rng, _INTRANSITIVE), _VERB))
        else:
            pairs.append((_pick(rng, _TRANSITIVE), _VERB))
            pairs += _noun_phrase(rng)
        if rng.random() < 0.3:
            pairs.append((_pick(rng, _ADVERBS), _ADV))
        if len(pairs) > max_len:
            continue
        word_seqs.append(np.array([index[w] for w, _ in pairs], dtype=np.int64))
        tag_seqs.append(np.array([t for _, t in pairs], dtype=np.int64))
    ids, lengths = pad_sequences(word_seqs)
    tags, _ = pad_sequences(tag_seqs)
    mask = (np.arange(ids.shape[1]) < lengths[:, None]).astype(np.float64)  # (n, T)
    return TaggingData(ids, tags, lengths, mask, TAGGING_WORDS, TAG_NAMES)


# ------------------------------------------------------------------------- time series


def noisy_periodic_series(
    n_steps: int,
    rng: np.random.Generator,
    periods=(24.0, 7.0),
    noise: float = 0.1,
    dtype=np.float64,
) -> np.ndarray:
    r"""A sum of sines plus Gaussian noise, for forecasting.

    .. math:: s_t = \sum_k \sin(2 \pi t / p_k) + \sigma \varepsilon_t,
              \quad \varepsilon_t \sim \mathcal{N}(0, 1), \quad t = 0, \dots, n\_steps - 1

    With the default periods (24, 7) it looks like hourly data with a daily
    and a shorter cycle. The noise is the floor of any forecaster: its
    one-step MSE cannot go below :math:`\sigma^2`.

    Parameters
    ----------
    n_steps : int
        Length of the series, >= 1.
    rng : numpy.random.Generator
    periods : sequence of float
        The periods :math:`p_k` in steps, each > 0 (at least one).
    noise : float
        Standard deviation :math:`\sigma` of the noise, >= 0.
    dtype : float32 or float64

    Returns
    -------
    series : ndarray (n_steps,)

    Raises
    ------
    TypeError
        ``rng`` not a Generator, ``dtype`` not float32/float64, ``noise`` not a
        real number.
    ValueError
        ``n_steps < 1``, a period <= 0, no periods, ``noise < 0``.
    """
    n_steps = _check_int("n_steps", n_steps, 1)
    check_rng(rng)
    dtype = _check_float_dtype(dtype)
    periods = as_float_array("periods", periods, ndim=1)
    if periods.size == 0 or np.any(periods <= 0):
        raise ValueError(f"periods must be one or more numbers > 0, got {periods.tolist()}")
    if isinstance(noise, (bool, np.bool_)) or not isinstance(noise, numbers.Real):
        raise TypeError(f"noise must be a real number, got {type(noise).__name__}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise}")
    t = np.arange(n_steps, dtype=np.float64)
    clean = np.sin(2.0 * np.pi * t[:, None] / periods).sum(axis=1)  # (n_steps,)
    return (clean + noise * rng.standard_normal(n_steps)).astype(dtype)


def make_windows(series, window: int, horizon: int = 1):
    """Cut a series into (past window, next values) pairs for forecasting.

    Example ``i`` is ``x[i] = series[i : i + window]`` and
    ``y[i] = series[i + window : i + window + horizon]``.

    Parameters
    ----------
    series : ndarray (L,)
        A float series.
    window : int
        Steps the model reads, >= 1.
    horizon : int
        Steps it predicts, >= 1.

    Returns
    -------
    x : ndarray (M, window, 1)
        The windows, one feature per step, M = L - window - horizon + 1.
    y : ndarray (M, horizon)
        The values that follow each window. Both are copies, in the dtype
        of ``series``.

    Raises
    ------
    TypeError
        ``series`` not a float array.
    ValueError
        ``series`` not 1-D or too short (L < window + horizon).
    """
    series = as_float_array("series", series, ndim=1)
    window = _check_int("window", window, 1)
    horizon = _check_int("horizon", horizon, 1)
    L = series.shape[0]
    if L < window + horizon:
        raise ValueError(
            f"series of length {L} is too short for window={window} and horizon={horizon}: "
            f"need at least {window + horizon} values"
        )
    # (M, window + horizon), M = L - window - horizon + 1; a read-only view of `series`
    views = np.lib.stride_tricks.sliding_window_view(series, window + horizon)
    x = views[:, :window, None].copy()  # (M, window, 1)
    y = views[:, window:].copy()  # (M, horizon)
    return x, y


# ------------------------------------------------------------------ number translation

_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
)  # fmt: skip
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
SRC_VOCAB = ("<pad>", "0", "1", "2", "3", "4", "5", "6", "7", "8", "9")
TGT_VOCAB = ("<pad>", "<bos>", "<eos>", *_ONES, *_TENS[2:], "hundred", "thousand")
PAD, BOS, EOS = 0, 1, 2
MAX_NUMBER = 999_999


class TranslationData(NamedTuple):
    """The number translation task: see :func:`number_translation`."""

    src: np.ndarray  # (n, S) int64 digit ids, 0-padded
    src_lengths: np.ndarray  # (n,) int64 number of digits
    tgt_in: np.ndarray  # (n, L) int64 decoder input: <bos> w_1 .. w_k, 0-padded
    tgt_out: np.ndarray  # (n, L) int64 decoder target: w_1 .. w_k <eos>, 0-padded
    tgt_mask: np.ndarray  # (n, L) float64, 1.0 on the k + 1 real target steps
    src_vocab: tuple  # ("<pad>", "0", ..., "9")
    tgt_vocab: tuple  # ("<pad>", "<bos>", "<eos>", "zero", ...)


def _below_thousand(value: int) -> list[str]:
    hundreds, rest = divmod(value, 100)
    words = [_ONES[hundreds], "hundred"] if hundreds else []
    if rest >= 20:
        words.append(_TENS[rest // 10])
        if rest % 10:
            words.append(_ONES[rest % 10])
    elif rest or not words:
        words.append(_ONES[rest])
    return words


def number_to_words(value: int) -> list[str]:
    """English words of an integer in ``[0, 999_999]``, without "and" or hyphens.

    >>> number_to_words(314)
    ['three', 'hundred', 'fourteen']
    >>> number_to_words(40_007)
    ['forty', 'thousand', 'seven']
    """
    value = _check_int("value", value, 0, MAX_NUMBER)
    thousands, rest = divmod(value, 1000)
    if not thousands:
        return _below_thousand(rest)
    return _below_thousand(thousands) + ["thousand"] + (_below_thousand(rest) if rest else [])


def words_to_number(words) -> int:
    """Inverse of :func:`number_to_words`, for scoring a decoder's output.

    Parameters
    ----------
    words : str or sequence of str
        E.g. ``"three hundred fourteen"`` or ``["three", "hundred", "fourteen"]``.

    Raises
    ------
    ValueError
        An unknown word, or words that are not exactly how
        :func:`number_to_words` spells a number ("hundred three", "one one").
    """
    if isinstance(words, str):
        words = words.split()
    words = list(words)
    total, current = 0, 0
    for w in words:
        if w in _ONES:
            current += _ONES.index(w)
        elif w in _TENS[2:]:
            current += 10 * _TENS.index(w)
        elif w == "hundred":
            current *= 100
        elif w == "thousand":
            total, current = total + 1000 * current, 0
        else:
            raise ValueError(f"unknown number word {w!r} in {' '.join(words)!r}")
    value = total + current
    if not words or value > MAX_NUMBER or number_to_words(value) != words:
        raise ValueError(f"{' '.join(words)!r} is not a well-formed number")
    return value


def number_translation(n: int, rng: np.random.Generator, max_value: int = 999) -> TranslationData:
    """Translate digits into English number words (sequence to sequence).

    Source "3 1 4" becomes target "three hundred fourteen"; "4 0" becomes
    "forty" and "1 0 0" "one hundred", so the source and target lengths
    differ and neither fixes the other: a job for an encoder-decoder.
    Numbers are drawn uniformly from ``[0, max_value]``.

    Teacher forcing: the decoder reads ``tgt_in`` (``<bos>`` then the
    words) and is trained to output ``tgt_out`` (the words then ``<eos>``),
    the same sequence shifted by one step.

    Parameters
    ----------
    n : int
        Number of pairs, >= 1.
    rng : numpy.random.Generator
    max_value : int
        Largest number, in [1, 999_999].

    Returns
    -------
    TranslationData
        ``src`` (n, S) int64, digit d has id d + 1 (``src_vocab``), padded
        with 0 after the digits, S the most digits drawn; ``src_lengths``
        (n,) int64; ``tgt_in`` and ``tgt_out`` (n, L) int64 ids of
        ``tgt_vocab`` (0 ``<pad>``, 1 ``<bos>``, 2 ``<eos>``), L = most
        words + 1; ``tgt_mask`` (n, L) float64, 1 on the real target steps.
        Decode a target with :func:`words_to_number`.

    Raises
    ------
    TypeError
        ``rng`` not a Generator, ``n`` or ``max_value`` not integers.
    ValueError
        ``n < 1`` or ``max_value`` outside [1, 999_999].
    """
    n = _check_int("n", n, 1)
    max_value = _check_int("max_value", max_value, 1, MAX_NUMBER)
    check_rng(rng)
    word_id = {w: i for i, w in enumerate(TGT_VOCAB)}
    values = rng.integers(0, max_value + 1, size=n)
    src, tgt_in, tgt_out = [], [], []
    for value in values.tolist():
        src.append(np.array([int(d) + 1 for d in str(value)], dtype=np.int64))
        words = [word_id[w] for w in number_to_words(value)]
        tgt_in.append(np.array([BOS, *words], dtype=np.int64))
        tgt_out.append(np.array([*words, EOS], dtype=np.int64))
    src_ids, src_lengths = pad_sequences(src)
    tgt_in_ids, tgt_lengths = pad_sequences(tgt_in)
    tgt_out_ids, _ = pad_sequences(tgt_out)
    tgt_mask = (np.arange(tgt_in_ids.shape[1]) < tgt_lengths[:, None]).astype(np.float64)
    return TranslationData(
        src_ids, src_lengths, tgt_in_ids, tgt_out_ids, tgt_mask, SRC_VOCAB, TGT_VOCAB
    )


# ---------------------------------------------------------------------------- batching


def pad_sequences(seqs, pad: int = 0):
    """Stack sequences of different lengths into one padded array.

    Parameters
    ----------
    seqs : list of ndarray (L_i,)
        Non-empty 1-D integer arrays (token ids >= 0), at least one.
    pad : int
        Id written after the end of each sequence, >= 0.

    Returns
    -------
    ids : ndarray (n, T_max) int64
        ``ids[i, :L_i] == seqs[i]``, the rest ``pad``.
    lengths : ndarray (n,) int64
        ``L_i``.

    Raises
    ------
    TypeError
        ``seqs`` not a list/tuple, an element not an integer array.
    ValueError
        No sequences, an empty or non-1-D sequence, negative ids.
    """
    if not isinstance(seqs, (list, tuple)):
        raise TypeError(f"seqs must be a list of 1-D integer arrays, got {type(seqs).__name__}")
    if not seqs:
        raise ValueError("seqs must hold at least one sequence, got none")
    pad = _check_int("pad", pad, 0)
    seqs = [as_index_array(f"seqs[{i}]", s, ndim=1) for i, s in enumerate(seqs)]
    lengths = np.array([s.shape[0] for s in seqs], dtype=np.int64)
    if lengths.min() == 0:
        raise ValueError(f"seqs[{int(np.argmin(lengths))}] is empty; every sequence needs >= 1 id")
    ids = np.full((len(seqs), int(lengths.max())), pad, dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, : s.shape[0]] = s
    return ids, lengths


def batches(
    n: int, batch_size: int, rng: np.random.Generator | None = None
) -> Iterator[np.ndarray]:
    """Index arrays that split ``n`` examples into minibatches (one epoch).

    Parameters
    ----------
    n : int
        Number of examples, >= 1.
    batch_size : int
        Examples per batch, >= 1. The last batch keeps the remainder and may
        be smaller.
    rng : numpy.random.Generator or None
        Shuffle the examples with it; None keeps them in order.

    Yields
    ------
    idx : ndarray (B,) int64
        Indices into the data set; every index appears exactly once per epoch.

    Raises
    ------
    TypeError, ValueError
        At the call, not at the first ``next``: bad sizes, ``rng`` neither
        None nor a Generator.
    """
    n = _check_int("n", n, 1)
    batch_size = _check_int("batch_size", batch_size, 1)
    if rng is not None:
        check_rng(rng)
    order = np.arange(n, dtype=np.int64) if rng is None else rng.permutation(n)
    return (order[start : start + batch_size] for start in range(0, n, batch_size))


def minibatches(arrays: Sequence, batch_size: int, rng: np.random.Generator | None = None):
    """The ``batches`` argument of :func:`course_pkg.train.fit` for aligned arrays.

    Parameters
    ----------
    arrays : sequence of arrays
        Data sets whose first axis indexes the same examples, e.g.
        ``(ids, labels, lengths)``.
    batch_size : int
        Examples per batch, >= 1 (the last batch may be smaller).
    rng : numpy.random.Generator or None
        Shuffle the examples anew at every epoch with it; None keeps them in order.

    Returns
    -------
    epoch_batches : callable
        ``epoch_batches(epoch)`` yields one tuple per batch, the same rows of
        every array: ``(ids[idx], labels[idx], lengths[idx])``. Each call
        draws the epoch's order from ``rng`` at once, as :func:`batches` does.

    Raises
    ------
    TypeError, ValueError
        No arrays, arrays of different lengths, bad sizes, or ``rng``
        neither None nor a Generator.

    Examples
    --------
    >>> x, y = np.arange(5) * 10, np.arange(5)
    >>> [b for b in minibatches((x, y), 2)(0)]
    [(array([ 0, 10]), array([0, 1])), (array([20, 30]), array([2, 3])), (array([40]), array([4]))]
    """
    arrays = tuple(arrays)
    if not arrays:
        raise ValueError("minibatches needs at least one array")
    n = len(arrays[0])
    lengths = [len(a) for a in arrays]
    if any(length != n for length in lengths):
        raise ValueError(f"the arrays must have the same length (first axis), got {lengths}")
    # check the arguments now, not at the first epoch, without drawing from rng
    _check_int("batch_size", batch_size, 1)
    if rng is not None:
        check_rng(rng)

    def epoch_batches(epoch):
        return (tuple(a[idx] for a in arrays) for idx in batches(n, batch_size, rng))

    return epoch_batches


def char_lm_batches(ids, batch_size: int, seq_len: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Batches for truncated BPTT on one long token stream, state carried over.

    The stream is cut into ``batch_size`` contiguous pieces, one per batch
    row, each ``P = (L - 1) // batch_size`` tokens long (the few tokens left
    over at the end are dropped). Batch ``k`` holds steps
    ``k * seq_len .. (k + 1) * seq_len - 1`` of every piece, so row ``b`` of
    batch ``k + 1`` continues the text of row ``b`` of batch ``k``: pass the
    last hidden state of one batch as the initial state of the next, and the
    network reads each piece from start to end while gradients flow back
    ``seq_len`` steps only. A last chunk shorter than ``seq_len`` is dropped,
    so there are ``P // seq_len`` batches, all of one shape.

    Parameters
    ----------
    ids : ndarray (L,)
        Token ids of the whole text (e.g. ``CharVocab.encode(text)``).
    batch_size : int
        Parallel streams B, >= 1.
    seq_len : int
        Steps per batch (the truncation length), >= 1.

    Yields
    ------
    inputs : ndarray (B, seq_len) int64
    targets : ndarray (B, seq_len) int64
        The next token of each input: ``targets[b, t]`` follows
        ``inputs[b, t]`` in the text.

    Raises
    ------
    TypeError
        ``ids`` not an integer array.
    ValueError
        ``ids`` not 1-D, or shorter than ``batch_size * seq_len + 1``.
    """
    ids = as_index_array("ids", ids, ndim=1)
    batch_size = _check_int("batch_size", batch_size, 1)
    seq_len = _check_int("seq_len", seq_len, 1)
    L = ids.shape[0]
    if L < batch_size * seq_len + 1:
        raise ValueError(
            f"ids of length {L} is too short for batch_size={batch_size} and seq_len={seq_len}: "
            f"need at least {batch_size * seq_len + 1} tokens"
        )
    P = (L - 1) // batch_size
    inputs = ids[: batch_size * P].astype(np.int64).reshape(batch_size, P)  # (B, P)
    targets = ids[1 : batch_size * P + 1].astype(np.int64).reshape(batch_size, P)  # (B, P)
    return (
        (inputs[:, k : k + seq_len], targets[:, k : k + seq_len])
        for k in range(0, P - seq_len + 1, seq_len)
    )
