"""Digits to English number words: source and target of different lengths."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import as_index_array, check_rng
from ._checks import check_int
from .batching import pad_sequences

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
    value = check_int("value", value, 0, MAX_NUMBER)
    thousands, rest = divmod(value, 1000)
    if not thousands:
        return _below_thousand(rest)
    return _below_thousand(thousands) + ["thousand"] + (_below_thousand(rest) if rest else [])


def _group_alignment(value: int, last: int) -> list[tuple[int, ...]]:
    """:func:`word_alignment` of a group below a thousand whose units digit is at ``last``."""
    hundreds, rest = divmod(value, 100)
    spans = [(last - 2,), ()] if hundreds else []  # "<digit> hundred"
    if rest >= 20:
        spans.append((last - 1,))  # "forty"
        if rest % 10:
            spans.append((last,))  # "two"
    elif rest >= 10:
        spans.append((last - 1, last))  # "ten" to "nineteen" spell both digits
    elif rest or not spans:
        spans.append((last,))
    return spans


def word_alignment(value: int) -> list[tuple[int, ...]]:
    """Which digits of ``value`` each of its words spells: the task's true alignment.

    For every word of :func:`number_to_words`, the positions of the digits
    it spells, counted from 0 at the left of ``str(value)``: one digit for a
    ones word ("seven") or a tens word ("forty"), both digits for "ten" to
    "nineteen", and none for "hundred" and "thousand", which name a place,
    not a digit. A digit 0 inside a number is spelled by no word.
    ``book/12_attention`` compares the attention weights with it.

    >>> list(zip(number_to_words(40_317), word_alignment(40_317)))  # doctest: +NORMALIZE_WHITESPACE
    [('forty', (0,)), ('thousand', ()), ('three', (2,)), ('hundred', ()),
     ('seventeen', (3, 4))]
    """
    value = check_int("value", value, 0, MAX_NUMBER)
    n_digits = len(str(value))
    thousands, rest = divmod(value, 1000)
    if not thousands:
        return _group_alignment(rest, n_digits - 1)
    spans = [*_group_alignment(thousands, n_digits - 4), ()]  # "... thousand"
    return spans + (_group_alignment(rest, n_digits - 1) if rest else [])


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


def translation_pairs(values) -> TranslationData:
    """The translation pairs of given numbers, in the format of :func:`number_translation`.

    For a test set of chosen numbers (numbers held out of training, numbers
    of a given length).

    Parameters
    ----------
    values : ndarray (n,) of int, or a list of int
        Numbers in [0, 999_999], at least one.

    Returns
    -------
    TranslationData
        Row i translates ``values[i]``.

    Raises
    ------
    TypeError
        ``values`` not integers.
    ValueError
        ``values`` empty, not 1-D, or outside [0, 999_999].

    Examples
    --------
    >>> pairs = translation_pairs([314, 7])
    >>> pairs.src.tolist(), pairs.src_lengths.tolist()  # digit d has id d + 1
    ([[4, 2, 5], [8, 0, 0]], [3, 1])
    >>> [pairs.tgt_vocab[i] for i in pairs.tgt_out[1]]
    ['seven', '<eos>', '<pad>', '<pad>']
    """
    values = as_index_array("values", values, ndim=1, upper=MAX_NUMBER + 1)
    if values.size == 0:
        raise ValueError("values must hold at least one number, got none")
    word_id = {w: i for i, w in enumerate(TGT_VOCAB)}
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


def _digit_ranges(max_value: int) -> np.ndarray:
    """(lowest, highest) number with 1, 2, ... digits, up to ``max_value``: (digits, 2)."""
    n_digits = len(str(max_value))
    low = np.array([0] + [10**d for d in range(1, n_digits)], dtype=np.int64)
    high = np.minimum(np.array([10**d - 1 for d in range(1, n_digits + 1)]), max_value)
    return np.stack([low, high], axis=1)


def number_translation(
    n: int,
    rng: np.random.Generator,
    max_value: int = 999,
    *,
    uniform_digits: bool = False,
    exclude=None,
) -> TranslationData:
    """Translate digits into English number words (sequence to sequence).

    Source "3 1 4" becomes target "three hundred fourteen"; "4 0" becomes
    "forty" and "1 0 0" "one hundred", so the source and target lengths
    differ and neither fixes the other: a job for an encoder-decoder.
    Numbers are drawn uniformly from ``[0, max_value]`` (by default).

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
    uniform_digits : bool
        False (default): every number in ``[0, max_value]`` is equally
        likely, so most have as many digits as ``max_value``. True: first
        the number of digits is drawn uniformly (1 to the digits of
        ``max_value``), then the number uniformly among those with that
        many digits (up to ``max_value``), so that every length is as
        frequent as every other. (Used by ``book/12_attention``.)
    exclude : array of int, optional
        Numbers never to draw (a held-out test set); a draw that hits one
        is drawn again. Default: none.

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
        ``rng`` not a Generator, ``n`` or ``max_value`` not integers,
        ``uniform_digits`` not a bool, ``exclude`` not integers.
    ValueError
        ``n < 1``, ``max_value`` outside [1, 999_999], or ``exclude``
        leaving no number to draw (of some length, with ``uniform_digits``).
    """
    n = check_int("n", n, 1)
    max_value = check_int("max_value", max_value, 1, MAX_NUMBER)
    check_rng(rng)
    if not isinstance(uniform_digits, (bool, np.bool_)):
        raise TypeError(f"uniform_digits must be a bool, got {type(uniform_digits).__name__}")
    # one range of numbers per length (uniform_digits), or all of [0, max_value] as one
    ranges = _digit_ranges(max_value) if uniform_digits else np.array([[0, max_value]])
    if exclude is not None:
        exclude = np.unique(as_index_array("exclude", exclude, ndim=1))
        for low, high in ranges.tolist():
            if np.count_nonzero((exclude >= low) & (exclude <= high)) == high - low + 1:
                raise ValueError(
                    f"exclude holds every number from {low} to {high}: none is left to draw"
                )
    if uniform_digits:
        which = rng.integers(0, len(ranges), size=n)  # each number's range: its length

        def draw(rows):
            return rng.integers(ranges[which[rows], 0], ranges[which[rows], 1] + 1)

        values = draw(np.arange(n))
    else:

        def draw(rows):
            return rng.integers(0, max_value + 1, size=len(rows))

        values = rng.integers(0, max_value + 1, size=n)
    if exclude is not None:
        hit = np.flatnonzero(np.isin(values, exclude))
        while hit.size:  # a redraw keeps the length; it ends, since every range has a number left
            values[hit] = draw(hit)
            hit = hit[np.isin(values[hit], exclude)]
    return translation_pairs(values)
